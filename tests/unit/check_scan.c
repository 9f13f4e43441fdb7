/*
 * Unit tests for sync/scan: a replica made on a scratch directory, files
 * changed on disk between scans, and what each scan reports and records:
 * which changes, in which order, with which version vectors and sequence
 * numbers, what is hashed, and what is never looked at (state directories,
 * ignored paths, the far side of symbolic links).
 *
 * Trees are aged (mtimes set far into the past) before a scan whenever a
 * test needs files that are not racily clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "sync/config.h"
#include "sync/error.h"
#include "sync/path.h"
#include "sync/replica.h"
#include "sync/store.h"
#include "testutil.h"

#define SEC     1000000000LL
#define HOUR    (3600 * SEC)
#define OLD_SEC 1000000000 /* what tu_age_tree() sets */

struct want {
	enum scan_change what;
	const char *path;
};

static const char *change_name(enum scan_change what)
{
	return what == SCAN_ADDED ? "added" : what == SCAN_MODIFIED ? "modified" : "deleted";
}

/* Asserts that `sc` reported exactly `want`, in that order. */
static void assert_changes(const struct tu_scan *sc, const struct want *want, size_t n)
{
	for (size_t i = 0; i < sc->n && i < n; i++) {
		const struct tu_change *c = &sc->changes[i];
		ck_assert_msg(!strcmp(c->now.path, want[i].path) && c->what == want[i].what,
		              "change %zu is %s '%s', expected %s '%s'", i, change_name(c->what), c->now.path,
		              change_name(want[i].what), want[i].path);
	}
	if (sc->n != n)
		ck_abort_msg("%zu changes reported, expected %zu (first extra: '%s')", sc->n, n,
		             sc->n > n ? sc->changes[n].now.path : want[sc->n].path);
}

static void assert_rows(const struct tu_rows *rows, const char *const *want, size_t n)
{
	for (size_t i = 0; i < rows->n && i < n; i++)
		ck_assert_msg(!strcmp(rows->v[i].path, want[i]), "row %zu is '%s', expected '%s'", i, rows->v[i].path,
		              want[i]);
	ck_assert_msg(rows->n == n, "%zu rows, expected %zu", rows->n, n);
}

static void scan_ok(struct tu_scan *sc, struct replica *r, unsigned flags, size_t batch, int64_t racy_ns)
{
	int rc = tu_scan_run(sc, r, flags, batch, racy_ns);

	ck_assert_msg(rc == 0, "scan_run returned %d: %s", rc, mm_error_msg());
}

/* The stored row for `path` into `e` (initialised here). */
static void get_row(struct tu_replica *t, const char *path, struct entry *e)
{
	int rc;

	entry_init(e);
	rc = store_get(t->r->store, path, e);
	ck_assert_msg(rc == 0, "no row for '%s' (%d)", path, rc);
}

static void assert_no_row(struct tu_replica *t, const char *path)
{
	struct entry e;
	int rc;

	entry_init(&e);
	rc = store_get(t->r->store, path, &e);
	entry_dispose(&e);
	ck_assert_msg(rc == MM_ENOTFOUND, "'%s' has a row (%d)", path, rc);
}

static void assert_hash_of(const struct entry *e, const char *content)
{
	uint8_t h[MM_HASH_LEN];

	tu_sha256(h, content, strlen(content));
	ck_assert_msg(e->has_hash, "'%s' has no hash", e->path);
	ck_assert_msg(!memcmp(e->hash, h, MM_HASH_LEN), "'%s': hash is not the one of \"%s\"", e->path, content);
}

/* The change's new version descends from the stored one, with this replica's counter moved. */
static void assert_new_version(const struct tu_change *c, uint64_t rid)
{
	ck_assert_msg(c->has_before, "'%s': no previous state", c->now.path);
	ck_assert_msg(vv_compare(&c->now.vv, &c->before.vv) == VV_DOMINATES, "'%s': version does not dominate",
	              c->now.path);
	ck_assert_uint_gt(vv_get(&c->now.vv, rid), vv_get(&c->before.vv, rid));
	ck_assert_uint_gt(c->now.seq, c->before.seq);
}

static void rm_tree(const char *root, const char *rel)
{
	char *p = tu_path(root, rel);

	tu_rmrf(p);
	free(p);
}

/* --- first scan and rescans --- */

START_TEST(test_first_scan_adds_everything)
{
	static const struct want want[] = {
	        {SCAN_ADDED, "a.txt"},   {SCAN_ADDED, "dir"},       {SCAN_ADDED, "dir/b"},
	        {SCAN_ADDED, "dir/sub"}, {SCAN_ADDED, "dir/sub/c"}, {SCAN_ADDED, "link"},
	};
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;
	const struct entry *e;
	uint64_t rid;

	tu_replica_new(&t);
	rid = tu_replica_id(&t);
	tu_write_str(t.root, "a.txt", "hello");
	tu_chmod(t.root, "a.txt", 0640);
	tu_mkdir(t.root, "dir", 0750);
	tu_write_str(t.root, "dir/b", "bb");
	tu_mkdir(t.root, "dir/sub", 0700);
	tu_write_str(t.root, "dir/sub/c", "");
	tu_symlink("a.txt", t.root, "link");
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, HOUR); /* a one-hour window: every file counts as racily clean */
	assert_changes(&sc, want, 6);
	ck_assert_uint_eq(sc.stats.files, 3);
	ck_assert_uint_eq(sc.stats.dirs, 2);
	ck_assert_uint_eq(sc.stats.links, 1);
	ck_assert_uint_eq(sc.stats.added, 6);
	ck_assert_uint_eq(sc.stats.modified, 0);
	ck_assert_uint_eq(sc.stats.deleted, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 3);
	ck_assert_uint_eq(sc.stats.hashed_bytes, 7);
	ck_assert_uint_eq(sc.stats.skipped, 0);
	ck_assert_uint_eq(sc.stats.special, 0);
	ck_assert_uint_eq(sc.nwarn, 0);
	for (size_t i = 0; i < sc.n; i++)
		ck_assert_msg(!sc.changes[i].has_before, "'%s' reported with a previous state", want[i].path);
	ck_assert_uint_eq(store_last_seq(t.r->store), 6);

	tu_rows_load(&rows, t.r->store, NULL);
	ck_assert_uint_eq(rows.n, 6);
	for (size_t i = 0; i < rows.n; i++) {
		e = &rows.v[i];
		ck_assert_str_eq(e->path, want[i].path);
		/* Changes numbered in tree order, one counter value each. */
		ck_assert_uint_eq(e->seq, i + 1);
		ck_assert_uint_eq(e->vv.n, 1);
		ck_assert_uint_eq(vv_get(&e->vv, rid), i + 1);
		ck_assert_uint_eq(e->writer, rid);
		ck_assert_uint_eq(e->origin, 0);
		/* What the callback saw is what was stored. */
		tu_assert_entry_eq(&sc.changes[i].now, e);
	}
	e = tu_rows_find(&rows, "a.txt");
	ck_assert_int_eq(e->kind, ENTRY_FILE);
	ck_assert_uint_eq(e->mode, 0640);
	ck_assert_uint_eq(e->size, 5);
	ck_assert_int_eq(e->mtime_ns, tu_mtime_ns(t.root, "a.txt"));
	ck_assert_ptr_null(e->target);
	ck_assert_uint_eq(e->flags, ENTRY_RACY);
	assert_hash_of(e, "hello");
	e = tu_rows_find(&rows, "dir/sub/c");
	ck_assert_uint_eq(e->size, 0);
	assert_hash_of(e, "");
	e = tu_rows_find(&rows, "dir");
	ck_assert_int_eq(e->kind, ENTRY_DIR);
	ck_assert_uint_eq(e->mode, 0750);
	ck_assert_int_eq(e->has_hash, 0);
	e = tu_rows_find(&rows, "dir/sub");
	ck_assert_int_eq(e->kind, ENTRY_DIR);
	ck_assert_uint_eq(e->mode, 0700);
	e = tu_rows_find(&rows, "link");
	ck_assert_int_eq(e->kind, ENTRY_LINK);
	ck_assert_str_eq(e->target, "a.txt");
	ck_assert_uint_eq(e->size, 5);
	ck_assert_uint_eq(e->mode, 0777);
	ck_assert_int_eq(e->has_hash, 0);
	tu_rows_dispose(&rows);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

/* A small tree of every kind. */
static void make_tree(const char *root)
{
	tu_write_str(root, "a", "alpha");
	tu_mkdir(root, "d", 0755);
	tu_write_str(root, "d/b", "beta");
	tu_mkdir(root, "d/e", 0755);
	tu_write_str(root, "d/e/c", "gamma");
	tu_symlink("d/b", root, "l");
}

START_TEST(test_empty_dirs)
{
	static const struct want want[] = {{SCAN_ADDED, "e"}, {SCAN_ADDED, "e/f"}};
	struct tu_replica t;
	struct tu_scan sc;

	/* The root holds only .mmsync, then only empty directories. */
	tu_replica_new(&t);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	tu_mkdir(t.root, "e", 0755);
	tu_mkdir(t.root, "e/f", 0755);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 2);
	ck_assert_uint_eq(sc.stats.dirs, 2);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_rescan_unchanged)
{
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows before, after;

	tu_replica_new(&t);
	make_tree(t.root);
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 6);
	ck_assert_uint_eq(sc.stats.hashed_files, 3);
	tu_rows_load(&before, t.r->store, NULL);
	for (size_t i = 0; i < before.n; i++)
		ck_assert_msg(before.v[i].flags == 0, "'%s' is marked racy", before.v[i].path);

	tu_replica_reopen(&t);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 0);
	ck_assert_uint_eq(sc.stats.hashed_bytes, 0);
	ck_assert_uint_eq(sc.stats.files, 3);
	ck_assert_uint_eq(sc.stats.dirs, 2);
	ck_assert_uint_eq(sc.stats.links, 1);
	ck_assert_uint_eq(sc.stats.added + sc.stats.modified + sc.stats.deleted, 0);
	ck_assert_uint_eq(store_last_seq(t.r->store), 6);
	tu_rows_load(&after, t.r->store, NULL);
	ck_assert_uint_eq(after.n, before.n);
	for (size_t i = 0; i < after.n; i++)
		tu_assert_entry_eq(&after.v[i], &before.v[i]);
	tu_rows_dispose(&before);
	tu_rows_dispose(&after);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

/* --- racily clean files --- */

START_TEST(test_racy_file_rehashed)
{
	struct tu_replica t;
	struct tu_scan sc;
	struct entry e;

	tu_replica_new(&t);
	tu_write_str(t.root, "f", "data");
	tu_scan_init(&sc);
	/* Written within the window: the stat data cannot be trusted next time. */
	scan_ok(&sc, t.r, 0, 0, HOUR);
	ck_assert_uint_eq(sc.stats.hashed_files, 1);
	get_row(&t, "f", &e);
	ck_assert_uint_eq(e.flags, ENTRY_RACY);
	ck_assert_uint_eq(e.seq, 1);
	entry_dispose(&e);

	/* Unchanged, but hashed again; still inside the window, still racy. */
	scan_ok(&sc, t.r, 0, 0, HOUR);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 1);
	get_row(&t, "f", &e);
	ck_assert_uint_eq(e.flags, ENTRY_RACY);
	entry_dispose(&e);

	/* A window of 1 ns: the file is old enough now; hashed once more, then trusted. */
	scan_ok(&sc, t.r, 0, 0, 1);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 1);
	get_row(&t, "f", &e);
	ck_assert_uint_eq(e.flags, 0);
	ck_assert_uint_eq(e.seq, 1);
	ck_assert_uint_eq(vv_get(&e.vv, tu_replica_id(&t)), 1);
	entry_dispose(&e);
	scan_ok(&sc, t.r, 0, 0, 1);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 0);
	ck_assert_uint_eq(store_last_seq(t.r->store), 1);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_same_size_change_mtime_restored)
{
	static const struct want want[] = {{SCAN_MODIFIED, "new"}, {SCAN_MODIFIED, "old"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct entry e;
	int64_t m;

	tu_replica_new(&t);
	tu_write_str(t.root, "old", "aaaa");
	tu_set_mtime(t.root, "old", OLD_SEC, 0);
	tu_write_str(t.root, "new", "1111");
	tu_set_mtime(t.root, "new", time(NULL), 123456789);
	m = tu_mtime_ns(t.root, "new");
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 2);
	get_row(&t, "new", &e);
	ck_assert_uint_eq(e.flags, ENTRY_RACY);
	entry_dispose(&e);
	get_row(&t, "old", &e);
	ck_assert_uint_eq(e.flags, 0);
	entry_dispose(&e);

	/* Same size, mtime put back: only the content tells. */
	tu_write_str(t.root, "old", "bbbb");
	tu_set_mtime(t.root, "old", OLD_SEC, 0);
	tu_write_str(t.root, "new", "2222");
	tu_set_mtime(t.root, "new", m / SEC, m % SEC);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 2);
	assert_hash_of(&sc.changes[0].now, "2222");
	assert_hash_of(&sc.changes[1].now, "bbbb");
	ck_assert_int_eq(sc.changes[0].now.mtime_ns, m);
	ck_assert_int_eq(sc.changes[1].now.mtime_ns, OLD_SEC * SEC);
	ck_assert_uint_eq(sc.changes[1].now.size, 4);
	get_row(&t, "old", &e);
	assert_hash_of(&e, "bbbb");
	entry_dispose(&e);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

/* --- changes --- */

START_TEST(test_content_change)
{
	static const struct want want[] = {{SCAN_MODIFIED, "f"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct entry e;
	const struct tu_change *c;

	tu_replica_new(&t);
	tu_write_str(t.root, "f", "one");
	tu_write_str(t.root, "g", "other");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_write_str(t.root, "f", "three!");
	tu_set_mtime(t.root, "f", OLD_SEC, 0);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 1);
	c = &sc.changes[0];
	ck_assert_int_eq(c->now.kind, ENTRY_FILE);
	ck_assert_uint_eq(c->now.size, 6);
	assert_hash_of(&c->now, "three!");
	ck_assert_uint_eq(c->before.size, 3);
	assert_hash_of(&c->before, "one");
	assert_new_version(c, tu_replica_id(&t));
	ck_assert_uint_eq(c->now.seq, 3);
	ck_assert_uint_eq(vv_get(&c->now.vv, tu_replica_id(&t)), 3);
	ck_assert_uint_eq(sc.stats.modified, 1);
	ck_assert_uint_eq(sc.stats.hashed_files, 1);
	ck_assert_uint_eq(sc.stats.hashed_bytes, 6);
	get_row(&t, "f", &e);
	tu_assert_entry_eq(&e, &c->now);
	entry_dispose(&e);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_mode_change)
{
	static const struct want want[] = {{SCAN_MODIFIED, "d"}, {SCAN_MODIFIED, "f"}};
	struct tu_replica t;
	struct tu_scan sc;

	tu_replica_new(&t);
	tu_mkdir(t.root, "d", 0755);
	tu_write_str(t.root, "f", "same");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_chmod(t.root, "d", 0700);
	tu_chmod(t.root, "f", 0755);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 2);
	ck_assert_uint_eq(sc.changes[0].before.mode, 0755);
	ck_assert_uint_eq(sc.changes[0].now.mode, 0700);
	ck_assert_uint_eq(sc.changes[1].before.mode, 0644);
	ck_assert_uint_eq(sc.changes[1].now.mode, 0755);
	assert_hash_of(&sc.changes[1].now, "same");
	assert_new_version(&sc.changes[0], tu_replica_id(&t));
	assert_new_version(&sc.changes[1], tu_replica_id(&t));
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_link_target_change)
{
	static const struct want want[] = {{SCAN_MODIFIED, "l"}};
	struct tu_replica t;
	struct tu_scan sc;

	tu_replica_new(&t);
	tu_symlink("one", t.root, "l");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_unlink(t.root, "l");
	tu_symlink("two/three", t.root, "l");
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 1);
	ck_assert_str_eq(sc.changes[0].now.target, "two/three");
	ck_assert_uint_eq(sc.changes[0].now.size, 9);
	ck_assert_str_eq(sc.changes[0].before.target, "one");
	assert_new_version(&sc.changes[0], tu_replica_id(&t));
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_delete)
{
	static const struct want want[] = {{SCAN_DELETED, "a"}, {SCAN_DELETED, "l"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct store_counts cnt;
	struct entry e;
	const struct tu_change *c;

	tu_replica_new(&t);
	tu_write_str(t.root, "a", "x");
	tu_write_str(t.root, "b", "y");
	tu_symlink("b", t.root, "l");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_unlink(t.root, "a");
	tu_unlink(t.root, "l");
	scan_ok(&sc, t.r, SCAN_FORCE, 0, 0); /* most of the tree: past the guard */
	assert_changes(&sc, want, 2);
	c = &sc.changes[0];
	ck_assert_int_eq(c->now.kind, ENTRY_DELETED);
	ck_assert_int_eq(c->now.has_hash, 0);
	ck_assert_uint_eq(c->now.size, 0);
	ck_assert_uint_eq(c->now.mode, 0);
	ck_assert_int_eq(c->before.kind, ENTRY_FILE);
	assert_new_version(c, tu_replica_id(&t));
	ck_assert_uint_eq(c->now.seq, 4);
	ck_assert_int_eq(sc.changes[1].now.kind, ENTRY_DELETED);
	ck_assert_ptr_null(sc.changes[1].now.target);
	ck_assert_uint_eq(sc.changes[1].now.seq, 5);
	ck_assert_uint_eq(sc.stats.deleted, 2);
	ck_assert_uint_eq(sc.stats.files, 1);
	get_row(&t, "a", &e);
	tu_assert_entry_eq(&e, &c->now);
	entry_dispose(&e);
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files, 1);
	ck_assert_uint_eq(cnt.links, 0);
	ck_assert_uint_eq(cnt.tombstones, 2);
	/* A tombstone is reported once. */
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(store_last_seq(t.r->store), 5);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_recreate_after_delete)
{
	static const struct want want[] = {{SCAN_ADDED, "a"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct entry tomb;
	const struct tu_change *c;

	tu_replica_new(&t);
	tu_write_str(t.root, "a", "old");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_unlink(t.root, "a");
	scan_ok(&sc, t.r, SCAN_FORCE, 0, 0); /* most of the tree: past the guard */
	get_row(&t, "a", &tomb);
	ck_assert_int_eq(tomb.kind, ENTRY_DELETED);
	tu_write_str(t.root, "a", "new");
	tu_age_tree(t.root);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 1);
	c = &sc.changes[0];
	ck_assert_int_eq(c->now.kind, ENTRY_FILE);
	assert_hash_of(&c->now, "new");
	ck_assert_int_eq(c->before.kind, ENTRY_DELETED);
	ck_assert(vv_compare(&c->now.vv, &tomb.vv) == VV_DOMINATES);
	assert_new_version(c, tu_replica_id(&t));
	ck_assert_uint_eq(c->now.seq, 3);
	ck_assert_uint_eq(sc.stats.added, 1);
	entry_dispose(&tomb);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_file_becomes_dir)
{
	static const struct want want[] = {{SCAN_MODIFIED, "x"}, {SCAN_ADDED, "x/inner"}};
	struct tu_replica t;
	struct tu_scan sc;

	tu_replica_new(&t);
	tu_write_str(t.root, "x", "file");
	tu_write_str(t.root, "x-y", "sibling");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_unlink(t.root, "x");
	tu_mkdir(t.root, "x", 0755);
	tu_write_str(t.root, "x/inner", "in");
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 2);
	ck_assert_int_eq(sc.changes[0].now.kind, ENTRY_DIR);
	ck_assert_int_eq(sc.changes[0].now.has_hash, 0);
	ck_assert_int_eq(sc.changes[0].before.kind, ENTRY_FILE);
	assert_new_version(&sc.changes[0], tu_replica_id(&t));
	ck_assert_uint_eq(sc.stats.dirs, 1);
	ck_assert_uint_eq(sc.stats.files, 2);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_dir_becomes_file)
{
	static const struct want want[] = {
	        {SCAN_MODIFIED, "d"},
	        {SCAN_DELETED, "d/a"},
	        {SCAN_DELETED, "d/b"},
	        {SCAN_DELETED, "d/b/c"},
	};
	struct tu_replica t;
	struct tu_scan sc;
	struct store_counts cnt;

	tu_replica_new(&t);
	tu_mkdir(t.root, "d", 0755);
	tu_write_str(t.root, "d/a", "a");
	tu_mkdir(t.root, "d/b", 0755);
	tu_write_str(t.root, "d/b/c", "c");
	tu_write_str(t.root, "d-b", "sibling");
	tu_write_str(t.root, "e", "e");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	rm_tree(t.root, "d");
	tu_write_str(t.root, "d", "now a file");
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 4);
	ck_assert_int_eq(sc.changes[0].now.kind, ENTRY_FILE);
	ck_assert_int_eq(sc.changes[0].before.kind, ENTRY_DIR);
	assert_hash_of(&sc.changes[0].now, "now a file");
	for (size_t i = 0; i < 4; i++)
		assert_new_version(&sc.changes[i], tu_replica_id(&t));
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files, 3);
	ck_assert_uint_eq(cnt.dirs, 0);
	ck_assert_uint_eq(cnt.tombstones, 3);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_dir_becomes_link)
{
	static const struct want want[] = {{SCAN_MODIFIED, "d"}, {SCAN_DELETED, "d/x"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;
	char *outside;

	tu_replica_new(&t);
	outside = tu_mkdtemp();
	tu_write_str(outside, "x", "outside");
	tu_write_str(outside, "y", "outside");
	tu_mkdir(t.root, "d", 0755);
	tu_write_str(t.root, "d/x", "inside");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	rm_tree(t.root, "d");
	tu_symlink(outside, t.root, "d");
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 2);
	ck_assert_int_eq(sc.changes[0].now.kind, ENTRY_LINK);
	ck_assert_str_eq(sc.changes[0].now.target, outside);
	ck_assert_int_eq(sc.changes[1].now.kind, ENTRY_DELETED);
	ck_assert_uint_eq(sc.stats.hashed_files, 0);
	tu_rows_load(&rows, t.r->store, NULL);
	ck_assert_uint_eq(rows.n, 2);
	tu_rows_dispose(&rows);
	tu_rmrf(outside);
	free(outside);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_dir_deleted_with_subtree)
{
	static const struct want want[] = {
	        {SCAN_DELETED, "t"},     {SCAN_DELETED, "t/a"},   {SCAN_DELETED, "t/b"},
	        {SCAN_DELETED, "t/b/c"}, {SCAN_DELETED, "t/b/d"},
	};
	struct tu_replica t;
	struct tu_scan sc;
	struct store_counts cnt;

	tu_replica_new(&t);
	tu_mkdir(t.root, "t", 0755);
	tu_write_str(t.root, "t/a", "a");
	tu_mkdir(t.root, "t/b", 0755);
	tu_write_str(t.root, "t/b/c", "c");
	tu_write_str(t.root, "t/b/d", "d");
	tu_write_str(t.root, "u", "u");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(store_last_seq(t.r->store), 6);
	rm_tree(t.root, "t");
	scan_ok(&sc, t.r, SCAN_FORCE, 0, 0); /* most of the tree: past the guard */
	assert_changes(&sc, want, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_int_eq(sc.changes[i].now.kind, ENTRY_DELETED);
		assert_new_version(&sc.changes[i], tu_replica_id(&t));
		ck_assert_uint_eq(sc.changes[i].now.seq, 7 + i);
		ck_assert_uint_eq(vv_get(&sc.changes[i].now.vv, tu_replica_id(&t)), 7 + i);
	}
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files, 1);
	ck_assert_uint_eq(cnt.dirs, 0);
	ck_assert_uint_eq(cnt.tombstones, 5);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_seq_and_versions)
{
	static const struct want want[] = {{SCAN_MODIFIED, "b"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct entry a, b, c;
	uint64_t rid;

	tu_replica_new(&t);
	rid = tu_replica_id(&t);
	tu_write_str(t.root, "a", "a");
	tu_write_str(t.root, "b", "b");
	tu_write_str(t.root, "c", "c");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	tu_write_str(t.root, "b", "b2");
	tu_set_mtime(t.root, "b", OLD_SEC, 0);
	/* c: a new mtime, same content: not a new version, but metadata that travels (a new seq). */
	tu_set_mtime(t.root, "c", OLD_SEC + 60, 0);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 1);
	ck_assert_uint_eq(sc.stats.hashed_files, 2);
	get_row(&t, "a", &a);
	get_row(&t, "b", &b);
	get_row(&t, "c", &c);
	ck_assert_uint_eq(a.seq, 1);
	ck_assert_uint_eq(vv_get(&a.vv, rid), 1);
	ck_assert_uint_eq(b.seq, 4);
	ck_assert_uint_eq(vv_get(&b.vv, rid), 4);
	ck_assert_uint_eq(c.seq, 5);
	ck_assert_uint_eq(vv_get(&c.vv, rid), 3);
	ck_assert_int_eq(c.mtime_ns, (OLD_SEC + 60) * SEC); /* the stat cache follows */
	ck_assert_uint_eq(store_last_seq(t.r->store), 5);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 0);
	entry_dispose(&a);
	entry_dispose(&b);
	entry_dispose(&c);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

/* --- what is never recorded --- */

START_TEST(test_symlinks_not_followed)
{
	static const struct want want[] = {
	        {SCAN_ADDED, "dangling"}, {SCAN_ADDED, "file-link"}, {SCAN_ADDED, "out"}, {SCAN_ADDED, "self"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;
	char *outside, *secret;

	tu_replica_new(&t);
	outside = tu_mkdtemp();
	tu_write_str(outside, "secret", "s");
	tu_mkdir(outside, "sub", 0755);
	tu_write_str(outside, "sub/deep", "d");
	secret = tu_path(outside, "secret");
	tu_symlink(outside, t.root, "out");
	tu_symlink(secret, t.root, "file-link");
	tu_symlink("nowhere", t.root, "dangling");
	tu_symlink(".", t.root, "self");
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 4);
	ck_assert_uint_eq(sc.stats.links, 4);
	ck_assert_uint_eq(sc.stats.files, 0);
	ck_assert_uint_eq(sc.stats.dirs, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 0);
	tu_rows_load(&rows, t.r->store, NULL);
	ck_assert_uint_eq(rows.n, 4);
	for (size_t i = 0; i < rows.n; i++)
		ck_assert_int_eq(rows.v[i].kind, ENTRY_LINK);
	ck_assert_str_eq(tu_rows_find(&rows, "out")->target, outside);
	ck_assert_str_eq(tu_rows_find(&rows, "file-link")->target, secret);
	ck_assert_str_eq(tu_rows_find(&rows, "dangling")->target, "nowhere");
	ck_assert_str_eq(tu_rows_find(&rows, "self")->target, ".");
	tu_rows_dispose(&rows);
	tu_scan_dispose(&sc);
	tu_rmrf(outside);
	free(outside);
	free(secret);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_state_dirs_skipped)
{
	static const char *const want[] = {"a", "b", "c", "keep"};
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;

	tu_replica_new(&t);
	tu_mkdir(t.root, "a", 0755);
	tu_mkdir(t.root, "a/.mmsync", 0755);
	tu_write_str(t.root, "a/.mmsync/x", "x");
	tu_mkdir(t.root, "b", 0755);
	tu_write_str(t.root, "b/.mmsync", "a file");
	tu_mkdir(t.root, "c", 0755);
	tu_write_str(t.root, "c/" MM_TMP_PREFIX "x", "temp");
	tu_write_str(t.root, MM_TMP_PREFIX "123", "temp");
	tu_write_str(t.root, "keep", "k");
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 4);
	ck_assert_uint_eq(sc.stats.hashed_files, 1);
	ck_assert_uint_eq(sc.stats.files, 1);
	tu_rows_load(&rows, t.r->store, NULL);
	assert_rows(&rows, want, 4);
	tu_rows_dispose(&rows);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_odd_names)
{
	char longname[MM_NAME_MAX + 1];
	const char *const names[] = {
	        "a",
	        "a/x",
	        "a/x y",
	        "a/\xff",
	        "a b",
	        "a-b",
	        "a.b",
	        "a\x01",
	        "a\xff",
	        "new\nline",
	        "bad\xff\xfe"
	        "utf8",
	        "\x01",
	        "tab\tname",
	        longname,
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;

	memset(longname, 'n', MM_NAME_MAX);
	longname[MM_NAME_MAX] = '\0';
	tu_replica_new(&t);
	tu_mkdir(t.root, "a", 0755);
	for (size_t i = 1; i < n; i++)
		tu_write_str(t.root, names[i], names[i]);
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, n);
	ck_assert_uint_eq(sc.stats.skipped, 0);
	tu_rows_load(&rows, t.r->store, NULL);
	ck_assert_uint_eq(rows.n, n);
	/* Reported in the store's order, each recorded under its exact name. */
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(!strcmp(sc.changes[i].now.path, rows.v[i].path), "change %zu out of tree order", i);
	for (size_t i = 1; i < n; i++) {
		const struct entry *e = tu_rows_find(&rows, names[i]);
		ck_assert_msg(e != NULL, "name %zu not recorded", i);
		assert_hash_of(e, names[i]);
	}
	/* The walk and the stored rows agree on the order: a rescan sees nothing. */
	tu_replica_reopen(&t);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.hashed_files, 0);
	ck_assert_uint_eq(sc.stats.files, n - 1);
	tu_rows_dispose(&rows);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_special_file_not_synced)
{
	static const struct want want[] = {{SCAN_ADDED, "f"}};
	struct tu_replica t;
	struct tu_scan sc;
	char *fifo;

	tu_replica_new(&t);
	fifo = tu_path(t.root, "pipe");
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	tu_write_str(t.root, "f", "f");
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 1);
	ck_assert_uint_eq(sc.stats.special, 1);
	ck_assert_uint_eq(sc.nwarn, 1);
	ck_assert_str_eq(sc.warnings[0].path, "pipe");
	assert_no_row(&t, "pipe");
	free(fifo);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_path_too_long_skipped)
{
	char name[201], fits[71], over[101];
	char *deep;
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;
	int fd, sub;

	memset(name, 'd', 200);
	name[200] = '\0';
	memset(fits, 'f', 70);
	fits[70] = '\0';
	memset(over, 'o', 100);
	over[100] = '\0';
	tu_replica_new(&t);
	/* 20 levels of 200 bytes: 4019 bytes; then 4090 bytes (kept) and 4120 (too long). */
	fd = open(t.root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(mkdirat(fd, name, 0755), 0);
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
		ck_assert_int_ge(sub, 0);
		close(fd);
		fd = sub;
	}
	ck_assert_int_ge(sub = openat(fd, fits, O_WRONLY | O_CREAT, 0644), 0);
	close(sub);
	ck_assert_int_ge(sub = openat(fd, over, O_WRONLY | O_CREAT, 0644), 0);
	close(sub);
	close(fd);
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.skipped, 1);
	ck_assert_uint_eq(sc.nwarn, 1);
	ck_assert_msg(tu_contains(sc.warnings[0].msg, "longer than"), "warning '%s'", sc.warnings[0].msg);
	ck_assert_uint_eq(sc.stats.dirs, 20);
	ck_assert_uint_eq(sc.stats.files, 1);
	ck_assert_uint_eq(sc.n, 21);
	tu_rows_load(&rows, t.r->store, NULL);
	ck_assert_uint_eq(rows.n, 21);
	deep = rows.v[20].path;
	ck_assert_uint_eq(strlen(deep), 4090);
	ck_assert_str_eq(deep + 4020, fits);
	tu_rows_dispose(&rows);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	ck_assert_uint_eq(sc.stats.skipped, 1);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_unreadable_kept)
{
	static const struct want want_dropped[] = {{SCAN_MODIFIED, "locked"}};
	static const struct want want_root[] = {{SCAN_MODIFIED, "locked"}, {SCAN_MODIFIED, "secret"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct entry secret, x, e;
	int dropped;

	tu_replica_new(&t);
	tu_mkdir(t.root, "locked", 0755);
	tu_write_str(t.root, "locked/x", "x");
	tu_write_str(t.root, "open", "o");
	tu_write_str(t.root, "secret", "v1");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 4);
	get_row(&t, "secret", &secret);
	get_row(&t, "locked/x", &x);

	tu_write_str(t.root, "secret", "v2, longer");
	tu_chmod(t.root, "secret", 0);
	tu_chmod(t.root, "locked", 0);
	replica_free(t.r);
	t.r = NULL;
	/* Tests run as root, which reads mode 000: scan as an unprivileged uid. */
	dropped = tu_drop_root(t.dir);
	if (dropped < 0) {
		fprintf(stderr, "test_unreadable_kept: an unprivileged uid cannot reach '%s'; not run\n", t.dir);
		goto done;
	}
	TU_OK(replica_open(&t.r, t.root, REPLICA_LOCK));
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.skipped, 2);
	ck_assert_uint_eq(sc.nwarn, 2);
	ck_assert_str_eq(sc.warnings[0].path, "locked");
	ck_assert_str_eq(sc.warnings[1].path, "secret");
	/* The directory's own mode did change; nothing beneath it is lost. */
	assert_changes(&sc, want_dropped, 1);
	ck_assert_uint_eq(sc.changes[0].now.mode, 0);
	get_row(&t, "secret", &e);
	tu_assert_entry_eq(&e, &secret);
	entry_dispose(&e);
	get_row(&t, "locked/x", &e);
	tu_assert_entry_eq(&e, &x);
	entry_dispose(&e);
	replica_free(t.r);
	t.r = NULL;
	if (dropped)
		tu_regain_root();

	/* Readable again: the change is found. */
	tu_chmod(t.root, "secret", 0644);
	tu_chmod(t.root, "locked", 0755);
	TU_OK(replica_open(&t.r, t.root, REPLICA_LOCK));
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.skipped, 0);
	assert_changes(&sc, want_root, 2);
	ck_assert_uint_eq(sc.changes[0].now.mode, 0755);
	assert_hash_of(&sc.changes[1].now, "v2, longer");
done:
	entry_dispose(&secret);
	entry_dispose(&x);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

/* --- dry runs and ignore rules --- */

START_TEST(test_dry_run)
{
	static const struct want want1[] = {{SCAN_ADDED, "a"}, {SCAN_ADDED, "b"}, {SCAN_ADDED, "b/c"}};
	/* deletions come last: the guard counts them before they are recorded (or reported) */
	static const struct want want2[] = {{SCAN_MODIFIED, "a"}, {SCAN_ADDED, "d"}, {SCAN_DELETED, "b/c"}};
	struct tu_replica t;
	struct replica *unlocked;
	struct tu_scan sc;
	struct tu_rows before, after;
	struct store_counts cnt;

	tu_replica_new(&t);
	tu_write_str(t.root, "a", "a");
	tu_mkdir(t.root, "b", 0755);
	tu_write_str(t.root, "b/c", "c");
	tu_age_tree(t.root);
	/* A dry run needs no lock: another handle holds it. */
	TU_OK(replica_open(&unlocked, t.root, 0));
	tu_scan_init(&sc);
	scan_ok(&sc, unlocked, SCAN_DRY_RUN, 0, 0);
	assert_changes(&sc, want1, 3);
	ck_assert_uint_eq(sc.stats.added, 3);
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files + cnt.dirs + cnt.links + cnt.tombstones, 0);
	ck_assert_uint_eq(store_last_seq(unlocked->store), 0);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want1, 3);

	tu_write_str(t.root, "a", "a2");
	tu_unlink(t.root, "b/c");
	tu_write_str(t.root, "d", "d");
	tu_age_tree(t.root);
	tu_rows_load(&before, t.r->store, NULL);
	scan_ok(&sc, unlocked, SCAN_DRY_RUN, 0, 0);
	assert_changes(&sc, want2, 3);
	ck_assert_uint_eq(sc.stats.modified, 1);
	ck_assert_uint_eq(sc.stats.deleted, 1);
	ck_assert_uint_eq(sc.stats.added, 1);
	tu_rows_load(&after, t.r->store, NULL);
	ck_assert_uint_eq(after.n, before.n);
	for (size_t i = 0; i < after.n; i++)
		tu_assert_entry_eq(&after.v[i], &before.v[i]);
	ck_assert_uint_eq(store_last_seq(t.r->store), 3);
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want2, 3);
	ck_assert_uint_eq(store_last_seq(t.r->store), 6);
	tu_rows_dispose(&before);
	tu_rows_dispose(&after);
	replica_free(unlocked);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_ignored_not_recorded)
{
	static const char *const want[] = {".mmsyncignore", "a.c", "sub", "sub/build", "sub/top"};
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows rows;

	tu_replica_new(&t);
	tu_write_str(t.root, ".mmsyncignore", "# objects\n*.o\n\nbuild/\n/top\n");
	tu_write_str(t.root, "a.o", "obj");
	tu_write_str(t.root, "a.c", "src");
	tu_mkdir(t.root, "build", 0755);
	tu_write_str(t.root, "build/x", "x");
	tu_mkdir(t.root, "sub", 0755);
	tu_write_str(t.root, "sub/build", "a file named build");
	tu_write_str(t.root, "sub/top", "not at the top");
	tu_write_str(t.root, "sub/deep.o", "obj");
	tu_write_str(t.root, "top", "top");
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 5);
	ck_assert_uint_eq(sc.stats.hashed_files, 4);
	tu_rows_load(&rows, t.r->store, NULL);
	assert_rows(&rows, want, 5);
	tu_rows_dispose(&rows);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_tracked_then_ignored_not_deleted)
{
	static const struct want want[] = {{SCAN_ADDED, ".mmsyncignore"}};
	struct tu_replica t;
	struct tu_scan sc;
	struct tu_rows before, after;

	tu_replica_new(&t);
	tu_write_str(t.root, "a.o", "obj");
	tu_mkdir(t.root, "build", 0755);
	tu_write_str(t.root, "build/x", "x");
	tu_write_str(t.root, "keep.c", "src");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 4);
	tu_rows_load(&before, t.r->store, NULL);

	tu_write_str(t.root, ".mmsyncignore", "*.o\nbuild/\n");
	tu_write_str(t.root, "a.o", "changed");
	scan_ok(&sc, t.r, 0, 0, 0);
	assert_changes(&sc, want, 1);
	/* Gone from the tree while ignored: still not deleted. */
	tu_unlink(t.root, "a.o");
	rm_tree(t.root, "build");
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	tu_rows_load(&after, t.r->store, NULL);
	ck_assert_uint_eq(after.n, 5);
	for (size_t i = 0; i < before.n; i++) {
		const struct entry *e = tu_rows_find(&after, before.v[i].path);
		ck_assert_msg(e != NULL, "'%s' lost", before.v[i].path);
		tu_assert_entry_eq(e, &before.v[i]);
	}
	tu_rows_dispose(&before);
	tu_rows_dispose(&after);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

/* --- batches --- */

static void batch_tree(const char *root)
{
	static const char *const dirs[] = {"d1", "d1/s", "d2", "d3"};
	static const char *const files[] = {"d1/a", "d1/b", "d1/s/c", "d1/s/d", "d2/e", "d3/f", "g", "h", "i"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		tu_mkdir(root, dirs[i], 0755);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		tu_write_str(root, files[i], files[i]);
	tu_symlink("g", root, "k");
	tu_age_tree(root);
}

static void batch_change(const char *root)
{
	tu_write_str(root, "d1/b", "changed");
	rm_tree(root, "d1/s");
	tu_write_str(root, "d1/s", "a file now");
	rm_tree(root, "d2");
	tu_unlink(root, "h");
	tu_write_str(root, "j", "new");
	tu_mkdir(root, "d3/n", 0755);
	tu_write_str(root, "d3/n/m", "new");
	tu_chmod(root, "g", 0600);
	tu_age_tree(root);
}

/* The two replicas reported and recorded the same, but for their ids. */
static void assert_same_scan(struct tu_replica *t1, const struct tu_scan *sc1, struct tu_replica *t2,
                             const struct tu_scan *sc2)
{
	struct tu_rows r1, r2;

	ck_assert_uint_eq(sc1->n, sc2->n);
	for (size_t i = 0; i < sc1->n; i++) {
		ck_assert_str_eq(sc1->changes[i].now.path, sc2->changes[i].now.path);
		ck_assert_int_eq(sc1->changes[i].what, sc2->changes[i].what);
	}
	ck_assert(!memcmp(&sc1->stats, &sc2->stats, sizeof(sc1->stats)));
	tu_rows_load(&r1, t1->r->store, NULL);
	tu_rows_load(&r2, t2->r->store, NULL);
	ck_assert_uint_eq(r1.n, r2.n);
	for (size_t i = 0; i < r1.n; i++) {
		const struct entry *a = &r1.v[i], *b = &r2.v[i];
		ck_assert_str_eq(a->path, b->path);
		ck_assert_int_eq(a->kind, b->kind);
		ck_assert_uint_eq(a->mode, b->mode);
		ck_assert_uint_eq(a->size, b->size);
		ck_assert_int_eq(a->has_hash, b->has_hash);
		ck_assert(!memcmp(a->hash, b->hash, MM_HASH_LEN));
		ck_assert(!a->target == !b->target && (!a->target || !strcmp(a->target, b->target)));
		ck_assert_uint_eq(a->seq, b->seq);
		ck_assert_uint_eq(a->vv.n, 1);
		ck_assert_uint_eq(b->vv.n, 1);
		ck_assert_uint_eq(vv_get(&a->vv, tu_replica_id(t1)), vv_get(&b->vv, tu_replica_id(t2)));
		ck_assert_uint_eq(a->flags, b->flags);
	}
	ck_assert_uint_eq(store_last_seq(t1->r->store), store_last_seq(t2->r->store));
	tu_rows_dispose(&r1);
	tu_rows_dispose(&r2);
}

START_TEST(test_small_batches_same_result)
{
	struct tu_replica t1, t2;
	struct tu_scan sc1, sc2;

	tu_replica_new(&t1);
	tu_replica_new(&t2);
	batch_tree(t1.root);
	batch_tree(t2.root);
	tu_scan_init(&sc1);
	tu_scan_init(&sc2);
	scan_ok(&sc1, t1.r, 0, 3, 0);
	scan_ok(&sc2, t2.r, 0, 0, 0);
	ck_assert_uint_eq(sc1.n, 14);
	assert_same_scan(&t1, &sc1, &t2, &sc2);
	batch_change(t1.root);
	batch_change(t2.root);
	scan_ok(&sc1, t1.r, 0, 3, 0);
	scan_ok(&sc2, t2.r, 0, 0, 0);
	ck_assert_uint_gt(sc1.n, 9);
	assert_same_scan(&t1, &sc1, &t2, &sc2);
	/* And the small batches were all committed: nothing left to find. */
	tu_replica_reopen(&t1);
	scan_ok(&sc1, t1.r, 0, 3, 0);
	ck_assert_uint_eq(sc1.n, 0);
	tu_scan_dispose(&sc1);
	tu_scan_dispose(&sc2);
	tu_replica_free(&t1);
	tu_replica_free(&t2);
}
END_TEST

static void restore_ids(void)
{
	/* After a failed test that dropped root (in CK_NOFORK mode only). */
	if (getuid() == 0 && geteuid() != 0)
		tu_regain_root();
}

/* ---- the deletion guard (scan.h) and SCAN_VERIFY */

/* A tree of `n` aged files f0..f(n-1), scanned once. */
static void guard_tree(struct tu_replica *t, struct tu_scan *sc, int n)
{
	char name[16];

	tu_replica_new(t);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		tu_write_str(t->root, name, name);
	}
	tu_age_tree(t->root);
	tu_scan_init(sc);
	scan_ok(sc, t->r, 0, 0, 0);
}

static void unlink_files(struct tu_replica *t, int from, int to)
{
	char name[16];

	for (int i = from; i < to; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		tu_unlink(t->root, name);
	}
}

START_TEST(test_guard_refuses_most)
{
	struct tu_replica t;
	struct tu_scan sc;
	struct store_counts cnt;
	struct entry e;
	int rc;

	guard_tree(&t, &sc, 10);
	unlink_files(&t, 0, 6); /* 6 of 10: more than 50% */
	tu_write_str(t.root, "f9", "changed");
	tu_write_str(t.root, "new", "new");
	tu_age_tree(t.root);
	/* 6 gone, 1 appeared: 5 of 10 is not more than half */
	scan_ok(&sc, t.r, SCAN_DRY_RUN, 0, 0);
	tu_unlink(t.root, "new");
	rc = tu_scan_run(&sc, t.r, 0, 0, 0);
	ck_assert_int_eq(rc, MM_EREFUSED);
	ck_assert_msg(tu_contains(mm_error_msg(), "6 of its 10 paths are gone") &&
	                      tu_contains(mm_error_msg(), "sync.maxDelete (50%)") &&
	                      tu_contains(mm_error_msg(), t.r->root),
	              "message: %s", mm_error_msg());
	/* the modification is recorded and reported, no deletion is */
	ck_assert_uint_eq(sc.stats.modified, 1);
	ck_assert_uint_eq(sc.stats.deleted, 0);
	ck_assert_uint_eq(sc.n, 1);
	get_row(&t, "f9", &e);
	assert_hash_of(&e, "changed");
	entry_dispose(&e);
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files, 10);
	ck_assert_uint_eq(cnt.tombstones, 0);
	/* again: the same refusal, nothing new */
	ck_assert_int_eq(tu_scan_run(&sc, t.r, 0, 0, 0), MM_EREFUSED);
	ck_assert_uint_eq(sc.n, 0);
	/* forced: recorded, in tree order */
	scan_ok(&sc, t.r, SCAN_FORCE, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 6);
	ck_assert_str_eq(sc.changes[0].now.path, "f0");
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files, 4);
	ck_assert_uint_eq(cnt.tombstones, 6);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_guard_half_passes)
{
	struct tu_replica t;
	struct tu_scan sc;

	guard_tree(&t, &sc, 10);
	unlink_files(&t, 0, 5); /* exactly half */
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 5);
	/* deletions come after the other changes */
	ck_assert_uint_eq(sc.n, 5);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_guard_rename_passes)
{
	struct tu_replica t;
	struct tu_scan sc;
	char *from, *to;

	tu_replica_new(&t);
	tu_mkdir(t.root, "old", 0755);
	tu_write_str(t.root, "old/a", "a");
	tu_write_str(t.root, "old/b", "b");
	tu_age_tree(t.root);
	tu_scan_init(&sc);
	scan_ok(&sc, t.r, 0, 0, 0);
	from = tu_path(t.root, "old");
	to = tu_path(t.root, "new");
	ck_assert_int_eq(rename(from, to), 0);
	/* every path is gone, as many appeared */
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 3);
	ck_assert_uint_eq(sc.stats.added, 3);
	free(from);
	free(to);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_guard_empty_root)
{
	struct tu_replica t;
	struct tu_scan sc;
	struct store_counts cnt;

	guard_tree(&t, &sc, 3);
	/* a limit that lets 3 deletions pass does not let an emptied root pass */
	TU_OK(config_set_string(t.r->config, "sync.maxDelete", "3"));
	unlink_files(&t, 0, 3);
	ck_assert_int_eq(tu_scan_run(&sc, t.r, 0, 0, 0), MM_EREFUSED);
	ck_assert_msg(tu_contains(mm_error_msg(), "is empty but 3 paths were recorded"), "message: %s", mm_error_msg());
	TU_OK(store_count(t.r->store, &cnt));
	ck_assert_uint_eq(cnt.files, 3);
	/* a dry run reports them (status), and records nothing */
	scan_ok(&sc, t.r, SCAN_DRY_RUN, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 3);
	/* "100%" turns the guard off */
	TU_OK(config_set_string(t.r->config, "sync.maxDelete", "100%"));
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 3);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_guard_config)
{
	static const char *const bad[] = {"lots", "-1", "101%", "50%%", "%", "", "5 0"};
	struct tu_replica t;
	struct tu_scan sc;

	guard_tree(&t, &sc, 10);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TU_OK(config_set_string(t.r->config, "sync.maxDelete", bad[i]));
		ck_assert_int_eq(tu_scan_run(&sc, t.r, 0, 0, 0), MM_ERROR);
		ck_assert_msg(tu_contains(mm_error_msg(), "sync.maxDelete is"), "'%s': %s", bad[i], mm_error_msg());
	}
	/* a count: 2 pass, 3 do not */
	TU_OK(config_set_string(t.r->config, "sync.maxDelete", "2"));
	unlink_files(&t, 0, 2);
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 2);
	unlink_files(&t, 2, 5);
	ck_assert_int_eq(tu_scan_run(&sc, t.r, 0, 0, 0), MM_EREFUSED);
	ck_assert_msg(tu_contains(mm_error_msg(), "(2 paths)"), "message: %s", mm_error_msg());
	/* a percentage of what is live now (8): 3 of 8 pass at 40% */
	TU_OK(config_set_string(t.r->config, "sync.maxDelete", "40%"));
	scan_ok(&sc, t.r, 0, 0, 0);
	ck_assert_uint_eq(sc.stats.deleted, 3);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_verify_damaged)
{
	struct tu_replica t;
	struct tu_scan sc;
	struct entry e;

	guard_tree(&t, &sc, 3);
	/* the store records another content for f1, with f1's stat data: what bit rot looks like */
	get_row(&t, "f1", &e);
	e.hash[0] ^= 0xff;
	TU_OK(store_begin(t.r->store));
	TU_OK(store_put(t.r->store, &e));
	TU_OK(store_commit(t.r->store));
	entry_dispose(&e);
	/* a scan trusts the stat data */
	scan_ok(&sc, t.r, SCAN_DRY_RUN, 0, 0);
	ck_assert_uint_eq(sc.n, 0);
	scan_ok(&sc, t.r, SCAN_DRY_RUN | SCAN_VERIFY, 0, 0);
	ck_assert_uint_eq(sc.n, 1);
	ck_assert_int_eq(sc.changes[0].what, SCAN_DAMAGED);
	ck_assert_str_eq(sc.changes[0].now.path, "f1");
	ck_assert_uint_eq(sc.stats.damaged, 1);
	ck_assert_uint_eq(sc.stats.hashed_files, 3);
	tu_scan_dispose(&sc);
	tu_replica_free(&t);
}
END_TEST

Suite *scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *tc;

	tc = tcase_create("scan");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_checked_fixture(tc, NULL, restore_ids);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_first_scan_adds_everything);
	tcase_add_test(tc, test_empty_dirs);
	tcase_add_test(tc, test_rescan_unchanged);
	tcase_add_test(tc, test_racy_file_rehashed);
	tcase_add_test(tc, test_same_size_change_mtime_restored);
	tcase_add_test(tc, test_content_change);
	tcase_add_test(tc, test_mode_change);
	tcase_add_test(tc, test_link_target_change);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_recreate_after_delete);
	tcase_add_test(tc, test_file_becomes_dir);
	tcase_add_test(tc, test_dir_becomes_file);
	tcase_add_test(tc, test_dir_becomes_link);
	tcase_add_test(tc, test_dir_deleted_with_subtree);
	tcase_add_test(tc, test_seq_and_versions);
	suite_add_tcase(s, tc);

	tc = tcase_create("walk");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_checked_fixture(tc, NULL, restore_ids);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_symlinks_not_followed);
	tcase_add_test(tc, test_state_dirs_skipped);
	tcase_add_test(tc, test_odd_names);
	tcase_add_test(tc, test_special_file_not_synced);
	tcase_add_test(tc, test_path_too_long_skipped);
	tcase_add_test(tc, test_unreadable_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("modes");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dry_run);
	tcase_add_test(tc, test_ignored_not_recorded);
	tcase_add_test(tc, test_tracked_then_ignored_not_deleted);
	tcase_add_test(tc, test_small_batches_same_result);
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_guard_refuses_most);
	tcase_add_test(tc, test_guard_half_passes);
	tcase_add_test(tc, test_guard_rename_passes);
	tcase_add_test(tc, test_guard_empty_root);
	tcase_add_test(tc, test_guard_config);
	tcase_add_test(tc, test_verify_damaged);
	suite_add_tcase(s, tc);
	return s;
}
