/* mmsync check: the metadata store against itself and against the tree. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include "sync/error.h"
#include "sync/replica.h"
#include "sync/scan.h"
#include "sync/store.h"

struct check_out {
	struct cmd_ctx *ctx;
	unsigned long long problems, changes;
	int in_changes; /* a JSON array is open: the next element needs a comma when n > 0 */
};

static void problem(struct check_out *co, const char *kind, const char *path, const char *detail)
{
	progress_before_stdout();
	if (co->ctx->json) {
		printf("%s{\"kind\":\"%s\",\"path\":", co->problems ? "," : "", kind);
		out_json_string(stdout, path);
		printf(",\"detail\":");
		out_json_string(stdout, detail);
		putchar('}');
	} else {
		printf("%s\t", kind);
		out_path(stdout, *path ? path : ".");
		printf("\t%s\n", detail);
	}
	co->problems++;
}

static int store_problem(void *arg, const char *path, const char *detail)
{
	problem(arg, "store", path, detail);
	return 0;
}

static void tree_change(void *arg, enum scan_change what, const struct entry *now, const struct entry *before)
{
	struct check_out *co = arg;

	(void) before;
	if (what == SCAN_DAMAGED) {
		problem(co, "damaged", now->path, "the content is not the recorded one, though all its stat data is");
		return;
	}
	co->changes++;
	if (co->ctx->verbose && !co->ctx->json) {
		progress_before_stdout();
		printf("changed\t");
		out_path(stdout, now->path);
		printf("\t%s since the last scan (not a problem: the next sync records it)\n", cmd_change_name(what));
	}
}

static int count_pending(void *arg, const char *path, const void *row, size_t len)
{
	(void) path;
	(void) row;
	(void) len;
	(*(unsigned long long *) arg)++;
	return 0;
}

static void on_progress(void *arg, const struct scan_stats *st)
{
	(void) arg;
	progress_scan(st);
}

static void on_warning(void *arg, const char *path, const char *msg)
{
	struct check_out *co = arg;

	/* a file that cannot be read could not be verified: a problem; a fifo is only a note */
	if (strstr(msg, "not synced") && !strstr(msg, "longer than"))
		return;
	problem(co, "unreadable", path, msg);
}

static int check_opt(void *arg, int opt, const char *val)
{
	(void) val;
	if (opt == 'P')
		*(int *) arg = 1;
	return 0;
}

struct check_args {
	int progress; /* --progress */
};

int cmd_check_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"progress", no_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int first;

	if ((first = cmd_getopt(self, argc, argv, "", longopts, check_opt,
	                        &CMD_ARGS(ctx, struct check_args)->progress)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc) {
		cmd_error("check: too many arguments");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_check_run(struct cmd_ctx *ctx, const struct command *self)
{
	struct check_out co = {ctx, 0, 0, 0};
	struct scan_opts o = SCAN_OPTS_INIT;
	struct scan_stats st;
	unsigned long long pending = 0;
	uint64_t rows = 0;
	int err;

	(void) self;
	progress_init(ctx, CMD_ARGS(ctx, struct check_args)->progress);
	if (ctx->json)
		printf("{\"problems\":[");
	memset(&st, 0, sizeof(st));
	if ((err = store_verify(ctx->r->store, store_problem, &co, &rows)) < 0)
		return cmd_fail(err);
	if (err == 1) {
		/* the tree is compared with the rows, and they cannot all be read */
		problem(&co, "tree", "", "not checked: the store cannot be read to its end");
		goto report;
	}
	store_pending_each(ctx->r->store, count_pending, &pending);
	o.flags = SCAN_DRY_RUN | SCAN_VERIFY;
	o.on_change = tree_change;
	o.on_warning = on_warning;
	o.ctx = &co;
	if (progress_on()) {
		progress_phase("check");
		o.on_progress = on_progress;
	}
	err = scan_run(ctx->r, &o, &st);
	progress_clear();
	if (err < 0) {
		problem(&co, "tree", "", mm_error_msg());
		memset(&st, 0, sizeof(st));
	}
report:
	if (ctx->json) {
		printf("],\"rows\":%llu,\"files\":%llu,\"dirs\":%llu,\"links\":%llu,\"bytes_read\":%llu,"
		       "\"unrecorded_changes\":%llu,\"journaled\":%llu}\n",
		       (unsigned long long) rows, (unsigned long long) st.files, (unsigned long long) st.dirs,
		       (unsigned long long) st.links, (unsigned long long) st.hashed_bytes, co.changes, pending);
	} else if (!ctx->quiet || co.problems) {
		printf("check: %llu rows in the store; %llu files (%llu bytes read), %llu directories, %llu links in "
		       "the "
		       "tree: %llu problem%s\n",
		       (unsigned long long) rows, (unsigned long long) st.files, (unsigned long long) st.hashed_bytes,
		       (unsigned long long) st.dirs, (unsigned long long) st.links, co.problems,
		       co.problems == 1 ? "" : "s");
		if (co.changes && !ctx->quiet)
			printf("%llu change%s since the last scan, not yet recorded (not a problem: see 'mmsync "
			       "status')\n",
			       co.changes, co.changes == 1 ? "" : "s");
		if (pending && !ctx->quiet)
			printf("%llu path%s journaled by an interrupted sync: the next sync or scan finishes %s\n",
			       pending, pending == 1 ? "" : "s", pending == 1 ? "it" : "them");
	}
	return co.problems ? EXIT_FAILED : EXIT_OK;
}
