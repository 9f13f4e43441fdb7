/*
 * The command line: one file per command (cmd/<name>.c with
 * cmd_<name>()), registered in the table of cmd/main.c.  Parsing, messages
 * and exit codes live here; the engine in sync/ never prints or exits.
 */
#ifndef MMSYNC_CMD_H
#define MMSYNC_CMD_H

#include <stdio.h>

#define MMSYNC_VERSION "0.1.0"

/* Exit status (SPEC.md). */
enum {
	EXIT_OK = 0,
	EXIT_CONFLICTS = 1,
	EXIT_USAGE = 2,
	EXIT_FAILED = 3,
	EXIT_LOCKED = 75
};

struct replica;

struct cmd_ctx {
	const char *dir;      /* -C DIR, or NULL */
	const char *cwd;      /* where the command was started */
	int quiet, verbose, json;
	int force;            /* --force: scans record deletions past the guard (sync/scan.h) */
	struct replica *r;    /* opened by main for commands that need one */
};

struct command {
	const char *name;
	int (*fn)(struct cmd_ctx *ctx, int argc, char **argv);
	unsigned flags;
	const char *summary;  /* one line for `mmsync --help` */
	const char *usage;    /* `mmsync help CMD`: usage line(s), then options */
};

/* command.flags */
#define CMD_REPLICA 0x1 /* works on the replica at -C DIR or above the working directory */
#define CMD_LOCK 0x2    /* ... and takes its lock (exit 75 when held) */

const struct command *cmd_find(const char *name);
/*
 * Opens ctx->r for command `c` (locked when it has CMD_LOCK), after the
 * command has parsed its arguments.  Returns EXIT_OK or the exit status of
 * the error it printed.
 */
int cmd_open_replica(struct cmd_ctx *ctx, const struct command *c);
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
/* A path inside 'single quotes' for messages, C-quoted when unusual; returns a static buffer. */
const char *quote_path(const char *s);
/* Writes `s` as a JSON string; bytes that are not UTF-8 become \udcXX (Python's surrogateescape). */
void out_json_string(FILE *f, const char *s);

int cmd_init(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_id(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_scan(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_status(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_help(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_pull(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_push(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_sync(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_clone(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_serve(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_conflicts(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_log(struct cmd_ctx *ctx, int argc, char **argv);
/*
 * The PATH arguments as replica paths (relative to the start directory when
 * that lies inside the replica, else to its root); *out is NULL when one
 * names the whole replica.  Returns an exit status (after a message).
 */
int cmd_replica_paths(struct cmd_ctx *ctx, char **args, size_t n, char ***out);
int cmd_gc(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_check(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_peer(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_trust(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_untrust(struct cmd_ctx *ctx, int argc, char **argv);
int cmd_bundle(struct cmd_ctx *ctx, int argc, char **argv);

/* Options of the commands that reach peers (pull, push, sync, clone), after the command name. */
struct peer_opts {
	const char *ssh;          /* --ssh CMD (else $MMSYNC_SSH, else "ssh") */
	const char *remote_prog;  /* --remote-mmsync PATH */
	const char *fingerprint;  /* --fingerprint FP: the TLS pin for every peer named */
	long timeout_s;           /* --timeout SECONDS for the whole run; 0: none */
	int all;                  /* --all (sync) */
	int bundle;               /* the peers are bundle files (bundle apply) */
	int progress;             /* --progress: the progress line even when stderr is not a terminal */
	int force;                /* --force: record deletions past the guard (sync/scan.h) */
};

/* cmd_sync_run's op: with PROTO_OP_PULL, the peer is a bundle file (`bundle apply`). */
#define CMD_OP_BUNDLE 0x100

/* getopt_long entries for struct peer_opts, and their handler (returns -1 after a message). */
#define PEER_LONGOPTS                                                                                          \
	{"ssh", required_argument, NULL, 'S'}, {"remote-mmsync", required_argument, NULL, 'R'},                    \
		{"fingerprint", required_argument, NULL, 'F'}, {"timeout", required_argument, NULL, 'T'},          \
		{"progress", no_argument, NULL, 'P'}, {"force", no_argument, NULL, 'f'}
int cmd_peer_option(struct peer_opts *po, const char *cmd, int opt, const char *val);

/*
 * Opens and locks the replica for command `c`, finishes what a killed run
 * left, scans, then syncs (`op`: PROTO_OP_* bits) with each peer in turn,
 * limited to `paths` when given.  Returns the worst exit status.
 */
int cmd_sync_run(struct cmd_ctx *ctx, const struct command *c, unsigned op, const struct peer_opts *po,
		 char **peers, size_t npeers, char **paths, size_t npaths);
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



#include "sync/scan.h"
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
