/* Protocol messages: see proto.h. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "path.h"
#include "replica.h"

static size_t frame_begin(struct wbuf *b, uint8_t type)
{
	size_t at = b->len;

	put_u32(b, 0);
	put_u8(b, type);
	return at;
}

static void frame_end(struct wbuf *b, size_t at)
{
	if (b->oom)
		return;
	uint32_t n = (uint32_t) (b->len - at - 4);
	for (int i = 0; i < 4; i++)
		b->p[at + (size_t) i] = (uint8_t) (n >> (24 - 8 * i));
}

void proto_put_raw(struct wbuf *b, uint8_t type, const void *payload, size_t len)
{
	size_t at = frame_begin(b, type);

	put_bytes(b, payload, len);
	frame_end(b, at);
}

void proto_put_hello(struct wbuf *b, const struct msg_hello *m)
{
	size_t at = frame_begin(b, MSG_HELLO);

	put_bytes(b, PROTO_MAGIC, 6);
	put_u16(b, m->version);
	put_u64(b, m->caps);
	put_u64(b, m->replica_id);
	put_u64(b, m->index_id);
	put_str16(b, m->name, strlen(m->name));
	put_u8(b, m->op);
	put_u16(b, (uint16_t) m->nfilters);
	for (size_t i = 0; i < m->nfilters; i++)
		put_str16(b, m->filters[i], strlen(m->filters[i]));
	frame_end(b, at);
}

void proto_put_u64(struct wbuf *b, uint8_t type, uint64_t v)
{
	size_t at = frame_begin(b, type);

	put_u64(b, v);
	frame_end(b, at);
}

void proto_put_replica(struct wbuf *b, uint64_t id, const char *name)
{
	size_t at = frame_begin(b, MSG_REPLICA);

	put_u64(b, id);
	put_str16(b, name, strlen(name));
	frame_end(b, at);
}

void proto_put_row(struct wbuf *b, const struct entry *e)
{
	size_t at = frame_begin(b, MSG_ROW), vlen;
	uint8_t *p;

	put_str16(b, e->path, strlen(e->path));
	put_u8(b, (uint8_t) e->kind);
	put_u16(b, (uint16_t) e->mode);
	put_u64(b, e->size);
	put_u64(b, (uint64_t) e->mtime_ns);
	put_u64(b, (uint64_t) e->mstamp_ns);
	put_u64(b, e->writer);
	put_u64(b, e->seq);
	if (e->kind == ENTRY_FILE)
		put_bytes(b, e->hash, MM_HASH_LEN);
	if (e->kind == ENTRY_LINK)
		put_str16(b, e->target, strlen(e->target));
	vlen = vv_encoded_size(&e->vv);
	put_u32(b, (uint32_t) vlen);
	if ((p = wbuf_grow(b, vlen)) != NULL)
		vv_encode(p, vlen, &vlen, &e->vv);
	frame_end(b, at);
}

void proto_put_request(struct wbuf *b, const uint8_t hash[MM_HASH_LEN])
{
	proto_put_raw(b, MSG_REQUEST, hash, MM_HASH_LEN);
}

void proto_put_done(struct wbuf *b, const struct msg_done *m)
{
	size_t at = frame_begin(b, MSG_DONE);

	put_u64(b, m->files);
	put_u64(b, m->bytes);
	put_u64(b, m->deleted);
	put_u64(b, m->conflicts);
	put_u64(b, m->merged);
	put_u64(b, m->failed);
	frame_end(b, at);
}

void proto_put_error(struct wbuf *b, const char *msg)
{
	size_t n = strlen(msg);
	size_t at = frame_begin(b, MSG_ERROR);

	put_str16(b, msg, n > PROTO_MAX_MSG ? PROTO_MAX_MSG : n);
	frame_end(b, at);
}

static int bad(const char *what)
{
	return mm_error_set(MM_ECORRUPT, "protocol error: malformed %s message", what);
}

/* A replica name as replica_name_valid allows: it ends up in conflict-copy file names. */
static int name_ok(const uint8_t *p, size_t n)
{
	char name[REPLICA_NAME_MAX + 1];

	if (n == 0 || n > REPLICA_NAME_MAX || memchr(p, '\0', n))
		return 0;
	memcpy(name, p, n);
	name[n] = '\0';
	return replica_name_valid(name);
}

void proto_hello_dispose(struct msg_hello *m)
{
	for (size_t i = 0; i < m->nfilters; i++)
		free(m->filters[i]);
	free(m->filters);
	m->filters = NULL;
	m->nfilters = 0;
}

int proto_get_hello(struct msg_hello *out, const uint8_t *p, size_t len)
{
	struct rbuf r;
	const uint8_t *magic, *name;
	size_t n, count;

	memset(out, 0, sizeof(*out));
	rbuf_init(&r, p, len);
	magic = get_bytes(&r, 6);
	if (!magic || memcmp(magic, PROTO_MAGIC, 6))
		return mm_error_set(MM_ECORRUPT, "protocol error: the peer does not speak the mmsync protocol");
	out->version = get_u16(&r);
	out->caps = get_u64(&r);
	out->replica_id = get_u64(&r);
	out->index_id = get_u64(&r);
	name = get_str16(&r, REPLICA_NAME_MAX, &n);
	if (r.bad || !name_ok(name, n) || out->replica_id == 0)
		return bad("hello");
	memcpy(out->name, name, n);
	out->name[n] = '\0';
	out->op = get_u8(&r);
	count = get_u16(&r);
	if (r.bad || count > PROTO_MAX_FILTERS || (out->op & ~(PROTO_OP_PULL | PROTO_OP_PUSH)))
		return bad("hello");
	if (count && !(out->filters = calloc(count, sizeof(*out->filters))))
		return mm_error_oom();
	for (size_t i = 0; i < count; i++) {
		const uint8_t *f = get_str16(&r, MM_PATH_MAX, &n);
		if (!f || !path_valid((const char *) f, n)) {
			proto_hello_dispose(out);
			return bad("hello");
		}
		if (!(out->filters[i] = strndup((const char *) f, n))) {
			proto_hello_dispose(out);
			return mm_error_oom();
		}
		out->nfilters = i + 1;
	}
	if (!rbuf_done(&r)) {
		proto_hello_dispose(out);
		return bad("hello");
	}
	return 0;
}

int proto_get_u64(uint64_t *out, const uint8_t *p, size_t len, const char *what)
{
	struct rbuf r;

	rbuf_init(&r, p, len);
	*out = get_u64(&r);
	return rbuf_done(&r) ? 0 : bad(what);
}

int proto_get_replica(uint64_t *id, char name[REPLICA_NAME_MAX + 1], const uint8_t *p, size_t len)
{
	struct rbuf r;
	const uint8_t *s;
	size_t n;

	rbuf_init(&r, p, len);
	*id = get_u64(&r);
	s = get_str16(&r, REPLICA_NAME_MAX, &n);
	if (!rbuf_done(&r) || *id == 0 || !name_ok(s, n))
		return bad("replica");
	memcpy(name, s, n);
	name[n] = '\0';
	return 0;
}

int proto_get_row(struct entry *out, const uint8_t *p, size_t len)
{
	struct rbuf r;
	const uint8_t *path, *hash = NULL, *target = NULL, *vvp;
	size_t plen, tlen = 0, vlen;
	int err;

	rbuf_init(&r, p, len);
	path = get_str16(&r, MM_PATH_MAX, &plen);
	out->kind = get_u8(&r);
	out->mode = get_u16(&r);
	out->size = get_u64(&r);
	out->mtime_ns = (int64_t) get_u64(&r);
	out->mstamp_ns = (int64_t) get_u64(&r);
	out->writer = get_u64(&r);
	out->seq = get_u64(&r);
	if (out->kind == ENTRY_FILE)
		hash = get_bytes(&r, MM_HASH_LEN);
	else if (out->kind == ENTRY_LINK)
		target = get_str16(&r, MM_PATH_MAX, &tlen);
	vlen = get_u32(&r);
	if (vlen > VV_MAX_ENCODED)
		return bad("row");
	vvp = get_bytes(&r, vlen);
	if (!rbuf_done(&r))
		return bad("row");
	if (!path_valid((const char *) path, plen))
		return mm_error_set(MM_ECORRUPT, "protocol error: the peer sent an invalid path");
	if (out->kind > ENTRY_LINK || out->mode > 07777 || out->writer == 0)
		return bad("row");
	if (out->kind == ENTRY_LINK && (tlen == 0 || memchr(target, '\0', tlen)))
		return bad("row");
	if ((err = entry_set_path(out, (const char *) path, plen)) < 0 ||
	    (err = entry_set_target(out, (const char *) target, tlen)) < 0)
		return err;
	if (vv_decode(&out->vv, vvp, vlen) < 0 || out->vv.n == 0)
		return mm_error_set(MM_ECORRUPT, "protocol error: bad version vector for '%s'", out->path);
	if (vv_max_counter(&out->vv) > PROTO_MAX_COUNTER)
		return mm_error_set(MM_ECORRUPT, "protocol error: the version vector for '%s' has a counter past 2^62",
		                    out->path);
	out->has_hash = hash != NULL;
	if (hash)
		memcpy(out->hash, hash, MM_HASH_LEN);
	else
		memset(out->hash, 0, MM_HASH_LEN);
	if (out->kind == ENTRY_LINK)
		out->size = tlen;
	if (out->kind != ENTRY_FILE && out->kind != ENTRY_LINK)
		out->size = 0;
	out->dev = out->ino = 0;
	out->ctime_ns = 0;
	out->flags = 0;
	return 0;
}

int proto_get_request(uint8_t hash[MM_HASH_LEN], const uint8_t *p, size_t len)
{
	if (len != MM_HASH_LEN)
		return bad("request");
	memcpy(hash, p, MM_HASH_LEN);
	return 0;
}

int proto_get_done(struct msg_done *out, const uint8_t *p, size_t len)
{
	struct rbuf r;

	rbuf_init(&r, p, len);
	out->files = get_u64(&r);
	out->bytes = get_u64(&r);
	out->deleted = get_u64(&r);
	out->conflicts = get_u64(&r);
	out->merged = get_u64(&r);
	out->failed = get_u64(&r);
	return rbuf_done(&r) ? 0 : bad("done");
}

int proto_get_error(char out[PROTO_MAX_MSG + 1], const uint8_t *p, size_t len)
{
	struct rbuf r;
	const uint8_t *s;
	size_t n;

	rbuf_init(&r, p, len);
	s = get_str16(&r, PROTO_MAX_MSG, &n);
	if (!rbuf_done(&r))
		return bad("error");
	/* Shown to the user: keep it to printable characters. */
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char) s[i];
	out[n] = '\0';
	return 0;
}

int proto_get_empty(const uint8_t *p, size_t len, const char *what)
{
	(void) p;
	return len == 0 ? 0 : bad(what);
}

const char *proto_type_name(int type)
{
	static const char *const names[] = {
	        "?",        "hello",         "want",      "replica",       "row",   "index-end", "request",
	        "data",     "data-end",      "missing",   "done",          "error", "bye",       "bundle",
	        "checksum", "delta-request", "signature", "signature-end", "delta", "delta-end"};

	return type > 0 && type <= MSG_DELTA_END ? names[type] : "unknown";
}
