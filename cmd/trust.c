/*
 * mmsync trust [FINGERPRINT [--name NAME]] and mmsync untrust FINGERPRINT:
 * the TLS clients `serve --tls` accepts, kept in the config as
 * [trust "SHA256:..."] name = NAME.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "sync/config.h"
#include "sync/error.h"
#include "sync/identity.h"
#include "sync/replica.h"

struct listing {
	struct cmd_ctx *ctx;
	int n;
	const char *want_name; /* untrust by name: the fingerprint found goes to `found` */
	char found[IDENTITY_FP_TEXT];
	int matches;
};

/* "trust.SHA256:....name" = NAME */
static int each_trust(void *arg, const char *key, const char *value)
{
	struct listing *l = arg;
	size_t n = strlen(key);
	char fp[IDENTITY_FP_TEXT];

	if (n != 6 + IDENTITY_FP_TEXT - 1 + 5 || strcmp(key + n - 5, ".name"))
		return 0;
	memcpy(fp, key + 6, IDENTITY_FP_TEXT - 1);
	fp[IDENTITY_FP_TEXT - 1] = '\0';
	if (l->want_name) {
		if (!strcmp(value, l->want_name)) {
			memcpy(l->found, fp, sizeof(fp));
			l->matches++;
		}
		return 0;
	}
	if (l->ctx->json) {
		printf("%s{\"fingerprint\":\"%s\",\"name\":", l->n++ ? "," : "", fp);
		out_json_string(stdout, value);
		putchar('}');
	} else {
		printf("%s%s%s\n", fp, *value ? "\t" : "", value);
	}
	return 0;
}

static int trust_opt(void *arg, int opt, const char *val)
{
	const char **name = arg;

	if (opt == 'n')
		*name = val;
	return 0;
}

struct trust_args {
	const char *name;          /* --name */
	char fp[IDENTITY_FP_TEXT]; /* trust: the fingerprint, "" to list */
	const char *arg;           /* untrust: the fingerprint or name as given */
};

int cmd_trust_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"name", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct trust_args *a = CMD_ARGS(ctx, struct trust_args);
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", longopts, trust_opt, &a->name)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (argc - first > 1 || (argc == first && a->name)) {
		cmd_error("trust: give one fingerprint");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	if (first < argc && identity_parse_fingerprint(a->fp, argv[first]) < 0) {
		cmd_error("trust: %s", mm_error_msg());
		return EXIT_USAGE;
	}
	if (a->name && (!*a->name || strchr(a->name, '\n'))) {
		cmd_error("trust: --name needs a name on one line");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_trust_run(struct cmd_ctx *ctx, const struct command *c)
{
	const struct trust_args *a = CMD_ARGS(ctx, struct trust_args);
	const char *name = a->name;
	char key[128];
	struct listing l = {ctx, 0, NULL, "", 0};
	int rc;

	(void) c;
	if (!a->fp[0]) {
		/* no fingerprint: list the trusted clients */
		if (ctx->json)
			putchar('[');
		if (config_each(ctx->r->config, "trust.", each_trust, &l) < 0)
			return cmd_fail(MM_ERROR);
		if (ctx->json)
			printf("]\n");
		return EXIT_OK;
	}
	snprintf(key, sizeof(key), "trust.%s.name", a->fp);
	if ((rc = config_set_string(ctx->r->config, key, name ? name : "")) < 0)
		return cmd_fail(rc);
	return EXIT_OK;
}

int cmd_untrust_parse(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	int first;

	if ((first = cmd_getopt(c, argc, argv, "", NULL, NULL, NULL)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (argc - first != 1) {
		cmd_error("untrust: give one fingerprint (or the name given at 'trust')");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	CMD_ARGS(ctx, struct trust_args)->arg = argv[first];
	return EXIT_OK;
}

int cmd_untrust_run(struct cmd_ctx *ctx, const struct command *c)
{
	const char *arg = CMD_ARGS(ctx, struct trust_args)->arg;
	char fp[IDENTITY_FP_TEXT], key[128];
	struct listing l = {ctx, 0, NULL, "", 0};
	int rc;

	(void) c;
	if (identity_parse_fingerprint(fp, arg) < 0) {
		/* a name given at `trust --name` */
		l.want_name = arg;
		if (config_each(ctx->r->config, "trust.", each_trust, &l) < 0)
			return cmd_fail(MM_ERROR);
		if (l.matches != 1) {
			cmd_error("untrust: '%s' is %s", arg,
			          l.matches ? "the name of more than one trusted client: give the fingerprint"
			                    : "neither a fingerprint nor the name of a trusted client");
			return EXIT_USAGE;
		}
		memcpy(fp, l.found, sizeof(fp));
	}
	snprintf(key, sizeof(key), "trust.%s.name", fp);
	rc = config_delete(ctx->r->config, key);
	if (rc == MM_ENOTFOUND) {
		cmd_error("untrust: %s is not trusted here", fp);
		return EXIT_USAGE;
	}
	if (rc == 0) {
		snprintf(key, sizeof(key), "trust.%s.", fp);
		rc = config_remove_all(ctx->r->config, key);
	}
	return rc < 0 ? cmd_fail(rc) : EXIT_OK;
}
