#!/usr/bin/env python3
"""Forges broken, tampered and foreign bundles for the bundle tests (t-76).

A bundle is a pax archive compressed with zstd; python has no zstd module,
so the `zstd` command line tool (de)compresses.  Usage:

  bundle_forge.py layout IN
      prints, for the uncompressed archive of bundle IN, one line per entry:
      "NAME HEADER-OFFSET DATA-OFFSET SIZE", then "end TAR-SIZE"
  bundle_forge.py cut-tar IN OUT OFFSET
      OUT: IN's archive cut after OFFSET bytes, compressed again (a whole zstd
      frame holding a truncated archive)
  bundle_forge.py flip-tar IN OUT OFFSET
      OUT: IN's archive with the byte at OFFSET inverted, compressed again
  bundle_forge.py flip-z IN OUT FROM
      OUT: IN with one byte of the compressed stream inverted, the first one at
      or after FROM whose change matters (zstd fails, or the archive differs
      in a byte that is not padding after an entry's data or after the
      end-of-archive marker); prints that offset
  bundle_forge.py rewrite IN OUT [--gzip|--plain] ACTION...
      reads IN's entries, applies each ACTION in turn, writes a pax archive,
      compressed with zstd (or gzip, or not at all):
        tamper-object        first object: one byte of its content changed
        grow-object          first object: a byte appended (name kept)
        drop-object          first object left out
        dup-object           first object written twice
        manifest-last        the manifest moved after the objects
        manifest-flip        one byte in the middle of the manifest changed
        manifest-subst OLD NEW
                             bytes OLD replaced by NEW (same length) in the
                             manifest, and its checksum made right again
        extra NAME           a regular file entry NAME added at the end
        extra-object         a valid object (named by its hash) that no row names
        symlink NAME TARGET  a symbolic link entry added at the end
        hardlink NAME TARGET a hard link entry added at the end
        dir NAME             a directory entry added at the end
        object-as-symlink    first object replaced by a symlink of the same name
        rename-object NAME   first object's entry renamed to NAME
        upper-object         first object's name in upper-case hex digits
  bundle_forge.py tarzst OUT NAME=CONTENT...
      OUT: a valid tar.zst (pax) holding these regular files, no bundle
  bundle_forge.py batch
      runs the commands above, one a line on stdin (shell words, without
      "bundle_forge.py"), in one process
"""
import gzip
import hashlib
import io
import shlex
import subprocess
import sys
import tarfile

MANIFEST = "mmsync-bundle/manifest"
OBJECTS = "mmsync-bundle/objects/"
CHECKSUM_FRAME = 4 + 1 + 32
MSG_CHECKSUM = 14
MSG_REPLICA = 3


def unzstd(data):
    p = subprocess.run(["zstd", "-q", "-d", "-c"], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return None
    return p.stdout


def zstd(data):
    p = subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True)
    return p.stdout


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def tar_of(path):
    data = unzstd(read(path))
    if data is None:
        sys.exit("bundle_forge: %s is not zstd" % path)
    return data


def entries(tar):
    """(TarInfo, data) for each entry of the archive bytes."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as t:
        for m in t.getmembers():
            d = t.extractfile(m).read() if m.isreg() else b""
            out.append((m, d))
    return out


def layout(tar):
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as t:
        return [(m.name, m.offset, m.offset_data, m.size) for m in t.getmembers()]


def meaningful(tar):
    """Which bytes of an archive may change unnoticed (1 in the array: padding
    after an entry's data), and the length that matters (up to the first
    end-of-archive block)."""
    lay = layout(tar)
    bad = bytearray(len(tar))  # 1: a byte that may change unnoticed
    for name, off, doff, size in lay:
        end = doff + size
        pad = (512 - size % 512) % 512
        for i in range(end, min(end + pad, len(tar))):
            bad[i] = 1
    last = lay[-1]
    end = last[2] + last[3] + (512 - last[3] % 512) % 512
    # the first end-of-archive block matters, the rest does not
    return bad, end + 512


def regular(name, data, mtime=1700000000):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = mtime
    return ti, data


def special(name, kind, target=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = target
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o777
    ti.mtime = 1700000000
    return ti, b""


def first_object(es):
    for i, (m, d) in enumerate(es):
        if m.name.startswith(OBJECTS):
            return i
    sys.exit("bundle_forge: the bundle has no object")


def manifest_index(es):
    for i, (m, d) in enumerate(es):
        if m.name == MANIFEST:
            return i
    sys.exit("bundle_forge: the bundle has no manifest")


def with_data(m, data):
    ti = tarfile.TarInfo(m.name)
    ti.size = len(data)
    ti.mode = m.mode
    ti.mtime = m.mtime
    return ti, data


def resum(manifest):
    body = manifest[:-CHECKSUM_FRAME]
    frame = bytes([0, 0, 0, 1 + 32, MSG_CHECKSUM]) + hashlib.sha256(body).digest()
    return body + frame


def rewrite(args):
    src, dst = args[0], args[1]
    args = args[2:]
    comp = "zstd"
    if args and args[0] in ("--gzip", "--plain"):
        comp = args[0][2:]
        args = args[1:]
    es = entries(tar_of(src))
    while args:
        a = args.pop(0)
        if a == "tamper-object":
            i = first_object(es)
            m, d = es[i]
            d = bytes([d[0] ^ 0x20]) + d[1:] if d else b"x"
            es[i] = with_data(m, d) if len(d) != m.size else (m, d)
        elif a == "grow-object":
            i = first_object(es)
            es[i] = with_data(es[i][0], es[i][1] + b"!")
        elif a == "drop-object":
            del es[first_object(es)]
        elif a == "dup-object":
            i = first_object(es)
            es.insert(i + 1, es[i])
        elif a == "manifest-last":
            es.append(es.pop(manifest_index(es)))
        elif a == "manifest-flip":
            i = manifest_index(es)
            m, d = es[i]
            k = len(d) // 2
            es[i] = (m, d[:k] + bytes([d[k] ^ 0x01]) + d[k + 1:])
        elif a == "manifest-subst":
            old, new = args.pop(0).encode(), args.pop(0).encode()
            if len(old) != len(new):
                sys.exit("bundle_forge: manifest-subst needs strings of one length")
            i = manifest_index(es)
            m, d = es[i]
            if old not in d:
                sys.exit("bundle_forge: %r is not in the manifest" % old)
            es[i] = (m, resum(d.replace(old, new)))
        elif a == "replicas":
            # N replica records (ids 1..N, names rN) right after the bundle header
            n = int(args.pop(0))
            i = manifest_index(es)
            m, d = es[i]
            at, k = 0, 0
            while k < 2:  # past the hello and the bundle header
                at += 4 + int.from_bytes(d[at:at + 4], "big")
                k += 1
            recs = b""
            for rid in range(1, n + 1):
                name = b"r%d" % rid
                body = bytes([MSG_REPLICA]) + rid.to_bytes(8, "big") + len(name).to_bytes(2, "big") + name
                recs += len(body).to_bytes(4, "big") + body
            es[i] = with_data(m, resum(d[:at] + recs + d[at:]))
        elif a == "extra":
            es.append(regular(args.pop(0), b"not a part of any bundle\n"))
        elif a == "extra-object":
            d = b"an object no row names\n"
            es.append(regular(OBJECTS + hashlib.sha256(d).hexdigest(), d))
        elif a == "symlink":
            name, target = args.pop(0), args.pop(0)
            es.append(special(name, tarfile.SYMTYPE, target))
        elif a == "hardlink":
            name, target = args.pop(0), args.pop(0)
            es.append(special(name, tarfile.LNKTYPE, target))
        elif a == "dir":
            es.append(special(args.pop(0), tarfile.DIRTYPE))
        elif a == "object-as-symlink":
            i = first_object(es)
            es[i] = special(es[i][0].name, tarfile.SYMTYPE, "/etc/passwd")
        elif a == "upper-object":
            i = first_object(es)
            m, d = es[i]
            m2, d2 = with_data(m, d)
            m2.name = OBJECTS + m.name[len(OBJECTS):].upper()
            es[i] = (m2, d2)
        elif a == "rename-object":
            i = first_object(es)
            m, d = es[i]
            m2, d2 = with_data(m, d)
            m2.name = args.pop(0)
            es[i] = (m2, d2)
        else:
            sys.exit("bundle_forge: unknown action %r" % a)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as t:
        for m, d in es:
            t.addfile(m, io.BytesIO(d) if m.isreg() else None)
    tar = buf.getvalue()
    if comp == "zstd":
        tar = zstd(tar)
    elif comp == "gzip":
        tar = gzip.compress(tar)
    write(dst, tar)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "batch":
        for line in sys.stdin:
            words = shlex.split(line)
            if words:
                dispatch(words[0], words[1:])
        return
    dispatch(sys.argv[1], sys.argv[2:])


def dispatch(cmd, args):
    if cmd == "layout":
        tar = tar_of(args[0])
        for name, off, doff, size in layout(tar):
            print(name, off, doff, size)
        print("end", len(tar))
    elif cmd == "cut-tar":
        tar = tar_of(args[0])
        write(args[1], zstd(tar[: int(args[2])]))
    elif cmd == "flip-tar":
        tar = bytearray(tar_of(args[0]))
        k = int(args[2])
        tar[k] ^= 0xFF
        write(args[1], zstd(bytes(tar)))
    elif cmd == "flip-z":
        z = read(args[0])
        tar = unzstd(z)
        bad, limit = meaningful(tar)
        for k in range(int(args[2]), len(z)):
            z2 = bytearray(z)
            z2[k] ^= 0xFF
            t2 = unzstd(bytes(z2))
            if t2 is not None and len(t2) >= limit:
                if all(bad[i] or t2[i] == tar[i] for i in range(limit)):
                    continue  # only padding changed: a reader may rightly not notice
            write(args[1], bytes(z2))
            print(k)
            return
        sys.exit("bundle_forge: no byte from %s on matters" % args[2])
    elif cmd == "rewrite":
        rewrite(args)
    elif cmd == "tarzst":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:", format=tarfile.PAX_FORMAT) as t:
            for spec in args[1:]:
                name, _, content = spec.partition("=")
                m, d = regular(name, content.encode())
                t.addfile(m, io.BytesIO(d))
        write(args[0], zstd(buf.getvalue()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
