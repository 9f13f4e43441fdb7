#!/usr/bin/env python3
"""A TCP proxy that cuts connections, for t-68; python3, stdlib only.

  cut_proxy.py TARGET_PORT CONTROL LOG

Listens on 127.0.0.1 (a free port, printed as "port N" on stdout) and
forwards each connection to 127.0.0.1:TARGET_PORT.  When a connection is
accepted, CONTROL (a file) says what to do with it: "N" cuts it once N bytes
have gone through (both directions counted: the N-th byte is the last one
forwarded), "N rst" does the same with a TCP reset instead of a close, and
an empty or missing file forwards everything.  A cut closes both sides at
once.  Each connection ends with one line in LOG:
"bytes=TOTAL cut=0|1".
"""

import os
import select
import socket
import struct
import sys
import threading


def control(path):
    try:
        with open(path) as f:
            words = f.read().split()
    except OSError:
        return None, False
    if not words:
        return None, False
    return int(words[0]), len(words) > 1 and words[1] == "rst"


def close(s, rst):
    try:
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    except OSError:
        pass


def handle(c, target, limit, rst, log, lock):
    total, cut = 0, False
    try:
        s = socket.create_connection(("127.0.0.1", target))
    except OSError:
        close(c, rst)
        return
    other = {c: s, s: c}
    reading = {c: True, s: True}
    try:
        while not cut and any(reading.values()):
            r, _, _ = select.select([x for x in (c, s) if reading[x]], [], [], 120)
            if not r:
                break
            for x in r:
                try:
                    data = x.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    # an end in one direction goes on to the other side
                    reading[x] = False
                    try:
                        other[x].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                if limit is not None and total + len(data) >= limit:
                    data = data[: limit - total]
                    cut = True
                try:
                    other[x].sendall(data)
                except OSError:
                    reading[x] = False
                total += len(data)
                if cut:
                    break
    finally:
        # logged before the sockets close: a client that sees the cut finds its line
        with lock:
            with open(log, "a") as f:
                f.write("bytes=%d cut=%d\n" % (total, 1 if cut else 0))
        close(c, rst and cut)
        close(s, rst and cut)


def main(argv):
    target, ctl, log = int(argv[1]), argv[2], argv[3]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    print("port %d" % lsock.getsockname()[1], flush=True)
    lock = threading.Lock()
    while True:
        c, _ = lsock.accept()
        limit, rst = control(ctl)
        threading.Thread(target=handle, args=(c, target, limit, rst, log, lock), daemon=True).start()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except KeyboardInterrupt:
        pass
    sys.exit(0)
