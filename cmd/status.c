/* mmsync status */
#include <stdio.h>

#include "cmd.h"
#include "sync/replica.h"
#include "sync/scan.h"
#include "sync/store.h"
#include "vv/vv.h"

struct status_out {
	struct cmd_ctx *ctx;
	unsigned long long n;
};

static void status_change(void *arg, enum scan_change what, const struct entry *now, const struct entry *before)
{
	struct status_out *so = arg;

	(void)before;
	if (so->ctx->json) {
		printf("%s{\"path\":", so->n ? "," : "");
		out_json_string(stdout, now->path);
		printf(",\"change\":\"%s\"}", cmd_change_name(what));
	} else {
		if (so->n == 0)
			printf("changes not yet recorded:\n");
		printf("  %-9s ", cmd_change_name(what));
		out_path(stdout, now->path);
		putchar('\n');
	}
	so->n++;
}

static int count_one(void *arg, const struct store_conflict *c)
{
	void **a = arg;
	struct cmd_ctx *ctx = a[0];
	struct entry *e = a[1];

	if (store_get(ctx->r->store, c->copy, e) == 0 && e->kind != ENTRY_DELETED)
		(*(uint64_t *)a[2])++;
	return 0;
}

static uint64_t count_open(struct cmd_ctx *ctx)
{
	struct entry e;
	uint64_t n = 0;
	void *a[3] = {ctx, &e, &n};

	entry_init(&e);
	store_conflict_each(ctx->r->store, count_one, a);
	entry_dispose(&e);
	return n;
}

int cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct status_out so = {ctx, 0};
	struct scan_stats st;
	uint64_t conflicts = 0;
	char id[VV_ID_TEXT];
	int first, err;

	if ((first = cmd_getopt(cmd_find("status"), argc, argv, "", NULL, NULL, NULL)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc) {
		cmd_error("status: too many arguments");
		return EXIT_USAGE;
	}
	if ((err = cmd_open_replica(ctx, cmd_find("status"))) != EXIT_OK)
		return err;
	vv_id_format(id, ctx->r->id);
	if (ctx->json) {
		printf("{\"name\":");
		out_json_string(stdout, ctx->r->name);
		printf(",\"id\":\"%s\",\"root\":", id);
		out_json_string(stdout, ctx->r->root);
		printf(",\"changes\":[");
	} else {
		printf("replica %s (%s) at ", ctx->r->name, id);
		out_path(stdout, ctx->r->root);
		putchar('\n');
	}
	err = cmd_run_scan(ctx, SCAN_DRY_RUN, status_change, &so, &st);
	if (err == 0)
		err = store_conflict_count(ctx->r->store, &conflicts);
	/* conflicts whose copy is gone are closed (status does not write: it only leaves them out) */
	if (err == 0 && conflicts)
		conflicts = count_open(ctx);
	if (ctx->json) {
		printf("],\"complete\":%s,\"skipped\":%llu,\"conflicts\":%llu}\n", err < 0 ? "false" : "true",
		       (unsigned long long)st.skipped, (unsigned long long)conflicts);
	} else if (err == 0) {
		if (so.n == 0)
			printf("no changes since the last scan\n");
		if (conflicts)
			printf("%llu open conflict%s: see 'mmsync conflicts'\n", (unsigned long long)conflicts,
			       conflicts == 1 ? "" : "s");
		else
			printf("no open conflicts\n");
	}
	if (err < 0)
		return cmd_fail(err);
	return st.skipped ? EXIT_FAILED : conflicts ? EXIT_CONFLICTS : EXIT_OK;
}
