/* mmsync conflicts [list] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "sync/error.h"
#include "sync/path.h"
#include "sync/reconcile.h"
#include "sync/replica.h"
#include "sync/store.h"
#include "vv/vv.h"

struct list_ctx {
	struct cmd_ctx *ctx;
	int n;
	struct entry e;
};

static void writer_name(struct cmd_ctx *ctx, uint64_t id, char out[65])
{
	if (id == ctx->r->id)
		snprintf(out, 65, "%s", ctx->r->name);
	else if (store_replica_name(ctx->r->store, id, out) < 0 || !out[0])
		vv_id_format(out, id);
}

static int list_one(void *arg, const struct store_conflict *c)
{
	struct list_ctx *lc = arg;
	struct cmd_ctx *ctx = lc->ctx;
	char ours[65], theirs[65], when[MM_PATH_MAX + 1];
	time_t t = (time_t)(c->detected_ns / 1000000000LL);
	struct tm tm;

	/* the version at the path now, whoever the detecting replica thought it was */
	if (store_get(ctx->r->store, c->path, &lc->e) == 0 && lc->e.kind != ENTRY_DELETED && lc->e.writer)
		writer_name(ctx, lc->e.writer, ours);
	else
		writer_name(ctx, c->ours, ours);
	if (c->theirs)
		writer_name(ctx, c->theirs, theirs);
	else if (!reconcile_copy_of(c->copy, when, sizeof(when), theirs))
		snprintf(theirs, sizeof(theirs), "?");
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ctx->json) {
		printf("%s{\"path\":", lc->n ? "," : "");
		out_json_string(stdout, c->path);
		printf(",\"kind\":\"%s\",\"copies\":[", c->kind);
		out_json_string(stdout, c->copy);
		printf("],\"replicas\":[");
		out_json_string(stdout, ours);
		putchar(',');
		out_json_string(stdout, theirs);
		printf("],\"detected\":\"%s\"}", when);
	} else {
		out_path(stdout, c->path);
		printf("\t%s\t", c->kind);
		printf("%s kept at the path, %s's version in ", ours, theirs);
		out_path(stdout, c->copy);
		putchar('\n');
	}
	lc->n++;
	return 0;
}

int cmd_conflicts(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct command *c = cmd_find("conflicts");
	struct list_ctx lc = {ctx, 0, {0}};
	int first, err, rc;

	if ((first = cmd_getopt(c, argc, argv, "", NULL, NULL, NULL)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc && strcmp(argv[first], "list")) {
		cmd_error("conflicts: '%s' is not known here; this build lists conflicts only", argv[first]);
		return EXIT_USAGE;
	}
	if ((rc = cmd_open_replica(ctx, c)) != EXIT_OK)
		return rc;
	if ((err = store_conflicts_prune(ctx->r->store)) < 0)
		return cmd_fail(err);
	if (ctx->json)
		putchar('[');
	entry_init(&lc.e);
	err = store_conflict_each(ctx->r->store, list_one, &lc);
	entry_dispose(&lc.e);
	if (ctx->json)
		printf("]\n");
	if (err < 0)
		return cmd_fail(err);
	return lc.n ? EXIT_CONFLICTS : EXIT_OK;
}
