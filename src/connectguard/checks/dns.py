"""Requirement 4, subdomain takeover: DNS records of the app's hosts point only at live services.

For every host of requirement 3: a CNAME chain that ends in a name that does not exist
(NXDOMAIN) fails. A CNAME into a provider of the takeover table fails only when the host
really answers with that provider's unclaimed response (its status and marker); a live site
whose page merely contains similar words does not. A delegation whose name servers all deny
holding the zone is a warning. A host with no record, or a lookup that failed, is undecided.
"""

from __future__ import annotations

from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence
from connectguard.probes.takeover import TakeoverFingerprint
from connectguard.probes.transport_evidence import Delegation, DnsEvidence, DnsOutcome

DANGLING_FIX = "Delete the CNAME record, or claim its target again before anyone else does."
UNCLAIMED_FIX = (
    "Delete the CNAME record, or claim the resource at the provider again (create the app, "
    "bucket or site it names)."
)
DELEGATION_FIX = "Create the zone at the provider the NS records name, or remove the delegation."


def check_dns_takeover(evidence: Evidence) -> list[Judgement]:
    r4 = JudgementBuilder("4")
    for record in evidence.transport.dns:
        _judge(record, r4)
        for delegation in record.delegations:
            _judge_delegation(record.host, delegation, r4)
    if not evidence.transport.dns:
        r4.note("no host name to look up: the app is addressed by IP address only")
    return [r4.build()]


def _judge(record: DnsEvidence, r4: JudgementBuilder) -> None:
    if record.outcome is DnsOutcome.ERROR:
        r4.undecide(f"the DNS lookup of {record.host} failed: {record.error}")
        return
    if record.outcome is DnsOutcome.NXDOMAIN and not record.cnames:
        r4.undecide(f"{record.host} has no DNS record (NXDOMAIN)")
        return
    if record.outcome is DnsOutcome.NXDOMAIN:
        r4.add(_dangling(record))
        return
    resolved = record.outcome is DnsOutcome.RESOLVED
    if resolved and record.provider is not None and record.provider.has_response:
        _judge_provider(record, record.provider, r4)
        return
    if record.outcome is DnsOutcome.NO_ADDRESS and record.cnames:
        r4.add(
            _finding(
                record,
                Level.WARNING,
                "cname-no-address",
                f"The CNAME of {record.host} ends at {record.target}, which has no address.",
                DANGLING_FIX,
            )
        )
    r4.count()


def _dangling(record: DnsEvidence) -> Finding:
    chain = " -> ".join((record.host, *record.cnames))
    summary = f"{record.host} is a dangling CNAME: {record.target} does not exist ({chain})."
    provider = record.provider
    if provider is not None and provider.nxdomain:
        summary += f" Anyone can claim that name at {provider.name}."
    elif provider is not None:
        summary += f" It points into {provider.name}."
    return _finding(record, Level.FAIL, "dangling-cname", summary, DANGLING_FIX, Severity.HIGH)


def _judge_provider(
    record: DnsEvidence, provider: TakeoverFingerprint, r4: JudgementBuilder
) -> None:
    answered = [e for e in record.responses if e.status is not None]
    unclaimed = [e for e in answered if provider.is_unclaimed_response(e.status, e.text)]
    if unclaimed:
        summary = (
            f"{record.host} points at {record.target} ({provider.name}), which answers with "
            f"{provider.name}'s unclaimed-resource response: anyone can claim it."
        )
        r4.add(
            _finding(
                record,
                Level.FAIL,
                "unclaimed-provider",
                summary,
                UNCLAIMED_FIX,
                Severity.HIGH,
                evidence=tuple(unclaimed),
            )
        )
    elif answered:
        r4.count()
    else:
        reasons = "; ".join(e.error or "" for e in record.responses) or "no URL on this host"
        r4.undecide(
            f"{record.host} points into {provider.name}, but its answer could not be read to "
            f"compare with the unclaimed response: {reasons}"
        )


def _judge_delegation(host: str, delegation: Delegation, r4: JudgementBuilder) -> None:
    if not delegation.lame:
        return
    said = "; ".join(f"{a.nameserver}: {a.answer}" for a in delegation.answers)
    r4.add(
        Finding(
            requirement="4",
            check="lame-delegation",
            level=Level.WARNING,
            summary=(
                f"The zone {delegation.zone} (of {host}) is delegated to name servers that do "
                f"not serve it ({said}): whoever creates the zone there controls {host}."
            ),
            fix=DELEGATION_FIX,
            severity=Severity.MEDIUM,
            origin=host,
            path="",  # a DNS name, not a URL
            detail=delegation.zone,
        )
    )


def _finding(
    record: DnsEvidence,
    level: Level,
    check: str,
    summary: str,
    fix: str,
    severity: Severity = Severity.LOW,
    evidence: tuple[Exchange, ...] = (),
) -> Finding:
    facts = [("CNAME chain", " -> ".join((record.host, *record.cnames)))]
    if record.provider is not None:
        facts.append(("provider", f"{record.provider.name} ({record.provider.kind})"))
    return Finding(
        requirement="4",
        check=check,
        level=level,
        summary=summary,
        fix=fix,
        severity=severity,
        origin=record.host,
        path="",  # a DNS name, not a URL
        detail=record.target,
        evidence=evidence,
        facts=tuple(facts),
    )
