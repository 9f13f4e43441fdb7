/* The store's open conflicts (see store.h). */
#include "store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "bases.h"
#include "error.h"
#include "store_db.h"

void store_conflict_dispose(struct store_conflict *c)
{
	free(c->path);
	free(c->copy);
	c->path = c->copy = NULL;
}

int store_conflict_put(struct store *s, const struct store_conflict *c)
{
	sqlite3_stmt *st;
	size_t klen, clen = strlen(c->copy);
	int err;

	if ((err = store_db_encode_key(s, c->path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st,
	                         "INSERT OR REPLACE INTO conflicts (key, copy, kind, detected, ours, theirs, base) "
	                         "VALUES (?,?,?,?,?,?,?)")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, c->copy, (int) clen, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->detected_ns);
	sqlite3_bind_int64(st, 5, (sqlite3_int64) c->ours);
	sqlite3_bind_int64(st, 6, (sqlite3_int64) c->theirs);
	if (c->has_base)
		sqlite3_bind_blob(st, 7, c->base, BASES_OID_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	return store_db_step_done(s, st, "writing conflicts");
}

int store_conflict_delete(struct store *s, const char *path)
{
	sqlite3_stmt *st;
	size_t klen;
	int err;

	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "DELETE FROM conflicts WHERE key = ?")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	return store_db_step_done(s, st, "writing conflicts");
}

int store_conflict_delete_copy(struct store *s, const char *path, const char *copy)
{
	sqlite3_stmt *st;
	size_t klen;
	int err;

	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "DELETE FROM conflicts WHERE key = ? AND copy = ?")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, copy, (int) strlen(copy), SQLITE_STATIC);
	return store_db_step_done(s, st, "writing conflicts");
}

int store_conflict_has(struct store *s, const char *path, const char *copy)
{
	sqlite3_stmt *st;
	size_t klen;
	int rc, err;

	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "SELECT 1 FROM conflicts WHERE key = ? AND copy = ?")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, copy, (int) strlen(copy), SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_error(s, s->db, "reading conflicts");
}

static int row_to_conflict(struct store *s, sqlite3_stmt *st, struct store_conflict *c)
{
	struct entry e;
	int err;

	entry_init(&e);
	if ((err = store_db_path_from_key(&e, sqlite3_column_blob(st, 0), (size_t) sqlite3_column_bytes(st, 0))) == 0) {
		c->path = e.path;
		e.path = NULL;
		c->copy = strndup(sqlite3_column_blob(st, 1) ? (const char *) sqlite3_column_blob(st, 1) : "",
		                  (size_t) sqlite3_column_bytes(st, 1));
		store_db_copy_text(c->kind, sizeof(c->kind), sqlite3_column_text(st, 2));
		c->detected_ns = sqlite3_column_int64(st, 3);
		c->ours = (uint64_t) sqlite3_column_int64(st, 4);
		c->theirs = (uint64_t) sqlite3_column_int64(st, 5);
		c->has_base = sqlite3_column_bytes(st, 6) == BASES_OID_LEN;
		if (c->has_base)
			memcpy(c->base, sqlite3_column_blob(st, 6), BASES_OID_LEN);
		if (!c->copy)
			err = mm_error_oom();
	}
	entry_dispose(&e);
	(void) s;
	return err;
}

int store_conflict_get(struct store *s, const char *path, struct store_conflict *out)
{
	sqlite3_stmt *st;
	size_t klen;
	int rc, err;

	memset(out, 0, sizeof(*out));
	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st,
	                         "SELECT key, copy, kind, detected, ours, theirs, base FROM conflicts WHERE key = ? "
	                         "ORDER BY copy LIMIT 1")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = row_to_conflict(s, st, out);
	else
		err = rc == SQLITE_DONE ? MM_ENOTFOUND : store_db_error(s, s->db, "reading conflicts");
	sqlite3_finalize(st);
	return err;
}

int store_conflict_each(struct store *s, int (*fn)(void *arg, const struct store_conflict *c), void *arg)
{
	sqlite3_stmt *st;
	int rc, err;

	if ((err = store_db_prep(
	             s, &st,
	             "SELECT key, copy, kind, detected, ours, theirs, base FROM conflicts ORDER BY key, copy")) < 0)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_conflict c = {0};
		err = row_to_conflict(s, st, &c);
		if (err == 0)
			err = fn(arg, &c);
		store_conflict_dispose(&c);
		if (err < 0)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = store_db_error(s, s->db, "reading conflicts");
	sqlite3_finalize(st);
	return err;
}

int store_conflict_count(struct store *s, uint64_t *out)
{
	sqlite3_stmt *st;
	int err;

	*out = 0;
	if ((err = store_db_prep(s, &st, "SELECT count(DISTINCT key) FROM conflicts")) < 0)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = (uint64_t) sqlite3_column_int64(st, 0);
	else
		err = store_db_error(s, s->db, "reading conflicts");
	sqlite3_finalize(st);
	return err;
}

struct prune_ctx {
	struct store *s;
	struct entry e;
	char **gone; /* pairs: path, copy */
	size_t n, cap;
};

static int prune_collect(void *arg, const struct store_conflict *c)
{
	struct prune_ctx *pc = arg;
	int err = store_get(pc->s, c->copy, &pc->e);

	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	if (err == 0 && pc->e.kind != ENTRY_DELETED)
		return 0;
	if (pc->n + 2 > pc->cap) {
		size_t cap = pc->cap ? pc->cap * 2 : 16;
		char **p = realloc(pc->gone, cap * sizeof(*p));
		if (!p)
			return mm_error_oom();
		pc->gone = p;
		pc->cap = cap;
	}
	pc->gone[pc->n] = strdup(c->path);
	pc->gone[pc->n + 1] = strdup(c->copy);
	pc->n += 2;
	if (!pc->gone[pc->n - 2] || !pc->gone[pc->n - 1])
		return mm_error_oom();
	return 0;
}

int store_conflicts_prune(struct store *s)
{
	struct prune_ctx pc = {s, {0}, NULL, 0, 0};
	int err;

	entry_init(&pc.e);
	err = store_conflict_each(s, prune_collect, &pc);
	for (size_t i = 0; i + 1 < pc.n; i += 2) {
		if (err == 0)
			err = store_conflict_delete_copy(s, pc.gone[i], pc.gone[i + 1]);
		free(pc.gone[i]);
		free(pc.gone[i + 1]);
	}
	free(pc.gone);
	entry_dispose(&pc.e);
	return err;
}
