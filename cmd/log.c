/* mmsync log [-n N] [--since DURATION]: the last events of .mmsync/log. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "sync/log.h"
#include "sync/replica.h"

struct log_args {
	long n;       /* lines to show; -1: all that match */
	time_t since; /* lines older than this are left out; 0: none */
};

/* "90", "45s", "10m", "2h", "1d", "1w", "1h30m": seconds, or -1 when malformed. */
static long parse_duration(const char *s)
{
	long total = 0;

	if (!*s)
		return -1;
	while (*s) {
		char *end;
		long v, unit = 1;
		if (!isdigit((unsigned char) *s))
			return -1;
		v = strtol(s, &end, 10);
		switch (*end) {
		case 's':
			unit = 1;
			end++;
			break;
		case 'm':
			unit = 60;
			end++;
			break;
		case 'h':
			unit = 3600;
			end++;
			break;
		case 'd':
			unit = 86400;
			end++;
			break;
		case 'w':
			unit = 7 * 86400;
			end++;
			break;
		case '\0':
			if (s == end)
				return -1;
			break;
		default: return -1;
		}
		if (v > 100L * 365 * 86400 / unit)
			return -1;
		total += v * unit;
		s = end;
	}
	return total;
}

static int log_opt(void *arg, int opt, const char *val)
{
	struct log_args *a = arg;
	char *end;
	long d;

	if (opt == 'n') {
		a->n = strtol(val, &end, 10);
		if (*end || end == val || a->n < 0) {
			cmd_error("log: -n needs a number");
			return -1;
		}
	} else if (opt == 's') {
		if ((d = parse_duration(val)) < 0) {
			cmd_error("log: --since needs a duration such as 30m, 2h, 7d or 1h30m");
			return -1;
		}
		a->since = time(NULL) - d;
	}
	return 0;
}

/* The time a log line starts with ("2026-11-27T09:15:00Z "), or -1. */
static time_t line_time(const char *line)
{
	struct tm tm = {0};
	const char *end = strptime(line, "%Y-%m-%dT%H:%M:%SZ", &tm);

	return end ? timegm(&tm) : -1;
}

/* Counts (print = 0) or prints the lines of `path` that are recent enough, skipping the first `skip`. */
static long lines(const char *path, const struct log_args *a, long skip, int print)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		if (a->since && line_time(line) < a->since)
			continue;
		if (print && n >= skip)
			fputs(line, stdout);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

int cmd_log_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"since", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct log_args *a = CMD_ARGS(ctx, struct log_args);
	int first;

	a->n = -2;
	if ((first = cmd_getopt(self, argc, argv, "n:", longopts, log_opt, a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc) {
		cmd_error("log: too many arguments");
		return EXIT_USAGE;
	}
	/* without -n: the last 20 lines, or every line since --since */
	if (a->n == -2)
		a->n = a->since ? -1 : 20;
	return EXIT_OK;
}

int cmd_log_run(struct cmd_ctx *ctx, const struct command *self)
{
	struct log_args a = *CMD_ARGS(ctx, struct log_args);
	long have_old, have_cur, total, skip;
	char *cur, *old;

	(void) self;
	cur = log_path(ctx->r, 0);
	old = log_path(ctx->r, 1);
	have_old = old ? lines(old, &a, 0, 0) : 0;
	have_cur = cur ? lines(cur, &a, 0, 0) : 0;
	total = have_old + have_cur;
	skip = a.n < 0 || a.n >= total ? 0 : total - a.n;
	if (old)
		lines(old, &a, skip, 1);
	if (cur)
		lines(cur, &a, skip > have_old ? skip - have_old : 0, 1);
	free(cur);
	free(old);
	return EXIT_OK;
}
