/*
 * mmsync-hostile: a malicious peer for the system tests (t-80..t-8x).
 *
 * It speaks the sync protocol with mmsync's own encoders (proto_put_*) and
 * lets each case corrupt what it sends: overwrite a length or a count,
 * truncate, flip, reorder, inject a frame, stall, compress a bomb.
 *
 *   mmsync-hostile --list                 the cases, one per line: NAME ROLE
 *   mmsync-hostile server CASE [ARGS...]  plays the far side of `--ssh`: the
 *                                         victim is a client (pull); ARGS (what
 *                                         mmsync appends for ssh) are ignored
 *   mmsync-hostile client CASE DIR        spawns `$MMSYNC -C DIR serve --stdio`
 *                                         and plays a client against it; exits
 *                                         with the victim's status and prints
 *                                         the ERROR it sent on stderr
 *
 * Environment: HOSTILE_CUT=N (case "cut"): stop sending after N bytes;
 * HOSTILE_SENT=FILE: the number of bytes sent is written there at the end;
 * HOSTILE_CAPTURE=FILE: every byte received from the victim is appended;
 * HOSTILE_RACE=CMD: run with sh once the victim has scanned (case
 * "race-dir-symlink"); HOSTILE_TREE=1|2|3: the tree the honest cases serve;
 * HOSTILE_SECRET_FILE=FILE: a signature of it received is noted in HOSTILE_LOG;
 * HOSTILE_BIG=N: the size of its big.txt; HOSTILE_FRAMES=FILE: the offset
 * where each message begins; HOSTILE_LOG=FILE: notes (a whole-content
 * request after a delta); HOSTILE_OUTSIDE=DIR: where hostile links and
 * absolute paths point; HOSTILE_SECRET_HASH=HEX: the content the client
 * cases ask for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "sync/delta.h"
#include "sync/hash.h"
#include "sync/path.h"
#include "sync/proto.h"
#include "sync/store.h"
#include "vv/vv.h"

#define H_ID    0x484f5354494c4531ull /* the hostile replica's id */
#define H_INDEX 0x1234567812345678ull
#define H_NAME  "hostile"
#define MTIME   1700000000000000000ll

enum role { SERVER, CLIENT_PUSH, CLIENT_PULL };

/* Where a hook is called: the message just encoded is in `m`. */
enum stage { ST_HELLO, ST_REPLICA, ST_ROW, ST_INDEX_END, ST_DATA, ST_DATA_END, ST_DELTA, ST_BYE, ST_WANT, ST_DONE };

struct vent {
	const char *path;
	size_t plen; /* 0: strlen(path) */
	int kind;
	const char *content; /* files: content; links: target */
	uint64_t counter;
};

struct hcase;

struct peer {
	int rfd, wfd;
	uint8_t *in;
	size_t in_len, in_off, in_cap;
	long long budget; /* bytes that may still be sent, -1: no limit */
	uint64_t sent;
	int capfd;
	uint64_t victim_id;
	uint64_t victim_caps;
	unsigned victim_op;
	const struct hcase *hc;
	struct vent *tree;
	size_t ntree;
	int ndata;                           /* DATA frames sent so far */
	int nreq;                            /* requests answered so far */
	int retry;                           /* the request at hand is for content already sent as a delta */
	uint8_t delta_hash[16][MM_HASH_LEN]; /* content sent as a delta */
	int ndelta;
	uint64_t failed; /* what the victim's DONE said it could not apply */
	pid_t child;
	char errmsg[PROTO_MAX_MSG + 1];
};

typedef void (*hook_fn)(struct peer *p, int stage, int idx, struct wbuf *m);
typedef void (*flow_fn)(struct peer *p);

struct hcase {
	const char *name;
	enum role role;
	hook_fn hook;            /* may corrupt each message */
	const struct vent *tree; /* NULL: the default tree */
	flow_fn after_hello;     /* NULL: the honest flow */
	uint64_t caps;           /* what the hostile side accepts/offers */
	const char *const *filters;
	const char *path; /* hk_plant_path: the path its first row names instead */
};

static struct vent tree1[] = {
        {"big.txt", 0, ENTRY_FILE, NULL, 1},
        {"gone.txt", 0, ENTRY_FILE, "to be deleted\n", 1},
        {"new.txt", 0, ENTRY_FILE, "hello from the peer\n", 1},
        {"sub", 0, ENTRY_DIR, NULL, 1},
        {"sub/inner.txt", 0, ENTRY_FILE, "inner\n", 1},
        {NULL, 0, 0, NULL, 0},
};
static struct vent tree2[] = {
        {"big.txt", 0, ENTRY_FILE, NULL, 2},
        {"gone.txt", 0, ENTRY_DELETED, NULL, 2},
        {"lnk", 0, ENTRY_LINK, "sub/inner.txt", 2},
        {"new.txt", 0, ENTRY_FILE, "hello again from the peer\n", 2},
        {"sub", 0, ENTRY_DIR, NULL, 1},
        {"sub/inner.txt", 0, ENTRY_FILE, "inner, changed\n", 2},
        {"sub/two.txt", 0, ENTRY_FILE, "two\n", 2},
        {NULL, 0, 0, NULL, 0},
};
/*
 * Tree 1 to tree 3, for the truncation test: only the rows that changed (as
 * an honest sender sends them), every kind of row, content in DATA frames.
 */
static struct vent tree3[] = {
        {"gone.txt", 0, ENTRY_DELETED, NULL, 2},
        {"lnk", 0, ENTRY_LINK, "sub/inner.txt", 2},
        {"new.txt", 0, ENTRY_FILE, "hello again from the peer\n", 2},
        {"sub/inner.txt", 0, ENTRY_FILE, "inner, changed\n", 2},
        {"sub2", 0, ENTRY_DIR, NULL, 2},
        {NULL, 0, 0, NULL, 0},
};
static char big1[4096], big2[4096];

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "mmsync-hostile: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(99);
}

/* ------------------------------------------------------------ byte I/O */

static void cut_now(struct peer *p)
{
	/* the rest of the session never comes: the victim sees the end of the stream */
	if (shutdown(p->wfd, SHUT_WR) < 0)
		close(p->wfd);
	for (;;) {
		uint8_t buf[65536];
		ssize_t n = read(p->rfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (p->capfd >= 0 && write(p->capfd, buf, (size_t) n) < 0)
			break;
	}
	const char *sent = getenv("HOSTILE_SENT");
	if (sent) {
		FILE *f = fopen(sent, "w");
		if (f) {
			fprintf(f, "%llu\n", (unsigned long long) p->sent);
			fclose(f);
		}
	}
	exit(0);
}

/* Reads what the victim sent (never blocks when `block` is 0): 1 read, 0 nothing, -1 end. */
static int pull_in(struct peer *p, int block)
{
	if (p->in_cap - p->in_len < 65536) {
		if (p->in_off) {
			memmove(p->in, p->in + p->in_off, p->in_len - p->in_off);
			p->in_len -= p->in_off;
			p->in_off = 0;
		}
		if (p->in_cap - p->in_len < 65536) {
			p->in_cap = p->in_cap ? p->in_cap * 2 : 1 << 20;
			if (!(p->in = realloc(p->in, p->in_cap)))
				die("out of memory%s", "");
		}
	}
	for (;;) {
		struct pollfd pf = {p->rfd, POLLIN, 0};
		int rc = poll(&pf, 1, block ? 60000 : 0);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			return block ? -1 : 0;
		ssize_t n = read(p->rfd, p->in + p->in_len, p->in_cap - p->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (p->capfd >= 0 && write(p->capfd, p->in + p->in_len, (size_t) n) < 0)
			die("cannot write the capture%s", "");
		p->in_len += (size_t) n;
		return 1;
	}
}

/* Sends raw bytes, taking in what the victim sends meanwhile; honours the budget. 0, or -1 when the victim left. */
static int send_raw(struct peer *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	while (len) {
		size_t n = len;
		if (p->budget >= 0 && (long long) n > p->budget)
			n = (size_t) p->budget;
		if (n == 0)
			cut_now(p);
		struct pollfd pf[2] = {{p->wfd, POLLOUT, 0}, {p->rfd, POLLIN, 0}};
		if (poll(pf, 2, 60000) <= 0)
			return -1;
		if (pf[1].revents & (POLLIN | POLLHUP))
			pull_in(p, 0);
		if (!(pf[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		ssize_t w = write(p->wfd, b, n);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return -1;
		b += w;
		len -= (size_t) w;
		p->sent += (uint64_t) w;
		if (p->budget >= 0)
			p->budget -= w;
	}
	if (p->budget == 0)
		cut_now(p);
	return 0;
}

/* The next frame from the victim: its type (payload in *pl, *len), or -1 at the end of its stream. */
static int recv_frame(struct peer *p, const uint8_t **pl, size_t *len)
{
	for (;;) {
		size_t have = p->in_len - p->in_off;
		if (have >= 4) {
			const uint8_t *h = p->in + p->in_off;
			uint32_t n = (uint32_t) h[0] << 24 | (uint32_t) h[1] << 16 | (uint32_t) h[2] << 8 | h[3];
			if (n == 0 || n > PROTO_MAX_FRAME)
				die("the victim sent a bad frame%s", "");
			if (have >= 4 + (size_t) n) {
				int type = h[4];
				*pl = h + 5;
				*len = n - 1;
				p->in_off += 4 + (size_t) n;
				if (type == MSG_ERROR && proto_get_error(p->errmsg, *pl, *len) < 0)
					snprintf(p->errmsg, sizeof(p->errmsg), "(a malformed error)");
				return type;
			}
		}
		if (pull_in(p, 1) < 0)
			return -1;
	}
}

/* Sends one message, after the case's hook had its go at it. */
static int emit(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static FILE *frames;
	int rc = 0;

	if (p->hc->hook)
		p->hc->hook(p, stage, idx, m);
	/* where each message begins in the stream (for the truncation test) */
	if (!frames && getenv("HOSTILE_FRAMES"))
		frames = fopen(getenv("HOSTILE_FRAMES"), "w");
	if (frames && m->len) {
		fprintf(frames, "%llu\n", (unsigned long long) p->sent);
		fflush(frames);
	}
	if (m->len)
		rc = send_raw(p, m->p, m->len);
	wbuf_reset(m);
	return rc;
}

/* ------------------------------------------------------------ the tree */

static void content_hash(const char *c, size_t n, uint8_t out[MM_HASH_LEN])
{
	struct hasher *h;

	if (hasher_new(&h) < 0 || hasher_buf(h, c, n, out) < 0)
		die("cannot hash%s", "");
	hasher_free(h);
}

static void make_row(struct entry *e, const struct vent *v, uint64_t seq)
{
	size_t plen = v->plen ? v->plen : strlen(v->path);

	entry_init(e);
	if (entry_set_path(e, v->path, plen) < 0)
		die("out of memory%s", "");
	e->kind = v->kind;
	e->mode = v->kind == ENTRY_DIR ? 0755 : v->kind == ENTRY_FILE ? 0644 : 0777;
	e->mtime_ns = e->mstamp_ns = MTIME + (int64_t) v->counter * 1000000000ll;
	e->writer = H_ID;
	e->seq = seq;
	if (v->kind == ENTRY_FILE) {
		e->size = strlen(v->content);
		e->has_hash = 1;
		content_hash(v->content, e->size, e->hash);
	} else if (v->kind == ENTRY_LINK) {
		entry_set_target(e, v->content, strlen(v->content));
		e->size = strlen(v->content);
	}
	vv_set(&e->vv, H_ID, v->counter);
}

/* Rows a hook put in the index: their content is served too. */
static struct vent extra[8];
static size_t nextra;

static const struct vent *find_content(struct peer *p, const uint8_t hash[MM_HASH_LEN])
{
	for (size_t i = 0; i < p->ntree + nextra; i++) {
		const struct vent *v = i < p->ntree ? &p->tree[i] : &extra[i - p->ntree];
		uint8_t h[MM_HASH_LEN];
		if (v->kind != ENTRY_FILE)
			continue;
		content_hash(v->content, strlen(v->content), h);
		if (!memcmp(h, hash, MM_HASH_LEN))
			return v;
	}
	return NULL;
}

/* ------------------------------------------------------------ honest flows */

static struct wbuf M; /* the message being built */

static int send_index(struct peer *p)
{
	struct entry e;

	proto_put_replica(&M, H_ID, H_NAME);
	if (emit(p, ST_REPLICA, 0, &M) < 0)
		return -1;
	for (size_t i = 0; i < p->ntree; i++) {
		make_row(&e, &p->tree[i], i + 1);
		proto_put_row(&M, &e);
		entry_dispose(&e);
		if (emit(p, ST_ROW, (int) i, &M) < 0)
			return -1;
	}
	proto_put_u64(&M, MSG_INDEX_END, p->ntree);
	return emit(p, ST_INDEX_END, 0, &M);
}

static int put_m(void *arg, const void *b, size_t n)
{
	struct wbuf *w = arg;

	put_bytes(w, b, n);
	return 0;
}

/* Notes in HOSTILE_LOG when a signature the victim sent is the one of HOSTILE_SECRET_FILE (read outside its root). */
static void check_secret_sig(const struct wbuf *got)
{
	const char *secret = getenv("HOSTILE_SECRET_FILE"), *log = getenv("HOSTILE_LOG");
	struct wbuf want;
	struct stat sb;
	int fd;

	if (!secret || !log || (fd = open(secret, O_RDONLY)) < 0)
		return;
	wbuf_init(&want);
	if (fstat(fd, &sb) == 0 && delta_signature(fd, (uint64_t) sb.st_size, put_m, &want) == 0 &&
	    want.len == got->len && !memcmp(want.p, got->p, got->len)) {
		FILE *f = fopen(log, "a");
		if (f) {
			fprintf(f, "the victim sent the signature of '%s'\n", secret);
			fclose(f);
		}
	}
	close(fd);
	wbuf_dispose(&want);
}

/* Answers one REQUEST (or DREQUEST, whose signature follows) with what the tree holds. */
static int answer(struct peer *p, int type, const uint8_t *pl, size_t len)
{
	const struct vent *v;
	int idx = p->nreq++;

	if (len != MM_HASH_LEN)
		die("a malformed request%s", "");
	v = find_content(p, pl);
	p->retry = 0;
	for (int i = 0; i < p->ndelta; i++)
		if (!memcmp(p->delta_hash[i], pl, MM_HASH_LEN))
			p->retry = 1;
	if (type == MSG_DREQUEST && p->ndelta < 16)
		memcpy(p->delta_hash[p->ndelta++], pl, MM_HASH_LEN);
	if (p->retry && getenv("HOSTILE_LOG")) {
		FILE *f = fopen(getenv("HOSTILE_LOG"), "a");
		if (f) {
			fprintf(f, "whole content asked for '%s' after its delta\n", v ? v->path : "?");
			fclose(f);
		}
	}
	if (type == MSG_DREQUEST) {
		struct delta_sig *sig = NULL;
		const uint8_t *q;
		size_t n;
		int t;
		struct wbuf got;
		delta_sig_new(&sig);
		wbuf_init(&got);
		while ((t = recv_frame(p, &q, &n)) == MSG_SIG) {
			delta_sig_feed(sig, q, n);
			put_bytes(&got, q, n);
		}
		if (t != MSG_SIG_END)
			return -1;
		check_secret_sig(&got);
		wbuf_dispose(&got);
		if (!v || delta_sig_done(sig) < 0) {
			delta_sig_free(sig);
			proto_put_raw(&M, MSG_MISSING, NULL, 0);
			return emit(p, ST_DELTA, idx, &M);
		}
		int fd = memfd_create("content", 0);
		struct wbuf d;
		wbuf_init(&d);
		if (fd < 0 || write(fd, v->content, strlen(v->content)) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
		    delta_make(sig, fd, put_m, &d) < 0)
			die("cannot make a delta%s", "");
		close(fd);
		delta_sig_free(sig);
		/* ST_DELTA: the whole delta in one DELTA frame, then DELTA_END */
		proto_put_raw(&M, MSG_DELTA, d.p, d.len);
		proto_put_u64(&M, MSG_DELTA_END, d.len);
		wbuf_dispose(&d);
		return emit(p, ST_DELTA, idx, &M);
	}
	if (!v) {
		proto_put_raw(&M, MSG_MISSING, NULL, 0);
		return emit(p, ST_DATA_END, idx, &M);
	}
	size_t n = strlen(v->content);
	if (n) {
		proto_put_raw(&M, MSG_DATA, v->content, n);
		p->ndata++;
		if (emit(p, ST_DATA, idx, &M) < 0)
			return -1;
	}
	proto_put_u64(&M, MSG_DATA_END, n);
	return emit(p, ST_DATA_END, idx, &M);
}

/* The sending side of a transfer phase, after WANT. */
static int send_phase(struct peer *p)
{
	const uint8_t *pl;
	size_t len;
	int type;
	struct msg_done d;

	if (send_index(p) < 0)
		return -1;
	for (;;) {
		type = recv_frame(p, &pl, &len);
		if (type == MSG_REQUEST || type == MSG_DREQUEST) {
			if (answer(p, type, pl, len) < 0)
				return -1;
			continue;
		}
		if (type != MSG_DONE || proto_get_done(&d, pl, len) < 0)
			return -1;
		p->failed = d.failed;
		return 0;
	}
}

/* The receiving side: asks for nothing. */
static int recv_phase(struct peer *p)
{
	const uint8_t *pl;
	size_t len;
	int type;
	struct msg_done d = {0};

	proto_put_u64(&M, MSG_WANT, 0);
	if (emit(p, ST_WANT, 0, &M) < 0)
		return -1;
	while ((type = recv_frame(p, &pl, &len)) == MSG_ROW || type == MSG_REPLICA)
		;
	if (type != MSG_INDEX_END)
		return -1;
	proto_put_done(&M, &d);
	return emit(p, ST_DONE, 0, &M);
}

static void my_hello(struct peer *p, unsigned op)
{
	struct msg_hello h;

	memset(&h, 0, sizeof(h));
	h.version = PROTO_VERSION;
	h.caps = p->hc->caps;
	h.replica_id = H_ID;
	h.index_id = H_INDEX;
	snprintf(h.name, sizeof(h.name), "%s", H_NAME);
	h.op = (uint8_t) op;
	if (p->hc->filters)
		for (h.filters = (char **) p->hc->filters; h.filters[h.nfilters]; h.nfilters++)
			;
	proto_put_hello(&M, &h);
}

static void run_race(void)
{
	const char *cmd = getenv("HOSTILE_RACE");

	if (cmd && system(cmd) != 0)
		die("the race command failed: %s", cmd);
}

static void drain(struct peer *p)
{
	while (pull_in(p, 1) >= 0)
		p->in_off = p->in_len;
}

/* The victim is a client: it pulls from here. */
static int run_server(struct peer *p)
{
	const uint8_t *pl;
	size_t len;
	int type;
	struct msg_hello vh;

	if ((type = recv_frame(p, &pl, &len)) != MSG_HELLO || proto_get_hello(&vh, pl, len) < 0)
		return -1;
	p->victim_id = vh.replica_id;
	p->victim_caps = vh.caps;
	p->victim_op = vh.op;
	proto_hello_dispose(&vh);
	my_hello(p, 0);
	if (emit(p, ST_HELLO, 0, &M) < 0)
		return -1;
	if (p->hc->after_hello) {
		p->hc->after_hello(p);
		drain(p);
		return 0;
	}
	if (p->victim_op & PROTO_OP_PULL) {
		if (recv_frame(p, &pl, &len) != MSG_WANT)
			return -1;
		run_race();
		if (send_phase(p) < 0)
			return -1;
	}
	if ((p->victim_op & PROTO_OP_PUSH) && recv_phase(p) < 0)
		return -1;
	if (recv_frame(p, &pl, &len) != MSG_BYE)
		return -1;
	return 0;
}

/* The victim is a server: it receives a push (or sends, for a pull). */
static int run_client(struct peer *p, unsigned op)
{
	const uint8_t *pl;
	size_t len;
	int type;
	struct msg_hello vh;

	my_hello(p, op);
	if (emit(p, ST_HELLO, 0, &M) < 0)
		return -1;
	if ((type = recv_frame(p, &pl, &len)) != MSG_HELLO || proto_get_hello(&vh, pl, len) < 0)
		return -1;
	p->victim_id = vh.replica_id;
	proto_hello_dispose(&vh);
	if (p->hc->after_hello) {
		p->hc->after_hello(p);
		return 0;
	}
	if (op & PROTO_OP_PULL && recv_phase(p) < 0)
		return -1;
	if (op & PROTO_OP_PUSH) {
		if (recv_frame(p, &pl, &len) != MSG_WANT)
			return -1;
		run_race();
		if (send_phase(p) < 0)
			return -1;
	}
	proto_put_raw(&M, MSG_BYE, NULL, 0);
	return emit(p, ST_BYE, 0, &M);
}

/* ------------------------------------------------------------ corruption helpers */

/* Frame layout in `m`: 4-byte length, type, payload. */
static void set_be(uint8_t *at, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		at[i] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
}

/* Patches the frame length to match what `m` now holds. */
static void fix_len(struct wbuf *m)
{
	set_be(m->p, m->len - 4, 4);
}

/* Offset of the vector length (u32) in a ROW frame. */
static size_t row_vv_at(const struct wbuf *m)
{
	size_t off = 5, plen = (size_t) m->p[5] << 8 | m->p[6];
	int kind;

	off += 2 + plen;
	kind = m->p[off];
	off += 1 + 2 + 8 * 5;
	if (kind == ENTRY_FILE)
		off += MM_HASH_LEN;
	else if (kind == ENTRY_LINK)
		off += 2 + ((size_t) m->p[off] << 8 | m->p[off + 1]);
	return off;
}

/* Replaces the vector of a ROW frame by raw bytes. */
static void row_set_vv(struct wbuf *m, const uint8_t *v, size_t n)
{
	size_t at = row_vv_at(m);

	m->len = at;
	put_u32(m, (uint32_t) n);
	put_bytes(m, v, n);
	fix_len(m);
}

static void row_set_vv_struct(struct wbuf *m, const struct vv *v)
{
	uint8_t buf[256];
	size_t n;

	if (vv_encode(buf, sizeof(buf), &n, v) < 0)
		die("cannot encode a vector%s", "");
	row_set_vv(m, buf, n);
}

/* A ROW frame for `v` appended to `m`. */
static void put_row_for(struct wbuf *m, const struct vent *v, uint64_t seq)
{
	struct entry e;

	if (v->kind == ENTRY_FILE && nextra < sizeof(extra) / sizeof(extra[0]))
		extra[nextra++] = *v;
	make_row(&e, v, seq);
	proto_put_row(m, &e);
	entry_dispose(&e);
}

/* ------------------------------------------------------------ the cases */

#define FIRST_ROW (stage == ST_ROW && idx == 0)

static void hk_frame_len_zero(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		set_be(m->p, 0, 4);
}
static void hk_frame_len_huge(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		set_be(m->p, 0xffffffffu, 4);
}
static void hk_frame_len_over(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		set_be(m->p, PROTO_MAX_FRAME + 1, 4);
}
static void hk_hello_magic(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_HELLO)
		memcpy(m->p + 5, "RSYNCD", 6);
}
static void hk_hello_name_len(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	/* name length at 5+6+2+8+8+8 */
	if (stage == ST_HELLO)
		set_be(m->p + 37, 0xffff, 2);
}
static void hk_hello_filter_count(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	/* the filter count is the hello's last two bytes (none were sent) */
	if (stage == ST_HELLO)
		set_be(m->p + m->len - 2, 0xffff, 2);
}
static void hk_hello_version(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_HELLO)
		set_be(m->p + 11, PROTO_VERSION + 1, 2);
}
static void hk_hello_caps(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_HELLO)
		set_be(m->p + 13, 0x80, 8);
}
static void hk_hello_same_id(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) idx;
	if (stage == ST_HELLO)
		set_be(m->p + 21, p->victim_id, 8);
}
static void hk_hello_name_bad(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_HELLO)
		memcpy(m->p + 39, "../x/..", 7); /* "hostile" is 7 bytes */
}
static void hk_row_path_len(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW)
		set_be(m->p + 5, 0xffff, 2);
}
static void hk_row_vv_len_huge(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW)
		set_be(m->p + row_vv_at(m), 0xffffffffu, 4);
}
static void hk_row_vv_len_short(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	/* the vector's length says one byte more than the frame holds */
	if (FIRST_ROW) {
		size_t at = row_vv_at(m);
		set_be(m->p + at, (size_t) (m->len - at - 4) + 1, 4);
	}
}
static void hk_vv_count_huge(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static const uint8_t v[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 1};
	(void) p;
	if (FIRST_ROW)
		row_set_vv(m, v, sizeof(v));
}
static void hk_vv_count_over(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* VV_MAX_ENTRIES + 1 entries, well-formed */
	(void) p;
	if (FIRST_ROW) {
		size_t n = VV_MAX_ENTRIES + 1;
		struct wbuf v;
		wbuf_init(&v);
		put_u8(&v, (uint8_t) (0x80 | (n & 0x7f)));
		put_u8(&v, (uint8_t) (n >> 7));
		for (size_t i = 0; i < n; i++) {
			uint64_t id = i + 1;
			for (int b = 0; b < 8; b++)
				put_u8(&v, (uint8_t) (id >> (8 * b)));
			put_u8(&v, 1);
		}
		row_set_vv(m, v.p, v.len);
		wbuf_dispose(&v);
	}
}
static void hk_vv_zero_counter(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static const uint8_t v[] = {1, 1, 2, 3, 4, 5, 6, 7, 8, 0};
	(void) p;
	if (FIRST_ROW)
		row_set_vv(m, v, sizeof(v));
}
static void hk_vv_empty(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static const uint8_t v[] = {0};
	(void) p;
	if (FIRST_ROW)
		row_set_vv(m, v, sizeof(v));
}
static void hk_vv_unsorted(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static const uint8_t v[] = {2, 9, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1};
	(void) p;
	if (FIRST_ROW)
		row_set_vv(m, v, sizeof(v));
}
static void hk_vv_overlong_varint(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* counter 1 as an 11-byte varint (past 64 bits) */
	static const uint8_t v[] = {1,    1,    2,    3,    4,    5,    6,    7,    8,    0x81,
	                            0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
	(void) p;
	if (FIRST_ROW)
		row_set_vv(m, v, sizeof(v));
}
static void hk_vv_own_counter_huge(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* a version "by the victim itself" it never made: its own counter at the top */
	if (FIRST_ROW) {
		struct vv v = VV_INIT;
		vv_set(&v, H_ID, 1);
		vv_set(&v, p->victim_id, UINT64_MAX);
		row_set_vv_struct(m, &v);
		vv_dispose(&v);
	}
}
static void hk_vv_counter_huge(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW) {
		struct vv v = VV_INIT;
		vv_set(&v, H_ID, UINT64_MAX);
		row_set_vv_struct(m, &v);
		vv_dispose(&v);
	}
}
static void hk_row_kind(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW)
		m->p[7 + ((size_t) m->p[5] << 8 | m->p[6])] = 7;
}
static void hk_row_mode(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW)
		set_be(m->p + 8 + ((size_t) m->p[5] << 8 | m->p[6]), 0xffff, 2);
}
static void hk_row_writer_zero(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	/* writer: after path, kind, mode, size, mtime, mstamp */
	if (FIRST_ROW)
		set_be(m->p + 10 + ((size_t) m->p[5] << 8 | m->p[6]) + 24, 0, 8);
}
static void hk_row_size_huge(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	/* the size after path, kind and mode */
	if (FIRST_ROW)
		set_be(m->p + 10 + ((size_t) m->p[5] << 8 | m->p[6]), UINT64_MAX, 8);
}
static void hk_row_trailing(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW) {
		put_u8(m, 0);
		fix_len(m);
	}
}
static void hk_row_short(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW) {
		m->len -= 3;
		fix_len(m);
	}
}
static void hk_row_link_empty(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static const struct vent v = {"l", 0, ENTRY_LINK, "x", 1};
	(void) p;
	if (FIRST_ROW) {
		wbuf_reset(m);
		put_row_for(m, &v, 1);
		/* target length 0: the target's u16 is after path(2+1), kind, mode, 5 u64 */
		size_t at = 5 + 3 + 1 + 2 + 40;
		memmove(m->p + at + 2, m->p + at + 3, m->len - at - 3);
		m->len -= 1;
		set_be(m->p + at, 0, 2);
		fix_len(m);
	}
}

/* A row for an arbitrary path in place of the first row. */
/* The index holds only the rows a hook puts in place of the first. */
#define ONLY_ROWS                                                                                                      \
	do {                                                                                                           \
		if (stage == ST_ROW && idx > 0)                                                                        \
			wbuf_reset(m);                                                                                 \
	} while (0)

/* A row for an arbitrary path, alone in the index. */
static void first_row_path(int stage, int idx, struct wbuf *m, const char *path, size_t plen, int kind,
                           const char *content)
{
	ONLY_ROWS;
	if (FIRST_ROW) {
		struct vent v = {path, plen, kind, content, 1};
		wbuf_reset(m);
		put_row_for(m, &v, 1);
	}
}
static char outside_abs[4200];
/* The first row names the case's path instead of its own (a file with some content). */
static void hk_plant_path(struct peer *p, int stage, int idx, struct wbuf *m)
{
	first_row_path(stage, idx, m, p->hc->path, 0, ENTRY_FILE, "planted\n");
}
static void hk_path_absolute(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	first_row_path(stage, idx, m, outside_abs, 0, ENTRY_FILE, "escaped\n");
}
static void hk_path_empty(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (FIRST_ROW) {
		/* the path's length set to 0, the bytes dropped */
		size_t n = (size_t) m->p[5] << 8 | m->p[6];
		memmove(m->p + 7, m->p + 7 + n, m->len - 7 - n);
		m->len -= n;
		set_be(m->p + 5, 0, 2);
		fix_len(m);
	}
}
static void hk_path_nul(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	/* "new.txt", a NUL, "../../escape": encoded with a stand-in byte, then the NUL put in */
	first_row_path(stage, idx, m, "new.txt#../../escape", 0, ENTRY_FILE, "escaped\n");
	if (FIRST_ROW)
		m->p[7 + 7] = '\0';
}
static char longpath[MM_PATH_MAX + 2];
static void hk_path_too_long(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	/* 4096 bytes: one past MM_PATH_MAX, every name within MM_NAME_MAX */
	for (size_t i = 0; i < MM_PATH_MAX + 1; i++)
		longpath[i] = (i % 200 == 199) ? '/' : 'a';
	longpath[MM_PATH_MAX] = 'a';
	longpath[MM_PATH_MAX + 1] = '\0';
	first_row_path(stage, idx, m, longpath, 0, ENTRY_FILE, "long\n");
}
static void hk_name_too_long(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	memset(longpath, 'n', MM_NAME_MAX + 1);
	longpath[MM_NAME_MAX + 1] = '\0';
	first_row_path(stage, idx, m, longpath, 0, ENTRY_FILE, "long\n");
}
static void hk_path_duplicate(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	if (stage == ST_ROW && idx == 1) {
		/* new.txt again, after itself */
		size_t n = m->len;
		put_bytes(m, m->p, n);
	}
}
static void hk_path_order(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static struct wbuf held;
	(void) p;
	/* big.txt held back and sent after new.txt */
	if (FIRST_ROW) {
		wbuf_init(&held);
		put_bytes(&held, m->p, m->len);
		wbuf_reset(m);
	} else if (stage == ST_ROW && idx == 1) {
		put_bytes(m, held.p, held.len);
	}
}
static void hk_link_beneath(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* a link to the sentinel directory, then a file "beneath" it */
	static const struct vent l = {"esc", 0, ENTRY_LINK, NULL, 1};
	static const struct vent f = {"esc/planted.txt", 0, ENTRY_FILE, "planted through a link\n", 1};
	struct vent lv = l;
	(void) p;
	ONLY_ROWS;
	if (FIRST_ROW) {
		lv.content = getenv("HOSTILE_OUTSIDE") ? getenv("HOSTILE_OUTSIDE") : "/nonexistent";
		wbuf_reset(m);
		put_row_for(m, &lv, 1);
		put_row_for(m, &f, 2);
	}
}
static void hk_hash_mismatch(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA)
		m->p[5] ^= 0x20; /* one bit of the content flipped, sizes kept */
}
static void hk_data_too_long(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA) {
		put_bytes(m, "more", 4);
		fix_len(m);
	}
}
static void hk_data_short(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	/* one byte less, and DATA_END agreeing with what was sent */
	if (stage == ST_DATA) {
		m->len -= 1;
		fix_len(m);
	}
	if (stage == ST_DATA_END && m->p[4] == MSG_DATA_END) {
		uint64_t n = 0;
		for (int i = 0; i < 8; i++)
			n = n << 8 | m->p[5 + i];
		set_be(m->p + 5, n - 1, 8);
	}
}
static void hk_data_end_miscount(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA_END && m->p[4] == MSG_DATA_END)
		set_be(m->p + 5, 1ull << 62, 8);
}
static void hk_data_end_short(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA_END && m->p[4] == MSG_DATA_END) {
		m->len -= 2;
		fix_len(m);
	}
}
static void hk_data_wrong_type(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA)
		m->p[4] = MSG_ROW;
}
static void hk_delta_unasked(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA)
		m->p[4] = MSG_DELTA;
}
static void hk_missing_payload(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA)
		wbuf_reset(m);
	if (stage == ST_DATA_END) {
		wbuf_reset(m);
		proto_put_raw(m, MSG_MISSING, "x", 1);
	}
}
static void hk_all_missing(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DATA)
		wbuf_reset(m);
	if (stage == ST_DATA_END) {
		wbuf_reset(m);
		proto_put_raw(m, MSG_MISSING, NULL, 0);
	}
}
static void hk_data_in_index(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		proto_put_raw(m, MSG_DATA, "unasked", 7);
}
static void hk_hello_twice(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA) {
		/* a second HELLO where the index was due (m is M, where my_hello writes) */
		wbuf_reset(m);
		my_hello(p, 0);
	}
}
static void hk_index_end_first(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_HELLO) {
		wbuf_reset(m);
		proto_put_u64(m, MSG_INDEX_END, 0);
	}
}
static void hk_type_unknown(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		proto_put_raw(m, 200, "?", 1);
}
static void hk_type_bundle(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		proto_put_raw(m, MSG_BUNDLE, "x", 1);
}
static void hk_index_end_malformed(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_INDEX_END) {
		m->len -= 1;
		fix_len(m);
	}
}
static void hk_replica_bad_name(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA) {
		wbuf_reset(m);
		proto_put_replica(m, H_ID, "../../evil");
	}
}
static void hk_replica_id_zero(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA)
		set_be(m->p + 5, 0, 8);
}
static void hk_error_escape(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA) {
		wbuf_reset(m);
		proto_put_error(m, "go away \033[2J\033]0;owned\007 now\n");
	}
}
static void hk_error_malformed(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_REPLICA) {
		wbuf_reset(m);
		proto_put_error(m, "short");
		set_be(m->p + 5, 900, 2);
	}
}

/* deltas: the answer to a delta request replaced by a crafted librsync delta */
static void put_delta_answer(struct wbuf *m, const uint8_t *d, size_t n, uint64_t declared)
{
	wbuf_reset(m);
	proto_put_raw(m, MSG_DELTA, d, n);
	proto_put_u64(m, MSG_DELTA_END, declared);
}
static int delta_is_retry(struct peer *p, int stage, struct wbuf *m)
{
	/* the whole-content retry that follows a refused delta gets MISSING: the run must end failed */
	if (stage == ST_DATA && p->retry)
		wbuf_reset(m);
	if (stage == ST_DATA_END && p->retry) {
		wbuf_reset(m);
		proto_put_raw(m, MSG_MISSING, NULL, 0);
	}
	return stage != ST_DELTA;
}
static void hk_delta_copy_past(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* COPY_N8_N8 from far beyond the basis */
	static const uint8_t d[] = {0x72, 0x73, 0x02, 0x36, 0x54, 0, 0, 0, 0, 0,    0x10,
	                            0,    0,    0,    0,    0,    0, 0, 0, 0, 0x10, 0};
	(void) idx;
	if (!delta_is_retry(p, stage, m))
		put_delta_answer(m, d, sizeof(d), sizeof(d));
}
static void hk_delta_copy_wrap(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* offset + length wraps past 2^64 */
	static const uint8_t d[] = {0x72, 0x73, 0x02, 0x36, 0x54, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                            0xff, 0xf0, 0,    0,    0,    0,    0,    0,    0,    0x20, 0};
	(void) idx;
	if (!delta_is_retry(p, stage, m))
		put_delta_answer(m, d, sizeof(d), sizeof(d));
}
static void hk_delta_too_much(struct peer *p, int stage, int idx, struct wbuf *m)
{
	/* literal output far past the size the row announced: LITERAL_N4 of 1 MiB-ish, then zeros */
	(void) idx;
	if (!delta_is_retry(p, stage, m)) {
		struct wbuf d;
		wbuf_init(&d);
		put_bytes(&d, "\x72\x73\x02\x36\x43", 5);
		put_u32(&d, 600000);
		uint8_t *z = wbuf_grow(&d, 600000);
		memset(z, 'z', 600000);
		put_u8(&d, 0);
		put_delta_answer(m, d.p, d.len, d.len);
		wbuf_dispose(&d);
	}
}
static void hk_delta_garbage(struct peer *p, int stage, int idx, struct wbuf *m)
{
	static const uint8_t d[] = "this is not a delta at all";
	(void) idx;
	if (!delta_is_retry(p, stage, m))
		put_delta_answer(m, d, sizeof(d), sizeof(d));
}
static void hk_delta_end_miscount(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_DELTA && m->p[4] == MSG_DELTA)
		set_be(m->p + m->len - 8, 12345, 8);
}

/* compression */
static void after_hello_zstd_garbage(struct peer *p)
{
	uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t) (i * 131 + 7);
	send_raw(p, junk, sizeof(junk));
}
static void zstd_send(struct peer *p, ZSTD_CCtx *cc, const void *b, size_t n, ZSTD_EndDirective how)
{
	static uint8_t out[1 << 17];
	ZSTD_inBuffer ib = {b, n, 0};
	size_t rc;

	do {
		ZSTD_outBuffer ob = {out, sizeof(out), 0};
		rc = ZSTD_compressStream2(cc, &ob, &ib, how);
		if (ZSTD_isError(rc))
			die("zstd: %s", ZSTD_getErrorName(rc));
		if (ob.pos && send_raw(p, out, ob.pos) < 0)
			exit(0); /* the victim gave up: what was to be shown */
	} while (how == ZSTD_e_continue ? ib.pos < ib.size : rc != 0);
}
static void after_hello_zstd_bomb(struct peer *p)
{
	/* an index with one 20-byte file, then 4 GiB of DATA for it (a few hundred KB compressed) */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	static const struct vent v = {"bomb.txt", 0, ENTRY_FILE, "twenty bytes of it.\n", 1};
	struct wbuf b;
	size_t chunk = PROTO_MAX_FRAME - 1;

	wbuf_init(&b);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
	proto_put_replica(&b, H_ID, H_NAME);
	put_row_for(&b, &v, 1);
	proto_put_u64(&b, MSG_INDEX_END, 1);
	zstd_send(p, cc, b.p, b.len, ZSTD_e_flush);
	wbuf_reset(&b);
	put_u32(&b, (uint32_t) chunk + 1);
	put_u8(&b, MSG_DATA);
	memset(wbuf_grow(&b, chunk), 0, chunk);
	for (int i = 0; i < 4096; i++)
		zstd_send(p, cc, b.p, b.len, ZSTD_e_continue);
	zstd_send(p, cc, NULL, 0, ZSTD_e_end);
	wbuf_dispose(&b);
	ZSTD_freeCCtx(cc);
}
static void after_hello_zstd_window(struct peer *p)
{
	/* a frame that needs a 1 GiB window to decode */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	struct wbuf b;

	wbuf_init(&b);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 30);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
	proto_put_replica(&b, H_ID, H_NAME);
	zstd_send(p, cc, b.p, b.len, ZSTD_e_flush);
	wbuf_dispose(&b);
	ZSTD_freeCCtx(cc);
}
static void after_hello_plain_when_zstd(struct peer *p)
{
	/* zstd was agreed, plain frames follow */
	wbuf_reset(&M);
	proto_put_replica(&M, H_ID, H_NAME);
	send_raw(p, M.p, M.len);
	wbuf_reset(&M);
}
static void after_hello_zstd_unagreed(struct peer *p)
{
	/* zstd was not agreed, a compressed stream follows */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	struct wbuf b;

	wbuf_init(&b);
	proto_put_replica(&b, H_ID, H_NAME);
	proto_put_u64(&b, MSG_INDEX_END, 0);
	zstd_send(p, cc, b.p, b.len, ZSTD_e_end);
	wbuf_dispose(&b);
	ZSTD_freeCCtx(cc);
}

/* a peer that never answers */
static void after_hello_silent(struct peer *p)
{
	(void) p; /* drain() waits until the victim gives up */
}
static void hk_silent_at_hello(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) idx;
	if (stage == ST_HELLO) {
		wbuf_reset(m);
		drain(p);
		exit(0);
	}
}
static void hk_silent_at_data(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) idx;
	if (stage == ST_DATA) {
		/* half a frame, then nothing */
		send_raw(p, m->p, 7);
		wbuf_reset(m);
		drain(p);
		exit(0);
	}
}

/* against a victim server */
static void hk_c_op_bad(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	/* op is before the filter count, the hello's last 3 bytes */
	if (stage == ST_HELLO)
		m->p[m->len - 3] = 0x84;
}
static const char *const bad_filters[] = {"../x", NULL};
static void hk_c_silent(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) idx;
	/* says nothing for a while, then hangs up: the server waits, then ends */
	if (stage == ST_HELLO) {
		wbuf_reset(m);
		sleep(1);
		shutdown(p->wfd, SHUT_WR);
	}
}
static void hk_c_no_bye(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_BYE) {
		wbuf_reset(m);
		proto_put_raw(m, MSG_REQUEST, "0123456789abcdef0123456789abcdef", 32);
	}
}
static void hk_c_request_in_want(struct peer *p, int stage, int idx, struct wbuf *m)
{
	(void) p;
	(void) idx;
	if (stage == ST_HELLO)
		proto_put_raw(m, MSG_REQUEST, "0123456789abcdef0123456789abcdef", 32);
}
/* The client pulls: asks for content by hashes it chose, then signatures; what came back is captured. */
static void after_hello_c_read(struct peer *p, int what)
{
	const uint8_t *pl;
	size_t len;
	int type;
	uint8_t hash[MM_HASH_LEN];
	const char *secret = getenv("HOSTILE_SECRET_HASH");

	proto_put_u64(&M, MSG_WANT, 0);
	send_raw(p, M.p, M.len);
	wbuf_reset(&M);
	while ((type = recv_frame(p, &pl, &len)) == MSG_ROW || type == MSG_REPLICA)
		;
	if (type != MSG_INDEX_END)
		return;
	memset(hash, 0, sizeof(hash));
	for (int i = 0; secret && i < MM_HASH_LEN && secret[2 * i] && secret[2 * i + 1]; i++) {
		unsigned v;
		sscanf(secret + 2 * i, "%2x", &v);
		hash[i] = (uint8_t) v;
	}
	if (what == 0) {
		proto_put_request(&M, hash);
	} else if (what == 1) {
		/* a signature larger than any a sender takes */
		proto_put_raw(&M, MSG_DREQUEST, hash, MM_HASH_LEN);
		send_raw(p, M.p, M.len);
		wbuf_reset(&M);
		static uint8_t chunk[PROTO_MAX_FRAME - 1];
		memcpy(chunk, "\x72\x73\x01\x36\0\0\x08\0\0\0\0\x08", 12);
		for (uint64_t sent = 0; sent <= DELTA_MAX_SIG; sent += sizeof(chunk)) {
			proto_put_raw(&M, MSG_SIG, chunk, sizeof(chunk));
			if (send_raw(p, M.p, M.len) < 0)
				break;
			wbuf_reset(&M);
			if (sent > 0)
				chunk[0] = 0xaa;
		}
		proto_put_u64(&M, MSG_SIG_END, 0);
	} else {
		proto_put_raw(&M, MSG_DREQUEST, hash, MM_HASH_LEN);
		proto_put_raw(&M, MSG_SIG, "garbage", 7);
		proto_put_u64(&M, MSG_SIG_END, 7);
	}
	send_raw(p, M.p, M.len);
	wbuf_reset(&M);
	/* whatever comes back goes to the capture; then a message out of place ends it */
	while ((type = recv_frame(p, &pl, &len)) == MSG_DATA || type == MSG_DELTA)
		;
	if (type == MSG_ERROR || type < 0)
		return;
	proto_put_raw(&M, MSG_BYE, NULL, 0);
	send_raw(p, M.p, M.len);
	wbuf_reset(&M);
	recv_frame(p, &pl, &len);
}
static void after_hello_c_request_secret(struct peer *p)
{
	after_hello_c_read(p, 0);
}
static void after_hello_c_sig_huge(struct peer *p)
{
	after_hello_c_read(p, 1);
}
static void after_hello_c_sig_garbage(struct peer *p)
{
	after_hello_c_read(p, 2);
}

static const struct vent filter_sub_tree[] = {
        {"big.txt", 0, ENTRY_FILE, "outside the filter\n", 1},
        {NULL, 0, 0, NULL, 0},
};

static const struct hcase cases[] = {
        /* the honest peer (for setups and the truncation test) */
        {"honest", SERVER, NULL, NULL, NULL, 0, NULL, NULL},
        {"cut", SERVER, NULL, NULL, NULL, 0, NULL, NULL},
        {"c-honest-push", CLIENT_PUSH, NULL, NULL, NULL, 0, NULL, NULL},
        /* frames */
        {"frame-len-zero", SERVER, hk_frame_len_zero, NULL, NULL, 0, NULL, NULL},
        {"frame-len-huge", SERVER, hk_frame_len_huge, NULL, NULL, 0, NULL, NULL},
        {"frame-len-over", SERVER, hk_frame_len_over, NULL, NULL, 0, NULL, NULL},
        /* hello and negotiation */
        {"hello-magic", SERVER, hk_hello_magic, NULL, NULL, 0, NULL, NULL},
        {"hello-name-len", SERVER, hk_hello_name_len, NULL, NULL, 0, NULL, NULL},
        {"hello-name-bad", SERVER, hk_hello_name_bad, NULL, NULL, 0, NULL, NULL},
        {"hello-filter-count", SERVER, hk_hello_filter_count, NULL, NULL, 0, NULL, NULL},
        {"hello-version", SERVER, hk_hello_version, NULL, NULL, 0, NULL, NULL},
        {"hello-caps-unoffered", SERVER, hk_hello_caps, NULL, NULL, 0, NULL, NULL},
        {"hello-same-id", SERVER, hk_hello_same_id, NULL, NULL, 0, NULL, NULL},
        {"hello-twice", SERVER, hk_hello_twice, NULL, NULL, 0, NULL, NULL},
        {"order-index-end-first", SERVER, hk_index_end_first, NULL, NULL, 0, NULL, NULL},
        {"order-data-in-index", SERVER, hk_data_in_index, NULL, NULL, 0, NULL, NULL},
        {"type-unknown", SERVER, hk_type_unknown, NULL, NULL, 0, NULL, NULL},
        {"type-bundle", SERVER, hk_type_bundle, NULL, NULL, 0, NULL, NULL},
        {"zstd-unagreed", SERVER, NULL, NULL, after_hello_zstd_unagreed, 0, NULL, NULL},
        {"zstd-plain-after", SERVER, NULL, NULL, after_hello_plain_when_zstd, PROTO_CAP_ZSTD, NULL, NULL},
        {"zstd-garbage", SERVER, NULL, NULL, after_hello_zstd_garbage, PROTO_CAP_ZSTD, NULL, NULL},
        {"zstd-window", SERVER, NULL, NULL, after_hello_zstd_window, PROTO_CAP_ZSTD, NULL, NULL},
        {"zstd-bomb", SERVER, NULL, NULL, after_hello_zstd_bomb, PROTO_CAP_ZSTD, NULL, NULL},
        /* index messages */
        {"replica-name-bad", SERVER, hk_replica_bad_name, NULL, NULL, 0, NULL, NULL},
        {"replica-id-zero", SERVER, hk_replica_id_zero, NULL, NULL, 0, NULL, NULL},
        {"index-end-short", SERVER, hk_index_end_malformed, NULL, NULL, 0, NULL, NULL},
        {"error-escapes", SERVER, hk_error_escape, NULL, NULL, 0, NULL, NULL},
        {"error-malformed", SERVER, hk_error_malformed, NULL, NULL, 0, NULL, NULL},
        {"row-path-len", SERVER, hk_row_path_len, NULL, NULL, 0, NULL, NULL},
        {"row-vv-len-huge", SERVER, hk_row_vv_len_huge, NULL, NULL, 0, NULL, NULL},
        {"row-vv-len-short", SERVER, hk_row_vv_len_short, NULL, NULL, 0, NULL, NULL},
        {"row-kind", SERVER, hk_row_kind, NULL, NULL, 0, NULL, NULL},
        {"row-mode", SERVER, hk_row_mode, NULL, NULL, 0, NULL, NULL},
        {"row-writer-zero", SERVER, hk_row_writer_zero, NULL, NULL, 0, NULL, NULL},
        {"row-size-huge", SERVER, hk_row_size_huge, NULL, NULL, 0, NULL, NULL},
        {"row-trailing", SERVER, hk_row_trailing, NULL, NULL, 0, NULL, NULL},
        {"row-short", SERVER, hk_row_short, NULL, NULL, 0, NULL, NULL},
        {"row-link-empty", SERVER, hk_row_link_empty, NULL, NULL, 0, NULL, NULL},
        {"vv-count-huge", SERVER, hk_vv_count_huge, NULL, NULL, 0, NULL, NULL},
        {"vv-count-over", SERVER, hk_vv_count_over, NULL, NULL, 0, NULL, NULL},
        {"vv-zero-counter", SERVER, hk_vv_zero_counter, NULL, NULL, 0, NULL, NULL},
        {"vv-empty", SERVER, hk_vv_empty, NULL, NULL, 0, NULL, NULL},
        {"vv-unsorted", SERVER, hk_vv_unsorted, NULL, NULL, 0, NULL, NULL},
        {"vv-overlong-varint", SERVER, hk_vv_overlong_varint, NULL, NULL, 0, NULL, NULL},
        {"vv-own-counter-huge", SERVER, hk_vv_own_counter_huge, NULL, NULL, 0, NULL, NULL},
        {"vv-counter-huge", SERVER, hk_vv_counter_huge, NULL, NULL, 0, NULL, NULL},
        /* paths */
        {"path-dotdot", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "../escape.txt"},
        {"path-dotdot-inner", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "sub/../../escape.txt"},
        {"path-dot", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "./new.txt"},
        {"path-absolute", SERVER, hk_path_absolute, NULL, NULL, 0, NULL, NULL},
        {"path-empty", SERVER, hk_path_empty, NULL, NULL, 0, NULL, NULL},
        {"path-nul", SERVER, hk_path_nul, NULL, NULL, 0, NULL, NULL},
        {"path-double-slash", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "sub//x.txt"},
        {"path-state-dir", SERVER, hk_plant_path, NULL, NULL, 0, NULL, ".mmsync/config"},
        {"path-state-dir-inner", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "sub/.mmsync/meta.db"},
        {"path-tmp-name", SERVER, hk_plant_path, NULL, NULL, 0, NULL, MM_TMP_PREFIX "planted"},
        {"path-too-long", SERVER, hk_path_too_long, NULL, NULL, 0, NULL, NULL},
        {"path-name-too-long", SERVER, hk_name_too_long, NULL, NULL, 0, NULL, NULL},
        {"path-duplicate", SERVER, hk_path_duplicate, NULL, NULL, 0, NULL, NULL},
        {"path-out-of-order", SERVER, hk_path_order, NULL, NULL, 0, NULL, NULL},
        {"path-outside-filter", SERVER, NULL, filter_sub_tree, NULL, 0, NULL, NULL}, /* the victim asks for "sub" */
        /* links and races */
        {"link-then-file-beneath", SERVER, hk_link_beneath, NULL, NULL, 0, NULL, NULL},
        {"file-beneath-victim-link", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "out/planted.txt"},
        {"race-dir-symlink", SERVER, hk_plant_path, NULL, NULL, 0, NULL, "d/planted.txt"},
        {"race-delta-basis-symlink", SERVER, NULL, NULL, NULL, 0, NULL, NULL},
        /* content */
        {"data-hash-mismatch", SERVER, hk_hash_mismatch, NULL, NULL, 0, NULL, NULL},
        {"data-too-long", SERVER, hk_data_too_long, NULL, NULL, 0, NULL, NULL},
        {"data-short", SERVER, hk_data_short, NULL, NULL, 0, NULL, NULL},
        {"data-end-miscount", SERVER, hk_data_end_miscount, NULL, NULL, 0, NULL, NULL},
        {"data-end-short", SERVER, hk_data_end_short, NULL, NULL, 0, NULL, NULL},
        {"data-wrong-type", SERVER, hk_data_wrong_type, NULL, NULL, 0, NULL, NULL},
        {"data-delta-unasked", SERVER, hk_delta_unasked, NULL, NULL, 0, NULL, NULL},
        {"data-missing-payload", SERVER, hk_missing_payload, NULL, NULL, 0, NULL, NULL},
        {"data-all-missing", SERVER, hk_all_missing, NULL, NULL, 0, NULL, NULL},
        /* deltas (the victim holds big.txt from an honest pull, sync.deltaMinSize = 1) */
        {"delta-copy-past-basis", SERVER, hk_delta_copy_past, NULL, NULL, 0, NULL, NULL},
        {"delta-copy-wrap", SERVER, hk_delta_copy_wrap, NULL, NULL, 0, NULL, NULL},
        {"delta-too-much", SERVER, hk_delta_too_much, NULL, NULL, 0, NULL, NULL},
        {"delta-garbage", SERVER, hk_delta_garbage, NULL, NULL, 0, NULL, NULL},
        {"delta-end-miscount", SERVER, hk_delta_end_miscount, NULL, NULL, 0, NULL, NULL},
        /* a peer that never answers */
        {"silent-at-hello", SERVER, hk_silent_at_hello, NULL, NULL, 0, NULL, NULL},
        {"silent-mid-data", SERVER, hk_silent_at_data, NULL, NULL, 0, NULL, NULL},
        {"silent-after-hello", SERVER, NULL, NULL, after_hello_silent, 0, NULL, NULL},
        /* the victim is a server: a hostile client pushes (or pulls) */
        {"c-path-dotdot", CLIENT_PUSH, hk_plant_path, NULL, NULL, 0, NULL, "../escape.txt"},
        {"c-link-then-file-beneath", CLIENT_PUSH, hk_link_beneath, NULL, NULL, 0, NULL, NULL},
        {"c-data-hash-mismatch", CLIENT_PUSH, hk_hash_mismatch, NULL, NULL, 0, NULL, NULL},
        {"c-row-vv-len-huge", CLIENT_PUSH, hk_row_vv_len_huge, NULL, NULL, 0, NULL, NULL},
        {"c-hello-op", CLIENT_PUSH, hk_c_op_bad, NULL, NULL, 0, NULL, NULL},
        {"c-hello-filter-bad", CLIENT_PULL, NULL, NULL, NULL, 0, bad_filters, NULL},
        {"c-no-bye", CLIENT_PUSH, hk_c_no_bye, NULL, NULL, 0, NULL, NULL},
        {"c-silent-client", CLIENT_PUSH, hk_c_silent, NULL, NULL, 0, NULL, NULL},
        {"c-race-dir-symlink", CLIENT_PUSH, hk_plant_path, NULL, NULL, 0, NULL, "d/planted.txt"},
        {"c-delta-copy-past-basis", CLIENT_PUSH, hk_delta_copy_past, NULL, NULL, 0, NULL, NULL},
        {"c-request-before-want", CLIENT_PULL, hk_c_request_in_want, NULL, NULL, 0, NULL, NULL},
        {"c-request-secret", CLIENT_PULL, NULL, NULL, after_hello_c_request_secret, 0, NULL, NULL},
        {"c-signature-huge", CLIENT_PULL, NULL, NULL, after_hello_c_sig_huge, 0, NULL, NULL},
        {"c-signature-garbage", CLIENT_PULL, NULL, NULL, after_hello_c_sig_garbage, 0, NULL, NULL},
};

static const struct hcase *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

static void setup_tree(struct peer *p)
{
	const char *t = getenv("HOSTILE_TREE");
	struct vent *tree = t && !strcmp(t, "1") ? tree1 : t && !strcmp(t, "3") ? tree3 : tree2;

	size_t big = getenv("HOSTILE_BIG") ? (size_t) atoi(getenv("HOSTILE_BIG")) : sizeof(big1) - 1;
	if (big < 32 || big >= sizeof(big1))
		die("HOSTILE_BIG must be 32..%s", "4095");
	memset(big1, 'b', big);
	memcpy(big2, big1, sizeof(big2));
	memcpy(big2 + big / 2, "changed in the middle", 21);
	tree1[0].content = big1;
	tree2[0].content = big2;
	if (p->hc->tree)
		tree = (struct vent *) p->hc->tree;
	p->tree = tree;
	for (p->ntree = 0; tree[p->ntree].path; p->ntree++)
		;
	snprintf(outside_abs, sizeof(outside_abs), "%s/abs.txt",
	         getenv("HOSTILE_OUTSIDE") ? getenv("HOSTILE_OUTSIDE") : "/tmp");
}

static int spawn_victim(struct peer *p, const char *dir)
{
	int sv[2];
	const char *mm = getenv("MMSYNC");

	if (!mm)
		die("MMSYNC is not set%s", "");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	p->child = fork();
	if (p->child < 0)
		die("fork: %s", strerror(errno));
	if (p->child == 0) {
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		execl(mm, mm, "-C", dir, "serve", "--stdio", (char *) NULL);
		_exit(127);
	}
	close(sv[1]);
	p->rfd = p->wfd = sv[0];
	return 0;
}

int main(int argc, char **argv)
{
	static struct peer p; /* static: what it holds stays reachable until the end (LeakSanitizer) */
	const char *cap;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			printf("%s %s\n", cases[i].name, cases[i].role == SERVER ? "server" : "client");
		return 0;
	}
	if (argc < 3)
		die("usage: mmsync-hostile --list | server CASE [ARGS...] | client CASE DIR%s", "");
	memset(&p, 0, sizeof(p));
	p.capfd = -1;
	p.budget = -1;
	if (!(p.hc = find_case(argv[2])))
		die("no case '%s' (see --list)", argv[2]);
	if ((cap = getenv("HOSTILE_CAPTURE")) && (p.capfd = open(cap, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
		die("cannot open '%s'", cap);
	if (!strcmp(p.hc->name, "cut")) {
		const char *n = getenv("HOSTILE_CUT");
		if (!n)
			die("HOSTILE_CUT is not set%s", "");
		p.budget = atoll(n);
	}
	wbuf_init(&M);
	setup_tree(&p);
	if (!strcmp(argv[1], "server")) {
		if (p.hc->role != SERVER)
			die("'%s' is a client case", p.hc->name);
		p.rfd = 0;
		p.wfd = 1;
		run_server(&p);
		const char *sent = getenv("HOSTILE_SENT");
		if (sent) {
			FILE *f = fopen(sent, "w");
			if (f) {
				fprintf(f, "%llu\n", (unsigned long long) p.sent);
				fclose(f);
			}
		}
		return 0;
	}
	if (!strcmp(argv[1], "client") && argc == 4) {
		int status;
		if (p.hc->role == SERVER)
			die("'%s' is a server case", p.hc->name);
		spawn_victim(&p, argv[3]);
		run_client(&p, p.hc->role == CLIENT_PULL ? PROTO_OP_PULL : PROTO_OP_PUSH);
		/* what the victim says last */
		{
			const uint8_t *pl;
			size_t len;
			shutdown(p.wfd, SHUT_WR);
			while (!p.errmsg[0] && recv_frame(&p, &pl, &len) >= 0)
				;
		}
		if (p.errmsg[0])
			fprintf(stderr, "mmsync-hostile: the victim said: %s\n", p.errmsg);
		close(p.rfd);
		if (waitpid(p.child, &status, 0) < 0)
			die("waitpid: %s", strerror(errno));
		if (!WIFEXITED(status))
			return 128 + WTERMSIG(status);
		/* as a real client reports it: paths the victim could not apply fail the run */
		if (WEXITSTATUS(status) == 0 && p.failed) {
			fprintf(stderr, "mmsync-hostile: push: the victim could not apply %llu paths\n",
			        (unsigned long long) p.failed);
			return 3;
		}
		return WEXITSTATUS(status);
	}
	die("usage: mmsync-hostile --list | server CASE [ARGS...] | client CASE DIR%s", "");
	return 99;
}
