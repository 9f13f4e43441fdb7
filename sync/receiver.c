/* The receiving side of a transfer phase: the passes over the plan (see receiver.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "bases.h"
#include "config.h"
#include "conn.h"
#include "delta.h"
#include "error.h"
#include "ignore.h"
#include "merge.h"
#include "phase.h"
#include "receiver.h"
#include "reconcile.h"
#include "replica.h"
#include "store.h"
#include "text.h"

/* The passes in order: creations, deletions deepest first, then what waited for a directory to empty. */
static const char *plan_order =
        "SELECT n, phase, action, fetch, row FROM plan ORDER BY phase, CASE phase WHEN 2 THEN -n ELSE n END";

void recv_item_failed(struct receiver *rv, const char *path, const char *why)
{
	if (rv->redo) {
		/* a delta that went wrong: the content is fetched whole once the plan is done */
		rv->redo = 0;
		if (recv_plan_retry(rv, rv->item.n)) {
			rv->retries++;
			return;
		}
	}
	rv->ph->res->failed++;
	phase_event(rv->ph, EV_FAILED, path, why);
}

int recv_merged_row(struct receiver *rv, struct entry *row, const struct entry *base, const struct entry *theirs,
                    const struct entry *ours)
{
	int err;

	if ((err = entry_copy(row, base)) < 0)
		return err;
	if (ours && (err = vv_merge(&row->vv, &ours->vv)) < 0)
		return mm_error_oom();
	if (base != theirs && (err = vv_merge(&row->vv, &theirs->vv)) < 0)
		return mm_error_oom();
	row->origin = vv_compare(&row->vv, &theirs->vv) == VV_EQUAL ? rv->ph->peer_id : 0;
	if (row->writer == 0)
		row->writer = theirs->writer;
	return 0;
}

/*
 * When the content just put in `tmp` was kept whole and is text, it goes
 * to the bases store: *base gets its blob id (NULL otherwise).
 */
static int base_of(struct receiver *rv, struct apply_tmp *tmp, const struct entry *row, const uint8_t **base)
{
	static _Thread_local uint8_t oid[BASES_OID_LEN];
	struct bases *b;
	int err;

	*base = NULL;
	if (!apply_tmp_kept(tmp) || rv->buf.theirs.len > rv->mc.max_size || row->size != rv->buf.theirs.len ||
	    !text_is_text(rv->buf.theirs.p, rv->buf.theirs.len))
		return 0;
	if ((err = replica_bases(rv->ph->r, &b)) < 0 ||
	    (err = bases_put(b, rv->buf.theirs.p, rv->buf.theirs.len, oid)) < 0)
		return err;
	*base = oid;
	return 0;
}

int recv_write_entry(struct receiver *rv, struct plan_item *it, const struct entry *row, const struct entry *ours,
                     int local, struct apply_tmp *pre)
{
	struct apply_tmp *tmp;
	const uint8_t *base;
	int err;

	if (pre && row->kind != ENTRY_FILE)
		apply_tmp_abort(rv->ap, pre);
	switch (row->kind) {
	case ENTRY_DIR: return apply_mkdir(rv->ap, row, ours, local);
	case ENTRY_LINK: return apply_symlink(rv->ap, row, ours, local);
	case ENTRY_FILE:
		/* the same copy made here and there (both sides kept the same conflict): take it as is */
		if (!pre && !local && (!ours || ours->kind == ENTRY_DELETED) &&
		    ((err = apply_take_pending(rv->ap, row)) != 0 || (err = apply_adopt(rv->ap, row)) != 0))
			return err;
		if (!pre && ours && ours->kind == ENTRY_FILE && ours->has_hash &&
		    !memcmp(ours->hash, row->hash, MM_HASH_LEN) && !it->fetch)
			return apply_chmod(rv->ap, row, ours);
		if (pre) {
			tmp = pre;
		} else {
			if ((err = recv_get_content(rv, it, it->theirs.path, &tmp)) < 0)
				return err;
			if (!tmp) {
				recv_item_failed(rv, row->path, rv->why);
				return 0;
			}
		}
		if ((err = base_of(rv, tmp, row, &base)) < 0) {
			apply_tmp_abort(rv->ap, tmp);
			return err;
		}
		err = apply_tmp_commit(rv->ap, tmp, row, ours, local, base);
		if (err == MM_ECORRUPT) {
			recv_item_failed(rv, row->path, mm_error_msg());
			return 0;
		}
		return err < 0 ? err : 1;
	default: return 0;
	}
}

/* REC_TOUCH: the same version, their modification time set later: take it. */
static int do_touch(struct receiver *rv, struct plan_item *it, const struct entry *ours, struct entry *row)
{
	const struct entry *theirs = &it->theirs;
	int err, rc;

	if (!ours)
		return MM_ENOTFOUND; /* as store_get said: reconcile touches only a version held here */
	if ((err = recv_merged_row(rv, row, ours, theirs, ours)) < 0)
		return err;
	row->mtime_ns = theirs->mtime_ns;
	row->mstamp_ns = theirs->mstamp_ns;
	if ((rc = apply_touch(rv->ap, row, ours)) < 0)
		return rc;
	if (rc > 0)
		phase_event(rv->ph, EV_RECEIVED, theirs->path, NULL);
	return 0;
}

/* REC_RECORD, REC_MERGE_VV, REC_KEEP_OURS: nothing changes on disk, only the vectors meet. */
static int do_record(struct receiver *rv, struct plan_item *it, const struct entry *ours, struct entry *row)
{
	const struct entry *theirs = &it->theirs;
	int err, rc;

	if ((err = recv_merged_row(rv, row, ours && it->action != REC_RECORD ? ours : theirs, theirs, ours)) < 0)
		return err;
	if (it->action == REC_MERGE_VV && ours && ours->kind == ENTRY_FILE && reconcile_same(ours, theirs) &&
	    reconcile_newer_mtime(ours, theirs)) {
		/* the same content, a later-set modification time: it travels too */
		row->mtime_ns = theirs->mtime_ns;
		row->mstamp_ns = theirs->mstamp_ns;
		rc = apply_touch(rv->ap, row, ours);
		return rc < 0 ? rc : 0;
	}
	/*
	 * When ours stays over something different of theirs (an edit over
	 * a deletion, a winner's permission bits), the row is a new version:
	 * the merged vector alone could name different content on another
	 * replica that settled another pair.
	 */
	err = apply_record(rv->ap, row, it->action != REC_RECORD && ours && !reconcile_same(ours, theirs));
	if (it->action == REC_KEEP_OURS) {
		rv->kept++;
		phase_event(rv->ph, EV_KEPT, theirs->path, "edited here, deleted there: the edit is kept");
	}
	return err;
}

/* REC_UPDATE to a deletion: removed here, or kept as a new version while a directory still holds something. */
static int do_delete(struct receiver *rv, struct plan_item *it, const struct entry *ours, const struct entry *row)
{
	const struct entry *theirs = &it->theirs;
	struct entry keep;
	int err = 0, rc;

	if (!ours || ours->kind == ENTRY_DELETED)
		return apply_record(rv->ap, row, 0);
	if ((rc = apply_remove(rv->ap, ours)) < 0)
		return rc;
	if (rc > 0) {
		err = apply_record(rv->ap, row, 0);
		phase_event(rv->ph, EV_DELETED, theirs->path, NULL);
		return err;
	}
	if (ours->kind == ENTRY_DIR && apply_target_matches(rv->ap, ours->path, ours) == 1) {
		/* something here still lives in it: the directory stays, as a new version */
		entry_init(&keep);
		if ((err = entry_copy(&keep, ours)) == 0 && vv_merge(&keep.vv, &theirs->vv) == 0)
			err = apply_record(rv->ap, &keep, 1);
		entry_dispose(&keep);
		phase_event(rv->ph, EV_KEPT, theirs->path, "deleted there, but not empty here: kept");
	}
	return err;
}

/* REC_UPDATE: their version (`row`) takes the path; a directory in the way only once it is empty. */
static int do_update(struct receiver *rv, struct plan_item *it, struct entry *ours, const struct entry *row)
{
	const struct entry *theirs = &it->theirs;
	int rc;

	if (theirs->kind == ENTRY_DELETED)
		return do_delete(rv, it, ours, row);
	if (ours && ours->kind == ENTRY_DELETED && vv_compare(&theirs->vv, &ours->vv) == VV_CONCURRENT)
		phase_event(rv->ph, EV_KEPT, theirs->path, "deleted here, edited there: the edit is restored");
	if (it->phase == PHASE_AFTER && ours && ours->kind == ENTRY_DIR) {
		/* a directory replaced by a file or link: only once it is empty */
		if ((rc = apply_remove(rv->ap, ours)) < 0)
			return rc;
		if (rc == 0)
			return recv_do_conflict(rv, it, ours);
		ours = NULL;
	}
	if ((rc = recv_write_entry(rv, it, row, ours, 0, NULL)) < 0)
		return rc;
	if (rc == 0)
		return 0;
	phase_event(rv->ph, EV_RECEIVED, theirs->path, NULL);
	return recv_note_copy(rv, theirs);
}

/* Carries out one plan item. */
static int do_item(struct receiver *rv, struct plan_item *it)
{
	struct entry *theirs = &it->theirs;
	struct entry *ours = NULL, row;
	int err;

	err = store_get(rv->ph->r->store, theirs->path, &rv->ours);
	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	if (err == 0)
		ours = &rv->ours;
	entry_init(&row);
	switch (it->action) {
	case REC_TOUCH: err = do_touch(rv, it, ours, &row); break;
	case REC_RECORD:
	case REC_MERGE_VV:
	case REC_KEEP_OURS: err = do_record(rv, it, ours, &row); break;
	case REC_UPDATE:
		if ((err = recv_merged_row(rv, &row, theirs, theirs, ours)) == 0)
			err = do_update(rv, it, ours, &row);
		break;
	case REC_CONFLICT:
		err = ours ? recv_do_conflict(rv, it, ours)
		           : mm_error_set(MM_ERROR, "conflict without a local version");
		break;
	default: err = mm_error_set(MM_ERROR, "bad plan action %d", it->action);
	}
	entry_dispose(&row);
	return err;
}

/* Runs the plan rows that `sql` selects: requests kept ahead, each applied in order. */
static int run(struct receiver *rv, const char *sql)
{
	int phase = 0, rc, err = 0;

	rv->win.done = 0;
	if (sqlite3_prepare_v2(rv->plan.db, sql, -1, &rv->win.cur, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, sql, -1, &rv->apply_cur, NULL) != SQLITE_OK)
		return recv_db_fail(rv, "reading");
	for (;;) {
		if ((err = recv_pump_requests(rv)) < 0)
			break;
		if ((rc = recv_plan_next(rv, rv->apply_cur, &rv->item)) <= 0) {
			err = rc;
			break;
		}
		/* a phase ends with its batch: deletions never race renames still queued */
		if (rv->item.phase != phase) {
			if ((err = apply_flush(rv->ap)) < 0)
				break;
			phase = rv->item.phase;
		}
		rv->redo = 0;
		if ((err = do_item(rv, &rv->item)) < 0) {
			/* one path that cannot be written fails alone; a broken stream or store ends it all */
			if (rv->conn_error || apply_broken(rv->ap) || err == MM_ENOMEM || err == MM_ECORRUPT)
				break;
			recv_item_failed(rv, rv->item.theirs.path, mm_error_msg());
			err = 0;
		}
		/* content requested for an item that did not use it must still be read off the stream */
		if ((err = recv_skip_content(rv, &rv->item)) < 0)
			break;
		rv->prog.files_done++;
		recv_progress(rv);
	}
	if (err == 0)
		err = apply_flush(rv->ap);
	sqlite3_finalize(rv->win.cur);
	sqlite3_finalize(rv->apply_cur);
	rv->win.cur = rv->apply_cur = NULL;
	return err;
}

static int execute(struct receiver *rv)
{
	int err = run(rv, plan_order);

	/* what came as a delta that did not reproduce it: fetched whole now */
	if (err == 0 && rv->retries) {
		rv->win.no_delta = 1;
		rv->prog.files_total += rv->retries;
		err = run(rv, "SELECT n, phase, action, fetch, row FROM retry ORDER BY phase, n");
	}
	return err;
}

static void on_apply_warning(void *arg, const char *path, const char *msg)
{
	struct receiver *rv = arg;

	phase_event(rv->ph, EV_SKIPPED, path, msg);
}

/* Sets up what receive_phase needs besides the connection, the plan and the apply batch. */
static int receiver_init(struct receiver *rv, struct phase *ph)
{
	int64_t dmin = DELTA_MIN_SIZE;
	int err;

	memset(rv, 0, sizeof(*rv));
	rv->ph = ph;
	for (int i = 0; i < RECV_WINDOW; i++)
		rv->win.basis_fd[i] = -1;
	wbuf_init(&rv->win.sig);
	rv->failed_before = ph->res->failed;
	entry_init(&rv->ours);
	entry_init(&rv->probe);
	entry_init(&rv->item.theirs);
	entry_init(&rv->win.item.theirs);
	wbuf_init(&rv->plan.enc);
	wbuf_init(&rv->buf.theirs);
	wbuf_init(&rv->buf.ours);
	if ((err = merge_config_load(&rv->mc, ph->r->config)) < 0)
		return err;
	if ((err = config_get_int(ph->r->config, "sync.deltaMinSize", DELTA_MIN_SIZE, &dmin)) < 0) {
		merge_config_dispose(&rv->mc);
		return err;
	}
	rv->win.delta_min = dmin < 0 ? 0 : (uint64_t) dmin;
	return 0;
}

static void receiver_dispose(struct receiver *rv)
{
	apply_free(rv->ap);
	ignore_free(rv->ig);
	recv_plan_close(rv);
	entry_dispose(&rv->ours);
	entry_dispose(&rv->probe);
	entry_dispose(&rv->item.theirs);
	entry_dispose(&rv->win.item.theirs);
	wbuf_dispose(&rv->plan.enc);
	wbuf_dispose(&rv->buf.theirs);
	wbuf_dispose(&rv->buf.ours);
	wbuf_dispose(&rv->win.sig);
	for (int i = 0; i < RECV_WINDOW; i++)
		if (rv->win.basis_fd[i] >= 0)
			close(rv->win.basis_fd[i]);
	merge_config_dispose(&rv->mc);
}

/* Queues WANT: the peer's rows after what was seen of its index (all of them when it was made anew). */
static int put_want(struct receiver *rv, struct store_peer *peer)
{
	struct phase *ph = rv->ph;
	uint64_t since = 0;
	int err = store_peer_get(ph->r->store, ph->peer_id, peer);

	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	if (err == 0 && peer->index_id == ph->peer_index_id)
		since = peer->seen_seq;
	proto_put_u64(&ph->c->out, MSG_WANT, since);
	return 0;
}

/* Sends DONE with what was done here, and notes how far the peer's index is now had. */
static int put_done(struct receiver *rv, struct store_peer *peer, uint64_t max_seq)
{
	struct phase *ph = rv->ph;
	const struct apply_stats *as = apply_stats(rv->ap);
	struct msg_done done = {0};
	int err;

	ph->res->files_in += as->files;
	ph->res->deleted += as->deleted;
	ph->res->skipped += as->skipped;
	done.files = as->files;
	done.bytes = as->bytes;
	done.deleted = as->deleted;
	done.conflicts = rv->conflicts;
	done.merged = rv->merged;
	done.failed = ph->res->failed - rv->failed_before;
	proto_put_done(&ph->c->out, &done);
	if ((err = conn_flush(ph->c)) < 0)
		return err;
	/* Advance only when everything asked for is here: otherwise the next sync sends it again. */
	if (ph->nfilters == 0 && done.failed == 0) {
		peer->id = ph->peer_id;
		peer->index_id = ph->peer_index_id;
		peer->seen_seq = max_seq;
		snprintf(peer->name, sizeof(peer->name), "%s", ph->peer_name);
		err = store_peer_put(ph->r->store, peer);
	}
	return err;
}

int receive_phase(struct phase *ph)
{
	struct receiver rv;
	struct store_peer peer;
	uint64_t max_seq = 0;
	int err;

	if ((err = receiver_init(&rv, ph)) < 0)
		return err;
	if ((err = put_want(&rv, &peer)) < 0)
		goto done;
	if ((err = conn_flush(ph->c)) < 0 || (err = recv_plan_open(&rv)) < 0 ||
	    (err = ignore_load(&rv.ig, ph->r->rootfd)) < 0 ||
	    (err = apply_open(&rv.ap, ph->r, on_apply_warning, &rv)) < 0)
		goto done;
	if ((err = recv_read_index(&rv, &max_seq)) < 0 || (err = execute(&rv)) < 0)
		goto done;
	err = put_done(&rv, &peer, max_seq);
done:
	receiver_dispose(&rv);
	return err;
}
