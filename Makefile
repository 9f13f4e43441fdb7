# mmsync build.  Two builds of the same sources:
#   build/release  no test hooks: `make` (./mmsync), install, demo, bench
#   build/test     -DMMSYNC_TEST (the failpoints of sync/failpoint.h): what
#                  every test runs against; SANITIZE=1 makes it build/asan,
#                  with ASan and UBSan
# `make check` runs every test (unit, system, fuzz replay, man lint);
# `make check-quick` the unit tests and the fast system tests (the edit loop);
# `make check SANITIZE=1` does what check does under ASan and UBSan;
# `make check-valgrind` runs a subset of the system tests under memcheck;
# `make check-all` (what CI runs) does check, check SANITIZE=1, check-valgrind.
# The system tests run in parallel: MMSYNC_TEST_JOBS=N (default: nproc).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

CC ?= cc
PKGS := libgit2 openssl sqlite3 libarchive libzstd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lrsync
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) -pthread

# seconds one system test may take before it fails as hung: room for a slow
# test sharing 2 cores with another (sanitizers make the model and crash tests
# about 2x slower)
TEST_TIMEOUT ?= 300

# R: the release build; O: the test build (test hooks compiled in)
R := build/release
TEST_CFLAGS := -DMMSYNC_TEST
TEST_LDFLAGS :=
ifeq ($(SANITIZE),1)
O := build/asan
TEST_TIMEOUT := 600
TEST_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TEST_LDFLAGS += -fsanitize=address,undefined
else
O := build/test
endif

VV_SRC := $(wildcard vv/*.c)
SYNC_SRC := $(wildcard sync/*.c)
CMD_SRC := $(wildcard cmd/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)

LIB_SRC := $(VV_SRC) $(SYNC_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(O)/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(O)/%.o)
REL_OBJ := $(LIB_SRC:%.c=$(R)/%.o) $(CMD_SRC:%.c=$(R)/%.o)

BIN := $(O)/mmsync
REL_BIN := $(R)/mmsync
UNIT := $(O)/tests/unit/run-unit

.PHONY: all check check-quick check-all check-valgrind unit system system-quick deps demo install clean format bench
.PHONY: lint-man release
all: mmsync
release: $(REL_BIN)

# cp then rename: a running ./mmsync (a test, a sync) never blocks the update
mmsync: $(REL_BIN)
	cp $(REL_BIN) $@.tmp && mv -f $@.tmp $@

$(R)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(R)/libmmsync.a: $(filter-out $(R)/cmd/%,$(REL_OBJ))
	rm -f $@
	ar rcs $@ $^

$(REL_BIN): $(CMD_SRC:%.c=$(R)/%.o) $(R)/libmmsync.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(O)/libmmsync.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(O)/libmmsync.a
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $(CMD_OBJ) $(O)/libmmsync.a $(PKG_LIBS)

$(UNIT): $(UNIT_OBJ) $(O)/libmmsync.a
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $(UNIT_OBJ) $(O)/libmmsync.a $(PKG_LIBS) $(CHECK_LIBS)

# the malicious peer of the t-8x-hostile system tests (tests/hostile/hostile.c)
HOSTILE := $(O)/tests/hostile/mmsync-hostile
.PHONY: hostile
hostile: $(HOSTILE)
$(HOSTILE): $(O)/tests/hostile/hostile.o $(O)/libmmsync.a
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $< $(O)/libmmsync.a $(PKG_LIBS)
-include $(O)/tests/hostile/hostile.d

deps:
	@sh scripts/deps.sh

# Unit tests, then system tests against the test build.  Both runners
# print their summary line; the first failure stops make with an error.
check: deps
	@$(MAKE) --no-print-directory lint unit system lint-man

# the edit loop: unit tests and the system tests not in run.sh's slow list
check-quick: deps
	@$(MAKE) --no-print-directory lint unit system-quick

unit: $(UNIT)
	cd tests/unit && MMSYNC_TEST_TMP=$${TMPDIR:-/tmp} $(CURDIR)/$(UNIT)

SYSTEM_ENV = MMSYNC=$(CURDIR)/$(BIN) MMSYNC_HOSTILE=$(CURDIR)/$(HOSTILE) MMSYNC_TEST_TIMEOUT=$(TEST_TIMEOUT)
system: $(BIN) $(HOSTILE)
	$(SYSTEM_ENV) sh tests/system/run.sh

system-quick: $(BIN) $(HOSTILE)
	$(SYSTEM_ENV) sh tests/system/run.sh --quick

# CI: the plain build, then ASan + UBSan, then valgrind (each prints its summary lines)
check-all: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check SANITIZE=1
	@$(MAKE) --no-print-directory check-valgrind

# System tests under valgrind's memcheck (tests/valgrind/mmsync): the test
# build without sanitizers, local peers included; any error or definite leak fails.
VALGRIND_TESTS ?= t-02 t-05 t-18 t-19 t-20 t-26 t-39 t-75 t-76
VG_LOGS := $(CURDIR)/build/valgrind-logs
check-valgrind: deps
	@$(MAKE) --no-print-directory SANITIZE= build/test/mmsync
	@rm -rf $(VG_LOGS) && mkdir -p $(VG_LOGS)
	MMSYNC=$(CURDIR)/tests/valgrind/mmsync MMSYNC_REAL=$(CURDIR)/build/test/mmsync MMSYNC_VG_LOGS=$(VG_LOGS) \
		MMSYNC_TEST_TIMEOUT=900 sh tests/system/run.sh $(VALGRIND_TESTS)
	@sh tests/valgrind/summary $(VG_LOGS)

# mandoc lint of every page (any message fails), and man/mmsync.1 checked
# against the commands and options of cmd/ (see the script)
lint-man:
	@sh scripts/check-man.sh

demo: deps
	@$(MAKE) --no-print-directory $(REL_BIN)
	MMSYNC=$(CURDIR)/$(REL_BIN) sh scripts/demo.sh

bench: $(REL_BIN)
	MMSYNC=$(CURDIR)/$(REL_BIN) sh bench/run

install: $(REL_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(REL_BIN) $(DESTDIR)$(BINDIR)/mmsync
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 completion/mmsync.bash $(DESTDIR)$(BASHCOMPDIR)/mmsync
	install -m 644 man/mmsync.1 man/mmsync-conflicts.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/mmsync-config.5 $(DESTDIR)$(MANDIR)/man5/

# The C sources in .clang-format's layout: `make format` applies it,
# `make lint` (part of check) fails on any difference, and on an include
# that points the wrong way or closes a cycle (scripts/check-deps.sh).
FORMAT_SRC = $(wildcard vv/*.[ch] sync/*.[ch] cmd/*.[ch] tests/unit/*.[ch] tests/hostile/*.[ch] tests/fuzz/*.[ch] bench/*.[ch])
format:
	clang-format -i $(FORMAT_SRC)

.PHONY: lint check-format check-deps
lint: check-format check-deps
check-format:
	@mkdir -p build; if clang-format --dry-run --Werror $(FORMAT_SRC) 2>build/format.log; then \
		echo "format: $(words $(FORMAT_SRC)) files as .clang-format lays them out"; rm -f build/format.log; \
	else head -40 build/format.log; rm -f build/format.log; \
		echo "format: files differ from .clang-format's layout (run 'make format')"; exit 1; fi
check-deps:
	@sh scripts/check-deps.sh

clean:
	rm -rf build mmsync

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(REL_OBJ:.o=.d)

# ---- fuzzing (tests/fuzz/).  `make fuzz FUZZ_SECONDS=N` builds the libFuzzer
# targets with clang into build/fuzz/ and runs each for N seconds over its
# seed corpus and regression inputs (read only: what it finds goes to
# build/fuzz/work/); it fails when a target crashes (the input is kept in
# build/fuzz/artifacts/).  `make fuzz-replay` runs every seed and regression
# input once through the same entry points built with $(CC): `make check`
# does it, so the corpora stay valid without clang.
FUZZ_TARGETS := frame vv bundle delta
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_O := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -g -O1 -I. $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(VV_SRC:%.c=$(FUZZ_O)/%.o) $(SYNC_SRC:%.c=$(FUZZ_O)/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_O)/fuzz_%)
REPLAY_BINS := $(FUZZ_TARGETS:%=$(O)/tests/fuzz/replay_%)

.PHONY: fuzz fuzz-build fuzz-bins fuzz-replay fuzz-seeds
fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_O) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-bins

fuzz-bins: $(FUZZ_BINS)
	@:

$(FUZZ_O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_O)/libmmsync.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_O)/fuzz_%: $(FUZZ_O)/tests/fuzz/fuzz_%.o $(FUZZ_O)/libmmsync.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ $(PKG_LIBS)

$(O)/tests/fuzz/replay_%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/replay.o $(O)/libmmsync.a
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz-replay: $(REPLAY_BINS)
	@for t in $(FUZZ_TARGETS); do \
		$(O)/tests/fuzz/replay_$$t $$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t || exit 1; \
	done

# the seed corpora: made by tests/fuzz/seeds.c and tests/fuzz/bundle-seeds.sh (then committed)
fuzz-seeds: $(O)/tests/fuzz/seeds $(BIN)
	$(O)/tests/fuzz/seeds tests/fuzz/corpus
	MMSYNC=$(CURDIR)/$(BIN) sh tests/fuzz/bundle-seeds.sh tests/fuzz/corpus/bundle

$(O)/tests/fuzz/seeds: $(O)/tests/fuzz/seeds.o $(O)/libmmsync.a
	$(CC) $(ALL_LDFLAGS) $(TEST_LDFLAGS) -o $@ $^ $(PKG_LIBS)

check: fuzz-replay

# pattern-made objects are intermediate: keep them between builds
.PRECIOUS: $(FUZZ_O)/%.o $(O)/tests/fuzz/%.o
# (the pattern alone did not keep them: named, fuzz-replay stops rebuilding them every time)
.SECONDARY: $(FUZZ_TARGETS:%=$(O)/tests/fuzz/fuzz_%.o) $(O)/tests/fuzz/replay.o $(O)/tests/fuzz/seeds.o

-include $(FUZZ_LIB_OBJ:.o=.d) $(wildcard $(FUZZ_O)/tests/fuzz/*.d $(O)/tests/fuzz/*.d)
