/*
 * One sync with one peer over a framed connection (see proto.h for the
 * exchange).  The client is the process the user ran; the server is the
 * peer's `mmsync serve`.  Both sides must have locked, recovered and
 * scanned their replica first (session_prepare).
 */
#ifndef MMSYNC_SESSION_H
#define MMSYNC_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct replica;
struct conn;
struct scan_stats;
struct scan_opts;

enum session_event {
	EV_RECEIVED,  /* content or metadata written here */
	EV_DELETED,   /* removed here */
	EV_CONFLICT,  /* kept both: detail names the copy */
	EV_KEPT,      /* an edit kept over a concurrent deletion, or a directory kept */
	EV_SKIPPED,   /* changed here during the sync: left for the next one */
	EV_FAILED,    /* could not be applied: detail says why */
	EV_SENT,      /* content sent to the peer */
	EV_MERGED     /* concurrent edits merged into a new version */
};

typedef void (*session_event_fn)(void *arg, enum session_event ev, const char *path, const char *detail);

/* How far the receiving side of a session has come (for a progress display). */
struct session_progress {
	uint64_t files_done, files_total;  /* paths of the plan applied / planned */
	uint64_t bytes_done, bytes_total;  /* content of those: written here / to write */
	uint64_t wire_in, wire_out;        /* bytes read from / written to the connection so far */
};
/* Called often (after each path, and as content arrives): the callee throttles its output. */
typedef void (*session_progress_fn)(void *arg, const struct session_progress *p);

struct session_opts {
	unsigned op;           /* PROTO_OP_PULL and/or PROTO_OP_PUSH */
	char **filters;        /* PATH... limits, valid replica paths */
	size_t nfilters;
	uint64_t caps;         /* PROTO_CAP_* the client offers (the server accepts what it offers) */
	int zstd_level;        /* compression level when PROTO_CAP_ZSTD is agreed */
	session_event_fn on_event;
	session_progress_fn on_progress; /* may be NULL; gets `arg` too */
	void *arg;
};

struct session_result {
	char peer_name[PROTO_MAX_NAME + 1];
	uint64_t peer_id;
	uint64_t files_in, files_out, bytes_in, bytes_out;
	uint64_t merged, conflicts, deleted, skipped, failed;
	uint64_t caps;         /* what both sides agreed */
};

/*
 * Before a session: finishes what a killed run left (journal, temporary
 * files) and scans.  `r` must be locked.
 */
int session_prepare(struct replica *r, const struct scan_opts *so, struct scan_stats *st);
/* Runs the client side; counts go to *res (both sides). */
int session_client(struct replica *r, struct conn *c, const struct session_opts *o, struct session_result *res);
/* Runs the server side until the client says BYE. */
int session_server(struct replica *r, struct conn *c, const struct session_opts *o);

#endif
