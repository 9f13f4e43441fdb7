/*
 * A framed connection over a pair of file descriptors (a socket, pipes, a
 * child's stdio).  Output is buffered and written whole; input is read in
 * large blocks and cut into frames, each checked against PROTO_MAX_FRAME
 * before anything is allocated for it.  Before blocking on a read, pending
 * output is flushed; and while a write waits for room, whatever the peer
 * sends is read into the input buffer (up to CONN_MAX_PENDING), so two
 * peers writing at once never wait on each other.  The descriptors are
 * non-blocking while the connection lives.
 */
#ifndef MMSYNC_CONN_H
#define MMSYNC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define CONN_MAX_PENDING (64u << 20) /* input read ahead while writing */

struct conn {
	int rfd, wfd;
	int rflags, wflags; /* file status flags to restore */
	struct wbuf out;
	uint8_t *in;
	size_t in_len, in_off, in_cap;
	uint64_t bytes_in, bytes_out;
	int timeout_ms;   /* per read or write; -1 waits for ever */
	char peer[128];   /* for messages */
};

/* Sets up `c` on `rfd`/`wfd` (not owned: the caller closes them). */
int conn_init(struct conn *c, int rfd, int wfd, const char *peer);
void conn_dispose(struct conn *c);
/* Writes all buffered output. */
int conn_flush(struct conn *c);
/* Flushes when more than `threshold` bytes are buffered. */
int conn_flush_over(struct conn *c, size_t threshold);
/*
 * Reads the next frame: its type and payload (valid until the next call).
 * An ERROR frame from the peer is returned as MM_ERROR with its message.
 */
int conn_recv(struct conn *c, int *type, const uint8_t **payload, size_t *len);
/* Reads the next frame and fails unless it is of type `want`. */
int conn_expect(struct conn *c, int want, const uint8_t **payload, size_t *len);

#endif
