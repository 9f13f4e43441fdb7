/*
 * The progress display of scan and transfers: one line on stderr, redrawn
 * in place ("\r", the line, ESC [K) at most 4 times a second.  It is on
 * when stderr is a terminal, or with --progress; never with -q.  When
 * stderr is not a terminal (--progress into a log), each update is a whole
 * line of its own, at most one a second, without escape sequences.
 *
 * The state is this file's own (not the cmd_ctx's): every message printer
 * (cmd_error, cmd_warning, the relay of an ssh peer's stderr, which runs on
 * its own thread) must be able to erase the line first.  Drawing and
 * erasing hold stderr's stdio lock (flockfile), which those printers take
 * around their message too.
 */
#ifndef MMSYNC_CMD_PROGRESS_H
#define MMSYNC_CMD_PROGRESS_H

struct cmd_ctx;
struct scan_stats;
struct session_progress;

/* Turns the display on for this run when stderr is a terminal or `forced`, and not under -q. */
void progress_init(const struct cmd_ctx *ctx, int forced);
/* 1 when the display is on. */
int progress_on(void);
/* Starts a phase: `label` heads the line ("scan", "sync with laptop"); rates start anew. */
void progress_phase(const char *label);
/* Redraws the line with a scan's counts so far, when a redraw is due. */
void progress_scan(const struct scan_stats *st);
/* Redraws the line with a transfer's counts so far, when a redraw is due. */
void progress_transfer(const struct session_progress *p);
/* Erases the line when one is shown: call before anything else goes to stderr, or at the end. */
void progress_clear(void);
/* The same before a line goes to stdout, when that is the terminal too (-v lists paths as they go). */
void progress_before_stdout(void);

#endif
