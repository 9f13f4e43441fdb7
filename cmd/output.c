/* Messages, option parsing and quoting for the terminal and for JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include "sync/error.h"

void out_message(FILE *f, const char *s)
{
	for (; *s; s++)
		putc(((unsigned char) *s < 0x20 && *s != '\t') || *s == 0x7f ? '?' : *s, f);
}

/* "PREFIX" then the message, its control bytes made harmless (it may quote a peer), on a line of its own. */
static void message(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	flockfile(stderr); /* the progress line is erased first, and stays away until the message is out */
	progress_clear();
	fputs(prefix, stderr);
	out_message(stderr, buf);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void cmd_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("mmsync: ", fmt, ap);
	va_end(ap);
}

void cmd_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("mmsync: warning: ", fmt, ap);
	va_end(ap);
}

int cmd_exit_for(int code)
{
	switch (code) {
	case MM_OK: return EXIT_OK;
	case MM_ELOCKED: return EXIT_LOCKED;
	case MM_EINVAL: return EXIT_USAGE;
	default: return EXIT_FAILED;
	}
}

int cmd_fail(int code)
{
	const char *msg = mm_error_msg();

	cmd_error("%s", *msg ? msg : "failed");
	return cmd_exit_for(code);
}

/* Edit distance (insertions, deletions, substitutions, swaps of neighbours), capped at 9. */
static size_t distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), d[32][32];

	if (n > 30 || m > 30)
		return 9;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m] > 9 ? 9 : d[n][m];
}

const char *cmd_nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = 9, len = strlen(word);

	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, cands[i]);
		/* a prefix of exactly one candidate counts as near too ("--ti" for "--timeout") */
		if (len >= 2 && !strncmp(cands[i], word, len) && d > 1)
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	/* close enough to be a slip: at most 2 edits, and fewer than half the word */
	return best && bestd <= 2 && bestd * 2 < (len > 2 ? len : 3) ? best : NULL;
}

/* " (did you mean '--timeout'?)" for an unknown long option, or "". */
static const char *option_hint(const char *what, const struct option *longopts, char *buf, size_t n)
{
	const char *cands[64], *near;
	char word[64];
	size_t k = 0;

	snprintf(word, sizeof(word), "%s", what + 2);
	word[strcspn(word, "=")] = '\0';
	for (; longopts && longopts[k].name && k < 64; k++)
		cands[k] = longopts[k].name;
	if (!(near = cmd_nearest(word, cands, k)))
		return "";
	snprintf(buf, n, " (did you mean '--%s'?)", near);
	return buf;
}

void cmd_usage(FILE *f, const struct command *c)
{
	fputs(c->usage, f);
}

int cmd_getopt(const struct command *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
               int (*handle)(void *arg, int opt, const char *optarg), void *arg)
{
	static const struct option help_only[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	char opts[64];
	int opt;

	/* a leading ':' tells a missing value (':') from an unknown option ('?') */
	snprintf(opts, sizeof(opts), ":%s", shortopts);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, opts, longopts ? longopts : help_only, NULL)) != -1) {
		if (opt == 'h') {
			cmd_usage(stdout, c);
			return -2;
		}
		if (opt == '?' || opt == ':') {
			const char *what = argv[optind - 1];
			if (opt == '?' && optopt && strncmp(what, "--", 2))
				cmd_error("%s: option '-%c' is not known", c->name, optopt);
			else if (opt == '?') {
				char hint[96];
				cmd_error("%s: option '%s' is not known%s", c->name, what,
				          option_hint(what, longopts ? longopts : help_only, hint, sizeof(hint)));
			} else
				cmd_error("%s: option '%s' needs a value", c->name, what);
			cmd_usage(stderr, c);
			return -1;
		}
		if (handle(arg, opt, optarg) < 0) {
			cmd_usage(stderr, c);
			return -1;
		}
	}
	return optind;
}

int cmd_parse_none(struct cmd_ctx *ctx, const struct command *self, int argc, char **argv)
{
	int first;

	(void) ctx;
	if ((first = cmd_getopt(self, argc, argv, "", NULL, NULL, NULL)) < 0)
		return CMD_GETOPT_FAILED(first);
	if (first < argc) {
		cmd_error("%s: too many arguments", self->name);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Length of the valid UTF-8 sequence at `s` (1-4), or 0 when not valid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0; /* overlong, or a surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

static int needs_quotes(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0 || *p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return 1;
		p += n;
	}
	return 0;
}

/* C-style quoting, as git does for unusual names. */
static void write_quoted(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(f, "\\%03o", *p);
			else
				fputc(*p, f);
		}
		p++;
	}
	fputc('"', f);
}

void out_path(FILE *f, const char *s)
{
	if (needs_quotes(s))
		write_quoted(f, s);
	else
		fputs(s, f);
}

const char *quote_path(struct quoted *q, const char *s)
{
	FILE *f = fmemopen(q->s, sizeof(q->s), "w");

	if (!f)
		return s;
	if (needs_quotes(s)) {
		write_quoted(f, s);
	} else {
		fputc('\'', f);
		fputs(s, f);
		fputc('\'', f);
	}
	fclose(f);
	q->s[sizeof(q->s) - 1] = '\0';
	return q->s;
}

void out_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0) {
			fprintf(f, "\\udc%02x", *p++);
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, f);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
		p++;
	}
	fputc('"', f);
}
