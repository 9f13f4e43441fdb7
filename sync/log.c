/* The event log: see log.h. */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replica.h"

char *log_path(struct replica *r, int older)
{
	char *p;

	if (asprintf(&p, "%s/log%s", r->state, older ? ".1" : "") < 0)
		return NULL;
	return p;
}

void log_append(struct replica *r, const char *fmt, ...)
{
	char line[8192], stamp[32];
	char *path = log_path(r, 0);
	struct stat st;
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	int fd, n;

	if (!path)
		return;
	if (stat(path, &st) == 0 && st.st_size > LOG_MAX_BYTES) {
		char *old = log_path(r, 1);
		if (old)
			rename(path, old);
		free(old);
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s ", stamp);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
	strcat(line, "\n");
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		/* one write: lines of concurrent processes never interleave */
		ssize_t w = write(fd, line, strlen(line));
		(void) w;
		close(fd);
	}
	free(path);
}
