/*
 * What a transfer reports to whoever runs it: an event per path, its
 * progress, and the counts of a session.  Shared by the session
 * (session.h), which callers see, and the phases that do the transfer
 * (phase.h), which they do not.
 */
#ifndef MMSYNC_REPORT_H
#define MMSYNC_REPORT_H

#include <stdint.h>

#include "proto.h"

enum session_event {
	EV_RECEIVED, /* content or metadata written here */
	EV_DELETED,  /* removed here */
	EV_CONFLICT, /* kept both: detail names the copy */
	EV_KEPT,     /* an edit kept over a concurrent deletion, or a directory kept */
	EV_SKIPPED,  /* changed here during the sync: left for the next one */
	EV_FAILED,   /* could not be applied: detail says why */
	EV_SENT,     /* content sent to the peer */
	EV_MERGED    /* concurrent edits merged into a new version */
};

typedef void (*session_event_fn)(void *arg, enum session_event ev, const char *path, const char *detail);

/* How far the receiving side of a session has come (for a progress display). */
struct session_progress {
	uint64_t files_done, files_total; /* paths of the plan applied / planned */
	uint64_t bytes_done, bytes_total; /* content of those: written here / to write */
	uint64_t wire_in, wire_out;       /* bytes read from / written to the connection so far */
};
/* Called often (after each path, and as content arrives): the callee throttles its output. */
typedef void (*session_progress_fn)(void *arg, const struct session_progress *p);

struct session_result {
	char peer_name[REPLICA_NAME_MAX + 1];
	uint64_t peer_id;
	uint64_t files_in, files_out, bytes_in, bytes_out;
	uint64_t merged, conflicts, deleted, skipped, failed;
	uint64_t caps; /* what both sides agreed */
};

#endif
