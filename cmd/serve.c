/*
 * mmsync serve --stdio: the far side of a session, on stdin and stdout (what
 * a local or ssh peer runs).  mmsync serve --tls --listen HOST:PORT: a
 * server for TLS clients, each in a process of its own, one session at a
 * time under the replica lock.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/log.h"
#include "sync/proto.h"
#include "sync/replica.h"
#include "sync/session.h"
#include "sync/config.h"
#include "sync/identity.h"
#include "sync/tls.h"
#include "sync/transport.h"
#include "sync/url.h"

#define SERVE_ZSTD_LEVEL 3
#define SERVE_MAX_CLIENTS 16
#define SERVE_GRACE_MS 10000

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
	case 's':
		a->stdio_mode = 1;
		break;
	case 't':
		a->tls_mode = 1;
		break;
	case 'l':
		a->listen = val;
		break;
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
 * client shows it, so it is not printed here too.  A client that went away
 * says why itself: then only a failure of this side's own is printed.
 */
static int refuse(struct conn *c, int code)
{
	char msg[PROTO_MAX_MSG + 1];
	int gone = c->gone;

	snprintf(msg, sizeof(msg), "%s", mm_error_msg());
	proto_put_error(&c->out, msg);
	if (conn_flush(c) < 0 && !gone)
		cmd_error("%s", msg);
	return cmd_exit_for(code);
}

static int serve_stdio(struct cmd_ctx *ctx)
{
	struct session_opts so = {0};
	struct scan_stats st;
	struct conn conn;
	int err, rc;
	char *root = NULL;

	conn_init(&conn, 0, 1, "client");
	/* stdout is the protocol: every failure from here on goes to the client as a frame */
	if ((err = replica_find(&root, ctx->dir ? ctx->dir : ctx->cwd)) == 0) {
		err = replica_open(&ctx->r, root, REPLICA_LOCK);
		free(root);
	}
	if (err == 0)
		err = cmd_prepare(ctx, 0, &st);
	if (err < 0) {
		rc = refuse(&conn, err);
		conn_dispose(&conn);
		return rc;
	}
	so.on_event = on_event;
	so.arg = ctx;
	so.zstd_level = SERVE_ZSTD_LEVEL;
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

/* ---------------------------------------------------------------- serve --tls */

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = sig;
}

struct tls_server {
	struct cmd_ctx *ctx;
	char *root;
	char name[REPLICA_NAME_MAX + 1];
	char key[PATH_MAX], cert[PATH_MAX];
	int timeout_ms;
};

/* A line on the server's stderr (unless -q) and in its log. */
static void __attribute__((format(printf, 3, 4))) server_note(struct tls_server *sv, struct replica *r,
							       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!sv->ctx->quiet)
		fprintf(stderr, "mmsync: %s\n", msg);
	if (r)
		log_append(r, "serve %s", msg);
}

/* Waits for the replica lock, up to `ms`: other syncs with this replica finish first. */
static int lock_within(struct replica *r, int ms)
{
	int64_t end = conn_now_ms() + ms;
	int err;

	while ((err = replica_lock(r)) == MM_ELOCKED && conn_now_ms() < end && !stopping) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return err;
}

/* One client, in a child process of its own: handshake, trust, lock, session. */
static int serve_client(struct tls_server *sv, int fd, const char *addr)
{
	struct session_opts so = {0};
	struct scan_stats st;
	struct replica *r = NULL;
	struct tls *tls = NULL;
	struct conn conn;
	char key[128], *trusted = NULL, fp[IDENTITY_FP_TEXT];
	const char *who;
	int err, rc = EXIT_FAILED;

	if ((err = tls_open(&tls, fd, 1, sv->key, sv->cert, sv->timeout_ms < 30000 ? sv->timeout_ms : 30000, 0,
			    addr)) < 0) {
		server_note(sv, NULL, "client from %s: %s", addr, mm_error_msg());
		return EXIT_FAILED;
	}
	snprintf(fp, sizeof(fp), "%s", tls_peer_fingerprint(tls));
	conn_init(&conn, fd, fd, addr);
	conn.io = tls_io(tls);
	conn.timeout_ms = sv->timeout_ms;
	if ((err = replica_open(&r, sv->root, 0)) < 0) {
		server_note(sv, NULL, "client %s from %s: %s", fp, addr, mm_error_msg());
		proto_put_error(&conn.out, mm_error_msg());
		conn_flush(&conn);
		goto done;
	}
	snprintf(key, sizeof(key), "trust.%s.name", fp);
	if (config_get_string(r->config, key, &trusted) < 0) {
		server_note(sv, r, "refused client %s from %s: it is not trusted (to allow it: mmsync trust %s)", fp,
			    addr, fp);
		mm_error_set(MM_ERROR, "client %s is not trusted by replica '%s'; on the server run 'mmsync trust %s'",
			     fp, sv->name, fp);
		proto_put_error(&conn.out, mm_error_msg());
		conn_flush(&conn);
		goto done;
	}
	/* "laptop (SHA256:...)", or the fingerprint alone for a client trusted without a name */
	char label[REPLICA_NAME_MAX + IDENTITY_FP_TEXT + 8];
	snprintf(label, sizeof(label), *trusted ? "%s (%s)" : "%s%s", trusted, fp);
	who = label;
	if ((err = lock_within(r, sv->timeout_ms < 120000 ? sv->timeout_ms : 120000)) < 0) {
		if (err == MM_ELOCKED)
			mm_error_set(MM_ERROR, "replica '%s' is busy (another sync holds its lock); try again later",
				     sv->name);
		server_note(sv, r, "client %s from %s: %s", who, addr, mm_error_msg());
		proto_put_error(&conn.out, mm_error_msg());
		conn_flush(&conn);
		goto done;
	}
	/* from here the server's stop waits (a while) for this session to end */
	signal(SIGTERM, on_stop);
	sv->ctx->r = r;
	if ((err = cmd_prepare(sv->ctx, 0, &st)) == 0) {
		so.on_event = on_event;
		so.arg = sv->ctx;
		so.zstd_level = SERVE_ZSTD_LEVEL;
		err = session_server(r, &conn, &so);
	}
	sv->ctx->r = NULL;
	if (err < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", mm_error_msg());
		server_note(sv, r, "client %s from %s: failed: %s", who, addr, msg);
		proto_put_error(&conn.out, msg);
		conn_flush(&conn);
		goto done;
	}
	server_note(sv, r, "client %s from %s: done, %llu bytes in, %llu bytes out", who, addr,
		    (unsigned long long)conn.bytes_in, (unsigned long long)conn.bytes_out);
	rc = EXIT_OK;
done:
	free(trusted);
	conn_dispose(&conn);
	tls_close(tls);
	replica_free(r);
	return rc;
}

/* Reaps finished clients; returns how many are still running. */
static int reap(pid_t *kids, int n)
{
	int live = 0;

	for (int i = 0; i < n; i++) {
		if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == kids[i])
			kids[i] = 0;
		live += kids[i] > 0;
	}
	return live;
}

static int serve_tls(struct cmd_ctx *ctx, const char *listen_at, long timeout_s)
{
	struct tls_server sv = {ctx, NULL, "", "", "", (int)(timeout_s * 1000)};
	struct replica *r = NULL;
	struct url u;
	struct sigaction sa;
	pid_t kids[SERVE_MAX_CLIENTS] = {0};
	char bound[128], fp[IDENTITY_FP_TEXT];
	int err, lfd, live;

	if (url_parse_listen(&u, listen_at) < 0) {
		cmd_error("serve: --listen needs HOST:PORT (%s)", mm_error_msg());
		return EXIT_USAGE;
	}
	if ((err = replica_find(&sv.root, ctx->dir ? ctx->dir : ctx->cwd)) < 0 ||
	    (err = replica_open(&r, sv.root, 0)) < 0 || (err = replica_fingerprint(r, fp)) < 0) {
		url_dispose(&u);
		free(sv.root);
		replica_free(r);
		return cmd_fail(err);
	}
	snprintf(sv.name, sizeof(sv.name), "%s", r->name);
	snprintf(sv.key, sizeof(sv.key), "%s/key.pem", r->state);
	snprintf(sv.cert, sizeof(sv.cert), "%s/cert.pem", r->state);
	err = transport_listen(&lfd, u.host, u.port, bound, sizeof(bound));
	url_dispose(&u);
	if (err < 0) {
		replica_free(r);
		free(sv.root);
		return cmd_fail(err);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!ctx->quiet)
		fprintf(stderr, "mmsync: serving replica '%s' (%s) over TLS; listening on %s\n", sv.name, fp, bound);
	log_append(r, "serve listening on %s", bound);
	fflush(stderr);
	while (!stopping) {
		struct pollfd p = {lfd, POLLIN, 0};
		live = reap(kids, SERVE_MAX_CLIENTS);
		if (live == SERVE_MAX_CLIENTS) {
			/* the others wait in the listen queue */
			struct timespec ts = {0, 50 * 1000000L};
			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&p, 1, 500) <= 0)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		char addr[64];
		transport_addr_text(&ss, addr, sizeof(addr));
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			/* the client's own process: a crash or a kill here leaves the server up */
			close(lfd);
			signal(SIGINT, SIG_IGN);
			signal(SIGTERM, SIG_DFL);
			replica_free(r);
			_exit(serve_client(&sv, fd, addr));
		}
		close(fd);
		if (pid < 0) {
			server_note(&sv, r, "cannot start a process for client %s: %s", addr, strerror(errno));
			continue;
		}
		for (int i = 0; i < SERVE_MAX_CLIENTS; i++)
			if (kids[i] <= 0) {
				kids[i] = pid;
				break;
			}
	}
	close(lfd);
	/*
	 * Clients still in their handshake or waiting for the lock stop at once;
	 * sessions under way get a moment to finish, then are killed (crash-safe
	 * either way).
	 */
	for (int i = 0; i < SERVE_MAX_CLIENTS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (int waited = 0; reap(kids, SERVE_MAX_CLIENTS) && waited < SERVE_GRACE_MS; waited += 50) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < SERVE_MAX_CLIENTS; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	server_note(&sv, r, "stopped (signal %d)", (int)stopping);
	replica_free(r);
	free(sv.root);
	return EXIT_OK;
}

int cmd_serve_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"stdio", no_argument, NULL, 's'},
						 {"tls", no_argument, NULL, 't'},
						 {"listen", required_argument, NULL, 'l'},
						 {"timeout", required_argument, NULL, 'T'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct serve_args *a = CMD_ARGS(ctx, struct serve_args);
	int first;

	a->timeout_s = 300;
	if ((first = cmd_getopt(c, argc, argv, "", longopts, serve_opt, a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc || a->stdio_mode == a->tls_mode || (a->tls_mode && !a->listen) || (a->stdio_mode && a->listen)) {
		cmd_error("serve: give --stdio, or --tls --listen HOST:PORT");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_serve_run(struct cmd_ctx *ctx, const struct command *c)
{
	const struct serve_args *a = CMD_ARGS(ctx, struct serve_args);

	(void)c;
	if (a->stdio_mode)
		return serve_stdio(ctx);
	return serve_tls(ctx, a->listen, a->timeout_s);
}
