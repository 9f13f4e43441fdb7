/* Per-path decisions: see reconcile.h. */
#include "reconcile.h"

#include <stdio.h>
#include <string.h>

int reconcile_same(const struct entry *a, const struct entry *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case ENTRY_FILE:
		return a->mode == b->mode && a->has_hash && b->has_hash && !memcmp(a->hash, b->hash, MM_HASH_LEN);
	case ENTRY_LINK: return a->target && b->target && !strcmp(a->target, b->target);
	case ENTRY_DIR: return a->mode == b->mode;
	default: return 1; /* two deletions */
	}
}

int reconcile_newer_mtime(const struct entry *ours, const struct entry *theirs)
{
	if (ours->mtime_ns == theirs->mtime_ns)
		return 0;
	if (ours->mstamp_ns != theirs->mstamp_ns)
		return theirs->mstamp_ns > ours->mstamp_ns;
	return theirs->mtime_ns > ours->mtime_ns; /* set at the same instant: one answer everywhere */
}

enum rec_action reconcile(const struct entry *ours, const struct entry *theirs)
{
	if (!ours)
		return theirs->kind == ENTRY_DELETED ? REC_RECORD : REC_UPDATE;
	switch (vv_compare(&theirs->vv, &ours->vv)) {
	case VV_EQUAL:
		/* a touch: modification times are settled by when they were set, the later wins */
		if (ours->kind == ENTRY_FILE && reconcile_same(ours, theirs) && reconcile_newer_mtime(ours, theirs))
			return REC_TOUCH;
		return REC_IGNORE;
	case VV_DOMINATED: return REC_IGNORE;
	case VV_DOMINATES:
		if (theirs->kind == ENTRY_DELETED && ours->kind == ENTRY_DELETED)
			return REC_RECORD;
		if (reconcile_same(ours, theirs))
			return REC_MERGE_VV; /* same thing, newer version: only the vector moves */
		return REC_UPDATE;
	case VV_CONCURRENT:
	default: break;
	}
	if (theirs->kind == ENTRY_DELETED)
		return ours->kind == ENTRY_DELETED ? REC_MERGE_VV : REC_KEEP_OURS;
	if (ours->kind == ENTRY_DELETED)
		return REC_UPDATE; /* their edit wins over our deletion */
	if (reconcile_same(ours, theirs))
		return REC_MERGE_VV;
	/* Two directories differ only in their permission bits: no copy to keep. */
	if (ours->kind == ENTRY_DIR && theirs->kind == ENTRY_DIR)
		return reconcile_winner(ours, theirs) == REC_THEIRS ? REC_UPDATE : REC_MERGE_VV;
	/* The same content with other permission bits: the winner's bits, no copy. */
	if (ours->kind == ENTRY_FILE && theirs->kind == ENTRY_FILE && ours->has_hash && theirs->has_hash &&
	    !memcmp(ours->hash, theirs->hash, MM_HASH_LEN))
		return reconcile_winner(ours, theirs) == REC_THEIRS ? REC_UPDATE : REC_MERGE_VV;
	return REC_CONFLICT;
}

enum rec_winner reconcile_winner(const struct entry *ours, const struct entry *theirs)
{
	if (ours->kind == ENTRY_DIR && theirs->kind != ENTRY_DIR)
		return REC_OURS;
	if (theirs->kind == ENTRY_DIR && ours->kind != ENTRY_DIR)
		return REC_THEIRS;
	if (ours->mtime_ns != theirs->mtime_ns)
		return ours->mtime_ns > theirs->mtime_ns ? REC_OURS : REC_THEIRS;
	if (ours->writer != theirs->writer)
		return ours->writer > theirs->writer ? REC_OURS : REC_THEIRS;
	/* the same writer at the same instant (a merge, a restored mtime): still one answer everywhere */
	if (ours->kind != theirs->kind)
		return ours->kind > theirs->kind ? REC_OURS : REC_THEIRS;
	if (ours->kind == ENTRY_LINK && ours->target && theirs->target)
		return strcmp(ours->target, theirs->target) >= 0 ? REC_OURS : REC_THEIRS;
	if (ours->mode != theirs->mode)
		return ours->mode > theirs->mode ? REC_OURS : REC_THEIRS;
	return memcmp(ours->hash, theirs->hash, MM_HASH_LEN) >= 0 ? REC_OURS : REC_THEIRS;
}

const char *reconcile_conflict_kind(const struct entry *ours, const struct entry *theirs)
{
	if (ours->kind != theirs->kind)
		return "type";
	return "content";
}

static int digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

int reconcile_copy_of(const char *path, char *out, size_t size, char name[REPLICA_NAME_MAX + 1])
{
	static const char tag[] = ".conflict-";
	const char *base = strrchr(path, '/'), *p, *found = NULL;

	base = base ? base + 1 : path;
	/* the last well-formed tag: a copy of a copy names the copy it was made from */
	for (p = base; (p = strstr(p, tag)) != NULL; p++) {
		const char *q = p + sizeof(tag) - 1;
		if (digits(q, 8) && q[8] == '-' && digits(q + 9, 6) && q[15] == '-')
			found = p;
	}
	if (!found || found == base)
		return 0;
	{
		const char *n = found + sizeof(tag) - 1 + 16, *e = n;
		size_t nlen;
		while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') || *e == '-' ||
		       *e == '_')
			e++;
		nlen = (size_t) (e - n);
		if (nlen == 0 || nlen > 64 || (*e != '\0' && *e != '.'))
			return 0;
		memcpy(name, n, nlen);
		name[nlen] = '\0';
		int w = snprintf(out, size, "%.*s%s", (int) (found - path), path, e);
		return w > 0 && (size_t) w < size;
	}
}
