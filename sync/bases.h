/*
 * Merge bases: contents of earlier versions, kept in a libgit2 object
 * database under `.mmsync/bases/` (an objects directory: packs only).
 * Objects are git blobs, so they are deduplicated by id and compressed.
 * Writes are queued in memory (libgit2's mempack) and written as one pack
 * by bases_flush(), which callers run before committing the metadata that
 * names the objects.
 */
#ifndef MMSYNC_BASES_H
#define MMSYNC_BASES_H

#include <stddef.h>
#include <stdint.h>

#define BASES_OID_LEN     20
#define BASES_FLUSH_BYTES (32u << 20) /* queued bytes that trigger a flush at the next chance */

struct bases;

/* Opens (creating when missing) the object database in directory `dir`. */
int bases_open(struct bases **out, const char *dir);
/* Frees; queued objects that were not flushed are dropped. */
void bases_free(struct bases *b);
/* Queues `data` as a blob (a no-op when it is there already); its id goes to `oid`. */
int bases_put(struct bases *b, const void *data, size_t len, uint8_t oid[BASES_OID_LEN]);
/* The blob id `data` would have (git's SHA-1 of a blob), without storing it. */
int bases_oid(const void *data, size_t len, uint8_t oid[BASES_OID_LEN]);
/* The blob `oid` in a buffer the caller frees; MM_ENOTFOUND when it is not there. */
int bases_get(struct bases *b, const uint8_t oid[BASES_OID_LEN], void **data, size_t *len);
/* Bytes queued since the last flush. */
size_t bases_pending(const struct bases *b);
/* Writes the queued blobs as one pack, durable before it returns. */
int bases_flush(struct bases *b);
/*
 * Keeps only the blobs for which `live` returns 1 (repacking them into one
 * pack); the number dropped goes to *dropped.
 */
int bases_gc(struct bases *b, int (*live)(void *arg, const uint8_t oid[BASES_OID_LEN]), void *arg, uint64_t *dropped,
             uint64_t *kept);

#endif
