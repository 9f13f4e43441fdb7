/*
 * Internal to the receiving side of a transfer phase (receiver*.c).
 *
 * The peer's index delta is reconciled row by row into a plan kept in a
 * temporary SQLite database (memory stays flat whatever the number of
 * changes).  The plan is then carried out in three passes: creations and
 * updates in tree order, deletions in reverse tree order (children before
 * their directory), then the items that must wait for a directory to be
 * emptied.  Content is requested ahead of the pass that uses it, up to a
 * window of outstanding requests, so there is no round trip per file;
 * content this replica already holds under any path is copied locally.
 *
 * receiver_plan.c      the plan database: the peer's index read and reconciled into it
 * receiver_fetch.c     the request window: requests, deltas, content as it arrives
 * receiver_conflict.c  concurrent versions: merges, policies, conflict copies
 * receiver.c           the driver: the passes over the plan, one item at a time
 */
#ifndef MMSYNC_RECEIVER_H
#define MMSYNC_RECEIVER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "merge.h"
#include "phase.h"
#include "store.h"
#include "wire.h"

/* outstanding requests: ~10 KB, well inside any socket buffer */
#define RECV_WINDOW 256
/* delta requests outstanding at once (each holds its basis open) */
#define RECV_MAX_DELTAS 64
/* the largest loser a policy keeps in the bases store */
#define POLICY_KEEP_MAX (64u << 20)

enum { PHASE_CREATE = 1, PHASE_DELETE = 2, PHASE_AFTER = 3 };

struct apply;
struct apply_tmp;
struct ignore;

/* One row of the plan: what to do with one row of the peer's index. */
struct plan_item {
	int64_t n;
	int phase, action, fetch;
	struct entry theirs;
};

/* The state of one receive_phase (set up and freed in receiver.c). */
struct receiver {
	struct phase *ph;
	struct apply *ap;
	struct ignore *ig;
	struct merge_config mc;
	/* the plan database */
	struct {
		sqlite3 *db;
		sqlite3_stmt *add, *touches, *req_seen, *req_put, *retry_add;
		struct wbuf enc; /* a row as stored */
	} plan;
	/* the requests sent ahead of the apply pass */
	struct {
		sqlite3_stmt *cur; /* the plan, read ahead of the apply pass */
		struct plan_item item;
		int done;                  /* cur is at its end */
		int64_t fifo[RECV_WINDOW]; /* plan items whose content is on its way, oldest first */
		size_t head, n;
		int basis_fd[RECV_WINDOW]; /* per outstanding request: the basis a delta was asked against, or -1 */
		uint64_t basis_size[RECV_WINDOW];
		int deltas_out;     /* delta requests outstanding */
		uint64_t delta_min; /* files smaller than this come whole (sync.deltaMinSize) */
		int no_delta;       /* the retry round: whole content only */
		struct wbuf sig;    /* the signature of a delta request */
	} win;
	/* contents kept for merges, bases and policies */
	struct {
		struct wbuf theirs, ours;
		size_t keep_max; /* how much of the next content recv_get_content keeps */
	} buf;
	/* the apply pass */
	sqlite3_stmt *apply_cur;
	struct plan_item item;
	struct entry ours;
	struct entry probe; /* scratch for lookups that must not disturb `ours` */
	int conn_error;     /* the connection failed: the session cannot go on */
	int redo;           /* the content at hand came as a delta that did not reproduce it */
	char why[256];      /* why the last content could not be had */
	uint64_t conflicts, kept, merged;
	uint64_t retries;       /* items queued for the whole-content round */
	uint64_t failed_before; /* ph->res->failed when the phase began */
	struct session_progress prog;
};

/* The plan database (receiver_plan.c). */

/* Sets an error naming `what` and the database's message; returns it. */
int recv_db_fail(struct receiver *rv, const char *what);
int recv_plan_open(struct receiver *rv);
void recv_plan_close(struct receiver *rv);
/* Next plan item of cursor `st` into `it`: 1, 0 at the end, <0 error. */
int recv_plan_next(struct receiver *rv, sqlite3_stmt *st, struct plan_item *it);
/* Reads the peer's index delta into the plan; its last sequence number goes to *max_seq. */
int recv_read_index(struct receiver *rv, uint64_t *max_seq);
/*
 * 1 when this plan changes what is on disk at `path` before an item of
 * `phase` runs (so it is no source for that item's local copy): deletions
 * come after every creation.
 */
int recv_plan_touches(struct receiver *rv, const char *path, int phase);
/* The peer's row for `path` in this plan, or MM_ENOTFOUND. */
int recv_plan_get(struct receiver *rv, const char *path, struct entry *out);
/* 1 when the peer's index names `path`. */
int recv_plan_has(struct receiver *rv, const char *path);
/* 1 when content with `hash` was asked for in this session already, 0 not. */
int recv_plan_requested(struct receiver *rv, const uint8_t hash[MM_HASH_LEN]);
/* Notes that content with `hash` was asked for (it is then a local source for later items). */
int recv_plan_note_request(struct receiver *rv, const uint8_t hash[MM_HASH_LEN]);
/* Queues plan item `n` for the whole-content round: 1 queued, 0 not. */
int recv_plan_retry(struct receiver *rv, int64_t n);

/* The request window (receiver_fetch.c). */

/* Sends requests for content ahead of the apply pass, up to the window. */
int recv_pump_requests(struct receiver *rv);
/* Tells the progress callback, if any. */
void recv_progress(struct receiver *rv);
/*
 * Fills a temporary file beside `path` with the content of `theirs`: from
 * the connection when it was requested for this item, else from a local
 * copy.  *tmp is NULL (and the item failed, rv->why says why) when the
 * content could not be had.
 */
int recv_get_content(struct receiver *rv, struct plan_item *it, const char *path, struct apply_tmp **tmp);
/* Reads and drops the content requested for an item that will not use it. */
int recv_skip_content(struct receiver *rv, struct plan_item *it);

/* Concurrent versions (receiver_conflict.c). */

/*
 * Concurrent, different versions: merged when they are text with a known
 * common ancestor; else settled by a policy; else the winner stays at the
 * path and the other version goes beside it.
 */
int recv_do_conflict(struct receiver *rv, struct plan_item *it, struct entry *ours);
/* A conflict copy made on another replica arrived: the conflict is open here too. */
int recv_note_copy(struct receiver *rv, const struct entry *theirs);

/* The driver (receiver.c). */

/* One item could not be applied: counted and told, or queued for the whole-content round. */
void recv_item_failed(struct receiver *rv, const char *path, const char *why);
/* `row` = theirs with the vectors merged and marked as coming from the peer when nothing was added. */
int recv_merged_row(struct receiver *rv, struct entry *row, const struct entry *base, const struct entry *theirs,
                    const struct entry *ours);
/*
 * Writes the live entry `row` at row->path, where `ours` must still be
 * (NULL: absent), with the content in `pre` (taken, whatever happens) or
 * else fetched.  1 written, 0 not (the item failed or was left), <0 error.
 */
int recv_write_entry(struct receiver *rv, struct plan_item *it, const struct entry *row, const struct entry *ours,
                     int local, struct apply_tmp *pre);

#endif
