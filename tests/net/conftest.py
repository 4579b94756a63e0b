"""Loopback servers for the transport tests: what the case fixture cannot serve.

A DNS server whose answers a test writes (CNAME chains, SERVFAIL, delegations and name servers
that do or do not hold a zone), TLS servers with any context (certificates not yet valid, a
chain that carries its root, legacy protocols), servers that reset, stall or speak plain HTTP
on a TLS port, and a plain HTTP server with a canned answer. All bind 127.0.0.1 only and stop
when the test ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import socket
import socketserver
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from dnslib import AAAA, CNAME, NS, QTYPE, RCODE, RR, SOA, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from connectguard.fixture import pki
from connectguard.fixture.tls import pin_versions

LOOPBACK = "127.0.0.1"


# --- DNS --------------------------------------------------------------------------------


@dataclass
class Zone:
    """What the test DNS server answers. It is both the resolver and every name server."""

    records: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    serves: set[str] = field(default_factory=set)  # zones it answers SOA for with authority

    def add(self, name: str, kind: str, value: str) -> Zone:
        self.records.setdefault(name, []).append((kind, value))
        return self


class _ZoneResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        if name in self.zone.servfail:
            reply.header.rcode = RCODE.SERVFAIL
        elif kind == "SOA":
            self._soa(name, reply)
        else:
            self._lookup(name, kind, reply)
        return reply

    def _soa(self, name: str, reply: DNSRecord) -> None:
        if name not in self.zone.serves:
            reply.header.rcode = RCODE.REFUSED
            return
        reply.header.aa = 1
        reply.add_answer(RR(name, QTYPE.SOA, rdata=SOA(f"ns1.{name}", f"admin.{name}"), ttl=60))

    def _lookup(self, name: str, kind: str, reply: DNSRecord) -> None:
        rdata = {"A": A, "AAAA": AAAA, "CNAME": CNAME, "NS": NS}
        for _ in range(16):
            entries = self.zone.records.get(name)
            if entries is None:
                reply.header.rcode = RCODE.NXDOMAIN
                return
            cname = next((v for k, v in entries if k == "CNAME"), None)
            if cname is None or kind == "CNAME":
                for k, v in entries:
                    if k == kind:
                        reply.add_answer(RR(name, getattr(QTYPE, k), rdata=rdata[k](v), ttl=60))
                return
            reply.add_answer(RR(name, QTYPE.CNAME, rdata=CNAME(cname), ttl=60))
            name = cname


@dataclass
class DnsFixture:
    zone: Zone
    port: int

    @property
    def nameserver(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)


@pytest.fixture
def dns_server() -> Iterator[DnsFixture]:
    zone = Zone()
    server = DNSServer(
        _ZoneResolver(zone), address=LOOPBACK, port=0, logger=DNSLogger(logf=lambda _: None)
    )
    thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield DnsFixture(zone, server.server.server_address[1])
    finally:
        server.stop()
        server.server.server_close()
        thread.join(5)


# --- certificates -----------------------------------------------------------------------


def ca_signed_leaf(
    tmp: Path,
    host: str,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    with_root: bool = False,
) -> tuple[Path, Path]:
    """A leaf for `host` (and 127.0.0.1) from the fixture CA; the chain file may carry the CA."""
    import ipaddress

    key = pki.rsa_key("leaf")
    ca = x509.load_pem_x509_certificate(pki.fixture_ca().cert_pem)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    names: list[x509.GeneralName] = [
        x509.DNSName(host),
        x509.IPAddress(ipaddress.IPv4Address(LOOPBACK)),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(pki.rsa_key("ca"), hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM)
    if with_root:
        chain += pki.fixture_ca().cert_pem
    cert_file, key_file = tmp / f"{host}-chain.pem", tmp / f"{host}-key.pem"
    cert_file.write_bytes(chain)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def fixture_ca_file(tmp: Path) -> str:
    path = tmp / "fixture-ca.pem"
    path.write_bytes(pki.fixture_ca().cert_pem)
    return str(path)


def server_context(
    cert_file: Path, key_file: Path, minimum: str = "TLSv1.2", maximum: str = "TLSv1.3"
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    pin_versions(context, minimum, maximum)
    return context


def valid_context(tmp: Path, host: str, **versions: str) -> ssl.SSLContext:
    now = dt.datetime.now(dt.UTC)
    cert, key = ca_signed_leaf(
        tmp, host, not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=200)
    )
    return server_context(cert, key, **versions)


# --- TCP servers ------------------------------------------------------------------------


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, behaviour: Callable[[socket.socket, threading.Event], None]) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.behaviour = behaviour
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        with contextlib.suppress(OSError, ssl.SSLError, ValueError):
            server.behaviour(self.request, server.stopping)


@contextlib.contextmanager
def tcp_server(behaviour: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """Serve `behaviour(connection, stopping)` on a free 127.0.0.1 port; yield the port."""
    server = _Server(behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.port
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def http_answer(status: int, body: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
    data = body.encode()
    for name, value in {"Content-Type": "text/html", **(headers or {})}.items():
        lines.append(f"{name}: {value}")
    lines += [f"Content-Length: {len(data)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + data


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def tls_http(context: ssl.SSLContext, answer: bytes = b"") -> Callable[..., None]:
    """A TLS server that answers one HTTP request with `answer` (200 'ok' by default)."""
    reply = answer or http_answer(200, "ok")

    def behaviour(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(3)
        with context.wrap_socket(conn, server_side=True) as tls:
            _read_request(tls)
            tls.sendall(reply)

    return behaviour


def plain_http(answer: bytes) -> Callable[..., None]:
    """Answer whatever arrives first (an HTTP request or a TLS ClientHello) with `answer`."""

    def behaviour(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(2)
        conn.recv(4096)
        conn.sendall(answer)

    return behaviour


def reset(conn: socket.socket, stopping: threading.Event) -> None:
    """Accept, then reset the connection (RST) before any handshake byte."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def stall(conn: socket.socket, stopping: threading.Event) -> None:
    """Accept and never answer, until the server stops."""
    stopping.wait(30)


class Loopback:
    """The servers and certificates of one test; every server stops when the test ends."""

    http_answer = staticmethod(http_answer)

    def __init__(self, tmp: Path, stack: contextlib.ExitStack) -> None:
        self.tmp = tmp
        self.stack = stack
        self.ca_file = fixture_ca_file(tmp)

    def serve(self, behaviour: Callable[[socket.socket, threading.Event], None]) -> int:
        return self.stack.enter_context(tcp_server(behaviour))

    def tls(self, context: ssl.SSLContext, answer: bytes = b"") -> int:
        return self.serve(tls_http(context, answer))

    def plain(self, answer: bytes) -> int:
        return self.serve(plain_http(answer))

    def resetting(self) -> int:
        return self.serve(reset)

    def stalling(self) -> int:
        return self.serve(stall)

    def context(self, host: str, **versions: str) -> ssl.SSLContext:
        """A valid certificate for `host` from the fixture CA, TLS 1.2-1.3 unless told."""
        return valid_context(self.tmp, host, **versions)

    def leaf(
        self, host: str, valid_from_days: int, valid_to_days: int, with_root: bool = False
    ) -> ssl.SSLContext:
        """A certificate valid from/to so many days from now (negative: in the past)."""
        now = dt.datetime.now(dt.UTC)
        cert, key = ca_signed_leaf(
            self.tmp,
            host,
            not_before=now + dt.timedelta(days=valid_from_days),
            not_after=now + dt.timedelta(days=valid_to_days),
            with_root=with_root,
        )
        return server_context(cert, key)


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Loopback]:
    with contextlib.ExitStack() as stack:
        yield Loopback(tmp_path, stack)
