/*
 * Apply: confined, crash-safe writes into a replica.
 *
 * New file content goes to a temporary file beside its target, is checked
 * against its SHA-256 and queued.  apply_flush() then makes the batch
 * durable with one syncfs() pass (and one per other file system mounted
 * beneath the root that the batch wrote to), journals the batch's rows in the store,
 * re-checks each target against what the scan recorded (a path changed
 * since is a new local change: it is kept and the item skipped), renames
 * into place, syncs again and commits the rows in one transaction.
 * Directories, links and deletions are done at once, each after the same
 * re-check, and their rows join the batch; a batch with no new file is made
 * durable with one syncfs() too before its rows are committed.  Every path goes through the
 * root's directory fd (fs.h).
 */
#ifndef MMSYNC_APPLY_H
#define MMSYNC_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "wire.h"

struct replica;
struct apply;

struct apply_stats {
	uint64_t files; /* paths whose content or metadata was written */
	uint64_t bytes; /* content bytes written */
	uint64_t deleted;
	uint64_t skipped; /* changed here during the sync: kept, met at the next sync */
	uint64_t failed;  /* could not be applied (see the warnings) */
};

/* Called for each item skipped or failed, with the reason. */
typedef void (*apply_warn_fn)(void *arg, const char *path, const char *msg);

int apply_open(struct apply **out, struct replica *r, apply_warn_fn warn, void *arg);
/* Flushes nothing: call apply_flush() first to keep the work. */
void apply_free(struct apply *a);
const struct apply_stats *apply_stats(const struct apply *a);

/*
 * 1 when the path holds what `ours` records (absent when ours is NULL or a
 * tombstone), 0 when it changed since, <0 on error.
 */
int apply_target_matches(struct apply *a, const char *path, const struct entry *ours);

/* A temporary file being filled with the content of `row` (a file row). */
struct apply_tmp;
int apply_tmp_begin(struct apply *a, struct apply_tmp **out, const char *path);
int apply_tmp_write(struct apply *a, struct apply_tmp *t, const void *buf, size_t len);
/*
 * Keeps a copy of what is written to `t` in `buf` (emptied first) while it
 * stays within `max` bytes; apply_tmp_kept() then says whether it all fit.
 */
void apply_tmp_keep(struct apply_tmp *t, struct wbuf *buf, size_t max);
int apply_tmp_kept(const struct apply_tmp *t);
/* Fills `t` from a local copy of content `hash` (a file of this batch or of the store); MM_ENOTFOUND if none. */
int apply_tmp_copy_local(struct apply *a, struct apply_tmp *t, const uint8_t hash[MM_HASH_LEN]);
void apply_tmp_abort(struct apply *a, struct apply_tmp *t);
/* 1 when what `t` holds so far has this size and SHA-256. */
int apply_tmp_matches(struct apply *a, struct apply_tmp *t, const uint8_t hash[MM_HASH_LEN], uint64_t size);
/*
 * Checks the content against row->hash and row->size, sets mode and mtime,
 * and queues the rename to `path` (row->path) in the batch; `ours` is what
 * the target must still hold (NULL: it must be absent).  The row is
 * committed with the batch; `local` makes it a new local version.
 * Takes `t` over whatever happens.
 */
int apply_tmp_commit(struct apply *a, struct apply_tmp *t, const struct entry *row, const struct entry *ours, int local,
                     const uint8_t *base_oid);
/*
 * Records with the batch that version `vv` of `path` held blob `oid` of the
 * bases store (the blob must have been put there).
 */
int apply_history(struct apply *a, const char *path, const struct vv *vv, const uint8_t oid[BASES_OID_LEN],
                  uint32_t mode, uint32_t flags);

/*
 * Immediate operations, each after the re-check against `ours`; 1 done, 0
 * skipped, <0 error.  `local` records the row as a new local version.
 */
int apply_mkdir(struct apply *a, const struct entry *row, const struct entry *ours, int local);
int apply_symlink(struct apply *a, const struct entry *row, const struct entry *ours, int local);
/*
 * When the path already holds a regular file with row's content (a copy
 * made here and there alike), records it as `row` and returns 1; else 0.
 */
int apply_adopt(struct apply *a, const struct entry *row);
int apply_chmod(struct apply *a, const struct entry *row, const struct entry *ours);
/* Sets the modification time of the file `ours` to row's. */
int apply_touch(struct apply *a, const struct entry *row, const struct entry *ours);
/* Removes the file, link or (empty) directory `ours`; 0 also when a directory is not empty. */
int apply_remove(struct apply *a, const struct entry *ours);
/*
 * Moves what `ours` records at its path to copy->path (which must be
 * absent) and records `copy` there as a new local version; 1 done, 0 skipped.
 */
int apply_move_aside(struct apply *a, const struct entry *ours, const struct entry *copy);

/*
 * Moves what `from` records at its path to row->path, which must still hold
 * what `ours` records (NULL or a tombstone: absent; never a directory), both
 * re-checked first, and records `row` there as with apply_record_local().
 * The caller records from's path as it wants (a tombstone, say).  1 done,
 * 0 skipped (either path changed), <0 error.
 */
int apply_move_over(struct apply *a, const struct entry *from, const struct entry *ours, const struct entry *row,
                    const uint8_t *base_oid);
/*
 * Records `row` as a new local version of the content its path holds (the
 * caller checked it), with the stat data the path has now; `base_oid` (or
 * NULL) is that content's blob in the bases store, put there already.
 */
int apply_record_local(struct apply *a, const struct entry *row, const uint8_t *base_oid);
/* Closes every conflict at `path` in the batch's commit. */
int apply_close_conflict(struct apply *a, const char *path);

/*
 * When this batch is already writing a file at row->path with row's
 * content (a conflict copy made here and received alike), makes `row` the
 * version it records and returns 1; else 0.
 */
int apply_take_pending(struct apply *a, const struct entry *row);
/* 1 when this batch is writing something at `path`. */
int apply_pending_has(const struct apply *a, const char *path);
/* Adds a row to the batch (`local`: a new local version). */
int apply_record(struct apply *a, const struct entry *row, int local);
/* Makes the batch durable and commits it. */
int apply_flush(struct apply *a);
/* 1 once a batch could not be made durable or committed: nothing more should be tried. */
int apply_broken(const struct apply *a);
/* Rows queued so far in the open batch. */
size_t apply_pending(const struct apply *a);

/*
 * At start, before the scan: rows journaled by a batch whose commit was
 * lost are committed when the file at their path holds their content.
 */
int apply_recover(struct replica *r);

#endif
