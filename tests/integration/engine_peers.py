#!/usr/bin/env python3
"""Test-side peers for the engine's integration tests (loopback only, stdlib only).

  engine_peers.py dns PORT LOGFILE   UDP DNS responder on 127.0.0.1:PORT:
      ok.test       A 127.0.0.1, no AAAA
      dual.test     A 127.0.0.1 and AAAA ::1
      multi.test    A 127.0.0.1, A 127.0.0.2 (twice: the engine deduplicates)
      nx.test       NXDOMAIN
      servfail.test SERVFAIL
      silent.test   never answered
    Every query is appended to LOGFILE as "NAME TYPE".
  engine_peers.py tarpit PORT        TCP on 0.0.0.0:PORT: accept, never read or write
                                     (every 127.x.y.z address reaches it).
Prints "ready" on stdout once listening.
"""
import selectors
import socket
import struct
import sys

A, AAAA = 1, 28


def dns_answer(name, qtype):
    """Returns (rcode, [rdata...]) or None for no answer at all."""
    if name == "silent.test":
        return None
    if name == "nx.test":
        return 3, []
    if name == "servfail.test":
        return 2, []
    table = {
        ("ok.test", A): ["127.0.0.1"],
        ("dual.test", A): ["127.0.0.1"],
        ("dual.test", AAAA): ["::1"],
        ("multi.test", A): ["127.0.0.1", "127.0.0.2", "127.0.0.1"],
    }
    if name in ("ok.test", "dual.test", "multi.test"):
        addrs = table.get((name, qtype), [])
        fam = socket.AF_INET if qtype == A else socket.AF_INET6
        return 0, [socket.inet_pton(fam, a) for a in addrs]
    return 3, []


def parse_question(msg):
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            raise ValueError("short")
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            raise ValueError("bad label")
        labels.append(msg[pos:pos + n].decode("ascii", "replace").lower())
        pos += n
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return ".".join(labels), qtype, pos + 4


def run_dns(port, logfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    print("ready", flush=True)
    log = open(logfile, "a", buffering=1)
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 12:
            continue
        try:
            name, qtype, qend = parse_question(msg)
        except (ValueError, struct.error):
            continue
        log.write("%s %d\n" % (name, qtype))
        ans = dns_answer(name, qtype)
        if ans is None:
            continue
        rcode, rdatas = ans
        qid, flags = struct.unpack("!HH", msg[:4])
        rflags = 0x8000 | (flags & 0x0100) | 0x0080 | 0x0400 | rcode
        out = struct.pack("!HHHHHH", qid, rflags, 1, len(rdatas), 0, 0) + msg[12:qend]
        for rd in rdatas:
            out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(rd)) + rd
        s.sendto(out, peer)


def run_tarpit(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    held = {}
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.fileobj is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                held[c.fileno()] = c
                sel.register(c, selectors.EVENT_READ)
            else:
                c = key.fileobj
                try:
                    data = c.recv(65536, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:  # the client left: forget it
                    sel.unregister(c)
                    held.pop(c.fileno(), None)
                    c.close()
                else:  # never answer; drop what was sent so select stays quiet
                    try:
                        c.recv(65536)
                    except OSError:
                        pass


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "dns":
        run_dns(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "tarpit":
        run_tarpit(int(sys.argv[2]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
