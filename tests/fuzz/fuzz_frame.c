/*
 * Fuzz target: the frame decoder (conn_recv over a byte stream, with or
 * without zstd) and the strict message decoders of proto.c.
 *
 * Input: one mode byte, then the bytes a peer sends.  Mode bit 0: the
 * stream is zstd-compressed after its first frame (as after the hellos);
 * bits 1-7: when not 0, the most bytes one read returns (frames cut across
 * reads).  Each frame is decoded with the decoder for its type; what
 * decodes must encode back to the same bytes (rows: decode, encode, decode,
 * encode gives the same bytes twice, a row's decoder normalises a few fields).
 * The input buffer stays bounded whatever the stream unpacks to, and the
 * frames are the same whether reads return the whole stream or pieces
 * (up to a corrupt zstd frame: see below).
 */
#include <string.h>

#include "sync/conn.h"
#include "sync/error.h"
#include "sync/proto.h"
#include "sync/store.h"
#include "tests/fuzz/fuzz.h"

#define MAX_FRAMES 20000 /* a small compressed input can unpack to many frames */
/* what a connection may hold of input: a whole frame and a read block, twice (the buffer doubles) */
#define MAX_IN (2 * (4 + PROTO_MAX_FRAME + (256u << 10)))

struct memio {
	const uint8_t *p;
	size_t len, off, chunk;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
	struct memio *m = ctx;
	size_t n = m->len - m->off;

	if (n > len)
		n = len;
	if (m->chunk && n > m->chunk)
		n = m->chunk;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t) n; /* 0: the peer closed */
}

static ssize_t mem_write(void *ctx, const void *buf, size_t len)
{
	(void) ctx;
	(void) buf;
	return (ssize_t) len;
}

/* The frame in `b` is exactly type + payload p/len. */
static void same_frame(const struct wbuf *b, int type, const uint8_t *p, size_t len)
{
	FUZZ_ASSERT(!b->oom);
	FUZZ_ASSERT(b->len == 5 + len);
	FUZZ_ASSERT(((size_t) b->p[0] << 24 | (size_t) b->p[1] << 16 | (size_t) b->p[2] << 8 | b->p[3]) == 1 + len);
	FUZZ_ASSERT(b->p[4] == type);
	FUZZ_ASSERT(len == 0 || memcmp(b->p + 5, p, len) == 0);
}

static void check_row(const uint8_t *p, size_t len)
{
	struct entry e, e2;
	struct wbuf b1, b2;

	entry_init(&e);
	entry_init(&e2);
	wbuf_init(&b1);
	wbuf_init(&b2);
	if (proto_get_row(&e, p, len) == 0) {
		FUZZ_ASSERT(e.path && e.vv.n > 0 && e.writer != 0);
		FUZZ_ASSERT((e.kind == ENTRY_LINK) == (e.target != NULL));
		proto_put_row(&b1, &e);
		FUZZ_ASSERT(!b1.oom && b1.len >= 5);
		FUZZ_ASSERT(proto_get_row(&e2, b1.p + 5, b1.len - 5) == 0);
		proto_put_row(&b2, &e2);
		FUZZ_ASSERT(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
	}
	wbuf_dispose(&b1);
	wbuf_dispose(&b2);
	entry_dispose(&e);
	entry_dispose(&e2);
}

static void check_frame(int type, const uint8_t *p, size_t len)
{
	struct wbuf b;
	struct msg_hello h;
	struct msg_done d;
	uint8_t hash[MM_HASH_LEN];
	char name[REPLICA_NAME_MAX + 1];
	uint64_t v;

	wbuf_init(&b);
	switch (type) {
	case MSG_HELLO:
		if (proto_get_hello(&h, p, len) == 0) {
			FUZZ_ASSERT(strlen(h.name) > 0 && strlen(h.name) <= REPLICA_NAME_MAX);
			proto_put_hello(&b, &h);
			same_frame(&b, type, p, len);
		}
		proto_hello_dispose(&h);
		break;
	case MSG_WANT:
	case MSG_INDEX_END:
	case MSG_DATA_END:
	case MSG_SIG_END:
	case MSG_DELTA_END:
		if (proto_get_u64(&v, p, len, proto_type_name(type)) == 0) {
			proto_put_u64(&b, (uint8_t) type, v);
			same_frame(&b, type, p, len);
		}
		break;
	case MSG_REPLICA:
		if (proto_get_replica(&v, name, p, len) == 0) {
			FUZZ_ASSERT(v != 0 && strlen(name) > 0);
			proto_put_replica(&b, v, name);
			same_frame(&b, type, p, len);
		}
		break;
	case MSG_ROW: check_row(p, len); break;
	case MSG_REQUEST:
	case MSG_DREQUEST:
		if (proto_get_request(hash, p, len) == 0) {
			proto_put_raw(&b, (uint8_t) type, hash, MM_HASH_LEN);
			same_frame(&b, type, p, len);
		}
		break;
	case MSG_DONE:
		if (proto_get_done(&d, p, len) == 0) {
			proto_put_done(&b, &d);
			same_frame(&b, type, p, len);
		}
		break;
	case MSG_MISSING:
	case MSG_BYE: proto_get_empty(p, len, proto_type_name(type)); break;
	default: /* DATA, SIG, DELTA: bytes; BUNDLE, CHECKSUM: not on a connection */
		FUZZ_ASSERT(proto_type_name(type) != NULL);
		break;
	}
	wbuf_dispose(&b);
}

/* What a run over the stream saw: frames, a hash of the types and payloads up to each, how it ended. */
struct seen {
	int frames, end;
	uint64_t sum;
	uint64_t *sums; /* sums[i]: sum after frame i */
};

static void run(const uint8_t *data, size_t size, int compress, size_t chunk, int check, struct seen *out)
{
	struct memio m = {data, size, 0, chunk};
	struct conn_io io = {mem_read, mem_write, NULL, &m};
	struct conn c;
	const uint8_t *p;
	size_t len;
	int type;

	uint64_t *sums = out->sums;

	memset(out, 0, sizeof(*out));
	out->sums = sums;
	out->sum = 0xcbf29ce484222325ull;
	conn_init(&c, -1, -1, "fuzz");
	c.io = &io;
	for (; out->frames < MAX_FRAMES; out->frames++) {
		int err = conn_recv(&c, &type, &p, &len);
		if (err < 0) {
			FUZZ_ASSERT(mm_error_msg()[0] != '\0');
			out->end = err;
			break;
		}
		FUZZ_ASSERT(type >= 0 && type <= 255 && len < PROTO_MAX_FRAME);
		FUZZ_ASSERT(c.in_cap <= MAX_IN); /* no decompression bomb fills memory */
		out->sum = (out->sum ^ (uint64_t) type ^ (uint64_t) len << 8) * 0x100000001b3ull;
		for (size_t i = 0; i < len; i++)
			out->sum = (out->sum ^ p[i]) * 0x100000001b3ull;
		out->sums[out->frames] = out->sum;
		if (check)
			check_frame(type, p, len);
		if (out->frames == 0 && compress && conn_compress(&c, 1) < 0)
			break;
	}
	conn_dispose(&c);
	mm_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t sums_whole[MAX_FRAMES], sums_cut[MAX_FRAMES];
	struct seen whole = {.sums = sums_whole}, cut = {.sums = sums_cut};
	size_t chunk;
	int n;

	if (size < 1)
		return 0;
	chunk = (size_t) (data[0] >> 1) * 7;
	run(data + 1, size - 1, data[0] & 1, 0, 1, &whole);
	if (!chunk || chunk >= size - 1)
		return 0;
	/* reads cut anywhere (as a socket cuts them) change nothing */
	run(data + 1, size - 1, data[0] & 1, chunk, 0, &cut);
	if (whole.end == MM_ECORRUPT && cut.end == MM_ECORRUPT && (data[0] & 1)) {
		/*
		 * Except where a zstd frame is corrupt: a whole frame at hand is
		 * checked before any of it comes out, one that arrives in pieces
		 * comes out as it goes, so more good frames may come before the
		 * error.  Those that came must be the same.
		 */
		n = whole.frames < cut.frames ? whole.frames : cut.frames;
		FUZZ_ASSERT(n == 0 || whole.sums[n - 1] == cut.sums[n - 1]);
		return 0;
	}
	FUZZ_ASSERT(whole.frames == cut.frames && whole.end == cut.end && whole.sum == cut.sum);
	return 0;
}
