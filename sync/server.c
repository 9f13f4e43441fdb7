/* Serving sessions: see server.h. */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "proto.h"
#include "replica.h"
#include "tls.h"
#include "transport.h"

/* A client's process exits as mmsync does after a failure (EXIT_FAILED); the server does not look. */
#define SERVER_CLIENT_FAILED 3

struct server {
	const struct server_opts *o;
	struct replica *r; /* the listener's, unlocked: for its log (NULL in a client's process) */
	char name[REPLICA_NAME_MAX + 1];
	char key[PATH_MAX], cert[PATH_MAX];
	pid_t kids[SERVER_MAX_CLIENTS];
};

/* One client, in its own process. */
struct client {
	const struct server *sv;
	const char *addr;
	struct replica *r;
	struct conn conn;
	char fp[IDENTITY_FP_TEXT];
	char who[REPLICA_NAME_MAX + IDENTITY_FP_TEXT + 8]; /* once trusted: "laptop (SHA256:...)" */
};

/* What a session's events are logged with. */
struct served {
	const struct server_opts *o;
	struct replica *r;
};

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A line for the caller and, when `r` is open, for its log. */
static void __attribute__((format(printf, 3, 4)))
server_note(const struct server_opts *o, struct replica *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->note)
		o->note(o->arg, msg);
	if (r)
		log_append(r, "serve %s", msg);
}

static void served_event(void *arg, enum session_event ev, const char *path, const char *detail)
{
	const struct served *s = arg;
	const char *what = ev == EV_CONFLICT ? "conflict"
	                   : ev == EV_KEPT   ? "kept"
	                   : ev == EV_MERGED ? "merged"
	                   : ev == EV_FAILED ? "failed"
	                                     : NULL;

	if (what)
		log_append(s->r, "%s %s (served)%s%s", what, path, detail ? " " : "", detail ? detail : "");
	if (s->o->on_event)
		s->o->on_event(s->o->arg, ev, path, detail);
}

int server_session(struct replica *r, struct conn *c, const struct server_opts *o)
{
	struct served s = {o, r};
	struct session_opts so = {0};
	struct scan_stats st;
	int err;

	if ((err = session_prepare(r, &o->scan, &st)) < 0)
		return err;
	so.on_event = served_event;
	so.arg = &s;
	so.zstd_level = SERVER_ZSTD_LEVEL;
	return session_server(r, c, &so);
}

int server_refuse(struct conn *c, const char *msg)
{
	int gone = c->gone, err;

	proto_put_error(&c->out, msg);
	if ((err = conn_flush(c)) < 0 && !gone)
		return err;
	return 0;
}

/* ---------------------------------------------------------------- a client's process */

/* Waits for the replica lock, up to `ms`: other syncs with this replica finish first. */
static int lock_within(struct replica *r, int ms)
{
	int64_t end = conn_now_ms() + ms;
	int err;

	while ((err = replica_lock(r)) == MM_ELOCKED && conn_now_ms() < end)
		nap_ms(100);
	return err;
}

/* Refuses a client that is not trusted; else its label goes to cl->who. */
static int client_trust(struct client *cl)
{
	char key[128], *name = NULL;

	snprintf(key, sizeof(key), "trust.%s.name", cl->fp);
	if (config_get_string(cl->r->config, key, &name) < 0) {
		server_note(cl->sv->o, cl->r,
		            "refused client %s from %s: it is not trusted (to allow it: mmsync trust %s)", cl->fp,
		            cl->addr, cl->fp);
		mm_error_set(MM_ERROR, "client %s is not trusted by replica '%s'; on the server run 'mmsync trust %s'",
		             cl->fp, cl->sv->name, cl->fp);
		server_refuse(&cl->conn, mm_error_msg());
		return MM_ERROR;
	}
	/* the fingerprint alone for a client trusted without a name */
	snprintf(cl->who, sizeof(cl->who), *name ? "%s (%s)" : "%s%s", name, cl->fp);
	free(name);
	return 0;
}

static int client_lock(struct client *cl)
{
	int ms = cl->sv->o->timeout_ms < 120000 ? cl->sv->o->timeout_ms : 120000, err;
	char msg[1024];

	if ((err = lock_within(cl->r, ms)) == 0)
		return 0;
	if (err == MM_ELOCKED)
		mm_error_set(MM_ERROR, "replica '%s' is busy (another sync holds its lock); try again later",
		             cl->sv->name);
	snprintf(msg, sizeof(msg), "%s", mm_error_msg());
	server_note(cl->sv->o, cl->r, "client %s from %s: %s", cl->who, cl->addr, msg);
	server_refuse(&cl->conn, msg);
	return err;
}

static void on_term_in_session(int sig)
{
	(void) sig; /* the server is stopping: this session may still finish */
}

/* Trust, lock and session of a client whose handshake went through. */
static int client_serve(struct client *cl)
{
	const struct server_opts *o = cl->sv->o;
	struct sigaction sa;
	char msg[1024];
	int err;

	if ((err = replica_open(&cl->r, o->root, 0)) < 0) {
		snprintf(msg, sizeof(msg), "%s", mm_error_msg());
		server_note(o, NULL, "client %s from %s: %s", cl->fp, cl->addr, msg);
		server_refuse(&cl->conn, msg);
		return err;
	}
	if ((err = client_trust(cl)) < 0 || (err = client_lock(cl)) < 0)
		return err;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_in_session;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	if ((err = server_session(cl->r, &cl->conn, o)) < 0) {
		snprintf(msg, sizeof(msg), "%s", mm_error_msg());
		server_note(o, cl->r, "client %s from %s: failed: %s", cl->who, cl->addr, msg);
		server_refuse(&cl->conn, msg);
		return err;
	}
	server_note(o, cl->r, "client %s from %s: done, %llu bytes in, %llu bytes out", cl->who, cl->addr,
	            (unsigned long long) cl->conn.bytes_in, (unsigned long long) cl->conn.bytes_out);
	return 0;
}

/* One client on `fd`, in a child process of its own: a crash or a kill here leaves the server up. */
static int client_run(const struct server *sv, int fd, const char *addr)
{
	const struct server_opts *o = sv->o;
	struct client cl = {.sv = sv, .addr = addr};
	struct tls *tls = NULL;
	int err;

	if ((err = tls_open(&tls, fd, 1, sv->key, sv->cert, o->timeout_ms < 30000 ? o->timeout_ms : 30000, 0, addr)) <
	    0) {
		server_note(o, NULL, "client from %s: %s", addr, mm_error_msg());
		return err;
	}
	snprintf(cl.fp, sizeof(cl.fp), "%s", tls_peer_fingerprint(tls));
	conn_init(&cl.conn, fd, fd, addr);
	cl.conn.io = tls_io(tls);
	cl.conn.timeout_ms = o->timeout_ms;
	err = client_serve(&cl);
	conn_dispose(&cl.conn);
	tls_close(tls);
	replica_free(cl.r);
	return err;
}

/* ---------------------------------------------------------------- the listener */

/* Reaps finished clients; returns how many are still running. */
static int reap(pid_t *kids)
{
	int live = 0;

	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == kids[i])
			kids[i] = 0;
		live += kids[i] > 0;
	}
	return live;
}

static void accept_one(struct server *sv, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64];
	int fd = accept4(lfd, (struct sockaddr *) &ss, &sl, SOCK_CLOEXEC), e;
	pid_t pid;

	if (fd < 0)
		return;
	transport_addr_text(&ss, addr, sizeof(addr));
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(lfd);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		replica_free(sv->r);
		sv->r = NULL;
		_exit(client_run(sv, fd, addr) < 0 ? SERVER_CLIENT_FAILED : 0);
	}
	e = errno;
	close(fd);
	if (pid < 0) {
		server_note(sv->o, sv->r, "cannot start a process for client %s: %s", addr, strerror(e));
		return;
	}
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (sv->kids[i] <= 0) {
			sv->kids[i] = pid;
			break;
		}
}

static void accept_loop(struct server *sv, int lfd)
{
	while (!*sv->o->stop) {
		struct pollfd p = {lfd, POLLIN, 0};
		if (reap(sv->kids) == SERVER_MAX_CLIENTS) {
			/* the others wait in the listen queue */
			nap_ms(50);
			continue;
		}
		if (poll(&p, 1, 500) > 0)
			accept_one(sv, lfd);
	}
}

/*
 * Clients still in their handshake or waiting for the lock stop at once;
 * sessions under way get a moment to finish, then are killed (crash-safe
 * either way).
 */
static void stop_clients(pid_t *kids)
{
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (int waited = 0; reap(kids) && waited < SERVER_GRACE_MS; waited += 50)
		nap_ms(50);
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
}

int server_tls_run(const struct server_opts *o)
{
	struct server sv = {.o = o};
	char bound[128], fp[IDENTITY_FP_TEXT];
	int err, lfd;

	if ((err = replica_open(&sv.r, o->root, 0)) < 0 || (err = replica_fingerprint(sv.r, fp)) < 0)
		goto done;
	snprintf(sv.name, sizeof(sv.name), "%s", sv.r->name);
	snprintf(sv.key, sizeof(sv.key), "%s/key.pem", sv.r->state);
	snprintf(sv.cert, sizeof(sv.cert), "%s/cert.pem", sv.r->state);
	if ((err = transport_listen(&lfd, o->host, o->port, bound, sizeof(bound))) < 0)
		goto done;
	if (o->on_listening)
		o->on_listening(o->arg, sv.name, fp, bound);
	log_append(sv.r, "serve listening on %s", bound);
	accept_loop(&sv, lfd);
	close(lfd);
	stop_clients(sv.kids);
	server_note(o, sv.r, "stopped (signal %d)", (int) *o->stop);
done:
	replica_free(sv.r);
	return err;
}
