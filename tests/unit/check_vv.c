/*
 * Unit tests for vv/: each function's contract case by case, then the
 * algebra and the codec on seeded random vectors checked against a naive
 * per-id model, then the strict decoder on hand-made and random bytes, then
 * the text forms.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"
#include "vv/vv.h"

/*
 * ck_assert reports its location to the runner on every pass (a syscall),
 * too slow for loops of thousands of checks; this costs nothing when `cond`
 * holds and names the failing iteration so that it can be replayed.
 */
#define REQUIRE(cond, it)                                                                                              \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg("'%s' failed at iteration %ld", #cond, (long) (it));                              \
	} while (0)

#define ID_HIGH ((uint64_t) 1 << 63)

/* Counters that exercise every varint length, collisions and the top. */
static uint64_t rand_counter(struct rng *r)
{
	switch (rng_below(r, 8)) {
	case 0:
	case 1:
	case 2: return 0; /* absent */
	case 3:
	case 4: return 1 + rng_below(r, 4);
	case 5: return UINT64_MAX - rng_below(r, 3);
	case 6:
		/* 2^7k and 2^7k - 1: either side of a varint length step */
		return ((uint64_t) 1 << (7 * (1 + rng_below(r, 9)))) - rng_below(r, 2);
	default: return rng_next(r) >> rng_below(r, 64);
	}
}

/*
 * The model: a vector over a small fixed pool of ids, as a plain array of
 * counters (0 = absent).  Small so that random vectors share ids; edge ids so
 * that ordering and the 8-byte id encoding see the extremes.
 */
#define POOL 10
static const uint64_t pool_ids[POOL] = {
        UINT64_MAX, 1, 0x80, 3, ID_HIGH, 2, UINT64_MAX - 1, 0x100000000u, 0x7f, 0x0123456789abcdefu,
};

struct model {
	uint64_t c[POOL];
};

static void model_random(struct model *m, struct rng *r)
{
	for (int i = 0; i < POOL; i++)
		m->c[i] = rand_counter(r);
}

/* A second model related to `a`, so that EQUAL and DOMINATES are common. */
static void model_related(struct model *b, const struct model *a, struct rng *r)
{
	switch (rng_below(r, 5)) {
	case 0: model_random(b, r); break;
	case 1: *b = *a; break;
	case 2:
		/* one id different */
		*b = *a;
		b->c[rng_below(r, POOL)] = rand_counter(r);
		break;
	case 3:
		/* every id no lower */
		for (int i = 0; i < POOL; i++)
			b->c[i] = (rng_below(r, 3) || a->c[i] == UINT64_MAX) ? a->c[i] : a->c[i] + 1;
		break;
	default:
		/* every id no higher */
		for (int i = 0; i < POOL; i++)
			b->c[i] = rng_below(r, 3) ? a->c[i] : a->c[i] / 2;
		break;
	}
}

static void model_merge(struct model *into, const struct model *other)
{
	for (int i = 0; i < POOL; i++)
		if (other->c[i] > into->c[i])
			into->c[i] = other->c[i];
}

static size_t model_count(const struct model *m)
{
	size_t n = 0;

	for (int i = 0; i < POOL; i++)
		n += m->c[i] != 0;
	return n;
}

/* The naive reference for vv_compare: id by id over the whole pool. */
static enum vv_order ref_compare(const struct model *a, const struct model *b)
{
	int a_more = 0, b_more = 0;

	for (int i = 0; i < POOL; i++) {
		if (a->c[i] > b->c[i])
			a_more = 1;
		if (a->c[i] < b->c[i])
			b_more = 1;
	}
	if (a_more && b_more)
		return VV_CONCURRENT;
	if (a_more)
		return VV_DOMINATES;
	return b_more ? VV_DOMINATED : VV_EQUAL;
}

static enum vv_order mirror(enum vv_order o)
{
	if (o == VV_DOMINATES)
		return VV_DOMINATED;
	if (o == VV_DOMINATED)
		return VV_DOMINATES;
	return o;
}

/* The invariant vv.h promises: sorted ids, no zero id or counter. */
static void check_invariant(const struct vv *v, long it)
{
	REQUIRE(v->n <= VV_MAX_ENTRIES, it);
	REQUIRE(v->n <= v->cap, it);
	REQUIRE(v->n == 0 || v->e != NULL, it);
	for (size_t i = 0; i < v->n; i++) {
		REQUIRE(v->e[i].id != 0, it);
		REQUIRE(v->e[i].counter != 0, it);
		REQUIRE(i == 0 || v->e[i - 1].id < v->e[i].id, it);
	}
}

/* `v` holds exactly the model: every pool id as modelled and nothing else. */
static void check_matches(const struct vv *v, const struct model *m, long it)
{
	check_invariant(v, it);
	REQUIRE(v->n == model_count(m), it);
	for (int i = 0; i < POOL; i++)
		REQUIRE(vv_get(v, pool_ids[i]) == m->c[i], it);
}

/* Builds `v` from the model, inserting in a random order. */
static void vv_from_model(struct vv *v, const struct model *m, struct rng *r, long it)
{
	int order[POOL];

	for (int i = 0; i < POOL; i++)
		order[i] = i;
	for (int i = POOL - 1; i > 0; i--) {
		int j = (int) rng_below(r, (uint64_t) i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	vv_clear(v);
	for (int i = 0; i < POOL; i++)
		REQUIRE(vv_set(v, pool_ids[order[i]], m->c[order[i]]) == 0, it);
	check_matches(v, m, it);
}

/* Same entries, byte for byte. */
static int vv_same(const struct vv *a, const struct vv *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->e, b->e, a->n * sizeof(*a->e)) == 0);
}

/* Builds a vector from literal pairs; ck_assert is fine outside hot loops. */
static void vv_of(struct vv *v, const uint64_t (*pairs)[2], size_t n)
{
	vv_clear(v);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(vv_set(v, pairs[i][0], pairs[i][1]), 0);
}

/* The encoding in a heap buffer of exactly its size, so ASan sees overreads. */
static uint8_t *encode_exact(const struct vv *v, size_t *len)
{
	size_t need = vv_encoded_size(v);
	uint8_t *buf = malloc(need);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(vv_encode(buf, need, len, v), 0);
	ck_assert_uint_eq(*len, need);
	return buf;
}

/* A minimal uvarint, written independently of vv.c. */
static size_t put_uvarint(uint8_t *p, uint64_t x)
{
	size_t n = 0;

	do {
		p[n] = (uint8_t) (x & 0x7f);
		x >>= 7;
		if (x)
			p[n] |= 0x80;
		n++;
	} while (x);
	return n;
}

static size_t put_u64le(uint8_t *p, uint64_t x)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (x >> (8 * i));
	return 8;
}

/*
 * Puts an entry in `out` before a decode, so that "left empty on error" is
 * tested rather than inherited.
 */
static int make_dirty(struct vv *out)
{
	vv_clear(out);
	return vv_set(out, 77, 77);
}

/*
 * vv_decode on a heap copy of exactly `len` bytes, into a vector that is
 * deliberately non-empty first: on error it must come back empty.
 */
static int decode_bytes(struct vv *out, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int err;

	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, p, len);
	ck_assert_int_eq(make_dirty(out), 0);
	err = vv_decode(out, copy, len);
	free(copy);
	if (err)
		ck_assert_uint_eq(out->n, 0);
	else
		check_invariant(out, 0);
	return err;
}

/* ---- init, dispose, clear, get, set ---- */

START_TEST(test_init_dispose_clear)
{
	struct vv v = VV_INIT, w;

	/* dispose and clear of a never-used vector, twice */
	vv_dispose(&v);
	vv_dispose(&v);
	vv_clear(&v);
	ck_assert_ptr_null(v.e);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_uint_eq(v.cap, 0);

	vv_init(&w);
	ck_assert_ptr_null(w.e);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_eq(w.cap, 0);

	for (uint64_t id = 1; id <= 20; id++)
		ck_assert_int_eq(vv_set(&v, id, id), 0);
	ck_assert_uint_eq(v.n, 20);

	/* clear keeps the storage, and the vector is usable again */
	struct vv_entry *e = v.e;
	size_t cap = v.cap;
	vv_clear(&v);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_ptr_eq(v.e, e);
	ck_assert_uint_eq(v.cap, cap);
	ck_assert_uint_eq(vv_get(&v, 5), 0);
	ck_assert_uint_eq(vv_max_counter(&v), 0);
	vv_clear(&v);
	ck_assert_int_eq(vv_set(&v, 9, 1), 0);
	ck_assert_uint_eq(vv_get(&v, 9), 1);
	ck_assert_uint_eq(v.n, 1);

	/* dispose frees and empties; twice is harmless; reusable after */
	vv_dispose(&v);
	ck_assert_ptr_null(v.e);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_uint_eq(v.cap, 0);
	vv_dispose(&v);
	ck_assert_ptr_null(v.e);
	ck_assert_int_eq(vv_set(&v, 3, 4), 0);
	ck_assert_uint_eq(vv_get(&v, 3), 4);
	vv_clear(&v);
	vv_dispose(&v);
	vv_dispose(&v);
	vv_dispose(&w);
}
END_TEST

START_TEST(test_get)
{
	struct vv v = VV_INIT;
	static const uint64_t p[][2] = {{10, 1}, {20, 2}, {30, UINT64_MAX}};

	ck_assert_uint_eq(vv_get(&v, 1), 0);
	ck_assert_uint_eq(vv_get(&v, 0), 0);
	ck_assert_uint_eq(vv_get(&v, UINT64_MAX), 0);
	vv_of(&v, p, 3);
	ck_assert_uint_eq(vv_get(&v, 10), 1);
	ck_assert_uint_eq(vv_get(&v, 20), 2);
	ck_assert_uint_eq(vv_get(&v, 30), UINT64_MAX);
	/* before the first, between, after the last, and the zero id */
	ck_assert_uint_eq(vv_get(&v, 9), 0);
	ck_assert_uint_eq(vv_get(&v, 15), 0);
	ck_assert_uint_eq(vv_get(&v, 25), 0);
	ck_assert_uint_eq(vv_get(&v, 31), 0);
	ck_assert_uint_eq(vv_get(&v, UINT64_MAX), 0);
	ck_assert_uint_eq(vv_get(&v, 0), 0);
	vv_dispose(&v);
}
END_TEST

START_TEST(test_set_insert_in_order)
{
	struct vv v = VV_INIT;
	static const uint64_t ids[] = {50, 10, UINT64_MAX, 30, 1, ID_HIGH, 20, 40, 2};
	static const uint64_t sorted[] = {1, 2, 10, 20, 30, 40, 50, ID_HIGH, UINT64_MAX};
	const size_t n = sizeof(ids) / sizeof(ids[0]);

	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(vv_set(&v, ids[i], 100 + ids[i] % 7), 0);
		check_invariant(&v, (long) i);
		ck_assert_uint_eq(v.n, i + 1);
	}
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(v.e[i].id, sorted[i]);
		ck_assert_uint_eq(v.e[i].counter, 100 + sorted[i] % 7);
	}

	/* descending insertion: every insert goes to the front */
	vv_clear(&v);
	for (uint64_t id = 100; id >= 1; id--)
		ck_assert_int_eq(vv_set(&v, id, id), 0);
	ck_assert_uint_eq(v.n, 100);
	check_invariant(&v, 0);
	for (size_t i = 0; i < 100; i++)
		ck_assert_uint_eq(v.e[i].id, i + 1);

	/* setting a counter of 0 for an absent id adds nothing */
	ck_assert_int_eq(vv_set(&v, 1000, 0), 0);
	ck_assert_uint_eq(v.n, 100);
	ck_assert_uint_eq(vv_get(&v, 1000), 0);
	vv_dispose(&v);
}
END_TEST

START_TEST(test_set_update)
{
	struct vv v = VV_INIT;
	static const uint64_t p[][2] = {{1, 5}, {2, 6}, {3, 7}};

	vv_of(&v, p, 3);
	/* up, down and to the top: vv_set is a plain assignment */
	ck_assert_int_eq(vv_set(&v, 2, 60), 0);
	ck_assert_uint_eq(vv_get(&v, 2), 60);
	ck_assert_int_eq(vv_set(&v, 2, 1), 0);
	ck_assert_uint_eq(vv_get(&v, 2), 1);
	ck_assert_int_eq(vv_set(&v, 3, UINT64_MAX), 0);
	ck_assert_uint_eq(vv_get(&v, 3), UINT64_MAX);
	ck_assert_uint_eq(v.n, 3);
	ck_assert_uint_eq(vv_get(&v, 1), 5);
	check_invariant(&v, 0);
	vv_dispose(&v);
}
END_TEST

START_TEST(test_set_remove)
{
	struct vv v = VV_INIT;
	static const uint64_t p[][2] = {{1, 5}, {2, 6}, {3, 7}, {4, 8}};

	vv_of(&v, p, 4);
	/* middle */
	ck_assert_int_eq(vv_set(&v, 2, 0), 0);
	ck_assert_uint_eq(v.n, 3);
	ck_assert_uint_eq(vv_get(&v, 2), 0);
	ck_assert_uint_eq(v.e[0].id, 1);
	ck_assert_uint_eq(v.e[1].id, 3);
	ck_assert_uint_eq(v.e[1].counter, 7);
	ck_assert_uint_eq(v.e[2].id, 4);
	ck_assert_uint_eq(v.e[2].counter, 8);
	/* first */
	ck_assert_int_eq(vv_set(&v, 1, 0), 0);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_uint_eq(v.e[0].id, 3);
	/* last */
	ck_assert_int_eq(vv_set(&v, 4, 0), 0);
	ck_assert_uint_eq(v.n, 1);
	ck_assert_uint_eq(v.e[0].id, 3);
	ck_assert_uint_eq(v.e[0].counter, 7);
	/* absent: nothing changes */
	ck_assert_int_eq(vv_set(&v, 4, 0), 0);
	ck_assert_int_eq(vv_set(&v, 99, 0), 0);
	ck_assert_uint_eq(v.n, 1);
	/* the only one */
	ck_assert_int_eq(vv_set(&v, 3, 0), 0);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_uint_eq(vv_get(&v, 3), 0);
	/* and back */
	ck_assert_int_eq(vv_set(&v, 3, 1), 0);
	ck_assert_uint_eq(vv_get(&v, 3), 1);
	check_invariant(&v, 0);
	vv_dispose(&v);
}
END_TEST

START_TEST(test_set_zero_id)
{
	struct vv v = VV_INIT, before = VV_INIT;
	static const uint64_t p[][2] = {{1, 5}, {2, 6}};

	ck_assert_int_eq(vv_set(&v, 0, 1), VV_EINVAL);
	ck_assert_int_eq(vv_set(&v, 0, 0), VV_EINVAL);
	ck_assert_uint_eq(v.n, 0);
	vv_of(&v, p, 2);
	ck_assert_int_eq(vv_copy(&before, &v), 0);
	ck_assert_int_eq(vv_set(&v, 0, 9), VV_EINVAL);
	ck_assert_int_eq(vv_set(&v, 0, 0), VV_EINVAL);
	ck_assert(vv_same(&v, &before));
	vv_dispose(&v);
	vv_dispose(&before);
}
END_TEST

START_TEST(test_set_limit)
{
	struct vv v = VV_INIT;

	for (uint64_t id = 1; id <= VV_MAX_ENTRIES; id++)
		REQUIRE(vv_set(&v, id, 1) == 0, id);
	ck_assert_uint_eq(v.n, VV_MAX_ENTRIES);
	/* one past the limit, at either end: refused, nothing changes */
	ck_assert_int_eq(vv_set(&v, VV_MAX_ENTRIES + 1, 1), VV_ETOOBIG);
	ck_assert_int_eq(vv_set(&v, UINT64_MAX, 1), VV_ETOOBIG);
	ck_assert_int_eq(vv_bump(&v, UINT64_MAX, 0, NULL), VV_ETOOBIG);
	ck_assert_uint_eq(v.n, VV_MAX_ENTRIES);
	ck_assert_uint_eq(vv_get(&v, UINT64_MAX), 0);
	/* updates and removals still work at the limit */
	ck_assert_int_eq(vv_set(&v, 7, 9), 0);
	ck_assert_int_eq(vv_bump(&v, 8, 0, NULL), 0);
	ck_assert_uint_eq(vv_get(&v, 8), 2);
	ck_assert_int_eq(vv_set(&v, 1, 0), 0);
	ck_assert_int_eq(vv_set(&v, UINT64_MAX, 1), 0);
	ck_assert_uint_eq(v.n, VV_MAX_ENTRIES);
	check_invariant(&v, 0);
	vv_dispose(&v);
}
END_TEST

/*
 * The limit must not depend on how the storage was allocated: vv_merge
 * leaves cap = into->n + other->n, which may pass VV_MAX_ENTRIES even when
 * the result does not; vv_set must still refuse entry VV_MAX_ENTRIES + 1,
 * or it makes a vector whose own encoding vv_decode rejects.
 */
START_TEST(test_set_limit_after_merge)
{
	struct vv a = VV_INIT, b = VV_INIT, back = VV_INIT;
	uint8_t *buf;
	size_t len;
	int err;

	for (uint64_t id = 1; id <= 4000; id++) {
		REQUIRE(vv_set(&a, id, 1) == 0, id);
		REQUIRE(vv_set(&b, id, 2) == 0, id);
	}
	ck_assert_int_eq(vv_merge(&a, &b), 0);
	ck_assert_uint_eq(a.n, 4000);
	for (uint64_t id = 4001; id <= VV_MAX_ENTRIES; id++)
		REQUIRE(vv_set(&a, id, 1) == 0, id);
	ck_assert_uint_eq(a.n, VV_MAX_ENTRIES);
	err = vv_set(&a, VV_MAX_ENTRIES + 1, 1);
	if (err == 0) {
		/* show the consequence before failing */
		buf = encode_exact(&a, &len);
		ck_assert_int_eq(vv_decode(&back, buf, len), VV_ETOOBIG);
		free(buf);
	}
	ck_assert_int_eq(err, VV_ETOOBIG);
	ck_assert_uint_eq(a.n, VV_MAX_ENTRIES);
	vv_dispose(&a);
	vv_dispose(&b);
	vv_dispose(&back);
}
END_TEST

/* ---- bump ---- */

START_TEST(test_bump)
{
	struct vv v = VV_INIT, before = VV_INIT;
	uint64_t out;

	/* absent: current is 0, so the result is max(1, floor) */
	out = 0;
	ck_assert_int_eq(vv_bump(&v, 5, 0, &out), 0);
	ck_assert_uint_eq(out, 1);
	ck_assert_uint_eq(vv_get(&v, 5), 1);
	ck_assert_int_eq(vv_bump(&v, 6, 40, &out), 0);
	ck_assert_uint_eq(out, 40);
	ck_assert_uint_eq(vv_get(&v, 6), 40);
	ck_assert_int_eq(vv_bump(&v, 7, 1, &out), 0);
	ck_assert_uint_eq(out, 1);

	/* present: floor below, at and above current + 1 */
	ck_assert_int_eq(vv_set(&v, 5, 10), 0);
	ck_assert_int_eq(vv_bump(&v, 5, 3, &out), 0);
	ck_assert_uint_eq(out, 11);
	ck_assert_uint_eq(vv_get(&v, 5), 11);
	ck_assert_int_eq(vv_bump(&v, 5, 12, &out), 0);
	ck_assert_uint_eq(out, 12);
	ck_assert_int_eq(vv_bump(&v, 5, 100, &out), 0);
	ck_assert_uint_eq(out, 100);
	ck_assert_uint_eq(vv_get(&v, 5), 100);
	/* floor == current: still a new change, so current + 1 */
	ck_assert_int_eq(vv_bump(&v, 5, 100, &out), 0);
	ck_assert_uint_eq(out, 101);

	/* out may be NULL */
	ck_assert_int_eq(vv_bump(&v, 5, 0, NULL), 0);
	ck_assert_uint_eq(vv_get(&v, 5), 102);
	/* the others are untouched */
	ck_assert_uint_eq(vv_get(&v, 6), 40);
	ck_assert_uint_eq(vv_get(&v, 7), 1);
	ck_assert_uint_eq(v.n, 3);

	/* zero id: refused, nothing written */
	ck_assert_int_eq(vv_copy(&before, &v), 0);
	out = 1234;
	ck_assert_int_eq(vv_bump(&v, 0, 0, &out), VV_EINVAL);
	ck_assert_int_eq(vv_bump(&v, 0, 50, NULL), VV_EINVAL);
	ck_assert_uint_eq(out, 1234);
	ck_assert(vv_same(&v, &before));

	/* the top: UINT64_MAX - 1 bumps to UINT64_MAX, then overflows */
	ck_assert_int_eq(vv_set(&v, 8, UINT64_MAX - 1), 0);
	ck_assert_int_eq(vv_bump(&v, 8, 0, &out), 0);
	ck_assert_uint_eq(out, UINT64_MAX);
	ck_assert_int_eq(vv_copy(&before, &v), 0);
	out = 1234;
	ck_assert_int_eq(vv_bump(&v, 8, 0, &out), VV_ETOOBIG);
	ck_assert_int_eq(vv_bump(&v, 8, UINT64_MAX, &out), VV_ETOOBIG);
	ck_assert_int_eq(vv_bump(&v, 8, 0, NULL), VV_ETOOBIG);
	ck_assert_uint_eq(out, 1234);
	ck_assert(vv_same(&v, &before));
	/* a floor of UINT64_MAX is reachable, once */
	ck_assert_int_eq(vv_bump(&v, 9, UINT64_MAX, &out), 0);
	ck_assert_uint_eq(out, UINT64_MAX);
	ck_assert_int_eq(vv_bump(&v, 9, UINT64_MAX, &out), VV_ETOOBIG);
	ck_assert_int_eq(vv_bump(&v, UINT64_MAX, UINT64_MAX - 1, &out), 0);
	ck_assert_uint_eq(out, UINT64_MAX - 1);
	check_invariant(&v, 0);
	vv_dispose(&v);
	vv_dispose(&before);
}
END_TEST

/* ---- merge, copy, max_counter ---- */

START_TEST(test_merge)
{
	struct vv a = VV_INIT, b = VV_INIT, e = VV_INIT, want = VV_INIT, t = VV_INIT;
	static const uint64_t pa[][2] = {{1, 5}, {3, 1}, {5, UINT64_MAX}, {9, 2}};
	static const uint64_t pb[][2] = {{2, 7}, {3, 4}, {5, 6}, {9, 2}, {10, 1}};
	static const uint64_t pw[][2] = {{1, 5}, {2, 7}, {3, 4}, {5, UINT64_MAX}, {9, 2}, {10, 1}};

	/* element-wise max over the union of ids */
	vv_of(&a, pa, 4);
	vv_of(&b, pb, 5);
	vv_of(&want, pw, 6);
	ck_assert_int_eq(vv_merge(&a, &b), 0);
	ck_assert(vv_same(&a, &want));
	check_invariant(&a, 0);
	/* the other side is not modified */
	ck_assert_uint_eq(b.n, 5);
	ck_assert_uint_eq(vv_get(&b, 5), 6);

	/* self merge */
	ck_assert_int_eq(vv_merge(&a, &a), 0);
	ck_assert(vv_same(&a, &want));
	/* again with the same: idempotent */
	ck_assert_int_eq(vv_merge(&a, &b), 0);
	ck_assert(vv_same(&a, &want));

	/* empty into non-empty, non-empty into empty, empty into empty */
	ck_assert_int_eq(vv_merge(&a, &e), 0);
	ck_assert(vv_same(&a, &want));
	ck_assert_int_eq(vv_merge(&e, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_int_eq(vv_merge(&t, &want), 0);
	ck_assert(vv_same(&t, &want));
	ck_assert_int_eq(vv_merge(&e, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	vv_dispose(&a);
	vv_dispose(&b);
	vv_dispose(&e);
	vv_dispose(&want);
	vv_dispose(&t);
}
END_TEST

START_TEST(test_merge_limit)
{
	struct vv a = VV_INIT, b = VV_INIT, before = VV_INIT;

	/* 3000 + 3000 disjoint ids: too many; `into` must be unchanged */
	for (uint64_t i = 1; i <= 3000; i++) {
		REQUIRE(vv_set(&a, 2 * i, i) == 0, i);
		REQUIRE(vv_set(&b, 2 * i + 1, i) == 0, i);
	}
	ck_assert_int_eq(vv_copy(&before, &a), 0);
	ck_assert_int_eq(vv_merge(&a, &b), VV_ETOOBIG);
	ck_assert(vv_same(&a, &before));

	/* exactly at the limit is fine, and so is a full overlap */
	vv_clear(&b);
	for (uint64_t i = 1; i <= VV_MAX_ENTRIES - 3000; i++)
		REQUIRE(vv_set(&b, 2 * i + 1, 1) == 0, i);
	ck_assert_int_eq(vv_merge(&a, &b), 0);
	ck_assert_uint_eq(a.n, VV_MAX_ENTRIES);
	check_invariant(&a, 0);
	ck_assert_int_eq(vv_copy(&b, &a), 0);
	ck_assert_int_eq(vv_set(&b, 2, 99), 0);
	ck_assert_int_eq(vv_merge(&a, &b), 0);
	ck_assert_uint_eq(a.n, VV_MAX_ENTRIES);
	ck_assert_uint_eq(vv_get(&a, 2), 99);

	/* one new id past the limit, on either side */
	ck_assert_int_eq(vv_copy(&before, &a), 0);
	vv_clear(&b);
	ck_assert_int_eq(vv_set(&b, UINT64_MAX, 1), 0);
	ck_assert_int_eq(vv_merge(&a, &b), VV_ETOOBIG);
	ck_assert(vv_same(&a, &before));
	ck_assert_int_eq(vv_merge(&b, &a), VV_ETOOBIG);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_uint_eq(vv_get(&b, UINT64_MAX), 1);
	vv_dispose(&a);
	vv_dispose(&b);
	vv_dispose(&before);
}
END_TEST

START_TEST(test_copy)
{
	struct vv src = VV_INIT, out = VV_INIT, e = VV_INIT;
	static const uint64_t ps[][2] = {{1, 5}, {ID_HIGH, 6}, {UINT64_MAX, UINT64_MAX}};
	static const uint64_t pbig[][2] = {{2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}};

	/* into empty */
	vv_of(&src, ps, 3);
	ck_assert_int_eq(vv_copy(&out, &src), 0);
	ck_assert(vv_same(&out, &src));
	ck_assert_ptr_ne(out.e, src.e);
	/* independent afterwards, both ways */
	ck_assert_int_eq(vv_set(&src, 1, 50), 0);
	ck_assert_uint_eq(vv_get(&out, 1), 5);
	ck_assert_int_eq(vv_set(&out, 2, 1), 0);
	ck_assert_uint_eq(vv_get(&src, 2), 0);

	/* into a larger vector: the old entries are gone */
	vv_of(&out, pbig, 6);
	ck_assert_int_eq(vv_copy(&out, &src), 0);
	ck_assert(vv_same(&out, &src));
	ck_assert_uint_eq(vv_get(&out, 4), 0);

	/* self, and empty into non-empty */
	ck_assert_int_eq(vv_copy(&out, &out), 0);
	ck_assert(vv_same(&out, &src));
	ck_assert_int_eq(vv_copy(&out, &e), 0);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_int_eq(vv_copy(&e, &e), 0);
	ck_assert_uint_eq(e.n, 0);
	check_invariant(&out, 0);
	vv_dispose(&src);
	vv_dispose(&out);
	vv_dispose(&e);
}
END_TEST

START_TEST(test_max_counter)
{
	struct vv v = VV_INIT;

	ck_assert_uint_eq(vv_max_counter(&v), 0);
	ck_assert_int_eq(vv_set(&v, 9, 3), 0);
	ck_assert_uint_eq(vv_max_counter(&v), 3);
	/* the largest counter, wherever it sits among the ids */
	ck_assert_int_eq(vv_set(&v, 1, 17), 0);
	ck_assert_int_eq(vv_set(&v, UINT64_MAX, 4), 0);
	ck_assert_uint_eq(vv_max_counter(&v), 17);
	ck_assert_int_eq(vv_set(&v, 5, UINT64_MAX), 0);
	ck_assert_uint_eq(vv_max_counter(&v), UINT64_MAX);
	ck_assert_int_eq(vv_set(&v, 5, 0), 0);
	ck_assert_uint_eq(vv_max_counter(&v), 17);
	vv_clear(&v);
	ck_assert_uint_eq(vv_max_counter(&v), 0);
	vv_dispose(&v);
}
END_TEST

/* ---- compare, covers ---- */

/* Both directions, and covers from the same answer. */
static void check_order(const struct vv *a, const struct vv *b, enum vv_order want)
{
	ck_assert_int_eq(vv_compare(a, b), want);
	ck_assert_int_eq(vv_compare(b, a), mirror(want));
	ck_assert_int_eq(vv_covers(a, b), want == VV_EQUAL || want == VV_DOMINATES);
	ck_assert_int_eq(vv_covers(b, a), want == VV_EQUAL || want == VV_DOMINATED);
}

START_TEST(test_compare_cases)
{
	struct vv a = VV_INIT, b = VV_INIT, e = VV_INIT, e2 = VV_INIT;
	static const uint64_t p1[][2] = {{1, 3}, {2, 5}, {7, 1}};
	static const uint64_t p1_up[][2] = {{1, 3}, {2, 6}, {7, 1}};
	static const uint64_t p1_more[][2] = {{1, 3}, {2, 5}, {4, 1}, {7, 1}};
	static const uint64_t p1_less[][2] = {{1, 3}, {7, 1}};
	static const uint64_t p1_cross[][2] = {{1, 4}, {2, 4}, {7, 1}};
	static const uint64_t p1_swap[][2] = {{1, 2}, {2, 5}, {7, 1}, {9, 1}};
	static const uint64_t pd[][2] = {{3, 1}, {8, 2}};
	static const uint64_t plast[][2] = {{1, 3}, {2, 5}};
	static const uint64_t plast2[][2] = {{1, 3}, {2, 5}, {UINT64_MAX, 1}};
	static const uint64_t pfirst[][2] = {{1, 9}, {2, 5}, {7, 1}};

	/* empty vs empty; a vector with itself */
	check_order(&e, &e2, VV_EQUAL);
	check_order(&e, &e, VV_EQUAL);
	/* empty vs non-empty */
	vv_of(&a, p1, 3);
	check_order(&a, &e, VV_DOMINATES);
	check_order(&a, &a, VV_EQUAL);
	/* equal: same entries, separate storage */
	vv_of(&b, p1, 3);
	check_order(&a, &b, VV_EQUAL);
	/* one id different: higher counter */
	vv_of(&b, p1_up, 3);
	check_order(&b, &a, VV_DOMINATES);
	/* one id different: extra id, in the middle, at the end */
	vv_of(&b, p1_more, 4);
	check_order(&b, &a, VV_DOMINATES);
	vv_of(&b, p1_less, 2);
	check_order(&a, &b, VV_DOMINATES);
	vv_of(&a, plast2, 3);
	vv_of(&b, plast, 2);
	check_order(&a, &b, VV_DOMINATES);
	/* one id different at the front */
	vv_of(&a, p1, 3);
	vv_of(&b, pfirst, 3);
	check_order(&a, &b, VV_DOMINATED);
	/* concurrent: each higher somewhere */
	vv_of(&b, p1_cross, 3);
	check_order(&a, &b, VV_CONCURRENT);
	/* concurrent: lower counter on one side, extra id on the other */
	vv_of(&b, p1_swap, 4);
	check_order(&a, &b, VV_CONCURRENT);
	/* disjoint ids */
	vv_of(&b, pd, 2);
	check_order(&a, &b, VV_CONCURRENT);
	/* concurrency found only at the very end, on either side */
	vv_of(&a, plast, 2);
	vv_of(&b, plast2, 3);
	ck_assert_int_eq(vv_set(&a, 1, 4), 0);
	check_order(&a, &b, VV_CONCURRENT);
	vv_dispose(&a);
	vv_dispose(&b);
}
END_TEST

START_TEST(test_covers)
{
	struct vv a = VV_INIT, b = VV_INIT, e = VV_INIT;
	static const uint64_t pa[][2] = {{1, 2}, {2, 2}};
	static const uint64_t pb[][2] = {{1, 1}};
	static const uint64_t pc[][2] = {{1, 3}, {2, 1}};

	ck_assert_int_eq(vv_covers(&e, &e), 1);
	vv_of(&a, pa, 2);
	ck_assert_int_eq(vv_covers(&a, &e), 1);
	ck_assert_int_eq(vv_covers(&e, &a), 0);
	ck_assert_int_eq(vv_covers(&a, &a), 1);
	vv_of(&b, pb, 1);
	ck_assert_int_eq(vv_covers(&a, &b), 1);
	ck_assert_int_eq(vv_covers(&b, &a), 0);
	vv_of(&b, pc, 2);
	ck_assert_int_eq(vv_covers(&a, &b), 0);
	ck_assert_int_eq(vv_covers(&b, &a), 0);
	vv_of(&b, pa, 2);
	ck_assert_int_eq(vv_covers(&a, &b), 1);
	ck_assert_int_eq(vv_covers(&b, &a), 1);
	vv_dispose(&a);
	vv_dispose(&b);
}
END_TEST

/* ---- the algebra on random vectors ---- */

#define ITERATIONS 4000

START_TEST(test_random_merge_laws)
{
	struct rng r = {0x5eed0001};
	struct vv a = VV_INIT, b = VV_INIT, c = VV_INIT;
	struct vv ab = VV_INIT, ba = VV_INIT, ab_c = VV_INIT, bc = VV_INIT, a_bc = VV_INIT;
	struct vv t = VV_INIT;
	struct model ma, mb, mc, mab, mabc;

	for (long it = 0; it < ITERATIONS; it++) {
		model_random(&ma, &r);
		model_related(&mb, &ma, &r);
		model_related(&mc, rng_below(&r, 2) ? &ma : &mb, &r);
		vv_from_model(&a, &ma, &r, it);
		vv_from_model(&b, &mb, &r, it);
		vv_from_model(&c, &mc, &r, it);
		mab = ma;
		model_merge(&mab, &mb);
		mabc = mab;
		model_merge(&mabc, &mc);

		/* a ∪ b is the element-wise max, and the inputs are untouched */
		REQUIRE(vv_copy(&ab, &a) == 0, it);
		REQUIRE(vv_merge(&ab, &b) == 0, it);
		check_matches(&ab, &mab, it);
		check_matches(&b, &mb, it);

		/* commutative */
		REQUIRE(vv_copy(&ba, &b) == 0, it);
		REQUIRE(vv_merge(&ba, &a) == 0, it);
		REQUIRE(vv_compare(&ab, &ba) == VV_EQUAL, it);
		REQUIRE(vv_same(&ab, &ba), it);

		/* associative */
		REQUIRE(vv_copy(&ab_c, &ab) == 0, it);
		REQUIRE(vv_merge(&ab_c, &c) == 0, it);
		REQUIRE(vv_copy(&bc, &b) == 0, it);
		REQUIRE(vv_merge(&bc, &c) == 0, it);
		REQUIRE(vv_copy(&a_bc, &a) == 0, it);
		REQUIRE(vv_merge(&a_bc, &bc) == 0, it);
		REQUIRE(vv_compare(&ab_c, &a_bc) == VV_EQUAL, it);
		REQUIRE(vv_same(&ab_c, &a_bc), it);
		check_matches(&ab_c, &mabc, it);

		/* idempotent: with a copy of itself, with itself, again */
		REQUIRE(vv_copy(&t, &a) == 0, it);
		REQUIRE(vv_merge(&t, &a) == 0, it);
		REQUIRE(vv_same(&t, &a), it);
		REQUIRE(vv_merge(&t, &t) == 0, it);
		REQUIRE(vv_same(&t, &a), it);
		REQUIRE(vv_copy(&t, &ab) == 0, it);
		REQUIRE(vv_merge(&t, &b) == 0, it);
		REQUIRE(vv_same(&t, &ab), it);

		/* each input is covered by the merge */
		enum vv_order oa = vv_compare(&ab, &a), ob = vv_compare(&ab, &b);
		REQUIRE(oa == VV_EQUAL || oa == VV_DOMINATES, it);
		REQUIRE(ob == VV_EQUAL || ob == VV_DOMINATES, it);
		REQUIRE(vv_covers(&ab, &a) && vv_covers(&ab, &b), it);
		REQUIRE(vv_covers(&ab_c, &c) && vv_covers(&ab_c, &ab), it);
		/* and the merge is EQUAL to an input exactly when it covers the other */
		REQUIRE((oa == VV_EQUAL) == vv_covers(&a, &b), it);

		/* max_counter of the merge is the larger of the two */
		uint64_t xa = vv_max_counter(&a), xb = vv_max_counter(&b);
		REQUIRE(vv_max_counter(&ab) == (xa > xb ? xa : xb), it);
	}
	vv_dispose(&a);
	vv_dispose(&b);
	vv_dispose(&c);
	vv_dispose(&ab);
	vv_dispose(&ba);
	vv_dispose(&ab_c);
	vv_dispose(&bc);
	vv_dispose(&a_bc);
	vv_dispose(&t);
}
END_TEST

START_TEST(test_random_compare)
{
	struct rng r = {0x5eed0002};
	struct vv a = VV_INIT, b = VV_INIT;
	struct model ma, mb;
	long seen[4] = {0, 0, 0, 0};

	for (long it = 0; it < ITERATIONS; it++) {
		model_random(&ma, &r);
		model_related(&mb, &ma, &r);
		vv_from_model(&a, &ma, &r, it);
		vv_from_model(&b, &mb, &r, it);

		enum vv_order want = ref_compare(&ma, &mb);
		enum vv_order ab = vv_compare(&a, &b), ba = vv_compare(&b, &a);
		REQUIRE(ab == want, it);
		/* antisymmetric; EQUAL and CONCURRENT symmetric */
		REQUIRE((ab == VV_DOMINATES) == (ba == VV_DOMINATED), it);
		REQUIRE((ab == VV_DOMINATED) == (ba == VV_DOMINATES), it);
		REQUIRE((ab == VV_EQUAL) == (ba == VV_EQUAL), it);
		REQUIRE((ab == VV_CONCURRENT) == (ba == VV_CONCURRENT), it);
		REQUIRE(vv_compare(&a, &a) == VV_EQUAL, it);
		REQUIRE(vv_covers(&a, &b) == (want == VV_EQUAL || want == VV_DOMINATES), it);
		REQUIRE(vv_covers(&b, &a) == (want == VV_EQUAL || want == VV_DOMINATED), it);
		/* EQUAL means the same entries */
		REQUIRE((ab == VV_EQUAL) == vv_same(&a, &b), it);
		seen[ab]++;
	}
	/* the generator reaches every answer often, or the test proves little */
	for (int o = 0; o < 4; o++)
		ck_assert_int_ge(seen[o], ITERATIONS / 20);
	vv_dispose(&a);
	vv_dispose(&b);
}
END_TEST

START_TEST(test_random_bump)
{
	struct rng r = {0x5eed0003};
	struct vv a = VV_INIT, before = VV_INIT;
	struct model m;
	long overflows = 0, floors = 0;

	for (long it = 0; it < ITERATIONS; it++) {
		model_random(&m, &r);
		vv_from_model(&a, &m, &r, it);
		REQUIRE(vv_copy(&before, &a) == 0, it);

		int k = (int) rng_below(&r, POOL);
		uint64_t id = pool_ids[k], old = m.c[k], floor, out = 4321;
		switch (rng_below(&r, 4)) {
		case 0: floor = 0; break;
		case 1:
			floor = vv_max_counter(&a); /* the usual caller */
			break;
		case 2: floor = rand_counter(&r); break;
		default: floor = old + rng_below(&r, 3); break;
		}

		int err = vv_bump(&a, id, floor, &out);
		if (old == UINT64_MAX) {
			REQUIRE(err == VV_ETOOBIG, it);
			REQUIRE(out == 4321, it);
			REQUIRE(vv_same(&a, &before), it);
			overflows++;
			continue;
		}
		uint64_t want = old + 1 > floor ? old + 1 : floor;
		REQUIRE(err == 0, it);
		REQUIRE(out == want, it);
		floors += want == floor && floor > old + 1;
		m.c[k] = want;
		check_matches(&a, &m, it);
		REQUIRE(vv_compare(&a, &before) == VV_DOMINATES, it);
		REQUIRE(vv_compare(&before, &a) == VV_DOMINATED, it);
		REQUIRE(vv_max_counter(&a) >= floor, it);
	}
	ck_assert_int_ge(overflows, 10);
	ck_assert_int_ge(floors, 10);
	vv_dispose(&a);
	vv_dispose(&before);
}
END_TEST

/* A random vector with any ids, up to `max` entries, for the codec. */
static void vv_random_wide(struct vv *v, struct rng *r, size_t max, long it)
{
	size_t n = (size_t) rng_below(r, max + 1);

	vv_clear(v);
	for (size_t i = 0; i < n; i++) {
		uint64_t id = rng_below(r, 4) ? rng_next(r) >> rng_below(r, 64) : 1 + rng_below(r, 40);
		uint64_t c = rand_counter(r);
		REQUIRE(vv_set(v, id ? id : 1, c ? c : 1) == 0, it);
	}
	check_invariant(v, it);
}

/* Every promise of the codec about one valid vector. */
static void check_codec(const struct vv *v, struct vv *out, struct rng *r, long it)
{
	size_t need = vv_encoded_size(v), len = 0, used = 0;
	uint8_t *buf = malloc(need + 8);

	REQUIRE(buf != NULL, it);
	REQUIRE(need >= 1 && need <= VV_MAX_ENCODED, it);
	REQUIRE(vv_encode(buf, need, &len, v) == 0, it);
	REQUIRE(len == need, it);

	/* round trip */
	REQUIRE(make_dirty(out) == 0, it);
	REQUIRE(vv_decode(out, buf, len) == 0, it);
	REQUIRE(vv_compare(out, v) == VV_EQUAL, it);
	REQUIRE(out->n == v->n, it);
	REQUIRE(vv_same(out, v), it);

	/* every strict prefix is a truncation, read at the end of the buffer */
	uint8_t *tail = malloc(len);
	REQUIRE(tail != NULL, it);
	for (size_t k = 0; k < len; k++) {
		memcpy(tail + (len - k), buf, k);
		REQUIRE(make_dirty(out) == 0, it);
		REQUIRE(vv_decode(out, tail + (len - k), k) == VV_ETRUNC, it);
		REQUIRE(out->n == 0, it);
		REQUIRE(vv_decode_prefix(out, tail + (len - k), k, &used) == VV_ETRUNC, it);
		REQUIRE(out->n == 0, it);
	}
	free(tail);

	/* trailing bytes: refused whole, accepted as a prefix */
	size_t extra = 1 + (size_t) rng_below(r, 8);
	for (size_t i = 0; i < extra; i++)
		buf[len + i] = (uint8_t) rng_next(r);
	REQUIRE(make_dirty(out) == 0, it);
	REQUIRE(vv_decode(out, buf, len + extra) == VV_ETRAILING, it);
	REQUIRE(out->n == 0, it);
	REQUIRE(vv_decode_prefix(out, buf, len + extra, &used) == 0, it);
	REQUIRE(used == len, it);
	REQUIRE(vv_same(out, v), it);
	REQUIRE(vv_decode_prefix(out, buf, len, &used) == 0, it);
	REQUIRE(used == len, it);
	REQUIRE(vv_same(out, v), it);
	free(buf);
}

START_TEST(test_random_codec)
{
	struct rng r = {0x5eed0004};
	struct vv v = VV_INIT, out = VV_INIT;
	struct model m;

	for (long it = 0; it < ITERATIONS; it++) {
		if (it % 2) {
			model_random(&m, &r);
			vv_from_model(&v, &m, &r, it);
		} else {
			vv_random_wide(&v, &r, 40, it);
		}
		check_codec(&v, &out, &r, it);
	}
	/* a count that needs a two-byte varint */
	for (long it = 0; it < 4; it++) {
		vv_random_wide(&v, &r, 300, it);
		while (v.n < 128)
			REQUIRE(vv_set(&v, 1 + rng_below(&r, 1000000), 1 + rng_below(&r, 3)) == 0, it);
		check_codec(&v, &out, &r, it);
	}
	vv_dispose(&v);
	vv_dispose(&out);
}
END_TEST

/* ---- encoder and strict decoder, by hand ---- */

START_TEST(test_encode_known_bytes)
{
	struct vv v = VV_INIT, out = VV_INIT;
	static const uint64_t p[][2] = {{0x0102030405060708u, 300}, {1, 1}};
	static const uint8_t want[] = {
	        0x02,                                                 /* count */
	        0x01, 0,    0,    0,    0,    0,    0,    0,    0x01, /* id 1, counter 1 */
	        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,       /* id, little-endian */
	        0xac, 0x02,                                           /* 300 */
	};
	static const uint8_t want_max[] = {
	        0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};
	uint8_t buf[64];
	size_t len = 0;

	/* empty: the count alone */
	ck_assert_uint_eq(vv_encoded_size(&v), 1);
	ck_assert_int_eq(vv_encode(buf, sizeof(buf), &len, &v), 0);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_int_eq(decode_bytes(&out, buf, 1), 0);
	ck_assert_uint_eq(out.n, 0);

	vv_of(&v, p, 2);
	ck_assert_uint_eq(vv_encoded_size(&v), sizeof(want));
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(vv_encode(buf, sizeof(buf), &len, &v), 0);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_uint_eq(buf[len], 0xee);
	ck_assert_int_eq(decode_bytes(&out, want, sizeof(want)), 0);
	ck_assert(vv_same(&out, &v));

	/* the widest entry: 8 id bytes and a 10-byte counter */
	vv_clear(&v);
	ck_assert_int_eq(vv_set(&v, UINT64_MAX, UINT64_MAX), 0);
	ck_assert_uint_eq(vv_encoded_size(&v), sizeof(want_max));
	ck_assert_int_eq(vv_encode(buf, sizeof(buf), &len, &v), 0);
	ck_assert_uint_eq(len, sizeof(want_max));
	ck_assert_mem_eq(buf, want_max, sizeof(want_max));
	ck_assert_int_eq(decode_bytes(&out, want_max, sizeof(want_max)), 0);
	ck_assert(vv_same(&out, &v));
	vv_dispose(&v);
	vv_dispose(&out);
}
END_TEST

START_TEST(test_encode_space)
{
	struct vv v = VV_INIT;
	static const uint64_t p[][2] = {{1, 1}, {2, 300}, {UINT64_MAX, UINT64_MAX}};
	uint8_t buf[128];
	size_t need, len;

	vv_of(&v, p, 3);
	need = vv_encoded_size(&v);
	ck_assert_uint_eq(need, 1 + 9 + 10 + 18);
	/* every size short of the need, including 0: refused, nothing past `size` */
	for (size_t size = 0; size < need; size++) {
		memset(buf, 0xee, sizeof(buf));
		len = 999;
		ck_assert_int_eq(vv_encode(buf, size, &len, &v), VV_ESPACE);
		for (size_t i = size; i < sizeof(buf); i++)
			ck_assert_uint_eq(buf[i], 0xee);
	}
	/* exactly enough, and more than enough */
	ck_assert_int_eq(vv_encode(buf, need, &len, &v), 0);
	ck_assert_uint_eq(len, need);
	ck_assert_int_eq(vv_encode(buf, sizeof(buf), &len, &v), 0);
	ck_assert_uint_eq(len, need);

	/* an empty vector still needs its count byte */
	vv_clear(&v);
	ck_assert_int_eq(vv_encode(buf, 0, &len, &v), VV_ESPACE);
	ck_assert_int_eq(vv_encode(buf, 1, &len, &v), 0);
	ck_assert_uint_eq(len, 1);
	vv_dispose(&v);
}
END_TEST

START_TEST(test_decode_trailing)
{
	struct vv out = VV_INIT;
	static const uint8_t one[] = {0x01, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x00, 0x42};
	static const uint8_t empty[] = {0x00, 0x00};
	size_t used = 0;

	ck_assert_int_eq(decode_bytes(&out, one, sizeof(one)), VV_ETRAILING);
	ck_assert_int_eq(decode_bytes(&out, one, sizeof(one) - 1), VV_ETRAILING);
	ck_assert_int_eq(decode_bytes(&out, one, sizeof(one) - 2), 0);
	ck_assert_uint_eq(vv_get(&out, 5), 7);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_int_eq(decode_bytes(&out, empty, 2), VV_ETRAILING);
	ck_assert_int_eq(decode_bytes(&out, empty, 1), 0);

	/* the prefix decoder takes what it needs and says how much */
	ck_assert_int_eq(make_dirty(&out), 0);
	ck_assert_int_eq(vv_decode_prefix(&out, one, sizeof(one), &used), 0);
	ck_assert_uint_eq(used, 10);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(vv_get(&out, 5), 7);
	used = 0;
	ck_assert_int_eq(vv_decode_prefix(&out, one, 10, &used), 0);
	ck_assert_uint_eq(used, 10);
	ck_assert_int_eq(vv_decode_prefix(&out, empty, 2, &used), 0);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(out.n, 0);
	/* and is as strict as vv_decode about the vector itself */
	ck_assert_int_eq(make_dirty(&out), 0);
	ck_assert_int_eq(vv_decode_prefix(&out, one, 9, &used), VV_ETRUNC);
	ck_assert_uint_eq(out.n, 0);
	vv_dispose(&out);
}
END_TEST

/* Two entries as given, with the counters as minimal varints. */
static size_t two_entries(uint8_t *p, uint64_t id1, uint64_t c1, uint64_t id2, uint64_t c2)
{
	size_t n = 0;

	p[n++] = 2;
	n += put_u64le(p + n, id1);
	n += put_uvarint(p + n, c1);
	n += put_u64le(p + n, id2);
	n += put_uvarint(p + n, c2);
	return n;
}

START_TEST(test_decode_not_canonical)
{
	struct vv out = VV_INIT;
	uint8_t p[64];
	size_t n;

	/* the well-formed baseline, so the failures below are for their reason */
	n = two_entries(p, 1, 1, 2, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), 0);
	ck_assert_uint_eq(out.n, 2);
	/* unsorted ids */
	n = two_entries(p, 2, 1, 1, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = two_entries(p, UINT64_MAX, 1, ID_HIGH, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	/* ids compared as numbers, not bytes: 0x100 > 0x01 though its first byte is 0 */
	n = two_entries(p, 0x01, 1, 0x100, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), 0);
	n = two_entries(p, 0x100, 1, 0x01, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	/* duplicate ids, same or different counters */
	n = two_entries(p, 5, 1, 5, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = two_entries(p, 5, 1, 5, 2);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	/* zero id, first or second */
	n = two_entries(p, 0, 1, 2, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = two_entries(p, 1, 1, 0, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	/* zero counter, first or second */
	n = two_entries(p, 1, 0, 2, 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = two_entries(p, 1, 1, 2, 0);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	vv_dispose(&out);
}
END_TEST

/* One entry {7: counter} whose counter bytes are given raw. */
static size_t one_raw(uint8_t *p, const uint8_t *counter, size_t clen)
{
	size_t n = 0;

	p[n++] = 1;
	n += put_u64le(p + n, 7);
	memcpy(p + n, counter, clen);
	return n + clen;
}

START_TEST(test_decode_varints)
{
	struct vv out = VV_INIT;
	uint8_t p[64], c[16];
	size_t n;

	/* overlong counters: 1 as 0x81 0x00, 0 as 0x80 0x00, longer padding */
	static const uint8_t ol1[] = {0x81, 0x00}, ol0[] = {0x80, 0x00};
	static const uint8_t ol3[] = {0xff, 0x80, 0x00}, ok2[] = {0xff, 0x01};
	n = one_raw(p, ol1, 2);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = one_raw(p, ol0, 2);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = one_raw(p, ol3, 3);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	n = one_raw(p, ok2, 2);
	ck_assert_int_eq(decode_bytes(&out, p, n), 0);
	ck_assert_uint_eq(vv_get(&out, 7), 255);

	/* overlong counts */
	static const uint8_t cnt_ol0[] = {0x80, 0x00};
	ck_assert_int_eq(decode_bytes(&out, cnt_ol0, 2), VV_EFORMAT);
	n = one_raw(p, ok2, 2);
	p[0] = 0x81;
	memmove(p + 2, p + 1, n - 1);
	p[1] = 0x00;
	ck_assert_int_eq(decode_bytes(&out, p, n + 1), VV_EFORMAT);

	/* ten bytes: 0xff x9 0x01 is UINT64_MAX, 0x80 x9 0x01 is 2^63 */
	memset(c, 0xff, 9);
	c[9] = 0x01;
	n = one_raw(p, c, 10);
	ck_assert_int_eq(decode_bytes(&out, p, n), 0);
	ck_assert_uint_eq(vv_get(&out, 7), UINT64_MAX);
	memset(c, 0x80, 9);
	n = one_raw(p, c, 10);
	ck_assert_int_eq(decode_bytes(&out, p, n), 0);
	ck_assert_uint_eq(vv_get(&out, 7), ID_HIGH);
	/* past 64 bits in the tenth byte */
	memset(c, 0xff, 9);
	for (unsigned last = 0x02; last <= 0x7f; last++) {
		c[9] = (uint8_t) last;
		n = one_raw(p, c, 10);
		ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	}
	/* a tenth byte of 0 is overlong */
	c[9] = 0x00;
	n = one_raw(p, c, 10);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	/* eleven bytes or more: the tenth has its continuation bit */
	memset(c, 0xff, 10);
	c[10] = 0x01;
	n = one_raw(p, c, 11);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	memset(c, 0x80, 15);
	c[15] = 0x01;
	n = one_raw(p, c, 16);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	memset(c, 0x81, 16);
	n = one_raw(p, c, 16);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_EFORMAT);
	/* a count longer than 64 bits */
	memset(c, 0xff, 10);
	c[10] = 0x01;
	ck_assert_int_eq(decode_bytes(&out, c, 11), VV_EFORMAT);
	/* a varint cut short is a truncation, not a format error */
	memset(c, 0xff, 9);
	n = one_raw(p, c, 9);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETRUNC);
	ck_assert_int_eq(decode_bytes(&out, c, 9), VV_ETRUNC);
	vv_dispose(&out);
}
END_TEST

START_TEST(test_decode_count_limits)
{
	struct vv out = VV_INIT, v = VV_INIT;
	uint8_t p[64], *big;
	size_t n, len;

	/* past the limit: 4097, 2^40, UINT64_MAX; with or without data after */
	n = put_uvarint(p, VV_MAX_ENTRIES + 1);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETOOBIG);
	n = put_uvarint(p, (uint64_t) 1 << 40);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETOOBIG);
	n = put_uvarint(p, UINT64_MAX);
	ck_assert_uint_eq(n, 10);
	memset(p + n, 0x01, 20);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETOOBIG);
	ck_assert_int_eq(decode_bytes(&out, p, n + 20), VV_ETOOBIG);

	/* large counts with short data: errors, never reads past the end */
	n = put_uvarint(p, VV_MAX_ENTRIES);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETRUNC);
	n += put_u64le(p + n, 1);
	p[n++] = 1;
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETRUNC);
	n = put_uvarint(p, 100);
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETRUNC);
	n = put_uvarint(p, 2);
	n += put_u64le(p + n, 1);
	p[n++] = 1;
	ck_assert_int_eq(decode_bytes(&out, p, n), VV_ETRUNC);

	/* exactly the limit decodes, and fits VV_MAX_ENCODED at full width */
	for (uint64_t i = 0; i < VV_MAX_ENTRIES; i++)
		REQUIRE(vv_set(&v, UINT64_MAX - i, UINT64_MAX - i) == 0, i);
	ck_assert_uint_eq(vv_encoded_size(&v), 2 + (size_t) VV_MAX_ENTRIES * 18);
	ck_assert_uint_le(vv_encoded_size(&v), VV_MAX_ENCODED);
	big = encode_exact(&v, &len);
	ck_assert_int_eq(decode_bytes(&out, big, len), 0);
	ck_assert(vv_same(&out, &v));
	/* the same bytes with a count of one more are too many */
	big[0] = 0x81;
	big[1] = 0x20;
	ck_assert_int_eq(decode_bytes(&out, big, len), VV_ETOOBIG);
	free(big);

	/*
	 * 4097 complete entries, decoded into a vector whose storage (left by a
	 * merge) could hold them all: the count is refused, not the allocation.
	 */
	len = 2 + (size_t) (VV_MAX_ENTRIES + 1) * 9;
	big = malloc(len);
	ck_assert_ptr_nonnull(big);
	n = put_uvarint(big, VV_MAX_ENTRIES + 1);
	for (uint64_t id = 1; id <= VV_MAX_ENTRIES + 1; id++) {
		n += put_u64le(big + n, id);
		big[n++] = 1;
	}
	ck_assert_uint_eq(n, len);
	vv_clear(&v);
	vv_clear(&out);
	for (uint64_t id = 1; id <= 4000; id++) {
		REQUIRE(vv_set(&v, id, 2) == 0, id);
		REQUIRE(vv_set(&out, id, 1) == 0, id);
	}
	ck_assert_int_eq(vv_merge(&out, &v), 0);
	ck_assert_uint_eq(out.n, 4000);
	ck_assert_uint_gt(out.cap, VV_MAX_ENTRIES);
	ck_assert_int_eq(vv_decode(&out, big, len), VV_ETOOBIG);
	ck_assert_uint_eq(out.n, 0);
	free(big);
	vv_dispose(&v);
	vv_dispose(&out);
}
END_TEST

/* Bytes with a bias to the values that matter to the decoder. */
static uint8_t rand_byte(struct rng *r)
{
	static const uint8_t special[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xff};

	if (rng_below(r, 2))
		return special[rng_below(r, sizeof(special))];
	return (uint8_t) rng_next(r);
}

/*
 * Any bytes: never a crash; both decoders agree; whatever is accepted is
 * canonical, so it re-encodes to exactly the bytes it came from.
 */
static int check_any_bytes(struct vv *out, const uint8_t *p, size_t len, long it)
{
	uint8_t *copy = malloc(len ? len : 1), *re;
	size_t used = 0, relen = 0;
	int err, perr;

	REQUIRE(copy != NULL, it);
	if (len)
		memcpy(copy, p, len);
	REQUIRE(make_dirty(out) == 0, it);
	perr = vv_decode_prefix(out, copy, len, &used);
	if (perr == 0) {
		check_invariant(out, it);
		REQUIRE(used >= 1 && used <= len, it);
		REQUIRE(vv_encoded_size(out) == used, it);
		re = malloc(used);
		REQUIRE(re != NULL, it);
		REQUIRE(vv_encode(re, used, &relen, out) == 0, it);
		REQUIRE(relen == used && memcmp(re, copy, used) == 0, it);
		free(re);
	} else {
		REQUIRE(out->n == 0, it);
		REQUIRE(perr == VV_ETRUNC || perr == VV_EFORMAT || perr == VV_ETOOBIG, it);
	}

	REQUIRE(make_dirty(out) == 0, it);
	err = vv_decode(out, copy, len);
	if (perr != 0)
		REQUIRE(err == perr, it);
	else if (used < len)
		REQUIRE(err == VV_ETRAILING, it);
	else
		REQUIRE(err == 0, it);
	if (err)
		REQUIRE(out->n == 0, it);
	else
		check_invariant(out, it);
	free(copy);
	return err;
}

START_TEST(test_decode_random_bytes)
{
	struct rng r = {0x5eed0005};
	struct vv out = VV_INIT;
	uint8_t p[200];

	for (long it = 0; it < 6000; it++) {
		size_t len = (size_t) rng_below(&r, sizeof(p) + 1);
		for (size_t i = 0; i < len; i++)
			p[i] = rand_byte(&r);
		/* a small count now and then, so that some get past the header */
		if (len && rng_below(&r, 2))
			p[0] = (uint8_t) rng_below(&r, 4);
		check_any_bytes(&out, p, len, it);
	}
	vv_dispose(&out);
}
END_TEST

START_TEST(test_decode_mutations)
{
	struct rng r = {0x5eed0006};
	struct vv v = VV_INIT, out = VV_INIT;
	uint8_t p[400];
	size_t len, accepted = 0, rejected = 0;

	for (long it = 0; it < 6000; it++) {
		vv_random_wide(&v, &r, 8, it);
		REQUIRE(vv_encode(p, sizeof(p), &len, &v) == 0, it);
		/* one to three edits: set a byte, flip a bit, insert, delete, cut, append */
		for (int k = 1 + (int) rng_below(&r, 3); k > 0; k--) {
			size_t at = len ? (size_t) rng_below(&r, len) : 0;
			switch (rng_below(&r, 6)) {
			case 0:
				if (len)
					p[at] = rand_byte(&r);
				break;
			case 1:
				if (len)
					p[at] ^= (uint8_t) (1u << rng_below(&r, 8));
				break;
			case 2:
				memmove(p + at + 1, p + at, len - at);
				p[at] = rand_byte(&r);
				len++;
				break;
			case 3:
				if (len) {
					memmove(p + at, p + at + 1, len - at - 1);
					len--;
				}
				break;
			case 4: len = at; break;
			default: p[len++] = rand_byte(&r); break;
			}
		}
		if (check_any_bytes(&out, p, len, it) == 0)
			accepted++;
		else
			rejected++;
	}
	/* both outcomes are common, or the test proves little */
	ck_assert_uint_ge(accepted, 300);
	ck_assert_uint_ge(rejected, 3000);
	vv_dispose(&v);
	vv_dispose(&out);
}
END_TEST

/* ---- text ---- */

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Formats, checks the shape, parses back, also in lower case. */
static void check_id_text(uint64_t id, long it)
{
	char text[VV_ID_TEXT + 4], lower[VV_ID_TEXT];
	uint64_t back = 0;

	memset(text, '#', sizeof(text));
	vv_id_format(text, id);
	REQUIRE(text[13] == '\0', it);
	REQUIRE(text[14] == '#', it);
	for (int i = 0; i < 13; i++)
		REQUIRE(text[i] && strchr(b32_alphabet, text[i]) != NULL, it);
	REQUIRE(vv_id_parse(&back, text) == 0, it);
	REQUIRE(back == id, it);
	for (int i = 0; i < VV_ID_TEXT; i++)
		lower[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char) (text[i] - 'A' + 'a') : text[i];
	back = 0;
	REQUIRE(vv_id_parse(&back, lower) == 0, it);
	REQUIRE(back == id, it);
}

START_TEST(test_id_known)
{
	/* checked against RFC 4648 base32 of the 8 big-endian bytes */
	static const struct {
		uint64_t id;
		const char *text;
	} known[] = {
	        {1, "AAAAAAAAAAAAC"},
	        {2, "AAAAAAAAAAAAE"},
	        {UINT64_MAX, "7777777777776"},
	        {ID_HIGH, "QAAAAAAAAAAAA"},
	        {(uint64_t) 1 << 59, "BAAAAAAAAAAAA"},
	        {0x0123456789abcdefu, "AERUKZ4JVPG66"},
	};
	char text[VV_ID_TEXT];
	uint64_t id;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		vv_id_format(text, known[i].id);
		ck_assert_str_eq(text, known[i].text);
		id = 0;
		ck_assert_int_eq(vv_id_parse(&id, known[i].text), 0);
		ck_assert_uint_eq(id, known[i].id);
		check_id_text(known[i].id, (long) i);
	}
	/* lower and mixed case */
	ck_assert_int_eq(vv_id_parse(&id, "aeruKZ4jvpg66"), 0);
	ck_assert_uint_eq(id, 0x0123456789abcdefu);
	ck_assert_int_eq(vv_id_parse(&id, "qaaaaaaaaaaaa"), 0);
	ck_assert_uint_eq(id, ID_HIGH);
}
END_TEST

START_TEST(test_id_random_roundtrip)
{
	struct rng r = {0x5eed0007};

	for (long it = 0; it < 20000; it++) {
		uint64_t id = rng_next(&r) >> rng_below(&r, 64);
		check_id_text(id ? id : 1, it);
	}
	/* every single bit */
	for (int b = 0; b < 64; b++)
		check_id_text((uint64_t) 1 << b, b);
}
END_TEST

START_TEST(test_id_parse_rejects)
{
	static const char *bad[] = {
	        "",
	        "A",
	        "AAAAAAAAAAAC",   /* 12 */
	        "AAAAAAAAAAAACA", /* 14 */
	        "AAAAAAAAAAAACAAAAAAAAAAAAC",
	        "AAAAAAAAAAAAC ",
	        " AAAAAAAAAAAAC",
	        "AAAAAAAAAAAAC\n",
	        "AAAAAAAAAAAAA", /* zero */
	        "aaaaaaaaaaaaa",
	        "AAAAAAAAAAAAB", /* pad bit set */
	        "7777777777777",
	        "AAAAAAAAAAAAD",
	        "AAAAAAAAAAA0C", /* not in the alphabet */
	        "AAAAAAAAAAA1C",
	        "AAAAAAAAAAA8C",
	        "AAAAAAAAAAA9C",
	        "1AAAAAAAAAAAC",
	        "AAAAAAAAAAAA=",
	        "AAAAAAAAAAAAC===",
	        "AAAAAA-AAAAAC",
	        "AAAAAAAAAAA@C",
	        "AAAAAAAAAAA[C",
	        "AAAAAAAAAAA`C",
	        "AAAAAAAAAAA{C",
	        "AAAAAAAAAAA\xc3\x81",
	};
	uint64_t id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = 4242;
		ck_assert_msg(vv_id_parse(&id, bad[i]) == VV_EFORMAT, "accepted '%s'", bad[i]);
		ck_assert_uint_eq(id, 4242);
	}
}
END_TEST

/* Every byte at every position of a valid id, against the alphabet. */
START_TEST(test_id_parse_every_char)
{
	/* no digit is 'A', so no single change can make the id zero */
	static const char base[] = "BBBBBBBBBBBBC";
	char text[VV_ID_TEXT], upper[VV_ID_TEXT], again[VV_ID_TEXT];
	uint64_t id;

	for (int pos = 0; pos < 13; pos++) {
		for (int c = 1; c < 256; c++) {
			memcpy(text, base, sizeof(base));
			text[pos] = (char) c;
			char u = (c >= 'a' && c <= 'z') ? (char) (c - 'a' + 'A') : (char) c;
			const char *d = strchr(b32_alphabet, u);
			int valid = u != '\0' && d != NULL;
			if (valid && pos == 12)
				valid = ((d - b32_alphabet) & 1) == 0;
			id = 4242;
			int err = vv_id_parse(&id, text);
			long it = pos * 256 + c;
			if (!valid) {
				REQUIRE(err == VV_EFORMAT, it);
				REQUIRE(id == 4242, it);
				continue;
			}
			REQUIRE(err == 0, it);
			memcpy(upper, base, sizeof(base));
			upper[pos] = u;
			vv_id_format(again, id);
			REQUIRE(strcmp(again, upper) == 0, it);
		}
		/* a NUL here: too short */
		memcpy(text, base, sizeof(base));
		text[pos] = '\0';
		REQUIRE(vv_id_parse(&id, text) == VV_EFORMAT, pos);
	}
}
END_TEST

START_TEST(test_format)
{
	struct vv v = VV_INIT;
	static const uint64_t p[][2] = {{ID_HIGH, 300}, {1, 5}};
	static const char want[] = "{AAAAAAAAAAAAC:5, QAAAAAAAAAAAA:300}";
	char buf[128];

	memset(buf, '#', sizeof(buf));
	ck_assert_int_eq(vv_format(buf, sizeof(buf), &v), 0);
	ck_assert_str_eq(buf, "{}");
	ck_assert_int_eq(vv_format(buf, 3, &v), 0);
	ck_assert_str_eq(buf, "{}");

	vv_of(&v, p, 2);
	ck_assert_int_eq(vv_format(buf, sizeof(buf), &v), 0);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(vv_format(buf, sizeof(want), &v), 0);
	ck_assert_str_eq(buf, want);

	vv_clear(&v);
	ck_assert_int_eq(vv_set(&v, UINT64_MAX, UINT64_MAX), 0);
	ck_assert_int_eq(vv_format(buf, sizeof(buf), &v), 0);
	ck_assert_str_eq(buf, "{7777777777776:18446744073709551615}");
	vv_dispose(&v);
}
END_TEST

/* Every size too small: VV_ESPACE, a terminated prefix, nothing past `size`. */
static void check_format_small(const struct vv *v, const char *want)
{
	size_t full = strlen(want);
	char buf[128];

	ck_assert_uint_lt(full + 8, sizeof(buf));
	for (size_t size = 0; size <= full; size++) {
		memset(buf, '#', sizeof(buf));
		ck_assert_int_eq(vv_format(buf, size, v), VV_ESPACE);
		for (size_t i = size; i < sizeof(buf); i++)
			ck_assert_int_eq(buf[i], '#');
		if (size == 0)
			continue;
		size_t got = strnlen(buf, size);
		ck_assert_uint_lt(got, size);
		ck_assert_int_eq(memcmp(buf, want, got), 0);
	}
	memset(buf, '#', sizeof(buf));
	ck_assert_int_eq(vv_format(buf, full + 1, v), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(test_format_space)
{
	struct vv v = VV_INIT;
	static const uint64_t p[][2] = {{ID_HIGH, 300}, {1, 5}};

	check_format_small(&v, "{}");
	vv_of(&v, p, 2);
	check_format_small(&v, "{AAAAAAAAAAAAC:5, QAAAAAAAAAAAA:300}");
	vv_dispose(&v);
}
END_TEST

Suite *vv_suite(void)
{
	Suite *s = suite_create("vv");
	TCase *tc;

	tc = tcase_create("basic");
	tcase_add_test(tc, test_init_dispose_clear);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_set_insert_in_order);
	tcase_add_test(tc, test_set_update);
	tcase_add_test(tc, test_set_remove);
	tcase_add_test(tc, test_set_zero_id);
	tcase_add_test(tc, test_set_limit);
	tcase_add_test(tc, test_set_limit_after_merge);
	tcase_add_test(tc, test_bump);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_merge_limit);
	tcase_add_test(tc, test_copy);
	tcase_add_test(tc, test_max_counter);
	tcase_add_test(tc, test_compare_cases);
	tcase_add_test(tc, test_covers);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_add_test(tc, test_random_merge_laws);
	tcase_add_test(tc, test_random_compare);
	tcase_add_test(tc, test_random_bump);
	tcase_add_test(tc, test_random_codec);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_add_test(tc, test_encode_known_bytes);
	tcase_add_test(tc, test_encode_space);
	tcase_add_test(tc, test_decode_trailing);
	tcase_add_test(tc, test_decode_not_canonical);
	tcase_add_test(tc, test_decode_varints);
	tcase_add_test(tc, test_decode_count_limits);
	tcase_add_test(tc, test_decode_random_bytes);
	tcase_add_test(tc, test_decode_mutations);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, test_id_known);
	tcase_add_test(tc, test_id_random_roundtrip);
	tcase_add_test(tc, test_id_parse_rejects);
	tcase_add_test(tc, test_id_parse_every_char);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_space);
	suite_add_tcase(s, tc);
	return s;
}
