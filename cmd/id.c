/* mmsync id */
#include <stdio.h>

#include "cmd.h"
#include "sync/replica.h"
#include "vv/vv.h"

int cmd_id(struct cmd_ctx *ctx, int argc, char **argv)
{
	char id[VV_ID_TEXT], fp[IDENTITY_FP_TEXT];
	int first, err;

	if ((first = cmd_getopt(cmd_find("id"), argc, argv, "", NULL, NULL, NULL)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc) {
		cmd_error("id: too many arguments");
		return EXIT_USAGE;
	}
	if ((err = cmd_open_replica(ctx, cmd_find("id"))) != EXIT_OK)
		return err;
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
