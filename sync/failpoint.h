/*
 * Failpoints for crash tests: with MMSYNC_FAILPOINT=NAME[:N] in the
 * environment, the N-th pass (default 1st) through failpoint("NAME") ends
 * the process at once with _exit(99), as a kill -9 would.
 */
#ifndef MMSYNC_FAILPOINT_H
#define MMSYNC_FAILPOINT_H

void failpoint(const char *name);

#endif
