/* Confined opens: see fs.h. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "path.h"

#define FS_EAGAIN_TRIES 16

/* 1 until the kernel says it has no openat2, or a test turns it off. */
static int have_openat2 = 1;

void fs_use_openat2(int enabled)
{
	have_openat2 = enabled;
}

static int open_errno(int err, const char *path)
{
	if (err == ELOOP)
		return mm_error_set(MM_EIO, "cannot open '%s': a component is a symbolic link", path);
	if (err == EXDEV)
		return mm_error_set(MM_EIO, "cannot open '%s': it leads outside the replica", path);
	return mm_error_errno(err == ENOENT ? MM_ENOTFOUND : MM_EIO, err, "cannot open '%s'", path);
}

/* The O_NOFOLLOW walk: one openat() per component. */
static int walk_open(int rootfd, const char *path, int flags, mode_t mode)
{
	char comp[MM_NAME_MAX + 1];
	const char *p = path;
	int dir = rootfd, fd;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t) (slash - p) : strlen(p);
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (!slash) {
			fd = openat(dir, comp, flags | O_NOFOLLOW, mode);
			break;
		}
		fd = openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir != rootfd) {
			int e = errno;
			close(dir);
			errno = e;
		}
		if (fd < 0)
			break;
		dir = fd;
		p = slash + 1;
	}
	if (dir != rootfd) {
		int e = errno;
		close(dir);
		errno = e;
	}
	/* O_NOFOLLOW on the last component says ELOOP; a symlinked directory says ENOTDIR. */
	if (fd < 0 && errno == ENOTDIR && !(flags & O_DIRECTORY))
		errno = ELOOP;
	return fd;
}

int fs_open_beneath(int *out, int rootfd, const char *path, int flags, mode_t mode)
{
	int fd = -1;

	*out = -1;
	if (!path_valid(path, strlen(path)))
		return mm_error_set(MM_EINVAL, "invalid path '%s'", path);
	flags |= O_CLOEXEC;
	if (have_openat2) {
		struct open_how how;
		memset(&how, 0, sizeof(how));
		how.flags = (unsigned long long) (flags | O_NOFOLLOW);
		how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
		for (int i = 0; i < FS_EAGAIN_TRIES; i++) {
			fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
			/* no openat2 here (or a seccomp filter refuses it) */
			have_openat2 = 0;
		}
	}
	if (!have_openat2)
		fd = walk_open(rootfd, path, flags, mode);
	if (fd < 0)
		return open_errno(errno, path);
	*out = fd;
	return 0;
}

int fs_open_parent(int *out, const char **name, int rootfd, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int err;

	*out = -1;
	if (!path_valid(path, strlen(path)))
		return mm_error_set(MM_EINVAL, "invalid path '%s'", path);
	if (!slash) {
		*name = path;
		*out = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
		return *out < 0 ? mm_error_errno(MM_EIO, errno, "cannot open the replica root") : 0;
	}
	if (!(dir = strndup(path, (size_t) (slash - path))))
		return mm_error_oom();
	err = fs_open_beneath(out, rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
	free(dir);
	*name = slash + 1;
	return err;
}
