/*
 * Failpoints for crash tests: with MMSYNC_FAILPOINT=NAME[:N] in the
 * environment, the N-th pass (default 1st) through failpoint("NAME") ends
 * the process at once with _exit(99), as a kill -9 would.  With
 * MMSYNC_PAUSE=NAME:MS the first pass sleeps MS milliseconds instead (for
 * tests that change a file while a sync runs).
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
 *   apply-sync-renames  before the renames are made durable
 *   apply-before-commit before the batch's rows are committed
 *   apply-commit        after the commit
 * and on a sending side:
 *   send-data           a chunk of content was queued
 */
#ifndef MMSYNC_FAILPOINT_H
#define MMSYNC_FAILPOINT_H

void failpoint(const char *name);
/*
 * With MMSYNC_GARBLE=NAME in the environment: 1 where the caller must spoil
 * what it sends (a test of the peer's checks), else 0.  The one point so
 * far, "delta", makes a sender flip bits in every delta it sends.
 */
int failpoint_garble(const char *name);

#endif
