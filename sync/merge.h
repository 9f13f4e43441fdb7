/*
 * Three-way merges of text files with libgit2 (git_merge_file), and the
 * settings that say what is merged and how conflicts are settled:
 *
 *   merge.maxSize      largest file merged (default 8 MiB)
 *   merge.exclude      patterns (gitignore syntax, may repeat) never merged
 *   merge.markers      true: a failed merge writes the diff3 result with
 *                      conflict markers at the path (still a conflict)
 *   conflict.policy    keep-both (default), prefer-newer, or prefer NAME
 *   conflict.PATTERN.policy  the same for paths matching PATTERN (the last
 *                      matching entry wins; a pattern without '/' matches
 *                      the file name, one ending in '/' a directory)
 *   gc.retention       seconds a version replaced by a policy is kept
 *                      (default 30 days)
 */
#ifndef MMSYNC_MERGE_H
#define MMSYNC_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

struct config;
struct ignore;

enum merge_policy { POLICY_KEEP_BOTH, POLICY_PREFER_NEWER, POLICY_PREFER };

struct merge_rule {
	char *pattern;
	enum merge_policy policy;
	char name[REPLICA_NAME_MAX + 1];
};

struct merge_config {
	uint64_t max_size;
	int markers;
	struct ignore *exclude;
	struct merge_rule *rules; /* rules[0] is the default (pattern NULL) */
	size_t nrules;
	int64_t retention_s;
};

int merge_config_load(struct merge_config *out, struct config *c);
void merge_config_dispose(struct merge_config *m);
/* 1 when a file at `path` of `size` bytes may be merged (before looking at its content). */
int merge_allowed(const struct merge_config *m, const char *path, uint64_t size);
/* The policy for `path`; for POLICY_PREFER the replica name goes to `name`. */
enum merge_policy merge_policy_for(const struct merge_config *m, const char *path, char name[REPLICA_NAME_MAX + 1]);

struct merge_text {
	const void *p;
	size_t len;
	const char *label;
};

/*
 * Merges `ours` and `theirs` against `base`.  *out (caller frees) gets the
 * result and *clean 1 when it applied without conflict; with `markers` the
 * result of an unclean merge holds diff3 conflict markers.
 */
int merge_run(void **out, size_t *len, int *clean, const struct merge_text *base, const struct merge_text *ours,
              const struct merge_text *theirs, int markers);

#endif
