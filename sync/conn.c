/* Framed connections: see conn.h. */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "proto.h"

#define CONN_READ_BLOCK (256 * 1024)

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

void conn_dispose(struct conn *c)
{
	if (c->rflags >= 0)
		fcntl(c->rfd, F_SETFL, c->rflags);
	if (c->wflags >= 0 && c->wfd != c->rfd)
		fcntl(c->wfd, F_SETFL, c->wflags);
	wbuf_dispose(&c->out);
	free(c->in);
	c->in = NULL;
}

/* Waits until `fd` is ready for `events`, within the timeout. */
static int wait_fd(struct conn *c, int fd, short events)
{
	struct pollfd p = {fd, events, 0};
	int rc;

	do
		rc = poll(&p, 1, c->timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return mm_error_set(MM_EIO, "peer '%s' did not answer for %.1f seconds", c->peer,
				    (double)c->timeout_ms / 1000.0);
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

/* Reads what is there (never blocks): 1 read something, 0 nothing yet, <0 error or end of stream. */
static int read_some(struct conn *c)
{
	int err;

	if ((err = in_reserve(c, CONN_READ_BLOCK)) < 0)
		return err;
	for (;;) {
		ssize_t n = read(c->rfd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return mm_error_errno(MM_EIO, errno, "cannot read from peer '%s'", c->peer);
		if (n == 0)
			return mm_error_set(MM_EIO, "peer '%s' closed the connection%s", c->peer,
					    c->in_len > c->in_off ? " in the middle of a message" : "");
		c->in_len += (size_t)n;
		c->bytes_in += (uint64_t)n;
		return 1;
	}
}

int conn_flush(struct conn *c)
{
	size_t off = 0;
	int err;

	if (c->out.oom)
		return mm_error_oom();
	while (off < c->out.len) {
		ssize_t n = write(c->wfd, c->out.p + off, c->out.len - off);
		if (n > 0) {
			off += (size_t)n;
			c->bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return mm_error_errno(MM_EIO, errno, "cannot send to peer '%s'", c->peer);
		/* no room: wait for room, and take in what the peer sends meanwhile */
		struct pollfd p[2] = {{c->wfd, POLLOUT, 0}, {c->rfd, POLLIN, 0}};
		int np = c->in_len - c->in_off < CONN_MAX_PENDING ? 2 : 1, rc;
		if (c->rfd == c->wfd && np == 2) {
			p[0].events |= POLLIN;
			np = 1;
		}
		do
			rc = poll(p, (nfds_t)np, c->timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0)
			return mm_error_set(MM_EIO, "peer '%s' did not answer for %.1f seconds (it takes no data)", c->peer,
					    (double)c->timeout_ms / 1000.0);
		if (rc < 0)
			return mm_error_errno(MM_EIO, errno, "peer '%s'", c->peer);
		if (((p[0].revents & POLLIN) || (np == 2 && (p[1].revents & (POLLIN | POLLHUP)))) &&
		    c->in_len - c->in_off < CONN_MAX_PENDING) {
			/* an end of stream here is reported when the frames are read */
			if ((err = read_some(c)) < 0 && err != MM_EIO)
				return err;
		}
	}
	wbuf_reset(&c->out);
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
	n = (uint32_t)c->in[c->in_off] << 24 | (uint32_t)c->in[c->in_off + 1] << 16 |
	    (uint32_t)c->in[c->in_off + 2] << 8 | c->in[c->in_off + 3];
	if (n == 0 || n > PROTO_MAX_FRAME)
		return mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent a frame of %u bytes", c->peer, n);
	if ((err = fill(c, 4 + (size_t)n)) < 0)
		return err;
	*type = c->in[c->in_off + 4];
	*payload = c->in + c->in_off + 5;
	*len = n - 1;
	c->in_off += 4 + (size_t)n;
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
