/* SHA-256 of file contents with OpenSSL's EVP interface. */
#ifndef MMSYNC_HASH_H
#define MMSYNC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32
#define HASH_HEX (2 * HASH_LEN + 1)

struct hasher;

int hasher_new(struct hasher **out);
void hasher_free(struct hasher *h);
/*
 * Hashes what `fd` holds from its current offset to its end; the number of
 * bytes read goes to *len.  Errors name `path`.
 */
int hasher_fd(struct hasher *h, int fd, const char *path, uint8_t out[HASH_LEN], uint64_t *len);
/* Hashes a buffer. */
int hasher_buf(struct hasher *h, const void *buf, size_t len, uint8_t out[HASH_LEN]);
/* Streaming: begin, any number of updates, final. */
int hasher_begin(struct hasher *h);
int hasher_update(struct hasher *h, const void *buf, size_t len);
int hasher_final(struct hasher *h, uint8_t out[HASH_LEN]);
/* The hash of what was given so far, the stream going on. */
int hasher_peek(struct hasher *h, uint8_t out[HASH_LEN]);
/* Lower-case hex. */
void hash_hex(char out[HASH_HEX], const uint8_t hash[HASH_LEN]);

#endif
