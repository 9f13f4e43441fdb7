/*
 * What bench/gentree.c and bench/mutate.c share: a seeded generator, and
 * messages that name the program (BENCH_PROG, defined before this header).
 */
#ifndef BENCH_BENCHUTIL_H
#define BENCH_BENCHUTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t) 1 << 20)

/* SplitMix64: fast, and the same bytes for the same seed everywhere. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, BENCH_PROG ": %s '%s': %s\n", what, path, strerror(errno));
	exit(1);
}

/* The number in option `opt`'s value, or exit 2. */
static unsigned long long num(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, BENCH_PROG ": %s: not a number: '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

#endif
