/* Failpoints: see failpoint.h.  Empty in a release build (no MMSYNC_TEST). */
#include "failpoint.h"

#ifdef MMSYNC_TEST

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct point {
	int loaded;
	char name[64];
	long n;
	long seen;
	const char *rest; /* what follows "NAME:N:", or NULL */
};

/* Parses "NAME[:N]" from the environment variable `var` (once: a test hook, not configuration). */
static void load(struct point *p, const char *var, long def)
{
	const char *env = getenv(var);

	p->loaded = 1;
	p->n = def;
	if (!env)
		return;
	const char *colon = strchr(env, ':');
	size_t len = colon ? (size_t) (colon - env) : strlen(env);
	if (len < sizeof(p->name)) {
		memcpy(p->name, env, len);
		p->name[len] = '\0';
	}
	if (colon) {
		char *end;
		p->n = strtol(colon + 1, &end, 10);
		if (*end == ':')
			p->rest = end + 1;
	}
}

void failpoint(const char *name)
{
	static struct point fail, pause;

	if (!fail.loaded) {
		load(&fail, "MMSYNC_FAILPOINT", 1);
		load(&pause, "MMSYNC_PAUSE", 0);
	}
	if (fail.name[0] && !strcmp(name, fail.name) && ++fail.seen >= fail.n)
		_exit(99);
	if (pause.name[0] && !strcmp(name, pause.name) && pause.seen++ == 0) {
		struct timespec ts = {pause.n / 1000, (pause.n % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int failpoint_garble(const char *name)
{
	static struct point garble;

	if (!garble.loaded)
		load(&garble, "MMSYNC_GARBLE", 0);
	return garble.name[0] && !strcmp(name, garble.name);
}

static struct point err;

void failpoint_err_reset(void)
{
	memset(&err, 0, sizeof(err));
}

int failpoint_err(const char *name)
{
	if (!err.loaded)
		load(&err, "MMSYNC_FAILERR", 1);
	if (!err.name[0] || strcmp(name, err.name) || ++err.seen != err.n)
		return 0;
	return err.rest && !strcmp(err.rest, "ENOSPC") ? ENOSPC : EIO;
}

#endif /* MMSYNC_TEST */
