/* Content deltas: see delta.h. */
#include "delta.h"

#include <errno.h>
#include <librsync.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#define DELTA_BUF (64 * 1024)

/* librsync logs its errors to stderr by default: the engine never prints, its callers say what failed */
static void quiet(rs_loglevel level, char const *msg)
{
	(void) level;
	(void) msg;
}

static void hush(void)
{
	static int done;

	if (!done) {
		rs_trace_to(quiet);
		done = 1;
	}
}

/*
 * Runs `job` over the input at in/n (eof: no more will come), passing what
 * it writes to `out`.  Returns 0 when the input is used up (or the job is
 * done: *done set), else an error.
 */
static int crank(rs_job_t *job, const void *in, size_t n, int eof, delta_out_fn out, void *arg, int *done,
                 const char *what)
{
	char buf[DELTA_BUF];
	rs_buffers_t b;
	int err;

	hush();
	memset(&b, 0, sizeof(b));
	b.next_in = (char *) in;
	b.avail_in = n;
	b.eof_in = eof;
	for (;;) {
		size_t before = b.avail_in;
		b.next_out = buf;
		b.avail_out = sizeof(buf);
		rs_result rc = rs_job_iter(job, &b);
		size_t made = sizeof(buf) - b.avail_out;
		if (made && out && (err = out(arg, buf, made)) < 0)
			return err;
		if (rc == RS_DONE) {
			if (done)
				*done = 1;
			/* the stream has ended: anything after its end is not part of it */
			return b.avail_in ? mm_error_set(MM_ECORRUPT, "%s: bytes after its end", what) : 0;
		}
		if (rc != RS_BLOCKED)
			return mm_error_set(MM_ECORRUPT, "%s: %s", what, rs_strerror(rc));
		/* blocked: on input when it took nothing more and made nothing more */
		if (made == 0 && b.avail_in == before) {
			if (!eof && b.avail_in == 0)
				return 0;
			return mm_error_set(MM_ECORRUPT, "%s: %s", what, eof ? "ended too soon" : "stuck");
		}
	}
}

/* ---------------------------------------------------------------- signature */

static unsigned log2_ceil(uint64_t v)
{
	unsigned n = 0;

	while (n < 64 && ((uint64_t) 1 << n) < v)
		n++;
	return n;
}

/*
 * Strong sum bytes per block: the fewest that keep chance false matches
 * (each position of the new file against each block, past the 32-bit
 * rolling sum) under one in 1,000 deltas.  A false match only spoils the
 * delta: the result's SHA-256 is checked, and the file fetched whole.
 * rsync reasons the same way; librsync's own minimum is about twice this.
 */
static size_t strong_bytes(uint64_t size, size_t block_len)
{
	uint64_t blocks = block_len ? size / block_len + 1 : 1;
	int bits = (int) log2_ceil(size + 1) + (int) log2_ceil(blocks) - 32 + 10;
	size_t n = bits <= 16 ? 2 : (size_t) (bits + 7) / 8;

	return n > RS_MAX_STRONG_SUM_LENGTH ? RS_MAX_STRONG_SUM_LENGTH : n;
}

int delta_signature(int fd, uint64_t size, delta_out_fn out, void *arg)
{
	/*
	 * MD4 strong sums: twice BLAKE2's speed here, and safe for this use: a
	 * collision could only spoil a delta, and the result's SHA-256 is checked.
	 */
	rs_magic_number magic = RS_RK_MD4_SIG_MAGIC;
	size_t block_len = 0, strong_len = 0;
	static __thread char buf[DELTA_BUF];
	uint64_t off = 0;
	rs_job_t *job;
	int err = 0, done = 0;

	hush();
	if (rs_sig_args((rs_long_t) size, &magic, &block_len, &strong_len) != RS_DONE)
		return mm_error_set(MM_ERROR, "cannot size a signature for %llu bytes", (unsigned long long) size);
	strong_len = strong_bytes(size, block_len);
	if (!(job = rs_sig_begin(block_len, strong_len, magic)))
		return mm_error_oom();
	while (!done && err == 0) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t) off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = mm_error_errno(MM_EIO, errno, "cannot read a delta's basis");
			break;
		}
		off += (uint64_t) n;
		err = crank(job, buf, (size_t) n, n == 0, out, arg, &done, "signature");
		if (n == 0 && !done && err == 0)
			err = mm_error_set(MM_ERROR, "signature: did not end");
	}
	rs_job_free(job);
	return err;
}

#define SIG_HEADER 12 /* magic, block length, strong sum length: 4 bytes each, big-endian */

struct delta_sig {
	rs_signature_t *sig;
	rs_job_t *job;
	uint64_t fed;
	int loaded;
	uint8_t header[SIG_HEADER];
};

int delta_sig_new(struct delta_sig **out)
{
	struct delta_sig *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return mm_error_oom();
	hush();
	if (!(s->job = rs_loadsig_begin(&s->sig))) {
		free(s);
		return mm_error_oom();
	}
	*out = s;
	return 0;
}

int delta_sig_feed(struct delta_sig *s, const void *p, size_t n)
{
	int done = 0, err;

	for (size_t i = 0; s->fed + i < SIG_HEADER && i < n; i++)
		s->header[s->fed + i] = ((const uint8_t *) p)[i];
	s->fed += n;
	if (s->fed > DELTA_MAX_SIG)
		return mm_error_set(MM_ECORRUPT, "protocol error: a signature of more than %u bytes", DELTA_MAX_SIG);
	if (s->loaded)
		return mm_error_set(MM_ECORRUPT, "protocol error: bytes after the end of a signature");
	err = crank(s->job, p, n, 0, NULL, NULL, &done, "protocol error: bad signature");
	if (done)
		s->loaded = 1;
	return err;
}

int delta_sig_done(struct delta_sig *s)
{
	int done = s->loaded, err = 0;
	uint32_t strong = (uint32_t) s->header[8] << 24 | (uint32_t) s->header[9] << 16 |
	                  (uint32_t) s->header[10] << 8 | s->header[11];

	/* whole blocks only: librsync takes a signature cut inside a weak sum for a shorter one */
	if (s->fed < SIG_HEADER || strong == 0 || strong > RS_MAX_STRONG_SUM_LENGTH ||
	    (s->fed - SIG_HEADER) % (4 + strong))
		return mm_error_set(MM_ECORRUPT, "protocol error: a signature cut short");

	if (!done)
		err = crank(s->job, NULL, 0, 1, NULL, NULL, &done, "protocol error: bad signature");
	if (err == 0 && !done)
		err = mm_error_set(MM_ECORRUPT, "protocol error: a signature that does not end");
	if (err == 0 && rs_build_hash_table(s->sig) != RS_DONE)
		err = mm_error_set(MM_ECORRUPT, "protocol error: a signature that cannot be indexed");
	return err;
}

void delta_sig_free(struct delta_sig *s)
{
	if (!s)
		return;
	if (s->job)
		rs_job_free(s->job);
	if (s->sig)
		rs_free_sumset(s->sig);
	free(s);
}

int delta_make(struct delta_sig *s, int fd, delta_out_fn out, void *arg)
{
	static __thread char buf[DELTA_BUF];
	rs_job_t *job = rs_delta_begin(s->sig);
	int err = 0, done = 0;

	if (!job)
		return mm_error_oom();
	while (!done && err == 0) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = mm_error_errno(MM_EIO, errno, "cannot read for a delta");
			break;
		}
		err = crank(job, buf, (size_t) n, n == 0, out, arg, &done, "delta");
		if (n == 0 && !done && err == 0)
			err = mm_error_set(MM_ERROR, "delta: did not end");
	}
	rs_job_free(job);
	return err;
}

/* ---------------------------------------------------------------- patch */

struct delta_patch {
	rs_job_t *job;
	int basis_fd;
	uint64_t basis_size, out_max, written;
	delta_out_fn fn;
	void *arg;
	int done, bad; /* bad: the delta asked for something outside the basis */
	char *copybuf;
};

/* The basis, read for a COPY command: only what lies inside it. */
static rs_result copy_from_basis(void *opaque, rs_long_t pos, size_t *len, void **buf)
{
	struct delta_patch *p = opaque;
	size_t want = *len, got = 0;

	if (pos < 0 || (uint64_t) pos > p->basis_size || want > p->basis_size - (uint64_t) pos) {
		p->bad = 1;
		return RS_CORRUPT;
	}
	if (want > DELTA_BUF)
		want = DELTA_BUF; /* librsync takes what it is given and asks again */
	while (got < want) {
		ssize_t n = pread(p->basis_fd, p->copybuf + got, want - got, (off_t) ((uint64_t) pos + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return RS_IO_ERROR; /* shorter than it was: the result's hash will not match */
		got += (size_t) n;
	}
	*buf = p->copybuf;
	*len = got;
	return RS_DONE;
}

/* Output of the patch: counted against the size the peer announced. */
static int patch_out(void *arg, const void *data, size_t n)
{
	struct delta_patch *p = arg;

	if (n > p->out_max - p->written)
		return mm_error_set(MM_ECORRUPT,
		                    "protocol error: a delta that makes more than the %llu bytes announced",
		                    (unsigned long long) p->out_max);
	p->written += n;
	return p->fn(p->arg, data, n);
}

int delta_patch_new(struct delta_patch **out, int basis_fd, uint64_t basis_size, uint64_t out_max, delta_out_fn fn,
                    void *arg)
{
	struct delta_patch *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p || !(p->copybuf = malloc(DELTA_BUF))) {
		free(p);
		return mm_error_oom();
	}
	p->basis_fd = basis_fd;
	p->basis_size = basis_size;
	p->out_max = out_max;
	p->fn = fn;
	p->arg = arg;
	if (!(p->job = rs_patch_begin(copy_from_basis, p))) {
		free(p->copybuf);
		free(p);
		return mm_error_oom();
	}
	*out = p;
	return 0;
}

static int patch_crank(struct delta_patch *p, const void *data, size_t n, int eof)
{
	int err;

	if (p->done)
		return n ? mm_error_set(MM_ECORRUPT, "protocol error: bytes after the end of a delta") : 0;
	err = crank(p->job, data, n, eof, patch_out, p, &p->done, "protocol error: bad delta");
	if (err < 0 && p->bad)
		err = mm_error_set(MM_ECORRUPT, "protocol error: a delta that copies from outside its basis");
	return err;
}

int delta_patch_feed(struct delta_patch *p, const void *data, size_t n)
{
	return patch_crank(p, data, n, 0);
}

int delta_patch_done(struct delta_patch *p, uint64_t *written)
{
	int err = patch_crank(p, NULL, 0, 1);

	*written = p->written;
	if (err == 0 && !p->done)
		err = mm_error_set(MM_ECORRUPT, "protocol error: a delta that does not end");
	return err;
}

void delta_patch_free(struct delta_patch *p)
{
	if (!p)
		return;
	if (p->job)
		rs_job_free(p->job);
	free(p->copybuf);
	free(p);
}
