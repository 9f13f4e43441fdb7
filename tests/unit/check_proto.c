/*
 * Unit tests for the protocol layers of sync/: the byte helpers (wire), the
 * messages (proto: every encoder checked to write one well-formed frame,
 * every decoder fed each truncation, a trailing byte, each invalid field,
 * and thousands of random and mutated payloads) and the framed connection
 * (conn: over a socket pair and over two pipes, with peers in child
 * processes where a test could otherwise block for ever).
 *
 * Every decoder reads a copy of its input in a buffer of exactly the input's
 * size, so that under SANITIZE=1 a read one byte too far is a report.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/path.h"
#include "sync/proto.h"
#include "sync/wire.h"
#include "testutil.h"

/* Like TU_REQUIRE, with a message of its own: for loops of many checks. */
#define REQUIRE_MSG(cond, ...)                                                                                         \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg(__VA_ARGS__);                                                                     \
	} while (0)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t) (p[0] << 8 | p[1]);
}

/* A copy of `len` bytes in a heap block of exactly that size (never NULL). */
static uint8_t *exact_copy(const void *p, size_t len)
{
	uint8_t *c = malloc(len);

	ck_assert_msg(c != NULL, "out of memory");
	if (len)
		memcpy(c, p, len);
	return c;
}

/* ---------------------------------------------------------------- wire */

START_TEST(test_wire_int_roundtrip)
{
	static const uint8_t u8s[] = {0, 1, 0x7f, 0x80, 0xfe, 0xff};
	static const uint16_t u16s[] = {0, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff};
	static const uint32_t u32s[] = {0,       1,          0xff,        0x100,       0xffff,
	                                0x10000, 0x7fffffff, 0x80000000u, 0xfffffffeu, 0xffffffffu};
	static const uint64_t u64s[] = {0,
	                                1,
	                                0xff,
	                                0xffffffffu,
	                                0x100000000u,
	                                (uint64_t) INT64_MAX,
	                                (uint64_t) INT64_MAX + 1,
	                                UINT64_MAX - 1,
	                                UINT64_MAX};
	size_t n8 = sizeof(u8s) / sizeof(u8s[0]), n16 = sizeof(u16s) / sizeof(u16s[0]);
	size_t n32 = sizeof(u32s) / sizeof(u32s[0]), n64 = sizeof(u64s) / sizeof(u64s[0]);
	struct wbuf b;
	struct rbuf r;
	uint8_t *copy;

	wbuf_init(&b);
	for (size_t i = 0; i < n8; i++)
		put_u8(&b, u8s[i]);
	for (size_t i = 0; i < n16; i++)
		put_u16(&b, u16s[i]);
	for (size_t i = 0; i < n32; i++)
		put_u32(&b, u32s[i]);
	for (size_t i = 0; i < n64; i++)
		put_u64(&b, u64s[i]);
	ck_assert(!b.oom);
	ck_assert_uint_eq(b.len, n8 + 2 * n16 + 4 * n32 + 8 * n64);

	copy = exact_copy(b.p, b.len);
	rbuf_init(&r, copy, b.len);
	for (size_t i = 0; i < n8; i++)
		ck_assert_uint_eq(get_u8(&r), u8s[i]);
	for (size_t i = 0; i < n16; i++)
		ck_assert_uint_eq(get_u16(&r), u16s[i]);
	for (size_t i = 0; i < n32; i++)
		ck_assert_uint_eq(get_u32(&r), u32s[i]);
	for (size_t i = 0; i < n64; i++)
		ck_assert_uint_eq(get_u64(&r), u64s[i]);
	ck_assert(!r.bad);
	ck_assert(rbuf_done(&r));
	free(copy);
	wbuf_dispose(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

/* Big endian, most significant byte first, exactly the width of each type. */
START_TEST(test_wire_byte_order)
{
	static const uint8_t want[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	                               0x0d, 0x0e, 0x0f, 0x00, 0x03, 'a',  'b',  'c',  0x00, 0x00, 0xca, 0xfe};
	struct wbuf b;

	wbuf_init(&b);
	put_u16(&b, 0x0102);
	put_u32(&b, 0x03040506);
	put_u64(&b, 0x0708090a0b0c0d0eu);
	put_u8(&b, 0x0f);
	put_str16(&b, "abc", 3);
	put_str16(&b, NULL, 0);
	put_bytes(&b, "\xca\xfe", 2);
	put_bytes(&b, NULL, 0);
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert(!memcmp(b.p, want, sizeof(want)));
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_wire_bytes_roundtrip)
{
	static const size_t lens[] = {0, 1, 255, 256, 257, 1000, 65534, 65535};
	struct wbuf b;
	struct rbuf r;
	uint8_t *data = malloc(70000), *copy;
	const uint8_t *got;
	size_t n;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < 70000; i++)
		data[i] = (uint8_t) (i * 131 + 7);
	wbuf_init(&b);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_bytes(&b, data + i, lens[i]);
		put_str16(&b, data + 2 * i, lens[i]);
	}
	put_bytes(&b, data, 70000); /* more than a str16 holds: put_bytes has no limit */
	ck_assert(!b.oom);
	copy = exact_copy(b.p, b.len);
	rbuf_init(&r, copy, b.len);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		got = get_bytes(&r, lens[i]);
		ck_assert_msg(got != NULL, "get_bytes(%zu)", lens[i]);
		ck_assert(!memcmp(got, data + i, lens[i]));
		got = get_str16(&r, 65535, &n);
		ck_assert_msg(got != NULL, "get_str16 of %zu bytes", lens[i]);
		ck_assert_uint_eq(n, lens[i]);
		ck_assert(!memcmp(got, data + 2 * i, lens[i]));
	}
	got = get_bytes(&r, 70000);
	ck_assert_ptr_nonnull(got);
	ck_assert(!memcmp(got, data, 70000));
	ck_assert(rbuf_done(&r));
	free(copy);
	wbuf_dispose(&b);
	free(data);
}
END_TEST

/* A read past the end returns 0 or NULL, sets `bad`, moves nothing, and every later read fails too. */
START_TEST(test_wire_past_end)
{
	static const uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct rbuf r;
	uint8_t *c;
	size_t n = 99;

	for (size_t avail = 0; avail < 8; avail++) {
		c = exact_copy(src, avail);
		rbuf_init(&r, c, avail);
		ck_assert_uint_eq(get_u64(&r), 0);
		ck_assert_msg(r.bad, "get_u64 with %zu bytes", avail);
		ck_assert_uint_eq(r.off, 0);
		if (avail >= 1) {
			/* latched: one byte is there but the reader already failed */
			ck_assert_uint_eq(get_u8(&r), 0);
			ck_assert_ptr_null(get_bytes(&r, 0));
		}
		ck_assert(!rbuf_done(&r));
		if (avail < 4) {
			rbuf_init(&r, c, avail);
			ck_assert_uint_eq(get_u32(&r), 0);
			ck_assert(r.bad);
		}
		if (avail < 2) {
			rbuf_init(&r, c, avail);
			ck_assert_uint_eq(get_u16(&r), 0);
			ck_assert(r.bad);
		}
		if (avail < 1) {
			rbuf_init(&r, c, avail);
			ck_assert_uint_eq(get_u8(&r), 0);
			ck_assert(r.bad);
		}
		rbuf_init(&r, c, avail);
		ck_assert_ptr_null(get_bytes(&r, avail + 1));
		ck_assert(r.bad);
		rbuf_init(&r, c, avail);
		ck_assert_ptr_null(get_bytes(&r, SIZE_MAX)); /* no overflow in the bounds check */
		ck_assert(r.bad);
		free(c);
	}

	/* a good read, then a failed one: the offset stays after the good one */
	c = exact_copy(src, 4);
	rbuf_init(&r, c, 4);
	ck_assert_uint_eq(get_u8(&r), 1);
	ck_assert_uint_eq(get_u32(&r), 0);
	ck_assert(r.bad);
	ck_assert_uint_eq(r.off, 1);
	ck_assert_uint_eq(get_u8(&r), 0);
	free(c);

	/* str16: a length that promises more than follows; a length cut in half */
	c = exact_copy("\x00\x05"
	               "abcd",
	               6);
	rbuf_init(&r, c, 6);
	ck_assert_ptr_null(get_str16(&r, 100, &n));
	ck_assert(r.bad);
	free(c);
	c = exact_copy("\x00", 1);
	rbuf_init(&r, c, 1);
	n = 99;
	ck_assert_ptr_null(get_str16(&r, 100, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert(r.bad);
	free(c);
}
END_TEST

START_TEST(test_wire_rbuf_done)
{
	static const uint8_t src[3] = {0xaa, 0xbb, 0xcc};
	struct rbuf r;
	uint8_t *c = exact_copy(src, 3), *empty = exact_copy(src, 0);

	rbuf_init(&r, empty, 0);
	ck_assert(rbuf_done(&r));
	rbuf_init(&r, c, 3);
	ck_assert(!rbuf_done(&r));
	ck_assert_uint_eq(get_u16(&r), 0xaabb);
	ck_assert(!rbuf_done(&r)); /* a byte left */
	ck_assert_uint_eq(get_u8(&r), 0xcc);
	ck_assert(rbuf_done(&r));
	ck_assert_ptr_nonnull(get_bytes(&r, 0)); /* reading nothing at the end is fine */
	ck_assert(rbuf_done(&r));
	ck_assert_uint_eq(get_u8(&r), 0); /* one too many */
	ck_assert(!rbuf_done(&r));
	ck_assert_uint_eq(r.off, 3);
	free(c);
	free(empty);
}
END_TEST

START_TEST(test_wire_str16_max)
{
	struct wbuf b;
	struct rbuf r;
	uint8_t *c;
	const uint8_t *s;
	size_t n;

	wbuf_init(&b);
	put_str16(&b, "0123456789a", 11);
	c = exact_copy(b.p, b.len);

	rbuf_init(&r, c, b.len);
	n = 99;
	ck_assert_ptr_null(get_str16(&r, 10, &n));
	ck_assert(r.bad);
	ck_assert_uint_eq(n, 0);
	ck_assert(!rbuf_done(&r));

	rbuf_init(&r, c, b.len);
	s = get_str16(&r, 11, &n);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(n, 11);
	ck_assert(!memcmp(s, "0123456789a", 11));
	ck_assert(rbuf_done(&r));
	free(c);

	wbuf_reset(&b);
	put_str16(&b, "", 0);
	c = exact_copy(b.p, b.len);
	rbuf_init(&r, c, b.len);
	ck_assert_ptr_nonnull(get_str16(&r, 0, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert(rbuf_done(&r));
	free(c);
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_wire_wbuf)
{
	struct wbuf b;
	uint8_t *p, *keep;
	size_t cap;

	wbuf_init(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	p = wbuf_grow(&b, 10);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(p, b.p);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_uint_ge(b.cap, 10);
	memset(p, 'x', 10);
	p = wbuf_grow(&b, 5000);
	ck_assert_ptr_eq(p, b.p + 10);
	ck_assert_uint_eq(b.len, 5010);
	ck_assert_uint_ge(b.cap, 5010);
	ck_assert(!memcmp(b.p, "xxxxxxxxxx", 10)); /* kept across the growth */
	keep = b.p;
	cap = b.cap;
	wbuf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.p, keep);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_ptr_eq(wbuf_grow(&b, 0), b.p);
	wbuf_dispose(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

/*
 * wbuf_grow() with a size that makes len + n wrap: it must fail (NULL, oom),
 * never hand out a pointer and shrink the buffer.  No allocation is
 * attempted on the way, so this is safe to run.
 */
START_TEST(test_wire_grow_overflow)
{
	struct wbuf b;
	uint8_t *p;

	wbuf_init(&b);
	put_bytes(&b, "hello", 5);
	p = wbuf_grow(&b, SIZE_MAX - 2);
	ck_assert_msg(p == NULL && b.oom && b.len == 5,
	              "wbuf_grow(len 5, n SIZE_MAX-2): returned %s, oom %d, len now %zu (expected NULL, oom 1, len 5)",
	              p ? "a pointer" : "NULL", b.oom, b.len);
	wbuf_dispose(&b);
}
END_TEST

/* The largest possible n must fail too, and must not loop for ever doubling a capacity that wraps to 0. */
static void grow_huge_child(void)
{
	struct wbuf b;
	uint8_t *p;

	wbuf_init(&b);
	p = wbuf_grow(&b, SIZE_MAX);
	_exit(p == NULL && b.oom ? 0 : 1);
}

/* ---------------------------------------------------------------- children with a deadline */

/* Waits for `pid` up to `ms` milliseconds: 1 and its status when it ended, 0 when killed at the deadline. */
static int wait_deadline(pid_t pid, int ms, int *status)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	for (int waited = 0; waited < ms; waited += 10) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 1;
		ck_assert_msg(w == 0, "waitpid: %s", strerror(errno));
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return 0;
}

START_TEST(test_wire_grow_huge)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		grow_huge_child();
	ck_assert_msg(wait_deadline(pid, 3000, &status),
	              "wbuf_grow(empty buffer, SIZE_MAX) was still running after 3 s (the capacity doubling wraps "
	              "to 0 and loops for ever)");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "wbuf_grow(empty buffer, SIZE_MAX) did not fail with NULL and oom (status %#x)", status);
}
END_TEST

/* ---------------------------------------------------------------- frames and decoders */

/*
 * Asserts that b->p[at..b->len) is exactly one well-formed frame of `type`
 * (4-byte big-endian length L in 1..PROTO_MAX_FRAME, then L bytes: the type
 * and the payload) and returns its payload.
 */
static const uint8_t *frame_payload(const struct wbuf *b, size_t at, int type, size_t *len)
{
	uint32_t n;

	ck_assert_msg(!b->oom, "the encoder ran out of memory");
	ck_assert_msg(b->len >= at + 5, "frame of %zu bytes: shorter than its header", b->len - at);
	n = be32(b->p + at);
	ck_assert_msg(n >= 1 && n <= PROTO_MAX_FRAME, "frame length %u out of range", n);
	ck_assert_msg((size_t) n == b->len - at - 4, "frame length %u but %zu bytes follow the length", n,
	              b->len - at - 4);
	ck_assert_msg(b->p[at + 4] == type, "frame type %d, expected %d", b->p[at + 4], type);
	*len = n - 1;
	return b->p + at + 5;
}

/* Encodes with `put` after a BYE frame already in the buffer; asserts the BYE is intact and one frame follows. */
#define ENCODE_AFTER_BYE(b, at, call)                                                                                  \
	do {                                                                                                           \
		wbuf_reset(b);                                                                                         \
		proto_put_raw(b, MSG_BYE, NULL, 0);                                                                    \
		at = (b)->len;                                                                                         \
		call;                                                                                                  \
		ck_assert_uint_eq(at, 5);                                                                              \
		ck_assert(!memcmp((b)->p, "\x00\x00\x00\x01\x0c", 5));                                                 \
	} while (0)

enum dec { DEC_HELLO, DEC_U64, DEC_REPLICA, DEC_ROW, DEC_REQUEST, DEC_DONE, DEC_ERROR, DEC_EMPTY };

static const char *const dec_names[] = {"hello", "u64", "replica", "row", "request", "done", "error", "empty"};

/* Re-encodes `m` and appends its payload only to `re`. */
static void payload_of(struct wbuf *re, const struct wbuf *frame, int type)
{
	size_t len;
	const uint8_t *p = frame_payload(frame, 0, type, &len);

	put_bytes(re, p, len);
}

/*
 * Decodes a copy of p[0..len) held in a block of exactly `len` bytes; when
 * it is accepted and `re` is not NULL, the decoded message is encoded again
 * and its payload appended to `re`.  Returns what the decoder returned.
 */
static int decode(enum dec d, const uint8_t *p, size_t len, struct wbuf *re)
{
	uint8_t *c = exact_copy(p, len);
	struct wbuf f;
	int rc = -1000;

	wbuf_init(&f);
	switch (d) {
	case DEC_HELLO: {
		struct msg_hello m;
		rc = proto_get_hello(&m, c, len);
		if (rc == 0 && re)
			proto_put_hello(&f, &m);
		proto_hello_dispose(&m);
		if (rc == 0 && re)
			payload_of(re, &f, MSG_HELLO);
		break;
	}
	case DEC_U64: {
		uint64_t v;
		rc = proto_get_u64(&v, c, len, "want");
		if (rc == 0 && re) {
			proto_put_u64(&f, MSG_WANT, v);
			payload_of(re, &f, MSG_WANT);
		}
		break;
	}
	case DEC_REPLICA: {
		uint64_t id;
		char name[REPLICA_NAME_MAX + 1];
		rc = proto_get_replica(&id, name, c, len);
		if (rc == 0 && re) {
			proto_put_replica(&f, id, name);
			payload_of(re, &f, MSG_REPLICA);
		}
		break;
	}
	case DEC_ROW: {
		struct entry e;
		entry_init(&e);
		rc = proto_get_row(&e, c, len);
		if (rc == 0 && re) {
			proto_put_row(&f, &e);
			payload_of(re, &f, MSG_ROW);
		}
		entry_dispose(&e);
		break;
	}
	case DEC_REQUEST: {
		uint8_t h[MM_HASH_LEN];
		rc = proto_get_request(h, c, len);
		if (rc == 0 && re) {
			proto_put_request(&f, h);
			payload_of(re, &f, MSG_REQUEST);
		}
		break;
	}
	case DEC_DONE: {
		struct msg_done m;
		rc = proto_get_done(&m, c, len);
		if (rc == 0 && re) {
			proto_put_done(&f, &m);
			payload_of(re, &f, MSG_DONE);
		}
		break;
	}
	case DEC_ERROR: {
		char msg[PROTO_MAX_MSG + 1];
		rc = proto_get_error(msg, c, len);
		if (rc == 0 && re) {
			proto_put_error(&f, msg);
			payload_of(re, &f, MSG_ERROR);
		}
		break;
	}
	case DEC_EMPTY:
		rc = proto_get_empty(c, len, "bye");
		if (rc == 0 && re) {
			proto_put_raw(&f, MSG_BYE, NULL, 0);
			payload_of(re, &f, MSG_BYE);
		}
		break;
	}
	wbuf_dispose(&f);
	free(c);
	return rc;
}

/* Asserts that the decoder rejects p[0..len) with MM_ECORRUPT and a protocol-error message. */
static void assert_rejected(enum dec d, const void *p, size_t len, const char *why)
{
	int rc;

	mm_error_clear();
	rc = decode(d, p, len, NULL);
	REQUIRE_MSG(rc == MM_ECORRUPT, "%s decoder, %s (%zu bytes): returned %d, expected MM_ECORRUPT (%s)",
	            dec_names[d], why, len, rc, mm_error_msg());
	REQUIRE_MSG(!strncmp(mm_error_msg(), "protocol error: ", 16), "%s decoder, %s: message '%s'", dec_names[d], why,
	            mm_error_msg());
}

static void assert_accepted(enum dec d, const void *p, size_t len, const char *why)
{
	int rc = decode(d, p, len, NULL);

	REQUIRE_MSG(rc == 0, "%s decoder, %s (%zu bytes): returned %d (%s), expected 0", dec_names[d], why, len, rc,
	            mm_error_msg());
}

/* A valid payload is accepted, every shorter prefix and the payload with one more byte are not. */
static void assert_strict(enum dec d, const uint8_t *p, size_t len, const char *what)
{
	char why[160];
	uint8_t *longer = malloc(len + 1);

	ck_assert_ptr_nonnull(longer);
	snprintf(why, sizeof(why), "%s: whole", what);
	assert_accepted(d, p, len, why);
	for (size_t k = 0; k < len; k++) {
		snprintf(why, sizeof(why), "%s: the first %zu of %zu bytes", what, k, len);
		assert_rejected(d, p, k, why);
	}
	if (len)
		memcpy(longer, p, len);
	for (int v = 0; v < 256; v += 0xff) {
		longer[len] = (uint8_t) v;
		snprintf(why, sizeof(why), "%s: one trailing byte %#x", what, v);
		assert_rejected(d, longer, len + 1, why);
	}
	free(longer);
}

/* ---------------------------------------------------------------- hello */

struct hello_raw {
	const char *magic; /* 6 bytes */
	uint16_t version;
	uint64_t caps, rid, iid;
	const char *name;
	size_t nlen;
	uint8_t op;
	uint16_t count; /* the count written */
	size_t nf;      /* filters written */
	const char *const *filters;
	const size_t *flens;
};

static const char *const two_filters[] = {"docs", "src/main.c"};
static const size_t two_flens[] = {4, 10};

static void hello_raw_default(struct hello_raw *h)
{
	h->magic = PROTO_MAGIC;
	h->version = PROTO_VERSION;
	h->caps = 0x0102030405060708u;
	h->rid = 0x1122334455667788u;
	h->iid = 0x99aabbccddeeff00u;
	h->name = "laptop";
	h->nlen = 6;
	h->op = PROTO_OP_PULL;
	h->count = 2;
	h->nf = 2;
	h->filters = two_filters;
	h->flens = two_flens;
}

static void hello_raw_put(struct wbuf *b, const struct hello_raw *h)
{
	put_bytes(b, h->magic, 6);
	put_u16(b, h->version);
	put_u64(b, h->caps);
	put_u64(b, h->rid);
	put_u64(b, h->iid);
	put_str16(b, h->name, h->nlen);
	put_u8(b, h->op);
	put_u16(b, h->count);
	for (size_t i = 0; i < h->nf; i++)
		put_str16(b, h->filters[i], h->flens[i]);
}

static void hello_raw_rejected(const struct hello_raw *h, const char *why)
{
	struct wbuf b;

	wbuf_init(&b);
	hello_raw_put(&b, h);
	assert_rejected(DEC_HELLO, b.p, b.len, why);
	wbuf_dispose(&b);
}

static void hello_set(struct msg_hello *m, uint64_t rid, const char *name, uint8_t op, size_t nf, char **filters)
{
	memset(m, 0, sizeof(*m));
	m->version = PROTO_VERSION;
	m->caps = ~rid;
	m->replica_id = rid;
	m->index_id = rid * 3 + 1;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->op = op;
	m->nfilters = nf;
	m->filters = filters;
}

/* Encodes `m`, checks the frame, decodes it and checks every field. */
static void hello_roundtrip(const struct msg_hello *m)
{
	struct wbuf b;
	struct msg_hello got;
	size_t at, len;
	const uint8_t *p;

	wbuf_init(&b);
	ENCODE_AFTER_BYE(&b, at, proto_put_hello(&b, m));
	p = frame_payload(&b, at, MSG_HELLO, &len);
	TU_OK(decode(DEC_HELLO, p, len, NULL));
	{
		uint8_t *c = exact_copy(p, len);
		TU_OK(proto_get_hello(&got, c, len));
		free(c);
	}
	ck_assert_uint_eq(got.version, m->version);
	ck_assert_uint_eq(got.caps, m->caps);
	ck_assert_uint_eq(got.replica_id, m->replica_id);
	ck_assert_uint_eq(got.index_id, m->index_id);
	ck_assert_str_eq(got.name, m->name);
	ck_assert_uint_eq(got.op, m->op);
	ck_assert_uint_eq(got.nfilters, m->nfilters);
	for (size_t i = 0; i < m->nfilters; i++)
		REQUIRE_MSG(!strcmp(got.filters[i], m->filters[i]), "filter %zu: '%s', expected '%s'", i,
		            got.filters[i], m->filters[i]);
	proto_hello_dispose(&got);
	ck_assert_ptr_null(got.filters);
	ck_assert_uint_eq(got.nfilters, 0);
	wbuf_dispose(&b);
}

START_TEST(test_hello_layout)
{
	struct msg_hello m;
	struct hello_raw h;
	struct wbuf b, raw;
	size_t len;
	const uint8_t *p;
	char *filters[2] = {"docs", "src/main.c"};

	hello_raw_default(&h);
	memset(&m, 0, sizeof(m));
	m.version = h.version;
	m.caps = h.caps;
	m.replica_id = h.rid;
	m.index_id = h.iid;
	strcpy(m.name, "laptop");
	m.op = h.op;
	m.nfilters = 2;
	m.filters = filters;
	wbuf_init(&b);
	wbuf_init(&raw);
	proto_put_hello(&b, &m);
	p = frame_payload(&b, 0, MSG_HELLO, &len);
	hello_raw_put(&raw, &h);
	/* magic, version, caps, replica id, index id, str16 name, op, u16 count, str16 filters */
	ck_assert_uint_eq(len, 6 + 2 + 8 * 3 + 2 + 6 + 1 + 2 + 2 + 4 + 2 + 10);
	ck_assert_uint_eq(len, raw.len);
	ck_assert(!memcmp(p, raw.p, len));
	ck_assert(!memcmp(p, "MMSYNC", 6) && p[6] == (PROTO_VERSION >> 8) && p[7] == (PROTO_VERSION & 0xff));
	wbuf_dispose(&b);
	wbuf_dispose(&raw);
}
END_TEST

START_TEST(test_hello_roundtrip)
{
	static const char *const names[] = {"a", "laptop", "x-1_Y", "_9"};
	static const uint8_t ops[] = {0, PROTO_OP_PULL, PROTO_OP_PUSH, PROTO_OP_PULL | PROTO_OP_PUSH};
	char name64[REPLICA_NAME_MAX + 1];
	char *one[1] = {"only/one"};
	char *odd[3] = {"caf\xc3\xa9", "\xff\xfe/bin", "a/b/c/d/e"};
	char **many = calloc(PROTO_MAX_FILTERS, sizeof(*many));
	struct msg_hello m;

	ck_assert_ptr_nonnull(many);
	memset(name64, 'n', REPLICA_NAME_MAX);
	name64[REPLICA_NAME_MAX] = '\0';
	/* names go into conflict-copy file names: only what replica_name_valid allows is taken */
	{
		static const char *const bad[] = {"!~#$%&'()*+,-.:;<=>?@[\\]^_`{|}", "a.b", "-x", "sp ace"};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct wbuf b;
			size_t at, len;
			const uint8_t *p;
			struct msg_hello got;
			hello_set(&m, 9, bad[i], 0, 0, NULL);
			wbuf_init(&b);
			ENCODE_AFTER_BYE(&b, at, proto_put_hello(&b, &m));
			p = frame_payload(&b, at, MSG_HELLO, &len);
			ck_assert_msg(proto_get_hello(&got, p, len) == MM_ECORRUPT, "name '%s' accepted", bad[i]);
			wbuf_dispose(&b);
		}
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t o = 0; o < sizeof(ops); o++) {
			hello_set(&m, 1 + i, names[i], ops[o], 0, NULL);
			hello_roundtrip(&m);
		}
	hello_set(&m, UINT64_MAX, name64, 3, 1, one);
	m.version = 0xffff;
	m.caps = UINT64_MAX;
	m.index_id = 0;
	hello_roundtrip(&m);
	hello_set(&m, 7, "peer", 1, 3, odd);
	hello_roundtrip(&m);
	for (size_t i = 0; i < PROTO_MAX_FILTERS; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "dir%zu/f", i);
		many[i] = strdup(buf);
		ck_assert_ptr_nonnull(many[i]);
	}
	hello_set(&m, 42, "many", 2, PROTO_MAX_FILTERS, many);
	hello_roundtrip(&m);
	for (size_t i = 0; i < PROTO_MAX_FILTERS; i++)
		free(many[i]);
	free(many);
}
END_TEST

START_TEST(test_hello_truncations)
{
	struct hello_raw h;
	struct wbuf b;

	wbuf_init(&b);
	hello_raw_default(&h);
	hello_raw_put(&b, &h);
	assert_strict(DEC_HELLO, b.p, b.len, "hello with 2 filters");
	wbuf_reset(&b);
	h.count = h.nf = 0;
	hello_raw_put(&b, &h);
	assert_strict(DEC_HELLO, b.p, b.len, "hello with no filter");
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_hello_rejects)
{
	static const char *const bad_names[] = {"a/b",  "/",       "a b",      "tab\there", "nl\n",
	                                        "\x01", "del\x7f", "\xc3\xa9", "nul\0x"};
	static const size_t bad_nlens[] = {3, 1, 3, 8, 3, 1, 4, 2, 5};
	static const uint8_t bad_ops[] = {0x04, 0x08, 0x80, 0xff, 0x07};
	static const char *const bad_paths[] = {"",       "/a",  "a/",      "a//b",        ".",         "..",
	                                        "a/../b", "./a", ".mmsync", "a/.mmsync/b", "a/.mmsync", "nul\0in"};
	static const size_t bad_plens[] = {0, 2, 2, 4, 1, 2, 6, 3, 7, 11, 9, 6};
	struct hello_raw h;
	char name65[REPLICA_NAME_MAX + 1], why[96], magic[7];

	for (size_t i = 0; i < 6; i++) {
		hello_raw_default(&h);
		memcpy(magic, PROTO_MAGIC, 7);
		magic[i] ^= 0x20;
		h.magic = magic;
		hello_raw_rejected(&h, "bad magic");
		ck_assert_msg(tu_contains(mm_error_msg(), "does not speak"), "message: %s", mm_error_msg());
	}
	assert_rejected(DEC_HELLO, "MMSYN", 5, "magic cut short");

	hello_raw_default(&h);
	h.rid = 0;
	hello_raw_rejected(&h, "replica id 0");

	hello_raw_default(&h);
	h.nlen = 0;
	hello_raw_rejected(&h, "empty name");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		hello_raw_default(&h);
		h.name = bad_names[i];
		h.nlen = bad_nlens[i];
		snprintf(why, sizeof(why), "name #%zu", i);
		hello_raw_rejected(&h, why);
	}
	memset(name65, 'n', sizeof(name65));
	hello_raw_default(&h);
	h.name = name65;
	h.nlen = REPLICA_NAME_MAX + 1;
	hello_raw_rejected(&h, "name of 65 bytes");
	h.nlen = REPLICA_NAME_MAX;
	{
		struct wbuf b;
		wbuf_init(&b);
		hello_raw_put(&b, &h);
		assert_accepted(DEC_HELLO, b.p, b.len, "name of 64 bytes");
		wbuf_dispose(&b);
	}

	for (size_t i = 0; i < sizeof(bad_ops); i++) {
		hello_raw_default(&h);
		h.op = bad_ops[i];
		snprintf(why, sizeof(why), "op %#x", bad_ops[i]);
		hello_raw_rejected(&h, why);
	}

	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		const char *fs[2] = {"docs", bad_paths[i]};
		size_t fl[2] = {4, bad_plens[i]};
		hello_raw_default(&h);
		h.filters = fs;
		h.flens = fl;
		snprintf(why, sizeof(why), "filter #%zu", i);
		hello_raw_rejected(&h, why);
	}

	/* a filter longer than a path may be */
	{
		char *longp = malloc(MM_PATH_MAX + 1);
		const char *fs[1];
		size_t fl[1] = {MM_PATH_MAX + 1};
		ck_assert_ptr_nonnull(longp);
		for (size_t i = 0; i < MM_PATH_MAX + 1; i++)
			longp[i] = i % 100 == 99 ? '/' : 'p';
		fs[0] = longp;
		hello_raw_default(&h);
		h.count = h.nf = 1;
		h.filters = fs;
		h.flens = fl;
		hello_raw_rejected(&h, "filter of 4096 bytes");
		fl[0] = MM_PATH_MAX;
		{
			struct wbuf b;
			wbuf_init(&b);
			hello_raw_put(&b, &h);
			assert_accepted(DEC_HELLO, b.p, b.len, "filter of 4095 bytes");
			wbuf_dispose(&b);
		}
		free(longp);
	}

	/* too many filters: the count alone, and the count with every filter present */
	hello_raw_default(&h);
	h.count = PROTO_MAX_FILTERS + 1;
	h.nf = 0;
	hello_raw_rejected(&h, "count 1025 and no filter");
	h.count = 0xffff;
	hello_raw_rejected(&h, "count 65535 and no filter");
	{
		const char **fs = malloc((PROTO_MAX_FILTERS + 1) * sizeof(*fs));
		size_t *fl = malloc((PROTO_MAX_FILTERS + 1) * sizeof(*fl));
		ck_assert(fs && fl);
		for (size_t i = 0; i <= PROTO_MAX_FILTERS; i++) {
			fs[i] = "f";
			fl[i] = 1;
		}
		hello_raw_default(&h);
		h.count = PROTO_MAX_FILTERS + 1;
		h.nf = PROTO_MAX_FILTERS + 1;
		h.filters = fs;
		h.flens = fl;
		hello_raw_rejected(&h, "1025 filters");
		h.count = h.nf = PROTO_MAX_FILTERS;
		{
			struct wbuf b;
			wbuf_init(&b);
			hello_raw_put(&b, &h);
			assert_accepted(DEC_HELLO, b.p, b.len, "1024 filters");
			wbuf_dispose(&b);
		}
		/* the count says fewer filters than follow */
		h.count = 3;
		h.nf = 4;
		hello_raw_rejected(&h, "count 3, 4 filters");
		free(fs);
		free(fl);
	}
}
END_TEST

/* ---------------------------------------------------------------- want, index-end, data-end */

START_TEST(test_u64_messages)
{
	static const uint8_t types[] = {MSG_WANT, MSG_INDEX_END, MSG_DATA_END};
	static const char *const whats[] = {"want", "index-end", "data-end"};
	static const uint64_t vals[] = {0, 1, 0x0102030405060708u, (uint64_t) INT64_MAX + 1, UINT64_MAX};
	struct wbuf b;
	size_t at, len;
	const uint8_t *p;
	uint64_t got;
	uint8_t *c;

	wbuf_init(&b);
	for (size_t t = 0; t < 3; t++)
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			ENCODE_AFTER_BYE(&b, at, proto_put_u64(&b, types[t], vals[i]));
			p = frame_payload(&b, at, types[t], &len);
			ck_assert_uint_eq(len, 8);
			for (int k = 0; k < 8; k++)
				ck_assert_uint_eq(p[k], (uint8_t) (vals[i] >> (56 - 8 * k)));
			c = exact_copy(p, len);
			got = 12345;
			TU_OK(proto_get_u64(&got, c, len, whats[t]));
			ck_assert_uint_eq(got, vals[i]);
			free(c);
			assert_strict(DEC_U64, p, len, "u64");
		}
	/* the message names the message */
	c = exact_copy("\x01\x02\x03", 3);
	ck_assert_int_eq(proto_get_u64(&got, c, 3, "index-end"), MM_ECORRUPT);
	ck_assert_msg(tu_contains(mm_error_msg(), "index-end"), "message: %s", mm_error_msg());
	free(c);
	wbuf_dispose(&b);
}
END_TEST

/* ---------------------------------------------------------------- replica */

static void replica_raw(struct wbuf *b, uint64_t id, const void *name, size_t n)
{
	wbuf_reset(b);
	put_u64(b, id);
	put_str16(b, name, n);
}

START_TEST(test_replica_roundtrip)
{
	static const uint64_t ids[] = {1, 0x8000000000000000u, UINT64_MAX};
	char name64[REPLICA_NAME_MAX + 1], got_name[REPLICA_NAME_MAX + 1];
	const char *names[] = {"a", "desk-top_2", name64};
	struct wbuf b;
	size_t at, len;
	const uint8_t *p;
	uint64_t id;
	uint8_t *c;

	memset(name64, 'Z', REPLICA_NAME_MAX);
	name64[REPLICA_NAME_MAX] = '\0';
	wbuf_init(&b);
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < 3; k++) {
			ENCODE_AFTER_BYE(&b, at, proto_put_replica(&b, ids[i], names[k]));
			p = frame_payload(&b, at, MSG_REPLICA, &len);
			ck_assert_uint_eq(len, 8 + 2 + strlen(names[k]));
			c = exact_copy(p, len);
			TU_OK(proto_get_replica(&id, got_name, c, len));
			free(c);
			ck_assert_uint_eq(id, ids[i]);
			ck_assert_str_eq(got_name, names[k]);
			assert_strict(DEC_REPLICA, p, len, "replica");
		}
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_replica_rejects)
{
	char name65[REPLICA_NAME_MAX + 1];
	struct wbuf b;

	memset(name65, 'q', sizeof(name65));
	wbuf_init(&b);
	replica_raw(&b, 0, "zero", 4);
	assert_rejected(DEC_REPLICA, b.p, b.len, "id 0");
	replica_raw(&b, 5, "", 0);
	assert_rejected(DEC_REPLICA, b.p, b.len, "empty name");
	replica_raw(&b, 5, name65, 65);
	assert_rejected(DEC_REPLICA, b.p, b.len, "name of 65 bytes");
	replica_raw(&b, 5, "a/b", 3);
	assert_rejected(DEC_REPLICA, b.p, b.len, "name with '/'");
	replica_raw(&b, 5, "a\nb", 3);
	assert_rejected(DEC_REPLICA, b.p, b.len, "name with a newline");
	replica_raw(&b, 5, "a\0b", 3);
	assert_rejected(DEC_REPLICA, b.p, b.len, "name with a NUL");
	replica_raw(&b, 5, "a\x7f", 2);
	assert_rejected(DEC_REPLICA, b.p, b.len, "name with DEL");
	replica_raw(&b, 5, "a b", 3);
	assert_rejected(DEC_REPLICA, b.p, b.len, "name with a space");
	replica_raw(&b, 5, name65, 64);
	assert_accepted(DEC_REPLICA, b.p, b.len, "name of 64 bytes");
	wbuf_dispose(&b);
}
END_TEST

/* ---------------------------------------------------------------- row */

/* A version vector in its wire form, written as given (no sorting, no checks). */
static size_t vv_raw(uint8_t *out, const uint64_t *pairs, size_t n)
{
	size_t len = 0;
	uint64_t v = n;

	do {
		out[len++] = (uint8_t) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 8; k++)
			out[len++] = (uint8_t) (pairs[2 * i] >> (8 * k));
		v = pairs[2 * i + 1];
		do {
			out[len++] = (uint8_t) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			v >>= 7;
		} while (v);
	}
	return len;
}

struct row_raw {
	const char *path;
	size_t plen;
	uint8_t kind;
	uint16_t mode;
	uint64_t size;
	int64_t mtime;
	uint64_t writer, seq;
	const uint8_t *hash; /* written when not NULL */
	const char *target;  /* written when not NULL */
	size_t tlen;
	const uint8_t *vvb;
	size_t vlen;
};

static const uint8_t the_hash[MM_HASH_LEN] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                              13,   14,   15,   16,   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0xff};
static uint8_t good_vv[64];
static size_t good_vlen;

static void row_raw_default(struct row_raw *r, int kind)
{
	static const uint64_t pairs[] = {3, 7, 0x100, 1, UINT64_MAX, 300};

	good_vlen = vv_raw(good_vv, pairs, 3);
	memset(r, 0, sizeof(*r));
	r->path = "dir/file.txt";
	r->plen = 12;
	r->kind = (uint8_t) kind;
	r->mode = kind == ENTRY_DELETED ? 0 : 0644;
	r->size = kind == ENTRY_FILE ? 1234 : kind == ENTRY_LINK ? 9 : 0;
	r->mtime = 1700000000123456789;
	r->writer = 0xabc;
	r->seq = 77;
	r->hash = kind == ENTRY_FILE ? the_hash : NULL;
	r->target = kind == ENTRY_LINK ? "../target" : NULL;
	r->tlen = kind == ENTRY_LINK ? 9 : 0;
	r->vvb = good_vv;
	r->vlen = good_vlen;
}

static void row_raw_put(struct wbuf *b, const struct row_raw *r)
{
	wbuf_reset(b);
	put_str16(b, r->path, r->plen);
	put_u8(b, r->kind);
	put_u16(b, r->mode);
	put_u64(b, r->size);
	put_u64(b, (uint64_t) r->mtime);
	put_u64(b, 0); /* mstamp */
	put_u64(b, r->writer);
	put_u64(b, r->seq);
	if (r->hash)
		put_bytes(b, r->hash, MM_HASH_LEN);
	if (r->target)
		put_str16(b, r->target, r->tlen);
	put_u32(b, (uint32_t) r->vlen); /* the vector's length is 32 bits wide: a full one passes 64 KiB */
	put_bytes(b, r->vvb, r->vlen);
}

static void row_raw_rejected(const struct row_raw *r, const char *why)
{
	struct wbuf b;

	wbuf_init(&b);
	row_raw_put(&b, r);
	assert_rejected(DEC_ROW, b.p, b.len, why);
	wbuf_dispose(&b);
}

static void row_raw_accepted(const struct row_raw *r, const char *why)
{
	struct wbuf b;

	wbuf_init(&b);
	row_raw_put(&b, r);
	assert_accepted(DEC_ROW, b.p, b.len, why);
	wbuf_dispose(&b);
}

/* A row as a peer would send it: the fields a row carries, the rest zero. */
static void mkrow(struct entry *e, const char *path, size_t plen, int kind, const uint64_t *pairs, size_t np)
{
	entry_init(e);
	ck_assert_int_eq(entry_set_path(e, path, plen), 0);
	e->kind = kind;
	e->mode = kind == ENTRY_DIR ? 0755 : kind == ENTRY_FILE ? 0640 : 0;
	e->mtime_ns = -1234567890123;
	e->writer = 0x5eed;
	e->seq = 99;
	if (kind == ENTRY_FILE) {
		e->size = 0x123456789u;
		e->has_hash = 1;
		memcpy(e->hash, the_hash, MM_HASH_LEN);
	}
	if (kind == ENTRY_LINK) {
		ck_assert_int_eq(entry_set_target(e, "../x/\xff-y", 8), 0);
		e->size = 8;
	}
	tu_vv(&e->vv, pairs, np);
}

/* Encodes `e`, checks the frame, decodes it and compares every field. */
static void row_roundtrip(const struct entry *e)
{
	struct wbuf b, re;
	struct entry got;
	size_t at, len;
	const uint8_t *p;
	uint8_t *c;

	wbuf_init(&b);
	wbuf_init(&re);
	ENCODE_AFTER_BYE(&b, at, proto_put_row(&b, e));
	p = frame_payload(&b, at, MSG_ROW, &len);
	c = exact_copy(p, len);
	entry_init(&got);
	TU_OK(proto_get_row(&got, c, len));
	tu_assert_entry_eq(&got, e);
	entry_dispose(&got);
	free(c);
	/* canonical: decoding and encoding again gives the same bytes */
	TU_OK(decode(DEC_ROW, p, len, &re));
	ck_assert_uint_eq(re.len, len);
	ck_assert(!memcmp(re.p, p, len));
	wbuf_dispose(&re);
	wbuf_dispose(&b);
}

START_TEST(test_row_roundtrip_kinds)
{
	static const uint64_t pairs[] = {1, 1, 0x80, 0x80, 0xdeadbeef, PROTO_MAX_COUNTER, UINT64_MAX, 2};
	static const int kinds[] = {ENTRY_FILE, ENTRY_DIR, ENTRY_LINK, ENTRY_DELETED};
	struct entry e;

	for (size_t k = 0; k < 4; k++)
		for (size_t np = 1; np <= 4; np++) {
			mkrow(&e, "a/b/c.txt", 9, kinds[k], pairs, np);
			row_roundtrip(&e);
			entry_dispose(&e);
		}
	/* extremes of the scalar fields */
	mkrow(&e, "x", 1, ENTRY_FILE, pairs, 1);
	e.mode = 07777;
	e.size = UINT64_MAX;
	e.mtime_ns = INT64_MIN;
	e.writer = UINT64_MAX;
	e.seq = UINT64_MAX;
	row_roundtrip(&e);
	e.mode = 0;
	e.size = 0;
	e.mtime_ns = INT64_MAX;
	e.writer = 1;
	e.seq = 0;
	memset(e.hash, 0, MM_HASH_LEN);
	row_roundtrip(&e);
	entry_dispose(&e);
	/* a link's target of the largest size */
	mkrow(&e, "l", 1, ENTRY_LINK, pairs, 2);
	{
		char *t = malloc(MM_PATH_MAX);
		ck_assert_ptr_nonnull(t);
		memset(t, 't', MM_PATH_MAX);
		ck_assert_int_eq(entry_set_target(&e, t, MM_PATH_MAX), 0);
		e.size = MM_PATH_MAX;
		free(t);
	}
	row_roundtrip(&e);
	entry_dispose(&e);
}
END_TEST

START_TEST(test_row_roundtrip_paths)
{
	static const uint64_t pairs[] = {9, 9};
	static const char *const odd[] = {
	        "\xff",    "caf\xe9/\xc3\x28/\x80\x81", "a b/ c /\t\n", ".hidden/..x/...", ".mmsyncx/x.mmsync",
	        "-/~/\x7f"};
	char *p = malloc(MM_PATH_MAX + 1);
	struct entry e;
	size_t n = 0;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		mkrow(&e, odd[i], strlen(odd[i]), (int) (i % 4), pairs, 1);
		row_roundtrip(&e);
		entry_dispose(&e);
	}
	/* 4095 bytes: components of 255 bytes (the largest), then a shorter one */
	while (n < MM_PATH_MAX) {
		size_t comp = MM_PATH_MAX - n < MM_NAME_MAX ? MM_PATH_MAX - n : MM_NAME_MAX;
		memset(p + n, 'c' + (int) (n % 7), comp);
		n += comp;
		if (n < MM_PATH_MAX)
			p[n++] = '/';
	}
	ck_assert_uint_eq(n, MM_PATH_MAX);
	ck_assert_msg(p[n - 1] != '/', "test path ends with a slash");
	for (int k = 0; k < 4; k++) {
		mkrow(&e, p, n, k, pairs, 1);
		row_roundtrip(&e);
		entry_dispose(&e);
	}
	free(p);
}
END_TEST

/* A vector of VV_MAX_ENTRIES entries with counters that fit a realistic store. */
START_TEST(test_row_big_vector)
{
	struct entry e;
	struct rng r = {0xb16};

	mkrow(&e, "big", 3, ENTRY_FILE, NULL, 0);
	for (uint64_t i = 0; i < VV_MAX_ENTRIES; i++)
		ck_assert_int_eq(vv_set(&e.vv, 1 + i * 0x9e3779b97f4a7c1u, 1 + rng_below(&r, (uint64_t) 1 << 40)), 0);
	ck_assert_uint_eq(e.vv.n, VV_MAX_ENTRIES);
	row_roundtrip(&e);
	entry_dispose(&e);
}
END_TEST

/*
 * The largest vector a row may carry: VV_MAX_ENTRIES entries with the
 * largest counters a peer may send, encoded in more than 65535 bytes.  A valid entry must come back
 * as it was (or the encoder must refuse it), never as a malformed frame.
 */
START_TEST(test_row_largest_vector)
{
	struct entry e;
	struct wbuf b;
	struct entry got;
	size_t len;
	const uint8_t *p;
	uint8_t *c;
	int rc;

	mkrow(&e, "biggest", 7, ENTRY_DIR, NULL, 0);
	for (uint64_t i = 0; i < VV_MAX_ENTRIES; i++)
		ck_assert_int_eq(vv_set(&e.vv, 1 + i, PROTO_MAX_COUNTER - i), 0);
	wbuf_init(&b);
	proto_put_row(&b, &e);
	p = frame_payload(&b, 0, MSG_ROW, &len);
	c = exact_copy(p, len);
	entry_init(&got);
	rc = proto_get_row(&got, c, len);
	ck_assert_msg(rc == 0, "row with a vector of %d entries (%zu bytes encoded): proto_get_row returned %d (%s)",
	              VV_MAX_ENTRIES, vv_encoded_size(&e.vv), rc, mm_error_msg());
	tu_assert_entry_eq(&got, &e);
	entry_dispose(&got);
	free(c);
	wbuf_dispose(&b);
	entry_dispose(&e);
}
END_TEST

/* Sizes a row does not carry as given: none for a directory or tombstone, the target's for a link. */
START_TEST(test_row_size_normalised)
{
	struct row_raw r;
	struct wbuf b;
	struct entry got;
	uint8_t *c;

	wbuf_init(&b);
	for (int kind = 0; kind < 4; kind++) {
		row_raw_default(&r, kind);
		r.size = 0xfeedface;
		row_raw_put(&b, &r);
		c = exact_copy(b.p, b.len);
		entry_init(&got);
		/* a reused entry: what the previous row left must not show through */
		ck_assert_int_eq(entry_set_target(&got, "stale", 5), 0);
		got.has_hash = 1;
		memset(got.hash, 0x55, MM_HASH_LEN);
		got.dev = 1;
		got.ino = 2;
		got.ctime_ns = 3;
		got.flags = ENTRY_RACY;
		TU_OK(proto_get_row(&got, c, b.len));
		ck_assert_uint_eq(got.size, kind == ENTRY_FILE ? 0xfeedface : kind == ENTRY_LINK ? r.tlen : 0);
		ck_assert_int_eq(got.has_hash, kind == ENTRY_FILE);
		if (kind == ENTRY_FILE)
			ck_assert(!memcmp(got.hash, the_hash, MM_HASH_LEN));
		if (kind == ENTRY_LINK)
			ck_assert_str_eq(got.target, "../target");
		else
			ck_assert_ptr_null(got.target);
		ck_assert_uint_eq(got.dev, 0);
		ck_assert_uint_eq(got.ino, 0);
		ck_assert_int_eq(got.ctime_ns, 0);
		ck_assert_uint_eq(got.flags, 0);
		ck_assert_uint_eq(got.vv.n, 3);
		ck_assert_uint_eq(vv_get(&got.vv, 0x100), 1);
		entry_dispose(&got);
		free(c);
	}
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_row_truncations)
{
	struct row_raw r;
	struct wbuf b;
	char why[32];

	wbuf_init(&b);
	for (int kind = 0; kind < 4; kind++) {
		row_raw_default(&r, kind);
		row_raw_put(&b, &r);
		snprintf(why, sizeof(why), "row of kind %d", kind);
		assert_strict(DEC_ROW, b.p, b.len, why);
	}
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_row_bad_paths)
{
	static const char *const bad[] = {"",          "/a",   "a/",  "a//b",    ".",           "..",
	                                  "a/../b",    "./a",  "a/.", ".mmsync", "a/.mmsync/b", ".mmsync/x",
	                                  "a/.mmsync", "a\0b", "\0",  "a/b/"};
	static const size_t lens[] = {0, 2, 2, 4, 1, 2, 6, 3, 3, 7, 11, 9, 9, 3, 1, 4};
	struct row_raw r;
	char why[64];
	char *p = malloc(MM_PATH_MAX + 2);

	ck_assert_ptr_nonnull(p);
	for (int kind = 0; kind < 4; kind++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			row_raw_default(&r, kind);
			r.path = bad[i];
			r.plen = lens[i];
			snprintf(why, sizeof(why), "kind %d, path #%zu", kind, i);
			row_raw_rejected(&r, why);
		}
		/* 4096 bytes of valid components */
		for (size_t i = 0; i < MM_PATH_MAX + 1; i++)
			p[i] = i % 200 == 199 ? '/' : 'k';
		row_raw_default(&r, kind);
		r.path = p;
		r.plen = MM_PATH_MAX + 1;
		row_raw_rejected(&r, "path of 4096 bytes");
		r.plen = MM_PATH_MAX;
		row_raw_accepted(&r, "path of 4095 bytes");
		/* a component of 256 bytes, and of 255 */
		memcpy(p, "a/", 2);
		memset(p + 2, 'n', 256);
		r.plen = 2 + 256;
		row_raw_rejected(&r, "component of 256 bytes");
		r.plen = 2 + 255;
		row_raw_accepted(&r, "component of 255 bytes");
		memset(p, 'n', 256);
		r.plen = 256;
		row_raw_rejected(&r, "first component of 256 bytes");
	}
	free(p);
}
END_TEST

START_TEST(test_row_bad_fields)
{
	static const uint8_t bad_kinds[] = {4, 5, 0x7f, 0x80, 0xff};
	static const uint16_t bad_modes[] = {010000, 017777, 020000, 0100644, 0xffff};
	struct row_raw r;
	char why[64];
	uint8_t v[64];
	size_t n;

	for (size_t i = 0; i < sizeof(bad_kinds); i++) {
		row_raw_default(&r, ENTRY_DIR);
		r.kind = bad_kinds[i];
		snprintf(why, sizeof(why), "kind %u", bad_kinds[i]);
		row_raw_rejected(&r, why);
		/* with a hash as if it were a file, and a target as if a link */
		r.hash = the_hash;
		row_raw_rejected(&r, why);
		r.hash = NULL;
		r.target = "t";
		r.tlen = 1;
		row_raw_rejected(&r, why);
	}
	for (int kind = 0; kind < 4; kind++) {
		for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
			row_raw_default(&r, kind);
			r.mode = bad_modes[i];
			snprintf(why, sizeof(why), "kind %d, mode %o", kind, bad_modes[i]);
			row_raw_rejected(&r, why);
		}
		row_raw_default(&r, kind);
		r.mode = 07777;
		row_raw_accepted(&r, "mode 07777");
		row_raw_default(&r, kind);
		r.writer = 0;
		row_raw_rejected(&r, "writer 0");

		/* vectors */
		row_raw_default(&r, kind);
		r.vlen = 0;
		row_raw_rejected(&r, "no vector bytes");
		n = vv_raw(v, NULL, 0);
		r.vvb = v;
		r.vlen = n;
		row_raw_rejected(&r, "empty vector");
		{
			static const uint64_t unsorted[] = {5, 1, 3, 1};
			static const uint64_t dup[] = {5, 1, 5, 2};
			static const uint64_t zero_counter[] = {3, 0};
			static const uint64_t zero_id[] = {0, 4};
			r.vlen = vv_raw(v, unsorted, 2);
			row_raw_rejected(&r, "unsorted vector");
			r.vlen = vv_raw(v, dup, 2);
			row_raw_rejected(&r, "duplicate id");
			r.vlen = vv_raw(v, zero_counter, 1);
			row_raw_rejected(&r, "zero counter");
			r.vlen = vv_raw(v, zero_id, 1);
			row_raw_rejected(&r, "zero id");
			r.vlen = vv_raw(v, unsorted + 2, 1);
			row_raw_accepted(&r, "one-entry vector");
			v[r.vlen++] = 0;
			row_raw_rejected(&r, "vector with a trailing byte");
			r.vlen = vv_raw(v, unsorted + 2, 1);
			v[r.vlen - 1] |= 0x80;
			v[r.vlen++] = 0; /* overlong varint: 0x81 0x00 for 1 */
			row_raw_rejected(&r, "overlong counter");
			r.vlen = vv_raw(v, unsorted + 2, 1) - 1;
			row_raw_rejected(&r, "vector cut short");
		}
		{
			/* counters past PROTO_MAX_COUNTER: a forged UINT64_MAX would exhaust the receiver's counter */
			uint64_t big[] = {3, 1, 7, PROTO_MAX_COUNTER};
			r.vvb = v;
			r.vlen = vv_raw(v, big, 2);
			row_raw_accepted(&r, "counter of 2^62");
			big[3] = PROTO_MAX_COUNTER + 1;
			r.vlen = vv_raw(v, big, 2);
			row_raw_rejected(&r, "counter of 2^62 + 1");
			big[3] = UINT64_MAX;
			r.vlen = vv_raw(v, big, 2);
			row_raw_rejected(&r, "counter of 2^64 - 1");
		}
	}

	/* links: an empty target, a NUL in the target, a target longer than a path */
	row_raw_default(&r, ENTRY_LINK);
	r.target = "";
	r.tlen = 0;
	row_raw_rejected(&r, "link with an empty target");
	r.target = "a\0b";
	r.tlen = 3;
	row_raw_rejected(&r, "link with a NUL in its target");
	r.target = "\0";
	r.tlen = 1;
	row_raw_rejected(&r, "link target of one NUL");
	{
		char *t = malloc(MM_PATH_MAX + 1);
		ck_assert_ptr_nonnull(t);
		memset(t, 'T', MM_PATH_MAX + 1);
		r.target = t;
		r.tlen = MM_PATH_MAX + 1;
		row_raw_rejected(&r, "link target of 4096 bytes");
		r.tlen = MM_PATH_MAX;
		row_raw_accepted(&r, "link target of 4095 bytes");
		free(t);
	}
	/* a file without its hash is a truncated row: covered by the truncations; one missing entirely */
	row_raw_default(&r, ENTRY_FILE);
	r.hash = NULL;
	row_raw_rejected(&r, "file without a hash");
	row_raw_default(&r, ENTRY_DIR);
	r.hash = the_hash;
	row_raw_rejected(&r, "directory with a hash");
}
END_TEST

/* ---------------------------------------------------------------- request, done, error, empty */

START_TEST(test_request)
{
	uint8_t h[MM_HASH_LEN], got[MM_HASH_LEN], buf[MM_HASH_LEN + 1];
	struct wbuf b;
	size_t at, len;
	const uint8_t *p;
	uint8_t *c;

	for (int i = 0; i < MM_HASH_LEN; i++)
		h[i] = (uint8_t) (0xf0 ^ i * 37);
	wbuf_init(&b);
	ENCODE_AFTER_BYE(&b, at, proto_put_request(&b, h));
	p = frame_payload(&b, at, MSG_REQUEST, &len);
	ck_assert_uint_eq(len, MM_HASH_LEN);
	ck_assert(!memcmp(p, h, MM_HASH_LEN));
	c = exact_copy(p, len);
	TU_OK(proto_get_request(got, c, len));
	ck_assert(!memcmp(got, h, MM_HASH_LEN));
	free(c);
	assert_strict(DEC_REQUEST, p, len, "request");
	memset(buf, 1, sizeof(buf));
	assert_rejected(DEC_REQUEST, buf, 0, "empty request");
	assert_rejected(DEC_REQUEST, buf, 31, "request of 31 bytes");
	assert_rejected(DEC_REQUEST, buf, 33, "request of 33 bytes");
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_done)
{
	struct msg_done m = {1, UINT64_MAX, 0, 0x0102030405060708u, 42, (uint64_t) 1 << 63}, got;
	struct wbuf b;
	size_t at, len;
	const uint8_t *p;
	uint8_t *c;

	wbuf_init(&b);
	ENCODE_AFTER_BYE(&b, at, proto_put_done(&b, &m));
	p = frame_payload(&b, at, MSG_DONE, &len);
	ck_assert_uint_eq(len, 48);
	c = exact_copy(p, len);
	memset(&got, 0xaa, sizeof(got));
	TU_OK(proto_get_done(&got, c, len));
	free(c);
	ck_assert_uint_eq(got.files, m.files);
	ck_assert_uint_eq(got.bytes, m.bytes);
	ck_assert_uint_eq(got.deleted, m.deleted);
	ck_assert_uint_eq(got.conflicts, m.conflicts);
	ck_assert_uint_eq(got.merged, m.merged);
	ck_assert_uint_eq(got.failed, m.failed);
	ck_assert(!memcmp(p + 24, "\x01\x02\x03\x04\x05\x06\x07\x08", 8)); /* in field order, big endian */
	assert_strict(DEC_DONE, p, len, "done");
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_error_message)
{
	char got[PROTO_MAX_MSG + 1];
	char *big = malloc(PROTO_MAX_MSG + 2);
	struct wbuf b, raw;
	size_t at, len;
	const uint8_t *p;
	uint8_t *c;

	ck_assert_ptr_nonnull(big);
	wbuf_init(&b);
	wbuf_init(&raw);
	ENCODE_AFTER_BYE(&b, at, proto_put_error(&b, "cannot open 'notes.txt': Permission denied"));
	p = frame_payload(&b, at, MSG_ERROR, &len);
	ck_assert_uint_eq(len, 2 + 42);
	c = exact_copy(p, len);
	TU_OK(proto_get_error(got, c, len));
	free(c);
	ck_assert_str_eq(got, "cannot open 'notes.txt': Permission denied");
	assert_strict(DEC_ERROR, p, len, "error");

	/* an empty message */
	ENCODE_AFTER_BYE(&b, at, proto_put_error(&b, ""));
	p = frame_payload(&b, at, MSG_ERROR, &len);
	ck_assert_uint_eq(len, 2);
	c = exact_copy(p, len);
	TU_OK(proto_get_error(got, c, len));
	free(c);
	ck_assert_str_eq(got, "");

	/* longer than PROTO_MAX_MSG: the encoder cuts it, the decoder refuses it */
	memset(big, 'e', PROTO_MAX_MSG + 1);
	big[PROTO_MAX_MSG + 1] = '\0';
	ENCODE_AFTER_BYE(&b, at, proto_put_error(&b, big));
	p = frame_payload(&b, at, MSG_ERROR, &len);
	ck_assert_uint_eq(len, 2 + PROTO_MAX_MSG);
	c = exact_copy(p, len);
	TU_OK(proto_get_error(got, c, len));
	free(c);
	ck_assert_uint_eq(strlen(got), PROTO_MAX_MSG);
	put_str16(&raw, big, PROTO_MAX_MSG + 1);
	assert_rejected(DEC_ERROR, raw.p, raw.len, "message of 1025 bytes");
	wbuf_reset(&raw);
	put_str16(&raw, big, PROTO_MAX_MSG);
	assert_accepted(DEC_ERROR, raw.p, raw.len, "message of 1024 bytes");
	free(big);
	wbuf_dispose(&raw);
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_error_control_chars)
{
	/* every control character, DEL and NUL become '?'; printable and 8-bit bytes stay */
	static const char in[] = "a\x01\tb\nc\rd\x1f\x7f\x00 e\xc3\xa9~\x1b[31m";
	static const char want[] = "a??b?c?d??? e\xc3\xa9~?[31m";
	char got[PROTO_MAX_MSG + 1];
	struct wbuf raw;
	uint8_t *c;
	uint8_t all[256];

	wbuf_init(&raw);
	put_str16(&raw, in, sizeof(in) - 1);
	c = exact_copy(raw.p, raw.len);
	TU_OK(proto_get_error(got, c, raw.len));
	free(c);
	ck_assert_str_eq(got, want);

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t) i;
	wbuf_reset(&raw);
	put_str16(&raw, all, 256);
	c = exact_copy(raw.p, raw.len);
	TU_OK(proto_get_error(got, c, raw.len));
	free(c);
	ck_assert_uint_eq(strlen(got), 256); /* the NUL became '?' too: all 256 are there */
	for (int i = 0; i < 256; i++) {
		int ctl = i < 0x20 || i == 0x7f;
		REQUIRE_MSG((uint8_t) got[i] == (ctl ? '?' : i), "byte %#x came out as %#x", i, (uint8_t) got[i]);
	}
	wbuf_dispose(&raw);
}
END_TEST

START_TEST(test_empty_messages)
{
	static const uint8_t types[] = {MSG_BYE, MSG_MISSING};
	struct wbuf b;
	size_t at, len;
	const uint8_t *p;
	uint8_t *c;

	wbuf_init(&b);
	for (int i = 0; i < 2; i++) {
		ENCODE_AFTER_BYE(&b, at, proto_put_raw(&b, types[i], NULL, 0));
		p = frame_payload(&b, at, types[i], &len);
		ck_assert_uint_eq(len, 0);
		ck_assert_uint_eq(b.len - at, 5);
		c = exact_copy(p, 0);
		TU_OK(proto_get_empty(c, 0, proto_type_name(types[i])));
		free(c);
		c = exact_copy("\x00", 1);
		ck_assert_int_eq(proto_get_empty(c, 1, proto_type_name(types[i])), MM_ECORRUPT);
		ck_assert_msg(tu_contains(mm_error_msg(), proto_type_name(types[i])), "message: %s", mm_error_msg());
		free(c);
	}
	/* a raw frame carries its payload as given */
	ENCODE_AFTER_BYE(&b, at, proto_put_raw(&b, MSG_DATA, "payload", 7));
	p = frame_payload(&b, at, MSG_DATA, &len);
	ck_assert_uint_eq(len, 7);
	ck_assert(!memcmp(p, "payload", 7));
	wbuf_dispose(&b);
}
END_TEST

START_TEST(test_type_names)
{
	static const char *const want[] = {"hello",     "want",          "replica",  "row",      "index-end",
	                                   "request",   "data",          "data-end", "missing",  "done",
	                                   "error",     "bye",           "bundle",   "checksum", "delta-request",
	                                   "signature", "signature-end", "delta",    "delta-end"};

	for (int t = MSG_HELLO; t <= MSG_DELTA_END; t++)
		ck_assert_str_eq(proto_type_name(t), want[t - 1]);
	ck_assert_str_eq(proto_type_name(0), "unknown");
	ck_assert_str_eq(proto_type_name(20), "unknown");
	ck_assert_str_eq(proto_type_name(-1), "unknown");
	ck_assert_str_eq(proto_type_name(255), "unknown");
}
END_TEST

/* ---------------------------------------------------------------- random input */

/* Valid payloads of `d` to mutate. */
static void seeds_for(enum dec d, struct wbuf *out, size_t *starts, size_t *nseeds)
{
	struct wbuf f;
	size_t len, n = 0;
	const uint8_t *p;

	wbuf_init(&f);
	wbuf_reset(out);
#define SEED(type, call)                                                                                               \
	do {                                                                                                           \
		wbuf_reset(&f);                                                                                        \
		call;                                                                                                  \
		p = frame_payload(&f, 0, type, &len);                                                                  \
		starts[n++] = out->len;                                                                                \
		put_bytes(out, p, len);                                                                                \
	} while (0)
	switch (d) {
	case DEC_HELLO: {
		struct msg_hello m;
		char *fs[3] = {"a", "b/c", "d\xff"};
		hello_set(&m, 5, "peer", 3, 3, fs);
		SEED(MSG_HELLO, proto_put_hello(&f, &m));
		hello_set(&m, 6, "x", 0, 0, NULL);
		SEED(MSG_HELLO, proto_put_hello(&f, &m));
		break;
	}
	case DEC_U64: SEED(MSG_WANT, proto_put_u64(&f, MSG_WANT, 0x1234)); break;
	case DEC_REPLICA: SEED(MSG_REPLICA, proto_put_replica(&f, 9, "laptop")); break;
	case DEC_ROW: {
		static const uint64_t pairs[] = {1, 2, 300, 4, UINT64_MAX, 200};
		struct entry e;
		for (int k = 0; k < 4; k++) {
			mkrow(&e, "d/e", 3, k, pairs, 3);
			SEED(MSG_ROW, proto_put_row(&f, &e));
			entry_dispose(&e);
		}
		break;
	}
	case DEC_REQUEST: SEED(MSG_REQUEST, proto_put_request(&f, the_hash)); break;
	case DEC_DONE: {
		struct msg_done m = {1, 2, 3, 4, 5, 6};
		SEED(MSG_DONE, proto_put_done(&f, &m));
		break;
	}
	case DEC_ERROR: SEED(MSG_ERROR, proto_put_error(&f, "boom\x01")); break;
	case DEC_EMPTY: SEED(MSG_BYE, proto_put_raw(&f, MSG_BYE, NULL, 0)); break;
	}
#undef SEED
	starts[n] = out->len;
	*nseeds = n;
	wbuf_dispose(&f);
}

/*
 * What an accepted payload must encode back to: the payload itself, but for
 * the fields a decoder rewrites (control characters of an ERROR message,
 * the size of a row that is not a file).
 */
static void canonical_of(enum dec d, const uint8_t *p, size_t len, struct wbuf *out)
{
	wbuf_reset(out);
	put_bytes(out, p, len);
	if (d == DEC_ERROR)
		for (size_t i = 2; i < len; i++)
			if (out->p[i] < 0x20 || out->p[i] == 0x7f)
				out->p[i] = '?';
	if (d == DEC_ROW) {
		size_t plen = be16(p), at = 2 + plen; /* kind */
		int kind = p[at];
		uint64_t size = 0;
		if (kind == ENTRY_FILE)
			return;
		if (kind == ENTRY_LINK)
			size = be16(p + at + 1 + 2 +
			            8 * 5); /* the target's str16 length (after size, mtime, mstamp, writer, seq) */
		for (int k = 0; k < 8; k++)
			out->p[at + 3 + (size_t) k] = (uint8_t) (size >> (56 - 8 * k));
	}
}

START_TEST(test_random_payloads)
{
	enum dec d = (enum dec) _i;
	struct rng r = {0x5eed0000u + (uint64_t) _i};
	struct wbuf seeds, in, re, want;
	size_t starts[8], nseeds, accepted = 0;

	wbuf_init(&seeds);
	wbuf_init(&in);
	wbuf_init(&re);
	wbuf_init(&want);
	seeds_for(d, &seeds, starts, &nseeds);
	for (long it = 0; it < 6000; it++) {
		int rc, from_seed = it % 3 != 0;
		wbuf_reset(&in);
		if (from_seed) {
			/* a valid payload with a few changes */
			size_t s = rng_below(&r, nseeds);
			put_bytes(&in, seeds.p + starts[s], starts[s + 1] - starts[s]);
			for (int m = 0, nm = 1 + (int) rng_below(&r, 3); m < nm; m++) {
				size_t at = in.len ? rng_below(&r, in.len) : 0;
				switch (rng_below(&r, 5)) {
				case 0:
					if (in.len)
						in.p[at] ^= (uint8_t) (1u << rng_below(&r, 8));
					break;
				case 1:
					if (in.len)
						in.p[at] = (uint8_t) rng_next(&r);
					break;
				case 2: in.len = at; break; /* cut */
				case 3:
					if (in.len) { /* delete a byte */
						memmove(in.p + at, in.p + at + 1, in.len - at - 1);
						in.len--;
					}
					break;
				default: /* insert a byte */
					put_u8(&in, 0);
					memmove(in.p + at + 1, in.p + at, in.len - at - 1);
					in.p[at] = (uint8_t) rng_next(&r);
					break;
				}
			}
		} else {
			size_t n = rng_below(&r, 4) ? rng_below(&r, 80) : rng_below(&r, 600);
			if (d == DEC_HELLO && rng_below(&r, 2))
				put_bytes(&in, PROTO_MAGIC, 6);
			for (size_t k = 0; k < n; k++)
				put_u8(&in, (uint8_t) (rng_below(&r, 4) ? rng_next(&r) : rng_below(&r, 3)));
		}
		wbuf_reset(&re);
		rc = decode(d, in.p ? in.p : (const uint8_t *) "", in.len, &re);
		REQUIRE_MSG(rc == 0 || rc == MM_ECORRUPT, "%s decoder, input %ld: returned %d", dec_names[d], it, rc);
		if (rc != 0)
			continue;
		accepted++;
		canonical_of(d, in.p, in.len, &want);
		REQUIRE_MSG(re.len == want.len && (want.len == 0 || !memcmp(re.p, want.p, want.len)),
		            "%s decoder, input %ld (%zu bytes): accepted, but encodes back to other bytes (%zu)",
		            dec_names[d], it, in.len, re.len);
	}
	/* the check above ran: every decoder but the empty one accepts some changed payloads */
	ck_assert_msg(accepted > 0 || d == DEC_EMPTY, "%s: nothing accepted", dec_names[d]);
	wbuf_dispose(&seeds);
	wbuf_dispose(&in);
	wbuf_dispose(&re);
	wbuf_dispose(&want);
}
END_TEST

/* ---------------------------------------------------------------- conn */

/* Two ends: A (the test) and B (the peer), over a socket pair (kind 0) or two pipes (kind 1). */
struct ends {
	int kind;
	int a_r, a_w, b_r, b_w;
};

static void ends_open(struct ends *e, int kind)
{
	e->kind = kind;
	if (kind == 0) {
		int sv[2];
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		e->a_r = e->a_w = sv[0];
		e->b_r = e->b_w = sv[1];
	} else {
		int ab[2], ba[2];
		ck_assert_int_eq(pipe(ab), 0);
		ck_assert_int_eq(pipe(ba), 0);
		e->a_w = ab[1];
		e->b_r = ab[0];
		e->b_w = ba[1];
		e->a_r = ba[0];
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void ends_close_a(struct ends *e)
{
	if (e->a_w == e->a_r)
		e->a_w = -1;
	close_fd(&e->a_r);
	close_fd(&e->a_w);
}

static void ends_close_b(struct ends *e)
{
	if (e->b_w == e->b_r)
		e->b_w = -1;
	close_fd(&e->b_r);
	close_fd(&e->b_w);
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		c += w;
		n -= (size_t) w;
	}
}

static const char *const kind_names[] = {"socket pair", "pipes"};

/* Several frames of every message, sent from A, come out at B in order with their types and payloads. */
START_TEST(test_conn_frames_in_order)
{
	static const uint64_t pairs[] = {1, 5, 2, 6};
	struct ends e;
	struct conn a, b;
	struct wbuf each[9];
	int types[9] = {MSG_HELLO,   MSG_WANT, MSG_REPLICA, MSG_ROW, MSG_INDEX_END,
	                MSG_REQUEST, MSG_DATA, MSG_DONE,    MSG_BYE};
	struct msg_hello h;
	struct msg_done d = {1, 2, 3, 4, 5, 6};
	struct entry row;
	char *fs[1] = {"only"};
	uint8_t data[1000];
	uint64_t total = 0;

	ends_open(&e, _i);
	TU_OK(conn_init(&a, e.a_r, e.a_w, "peer-a"));
	TU_OK(conn_init(&b, e.b_r, e.b_w, "peer-b"));
	ck_assert_int_eq(a.timeout_ms, -1);
	for (int i = 0; i < 1000; i++)
		data[i] = (uint8_t) (i * 7);
	hello_set(&h, 3, "h", 1, 1, fs);
	mkrow(&row, "r/s", 3, ENTRY_FILE, pairs, 2);
	for (int i = 0; i < 9; i++) {
		struct wbuf *w = &each[i];
		wbuf_init(w);
		switch (types[i]) {
		case MSG_HELLO: proto_put_hello(w, &h); break;
		case MSG_WANT: proto_put_u64(w, MSG_WANT, 17); break;
		case MSG_REPLICA: proto_put_replica(w, 8, "r8"); break;
		case MSG_ROW: proto_put_row(w, &row); break;
		case MSG_INDEX_END: proto_put_u64(w, MSG_INDEX_END, 99); break;
		case MSG_REQUEST: proto_put_request(w, the_hash); break;
		case MSG_DATA: proto_put_raw(w, MSG_DATA, data, sizeof(data)); break;
		case MSG_DONE: proto_put_done(w, &d); break;
		default: proto_put_raw(w, MSG_BYE, NULL, 0); break;
		}
		put_bytes(&a.out, w->p, w->len);
		total += w->len;
	}
	entry_dispose(&row);
	ck_assert_uint_eq(a.bytes_out, 0); /* buffered, not written */
	TU_OK(conn_flush(&a));
	ck_assert_uint_eq(a.out.len, 0);
	ck_assert_uint_eq(a.bytes_out, total);
	ck_assert_uint_eq(b.bytes_in, 0);
	for (int i = 0; i < 9; i++) {
		int type = -1;
		const uint8_t *p;
		size_t len, wlen;
		const uint8_t *wp = frame_payload(&each[i], 0, types[i], &wlen);
		TU_OK(conn_recv(&b, &type, &p, &len));
		ck_assert_msg(type == types[i], "%s: frame %d of type %d, expected %d", kind_names[_i], i, type,
		              types[i]);
		ck_assert_uint_eq(len, wlen);
		ck_assert_msg(!memcmp(p, wp, len), "frame %d: payload differs", i);
		wbuf_dispose(&each[i]);
	}
	ck_assert_uint_eq(b.bytes_in, total);
	ck_assert_uint_eq(b.bytes_out, 0);
	ck_assert_uint_eq(a.bytes_in, 0);
	conn_dispose(&a);
	conn_dispose(&b);
	ends_close_a(&e);
	ends_close_b(&e);
}
END_TEST

/* The frames arrive a few bytes at a time, with frames larger than one read block and of the largest size. */
START_TEST(test_conn_trickle)
{
	static const size_t sizes[] = {0, 1, 300 * 1024, 5, PROTO_MAX_FRAME - 1, 70000, 0};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct ends e;
	struct conn b;
	struct wbuf all;
	uint8_t *data = malloc(PROTO_MAX_FRAME + N);
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < PROTO_MAX_FRAME + N; i++)
		data[i] = (uint8_t) (i * 2654435761u >> 13);
	wbuf_init(&all);
	for (size_t i = 0; i < N; i++)
		proto_put_raw(&all, (uint8_t) (MSG_DATA + (i % 2)), data + i, sizes[i]);
	ends_open(&e, _i);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rng r = {7};
		size_t off = 0;
		ends_close_a(&e);
		if (e.kind == 1)
			close_fd(&e.b_r);
		while (off < all.len) {
			size_t n = rng_below(&r, 4) ? 1 + rng_below(&r, 7) : 1 + rng_below(&r, 200000);
			if (n > all.len - off)
				n = all.len - off;
			ssize_t w = write(e.b_w, all.p + off, n);
			if (w <= 0)
				_exit(1);
			off += (size_t) w;
		}
		_exit(0);
	}
	ends_close_b(&e);
	TU_OK(conn_init(&b, e.a_r, e.a_w, "trickle"));
	b.timeout_ms = 10000; /* a hang is a failure, not a stuck run */
	for (size_t i = 0; i < N; i++) {
		int type;
		const uint8_t *p;
		size_t len;
		TU_OK(conn_recv(&b, &type, &p, &len));
		ck_assert_int_eq(type, MSG_DATA + (int) (i % 2));
		ck_assert_uint_eq(len, sizes[i]);
		ck_assert_msg(!memcmp(p, data + i, len), "frame %zu: payload differs", i);
	}
	ck_assert_uint_eq(b.bytes_in, all.len);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	conn_dispose(&b);
	ends_close_a(&e);
	wbuf_dispose(&all);
	free(data);
}
END_TEST

/* A frame header with length 0, or above PROTO_MAX_FRAME: MM_ECORRUPT, with nothing allocated for it. */
START_TEST(test_conn_bad_lengths)
{
	static const uint32_t lens[] = {0, PROTO_MAX_FRAME + 1, PROTO_MAX_FRAME * 2, 0x7fffffff, 0xffffffffu};
	char want[64];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct ends e;
		struct conn c;
		uint8_t hdr[5] = {(uint8_t) (lens[i] >> 24), (uint8_t) (lens[i] >> 16), (uint8_t) (lens[i] >> 8),
		                  (uint8_t) lens[i], MSG_DATA};
		int type, rc;
		const uint8_t *p;
		size_t len;

		ends_open(&e, _i);
		write_all(e.b_w, hdr, 5);
		TU_OK(conn_init(&c, e.a_r, e.a_w, "liar"));
		c.timeout_ms = 5000;
		rc = conn_recv(&c, &type, &p, &len);
		ck_assert_msg(rc == MM_ECORRUPT, "frame length %u: returned %d (%s)", lens[i], rc, mm_error_msg());
		snprintf(want, sizeof(want), "frame of %u bytes", lens[i]);
		ck_assert_msg(tu_contains(mm_error_msg(), want) && tu_contains(mm_error_msg(), "liar"), "message: %s",
		              mm_error_msg());
		ck_assert_msg(c.in_cap < (size_t) lens[i] + 4 || lens[i] == 0,
		              "frame length %u: %zu bytes of input buffer allocated", lens[i], c.in_cap);
		ck_assert_uint_le(c.in_cap, PROTO_MAX_FRAME);
		conn_dispose(&c);
		ends_close_a(&e);
		ends_close_b(&e);
	}
}
END_TEST

/* The peer goes away: between frames, in a header, in a payload. */
START_TEST(test_conn_eof)
{
	static const struct {
		const char *bytes;
		size_t n;
		int frames; /* complete frames before the end */
		int middle; /* the end cuts a frame */
	} cases[] = {
	        {"", 0, 0, 0},
	        {"\x00\x00\x00\x01\x0c", 5, 1, 0},
	        {"\x00", 1, 0, 1},
	        {"\x00\x00\x00", 3, 0, 1},
	        {"\x00\x00\x00\x0a", 4, 0, 1},
	        {"\x00\x00\x00\x0a\x07xyz", 8, 0, 1},
	        {"\x00\x00\x00\x01\x0c\x00\x00\x00\x09\x07\x01\x02\x03\x04\x05\x06\x07", 17, 1, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ends e;
		struct conn c;
		int type, rc;
		const uint8_t *p;
		size_t len;

		ends_open(&e, _i);
		if (cases[i].n)
			write_all(e.b_w, cases[i].bytes, cases[i].n);
		ends_close_b(&e);
		TU_OK(conn_init(&c, e.a_r, e.a_w, "leaver"));
		for (int f = 0; f < cases[i].frames; f++)
			TU_OK(conn_recv(&c, &type, &p, &len));
		rc = conn_recv(&c, &type, &p, &len);
		ck_assert_msg(rc == MM_EIO, "case %zu: returned %d (%s)", i, rc, mm_error_msg());
		ck_assert_msg(tu_contains(mm_error_msg(), "'leaver' closed the connection"), "case %zu: message: %s", i,
		              mm_error_msg());
		ck_assert_msg(tu_contains(mm_error_msg(), "in the middle of a message") == cases[i].middle,
		              "case %zu (%s): message: %s", i, cases[i].middle ? "mid-frame" : "between frames",
		              mm_error_msg());
		ck_assert_uint_eq(c.bytes_in, cases[i].n);
		conn_dispose(&c);
		ends_close_a(&e);
	}
}
END_TEST

START_TEST(test_conn_error_frame)
{
	struct ends e;
	struct conn a, b;
	int type, rc;
	const uint8_t *p;
	size_t len;

	ends_open(&e, _i);
	TU_OK(conn_init(&a, e.a_r, e.a_w, "server-7"));
	TU_OK(conn_init(&b, e.b_r, e.b_w, "client"));
	proto_put_error(&b.out, "cannot read 'x/y': Input/output error");
	proto_put_u64(&b.out, MSG_WANT, 1);
	proto_put_raw(&b.out, MSG_ERROR,
	              "\x00\x05"
	              "ab",
	              4); /* malformed */
	proto_put_error(&b.out, "bell\a and\x1b[2J escape");
	TU_OK(conn_flush(&b));
	rc = conn_recv(&a, &type, &p, &len);
	ck_assert_int_eq(rc, MM_ERROR);
	ck_assert_msg(tu_contains(mm_error_msg(), "cannot read 'x/y': Input/output error"), "message: %s",
	              mm_error_msg());
	ck_assert_msg(tu_contains(mm_error_msg(), "server-7"), "message does not name the peer: %s", mm_error_msg());
	/* the connection goes on after it */
	TU_OK(conn_expect(&a, MSG_WANT, &p, &len));
	rc = conn_recv(&a, &type, &p, &len);
	ck_assert_msg(rc == MM_ECORRUPT, "malformed error frame: %d (%s)", rc, mm_error_msg());
	rc = conn_expect(&a, MSG_WANT, &p, &len);
	ck_assert_int_eq(rc, MM_ERROR);
	ck_assert_msg(tu_contains(mm_error_msg(), "bell? and?[2J escape"), "message: %s", mm_error_msg());
	conn_dispose(&a);
	conn_dispose(&b);
	ends_close_a(&e);
	ends_close_b(&e);
}
END_TEST

START_TEST(test_conn_expect)
{
	struct ends e;
	struct conn a, b;
	const uint8_t *p;
	size_t len;
	uint64_t v;
	int rc;

	ends_open(&e, _i);
	TU_OK(conn_init(&a, e.a_r, e.a_w, "here"));
	TU_OK(conn_init(&b, e.b_r, e.b_w, "there"));
	proto_put_u64(&b.out, MSG_WANT, 5);
	proto_put_u64(&b.out, MSG_WANT, 6);
	proto_put_raw(&b.out, 200, NULL, 0);
	TU_OK(conn_flush(&b));
	TU_OK(conn_expect(&a, MSG_WANT, &p, &len));
	TU_OK(proto_get_u64(&v, p, len, "want"));
	ck_assert_uint_eq(v, 5);
	rc = conn_expect(&a, MSG_ROW, &p, &len);
	ck_assert_int_eq(rc, MM_ECORRUPT);
	ck_assert_msg(tu_contains(mm_error_msg(), "'want'") && tu_contains(mm_error_msg(), "'row'") &&
	                      tu_contains(mm_error_msg(), "here"),
	              "message: %s", mm_error_msg());
	rc = conn_expect(&a, MSG_BYE, &p, &len);
	ck_assert_int_eq(rc, MM_ECORRUPT);
	ck_assert_msg(tu_contains(mm_error_msg(), "'unknown'") && tu_contains(mm_error_msg(), "'bye'"), "message: %s",
	              mm_error_msg());
	conn_dispose(&a);
	conn_dispose(&b);
	ends_close_a(&e);
	ends_close_b(&e);
}
END_TEST

/* A silent peer: conn_recv gives up after timeout_ms. */
START_TEST(test_conn_read_timeout)
{
	struct ends e;
	struct conn c;
	struct timespec t0, t1;
	int type, rc;
	const uint8_t *p;
	size_t len;
	long ms;

	ends_open(&e, _i);
	TU_OK(conn_init(&c, e.a_r, e.a_w, "sleepy"));
	c.timeout_ms = 200;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = conn_recv(&c, &type, &p, &len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(rc == MM_EIO, "returned %d (%s)", rc, mm_error_msg());
	ck_assert_msg(tu_contains(mm_error_msg(), "'sleepy' did not answer"), "message: %s", mm_error_msg());
	ck_assert_msg(ms >= 150 && ms < 3000, "gave up after %ld ms", ms);

	/* half a frame, then silence */
	write_all(e.b_w, "\x00\x00\x00\x09\x07", 5);
	rc = conn_recv(&c, &type, &p, &len);
	ck_assert_msg(rc == MM_EIO && tu_contains(mm_error_msg(), "did not answer"), "returned %d (%s)", rc,
	              mm_error_msg());
	conn_dispose(&c);
	ends_close_a(&e);
	ends_close_b(&e);
}
END_TEST

/*
 * A peer that stops reading: conn_flush gives up after timeout_ms too
 * ("per read or write").  Run in a child: a blocked write would hang the test.
 */
START_TEST(test_conn_write_timeout)
{
	struct ends e;
	pid_t pid;
	int status;

	ends_open(&e, _i);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct conn c;
		uint8_t *big = calloc(1, PROTO_MAX_FRAME - 1);
		int rc;
		if (!big)
			_exit(3);
		conn_init(&c, e.a_r, e.a_w, "deaf");
		c.timeout_ms = 200;
		for (int i = 0; i < 4; i++)
			proto_put_raw(&c.out, MSG_DATA, big, PROTO_MAX_FRAME - 1);
		rc = conn_flush(&c);
		_exit(rc == MM_EIO && tu_contains(mm_error_msg(), "did not answer") ? 0 : rc == 0 ? 1 : 2);
	}
	/* B stays open and never reads */
	ck_assert_msg(wait_deadline(pid, 3000, &status),
	              "%s: conn_flush of 4 MiB with timeout_ms 200 to a peer that never reads was still blocked "
	              "after 3 s",
	              kind_names[_i]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "%s: conn_flush to a peer that never reads: child status %#x (exit 1: it succeeded, 2: another "
	              "error)",
	              kind_names[_i], status);
	ends_close_a(&e);
	ends_close_b(&e);
}
END_TEST

/* A peer that closed its end: MM_EIO, not a SIGPIPE that kills the process. */
START_TEST(test_conn_peer_gone)
{
	struct ends e;
	struct conn c;
	int rc;

	ends_open(&e, _i);
	ends_close_b(&e);
	TU_OK(conn_init(&c, e.a_r, e.a_w, "gone"));
	proto_put_u64(&c.out, MSG_WANT, 1);
	rc = conn_flush(&c);
	ck_assert_msg(rc == MM_EIO, "returned %d (%s)", rc, mm_error_msg());
	ck_assert_msg(tu_contains(mm_error_msg(), "cannot send to peer 'gone'"), "message: %s", mm_error_msg());
	conn_dispose(&c);
	ends_close_a(&e);
}
END_TEST

/* conn_flush_over flushes only above its threshold; conn_recv flushes before it blocks. */
START_TEST(test_conn_flush_rules)
{
	struct ends e;
	struct conn a, b;
	int type;
	const uint8_t *p;
	size_t len, n;

	ends_open(&e, _i);
	TU_OK(conn_init(&a, e.a_r, e.a_w, "a"));
	TU_OK(conn_init(&b, e.b_r, e.b_w, "b"));
	proto_put_raw(&a.out, MSG_DATA, the_hash, 27); /* 32 bytes */
	n = a.out.len;
	ck_assert_uint_eq(n, 32);
	TU_OK(conn_flush_over(&a, 32));
	ck_assert_uint_eq(a.out.len, 32);
	ck_assert_uint_eq(a.bytes_out, 0);
	TU_OK(conn_flush_over(&a, 31));
	ck_assert_uint_eq(a.out.len, 0);
	ck_assert_uint_eq(a.bytes_out, 32);
	TU_OK(conn_flush(&a)); /* nothing to do */
	ck_assert_uint_eq(a.bytes_out, 32);

	/* B's answer is already there; A's question is only buffered until A reads */
	proto_put_u64(&b.out, MSG_INDEX_END, 3);
	TU_OK(conn_flush(&b));
	proto_put_u64(&a.out, MSG_WANT, 2);
	TU_OK(conn_expect(&a, MSG_INDEX_END, &p, &len));
	ck_assert_uint_eq(a.out.len, 0);
	ck_assert_uint_eq(a.bytes_out, 32 + 13);
	TU_OK(conn_expect(&b, MSG_DATA, &p, &len));
	TU_OK(conn_recv(&b, &type, &p, &len));
	ck_assert_int_eq(type, MSG_WANT);
	ck_assert_uint_eq(b.bytes_in, 32 + 13);
	ck_assert_uint_eq(a.bytes_in, 13);
	ck_assert_uint_eq(b.bytes_out, 13);
	conn_dispose(&a);
	conn_dispose(&b);
	ends_close_a(&e);
	ends_close_b(&e);
}
END_TEST

/* ------------------------------------------- large frames both ways, each side in its own process */

#define BIG_FRAMES 4

static void big_fill(uint8_t *p, size_t n, unsigned side, unsigned i)
{
	uint32_t x = 0x9e3779b9u * (side * 16 + i + 1);

	for (size_t k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[k] = (uint8_t) x;
	}
}

/*
 * One side.  `alternate` 0: send BIG_FRAMES frames of the largest size, then
 * read the other side's (both sides write at once).  `alternate` 1: side 0
 * sends one and reads one, side 1 reads one and sends one (in turn).
 * Returns the exit status: 0 when every frame came through intact, 11 when
 * conn_recv failed, 12 when a frame differs, 13 when the last flush failed,
 * 14 when the byte counts are not exact.
 */
static int big_side(int rfd, int wfd, unsigned side, int alternate)
{
	struct conn c;
	size_t n = PROTO_MAX_FRAME - 1;
	uint8_t *want = malloc(n), *mine = malloc(n);
	int type;
	const uint8_t *p;
	size_t len;

	if (!want || !mine)
		return 10;
	conn_init(&c, rfd, wfd, side ? "a" : "b");
	for (unsigned i = 0; i < BIG_FRAMES; i++) {
		int send_first = !alternate || side == 0;
		if (send_first) {
			big_fill(mine, n, side, i);
			proto_put_raw(&c.out, MSG_DATA, mine, n);
			if (!alternate && i + 1 < BIG_FRAMES)
				continue;
		}
		for (unsigned k = alternate ? i : 0; k <= i; k++) {
			if (conn_recv(&c, &type, &p, &len) < 0)
				return 11;
			big_fill(want, n, !side, k);
			if (type != MSG_DATA || len != n || memcmp(p, want, n))
				return 12;
		}
		if (!send_first) {
			big_fill(mine, n, side, i);
			proto_put_raw(&c.out, MSG_DATA, mine, n);
		}
	}
	if (conn_flush(&c) < 0)
		return 13;
	if (c.bytes_in != (uint64_t) BIG_FRAMES * (n + 5) || c.bytes_out != (uint64_t) BIG_FRAMES * (n + 5))
		return 14;
	conn_dispose(&c);
	free(want);
	free(mine);
	return 0;
}

static void big_both_ways(int kind, int alternate)
{
	struct ends e;
	pid_t pa, pb;
	int sa, sb, done_a, done_b;

	ends_open(&e, kind);
	pa = fork();
	ck_assert_int_ge(pa, 0);
	if (pa == 0) {
		ends_close_b(&e);
		_exit(big_side(e.a_r, e.a_w, 0, alternate));
	}
	pb = fork();
	if (pb == 0) {
		ends_close_a(&e);
		_exit(big_side(e.b_r, e.b_w, 1, alternate));
	}
	ends_close_a(&e);
	ends_close_b(&e);
	ck_assert_int_ge(pb, 0);
	done_a = wait_deadline(pa, 10000, &sa);
	done_b = wait_deadline(pb, done_a ? 5000 : 10, &sb);
	ck_assert_msg(done_a && done_b,
	              "%s: %d frames of %u bytes sent both ways %s: deadlock, still blocked after 10 s",
	              kind_names[kind], BIG_FRAMES, PROTO_MAX_FRAME, alternate ? "in turn" : "at once");
	ck_assert_msg(WIFEXITED(sa) && WEXITSTATUS(sa) == 0, "side a: status %#x", sa);
	ck_assert_msg(WIFEXITED(sb) && WEXITSTATUS(sb) == 0, "side b: status %#x", sb);
}

START_TEST(test_conn_big_in_turn)
{
	big_both_ways(_i, 1);
}
END_TEST

START_TEST(test_conn_big_at_once)
{
	big_both_ways(_i, 0);
}
END_TEST

Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("wire");
	tcase_add_test(tc, test_wire_int_roundtrip);
	tcase_add_test(tc, test_wire_byte_order);
	tcase_add_test(tc, test_wire_bytes_roundtrip);
	tcase_add_test(tc, test_wire_past_end);
	tcase_add_test(tc, test_wire_rbuf_done);
	tcase_add_test(tc, test_wire_str16_max);
	tcase_add_test(tc, test_wire_wbuf);
	tcase_add_test(tc, test_wire_grow_overflow);
	tcase_add_test(tc, test_wire_grow_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hello_layout);
	tcase_add_test(tc, test_hello_roundtrip);
	tcase_add_test(tc, test_hello_truncations);
	tcase_add_test(tc, test_hello_rejects);
	tcase_add_test(tc, test_u64_messages);
	tcase_add_test(tc, test_replica_roundtrip);
	tcase_add_test(tc, test_replica_rejects);
	tcase_add_test(tc, test_row_roundtrip_kinds);
	tcase_add_test(tc, test_row_roundtrip_paths);
	tcase_add_test(tc, test_row_big_vector);
	tcase_add_test(tc, test_row_largest_vector);
	tcase_add_test(tc, test_row_size_normalised);
	tcase_add_test(tc, test_row_truncations);
	tcase_add_test(tc, test_row_bad_paths);
	tcase_add_test(tc, test_row_bad_fields);
	tcase_add_test(tc, test_request);
	tcase_add_test(tc, test_done);
	tcase_add_test(tc, test_error_message);
	tcase_add_test(tc, test_error_control_chars);
	tcase_add_test(tc, test_empty_messages);
	tcase_add_test(tc, test_type_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_random_payloads, DEC_HELLO, DEC_EMPTY + 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("conn");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_conn_frames_in_order, 0, 2);
	tcase_add_loop_test(tc, test_conn_trickle, 0, 2);
	tcase_add_loop_test(tc, test_conn_bad_lengths, 0, 2);
	tcase_add_loop_test(tc, test_conn_eof, 0, 2);
	tcase_add_loop_test(tc, test_conn_error_frame, 0, 2);
	tcase_add_loop_test(tc, test_conn_expect, 0, 2);
	tcase_add_loop_test(tc, test_conn_read_timeout, 0, 2);
	tcase_add_loop_test(tc, test_conn_write_timeout, 0, 2);
	tcase_add_loop_test(tc, test_conn_peer_gone, 0, 2);
	tcase_add_loop_test(tc, test_conn_flush_rules, 0, 2);
	tcase_add_loop_test(tc, test_conn_big_in_turn, 0, 2);
	tcase_add_loop_test(tc, test_conn_big_at_once, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
