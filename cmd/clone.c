/* mmsync clone URL DIR [--name NAME]: init DIR, then pull URL. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/error.h"
#include "sync/proto.h"
#include "sync/replica.h"

static int clone_opt(void *arg, int opt, const char *val)
{
	const char **name = arg;

	if (opt == 'n')
		*name = val;
	return 0;
}

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

int cmd_clone(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"name", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct command *c = cmd_find("clone");
	const char *name = NULL;
	char host[256], *root = NULL, *url;
	int first, err;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, clone_opt, &name)) < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 2) {
		cmd_error("clone: give a peer URL and a directory");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	/* a peer that cannot be reached leaves nothing behind */
	if (cmd_check_peer(ctx, argv[first]) != EXIT_OK)
		return EXIT_FAILED;
	if (!empty_or_missing(argv[first + 1])) {
		cmd_error("clone: '%s' exists and is not an empty directory", argv[first + 1]);
		return EXIT_FAILED;
	}
	if (!name) {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "replica");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		host[REPLICA_NAME_MAX] = '\0';
		name = host;
	}
	if ((err = replica_create(argv[first + 1], name, &root)) < 0)
		return cmd_fail(err);
	url = argv[first];
	ctx->dir = root;
	err = cmd_sync_run(ctx, cmd_find("pull"), PROTO_OP_PULL, &url, 1, NULL, 0);
	ctx->dir = NULL;
	free(root);
	return err;
}
