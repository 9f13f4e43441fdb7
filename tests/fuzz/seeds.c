/*
 * Writes the seed corpora of the frame, vv and delta fuzz targets into
 * DIR/frame, DIR/vv and DIR/delta (`make fuzz-seeds`; the bundle seeds come
 * from bundle-seeds.sh).  Seeds are real encodings made by the library's
 * own encoders, so the fuzzer starts from well-formed input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "sync/delta.h"
#include "sync/proto.h"
#include "sync/store.h"
#include "vv/vv.h"

static const char *top;

static void die(const char *what)
{
	fprintf(stderr, "seeds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void save(const char *target, const char *name, uint8_t mode, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", top, target, name);
	if (!(f = fopen(path, "wb")) || fwrite(&mode, 1, 1, f) != 1 || (n && fwrite(p, 1, n, f) != n) || fclose(f))
		die(path);
}

static void row(struct wbuf *b, const char *path, int kind, const char *target, uint64_t writer, uint64_t counter)
{
	struct entry e;

	entry_init(&e);
	entry_set_path(&e, path, strlen(path));
	e.kind = kind;
	e.mode = kind == ENTRY_DIR ? 0755 : 0644;
	e.size = kind == ENTRY_FILE ? 1234 : 0;
	e.mtime_ns = 1700000000123456789;
	e.mstamp_ns = 1700000000223456789;
	e.writer = writer;
	e.seq = counter;
	if (kind == ENTRY_FILE) {
		e.has_hash = 1;
		memset(e.hash, 0xab, sizeof(e.hash));
	}
	if (target)
		entry_set_target(&e, target, strlen(target));
	vv_set(&e.vv, writer, counter);
	vv_set(&e.vv, 0x1234567890abcdefull, 7);
	proto_put_row(b, &e);
	entry_dispose(&e);
}

/* A session's frames as the sender of a pull sends them, hello first. */
static void session(struct wbuf *hello, struct wbuf *rest)
{
	char *filters[] = {"docs", "src/main.c"};
	struct msg_hello h = {PROTO_VERSION, PROTO_CAP_ZSTD, 0x1111222233334444ull, 99, "laptop", PROTO_OP_PULL, 2,
	                      filters};
	struct msg_done d = {3, 4096, 1, 0, 1, 0};
	uint8_t hash[MM_HASH_LEN];

	memset(hash, 0xab, sizeof(hash));
	proto_put_hello(hello, &h);
	proto_put_u64(rest, MSG_WANT, 17);
	proto_put_replica(rest, 0x1111222233334444ull, "laptop");
	row(rest, "docs", ENTRY_DIR, NULL, 0x1111222233334444ull, 5);
	row(rest, "docs/a.txt", ENTRY_FILE, NULL, 0x1111222233334444ull, 6);
	row(rest, "docs/link", ENTRY_LINK, "a.txt", 0x1111222233334444ull, 7);
	row(rest, "old.txt", ENTRY_DELETED, NULL, 0x1111222233334444ull, 8);
	proto_put_u64(rest, MSG_INDEX_END, 8);
	proto_put_request(rest, hash);
	proto_put_raw(rest, MSG_DATA, "hello, world\n", 13);
	proto_put_u64(rest, MSG_DATA_END, 13);
	proto_put_raw(rest, MSG_MISSING, NULL, 0);
	proto_put_raw(rest, MSG_DREQUEST, hash, MM_HASH_LEN);
	proto_put_raw(rest, MSG_SIG, "\x72\x73\x01\x36", 4);
	proto_put_u64(rest, MSG_SIG_END, 4);
	proto_put_raw(rest, MSG_DELTA, "\x72\x73\x02\x36\x00", 5);
	proto_put_u64(rest, MSG_DELTA_END, 5);
	proto_put_done(rest, &d);
	proto_put_raw(rest, MSG_BYE, NULL, 0);
	proto_put_error(rest, "cannot open 'notes.txt': Permission denied");
}

static void frame_seeds(void)
{
	struct wbuf hello, rest, all;
	size_t bound;
	uint8_t *z;

	wbuf_init(&hello);
	wbuf_init(&rest);
	wbuf_init(&all);
	session(&hello, &rest);
	put_bytes(&all, hello.p, hello.len);
	put_bytes(&all, rest.p, rest.len);
	save("frame", "session", 0, all.p, all.len);
	save("frame", "session-cut", 2 * 5, all.p, all.len); /* reads of 35 bytes */
	save("frame", "hello", 0, hello.p, hello.len);
	/* after the hello, one zstd stream flushed per batch, as conn.c sends it */
	bound = ZSTD_compressBound(rest.len);
	if (!(z = malloc(hello.len + bound)))
		die("malloc");
	memcpy(z, hello.p, hello.len);
	size_t zn = ZSTD_compress(z + hello.len, bound, rest.p, rest.len, 1);
	if (ZSTD_isError(zn))
		die("zstd");
	save("frame", "session-zstd", 1, z, hello.len + zn);
	free(z);
	wbuf_dispose(&hello);
	wbuf_dispose(&rest);
	wbuf_dispose(&all);
}

static void vv_seed(const char *name, uint8_t fmt, const uint64_t *pairs, size_t n, const uint64_t *pairs2, size_t n2)
{
	struct vv a = VV_INIT, b = VV_INIT;
	uint8_t buf[2 * 4096];
	size_t la = 0, lb = 0;

	for (size_t i = 0; i < n; i++)
		vv_set(&a, pairs[2 * i], pairs[2 * i + 1]);
	for (size_t i = 0; i < n2; i++)
		vv_set(&b, pairs2[2 * i], pairs2[2 * i + 1]);
	vv_encode(buf, sizeof(buf), &la, &a);
	if (pairs2)
		vv_encode(buf + la, sizeof(buf) - la, &lb, &b);
	save("vv", name, fmt, buf, la + lb);
	vv_dispose(&a);
	vv_dispose(&b);
}

static void vv_seeds(void)
{
	static const uint64_t one[] = {1, 1};
	static const uint64_t three[] = {0x1111222233334444ull, 5,         0x5555666677778888ull, 300,
	                                 0xfffffffffffffff0ull, UINT64_MAX};
	static const uint64_t other[] = {0x1111222233334444ull, 6, 0x9999000011112222ull, 1};
	uint64_t many[2 * 40];

	for (int i = 0; i < 40; i++) {
		many[2 * i] = (uint64_t) (i + 1) << 40;
		many[2 * i + 1] = (uint64_t) 1 << i;
	}
	save("vv", "empty", 100, "\0", 1);
	vv_seed("one", 100, one, 1, NULL, 0);
	vv_seed("three", 10, three, 3, NULL, 0);
	vv_seed("pair", 0x90, three, 3, other, 2);
	vv_seed("pair-concurrent", 30, other, 2, three, 3);
	vv_seed("many", 0xff, many, 40, NULL, 0);
	save("vv", "id", 20, "CEIRCERTGMZEI", 13);
}

struct mem {
	uint8_t *p;
	size_t n;
};

static int mem_out(void *arg, const void *p, size_t n)
{
	struct mem *m = arg;

	if (!(m->p = realloc(m->p, m->n + n)))
		die("realloc");
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}

static int mem_fd(const uint8_t *p, size_t n)
{
	int fd = memfd_create("seed", 0);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t) n) || lseek(fd, 0, SEEK_SET) < 0)
		die("memfd");
	return fd;
}

/* Seeds for both modes of fuzz_delta: the delta of `new` against `basis` with that basis, and the signature. */
static void delta_pair(const char *name, const uint8_t *basis, size_t bn, const uint8_t *new, size_t nn)
{
	struct mem sig = {NULL, 0}, delta = {NULL, 0}, seed = {NULL, 0};
	struct delta_sig *s;
	int bfd = mem_fd(basis, bn), nfd = mem_fd(new, nn);
	char sname[64];
	uint8_t hdr[7] = {0, (uint8_t) bn, (uint8_t) (bn >> 8), (uint8_t) nn, (uint8_t) (nn >> 8), (uint8_t) (nn >> 16),
	                  0};

	if (delta_signature(bfd, bn, mem_out, &sig) < 0 || delta_sig_new(&s) < 0 ||
	    delta_sig_feed(s, sig.p, sig.n) < 0 || delta_sig_done(s) < 0 || delta_make(s, nfd, mem_out, &delta) < 0) {
		fprintf(stderr, "seeds: delta %s failed\n", name);
		exit(1);
	}
	/* piece byte 0 (all at once): the mode byte is written by save() */
	mem_out(&seed, hdr, sizeof(hdr));
	mem_out(&seed, basis, bn);
	mem_out(&seed, delta.p, delta.n);
	save("delta", name, 0, seed.p, seed.n);
	seed.p[0] = 7; /* fed in pieces of 7 bytes */
	snprintf(sname, sizeof(sname), "%s-cut", name);
	save("delta", sname, 0, seed.p, seed.n);
	snprintf(sname, sizeof(sname), "sig-%s", name);
	uint8_t piece = 0;
	seed.n = 0;
	mem_out(&seed, &piece, 1);
	mem_out(&seed, sig.p, sig.n);
	save("delta", sname, 1, seed.p, seed.n);
	seed.p[0] = 7;
	snprintf(sname, sizeof(sname), "sig-%s-cut", name);
	save("delta", sname, 1, seed.p, seed.n);
	delta_sig_free(s);
	close(bfd);
	close(nfd);
	free(sig.p);
	free(delta.p);
	free(seed.p);
}

static void delta_seeds(void)
{
	static uint8_t a[6000], b[6500];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(a); i++) {
		x = x * 1103515245 + 12345;
		a[i] = (uint8_t) (x >> 16);
	}
	/* b: a with an insertion, a change and a cut */
	memcpy(b, a, 2000);
	memcpy(b + 2000, "inserted text, some of it", 25);
	memcpy(b + 2025, a + 2000, 3000);
	memset(b + 3000, 'x', 40);
	delta_pair("edit", a, sizeof(a), b, 5025);
	delta_pair("same", a, 3000, a, 3000);
	delta_pair("new", a, 0, b, 700);
	delta_pair("empty", a, 2048, a, 0);
	delta_pair("text", (const uint8_t *) "line one\nline two\nline three\n", 29,
	           (const uint8_t *) "line one\nline 2\nline three\nline four\n", 37);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seeds DIR\n");
		return 2;
	}
	top = argv[1];
	frame_seeds();
	vv_seeds();
	delta_seeds();
	return 0;
}
