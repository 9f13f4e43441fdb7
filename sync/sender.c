/* The sending side of a transfer phase: index delta, then content on request. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "delta.h"
#include "error.h"
#include "failpoint.h"
#include "fs.h"
#include "ignore.h"
#include "phase.h"
#include "replica.h"
#include "store.h"

#define SEND_FLUSH (1u << 20)

struct writers {
	uint64_t *ids;
	size_t n, cap;
};

/* Sends a REPLICA frame the first time a writer id appears in this phase. */
static int announce_writer(struct phase *ph, struct writers *w, uint64_t id)
{
	char name[REPLICA_NAME_MAX + 1];

	for (size_t i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint64_t *p = realloc(w->ids, cap * sizeof(*p));
		if (!p)
			return mm_error_oom();
		w->ids = p;
		w->cap = cap;
	}
	w->ids[w->n++] = id;
	phase_writer_name(ph, id, name);
	proto_put_replica(&ph->c->out, id, name);
	return 0;
}

int sender_index(struct phase *ph, uint64_t since, struct ignore *ig, uint64_t *sent_to)
{
	struct store_iter *it = NULL;
	struct writers w = {0};
	struct entry e;
	uint64_t max_seq = store_last_seq(ph->r->store);
	/* Rows received as they are from this very peer need not go back to it. */
	uint64_t skip_origin = ph->peer_id;
	int rc, err;

	entry_init(&e);
	if ((err = store_iter_since(&it, ph->r->store, since)) < 0)
		goto done;
	while ((rc = store_iter_next(it, &e)) > 0) {
		if (!phase_in_filters(ph, e.path))
			continue;
		if (skip_origin && e.origin == skip_origin)
			continue;
		/* a path ignored here since it was recorded stays here */
		if ((err = ignore_match(ig, e.path, e.kind == ENTRY_DIR)) != 0) {
			if (err < 0)
				goto done;
			continue;
		}
		if (e.writer == 0)
			e.writer = ph->r->id;
		if ((err = announce_writer(ph, &w, e.writer)) < 0)
			goto done;
		proto_put_row(&ph->c->out, &e);
		if ((err = conn_flush_over(ph->c, SEND_FLUSH)) < 0)
			goto done;
	}
	if ((err = rc) < 0)
		goto done;
	proto_put_u64(&ph->c->out, MSG_INDEX_END, max_seq);
	*sent_to = max_seq;
	err = conn_flush(ph->c);
done:
	store_iter_free(it);
	entry_dispose(&e);
	free(w.ids);
	return err;
}

int sender_stream(struct conn *c, int fd, const char *what, uint64_t *total)
{
	int err;

	*total = 0;
	for (;;) {
		/* read straight into the frame: header first, length patched after */
		size_t at = c->out.len;
		uint8_t *p = wbuf_grow(&c->out, 5 + PROTO_CHUNK);
		ssize_t n;
		if (!p)
			return mm_error_oom();
		do
			n = read(fd, p + 5, PROTO_CHUNK);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			c->out.len = at;
			if (n < 0)
				return mm_error_errno(MM_EIO, errno, "cannot read '%s'", what);
			return 0;
		}
		uint32_t flen = (uint32_t) n + 1;
		p[0] = (uint8_t) (flen >> 24);
		p[1] = (uint8_t) (flen >> 16);
		p[2] = (uint8_t) (flen >> 8);
		p[3] = (uint8_t) flen;
		p[4] = MSG_DATA;
		c->out.len = at + 5 + (size_t) n;
		*total += (uint64_t) n;
		failpoint("send-data");
		if ((err = conn_flush_over(c, SEND_FLUSH)) < 0)
			return err;
	}
}

/* Streams the content with hash `hash`, or MISSING when this replica no longer has it. */
static int serve_request(struct phase *ph, const uint8_t hash[MM_HASH_LEN], struct entry *e)
{
	struct conn *c = ph->c;
	struct stat sb;
	uint64_t total = 0;
	int fd = -1, err;

	/* Changed since the scan or not, the receiver checks what it gets against the hash. */
	if (store_find_hash(ph->r->store, hash, e) < 0 ||
	    fs_open_beneath(&fd, ph->r->rootfd, e->path, O_RDONLY | O_NONBLOCK, 0) < 0 || fstat(fd, &sb) < 0 ||
	    !S_ISREG(sb.st_mode) || (uint64_t) sb.st_size != e->size) {
		if (fd >= 0)
			close(fd);
		proto_put_raw(&c->out, MSG_MISSING, NULL, 0);
		return 0;
	}
	err = sender_stream(c, fd, e->path, &total);
	if (err < 0) {
		close(fd);
		return err;
	}
	close(fd);
	proto_put_u64(&c->out, MSG_DATA_END, total);
	phase_event(ph, EV_SENT, e->path, NULL);
	return 0;
}

static int record_ack(struct phase *ph, uint64_t seq)
{
	struct store_peer p;
	int err = store_peer_get(ph->r->store, ph->peer_id, &p);

	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	p.id = ph->peer_id;
	snprintf(p.name, sizeof(p.name), "%s", ph->peer_name);
	if (seq > p.acked_seq)
		p.acked_seq = seq;
	return store_peer_put(ph->r->store, &p);
}

struct delta_out {
	struct conn *c;
	uint64_t total;
};

/* Queues one DELTA frame (delta_make's output). */
static int put_delta(void *arg, const void *p, size_t n)
{
	struct delta_out *d = arg;
	size_t at = d->c->out.len;

	proto_put_raw(&d->c->out, MSG_DELTA, p, n);
	if (failpoint_garble("delta") && !d->c->out.oom)
		for (size_t i = at + 5; i < d->c->out.len; i += 97)
			d->c->out.p[i] ^= 0x5a;
	d->total += n;
	return conn_flush_over(d->c, SEND_FLUSH);
}

/*
 * A delta request: the receiver's signature follows in SIG frames.  Answers
 * with the delta of the content with `hash` against it, or MISSING.
 */
static int serve_delta(struct phase *ph, const uint8_t hash[MM_HASH_LEN], struct entry *e)
{
	struct conn *c = ph->c;
	struct delta_sig *sig = NULL;
	const uint8_t *p;
	size_t len;
	uint64_t total = 0, declared;
	struct stat sb;
	int type, err, fd = -1;

	if ((err = delta_sig_new(&sig)) < 0)
		return err;
	for (;;) {
		if ((err = conn_recv(c, &type, &p, &len)) < 0)
			goto done;
		if (type == MSG_SIG) {
			total += len;
			if ((err = delta_sig_feed(sig, p, len)) < 0)
				goto done;
			continue;
		}
		if (type != MSG_SIG_END) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' inside a signature",
			                   c->peer, proto_type_name(type));
			goto done;
		}
		if ((err = proto_get_u64(&declared, p, len, "signature end")) < 0)
			goto done;
		if (declared != total) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' miscounted a signature", c->peer);
			goto done;
		}
		break;
	}
	if ((err = delta_sig_done(sig)) < 0)
		goto done;
	if (store_find_hash(ph->r->store, hash, e) < 0 ||
	    fs_open_beneath(&fd, ph->r->rootfd, e->path, O_RDONLY | O_NONBLOCK, 0) < 0 || fstat(fd, &sb) < 0 ||
	    !S_ISREG(sb.st_mode) || (uint64_t) sb.st_size != e->size) {
		proto_put_raw(&c->out, MSG_MISSING, NULL, 0);
		err = 0;
		goto done;
	}
	/* the delta of what the file holds now: the receiver checks the result against the hash */
	struct delta_out d = {c, 0};
	if ((err = delta_make(sig, fd, put_delta, &d)) < 0)
		goto done;
	proto_put_u64(&c->out, MSG_DELTA_END, d.total);
	phase_event(ph, EV_SENT, e->path, NULL);
done:
	if (fd >= 0)
		close(fd);
	delta_sig_free(sig);
	return err;
}

int send_phase(struct phase *ph)
{
	const uint8_t *p;
	size_t len;
	uint64_t since, max_seq = 0;
	struct entry e;
	struct ignore *ig = NULL;
	int type, err;

	if ((err = conn_expect(ph->c, MSG_WANT, &p, &len)) < 0 || (err = proto_get_u64(&since, p, len, "want")) < 0)
		return err;
	if ((err = ignore_load(&ig, ph->r->rootfd)) < 0)
		return err;
	err = sender_index(ph, since, ig, &max_seq);
	ignore_free(ig);
	if (err < 0)
		return err;
	entry_init(&e);
	for (;;) {
		if ((err = conn_recv(ph->c, &type, &p, &len)) < 0)
			break;
		if (type == MSG_REQUEST || type == MSG_DREQUEST) {
			uint8_t hash[MM_HASH_LEN];
			if ((err = proto_get_request(hash, p, len)) < 0 ||
			    (err = type == MSG_REQUEST ? serve_request(ph, hash, &e) : serve_delta(ph, hash, &e)) < 0)
				break;
			if ((err = conn_flush_over(ph->c, SEND_FLUSH)) < 0)
				break;
			continue;
		}
		if (type == MSG_DONE) {
			struct msg_done d;
			if ((err = proto_get_done(&d, p, len)) < 0)
				break;
			/* what the receiver did: "out" for this side */
			ph->res->files_out += d.files;
			ph->res->conflicts += d.conflicts;
			ph->res->merged += d.merged;
			ph->res->deleted += d.deleted;
			ph->res->failed += d.failed;
			/* the peer now holds everything up to max_seq: what gc may rely on */
			if (d.failed == 0 && ph->nfilters == 0)
				err = record_ack(ph, max_seq);
			break;
		}
		err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' during the transfer", ph->c->peer,
		                   proto_type_name(type));
		break;
	}
	entry_dispose(&e);
	return err;
}
