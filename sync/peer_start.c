/* Starting peers: see peer_start.h. */
#include "peer_start.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bundle.h"
#include "conn.h"
#include "error.h"
#include "proto.h"
#include "replica.h"
#include "store.h"
#include "tls.h"
#include "url.h"
#include "vv/vv.h"

/* "peer 'LABEL': " before the message set last. */
static int with_label(int err, const char *label)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", mm_error_msg());
	return mm_error_set(err, "peer '%s': %s", label, msg);
}

/* Refuses a bundle made by `r` itself or for another replica. */
static int bundle_check(const struct bundle *b, struct replica *r, const char *label)
{
	const struct bundle_info *in = bundle_info(b);
	char name[REPLICA_NAME_MAX + 1] = "", id[VV_ID_TEXT];

	if (in->author_id == r->id)
		return mm_error_set(MM_ERROR,
		                    "bundle '%s' was made by this replica: apply it on another one; nothing "
		                    "changed",
		                    label);
	if (!in->target || in->target == r->id)
		return 0;
	vv_id_format(id, in->target);
	if (store_replica_name(r->store, in->target, name) < 0 || !name[0])
		return mm_error_set(MM_ERROR, "bundle '%s' was made for replica %s, not this one; nothing changed",
		                    label, id);
	return mm_error_set(MM_ERROR, "bundle '%s' was made for replica '%s' (%s), not this one; nothing changed",
	                    label, name, id);
}

/* bundle apply: checks the whole bundle, then forks the child that plays its author's side. */
static int start_bundle(struct transport *t, struct bundle **out, struct replica *r, const struct peer_start_opts *o)
{
	int sv[2], err;
	pid_t pid;

	/* the lock is ours: any unpacked bundle in .mmsync/ is a killed run's */
	bundle_clean(r);
	if ((err = bundle_read(out, o->url->path, r, NULL, NULL)) < 0)
		return err;
	if ((err = bundle_check(*out, r, o->label)) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot make a socket pair");
		goto fail;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		err = mm_error_errno(MM_EIO, errno, "cannot start a child process");
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		/* the author's side: reads only the checked files, never the store */
		close(sv[0]);
		err = bundle_serve(*out, sv[1]);
		if (err < 0 && !strstr(mm_error_msg(), "closed the connection") && o->on_bundle_error)
			o->on_bundle_error(o->arg, mm_error_msg());
		_exit(err < 0 ? PEER_CHILD_FAILED : 0);
	}
	close(sv[1]);
	transport_adopt(t, sv[0], pid);
	return 0;
fail:
	bundle_free(*out, 1);
	*out = NULL;
	return err;
}

/* Tells the TLS server why this client hangs up, so that its log says it too. */
static void tell_server(struct transport *t, const char *label, const char *msg)
{
	struct conn c;

	conn_init(&c, t->fd, t->fd, label);
	c.io = tls_io(t->tls);
	c.timeout_ms = 2000;
	proto_put_error(&c.out, msg);
	conn_flush(&c);
	conn_dispose(&c);
}

/* A TLS server must show the pinned certificate. */
static int check_pin(struct transport *t, struct replica *r, const struct peer_start_opts *o)
{
	const char *seen = tls_peer_fingerprint(t->tls);
	char mine[IDENTITY_FP_TEXT], msg[512];
	int err;

	if (o->pin[0] && !strcmp(seen, o->pin))
		return 0;
	if (replica_fingerprint(r, mine) < 0)
		snprintf(mine, sizeof(mine), "?");
	if (!o->pin[0]) {
		err = mm_error_set(MM_ERROR,
		                   "peer '%s': no fingerprint is pinned for this TLS server; it presented %s. "
		                   "Check that against 'mmsync id' on the server, then give it with --fingerprint, or "
		                   "pin it with 'mmsync peer add NAME %s --fingerprint %s'",
		                   o->label, seen, o->url_text, seen);
		snprintf(msg, sizeof(msg),
		         "client %s hung up: it has no fingerprint pinned for this server (it saw %s)", mine, seen);
	} else {
		err = mm_error_set(MM_ERROR,
		                   "peer '%s': the server's certificate %s does not match the pinned "
		                   "fingerprint %s; refusing to sync (if the server's replica was made anew, check "
		                   "'mmsync id' there and pin the new fingerprint)",
		                   o->label, seen, o->pin);
		snprintf(msg, sizeof(msg),
		         "client %s refused this server: its certificate %s does not match the "
		         "client's pin %s",
		         mine, seen, o->pin);
	}
	tell_server(t, o->label, msg);
	return err;
}

static int start_tls(struct transport *t, struct replica *r, const struct peer_start_opts *o, int64_t deadline)
{
	char key[PATH_MAX], cert[PATH_MAX];
	int err;

	snprintf(key, sizeof(key), "%s/key.pem", r->state);
	snprintf(cert, sizeof(cert), "%s/cert.pem", r->state);
	if ((err = transport_tls(t, o->url, key, cert, 60000, deadline)) < 0)
		return with_label(err, o->label);
	if ((err = check_pin(t, r, o)) < 0)
		transport_abort(t);
	return err;
}

int peer_start(struct transport *t, struct bundle **bundle, struct replica *r, const struct peer_start_opts *o,
               int64_t deadline)
{
	char exe[PATH_MAX];
	ssize_t n;
	int err;

	*bundle = NULL;
	if (o->is_bundle)
		return start_bundle(t, bundle, r, o);
	switch (o->url->kind) {
	case URL_LOCAL:
		if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
			return mm_error_errno(MM_EIO, errno, "cannot find my own program");
		exe[n] = '\0';
		err = transport_local(t, exe, o->url->path, o->quiet);
		break;
	case URL_SSH: err = transport_ssh(t, o->url, o->ssh); break;
	case URL_TLS:
	default: return start_tls(t, r, o, deadline);
	}
	return err < 0 ? with_label(err, o->label) : 0;
}
