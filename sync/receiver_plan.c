/* The receiver's plan: the peer's index read and reconciled into a temporary database (receiver.h). */
#include <sqlite3.h>
#include <string.h>

#include "conn.h"
#include "error.h"
#include "failpoint.h"
#include "ignore.h"
#include "path.h"
#include "phase.h"
#include "receiver.h"
#include "reconcile.h"
#include "replica.h"
#include "store.h"

int recv_db_fail(struct receiver *rv, const char *what)
{
	return mm_error_set(MM_EIO, "plan: %s: %s", what, sqlite3_errmsg(rv->plan.db));
}

int recv_plan_open(struct receiver *rv)
{
	/* "": a private temporary database on disk, gone when closed */
	if (sqlite3_open_v2("", &rv->plan.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		return mm_error_set(MM_EIO, "cannot open a temporary database");
	if (sqlite3_exec(rv->plan.db,
	                 "PRAGMA cache_size = -4000; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
	                 "CREATE TABLE plan (n INTEGER PRIMARY KEY, phase INTEGER, action INTEGER, fetch INTEGER,"
	                 " row BLOB, path BLOB);"
	                 "CREATE INDEX plan_path ON plan(path);"
	                 "CREATE TABLE requested (hash BLOB PRIMARY KEY) WITHOUT ROWID;"
	                 "CREATE TABLE retry (n INTEGER PRIMARY KEY, phase INTEGER, action INTEGER, fetch INTEGER,"
	                 " row BLOB);"
	                 "BEGIN",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "INSERT INTO plan (phase, action, fetch, row, path) VALUES (?,?,?,?,?)", -1,
	                       &rv->plan.add, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "SELECT 1 FROM plan WHERE path = ? AND action IN (?, ?) AND phase <= ?", -1,
	                       &rv->plan.touches, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "SELECT 1 FROM requested WHERE hash = ?", -1, &rv->plan.req_seen, NULL) !=
	            SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "INSERT OR IGNORE INTO requested (hash) VALUES (?)", -1, &rv->plan.req_put,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db,
	                       "INSERT OR IGNORE INTO retry SELECT n, phase, action, fetch, row FROM plan"
	                       " WHERE n = ?",
	                       -1, &rv->plan.retry_add, NULL) != SQLITE_OK)
		return recv_db_fail(rv, "setting up");
	return 0;
}

void recv_plan_close(struct receiver *rv)
{
	sqlite3_finalize(rv->plan.add);
	sqlite3_finalize(rv->win.cur);
	sqlite3_finalize(rv->apply_cur);
	sqlite3_finalize(rv->plan.req_seen);
	sqlite3_finalize(rv->plan.req_put);
	sqlite3_finalize(rv->plan.touches);
	sqlite3_finalize(rv->plan.retry_add);
	sqlite3_close(rv->plan.db);
}

static int plan_add(struct receiver *rv, int phase, int action, int fetch, const struct entry *theirs)
{
	int rc;

	wbuf_reset(&rv->plan.enc);
	proto_put_row(&rv->plan.enc, theirs);
	if (rv->plan.enc.oom)
		return mm_error_oom();
	sqlite3_bind_int(rv->plan.add, 1, phase);
	sqlite3_bind_int(rv->plan.add, 2, action);
	sqlite3_bind_int(rv->plan.add, 3, fetch);
	sqlite3_bind_blob(rv->plan.add, 4, rv->plan.enc.p + 5, (int) rv->plan.enc.len - 5, SQLITE_STATIC);
	sqlite3_bind_blob(rv->plan.add, 5, theirs->path, (int) strlen(theirs->path), SQLITE_STATIC);
	rc = sqlite3_step(rv->plan.add);
	sqlite3_reset(rv->plan.add);
	return rc == SQLITE_DONE ? 0 : recv_db_fail(rv, "writing");
}

int recv_plan_next(struct receiver *rv, sqlite3_stmt *st, struct plan_item *it)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return recv_db_fail(rv, "reading");
	it->n = sqlite3_column_int64(st, 0);
	it->phase = sqlite3_column_int(st, 1);
	it->action = sqlite3_column_int(st, 2);
	it->fetch = sqlite3_column_int(st, 3);
	if (proto_get_row(&it->theirs, sqlite3_column_blob(st, 4), (size_t) sqlite3_column_bytes(st, 4)) < 0)
		return MM_ECORRUPT;
	return 1;
}

/* Decides what to do with one row of the peer's index. */
static int plan_row(struct receiver *rv, struct entry *theirs)
{
	struct store *s = rv->ph->r->store;
	int have, action, phase = PHASE_CREATE, fetch = 0, err;

	if ((err = ignore_match(rv->ig, theirs->path, theirs->kind == ENTRY_DIR)) != 0)
		return err < 0 ? err : 0; /* ignored here: neither applied nor recorded */
	err = store_get(s, theirs->path, &rv->ours);
	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	have = err == 0;
	action = reconcile(have ? &rv->ours : NULL, theirs);
	if (action == REC_IGNORE)
		return 0;
	if (action == REC_UPDATE) {
		int ours_dir = have && rv->ours.kind == ENTRY_DIR;
		if (theirs->kind == ENTRY_DELETED)
			phase = PHASE_DELETE;
		else if (ours_dir && theirs->kind != ENTRY_DIR)
			phase = PHASE_AFTER;
		fetch = theirs->kind == ENTRY_FILE && !(have && rv->ours.kind == ENTRY_FILE && rv->ours.has_hash &&
		                                        !memcmp(rv->ours.hash, theirs->hash, MM_HASH_LEN));
	} else if (action == REC_CONFLICT) {
		fetch = theirs->kind == ENTRY_FILE;
	}
	rv->prog.files_total++;
	if (fetch)
		rv->prog.bytes_total += theirs->size;
	return plan_add(rv, phase, action, fetch, theirs);
}

int recv_read_index(struct receiver *rv, uint64_t *max_seq)
{
	struct phase *ph = rv->ph;
	struct entry theirs;
	char prev[MM_PATH_MAX + 1] = "";
	const uint8_t *p;
	size_t len;
	int type, err = 0;

	entry_init(&theirs);
	for (;;) {
		if ((err = conn_recv(ph->c, &type, &p, &len)) < 0)
			break;
		if (type == MSG_INDEX_END) {
			err = proto_get_u64(max_seq, p, len, "index-end");
			break;
		}
		if (type == MSG_REPLICA) {
			uint64_t id;
			char name[REPLICA_NAME_MAX + 1];
			if ((err = proto_get_replica(&id, name, p, len)) < 0 ||
			    (id != ph->r->id && (err = store_replica_name_put(ph->r->store, id, name)) < 0))
				break;
			continue;
		}
		if (type != MSG_ROW) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' in its index", ph->c->peer,
			                   proto_type_name(type));
			break;
		}
		if ((err = proto_get_row(&theirs, p, len)) < 0)
			break;
		/* tree order, strictly: no path twice, and directories before what they hold */
		if (prev[0] && path_tree_cmp(prev, theirs.path) >= 0) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' out of order or twice",
			                   ph->c->peer, theirs.path);
			break;
		}
		memcpy(prev, theirs.path, strlen(theirs.path) + 1);
		if (!phase_in_filters(ph, theirs.path)) {
			err = mm_error_set(MM_ECORRUPT,
			                   "protocol error: peer '%s' sent '%s', outside the paths asked for",
			                   ph->c->peer, theirs.path);
			break;
		}
		failpoint("recv-row");
		if ((err = plan_row(rv, &theirs)) < 0)
			break;
	}
	entry_dispose(&theirs);
	return err;
}

int recv_plan_touches(struct receiver *rv, const char *path, int phase)
{
	int rc;

	sqlite3_bind_blob(rv->plan.touches, 1, path, (int) strlen(path), SQLITE_STATIC);
	sqlite3_bind_int(rv->plan.touches, 2, REC_UPDATE);
	sqlite3_bind_int(rv->plan.touches, 3, REC_CONFLICT);
	sqlite3_bind_int(rv->plan.touches, 4, phase == PHASE_CREATE ? PHASE_CREATE : PHASE_AFTER);
	rc = sqlite3_step(rv->plan.touches);
	sqlite3_reset(rv->plan.touches);
	return rc == SQLITE_ROW;
}

int recv_plan_get(struct receiver *rv, const char *path, struct entry *out)
{
	sqlite3_stmt *st;
	int rc, err = MM_ENOTFOUND;

	if (sqlite3_prepare_v2(rv->plan.db, "SELECT row FROM plan WHERE path = ?", -1, &st, NULL) != SQLITE_OK)
		return recv_db_fail(rv, "reading");
	sqlite3_bind_blob(st, 1, path, (int) strlen(path), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = proto_get_row(out, sqlite3_column_blob(st, 0), (size_t) sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return err;
}

int recv_plan_has(struct receiver *rv, const char *path)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(rv->plan.db, "SELECT 1 FROM plan WHERE path = ?", -1, &st, NULL) != SQLITE_OK)
		return 1; /* when unsure, taken */
	sqlite3_bind_blob(st, 1, path, (int) strlen(path), SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW;
}

/* Runs `st` once with `hash` bound; sqlite3_step's result. */
static int step_hash(sqlite3_stmt *st, const uint8_t hash[MM_HASH_LEN])
{
	int rc;

	sqlite3_bind_blob(st, 1, hash, MM_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

int recv_plan_requested(struct receiver *rv, const uint8_t hash[MM_HASH_LEN])
{
	return step_hash(rv->plan.req_seen, hash) == SQLITE_ROW;
}

int recv_plan_note_request(struct receiver *rv, const uint8_t hash[MM_HASH_LEN])
{
	return step_hash(rv->plan.req_put, hash) == SQLITE_DONE ? 0 : recv_db_fail(rv, "writing");
}

int recv_plan_retry(struct receiver *rv, int64_t n)
{
	int rc;

	sqlite3_bind_int64(rv->plan.retry_add, 1, n);
	rc = sqlite3_step(rv->plan.retry_add);
	sqlite3_reset(rv->plan.retry_add);
	return rc == SQLITE_DONE;
}
