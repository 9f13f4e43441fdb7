/* mmsync pull PEER [PATH...] and mmsync push PEER [PATH...] */
#include <getopt.h>

#include "cmd.h"
#include "sync/proto.h"

struct one_way_args {
	struct peer_opts po;
	const char *name;
};

static int one_way_opt(void *arg, int opt, const char *val)
{
	struct one_way_args *a = arg;

	return cmd_peer_option(&a->po, a->name, opt, val);
}

struct one_way_run {
	struct one_way_args a;
	char **operands; /* PEER [PATH...] */
	int n;
};

static int one_way_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {PEER_LONGOPTS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct one_way_run *w = CMD_ARGS(ctx, struct one_way_run);
	int first;

	w->a.name = c->name;
	if ((first = cmd_getopt(c, argc, argv, "", longopts, one_way_opt, &w->a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first >= argc) {
		cmd_error("%s: name a peer", c->name);
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	w->operands = argv + first;
	w->n = argc - first;
	return EXIT_OK;
}

static int one_way_run(struct cmd_ctx *ctx, unsigned op)
{
	struct one_way_run *w = CMD_ARGS(ctx, struct one_way_run);

	return cmd_run_peers(ctx, op, &w->a.po, w->operands, 1, w->operands + 1, (size_t) (w->n - 1));
}

int cmd_pull_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	return one_way_parse(ctx, self, argc, argv);
}

int cmd_pull_run(struct cmd_ctx *ctx, const struct command *self)
{
	(void) self;
	return one_way_run(ctx, PROTO_OP_PULL);
}

int cmd_push_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	return one_way_parse(ctx, self, argc, argv);
}

int cmd_push_run(struct cmd_ctx *ctx, const struct command *self)
{
	(void) self;
	return one_way_run(ctx, PROTO_OP_PUSH);
}
