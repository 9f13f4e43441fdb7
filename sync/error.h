/*
 * Errors of the library core, after libgit2: functions return 0 or a
 * negative MM_E* code, and the message is set once, where the failure is
 * found, with mm_error_set*().  The caller reads it with mm_error_msg().
 * The message is per thread and lower case, naming the path or peer.
 */
#ifndef MMSYNC_ERROR_H
#define MMSYNC_ERROR_H

enum mm_code {
	MM_OK = 0,
	MM_ERROR = -1,      /* a failure described by the message */
	MM_ENOTFOUND = -2,  /* the thing asked for does not exist */
	MM_EEXISTS = -3,    /* the thing to create is already there */
	MM_ELOCKED = -4,    /* another process holds the replica lock */
	MM_EINVAL = -5,     /* bad argument or bad input from a user */
	MM_ENOMEM = -6,     /* out of memory */
	MM_EIO = -7,        /* the system refused an I/O operation */
	MM_ECORRUPT = -8,   /* stored or received data is not well formed */
	MM_ENOREPLICA = -9, /* a directory that is not a replica */
	MM_EREFUSED = -10   /* a safety guard stopped the operation (scan.h: the deletion guard) */
};

/* Sets the message from a format and returns `code`. */
int mm_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errnum)" appended. */
int mm_error_errno(int code, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sets MM_ENOMEM's message and returns MM_ENOMEM. */
int mm_error_oom(void);
/* The last message set on this thread ("" when none). */
const char *mm_error_msg(void);
/* Forgets the last message. */
void mm_error_clear(void);

#endif
