/* The scanner: see scan.h. */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bases.h"
#include "config.h"
#include "error.h"
#include "hash.h"
#include "ignore.h"
#include "merge.h"
#include "path.h"
#include "replica.h"
#include "store.h"
#include "text.h"
#include "wire.h"

#define SCAN_BATCH      10000
#define SCAN_RACY_NS    (2 * 1000000000LL)
#define SCAN_HASH_TRIES 3
/* with a progress callback, files this large are hashed in chunks of SCAN_CHUNK, calling back after each */
#define SCAN_PROGRESS_FILE (8 << 20)
#define SCAN_CHUNK         (1 << 20)

struct scan {
	struct replica *r;
	const struct scan_opts *o;
	struct scan_stats *st;
	struct store_iter *it;
	struct entry cur; /* the next stored row not yet matched with the tree */
	int have_cur;
	struct entry now; /* the state being recorded */
	struct hasher *h;
	struct ignore *ig;
	int64_t start_ns, racy_before;
	size_t batch, pending;
	char path[MM_PATH_MAX + 1];
	size_t len;
	struct merge_config mc;
	int keep_content;    /* keep bases of text files (not in a dry run) */
	struct wbuf content; /* the last file read whole */
	int text;            /* ... and it is text */
	int had_row;         /* the path being written had a stored row */
	unsigned ticks;      /* paths met, for on_progress */
	/* the deletion guard (scan.h): deletions wait until the whole tree was seen */
	int guard;
	uint64_t stored_live; /* live rows of the store the cursor met */
	struct wbuf deferred; /* the paths of the deletions held back, each ending in NUL */
	uint64_t ndeferred;
	uint64_t max_delete; /* sync.maxDelete: a percentage when max_delete_pct, else a number of paths */
	int max_delete_pct;
	uint8_t *chunk; /* SCAN_CHUNK bytes, for large files when on_progress is set */
};

/* 1 when `path` is `dir` itself or lies beneath it. */
static int at_or_beneath(const char *path, const char *dir, size_t dirlen)
{
	return !strncmp(path, dir, dirlen) && (path[dirlen] == '\0' || path[dirlen] == '/');
}

static void warn(struct scan *s, const char *path, const char *msg)
{
	if (s->o->on_warning)
		s->o->on_warning(s->o->ctx, path, msg);
}

static void warn_errno(struct scan *s, const char *what, int errnum)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errnum));
	warn(s, s->path, msg);
	s->st->skipped++;
}

/* Counts a path met; every SCAN_PROGRESS_EVERY of them, calls on_progress. */
static inline void tick(struct scan *s)
{
	if (s->o->on_progress && ++s->ticks % SCAN_PROGRESS_EVERY == 0)
		s->o->on_progress(s->o->ctx, s->st);
}

static int cursor_next(struct scan *s)
{
	int rc = store_iter_next(s->it, &s->cur);

	if (rc < 0)
		return rc;
	s->have_cur = rc;
	if (rc && s->cur.kind != ENTRY_DELETED)
		s->stored_live++;
	return 0;
}

/* Commits the open batch (the blobs its history names first) and opens the next. */
static int commit_batch(struct scan *s, int reopen)
{
	int err;

	if (s->r->bases && (err = bases_flush(s->r->bases)) < 0)
		return err;
	if ((err = store_commit(s->r->store)) < 0)
		return err;
	s->pending = 0;
	return reopen ? store_begin(s->r->store) : 0;
}

enum { ROW_CACHE, ROW_VERSION, ROW_META };

/*
 * Writes `e`: only its stat cache (ROW_CACHE), as a new local version
 * (ROW_VERSION), or as the same version with new metadata to pass on
 * (ROW_META: a touch); with `base`, also that this version held that blob
 * of the bases store.
 */
static int write_row(struct scan *s, struct entry *e, int how, const uint8_t *base)
{
	int err;

	if (s->o->flags & SCAN_DRY_RUN)
		return 0;
	if (how == ROW_META)
		e->origin = 0;
	err = how == ROW_VERSION ? store_put_local_change(s->r->store, e)
	      : how == ROW_META  ? store_put_next_seq(s->r->store, e)
	                         : store_put(s->r->store, e);
	if (err == 0 && base)
		err = store_history_add(s->r->store, e->path, &e->vv, base, e->mode, 0);
	else if (err == 0 && how == ROW_VERSION && s->had_row)
		/* a path seen for the first time has no history to mark (no lookup on a first scan) */
		err = store_history_mark(s->r->store, e);
	if (err < 0)
		return err;
	if (++s->pending >= s->batch || (s->r->bases && bases_pending(s->r->bases) >= BASES_FLUSH_BYTES))
		return commit_batch(s, 1);
	return 0;
}

static void report(struct scan *s, enum scan_change what, const struct entry *now, const struct entry *before)
{
	if (what == SCAN_ADDED)
		s->st->added++;
	else if (what == SCAN_MODIFIED)
		s->st->modified++;
	else if (what == SCAN_DELETED)
		s->st->deleted++;
	else
		s->st->damaged++;
	if (s->o->on_change)
		s->o->on_change(s->o->ctx, what, now, before);
}

/* Records the deletion of the live stored row `row`. */
static int record_deletion(struct scan *s, const struct entry *row)
{
	int err;

	if ((err = entry_copy(&s->now, row)) < 0)
		return err;
	s->now.kind = ENTRY_DELETED;
	s->now.mode = 0;
	s->now.size = 0;
	s->now.has_hash = 0;
	s->now.mtime_ns = s->start_ns;
	s->now.dev = s->now.ino = 0;
	s->now.ctime_ns = 0;
	s->now.flags = 0;
	entry_set_target(&s->now, NULL, 0);
	s->now.mstamp_ns = s->start_ns;
	s->had_row = 1;
	if ((err = write_row(s, &s->now, ROW_VERSION, NULL)) < 0)
		return err;
	report(s, SCAN_DELETED, &s->now, row);
	return 0;
}

/* A stored row whose path is no longer in the tree. */
static int missing(struct scan *s, struct entry *row)
{
	int ig, err;

	if (row->kind == ENTRY_DELETED)
		return 0;
	/* A path that became ignored is left alone here, never deleted elsewhere. */
	if ((ig = ignore_match(s->ig, row->path, row->kind == ENTRY_DIR)) != 0)
		return ig < 0 ? ig : 0;
	if (s->guard) {
		put_bytes(&s->deferred, row->path, strlen(row->path) + 1);
		if (s->deferred.oom)
			return mm_error_oom();
		s->ndeferred++;
	} else if ((err = record_deletion(s, row)) < 0) {
		return err;
	}
	tick(s);
	return 0;
}

/*
 * Reads sync.maxDelete into s->max_delete and s->max_delete_pct: "N%" of
 * the live paths, or N paths.  MM_ERROR (naming the key) for anything else.
 */
static int max_delete_load(struct scan *s)
{
	char *v = NULL, *end;
	unsigned long long n;
	int err;

	s->max_delete = SCAN_MAX_DELETE_PCT;
	s->max_delete_pct = 1;
	if ((err = config_get_string(s->r->config, "sync.maxdelete", &v)) == MM_ENOTFOUND)
		return 0;
	if (err < 0)
		return err;
	errno = 0;
	n = strtoull(v, &end, 10);
	s->max_delete_pct = *end == '%';
	if (errno || end == v || v[0] == '-' || end[s->max_delete_pct] != '\0' || (s->max_delete_pct && n > 100)) {
		err = mm_error_set(MM_ERROR,
		                   "sync.maxDelete is '%s': it must be a percentage (50%%) or a number of paths", v);
	} else {
		s->max_delete = n;
	}
	free(v);
	return err;
}

/* After the walk: 0 when the deletions held back may be recorded, 1 (the message set) when not. */
static int guard_refuses(struct scan *s)
{
	uint64_t live = s->st->files + s->st->dirs + s->st->links, limit = s->max_delete, gone;
	int pct = s->max_delete_pct;

	if (!s->ndeferred)
		return 0;
	if (live == 0) {
		mm_error_set(
		        MM_EREFUSED,
		        "replica '%s' is empty but %llu path%s recorded in it: is its disk not mounted? "
		        "Nothing was recorded as deleted; if %s deleted on purpose, run 'mmsync -C %s scan --force'",
		        s->r->root, (unsigned long long) s->ndeferred, s->ndeferred == 1 ? " was" : "s were",
		        s->ndeferred == 1 ? "it was" : "they were", s->r->root);
		return 1;
	}
	/* paths that appeared make up for as many gone: a renamed directory is not a deletion */
	gone = s->ndeferred > s->st->added ? s->ndeferred - s->st->added : 0;
	if (pct ? gone * 100 <= limit * s->stored_live : gone <= limit)
		return 0;
	mm_error_set(
	        MM_EREFUSED,
	        "replica '%s': %llu of its %llu paths are gone, more than sync.maxDelete (%llu%s) allows. "
	        "Nothing was recorded as deleted; if they were deleted on purpose, run 'mmsync -C %s scan --force'",
	        s->r->root, (unsigned long long) s->ndeferred, (unsigned long long) s->stored_live,
	        (unsigned long long) limit, pct ? "%" : " paths", s->r->root);
	return 1;
}

/* Records the deletions the guard let through. */
static int record_deferred(struct scan *s)
{
	struct entry row;
	int err = 0;

	entry_init(&row);
	for (size_t off = 0; off < s->deferred.len && err == 0;) {
		const char *path = (const char *) s->deferred.p + off;
		off += strlen(path) + 1;
		if ((err = store_get(s->r->store, path, &row)) == 0)
			err = record_deletion(s, &row);
	}
	entry_dispose(&row);
	return err;
}

/* Deals with every stored row before s->path; leaves the cursor at or past it. */
static int advance_to_path(struct scan *s)
{
	int err;

	while (s->have_cur && path_tree_cmp(s->cur.path, s->path) < 0) {
		if ((err = missing(s, &s->cur)) < 0 || (err = cursor_next(s)) < 0)
			return err;
	}
	return 0;
}

/* Moves the cursor past rows beneath s->path (and at it when `self`), leaving them as stored. */
static int keep_subtree(struct scan *s, int self)
{
	int err;

	while (s->have_cur && at_or_beneath(s->cur.path, s->path, s->len) && (self || s->cur.path[s->len] == '/')) {
		if ((err = cursor_next(s)) < 0)
			return err;
	}
	return 0;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t) t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* Reads all of `fd` (expected `size` bytes; more is read if it grew) into s->content. */
static int read_all(struct scan *s, int fd, size_t size, uint64_t *n)
{
	wbuf_reset(&s->content);
	for (;;) {
		uint8_t *p = wbuf_grow(&s->content, size + 1);
		ssize_t r;
		if (!p)
			return mm_error_oom();
		s->content.len -= size + 1;
		do
			r = read(fd, p, size + 1);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return mm_error_errno(MM_EIO, errno, "cannot read '%s'", s->path);
		if (r == 0)
			break;
		s->content.len += (size_t) r;
	}
	*n = s->content.len;
	return 0;
}

/* Hashes `fd` like hasher_fd, calling on_progress after each chunk with what was read so far counted. */
static int hash_chunked(struct scan *s, int fd, uint8_t out[MM_HASH_LEN], uint64_t *n)
{
	uint64_t done = 0;
	int err;

	if (!s->chunk && !(s->chunk = malloc(SCAN_CHUNK)))
		return mm_error_oom();
	if ((err = hasher_begin(s->h)) < 0)
		return err;
	for (;;) {
		ssize_t r = read(fd, s->chunk, SCAN_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return mm_error_errno(MM_EIO, errno, "cannot read '%s'", s->path);
		if (r == 0)
			break;
		if ((err = hasher_update(s->h, s->chunk, (size_t) r)) < 0)
			return err;
		done += (uint64_t) r;
		s->st->hashed_bytes += done;
		s->o->on_progress(s->o->ctx, s->st);
		s->st->hashed_bytes -= done;
	}
	*n = done;
	return hasher_final(s->h, out);
}

/*
 * Hashes the regular file `name` in `dirfd` into s->now (stat data too).
 * Returns 1 when hashed, 0 when skipped with a warning, <0 on a fatal error.
 */
static int hash_file(struct scan *s, int dirfd, const char *name)
{
	for (int tries = 0; tries < SCAN_HASH_TRIES; tries++) {
		struct stat before, after;
		uint64_t n;
		int fd, err;

		/* O_NONBLOCK: a fifo swapped in since the stat must not hang the scan. */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			warn_errno(s, errno == ENOENT ? "vanished during the scan" : "cannot read", errno);
			return 0;
		}
		if (fstat(fd, &before) < 0 || !S_ISREG(before.st_mode)) {
			close(fd);
			warn(s, s->path, "changed type during the scan");
			s->st->skipped++;
			return 0;
		}
		s->text = 0;
		if (s->keep_content && (uint64_t) before.st_size <= s->mc.max_size &&
		    merge_allowed(&s->mc, s->path, (uint64_t) before.st_size)) {
			/* small enough to merge: read it whole, hash it, and see if it is text */
			err = read_all(s, fd, (size_t) before.st_size, &n);
			if (err == 0)
				err = hasher_buf(s->h, s->content.p, (size_t) n, s->now.hash);
			if (err == 0)
				s->text = text_is_text(s->content.p, (size_t) n);
		} else if (s->o->on_progress && before.st_size >= SCAN_PROGRESS_FILE) {
			err = hash_chunked(s, fd, s->now.hash, &n);
		} else {
			err = hasher_fd(s->h, fd, s->path, s->now.hash, &n);
		}
		if (err == 0 && fstat(fd, &after) < 0)
			err = mm_error_errno(MM_EIO, errno, "cannot stat '%s'", s->path);
		close(fd);
		if (err < 0) {
			warn(s, s->path, mm_error_msg());
			s->st->skipped++;
			return 0;
		}
		s->st->hashed_files++;
		s->st->hashed_bytes += n;
		if (n == (uint64_t) after.st_size && before.st_size == after.st_size &&
		    ts_ns(&before.st_mtim) == ts_ns(&after.st_mtim) &&
		    ts_ns(&before.st_ctim) == ts_ns(&after.st_ctim)) {
			entry_fill_stat(&s->now, &after);
			s->now.has_hash = 1;
			return 1;
		}
	}
	warn(s, s->path, "kept changing while being read; left for the next scan");
	s->st->skipped++;
	return 0;
}

/* Reads a symbolic link's target into s->now; 1 done, 0 skipped with a warning. */
static int read_link(struct scan *s, int dirfd, const char *name, const struct stat *sb)
{
	char buf[MM_PATH_MAX + 1];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf));

	if (n < 0) {
		warn_errno(s, "cannot read link", errno);
		return 0;
	}
	if ((size_t) n >= sizeof(buf)) {
		warn(s, s->path, "link target too long");
		s->st->skipped++;
		return 0;
	}
	if (entry_set_target(&s->now, buf, (size_t) n) < 0)
		return MM_ENOMEM;
	entry_fill_stat(&s->now, sb);
	s->now.mode = 0777;
	s->now.size = (uint64_t) n;
	s->now.has_hash = 0;
	return 1;
}

/*
 * SCAN_VERIFY: the file at s->path looks unchanged since `old` was
 * recorded; reads it and reports SCAN_DAMAGED when its content is not what
 * was recorded.
 */
static int verify(struct scan *s, int dirfd, const char *name, const struct entry *old)
{
	int rc;

	if ((rc = entry_copy(&s->now, old)) < 0)
		return rc;
	if ((rc = hash_file(s, dirfd, name)) <= 0)
		return rc;
	if (memcmp(s->now.hash, old->hash, MM_HASH_LEN) != 0 && s->now.size == old->size &&
	    s->now.mtime_ns == old->mtime_ns)
		report(s, SCAN_DAMAGED, &s->now, old);
	return 0;
}

/* Starts s->now for the entry at s->path of `kind`: a copy of the stored row `old`, else a new row. */
static int start_row(struct scan *s, int kind, const struct entry *old)
{
	int rc;

	if (old) {
		if ((rc = entry_copy(&s->now, old)) < 0)
			return rc;
	} else {
		vv_clear(&s->now.vv);
		if ((rc = entry_set_path(&s->now, s->path, s->len)) < 0)
			return rc;
		s->now.seq = 0;
	}
	s->now.kind = kind;
	s->now.flags = 0;
	entry_set_target(&s->now, NULL, 0);
	s->text = 0;
	return 0;
}

/*
 * Reads the entry's state from the tree into s->now, and whether it differs from `old` into *changed.
 * Returns 1 when read, 0 when skipped with a warning, <0 on a fatal error.
 */
static int read_state(struct scan *s, int dirfd, const char *name, const struct stat *sb, const struct entry *old,
                      int *changed)
{
	int same_kind = old && old->kind == s->now.kind;
	int rc;

	if (s->now.kind == ENTRY_FILE) {
		if ((rc = hash_file(s, dirfd, name)) <= 0)
			return rc;
		*changed = !same_kind || !old->has_hash || memcmp(old->hash, s->now.hash, MM_HASH_LEN) ||
		           old->mode != s->now.mode;
		if (s->now.mtime_ns >= s->racy_before)
			s->now.flags |= ENTRY_RACY;
	} else if (s->now.kind == ENTRY_LINK) {
		if ((rc = read_link(s, dirfd, name, sb)) <= 0)
			return rc;
		*changed = !same_kind || !old->target || strcmp(old->target, s->now.target);
	} else {
		entry_fill_stat(&s->now, sb);
		s->now.size = 0;
		s->now.has_hash = 0;
		*changed = 1;
	}
	return 1;
}

/*
 * Records the entry at s->path (named `name` in `dirfd`, stat data `sb`)
 * against the stored row `old` (NULL when none).
 */
static int record(struct scan *s, int dirfd, const char *name, const struct stat *sb, const struct entry *old)
{
	int kind = S_ISDIR(sb->st_mode) ? ENTRY_DIR : S_ISLNK(sb->st_mode) ? ENTRY_LINK : ENTRY_FILE;
	int same_kind = old && old->kind == kind;
	int rc, changed, touched = 0;
	uint8_t oid[BASES_OID_LEN];
	const uint8_t *base = NULL;

	if (same_kind && entry_stat_matches(old, sb) && !(old->flags & ENTRY_RACY)) {
		if (kind == ENTRY_FILE && old->has_hash && (s->o->flags & SCAN_VERIFY))
			return verify(s, dirfd, name, old);
		return 0; /* unchanged, and sure of it */
	}
	if (kind == ENTRY_DIR && same_kind && old->mode == (sb->st_mode & 07777))
		return 0; /* a directory's mtime moves with its entries: not a change */

	if ((rc = start_row(s, kind, old)) < 0 || (rc = read_state(s, dirfd, name, sb, old, &changed)) <= 0)
		return rc;
	/* a new version of a text file: its content may be the base of a later merge */
	if (changed && kind == ENTRY_FILE && s->text && !(s->o->flags & SCAN_DRY_RUN)) {
		struct bases *b;
		if ((rc = replica_bases(s->r, &b)) < 0 || (rc = bases_put(b, s->content.p, s->content.len, oid)) < 0)
			return rc;
		base = oid;
	}
	if (changed)
		s->now.mstamp_ns = s->start_ns;
	/* a touch: the same version, with a modification time set now, to pass on */
	else if (kind == ENTRY_FILE && old && old->kind == ENTRY_FILE && old->mtime_ns != s->now.mtime_ns)
		touched = 1, s->now.mstamp_ns = s->start_ns;
	s->had_row = old != NULL;
	if ((rc = write_row(s, &s->now, changed ? ROW_VERSION : touched ? ROW_META : ROW_CACHE, base)) < 0)
		return rc;
	if (changed)
		report(s, old && old->kind != ENTRY_DELETED ? SCAN_MODIFIED : SCAN_ADDED, &s->now, old);
	return 0;
}

struct names {
	char *buf;
	size_t len, cap;
	size_t *off;
	size_t n, ncap;
};

static int names_cmp(const void *a, const void *b, void *arg)
{
	const char *buf = arg;

	return strcmp(buf + *(const size_t *) a, buf + *(const size_t *) b);
}

/* Reads the names in the directory `dir`, sorted bytewise. */
static int read_names(struct names *nm, DIR *dir, int remove_tmp)
{
	struct dirent *d;

	for (;;) {
		errno = 0;
		if (!(d = readdir(dir)))
			break;
		if (!path_name_syncable(d->d_name)) {
			/* a temporary file of a killed run: the lock says no run is writing it now */
			if (remove_tmp && !strncmp(d->d_name, MM_TMP_PREFIX, sizeof(MM_TMP_PREFIX) - 1))
				unlinkat(dirfd(dir), d->d_name, 0);
			continue;
		}
		size_t l = strlen(d->d_name) + 1;
		if (nm->len + l > nm->cap) {
			size_t cap = nm->cap ? nm->cap * 2 : 4096;
			while (cap < nm->len + l)
				cap *= 2;
			char *b = realloc(nm->buf, cap);
			if (!b)
				return ENOMEM;
			nm->buf = b;
			nm->cap = cap;
		}
		if (nm->n == nm->ncap) {
			size_t cap = nm->ncap ? nm->ncap * 2 : 64;
			size_t *o = realloc(nm->off, cap * sizeof(*o));
			if (!o)
				return ENOMEM;
			nm->off = o;
			nm->ncap = cap;
		}
		memcpy(nm->buf + nm->len, d->d_name, l);
		nm->off[nm->n++] = nm->len;
		nm->len += l;
	}
	if (errno)
		return errno;
	if (nm->n > 1)
		qsort_r(nm->off, nm->n, sizeof(*nm->off), names_cmp, nm->buf);
	return 0;
}

static int walk(struct scan *s, int dirfd);

/* Handles one name of the directory `dirfd`; s->path already names it. */
static int visit(struct scan *s, int dirfd, const char *name)
{
	struct stat sb;
	int err, ig, is_dir;

	if ((err = advance_to_path(s)) < 0)
		return err;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		warn_errno(s, errno == ENOENT ? "vanished during the scan" : "cannot stat", errno);
		return keep_subtree(s, 1);
	}
	is_dir = S_ISDIR(sb.st_mode);
	if ((ig = ignore_match(s->ig, s->path, is_dir)) != 0)
		return ig < 0 ? ig : keep_subtree(s, 1);
	if (!is_dir && !S_ISREG(sb.st_mode) && !S_ISLNK(sb.st_mode)) {
		warn(s, s->path, "not a regular file, directory or symbolic link; not synced");
		s->st->special++;
		return keep_subtree(s, 1);
	}
	{
		int have = s->have_cur && path_tree_cmp(s->cur.path, s->path) == 0;
		if ((err = record(s, dirfd, name, &sb, have ? &s->cur : NULL)) < 0)
			return err;
		if (have && (err = cursor_next(s)) < 0)
			return err;
	}
	if (is_dir) {
		s->st->dirs++;
		tick(s);
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			warn_errno(s, "cannot open directory", errno);
			return keep_subtree(s, 0);
		}
		return walk(s, fd);
	}
	if (S_ISLNK(sb.st_mode))
		s->st->links++;
	else
		s->st->files++;
	tick(s);
	return 0;
}

/* Walks the directory `fd` (taken over and closed) whose path is s->path. */
static int walk(struct scan *s, int fd)
{
	struct names nm = {0};
	DIR *dir = fdopendir(fd);
	size_t base = s->len;
	int err = 0, rc;

	if (!dir) {
		close(fd);
		return mm_error_oom();
	}
	if ((rc = read_names(&nm, dir, !(s->o->flags & SCAN_DRY_RUN))) != 0) {
		if (rc == ENOMEM) {
			err = mm_error_oom();
			goto done;
		}
		warn_errno(s, "cannot read directory", rc);
		err = keep_subtree(s, 0);
		goto done;
	}
	for (size_t i = 0; i < nm.n && err == 0; i++) {
		const char *name = nm.buf + nm.off[i];
		size_t l = strlen(name), need = base + (base ? 1 : 0) + l;
		if (need > MM_PATH_MAX) {
			char msg[64];
			snprintf(msg, sizeof(msg), "path longer than %d bytes; not synced", MM_PATH_MAX);
			warn(s, s->path, msg);
			s->st->skipped++;
			continue;
		}
		if (base)
			s->path[base] = '/';
		memcpy(s->path + need - l, name, l + 1);
		s->len = need;
		err = visit(s, dirfd(dir), name);
		s->len = base;
		s->path[base] = '\0';
	}
done:
	closedir(dir);
	free(nm.buf);
	free(nm.off);
	return err;
}

/* Sets up `s` for a scan of `r`, allocating nothing: what it holds is freed by scan_dispose. */
static void scan_init(struct scan *s, struct replica *r, const struct scan_opts *opts, struct scan_stats *stats)
{
	struct timespec now;

	memset(s, 0, sizeof(*s));
	memset(stats, 0, sizeof(*stats));
	s->r = r;
	s->o = opts;
	s->st = stats;
	s->batch = opts->batch ? opts->batch : SCAN_BATCH;
	entry_init(&s->cur);
	entry_init(&s->now);
	clock_gettime(CLOCK_REALTIME, &now);
	s->start_ns = ts_ns(&now);
	s->racy_before = s->start_ns - (opts->racy_ns ? opts->racy_ns : SCAN_RACY_NS);

	wbuf_init(&s->content);
	wbuf_init(&s->deferred);
	s->guard = !(opts->flags & SCAN_FORCE);
	s->keep_content = !(opts->flags & SCAN_DRY_RUN);
}

/* Opens what the walk reads (the ignore rules, the stored rows, the deletion limit) and, unless a dry run, a
 * store transaction. */
static int scan_open(struct scan *s)
{
	struct replica *r = s->r;
	int err;

	if ((err = hasher_new(&s->h)) < 0 || (err = ignore_load(&s->ig, r->rootfd)) < 0 ||
	    (err = store_iter_open(&s->it, r->store, NULL)) < 0 || (err = cursor_next(s)) < 0)
		return err;
	if (s->guard && (err = max_delete_load(s)) < 0)
		return err;
	if (s->max_delete_pct && s->max_delete == 100)
		s->guard = 0; /* "100%": the guard is off */
	if (!(s->o->flags & SCAN_DRY_RUN) && (err = store_begin(r->store)) < 0)
		return err;
	return 0;
}

/* Walks the tree, then records as gone whatever the walk did not meet. */
static int scan_tree(struct scan *s)
{
	int err, fd;

	if ((fd = openat(s->r->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot open '%s'", s->r->root);
	} else {
		err = walk(s, fd);
	}
	while (err == 0 && s->have_cur) {
		if ((err = missing(s, &s->cur)) == 0)
			err = cursor_next(s);
	}
	return err;
}

/* After the walk (`err`: how it went): the deletion guard, the deletions it held back, then the commit, or the
 * rollback on an error. */
static int scan_finish(struct scan *s, int err)
{
	int dry = s->o->flags & SCAN_DRY_RUN, refused = 0;

	if (err == 0 && s->guard && !dry)
		refused = guard_refuses(s);
	if (err == 0 && s->ndeferred && !refused)
		err = record_deferred(s);
	if (!dry) {
		if (err == 0)
			err = commit_batch(s, 0);
		else
			store_rollback(s->r->store);
	}
	if (err == 0 && refused)
		err = MM_EREFUSED; /* the other changes are recorded; the message was set by guard_refuses */
	return err;
}

/* Frees what the scan holds but s->mc, which scan_run disposes when it was loaded. */
static void scan_dispose(struct scan *s)
{
	wbuf_dispose(&s->content);
	wbuf_dispose(&s->deferred);
	store_iter_free(s->it);
	ignore_free(s->ig);
	hasher_free(s->h);
	free(s->chunk);
	entry_dispose(&s->cur);
	entry_dispose(&s->now);
}

int scan_run(struct replica *r, const struct scan_opts *opts, struct scan_stats *stats)
{
	struct scan s;
	int err;

	scan_init(&s, r, opts, stats);
	if ((err = merge_config_load(&s.mc, r->config)) < 0)
		goto done_early;
	if ((err = scan_open(&s)) == 0)
		err = scan_finish(&s, scan_tree(&s));
	merge_config_dispose(&s.mc);
done_early:
	scan_dispose(&s);
	return err;
}
