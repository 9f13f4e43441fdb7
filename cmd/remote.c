/* Reaching peers: see remote.h. */
#include "remote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "progress.h"
#include "sync/bundle.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/peer_start.h"
#include "sync/replica.h"

void remote_kill_all(void)
{
	transport_kill_all();
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
	if (rm->started)
		transport_abort(&rm->t);
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
	(void) arg;
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
		say(rm,
		    "peer '%s' is not a replica (no .mmsync/ in it; if it was one and lost it, 'mmsync init' "
		    "makes it one again)",
		    rm->arg);
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

/* In the bundle's child: why its side failed. */
static void bundle_child_error(void *arg, const char *msg)
{
	const struct remote *rm = arg;

	fprintf(stderr, "mmsync: bundle '%s': %s\n", rm->arg, msg);
}

int remote_start(struct cmd_ctx *ctx, struct remote *rm, int64_t deadline)
{
	struct peer_start_opts o = {.label = rm->arg,
	                            .url_text = rm->url_text,
	                            .url = &rm->url,
	                            .pin = rm->pin,
	                            .ssh = &rm->ssh,
	                            .quiet = ctx->quiet,
	                            .is_bundle = rm->is_bundle,
	                            .on_bundle_error = bundle_child_error,
	                            .arg = rm};

	if (peer_start(&rm->t, &rm->bundle, ctx->r, &o, deadline) < 0) {
		say(rm, "%s", mm_error_msg());
		return EXIT_FAILED;
	}
	rm->started = 1;
	/* a bundle's child is waited for as long as ever after a failure (remote_fail) */
	rm->deadline = rm->is_bundle ? 0 : deadline;
	return EXIT_OK;
}

void remote_fail(struct remote *rm, int code, const char *msg, char *out, size_t n)
{
	char buf[512];
	const char *why = NULL;
	int status = -1;

	if (rm->started) {
		/* let a peer that refused say why (and with what status) before it is killed; not past --timeout */
		transport_close_wait(&rm->t, &status, rm->deadline && conn_now_ms() >= rm->deadline ? 200 : 2000);
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
	*status = 0;
	if (!rm->started)
		return;
	transport_close(&rm->t, status);
	rm->started = 0;
	if (rm->bundle && *status == 0 && bundle_record(rm->bundle, ctx->r) < 0)
		cmd_warning("bundle '%s': %s", rm->arg, mm_error_msg());
}
