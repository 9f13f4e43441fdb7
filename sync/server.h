/*
 * The serving side of sessions.  server_tls_run() is `mmsync serve --tls`:
 * a TCP listener whose clients each get a process of their own (at most
 * SERVER_MAX_CLIENTS at once; more wait in the listen queue) for the TLS
 * handshake, the trust check (trust.FP.name in the replica's config), the
 * wait for the replica lock and the session.  server_session() is the
 * session itself, which `serve --stdio` runs too.
 *
 * Nothing is printed: lines about clients go to the replica's log and to
 * the `note` callback, events to `on_event`.
 *
 * Signals: server_tls_run() installs no handler in the calling process.
 * The caller's own SIGTERM and SIGINT handlers set *stop (to the signal's
 * number; installed without SA_RESTART, a signal also wakes the loop's
 * poll at once, else it looks every half second); the loop then stops
 * accepting, sends SIGTERM to its clients, gives sessions under way
 * SERVER_GRACE_MS to finish and kills what is left.  In each client's
 * process (a fork of the caller's) SIGINT is ignored: a Ctrl-C reaches the
 * server, which stops its clients.  There SIGTERM ends the process until
 * its session starts; from then on it is caught and ignored, so that the
 * session may finish within the grace period.
 */
#ifndef MMSYNC_SERVER_H
#define MMSYNC_SERVER_H

#include <signal.h>

#include "scan.h"
#include "session.h"

#define SERVER_MAX_CLIENTS 16
#define SERVER_GRACE_MS    10000
#define SERVER_ZSTD_LEVEL  3

struct conn;
struct replica;

struct server_opts {
	const char *root;            /* the replica's root */
	const char *host, *port;     /* where to listen; port "0": any free one */
	int timeout_ms;              /* per read or write of a session (--timeout) */
	volatile sig_atomic_t *stop; /* not NULL: set by the caller's signal handler, the server stops */
	struct scan_opts scan;       /* the scan before each session */
	session_event_fn on_event;   /* each event of a session, after it went to the log; may be NULL */
	/* A line about a client or the server itself ("client FP from ADDR: done, ..."); may be NULL. */
	void (*note)(void *arg, const char *msg);
	/* Once listening: the replica's name and fingerprint, and the address bound (the port "0" chose). */
	void (*on_listening)(void *arg, const char *name, const char *fp, const char *bound);
	void *arg; /* for every callback but scan's (scan.ctx) */
};

/*
 * Serves TLS clients until *o->stop is set; returns 0 then, after every
 * client process ended, or a negative code when it could not start (the
 * replica, its fingerprint, the address).
 */
int server_tls_run(const struct server_opts *o);
/*
 * The server's side of one session on `c` with a client: prepares `r`
 * (locked) with o->scan, then runs session_server(); conflicts, kept and
 * merged paths and failures go to r's log ("... (served)"), every event to
 * o->on_event.  Only o->scan, o->on_event and o->arg are used.
 */
int server_session(struct replica *r, struct conn *c, const struct server_opts *o);
/*
 * Tells the client why it is refused, in an ERROR frame it reads instead
 * of its next message (it shows it).  Returns 0 when the frame went, or
 * when the client had gone already (it says why itself); else the code of
 * the failed write.
 */
int server_refuse(struct conn *c, const char *msg);

#endif
