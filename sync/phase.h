/*
 * The two transfer roles (sender.c, receiver*.c) and the small context they
 * run in.  The session (session.c) and the bundle writer (bundle.c) build a
 * struct phase; the phases know nothing else of them.
 */
#ifndef MMSYNC_PHASE_H
#define MMSYNC_PHASE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "report.h"

struct conn;
struct ignore;
struct replica;

struct phase {
	struct replica *r;
	struct conn *c;
	char **filters; /* the PATH limits in force (none: the whole tree) */
	size_t nfilters;
	session_event_fn on_event;       /* may be NULL */
	session_progress_fn on_progress; /* may be NULL */
	void *arg;                       /* for both */
	struct session_result *res;      /* counts go here */
	/* what the peer said of itself in its hello */
	uint64_t peer_id;
	uint64_t peer_index_id;
	char peer_name[REPLICA_NAME_MAX + 1];
};

/*
 * Every field zero (no filters, no callbacks, no peer) but these: the one
 * way to start a struct phase, so that a field added later is never left
 * uninitialised.
 */
void phase_init(struct phase *ph, struct replica *r, struct conn *c, struct session_result *res);
/* Takes the peer's fields from its hello (the strings are copied). */
void phase_set_peer(struct phase *ph, const struct msg_hello *peer);

/* 1 when `path` is at or beneath one of the filters (or there are none). */
int phase_in_filters(const struct phase *ph, const char *path);
/* Tells the event sink, if any. */
void phase_event(const struct phase *ph, enum session_event ev, const char *path, const char *detail);
/* The name of replica `id` for labels, copies and REPLICA frames (its id in hex when it has none). */
void phase_writer_name(const struct phase *ph, uint64_t id, char name[REPLICA_NAME_MAX + 1]);

/* Sends this replica's changes that the peer lacks. */
int send_phase(struct phase *ph);
/*
 * The index delta: REPLICA and ROW frames for this replica's rows changed
 * after `since` (in the filters, not ignored, not from the peer itself),
 * then INDEX_END with the last sequence number, which goes to *sent_to.
 */
int sender_index(struct phase *ph, uint64_t since, struct ignore *ig, uint64_t *sent_to);
/* Queues the content read from `fd` as DATA frames (not DATA_END); the byte count goes to *total. */
int sender_stream(struct conn *c, int fd, const char *what, uint64_t *total);
/* Receives the peer's changes and applies them. */
int receive_phase(struct phase *ph);

#endif
