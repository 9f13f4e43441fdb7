/*
 * Runs a fuzz target's entry point once on each file named, or on each file
 * of each directory named (seed corpora, regression inputs), without
 * libFuzzer: `make check` keeps them valid with any compiler.  Prints
 * "fuzz-replay: NAME: N inputs" and exits 0, or stops at the first input
 * that crashes (the target aborts) with its name on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

static const char *current; /* the input being run, named when it crashes */

static void on_crash(int sig)
{
	if (current) {
		static const char pre[] = "fuzz-replay: crashed on input '";
		(void) !write(2, pre, sizeof(pre) - 1);
		(void) !write(2, current, strlen(current));
		(void) !write(2, "'\n", 2);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "fuzz-replay: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			uint8_t *p = realloc(buf, cap);
			if (!p) {
				fprintf(stderr, "fuzz-replay: out of memory reading '%s'\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	current = path;
	LLVMFuzzerTestOneInput(buf, len);
	current = NULL;
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A directory's regular files in name order; a missing directory has none. */
static int run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*names));
		if (!p || !(p[n] = malloc(strlen(dir) + strlen(de->d_name) + 2))) {
			names = p ? p : names;
			err = -1;
			break;
		}
		names = p;
		sprintf(names[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat sb;
		if (err == 0 && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
			err = run_file(names[i]);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return err;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	struct stat sb;

	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME FILE|DIR...\n", argv[0]);
		return 2;
	}
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 2; i < argc; i++) {
		int err;
		if (stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
			err = run_file(argv[i]);
			count++;
		} else {
			err = run_dir(argv[i], &count);
		}
		if (err < 0)
			return 1;
	}
	printf("fuzz-replay: %s: %zu inputs\n", argv[1], count);
	return count ? 0 : 1;
}
