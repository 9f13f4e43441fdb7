/*
 * Fuzz target: the bundle reader (bundle_read) with a reader replica, as
 * `mmsync bundle apply` calls it.
 *
 * Input: a mode byte, then
 *   0: a bundle file as is (a zstd-compressed pax archive);
 *   1: u32 LE manifest size M, M bytes of manifest frames, then objects
 *      (u16 LE size and bytes each).  The target writes them as a bundle
 *      with the checksum and object names right, so the fuzzer gets past
 *      them to the manifest's frames and the rows' checks.
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

	(void)argc;
	(void)argv;
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
	FUZZ_ASSERT(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static void add(struct archive *a, const char *name, const uint8_t *p, size_t n, const uint8_t *q, size_t qn)
{
	struct archive_entry *ae = archive_entry_new();

	FUZZ_ASSERT(ae);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)(n + qn));
	FUZZ_ASSERT(archive_write_header(a, ae) == ARCHIVE_OK);
	FUZZ_ASSERT(n == 0 || archive_write_data(a, p, n) == (la_ssize_t)n);
	FUZZ_ASSERT(qn == 0 || archive_write_data(a, q, qn) == (la_ssize_t)qn);
	archive_entry_free(ae);
}

/* Mode 1: manifest frames and objects made into a bundle with the right checksum and names. */
static int write_made(const uint8_t *p, size_t n)
{
	uint8_t tail[5 + HASH_LEN] = {0, 0, 0, 1 + HASH_LEN, MSG_CHECKSUM}, hash[HASH_LEN];
	char name[128];
	struct archive *a;
	size_t m;

	if (n < 4)
		return -1;
	m = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
	p += 4;
	n -= 4;
	if (m > n)
		m = n;
	FUZZ_ASSERT(hasher_buf(hasher, p, m, tail + 5) == 0);
	FUZZ_ASSERT((a = archive_write_new()) != NULL);
	FUZZ_ASSERT(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
	FUZZ_ASSERT(archive_write_add_filter_zstd(a) == ARCHIVE_OK);
	FUZZ_ASSERT(archive_write_set_filter_option(a, "zstd", "compression-level", "1") == ARCHIVE_OK);
	FUZZ_ASSERT(archive_write_open_filename(a, file) == ARCHIVE_OK);
	add(a, "mmsync-bundle/manifest", p, m, tail, sizeof(tail));
	p += m;
	n -= m;
	while (n >= 2) {
		size_t k = (size_t)p[0] | (size_t)p[1] << 8;
		p += 2;
		n -= 2;
		if (k > n)
			k = n;
		FUZZ_ASSERT(hasher_buf(hasher, p, k, hash) == 0);
		memcpy(name, "mmsync-bundle/objects/", 22);
		hash_hex(name + 22, hash);
		add(a, name, p, k, NULL, 0);
		p += k;
		n -= k;
	}
	FUZZ_ASSERT(archive_write_close(a) == ARCHIVE_OK);
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
	FUZZ_ASSERT(!writer_name || strlen(writer_name) <= PROTO_MAX_NAME);
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
