/*
 * Failpoints for crash tests, compiled only into a test build (-DMMSYNC_TEST:
 * the Makefile's build/test and build/asan, like SQLite's SQLITE_TEST); in a
 * release build each is an inline no-op the compiler removes, and the binary
 * reads none of the variables below.
 *
 * With MMSYNC_FAILPOINT=NAME[:N] in the environment, the N-th pass (default
 * 1st) through failpoint("NAME") ends the process at once with _exit(99), as
 * a kill -9 would.  With MMSYNC_PAUSE=NAME:MS the first pass sleeps MS
 * milliseconds instead (for tests that change a file while a sync runs).
 *
 * The points, in the order a receiving side meets them:
 *   recv-row            a row of the peer's index was read
 *   apply-mkdir         a directory was created
 *   apply-symlink       a link was made under its temporary name
 *   apply-remove        a path was removed
 *   apply-tmp-written   a temporary file holds its verified content
 *   apply-sync-data     before the batch's data is made durable
 *   apply-journal       the batch's rows are journaled
 *   apply-rename        a temporary file was renamed into place
 *   apply-sync-renames  before the renames (in a batch without files: the
 *                       directories, links and removals) are made durable
 *   apply-before-commit before the batch's rows are committed
 *   apply-commit        after the commit
 * and on a sending side:
 *   send-data           a chunk of content was queued
 *
 * Error injection: with MMSYNC_FAILERR=NAME[:N[:ENOSPC]] in the environment,
 * the N-th pass (default 1st), and only that one, through
 * failpoint_err("NAME") returns EIO (ENOSPC with the third field), and the
 * caller fails as if the system call there had returned it.  The points,
 * in the order a receiving side meets them (indented apart from the crash
 * points above, which t-41 walks):
 *    apply-write         a write(2) of a temporary file's content
 *    apply-close         the close(2) of a filled temporary file (where some
 *                        file systems report a failed write-back)
 *    apply-sync-data     the syncfs(2) that makes a batch's new files durable
 *                        (a pass for the root's file system, then one for
 *                        each other file system mounted beneath the root
 *                        that the batch wrote to; the same for the next)
 *    store-commit        a commit of the metadata store (a scan's rows, a
 *                        batch's journal, a batch's rows)
 *    apply-sync-renames  the syncfs(2) that makes a batch's renames, and the
 *                        directories, links, removals and moves done before
 *                        it, durable (the rows are committed only after it)
 *    apply-sync-recover  at the start of a run, the syncfs(2) before the rows
 *                        of a batch renamed in whose commit was lost (the
 *                        journal) are committed
 */
#ifndef MMSYNC_FAILPOINT_H
#define MMSYNC_FAILPOINT_H

#ifdef MMSYNC_TEST
void failpoint(const char *name);
/*
 * With MMSYNC_GARBLE=NAME in the environment: 1 where the caller must spoil
 * what it sends (a test of the peer's checks), else 0.  The one point so
 * far, "delta", makes a sender flip bits in every delta it sends.
 */
int failpoint_garble(const char *name);
/* 0, or the errno value the operation at point NAME must fail with (see above). */
int failpoint_err(const char *name);
/* Tests only: MMSYNC_FAILERR is read again, and its passes counted anew, from the next failpoint_err(). */
void failpoint_err_reset(void);
#else
/* release build: no hooks (nothing to read, nothing injected) */
static inline void failpoint(const char *name)
{
	(void) name;
}

static inline int failpoint_garble(const char *name)
{
	(void) name;
	return 0;
}

static inline int failpoint_err(const char *name)
{
	(void) name;
	return 0;
}

static inline void failpoint_err_reset(void)
{
}
#endif

#endif
