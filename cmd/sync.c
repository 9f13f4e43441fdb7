/* mmsync pull / push / sync: one session per peer (pull.c and push.c call in here). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/log.h"
#include "sync/path.h"
#include "sync/replica.h"
#include "sync/session.h"
#include "sync/store.h"
#include "sync/transport.h"

struct run {
	struct cmd_ctx *ctx;
	const char *peer;
	uint64_t events;
};

static const char *event_word(enum session_event ev)
{
	static const char *const words[] = {"received", "deleted", "conflict", "kept",
					    "skipped",	"failed",  "sent",	"merged"};

	return words[ev];
}

static void on_event(void *arg, enum session_event ev, const char *path, const char *detail)
{
	struct run *run = arg;
	struct cmd_ctx *ctx = run->ctx;

	run->events++;
	if (ev == EV_CONFLICT || ev == EV_KEPT || ev == EV_FAILED || ev == EV_MERGED)
		log_append(ctx->r, "%s %s peer=%s%s%s", event_word(ev), path, run->peer, detail ? " " : "",
			   detail ? detail : "");
	if (ev == EV_FAILED || ev == EV_SKIPPED) {
		if (!ctx->quiet || ev == EV_FAILED)
			cmd_warning("%s: %s", quote_path(path), detail ? detail : event_word(ev));
		return;
	}
	if (!ctx->verbose || ctx->json)
		return;
	printf("%-9s ", event_word(ev));
	out_path(stdout, path);
	if (ev == EV_CONFLICT && detail) {
		printf(" (other version kept as ");
		out_path(stdout, detail);
		putchar(')');
	}
	putchar('\n');
}

static void on_scan_warning(void *arg, const char *path, const char *msg)
{
	struct cmd_ctx *ctx = arg;

	if (ctx->quiet && strstr(msg, "not synced"))
		return;
	cmd_warning("%s: %s", quote_path(path), msg);
}

/* A peer URL this build can reach: a local path to a replica. */
static int resolve_local_peer(struct cmd_ctx *ctx, const char *url, char **out)
{
	char *abs = NULL, *state = NULL;
	struct stat st;

	*out = NULL;
	if (!strncmp(url, "ssh://", 6) || !strncmp(url, "tls://", 6) ||
	    (strchr(url, ':') && (!strchr(url, '/') || strchr(url, ':') < strchr(url, '/')))) {
		cmd_error("peer '%s': ssh and TLS peers are not supported by this build yet", url);
		return EXIT_FAILED;
	}
	if (url[0] == '/')
		abs = strdup(url);
	else if (asprintf(&abs, "%s/%s", ctx->cwd, url) < 0)
		abs = NULL;
	if (!abs || asprintf(&state, "%s/.mmsync", abs) < 0) {
		free(abs);
		cmd_error("out of memory");
		return EXIT_FAILED;
	}
	if (stat(abs, &st) < 0) {
		cmd_error("peer '%s': %s", url, strerror(errno));
		free(abs);
		free(state);
		return EXIT_FAILED;
	}
	if (stat(state, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cmd_error("peer '%s' is not a replica (no .mmsync/ in it)", url);
		free(abs);
		free(state);
		return EXIT_FAILED;
	}
	free(state);
	*out = abs;
	return EXIT_OK;
}

int cmd_check_peer(struct cmd_ctx *ctx, const char *url)
{
	char *abs = NULL;
	int rc = resolve_local_peer(ctx, url, &abs);

	free(abs);
	return rc;
}

static const char *op_word(unsigned op)
{
	return op == (PROTO_OP_PULL | PROTO_OP_PUSH) ? "sync" : op == PROTO_OP_PULL ? "pull" : "push";
}

static void print_result(struct cmd_ctx *ctx, unsigned op, const char *url, const struct session_result *res,
			 long ms, int ok)
{
	struct rusage self, kids;

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
		       ok ? "true" : "false", (unsigned long long)res->files_in, (unsigned long long)res->files_out,
		       (unsigned long long)res->bytes_in, (unsigned long long)res->bytes_out,
		       (unsigned long long)res->merged, (unsigned long long)res->conflicts,
		       (unsigned long long)res->deleted, (unsigned long long)res->skipped,
		       (unsigned long long)res->failed, ms, self.ru_maxrss, kids.ru_maxrss);
		return;
	}
	if (ctx->quiet || !ok)
		return;
	printf("%s with %s: %llu in, %llu out, %llu deleted, %llu conflicts; %llu bytes in, %llu bytes out, "
	       "%.1f s\n",
	       op_word(op), url, (unsigned long long)res->files_in, (unsigned long long)res->files_out,
	       (unsigned long long)res->deleted, (unsigned long long)res->conflicts,
	       (unsigned long long)res->bytes_in, (unsigned long long)res->bytes_out, (double)ms / 1000.0);
}

/* Starts the peer process for `url` (it scans its replica at once). */
static int start_peer(struct cmd_ctx *ctx, const char *url, struct transport *t)
{
	char exe[PATH_MAX], *abs = NULL;
	ssize_t n;
	int rc, err;

	if ((rc = resolve_local_peer(ctx, url, &abs)) != EXIT_OK)
		return rc;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0) {
		free(abs);
		cmd_error("cannot find my own program: %s", strerror(errno));
		return EXIT_FAILED;
	}
	exe[n] = '\0';
	err = transport_local(t, exe, abs, ctx->quiet);
	free(abs);
	return err < 0 ? cmd_fail(err) : EXIT_OK;
}

/* One session with one peer (already started when t->pid > 0); returns an exit status. */
static int sync_one(struct cmd_ctx *ctx, unsigned op, const char *url, char **paths, size_t npaths,
		    struct transport *t)
{
	struct session_opts so = {0};
	struct session_result res = {0};
	struct conn c;
	struct run run = {ctx, url, 0};
	struct timespec t0, t1;
	int rc, err, status;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (t->pid <= 0 && (rc = start_peer(ctx, url, t)) != EXIT_OK) {
		print_result(ctx, op, url, &res, 0, 0);
		log_append(ctx->r, "%s peer=%s failed: cannot reach it", op_word(op), url);
		return rc;
	}
	conn_init(&c, t->fd, t->fd, url);
	so.op = op;
	so.filters = paths;
	so.nfilters = npaths;
	so.on_event = on_event;
	so.arg = &run;
	err = session_client(ctx->r, &c, &so, &res);
	conn_dispose(&c);
	if (err < 0) {
		rc = cmd_fail(err);
		/* let a peer that refused say why (and with what status) before it is killed */
		transport_close_wait(t, &status, 2000);
	} else {
		transport_close(t, &status);
		rc = EXIT_OK;
		if (status != 0) {
			cmd_error("peer '%s' exited with status %d", url, status);
			rc = EXIT_FAILED;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc == EXIT_OK && res.conflicts)
		rc = EXIT_CONFLICTS;
	if (rc != EXIT_FAILED && res.failed) {
		cmd_error("%s with '%s': %llu path%s could not be applied; run again to finish", op_word(op), url,
			  (unsigned long long)res.failed, res.failed == 1 ? "" : "s");
		rc = EXIT_FAILED;
	}
	print_result(ctx, op, url, &res, ms, err == 0);
	if (err < 0)
		log_append(ctx->r, "%s peer=%s failed: %s", op_word(op), url, mm_error_msg());
	else
		log_append(ctx->r,
			   "%s peer=%s (%s) in=%llu out=%llu deleted=%llu conflicts=%llu merged=%llu failed=%llu "
			   "bytes_in=%llu bytes_out=%llu ms=%ld",
			   op_word(op), url, res.peer_name, (unsigned long long)res.files_in,
			   (unsigned long long)res.files_out, (unsigned long long)res.deleted,
			   (unsigned long long)res.conflicts, (unsigned long long)res.merged,
			   (unsigned long long)res.failed, (unsigned long long)res.bytes_in,
			   (unsigned long long)res.bytes_out, ms);
	return rc;
}

/* The PATH arguments as replica paths (see SPEC: relative to the start directory when inside the replica). */
int cmd_replica_paths(struct cmd_ctx *ctx, char **args, size_t n, char ***out)
{
	const char *root = ctx->r->root;
	size_t rootlen = strlen(root);
	char **v = calloc(n + 1, sizeof(*v));
	char *cwd = realpath(ctx->cwd, NULL);
	const char *rel = NULL;

	*out = NULL;
	if (!v || !cwd) {
		free(v);
		free(cwd);
		cmd_error("out of memory");
		return EXIT_FAILED;
	}
	if (!strncmp(cwd, root, rootlen) && (cwd[rootlen] == '\0' || cwd[rootlen] == '/'))
		rel = cwd[rootlen] ? cwd + rootlen + 1 : "";
	for (size_t i = 0; i < n; i++) {
		char buf[2 * PATH_MAX], norm[PATH_MAX];
		size_t len = 0;
		const char *a = args[i];
		if (a[0] == '/') {
			if (strncmp(a, root, rootlen) || (a[rootlen] != '/' && a[rootlen] != '\0')) {
				cmd_error("'%s' is outside the replica '%s'", a, root);
				goto fail;
			}
			snprintf(buf, sizeof(buf), "%s", a + rootlen);
		} else {
			snprintf(buf, sizeof(buf), "%s/%s", rel ? rel : "", a);
		}
		/* lexical clean-up: "", "." and ".." components */
		for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
			if (!strcmp(tok, "."))
				continue;
			if (!strcmp(tok, "..")) {
				if (len == 0) {
					cmd_error("'%s' is outside the replica '%s'", a, root);
					goto fail;
				}
				while (len > 0 && norm[len - 1] != '/')
					len--;
				if (len > 0)
					len--;
				continue;
			}
			len += (size_t)snprintf(norm + len, sizeof(norm) - len, "%s%s", len ? "/" : "", tok);
		}
		norm[len] = '\0';
		if (len == 0) {
			/* the whole replica */
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			free(cwd);
			return EXIT_OK;
		}
		if (!path_valid(norm, len)) {
			cmd_error("'%s' is not a path that can be synced", a);
			goto fail;
		}
		v[i] = strdup(norm);
	}
	free(cwd);
	*out = v;
	return EXIT_OK;
fail:
	for (size_t j = 0; j < n; j++)
		free(v[j]);
	free(v);
	free(cwd);
	return EXIT_USAGE;
}

static int worst(int a, int b)
{
	/* failures (a busy peer among them) outrank open conflicts */
	if (a == EXIT_FAILED || b == EXIT_FAILED)
		return EXIT_FAILED;
	return a > b ? a : b;
}

int cmd_sync_run(struct cmd_ctx *ctx, const struct command *c, unsigned op, char **peers, size_t npeers,
		 char **pathargs, size_t npaths)
{
	struct scan_stats st;
	struct transport first = {-1, -1};
	char **paths = NULL;
	uint64_t open = 0;
	int rc, err, first_rc, status = EXIT_OK;

	if ((rc = cmd_open_replica(ctx, c)) != EXIT_OK)
		return rc;
	if (npaths && (rc = cmd_replica_paths(ctx, pathargs, npaths, &paths)) != EXIT_OK)
		return rc;
	if (!paths)
		npaths = 0;
	/* the first peer scans its replica while this one scans here */
	first_rc = npeers ? start_peer(ctx, peers[0], &first) : EXIT_OK;
	if ((err = session_prepare(ctx->r, &st, on_scan_warning, ctx)) < 0) {
		rc = cmd_fail(err);
		transport_abort(&first);
		goto done;
	}
	if (st.skipped)
		status = EXIT_FAILED;
	for (size_t i = 0; i < npeers; i++) {
		struct transport t = {-1, -1};
		if (i == 0 && first_rc != EXIT_OK) {
			struct session_result none = {0};
			print_result(ctx, op, peers[0], &none, 0, 0);
			log_append(ctx->r, "%s peer=%s failed: cannot reach it", op_word(op), peers[0]);
			status = worst(status, first_rc);
			continue;
		}
		status = worst(status, sync_one(ctx, op, peers[i], paths, npaths, i == 0 ? &first : &t));
	}
	if (store_conflicts_prune(ctx->r->store) == 0 && store_conflict_count(ctx->r->store, &open) == 0 && open &&
	    status == EXIT_OK)
		status = EXIT_CONFLICTS;
	rc = status;
done:
	if (paths)
		for (size_t i = 0; i < npaths; i++)
			free(paths[i]);
	free(paths);
	return rc;
}

static int sync_opt(void *arg, int opt, const char *val)
{
	int *all = arg;

	(void)val;
	if (opt == 'a')
		*all = 1;
	return 0;
}

/* 1 when `arg` names a peer (a URL or a directory that is a replica), so that PATHs can follow. */
static int looks_like_peer(struct cmd_ctx *ctx, const char *arg)
{
	char *abs;
	struct stat st;
	int yes;

	if (strstr(arg, "://") || (strchr(arg, ':') && (!strchr(arg, '/') || strchr(arg, ':') < strchr(arg, '/'))))
		return 1;
	if (asprintf(&abs, "%s/%s/.mmsync", arg[0] == '/' ? "" : ctx->cwd, arg) < 0)
		return 0;
	yes = stat(abs, &st) == 0 && S_ISDIR(st.st_mode);
	free(abs);
	return yes;
}

int cmd_sync(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct command *c = cmd_find("sync");
	int all = 0, first;
	size_t npeers = 0;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, sync_opt, &all)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	/* the first operand is a peer; the next ones too while they name a replica or a URL */
	if (first < argc)
		npeers = 1;
	while (first + (int)npeers < argc && looks_like_peer(ctx, argv[first + npeers]))
		npeers++;
	if (all) {
		cmd_error("sync: --all needs configured peers, and this build has none yet");
		return EXIT_USAGE;
	}
	if (npeers == 0) {
		cmd_error("sync: name a peer");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	return cmd_sync_run(ctx, c, PROTO_OP_PULL | PROTO_OP_PUSH, argv + first, npeers, argv + first + npeers,
			    (size_t)(argc - first) - npeers);
}
