/* Local transports: see transport.h. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

int transport_local(struct transport *t, const char *exe, const char *path, int quiet)
{
	int sv[2];
	pid_t pid;

	t->fd = -1;
	t->pid = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot make a socket pair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return mm_error_errno(MM_EIO, errno, "cannot start a child process");
	}
	if (pid == 0) {
		char *argv[8];
		int i = 0;
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		argv[i++] = (char *)"mmsync";
		if (quiet)
			argv[i++] = (char *)"-q";
		argv[i++] = (char *)"-C";
		argv[i++] = (char *)path;
		argv[i++] = (char *)"serve";
		argv[i++] = (char *)"--stdio";
		argv[i] = NULL;
		execv(exe, argv);
		fprintf(stderr, "mmsync: cannot run '%s': %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	t->fd = sv[0];
	t->pid = pid;
	return 0;
}

int transport_close(struct transport *t, int *status)
{
	int st = 0;

	*status = -1;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->pid > 0) {
		while (waitpid(t->pid, &st, 0) < 0) {
			if (errno != EINTR)
				return mm_error_errno(MM_EIO, errno, "cannot wait for the peer process");
		}
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	t->pid = -1;
	return 0;
}

void transport_abort(struct transport *t)
{
	int status;

	if (t->pid > 0)
		kill(t->pid, SIGKILL);
	transport_close(t, &status);
}

void transport_close_wait(struct transport *t, int *status, int ms)
{
	int st;

	*status = -1;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->pid <= 0)
		return;
	for (int waited = 0; waited < ms; waited += 10) {
		pid_t p = waitpid(t->pid, &st, WNOHANG);
		if (p == t->pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			t->pid = -1;
			return;
		}
		if (p < 0 && errno != EINTR)
			break;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	transport_abort(t);
}
