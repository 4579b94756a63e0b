"""Requirement 3, domain control: which registrable domains the app depends on, and their state.

Each registrable domain (public suffix list) under which the app has a host is listed as info.
An app origin whose registrable domain differs from the descriptor's is a warning: the vendor
must control both. With RDAP on, a registration that has expired fails and one that expires
within 30 days is a warning.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence
from connectguard.probes.transport_evidence import DomainEvidence

EXPIRY_WARNING_DAYS = 30
RENEW_FIX = "Renew the domain registration, and turn on automatic renewal."


def check_domains(evidence: Evidence) -> list[Judgement]:
    r3 = JudgementBuilder("3")
    now = dt.datetime.fromtimestamp(evidence.scan_time, dt.UTC)
    by_host = {host: d for d in evidence.transport.domains for host in d.hosts}
    for domain in evidence.transport.domains:
        r3.add(_listed(domain))
        _judge_registration(domain, now, r3)
    _judge_app_domains(evidence, by_host, r3)
    return [r3.build()]


def _listed(domain: DomainEvidence) -> Finding:
    return Finding(
        requirement="3",
        check="registrable-domain",
        level=Level.INFO,
        summary=f"The app depends on the domain {domain.domain} ({', '.join(domain.hosts)}).",
        severity=Severity.NONE,
        origin=domain.domain,
        path="",  # a DNS name, not a URL
        detail=domain.domain,
    )


def _judge_registration(domain: DomainEvidence, now: dt.datetime, r3: JudgementBuilder) -> None:
    rdap = domain.rdap
    if rdap is None:
        return
    if rdap.expires is None:
        r3.note(f"the registration of {domain.domain} could not be read: {rdap.error}")
        return
    try:
        expires = dt.datetime.fromisoformat(rdap.expires.replace("Z", "+00:00"))
    except ValueError:
        r3.note(f"the registration of {domain.domain} has an unreadable expiry: {rdap.expires}")
        return
    expires = expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC)
    r3.count()
    days_left = (expires - now).days
    if expires < now:
        level = Level.FAIL
        summary = f"The registration of {domain.domain} expired on {rdap.expires}."
    elif days_left < EXPIRY_WARNING_DAYS:
        level = Level.WARNING
        summary = f"The registration of {domain.domain} expires in {days_left} days."
    else:
        return
    r3.add(
        Finding(
            requirement="3",
            check="domain-registration",
            level=level,
            summary=summary,
            fix=RENEW_FIX,
            severity=Severity.HIGH if level is Level.FAIL else Severity.LOW,
            origin=domain.domain,
            path="",  # a DNS name, not a URL
            detail=domain.domain,
            facts=(("RDAP", rdap.url), ("expires", rdap.expires)),
        )
    )


def _judge_app_domains(
    evidence: Evidence, by_host: dict[str, DomainEvidence], r3: JudgementBuilder
) -> None:
    descriptor_host = (urlsplit(evidence.descriptor_url).hostname or "").lower()
    home = by_host.get(descriptor_host)
    if home is None:
        return
    for origin in evidence.plan.app_origins:
        host = (urlsplit(origin).hostname or "").lower()
        other = by_host.get(host)
        if other is None or other.domain == home.domain:
            continue
        r3.add(
            Finding(
                requirement="3",
                check="app-domain-differs",
                level=Level.WARNING,
                summary=(
                    f"The app origin {origin} is under {other.domain}, not under the "
                    f"descriptor's domain {home.domain}: the vendor must control both."
                ),
                fix="Serve the descriptor and the app from domains the vendor registered.",
                severity=Severity.LOW,
                origin=origin,
                path="",
                detail=other.domain,
            )
        )
