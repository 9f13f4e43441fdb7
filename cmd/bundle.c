/*
 * mmsync bundle create FILE [--for PEER] [PATH...] | bundle apply FILE |
 * bundle list FILE: offline sync through a file (see sync/bundle.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "sync/bundle.h"
#include "sync/error.h"
#include "sync/replica.h"
#include "sync/scan.h"
#include "sync/session.h"
#include "sync/store.h"
#include "vv/vv.h"

struct bundle_args {
	const char *for_peer;
	int progress;
	int force;
	const char *sub; /* create, apply or list */
	char **args;     /* its operands: FILE [PATH...] */
	int nargs;
};

static int bundle_opt(void *arg, int opt, const char *val)
{
	struct bundle_args *a = arg;

	if (opt == 'f')
		a->for_peer = val;
	else if (opt == 'P')
		a->progress = 1;
	else if (opt == 'F')
		a->force = 1;
	return 0;
}

/*
 * The replica a bundle is --for: a configured peer or a URL this replica
 * has synced with (the id that session learnt), or a replica id.
 */
static int target_of(struct cmd_ctx *ctx, const char *peer, uint64_t *id)
{
	struct store_remote rem;

	if (store_remote_get(ctx->r->store, peer, &rem) == 0 && rem.replica_id) {
		*id = rem.replica_id;
		return EXIT_OK;
	}
	if (vv_id_parse(id, peer) == 0 && *id)
		return EXIT_OK;
	cmd_error("bundle create: no sync with '%s' is on record, so what it lacks is not known; give a peer this "
	          "replica has synced with, a replica id, or no --for (then the bundle holds everything)",
	          peer);
	return EXIT_USAGE;
}

static void print_created(struct cmd_ctx *ctx, const char *file, const char *for_peer, const struct bundle_info *in)
{
	if (ctx->json) {
		printf("{\"bundle\":");
		out_json_string(stdout, file);
		printf(",\"for\":");
		if (for_peer)
			out_json_string(stdout, for_peer);
		else
			printf("null");
		printf(",\"rows\":%llu,\"objects\":%llu,\"bytes\":%llu,\"since\":%llu,\"max_seq\":%llu}\n",
		       (unsigned long long) in->rows, (unsigned long long) in->objects, (unsigned long long) in->bytes,
		       (unsigned long long) in->since, (unsigned long long) in->max_seq);
		return;
	}
	if (ctx->quiet)
		return;
	printf("bundle %s: %llu path%s, %llu file content%s (%llu bytes)%s%s\n", file, (unsigned long long) in->rows,
	       in->rows == 1 ? "" : "s", (unsigned long long) in->objects, in->objects == 1 ? "" : "s",
	       (unsigned long long) in->bytes, for_peer ? " for " : "", for_peer ? for_peer : "");
}

static int bundle_create_cmd(struct cmd_ctx *ctx, const struct bundle_args *a, char **args, int nargs)
{
	struct bundle_create_opts o = {0};
	struct bundle_info info;
	struct scan_stats st;
	struct store_peer p;
	char **paths = NULL;
	int rc, err;

	if (nargs > 1 && (rc = cmd_replica_paths(ctx, args + 1, (size_t) (nargs - 1), &paths)) != EXIT_OK)
		return rc;
	if (a->for_peer) {
		if ((rc = target_of(ctx, a->for_peer, &o.target)) != EXIT_OK)
			goto done;
		/* what the peer confirmed having of ours is left out */
		if (store_peer_get(ctx->r->store, o.target, &p) == 0)
			o.since = p.acked_seq;
	}
	if (paths)
		for (o.filters = paths; o.filters[o.nfilters]; o.nfilters++)
			;
	if ((err = cmd_prepare(ctx, 0, &st)) < 0 || (err = bundle_create(ctx->r, args[0], &o, &info)) < 0) {
		rc = cmd_fail(err);
		goto done;
	}
	print_created(ctx, args[0], a->for_peer, &info);
	rc = st.skipped ? EXIT_FAILED : EXIT_OK;
done:
	if (paths)
		for (size_t i = 0; paths[i]; i++)
			free(paths[i]);
	free(paths);
	return rc;
}

static const char *kind_word(int kind)
{
	return kind == ENTRY_FILE ? "file" : kind == ENTRY_DIR ? "dir" : kind == ENTRY_LINK ? "link" : "deleted";
}

struct listing {
	struct cmd_ctx *ctx;
	int n;
};

static int list_row(void *arg, const struct entry *e, const char *writer)
{
	struct listing *l = arg;
	char id[VV_ID_TEXT];

	if (!writer) {
		vv_id_format(id, e->writer);
		writer = id;
	}
	if (l->ctx->json) {
		printf("%s{\"path\":", l->n++ ? "," : "");
		out_json_string(stdout, e->path);
		printf(",\"kind\":\"%s\",\"size\":%llu,\"writer\":", kind_word(e->kind), (unsigned long long) e->size);
		out_json_string(stdout, writer);
		putchar('}');
		return 0;
	}
	printf("%-7s %12llu  %-16s ", kind_word(e->kind), (unsigned long long) (e->kind == ENTRY_FILE ? e->size : 0),
	       writer);
	out_path(stdout, e->path);
	if (e->kind == ENTRY_LINK) {
		printf(" -> ");
		out_path(stdout, e->target);
	}
	putchar('\n');
	return 0;
}

static int bundle_list_cmd(struct cmd_ctx *ctx, const char *file)
{
	struct listing l = {ctx, 0};
	struct bundle *b = NULL;
	const struct bundle_info *in;
	char id[VV_ID_TEXT], when[32];
	int err;

	if (ctx->json)
		printf("{\"rows\":[");
	err = bundle_read(&b, file, NULL, list_row, &l);
	if (err < 0) {
		if (ctx->json)
			printf("]}\n");
		return cmd_fail(err);
	}
	in = bundle_info(b);
	vv_id_format(id, in->author_id);
	time_t t = (time_t) (in->created_ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ctx->json) {
		printf("],\"format\":%u,\"author\":", in->format);
		out_json_string(stdout, in->author);
		printf(",\"author_id\":\"%s\",\"created\":\"%s\",\"for\":", id, when);
		if (in->target) {
			vv_id_format(id, in->target);
			printf("\"%s\"", id);
		} else {
			printf("null");
		}
		printf(",\"since\":%llu,\"max_seq\":%llu,\"objects\":%llu,\"bytes\":%llu,\"paths\":[",
		       (unsigned long long) in->since, (unsigned long long) in->max_seq,
		       (unsigned long long) in->objects, (unsigned long long) in->bytes);
		for (size_t i = 0; i < in->nfilters; i++) {
			printf(i ? "," : "");
			out_json_string(stdout, in->filters[i]);
		}
		printf("]}\n");
	} else {
		printf("bundle of replica %s (%s), format %u, made %s", in->author, id, in->format, when);
		if (in->target) {
			vv_id_format(id, in->target);
			printf(", for replica %s", id);
		}
		printf("\n%llu path%s, %llu file content%s (%llu bytes)%s", (unsigned long long) in->rows,
		       in->rows == 1 ? "" : "s", (unsigned long long) in->objects, in->objects == 1 ? "" : "s",
		       (unsigned long long) in->bytes, in->nfilters ? "; only under:" : "");
		for (size_t i = 0; i < in->nfilters; i++) {
			putchar(' ');
			out_path(stdout, in->filters[i]);
		}
		putchar('\n');
	}
	bundle_free(b, 1);
	return EXIT_OK;
}

int cmd_bundle_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"for", required_argument, NULL, 'f'},
	                                         {"progress", no_argument, NULL, 'P'},
	                                         {"force", no_argument, NULL, 'F'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct bundle_args *a = CMD_ARGS(ctx, struct bundle_args);
	const char *sub;
	int first, nargs;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, bundle_opt, a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first >= argc) {
		cmd_error("bundle: give a subcommand (create, apply, list)");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	sub = argv[first];
	nargs = argc - first - 1;
	if (strcmp(sub, "create") && strcmp(sub, "apply") && strcmp(sub, "list")) {
		cmd_error("bundle: '%s' is not a subcommand (create, apply, list)", sub);
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	if (nargs < 1 || (strcmp(sub, "create") && nargs != 1)) {
		cmd_error("bundle %s: give %s", sub, strcmp(sub, "create") ? "one FILE" : "a FILE (and PATHs)");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	if (a->for_peer && strcmp(sub, "create")) {
		cmd_error("bundle %s: --for is for 'bundle create'", sub);
		return EXIT_USAGE;
	}
	if (a->progress && strcmp(sub, "apply")) {
		cmd_error("bundle %s: --progress is for 'bundle apply'", sub);
		return EXIT_USAGE;
	}
	if (a->force && !strcmp(sub, "list")) {
		cmd_error("bundle list: --force is for 'bundle create' and 'bundle apply'");
		return EXIT_USAGE;
	}
	a->sub = sub;
	a->args = argv + first + 1;
	a->nargs = nargs;
	cmd_pick_sub(ctx, c, sub);
	return EXIT_OK;
}

int cmd_bundle_run(struct cmd_ctx *ctx, const struct command *c)
{
	const struct bundle_args *a = CMD_ARGS(ctx, struct bundle_args);
	struct peer_opts po = {0};

	(void) c;
	ctx->force = a->force;
	po.force = a->force;
	if (!strcmp(a->sub, "create"))
		return bundle_create_cmd(ctx, a, a->args, a->nargs);
	if (!strcmp(a->sub, "list"))
		return bundle_list_cmd(ctx, a->args[0]);
	po.bundle = 1;
	po.progress = a->progress;
	return cmd_run_peers(ctx, PROTO_OP_PULL | CMD_OP_BUNDLE, &po, a->args, 1, NULL, 0);
}
