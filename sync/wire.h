/*
 * Byte encoding helpers for the protocol: big-endian fixed-width integers
 * into a growable buffer, and a bounds-checked reader that latches the
 * first error (so a decoder checks once at the end, never reads past it).
 */
#ifndef MMSYNC_WIRE_H
#define MMSYNC_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int oom; /* set when a put could not grow the buffer */
};

void wbuf_init(struct wbuf *b);
void wbuf_dispose(struct wbuf *b);
void wbuf_reset(struct wbuf *b);
/* Makes room for `n` more bytes and returns where they go (NULL when out of memory). */
uint8_t *wbuf_grow(struct wbuf *b, size_t n);
void put_u8(struct wbuf *b, uint8_t v);
void put_u16(struct wbuf *b, uint16_t v);
void put_u32(struct wbuf *b, uint32_t v);
void put_u64(struct wbuf *b, uint64_t v);
void put_bytes(struct wbuf *b, const void *p, size_t n);
/* A u16 length and the bytes (n must fit in 16 bits). */
void put_str16(struct wbuf *b, const void *p, size_t n);

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	int bad; /* set by the first read past the end or bad length */
};

void rbuf_init(struct rbuf *r, const void *p, size_t len);
uint8_t get_u8(struct rbuf *r);
uint16_t get_u16(struct rbuf *r);
uint32_t get_u32(struct rbuf *r);
uint64_t get_u64(struct rbuf *r);
/* A pointer to the next `n` bytes (NULL, and bad set, when fewer remain). */
const uint8_t *get_bytes(struct rbuf *r, size_t n);
/* A u16 length (at most `max`) and the bytes; the length goes to *n. */
const uint8_t *get_str16(struct rbuf *r, size_t max, size_t *n);
/* 1 when every byte was read and nothing went wrong. */
int rbuf_done(const struct rbuf *r);

#endif
