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
 */
#ifndef MMSYNC_STORE_H
#define MMSYNC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vv/vv.h"

#define STORE_SCHEMA_VERSION 1
#define MM_HASH_LEN 32 /* SHA-256 */

enum entry_kind {
	ENTRY_DELETED = 0, /* a tombstone: the path was deleted in this version */
	ENTRY_FILE = 1,
	ENTRY_DIR = 2,
	ENTRY_LINK = 3
};

/* entry.flags */
#define ENTRY_RACY 0x1u /* re-hash at the next scan whatever the stat data says */

struct entry {
	char *path;     /* owned; "dir/name", NUL-terminated */
	size_t path_cap;
	int kind;       /* enum entry_kind */
	uint32_t mode;  /* permission bits (07777) */
	uint64_t size;  /* bytes of content (files), of the target (links) */
	int64_t mtime_ns;
	int has_hash;
	uint8_t hash[MM_HASH_LEN]; /* SHA-256 of the content (files) */
	char *target;   /* owned; symbolic link target, NULL otherwise */
	size_t target_cap;
	struct vv vv;   /* the version this row records */
	uint64_t seq;   /* local sequence number of the last change to this row */
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

struct store;
struct store_iter;

/* Creates a new store at `db_path` for replica `replica_id`; MM_EEXISTS if a file is there. */
int store_create(const char *db_path, uint64_t replica_id);
/* Opens an existing store; the caller frees it with store_free(). */
int store_open(struct store **out, const char *db_path);
void store_free(struct store *s);

uint64_t store_replica_id(const struct store *s);
/* The highest local sequence number handed out so far. */
uint64_t store_last_seq(const struct store *s);

int store_begin(struct store *s);
int store_commit(struct store *s);
/* Undoes the open batch, including the counters it used. */
int store_rollback(struct store *s);

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
 * Streams the rows at and beneath `prefix` (NULL or "" for all) in tree
 * order, from a snapshot taken now.  store_iter_next() fills `out` and
 * returns 1, returns 0 at the end, or a negative code.
 */
int store_iter_open(struct store_iter **out, struct store *s, const char *prefix);
int store_iter_next(struct store_iter *it, struct entry *out);
void store_iter_free(struct store_iter *it);

struct store_counts {
	uint64_t files, dirs, links, tombstones;
};
int store_count(struct store *s, struct store_counts *out);

#endif
