/* Three-way merges and merge settings: see merge.h. */
#include "merge.h"

#include <fnmatch.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "ignore.h"
#include "text.h"

struct load_ctx {
	struct merge_config *m;
	char *excludes;
	size_t elen;
	int err;
};

static int parse_policy(const char *v, struct merge_rule *r)
{
	if (!strcmp(v, "keep-both"))
		r->policy = POLICY_KEEP_BOTH;
	else if (!strcmp(v, "prefer-newer"))
		r->policy = POLICY_PREFER_NEWER;
	else if (!strncmp(v, "prefer ", 7) && v[7] && strlen(v + 7) < sizeof(r->name)) {
		r->policy = POLICY_PREFER;
		snprintf(r->name, sizeof(r->name), "%s", v + 7);
	} else {
		return mm_error_set(MM_EINVAL, "bad conflict policy '%s': use keep-both, prefer-newer or prefer NAME",
		                    v);
	}
	return 0;
}

static int load_one(void *arg, const char *name, const char *value)
{
	struct load_ctx *lc = arg;
	struct merge_config *m = lc->m;

	if (!strcmp(name, "merge.exclude")) {
		size_t n = strlen(value);
		char *p = realloc(lc->excludes, lc->elen + n + 2);
		if (!p)
			return mm_error_oom();
		lc->excludes = p;
		memcpy(p + lc->elen, value, n);
		lc->elen += n;
		p[lc->elen++] = '\n';
		p[lc->elen] = '\0';
		return 0;
	}
	/* conflict.policy or conflict.PATTERN.policy */
	size_t nlen = strlen(name);
	if (strcmp(name, "merge.exclude") && (nlen < 7 || strcmp(name + nlen - 7, ".policy")))
		return 0;
	const char *sub = name + strlen("conflict.");
	const char *dot = strrchr(sub, '.');
	struct merge_rule r = {0};
	int err;
	if ((err = parse_policy(value, &r)) < 0)
		return err;
	if (dot == NULL || dot == sub - 1 || !strcmp(name, "conflict.policy")) {
		m->rules[0].policy = r.policy;
		memcpy(m->rules[0].name, r.name, sizeof(r.name));
		return 0;
	}
	struct merge_rule *rules = realloc(m->rules, (m->nrules + 1) * sizeof(*rules));
	if (!rules)
		return mm_error_oom();
	m->rules = rules;
	r.pattern = strndup(sub, (size_t) (dot - sub));
	if (!r.pattern)
		return mm_error_oom();
	m->rules[m->nrules++] = r;
	return 0;
}

int merge_config_load(struct merge_config *out, struct config *c)
{
	struct load_ctx lc = {out, NULL, 0, 0};
	int64_t v;
	int err;

	memset(out, 0, sizeof(*out));
	if (!(out->rules = calloc(1, sizeof(*out->rules))))
		return mm_error_oom();
	out->nrules = 1;
	if ((err = config_get_int(c, "merge.maxsize", TEXT_DEFAULT_MAX, &v)) < 0 ||
	    (err = config_get_bool(c, "merge.markers", 0, &out->markers)) < 0)
		goto fail;
	out->max_size = v < 0 ? 0 : (uint64_t) v;
	if ((err = config_get_int(c, "gc.retention", 30LL * 24 * 3600, &out->retention_s)) < 0)
		goto fail;
	/* git-config names are case-insensitive and come back lower case (subsections as written) */
	if ((err = config_each(c, "merge.exclude", load_one, &lc)) < 0 ||
	    (err = config_each(c, "conflict.", load_one, &lc)) < 0)
		goto fail;
	if ((err = ignore_from_rules(&out->exclude, lc.excludes)) < 0)
		goto fail;
	free(lc.excludes);
	return 0;
fail:
	free(lc.excludes);
	merge_config_dispose(out);
	return err;
}

void merge_config_dispose(struct merge_config *m)
{
	for (size_t i = 0; i < m->nrules; i++)
		free(m->rules[i].pattern);
	free(m->rules);
	ignore_free(m->exclude);
	memset(m, 0, sizeof(*m));
}

int merge_allowed(const struct merge_config *m, const char *path, uint64_t size)
{
	if (size > m->max_size)
		return 0;
	return m->exclude ? ignore_match(m->exclude, path, 0) == 0 : 1;
}

static int rule_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);
	const char *base = strrchr(path, '/');

	if (n && pattern[n - 1] == '/') {
		/* a directory: the pattern, less its slash, against the leading directories */
		char dir[4096];
		if (n >= sizeof(dir))
			return 0;
		memcpy(dir, pattern, n - 1);
		dir[n - 1] = '\0';
		return strchr(path, '/') && fnmatch(dir, path, FNM_PATHNAME | FNM_LEADING_DIR) == 0;
	}
	if (strchr(pattern, '/'))
		return fnmatch(pattern, path, FNM_PATHNAME) == 0;
	return fnmatch(pattern, base ? base + 1 : path, 0) == 0;
}

enum merge_policy merge_policy_for(const struct merge_config *m, const char *path, char name[REPLICA_NAME_MAX + 1])
{
	const struct merge_rule *r = &m->rules[0];

	for (size_t i = 1; i < m->nrules; i++)
		if (rule_matches(m->rules[i].pattern, path))
			r = &m->rules[i];
	memcpy(name, r->name, 65);
	return r->policy;
}

int merge_run(void **out, size_t *len, int *clean, const struct merge_text *base, const struct merge_text *ours,
              const struct merge_text *theirs, int markers)
{
	git_merge_file_input b, o, t;
	git_merge_file_options opts;
	git_merge_file_result res;
	int err = 0;

	memset(&res, 0, sizeof(res));
	git_merge_file_input_init(&b, GIT_MERGE_FILE_INPUT_VERSION);
	git_merge_file_input_init(&o, GIT_MERGE_FILE_INPUT_VERSION);
	git_merge_file_input_init(&t, GIT_MERGE_FILE_INPUT_VERSION);
	git_merge_file_options_init(&opts, GIT_MERGE_FILE_OPTIONS_VERSION);

	*out = NULL;
	*len = 0;
	*clean = 0;
	git_libgit2_init();
	b.ptr = base->p;
	b.size = base->len;
	o.ptr = ours->p;
	o.size = ours->len;
	t.ptr = theirs->p;
	t.size = theirs->len;
	opts.ancestor_label = base->label;
	opts.our_label = ours->label;
	opts.their_label = theirs->label;
	opts.flags = markers ? GIT_MERGE_FILE_STYLE_DIFF3 : GIT_MERGE_FILE_DEFAULT;
	if (git_merge_file(&res, &b, &o, &t, &opts) < 0) {
		const git_error *e = git_error_last();
		err = mm_error_set(MM_ERROR, "merge failed: %s", e && e->message ? e->message : "error");
		goto done;
	}
	*clean = res.automergeable && res.ptr != NULL;
	if (res.ptr || res.len == 0) {
		*out = malloc(res.len ? res.len : 1);
		if (!*out) {
			err = mm_error_oom();
			goto done;
		}
		if (res.len)
			memcpy(*out, res.ptr, res.len);
		*len = res.len;
	}
done:
	git_merge_file_result_free(&res);
	git_libgit2_shutdown();
	return err;
}
