/* mmsync pull / push / sync: one session per peer (pull.c and push.c call in here). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "progress.h"
#include "remote.h"
#include "sync/config.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/log.h"
#include "sync/path.h"
#include "sync/replica.h"
#include "sync/session.h"
#include "sync/store.h"
#include "sync/tls.h"

/* A network peer that sends nothing for this long is given up on. */
#define NETWORK_TIMEOUT_MS (300 * 1000)

struct run {
	struct cmd_ctx *ctx;
	const char *peer;
	uint64_t events;
};

static const char *event_word(enum session_event ev)
{
	static const char *const words[] = {"received", "deleted", "conflict", "kept",
	                                    "skipped",  "failed",  "sent",     "merged"};

	return words[ev];
}

static void on_event(void *arg, enum session_event ev, const char *path, const char *detail)
{
	struct quoted q;
	struct run *run = arg;
	struct cmd_ctx *ctx = run->ctx;

	run->events++;
	if (ev == EV_CONFLICT || ev == EV_KEPT || ev == EV_FAILED || ev == EV_MERGED)
		log_append(ctx->r, "%s %s peer=%s%s%s", event_word(ev), path, run->peer, detail ? " " : "",
		           detail ? detail : "");
	if (ev == EV_FAILED || ev == EV_SKIPPED) {
		if (!ctx->quiet || ev == EV_FAILED)
			cmd_warning("%s: %s", quote_path(&q, path), detail ? detail : event_word(ev));
		return;
	}
	if (!ctx->verbose || ctx->json)
		return;
	progress_before_stdout();
	printf("%-9s ", event_word(ev));
	out_path(stdout, path);
	if (ev == EV_CONFLICT && detail) {
		printf(" (other version kept as ");
		out_path(stdout, detail);
		putchar(')');
	}
	putchar('\n');
}

static const char *op_word(unsigned op)
{
	if (op & CMD_OP_BUNDLE)
		return "bundle apply";
	return op == (PROTO_OP_PULL | PROTO_OP_PUSH) ? "sync" : op == PROTO_OP_PULL ? "pull" : "push";
}

static void print_result(struct cmd_ctx *ctx, unsigned op, const char *url, const struct session_result *res, long ms,
                         int ok)
{
	struct rusage self, kids;

	progress_clear();
	/* peak memory of this process, and of the largest peer process reaped so far */
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	if (ctx->json) {
		printf("{\"peer\":");
		out_json_string(stdout, url);
		printf(",\"peer_name\":");
		out_json_string(stdout, res->peer_name);
		printf(",\"ok\":%s,\"files_in\":%llu,\"files_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		       "\"merged\":%llu,\"conflicts\":%llu,\"deleted\":%llu,\"skipped\":%llu,\"failed\":%llu,"
		       "\"ms\":%ld,\"rss_kb\":%ld,\"peer_rss_kb\":%ld}\n",
		       ok ? "true" : "false", (unsigned long long) res->files_in, (unsigned long long) res->files_out,
		       (unsigned long long) res->bytes_in, (unsigned long long) res->bytes_out,
		       (unsigned long long) res->merged, (unsigned long long) res->conflicts,
		       (unsigned long long) res->deleted, (unsigned long long) res->skipped,
		       (unsigned long long) res->failed, ms, self.ru_maxrss, kids.ru_maxrss);
		return;
	}
	if (ctx->quiet || !ok)
		return;
	printf("%s with %s: %llu in, %llu out, %llu deleted, %llu conflict%s; %llu bytes in, %llu bytes out, "
	       "%.1f s\n",
	       op_word(op), url, (unsigned long long) res->files_in, (unsigned long long) res->files_out,
	       (unsigned long long) res->deleted, (unsigned long long) res->conflicts, res->conflicts == 1 ? "" : "s",
	       (unsigned long long) res->bytes_in, (unsigned long long) res->bytes_out, (double) ms / 1000.0);
}

static char last_error[1024];

const char *cmd_last_peer_error(void)
{
	return last_error;
}

/* Records how a sync with `rm` went, for `status`. */
static void note_remote(struct cmd_ctx *ctx, const struct remote *rm, uint64_t peer_id, const char *error)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	store_remote_note(ctx->r->store, rm->name ? rm->name : rm->arg, rm->url_text, peer_id,
	                  (int64_t) now.tv_sec * 1000000000 + now.tv_nsec, error);
	if (error)
		snprintf(last_error, sizeof(last_error), "%s", error);
}

/* A peer that could not be tried or reached: its line in the summary, the log and `status`. */
static void not_reached(struct cmd_ctx *ctx, unsigned op, const struct remote *rm, const char *why)
{
	struct session_result none = {0};

	print_result(ctx, op, rm->arg, &none, 0, 0);
	log_append(ctx->r, "%s peer=%s failed: %s", op_word(op), rm->arg, why);
	note_remote(ctx, rm, 0, why);
}

static void on_progress(void *arg, const struct session_progress *p)
{
	(void) arg;
	progress_transfer(p);
}

/* One session with one peer (its transport already started); returns an exit status. */
/* What the session with `rm` is asked to do. */
static void session_opts_for(struct cmd_ctx *ctx, struct session_opts *so, unsigned op, struct remote *rm, char **paths,
                             size_t npaths, struct run *run)
{
	int zstd = 1;

	if (remote_is_network(rm)) {
		config_get_bool(ctx->r->config, "sync.compress", 1, &zstd);
		so->caps = zstd ? PROTO_CAP_ZSTD : 0;
	}
	so->op = op & (PROTO_OP_PULL | PROTO_OP_PUSH);
	so->filters = paths;
	so->nfilters = npaths;
	if (rm->is_bundle)
		/* a bundle made for some PATHs only must not count as having seen all of its author */
		so->filters = remote_filters(rm, &so->nfilters);
	so->on_event = on_event;
	so->arg = run;
	if (progress_on()) {
		char label[128];
		snprintf(label, sizeof(label), "%s with %s", op_word(op), rm->arg);
		progress_phase(label);
		so->on_progress = on_progress;
	}
}

/* The session's outcome as an exit status, its failure (if any) in why[n]. */
static int session_status(struct cmd_ctx *ctx, unsigned op, struct remote *rm, int err,
                          const struct session_result *res, char *why, size_t n)
{
	int rc = EXIT_OK, status;

	if (err < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", mm_error_msg());
		remote_fail(rm, err, msg, why, n);
		return EXIT_FAILED;
	}
	remote_done(ctx, rm, &status);
	if (status != 0) {
		snprintf(why, n, "peer '%s' exited with status %d", rm->arg, status);
		cmd_error("%s", why);
		return EXIT_FAILED;
	}
	if (res->conflicts)
		rc = EXIT_CONFLICTS;
	if (res->failed) {
		snprintf(why, n, "%s with '%s': %llu path%s could not be applied; run again to finish", op_word(op),
		         rm->arg, (unsigned long long) res->failed, res->failed == 1 ? "" : "s");
		cmd_error("%s", why);
		rc = EXIT_FAILED;
	}
	return rc;
}

static void log_session(struct cmd_ctx *ctx, unsigned op, const struct remote *rm, int err,
                        const struct session_result *res, const char *why, long ms)
{
	if (err < 0) {
		log_append(ctx->r, "%s peer=%s failed: %s", op_word(op), rm->arg, why);
		return;
	}
	log_append(ctx->r,
	           "%s peer=%s (%s) in=%llu out=%llu deleted=%llu conflicts=%llu merged=%llu failed=%llu "
	           "bytes_in=%llu bytes_out=%llu ms=%ld%s",
	           op_word(op), rm->arg, res->peer_name, (unsigned long long) res->files_in,
	           (unsigned long long) res->files_out, (unsigned long long) res->deleted,
	           (unsigned long long) res->conflicts, (unsigned long long) res->merged,
	           (unsigned long long) res->failed, (unsigned long long) res->bytes_in,
	           (unsigned long long) res->bytes_out, ms, res->caps & PROTO_CAP_ZSTD ? " zstd" : "");
}

static int sync_one(struct cmd_ctx *ctx, unsigned op, struct remote *rm, char **paths, size_t npaths, int64_t deadline)
{
	struct session_opts so = {0};
	struct session_result res = {0};
	struct conn c;
	struct run run = {ctx, rm->arg, 0};
	struct timespec t0, t1;
	char why[1024] = "";
	int rc, err;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	conn_init(&c, rm->t.fd, rm->t.fd, rm->arg);
	if (rm->t.tls)
		c.io = tls_io(rm->t.tls);
	c.deadline = deadline;
	/* a network peer that goes silent is given up on; a local one is only waited for */
	if (remote_is_network(rm))
		c.timeout_ms = NETWORK_TIMEOUT_MS;
	session_opts_for(ctx, &so, op, rm, paths, npaths, &run);
	err = session_client(ctx->r, &c, &so, &res);
	progress_clear();
	conn_dispose(&c);
	rc = session_status(ctx, op, rm, err, &res, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	print_result(ctx, op, rm->arg, &res, ms, err == 0);
	note_remote(ctx, rm, res.peer_id, rc == EXIT_FAILED ? why : NULL);
	log_session(ctx, op, rm, err, &res, why, ms);
	return rc;
}

static void free_paths(char **v, size_t n)
{
	for (size_t j = 0; j < n; j++)
		free(v[j]);
	free(v);
}

/* One PATH argument as a replica path into norm[size] ("" for the whole replica); an exit status. */
static int replica_path(struct cmd_ctx *ctx, const char *rel, const char *a, char *norm, size_t size)
{
	const char *root = ctx->r->root, *inside = a;
	int len;

	if (a[0] == '/') {
		if (!(inside = path_beneath(a, root))) {
			cmd_error("'%s' is outside the replica '%s'", a, root);
			return EXIT_USAGE;
		}
		rel = "";
	}
	len = path_normalize(norm, size, rel ? rel : "", inside);
	if (len == PATH_ESCAPES) {
		cmd_error("'%s' is outside the replica '%s'", a, root);
		return EXIT_USAGE;
	}
	if (len == PATH_TOO_LONG) {
		cmd_error("a PATH of %zu bytes is not a path that can be synced (at most %d bytes)", strlen(a),
		          MM_PATH_MAX);
		return EXIT_USAGE;
	}
	if (len > 0 && !path_valid(norm, (size_t) len)) {
		cmd_error("'%s' is not a path that can be synced", a);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The PATH arguments as replica paths (see SPEC: relative to the start directory when inside the replica). */
int cmd_replica_paths(struct cmd_ctx *ctx, char **args, size_t n, char ***out)
{
	char **v = calloc(n + 1, sizeof(*v));
	char *cwd = realpath(ctx->cwd, NULL);
	const char *rel;
	int rc = EXIT_OK;

	*out = NULL;
	if (!v || !cwd) {
		free(v);
		free(cwd);
		cmd_error("out of memory");
		return EXIT_FAILED;
	}
	rel = path_beneath(cwd, ctx->r->root);
	for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
		char norm[MM_PATH_MAX + 1];
		if ((rc = replica_path(ctx, rel, args[i], norm, sizeof(norm))) != EXIT_OK)
			break;
		if (!norm[0]) {
			/* the whole replica */
			free_paths(v, n);
			free(cwd);
			return EXIT_OK;
		}
		if (!(v[i] = strdup(norm))) {
			cmd_error("out of memory");
			rc = EXIT_FAILED;
		}
	}
	free(cwd);
	if (rc != EXIT_OK) {
		free_paths(v, n);
		return rc;
	}
	*out = v;
	return EXIT_OK;
}

static int worst(int a, int b)
{
	/* failures (a busy peer among them) outrank open conflicts */
	if (a == EXIT_FAILED || b == EXIT_FAILED)
		return EXIT_FAILED;
	return a > b ? a : b;
}

/* --timeout's last resort, for a run stuck where no deadline reaches (a scan): stop at once, crash-safe. */
static void on_alarm(int sig)
{
	static const char msg[] = "mmsync: timed out: the run's time limit (--timeout) was reached; stopping\n";

	(void) sig;
	remote_kill_all();
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(EXIT_FAILED);
	_exit(EXIT_FAILED);
}

/* Every peer named is checked before anything is done (a typo fails at once): EXIT_USAGE, else EXIT_OK. */
static int resolve_all(struct cmd_ctx *ctx, const struct peer_opts *po, char **peers, size_t npeers, struct remote *rv,
                       int *rcs)
{
	for (size_t i = 0; i < npeers; i++) {
		rcs[i] = remote_resolve(ctx, po, peers[i], &rv[i]);
		if (rcs[i] == EXIT_USAGE)
			return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Starts (if not yet) and syncs with each peer in turn; returns the worst status, `status` included. */
static int sync_each(struct cmd_ctx *ctx, unsigned op, struct remote *rv, int *rcs, size_t npeers, char **paths,
                     size_t npaths, int64_t deadline, int status)
{
	for (size_t i = 0; i < npeers; i++) {
		if (rcs[i] == EXIT_OK && !rv[i].started) {
			if (deadline && conn_now_ms() >= deadline) {
				snprintf(rv[i].why, sizeof(rv[i].why),
				         "peer '%s': not tried: the run's time limit (--timeout) was reached",
				         rv[i].arg);
				cmd_error("%s", rv[i].why);
				rcs[i] = EXIT_FAILED;
			} else {
				rcs[i] = remote_start(ctx, &rv[i], deadline);
			}
		}
		if (rcs[i] != EXIT_OK) {
			not_reached(ctx, op, &rv[i], rv[i].why[0] ? rv[i].why : "cannot reach it");
			status = worst(status, rcs[i]);
			continue;
		}
		status = worst(status, sync_one(ctx, op, &rv[i], paths, npaths, deadline));
	}
	return status;
}

static void free_remotes(struct remote *rv, size_t n)
{
	if (rv)
		for (size_t i = 0; i < n; i++)
			remote_dispose(&rv[i]);
	free(rv);
}

int cmd_run_peers(struct cmd_ctx *ctx, unsigned op, const struct peer_opts *po, char **peers, size_t npeers,
                  char **pathargs, size_t npaths)
{
	struct scan_stats st;
	struct remote *rv = NULL;
	char **paths = NULL;
	uint64_t open = 0;
	int64_t deadline = 0;
	int rc, err, status = EXIT_OK, *rcs = NULL, ask;

	progress_init(ctx, po->progress);
	if (npaths && (rc = cmd_replica_paths(ctx, pathargs, npaths, &paths)) != EXIT_OK)
		return rc;
	if (!paths)
		npaths = 0;
	if (po->timeout_s > 0) {
		deadline = conn_now_ms() + po->timeout_s * 1000;
		signal(SIGALRM, on_alarm);
		alarm((unsigned) po->timeout_s + 5);
	}
	rv = calloc(npeers ? npeers : 1, sizeof(*rv));
	rcs = calloc(npeers ? npeers : 1, sizeof(*rcs));
	if (!rv || !rcs) {
		cmd_error("out of memory");
		rc = EXIT_FAILED;
		goto done;
	}
	if ((rc = resolve_all(ctx, po, peers, npeers, rv, rcs)) != EXIT_OK)
		goto done;
	/* the first peer scans its replica while this one scans here */
	if (npeers && rcs[0] == EXIT_OK)
		rcs[0] = remote_start(ctx, &rv[0], deadline);
	/* ssh may be asking for a password on the terminal meanwhile: the line must not draw over it */
	ask = npeers && rv[0].started && rv[0].url.kind == URL_SSH && !rv[0].ssh.batch;
	ctx->force = po->force;
	if ((err = cmd_prepare(ctx, !ask, &st)) < 0) {
		rc = cmd_fail(err);
		goto done;
	}
	status = sync_each(ctx, op, rv, rcs, npeers, paths, npaths, deadline, st.skipped ? EXIT_FAILED : EXIT_OK);
	if (store_conflicts_prune(ctx->r->store) == 0 && store_conflict_count(ctx->r->store, &open) == 0 && open &&
	    status == EXIT_OK)
		status = EXIT_CONFLICTS;
	rc = status;
done:
	free_remotes(rv, npeers);
	free(rcs);
	if (po->timeout_s > 0)
		alarm(0);
	if (paths)
		free_paths(paths, npaths);
	return rc;
}

int cmd_peer_option(struct peer_opts *po, const char *cmd, int opt, const char *val)
{
	char *end;

	switch (opt) {
	case 'S': po->ssh = val; break;
	case 'R': po->remote_prog = val; break;
	case 'F': po->fingerprint = val; break;
	case 'T':
		errno = 0;
		po->timeout_s = strtol(val, &end, 10);
		if (errno || *end || end == val || po->timeout_s <= 0 || po->timeout_s > 100L * 24 * 3600) {
			cmd_error("%s: --timeout needs a number of seconds", cmd);
			return -1;
		}
		break;
	case 'a': po->all = 1; break;
	case 'P': po->progress = 1; break;
	case 'f': po->force = 1; break;
	}
	return 0;
}

static int sync_opt(void *arg, int opt, const char *val)
{
	return cmd_peer_option(arg, "sync", opt, val);
}

/* sync --all: the configured peers, in order. */
struct all_peers {
	char **v;
	size_t n;
};

static int add_peer(void *arg, const char *name, const char *url, const char *fp)
{
	struct all_peers *a = arg;
	char **v = realloc(a->v, (a->n + 1) * sizeof(*v));

	(void) url;
	(void) fp;
	if (!v || !(v[a->n] = strdup(name))) {
		if (v)
			a->v = v;
		return mm_error_oom();
	}
	a->v = v;
	a->n++;
	return 0;
}

struct sync_args {
	struct peer_opts po;
	char **operands; /* PEER... [PATH...], or with --all PATH... */
	int n;
};

int cmd_sync_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"all", no_argument, NULL, 'a'}, PEER_LONGOPTS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct sync_args *a = CMD_ARGS(ctx, struct sync_args);
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, sync_opt, &a->po)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (!a->po.all && first == argc) {
		cmd_error("sync: name a peer, or give --all");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	a->operands = argv + first;
	a->n = argc - first;
	return EXIT_OK;
}

/* sync --all: every operand is a PATH. */
static int sync_all(struct cmd_ctx *ctx, struct sync_args *a)
{
	struct all_peers all = {0};
	int rc;

	if (cmd_peer_each(ctx->r, add_peer, &all) < 0) {
		rc = cmd_fail(MM_ERROR);
	} else if (all.n == 0) {
		cmd_error("sync --all: no peers are configured (see 'mmsync peer add')");
		rc = EXIT_USAGE;
	} else {
		rc = cmd_run_peers(ctx, PROTO_OP_PULL | PROTO_OP_PUSH, &a->po, all.v, all.n, a->operands,
		                   (size_t) a->n);
	}
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i]);
	free(all.v);
	return rc;
}

int cmd_sync_run(struct cmd_ctx *ctx, const struct command *c)
{
	struct sync_args *a = CMD_ARGS(ctx, struct sync_args);
	size_t npeers = 1;

	(void) c;
	if (a->po.all)
		return sync_all(ctx, a);
	/* the first operand is a peer; the next ones too while they name one (names are in the replica's config) */
	while ((int) npeers < a->n && cmd_names_peer(ctx, a->operands[npeers]))
		npeers++;
	return cmd_run_peers(ctx, PROTO_OP_PULL | PROTO_OP_PUSH, &a->po, a->operands, npeers, a->operands + npeers,
	                     (size_t) a->n - npeers);
}
