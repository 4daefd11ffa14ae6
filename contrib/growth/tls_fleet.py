#!/usr/bin/env python3
"""tls_fleet.py - many TLS endpoints on loopback for the growth measurement.

  tls_fleet.py DIR COUNT PORT GENERATION

Listens on 127.72.X.Y:PORT for COUNT addresses.  Endpoint i presents a leaf
for h<i>.test signed by one CA (the chain sent is leaf + CA).  GENERATION
seeds the leaves: a new generation gives every endpoint a new leaf (a night
where all certificates are new), the same generation the same leaves (a
night where all are known).  An HTTP request after the handshake gets a
short response with an HSTS header.  Prints "ready" when listening.  Test
keys and certificates are generated at run time in DIR, never committed.
"""
import asyncio
import datetime
import ipaddress
import os
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsweep growth"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def main():
    out, count, port, gen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key_path = os.path.join(out, "ca.key")
    if os.path.exists(ca_key_path):
        ca_key = serialization.load_pem_private_key(open(ca_key_path, "rb").read(), None)
        ca = x509.load_pem_x509_certificate(open(os.path.join(out, "ca.crt"), "rb").read())
    else:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = (x509.CertificateBuilder().subject_name(name("growth CA")).issuer_name(name("growth CA"))
              .public_key(ca_key.public_key()).serial_number(1)
              .not_valid_before(now - datetime.timedelta(days=1))
              .not_valid_after(now + datetime.timedelta(days=400))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                             critical=True)
              .sign(ca_key, hashes.SHA256()))
        open(ca_key_path, "wb").write(pem_key(ca_key))
        open(os.path.join(out, "ca.crt"), "wb").write(ca.public_bytes(serialization.Encoding.PEM))
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = os.path.join(out, "leaf-%d.key" % gen)
    open(key_path, "wb").write(pem_key(leaf_key))
    ctxs = {}
    first = None
    for i in range(count):
        host = "h%d.test" % i
        leaf = (x509.CertificateBuilder().subject_name(name(host)).issuer_name(ca.subject)
                .public_key(leaf_key.public_key()).serial_number(gen * 1000000 + i + 2)
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        chain = os.path.join(out, "chain-%d-%d.pem" % (gen, i))
        with open(chain, "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM))
            f.write(ca.public_bytes(serialization.Encoding.PEM))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(chain, key_path)
        ctxs[host] = ctx
        first = first or ctx

    def pick(sslobj, server_name, _ctx):
        if server_name in ctxs:
            sslobj.context = ctxs[server_name]

    for ctx in ctxs.values():
        ctx.sni_callback = pick

    async def handle(reader, writer):
        try:
            data = await asyncio.wait_for(reader.read(4096), 5)
            if data.startswith(b"GET") or data.startswith(b"HEAD"):
                writer.write(b"HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=31536000\r\n"
                             b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
                await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()

    async def serve():
        servers = []
        for i in range(count):
            addr = str(ipaddress.IPv4Address("127.72.0.1") + i)
            servers.append(await asyncio.start_server(handle, addr, port, ssl=ctxs["h%d.test" % i],
                                                      backlog=64))
        print("ready", flush=True)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(serve())


if __name__ == "__main__":
    main()
