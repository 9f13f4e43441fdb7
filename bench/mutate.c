/*
 * mutate: deterministic edits of existing files, for the benchmarks.
 *
 *   mutate [-r SEED] [-t MTIME] overwrite COUNT LEN FILE...
 *   mutate [-r SEED] [-t MTIME] insert OFFSET LEN FILE...
 *
 * overwrite: writes COUNT runs of LEN pseudo-random bytes into each FILE, in
 * place, one run at a pseudo-random offset inside each of COUNT equal
 * segments of the file (scattered over the whole file; a file shorter than
 * LEN bytes is extended to LEN bytes by its single run).
 *
 * insert: inserts LEN pseudo-random bytes at OFFSET (the end of the file when
 * it is shorter) of each FILE, in place: the rest of the file moves LEN bytes
 * up (the same inode, the size grows by LEN).
 *
 * The bytes and offsets come from a generator seeded with (SEED, the FILE's
 * position among the arguments), so the same command on the same files gives
 * byte-identical results.  With -t, each FILE's mtime is set to MTIME
 * (seconds since the epoch) afterwards, so that tools comparing mtimes see
 * the change however fast it follows the previous one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define BENCH_PROG "mutate"
#include "benchutil.h"

static void usage(void)
{
	fprintf(stderr, "usage: mutate [-r SEED] [-t MTIME] overwrite COUNT LEN FILE...\n"
	                "       mutate [-r SEED] [-t MTIME] insert OFFSET LEN FILE...\n");
	exit(2);
}

static void pwrite_all(int fd, const void *buf, size_t len, off_t off, const char *path)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, (const char *) buf + done, len - done, off + (off_t) done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("cannot write", path);
		}
		done += (size_t) n;
	}
}

static void pread_all(int fd, void *buf, size_t len, off_t off, const char *path)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pread(fd, (char *) buf + done, len - done, off + (off_t) done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("cannot read", path);
		}
		if (n == 0) {
			errno = EIO;
			die("file shrank while reading", path);
		}
		done += (size_t) n;
	}
}

static void fill(unsigned char *p, size_t len, uint64_t *st)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = splitmix64(st);

		memcpy(p + i, &w, len - i < 8 ? len - i : 8);
	}
}

int main(int argc, char **argv)
{
	unsigned long long seed = 1, mtime = 0, a, len;
	int have_mtime = 0, insert, c;
	unsigned char *buf, *data;

	while ((c = getopt(argc, argv, "r:t:h")) != -1) {
		switch (c) {
		case 'r': seed = num("-r", optarg); break;
		case 't':
			mtime = num("-t", optarg);
			have_mtime = 1;
			break;
		default: usage();
		}
	}
	if (argc - optind < 4)
		usage();
	if (!strcmp(argv[optind], "insert"))
		insert = 1;
	else if (!strcmp(argv[optind], "overwrite"))
		insert = 0;
	else
		usage();
	a = num(argv[optind], argv[optind + 1]);
	len = num(argv[optind], argv[optind + 2]);
	if (len == 0 || len > CHUNK || (!insert && a == 0)) {
		fprintf(stderr, "mutate: LEN must be 1..%zu, COUNT at least 1\n", CHUNK);
		return 2;
	}
	if (!(buf = malloc(CHUNK)) || !(data = malloc(len + 8))) {
		fprintf(stderr, "mutate: out of memory\n");
		return 1;
	}

	for (int i = optind + 3; i < argc; i++) {
		const char *path = argv[i];
		uint64_t st = seed * 0x100000001b3ULL ^ (uint64_t) (i - optind - 2) * 0xd6e8feb86659fd93ULL;
		struct stat sb;
		int fd = open(path, O_RDWR | O_CLOEXEC);

		if (fd < 0 || fstat(fd, &sb) < 0)
			die("cannot open", path);
		if (insert) {
			off_t off = (off_t) a < sb.st_size ? (off_t) a : sb.st_size;
			off_t end = sb.st_size;

			/* move [off, end) up by len, from the end backwards */
			while (end > off) {
				size_t n = (size_t) (end - off) < CHUNK ? (size_t) (end - off) : CHUNK;

				pread_all(fd, buf, n, end - (off_t) n, path);
				pwrite_all(fd, buf, n, end - (off_t) n + (off_t) len, path);
				end -= (off_t) n;
			}
			fill(data, len, &st);
			pwrite_all(fd, data, len, off, path);
		} else {
			uint64_t size = (uint64_t) sb.st_size, seg = size / a;

			for (unsigned long long k = 0; k < a; k++) {
				uint64_t off = 0, r = splitmix64(&st);

				if (seg > len)
					off = k * seg + r % (seg - len + 1);
				else if (size > len)
					off = r % (size - len + 1);
				fill(data, len, &st);
				pwrite_all(fd, data, len, (off_t) off, path);
			}
		}
		if (have_mtime) {
			struct timespec ts[2] = {{(time_t) mtime, 0}, {(time_t) mtime, 0}};

			if (futimens(fd, ts) < 0)
				die("cannot set times of", path);
		}
		if (close(fd) < 0)
			die("cannot write", path);
	}
	free(buf);
	free(data);
	return 0;
}
