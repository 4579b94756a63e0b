"""Requirement 3, certificates: every https host the app uses serves a valid certificate.

Valid means the chain verifies to a trusted root (the system store plus the user's CA file),
names the host, and is inside its validity period at the scan time; a chain that also carries
its root is still valid. Expiring within 30 days is a warning; a weak key or signature is
advice. Each certificate seen is listed as info with its subject, issuer, names and expiry.
"""

from __future__ import annotations

import datetime as dt

from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence
from connectguard.probes.transport_evidence import CertificateFacts, TlsEvidence

EXPIRY_WARNING_DAYS = 30
MIN_KEY_BITS = {"RSA": 2048, "DSA": 2048, "EC": 256}
WEAK_HASHES = frozenset({"md5", "sha1", "md2", "md4"})
CERT_FIX = "Serve a certificate from a trusted CA that names this host, and renew it in time."


def check_certificates(evidence: Evidence) -> list[Judgement]:
    r3 = JudgementBuilder("3")
    now = dt.datetime.fromtimestamp(evidence.scan_time, dt.UTC)
    for scan in evidence.transport.tls:
        _judge(scan, now, r3)
    return [r3.build()]


def _judge(scan: TlsEvidence, now: dt.datetime, r3: JudgementBuilder) -> None:
    if scan.error is not None:
        r3.undecide(f"the certificate of {scan.where} could not be read: {scan.error}")
        return
    if not scan.chain:
        r3.undecide(f"the certificate of {scan.where} could not be read: {scan.verify_error}")
        return
    leaf = scan.chain[0]
    r3.add(_finding(scan, Level.INFO, "certificate", f"{scan.where} serves {_described(leaf)}."))
    problem = _validity_problem(leaf, now)
    if problem is None and scan.verified is False:
        problem = f"does not verify: {(scan.verify_error or '').rstrip('.')}"
    if problem is not None:
        summary = f"The certificate of {scan.where} {problem}."
        r3.add(_finding(scan, Level.FAIL, "certificate-invalid", summary, Severity.HIGH))
        return
    if scan.verified is None:
        r3.undecide(f"the certificate of {scan.where} could not be verified: {scan.verify_error}")
        return
    r3.count()
    days_left = (_time(leaf.not_after) - now).days
    if days_left < EXPIRY_WARNING_DAYS:
        summary = f"The certificate of {scan.where} expires in {days_left} days."
        r3.add(_finding(scan, Level.WARNING, "certificate-expiring", summary, Severity.LOW))
    for weakness in _weaknesses(scan.chain):
        summary = f"The certificate chain of {scan.where} {weakness}."
        r3.add(_finding(scan, Level.ADVICE, "certificate-weak", summary, Severity.LOW))


def _validity_problem(leaf: CertificateFacts, now: dt.datetime) -> str | None:
    not_before, not_after = _time(leaf.not_before), _time(leaf.not_after)
    if not_after < now:
        return f"expired on {not_after.date().isoformat()}"
    if not_before > now:
        return f"is not valid before {not_before.date().isoformat()}"
    return None


def _weaknesses(chain: tuple[CertificateFacts, ...]) -> list[str]:
    found = []
    for position, cert in enumerate(chain):
        which = "leaf" if position == 0 else f"certificate {position + 1} ({cert.subject})"
        minimum = MIN_KEY_BITS.get(cert.key_type)
        if minimum is not None and cert.key_bits < minimum:
            key = f"{cert.key_type} {cert.key_bits}-bit key"
            found.append(f"has a weak key: the {which} has a {key}")
        # A root's own signature is never checked, so only the others count.
        if not cert.self_issued and (cert.signature_hash or "") in WEAK_HASHES:
            found.append(f"uses a weak signature: the {which} is signed with {cert.signature_hash}")
    return found


def _described(leaf: CertificateFacts) -> str:
    return f"a certificate for {leaf.subject} from {leaf.issuer}, valid until {leaf.not_after}"


def _finding(
    scan: TlsEvidence,
    level: Level,
    check: str,
    summary: str,
    severity: Severity = Severity.NONE,
) -> Finding:
    leaf = scan.chain[0]
    facts = [
        ("subject", leaf.subject),
        ("issuer", leaf.issuer),
        ("names", ", ".join(leaf.sans) or "none"),
        ("valid", f"{leaf.not_before} to {leaf.not_after}"),
        ("key", f"{leaf.key_type} {leaf.key_bits} bits, signed with {leaf.signature_hash}"),
        ("chain", _chain_size(scan)),
    ]
    if scan.verify_error:
        facts.append(("verification", scan.verify_error))
    return Finding(
        requirement="3",
        check=check,
        level=level,
        summary=summary,
        fix=CERT_FIX if level is not Level.INFO else "",
        severity=severity,
        origin=scan.origin,
        path="/",
        detail=scan.where,
        facts=tuple(facts),
    )


def _chain_size(scan: TlsEvidence) -> str:
    count = len(scan.chain)
    size = f"{count} certificate{'s' if count != 1 else ''}"
    return size + (", root included" if scan.chain_has_root else "")


def _time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
