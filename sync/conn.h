/*
 * A framed connection over a pair of file descriptors (a socket, pipes, a
 * child's stdio).  Output is buffered and written whole; input is read in
 * large blocks and cut into frames, each checked against PROTO_MAX_FRAME
 * before anything is allocated for it.  Before blocking on a read, pending
 * output is flushed; and while a write waits for room, whatever the peer
 * sends is read into the input buffer (up to CONN_MAX_PENDING), so two
 * peers writing at once never wait on each other.  The descriptors are
 * non-blocking while the connection lives.
 *
 * Bytes go through plain read(2)/write(2), or through a `conn_io` (TLS).
 * Once both peers agreed in their hellos, conn_compress() switches both
 * directions to a zstd stream: frames are compressed as they are flushed
 * and decompressed as they are read; bytes_in/bytes_out count what crossed
 * the wire.
 */
#ifndef MMSYNC_CONN_H
#define MMSYNC_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

#define CONN_MAX_PENDING (64u << 20) /* input read ahead while writing */

/* A byte stream over the connection's descriptor (rfd == wfd). */
struct conn_io {
	/* As read(2) and write(2): -1 with errno EAGAIN when it cannot go on now. */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	/* After an EAGAIN: the poll(2) events it waits for (a TLS read may need to write). */
	short (*wants)(void *ctx);
	void *ctx;
};

struct conn_zstd;

struct conn {
	int rfd, wfd;
	int rflags, wflags; /* file status flags to restore */
	struct wbuf out;
	uint8_t *in;
	size_t in_len, in_off, in_cap;
	uint64_t bytes_in, bytes_out;
	int timeout_ms;           /* per read or write; -1 waits for ever */
	int64_t deadline;         /* CLOCK_MONOTONIC milliseconds when the whole run must end; 0: none */
	const struct conn_io *io; /* NULL: read(2)/write(2) */
	struct conn_zstd *z;      /* set by conn_compress() */
	char peer[128];           /* for messages */
	int gone;                 /* the peer closed or reset the connection */
};

/* Sets up `c` on `rfd`/`wfd` (not owned: the caller closes them). */
int conn_init(struct conn *c, int rfd, int wfd, const char *peer);
void conn_dispose(struct conn *c);
/*
 * From now on, compresses what is flushed and decompresses what is read
 * (bytes already read ahead are taken as compressed).  `level`: zstd's.
 */
int conn_compress(struct conn *c, int level);
/* Milliseconds on CLOCK_MONOTONIC (for `deadline`). */
int64_t conn_now_ms(void);
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
