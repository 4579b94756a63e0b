"""`net.tls.scan_tls` against real TLS servers on 127.0.0.1: versions, chains, bad servers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from connectguard.net.tls import TlsTarget, prepare_tls, scan_tls
from connectguard.probes.transport_evidence import OriginRole, TlsEvidence

HOST = "tls.example.test"


@pytest.fixture(autouse=True, scope="module")
def _trust_stores() -> None:
    prepare_tls()


def run(port: int, ca_file: str | None, host: str = HOST, **kwargs: Any) -> TlsEvidence:
    role = kwargs.pop("role", OriginRole.APP)
    return scan_tls(TlsTarget(host, port, "127.0.0.1", role), ca_file, kwargs.pop("timeout", 3))


def accepted(found: TlsEvidence) -> dict[str, bool | None]:
    return {p.protocol: p.accepted for p in found.protocols}


def test_modern_server(loopback: Any) -> None:
    found = run(loopback.tls(loopback.context(HOST)), loopback.ca_file)
    assert found.error is None
    assert accepted(found) == {
        "SSL 2.0": False,
        "SSL 3.0": False,
        "TLS 1.0": False,
        "TLS 1.1": False,
        "TLS 1.2": True,
        "TLS 1.3": True,
    }
    assert found.verified is True and found.verify_error is None
    leaf = found.chain[0]
    assert leaf.subject == HOST and leaf.issuer == "connectguard fixture CA"
    assert HOST in leaf.sans and leaf.key_type == "RSA" and leaf.key_bits == 2048
    assert not found.chain_has_root


def test_tls10_server_is_seen_accepting_tls10_and_refusing_ssl(loopback: Any) -> None:
    context = loopback.context(HOST, minimum="TLSv1", maximum="TLSv1.2")
    found = run(loopback.tls(context), loopback.ca_file)
    seen = accepted(found)
    assert seen["TLS 1.0"] is True and seen["TLS 1.1"] is True and seen["TLS 1.2"] is True
    # SSL 2 and 3 are refused handshakes: rejections, not errors.
    assert seen["SSL 2.0"] is False and seen["SSL 3.0"] is False
    assert seen["TLS 1.3"] is False
    assert all(p.error is None for p in found.protocols)


def test_external_origin_gets_no_protocol_probe(loopback: Any) -> None:
    found = run(loopback.tls(loopback.context(HOST)), loopback.ca_file, role=OriginRole.EXTERNAL)
    assert found.protocols == () and found.verified is True


def test_not_yet_valid_certificate(loopback: Any) -> None:
    found = run(loopback.tls(loopback.leaf(HOST, 10, 300)), loopback.ca_file)
    assert found.verified is False
    assert "not yet valid" in (found.verify_error or "")


def test_chain_carrying_its_root_is_valid(loopback: Any) -> None:
    found = run(loopback.tls(loopback.leaf(HOST, -1, 300, with_root=True)), loopback.ca_file)
    assert len(found.chain) == 2 and found.chain_has_root
    assert found.verified is True


def test_name_mismatch(loopback: Any) -> None:
    found = run(loopback.tls(loopback.context(HOST)), loopback.ca_file, host="other.example.test")
    assert found.verified is False and "mismatch" in (found.verify_error or "").lower()


def test_untrusted_without_the_ca_file(loopback: Any) -> None:
    found = run(loopback.tls(loopback.context(HOST)), None, role=OriginRole.EXTERNAL)
    assert found.verified is False
    assert "unable to get local issuer" in (found.verify_error or "")


@pytest.mark.parametrize("server", ["resetting", "plain", "closed"])
def test_bad_servers_are_recorded_not_raised(loopback: Any, server: str) -> None:
    if server == "plain":
        port = loopback.plain(loopback.http_answer(400, "plain HTTP"))
    elif server == "closed":
        port = loopback.resetting()
        loopback.stack.close()  # stopped: nothing listens there any more
    else:
        port = getattr(loopback, server)()
    started = time.monotonic()
    found = run(port, loopback.ca_file, timeout=1)
    assert found.error is not None and found.error.startswith("no TLS handshake")
    assert found.protocols == () and found.chain == ()
    assert time.monotonic() - started < 20
