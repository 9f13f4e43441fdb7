/* Confined, crash-safe writes: see apply.h. */
#include "apply.h"

#include "bases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "failpoint.h"
#include "fs.h"
#include "hash.h"
#include "path.h"
#include "proto.h"
#include "replica.h"

#define APPLY_BATCH_ITEMS 8192
#define APPLY_BATCH_BYTES (256u << 20)
#define APPLY_COPY_BUF    (256 * 1024)
#define TMP_NAME_LEN      (sizeof(MM_TMP_PREFIX) - 1 + 16)

struct item {
	struct entry row;           /* what the path holds once the batch is done */
	struct entry ours;          /* what it must still hold before (kind DELETED: absent) */
	char tmp[TMP_NAME_LEN + 1]; /* the temporary file to rename in, "" for rows only */
	int local;
	int dropped;
	int has_base;
	uint8_t base[BASES_OID_LEN]; /* the content's blob in the bases store, recorded as history */
	int written;                 /* the content was written here (so no base means: nothing to merge against) */
};

struct hist {
	char *path;
	struct vv vv;
	uint8_t oid[BASES_OID_LEN];
	uint32_t mode, flags;
};

struct apply_tmp {
	int fd;
	int dirfd;
	char name[TMP_NAME_LEN + 1];
	char *path; /* its target, for messages */
	uint64_t size;
	struct wbuf *keep;
	size_t keep_max;
	int keep_over;
};

struct apply {
	struct replica *r;
	struct hasher *h;  /* the temporary file being filled */
	struct hasher *hc; /* re-checks: never the one a temporary file is using */
	apply_warn_fn warn;
	void *arg;
	struct item *items;
	size_t n, cap;
	struct hist *hist;
	size_t nhist, capHist;
	uint64_t batch_bytes;
	struct apply_stats st;
	int broken;
	int dirty; /* the batch changed the tree at once (directories, links, removals, modes): sync before commit */
	dev_t root_dev;
	int *fs_fds; /* a directory on each other file system (a mount beneath the root) the batch wrote to */
	size_t nfs, capFs;
	int fs_lost; /* one could not be noted: sync them all */
	uint8_t *buf;
	struct wbuf frame;
	char **close; /* paths whose conflicts the commit closes */
	size_t nclose, capClose;
};

static void warn(struct apply *a, const char *path, const char *msg)
{
	if (a->warn)
		a->warn(a->arg, path, msg);
}

/*
 * Notes the file system of `dirfd`, where the batch writes: syncfs() on the
 * root's covers only the root's, and a replica may hold a mount point.
 */
static void note_fs(struct apply *a, int dirfd)
{
	struct stat sb;
	int fd;

	if (fstat(dirfd, &sb) < 0 || sb.st_dev == a->root_dev)
		return;
	for (size_t i = 0; i < a->nfs; i++) {
		struct stat other;
		if (fstat(a->fs_fds[i], &other) == 0 && other.st_dev == sb.st_dev)
			return;
	}
	if (a->nfs == a->capFs) {
		size_t cap = a->capFs ? a->capFs * 2 : 4;
		int *p = realloc(a->fs_fds, cap * sizeof(*p));
		if (!p) {
			a->fs_lost = 1;
			return;
		}
		a->fs_fds = p;
		a->capFs = cap;
	}
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		a->fs_lost = 1;
		return;
	}
	a->fs_fds[a->nfs++] = fd;
}

int apply_open(struct apply **out, struct replica *r, apply_warn_fn warnfn, void *arg)
{
	struct apply *a = calloc(1, sizeof(*a));
	struct stat sb;
	int err;

	*out = NULL;
	if (!a || !(a->buf = malloc(APPLY_COPY_BUF))) {
		free(a);
		return mm_error_oom();
	}
	a->r = r;
	if (fstat(r->rootfd, &sb) == 0)
		a->root_dev = sb.st_dev;
	a->warn = warnfn;
	a->arg = arg;
	wbuf_init(&a->frame);
	if ((err = hasher_new(&a->h)) < 0 || (err = hasher_new(&a->hc)) < 0) {
		apply_free(a);
		return err;
	}
	*out = a;
	return 0;
}

static void drop_items(struct apply *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct item *it = &a->items[i];
		if (it->tmp[0] && !it->dropped) {
			/* never renamed in: remove the temporary file */
			int dirfd;
			const char *name;
			if (fs_open_parent(&dirfd, &name, a->r->rootfd, it->row.path) == 0) {
				unlinkat(dirfd, it->tmp, 0);
				close(dirfd);
			}
		}
		entry_dispose(&it->row);
		entry_dispose(&it->ours);
	}
	a->n = 0;
	a->batch_bytes = 0;
	a->dirty = 0;
	for (size_t i = 0; i < a->nfs; i++)
		close(a->fs_fds[i]);
	a->nfs = 0;
	a->fs_lost = 0;
	for (size_t i = 0; i < a->nhist; i++) {
		free(a->hist[i].path);
		vv_dispose(&a->hist[i].vv);
	}
	a->nhist = 0;
	for (size_t i = 0; i < a->nclose; i++)
		free(a->close[i]);
	a->nclose = 0;
}

void apply_free(struct apply *a)
{
	if (!a)
		return;
	drop_items(a);
	free(a->fs_fds);
	free(a->items);
	free(a->hist);
	free(a->close);
	hasher_free(a->h);
	hasher_free(a->hc);
	free(a->buf);
	wbuf_dispose(&a->frame);
	free(a);
}

const struct apply_stats *apply_stats(const struct apply *a)
{
	return &a->st;
}

int apply_broken(const struct apply *a)
{
	return a->broken;
}

size_t apply_pending(const struct apply *a)
{
	return a->n;
}

/* Compares what `dirfd`/`name` holds with `ours`: 1 same, 0 changed. */
static int matches_at(struct apply *a, int dirfd, const char *name, const struct entry *ours)
{
	struct stat sb;
	int absent_ok = !ours || ours->kind == ENTRY_DELETED;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return absent_ok;
		return mm_error_errno(MM_EIO, errno, "cannot stat '%s'", ours ? ours->path : name);
	}
	if (absent_ok)
		return 0;
	switch (ours->kind) {
	case ENTRY_DIR: return S_ISDIR(sb.st_mode);
	case ENTRY_LINK: {
		char buf[MM_PATH_MAX + 1];
		ssize_t n;
		if (!S_ISLNK(sb.st_mode))
			return 0;
		n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
		if (n < 0)
			return 0;
		buf[n] = '\0';
		return ours->target && !strcmp(buf, ours->target);
	}
	case ENTRY_FILE:
		if (!S_ISREG(sb.st_mode) || !entry_stat_matches(ours, &sb))
			return 0;
		if (ours->flags & ENTRY_RACY) {
			/* stat data cannot be trusted this close to the scan: compare the content */
			uint8_t h[MM_HASH_LEN];
			uint64_t len;
			int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			int ok;
			if (fd < 0)
				return 0;
			ok = hasher_fd(a->hc, fd, name, h, &len) == 0 && ours->has_hash &&
			     !memcmp(h, ours->hash, MM_HASH_LEN) && len == ours->size;
			close(fd);
			return ok;
		}
		return 1;
	default: return 0;
	}
}

int apply_target_matches(struct apply *a, const char *path, const struct entry *ours)
{
	const char *name;
	int dirfd, err, rc;

	if ((err = fs_open_parent(&dirfd, &name, a->r->rootfd, path)) < 0) {
		if (err == MM_ENOTFOUND)
			return !ours || ours->kind == ENTRY_DELETED;
		return err;
	}
	rc = matches_at(a, dirfd, name, ours);
	close(dirfd);
	return rc;
}

/* Creates the missing directories above `path`, each through the one above it. */
static int make_parents(struct apply *a, const char *path)
{
	char dir[MM_PATH_MAX + 1];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return 0;
	n = (size_t) (slash - path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		char c = dir[i];
		int pfd, err;
		const char *name;
		dir[i] = '\0';
		if ((err = fs_open_parent(&pfd, &name, a->r->rootfd, dir)) < 0)
			return err;
		if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST) {
			err = mm_error_errno(MM_EIO, errno, "cannot create directory '%s'", dir);
			close(pfd);
			return err;
		}
		close(pfd);
		dir[i] = c;
	}
	return 0;
}

static void tmp_name(char out[TMP_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t rnd[8] = {0};
	size_t p = sizeof(MM_TMP_PREFIX) - 1;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		uint64_t x = (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) out;
		memcpy(rnd, &x, sizeof(rnd));
	}
	memcpy(out, MM_TMP_PREFIX, p);
	for (int i = 0; i < 8; i++) {
		out[p++] = hex[rnd[i] >> 4];
		out[p++] = hex[rnd[i] & 15];
	}
	out[p] = '\0';
}

int apply_tmp_begin(struct apply *a, struct apply_tmp **out, const char *path)
{
	struct apply_tmp *t;
	const char *name;
	int err;

	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return mm_error_oom();
	t->fd = t->dirfd = -1;
	if (!(t->path = strdup(path))) {
		free(t);
		return mm_error_oom();
	}
	err = fs_open_parent(&t->dirfd, &name, a->r->rootfd, path);
	if (err == MM_ENOTFOUND && (err = make_parents(a, path)) == 0)
		err = fs_open_parent(&t->dirfd, &name, a->r->rootfd, path);
	if (err < 0)
		goto fail;
	for (int tries = 0; tries < 8; tries++) {
		tmp_name(t->name);
		t->fd = openat(t->dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (t->fd >= 0 || errno != EEXIST)
			break;
	}
	if (t->fd < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot create a temporary file for '%s'", path);
		goto fail;
	}
	if ((err = hasher_begin(a->h)) < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	apply_tmp_abort(a, t);
	return err;
}

void apply_tmp_keep(struct apply_tmp *t, struct wbuf *buf, size_t max)
{
	wbuf_reset(buf);
	t->keep = buf;
	t->keep_max = max;
	t->keep_over = 0;
}

int apply_tmp_kept(const struct apply_tmp *t)
{
	return t->keep && !t->keep_over && !t->keep->oom;
}

int apply_tmp_write(struct apply *a, struct apply_tmp *t, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0;

	if (hasher_update(a->h, buf, len) < 0)
		return MM_ERROR;
	if (t->keep && !t->keep_over) {
		if (t->keep->len + len > t->keep_max)
			t->keep_over = 1;
		else
			put_bytes(t->keep, buf, len);
	}
	while (off < len) {
		int injected = failpoint_err("apply-write");
		ssize_t n = injected ? (errno = injected, -1) : write(t->fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mm_error_errno(MM_EIO, errno, "cannot write a temporary file for '%s'", t->path);
		off += (size_t) n;
	}
	t->size += len;
	return 0;
}

/* Copies what `fd` holds into `t`. */
static int copy_fd(struct apply *a, struct apply_tmp *t, int fd)
{
	for (;;) {
		ssize_t n = read(fd, a->buf, APPLY_COPY_BUF);
		int err;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mm_error_errno(MM_EIO, errno, "cannot read a local copy");
		if (n == 0)
			return 0;
		if ((err = apply_tmp_write(a, t, a->buf, (size_t) n)) < 0)
			return err;
	}
}

int apply_tmp_copy_local(struct apply *a, struct apply_tmp *t, const uint8_t hash[MM_HASH_LEN])
{
	struct entry src;
	int fd = -1, err = MM_ENOTFOUND;

	/* a file of this batch, not yet renamed in */
	for (size_t i = a->n; i-- > 0;) {
		struct item *it = &a->items[i];
		int dirfd;
		const char *name;
		if (!it->tmp[0] || it->dropped || memcmp(it->row.hash, hash, MM_HASH_LEN))
			continue;
		if (fs_open_parent(&dirfd, &name, a->r->rootfd, it->row.path) < 0)
			continue;
		fd = openat(dirfd, it->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		close(dirfd);
		if (fd >= 0)
			break;
	}
	entry_init(&src);
	if (fd < 0 && store_find_hash(a->r->store, hash, &src) == 0) {
		struct stat sb;
		if (fs_open_beneath(&fd, a->r->rootfd, src.path, O_RDONLY | O_NONBLOCK, 0) == 0 &&
		    (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t) sb.st_size != src.size)) {
			/* no longer that content (a touch alone is fine: the commit checks the hash) */
			close(fd);
			fd = -1;
		}
	}
	entry_dispose(&src);
	if (fd >= 0) {
		err = copy_fd(a, t, fd);
		close(fd);
	}
	return err;
}

void apply_tmp_abort(struct apply *a, struct apply_tmp *t)
{
	(void) a;
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->dirfd >= 0) {
		if (t->name[0])
			unlinkat(t->dirfd, t->name, 0);
		close(t->dirfd);
	}
	free(t->path);
	free(t);
}

static int push_item(struct apply *a, const struct entry *row, const struct entry *ours, const char *tmp, int local)
{
	struct item *it;
	int err;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct item *p = realloc(a->items, cap * sizeof(*p));
		if (!p)
			return mm_error_oom();
		a->items = p;
		a->cap = cap;
	}
	it = &a->items[a->n];
	memset(it, 0, sizeof(*it));
	entry_init(&it->row);
	entry_init(&it->ours);
	it->local = local;
	if (tmp)
		snprintf(it->tmp, sizeof(it->tmp), "%s", tmp);
	a->n++;
	if ((err = entry_copy(&it->row, row)) < 0)
		return err;
	if (ours)
		err = entry_copy(&it->ours, ours);
	else
		it->ours.kind = ENTRY_DELETED;
	return err;
}

int apply_tmp_matches(struct apply *a, struct apply_tmp *t, const uint8_t hash[MM_HASH_LEN], uint64_t size)
{
	uint8_t h[MM_HASH_LEN];

	return t->size == size && hasher_peek(a->h, h) == 0 && !memcmp(h, hash, MM_HASH_LEN);
}

int apply_tmp_commit(struct apply *a, struct apply_tmp *t, const struct entry *row, const struct entry *ours, int local,
                     const uint8_t *base_oid)
{
	uint8_t h[MM_HASH_LEN];
	struct timespec ts[2];
	int err = 0;

	if ((err = hasher_final(a->h, h)) < 0)
		goto fail;
	if (t->size != row->size || memcmp(h, row->hash, MM_HASH_LEN)) {
		err = mm_error_set(MM_ECORRUPT, "content received for '%s' does not match its hash", row->path);
		goto fail;
	}
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = row->mtime_ns / 1000000000LL;
	ts[1].tv_nsec = row->mtime_ns % 1000000000LL;
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += 1000000000LL;
	}
	if (fchmod(t->fd, row->mode) < 0 || futimens(t->fd, ts) < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot set the mode or time of '%s'", row->path);
		goto fail;
	}
	failpoint("apply-tmp-written");
	/* start the write-back now: the batch's syncfs then finds most of it done */
	sync_file_range(t->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(t->fd) < 0 || (errno = failpoint_err("apply-close")) != 0) {
		t->fd = -1;
		err = mm_error_errno(MM_EIO, errno, "cannot write '%s'", row->path);
		goto fail;
	}
	t->fd = -1;
	if ((err = push_item(a, row, ours, t->name, local)) < 0)
		goto fail;
	a->items[a->n - 1].written = 1;
	if (base_oid) {
		a->items[a->n - 1].has_base = 1;
		memcpy(a->items[a->n - 1].base, base_oid, 20);
	}
	a->batch_bytes += t->size;
	note_fs(a, t->dirfd);
	close(t->dirfd);
	free(t->path);
	free(t);
	if (a->n >= APPLY_BATCH_ITEMS || a->batch_bytes >= APPLY_BATCH_BYTES)
		return apply_flush(a);
	return 0;
fail:
	apply_tmp_abort(a, t);
	return err;
}

int apply_history(struct apply *a, const char *path, const struct vv *vv, const uint8_t oid[BASES_OID_LEN],
                  uint32_t mode, uint32_t flags)
{
	struct hist *h;

	if (a->nhist == a->capHist) {
		size_t cap = a->capHist ? a->capHist * 2 : 16;
		struct hist *p = realloc(a->hist, cap * sizeof(*p));
		if (!p)
			return mm_error_oom();
		a->hist = p;
		a->capHist = cap;
	}
	h = &a->hist[a->nhist];
	vv_init(&h->vv);
	if (!(h->path = strdup(path)) || vv_copy(&h->vv, vv) < 0) {
		free(h->path);
		vv_dispose(&h->vv);
		return mm_error_oom();
	}
	memcpy(h->oid, oid, 20);
	h->mode = mode;
	h->flags = flags;
	a->nhist++;
	return 0;
}

int apply_pending_has(const struct apply *a, const char *path)
{
	for (size_t i = 0; i < a->n; i++)
		if (!a->items[i].dropped && !strcmp(a->items[i].row.path, path))
			return 1;
	return 0;
}

int apply_take_pending(struct apply *a, const struct entry *row)
{
	for (size_t i = a->n; i-- > 0;) {
		struct item *it = &a->items[i];
		int err;
		if (it->dropped || strcmp(it->row.path, row->path))
			continue;
		if (it->row.kind != row->kind || !it->row.has_hash || !row->has_hash ||
		    memcmp(it->row.hash, row->hash, MM_HASH_LEN))
			return 0;
		if ((err = entry_copy(&it->row, row)) < 0)
			return err;
		it->local = 0;
		return 1;
	}
	return 0;
}

int apply_record(struct apply *a, const struct entry *row, int local)
{
	int err = push_item(a, row, NULL, NULL, local);

	if (err == 0 && a->n >= APPLY_BATCH_ITEMS)
		err = apply_flush(a);
	return err;
}

/* Opens the parent of `path` and re-checks the target against `ours`: 1 matches, 0 changed. */
static int open_checked(struct apply *a, const char *path, const struct entry *ours, int *dirfd, const char **name)
{
	int err, rc;

	err = fs_open_parent(dirfd, name, a->r->rootfd, path);
	if (err == MM_ENOTFOUND && (!ours || ours->kind == ENTRY_DELETED) && (err = make_parents(a, path)) == 0)
		err = fs_open_parent(dirfd, name, a->r->rootfd, path);
	if (err < 0)
		return err;
	rc = matches_at(a, *dirfd, *name, ours);
	if (rc <= 0) {
		close(*dirfd);
		*dirfd = -1;
		if (rc == 0) {
			warn(a, path, "changed here during the sync; kept, and left for the next sync");
			a->st.skipped++;
		}
	}
	return rc;
}

static void set_times(int dirfd, const char *name, int64_t mtime_ns, int flags)
{
	struct timespec ts[2];

	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = mtime_ns / 1000000000LL;
	ts[1].tv_nsec = mtime_ns % 1000000000LL;
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += 1000000000LL;
	}
	utimensat(dirfd, name, ts, flags);
}

/* Gives `e` (a copy of `row`) the stat data now at dirfd/name. */
static void stat_at(int dirfd, const char *name, struct entry *e, const struct entry *row)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		uint32_t mode = e->mode;
		entry_fill_stat(e, &sb);
		if (e->kind == ENTRY_LINK) {
			e->mode = mode;
			e->size = row->size;
		}
		if (e->kind == ENTRY_DIR)
			e->size = 0;
	}
}

/* Records `row` with the stat data now at dirfd/name. */
static int record_at(struct apply *a, int dirfd, const char *name, const struct entry *row, int local)
{
	struct entry e;
	int err;

	entry_init(&e);
	if ((err = entry_copy(&e, row)) < 0)
		goto done;
	stat_at(dirfd, name, &e, row);
	a->dirty = 1;
	note_fs(a, dirfd);
	err = apply_record(a, &e, local);
	a->st.files++;
done:
	entry_dispose(&e);
	return err;
}

/* Removes what dirfd/name holds, as `ours` says it is. */
static int remove_at(int dirfd, const char *name, const struct entry *ours)
{
	if (unlinkat(dirfd, name, ours->kind == ENTRY_DIR ? AT_REMOVEDIR : 0) == 0)
		return 1;
	if (errno == ENOTEMPTY || errno == EEXIST)
		return 0;
	return mm_error_errno(MM_EIO, errno, "cannot remove '%s'", ours->path);
}

int apply_mkdir(struct apply *a, const struct entry *row, const struct entry *ours, int local)
{
	const char *name;
	int dirfd, rc;

	if ((rc = open_checked(a, row->path, ours, &dirfd, &name)) <= 0)
		return rc;
	if (ours && (ours->kind == ENTRY_FILE || ours->kind == ENTRY_LINK) && (rc = remove_at(dirfd, name, ours)) <= 0)
		goto done;
	if (mkdirat(dirfd, name, row->mode) < 0 && errno != EEXIST) {
		rc = mm_error_errno(MM_EIO, errno, "cannot create directory '%s'", row->path);
		goto done;
	}
	failpoint("apply-mkdir");
	/* mkdir's mode is masked by the umask; and an existing directory keeps its own */
	{
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = mm_error_errno(MM_EIO, errno, "cannot open directory '%s'", row->path);
			goto done;
		}
		fchmod(fd, row->mode);
		close(fd);
	}
	if (!ours || ours->kind != ENTRY_DIR)
		set_times(dirfd, name, row->mtime_ns, AT_SYMLINK_NOFOLLOW);
	rc = record_at(a, dirfd, name, row, local);
	rc = rc < 0 ? rc : 1;
done:
	close(dirfd);
	return rc;
}

int apply_symlink(struct apply *a, const struct entry *row, const struct entry *ours, int local)
{
	char tmp[TMP_NAME_LEN + 1];
	const char *name;
	int dirfd, rc, absent = !ours || ours->kind == ENTRY_DELETED;

	if ((rc = open_checked(a, row->path, ours, &dirfd, &name)) <= 0)
		return rc;
	tmp_name(tmp);
	if (symlinkat(row->target, dirfd, tmp) < 0) {
		rc = mm_error_errno(MM_EIO, errno, "cannot create link '%s'", row->path);
		goto done;
	}
	set_times(dirfd, tmp, row->mtime_ns, AT_SYMLINK_NOFOLLOW);
	failpoint("apply-symlink");
	if (renameat2(dirfd, tmp, dirfd, name, absent ? RENAME_NOREPLACE : 0) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		if (e == EEXIST) {
			warn(a, row->path, "created here during the sync; kept, and left for the next sync");
			a->st.skipped++;
			rc = 0;
		} else {
			rc = mm_error_errno(MM_EIO, e, "cannot create link '%s'", row->path);
		}
		goto done;
	}
	rc = record_at(a, dirfd, name, row, local);
	rc = rc < 0 ? rc : 1;
done:
	close(dirfd);
	return rc;
}

int apply_adopt(struct apply *a, const struct entry *row)
{
	const char *name;
	struct stat sb;
	uint8_t h[MM_HASH_LEN];
	uint64_t n;
	int dirfd, fd, rc = 0;

	if (fs_open_parent(&dirfd, &name, a->r->rootfd, row->path) < 0)
		return 0;
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t) sb.st_size == row->size &&
	    (fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		if (hasher_fd(a->hc, fd, row->path, h, &n) == 0 && !memcmp(h, row->hash, MM_HASH_LEN) &&
		    n == row->size) {
			close(fd);
			fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0)
				fchmod(fd, row->mode);
			set_times(dirfd, name, row->mtime_ns, AT_SYMLINK_NOFOLLOW);
			rc = record_at(a, dirfd, name, row, 0);
			rc = rc < 0 ? rc : 1;
		}
		if (fd >= 0)
			close(fd);
	}
	close(dirfd);
	return rc;
}

int apply_chmod(struct apply *a, const struct entry *row, const struct entry *ours)
{
	const char *name;
	int dirfd, fd, rc;

	if ((rc = open_checked(a, row->path, ours, &dirfd, &name)) <= 0)
		return rc;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, row->mode) < 0) {
		rc = mm_error_errno(MM_EIO, errno, "cannot change the mode of '%s'", row->path);
	} else {
		/* the version's modification time comes with it */
		set_times(dirfd, name, row->mtime_ns, AT_SYMLINK_NOFOLLOW);
		rc = record_at(a, dirfd, name, row, 0);
		rc = rc < 0 ? rc : 1;
	}
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return rc;
}

int apply_touch(struct apply *a, const struct entry *row, const struct entry *ours)
{
	const char *name;
	int dirfd, rc;

	if ((rc = open_checked(a, row->path, ours, &dirfd, &name)) <= 0)
		return rc;
	set_times(dirfd, name, row->mtime_ns, AT_SYMLINK_NOFOLLOW);
	rc = record_at(a, dirfd, name, row, 0);
	close(dirfd);
	return rc < 0 ? rc : 1;
}

int apply_remove(struct apply *a, const struct entry *ours)
{
	const char *name;
	int dirfd, rc;

	if ((rc = open_checked(a, ours->path, ours, &dirfd, &name)) <= 0)
		return rc;
	rc = remove_at(dirfd, name, ours);
	failpoint("apply-remove");
	if (rc > 0) {
		a->st.deleted++;
		a->dirty = 1;
		note_fs(a, dirfd);
	}
	close(dirfd);
	return rc;
}

int apply_move_aside(struct apply *a, const struct entry *ours, const struct entry *copy)
{
	const char *name, *dname;
	int dirfd, destfd, rc, err;

	if ((rc = open_checked(a, ours->path, ours, &dirfd, &name)) <= 0)
		return rc;
	if ((err = fs_open_parent(&destfd, &dname, a->r->rootfd, copy->path)) < 0) {
		close(dirfd);
		return err;
	}
	if (renameat2(dirfd, name, destfd, dname, RENAME_NOREPLACE) < 0) {
		rc = mm_error_errno(MM_EIO, errno, "cannot move '%s' aside to '%s'", ours->path, copy->path);
	} else {
		struct entry e;
		struct stat sb;
		entry_init(&e);
		/* a rename moves the change time: record the stat data it has now */
		if ((err = entry_copy(&e, copy)) == 0 && fstatat(destfd, dname, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    e.kind == ENTRY_FILE)
			entry_fill_stat(&e, &sb);
		a->dirty = 1;
		note_fs(a, dirfd);
		note_fs(a, destfd);
		rc = err < 0 ? err : apply_record(a, &e, 1);
		entry_dispose(&e);
		rc = rc < 0 ? rc : 1;
	}
	close(dirfd);
	close(destfd);
	return rc;
}

/*
 * Records `row` as a new local version of what dirfd/name holds, with its
 * stat data: content written here, so with `base_oid` as its history, or
 * marked as having none.
 */
static int record_written(struct apply *a, int dirfd, const char *name, const struct entry *row,
                          const uint8_t *base_oid)
{
	struct item *it;
	int err;

	if ((err = push_item(a, row, NULL, NULL, 1)) < 0)
		return err;
	it = &a->items[a->n - 1];
	stat_at(dirfd, name, &it->row, row);
	it->written = 1;
	if (base_oid) {
		it->has_base = 1;
		memcpy(it->base, base_oid, 20);
	}
	a->dirty = 1;
	note_fs(a, dirfd);
	a->st.files++;
	return a->n >= APPLY_BATCH_ITEMS ? apply_flush(a) : 0;
}

int apply_move_over(struct apply *a, const struct entry *from, const struct entry *ours, const struct entry *row,
                    const uint8_t *base_oid)
{
	const char *fname, *name;
	int fromfd = -1, dirfd = -1, rc;

	if ((rc = fs_open_parent(&fromfd, &fname, a->r->rootfd, from->path)) < 0 ||
	    (rc = matches_at(a, fromfd, fname, from)) <= 0)
		goto done;
	if ((rc = open_checked(a, row->path, ours, &dirfd, &name)) <= 0)
		goto done;
	if (renameat2(fromfd, fname, dirfd, name, !ours || ours->kind == ENTRY_DELETED ? RENAME_NOREPLACE : 0) < 0) {
		rc = errno == EEXIST ? 0
		                     : mm_error_errno(MM_EIO, errno, "cannot move '%s' to '%s'", from->path, row->path);
		goto done;
	}
	note_fs(a, fromfd);
	rc = record_written(a, dirfd, name, row, base_oid);
	rc = rc < 0 ? rc : 1;
done:
	if (fromfd >= 0)
		close(fromfd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int apply_record_local(struct apply *a, const struct entry *row, const uint8_t *base_oid)
{
	const char *name;
	int dirfd, err;

	if ((err = fs_open_parent(&dirfd, &name, a->r->rootfd, row->path)) < 0)
		return err;
	err = record_written(a, dirfd, name, row, base_oid);
	close(dirfd);
	return err;
}

int apply_close_conflict(struct apply *a, const char *path)
{
	if (a->nclose == a->capClose) {
		size_t cap = a->capClose ? a->capClose * 2 : 4;
		char **p = realloc(a->close, cap * sizeof(*p));
		if (!p)
			return mm_error_oom();
		a->close = p;
		a->capClose = cap;
	}
	if (!(a->close[a->nclose] = strdup(path)))
		return mm_error_oom();
	a->nclose++;
	return 0;
}

/* Makes what the batch wrote durable: one syncfs() for the root's file system and one for each other it wrote to. */
static int sync_root(struct apply *a, const char *point)
{
	int injected;

	failpoint(point);
	if ((injected = failpoint_err(point)) != 0 || syncfs(a->r->rootfd) < 0)
		return mm_error_errno(MM_EIO, injected ? injected : errno, "cannot make '%s' durable (syncfs)",
		                      a->r->root);
	for (size_t i = 0; i < a->nfs; i++)
		if ((injected = failpoint_err(point)) != 0 || syncfs(a->fs_fds[i]) < 0)
			return mm_error_errno(MM_EIO, injected ? injected : errno,
			                      "cannot make '%s' durable (syncfs of a file system mounted beneath it)",
			                      a->r->root);
	if (a->fs_lost)
		sync();
	return 0;
}

/* Writes the rows of the batch's files to the journal, in one transaction. */
static int journal(struct apply *a)
{
	struct store *s = a->r->store;
	int err;

	if ((err = store_begin(s)) < 0)
		return err;
	for (size_t i = 0; i < a->n; i++) {
		struct item *it = &a->items[i];
		if (!it->tmp[0])
			continue;
		wbuf_reset(&a->frame);
		proto_put_row(&a->frame, &it->row);
		if (a->frame.oom) {
			store_rollback(s);
			return mm_error_oom();
		}
		if ((err = store_pending_put(s, it->row.path, a->frame.p + 5, a->frame.len - 5)) < 0) {
			store_rollback(s);
			return err;
		}
	}
	return store_commit(s);
}

/* Renames the batch's temporary files into place, each after its re-check. */
static int rename_all(struct apply *a)
{
	for (size_t i = 0; i < a->n; i++) {
		struct item *it = &a->items[i];
		const char *name;
		int dirfd, rc, absent = it->ours.kind == ENTRY_DELETED;
		struct stat sb;

		if (!it->tmp[0])
			continue;
		if ((rc = open_checked(a, it->row.path, &it->ours, &dirfd, &name)) < 0)
			return rc;
		if (rc == 0) {
			it->dropped = 1;
			int pfd;
			const char *n2;
			if (fs_open_parent(&pfd, &n2, a->r->rootfd, it->row.path) == 0) {
				unlinkat(pfd, it->tmp, 0);
				close(pfd);
			}
			continue;
		}
		if (renameat2(dirfd, it->tmp, dirfd, name, absent ? RENAME_NOREPLACE : 0) < 0) {
			int e = errno;
			unlinkat(dirfd, it->tmp, 0);
			close(dirfd);
			it->dropped = 1;
			if (e == EEXIST) {
				warn(a, it->row.path, "created here during the sync; kept, and left for the next sync");
				a->st.skipped++;
				continue;
			}
			return mm_error_errno(MM_EIO, e, "cannot rename into '%s'", it->row.path);
		}
		failpoint("apply-rename");
		it->tmp[0] = '\0';
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			entry_fill_stat(&it->row, &sb);
		it->row.flags = 0;
		a->st.files++;
		a->st.bytes += it->row.size;
		close(dirfd);
	}
	return 0;
}

int apply_flush(struct apply *a)
{
	struct store *s = a->r->store;
	int err, files = 0;

	if (a->n == 0 && a->nhist == 0 && a->nclose == 0)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		files += a->items[i].tmp[0] != 0;
	if (files) {
		if ((err = sync_root(a, "apply-sync-data")) < 0 || (err = journal(a)) < 0)
			goto done;
		failpoint("apply-journal");
		if ((err = rename_all(a)) < 0 || (err = sync_root(a, "apply-sync-renames")) < 0)
			goto done;
	} else if (a->dirty && (err = sync_root(a, "apply-sync-renames")) < 0) {
		/* directories, links, removals: durable before the rows that record them */
		goto done;
	}
	/* the blobs history rows name are durable before the rows are */
	if (a->r->bases && (err = bases_flush(a->r->bases)) < 0)
		goto done;
	if ((err = store_begin(s)) < 0)
		goto done;
	for (size_t i = 0; i < a->n && err == 0; i++) {
		struct item *it = &a->items[i];
		if (it->dropped)
			continue;
		err = it->local ? store_put_local_change(s, &it->row) : store_put_next_seq(s, &it->row);
		if (err == 0 && it->has_base)
			err = store_history_add(s, it->row.path, &it->row.vv, it->base, it->row.mode, 0);
		else if (err == 0 && (it->written || it->row.kind == ENTRY_DELETED || it->row.kind == ENTRY_LINK))
			err = store_history_mark(s, &it->row);
	}
	for (size_t i = 0; i < a->nhist && err == 0; i++)
		err = store_history_add(s, a->hist[i].path, &a->hist[i].vv, a->hist[i].oid, a->hist[i].mode,
		                        a->hist[i].flags);
	for (size_t i = 0; i < a->nclose && err == 0; i++)
		err = store_conflict_delete(s, a->close[i]);
	if (err == 0 && files)
		err = store_pending_clear(s);
	if (err == 0) {
		failpoint("apply-before-commit");
		err = store_commit(s);
	} else {
		store_rollback(s);
	}
	failpoint("apply-commit");
done:
	if (err < 0)
		a->broken = 1;
	drop_items(a);
	return err;
}

struct recover_ctx {
	struct replica *r;
	struct hasher *h;
	struct entry e;
	int err;
	int found;
};

static int recover_one(void *arg, const char *path, const void *row, size_t len)
{
	struct recover_ctx *rc = arg;
	struct stat sb;
	uint8_t h[MM_HASH_LEN];
	uint64_t n;
	int fd;

	(void) path;
	if (proto_get_row(&rc->e, row, len) < 0 || rc->e.kind != ENTRY_FILE)
		return 0; /* a journal we cannot read is only a lost shortcut */
	if (fs_open_beneath(&fd, rc->r->rootfd, rc->e.path, O_RDONLY | O_NONBLOCK, 0) < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t) sb.st_size == rc->e.size &&
	    hasher_fd(rc->h, fd, rc->e.path, h, &n) == 0 && !memcmp(h, rc->e.hash, MM_HASH_LEN)) {
		/* renamed in before the crash: this is the received version, once it is durable */
		struct stat root;
		int injected = 0;
		if (fstat(rc->r->rootfd, &root) == 0 && root.st_dev != sb.st_dev &&
		    ((injected = failpoint_err("apply-sync-recover")) != 0 || syncfs(fd) < 0)) {
			rc->err = mm_error_errno(MM_EIO, injected ? injected : errno,
			                         "cannot make '%s' durable (syncfs)", rc->e.path);
			close(fd);
			return rc->err;
		}
		rc->found = 1;
		entry_fill_stat(&rc->e, &sb);
		if ((rc->err = store_put_next_seq(rc->r->store, &rc->e)) < 0) {
			close(fd);
			return rc->err;
		}
	}
	close(fd);
	return 0;
}

int apply_recover(struct replica *r)
{
	struct recover_ctx rc = {r, NULL, {0}, 0, 0};
	int err;

	entry_init(&rc.e);
	if ((err = hasher_new(&rc.h)) < 0)
		return err;
	if ((err = store_begin(r->store)) == 0) {
		err = store_pending_each(r->store, recover_one, &rc);
		/* the renames may have been lost with their syncfs: the rows wait until they are durable */
		if (err == 0 && rc.found) {
			int injected = failpoint_err("apply-sync-recover");
			if (injected || syncfs(r->rootfd) < 0)
				err = mm_error_errno(MM_EIO, injected ? injected : errno,
				                     "cannot make '%s' durable (syncfs)", r->root);
		}
		if (err == 0)
			err = store_pending_clear(r->store);
		if (err == 0)
			err = store_commit(r->store);
		else
			store_rollback(r->store);
	}
	hasher_free(rc.h);
	entry_dispose(&rc.e);
	return err;
}
