/* Replica identity with OpenSSL: see identity.h. */
#include "identity.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "vv/vv.h"

static int ssl_fail(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return mm_error_set(MM_ERROR, "%s: %s", what, e ? buf : "unknown error");
}

int identity_random_id(uint64_t *out)
{
	uint64_t id = 0;

	while (id == 0)
		if (RAND_bytes((unsigned char *) &id, sizeof(id)) != 1)
			return ssl_fail("cannot make a replica id");
	*out = id;
	return 0;
}

/* fopen() that creates with `mode` and refuses an existing file. */
static FILE *create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "w")))
		close(fd);
	return f;
}

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	FILE *f = create_file(path, mode);
	int ok;

	if (!f)
		return mm_error_errno(MM_EIO, errno, "cannot create '%s'", path);
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : mm_error_errno(MM_EIO, errno, "cannot write '%s'", path);
}

int identity_create(const char *key_path, const char *cert_path, uint64_t replica_id)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	char cn[64], idtext[VV_ID_TEXT];
	uint64_t serial = 0;
	int err = 0;

	vv_id_format(idtext, replica_id);
	snprintf(cn, sizeof(cn), "mmsync %s", idtext);
	if (!(key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"))) {
		err = ssl_fail("cannot make a TLS key");
		goto done;
	}
	if (!(cert = X509_new()) || identity_random_id(&serial) < 0 || !X509_set_version(cert, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial >> 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -24 * 3600) ||
	    /* a replica outlives any renewal schedule: 100 years */
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 100L * 365 * 24 * 3600) || !X509_set_pubkey(cert, key) ||
	    !(name = X509_get_subject_name(cert)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) ||
	    !X509_set_issuer_name(cert, name) || !X509_sign(cert, key, NULL)) {
		err = ssl_fail("cannot make a TLS certificate");
		goto done;
	}
	if ((err = write_pem(key_path, 0600, key, NULL)) < 0 || (err = write_pem(cert_path, 0644, NULL, cert)) < 0)
		goto done;
done:
	X509_free(cert);
	EVP_PKEY_free(key);
	return err;
}

int identity_fingerprint(char out[IDENTITY_FP_TEXT], const char *cert_path)
{
	FILE *f = fopen(cert_path, "re");
	X509 *cert;
	int ok;

	if (!f)
		return mm_error_errno(MM_EIO, errno, "cannot read certificate '%s'", cert_path);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert)
		return ssl_fail("cannot read certificate");
	ok = identity_cert_fingerprint(out, cert);
	X509_free(cert);
	return ok;
}

int identity_cert_fingerprint(char out[IDENTITY_FP_TEXT], X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!X509_digest(cert, EVP_sha256(), md, &len) || len != 32)
		return ssl_fail("cannot hash certificate");
	memcpy(out, "SHA256:", 7);
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int identity_parse_fingerprint(char out[IDENTITY_FP_TEXT], const char *text)
{
	size_t n = 0;

	if (!strncasecmp(text, "SHA256:", 7))
		text += 7;
	memcpy(out, "SHA256:", 7);
	for (const char *p = text; *p; p++) {
		if (*p == ':' && n % 2 == 0 && n > 0 && p[-1] != ':' && p[1] && p[1] != ':')
			continue; /* "ab:cd:..." as openssl prints it */
		if (!isxdigit((unsigned char) *p) || n == 64)
			return mm_error_set(MM_EINVAL,
			                    "'%s' is not a certificate fingerprint (SHA256: and 64 hex digits)", text);
		out[7 + n++] = (char) tolower((unsigned char) *p);
	}
	if (n != 64)
		return mm_error_set(MM_EINVAL, "'%s' is not a certificate fingerprint (SHA256: and 64 hex digits)",
		                    text);
	out[7 + 64] = '\0';
	return 0;
}
