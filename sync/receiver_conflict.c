/* The receiver's concurrent versions: merges, policies and conflict copies (receiver.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "bases.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "merge.h"
#include "path.h"
#include "phase.h"
#include "receiver.h"
#include "reconcile.h"
#include "replica.h"
#include "store.h"
#include "text.h"

enum { MERGE_NO, MERGE_DONE, MERGE_MARKERS };

/* Now, as a modification time. */
static int64_t now_ns(void)
{
	return (int64_t) time(NULL) * 1000000000LL;
}

/* 1 when a conflict copy may not go to `path`: something is there, or is coming there in this sync. */
static int name_taken(struct receiver *rv, const char *path)
{
	struct stat sb;
	const char *leaf;
	int dirfd, taken;

	taken = store_get(rv->ph->r->store, path, &rv->probe) == 0 && rv->probe.kind != ENTRY_DELETED;
	if (!taken && fs_open_parent(&dirfd, &leaf, rv->ph->r->rootfd, path) == 0) {
		taken = fstatat(dirfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0;
		close(dirfd);
	}
	/* nor on a path this sync brings from the peer */
	return taken || apply_pending_has(rv->ap, path) || recv_plan_has(rv, path);
}

/* STEM.conflict-YYYYMMDD-HHMMSS-NAME.EXT beside `path`, for the version `loser`. */
static int conflict_name(struct receiver *rv, char *out, size_t size, const char *path, const struct entry *loser)
{
	char name[REPLICA_NAME_MAX + 1];
	const char *base = strrchr(path, '/'), *dot;
	size_t dirlen, stemlen;
	time_t t = (time_t) (loser->mtime_ns / 1000000000LL);
	struct tm tm;
	char stamp[32];
	int n;

	base = base ? base + 1 : path;
	dirlen = (size_t) (base - path);
	dot = strrchr(base, '.');
	if (dot == base)
		dot = NULL; /* only a leading dot: no extension */
	stemlen = dot ? (size_t) (dot - base) : strlen(base);
	phase_writer_name(rv->ph, loser->writer, name);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	/*
	 * Two versions by one replica in one second may both lose: the second
	 * copy takes the first free NAME-2, NAME-3, ... (still a replica name to
	 * a reader), so no copy ever lands on another.
	 */
	for (int k = 1; k < 100; k++) {
		char suffix[8] = "";
		if (k > 1)
			snprintf(suffix, sizeof(suffix), "-%d", k);
		n = snprintf(out, size, "%.*s%.*s.conflict-%s-%s%s%s", (int) dirlen, path, (int) stemlen, base, stamp,
		             name, suffix, dot ? dot : "");
		if (n < 0 || (size_t) n >= size || !path_valid(out, strlen(out)) || strlen(out) - dirlen > MM_NAME_MAX)
			return mm_error_set(MM_EINVAL, "no room for a conflict copy of '%s'", path);
		if (!name_taken(rv, out))
			return 0;
	}
	return mm_error_set(MM_EINVAL, "no free name for a conflict copy of '%s'", path);
}

/* Reads our version of a file (at most `max` bytes) into rv->buf.ours: 1 when it still has ours->hash. */
static int read_ours(struct receiver *rv, const struct entry *ours, size_t max)
{
	uint8_t h[MM_HASH_LEN];
	struct hasher *hs;
	int fd, ok = 0;

	wbuf_reset(&rv->buf.ours);
	if (ours->size > max || fs_open_beneath(&fd, rv->ph->r->rootfd, ours->path, O_RDONLY | O_NONBLOCK, 0) < 0)
		return 0;
	for (;;) {
		uint8_t *p = wbuf_grow(&rv->buf.ours, 65536);
		ssize_t n;
		if (!p)
			break;
		rv->buf.ours.len -= 65536;
		do
			n = read(fd, p, 65536);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		rv->buf.ours.len += (size_t) n;
		if (rv->buf.ours.len > max) {
			ok = 0;
			break;
		}
	}
	close(fd);
	if (!ok || hasher_new(&hs) < 0)
		return 0;
	ok = hasher_buf(hs, rv->buf.ours.p, rv->buf.ours.len, h) == 0 && !memcmp(h, ours->hash, MM_HASH_LEN);
	hasher_free(hs);
	return ok;
}

/* 1 when rv->buf.theirs holds exactly the content `theirs` announces. */
static int theirs_kept(struct receiver *rv, struct apply_tmp *tmp, const struct entry *theirs)
{
	uint8_t h[MM_HASH_LEN];
	struct hasher *hs;
	int ok;

	if (!tmp || !apply_tmp_kept(tmp) || rv->buf.theirs.len != theirs->size || hasher_new(&hs) < 0)
		return 0;
	ok = hasher_buf(hs, rv->buf.theirs.p, rv->buf.theirs.len, h) == 0 && !memcmp(h, theirs->hash, MM_HASH_LEN);
	hasher_free(hs);
	return ok;
}

/* Writes `content` at row->path as a new local version (`ours`: what the path must still hold). */
static int write_local(struct receiver *rv, struct entry *row, const struct entry *ours, const void *content,
                       size_t len)
{
	struct apply_tmp *t;
	struct hasher *hs;
	struct bases *b;
	uint8_t oid[BASES_OID_LEN];
	int err;

	row->size = len;
	row->has_hash = 1;
	/* made here and now: its modification time is the one set last */
	row->mstamp_ns = row->mtime_ns;
	if ((err = hasher_new(&hs)) < 0)
		return err;
	err = hasher_buf(hs, content, len, row->hash);
	hasher_free(hs);
	if (err < 0 || (err = replica_bases(rv->ph->r, &b)) < 0 || (err = bases_put(b, content, len, oid)) < 0 ||
	    (err = apply_tmp_begin(rv->ap, &t, row->path)) < 0)
		return err;
	if ((err = apply_tmp_write(rv->ap, t, content, len)) < 0) {
		apply_tmp_abort(rv->ap, t);
		return err;
	}
	return apply_tmp_commit(rv->ap, t, row, ours, 1, oid);
}

/* diff3 of base, ours and theirs in the order every replica agrees on, so that all get the same result. */
static int merge_three(struct receiver *rv, const struct entry *ours, const struct entry *theirs, void *bdata,
                       size_t blen, void **out, size_t *olen, int *clean)
{
	struct merge_text base, a, b;
	char na[REPLICA_NAME_MAX + 1], nb[REPLICA_NAME_MAX + 1];
	int ours_first = memcmp(ours->hash, theirs->hash, MM_HASH_LEN) < 0;

	phase_writer_name(rv->ph, ours->writer, ours_first ? na : nb);
	phase_writer_name(rv->ph, theirs->writer, ours_first ? nb : na);
	base.p = bdata;
	base.len = blen;
	base.label = "base";
	a.p = ours_first ? rv->buf.ours.p : rv->buf.theirs.p;
	a.len = ours_first ? rv->buf.ours.len : rv->buf.theirs.len;
	a.label = na;
	b.p = ours_first ? rv->buf.theirs.p : rv->buf.ours.p;
	b.len = ours_first ? rv->buf.theirs.len : rv->buf.ours.len;
	b.label = nb;
	return merge_run(out, olen, clean, &base, &a, &b, rv->mc.markers);
}

/* The permission bits merge three ways too: a side that changed them wins. */
static uint32_t merged_mode(const struct entry *ours, const struct entry *theirs, uint32_t base_mode)
{
	if (base_mode && ours->mode == base_mode)
		return theirs->mode;
	if (base_mode && theirs->mode == base_mode)
		return ours->mode;
	return reconcile_winner(ours, theirs) == REC_OURS ? ours->mode : theirs->mode;
}

/* Writes the clean merge `out` as a new local version (their content in *tmp is dropped): MERGE_DONE or error. */
static int write_merged(struct receiver *rv, struct plan_item *it, struct entry *ours, struct apply_tmp **tmp,
                        struct bases *bs, uint32_t base_mode, const void *out, size_t olen)
{
	struct entry *theirs = &it->theirs;
	uint8_t toid[BASES_OID_LEN];
	struct entry row;
	int err;

	/* their version is a version we saw: a base for later merges too */
	if ((err = bases_put(bs, rv->buf.theirs.p, rv->buf.theirs.len, toid)) < 0 ||
	    (err = apply_history(rv->ap, theirs->path, &theirs->vv, toid, theirs->mode, 0)) < 0)
		return err;
	apply_tmp_abort(rv->ap, *tmp);
	*tmp = NULL;
	entry_init(&row);
	if ((err = recv_merged_row(rv, &row, ours, theirs, ours)) == 0) {
		row.mode = merged_mode(ours, theirs, base_mode);
		row.mtime_ns = now_ns();
		row.origin = 0;
		row.flags = 0;
		err = write_local(rv, &row, ours, out, olen);
	}
	entry_dispose(&row);
	if (err == MM_ECORRUPT) {
		recv_item_failed(rv, theirs->path, mm_error_msg());
		return MERGE_DONE;
	}
	if (err < 0)
		return err;
	rv->merged++;
	rv->ph->res->merged++;
	phase_event(rv->ph, EV_MERGED, theirs->path, NULL);
	return MERGE_DONE;
}

/*
 * Tries a three-way merge of two concurrent versions of a text file against
 * their latest common ancestor.  On MERGE_DONE the merged version is
 * written; on MERGE_MARKERS rv->buf.ours holds the diff3 result to write.
 * *tmp holds their content when it was fetched; *kind says "binary" when a
 * side is not text.
 */
static int try_merge(struct receiver *rv, struct plan_item *it, struct entry *ours, struct apply_tmp **tmp,
                     const char **kind, uint8_t base_oid[BASES_OID_LEN], int *has_base)
{
	struct entry *theirs = &it->theirs;
	struct bases *bs;
	void *bdata = NULL, *out = NULL;
	size_t blen, olen;
	uint32_t base_mode = 0;
	int err, clean;

	*has_base = 0;
	if (!merge_allowed(&rv->mc, theirs->path, ours->size) || !merge_allowed(&rv->mc, theirs->path, theirs->size))
		return MERGE_NO;
	if ((err = recv_get_content(rv, it, theirs->path, tmp)) < 0)
		return err;
	if (!theirs_kept(rv, *tmp, theirs) || !read_ours(rv, ours, rv->mc.max_size))
		return MERGE_NO;
	if (!text_is_text(rv->buf.theirs.p, rv->buf.theirs.len) || !text_is_text(rv->buf.ours.p, rv->buf.ours.len)) {
		*kind = "binary";
		return MERGE_NO;
	}
	if (store_history_base(rv->ph->r->store, theirs->path, &ours->vv, &theirs->vv, base_oid, &base_mode) < 0)
		return MERGE_NO;
	if ((err = replica_bases(rv->ph->r, &bs)) < 0)
		return err;
	if (bases_get(bs, base_oid, &bdata, &blen) < 0)
		return MERGE_NO;
	*has_base = 1;
	err = merge_three(rv, ours, theirs, bdata, blen, &out, &olen, &clean);
	free(bdata);
	if (err < 0 || (!clean && !rv->mc.markers) || !out) {
		free(out);
		return err < 0 ? err : MERGE_NO;
	}
	if (!clean) {
		/* markers: the caller writes them once the copy is safe */
		wbuf_reset(&rv->buf.ours);
		put_bytes(&rv->buf.ours, out, olen);
		free(out);
		return rv->buf.ours.oom ? mm_error_oom() : MERGE_MARKERS;
	}
	err = write_merged(rv, it, ours, tmp, bs, base_mode, out, olen);
	free(out);
	return err;
}

/* The side policy `pol` keeps (REC_OURS or REC_THEIRS), or -1 when it does not settle this pair. */
static int policy_winner(struct receiver *rv, enum merge_policy pol, const char *preferred, const struct entry *ours,
                         const struct entry *theirs)
{
	char on[REPLICA_NAME_MAX + 1], tn[REPLICA_NAME_MAX + 1];

	if (pol != POLICY_PREFER)
		return reconcile_winner(ours, theirs);
	phase_writer_name(rv->ph, ours->writer, on);
	phase_writer_name(rv->ph, theirs->writer, tn);
	if (!strcmp(on, preferred) == !strcmp(tn, preferred))
		return -1; /* neither side (or both) is the preferred replica */
	return !strcmp(on, preferred) ? REC_OURS : REC_THEIRS;
}

/* The winner of a policy stays, as a new version when it is ours (its content in *tmp when theirs). */
static int policy_keep(struct receiver *rv, struct plan_item *it, int winner, struct entry *ours,
                       struct apply_tmp **tmp)
{
	struct entry *theirs = &it->theirs, row;
	int err, rc;

	entry_init(&row);
	if (winner == REC_THEIRS) {
		err = recv_merged_row(rv, &row, theirs, theirs, ours);
		if (err == 0) {
			struct apply_tmp *t = *tmp;
			*tmp = NULL;
			rc = recv_write_entry(rv, it, &row, ours, 0, t);
			err = rc < 0 ? rc : 0;
		}
	} else {
		/* ours stays: a new version of ours, so that no two replicas hold different content under one vector */
		if ((err = recv_merged_row(rv, &row, ours, theirs, ours)) == 0)
			err = apply_record(rv->ap, &row, 1);
	}
	entry_dispose(&row);
	return err;
}

/* Tells which policy kept whose version, and under which base the loser's is kept. */
static void policy_event(struct receiver *rv, enum merge_policy pol, const char *path, const struct entry *winner,
                         const struct entry *loser, const uint8_t oid[BASES_OID_LEN])
{
	char wname[REPLICA_NAME_MAX + 1], lname[REPLICA_NAME_MAX + 1], hex[2 * BASES_OID_LEN + 1], detail[256];

	phase_writer_name(rv->ph, winner->writer, wname);
	phase_writer_name(rv->ph, loser->writer, lname);
	for (int i = 0; i < BASES_OID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", oid[i]);
	snprintf(detail, sizeof(detail), "policy %s: kept %s's version; %s's is kept as base %s",
	         pol == POLICY_PREFER ? "prefer" : "prefer-newer", wname, lname, hex);
	phase_event(rv->ph, EV_KEPT, path, detail);
}

/*
 * A policy other than keep-both settles the conflict: the winner stays, the
 * loser's content goes to the bases store (named in the log, kept for
 * gc.retention).  1 done, 0 when the policy cannot apply here (keep both).
 */
static int apply_policy(struct receiver *rv, struct plan_item *it, struct entry *ours, struct apply_tmp **tmp)
{
	struct entry *theirs = &it->theirs;
	char name[REPLICA_NAME_MAX + 1];
	enum merge_policy pol = merge_policy_for(&rv->mc, theirs->path, name);
	struct bases *bs;
	uint8_t oid[BASES_OID_LEN];
	int winner, err;
	const struct entry *loser;

	if (pol == POLICY_KEEP_BOTH || ours->kind != ENTRY_FILE || theirs->kind != ENTRY_FILE)
		return 0;
	if ((winner = policy_winner(rv, pol, name, ours, theirs)) < 0)
		return 0;
	loser = winner == REC_OURS ? theirs : ours;
	/* the loser must be had whole before anything is replaced */
	if (!*tmp) {
		rv->buf.keep_max = POLICY_KEEP_MAX;
		err = recv_get_content(rv, it, theirs->path, tmp);
		rv->buf.keep_max = 0;
		if (err < 0)
			return err;
	}
	if (winner == REC_OURS ? !theirs_kept(rv, *tmp, theirs) : !read_ours(rv, ours, POLICY_KEEP_MAX))
		return 0;
	if ((err = replica_bases(rv->ph->r, &bs)) < 0)
		return err;
	if (winner == REC_OURS)
		err = bases_put(bs, rv->buf.theirs.p, rv->buf.theirs.len, oid);
	else
		err = bases_put(bs, rv->buf.ours.p, rv->buf.ours.len, oid);
	if (err < 0 || (err = apply_history(rv->ap, theirs->path, &loser->vv, oid, loser->mode, HISTORY_LOSER)) < 0)
		return err;
	if ((err = policy_keep(rv, it, winner, ours, tmp)) < 0)
		return err;
	policy_event(rv, pol, theirs->path, winner == REC_OURS ? ours : theirs, loser, oid);
	return 1;
}

/* The conflict copy's row: the loser's version as a new local file at `path`. */
static int copy_row(struct entry *copy, const struct entry *loser, const char *path)
{
	int err;

	if ((err = entry_copy(copy, loser)) < 0 || (err = entry_set_path(copy, path, strlen(path))) < 0)
		return err;
	vv_clear(&copy->vv);
	copy->origin = 0;
	copy->flags = 0;
	return 0;
}

/*
 * Theirs wins: ours moves to the copy, theirs (or the merge with markers)
 * takes the path.  Takes *tmp.  1 done, 0 when ours changed meanwhile, <0 error.
 */
static int theirs_win(struct receiver *rv, struct plan_item *it, struct entry *ours, const struct entry *copy,
                      int merge, struct apply_tmp **tmp)
{
	struct entry *theirs = &it->theirs;
	struct entry row;
	int err, rc;

	if ((rc = apply_move_aside(rv->ap, ours, copy)) <= 0)
		return rc;
	entry_init(&row);
	if ((err = recv_merged_row(rv, &row, theirs, theirs, ours)) < 0)
		goto done;
	if (merge == MERGE_MARKERS) {
		/* the winner's content stays a base: the markers replace it at the path */
		apply_tmp_abort(rv->ap, *tmp);
		*tmp = NULL;
		row.origin = 0;
		row.mtime_ns = now_ns();
		err = write_local(rv, &row, NULL, rv->buf.ours.p, rv->buf.ours.len);
	} else {
		rc = recv_write_entry(rv, it, &row, NULL, 0, *tmp);
		*tmp = NULL;
		err = rc < 0 ? rc : 0;
	}
done:
	entry_dispose(&row);
	return err < 0 ? err : 1;
}

/*
 * Ours wins: theirs goes to the copy, ours stays at the path (as a new
 * version, or as the merge with markers).  Takes *tmp.  1 done, 0 when the
 * copy could not be written, <0 error.
 */
static int ours_win(struct receiver *rv, struct plan_item *it, struct entry *ours, const struct entry *copy, int merge,
                    struct apply_tmp **tmp)
{
	struct entry row;
	int err, rc;

	entry_init(&row);
	if ((err = recv_merged_row(rv, &row, ours, &it->theirs, ours)) < 0)
		goto done;
	rc = recv_write_entry(rv, it, copy, NULL, 1, *tmp);
	*tmp = NULL;
	if (rc <= 0) {
		err = rc;
		goto done;
	}
	if (merge == MERGE_MARKERS) {
		row.origin = 0;
		row.mtime_ns = now_ns();
		err = write_local(rv, &row, ours, rv->buf.ours.p, rv->buf.ours.len);
	} else {
		/* ours stays at the path: as a new version (see REC_KEEP_OURS in do_item) */
		err = apply_record(rv->ap, &row, 1);
	}
	if (err == 0)
		err = 1;
done:
	entry_dispose(&row);
	return err;
}

/* Records the open conflict of theirs->path kept in `copy_path`, and tells it. */
static int record_conflict(struct receiver *rv, const struct entry *theirs, const struct entry *ours, int winner,
                           char *copy_path, const char *kind, int has_base, const uint8_t base_oid[BASES_OID_LEN])
{
	struct store_conflict c = {0};
	int err;

	c.path = theirs->path;
	c.copy = copy_path;
	snprintf(c.kind, sizeof(c.kind), "%s", kind);
	c.detected_ns = now_ns();
	c.ours = winner == REC_THEIRS ? theirs->writer : ours->writer;
	c.theirs = winner == REC_THEIRS ? ours->writer : theirs->writer;
	c.has_base = has_base;
	memcpy(c.base, base_oid, sizeof(c.base));
	if ((err = store_conflict_put(rv->ph->r->store, &c)) < 0)
		return err;
	rv->ph->res->conflicts++;
	rv->conflicts++;
	phase_event(rv->ph, EV_CONFLICT, theirs->path, copy_path);
	return 0;
}

int recv_do_conflict(struct receiver *rv, struct plan_item *it, struct entry *ours)
{
	struct entry *theirs = &it->theirs;
	struct entry copy;
	struct apply_tmp *tmp = NULL;
	char copy_path[MM_PATH_MAX + 1];
	int winner = reconcile_winner(ours, theirs);
	const struct entry *loser = winner == REC_THEIRS ? ours : theirs;
	const char *kind = reconcile_conflict_kind(ours, theirs);
	uint8_t base_oid[BASES_OID_LEN];
	int err = 0, rc, merge = MERGE_NO, has_base = 0;

	entry_init(&copy);
	if (ours->kind == ENTRY_FILE && theirs->kind == ENTRY_FILE) {
		if ((merge = try_merge(rv, it, ours, &tmp, &kind, base_oid, &has_base)) < 0) {
			err = merge;
			goto done;
		}
		if (merge == MERGE_DONE)
			goto done;
		if (merge == MERGE_NO && (rc = apply_policy(rv, it, ours, &tmp)) != 0) {
			err = rc < 0 ? rc : 0;
			goto done;
		}
	}
	/* their content first: nothing of ours moves unless theirs can take its place */
	if (theirs->kind == ENTRY_FILE && !tmp && merge != MERGE_MARKERS) {
		if ((err = recv_get_content(rv, it, theirs->path, &tmp)) < 0)
			goto done;
		if (!tmp) {
			recv_item_failed(rv, theirs->path, rv->why);
			goto done;
		}
	}
	if ((err = conflict_name(rv, copy_path, sizeof(copy_path), theirs->path, loser)) < 0) {
		recv_item_failed(rv, theirs->path, mm_error_msg());
		err = 0;
		goto done;
	}
	if ((err = copy_row(&copy, loser, copy_path)) < 0)
		goto done;
	if (winner == REC_THEIRS)
		rc = theirs_win(rv, it, ours, &copy, merge, &tmp);
	else
		rc = ours_win(rv, it, ours, &copy, merge, &tmp);
	if (rc > 0)
		rc = record_conflict(rv, theirs, ours, winner, copy_path, kind, has_base, base_oid);
	err = rc;
done:
	apply_tmp_abort(rv->ap, tmp);
	entry_dispose(&copy);
	return err;
}

int recv_note_copy(struct receiver *rv, const struct entry *theirs)
{
	char orig[MM_PATH_MAX + 1], name[REPLICA_NAME_MAX + 1];
	struct store_conflict c = {0};
	struct store *s = rv->ph->r->store;
	int err;

	if (theirs->kind == ENTRY_DELETED || !reconcile_copy_of(theirs->path, orig, sizeof(orig), name))
		return 0;
	if ((err = store_conflict_has(s, orig, theirs->path)) != 0)
		return err < 0 ? err : 0; /* already open here */
	/* the original may arrive in this very sync: then the peer's row says what it is */
	err = recv_plan_get(rv, orig, &rv->ours);
	if (err == MM_ENOTFOUND)
		err = store_get(s, orig, &rv->ours);
	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	c.path = orig;
	c.copy = theirs->path;
	/* what the copy's content was just read as tells text from binary */
	snprintf(c.kind, sizeof(c.kind), "%s",
	         err == 0 && rv->ours.kind != theirs->kind ? "type"
	         : theirs->kind == ENTRY_FILE && (rv->buf.theirs.len != theirs->size ||
	                                          !text_is_text(rv->buf.theirs.p, rv->buf.theirs.len))
	                 ? "binary"
	                 : "content");
	c.detected_ns = now_ns();
	c.ours = err == 0 ? rv->ours.writer : 0;
	c.theirs = 0;
	c.path = orig;
	err = store_conflict_put(s, &c);
	c.path = c.copy = NULL;
	return err;
}
