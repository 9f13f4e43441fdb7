#!/usr/bin/env python3
"""Tree helpers for mmsync's crash tests (t-41, t-42); python3, stdlib only.

  model_tree.py build DIR... --seed S [--files N] [--dirs N] [--links N] [--big SIZE,...]
        makes the same random tree in every DIR (files with random content and
        modes, nested directories, an empty directory, symbolic links, and the
        big files of the sizes given, e.g. 5M,20M)
  model_tree.py edit REGION DIR... --seed S [--tag TAG]
        the same random edits, in every DIR, of the paths under the top-level
        directories of REGION ("a": t0..t4 and the root's files, "b": t5..t9):
        rewrites (some with the same size and mtime kept), deletions, renames
        (files and a directory), new files, chmods, a file made a directory and
        a directory made a file, link changes, an emptied directory; the new
        names it makes end in REGION, or REGION-TAG (a tag per round lets the
        edits be repeated on one tree)
  model_tree.py touch DIR --seed S [--count N] [--big N]
        rewrites N random files and N big files (big*) in DIR (new content,
        same size or not), each written beside and renamed in
  model_tree.py snap DIR OUT.json         what DIR holds (not .mmsync/)
  model_tree.py same DIR DIR... [--no-dir-modes]
        exit 1 (with the differences) unless the trees are identical: paths,
        types, file contents, modes and mtimes, link targets, directory modes
  model_tree.py crashcheck DIR BEFORE.json BASE.json SOURCE.json
        right after a crash of a transfer from SOURCE into DIR: every path of
        DIR holds what it held before (BEFORE) or, where SOURCE changed it since
        BASE, what SOURCE holds (a file: content, mode and mtime together);
        nothing else, no partial file; temporary files are allowed
  model_tree.py versions-add VERSIONS.json DIR   record every file version of DIR
  model_tree.py versions-check VERSIONS.json DIR
        every file of DIR (temporary files aside) holds a recorded version of its path
  model_tree.py final DIR DIR...   same, then clean
  model_tree.py clean DIR...
        exit 1 when a DIR holds a conflict copy or a temporary file (.mmsync-tmp.*)
"""

import hashlib
import json
import os
import random
import re
import shutil
import stat
import sys

TMP_PREFIX = ".mmsync-tmp."
CONFLICT_RE = re.compile(r"\.conflict-[0-9]{8}-[0-9]{6}-[A-Za-z0-9_-]+")
BASE_MTIME = 1700000000


def parse_size(s):
    s = s.strip()
    mult = 1
    if s[-1] in "kK":
        mult, s = 1024, s[:-1]
    elif s[-1] in "mM":
        mult, s = 1024 * 1024, s[:-1]
    return int(float(s) * mult)


def rand_bytes(rng, n):
    # fast enough for tens of MB: a random block repeated with a varying counter
    if n <= 4096:
        return rng.randbytes(n)
    block = rng.randbytes(65536)
    out = bytearray()
    i = 0
    while len(out) < n:
        out += (b"%016x" % (i ^ rng.getrandbits(32))) + block[: 65536 - 16]
        i += 1
    return bytes(out[:n])


def write_file(dirs, rel, data, mode, mtime_ns):
    for d in dirs:
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        os.utime(p, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def listing(d):
    """(files, dirs, links) of d as sorted relative paths, .mmsync/ aside."""
    files, dirs, links = [], [], []
    for dp, dn, fn in os.walk(d):
        rel = os.path.relpath(dp, d)
        rel = "" if rel == "." else rel
        if rel == "":
            dn[:] = [x for x in dn if x != ".mmsync"]
        dn.sort()
        for n in dn:
            p = os.path.join(rel, n)
            (links if os.path.islink(os.path.join(dp, n)) else dirs).append(p)
        for n in sorted(fn):
            p = os.path.join(rel, n)
            (links if os.path.islink(os.path.join(dp, n)) else files).append(p)
    return sorted(files), sorted(dirs), sorted(links)


def cmd_build(dirs, seed, nfiles, ndirs, nlinks, big):
    rng = random.Random(seed)
    tops = ["t%d" % i for i in range(10)]
    alld = list(tops)
    for i in range(max(0, ndirs - len(tops))):
        parent = rng.choice(alld)
        alld.append("%s/s%d" % (parent, i))
    for d in dirs:
        os.makedirs(d, exist_ok=True)
        for x in alld:
            os.makedirs(os.path.join(d, x), exist_ok=True)
        os.makedirs(os.path.join(d, "t9/empty"), exist_ok=True)
    files = []
    for i in range(nfiles):
        where = rng.choice(alld + [""] * 2)
        name = "f%04d%s" % (i, rng.choice(["", ".txt", ".bin", ".tar.gz"]))
        rel = os.path.join(where, name) if where else name
        size = rng.choice([0, 1, 10, 100, 1000, 3000, 10000, 30000]) + rng.randrange(100)
        data = rand_bytes(rng, size)
        write_file(dirs, rel, data, rng.choice([0o644, 0o644, 0o600, 0o755, 0o640]),
                   (BASE_MTIME + rng.randrange(10 ** 6)) * 10 ** 9 + rng.randrange(10 ** 9))
        files.append(rel)
    for j, sz in enumerate(big):
        where = tops[j % len(tops)]
        write_file(dirs, "%s/big%d.bin" % (where, j), rand_bytes(rng, sz), 0o644,
                   (BASE_MTIME + rng.randrange(10 ** 6)) * 10 ** 9)
    for k in range(nlinks):
        rel = "%s/link%d" % (rng.choice(tops), k)
        target = rng.choice(["../" + rng.choice(files), "nowhere/%d" % k, "f%d" % k, "/etc/passwd" if k == 0 else "x"])
        for d in dirs:
            os.symlink(target, os.path.join(d, rel))
    # directory modes, last (a 0700 directory is still writable by its owner)
    for x in alld:
        if rng.random() < 0.15:
            m = rng.choice([0o700, 0o750])
            for d in dirs:
                os.chmod(os.path.join(d, x), m)


def in_region(rel, region):
    top = rel.split("/")[0]
    if not top.startswith("t") or "/" not in rel:
        return region == "a"  # the root's own entries belong to "a"
    n = int(top[1:]) if top[1:].isdigit() else 0
    return (n < 5) == (region == "a")


def cmd_edit(region, dirs, seed, tag=""):
    rng = random.Random(seed * 7 + (1 if region == "a" else 2))
    name = region + ("-" + tag if tag else "")
    ref = dirs[0]
    files, dlist, links = listing(ref)
    files = [f for f in files if in_region(f, region) and not os.path.basename(f).startswith("big")]
    dlist = [d for d in dlist if in_region(d, region) and "/" in d]
    links = [l for l in links if in_region(l, region)]
    rng.shuffle(files)
    mt = lambda: (BASE_MTIME + 2 * 10 ** 6 + rng.randrange(10 ** 6)) * 10 ** 9 + rng.randrange(10 ** 9)
    used = set()

    def take(n):
        out = []
        while files and len(out) < n:
            f = files.pop()
            if not any(f.startswith(u + "/") for u in used):
                out.append(f)
        return out

    # a directory renamed and one deleted with all it holds (not one holding big files)
    if len(dlist) >= 2:
        leaf = [d for d in dlist if not any(x.startswith(d + "/") for x in dlist)]
        rng.shuffle(leaf)
        if leaf:
            d = leaf.pop()
            used.add(d)
            for x in dirs:
                os.rename(os.path.join(x, d), os.path.join(x, d + "-renamed"))
        if leaf:
            d = leaf.pop()
            used.add(d)
            for x in dirs:
                shutil.rmtree(os.path.join(x, d))
        files = [f for f in files if not any(f.startswith(u + "/") for u in used)]
    for f in take(15):  # rewrites
        st = os.lstat(os.path.join(ref, f))
        if rng.random() < 0.3 and st.st_size > 0:
            data = rand_bytes(rng, st.st_size)  # same size, same mtime: only the content tells
            write_file(dirs, f, data, stat.S_IMODE(st.st_mode), st.st_mtime_ns)
        else:
            write_file(dirs, f, rand_bytes(rng, rng.randrange(20000)), stat.S_IMODE(st.st_mode), mt())
    for f in take(10):  # deletions
        for x in dirs:
            os.unlink(os.path.join(x, f))
    for i, f in enumerate(take(10)):  # renames, some into another directory
        dst = f + ".mv%d" % i if rng.random() < 0.5 else os.path.join(os.path.dirname(f), "moved%d-%s" % (i, name))
        for x in dirs:
            os.rename(os.path.join(x, f), os.path.join(x, dst))
    for f in take(5):  # chmod
        m = rng.choice([0o600, 0o755, 0o640, 0o444])
        for x in dirs:
            os.chmod(os.path.join(x, f), m)
    t = "t0" if region == "a" else "t7"
    for i in range(10):  # new files
        write_file(dirs, "%s/new-%s-%d" % (t, name, i), rand_bytes(rng, rng.randrange(50000)), 0o644, mt())
    for f in take(1):  # a file made a directory
        for x in dirs:
            os.unlink(os.path.join(x, f))
        write_file(dirs, f + "/inside", b"was a file\n", 0o644, mt())
    if dlist:  # a directory made a file
        cands = [d for d in dlist if d not in used and not any(d.startswith(u + "/") for u in used)
                 and not any(b.startswith(d + "/") for b in ("t0/", "t7/"))]
        cands = [d for d in cands if not any(os.path.basename(p).startswith("big")
                                             for p in os.listdir(os.path.join(ref, d)))]
        if cands:
            d = rng.choice(cands)
            for x in dirs:
                shutil.rmtree(os.path.join(x, d))
            write_file(dirs, d, b"was a directory\n", 0o644, mt())
    for l in links[:2]:  # link changes
        for x in dirs:
            os.unlink(os.path.join(x, l))
            os.symlink("retargeted-" + name, os.path.join(x, l))
    for x in dirs:
        os.symlink("new-link-" + name, os.path.join(x, "%s/newlink-%s" % (t, name)))
        os.makedirs(os.path.join(x, "%s/newdir-%s/sub" % (t, name)), exist_ok=True)


def cmd_touch(d, seed, count, big=0):
    rng = random.Random(seed)
    files, _, _ = listing(d)
    files = [f for f in files if not os.path.basename(f).startswith(TMP_PREFIX)]
    bigs = [f for f in files if os.path.basename(f).startswith("big")]
    small = [f for f in files if f not in bigs]
    for f in rng.sample(small, min(count, len(small))) + rng.sample(bigs, min(big, len(bigs))):
        p = os.path.join(d, f)
        st = os.lstat(p)
        # new content, never the same (an mtime-only change is another matter)
        size = st.st_size if rng.random() < 0.5 else rng.randrange(max(1, st.st_size * 2) + 1)
        size = max(size, 1)
        with open(p, "rb") as fh:
            old = fh.read(size + 1)
        data = rand_bytes(rng, size)
        while data == old:
            data = rand_bytes(rng, size)
        tmp = p + ".edit"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.rename(tmp, p)  # atomic, as an editor saves


def hash_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def snap(d):
    out = {}
    files, dirs, links = listing(d)
    for p in files:
        st = os.lstat(os.path.join(d, p))
        if stat.S_ISREG(st.st_mode):
            out[p] = ["f", hash_file(os.path.join(d, p)), stat.S_IMODE(st.st_mode), st.st_mtime_ns]
        else:
            out[p] = ["?", stat.S_IFMT(st.st_mode)]
    for p in dirs:
        out[p] = ["d", stat.S_IMODE(os.lstat(os.path.join(d, p)).st_mode)]
    for p in links:
        out[p] = ["l", os.readlink(os.path.join(d, p))]
    return out


def show(e):
    if e is None:
        return "absent"
    if e[0] == "f":
        return "file sha256 %s mode %o mtime %d" % (e[1][:12], e[2], e[3])
    if e[0] == "d":
        return "directory mode %o" % e[1]
    if e[0] == "l":
        return "link -> %s" % e[1]
    return repr(e)


def is_tmp(p):
    return os.path.basename(p).startswith(TMP_PREFIX)


def cmd_same(dirs, dir_modes=True):
    snaps = [snap(d) for d in dirs]
    bad = []
    for i in range(1, len(dirs)):
        a, b = snaps[0], snaps[i]
        for p in sorted(set(a) | set(b)):
            ea, eb = a.get(p), b.get(p)
            if not dir_modes and ea and eb and ea[0] == eb[0] == "d":
                continue
            if ea != eb:
                bad.append("  %s: %s has %s, %s has %s" % (p, dirs[0], show(ea), dirs[i], show(eb)))
    if bad:
        print("trees differ (%d paths):" % len(bad))
        print("\n".join(bad[:40]))
        if len(bad) > 40:
            print("  ...")
        return 1
    return 0


def load(p):
    with open(p) as f:
        return json.load(f)


def cmd_crashcheck(d, before_f, base_f, src_f):
    before, base, src = load(before_f), load(base_f), load(src_f)
    now = snap(d)
    bad = []
    for p in sorted(set(now) | set(before) | set(src)):
        if is_tmp(p):
            continue
        e = now.get(p)
        allowed = [before.get(p)]
        if src.get(p) != base.get(p):
            allowed.append(src.get(p))
        ok = False
        for a in allowed:
            if e == a:
                ok = True
            elif e and a and e[0] == a[0] == "d":
                ok = True  # directory modes are set after what they hold
        # a path whose type changes (file <-> directory <-> link) cannot be replaced in one step
        b, n = before.get(p), src.get(p)
        if e is None and b and n and b[0] != n[0] and n in allowed:
            ok = True
        if not ok:
            bad.append("  %s: %s; allowed: %s" % (p, show(e), " or ".join(show(a) for a in allowed)))
    if bad:
        print("after the crash, %s holds what it never should (%d paths):" % (d, len(bad)))
        print("\n".join(bad[:40]))
        return 1
    return 0


def cmd_versions_add(vf, d):
    v = load(vf) if os.path.exists(vf) else {}
    for p, e in snap(d).items():
        if e[0] == "f" and not is_tmp(p):
            s = v.setdefault(p, [])
            if e[1] not in s:
                s.append(e[1])
    with open(vf, "w") as f:
        json.dump(v, f)
    return 0


def cmd_versions_check(vf, d):
    v = load(vf)
    bad = []
    for p, e in sorted(snap(d).items()):
        if is_tmp(p) or e[0] != "f":
            continue
        if e[1] not in v.get(p, []):
            size = os.lstat(os.path.join(d, p)).st_size
            bad.append("  %s: %d bytes, sha256 %s: not a version it ever had (%d known)"
                       % (p, size, e[1][:12], len(v.get(p, []))))
    if bad:
        print("%s holds partial or mixed files (%d):" % (d, len(bad)))
        print("\n".join(bad[:40]))
        return 1
    return 0


def cmd_clean(dirs):
    bad = []
    for d in dirs:
        for p in snap(d):
            b = os.path.basename(p)
            if b.startswith(TMP_PREFIX):
                bad.append("  %s/%s: temporary file left behind" % (d, p))
            elif CONFLICT_RE.search(b):
                bad.append("  %s/%s: conflict copy" % (d, p))
    if bad:
        print("\n".join(bad[:40]))
        return 1
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, rest = argv[1], argv[2:]
    opts = {}
    pos = []
    i = 0
    while i < len(rest):
        if rest[i].startswith("--"):
            if rest[i] in ("--no-dir-modes",):
                opts[rest[i][2:]] = True
                i += 1
            else:
                opts[rest[i][2:]] = rest[i + 1]
                i += 2
        else:
            pos.append(rest[i])
            i += 1
    seed = int(opts.get("seed", 1))
    if cmd == "build":
        big = [parse_size(x) for x in opts.get("big", "").split(",") if x]
        cmd_build(pos, seed, int(opts.get("files", 300)), int(opts.get("dirs", 25)), int(opts.get("links", 10)), big)
        return 0
    if cmd == "edit":
        cmd_edit(pos[0], pos[1:], seed, opts.get("tag", ""))
        return 0
    if cmd == "touch":
        cmd_touch(pos[0], seed, int(opts.get("count", 10)), int(opts.get("big", 0)))
        return 0
    if cmd == "snap":
        with open(pos[1], "w") as f:
            json.dump(snap(pos[0]), f)
        return 0
    if cmd == "same":
        return cmd_same(pos, not opts.get("no-dir-modes"))
    if cmd == "crashcheck":
        return cmd_crashcheck(*pos)
    if cmd == "versions-add":
        return cmd_versions_add(*pos)
    if cmd == "versions-check":
        return cmd_versions_check(*pos)
    if cmd == "clean":
        return cmd_clean(pos)
    if cmd == "final":
        return cmd_same(pos, not opts.get("no-dir-modes")) or cmd_clean(pos)
    print("model_tree.py: unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
