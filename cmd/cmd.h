/*
 * The command line: one file per command (cmd/<name>.c with
 * cmd_<name>_parse() and cmd_<name>_run()), registered in the table of
 * cmd/main.c.  Parsing, messages
 * and exit codes live here; the engine in sync/ never prints or exits.
 */
#ifndef MMSYNC_CMD_H
#define MMSYNC_CMD_H

#include <stddef.h>
#include <stdio.h>

#include "sync/path.h"
#include "sync/scan.h"

#define MMSYNC_VERSION "0.1.0"

/* Exit status (SPEC.md). */
enum { EXIT_OK = 0, EXIT_CONFLICTS = 1, EXIT_USAGE = 2, EXIT_FAILED = 3, EXIT_LOCKED = 75 };

struct replica;

struct command;
struct subcommand;

/* Room for a command's parsed arguments (CMD_ARGS). */
#define CMD_ARGS_MAX 512

struct cmd_ctx {
	const char *dir; /* -C DIR, or NULL */
	const char *cwd; /* where the command was started */
	int quiet, verbose, json;
	int force;                    /* --force: scans record deletions past the guard (sync/scan.h) */
	struct replica *r;            /* opened (and locked) by main as the command's flags say */
	const struct subcommand *sub; /* the subcommand parse picked (cmd_pick_sub), or NULL */
	_Alignas(max_align_t) unsigned char args[CMD_ARGS_MAX]; /* the command's own, zeroed by main */
};

/* The command's argument struct `type`, kept in ctx between parse and run (a struct too large does not compile). */
#define CMD_ARGS(ctx, type) ((type *) (void *) (ctx)->args + 0 * sizeof(char[sizeof(type) <= CMD_ARGS_MAX ? 1 : -1]))

/*
 * The command table (cmd/main.c), after git's: main parses the global
 * options and finds the command; `parse` reads its options and operands
 * into CMD_ARGS (and picks a subcommand); main then sets up what the
 * flags of the entry (or of the subcommand) ask for, and calls `run`.
 * No command looks itself up, opens or locks its replica.
 *
 * parse returns EXIT_OK to go on, CMD_DONE when it has done all there was
 * to do (--help), or the exit status of the error it printed.
 */
#define CMD_DONE (-1)
typedef int (*cmd_parse_fn)(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
typedef int (*cmd_run_fn)(struct cmd_ctx *ctx, const struct command *self);

struct subcommand {
	const char *name;
	unsigned flags; /* CMD_*: in place of the command's own */
};

struct command {
	const char *name;
	cmd_parse_fn parse;
	cmd_run_fn run;
	unsigned flags;                /* CMD_*: what main sets up between parse and run */
	const char *summary;           /* one line for `mmsync --help` */
	const char *usage;             /* `mmsync help CMD`: usage line(s), then options */
	const struct subcommand *subs; /* subcommands whose set-up differs, ending with {NULL}; or NULL */
};

/* command.flags and subcommand.flags */
#define CMD_REPLICA 0x1 /* ctx->r: the replica at -C DIR or above the working directory */
#define CMD_LOCK    0x2 /* ... locked (exit 75 when another mmsync holds it) */

/*
 * Opens ctx->r as `flags` ask (nothing without CMD_REPLICA); main calls it
 * between parse and run, clone once it has made its replica.  Returns
 * EXIT_OK or the exit status of the error it printed.
 */
int cmd_setup(struct cmd_ctx *ctx, unsigned flags);
/* In parse: the subcommand `name` of self->subs is the one to set up for (none: the command's own flags). */
void cmd_pick_sub(struct cmd_ctx *ctx, const struct command *self, const char *name);
/* A parse for commands without options or operands ("NAME: too many arguments"). */
int cmd_parse_none(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
/* What parse returns for cmd_getopt's result `first` when it is < 0. */
#define CMD_GETOPT_FAILED(first) ((first) == -2 ? CMD_DONE : EXIT_USAGE)
/* Prints the usage of `c` to `f`. */
void cmd_usage(FILE *f, const struct command *c);

/* Messages on stderr, "mmsync: ..." (git style: lower case, path quoted). */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cmd_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports the library's last error and returns the exit status for `code`. */
int cmd_fail(int code);
/* The exit status for a library error code. */
int cmd_exit_for(int code);
/*
 * Parses a command's options with getopt_long (after the command name).
 * Returns the index of the first operand, or -1 after printing a usage
 * error; `--help` prints the usage and returns -2.
 */
struct option;
int cmd_getopt(const struct command *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
               int (*handle)(void *arg, int opt, const char *optarg), void *arg);

/* The candidate nearest to `word` when it looks like a slip of the finger (a few edits), else NULL. */
const char *cmd_nearest(const char *word, const char *const *cands, size_t n);

/*
 * Writes a message that may quote what a peer or a bundle sent: control
 * bytes (escape sequences, line breaks) become '?'.  cmd_error() and
 * cmd_warning() write through it.
 */
void out_message(FILE *f, const char *s);
/* Writes `s` for a terminal: as is when plain, else in "C-style quotes". */
void out_path(FILE *f, const char *s);
/* Room for a path quoted by quote_path (every byte may become a 4-byte escape). */
struct quoted {
	char s[4 * MM_PATH_MAX + 8];
};
/* `s` inside 'single quotes' for messages, C-quoted when unusual, written into *q; returns q->s. */
const char *quote_path(struct quoted *q, const char *s);
/* Writes `s` as a JSON string; bytes that are not UTF-8 become \udcXX (Python's surrogateescape). */
void out_json_string(FILE *f, const char *s);

int cmd_init_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_init_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_id_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_scan_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_scan_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_status_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_help_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_help_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_pull_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_pull_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_push_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_push_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_sync_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_sync_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_clone_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_clone_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_serve_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_serve_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_conflicts_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_conflicts_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_log_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_log_run(struct cmd_ctx *ctx, const struct command *self);
/*
 * The PATH arguments as replica paths (relative to the start directory when
 * that lies inside the replica, else to its root); *out is NULL when one
 * names the whole replica.  Returns an exit status (after a message).
 */
int cmd_replica_paths(struct cmd_ctx *ctx, char **args, size_t n, char ***out);
int cmd_gc_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_check_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_check_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_peer_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_peer_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_trust_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_trust_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_untrust_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_untrust_run(struct cmd_ctx *ctx, const struct command *self);
int cmd_bundle_parse(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv);
int cmd_bundle_run(struct cmd_ctx *ctx, const struct command *self);

/* Options of the commands that reach peers (pull, push, sync, clone), after the command name. */
struct peer_opts {
	const char *ssh;         /* --ssh CMD (else $MMSYNC_SSH, else "ssh") */
	const char *remote_prog; /* --remote-mmsync PATH */
	const char *fingerprint; /* --fingerprint FP: the TLS pin for every peer named */
	long timeout_s;          /* --timeout SECONDS for the whole run; 0: none */
	int all;                 /* --all (sync) */
	int bundle;              /* the peers are bundle files (bundle apply) */
	int progress;            /* --progress: the progress line even when stderr is not a terminal */
	int force;               /* --force: record deletions past the guard (sync/scan.h) */
};

/* cmd_run_peers's op: with PROTO_OP_PULL, the peer is a bundle file (`bundle apply`). */
#define CMD_OP_BUNDLE 0x100

/* getopt_long entries for struct peer_opts, and their handler (returns -1 after a message). */
#define PEER_LONGOPTS                                                                                                  \
	{"ssh", required_argument, NULL, 'S'}, {"remote-mmsync", required_argument, NULL, 'R'},                        \
	        {"fingerprint", required_argument, NULL, 'F'}, {"timeout", required_argument, NULL, 'T'},              \
	        {"progress", no_argument, NULL, 'P'},                                                                  \
	{                                                                                                              \
		"force", no_argument, NULL, 'f'                                                                        \
	}
int cmd_peer_option(struct peer_opts *po, const char *cmd, int opt, const char *val);

/*
 * On ctx->r, opened and locked: finishes what a killed run left, scans,
 * then syncs (`op`: PROTO_OP_* bits) with each peer in turn, limited to
 * `paths` when given.  Returns the worst exit status.
 */
int cmd_run_peers(struct cmd_ctx *ctx, unsigned op, const struct peer_opts *po, char **peers, size_t npeers,
                  char **paths, size_t npaths);
/* The message of the last peer that failed in this process ("" when none). */
const char *cmd_last_peer_error(void);
/* The URL and TLS pin of the configured peer `name` (callers free); 0 when there is none. */
int cmd_peer_lookup(struct replica *r, const char *name, char **url, char **fingerprint);
/* Adds a named peer to the config (printing why not); returns an exit status. */
int cmd_peer_add(struct cmd_ctx *ctx, const char *name, const char *url, const char *fingerprint);
/* Calls fn for each configured peer, in the config file's order. */
int cmd_peer_each(struct replica *r, int (*fn)(void *arg, const char *name, const char *url, const char *fp),
                  void *arg);
/* 1 when the directory `path` (relative to the start directory) holds a replica. */
int cmd_is_replica_dir(struct cmd_ctx *ctx, const char *path);
/* 1 when `arg` is a URL, a directory holding a replica, or a configured peer's name. */
int cmd_names_peer(struct cmd_ctx *ctx, const char *arg);

/*
 * Runs a scan of ctx->r with warnings printed (skips always, special files
 * unless quiet) and changes passed to `on_change`.  Returns the library
 * code; prints nothing else but the progress line when that is on.
 */
int cmd_run_scan(struct cmd_ctx *ctx, unsigned flags, scan_change_fn on_change, void *arg, struct scan_stats *st);
/*
 * What session_prepare does (finish what a killed run left, then scan, with
 * warnings through cmd_scan_warning), with the progress line when
 * `show_progress` and the display is on.  Returns the library code.
 */
int cmd_prepare(struct cmd_ctx *ctx, int show_progress, struct scan_stats *st);
/* A scan's warning about a path, for session_prepare (arg: the cmd_ctx); quiet about special files under -q. */
void cmd_scan_warning(void *arg, const char *path, const char *msg);
/* "added", "modified", "deleted". */
const char *cmd_change_name(enum scan_change what);
#endif
