/*
 * Unit tests of whole sessions between two temporary replicas: pull, push
 * and sync over a socket pair, merges and conflicts, path filters, bundles
 * (made, applied, applied again, truncated), and crashes and injected
 * errors at every failpoint of sync/failpoint.h, each followed by the
 * recovery and the pull that must converge.
 *
 * Each side of a session runs in a forked child that opens its replica,
 * prepares it (recovery and scan) and runs session_client or
 * session_server, as `mmsync pull` and `mmsync serve` would; it reports
 * through a pipe.  The test process itself never reaches the receiving or
 * sending code: failpoint.c reads MMSYNC_FAILPOINT once per process, on
 * the first pass through a failpoint, so a child forked from a process
 * that had passed one would keep its empty setting.  The replicas are
 * closed while the children run (the lock is an flock, shared across a
 * fork), and opened again to look at the result.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "sync/apply.h"
#include "sync/bundle.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/failpoint.h"
#include "sync/replica.h"
#include "sync/scan.h"
#include "sync/session.h"
#include "sync/store.h"
#include "testutil.h"

#define PEER_MS      20000 /* the longest a side may take (a hung peer fails the test, never the run) */
#define TMP_PREFIX   ".mmsync-tmp."
#define CRASH_STATUS 99 /* failpoint()'s _exit status */

/* ---------------------------------------------------------------- replicas and trees */

static void rep_new(struct tu_replica *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->dir = tu_mkdtemp();
	TU_OK(replica_create(t->dir, name, &t->root));
	TU_OK(replica_open(&t->r, t->root, REPLICA_LOCK));
}

static void rep_close(struct tu_replica *t)
{
	replica_free(t->r);
	t->r = NULL;
}

static void rep_open(struct tu_replica *t)
{
	if (!t->r)
		TU_OK(replica_open(&t->r, t->root, REPLICA_LOCK));
}

/* A growing text: lines kept sorted by the caller. */
struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = 2 * (t->len + n + 1);
		t->p = realloc(t->p, t->cap);
		ck_assert_msg(t->p != NULL, "out of memory");
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The first line where `a` and `b` differ, for a failure message. */
static const char *first_diff(const char *a, const char *b, char *buf, size_t size)
{
	size_t i = 0, line = 0;

	while (a[i] && a[i] == b[i]) {
		if (a[i] == '\n')
			line = i + 1;
		i++;
	}
	snprintf(buf, size, "'%.*s' vs '%.*s'", (int) strcspn(a + line, "\n"), a + line, (int) strcspn(b + line, "\n"),
	         b + line);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

struct walk {
	char **lines;
	size_t n, cap;
	size_t tmp; /* temporary files met */
};

static void walk_add(struct walk *w, char *line)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 32;
		w->lines = realloc(w->lines, w->cap * sizeof(*w->lines));
		ck_assert_msg(w->lines != NULL, "out of memory");
	}
	w->lines[w->n++] = line;
}

static void file_hash(char out[2 * MM_HASH_LEN + 1], int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	uint8_t h[MM_HASH_LEN];
	char *buf;

	ck_assert_msg(fd >= 0 && fstat(fd, &st) == 0, "cannot open '%s': %s", name, strerror(errno));
	buf = malloc((size_t) st.st_size + 1);
	ck_assert_msg(buf != NULL, "out of memory");
	ck_assert_msg(read(fd, buf, (size_t) st.st_size) == st.st_size, "cannot read '%s'", name);
	close(fd);
	tu_sha256(h, buf, (size_t) st.st_size);
	free(buf);
	hex(out, h, MM_HASH_LEN);
}

/* One line per path beneath `dir` (relative `rel`): kind, permission bits, content or target, file mtime. */
static void walk_dir(struct walk *w, int fd, const char *rel)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;

	ck_assert_msg(d != NULL, "fdopendir: %s", strerror(errno));
	while ((de = readdir(d))) {
		char path[1024], what[256], *line;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || (!*rel && !strcmp(de->d_name, ".mmsync")))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			w->tmp++;
		ck_assert_msg(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0, "cannot stat '%s'", path);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ck_assert_msg(sub >= 0, "cannot open '%s': %s", path, strerror(errno));
			snprintf(what, sizeof(what), "dir");
			walk_dir(w, sub, path);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(dirfd(d), de->d_name, what + 5, sizeof(what) - 6);
			ck_assert_msg(n >= 0, "cannot read link '%s'", path);
			memcpy(what, "link ", 5);
			what[5 + n] = '\0';
		} else {
			char h[2 * MM_HASH_LEN + 1];
			file_hash(h, dirfd(d), de->d_name);
			snprintf(what, sizeof(what), "file %s %lld", h,
			         (long long) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
		}
		ck_assert_msg(asprintf(&line, "%s %s %o\n", path, what,
		                       S_ISLNK(st.st_mode) ? 0 : (unsigned) (st.st_mode & 07777)) > 0,
		              "out of memory");
		walk_add(w, line);
	}
	closedir(d);
}

/* The tree beneath `root` (not .mmsync/) as sorted text; temporary files met go to *tmp. */
static char *tree_text(const char *root, size_t *tmp)
{
	struct walk w = {0};
	struct text t = {0};
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "cannot open '%s': %s", root, strerror(errno));
	walk_dir(&w, fd, "");
	qsort(w.lines, w.n, sizeof(*w.lines), cmp_str);
	text_add(&t, "");
	for (size_t i = 0; i < w.n; i++) {
		text_add(&t, w.lines[i]);
		free(w.lines[i]);
	}
	free(w.lines);
	if (tmp)
		*tmp = w.tmp;
	return t.p;
}

#define ROWS_LOCAL     0x1 /* add the fields that are this replica's own: sequence number, origin, stat cache */
#define ROWS_NO_WRITER 0x2 /* leave the writer out */

/* What a store records, as text: every row with the fields both sides of a sync must agree on. */
static char *store_text(struct replica *r, unsigned flags)
{
	struct tu_rows rows;
	struct text t = {0};

	tu_rows_load(&rows, r->store, NULL);
	text_add(&t, "");
	for (size_t i = 0; i < rows.n; i++) {
		const struct entry *e = &rows.v[i];
		char vv[512], h[2 * MM_HASH_LEN + 1] = "-", line[2048];
		ck_assert_int_eq(vv_format(vv, sizeof(vv), &e->vv), 0);
		if (e->has_hash)
			hex(h, e->hash, MM_HASH_LEN);
		/* a directory's mtime is each side's own (what is written into it changes it) */
		snprintf(line, sizeof(line),
		         "%s kind=%d mode=%o size=%llu mtime=%lld hash=%s target=%s vv=%s writer=%llx", e->path,
		         e->kind, e->mode, (unsigned long long) e->size,
		         e->kind == ENTRY_FILE ? (long long) e->mtime_ns : 0LL, h, e->target ? e->target : "-", vv,
		         flags & ROWS_NO_WRITER ? 0ULL : (unsigned long long) e->writer);
		text_add(&t, line);
		if (flags & ROWS_LOCAL) {
			snprintf(line, sizeof(line), " seq=%llu origin=%llx ino=%llu flags=%x",
			         (unsigned long long) e->seq, (unsigned long long) e->origin,
			         (unsigned long long) e->ino, e->flags);
			text_add(&t, line);
		}
		text_add(&t, "\n");
	}
	tu_rows_dispose(&rows);
	return t.p;
}

static void assert_same_text(const char *what, char *a, char *b)
{
	char buf[2048];

	ck_assert_msg(!strcmp(a, b), "%s differ: %s", what, first_diff(a, b, buf, sizeof(buf)));
	free(a);
	free(b);
}

/* Both trees hold the same paths with the same content, and both stores record the same versions. */
static void assert_agree_rows(struct tu_replica *a, struct tu_replica *b, unsigned flags)
{
	size_t ta, tb;

	rep_open(a);
	rep_open(b);
	assert_same_text("the trees", tree_text(a->root, &ta), tree_text(b->root, &tb));
	ck_assert_msg(ta == 0 && tb == 0, "temporary files left: %zu and %zu", ta, tb);
	assert_same_text("the stores", store_text(a->r, flags), store_text(b->r, flags));
}

static void assert_agree(struct tu_replica *a, struct tu_replica *b)
{
	assert_agree_rows(a, b, 0);
}

/* A scan finds nothing to record. */
static void assert_scan_quiet(struct tu_replica *t)
{
	struct tu_scan sc;

	rep_open(t);
	tu_scan_init(&sc);
	TU_OK(tu_scan_run(&sc, t->r, 0, 0, 0));
	ck_assert_msg(sc.n == 0 && sc.stats.skipped == 0,
	              "%s: the scan found %zu change(s) (first '%s') and %llu skipped", t->root, sc.n,
	              sc.n ? sc.changes[0].now.path : "", (unsigned long long) sc.stats.skipped);
	tu_scan_dispose(&sc);
}

static int count_problem(void *arg, const char *path, const char *problem)
{
	(void) path;
	(void) problem;
	(*(int *) arg)++;
	return 0;
}

static int count_pending(void *arg, const char *path, const void *row, size_t len)
{
	(void) path;
	(void) row;
	(void) len;
	(*(int *) arg)++;
	return 0;
}

/* What `mmsync check` looks at: the store itself, the tree against it (contents read), no journal left. */
static void assert_check_clean(struct tu_replica *t)
{
	struct tu_scan sc;
	uint64_t rows;
	int problems = 0, pending = 0;

	rep_open(t);
	ck_assert_int_eq(store_verify(t->r->store, count_problem, &problems, &rows), 0);
	ck_assert_msg(problems == 0, "%s: store_verify found %d problem(s)", t->root, problems);
	TU_OK(store_pending_each(t->r->store, count_pending, &pending));
	ck_assert_msg(pending == 0, "%s: %d row(s) left in the journal", t->root, pending);
	tu_scan_init(&sc);
	TU_OK(tu_scan_run(&sc, t->r, SCAN_DRY_RUN | SCAN_VERIFY, 0, 0));
	ck_assert_msg(sc.n == 0 && sc.stats.damaged == 0, "%s: check found %zu change(s) (first '%s')", t->root, sc.n,
	              sc.n ? sc.changes[0].now.path : "");
	tu_scan_dispose(&sc);
}

/* ---------------------------------------------------------------- sides in child processes */

enum role { ROLE_CLIENT, ROLE_SERVER, ROLE_BUNDLE };

/* What one side does. */
struct job {
	enum role role;
	unsigned op; /* ROLE_CLIENT: PROTO_OP_* */
	char **filters;
	size_t nfilters;
	const char *bundle;     /* ROLE_BUNDLE: the file applied */
	const char *crash;      /* MMSYNC_FAILPOINT of this side */
	const char *failerr;    /* MMSYNC_FAILERR of this side, from its session on (after session_prepare) */
	int failerr_in_prepare; /* ... from session_prepare on */
};

enum stage { STAGE_OPEN, STAGE_PREPARE, STAGE_BUNDLE_READ, STAGE_SESSION, STAGE_DONE };

/* What one side reports to the test. */
struct report {
	enum stage stage; /* where it stopped */
	int rc;
	struct session_result res;
	uint64_t events[EV_MERGED + 1];
	char msg[512];
};

/* How a pair of sides ended. */
struct outcome {
	int status[2]; /* wait status of the client (or bundle) side, then of the server */
	int reported[2];
	struct report rep[2];
};

static void count_event(void *arg, enum session_event ev, const char *path, const char *detail)
{
	struct report *rp = arg;

	(void) path;
	(void) detail;
	if ((unsigned) ev <= EV_MERGED)
		rp->events[ev]++;
}

#ifdef MMSYNC_TEST
static void set_failerr(const char *spec)
{
	setenv("MMSYNC_FAILERR", spec, 1);
	failpoint_err_reset();
}
#endif

/* `bundle apply` as cmd/ does it: read and check, a child plays the author, then record what it had. */
static int bundle_apply(struct replica *r, const char *file, struct session_opts *o, struct report *rp)
{
	struct bundle *b = NULL;
	struct conn c;
	int sv[2], status, err;
	pid_t pid;

	rp->stage = STAGE_BUNDLE_READ;
	bundle_clean(r);
	if ((err = bundle_read(&b, file, r, NULL, NULL)) < 0)
		return err;
	rp->stage = STAGE_SESSION;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		bundle_free(b, 1);
		return mm_error_errno(MM_EIO, errno, "socketpair");
	}
	if ((pid = fork()) == 0) {
		close(sv[0]);
		_exit(bundle_serve(b, sv[1]) < 0 ? 1 : 0);
	}
	close(sv[1]);
	o->filters = bundle_info(b)->filters;
	o->nfilters = bundle_info(b)->nfilters;
	conn_init(&c, sv[0], sv[0], "bundle");
	c.timeout_ms = PEER_MS;
	err = session_client(r, &c, o, &rp->res);
	conn_dispose(&c);
	close(sv[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	if (err == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		err = mm_error_set(MM_ERROR, "the bundle's side ended with status %d", status);
	if (err == 0)
		err = bundle_record(b, r);
	bundle_free(b, 1);
	return err;
}

/* One side, in a child: never asserts (Check's assertions belong to the test process). */
static int side_run(const struct job *j, const char *root, int fd, struct report *rp)
{
	struct scan_opts so = SCAN_OPTS_INIT;
	struct session_opts o = {0};
	struct replica *r = NULL;
	struct scan_stats st;
	struct conn c;
	int err;

#ifdef MMSYNC_TEST
	if (j->crash)
		setenv("MMSYNC_FAILPOINT", j->crash, 1);
	if (j->failerr && j->failerr_in_prepare)
		set_failerr(j->failerr);
#endif
	rp->stage = STAGE_OPEN;
	if ((err = replica_open(&r, root, REPLICA_LOCK)) < 0)
		return err;
	rp->stage = STAGE_PREPARE;
	if ((err = session_prepare(r, &so, &st)) < 0)
		goto done;
#ifdef MMSYNC_TEST
	if (j->failerr && !j->failerr_in_prepare)
		set_failerr(j->failerr);
#endif
	rp->stage = STAGE_SESSION;
	o.op = j->op;
	o.filters = j->filters;
	o.nfilters = j->nfilters;
	o.on_event = count_event;
	o.arg = rp;
	if (j->role == ROLE_BUNDLE) {
		err = bundle_apply(r, j->bundle, &o, rp);
	} else {
		conn_init(&c, fd, fd, j->role == ROLE_CLIENT ? "server" : "client");
		c.timeout_ms = PEER_MS;
		if (j->role == ROLE_CLIENT)
			err = session_client(r, &c, &o, &rp->res);
		else
			err = session_server(r, &c, &o);
		conn_dispose(&c);
	}
done:
	replica_free(r);
	return err;
}

static pid_t side_start(const struct job *j, const char *root, int fd, int close_fd, int pipefd[2])
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct report rp;
		memset(&rp, 0, sizeof(rp));
		if (close_fd >= 0)
			close(close_fd);
		close(pipefd[0]);
		rp.rc = side_run(j, root, fd, &rp);
		if (rp.rc >= 0)
			rp.stage = STAGE_DONE;
		else
			snprintf(rp.msg, sizeof(rp.msg), "%s", mm_error_msg());
		_exit(write(pipefd[1], &rp, sizeof(rp)) == (ssize_t) sizeof(rp) ? 0 : 1);
	}
	close(pipefd[1]);
	return pid;
}

/* Waits for every child of `pid` (0 where none) until PEER_MS; kills what is still running. */
static void sides_wait(const pid_t pid[2], int status[2])
{
	struct timespec ts = {0, 2 * 1000 * 1000};
	int left = (pid[0] > 0) + (pid[1] > 0), done[2] = {pid[0] <= 0, pid[1] <= 0};

	for (int waited = 0; left > 0; waited += 2) {
		for (int i = 0; i < 2; i++) {
			if (done[i])
				continue;
			pid_t w = waitpid(pid[i], &status[i], waited < PEER_MS ? WNOHANG : 0);
			ck_assert_msg(w >= 0, "waitpid: %s", strerror(errno));
			if (w == pid[i]) {
				done[i] = 1;
				left--;
			} else if (waited >= PEER_MS) {
				kill(pid[i], SIGKILL);
			}
		}
		if (left && waited < PEER_MS)
			nanosleep(&ts, NULL);
		if (waited == PEER_MS)
			for (int i = 0; i < 2; i++)
				if (!done[i])
					kill(pid[i], SIGKILL);
	}
}

static void read_report(int fd, struct report *rp, int *reported)
{
	ssize_t n = read(fd, rp, sizeof(*rp));

	*reported = n == (ssize_t) sizeof(*rp);
	if (!*reported)
		memset(rp, 0, sizeof(*rp));
	close(fd);
}

/*
 * Runs `cj` on `cl` against `sj` on `sv` (or, for a bundle, `cj` alone),
 * both closed meanwhile and opened again after.
 */
static void run_sides(struct outcome *out, struct tu_replica *cl, const struct job *cj, struct tu_replica *sv,
                      const struct job *sj)
{
	int sp[2] = {-1, -1}, p0[2], p1[2] = {-1, -1};
	pid_t pid[2] = {0, 0};

	memset(out, 0, sizeof(*out));
	rep_close(cl);
	ck_assert_msg(pipe2(p0, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	if (sv) {
		rep_close(sv);
		ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0, "socketpair: %s",
		              strerror(errno));
	}
	pid[0] = side_start(cj, cl->root, sp[0], sp[1], p0);
	if (sv) {
		/* made after the client started: only the server holds its write end */
		ck_assert_msg(pipe2(p1, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
		pid[1] = side_start(sj, sv->root, sp[1], sp[0], p1);
		close(sp[0]);
		close(sp[1]);
	}
	sides_wait(pid, out->status);
	read_report(p0[0], &out->rep[0], &out->reported[0]);
	if (sv)
		read_report(p1[0], &out->rep[1], &out->reported[1]);
	rep_open(cl);
	if (sv)
		rep_open(sv);
}

static const char *status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "status %#x", status);
	return buf;
}

/* Side `i` ended normally and its work returned 0. */
static void assert_side_ok(const struct outcome *out, int i)
{
	char buf[64];

	ck_assert_msg(WIFEXITED(out->status[i]) && WEXITSTATUS(out->status[i]) == 0 && out->reported[i],
	              "the %s side ended with %s", i ? "server" : "client",
	              status_text(out->status[i], buf, sizeof(buf)));
	ck_assert_msg(out->rep[i].rc == 0, "the %s side failed at stage %d (%d): %s", i ? "server" : "client",
	              out->rep[i].stage, out->rep[i].rc, out->rep[i].msg);
}

/* `cl` syncs with `sv` (op: PROTO_OP_*), both sides succeed; the client's counts go to *res. */
static void session_ok(struct tu_replica *cl, struct tu_replica *sv, unsigned op, char **filters, size_t nfilters,
                       struct report *res)
{
	struct job cj = {ROLE_CLIENT, op, filters, nfilters, NULL, NULL, NULL, 0};
	struct job sj = {ROLE_SERVER, 0, NULL, 0, NULL, NULL, NULL, 0};
	struct outcome out;

	run_sides(&out, cl, &cj, sv, &sj);
	assert_side_ok(&out, 0);
	assert_side_ok(&out, 1);
	*res = out.rep[0];
}

#define ASSERT_COUNTS(rp, in, out, del)                                                                                \
	do {                                                                                                           \
		const struct session_result *r_ = &(rp)->res;                                                          \
		ck_assert_msg(r_->files_in == (in) && r_->files_out == (out) && r_->deleted == (del),                  \
		              "files_in %llu, files_out %llu, deleted %llu; want %d, %d, %d",                          \
		              (unsigned long long) r_->files_in, (unsigned long long) r_->files_out,                   \
		              (unsigned long long) r_->deleted, (in), (out), (del));                                   \
		ck_assert_msg(r_->conflicts == 0 && r_->failed == 0 && r_->skipped == 0,                               \
		              "conflicts %llu, failed %llu, skipped %llu", (unsigned long long) r_->conflicts,         \
		              (unsigned long long) r_->failed, (unsigned long long) r_->skipped);                      \
	} while (0)

/* An immediate second session moves nothing. */
static void assert_idle(struct tu_replica *cl, struct tu_replica *sv, unsigned op)
{
	struct report rp;

	session_ok(cl, sv, op, NULL, 0, &rp);
	ASSERT_COUNTS(&rp, 0, 0, 0);
}

/* ---------------------------------------------------------------- trees */

/* Files, directories (one empty), links, an executable: what a first sync copies. */
static void tree_build(const char *root)
{
	tu_write_str(root, "a.txt", "alpha\n");
	tu_write_str(root, "run.sh", "#!/bin/sh\necho hi\n");
	tu_chmod(root, "run.sh", 0755);
	tu_mkdir(root, "d", 0755);
	tu_write_str(root, "d/x", "x content\n");
	tu_mkdir(root, "d/sub", 0700);
	tu_write_str(root, "d/sub/y", "y content\n");
	tu_write_str(root, "d/sub/gone", "to be deleted\n");
	tu_mkdir(root, "empty", 0755);
	tu_symlink("a.txt", root, "ln");
	tu_symlink("d/sub", root, "dirlink");
	tu_age_tree(root);
}
#define TREE_PATHS 10 /* paths tree_build makes */

/* Every kind of change to what tree_build made: 7 paths changed, 1 deleted. */
static void tree_change(const char *root)
{
	tu_write_str(root, "d/x", "x content, changed\n");
	tu_unlink(root, "d/sub/gone");
	tu_chmod(root, "a.txt", 0600);
	tu_unlink(root, "ln");
	tu_symlink("run.sh", root, "ln");
	tu_write_str(root, "new.txt", "new\n");
	tu_mkdir(root, "newdir", 0750);
	tu_write_str(root, "newdir/n", "n\n");
	tu_chmod(root, "d/sub", 0755);
	tu_age_tree(root);
}
#define CHANGED_PATHS 7
#define DELETED_PATHS 1

/* ---------------------------------------------------------------- sessions */

/* Both sides agree, neither scan finds anything to record, and one more session moves nothing. */
static void assert_converged(struct tu_replica *a, struct tu_replica *b, unsigned op)
{
	assert_agree(a, b);
	assert_scan_quiet(a);
	assert_scan_quiet(b);
	assert_idle(a, b, op);
}

/* a pulls (_i 0) or pushes (_i 1) a new tree, then every kind of change to it. */
START_TEST(test_one_way)
{
	const unsigned op = _i ? PROTO_OP_PUSH : PROTO_OP_PULL;
	struct tu_replica a, b;
	struct tu_replica *src = _i ? &a : &b, *dst = _i ? &b : &a;
	struct report rp;

	rep_new(&a, "a");
	rep_new(&b, "b");
	tree_build(src->root);
	session_ok(&a, &b, op, NULL, 0, &rp);
	ASSERT_COUNTS(&rp, _i ? 0 : TREE_PATHS, _i ? TREE_PATHS : 0, 0);
	assert_converged(&a, &b, op);

	tree_change(src->root);
	session_ok(&a, &b, op, NULL, 0, &rp);
	/* a deletion is counted in `deleted` whichever side made it */
	ASSERT_COUNTS(&rp, _i ? 0 : CHANGED_PATHS, _i ? CHANGED_PATHS : 0, DELETED_PATHS);
	assert_converged(&a, &b, op);
	assert_check_clean(dst);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

/* Changes on both sides, to different paths, meet in one two-way sync. */
START_TEST(test_sync_both_ways)
{
	const unsigned both = PROTO_OP_PULL | PROTO_OP_PUSH;
	struct tu_replica a, b;
	struct report rp;

	rep_new(&a, "a");
	rep_new(&b, "b");
	tree_build(a.root);
	tu_write_str(b.root, "from-b", "b's own\n");
	tu_age_tree(b.root);
	session_ok(&a, &b, both, NULL, 0, &rp);
	ASSERT_COUNTS(&rp, 1, TREE_PATHS, 0);
	assert_agree(&a, &b);
	assert_idle(&a, &b, both);

	tree_change(b.root);
	tu_write_str(a.root, "from-a", "a's own\n");
	tu_unlink(a.root, "run.sh");
	tu_age_tree(a.root);
	session_ok(&a, &b, both, NULL, 0, &rp);
	/* deletions either way are counted in `deleted`, not in files_in or files_out */
	ASSERT_COUNTS(&rp, CHANGED_PATHS, 1, DELETED_PATHS + 1);
	assert_converged(&a, &b, both);
	assert_check_clean(&a);
	assert_check_clean(&b);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

static char *read_text(const char *root, const char *rel)
{
	char *p = tu_path(root, rel), *buf = calloc(1, 4096);
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0 && buf, "cannot open '%s': %s", p, strerror(errno));
	ck_assert_msg(read(fd, buf, 4095) >= 0, "cannot read '%s'", p);
	close(fd);
	free(p);
	return buf;
}

/* Conflict copies in the root (named PATH.conflict-...). */
static int count_copies(const char *root, const char *stem)
{
	DIR *d = opendir(root);
	struct dirent *de;
	size_t n = strlen(stem);
	int count = 0;

	ck_assert_msg(d != NULL, "cannot open '%s'", root);
	while ((de = readdir(d)))
		count += !strncmp(de->d_name, stem, n) && !strncmp(de->d_name + n, ".conflict-", 10);
	closedir(d);
	return count;
}

static const char base_text[] = "one\ntwo\nthree\nfour\nfive\n";

/*
 * New replicas a and b share a text, edited then on both sides (a's edit
 * `ea` the later), and sync: with `merged` merges and `conflicts` conflicts.
 */
static void concurrent_sync(struct tu_replica *a, struct tu_replica *b, const char *ea, const char *eb, uint64_t merged,
                            uint64_t conflicts)
{
	struct report rp;

	rep_new(a, "a");
	rep_new(b, "b");
	tu_write_str(a->root, "notes.txt", base_text);
	tu_age_tree(a->root);
	session_ok(a, b, PROTO_OP_PULL | PROTO_OP_PUSH, NULL, 0, &rp);
	ASSERT_COUNTS(&rp, 0, 1, 0);
	tu_write_str(a->root, "notes.txt", ea);
	tu_write_str(b->root, "notes.txt", eb);
	tu_set_mtime(b->root, "notes.txt", 1100000000, 0);
	tu_set_mtime(a->root, "notes.txt", 1200000000, 0);
	session_ok(a, b, PROTO_OP_PULL | PROTO_OP_PUSH, NULL, 0, &rp);
	ck_assert_msg(rp.res.merged == merged && rp.res.conflicts == conflicts,
	              "merged %llu, conflicts %llu; want %llu, %llu", (unsigned long long) rp.res.merged,
	              (unsigned long long) rp.res.conflicts, (unsigned long long) merged,
	              (unsigned long long) conflicts);
	ck_assert_uint_eq(rp.events[EV_MERGED], merged);
	ck_assert_uint_eq(rp.events[EV_CONFLICT], conflicts);
}

START_TEST(test_merge_clean)
{
	const char *want = "ONE (a)\ntwo\nthree\nfour\nFIVE (b)\n";
	const unsigned both = PROTO_OP_PULL | PROTO_OP_PUSH;
	struct tu_replica a, b;
	struct report rp;
	uint64_t open;
	char *got;

	concurrent_sync(&a, &b, "ONE (a)\ntwo\nthree\nfour\nfive\n", "one\ntwo\nthree\nfour\nFIVE (b)\n", 1, 0);
	/* the sync back */
	session_ok(&b, &a, both, NULL, 0, &rp);
	for (int i = 0; i < 2; i++) {
		got = read_text(i ? b.root : a.root, "notes.txt");
		ck_assert_msg(!strcmp(got, want), "%s: notes.txt is '%s', want the merge '%s'", i ? "b" : "a", got,
		              want);
		free(got);
	}
	ck_assert_int_eq(count_copies(a.root, "notes"), 0);
	TU_OK(store_conflict_count(a.r->store, &open));
	ck_assert_uint_eq(open, 0);
	assert_agree(&a, &b);
	assert_idle(&a, &b, both);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

static int conflict_path(void *arg, const struct store_conflict *c)
{
	char **path = arg;

	free(*path);
	*path = strdup(c->path);
	return 0;
}

START_TEST(test_conflict)
{
	const unsigned both = PROTO_OP_PULL | PROTO_OP_PUSH;
	struct tu_replica a, b;
	struct report rp;
	uint64_t open;
	char *path = NULL, *got;

	concurrent_sync(&a, &b, "one\nTWO by a\nthree\nfour\nfive\n", "one\nTWO by b\nthree\nfour\nfive\n", 0, 1);
	ck_assert_int_eq(count_copies(a.root, "notes"), 1);
	TU_OK(store_conflict_count(a.r->store, &open));
	ck_assert_uint_eq(open, 1);
	TU_OK(store_conflict_each(a.r->store, conflict_path, &path));
	ck_assert_str_eq(path, "notes.txt");
	free(path);
	/* the later edit (a's) stays at the path */
	got = read_text(a.root, "notes.txt");
	ck_assert_str_eq(got, "one\nTWO by a\nthree\nfour\nfive\n");
	free(got);
	session_ok(&b, &a, both, NULL, 0, &rp);
	ck_assert_int_eq(count_copies(b.root, "notes"), 1);
	assert_agree(&a, &b);
	assert_idle(&a, &b, both);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

/* PATH limits: only what lies beneath them (and the directories above them) moves. */
START_TEST(test_filter)
{
	char *filters[] = {"d/sub", "new.txt"};
	struct tu_replica a, b;
	struct report rp;
	char *t;

	rep_new(&a, "a");
	rep_new(&b, "b");
	tree_build(b.root);
	tu_write_str(b.root, "new.txt", "new\n");
	tu_write_str(b.root, "new.txt2", "not beneath a filter\n");
	tu_age_tree(b.root);
	session_ok(&a, &b, PROTO_OP_PULL, filters, 2, &rp);
	/* d, d/sub, d/sub/y, d/sub/gone, new.txt */
	ASSERT_COUNTS(&rp, 5, 0, 0);
	t = tree_text(a.root, NULL);
	ck_assert_msg(tu_contains(t, "d/sub/y ") && tu_contains(t, "new.txt ") && !tu_contains(t, "d/x ") &&
	                      !tu_contains(t, "a.txt ") && !tu_contains(t, "new.txt2") && !tu_contains(t, "ln "),
	              "a's tree after a filtered pull:\n%s", t);
	free(t);
	assert_scan_quiet(&a);
	/* then everything */
	session_ok(&a, &b, PROTO_OP_PULL, NULL, 0, &rp);
	ASSERT_COUNTS(&rp, TREE_PATHS + 2 - 5, 0, 0);
	assert_agree(&a, &b);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- bundles */

static char *bundle_make(struct tu_replica *t, const char *dir, const char *name)
{
	struct bundle_create_opts o = {0};
	struct bundle_info info;
	struct scan_stats st;
	struct scan_opts so = SCAN_OPTS_INIT;
	char *file = tu_path(dir, name);

	rep_open(t);
	TU_OK(session_prepare(t->r, &so, &st));
	TU_OK(bundle_create(t->r, file, &o, &info));
	ck_assert_uint_gt(info.rows, 0);
	return file;
}

static void bundle_run(struct outcome *out, struct tu_replica *t, const char *file)
{
	struct job j = {ROLE_BUNDLE, PROTO_OP_PULL, NULL, 0, file, NULL, NULL, 0};

	run_sides(out, t, &j, NULL, NULL);
}

static void bundle_ok(struct tu_replica *t, const char *file, struct report *rp)
{
	struct outcome out;

	bundle_run(&out, t, file);
	assert_side_ok(&out, 0);
	*rp = out.rep[0];
}

/* The first `len` bytes of `src` in a new file `dst`. */
static void copy_prefix(const char *src, const char *dst, off_t len)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[4096];

	ck_assert_msg(in >= 0 && out >= 0, "cannot copy '%s': %s", src, strerror(errno));
	while (len > 0) {
		ssize_t n = read(in, buf, len < (off_t) sizeof(buf) ? (size_t) len : sizeof(buf));
		ck_assert_msg(n > 0 && write(out, buf, (size_t) n) == n, "cannot copy '%s'", src);
		len -= n;
	}
	close(in);
	close(out);
}

START_TEST(test_bundle)
{
	struct tu_replica a, b;
	struct report rp;
	struct outcome out;
	struct stat st;
	char *file, *cut, *tree0, *store0, *dir = tu_mkdtemp();

	rep_new(&a, "a");
	rep_new(&b, "b");
	tree_build(b.root);
	file = bundle_make(&b, dir, "first.mmb");
	bundle_ok(&a, file, &rp);
	ASSERT_COUNTS(&rp, TREE_PATHS, 0, 0);
	assert_agree(&a, &b);
	free(file);

	/* a second bundle with every kind of change; then truncated copies of it are refused */
	tree_change(b.root);
	file = bundle_make(&b, dir, "second.mmb");
	cut = tu_path(dir, "cut.mmb");
	ck_assert_int_eq(stat(file, &st), 0);
	tree0 = tree_text(a.root, NULL);
	store0 = store_text(a.r, ROWS_LOCAL);
	const off_t offsets[] = {0, 1, 100, st.st_size / 2, st.st_size - 1};
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		copy_prefix(file, cut, offsets[i]);
		bundle_run(&out, &a, cut);
		ck_assert_msg(WIFEXITED(out.status[0]) && WEXITSTATUS(out.status[0]) == 0 && out.reported[0],
		              "applying a bundle cut at %lld crashed", (long long) offsets[i]);
		ck_assert_msg(out.rep[0].rc < 0 && out.rep[0].stage == STAGE_BUNDLE_READ,
		              "a bundle cut at %lld of %lld bytes: rc %d at stage %d", (long long) offsets[i],
		              (long long) st.st_size, out.rep[0].rc, out.rep[0].stage);
		assert_same_text("the trees before and after a cut bundle", tree_text(a.root, NULL), strdup(tree0));
		assert_same_text("the stores before and after a cut bundle", store_text(a.r, ROWS_LOCAL),
		                 strdup(store0));
	}
	free(tree0);
	free(store0);

	bundle_ok(&a, file, &rp);
	ASSERT_COUNTS(&rp, CHANGED_PATHS, 0, DELETED_PATHS);
	assert_agree(&a, &b);
	assert_scan_quiet(&a);

	/* applied again: nothing moves, nothing changes */
	tree0 = tree_text(a.root, NULL);
	store0 = store_text(a.r, ROWS_LOCAL);
	bundle_ok(&a, file, &rp);
	ASSERT_COUNTS(&rp, 0, 0, 0);
	assert_same_text("the trees before and after a second apply", tree_text(a.root, NULL), tree0);
	assert_same_text("the stores before and after a second apply", store_text(a.r, ROWS_LOCAL), store0);
	assert_check_clean(&a);
	free(file);
	free(cut);
	tu_rmrf(dir);
	free(dir);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- crashes and injected errors */

#ifdef MMSYNC_TEST

/* a has what tree_build made, b has it changed in every way: a pull from b meets every point. */
static void crash_setup(struct tu_replica *a, struct tu_replica *b)
{
	struct report rp;

	rep_new(a, "a");
	rep_new(b, "b");
	tree_build(b->root);
	session_ok(a, b, PROTO_OP_PULL, NULL, 0, &rp);
	tree_change(b->root);
}

/* The line of `text` (tree_text's) for `path`, as a new string, or NULL when none. */
static char *line_of(const char *text, const char *path)
{
	size_t n = strlen(path);

	for (const char *l = text; *l; l = strchr(l, '\n') + 1)
		if (!strncmp(l, path, n) && l[n] == ' ')
			return strndup(l, strcspn(l, "\n"));
	return NULL;
}

static int same_line(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Every path of `now` (and of `old` and `new`) is as in `old` or as in `new`: nothing partial or mixed. */
static void assert_old_or_new(const char *now, const char *old, const char *new, const char *point)
{
	const char *const texts[] = {now, old, new};

	for (int i = 0; i < 3; i++) {
		for (const char *l = texts[i]; *l; l = strchr(l, '\n') + 1) {
			char *path = strndup(l, strcspn(l, " ")), *n, *o, *w;
			if (!strncmp(path, TMP_PREFIX, strlen(TMP_PREFIX)) || strstr(path, "/" TMP_PREFIX)) {
				free(path);
				continue;
			}
			n = line_of(now, path);
			o = line_of(old, path);
			w = line_of(new, path);
			ck_assert_msg(same_line(n, o) || same_line(n, w),
			              "after a crash at %s, '%s' is '%s': neither its old '%s' nor its new '%s'", point,
			              path, n ? n : "(absent)", o ? o : "(absent)", w ? w : "(absent)");
			free(path);
			free(n);
			free(o);
			free(w);
		}
	}
}

/* After whatever stopped a pull: a's recovery and scan, then a pull that converges. */
static void assert_recovers(struct tu_replica *a, struct tu_replica *b)
{
	struct scan_opts so = SCAN_OPTS_INIT;
	struct scan_stats st;
	struct report rp;
	size_t tmp;
	char *t;

	rep_open(a);
	TU_OK(session_prepare(a->r, &so, &st));
	t = tree_text(a->root, &tmp);
	ck_assert_msg(tmp == 0, "%zu temporary file(s) left after the recovery:\n%s", tmp, t);
	free(t);
	session_ok(a, b, PROTO_OP_PULL, NULL, 0, &rp);
	ck_assert_msg(rp.res.conflicts == 0 && rp.res.failed == 0, "conflicts %llu, failed %llu",
	              (unsigned long long) rp.res.conflicts, (unsigned long long) rp.res.failed);
	assert_same_text("the trees", tree_text(a->root, NULL), tree_text(b->root, NULL));
	assert_check_clean(a);
	/*
	 * A change done at once (a chmod) whose row the crash lost is a local
	 * change to the recovery's scan: a sync back makes the stores agree on
	 * every version (the peer, which held that content already, keeps
	 * itself as its writer).
	 */
	session_ok(a, b, PROTO_OP_PULL | PROTO_OP_PUSH, NULL, 0, &rp);
	ck_assert_msg(rp.res.files_in == 0 && rp.res.conflicts == 0, "files_in %llu, conflicts %llu",
	              (unsigned long long) rp.res.files_in, (unsigned long long) rp.res.conflicts);
	assert_agree_rows(a, b, ROWS_NO_WRITER);
}

/* The crash points of failpoint.h, in the order a pull meets them. */
static const char *const crash_points[] = {
        "recv-row",           "apply-mkdir",         "apply-symlink", "apply-remove",
        "apply-tmp-written",  "apply-sync-data",     "apply-journal", "apply-rename",
        "apply-sync-renames", "apply-before-commit", "apply-commit",  "send-data",
};
#define NCRASH ((int) (sizeof(crash_points) / sizeof(crash_points[0])))

START_TEST(test_crash)
{
	const char *point = crash_points[_i];
	int sender = !strcmp(point, "send-data");
	struct job cj = {ROLE_CLIENT, PROTO_OP_PULL, NULL, 0, NULL, NULL, NULL, 0};
	struct job sj = {ROLE_SERVER, 0, NULL, 0, NULL, NULL, NULL, 0};
	struct tu_replica a, b;
	struct outcome out;
	char buf[64], *old, *new, *now;
	int who = sender ? 1 : 0;

	crash_setup(&a, &b);
	old = tree_text(a.root, NULL);
	new = tree_text(b.root, NULL);
	if (sender)
		sj.crash = point;
	else
		cj.crash = point;
	run_sides(&out, &a, &cj, &b, &sj);
	now = tree_text(a.root, NULL);
	assert_old_or_new(now, old, new, point);
	assert_same_text("the source's tree", tree_text(b.root, NULL), new);
	free(now);
	free(old);
	ck_assert_msg(WIFEXITED(out.status[who]) && WEXITSTATUS(out.status[who]) == CRASH_STATUS,
	              "MMSYNC_FAILPOINT=%s: the %s ended with %s, not at the failpoint (rc %d: %s)", point,
	              who ? "server" : "client", status_text(out.status[who], buf, sizeof(buf)), out.rep[who].rc,
	              out.rep[who].msg);
	ck_assert_msg(out.reported[!who] && out.rep[!who].rc < 0, "the %s went on as if its peer had not crashed",
	              who ? "client" : "server");
	assert_recovers(&a, &b);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

/* The error points of failpoint.h met by a pull, with what a failure there may leave committed. */
static const struct {
	const char *spec;
	int alone; /* the file fails alone (counted in `failed`): the rest of its batch is committed */
} err_points[] = {
        {"apply-write:1:ENOSPC", 0}, {"apply-close", 1},    {"apply-sync-data", 0},
        {"store-commit", 0},         {"store-commit:2", 0}, {"apply-sync-renames", 0},
};
#define NERR ((int) (sizeof(err_points) / sizeof(err_points[0])))

START_TEST(test_failerr)
{
	struct job cj = {ROLE_CLIENT, PROTO_OP_PULL, NULL, 0, NULL, NULL, err_points[_i].spec, 0};
	struct job sj = {ROLE_SERVER, 0, NULL, 0, NULL, NULL, NULL, 0};
	struct tu_replica a, b;
	struct outcome out;
	char *store0;

	crash_setup(&a, &b);
	store0 = store_text(a.r, ROWS_LOCAL);
	run_sides(&out, &a, &cj, &b, &sj);
	ck_assert_msg(WIFEXITED(out.status[0]) && WEXITSTATUS(out.status[0]) == 0 && out.reported[0],
	              "MMSYNC_FAILERR=%s: the client did not report", err_points[_i].spec);
	if (err_points[_i].alone) {
		struct tu_scan sc;
		ck_assert_msg(out.rep[0].rc == 0 && out.rep[0].res.failed == 1 && out.rep[0].events[EV_FAILED] == 1,
		              "MMSYNC_FAILERR=%s: the pull returned %d (%s) with %llu failed", err_points[_i].spec,
		              out.rep[0].rc, out.rep[0].msg, (unsigned long long) out.rep[0].res.failed);
		free(store0);
		tu_scan_init(&sc);
		TU_OK(tu_scan_run(&sc, a.r, SCAN_DRY_RUN | SCAN_VERIFY, 0, 0));
		ck_assert_msg(sc.n == 0, "MMSYNC_FAILERR=%s: the store records '%s' as the tree does not hold it",
		              err_points[_i].spec, sc.changes[0].now.path);
		tu_scan_dispose(&sc);
	} else {
		ck_assert_msg(out.rep[0].rc < 0 && out.rep[0].stage == STAGE_SESSION,
		              "MMSYNC_FAILERR=%s: the pull returned %d at stage %d", err_points[_i].spec, out.rep[0].rc,
		              out.rep[0].stage);
		/* the batch that was not made durable is not committed */
		assert_same_text("the stores before and after the failed pull", store_text(a.r, ROWS_LOCAL), store0);
	}
	assert_recovers(&a, &b);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

/*
 * A batch renamed in whose commit was lost (a crash before it) is
 * journaled; a recovery whose syncfs fails commits none of it, and keeps
 * the journal for the next run.
 */
START_TEST(test_failerr_recover)
{
	struct job cj = {ROLE_CLIENT, PROTO_OP_PULL, NULL, 0, NULL, "apply-before-commit", NULL, 0};
	struct job sj = {ROLE_SERVER, 0, NULL, 0, NULL, NULL, NULL, 0};
	struct tu_replica a, b;
	struct outcome out;
	char *store0;
	int pending = 0;

	crash_setup(&a, &b);
	run_sides(&out, &a, &cj, &b, &sj);
	ck_assert_msg(WIFEXITED(out.status[0]) && WEXITSTATUS(out.status[0]) == CRASH_STATUS, "no crash");
	store0 = store_text(a.r, ROWS_LOCAL);
	TU_OK(store_pending_each(a.r->store, count_pending, &pending));
	ck_assert_int_gt(pending, 0);

	cj.crash = NULL;
	cj.failerr = "apply-sync-recover";
	cj.failerr_in_prepare = 1;
	run_sides(&out, &a, &cj, &b, &sj);
	ck_assert_msg(out.reported[0] && out.rep[0].rc < 0 && out.rep[0].stage == STAGE_PREPARE,
	              "a recovery whose syncfs fails: rc %d at stage %d", out.rep[0].rc, out.rep[0].stage);
	assert_same_text("the stores before and after the failed recovery", store_text(a.r, ROWS_LOCAL), store0);
	pending = 0;
	TU_OK(store_pending_each(a.r->store, count_pending, &pending));
	ck_assert_int_gt(pending, 0);
	assert_recovers(&a, &b);
	tu_replica_free(&a);
	tu_replica_free(&b);
}
END_TEST

#endif /* MMSYNC_TEST */

/*
 * Every batch ends with a syncfs() of the replica's file system: on a
 * disk shared with other work that takes a good part of a second.  The
 * replicas live on a tmpfs when there is one (a crash leaves the same
 * state on any file system).
 */
static void shm_setup(void)
{
	const char *old = getenv("MMSYNC_TEST_TMP");
	char *keep = old ? strdup(old) : NULL;

	if (access("/dev/shm", W_OK | X_OK) == 0)
		setenv("MMSYNC_TEST_TMP", "/dev/shm", 1);
	tu_tmp_setup();
	if (keep)
		setenv("MMSYNC_TEST_TMP", keep, 1);
	else
		unsetenv("MMSYNC_TEST_TMP");
	free(keep);
}

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc;

	tc = tcase_create("sessions");
	tcase_add_unchecked_fixture(tc, shm_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_one_way, 0, 2);
	tcase_add_test(tc, test_sync_both_ways);
	tcase_add_test(tc, test_merge_clean);
	tcase_add_test(tc, test_conflict);
	tcase_add_test(tc, test_filter);
	suite_add_tcase(s, tc);

	tc = tcase_create("bundle");
	tcase_add_unchecked_fixture(tc, shm_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bundle);
	suite_add_tcase(s, tc);

#ifdef MMSYNC_TEST
	tc = tcase_create("crash");
	tcase_add_unchecked_fixture(tc, shm_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_crash, 0, NCRASH);
	tcase_add_loop_test(tc, test_failerr, 0, NERR);
	tcase_add_test(tc, test_failerr_recover);
	suite_add_tcase(s, tc);
#endif
	return s;
}
