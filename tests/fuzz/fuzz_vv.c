/*
 * Fuzz target: the version-vector decoder (vv/).
 *
 * Input: one byte whose bits pick a vv_format buffer size, then bytes for
 * vv_decode_prefix: a first vector, and what follows it decoded strictly as
 * a second.  Oracles: the encoding is canonical (a decoded vector encodes
 * back to exactly its bytes), a vector decodes the same from its prefix and
 * alone, vv_format stays inside its buffer and terminates it, and compare,
 * covers and merge agree with each other.  The input as text goes to
 * vv_id_parse, whose ids must format back to the same text.
 */
#include <ctype.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vv/vv.h"

static int vv_same(const struct vv *a, const struct vv *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->e, b->e, a->n * sizeof(*a->e)) == 0);
}

/* Decoded from buf/len: encodes back to exactly those bytes, and is well formed. */
static void check_canonical(const struct vv *v, const uint8_t *buf, size_t len)
{
	uint8_t *enc = malloc(len ? len : 1);
	size_t n = 0;

	FUZZ_ASSERT(enc);
	FUZZ_ASSERT(v->n <= VV_MAX_ENTRIES);
	for (size_t i = 0; i < v->n; i++) {
		FUZZ_ASSERT(v->e[i].id != 0 && v->e[i].counter != 0);
		FUZZ_ASSERT(i == 0 || v->e[i - 1].id < v->e[i].id);
	}
	FUZZ_ASSERT(vv_encoded_size(v) == len && len <= VV_MAX_ENCODED);
	FUZZ_ASSERT(vv_encode(enc, len, &n, v) == 0 && n == len);
	FUZZ_ASSERT(memcmp(enc, buf, len) == 0);
	if (len > 0)
		FUZZ_ASSERT(vv_encode(enc, len - 1, &n, v) == VV_ESPACE);
	free(enc);
}

/*
 * vv_format into exactly `size` bytes of heap (ASan sees any write past
 * them): it fits when the whole text does, and is then that text.
 */
static void check_format(const struct vv *v, size_t size)
{
	/* "{", then per entry ", " + 13 + ":" + up to 20 digits, then "}" */
	size_t big = 3 + v->n * 36;
	char *whole = malloc(big), *buf = malloc(size ? size : 1);
	int rc;

	FUZZ_ASSERT(whole && buf);
	FUZZ_ASSERT(vv_format(whole, big, v) == 0);
	rc = vv_format(buf, size, v);
	FUZZ_ASSERT(rc == 0 || rc == VV_ESPACE);
	FUZZ_ASSERT((rc == 0) == (size > strlen(whole)));
	if (size > 0)
		FUZZ_ASSERT(memchr(buf, '\0', size) != NULL);
	if (rc == 0)
		FUZZ_ASSERT(strcmp(buf, whole) == 0);
	free(whole);
	free(buf);
}

static void check_pair(const struct vv *a, const struct vv *b)
{
	enum vv_order ab = vv_compare(a, b), ba = vv_compare(b, a);
	struct vv m = VV_INIT;

	FUZZ_ASSERT((ab == VV_EQUAL) == (ba == VV_EQUAL) && (ab == VV_EQUAL) == vv_same(a, b));
	FUZZ_ASSERT((ab == VV_DOMINATES) == (ba == VV_DOMINATED));
	FUZZ_ASSERT((ab == VV_CONCURRENT) == (ba == VV_CONCURRENT));
	FUZZ_ASSERT(vv_covers(a, b) == (ab == VV_EQUAL || ab == VV_DOMINATES));
	FUZZ_ASSERT(vv_copy(&m, a) == 0 && vv_merge(&m, b) == 0);
	FUZZ_ASSERT(vv_covers(&m, a) && vv_covers(&m, b));
	FUZZ_ASSERT(vv_max_counter(&m) >= vv_max_counter(a) && vv_max_counter(&m) >= vv_max_counter(b));
	for (size_t i = 0; i < m.n; i++)
		FUZZ_ASSERT(m.e[i].counter == (vv_get(a, m.e[i].id) > vv_get(b, m.e[i].id) ? vv_get(a, m.e[i].id)
		                                                                           : vv_get(b, m.e[i].id)));
	vv_dispose(&m);
}

static void check_id_text(const uint8_t *data, size_t size)
{
	char text[32], out[VV_ID_TEXT];
	uint64_t id;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	if (vv_id_parse(&id, text) == 0) {
		vv_id_format(out, id);
		FUZZ_ASSERT(strlen(out) == VV_ID_TEXT - 1 && strlen(text) == VV_ID_TEXT - 1);
		for (size_t i = 0; i < VV_ID_TEXT - 1; i++)
			FUZZ_ASSERT(toupper((unsigned char) text[i]) == out[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vv a = VV_INIT, b = VV_INIT, c = VV_INIT;
	size_t used = 0, fmt;
	int rc;

	if (size < 1)
		return 0;
	/* small sizes (where truncation happens) often, any size up to 64 KiB now and then */
	fmt = data[0] & 0x80 ? (size_t) data[0] * 257 : (size_t) (data[0] & 0x7f);
	data++;
	size--;
	check_id_text(data, size);

	rc = vv_decode(&c, data, size);
	FUZZ_ASSERT(rc <= 0 && rc >= VV_ESPACE);
	if (rc == 0)
		check_canonical(&c, data, size);
	else
		FUZZ_ASSERT(c.n == 0);

	rc = vv_decode_prefix(&a, data, size, &used);
	if (rc < 0) {
		FUZZ_ASSERT(a.n == 0);
		FUZZ_ASSERT(vv_decode(&c, data, size) < 0);
		goto done;
	}
	FUZZ_ASSERT(used >= 1 && used <= size);
	check_canonical(&a, data, used);
	/* the prefix alone decodes to the same vector; the whole input only when nothing follows */
	vv_clear(&c);
	FUZZ_ASSERT(vv_decode(&c, data, used) == 0 && vv_same(&a, &c));
	FUZZ_ASSERT((vv_decode(&c, data, size) == 0) == (used == size));
	check_format(&a, fmt);

	if (vv_decode(&b, data + used, size - used) == 0) {
		check_canonical(&b, data + used, size - used);
		check_pair(&a, &b);
		check_format(&b, fmt);
	}
done:
	vv_dispose(&a);
	vv_dispose(&b);
	vv_dispose(&c);
	return 0;
}
