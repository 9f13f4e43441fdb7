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
	h->op = (uint8_t) op;
	h->caps = caps;
	h->filters = filters;
	h->nfilters = nfilters;
}

static int check_peer(struct replica *r, struct conn *c, const struct msg_hello *peer)
{
	if (peer->version != PROTO_VERSION)
		return mm_error_set(MM_ERROR,
		                    "peer '%s' speaks protocol version %u, this mmsync speaks %u: upgrade "
		                    "the older one",
		                    c->peer, peer->version, PROTO_VERSION);
	if (peer->replica_id == r->id)
		return mm_error_set(MM_ERROR, "peer '%s' is this same replica (or a copy of it with the same id)",
		                    c->peer);
	return store_replica_name_put(r->store, peer->replica_id, peer->name);
}

/* The context of a transfer phase with `peer` (whose hello outlives it), reporting as `o` says. */
static void session_phase(struct phase *ph, struct replica *r, struct conn *c, const struct session_opts *o,
                          const struct msg_hello *peer, struct session_result *res)
{
	phase_init(ph, r, c, res);
	ph->on_event = o->on_event;
	ph->on_progress = o->on_progress;
	ph->arg = o->arg;
	phase_set_peer(ph, peer);
}

int session_client(struct replica *r, struct conn *c, const struct session_opts *o, struct session_result *res)
{
	struct msg_hello h, peer = {0};
	struct phase ph;
	const uint8_t *p;
	size_t len;
	int err;

	memset(res, 0, sizeof(*res));
	my_hello(&h, r, o->op, o->caps & PROTO_CAPS_KNOWN, o->filters, o->nfilters);
	proto_put_hello(&c->out, &h);
	if ((err = conn_expect(c, MSG_HELLO, &p, &len)) < 0 || (err = proto_get_hello(&peer, p, len)) < 0)
		goto done;
	snprintf(res->peer_name, sizeof(res->peer_name), "%s", peer.name);
	res->peer_id = peer.replica_id;
	if ((err = check_peer(r, c, &peer)) < 0)
		goto done;
	if (peer.caps & ~(o->caps & PROTO_CAPS_KNOWN)) {
		err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' accepted capabilities that were not offered",
		                   c->peer);
		goto done;
	}
	res->caps = peer.caps;
	if ((res->caps & PROTO_CAP_ZSTD) && (err = conn_compress(c, o->zstd_level)) < 0)
		goto done;
	session_phase(&ph, r, c, o, &peer, res);
	ph.filters = o->filters;
	ph.nfilters = o->nfilters;
	if ((o->op & PROTO_OP_PULL) && (err = receive_phase(&ph)) < 0)
		goto done;
	if ((o->op & PROTO_OP_PUSH) && (err = send_phase(&ph)) < 0)
		goto done;
	proto_put_raw(&c->out, MSG_BYE, NULL, 0);
	err = conn_flush(c);
done:
	res->bytes_in = c->bytes_in;
	res->bytes_out = c->bytes_out;
	proto_hello_dispose(&peer);
	return err;
}

int session_server(struct replica *r, struct conn *c, const struct session_opts *o)
{
	struct session_result res = {0};
	struct msg_hello h, peer = {0};
	struct phase ph;
	const uint8_t *p;
	size_t len;
	int err;

	if ((err = conn_expect(c, MSG_HELLO, &p, &len)) < 0 || (err = proto_get_hello(&peer, p, len)) < 0)
		goto done;
	/* accept what the client offers and this side knows */
	my_hello(&h, r, 0, peer.caps & PROTO_CAPS_KNOWN, NULL, 0);
	proto_put_hello(&c->out, &h);
	if ((err = conn_flush(c)) < 0 || (err = check_peer(r, c, &peer)) < 0)
		goto done;
	if ((h.caps & PROTO_CAP_ZSTD) && (err = conn_compress(c, o->zstd_level)) < 0)
		goto done;
	session_phase(&ph, r, c, o, &peer, &res);
	ph.filters = peer.filters;
	ph.nfilters = peer.nfilters;
	if ((peer.op & PROTO_OP_PULL) && (err = send_phase(&ph)) < 0)
		goto done;
	if ((peer.op & PROTO_OP_PUSH) && (err = receive_phase(&ph)) < 0)
		goto done;
	if ((err = conn_expect(c, MSG_BYE, &p, &len)) == 0)
		err = proto_get_empty(p, len, "bye");
done:
	proto_hello_dispose(&peer);
	return err;
}
