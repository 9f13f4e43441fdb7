#!/usr/bin/env python3
"""Randomized model test of mmsync's sync engine (python3, stdlib only).

A few replicas live side by side in one scratch directory.  Random steps
change them the way a user would (write a file, delete, rename, chmod,
touch (only the mtime changes), mkdir, rmdir of an empty directory) and sync random pairs of them (pull,
push, sync).  The path namespace is small, so that the same paths are
changed concurrently on several replicas and conflicts are common.

Every write puts content that is unique to it ("w<id>\\n" + random bytes,
with a NUL so that it is binary and never text-merged), so the content of a
file names the write that made it.  The oracle keeps *obligations* (C, P):
content C written at (or renamed to) path P.  An obligation goes away only
when a user, on a replica whose P held C, overwrote, deleted or renamed
away P.  Conflict resolution by the tool must never lose content: after
rounds of all-pairs syncs until a round changes nothing, every remaining
obligation (C, P) must hold on every replica: C at P, or at a conflict copy
of P (STEM.conflict-YYYYMMDD-HHMMSS-NAME.EXT beside P, also a copy of a
copy).  Also: all trees identical (paths, types, contents, modes, file
mtimes, link targets), no file ever holds content that was never written,
no temporary file is left, every command exits 0 or 1 (3 only with a
reason printed) with no crash or sanitizer report.

Mode "causal": before a replica changes anything it first syncs, directly,
with the replica that made the previous change, so that every change
descends from all earlier ones.  Then the replica must equal the previous
changer right after that sync, no command may exit 1, there must never be a
conflict copy, `mmsync conflicts` must exit 0 everywhere, and the final
trees must equal the last changer's tree after its last change.

Every write gets a "natural" mtime (now), or with --mtimes distinct a whole
second of its own (then two conflict copies of one path never share a name,
and runs are repeatable).  At the end, `mmsync conflicts --json` must list
every conflict copy there is, on every replica.

Text mode (--text): every file holds UTF-8 text (no NUL), 8 to 20 lines, and
every line ever written is unique: a whole-file write puts lines
"w<id>.<k> <word>", a *line edit* replaces one line of a file on one replica
with "L<id> <word>".  Concurrent edits of different lines of one file are
three-way merged by the tool; edits of the same or adjacent lines conflict
(both versions kept).  The oracle then works per line (token): an obligation
(T, P) is made when token T is written at, or renamed with its file to, path
P, and goes away only when a user, on a replica whose P held T, replaced that
line, rewrote the whole file, deleted P or renamed P away.  At the end every
remaining token must be in the file at P or in a conflict copy of P (a copy of
a copy too), on every replica.  Every file must consist of whole lines that
were written (no garbage, no conflict markers, no line twice), and the
conflicts listed must be of kind "content" or "type", never "binary".  The
"merged" counts of all syncs are summed and printed (merged=N); in causal
mode there must be none (versions that descend from one another are never
merged).

usage: model.py [--seed N] [--steps N] [--replicas N] [--mode random|causal]
                [--text] [--mtimes natural|distinct] [--no-touch] [--keep-going]
                [--dir DIR] [--keep] [--trace]
                [--shrink [--shrink-match REGEX]] [--save FILE] [--replay FILE]
Exits 0 when every check passes, 1 on a failure (the seed, the failing
check, and the steps as a shell script are printed).  --shrink replays
subsets of the steps to find a short list that fails the same way.
"""

import argparse
import json
import os
import random
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

MM = os.environ.get("MMSYNC") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "mmsync")
MM = os.path.abspath(MM)

# The namespace: files (some in directories), and directories.  "d3" is a
# file name and a directory name at once (file against directory conflicts).
FILES = ["a", "b.txt", ".h", "d1/c", "d1/x.tar.gz", "d2/e.txt", "d3", "d3/g"]
DIRS = ["d1", "d2", "d3", "d1/s"]
FILE_MODES = [0o644, 0o600, 0o755, 0o640]
DIR_MODES = [0o755, 0o750, 0o700]
# words of text-mode lines, some of them beyond ASCII (the text is UTF-8)
WORDS = ["apple", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron", "iris", "juniper", "kelp",
         "lotus", "maple", "nectar", "olive", "pine", "quartz", "raven", "sage", "thyme", "umber", "violet",
         "willow", "yarrow", "zinnia", "caf\u00e9", "na\u00efve", "sm\u00f8rbr\u00f8d", "\u017c\u00f3\u0142w",
         "\u65e5\u672c", "\u03a9mega", "Stra\u00dfe"]

CONFLICT_PART = r"\.conflict-[0-9]{8}-[0-9]{6}-[A-Za-z0-9_-]+"
TMP_PREFIX = ".mmsync-tmp."
CRASH_WORDS = ("Sanitizer", "runtime error:", "Segmentation fault", "core dumped", "Assertion", "assertion")


class Failure(Exception):
    def __init__(self, kind, msg):
        super().__init__(msg)
        self.kind = kind
        self.msg = msg


def stem_ext(base):
    """STEM and EXT of a name as the SPEC splits it (EXT with its dot)."""
    dot = base.rfind(".")
    if dot <= 0:
        return base, ""
    return base[:dot], base[dot:]


def conflict_re(path):
    """A regex matching the conflict copies of `path` (and copies of those)."""
    d, _, base = path.rpartition("/")
    stem, ext = stem_ext(base)
    return re.compile(re.escape(stem) + "(" + CONFLICT_PART + ")+" + re.escape(ext) + r"\Z"), d


def is_conflict_copy_name(name):
    return re.search(CONFLICT_PART, name) is not None


def shq(b):
    """A bash printf '%b' argument for the bytes b."""
    out = []
    for ch in b:
        c = chr(ch)
        if (c.isascii() and c.isalnum()) or c in " .-_:=+":
            out.append(c)
        else:
            out.append("\\x%02x" % ch)
    return "'" + "".join(out) + "'"


class Model:
    def __init__(self, args, steps=None):
        self.args = args
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.mode = args.mode
        self.n = args.replicas
        self.names = ["r%d" % i for i in range(self.n)]
        self.given_steps = steps
        self.steps = []  # concrete steps actually carried out (for replay / shrink)
        self.script = []  # the same as shell commands
        self.counter = 0
        self.contents = {}  # bytes -> content id
        self.obligations = set()  # (cid, path)
        self.last_changer = None
        self.expected_final = None
        self.t0 = int(time.time()) - 1000000
        self.noted = []  # --keep-going: problems met on the way
        self.stats = {"sync": 0, "rc1": 0, "conflict_copies": 0, "writes": 0, "skipped": 0, "edits": 0, "merged": 0,
                      "sync_conflicts": 0}
        self.text = bool(getattr(args, "text", False))
        self.tokens = set()  # text mode: every line ever written (without its newline)

    # ------------------------------------------------------------ helpers
    def log(self, line):
        self.script.append(line)
        if self.args.trace:
            print("  " + line, flush=True)

    def rp(self, r, path=""):
        return os.path.join(self.root, r, path) if path else os.path.join(self.root, r)

    def kind(self, r, path):
        try:
            st = os.lstat(self.rp(r, path))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return "d"
        if stat.S_ISREG(st.st_mode):
            return "f"
        if stat.S_ISLNK(st.st_mode):
            return "l"
        return "?"

    def parents_ok(self, r, path):
        """Every directory above `path` is a directory or absent."""
        parts = path.split("/")[:-1]
        for i in range(len(parts)):
            k = self.kind(r, "/".join(parts[: i + 1]))
            if k is None:
                return True
            if k != "d":
                return False
        return True

    @staticmethod
    def lines_of(data):
        """Text mode: the lines of a file's bytes (without their newlines)."""
        text = data.decode("utf-8", "replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines

    def held_in(self, data):
        """What obligations a file with these bytes can meet: its content id, or (text mode) its lines."""
        if self.text:
            return set(self.lines_of(data))
        return {self.contents.get(data, ("unknown", data))}

    def held(self, r, path):
        if self.kind(r, path) != "f":
            return set()
        with open(self.rp(r, path), "rb") as f:
            return self.held_in(f.read())

    def discharge(self, r, path):
        """A user on r replaced or removed what r's path holds."""
        for x in self.held(r, path):
            self.obligations.discard((x, path))

    def run_mm(self, args, what):
        cmd = [MM] + args
        p = subprocess.run(cmd, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        shown = "mmsync %s\n--- exit %d\n--- stdout:\n%s--- stderr:\n%s" % (" ".join(args), p.returncode, out, err)
        for w in CRASH_WORDS:
            if w in err:
                raise Failure("crash", "%s: crash or sanitizer report\n%s" % (what, shown))
        if p.returncode < 0 or p.returncode not in (0, 1):
            raise Failure("exit%d" % p.returncode, "%s: unexpected exit status %d\n%s" % (what, p.returncode, shown))
        return p.returncode, out, err, shown

    # ------------------------------------------------------------ snapshots
    def snapshot(self, r):
        snap = {}
        top = self.rp(r)
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, top)
            rel = "" if rel == "." else rel
            if rel == "":
                dirnames[:] = [d for d in dirnames if d != ".mmsync"]
            for name in sorted(dirnames + filenames):
                p = (rel + "/" + name) if rel else name
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                if stat.S_ISDIR(st.st_mode):
                    snap[p] = ("d", stat.S_IMODE(st.st_mode))
                elif stat.S_ISLNK(st.st_mode):
                    snap[p] = ("l", os.readlink(full))
                elif stat.S_ISREG(st.st_mode):
                    with open(full, "rb") as f:
                        snap[p] = ("f", f.read(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
                else:
                    snap[p] = ("?",)
        return snap

    def show_entry(self, e):
        if e is None:
            return "absent"
        if e[0] == "f":
            c = self.contents.get(e[1])
            if self.text:
                cs = "text [%s]" % " ".join(l.split(" ")[0] if l in self.tokens else "UNKNOWN:%r" % l
                                            for l in self.lines_of(e[1]))
            else:
                cs = ("content w%d" % c) if c is not None else ("UNKNOWN content %r" % e[1][:40])
            return "file %s mode %o mtime %d" % (cs, e[2], e[3])
        if e[0] == "d":
            return "dir mode %o" % e[1]
        return repr(e)

    def diff_snaps(self, a, b, na, nb):
        lines = []
        for p in sorted(set(a) | set(b)):
            if a.get(p) != b.get(p):
                lines.append("  %s: %s has %s; %s has %s" % (p, na, self.show_entry(a.get(p)), nb, self.show_entry(b.get(p))))
        return "\n".join(lines)

    def check_sane(self, r, what):
        """No content that was never written, no temporary file left."""
        for p, e in self.snapshot(r).items():
            base = p.rpartition("/")[2]
            if base.startswith(TMP_PREFIX):
                raise Failure("tmp-left", "%s: temporary file %s/%s left behind" % (what, r, p))
            if e[0] == "f" and self.text:
                self.check_text(r, p, e[1], what)
            elif e[0] == "f" and e[1] not in self.contents:
                raise Failure("garbage", "%s: %s/%s holds content never written: %r" % (what, r, p, e[1][:60]))
            if e[0] in ("l", "?"):
                raise Failure("garbage", "%s: %s/%s is a %s, never made" % (what, r, p, e[0]))
            if self.mode == "causal" and is_conflict_copy_name(base):
                raise Failure("causal-conflict", "%s: conflict copy %s/%s in causal mode" % (what, r, p))

    def check_text(self, r, p, data, what):
        """Text mode: a file is whole lines, each written by some user, none twice."""
        bad = None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
            bad = "is not UTF-8"
        if text is not None:
            if "\0" in text:
                bad = "holds a NUL byte"
            elif text and not text.endswith("\n"):
                bad = "does not end with a newline"
            else:
                seen = set()
                for l in self.lines_of(data):
                    if l not in self.tokens:
                        bad = "holds a line never written: %r" % l[:80]
                        break
                    if l in seen:
                        bad = "holds the line %r twice" % l
                        break
                    seen.add(l)
        if bad:
            raise Failure("garbage", "%s: %s/%s %s; it holds:\n%s" % (what, r, p, bad,
                                                                        data.decode("utf-8", "replace")[:2000]))

    # ------------------------------------------------------------ step generation
    def gen_step(self):
        if self.text:
            return self.gen_step_text()
        rng = self.rng
        r = rng.choice(self.names)
        x = rng.random()
        if x < 0.38:
            op = rng.choice(["pull", "push", "sync", "sync"])
            s = rng.choice([n for n in self.names if n != r])
            return ("sync", op, r, s)
        if x < 0.41 and not self.args.no_touch:
            self.counter += 1
            return ("touch", r, rng.choice(FILES), self.counter)
        if x < 0.68:
            path = rng.choice(FILES)
            self.counter += 1
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
            data = b"w%d\n\0" % self.counter + body
            how = rng.choice(["inplace", "inplace", "replace"])
            return ("write", r, path, data, how)
        if x < 0.78:
            return ("delete", r, rng.choice(FILES))
        if x < 0.85:
            return ("rename", r, rng.choice(FILES), rng.choice(FILES))
        if x < 0.91:
            if rng.random() < 0.7:
                return ("chmod", r, rng.choice(FILES), rng.choice(FILE_MODES))
            return ("chmod", r, rng.choice(DIRS), rng.choice(DIR_MODES))
        if x < 0.96:
            return ("mkdir", r, rng.choice(DIRS))
        return ("rmdir", r, rng.choice(DIRS))

    def gen_step_text(self):
        """Text mode: line edits, whole-file writes of text, and the other steps."""
        rng = self.rng
        r = rng.choice(self.names)
        x = rng.random()
        if x < 0.36:
            op = rng.choice(["pull", "push", "sync", "sync"])
            s = rng.choice([n for n in self.names if n != r])
            return ("sync", op, r, s)
        if x < 0.38 and not self.args.no_touch:
            self.counter += 1
            return ("touch", r, rng.choice(FILES), self.counter)
        if x < 0.72:
            # a line of a file r holds (chosen now; in causal mode the sync before may change that)
            have = [p for p in FILES if self.kind(r, p) == "f"]
            self.counter += 1
            tok = "L%d %s" % (self.counter, rng.choice(WORDS))
            return ("edit", r, rng.choice(have or FILES), rng.randrange(1 << 30), tok,
                    rng.choice(["inplace", "replace"]), self.counter)
        if x < 0.83:
            path = rng.choice(FILES)
            self.counter += 1
            n = rng.randrange(8, 21)
            data = "".join("w%d.%d %s\n" % (self.counter, k, rng.choice(WORDS)) for k in range(1, n + 1))
            how = rng.choice(["inplace", "inplace", "replace"])
            return ("write", r, path, data.encode("utf-8"), how)
        if x < 0.89:
            return ("delete", r, rng.choice(FILES))
        if x < 0.93:
            return ("rename", r, rng.choice(FILES), rng.choice(FILES))
        if x < 0.97:
            if rng.random() < 0.7:
                return ("chmod", r, rng.choice(FILES), rng.choice(FILE_MODES))
            return ("chmod", r, rng.choice(DIRS), rng.choice(DIR_MODES))
        if x < 0.985:
            return ("mkdir", r, rng.choice(DIRS))
        return ("rmdir", r, rng.choice(DIRS))

    # ------------------------------------------------------------ step execution
    def applicable(self, st):
        k = st[0]
        if k == "sync":
            return True
        r = st[1]
        if k == "write":
            return self.kind(r, st[2]) in (None, "f") and self.parents_ok(r, st[2])
        if k in ("delete", "touch"):
            return self.kind(r, st[2]) == "f"
        if k == "edit":
            if self.kind(r, st[2]) != "f":
                return False
            with open(self.rp(r, st[2]), "rb") as f:
                return len(self.lines_of(f.read())) > 0
        if k == "rename":
            src, dst = st[2], st[3]
            return (src != dst and self.kind(r, src) == "f" and self.kind(r, dst) in (None, "f")
                    and self.parents_ok(r, dst) and not dst.startswith(src + "/"))
        if k == "chmod":
            want = "f" if st[2] in FILES and st[3] in FILE_MODES else "d"
            return self.kind(r, st[2]) == want and (st[2] not in DIRS or st[3] in DIR_MODES)
        if k == "mkdir":
            return self.kind(r, st[2]) is None and self.parents_ok(r, st[2])
        if k == "rmdir":
            return self.kind(r, st[2]) == "d" and not os.listdir(self.rp(r, st[2]))
        return False

    def mkparents(self, r, path):
        d = path.rpartition("/")[0]
        if d and self.kind(r, d) is None:
            os.makedirs(self.rp(r, d))
            self.log("mkdir -p %s" % shlex.quote(r + "/" + d))

    def do_sync(self, op, r, s, what=None):
        what = what or "%s %s %s" % (r, op, s)
        self.log("$MMSYNC -C %s %s %s   # exit" % (r, op, s))
        try:
            rc, out, err, shown = self.run_mm(["--json", "-C", r, op, s], what)
        except Failure as f:
            self.script[-1] += " " + f.kind.replace("exit", "") + "  <-- FAILED"
            if self.args.keep_going and f.kind.startswith("exit"):
                self.noted.append(f)
                return {}
            raise
        self.script[-1] += " %d" % rc
        self.stats["sync"] += 1
        if rc == 1:
            self.stats["rc1"] += 1
            if self.mode == "causal":
                raise Failure("causal-conflict", "%s: exit 1 (open conflicts) in causal mode\n%s" % (what, shown))
        try:
            objs = [json.loads(l) for l in out.splitlines() if l.strip()]
        except ValueError:
            raise Failure("json", "%s: stdout is not JSON lines\n%s" % (what, shown))
        if len(objs) != 1:
            raise Failure("json", "%s: %d JSON objects, want 1\n%s" % (what, len(objs), shown))
        j = objs[0]
        merged = j.get("merged")
        if not isinstance(merged, int) or not isinstance(j.get("conflicts"), int):
            raise Failure("json", "%s: no integer \"merged\" and \"conflicts\" in the summary\n%s" % (what, shown))
        self.stats["merged"] += merged
        self.stats["sync_conflicts"] += j["conflicts"]
        if merged and self.mode == "causal":
            raise Failure("causal-merge", "%s: %d merged in causal mode (every version descends from the "
                          "previous one: nothing is concurrent)\n%s" % (what, merged, shown))
        problem = None
        if j.get("failed") or not j.get("ok", True):
            problem = Failure("failed", "%s: %s failed paths\n%s" % (what, j.get("failed"), shown))
        elif err.strip():
            # warnings on a sequential run are unexpected: a skipped path means a sync that did not finish
            problem = Failure("warning", "%s: unexpected warnings\n%s" % (what, shown))
        if problem:
            self.script[-1] += "  <-- " + problem.kind
            if not self.args.keep_going:
                raise problem
            self.noted.append(problem)
        self.check_sane(r, what)
        self.check_sane(s, what)
        return j

    def causal_prelude(self, r):
        """Causal mode: before a change on r, r syncs with the previous changer."""
        if self.mode != "causal":
            return
        prev = self.last_changer
        if prev is not None and prev != r:
            self.do_sync("sync", r, prev, "causal sync %s with %s" % (r, prev))
            a, b = self.snapshot(r), self.snapshot(prev)
            if a != b:
                raise Failure("causal-diverge", "after '%s sync %s', %s differs from %s, which made every earlier change:\n%s"
                              % (r, prev, r, prev, self.diff_snaps(a, b, r, prev)))

    def execute(self, st):
        k = st[0]
        if k == "sync":
            self.do_sync(st[1], st[2], st[3])
            self.steps.append(st)
            return
        r = st[1]
        self.causal_prelude(r)
        if not self.applicable(st):
            self.stats["skipped"] += 1
            return
        self.steps.append(st)
        if k == "write":
            path, data, how = st[2], st[3], st[4]
            self.discharge(r, path)
            self.mkparents(r, path)
            self.contents[data] = int(data.split(b"\n")[0].split(b".")[0].split(b" ")[0][1:])
            self.stats["writes"] += 1
            if how == "inplace":
                with open(self.rp(r, path), "wb") as f:
                    f.write(data)
                self.log("printf '%%b' %s >%s" % (shq(data), shlex.quote(r + "/" + path)))
            else:
                tmp = os.path.join(self.root, "tmp-write")
                with open(tmp, "wb") as f:
                    f.write(data)
                os.rename(tmp, self.rp(r, path))
                self.log("printf '%%b' %s >tmp-write && mv tmp-write %s" % (shq(data), shlex.quote(r + "/" + path)))
            if self.args.mtimes == "distinct":
                # each write its own whole second, in the order of the writes: conflict copies never share a name
                t = (self.t0 + self.contents[data]) * 1000000000
                os.utime(self.rp(r, path), ns=(t, t))
                self.log("touch -d @%d %s" % (t // 1000000000, shlex.quote(r + "/" + path)))
            if self.text:
                for l in self.lines_of(data):
                    self.tokens.add(l)
                    self.obligations.add((l, path))
            else:
                self.obligations.add((self.contents[data], path))
        elif k == "edit":
            self.do_edit(r, st)
        elif k == "delete":
            path = st[2]
            self.discharge(r, path)
            os.unlink(self.rp(r, path))
            self.log("rm %s" % shlex.quote(r + "/" + path))
        elif k == "rename":
            src, dst = st[2], st[3]
            xs = self.held(r, src)
            self.discharge(r, src)
            self.discharge(r, dst)
            self.mkparents(r, dst)
            os.rename(self.rp(r, src), self.rp(r, dst))
            self.log("mv %s %s" % (shlex.quote(r + "/" + src), shlex.quote(r + "/" + dst)))
            for x in xs:
                self.obligations.add((x, dst))
        elif k == "chmod":
            os.chmod(self.rp(r, st[2]), st[3])
            self.log("chmod %o %s" % (st[3], shlex.quote(r + "/" + st[2])))
        elif k == "touch":
            # only the modification time changes
            if self.args.mtimes == "distinct":
                t = (self.t0 + st[3]) * 1000000000
                os.utime(self.rp(r, st[2]), ns=(t, t))
                self.log("touch -d @%d %s" % (t // 1000000000, shlex.quote(r + "/" + st[2])))
            else:
                os.utime(self.rp(r, st[2]))
                self.log("touch %s" % shlex.quote(r + "/" + st[2]))
        elif k == "mkdir":
            os.makedirs(self.rp(r, st[2]))
            self.log("mkdir -p %s" % shlex.quote(r + "/" + st[2]))
        elif k == "rmdir":
            os.rmdir(self.rp(r, st[2]))
            self.log("rmdir %s" % shlex.quote(r + "/" + st[2]))
        self.last_changer = r
        if self.mode == "causal":
            self.expected_final = self.snapshot(r)

    def do_edit(self, r, st):
        """Text mode: replace one line of r's file at path with a new token line."""
        path, pick, tok, how, cnt = st[2], st[3], st[4], st[5], st[6]
        full = self.rp(r, path)
        with open(full, "rb") as f:
            lines = self.lines_of(f.read())
        i = pick % len(lines)
        old = lines[i]
        self.obligations.discard((old, path))
        lines[i] = tok
        self.tokens.add(tok)
        self.obligations.add((tok, path))
        data = ("".join(l + "\n" for l in lines)).encode("utf-8")
        self.stats["edits"] += 1
        q = shlex.quote(r + "/" + path)
        sed = shlex.quote("%ds/.*/%s/" % (i + 1, tok))
        if how == "inplace":
            with open(full, "wb") as f:
                f.write(data)
            self.log("sed %s %s >tmp-write && cat tmp-write >%s && rm tmp-write   # line %d: %s -> %s"
                     % (sed, q, q, i + 1, old.split(" ")[0], tok.split(" ")[0]))
        else:
            tmp = os.path.join(self.root, "tmp-write")
            with open(tmp, "wb") as f:
                f.write(data)
            os.chmod(tmp, stat.S_IMODE(os.stat(full).st_mode))
            os.rename(tmp, full)
            self.log("sed %s %s >tmp-write && chmod --reference=%s tmp-write && mv tmp-write %s   # line %d: %s -> %s"
                     % (sed, q, q, q, i + 1, old.split(" ")[0], tok.split(" ")[0]))
        if self.args.mtimes == "distinct":
            t = (self.t0 + cnt) * 1000000000
            os.utime(full, ns=(t, t))
            self.log("touch -d @%d %s" % (t // 1000000000, q))

    # ------------------------------------------------------------ the end
    def converge(self):
        pairs = [(a, b) for i, a in enumerate(self.names) for b in self.names[i + 1:]]
        before = {r: self.snapshot(r) for r in self.names}
        for rnd in range(6):
            self.log("# convergence round %d" % (rnd + 1))
            busy = False
            for a, b in pairs:
                j = self.do_sync("sync", a, b, "convergence round %d: %s sync %s" % (rnd + 1, a, b))
                if any(j.get(f) for f in ("files_in", "files_out", "deleted", "conflicts", "merged")):
                    busy = True
            after = {r: self.snapshot(r) for r in self.names}
            if not busy and after == before:
                return rnd + 1
            before = after
        raise Failure("no-convergence", "all-pairs syncs still change something after 6 rounds")

    def final_checks(self):
        snaps = {r: self.snapshot(r) for r in self.names}
        first = self.names[0]
        for r in self.names[1:]:
            if snaps[r] != snaps[first]:
                raise Failure("trees-differ", "after convergence %s and %s differ:\n%s"
                              % (first, r, self.diff_snaps(snaps[first], snaps[r], first, r)))
        for r in self.names:
            self.check_sane(r, "final")
            # the store agrees with itself and with the tree (`mmsync check`)
            p = subprocess.run([MM, "-C", r, "check"], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise Failure("check", "mmsync -C %s check: exit %d\n%s%s"
                              % (r, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))
        lost = []
        for (c, path) in sorted(self.obligations, key=lambda o: (o[1], str(o[0]))):
            rx, d = conflict_re(path)
            for r in self.names:
                e = snaps[r].get(path)
                if e and e[0] == "f" and c in self.held_in(e[1]):
                    continue
                ok = False
                for p, e2 in snaps[r].items():
                    pd, _, pb = p.rpartition("/")
                    if pd == d and e2[0] == "f" and rx.match(pb) and c in self.held_in(e2[1]):
                        ok = True
                        break
                if not ok:
                    where = [p for p, e2 in snaps[r].items() if e2[0] == "f" and c in self.held_in(e2[1])]
                    what = ("line %r" % c) if self.text else ("content w%s" % c)
                    lost.append("  %s written at (or renamed to) %s: not at %s/%s nor in a conflict copy of it%s"
                                % (what, path, r, path, (" (found at %s)" % ", ".join(where)) if where else " (nowhere)"))
                    break
        if lost:
            tree = "\n".join("  %s: %s" % (p, self.show_entry(e)) for p, e in sorted(snaps[first].items()))
            raise Failure("lost", "content lost (no user replaced or deleted it):\n%s\nfinal tree:\n%s" % ("\n".join(lost), tree))
        copies = [p for p in snaps[first] if is_conflict_copy_name(p.rpartition("/")[2])]
        self.stats["conflict_copies"] = len(copies)
        if self.mode == "random":
            # every conflict copy belongs to an open conflict, listed on every replica (nobody resolved any)
            for r in self.names:
                args = ["--json", "-C", r, "conflicts"]
                rc, out, err, shown = self.run_mm(args, "conflicts on %s" % r)
                try:
                    listed = json.loads(out)
                    paths = {c["path"] for c in listed}
                    lcopies = {x for c in listed for x in c.get("copies", [])}
                except (ValueError, KeyError, TypeError):
                    raise Failure("conflict-list", "'mmsync --json -C %s conflicts': not the JSON expected\n%s" % (r, shown))
                if self.text:
                    kinds = sorted({str(c.get("kind")) for c in listed} - {"content", "type"})
                    if kinds:
                        raise Failure("conflict-kind", "'mmsync -C %s conflicts': kind %s for text files (want "
                                      "content or type)\n%s" % (r, ", ".join(kinds), shown))
                if (rc == 1) != bool(listed):
                    raise Failure("conflict-list", "'mmsync -C %s conflicts': exit %d with %d conflicts\n%s"
                                  % (r, rc, len(listed), shown))
                missing = sorted(set(copies) - lcopies)
                dangling = sorted(lcopies - set(copies))
                if missing or dangling:
                    raise Failure("conflict-list", "'mmsync -C %s conflicts' does not list the conflict copies there are:\n"
                                  "  conflict copies not listed: %s\n  listed copies that do not exist: %s\n  %s"
                                  % (r, " ".join(missing) or "-", " ".join(dangling) or "-", shown.replace("\n", "\n  ")))
        if self.mode == "causal":
            if self.expected_final is not None and snaps[first] != self.expected_final:
                raise Failure("causal-final", "final tree is not the last changer's (%s) tree after its last change:\n%s"
                              % (self.last_changer, self.diff_snaps(self.expected_final, snaps[first], "expected", "got")))
            for r in self.names:
                rc, out, err, shown = self.run_mm(["-C", r, "conflicts"], "conflicts on %s" % r)
                if rc != 0 or out.strip():
                    raise Failure("causal-conflict", "'mmsync -C %s conflicts' in causal mode:\n%s" % (r, shown))

    # ------------------------------------------------------------ main
    def run(self):
        if self.args.dir:
            self.root = os.path.abspath(self.args.dir)
            if os.path.exists(self.root):
                shutil.rmtree(self.root)
            os.makedirs(self.root)
        else:
            self.root = tempfile.mkdtemp(prefix="model-", dir=os.getcwd())
        self.log("# mmsync model test: seed %d, mode %s%s, %d replicas" % (self.seed, self.mode,
                                                                          " text" if self.text else "", self.n))
        self.log("# run in an empty directory with MMSYNC set to the binary")
        try:
            for r in self.names:
                self.log("$MMSYNC init %s --name %s >/dev/null" % (r, r))
                p = subprocess.run([MM, "init", r, "--name", r], cwd=self.root, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
                if p.returncode != 0:
                    raise Failure("init", "init %s: exit %d: %s" % (r, p.returncode, p.stderr.decode()))
                # random steps empty replicas and delete most of them: the deletion guard is tested elsewhere
                self.log("printf '[sync]\\n\\tmaxDelete = 100%%%%\\n' >>%s/.mmsync/config" % r)
                with open(os.path.join(self.root, r, ".mmsync", "config"), "a") as f:
                    f.write("[sync]\n\tmaxDelete = 100%\n")
            if self.given_steps is not None:
                for st in self.given_steps:
                    self.execute(st)
            else:
                for _ in range(self.args.steps):
                    self.execute(self.gen_step())
            self.stats["rounds"] = self.converge()
            self.final_checks()
            if self.noted:
                f = self.noted[0]
                f.msg += "\n(%d problems on the way; the others:)\n" % len(self.noted) + "\n".join(x.msg for x in self.noted[1:])
                return f
            return None
        except Failure as f:
            if self.noted:
                f.msg += "\n(and %d problems on the way, first:)\n%s" % (len(self.noted), self.noted[0].msg)
            return f
        finally:
            if not self.args.keep and not self.args.dir:
                shutil.rmtree(self.root, ignore_errors=True)


def run_steps(args, steps):
    m = Model(args, steps)
    return m, m.run()


def shrink(args, steps, kind):
    """ddmin over the carried-out steps, keeping a failure of the same kind."""
    quiet = argparse.Namespace(**vars(args))
    quiet.trace = False
    quiet.keep = False
    quiet.dir = None
    tries = 0

    def fails(sub):
        nonlocal tries
        tries += 1
        _, f = run_steps(quiet, sub)
        if f is None:
            return False
        if args.shrink_match:
            return re.search(args.shrink_match, f.msg) is not None
        return f.kind == kind

    n = 2
    while len(steps) >= 2:
        chunk = max(1, len(steps) // n)
        reduced = False
        for i in range(0, len(steps), chunk):
            sub = steps[:i] + steps[i + chunk:]
            if sub and fails(sub):
                steps = sub
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(steps), n * 2)
        print("  shrink: %d steps (%d tries)" % (len(steps), tries), file=sys.stderr, flush=True)
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--replicas", type=int, default=None)
    ap.add_argument("--mode", choices=["random", "causal"], default="random")
    ap.add_argument("--text", action="store_true",
                    help="files hold text (8-20 unique lines) and line edits are steps: concurrent edits merge")
    ap.add_argument("--mtimes", choices=["natural", "distinct"], default="natural",
                    help="distinct: each write gets its own whole-second mtime (as if by touch), so that two "
                    "conflict copies of one path never share a name")
    ap.add_argument("--keep-going", action="store_true",
                    help="note exit 3, failed paths and warnings of a sync, and go on (to find more problems)")
    ap.add_argument("--no-touch", action="store_true", help="no mtime-only changes")
    ap.add_argument("--dir", help="work here (made anew, kept) instead of a temporary directory")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--trace", action="store_true", help="print each step as it is carried out")
    ap.add_argument("--shrink", action="store_true", help="on failure, look for a shorter list of steps")
    ap.add_argument("--shrink-match", help="shrink: keep only failures whose message matches this regex")
    ap.add_argument("--replay", help="carry out the steps of this JSON file (written with --save)")
    ap.add_argument("--save", help="on failure, save the (shrunk) steps here as JSON")
    args = ap.parse_args()
    if args.replicas is None:
        args.replicas = 3 + args.seed % 3
    if not os.access(MM, os.X_OK):
        print("model: MMSYNC=%s is not executable" % MM)
        return 1
    steps = None
    if args.replay:
        with open(args.replay) as f:
            steps = [tuple(bytes.fromhex(x[4:]) if isinstance(x, str) and x.startswith("hex:") else x for x in s)
                     for s in json.load(f)]
    t0 = time.time()
    m, f = run_steps(args, steps)
    label = "model seed=%d mode=%s%s replicas=%d steps=%d mtimes=%s" % (
        args.seed, args.mode, " text" if args.text else "", args.replicas, args.steps, args.mtimes)
    if f is None:
        print("ok   %s: %d syncs (%d exit 1), %d writes, %s%d skipped steps, %d conflict copies, converged in %d rounds, "
              "merged=%d conflicts=%d, %.1fs"
              % (label, m.stats["sync"], m.stats["rc1"], m.stats["writes"],
                 ("%d line edits, " % m.stats["edits"]) if args.text else "", m.stats["skipped"],
                 m.stats["conflict_copies"], m.stats["rounds"], m.stats["merged"], m.stats["sync_conflicts"],
                 time.time() - t0))
        return 0
    print("FAIL %s (%s)  merged=%d so far" % (label, f.kind, m.stats["merged"]))
    print(f.msg)
    steps = m.steps
    script = m.script
    if args.shrink:
        steps = shrink(args, steps, f.kind)
        m2, f2 = run_steps(argparse.Namespace(**dict(vars(args), trace=False, keep=False, dir=None)), steps)
        if f2 is not None:
            print("--- shrunk to %d steps; it fails with:" % len(steps))
            print(f2.msg)
            script = m2.script
    if args.save:
        with open(args.save, "w") as fp:
            json.dump([[("hex:" + x.hex()) if isinstance(x, bytes) else x for x in s] for s in steps], fp)
    print("--- the steps, as a shell script (reproduce: python3 %s --seed %d --mode %s%s --replicas %d --steps %d --mtimes %s --trace):"
          % (os.path.abspath(__file__), args.seed, args.mode, " --text" if args.text else "", args.replicas, args.steps,
             args.mtimes))
    print("\n".join(script))
    return 1


if __name__ == "__main__":
    sys.exit(main())
