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
#include "report.h"

struct replica;
struct conn;
struct scan_stats;
struct scan_opts;

struct session_opts {
	unsigned op;    /* PROTO_OP_PULL and/or PROTO_OP_PUSH */
	char **filters; /* PATH... limits, valid replica paths */
	size_t nfilters;
	uint64_t caps;  /* PROTO_CAP_* the client offers (the server accepts what it offers) */
	int zstd_level; /* compression level when PROTO_CAP_ZSTD is agreed */
	session_event_fn on_event;
	session_progress_fn on_progress; /* may be NULL; gets `arg` too */
	void *arg;
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
