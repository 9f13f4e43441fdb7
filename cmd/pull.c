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

static int one_way(struct cmd_ctx *ctx, int argc, char **argv, const char *name, unsigned op)
{
	static const struct option longopts[] = {PEER_LONGOPTS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct command *c = cmd_find(name);
	struct one_way_args a = {{0}, name};
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, one_way_opt, &a)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first >= argc) {
		cmd_error("%s: name a peer", name);
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	return cmd_sync_run(ctx, c, op, &a.po, argv + first, 1, argv + first + 1, (size_t)(argc - first - 1));
}

int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv)
{
	return one_way(ctx, argc, argv, "pull", PROTO_OP_PULL);
}

int cmd_push(struct cmd_ctx *ctx, int argc, char **argv)
{
	return one_way(ctx, argc, argv, "push", PROTO_OP_PUSH);
}
