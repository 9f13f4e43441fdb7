#!/usr/bin/env python3
"""Failpoint crash test driver for mmsync (t-41); python3, stdlib only.

  model_crash.py [--header sync/failpoint.h] [--only FAILPOINT] [--scenarios a,b] [--verbose]

Runs in the current directory, with MMSYNC naming the binary.  For every
failpoint that sync/failpoint.h lists (MMSYNC_FAILPOINT=NAME[:N] ends a
process with _exit(99) at the N-th pass; the client and its child `mmsync
serve` both inherit it), at its first pass and at a pass in the middle of
the work, in these scenarios:

  init-pull   B (new, empty) pulls a tree of ~210 files, 26 dirs, 10 links, ~3 MB from A
  init-push   A pushes that tree to B (new, empty): B's serve process receives
  edit-pull   A and B in sync, then edited apart (different paths on each:
              rewrites, some with size and mtime kept, deletions, file and
              directory renames, chmods, file <-> directory, links): B pulls
  edit-push   the same edits: A pushes to B
  edit-sync   the same edits: B syncs with A (both sides receive)

it checks that
  - the command fails (exit 99: killed; or 3: its peer was killed), with no
    crash report; a pass never reached must leave the whole work done;
  - right after it, every path of a receiving side holds what it held
    before or, where the sender changed it, the sender's version (a file's
    content, mode and mtime together: never a partial or mixed file), and
    a sending side is unchanged;
  - then a clean `mmsync -C B sync A` exits 0, both trees equal the expected
    tree (paths, types, contents, modes, mtimes, link targets), with no
    conflict copy and no temporary file, `mmsync conflicts` exits 0 and lists
    nothing on both, and one more sync has nothing left to do.
Exits 1 when any case fails; prints one summary line.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_tree as mt  # noqa: E402

MM = os.path.abspath(os.environ.get("MMSYNC") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../mmsync"))
FALLBACK = ("recv-row apply-mkdir apply-symlink apply-remove apply-tmp-written apply-sync-data apply-journal "
            "apply-rename apply-sync-renames apply-before-commit apply-commit send-data").split()
CRASH_WORDS = ("Sanitizer", "runtime error:", "Segmentation fault", "Assertion")

# A pass in the middle of the work: per row, per file, per directory, per
# link, per removal, per 256 KiB chunk sent, or per batch of the apply.
MID = {"recv-row": 120, "apply-tmp-written": 90, "apply-rename": 90, "apply-mkdir": 12, "apply-symlink": 4,
       "apply-remove": 40, "send-data": 50}
EDIT_MID = {"recv-row": 60, "apply-tmp-written": 30, "apply-rename": 30, "apply-mkdir": 3, "apply-symlink": 2,
            "apply-remove": 40, "send-data": 20}


def failpoints(header):
    try:
        with open(header) as f:
            names = re.findall(r"^ \*   ([a-z][a-z-]+)\s", f.read(), re.M)
    except OSError:
        names = []
    return names or FALLBACK


def mm(args, env_fp=None, timeout=120):
    env = dict(os.environ)
    env.pop("MMSYNC_FAILPOINT", None)
    env.pop("MMSYNC_PAUSE", None)
    if env_fp:
        env["MMSYNC_FAILPOINT"] = env_fp
    p = subprocess.Popen([MM] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return 124, out.decode("utf-8", "replace"), err.decode("utf-8", "replace") + "\n(killed after %d s)" % timeout
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def shown(args, rc, out, err):
    return "mmsync %s\n    --- exit %d\n    --- stdout:\n%s    --- stderr:\n%s" % (
        " ".join(args), rc, indent(out), indent(err))


def indent(s):
    return "".join("      " + l + "\n" for l in s.splitlines())


def diff(a, b, na, nb, dir_modes=True):
    bad = []
    for p in sorted(set(a) | set(b)):
        ea, eb = a.get(p), b.get(p)
        if not dir_modes and ea and eb and ea[0] == eb[0] == "d":
            continue
        if ea != eb:
            bad.append("      %s: %s has %s, %s has %s" % (p, na, mt.show(ea), nb, mt.show(eb)))
    return bad


def crash_bad(now, before, base, src):
    """Paths of `now` that hold neither what they held before nor the sender's new version."""
    bad = []
    for p in sorted(set(now) | set(before) | set(src)):
        if mt.is_tmp(p):
            continue
        e = now.get(p)
        allowed = [before.get(p)]
        if src.get(p) != base.get(p):
            allowed.append(src.get(p))
        ok = any(e == a or (e and a and e[0] == a[0] == "d") for a in allowed)
        b, n = before.get(p), src.get(p)
        # a path whose type changes (file <-> directory <-> link) cannot be replaced in one step
        if not ok and e is None and b and n and b[0] != n[0] and n in allowed:
            ok = True
        if not ok:
            bad.append("      %s: %s; allowed: %s" % (p, mt.show(e), " or ".join(mt.show(a) for a in allowed)))
    return bad


def leftovers(snap, name):
    out = []
    for p in snap:
        b = os.path.basename(p)
        if b.startswith(mt.TMP_PREFIX):
            out.append("      %s/%s: temporary file left behind" % (name, p))
        elif mt.CONFLICT_RE.search(b):
            out.append("      %s/%s: conflict copy" % (name, p))
    return out


class Run:
    def __init__(self, opts):
        self.opts = opts
        self.cases = 0
        self.crashed = 0
        self.problems = []
        self.reached = set()
        self.not_reached = []

    def problem(self, what, msg):
        self.problems.append("FAIL: %s: %s" % (what, msg))
        print(self.problems[-1], flush=True)

    def setup(self):
        os.makedirs("tpl")
        self.must(["init", "tpl/A", "--name", "A"])
        mt.cmd_build(["tpl/A"], 41, 200, 25, 10, [700 * 1024, 1300 * 1024])
        self.must(["-q", "-C", "tpl/A", "scan"])
        self.init_src = mt.snap("tpl/A")
        # the edited pair: in sync, then edited apart; EXP is what both must end with
        os.makedirs("tple")
        shutil.copytree("tpl/A", "tple/A", symlinks=True)
        self.must(["init", "tple/B", "--name", "B"])
        self.must(["-q", "-C", "tple/B", "pull", "tple/A"])
        if mt.snap("tple/A") != mt.snap("tple/B"):
            raise SystemExit("FAIL: the first, clean sync left A and B different:\n" +
                             "\n".join(diff(mt.snap("tple/A"), mt.snap("tple/B"), "A", "B")))
        shutil.copytree("tple/A", "tple/EXP", symlinks=True, ignore=shutil.ignore_patterns(".mmsync"))
        self.base = mt.snap("tple/A")
        mt.cmd_edit("a", ["tple/A", "tple/EXP"], 41)
        mt.cmd_edit("b", ["tple/B", "tple/EXP"], 41)
        self.a_now = mt.snap("tple/A")
        self.b_now = mt.snap("tple/B")
        self.exp = mt.snap("tple/EXP")

    def must(self, args):
        rc, out, err = mm(args)
        if rc != 0:
            raise SystemExit("FAIL: setting up: " + shown(args, rc, out, err))

    def one(self, sc, fp, n):
        what = "%s with MMSYNC_FAILPOINT=%s:%d" % (sc, fp, n)
        for d in ("A", "B"):
            if os.path.exists(d):
                shutil.rmtree(d)
        if sc.startswith("init"):
            shutil.copytree("tpl/A", "A", symlinks=True)
            rc, out, err = mm(["init", "B", "--name", "B"])
            before_b, base, src_a = {}, {}, self.init_src
            before_a = self.init_src
        else:
            shutil.copytree("tple/A", "A", symlinks=True)
            shutil.copytree("tple/B", "B", symlinks=True)
            before_b, base, src_a = self.b_now, self.base, self.a_now
            before_a = self.a_now
        self.cases += 1
        args = {"pull": ["-q", "-C", "B", "pull", "A"], "push": ["-q", "-C", "A", "push", "B"],
                "sync": ["-q", "-C", "B", "sync", "A"]}[sc.split("-")[1]]
        t0 = time.time()
        rc, out, err = mm(args, "%s:%d" % (fp, n))
        if any(w in err for w in CRASH_WORDS):
            self.problem(what, "crash report\n    " + shown(args, rc, out, err))
        if rc == 0:
            self.not_reached.append("%s:%s:%d" % (sc, fp, n))
        else:
            self.crashed += 1
            self.reached.add(fp)
            if rc not in (99, 3):
                self.problem(what, "exit %d, want 99 (killed) or 3 (its peer was killed)\n    %s"
                             % (rc, shown(args, rc, out, err)))
        # right after the crash
        now_b = mt.snap("B")
        bad = crash_bad(now_b, before_b, base, src_a)
        if bad:
            self.problem(what, "right after the crash, B holds what it never should:\n" + "\n".join(bad[:30]))
        now_a = mt.snap("A")
        if sc.endswith("sync"):
            bad = crash_bad(now_a, before_a, base, self.b_now)
            if bad:
                self.problem(what, "right after the crash, A holds what it never should:\n" + "\n".join(bad[:30]))
        elif now_a != before_a:
            self.problem(what, "the sending side A changed:\n" + "\n".join(diff(before_a, now_a, "before", "after")[:30]))
        if rc == 0 and sc != "edit-sync":
            # the whole work was done: B must already be complete
            want = self.init_src if sc.startswith("init") else self.exp
            if now_b != want:
                self.problem(what, "exit 0 without the work done:\n" + "\n".join(diff(want, now_b, "A", "B")[:30]))
        # a clean run completes the work
        clean = ["--json", "-C", "B", "sync", "A"]
        rc, out, err = mm(clean)
        if rc != 0:
            self.problem(what, "then a clean sync: exit %d, want 0\n    %s" % (rc, shown(clean, rc, out, err)))
            return
        try:
            j = json.loads(out)
        except ValueError:
            j = {}
        if j.get("conflicts") or (sc.startswith("init") and j.get("files_out")):
            # B had nothing of its own: what it received before the crash must not go back as its own
            self.problem(what, "then a clean sync: %s\n    %s" % (
                "conflicts" if j.get("conflicts") else "files sent back to A", shown(clean, rc, out, err)))
        want = self.init_src if sc.startswith("init") else self.exp
        for d in ("A", "B"):
            got = mt.snap(d)
            bad = diff(want, got, "expected", d) + leftovers(got, d)
            if bad:
                self.problem(what, "then a clean sync, %s is not as expected:\n%s" % (d, "\n".join(bad[:30])))
        for d in ("A", "B"):
            a = ["-C", d, "conflicts"]
            rc, out, err = mm(a)
            if rc != 0 or out.strip():
                self.problem(what, "then a clean sync: open conflicts\n    " + shown(a, rc, out, err))
        again = ["--json", "-C", "B", "sync", "A"]
        rc, out, err = mm(again)
        try:
            j = json.loads(out)
        except ValueError:
            j = {}
        if rc != 0 or any(j.get(k) for k in ("files_in", "files_out", "deleted", "conflicts")) or not j:
            self.problem(what, "then a clean sync: one more sync still had work\n    " + shown(again, rc, out, err))
        if self.opts.get("verbose"):
            print("  %s: %.2fs" % (what, time.time() - t0), flush=True)


def main(argv):
    opts = {"header": os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../sync/failpoint.h")}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--verbose":
            opts["verbose"] = True
            i += 1
        else:
            opts[a[2:]] = argv[i + 1]
            i += 2
    fps = failpoints(opts["header"])
    if opts.get("only"):
        fps = [f for f in fps if f in opts["only"].split(",")]
    scen = opts.get("scenarios", "init-pull,init-push,edit-pull,edit-push,edit-sync").split(",")
    r = Run(opts)
    t0 = time.time()
    r.setup()
    for fp in fps:
        for sc in scen:
            passes = [1, (MID if sc.startswith("init") else EDIT_MID).get(fp, 2)]
            for n in passes:
                r.one(sc, fp, n)
    never = [f for f in fps if f not in r.reached]
    if never:
        r.problem("coverage", "failpoints never reached in any case: %s" % " ".join(never))
    print("crash-failpoints: %d failpoints, %d cases, %d crashed, %d problems, %.0f s"
          % (len(fps), r.cases, r.crashed, len(r.problems), time.time() - t0))
    if r.not_reached:
        print("not reached (the command ran to its end): %s" % " ".join(r.not_reached))
    return 1 if r.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
