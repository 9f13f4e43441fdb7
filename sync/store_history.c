/* The store's history of contents, and gc (see store.h). */
#include "store.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "bases.h"
#include "error.h"
#include "store_db.h"

int store_history_add(struct store *s, const char *path, const struct vv *vv, const uint8_t oid[BASES_OID_LEN],
                      uint32_t mode, uint32_t flags)
{
	sqlite3_stmt *st;
	size_t klen, vlen;
	int err;

	if ((err = store_db_encode_key(s, path, &klen)) < 0)
		return err;
	if (vv_encode(s->vvbuf, sizeof(s->vvbuf), &vlen, vv) < 0)
		return mm_error_set(MM_EINVAL, "version vector of '%s' too large", path);
	/* the same version with the same content once is enough */
	if ((err = store_db_prep(
	             s, &st,
	             "INSERT INTO history (key, vv, oid, flags, created, mode) SELECT ?1, ?2, ?3, ?4, ?5, ?6 "
	             "WHERE NOT EXISTS (SELECT 1 FROM history INDEXED BY history_key WHERE key = ?1 AND vv = ?2 "
	             "AND oid = ?3)")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, s->vvbuf, (int) vlen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, oid, BASES_OID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int) flags);
	sqlite3_bind_int64(st, 5, (sqlite3_int64) time(NULL));
	sqlite3_bind_int(st, 6, (int) mode);
	return store_db_step_done(s, st, "writing history");
}

static const uint8_t no_content[BASES_OID_LEN];

int store_history_mark(struct store *s, const struct entry *e)
{
	sqlite3_stmt *st;
	size_t klen;
	int rc, err;

	if (e->kind == ENTRY_DIR)
		return 0;
	if ((err = store_db_encode_key(s, e->path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "SELECT 1 FROM history WHERE key = ? LIMIT 1")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : store_db_error(s, s->db, "reading history");
	return store_history_add(s, e->path, &e->vv, no_content, e->mode, 0);
}

/*
 * The latest history version of `path` both `a` and `b` descend from (and,
 * when `x1`/`x2` are given, whose blob is neither): 0 with its blob and
 * mode, or MM_ENOTFOUND.
 */
static int history_base(struct store *s, const char *path, const struct vv *a, const struct vv *b, const uint8_t *x1,
                        const uint8_t *x2, uint8_t oid[BASES_OID_LEN], uint32_t *mode)
{
	sqlite3_stmt *st;
	struct vv v = VV_INIT, best = VV_INIT;
	size_t klen;
	int rc, err, found = 0;

	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "SELECT vv, oid, mode FROM history WHERE key = ?")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *o = sqlite3_column_blob(st, 1);
		if (sqlite3_column_bytes(st, 1) != BASES_OID_LEN ||
		    vv_decode(&v, sqlite3_column_blob(st, 0), (size_t) sqlite3_column_bytes(st, 0)) < 0)
			continue;
		if (!vv_covers(a, &v) || !vv_covers(b, &v))
			continue;
		if ((x1 && !memcmp(o, x1, BASES_OID_LEN)) || (x2 && !memcmp(o, x2, BASES_OID_LEN)))
			continue;
		/* the latest common ancestor: one that descends from every other candidate met */
		if (!found || vv_covers(&v, &best)) {
			if (vv_copy(&best, &v) < 0) {
				err = mm_error_oom();
				break;
			}
			memcpy(oid, o, BASES_OID_LEN);
			if (mode)
				*mode = (uint32_t) sqlite3_column_int(st, 2);
			found = 1;
		}
	}
	if (err == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = store_db_error(s, s->db, "reading history");
	sqlite3_finalize(st);
	vv_dispose(&v);
	vv_dispose(&best);
	if (err < 0)
		return err;
	/* the latest common ancestor had nothing to merge against (deleted, or not text) */
	if (found && !memcmp(oid, no_content, BASES_OID_LEN))
		return MM_ENOTFOUND;
	return found ? 0 : MM_ENOTFOUND;
}

int store_history_base(struct store *s, const char *path, const struct vv *a, const struct vv *b,
                       uint8_t oid[BASES_OID_LEN], uint32_t *mode)
{
	return history_base(s, path, a, b, NULL, NULL, oid, mode);
}

int store_history_base_for_copy(struct store *s, const char *path, const struct vv *at_path,
                                const uint8_t path_oid[BASES_OID_LEN], const uint8_t copy_oid[BASES_OID_LEN],
                                uint8_t oid[BASES_OID_LEN])
{
	sqlite3_stmt *st;
	struct vv copy_vv = VV_INIT;
	size_t klen;
	int rc, err;

	/* the copy's version as this replica knew it, found by its content */
	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "SELECT vv FROM history WHERE key = ? AND oid = ? LIMIT 1")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, copy_oid, BASES_OID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	err = rc == SQLITE_ROW
	              ? (vv_decode(&copy_vv, sqlite3_column_blob(st, 0), (size_t) sqlite3_column_bytes(st, 0)) < 0
	                         ? MM_ENOTFOUND
	                         : 0)
	      : rc == SQLITE_DONE ? MM_ENOTFOUND
	                          : store_db_error(s, s->db, "reading history");
	sqlite3_finalize(st);
	/*
	 * A copy whose version never stood at this path here: the best guess is
	 * the latest earlier version of what stands at the path.
	 */
	if (err == MM_ENOTFOUND)
		err = vv_copy(&copy_vv, at_path) < 0 ? mm_error_oom() : 0;
	if (err == 0)
		err = history_base(s, path, at_path, &copy_vv, path_oid, copy_oid, oid, NULL);
	vv_dispose(&copy_vv);
	return err;
}

int store_history_uses(struct store *s, const uint8_t oid[BASES_OID_LEN])
{
	sqlite3_stmt *st;
	int rc, err;

	if ((err = store_db_prep(s, &st,
	                         "SELECT 1 FROM history WHERE oid = ? UNION ALL SELECT 1 FROM conflicts WHERE base = ? "
	                         "LIMIT 1")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, oid, BASES_OID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, oid, BASES_OID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_error(s, s->db, "reading history");
}

/* The lowest sequence number every known peer acknowledged (0 when no peer is known), and how many peers. */
static int gc_acked(struct store *s, uint64_t *acked, int *peers)
{
	sqlite3_stmt *st;
	int err;

	*acked = UINT64_MAX;
	*peers = 0;
	if ((err = store_db_prep(s, &st, "SELECT acked_seq FROM peers")) < 0)
		return err;
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t a = (uint64_t) sqlite3_column_int64(st, 0);
		++*peers;
		if (a < *acked)
			*acked = a;
	}
	sqlite3_finalize(st);
	if (*peers == 0)
		*acked = 0; /* nobody has confirmed anything: only the retention rule applies */
	return 0;
}

/* Drops the losers older than `retention_s`, adding their number to *history. */
static int gc_losers(struct store *s, int64_t retention_s, uint64_t *history)
{
	sqlite3_stmt *st;
	int err;

	if ((err = store_db_prep(s, &st, "DELETE FROM history WHERE flags & 1 AND created < ?")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) time(NULL) - retention_s);
	if ((err = store_db_step_done(s, st, "collecting history")) < 0)
		return err;
	*history += (uint64_t) sqlite3_changes(s->db);
	return 0;
}

/*
 * Drops the history of the rows up to sequence number `acked` that their
 * current version dominates (all of it for a deletion), adding their
 * number to *history.
 */
static int gc_acked_history(struct store *s, uint64_t acked, uint64_t *history)
{
	sqlite3_stmt *del = NULL, *rows = NULL;
	struct vv cur = VV_INIT, v = VV_INIT;
	int rc, err;

	/* rows every peer acknowledged: their history older than them is of no use */
	if ((err = store_db_prep(
	             s, &rows,
	             "SELECT e.key, e.vv, e.kind, h.rowid, h.vv FROM entries e JOIN history h ON h.key = e.key "
	             "WHERE e.seq <= ? AND h.flags & 1 = 0")) < 0 ||
	    (err = store_db_prep(s, &del, "DELETE FROM history WHERE rowid = ?")) < 0)
		goto done;
	sqlite3_bind_int64(rows, 1, (sqlite3_int64) acked);
	while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
		if (vv_decode(&cur, sqlite3_column_blob(rows, 1), (size_t) sqlite3_column_bytes(rows, 1)) < 0 ||
		    vv_decode(&v, sqlite3_column_blob(rows, 4), (size_t) sqlite3_column_bytes(rows, 4)) < 0)
			continue;
		/* keep the current version's own content: the base of the next concurrent edit */
		if (sqlite3_column_int(rows, 2) != ENTRY_DELETED && vv_compare(&cur, &v) != VV_DOMINATES)
			continue;
		sqlite3_bind_int64(del, 1, sqlite3_column_int64(rows, 3));
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		if (rc != SQLITE_DONE) {
			err = store_db_error(s, s->db, "collecting history");
			goto done;
		}
		(*history)++;
	}
done:
	sqlite3_finalize(rows);
	sqlite3_finalize(del);
	vv_dispose(&cur);
	vv_dispose(&v);
	return err;
}

/* Drops the tombstones up to sequence number `acked`; their number goes to *tombstones. */
static int gc_tombstones(struct store *s, uint64_t acked, uint64_t *tombstones)
{
	sqlite3_stmt *st;
	int err;

	/* deletions every known peer has: they cannot bring the path back any more */
	if ((err = store_db_prep(s, &st, "DELETE FROM entries WHERE kind = 0 AND seq <= ?")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) acked);
	if ((err = store_db_step_done(s, st, "collecting tombstones")) < 0)
		return err;
	*tombstones = (uint64_t) sqlite3_changes(s->db);
	return 0;
}

int store_gc(struct store *s, int64_t retention_s, uint64_t *history, uint64_t *tombstones)
{
	uint64_t acked;
	int err, peers;

	*history = *tombstones = 0;
	/* what every known peer has acknowledged */
	if ((err = gc_acked(s, &acked, &peers)) < 0)
		return err;
	if ((err = store_begin(s)) < 0)
		return err;
	if ((err = gc_losers(s, retention_s, history)) < 0 || (err = gc_acked_history(s, acked, history)) < 0 ||
	    (peers && (err = gc_tombstones(s, acked, tombstones)) < 0)) {
		store_rollback(s);
		return err;
	}
	return store_commit(s);
}
