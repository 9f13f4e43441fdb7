/*
 * Helpers shared by the store, scan and ignore suites: scratch directories,
 * files written relative to a directory, a locked replica on a fresh
 * directory, a scan whose changes and warnings are collected, and the rows
 * of a store read back in order.
 *
 * Every helper asserts through Check, so a test that uses one stops at the
 * first thing that goes wrong with a message naming it.
 */
#ifndef MMSYNC_TESTUTIL_H
#define MMSYNC_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sync/scan.h"
#include "sync/store.h"

/*
 * ck_assert reports to the runner on every pass (a syscall): too slow for
 * loops of thousands of checks.  This costs nothing when `cond` holds.
 */
#define TU_REQUIRE(cond, it)                                                                                           \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg("'%s' failed at item %ld", #cond, (long) (it));                                   \
	} while (0)

/* Asserts that `rc` (a library call's result) is 0, with the library's message. */
#define TU_OK(call)                                                                                                    \
	do {                                                                                                           \
		int tu_rc_ = (call);                                                                                   \
		ck_assert_msg(tu_rc_ == 0, "%s returned %d: %s", #call, tu_rc_, mm_error_msg());                       \
	} while (0)

/*
 * A scratch area for one test case, under $MMSYNC_TEST_TMP, $TMPDIR or /tmp.
 * Registered as an unchecked fixture: it runs in the runner, so what a
 * failed test left behind is removed too.
 */
void tu_tmp_setup(void);
void tu_tmp_teardown(void);

/* A new empty directory in the scratch area; the caller removes it with tu_rmrf() and frees the string. */
char *tu_mkdtemp(void);
/* Removes `path` and everything beneath it, however deep; never follows a symbolic link. */
void tu_rmrf(const char *path);

/* "dir/rel"; the caller frees it. */
char *tu_path(const char *dir, const char *rel);
/* Writes `len` bytes to dir/rel (created or truncated) with permission bits 0644. */
void tu_write(const char *dir, const char *rel, const void *data, size_t len);
void tu_write_str(const char *dir, const char *rel, const char *text);
/* mkdir dir/rel with exactly `mode` (umask does not apply). */
void tu_mkdir(const char *dir, const char *rel, mode_t mode);
void tu_chmod(const char *dir, const char *rel, mode_t mode);
void tu_symlink(const char *target, const char *dir, const char *rel);
void tu_unlink(const char *dir, const char *rel);
/* Sets the mtime (and atime) of dir/rel without following a link. */
void tu_set_mtime(const char *dir, const char *rel, int64_t sec, long nsec);
/* The mtime of dir/rel in nanoseconds, without following a link. */
int64_t tu_mtime_ns(const char *dir, const char *rel);
/* Sets every mtime beneath `dir` (but not under `.mmsync/`) far into the past: nothing is racily clean. */
void tu_age_tree(const char *dir);

/*
 * Root reads every file whatever its mode bits.  To meet a permission
 * failure, a test gives `dir` and all beneath it to an unprivileged uid and
 * takes that uid as its effective uid and gid.  Returns 1 when it did, 0
 * when the process is not root (modes already apply), -1 when the uid could
 * not reach `dir` (the ids are restored: the test cannot run here).
 */
int tu_drop_root(const char *dir);
/* Takes root back after tu_drop_root() returned 1. */
void tu_regain_root(void);

/* SHA-256 of a buffer, computed without the library. */
void tu_sha256(uint8_t out[MM_HASH_LEN], const void *data, size_t len);
/* 1 when `s` holds `sub`. */
int tu_contains(const char *s, const char *sub);

/* A replica made with replica_create() on a fresh directory and opened with REPLICA_LOCK. */
struct tu_replica {
	char *dir;  /* the scratch directory (the root, before realpath) */
	char *root; /* the root as replica_create() returns it */
	struct replica *r;
};

void tu_replica_new(struct tu_replica *t);
/* Closes and opens the replica again (locked). */
void tu_replica_reopen(struct tu_replica *t);
/* Closes the replica and removes its directory. */
void tu_replica_free(struct tu_replica *t);
uint64_t tu_replica_id(const struct tu_replica *t);

/* What a scan reported, in the order it was reported. */
struct tu_change {
	enum scan_change what;
	struct entry now;
	struct entry before;
	int has_before;
};

struct tu_warning {
	char *path;
	char *msg;
};

struct tu_scan {
	struct tu_change *changes;
	size_t n, cap;
	struct tu_warning *warnings;
	size_t nwarn, warncap;
	struct scan_stats stats;
};

void tu_scan_init(struct tu_scan *sc);
void tu_scan_dispose(struct tu_scan *sc);
/* Runs scan_run() on `r` into `sc` (emptied first) and returns its result. */
int tu_scan_run(struct tu_scan *sc, struct replica *r, unsigned flags, size_t batch, int64_t racy_ns);
/* The change reported for `path`, NULL when none. */
const struct tu_change *tu_scan_find(const struct tu_scan *sc, const char *path);

/* Rows of a store, as store_iter_next() gave them. */
struct tu_rows {
	struct entry *v;
	size_t n, cap;
};

/* Reads every row at and beneath `prefix` (NULL for all) through the iterator. */
void tu_rows_load(struct tu_rows *rows, struct store *s, const char *prefix);
void tu_rows_dispose(struct tu_rows *rows);
/* The row for `path`, NULL when none. */
const struct entry *tu_rows_find(const struct tu_rows *rows, const char *path);

/* Asserts that every field of `got` equals the one of `want`. */
void tu_assert_entry_eq(const struct entry *got, const struct entry *want);
/* Copies `src` into a fresh entry `out`, asserting on failure. */
void tu_entry_copy(struct entry *out, const struct entry *src);
/* Makes `v` the version vector {pairs[0]: pairs[1], pairs[2]: pairs[3], ...} of `npairs` entries. */
void tu_vv(struct vv *v, const uint64_t *pairs, size_t npairs);

/* splitmix64: deterministic, so a failure replays from its seed. */
struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

#endif
