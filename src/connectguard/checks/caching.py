"""Requirement 2: pages with content carry Cache-Control with both no-cache and no-store."""

from __future__ import annotations

from connectguard.checks.headers import cache_directives
from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence

FIX = "Send Cache-Control: no-cache, no-store on pages that show customer data."


def check_cache_control(evidence: Evidence) -> list[Judgement]:
    r2 = JudgementBuilder("2")
    reported: set[tuple[str, str]] = set()
    for endpoint, exchange in evidence.page_responses():
        if endpoint is not None and endpoint.cacheable:
            r2.note(f"{exchange.path}: cacheable module, caching allowed by design")
            continue
        values = exchange.header("Cache-Control")
        missing = [d for d in ("no-cache", "no-store") if d not in cache_directives(values)]
        if not missing:
            r2.count()
            continue
        if (exchange.origin, exchange.path) in reported:
            continue
        reported.add((exchange.origin, exchange.path))
        sent = "; ".join(values) if values else "no Cache-Control header"
        r2.add(
            Finding(
                requirement="2",
                check="cache-control",
                level=Level.FAIL,
                summary=f"{exchange.path} lacks {' and '.join(missing)} (sent: {sent}).",
                fix=FIX,
                severity=Severity.LOW,
                origin=exchange.origin,
                path=exchange.path,
                method=exchange.method,
                evidence=(exchange,),
            )
        )
    if not r2.judged and not r2.findings:
        r2.note("no page answered 2xx with content, so caching headers were not judged")
    return [r2.build()]
