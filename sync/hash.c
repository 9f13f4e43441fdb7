/* Content hashing: see hash.h. */
#include "hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "error.h"

#define HASH_BUF (256 * 1024)

struct hasher {
	EVP_MD *md; /* fetched once: an implicit fetch per file costs a lock and a lookup */
	EVP_MD_CTX *ctx;
	unsigned char *buf;
};

int hasher_new(struct hasher **out)
{
	struct hasher *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return mm_error_oom();
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	h->buf = malloc(HASH_BUF);
	if (!h->md || !h->ctx || !h->buf) {
		hasher_free(h);
		return mm_error_set(MM_ERROR, "cannot set up SHA-256");
	}
	*out = h;
	return 0;
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	EVP_MD_free(h->md);
	EVP_MD_CTX_free(h->ctx);
	free(h->buf);
	free(h);
}

int hasher_fd(struct hasher *h, int fd, const char *path, uint8_t out[HASH_LEN], uint64_t *len)
{
	uint64_t total = 0;

	if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL))
		return mm_error_set(MM_ERROR, "cannot start SHA-256");
	for (;;) {
		ssize_t n = read(fd, h->buf, HASH_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mm_error_errno(MM_EIO, errno, "cannot read '%s'", path);
		if (n == 0)
			break;
		EVP_DigestUpdate(h->ctx, h->buf, (size_t) n);
		total += (uint64_t) n;
	}
	if (!EVP_DigestFinal_ex(h->ctx, out, NULL))
		return mm_error_set(MM_ERROR, "cannot finish SHA-256");
	*len = total;
	return 0;
}

int hasher_buf(struct hasher *h, const void *buf, size_t len, uint8_t out[HASH_LEN])
{
	if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) || !EVP_DigestUpdate(h->ctx, buf, len) ||
	    !EVP_DigestFinal_ex(h->ctx, out, NULL))
		return mm_error_set(MM_ERROR, "cannot compute SHA-256");
	return 0;
}

int hasher_begin(struct hasher *h)
{
	return EVP_DigestInit_ex2(h->ctx, h->md, NULL) ? 0 : mm_error_set(MM_ERROR, "cannot start SHA-256");
}

int hasher_update(struct hasher *h, const void *buf, size_t len)
{
	return EVP_DigestUpdate(h->ctx, buf, len) ? 0 : mm_error_set(MM_ERROR, "cannot compute SHA-256");
}

int hasher_final(struct hasher *h, uint8_t out[HASH_LEN])
{
	return EVP_DigestFinal_ex(h->ctx, out, NULL) ? 0 : mm_error_set(MM_ERROR, "cannot finish SHA-256");
}

int hasher_peek(struct hasher *h, uint8_t out[HASH_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	int ok = copy && EVP_MD_CTX_copy_ex(copy, h->ctx) && EVP_DigestFinal_ex(copy, out, NULL);

	EVP_MD_CTX_free(copy);
	return ok ? 0 : mm_error_set(MM_ERROR, "cannot finish SHA-256");
}

void hash_hex(char out[HASH_HEX], const uint8_t hash[HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < HASH_LEN; i++) {
		out[2 * i] = hex[hash[i] >> 4];
		out[2 * i + 1] = hex[hash[i] & 15];
	}
	out[2 * HASH_LEN] = '\0';
}
