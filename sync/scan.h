/*
 * The scanner: walks a replica's tree and records what changed in the
 * metadata store.
 *
 * The walk goes through directory file descriptors (openat, fstatat with
 * AT_SYMLINK_NOFOLLOW, O_NOFOLLOW), never follows a symbolic link, skips
 * `.mmsync/` and what `.mmsyncignore` ignores, and visits paths in the
 * store's tree order so that it merges with a stream of stored rows: memory
 * stays flat in the number of files.  Only files whose stat data changed
 * (or that were racily clean last time) are hashed.
 *
 * Every change bumps this replica's entry of the path's version vector and
 * gets a new local sequence number.  A path that cannot be read keeps its
 * stored state and is counted in `skipped`, with a warning through the
 * callback; the library itself never prints.
 */
#ifndef MMSYNC_SCAN_H
#define MMSYNC_SCAN_H

#include <stddef.h>
#include <stdint.h>

struct replica;
struct entry;

enum scan_change {
	SCAN_ADDED,    /* new path (or re-created after a deletion) */
	SCAN_MODIFIED, /* content, permission bits, link target or kind changed */
	SCAN_DELETED,
	SCAN_DAMAGED /* SCAN_VERIFY: the content is not what was recorded, though the stat data is */
};

struct scan_stats {
	uint64_t files, dirs, links;       /* live entries found */
	uint64_t added, modified, deleted; /* changes found */
	uint64_t hashed_files, hashed_bytes;
	uint64_t skipped; /* paths left as they were after a warning */
	uint64_t special; /* sockets, fifos, devices: not synced */
	uint64_t damaged; /* SCAN_VERIFY: files whose content differs from the record */
};

/* Called for each change: `now` the new state, `before` the stored one (NULL when new). */
typedef void (*scan_change_fn)(void *ctx, enum scan_change what, const struct entry *now, const struct entry *before);
/* Called for each path skipped or not synced, with the reason. */
typedef void (*scan_warn_fn)(void *ctx, const char *path, const char *msg);
/*
 * Called now and then with the counts so far: every SCAN_PROGRESS_EVERY
 * paths, and while a large file is hashed (hashed_bytes then includes what
 * was read of it).  The callee throttles its output.
 */
typedef void (*scan_progress_fn)(void *ctx, const struct scan_stats *st);

#define SCAN_PROGRESS_EVERY 256

#define SCAN_DRY_RUN 0x1 /* report changes, record nothing */
/*
 * The deletion guard: a scan records deletions only after the whole walk,
 * and refuses (MM_EREFUSED, after recording every other change) when they
 * would empty the replica's root or remove more of its live paths than
 * `sync.maxDelete` allows ("N%" of them, default SCAN_MAX_DELETE_PCT, or
 * N paths; as many paths as appeared are not counted, so a renamed
 * directory passes): an unmounted disk or a mistaken `rm -r` must not
 * propagate.  "100%" turns the guard off; SCAN_FORCE records them anyway.
 */
#define SCAN_FORCE 0x2
/*
 * With SCAN_DRY_RUN (`mmsync check`): also reads every file that looks
 * unchanged, and reports SCAN_DAMAGED where its content is not the
 * recorded one although all its stat data is (bit rot).
 */
#define SCAN_VERIFY         0x4
#define SCAN_MAX_DELETE_PCT 50

struct scan_opts {
	unsigned flags;
	scan_change_fn on_change;
	scan_warn_fn on_warning;
	void *ctx;
	size_t batch;    /* rows per transaction; 0 for the default */
	int64_t racy_ns; /* a file modified this close to the scan's start is re-hashed next time; 0 for 2 s */
	scan_progress_fn on_progress; /* may be NULL */
};

#define SCAN_OPTS_INIT                                                                                                 \
	{                                                                                                              \
		0, NULL, NULL, NULL, 0, 0, NULL                                                                        \
	}

/*
 * Scans the replica `r` (which the caller has locked unless SCAN_DRY_RUN).
 * Returns 0 when the walk completed (check stats->skipped), or a negative
 * code when it could not go on; batches already committed stay valid.
 */
int scan_run(struct replica *r, const struct scan_opts *opts, struct scan_stats *stats);

#endif
