/* Transports: see transport.h. */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "tls.h"
#include "url.h"

/* The children started here, for transport_kill_all(); volatile: a signal handler reads it. */
#define TRANSPORT_MAX_KIDS 64
static volatile pid_t kids[TRANSPORT_MAX_KIDS];

static void kid_add(pid_t pid)
{
	for (int i = 0; i < TRANSPORT_MAX_KIDS; i++)
		if (kids[i] <= 0) {
			kids[i] = pid;
			return;
		}
}

static void kid_remove(pid_t pid)
{
	for (int i = 0; i < TRANSPORT_MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

void transport_kill_all(void)
{
	for (int i = 0; i < TRANSPORT_MAX_KIDS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
}

static void transport_reset(struct transport *t)
{
	struct transport init = TRANSPORT_INIT;

	*t = init;
}

void transport_adopt(struct transport *t, int fd, pid_t pid)
{
	transport_reset(t);
	t->fd = fd;
	t->pid = pid;
	kid_add(pid);
}

/* Forks a child with stdin and stdout on a socketpair (and stderr on a pipe when errfd is wanted). */
static int spawn(struct transport *t, char *const argv[], int want_err)
{
	int sv[2], ep[2] = {-1, -1}, xp[2], child_errno = 0;
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return mm_error_errno(MM_EIO, errno, "cannot make a socket pair");
	/* xp: the child's exec error, if any (closed by a successful exec) */
	if (pipe2(xp, O_CLOEXEC) < 0 || (want_err && pipe2(ep, O_CLOEXEC) < 0)) {
		close(sv[0]);
		close(sv[1]);
		return mm_error_errno(MM_EIO, errno, "cannot make a pipe");
	}
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		close(xp[0]);
		close(xp[1]);
		if (want_err) {
			close(ep[0]);
			close(ep[1]);
		}
		return mm_error_errno(MM_EIO, errno, "cannot start a child process");
	}
	if (pid == 0) {
		int e;
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0 || (want_err && dup2(ep[1], 2) < 0))
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		e = errno;
		if (write(xp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(sv[1]);
	close(xp[1]);
	while ((n = read(xp[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
		;
	close(xp[0]);
	if (n == (ssize_t) sizeof(child_errno)) {
		close(sv[0]);
		if (want_err) {
			close(ep[0]);
			close(ep[1]);
		}
		waitpid(pid, NULL, 0);
		return mm_error_set(MM_EIO, "cannot run '%s': %s", argv[0], strerror(child_errno));
	}
	t->fd = sv[0];
	t->pid = pid;
	kid_add(pid);
	if (want_err) {
		close(ep[1]);
		t->errfd = ep[0];
	}
	return 0;
}

int transport_local(struct transport *t, const char *exe, const char *path, int quiet)
{
	char *argv[8];
	int i = 0;

	transport_reset(t);
	argv[i++] = (char *) exe;
	if (quiet)
		argv[i++] = (char *) "-q";
	argv[i++] = (char *) "-C";
	argv[i++] = (char *) path;
	argv[i++] = (char *) "serve";
	argv[i++] = (char *) "--stdio";
	argv[i] = NULL;
	return spawn(t, argv, 0);
}

/* ---------------------------------------------------------------- ssh */

void transport_split_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* Copies the word at *pp, its quotes and backslashes undone, to `word` (*wlen bytes) and moves *pp past it; `s` is
 * the whole command, for messages. */
static int unquote_word(const char *s, const char **pp, char *word, size_t *wlen)
{
	const char *p = *pp;
	size_t w = 0;

	while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
		if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q)
				return mm_error_set(MM_EINVAL, "unterminated quote in command '%s'", s);
			memcpy(word + w, p + 1, (size_t) (q - p - 1));
			w += (size_t) (q - p - 1);
			p = q + 1;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				word[w++] = *p;
			}
			if (!*p)
				return mm_error_set(MM_EINVAL, "unterminated quote in command '%s'", s);
			p++;
		} else if (*p == '\\' && p[1]) {
			word[w++] = p[1];
			p += 2;
		} else {
			word[w++] = *p++;
		}
	}
	*pp = p;
	*wlen = w;
	return 0;
}

/* Appends a copy of the `w` bytes of `word` to the NULL-terminated array *v of *n words, *cap slots. */
static int push_word(char ***v, size_t *cap, size_t *n, const char *word, size_t w)
{
	if (*n + 2 > *cap) {
		char **nv = realloc(*v, (*cap *= 2) * sizeof(**v));
		if (!nv)
			return mm_error_oom();
		*v = nv;
	}
	if (!((*v)[*n] = strndup(word, w)))
		return mm_error_oom();
	(*v)[++*n] = NULL;
	return 0;
}

int transport_split(const char *s, char ***out, size_t *outc)
{
	size_t n = 0, cap = 8, len = strlen(s);
	char **v = calloc(cap, sizeof(*v)), *word = malloc(len + 1);
	int err = 0;

	*out = NULL;
	*outc = 0;
	if (!v || !word) {
		err = mm_error_oom();
		goto done;
	}
	for (const char *p = s;;) {
		size_t w = 0;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if ((err = unquote_word(s, &p, word, &w)) < 0 || (err = push_word(&v, &cap, &n, word, w)) < 0)
			goto done;
	}
	if (n == 0)
		err = mm_error_set(MM_EINVAL, "empty command");
done:
	free(word);
	if (err < 0) {
		transport_split_free(v);
		return err;
	}
	*out = v;
	*outc = n;
	return 0;
}

/* Appends `s` to `b` in single quotes for a POSIX shell. */
static void shell_quote(struct wbuf *b, const char *s)
{
	put_u8(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			put_bytes(b, "'\\''", 4);
		else
			put_u8(b, (uint8_t) *s);
	}
	put_u8(b, '\'');
}

static void keep_tail(struct transport *t, const char *p, size_t n)
{
	if (n >= sizeof(t->tail)) {
		p += n - (sizeof(t->tail) - 1);
		n = sizeof(t->tail) - 1;
	}
	if (t->tail_len + n >= sizeof(t->tail)) {
		size_t drop = t->tail_len + n - (sizeof(t->tail) - 1);
		memmove(t->tail, t->tail + drop, t->tail_len - drop);
		t->tail_len -= drop;
	}
	memcpy(t->tail + t->tail_len, p, n);
	t->tail_len += n;
	t->tail[t->tail_len] = '\0';
}

/* The relay thread: the child's stderr, line by line, to on_line, until the end (or a stop with nothing left). */
static void *relay_main(void *arg)
{
	struct transport *t = arg;
	char line[1024];
	size_t len = 0;

	for (;;) {
		struct pollfd p = {t->errfd, POLLIN, 0};
		int rc = poll(&p, 1, 100);
		if (rc == 0) {
			if (t->stop_relay)
				break;
			continue;
		}
		if (rc < 0 && errno == EINTR)
			continue;
		char buf[512];
		ssize_t n = rc < 0 ? -1 : read(t->errfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		keep_tail(t, buf, (size_t) n);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			if (buf[i] != '\n' && len < sizeof(line) - 1) {
				line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			if (t->on_line)
				t->on_line(t->arg, line);
			len = buf[i] == '\n' ? 0 : (line[0] = buf[i], 1);
		}
	}
	if (len) {
		line[len] = '\0';
		if (t->on_line)
			t->on_line(t->arg, line);
	}
	return NULL;
}

int transport_ssh(struct transport *t, const struct url *u, const struct ssh_opts *o)
{
	char **argv = NULL, **full = NULL;
	size_t argc = 0, i;
	struct wbuf cmd;
	int err;

	transport_reset(t);
	if ((err = transport_split(o->command && *o->command ? o->command : "ssh", &argv, &argc)) < 0)
		return err;
	wbuf_init(&cmd);
	shell_quote(&cmd, o->program && *o->program ? o->program : "mmsync");
	put_bytes(&cmd, o->quiet ? " -q -C " : " -C ", o->quiet ? 7 : 4);
	shell_quote(&cmd, u->path);
	put_bytes(&cmd, " serve --stdio", 15); /* with the NUL */
	if (cmd.oom || !(full = calloc(argc + 12, sizeof(*full)))) {
		err = mm_error_oom();
		goto done;
	}
	for (i = 0; i < argc; i++)
		full[i] = argv[i];
	if (u->port) {
		full[i++] = (char *) "-p";
		full[i++] = u->port;
	}
	if (u->user) {
		full[i++] = (char *) "-l";
		full[i++] = u->user;
	}
	if (o->batch) {
		full[i++] = (char *) "-o";
		full[i++] = (char *) "BatchMode=yes";
	}
	full[i++] = u->host;
	full[i++] = (char *) cmd.p;
	full[i] = NULL;
	if ((err = spawn(t, full, 1)) < 0)
		goto done;
	t->on_line = o->on_line;
	t->arg = o->arg;
	if (pthread_create(&t->relay, NULL, relay_main, t) != 0) {
		transport_abort(t);
		err = mm_error_set(MM_EIO, "cannot start a thread");
		goto done;
	}
	t->relaying = 1;
done:
	free(full);
	transport_split_free(argv);
	wbuf_dispose(&cmd);
	return err;
}

static int said(const struct transport *t, const char *text)
{
	return strstr(t->tail, text) != NULL;
}

const char *transport_ssh_diagnose(struct transport *t, const struct url *u, const struct ssh_opts *o, int status,
                                   char *buf, size_t n)
{
	const char *prog = o->program && *o->program ? o->program : "mmsync";

	/* 126/127: ssh got in, and the shell there found no (runnable) mmsync */
	if (status == 127 || status == 126)
		snprintf(buf, n, "no mmsync at '%s' on host '%s'%s (install it there, or name it with --remote-mmsync)",
		         prog, u->host, status == 126 ? " that can run" : "");
	else if (status != 255)
		return NULL;
	else if (said(t, "Could not resolve hostname"))
		snprintf(buf, n, "cannot reach host '%s': no such host", u->host);
	else if (said(t, "Connection refused") || said(t, "Connection timed out") || said(t, "No route to host") ||
	         said(t, "Network is unreachable") || said(t, "kex_exchange_identification") ||
	         said(t, "Connection reset") || said(t, "Connection closed by remote host"))
		snprintf(buf, n, "cannot reach host '%s' over ssh%s%s", u->host, u->port ? " on port " : "",
		         u->port ? u->port : "");
	else if (said(t, "Host key verification failed") || said(t, "REMOTE HOST IDENTIFICATION HAS CHANGED"))
		snprintf(buf, n,
		         "authentication refused: the host key of '%s' is not known or has changed (see "
		         "~/.ssh/known_hosts)",
		         u->host);
	else if (said(t, "Permission denied") || said(t, "Too many authentication failures") ||
	         said(t, "no matching host key type") || said(t, "Authentication failed"))
		snprintf(buf, n, "authentication refused by host '%s'%s%s", u->host, u->user ? " for user " : "",
		         u->user ? u->user : "");
	else
		snprintf(buf, n,
		         "the ssh connection to host '%s' ended in the middle of the session (ssh exit status "
		         "255: the connection was lost, or the far side was killed)",
		         u->host);
	return buf;
}

/* ---------------------------------------------------------------- TCP and TLS */

/* Connects `fd` to `ai` within the time left. */
static int connect_within(int fd, const struct addrinfo *ai, int64_t end)
{
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen), soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (rc == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	for (;;) {
		struct pollfd p = {fd, POLLOUT, 0};
		int64_t left = end - conn_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int) left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -errno;
	return -soerr;
}

int transport_tls(struct transport *t, const struct url *u, const char *key_path, const char *cert_path, int timeout_ms,
                  int64_t deadline)
{
	struct addrinfo hints = {0}, *res = NULL;
	int64_t end = conn_now_ms() + (timeout_ms < 0 ? 60000 : timeout_ms);
	int rc, fd = -1, last = ECONNREFUSED, err, one = 1;
	char name[300];

	transport_reset(t);
	if (deadline && deadline < end)
		end = deadline;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0)
		return mm_error_set(MM_EIO, "cannot reach host '%s': %s", u->host, gai_strerror(rc));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if ((rc = connect_within(fd, ai, end)) == 0)
			break;
		last = -rc;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	snprintf(name, sizeof(name), "%s:%s", u->host, u->port);
	if (fd < 0)
		return mm_error_set(MM_EIO, "cannot reach host '%s' on port %s: %s", u->host, u->port,
		                    last == ETIMEDOUT ? "timed out" : strerror(last));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((err = tls_open(&t->tls, fd, 0, key_path, cert_path, (int) (end - conn_now_ms()), deadline, name)) < 0) {
		close(fd);
		return err;
	}
	t->fd = fd;
	return 0;
}

int transport_listen(int *out, const char *host, const char *port, char *bound, size_t n)
{
	struct addrinfo hints = {0}, *res = NULL;
	int rc, fd = -1, one = 1, last = 0;

	*out = -1;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return mm_error_set(MM_EINVAL, "cannot listen on '%s:%s': %s", host, port, gai_strerror(rc));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return mm_error_set(MM_EIO, "cannot listen on '%s:%s': %s", host, port, strerror(last));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *) &ss, &sl) == 0)
		transport_addr_text(&ss, bound, n);
	else
		snprintf(bound, n, "?");
	*out = fd;
	return 0;
}

void transport_addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char h[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *) ss;
		inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
		snprintf(out, n, "%s:%d", h, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) ss;
		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		snprintf(out, n, "[%s]:%d", h, ntohs(a->sin6_port));
	} else {
		snprintf(out, n, "?");
	}
}

/* ---------------------------------------------------------------- closing */

static void stop_relay(struct transport *t)
{
	if (t->relaying) {
		t->stop_relay = 1;
		pthread_join(t->relay, NULL);
		t->relaying = 0;
	}
	if (t->errfd >= 0)
		close(t->errfd);
	t->errfd = -1;
}

static void close_stream(struct transport *t)
{
	if (t->tls)
		tls_close(t->tls);
	t->tls = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

int transport_close(struct transport *t, int *status)
{
	int st = 0;

	*status = -1;
	close_stream(t);
	if (t->pid > 0) {
		/* still tracked while waiting: a timeout's handler kills a child that does not end */
		while (waitpid(t->pid, &st, 0) < 0) {
			if (errno != EINTR) {
				kid_remove(t->pid);
				stop_relay(t);
				return mm_error_errno(MM_EIO, errno, "cannot wait for the peer process");
			}
		}
		kid_remove(t->pid);
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	} else {
		*status = 0;
	}
	t->pid = -1;
	stop_relay(t);
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
	close_stream(t);
	if (t->pid <= 0) {
		stop_relay(t);
		return;
	}
	for (int waited = 0; waited < ms; waited += 10) {
		pid_t p = waitpid(t->pid, &st, WNOHANG);
		if (p == t->pid) {
			kid_remove(p);
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			t->pid = -1;
			stop_relay(t);
			return;
		}
		if (p < 0 && errno != EINTR)
			break;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	transport_abort(t);
}
