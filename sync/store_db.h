/*
 * Internals of the metadata store, shared by its files only: store.c (the
 * core), store_peers.c, store_conflicts.c, store_history.c and
 * store_verify.c.  Nothing outside sync/store*.c includes this header; the
 * rest of mmsync goes through store.h.
 */
#ifndef MMSYNC_STORE_DB_H
#define MMSYNC_STORE_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "vv/vv.h"

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *save_state, *find_hash;
	uint64_t replica_id, index_id;
	uint64_t counter, seq;             /* in memory, written at commit */
	uint64_t saved_counter, saved_seq; /* as of the last commit */
	int in_batch;
	uint8_t *keybuf; /* scratch for encoded keys */
	uint8_t vvbuf[VV_MAX_ENCODED];
};

/*
 * Sets the error for the last failure of `db` (the store's connection or an
 * iterator's): MM_ECORRUPT with how to recover when the file is damaged,
 * else MM_EIO.  Returns the code.
 */
int store_db_error(struct store *s, sqlite3 *db, const char *what);

/*
 * Row keys are paths with '/' replaced by NUL: as a BLOB compared with
 * memcmp, NUL sorts before every byte a name may hold, so "a", "a/x",
 * "a-b" come out in that (depth-first) order.
 */
/* Key for `path` in s->keybuf; its length in *len. */
int store_db_encode_key(struct store *s, const char *path, size_t *len);
/* Sets e->path from a row key of `len` bytes. */
int store_db_path_from_key(struct entry *e, const uint8_t *key, size_t len);

/* Prepares `sql` on the store's connection, or sets the error; the caller finalizes *st. */
int store_db_prep(struct store *s, sqlite3_stmt **st, const char *sql);
/* Steps a statement that returns no row and finalizes it. */
int store_db_step_done(struct store *s, sqlite3_stmt *st, const char *what);
/* Copies a text column (NULL as "") into `dst`, cut to `size`. */
void store_db_copy_text(char *dst, size_t size, const unsigned char *src);

#endif
