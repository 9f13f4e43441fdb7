/* Config through libgit2: see config.h. */
#include "config.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

struct config {
	git_config *cfg;
	char *path;
};

static int git_fail(const char *what, const char *path)
{
	const git_error *e = git_error_last();

	return mm_error_set(MM_ERROR, "%s '%s': %s", what, path, e && e->message ? e->message : "unknown error");
}

int config_open(struct config **out, const char *path)
{
	struct config *c;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))) || !(c->path = strdup(path))) {
		free(c);
		return mm_error_oom();
	}
	git_libgit2_init();
	if (git_config_open_ondisk(&c->cfg, path) < 0) {
		int err = git_fail("cannot read config", path);
		config_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	if (c->cfg) {
		git_config_free(c->cfg);
	}
	free(c->path);
	free(c);
	git_libgit2_shutdown();
}

int config_get_string(struct config *c, const char *key, char **out)
{
	git_buf buf = {0};
	int rc;

	*out = NULL;
	rc = git_config_get_string_buf(&buf, c->cfg, key);
	if (rc == GIT_ENOTFOUND)
		return MM_ENOTFOUND;
	if (rc < 0)
		return git_fail("cannot read config", c->path);
	*out = strdup(buf.ptr);
	git_buf_dispose(&buf);
	return *out ? 0 : mm_error_oom();
}

int config_set_string(struct config *c, const char *key, const char *value)
{
	if (git_config_set_string(c->cfg, key, value) < 0)
		return git_fail("cannot write config", c->path);
	return 0;
}

int config_delete(struct config *c, const char *key)
{
	int rc = git_config_delete_entry(c->cfg, key);

	if (rc == GIT_ENOTFOUND)
		return MM_ENOTFOUND;
	if (rc < 0)
		return git_fail("cannot write config", c->path);
	return 0;
}

struct names {
	char **v;
	size_t n;
};

static int collect(void *arg, const char *name, const char *value)
{
	struct names *ns = arg;
	char **v = realloc(ns->v, (ns->n + 1) * sizeof(*v));

	(void) value;
	if (!v)
		return mm_error_oom();
	ns->v = v;
	if (!(v[ns->n] = strdup(name)))
		return mm_error_oom();
	ns->n++;
	return 0;
}

/* 1 when line `l` is a section header ("[...]" after blanks). */
static int is_header(const char *l)
{
	while (*l == ' ' || *l == '\t')
		l++;
	return *l == '[';
}

static int is_blank(const char *l)
{
	return l[strspn(l, " \t\r\n")] == '\0';
}

/* Rewrites the file without section headers that hold nothing (libgit2 leaves them after deletions). */
static int drop_empty_sections(struct config *c)
{
	FILE *in = fopen(c->path, "re"), *out = NULL;
	char *tmp = NULL, *line = NULL, **lines = NULL;
	size_t cap = 0, n = 0, i;
	int err = 0;

	if (!in)
		return 0;
	while (getline(&line, &cap, in) > 0) {
		char **nl = realloc(lines, (n + 1) * sizeof(*lines));
		if (!nl || !(nl[n] = strdup(line))) {
			lines = nl ? nl : lines;
			err = mm_error_oom();
			goto done;
		}
		lines = nl;
		n++;
	}
	if (asprintf(&tmp, "%s.tmp", c->path) < 0 || !(out = fopen(tmp, "we"))) {
		err = mm_error_set(MM_EIO, "cannot write config '%s'", c->path);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (is_header(lines[i])) {
			size_t j = i + 1;
			while (j < n && is_blank(lines[j]))
				j++;
			if (j == n || is_header(lines[j]))
				continue;
		}
		fputs(lines[i], out);
	}
	if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0) {
		out = NULL;
		err = mm_error_set(MM_EIO, "cannot write config '%s'", c->path);
		goto done;
	}
	out = NULL;
	if (rename(tmp, c->path) < 0) {
		err = mm_error_set(MM_EIO, "cannot write config '%s'", c->path);
		goto done;
	}
	/* read it anew */
	git_config_free(c->cfg);
	c->cfg = NULL;
	if (git_config_open_ondisk(&c->cfg, c->path) < 0)
		err = git_fail("cannot read config", c->path);
done:
	if (out)
		fclose(out);
	if (tmp && err < 0)
		unlink(tmp);
	free(tmp);
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(line);
	fclose(in);
	return err;
}

int config_remove_all(struct config *c, const char *prefix)
{
	struct names ns = {NULL, 0};
	int err = config_each(c, prefix, collect, &ns);

	for (size_t i = 0; i < ns.n; i++) {
		if (err == 0 && git_config_delete_entry(c->cfg, ns.v[i]) < 0)
			err = git_fail("cannot write config", c->path);
		free(ns.v[i]);
	}
	free(ns.v);
	return err < 0 ? err : drop_empty_sections(c);
}

int config_get_int(struct config *c, const char *key, int64_t def, int64_t *out)
{
	int rc = git_config_get_int64(out, c->cfg, key);

	if (rc == GIT_ENOTFOUND) {
		*out = def;
		return 0;
	}
	return rc < 0 ? git_fail("bad config value", key) : 0;
}

int config_each(struct config *c, const char *prefix, int (*fn)(void *arg, const char *name, const char *value),
                void *arg)
{
	git_config_iterator *it = NULL;
	git_config_entry *e;
	size_t n = strlen(prefix);
	int rc, err = 0;

	/* an iterator, not git_config_foreach_match: libgit2 1.5 leaks a regex match per entry there */
	if (git_config_iterator_new(&it, c->cfg) < 0)
		return git_fail("cannot read config", c->path);
	while ((rc = git_config_next(&e, it)) == 0) {
		if (strncmp(e->name, prefix, n))
			continue;
		if ((err = fn(arg, e->name, e->value ? e->value : "")) < 0)
			break;
	}
	git_config_iterator_free(it);
	if (err < 0)
		return err;
	return rc == GIT_ITEROVER ? 0 : git_fail("cannot read config", c->path);
}

int config_get_bool(struct config *c, const char *key, int def, int *out)
{
	int rc = git_config_get_bool(out, c->cfg, key);

	if (rc == GIT_ENOTFOUND) {
		*out = def;
		return 0;
	}
	return rc < 0 ? git_fail("bad config value", key) : 0;
}
