/*
 * Offline bundles: the change set a peer lacks, in one file, applied
 * elsewhere with the rules of a live sync.
 *
 * A bundle is a pax archive compressed with zstd (libarchive) holding
 *   mmsync-bundle/manifest           the index, as protocol frames: the
 *                                    author's HELLO, a BUNDLE frame (format,
 *                                    target, since, creation time, what the
 *                                    author has seen of others), REPLICA
 *                                    and ROW frames in tree order, INDEX_END,
 *                                    and a CHECKSUM frame: SHA-256 of every
 *                                    manifest byte before it;
 *   mmsync-bundle/objects/HEX        one entry per content, named by its
 *                                    SHA-256, each once, in the order the
 *                                    manifest first names it.
 * Reading checks everything before anything is applied: entry names, types,
 * sizes and counts are bounded, every object matches its name, the manifest
 * its checksum, and every file row has its object.  Applying is a session
 * with a child process that plays the author's side from the checked files
 * (bundle_serve), so merges, conflicts, confinement and crash safety are a
 * live sync's, and what the author had is recorded as seen.
 */
#ifndef MMSYNC_BUNDLE_H
#define MMSYNC_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define BUNDLE_FORMAT 1

struct replica;
struct entry;

struct bundle_create_opts {
	uint64_t since;  /* rows of this replica up to this sequence number are left out */
	uint64_t target; /* the replica it is for (its own rows are left out), 0: anyone */
	char **filters;  /* PATH limits, valid replica paths */
	size_t nfilters;
};

struct bundle_info {
	uint16_t format;
	uint64_t author_id, author_index, target, since, max_seq;
	int64_t created_ns;
	char author[REPLICA_NAME_MAX + 1];
	uint64_t rows, objects, bytes; /* bytes: of the objects */
	char **filters;
	size_t nfilters;
};

/* Writes the bundle to `file` (made whole, then renamed into place); counts in *info. */
int bundle_create(struct replica *r, const char *file, const struct bundle_create_opts *o, struct bundle_info *info);

struct bundle;
/* Called for each row of a bundle's manifest, in order. */
typedef int (*bundle_row_fn)(void *arg, const struct entry *e, const char *writer_name);

/*
 * Reads and checks the bundle at `file`.  With a `reader` (the replica that
 * will apply it), its manifest and objects are kept in a new directory in
 * the reader's .mmsync/ (removed by bundle_free), for bundle_serve; without,
 * they are only checked.  `fn` (may be NULL) sees every row.  MM_ECORRUPT
 * with a message naming the bundle and what is wrong with it.
 */
int bundle_read(struct bundle **out, const char *file, struct replica *reader, bundle_row_fn fn, void *arg);
/*
 * After the reader applied it: records what the author had of the reader's
 * own changes, so that a later sync does not send them back to it.
 */
int bundle_record(struct bundle *b, struct replica *r);
const struct bundle_info *bundle_info(const struct bundle *b);
/* Plays the author's side of a session on `fd` (in a child process); returns 0 or an error. */
int bundle_serve(struct bundle *b, int fd);
/* Removes what a killed `bundle apply` left in the replica's .mmsync/ (the caller holds the lock). */
void bundle_clean(struct replica *r);
/* Removes the kept files (when `remove_files`: a forked child leaves them to its parent) and frees `b`. */
void bundle_free(struct bundle *b, int remove_files);

#endif
