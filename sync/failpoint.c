/* Failpoints: see failpoint.h. */
#include "failpoint.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void failpoint(const char *name)
{
	/* Read once: a test hook, not configuration. */
	static int loaded;
	static char want[64];
	static long count = 1;
	static long seen;

	if (!loaded) {
		const char *env = getenv("MMSYNC_FAILPOINT");
		loaded = 1;
		if (env) {
			const char *colon = strchr(env, ':');
			size_t n = colon ? (size_t)(colon - env) : strlen(env);
			if (n < sizeof(want)) {
				memcpy(want, env, n);
				want[n] = '\0';
			}
			if (colon)
				count = strtol(colon + 1, NULL, 10);
		}
	}
	if (want[0] && !strcmp(name, want) && ++seen >= count)
		_exit(99);
}
