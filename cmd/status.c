/* mmsync status */
#include <stdio.h>
#include <time.h>

#include "cmd.h"
#include "sync/error.h"
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

	(void) before;
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
		(*(uint64_t *) a[2])++;
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

/* "2026-11-27T09:15:00Z", or "" for 0. */
static void iso_time(char out[32], int64_t ns)
{
	time_t t = (time_t) (ns / 1000000000);
	struct tm tm;

	out[0] = '\0';
	if (ns > 0 && gmtime_r(&t, &tm))
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "3 min ago" and the like. */
static void ago(char out[32], int64_t ns)
{
	long s = (long) (time(NULL) - (time_t) (ns / 1000000000));

	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, 32, "%ld s ago", s);
	else if (s < 7200)
		snprintf(out, 32, "%ld min ago", s / 60);
	else if (s < 172800)
		snprintf(out, 32, "%ld h ago", s / 3600);
	else
		snprintf(out, 32, "%ld days ago", s / 86400);
}

struct peer_status {
	struct cmd_ctx *ctx;
	uint64_t unrecorded; /* local changes the scan found, not yet recorded */
	int n;
};

/* One configured peer: its last success, its last failure, and what it has not yet received. */
static int peer_line(void *arg, const char *name, const char *url, const char *fp)
{
	struct peer_status *ps = arg;
	struct cmd_ctx *ctx = ps->ctx;
	struct store_remote rem;
	uint64_t pending = 0;
	char ok[32], fail[32], when[32];

	(void) fp;
	int err = store_remote_get(ctx->r->store, name, &rem);

	if ((err < 0 && err != MM_ENOTFOUND) || (err = store_unsent_count(ctx->r->store, rem.replica_id, &pending)) < 0)
		return err;
	pending += ps->unrecorded;
	iso_time(ok, rem.last_ok_ns);
	iso_time(fail, rem.last_fail_ns);
	if (ctx->json) {
		printf("%s{\"name\":", ps->n++ ? "," : "");
		out_json_string(stdout, name);
		printf(",\"url\":");
		out_json_string(stdout, url);
		printf(ok[0] ? ",\"last_ok\":\"%s\"" : ",\"last_ok\":null", ok);
		printf(fail[0] ? ",\"last_fail\":\"%s\"" : ",\"last_fail\":null", fail);
		printf(",\"last_error\":");
		out_json_string(stdout, rem.last_fail_ns ? rem.last_error : "");
		printf(",\"pending\":%llu}", (unsigned long long) pending);
		return 0;
	}
	if (ps->n++ == 0)
		printf("peers:\n");
	printf("  %s (%s)\n", name, url);
	if (rem.last_ok_ns) {
		ago(when, rem.last_ok_ns);
		printf("    last sync:    %s (%s)\n", ok, when);
	} else {
		printf("    last sync:    never\n");
	}
	if (rem.last_fail_ns > rem.last_ok_ns) {
		ago(when, rem.last_fail_ns);
		printf("    last failure: %s (%s): %s\n", fail, when, rem.last_error);
	} else if (rem.last_fail_ns) {
		printf("    last failure: %s\n", fail);
	}
	printf("    not yet sent: %llu change%s\n", (unsigned long long) pending, pending == 1 ? "" : "s");
	return 0;
}

int cmd_status_run(struct cmd_ctx *ctx, const struct command *self)
{
	struct status_out so = {ctx, 0};
	struct scan_stats st;
	uint64_t conflicts = 0;
	char id[VV_ID_TEXT];
	int err;

	(void) self;
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
	struct peer_status ps = {ctx, so.n, 0};
	if (ctx->json) {
		printf("],\"complete\":%s,\"skipped\":%llu,\"conflicts\":%llu,\"peers\":[", err < 0 ? "false" : "true",
		       (unsigned long long) st.skipped, (unsigned long long) conflicts);
		if (err == 0)
			err = cmd_peer_each(ctx->r, peer_line, &ps);
		printf("]}\n");
	} else if (err == 0) {
		if (so.n == 0)
			printf("no changes since the last scan\n");
		if (conflicts)
			printf("%llu open conflict%s: see 'mmsync conflicts'\n", (unsigned long long) conflicts,
			       conflicts == 1 ? "" : "s");
		else
			printf("no open conflicts\n");
		err = cmd_peer_each(ctx->r, peer_line, &ps);
	}
	if (err < 0)
		return cmd_fail(err);
	return st.skipped ? EXIT_FAILED : conflicts ? EXIT_CONFLICTS : EXIT_OK;
}
