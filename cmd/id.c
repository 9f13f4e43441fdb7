/* mmsync id */
#include <stdio.h>

#include "cmd.h"
#include "sync/replica.h"
#include "vv/vv.h"

int cmd_id_run(struct cmd_ctx *ctx, const struct command *self)
{
	char id[VV_ID_TEXT], fp[IDENTITY_FP_TEXT];
	int err;

	(void) self;
	vv_id_format(id, ctx->r->id);
	if ((err = replica_fingerprint(ctx->r, fp)) < 0)
		return cmd_fail(err);
	if (ctx->json) {
		printf("{\"name\":");
		out_json_string(stdout, ctx->r->name);
		printf(",\"id\":\"%s\",\"fingerprint\":\"%s\",\"root\":", id, fp);
		out_json_string(stdout, ctx->r->root);
		printf("}\n");
	} else {
		printf("name: %s\nid: %s\nfingerprint: %s\n", ctx->r->name, id, fp);
	}
	return EXIT_OK;
}
