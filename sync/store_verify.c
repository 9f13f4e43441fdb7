/* `mmsync check`'s look at the store itself (see store.h). */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "path.h"
#include "store_db.h"

/* The problems store_verify() found in one row, as a message in `msg`; "" when none. */
static void row_problems(const struct entry *e, uint64_t last_seq, char *msg, size_t size)
{
	const char *what = "";

	if (!path_valid(e->path, strlen(e->path)))
		what = "its path is not a valid replica path";
	else if (e->kind == ENTRY_FILE && !e->has_hash)
		what = "a file with no content hash";
	else if (e->kind == ENTRY_LINK && !e->target)
		what = "a link with no target";
	else if (e->kind != ENTRY_LINK && e->target)
		what = "a link target on something that is not a link";
	else if (e->vv.n == 0)
		what = "an empty version vector";
	else if (e->seq == 0 || e->seq > last_seq)
		what = "a sequence number past the store's last";
	else if (e->writer && vv_get(&e->vv, e->writer) == 0)
		what = "its writer is not in its version vector";
	snprintf(msg, size, "%s", what);
}

int store_verify(struct store *s, store_problem_fn fn, void *arg, uint64_t *rows)
{
	sqlite3_stmt *st;
	struct store_iter *it = NULL;
	struct entry e;
	char msg[256];
	int rc, err = 0;

	*rows = 0;
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check(100)", -1, &st, NULL) != SQLITE_OK)
		return fn(arg, "", sqlite3_errmsg(s->db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && err == 0) {
		const char *text = (const char *) sqlite3_column_text(st, 0);
		if (text && strcmp(text, "ok"))
			err = fn(arg, "", text);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW && err == 0)
		err = fn(arg, "", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	if (err)
		return err;
	entry_init(&e);
	if ((err = store_iter_open(&it, s, NULL)) < 0) {
		err = fn(arg, "", mm_error_msg());
		goto done;
	}
	while ((rc = store_iter_next(it, &e)) > 0) {
		++*rows;
		row_problems(&e, s->seq, msg, sizeof(msg));
		if (msg[0] && (err = fn(arg, e.path, msg)) != 0)
			goto done;
	}
	if (rc < 0 && (err = fn(arg, "", mm_error_msg())) == 0)
		err = 1; /* a row that does not decode stops the walk */
done:
	store_iter_free(it);
	entry_dispose(&e);
	return err;
}
