/*
 * The receiving side of a transfer phase.
 *
 * The peer's index delta is reconciled row by row into a plan kept in a
 * temporary SQLite database (memory stays flat whatever the number of
 * changes).  The plan is then carried out in three passes: creations and
 * updates in tree order, deletions in reverse tree order (children before
 * their directory), then the items that must wait for a directory to be
 * emptied.  Content is requested ahead of the pass that uses it, up to a
 * window of outstanding requests, so there is no round trip per file;
 * content this replica already holds under any path is copied locally.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "bases.h"
#include "config.h"
#include "conn.h"
#include "delta.h"
#include "error.h"
#include "failpoint.h"
#include "fs.h"
#include "hash.h"
#include "ignore.h"
#include "merge.h"
#include "path.h"
#include "phase.h"
#include "reconcile.h"
#include "replica.h"
#include "text.h"

#define RECV_WINDOW 256
#define RECV_MAX_DELTAS 64 /* delta requests outstanding at once (each holds its basis open) */
#define SIG_CHUNK (512u * 1024)
#define POLICY_KEEP_MAX (64u << 20) /* largest loser a policy keeps in the bases store */ /* outstanding requests: ~10 KB, well inside any socket buffer */

enum { PHASE_CREATE = 1, PHASE_DELETE = 2, PHASE_AFTER = 3 };

struct plan_item {
	int64_t n;
	int phase, action, fetch;
	struct entry theirs;
};

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
		sqlite3_stmt *cur;  /* the plan, read ahead of the apply pass */
		struct plan_item item;
		int done;           /* cur is at its end */
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
		size_t keep_max; /* how much of the next content get_content keeps */
	} buf;
	/* the apply pass */
	sqlite3_stmt *apply_cur;
	struct plan_item item;
	struct entry ours;
	struct entry probe; /* scratch for lookups that must not disturb `ours` */
	int conn_error;     /* the connection failed: the session cannot go on */
	int redo;           /* the content at hand came as a delta that did not reproduce it */
	char why[256];      /* why the last content could not be had */
	uint64_t conflicts, kept, merged, retries, failed_before;
	struct session_progress prog;
};

static int db_fail(struct receiver *rv, const char *what)
{
	return mm_error_set(MM_EIO, "plan: %s: %s", what, sqlite3_errmsg(rv->plan.db));
}

static const char *plan_order =
	"SELECT n, phase, action, fetch, row FROM plan ORDER BY phase, CASE phase WHEN 2 THEN -n ELSE n END";

static int plan_open(struct receiver *rv)
{
	/* "": a private temporary database on disk, gone when closed */
	if (sqlite3_open_v2("", &rv->plan.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		return mm_error_set(MM_EIO, "cannot open a temporary database");
	if (sqlite3_exec(rv->plan.db,
			 "PRAGMA cache_size = -4000; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
			 "CREATE TABLE plan (n INTEGER PRIMARY KEY, phase INTEGER, action INTEGER, fetch INTEGER,"
			 " row BLOB, path BLOB);"
			 "CREATE INDEX plan_path ON plan(path);"
			 "CREATE TABLE requested (hash BLOB PRIMARY KEY) WITHOUT ROWID;"
			 "CREATE TABLE retry (n INTEGER PRIMARY KEY, phase INTEGER, action INTEGER, fetch INTEGER, row BLOB);"
			 "BEGIN",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "INSERT INTO plan (phase, action, fetch, row, path) VALUES (?,?,?,?,?)", -1,
			       &rv->plan.add, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "SELECT 1 FROM plan WHERE path = ? AND action IN (?, ?) AND phase <= ?", -1, &rv->plan.touches, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "SELECT 1 FROM requested WHERE hash = ?", -1, &rv->plan.req_seen, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "INSERT OR IGNORE INTO requested (hash) VALUES (?)", -1, &rv->plan.req_put, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, "INSERT OR IGNORE INTO retry SELECT n, phase, action, fetch, row FROM plan WHERE n = ?",
			       -1, &rv->plan.retry_add, NULL) != SQLITE_OK)
		return db_fail(rv, "setting up");
	return 0;
}

static void plan_close(struct receiver *rv)
{
	sqlite3_finalize(rv->plan.add);
	sqlite3_finalize(rv->win.cur);
	sqlite3_finalize(rv->apply_cur);
	sqlite3_finalize(rv->plan.req_seen);
	sqlite3_finalize(rv->plan.req_put);
	sqlite3_finalize(rv->plan.touches);
	sqlite3_finalize(rv->plan.retry_add);
	sqlite3_close(rv->plan.db);
}

static int plan_add(struct receiver *rv, int phase, int action, int fetch, const struct entry *theirs)
{
	int rc;

	wbuf_reset(&rv->plan.enc);
	proto_put_row(&rv->plan.enc, theirs);
	if (rv->plan.enc.oom)
		return mm_error_oom();
	sqlite3_bind_int(rv->plan.add, 1, phase);
	sqlite3_bind_int(rv->plan.add, 2, action);
	sqlite3_bind_int(rv->plan.add, 3, fetch);
	sqlite3_bind_blob(rv->plan.add, 4, rv->plan.enc.p + 5, (int)rv->plan.enc.len - 5, SQLITE_STATIC);
	sqlite3_bind_blob(rv->plan.add, 5, theirs->path, (int)strlen(theirs->path), SQLITE_STATIC);
	rc = sqlite3_step(rv->plan.add);
	sqlite3_reset(rv->plan.add);
	return rc == SQLITE_DONE ? 0 : db_fail(rv, "writing");
}

/* Next plan item of cursor `st` into `it`: 1, 0 at the end, <0 error. */
static int plan_next(struct receiver *rv, sqlite3_stmt *st, struct plan_item *it)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(rv, "reading");
	it->n = sqlite3_column_int64(st, 0);
	it->phase = sqlite3_column_int(st, 1);
	it->action = sqlite3_column_int(st, 2);
	it->fetch = sqlite3_column_int(st, 3);
	if (proto_get_row(&it->theirs, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4)) < 0)
		return MM_ECORRUPT;
	return 1;
}

/* Decides what to do with one row of the peer's index. */
static int plan_row(struct receiver *rv, struct entry *theirs)
{
	struct store *s = rv->ph->r->store;
	int have, action, phase = PHASE_CREATE, fetch = 0, err;

	if ((err = ignore_match(rv->ig, theirs->path, theirs->kind == ENTRY_DIR)) != 0)
		return err < 0 ? err : 0; /* ignored here: neither applied nor recorded */
	err = store_get(s, theirs->path, &rv->ours);
	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	have = err == 0;
	action = reconcile(have ? &rv->ours : NULL, theirs);
	if (action == REC_IGNORE)
		return 0;
	if (action == REC_UPDATE) {
		int ours_dir = have && rv->ours.kind == ENTRY_DIR;
		if (theirs->kind == ENTRY_DELETED)
			phase = PHASE_DELETE;
		else if (ours_dir && theirs->kind != ENTRY_DIR)
			phase = PHASE_AFTER;
		fetch = theirs->kind == ENTRY_FILE &&
			!(have && rv->ours.kind == ENTRY_FILE && rv->ours.has_hash &&
			  !memcmp(rv->ours.hash, theirs->hash, MM_HASH_LEN));
	} else if (action == REC_CONFLICT) {
		fetch = theirs->kind == ENTRY_FILE;
	}
	rv->prog.files_total++;
	if (fetch)
		rv->prog.bytes_total += theirs->size;
	return plan_add(rv, phase, action, fetch, theirs);
}

static int receive_index(struct receiver *rv, uint64_t *max_seq)
{
	struct phase *ph = rv->ph;
	struct entry theirs;
	char prev[MM_PATH_MAX + 1] = "";
	const uint8_t *p;
	size_t len;
	int type, err = 0;

	entry_init(&theirs);
	for (;;) {
		if ((err = conn_recv(ph->c, &type, &p, &len)) < 0)
			break;
		if (type == MSG_INDEX_END) {
			err = proto_get_u64(max_seq, p, len, "index-end");
			break;
		}
		if (type == MSG_REPLICA) {
			uint64_t id;
			char name[PROTO_MAX_NAME + 1];
			if ((err = proto_get_replica(&id, name, p, len)) < 0 ||
			    (id != ph->r->id && (err = store_replica_name_put(ph->r->store, id, name)) < 0))
				break;
			continue;
		}
		if (type != MSG_ROW) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' in its index", ph->c->peer,
					   proto_type_name(type));
			break;
		}
		if ((err = proto_get_row(&theirs, p, len)) < 0)
			break;
		/* tree order, strictly: no path twice, and directories before what they hold */
		if (prev[0] && path_tree_cmp(prev, theirs.path) >= 0) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' out of order or twice",
					   ph->c->peer, theirs.path);
			break;
		}
		memcpy(prev, theirs.path, strlen(theirs.path) + 1);
		if (!phase_in_filters(ph, theirs.path)) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s', outside the paths asked for",
					   ph->c->peer, theirs.path);
			break;
		}
		failpoint("recv-row");
		if ((err = plan_row(rv, &theirs)) < 0)
			break;
	}
	entry_dispose(&theirs);
	return err;
}

/*
 * 1 when this plan changes what is on disk at `path` before an item of
 * `phase` runs (so it is no source for that item's local copy): deletions
 * come after every creation.
 */
static int plan_touches(struct receiver *rv, const char *path, int phase)
{
	int rc;

	sqlite3_bind_blob(rv->plan.touches, 1, path, (int)strlen(path), SQLITE_STATIC);
	sqlite3_bind_int(rv->plan.touches, 2, REC_UPDATE);
	sqlite3_bind_int(rv->plan.touches, 3, REC_CONFLICT);
	sqlite3_bind_int(rv->plan.touches, 4, phase == PHASE_CREATE ? PHASE_CREATE : PHASE_AFTER);
	rc = sqlite3_step(rv->plan.touches);
	sqlite3_reset(rv->plan.touches);
	return rc == SQLITE_ROW;
}

/* The peer's row for `path` in this plan, or MM_ENOTFOUND. */
static int plan_get(struct receiver *rv, const char *path, struct entry *out)
{
	sqlite3_stmt *st;
	int rc, err = MM_ENOTFOUND;

	if (sqlite3_prepare_v2(rv->plan.db, "SELECT row FROM plan WHERE path = ?", -1, &st, NULL) != SQLITE_OK)
		return db_fail(rv, "reading");
	sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		err = proto_get_row(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return err;
}

/* 1 when the peer's index names `path`. */
static int plan_has(struct receiver *rv, const char *path)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(rv->plan.db, "SELECT 1 FROM plan WHERE path = ?", -1, &st, NULL) != SQLITE_OK)
		return 1; /* when unsure, taken */
	sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW;
}

/* Sends requests for content ahead of the apply pass, up to the window. */
static int put_sig(void *arg, const void *p, size_t n)
{
	struct receiver *rv = arg;

	put_bytes(&rv->win.sig, p, n);
	return rv->win.sig.oom ? mm_error_oom() : 0;
}

/*
 * Asks for the content of `t` as a delta against the file this replica
 * holds at its path, when that pays: a large update of a large file.
 * 1 asked (the basis stays open in `slot`), 0 not (ask for it whole).
 */
static int ask_delta(struct receiver *rv, const struct plan_item *it, int slot)
{
	const struct entry *t = &it->theirs;
	struct conn *c = rv->ph->c;
	struct stat sb;
	int fd;

	if (rv->win.no_delta || it->action != REC_UPDATE || t->size < rv->win.delta_min || rv->win.deltas_out >= RECV_MAX_DELTAS)
		return 0;
	if (store_get(rv->ph->r->store, t->path, &rv->probe) < 0 || rv->probe.kind != ENTRY_FILE ||
	    rv->probe.size < rv->win.delta_min / 4 || rv->probe.size == 0)
		return 0;
	if (fs_open_beneath(&fd, rv->ph->r->rootfd, t->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0) < 0)
		return 0;
	wbuf_reset(&rv->win.sig);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || delta_signature(fd, (uint64_t)sb.st_size, put_sig, rv) < 0) {
		close(fd);
		return 0; /* whole, then */
	}
	proto_put_raw(&c->out, MSG_DREQUEST, t->hash, MM_HASH_LEN);
	for (size_t off = 0; off < rv->win.sig.len; off += SIG_CHUNK)
		proto_put_raw(&c->out, MSG_SIG, rv->win.sig.p + off, rv->win.sig.len - off < SIG_CHUNK ? rv->win.sig.len - off : SIG_CHUNK);
	proto_put_u64(&c->out, MSG_SIG_END, rv->win.sig.len);
	rv->win.basis_fd[slot] = fd;
	rv->win.basis_size[slot] = (uint64_t)sb.st_size;
	rv->win.deltas_out++;
	return 1;
}

static int pump_requests(struct receiver *rv)
{
	struct entry probe;
	int rc, err = 0;

	if (rv->win.done)
		return 0;
	entry_init(&probe);
	while (rv->win.n < RECV_WINDOW) {
		struct entry *t = &rv->win.item.theirs;
		if ((rc = plan_next(rv, rv->win.cur, &rv->win.item)) <= 0) {
			err = rc;
			rv->win.done = 1;
			break;
		}
		if (!rv->win.item.fetch)
			continue;
		/* held here already, or asked for once in this session: copied locally */
		sqlite3_bind_blob(rv->plan.req_seen, 1, t->hash, MM_HASH_LEN, SQLITE_STATIC);
		rc = sqlite3_step(rv->plan.req_seen);
		sqlite3_reset(rv->plan.req_seen);
		if (rc == SQLITE_ROW)
			continue;
		if (store_find_hash(rv->ph->r->store, t->hash, &probe) == 0 && !plan_touches(rv, probe.path, rv->win.item.phase))
			continue;
		int slot = (int)((rv->win.head + rv->win.n) % RECV_WINDOW);
		if (ask_delta(rv, &rv->win.item, slot)) {
			rv->win.fifo[slot] = rv->win.item.n;
			rv->win.n++;
			if ((err = conn_flush_over(rv->ph->c, 1u << 20)) < 0)
				break;
			continue;
		}
		/* only content written as it is (not merged, not set aside) is a source for the next item */
		if (rv->win.item.action == REC_UPDATE) {
			sqlite3_bind_blob(rv->plan.req_put, 1, t->hash, MM_HASH_LEN, SQLITE_STATIC);
			rc = sqlite3_step(rv->plan.req_put);
			sqlite3_reset(rv->plan.req_put);
			if (rc != SQLITE_DONE) {
				err = db_fail(rv, "writing");
				break;
			}
		}
		proto_put_request(&rv->ph->c->out, t->hash);
		rv->win.fifo[(rv->win.head + rv->win.n) % RECV_WINDOW] = rv->win.item.n;
		rv->win.n++;
	}
	entry_dispose(&probe);
	if (err == 0)
		err = conn_flush(rv->ph->c);
	return err;
}

static void progress(struct receiver *rv)
{
	const struct phase *ph = rv->ph;

	if (ph->on_progress) {
		rv->prog.wire_in = ph->c->bytes_in;
		rv->prog.wire_out = ph->c->bytes_out;
		ph->on_progress(ph->arg, &rv->prog);
	}
}

struct patch_sink {
	struct receiver *rv;
	struct apply_tmp *tmp; /* NULL: only read it off the stream */
	int write_err;
};

static int patch_write(void *arg, const void *p, size_t n)
{
	struct patch_sink *ps = arg;
	struct receiver *rv = ps->rv;
	int err;

	rv->prog.bytes_done += n;
	if (!ps->tmp || ps->write_err)
		return 0;
	if ((err = apply_tmp_write(rv->ap, ps->tmp, p, n)) < 0)
		ps->write_err = err;
	return 0;
}

/*
 * Reads a delta answer off the stream and patches the basis with it into
 * `tmp`.  A delta that is bad or does not reproduce the content's hash
 * sets rv->redo (the item is fetched whole in a second round) and *failed.
 */
static int get_delta(struct receiver *rv, struct plan_item *it, struct apply_tmp *tmp, int basis, uint64_t basis_size,
		     int *failed)
{
	struct conn *c = rv->ph->c;
	struct delta_patch *dp = NULL;
	struct patch_sink ps = {rv, tmp, 0};
	const uint8_t *p;
	size_t len;
	uint64_t total = 0, declared, written = 0;
	int type, err, bad = 0;

	if ((err = delta_patch_new(&dp, basis, basis_size, it->theirs.size, patch_write, &ps)) < 0)
		return err;
	for (;;) {
		if ((err = conn_recv(c, &type, &p, &len)) < 0)
			break;
		if (type == MSG_DELTA) {
			total += len;
			/* a bad delta is refused, but read to its end: the stream goes on */
			if (!bad && delta_patch_feed(dp, p, len) < 0) {
				bad = 1;
				snprintf(rv->why, sizeof(rv->why), "%s", mm_error_msg());
			}
			progress(rv);
			continue;
		}
		if (type == MSG_DELTA_END) {
			if ((err = proto_get_u64(&declared, p, len, "delta-end")) == 0 && declared != total)
				err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' miscounted the delta of '%s'",
						   c->peer, it->theirs.path);
			break;
		}
		if (type == MSG_MISSING) {
			err = proto_get_empty(p, len, "missing");
			*failed = 1;
			break;
		}
		err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' where a delta was due", c->peer,
				   proto_type_name(type));
		break;
	}
	if (err == 0 && !*failed) {
		if (!bad && delta_patch_done(dp, &written) < 0) {
			bad = 1;
			snprintf(rv->why, sizeof(rv->why), "%s", mm_error_msg());
		}
		if (!bad && tmp && !ps.write_err && !apply_tmp_matches(rv->ap, tmp, it->theirs.hash, it->theirs.size)) {
			bad = 1;
			snprintf(rv->why, sizeof(rv->why), "its delta did not reproduce it");
		}
		if (bad) {
			/* fetched whole in a second round */
			*failed = 1;
			rv->redo = 1;
		} else if (ps.write_err) {
			err = ps.write_err;
		}
	}
	delta_patch_free(dp);
	return err;
}

/*
 * Fills a temporary file beside `path` with the content of `theirs`: from
 * the connection when it was requested for this item, else from a local
 * copy.  *tmp is NULL (and the item failed) when the content could not be had.
 */
static int get_content(struct receiver *rv, struct plan_item *it, const char *path, struct apply_tmp **tmp)
{
	struct conn *c = rv->ph->c;
	int from_peer = rv->win.n && rv->win.fifo[rv->win.head] == it->n;
	int err, type, failed = 0;
	const uint8_t *p;
	size_t len;
	uint64_t total = 0;

	*tmp = NULL;
	snprintf(rv->why, sizeof(rv->why), "the peer no longer has its content; left for the next sync");
	if ((err = apply_tmp_begin(rv->ap, tmp, path)) < 0) {
		if (!from_peer)
			return err;
		snprintf(rv->why, sizeof(rv->why), "%s", mm_error_msg());
		failed = 1; /* still read what the peer sends for it */
	}
	if (*tmp && it->theirs.kind == ENTRY_FILE) {
		size_t max = rv->buf.keep_max > rv->mc.max_size ? rv->buf.keep_max : rv->mc.max_size;
		if (it->theirs.size <= max)
			apply_tmp_keep(*tmp, &rv->buf.theirs, max);
	}
	if (!from_peer) {
		err = apply_tmp_copy_local(rv->ap, *tmp, it->theirs.hash);
		if (err < 0) {
			snprintf(rv->why, sizeof(rv->why), "its local copy changed during the sync; left for the next sync");
			apply_tmp_abort(rv->ap, *tmp);
			*tmp = NULL;
			return err == MM_ENOTFOUND ? 0 : err;
		}
		return 0;
	}
	int slot = (int)rv->win.head;
	rv->win.head = (rv->win.head + 1) % RECV_WINDOW;
	rv->win.n--;
	if (rv->win.basis_fd[slot] >= 0) {
		int basis = rv->win.basis_fd[slot];
		rv->win.basis_fd[slot] = -1;
		rv->win.deltas_out--;
		err = get_delta(rv, it, failed ? NULL : *tmp, basis, rv->win.basis_size[slot], &failed);
		close(basis);
		goto out;
	}
	for (;;) {
		if ((err = conn_recv(c, &type, &p, &len)) < 0)
			break;
		if (type == MSG_DATA) {
			total += len;
			rv->prog.bytes_done += len;
			progress(rv);
			if (total > it->theirs.size) {
				err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent more than %llu bytes for '%s'",
						   c->peer, (unsigned long long)it->theirs.size, it->theirs.path);
				break;
			}
			if (!failed && (err = apply_tmp_write(rv->ap, *tmp, p, len)) < 0)
				break;
			continue;
		}
		if (type == MSG_DATA_END) {
			uint64_t n;
			if ((err = proto_get_u64(&n, p, len, "data-end")) == 0 && n != total)
				err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' miscounted '%s'", c->peer,
						   it->theirs.path);
			break;
		}
		if (type == MSG_MISSING) {
			err = proto_get_empty(p, len, "missing");
			failed = 1;
			break;
		}
		err = mm_error_set(MM_ECORRUPT, "protocol error: peer '%s' sent '%s' where content was due", c->peer,
				   proto_type_name(type));
		break;
	}
out:
	if (err < 0)
		rv->conn_error = 1;
	if (err < 0 || failed) {
		apply_tmp_abort(rv->ap, *tmp);
		*tmp = NULL;
	}
	return err;
}

static void item_failed(struct receiver *rv, const char *path, const char *why)
{
	if (rv->redo) {
		/* a delta that went wrong: the content is fetched whole once the plan is done */
		rv->redo = 0;
		sqlite3_bind_int64(rv->plan.retry_add, 1, rv->item.n);
		int rc = sqlite3_step(rv->plan.retry_add);
		sqlite3_reset(rv->plan.retry_add);
		if (rc == SQLITE_DONE) {
			rv->retries++;
			return;
		}
	}
	rv->ph->res->failed++;
	phase_event(rv->ph, EV_FAILED, path, why);
}

/* `row` = theirs with the vectors merged and marked as coming from the peer when nothing was added. */
static int merged_row(struct receiver *rv, struct entry *row, const struct entry *base, const struct entry *theirs,
		      const struct entry *ours)
{
	int err;

	if ((err = entry_copy(row, base)) < 0)
		return err;
	if (ours && (err = vv_merge(&row->vv, &ours->vv)) < 0)
		return mm_error_oom();
	if (base != theirs && (err = vv_merge(&row->vv, &theirs->vv)) < 0)
		return mm_error_oom();
	row->origin = vv_compare(&row->vv, &theirs->vv) == VV_EQUAL ? rv->ph->peer_id : 0;
	if (row->writer == 0)
		row->writer = theirs->writer;
	return 0;
}

/*
 * When the content just put in `tmp` was kept whole and is text, it goes
 * to the bases store: *base gets its blob id (NULL otherwise).
 */
static int base_of(struct receiver *rv, struct apply_tmp *tmp, const struct entry *row, const uint8_t **base)
{
	static _Thread_local uint8_t oid[BASES_OID_LEN];
	struct bases *b;
	int err;

	*base = NULL;
	if (!apply_tmp_kept(tmp) || rv->buf.theirs.len > rv->mc.max_size || row->size != rv->buf.theirs.len ||
	    !text_is_text(rv->buf.theirs.p, rv->buf.theirs.len))
		return 0;
	if ((err = replica_bases(rv->ph->r, &b)) < 0 || (err = bases_put(b, rv->buf.theirs.p, rv->buf.theirs.len, oid)) < 0)
		return err;
	*base = oid;
	return 0;
}

/* Writes the live entry `row` at row->path, where `ours` must still be (NULL: absent). */
static int write_entry(struct receiver *rv, struct plan_item *it, const struct entry *row, const struct entry *ours,
		       int local, struct apply_tmp *pre)
{
	struct apply_tmp *tmp;
	const uint8_t *base;
	int err;

	if (pre && row->kind != ENTRY_FILE)
		apply_tmp_abort(rv->ap, pre);
	switch (row->kind) {
	case ENTRY_DIR:
		return apply_mkdir(rv->ap, row, ours, local);
	case ENTRY_LINK:
		return apply_symlink(rv->ap, row, ours, local);
	case ENTRY_FILE:
		/* the same copy made here and there (both sides kept the same conflict): take it as is */
		if (!pre && !local && (!ours || ours->kind == ENTRY_DELETED) &&
		    ((err = apply_take_pending(rv->ap, row)) != 0 || (err = apply_adopt(rv->ap, row)) != 0))
			return err;
		if (!pre && ours && ours->kind == ENTRY_FILE && ours->has_hash &&
		    !memcmp(ours->hash, row->hash, MM_HASH_LEN) && !it->fetch)
			return apply_chmod(rv->ap, row, ours);
		if (pre) {
			tmp = pre;
		} else {
			if ((err = get_content(rv, it, it->theirs.path, &tmp)) < 0)
				return err;
			if (!tmp) {
				item_failed(rv, row->path, rv->why);
				return 0;
			}
		}
		if ((err = base_of(rv, tmp, row, &base)) < 0) {
			apply_tmp_abort(rv->ap, tmp);
			return err;
		}
		err = apply_tmp_commit(rv->ap, tmp, row, ours, local, base);
		if (err == MM_ECORRUPT) {
			item_failed(rv, row->path, mm_error_msg());
			return 0;
		}
		return err < 0 ? err : 1;
	default:
		return 0;
	}
}

/* Reads and drops the content requested for an item that will not use it. */
static int skip_content(struct receiver *rv, struct plan_item *it)
{
	struct apply_tmp *tmp = NULL;
	int err;

	if (!(it->fetch && rv->win.n && rv->win.fifo[rv->win.head] == it->n))
		return 0;
	err = get_content(rv, it, it->theirs.path, &tmp);
	apply_tmp_abort(rv->ap, tmp);
	return err;
}

/* STEM.conflict-YYYYMMDD-HHMMSS-NAME.EXT beside `path`, for the version `loser`. */
static int conflict_name(struct receiver *rv, char *out, size_t size, const char *path, const struct entry *loser)
{
	char name[65];
	const char *base = strrchr(path, '/'), *dot;
	size_t dirlen, stemlen;
	time_t t = (time_t)(loser->mtime_ns / 1000000000LL);
	struct tm tm;
	char stamp[32];
	int n;

	base = base ? base + 1 : path;
	dirlen = (size_t)(base - path);
	dot = strrchr(base, '.');
	if (dot == base)
		dot = NULL; /* only a leading dot: no extension */
	stemlen = dot ? (size_t)(dot - base) : strlen(base);
	if (loser->writer == rv->ph->r->id)
		snprintf(name, sizeof(name), "%s", rv->ph->r->name);
	else if (store_replica_name(rv->ph->r->store, loser->writer, name) < 0 || !name[0])
		vv_id_format(name, loser->writer);
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	/*
	 * Two versions by one replica in one second may both lose: the second
	 * copy takes the first free NAME-2, NAME-3, ... (still a replica name to
	 * a reader), so no copy ever lands on another.
	 */
	for (int k = 1; k < 100; k++) {
		char suffix[8] = "";
		struct stat sb;
		const char *leaf;
		int dirfd, taken;
		if (k > 1)
			snprintf(suffix, sizeof(suffix), "-%d", k);
		n = snprintf(out, size, "%.*s%.*s.conflict-%s-%s%s%s", (int)dirlen, path, (int)stemlen, base, stamp,
			     name, suffix, dot ? dot : "");
		if (n < 0 || (size_t)n >= size || !path_valid(out, strlen(out)) || strlen(out) - dirlen > MM_NAME_MAX)
			return mm_error_set(MM_EINVAL, "no room for a conflict copy of '%s'", path);
		taken = store_get(rv->ph->r->store, out, &rv->probe) == 0 && rv->probe.kind != ENTRY_DELETED;
		if (!taken && fs_open_parent(&dirfd, &leaf, rv->ph->r->rootfd, out) == 0) {
			taken = fstatat(dirfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0;
			close(dirfd);
		}
		/* nor on a path this sync brings from the peer */
		if (!taken && !apply_pending_has(rv->ap, out) && !plan_has(rv, out))
			return 0;
	}
	return mm_error_set(MM_EINVAL, "no free name for a conflict copy of '%s'", path);
}

/* The name of replica `id` for labels and copies. */
static void writer_name(struct receiver *rv, uint64_t id, char name[65])
{
	if (id == rv->ph->r->id)
		snprintf(name, 65, "%s", rv->ph->r->name);
	else if (store_replica_name(rv->ph->r->store, id, name) < 0 || !name[0])
		vv_id_format(name, id);
}

/* Reads our version of a file (at most `max` bytes) into rv->buf.ours: 1 when it still has ours->hash. */
static int read_ours(struct receiver *rv, const struct entry *ours, size_t max)
{
	uint8_t h[MM_HASH_LEN];
	struct hasher *hs;
	int fd, ok = 0;

	wbuf_reset(&rv->buf.ours);
	if (ours->size > max || fs_open_beneath(&fd, rv->ph->r->rootfd, ours->path, O_RDONLY | O_NONBLOCK, 0) < 0)
		return 0;
	for (;;) {
		uint8_t *p = wbuf_grow(&rv->buf.ours, 65536);
		ssize_t n;
		if (!p)
			break;
		rv->buf.ours.len -= 65536;
		do
			n = read(fd, p, 65536);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		rv->buf.ours.len += (size_t)n;
		if (rv->buf.ours.len > max) {
			ok = 0;
			break;
		}
	}
	close(fd);
	if (!ok || hasher_new(&hs) < 0)
		return 0;
	ok = hasher_buf(hs, rv->buf.ours.p, rv->buf.ours.len, h) == 0 && !memcmp(h, ours->hash, MM_HASH_LEN);
	hasher_free(hs);
	return ok;
}

/* 1 when rv->buf.theirs holds exactly the content `theirs` announces. */
static int theirs_kept(struct receiver *rv, struct apply_tmp *tmp, const struct entry *theirs)
{
	uint8_t h[MM_HASH_LEN];
	struct hasher *hs;
	int ok;

	if (!tmp || !apply_tmp_kept(tmp) || rv->buf.theirs.len != theirs->size || hasher_new(&hs) < 0)
		return 0;
	ok = hasher_buf(hs, rv->buf.theirs.p, rv->buf.theirs.len, h) == 0 && !memcmp(h, theirs->hash, MM_HASH_LEN);
	hasher_free(hs);
	return ok;
}

/* Writes `content` at row->path as a new local version (`ours`: what the path must still hold). */
static int write_local(struct receiver *rv, struct entry *row, const struct entry *ours, const void *content,
		       size_t len)
{
	struct apply_tmp *t;
	struct hasher *hs;
	struct bases *b;
	uint8_t oid[BASES_OID_LEN];
	int err;

	row->size = len;
	row->has_hash = 1;
	/* made here and now: its modification time is the one set last */
	row->mstamp_ns = row->mtime_ns;
	if ((err = hasher_new(&hs)) < 0)
		return err;
	err = hasher_buf(hs, content, len, row->hash);
	hasher_free(hs);
	if (err < 0 || (err = replica_bases(rv->ph->r, &b)) < 0 || (err = bases_put(b, content, len, oid)) < 0 ||
	    (err = apply_tmp_begin(rv->ap, &t, row->path)) < 0)
		return err;
	if ((err = apply_tmp_write(rv->ap, t, content, len)) < 0) {
		apply_tmp_abort(rv->ap, t);
		return err;
	}
	return apply_tmp_commit(rv->ap, t, row, ours, 1, oid);
}

enum { MERGE_NO, MERGE_DONE, MERGE_MARKERS };

/*
 * Tries a three-way merge of two concurrent versions of a text file against
 * their latest common ancestor.  On MERGE_DONE the merged version is
 * written; on MERGE_MARKERS rv->buf.ours holds the diff3 result to write.
 * *tmp holds their content when it was fetched; *kind says "binary" when a
 * side is not text.
 */
static int try_merge(struct receiver *rv, struct plan_item *it, struct entry *ours, struct apply_tmp **tmp,
		     const char **kind, uint8_t base_oid[BASES_OID_LEN], int *has_base)
{
	struct entry *theirs = &it->theirs;
	struct merge_text base, a, b;
	struct bases *bs;
	char na[65], nb[65];
	void *bdata = NULL, *out = NULL;
	size_t blen, olen;
	struct entry row;
	uint32_t base_mode = 0;
	int err, clean, ours_first;

	*has_base = 0;
	if (!merge_allowed(&rv->mc, theirs->path, ours->size) || !merge_allowed(&rv->mc, theirs->path, theirs->size))
		return MERGE_NO;
	if ((err = get_content(rv, it, theirs->path, tmp)) < 0)
		return err;
	if (!theirs_kept(rv, *tmp, theirs) || !read_ours(rv, ours, rv->mc.max_size))
		return MERGE_NO;
	if (!text_is_text(rv->buf.theirs.p, rv->buf.theirs.len) || !text_is_text(rv->buf.ours.p, rv->buf.ours.len)) {
		*kind = "binary";
		return MERGE_NO;
	}
	if (store_history_base(rv->ph->r->store, theirs->path, &ours->vv, &theirs->vv, base_oid, &base_mode) < 0)
		return MERGE_NO;
	if ((err = replica_bases(rv->ph->r, &bs)) < 0)
		return err;
	if (bases_get(bs, base_oid, &bdata, &blen) < 0)
		return MERGE_NO;
	*has_base = 1;
	/* the same inputs in the same order on every replica: the same result everywhere */
	ours_first = memcmp(ours->hash, theirs->hash, MM_HASH_LEN) < 0;
	writer_name(rv, ours->writer, ours_first ? na : nb);
	writer_name(rv, theirs->writer, ours_first ? nb : na);
	base.p = bdata;
	base.len = blen;
	base.label = "base";
	a.p = ours_first ? rv->buf.ours.p : rv->buf.theirs.p;
	a.len = ours_first ? rv->buf.ours.len : rv->buf.theirs.len;
	a.label = na;
	b.p = ours_first ? rv->buf.theirs.p : rv->buf.ours.p;
	b.len = ours_first ? rv->buf.theirs.len : rv->buf.ours.len;
	b.label = nb;
	err = merge_run(&out, &olen, &clean, &base, &a, &b, rv->mc.markers);
	free(bdata);
	if (err < 0 || (!clean && !rv->mc.markers) || !out) {
		free(out);
		return err < 0 ? err : MERGE_NO;
	}
	if (!clean) {
		/* markers: the caller writes them once the copy is safe */
		wbuf_reset(&rv->buf.ours);
		put_bytes(&rv->buf.ours, out, olen);
		free(out);
		return rv->buf.ours.oom ? mm_error_oom() : MERGE_MARKERS;
	}
	/* their version is a version we saw: a base for later merges too */
	{
		uint8_t toid[BASES_OID_LEN];
		if ((err = bases_put(bs, rv->buf.theirs.p, rv->buf.theirs.len, toid)) < 0 ||
		    (err = apply_history(rv->ap, theirs->path, &theirs->vv, toid, theirs->mode, 0)) < 0) {
			free(out);
			return err;
		}
	}
	apply_tmp_abort(rv->ap, *tmp);
	*tmp = NULL;
	entry_init(&row);
	if ((err = merged_row(rv, &row, ours, theirs, ours)) == 0) {
		/* the permission bits merge three ways too: a side that changed them wins */
		if (base_mode && ours->mode == base_mode)
			row.mode = theirs->mode;
		else if (base_mode && theirs->mode == base_mode)
			row.mode = ours->mode;
		else
			row.mode = reconcile_winner(ours, theirs) == REC_OURS ? ours->mode : theirs->mode;
		row.mtime_ns = (int64_t)time(NULL) * 1000000000LL;
		row.origin = 0;
		row.flags = 0;
		err = write_local(rv, &row, ours, out, olen);
	}
	entry_dispose(&row);
	free(out);
	if (err == MM_ECORRUPT) {
		item_failed(rv, theirs->path, mm_error_msg());
		return MERGE_DONE;
	}
	if (err < 0)
		return err;
	rv->merged++;
	rv->ph->res->merged++;
	phase_event(rv->ph, EV_MERGED, theirs->path, NULL);
	return MERGE_DONE;
}

/*
 * A policy other than keep-both settles the conflict: the winner stays, the
 * loser's content goes to the bases store (named in the log, kept for
 * gc.retention).  1 done, 0 when the policy cannot apply here (keep both).
 */
static int apply_policy(struct receiver *rv, struct plan_item *it, struct entry *ours, struct apply_tmp **tmp)
{
	struct entry *theirs = &it->theirs, row;
	char name[65], wname[65], lname[65], hex[2 * BASES_OID_LEN + 1];
	enum merge_policy pol = merge_policy_for(&rv->mc, theirs->path, name);
	struct bases *bs;
	uint8_t oid[BASES_OID_LEN];
	int winner, err, rc;
	const struct entry *loser;

	if (pol == POLICY_KEEP_BOTH || ours->kind != ENTRY_FILE || theirs->kind != ENTRY_FILE)
		return 0;
	if (pol == POLICY_PREFER) {
		char on[65], tn[65];
		writer_name(rv, ours->writer, on);
		writer_name(rv, theirs->writer, tn);
		if (!strcmp(on, name) == !strcmp(tn, name))
			return 0; /* neither side (or both) is the preferred replica */
		winner = !strcmp(on, name) ? REC_OURS : REC_THEIRS;
	} else {
		winner = reconcile_winner(ours, theirs);
	}
	loser = winner == REC_OURS ? theirs : ours;
	/* the loser must be had whole before anything is replaced */
	if (!*tmp) {
		rv->buf.keep_max = POLICY_KEEP_MAX;
		err = get_content(rv, it, theirs->path, tmp);
		rv->buf.keep_max = 0;
		if (err < 0)
			return err;
	}
	if (winner == REC_OURS ? !theirs_kept(rv, *tmp, theirs) : !read_ours(rv, ours, POLICY_KEEP_MAX))
		return 0;
	if ((err = replica_bases(rv->ph->r, &bs)) < 0)
		return err;
	if (winner == REC_OURS)
		err = bases_put(bs, rv->buf.theirs.p, rv->buf.theirs.len, oid);
	else
		err = bases_put(bs, rv->buf.ours.p, rv->buf.ours.len, oid);
	if (err < 0 || (err = apply_history(rv->ap, theirs->path, &loser->vv, oid, loser->mode, HISTORY_LOSER)) < 0)
		return err;
	entry_init(&row);
	if (winner == REC_THEIRS) {
		err = merged_row(rv, &row, theirs, theirs, ours);
		if (err == 0) {
			struct apply_tmp *t = *tmp;
			*tmp = NULL;
			rc = write_entry(rv, it, &row, ours, 0, t);
			err = rc < 0 ? rc : 0;
		}
	} else {
		/* ours stays: a new version of ours, so that no two replicas hold different content under one vector */
		if ((err = merged_row(rv, &row, ours, theirs, ours)) == 0)
			err = apply_record(rv->ap, &row, 1);
	}
	entry_dispose(&row);
	if (err < 0)
		return err;
	writer_name(rv, (winner == REC_OURS ? ours : theirs)->writer, wname);
	writer_name(rv, loser->writer, lname);
	for (int i = 0; i < BASES_OID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", oid[i]);
	{
		char detail[256];
		snprintf(detail, sizeof(detail), "policy %s: kept %s's version; %s's is kept as base %s",
			 pol == POLICY_PREFER ? "prefer" : "prefer-newer", wname, lname, hex);
		phase_event(rv->ph, EV_KEPT, theirs->path, detail);
	}
	return 1;
}

/*
 * Concurrent, different versions: merged when they are text with a known
 * common ancestor; else settled by a policy; else the winner stays at the
 * path and the other version goes beside it.
 */
static int do_conflict(struct receiver *rv, struct plan_item *it, struct entry *ours)
{
	struct entry *theirs = &it->theirs;
	struct entry row, copy;
	struct store_conflict c = {0};
	struct apply_tmp *tmp = NULL;
	char copy_path[MM_PATH_MAX + 1];
	int winner = reconcile_winner(ours, theirs);
	const struct entry *loser = winner == REC_THEIRS ? ours : theirs;
	const char *kind = reconcile_conflict_kind(ours, theirs);
	uint8_t base_oid[BASES_OID_LEN];
	int err = 0, rc, merge = MERGE_NO, has_base = 0;

	entry_init(&row);
	entry_init(&copy);
	if (ours->kind == ENTRY_FILE && theirs->kind == ENTRY_FILE) {
		if ((merge = try_merge(rv, it, ours, &tmp, &kind, base_oid, &has_base)) < 0) {
			err = merge;
			goto done;
		}
		if (merge == MERGE_DONE)
			goto done;
		if (merge == MERGE_NO && (rc = apply_policy(rv, it, ours, &tmp)) != 0) {
			err = rc < 0 ? rc : 0;
			goto done;
		}
	}
	/* their content first: nothing of ours moves unless theirs can take its place */
	if (theirs->kind == ENTRY_FILE && !tmp && merge != MERGE_MARKERS) {
		if ((err = get_content(rv, it, theirs->path, &tmp)) < 0)
			goto done;
		if (!tmp) {
			item_failed(rv, theirs->path, rv->why);
			goto done;
		}
	}
	if ((err = conflict_name(rv, copy_path, sizeof(copy_path), theirs->path, loser)) < 0) {
		item_failed(rv, theirs->path, mm_error_msg());
		err = 0;
		goto done;
	}
	/* the copy is a new local file holding the loser's version */
	if ((err = entry_copy(&copy, loser)) < 0 || (err = entry_set_path(&copy, copy_path, strlen(copy_path))) < 0)
		goto done;
	vv_clear(&copy.vv);
	copy.origin = 0;
	copy.flags = 0;
	if (winner == REC_THEIRS) {
		if ((rc = apply_move_aside(rv->ap, ours, &copy)) <= 0) {
			err = rc;
			goto done;
		}
		if ((err = merged_row(rv, &row, theirs, theirs, ours)) < 0)
			goto done;
		if (merge == MERGE_MARKERS) {
			/* the winner's content stays a base: the markers replace it at the path */
			apply_tmp_abort(rv->ap, tmp);
			tmp = NULL;
			row.origin = 0;
			row.mtime_ns = (int64_t)time(NULL) * 1000000000LL;
			if ((err = write_local(rv, &row, NULL, rv->buf.ours.p, rv->buf.ours.len)) < 0)
				goto done;
		} else {
			rc = write_entry(rv, it, &row, NULL, 0, tmp);
			tmp = NULL;
			if (rc < 0) {
				err = rc;
				goto done;
			}
		}
	} else {
		if ((err = merged_row(rv, &row, ours, theirs, ours)) < 0)
			goto done;
		rc = write_entry(rv, it, &copy, NULL, 1, tmp);
		tmp = NULL;
		if (rc <= 0) {
			err = rc;
			goto done;
		}
		if (merge == MERGE_MARKERS) {
			row.origin = 0;
			row.mtime_ns = (int64_t)time(NULL) * 1000000000LL;
			err = write_local(rv, &row, ours, rv->buf.ours.p, rv->buf.ours.len);
		} else {
			/* ours stays at the path: as a new version (see REC_KEEP_OURS in do_item) */
			err = apply_record(rv->ap, &row, 1);
		}
		if (err < 0)
			goto done;
	}
	c.path = theirs->path;
	c.copy = copy_path;
	snprintf(c.kind, sizeof(c.kind), "%s", kind);
	c.detected_ns = (int64_t)time(NULL) * 1000000000LL;
	c.ours = winner == REC_THEIRS ? theirs->writer : ours->writer;
	c.theirs = loser->writer;
	c.has_base = has_base;
	memcpy(c.base, base_oid, sizeof(c.base));
	if ((err = store_conflict_put(rv->ph->r->store, &c)) < 0)
		goto done;
	rv->ph->res->conflicts++;
	rv->conflicts++;
	phase_event(rv->ph, EV_CONFLICT, theirs->path, copy_path);
done:
	apply_tmp_abort(rv->ap, tmp);
	entry_dispose(&row);
	entry_dispose(&copy);
	return err;
}

/* A conflict copy made on another replica arrived: the conflict is open here too. */
static int note_copy(struct receiver *rv, const struct entry *theirs)
{
	char orig[MM_PATH_MAX + 1], name[65];
	struct store_conflict c = {0};
	struct store *s = rv->ph->r->store;
	int err;

	if (theirs->kind == ENTRY_DELETED || !reconcile_copy_of(theirs->path, orig, sizeof(orig), name))
		return 0;
	if ((err = store_conflict_has(s, orig, theirs->path)) != 0)
		return err < 0 ? err : 0; /* already open here */
	/* the original may arrive in this very sync: then the peer's row says what it is */
	err = plan_get(rv, orig, &rv->ours);
	if (err == MM_ENOTFOUND)
		err = store_get(s, orig, &rv->ours);
	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	c.path = orig;
	c.copy = theirs->path;
	/* what the copy's content was just read as tells text from binary */
	snprintf(c.kind, sizeof(c.kind), "%s",
		 err == 0 && rv->ours.kind != theirs->kind ? "type"
		 : theirs->kind == ENTRY_FILE && (rv->buf.theirs.len != theirs->size ||
						  !text_is_text(rv->buf.theirs.p, rv->buf.theirs.len))
			 ? "binary"
			 : "content");
	c.detected_ns = (int64_t)time(NULL) * 1000000000LL;
	c.ours = err == 0 ? rv->ours.writer : 0;
	c.theirs = 0;
	c.path = orig;
	err = store_conflict_put(s, &c);
	c.path = c.copy = NULL;
	return err;
}

/* Carries out one plan item. */
static int do_item(struct receiver *rv, struct plan_item *it)
{
	struct entry *theirs = &it->theirs;
	struct entry *ours = NULL, row;
	int err, rc;

	err = store_get(rv->ph->r->store, theirs->path, &rv->ours);
	if (err < 0 && err != MM_ENOTFOUND)
		return err;
	if (err == 0)
		ours = &rv->ours;
	entry_init(&row);
	switch (it->action) {
	case REC_TOUCH:
		/* the same version, their modification time set later: take it */
		if (!ours || (err = merged_row(rv, &row, ours, theirs, ours)) < 0)
			break;
		row.mtime_ns = theirs->mtime_ns;
		row.mstamp_ns = theirs->mstamp_ns;
		if ((rc = apply_touch(rv->ap, &row, ours)) < 0)
			err = rc;
		else if (rc > 0)
			phase_event(rv->ph, EV_RECEIVED, theirs->path, NULL);
		break;
	case REC_RECORD:
	case REC_MERGE_VV:
	case REC_KEEP_OURS:
		/* nothing changes on disk: only the vectors meet */
		if ((err = merged_row(rv, &row, ours && it->action != REC_RECORD ? ours : theirs, theirs, ours)) < 0)
			break;
		if (it->action == REC_MERGE_VV && ours && ours->kind == ENTRY_FILE && reconcile_same(ours, theirs) &&
		    reconcile_newer_mtime(ours, theirs)) {
			/* the same content, a later-set modification time: it travels too */
			row.mtime_ns = theirs->mtime_ns;
			row.mstamp_ns = theirs->mstamp_ns;
			rc = apply_touch(rv->ap, &row, ours);
			err = rc < 0 ? rc : 0;
			break;
		}
		/*
		 * When ours stays over something different of theirs (an edit over
		 * a deletion, a winner's permission bits), the row is a new version:
		 * the merged vector alone could name different content on another
		 * replica that settled another pair.
		 */
		err = apply_record(rv->ap, &row,
				   it->action != REC_RECORD && ours && !reconcile_same(ours, theirs));
		if (it->action == REC_KEEP_OURS) {
			rv->kept++;
			phase_event(rv->ph, EV_KEPT, theirs->path, "edited here, deleted there: the edit is kept");
		}
		break;
	case REC_UPDATE:
		if ((err = merged_row(rv, &row, theirs, theirs, ours)) < 0)
			break;
		if (theirs->kind == ENTRY_DELETED) {
			if (!ours || ours->kind == ENTRY_DELETED) {
				err = apply_record(rv->ap, &row, 0);
				break;
			}
			if ((rc = apply_remove(rv->ap, ours)) < 0) {
				err = rc;
			} else if (rc > 0) {
				err = apply_record(rv->ap, &row, 0);
				phase_event(rv->ph, EV_DELETED, theirs->path, NULL);
			} else if (ours->kind == ENTRY_DIR && apply_target_matches(rv->ap, ours->path, ours) == 1) {
				/* something here still lives in it: the directory stays, as a new version */
				struct entry keep;
				entry_init(&keep);
				if ((err = entry_copy(&keep, ours)) == 0 && vv_merge(&keep.vv, &theirs->vv) == 0)
					err = apply_record(rv->ap, &keep, 1);
				entry_dispose(&keep);
				phase_event(rv->ph, EV_KEPT, theirs->path, "deleted there, but not empty here: kept");
			}
			break;
		}
		if (ours && ours->kind == ENTRY_DELETED && vv_compare(&theirs->vv, &ours->vv) == VV_CONCURRENT)
			phase_event(rv->ph, EV_KEPT, theirs->path, "deleted here, edited there: the edit is restored");
		if (it->phase == PHASE_AFTER && ours && ours->kind == ENTRY_DIR) {
			/* a directory replaced by a file or link: only once it is empty */
			if ((rc = apply_remove(rv->ap, ours)) < 0) {
				err = rc;
				break;
			}
			if (rc == 0) {
				err = do_conflict(rv, it, ours);
				break;
			}
			ours = NULL;
		}
		if ((rc = write_entry(rv, it, &row, ours, 0, NULL)) < 0) {
			err = rc;
		} else if (rc > 0) {
			phase_event(rv->ph, EV_RECEIVED, theirs->path, NULL);
			err = note_copy(rv, theirs);
		}
		break;
	case REC_CONFLICT:
		err = ours ? do_conflict(rv, it, ours) : mm_error_set(MM_ERROR, "conflict without a local version");
		break;
	default:
		err = mm_error_set(MM_ERROR, "bad plan action %d", it->action);
	}
	entry_dispose(&row);
	return err;
}

/* Runs the plan rows that `sql` selects: requests kept ahead, each applied in order. */
static int run(struct receiver *rv, const char *sql)
{
	int phase = 0, rc, err = 0;

	rv->win.done = 0;
	if (sqlite3_prepare_v2(rv->plan.db, sql, -1, &rv->win.cur, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(rv->plan.db, sql, -1, &rv->apply_cur, NULL) != SQLITE_OK)
		return db_fail(rv, "reading");
	for (;;) {
		if ((err = pump_requests(rv)) < 0)
			break;
		if ((rc = plan_next(rv, rv->apply_cur, &rv->item)) <= 0) {
			err = rc;
			break;
		}
		/* a phase ends with its batch: deletions never race renames still queued */
		if (rv->item.phase != phase) {
			if ((err = apply_flush(rv->ap)) < 0)
				break;
			phase = rv->item.phase;
		}
		rv->redo = 0;
		if ((err = do_item(rv, &rv->item)) < 0) {
			/* one path that cannot be written fails alone; a broken stream or store ends it all */
			if (rv->conn_error || apply_broken(rv->ap) || err == MM_ENOMEM || err == MM_ECORRUPT)
				break;
			item_failed(rv, rv->item.theirs.path, mm_error_msg());
			err = 0;
		}
		/* content requested for an item that did not use it must still be read off the stream */
		if ((err = skip_content(rv, &rv->item)) < 0)
			break;
		rv->prog.files_done++;
		progress(rv);
	}
	if (err == 0)
		err = apply_flush(rv->ap);
	sqlite3_finalize(rv->win.cur);
	sqlite3_finalize(rv->apply_cur);
	rv->win.cur = rv->apply_cur = NULL;
	return err;
}

static int execute(struct receiver *rv)
{
	int err = run(rv, plan_order);

	/* what came as a delta that did not reproduce it: fetched whole now */
	if (err == 0 && rv->retries) {
		rv->win.no_delta = 1;
		rv->prog.files_total += rv->retries;
		err = run(rv, "SELECT n, phase, action, fetch, row FROM retry ORDER BY phase, n");
	}
	return err;
}

static void on_apply_warning(void *arg, const char *path, const char *msg)
{
	struct receiver *rv = arg;

	phase_event(rv->ph, EV_SKIPPED, path, msg);
}

int receive_phase(struct phase *ph)
{
	struct receiver rv;
	struct store_peer peer;
	struct msg_done done = {0};
	uint64_t since = 0, max_seq = 0;
	const struct apply_stats *as;
	int err;

	memset(&rv, 0, sizeof(rv));
	rv.ph = ph;
	for (int i = 0; i < RECV_WINDOW; i++)
		rv.win.basis_fd[i] = -1;
	wbuf_init(&rv.win.sig);
	rv.failed_before = ph->res->failed;
	entry_init(&rv.ours);
	entry_init(&rv.probe);
	entry_init(&rv.item.theirs);
	entry_init(&rv.win.item.theirs);
	wbuf_init(&rv.plan.enc);
	wbuf_init(&rv.buf.theirs);
	wbuf_init(&rv.buf.ours);
	if ((err = merge_config_load(&rv.mc, ph->r->config)) < 0)
		return err;
	int64_t dmin = DELTA_MIN_SIZE;
	if ((err = config_get_int(ph->r->config, "sync.deltaMinSize", DELTA_MIN_SIZE, &dmin)) < 0) {
		merge_config_dispose(&rv.mc);
		return err;
	}
	rv.win.delta_min = dmin < 0 ? 0 : (uint64_t)dmin;
	err = store_peer_get(ph->r->store, ph->peer_id, &peer);
	if (err < 0 && err != MM_ENOTFOUND)
		goto done;
	/* a peer whose store was made anew starts again from nothing */
	if (err == 0 && peer.index_id == ph->peer_index_id)
		since = peer.seen_seq;
	proto_put_u64(&ph->c->out, MSG_WANT, since);
	if ((err = conn_flush(ph->c)) < 0 || (err = plan_open(&rv)) < 0 || (err = ignore_load(&rv.ig, ph->r->rootfd)) < 0 ||
	    (err = apply_open(&rv.ap, ph->r, on_apply_warning, &rv)) < 0)
		goto done;
	if ((err = receive_index(&rv, &max_seq)) < 0)
		goto done;
	if ((err = execute(&rv)) < 0)
		goto done;
	as = apply_stats(rv.ap);
	ph->res->files_in += as->files;
	ph->res->deleted += as->deleted;
	ph->res->skipped += as->skipped;
	done.files = as->files;
	done.bytes = as->bytes;
	done.deleted = as->deleted;
	done.conflicts = rv.conflicts;
	done.merged = rv.merged;
	done.failed = ph->res->failed - rv.failed_before;
	proto_put_done(&ph->c->out, &done);
	if ((err = conn_flush(ph->c)) < 0)
		goto done;
	/* Advance only when everything asked for is here: otherwise the next sync sends it again. */
	if (ph->nfilters == 0 && done.failed == 0) {
		peer.id = ph->peer_id;
		peer.index_id = ph->peer_index_id;
		peer.seen_seq = max_seq;
		snprintf(peer.name, sizeof(peer.name), "%s", ph->peer_name);
		err = store_peer_put(ph->r->store, &peer);
	}
done:
	apply_free(rv.ap);
	ignore_free(rv.ig);
	plan_close(&rv);
	entry_dispose(&rv.ours);
	entry_dispose(&rv.probe);
	entry_dispose(&rv.item.theirs);
	entry_dispose(&rv.win.item.theirs);
	wbuf_dispose(&rv.plan.enc);
	wbuf_dispose(&rv.buf.theirs);
	wbuf_dispose(&rv.buf.ours);
	wbuf_dispose(&rv.win.sig);
	for (int i = 0; i < RECV_WINDOW; i++)
		if (rv.win.basis_fd[i] >= 0)
			close(rv.win.basis_fd[i]);
	merge_config_dispose(&rv.mc);
	return err;
}
