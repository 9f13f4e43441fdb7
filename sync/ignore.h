/*
 * Ignore rules: `.mmsyncignore` at the replica's root, gitignore syntax,
 * matched by libgit2's ignore engine on an in-memory repository whose
 * config is empty (so the user's own git excludes never apply).
 */
#ifndef MMSYNC_IGNORE_H
#define MMSYNC_IGNORE_H

#define IGNORE_FILE     ".mmsyncignore"
#define IGNORE_FILE_MAX (1 << 20) /* bytes of rules read at most */

struct ignore;

/*
 * Loads the rules of `.mmsyncignore` under the directory `rootfd` (none when
 * it is absent or not a regular file); free with ignore_free().
 */
int ignore_load(struct ignore **out, int rootfd);
/* Same, from rules given as text (for tests and callers with their own rules). */
int ignore_from_rules(struct ignore **out, const char *rules);
void ignore_free(struct ignore *ig);
/* 1 when `path` (a directory when is_dir) is ignored, 0 when not, <0 on error. */
int ignore_match(struct ignore *ig, const char *path, int is_dir);

#endif
