#!/usr/bin/env python3
"""make_hello_seeds.py - write the seed corpus for tests/fuzz/fuzz_hello.c.

Real server first flights are captured from OpenSSL itself, in memory: a
client and a server ssl.SSLObject joined by MemoryBIOs (no socket, no
network).  The key and certificate are made in a temporary directory and
deleted afterwards.  So that no certificate is committed, the DER inside
each captured Certificate message is replaced by a short placeholder blob
(the parser does not read X.509, only the lengths) and the message and
record lengths are rewritten to match.  The failure forms (not TLS, absurd
record length, SSLv2 replies, HelloRetryRequest, ...) are built by hand.

Run from the repository root:  python3 tests/fuzz/make_hello_seeds.py
"""
import os
import ssl
import struct
import subprocess
import sys
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "hello")
FAKE_DER = b"\x30\x3e" + b"\x01" * 62  # a DER-shaped placeholder, not a certificate


def records(flight):
    """Split a TLS byte string into (type, version, payload) tuples."""
    out, off = [], 0
    while off + 5 <= len(flight):
        typ, ver, n = struct.unpack(">BHH", flight[off:off + 5])
        out.append((typ, ver, flight[off + 5:off + 5 + n]))
        off += 5 + n
    return out


def record(typ, payload, ver=0x0303):
    return struct.pack(">BHH", typ, ver, len(payload)) + payload


def handshake(typ, body):
    return struct.pack(">B", typ) + len(body).to_bytes(3, "big") + body


def strip_certificates(flight):
    """Rewrite the cleartext handshake records with placeholder certificates."""
    recs = records(flight)
    hs = b"".join(p for t, _, p in recs if t == 22)
    ver = recs[0][1] if recs else 0x0303
    msgs, off = [], 0
    while off + 4 <= len(hs):
        typ = hs[off]
        n = int.from_bytes(hs[off + 1:off + 4], "big")
        body = hs[off + 4:off + 4 + n]
        if typ == 11 and len(body) >= 3:  # TLS <= 1.2 Certificate
            entry = len(FAKE_DER).to_bytes(3, "big") + FAKE_DER
            body = len(entry).to_bytes(3, "big") + entry
        msgs.append(handshake(typ, body))
        off += 4 + n
    out = record(22, b"".join(msgs), ver) if msgs else b""
    # Non-handshake records (alerts, CCS, encrypted TLS 1.3 data) stay as they are.
    seen_hs = False
    for t, v, p in recs:
        if t == 22:
            seen_hs = True
            continue
        if seen_hs or not msgs:
            out += record(t, p, v)
    return out


def capture(cert, key, server_setup, client_setup):
    """The server's answer to an OpenSSL client's ClientHello."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    server_setup(sctx)
    client_setup(cctx)
    cin, cout = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = cctx.wrap_bio(cin, cout, server_hostname="hello.test")
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = cout.read()
    sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = sctx.wrap_bio(sin, sout, server_side=True)
    sin.write(hello)
    try:
        server.do_handshake()
    except (ssl.SSLWantReadError, ssl.SSLError):
        pass
    return sout.read()


def tls_versions(lo, hi):
    def setup(ctx):
        ctx.minimum_version = lo
        ctx.maximum_version = hi
    return setup


def captured_seeds(tmp):
    cert, key, dh = (os.path.join(tmp, n) for n in ("cert.pem", "key.pem", "dh.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-subj", "/CN=hello.test", "-days", "2"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt",
                    "group:ffdhe2048", "-out", dh], check=True, capture_output=True)
    v = ssl.TLSVersion
    seeds = {}

    def tls12_ecdhe(ctx):
        tls_versions(v.TLSv1_2, v.TLSv1_2)(ctx)
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")

    def tls12_dhe(ctx):
        tls_versions(v.TLSv1_2, v.TLSv1_2)(ctx)
        ctx.set_ciphers("DHE-RSA-AES128-GCM-SHA256")
        ctx.load_dh_params(dh)

    def tls10(ctx):
        tls_versions(v.TLSv1, v.TLSv1)(ctx)
        ctx.set_ciphers("ECDHE-RSA-AES128-SHA:@SECLEVEL=0")

    def refuse(ctx):
        tls_versions(v.TLSv1_2, v.TLSv1_2)(ctx)
        ctx.set_ciphers("AES256-GCM-SHA384")

    def client12(ctx):
        tls_versions(v.TLSv1_2, v.TLSv1_2)(ctx)
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256")

    seeds["tls12_ecdhe_rsa"] = capture(cert, key, tls12_ecdhe, client12)
    seeds["tls12_dhe_rsa_2048"] = capture(cert, key, tls12_dhe, client12)
    seeds["tls10_seclevel0"] = capture(cert, key, tls10, tls10)
    seeds["tls13_x25519"] = capture(cert, key, tls_versions(v.TLSv1_3, v.TLSv1_3),
                                    tls_versions(v.TLSv1_2, v.TLSv1_3))
    seeds["alert_handshake_failure"] = capture(cert, key, refuse, client12)
    seeds["alert_protocol_version"] = capture(cert, key, tls_versions(v.TLSv1_3, v.TLSv1_3),
                                              tls_versions(v.TLSv1_2, v.TLSv1_2))
    for name in list(seeds):
        seeds[name] = strip_certificates(seeds[name])
        if not seeds[name]:
            sys.exit("no flight captured for " + name)
    # The ECDHE flight again, its handshake bytes in 7-byte records.
    hs = b"".join(p for t, _, p in records(seeds["tls12_ecdhe_rsa"]) if t == 22)
    seeds["tls12_fragmented"] = b"".join(record(22, hs[i:i + 7]) for i in range(0, len(hs), 7))
    seeds["tls12_truncated"] = seeds["tls12_ecdhe_rsa"][:len(seeds["tls12_ecdhe_rsa"]) // 2]
    return seeds


def handmade_seeds():
    seeds = {}
    hrr_random = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
    exts = struct.pack(">HHH", 43, 2, 0x0304) + struct.pack(">HHH", 51, 2, 24)
    body = struct.pack(">H", 0x0303) + hrr_random + b"\x00" + struct.pack(">HB", 0x1301, 0)
    body += struct.pack(">H", len(exts)) + exts
    seeds["tls13_hrr_secp384r1"] = record(22, handshake(2, body), 0x0301)

    # A TLS 1.2 ServerHello with the TLS 1.3 downgrade sentinel, then an alert.
    rnd = b"\x22" * 24 + b"DOWNGRD\x01"
    exts = struct.pack(">HHB", 0xff01, 1, 0) + struct.pack(">HH", 23, 0)
    body = struct.pack(">H", 0x0303) + rnd + b"\x20" + b"\x33" * 32 + struct.pack(">HB", 0xc02f, 0)
    body += struct.pack(">H", len(exts)) + exts
    seeds["tls12_downgrade_then_alert"] = (record(22, handshake(2, body)) +
                                           record(21, b"\x02\x28"))

    seeds["not_tls_http"] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    seeds["not_tls_ssh"] = b"SSH-2.0-OpenSSH_9.2p1\r\n"
    seeds["absurd_record"] = b"\x16\x03\x03\xff\xff" + b"\x00" * 16

    specs = bytes.fromhex("010080" "0700c0" "060040")
    conn_id = b"\xab" * 16
    v2 = struct.pack(">BBBHHHH", 4, 0, 1, 0x0002, len(FAKE_DER), len(specs), len(conn_id))
    v2 += FAKE_DER + specs + conn_id
    seeds["sslv2_server_hello"] = struct.pack(">H", 0x8000 | len(v2)) + v2
    seeds["sslv2_error_no_cipher"] = b"\x80\x03\x00\x00\x01"
    return seeds


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        seeds = captured_seeds(tmp)
    seeds.update(handmade_seeds())
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("%-28s %5d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
