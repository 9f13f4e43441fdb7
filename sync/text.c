/* Text detection: see text.h. */
#include "text.h"

#include <string.h>

size_t text_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0; /* overlong, or a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int text_is_text(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i = 0;

	if (len == 0)
		return 1;
	if (memchr(s, '\0', len))
		return 0;
	while (i < len) {
		/* runs of ASCII are the common case */
		while (i < len && s[i] < 0x80)
			i++;
		if (i == len)
			break;
		size_t n = text_utf8_len(s + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}
