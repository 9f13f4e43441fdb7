/*
 * Fuzz target: the delta patcher (delta_patch_*) and the signature loader
 * (delta_sig_*), both fed by a peer.
 *
 * Input: a mode byte (bit 0: 0 patch, 1 signature), a byte giving the size
 * of the pieces the stream is fed in (0: all at once), then
 *   patch:     u16 LE basis size B, u32 LE out_max, B bytes of basis, the delta;
 *   signature: the signature, then (once loaded) a delta of the input made
 *              against it, which must succeed.
 * Oracles: the patch never writes more than out_max, the size it reports
 * is what it wrote, and a stream fed whole or in pieces (as frames cut it)
 * gives the same result.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sync/delta.h"
#include "sync/error.h"
#include "tests/fuzz/fuzz.h"

struct counter {
	uint64_t n, max, sum; /* sum: a hash of the bytes, in order */
};

static int count_out(void *arg, const void *p, size_t n)
{
	struct counter *c = arg;

	FUZZ_ASSERT(p != NULL || n == 0);
	c->n += n;
	FUZZ_ASSERT(c->n <= c->max);
	for (size_t i = 0; i < n; i++)
		c->sum = (c->sum ^ ((const uint8_t *) p)[i]) * 0x100000001b3ull; /* FNV-1a */
	return 0;
}

/* One memory file reused by every run: the basis, or the file a delta is made of. */
static int scratch_fd(const uint8_t *p, size_t n)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz-delta", MFD_CLOEXEC);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(ftruncate(fd, 0) == 0);
	FUZZ_ASSERT(n == 0 || pwrite(fd, p, n, 0) == (ssize_t) n);
	FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* Patches with the delta fed in pieces of `piece` bytes: 0 or an error; the output counted in *out. */
static int patch(int fd, size_t blen, const uint8_t *data, size_t size, size_t piece, struct counter *out)
{
	struct delta_patch *p;
	uint64_t written = 0;
	int err = 0;

	FUZZ_ASSERT(delta_patch_new(&p, fd, blen, out->max, count_out, out) == 0);
	for (size_t off = 0; off < size && err == 0; off += piece)
		err = delta_patch_feed(p, data + off, size - off < piece ? size - off : piece);
	if (err == 0) {
		err = delta_patch_done(p, &written);
		FUZZ_ASSERT(written == out->n && written <= out->max);
	}
	FUZZ_ASSERT(err <= 0);
	delta_patch_free(p);
	return err;
}

/*
 * A delta arrives in frames cut anywhere: fed whole or in pieces, it must
 * give the same result.
 */
static void fuzz_patch(const uint8_t *data, size_t size, size_t piece)
{
	struct counter whole = {0, 0, 0}, cut;
	size_t blen;
	int fd, rc_whole, rc_cut;

	if (size < 6)
		return;
	blen = (size_t) data[0] | (size_t) data[1] << 8;
	whole.max = (uint64_t) data[2] | (uint64_t) data[3] << 8 | (uint64_t) data[4] << 16 | (uint64_t) data[5] << 24;
	cut = whole;
	data += 6;
	size -= 6;
	if (blen > size)
		blen = size;
	fd = scratch_fd(data, blen);
	data += blen;
	size -= blen;
	rc_whole = patch(fd, blen, data, size, size ? size : 1, &whole);
	if (piece >= size)
		return;
	rc_cut = patch(fd, blen, data, size, piece, &cut);
	FUZZ_ASSERT((rc_whole == 0) == (rc_cut == 0));
	if (rc_whole == 0)
		FUZZ_ASSERT(whole.n == cut.n && whole.sum == cut.sum);
}

/* Loads a signature fed in pieces: 0 when it loads, else an error; a loaded one makes a delta of anything. */
static int load_sig(const uint8_t *data, size_t size, size_t piece)
{
	struct delta_sig *s;
	struct counter out = {0, UINT64_MAX, 0};
	int err = 0;

	FUZZ_ASSERT(delta_sig_new(&s) == 0);
	for (size_t off = 0; off < size && err == 0; off += piece)
		err = delta_sig_feed(s, data + off, size - off < piece ? size - off : piece);
	if (err == 0 && (err = delta_sig_done(s)) == 0) {
		int fd = scratch_fd(data, size);
		FUZZ_ASSERT(delta_make(s, fd, count_out, &out) == 0);
	}
	delta_sig_free(s);
	return err;
}

static void fuzz_sig(const uint8_t *data, size_t size, size_t piece)
{
	int rc_whole = load_sig(data, size, size ? size : 1);

	if (piece < size)
		FUZZ_ASSERT((rc_whole == 0) == (load_sig(data, size, piece) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece;

	if (size < 2)
		return 0;
	piece = data[1] ? data[1] : size; /* 0: all at once */
	if (data[0] & 1)
		fuzz_sig(data + 2, size - 2, piece);
	else
		fuzz_patch(data + 2, size - 2, piece);
	mm_error_clear();
	return 0;
}
