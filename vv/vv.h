/*
 * Version vectors: a pure library with no I/O.
 *
 * A version vector maps replica ids (non-zero 64-bit integers) to counters
 * (non-zero 64-bit integers).  It is kept as an array of entries sorted by
 * id, with no duplicate id and no zero counter; every function here keeps
 * that invariant and every function that reads external bytes checks it.
 *
 * Ownership: a `struct vv` is owned by the caller; `vv_init` makes an empty
 * one, `vv_dispose` frees what it holds.  Functions return 0 or a negative
 * VV_E* code and never print or exit.
 */
#ifndef MMSYNC_VV_H
#define MMSYNC_VV_H

#include <stddef.h>
#include <stdint.h>

/* The largest number of entries a vector may hold (bounds the decoder). */
#define VV_MAX_ENTRIES 4096
/* The largest canonical encoding: count varint + (8 + 10) bytes per entry. */
#define VV_MAX_ENCODED (10 + VV_MAX_ENTRIES * 18)

enum vv_error {
	VV_ENOMEM = -1,    /* out of memory */
	VV_EINVAL = -2,    /* bad argument: zero id, zero counter, ... */
	VV_ETRUNC = -3,    /* decoder: input ends inside the encoding */
	VV_EFORMAT = -4,   /* decoder: not canonical (order, duplicate, zero, overlong varint) */
	VV_ETOOBIG = -5,   /* decoder: count past VV_MAX_ENTRIES; bump: counter would overflow */
	VV_ETRAILING = -6, /* decoder: bytes left after the encoding */
	VV_ESPACE = -7     /* encoder/formatter: output buffer too small */
};

enum vv_order {
	VV_EQUAL = 0,     /* same entries */
	VV_DOMINATES = 1, /* a >= b everywhere, > somewhere: a descends from b */
	VV_DOMINATED = 2, /* b dominates a */
	VV_CONCURRENT = 3 /* neither: concurrent histories */
};

struct vv_entry {
	uint64_t id;
	uint64_t counter;
};

struct vv {
	struct vv_entry *e; /* sorted by id, strictly increasing */
	size_t n;
	size_t cap;
};

#define VV_INIT                                                                                                        \
	{                                                                                                              \
		NULL, 0, 0                                                                                             \
	}

/* Makes `v` empty. */
void vv_init(struct vv *v);
/* Frees what `v` holds and leaves it empty (safe to call twice). */
void vv_dispose(struct vv *v);
/* Makes `out` (initialised) a copy of `src`. */
int vv_copy(struct vv *out, const struct vv *src);
/* Empties `v`, keeping its storage. */
void vv_clear(struct vv *v);

/* The counter for `id`, 0 when absent. */
uint64_t vv_get(const struct vv *v, uint64_t id);
/* Sets the counter for `id` (0 removes the entry). */
int vv_set(struct vv *v, uint64_t id, uint64_t counter);
/*
 * Records a new local change by replica `id`: its counter becomes
 * max(current + 1, floor).  `floor` is the replica-wide counter, so the
 * result is also the new value of that counter; it is returned in *out
 * when `out` is not NULL.
 */
int vv_bump(struct vv *v, uint64_t id, uint64_t floor, uint64_t *out);
/* `into` becomes the element-wise maximum of `into` and `other`. */
int vv_merge(struct vv *into, const struct vv *other);
/* How `a` stands to `b`. */
enum vv_order vv_compare(const struct vv *a, const struct vv *b);
/* 1 when a descends from or equals b (a >= b everywhere). */
int vv_covers(const struct vv *a, const struct vv *b);
/* The largest counter of any entry (0 for an empty vector). */
uint64_t vv_max_counter(const struct vv *v);

/*
 * Canonical binary encoding: uvarint count, then per entry (in id order) the
 * id as 8 bytes little-endian and the counter as a minimal uvarint.
 * vv_encoded_size() gives the exact size; vv_encode writes it to buf and
 * stores the size in *len, or returns VV_ESPACE.
 */
size_t vv_encoded_size(const struct vv *v);
int vv_encode(uint8_t *buf, size_t size, size_t *len, const struct vv *v);
/*
 * Strict decoder: `out` (initialised) receives the vector encoded in exactly
 * `len` bytes at `buf`.  Rejects truncation, trailing bytes, unsorted or
 * duplicate ids, zero ids or counters, overlong varints and counts past
 * VV_MAX_ENTRIES.  On error `out` is left empty.
 */
int vv_decode(struct vv *out, const uint8_t *buf, size_t len);
/*
 * Like vv_decode, but the vector may be followed by more bytes: the number
 * of bytes used is stored in *used.
 */
int vv_decode_prefix(struct vv *out, const uint8_t *buf, size_t len, size_t *used);

/*
 * Replica ids in text: 13 characters of RFC 4648 base32 (upper case, no
 * padding), the id read as a big-endian 64-bit number.
 */
#define VV_ID_TEXT 14 /* 13 characters and the NUL */
void vv_id_format(char out[VV_ID_TEXT], uint64_t id);
/* Parses what vv_id_format writes (case-insensitive); VV_EFORMAT otherwise. */
int vv_id_parse(uint64_t *out, const char *text);

/*
 * A readable form for logs: "{ID:COUNTER, ID:COUNTER}" with ids as above,
 * "{}" when empty.  Writes at most `size` bytes including the NUL; returns
 * VV_ESPACE (with a truncated, terminated string) when it does not fit.
 */
int vv_format(char *buf, size_t size, const struct vv *v);

#endif
