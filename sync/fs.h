/*
 * Confined file-system access beneath a replica's root.
 *
 * Every path a peer or a bundle names is opened through the root's
 * directory fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS), or, where the kernel lacks openat2, by a walk of
 * one O_NOFOLLOW openat() per component.  Either way no symbolic link is
 * followed and nothing outside the root can be reached.
 */
#ifndef MMSYNC_FS_H
#define MMSYNC_FS_H

#include <sys/types.h>

/*
 * Opens `path` (a valid replica path, see path.h) beneath `rootfd` with
 * open(2) `flags` and `mode`; the fd goes to *out.  A symbolic link in any
 * component, the last one included, fails with MM_EIO and errno-style
 * message ("... symbolic link ...").  MM_ENOTFOUND when a component is
 * missing.
 */
int fs_open_beneath(int *out, int rootfd, const char *path, int flags, mode_t mode);
/*
 * Opens the directory that holds `path` beneath `rootfd` (the root itself
 * for a top-level name); *name points at the last component inside `path`.
 */
int fs_open_parent(int *out, const char **name, int rootfd, const char *path);
/* Tests only: 0 makes fs_* use the component walk even where openat2 exists. */
void fs_use_openat2(int enabled);

#endif
