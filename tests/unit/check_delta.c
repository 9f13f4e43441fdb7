/*
 * Unit tests for sync/delta.c: signature, delta and patch round trips on
 * generated data (identical, scattered overwrites, insertions, appended and
 * cut tails, empty and 1-byte files, sizes around librsync's block length, a
 * few MiB), and hostile input: deltas crafted by hand in librsync's format
 * (copies outside the basis, too much output, reserved opcodes), every
 * prefix of a real delta, random garbage and mutations, bytes after the end;
 * signatures that are garbage, cut short, too large or followed by bytes.
 *
 * Files live in memfds: nothing touches the disk.  Every hostile case must
 * end in an error code (MM_ECORRUPT), never a crash, and the patch output
 * never goes beyond the bound it was given.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suites.h"
#include "sync/delta.h"
#include "sync/error.h"
#include "testutil.h"

#define DELTA_MAGIC         0x72730236u
#define BLAKE2_SIG_MAGIC    0x72730137u
#define RK_BLAKE2_SIG_MAGIC 0x72730147u

#define REQUIRE_MSG(cond, ...)                                                                                         \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg(__VA_ARGS__);                                                                     \
	} while (0)

/* ---------------------------------------------------------------- helpers */

struct buf {
	uint8_t *p;
	size_t len, cap;
	uint64_t calls;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		ck_assert_msg(b->p != NULL, "out of memory");
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int buf_out(void *arg, const void *p, size_t n)
{
	struct buf *b = arg;

	b->calls++;
	buf_add(b, p, n);
	return 0;
}

static void put_be(struct buf *b, uint64_t v, int width)
{
	uint8_t x[8];

	for (int i = 0; i < width; i++)
		x[i] = (uint8_t) (v >> (8 * (width - 1 - i)));
	buf_add(b, x, (size_t) width);
}

static void put_byte(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

/* A file holding `n` bytes at `p`, in memory. */
static int mem_fd(const void *p, size_t n)
{
	int fd = memfd_create("delta-test", MFD_CLOEXEC);
	size_t off = 0;

	ck_assert_msg(fd >= 0, "memfd_create: %s", strerror(errno));
	while (off < n) {
		ssize_t w = write(fd, (const uint8_t *) p + off, n - off);
		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		off += (size_t) w;
	}
	ck_assert(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static uint8_t *rand_bytes(struct rng *r, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert(p != NULL);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(r);
		for (size_t j = 0; j < 8 && i + j < n; j++)
			p[i + j] = (uint8_t) (v >> (8 * j));
	}
	return p;
}

static void make_sig(const void *basis, size_t n, struct buf *sig)
{
	int fd = mem_fd(basis, n);

	TU_OK(delta_signature(fd, n, buf_out, sig));
	close(fd);
}

/* Loads `sig` fed in pieces of at most `piece` bytes (0: at once); returns the first error. */
static int load_sig(struct delta_sig **out, const void *sig, size_t n, size_t piece)
{
	int err;

	TU_OK(delta_sig_new(out));
	for (size_t off = 0; off < n || (n == 0 && off == 0);) {
		size_t k = piece && n - off > piece ? piece : n - off;
		if ((err = delta_sig_feed(*out, (const uint8_t *) sig + off, k)) < 0)
			return err;
		off += k;
		if (n == 0)
			break;
	}
	return delta_sig_done(*out);
}

static void make_delta(const struct buf *sig, const void *data, size_t n, size_t piece, struct buf *delta)
{
	struct delta_sig *s = NULL;
	int fd;

	TU_OK(load_sig(&s, sig->p, sig->len, piece));
	fd = mem_fd(data, n);
	TU_OK(delta_make(s, fd, buf_out, delta));
	close(fd);
	delta_sig_free(s);
}

/*
 * Patches `basis` with `delta` fed in pieces of `piece` bytes (0: at once),
 * output bounded by `out_max`.  Stops at the first error (librsync's jobs
 * may not be run again once they failed); returns it, else delta_patch_done's.
 * The output is checked never to go beyond out_max.
 */
static int patch(const void *basis, size_t bn, const void *delta, size_t dn, uint64_t out_max, size_t piece,
                 struct buf *out, uint64_t *written)
{
	struct delta_patch *p = NULL;
	int fd = mem_fd(basis, bn), err = 0;
	uint64_t w = 0;

	TU_OK(delta_patch_new(&p, fd, bn, out_max, buf_out, out));
	for (size_t off = 0; off < dn && err == 0;) {
		size_t k = piece && dn - off > piece ? piece : dn - off;
		err = delta_patch_feed(p, (const uint8_t *) delta + off, k);
		off += k;
	}
	if (err == 0)
		err = delta_patch_done(p, &w);
	delta_patch_free(p);
	close(fd);
	REQUIRE_MSG(out->len <= out_max, "the patch wrote %zu bytes, beyond out_max %llu", out->len,
	            (unsigned long long) out_max);
	if (written)
		*written = w;
	return err;
}

/* ---------------------------------------------------------------- round trips */

/*
 * Signature of `basis`, delta of `data` against it, patch: the output is
 * `data`.  The delta is no larger than `max_delta` (0: not checked).  The
 * patch is also run fed byte by byte (small deltas) or in odd pieces, and
 * with out_max one byte short (must fail, without going beyond).
 */
static size_t roundtrip(const uint8_t *basis, size_t bn, const uint8_t *data, size_t dn, size_t max_delta,
                        const char *what)
{
	struct buf sig = {0}, delta = {0}, out = {0};
	uint64_t written = 0;
	size_t dlen;
	int rc;

	make_sig(basis, bn, &sig);
	make_delta(&sig, data, dn, 1000, &delta);
	dlen = delta.len;
	if (max_delta)
		REQUIRE_MSG(delta.len <= max_delta,
		            "%s: a delta of %zu bytes for %zu bytes of data (at most %zu wanted)", what, delta.len, dn,
		            max_delta);

	rc = patch(basis, bn, delta.p, delta.len, dn, 0, &out, &written);
	REQUIRE_MSG(rc == 0, "%s: patch failed (%d): %s", what, rc, mm_error_msg());
	REQUIRE_MSG(written == dn && out.len == dn, "%s: patched %llu (%zu) bytes, want %zu", what,
	            (unsigned long long) written, out.len, dn);
	REQUIRE_MSG(dn == 0 || memcmp(out.p, data, dn) == 0, "%s: the patched output differs from the new data", what);
	buf_free(&out);

	/* fed in pieces: byte by byte when small, else odd sizes */
	rc = patch(basis, bn, delta.p, delta.len, dn, delta.len <= 4096 ? 1 : 4093, &out, &written);
	REQUIRE_MSG(rc == 0 && out.len == dn && (dn == 0 || memcmp(out.p, data, dn) == 0),
	            "%s: patch fed in pieces failed (%d): %s", what, rc, mm_error_msg());
	buf_free(&out);

	/* a generous bound changes nothing */
	rc = patch(basis, bn, delta.p, delta.len, (uint64_t) dn + 12345, 0, &out, &written);
	REQUIRE_MSG(rc == 0 && written == dn, "%s: patch with a larger out_max failed (%d): %s", what, rc,
	            mm_error_msg());
	buf_free(&out);

	if (dn > 0) {
		rc = patch(basis, bn, delta.p, delta.len, dn - 1, 0, &out, &written);
		REQUIRE_MSG(rc == MM_ECORRUPT, "%s: a patch making %zu bytes with out_max %zu gave %d, not MM_ECORRUPT",
		            what, dn, dn - 1, rc);
		buf_free(&out);
	}
	buf_free(&sig);
	buf_free(&delta);
	return dlen;
}

/* `n` random bytes with `k` random overwrites of `len` bytes. */
static uint8_t *overwritten(struct rng *r, const uint8_t *src, size_t n, int k, size_t len)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert(p != NULL);
	memcpy(p, src, n);
	for (int i = 0; i < k && n > len; i++) {
		size_t at = (size_t) rng_below(r, n - len);
		for (size_t j = 0; j < len; j++)
			p[at + j] = (uint8_t) rng_next(r);
	}
	return p;
}

/* src[0..at) + `ins` random bytes + src[at..n) */
static uint8_t *inserted(struct rng *r, const uint8_t *src, size_t n, size_t at, size_t ins)
{
	uint8_t *p = malloc(n + ins + 1), *mid = rand_bytes(r, ins);

	ck_assert(p != NULL);
	memcpy(p, src, at);
	memcpy(p + at, mid, ins);
	memcpy(p + at + ins, src + at, n - at);
	free(mid);
	return p;
}

START_TEST(test_roundtrip_kinds)
{
	struct rng r = {0x5eed0000u + (uint64_t) _i};
	const size_t n = 1u << 20;
	uint8_t *basis = rand_bytes(&r, n), *data = NULL;

	switch (_i) {
	case 0: /* identical: one copy */ roundtrip(basis, n, basis, n, 256, "identical"); break;
	case 1: /* 20 scattered 100-byte overwrites: at most 2 blocks of 2 KiB each are sent again */
		data = overwritten(&r, basis, n, 20, 100);
		roundtrip(basis, n, data, n, 20 * 2 * 2048 + 4096, "scattered overwrites");
		break;
	case 2: /* 1 KiB inserted near the start */
		data = inserted(&r, basis, n, 1000, 1024);
		roundtrip(basis, n, data, n + 1024, 1024 + 2 * 2048 + 1024, "insertion near the start");
		break;
	case 3: /* 100 KiB appended */
		data = inserted(&r, basis, n, n, 100 * 1024);
		roundtrip(basis, n, data, n + 100 * 1024, 100 * 1024 + 4096, "appended tail");
		break;
	case 4: /* cut to a third, not on a block boundary */
		roundtrip(basis, n, basis, n / 3 + 7, 4096, "truncation");
		break;
	case 5: /* empty basis: all literal */
		roundtrip(basis, 0, basis, 100 * 1024, 100 * 1024 + 1024, "empty basis");
		break;
	case 6: /* empty new file */ roundtrip(basis, n, basis, 0, 64, "empty new file"); break;
	case 7: /* both empty */ roundtrip(basis, 0, basis, 0, 64, "both empty"); break;
	case 8: /* a basis of 1 byte: the new data starts with it, and does not */
		roundtrip(basis, 1, basis, 5000, 5000 + 512, "1-byte basis, longer new");
		roundtrip(basis, 1, basis, 1, 64, "1-byte basis, same");
		roundtrip(basis + 1, 1, basis, 1, 64, "1-byte basis, other byte");
		roundtrip(basis, 5000, basis, 1, 64, "1-byte new");
		break;
	case 9: /* the middle removed */
		data = malloc(n);
		ck_assert(data != NULL);
		memcpy(data, basis, n / 2);
		memcpy(data + n / 2, basis + n / 2 + 50000, n / 2 - 50000);
		roundtrip(basis, n, data, n - 50000, 4096 + 2048, "a deleted range");
		break;
	case 10: /* all different: about the data itself */
		data = rand_bytes(&r, n);
		roundtrip(basis, n, data, n, n + n / 50, "all different");
		break;
	case 11: /* blocks reordered and repeated */
		data = malloc(3 * 65536);
		ck_assert(data != NULL);
		memcpy(data, basis + 500000, 65536);
		memcpy(data + 65536, basis, 65536);
		memcpy(data + 2 * 65536, basis + 500000, 65536);
		roundtrip(basis, n, data, 3 * 65536, 3 * 2048 + 2048, "reordered blocks");
		break;
	}
	free(data);
	free(basis);
}
END_TEST

/* Sizes around librsync's block length (2048 bytes below 4 MiB), with a change at a block boundary. */
START_TEST(test_roundtrip_block_edges)
{
	static const size_t sizes[] = {1, 2, 2047, 2048, 2049, 4095, 4096, 4097, 3 * 2048 - 1, 3 * 2048, 3 * 2048 + 1};
	struct rng r = {0xb10c + (uint64_t) _i};
	size_t n = sizes[_i];
	uint8_t *basis = rand_bytes(&r, n + 2), *data = malloc(n + 2);
	char what[96];

	ck_assert(data != NULL);
	snprintf(what, sizeof(what), "%zu bytes, same", n);
	roundtrip(basis, n, basis, n, 64, what);
	/* a byte flipped at each block edge in reach */
	for (size_t at = 0; at < n; at = at ? at + 2048 : 2047) {
		memcpy(data, basis, n);
		data[at] ^= 0xff;
		snprintf(what, sizeof(what), "%zu bytes, byte %zu flipped", n, at);
		roundtrip(basis, n, data, n, 2 * 2048 + 512, what);
		if (at + 1 < n) {
			memcpy(data, basis, n);
			data[at + 1] ^= 0x01;
			snprintf(what, sizeof(what), "%zu bytes, byte %zu flipped", n, at + 1);
			roundtrip(basis, n, data, n, 2 * 2048 + 512, what);
		}
	}
	snprintf(what, sizeof(what), "%zu bytes, one more", n);
	roundtrip(basis, n, basis, n + 1, 2048 + 512, what);
	snprintf(what, sizeof(what), "%zu bytes, one less", n);
	roundtrip(basis, n, basis, n - 1, 2048 + 512, what);
	snprintf(what, sizeof(what), "%zu bytes, shifted by one", n);
	roundtrip(basis, n, basis + 1, n, n + 512, what);
	free(basis);
	free(data);
}
END_TEST

/* A few MiB (block length above the default) with edits of every kind: the delta is far smaller. */
START_TEST(test_roundtrip_large)
{
	struct rng r = {0x1a26e};
	const size_t n = 6u << 20;
	uint8_t *basis = rand_bytes(&r, n), *a = overwritten(&r, basis, n, 50, 100);
	uint8_t *b = inserted(&r, a, n, 4096, 1024);
	uint8_t *c = inserted(&r, b, n + 1024, n + 1024, 100 * 1024);
	size_t d;

	d = roundtrip(basis, n, a, n, n / 40, "6 MiB, 50 overwrites");
	REQUIRE_MSG(d < n / 40, "delta %zu", d);
	roundtrip(basis, n, b, n + 1024, n / 40, "6 MiB, overwrites and an insertion");
	roundtrip(b, n + 1024, c, n + 1024 + 100 * 1024, 100 * 1024 + 16384, "6 MiB, appended tail");
	roundtrip(basis, n, basis, n, 256, "6 MiB, same");
	free(basis);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* A signature fed in pieces of every size loads the same: the deltas made from it are the same. */
START_TEST(test_sig_pieces)
{
	struct rng r = {0x51e};
	const size_t n = 300000;
	uint8_t *basis = rand_bytes(&r, n), *data = overwritten(&r, basis, n, 5, 50);
	struct buf sig = {0}, d0 = {0}, d1 = {0};

	make_sig(basis, n, &sig);
	make_delta(&sig, data, n, 0, &d0);
	for (size_t piece = 1; piece < 40; piece += 3) {
		make_delta(&sig, data, n, piece, &d1);
		REQUIRE_MSG(d1.len == d0.len && memcmp(d1.p, d0.p, d0.len) == 0,
		            "a signature fed in %zu-byte pieces makes another delta", piece);
		buf_free(&d1);
	}
	buf_free(&sig);
	buf_free(&d0);
	free(basis);
	free(data);
}
END_TEST

/* ---------------------------------------------------------------- crafted deltas */

/* COPY with the widths given (1, 2, 4, 8 bytes each). */
static void put_copy(struct buf *d, uint64_t pos, int wpos, uint64_t len, int wlen)
{
	static const int widths[] = {1, 2, 4, 8};
	int ip = 0, il = 0;

	while (widths[ip] != wpos)
		ip++;
	while (widths[il] != wlen)
		il++;
	put_byte(d, (uint8_t) (0x45 + 4 * ip + il));
	put_be(d, pos, wpos);
	put_be(d, len, wlen);
}

/* LITERAL with the length's width given (0: the length in the opcode, 1..64). */
static void put_literal(struct buf *d, const void *p, uint64_t len, int wlen)
{
	if (wlen == 0) {
		put_byte(d, (uint8_t) len);
	} else {
		put_byte(d, (uint8_t) (0x41 + (wlen == 1 ? 0 : wlen == 2 ? 1 : wlen == 4 ? 2 : 3)));
		put_be(d, len, wlen);
	}
	if (p)
		buf_add(d, p, (size_t) len);
}

static void put_magic(struct buf *d)
{
	put_be(d, DELTA_MAGIC, 4);
}

/* The encoding is right: a crafted delta with every form of command patches as expected. */
START_TEST(test_crafted_valid)
{
	struct rng r = {0xc4af7};
	uint8_t *basis = rand_bytes(&r, 1000);
	struct buf d = {0}, out = {0}, want = {0};
	uint64_t written;
	static const int widths[] = {1, 2, 4, 8};
	int rc;

	put_magic(&d);
	put_copy(&d, 10, 2, 100, 2);
	buf_add(&want, basis + 10, 100);
	put_literal(&d, "abc", 3, 0);
	buf_add(&want, "abc", 3);
	put_literal(&d, basis, 64, 0);
	buf_add(&want, basis, 64);
	put_copy(&d, 0, 8, 1000, 8);
	buf_add(&want, basis, 1000);
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++) {
			uint64_t pos = widths[a] == 1 ? 255 : 999;
			put_copy(&d, pos, widths[a], 1, widths[b]);
			buf_add(&want, basis + pos, 1);
			put_literal(&d, basis + a + b, 5, widths[b]);
			buf_add(&want, basis + a + b, 5);
		}
	put_copy(&d, 0, 1, 255, 1);
	buf_add(&want, basis, 255);
	put_byte(&d, 0);
	rc = patch(basis, 1000, d.p, d.len, want.len, 0, &out, &written);
	REQUIRE_MSG(rc == 0, "a crafted delta failed (%d): %s", rc, mm_error_msg());
	ck_assert_uint_eq(written, want.len);
	for (size_t i = 0; i < want.len; i++)
		REQUIRE_MSG(out.p[i] == want.p[i], "the crafted delta's output differs at byte %zu of %zu", i,
		            want.len);
	buf_free(&out);
	rc = patch(basis, 1000, d.p, d.len, want.len, 1, &out, &written);
	REQUIRE_MSG(rc == 0 && out.len == want.len, "fed byte by byte (%d): %s", rc, mm_error_msg());
	buf_free(&out);
	buf_free(&d);
	buf_free(&want);
	free(basis);
}
END_TEST

struct bad_copy {
	uint64_t pos;
	int wpos;
	uint64_t len;
	int wlen;
};

/* COPY commands that reach outside a basis of 1000 bytes. */
static const struct bad_copy bad_copies[] = {
        {1000, 2, 1, 1},                     /* just past the end */
        {999, 2, 2, 1},                      /* straddles the end */
        {0, 1, 1001, 2},                     /* one byte too long */
        {0, 8, 0xffffffffu, 4},              /* 4 GiB */
        {500, 4, 0x7fffffffu, 4},            /* 2 GiB from the middle */
        {0, 8, (1ull << 32) + 5, 8},         /* 4 GiB + 5 (a length that is 5 in 32 bits) */
        {0, 8, (1ull << 31) + 5, 8},         /* a length negative in 32 bits */
        {1ull << 40, 8, 1, 1},               /* far beyond */
        {(1ull << 63) - 1, 8, 1, 1},         /* the largest position */
        {0xffffffffffffffffull, 8, 1, 1},    /* a negative position */
        {0x8000000000000000ull, 8, 16, 1},   /* the most negative position */
        {0, 1, 0, 1},                        /* an empty copy */
        {10, 1, 0xffffffffffffffffull, 8},   /* a negative length */
        {10, 1, 0x8000000000000000ull, 8},   /* the most negative length */
        {0xfffffffffffffc18ull, 8, 1001, 2}, /* pos -1000: pos + len wraps to 1 */
        {2000, 2, 1, 1},                     /* after a basis of 1000 */
};

START_TEST(test_copy_outside_basis)
{
	const struct bad_copy *c = &bad_copies[_i];
	struct rng r = {0xbad};
	uint8_t *basis = rand_bytes(&r, 1000);
	struct buf d = {0}, out = {0};
	uint64_t written = 0;
	int rc;

	/* alone, after a valid copy, and out_max large enough for anything */
	for (int lead = 0; lead < 2; lead++) {
		for (size_t piece = 0; piece < 3; piece += 2) {
			buf_free(&d);
			put_magic(&d);
			if (lead)
				put_copy(&d, 0, 1, 100, 1);
			put_copy(&d, c->pos, c->wpos, c->len, c->wlen);
			put_byte(&d, 0);
			rc = patch(basis, 1000, d.p, d.len, 1ull << 40, piece, &out, &written);
			REQUIRE_MSG(rc == MM_ECORRUPT,
			            "COPY(%llu, %llu) from a basis of 1000 bytes: %d (%s), %zu bytes written, not "
			            "MM_ECORRUPT",
			            (unsigned long long) c->pos, (unsigned long long) c->len, rc,
			            rc ? mm_error_msg() : "ok", out.len);
			REQUIRE_MSG(out.len <= (lead ? 100u : 0u) + 1000u, "%zu bytes written", out.len);
			buf_free(&out);
		}
	}
	/* against an empty basis, any copy is outside */
	buf_free(&d);
	put_magic(&d);
	put_copy(&d, 0, 1, 1, 1);
	put_byte(&d, 0);
	rc = patch(basis, 0, d.p, d.len, 1ull << 40, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT, "a copy from an empty basis: %d", rc);
	buf_free(&out);
	buf_free(&d);
	free(basis);
}
END_TEST

/* The basis file is shorter than the size it was said to have: a copy from what is missing fails. */
START_TEST(test_copy_basis_shrank)
{
	struct rng r = {0x5a};
	uint8_t *basis = rand_bytes(&r, 1000);
	struct buf d = {0}, out = {0};
	struct delta_patch *p = NULL;
	uint64_t w;
	int fd = mem_fd(basis, 500), rc;

	put_magic(&d);
	put_copy(&d, 400, 2, 200, 2);
	put_byte(&d, 0);
	TU_OK(delta_patch_new(&p, fd, 1000, 1000, buf_out, &out));
	rc = delta_patch_feed(p, d.p, d.len);
	if (rc == 0)
		rc = delta_patch_done(p, &w);
	REQUIRE_MSG(rc < 0, "a copy from a basis that shrank succeeded");
	delta_patch_free(p);
	close(fd);
	buf_free(&out);
	buf_free(&d);
	free(basis);
}
END_TEST

/* Output beyond out_max: by literal, by copy, by many copies, with out_max 0. */
START_TEST(test_output_bound)
{
	struct rng r = {0x0b};
	uint8_t *basis = rand_bytes(&r, 200000);
	struct buf d = {0}, out = {0};
	uint64_t written;
	int rc;

	put_magic(&d);
	put_literal(&d, basis, 100000, 4);
	put_byte(&d, 0);
	for (size_t piece = 0; piece < 2; piece++) {
		rc = patch(basis, 1000, d.p, d.len, 1000, piece ? 333 : 0, &out, &written);
		REQUIRE_MSG(rc == MM_ECORRUPT, "a literal of 100000 bytes with out_max 1000: %d", rc);
		buf_free(&out);
	}
	rc = patch(basis, 1000, d.p, d.len, 0, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT && out.len == 0, "a literal with out_max 0: %d", rc);
	buf_free(&out);

	buf_free(&d);
	put_magic(&d);
	put_copy(&d, 0, 1, 1000, 2);
	put_byte(&d, 0);
	rc = patch(basis, 1000, d.p, d.len, 999, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT, "a copy of 1000 bytes with out_max 999: %d", rc);
	buf_free(&out);
	rc = patch(basis, 1000, d.p, d.len, 1000, 0, &out, &written);
	REQUIRE_MSG(rc == 0 && written == 1000, "a copy of 1000 bytes with out_max 1000: %d", rc);
	buf_free(&out);

	/* a delta that multiplies: 100000 copies of the whole 200000-byte basis (20 GB) */
	buf_free(&d);
	put_magic(&d);
	for (int i = 0; i < 100000; i++)
		put_copy(&d, 0, 1, 200000, 4);
	put_byte(&d, 0);
	rc = patch(basis, 200000, d.p, d.len, 5000000, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT, "20 GB of copies with out_max 5 MB: %d", rc);
	buf_free(&out);

	/* a literal that says it is huge but ends early */
	buf_free(&d);
	put_magic(&d);
	put_literal(&d, NULL, 1ull << 62, 8);
	buf_add(&d, basis, 5000);
	rc = patch(basis, 1000, d.p, d.len, 1ull << 63, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT && out.len <= 5000, "a literal of 2^62 bytes that ends after 5000: %d", rc);
	buf_free(&out);
	/* a literal of a negative length, and of 0 */
	buf_free(&d);
	put_magic(&d);
	put_literal(&d, NULL, 0xffffffffffffff00ull, 8);
	buf_add(&d, basis, 300);
	put_byte(&d, 0);
	rc = patch(basis, 1000, d.p, d.len, 1ull << 40, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT, "a literal of a negative length: %d", rc);
	buf_free(&out);
	buf_free(&d);
	put_magic(&d);
	put_literal(&d, NULL, 0, 1);
	put_byte(&d, 0);
	rc = patch(basis, 1000, d.p, d.len, 1ull << 40, 0, &out, &written);
	REQUIRE_MSG(rc == MM_ECORRUPT, "a literal of length 0: %d", rc);
	buf_free(&out);
	buf_free(&d);
	free(basis);
}
END_TEST

/* Opcodes librsync reserves (0x55..0xff), a wrong magic, a signature's magic. */
START_TEST(test_bad_opcodes)
{
	uint8_t basis[16] = {0};
	struct buf d = {0}, out = {0};
	int rc;

	for (int op = 0x55; op <= 0xff; op++) {
		buf_free(&d);
		put_magic(&d);
		put_byte(&d, (uint8_t) op);
		for (int i = 0; i < 20; i++)
			put_byte(&d, 1);
		put_byte(&d, 0);
		rc = patch(basis, sizeof(basis), d.p, d.len, 1 << 20, 0, &out, NULL);
		REQUIRE_MSG(rc == MM_ECORRUPT, "opcode %#x: %d", op, rc);
		buf_free(&out);
	}
	static const uint32_t magics[] = {
	        0, 0x72730136u, BLAKE2_SIG_MAGIC, RK_BLAKE2_SIG_MAGIC, DELTA_MAGIC ^ 1u, 0x36027372u};
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		buf_free(&d);
		put_be(&d, magics[i], 4);
		put_byte(&d, 0);
		rc = patch(basis, sizeof(basis), d.p, d.len, 1 << 20, 0, &out, NULL);
		REQUIRE_MSG(rc == MM_ECORRUPT, "magic %#x: %d", magics[i], rc);
		buf_free(&out);
	}
	buf_free(&d);
}
END_TEST

/* A real delta with several commands, and its basis and new data. */
struct real {
	uint8_t *basis, *data;
	size_t bn, dn;
	struct buf delta;
};

static void real_delta(struct real *rd, uint64_t seed, size_t n)
{
	struct rng r = {seed};
	uint8_t *a, *b;
	struct buf sig = {0};

	memset(rd, 0, sizeof(*rd));
	rd->basis = rand_bytes(&r, n);
	rd->bn = n;
	a = overwritten(&r, rd->basis, n, 3, 30);
	b = inserted(&r, a, n, n / 3, 77);
	rd->data = inserted(&r, b, n + 77, 10, 5);
	rd->dn = n + 82;
	free(a);
	free(b);
	make_sig(rd->basis, rd->bn, &sig);
	make_delta(&sig, rd->data, rd->dn, 0, &rd->delta);
	buf_free(&sig);
}

static void real_free(struct real *rd)
{
	free(rd->basis);
	free(rd->data);
	buf_free(&rd->delta);
}

/* Every prefix of a real delta fails (at feed or at done), whole or split in two. */
START_TEST(test_truncated_deltas)
{
	struct real rd;
	struct buf out = {0};
	uint64_t written;
	int rc;

	real_delta(&rd, 0x7c, 40000);
	ck_assert_msg(rd.delta.len > 100 && rd.delta.len < 20000, "delta of %zu bytes", rd.delta.len);
	for (size_t len = 0; len <= rd.delta.len; len++) {
		for (int split = 0; split < 2; split++) {
			rc = patch(rd.basis, rd.bn, rd.delta.p, len, rd.dn, split ? (len + 1) / 2 : 0, &out, &written);
			if (len == rd.delta.len)
				REQUIRE_MSG(rc == 0 && out.len == rd.dn && !memcmp(out.p, rd.data, rd.dn),
				            "the whole delta: %d", rc);
			else
				REQUIRE_MSG(rc == MM_ECORRUPT,
				            "a delta cut at %zu of %zu bytes gave %d, not MM_ECORRUPT", len,
				            rd.delta.len, rc);
			buf_free(&out);
		}
	}
	real_free(&rd);
}
END_TEST

/*
 * Every prefix again, but fed through one patch job: feed() of the prefix,
 * then done().  delta_patch_done must also fail cleanly after a feed that
 * failed (librsync must not be run again after an error).
 */
START_TEST(test_done_after_failed_feed)
{
	struct rng r = {0xdead};
	uint8_t *basis = rand_bytes(&r, 1000);
	struct buf d = {0}, out = {0};
	struct delta_patch *p = NULL;
	uint64_t w;
	int fd = mem_fd(basis, 1000), rc;

	put_magic(&d);
	put_copy(&d, 999, 2, 2, 1); /* outside */
	put_byte(&d, 0);
	TU_OK(delta_patch_new(&p, fd, 1000, 1 << 20, buf_out, &out));
	rc = delta_patch_feed(p, d.p, d.len);
	ck_assert_int_eq(rc, MM_ECORRUPT);
	/* the caller goes on: more input, then done; both must fail, not abort */
	rc = delta_patch_feed(p, "x", 1);
	ck_assert_int_lt(rc, 0);
	rc = delta_patch_done(p, &w);
	ck_assert_int_lt(rc, 0);
	delta_patch_free(p);
	close(fd);
	buf_free(&out);
	buf_free(&d);
	free(basis);
}
END_TEST

/* Bytes after the END command: in the same feed, in a later feed. */
START_TEST(test_bytes_after_end)
{
	struct real rd;
	struct buf d = {0}, out = {0};
	struct delta_patch *p = NULL;
	uint64_t w;
	int fd, rc;

	real_delta(&rd, 0xe4d, 30000);
	/* a later feed */
	fd = mem_fd(rd.basis, rd.bn);
	TU_OK(delta_patch_new(&p, fd, rd.bn, rd.dn, buf_out, &out));
	TU_OK(delta_patch_feed(p, rd.delta.p, rd.delta.len));
	TU_OK(delta_patch_feed(p, "", 0));
	rc = delta_patch_feed(p, "x", 1);
	if (rc == 0)
		rc = delta_patch_done(p, &w);
	REQUIRE_MSG(rc == MM_ECORRUPT, "a byte fed after the end of a delta: %d", rc);
	delta_patch_free(p);
	buf_free(&out);

	/* the same feed: the delta and one more byte, or a second END */
	for (int k = 0; k < 3; k++) {
		buf_free(&d);
		buf_add(&d, rd.delta.p, rd.delta.len);
		buf_add(&d, k == 0 ? "x" : k == 1 ? "\0" : "\x41\x01z", k == 2 ? 3 : 1);
		TU_OK(delta_patch_new(&p, fd, rd.bn, rd.dn + 1, buf_out, &out));
		rc = delta_patch_feed(p, d.p, d.len);
		if (rc == 0)
			rc = delta_patch_done(p, &w);
		REQUIRE_MSG(rc == MM_ECORRUPT,
		            "a delta followed by %d more byte(s) in the same feed: %d, not MM_ECORRUPT", k == 2 ? 3 : 1,
		            rc);
		delta_patch_free(p);
		buf_free(&out);
	}
	close(fd);
	buf_free(&d);
	real_free(&rd);
}
END_TEST

/*
 * A strict reading of a delta (librsync's format): 1 valid, 0 not, -1 when
 * librsync's reading may differ (a copy length of 2^31 or more, which some
 * versions cut to 32 bits), -2 for a valid delta followed by more bytes
 * (test_bytes_after_end's case: not compared here).
 */
static int ref_valid(const uint8_t *p, size_t n, uint64_t basis_size, uint64_t out_max)
{
	static const int widths[] = {1, 2, 4, 8};
	size_t at = 4;
	uint64_t out = 0;

	if (n < 4 || ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3]) != DELTA_MAGIC)
		return 0;
	for (;;) {
		if (at >= n)
			return 0;
		uint8_t op = p[at++];
		if (op == 0)
			return at == n ? 1 : -2;
		uint64_t v[2] = {0, 0};
		int w[2] = {0, 0};
		if (op >= 0x41 && op <= 0x44)
			w[0] = widths[op - 0x41];
		else if (op >= 0x45 && op <= 0x54)
			w[0] = widths[(op - 0x45) / 4], w[1] = widths[(op - 0x45) % 4];
		else if (op > 0x54)
			return 0;
		for (int k = 0; k < 2; k++)
			for (int i = 0; i < w[k]; i++) {
				if (at >= n)
					return 0;
				v[k] = v[k] << 8 | p[at++];
			}
		if (op <= 0x44) {
			uint64_t len = op <= 0x40 ? op : v[0];
			if (len == 0 || len > n - at || len > out_max - out)
				return 0;
			at += len;
			out += len;
		} else {
			if (v[1] >= 1ull << 31)
				return -1;
			if (v[1] == 0 || v[0] > basis_size || v[1] > basis_size - v[0] || v[1] > out_max - out)
				return 0;
			out += v[1];
		}
	}
}

/* Random garbage, without the magic and with it; mutations of a real delta. */
START_TEST(test_garbage_deltas)
{
	struct rng r = {0x6a4ba6e};
	struct real rd;
	struct buf d = {0}, out = {0};
	int rc, ok = 0;

	real_delta(&rd, 0x3a, 20000);
	for (int i = 0; i < 3000; i++) {
		size_t n = (size_t) rng_below(&r, i < 1000 ? 64 : 400);
		uint8_t *g = rand_bytes(&r, n);
		buf_free(&d);
		if (i % 2)
			put_magic(&d);
		/* small bytes (short literals, END) and copy opcodes are more likely to go far */
		for (size_t k = 0; k < n && i % 3 == 0; k++)
			g[k] = g[k] % 3 == 0   ? (uint8_t) (0x41 + g[k] % 20)
			       : g[k] % 3 == 1 ? (uint8_t) (g[k] % 8)
			                       : g[k];
		buf_add(&d, g, n);
		free(g);
		uint64_t out_max = rng_below(&r, 2) ? 1ull << 20 : rng_below(&r, 3000);
		int want = ref_valid(d.p, d.len, rd.bn, out_max);
		rc = patch(rd.basis, rd.bn, d.p, d.len, out_max, (size_t) rng_below(&r, 8), &out, NULL);
		REQUIRE_MSG(rc == 0 || rc == MM_ECORRUPT, "garbage %d: %d", i, rc);
		if (getenv("DELTA_DEBUG") && rc == 0) {
			fprintf(stderr, "garbage %d valid (%zu bytes):", i, d.len);
			for (size_t k = 0; k < d.len; k++)
				fprintf(stderr, " %02x", d.p[k]);
			fprintf(stderr, "\n");
		}
		if (want >= 0)
			REQUIRE_MSG((rc == 0) == (want == 1),
			            "garbage %d (%zu bytes, first op %#x): the patch says %s, a strict reading %s", i,
			            d.len, d.len > 4 ? d.p[4] : 0, rc == 0 ? "valid" : "invalid",
			            want ? "valid" : "invalid");
		ok += rc == 0;
		buf_free(&out);
	}
	/* mutations: 1 to 4 bytes of a real delta changed; no crash, output bounded */
	for (int i = 0; i < 2000; i++) {
		buf_free(&d);
		buf_add(&d, rd.delta.p, rd.delta.len);
		int k = 1 + (int) rng_below(&r, 4);
		for (int j = 0; j < k; j++)
			d.p[rng_below(&r, d.len)] = (uint8_t) rng_next(&r);
		rc = patch(rd.basis, rd.bn, d.p, d.len, rd.dn, 0, &out, NULL);
		REQUIRE_MSG(rc == 0 || rc == MM_ECORRUPT, "mutation %d: %d", i, rc);
		int want = ref_valid(d.p, d.len, rd.bn, rd.dn);
		if (want >= 0)
			REQUIRE_MSG((rc == 0) == (want == 1), "mutation %d: the patch says %s, a strict reading %s", i,
			            rc == 0 ? "valid" : "invalid", want ? "valid" : "invalid");
		buf_free(&out);
	}
	buf_free(&d);
	real_free(&rd);
}
END_TEST

/* ---------------------------------------------------------------- hostile signatures */

static int sig_result(const void *p, size_t n, size_t piece)
{
	struct delta_sig *s = NULL;
	int rc = load_sig(&s, p, n, piece);

	delta_sig_free(s);
	return rc;
}

START_TEST(test_sig_garbage)
{
	struct rng r = {0x516a};
	struct buf s = {0};
	int rc;

	/* random bytes, and random bytes after a signature magic */
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t) rng_below(&r, 300);
		uint8_t *g = rand_bytes(&r, n);
		buf_free(&s);
		if (i % 2) {
			put_be(&s, i % 4 == 1 ? RK_BLAKE2_SIG_MAGIC : BLAKE2_SIG_MAGIC, 4);
			if (n >= 4 && i % 3 == 0) { /* a block length that may pass */
				g[0] = 0, g[1] = 0, g[2] = 8, g[3] = 0;
			}
		}
		buf_add(&s, g, n);
		free(g);
		rc = sig_result(s.p, s.len, (size_t) rng_below(&r, 10));
		if (!(i % 2))
			REQUIRE_MSG(rc == MM_ECORRUPT, "garbage signature %d (%zu bytes): %d", i, s.len, rc);
		else
			REQUIRE_MSG(rc == 0 || rc == MM_ECORRUPT, "garbage after a magic %d: %d", i, rc);
	}
	buf_free(&s);
	/* nothing at all, a delta's magic */
	rc = sig_result("", 0, 0);
	REQUIRE_MSG(rc == MM_ECORRUPT, "an empty signature: %d", rc);
	put_be(&s, DELTA_MAGIC, 4);
	put_be(&s, 2048, 4);
	put_be(&s, 8, 4);
	rc = sig_result(s.p, s.len, 0);
	REQUIRE_MSG(rc == MM_ECORRUPT, "a delta's magic in a signature: %d", rc);
	buf_free(&s);
}
END_TEST

/* Headers with a bad block length or strong sum length. */
START_TEST(test_sig_bad_header)
{
	static const struct {
		uint32_t block, strong;
	} bad[] = {{0, 8},      {0x80000000u, 8},    {0xffffffffu, 8},
	           {2048, 33},  {2048, 0xffffffffu}, {2048, 0x80000000u},
	           {2048, 1000}};
	struct buf s = {0};
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_free(&s);
		put_be(&s, RK_BLAKE2_SIG_MAGIC, 4);
		put_be(&s, bad[i].block, 4);
		put_be(&s, bad[i].strong, 4);
		for (int k = 0; k < 10 * 40; k++)
			put_byte(&s, (uint8_t) k);
		rc = sig_result(s.p, s.len, 0);
		REQUIRE_MSG(rc == MM_ECORRUPT, "block length %u, strong length %u: %d", bad[i].block, bad[i].strong,
		            rc);
	}
	buf_free(&s);
}
END_TEST

/* Every prefix of a real signature: valid only when it ends after a whole block (or after the header). */
START_TEST(test_sig_truncated)
{
	struct rng r = {0x7a};
	uint8_t *basis = rand_bytes(&r, 100000);
	struct buf sig = {0};
	size_t strong, each;
	int rc;

	make_sig(basis, 100000, &sig);
	strong = (size_t) sig.p[8] << 24 | (size_t) sig.p[9] << 16 | (size_t) sig.p[10] << 8 | sig.p[11];
	each = 4 + strong;
	ck_assert_uint_eq((sig.len - 12) % each, 0);
	for (size_t len = 0; len <= sig.len; len++) {
		int whole = len >= 12 && (len - 12) % each == 0;
		/* a cut inside a weak sum is checked by test_sig_cut_in_weak_sum */
		if (len > 12 && (len - 12) % each < 4)
			continue;
		rc = sig_result(sig.p, len, len % 7);
		if (whole)
			REQUIRE_MSG(rc == 0, "a signature of %zu whole blocks: %d (%s)", (len - 12) / each, rc,
			            mm_error_msg());
		else
			REQUIRE_MSG(rc == MM_ECORRUPT, "a signature cut at %zu of %zu bytes gave %d", len, sig.len, rc);
	}
	buf_free(&sig);
	free(basis);
}
END_TEST

/* A signature cut inside a block's weak sum (1 to 3 bytes of it there) does not parse. */
START_TEST(test_sig_cut_in_weak_sum)
{
	struct rng r = {0x7b};
	uint8_t *basis = rand_bytes(&r, 100000);
	struct buf sig = {0};
	size_t strong, each;
	int rc;

	make_sig(basis, 100000, &sig);
	strong = (size_t) sig.p[11];
	each = 4 + strong;
	for (size_t extra = 1; extra < 4; extra++) {
		size_t len = 12 + 5 * each + extra;
		rc = sig_result(sig.p, len, 0);
		REQUIRE_MSG(rc == MM_ECORRUPT,
		            "a signature with %zu byte(s) of a weak sum at its end gave %d, not MM_ECORRUPT", extra,
		            rc);
	}
	buf_free(&sig);
	free(basis);
}
END_TEST

/* More than DELTA_MAX_SIG, in pieces: refused once past the bound, never more taken. */
START_TEST(test_sig_too_large)
{
	const size_t piece = 1u << 20;
	uint8_t *blocks = malloc(piece);
	struct delta_sig *s = NULL;
	struct buf h = {0};
	uint64_t fed = 0;
	int rc = 0;

	ck_assert(blocks != NULL);
	/* blocks of 4 + 4 bytes: the weak sums vary */
	for (size_t i = 0; i < piece; i += 8) {
		uint32_t v = (uint32_t) (i * 2654435761u);
		memcpy(blocks + i, &v, 4);
		memcpy(blocks + i + 4, &v, 4);
	}
	put_be(&h, RK_BLAKE2_SIG_MAGIC, 4);
	put_be(&h, 2048, 4);
	put_be(&h, 4, 4);
	TU_OK(delta_sig_new(&s));
	TU_OK(delta_sig_feed(s, h.p, h.len));
	fed = h.len;
	while (fed <= DELTA_MAX_SIG + 2 * (uint64_t) piece) {
		rc = delta_sig_feed(s, blocks, piece);
		if (rc < 0)
			break;
		fed += piece;
	}
	REQUIRE_MSG(rc == MM_ECORRUPT, "a signature of %llu bytes was taken", (unsigned long long) fed);
	REQUIRE_MSG(fed <= DELTA_MAX_SIG && fed + piece > DELTA_MAX_SIG,
	            "refused after %llu bytes, not at the first piece past %u", (unsigned long long) fed,
	            DELTA_MAX_SIG);
	/* and it stays refused */
	rc = delta_sig_feed(s, blocks, 8);
	ck_assert_int_eq(rc, MM_ECORRUPT);
	delta_sig_free(s);

	/* one piece larger than the bound, at once: refused before anything is read */
	TU_OK(delta_sig_new(&s));
	rc = delta_sig_feed(s, blocks, (size_t) DELTA_MAX_SIG + 1); /* only the length matters: never read */
	ck_assert_int_eq(rc, MM_ECORRUPT);
	delta_sig_free(s);
	buf_free(&h);
	free(blocks);
}
END_TEST

/* A signature exactly at the bound is taken. */
START_TEST(test_sig_at_bound)
{
	struct delta_sig *s = NULL;
	uint8_t *all = calloc(1, DELTA_MAX_SIG);
	uint64_t n = DELTA_MAX_SIG - (DELTA_MAX_SIG - 12) % 8;

	ck_assert(all != NULL);
	all[0] = 0x72, all[1] = 0x73, all[2] = 0x01, all[3] = 0x47; /* RK_BLAKE2 */
	all[6] = 0x08;                                              /* block 2048 */
	all[11] = 4;                                                /* strong 4 */
	for (uint64_t i = 12; i + 8 <= n; i += 8) {
		uint32_t v = (uint32_t) (i * 2654435761u);
		memcpy(all + i, &v, 4);
	}
	TU_OK(load_sig(&s, all, (size_t) n, 4u << 20));
	delta_sig_free(s);
	free(all);
}
END_TEST

/* Bytes after a signature's end: a partial block, or bytes fed after delta_sig_done. */
START_TEST(test_sig_bytes_after_end)
{
	struct rng r = {0xaf7};
	uint8_t *basis = rand_bytes(&r, 50000);
	struct buf sig = {0};
	struct delta_sig *s = NULL;
	size_t each;
	int rc;

	make_sig(basis, 50000, &sig);
	each = 4 + sig.p[11];
	/* a partial block after the last: 4 .. each-1 bytes (1..3 are test_sig_cut_in_weak_sum's) */
	for (size_t extra = 4; extra < each; extra++) {
		struct buf t = {0};
		buf_add(&t, sig.p, sig.len);
		for (size_t k = 0; k < extra; k++)
			put_byte(&t, 0xee);
		rc = sig_result(t.p, t.len, 0);
		REQUIRE_MSG(rc == MM_ECORRUPT, "a signature and %zu more bytes: %d", extra, rc);
		buf_free(&t);
	}
	/* bytes fed after the end */
	TU_OK(load_sig(&s, sig.p, sig.len, 0));
	rc = delta_sig_feed(s, "xxxxxxxxxxxx", 12);
	ck_assert_int_eq(rc, MM_ECORRUPT);
	delta_sig_free(s);
	buf_free(&sig);
	free(basis);
}
END_TEST

/*
 * Signatures a hostile receiver may send that parse: a huge block length, the
 * MD4 magic, no blocks, blocks that all collide.  A delta made from them
 * still patches back to the data.
 */
START_TEST(test_sig_odd_but_valid)
{
	struct rng r = {0x0dd};
	const size_t n = 300000;
	uint8_t *data = rand_bytes(&r, n);
	struct buf s = {0}, d = {0}, out = {0};
	struct delta_sig *sig = NULL;
	int fd = mem_fd(data, n), rc;

	for (int k = 0; k < 4; k++) {
		buf_free(&s);
		put_be(&s, k == 1 ? 0x72730136u : RK_BLAKE2_SIG_MAGIC, 4);
		put_be(&s, k == 0 ? 0x7fffffffu : k == 3 ? 1 : 2048, 4);
		put_be(&s, 8, 4);
		for (int b = 0; b < (k >= 2 ? 1000 : 0); b++)
			put_be(&s, k == 3 ? 0 : (uint64_t) b * 7919u, 4), put_be(&s, 0, 8);
		rc = load_sig(&sig, s.p, s.len, 100);
		REQUIRE_MSG(rc == 0, "odd signature %d: %d %s", k, rc, mm_error_msg());
		ck_assert(lseek(fd, 0, SEEK_SET) == 0);
		TU_OK(delta_make(sig, fd, buf_out, &d));
		delta_sig_free(sig);
		sig = NULL;
		/* the basis is not what the signature says: the output is checked against the data only when copies are
		 * bounded */
		rc = patch(data, n, d.p, d.len, n, 0, &out, NULL);
		REQUIRE_MSG(rc == 0 || rc == MM_ECORRUPT, "odd signature %d: patch %d", k, rc);
		if (k != 3)
			REQUIRE_MSG(rc == 0 && out.len == n && !memcmp(out.p, data, n), "odd signature %d: patch %d", k,
			            rc);
		buf_free(&out);
		buf_free(&d);
	}
	close(fd);
	buf_free(&s);
	free(data);
}
END_TEST

/* An output function that fails: its error comes back from the patch and from the signature. */
static int fail_out(void *arg, const void *p, size_t n)
{
	(void) arg;
	(void) p;
	(void) n;
	return mm_error_set(MM_EIO, "disk full");
}

START_TEST(test_out_fails)
{
	struct real rd;
	struct delta_patch *p = NULL;
	uint64_t w;
	int fd, rc;

	real_delta(&rd, 0xf0, 20000);
	fd = mem_fd(rd.basis, rd.bn);
	rc = delta_signature(fd, rd.bn, fail_out, NULL);
	ck_assert_int_eq(rc, MM_EIO);
	TU_OK(delta_patch_new(&p, fd, rd.bn, rd.dn, fail_out, NULL));
	rc = delta_patch_feed(p, rd.delta.p, rd.delta.len);
	if (rc == 0)
		rc = delta_patch_done(p, &w);
	ck_assert_int_eq(rc, MM_EIO);
	delta_patch_free(p);
	close(fd);
	real_free(&rd);
}
END_TEST

Suite *delta_suite(void)
{
	Suite *s = suite_create("delta");
	TCase *tc;

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_roundtrip_kinds, 0, 12);
	tcase_add_loop_test(tc, test_roundtrip_block_edges, 0, 11);
	tcase_add_test(tc, test_roundtrip_large);
	tcase_add_test(tc, test_sig_pieces);
	suite_add_tcase(s, tc);

	tc = tcase_create("patch");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_crafted_valid);
	tcase_add_loop_test(tc, test_copy_outside_basis, 0, (int) (sizeof(bad_copies) / sizeof(bad_copies[0])));
	tcase_add_test(tc, test_copy_basis_shrank);
	tcase_add_test(tc, test_output_bound);
	tcase_add_test(tc, test_bad_opcodes);
	tcase_add_test(tc, test_truncated_deltas);
	tcase_add_test(tc, test_done_after_failed_feed);
	tcase_add_test(tc, test_bytes_after_end);
	tcase_add_test(tc, test_garbage_deltas);
	tcase_add_test(tc, test_out_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("signature");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sig_garbage);
	tcase_add_test(tc, test_sig_bad_header);
	tcase_add_test(tc, test_sig_truncated);
	tcase_add_test(tc, test_sig_cut_in_weak_sum);
	tcase_add_test(tc, test_sig_too_large);
	tcase_add_test(tc, test_sig_at_bound);
	tcase_add_test(tc, test_sig_bytes_after_end);
	tcase_add_test(tc, test_sig_odd_but_valid);
	suite_add_tcase(s, tc);
	return s;
}
