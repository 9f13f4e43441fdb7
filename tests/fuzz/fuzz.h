/*
 * libFuzzer entry points of the fuzz targets (tests/fuzz/fuzz_*.c).  The
 * same sources build two ways: with clang -fsanitize=fuzzer for `make fuzz`,
 * and with the project's compiler and replay.c's main for `make check`,
 * which runs every seed and regression input once.
 */
#ifndef MMSYNC_FUZZ_H
#define MMSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Defined by the targets that need a set-up (weak: replay.c calls it when there). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* An oracle of a target failed: a finding, as a crash would be. */
#define FUZZ_ASSERT(cond)                                                                                              \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", __FILE__, __LINE__, #cond);                 \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#endif
