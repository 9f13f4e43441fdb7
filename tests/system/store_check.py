#!/usr/bin/env python3
"""What a replica's metadata store records, for the fault tests (t-45, t-46); stdlib only.

  store_check.py dump DIR OUT.json
        the rows of DIR/.mmsync/meta.db (path -> kind, mode, hash, version vector)
  store_check.py pending DIR
        how many rows the journal holds (a batch renamed in, not committed)
  store_check.py same DIR BEFORE.json
        exit 1 (with the differences) unless the store still records exactly
        BEFORE: a failed run committed nothing
  store_check.py agrees DIR BEFORE.json
        exit 1 unless every row that changed since BEFORE says what the tree
        now holds at its path (a file: its content; a directory, a link: that
        kind; a tombstone: nothing): the store never records what the tree
        does not hold
"""

import hashlib
import json
import os
import sqlite3
import stat
import sys

KINDS = {0: "deleted", 1: "file", 2: "dir", 3: "link"}


def dump(d):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, ".mmsync", "meta.db"), uri=True)
    rows = {}
    for key, kind, mode, h, vv in db.execute("SELECT key, kind, mode, hex(hash), hex(vv) FROM entries"):
        path = bytes(key).replace(b"\0", b"/").decode("utf-8", "surrogateescape")
        rows[path] = {"kind": KINDS.get(kind, str(kind)), "mode": mode, "hash": (h or "").lower(), "vv": vv}
    db.close()
    return rows


def on_disk(d, path):
    p = os.path.join(d, path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return {"kind": "deleted"}
    if stat.S_ISDIR(st.st_mode):
        return {"kind": "dir"}
    if stat.S_ISLNK(st.st_mode):
        return {"kind": "link"}
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"kind": "file", "hash": h.hexdigest(), "mode": stat.S_IMODE(st.st_mode)}


def main(argv):
    what, d = argv[1], argv[2]
    if what == "pending":
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, ".mmsync", "meta.db"), uri=True)
        print(db.execute("SELECT count(*) FROM pending").fetchone()[0])
        db.close()
        return 0
    if what == "dump":
        with open(argv[3], "w") as f:
            json.dump(dump(d), f)
        return 0
    with open(argv[3]) as f:
        before = json.load(f)
    now = dump(d)
    changed = sorted(p for p in set(before) | set(now) if before.get(p) != now.get(p))
    if what == "same":
        for p in changed:
            print("%s: the store recorded %s, now %s" % (p, before.get(p), now.get(p)))
        return 1 if changed else 0
    bad = 0
    for p in changed:
        row = now.get(p)
        if row is None:
            continue
        disk = on_disk(d, p)
        ok = disk["kind"] == row["kind"] and (row["kind"] != "file" or disk["hash"] == row["hash"])
        if not ok:
            print("%s: the store records %s but the tree holds %s" % (p, row, disk))
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
