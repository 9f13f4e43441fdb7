/* Merge bases in a libgit2 object database: see bases.h. */
#include "bases.h"

#include <dirent.h>
#include <errno.h>
#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/repository.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

struct bases {
	git_odb *odb;
	git_odb_backend *mem; /* owned by odb */
	git_repository *repo; /* wraps odb: mempack and packbuilder need one */
	char *dir, *packdir;
	size_t pending;
	git_oid *queued; /* what the mempack holds (its own dump packs only commits' objects) */
	size_t nqueued, capqueued;
};

static int git_fail(const char *what, const char *dir)
{
	const git_error *e = git_error_last();

	return mm_error_set(MM_EIO, "merge bases '%s': %s: %s", dir, what, e && e->message ? e->message : "error");
}

int bases_open(struct bases **out, const char *dir)
{
	struct bases *b;
	git_odb_backend *pack = NULL;
	git_config *cfg = NULL;
	int err = 0;

	*out = NULL;
	if (!(b = calloc(1, sizeof(*b))))
		return mm_error_oom();
	git_libgit2_init();
	/* packs are written once and must survive a crash: libgit2 fsyncs them */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	if (!(b->dir = strdup(dir)) || asprintf(&b->packdir, "%s/pack", dir) < 0) {
		b->packdir = NULL;
		err = mm_error_oom();
		goto fail;
	}
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (mkdir(b->packdir, 0700) < 0 && errno != EEXIST)) {
		err = mm_error_errno(MM_EIO, errno, "cannot create merge bases '%s'", dir);
		goto fail;
	}
	if (git_odb_new(&b->odb) < 0 || git_odb_backend_pack(&pack, dir) < 0 ||
	    git_odb_add_backend(b->odb, pack, 1) < 0) {
		err = git_fail("cannot open", dir);
		goto fail;
	}
	if (git_mempack_new(&b->mem) < 0 || git_odb_add_backend(b->odb, b->mem, 999) < 0 ||
	    git_repository_wrap_odb(&b->repo, b->odb) < 0 || git_config_new(&cfg) < 0 ||
	    git_repository_set_config(b->repo, cfg) < 0) {
		err = git_fail("cannot set up", dir);
		goto fail;
	}
	git_config_free(cfg);
	*out = b;
	return 0;
fail:
	git_config_free(cfg);
	bases_free(b);
	return err;
}

void bases_free(struct bases *b)
{
	if (!b)
		return;
	if (b->mem)
		git_mempack_reset(b->mem);
	git_repository_free(b->repo);
	git_odb_free(b->odb);
	free(b->queued);
	free(b->dir);
	free(b->packdir);
	free(b);
	git_libgit2_shutdown();
}

int bases_put(struct bases *b, const void *data, size_t len, uint8_t oid[BASES_OID_LEN])
{
	git_oid id;

	if (git_odb_hash(&id, data, len, GIT_OBJECT_BLOB) < 0)
		return git_fail("cannot hash", b->dir);
	memcpy(oid, id.id, BASES_OID_LEN);
	if (git_odb_exists(b->odb, &id))
		return 0;
	if (b->nqueued == b->capqueued) {
		size_t cap = b->capqueued ? b->capqueued * 2 : 64;
		git_oid *q = realloc(b->queued, cap * sizeof(*q));
		if (!q)
			return mm_error_oom();
		b->queued = q;
		b->capqueued = cap;
	}
	if (git_odb_write(&id, b->odb, data, len, GIT_OBJECT_BLOB) < 0)
		return git_fail("cannot store", b->dir);
	b->queued[b->nqueued++] = id;
	b->pending += len + 1; /* an empty blob still needs its pack */
	return 0;
}

int bases_oid(const void *data, size_t len, uint8_t oid[BASES_OID_LEN])
{
	git_oid id;

	git_libgit2_init();
	if (git_odb_hash(&id, data, len, GIT_OBJECT_BLOB) < 0) {
		git_libgit2_shutdown();
		return mm_error_set(MM_ERROR, "cannot hash a blob");
	}
	git_libgit2_shutdown();
	memcpy(oid, id.id, BASES_OID_LEN);
	return 0;
}

int bases_get(struct bases *b, const uint8_t oid[BASES_OID_LEN], void **data, size_t *len)
{
	git_odb_object *obj = NULL;
	git_oid id;
	int rc;

	*data = NULL;
	*len = 0;
	memcpy(id.id, oid, BASES_OID_LEN);
	rc = git_odb_read(&obj, b->odb, &id);
	if (rc == GIT_ENOTFOUND)
		return MM_ENOTFOUND;
	if (rc < 0)
		return git_fail("cannot read", b->dir);
	*len = git_odb_object_size(obj);
	*data = malloc(*len ? *len : 1);
	if (*data)
		memcpy(*data, git_odb_object_data(obj), *len);
	git_odb_object_free(obj);
	return *data ? 0 : mm_error_oom();
}

size_t bases_pending(const struct bases *b)
{
	return b->pending;
}

int bases_flush(struct bases *b)
{
	git_packbuilder *pb = NULL;
	int err = 0;

	if (b->nqueued == 0)
		return 0;
	if (git_packbuilder_new(&pb, b->repo) < 0) {
		err = git_fail("cannot write a pack", b->dir);
		goto done;
	}
	for (size_t i = 0; i < b->nqueued; i++) {
		if (git_packbuilder_insert(pb, &b->queued[i], NULL) < 0) {
			err = git_fail("cannot write a pack", b->dir);
			goto done;
		}
	}
	if (git_packbuilder_write(pb, b->packdir, 0600, NULL, NULL) < 0) {
		err = git_fail("cannot write a pack", b->dir);
		goto done;
	}
	git_mempack_reset(b->mem);
	git_odb_refresh(b->odb);
	b->pending = 0;
	b->nqueued = 0;
done:
	git_packbuilder_free(pb);
	return err;
}

struct gc_ctx {
	int (*live)(void *arg, const uint8_t oid[BASES_OID_LEN]);
	void *arg;
	git_packbuilder *pb;
	uint64_t dropped, kept;
	int err;
};

static int gc_one(const git_oid *id, void *payload)
{
	struct gc_ctx *g = payload;
	int rc = g->live(g->arg, id->id);

	if (rc < 0) {
		g->err = rc;
		return -1;
	}
	if (rc == 0) {
		g->dropped++;
		return 0;
	}
	g->kept++;
	if (git_packbuilder_insert(g->pb, id, NULL) < 0) {
		g->err = MM_EIO;
		return -1;
	}
	return 0;
}

/* Removes the pack files in packdir other than pack-`keep`.{pack,idx} (NULL: all). */
static void remove_packs(struct bases *b, const char *keep)
{
	DIR *d = opendir(b->packdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "pack-", 5))
			continue;
		if (keep && !strncmp(e->d_name + 5, keep, strlen(keep)))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int bases_gc(struct bases *b, int (*live)(void *arg, const uint8_t oid[BASES_OID_LEN]), void *arg, uint64_t *dropped,
             uint64_t *kept)
{
	struct gc_ctx g = {live, arg, NULL, 0, 0, 0};
	int err;

	*dropped = *kept = 0;
	if ((err = bases_flush(b)) < 0)
		return err;
	if (git_packbuilder_new(&g.pb, b->repo) < 0)
		return git_fail("cannot repack", b->dir);
	/* list the packs only: libgit2's mempack has no foreach (and is empty after the flush) */
	{
		git_odb *packs = NULL;
		git_odb_backend *pack = NULL;
		if (git_odb_new(&packs) < 0 || git_odb_backend_pack(&pack, b->dir) < 0 ||
		    git_odb_add_backend(packs, pack, 1) < 0) {
			g.err = git_fail("cannot list objects", b->dir);
		} else if (git_odb_foreach(packs, gc_one, &g) < 0 && g.err == 0) {
			g.err = git_fail("cannot list objects", b->dir);
		}
		git_odb_free(packs);
	}
	if (g.err < 0) {
		err = g.err;
		goto done;
	}
	if (g.dropped) {
		if (g.kept == 0) {
			remove_packs(b, NULL);
		} else {
			char keep[GIT_OID_HEXSZ + 1];
			if (git_packbuilder_write(g.pb, b->packdir, 0600, NULL, NULL) < 0) {
				err = git_fail("cannot write a pack", b->dir);
				goto done;
			}
			snprintf(keep, sizeof(keep), "%s", git_packbuilder_name(g.pb));
			remove_packs(b, keep);
		}
		git_odb_refresh(b->odb);
	}
	*dropped = g.dropped;
	*kept = g.kept;
	err = 0;
done:
	git_packbuilder_free(g.pb);
	return err;
}
