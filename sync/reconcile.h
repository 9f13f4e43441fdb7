/*
 * Reconciliation: what to do with one path, given the version this replica
 * holds and the one a peer sent.  Pure: no I/O, no store.
 */
#ifndef MMSYNC_RECONCILE_H
#define MMSYNC_RECONCILE_H

#include "store.h"

enum rec_action {
	REC_IGNORE,    /* ours is newer or the same version: nothing to do */
	REC_RECORD,    /* theirs changes nothing on disk (a deletion we already have, or of a path we never
	                  had): record their row, merged with ours */
	REC_MERGE_VV,  /* concurrent, same content: keep ours, merge the vectors */
	REC_KEEP_OURS, /* concurrent deletion against our edit: the edit wins, merge the vectors */
	REC_UPDATE,    /* theirs descends from ours (or is an edit against our deletion): write theirs */
	REC_CONFLICT,  /* concurrent and different: merge the content, or keep both */
	REC_TOUCH      /* the same version, but their modification time was set later: take it */
};

/* Whose version stays at the path in a conflict. */
enum rec_winner { REC_OURS, REC_THEIRS };

/* `ours` may be NULL (no row here). */
enum rec_action reconcile(const struct entry *ours, const struct entry *theirs);
/*
 * The winner of a conflict, the same on every replica: a directory stays;
 * else the later modification time, and on a tie the larger writer id.
 */
enum rec_winner reconcile_winner(const struct entry *ours, const struct entry *theirs);
/* 1 when `theirs` carries a later-set modification time than `ours` (for the same content). */
int reconcile_newer_mtime(const struct entry *ours, const struct entry *theirs);
/* 1 when two live versions hold the same thing (kind, content, target, mode). */
int reconcile_same(const struct entry *a, const struct entry *b);
/*
 * "type" when the kinds differ, else "content", for the conflicts table
 * (the receiver says "binary" itself when it knows a side is not text).
 */
const char *reconcile_conflict_kind(const struct entry *ours, const struct entry *theirs);

/*
 * When `path` is named like a conflict copy
 * (STEM.conflict-YYYYMMDD-HHMMSS-NAME[.EXT]), the path it is a copy of goes
 * to `out` (STEM[.EXT] in the same directory) and the replica NAME to
 * `name`; returns 1.  Else 0.
 */
int reconcile_copy_of(const char *path, char *out, size_t size, char name[REPLICA_NAME_MAX + 1]);

#endif
