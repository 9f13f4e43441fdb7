/* mmsync log [-n N]: the last events of .mmsync/log. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "sync/log.h"
#include "sync/replica.h"

static int log_opt(void *arg, int opt, const char *val)
{
	long *n = arg;
	char *end;

	if (opt == 'n') {
		*n = strtol(val, &end, 10);
		if (*end || *n < 0) {
			cmd_error("log: -n needs a number");
			return -1;
		}
	}
	return 0;
}

/* Prints the last `n` lines of `path` (n < 0: all). */
static long tail(const char *path, long n, int print)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	long total = 0, skip;

	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0)
		total++;
	if (print) {
		rewind(f);
		skip = n < 0 || n >= total ? 0 : total - n;
		for (long i = 0; getline(&line, &cap, f) > 0; i++)
			if (i >= skip)
				fputs(line, stdout);
	}
	free(line);
	fclose(f);
	return total;
}

int cmd_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct command *c = cmd_find("log");
	long n = 20, have;
	char *cur, *old;
	int first, rc;

	if ((first = cmd_getopt(c, argc, argv, "n:", longopts, log_opt, &n)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc) {
		cmd_error("log: too many arguments");
		return EXIT_USAGE;
	}
	if ((rc = cmd_open_replica(ctx, c)) != EXIT_OK)
		return rc;
	cur = log_path(ctx->r, 0);
	old = log_path(ctx->r, 1);
	have = cur ? tail(cur, 0, 0) : 0;
	if (old && have < n)
		tail(old, n - have, 1);
	if (cur)
		tail(cur, n, 1);
	free(cur);
	free(old);
	return EXIT_OK;
}
