/* What the store knows of other replicas: peers, remotes, replica names (see store.h). */
#include "store.h"

#include <sqlite3.h>
#include <string.h>

#include "error.h"
#include "store_db.h"

int store_peer_get(struct store *s, uint64_t id, struct store_peer *out)
{
	sqlite3_stmt *st;
	int rc, err;

	memset(out, 0, sizeof(*out));
	out->id = id;
	if ((err = store_db_prep(s, &st,
	                         "SELECT name, index_id, seen_seq, last_ok, last_fail, last_error, acked_seq FROM "
	                         "peers WHERE id = ?")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_db_copy_text(out->name, sizeof(out->name), sqlite3_column_text(st, 0));
		out->index_id = (uint64_t) sqlite3_column_int64(st, 1);
		out->seen_seq = (uint64_t) sqlite3_column_int64(st, 2);
		out->last_ok_ns = sqlite3_column_int64(st, 3);
		out->last_fail_ns = sqlite3_column_int64(st, 4);
		store_db_copy_text(out->last_error, sizeof(out->last_error), sqlite3_column_text(st, 5));
		out->acked_seq = (uint64_t) sqlite3_column_int64(st, 6);
		err = 0;
	} else {
		err = rc == SQLITE_DONE ? MM_ENOTFOUND : store_db_error(s, s->db, "reading peers");
	}
	sqlite3_finalize(st);
	return err;
}

int store_peer_put(struct store *s, const struct store_peer *p)
{
	struct store_peer now;
	sqlite3_stmt *st;
	int err;

	/* a sync that changed nothing need not write (and sync) what is already there */
	if (store_peer_get(s, p->id, &now) == 0 && now.index_id == p->index_id && now.seen_seq == p->seen_seq &&
	    now.acked_seq == p->acked_seq && now.last_ok_ns == p->last_ok_ns && now.last_fail_ns == p->last_fail_ns &&
	    !strcmp(now.name, p->name) && !strcmp(now.last_error, p->last_error))
		return 0;
	if ((err = store_db_prep(s, &st,
	                         "INSERT OR REPLACE INTO peers (id, name, index_id, seen_seq, last_ok, last_fail, "
	                         "last_error, acked_seq) VALUES (?,?,?,?,?,?,?,?)")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) p->id);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64) p->index_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64) p->seen_seq);
	sqlite3_bind_int64(st, 5, p->last_ok_ns);
	sqlite3_bind_int64(st, 6, p->last_fail_ns);
	sqlite3_bind_text(st, 7, p->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (sqlite3_int64) p->acked_seq);
	return store_db_step_done(s, st, "writing peers");
}

int store_peer_each(struct store *s, int (*fn)(void *arg, const struct store_peer *p), void *arg)
{
	sqlite3_stmt *st;
	struct store_peer p;
	int rc, err = 0;

	if ((err = store_db_prep(s, &st, "SELECT id FROM peers ORDER BY id")) < 0)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((err = store_peer_get(s, (uint64_t) sqlite3_column_int64(st, 0), &p)) < 0 ||
		    (err = fn(arg, &p)) < 0)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = store_db_error(s, s->db, "reading peers");
	sqlite3_finalize(st);
	return err;
}

int store_unsent_count(struct store *s, uint64_t peer_id, uint64_t *out)
{
	struct store_peer p;
	sqlite3_stmt *st;
	int rc, err;

	*out = 0;
	if ((err = store_peer_get(s, peer_id, &p)) < 0 && err != MM_ENOTFOUND)
		return err;
	/* rows changed here since the peer's last acknowledgement, except those it sent us (a peer never
	   reached: every row) */
	if ((err = store_db_prep(s, &st,
	                         peer_id ? "SELECT count(*) FROM entries WHERE seq > ? AND origin != ?"
	                                 : "SELECT count(*) FROM entries WHERE seq > ?")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) p.acked_seq);
	if (peer_id)
		sqlite3_bind_int64(st, 2, (sqlite3_int64) peer_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (uint64_t) sqlite3_column_int64(st, 0);
	else
		err = store_db_error(s, s->db, "counting changes");
	sqlite3_finalize(st);
	return err < 0 ? err : 0;
}

int store_remote_get(struct store *s, const char *name, struct store_remote *out)
{
	sqlite3_stmt *st;
	int rc, err;

	memset(out, 0, sizeof(*out));
	if ((err = store_db_prep(
	             s, &st, "SELECT url, replica_id, last_ok, last_fail, last_error FROM remotes WHERE name = ?")) < 0)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_db_copy_text(out->url, sizeof(out->url), sqlite3_column_text(st, 0));
		out->replica_id = (uint64_t) sqlite3_column_int64(st, 1);
		out->last_ok_ns = sqlite3_column_int64(st, 2);
		out->last_fail_ns = sqlite3_column_int64(st, 3);
		store_db_copy_text(out->last_error, sizeof(out->last_error), sqlite3_column_text(st, 4));
		err = 0;
	} else {
		err = rc == SQLITE_DONE ? MM_ENOTFOUND : store_db_error(s, s->db, "reading remotes");
	}
	sqlite3_finalize(st);
	return err;
}

int store_remote_note(struct store *s, const char *name, const char *url, uint64_t replica_id, int64_t when_ns,
                      const char *error)
{
	sqlite3_stmt *st;
	int err;

	/* a success keeps the last failure on record (and its message); a failure keeps the last success */
	if ((err = store_db_prep(s, &st,
	                         error ? "INSERT INTO remotes (name, url, replica_id, last_fail, last_error) VALUES "
	                                 "(?1,?2,?3,?4,?5)"
	                                 " ON CONFLICT(name) DO UPDATE SET url = ?2, replica_id = CASE WHEN ?3 THEN ?3 "
	                                 "ELSE replica_id"
	                                 " END, last_fail = ?4, last_error = ?5"
	                               : "INSERT INTO remotes (name, url, replica_id, last_ok) VALUES (?1,?2,?3,?4)"
	                                 " ON CONFLICT(name) DO UPDATE SET url = ?2, replica_id = CASE WHEN ?3 THEN ?3 "
	                                 "ELSE replica_id"
	                                 " END, last_ok = ?4")) < 0)
		return err;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64) replica_id);
	sqlite3_bind_int64(st, 4, when_ns);
	if (error)
		sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
	return store_db_step_done(s, st, "writing remotes");
}

int store_replica_name(struct store *s, uint64_t id, char out[REPLICA_NAME_MAX + 1])
{
	sqlite3_stmt *st;
	int rc, err;

	out[0] = '\0';
	if ((err = store_db_prep(s, &st, "SELECT name FROM replicas WHERE id = ?")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_db_copy_text(out, REPLICA_NAME_MAX + 1, sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MM_ENOTFOUND : store_db_error(s, s->db, "reading replicas");
}

int store_replica_name_put(struct store *s, uint64_t id, const char *name)
{
	char known[REPLICA_NAME_MAX + 1];
	sqlite3_stmt *st;
	int err;

	/* every session says the peer's name: write (and sync) it only when it is news */
	if (store_replica_name(s, id, known) == 0 && !strcmp(known, name))
		return 0;
	if ((err = store_db_prep(s, &st, "INSERT OR REPLACE INTO replicas (id, name) VALUES (?, ?)")) < 0)
		return err;
	sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return store_db_step_done(s, st, "writing replicas");
}
