/* Mutual TLS: see tls.h. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"

struct tls {
	SSL_CTX *ctx;
	SSL *ssl;
	short wants; /* poll events after the last EAGAIN */
	struct conn_io io;
	char fp[IDENTITY_FP_TEXT];
};

/* The newest OpenSSL error as text, and clears the queue. */
static const char *ssl_reason(void)
{
	static __thread char buf[256];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return "connection closed";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	/* "error:0A000102:SSL routines::unsupported protocol": the part after the last ':' says it */
	const char *p = strrchr(buf, ':');
	return p && p[1] ? p + 1 : buf;
}

/* Every certificate is let through the handshake: the fingerprint is checked afterwards. */
static int accept_any(int ok, X509_STORE_CTX *x)
{
	(void) ok;
	(void) x;
	return 1;
}

/* Maps the result `n` of SSL_read/SSL_write to read(2)/write(2)'s: `fail_errno` for a TLS error. */
static ssize_t io_result(struct tls *t, int n, int fail_errno)
{
	int e;

	if (n > 0)
		return n;
	e = SSL_get_error(t->ssl, n);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		t->wants = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_SYSCALL && errno)
		return -1;
	ERR_clear_error();
	errno = fail_errno;
	return -1;
}

static ssize_t tls_read(void *arg, void *buf, size_t len)
{
	struct tls *t = arg;

	ERR_clear_error();
	return io_result(t, SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int) len), EPROTO);
}

static ssize_t tls_write(void *arg, const void *buf, size_t len)
{
	struct tls *t = arg;
	ssize_t n;

	ERR_clear_error();
	n = io_result(t, SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX : (int) len), EPIPE);
	/* a write never ends the stream: 0 would mean no progress */
	if (n == 0) {
		errno = EPIPE;
		return -1;
	}
	return n;
}

static short tls_wants(void *arg)
{
	struct tls *t = arg;

	return t->wants ? t->wants : POLLIN;
}

static int make_ctx(struct tls *t, int server, const char *key_path, const char *cert_path)
{
	t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!t->ctx || !SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION))
		return mm_error_set(MM_ERROR, "cannot set up TLS: %s", ssl_reason());
	if (SSL_CTX_use_certificate_file(t->ctx, cert_path, SSL_FILETYPE_PEM) != 1)
		return mm_error_set(MM_ERROR, "cannot load certificate '%s': %s", cert_path, ssl_reason());
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1)
		return mm_error_set(MM_ERROR, "cannot load key '%s': %s", key_path, ssl_reason());
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* a peer that hangs up without close_notify is a closed connection, said as such */
	SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	if (server) {
		/* no resumption: every connection shows its certificate */
		SSL_CTX_set_num_tickets(t->ctx, 0);
		SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	}
	return 0;
}

static int handshake(struct tls *t, int fd, int server, int timeout_ms, int64_t deadline, const char *peer)
{
	int64_t end = conn_now_ms() + (timeout_ms < 0 ? INT32_MAX : timeout_ms);

	if (deadline && deadline < end)
		end = deadline;
	for (;;) {
		int rc, e;
		ERR_clear_error();
		rc = server ? SSL_accept(t->ssl) : SSL_connect(t->ssl);
		if (rc == 1)
			return 0;
		e = SSL_get_error(t->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
				return mm_error_set(MM_EIO, "TLS handshake with '%s' failed: %s", peer,
				                    errno ? strerror(errno) : "the peer closed the connection");
			return mm_error_set(MM_EIO, "TLS handshake with '%s' failed: %s", peer, ssl_reason());
		}
		struct pollfd p = {fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
		int64_t left = end - conn_now_ms();
		if (left <= 0)
			return mm_error_set(MM_EIO, "timed out: TLS handshake with '%s' did not finish", peer);
		rc = poll(&p, 1, (int) left);
		if (rc < 0 && errno != EINTR)
			return mm_error_errno(MM_EIO, errno, "TLS handshake with '%s'", peer);
	}
}

int tls_open(struct tls **out, int fd, int server, const char *key_path, const char *cert_path, int timeout_ms,
             int64_t deadline, const char *peer)
{
	struct tls *t = calloc(1, sizeof(*t));
	X509 *cert = NULL;
	int err, fl;

	*out = NULL;
	if (!t)
		return mm_error_oom();
	/* a peer that hangs up mid-handshake is an error to report, not a signal that kills us */
	signal(SIGPIPE, SIG_IGN);
	if ((err = make_ctx(t, server, key_path, cert_path)) < 0)
		goto fail;
	if (!(t->ssl = SSL_new(t->ctx)) || SSL_set_fd(t->ssl, fd) != 1) {
		err = mm_error_set(MM_ERROR, "cannot set up TLS: %s", ssl_reason());
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if ((err = handshake(t, fd, server, timeout_ms, deadline, peer)) < 0)
		goto fail;
	cert = SSL_get1_peer_certificate(t->ssl);
	if (!cert) {
		err = mm_error_set(MM_ERROR, "'%s' presented no certificate", peer);
		goto fail;
	}
	err = identity_cert_fingerprint(t->fp, cert);
	X509_free(cert);
	if (err < 0)
		goto fail;
	t->io.read = tls_read;
	t->io.write = tls_write;
	t->io.wants = tls_wants;
	t->io.ctx = t;
	*out = t;
	return 0;
fail:
	tls_close(t);
	return err;
}

const char *tls_peer_fingerprint(const struct tls *t)
{
	return t->fp;
}

const struct conn_io *tls_io(struct tls *t)
{
	return &t->io;
}

void tls_close(struct tls *t)
{
	if (!t)
		return;
	if (t->ssl) {
		ERR_clear_error();
		if (SSL_is_init_finished(t->ssl))
			SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	free(t);
}
