/*
 * mmsync serve --stdio: the far side of a session, on stdin and stdout (what
 * a local or ssh peer runs).  mmsync serve --tls --listen HOST:PORT: a
 * server for TLS clients, each in a process of its own, one session at a
 * time under the replica lock.  Options, messages and exit statuses are
 * here; sync/server.c serves.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/proto.h"
#include "sync/replica.h"
#include "sync/server.h"
#include "sync/url.h"

struct serve_args {
	int stdio_mode, tls_mode;
	const char *listen;
	long timeout_s;
};

static int serve_opt(void *arg, int opt, const char *val)
{
	struct serve_args *a = arg;
	char *end;

	switch (opt) {
	case 's': a->stdio_mode = 1; break;
	case 't': a->tls_mode = 1; break;
	case 'l': a->listen = val; break;
	case 'T':
		errno = 0;
		a->timeout_s = strtol(val, &end, 10);
		if (errno || *end || end == val || a->timeout_s <= 0 || a->timeout_s > 24L * 3600) {
			cmd_error("serve: --timeout needs a number of seconds");
			return -1;
		}
		break;
	}
	return 0;
}

/* Warnings about paths served (the engine logged the event). */
static void on_event(void *arg, enum session_event ev, const char *path, const char *detail)
{
	struct quoted q;
	struct cmd_ctx *ctx = arg;

	if (ev == EV_FAILED || (ev == EV_SKIPPED && !ctx->quiet))
		cmd_warning("%s: %s", quote_path(&q, path), detail ? detail : "skipped");
}

/* A line about a client or the server, on stderr unless -q (the engine logs it once the replica is open). */
static void on_note(void *arg, const char *msg)
{
	struct cmd_ctx *ctx = arg;

	if (!ctx->quiet)
		fprintf(stderr, "mmsync: %s\n", msg);
}

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = sig;
}

static void on_listening(void *arg, const char *name, const char *fp, const char *bound)
{
	struct cmd_ctx *ctx = arg;
	struct sigaction sa;

	/* from here SIGTERM and SIGINT stop the server and its clients (no SA_RESTART: its poll wakes) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!ctx->quiet)
		fprintf(stderr, "mmsync: serving replica '%s' (%s) over TLS; listening on %s\n", name, fp, bound);
	fflush(stderr);
}

/* What both modes serve with: the scan as cmd_prepare's, events and lines printed here. */
static void serve_opts(struct server_opts *o, struct cmd_ctx *ctx)
{
	struct scan_opts scan = SCAN_OPTS_INIT;

	memset(o, 0, sizeof(*o));
	scan.flags = ctx->force ? SCAN_FORCE : 0;
	scan.on_warning = cmd_scan_warning;
	scan.ctx = ctx;
	o->scan = scan;
	o->stop = &stopping;
	o->on_event = on_event;
	o->note = on_note;
	o->on_listening = on_listening;
	o->arg = ctx;
}

/*
 * Tells the client why, in a frame it reads instead of its next message; the
 * client shows it, so it is not printed here too.  A client that went away
 * says why itself: then only a failure of this side's own is printed.
 */
static int refuse(struct conn *c, int code)
{
	char msg[PROTO_MAX_MSG + 1];

	snprintf(msg, sizeof(msg), "%s", mm_error_msg());
	if (server_refuse(c, msg) < 0)
		cmd_error("%s", msg);
	return cmd_exit_for(code);
}

static int serve_stdio(struct cmd_ctx *ctx)
{
	struct server_opts o;
	struct conn conn;
	int err, rc = EXIT_OK;
	char *root = NULL;

	conn_init(&conn, 0, 1, "client");
	/* stdout is the protocol: every failure from here on goes to the client as a frame */
	if ((err = replica_find(&root, ctx->dir ? ctx->dir : ctx->cwd)) == 0) {
		err = replica_open(&ctx->r, root, REPLICA_LOCK);
		free(root);
	}
	serve_opts(&o, ctx);
	if (err == 0)
		err = server_session(ctx->r, &conn, &o);
	/* the client may have gone; tell it if it is still there */
	if (err < 0)
		rc = refuse(&conn, err);
	conn_dispose(&conn);
	return rc;
}

static int serve_tls(struct cmd_ctx *ctx, const char *listen_at, long timeout_s)
{
	struct server_opts o;
	struct url u;
	char *root = NULL;
	int err;

	if (url_parse_listen(&u, listen_at) < 0) {
		cmd_error("serve: --listen needs HOST:PORT (%s)", mm_error_msg());
		return EXIT_USAGE;
	}
	if ((err = replica_find(&root, ctx->dir ? ctx->dir : ctx->cwd)) == 0) {
		serve_opts(&o, ctx);
		o.root = root;
		o.host = u.host;
		o.port = u.port;
		o.timeout_ms = (int) (timeout_s * 1000);
		err = server_tls_run(&o);
	}
	url_dispose(&u);
	free(root);
	return err < 0 ? cmd_fail(err) : EXIT_OK;
}

int cmd_serve_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"stdio", no_argument, NULL, 's'},        {"tls", no_argument, NULL, 't'},
	        {"listen", required_argument, NULL, 'l'}, {"timeout", required_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	struct serve_args *a = CMD_ARGS(ctx, struct serve_args);
	int first;

	a->timeout_s = 300;
	if ((first = cmd_getopt(c, argc, argv, "", longopts, serve_opt, a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc || a->stdio_mode == a->tls_mode || (a->tls_mode && !a->listen) ||
	    (a->stdio_mode && a->listen)) {
		cmd_error("serve: give --stdio, or --tls --listen HOST:PORT");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_serve_run(struct cmd_ctx *ctx, const struct command *c)
{
	const struct serve_args *a = CMD_ARGS(ctx, struct serve_args);

	(void) c;
	if (a->stdio_mode)
		return serve_stdio(ctx);
	return serve_tls(ctx, a->listen, a->timeout_s);
}
