/* mmsync serve --stdio: the far side of a session, on stdin and stdout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/log.h"
#include "sync/proto.h"
#include "sync/replica.h"
#include "sync/session.h"

static int serve_opt(void *arg, int opt, const char *val)
{
	int *stdio_mode = arg;

	(void)val;
	if (opt == 's')
		*stdio_mode = 1;
	return 0;
}

static void on_scan_warning(void *arg, const char *path, const char *msg)
{
	struct cmd_ctx *ctx = arg;

	if (ctx->quiet && strstr(msg, "not synced"))
		return;
	cmd_warning("%s: %s", quote_path(path), msg);
}

static void on_event(void *arg, enum session_event ev, const char *path, const char *detail)
{
	struct cmd_ctx *ctx = arg;

	if (ev == EV_CONFLICT || ev == EV_KEPT || ev == EV_FAILED || ev == EV_MERGED)
		log_append(ctx->r, "%s %s (served)%s%s",
			   ev == EV_CONFLICT ? "conflict" : ev == EV_KEPT ? "kept" : ev == EV_MERGED ? "merged" : "failed",
			   path, detail ? " " : "", detail ? detail : "");
	if (ev == EV_FAILED || (ev == EV_SKIPPED && !ctx->quiet))
		cmd_warning("%s: %s", quote_path(path), detail ? detail : "skipped");
}

/*
 * Tells the client why, in a frame it reads instead of its next message; the
 * client shows it, so it is not printed here too.
 */
static int refuse(struct conn *c, int code)
{
	proto_put_error(&c->out, mm_error_msg());
	if (conn_flush(c) < 0)
		return cmd_fail(code); /* the client is gone: say it here */
	return cmd_exit_for(code);
}

int cmd_serve(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stdio", no_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct command *c = cmd_find("serve");
	struct session_opts so = {0};
	struct scan_stats st;
	struct conn conn;
	int stdio_mode = 0, first, err, rc;
	char *root = NULL;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, serve_opt, &stdio_mode)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (!stdio_mode || first < argc) {
		cmd_error("serve: only --stdio is supported by this build");
		return EXIT_USAGE;
	}
	conn_init(&conn, 0, 1, "client");
	/* stdout is the protocol: every failure from here on goes to the client as a frame */
	if ((err = replica_find(&root, ctx->dir ? ctx->dir : ctx->cwd)) < 0)
		return refuse(&conn, err);
	err = replica_open(&ctx->r, root, REPLICA_LOCK);
	free(root);
	if (err < 0)
		return refuse(&conn, err);
	if ((err = session_prepare(ctx->r, &st, on_scan_warning, ctx)) < 0)
		return refuse(&conn, err);
	so.on_event = on_event;
	so.arg = ctx;
	err = session_server(ctx->r, &conn, &so);
	if (err < 0) {
		/* the client may have gone; tell it if it is still there */
		rc = refuse(&conn, err);
	} else {
		rc = EXIT_OK;
	}
	conn_dispose(&conn);
	return rc;
}
