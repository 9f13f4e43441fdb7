/* Helpers shared by the unit suites: see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/error.h"
#include "sync/replica.h"

#define TU_OLD_SEC 1000000000 /* 2001-09-09: far outside any racy window */

static char tu_base[4096];

static const char *tmp_root(void)
{
	const char *d = getenv("MMSYNC_TEST_TMP");

	if (!d || !*d)
		d = getenv("TMPDIR");
	if (!d || !*d)
		d = "/tmp";
	return d;
}

void tu_tmp_setup(void)
{
	int n = snprintf(tu_base, sizeof(tu_base), "%s/mmsync-unit.XXXXXX", tmp_root());

	if (n < 0 || (size_t) n >= sizeof(tu_base) || !mkdtemp(tu_base)) {
		fprintf(stderr, "cannot create a scratch directory under '%s': %s\n", tmp_root(), strerror(errno));
		abort();
	}
}

void tu_tmp_teardown(void)
{
	if (tu_base[0])
		tu_rmrf(tu_base);
	tu_base[0] = '\0';
}

char *tu_mkdtemp(void)
{
	char *p;

	ck_assert_msg(asprintf(&p, "%s/t.XXXXXX", tu_base[0] ? tu_base : tmp_root()) > 0, "out of memory");
	ck_assert_msg(mkdtemp(p) != NULL, "cannot create '%s': %s", p, strerror(errno));
	return p;
}

/* Empties the directory `fd` (taken over and closed). */
static void rm_children(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			/* A test may leave a directory with mode 000 behind. */
			fchmodat(dirfd(d), de->d_name, 0700, 0);
			sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				rm_children(sub);
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	closedir(d);
}

void tu_rmrf(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		rm_children(fd);
	rmdir(path);
}

char *tu_path(const char *dir, const char *rel)
{
	char *p;

	ck_assert_msg(asprintf(&p, "%s/%s", dir, rel) > 0, "out of memory");
	return p;
}

void tu_write(const char *dir, const char *rel, const void *data, size_t len)
{
	char *p = tu_path(dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	const char *b = data;

	ck_assert_msg(fd >= 0, "cannot create '%s': %s", p, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, b, len);
		ck_assert_msg(n > 0, "cannot write '%s': %s", p, strerror(errno));
		b += n;
		len -= (size_t) n;
	}
	ck_assert_msg(fchmod(fd, 0644) == 0, "cannot chmod '%s': %s", p, strerror(errno));
	ck_assert_msg(close(fd) == 0, "cannot close '%s': %s", p, strerror(errno));
	free(p);
}

void tu_write_str(const char *dir, const char *rel, const char *text)
{
	tu_write(dir, rel, text, strlen(text));
}

void tu_mkdir(const char *dir, const char *rel, mode_t mode)
{
	char *p = tu_path(dir, rel);

	ck_assert_msg(mkdir(p, 0700) == 0, "cannot create directory '%s': %s", p, strerror(errno));
	ck_assert_msg(chmod(p, mode) == 0, "cannot chmod '%s': %s", p, strerror(errno));
	free(p);
}

void tu_chmod(const char *dir, const char *rel, mode_t mode)
{
	char *p = tu_path(dir, rel);

	ck_assert_msg(chmod(p, mode) == 0, "cannot chmod '%s': %s", p, strerror(errno));
	free(p);
}

void tu_symlink(const char *target, const char *dir, const char *rel)
{
	char *p = tu_path(dir, rel);

	ck_assert_msg(symlink(target, p) == 0, "cannot create link '%s': %s", p, strerror(errno));
	free(p);
}

void tu_unlink(const char *dir, const char *rel)
{
	char *p = tu_path(dir, rel);

	ck_assert_msg(unlink(p) == 0, "cannot remove '%s': %s", p, strerror(errno));
	free(p);
}

void tu_set_mtime(const char *dir, const char *rel, int64_t sec, long nsec)
{
	char *p = tu_path(dir, rel);
	struct timespec ts[2] = {{(time_t) sec, nsec}, {(time_t) sec, nsec}};

	ck_assert_msg(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0, "cannot set times of '%s': %s", p,
	              strerror(errno));
	free(p);
}

int64_t tu_mtime_ns(const char *dir, const char *rel)
{
	char *p = tu_path(dir, rel);
	struct stat st;

	ck_assert_msg(lstat(p, &st) == 0, "cannot stat '%s': %s", p, strerror(errno));
	free(p);
	return (int64_t) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static void age_children(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct timespec ts[2] = {{TU_OLD_SEC, 0}, {TU_OLD_SEC, 0}};

	ck_assert_msg(d != NULL, "fdopendir: %s", strerror(errno));
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, ".mmsync"))
			continue;
		ck_assert_msg(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0, "cannot stat '%s'",
		              de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ck_assert_msg(sub >= 0, "cannot open '%s': %s", de->d_name, strerror(errno));
			age_children(sub);
		}
		ck_assert_msg(utimensat(dirfd(d), de->d_name, ts, AT_SYMLINK_NOFOLLOW) == 0,
		              "cannot set times of '%s': %s", de->d_name, strerror(errno));
	}
	closedir(d);
}

void tu_age_tree(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "cannot open '%s': %s", dir, strerror(errno));
	age_children(fd);
}

#define TU_NOBODY 65534

static void chown_children(int fd, uid_t uid)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	ck_assert_msg(d != NULL, "fdopendir: %s", strerror(errno));
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ck_assert_msg(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0, "cannot stat '%s'",
		              de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ck_assert_msg(sub >= 0, "cannot open '%s': %s", de->d_name, strerror(errno));
			chown_children(sub, uid);
		}
		ck_assert_msg(fchownat(dirfd(d), de->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) == 0,
		              "cannot chown '%s': %s", de->d_name, strerror(errno));
	}
	closedir(d);
}

int tu_drop_root(const char *dir)
{
	int fd;

	if (geteuid() != 0)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "cannot open '%s': %s", dir, strerror(errno));
	chown_children(fd, TU_NOBODY);
	ck_assert_msg(chown(dir, TU_NOBODY, TU_NOBODY) == 0, "cannot chown '%s': %s", dir, strerror(errno));
	if (tu_base[0])
		chmod(tu_base, 0711); /* mkdtemp made it 0700 */
	ck_assert_msg(setegid(TU_NOBODY) == 0 && seteuid(TU_NOBODY) == 0, "cannot drop root: %s", strerror(errno));
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		tu_regain_root();
		return -1;
	}
	return 1;
}

void tu_regain_root(void)
{
	ck_assert_msg(seteuid(0) == 0 && setegid(0) == 0, "cannot take root back: %s", strerror(errno));
}

void tu_sha256(uint8_t out[MM_HASH_LEN], const void *data, size_t len)
{
	unsigned int n = 0;

	ck_assert(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1);
	ck_assert_uint_eq(n, MM_HASH_LEN);
}

int tu_contains(const char *s, const char *sub)
{
	return s && strstr(s, sub) != NULL;
}

void tu_replica_new(struct tu_replica *t)
{
	memset(t, 0, sizeof(*t));
	t->dir = tu_mkdtemp();
	TU_OK(replica_create(t->dir, "test", &t->root));
	TU_OK(replica_open(&t->r, t->root, REPLICA_LOCK));
}

void tu_replica_reopen(struct tu_replica *t)
{
	replica_free(t->r);
	t->r = NULL;
	TU_OK(replica_open(&t->r, t->root, REPLICA_LOCK));
}

void tu_replica_free(struct tu_replica *t)
{
	replica_free(t->r);
	tu_rmrf(t->dir);
	free(t->dir);
	free(t->root);
	memset(t, 0, sizeof(*t));
}

uint64_t tu_replica_id(const struct tu_replica *t)
{
	return t->r->id;
}

void tu_entry_copy(struct entry *out, const struct entry *src)
{
	entry_init(out);
	ck_assert_msg(entry_copy(out, src) == 0, "entry_copy: %s", mm_error_msg());
}

static void on_change(void *ctx, enum scan_change what, const struct entry *now, const struct entry *before)
{
	struct tu_scan *sc = ctx;
	struct tu_change *c;

	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? 2 * sc->cap : 16;
		sc->changes = realloc(sc->changes, sc->cap * sizeof(*sc->changes));
		ck_assert_msg(sc->changes != NULL, "out of memory");
	}
	c = &sc->changes[sc->n++];
	c->what = what;
	tu_entry_copy(&c->now, now);
	c->has_before = before != NULL;
	if (before)
		tu_entry_copy(&c->before, before);
	else
		entry_init(&c->before);
}

static void on_warning(void *ctx, const char *path, const char *msg)
{
	struct tu_scan *sc = ctx;

	if (sc->nwarn == sc->warncap) {
		sc->warncap = sc->warncap ? 2 * sc->warncap : 8;
		sc->warnings = realloc(sc->warnings, sc->warncap * sizeof(*sc->warnings));
		ck_assert_msg(sc->warnings != NULL, "out of memory");
	}
	sc->warnings[sc->nwarn].path = strdup(path);
	sc->warnings[sc->nwarn].msg = strdup(msg);
	sc->nwarn++;
}

void tu_scan_init(struct tu_scan *sc)
{
	memset(sc, 0, sizeof(*sc));
}

void tu_scan_dispose(struct tu_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		entry_dispose(&sc->changes[i].now);
		entry_dispose(&sc->changes[i].before);
	}
	for (size_t i = 0; i < sc->nwarn; i++) {
		free(sc->warnings[i].path);
		free(sc->warnings[i].msg);
	}
	free(sc->changes);
	free(sc->warnings);
	tu_scan_init(sc);
}

int tu_scan_run(struct tu_scan *sc, struct replica *r, unsigned flags, size_t batch, int64_t racy_ns)
{
	struct scan_opts o = SCAN_OPTS_INIT;

	tu_scan_dispose(sc);
	o.flags = flags;
	o.on_change = on_change;
	o.on_warning = on_warning;
	o.ctx = sc;
	o.batch = batch;
	o.racy_ns = racy_ns;
	return scan_run(r, &o, &sc->stats);
}

const struct tu_change *tu_scan_find(const struct tu_scan *sc, const char *path)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->changes[i].now.path, path))
			return &sc->changes[i];
	return NULL;
}

void tu_rows_load(struct tu_rows *rows, struct store *s, const char *prefix)
{
	struct store_iter *it;
	int rc;

	memset(rows, 0, sizeof(*rows));
	TU_OK(store_iter_open(&it, s, prefix));
	for (;;) {
		if (rows->n == rows->cap) {
			rows->cap = rows->cap ? 2 * rows->cap : 64;
			rows->v = realloc(rows->v, rows->cap * sizeof(*rows->v));
			ck_assert_msg(rows->v != NULL, "out of memory");
		}
		entry_init(&rows->v[rows->n]);
		rc = store_iter_next(it, &rows->v[rows->n]);
		if (rc != 1) {
			entry_dispose(&rows->v[rows->n]);
			break;
		}
		rows->n++;
	}
	store_iter_free(it);
	ck_assert_msg(rc == 0, "store_iter_next returned %d: %s", rc, mm_error_msg());
}

void tu_rows_dispose(struct tu_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		entry_dispose(&rows->v[i]);
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

const struct entry *tu_rows_find(const struct tu_rows *rows, const char *path)
{
	for (size_t i = 0; i < rows->n; i++)
		if (!strcmp(rows->v[i].path, path))
			return &rows->v[i];
	return NULL;
}

void tu_assert_entry_eq(const struct entry *got, const struct entry *want)
{
	const char *p = want->path;

	ck_assert_str_eq(got->path, want->path);
	ck_assert_msg(got->kind == want->kind, "'%s': kind %d, expected %d", p, got->kind, want->kind);
	ck_assert_msg(got->mode == want->mode, "'%s': mode %o, expected %o", p, got->mode, want->mode);
	ck_assert_msg(got->size == want->size, "'%s': size %llu, expected %llu", p, (unsigned long long) got->size,
	              (unsigned long long) want->size);
	ck_assert_msg(got->mtime_ns == want->mtime_ns, "'%s': mtime %lld, expected %lld", p, (long long) got->mtime_ns,
	              (long long) want->mtime_ns);
	ck_assert_msg(got->has_hash == want->has_hash, "'%s': has_hash %d, expected %d", p, got->has_hash,
	              want->has_hash);
	if (want->has_hash)
		ck_assert_msg(!memcmp(got->hash, want->hash, MM_HASH_LEN), "'%s': hash differs", p);
	if (want->target)
		ck_assert_msg(got->target && !strcmp(got->target, want->target), "'%s': target '%s', expected '%s'", p,
		              got->target ? got->target : "(none)", want->target);
	else
		ck_assert_msg(got->target == NULL, "'%s': target '%s', expected none", p, got->target);
	ck_assert_msg(vv_compare(&got->vv, &want->vv) == VV_EQUAL && got->vv.n == want->vv.n,
	              "'%s': version vector differs", p);
	ck_assert_msg(got->writer == want->writer, "'%s': writer %llx, expected %llx", p,
	              (unsigned long long) got->writer, (unsigned long long) want->writer);
	ck_assert_msg(got->origin == want->origin, "'%s': origin %llx, expected %llx", p,
	              (unsigned long long) got->origin, (unsigned long long) want->origin);
	ck_assert_msg(got->seq == want->seq, "'%s': seq %llu, expected %llu", p, (unsigned long long) got->seq,
	              (unsigned long long) want->seq);
	ck_assert_msg(got->dev == want->dev, "'%s': dev differs", p);
	ck_assert_msg(got->ino == want->ino, "'%s': ino differs", p);
	ck_assert_msg(got->ctime_ns == want->ctime_ns, "'%s': ctime differs", p);
	ck_assert_msg(got->flags == want->flags, "'%s': flags %x, expected %x", p, got->flags, want->flags);
}

void tu_vv(struct vv *v, const uint64_t *pairs, size_t npairs)
{
	vv_clear(v);
	for (size_t i = 0; i < npairs; i++)
		ck_assert_int_eq(vv_set(v, pairs[2 * i], pairs[2 * i + 1]), 0);
}
