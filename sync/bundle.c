/* Offline bundles: see bundle.h. */
#include "bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "ignore.h"
#include "path.h"
#include "phase.h"
#include "replica.h"
#include "store.h"
#include "wire.h"

#define BUNDLE_MAGIC          "MMBNDL"
#define BUNDLE_MANIFEST       "mmsync-bundle/manifest"
#define BUNDLE_OBJECTS        "mmsync-bundle/objects/"
#define BUNDLE_MAX_MANIFEST   (8ull << 30) /* some 50 million rows */
#define BUNDLE_MAX_OBJECT     (1ull << 42) /* 4 TiB: one file */
#define BUNDLE_MAX_ENTRIES    (64u << 20)
#define BUNDLE_CHECKSUM_FRAME (4 + 1 + MM_HASH_LEN)
#define BUNDLE_BLOCK          (256 * 1024)
#define BUNDLE_MAX_SEEN       10000 /* replicas whose indexes the author reports having seen */
#define BUNDLE_MAX_NAMES      10000 /* replicas the manifest names (REPLICA records) */

/* ---------------------------------------------------------------- a set of content hashes */

struct hashset {
	uint8_t (*slot)[MM_HASH_LEN];
	uint8_t *used;
	size_t n, cap;
};

static size_t hs_pos(const struct hashset *s, const uint8_t h[MM_HASH_LEN])
{
	size_t i;

	memcpy(&i, h, sizeof(i)); /* a SHA-256 is spread evenly already */
	i &= s->cap - 1;
	while (s->used[i] && memcmp(s->slot[i], h, MM_HASH_LEN))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int hs_has(const struct hashset *s, const uint8_t h[MM_HASH_LEN])
{
	return s->cap && s->used[hs_pos(s, h)];
}

/* Adds h: 1 added, 0 there already, <0 out of memory. */
static int hs_add(struct hashset *s, const uint8_t h[MM_HASH_LEN])
{
	size_t i;

	if ((s->n + 1) * 4 > s->cap * 3) {
		struct hashset t = {NULL, NULL, 0, s->cap ? s->cap * 2 : 1024};
		t.slot = malloc(t.cap * MM_HASH_LEN);
		t.used = calloc(t.cap, 1);
		if (!t.slot || !t.used) {
			free(t.slot);
			free(t.used);
			return mm_error_oom();
		}
		for (size_t j = 0; j < s->cap; j++)
			if (s->used[j]) {
				size_t k = hs_pos(&t, s->slot[j]);
				memcpy(t.slot[k], s->slot[j], MM_HASH_LEN);
				t.used[k] = 1;
			}
		t.n = s->n;
		free(s->slot);
		free(s->used);
		*s = t;
	}
	i = hs_pos(s, h);
	if (s->used[i])
		return 0;
	memcpy(s->slot[i], h, MM_HASH_LEN);
	s->used[i] = 1;
	s->n++;
	return 1;
}

static void hs_free(struct hashset *s)
{
	free(s->slot);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------------- writing */

static int arc_fail(struct archive *a, const char *what, const char *file)
{
	return mm_error_set(MM_EIO, "cannot %s bundle '%s': %s", what, file,
	                    archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* Adds a regular-file entry `name` of `size` bytes read from `fd`; the bytes' hash goes to `hash` when not NULL. */
static int add_entry(struct archive *a, const char *file, const char *name, int fd, uint64_t size, time_t mtime,
                     struct hasher *h, uint8_t hash[MM_HASH_LEN], const char *what)
{
	struct archive_entry *ae = archive_entry_new();
	static uint8_t buf[BUNDLE_BLOCK];
	uint64_t done = 0;
	int err = 0;

	if (!ae)
		return mm_error_oom();
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t) size);
	archive_entry_set_mtime(ae, mtime, 0);
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		err = arc_fail(a, "write", file);
		goto done;
	}
	if (h && (err = hasher_begin(h)) < 0)
		goto done;
	while (done < size) {
		size_t want = size - done < sizeof(buf) ? (size_t) (size - done) : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = mm_error_errno(MM_EIO, errno, "cannot read '%s'", what);
			goto done;
		}
		if (n == 0) {
			err = mm_error_set(MM_EIO, "'%s' changed while it was bundled (it got shorter): run again",
			                   what);
			goto done;
		}
		if (h && (err = hasher_update(h, buf, (size_t) n)) < 0)
			goto done;
		if (archive_write_data(a, buf, (size_t) n) != n) {
			err = arc_fail(a, "write", file);
			goto done;
		}
		done += (uint64_t) n;
	}
	if (h)
		err = hasher_final(h, hash);
done:
	archive_entry_free(ae);
	return err;
}

struct seen_out {
	struct wbuf *b;
	uint32_t n;
};

static int put_seen(void *arg, const struct store_peer *p)
{
	struct seen_out *s = arg;

	if (!p->index_id || !p->seen_seq || s->n >= BUNDLE_MAX_SEEN)
		return 0;
	put_u64(s->b, p->id);
	put_u64(s->b, p->index_id);
	put_u64(s->b, p->seen_seq);
	s->n++;
	return 0;
}

/* Queues the BUNDLE frame: format, target, since, time, and what the author has seen of each index. */
static int put_bundle_header(struct replica *r, struct conn *c, const struct bundle_create_opts *o,
                             const struct bundle_info *info)
{
	struct wbuf hdr;
	struct seen_out so_seen = {&hdr, 0};
	int err;

	wbuf_init(&hdr);
	put_bytes(&hdr, BUNDLE_MAGIC, 6);
	put_u16(&hdr, BUNDLE_FORMAT);
	put_u64(&hdr, o->target);
	put_u64(&hdr, o->since);
	put_u64(&hdr, (uint64_t) info->created_ns);
	size_t nat = hdr.len;
	put_u32(&hdr, 0);
	if ((err = store_peer_each(r->store, put_seen, &so_seen)) == 0 && !hdr.oom) {
		hdr.p[nat] = (uint8_t) (so_seen.n >> 24);
		hdr.p[nat + 1] = (uint8_t) (so_seen.n >> 16);
		hdr.p[nat + 2] = (uint8_t) (so_seen.n >> 8);
		hdr.p[nat + 3] = (uint8_t) so_seen.n;
		proto_put_raw(&c->out, MSG_BUNDLE, hdr.p, hdr.len);
	}
	wbuf_dispose(&hdr);
	return err;
}

/* Writes the manifest to `fd`: hello, bundle header, the index delta, checksum. */
static int write_manifest(struct replica *r, int fd, const struct bundle_create_opts *o, struct bundle_info *info,
                          struct hasher *h)
{
	struct session_result res = {0};
	struct phase ph;
	struct msg_hello hello = {0};
	struct ignore *ig = NULL;
	struct conn c;
	struct timespec now;
	uint8_t sum[MM_HASH_LEN];
	uint64_t max_seq = 0;
	int err;

	conn_init(&c, fd, fd, "bundle");
	phase_init(&ph, r, &c, &res);
	ph.filters = o->filters;
	ph.nfilters = o->nfilters;
	ph.peer_id = o->target; /* rows from the target itself are left out */
	hello.version = PROTO_VERSION;
	hello.replica_id = r->id;
	hello.index_id = store_index_id(r->store);
	snprintf(hello.name, sizeof(hello.name), "%s", r->name);
	hello.filters = o->filters;
	hello.nfilters = o->nfilters;
	proto_put_hello(&c.out, &hello);
	clock_gettime(CLOCK_REALTIME, &now);
	info->created_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
	if ((err = put_bundle_header(r, &c, o, info)) < 0) {
		conn_dispose(&c);
		return err;
	}
	if ((err = ignore_load(&ig, r->rootfd)) == 0)
		err = sender_index(&ph, o->since, ig, &max_seq);
	ignore_free(ig);
	if (err == 0)
		err = conn_flush(&c);
	conn_dispose(&c);
	if (err < 0)
		return err;
	info->max_seq = max_seq;
	/* the checksum of everything so far */
	uint64_t mlen;
	if (lseek(fd, 0, SEEK_SET) < 0 || hasher_fd(h, fd, "bundle manifest", sum, &mlen) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot read back the bundle's manifest");
	struct wbuf frame;
	wbuf_init(&frame);
	proto_put_raw(&frame, MSG_CHECKSUM, sum, MM_HASH_LEN);
	err = frame.oom || frame.len != BUNDLE_CHECKSUM_FRAME || write(fd, frame.p, frame.len) != (ssize_t) frame.len
	              ? mm_error_errno(MM_EIO, errno, "cannot write the bundle's manifest")
	              : 0;
	wbuf_dispose(&frame);
	return err;
}

/* Reads the frames of a manifest file, calling fn for each (type, payload). */
static int each_frame(int fd, const char *what, int (*fn)(void *arg, int type, const uint8_t *p, size_t len), void *arg)
{
	struct conn c;
	const uint8_t *p;
	size_t len;
	int type, err;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot read %s", what);
	conn_init(&c, fd, fd, what);
	do {
		if ((err = conn_recv(&c, &type, &p, &len)) < 0)
			break;
		err = fn(arg, type, p, len);
	} while (err == 0);
	conn_dispose(&c);
	return err > 0 ? 0 : err;
}

struct objects_out {
	struct replica *r;
	struct archive *a;
	const char *file;
	struct hashset seen;
	struct hasher *h;
	struct entry e;
	struct bundle_info *info;
};

/* For each file row of the manifest, its content as an object (once per hash). */
static int add_object(void *arg, int type, const uint8_t *p, size_t len)
{
	struct objects_out *o = arg;
	char name[sizeof(BUNDLE_OBJECTS) + HASH_HEX];
	uint8_t got[MM_HASH_LEN];
	struct stat sb;
	int fd, err;

	if (type == MSG_CHECKSUM)
		return 1; /* the end */
	if (type != MSG_ROW)
		return 0;
	entry_dispose(&o->e);
	entry_init(&o->e);
	if ((err = proto_get_row(&o->e, p, len)) < 0)
		return err;
	o->info->rows++;
	if (o->e.kind != ENTRY_FILE)
		return 0;
	if ((err = hs_add(&o->seen, o->e.hash)) <= 0)
		return err;
	if ((err = fs_open_beneath(&fd, o->r->rootfd, o->e.path, O_RDONLY | O_NOFOLLOW, 0)) < 0)
		return mm_error_set(MM_EIO, "cannot read '%s' (changed since the scan?): %s", o->e.path,
		                    mm_error_msg());
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t) sb.st_size != o->e.size) {
		close(fd);
		return mm_error_set(MM_EIO, "'%s' changed since the scan: run again", o->e.path);
	}
	memcpy(name, BUNDLE_OBJECTS, sizeof(BUNDLE_OBJECTS) - 1);
	hash_hex(name + sizeof(BUNDLE_OBJECTS) - 1, o->e.hash);
	err = add_entry(o->a, o->file, name, fd, o->e.size, (time_t) (o->info->created_ns / 1000000000), o->h, got,
	                o->e.path);
	close(fd);
	if (err < 0)
		return err;
	if (memcmp(got, o->e.hash, MM_HASH_LEN))
		return mm_error_set(MM_EIO, "'%s' changed while it was bundled: run again", o->e.path);
	o->info->objects++;
	o->info->bytes += o->e.size;
	return 0;
}

/* A pax archive compressed with zstd, writing to `tmp`; *out is set even on failure, for the caller to free. */
static int open_bundle_out(struct archive **out, const char *file, const char *tmp)
{
	struct archive *a;

	*out = a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(a) != ARCHIVE_OK)
		return a ? arc_fail(a, "make", file) : mm_error_oom();
	if (archive_write_open_filename(a, tmp) != ARCHIVE_OK)
		return arc_fail(a, "write", file);
	return 0;
}

/* Writes the manifest in `mfd` and then each content its rows name to the archive, and closes the archive. */
static int write_entries(struct replica *r, struct archive *a, const char *file, int mfd, struct hasher *h,
                         struct bundle_info *info)
{
	struct objects_out oo;
	struct stat sb;
	int err;

	memset(&oo, 0, sizeof(oo));
	entry_init(&oo.e);
	if (fstat(mfd, &sb) < 0 || lseek(mfd, 0, SEEK_SET) < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot read back the bundle's manifest");
		goto done;
	}
	if ((err = add_entry(a, file, BUNDLE_MANIFEST, mfd, (uint64_t) sb.st_size,
	                     (time_t) (info->created_ns / 1000000000), NULL, NULL, "the manifest")) < 0)
		goto done;
	oo.r = r;
	oo.a = a;
	oo.file = file;
	oo.h = h;
	oo.info = info;
	if ((err = each_frame(mfd, "the bundle's manifest", add_object, &oo)) < 0)
		goto done;
	if (archive_write_close(a) != ARCHIVE_OK)
		err = arc_fail(a, "write", file);
done:
	hs_free(&oo.seen);
	entry_dispose(&oo.e);
	return err;
}

/* Makes `tmp` durable, then renames it to `file`: a bundle is whole or absent. */
static int install_bundle(const char *tmp, const char *file)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		int err = mm_error_errno(MM_EIO, errno, "cannot write bundle '%s'", file);
		if (fd >= 0)
			close(fd);
		return err;
	}
	close(fd);
	if (rename(tmp, file) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot write bundle '%s'", file);
	return 0;
}

int bundle_create(struct replica *r, const char *file, const struct bundle_create_opts *o, struct bundle_info *info)
{
	struct archive *a = NULL;
	struct hasher *h = NULL;
	char mpath[PATH_MAX], *tmp = NULL;
	int mfd = -1, err;

	memset(info, 0, sizeof(*info));
	snprintf(mpath, sizeof(mpath), "%s/bundle-manifest.XXXXXX", r->state);
	if ((mfd = mkostemp(mpath, O_CLOEXEC)) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot make a temporary file in '%s'", r->state);
	unlink(mpath);
	if ((err = hasher_new(&h)) < 0 || (err = write_manifest(r, mfd, o, info, h)) < 0)
		goto done;
	if (asprintf(&tmp, "%s.tmp-%ld", file, (long) getpid()) < 0) {
		tmp = NULL;
		err = mm_error_oom();
		goto done;
	}
	if ((err = open_bundle_out(&a, file, tmp)) < 0 || (err = write_entries(r, a, file, mfd, h, info)) < 0 ||
	    (err = install_bundle(tmp, file)) < 0)
		goto done;
	info->format = BUNDLE_FORMAT;
	info->author_id = r->id;
	info->author_index = store_index_id(r->store);
	info->target = o->target;
	info->since = o->since;
	snprintf(info->author, sizeof(info->author), "%s", r->name);
done:
	if (a)
		archive_write_free(a);
	if (tmp && err < 0)
		unlink(tmp);
	free(tmp);
	hasher_free(h);
	close(mfd);
	return err;
}

/* ---------------------------------------------------------------- reading */

struct bundle {
	uint64_t reader_id, reader_index; /* the replica reading it (0 for bundle list) */
	uint64_t seen_of_reader;          /* how much of the reader's index the author has */
	char *dir;                        /* kept files: manifest, and objects by hex name; NULL when only checked */
	char *file;                       /* for messages */
	int mfd;                          /* the manifest */
	struct hashset objects;
	struct bundle_info info;
	struct msg_hello hello;
};

static int bad(const struct bundle *b, const char *fmt, const char *detail)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, detail ? detail : "");
	return mm_error_set(MM_ECORRUPT, "bundle '%s' %s: refused, nothing changed", b->file, msg);
}

/* Copies the current entry's data to fd (when >= 0), hashing it; `size` is what its header said. */
static int copy_data(struct bundle *b, struct archive *a, int fd, uint64_t size, struct hasher *h, uint64_t hash_upto,
                     uint8_t out[MM_HASH_LEN])
{
	static uint8_t buf[BUNDLE_BLOCK];
	uint64_t done = 0;
	int err;

	if ((err = hasher_begin(h)) < 0)
		return err;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0)
			return bad(b, "is truncated or corrupt (%s)", archive_error_string(a));
		if ((uint64_t) n > size - done)
			return bad(b, "has an entry longer than its header says%s", NULL);
		size_t take = done >= hash_upto                 ? 0
		              : hash_upto - done < (uint64_t) n ? (size_t) (hash_upto - done)
		                                                : (size_t) n;
		if (take && (err = hasher_update(h, buf, take)) < 0)
			return err;
		for (la_ssize_t off = 0; fd >= 0 && off < n;) {
			ssize_t w = write(fd, buf + off, (size_t) (n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return mm_error_errno(MM_EIO, errno, "cannot unpack bundle '%s'", b->file);
			off += w;
		}
		done += (uint64_t) n;
	}
	if (done != size)
		return bad(b, "is truncated%s", NULL);
	return hasher_final(h, out);
}

/* "mmsync-bundle/objects/" and 64 lower-case hex digits: the hash, else -1. */
static int object_name(const char *name, uint8_t hash[MM_HASH_LEN])
{
	size_t n = sizeof(BUNDLE_OBJECTS) - 1;

	if (strncmp(name, BUNDLE_OBJECTS, n) || strlen(name + n) != 2 * MM_HASH_LEN)
		return -1;
	for (size_t i = 0; i < MM_HASH_LEN; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char ch = name[n + 2 * i + (size_t) k];
			if (ch >= '0' && ch <= '9')
				v = v * 16 + (unsigned) (ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v = v * 16 + (unsigned) (ch - 'a' + 10);
			else
				return -1;
		}
		hash[i] = (uint8_t) v;
	}
	return 0;
}

struct manifest_check {
	struct bundle *b;
	struct hashset named; /* contents the rows name: every object must be one */
	bundle_row_fn fn;
	void *arg;
	int stage; /* 0 hello, 1 bundle header, 2 rows, 3 index end seen, 4 checksum seen */
	struct entry e;
	struct {
		uint64_t id;
		char name[REPLICA_NAME_MAX + 1];
	} * names; /* sorted by id */
	size_t nnames, capnames;
};

/* Where `id` is in m->names, or where it would go. */
static size_t name_slot(const struct manifest_check *m, uint64_t id)
{
	size_t lo = 0, hi = m->nnames;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->names[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const char *writer_name(struct manifest_check *m, uint64_t id)
{
	size_t i = name_slot(m, id);

	return i < m->nnames && m->names[i].id == id ? m->names[i].name : NULL;
}

/* A REPLICA record: its name, kept in id order (a later record for the same id replaces it). */
static int add_name(struct manifest_check *m, const uint8_t *p, size_t len)
{
	uint64_t id;
	char name[REPLICA_NAME_MAX + 1];
	size_t i;

	if (proto_get_replica(&id, name, p, len) < 0)
		return bad(m->b, "has a bad replica record%s", NULL);
	i = name_slot(m, id);
	if (i == m->nnames || m->names[i].id != id) {
		if (m->nnames >= BUNDLE_MAX_NAMES)
			return bad(m->b, "names too many replicas%s", NULL);
		if (m->nnames == m->capnames) {
			size_t cap = m->capnames ? 2 * m->capnames : 16;
			void *nv = realloc(m->names, cap * sizeof(*m->names));
			if (!nv)
				return mm_error_oom();
			m->names = nv;
			m->capnames = cap;
		}
		memmove(&m->names[i + 1], &m->names[i], (m->nnames - i) * sizeof(*m->names));
		m->nnames++;
		m->names[i].id = id;
	}
	memcpy(m->names[i].name, name, sizeof(name));
	return 0;
}

/* Stage 0: the author's hello, which names the author and the filters. */
static int check_hello(struct manifest_check *m, int type, const uint8_t *p, size_t len)
{
	struct bundle *b = m->b;
	struct bundle_info *in = &b->info;

	if (type != MSG_HELLO || proto_get_hello(&b->hello, p, len) < 0)
		return bad(b, "has a manifest that does not start with its author's hello%s", NULL);
	if (b->hello.version != PROTO_VERSION)
		return bad(b, "was made by an mmsync of another protocol version%s", NULL);
	in->author_id = b->hello.replica_id;
	in->author_index = b->hello.index_id;
	snprintf(in->author, sizeof(in->author), "%s", b->hello.name);
	in->filters = b->hello.filters;
	in->nfilters = b->hello.nfilters;
	m->stage = 1;
	return 0;
}

/* Stage 1: the BUNDLE header, and how much of the reader's index the author has seen. */
static int check_header(struct manifest_check *m, int type, const uint8_t *p, size_t len)
{
	struct bundle *b = m->b;
	struct bundle_info *in = &b->info;
	struct rbuf r;

	rbuf_init(&r, p, len);
	const uint8_t *magic = get_bytes(&r, 6);
	if (type != MSG_BUNDLE || !magic || memcmp(magic, BUNDLE_MAGIC, 6))
		return bad(b, "has no bundle header%s", NULL);
	in->format = get_u16(&r);
	in->target = get_u64(&r);
	in->since = get_u64(&r);
	in->created_ns = (int64_t) get_u64(&r);
	uint32_t nseen = get_u32(&r);
	if (r.bad || nseen > BUNDLE_MAX_SEEN)
		return bad(b, "has a bad bundle header%s", NULL);
	for (uint32_t i = 0; i < nseen; i++) {
		uint64_t id = get_u64(&r), index = get_u64(&r), seq = get_u64(&r);
		if (r.bad)
			return bad(b, "has a bad bundle header%s", NULL);
		if (id == b->reader_id && index == b->reader_index) {
			b->seen_of_reader = seq;
		}
	}
	if (!rbuf_done(&r))
		return bad(b, "has a bad bundle header%s", NULL);
	if (in->format != BUNDLE_FORMAT)
		return bad(b, "is of a bundle format this mmsync does not read%s", NULL);
	m->stage = 2;
	return 0;
}

/* A ROW: well formed, after the previous one in tree order, its content in the bundle; then given to m->fn. */
static int check_row(struct manifest_check *m, const uint8_t *p, size_t len)
{
	struct bundle *b = m->b;
	char prev[MM_PATH_MAX + 1];
	int first = m->e.path == NULL;
	int err;

	if (!first)
		snprintf(prev, sizeof(prev), "%s", m->e.path);
	entry_dispose(&m->e);
	entry_init(&m->e);
	if ((err = proto_get_row(&m->e, p, len)) < 0)
		return bad(b, "has a bad row (%s)", mm_error_msg());
	if (!first && path_tree_cmp(prev, m->e.path) >= 0)
		return bad(b, "has rows out of order (at '%s')", m->e.path);
	if (m->e.kind == ENTRY_FILE && !hs_has(&b->objects, m->e.hash))
		return bad(b, "lacks the content of '%s' (truncated?)", m->e.path);
	if (m->e.kind == ENTRY_FILE && (err = hs_add(&m->named, m->e.hash)) < 0)
		return err;
	b->info.rows++;
	if (m->fn && (err = m->fn(m->arg, &m->e, writer_name(m, m->e.writer))) < 0)
		return err;
	return 0;
}

/* Stage 2: REPLICA and ROW records up to INDEX_END. */
static int check_index_frame(struct manifest_check *m, int type, const uint8_t *p, size_t len)
{
	struct bundle *b = m->b;

	if (type == MSG_REPLICA)
		return add_name(m, p, len);
	if (type == MSG_ROW)
		return check_row(m, p, len);
	if (type == MSG_INDEX_END) {
		if (proto_get_u64(&b->info.max_seq, p, len, "index end") < 0)
			return bad(b, "has a bad index end%s", NULL);
		m->stage = 3;
		return 0;
	}
	return bad(b, "has an unexpected '%s' record", proto_type_name(type));
}

/* Checks one frame of the manifest against the stage it is at: 1 at the checksum (the end). */
static int check_frame(void *arg, int type, const uint8_t *p, size_t len)
{
	struct manifest_check *m = arg;

	switch (m->stage) {
	case 0: return check_hello(m, type, p, len);
	case 1: return check_header(m, type, p, len);
	case 2: return check_index_frame(m, type, p, len);
	case 3:
		if (type != MSG_CHECKSUM)
			return bad(m->b, "has an unexpected '%s' record after its index", proto_type_name(type));
		m->stage = 4;
		return 1;
	}
	return 1;
}

/* The first entry: the manifest, copied to b->mfd, whose last frame must be the checksum of the bytes before it. */
static int unpack_manifest(struct bundle *b, struct archive *a, struct hasher *h, const char *name, int64_t size)
{
	uint8_t sum[MM_HASH_LEN], tail[BUNDLE_CHECKSUM_FRAME];
	uint64_t msize;
	int err;

	if (strcmp(name, BUNDLE_MANIFEST))
		return bad(b, "is not an mmsync bundle (its first entry is '%s')", name);
	if ((uint64_t) size > BUNDLE_MAX_MANIFEST || size < BUNDLE_CHECKSUM_FRAME)
		return bad(b, "has a manifest of an impossible size%s", NULL);
	msize = (uint64_t) size;
	if ((err = copy_data(b, a, b->mfd, msize, h, msize - BUNDLE_CHECKSUM_FRAME, sum)) < 0)
		return err;
	if (pread(b->mfd, tail, sizeof(tail), (off_t) (msize - sizeof(tail))) != (ssize_t) sizeof(tail))
		return mm_error_errno(MM_EIO, errno, "cannot read back bundle '%s'", b->file);
	if (tail[0] || tail[1] || tail[2] || tail[3] != 1 + MM_HASH_LEN || tail[4] != MSG_CHECKSUM ||
	    memcmp(tail + 5, sum, MM_HASH_LEN))
		return bad(b, "has a manifest that does not match its checksum (corrupt or tampered)%s", NULL);
	return 0;
}

/* A later entry: an object named by its hash, held once, whose bytes match the name; kept in b->dir if any. */
static int unpack_object(struct bundle *b, struct archive *a, struct hasher *h, const char *name, int64_t size)
{
	uint8_t got[MM_HASH_LEN], want[MM_HASH_LEN];
	char path[PATH_MAX];
	int fd = -1, err;

	if (object_name(name, want) < 0)
		return bad(b, "has an entry that is not one of its files ('%s')", name);
	if ((uint64_t) size > BUNDLE_MAX_OBJECT)
		return bad(b, "has an object of an impossible size%s", NULL);
	if (hs_has(&b->objects, want))
		return bad(b, "holds an object twice ('%s')", name);
	if (b->dir) {
		snprintf(path, sizeof(path), "%s/%s", b->dir, name + sizeof(BUNDLE_OBJECTS) - 1);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			return mm_error_errno(MM_EIO, errno, "cannot unpack bundle '%s'", b->file);
	}
	err = copy_data(b, a, fd, (uint64_t) size, h, (uint64_t) size, got);
	if (fd >= 0)
		close(fd);
	if (err < 0)
		return err;
	if (memcmp(got, want, MM_HASH_LEN))
		return bad(b, "has an object that does not match its hash ('%s': tampered or corrupt)", name);
	if ((err = hs_add(&b->objects, want)) < 0)
		return err;
	b->info.objects++;
	b->info.bytes += (uint64_t) size;
	return 0;
}

/* Reads the archive's entries: the manifest first, then the objects. */
static int unpack(struct bundle *b, struct archive *a, struct hasher *h)
{
	struct archive_entry *ae;
	uint64_t entries = 0;
	int rc, err;

	while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		int64_t size = archive_entry_size(ae);
		if (++entries > BUNDLE_MAX_ENTRIES)
			return bad(b, "has too many entries%s", NULL);
		if (!name || strlen(name) > 200 || archive_entry_filetype(ae) != AE_IFREG || size < 0 ||
		    !archive_entry_size_is_set(ae))
			return bad(b, "has an entry that is not one of its files ('%s')", name ? name : "?");
		if (entries == 1)
			err = unpack_manifest(b, a, h, name, size);
		else
			err = unpack_object(b, a, h, name, size);
		if (err < 0)
			return err;
	}
	if (rc != ARCHIVE_EOF)
		return bad(b, "is truncated or corrupt (%s)", archive_error_string(a));
	if (entries == 0)
		return bad(b, "is empty%s", NULL);
	return 0;
}

/* A new bundle for `file`, read by `reader` (NULL: only checked); NULL when out of memory. */
static struct bundle *bundle_new(const char *file, struct replica *reader)
{
	struct bundle *b = calloc(1, sizeof(*b));

	if (!b || !(b->file = strdup(file))) {
		free(b);
		return NULL;
	}
	b->mfd = -1;
	if (reader) {
		b->reader_id = reader->id;
		b->reader_index = store_index_id(reader->store);
	}
	return b;
}

/* Makes b->mfd: in a new directory b->dir under `tmp_parent` (kept for the objects), else an unlinked temporary. */
static int make_manifest_file(struct bundle *b, const char *tmp_parent)
{
	char path[PATH_MAX];

	if (tmp_parent) {
		snprintf(path, sizeof(path), "%s/bundle.XXXXXX", tmp_parent);
		if (!mkdtemp(path) || !(b->dir = strdup(path)))
			return mm_error_errno(MM_EIO, errno, "cannot make a directory in '%s'", tmp_parent);
		snprintf(path, sizeof(path), "%s/manifest", b->dir);
		b->mfd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	} else {
		snprintf(path, sizeof(path), "%s/mmsync-bundle.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if ((b->mfd = mkostemp(path, O_CLOEXEC)) >= 0)
			unlink(path);
	}
	if (b->mfd < 0)
		return mm_error_errno(MM_EIO, errno, "cannot unpack bundle '%s'", b->file);
	return 0;
}

/* Opens b->file for reading as tar (pax) with zstd, nothing else; *out is set even on failure, for the caller. */
static int open_bundle_in(struct archive **out, struct bundle *b)
{
	struct archive *a;
	struct stat sb;

	if (!(*out = a = archive_read_new()))
		return mm_error_oom();
	archive_read_support_format_tar(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_filename(a, b->file, BUNDLE_BLOCK) == ARCHIVE_OK)
		return 0;
	if (stat(b->file, &sb) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot read bundle '%s'", b->file);
	if (sb.st_size == 0)
		return bad(b, "is empty%s", NULL);
	if (archive_error_string(a) && strstr(archive_error_string(a), "runcated"))
		return bad(b, "is truncated (%s)", archive_error_string(a));
	return bad(b, "is not an mmsync bundle (%s)", archive_error_string(a));
}

/* Checks the unpacked manifest frame by frame, giving each row to fn; every object must be named by a row. */
static int check_manifest(struct bundle *b, bundle_row_fn fn, void *arg)
{
	struct manifest_check m;
	int err;

	memset(&m, 0, sizeof(m));
	entry_init(&m.e);
	m.b = b;
	m.fn = fn;
	m.arg = arg;
	if ((err = each_frame(b->mfd, "the bundle's manifest", check_frame, &m)) < 0) {
		if (err != MM_ECORRUPT && strstr(mm_error_msg(), "closed the connection"))
			err = bad(b, "has a truncated manifest%s", NULL);
	} else if (m.stage != 4) {
		err = bad(b, "has a truncated manifest%s", NULL);
	} else if (m.named.n != b->objects.n) {
		err = bad(b, "holds contents that no path of its manifest names (tampered)%s", NULL);
	}
	entry_dispose(&m.e);
	free(m.names);
	hs_free(&m.named);
	return err;
}

int bundle_read(struct bundle **out, const char *file, struct replica *reader, bundle_row_fn fn, void *arg)
{
	struct bundle *b = bundle_new(file, reader);
	struct archive *a = NULL;
	struct hasher *h = NULL;
	int err;

	*out = NULL;
	if (!b)
		return mm_error_oom();
	if ((err = make_manifest_file(b, reader ? reader->state : NULL)) < 0 || (err = hasher_new(&h)) < 0 ||
	    (err = open_bundle_in(&a, b)) < 0 || (err = unpack(b, a, h)) < 0 || (err = check_manifest(b, fn, arg)) < 0)
		goto fail;
	archive_read_free(a);
	hasher_free(h);
	*out = b;
	return 0;
fail:
	if (a)
		archive_read_free(a);
	hasher_free(h);
	bundle_free(b, 1);
	return err;
}

int bundle_record(struct bundle *b, struct replica *r)
{
	struct store_peer p;
	int err;

	if (!b->seen_of_reader)
		return 0;
	if ((err = store_peer_get(r->store, b->info.author_id, &p)) < 0 && err != MM_ENOTFOUND)
		return err;
	if (p.acked_seq >= b->seen_of_reader)
		return 0;
	p.id = b->info.author_id;
	if (!p.name[0])
		snprintf(p.name, sizeof(p.name), "%s", b->info.author);
	p.acked_seq = b->seen_of_reader;
	return store_peer_put(r->store, &p);
}

const struct bundle_info *bundle_info(const struct bundle *b)
{
	return &b->info;
}

/* Removes the directory `dir` and the plain files in it (what bundle_read unpacks). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

void bundle_clean(struct replica *r)
{
	DIR *d = opendir(r->state);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "bundle.", 7)) {
			snprintf(path, sizeof(path), "%s/%s", r->state, de->d_name);
			remove_dir(path);
		}
	closedir(d);
}

void bundle_free(struct bundle *b, int remove_files)
{
	if (!b)
		return;
	if (b->mfd >= 0)
		close(b->mfd);
	if (b->dir && remove_files)
		remove_dir(b->dir);
	proto_hello_dispose(&b->hello);
	hs_free(&b->objects);
	free(b->dir);
	free(b->file);
	free(b);
}

/* ---------------------------------------------------------------- serving */

struct serve_index {
	struct conn *c;
	uint64_t since;
};

/* Forwards the manifest's REPLICA frames, its ROW frames newer than `since`, and INDEX_END. */
static int forward_frame(void *arg, int type, const uint8_t *p, size_t len)
{
	struct serve_index *s = arg;
	struct entry e;
	int err;

	if (type == MSG_HELLO || type == MSG_BUNDLE)
		return 0;
	if (type == MSG_CHECKSUM)
		return 1;
	if (type == MSG_ROW) {
		entry_init(&e);
		err = proto_get_row(&e, p, len);
		if (err == 0 && e.seq > s->since)
			proto_put_row(&s->c->out, &e);
		entry_dispose(&e);
		if (err < 0)
			return err;
	} else {
		proto_put_raw(&s->c->out, (uint8_t) type, p, len);
	}
	return conn_flush_over(s->c, 1u << 20);
}

/* Answers the reader's REQUESTs with the objects' data (MISSING for what the bundle lacks) until DONE. */
static int serve_objects(struct bundle *b, struct conn *c)
{
	const uint8_t *p;
	size_t len;
	uint64_t total;
	char path[PATH_MAX], hex[HASH_HEX];
	int type, err, ofd;

	for (;;) {
		if ((err = conn_recv(c, &type, &p, &len)) < 0)
			break;
		if (type == MSG_DONE)
			break;
		if (type != MSG_REQUEST) {
			err = mm_error_set(MM_ECORRUPT, "protocol error: '%s' during a bundle's transfer",
			                   proto_type_name(type));
			break;
		}
		uint8_t hash[MM_HASH_LEN];
		if ((err = proto_get_request(hash, p, len)) < 0)
			break;
		hash_hex(hex, hash);
		snprintf(path, sizeof(path), "%s/%s", b->dir, hex);
		if (!hs_has(&b->objects, hash) || (ofd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			proto_put_raw(&c->out, MSG_MISSING, NULL, 0);
			continue;
		}
		err = sender_stream(c, ofd, hex, &total);
		close(ofd);
		if (err < 0)
			break;
		proto_put_u64(&c->out, MSG_DATA_END, total);
		if ((err = conn_flush_over(c, 1u << 20)) < 0)
			break;
	}
	return err;
}

int bundle_serve(struct bundle *b, int fd)
{
	struct msg_hello client, mine = b->hello;
	struct serve_index si;
	struct conn c;
	const uint8_t *p;
	size_t len;
	uint64_t since;
	int err;

	conn_init(&c, fd, fd, "bundle reader");
	memset(&client, 0, sizeof(client));
	if ((err = conn_expect(&c, MSG_HELLO, &p, &len)) < 0 || (err = proto_get_hello(&client, p, len)) < 0)
		goto done;
	mine.caps = 0;
	mine.op = 0;
	mine.filters = NULL;
	mine.nfilters = 0;
	proto_put_hello(&c.out, &mine);
	if ((err = conn_expect(&c, MSG_WANT, &p, &len)) < 0 || (err = proto_get_u64(&since, p, len, "want")) < 0)
		goto done;
	if (since < b->info.since) {
		/* it leaves out rows this replica has not seen: applying it would record them as seen */
		err = mm_error_set(MM_ERROR,
		                   "bundle '%s' leaves out changes this replica has not received (it starts "
		                   "after change %llu of '%s', this replica has %llu): make one without --for",
		                   b->file, (unsigned long long) b->info.since, b->info.author,
		                   (unsigned long long) since);
		proto_put_error(&c.out, mm_error_msg());
		conn_flush(&c);
		goto done;
	}
	si.c = &c;
	si.since = since;
	if ((err = each_frame(b->mfd, "the bundle's manifest", forward_frame, &si)) < 0)
		goto done;
	if ((err = serve_objects(b, &c)) == 0 && (err = conn_expect(&c, MSG_BYE, &p, &len)) == 0)
		err = proto_get_empty(p, len, "bye");
done:
	proto_hello_dispose(&client);
	conn_dispose(&c);
	return err;
}
