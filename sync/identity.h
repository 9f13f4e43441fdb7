/*
 * A replica's TLS identity: an Ed25519 private key and a self-signed
 * certificate made at `init`.  The fingerprint, as Syncthing's device ids,
 * is the SHA-256 of the DER certificate: "SHA256:" and 64 lower-case hex
 * digits, the same as `openssl x509 -outform DER | sha256sum` shows.
 */
#ifndef MMSYNC_IDENTITY_H
#define MMSYNC_IDENTITY_H

#include <stdint.h>

#define IDENTITY_FP_TEXT (7 + 64 + 1)

/* Writes a new key (mode 0600) and certificate; neither file may exist yet. */
int identity_create(const char *key_path, const char *cert_path, uint64_t replica_id);
/* The fingerprint of the PEM certificate at `cert_path`. */
int identity_fingerprint(char out[IDENTITY_FP_TEXT], const char *cert_path);
/* The fingerprint of a certificate (an OpenSSL X509). */
typedef struct x509_st X509;
int identity_cert_fingerprint(char out[IDENTITY_FP_TEXT], X509 *cert);
/*
 * A fingerprint as a user typed it (with or without "SHA256:", any case,
 * hex pairs optionally separated by ':'), in canonical form; MM_EINVAL when
 * it is not one.
 */
int identity_parse_fingerprint(char out[IDENTITY_FP_TEXT], const char *text);
/* A random non-zero 64-bit id from the system's CSPRNG. */
int identity_random_id(uint64_t *out);

#endif
