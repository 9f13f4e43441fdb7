/* Framed connections: see conn.h. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "error.h"
#include "proto.h"

#define CONN_READ_BLOCK          (256 * 1024)
#define CONN_ZSTD_WINDOW_LOG_MAX 23 /* a peer cannot make us hold more than 8 MiB of window */

/* The compressed side of a connection: raw bytes read but not yet decompressed, and the encoder's output. */
struct conn_zstd {
	ZSTD_CCtx *cc;
	ZSTD_DCtx *dc;
	uint8_t *raw;
	size_t raw_len, raw_off, raw_cap;
	int dc_full;  /* the decoder filled its output last time: it may hold more */
	int at_frame; /* the next raw byte starts a zstd frame: its magic number is checked */
	struct wbuf wire;
};

int64_t conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The poll timeout: the idle limit, cut short by the run's deadline. */
static int poll_ms(const struct conn *c)
{
	int64_t left;

	if (!c->deadline)
		return c->timeout_ms;
	left = c->deadline - conn_now_ms();
	if (left < 0)
		left = 0;
	return c->timeout_ms >= 0 && c->timeout_ms < left ? c->timeout_ms : (int) (left > INT32_MAX ? INT32_MAX : left);
}

/* The error for a poll that timed out. */
static int timed_out(const struct conn *c, const char *what)
{
	if (c->deadline && conn_now_ms() >= c->deadline)
		return mm_error_set(MM_EIO, "timed out: the run's time limit was reached while waiting for peer '%s'",
		                    c->peer);
	return mm_error_set(MM_EIO, "timed out: peer '%s' did not answer for %.1f seconds%s", c->peer,
	                    (double) c->timeout_ms / 1000.0, what);
}

static ssize_t io_read(struct conn *c, void *buf, size_t len)
{
	return c->io ? c->io->read(c->io->ctx, buf, len) : read(c->rfd, buf, len);
}

static ssize_t io_write(struct conn *c, const void *buf, size_t len)
{
	return c->io ? c->io->write(c->io->ctx, buf, len) : write(c->wfd, buf, len);
}

int conn_init(struct conn *c, int rfd, int wfd, const char *peer)
{
	memset(c, 0, sizeof(*c));
	c->rfd = rfd;
	c->wfd = wfd;
	c->timeout_ms = -1;
	wbuf_init(&c->out);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	/* A vanished peer is an error to report, not a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);
	c->rflags = fcntl(rfd, F_GETFL);
	c->wflags = rfd == wfd ? c->rflags : fcntl(wfd, F_GETFL);
	if (c->rflags >= 0)
		fcntl(rfd, F_SETFL, c->rflags | O_NONBLOCK);
	if (c->wflags >= 0 && wfd != rfd)
		fcntl(wfd, F_SETFL, c->wflags | O_NONBLOCK);
	return 0;
}

static void zstd_free(struct conn_zstd *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->cc);
	ZSTD_freeDCtx(z->dc);
	free(z->raw);
	wbuf_dispose(&z->wire);
	free(z);
}

int conn_compress(struct conn *c, int level)
{
	struct conn_zstd *z = calloc(1, sizeof(*z));
	size_t left = c->in_len - c->in_off;

	if (!z)
		return mm_error_oom();
	wbuf_init(&z->wire);
	z->cc = ZSTD_createCCtx();
	z->dc = ZSTD_createDCtx();
	z->raw_cap = left > CONN_READ_BLOCK ? left : CONN_READ_BLOCK;
	z->raw = malloc(z->raw_cap);
	if (!z->cc || !z->dc || !z->raw ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z->cc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(z->dc, ZSTD_d_windowLogMax, CONN_ZSTD_WINDOW_LOG_MAX))) {
		zstd_free(z);
		return mm_error_oom();
	}
	/* what was read ahead of the switch is already compressed */
	if (left)
		memcpy(z->raw, c->in + c->in_off, left);
	z->raw_len = left;
	z->at_frame = 1;
	c->in_len = c->in_off = 0;
	c->z = z;
	return 0;
}

void conn_dispose(struct conn *c)
{
	if (c->rflags >= 0)
		fcntl(c->rfd, F_SETFL, c->rflags);
	if (c->wflags >= 0 && c->wfd != c->rfd)
		fcntl(c->wfd, F_SETFL, c->wflags);
	wbuf_dispose(&c->out);
	free(c->in);
	c->in = NULL;
	zstd_free(c->z);
	c->z = NULL;
}

/* Waits until `fd` is ready for `events`, within the timeout. */
static int wait_fd(struct conn *c, int fd, short events)
{
	struct pollfd p = {fd, c->io && c->io->wants ? c->io->wants(c->io->ctx) : events, 0};
	int rc;

	do
		rc = poll(&p, 1, poll_ms(c));
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return timed_out(c, "");
	return rc < 0 ? mm_error_errno(MM_EIO, errno, "peer '%s'", c->peer) : 0;
}

/* Makes room for `need` more bytes of input. */
static int in_reserve(struct conn *c, size_t need)
{
	if (c->in_off && c->in_len + need > c->in_cap) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len + need > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : CONN_READ_BLOCK;
		while (cap < c->in_len + need)
			cap *= 2;
		uint8_t *p = realloc(c->in, cap);
		if (!p)
			return mm_error_oom();
		c->in = p;
		c->in_cap = cap;
	}
	return 0;
}

/* Reads raw bytes into buf (never blocks): >0 bytes, 0 nothing yet, <0 error or end of stream. */
static ssize_t read_raw(struct conn *c, void *buf, size_t len, int mid_message)
{
	for (;;) {
		ssize_t n = io_read(c, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			c->gone = errno == ECONNRESET;
			return mm_error_errno(MM_EIO, errno, "cannot read from peer '%s'", c->peer);
		}
		if (n == 0) {
			c->gone = 1;
			return mm_error_set(MM_EIO, "peer '%s' closed the connection%s", c->peer,
			                    mid_message ? " in the middle of a message" : "");
		}
		c->bytes_in += (uint64_t) n;
		return n;
	}
}

/*
 * A zstd frame of today's format, or a skippable one.  libzstd also decodes
 * the legacy formats of zstd 0.x, from older and less tested code, and
 * whether it tries them depends on how the reads cut the stream (found by
 * fuzzing): no peer of ours sends them.
 */
static int zstd_magic_ok(const uint8_t *p)
{
	uint32_t m = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;

	return m == ZSTD_MAGICNUMBER || (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/* Decompresses what it can into c->in: 1 produced something, 0 needs more raw bytes, <0 corrupt. */
static int inflate_some(struct conn *c)
{
	struct conn_zstd *z = c->z;
	ZSTD_inBuffer ib = {z->raw, z->raw_len, z->raw_off};
	ZSTD_outBuffer ob = {c->in + c->in_len, c->in_cap - c->in_len, 0};
	size_t rc;

	if (z->raw_off == z->raw_len && !z->dc_full)
		return 0;
	/*
	 * A call that ends a zstd frame (or skips a skippable one) can use input
	 * and make nothing: go on while input is left, else those bytes would
	 * wait for more to arrive (found by fuzzing: tests/fuzz/regress/frame).
	 */
	do {
		size_t before = ib.pos;
		if (z->at_frame && ib.pos < ib.size) {
			if (ib.size - ib.pos < 4)
				break; /* the rest of the magic number is still to come */
			if (!zstd_magic_ok(z->raw + ib.pos))
				return mm_error_set(MM_ECORRUPT,
				                    "protocol error: the compressed stream from peer '%s' is corrupt "
				                    "(not a zstd frame)",
				                    c->peer);
		}
		rc = ZSTD_decompressStream(z->dc, &ob, &ib);
		if (ZSTD_isError(rc))
			return mm_error_set(MM_ECORRUPT,
			                    "protocol error: the compressed stream from peer '%s' is corrupt (%s)",
			                    c->peer, ZSTD_getErrorName(rc));
		z->at_frame = rc == 0; /* a frame ended (and all its output is out) */
		if (ib.pos == before)
			break;
	} while (ob.pos == 0 && ib.pos < ib.size);
	z->raw_off = ib.pos;
	z->dc_full = ob.pos == ob.size;
	c->in_len += ob.pos;
	return ob.pos > 0;
}

/* Reads what is there (never blocks): 1 read something, 0 nothing yet, <0 error or end of stream. */
static int read_some(struct conn *c)
{
	struct conn_zstd *z = c->z;
	ssize_t n;
	int err;

	if ((err = in_reserve(c, CONN_READ_BLOCK)) < 0)
		return err;
	if (!z) {
		n = read_raw(c, c->in + c->in_len, c->in_cap - c->in_len, c->in_len > c->in_off);
		if (n > 0)
			c->in_len += (size_t) n;
		return n > 0 ? 1 : (int) n;
	}
	for (;;) {
		if ((err = inflate_some(c)) != 0)
			return err;
		if (z->raw_off == z->raw_len) {
			z->raw_off = z->raw_len = 0;
		} else if (z->raw_off) {
			/* the first bytes of a frame's magic number wait for the rest */
			memmove(z->raw, z->raw + z->raw_off, z->raw_len - z->raw_off);
			z->raw_len -= z->raw_off;
			z->raw_off = 0;
		}
		if (z->raw_len == z->raw_cap) {
			/* the decoder took nothing from a full buffer: it cannot happen with output room */
			return mm_error_set(MM_ECORRUPT,
			                    "protocol error: the compressed stream from peer '%s' is corrupt", c->peer);
		}
		n = read_raw(c, z->raw + z->raw_len, z->raw_cap - z->raw_len, c->in_len > c->in_off || z->raw_len > 0);
		if (n <= 0)
			return (int) n;
		z->raw_len += (size_t) n;
	}
}

/* Compresses the buffered frames into z->wire, flushed so that the peer can decode all of them. */
static int deflate_out(struct conn *c)
{
	struct conn_zstd *z = c->z;
	ZSTD_inBuffer ib = {c->out.p, c->out.len, 0};
	size_t rc;

	do {
		size_t room = ZSTD_CStreamOutSize();
		uint8_t *p = wbuf_grow(&z->wire, room);
		if (!p)
			return mm_error_oom();
		ZSTD_outBuffer ob = {p, room, 0};
		rc = ZSTD_compressStream2(z->cc, &ob, &ib, ZSTD_e_flush);
		z->wire.len -= room - ob.pos; /* wbuf_grow counted all the room as used */
		if (ZSTD_isError(rc))
			return mm_error_set(MM_EIO, "cannot compress the stream to peer '%s': %s", c->peer,
			                    ZSTD_getErrorName(rc));
	} while (rc != 0 || ib.pos < ib.size);
	wbuf_reset(&c->out);
	return 0;
}

int conn_flush(struct conn *c)
{
	struct wbuf *b = &c->out;
	size_t off = 0;
	int err;

	if (c->out.oom)
		return mm_error_oom();
	if (c->z) {
		if (c->out.len && (err = deflate_out(c)) < 0)
			return err;
		b = &c->z->wire;
	}
	while (off < b->len) {
		ssize_t n = io_write(c, b->p + off, b->len - off);
		if (n > 0) {
			off += (size_t) n;
			c->bytes_out += (uint64_t) n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			c->gone = errno == EPIPE || errno == ECONNRESET;
			return mm_error_errno(MM_EIO, errno, "cannot send to peer '%s'", c->peer);
		}
		/* no room: wait for room, and take in what the peer sends meanwhile */
		struct pollfd p[2] = {{c->wfd, c->io && c->io->wants ? c->io->wants(c->io->ctx) : POLLOUT, 0},
		                      {c->rfd, POLLIN, 0}};
		int np = c->in_len - c->in_off < CONN_MAX_PENDING ? 2 : 1, rc;
		if (c->rfd == c->wfd && np == 2) {
			p[0].events |= POLLIN;
			np = 1;
		}
		do
			rc = poll(p, (nfds_t) np, poll_ms(c));
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			return timed_out(c, " (it takes no data)");
		if (rc < 0)
			return mm_error_errno(MM_EIO, errno, "peer '%s'", c->peer);
		if (((p[0].revents & POLLIN) || (np == 2 && (p[1].revents & (POLLIN | POLLHUP)))) &&
		    c->in_len - c->in_off < CONN_MAX_PENDING) {
			/* an end of stream here is reported when the frames are read */
			if ((err = read_some(c)) < 0 && err != MM_EIO)
				return err;
		}
	}
	wbuf_reset(b);
	return 0;
}

int conn_flush_over(struct conn *c, size_t threshold)
{
	return c->out.len > threshold || c->out.oom ? conn_flush(c) : 0;
}

/* Makes at least `need` unread bytes available; MM_EIO at end of stream. */
static int fill(struct conn *c, size_t need)
{
	int err;

	while (c->in_len - c->in_off < need) {
		if ((err = in_reserve(c, need - (c->in_len - c->in_off))) < 0)
			return err;
		if ((err = read_some(c)) < 0)
			return err;
		if (err == 0 && (err = wait_fd(c, c->rfd, POLLIN)) < 0)
			return err;
	}
	return 0;
}

/* Reads one frame (no flush first). */
static int read_frame(struct conn *c, int *type, const uint8_t **payload, size_t *len)
{
	uint32_t n;
	int err;

	if ((err = fill(c, 4)) < 0)
		return err;
	n = (uint32_t) c->in[c->in_off] << 24 | (uint32_t) c->in[c->in_off + 1] << 16 |
	    (uint32_t) c->in[c->in_off + 2] << 8 | c->in[c->in_off + 3];
	if (n == 0 || n > PROTO_MAX_FRAME)
		return mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent a frame of %u bytes", c->peer, n);
	if ((err = fill(c, 4 + (size_t) n)) < 0)
		return err;
	*type = c->in[c->in_off + 4];
	*payload = c->in + c->in_off + 5;
	*len = n - 1;
	c->in_off += 4 + (size_t) n;
	if (*type == MSG_ERROR) {
		char msg[PROTO_MAX_MSG + 1];
		if (proto_get_error(msg, *payload, *len) < 0)
			return MM_ECORRUPT;
		return mm_error_set(MM_ERROR, "peer '%s': %s", c->peer, msg);
	}
	return 0;
}

int conn_recv(struct conn *c, int *type, const uint8_t **payload, size_t *len)
{
	int err = conn_flush(c);

	if (err < 0) {
		/* a peer that refused and left may have said why: that is the better message */
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", mm_error_msg());
		if (read_frame(c, type, payload, len) == MM_ERROR)
			return MM_ERROR;
		mm_error_set(err, "%s", msg);
		return err;
	}
	return read_frame(c, type, payload, len);
}

int conn_expect(struct conn *c, int want, const uint8_t **payload, size_t *len)
{
	int type, err;

	if ((err = conn_recv(c, &type, payload, len)) < 0)
		return err;
	if (type != want)
		return mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' where '%s' was due", c->peer,
		                    proto_type_name(type), proto_type_name(want));
	return 0;
}
