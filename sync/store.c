/*
 * The SQLite metadata store, its core: opening, schema and migration,
 * batches, entries and iterators, the journal.  Peers, conflicts, history
 * and verify are in the other store*.c files; see store.h and store_db.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "failpoint.h"
#include "path.h"
#include "store_db.h"

/* Added in schema 7: what happened at the last syncs with each peer as the user names it. */
#define REMOTES_SCHEMA                                                                                                 \
	"CREATE TABLE remotes (name TEXT PRIMARY KEY, url TEXT NOT NULL DEFAULT '',"                                   \
	" replica_id INTEGER NOT NULL DEFAULT 0, last_ok INTEGER NOT NULL DEFAULT 0,"                                  \
	" last_fail INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');"

static const char *schema =
        "CREATE TABLE entries ("
        " key BLOB PRIMARY KEY,"
        " kind INTEGER NOT NULL,"
        " mode INTEGER NOT NULL,"
        " size INTEGER NOT NULL,"
        " mtime INTEGER NOT NULL,"
        " mstamp INTEGER NOT NULL DEFAULT 0,"
        " hash BLOB,"
        " target BLOB,"
        " vv BLOB NOT NULL,"
        " writer INTEGER NOT NULL DEFAULT 0,"
        " origin INTEGER NOT NULL DEFAULT 0,"
        " seq INTEGER NOT NULL,"
        " dev INTEGER NOT NULL DEFAULT 0,"
        " ino INTEGER NOT NULL DEFAULT 0,"
        " ctime INTEGER NOT NULL DEFAULT 0,"
        " flags INTEGER NOT NULL DEFAULT 0"
        ") WITHOUT ROWID;"
        "CREATE INDEX entries_seq ON entries(seq);"
        "CREATE INDEX entries_hash ON entries(hash) WHERE hash IS NOT NULL;"
        "CREATE TABLE state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE peers (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"
        " index_id INTEGER NOT NULL DEFAULT 0, seen_seq INTEGER NOT NULL DEFAULT 0,"
        " last_ok INTEGER NOT NULL DEFAULT 0, last_fail INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT NOT NULL DEFAULT '', acked_seq INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE replicas (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE pending (key BLOB PRIMARY KEY, row BLOB NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE conflicts (key BLOB NOT NULL, copy BLOB NOT NULL, kind TEXT NOT NULL,"
        " detected INTEGER NOT NULL, ours INTEGER NOT NULL, theirs INTEGER NOT NULL, base BLOB,"
        " PRIMARY KEY (key, copy)) WITHOUT ROWID;"
        "CREATE TABLE history (key BLOB NOT NULL, vv BLOB NOT NULL, oid BLOB NOT NULL,"
        " flags INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, mode INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX history_key ON history(key);"
        "CREATE INDEX history_oid ON history(oid);" REMOTES_SCHEMA;

#define COLS "key, kind, mode, size, mtime, hash, target, vv, seq, dev, ino, ctime, flags, writer, origin, mstamp"

#define ITER_CHUNK 4096 /* rows per read transaction of a whole-tree iterator */

struct store_iter {
	sqlite3 *db;
	sqlite3_stmt *stmt;
	struct store *store;
	int chunked; /* re-run the query after `last` every ITER_CHUNK rows */
	size_t in_chunk;
	uint8_t *last; /* the key of the last row returned */
	size_t last_len;
};

void entry_init(struct entry *e)
{
	memset(e, 0, sizeof(*e));
	vv_init(&e->vv);
}

void entry_dispose(struct entry *e)
{
	free(e->path);
	free(e->target);
	vv_dispose(&e->vv);
	entry_init(e);
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t) t->tv_sec * 1000000000LL + t->tv_nsec;
}

int entry_stat_matches(const struct entry *e, const struct stat *sb)
{
	return e->size == (uint64_t) sb->st_size && e->mtime_ns == ts_ns(&sb->st_mtim) &&
	       e->ctime_ns == ts_ns(&sb->st_ctim) && e->ino == (uint64_t) sb->st_ino &&
	       e->mode == (sb->st_mode & 07777);
}

void entry_fill_stat(struct entry *e, const struct stat *sb)
{
	e->mode = sb->st_mode & 07777;
	e->size = (uint64_t) sb->st_size;
	e->mtime_ns = ts_ns(&sb->st_mtim);
	e->ctime_ns = ts_ns(&sb->st_ctim);
	e->dev = (uint64_t) sb->st_dev;
	e->ino = (uint64_t) sb->st_ino;
}

static int grow_copy(char **buf, size_t *cap, const char *src, size_t len)
{
	if (len + 1 > *cap) {
		size_t ncap = len + 1 < 64 ? 64 : len + 1;
		char *n = realloc(*buf, ncap);
		if (!n)
			return mm_error_oom();
		*buf = n;
		*cap = ncap;
	}
	memcpy(*buf, src, len);
	(*buf)[len] = '\0';
	return 0;
}

int entry_set_path(struct entry *e, const char *path, size_t len)
{
	return grow_copy(&e->path, &e->path_cap, path, len);
}

int entry_set_target(struct entry *e, const char *target, size_t len)
{
	if (!target) {
		free(e->target);
		e->target = NULL;
		e->target_cap = 0;
		return 0;
	}
	return grow_copy(&e->target, &e->target_cap, target, len);
}

int entry_copy(struct entry *out, const struct entry *src)
{
	struct vv keep = out->vv;
	char *path = out->path, *target = out->target;
	size_t pcap = out->path_cap, tcap = out->target_cap;
	int err;

	*out = *src;
	out->vv = keep;
	out->path = path;
	out->path_cap = pcap;
	out->target = target;
	out->target_cap = tcap;
	if ((err = entry_set_path(out, src->path, strlen(src->path))) < 0)
		return err;
	if ((err = entry_set_target(out, src->target, src->target ? strlen(src->target) : 0)) < 0)
		return err;
	if (vv_copy(&out->vv, &src->vv) < 0)
		return mm_error_oom();
	return 0;
}

/* Errors, keys and statements: the store_db_* ones serve every store file (see store_db.h). */

/*
 * A damaged store: the message says how to recover.  `path` is
 * ROOT/.mmsync/meta.db.
 */
static int store_damaged(const char *path, const char *what, const char *detail)
{
	const char *end = strrchr(path, '/');
	int n;

	/* ROOT: `path` without its last two components */
	while (end && end > path && end[-1] != '/')
		end--;
	n = end && end > path ? (int) (end - path - 1) : (int) strlen(path);
	return mm_error_set(MM_ECORRUPT,
	                    "metadata store '%s' is damaged (%s: %s). The files of the tree are untouched; "
	                    "'mmsync -C %.*s check' tells more. To recover, move '%.*s/%s' out of the tree, run "
	                    "'mmsync init %.*s', then sync with a peer: what both sides hold alike will not conflict",
	                    path, what, detail, n, path, n, path, MM_STATE_DIR, n, path);
}

/* ": Why" when the last failure of `db` came from the system (SQLite says only "disk I/O error"), else "". */
static const char *db_why(sqlite3 *db)
{
	static _Thread_local char why[128];
	int code = sqlite3_errcode(db) & 0xff;
	int sys = sqlite3_system_errno(db);

	why[0] = '\0';
	if (sys && (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN))
		snprintf(why, sizeof(why), ": %s", strerror(sys));
	return why;
}

int store_db_error(struct store *s, sqlite3 *db, const char *what)
{
	int code = sqlite3_errcode(db);

	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		return store_damaged(s->path, what, sqlite3_errmsg(db));
	return mm_error_set(MM_EIO, "metadata store '%s': %s: %s%s", s->path, what, sqlite3_errmsg(db), db_why(db));
}

/* Key for `path` in s->keybuf; its length in *len. */
int store_db_encode_key(struct store *s, const char *path, size_t *len)
{
	size_t n = strlen(path);

	if (n == 0)
		return mm_error_set(MM_EINVAL, "empty path");
	if (n > MM_PATH_MAX)
		return mm_error_set(MM_EINVAL, "path too long: '%.64s...'", path);
	for (size_t i = 0; i < n; i++)
		s->keybuf[i] = path[i] == '/' ? 0 : (uint8_t) path[i];
	*len = n;
	return 0;
}

int store_db_path_from_key(struct entry *e, const uint8_t *key, size_t len)
{
	int err = entry_set_path(e, (const char *) key, len);

	if (err < 0)
		return err;
	for (size_t i = 0; i < len; i++)
		if (e->path[i] == '\0')
			e->path[i] = '/';
	return 0;
}

/* Prepares `sql` on the store's connection, or sets the error. */
int store_db_prep(struct store *s, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return store_db_error(s, s->db, "preparing");
	return 0;
}

/* Steps a statement that returns no row and finalizes it. */
int store_db_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(s, s->db, what);
}

void store_db_copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *) src : "");
}

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(s->db);
		int err = code == SQLITE_CORRUPT || code == SQLITE_NOTADB
		                  ? store_damaged(s->path, "opening it", msg ? msg : "error")
		                  : mm_error_set(MM_EIO, "metadata store '%s': %s%s", s->path, msg ? msg : "error",
		                                 db_why(s->db));
		sqlite3_free(msg);
		return err;
	}
	return 0;
}

static int get_state(struct store *s, const char *name, uint64_t *out)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM state WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, s->db, "reading state");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = (uint64_t) sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		err = store_damaged(s->path, "reading its state", name);
	else
		err = store_db_error(s, s->db, "reading state");
	sqlite3_finalize(st);
	return err;
}

static int open_db(struct store *s, sqlite3 **out, int flags)
{
	if (sqlite3_open_v2(s->path, out, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		int err = mm_error_set(MM_EIO, "cannot open metadata store '%s': %s", s->path,
		                       *out ? sqlite3_errmsg(*out) : "out of memory");
		sqlite3_close(*out);
		*out = NULL;
		return err;
	}
	sqlite3_busy_timeout(*out, 10000);
	sqlite3_extended_result_codes(*out, 0);
	return 0;
}

static struct store *store_alloc(const char *db_path)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->path = strdup(db_path);
	s->keybuf = malloc(MM_PATH_MAX + 1);
	if (!s->path || !s->keybuf) {
		free(s->path);
		free(s->keybuf);
		free(s);
		return NULL;
	}
	return s;
}

static int prepare(struct store *s)
{
	if (sqlite3_prepare_v3(s->db, "SELECT " COLS " FROM entries WHERE key = ?", -1, SQLITE_PREPARE_PERSISTENT,
	                       &s->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db,
	                       "INSERT OR REPLACE INTO entries (" COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "INSERT OR REPLACE INTO state (name, value) VALUES ('counter', ?), ('seq', ?)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &s->save_state, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "SELECT " COLS " FROM entries WHERE hash = ? AND kind = 1 LIMIT 1", -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->find_hash, NULL) != SQLITE_OK)
		return store_db_error(s, s->db, "preparing statements");
	return 0;
}

int store_create(const char *db_path, uint64_t replica_id)
{
	struct store *s;
	char sql[200];
	uint64_t index_id = 0;
	int err, fd;

	while (index_id == 0)
		if (getrandom(&index_id, sizeof(index_id), 0) != sizeof(index_id))
			return mm_error_errno(MM_EIO, errno, "cannot make an index id");
	/* O_EXCL: never initialise over somebody's file. */
	fd = open(db_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return mm_error_errno(errno == EEXIST ? MM_EEXISTS : MM_EIO, errno, "cannot create metadata store '%s'",
		                      db_path);
	close(fd);
	if (!(s = store_alloc(db_path)))
		return mm_error_oom();
	if ((err = open_db(s, &s->db, SQLITE_OPEN_READWRITE)) < 0)
		goto done;
	snprintf(sql, sizeof(sql),
	         "INSERT INTO state VALUES ('replica_id', %lld), ('index_id', %lld), ('counter', 0), ('seq', 0);"
	         "PRAGMA user_version = %d;",
	         (long long) replica_id, (long long) index_id, STORE_SCHEMA_VERSION);
	if ((err = exec(s, "PRAGMA journal_mode = WAL")) < 0 || (err = exec(s, "BEGIN")) < 0 ||
	    (err = exec(s, schema)) < 0 || (err = exec(s, sql)) < 0 || (err = exec(s, "COMMIT")) < 0)
		goto done;
done:
	sqlite3_close(s->db);
	s->db = NULL;
	store_free(s);
	return err;
}

/* Reads the schema version: brings a schema 6 store up to 7 and refuses any other than this mmsync's. */
static int open_schema(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int err, version;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		err = store_db_error(s, s->db, "reading schema version");
		sqlite3_finalize(st);
		return err;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == 6) {
		/* schema 6 lacks only the remotes table */
		if ((err = exec(s, "BEGIN IMMEDIATE; " REMOTES_SCHEMA " PRAGMA user_version = 7; COMMIT")) < 0) {
			exec(s, "ROLLBACK");
			return err;
		}
		version = 7;
	}
	if (version != STORE_SCHEMA_VERSION)
		return mm_error_set(MM_ECORRUPT, "metadata store '%s' has schema version %d, this mmsync reads %d",
		                    s->path, version, STORE_SCHEMA_VERSION);
	return 0;
}

int store_open(struct store **out, const char *db_path)
{
	struct store *s;
	int err;
	uint64_t id = 0;
	struct stat sb;

	*out = NULL;
	if (stat(db_path, &sb) < 0)
		return mm_error_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno, "cannot open metadata store '%s'",
		                      db_path);
	if (!(s = store_alloc(db_path)))
		return mm_error_oom();
	if ((err = open_db(s, &s->db, SQLITE_OPEN_READWRITE)) < 0 || (err = open_schema(s)) < 0)
		goto fail;
	/* FULL: a committed batch survives a power cut; cache bounded at 8 MB. */
	if ((err = exec(s, "PRAGMA synchronous = FULL; PRAGMA cache_size = -8000")) < 0 ||
	    (err = get_state(s, "replica_id", &id)) < 0 || (err = get_state(s, "index_id", &s->index_id)) < 0 ||
	    (err = get_state(s, "counter", &s->counter)) < 0 || (err = get_state(s, "seq", &s->seq)) < 0 ||
	    (err = prepare(s)) < 0)
		goto fail;
	if (id == 0) {
		err = store_damaged(db_path, "reading its state", "it records no replica id");
		goto fail;
	}
	s->replica_id = id;
	s->saved_counter = s->counter;
	s->saved_seq = s->seq;
	*out = s;
	return 0;
fail:
	store_free(s);
	return err;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->in_batch)
		store_rollback(s);
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->save_state);
	sqlite3_finalize(s->find_hash);
	sqlite3_close(s->db);
	free(s->path);
	free(s->keybuf);
	free(s);
}

uint64_t store_replica_id(const struct store *s)
{
	return s->replica_id;
}

uint64_t store_last_seq(const struct store *s)
{
	return s->seq;
}

int store_begin(struct store *s)
{
	int err;

	if (s->in_batch)
		return mm_error_set(MM_EINVAL, "metadata store '%s': batch already open", s->path);
	if ((err = exec(s, "BEGIN IMMEDIATE")) < 0)
		return err;
	s->in_batch = 1;
	return 0;
}

int store_commit(struct store *s)
{
	int err, injected;

	if (!s->in_batch)
		return mm_error_set(MM_EINVAL, "metadata store '%s': no batch open", s->path);
	if (s->counter != s->saved_counter || s->seq != s->saved_seq) {
		sqlite3_bind_int64(s->save_state, 1, (sqlite3_int64) s->counter);
		sqlite3_bind_int64(s->save_state, 2, (sqlite3_int64) s->seq);
		int rc = sqlite3_step(s->save_state);
		sqlite3_reset(s->save_state);
		if (rc != SQLITE_DONE) {
			err = store_db_error(s, s->db, "saving counters");
			goto fail;
		}
	}
	if ((injected = failpoint_err("store-commit")) != 0) {
		err = mm_error_errno(MM_EIO, injected, "metadata store '%s': cannot commit", s->path);
		goto fail;
	}
	if ((err = exec(s, "COMMIT")) < 0)
		goto fail;
	s->in_batch = 0;
	s->saved_counter = s->counter;
	s->saved_seq = s->seq;
	return 0;
fail:
	/* nothing of a batch that did not commit stays, in the file or in memory (the message stays too) */
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_batch = 0;
	s->counter = s->saved_counter;
	s->seq = s->saved_seq;
	return err;
}

int store_rollback(struct store *s)
{
	if (!s->in_batch)
		return 0;
	s->in_batch = 0;
	s->counter = s->saved_counter;
	s->seq = s->saved_seq;
	return exec(s, "ROLLBACK");
}

uint64_t store_index_id(const struct store *s)
{
	return s->index_id;
}

/* Fills `e` from the current row of `st` (columns in COLS order). */
static int row_to_entry(struct store *s, sqlite3_stmt *st, struct entry *e)
{
	const void *blob;
	int n, err;

	blob = sqlite3_column_blob(st, 0);
	n = sqlite3_column_bytes(st, 0);
	if (n <= 0 || n > MM_PATH_MAX)
		return mm_error_set(MM_ECORRUPT, "metadata store '%s': bad path key", s->path);
	if ((err = store_db_path_from_key(e, blob, (size_t) n)) < 0)
		return err;
	e->kind = sqlite3_column_int(st, 1);
	e->mode = (uint32_t) sqlite3_column_int(st, 2);
	e->size = (uint64_t) sqlite3_column_int64(st, 3);
	e->mtime_ns = sqlite3_column_int64(st, 4);
	n = sqlite3_column_bytes(st, 5);
	blob = sqlite3_column_blob(st, 5);
	e->has_hash = blob && n == MM_HASH_LEN;
	if (e->has_hash)
		memcpy(e->hash, blob, MM_HASH_LEN);
	else
		memset(e->hash, 0, MM_HASH_LEN);
	blob = sqlite3_column_blob(st, 6);
	n = sqlite3_column_bytes(st, 6);
	if ((err = entry_set_target(e, blob ? (const char *) blob : NULL, (size_t) n)) < 0)
		return err;
	blob = sqlite3_column_blob(st, 7);
	n = sqlite3_column_bytes(st, 7);
	if (vv_decode(&e->vv, blob ? blob : (const void *) "", (size_t) n) < 0)
		return mm_error_set(MM_ECORRUPT, "metadata store '%s': bad version vector for '%s'", s->path, e->path);
	e->seq = (uint64_t) sqlite3_column_int64(st, 8);
	e->dev = (uint64_t) sqlite3_column_int64(st, 9);
	e->ino = (uint64_t) sqlite3_column_int64(st, 10);
	e->ctime_ns = sqlite3_column_int64(st, 11);
	e->flags = (uint32_t) sqlite3_column_int(st, 12);
	e->writer = (uint64_t) sqlite3_column_int64(st, 13);
	e->origin = (uint64_t) sqlite3_column_int64(st, 14);
	e->mstamp_ns = sqlite3_column_int64(st, 15);
	if (e->kind < ENTRY_DELETED || e->kind > ENTRY_LINK)
		return mm_error_set(MM_ECORRUPT, "metadata store '%s': bad kind for '%s'", s->path, e->path);
	return 0;
}

int store_get(struct store *s, const char *path, struct entry *out)
{
	size_t len;
	int rc, err;

	if ((err = store_db_encode_key(s, path, &len)) < 0)
		return err;
	sqlite3_bind_blob(s->get, 1, s->keybuf, (int) len, SQLITE_STATIC);
	rc = sqlite3_step(s->get);
	if (rc == SQLITE_ROW)
		err = row_to_entry(s, s->get, out);
	else if (rc == SQLITE_DONE)
		err = MM_ENOTFOUND;
	else
		err = store_db_error(s, s->db, "reading");
	sqlite3_reset(s->get);
	sqlite3_clear_bindings(s->get);
	return err;
}

int store_put(struct store *s, const struct entry *e)
{
	size_t len, vlen;
	int rc, err;
	sqlite3_stmt *st = s->put;

	if (!s->in_batch)
		return mm_error_set(MM_EINVAL, "metadata store '%s': write outside a batch", s->path);
	if ((err = store_db_encode_key(s, e->path, &len)) < 0)
		return err;
	if (vv_encode(s->vvbuf, sizeof(s->vvbuf), &vlen, &e->vv) < 0)
		return mm_error_set(MM_EINVAL, "version vector of '%s' too large", e->path);
	sqlite3_bind_blob(st, 1, s->keybuf, (int) len, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->kind);
	sqlite3_bind_int(st, 3, (int) e->mode);
	sqlite3_bind_int64(st, 4, (sqlite3_int64) e->size);
	sqlite3_bind_int64(st, 5, e->mtime_ns);
	if (e->has_hash)
		sqlite3_bind_blob(st, 6, e->hash, MM_HASH_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if (e->target)
		sqlite3_bind_blob(st, 7, e->target, (int) strlen(e->target), SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_blob(st, 8, s->vvbuf, (int) vlen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (sqlite3_int64) e->seq);
	sqlite3_bind_int64(st, 10, (sqlite3_int64) e->dev);
	sqlite3_bind_int64(st, 11, (sqlite3_int64) e->ino);
	sqlite3_bind_int64(st, 12, e->ctime_ns);
	sqlite3_bind_int(st, 13, (int) e->flags);
	sqlite3_bind_int64(st, 14, (sqlite3_int64) e->writer);
	sqlite3_bind_int64(st, 15, (sqlite3_int64) e->origin);
	sqlite3_bind_int64(st, 16, e->mstamp_ns);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return store_db_error(s, s->db, "writing");
	return 0;
}

int store_put_local_change(struct store *s, struct entry *e)
{
	uint64_t counter;

	if (!s->in_batch)
		return mm_error_set(MM_EINVAL, "metadata store '%s': write outside a batch", s->path);
	if (s->counter == UINT64_MAX || s->seq == UINT64_MAX)
		return mm_error_set(MM_ECORRUPT, "metadata store '%s': counters exhausted", s->path);
	if (vv_bump(&e->vv, s->replica_id, s->counter + 1, &counter) < 0)
		/* a vector whose counter for this replica is at its end (taken in before peers were bounded) */
		return mm_error_set(MM_ECORRUPT, "cannot record a new version of '%s': its version vector is exhausted",
		                    e->path);
	s->counter = counter;
	e->writer = s->replica_id;
	e->origin = 0;
	e->seq = ++s->seq;
	return store_put(s, e);
}

int store_put_next_seq(struct store *s, struct entry *e)
{
	if (!s->in_batch)
		return mm_error_set(MM_EINVAL, "metadata store '%s': write outside a batch", s->path);
	if (s->seq == UINT64_MAX)
		return mm_error_set(MM_ECORRUPT, "metadata store '%s': counters exhausted", s->path);
	e->seq = ++s->seq;
	return store_put(s, e);
}

int store_find_hash(struct store *s, const uint8_t hash[MM_HASH_LEN], struct entry *out)
{
	sqlite3_stmt *st = s->find_hash;
	int rc, err;

	sqlite3_bind_blob(st, 1, hash, MM_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = row_to_entry(s, st, out);
	else
		err = rc == SQLITE_DONE ? MM_ENOTFOUND : store_db_error(s, s->db, "reading");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

int store_count(struct store *s, struct store_counts *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(s->db, "SELECT kind, count(*) FROM entries GROUP BY kind", -1, &st, NULL) != SQLITE_OK)
		return store_db_error(s, s->db, "counting");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t n = (uint64_t) sqlite3_column_int64(st, 1);
		switch (sqlite3_column_int(st, 0)) {
		case ENTRY_FILE: out->files = n; break;
		case ENTRY_DIR: out->dirs = n; break;
		case ENTRY_LINK: out->links = n; break;
		default: out->tombstones += n; break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(s, s->db, "counting");
}

/* Opens the iterator's own connection and takes its read snapshot now, not at the first row. */
static int iter_begin(struct store *s, struct store_iter *it, int snapshot)
{
	int err;

	if ((err = open_db(s, &it->db, SQLITE_OPEN_READONLY)) < 0)
		return err;
	if (sqlite3_exec(it->db,
	                 snapshot ? "PRAGMA cache_size = -4000; BEGIN; SELECT count(*) FROM state"
	                          : "PRAGMA cache_size = -4000",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(s, it->db, "reading");
	return 0;
}

int store_iter_open(struct store_iter **out, struct store *s, const char *prefix)
{
	struct store_iter *it;
	size_t len = 0;
	int err;

	*out = NULL;
	if (!(it = calloc(1, sizeof(*it))))
		return mm_error_oom();
	it->store = s;
	if ((err = iter_begin(s, it, prefix && *prefix)) < 0)
		goto fail;
	if (prefix && *prefix) {
		if ((err = store_db_encode_key(s, prefix, &len)) < 0)
			goto fail;
		if (sqlite3_prepare_v2(it->db, "SELECT " COLS " FROM entries WHERE key >= ?1 AND key < ?2 ORDER BY key",
		                       -1, &it->stmt, NULL) != SQLITE_OK) {
			err = store_db_error(s, it->db, "reading");
			goto fail;
		}
		sqlite3_bind_blob(it->stmt, 1, s->keybuf, (int) len, SQLITE_TRANSIENT);
		s->keybuf[len] = 1; /* just past every key beneath the prefix */
		sqlite3_bind_blob(it->stmt, 2, s->keybuf, (int) len + 1, SQLITE_TRANSIENT);
	} else {
		/*
		 * The whole tree, a chunk per read transaction: one snapshot held for
		 * a whole scan would keep every page the scan writes in the WAL (no
		 * checkpoint can pass it), and each read would search all of it.
		 * The caller only writes keys it has passed, so a chunk read later
		 * sees the rows as they were.
		 */
		it->chunked = 1;
		if (!(it->last = malloc(MM_PATH_MAX + 2))) {
			err = mm_error_oom();
			goto fail;
		}
		if (sqlite3_prepare_v2(it->db, "SELECT " COLS " FROM entries WHERE key > ?1 ORDER BY key LIMIT ?2", -1,
		                       &it->stmt, NULL) != SQLITE_OK) {
			err = store_db_error(s, it->db, "reading");
			goto fail;
		}
		sqlite3_bind_blob(it->stmt, 1, "", 0, SQLITE_STATIC);
		sqlite3_bind_int(it->stmt, 2, ITER_CHUNK);
	}
	*out = it;
	return 0;
fail:
	store_iter_free(it);
	return err;
}

int store_iter_next(struct store_iter *it, struct entry *out)
{
	int rc = sqlite3_step(it->stmt);

	if (rc == SQLITE_DONE && it->chunked && it->in_chunk == ITER_CHUNK) {
		/* the next chunk, in a read transaction of its own */
		sqlite3_reset(it->stmt);
		sqlite3_bind_blob(it->stmt, 1, it->last, (int) it->last_len, SQLITE_STATIC);
		it->in_chunk = 0;
		rc = sqlite3_step(it->stmt);
	}
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_db_error(it->store, it->db, "reading");
	if (it->chunked) {
		size_t n = (size_t) sqlite3_column_bytes(it->stmt, 0);
		if (n > MM_PATH_MAX + 1)
			return MM_ECORRUPT;
		memcpy(it->last, sqlite3_column_blob(it->stmt, 0), n);
		it->last_len = n;
		it->in_chunk++;
	}
	return row_to_entry(it->store, it->stmt, out) < 0 ? MM_ECORRUPT : 1;
}

void store_iter_free(struct store_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->stmt);
	sqlite3_close(it->db);
	free(it->last);
	free(it);
}

int store_iter_since(struct store_iter **out, struct store *s, uint64_t since)
{
	struct store_iter *it;
	int err;

	*out = NULL;
	if (!(it = calloc(1, sizeof(*it))))
		return mm_error_oom();
	it->store = s;
	if ((err = iter_begin(s, it, 1)) < 0)
		goto fail;
	if (sqlite3_prepare_v2(it->db, "SELECT " COLS " FROM entries WHERE seq > ? ORDER BY key", -1, &it->stmt,
	                       NULL) != SQLITE_OK) {
		err = store_db_error(s, it->db, "reading");
		goto fail;
	}
	sqlite3_bind_int64(it->stmt, 1, (sqlite3_int64) since);
	*out = it;
	return 0;
fail:
	store_iter_free(it);
	return err;
}

int store_pending_put(struct store *s, const char *path, const void *row, size_t len)
{
	sqlite3_stmt *st;
	size_t klen;
	int err;

	if ((err = store_db_encode_key(s, path, &klen)) < 0 ||
	    (err = store_db_prep(s, &st, "INSERT OR REPLACE INTO pending (key, row) VALUES (?, ?)")) < 0)
		return err;
	sqlite3_bind_blob(st, 1, s->keybuf, (int) klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, row, (int) len, SQLITE_STATIC);
	return store_db_step_done(s, st, "writing the journal");
}

int store_pending_clear(struct store *s)
{
	return exec(s, "DELETE FROM pending");
}

int store_pending_each(struct store *s, int (*fn)(void *arg, const char *path, const void *row, size_t len), void *arg)
{
	sqlite3_stmt *st;
	struct entry e;
	int rc, err;

	if ((err = store_db_prep(s, &st, "SELECT key, row FROM pending ORDER BY key")) < 0)
		return err;
	entry_init(&e);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		if (n <= 0 || n > MM_PATH_MAX ||
		    (err = store_db_path_from_key(&e, sqlite3_column_blob(st, 0), (size_t) n)) < 0) {
			err = err < 0 ? err : mm_error_set(MM_ECORRUPT, "metadata store '%s': bad journal", s->path);
			break;
		}
		if ((err = fn(arg, e.path, sqlite3_column_blob(st, 1), (size_t) sqlite3_column_bytes(st, 1))) < 0)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = store_db_error(s, s->db, "reading the journal");
	sqlite3_finalize(st);
	entry_dispose(&e);
	return err;
}
