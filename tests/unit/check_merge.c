/*
 * Unit tests for three-way merges and what they rest on: merge_run (clean
 * and conflicting merges, markers and labels, CRLF, empty inputs, missing
 * final newlines, identical edits, argument order), text_is_text (ASCII,
 * UTF-8 of every length, NUL bytes, malformed UTF-8), the merge settings
 * (merge.maxSize, merge.exclude, conflict.policy and conflict.PATTERN.policy),
 * the bases object store (round trips, dedup, flush and reopen, missing
 * objects, gc, the empty blob) and store_history_base (the latest common
 * ancestor among several history rows).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "sync/bases.h"
#include "sync/config.h"
#include "sync/error.h"
#include "sync/merge.h"
#include "sync/store.h"
#include "sync/text.h"
#include "testutil.h"
#include "vv/vv.h"

/* ---------------------------------------------------------------- merge_run */

struct mres {
	char *p;
	size_t len;
	int clean;
	int rc;
};

static struct mres merge3(const char *base, const char *ours, const char *theirs, int markers)
{
	struct merge_text b = {base, strlen(base), "BASE"}, o = {ours, strlen(ours), "OURS"},
	                  t = {theirs, strlen(theirs), "THEIRS"};
	struct mres r = {NULL, 0, -1, 0};
	void *out = NULL;

	r.rc = merge_run(&out, &r.len, &r.clean, &b, &o, &t, markers);
	ck_assert_msg(r.rc == 0, "merge_run returned %d: %s", r.rc, mm_error_msg());
	/* NUL-terminate a copy for the string comparisons */
	r.p = malloc(r.len + 1);
	ck_assert_ptr_nonnull(r.p);
	if (r.len) {
		ck_assert_ptr_nonnull(out);
		memcpy(r.p, out, r.len);
	}
	r.p[r.len] = '\0';
	free(out);
	return r;
}

/* Asserts a clean merge with exactly `want`. */
static void expect_clean(const char *base, const char *ours, const char *theirs, const char *want)
{
	for (int markers = 0; markers <= 1; markers++) {
		struct mres r = merge3(base, ours, theirs, markers);
		ck_assert_msg(r.clean == 1, "merge (markers=%d) of base '%s' ours '%s' theirs '%s' is not clean: '%s'",
		              markers, base, ours, theirs, r.p);
		ck_assert_msg(r.len == strlen(want) && !memcmp(r.p, want, r.len),
		              "merge (markers=%d) gave '%s' (%zu bytes), want '%s' (%zu bytes)", markers, r.p, r.len,
		              want, strlen(want));
		free(r.p);
	}
}

START_TEST(test_merge_disjoint)
{
	expect_clean("a\nb\nc\nd\ne\nf\ng\n", "A\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nd\ne\nf\nG\n",
	             "A\nb\nc\nd\ne\nf\nG\n");
	/* an insertion on one side, a deletion on the other */
	expect_clean("1\n2\n3\n4\n5\n6\n7\n8\n", "1\nnew\n2\n3\n4\n5\n6\n7\n8\n", "1\n2\n3\n4\n5\n6\n8\n",
	             "1\nnew\n2\n3\n4\n5\n6\n8\n");
	/* one side unchanged: the other side's version whole */
	expect_clean("x\ny\nz\n", "x\ny\nz\n", "x\nY\nz\nw\n", "x\nY\nz\nw\n");
	expect_clean("x\ny\nz\n", "q\nx\nz\n", "x\ny\nz\n", "q\nx\nz\n");
}
END_TEST

START_TEST(test_merge_overlap)
{
	const char *base = "a\nb\nc\n", *ours = "a\nours line\nc\n", *theirs = "a\ntheirs line\nc\n";
	struct mres r = merge3(base, ours, theirs, 0);

	ck_assert_msg(r.clean == 0, "overlapping edits merged cleanly: '%s'", r.p);
	free(r.p);

	r = merge3(base, ours, theirs, 1);
	ck_assert_msg(r.clean == 0, "overlapping edits merged cleanly with markers: '%s'", r.p);
	ck_assert_msg(r.len > 0, "no result with markers");
	ck_assert_msg(strlen(r.p) == r.len, "result holds a NUL byte");
	const char *want = "a\n"
	                   "<<<<<<< OURS\n"
	                   "ours line\n"
	                   "||||||| BASE\n"
	                   "b\n"
	                   "=======\n"
	                   "theirs line\n"
	                   ">>>>>>> THEIRS\n"
	                   "c\n";
	ck_assert_msg(!strcmp(r.p, want), "diff3 result:\n%s\nwant:\n%s", r.p, want);
	free(r.p);

	/* both sides change the same line, the rest merges: still not clean */
	r = merge3("1\n2\n3\n4\n5\n6\n7\n", "ONE\n2\n3\n4\n5\n6\nours\n", "1\n2\n3\n4\n5\n6\ntheirs\n", 1);
	ck_assert_int_eq(r.clean, 0);
	ck_assert_msg(tu_contains(r.p,
	                          "ONE\n2\n3\n4\n5\n6\n<<<<<<< OURS\nours\n||||||| BASE\n7\n=======\ntheirs\n>>>>>>> "
	                          "THEIRS\n"),
	              "partial merge with markers:\n%s", r.p);
	free(r.p);

	/* both add different content to an empty base: a conflict */
	r = merge3("", "x\n", "y\n", 1);
	ck_assert_int_eq(r.clean, 0);
	ck_assert_msg(tu_contains(r.p, "<<<<<<< OURS") && tu_contains(r.p, ">>>>>>> THEIRS") &&
	                      tu_contains(r.p, "x\n") && tu_contains(r.p, "y\n"),
	              "empty-base conflict:\n%s", r.p);
	free(r.p);
}
END_TEST

START_TEST(test_merge_crlf)
{
	expect_clean("a\r\nb\r\nc\r\nd\r\ne\r\nf\r\n", "A\r\nb\r\nc\r\nd\r\ne\r\nf\r\n",
	             "a\r\nb\r\nc\r\nd\r\ne\r\nF\r\n", "A\r\nb\r\nc\r\nd\r\ne\r\nF\r\n");
	/* a conflict keeps the CRLF of the lines it shows */
	struct mres r = merge3("a\r\nb\r\nc\r\n", "a\r\nX\r\nc\r\n", "a\r\nY\r\nc\r\n", 1);
	ck_assert_int_eq(r.clean, 0);
	ck_assert_msg(tu_contains(r.p, "X\r\n") && tu_contains(r.p, "Y\r\n") && tu_contains(r.p, "a\r\n") &&
	                      tu_contains(r.p, "c\r\n"),
	              "CRLF lost:\n%s", r.p);
	free(r.p);
}
END_TEST

START_TEST(test_merge_empty)
{
	/* empty base, one side adds */
	expect_clean("", "hello\n", "", "hello\n");
	expect_clean("", "", "hello\n", "hello\n");
	/* everything empty */
	expect_clean("", "", "", "");
	/* both add the same to an empty base */
	expect_clean("", "same\n", "same\n", "same\n");
}
END_TEST

/* One side empties the file, the other leaves it: the merge is the empty file, cleanly. */
START_TEST(test_merge_empty_result)
{
	expect_clean("a\nb\n", "", "a\nb\n", "");
	expect_clean("a\nb\n", "a\nb\n", "", "");
}
END_TEST

START_TEST(test_merge_no_final_newline)
{
	/* no final newline anywhere */
	expect_clean("a\nb\nc\nd\ne", "A\nb\nc\nd\ne", "a\nb\nc\nd\nE", "A\nb\nc\nd\nE");
	/* only the base and theirs lack it; ours edits the first line */
	expect_clean("a\nb\nc\nd\ne", "A\nb\nc\nd\ne", "a\nb\nc\nd\ne", "A\nb\nc\nd\ne");
	/* one side adds the final newline, the other edits far above */
	expect_clean("a\nb\nc\nd\ne", "A\nb\nc\nd\ne", "a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n");
	/* one side removes it */
	expect_clean("a\nb\nc\nd\ne\n", "a\nb\nc\nd\ne", "A\nb\nc\nd\ne\n", "A\nb\nc\nd\ne");
	/* a single line with no newline, edited on one side only */
	expect_clean("only", "only", "changed", "changed");
}
END_TEST

START_TEST(test_merge_identical_edits)
{
	expect_clean("a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\n", "a\nB\nc\n");
	expect_clean("a\nb\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nF\n", "a\nB\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nF\n");
	/* both delete everything */
	expect_clean("a\nb\n", "", "", "");
}
END_TEST

START_TEST(test_merge_order)
{
	static const char *const cases[][3] = {
	        {"a\nb\nc\nd\ne\nf\ng\n", "A\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nd\ne\nf\nG\n"},
	        {"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"},
	        {"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\n5\n6\n7\nx\ny\n8\n9\n"},
	        {"a\r\nb\r\nc\r\nd\r\ne\r\n", "A\r\nb\r\nc\r\nd\r\ne\r\n", "a\r\nb\r\nc\r\nd\r\nE\r\n"},
	        {"p\nq\nr\ns\nt", "P\nq\nr\ns\nt", "p\nq\nr\ns\nT\n"},
	        {"", "", "new\n"},
	        {"same\n", "other\n", "other\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mres ab = merge3(cases[i][0], cases[i][1], cases[i][2], 0);
		struct mres ba = merge3(cases[i][0], cases[i][2], cases[i][1], 0);
		ck_assert_msg(ab.clean == 1 && ba.clean == 1, "case %zu: not clean (%d, %d)", i, ab.clean, ba.clean);
		ck_assert_msg(ab.len == ba.len && !memcmp(ab.p, ba.p, ab.len),
		              "case %zu: the order of the sides changes the result:\n'%s'\nvs\n'%s'", i, ab.p, ba.p);
		free(ab.p);
		free(ba.p);
	}
}
END_TEST

/* -------------------------------------------------------------- text_is_text */

static int is_text(const char *s, size_t n)
{
	return text_is_text(s, n);
}
#define TXT(lit) is_text(lit, sizeof(lit) - 1)

START_TEST(test_text_ascii)
{
	ck_assert_int_eq(TXT("hello world\n\tline two\r\n"), 1);
	ck_assert_int_eq(TXT("\x01\x02\x7f control characters are still text"), 1);
	ck_assert_int_eq(TXT("x"), 1);
}
END_TEST

START_TEST(test_text_utf8)
{
	ck_assert_int_eq(TXT("caf\xc3\xa9"), 1);             /* é: 2 bytes */
	ck_assert_int_eq(TXT("\xc2\x80"), 1);                /* U+0080, lowest 2-byte */
	ck_assert_int_eq(TXT("\xdf\xbf"), 1);                /* U+07FF */
	ck_assert_int_eq(TXT("5 \xe2\x82\xac"), 1);          /* €: 3 bytes */
	ck_assert_int_eq(TXT("\xe0\xa0\x80"), 1);            /* U+0800, lowest 3-byte */
	ck_assert_int_eq(TXT("\xed\x9f\xbf"), 1);            /* U+D7FF, just below the surrogates */
	ck_assert_int_eq(TXT("\xee\x80\x80"), 1);            /* U+E000, just above them */
	ck_assert_int_eq(TXT("\xef\xbf\xbf"), 1);            /* U+FFFF */
	ck_assert_int_eq(TXT("smile \xf0\x9f\x98\x80!"), 1); /* U+1F600: 4 bytes */
	ck_assert_int_eq(TXT("\xf0\x90\x80\x80"), 1);        /* U+10000, lowest 4-byte */
	ck_assert_int_eq(TXT("\xf4\x8f\xbf\xbf"), 1);        /* U+10FFFF, the highest */
	ck_assert_int_eq(TXT("\xef\xbb\xbf"
	                     "BOM then text\n"),
	                 1); /* a byte order mark */
	/* the sequence lengths */
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "a", 1), 1);
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "\xc3\xa9", 2), 2);
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "\xe2\x82\xac", 3), 3);
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "\xf0\x9f\x98\x80", 4), 4);
}
END_TEST

START_TEST(test_text_nul)
{
	ck_assert_int_eq(TXT("a\0b"), 0);
	ck_assert_int_eq(TXT("\0"), 0);
	ck_assert_int_eq(TXT("text then a NUL at the end\0"), 0);
	/* a NUL far into a long ASCII run */
	{
		size_t n = 100000;
		char *big = malloc(n);
		ck_assert_ptr_nonnull(big);
		memset(big, 'a', n);
		ck_assert_int_eq(text_is_text(big, n), 1);
		big[n - 2] = '\0';
		ck_assert_int_eq(text_is_text(big, n), 0);
		free(big);
	}
}
END_TEST

START_TEST(test_text_invalid_utf8)
{
	ck_assert_int_eq(TXT("\xc0\x80"), 0);                 /* overlong NUL */
	ck_assert_int_eq(TXT("\xc1\xbf"), 0);                 /* overlong 2-byte */
	ck_assert_int_eq(TXT("\xe0\x80\x80"), 0);             /* overlong 3-byte */
	ck_assert_int_eq(TXT("\xe0\x9f\xbf"), 0);             /* overlong 3-byte (U+07FF) */
	ck_assert_int_eq(TXT("\xf0\x80\x80\x80"), 0);         /* overlong 4-byte */
	ck_assert_int_eq(TXT("\xf0\x8f\xbf\xbf"), 0);         /* overlong 4-byte (U+FFFF) */
	ck_assert_int_eq(TXT("\xed\xa0\x80"), 0);             /* U+D800, a surrogate */
	ck_assert_int_eq(TXT("\xed\xbf\xbf"), 0);             /* U+DFFF */
	ck_assert_int_eq(TXT("\xed\xa0\xbd\xed\xb8\x80"), 0); /* CESU-8 pair */
	ck_assert_int_eq(TXT("\xf4\x90\x80\x80"), 0);         /* above U+10FFFF */
	ck_assert_int_eq(TXT("\xf5\x80\x80\x80"), 0);
	ck_assert_int_eq(TXT("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
	ck_assert_int_eq(TXT("\xff"), 0);
	ck_assert_int_eq(TXT("text \xff text"), 0);
	ck_assert_int_eq(TXT("\xfe"), 0);
	ck_assert_int_eq(TXT("\x80"), 0); /* a lone continuation byte */
	ck_assert_int_eq(TXT("ab\xbf"), 0);
	/* truncated sequences, at the end and followed by ASCII */
	ck_assert_int_eq(TXT("\xc3"), 0);
	ck_assert_int_eq(TXT("x\xe2\x82"), 0);
	ck_assert_int_eq(TXT("\xe2\x82x"), 0);
	ck_assert_int_eq(TXT("\xf0\x9f\x98"), 0);
	ck_assert_int_eq(TXT("\xf0\x9f\x98 tail"), 0);
	ck_assert_int_eq(TXT("\xc3\xc3\xa9"), 0);
	/* a valid sequence cut by the length given */
	ck_assert_int_eq(is_text("\xe2\x82\xac", 2), 0);
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "\xe2\x82\xac", 2), 0);
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "\xf0\x9f\x98\x80", 3), 0);
	ck_assert_uint_eq(text_utf8_len((const unsigned char *) "a", 0), 0);
}
END_TEST

START_TEST(test_text_empty)
{
	ck_assert_int_eq(text_is_text("", 0), 1);
	/* bytes past the length do not count */
	ck_assert_int_eq(text_is_text("\0\xff", 0), 1);
	ck_assert_int_eq(text_is_text("ok\0", 2), 1);
}
END_TEST

/* An empty buffer may have no storage at all (an empty file read into a fresh buffer). */
START_TEST(test_text_empty_null)
{
	ck_assert_int_eq(text_is_text(NULL, 0), 1);
}
END_TEST

/* ------------------------------------------------------------ merge settings */

struct cfg {
	char *dir;
	char *path;
	struct config *c;
};

/* A config file holding `text` (may be ""), opened. */
static void cfg_new(struct cfg *f, const char *text)
{
	f->dir = tu_mkdtemp();
	f->path = tu_path(f->dir, "config");
	tu_write_str(f->dir, "config", text);
	TU_OK(config_open(&f->c, f->path));
}

static void cfg_free(struct cfg *f)
{
	config_free(f->c);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->path);
}

START_TEST(test_allowed_defaults)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "");
	TU_OK(merge_config_load(&m, f.c));
	ck_assert_uint_eq(m.max_size, 8u << 20);
	ck_assert_int_eq(m.markers, 0);
	ck_assert_int_eq((int) m.retention_s, 30 * 24 * 3600);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", 0), 1);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", 8u << 20), 1);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", (8u << 20) + 1), 0);
	ck_assert_int_eq(merge_allowed(&m, "deep/dir/a.lock", 100), 1);
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

START_TEST(test_allowed_size)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "");
	TU_OK(config_set_string(f.c, "merge.maxSize", "1k"));
	TU_OK(config_set_string(f.c, "merge.markers", "true"));
	TU_OK(config_set_string(f.c, "gc.retention", "60"));
	TU_OK(merge_config_load(&m, f.c));
	ck_assert_uint_eq(m.max_size, 1024);
	ck_assert_int_eq(m.markers, 1);
	ck_assert_int_eq((int) m.retention_s, 60);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", 1024), 1);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", 1025), 0);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", UINT64_MAX), 0);
	merge_config_dispose(&m);

	/* 0: nothing but empty files is merged */
	TU_OK(config_set_string(f.c, "merge.maxSize", "0"));
	TU_OK(merge_config_load(&m, f.c));
	ck_assert_int_eq(merge_allowed(&m, "a.txt", 0), 1);
	ck_assert_int_eq(merge_allowed(&m, "a.txt", 1), 0);
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

START_TEST(test_allowed_exclude)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "[merge]\n"
	            "\texclude = *.min.js\n"
	            "\texclude = vendor/\n"
	            "\texclude = /generated.txt\n"
	            "\texclude = !keep.min.js\n"
	            "\texclude = docs/*.csv\n");
	TU_OK(merge_config_load(&m, f.c));
	ck_assert_int_eq(merge_allowed(&m, "main.c", 10), 1);
	ck_assert_int_eq(merge_allowed(&m, "app.min.js", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "web/app.min.js", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "web/keep.min.js", 10), 1); /* negated */
	ck_assert_int_eq(merge_allowed(&m, "app.js", 10), 1);
	ck_assert_int_eq(merge_allowed(&m, "vendor/lib.c", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "vendor/deep/lib.c", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "src/vendor/lib.c", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "vendor", 10), 1); /* a file named vendor: the rule is for directories */
	ck_assert_int_eq(merge_allowed(&m, "generated.txt", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "sub/generated.txt", 10), 1); /* anchored */
	ck_assert_int_eq(merge_allowed(&m, "docs/a.csv", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "a.csv", 10), 1);
	/* the size limit still applies to paths not excluded */
	ck_assert_int_eq(merge_allowed(&m, "main.c", (8u << 20) + 1), 0);
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

START_TEST(test_allowed_exclude_set)
{
	struct cfg f;
	struct merge_config m;

	/* one value set through the config API */
	cfg_new(&f, "");
	TU_OK(config_set_string(f.c, "merge.exclude", "*.lock"));
	TU_OK(merge_config_load(&m, f.c));
	ck_assert_int_eq(merge_allowed(&m, "Cargo.lock", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "a/b/yarn.lock", 10), 0);
	ck_assert_int_eq(merge_allowed(&m, "lockfile", 10), 1);
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

static enum merge_policy pol(const struct merge_config *m, const char *path, char name[REPLICA_NAME_MAX + 1])
{
	memset(name, 'x', 65);
	return merge_policy_for(m, path, name);
}

#define EXPECT_POLICY(m, path, want, wname)                                                                            \
	do {                                                                                                           \
		char n_[REPLICA_NAME_MAX + 1];                                                                         \
		enum merge_policy p_ = pol(m, path, n_);                                                               \
		ck_assert_msg(p_ == (want), "policy for '%s': %d, want %d", path, (int) p_, (int) (want));             \
		if ((want) == POLICY_PREFER)                                                                           \
			ck_assert_msg(!strcmp(n_, wname), "policy for '%s' prefers '%.64s', want '%s'", path, n_,      \
			              wname);                                                                          \
	} while (0)

START_TEST(test_policy_default)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "");
	TU_OK(merge_config_load(&m, f.c));
	EXPECT_POLICY(&m, "a.txt", POLICY_KEEP_BOTH, "");
	EXPECT_POLICY(&m, "d/e/f.bin", POLICY_KEEP_BOTH, "");
	merge_config_dispose(&m);

	TU_OK(config_set_string(f.c, "conflict.policy", "prefer-newer"));
	TU_OK(merge_config_load(&m, f.c));
	EXPECT_POLICY(&m, "a.txt", POLICY_PREFER_NEWER, "");
	merge_config_dispose(&m);

	TU_OK(config_set_string(f.c, "conflict.policy", "prefer laptop"));
	TU_OK(merge_config_load(&m, f.c));
	EXPECT_POLICY(&m, "a.txt", POLICY_PREFER, "laptop");
	EXPECT_POLICY(&m, "x/y.bin", POLICY_PREFER, "laptop");
	merge_config_dispose(&m);

	TU_OK(config_set_string(f.c, "conflict.policy", "keep-both"));
	TU_OK(merge_config_load(&m, f.c));
	EXPECT_POLICY(&m, "a.txt", POLICY_KEEP_BOTH, "");
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

START_TEST(test_policy_bad)
{
	static const char *const bad[] = {"prefer", "prefer ", "newest", "Prefer-Newer", "keep both", ""};
	struct cfg f;
	struct merge_config m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg_new(&f, "");
		TU_OK(config_set_string(f.c, "conflict.policy", bad[i]));
		ck_assert_msg(merge_config_load(&m, f.c) == MM_EINVAL, "conflict.policy '%s' was accepted", bad[i]);
		cfg_free(&f);

		cfg_new(&f, "");
		TU_OK(config_set_string(f.c, "conflict.*.txt.policy", bad[i]));
		ck_assert_msg(merge_config_load(&m, f.c) == MM_EINVAL, "conflict.*.txt.policy '%s' was accepted",
		              bad[i]);
		cfg_free(&f);
	}
}
END_TEST

START_TEST(test_policy_patterns)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "");
	/* set through the API, as `git config -f` would write them */
	TU_OK(config_set_string(f.c, "conflict.policy", "prefer-newer"));
	TU_OK(config_set_string(f.c, "conflict.*.bin.policy", "prefer laptop"));
	TU_OK(config_set_string(f.c, "conflict.docs/*.md.policy", "keep-both"));
	TU_OK(config_set_string(f.c, "conflict.build/.policy", "prefer server"));
	TU_OK(config_set_string(f.c, "conflict.Notes.TXT.policy", "prefer desk"));
	TU_OK(merge_config_load(&m, f.c));

	/* no rule matches: the default */
	EXPECT_POLICY(&m, "x.dat", POLICY_PREFER_NEWER, "");
	/* a pattern without '/' matches the file name, at any depth */
	EXPECT_POLICY(&m, "a.bin", POLICY_PREFER, "laptop");
	EXPECT_POLICY(&m, "deep/dir/a.bin", POLICY_PREFER, "laptop");
	EXPECT_POLICY(&m, "a.bin.txt", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "a.bin/inner", POLICY_PREFER_NEWER, "");
	/* subsection names keep their case */
	EXPECT_POLICY(&m, "Notes.TXT", POLICY_PREFER, "desk");
	EXPECT_POLICY(&m, "dir/Notes.TXT", POLICY_PREFER, "desk");
	EXPECT_POLICY(&m, "notes.txt", POLICY_PREFER_NEWER, "");
	/* a pattern with '/' matches the whole path, '*' not crossing '/' */
	EXPECT_POLICY(&m, "docs/r.md", POLICY_KEEP_BOTH, "");
	EXPECT_POLICY(&m, "r.md", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "other/docs/r.md", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "docs/sub/r.md", POLICY_PREFER_NEWER, "");
	/* a pattern ending in '/' matches everything beneath that directory */
	EXPECT_POLICY(&m, "build/x.o", POLICY_PREFER, "server");
	EXPECT_POLICY(&m, "build/sub/y.o", POLICY_PREFER, "server");
	EXPECT_POLICY(&m, "build", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "rebuild/x.o", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "builder/x.o", POLICY_PREFER_NEWER, "");
	/* build/ comes after *.bin in the file: the last match wins beneath build/ */
	EXPECT_POLICY(&m, "build/a.bin", POLICY_PREFER, "server");
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

START_TEST(test_policy_last_wins)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "[conflict \"*.txt\"]\n"
	            "\tpolicy = prefer one\n"
	            "[conflict \"docs/*.txt\"]\n"
	            "\tpolicy = prefer two\n"
	            "[conflict \"docs/\"]\n"
	            "\tpolicy = keep-both\n"
	            "[conflict]\n"
	            "\tpolicy = prefer-newer\n"
	            "[conflict \"docs/keep/\"]\n"
	            "\tpolicy = prefer three\n"
	            "[conflict \"*.txt\"]\n"
	            "\tpolicy = prefer four\n");
	TU_OK(merge_config_load(&m, f.c));
	/* the default set after some patterns is still the default */
	EXPECT_POLICY(&m, "a.dat", POLICY_PREFER_NEWER, "");
	/* *.txt, given twice: the later entry wins over everything before */
	EXPECT_POLICY(&m, "a.txt", POLICY_PREFER, "four");
	EXPECT_POLICY(&m, "docs/a.txt", POLICY_PREFER, "four");
	EXPECT_POLICY(&m, "docs/keep/a.txt", POLICY_PREFER, "four");
	/* not .txt: the last of docs/ and docs/keep/ that matches */
	EXPECT_POLICY(&m, "docs/a.dat", POLICY_KEEP_BOTH, "");
	EXPECT_POLICY(&m, "docs/keep/a.dat", POLICY_PREFER, "three");
	merge_config_dispose(&m);

	/* the reverse order: the earlier rules lose */
	cfg_free(&f);
	cfg_new(&f, "[conflict \"docs/keep/\"]\n"
	            "\tpolicy = prefer three\n"
	            "[conflict \"docs/\"]\n"
	            "\tpolicy = keep-both\n"
	            "[conflict \"*.txt\"]\n"
	            "\tpolicy = prefer one\n"
	            "[conflict \"docs/*.txt\"]\n"
	            "\tpolicy = prefer two\n");
	TU_OK(merge_config_load(&m, f.c));
	EXPECT_POLICY(&m, "a.dat", POLICY_KEEP_BOTH, "");
	EXPECT_POLICY(&m, "a.txt", POLICY_PREFER, "one");
	EXPECT_POLICY(&m, "docs/a.txt", POLICY_PREFER, "two");
	EXPECT_POLICY(&m, "docs/keep/a.txt", POLICY_PREFER, "one");
	EXPECT_POLICY(&m, "docs/keep/a.dat", POLICY_KEEP_BOTH, "");
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

/* A directory pattern is a pattern too: a glob in it matches as in the other rules. */
START_TEST(test_policy_dir_glob)
{
	struct cfg f;
	struct merge_config m;

	cfg_new(&f, "");
	TU_OK(config_set_string(f.c, "conflict.cache-*/.policy", "prefer-newer"));
	TU_OK(merge_config_load(&m, f.c));
	EXPECT_POLICY(&m, "cache-1/x", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "cache-/x", POLICY_PREFER_NEWER, "");
	EXPECT_POLICY(&m, "cache/x", POLICY_KEEP_BOTH, "");
	merge_config_dispose(&m);
	cfg_free(&f);
}
END_TEST

/* ---------------------------------------------------------------------- bases */

static const uint8_t OID_HELLO[BASES_OID_LEN] = {0xb6, 0xfc, 0x4c, 0x62, 0x0b, 0x67, 0xd9, 0x5f, 0x95, 0x3a, 0x5c,
                                                 0x1c, 0x12, 0x30, 0xaa, 0xab, 0x5d, 0xb5, 0xa1, 0xb0}; /* "hello" */
static const uint8_t OID_EMPTY[BASES_OID_LEN] = {0xe6, 0x9d, 0xe2, 0x9b, 0xb2, 0xd1, 0xd6, 0x43, 0x4b, 0x8b,
                                                 0x29, 0xae, 0x77, 0x5a, 0xd8, 0xc2, 0xe4, 0x8c, 0x53, 0x91}; /* "" */

static void expect_blob(struct bases *b, const uint8_t oid[BASES_OID_LEN], const void *want, size_t wlen)
{
	void *data = NULL;
	size_t len = 99;

	TU_OK(bases_get(b, oid, &data, &len));
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(len, wlen);
	ck_assert_msg(!memcmp(data, want, wlen), "blob content differs");
	free(data);
}

static void expect_no_blob(struct bases *b, const uint8_t oid[BASES_OID_LEN])
{
	void *data = (void *) 1;
	size_t len = 99;

	ck_assert_int_eq(bases_get(b, oid, &data, &len), MM_ENOTFOUND);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
}

/* Number of files in dir/pack whose name ends with `suffix`. */
static int count_packs(const char *dir, const char *suffix)
{
	char *p = tu_path(dir, "pack");
	DIR *d = opendir(p);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), s = strlen(suffix);
		if (l > s && !strcmp(e->d_name + l - s, suffix))
			n++;
	}
	closedir(d);
	free(p);
	return n;
}

START_TEST(test_bases_roundtrip)
{
	char *dir = tu_mkdtemp(), *bdir = tu_path(dir, "bases");
	struct bases *b;
	uint8_t oid[BASES_OID_LEN], oid2[BASES_OID_LEN];
	const char text[] = "line one\nline two\n";

	TU_OK(bases_open(&b, bdir));
	TU_OK(bases_put(b, "hello", 5, oid));
	ck_assert_msg(!memcmp(oid, OID_HELLO, 20), "the blob id is not git's");
	ck_assert_uint_gt(bases_pending(b), 0);
	/* readable before the flush */
	expect_blob(b, oid, "hello", 5);
	TU_OK(bases_put(b, text, sizeof(text) - 1, oid2));
	expect_blob(b, oid2, text, sizeof(text) - 1);
	TU_OK(bases_flush(b));
	ck_assert_uint_eq(bases_pending(b), 0);
	expect_blob(b, oid, "hello", 5);
	expect_blob(b, oid2, text, sizeof(text) - 1);
	ck_assert_int_eq(count_packs(bdir, ".pack"), 1);
	/* a flush with nothing queued writes no pack */
	TU_OK(bases_flush(b));
	ck_assert_int_eq(count_packs(bdir, ".pack"), 1);
	bases_free(b);

	TU_OK(bases_open(&b, bdir));
	expect_blob(b, oid, "hello", 5);
	expect_blob(b, oid2, text, sizeof(text) - 1);
	bases_free(b);
	tu_rmrf(dir);
	free(bdir);
	free(dir);
}
END_TEST

START_TEST(test_bases_dedup)
{
	char *dir = tu_mkdtemp(), *bdir = tu_path(dir, "bases");
	struct bases *b;
	uint8_t o1[BASES_OID_LEN], o2[BASES_OID_LEN], o3[BASES_OID_LEN];
	size_t pending;

	TU_OK(bases_open(&b, bdir));
	TU_OK(bases_put(b, "same content\n", 13, o1));
	pending = bases_pending(b);
	TU_OK(bases_put(b, "same content\n", 13, o2));
	ck_assert_msg(!memcmp(o1, o2, 20), "the same content has two ids");
	ck_assert_uint_eq(bases_pending(b), pending);
	TU_OK(bases_flush(b));
	/* once in a pack, a put is still a no-op */
	TU_OK(bases_put(b, "same content\n", 13, o3));
	ck_assert_msg(!memcmp(o1, o3, 20), "the same content has two ids after a flush");
	ck_assert_uint_eq(bases_pending(b), 0);
	TU_OK(bases_flush(b));
	ck_assert_int_eq(count_packs(bdir, ".pack"), 1);
	/* different content, different id */
	TU_OK(bases_put(b, "same content!", 13, o2));
	ck_assert_msg(memcmp(o1, o2, 20), "different content, same id");
	bases_free(b);
	tu_rmrf(dir);
	free(bdir);
	free(dir);
}
END_TEST

START_TEST(test_bases_missing)
{
	char *dir = tu_mkdtemp(), *bdir = tu_path(dir, "bases");
	struct bases *b;
	uint8_t oid[BASES_OID_LEN], zero[BASES_OID_LEN] = {0};

	TU_OK(bases_open(&b, bdir));
	expect_no_blob(b, OID_HELLO);
	expect_no_blob(b, zero);
	/* queued but never flushed: gone after bases_free */
	TU_OK(bases_put(b, "hello", 5, oid));
	bases_free(b);
	TU_OK(bases_open(&b, bdir));
	expect_no_blob(b, OID_HELLO);
	bases_free(b);
	tu_rmrf(dir);
	free(bdir);
	free(dir);
}
END_TEST

START_TEST(test_bases_empty_blob)
{
	char *dir = tu_mkdtemp(), *bdir = tu_path(dir, "bases");
	struct bases *b;
	uint8_t oid[BASES_OID_LEN];

	TU_OK(bases_open(&b, bdir));
	TU_OK(bases_put(b, "", 0, oid));
	ck_assert_msg(!memcmp(oid, OID_EMPTY, 20), "the empty blob's id is not git's");
	expect_blob(b, oid, "", 0);
	TU_OK(bases_flush(b));
	bases_free(b);
	TU_OK(bases_open(&b, bdir));
	expect_blob(b, OID_EMPTY, "", 0);
	bases_free(b);
	tu_rmrf(dir);
	free(bdir);
	free(dir);
}
END_TEST

struct live_set {
	const uint8_t (*oids)[BASES_OID_LEN];
	size_t n;
	int calls;
};

static int live_cb(void *arg, const uint8_t oid[BASES_OID_LEN])
{
	struct live_set *ls = arg;

	ls->calls++;
	for (size_t i = 0; i < ls->n; i++)
		if (!memcmp(ls->oids[i], oid, 20))
			return 1;
	return 0;
}

START_TEST(test_bases_gc)
{
	char *dir = tu_mkdtemp(), *bdir = tu_path(dir, "bases");
	struct bases *b;
	uint8_t o[4][BASES_OID_LEN], keep[2][BASES_OID_LEN];
	uint64_t dropped = 99, kept = 99;
	static const char *const content[4] = {"alpha\n", "beta\n", "gamma\n", "delta\n"};

	TU_OK(bases_open(&b, bdir));
	/* two packs, and one blob still queued */
	TU_OK(bases_put(b, content[0], strlen(content[0]), o[0]));
	TU_OK(bases_put(b, content[1], strlen(content[1]), o[1]));
	TU_OK(bases_flush(b));
	TU_OK(bases_put(b, content[2], strlen(content[2]), o[2]));
	TU_OK(bases_flush(b));
	TU_OK(bases_put(b, content[3], strlen(content[3]), o[3]));
	ck_assert_int_eq(count_packs(bdir, ".pack"), 2);

	/* keep alpha and delta (queued) */
	memcpy(keep[0], o[0], 20);
	memcpy(keep[1], o[3], 20);
	struct live_set ls = {(const uint8_t(*)[BASES_OID_LEN]) keep, 2, 0};
	TU_OK(bases_gc(b, live_cb, &ls, &dropped, &kept));
	ck_assert_uint_eq(dropped, 2);
	ck_assert_uint_eq(kept, 2);
	ck_assert_int_eq(ls.calls, 4);
	/* the kept blobs are still readable at once; dropped ones are checked after a reopen */
	expect_blob(b, o[0], content[0], strlen(content[0]));
	expect_blob(b, o[3], content[3], strlen(content[3]));
	ck_assert_int_eq(count_packs(bdir, ".pack"), 1);
	ck_assert_int_eq(count_packs(bdir, ".idx"), 1);
	bases_free(b);

	TU_OK(bases_open(&b, bdir));
	expect_blob(b, o[0], content[0], strlen(content[0]));
	expect_blob(b, o[3], content[3], strlen(content[3]));
	expect_no_blob(b, o[1]);
	expect_no_blob(b, o[2]);

	/* nothing dead: nothing changes */
	ls.calls = 0;
	TU_OK(bases_gc(b, live_cb, &ls, &dropped, &kept));
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(kept, 2);
	ck_assert_int_eq(count_packs(bdir, ".pack"), 1);
	expect_blob(b, o[0], content[0], strlen(content[0]));

	/* nothing live: every pack goes, and new blobs still work */
	ls.n = 0;
	TU_OK(bases_gc(b, live_cb, &ls, &dropped, &kept));
	ck_assert_uint_eq(dropped, 2);
	ck_assert_uint_eq(kept, 0);
	ck_assert_int_eq(count_packs(bdir, ".pack"), 0);
	TU_OK(bases_put(b, content[1], strlen(content[1]), o[1]));
	TU_OK(bases_flush(b));
	bases_free(b);
	TU_OK(bases_open(&b, bdir));
	expect_blob(b, o[1], content[1], strlen(content[1]));
	expect_no_blob(b, o[0]);
	expect_no_blob(b, o[3]);
	bases_free(b);
	tu_rmrf(dir);
	free(bdir);
	free(dir);
}
END_TEST

static int live_error(void *arg, const uint8_t oid[BASES_OID_LEN])
{
	(void) arg;
	(void) oid;
	return MM_EIO;
}

/* A failing live callback stops gc and drops nothing. */
START_TEST(test_bases_gc_error)
{
	char *dir = tu_mkdtemp(), *bdir = tu_path(dir, "bases");
	struct bases *b;
	uint8_t o[BASES_OID_LEN];
	uint64_t dropped, kept;

	TU_OK(bases_open(&b, bdir));
	TU_OK(bases_put(b, "keep me\n", 8, o));
	TU_OK(bases_flush(b));
	ck_assert_int_lt(bases_gc(b, live_error, NULL, &dropped, &kept), 0);
	expect_blob(b, o, "keep me\n", 8);
	bases_free(b);
	TU_OK(bases_open(&b, bdir));
	expect_blob(b, o, "keep me\n", 8);
	bases_free(b);
	tu_rmrf(dir);
	free(bdir);
	free(dir);
}
END_TEST

/* ----------------------------------------------------------- history base */

struct hfix {
	char *dir, *db;
	struct store *s;
};

static void hfix_new(struct hfix *f)
{
	f->dir = tu_mkdtemp();
	f->db = tu_path(f->dir, "meta.db");
	TU_OK(store_create(f->db, 1));
	TU_OK(store_open(&f->s, f->db));
}

static void hfix_free(struct hfix *f)
{
	store_free(f->s);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->db);
}

static void oid_of(uint8_t oid[BASES_OID_LEN], int n)
{
	memset(oid, 0, 20);
	oid[0] = (uint8_t) n;
	oid[19] = 0xee;
}

/* Adds a history row for `path`: version {pairs} held blob oid_of(n). */
static void hist(struct store *s, const char *path, const uint64_t *pairs, size_t npairs, int n)
{
	struct vv v = VV_INIT;
	uint8_t oid[BASES_OID_LEN];

	tu_vv(&v, pairs, npairs);
	oid_of(oid, n);
	TU_OK(store_begin(s));
	TU_OK(store_history_add(s, path, &v, oid, 0644, 0));
	TU_OK(store_commit(s));
	vv_dispose(&v);
}

static int base_of(struct store *s, const char *path, const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	struct vv va = VV_INIT, vb = VV_INIT;
	uint8_t oid[BASES_OID_LEN];
	int rc;

	tu_vv(&va, a, na);
	tu_vv(&vb, b, nb);
	memset(oid, 0xaa, 20);
	rc = store_history_base(s, path, &va, &vb, oid, NULL);
	vv_dispose(&va);
	vv_dispose(&vb);
	if (rc == MM_ENOTFOUND)
		return -1;
	ck_assert_msg(rc == 0, "store_history_base returned %d: %s", rc, mm_error_msg());
	ck_assert_msg(oid[19] == 0xee, "oid not filled in");
	return oid[0];
}

/* A = 1, B = 2, C = 3, D = 4 */
START_TEST(test_history_base_chain)
{
	/*
	 * A wrote v1 {A1} (seen by B and C), then v2 {A2} (seen by B only);
	 * B edited v2 into v3 {A2,B1}; C edited v1 into v4 {A1,C1}.  The
	 * common ancestor of v3 and v4 is v1, not v2 (v3's previous version).
	 */
	static const uint64_t v1[] = {1, 1}, v2[] = {1, 2}, v3[] = {1, 2, 2, 1}, v4[] = {1, 1, 3, 1};
	/* every insertion order of the three rows B holds */
	static const int orders[6][3] = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3}, {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};

	for (int o = 0; o < 6; o++) {
		struct hfix f;
		hfix_new(&f);
		for (int i = 0; i < 3; i++) {
			int k = orders[o][i];
			if (k == 1)
				hist(f.s, "f.txt", v1, 1, 1);
			else if (k == 2)
				hist(f.s, "f.txt", v2, 1, 2);
			else
				hist(f.s, "f.txt", v3, 2, 3);
		}
		ck_assert_msg(base_of(f.s, "f.txt", v3, 2, v4, 2) == 1, "order %d: base of v3 and v4 is not v1", o);
		ck_assert_msg(base_of(f.s, "f.txt", v4, 2, v3, 2) == 1, "order %d: base of v4 and v3 is not v1", o);
		/* v2 against a later edit of A's: v2 */
		static const uint64_t a3[] = {1, 3};
		ck_assert_int_eq(base_of(f.s, "f.txt", v3, 2, a3, 1), 2);
		hfix_free(&f);
	}
}
END_TEST

START_TEST(test_history_base_latest)
{
	/*
	 * Rows {A1}, {A2}, {A2,B1}, {A3}, {A2,B2}, and rows of other paths and
	 * rows that only one side descends from, in a shuffled order; the two
	 * versions are {A3,B1,C1} and {A2,B2,D1}: the candidates are {A1},
	 * {A2}, {A2,B1} and the latest is {A2,B1}.
	 */
	static const uint64_t r1[] = {1, 1}, r2[] = {1, 2}, r3[] = {1, 2, 2, 1}, r4[] = {1, 3}, r5[] = {1, 2, 2, 2},
	                      r6[] = {1, 2, 2, 1, 3, 1}, a[] = {1, 3, 2, 1, 3, 1}, b[] = {1, 2, 2, 2, 4, 1},
	                      other[] = {1, 2, 2, 1, 3, 1};
	struct hfix f;

	hfix_new(&f);
	hist(f.s, "f.txt", r4, 1, 4); /* only a descends from it */
	hist(f.s, "f.txt", r2, 1, 2);
	hist(f.s, "g.txt", other, 3, 9); /* another path */
	hist(f.s, "f.txt", r6, 3, 6);    /* only a */
	hist(f.s, "f.txt", r3, 2, 3);    /* the answer */
	hist(f.s, "f.txt", r1, 1, 1);
	hist(f.s, "f.txt", r5, 2, 5);   /* only b */
	hist(f.s, "f.txt/x", r3, 2, 8); /* a path beneath it */
	ck_assert_int_eq(base_of(f.s, "f.txt", a, 3, b, 3), 3);
	ck_assert_int_eq(base_of(f.s, "f.txt", b, 3, a, 3), 3);
	/* a version against its own ancestor's line: the newest row both cover */
	ck_assert_int_eq(base_of(f.s, "f.txt", r6, 3, r5, 2), 3);
	/* equal versions: that version */
	ck_assert_int_eq(base_of(f.s, "f.txt", r3, 2, r3, 2), 3);
	ck_assert_int_eq(base_of(f.s, "g.txt", a, 3, other, 3), 9);
	ck_assert_int_eq(base_of(f.s, "g.txt", a, 3, b, 3), -1);
	hfix_free(&f);
}
END_TEST

START_TEST(test_history_base_none)
{
	static const uint64_t r1[] = {1, 2}, a[] = {1, 1, 2, 1}, b[] = {1, 1, 3, 1}, c[] = {2, 1}, d[] = {3, 1};
	struct hfix f;

	hfix_new(&f);
	/* no rows at all */
	ck_assert_int_eq(base_of(f.s, "f.txt", a, 2, b, 2), -1);
	/* a row neither side descends from */
	hist(f.s, "f.txt", r1, 1, 1);
	ck_assert_int_eq(base_of(f.s, "f.txt", a, 2, b, 2), -1);
	/* rows for other paths only */
	hist(f.s, "g.txt", a, 1, 2);
	ck_assert_int_eq(base_of(f.s, "f.txt", a, 2, b, 2), -1);
	/* two versions made independently (no common history) */
	hist(f.s, "h.txt", c, 1, 3);
	hist(f.s, "h.txt", d, 1, 4);
	ck_assert_int_eq(base_of(f.s, "h.txt", c, 1, d, 1), -1);
	/* survives a reopen */
	store_free(f.s);
	TU_OK(store_open(&f.s, f.db));
	ck_assert_int_eq(base_of(f.s, "h.txt", c, 1, c, 1), 3);
	ck_assert_int_eq(base_of(f.s, "f.txt", a, 2, b, 2), -1);
	hfix_free(&f);
}
END_TEST

Suite *merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc;

	tc = tcase_create("merge_run");
	tcase_add_test(tc, test_merge_disjoint);
	tcase_add_test(tc, test_merge_overlap);
	tcase_add_test(tc, test_merge_crlf);
	tcase_add_test(tc, test_merge_empty);
	tcase_add_test(tc, test_merge_empty_result);
	tcase_add_test(tc, test_merge_no_final_newline);
	tcase_add_test(tc, test_merge_identical_edits);
	tcase_add_test(tc, test_merge_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, test_text_ascii);
	tcase_add_test(tc, test_text_utf8);
	tcase_add_test(tc, test_text_nul);
	tcase_add_test(tc, test_text_invalid_utf8);
	tcase_add_test(tc, test_text_empty);
	tcase_add_test(tc, test_text_empty_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("settings");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_allowed_defaults);
	tcase_add_test(tc, test_allowed_size);
	tcase_add_test(tc, test_allowed_exclude);
	tcase_add_test(tc, test_allowed_exclude_set);
	tcase_add_test(tc, test_policy_default);
	tcase_add_test(tc, test_policy_bad);
	tcase_add_test(tc, test_policy_patterns);
	tcase_add_test(tc, test_policy_last_wins);
	tcase_add_test(tc, test_policy_dir_glob);
	suite_add_tcase(s, tc);

	tc = tcase_create("bases");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_bases_roundtrip);
	tcase_add_test(tc, test_bases_dedup);
	tcase_add_test(tc, test_bases_missing);
	tcase_add_test(tc, test_bases_empty_blob);
	tcase_add_test(tc, test_bases_gc);
	tcase_add_test(tc, test_bases_gc_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("history");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_history_base_chain);
	tcase_add_test(tc, test_history_base_latest);
	tcase_add_test(tc, test_history_base_none);
	suite_add_tcase(s, tc);

	return s;
}
