/* The receiver's request window: content asked for ahead of the pass that uses it (receiver.h). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "conn.h"
#include "delta.h"
#include "error.h"
#include "fs.h"
#include "phase.h"
#include "receiver.h"
#include "reconcile.h"
#include "replica.h"
#include "store.h"

#define SIG_CHUNK (512u * 1024) /* the largest SIG frame */

/* 1 when the oldest request outstanding is for plan item `n` (its content comes next). */
static int window_front_is(const struct receiver *rv, int64_t n)
{
	return rv->win.n && rv->win.fifo[rv->win.head] == n;
}

/* Notes a request for plan item `n` as the newest outstanding. */
static void window_push(struct receiver *rv, int64_t n)
{
	rv->win.fifo[(rv->win.head + rv->win.n) % RECV_WINDOW] = n;
	rv->win.n++;
}

/* Drops the oldest request; returns the basis its delta was asked against (size in *size), or -1. */
static int window_pop(struct receiver *rv, uint64_t *size)
{
	size_t slot = rv->win.head;
	int basis = rv->win.basis_fd[slot];

	rv->win.head = (rv->win.head + 1) % RECV_WINDOW;
	rv->win.n--;
	*size = rv->win.basis_size[slot];
	if (basis >= 0) {
		rv->win.basis_fd[slot] = -1;
		rv->win.deltas_out--;
	}
	return basis;
}

/* Collects the signature of a delta request in rv->win.sig (delta_signature's output). */
static int put_sig(void *arg, const void *p, size_t n)
{
	struct receiver *rv = arg;

	put_bytes(&rv->win.sig, p, n);
	return rv->win.sig.oom ? mm_error_oom() : 0;
}

/*
 * Asks for the content of `t` as a delta against the file this replica
 * holds at its path, when that pays: a large update of a large file.
 * 1 asked (the basis stays open in `slot`), 0 not (ask for it whole).
 */
static int ask_delta(struct receiver *rv, const struct plan_item *it, size_t slot)
{
	const struct entry *t = &it->theirs;
	struct conn *c = rv->ph->c;
	struct wbuf *sig = &rv->win.sig;
	struct stat sb;
	int fd;

	if (rv->win.no_delta || it->action != REC_UPDATE || t->size < rv->win.delta_min ||
	    rv->win.deltas_out >= RECV_MAX_DELTAS)
		return 0;
	if (store_get(rv->ph->r->store, t->path, &rv->probe) < 0 || rv->probe.kind != ENTRY_FILE ||
	    rv->probe.size < rv->win.delta_min / 4 || rv->probe.size == 0)
		return 0;
	if (fs_open_beneath(&fd, rv->ph->r->rootfd, t->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0) < 0)
		return 0;
	wbuf_reset(sig);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || delta_signature(fd, (uint64_t) sb.st_size, put_sig, rv) < 0) {
		close(fd);
		return 0; /* whole, then */
	}
	proto_put_raw(&c->out, MSG_DREQUEST, t->hash, MM_HASH_LEN);
	for (size_t off = 0; off < sig->len; off += SIG_CHUNK)
		proto_put_raw(&c->out, MSG_SIG, sig->p + off, sig->len - off < SIG_CHUNK ? sig->len - off : SIG_CHUNK);
	proto_put_u64(&c->out, MSG_SIG_END, sig->len);
	rv->win.basis_fd[slot] = fd;
	rv->win.basis_size[slot] = (uint64_t) sb.st_size;
	rv->win.deltas_out++;
	return 1;
}

/* 1 when the content of `it` is to be asked for: not held here, not asked for already (then copied locally). */
static int wanted(struct receiver *rv, const struct plan_item *it, struct entry *probe)
{
	if (!it->fetch || recv_plan_requested(rv, it->theirs.hash))
		return 0;
	return !(store_find_hash(rv->ph->r->store, it->theirs.hash, probe) == 0 &&
	         !recv_plan_touches(rv, probe->path, it->phase));
}

int recv_pump_requests(struct receiver *rv)
{
	struct plan_item *it = &rv->win.item;
	struct entry probe;
	int rc, err = 0;

	if (rv->win.done)
		return 0;
	entry_init(&probe);
	while (rv->win.n < RECV_WINDOW) {
		if ((rc = recv_plan_next(rv, rv->win.cur, it)) <= 0) {
			err = rc;
			rv->win.done = 1;
			break;
		}
		if (!wanted(rv, it, &probe))
			continue;
		if (ask_delta(rv, it, (rv->win.head + rv->win.n) % RECV_WINDOW)) {
			window_push(rv, it->n);
			if ((err = conn_flush_over(rv->ph->c, 1u << 20)) < 0)
				break;
			continue;
		}
		/* only content written as it is (not merged, not set aside) is a source for the next item */
		if (it->action == REC_UPDATE && (err = recv_plan_note_request(rv, it->theirs.hash)) < 0)
			break;
		proto_put_request(&rv->ph->c->out, it->theirs.hash);
		window_push(rv, it->n);
	}
	entry_dispose(&probe);
	if (err == 0)
		err = conn_flush(rv->ph->c);
	return err;
}

void recv_progress(struct receiver *rv)
{
	const struct phase *ph = rv->ph;

	if (ph->on_progress) {
		rv->prog.wire_in = ph->c->bytes_in;
		rv->prog.wire_out = ph->c->bytes_out;
		ph->on_progress(ph->arg, &rv->prog);
	}
}

struct patch_sink {
	struct receiver *rv;
	struct apply_tmp *tmp; /* NULL: only read it off the stream */
	int write_err;
};

static int patch_write(void *arg, const void *p, size_t n)
{
	struct patch_sink *ps = arg;
	struct receiver *rv = ps->rv;
	int err;

	rv->prog.bytes_done += n;
	if (!ps->tmp || ps->write_err)
		return 0;
	if ((err = apply_tmp_write(rv->ap, ps->tmp, p, n)) < 0)
		ps->write_err = err;
	return 0;
}

/*
 * Reads the DELTA frames of one answer into `dp`, up to DELTA_END (or
 * MISSING: *failed).  A delta that does not apply sets *bad and rv->why,
 * and is still read to its end: the stream goes on.
 */
static int read_delta(struct receiver *rv, const struct plan_item *it, struct delta_patch *dp, int *bad, int *failed)
{
	struct conn *c = rv->ph->c;
	const uint8_t *p;
	size_t len;
	uint64_t total = 0, declared;
	int type, err;

	for (;;) {
		if ((err = conn_recv(c, &type, &p, &len)) < 0)
			return err;
		if (type == MSG_DELTA) {
			total += len;
			if (!*bad && delta_patch_feed(dp, p, len) < 0) {
				*bad = 1;
				snprintf(rv->why, sizeof(rv->why), "%s", mm_error_msg());
			}
			recv_progress(rv);
			continue;
		}
		if (type == MSG_DELTA_END) {
			if ((err = proto_get_u64(&declared, p, len, "delta-end")) == 0 && declared != total)
				err = mm_error_set(MM_ECORRUPT,
				                   "protocol error: peer '%s' miscounted the delta of '%s'", c->peer,
				                   it->theirs.path);
			return err;
		}
		if (type == MSG_MISSING) {
			*failed = 1;
			return proto_get_empty(p, len, "missing");
		}
		return mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' where a delta was due", c->peer,
		                    proto_type_name(type));
	}
}

/*
 * Reads a delta answer off the stream and patches the basis with it into
 * `tmp`.  A delta that is bad or does not reproduce the content's hash
 * sets rv->redo (the item is fetched whole in a second round) and *failed.
 */
static int get_delta(struct receiver *rv, struct plan_item *it, struct apply_tmp *tmp, int basis, uint64_t basis_size,
                     int *failed)
{
	struct delta_patch *dp = NULL;
	struct patch_sink ps = {rv, tmp, 0};
	uint64_t written = 0;
	int err, bad = 0;

	if ((err = delta_patch_new(&dp, basis, basis_size, it->theirs.size, patch_write, &ps)) < 0)
		return err;
	err = read_delta(rv, it, dp, &bad, failed);
	if (err == 0 && !*failed) {
		if (!bad && delta_patch_done(dp, &written) < 0) {
			bad = 1;
			snprintf(rv->why, sizeof(rv->why), "%s", mm_error_msg());
		}
		if (!bad && tmp && !ps.write_err && !apply_tmp_matches(rv->ap, tmp, it->theirs.hash, it->theirs.size)) {
			bad = 1;
			snprintf(rv->why, sizeof(rv->why), "its delta did not reproduce it");
		}
		if (bad) {
			/* fetched whole in a second round */
			*failed = 1;
			rv->redo = 1;
		} else if (ps.write_err) {
			err = ps.write_err;
		}
	}
	delta_patch_free(dp);
	return err;
}

/* Reads a whole-content answer (DATA frames, then DATA_END, or MISSING: *failed) into `tmp` (NULL: dropped). */
static int get_data(struct receiver *rv, const struct plan_item *it, struct apply_tmp *tmp, int *failed)
{
	struct conn *c = rv->ph->c;
	const uint8_t *p;
	size_t len;
	uint64_t total = 0, n;
	int type, err;

	for (;;) {
		if ((err = conn_recv(c, &type, &p, &len)) < 0)
			return err;
		if (type == MSG_DATA) {
			total += len;
			rv->prog.bytes_done += len;
			recv_progress(rv);
			if (total > it->theirs.size)
				return mm_error_set(MM_ECORRUPT,
				                    "protocol error: peer '%s' sent more than %llu bytes for '%s'",
				                    c->peer, (unsigned long long) it->theirs.size, it->theirs.path);
			if (tmp && (err = apply_tmp_write(rv->ap, tmp, p, len)) < 0)
				return err;
			continue;
		}
		if (type == MSG_DATA_END) {
			if ((err = proto_get_u64(&n, p, len, "data-end")) == 0 && n != total)
				err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' miscounted '%s'", c->peer,
				                   it->theirs.path);
			return err;
		}
		if (type == MSG_MISSING) {
			*failed = 1;
			return proto_get_empty(p, len, "missing");
		}
		return mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' where content was due", c->peer,
		                    proto_type_name(type));
	}
}

/* The content of `it` from a file this replica holds: *tmp is NULL (rv->why says why) when it changed meanwhile. */
static int content_local(struct receiver *rv, const struct plan_item *it, struct apply_tmp **tmp)
{
	int err = apply_tmp_copy_local(rv->ap, *tmp, it->theirs.hash);

	if (err < 0) {
		snprintf(rv->why, sizeof(rv->why), "its local copy changed during the sync; left for the next sync");
		apply_tmp_abort(rv->ap, *tmp);
		*tmp = NULL;
		return err == MM_ENOTFOUND ? 0 : err;
	}
	return 0;
}

int recv_get_content(struct receiver *rv, struct plan_item *it, const char *path, struct apply_tmp **tmp)
{
	int from_peer = window_front_is(rv, it->n);
	int err, basis, failed = 0;
	uint64_t basis_size;

	*tmp = NULL;
	snprintf(rv->why, sizeof(rv->why), "the peer no longer has its content; left for the next sync");
	if ((err = apply_tmp_begin(rv->ap, tmp, path)) < 0) {
		if (!from_peer)
			return err;
		snprintf(rv->why, sizeof(rv->why), "%s", mm_error_msg());
		failed = 1; /* still read what the peer sends for it */
	}
	if (*tmp && it->theirs.kind == ENTRY_FILE) {
		size_t max = rv->buf.keep_max > rv->mc.max_size ? rv->buf.keep_max : rv->mc.max_size;
		if (it->theirs.size <= max)
			apply_tmp_keep(*tmp, &rv->buf.theirs, max);
	}
	if (!from_peer)
		return content_local(rv, it, tmp);
	basis = window_pop(rv, &basis_size);
	if (basis >= 0) {
		err = get_delta(rv, it, failed ? NULL : *tmp, basis, basis_size, &failed);
		close(basis);
	} else {
		err = get_data(rv, it, failed ? NULL : *tmp, &failed);
	}
	if (err < 0)
		rv->conn_error = 1;
	if (err < 0 || failed) {
		apply_tmp_abort(rv->ap, *tmp);
		*tmp = NULL;
	}
	return err;
}

int recv_skip_content(struct receiver *rv, struct plan_item *it)
{
	struct apply_tmp *tmp = NULL;
	int err;

	if (!(it->fetch && window_front_is(rv, it->n)))
		return 0;
	err = recv_get_content(rv, it, it->theirs.path, &tmp);
	apply_tmp_abort(rv->ap, tmp);
	return err;
}
