/* Resolving a conflict through apply: see resolve.h. */
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "bases.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "merge.h"
#include "path.h"
#include "replica.h"
#include "store.h"
#include "text.h"

/* What a copy (or the path) holds, against its stored row. */
enum state { ST_SAME, ST_GONE, ST_CHANGED };

struct resolve {
	struct replica *r;
	struct apply *a;
	struct hasher *h;
	struct merge_config mc;
	int has_mc;
	char **copies; /* every copy the conflict kept */
	size_t n;
	const char *path;
	int64_t now_ns;
	/* the copy to take: its row, what it holds, the path's row, its content's blob */
	struct entry cp, at;
	enum state take_st;
	uint8_t oid[BASES_OID_LEN];
	int has_base;
};

static int collect_copy(void *arg, const struct store_conflict *c)
{
	struct resolve *rs = arg;
	char **p;

	if (strcmp(c->path, rs->path))
		return 0;
	if (!(p = realloc(rs->copies, (rs->n + 1) * sizeof(*p))))
		return mm_error_oom();
	rs->copies = p;
	if (!(p[rs->n] = strdup(c->copy)))
		return mm_error_oom();
	rs->n++;
	return 0;
}

/* The stored row of `path` in `e` (initialised); a tombstone when there is none. */
static int row_of(struct resolve *rs, const char *path, struct entry *e)
{
	int err = store_get(rs->r->store, path, e);

	if (err != MM_ENOTFOUND)
		return err;
	entry_dispose(e);
	e->kind = ENTRY_DELETED;
	return entry_set_path(e, path, strlen(path));
}

/* 1 when something is at `path` (a link is not followed), 0 when nothing. */
static int present(struct resolve *rs, const char *path, int *is_dir)
{
	const char *name;
	struct stat sb;
	int dirfd, err, rc;

	if (is_dir)
		*is_dir = 0;
	if ((err = fs_open_parent(&dirfd, &name, rs->r->rootfd, path)) < 0)
		return err == MM_ENOTFOUND ? 0 : err;
	rc = fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	if (!rc && errno != ENOENT && errno != ENOTDIR)
		rc = mm_error_errno(MM_EIO, errno, "cannot stat '%s'", path);
	if (rc > 0 && is_dir)
		*is_dir = S_ISDIR(sb.st_mode);
	close(dirfd);
	return rc;
}

/* Reads `path` into row `row` and sees what it holds against it. */
static int state_of(struct resolve *rs, const char *path, struct entry *row, enum state *out)
{
	int rc;

	if ((rc = row_of(rs, path, row)) < 0 || (rc = apply_target_matches(rs->a, path, row)) < 0)
		return rc;
	if (rc == 1) {
		*out = row->kind == ENTRY_DELETED ? ST_GONE : ST_SAME;
		return 0;
	}
	if ((rc = present(rs, path, NULL)) < 0)
		return rc;
	*out = rc ? ST_CHANGED : ST_GONE;
	return 0;
}

/* Reads the regular file `fd` of `size` bytes whole into *out (caller frees). */
static int read_whole(int fd, const char *path, size_t size, void **out)
{
	char *buf = malloc(size + 1);
	size_t n = 0;

	if (!(*out = buf))
		return mm_error_oom();
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			*out = NULL;
			return r < 0 ? mm_error_errno(MM_EIO, errno, "cannot read '%s'", path) : 0;
		}
		n += (size_t) r;
	}
	return 1;
}

/*
 * 1 when `file` holds the content `want` records (to become the version at
 * rs->path); for a text file small enough to merge, its content goes to the
 * bases store and its blob id to `oid` (*has_base 1), as a scan would do.
 */
static int holds(struct resolve *rs, const char *file, const struct entry *want, uint8_t oid[BASES_OID_LEN],
                 int *has_base)
{
	uint8_t h[MM_HASH_LEN];
	struct stat sb;
	uint64_t len = 0;
	void *buf = NULL;
	int fd, rc;

	*has_base = 0;
	if (want->kind != ENTRY_FILE) {
		/* a link or a directory: what its target and kind say */
		struct entry e;
		entry_init(&e);
		if ((rc = entry_copy(&e, want)) == 0 && (rc = entry_set_path(&e, file, strlen(file))) == 0)
			rc = apply_target_matches(rs->a, file, &e);
		entry_dispose(&e);
		return rc;
	}
	if (!rs->has_mc) {
		if ((rc = merge_config_load(&rs->mc, rs->r->config)) < 0)
			return rc;
		rs->has_mc = 1;
	}
	if ((rc = fs_open_beneath(&fd, rs->r->rootfd, file, O_RDONLY | O_NONBLOCK, 0)) < 0)
		return rc == MM_ENOTFOUND ? 0 : rc;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t) sb.st_size != want->size) {
		rc = 0;
	} else if (want->size <= rs->mc.max_size && merge_allowed(&rs->mc, rs->path, want->size)) {
		/* small enough to merge: read whole, as a scan would keep it */
		len = want->size;
		if ((rc = read_whole(fd, file, (size_t) len, &buf)) > 0)
			rc = hasher_buf(rs->h, buf, (size_t) len, h) < 0 ? MM_ERROR : 1;
	} else {
		rc = hasher_fd(rs->h, fd, file, h, &len) < 0 ? MM_ERROR : 1;
	}
	close(fd);
	if (rc > 0)
		rc = len == want->size && !memcmp(h, want->hash, MM_HASH_LEN);
	if (rc > 0 && buf && text_is_text(buf, (size_t) len)) {
		struct bases *b;
		if ((rc = replica_bases(rs->r, &b)) == 0 && (rc = bases_put(b, buf, (size_t) len, oid)) == 0)
			*has_base = rc = 1;
	}
	free(buf);
	return rc;
}

/* Records the deletion of the live row `row` as a new local version, as a scan would. */
static int record_gone(struct resolve *rs, const struct entry *row)
{
	struct entry t;
	int err;

	if (row->kind == ENTRY_DELETED)
		return 0;
	entry_init(&t);
	if ((err = entry_copy(&t, row)) == 0 && (err = entry_set_target(&t, NULL, 0)) == 0) {
		t.kind = ENTRY_DELETED;
		t.mode = 0;
		t.size = 0;
		t.has_hash = 0;
		t.mtime_ns = t.mstamp_ns = rs->now_ns;
		t.dev = t.ino = 0;
		t.ctime_ns = 0;
		t.flags = 0;
		err = apply_record(rs->a, &t, 1);
	}
	entry_dispose(&t);
	return err;
}

static int stop_changed(struct resolve_result *out, const char *where)
{
	out->outcome = RESOLVE_CHANGED;
	return (out->where = strdup(where)) ? 0 : mm_error_oom();
}

/* Removes the copy `copy` (checked: ST_SAME or ST_GONE) and records its deletion. */
static int remove_copy(struct resolve *rs, struct resolve_result *out, const char *copy)
{
	struct entry row;
	enum state st;
	int rc;

	entry_init(&row);
	if ((rc = state_of(rs, copy, &row, &st)) < 0)
		goto done;
	if (st == ST_SAME && (rc = apply_remove(rs->a, &row)) == 0) {
		/* a directory that is not empty, or a change since the check */
		if ((rc = apply_target_matches(rs->a, copy, &row)) > 0)
			rc = mm_error_errno(MM_EIO, ENOTEMPTY, "cannot remove '%s'", copy);
		else if (rc == 0)
			rc = stop_changed(out, copy);
		goto done;
	}
	if (rc >= 0)
		rc = record_gone(rs, &row);
done:
	entry_dispose(&row);
	return rc;
}

/*
 * Checks what the copy to take and the path hold before anything is done:
 * a directory at the path, or either changed since the scan, stops it all.
 */
static int check_take(struct resolve *rs, struct resolve_result *out, const char *take)
{
	int rc, is_dir;

	if ((rc = present(rs, rs->path, &is_dir)) < 0)
		return rc;
	if (is_dir) {
		out->outcome = RESOLVE_IS_DIR;
		return 0;
	}
	if ((rc = state_of(rs, take, &rs->cp, &rs->take_st)) < 0 || (rc = row_of(rs, rs->path, &rs->at)) < 0)
		return rc;
	if (rs->take_st == ST_CHANGED)
		return stop_changed(out, take);
	if (rs->take_st == ST_GONE) {
		/* moved by a run killed before its commit, or gone for good */
		if (rs->cp.kind == ENTRY_DELETED || (rc = holds(rs, rs->path, &rs->cp, rs->oid, &rs->has_base)) == 0)
			rc = mm_error_errno(MM_EIO, ENOENT, "cannot move '%s' to '%s'", take, rs->path);
		return rc < 0 ? rc : 0;
	}
	if ((rc = apply_target_matches(rs->a, rs->path, &rs->at)) == 0)
		return stop_changed(out, rs->path);
	if (rc > 0 && (rc = holds(rs, take, &rs->cp, rs->oid, &rs->has_base)) == 0)
		return stop_changed(out, take);
	return rc < 0 ? rc : 0;
}

/*
 * Makes the copy `take` (checked) the version at the path, recorded as a
 * new local version of the path (the copy's content, the path's history)
 * and the copy's deletion.
 */
static int take_copy(struct resolve *rs, struct resolve_result *out, const char *take)
{
	const uint8_t *base = rs->has_base ? rs->oid : NULL;
	struct entry row;
	int rc;

	entry_init(&row);
	/* as a scan would record it */
	if ((rc = entry_copy(&row, &rs->cp)) < 0 || (rc = entry_set_path(&row, rs->path, strlen(rs->path))) < 0 ||
	    (rc = vv_copy(&row.vv, &rs->at.vv)) < 0)
		goto done;
	row.mstamp_ns = rs->now_ns;
	/* renamed a moment ago: the next scan looks at its content again */
	row.flags = ENTRY_RACY;
	if (rs->take_st == ST_GONE) {
		rc = apply_record_local(rs->a, &row, base);
	} else if ((rc = apply_move_over(rs->a, &rs->cp, &rs->at, &row, base)) == 0) {
		/* changed since the check */
		rc = stop_changed(out, apply_target_matches(rs->a, take, &rs->cp) == 1 ? rs->path : take);
		goto done;
	}
	if (rc >= 0)
		rc = record_gone(rs, &rs->cp);
done:
	entry_dispose(&row);
	return rc < 0 ? rc : 0;
}

/* Checks every copy before anything is done: one changed since the scan stops it all. */
static int check_copies(struct resolve *rs, struct resolve_result *out, const char *take)
{
	struct entry row;
	enum state st;
	int err = 0;

	entry_init(&row);
	for (size_t i = 0; i < rs->n && err == 0 && out->outcome == RESOLVE_DONE; i++) {
		if (take && !strcmp(rs->copies[i], take))
			continue;
		if ((err = state_of(rs, rs->copies[i], &row, &st)) == 0 && st == ST_CHANGED)
			err = stop_changed(out, rs->copies[i]);
	}
	entry_dispose(&row);
	return err;
}

int resolve_conflict(struct resolve_result *out, struct replica *r, const char *path, enum resolve_side side,
                     const char *copy)
{
	struct resolve rs;
	struct timespec ts;
	const char *take = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&rs, 0, sizeof(rs));
	entry_init(&rs.cp);
	entry_init(&rs.at);
	rs.r = r;
	rs.path = path;
	clock_gettime(CLOCK_REALTIME, &ts);
	rs.now_ns = (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if ((err = store_conflict_each(r->store, collect_copy, &rs)) < 0)
		goto done;
	if (rs.n == 0) {
		err = mm_error_set(MM_ENOTFOUND, "no open conflict at '%s'", path);
		goto done;
	}
	out->copies = rs.n;
	if (side == RESOLVE_THEIRS && !(take = copy ? copy : rs.n == 1 ? rs.copies[0] : NULL)) {
		out->outcome = RESOLVE_NAME_COPY;
		err = (out->where = strdup(rs.copies[0])) ? 0 : mm_error_oom();
		goto done;
	}
	if ((err = apply_open(&rs.a, r, NULL, NULL)) < 0 || (err = hasher_new(&rs.h)) < 0)
		goto done;
	/* everything is checked before anything is done */
	if (take && ((err = check_take(&rs, out, take)) < 0 || out->outcome != RESOLVE_DONE))
		goto done;
	if ((err = check_copies(&rs, out, take)) < 0 || out->outcome != RESOLVE_DONE)
		goto done;
	/* the removals first: a stop half way leaves the copy to take where it was */
	for (size_t i = 0; i < rs.n && err == 0 && out->outcome == RESOLVE_DONE; i++)
		if (!(take && !strcmp(rs.copies[i], take)))
			err = remove_copy(&rs, out, rs.copies[i]);
	if (err == 0 && out->outcome == RESOLVE_DONE && take)
		err = take_copy(&rs, out, take);
	if (err == 0 && out->outcome == RESOLVE_DONE)
		err = apply_close_conflict(rs.a, path);
	/* what was done is recorded even when a check stopped the rest */
	if (err == 0 || !apply_broken(rs.a)) {
		int ferr = apply_flush(rs.a);
		err = err < 0 ? err : ferr;
	}
done:
	apply_free(rs.a);
	hasher_free(rs.h);
	entry_dispose(&rs.cp);
	entry_dispose(&rs.at);
	if (rs.has_mc)
		merge_config_dispose(&rs.mc);
	for (size_t i = 0; i < rs.n; i++)
		free(rs.copies[i]);
	free(rs.copies);
	return err;
}

void resolve_result_dispose(struct resolve_result *res)
{
	free(res->where);
	res->where = NULL;
}
