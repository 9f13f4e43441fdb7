/*
 * Unit tests for sync/store: creating and opening a store and the ways that
 * fails, rows written and read back field by field, batches and what a
 * rollback undoes, the local version counter and sequence numbers, the
 * iterator's tree order, prefixes and snapshot, and counts.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "sync/error.h"
#include "sync/failpoint.h"
#include "sync/path.h"
#include "sync/store.h"
#include "testutil.h"

#define RID 0x5eedu /* the replica id of the stores made here */

/* A scratch directory holding a new store `meta.db`, opened. */
struct fixture {
	char *dir;
	char *db;
	struct store *s;
};

static void fixture_new(struct fixture *f)
{
	f->dir = tu_mkdtemp();
	f->db = tu_path(f->dir, "meta.db");
	TU_OK(store_create(f->db, RID));
	TU_OK(store_open(&f->s, f->db));
}

static void fixture_reopen(struct fixture *f)
{
	store_free(f->s);
	f->s = NULL;
	TU_OK(store_open(&f->s, f->db));
}

static void fixture_free(struct fixture *f)
{
	store_free(f->s);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->db);
}

/* A live file row with every field set; `seq` must be unique in the store. */
static void file_entry(struct entry *e, const char *path, uint64_t seq)
{
	entry_init(e);
	ck_assert_int_eq(entry_set_path(e, path, strlen(path)), 0);
	e->kind = ENTRY_FILE;
	e->mode = 0644;
	e->size = 3;
	e->mtime_ns = 1000;
	e->has_hash = 1;
	memset(e->hash, 0xab, MM_HASH_LEN);
	ck_assert_int_eq(vv_set(&e->vv, 9, seq), 0);
	e->seq = seq;
}

static void put_committed(struct store *s, const struct entry *e)
{
	TU_OK(store_begin(s));
	TU_OK(store_put(s, e));
	TU_OK(store_commit(s));
}

/* Puts rows for `paths` (seq 1, 2, ...) in one batch. */
static void put_paths(struct store *s, const char *const *paths, size_t n)
{
	TU_OK(store_begin(s));
	for (size_t i = 0; i < n; i++) {
		struct entry e;
		file_entry(&e, paths[i], i + 1);
		TU_OK(store_put(s, &e));
		entry_dispose(&e);
	}
	TU_OK(store_commit(s));
}

static void assert_rows(const struct tu_rows *rows, const char *const *want, size_t n)
{
	for (size_t i = 0; i < rows->n && i < n; i++)
		ck_assert_msg(!strcmp(rows->v[i].path, want[i]), "row %zu is '%s', expected '%s'", i, rows->v[i].path,
		              want[i]);
	ck_assert_uint_eq(rows->n, n);
}

/* --- create and open --- */

START_TEST(test_create_open)
{
	struct fixture f;
	struct store_counts c;
	struct tu_rows rows;

	fixture_new(&f);
	ck_assert_uint_eq(store_replica_id(f.s), RID);
	ck_assert_uint_eq(store_last_seq(f.s), 0);
	TU_OK(store_count(f.s, &c));
	ck_assert_uint_eq(c.files + c.dirs + c.links + c.tombstones, 0);
	tu_rows_load(&rows, f.s, NULL);
	ck_assert_uint_eq(rows.n, 0);
	tu_rows_dispose(&rows);
	fixture_reopen(&f);
	ck_assert_uint_eq(store_replica_id(f.s), RID);
	fixture_free(&f);
}
END_TEST

START_TEST(test_create_large_id)
{
	char *dir = tu_mkdtemp(), *db = tu_path(dir, "meta.db");
	struct store *s;

	/* Ids use all 64 bits; the top one must survive SQLite's signed integers. */
	TU_OK(store_create(db, UINT64_MAX - 1));
	TU_OK(store_open(&s, db));
	ck_assert_uint_eq(store_replica_id(s), UINT64_MAX - 1);
	store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(db);
}
END_TEST

START_TEST(test_create_refuses_existing_file)
{
	char *dir = tu_mkdtemp(), *db = tu_path(dir, "meta.db");
	char buf[32] = {0};
	int fd;

	tu_write_str(dir, "meta.db", "somebody's notes");
	ck_assert_int_eq(store_create(db, RID), MM_EEXISTS);
	ck_assert_msg(tu_contains(mm_error_msg(), db), "message '%s' does not name the file", mm_error_msg());
	fd = open(db, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 16);
	close(fd);
	ck_assert_str_eq(buf, "somebody's notes");
	tu_rmrf(dir);
	free(dir);
	free(db);
}
END_TEST

START_TEST(test_create_refuses_existing_store)
{
	struct fixture f;
	struct entry e, got;

	fixture_new(&f);
	file_entry(&e, "kept", 1);
	put_committed(f.s, &e);
	ck_assert_int_eq(store_create(f.db, RID + 1), MM_EEXISTS);
	fixture_reopen(&f);
	ck_assert_uint_eq(store_replica_id(f.s), RID);
	entry_init(&got);
	TU_OK(store_get(f.s, "kept", &got));
	tu_assert_entry_eq(&got, &e);
	entry_dispose(&got);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

START_TEST(test_open_missing)
{
	char *dir = tu_mkdtemp(), *db = tu_path(dir, "none.db");
	struct store *s = (struct store *) &s;

	ck_assert_int_eq(store_open(&s, db), MM_ENOTFOUND);
	ck_assert_ptr_null(s);
	ck_assert_msg(tu_contains(mm_error_msg(), db), "message '%s' does not name the file", mm_error_msg());
	ck_assert_int_eq(access(db, F_OK), -1); /* not created by the attempt */
	tu_rmrf(dir);
	free(dir);
	free(db);
}
END_TEST

START_TEST(test_open_not_sqlite)
{
	char *dir = tu_mkdtemp(), *db = tu_path(dir, "meta.db");
	struct store *s = (struct store *) &s;
	char text[4096];
	char buf[4096];
	int rc, fd;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = "this is not a database\n"[i % 23];
	tu_write(dir, "meta.db", text, sizeof(text));
	rc = store_open(&s, db);
	ck_assert_msg(rc == MM_ECORRUPT || rc == MM_EIO, "store_open returned %d", rc);
	ck_assert_ptr_null(s);
	ck_assert_msg(tu_contains(mm_error_msg(), db), "message '%s' does not name the file", mm_error_msg());
	/* The file is somebody's: opening must not have changed it. */
	fd = open(db, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(text));
	close(fd);
	ck_assert(!memcmp(buf, text, sizeof(text)));
	tu_rmrf(dir);
	free(dir);
	free(db);
}
END_TEST

START_TEST(test_open_schema_mismatch)
{
	struct fixture f;
	sqlite3 *db;

	fixture_new(&f);
	store_free(f.s);
	f.s = (struct store *) &f;
	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(&f.s, f.db), MM_ECORRUPT);
	ck_assert_ptr_null(f.s);
	ck_assert_msg(tu_contains(mm_error_msg(), "99"), "message '%s' does not give the version", mm_error_msg());
	fixture_free(&f);
}
END_TEST

/* --- rows --- */

START_TEST(test_put_get_every_field)
{
	static const uint64_t file_vv[] = {1, 5, 0x8000000000000000u, 7, UINT64_MAX, UINT64_MAX};
	static const uint64_t tomb_vv[] = {RID, 9};
	struct fixture f;
	struct entry file, dir, link, tomb, got;

	fixture_new(&f);
	entry_init(&file);
	TU_OK(entry_set_path(&file, "docs/readme.txt", 15));
	file.kind = ENTRY_FILE;
	file.mode = 04755;
	file.size = UINT64_MAX - 3;
	file.mtime_ns = -1234567890123LL; /* before 1970 */
	file.has_hash = 1;
	for (int i = 0; i < MM_HASH_LEN; i++)
		file.hash[i] = (uint8_t) (i * 37 + 1);
	tu_vv(&file.vv, file_vv, 3);
	file.writer = UINT64_MAX;
	file.origin = 0x8000000000000001u;
	file.seq = UINT64_MAX - 1;
	file.dev = UINT64_MAX - 7;
	file.ino = (uint64_t) 1 << 40;
	file.ctime_ns = 1700000000123456789LL;
	file.flags = ENTRY_RACY;

	entry_init(&dir);
	TU_OK(entry_set_path(&dir, "docs", 4));
	dir.kind = ENTRY_DIR;
	dir.mode = 0750;
	dir.mtime_ns = 42;
	ck_assert_int_eq(vv_set(&dir.vv, RID, 2), 0);
	dir.seq = 2;
	dir.dev = 3;
	dir.ino = 4;
	dir.ctime_ns = 5;

	entry_init(&link);
	TU_OK(entry_set_path(&link, "docs/link", 9));
	link.kind = ENTRY_LINK;
	link.mode = 0777;
	link.size = 8;
	TU_OK(entry_set_target(&link,
	                       "../x\ny\xff"
	                       "z",
	                       8));
	ck_assert_int_eq(vv_set(&link.vv, RID, 3), 0);
	link.seq = 3;

	entry_init(&tomb);
	TU_OK(entry_set_path(&tomb, "gone", 4));
	tomb.kind = ENTRY_DELETED;
	tomb.mtime_ns = 77;
	tu_vv(&tomb.vv, tomb_vv, 1);
	tomb.writer = RID;
	tomb.seq = 4;

	TU_OK(store_begin(f.s));
	TU_OK(store_put(f.s, &file));
	TU_OK(store_put(f.s, &dir));
	TU_OK(store_put(f.s, &link));
	TU_OK(store_put(f.s, &tomb));
	TU_OK(store_commit(f.s));
	fixture_reopen(&f);

	/* One entry reused for every read: nothing of a previous row may stay. */
	entry_init(&got);
	TU_OK(store_get(f.s, "docs/link", &got));
	tu_assert_entry_eq(&got, &link);
	TU_OK(store_get(f.s, "docs/readme.txt", &got));
	tu_assert_entry_eq(&got, &file);
	TU_OK(store_get(f.s, "docs", &got));
	tu_assert_entry_eq(&got, &dir);
	TU_OK(store_get(f.s, "gone", &got));
	tu_assert_entry_eq(&got, &tomb);
	ck_assert_int_eq(store_get(f.s, "doc", &got), MM_ENOTFOUND);
	ck_assert_int_eq(store_get(f.s, "docs/readme.txt/x", &got), MM_ENOTFOUND);
	entry_dispose(&got);

	entry_dispose(&file);
	entry_dispose(&dir);
	entry_dispose(&link);
	entry_dispose(&tomb);
	fixture_free(&f);
}
END_TEST

START_TEST(test_put_replaces_row)
{
	struct fixture f;
	struct entry e, got;
	struct store_counts c;

	fixture_new(&f);
	file_entry(&e, "a", 1);
	put_committed(f.s, &e);
	e.kind = ENTRY_LINK;
	e.has_hash = 0;
	TU_OK(entry_set_target(&e, "b", 1));
	e.seq = 2;
	put_committed(f.s, &e);
	entry_init(&got);
	TU_OK(store_get(f.s, "a", &got));
	tu_assert_entry_eq(&got, &e);
	TU_OK(store_count(f.s, &c));
	ck_assert_uint_eq(c.files, 0);
	ck_assert_uint_eq(c.links, 1);
	entry_dispose(&got);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

START_TEST(test_put_same_seq_keeps_other_row)
{
	struct fixture f;
	struct entry a, b, got;
	int rc;

	/*
	 * store_put writes "the row for e->path": whether or not it accepts a
	 * sequence number that another row holds, it must never remove that
	 * other row.
	 */
	fixture_new(&f);
	file_entry(&a, "a", 7);
	file_entry(&b, "b", 7);
	put_committed(f.s, &a);
	TU_OK(store_begin(f.s));
	rc = store_put(f.s, &b);
	if (rc == 0)
		TU_OK(store_commit(f.s));
	else
		TU_OK(store_rollback(f.s));
	entry_init(&got);
	ck_assert_msg(store_get(f.s, "a", &got) == 0, "row 'a' is gone after a put of 'b' (put returned %d)", rc);
	tu_assert_entry_eq(&got, &a);
	entry_dispose(&got);
	entry_dispose(&a);
	entry_dispose(&b);
	fixture_free(&f);
}
END_TEST

START_TEST(test_odd_paths_round_trip)
{
	static const char *const paths[] = {
	        "new\nline",
	        "dir/with\nnewline/x",
	        "bad\xff\xfe"
	        "utf8",
	        "\x80",
	        "tab\there",
	        "back\\slash",
	        "sp ace/ and more ",
	        "\x01"
	        "ctl/\x7f",
	};
	const size_t n = sizeof(paths) / sizeof(paths[0]);
	char longname[MM_NAME_MAX + 1];
	struct fixture f;
	struct entry e, got;
	struct tu_rows rows;

	memset(longname, 'n', MM_NAME_MAX);
	longname[MM_NAME_MAX] = '\0';
	fixture_new(&f);
	put_paths(f.s, paths, n);
	file_entry(&e, longname, 100);
	put_committed(f.s, &e);
	entry_dispose(&e);
	entry_init(&got);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(store_get(f.s, paths[i], &got) == 0, "path %zu not found", i);
		ck_assert_str_eq(got.path, paths[i]);
		ck_assert_uint_eq(got.seq, i + 1);
	}
	TU_OK(store_get(f.s, longname, &got));
	ck_assert_uint_eq(strlen(got.path), MM_NAME_MAX);
	entry_dispose(&got);
	tu_rows_load(&rows, f.s, NULL);
	ck_assert_uint_eq(rows.n, n + 1);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(tu_rows_find(&rows, paths[i]) != NULL, "path %zu not iterated", i);
	tu_rows_dispose(&rows);
	fixture_free(&f);
}
END_TEST

START_TEST(test_longest_path)
{
	char path[MM_PATH_MAX + 2];
	struct fixture f;
	struct entry e, got;

	/* 16 components of 255 bytes and the slashes: exactly MM_PATH_MAX bytes. */
	memset(path, 'p', MM_PATH_MAX);
	for (int i = 1; i < 16; i++)
		path[i * 256 - 1] = '/';
	path[MM_PATH_MAX] = '\0';
	ck_assert(path_valid(path, MM_PATH_MAX));
	fixture_new(&f);
	file_entry(&e, path, 1);
	put_committed(f.s, &e);
	entry_init(&got);
	TU_OK(store_get(f.s, path, &got));
	tu_assert_entry_eq(&got, &e);
	/* One byte more is refused, not truncated. */
	path[MM_PATH_MAX] = 'p';
	path[MM_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(store_get(f.s, path, &got), MM_EINVAL);
	entry_dispose(&got);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

START_TEST(test_put_empty_path)
{
	struct fixture f;
	struct entry e;
	struct tu_rows rows;
	int rc;

	/* What store_put accepts, the store must be able to read back. */
	fixture_new(&f);
	file_entry(&e, "a", 1);
	put_committed(f.s, &e);
	entry_dispose(&e);
	file_entry(&e, "", 2);
	TU_OK(store_begin(f.s));
	rc = store_put(f.s, &e);
	TU_OK(store_commit(f.s));
	entry_dispose(&e);
	if (rc == 0) {
		tu_rows_load(&rows, f.s, NULL); /* asserts that every row reads back */
		tu_rows_dispose(&rows);
	} else {
		ck_assert_int_eq(rc, MM_EINVAL);
	}
	fixture_free(&f);
}
END_TEST

/* --- batches and counters --- */

START_TEST(test_put_outside_batch)
{
	struct fixture f;
	struct entry e, got;

	fixture_new(&f);
	file_entry(&e, "a", 1);
	ck_assert_int_eq(store_put(f.s, &e), MM_EINVAL);
	entry_init(&got);
	ck_assert_int_eq(store_get(f.s, "a", &got), MM_ENOTFOUND);
	ck_assert_int_eq(store_commit(f.s), MM_EINVAL);
	/* After a commit the batch is closed again. */
	put_committed(f.s, &e);
	e.seq = 2;
	ck_assert_int_eq(store_put(f.s, &e), MM_EINVAL);
	TU_OK(store_get(f.s, "a", &got));
	ck_assert_uint_eq(got.seq, 1);
	entry_dispose(&got);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

START_TEST(test_local_change_outside_batch)
{
	struct fixture f;
	struct entry e, got;

	fixture_new(&f);
	entry_init(&e);
	TU_OK(entry_set_path(&e, "a", 1));
	e.kind = ENTRY_DIR;
	ck_assert_int_eq(store_put_local_change(f.s, &e), MM_EINVAL);
	entry_init(&got);
	ck_assert_int_eq(store_get(f.s, "a", &got), MM_ENOTFOUND);
	/* A refused write hands out nothing. */
	ck_assert_uint_eq(store_last_seq(f.s), 0);
	vv_clear(&e.vv);
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &e));
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(e.seq, 1);
	ck_assert_uint_eq(vv_get(&e.vv, RID), 1);
	entry_dispose(&got);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

START_TEST(test_begin_twice)
{
	struct fixture f;
	struct entry e, got;

	fixture_new(&f);
	TU_OK(store_begin(f.s));
	ck_assert_int_eq(store_begin(f.s), MM_EINVAL);
	/* The first batch is still open and usable. */
	file_entry(&e, "a", 1);
	TU_OK(store_put(f.s, &e));
	TU_OK(store_commit(f.s));
	entry_init(&got);
	TU_OK(store_get(f.s, "a", &got));
	entry_dispose(&got);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

/* A directory row with no version, for store_put_local_change. */
static void new_dir(struct entry *e, const char *path)
{
	entry_init(e);
	ck_assert_int_eq(entry_set_path(e, path, strlen(path)), 0);
	e->kind = ENTRY_DIR;
	e->mode = 0755;
}

START_TEST(test_rollback_undoes_rows_and_counters)
{
	struct fixture f;
	struct entry a, b, c, d, got;
	struct store_counts cnt;

	fixture_new(&f);
	new_dir(&a, "a");
	new_dir(&b, "b");
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &a));
	TU_OK(store_put_local_change(f.s, &b));
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(store_last_seq(f.s), 2);

	TU_OK(store_begin(f.s));
	new_dir(&c, "c");
	new_dir(&d, "d");
	TU_OK(store_put_local_change(f.s, &c));
	TU_OK(store_put_local_change(f.s, &d));
	TU_OK(store_put_local_change(f.s, &a)); /* a changed again */
	ck_assert_uint_eq(store_last_seq(f.s), 5);
	TU_OK(store_rollback(f.s));
	ck_assert_uint_eq(store_last_seq(f.s), 2);

	entry_init(&got);
	ck_assert_int_eq(store_get(f.s, "c", &got), MM_ENOTFOUND);
	ck_assert_int_eq(store_get(f.s, "d", &got), MM_ENOTFOUND);
	TU_OK(store_get(f.s, "a", &got));
	ck_assert_uint_eq(got.seq, 1);
	ck_assert_uint_eq(vv_get(&got.vv, RID), 1);
	TU_OK(store_count(f.s, &cnt));
	ck_assert_uint_eq(cnt.dirs, 2);

	/* The next change uses the counters as they were before the rollback. */
	entry_dispose(&c);
	new_dir(&c, "c");
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &c));
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(c.seq, 3);
	ck_assert_uint_eq(vv_get(&c.vv, RID), 3);
	fixture_reopen(&f);
	ck_assert_uint_eq(store_last_seq(f.s), 3);

	/* A rollback with no batch open does nothing. */
	TU_OK(store_rollback(f.s));
	ck_assert_uint_eq(store_last_seq(f.s), 3);

	/* Freeing a store with a batch open discards the batch. */
	entry_dispose(&d);
	new_dir(&d, "d");
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &d));
	fixture_reopen(&f);
	ck_assert_uint_eq(store_last_seq(f.s), 3);
	ck_assert_int_eq(store_get(f.s, "d", &got), MM_ENOTFOUND);

	entry_dispose(&got);
	entry_dispose(&a);
	entry_dispose(&b);
	entry_dispose(&c);
	entry_dispose(&d);
	fixture_free(&f);
}
END_TEST

/* A commit that fails (here an injected I/O error) leaves nothing of the batch, and no batch open. */
START_TEST(test_failed_commit_rolls_back)
{
	struct fixture f;
	struct entry a, b, got;

	fixture_new(&f);
	new_dir(&a, "a");
	new_dir(&b, "b");
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &a));
	TU_OK(store_commit(f.s));

	setenv("MMSYNC_FAILERR", "store-commit:1:ENOSPC", 1);
	failpoint_err_reset();
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &b));
	ck_assert_uint_eq(store_last_seq(f.s), 2);
	ck_assert_int_eq(store_commit(f.s), MM_EIO);
	ck_assert_ptr_nonnull(strstr(mm_error_msg(), "No space left on device"));
	unsetenv("MMSYNC_FAILERR");
	failpoint_err_reset();
	ck_assert_uint_eq(store_last_seq(f.s), 1);
	entry_init(&got);
	ck_assert_int_eq(store_get(f.s, "b", &got), MM_ENOTFOUND);

	/* the next batch opens and commits as if the failed one had never been */
	entry_dispose(&b);
	new_dir(&b, "b");
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &b));
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(b.seq, 2);
	fixture_reopen(&f);
	ck_assert_uint_eq(store_last_seq(f.s), 2);
	TU_OK(store_get(f.s, "b", &got));
	ck_assert_uint_eq(got.seq, 2);

	entry_dispose(&got);
	entry_dispose(&a);
	entry_dispose(&b);
	fixture_free(&f);
}
END_TEST

/*
 * A vector whose counter for this replica is at its end (a forged one, taken
 * in before peers' counters were bounded): refused as a corrupt store, not
 * as a usage error, and nothing is handed out.
 */
START_TEST(test_local_change_exhausted)
{
	static const uint64_t end[] = {RID, UINT64_MAX};
	struct fixture f;
	struct entry a;

	fixture_new(&f);
	new_dir(&a, "a");
	tu_vv(&a.vv, end, 1);
	TU_OK(store_begin(f.s));
	ck_assert_int_eq(store_put_local_change(f.s, &a), MM_ECORRUPT);
	ck_assert_msg(strstr(mm_error_msg(), "'a'") != NULL, "%s", mm_error_msg());
	store_rollback(f.s);
	ck_assert_uint_eq(store_last_seq(f.s), 0);
	entry_dispose(&a);
	fixture_free(&f);
}
END_TEST

START_TEST(test_local_change_counter)
{
	static const uint64_t other[] = {5, 10};
	static const uint64_t ahead[] = {RID, 100};
	struct fixture f;
	struct entry a, b, c, d, e, g, got;

	fixture_new(&f);
	new_dir(&a, "a");
	new_dir(&b, "b");
	new_dir(&c, "c");
	new_dir(&d, "d");
	new_dir(&e, "e");
	new_dir(&g, "g");
	tu_vv(&c.vv, other, 1);
	c.writer = 5;
	c.origin = 5; /* as if received from replica 5 */
	tu_vv(&d.vv, ahead, 1);

	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &a));
	ck_assert_uint_eq(vv_get(&a.vv, RID), 1);
	ck_assert_uint_eq(a.vv.n, 1);
	ck_assert_uint_eq(a.seq, 1);
	TU_OK(store_put_local_change(f.s, &a));
	ck_assert_uint_eq(vv_get(&a.vv, RID), 2);
	ck_assert_uint_eq(a.seq, 2);
	/* Replica-wide: another path continues from the same counter. */
	TU_OK(store_put_local_change(f.s, &b));
	ck_assert_uint_eq(vv_get(&b.vv, RID), 3);
	ck_assert_uint_eq(b.seq, 3);
	/* Other replicas' entries are kept. */
	TU_OK(store_put_local_change(f.s, &c));
	ck_assert_uint_eq(vv_get(&c.vv, RID), 4);
	ck_assert_uint_eq(vv_get(&c.vv, 5), 10);
	ck_assert_uint_eq(c.vv.n, 2);
	ck_assert_uint_eq(c.seq, 4);
	ck_assert_uint_eq(c.writer, RID); /* made here now */
	ck_assert_uint_eq(c.origin, 0);
	/* An entry ahead of the counter moves past it, and the counter follows. */
	TU_OK(store_put_local_change(f.s, &d));
	ck_assert_uint_eq(vv_get(&d.vv, RID), 101);
	ck_assert_uint_eq(d.seq, 5);
	TU_OK(store_put_local_change(f.s, &e));
	ck_assert_uint_eq(vv_get(&e.vv, RID), 102);
	ck_assert_uint_eq(e.seq, 6);
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(store_last_seq(f.s), 6);

	entry_init(&got);
	TU_OK(store_get(f.s, "a", &got));
	ck_assert_uint_eq(got.seq, 2);
	ck_assert_uint_eq(vv_get(&got.vv, RID), 2);
	TU_OK(store_get(f.s, "c", &got));
	ck_assert_uint_eq(vv_get(&got.vv, 5), 10);
	ck_assert_uint_eq(vv_get(&got.vv, RID), 4);

	/* Across close and reopen. */
	fixture_reopen(&f);
	ck_assert_uint_eq(store_last_seq(f.s), 6);
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &g));
	TU_OK(store_put_local_change(f.s, &a));
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(vv_get(&g.vv, RID), 103);
	ck_assert_uint_eq(g.seq, 7);
	ck_assert_uint_eq(vv_get(&a.vv, RID), 104);
	ck_assert_uint_eq(a.seq, 8);
	fixture_reopen(&f);
	ck_assert_uint_eq(store_last_seq(f.s), 8);
	TU_OK(store_get(f.s, "a", &got));
	ck_assert_uint_eq(got.seq, 8);
	ck_assert_uint_eq(vv_get(&got.vv, RID), 104);

	entry_dispose(&got);
	entry_dispose(&a);
	entry_dispose(&b);
	entry_dispose(&c);
	entry_dispose(&d);
	entry_dispose(&e);
	entry_dispose(&g);
	fixture_free(&f);
}
END_TEST

START_TEST(test_counters_exhausted)
{
	struct fixture f;
	struct entry a, b, got;
	sqlite3 *db;

	fixture_new(&f);
	store_free(f.s);
	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE state SET value = -2 WHERE name = 'counter'", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	TU_OK(store_open(&f.s, f.db));
	new_dir(&a, "a");
	new_dir(&b, "b");
	TU_OK(store_begin(f.s));
	TU_OK(store_put_local_change(f.s, &a));
	ck_assert_uint_eq(vv_get(&a.vv, RID), UINT64_MAX);
	/* No counter value is left: refused, nothing written. */
	ck_assert_int_eq(store_put_local_change(f.s, &b), MM_ECORRUPT);
	TU_OK(store_commit(f.s));
	ck_assert_uint_eq(store_last_seq(f.s), 1);
	entry_init(&got);
	ck_assert_int_eq(store_get(f.s, "b", &got), MM_ENOTFOUND);
	entry_dispose(&got);
	entry_dispose(&a);
	entry_dispose(&b);
	fixture_free(&f);
}
END_TEST

START_TEST(test_seq_strictly_increasing)
{
	struct fixture f;
	struct tu_rows rows;
	uint64_t seen[64] = {0};
	char name[16];

	fixture_new(&f);
	/* Several batches, paths changed more than once. */
	for (int batch = 0; batch < 4; batch++) {
		TU_OK(store_begin(f.s));
		for (int i = 0; i < 16; i++) {
			struct entry e;
			snprintf(name, sizeof(name), "p%02d", (i * 7 + batch * 5) % 20);
			int rc;
			new_dir(&e, name);
			rc = store_get(f.s, name, &e); /* the stored row when there is one */
			ck_assert(rc == 0 || rc == MM_ENOTFOUND);
			TU_OK(store_put_local_change(f.s, &e));
			seen[batch * 16 + i] = e.seq;
			entry_dispose(&e);
		}
		TU_OK(store_commit(f.s));
	}
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(seen[i], (uint64_t) i + 1);
	ck_assert_uint_eq(store_last_seq(f.s), 64);
	/* Every row's seq is the one its last change got, so no two are equal. */
	tu_rows_load(&rows, f.s, NULL);
	ck_assert_uint_eq(rows.n, 20);
	for (size_t i = 0; i < rows.n; i++)
		for (size_t j = i + 1; j < rows.n; j++)
			ck_assert_uint_ne(rows.v[i].seq, rows.v[j].seq);
	tu_rows_dispose(&rows);
	fixture_free(&f);
}
END_TEST

/* --- the iterator --- */

/* Tree order: a directory, then everything beneath it, then its next sibling; siblings bytewise. */
static const char *const tree_order[] = {
        "\x01", "a", "a/x", "a/x/y", "a/x\x01", "a\x01", "a-b", "a.txt", "a0", "a\xff", "b", "b/c", "\xff",
};
#define TREE_N (sizeof(tree_order) / sizeof(tree_order[0]))

/* Puts the rows of tree_order in a scrambled order. */
static void put_tree(struct store *s)
{
	const char *scrambled[TREE_N];

	for (size_t i = 0; i < TREE_N; i++)
		scrambled[i] = tree_order[(i * 5 + 3) % TREE_N];
	put_paths(s, scrambled, TREE_N);
}

START_TEST(test_iter_tree_order)
{
	struct fixture f;
	struct tu_rows rows;

	fixture_new(&f);
	put_tree(f.s);
	tu_rows_load(&rows, f.s, NULL);
	assert_rows(&rows, tree_order, TREE_N);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "");
	assert_rows(&rows, tree_order, TREE_N);
	tu_rows_dispose(&rows);
	fixture_free(&f);
}
END_TEST

START_TEST(test_iter_prefix)
{
	static const char *const under_a[] = {"a", "a/x", "a/x/y", "a/x\x01"};
	static const char *const under_ax[] = {"a/x", "a/x/y"};
	static const char *const under_axy[] = {"a/x/y"};
	static const char *const under_b[] = {"b", "b/c"};
	static const char *const under_ff[] = {"\xff"};
	static const char *const under_01[] = {"\x01"};
	struct fixture f;
	struct tu_rows rows;

	fixture_new(&f);
	put_tree(f.s);
	tu_rows_load(&rows, f.s, "a");
	assert_rows(&rows, under_a, 4);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "a/x");
	assert_rows(&rows, under_ax, 2);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "a/x/y");
	assert_rows(&rows, under_axy, 1);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "b");
	assert_rows(&rows, under_b, 2);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "\xff");
	assert_rows(&rows, under_ff, 1);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "\x01");
	assert_rows(&rows, under_01, 1);
	tu_rows_dispose(&rows);
	/* Prefixes of names are not paths: "a-" holds nothing, nor "a/" "z". */
	tu_rows_load(&rows, f.s, "a-");
	ck_assert_uint_eq(rows.n, 0);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "a/z");
	ck_assert_uint_eq(rows.n, 0);
	tu_rows_dispose(&rows);
	tu_rows_load(&rows, f.s, "c");
	ck_assert_uint_eq(rows.n, 0);
	tu_rows_dispose(&rows);
	fixture_free(&f);
}
END_TEST

/* Everything `it` still returns, into `rows`. */
static void drain(struct store_iter *it, struct tu_rows *rows)
{
	struct entry e;
	int rc;

	for (;;) {
		entry_init(&e);
		rc = store_iter_next(it, &e);
		if (rc != 1)
			break;
		if (rows->n == rows->cap) {
			rows->cap = rows->cap ? 2 * rows->cap : 16;
			rows->v = realloc(rows->v, rows->cap * sizeof(*rows->v));
		}
		rows->v[rows->n++] = e;
	}
	entry_dispose(&e);
	ck_assert_int_eq(rc, 0);
}

START_TEST(test_iter_snapshot_after_first_row)
{
	static const char *const before[] = {"a", "b", "c"};
	struct fixture f;
	struct store_iter *it;
	struct entry e, first;
	struct tu_rows rows = {0};

	fixture_new(&f);
	put_paths(f.s, before, 3);
	TU_OK(store_iter_open(&it, f.s, NULL));
	entry_init(&first);
	ck_assert_int_eq(store_iter_next(it, &first), 1);
	ck_assert_str_eq(first.path, "a");
	/* Committed while the iterator is part way: a new row, a changed row, a new row in a batch left open. */
	file_entry(&e, "bb", 10);
	put_committed(f.s, &e);
	entry_dispose(&e);
	file_entry(&e, "c", 11);
	e.size = 999;
	put_committed(f.s, &e);
	entry_dispose(&e);
	TU_OK(store_begin(f.s));
	file_entry(&e, "d", 12);
	TU_OK(store_put(f.s, &e));
	entry_dispose(&e);
	drain(it, &rows);
	TU_OK(store_commit(f.s));
	store_iter_free(it);
	assert_rows(&rows, before + 1, 2);
	ck_assert_uint_eq(rows.v[1].size, 3);
	ck_assert_uint_eq(rows.v[1].seq, 3);
	tu_rows_dispose(&rows);
	entry_dispose(&first);
	fixture_free(&f);
}
END_TEST

START_TEST(test_iter_snapshot_at_open)
{
	static const char *const before[] = {"a", "b", "c"};
	struct fixture f;
	struct store_iter *it;
	struct entry e, got;
	struct tu_rows rows = {0};

	/*
	 * store.h: the whole tree streams a chunk at a time; the caller may
	 * write rows at keys it has been given (and before them), and the rows
	 * still ahead come as they were.
	 */
	fixture_new(&f);
	put_paths(f.s, before, 3);
	TU_OK(store_iter_open(&it, f.s, NULL));
	entry_init(&got);
	ck_assert_int_eq(store_iter_next(it, &got), 1);
	ck_assert_str_eq(got.path, "a");
	entry_dispose(&got);
	file_entry(&e, "0", 10);
	put_committed(f.s, &e);
	entry_dispose(&e);
	file_entry(&e, "a", 11);
	e.size = 999;
	put_committed(f.s, &e);
	entry_dispose(&e);
	drain(it, &rows);
	store_iter_free(it);
	assert_rows(&rows, before + 1, 2);
	ck_assert_uint_eq(rows.v[0].size, 3);
	tu_rows_dispose(&rows);
	fixture_free(&f);
}
END_TEST

/* Past a chunk boundary, with every row rewritten as it is read (as a scan does): each row once, in order. */
START_TEST(test_iter_chunks_with_writes)
{
	enum { N = 10007 };
	struct fixture f;
	struct store_iter *it;
	struct entry e;
	char path[32], prev[32] = "";
	int rc, n = 0;

	fixture_new(&f);
	TU_OK(store_begin(f.s));
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "d%02d/f%05d", i % 50, i);
		file_entry(&e, path, (uint64_t) i + 1);
		TU_OK(store_put(f.s, &e));
		entry_dispose(&e);
	}
	TU_OK(store_commit(f.s));
	TU_OK(store_iter_open(&it, f.s, NULL));
	entry_init(&e);
	TU_OK(store_begin(f.s));
	while ((rc = store_iter_next(it, &e)) == 1) {
		ck_assert_msg(strcmp(prev, e.path) < 0, "'%s' after '%s'", e.path, prev);
		snprintf(prev, sizeof(prev), "%s", e.path);
		ck_assert_uint_eq(e.size, 3);
		e.size = 7;
		TU_OK(store_put(f.s, &e));
		if (++n % 1000 == 0) {
			TU_OK(store_commit(f.s));
			TU_OK(store_begin(f.s));
		}
	}
	ck_assert_int_eq(rc, 0);
	TU_OK(store_commit(f.s));
	ck_assert_int_eq(n, N);
	entry_dispose(&e);
	store_iter_free(it);
	fixture_free(&f);
}
END_TEST

START_TEST(test_count)
{
	struct fixture f;
	struct store_counts c;
	static const int kinds[] = {ENTRY_FILE, ENTRY_DIR,     ENTRY_FILE, ENTRY_LINK,
	                            ENTRY_FILE, ENTRY_DELETED, ENTRY_DIR,  ENTRY_DELETED};

	fixture_new(&f);
	TU_OK(store_begin(f.s));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct entry e;
		char name[8];
		snprintf(name, sizeof(name), "n%zu", i);
		file_entry(&e, name, i + 1);
		e.kind = kinds[i];
		TU_OK(store_put(f.s, &e));
		entry_dispose(&e);
	}
	TU_OK(store_commit(f.s));
	TU_OK(store_count(f.s, &c));
	ck_assert_uint_eq(c.files, 3);
	ck_assert_uint_eq(c.dirs, 2);
	ck_assert_uint_eq(c.links, 1);
	ck_assert_uint_eq(c.tombstones, 2);
	fixture_free(&f);
}
END_TEST

#define BIG_DIRS  200
#define BIG_FILES 99 /* per directory: 200 * (1 + 99) = 20000 rows */

START_TEST(test_large_batch_streams_in_order)
{
	const size_t total = BIG_DIRS * (1 + BIG_FILES);
	struct fixture f;
	struct store_iter *it;
	struct entry e;
	struct store_counts c;
	char want[32];
	size_t i;
	int rc;

	fixture_new(&f);
	TU_OK(store_begin(f.s));
	entry_init(&e);
	for (i = 0; i < total; i++) {
		size_t k = (i * 7919) % total; /* 7919 is prime to 20000: a permutation */
		size_t d = k / (1 + BIG_FILES), n = k % (1 + BIG_FILES);
		int len = n == 0 ? snprintf(want, sizeof(want), "d%03zu", d)
		                 : snprintf(want, sizeof(want), "d%03zu/f%02zu", d, n - 1);
		TU_REQUIRE(entry_set_path(&e, want, (size_t) len) == 0, i);
		e.kind = n == 0 ? ENTRY_DIR : ENTRY_FILE;
		e.size = k;
		e.seq = k + 1;
		TU_REQUIRE(store_put(f.s, &e) == 0, i);
	}
	TU_OK(store_commit(f.s));
	entry_dispose(&e);
	TU_OK(store_count(f.s, &c));
	ck_assert_uint_eq(c.dirs, BIG_DIRS);
	ck_assert_uint_eq(c.files, BIG_DIRS * BIG_FILES);

	TU_OK(store_iter_open(&it, f.s, NULL));
	entry_init(&e);
	for (i = 0; (rc = store_iter_next(it, &e)) == 1; i++) {
		size_t d = i / (1 + BIG_FILES), n = i % (1 + BIG_FILES);
		if (n == 0)
			snprintf(want, sizeof(want), "d%03zu", d);
		else
			snprintf(want, sizeof(want), "d%03zu/f%02zu", d, n - 1);
		TU_REQUIRE(!strcmp(e.path, want), i);
		TU_REQUIRE(e.size == i && e.seq == i + 1, i);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(i, total);
	store_iter_free(it);
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

/* --- remotes (schema 7) --- */

/* A success then failures then a success: each keeps the other's time, and the last known replica id. */
START_TEST(test_remote_note)
{
	struct fixture f;
	struct store_remote r;

	fixture_new(&f);
	memset(&r, 0x5a, sizeof(r));
	ck_assert_int_eq(store_remote_get(f.s, "laptop", &r), MM_ENOTFOUND);
	ck_assert_str_eq(r.url, "");
	ck_assert(r.replica_id == 0 && r.last_ok_ns == 0 && r.last_fail_ns == 0 && r.last_error[0] == '\0');

	TU_OK(store_remote_note(f.s, "laptop", "ssh://h/srv/a", 0x42, 1000, NULL));
	TU_OK(store_remote_get(f.s, "laptop", &r));
	ck_assert_str_eq(r.url, "ssh://h/srv/a");
	ck_assert_uint_eq(r.replica_id, 0x42);
	ck_assert_int_eq(r.last_ok_ns, 1000);
	ck_assert_int_eq(r.last_fail_ns, 0);
	ck_assert_str_eq(r.last_error, "");

	/* a failure before any session: replica id 0 keeps the one known */
	TU_OK(store_remote_note(f.s, "laptop", "ssh://h/srv/b", 0, 2000, "cannot reach host 'h'"));
	TU_OK(store_remote_get(f.s, "laptop", &r));
	ck_assert_str_eq(r.url, "ssh://h/srv/b");
	ck_assert_uint_eq(r.replica_id, 0x42);
	ck_assert_int_eq(r.last_ok_ns, 1000);
	ck_assert_int_eq(r.last_fail_ns, 2000);
	ck_assert_str_eq(r.last_error, "cannot reach host 'h'");

	/* a success keeps the last failure on record */
	TU_OK(store_remote_note(f.s, "laptop", "ssh://h/srv/b", 0, 3000, NULL));
	TU_OK(store_remote_get(f.s, "laptop", &r));
	ck_assert_uint_eq(r.replica_id, 0x42);
	ck_assert_int_eq(r.last_ok_ns, 3000);
	ck_assert_int_eq(r.last_fail_ns, 2000);
	ck_assert_str_eq(r.last_error, "cannot reach host 'h'");

	/* another replica answered at that name: the new id, and the largest id there is */
	TU_OK(store_remote_note(f.s, "laptop", "ssh://h/srv/b", UINT64_MAX, 4000, "refused"));
	TU_OK(store_remote_get(f.s, "laptop", &r));
	ck_assert_uint_eq(r.replica_id, UINT64_MAX);
	ck_assert_int_eq(r.last_ok_ns, 3000);
	ck_assert_int_eq(r.last_fail_ns, 4000);
	ck_assert_str_eq(r.last_error, "refused");

	/* names are kept apart; a first failure records no success */
	TU_OK(store_remote_note(f.s, "tls://nas:8443", "tls://nas:8443", 0, 5000, "timed out"));
	TU_OK(store_remote_get(f.s, "tls://nas:8443", &r));
	ck_assert_uint_eq(r.replica_id, 0);
	ck_assert_int_eq(r.last_ok_ns, 0);
	ck_assert_int_eq(r.last_fail_ns, 5000);
	ck_assert_int_eq(store_remote_get(f.s, "Laptop", &r), MM_ENOTFOUND);

	/* all of it on disk */
	fixture_reopen(&f);
	TU_OK(store_remote_get(f.s, "laptop", &r));
	ck_assert_str_eq(r.url, "ssh://h/srv/b");
	ck_assert_uint_eq(r.replica_id, UINT64_MAX);
	ck_assert_int_eq(r.last_ok_ns, 3000);
	ck_assert_int_eq(r.last_fail_ns, 4000);
	ck_assert_str_eq(r.last_error, "refused");
	fixture_free(&f);
}
END_TEST

/* Rows above the peer's acknowledgement, less those it sent us; peer 0 (or one never met): every row. */
START_TEST(test_unsent_count)
{
	enum { PEER = 0x77, OTHER = 0x99 };
	static const uint64_t origins[] = {0, 0, PEER, 0, OTHER, PEER, 0};
	struct fixture f;
	struct store_peer p;
	uint64_t n = 12345;

	fixture_new(&f);
	TU_OK(store_unsent_count(f.s, PEER, &n));
	ck_assert_uint_eq(n, 0);
	TU_OK(store_begin(f.s));
	for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
		struct entry e;
		char path[16];
		snprintf(path, sizeof(path), "f%zu", i);
		file_entry(&e, path, i + 1); /* seq 1..7 */
		e.origin = origins[i];
		TU_OK(store_put(f.s, &e));
		entry_dispose(&e);
	}
	TU_OK(store_commit(f.s));

	TU_OK(store_unsent_count(f.s, 0, &n));
	ck_assert_uint_eq(n, 7);
	TU_OK(store_unsent_count(f.s, PEER, &n)); /* never met: all but the 2 rows it sent */
	ck_assert_uint_eq(n, 5);
	TU_OK(store_unsent_count(f.s, 0x1234, &n));
	ck_assert_uint_eq(n, 7);

	memset(&p, 0, sizeof(p));
	p.id = PEER;
	p.acked_seq = 2;
	TU_OK(store_peer_put(f.s, &p));
	TU_OK(store_unsent_count(f.s, PEER, &n)); /* seq 4 (here), 5 (OTHER's), 7 (here) */
	ck_assert_uint_eq(n, 3);
	TU_OK(store_unsent_count(f.s, OTHER, &n)); /* OTHER acknowledged nothing: all but its row */
	ck_assert_uint_eq(n, 6);
	TU_OK(store_unsent_count(f.s, 0, &n));
	ck_assert_uint_eq(n, 7);

	p.acked_seq = 7;
	TU_OK(store_peer_put(f.s, &p));
	TU_OK(store_unsent_count(f.s, PEER, &n));
	ck_assert_uint_eq(n, 0);
	p.acked_seq = 100; /* ahead of this store (it was made anew): nothing to send, not a wrap */
	TU_OK(store_peer_put(f.s, &p));
	TU_OK(store_unsent_count(f.s, PEER, &n));
	ck_assert_uint_eq(n, 0);
	fixture_free(&f);
}
END_TEST

/* A store of schema 6 (no remotes table) is brought to 7 when opened, its rows intact. */
START_TEST(test_open_migrates_schema6)
{
	struct fixture f;
	struct entry e, got;
	struct store_remote r;
	sqlite3 *db;
	sqlite3_stmt *st;

	fixture_new(&f);
	file_entry(&e, "kept.txt", 1);
	put_committed(f.s, &e);
	TU_OK(store_remote_note(f.s, "gone", "/x", 1, 1, NULL));
	store_free(f.s);
	f.s = NULL;
	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE remotes; PRAGMA user_version = 6", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	TU_OK(store_open(&f.s, f.db));
	ck_assert_int_eq(store_remote_get(f.s, "gone", &r), MM_ENOTFOUND);
	TU_OK(store_remote_note(f.s, "new", "/y", 7, 9, NULL));
	TU_OK(store_remote_get(f.s, "new", &r));
	ck_assert_uint_eq(r.replica_id, 7);
	entry_init(&got);
	TU_OK(store_get(f.s, "kept.txt", &got));
	tu_assert_entry_eq(&got, &e);
	entry_dispose(&got);
	ck_assert_uint_eq(store_replica_id(f.s), RID);
	store_free(f.s);
	f.s = NULL;

	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* and opened again as a store of 7 */
	TU_OK(store_open(&f.s, f.db));
	TU_OK(store_remote_get(f.s, "new", &r));
	ck_assert_str_eq(r.url, "/y");
	entry_dispose(&e);
	fixture_free(&f);
}
END_TEST

/* Schema 5 is not migrated: refused with its version. */
START_TEST(test_open_schema5_refused)
{
	struct fixture f;
	sqlite3 *db;

	fixture_new(&f);
	store_free(f.s);
	f.s = NULL;
	ck_assert_int_eq(sqlite3_open(f.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE remotes; PRAGMA user_version = 5", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(&f.s, f.db), MM_ECORRUPT);
	ck_assert_ptr_null(f.s);
	ck_assert_msg(tu_contains(mm_error_msg(), "5"), "message: %s", mm_error_msg());
	fixture_free(&f);
}
END_TEST

struct problems {
	char text[2048];
	int n;
};

static int note_problem(void *arg, const char *path, const char *problem)
{
	struct problems *p = arg;
	size_t len = strlen(p->text);

	snprintf(p->text + len, sizeof(p->text) - len, "%s: %s\n", path, problem);
	p->n++;
	return 0;
}

START_TEST(test_verify_rows)
{
	struct fixture f;
	struct problems p = {"", 0};
	struct entry e;
	uint64_t rows;

	fixture_new(&f);
	TU_OK(store_begin(f.s));
	file_entry(&e, "good", 1);
	TU_OK(store_put_next_seq(f.s, &e));
	entry_dispose(&e);
	TU_OK(store_commit(f.s));
	ck_assert_int_eq(store_verify(f.s, note_problem, &p, &rows), 0);
	ck_assert_msg(p.n == 0, "a clean store: %s", p.text);
	ck_assert_uint_eq(rows, 1);

	TU_OK(store_begin(f.s));
	file_entry(&e, "nohash", 1);
	e.has_hash = 0;
	TU_OK(store_put_next_seq(f.s, &e));
	entry_dispose(&e);
	file_entry(&e, "future", 1);
	TU_OK(store_put_next_seq(f.s, &e));
	e.seq = 999; /* past the store's last sequence number */
	TU_OK(store_put(f.s, &e));
	entry_dispose(&e);
	file_entry(&e, "writer", 1);
	e.writer = 77; /* not in its vector */
	TU_OK(store_put_next_seq(f.s, &e));
	entry_dispose(&e);
	file_entry(&e, "target", 1);
	TU_OK(entry_set_target(&e, "x", 1));
	TU_OK(store_put_next_seq(f.s, &e));
	entry_dispose(&e);
	TU_OK(store_commit(f.s));
	ck_assert_int_eq(store_verify(f.s, note_problem, &p, &rows), 0);
	ck_assert_uint_eq(rows, 5);
	ck_assert_msg(p.n == 4 && tu_contains(p.text, "nohash: a file with no content hash") &&
	                      tu_contains(p.text, "future: a sequence number past") &&
	                      tu_contains(p.text, "writer: its writer is not in its version vector") &&
	                      tu_contains(p.text, "target: a link target on something that is not a link"),
	              "problems: %s", p.text);
	fixture_free(&f);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_create_open);
	tcase_add_test(tc, test_create_large_id);
	tcase_add_test(tc, test_create_refuses_existing_file);
	tcase_add_test(tc, test_create_refuses_existing_store);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_open_not_sqlite);
	tcase_add_test(tc, test_open_schema_mismatch);
	tcase_add_test(tc, test_open_migrates_schema6);
	tcase_add_test(tc, test_open_schema5_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("remotes");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_remote_note);
	tcase_add_test(tc, test_unsent_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("rows");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_put_get_every_field);
	tcase_add_test(tc, test_put_replaces_row);
	tcase_add_test(tc, test_put_same_seq_keeps_other_row);
	tcase_add_test(tc, test_odd_paths_round_trip);
	tcase_add_test(tc, test_longest_path);
	tcase_add_test(tc, test_put_empty_path);
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_verify_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("batch");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_put_outside_batch);
	tcase_add_test(tc, test_local_change_outside_batch);
	tcase_add_test(tc, test_begin_twice);
	tcase_add_test(tc, test_rollback_undoes_rows_and_counters);
	tcase_add_test(tc, test_failed_commit_rolls_back);
	tcase_add_test(tc, test_local_change_counter);
	tcase_add_test(tc, test_local_change_exhausted);
	tcase_add_test(tc, test_counters_exhausted);
	tcase_add_test(tc, test_seq_strictly_increasing);
	suite_add_tcase(s, tc);

	tc = tcase_create("iter");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_iter_tree_order);
	tcase_add_test(tc, test_iter_prefix);
	tcase_add_test(tc, test_iter_snapshot_after_first_row);
	tcase_add_test(tc, test_iter_snapshot_at_open);
	tcase_add_test(tc, test_iter_chunks_with_writes);
	tcase_add_test(tc, test_large_batch_streams_in_order);
	suite_add_tcase(s, tc);
	return s;
}
