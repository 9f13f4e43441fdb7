/*
 * The metadata store: `.mmsync/meta.db`, SQLite in WAL mode.
 *
 * One row per path, live or tombstone, keyed so that rows come out in
 * depth-first tree order (a directory, then everything beneath it, then its
 * next sibling: siblings in byte order).  Rows are streamed with an
 * iterator that reads a snapshot taken when it opens, so the scanner can
 * write while it reads; nothing here holds the whole tree in memory.
 *
 * Writes are made in batches: store_begin(), any number of puts,
 * store_commit().  The replica-wide version counter and the local sequence
 * number live here too and are written with the batch that used them.
 *
 * The declarations are grouped by the file that implements them: store.c
 * (the core), store_peers.c, store_conflicts.c, store_history.c and
 * store_verify.c; their shared internals are in store_db.h.
 */
#ifndef MMSYNC_STORE_H
#define MMSYNC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "bases.h"
#include "names.h"
#include "vv/vv.h"

#define STORE_SCHEMA_VERSION 7
#define MM_HASH_LEN          32 /* SHA-256 */

enum entry_kind {
	ENTRY_DELETED = 0, /* a tombstone: the path was deleted in this version */
	ENTRY_FILE = 1,
	ENTRY_DIR = 2,
	ENTRY_LINK = 3
};

/* entry.flags */
#define ENTRY_RACY 0x1u /* re-hash at the next scan whatever the stat data says */

struct entry {
	char *path; /* owned; "dir/name", NUL-terminated */
	size_t path_cap;
	int kind;      /* enum entry_kind */
	uint32_t mode; /* permission bits (07777) */
	uint64_t size; /* bytes of content (files), of the target (links) */
	int64_t mtime_ns;
	int64_t mstamp_ns; /* when mtime_ns was set, on its setter's clock: of two, the later wins */
	int has_hash;
	uint8_t hash[MM_HASH_LEN]; /* SHA-256 of the content (files) */
	char *target;              /* owned; symbolic link target, NULL otherwise */
	size_t target_cap;
	struct vv vv;    /* the version this row records */
	uint64_t writer; /* id of the replica that made this version */
	uint64_t origin; /* the peer this row was received from as is; 0 when made here */
	uint64_t seq;    /* local sequence number of the last change to this row */
	/* stat cache: local facts used only to notice changes */
	uint64_t dev, ino;
	int64_t ctime_ns;
	uint32_t flags;
};

void entry_init(struct entry *e);
void entry_dispose(struct entry *e);
/* Copies `len` bytes of `path` (no NUL needed) into e->path. */
int entry_set_path(struct entry *e, const char *path, size_t len);
/* Copies `len` bytes into e->target; NULL clears it. */
int entry_set_target(struct entry *e, const char *target, size_t len);
/* Makes `out` (initialised) a deep copy of `src`. */
int entry_copy(struct entry *out, const struct entry *src);

struct stat;
/* 1 when the stat data recorded in `e` (size, mtime, ctime, inode, mode) still describe `sb`. */
int entry_stat_matches(const struct entry *e, const struct stat *sb);
/* Records the stat data of `sb` in `e` (mode: permission bits only). */
void entry_fill_stat(struct entry *e, const struct stat *sb);

struct store;
struct store_iter;

/* ---- Opening and batches (store.c) ---- */

/* Creates a new store at `db_path` for replica `replica_id`; MM_EEXISTS if a file is there. */
int store_create(const char *db_path, uint64_t replica_id);
/* Opens an existing store (bringing an older schema up to date); the caller frees it with store_free(). */
int store_open(struct store **out, const char *db_path);
void store_free(struct store *s);

uint64_t store_replica_id(const struct store *s);
/* The highest local sequence number handed out so far. */
uint64_t store_last_seq(const struct store *s);
/* A random id for this store's sequence numbers: a new store is a new index. */
uint64_t store_index_id(const struct store *s);

int store_begin(struct store *s);
int store_commit(struct store *s);
/* Undoes the open batch, including the counters it used. */
int store_rollback(struct store *s);

/* ---- Entries: one row per path (store.c) ---- */

/* Reads the row for `path` into `out`; MM_ENOTFOUND when there is none. */
int store_get(struct store *s, const char *path, struct entry *out);
/* Writes `e` as the row for e->path, as it is (inside a batch). */
int store_put(struct store *s, const struct entry *e);
/*
 * Records `e` as a new local version: bumps this replica's entry of e->vv
 * with the replica-wide counter, gives it a new sequence number, and puts
 * it (inside a batch).
 */
int store_put_local_change(struct store *s, struct entry *e);

/*
 * Records `e` as it is (a version received from a peer, or merged): gives
 * it a new sequence number, so that it is passed on to other peers, and
 * puts it (inside a batch).
 */
int store_put_next_seq(struct store *s, struct entry *e);

/* A live file row whose content hash is `hash`: 0, or MM_ENOTFOUND. */
int store_find_hash(struct store *s, const uint8_t hash[MM_HASH_LEN], struct entry *out);

struct store_counts {
	uint64_t files, dirs, links, tombstones;
};
/* How many rows of each kind. */
int store_count(struct store *s, struct store_counts *out);

/* ---- Iterators (store.c) ---- */

/*
 * Streams the rows at and beneath `prefix` (NULL or "" for all) in tree
 * order, from a snapshot taken now; store_iter_next() fills `out` and
 * returns 1, returns 0 at the end, or a negative code.  The whole tree
 * (no prefix) is read a chunk at a time, each from a snapshot of its own:
 * the caller may write rows at keys it has already been given, never ahead.
 */
int store_iter_open(struct store_iter **out, struct store *s, const char *prefix);
int store_iter_next(struct store_iter *it, struct entry *out);
void store_iter_free(struct store_iter *it);

/*
 * Streams the rows whose sequence number is above `since`, in tree order
 * (what a peer that has seen up to `since` lacks).
 */
int store_iter_since(struct store_iter **out, struct store *s, uint64_t since);

/* ---- The journal of a batch being renamed into place (store.c; see apply.c) ---- */

int store_pending_put(struct store *s, const char *path, const void *row, size_t len);
int store_pending_clear(struct store *s);
/* Calls fn for each pending row; stops at a negative return. */
int store_pending_each(struct store *s, int (*fn)(void *arg, const char *path, const void *row, size_t len), void *arg);

/* ---- What this replica knows of other replicas: peers, remotes, names (store_peers.c) ---- */

/* What this replica knows of a peer. */
struct store_peer {
	uint64_t id;
	uint64_t index_id;  /* the peer's index id when seen_seq was recorded */
	uint64_t seen_seq;  /* every row of the peer up to this sequence number is here */
	uint64_t acked_seq; /* the peer confirmed having every row of ours up to this one */
	int64_t last_ok_ns, last_fail_ns;
	char name[REPLICA_NAME_MAX + 1];
	char last_error[256];
};
/* Reads what is known of peer `id` (zeroes and MM_ENOTFOUND when nothing). */
int store_peer_get(struct store *s, uint64_t id, struct store_peer *out);
/* Writes it (inside a batch or not); writes nothing when the row already says so. */
int store_peer_put(struct store *s, const struct store_peer *p);
/* Calls fn for every peer known, by id; stops at a negative return. */
int store_peer_each(struct store *s, int (*fn)(void *arg, const struct store_peer *p), void *arg);
/*
 * How many rows of this replica peer `peer_id` has not acknowledged (rows it
 * sent us left out); `peer_id` 0, a peer not reached yet: every row.
 */
int store_unsent_count(struct store *s, uint64_t peer_id, uint64_t *out);

/* The last syncs with a peer as the user named it (a configured name or a URL). */
struct store_remote {
	char url[1024];
	uint64_t replica_id; /* 0 until a session reached it */
	int64_t last_ok_ns, last_fail_ns;
	char last_error[1024];
};
/* MM_ENOTFOUND (and zeroes) when no sync with `name` was ever tried. */
int store_remote_get(struct store *s, const char *name, struct store_remote *out);
/* Records a success (error NULL) or a failure with its message; replica_id 0 keeps the one known. */
int store_remote_note(struct store *s, const char *name, const char *url, uint64_t replica_id, int64_t when_ns,
                      const char *error);

/* Names of replica ids met (for conflict copies and logs); "" and MM_ENOTFOUND for an id never named. */
int store_replica_name(struct store *s, uint64_t id, char out[REPLICA_NAME_MAX + 1]);
int store_replica_name_put(struct store *s, uint64_t id, const char *name);

/* ---- Open conflicts (store_conflicts.c) ---- */

struct store_conflict {
	char *path, *copy; /* owned; freed by store_conflict_dispose() */
	char kind[16];
	int64_t detected_ns;
	uint64_t ours, theirs; /* writers of the version at path and of the copy */
	int has_base;
	uint8_t base[BASES_OID_LEN]; /* the common ancestor's content in the bases store */
};
void store_conflict_dispose(struct store_conflict *c);
int store_conflict_put(struct store *s, const struct store_conflict *c);
/* Closes every conflict at `path`. */
int store_conflict_delete(struct store *s, const char *path);
/* Closes the conflict of `path` kept in `copy`. */
int store_conflict_delete_copy(struct store *s, const char *path, const char *copy);
/* 1 when the conflict of `path` kept in `copy` is open. */
int store_conflict_has(struct store *s, const char *path, const char *copy);
/* The first open conflict of `path` (by copy), or MM_ENOTFOUND; the caller disposes of `out`. */
int store_conflict_get(struct store *s, const char *path, struct store_conflict *out);
/*
 * Calls fn for each open conflict (one per copy) in path order, then copy
 * order; `c` lives until fn returns, and a negative return stops the walk.
 */
int store_conflict_each(struct store *s, int (*fn)(void *arg, const struct store_conflict *c), void *arg);
/* The number of paths with an open conflict. */
int store_conflict_count(struct store *s, uint64_t *out);
/* Closes the conflicts whose copy is gone (deleted or never here). */
int store_conflicts_prune(struct store *s);

/* ---- History and gc (store_history.c) ---- */

/*
 * History: which content (a blob id in the bases store) each version of a
 * path held, for finding the common ancestor of two concurrent versions.
 */
#define HISTORY_LOSER 0x1 /* a version a conflict policy replaced: kept for gc.retention */
int store_history_add(struct store *s, const char *path, const struct vv *vv, const uint8_t oid[BASES_OID_LEN],
                      uint32_t mode, uint32_t flags);
/*
 * Records that version `e` of a path has no mergeable content (a deletion,
 * or a file that is not text), when the path has history: so that it can
 * be found as the latest common ancestor, and no older text is merged
 * against in its place.
 */
int store_history_mark(struct store *s, const struct entry *e);
/*
 * The latest version of `path` from which both `a` and `b` descend, that
 * has a blob here: its id in `oid` and its mode in *mode (when mode is not
 * NULL), or MM_ENOTFOUND (also when that latest version has no mergeable
 * content).
 */
int store_history_base(struct store *s, const char *path, const struct vv *a, const struct vv *b,
                       uint8_t oid[BASES_OID_LEN], uint32_t *mode);
/*
 * For a conflict seen only through its copy: the latest version of `path`
 * that `at_path` descends from, that the version holding blob `copy_oid`
 * descends from too (when this replica held that one at `path`), and whose
 * content is neither side's.
 */
int store_history_base_for_copy(struct store *s, const char *path, const struct vv *at_path,
                                const uint8_t path_oid[BASES_OID_LEN], const uint8_t copy_oid[BASES_OID_LEN],
                                uint8_t oid[BASES_OID_LEN]);
/* 1 when some history row, or some open conflict's base, names blob `oid`. */
int store_history_uses(struct store *s, const uint8_t oid[BASES_OID_LEN]);
/*
 * gc: drops the history every known peer is past (rows dominated by a
 * current row that all of them acknowledged, and everything of a deletion
 * they all acknowledged, with the tombstone itself), and losers older than
 * `retention_s`.  Counts go to *history and *tombstones.  Runs in a batch
 * of its own: none may be open.
 */
int store_gc(struct store *s, int64_t retention_s, uint64_t *history, uint64_t *tombstones);

/* ---- Verify (store_verify.c) ---- */

/*
 * `mmsync check`'s look at the store itself: SQLite's integrity check, then
 * every row (a valid path, a hash for each file, a target only for links,
 * a vector holding its writer, a sequence number in range).  Calls `fn`
 * for each problem (path "" for the store as a whole); a non-zero return
 * from `fn` stops the walk and is returned.  The rows read go to *rows.
 * Returns 1 when a row that cannot be read stopped the walk.
 */
typedef int (*store_problem_fn)(void *arg, const char *path, const char *problem);
int store_verify(struct store *s, store_problem_fn fn, void *arg, uint64_t *rows);

#endif
