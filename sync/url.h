/*
 * Peer URLs (SPEC.md): a local path, `ssh://[USER@]HOST[:PORT]/PATH`,
 * scp-like `[USER@]HOST:PATH`, or `tls://HOST:PORT`.  Hosts may be IPv6
 * addresses in brackets.
 */
#ifndef MMSYNC_URL_H
#define MMSYNC_URL_H

enum url_kind { URL_LOCAL, URL_SSH, URL_TLS };

struct url {
	enum url_kind kind;
	char *user; /* ssh: NULL when not given */
	char *host; /* ssh, tls: without brackets */
	char *port; /* ssh: NULL when not given; tls: always */
	char *path; /* local, ssh: as given ("" never: "." for the remote home) */
};

/* Parses `s` into *u (free with url_dispose); MM_EINVAL with a message when malformed. */
int url_parse(struct url *u, const char *s);
void url_dispose(struct url *u);
/* HOST:PORT to listen on (port 0: any free one), as a URL_TLS. */
int url_parse_listen(struct url *u, const char *s);
/* 1 when `s` is written as a network URL (ssh or tls), not a local path. */
int url_is_remote(const char *s);

#endif
