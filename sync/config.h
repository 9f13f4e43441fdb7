/*
 * The replica's config, `.mmsync/config`, in git-config syntax, read and
 * written with libgit2's config API.  Only that one file is read: the
 * user's global and system git settings never leak in.
 */
#ifndef MMSYNC_CONFIG_H
#define MMSYNC_CONFIG_H

#include <stdint.h>

struct config;

/* Opens (creating on first write) the config file at `path`; free with config_free(). */
int config_open(struct config **out, const char *path);
void config_free(struct config *c);
/* A copy of the value of `key` in *out (caller frees); MM_ENOTFOUND when unset. */
int config_get_string(struct config *c, const char *key, char **out);
int config_set_string(struct config *c, const char *key, const char *value);
/* Removes every entry whose name starts with `prefix` ("peer.NAME."), and sections left empty. */
int config_remove_all(struct config *c, const char *prefix);
/* Removes `key`; MM_ENOTFOUND when unset. */
int config_delete(struct config *c, const char *key);
/* The value of `key` as an integer (git's k/m/g suffixes), `def` when unset. */
int config_get_int(struct config *c, const char *key, int64_t def, int64_t *out);

/* Calls fn for each entry whose (lower-case) name starts with `prefix`, in file order. */
int config_each(struct config *c, const char *prefix, int (*fn)(void *arg, const char *name, const char *value),
                void *arg);
/* The value of `key` as a boolean, `def` when unset. */
int config_get_bool(struct config *c, const char *key, int def, int *out);

#endif
