/* mmsync peer add NAME URL [--fingerprint FP] | peer list | peer remove NAME */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "sync/config.h"
#include "sync/error.h"
#include "sync/identity.h"
#include "sync/replica.h"
#include "sync/url.h"

/* Peers live in the config as [peer "NAME"] url = URL, fingerprint = FP. */

int cmd_peer_lookup(struct replica *r, const char *name, char **url, char **fingerprint)
{
	char key[256];

	*url = *fingerprint = NULL;
	if (!replica_name_valid(name))
		return 0;
	snprintf(key, sizeof(key), "peer.%s.url", name);
	if (config_get_string(r->config, key, url) < 0)
		return 0;
	snprintf(key, sizeof(key), "peer.%s.fingerprint", name);
	if (config_get_string(r->config, key, fingerprint) < 0)
		*fingerprint = NULL;
	return 1;
}

struct each {
	struct replica *r;
	int (*fn)(void *arg, const char *name, const char *url, const char *fp);
	void *arg;
};

static int each_url(void *arg, const char *key, const char *value)
{
	struct each *e = arg;
	size_t n = strlen(key);
	char name[128], *url = NULL, *fp = NULL;
	int err;

	/* "peer.NAME.url" */
	if (n < 9 || strcmp(key + n - 4, ".url") || n - 9 >= sizeof(name))
		return 0;
	memcpy(name, key + 5, n - 9);
	name[n - 9] = '\0';
	(void) value;
	if (!cmd_peer_lookup(e->r, name, &url, &fp))
		return 0;
	err = e->fn(e->arg, name, url, fp);
	free(url);
	free(fp);
	return err;
}

int cmd_peer_each(struct replica *r, int (*fn)(void *arg, const char *name, const char *url, const char *fp), void *arg)
{
	struct each e = {r, fn, arg};

	return config_each(r->config, "peer.", each_url, &e);
}

int cmd_is_replica_dir(struct cmd_ctx *ctx, const char *path)
{
	char *state;
	struct stat st;
	int yes;

	if ((path[0] == '/' ? asprintf(&state, "%s/.mmsync", path)
	                    : asprintf(&state, "%s/%s/.mmsync", ctx->cwd, path)) < 0)
		return 0;
	yes = stat(state, &st) == 0 && S_ISDIR(st.st_mode);
	free(state);
	return yes;
}

int cmd_names_peer(struct cmd_ctx *ctx, const char *arg)
{
	char *url = NULL, *fp = NULL;

	if (url_is_remote(arg))
		return 1;
	if (ctx->r && cmd_peer_lookup(ctx->r, arg, &url, &fp)) {
		free(url);
		free(fp);
		return 1;
	}
	return cmd_is_replica_dir(ctx, arg);
}

static int peer_opt(void *arg, int opt, const char *val)
{
	const char **fp = arg;

	if (opt == 'F')
		*fp = val;
	return 0;
}

static int list_one(void *arg, const char *name, const char *url, const char *fp)
{
	struct cmd_ctx *ctx = arg;
	static int n;

	if (ctx->json) {
		printf("%s{\"name\":", n++ ? "," : "");
		out_json_string(stdout, name);
		printf(",\"url\":");
		out_json_string(stdout, url);
		printf(",\"fingerprint\":");
		if (fp)
			out_json_string(stdout, fp);
		else
			printf("null");
		putchar('}');
		return 0;
	}
	printf("%s\t%s%s%s\n", name, url, fp ? "\t" : "", fp ? fp : "");
	return 0;
}

int cmd_peer_add(struct cmd_ctx *ctx, const char *name, const char *url_text, const char *fp_text)
{
	char key[256], fp[IDENTITY_FP_TEXT], *old = NULL, *oldfp = NULL, *abs = NULL;
	struct url u;
	int err;

	if (!replica_name_valid(name)) {
		cmd_error("peer add: '%s' is not a valid peer name (letters, digits, '-' and '_', at most %d)", name,
		          REPLICA_NAME_MAX);
		return EXIT_USAGE;
	}
	if (cmd_peer_lookup(ctx->r, name, &old, &oldfp)) {
		cmd_error("peer add: a peer named '%s' exists already (%s); remove it first", name, old);
		free(old);
		free(oldfp);
		return EXIT_USAGE;
	}
	if (url_parse(&u, url_text) < 0) {
		cmd_error("peer add: %s", mm_error_msg());
		return EXIT_USAGE;
	}
	if (fp_text && u.kind != URL_TLS) {
		url_dispose(&u);
		cmd_error("peer add: --fingerprint is for tls:// peers");
		return EXIT_USAGE;
	}
	if (fp_text && identity_parse_fingerprint(fp, fp_text) < 0) {
		url_dispose(&u);
		cmd_error("peer add: %s", mm_error_msg());
		return EXIT_USAGE;
	}
	/* a local path is kept absolute: later runs start elsewhere */
	if (u.kind == URL_LOCAL && u.path[0] != '/' && asprintf(&abs, "%s/%s", ctx->cwd, u.path) < 0)
		abs = NULL;
	url_dispose(&u);
	snprintf(key, sizeof(key), "peer.%s.url", name);
	err = config_set_string(ctx->r->config, key, abs ? abs : url_text);
	free(abs);
	if (err == 0 && fp_text) {
		snprintf(key, sizeof(key), "peer.%s.fingerprint", name);
		err = config_set_string(ctx->r->config, key, fp);
	}
	if (err < 0)
		return cmd_fail(err);
	if (!fp_text && !strncmp(url_text, "tls://", 6) && !ctx->quiet)
		cmd_warning("peer '%s' has no --fingerprint: syncs with it are refused until one is pinned", name);
	return EXIT_OK;
}

static int peer_remove(struct cmd_ctx *ctx, const char *name)
{
	char key[256], *url = NULL, *fp = NULL;
	int err;

	if (!cmd_peer_lookup(ctx->r, name, &url, &fp)) {
		cmd_error("peer remove: no peer is named '%s' (see 'mmsync peer list')", name);
		return EXIT_USAGE;
	}
	free(url);
	free(fp);
	snprintf(key, sizeof(key), "peer.%s.", name);
	err = config_remove_all(ctx->r->config, key);
	return err < 0 ? cmd_fail(err) : EXIT_OK;
}

struct peer_args {
	const char *fp;  /* --fingerprint */
	const char *sub; /* add, list or remove */
	char **args;     /* its operands */
};

int cmd_peer_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"fingerprint", required_argument, NULL, 'F'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct peer_args *a = CMD_ARGS(ctx, struct peer_args);
	const char *sub;
	int first, nargs;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, peer_opt, &a->fp)) < 0)
		return CMD_GETOPT_FAILED(first);
	sub = first < argc ? argv[first] : "list";
	nargs = argc - first - (first < argc);
	if (!strcmp(sub, "add")      ? nargs != 2
	    : !strcmp(sub, "remove") ? nargs != 1
	    : !strcmp(sub, "list")   ? nargs != 0
	                             : 1) {
		if (strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "list"))
			cmd_error("peer: '%s' is not a subcommand (add, list, remove)", sub);
		else
			cmd_error("peer %s: wrong number of arguments", sub);
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	if (a->fp && strcmp(sub, "add")) {
		cmd_error("peer %s: --fingerprint is for 'peer add'", sub);
		return EXIT_USAGE;
	}
	a->sub = sub;
	a->args = argv + first + 1;
	return EXIT_OK;
}

int cmd_peer_run(struct cmd_ctx *ctx, const struct command *c)
{
	const struct peer_args *a = CMD_ARGS(ctx, struct peer_args);

	(void) c;
	if (!strcmp(a->sub, "add"))
		return cmd_peer_add(ctx, a->args[0], a->args[1], a->fp);
	if (!strcmp(a->sub, "remove"))
		return peer_remove(ctx, a->args[0]);
	if (ctx->json)
		putchar('[');
	if (cmd_peer_each(ctx->r, list_one, ctx) < 0)
		return cmd_fail(MM_ERROR);
	if (ctx->json)
		printf("]\n");
	return EXIT_OK;
}
