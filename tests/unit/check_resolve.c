/*
 * Unit tests for sync/resolve.c: a conflict resolved --ours, --theirs and
 * as it stands, with several copies, with a copy or the path changed since
 * the scan (refused, nothing lost), over a directory, and (with
 * -DMMSYNC_TEST) killed at each apply failpoint it meets, then recovered
 * and run again.  One test makes a real conflict by syncing two replicas
 * over a socketpair; the others record one on a scanned replica as a
 * receiver would.
 *
 * The syncs and the crashing runs happen in child processes, each with the
 * replica opened anew: the test process never passes a failpoint, so a
 * child's MMSYNC_FAILPOINT is read fresh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"
#include "sync/apply.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/replica.h"
#include "sync/resolve.h"
#include "sync/session.h"
#include "sync/store.h"
#include "testutil.h"

#define COPY1 "f.conflict-20240101-000000-B.txt"
#define COPY2 "f.conflict-20240101-000001-C.txt"

/* The whole content of dir/rel into buf (NUL-terminated); -1 when absent. */
static long slurp(const char *dir, const char *rel, char *buf, size_t size)
{
	char *p = tu_path(dir, rel);
	FILE *f = fopen(p, "rb");
	size_t n;

	free(p);
	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (long) n;
}

static void assert_content(const char *dir, const char *rel, const char *want)
{
	char buf[256];

	ck_assert_msg(slurp(dir, rel, buf, sizeof(buf)) >= 0, "%s is missing", rel);
	ck_assert_msg(!strcmp(buf, want), "%s holds '%s', not '%s'", rel, buf, want);
}

static int exists(const char *dir, const char *rel)
{
	char *p = tu_path(dir, rel);
	struct stat sb;
	int rc = lstat(p, &sb) == 0;

	free(p);
	return rc;
}

static uint64_t open_conflicts(struct replica *r)
{
	uint64_t n = 0;

	TU_OK(store_conflicts_prune(r->store));
	TU_OK(store_conflict_count(r->store, &n));
	return n;
}

/* Scans `r` and returns how many paths it found changed (added, modified, deleted). */
static uint64_t scan_changes(struct replica *r)
{
	struct tu_scan sc;
	uint64_t n;

	tu_scan_init(&sc);
	TU_OK(tu_scan_run(&sc, r, 0, 0, 0));
	n = sc.stats.added + sc.stats.modified + sc.stats.deleted;
	tu_scan_dispose(&sc);
	return n;
}

static void put_conflict(struct replica *r, const char *path, const char *copy)
{
	struct store_conflict c = {0};

	c.path = (char *) path;
	c.copy = (char *) copy;
	snprintf(c.kind, sizeof(c.kind), "content");
	c.detected_ns = 1;
	c.ours = r->id;
	c.theirs = r->id + 1;
	TU_OK(store_conflict_put(r->store, &c));
}

/*
 * f.txt holding "ours" and `ncopies` copies beside it ("theirs 1", "theirs
 * 2"), scanned, with their conflict open; other files around it, so that
 * the copies are not most of the tree (sync.maxDelete).
 */
static void make_conflict(struct tu_replica *t, int ncopies)
{
	tu_replica_new(t);
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "other%d", i);
		tu_write_str(t->root, name, name);
	}
	tu_write_str(t->root, "f.txt", "ours\n");
	tu_write_str(t->root, COPY1, "theirs 1\n");
	if (ncopies > 1)
		tu_write_str(t->root, COPY2, "theirs 2\n");
	tu_age_tree(t->root);
	ck_assert_uint_gt(scan_changes(t->r), 0);
	put_conflict(t->r, "f.txt", COPY1);
	if (ncopies > 1)
		put_conflict(t->r, "f.txt", COPY2);
	ck_assert_uint_eq(open_conflicts(t->r), 1);
}

static void resolve_ok(struct replica *r, enum resolve_side side, const char *copy)
{
	struct resolve_result res;

	TU_OK(resolve_conflict(&res, r, "f.txt", side, copy));
	ck_assert_msg(res.outcome == RESOLVE_DONE, "outcome %d (%s)", (int) res.outcome, res.where ? res.where : "");
	resolve_result_dispose(&res);
}

static void resolve_refused(struct replica *r, enum resolve_side side, const char *copy, enum resolve_outcome want,
                            const char *where)
{
	struct resolve_result res;

	TU_OK(resolve_conflict(&res, r, "f.txt", side, copy));
	ck_assert_int_eq(res.outcome, want);
	if (where)
		ck_assert_str_eq(res.where, where);
	resolve_result_dispose(&res);
}

/* The row of `path` is a new local version of this replica, and live with `content` when not NULL. */
static void assert_local_row(struct replica *r, const char *path, const char *content)
{
	struct entry e;
	uint8_t h[MM_HASH_LEN];

	entry_init(&e);
	TU_OK(store_get(r->store, path, &e));
	ck_assert_uint_eq(e.writer, r->id);
	ck_assert_uint_eq(e.origin, 0);
	if (content) {
		ck_assert_int_eq(e.kind, ENTRY_FILE);
		tu_sha256(h, content, strlen(content));
		ck_assert_msg(!memcmp(h, e.hash, MM_HASH_LEN), "%s: the row does not record '%s'", path, content);
	} else {
		ck_assert_int_eq(e.kind, ENTRY_DELETED);
	}
	entry_dispose(&e);
}

START_TEST(test_ours)
{
	struct tu_replica t;
	struct entry before, after;

	make_conflict(&t, 2);
	entry_init(&before);
	entry_init(&after);
	TU_OK(store_get(t.r->store, "f.txt", &before));
	resolve_ok(t.r, RESOLVE_OURS, NULL);
	assert_content(t.root, "f.txt", "ours\n");
	ck_assert(!exists(t.root, COPY1) && !exists(t.root, COPY2));
	assert_local_row(t.r, COPY1, NULL);
	assert_local_row(t.r, COPY2, NULL);
	/* the path keeps its version */
	TU_OK(store_get(t.r->store, "f.txt", &after));
	ck_assert_uint_eq(after.seq, before.seq);
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	ck_assert_uint_eq(scan_changes(t.r), 0);
	entry_dispose(&before);
	entry_dispose(&after);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_theirs)
{
	struct tu_replica t;
	struct entry before, after;

	make_conflict(&t, 1);
	entry_init(&before);
	entry_init(&after);
	TU_OK(store_get(t.r->store, "f.txt", &before));
	resolve_ok(t.r, RESOLVE_THEIRS, NULL);
	assert_content(t.root, "f.txt", "theirs 1\n");
	ck_assert(!exists(t.root, COPY1));
	assert_local_row(t.r, "f.txt", "theirs 1\n");
	assert_local_row(t.r, COPY1, NULL);
	/* a new version of the path's history: it wins over what peers hold */
	TU_OK(store_get(t.r->store, "f.txt", &after));
	ck_assert(vv_covers(&after.vv, &before.vv) && !vv_covers(&before.vv, &after.vv));
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	ck_assert_uint_eq(scan_changes(t.r), 0);
	entry_dispose(&before);
	entry_dispose(&after);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_as_it_stands)
{
	struct tu_replica t;

	make_conflict(&t, 1);
	/* the user merged by hand: the edit is kept, the scan after records it */
	tu_write_str(t.root, "f.txt", "ours and theirs\n");
	resolve_ok(t.r, RESOLVE_AS_IS, NULL);
	assert_content(t.root, "f.txt", "ours and theirs\n");
	ck_assert(!exists(t.root, COPY1));
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	ck_assert_uint_eq(scan_changes(t.r), 1);
	assert_local_row(t.r, "f.txt", "ours and theirs\n");
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_several_copies)
{
	struct tu_replica t;

	make_conflict(&t, 2);
	resolve_refused(t.r, RESOLVE_THEIRS, NULL, RESOLVE_NAME_COPY, COPY1);
	ck_assert(exists(t.root, COPY1) && exists(t.root, COPY2));
	resolve_ok(t.r, RESOLVE_THEIRS, COPY2);
	assert_content(t.root, "f.txt", "theirs 2\n");
	ck_assert(!exists(t.root, COPY1) && !exists(t.root, COPY2));
	assert_local_row(t.r, "f.txt", "theirs 2\n");
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	ck_assert_uint_eq(scan_changes(t.r), 0);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_changed_since_scan)
{
	struct tu_replica t;

	make_conflict(&t, 2);
	/* a copy edited since the scan is neither removed nor taken */
	tu_write_str(t.root, COPY2, "theirs 2, edited\n");
	resolve_refused(t.r, RESOLVE_OURS, NULL, RESOLVE_CHANGED, COPY2);
	resolve_refused(t.r, RESOLVE_THEIRS, COPY2, RESOLVE_CHANGED, COPY2);
	resolve_refused(t.r, RESOLVE_THEIRS, COPY1, RESOLVE_CHANGED, COPY2);
	assert_content(t.root, COPY1, "theirs 1\n");
	assert_content(t.root, COPY2, "theirs 2, edited\n");
	assert_content(t.root, "f.txt", "ours\n");
	ck_assert_uint_eq(open_conflicts(t.r), 1);
	/* the path edited since the scan is not overwritten */
	ck_assert_uint_eq(scan_changes(t.r), 1);
	tu_write_str(t.root, "f.txt", "ours, edited\n");
	resolve_refused(t.r, RESOLVE_THEIRS, COPY1, RESOLVE_CHANGED, "f.txt");
	assert_content(t.root, "f.txt", "ours, edited\n");
	ck_assert(exists(t.root, COPY1) && exists(t.root, COPY2));
	/* once scanned, the edits are the user's to resolve */
	ck_assert_uint_eq(scan_changes(t.r), 1);
	resolve_ok(t.r, RESOLVE_THEIRS, COPY2);
	assert_content(t.root, "f.txt", "theirs 2, edited\n");
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_theirs_over_directory)
{
	struct tu_replica t;

	make_conflict(&t, 1);
	tu_unlink(t.root, "f.txt");
	tu_mkdir(t.root, "f.txt", 0755);
	tu_write_str(t.root, "f.txt/in", "inside\n");
	ck_assert_uint_gt(scan_changes(t.r), 0);
	resolve_refused(t.r, RESOLVE_THEIRS, NULL, RESOLVE_IS_DIR, NULL);
	assert_content(t.root, COPY1, "theirs 1\n");
	resolve_ok(t.r, RESOLVE_OURS, NULL);
	assert_content(t.root, "f.txt/in", "inside\n");
	ck_assert(!exists(t.root, COPY1));
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_copy_gone)
{
	struct tu_replica t;
	struct resolve_result res;

	make_conflict(&t, 1);
	tu_unlink(t.root, COPY1);
	ck_assert_int_lt(resolve_conflict(&res, t.r, "f.txt", RESOLVE_THEIRS, NULL), 0);
	ck_assert(tu_contains(mm_error_msg(), "cannot move"));
	resolve_result_dispose(&res);
	assert_content(t.root, "f.txt", "ours\n");
	/* as it stands, a copy already gone counts as removed */
	resolve_ok(t.r, RESOLVE_AS_IS, NULL);
	assert_local_row(t.r, COPY1, NULL);
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	tu_replica_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- a real conflict */

/* Runs one side of a sync on the replica at `root` in this (child) process; exits 0 when it worked. */
static void sync_side(const char *root, int fd, int server)
{
	struct scan_opts so = SCAN_OPTS_INIT;
	struct session_opts o = {0};
	struct session_result res = {0};
	struct scan_stats st;
	struct replica *r;
	struct conn c;
	int err;

	if (replica_open(&r, root, REPLICA_LOCK) < 0 || session_prepare(r, &so, &st) < 0)
		_exit(2);
	conn_init(&c, fd, fd, server ? "client" : "server");
	o.op = PROTO_OP_PULL | PROTO_OP_PUSH;
	err = server ? session_server(r, &c, &o) : session_client(r, &c, &o, &res);
	conn_dispose(&c);
	replica_free(r);
	_exit(err < 0 ? 1 : 0);
}

/* Syncs a with b (both closed for it, opened again after), each side in a child. */
static void sync_pair(struct tu_replica *a, struct tu_replica *b)
{
	int sv[2], status;
	pid_t pa, pb;

	replica_free(a->r);
	replica_free(b->r);
	a->r = b->r = NULL;
	ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
	if ((pb = fork()) == 0) {
		close(sv[0]);
		sync_side(b->root, sv[1], 1);
	}
	if ((pa = fork()) == 0) {
		close(sv[1]);
		sync_side(a->root, sv[0], 0);
	}
	close(sv[0]);
	close(sv[1]);
	ck_assert(pa > 0 && pb > 0);
	ck_assert(waitpid(pa, &status, 0) == pa && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(waitpid(pb, &status, 0) == pb && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	TU_OK(replica_open(&a->r, a->root, REPLICA_LOCK));
	TU_OK(replica_open(&b->r, b->root, REPLICA_LOCK));
}

static int first_copy(void *arg, const struct store_conflict *c)
{
	char *out = arg;

	if (!out[0])
		snprintf(out, 4096, "%s", c->copy);
	return 0;
}

START_TEST(test_real_conflict_wins_everywhere)
{
	struct tu_replica a, b;
	char copy[4096] = "", buf[64];

	tu_replica_new(&a);
	tu_replica_new(&b);
	tu_write_str(a.root, "f.txt", "one\ntwo\nthree\n");
	sync_pair(&b, &a);
	/* the same line edited on both: a conflict; B's (later) version stays at the path */
	tu_write_str(a.root, "f.txt", "one\ntwo by A\nthree\n");
	tu_write_str(b.root, "f.txt", "one\ntwo by B\nthree\n");
	tu_set_mtime(a.root, "f.txt", 1700000000, 0);
	tu_set_mtime(b.root, "f.txt", 1700000100, 0);
	sync_pair(&a, &b);
	ck_assert_uint_eq(open_conflicts(a.r), 1);
	TU_OK(store_conflict_each(a.r->store, first_copy, copy));
	assert_content(a.root, "f.txt", "one\ntwo by B\nthree\n");
	assert_content(b.root, copy, "one\ntwo by A\nthree\n");
	/* A takes its own version back from the copy; B learns it at the next sync */
	resolve_ok(a.r, RESOLVE_THEIRS, NULL);
	assert_content(a.root, "f.txt", "one\ntwo by A\nthree\n");
	ck_assert_uint_eq(scan_changes(a.r), 0);
	sync_pair(&b, &a);
	assert_content(b.root, "f.txt", "one\ntwo by A\nthree\n");
	ck_assert_int_lt(slurp(b.root, copy, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(open_conflicts(a.r), 0);
	ck_assert_uint_eq(open_conflicts(b.r), 0);
	/* settled: one more sync moves nothing */
	sync_pair(&a, &b);
	assert_content(a.root, "f.txt", "one\ntwo by A\nthree\n");
	ck_assert_uint_eq(open_conflicts(a.r), 0);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

#ifdef MMSYNC_TEST
/* ---------------------------------------------------------------- crashes */

/* The failpoints resolve --theirs meets with a copy to remove, in order. */
static const char *const crash_points[] = {"apply-remove", "apply-sync-renames", "apply-before-commit", "apply-commit"};

/* Runs resolve --theirs of COPY2 in a child killed at failpoint `fp`; the replica is closed meanwhile. */
static void crash_resolve(struct tu_replica *t, const char *fp)
{
	int status;
	pid_t pid;

	replica_free(t->r);
	t->r = NULL;
	if ((pid = fork()) == 0) {
		struct resolve_result res;
		struct replica *r;
		setenv("MMSYNC_FAILPOINT", fp, 1);
		if (replica_open(&r, t->root, REPLICA_LOCK) < 0)
			_exit(2);
		resolve_conflict(&res, r, "f.txt", RESOLVE_THEIRS, COPY2);
		_exit(3);
	}
	ck_assert(pid > 0 && waitpid(pid, &status, 0) == pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 99, "%s: the child was not stopped there (status %d)",
	              fp, status);
	TU_OK(replica_open(&t->r, t->root, REPLICA_LOCK));
}

START_TEST(test_crash_then_rerun)
{
	const char *fp = crash_points[_i];
	struct tu_replica t;
	char buf[64];

	make_conflict(&t, 2);
	crash_resolve(&t, fp);
	/* nothing lost: the version taken is at the path or still in its copy */
	ck_assert_msg(slurp(t.root, COPY2, buf, sizeof(buf)) >= 0 ||
	                      (slurp(t.root, "f.txt", buf, sizeof(buf)) >= 0 && !strcmp(buf, "theirs 2\n")),
	              "%s: theirs 2 is lost", fp);
	TU_OK(apply_recover(t.r));
	/* the same command again finishes it, unless the commit was made */
	if (open_conflicts(t.r))
		resolve_ok(t.r, RESOLVE_THEIRS, COPY2);
	assert_content(t.root, "f.txt", "theirs 2\n");
	ck_assert(!exists(t.root, COPY1) && !exists(t.root, COPY2));
	assert_local_row(t.r, "f.txt", "theirs 2\n");
	assert_local_row(t.r, COPY1, NULL);
	assert_local_row(t.r, COPY2, NULL);
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	ck_assert_uint_eq(scan_changes(t.r), 0);
	tu_replica_free(&t);
}
END_TEST

START_TEST(test_crash_then_scan)
{
	const char *fp = crash_points[_i];
	struct scan_opts so = SCAN_OPTS_INIT;
	struct scan_stats st;
	struct tu_replica t;
	char buf[64];

	make_conflict(&t, 2);
	crash_resolve(&t, fp);
	/* what a sync does first: every change the killed run made is recorded as a local one */
	TU_OK(session_prepare(t.r, &so, &st));
	ck_assert_uint_eq(scan_changes(t.r), 0);
	if (exists(t.root, COPY2)) {
		assert_content(t.root, COPY2, "theirs 2\n");
		assert_content(t.root, "f.txt", "ours\n");
		ck_assert_uint_eq(open_conflicts(t.r), 1);
		resolve_ok(t.r, RESOLVE_THEIRS, COPY2);
	} else {
		ck_assert_int_ge(slurp(t.root, "f.txt", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "theirs 2\n");
	}
	assert_local_row(t.r, "f.txt", "theirs 2\n");
	assert_local_row(t.r, COPY2, NULL);
	ck_assert_uint_eq(open_conflicts(t.r), 0);
	tu_replica_free(&t);
}
END_TEST
#endif

Suite *resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("resolve");

	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ours);
	tcase_add_test(tc, test_theirs);
	tcase_add_test(tc, test_as_it_stands);
	tcase_add_test(tc, test_several_copies);
	tcase_add_test(tc, test_changed_since_scan);
	tcase_add_test(tc, test_theirs_over_directory);
	tcase_add_test(tc, test_copy_gone);
	tcase_add_test(tc, test_real_conflict_wins_everywhere);
#ifdef MMSYNC_TEST
	tcase_add_loop_test(tc, test_crash_then_rerun, 0, 4);
	tcase_add_loop_test(tc, test_crash_then_scan, 0, 4);
#endif
	suite_add_tcase(s, tc);
	return s;
}
