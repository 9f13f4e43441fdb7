/*
 * Byte streams to peers (DESIGN.md): a local peer is a child `mmsync -C
 * PATH serve --stdio` on one end of a socketpair; an ssh peer is the same
 * child started by ssh on another host; a TLS peer is a `mmsync serve
 * --tls` server reached over TCP.  Children are tracked until they are
 * reaped, for transport_kill_all().
 */
#ifndef MMSYNC_TRANSPORT_H
#define MMSYNC_TRANSPORT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct url;
struct tls;

/* Called from a relay thread with each line the ssh child writes to its stderr. */
typedef void (*transport_line_fn)(void *arg, const char *line);

#define TRANSPORT_TAIL 4096

struct transport {
	int fd;          /* both directions */
	pid_t pid;       /* the child (local, ssh), or -1 */
	struct tls *tls; /* TLS: the session on fd */
	/* ssh: the child's stderr, relayed line by line by a thread, its end kept for a diagnosis */
	int errfd;
	int relaying;
	volatile int stop_relay;
	pthread_t relay;
	transport_line_fn on_line;
	void *arg;
	char tail[TRANSPORT_TAIL];
	size_t tail_len;
};

#define TRANSPORT_INIT                                                                                                 \
	{                                                                                                              \
		-1, -1, NULL, -1, 0, 0, 0, NULL, NULL, {0}, 0                                                          \
	}

/*
 * Starts `exe` (an mmsync binary) as `mmsync [-q] -C path serve --stdio`
 * with its stdin and stdout on a socketpair; its stderr is ours.
 */
int transport_local(struct transport *t, const char *exe, const char *path, int quiet);

struct ssh_opts {
	const char *command;       /* the ssh command line, split like a shell would ("ssh" when NULL) */
	const char *program;       /* mmsync on the far side ("mmsync" when NULL) */
	int quiet;                 /* pass -q to the far side */
	int batch;                 /* add -o BatchMode=yes: never prompt */
	transport_line_fn on_line; /* each line of ssh's (and the far side's) stderr */
	void *arg;
};

/* Starts ssh to the host of `u` running `PROGRAM -C PATH serve --stdio` there. */
int transport_ssh(struct transport *t, const struct url *u, const struct ssh_opts *o);
/*
 * After a failed ssh session whose child exited with `status`: a message
 * saying what went wrong (host unreachable, authentication refused, no
 * mmsync on the far side) from the status and what ssh said, or NULL.
 */
const char *transport_ssh_diagnose(struct transport *t, const struct url *u, const struct ssh_opts *o, int status,
                                   char *buf, size_t n);

/*
 * Connects to the TLS server of `u` (tls://HOST:PORT) and runs the
 * handshake with the replica's key and certificate; the server's
 * fingerprint is then tls_peer_fingerprint(t->tls).
 */
int transport_tls(struct transport *t, const struct url *u, const char *key_path, const char *cert_path, int timeout_ms,
                  int64_t deadline);
/* A listening TCP socket on host:port (port "0": any free one); the address bound goes to `bound`. */
int transport_listen(int *fd, const char *host, const char *port, char *bound, size_t n);

struct sockaddr_storage;
/* "1.2.3.4:PORT" or "[v6]:PORT". */
void transport_addr_text(const struct sockaddr_storage *ss, char *out, size_t n);

/* Splits a command line as a shell would (quotes, backslashes; no expansions) into a NULL-ended argv. */
int transport_split(const char *s, char ***argv, size_t *argc);
void transport_split_free(char **argv);

/* Makes *t the stream `fd` to the child `pid` started by the caller (closed and reaped as the others). */
void transport_adopt(struct transport *t, int fd, pid_t pid);
/*
 * Kills every child started or adopted here that was not reaped yet
 * (async-signal-safe: for a handler that ends the process).
 */
void transport_kill_all(void);

/* Closes the stream and reaps the child; its exit status goes to *status (-1 if killed). */
int transport_close(struct transport *t, int *status);
/* Closes our end, waits up to `ms` for the child to exit by itself, then kills it. */
void transport_close_wait(struct transport *t, int *status, int ms);
/* Kills the child at once (for an abandoned session) and reaps it. */
void transport_abort(struct transport *t);

#endif
