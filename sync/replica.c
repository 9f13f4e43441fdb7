/* Replicas: see replica.h. */
#include "replica.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bases.h"
#include "config.h"
#include "error.h"
#include "path.h"
#include "store.h"

#define STATE_DB     "meta.db"
#define STATE_CONFIG "config"
#define STATE_KEY    "key.pem"
#define STATE_CERT   "cert.pem"
#define STATE_LOCK   "lock"

static char *join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

/* 1 when `dir` holds a `.mmsync` directory. */
static int has_state_dir(const char *dir)
{
	char *p = join(dir, MM_STATE_DIR);
	struct stat st;
	int r;

	if (!p)
		return 0;
	r = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return r;
}

int replica_dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

int replica_find(char **out, const char *start)
{
	char *dir = realpath(start, NULL);

	*out = NULL;
	if (!dir)
		return mm_error_errno(MM_ENOREPLICA, errno, "cannot use '%s'", start);
	for (;;) {
		if (has_state_dir(dir)) {
			*out = dir;
			return 0;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || (slash == dir && dir[1] == '\0'))
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(dir);
	if (replica_dir_is_empty(start))
		return mm_error_set(MM_ENOREPLICA,
		                    "not a replica (or inside one): '%s' is empty: is its disk not mounted?", start);
	return mm_error_set(MM_ENOREPLICA,
	                    "not a replica (or inside one): '%s' (no %s/ there or above; 'mmsync init' makes one, "
	                    "also of a replica whose %s/ was lost: then sync it with a peer)",
	                    start, MM_STATE_DIR, MM_STATE_DIR);
}

int replica_name_valid(const char *name)
{
	size_t n = strlen(name);

	/* It goes into conflict-copy file names: keep it to a portable, visible set. */
	if (n == 0 || n > REPLICA_NAME_MAX || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		/* no '.': a conflict copy's name must say where the replica name ends and the extension begins */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return 0;
	}
	return 1;
}

/* mkdir -p for `dir`. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir);
	int err = 0;

	if (!p)
		return mm_error_oom();
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0777) < 0 && errno != EEXIST) {
				err = mm_error_errno(MM_EIO, errno, "cannot create directory '%s'", p);
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return err;
}

/* The real path of `dir`, or of the nearest directory above it that exists. */
static int existing_ancestor(const char *dir, char **out)
{
	char *p = strdup(dir);

	*out = NULL;
	if (!p)
		return mm_error_oom();
	for (;;) {
		char *real = realpath(*p ? p : "/", NULL);
		if (real) {
			free(p);
			*out = real;
			return 0;
		}
		if (errno != ENOENT) {
			int err = mm_error_errno(MM_EIO, errno, "cannot use '%s'", dir);
			free(p);
			return err;
		}
		char *slash = strrchr(p, '/');
		if (!slash) {
			strcpy(p, ".");
			continue;
		}
		*slash = '\0';
	}
}

/* Fills a fresh state directory `tmp` for a replica named `name`. */
static int fill_state(const char *tmp, const char *name)
{
	char *db = join(tmp, STATE_DB), *cfgp = join(tmp, STATE_CONFIG), *key = join(tmp, STATE_KEY),
	     *cert = join(tmp, STATE_CERT), *lock = join(tmp, STATE_LOCK);
	struct config *cfg = NULL;
	uint64_t id;
	int err, fd;

	if (!db || !cfgp || !key || !cert || !lock) {
		err = mm_error_oom();
		goto done;
	}
	if ((err = identity_random_id(&id)) < 0 || (err = store_create(db, id)) < 0 ||
	    (err = identity_create(key, cert, id)) < 0)
		goto done;
	if ((err = config_open(&cfg, cfgp)) < 0 || (err = config_set_string(cfg, "replica.name", name)) < 0)
		goto done;
	if ((fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot create '%s'", lock);
		goto done;
	}
	close(fd);
done:
	config_free(cfg);
	free(db), free(cfgp), free(key), free(cert), free(lock);
	return err;
}

/* Removes a state directory that `init` gave up on (flat: no subdirectories). */
static void remove_state(const char *dir)
{
	static const char *const files[] = {
	        STATE_DB,  STATE_DB "-wal", STATE_DB "-shm", STATE_CONFIG, STATE_CONFIG ".lock",
	        STATE_KEY, STATE_CERT,      STATE_LOCK};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = join(dir, files[i]);
		if (p)
			unlink(p);
		free(p);
	}
	rmdir(dir);
}

/* Refuses a `dir` that is a replica or inside one, before anything is created: looks from the nearest directory
 * that exists. */
static int refuse_inside_replica(const char *dir)
{
	char *root = NULL, *inside = NULL;
	int err;

	if ((err = existing_ancestor(dir, &root)) < 0)
		return err;
	if (replica_find(&inside, root) == 0) {
		err = strcmp(inside, root) == 0 && !strcmp(root, dir)
		              ? mm_error_set(MM_EEXISTS, "'%s' is already a replica", root)
		              : mm_error_set(MM_EEXISTS, "'%s' is inside the replica '%s'", dir, inside);
		if (!strcmp(inside, root) && access(dir, F_OK) == 0) {
			char *real = realpath(dir, NULL);
			if (real && !strcmp(real, inside))
				err = mm_error_set(MM_EEXISTS, "'%s' is already a replica", real);
			free(real);
		}
	} else {
		mm_error_clear();
	}
	free(root);
	free(inside);
	return err;
}

/* Makes the state directory of the replica at `root` (a real path): built aside and renamed in, so a crash leaves
 * no half replica. */
static int install_state(const char *root, const char *name)
{
	char *tmp = NULL, *final = NULL;
	int err = 0;

	if (asprintf(&tmp, "%s/" MM_TMP_PREFIX "init.XXXXXX", root) < 0 || !(final = join(root, MM_STATE_DIR))) {
		err = mm_error_oom();
		goto done;
	}
	if (!mkdtemp(tmp)) {
		err = mm_error_errno(MM_EIO, errno, "cannot create a directory in '%s'", root);
		goto done;
	}
	if ((err = fill_state(tmp, name)) < 0) {
		remove_state(tmp);
		goto done;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		err = errno == EEXIST ? mm_error_set(MM_EEXISTS, "'%s' is already a replica", root)
		                      : mm_error_errno(MM_EIO, errno, "cannot create '%s'", final);
		remove_state(tmp);
	}
done:
	free(tmp);
	free(final);
	return err;
}

int replica_create(const char *dir, const char *name, char **root_out)
{
	char *root = NULL;
	int err;

	if (root_out)
		*root_out = NULL;
	if (!replica_name_valid(name))
		return mm_error_set(MM_EINVAL,
		                    "invalid replica name '%s': use 1 to %d letters, digits, '-' or '_', "
		                    "not starting with '-'",
		                    name, REPLICA_NAME_MAX);
	if ((err = refuse_inside_replica(dir)) < 0 || (err = make_dirs(dir)) < 0)
		return err;
	if (!(root = realpath(dir, NULL)))
		return mm_error_errno(MM_EIO, errno, "cannot use '%s'", dir);
	if ((err = install_state(root, name)) == 0 && root_out) {
		*root_out = root;
		root = NULL;
	}
	free(root);
	return err;
}

/* Finds the replica's root and state directory at `root`, and opens the root: r->root, r->state, r->rootfd. */
static int open_root(struct replica *r, const char *root)
{
	if (!(r->root = realpath(root, NULL)))
		return mm_error_errno(MM_ENOREPLICA, errno, "cannot open replica '%s'", root);
	if (!(r->state = join(r->root, MM_STATE_DIR)))
		return mm_error_oom();
	if (!has_state_dir(r->root)) {
		if (replica_dir_is_empty(r->root))
			return mm_error_set(MM_ENOREPLICA,
			                    "'%s' is not a replica: it is empty (is its disk not mounted?)", r->root);
		return mm_error_set(MM_ENOREPLICA,
		                    "'%s' is not a replica (no %s/ directory; if it was one and lost it, "
		                    "'mmsync init' makes it one again, then sync it with a peer)",
		                    r->root, MM_STATE_DIR);
	}
	if ((r->rootfd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot open '%s'", r->root);
	return 0;
}

/* Opens the replica's config, then its store (r->id); a missing store is told as a replica to recover. */
static int open_state(struct replica *r)
{
	char *p;
	int err;

	if (!(p = join(r->state, STATE_CONFIG)))
		return mm_error_oom();
	err = config_open(&r->config, p);
	free(p);
	if (err < 0)
		return err;
	if (!(p = join(r->state, STATE_DB)))
		return mm_error_oom();
	if ((err = store_open(&r->store, p)) < 0) {
		if (err == MM_ENOTFOUND)
			err = mm_error_set(
			        MM_ENOREPLICA,
			        "replica '%s' has no metadata store (%s/%s is missing). The files of the tree "
			        "are untouched; to recover, move '%s/%s' out of the tree, run 'mmsync init %s', "
			        "then sync with a peer: what both sides hold alike will not conflict",
			        r->root, MM_STATE_DIR, STATE_DB, r->root, MM_STATE_DIR, r->root);
		free(p);
		return err;
	}
	free(p);
	r->id = store_replica_id(r->store);
	return 0;
}

/* r->name: the configured name, else the replica's id as text. */
static int read_name(struct replica *r)
{
	char idtext[VV_ID_TEXT];

	if (config_get_string(r->config, "replica.name", &r->name) >= 0)
		return 0;
	vv_id_format(idtext, r->id);
	if (!(r->name = strdup(idtext)))
		return mm_error_oom();
	return 0;
}

int replica_open(struct replica **out, const char *root, unsigned flags)
{
	struct replica *r;
	int err;

	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return mm_error_oom();
	r->rootfd = -1;
	r->lockfd = -1;
	if ((err = open_root(r, root)) < 0 || ((flags & REPLICA_LOCK) && (err = replica_lock(r)) < 0) ||
	    (err = open_state(r)) < 0 || (err = read_name(r)) < 0) {
		replica_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int replica_bases(struct replica *r, struct bases **out)
{
	char *p;
	int err;

	if (!r->bases) {
		if (!(p = join(r->state, "bases")))
			return mm_error_oom();
		err = bases_open(&r->bases, p);
		free(p);
		if (err < 0)
			return err;
	}
	*out = r->bases;
	return 0;
}

void replica_free(struct replica *r)
{
	if (!r)
		return;
	bases_free(r->bases);
	store_free(r->store);
	config_free(r->config);
	if (r->rootfd >= 0)
		close(r->rootfd);
	if (r->lockfd >= 0)
		close(r->lockfd); /* releases the flock */
	free(r->root);
	free(r->state);
	free(r->name);
	free(r);
}

int replica_lock(struct replica *r)
{
	char *p;
	int fd;

	if (r->lockfd >= 0)
		return 0;
	if (!(p = join(r->state, STATE_LOCK)))
		return mm_error_oom();
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int err = mm_error_errno(MM_EIO, errno, "cannot open lock '%s'", p);
		free(p);
		return err;
	}
	/* flock dies with the process: a killed run leaves no stale lock. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? mm_error_set(MM_ELOCKED, "another mmsync is working on '%s'", r->root)
		                               : mm_error_errno(MM_EIO, errno, "cannot lock '%s'", p);
		close(fd);
		free(p);
		return err;
	}
	free(p);
	r->lockfd = fd;
	return 0;
}

int replica_fingerprint(struct replica *r, char out[IDENTITY_FP_TEXT])
{
	char *p = join(r->state, STATE_CERT);
	int err;

	if (!p)
		return mm_error_oom();
	err = identity_fingerprint(out, p);
	free(p);
	return err;
}
