/*
 * The sync protocol: length-prefixed frames over any byte stream.
 *
 * A frame is a 4-byte big-endian length L (1 <= L <= PROTO_MAX_FRAME), then
 * L bytes: a type byte and the payload.  Each message has one encoder
 * (proto_put_*: appends a whole frame to a wbuf) and one strict decoder
 * (proto_get_*: from a frame's payload; every length, count, path and
 * vector is checked before use, and trailing bytes are an error).
 *
 * A session: the client sends HELLO (with the operation and any PATH
 * filters), the server answers HELLO.  Then one or two transfer phases
 * (pull: the server sends, push: the client sends), each driven by the
 * receiver:
 *   receiver: WANT{since}
 *   sender:   REPLICA* ROW* ... INDEX_END{max_seq}   (REPLICA before the first ROW it names)
 *   receiver: REQUEST{hash}...  (windowed, no round trip per file)
 *   sender:   per REQUEST in order: DATA* DATA_END{size}, or MISSING
 *   receiver: DONE{counts}
 * and finally the client sends BYE.  Either side may send ERROR instead of
 * its next message and close.
 */
#ifndef MMSYNC_PROTO_H
#define MMSYNC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "store.h"
#include "wire.h"

#define PROTO_VERSION     2
#define PROTO_MAGIC       "MMSYNC"
#define PROTO_MAX_FRAME   (1u << 20)    /* type + payload */
#define PROTO_CHUNK       (256u * 1024) /* content bytes per DATA frame */
#define PROTO_MAX_FILTERS 1024
#define PROTO_MAX_MSG     1024 /* ERROR message bytes */
/*
 * The largest version-vector counter a peer may send: far past what any
 * replica reaches, far enough below 2^64 that the counters of a replica that
 * takes such a vector in are never exhausted (a forged UINT64_MAX for its own
 * id would leave it unable to record its next change to that path).
 */
#define PROTO_MAX_COUNTER (UINT64_C(1) << 62)

enum proto_type {
	MSG_HELLO = 1,
	MSG_WANT = 2,
	MSG_REPLICA = 3,
	MSG_ROW = 4,
	MSG_INDEX_END = 5,
	MSG_REQUEST = 6,
	MSG_DATA = 7,
	MSG_DATA_END = 8,
	MSG_MISSING = 9,
	MSG_DONE = 10,
	MSG_ERROR = 11,
	MSG_BYE = 12,
	/* only in a bundle's manifest (bundle.c), never on a connection */
	MSG_BUNDLE = 13,
	MSG_CHECKSUM = 14,
	/* deltas: the receiver asks for content against the version it holds */
	MSG_DREQUEST = 15, /* hash: then SIG frames (the signature of its version) and SIG_END */
	MSG_SIG = 16,
	MSG_SIG_END = 17, /* u64: the signature's size */
	MSG_DELTA = 18,   /* the answer: DELTA frames, then DELTA_END (u64: their size), or MISSING */
	MSG_DELTA_END = 19
};

/* hello.caps: what the client offers; the server answers with what it accepts of that */
#define PROTO_CAP_ZSTD   0x1 /* the stream after the hellos is zstd-compressed */
#define PROTO_CAPS_KNOWN PROTO_CAP_ZSTD

/* hello.op (client only) */
#define PROTO_OP_PULL 0x1
#define PROTO_OP_PUSH 0x2

struct msg_hello {
	uint16_t version;
	uint64_t caps;
	uint64_t replica_id;
	uint64_t index_id;
	char name[REPLICA_NAME_MAX + 1];
	uint8_t op;
	size_t nfilters;
	char **filters; /* owned: PATH filters, valid replica paths */
};

struct msg_done {
	uint64_t files, bytes, deleted, conflicts, merged, failed;
};

/* Appends a whole frame of `type` with `payload` (for messages with no struct). */
void proto_put_raw(struct wbuf *b, uint8_t type, const void *payload, size_t len);
void proto_put_hello(struct wbuf *b, const struct msg_hello *m);
void proto_put_u64(struct wbuf *b, uint8_t type, uint64_t v); /* WANT, INDEX_END, DATA_END */
void proto_put_replica(struct wbuf *b, uint64_t id, const char *name);
void proto_put_row(struct wbuf *b, const struct entry *e);
void proto_put_request(struct wbuf *b, const uint8_t hash[MM_HASH_LEN]);
void proto_put_done(struct wbuf *b, const struct msg_done *m);
void proto_put_error(struct wbuf *b, const char *msg);

/*
 * Decoders: `p`/`len` is a frame's payload (after the type byte).  They
 * return 0 or MM_ECORRUPT with a message saying what was wrong.
 */
int proto_get_hello(struct msg_hello *out, const uint8_t *p, size_t len);
void proto_hello_dispose(struct msg_hello *m);
int proto_get_u64(uint64_t *out, const uint8_t *p, size_t len, const char *what);
int proto_get_replica(uint64_t *id, char name[REPLICA_NAME_MAX + 1], const uint8_t *p, size_t len);
/* Fills `out` (initialised); checks path, kind, mode, hash, target and vector. */
int proto_get_row(struct entry *out, const uint8_t *p, size_t len);
int proto_get_request(uint8_t hash[MM_HASH_LEN], const uint8_t *p, size_t len);
int proto_get_done(struct msg_done *out, const uint8_t *p, size_t len);
int proto_get_error(char out[PROTO_MAX_MSG + 1], const uint8_t *p, size_t len);
/* An empty payload (BYE, MISSING). */
int proto_get_empty(const uint8_t *p, size_t len, const char *what);
const char *proto_type_name(int type);

#endif
