/* mmsync pull PEER [PATH...] and mmsync push PEER [PATH...] */
#include "cmd.h"
#include "sync/proto.h"

static int one_way(struct cmd_ctx *ctx, int argc, char **argv, const char *name, unsigned op)
{
	const struct command *c = cmd_find(name);
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", NULL, NULL, NULL)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first >= argc) {
		cmd_error("%s: name a peer", name);
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	return cmd_sync_run(ctx, c, op, argv + first, 1, argv + first + 1, (size_t)(argc - first - 1));
}

int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv)
{
	return one_way(ctx, argc, argv, "pull", PROTO_OP_PULL);
}

int cmd_push(struct cmd_ctx *ctx, int argc, char **argv)
{
	return one_way(ctx, argc, argv, "push", PROTO_OP_PUSH);
}
