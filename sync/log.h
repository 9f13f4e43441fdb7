/*
 * The replica's event log, `.mmsync/log`: one line per event, UTC time
 * first.  Kept to a bounded size: past LOG_MAX_BYTES it moves to `log.1`.
 */
#ifndef MMSYNC_LOG_H
#define MMSYNC_LOG_H

#define LOG_MAX_BYTES (1 << 20)

struct replica;

/* Appends one line (the text must not hold a newline); errors are ignored: the log is a record, not state. */
void log_append(struct replica *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The log's path (caller frees), and the older one's. */
char *log_path(struct replica *r, int older);

#endif
