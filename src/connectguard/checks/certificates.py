"""Requirement 3, certificates: every https host the descriptor names has a valid certificate."""

from __future__ import annotations

from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import CertificateEvidence, Evidence

EXPIRY_WARNING_DAYS = 30


def check_certificates(evidence: Evidence) -> list[Judgement]:
    r3 = JudgementBuilder("3")
    for cert in evidence.certificates:
        origin = f"https://{cert.host}" + ("" if cert.port == 443 else f":{cert.port}")
        if cert.probe_error is not None:
            r3.undecide(
                f"the certificate of {cert.host}:{cert.port} could not be read: {cert.probe_error}"
            )
            continue
        r3.count()
        if not cert.verified:
            r3.add(
                _finding(
                    cert,
                    origin,
                    Level.FAIL,
                    "certificate-invalid",
                    f"The certificate of {cert.host}:{cert.port} is not valid: {cert.error}.",
                    Severity.HIGH,
                )
            )
        elif cert.days_left is not None and cert.days_left < EXPIRY_WARNING_DAYS:
            r3.add(
                _finding(
                    cert,
                    origin,
                    Level.WARNING,
                    "certificate-expiring",
                    f"The certificate of {cert.host}:{cert.port} expires in {cert.days_left} days.",
                    Severity.LOW,
                )
            )
    return [r3.build()]


def _finding(
    cert: CertificateEvidence,
    origin: str,
    level: Level,
    check: str,
    summary: str,
    severity: Severity,
) -> Finding:
    return Finding(
        requirement="3",
        check=check,
        level=level,
        summary=summary,
        fix="Serve a certificate from a trusted CA that names this host and renew it in time.",
        severity=severity,
        origin=origin,
        path="/",
        detail=cert.host,
        facts=(
            ("subject", cert.subject),
            ("issuer", cert.issuer),
            ("not after", cert.not_after),
            ("names", ", ".join(cert.sans)),
        ),
    )
