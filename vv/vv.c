/* Version vectors: see vv.h for the contract. */
#include "vv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vv_init(struct vv *v)
{
	v->e = NULL;
	v->n = 0;
	v->cap = 0;
}

void vv_dispose(struct vv *v)
{
	free(v->e);
	vv_init(v);
}

void vv_clear(struct vv *v)
{
	v->n = 0;
}

static int vv_reserve(struct vv *v, size_t need)
{
	struct vv_entry *e;
	size_t cap;

	/* The bound holds whatever room a merge left. */
	if (need > VV_MAX_ENTRIES)
		return VV_ETOOBIG;
	if (need <= v->cap)
		return 0;
	cap = v->cap ? v->cap * 2 : 4;
	while (cap < need)
		cap *= 2;
	e = realloc(v->e, cap * sizeof(*e));
	if (!e)
		return VV_ENOMEM;
	v->e = e;
	v->cap = cap;
	return 0;
}

int vv_copy(struct vv *out, const struct vv *src)
{
	int err;

	if (out == src)
		return 0;
	if ((err = vv_reserve(out, src->n)) < 0)
		return err;
	if (src->n)
		memcpy(out->e, src->e, src->n * sizeof(*src->e));
	out->n = src->n;
	return 0;
}

/* Index of the first entry with id >= `id`. */
static size_t vv_lower_bound(const struct vv *v, uint64_t id)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->e[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t vv_get(const struct vv *v, uint64_t id)
{
	size_t i = vv_lower_bound(v, id);

	return (i < v->n && v->e[i].id == id) ? v->e[i].counter : 0;
}

int vv_set(struct vv *v, uint64_t id, uint64_t counter)
{
	size_t i;
	int err;

	if (id == 0)
		return VV_EINVAL;
	i = vv_lower_bound(v, id);
	if (i < v->n && v->e[i].id == id) {
		if (counter) {
			v->e[i].counter = counter;
		} else {
			memmove(&v->e[i], &v->e[i + 1], (v->n - i - 1) * sizeof(*v->e));
			v->n--;
		}
		return 0;
	}
	if (counter == 0)
		return 0;
	if ((err = vv_reserve(v, v->n + 1)) < 0)
		return err;
	memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof(*v->e));
	v->e[i].id = id;
	v->e[i].counter = counter;
	v->n++;
	return 0;
}

int vv_bump(struct vv *v, uint64_t id, uint64_t floor, uint64_t *out)
{
	uint64_t cur = vv_get(v, id), next;
	int err;

	if (id == 0)
		return VV_EINVAL;
	if (cur == UINT64_MAX)
		return VV_ETOOBIG;
	next = cur + 1 > floor ? cur + 1 : floor;
	if ((err = vv_set(v, id, next)) < 0)
		return err;
	if (out)
		*out = next;
	return 0;
}

int vv_merge(struct vv *into, const struct vv *other)
{
	struct vv_entry *res;
	size_t i = 0, j = 0, k = 0, cap;

	if (into == other || other->n == 0)
		return 0;
	cap = into->n + other->n;
	res = malloc(cap * sizeof(*res));
	if (!res)
		return VV_ENOMEM;
	while (i < into->n || j < other->n) {
		if (j == other->n || (i < into->n && into->e[i].id < other->e[j].id)) {
			res[k++] = into->e[i++];
		} else if (i == into->n || other->e[j].id < into->e[i].id) {
			res[k++] = other->e[j++];
		} else {
			res[k] = into->e[i];
			if (other->e[j].counter > res[k].counter)
				res[k].counter = other->e[j].counter;
			k++, i++, j++;
		}
	}
	if (k > VV_MAX_ENTRIES) {
		free(res);
		return VV_ETOOBIG;
	}
	free(into->e);
	into->e = res;
	into->n = k;
	into->cap = cap;
	return 0;
}

enum vv_order vv_compare(const struct vv *a, const struct vv *b)
{
	size_t i = 0, j = 0;
	int a_more = 0, b_more = 0;

	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->e[i].id < b->e[j].id)) {
			a_more = 1;
			i++;
		} else if (i == a->n || b->e[j].id < a->e[i].id) {
			b_more = 1;
			j++;
		} else {
			if (a->e[i].counter > b->e[j].counter)
				a_more = 1;
			else if (a->e[i].counter < b->e[j].counter)
				b_more = 1;
			i++, j++;
		}
		if (a_more && b_more)
			return VV_CONCURRENT;
	}
	if (a_more)
		return VV_DOMINATES;
	return b_more ? VV_DOMINATED : VV_EQUAL;
}

int vv_covers(const struct vv *a, const struct vv *b)
{
	enum vv_order o = vv_compare(a, b);

	return o == VV_EQUAL || o == VV_DOMINATES;
}

uint64_t vv_max_counter(const struct vv *v)
{
	uint64_t max = 0;

	for (size_t i = 0; i < v->n; i++)
		if (v->e[i].counter > max)
			max = v->e[i].counter;
	return max;
}

static size_t uvarint_size(uint64_t x)
{
	size_t n = 1;

	while (x >= 0x80) {
		x >>= 7;
		n++;
	}
	return n;
}

static size_t uvarint_put(uint8_t *p, uint64_t x)
{
	size_t n = 0;

	while (x >= 0x80) {
		p[n++] = (uint8_t) (x | 0x80);
		x >>= 7;
	}
	p[n++] = (uint8_t) x;
	return n;
}

/* Reads a minimal uvarint; 0 or a VV_E* code. */
static int uvarint_get(uint64_t *out, const uint8_t *p, size_t len, size_t *used)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < 10; i++) {
		if (i == len)
			return VV_ETRUNC;
		uint8_t b = p[i];
		if (i == 9 && b > 1)
			return VV_EFORMAT; /* more than 64 bits */
		x |= (uint64_t) (b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return VV_EFORMAT; /* overlong */
			*out = x;
			*used = i + 1;
			return 0;
		}
	}
	return VV_EFORMAT;
}

size_t vv_encoded_size(const struct vv *v)
{
	size_t n = uvarint_size(v->n);

	for (size_t i = 0; i < v->n; i++)
		n += 8 + uvarint_size(v->e[i].counter);
	return n;
}

int vv_encode(uint8_t *buf, size_t size, size_t *len, const struct vv *v)
{
	size_t need = vv_encoded_size(v), off;

	if (need > size)
		return VV_ESPACE;
	off = uvarint_put(buf, v->n);
	for (size_t i = 0; i < v->n; i++) {
		uint64_t id = v->e[i].id;
		for (int b = 0; b < 8; b++)
			buf[off++] = (uint8_t) (id >> (8 * b));
		off += uvarint_put(buf + off, v->e[i].counter);
	}
	*len = off;
	return 0;
}

int vv_decode_prefix(struct vv *out, const uint8_t *buf, size_t len, size_t *used)
{
	uint64_t count;
	size_t off, u;
	int err;

	vv_clear(out);
	if ((err = uvarint_get(&count, buf, len, &u)) < 0)
		return err;
	off = u;
	if (count > VV_MAX_ENTRIES)
		return VV_ETOOBIG;
	if ((err = vv_reserve(out, (size_t) count)) < 0)
		return err;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t id = 0, counter;
		if (len - off < 8) {
			err = VV_ETRUNC;
			goto fail;
		}
		for (int b = 0; b < 8; b++)
			id |= (uint64_t) buf[off + b] << (8 * b);
		off += 8;
		if ((err = uvarint_get(&counter, buf + off, len - off, &u)) < 0)
			goto fail;
		off += u;
		if (id == 0 || counter == 0 || (out->n && id <= out->e[out->n - 1].id)) {
			err = VV_EFORMAT;
			goto fail;
		}
		out->e[out->n].id = id;
		out->e[out->n].counter = counter;
		out->n++;
	}
	*used = off;
	return 0;
fail:
	vv_clear(out);
	return err;
}

int vv_decode(struct vv *out, const uint8_t *buf, size_t len)
{
	size_t used;
	int err = vv_decode_prefix(out, buf, len, &used);

	if (err == 0 && used != len) {
		vv_clear(out);
		return VV_ETRAILING;
	}
	return err;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void vv_id_format(char out[VV_ID_TEXT], uint64_t id)
{
	/* 64 bits as 13 groups of 5, the last padded with one zero bit. */
	for (int i = 0; i < 12; i++)
		out[i] = b32[(id >> (59 - 5 * i)) & 31];
	out[12] = b32[(id << 1) & 31];
	out[13] = '\0';
}

int vv_id_parse(uint64_t *out, const char *text)
{
	uint64_t id = 0;

	for (int i = 0; i < 13; i++) {
		char c = text[i];
		int d;
		if (c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= '2' && c <= '7')
			d = c - '2' + 26;
		else
			return VV_EFORMAT;
		if (i < 12) {
			id = (id << 5) | (uint64_t) d;
		} else {
			if (d & 1)
				return VV_EFORMAT; /* the pad bit must be zero */
			id = (id << 4) | (uint64_t) (d >> 1);
		}
	}
	if (text[13] != '\0' || id == 0)
		return VV_EFORMAT;
	*out = id;
	return 0;
}

int vv_format(char *buf, size_t size, const struct vv *v)
{
	size_t off = 0;
	int n;

	if (size == 0)
		return VV_ESPACE;
	buf[0] = '\0';
	n = snprintf(buf, size, "{");
	if (n < 0 || (size_t) n >= size)
		return VV_ESPACE;
	off = (size_t) n;
	for (size_t i = 0; i < v->n; i++) {
		char id[VV_ID_TEXT];
		vv_id_format(id, v->e[i].id);
		n = snprintf(buf + off, size - off, "%s%s:%llu", i ? ", " : "", id,
		             (unsigned long long) v->e[i].counter);
		if (n < 0 || (size_t) n >= size - off)
			return VV_ESPACE;
		off += (size_t) n;
	}
	n = snprintf(buf + off, size - off, "}");
	if (n < 0 || (size_t) n >= size - off)
		return VV_ESPACE;
	return 0;
}
