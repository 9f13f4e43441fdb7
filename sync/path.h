/*
 * Paths inside a replica: relative, '/'-separated, no empty, "." or ".."
 * component, no NUL, at most MM_PATH_MAX bytes, never naming anything
 * under a `.mmsync` directory, and no name of mmsync's temporary files (a
 * peer could plant one that the next scan deletes).  Every path from a peer, a bundle or the
 * tree is checked with path_valid() before use.
 */
#ifndef MMSYNC_PATH_H
#define MMSYNC_PATH_H

#include <stddef.h>

#define MM_PATH_MAX 4095 /* bytes, without the NUL */
#define MM_NAME_MAX 255
/* The directory that holds a replica's state; never scanned or synced. */
#define MM_STATE_DIR ".mmsync"
/* Names that begin with this are mmsync's own temporary files. */
#define MM_TMP_PREFIX ".mmsync-tmp."

/* 1 when `name` is a file name the scanner records (not ".", "..", state or temp). */
int path_name_syncable(const char *name);
/* 1 when the `len` bytes at `path` form a valid replica path (see above). */
int path_valid(const char *path, size_t len);

/*
 * `path` when it is `dir` or lies beneath it ("a" is beneath "" and is "a"),
 * compared as '/'-separated names: the rest after "dir/" ("" for `dir`
 * itself), else NULL.  Absolute paths compare alike ("/r/a" beneath "/r").
 */
const char *path_beneath(const char *path, const char *dir);

/* path_normalize()'s failures. */
enum { PATH_ESCAPES = -1, PATH_TOO_LONG = -2 };
/*
 * Cleans `rel` lexically (empty and "." components dropped, ".." takes the
 * name before it back) as seen from the directory `base` (a clean replica
 * path, "" for the top) into out[size]: no leading or trailing '/', "" for
 * the top itself.  Returns the length; PATH_ESCAPES when a ".." climbs above
 * the top; PATH_TOO_LONG when the result, or a step on the way, needs more
 * than size - 1 bytes (out is then "", and nothing is written past it).
 */
int path_normalize(char *out, size_t size, const char *base, const char *rel);

/*
 * The order of the store's keys and of every index exchange: '/' below
 * every other byte and a prefix first, so a directory comes right before
 * what it holds (<0, 0, >0 as strcmp).
 */
int path_tree_cmp(const char *a, const char *b);

#endif
