/*
 * A replica: a directory tree and its state in ROOT/.mmsync/ (meta.db,
 * config, key.pem, cert.pem, lock).
 */
#ifndef MMSYNC_REPLICA_H
#define MMSYNC_REPLICA_H

#include <stdint.h>

#include "identity.h"
#include "names.h"

struct store;
struct config;
struct bases;

struct replica {
	char *root;  /* absolute, symlinks resolved, no trailing slash */
	char *state; /* root/.mmsync */
	int rootfd;  /* O_PATH-free directory fd of the root: every access goes through it */
	int lockfd;  /* -1 until replica_lock() */
	uint64_t id;
	char *name;
	struct store *store;
	struct config *config;
	struct bases *bases; /* opened on first use: replica_bases() */
};

/* replica_open() flags */
#define REPLICA_LOCK 0x1 /* take the replica lock (MM_ELOCKED when another process holds it) */

/*
 * The nearest directory at or above `start` that holds `.mmsync/`, made
 * absolute, in *out (caller frees); MM_ENOREPLICA when there is none.
 */
int replica_find(char **out, const char *start);
/* 1 when the directory `dir` holds no entry at all (what an unmounted disk's mount point looks like). */
int replica_dir_is_empty(const char *dir);
/* 1 when `name` may label a replica (see replica.c), else 0. */
int replica_name_valid(const char *name);
/*
 * Makes `dir` (created if missing) a new replica named `name`.  Refuses a
 * directory that is a replica or lies inside one (MM_EEXISTS).  Either the
 * whole `.mmsync/` appears or none of it.  The root's absolute path goes to
 * *root_out when not NULL (caller frees).
 */
int replica_create(const char *dir, const char *name, char **root_out);
/* Opens the replica whose root is `root`; free with replica_free(). */
int replica_open(struct replica **out, const char *root, unsigned flags);
void replica_free(struct replica *r);
/* Takes the replica lock without waiting (MM_ELOCKED if held); released by replica_free() or exit. */
int replica_lock(struct replica *r);
/* The merge-bases store (.mmsync/bases), opened on first use; owned by `r`. */
int replica_bases(struct replica *r, struct bases **out);
/* The TLS certificate fingerprint. */
int replica_fingerprint(struct replica *r, char out[IDENTITY_FP_TEXT]);

#endif
