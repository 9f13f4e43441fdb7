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
/* Receives the peer's changes and applies them. */
int receive_phase(struct session *ss);

#endif
