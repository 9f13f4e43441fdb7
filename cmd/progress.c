/* The progress line: see progress.h. */
#include "progress.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync/scan.h"
#include "sync/session.h"

#define TTY_EVERY_MS 250  /* redraws on a terminal: 4 a second */
#define LOG_EVERY_MS 1000 /* lines into a file or pipe: 1 a second */
#define WINDOW       16   /* samples the rate is measured over (4 s on a terminal) */
#define LINE_MAX_LEN 256

struct sample {
	int64_t ms;
	uint64_t bytes, count;
};

static struct {
	int on, tty, dumb, stdout_tty;
	int shown;        /* a line is on the terminal, to erase (under stderr's lock) */
	size_t shown_len; /* its length, to blank out where ESC [K does not work */
	int64_t every_ms, start_ms, last_ms;
	char label[128];
	struct sample win[WINDOW];
	size_t nwin, head; /* samples held; the next slot */
} pg;

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void progress_init(const struct cmd_ctx *ctx, int forced)
{
	const char *term = getenv("TERM");

	memset(&pg, 0, sizeof(pg));
	pg.tty = isatty(2);
	pg.on = !ctx->quiet && (forced || pg.tty);
	pg.dumb = !term || !*term || !strcmp(term, "dumb");
	pg.stdout_tty = isatty(1);
	pg.every_ms = pg.tty ? TTY_EVERY_MS : LOG_EVERY_MS;
	progress_phase("");
}

int progress_on(void)
{
	return pg.on;
}

void progress_phase(const char *label)
{
	progress_clear();
	snprintf(pg.label, sizeof(pg.label), "%s", label);
	pg.start_ms = now_ms();
	pg.last_ms = 0;
	pg.nwin = pg.head = 0;
}

/* 1 when a redraw is due: the first one a moment after the phase started (a quick one shows nothing). */
static int due(int64_t *now)
{
	if (!pg.on)
		return 0;
	*now = now_ms();
	if (*now - pg.start_ms < pg.every_ms || *now - pg.last_ms < pg.every_ms)
		return 0;
	pg.last_ms = *now;
	return 1;
}

/* Adds a sample; the rates of bytes and count per second over the window (-1 when too short to tell). */
static void sample(int64_t now, uint64_t bytes, uint64_t count, double *bps, double *cps)
{
	struct sample old;
	double secs;

	if (pg.nwin == 0) {
		/* the phase started from nothing */
		pg.win[0] = (struct sample){pg.start_ms, 0, 0};
		pg.nwin = 1;
		pg.head = 1;
	}
	old = pg.win[pg.nwin < WINDOW ? 0 : pg.head];
	pg.win[pg.head] = (struct sample){now, bytes, count};
	pg.head = (pg.head + 1) % WINDOW;
	if (pg.nwin < WINDOW)
		pg.nwin++;
	secs = (double) (now - old.ms) / 1000.0;
	*bps = *cps = -1;
	if (secs >= 0.2) {
		/* (a count may step back: a large file that failed to hash half-way) */
		*bps = bytes >= old.bytes ? (double) (bytes - old.bytes) / secs : 0;
		*cps = count >= old.count ? (double) (count - old.count) / secs : 0;
	}
}

/* "512 B", "1.5 KiB", "12.3 MiB", "1.02 GiB". */
static const char *human_bytes(char *buf, size_t n, double v)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	size_t u = 0;

	if (v < 1024) {
		snprintf(buf, n, "%.0f B", v);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static const char *human_rate(char *buf, size_t n, double bps)
{
	char b[32];

	if (bps < 0)
		snprintf(buf, n, "-- B/s");
	else
		snprintf(buf, n, "%s/s", human_bytes(b, sizeof(b), bps));
	return buf;
}

/* "42 s", "3 min 05 s", "2 h 10 min"; "--" when unknown. */
static const char *human_time(char *buf, size_t n, double secs)
{
	unsigned long s;

	if (secs < 0 || secs > 99.0 * 24 * 3600) {
		snprintf(buf, n, "--");
		return buf;
	}
	s = (unsigned long) secs;
	if ((double) s < secs)
		s++; /* "1 s left" until it is done, never "0 s left" */
	if (s < 60)
		snprintf(buf, n, "%lu s", s);
	else if (s < 3600)
		snprintf(buf, n, "%lu min %02lu s", s / 60, s % 60);
	else
		snprintf(buf, n, "%lu h %02lu min", s / 3600, s / 60 % 60);
	return buf;
}

/* Writes `line` in place of the one shown (or as a line of its own when stderr is not a terminal). */
static void draw(const char *line)
{
	size_t len = strlen(line);

	/* what stdout holds goes first, on a line of its own */
	if (pg.stdout_tty)
		fflush(stdout);
	flockfile(stderr);
	if (!pg.tty) {
		fprintf(stderr, "%s\n", line);
	} else {
		struct winsize ws;
		size_t cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col : 80;
		/* a line that wrapped could not be redrawn in place */
		if (len > cols - 1)
			len = cols - 1;
		fputc('\r', stderr);
		fwrite(line, 1, len, stderr);
		if (!pg.dumb)
			fputs("\033[K", stderr);
		else
			for (size_t i = len; i < pg.shown_len; i++)
				fputc(' ', stderr);
		pg.shown = 1;
		pg.shown_len = len;
	}
	fflush(stderr);
	funlockfile(stderr);
}

void progress_clear(void)
{
	if (!pg.on)
		return;
	flockfile(stderr);
	if (pg.shown) {
		if (!pg.dumb)
			fputs("\r\033[K", stderr);
		else
			fprintf(stderr, "\r%*s\r", (int) pg.shown_len, "");
		fflush(stderr);
		pg.shown = 0;
	}
	funlockfile(stderr);
}

void progress_before_stdout(void)
{
	if (pg.stdout_tty)
		progress_clear();
}

void progress_scan(const struct scan_stats *st)
{
	char line[LINE_MAX_LEN], hashed[32], rate[32];
	double bps, cps;
	int64_t now;
	uint64_t files = st->files + st->links;

	if (!due(&now))
		return;
	sample(now, st->hashed_bytes, files, &bps, &cps);
	snprintf(line, sizeof(line), "%s: %llu files", pg.label, (unsigned long long) files);
	if (cps >= 0)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " (%.0f/s)", cps);
	snprintf(line + strlen(line), sizeof(line) - strlen(line), ", %llu hashed, %s, %s",
	         (unsigned long long) st->hashed_files, human_bytes(hashed, sizeof(hashed), (double) st->hashed_bytes),
	         human_rate(rate, sizeof(rate), bps));
	draw(line);
}

void progress_transfer(const struct session_progress *p)
{
	char line[LINE_MAX_LEN], done[32], total[32], rate[32], left[32], in[32], out[32];
	double bps, fps, secs = -1;
	int64_t now;

	if (!due(&now))
		return;
	sample(now, p->bytes_done, p->files_done, &bps, &fps);
	if (p->files_total == 0 && p->bytes_total == 0) {
		/* nothing planned yet (the peers still compare), or nothing to do */
		snprintf(line, sizeof(line), "%s: %s in, %s out", pg.label,
		         human_bytes(in, sizeof(in), (double) p->wire_in),
		         human_bytes(out, sizeof(out), (double) p->wire_out));
		draw(line);
		return;
	}
	/* time left from the bytes still to write, else (metadata only) from the paths */
	if (p->bytes_total > 0 && bps > 0)
		secs = (double) (p->bytes_total > p->bytes_done ? p->bytes_total - p->bytes_done : 0) / bps;
	else if (p->bytes_total == 0 && fps > 0)
		secs = (double) (p->files_total > p->files_done ? p->files_total - p->files_done : 0) / fps;
	else if (p->bytes_done >= p->bytes_total && p->files_done >= p->files_total)
		secs = 0;
	snprintf(line, sizeof(line), "%s: %llu/%llu files, %s/%s, %s, %s left", pg.label,
	         (unsigned long long) p->files_done, (unsigned long long) p->files_total,
	         human_bytes(done, sizeof(done), (double) p->bytes_done),
	         human_bytes(total, sizeof(total), (double) p->bytes_total), human_rate(rate, sizeof(rate), bps),
	         human_time(left, sizeof(left), secs));
	draw(line);
}
