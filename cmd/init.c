/* mmsync init [DIR] [--name NAME] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/error.h"
#include "sync/replica.h"

struct init_opts {
	const char *name;
	const char *dir; /* the DIR operand, "." when none */
};

static int init_opt(void *arg, int opt, const char *val)
{
	struct init_opts *o = arg;

	if (opt == 'n')
		o->name = val;
	return 0;
}

int cmd_init_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"name", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct init_opts *o = CMD_ARGS(ctx, struct init_opts);
	int first;

	if ((first = cmd_getopt(self, argc, argv, "", longopts, init_opt, o)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (argc - first > 1) {
		cmd_error("init: too many arguments");
		cmd_usage(stderr, self);
		return EXIT_USAGE;
	}
	o->dir = first < argc ? argv[first] : ".";
	return EXIT_OK;
}

int cmd_init_run(struct cmd_ctx *ctx, const struct command *self)
{
	struct quoted q;
	struct init_opts o = *CMD_ARGS(ctx, struct init_opts);
	char host[256], *dir = NULL, *root = NULL;
	const char *arg = o.dir;
	int err;

	(void) self;
	if (!o.name) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "replica");
		host[sizeof(host) - 1] = '\0';
		/* A host name may be longer than a replica name: keep its first label. */
		host[strcspn(host, ".")] = '\0';
		host[REPLICA_NAME_MAX] = '\0';
		o.name = host;
	}
	if (ctx->dir && arg[0] != '/') {
		if (asprintf(&dir, "%s/%s", ctx->dir, arg) < 0)
			return cmd_fail(mm_error_oom());
		arg = dir;
	}
	err = replica_create(arg, o.name, &root);
	free(dir);
	if (err < 0)
		return cmd_fail(err);
	if (!ctx->quiet) {
		if (ctx->json) {
			printf("{\"root\":");
			out_json_string(stdout, root);
			printf(",\"name\":");
			out_json_string(stdout, o.name);
			printf("}\n");
		} else {
			printf("initialised replica '%s' in %s\n", o.name, quote_path(&q, root));
		}
	}
	free(root);
	return EXIT_OK;
}
