/*
 * Unit tests for sync/ignore (gitignore rules through libgit2, from text and
 * from `.mmsyncignore`) and sync/path (which paths and names are valid).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "sync/error.h"
#include "sync/ignore.h"
#include "sync/path.h"
#include "testutil.h"

struct probe {
	const char *path;
	int is_dir;
	int ignored;
};

static void assert_matches(struct ignore *ig, const struct probe *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = ignore_match(ig, p[i].path, p[i].is_dir);
		ck_assert_msg(rc == p[i].ignored, "'%s'%s: ignore_match gave %d, expected %d (%s)", p[i].path,
		              p[i].is_dir ? " (dir)" : "", rc, p[i].ignored, rc < 0 ? mm_error_msg() : "");
	}
}

static void assert_rules(const char *rules, const struct probe *p, size_t n)
{
	struct ignore *ig;

	TU_OK(ignore_from_rules(&ig, rules));
	assert_matches(ig, p, n);
	ignore_free(ig);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char rules_text[] = "# build products\n"
                                 "*.o\n"
                                 "\n"
                                 "build/\n"
                                 "!keep.o\n"
                                 "/top\n"
                                 "**/deep\n";

static const struct probe rules_probes[] = {
        {"a.o", 0, 1},     {"x/y/a.o", 0, 1},  {"a.o", 1, 1},      {"a.c", 0, 0},
        {"a.ox", 0, 0},    {"keep.o", 0, 0},   {"x/keep.o", 0, 0}, {"build", 1, 1},
        {"build", 0, 0}, /* directory only */
        {"x/build", 1, 1}, {"x/build", 0, 0},  {"builder", 1, 0},  {"top", 0, 1},
        {"top", 1, 1},     {"x/top", 0, 0},    {"x/top", 1, 0},    {"deep", 0, 1},
        {"x/deep", 1, 1},  {"x/y/deep", 0, 1}, {"deeper", 0, 0},   {"# build products", 0, 0},
        {"#", 0, 0},
};

START_TEST(test_rules)
{
	assert_rules(rules_text, rules_probes, N(rules_probes));
}
END_TEST

START_TEST(test_rules_crlf)
{
	static const char crlf[] = "# build products\r\n"
	                           "*.o\r\n"
	                           "\r\n"
	                           "build/\r\n"
	                           "!keep.o\r\n"
	                           "/top\r\n"
	                           "**/deep\r\n";

	assert_rules(crlf, rules_probes, N(rules_probes));
}
END_TEST

START_TEST(test_parent_ignored)
{
	static const struct probe p[] = {
	        {"build/x.c", 0, 1},  {"build/sub", 1, 1}, {"build/sub/y", 0, 1}, {"a/build/z", 0, 1},
	        {"logs/a/b", 0, 1},   {"logs", 0, 1},      {"x/logs/c", 0, 1},    {"top/file", 0, 1},
	        {"x/top/file", 0, 0}, {"buildx/y", 0, 0},  {"logsx/y", 0, 0},
	};

	assert_rules("build/\nlogs\n/top\n", p, N(p));
}
END_TEST

START_TEST(test_no_rules)
{
	static const struct probe p[] = {
	        {"a.o", 0, 0}, {"build", 1, 0}, {"x", 0, 0}, {".mmsyncignore", 0, 0}, {"a/b/c", 0, 0},
	};
	struct ignore *ig;
	char *dir;
	int fd;

	assert_rules(NULL, p, N(p));
	assert_rules("", p, N(p));
	assert_rules("# only a comment\n\n", p, N(p));
	/* No .mmsyncignore at all. */
	dir = tu_mkdtemp();
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	TU_OK(ignore_load(&ig, fd));
	assert_matches(ig, p, N(p));
	ignore_free(ig);
	close(fd);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* Loads `.mmsyncignore` from `dir`. */
static struct ignore *load(const char *dir)
{
	struct ignore *ig;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(fd, 0);
	TU_OK(ignore_load(&ig, fd));
	close(fd);
	return ig;
}

START_TEST(test_load_file)
{
	char *dir = tu_mkdtemp();
	struct ignore *ig;

	tu_write_str(dir, IGNORE_FILE, rules_text);
	ig = load(dir);
	assert_matches(ig, rules_probes, N(rules_probes));
	ignore_free(ig);
	/* The same rules with CRLF line ends, as an editor on Windows writes them. */
	tu_write_str(dir, IGNORE_FILE, "*.o\r\nbuild/\r\n!keep.o\r\n");
	ig = load(dir);
	ck_assert_int_eq(ignore_match(ig, "a.o", 0), 1);
	ck_assert_int_eq(ignore_match(ig, "keep.o", 0), 0);
	ck_assert_int_eq(ignore_match(ig, "build", 1), 1);
	ck_assert_int_eq(ignore_match(ig, "build", 0), 0);
	ignore_free(ig);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_load_symlink_not_read)
{
	char *dir = tu_mkdtemp();
	struct ignore *ig;

	tu_write_str(dir, "rules", "*\n");
	tu_symlink("rules", dir, IGNORE_FILE);
	ig = load(dir);
	ck_assert_int_eq(ignore_match(ig, "anything", 0), 0);
	ck_assert_int_eq(ignore_match(ig, "rules", 0), 0);
	ck_assert_int_eq(ignore_match(ig, "d", 1), 0);
	ignore_free(ig);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_load_not_a_file)
{
	char *dir = tu_mkdtemp();
	struct ignore *ig;

	tu_mkdir(dir, IGNORE_FILE, 0755);
	tu_write_str(dir, IGNORE_FILE "/x", "*\n");
	ig = load(dir);
	ck_assert_int_eq(ignore_match(ig, "anything", 0), 0);
	ignore_free(ig);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_load_nul_refused)
{
	char *dir = tu_mkdtemp();
	struct ignore *ig = NULL;
	int fd;

	tu_write(dir, IGNORE_FILE, "a\0*\n", 4);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ignore_load(&ig, fd), MM_ERROR);
	close(fd);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* --- path_valid and path_name_syncable --- */

START_TEST(test_path_valid_accepts)
{
	static const char *const ok[] = {
	        "a",
	        "a/b",
	        "with space",
	        " lead and trail ",
	        "new\nline",
	        "\xff",
	        "a/\xff\xfe/c",
	        "...",
	        ".a",
	        "a/.b",
	        ".mmsyncignore",
	        ".mmsync-x",
	        "x/.mmsyncfoo",
	        "-",
	        "a\\b",
	        ".mmsync-tmp",
	        "a/.mmsync-tmpx",
	        "x.mmsync-tmp.y",
	};
	char longest[MM_PATH_MAX + 1];
	char name[MM_NAME_MAX + 1];

	for (size_t i = 0; i < N(ok); i++)
		ck_assert_msg(path_valid(ok[i], strlen(ok[i])) == 1, "'%s' refused", ok[i]);
	memset(name, 'n', MM_NAME_MAX);
	ck_assert_int_eq(path_valid(name, MM_NAME_MAX), 1);
	/* 16 names of 255 bytes and 15 slashes: MM_PATH_MAX exactly. */
	memset(longest, 'p', MM_PATH_MAX);
	for (int i = 1; i < 16; i++)
		longest[i * 256 - 1] = '/';
	ck_assert_int_eq(path_valid(longest, MM_PATH_MAX), 1);
	/* Only `len` bytes count. */
	ck_assert_int_eq(path_valid("a/b", 1), 1);
	ck_assert_int_eq(path_valid("ab/", 2), 1);
	ck_assert_int_eq(path_valid("a/..", 1), 1);
}
END_TEST

START_TEST(test_path_valid_rejects)
{
	static const char *const bad[] = {
	        "",
	        "/",
	        "/a",
	        "a/",
	        "a//b",
	        "//",
	        ".",
	        "..",
	        "a/.",
	        "a/..",
	        "a/../b",
	        "./a",
	        "../a",
	        ".mmsync",
	        ".mmsync/x",
	        "a/.mmsync/b",
	        "a/.mmsync",
	        "a/b/",
	        /* mmsync's temporary files: a peer could plant one that the next scan deletes */
	        ".mmsync-tmp.",
	        ".mmsync-tmp.x",
	        "a/.mmsync-tmp.1234/b",
	        "a/.mmsync-tmp.x",
	};
	char buf[MM_PATH_MAX + 2];

	for (size_t i = 0; i < N(bad); i++)
		ck_assert_msg(path_valid(bad[i], strlen(bad[i])) == 0, "'%s' accepted", bad[i]);
	/* An embedded NUL, given through the length. */
	ck_assert_int_eq(path_valid("a\0b", 3), 0);
	ck_assert_int_eq(path_valid("a/\0", 3), 0);
	ck_assert_int_eq(path_valid("\0", 1), 0);
	/* One byte past MM_PATH_MAX, in names of 100 bytes. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i % 101 == 100 ? '/' : 'p';
	ck_assert_int_eq(path_valid(buf, MM_PATH_MAX), 1);
	ck_assert_int_eq(path_valid(buf, MM_PATH_MAX + 1), 0);
	/* A name of 256 bytes, alone and inside a path. */
	memset(buf, 'n', sizeof(buf));
	ck_assert_int_eq(path_valid(buf, MM_NAME_MAX + 1), 0);
	buf[1] = '/';
	ck_assert_int_eq(path_valid(buf, 2 + MM_NAME_MAX + 1), 0);
	ck_assert_int_eq(path_valid(buf, 2 + MM_NAME_MAX), 1);
}
END_TEST

START_TEST(test_name_syncable)
{
	static const struct {
		const char *name;
		int syncable;
	} cases[] = {
	        {".", 0},
	        {"..", 0},
	        {".mmsync", 0},
	        {MM_TMP_PREFIX "abc", 0},
	        {MM_TMP_PREFIX, 0},
	        {"a", 1},
	        {"...", 1},
	        {".mmsyncignore", 1},
	        {".mmsync-tmp", 1},
	        {".mmsyncx", 1},
	        {"x.mmsync-tmp.y", 1},
	        {"new\nline", 1},
	};

	for (size_t i = 0; i < N(cases); i++)
		ck_assert_msg(path_name_syncable(cases[i].name) == cases[i].syncable, "'%s': expected %d",
		              cases[i].name, cases[i].syncable);
}
END_TEST

Suite *ignore_suite(void)
{
	Suite *s = suite_create("ignore");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_rules_crlf);
	tcase_add_test(tc, test_parent_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_no_rules);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_symlink_not_read);
	tcase_add_test(tc, test_load_not_a_file);
	tcase_add_test(tc, test_load_nul_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("path");
	tcase_add_test(tc, test_path_valid_accepts);
	tcase_add_test(tc, test_path_valid_rejects);
	tcase_add_test(tc, test_name_syncable);
	suite_add_tcase(s, tc);
	return s;
}
