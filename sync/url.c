/* Peer URLs: see url.h. */
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void url_dispose(struct url *u)
{
	free(u->user);
	free(u->host);
	free(u->port);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

static int parse_authority_port(struct url *u, const char *s, size_t n, int need_port, int zero_ok, const char *url);

/*
 * Where the host part of a scp-like "[USER@]HOST:PATH" ends (its ':'), or
 * NULL: HOST may be "[v6]", whose colons do not count.
 */
static const char *scp_colon(const char *s)
{
	const char *at = strchr(s, '@'), *h = s;

	if (at && at < s + strcspn(s, ":[/"))
		h = at + 1;
	if (*h == '[') {
		const char *close = strchr(h, ']');
		return close && close[1] == ':' ? close + 1 : NULL;
	}
	return strchr(h, ':');
}

/* The scp-like form: a host's ':' before any '/', and not a path that starts with '/' or '.'. */
static int scp_like(const char *s)
{
	const char *colon, *slash = strchr(s, '/'), *at = strchr(s, '@'), *h = s;

	if (s[0] == '/' || s[0] == '.' || s[0] == ':')
		return 0;
	if (at && at < s + strcspn(s, ":[/"))
		h = at + 1;
	if (!(colon = scp_colon(s)))
		/* "[::1:x": a bracketed host left open is a malformed URL, not a file name */
		return *h == '[' && strchr(h, ':') && (!slash || strchr(h, ':') < slash);
	return !slash || colon < slash;
}

int url_is_remote(const char *s)
{
	return !strncmp(s, "ssh://", 6) || !strncmp(s, "tls://", 6) || scp_like(s);
}

static int port_ok(const char *p, size_t n, int zero_ok)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char) p[i]))
			return 0;
		v = v * 10 + (unsigned long) (p[i] - '0');
	}
	return (v > 0 || zero_ok) && v < 65536;
}

static int host_ok(const char *h, size_t n)
{
	if (n == 0 || n > 255 || h[0] == '-')
		return 0; /* a host starting with '-' would be an option to ssh */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) h[i] <= ' ' || strchr("/@[]'\"\\", h[i]))
			return 0;
	return 1;
}

/*
 * Splits "[USER@]HOST[:PORT]" (HOST may be "[v6]") of length n into u;
 * `need_port`: the port must be given.
 */
static int parse_authority(struct url *u, const char *s, size_t n, int need_port, const char *url)
{
	return parse_authority_port(u, s, n, need_port, 0, url);
}

static int parse_authority_port(struct url *u, const char *s, size_t n, int need_port, int zero_ok, const char *url)
{
	const char *at = memchr(s, '@', n), *h, *end = s + n, *hend, *colon = NULL;

	if (at) {
		if (at == s || memchr(s, ':', (size_t) (at - s)))
			return mm_error_set(MM_EINVAL, "peer URL '%s': bad user name", url);
		u->user = strndup(s, (size_t) (at - s));
		s = at + 1;
	}
	h = s;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t) (end - h));
		if (!close)
			return mm_error_set(MM_EINVAL, "peer URL '%s': unclosed '[' in the host", url);
		h++;
		hend = close;
		if (close + 1 < end) {
			if (close[1] != ':')
				return mm_error_set(MM_EINVAL, "peer URL '%s': bad host", url);
			colon = close + 1;
		}
	} else {
		colon = memchr(h, ':', (size_t) (end - h));
		hend = colon ? colon : end;
	}
	if (!host_ok(h, (size_t) (hend - h)))
		return mm_error_set(MM_EINVAL, "peer URL '%s': bad host", url);
	u->host = strndup(h, (size_t) (hend - h));
	if (colon) {
		if (!port_ok(colon + 1, (size_t) (end - colon - 1), zero_ok))
			return mm_error_set(MM_EINVAL, "peer URL '%s': bad port", url);
		u->port = strndup(colon + 1, (size_t) (end - colon - 1));
	} else if (need_port) {
		return mm_error_set(MM_EINVAL, "peer URL '%s': a port is needed (tls://HOST:PORT)", url);
	}
	return 0;
}

static int parse(struct url *u, const char *s)
{
	if (!strncmp(s, "tls://", 6)) {
		size_t n = strlen(s + 6);
		u->kind = URL_TLS;
		if (n && s[6 + n - 1] == '/')
			n--;
		if (memchr(s + 6, '/', n) || memchr(s + 6, '@', n))
			return mm_error_set(MM_EINVAL, "peer URL '%s': a TLS URL is tls://HOST:PORT", s);
		return parse_authority(u, s + 6, n, 1, s);
	}
	if (!strncmp(s, "ssh://", 6)) {
		const char *slash = strchr(s + 6, '/');
		int err;
		u->kind = URL_SSH;
		if (!slash || !slash[1])
			return mm_error_set(MM_EINVAL, "peer URL '%s': no path (ssh://[USER@]HOST[:PORT]/PATH)", s);
		if ((err = parse_authority(u, s + 6, (size_t) (slash - s - 6), 0, s)) < 0)
			return err;
		/* "/~/x": x under the remote home (where ssh starts) */
		if (!strcmp(slash, "/~"))
			u->path = strdup(".");
		else if (!strncmp(slash, "/~/", 3))
			u->path = strdup(slash[3] ? slash + 3 : ".");
		else
			u->path = strdup(slash);
		return 0;
	}
	if (scp_like(s)) {
		/* as scp: "host:22:x" is the path "22:x" (a port needs ssh://HOST:PORT/PATH) */
		const char *colon = scp_colon(s);
		int err;
		u->kind = URL_SSH;
		if (!colon)
			return mm_error_set(MM_EINVAL, "peer URL '%s': unclosed '[' in the host", s);
		if ((err = parse_authority(u, s, (size_t) (colon - s), 0, s)) < 0)
			return err;
		u->path = strdup(colon[1] ? colon + 1 : ".");
		return 0;
	}
	u->kind = URL_LOCAL;
	if (!*s)
		return mm_error_set(MM_EINVAL, "empty peer URL");
	u->path = strdup(s);
	return 0;
}

int url_parse(struct url *u, const char *s)
{
	int err;

	memset(u, 0, sizeof(*u));
	if ((err = parse(u, s)) < 0) {
		url_dispose(u);
		return err;
	}
	if ((u->kind != URL_TLS && !u->path) || (u->kind != URL_LOCAL && !u->host) || (u->user && !*u->user)) {
		url_dispose(u);
		return mm_error_oom();
	}
	return 0;
}

int url_parse_listen(struct url *u, const char *s)
{
	int err;

	memset(u, 0, sizeof(*u));
	u->kind = URL_TLS;
	if (strchr(s, '@') || strchr(s, '/'))
		err = mm_error_set(MM_EINVAL, "'%s' is not HOST:PORT", s);
	else
		err = parse_authority_port(u, s, strlen(s), 1, 1, s);
	if (err == 0 && (!u->host || !u->port))
		err = mm_error_oom();
	if (err < 0)
		url_dispose(u);
	return err;
}
