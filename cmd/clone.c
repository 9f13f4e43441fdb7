/* mmsync clone URL DIR [--name NAME]: init DIR, then pull URL. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/error.h"
#include "sync/proto.h"
#include "sync/replica.h"
#include "sync/url.h"

struct clone_args {
	const char *name;
	struct peer_opts po;
	char *url;       /* the peer */
	const char *dir; /* the new replica */
};

/* 1 when `dir` does not exist or is an empty directory. */
static int empty_or_missing(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return errno == ENOENT;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Removes `path` and everything under it (not following links). */
static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void) sb;
	(void) f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* After a clone that brought nothing: removes what it made, so that the next try starts clean. */
static void undo_init(const char *root, int made_dir)
{
	char *state = NULL;

	if (made_dir) {
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	} else if (asprintf(&state, "%s/.mmsync", root) >= 0) {
		nftw(state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(state);
	}
}

/* 1 when `root` holds nothing but .mmsync/. */
static int only_state(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	int only = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".mmsync")) {
			only = 0;
			break;
		}
	closedir(d);
	return only;
}

static int clone_opt(void *arg, int opt, const char *val)
{
	struct clone_args *a = arg;

	if (opt == 'n')
		a->name = val;
	return cmd_peer_option(&a->po, "clone", opt, val);
}

int cmd_clone_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {{"name", required_argument, NULL, 'n'},
	                                         PEER_LONGOPTS,
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct clone_args *a = CMD_ARGS(ctx, struct clone_args);
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, clone_opt, a)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (argc - first != 2) {
		cmd_error("clone: give a peer URL and a directory");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	a->url = argv[first];
	a->dir = argv[first + 1];
	return EXIT_OK;
}

/* Makes the replica, then opens and locks it, and pulls from its origin like 'pull' does. */
int cmd_clone_run(struct cmd_ctx *ctx, const struct command *c)
{
	struct clone_args a = *CMD_ARGS(ctx, struct clone_args);
	const char *name = a.name, *dir = a.dir;
	char host[256], *root = NULL, *url = a.url;
	struct stat st;
	int err, made_dir;

	(void) c;
	if (!url_is_remote(url)) {
		/* a local peer that is not a replica leaves nothing behind */
		if (!cmd_is_replica_dir(ctx, url)) {
			cmd_error("peer '%s' is not a replica (no .mmsync/ in it)", url);
			return EXIT_FAILED;
		}
	}
	if (!empty_or_missing(dir)) {
		cmd_error("clone: '%s' exists and is not an empty directory", dir);
		return EXIT_FAILED;
	}
	made_dir = stat(dir, &st) < 0;
	if (!name) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "replica");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		host[REPLICA_NAME_MAX] = '\0';
		name = host;
	}
	if ((err = replica_create(dir, name, &root)) < 0)
		return cmd_fail(err);
	ctx->dir = root;
	/* like git's "origin": the peer cloned from, for later syncs (and sync --all) */
	err = cmd_setup(ctx, CMD_REPLICA | CMD_LOCK);
	if (err == EXIT_OK) {
		int q = ctx->quiet;
		ctx->quiet = 1;
		err = cmd_peer_add(ctx, "origin", url, a.po.fingerprint);
		ctx->quiet = q;
	}
	if (err == EXIT_OK) {
		char *origin = "origin";
		a.po.fingerprint = NULL; /* pinned in the config now */
		err = cmd_run_peers(ctx, PROTO_OP_PULL, &a.po, &origin, 1, NULL, 0);
	}
	ctx->dir = NULL;
	if (err == EXIT_FAILED && only_state(root)) {
		if (strstr(cmd_last_peer_error(), "is not trusted")) {
			/* a TLS server must trust this new replica first: keep it, with its identity */
			char fp[IDENTITY_FP_TEXT] = "?";
			replica_fingerprint(ctx->r, fp);
			cmd_error("clone: '%s' is made but empty: on the server run 'mmsync trust %s', then "
			          "'mmsync -C %s pull origin'",
			          dir, fp, dir);
		} else {
			replica_free(ctx->r);
			ctx->r = NULL;
			undo_init(root, made_dir);
		}
	}
	free(root);
	return err;
}
