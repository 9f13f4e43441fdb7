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
		size_t end = slash ? (size_t) (slash - path) : len;
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
		unsigned ca = *a == '/' ? 1u : *a ? (unsigned char) *a + 1u : 0u;
		unsigned cb = *b == '/' ? 1u : *b ? (unsigned char) *b + 1u : 0u;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (!ca)
			return 0;
	}
}

const char *path_beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return path;
	while (n > 1 && dir[n - 1] == '/')
		n--; /* "/" stays itself */
	if (strncmp(path, dir, n))
		return NULL;
	if (path[n] == '\0')
		return path + n;
	if (path[n] == '/')
		return path + n + 1;
	return dir[n - 1] == '/' ? path + n : NULL;
}

/* Appends the component c[0..n) to out[*len] (with a '/' when not first); PATH_ESCAPES or PATH_TOO_LONG. */
static int normalize_step(char *out, size_t size, size_t *len, const char *c, size_t n)
{
	if (n == 0 || (n == 1 && c[0] == '.'))
		return 0;
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		if (*len == 0)
			return PATH_ESCAPES;
		while (*len > 0 && out[*len - 1] != '/')
			(*len)--;
		if (*len > 0)
			(*len)--;
		out[*len] = '\0';
		return 0;
	}
	if (*len + (*len ? 1 : 0) + n + 1 > size)
		return PATH_TOO_LONG;
	if (*len)
		out[(*len)++] = '/';
	memcpy(out + *len, c, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int normalize_into(char *out, size_t size, size_t *len, const char *p)
{
	while (*p) {
		size_t n = strcspn(p, "/");
		int err = normalize_step(out, size, len, p, n);
		if (err < 0)
			return err;
		p += n;
		p += *p == '/';
	}
	return 0;
}

int path_normalize(char *out, size_t size, const char *base, const char *rel)
{
	size_t len = 0;
	int err;

	if (size == 0)
		return PATH_TOO_LONG;
	out[0] = '\0';
	if ((err = normalize_into(out, size, &len, base)) < 0 || (err = normalize_into(out, size, &len, rel)) < 0) {
		out[0] = '\0';
		return err;
	}
	return (int) len;
}
