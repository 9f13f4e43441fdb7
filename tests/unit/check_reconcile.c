/*
 * Unit tests for sync/reconcile: every branch of reconcile() on hand-built
 * versions, the winner rule, reconcile_same() per kind, the conflict kinds,
 * and on seeded random pairs the property that matters across replicas:
 * whichever side a version arrives on, the same version ends up at the path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "sync/reconcile.h"
#include "testutil.h"

#define RA 0xa1u /* replica ids */
#define RB 0xb2u
#define RC 0xc3u

static const char *const action_names[] = {"IGNORE", "RECORD", "MERGE_VV", "KEEP_OURS", "UPDATE", "CONFLICT"};

/*
 * A version of "p": `kind`, `mode`, content `h` (the hash, every byte h, for
 * a file), `target` (a link), `mtime`, `writer`, and the vector `pairs`.
 */
static void mk(struct entry *e, int kind, uint32_t mode, uint8_t h, const char *target, int64_t mtime, uint64_t writer,
               const uint64_t *pairs, size_t np)
{
	entry_init(e);
	ck_assert_int_eq(entry_set_path(e, "p", 1), 0);
	e->kind = kind;
	e->mode = mode;
	e->mtime_ns = mtime;
	e->writer = writer;
	if (kind == ENTRY_FILE) {
		e->has_hash = 1;
		memset(e->hash, h, MM_HASH_LEN);
		e->size = h;
	}
	if (kind == ENTRY_LINK) {
		ck_assert_ptr_nonnull(target);
		ck_assert_int_eq(entry_set_target(e, target, strlen(target)), 0);
		e->size = strlen(target);
	}
	tu_vv(&e->vv, pairs, np);
}

#define ASSERT_ACTION(ours, theirs, want)                                                                              \
	do {                                                                                                           \
		enum rec_action got_ = reconcile(ours, theirs);                                                        \
		ck_assert_msg(got_ == (want), "reconcile(%s, %s): %s, expected %s", #ours, #theirs,                    \
		              action_names[got_], action_names[want]);                                                 \
	} while (0)

/* Vectors: base < mine (A moved on), base < peer (B moved on), mine || peer. */
static const uint64_t V_BASE[] = {RA, 1, RB, 1};
static const uint64_t V_MINE[] = {RA, 2, RB, 1};
static const uint64_t V_PEER[] = {RA, 1, RB, 2};
static const uint64_t V_BOTH[] = {RA, 2, RB, 2};

START_TEST(test_no_local_row)
{
	struct entry t;

	mk(&t, ENTRY_DELETED, 0, 0, NULL, 5, RB, V_PEER, 2);
	ASSERT_ACTION(NULL, &t, REC_RECORD);
	entry_dispose(&t);
	mk(&t, ENTRY_FILE, 0644, 1, NULL, 5, RB, V_PEER, 2);
	ASSERT_ACTION(NULL, &t, REC_UPDATE);
	entry_dispose(&t);
	mk(&t, ENTRY_DIR, 0755, 0, NULL, 5, RB, V_PEER, 2);
	ASSERT_ACTION(NULL, &t, REC_UPDATE);
	entry_dispose(&t);
	mk(&t, ENTRY_LINK, 0777, 0, "x", 5, RB, V_PEER, 2);
	ASSERT_ACTION(NULL, &t, REC_UPDATE);
	entry_dispose(&t);
}
END_TEST

/* Theirs is the same version or older: nothing, whatever the two hold. */
START_TEST(test_equal_or_dominated)
{
	struct entry o, t;

	for (int ko = 0; ko < 4; ko++)
		for (int kt = 0; kt < 4; kt++) {
			mk(&o, ko, 0644, 1, "a", 5, RA, V_MINE, 2);
			mk(&t, kt, 0600, 2, "b", 9, RB, V_MINE, 2);
			ck_assert_msg(reconcile(&o, &t) == REC_IGNORE, "equal vectors, kinds %d/%d: %s", ko, kt,
			              action_names[reconcile(&o, &t)]);
			entry_dispose(&t);
			mk(&t, kt, 0600, 2, "b", 9, RB, V_BASE, 2);
			ck_assert_msg(reconcile(&o, &t) == REC_IGNORE, "dominated, kinds %d/%d: %s", ko, kt,
			              action_names[reconcile(&o, &t)]);
			entry_dispose(&t);
			/* a vector that is a strict subset of ours */
			{
				static const uint64_t sub[] = {RA, 2};
				mk(&t, kt, 0600, 2, "b", 9, RB, sub, 1);
				ck_assert_msg(reconcile(&o, &t) == REC_IGNORE, "subset, kinds %d/%d", ko, kt);
				entry_dispose(&t);
			}
			entry_dispose(&o);
		}
}
END_TEST

START_TEST(test_dominates)
{
	struct entry o, t;

	/* the same thing in a newer version: only the vector moves */
	mk(&o, ENTRY_FILE, 0644, 7, NULL, 5, RA, V_BASE, 2);
	mk(&t, ENTRY_FILE, 0644, 7, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	entry_dispose(&t);
	/* another mode, other content, no hash */
	mk(&t, ENTRY_FILE, 0600, 7, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	mk(&t, ENTRY_FILE, 0644, 8, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	/* a new version of a path that we have deleted, and the deletion of ours */
	mk(&t, ENTRY_DELETED, 0, 0, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	mk(&t, ENTRY_DIR, 0755, 0, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&o);
	mk(&o, ENTRY_DIR, 0755, 0, NULL, 5, RA, V_BASE, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	entry_dispose(&t);
	mk(&t, ENTRY_DIR, 0700, 0, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	entry_dispose(&o);
	mk(&o, ENTRY_LINK, 0777, 0, "to/a", 5, RA, V_BASE, 2);
	mk(&t, ENTRY_LINK, 0755, 0, "to/a", 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	entry_dispose(&t);
	mk(&t, ENTRY_LINK, 0777, 0, "to/b", 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	entry_dispose(&o);
	mk(&o, ENTRY_DELETED, 0, 0, NULL, 5, RA, V_BASE, 2);
	mk(&t, ENTRY_FILE, 0644, 1, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	/* both tombstones: their row is recorded, nothing changes on disk */
	mk(&t, ENTRY_DELETED, 0, 0, NULL, 99, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_RECORD);
	entry_dispose(&t);
	entry_dispose(&o);
	/* the vector that merged both histories dominates each */
	mk(&o, ENTRY_DELETED, 0, 0, NULL, 5, RA, V_PEER, 2);
	mk(&t, ENTRY_FILE, 0644, 2, NULL, 1, RA, V_BOTH, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	ASSERT_ACTION(&t, &o, REC_IGNORE);
	entry_dispose(&t);
	entry_dispose(&o);
	/* an empty vector of ours is dominated by any */
	mk(&o, ENTRY_FILE, 0644, 1, NULL, 5, RA, NULL, 0);
	mk(&t, ENTRY_FILE, 0644, 2, NULL, 1, RB, V_BASE, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	entry_dispose(&t);
	entry_dispose(&o);
}
END_TEST

START_TEST(test_concurrent_deletions)
{
	struct entry o, t;
	static const int live[] = {ENTRY_FILE, ENTRY_DIR, ENTRY_LINK};

	mk(&o, ENTRY_DELETED, 0, 0, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_DELETED, 0, 0, NULL, 6, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	for (int i = 0; i < 3; i++) {
		struct entry edit;
		/* their deletion against our edit: the edit stays; our deletion against their edit: theirs */
		mk(&edit, live[i], 0644, 3, "l", 1, RA, V_MINE, 2);
		ck_assert_msg(reconcile(&edit, &t) == REC_KEEP_OURS, "their deletion vs our kind %d: %s", live[i],
		              action_names[reconcile(&edit, &t)]);
		entry_dispose(&edit);
		mk(&edit, live[i], 0644, 3, "l", 1, RB, V_PEER, 2);
		ck_assert_msg(reconcile(&o, &edit) == REC_UPDATE, "our deletion vs their kind %d: %s", live[i],
		              action_names[reconcile(&o, &edit)]);
		entry_dispose(&edit);
	}
	entry_dispose(&t);
	entry_dispose(&o);
}
END_TEST

START_TEST(test_concurrent_same)
{
	struct entry o, t;

	/* same content and mode, whatever else differs */
	mk(&o, ENTRY_FILE, 0644, 4, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_FILE, 0644, 4, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	ASSERT_ACTION(&t, &o, REC_MERGE_VV);
	entry_dispose(&t);
	entry_dispose(&o);
	mk(&o, ENTRY_DIR, 0755, 0, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_DIR, 0755, 0, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	entry_dispose(&t);
	entry_dispose(&o);
	mk(&o, ENTRY_LINK, 0777, 0, "same", 5, RA, V_MINE, 2);
	mk(&t, ENTRY_LINK, 0777, 0, "same", 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	entry_dispose(&t);
	entry_dispose(&o);
}
END_TEST

/* Differences in the permission bits only: the winner's version, and no copy. */
START_TEST(test_concurrent_mode_only)
{
	struct entry o, t;

	/* directories: theirs later -> UPDATE, ours later -> MERGE_VV */
	mk(&o, ENTRY_DIR, 0755, 0, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_DIR, 0700, 0, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	ASSERT_ACTION(&t, &o, REC_MERGE_VV);
	entry_dispose(&t);
	mk(&t, ENTRY_DIR, 0700, 0, NULL, 1, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	ASSERT_ACTION(&t, &o, REC_UPDATE);
	entry_dispose(&t);
	/* same mtime: the larger writer id */
	mk(&t, ENTRY_DIR, 0700, 0, NULL, 5, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE); /* RB > RA */
	ASSERT_ACTION(&t, &o, REC_MERGE_VV);
	entry_dispose(&t);
	entry_dispose(&o);

	/* files with the same content */
	mk(&o, ENTRY_FILE, 0644, 6, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_FILE, 0755, 6, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_UPDATE);
	ASSERT_ACTION(&t, &o, REC_MERGE_VV);
	entry_dispose(&t);
	mk(&t, ENTRY_FILE, 0755, 6, NULL, 1, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_MERGE_VV);
	ASSERT_ACTION(&t, &o, REC_UPDATE);
	entry_dispose(&t);
	entry_dispose(&o);
}
END_TEST

START_TEST(test_concurrent_conflicts)
{
	struct entry o, t;

	/* different content, whatever the modes */
	mk(&o, ENTRY_FILE, 0644, 1, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_FILE, 0644, 2, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	ASSERT_ACTION(&t, &o, REC_CONFLICT);
	entry_dispose(&t);
	mk(&t, ENTRY_FILE, 0600, 2, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	entry_dispose(&t);
	/* file against directory, file against link, directory against link */
	mk(&t, ENTRY_DIR, 0644, 0, NULL, 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	ASSERT_ACTION(&t, &o, REC_CONFLICT);
	entry_dispose(&t);
	mk(&t, ENTRY_LINK, 0644, 0, "f", 9, RB, V_PEER, 2);
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	ASSERT_ACTION(&t, &o, REC_CONFLICT);
	entry_dispose(&o);
	mk(&o, ENTRY_DIR, 0755, 0, NULL, 5, RA, V_MINE, 2);
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	ASSERT_ACTION(&t, &o, REC_CONFLICT);
	entry_dispose(&o);
	/* links with other targets */
	mk(&o, ENTRY_LINK, 0644, 0, "g", 5, RA, V_MINE, 2);
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	ASSERT_ACTION(&t, &o, REC_CONFLICT);
	entry_dispose(&o);
	entry_dispose(&t);
	/* files without a hash cannot be shown to be the same */
	mk(&o, ENTRY_FILE, 0644, 1, NULL, 5, RA, V_MINE, 2);
	mk(&t, ENTRY_FILE, 0644, 1, NULL, 9, RB, V_PEER, 2);
	t.has_hash = 0;
	ASSERT_ACTION(&o, &t, REC_CONFLICT);
	entry_dispose(&t);
	entry_dispose(&o);
}
END_TEST

START_TEST(test_winner)
{
	static const int nondir[] = {ENTRY_FILE, ENTRY_LINK, ENTRY_DELETED};
	struct entry o, t;

	/* a directory stays, even older and written by the smaller id */
	for (int i = 0; i < 3; i++) {
		mk(&o, ENTRY_DIR, 0755, 0, NULL, 1, RA, V_MINE, 2);
		mk(&t, nondir[i], 0644, 1, "x", 1000, RB, V_PEER, 2);
		ck_assert_int_eq(reconcile_winner(&o, &t), REC_OURS);
		ck_assert_int_eq(reconcile_winner(&t, &o), REC_THEIRS);
		entry_dispose(&t);
		entry_dispose(&o);
	}
	/* the later modification time, by one nanosecond, before the writer; negative times too */
	mk(&o, ENTRY_FILE, 0644, 1, NULL, 1000, RA, V_MINE, 2);
	mk(&t, ENTRY_FILE, 0644, 2, NULL, 1001, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_THEIRS);
	ck_assert_int_eq(reconcile_winner(&t, &o), REC_OURS);
	t.mtime_ns = 999;
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_OURS);
	ck_assert_int_eq(reconcile_winner(&t, &o), REC_THEIRS);
	o.mtime_ns = -5;
	t.mtime_ns = -4;
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_THEIRS);
	o.mtime_ns = INT64_MIN;
	t.mtime_ns = INT64_MAX;
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_THEIRS);
	ck_assert_int_eq(reconcile_winner(&t, &o), REC_OURS);
	/* a tie: the larger writer id, whichever side it is on */
	o.mtime_ns = t.mtime_ns = 77;
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_THEIRS);
	ck_assert_int_eq(reconcile_winner(&t, &o), REC_OURS);
	o.writer = UINT64_MAX;
	t.writer = 1;
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_OURS);
	ck_assert_int_eq(reconcile_winner(&t, &o), REC_THEIRS);
	entry_dispose(&t);
	entry_dispose(&o);
	/* two directories: by time and writer like the rest */
	mk(&o, ENTRY_DIR, 0755, 0, NULL, 10, RB, V_MINE, 2);
	mk(&t, ENTRY_DIR, 0700, 0, NULL, 11, RA, V_PEER, 2);
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_THEIRS);
	t.mtime_ns = 10;
	ck_assert_int_eq(reconcile_winner(&o, &t), REC_OURS);
	entry_dispose(&t);
	entry_dispose(&o);
}
END_TEST

/*
 * Two concurrent versions written by the same replica with the same
 * modification time but different content (reachable: replica A edits a
 * file whose earlier version, merged with a peer's vector, still carries
 * A as writer elsewhere; a restored or `touch -d` mtime).  The rule has no
 * tie-break left, and each replica must still pick the same version.
 */
START_TEST(test_winner_full_tie)
{
	struct entry x, y;
	static const uint64_t vx[] = {RA, 1, RB, 1};
	static const uint64_t vy[] = {RA, 2};

	mk(&x, ENTRY_FILE, 0644, 1, NULL, 500, RA, vx, 2);
	mk(&y, ENTRY_FILE, 0644, 2, NULL, 500, RA, vy, 1);
	ck_assert_int_eq(vv_compare(&x.vv, &y.vv), VV_CONCURRENT);
	ck_assert_int_eq(reconcile(&x, &y), REC_CONFLICT);
	ck_assert_msg(reconcile_winner(&x, &y) != reconcile_winner(&y, &x),
	              "reconcile_winner: X (content 1, vv {A:1,B:1}) and Y (content 2, vv {A:2}), both mtime 500 and "
	              "writer A: %s when X is ours, %s when Y is ours: X stays on one replica and Y on the other",
	              reconcile_winner(&x, &y) == REC_OURS ? "ours" : "theirs",
	              reconcile_winner(&y, &x) == REC_OURS ? "ours" : "theirs");
	entry_dispose(&y);
	entry_dispose(&x);
}
END_TEST

START_TEST(test_same)
{
	struct entry a, b;

	/* files: kind, hash and mode; not time, writer, size or vector */
	mk(&a, ENTRY_FILE, 0644, 1, NULL, 1, RA, V_MINE, 2);
	mk(&b, ENTRY_FILE, 0644, 1, NULL, 2, RB, V_PEER, 2);
	b.size = 999;
	ck_assert_int_eq(reconcile_same(&a, &b), 1);
	b.mode = 0600;
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	b.mode = 0644;
	b.hash[MM_HASH_LEN - 1] ^= 1;
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	b.hash[MM_HASH_LEN - 1] ^= 1;
	b.has_hash = 0;
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	ck_assert_int_eq(reconcile_same(&b, &a), 0);
	a.has_hash = 0;
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	entry_dispose(&b);
	entry_dispose(&a);
	/* directories: the mode */
	mk(&a, ENTRY_DIR, 0755, 0, NULL, 1, RA, V_MINE, 2);
	mk(&b, ENTRY_DIR, 0755, 0, NULL, 2, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_same(&a, &b), 1);
	b.mode = 0750;
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	entry_dispose(&b);
	/* other kinds are never the same as a directory */
	mk(&b, ENTRY_FILE, 0755, 0, NULL, 2, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	ck_assert_int_eq(reconcile_same(&b, &a), 0);
	entry_dispose(&b);
	mk(&b, ENTRY_DELETED, 0755, 0, NULL, 2, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	ck_assert_int_eq(reconcile_same(&b, &a), 0);
	entry_dispose(&b);
	entry_dispose(&a);
	/* links: the target, whatever the mode */
	mk(&a, ENTRY_LINK, 0777, 0, "t/u", 1, RA, V_MINE, 2);
	mk(&b, ENTRY_LINK, 0755, 0, "t/u", 2, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_same(&a, &b), 1);
	ck_assert_int_eq(entry_set_target(&b, "t/v", 3), 0);
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	ck_assert_int_eq(entry_set_target(&b, "t/u/", 4), 0);
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	ck_assert_int_eq(entry_set_target(&b, NULL, 0), 0);
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	ck_assert_int_eq(reconcile_same(&b, &a), 0);
	entry_dispose(&b);
	mk(&b, ENTRY_FILE, 0777, 0, NULL, 2, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_same(&a, &b), 0);
	entry_dispose(&b);
	entry_dispose(&a);
	/* two tombstones are the same deletion */
	mk(&a, ENTRY_DELETED, 0, 0, NULL, 1, RA, V_MINE, 2);
	mk(&b, ENTRY_DELETED, 0644, 0, NULL, 2, RB, V_PEER, 2);
	ck_assert_int_eq(reconcile_same(&a, &b), 1);
	entry_dispose(&b);
	entry_dispose(&a);
}
END_TEST

START_TEST(test_conflict_kind)
{
	struct entry f, g, d, l, m;

	mk(&f, ENTRY_FILE, 0644, 1, NULL, 1, RA, V_MINE, 2);
	mk(&g, ENTRY_FILE, 0644, 2, NULL, 2, RB, V_PEER, 2);
	mk(&d, ENTRY_DIR, 0755, 0, NULL, 2, RB, V_PEER, 2);
	mk(&l, ENTRY_LINK, 0777, 0, "a", 2, RB, V_PEER, 2);
	mk(&m, ENTRY_LINK, 0777, 0, "b", 2, RA, V_MINE, 2);
	ck_assert_str_eq(reconcile_conflict_kind(&f, &g), "content");
	ck_assert_str_eq(reconcile_conflict_kind(&f, &d), "type");
	ck_assert_str_eq(reconcile_conflict_kind(&d, &f), "type");
	ck_assert_str_eq(reconcile_conflict_kind(&f, &l), "type");
	ck_assert_str_eq(reconcile_conflict_kind(&l, &f), "type");
	ck_assert_str_eq(reconcile_conflict_kind(&d, &l), "type");
	ck_assert_str_eq(reconcile_conflict_kind(&l, &d), "type");
	entry_dispose(&f);
	entry_dispose(&g);
	entry_dispose(&d);
	entry_dispose(&l);
	entry_dispose(&m);
}
END_TEST

/* reconcile.h: the kind is "content", "binary" or "type", for every pair that reconcile() calls a conflict. */
START_TEST(test_conflict_kind_documented)
{
	static const int kinds[] = {ENTRY_FILE, ENTRY_DIR, ENTRY_LINK};
	struct entry o, t;

	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			const char *k;
			mk(&o, kinds[i], 0644, 1, "one", 1, RA, V_MINE, 2);
			mk(&t, kinds[j], 0644, 2, "two", 2, RB, V_PEER, 2);
			if (reconcile(&o, &t) == REC_CONFLICT) {
				k = reconcile_conflict_kind(&o, &t);
				ck_assert_msg(!strcmp(k, "content") || !strcmp(k, "binary") || !strcmp(k, "type"),
				              "reconcile_conflict_kind(kind %d, kind %d) = \"%s\": not one of "
				              "\"content\", \"binary\", \"type\" (reconcile.h)",
				              kinds[i], kinds[j], k);
			}
			entry_dispose(&t);
			entry_dispose(&o);
		}
}
END_TEST

/* ---------------------------------------------------------------- random pairs */

/* A random version from a small space, so that equal fields are common. */
static void random_version(struct entry *e, struct rng *r, const uint64_t *pairs, size_t np)
{
	static const uint32_t modes[] = {0644, 0600, 0755};
	static const char *const targets[] = {"a", "b"};
	static const uint64_t writers[] = {RA, RB, RC};
	int kind = (int) rng_below(r, 4);

	mk(e, kind, kind == ENTRY_DELETED ? 0 : modes[rng_below(r, 3)], (uint8_t) (1 + rng_below(r, 2)),
	   targets[rng_below(r, 2)], (int64_t) rng_below(r, 3) - 1, writers[rng_below(r, 3)], pairs, np);
}

/* Which of the two versions is at the path after `ours` met `theirs`. */
static const struct entry *outcome(const struct entry *ours, const struct entry *theirs, enum rec_action *act)
{
	*act = reconcile(ours, theirs);
	switch (*act) {
	case REC_IGNORE:
	case REC_MERGE_VV:
	case REC_KEEP_OURS: return ours;
	case REC_RECORD:
	case REC_UPDATE: return theirs;
	default: return reconcile_winner(ours, theirs) == REC_OURS ? ours : theirs;
	}
}

/*
 * For random X and Y: when X is ours and Y theirs, and when Y is ours and X
 * theirs, the same version stays at the path (or two with the same
 * content).  Pairs whose mtime and writer both tie are left to
 * test_winner_full_tie.
 */
START_TEST(test_random_symmetry)
{
	struct rng r = {0x5e77};
	long concurrent = 0, conflicts = 0, chosen = 0;

	for (long it = 0; it < 20000; it++) {
		struct entry x, y;
		uint64_t vx[6], vy[6];
		uint64_t a = 1 + rng_below(&r, 3), b = 1 + rng_below(&r, 3), c = 1 + rng_below(&r, 3);
		uint64_t a2 = 1 + rng_below(&r, 3), b2 = 1 + rng_below(&r, 3), c2 = 1 + rng_below(&r, 3);
		enum rec_action axy, ayx;
		const struct entry *oxy, *oyx;
		int order;

		vx[0] = RA, vx[1] = a, vx[2] = RB, vx[3] = b, vx[4] = RC, vx[5] = c;
		vy[0] = RA, vy[1] = a2, vy[2] = RB, vy[3] = b2, vy[4] = RC, vy[5] = c2;
		random_version(&x, &r, vx, 3);
		random_version(&y, &r, vy, 3);
		order = vv_compare(&x.vv, &y.vv);
		if (x.mtime_ns == y.mtime_ns && x.writer == y.writer &&
		    (x.kind == ENTRY_DIR) == (y.kind == ENTRY_DIR)) {
			entry_dispose(&x);
			entry_dispose(&y);
			continue;
		}
		oxy = outcome(&x, &y, &axy);
		oyx = outcome(&y, &x, &ayx);
		switch (order) {
		case VV_EQUAL:
			/* the same version: at most a touch, taken one way only (the later-set mtime) */
			TU_REQUIRE((axy == REC_IGNORE || axy == REC_TOUCH) && (ayx == REC_IGNORE || ayx == REC_TOUCH),
			           it);
			TU_REQUIRE(!(axy == REC_TOUCH && ayx == REC_TOUCH), it);
			TU_REQUIRE((axy == REC_TOUCH || ayx == REC_TOUCH) ==
			                   (x.kind == ENTRY_FILE && reconcile_same(&x, &y) && x.mtime_ns != y.mtime_ns),
			           it);
			break;
		case VV_DOMINATES: /* x descends from y: x wins both ways */
			TU_REQUIRE(ayx != REC_IGNORE && ayx != REC_CONFLICT && ayx != REC_KEEP_OURS, it);
			TU_REQUIRE(axy == REC_IGNORE, it);
			TU_REQUIRE(oxy == &x, it);
			TU_REQUIRE(oyx == &x || reconcile_same(oyx, &x), it);
			break;
		case VV_DOMINATED:
			TU_REQUIRE(axy != REC_IGNORE && axy != REC_CONFLICT && axy != REC_KEEP_OURS, it);
			TU_REQUIRE(ayx == REC_IGNORE, it);
			TU_REQUIRE(oyx == &y, it);
			TU_REQUIRE(oxy == &y || reconcile_same(oxy, &y), it);
			break;
		default:
			concurrent++;
			TU_REQUIRE(axy != REC_IGNORE && axy != REC_RECORD, it);
			TU_REQUIRE(ayx != REC_IGNORE && ayx != REC_RECORD, it);
			TU_REQUIRE((axy == REC_CONFLICT) == (ayx == REC_CONFLICT), it);
			conflicts += axy == REC_CONFLICT;
			chosen += oxy != oyx ? 0 : 1;
			ck_assert_msg(oxy == oyx || reconcile_same(oxy, oyx),
			              "pair %ld: X (kind %d mode %o mtime %lld writer %llx) ours: %s keeps %s; Y ours: "
			              "%s keeps %s",
			              it, x.kind, x.mode, (long long) x.mtime_ns, (unsigned long long) x.writer,
			              action_names[axy], oxy == &x ? "X" : "Y", action_names[ayx],
			              oyx == &x ? "X" : "Y");
			break;
		}
		if (axy == REC_CONFLICT)
			TU_REQUIRE(reconcile_winner(&x, &y) != reconcile_winner(&y, &x), it);
		entry_dispose(&x);
		entry_dispose(&y);
	}
	/* the interesting cases did come up */
	ck_assert_int_gt(concurrent, 1000);
	ck_assert_int_gt(conflicts, 100);
	ck_assert_int_gt(chosen, 100);
}
END_TEST

/* reconcile_winner alone on random pairs: antisymmetric unless both mtime and writer tie. */
START_TEST(test_random_winner)
{
	struct rng r = {0x3141};

	for (long it = 0; it < 20000; it++) {
		struct entry x, y;
		random_version(&x, &r, NULL, 0);
		random_version(&y, &r, NULL, 0);
		if (!(x.mtime_ns == y.mtime_ns && x.writer == y.writer &&
		      (x.kind == ENTRY_DIR) == (y.kind == ENTRY_DIR)))
			TU_REQUIRE(reconcile_winner(&x, &y) != reconcile_winner(&y, &x), it);
		if (x.kind == ENTRY_DIR && y.kind != ENTRY_DIR)
			TU_REQUIRE(reconcile_winner(&x, &y) == REC_OURS, it);
		entry_dispose(&x);
		entry_dispose(&y);
	}
}
END_TEST

Suite *reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc;

	tc = tcase_create("decisions");
	tcase_add_test(tc, test_no_local_row);
	tcase_add_test(tc, test_equal_or_dominated);
	tcase_add_test(tc, test_dominates);
	tcase_add_test(tc, test_concurrent_deletions);
	tcase_add_test(tc, test_concurrent_same);
	tcase_add_test(tc, test_concurrent_mode_only);
	tcase_add_test(tc, test_concurrent_conflicts);
	tcase_add_test(tc, test_winner);
	tcase_add_test(tc, test_winner_full_tie);
	tcase_add_test(tc, test_same);
	tcase_add_test(tc, test_conflict_kind);
	tcase_add_test(tc, test_conflict_kind_documented);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_symmetry);
	tcase_add_test(tc, test_random_winner);
	suite_add_tcase(s, tc);
	return s;
}
