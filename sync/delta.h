/*
 * Content deltas with librsync.  The receiver sends the signature of the
 * version it holds (the basis); the sender loads it and streams a delta of
 * the new version against it; the receiver patches the basis with the delta
 * into a temporary file and checks the whole result's hash before using it.
 *
 * Everything that arrives from a peer is bounded here: a signature's size,
 * every copy the delta asks for (inside the basis), and the output (no more
 * than the size the peer announced).
 */
#ifndef MMSYNC_DELTA_H
#define MMSYNC_DELTA_H

#include <stddef.h>
#include <stdint.h>

/* Files smaller than this move whole: a signature round trip costs more than it saves (measured: see README). */
#define DELTA_MIN_SIZE (256u * 1024)
/* The largest signature a sender takes. */
#define DELTA_MAX_SIG (64u << 20)

/* Where streamed output goes; returns 0 or an error code. */
typedef int (*delta_out_fn)(void *arg, const void *p, size_t n);

/* Streams the signature of what `fd` holds (from offset 0, `size` bytes) to `out`. */
int delta_signature(int fd, uint64_t size, delta_out_fn out, void *arg);

/* A signature received from a peer, loaded for delta_make. */
struct delta_sig;
int delta_sig_new(struct delta_sig **out);
/* Adds bytes of the signature; MM_ECORRUPT when it grows past DELTA_MAX_SIG or does not parse. */
int delta_sig_feed(struct delta_sig *s, const void *p, size_t n);
/* The signature is whole: indexes it. */
int delta_sig_done(struct delta_sig *s);
void delta_sig_free(struct delta_sig *s);
/* Streams the delta of what `fd` holds (from offset 0) against the signature to `out`. */
int delta_make(struct delta_sig *s, int fd, delta_out_fn out, void *arg);

/* Applying a delta: copies only from inside the basis, output bounded by `out_max`. */
struct delta_patch;
int delta_patch_new(struct delta_patch **out, int basis_fd, uint64_t basis_size, uint64_t out_max, delta_out_fn fn,
                    void *arg);
/* Adds bytes of the delta; MM_ECORRUPT for a bad delta (a copy outside the basis, too much output). */
int delta_patch_feed(struct delta_patch *p, const void *data, size_t n);
/* The delta is whole: MM_ECORRUPT unless it ended exactly; the output's size goes to *written. */
int delta_patch_done(struct delta_patch *p, uint64_t *written);
void delta_patch_free(struct delta_patch *p);

#endif
