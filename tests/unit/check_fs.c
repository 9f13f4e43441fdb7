/* Confined opens (sync/fs.c), with openat2 and with the O_NOFOLLOW walk; PATH operands (sync/path.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"
#include "sync/error.h"
#include "sync/fs.h"
#include "sync/path.h"

static char root[256], outside[300];
static int rootfd = -1;

static void sh(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
	ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
	const char *tmp = getenv("MMSYNC_TEST_TMP");

	snprintf(root, sizeof(root), "%s/fs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(outside, sizeof(outside), "%s.out", root);
	sh("mkdir -p '%s.out' && echo secret > '%s.out/secret'", root);
	sh("cd '%s' && mkdir -p a/b && echo hi > a/b/f && ln -s ../../etc a/up && ln -s b a/lb && ln -s b/f a/lf",
	   root);
	sh("cd '%s' && ln -s \"$(pwd).out\" out", root);
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
}

static void teardown(void)
{
	close(rootfd);
	sh("rm -rf '%s' '%s.out'", root);
	fs_use_openat2(1);
}

static void check_cases(void)
{
	int fd, err;
	const char *name;
	char buf[8] = {0};

	err = fs_open_beneath(&fd, rootfd, "a/b/f", O_RDONLY, 0);
	ck_assert_int_eq(err, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 3);
	ck_assert_str_eq(buf, "hi\n");
	close(fd);

	/* symbolic links, at the end or in the middle, are never followed */
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "a/lf", O_RDONLY, 0), MM_EIO);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "a/lb/f", O_RDONLY, 0), MM_EIO);
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "out/secret", O_RDONLY, 0), MM_EIO);
	ck_assert_ptr_nonnull(strstr(mm_error_msg(), "out/secret"));
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "a/up/passwd", O_RDONLY, 0), MM_EIO);
	/* creating through a symlinked directory fails and creates nothing outside */
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "out/new", O_WRONLY | O_CREAT | O_EXCL, 0600), MM_EIO);
	{
		char p[400];
		snprintf(p, sizeof(p), "%s/new", outside);
		ck_assert_int_eq(access(p, F_OK), -1);
	}
	/* invalid paths are refused before any system call */
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "../x", O_RDONLY, 0), MM_EINVAL);
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "/etc/passwd", O_RDONLY, 0), MM_EINVAL);
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "a/../../x", O_RDONLY, 0), MM_EINVAL);
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, ".mmsync/meta.db", O_RDONLY, 0), MM_EINVAL);
	/* a missing component */
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "a/nope/f", O_RDONLY, 0), MM_ENOTFOUND);
	/* create beneath a real directory */
	ck_assert_int_eq(fs_open_beneath(&fd, rootfd, "a/b/g", O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	close(fd);
	/* the parent of a nested path, and of a top-level name */
	ck_assert_int_eq(fs_open_parent(&fd, &name, rootfd, "a/b/g"), 0);
	ck_assert_str_eq(name, "g");
	ck_assert_int_eq(faccessat(fd, name, F_OK, AT_SYMLINK_NOFOLLOW), 0);
	close(fd);
	ck_assert_int_eq(fs_open_parent(&fd, &name, rootfd, "top"), 0);
	ck_assert_str_eq(name, "top");
	close(fd);
	ck_assert_int_eq(fs_open_parent(&fd, &name, rootfd, "a/lb/f"), MM_EIO);
}

START_TEST(test_openat2)
{
	fs_use_openat2(1);
	check_cases();
}
END_TEST

START_TEST(test_walk)
{
	fs_use_openat2(0);
	check_cases();
}
END_TEST

static void expect_norm(const char *base, const char *rel, int want, const char *out)
{
	char buf[64];
	int n = path_normalize(buf, sizeof(buf), base, rel);

	ck_assert_msg(n == want, "'%s' + '%s': %d, not %d", base, rel, n, want);
	ck_assert_str_eq(buf, out);
}

START_TEST(test_normalize)
{
	expect_norm("", "a/b", 3, "a/b");
	expect_norm("", "./a//b/", 3, "a/b");
	expect_norm("d", "x", 3, "d/x");
	expect_norm("d/e", "../x", 3, "d/x");
	expect_norm("d", "..", 0, "");
	expect_norm("", "", 0, "");
	expect_norm("", ".", 0, "");
	expect_norm("", "a/../..", PATH_ESCAPES, "");
	expect_norm("d", "../../x", PATH_ESCAPES, "");
	expect_norm("", "/a/b", 3, "a/b"); /* an absolute remainder is made relative by the caller */
	expect_norm("", "a/..b/.c", 8, "a/..b/.c");
}
END_TEST

/* The bound: nothing past the buffer, whatever the length of a component or of the whole (a stack overflow before). */
START_TEST(test_normalize_bounded)
{
	char big[20000], out[16];
	int n;

	for (size_t i = 0; i + 11 < sizeof(big); i += 11)
		memcpy(big + i, "abcdefghij/", 11);
	big[sizeof(big) - 12] = '\0';
	memset(out, 'X', sizeof(out));
	n = path_normalize(out, 10, "", big);
	ck_assert_int_eq(n, PATH_TOO_LONG);
	ck_assert_str_eq(out, "");
	for (size_t i = 10; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'X');
	ck_assert_int_eq(path_normalize(out, 4, "", "abc"), 3);
	ck_assert_int_eq(path_normalize(out, 4, "", "abcd"), PATH_TOO_LONG);
	ck_assert_int_eq(path_normalize(out, 4, "ab", "c"), PATH_TOO_LONG); /* "ab/c" needs 5 */
	/* a climb back makes room again: only the steps that fit count */
	ck_assert_int_eq(path_normalize(out, 4, "", "ab/../cd"), 2);
	ck_assert_int_eq(path_normalize(out, 0, "", "a"), PATH_TOO_LONG);
}
END_TEST

START_TEST(test_beneath)
{
	ck_assert_str_eq(path_beneath("a/b", "a"), "b");
	ck_assert_str_eq(path_beneath("a", "a"), "");
	ck_assert_str_eq(path_beneath("a", ""), "a");
	ck_assert_ptr_null(path_beneath("ab", "a"));
	ck_assert_ptr_null(path_beneath("a", "a/b"));
	ck_assert_str_eq(path_beneath("/r/x/y", "/r"), "x/y");
	ck_assert_str_eq(path_beneath("/r/x", "/r/"), "x");
	ck_assert_str_eq(path_beneath("/r", "/"), "r");
	ck_assert_ptr_null(path_beneath("/rr/x", "/r"));
}
END_TEST

Suite *fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("confined");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_openat2);
	tcase_add_test(tc, test_walk);
	suite_add_tcase(s, tc);
	tc = tcase_create("path");
	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_normalize_bounded);
	tcase_add_test(tc, test_beneath);
	suite_add_tcase(s, tc);
	return s;
}
