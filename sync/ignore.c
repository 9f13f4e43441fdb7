/* Ignore rules through libgit2: see ignore.h. */
#include "ignore.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/repository.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "path.h"

struct ignore {
	git_repository *repo; /* NULL when there are no rules */
	char buf[MM_PATH_MAX + 2];
};

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();

	return mm_error_set(MM_ERROR, "%s: %s", what, e && e->message ? e->message : "unknown error");
}

int ignore_from_rules(struct ignore **out, const char *rules)
{
	struct ignore *ig;
	git_config *cfg = NULL;
	int err = 0;

	*out = NULL;
	if (!(ig = calloc(1, sizeof(*ig))))
		return mm_error_oom();
	git_libgit2_init();
	if (rules && *rules) {
		if (git_repository_new(&ig->repo) < 0 || git_config_new(&cfg) < 0 ||
		    git_repository_set_config(ig->repo, cfg) < 0) {
			err = git_fail("cannot set up ignore rules");
			goto done;
		}
		if (git_ignore_add_rule(ig->repo, rules) < 0) {
			err = git_fail("bad rule in '" IGNORE_FILE "'");
			goto done;
		}
	}
done:
	git_config_free(cfg);
	if (err < 0)
		ignore_free(ig);
	else
		*out = ig;
	return err;
}

int ignore_load(struct ignore **out, int rootfd)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, err;

	fd = openat(rootfd, IGNORE_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return ignore_from_rules(out, NULL);
		return mm_error_errno(MM_EIO, errno, "cannot read '" IGNORE_FILE "'");
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ignore_from_rules(out, NULL);
	}
	if (!(text = malloc(IGNORE_FILE_MAX + 1))) {
		close(fd);
		return mm_error_oom();
	}
	while (len < IGNORE_FILE_MAX) {
		ssize_t n = read(fd, text + len, IGNORE_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = mm_error_errno(MM_EIO, errno, "cannot read '" IGNORE_FILE "'");
			close(fd);
			free(text);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t) n;
	}
	close(fd);
	text[len] = '\0';
	/* A NUL inside would cut the rules short where the user cannot see it. */
	if (memchr(text, '\0', len)) {
		free(text);
		return mm_error_set(MM_ERROR, "'" IGNORE_FILE "' holds a NUL byte");
	}
	err = ignore_from_rules(out, text);
	free(text);
	return err;
}

void ignore_free(struct ignore *ig)
{
	if (!ig)
		return;
	git_repository_free(ig->repo);
	free(ig);
	git_libgit2_shutdown();
}

int ignore_match(struct ignore *ig, const char *path, int is_dir)
{
	size_t len = strlen(path);
	int ignored = 0;

	if (!ig->repo)
		return 0;
	if (len > MM_PATH_MAX)
		return mm_error_set(MM_EINVAL, "path too long");
	memcpy(ig->buf, path, len);
	/* libgit2 reads a trailing slash as "this is a directory". */
	if (is_dir)
		ig->buf[len++] = '/';
	ig->buf[len] = '\0';
	if (git_ignore_path_is_ignored(&ignored, ig->repo, ig->buf) < 0)
		return git_fail("cannot match ignore rules");
	return ignored ? 1 : 0;
}
