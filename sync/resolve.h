/*
 * Resolving an open conflict (`mmsync conflicts resolve`).  Every write to
 * the tree goes through apply.h, after a re-check against what the last
 * scan recorded: a copy or a path changed since is a local change, never
 * overwritten nor removed.  The resolution is recorded as new local
 * versions (so it wins on every replica) and the conflict closed, in the
 * batch's one commit.  Never prints.
 */
#ifndef MMSYNC_RESOLVE_H
#define MMSYNC_RESOLVE_H

#include <stddef.h>

struct replica;

enum resolve_side {
	RESOLVE_AS_IS, /* the path as it stands (the caller's scan records an edit of it) */
	RESOLVE_OURS,  /* the version at the path: the same, for the engine */
	RESOLVE_THEIRS /* a copy becomes the version at the path */
};

enum resolve_outcome {
	RESOLVE_DONE,
	RESOLVE_NAME_COPY, /* RESOLVE_THEIRS, several copies and none named: nothing done */
	RESOLVE_IS_DIR,    /* RESOLVE_THEIRS with a directory at the path: nothing done */
	RESOLVE_CHANGED    /* `where` changed since the last scan: kept; stopped before it */
};

struct resolve_result {
	enum resolve_outcome outcome;
	size_t copies; /* how many copies the conflict kept */
	char *where;   /* RESOLVE_NAME_COPY: the first copy; RESOLVE_CHANGED: the path that changed */
};

/*
 * Resolves the open conflict at `path` (0 with out->outcome set, or <0):
 * with RESOLVE_THEIRS, `copy` (NULL: the only one) is moved to the path;
 * every other copy is removed.  A copy already gone counts as removed, and
 * a copy to take that is gone while the path holds its content (a run
 * killed after the move) as taken.  `r` must be locked.  The caller frees
 * out->where with resolve_result_dispose().
 */
int resolve_conflict(struct resolve_result *out, struct replica *r, const char *path, enum resolve_side side,
                     const char *copy);
void resolve_result_dispose(struct resolve_result *res);

#endif
