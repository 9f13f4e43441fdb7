/* mmsync scan */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include "sync/replica.h"
#include "sync/scan.h"
#include "sync/session.h"
#include "sync/store.h"

struct scan_report {
	struct cmd_ctx *ctx;
	scan_change_fn on_change;
	void *arg;
};

static void on_warning(void *arg, const char *path, const char *msg)
{
	struct quoted q;
	struct scan_report *rep = arg;

	/* Skipped paths make the exit status 3 and are always shown; a note about a fifo is not. */
	if (rep->ctx->quiet && strstr(msg, "not synced") && !strstr(msg, "longer than"))
		return;
	cmd_warning("%s: %s", quote_path(&q, path), msg);
}

static void forward_change(void *arg, enum scan_change what, const struct entry *now, const struct entry *before)
{
	struct scan_report *rep = arg;

	if (rep->on_change)
		rep->on_change(rep->arg, what, now, before);
}

static void on_progress(void *arg, const struct scan_stats *st)
{
	(void) arg;
	progress_scan(st);
}

const char *cmd_change_name(enum scan_change what)
{
	return what == SCAN_ADDED      ? "added"
	       : what == SCAN_MODIFIED ? "modified"
	       : what == SCAN_DELETED  ? "deleted"
	                               : "damaged";
}

int cmd_run_scan(struct cmd_ctx *ctx, unsigned flags, scan_change_fn on_change, void *arg, struct scan_stats *st)
{
	struct scan_report rep = {ctx, on_change, arg};
	struct scan_opts o = SCAN_OPTS_INIT;
	int err;

	o.flags = flags | (ctx->force ? SCAN_FORCE : 0);
	o.on_change = forward_change;
	o.on_warning = on_warning;
	o.ctx = &rep;
	if (progress_on()) {
		progress_phase("scan");
		o.on_progress = on_progress;
	}
	err = scan_run(ctx->r, &o, st);
	progress_clear();
	return err;
}

int cmd_prepare(struct cmd_ctx *ctx, int show_progress, struct scan_stats *st)
{
	struct scan_opts o = SCAN_OPTS_INIT;
	int err;

	o.flags = ctx->force ? SCAN_FORCE : 0;
	o.on_warning = cmd_scan_warning;
	o.ctx = ctx;
	if (show_progress && progress_on()) {
		progress_phase("scan");
		o.on_progress = on_progress;
	}
	err = session_prepare(ctx->r, &o, st);
	progress_clear();
	return err;
}

static void print_change(void *arg, enum scan_change what, const struct entry *now, const struct entry *before)
{
	(void) arg;
	(void) before;
	progress_before_stdout();
	printf("%-9s ", cmd_change_name(what));
	out_path(stdout, now->path);
	putchar('\n');
}

struct scan_args {
	struct cmd_ctx *ctx;
	int progress;
};

static int scan_opt(void *arg, int opt, const char *val)
{
	struct scan_args *a = arg;

	(void) val;
	if (opt == 'P')
		a->progress = 1;
	else if (opt == 'f')
		a->ctx->force = 1;
	return 0;
}

int cmd_scan_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	static const struct option longopts[] = {{"progress", no_argument, NULL, 'P'},
	                                         {"force", no_argument, NULL, 'f'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct scan_args *a = CMD_ARGS(ctx, struct scan_args);
	int first;

	a->ctx = ctx;
	if ((first = cmd_getopt(self, argc, argv, "", longopts, scan_opt, a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc) {
		cmd_error("scan: too many arguments");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_scan_run(struct cmd_ctx *ctx, const struct command *self)
{
	struct scan_stats st;
	int err;

	(void) self;
	progress_init(ctx, CMD_ARGS(ctx, struct scan_args)->progress);
	err = cmd_run_scan(ctx, 0, ctx->verbose && !ctx->json ? print_change : NULL, NULL, &st);
	if (err < 0)
		return cmd_fail(err);
	if (ctx->json) {
		printf("{\"files\":%llu,\"dirs\":%llu,\"links\":%llu,\"added\":%llu,\"modified\":%llu,"
		       "\"deleted\":%llu,\"hashed_files\":%llu,\"hashed_bytes\":%llu,\"skipped\":%llu}\n",
		       (unsigned long long) st.files, (unsigned long long) st.dirs, (unsigned long long) st.links,
		       (unsigned long long) st.added, (unsigned long long) st.modified, (unsigned long long) st.deleted,
		       (unsigned long long) st.hashed_files, (unsigned long long) st.hashed_bytes,
		       (unsigned long long) st.skipped);
	} else if (!ctx->quiet) {
		printf("scanned %llu files, %llu directories, %llu links: %llu added, %llu modified, %llu deleted\n",
		       (unsigned long long) st.files, (unsigned long long) st.dirs, (unsigned long long) st.links,
		       (unsigned long long) st.added, (unsigned long long) st.modified,
		       (unsigned long long) st.deleted);
	}
	if (st.skipped) {
		cmd_error("scan: %llu path%s could not be read and kept their recorded state",
		          (unsigned long long) st.skipped, st.skipped == 1 ? "" : "s");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

void cmd_scan_warning(void *arg, const char *path, const char *msg)
{
	struct quoted q;
	struct cmd_ctx *ctx = arg;

	/* special files are not synced: worth saying, except under -q */
	if (ctx->quiet && strstr(msg, "not synced"))
		return;
	cmd_warning("%s: %s", quote_path(&q, path), msg);
}
