/* What main sets up for a command between its parse and its run (see cmd.h). */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "sync/replica.h"

int cmd_setup(struct cmd_ctx *ctx, unsigned flags)
{
	char *root = NULL;
	int err;

	if (!(flags & CMD_REPLICA))
		return EXIT_OK;
	if ((err = replica_find(&root, ctx->dir ? ctx->dir : ctx->cwd)) < 0)
		return cmd_fail(err);
	err = replica_open(&ctx->r, root, (flags & CMD_LOCK) ? REPLICA_LOCK : 0);
	free(root);
	return err < 0 ? cmd_fail(err) : EXIT_OK;
}

void cmd_pick_sub(struct cmd_ctx *ctx, const struct command *self, const char *name)
{
	ctx->sub = NULL;
	for (const struct subcommand *sc = self->subs; sc && sc->name; sc++)
		if (!strcmp(sc->name, name))
			ctx->sub = sc;
}
