/*
 * Reaching a peer from the command line: a name or URL as the user typed
 * it, resolved (configured peers, local paths), and its transport started
 * by sync/peer_start.c (a child for local and ssh peers, a TLS connection
 * checked against its pin).  Messages are printed here; functions return
 * exit statuses.
 */
#ifndef MMSYNC_CMD_REMOTE_H
#define MMSYNC_CMD_REMOTE_H

#include <stdint.h>

#include "cmd.h"
#include "sync/identity.h"
#include "sync/transport.h"
#include "sync/url.h"

struct remote {
	const char *arg; /* as typed */
	char *name;      /* the configured peer's name, or NULL */
	char *url_text;  /* the URL it stands for (local paths made absolute) */
	struct url url;
	char pin[IDENTITY_FP_TEXT]; /* TLS: the server's expected fingerprint, "" when none */
	struct ssh_opts ssh;
	struct transport t;
	int started;
	int is_bundle;         /* a bundle file (bundle apply) */
	struct bundle *bundle; /* ... once checked: what the child serves */
	int64_t deadline;      /* of the run (--timeout), 0: none */
	char why[1024];        /* the last failure printed */
};

/* Resolves `arg` into *rm (free with remote_dispose); prints why not. */
int remote_resolve(struct cmd_ctx *ctx, const struct peer_opts *po, const char *arg, struct remote *rm);
void remote_dispose(struct remote *rm);
/* Starts the transport (checking a TLS server's certificate against the pin) before `deadline`. */
int remote_start(struct cmd_ctx *ctx, struct remote *rm, int64_t deadline);
/* The PATH limits a bundle was made with (none for other peers). */
char **remote_filters(const struct remote *rm, size_t *n);
/* 1 for ssh and TLS peers (compressed, with network timeouts). */
int remote_is_network(const struct remote *rm);
/*
 * After a failed session: closes the transport and prints the best message
 * (for ssh, what ssh's own words and exit status say went wrong); `code`
 * and `msg` are the session's error.  The message printed goes to `out` for the log.
 */
void remote_fail(struct remote *rm, int code, const char *msg, char *out, size_t n);
/* After a session that went well: closes the transport; the peer process's exit status goes to *status. */
void remote_done(struct cmd_ctx *ctx, struct remote *rm, int *status);
/* Kills the peer processes of every started remote (from a signal handler too). */
void remote_kill_all(void);

#endif
