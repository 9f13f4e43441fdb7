/* Replica paths: see path.h. */
#include "path.h"

#include <string.h>

int path_name_syncable(const char *name)
{
	if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, MM_STATE_DIR))
		return 0;
	return strncmp(name, MM_TMP_PREFIX, sizeof(MM_TMP_PREFIX) - 1) != 0;
}

int path_valid(const char *path, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > MM_PATH_MAX || memchr(path, '\0', len))
		return 0;
	while (start <= len) {
		const char *slash = memchr(path + start, '/', len - start);
		size_t end = slash ? (size_t)(slash - path) : len;
		size_t n = end - start;
		const char *c = path + start;

		if (n == 0 || n > MM_NAME_MAX)
			return 0;
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (n == sizeof(MM_STATE_DIR) - 1 && !memcmp(c, MM_STATE_DIR, n))
			return 0;
		if (n >= sizeof(MM_TMP_PREFIX) - 1 && !memcmp(c, MM_TMP_PREFIX, sizeof(MM_TMP_PREFIX) - 1))
			return 0;
		start = end + 1;
	}
	return 1;
}

int path_tree_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned ca = *a == '/' ? 1u : *a ? (unsigned char)*a + 1u : 0u;
		unsigned cb = *b == '/' ? 1u : *b ? (unsigned char)*b + 1u : 0u;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (!ca)
			return 0;
	}
}
