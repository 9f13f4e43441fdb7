/* mmsync gc: drop merge bases and tombstones no known peer can still need. */
#include <stdio.h>

#include "cmd.h"
#include "sync/bases.h"
#include "sync/error.h"
#include "sync/merge.h"
#include "sync/replica.h"
#include "sync/store.h"

static int live(void *arg, const uint8_t oid[BASES_OID_LEN])
{
	return store_history_uses(arg, oid);
}

int cmd_gc_run(struct cmd_ctx *ctx, const struct command *self)
{
	struct merge_config mc;
	struct bases *b;
	uint64_t history, tombstones, dropped, kept;
	int err;

	(void) self;
	if ((err = merge_config_load(&mc, ctx->r->config)) < 0)
		return cmd_fail(err);
	err = store_gc(ctx->r->store, mc.retention_s, &history, &tombstones);
	merge_config_dispose(&mc);
	if (err < 0 || (err = replica_bases(ctx->r, &b)) < 0 ||
	    (err = bases_gc(b, live, ctx->r->store, &dropped, &kept)) < 0)
		return cmd_fail(err);
	if (ctx->json)
		printf("{\"history\":%llu,\"tombstones\":%llu,\"bases_dropped\":%llu,\"bases_kept\":%llu}\n",
		       (unsigned long long) history, (unsigned long long) tombstones, (unsigned long long) dropped,
		       (unsigned long long) kept);
	else if (!ctx->quiet)
		printf("gc: dropped %llu history entries, %llu tombstones and %llu merge bases; %llu bases kept\n",
		       (unsigned long long) history, (unsigned long long) tombstones, (unsigned long long) dropped,
		       (unsigned long long) kept);
	return EXIT_OK;
}
