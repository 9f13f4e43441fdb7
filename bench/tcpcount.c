/*
 * tcpcount: a byte-counting TCP relay, for ssh's ProxyCommand.
 *
 *   tcpcount COUNTFILE HOST PORT
 *
 * Connects to HOST:PORT (a numeric IPv4 or IPv6 address, or a name), then
 * copies its standard input to the connection and the connection to its
 * standard output until both directions have ended.  At exit (also on
 * SIGHUP, SIGTERM or SIGINT: ssh sends SIGHUP to its proxy command when it
 * is done) it appends one line "UP DOWN\n" to COUNTFILE with a single
 * O_APPEND write: UP is the number of bytes relayed from standard input to
 * the connection (client to server), DOWN from the connection to standard
 * output (server to client), both counted when written.
 *
 * COUNTFILE is opened (created if missing) before connecting and held with a
 * shared flock(2) until the line is written, so that `flock -x COUNTFILE
 * true` waits for every relay still running to add its line.
 *
 * Both directions are non-blocking, each with its own buffer: the relay
 * reads from a side only when what it read before has been written on, so
 * it never blocks one direction on the other.  Exit status: 0 after a clean
 * end, 1 on an error (the counts are written anyway).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define BUFSZ (256 * 1024)

static int count_fd = -1;
static volatile uint64_t counted[2]; /* [0] up (stdin -> socket), [1] down */

static void put_counts(void)
{
	char line[64];
	sigset_t all;
	int n;

	/* once only, whether from main or a signal handler */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (count_fd < 0)
		return;
	n = snprintf(line, sizeof line, "%llu %llu\n", (unsigned long long) counted[0],
	             (unsigned long long) counted[1]);
	if (write(count_fd, line, (size_t) n) != n) {
		/* nothing better to do: the caller sees a missing line */
	}
	close(count_fd);
	count_fd = -1;
}

static void on_signal(int sig)
{
	(void) sig;
	put_counts(); /* snprintf is not async-signal-safe in theory; fine here */
	_exit(0);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* one direction: from `in` to `out` */
struct pipe_dir {
	int in, out;
	char *buf;
	size_t len, off;
	int eof;  /* `in` ended: shut `out` down once the buffer is empty */
	int done; /* `out` shut down (or failed): nothing more this way */
};

int main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	struct pipe_dir d[2];
	int sock = -1, rc, i, status = 0;
	struct sigaction sa;

	if (argc != 4) {
		fprintf(stderr, "usage: tcpcount COUNTFILE HOST PORT\n");
		return 2;
	}
	count_fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (count_fd < 0) {
		fprintf(stderr, "tcpcount: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (flock(count_fd, LOCK_SH) != 0) {
		fprintf(stderr, "tcpcount: flock %s: %s\n", argv[1], strerror(errno));
		return 1;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(argv[2], argv[3], &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "tcpcount: %s port %s: %s\n", argv[2], argv[3], gai_strerror(rc));
		put_counts();
		return 1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		sock = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (sock < 0)
			continue;
		if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(sock);
		sock = -1;
	}
	freeaddrinfo(res);
	if (sock < 0) {
		fprintf(stderr, "tcpcount: cannot connect to %s port %s: %s\n", argv[2], argv[3], strerror(errno));
		put_counts();
		return 1;
	}
	if (set_nonblock(0) < 0 || set_nonblock(1) < 0 || set_nonblock(sock) < 0) {
		fprintf(stderr, "tcpcount: fcntl: %s\n", strerror(errno));
		put_counts();
		return 1;
	}

	d[0] = (struct pipe_dir){.in = 0, .out = sock};
	d[1] = (struct pipe_dir){.in = sock, .out = 1};
	for (i = 0; i < 2; i++) {
		d[i].buf = malloc(BUFSZ);
		if (!d[i].buf) {
			fprintf(stderr, "tcpcount: out of memory\n");
			put_counts();
			return 1;
		}
	}

	while (!d[0].done || !d[1].done) {
		struct pollfd p[4];
		int np = 0, idx_in[2] = {-1, -1}, idx_out[2] = {-1, -1};

		for (i = 0; i < 2; i++) {
			if (d[i].done)
				continue;
			if (d[i].len > d[i].off) {
				idx_out[i] = np;
				p[np++] = (struct pollfd){.fd = d[i].out, .events = POLLOUT};
			} else if (!d[i].eof) {
				idx_in[i] = np;
				p[np++] = (struct pollfd){.fd = d[i].in, .events = POLLIN};
			}
		}
		if (np == 0)
			break;
		if (poll(p, (nfds_t) np, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tcpcount: poll: %s\n", strerror(errno));
			status = 1;
			break;
		}
		for (i = 0; i < 2; i++) {
			struct pipe_dir *x = &d[i];
			ssize_t n;

			if (idx_in[i] >= 0 && p[idx_in[i]].revents) {
				n = read(x->in, x->buf, BUFSZ);
				if (n > 0) {
					x->len = (size_t) n;
					x->off = 0;
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					if (n < 0)
						status = 1;
					x->eof = 1;
				}
			}
			if (idx_out[i] >= 0 && p[idx_out[i]].revents) {
				n = write(x->out, x->buf + x->off, x->len - x->off);
				if (n > 0) {
					x->off += (size_t) n;
					counted[i] += (uint64_t) n;
					if (x->off == x->len)
						x->off = x->len = 0;
				} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
					/* the reader went away: drop this direction */
					status = 1;
					x->done = 1;
					x->off = x->len = 0;
				}
			}
			if (x->eof && !x->done && x->len == x->off) {
				if (x->out == sock)
					shutdown(sock, SHUT_WR);
				else
					close(x->out);
				x->done = 1;
			}
		}
		/* ssh stopped reading what the server sends: it is going away */
		if (d[1].done && !d[1].eof)
			break;
	}
	put_counts();
	return status;
}
