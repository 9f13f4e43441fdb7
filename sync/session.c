/* One sync with one peer: see session.h. */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "conn.h"
#include "error.h"
#include "phase.h"
#include "replica.h"
#include "scan.h"
#include "store.h"

int session_in_filters(const struct session *ss, const char *path)
{
	if (ss->nfilters == 0)
		return 1;
	for (size_t i = 0; i < ss->nfilters; i++) {
		const char *f = ss->filters[i];
		size_t n = strlen(f);
		if (!strncmp(path, f, n) && (path[n] == '\0' || path[n] == '/'))
			return 1;
		/* the directories above a filter come along, so that it has somewhere to live */
		size_t m = strlen(path);
		if (m < n && !strncmp(f, path, m) && f[m] == '/')
			return 1;
	}
	return 0;
}

void session_event(const struct session *ss, enum session_event ev, const char *path, const char *detail)
{
	if (ss->o && ss->o->on_event)
		ss->o->on_event(ss->o->arg, ev, path, detail);
}

int session_prepare(struct replica *r, const struct scan_opts *so, struct scan_stats *st)
{
	int err;

	if ((err = apply_recover(r)) < 0)
		return err;
	return scan_run(r, so, st);
}

static void my_hello(struct msg_hello *h, struct replica *r, unsigned op, uint64_t caps, char **filters,
		     size_t nfilters)
{
	memset(h, 0, sizeof(*h));
	h->version = PROTO_VERSION;
	h->replica_id = r->id;
	h->index_id = store_index_id(r->store);
	snprintf(h->name, sizeof(h->name), "%s", r->name);
	h->op = (uint8_t)op;
	h->caps = caps;
	h->filters = filters;
	h->nfilters = nfilters;
}

static int check_peer(struct session *ss)
{
	if (ss->peer.version != PROTO_VERSION)
		return mm_error_set(MM_ERROR, "peer '%s' speaks protocol version %u, this mmsync speaks %u: upgrade "
				    "the older one",
				    ss->c->peer, ss->peer.version, PROTO_VERSION);
	if (ss->peer.replica_id == ss->r->id)
		return mm_error_set(MM_ERROR, "peer '%s' is this same replica (or a copy of it with the same id)",
				    ss->c->peer);
	return store_replica_name_put(ss->r->store, ss->peer.replica_id, ss->peer.name);
}

int session_client(struct replica *r, struct conn *c, const struct session_opts *o, struct session_result *res)
{
	struct session ss = {r, c, o, {0}, o->filters, o->nfilters, res};
	struct msg_hello h;
	const uint8_t *p;
	size_t len;
	int err;

	memset(res, 0, sizeof(*res));
	my_hello(&h, r, o->op, o->caps & PROTO_CAPS_KNOWN, o->filters, o->nfilters);
	proto_put_hello(&c->out, &h);
	if ((err = conn_expect(c, MSG_HELLO, &p, &len)) < 0 || (err = proto_get_hello(&ss.peer, p, len)) < 0)
		goto done;
	snprintf(res->peer_name, sizeof(res->peer_name), "%s", ss.peer.name);
	res->peer_id = ss.peer.replica_id;
	if ((err = check_peer(&ss)) < 0)
		goto done;
	if (ss.peer.caps & ~(o->caps & PROTO_CAPS_KNOWN)) {
		err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' accepted capabilities that were not offered",
				   c->peer);
		goto done;
	}
	res->caps = ss.peer.caps;
	if ((res->caps & PROTO_CAP_ZSTD) && (err = conn_compress(c, o->zstd_level)) < 0)
		goto done;
	if ((o->op & PROTO_OP_PULL) && (err = receive_phase(&ss)) < 0)
		goto done;
	if ((o->op & PROTO_OP_PUSH) && (err = send_phase(&ss)) < 0)
		goto done;
	proto_put_raw(&c->out, MSG_BYE, NULL, 0);
	err = conn_flush(c);
done:
	res->bytes_in = c->bytes_in;
	res->bytes_out = c->bytes_out;
	proto_hello_dispose(&ss.peer);
	return err;
}

int session_server(struct replica *r, struct conn *c, const struct session_opts *o)
{
	struct session_result res = {0};
	struct session ss = {r, c, o, {0}, NULL, 0, &res};
	struct msg_hello h;
	const uint8_t *p;
	size_t len;
	int err;

	if ((err = conn_expect(c, MSG_HELLO, &p, &len)) < 0 || (err = proto_get_hello(&ss.peer, p, len)) < 0)
		goto done;
	/* accept what the client offers and this side knows */
	my_hello(&h, r, 0, ss.peer.caps & PROTO_CAPS_KNOWN, NULL, 0);
	proto_put_hello(&c->out, &h);
	if ((err = conn_flush(c)) < 0 || (err = check_peer(&ss)) < 0)
		goto done;
	if ((h.caps & PROTO_CAP_ZSTD) && (err = conn_compress(c, o->zstd_level)) < 0)
		goto done;
	ss.filters = ss.peer.filters;
	ss.nfilters = ss.peer.nfilters;
	if ((ss.peer.op & PROTO_OP_PULL) && (err = send_phase(&ss)) < 0)
		goto done;
	if ((ss.peer.op & PROTO_OP_PUSH) && (err = receive_phase(&ss)) < 0)
		goto done;
	if ((err = conn_expect(c, MSG_BYE, &p, &len)) == 0)
		err = proto_get_empty(p, len, "bye");
done:
	proto_hello_dispose(&ss.peer);
	return err;
}
