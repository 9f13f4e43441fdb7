/*
 * Mutual TLS over a connected socket, with OpenSSL: TLS 1.3 only, each side
 * presenting its replica's self-signed certificate.  Certificates are not
 * checked against any authority: the caller compares the peer's
 * fingerprint with its pin (client) or its trust list (server).
 */
#ifndef MMSYNC_TLS_H
#define MMSYNC_TLS_H

#include <stdint.h>

#include "identity.h"

struct tls;
struct conn_io;

/*
 * Runs the handshake on `fd` (made non-blocking) as client or server, with
 * the key and certificate at the given paths, within `timeout_ms` (and
 * before `deadline`, CLOCK_MONOTONIC ms, when not 0).  `peer` names the
 * other side in messages.
 */
int tls_open(struct tls **out, int fd, int server, const char *key_path, const char *cert_path, int timeout_ms,
             int64_t deadline, const char *peer);
/* The fingerprint of the certificate the peer presented. */
const char *tls_peer_fingerprint(const struct tls *t);
/* The stream for conn (conn.io). */
const struct conn_io *tls_io(struct tls *t);
/* Says goodbye (close_notify, without waiting) and frees `t`; the socket stays open. */
void tls_close(struct tls *t);

#endif
