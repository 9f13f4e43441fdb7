/* Byte encoding helpers: see wire.h. */
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void wbuf_init(struct wbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void wbuf_dispose(struct wbuf *b)
{
	free(b->p);
	wbuf_init(b);
}

void wbuf_reset(struct wbuf *b)
{
	b->len = 0;
	b->oom = 0;
}

uint8_t *wbuf_grow(struct wbuf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = 1; /* no buffer that large: fail like an allocation would */
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

void put_u8(struct wbuf *b, uint8_t v)
{
	uint8_t *p = wbuf_grow(b, 1);

	if (p)
		p[0] = v;
}

void put_u16(struct wbuf *b, uint16_t v)
{
	uint8_t *p = wbuf_grow(b, 2);

	if (p) {
		p[0] = (uint8_t) (v >> 8);
		p[1] = (uint8_t) v;
	}
}

void put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t *p = wbuf_grow(b, 4);

	if (p)
		for (int i = 0; i < 4; i++)
			p[i] = (uint8_t) (v >> (24 - 8 * i));
}

void put_u64(struct wbuf *b, uint64_t v)
{
	uint8_t *p = wbuf_grow(b, 8);

	if (p)
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t) (v >> (56 - 8 * i));
}

void put_bytes(struct wbuf *b, const void *src, size_t n)
{
	uint8_t *p = wbuf_grow(b, n);

	if (p && n)
		memcpy(p, src, n);
}

void put_str16(struct wbuf *b, const void *src, size_t n)
{
	put_u16(b, (uint16_t) n);
	put_bytes(b, src, n);
}

void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = 0;
}

const uint8_t *get_bytes(struct rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t get_u8(struct rbuf *r)
{
	const uint8_t *p = get_bytes(r, 1);

	return p ? p[0] : 0;
}

uint16_t get_u16(struct rbuf *r)
{
	const uint8_t *p = get_bytes(r, 2);

	return p ? (uint16_t) (p[0] << 8 | p[1]) : 0;
}

uint32_t get_u32(struct rbuf *r)
{
	const uint8_t *p = get_bytes(r, 4);
	uint32_t v = 0;

	if (p)
		for (int i = 0; i < 4; i++)
			v = v << 8 | p[i];
	return v;
}

uint64_t get_u64(struct rbuf *r)
{
	const uint8_t *p = get_bytes(r, 8);
	uint64_t v = 0;

	if (p)
		for (int i = 0; i < 8; i++)
			v = v << 8 | p[i];
	return v;
}

const uint8_t *get_str16(struct rbuf *r, size_t max, size_t *n)
{
	size_t len = get_u16(r);

	*n = 0;
	if (r->bad || len > max) {
		r->bad = 1;
		return NULL;
	}
	*n = len;
	return get_bytes(r, len);
}

int rbuf_done(const struct rbuf *r)
{
	return !r->bad && r->off == r->len;
}
