/*
 * Starting the stream to a peer, once the command line has resolved what
 * the user typed into a URL: a local replica (this program run again as
 * `serve --stdio` there), an ssh peer, a TLS server (whose certificate must
 * match the pin), or a bundle file (checked whole, then served by a child
 * process playing its author's side).  Child processes are tracked for
 * transport_kill_all().  Messages name the peer and are ready to print.
 */
#ifndef MMSYNC_PEER_START_H
#define MMSYNC_PEER_START_H

#include <stdint.h>

#include "transport.h"

struct bundle;
struct replica;
struct url;

/* The bundle child's exit status after a failure: the one of a served peer's mmsync (EXIT_FAILED). */
#define PEER_CHILD_FAILED 3

struct peer_start_opts {
	const char *label;          /* the peer as the user typed it, for messages */
	const char *url_text;       /* the URL it stands for, for messages */
	const struct url *url;      /* a local path made absolute; a bundle's path as typed */
	const char *pin;            /* TLS: the server's expected fingerprint, "" when none */
	const struct ssh_opts *ssh; /* ssh peers */
	int quiet;                  /* local peers: their mmsync runs with -q */
	int is_bundle;              /* url->path is a bundle file (bundle apply) */
	/* In the bundle's child, when its side failed other than by the session's end: why. */
	void (*on_bundle_error)(void *arg, const char *msg);
	void *arg;
};

/*
 * Starts *t to the peer of `o` for the replica `r` (locked), the TLS
 * connection and handshake before `deadline` (0: none).  A bundle is read
 * and checked into *bundle first (the caller frees it with bundle_free(b,
 * 1); NULL when this fails).  On failure *t is closed (a TLS server that
 * does not match the pin is told why first) and the message says why.
 */
int peer_start(struct transport *t, struct bundle **bundle, struct replica *r, const struct peer_start_opts *o,
               int64_t deadline);

#endif
