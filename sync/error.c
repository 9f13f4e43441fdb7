/* Per-thread error messages: see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char mm_msg[1024];

int mm_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mm_msg, sizeof(mm_msg), fmt, ap);
	va_end(ap);
	return code;
}

int mm_error_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(mm_msg, sizeof(mm_msg), fmt, ap);
	va_end(ap);
	len = strlen(mm_msg);
	snprintf(mm_msg + len, sizeof(mm_msg) - len, ": %s", strerror(errnum));
	return code;
}

int mm_error_oom(void)
{
	return mm_error_set(MM_ENOMEM, "out of memory");
}

const char *mm_error_msg(void)
{
	return mm_msg;
}

void mm_error_clear(void)
{
	mm_msg[0] = '\0';
}
