/*
 * Fuzz target: the bundle reader (bundle_read) with a reader replica, as
 * `mmsync bundle apply` calls it.
 *
 * Input: a mode byte, then
 *   0: a bundle file as is (a zstd-compressed pax archive);
 *   1: u32 LE manifest size M, M bytes of manifest frames, then entries:
 *      a flags byte, u16 LE size and the bytes.  The target writes them as a
 *      bundle with the manifest's checksum and the objects' names right
 *      (zstd takes the fuzzer no further), so it gets to the manifest's
 *      frames and the rows' checks; the flags make an entry wrong in one way
 *      each: ENT_* below.
 * Oracles: what the reader accepts has the counts it reports; nothing is
 * left in the replica's .mmsync/ after bundle_free (or after a refusal).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/bundle.h"
#include "sync/error.h"
#include "sync/hash.h"
#include "sync/replica.h"
#include "sync/store.h"
#include "tests/fuzz/fuzz.h"

static struct replica *reader;
static char *tmpdir;
static char file[4096];
static struct hasher *hasher;

static void remove_tree(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_bundle: cannot remove '%s'\n", tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[4096], *root = NULL;
	const char *t = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	(void) argc;
	(void) argv;
	snprintf(dir, sizeof(dir), "%s/fuzz-bundle.XXXXXX", t);
	FUZZ_ASSERT(mkdtemp(dir) != NULL);
	FUZZ_ASSERT((tmpdir = strdup(dir)) != NULL);
	atexit(remove_tree);
	snprintf(dir, sizeof(dir), "%s/reader", tmpdir);
	if (replica_create(dir, "reader", &root) < 0 || replica_open(&reader, root, 0) < 0) {
		fprintf(stderr, "fuzz_bundle: cannot make a replica in '%s': %s\n", dir, mm_error_msg());
		abort();
	}
	free(root);
	snprintf(file, sizeof(file), "%s/input.mmb", tmpdir);
	FUZZ_ASSERT(hasher_new(&hasher) == 0);
	return 0;
}

static void write_file(const uint8_t *p, size_t n)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(n == 0 || write(fd, p, n) == (ssize_t) n);
	close(fd);
}

/* What a mode-1 entry's flags byte makes wrong about it. */
#define ENT_BADHASH 0x01 /* named by a hash that is not its content's */
#define ENT_NAMED   0x02 /* its bytes are its name too, not objects/HEX */
#define ENT_DIR     0x04 /* a directory entry */
#define ENT_FIRST   0x08 /* written before the manifest */
#define ENT_LONG    0x10 /* its size one byte more than its bytes (libarchive pads it with a zero) */

static void add(struct archive *a, const char *name, unsigned flags, const uint8_t *p, size_t n, const uint8_t *q,
                size_t qn)
{
	struct archive_entry *ae = archive_entry_new();

	FUZZ_ASSERT(ae);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, flags & ENT_DIR ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, flags & ENT_DIR ? 0 : (la_int64_t) (n + qn + (flags & ENT_LONG ? 1 : 0)));
	/* a name libarchive will not write (no entry, or a broken archive): a bad bundle all the same */
	if (archive_write_header(a, ae) < ARCHIVE_WARN) {
		archive_entry_free(ae);
		return;
	}
	if (!(flags & ENT_DIR)) {
		if (n)
			archive_write_data(a, p, n);
		if (qn)
			archive_write_data(a, q, qn);
	}
	archive_entry_free(ae);
}

/* Mode 1: manifest frames and entries made into a bundle with the right checksum and names. */
static int write_made(const uint8_t *p, size_t n)
{
	uint8_t tail[5 + HASH_LEN] = {0, 0, 0, 1 + HASH_LEN, MSG_CHECKSUM}, hash[HASH_LEN];
	const uint8_t *man;
	char name[256];
	struct archive *a;
	size_t m;
	int man_done = 0;

	if (n < 4)
		return -1;
	m = (size_t) p[0] | (size_t) p[1] << 8 | (size_t) p[2] << 16 | (size_t) p[3] << 24;
	p += 4;
	n -= 4;
	if (m > n)
		m = n;
	man = p;
	FUZZ_ASSERT(hasher_buf(hasher, man, m, tail + 5) == 0);
	FUZZ_ASSERT((a = archive_write_new()) != NULL);
	FUZZ_ASSERT(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
	FUZZ_ASSERT(archive_write_add_filter_zstd(a) == ARCHIVE_OK);
	FUZZ_ASSERT(archive_write_set_filter_option(a, "zstd", "compression-level", "1") == ARCHIVE_OK);
	FUZZ_ASSERT(archive_write_open_filename(a, file) == ARCHIVE_OK);
	p += m;
	n -= m;
	while (n >= 3) {
		unsigned flags = p[0];
		size_t k = (size_t) p[1] | (size_t) p[2] << 8;
		p += 3;
		n -= 3;
		if (k > n)
			k = n;
		if (!man_done && !(flags & ENT_FIRST)) {
			add(a, "mmsync-bundle/manifest", 0, man, m, tail, sizeof(tail));
			man_done = 1;
		}
		if (flags & ENT_NAMED) {
			size_t l = k < sizeof(name) - 1 ? k : sizeof(name) - 1;
			memcpy(name, p, l);
			name[l] = '\0';
			if (!name[0])
				strcpy(name, "x");
		} else {
			FUZZ_ASSERT(hasher_buf(hasher, p, k, hash) == 0);
			if (flags & ENT_BADHASH)
				hash[0] ^= 1;
			memcpy(name, "mmsync-bundle/objects/", 22);
			hash_hex(name + 22, hash);
		}
		add(a, name, flags, p, k, NULL, 0);
		p += k;
		n -= k;
	}
	if (!man_done)
		add(a, "mmsync-bundle/manifest", 0, man, m, tail, sizeof(tail));
	archive_write_close(a);
	archive_write_free(a);
	return 0;
}

struct rows {
	uint64_t n;
};

static int row_fn(void *arg, const struct entry *e, const char *writer_name)
{
	struct rows *r = arg;

	FUZZ_ASSERT(e->path && e->path[0] && e->vv.n > 0);
	FUZZ_ASSERT(!writer_name || strlen(writer_name) <= REPLICA_NAME_MAX);
	r->n++;
	return 0;
}

/* Nothing of a bundle is left in the reader's .mmsync/. */
static void check_clean(void)
{
	DIR *d = opendir(reader->state);
	struct dirent *de;

	FUZZ_ASSERT(d);
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "bundle.", 7)) {
			fprintf(stderr, "fuzz_bundle: left behind: %s/%s\n", reader->state, de->d_name);
			abort();
		}
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle *b = NULL;
	struct rows rows = {0};
	int err;

	if (size < 1)
		return 0;
	if (data[0] == 1) {
		if (write_made(data + 1, size - 1) < 0)
			return 0;
	} else {
		write_file(data + 1, size - 1);
	}
	err = bundle_read(&b, file, reader, row_fn, &rows);
	if (err == 0) {
		const struct bundle_info *in = bundle_info(b);
		FUZZ_ASSERT(in->rows == rows.n);
		FUZZ_ASSERT(in->author_id != 0 && in->format == BUNDLE_FORMAT);
		bundle_free(b, 1);
	} else {
		FUZZ_ASSERT(b == NULL && mm_error_msg()[0] != '\0');
	}
	check_clean();
	mm_error_clear();
	return 0;
}
