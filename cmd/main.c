/* mmsync's entry point: global options, then one command from the table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/replica.h"

/* Subcommands whose set-up differs from their command's (parse picks one with cmd_pick_sub). */
static const struct subcommand bundle_subs[] = {
        {"create", CMD_REPLICA | CMD_LOCK}, {"apply", CMD_REPLICA | CMD_LOCK}, {"list", 0}, {NULL, 0}};
static const struct subcommand conflicts_subs[] = {
        {"list", CMD_REPLICA}, {"show", CMD_REPLICA}, {"resolve", CMD_REPLICA | CMD_LOCK}, {NULL, 0}};

/*
 * init and clone make their replica; serve opens its own (--stdio reports a
 * failure to its client, --tls opens one per client).
 */
static const struct command commands[] = {
        {"init", cmd_init_parse, cmd_init_run, 0, "make a directory a replica",
         "usage: mmsync init [DIR] [--name NAME]\n"
         "\n"
         "Makes DIR (default: the current directory, created if missing) a replica.\n"
         "Refuses a directory that is already a replica or lies inside one.\n"
         "\n"
         "    --name NAME   label for this replica in conflict copies and logs\n"
         "                  (default: the host name)\n",
         NULL},
        {"id", cmd_parse_none, cmd_id_run, CMD_REPLICA, "print this replica's name, id and TLS fingerprint",
         "usage: mmsync id\n"
         "\n"
         "Prints the replica's name, id and TLS certificate fingerprint, one per line.\n",
         NULL},
        {"scan", cmd_scan_parse, cmd_scan_run, CMD_REPLICA | CMD_LOCK, "record local changes in the metadata store",
         "usage: mmsync scan [--progress] [--force]\n"
         "\n"
         "Records what changed in the tree since the last scan. With -v, prints each\n"
         "changed path; with --json, a summary object. Exit 3 when a path could not be\n"
         "read (it keeps its recorded state).\n"
         "Deletions that would empty the tree, or remove more of it than\n"
         "sync.maxDelete allows (default 50%), are not recorded (exit 3) unless\n"
         "--force is given: an unmounted disk must not delete every other replica.\n"
         "\n"
         "    --progress    show the progress line even when stderr is not a terminal\n"
         "    --force       record such deletions\n",
         NULL},
        {"status", cmd_parse_none, cmd_status_run, CMD_REPLICA,
         "show local changes not yet recorded, and open conflicts",
         "usage: mmsync status\n"
         "\n"
         "Lists the paths added, modified or deleted since they were last recorded,\n"
         "without recording anything. With --json, one object. Exit 1 while open\n"
         "conflicts exist.\n",
         NULL},
        {"clone", cmd_clone_parse, cmd_clone_run, 0, "make a new replica of a peer",
         "usage: mmsync clone URL DIR [--name NAME] [PEER OPTIONS]\n"
         "\n"
         "Makes DIR (created if missing; it must be empty) a replica, then pulls URL\n"
         "into it. A clone that brings nothing (the peer could not be reached) removes\n"
         "what it made, except when a TLS server does not trust the new replica yet:\n"
         "then DIR is kept, and its fingerprint printed for 'mmsync trust' there.\n"
         "\n"
         "    --name NAME   label for the new replica (default: the host name)\n"
         "    (and the peer options of 'mmsync help pull')\n",
         NULL},
        {"pull", cmd_pull_parse, cmd_pull_run, CMD_REPLICA | CMD_LOCK, "bring a peer's changes here",
         "usage: mmsync pull [PEER OPTIONS] PEER [PATH...]\n"
         "\n"
         "Brings every version PEER holds that this replica lacks, whoever wrote it\n"
         "(only under the PATHs when given). PEER is a name from 'mmsync peer add' or a\n"
         "URL: a path to a replica on this machine, ssh://[USER@]HOST[:PORT]/PATH,\n"
         "[USER@]HOST:PATH, or tls://HOST:PORT.\n"
         "\n"
         "Peer options:\n"
         "    --ssh CMD             the ssh command (default: $MMSYNC_SSH, else ssh)\n"
         "    --remote-mmsync PATH  the mmsync program on the ssh host (default: mmsync)\n"
         "    --fingerprint FP      the TLS server's certificate fingerprint (the pin)\n"
         "    --timeout SECONDS     give up on the whole run after this long (exit 3)\n"
         "    --progress            show the progress line (files, bytes, rate, time left)\n"
         "                          even when stderr is not a terminal; never with -q\n"
         "    --force               record local deletions that would empty the tree or\n"
         "                          pass sync.maxDelete (see 'mmsync help scan')\n",
         NULL},
        {"push", cmd_push_parse, cmd_push_run, CMD_REPLICA | CMD_LOCK, "send this replica's changes to a peer",
         "usage: mmsync push [PEER OPTIONS] PEER [PATH...]\n"
         "\n"
         "Sends every version this replica holds that PEER lacks (only under the PATHs\n"
         "when given). PEER and the peer options are as for 'mmsync help pull'.\n",
         NULL},
        {"sync", cmd_sync_parse, cmd_sync_run, CMD_REPLICA | CMD_LOCK, "pull then push, with each peer",
         "usage: mmsync sync [PEER OPTIONS] PEER... [PATH...]\n"
         "       mmsync sync [PEER OPTIONS] --all [PATH...]\n"
         "\n"
         "Pulls from and pushes to each PEER in turn, or every configured peer with\n"
         "--all (only under the PATHs when given). One peer failing does not stop the\n"
         "others. Exit 1 when open conflicts remain, 3 when a peer failed.\n"
         "For cron: mmsync -q sync --all --timeout 3600\n"
         "\n"
         "    --all                 every peer of 'mmsync peer list', in order\n"
         "    (and the peer options of 'mmsync help pull')\n",
         NULL},
        {"bundle", cmd_bundle_parse, cmd_bundle_run, 0, "offline sync through a file",
         "usage: mmsync bundle create FILE [--for PEER] [--force] [PATH...]\n"
         "       mmsync bundle apply [--progress] [--force] FILE\n"
         "       mmsync bundle list FILE\n"
         "\n"
         "create: write the changes a peer lacks (without --for, everything) to FILE, a\n"
         "pax archive compressed with zstd. With --for PEER (a peer this replica has\n"
         "synced with, or a replica id), what PEER confirmed having is left out, and\n"
         "only PEER may apply it.\n"
         "apply: check the whole bundle, then apply it with the rules of a live sync\n"
         "(merges, conflicts, crash safety); its author's changes count as seen, so a\n"
         "later sync does not send them again. Applying one twice changes nothing.\n"
         "list: what a bundle holds, without applying it.\n"
         "A truncated, corrupt, tampered or foreign bundle is refused (exit 3).\n"
         "\n"
         "    --for PEER    leave out what PEER has; only PEER may apply it\n"
         "    --progress    apply: as for 'mmsync help pull'\n"
         "    --force       record local deletions past the guard ('mmsync help scan')\n",
         bundle_subs},
        {"peer", cmd_peer_parse, cmd_peer_run, CMD_REPLICA, "add, list and remove named peers",
         "usage: mmsync peer add NAME URL [--fingerprint FP]\n"
         "       mmsync peer list\n"
         "       mmsync peer remove NAME\n"
         "\n"
         "Named peers live in .mmsync/config; a name works wherever a URL does.\n"
         "list: NAME<TAB>URL[<TAB>FINGERPRINT] per peer; with --json an array.\n"
         "\n"
         "    --fingerprint FP   pin a tls:// peer's certificate (see 'mmsync id' there)\n",
         NULL},
        {"serve", cmd_serve_parse, cmd_serve_run, 0, "serve this replica to one peer (--stdio) or over TLS",
         "usage: mmsync serve --stdio\n"
         "       mmsync serve --tls --listen HOST:PORT [--timeout SECONDS]\n"
         "\n"
         "--stdio: speak the sync protocol on stdin and stdout for the replica at -C DIR\n"
         "(what a local or ssh peer runs).\n"
         "--tls: serve this replica over mutual TLS 1.3 until SIGTERM or SIGINT. Only\n"
         "clients added with 'mmsync trust' are served, one session at a time under the\n"
         "replica lock (others wait). Port 0 picks a free port; the address is printed.\n"
         "\n"
         "    --listen HOST:PORT   where to listen\n"
         "    --timeout SECONDS    drop a client silent for this long (default 300)\n",
         NULL},
        {"trust", cmd_trust_parse, cmd_trust_run, CMD_REPLICA, "allow a TLS client, or list the allowed ones",
         "usage: mmsync trust [FINGERPRINT [--name NAME]]\n"
         "\n"
         "Lets the replica with this certificate fingerprint (see 'mmsync id' there)\n"
         "sync with 'mmsync serve --tls' here. Without a fingerprint, lists the trusted\n"
         "clients (with --json, an array).\n"
         "\n"
         "    --name NAME   a label for the client in logs\n",
         NULL},
        {"untrust", cmd_untrust_parse, cmd_untrust_run, CMD_REPLICA, "stop allowing a TLS client",
         "usage: mmsync untrust FINGERPRINT|NAME\n"
         "\n"
         "Removes a client from the trusted ones; its next connection is refused.\n",
         NULL},
        {"conflicts", cmd_conflicts_parse, cmd_conflicts_run, CMD_REPLICA, "list, show and resolve open conflicts",
         "usage: mmsync conflicts [list]\n"
         "       mmsync conflicts show PATH\n"
         "       mmsync conflicts resolve PATH [--ours | --theirs]\n"
         "\n"
         "list: one line per open conflict, PATH<TAB>KIND<TAB>DETAIL (KIND: content,\n"
         "binary or type); with --json an array of objects with path, kind, copies,\n"
         "replicas and detected. Exit 1 while any is open.\n"
         "show: both versions (who wrote each, when, sizes) and, for text, a diff3 view.\n"
         "resolve: close it. With no flag the file as it now stands at PATH is the\n"
         "resolution; --ours keeps the version at PATH, --theirs the conflict copy.\n"
         "The copy is removed; the resolution wins everywhere on later syncs.\n"
         "\n"
         "    --ours        keep the version at PATH\n"
         "    --theirs      replace it with the conflict copy\n",
         conflicts_subs},
        {"log", cmd_log_parse, cmd_log_run, CMD_REPLICA, "show what recent syncs did",
         "usage: mmsync log [-n N] [--since DURATION]\n"
         "\n"
         "Prints the last N (default 20) lines of .mmsync/log: one per sync, and one per\n"
         "conflict, kept edit or failure. With --since, every line of the last DURATION\n"
         "(e.g. 45s, 30m, 2h, 7d, 1w, 1h30m; with -n, the last N of those).\n"
         "\n"
         "    -n N               how many lines\n"
         "    --since DURATION   only lines this recent\n",
         NULL},
        {"check", cmd_check_parse, cmd_check_run, CMD_REPLICA | CMD_LOCK, "verify the metadata store against the tree",
         "usage: mmsync check [--progress]\n"
         "\n"
         "Verifies the metadata store and the tree, and changes nothing: SQLite's\n"
         "integrity check, every recorded row, then every file of the tree read\n"
         "again. One line per problem, KIND<TAB>PATH<TAB>DETAIL: 'store' (the store\n"
         "itself), 'damaged' (a file whose content is not the recorded one though all\n"
         "its stat data is, such as bit rot: no scan can see it), 'unreadable'.\n"
         "Changes made since the last scan are counted, not problems.\n"
         "With --json, one object. Exit 0 when no problem was found, else 3.\n"
         "\n"
         "    --progress    show the progress line even when stderr is not a terminal\n",
         NULL},
        {"gc", cmd_parse_none, cmd_gc_run, CMD_REPLICA | CMD_LOCK,
         "drop merge bases and tombstones no known peer can still need",
         "usage: mmsync gc\n"
         "\n"
         "Drops the history and merge bases of versions every known peer has moved past,\n"
         "versions a conflict policy replaced once gc.retention has passed, and the\n"
         "tombstones every known peer has received. With --json, the counts.\n",
         NULL},
        {"help", cmd_help_parse, cmd_help_run, 0, "show help for a command", "usage: mmsync help [COMMAND]\n", NULL},
};

static const char global_usage[] = "usage: mmsync [-C DIR] [-q | -v] [--json] COMMAND [ARGS...]\n"
                                   "       mmsync --help | --version | help COMMAND\n"
                                   "\n"
                                   "Global options:\n"
                                   "    -C DIR        act on the replica at DIR (default: the nearest directory\n"
                                   "                  upwards from the working directory that holds .mmsync/)\n"
                                   "    -q, --quiet   print only errors\n"
                                   "    -v, --verbose print each path acted on\n"
                                   "    --json        machine-readable output\n"
                                   "    --help        this text; 'mmsync help COMMAND' for a command\n"
                                   "    --version     print the version\n";

/* "'x' is not an mmsync command", with the nearest one when it looks like a slip. */
static void unknown_command(const char *name)
{
	const char *cands[sizeof(commands) / sizeof(commands[0])], *near;
	size_t n = sizeof(commands) / sizeof(commands[0]);

	for (size_t i = 0; i < n; i++)
		cands[i] = commands[i].name;
	if ((near = cmd_nearest(name, cands, n)))
		cmd_error("'%s' is not an mmsync command; did you mean '%s'? (see 'mmsync --help')", name, near);
	else
		cmd_error("'%s' is not an mmsync command; see 'mmsync --help'", name);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_help(FILE *f)
{
	fputs(global_usage, f);
	fputs("\nCommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "    %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nExit status: 0 done, 1 open conflicts remain, 2 usage error, 3 failed,\n"
	      "75 another mmsync is working on this replica. See mmsync(1).\n",
	      f);
}

struct help_args {
	const char *topic; /* a command's name, or NULL */
};

int cmd_help_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	(void) self;
	CMD_ARGS(ctx, struct help_args)->topic = argc < 2 ? NULL : argv[1];
	return EXIT_OK;
}

int cmd_help_run(struct cmd_ctx *ctx, const struct command *self)
{
	const char *topic = CMD_ARGS(ctx, struct help_args)->topic;
	const struct command *c;

	(void) self;
	if (!topic) {
		print_help(stdout);
		return EXIT_OK;
	}
	if (!(c = find_command(topic))) {
		unknown_command(topic);
		return EXIT_USAGE;
	}
	cmd_usage(stdout, c);
	return EXIT_OK;
}

/* The global options before the command; returns the command's index in argv, or -(exit status + 1). */
static int global_options(struct cmd_ctx *ctx, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-C")) {
			if (++i == argc) {
				cmd_error("option '-C' needs a directory");
				return -(EXIT_USAGE + 1);
			}
			ctx->dir = argv[i];
		} else if (!strncmp(a, "-C", 2)) {
			ctx->dir = a + 2;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			ctx->quiet = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			ctx->verbose = 1;
		} else if (!strcmp(a, "--json")) {
			ctx->json = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_help(stdout);
			return -(EXIT_OK + 1);
		} else if (!strcmp(a, "--version")) {
			printf("mmsync %s\n", MMSYNC_VERSION);
			return -(EXIT_OK + 1);
		} else {
			cmd_error("unknown global option '%s'", a);
			fputs(global_usage, stderr);
			return -(EXIT_USAGE + 1);
		}
	}
	if (i == argc) {
		print_help(stderr);
		return -(EXIT_USAGE + 1);
	}
	if (ctx->quiet && ctx->verbose) {
		cmd_error("-q and -v cannot be used together");
		return -(EXIT_USAGE + 1);
	}
	return i;
}

/* Parses the command's arguments, sets up what its flags (or its subcommand's) ask for, then runs it. */
static int run_command(struct cmd_ctx *ctx, const struct command *c, int argc, char **argv)
{
	int rc;

	for (int j = 1; j < argc && strcmp(argv[j], "--"); j++) {
		if (!strcmp(argv[j], "--help")) {
			cmd_usage(stdout, c);
			return EXIT_OK;
		}
	}
	if ((rc = c->parse(ctx, c, argc, argv)) != EXIT_OK)
		return rc == CMD_DONE ? EXIT_OK : rc;
	if ((rc = cmd_setup(ctx, ctx->sub ? ctx->sub->flags : c->flags)) != EXIT_OK)
		return rc;
	return c->run(ctx, c);
}

int main(int argc, char **argv)
{
	struct cmd_ctx ctx = {0};
	const struct command *c;
	char *cwd;
	int i, rc;

	/* Whatever the stream is, a line of output is written whole. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if ((i = global_options(&ctx, argc, argv)) < 0)
		return -i - 1;
	if (!(c = find_command(argv[i]))) {
		unknown_command(argv[i]);
		return EXIT_USAGE;
	}
	if (!(cwd = getcwd(NULL, 0))) {
		cmd_error("cannot read the working directory: %s", strerror(errno));
		return EXIT_FAILED;
	}
	ctx.cwd = cwd;
	rc = run_command(&ctx, c, argc - i, argv + i);
	replica_free(ctx.r);
	free(cwd);
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		cmd_error("cannot write output: %s", strerror(errno));
		rc = EXIT_FAILED;
	}
	return rc;
}
