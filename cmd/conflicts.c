/* mmsync conflicts [list] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/bases.h"
#include "sync/error.h"
#include "sync/fs.h"
#include "sync/log.h"
#include "sync/merge.h"
#include "sync/path.h"
#include "sync/reconcile.h"
#include "sync/replica.h"
#include "sync/resolve.h"
#include "sync/store.h"
#include "sync/text.h"
#include "vv/vv.h"

/* One open conflict: a path and every copy kept beside it. */
struct group {
	char *path;
	char kind[16];
	int64_t detected_ns;
	uint64_t ours;
	char **copies;
	char (*names)[REPLICA_NAME_MAX + 1]; /* who wrote each copy's version */
	size_t n;
};

struct list_ctx {
	struct cmd_ctx *ctx;
	int n;
	struct entry e;
	struct group g;
};

static void writer_name(struct cmd_ctx *ctx, uint64_t id, char out[REPLICA_NAME_MAX + 1])
{
	if (id == ctx->r->id)
		snprintf(out, 65, "%s", ctx->r->name);
	else if (store_replica_name(ctx->r->store, id, out) < 0 || !out[0])
		vv_id_format(out, id);
}

static void group_clear(struct group *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->copies[i]);
	free(g->copies);
	free(g->names);
	free(g->path);
	memset(g, 0, sizeof(*g));
}

/* Prints the group gathered so far. */
static void flush_group(struct list_ctx *lc)
{
	struct cmd_ctx *ctx = lc->ctx;
	struct group *g = &lc->g;
	char ours[REPLICA_NAME_MAX + 1], when[32];
	time_t t = (time_t) (g->detected_ns / 1000000000LL);
	struct tm tm;

	if (!g->path)
		return;
	/* the version at the path now, whoever the detecting replica thought it was */
	if (store_get(ctx->r->store, g->path, &lc->e) == 0 && lc->e.kind != ENTRY_DELETED && lc->e.writer)
		writer_name(ctx, lc->e.writer, ours);
	else
		writer_name(ctx, g->ours, ours);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ctx->json) {
		printf("%s{\"path\":", lc->n ? "," : "");
		out_json_string(stdout, g->path);
		printf(",\"kind\":\"%s\",\"copies\":[", g->kind);
		for (size_t i = 0; i < g->n; i++) {
			if (i)
				putchar(',');
			out_json_string(stdout, g->copies[i]);
		}
		printf("],\"replicas\":[");
		out_json_string(stdout, ours);
		for (size_t i = 0; i < g->n; i++) {
			putchar(',');
			out_json_string(stdout, g->names[i]);
		}
		printf("],\"detected\":\"%s\"}", when);
	} else {
		out_path(stdout, g->path);
		printf("\t%s\t%s kept at the path", g->kind, ours);
		for (size_t i = 0; i < g->n; i++) {
			printf("%s%s's version in ", i ? ", " : "; ", g->names[i]);
			out_path(stdout, g->copies[i]);
		}
		putchar('\n');
	}
	lc->n++;
	group_clear(g);
}

static int list_one(void *arg, const struct store_conflict *c)
{
	struct list_ctx *lc = arg;
	struct group *g = &lc->g;
	char orig[MM_PATH_MAX + 1];
	void *p, *q;

	if (g->path && strcmp(g->path, c->path))
		flush_group(lc);
	if (!g->path) {
		if (!(g->path = strdup(c->path)))
			return mm_error_oom();
		snprintf(g->kind, sizeof(g->kind), "%s", c->kind);
		g->detected_ns = c->detected_ns;
		g->ours = c->ours;
	}
	p = realloc(g->copies, (g->n + 1) * sizeof(*g->copies));
	if (p)
		g->copies = p;
	q = realloc(g->names, (g->n + 1) * sizeof(*g->names));
	if (q)
		g->names = q;
	if (!p || !q || !(g->copies[g->n] = strdup(c->copy)))
		return mm_error_oom();
	if (c->theirs)
		writer_name(lc->ctx, c->theirs, g->names[g->n]);
	else if (!reconcile_copy_of(c->copy, orig, sizeof(orig), g->names[g->n]))
		snprintf(g->names[g->n], 65, "?");
	g->n++;
	return 0;
}

/* Reads the file at `path` (at most `max` bytes) into *out (caller frees); 0 when it cannot. */
static int read_file(struct cmd_ctx *ctx, const char *path, size_t max, void **out, size_t *len)
{
	struct stat sb;
	char *buf;
	size_t n = 0;
	int fd;

	*out = NULL;
	*len = 0;
	if (fs_open_beneath(&fd, ctx->r->rootfd, path, O_RDONLY | O_NONBLOCK, 0) < 0)
		return 0;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t) sb.st_size > max ||
	    !(buf = malloc((size_t) sb.st_size + 1))) {
		close(fd);
		return 0;
	}
	while (n < (size_t) sb.st_size) {
		ssize_t r = read(fd, buf + n, (size_t) sb.st_size - n);
		if (r <= 0)
			break;
		n += (size_t) r;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 1;
}

static void print_side(struct cmd_ctx *ctx, const char *where, const char *path, const char *fallback_writer)
{
	struct entry e;
	char name[REPLICA_NAME_MAX + 1], when[32];
	struct tm tm;
	time_t t;

	entry_init(&e);
	if (store_get(ctx->r->store, path, &e) < 0 || e.kind == ENTRY_DELETED) {
		printf("  %s: ", where);
		out_path(stdout, path);
		printf(" (not here)\n");
		entry_dispose(&e);
		return;
	}
	if (fallback_writer)
		snprintf(name, sizeof(name), "%s", fallback_writer);
	else
		writer_name(ctx, e.writer, name);
	t = (time_t) (e.mtime_ns / 1000000000LL);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("  %s: ", where);
	out_path(stdout, path);
	printf("\n    written by %s, modified %s, %s of %llu bytes, mode %04o\n", name, when,
	       e.kind == ENTRY_FILE  ? "file"
	       : e.kind == ENTRY_DIR ? "directory"
	                             : "link",
	       (unsigned long long) e.size, e.mode);
	entry_dispose(&e);
}

/*
 * The conflict that `arg` names (its path, or one of its copies, which then
 * goes to *copy, caller frees): its first copy's record in *c.
 */
static int find_conflict(struct cmd_ctx *ctx, const char *arg, struct store_conflict *c, char **copy)
{
	struct quoted q;
	char **paths = NULL, *one[1] = {(char *) arg};
	int rc, err;

	if (copy)
		*copy = NULL;
	if ((rc = cmd_replica_paths(ctx, one, 1, &paths)) != EXIT_OK)
		return rc;
	if (!paths) {
		cmd_error("conflicts: name a path inside the replica");
		return EXIT_USAGE;
	}
	err = store_conflict_get(ctx->r->store, paths[0], c);
	if (err == MM_ENOTFOUND) {
		/* the copy's name works too */
		char orig[MM_PATH_MAX + 1], name[REPLICA_NAME_MAX + 1];
		if (reconcile_copy_of(paths[0], orig, sizeof(orig), name) &&
		    store_conflict_has(ctx->r->store, orig, paths[0]) == 1) {
			err = store_conflict_get(ctx->r->store, orig, c);
			if (err == 0 && copy)
				*copy = strdup(paths[0]);
		}
	}
	if (err == MM_ENOTFOUND)
		cmd_error("no open conflict at %s", quote_path(&q, paths[0]));
	else if (err < 0)
		cmd_fail(err);
	free(paths[0]);
	free(paths);
	return err == MM_ENOTFOUND ? EXIT_FAILED : err < 0 ? EXIT_FAILED : EXIT_OK;
}

static int show(struct cmd_ctx *ctx, const char *arg)
{
	struct store_conflict c = {0};
	struct merge_config mc;
	char orig[MM_PATH_MAX + 1], loser[REPLICA_NAME_MAX + 1];
	void *a = NULL, *b = NULL, *base = NULL, *out = NULL;
	size_t alen, blen, baselen = 0, olen;
	int rc, clean;

	if ((rc = find_conflict(ctx, arg, &c, NULL)) != EXIT_OK)
		return rc;
	if (merge_config_load(&mc, ctx->r->config) < 0)
		mc.max_size = 8u << 20;
	printf("%s conflict at ", c.kind);
	out_path(stdout, c.path);
	putchar('\n');
	print_side(ctx, "at the path", c.path, NULL);
	print_side(ctx, "conflict copy", c.copy, reconcile_copy_of(c.copy, orig, sizeof(orig), loser) ? loser : NULL);
	if (read_file(ctx, c.path, mc.max_size, &a, &alen) && read_file(ctx, c.copy, mc.max_size, &b, &blen) &&
	    text_is_text(a, alen) && text_is_text(b, blen)) {
		struct merge_text mb = {"", 0, "base"}, ma = {a, alen, "at the path"}, mt = {b, blen, "conflict copy"};
		struct bases *bs;
		/* a replica that only received the copy looks the ancestor up from both contents */
		if (!c.has_base) {
			struct entry pe;
			uint8_t po[BASES_OID_LEN], co[BASES_OID_LEN];
			entry_init(&pe);
			if (store_get(ctx->r->store, c.path, &pe) == 0 && bases_oid(a, alen, po) == 0 &&
			    bases_oid(b, blen, co) == 0 &&
			    store_history_base_for_copy(ctx->r->store, c.path, &pe.vv, po, co, c.base) == 0)
				c.has_base = 1;
			entry_dispose(&pe);
		}
		if (c.has_base && replica_bases(ctx->r, &bs) == 0 && bases_get(bs, c.base, &base, &baselen) == 0) {
			mb.p = base;
			mb.len = baselen;
			mb.label = "common ancestor";
		}
		if (merge_run(&out, &olen, &clean, &mb, &ma, &mt, 1) == 0 && out) {
			printf("\n%s (diff3 view%s):\n", clean ? "the two versions merge cleanly" : "both versions",
			       c.has_base && base ? "" : "; no common ancestor is known, so every difference shows");
			fwrite(out, 1, olen, stdout);
			if (olen && ((char *) out)[olen - 1] != '\n')
				putchar('\n');
		}
	}
	free(a);
	free(b);
	free(base);
	free(out);
	merge_config_dispose(&mc);
	store_conflict_dispose(&c);
	return EXIT_CONFLICTS;
}

static int resolve_opt(void *arg, int opt, const char *val)
{
	int *side = arg;

	(void) val;
	if (*side && *side != opt) {
		cmd_error("conflicts resolve: --ours and --theirs exclude each other");
		return -1;
	}
	*side = opt;
	return 0;
}

static int resolve(struct cmd_ctx *ctx, const char *arg, int side)
{
	struct quoted q;
	struct store_conflict c = {0};
	struct resolve_result res = {0};
	struct scan_stats st;
	char *named = NULL;
	int rc, err;

	if ((rc = find_conflict(ctx, arg, &c, &named)) != EXIT_OK)
		return rc;
	err = resolve_conflict(&res, ctx->r, c.path,
	                       side == 'o'   ? RESOLVE_OURS
	                       : side == 't' ? RESOLVE_THEIRS
	                                     : RESOLVE_AS_IS,
	                       side == 't' ? named : NULL);
	if (err < 0) {
		rc = cmd_fail(err);
		goto done;
	}
	rc = EXIT_FAILED;
	switch (res.outcome) {
	case RESOLVE_NAME_COPY:
		cmd_error("conflicts resolve: %zu versions of %s were kept: name the copy to take, as in "
		          "'mmsync conflicts resolve %s --theirs'",
		          res.copies, quote_path(&q, c.path), res.where);
		rc = EXIT_USAGE;
		goto done;
	case RESOLVE_IS_DIR:
		cmd_error("conflicts resolve: %s is a directory: move it away first, or resolve with --ours",
		          quote_path(&q, c.path));
		goto done;
	case RESOLVE_CHANGED:
		cmd_error("conflicts resolve: %s was changed since the last scan: run 'mmsync scan', look at it "
		          "again, then resolve",
		          quote_path(&q, res.where));
		goto done;
	case RESOLVE_DONE: break;
	}
	/* record what else changed, as every resolve did: an edit of the path resolved as it stands */
	if ((err = cmd_run_scan(ctx, 0, NULL, NULL, &st)) < 0) {
		rc = cmd_fail(err);
		goto done;
	}
	log_append(ctx->r, "resolved %s (%s)", c.path,
	           side == 'o'   ? "--ours"
	           : side == 't' ? "--theirs"
	                         : "as it stands");
	if (!ctx->quiet) {
		printf("resolved ");
		out_path(stdout, c.path);
		printf(side == 'o'   ? " (kept the version at the path)\n"
		       : side == 't' ? " (took the conflict copy)\n"
		                     : " (the file as it stands)\n");
	}
	rc = EXIT_OK;
done:
	resolve_result_dispose(&res);
	free(named);
	store_conflict_dispose(&c);
	if (rc == EXIT_OK) {
		uint64_t open = 0;
		if (store_conflicts_prune(ctx->r->store) == 0 && store_conflict_count(ctx->r->store, &open) == 0 &&
		    open)
			rc = EXIT_CONFLICTS;
	}
	return rc;
}

struct conflicts_args {
	const char *sub;  /* list, show or resolve */
	const char *path; /* show, resolve: the path (or a copy) */
	int side;         /* resolve: 'o' (--ours), 't' (--theirs) or 0 */
};

int cmd_conflicts_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"ours", no_argument, NULL, 'o'},
	                                         {"theirs", no_argument, NULL, 't'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct conflicts_args *a = CMD_ARGS(ctx, struct conflicts_args);
	const char *sub = "list";
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, resolve_opt, &a->side)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc)
		sub = argv[first++];
	if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "resolve")) {
		cmd_error("conflicts: '%s' is not known: use list, show or resolve", sub);
		return EXIT_USAGE;
	}
	if (a->side && strcmp(sub, "resolve")) {
		cmd_error("conflicts: --ours and --theirs go with 'resolve'");
		return EXIT_USAGE;
	}
	if (strcmp(sub, "list") && argc - first != 1) {
		cmd_error("conflicts %s: name one path", sub);
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "list") && first < argc) {
		cmd_error("conflicts list: too many arguments");
		return EXIT_USAGE;
	}
	a->sub = sub;
	a->path = first < argc ? argv[first] : NULL;
	cmd_pick_sub(ctx, c, sub);
	return EXIT_OK;
}

int cmd_conflicts_run(struct cmd_ctx *ctx, const struct command *c)
{
	const struct conflicts_args *a = CMD_ARGS(ctx, struct conflicts_args);
	struct list_ctx lc = {ctx, 0, {0}, {0}};
	int err;

	(void) c;
	if (!strcmp(a->sub, "show"))
		return show(ctx, a->path);
	if (!strcmp(a->sub, "resolve"))
		return resolve(ctx, a->path, a->side);
	if (ctx->r->lockfd >= 0 || replica_lock(ctx->r) == 0) {
		/* closing conflicts whose copy is gone writes: only under the lock */
		if ((err = store_conflicts_prune(ctx->r->store)) < 0)
			return cmd_fail(err);
	}
	if (ctx->json)
		putchar('[');
	entry_init(&lc.e);
	err = store_conflict_each(ctx->r->store, list_one, &lc);
	if (err == 0)
		flush_group(&lc);
	group_clear(&lc.g);
	entry_dispose(&lc.e);
	if (ctx->json)
		printf("]\n");
	if (err < 0)
		return cmd_fail(err);
	return lc.n ? EXIT_CONFLICTS : EXIT_OK;
}
