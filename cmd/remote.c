/* Reaching peers: see remote.h. */
#include "remote.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "progress.h"
#include "sync/bundle.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/proto.h"
#include "sync/replica.h"
#include "sync/store.h"
#include "sync/tls.h"
#include "vv/vv.h"

#define REMOTE_MAX_KIDS 64
static volatile pid_t kids[REMOTE_MAX_KIDS];

static void kid_add(pid_t pid)
{
	for (int i = 0; i < REMOTE_MAX_KIDS; i++)
		if (kids[i] <= 0) {
			kids[i] = pid;
			return;
		}
}

static void kid_remove(pid_t pid)
{
	for (int i = 0; i < REMOTE_MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

void remote_kill_all(void)
{
	for (int i = 0; i < REMOTE_MAX_KIDS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
}

int remote_is_network(const struct remote *rm)
{
	return rm->url.kind != URL_LOCAL;
}

char **remote_filters(const struct remote *rm, size_t *n)
{
	*n = rm->bundle ? bundle_info(rm->bundle)->nfilters : 0;
	return *n ? bundle_info(rm->bundle)->filters : NULL;
}

void remote_dispose(struct remote *rm)
{
	if (rm->started) {
		kid_remove(rm->t.pid);
		transport_abort(&rm->t);
	}
	bundle_free(rm->bundle, 1);
	free(rm->name);
	free(rm->url_text);
	url_dispose(&rm->url);
	memset(rm, 0, sizeof(*rm));
}

/* Prints a message about `rm` and keeps it for the log and `status`. */
static void __attribute__((format(printf, 2, 3))) say(struct remote *rm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rm->why, sizeof(rm->why), fmt, ap);
	va_end(ap);
	cmd_error("%s", rm->why);
}

/* Each line ssh or the far side writes to stderr is the user's to read. */
static void show_line(void *arg, const char *line)
{
	(void)arg;
	flockfile(stderr);
	progress_clear();
	out_message(stderr, line); /* the far side's own words: no escape sequence reaches the terminal */
	fputc('\n', stderr);
	funlockfile(stderr);
}

/* A local peer: an existing directory holding a replica. */
static int check_local(struct cmd_ctx *ctx, struct remote *rm)
{
	char *abs = NULL;
	struct stat st;
	int rc = EXIT_FAILED;

	if (rm->url.path[0] == '/')
		abs = strdup(rm->url.path);
	else if (asprintf(&abs, "%s/%s", ctx->cwd, rm->url.path) < 0)
		abs = NULL;
	if (!abs) {
		cmd_error("out of memory");
		return EXIT_FAILED;
	}
	if (stat(abs, &st) < 0)
		say(rm, "peer '%s': %s", rm->arg, strerror(errno));
	else if (S_ISDIR(st.st_mode) && replica_dir_is_empty(abs))
		say(rm, "peer '%s' is not a replica: it is empty (is its disk not mounted?)", rm->arg);
	else if (!cmd_is_replica_dir(ctx, abs))
		say(rm, "peer '%s' is not a replica (no .mmsync/ in it; if it was one and lost it, 'mmsync init' "
			"makes it one again)", rm->arg);
	else
		rc = EXIT_OK;
	if (rc == EXIT_OK) {
		free(rm->url.path);
		rm->url.path = abs;
	} else {
		free(abs);
	}
	return rc;
}

int remote_resolve(struct cmd_ctx *ctx, const struct peer_opts *po, const char *arg, struct remote *rm)
{
	char *url = NULL, *fp = NULL;
	const char *env;
	int err;

	memset(rm, 0, sizeof(*rm));
	rm->arg = arg;
	{
		struct transport init = TRANSPORT_INIT;
		rm->t = init;
	}
	if (po->bundle) {
		/* a bundle file: a local path, whatever it looks like */
		rm->url.kind = URL_LOCAL;
		/* as typed: this process never changes its directory */
		if (!(rm->url.path = strdup(arg))) {
			cmd_error("out of memory");
			return EXIT_FAILED;
		}
		rm->url_text = strdup(arg);
		rm->is_bundle = 1;
		return rm->url_text ? EXIT_OK : EXIT_FAILED;
	}
	if (ctx->r && cmd_peer_lookup(ctx->r, arg, &url, &fp) > 0) {
		rm->name = strdup(arg);
		rm->url_text = url;
	} else {
		rm->url_text = strdup(arg);
	}
	if (!rm->url_text) {
		free(fp);
		cmd_error("out of memory");
		return EXIT_FAILED;
	}
	if ((err = url_parse(&rm->url, rm->url_text)) < 0) {
		free(fp);
		cmd_error("%s", mm_error_msg());
		return EXIT_USAGE;
	}
	/* --fingerprint on the command line overrides the configured pin */
	if (po->fingerprint || fp) {
		if (rm->url.kind != URL_TLS) {
			free(fp);
			if (!po->fingerprint)
				goto pinned;
			cmd_error("peer '%s': --fingerprint is for tls:// peers", arg);
			return EXIT_USAGE;
		}
		if (identity_parse_fingerprint(rm->pin, po->fingerprint ? po->fingerprint : fp) < 0) {
			cmd_error("peer '%s': %s", arg, mm_error_msg());
			free(fp);
			return EXIT_USAGE;
		}
	}
	free(fp);
pinned:
	rm->ssh.command = po->ssh ? po->ssh : (env = getenv("MMSYNC_SSH")) && *env ? env : "ssh";
	rm->ssh.program = po->remote_prog;
	rm->ssh.quiet = ctx->quiet;
	/* cron (no terminal) and -q runs must never wait at a prompt */
	rm->ssh.batch = !isatty(0) || ctx->quiet;
	rm->ssh.on_line = show_line;
	if (rm->url.kind == URL_LOCAL)
		return check_local(ctx, rm);
	return EXIT_OK;
}

/* Tells the TLS server why this client hangs up, so that its log says it too. */
static void tell_server(struct remote *rm, const char *msg)
{
	struct conn c;

	conn_init(&c, rm->t.fd, rm->t.fd, rm->arg);
	c.io = tls_io(rm->t.tls);
	c.timeout_ms = 2000;
	proto_put_error(&c.out, msg);
	conn_flush(&c);
	conn_dispose(&c);
}

static int check_pin(struct cmd_ctx *ctx, struct remote *rm)
{
	const char *seen = tls_peer_fingerprint(rm->t.tls);
	char mine[IDENTITY_FP_TEXT], msg[512];

	if (rm->pin[0] && !strcmp(seen, rm->pin))
		return EXIT_OK;
	if (replica_fingerprint(ctx->r, mine) < 0)
		snprintf(mine, sizeof(mine), "?");
	if (!rm->pin[0]) {
		say(rm, "peer '%s': no fingerprint is pinned for this TLS server; it presented %s. Check that "
			  "against 'mmsync id' on the server, then give it with --fingerprint, or pin it with "
			  "'mmsync peer add NAME %s --fingerprint %s'",
			  rm->arg, seen, rm->url_text, seen);
		snprintf(msg, sizeof(msg), "client %s hung up: it has no fingerprint pinned for this server (it saw %s)",
			 mine, seen);
	} else {
		say(rm, "peer '%s': the server's certificate %s does not match the pinned fingerprint %s; "
			  "refusing to sync (if the server's replica was made anew, check 'mmsync id' there and "
			  "pin the new fingerprint)",
			  rm->arg, seen, rm->pin);
		snprintf(msg, sizeof(msg), "client %s refused this server: its certificate %s does not match the "
			 "client's pin %s", mine, seen, rm->pin);
	}
	tell_server(rm, msg);
	return EXIT_FAILED;
}

/* bundle apply: checks the whole bundle, then forks the child that plays its author's side. */
static int start_bundle(struct cmd_ctx *ctx, struct remote *rm)
{
	const struct bundle_info *in;
	char name[65] = "", id[VV_ID_TEXT];
	int sv[2], err;
	pid_t pid;

	/* the lock is ours: any unpacked bundle in .mmsync/ is a killed run's */
	bundle_clean(ctx->r);
	if ((err = bundle_read(&rm->bundle, rm->url.path, ctx->r, NULL, NULL)) < 0) {
		say(rm, "%s", mm_error_msg());
		return EXIT_FAILED;
	}
	in = bundle_info(rm->bundle);
	if (in->author_id == ctx->r->id) {
		say(rm, "bundle '%s' was made by this replica: apply it on another one; nothing changed", rm->arg);
		return EXIT_FAILED;
	}
	if (in->target && in->target != ctx->r->id) {
		vv_id_format(id, in->target);
		if (store_replica_name(ctx->r->store, in->target, name) < 0 || !name[0])
			say(rm, "bundle '%s' was made for replica %s, not this one; nothing changed", rm->arg, id);
		else
			say(rm, "bundle '%s' was made for replica '%s' (%s), not this one; nothing changed", rm->arg, name,
			    id);
		return EXIT_FAILED;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		say(rm, "cannot make a socket pair: %s", strerror(errno));
		return EXIT_FAILED;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		say(rm, "cannot start a child process: %s", strerror(errno));
		return EXIT_FAILED;
	}
	if (pid == 0) {
		/* the author's side: reads only the checked files, never the store */
		close(sv[0]);
		err = bundle_serve(rm->bundle, sv[1]);
		if (err < 0 && !strstr(mm_error_msg(), "closed the connection"))
			fprintf(stderr, "mmsync: bundle '%s': %s\n", rm->arg, mm_error_msg());
		_exit(err < 0 ? EXIT_FAILED : EXIT_OK);
	}
	close(sv[1]);
	rm->t.fd = sv[0];
	rm->t.pid = pid;
	rm->started = 1;
	kid_add(pid);
	return EXIT_OK;
}

int remote_start(struct cmd_ctx *ctx, struct remote *rm, int64_t deadline)
{
	char exe[PATH_MAX], key[PATH_MAX], cert[PATH_MAX];
	ssize_t n;
	int err;

	if (rm->is_bundle)
		return start_bundle(ctx, rm);
	switch (rm->url.kind) {
	case URL_LOCAL:
		if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0) {
			say(rm, "cannot find my own program: %s", strerror(errno));
			return EXIT_FAILED;
		}
		exe[n] = '\0';
		err = transport_local(&rm->t, exe, rm->url.path, ctx->quiet);
		break;
	case URL_SSH:
		err = transport_ssh(&rm->t, &rm->url, &rm->ssh);
		break;
	case URL_TLS:
	default:
		snprintf(key, sizeof(key), "%s/key.pem", ctx->r->state);
		snprintf(cert, sizeof(cert), "%s/cert.pem", ctx->r->state);
		err = transport_tls(&rm->t, &rm->url, key, cert, 60000, deadline);
		break;
	}
	if (err < 0) {
		say(rm, "peer '%s': %s", rm->arg, mm_error_msg());
		return EXIT_FAILED;
	}
	rm->started = 1;
	rm->deadline = deadline;
	if (rm->t.pid > 0)
		kid_add(rm->t.pid);
	if (rm->url.kind == URL_TLS && check_pin(ctx, rm) != EXIT_OK) {
		transport_abort(&rm->t);
		rm->started = 0;
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

void remote_fail(struct remote *rm, int code, const char *msg, char *out, size_t n)
{
	char buf[512];
	const char *why = NULL;
	int status = -1;

	if (rm->started) {
		pid_t pid = rm->t.pid;
		/* let a peer that refused say why (and with what status) before it is killed; not past --timeout */
		transport_close_wait(&rm->t, &status, rm->deadline && conn_now_ms() >= rm->deadline ? 200 : 2000);
		kid_remove(pid);
		rm->started = 0;
	}
	/* a refusal in the peer's own words (MM_ERROR) beats a guess from what ssh said */
	if (rm->url.kind == URL_SSH && code == MM_EIO)
		why = transport_ssh_diagnose(&rm->t, &rm->url, &rm->ssh, status, buf, sizeof(buf));
	if (why)
		snprintf(out, n, "peer '%s': %s", rm->arg, why);
	else
		snprintf(out, n, "%s", msg);
	cmd_error("%s", out);
}

void remote_done(struct cmd_ctx *ctx, struct remote *rm, int *status)
{
	pid_t pid = rm->t.pid;

	*status = 0;
	if (!rm->started)
		return;
	transport_close(&rm->t, status);
	kid_remove(pid);
	rm->started = 0;
	if (rm->bundle && *status == 0 && bundle_record(rm->bundle, ctx->r) < 0)
		cmd_warning("bundle '%s': %s", rm->arg, mm_error_msg());
}
