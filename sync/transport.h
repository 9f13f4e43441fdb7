/*
 * Byte streams to peers.  A local peer is a child `mmsync -C PATH serve
 * --stdio` on one end of a socketpair.
 */
#ifndef MMSYNC_TRANSPORT_H
#define MMSYNC_TRANSPORT_H

#include <sys/types.h>

struct transport {
	int fd;        /* both directions */
	pid_t pid;     /* the child, or -1 */
};

/*
 * Starts `exe` (an mmsync binary) as `mmsync [-q] -C path serve --stdio`
 * with its stdin and stdout on a socketpair; its stderr is ours.
 */
int transport_local(struct transport *t, const char *exe, const char *path, int quiet);
/* Closes the stream and reaps the child; its exit status goes to *status (-1 if killed). */
int transport_close(struct transport *t, int *status);
/* Closes our end, waits up to `ms` for the child to exit by itself, then kills it. */
void transport_close_wait(struct transport *t, int *status, int ms);
/* Kills the child at once (for an abandoned session) and reaps it. */
void transport_abort(struct transport *t);

#endif
