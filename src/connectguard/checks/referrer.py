"""Requirement 12: every page has an effective Referrer-Policy that does not leak its URL."""

from __future__ import annotations

from connectguard.checks.headers import UNSAFE_POLICIES, effective_referrer_policy
from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import page_of

FIX = "Send Referrer-Policy: strict-origin-when-cross-origin (or no-referrer) on every page."


def check_referrer_policy(evidence: Evidence) -> list[Judgement]:
    r12 = JudgementBuilder("12")
    reported: set[tuple[str, str]] = set()
    for _, exchange in evidence.page_responses():
        page = page_of(exchange)
        metas = page.meta_referrers if page is not None else ()
        policy = effective_referrer_policy(exchange.header("Referrer-Policy"), metas)
        if policy.policy is not None and policy.policy not in UNSAFE_POLICIES:
            r12.count()
            continue
        if (exchange.origin, exchange.path) in reported:
            continue
        reported.add((exchange.origin, exchange.path))
        if policy.policy is not None:
            problem = f"has the unsafe Referrer-Policy {policy.policy} (from its {policy.source})"
        elif policy.unknown:
            problem = f"has only unrecognised Referrer-Policy values ({', '.join(policy.unknown)})"
        else:
            problem = "has no Referrer-Policy"
        r12.add(
            Finding(
                requirement="12",
                check="referrer-policy",
                level=Level.FAIL,
                summary=f"{exchange.path} {problem}.",
                fix=FIX,
                severity=Severity.LOW,
                origin=exchange.origin,
                path=exchange.path,
                method=exchange.method,
                evidence=(exchange,),
            )
        )
    if not r12.judged and not r12.findings:
        r12.note("no page answered 2xx with content, so the Referrer-Policy was not judged")
    return [r12.build()]
