/*
 * Unit tests for the network layers of sync/: peer URLs (url), ssh command
 * lines and diagnoses (transport), fingerprints (identity), the zstd stream
 * of a framed connection (conn_compress) and its deadline, mutual TLS (tls)
 * under a framed connection, and the config edits peers need (config).
 *
 * Peers that could block for ever run in child processes, which report
 * through their exit status; every wait has a limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "suites.h"
#include "sync/config.h"
#include "sync/conn.h"
#include "sync/error.h"
#include "sync/identity.h"
#include "sync/peer_start.h"
#include "sync/proto.h"
#include "sync/replica.h"
#include "sync/server.h"
#include "sync/session.h"
#include "sync/tls.h"
#include "sync/transport.h"
#include "sync/url.h"
#include "sync/wire.h"
#include "testutil.h"

#define REQUIRE_MSG(cond, ...)                                                                                         \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg(__VA_ARGS__);                                                                     \
	} while (0)

static const char *str_or_null(const char *s)
{
	return s ? s : "(null)";
}

static int str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Waits up to `ms` for `pid`; kills it and returns 0 when it is still running. */
static int wait_deadline(pid_t pid, int ms, int *status)
{
	struct timespec ts = {0, 5 * 1000 * 1000};

	for (int waited = 0; waited < ms; waited += 5) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 1;
		ck_assert_msg(w == 0, "waitpid: %s", strerror(errno));
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return 0;
}

static void socket_pair(int sv[2])
{
	ck_assert_msg(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
}

/* ---------------------------------------------------------------- url */

struct url_case {
	const char *in;
	enum url_kind kind;
	const char *user, *host, *port, *path;
};

/* Every failure of a table, reported together at its end. */
static char url_report[8192];

static void url_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void url_fail(const char *fmt, ...)
{
	size_t n = strlen(url_report);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(url_report + n, sizeof(url_report) - n, fmt, ap);
	va_end(ap);
	n = strlen(url_report);
	snprintf(url_report + n, sizeof(url_report) - n, "; ");
}

static void url_report_check(void)
{
	ck_assert_msg(url_report[0] == '\0', "%s", url_report);
}

static void check_url(const struct url_case *c)
{
	struct url u;
	int rc = url_parse(&u, c->in);

	if (rc != 0) {
		url_fail("url_parse('%s') returned %d: %s", c->in, rc, mm_error_msg());
		return;
	}
	if (!(u.kind == c->kind && str_same(u.user, c->user) && str_same(u.host, c->host) &&
	      str_same(u.port, c->port) && str_same(u.path, c->path)))
		url_fail("url_parse('%s'): kind %d user %s host %s port %s path %s; want kind %d user %s host %s port "
		         "%s "
		         "path %s",
		         c->in, (int) u.kind, str_or_null(u.user), str_or_null(u.host), str_or_null(u.port),
		         str_or_null(u.path), (int) c->kind, str_or_null(c->user), str_or_null(c->host),
		         str_or_null(c->port), str_or_null(c->path));
	if (url_is_remote(c->in) != (c->kind != URL_LOCAL))
		url_fail("url_is_remote('%s') = %d", c->in, url_is_remote(c->in));
	url_dispose(&u);
	ck_assert_ptr_null(u.host);
	ck_assert_ptr_null(u.path);
}

START_TEST(test_url_local)
{
	static const struct url_case cases[] = {
	        {"/srv/data", URL_LOCAL, NULL, NULL, NULL, "/srv/data"},
	        {"relative/dir", URL_LOCAL, NULL, NULL, NULL, "relative/dir"},
	        {"plain", URL_LOCAL, NULL, NULL, NULL, "plain"},
	        {".", URL_LOCAL, NULL, NULL, NULL, "."},
	        {"./host:path", URL_LOCAL, NULL, NULL, NULL, "./host:path"},
	        {"../a:b", URL_LOCAL, NULL, NULL, NULL, "../a:b"},
	        {"/abs/host:path", URL_LOCAL, NULL, NULL, NULL, "/abs/host:path"},
	        {"dir/sub:x", URL_LOCAL, NULL, NULL, NULL, "dir/sub:x"},
	        {":x", URL_LOCAL, NULL, NULL, NULL, ":x"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_url(&cases[i]);
	url_report_check();
}
END_TEST

START_TEST(test_url_ssh)
{
	static const struct url_case cases[] = {
	        {"ssh://example.org/srv/data", URL_SSH, NULL, "example.org", NULL, "/srv/data"},
	        {"ssh://alice@example.org:2222/srv/data", URL_SSH, "alice", "example.org", "2222", "/srv/data"},
	        {"ssh://h:1/p", URL_SSH, NULL, "h", "1", "/p"},
	        {"ssh://h:65535/p", URL_SSH, NULL, "h", "65535", "/p"},
	        {"ssh://h/~/docs/x", URL_SSH, NULL, "h", NULL, "docs/x"},
	        {"ssh://bob@h/~/docs", URL_SSH, "bob", "h", NULL, "docs"},
	        {"ssh://h/~", URL_SSH, NULL, "h", NULL, "."},
	        {"ssh://h/~/", URL_SSH, NULL, "h", NULL, "."},
	        {"ssh://[::1]:22/x", URL_SSH, NULL, "::1", "22", "/x"},
	        {"ssh://[::1]/x", URL_SSH, NULL, "::1", NULL, "/x"},
	        {"ssh://bob@[2001:db8::7]/p/q", URL_SSH, "bob", "2001:db8::7", NULL, "/p/q"},
	        {"ssh://10.0.0.1/p", URL_SSH, NULL, "10.0.0.1", NULL, "/p"},
	        /* scp-like */
	        {"example.org:docs", URL_SSH, NULL, "example.org", NULL, "docs"},
	        {"alice@example.org:/srv/data", URL_SSH, "alice", "example.org", NULL, "/srv/data"},
	        {"host:", URL_SSH, NULL, "host", NULL, "."},
	        {"host:a/b:c", URL_SSH, NULL, "host", NULL, "a/b:c"},
	        {"[::1]:dir", URL_SSH, NULL, "::1", NULL, "dir"},
	        {"[::1]:/abs/p", URL_SSH, NULL, "::1", NULL, "/abs/p"},
	        /* as scp: what follows the host's colon is the path, colons and all */
	        {"host:22:path", URL_SSH, NULL, "host", NULL, "22:path"},
	        {"alice@host:22:/srv", URL_SSH, "alice", "host", NULL, "22:/srv"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_url(&cases[i]);
	url_report_check();
}
END_TEST

/* The scp-like form with a user and an IPv6 host: both are allowed by url.h, together too. */
START_TEST(test_url_scp_user_ipv6)
{
	static const struct url_case cases[] = {
	        {"alice@[::1]:dir", URL_SSH, "alice", "::1", NULL, "dir"},
	        {"alice@[2001:db8::7]:/srv", URL_SSH, "alice", "2001:db8::7", NULL, "/srv"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_url(&cases[i]);
	url_report_check();
}
END_TEST

START_TEST(test_url_tls)
{
	static const struct url_case cases[] = {
	        {"tls://example.org:443", URL_TLS, NULL, "example.org", "443", NULL},
	        {"tls://example.org:443/", URL_TLS, NULL, "example.org", "443", NULL},
	        {"tls://[::1]:8443", URL_TLS, NULL, "::1", "8443", NULL},
	        {"tls://10.0.0.1:1", URL_TLS, NULL, "10.0.0.1", "1", NULL},
	        {"tls://h:65535", URL_TLS, NULL, "h", "65535", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_url(&cases[i]);
	url_report_check();
}
END_TEST

START_TEST(test_url_rejected)
{
	static const char *const bad[] = {
	        "",
	        /* ports */
	        "ssh://h:0/p",
	        "ssh://h:65536/p",
	        "ssh://h:99999/p",
	        "ssh://h:123456/p",
	        "ssh://h:abc/p",
	        "ssh://h:22a/p",
	        "ssh://h:/p",
	        "ssh://h:-1/p",
	        "ssh://[::1]:0/p",
	        "tls://h:0",
	        "tls://h:65536",
	        "tls://h:x",
	        "tls://h:",
	        /* hosts */
	        "ssh:///p",
	        "ssh://:22/p",
	        "ssh://alice@/p",
	        "ssh://-oProxyCommand=x/p",
	        "ssh://h o/p",
	        "ssh://[::1/p",
	        "ssh://[::1]x/p",
	        "ssh://[]/p",
	        "tls://:443",
	        "tls://-h:443",
	        "tls://[::1]",
	        "tls://[::1",
	        "-h:path",
	        "-oProxyCommand=x:path",
	        "alice@-h:path",
	        "[::1]x:path",
	        "[]:path",
	        /* users */
	        "ssh://@h/p",
	        "ssh://a:b@h/p",
	        "@h:path",
	        "tls://u@h:443",
	        /* shapes */
	        "ssh://h",
	        "ssh://h/",
	        "ssh://alice@h:22",
	        "tls://h",
	        "tls://h:443/path",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct url u;
		int rc;
		mm_error_clear();
		rc = url_parse(&u, bad[i]);
		if (rc != MM_EINVAL) {
			url_fail("url_parse('%s') returned %d (user %s, host %s, port %s, path %s), want MM_EINVAL",
			         bad[i], rc, rc == 0 ? str_or_null(u.user) : "-", rc == 0 ? str_or_null(u.host) : "-",
			         rc == 0 ? str_or_null(u.port) : "-", rc == 0 ? str_or_null(u.path) : "-");
			if (rc == 0)
				url_dispose(&u);
			continue;
		}
		ck_assert_msg(u.user == NULL && u.host == NULL && u.port == NULL && u.path == NULL,
		              "url_parse('%s') failed but left fields set", bad[i]);
		ck_assert_msg(*bad[i] ? tu_contains(mm_error_msg(), bad[i]) : tu_contains(mm_error_msg(), "empty"),
		              "url_parse('%s'): message '%s' does not name the URL", bad[i], mm_error_msg());
	}
	url_report_check();
}
END_TEST

/* An unclosed '[' in the scp-like form is refused, not a crash. */
START_TEST(test_url_scp_unclosed_bracket)
{
	static const char *const bad[] = {"[::1:path", "[host:path", "alice@[::1:dir"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct url u;
		int rc = url_parse(&u, bad[i]);
		if (rc == 0)
			url_dispose(&u);
		ck_assert_msg(rc == MM_EINVAL, "url_parse('%s') returned %d", bad[i], rc);
	}
}
END_TEST

START_TEST(test_url_is_remote)
{
	static const char *const remote[] = {"ssh://h/p", "tls://h:1", "h:p",    "alice@h:p",
	                                     "[::1]:p",   "h:",        "ssh://", "tls://"};
	static const char *const local[] = {"/a/b", "/a:b", "./a:b", "../a:b", "a/b:c", "plain", ":x", "", ".", "a/b"};

	for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		ck_assert_msg(url_is_remote(remote[i]) == 1, "url_is_remote('%s') = %d", remote[i],
		              url_is_remote(remote[i]));
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		ck_assert_msg(url_is_remote(local[i]) == 0, "url_is_remote('%s') = %d", local[i],
		              url_is_remote(local[i]));
}
END_TEST

START_TEST(test_url_listen)
{
	static const struct url_case good[] = {
	        {"0.0.0.0:0", URL_TLS, NULL, "0.0.0.0", "0", NULL},
	        {"localhost:8443", URL_TLS, NULL, "localhost", "8443", NULL},
	        {"[::]:0", URL_TLS, NULL, "::", "0", NULL},
	        {"[::1]:65535", URL_TLS, NULL, "::1", "65535", NULL},
	};
	static const char *const bad[] = {"localhost", "localhost:", ":8443", "h:65536", "h:-1", "h:x",      "u@h:1",
	                                  "h:1/",      "-h:1",       "[::1]", "[::1",    "",     "tls://h:1"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct url u;
		int rc = url_parse_listen(&u, good[i].in);
		ck_assert_msg(rc == 0, "url_parse_listen('%s') returned %d: %s", good[i].in, rc, mm_error_msg());
		ck_assert_msg(u.kind == URL_TLS && str_same(u.host, good[i].host) && str_same(u.port, good[i].port) &&
		                      !u.user && !u.path,
		              "url_parse_listen('%s'): host %s port %s", good[i].in, str_or_null(u.host),
		              str_or_null(u.port));
		url_dispose(&u);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct url u;
		int rc = url_parse_listen(&u, bad[i]);
		ck_assert_msg(rc == MM_EINVAL, "url_parse_listen('%s') returned %d (host %s port %s)", bad[i], rc,
		              rc == 0 ? str_or_null(u.host) : "-", rc == 0 ? str_or_null(u.port) : "-");
		ck_assert_msg(!u.host && !u.port, "url_parse_listen('%s') failed but left fields set", bad[i]);
	}
}
END_TEST

/* ---------------------------------------------------------------- transport_split */

static void check_split(const char *in, const char *const *want, size_t nwant)
{
	char **argv = NULL;
	size_t argc = 99;
	int rc = transport_split(in, &argv, &argc);

	ck_assert_msg(rc == 0, "transport_split(%s) returned %d: %s", in, rc, mm_error_msg());
	ck_assert_msg(argc == nwant, "transport_split(%s): %zu words, want %zu", in, argc, nwant);
	for (size_t i = 0; i < nwant; i++)
		ck_assert_msg(!strcmp(argv[i], want[i]), "transport_split(%s): word %zu is [%s], want [%s]", in, i,
		              argv[i], want[i]);
	ck_assert_msg(argv[argc] == NULL, "transport_split(%s): argv not NULL-ended", in);
	transport_split_free(argv);
}

#define SPLIT(in, ...)                                                                                                 \
	do {                                                                                                           \
		static const char *const w_[] = {__VA_ARGS__};                                                         \
		check_split(in, w_, sizeof(w_) / sizeof(w_[0]));                                                       \
	} while (0)

START_TEST(test_split_words)
{
	SPLIT("ssh", "ssh");
	SPLIT("  ssh  -p   2222 ", "ssh", "-p", "2222");
	SPLIT("ssh\t-v\n-4", "ssh", "-v", "-4");
	SPLIT("ssh -o 'StrictHostKeyChecking no'", "ssh", "-o", "StrictHostKeyChecking no");
	SPLIT("ssh -i \"/path with space/key\"", "ssh", "-i", "/path with space/key");
	SPLIT("a\\ b c", "a b", "c");
	SPLIT("'it'\\''s'", "it's");
	SPLIT("x''y", "xy");
	SPLIT("a '' b", "a", "", "b");
	SPLIT("\"\"", "");
	SPLIT("\"a\\\"b\"", "a\"b");
	SPLIT("\"a\\\\b\"", "a\\b");
	SPLIT("\"\\$HOME\"", "$HOME");
	SPLIT("\"a\\nb\"", "a\\nb"); /* inside double quotes a backslash before another letter stays */
	SPLIT("'a\\b'", "a\\b");     /* nothing is special inside single quotes */
	SPLIT("'a\"b' \"c'd\"", "a\"b", "c'd");
	SPLIT("pre'mid dle'\"post x\"", "premid dlepost x");
	SPLIT("$HOME ~ *", "$HOME", "~", "*"); /* no expansions */
	SPLIT("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
	      "11", "12", "13", "14", "15", "16", "17", "18", "19", "20");
}
END_TEST

START_TEST(test_split_errors)
{
	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
	        {"", "empty"},
	        {"   \t\n ", "empty"},
	        {"ssh 'oops", "unterminated"},
	        {"ssh \"oops", "unterminated"},
	        {"ssh \"a\\\"", "unterminated"},
	        {"'", "unterminated"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv = (char **) 1;
		size_t argc = 99;
		int rc = transport_split(bad[i].in, &argv, &argc);
		ck_assert_msg(rc == MM_EINVAL, "transport_split([%s]) returned %d", bad[i].in, rc);
		ck_assert_msg(argv == NULL && argc == 0, "transport_split([%s]) failed but set its outputs", bad[i].in);
		ck_assert_msg(tu_contains(mm_error_msg(), bad[i].msg), "transport_split([%s]): message '%s'", bad[i].in,
		              mm_error_msg());
	}
	transport_split_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- transport_ssh_diagnose */

/* The diagnosis of an ssh session to `url` that wrote `tail` to its stderr and exited with `status`. */
static const char *diagnose(const char *url, const char *program, const char *tail, int status, char *buf, size_t n)
{
	struct transport t = TRANSPORT_INIT;
	struct ssh_opts o;
	struct url u;
	const char *r;

	memset(&o, 0, sizeof(o));
	o.program = program;
	TU_OK(url_parse(&u, url));
	snprintf(t.tail, sizeof(t.tail), "%s", tail);
	t.tail_len = strlen(t.tail);
	memset(buf, 'x', n);
	r = transport_ssh_diagnose(&t, &u, &o, status, buf, n);
	url_dispose(&u);
	ck_assert_msg(r == NULL || r == buf, "transport_ssh_diagnose returned neither NULL nor buf");
	return r;
}

START_TEST(test_diagnose)
{
	static const struct {
		const char *url, *program, *tail;
		int status;
		const char *want[3]; /* NULL: no diagnosis */
	} cases[] = {
	        {"ssh://alice@example.org:2222/p",
	         NULL,
	         "ssh: connect to host example.org port 2222: Connection refused\r\n",
	         255,
	         {"cannot reach host 'example.org'", "port 2222", NULL}},
	        {"example.org:p",
	         NULL,
	         "ssh: connect to host example.org port 22: Connection timed out\r\n",
	         255,
	         {"cannot reach host 'example.org'", NULL, NULL}},
	        {"example.org:p",
	         NULL,
	         "ssh: connect to host example.org port 22: No route to host\r\n",
	         255,
	         {"cannot reach host 'example.org'", NULL, NULL}},
	        {"ssh://example.org/p",
	         NULL,
	         "ssh: Could not resolve hostname example.org: Name or service not known\r\n",
	         255,
	         {"cannot reach host 'example.org'", "no such host", NULL}},
	        {"ssh://alice@example.org/p",
	         NULL,
	         "alice@example.org: Permission denied (publickey,password).\r\n",
	         255,
	         {"authentication refused by host 'example.org'", "for user alice", NULL}},
	        {"example.org:p",
	         NULL,
	         "Host key verification failed.\r\n",
	         255,
	         {"host key of 'example.org'", "known_hosts", NULL}},
	        {"example.org:p", NULL, "", 127, {"no mmsync at 'mmsync' on host 'example.org'", NULL, NULL}},
	        {"example.org:p", NULL, "bash: line 1: mmsync: command not found\n", 127, {"no mmsync", NULL, NULL}},
	        {"example.org:p",
	         "/opt/mm/bin/mmsync",
	         "bash: /opt/mm/bin/mmsync: No such file or directory\n",
	         127,
	         {"no mmsync at '/opt/mm/bin/mmsync'", NULL, NULL}},
	        {"example.org:p", NULL, "", 255, {"host 'example.org'", "255", NULL}},
	        {"example.org:p", NULL, "", 0, {NULL, NULL, NULL}},
	        {"example.org:p", NULL, "some unrelated output\n", 1, {NULL, NULL, NULL}},
	        {"example.org:p", NULL, "", 2, {NULL, NULL, NULL}},
	        {"example.org:p", NULL, "error: no replica at 'p'\n", 1, {NULL, NULL, NULL}},
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r =
		        diagnose(cases[i].url, cases[i].program, cases[i].tail, cases[i].status, buf, sizeof(buf));
		if (!cases[i].want[0]) {
			ck_assert_msg(r == NULL, "case %zu (status %d, [%s]): diagnosed '%s', want none", i,
			              cases[i].status, cases[i].tail, r);
			continue;
		}
		ck_assert_msg(r != NULL, "case %zu (status %d, [%s]): no diagnosis", i, cases[i].status, cases[i].tail);
		for (int k = 0; k < 3 && cases[i].want[k]; k++)
			ck_assert_msg(tu_contains(r, cases[i].want[k]), "case %zu: diagnosis '%s' lacks '%s'", i, r,
			              cases[i].want[k]);
	}
	/* no user in the URL: none named */
	ck_assert(!tu_contains(diagnose("h:p", NULL, "Permission denied (publickey).", 255, buf, sizeof(buf)),
	                       "for user"));
	/* a small buffer gets a truncated, terminated message */
	ck_assert_ptr_nonnull(diagnose("h:p", NULL, "", 255, buf, 8));
	ck_assert_uint_eq(strlen(buf), 7);
}
END_TEST

/*
 * A far-side program that is not executable: the shell says "PROG:
 * Permission denied" and exits 126.  That is "no mmsync", not an ssh
 * authentication failure (which ends with status 255).
 */
START_TEST(test_diagnose_not_executable)
{
	char buf[512];
	const char *r = diagnose("ssh://alice@example.org/p", "/opt/mmsync",
	                         "bash: line 1: /opt/mmsync: Permission denied\n", 126, buf, sizeof(buf));

	ck_assert_msg(r != NULL, "no diagnosis");
	ck_assert_msg(tu_contains(r, "no mmsync at '/opt/mmsync'"), "diagnosis: '%s'", r);
}
END_TEST

/* ---------------------------------------------------------------- identity */

#define HEX64       "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"
#define HEX64_UPPER "00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210"
#define HEX64_PAIRS "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:01:23:45:67:89:ab:cd:ef:fe:dc:ba:98:76:54:32:10"
#define HEX64_PAIRS_UPPER                                                                                              \
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10"

START_TEST(test_fp_parse)
{
	static const char *const good[] = {
	        "SHA256:" HEX64, HEX64,       "sha256:" HEX64,       "Sha256:" HEX64,   "SHA256:" HEX64_UPPER,
	        HEX64_UPPER,     HEX64_PAIRS, "SHA256:" HEX64_PAIRS, HEX64_PAIRS_UPPER, "SHA256:" HEX64_PAIRS_UPPER,
	};
	static const char *const bad[] = {
	        "",
	        "SHA256:",
	        "SHA256",
	        "SHA256:" HEX64 "0",                                                       /* 65 digits */
	        "SHA256:00112233445566778899aabbccddeeff0123456789abcdeffedcba987654321",  /* 63 */
	        "SHA256:0011223344556677889gaabbccddeeff0123456789abcdeffedcba9876543210", /* a 'g' */
	        "SHA256:00112233445566778899aabbccddeeff 0123456789abcdeffedcba98765432",  /* a space */
	        " SHA256:" HEX64,
	        "SHA256:" HEX64 " ",
	        "SHA256:" HEX64 "\n",
	        "SHA1:" HEX64,
	        "SHA256:SHA256:" HEX64,
	        "SHA256: " HEX64,
	        HEX64_PAIRS ":",
	        ":" HEX64_PAIRS,
	        "0:0112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210", /* ':' inside a pair */
	        "0x" HEX64,
	        "SHA256:" HEX64_PAIRS "00",
	};
	char out[IDENTITY_FP_TEXT];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(out, 'z', sizeof(out));
		int rc = identity_parse_fingerprint(out, good[i]);
		ck_assert_msg(rc == 0, "identity_parse_fingerprint('%s') returned %d: %s", good[i], rc, mm_error_msg());
		ck_assert_msg(memchr(out, '\0', sizeof(out)) != NULL && !strcmp(out, "SHA256:" HEX64),
		              "identity_parse_fingerprint('%s') gave '%.*s'", good[i], (int) sizeof(out), out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = identity_parse_fingerprint(out, bad[i]);
		ck_assert_msg(rc == MM_EINVAL, "identity_parse_fingerprint('%s') returned %d", bad[i], rc);
		ck_assert_msg(tu_contains(mm_error_msg(), "not a certificate fingerprint"), "message: %s",
		              mm_error_msg());
	}
}
END_TEST

/* Pairs "optionally separated by ':'": two colons in a row are not that. */
START_TEST(test_fp_parse_double_colon)
{
	char out[IDENTITY_FP_TEXT];
	const char *in =
	        "00::11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:01:23:45:67:89:ab:cd:ef:fe:dc:ba:98:76:54:32:10";

	ck_assert_msg(identity_parse_fingerprint(out, in) == MM_EINVAL, "'%s' was accepted as '%s'", in, out);
}
END_TEST

struct ident {
	char *dir, *key, *cert;
	char fp[IDENTITY_FP_TEXT];
};

static void ident_new(struct ident *d, const char *dir, const char *name, uint64_t id)
{
	char rel[64];

	d->dir = NULL;
	snprintf(rel, sizeof(rel), "%s.key", name);
	d->key = tu_path(dir, rel);
	snprintf(rel, sizeof(rel), "%s.crt", name);
	d->cert = tu_path(dir, rel);
	TU_OK(identity_create(d->key, d->cert, id));
	TU_OK(identity_fingerprint(d->fp, d->cert));
}

static void ident_free(struct ident *d)
{
	free(d->key);
	free(d->cert);
}

START_TEST(test_fp_of_certificate)
{
	char *dir = tu_mkdtemp(), fp2[IDENTITY_FP_TEXT], want[IDENTITY_FP_TEXT], canon[IDENTITY_FP_TEXT];
	struct ident a, b;
	struct stat sb;
	uint8_t md[32];
	unsigned char *der = NULL;
	int n;
	X509 *x;
	FILE *f;

	ident_new(&a, dir, "a", 0x1234);
	ident_new(&b, dir, "b", 0x1234);
	ck_assert_int_eq(stat(a.key, &sb), 0);
	ck_assert_msg((sb.st_mode & 07777) == 0600, "key mode %o", (unsigned) (sb.st_mode & 07777));
	ck_assert_uint_eq(strlen(a.fp), IDENTITY_FP_TEXT - 1);
	ck_assert_msg(!strncmp(a.fp, "SHA256:", 7), "fingerprint '%s'", a.fp);
	ck_assert_str_ne(a.fp, b.fp); /* a new key each time */

	/* identity_cert_fingerprint agrees with identity_fingerprint, and with a SHA-256 of the DER computed here */
	ck_assert_ptr_nonnull(f = fopen(a.cert, "r"));
	ck_assert_ptr_nonnull(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	TU_OK(identity_cert_fingerprint(fp2, x));
	ck_assert_str_eq(fp2, a.fp);
	ck_assert_int_gt(n = i2d_X509(x, &der), 0);
	tu_sha256(md, der, (size_t) n);
	memcpy(want, "SHA256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
	ck_assert_str_eq(a.fp, want);
	OPENSSL_free(der);
	X509_free(x);
	TU_OK(identity_parse_fingerprint(canon, a.fp));
	ck_assert_str_eq(canon, a.fp);

	/* neither file may exist yet: the identity stays as it was */
	ck_assert_int_lt(identity_create(a.key, a.cert, 0x1234), 0);
	TU_OK(identity_fingerprint(fp2, a.cert));
	ck_assert_str_eq(fp2, a.fp);
	/* not a certificate */
	ck_assert_int_lt(identity_fingerprint(fp2, a.key), 0);
	tu_write_str(dir, "junk.crt", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
	{
		char *junk = tu_path(dir, "junk.crt"), *none = tu_path(dir, "none.crt");
		ck_assert_int_lt(identity_fingerprint(fp2, junk), 0);
		ck_assert_int_eq(identity_fingerprint(fp2, none), MM_EIO);
		ck_assert_msg(tu_contains(mm_error_msg(), "none.crt"), "message: %s", mm_error_msg());
		free(junk);
		free(none);
	}
	ident_free(&a);
	ident_free(&b);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* ---------------------------------------------------------------- frames both ways, for conn and tls */

#define ECHO_FRAMES 34
#define ECHO_FIXED  16

static size_t echo_size(unsigned i)
{
	static const size_t fixed[ECHO_FIXED] = {0,
	                                         1,
	                                         2,
	                                         3,
	                                         100,
	                                         4095,
	                                         4096,
	                                         65535,
	                                         65536,
	                                         131071,
	                                         262143,
	                                         262144,
	                                         262145,
	                                         500000,
	                                         PROTO_MAX_FRAME - 2,
	                                         PROTO_MAX_FRAME - 1};
	uint32_t x = 0x9e3779b9u * (i + 1);

	if (i < ECHO_FIXED)
		return fixed[i];
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x % PROTO_MAX_FRAME; /* type + payload <= PROTO_MAX_FRAME */
}

/* Frame i's payload: text (compressible) for one frame in three, noise for the others. */
static void echo_fill(uint8_t *p, size_t n, unsigned i)
{
	static const char text[] = "the quick brown fox jumps over the lazy dog; ";
	uint32_t x = 0x2545f491u * (i + 7);

	for (size_t k = 0; k < n; k++) {
		if (i % 3 == 0) {
			p[k] = (uint8_t) text[(k + i) % (sizeof(text) - 1)];
			continue;
		}
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[k] = (uint8_t) (x >> 7);
	}
}

static uint8_t echo_type(unsigned i)
{
	return i % 2 ? MSG_DATA : MSG_ROW;
}

/*
 * The peer that echoes (in a child: exit status 0 when all went well).  It
 * sends a banner first (so that each side has read something before it
 * compresses: see test_compress_before_any_read).  Mode 0: no compression;
 * 1: it answers the hello uncompressed, then both compress; 2: the other
 * side compresses right after its hello, so the compressed stream may be
 * read ahead with it, and the answer to the hello is the first compressed
 * frame.  The answer to the hello is `hello`.
 */
static int echo_serve(int fd, const struct conn_io *io, int mode, const char *hello)
{
	struct conn c;
	const uint8_t *p;
	size_t len;
	int type;

	conn_init(&c, fd, fd, "client");
	c.io = io;
	c.timeout_ms = 10000;
	proto_put_raw(&c.out, MSG_REPLICA, "banner", 6);
	if (conn_recv(&c, &type, &p, &len) < 0)
		return 21;
	if (type != MSG_HELLO)
		return 22;
	if (mode == 2 && conn_compress(&c, 3) < 0)
		return 23;
	proto_put_raw(&c.out, MSG_HELLO, hello, strlen(hello));
	if (mode == 1 && (conn_flush(&c) < 0 || conn_compress(&c, 3) < 0))
		return 24;
	for (;;) {
		if (conn_recv(&c, &type, &p, &len) < 0)
			return 25;
		proto_put_raw(&c.out, (uint8_t) type, p, len);
		if (conn_flush_over(&c, 256 * 1024) < 0)
			return 26;
		if (type == MSG_BYE)
			break;
	}
	if (conn_flush(&c) < 0)
		return 27;
	conn_dispose(&c);
	return 0;
}

static const char *echo_status(int status)
{
	static char buf[128];

	if (WIFSIGNALED(status)) {
		snprintf(buf, sizeof(buf), "killed by signal %d", WTERMSIG(status));
		return buf;
	}
	switch (WEXITSTATUS(status)) {
	case 0: return "ok";
	case 21: return "conn_recv of the hello failed";
	case 22: return "the first frame was not a hello";
	case 23:
	case 24: return "conn_compress failed";
	case 25: return "conn_recv of a frame failed";
	case 26:
	case 27: return "conn_flush failed";
	case 30: return "tls_open (server) failed";
	default: snprintf(buf, sizeof(buf), "exit status %d", WEXITSTATUS(status)); return buf;
	}
}

/* The side that sends ECHO_FRAMES frames then BYE, and checks what comes back; `hello`: the answer expected. */
static void echo_run(struct conn *c, int mode, const char *hello)
{
	uint8_t *want = malloc(PROTO_MAX_FRAME);
	const uint8_t *p;
	size_t len;
	uint64_t out0, in0, wire = 0;
	int type;

	ck_assert_ptr_nonnull(want);
	TU_OK(conn_expect(c, MSG_REPLICA, &p, &len));
	ck_assert_msg(len == 6 && !memcmp(p, "banner", 6), "banner: %zu bytes", len);
	proto_put_raw(&c->out, MSG_HELLO, "hello", 5);
	TU_OK(conn_flush(c));
	if (mode == 2) {
		TU_OK(conn_compress(c, 3));
	} else {
		TU_OK(conn_expect(c, MSG_HELLO, &p, &len));
		ck_assert_msg(len == strlen(hello) && !memcmp(p, hello, len), "hello answered with '%.*s', want '%s'",
		              (int) len, (const char *) p, hello);
		if (mode == 1)
			TU_OK(conn_compress(c, 3));
	}
	out0 = c->bytes_out;
	in0 = c->bytes_in;
	for (unsigned i = 0; i < ECHO_FRAMES; i++) {
		size_t n = echo_size(i);
		echo_fill(want, n, i);
		proto_put_raw(&c->out, echo_type(i), want, n);
		wire += n + 5;
		TU_OK(conn_flush_over(c, 256 * 1024));
	}
	proto_put_raw(&c->out, MSG_BYE, NULL, 0);
	wire += 5;
	TU_OK(conn_flush(c));
	if (mode == 2) {
		TU_OK(conn_expect(c, MSG_HELLO, &p, &len));
		ck_assert_msg(len == strlen(hello) && !memcmp(p, hello, len), "hello answered with '%.*s', want '%s'",
		              (int) len, (const char *) p, hello);
	}
	for (unsigned i = 0; i < ECHO_FRAMES; i++) {
		size_t n = echo_size(i);
		int rc = conn_recv(c, &type, &p, &len);
		REQUIRE_MSG(rc == 0, "mode %d: frame %u (%zu bytes) did not come back: %s", mode, i, n, mm_error_msg());
		echo_fill(want, n, i);
		REQUIRE_MSG(type == echo_type(i) && len == n && !memcmp(p, want, n),
		            "mode %d: frame %u came back with type %d and %zu bytes, want type %d and %zu bytes%s",
		            mode, i, type, len, echo_type(i), n, len == n ? " (content differs)" : "");
	}
	TU_OK(conn_expect(c, MSG_BYE, &p, &len));
	if (mode == 0) {
		ck_assert_uint_eq(c->bytes_out - out0, wire);
		ck_assert_uint_eq(c->bytes_in - in0, wire);
	} else {
		/* two frames in three are noise: the stream is about as long as the payload, never much longer */
		ck_assert_msg(c->bytes_out - out0 < wire, "compressed: %llu bytes out for %llu of frames",
		              (unsigned long long) (c->bytes_out - out0), (unsigned long long) wire);
	}
	free(want);
}

/* ---------------------------------------------------------------- conn_compress */

static void conn_pair(struct conn *a, struct conn *b, int sv[2])
{
	socket_pair(sv);
	/* each conn names the other side */
	TU_OK(conn_init(a, sv[0], sv[0], "peer-b"));
	TU_OK(conn_init(b, sv[1], sv[1], "peer-a"));
	a->timeout_ms = 3000; /* a hang is a failure */
	b->timeout_ms = 3000;
}

static void conn_pair_close(struct conn *a, struct conn *b, int sv[2])
{
	conn_dispose(a);
	conn_dispose(b);
	close(sv[0]);
	close(sv[1]);
}

/* Frames of varied sizes up to the largest, both ways, through a peer in a child process. */
START_TEST(test_compress_echo)
{
	struct conn c;
	int sv[2], status;
	pid_t pid;

	socket_pair(sv);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(echo_serve(sv[1], NULL, _i, "plain"));
	}
	close(sv[1]);
	TU_OK(conn_init(&c, sv[0], sv[0], "echo"));
	c.timeout_ms = 10000;
	echo_run(&c, _i, "plain");
	conn_dispose(&c);
	close(sv[0]);
	ck_assert_msg(wait_deadline(pid, 10000, &status), "the echo peer was still running after 10 s");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "echo peer: %s", echo_status(status));
}
END_TEST

static void send_frame(struct conn *c, uint8_t type, const void *p, size_t n)
{
	proto_put_raw(&c->out, type, p, n);
	TU_OK(conn_flush(c));
}

static void expect_frame(struct conn *c, int want_type, const void *want, size_t n, const char *what)
{
	const uint8_t *p;
	size_t len;
	int type, rc = conn_recv(c, &type, &p, &len);

	ck_assert_msg(rc == 0, "%s: conn_recv returned %d: %s", what, rc, mm_error_msg());
	ck_assert_msg(type == want_type && len == n && (n == 0 || !memcmp(p, want, n)),
	              "%s: type %d, %zu bytes; want type %d, %zu bytes", what, type, len, want_type, n);
}

/*
 * The compressed stream is read ahead with the last uncompressed frame: it
 * is decompressed once the reader switches.  Then both ways, and a large
 * compressible frame costs few bytes on the wire.
 */
START_TEST(test_compress_read_ahead)
{
	static const size_t sizes[] = {1, 0, 7, 1000, 5000, 20000, 3};
	struct conn a, b;
	int sv[2];
	uint8_t *buf = malloc(600000);
	uint64_t out0, in0;
	char what[64];

	ck_assert_ptr_nonnull(buf);
	conn_pair(&a, &b, sv);
	send_frame(&b, MSG_REPLICA, "b", 1);
	expect_frame(&a, MSG_REPLICA, "b", 1, "greeting");
	send_frame(&a, MSG_HELLO, "hi", 2);
	TU_OK(conn_compress(&a, 3));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		echo_fill(buf, sizes[i], (unsigned) i);
		proto_put_raw(&a.out, MSG_DATA, buf, sizes[i]);
	}
	TU_OK(conn_flush(&a));
	expect_frame(&b, MSG_HELLO, "hi", 2, "hello");
	ck_assert_msg(b.in_len > b.in_off, "the compressed frames were not read ahead with the hello (test set-up)");
	TU_OK(conn_compress(&b, 3));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		echo_fill(buf, sizes[i], (unsigned) i);
		snprintf(what, sizeof(what), "a to b, frame %zu", i);
		expect_frame(&b, MSG_DATA, buf, sizes[i], what);
	}
	/* the other way */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		echo_fill(buf, sizes[i], (unsigned) i + 100);
		send_frame(&b, MSG_ROW, buf, sizes[i]);
		snprintf(what, sizeof(what), "b to a, frame %zu", i);
		expect_frame(&a, MSG_ROW, buf, sizes[i], what);
	}
	ck_assert_uint_eq(a.bytes_out, b.bytes_in);
	ck_assert_uint_eq(b.bytes_out, a.bytes_in);
	/* compressible: the wire carries a small part of it */
	out0 = a.bytes_out;
	in0 = b.bytes_in;
	echo_fill(buf, 600000, 0);
	send_frame(&a, MSG_DATA, buf, 600000);
	ck_assert_msg(a.bytes_out - out0 < 600000 / 20, "600000 bytes of text took %llu bytes on the wire",
	              (unsigned long long) (a.bytes_out - out0));
	expect_frame(&b, MSG_DATA, buf, 600000, "text");
	ck_assert_uint_eq(b.bytes_in - in0, a.bytes_out - out0);
	conn_pair_close(&a, &b, sv);
	free(buf);
}
END_TEST

/*
 * After the switch, bytes that are not zstd: MM_ECORRUPT, at once.  Case
 * 0: garbage where the stream starts; 1: after good compressed frames
 * (0xff: a block header of a reserved type); 2: a good stream holding a
 * frame of length 0; 3: one of more than PROTO_MAX_FRAME.  Found by
 * fuzzing (tests/fuzz/regress/frame/zstd-legacy-*): a frame in zstd 0.5's
 * legacy format where the stream starts (4) or after a whole zstd frame
 * (5), which libzstd decodes or refuses depending on how the reads cut it:
 * it waited for more bytes, here a timeout.
 */
START_TEST(test_compress_corrupt)
{
	static const char garbage[] = "this is not a zstd stream, not at all; it is plain text";
	/* zstd 0.5's magic number 0xFD2FB525, then what libzstd takes for the start of a frame of that format */
	static const uint8_t legacy[] = {0x25, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00, 0xff,
	                                 0xf7, 0x6c, 0x61, 0x70, 0x33, 0x6f, 0x70, 0x01, 0x00, 0x02,
	                                 0x00, 0x04, 0x64, 0x6f, 0x63, 0x73, 0x00, 0x0a, 0x73, 0x72,
	                                 0x63, 0x2f, 0x6d, 0x61, 0x69, 0x6e, 0x00, 0x00, 0x29, 0x00};
	uint8_t ff[64], wire[256];
	struct wbuf f;
	size_t n;
	struct conn a, b;
	int sv[2], type, rc;
	const uint8_t *p;
	size_t len;
	int64_t t0;

	memset(ff, 0xff, sizeof(ff));
	conn_pair(&a, &b, sv);
	send_frame(&a, MSG_HELLO, "hi", 2);
	expect_frame(&b, MSG_HELLO, "hi", 2, "hello");
	send_frame(&b, MSG_HELLO, "ho", 2);
	expect_frame(&a, MSG_HELLO, "ho", 2, "hello answered");
	TU_OK(conn_compress(&a, 3));
	TU_OK(conn_compress(&b, 3));
	switch (_i) {
	case 0: ck_assert_int_eq(write(sv[0], garbage, sizeof(garbage) - 1), (ssize_t) sizeof(garbage) - 1); break;
	case 1:
		send_frame(&a, MSG_DATA, "good", 4);
		send_frame(&a, MSG_DATA, garbage, sizeof(garbage));
		expect_frame(&b, MSG_DATA, "good", 4, "good frame 1");
		expect_frame(&b, MSG_DATA, garbage, sizeof(garbage), "good frame 2");
		ck_assert_int_eq(write(sv[0], ff, sizeof(ff)), (ssize_t) sizeof(ff));
		break;
	case 4: ck_assert_int_eq(write(sv[0], legacy, sizeof(legacy)), (ssize_t) sizeof(legacy)); break;
	case 5:
		wbuf_init(&f);
		proto_put_raw(&f, MSG_DATA, "good", 4);
		n = ZSTD_compress(wire, sizeof(wire), f.p, f.len, 3); /* a whole frame, ended */
		wbuf_dispose(&f);
		ck_assert_msg(!ZSTD_isError(n) && n + sizeof(legacy) <= sizeof(wire), "zstd: %zu", n);
		memcpy(wire + n, legacy, sizeof(legacy));
		ck_assert_int_eq(write(sv[0], wire, n + sizeof(legacy)), (ssize_t) (n + sizeof(legacy)));
		expect_frame(&b, MSG_DATA, "good", 4, "the frame before the legacy one");
		break;
	case 2:
		put_bytes(&a.out, "\0\0\0\0", 4);
		TU_OK(conn_flush(&a));
		break;
	default:
		put_bytes(&a.out, "\x7f\xff\xff\xff\x07", 5);
		TU_OK(conn_flush(&a));
		break;
	}
	t0 = conn_now_ms();
	rc = conn_recv(&b, &type, &p, &len);
	ck_assert_msg(rc == MM_ECORRUPT, "case %d: conn_recv returned %d (%s), want MM_ECORRUPT", _i, rc,
	              mm_error_msg());
	ck_assert_msg(conn_now_ms() - t0 < 1000, "case %d: took %lld ms", _i, (long long) (conn_now_ms() - t0));
	ck_assert_msg(tu_contains(mm_error_msg(), "peer-a"), "message does not name the peer: %s", mm_error_msg());
	ck_assert_msg(tu_contains(mm_error_msg(), _i < 2 || _i > 3 ? "corrupt" : "frame of"), "message: %s",
	              mm_error_msg());
	conn_pair_close(&a, &b, sv);
}
END_TEST

/*
 * Bug found by fuzzing (tests/fuzz/regress/frame/zstd-empty-frame-stall):
 * a zstd frame that decompresses to nothing (case 0: an empty frame; 1: a
 * skippable frame) ahead of the next one in the same read.  The decoder
 * used its bytes and made no output, and conn waited for more bytes from
 * the peer while the next zstd frame sat undecoded in its buffer: a stall
 * until the timeout, or "closed the connection" at the end of the stream.
 */
START_TEST(test_compress_frame_making_nothing)
{
	static const uint8_t skippable[] = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'};
	uint8_t wire[256], frame[16];
	struct wbuf f;
	struct conn a, b;
	size_t n = 0, z;
	int sv[2];
	int64_t t0;

	conn_pair(&a, &b, sv);
	TU_OK(conn_compress(&b, 3));
	if (_i == 0) {
		z = ZSTD_compress(wire, sizeof(wire), "", 0, 3);
		ck_assert_msg(!ZSTD_isError(z), "zstd: %s", ZSTD_getErrorName(z));
		n = z;
	} else {
		memcpy(wire, skippable, sizeof(skippable));
		n = sizeof(skippable);
	}
	wbuf_init(&f);
	proto_put_raw(&f, MSG_DATA, "next", 4);
	ck_assert_uint_le(f.len, sizeof(frame));
	memcpy(frame, f.p, f.len);
	z = ZSTD_compress(wire + n, sizeof(wire) - n, frame, f.len, 3);
	ck_assert_msg(!ZSTD_isError(z), "zstd: %s", ZSTD_getErrorName(z));
	n += z;
	wbuf_dispose(&f);
	/* one write: both zstd frames arrive in one read */
	ck_assert_int_eq(write(sv[0], wire, n), (ssize_t) n);
	t0 = conn_now_ms();
	expect_frame(&b, MSG_DATA, "next", 4, "the frame after one that makes nothing");
	ck_assert_msg(conn_now_ms() - t0 < 1000, "case %d: took %lld ms", _i, (long long) (conn_now_ms() - t0));
	conn_pair_close(&a, &b, sv);
}
END_TEST

/*
 * conn_compress on a conn that has read nothing yet (c->in is NULL): the
 * switch copies the bytes read ahead, none here.  Passes in a plain build;
 * under SANITIZE=1 UBSan stops at memcpy(z->raw, NULL, 0) in conn_compress.
 */
START_TEST(test_compress_before_any_read)
{
	struct conn a, b;
	int sv[2];

	conn_pair(&a, &b, sv);
	ck_assert_ptr_null(a.in);
	TU_OK(conn_compress(&a, 3));
	send_frame(&a, MSG_DATA, "x", 1);
	TU_OK(conn_compress(&b, 3));
	expect_frame(&b, MSG_DATA, "x", 1, "first frame");
	conn_pair_close(&a, &b, sv);
}
END_TEST

/* The run's deadline cuts a wait short, whatever timeout_ms says: reading (case 0), writing (1), compressed (2), past
 * (3). */
START_TEST(test_conn_deadline)
{
	struct conn a, b;
	int sv[2], type, rc;
	const uint8_t *p;
	size_t len;
	int64_t t0, took;
	uint8_t *big = NULL;

	conn_pair(&a, &b, sv);
	a.timeout_ms = _i == 0 ? -1 : 30000;
	if (_i == 2) {
		send_frame(&a, MSG_HELLO, "hi", 2);
		expect_frame(&b, MSG_HELLO, "hi", 2, "hello");
		send_frame(&b, MSG_HELLO, "ho", 2);
		expect_frame(&a, MSG_HELLO, "ho", 2, "hello answered");
		TU_OK(conn_compress(&a, 3));
		TU_OK(conn_compress(&b, 3));
	}
	t0 = conn_now_ms();
	a.deadline = _i == 3 ? t0 - 1 : t0 + 200;
	if (_i == 1) {
		/* a peer that takes nothing */
		big = calloc(1, 8u << 20);
		ck_assert_ptr_nonnull(big);
		for (int i = 0; i < 8; i++)
			proto_put_raw(&a.out, MSG_DATA, big + (size_t) i * (1u << 20), PROTO_MAX_FRAME - 1);
		rc = conn_flush(&a);
	} else {
		rc = conn_recv(&a, &type, &p, &len);
	}
	took = conn_now_ms() - t0;
	ck_assert_msg(rc == MM_EIO, "case %d: returned %d (%s), want MM_EIO", _i, rc, mm_error_msg());
	ck_assert_msg(tu_contains(mm_error_msg(), "timed out"), "case %d: message: %s", _i, mm_error_msg());
	ck_assert_msg(took < 1000, "case %d: failed after %lld ms, want about 200", _i, (long long) took);
	ck_assert_msg(_i == 3 || took >= 150, "case %d: failed after %lld ms, before the deadline", _i,
	              (long long) took);
	free(big);
	conn_pair_close(&a, &b, sv);
}
END_TEST

/* ---------------------------------------------------------------- tls */

struct tls_ids {
	char *dir;
	struct ident server, client;
};

static void tls_ids_new(struct tls_ids *d)
{
	d->dir = tu_mkdtemp();
	ident_new(&d->server, d->dir, "server", 0x5e);
	ident_new(&d->client, d->dir, "client", 0xc1);
	ck_assert_str_ne(d->server.fp, d->client.fp);
}

static void tls_ids_free(struct tls_ids *d)
{
	ident_free(&d->server);
	ident_free(&d->client);
	tu_rmrf(d->dir);
	free(d->dir);
}

/*
 * Mutual TLS over a socket pair, the server in a child: each side sees the
 * other's fingerprint (the server tells what it saw in its answer to the
 * hello), and frames go both ways under conn, plain (0) or compressed (1,
 * 2: see echo_serve).
 */
START_TEST(test_tls_echo)
{
	struct tls_ids d;
	struct tls *t = NULL;
	struct conn c;
	int sv[2], status, rc;
	pid_t pid;

	tls_ids_new(&d);
	socket_pair(sv);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct tls *st;
		close(sv[0]);
		if (tls_open(&st, sv[1], 1, d.server.key, d.server.cert, 5000, 0, "client") < 0)
			_exit(30);
		rc = echo_serve(sv[1], tls_io(st), _i, tls_peer_fingerprint(st));
		tls_close(st);
		_exit(rc);
	}
	close(sv[1]);
	rc = tls_open(&t, sv[0], 0, d.client.key, d.client.cert, 5000, 0, "server");
	ck_assert_msg(rc == 0, "tls_open (client) returned %d: %s", rc, mm_error_msg());
	ck_assert_str_eq(tls_peer_fingerprint(t), d.server.fp);
	TU_OK(conn_init(&c, sv[0], sv[0], "server"));
	c.io = tls_io(t);
	c.timeout_ms = 10000;
	echo_run(&c, _i, d.client.fp);
	conn_dispose(&c);
	tls_close(t);
	close(sv[0]);
	ck_assert_msg(wait_deadline(pid, 10000, &status), "the TLS server was still running after 10 s");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "TLS server: %s", echo_status(status));
	tls_ids_free(&d);
}
END_TEST

static int write_all_io(const struct conn_io *io, int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = io->write(io->ctx, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t) w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			return -1;
		struct pollfd pf = {fd, io->wants(io->ctx), 0};
		if (poll(&pf, 1, 5000) <= 0)
			return -1;
	}
	return 0;
}

/*
 * A server that goes away: before the handshake with a word that is not
 * TLS (0); after it, in the middle of a frame, with close_notify (1) or
 * without (2), or in the middle of a compressed stream (3).  An error, at
 * once.
 */
START_TEST(test_tls_peer_leaves)
{
	static const uint8_t partial[] = {0, 0, 0x03, 0xe8, MSG_DATA, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct tls_ids d;
	struct tls *t = NULL;
	struct conn c;
	int sv[2], status, rc, type;
	const uint8_t *p;
	size_t len;
	int64_t t0;
	pid_t pid;

	tls_ids_new(&d);
	socket_pair(sv);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct tls *st;
		char buf[4096];
		close(sv[0]);
		if (_i == 0) {
			/* not TLS; then wait for the client to hang up */
			if (write(sv[1], "SSH-2.0-OpenSSH_9.2\r\n", 21) != 21)
				_exit(31);
			while (read(sv[1], buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
		if (tls_open(&st, sv[1], 1, d.server.key, d.server.cert, 5000, 0, "client") < 0)
			_exit(30);
		if (_i == 3) {
			struct conn sc;
			const uint8_t *q;
			size_t qlen;
			conn_init(&sc, sv[1], sv[1], "client");
			sc.io = tls_io(st);
			sc.timeout_ms = 5000;
			if (conn_expect(&sc, MSG_HELLO, &q, &qlen) < 0)
				_exit(35);
			proto_put_raw(&sc.out, MSG_HELLO, "ho", 2);
			if (conn_flush(&sc) < 0 || conn_compress(&sc, 3) < 0)
				_exit(32);
			/* a whole frame, then the start of a long one, then gone */
			proto_put_raw(&sc.out, MSG_DATA, "whole", 5);
			if (conn_flush(&sc) < 0)
				_exit(33);
			memset(buf, 'q', sizeof(buf));
			proto_put_raw(&sc.out, MSG_DATA, buf, sizeof(buf));
			sc.out.len -= 100;
			if (conn_flush(&sc) < 0)
				_exit(33);
			_exit(0);
		}
		if (write_all_io(tls_io(st), sv[1], partial, sizeof(partial)) < 0)
			_exit(34);
		if (_i == 1)
			tls_close(st);
		_exit(0);
	}
	close(sv[1]);
	t0 = conn_now_ms();
	rc = tls_open(&t, sv[0], 0, d.client.key, d.client.cert, 5000, 0, "server");
	if (_i == 0) {
		ck_assert_msg(rc == MM_EIO, "tls_open with a server that speaks ssh returned %d: %s", rc,
		              mm_error_msg());
		ck_assert_ptr_null(t);
		ck_assert_msg(tu_contains(mm_error_msg(), "TLS handshake with 'server' failed"), "message: %s",
		              mm_error_msg());
	} else {
		ck_assert_msg(rc == 0, "tls_open (client) returned %d: %s", rc, mm_error_msg());
		TU_OK(conn_init(&c, sv[0], sv[0], "server"));
		c.io = tls_io(t);
		c.timeout_ms = 5000;
		if (_i == 3) {
			send_frame(&c, MSG_HELLO, "hi", 2);
			expect_frame(&c, MSG_HELLO, "ho", 2, "hello answered");
			TU_OK(conn_compress(&c, 3));
			expect_frame(&c, MSG_DATA, "whole", 5, "the whole frame");
		}
		rc = conn_recv(&c, &type, &p, &len);
		ck_assert_msg(rc == MM_EIO, "case %d: conn_recv returned %d (%s), want MM_EIO", _i, rc, mm_error_msg());
		ck_assert_msg(tu_contains(mm_error_msg(), "'server' closed the connection in the middle of a message"),
		              "case %d: message: %s", _i, mm_error_msg());
		conn_dispose(&c);
		tls_close(t);
	}
	ck_assert_msg(conn_now_ms() - t0 < 2000, "case %d: the error came after %lld ms", _i,
	              (long long) (conn_now_ms() - t0));
	close(sv[0]);
	ck_assert_msg(wait_deadline(pid, 5000, &status), "the server was still running after 5 s");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server: %s", echo_status(status));
	tls_ids_free(&d);
}
END_TEST

/* A peer that says nothing: the handshake gives up at timeout_ms (case 0) or at the deadline (1). */
START_TEST(test_tls_handshake_timeout)
{
	struct tls_ids d;
	struct tls *t = (struct tls *) &d;
	int sv[2], rc;
	int64_t t0, took;

	tls_ids_new(&d);
	socket_pair(sv);
	t0 = conn_now_ms();
	rc = tls_open(&t, sv[0], _i, _i ? d.server.key : d.client.key, _i ? d.server.cert : d.client.cert,
	              _i ? 60000 : 200, _i ? t0 + 200 : 0, "silent");
	took = conn_now_ms() - t0;
	ck_assert_msg(rc == MM_EIO, "tls_open returned %d: %s", rc, mm_error_msg());
	ck_assert_ptr_null(t);
	ck_assert_msg(tu_contains(mm_error_msg(), "timed out") && tu_contains(mm_error_msg(), "'silent'"),
	              "message: %s", mm_error_msg());
	ck_assert_msg(took >= 150 && took < 1000, "gave up after %lld ms, want about 200", (long long) took);
	close(sv[0]);
	close(sv[1]);
	tls_ids_free(&d);
}
END_TEST

/*
 * A peer that hung up before the handshake's first write: an error, not a
 * process killed by SIGPIPE (the default in a fresh mmsync that has made no
 * conn yet).  Case 0: the client's ClientHello meets a closed socket; case
 * 1: the server reads a ClientHello from a client already gone, and its
 * answer meets a closed socket.  Each in a child whose death is reported.
 */
START_TEST(test_tls_peer_gone_sigpipe)
{
	struct tls_ids d;
	uint8_t hello[16384];
	ssize_t nhello = 0;
	int sv[2], status;
	pid_t pid;

	tls_ids_new(&d);
	if (_i == 1) {
		/* a real ClientHello: what a client sends to a peer that never answers */
		struct tls *t;
		socket_pair(sv);
		ck_assert_int_lt(tls_open(&t, sv[0], 0, d.client.key, d.client.cert, 100, 0, "mute"), 0);
		nhello = read(sv[1], hello, sizeof(hello));
		ck_assert_int_gt(nhello, 5);
		ck_assert_int_eq(hello[0], 22); /* a handshake record */
		close(sv[0]);
		close(sv[1]);
	}
	socket_pair(sv);
	if (_i == 1)
		ck_assert_int_eq(write(sv[1], hello, (size_t) nhello), nhello);
	close(sv[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct tls *t;
		signal(SIGPIPE, SIG_DFL);
		if (tls_open(&t, sv[0], _i, _i ? d.server.key : d.client.key, _i ? d.server.cert : d.client.cert, 2000,
		             0, "gone") == MM_EIO)
			_exit(0);
		_exit(1);
	}
	close(sv[0]);
	ck_assert_msg(wait_deadline(pid, 5000, &status), "tls_open was still running after 5 s");
	ck_assert_msg(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE),
	              "tls_open (%s) with a peer that hung up killed the process with SIGPIPE",
	              _i ? "server" : "client");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tls_open (%s): status %#x",
	              _i ? "server" : "client", status);
	tls_ids_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- config */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	ck_assert_msg(f != NULL, "cannot open '%s'", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t) n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t) n, f), (size_t) n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void assert_value(struct config *c, const char *key, const char *want)
{
	char *v = NULL;
	int rc = config_get_string(c, key, &v);

	if (!want) {
		ck_assert_msg(rc == MM_ENOTFOUND, "'%s': returned %d ('%s'), want MM_ENOTFOUND", key, rc,
		              str_or_null(v));
		return;
	}
	ck_assert_msg(rc == 0, "'%s': returned %d: %s", key, rc, mm_error_msg());
	ck_assert_str_eq(v, want);
	free(v);
}

START_TEST(test_config_remove_all)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "config"), *text;
	struct config *c;
	const char *usb, *nas;

	TU_OK(config_open(&c, path));
	TU_OK(config_set_string(c, "core.name", "laptop"));
	TU_OK(config_set_string(c, "peer.usb.url", "/mnt/usb/docs"));
	TU_OK(config_set_string(c, "peer.usb.fingerprint", "SHA256:" HEX64));
	TU_OK(config_set_string(c, "peer.nas.url", "ssh://nas/srv/docs"));
	TU_OK(config_set_string(c, "peer.usbkey.url", "/mnt/key")); /* shares the name's start */
	TU_OK(config_set_string(c, "sync.compress", "true"));

	TU_OK(config_remove_all(c, "peer.usb."));
	text = read_text(path);
	ck_assert_msg(!tu_contains(text, "[peer \"usb\"]") && !tu_contains(text, "/mnt/usb/docs") &&
	                      !tu_contains(text, HEX64),
	              "after config_remove_all(\"peer.usb.\"):\n%s", text);
	ck_assert_msg(tu_contains(text, "[core]") && tu_contains(text, "[peer \"nas\"]") &&
	                      tu_contains(text, "ssh://nas/srv/docs") && tu_contains(text, "[peer \"usbkey\"]") &&
	                      tu_contains(text, "[sync]"),
	              "config_remove_all(\"peer.usb.\") removed too much:\n%s", text);
	free(text);
	assert_value(c, "peer.usb.url", NULL);
	assert_value(c, "peer.usb.fingerprint", NULL);
	assert_value(c, "peer.nas.url", "ssh://nas/srv/docs");
	assert_value(c, "peer.usbkey.url", "/mnt/key");
	assert_value(c, "core.name", "laptop");

	/* added again: a new section at the end */
	TU_OK(config_set_string(c, "peer.usb.url", "/media/usb"));
	text = read_text(path);
	usb = strstr(text, "[peer \"usb\"]");
	nas = strstr(text, "[sync]");
	ck_assert_msg(usb && nas && usb > nas && !strchr(usb + 1, '[') && tu_contains(usb, "/media/usb"),
	              "peer.usb.url set again:\n%s", text);
	free(text);

	/* nothing matches: nothing changes */
	text = read_text(path);
	TU_OK(config_remove_all(c, "peer.zzz."));
	{
		char *after = read_text(path);
		ck_assert_str_eq(after, text);
		free(after);
	}
	free(text);

	/* what the file says, read anew */
	config_free(c);
	TU_OK(config_open(&c, path));
	assert_value(c, "peer.usb.url", "/media/usb");
	assert_value(c, "peer.usb.fingerprint", NULL);
	assert_value(c, "sync.compress", "true");

	/* the last entries of every section */
	TU_OK(config_remove_all(c, "peer."));
	text = read_text(path);
	ck_assert_msg(!tu_contains(text, "peer") && tu_contains(text, "[core]") && tu_contains(text, "[sync]"),
	              "after config_remove_all(\"peer.\"):\n%s", text);
	free(text);
	config_free(c);
	free(path);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_config_delete)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "config");
	struct config *c;

	TU_OK(config_open(&c, path));
	ck_assert_int_eq(config_delete(c, "peer.usb.url"), MM_ENOTFOUND); /* no file yet */
	TU_OK(config_set_string(c, "peer.usb.url", "/mnt/usb"));
	TU_OK(config_set_string(c, "peer.usb.fingerprint", "x"));
	ck_assert_int_eq(config_delete(c, "peer.usb.nothing"), MM_ENOTFOUND);
	ck_assert_int_eq(config_delete(c, "nosuch.key"), MM_ENOTFOUND);
	ck_assert_int_eq(config_delete(c, "peer.other.url"), MM_ENOTFOUND);
	TU_OK(config_delete(c, "peer.usb.url"));
	assert_value(c, "peer.usb.url", NULL);
	assert_value(c, "peer.usb.fingerprint", "x");
	ck_assert_int_eq(config_delete(c, "peer.usb.url"), MM_ENOTFOUND);
	config_free(c);
	TU_OK(config_open(&c, path));
	assert_value(c, "peer.usb.url", NULL);
	assert_value(c, "peer.usb.fingerprint", "x");
	config_free(c);
	free(path);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* ---------------------------------------------------------------- server */

static volatile sig_atomic_t srv_stop;
static int srv_out = -1;     /* in the server's process: where its lines go */
static char srv_text[16384]; /* in the test: the server's lines so far */
static size_t srv_len;

static void srv_on_stop(int sig)
{
	srv_stop = sig;
}

static void srv_note(void *arg, const char *msg)
{
	(void) arg;
	dprintf(srv_out, "note %s\n", msg);
}

static void srv_listening(void *arg, const char *name, const char *fp, const char *bound)
{
	(void) arg;
	dprintf(srv_out, "listening %s %s %s\n", name, fp, bound);
}

/* Reads the server's lines until they hold `needle` (1) or `ms` passed or they ended (0). */
static int srv_wait_for(int fd, const char *needle, int ms)
{
	int64_t end = conn_now_ms() + ms;

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t left = end - conn_now_ms();
		ssize_t n;
		srv_text[srv_len] = '\0';
		if (needle && strstr(srv_text, needle))
			return 1;
		if (left <= 0 || poll(&p, 1, (int) left) <= 0)
			return 0;
		n = read(fd, srv_text + srv_len, sizeof(srv_text) - 1 - srv_len);
		if (n <= 0)
			return 0;
		srv_len += (size_t) n;
	}
}

/*
 * server_tls_run() for `root` on 127.0.0.1, port 0, in a child process
 * whose SIGTERM and SIGINT handlers set the stop flag; the port it chose
 * goes to `port`, its lines (notes, the listening line) come on *lines.
 */
static pid_t srv_start(const char *root, int *lines, char *port, size_t n)
{
	const char *at;
	int p[2];
	pid_t pid;

	srv_len = 0;
	ck_assert_int_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct server_opts o = {0};
		struct scan_opts scan = SCAN_OPTS_INIT;
		struct sigaction sa;
		close(p[0]);
		srv_out = p[1];
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = srv_on_stop;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		o.root = root;
		o.host = "127.0.0.1";
		o.port = "0";
		o.timeout_ms = 10000;
		o.stop = &srv_stop;
		o.scan = scan;
		o.note = srv_note;
		o.on_listening = srv_listening;
		_exit(server_tls_run(&o) == 0 ? 0 : 1);
	}
	close(p[1]);
	*lines = p[0];
	ck_assert_msg(srv_wait_for(p[0], " 127.0.0.1:", 10000) && strchr(strstr(srv_text, " 127.0.0.1:"), '\n'),
	              "the server did not say where it listens: %s", srv_text);
	at = strstr(srv_text, " 127.0.0.1:") + 11;
	snprintf(port, n, "%.*s", (int) strcspn(at, "\n"), at);
	return pid;
}

/* A session (pull and push) of `t` with the server on `port`, started by peer_start() with `pin`. */
static int srv_client(struct tu_replica *t, const char *port, const char *pin)
{
	struct peer_start_opts po = {0};
	struct session_opts so = {0};
	struct session_result res;
	struct scan_opts scan = SCAN_OPTS_INIT;
	struct scan_stats st;
	struct transport tr;
	struct bundle *b;
	struct url u;
	struct conn c;
	char text[64];
	int err, status;

	snprintf(text, sizeof(text), "tls://127.0.0.1:%s", port);
	TU_OK(url_parse(&u, text));
	TU_OK(session_prepare(t->r, &scan, &st));
	po.label = "srv";
	po.url_text = text;
	po.url = &u;
	po.pin = pin;
	if ((err = peer_start(&tr, &b, t->r, &po, conn_now_ms() + 10000)) < 0) {
		url_dispose(&u);
		return err;
	}
	ck_assert_ptr_null(b);
	conn_init(&c, tr.fd, tr.fd, "srv");
	c.io = tls_io(tr.tls);
	c.timeout_ms = 10000;
	so.op = PROTO_OP_PULL | PROTO_OP_PUSH;
	so.caps = PROTO_CAP_ZSTD;
	err = session_client(t->r, &c, &so, &res);
	conn_dispose(&c);
	transport_close(&tr, &status);
	url_dispose(&u);
	return err;
}

static void srv_trust(struct replica *r, const char *fp, const char *name)
{
	char key[128];

	snprintf(key, sizeof(key), "trust.%s.name", fp);
	TU_OK(config_set_string(r->config, key, name));
}

static void srv_assert_file(const char *root, const char *rel, const char *want)
{
	char *path = tu_path(root, rel), *got = read_text(path);

	ck_assert_str_eq(got, want);
	free(got);
	free(path);
}

/*
 * A server with two trusted clients, one after the other (a named one and
 * one trusted without a name), each in a process of its own; then a client
 * that is not trusted, and one that has no pin and hangs up: each is told
 * or tells why, every session has its line, and SIGTERM stops the server
 * with exit 0.
 */
START_TEST(test_server_two_clients)
{
	struct tu_replica a, b, c, d;
	char port[16], fpa[IDENTITY_FP_TEXT], fpb[IDENTITY_FP_TEXT], fpc[IDENTITY_FP_TEXT], fpd[IDENTITY_FP_TEXT];
	char want[256], *logpath, *logtext;
	int lines, status, rc;
	pid_t pid;

	tu_replica_new(&a);
	tu_replica_new(&b);
	tu_replica_new(&c);
	tu_replica_new(&d);
	TU_OK(replica_fingerprint(a.r, fpa));
	TU_OK(replica_fingerprint(b.r, fpb));
	TU_OK(replica_fingerprint(c.r, fpc));
	TU_OK(replica_fingerprint(d.r, fpd));
	srv_trust(a.r, fpb, "bee");
	srv_trust(a.r, fpc, "");
	tu_write_str(a.root, "hello.txt", "from the server\n");
	tu_write_str(b.root, "b.txt", "from b\n");
	replica_free(a.r); /* the server's clients take its lock */
	a.r = NULL;
	pid = srv_start(a.root, &lines, port, sizeof(port));
	snprintf(want, sizeof(want), "listening test %s 127.0.0.1:%s\n", fpa, port);
	ck_assert_msg(tu_contains(srv_text, want), "want '%s' in: %s", want, srv_text);

	rc = srv_client(&b, port, fpa);
	ck_assert_msg(rc == 0, "client b: %d: %s", rc, mm_error_msg());
	snprintf(want, sizeof(want), "note client bee (%s) from 127.0.0.1:", fpb);
	ck_assert_msg(srv_wait_for(lines, want, 5000), "want '%s' in: %s", want, srv_text);
	rc = srv_client(&c, port, fpa);
	ck_assert_msg(rc == 0, "client c: %d: %s", rc, mm_error_msg());
	snprintf(want, sizeof(want), "note client %s from 127.0.0.1:", fpc);
	ck_assert_msg(srv_wait_for(lines, want, 5000), "want '%s' in: %s", want, srv_text);
	srv_assert_file(b.root, "hello.txt", "from the server\n");
	srv_assert_file(c.root, "hello.txt", "from the server\n");
	srv_assert_file(c.root, "b.txt", "from b\n");
	srv_assert_file(a.root, "b.txt", "from b\n");

	rc = srv_client(&d, port, fpa);
	snprintf(want, sizeof(want), "client %s is not trusted by replica 'test'; on the server run 'mmsync trust %s'",
	         fpd, fpd);
	ck_assert_msg(rc < 0 && tu_contains(mm_error_msg(), want), "untrusted client: %d: %s", rc, mm_error_msg());
	snprintf(want, sizeof(want), "note refused client %s from 127.0.0.1:", fpd);
	ck_assert_msg(srv_wait_for(lines, want, 5000), "want '%s' in: %s", want, srv_text);

	rc = srv_client(&b, port, "");
	ck_assert_msg(rc < 0 &&
	                      tu_contains(mm_error_msg(), "peer 'srv': no fingerprint is pinned for this TLS "
	                                                  "server; it presented ") &&
	                      tu_contains(mm_error_msg(), fpa),
	              "client without a pin: %d: %s", rc, mm_error_msg());
	snprintf(want, sizeof(want), "client %s hung up: it has no fingerprint pinned", fpb);
	ck_assert_msg(srv_wait_for(lines, want, 5000), "want '%s' in: %s", want, srv_text);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_msg(wait_deadline(pid, 5000, &status), "the server was still running 5 s after SIGTERM");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server: %s", echo_status(status));
	ck_assert_msg(srv_wait_for(lines, "note stopped (signal 15)\n", 2000), "no stop line in: %s", srv_text);
	ck_assert_msg(!tu_contains(srv_text, ": done, 0 bytes in"), "lines: %s", srv_text);
	close(lines);

	logpath = tu_path(a.root, ".mmsync/log");
	logtext = read_text(logpath);
	snprintf(want, sizeof(want), "serve client bee (%s) from 127.0.0.1:", fpb);
	ck_assert_msg(tu_contains(logtext, "serve listening on 127.0.0.1:") && tu_contains(logtext, want) &&
	                      tu_contains(logtext, "serve stopped (signal 15)"),
	              "the server's log: %s", logtext);
	free(logtext);
	free(logpath);
	tu_replica_free(&a);
	tu_replica_free(&b);
	tu_replica_free(&c);
	tu_replica_free(&d);
}
END_TEST

/*
 * SIGTERM (0) or SIGINT (1) while a client is connected but silent: the
 * loop sees the flag at once, the client's process (in its handshake) ends
 * without waiting for the grace period, and the server exits 0.
 */
START_TEST(test_server_stop_signal)
{
	static const int sigs[] = {SIGTERM, SIGINT};
	struct sockaddr_in sin = {0};
	struct tu_replica a;
	char port[16], want[64];
	int lines, status, fd;
	int64_t t0;
	pid_t pid;

	tu_replica_new(&a);
	replica_free(a.r);
	a.r = NULL;
	pid = srv_start(a.root, &lines, port, sizeof(port));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t) atoi(port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0, "connect: %s", strerror(errno));
	usleep(300 * 1000); /* accepted, its process in the handshake */
	t0 = conn_now_ms();
	ck_assert_int_eq(kill(pid, sigs[_i]), 0);
	ck_assert_msg(wait_deadline(pid, 5000, &status), "the server was still running 5 s after signal %d", sigs[_i]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server: %s", echo_status(status));
	ck_assert_msg(conn_now_ms() - t0 < 3000, "the server took %lld ms to stop", (long long) (conn_now_ms() - t0));
	snprintf(want, sizeof(want), "note stopped (signal %d)\n", sigs[_i]);
	ck_assert_msg(srv_wait_for(lines, want, 2000), "want '%s' in: %s", want, srv_text);
	close(fd);
	close(lines);
	tu_replica_free(&a);
}
END_TEST

Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc;

	tc = tcase_create("url");
	tcase_add_test(tc, test_url_local);
	tcase_add_test(tc, test_url_ssh);
	tcase_add_test(tc, test_url_scp_user_ipv6);
	tcase_add_test(tc, test_url_tls);
	tcase_add_test(tc, test_url_rejected);
	tcase_add_test(tc, test_url_scp_unclosed_bracket);
	tcase_add_test(tc, test_url_is_remote);
	tcase_add_test(tc, test_url_listen);
	suite_add_tcase(s, tc);

	tc = tcase_create("transport");
	tcase_add_test(tc, test_split_words);
	tcase_add_test(tc, test_split_errors);
	tcase_add_test(tc, test_diagnose);
	tcase_add_test(tc, test_diagnose_not_executable);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_fp_parse);
	tcase_add_test(tc, test_fp_parse_double_colon);
	tcase_add_test(tc, test_fp_of_certificate);
	suite_add_tcase(s, tc);

	tc = tcase_create("compress");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_compress_echo, 0, 3);
	tcase_add_test(tc, test_compress_read_ahead);
	tcase_add_test(tc, test_compress_before_any_read);
	tcase_add_loop_test(tc, test_compress_frame_making_nothing, 0, 2);
	tcase_add_loop_test(tc, test_compress_corrupt, 0, 6);
	tcase_add_loop_test(tc, test_conn_deadline, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_tls_echo, 0, 3);
	tcase_add_loop_test(tc, test_tls_peer_leaves, 0, 4);
	tcase_add_loop_test(tc, test_tls_handshake_timeout, 0, 2);
	tcase_add_loop_test(tc, test_tls_peer_gone_sigpipe, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_server_two_clients);
	tcase_add_loop_test(tc, test_server_stop_signal, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_unchecked_fixture(tc, tu_tmp_setup, tu_tmp_teardown);
	tcase_add_test(tc, test_config_remove_all);
	tcase_add_test(tc, test_config_delete);
	suite_add_tcase(s, tc);
	return s;
}
