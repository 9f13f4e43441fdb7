/* What counts as text for merging: no NUL byte and valid UTF-8 (ASCII included). */
#ifndef MMSYNC_TEXT_H
#define MMSYNC_TEXT_H

#include <stddef.h>

#define TEXT_DEFAULT_MAX (8u << 20) /* merge.maxSize when unset */

/* 1 when the `len` bytes at `p` are text. */
int text_is_text(const void *p, size_t len);
/* Length (1-4) of the valid UTF-8 sequence at `s` (at most `n` bytes), or 0 when there is none. */
size_t text_utf8_len(const unsigned char *s, size_t n);

#endif
