/*
 * gentree: writes a deterministic file tree for the benchmarks.
 *
 *   gentree [-n FILES] [-d DIRS] [-s MIN] [-S MAX] [-r SEED] [-t MTIME] -o OUTDIR
 *
 * The tree has DIRS leaf directories nested two levels deep
 * (OUTDIR/dTTT/sLLL, with about sqrt(DIRS) top-level directories) and FILES
 * regular files spread round-robin over the leaves (OUTDIR/dTTT/sLLL/fNNNNNNN).
 * Each file's size is uniform in [MIN, MAX] bytes and its content is
 * pseudo-random bytes; both come from a generator seeded with (SEED, file
 * number), so the same options always give a byte-identical tree.  Every
 * file and directory gets the mtime MTIME (seconds since the epoch, default
 * 1600000000: far enough in the past that no scanner treats it as "racy").
 *
 * Defaults: 100000 files, 1000 directories, 0..4096 bytes, seed 1.
 * OUTDIR is created if missing; existing files with the same names are
 * overwritten.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BENCH_PROG "gentree"
#include "benchutil.h"

static void usage(void)
{
	fprintf(stderr, "usage: gentree [-n FILES] [-d DIRS] [-s MIN] [-S MAX] [-r SEED] [-t MTIME] -o OUTDIR\n");
	exit(2);
}

static void mkdir_p(const char *p)
{
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die("cannot create", p);
}

static void set_mtime(const char *p, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
		die("cannot set times of", p);
}

int main(int argc, char **argv)
{
	unsigned long long files = 100000, dirs = 1000, min = 0, max = 4096, seed = 1, mtime = 1600000000;
	const char *out = NULL;
	unsigned long long top, per;
	uint64_t *buf;
	size_t bufwords;
	char *path;
	size_t plen;
	int c;

	while ((c = getopt(argc, argv, "n:d:s:S:r:t:o:h")) != -1) {
		switch (c) {
		case 'n': files = num("-n", optarg); break;
		case 'd': dirs = num("-d", optarg); break;
		case 's': min = num("-s", optarg); break;
		case 'S': max = num("-S", optarg); break;
		case 'r': seed = num("-r", optarg); break;
		case 't': mtime = num("-t", optarg); break;
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (!out || optind != argc || dirs == 0 || min > max)
		usage();

	top = (unsigned long long) ceil(sqrt((double) dirs));
	per = (dirs + top - 1) / top;
	/* content is written in chunks of at most CHUNK bytes (a multiple of 8):
	 * the same word stream as one buffer, without holding a big file in memory */
	bufwords = (size_t) ((max < CHUNK ? max : CHUNK) / 8 + 1);
	plen = strlen(out) + 64;
	if (!(buf = malloc(bufwords * 8)) || !(path = malloc(plen))) {
		fprintf(stderr, "gentree: out of memory\n");
		return 1;
	}

	mkdir_p(out);
	for (unsigned long long d = 0; d < dirs; d++) {
		snprintf(path, plen, "%s/d%03llu", out, d / per);
		if (d % per == 0)
			mkdir_p(path);
		snprintf(path, plen, "%s/d%03llu/s%03llu", out, d / per, d % per);
		mkdir_p(path);
	}

	for (unsigned long long i = 0; i < files; i++) {
		unsigned long long d = i % dirs;
		uint64_t st = seed * 0x100000001b3ULL ^ (i + 1) * 0xd6e8feb86659fd93ULL;
		uint64_t size = min + splitmix64(&st) % (max - min + 1);
		int fd;

		snprintf(path, plen, "%s/d%03llu/s%03llu/f%07llu", out, d / per, d % per, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("cannot create", path);
		for (uint64_t left = size; left > 0;) {
			size_t chunk = left < CHUNK ? (size_t) left : CHUNK;

			for (size_t w = 0; w < (chunk + 7) / 8; w++)
				buf[w] = splitmix64(&st);
			for (size_t done = 0; done < chunk;) {
				ssize_t n = write(fd, (char *) buf + done, chunk - done);
				if (n < 0) {
					if (errno == EINTR)
						continue;
					die("cannot write", path);
				}
				done += (size_t) n;
			}
			left -= chunk;
		}
		/* O_TRUNC on an existing longer file already cut it; set the time last. */
		struct timespec ts[2] = {{(time_t) mtime, 0}, {(time_t) mtime, 0}};
		if (futimens(fd, ts) < 0)
			die("cannot set times of", path);
		if (close(fd) < 0)
			die("cannot write", path);
	}

	/* Directory mtimes last: adding files moved them. */
	for (unsigned long long d = 0; d < dirs; d++) {
		snprintf(path, plen, "%s/d%03llu/s%03llu", out, d / per, d % per);
		set_mtime(path, (time_t) mtime);
		if (d % per == per - 1 || d == dirs - 1) {
			snprintf(path, plen, "%s/d%03llu", out, d / per);
			set_mtime(path, (time_t) mtime);
		}
	}
	set_mtime(out, (time_t) mtime);
	free(buf);
	free(path);
	return 0;
}
