"""Requirement 1, the transport half: protocol versions, cipher suites and plain HTTP on port 80.

On the app origins, an accepted SSL 2.0, SSL 3.0, TLS 1.0 or TLS 1.1 fails; a version whose
probe errored leaves requirement 1 undecided (a refused handshake is a rejection, not an error).
The vendor's other origins get the same verdicts as advice. TLS 1.2 suites below the
recommendation (AES-256-GCM with SHA-256 or better; no RC4, 3DES, NULL, EXPORT or anonymous
suites) are advice. An app host that answers plain HTTP on port 80 must redirect to HTTPS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.net.http import redirect_target
from connectguard.probes.evidence import Evidence
from connectguard.probes.transport_evidence import (
    LEGACY_PROTOCOLS,
    OriginRole,
    PlainHttpEvidence,
    TlsEvidence,
)

PROTOCOL_FIX = "Disable SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1; serve TLS 1.2 and 1.3 only."
CIPHER_FIX = (
    "Offer TLS_ECDHE_*_WITH_AES_256_GCM_SHA384 on TLS 1.2 and disable RC4, 3DES, NULL, "
    "EXPORT and anonymous suites."
)
PLAIN_HTTP_FIX = "Answer every plain-HTTP request with a redirect (301 or 308) to https://."
WEAK_MARKERS = ("RC4", "3DES", "DES_CBC", "DES40", "_NULL_", "NULL_WITH", "EXPORT", "_anon_")
STRONG_MACS = ("SHA256", "SHA384", "SHA512")


def check_tls_protocols(evidence: Evidence) -> list[Judgement]:
    r1 = JudgementBuilder("1")
    for scan in evidence.transport.tls:
        if scan.role is OriginRole.APP:
            _judge_app_origin(scan, r1)
        elif scan.role is OriginRole.VENDOR:
            _advise_vendor_origin(scan, r1)
        _advise_cipher_suites(scan, r1)
    return [r1.build()]


def check_plain_http_port(evidence: Evidence) -> list[Judgement]:
    r1 = JudgementBuilder("1")
    for probe in evidence.transport.port80:
        _judge_port80(probe, r1)
    return [r1.build()]


def is_weak_suite(name: str) -> bool:
    return any(marker in name for marker in WEAK_MARKERS)


def is_recommended_suite(name: str) -> bool:
    return "AES_256_GCM" in name and name.endswith(STRONG_MACS) and not is_weak_suite(name)


def _judge_app_origin(scan: TlsEvidence, r1: JudgementBuilder) -> None:
    if scan.error is not None:
        r1.undecide(f"the TLS versions of {scan.where} could not be probed: {scan.error}")
        return
    errored = [p for p in scan.protocols if p.accepted is None]
    for probe in errored:
        r1.undecide(f"the {probe.protocol} probe of {scan.where} errored: {probe.error}")
    legacy = [p.protocol for p in scan.protocols if p.accepted and p.protocol in LEGACY_PROTOCOLS]
    if legacy:
        r1.add(_protocol_finding(scan, legacy, Level.FAIL))
    elif not errored:
        r1.count()


def _advise_vendor_origin(scan: TlsEvidence, r1: JudgementBuilder) -> None:
    if scan.error is not None:
        r1.note(f"the TLS versions of {scan.where} (a vendor origin) were not probed: {scan.error}")
        return
    legacy = [p.protocol for p in scan.protocols if p.accepted and p.protocol in LEGACY_PROTOCOLS]
    if legacy:
        r1.add(_protocol_finding(scan, legacy, Level.ADVICE))


def _protocol_finding(scan: TlsEvidence, legacy: list[str], level: Level) -> Finding:
    names = ", ".join(legacy)
    what = "app origin" if scan.role is OriginRole.APP else "origin of the vendor"
    return Finding(
        requirement="1",
        check="tls-protocols",
        level=level,
        summary=f"The {what} {scan.where} accepts {names}: only TLS 1.2 or higher is allowed.",
        fix=PROTOCOL_FIX,
        severity=Severity.HIGH if level is Level.FAIL else Severity.LOW,
        origin=scan.origin,
        path="/",
        detail=names,
        facts=tuple(
            (p.protocol, ", ".join(p.cipher_suites)) for p in scan.protocols if p.protocol in legacy
        ),
    )


def _advise_cipher_suites(scan: TlsEvidence, r1: JudgementBuilder) -> None:
    tls12 = next((p for p in scan.protocols if p.protocol == "TLS 1.2" and p.accepted), None)
    if tls12 is None:
        return
    weak = [s for s in tls12.cipher_suites if is_weak_suite(s)]
    if weak:
        r1.add(
            _cipher_finding(scan, f"accepts weak TLS 1.2 cipher suites: {', '.join(weak)}", "weak")
        )
    if not any(is_recommended_suite(s) for s in tls12.cipher_suites):
        summary = "offers no AES-256-GCM suite with SHA-256 or better on TLS 1.2"
        r1.add(_cipher_finding(scan, summary, "no-aes256-gcm"))


def _cipher_finding(scan: TlsEvidence, problem: str, detail: str) -> Finding:
    return Finding(
        requirement="1",
        check="tls-cipher-suites",
        level=Level.ADVICE,
        summary=f"{scan.where} {problem}.",
        fix=CIPHER_FIX,
        severity=Severity.LOW,
        origin=scan.origin,
        path="/",
        detail=detail,
    )


def _judge_port80(probe: PlainHttpEvidence, r1: JudgementBuilder) -> None:
    exchange = probe.exchange
    if exchange.status is None:
        r1.count()  # closed, filtered or not HTTP: nothing is served in the clear
        return
    location = redirect_target(exchange)
    if location is not None and urlsplit(location).scheme == "https":
        r1.count()
        return
    if location is not None:
        problem = f"redirects to {location}, not to https"
    else:
        problem = f"answers {exchange.status} with content instead of a redirect to https"
    r1.add(
        Finding(
            requirement="1",
            check="plain-http-port",
            level=Level.FAIL,
            summary=f"The app host {probe.host} on plain-HTTP port {probe.port} {problem}.",
            fix=PLAIN_HTTP_FIX,
            severity=Severity.MEDIUM,
            origin=exchange.origin,
            path=exchange.path,
            method=exchange.method,
            evidence=(exchange,),
        )
    )
