/* Internal to the session: the two transfer roles (sender.c, receiver.c). */
#ifndef MMSYNC_PHASE_H
#define MMSYNC_PHASE_H

#include "session.h"

struct session {
	struct replica *r;
	struct conn *c;
	const struct session_opts *o;
	struct msg_hello peer;     /* what the peer said of itself */
	char **filters;            /* the PATH limits in force (client's, sent in its hello) */
	size_t nfilters;
	struct session_result *res;
};

/* 1 when `path` is at or beneath one of the filters (or there are none). */
int session_in_filters(const struct session *ss, const char *path);
void session_event(const struct session *ss, enum session_event ev, const char *path, const char *detail);

/* Sends this replica's changes that the peer lacks. */
int send_phase(struct session *ss);
struct ignore;
/*
 * The index delta: REPLICA and ROW frames for this replica's rows changed
 * after `since` (in the filters, not ignored, not from the peer itself),
 * then INDEX_END with the last sequence number, which goes to *sent_to.
 */
int sender_index(struct session *ss, uint64_t since, struct ignore *ig, uint64_t *sent_to);
/* Queues the content read from `fd` as DATA frames (not DATA_END); the byte count goes to *total. */
int sender_stream(struct conn *c, int fd, const char *what, uint64_t *total);
/* Receives the peer's changes and applies them. */
int receive_phase(struct session *ss);

#endif
