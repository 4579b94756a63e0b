"""Requirement 1, the HTTP half: no plain-HTTP app URLs, and HSTS of at least a year per host.

The TLS protocol half (which SSL/TLS versions each origin accepts) lives in `checks.tls`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from connectguard.checks.headers import ONE_YEAR, Hsts, parse_hsts
from connectguard.model import (
    Exchange,
    Finding,
    Judgement,
    JudgementBuilder,
    Level,
    Severity,
    origin_of,
)
from connectguard.probes.evidence import Evidence

HSTS_FIX = "Send Strict-Transport-Security: max-age=31536000; includeSubDomains on every response."


def check_plain_http(evidence: Evidence) -> list[Judgement]:
    r1 = JudgementBuilder("1")
    app_urls = {evidence.target: "descriptor URL", evidence.descriptor.base_url: "baseUrl"}
    for url, what in app_urls.items():
        if urlsplit(url).scheme == "http":
            r1.add(
                Finding(
                    requirement="1",
                    check="plain-http-app-url",
                    level=Level.FAIL,
                    summary=f"The {what} {url} uses plain http: app traffic is not encrypted.",
                    fix="Serve the app over HTTPS only and use an https: baseUrl.",
                    severity=Severity.HIGH,
                    origin=origin_of(url),
                    path=urlsplit(url).path or "/",
                    detail=what,
                )
            )
        else:
            r1.count()
    for url in evidence.plan.plain_http_urls:
        if url in app_urls:
            continue
        r1.add(
            Finding(
                requirement="1",
                check="plain-http-url",
                level=Level.ADVICE,
                summary=f"The descriptor links to {url} over plain http.",
                fix="Link to https: URLs.",
                origin=origin_of(url),
                path=urlsplit(url).path or "/",
            )
        )
    return [r1.build()]


def check_hsts(evidence: Evidence) -> list[Judgement]:
    """Judge HSTS once per app host, on that host's own HTTPS answer."""
    r1 = JudgementBuilder("1")
    for origin, chain in evidence.host_responses:
        if not origin.startswith("https://"):
            continue
        answer = _deciding_answer(chain)
        if answer is None:
            reason = chain[-1].error if chain else "no request was sent"
            r1.undecide(f"HSTS of {origin} could not be read: {reason}")
            continue
        _judge_hsts(origin, answer, r1)
    return [r1.build()]


def _deciding_answer(chain: tuple[Exchange, ...]) -> Exchange | None:
    """The answer whose HSTS header a browser would be left with after this chain.

    The chain is the host's own answers (same-origin redirects followed). A browser applies
    every valid HSTS header it receives, the last one winning, and ignores an invalid one; so
    the last answer with a valid header decides, else the last with an invalid header (to say
    why), else the last answer (which sent none).
    """
    answered = [e for e in chain if e.status is not None]
    with_header = [e for e in answered if e.header("Strict-Transport-Security")]
    valid = [e for e in with_header if (hsts := _hsts_of(e)) is not None and hsts.valid]
    for candidates in (valid, with_header, answered):
        if candidates:
            return candidates[-1]
    return None


def _hsts_of(answer: Exchange) -> Hsts | None:
    return parse_hsts(answer.header("Strict-Transport-Security"))


def _judge_hsts(origin: str, answer: Exchange, r1: JudgementBuilder) -> None:
    host = urlsplit(origin).hostname or ""
    if _is_ip_literal(host):
        r1.add(
            Finding(
                requirement="1",
                check="hsts-ip-literal",
                level=Level.ADVICE,
                origin=origin,
                path="/",
                summary=f"{host} is an IP address: browsers ignore HSTS on IP-literal hosts.",
                fix="Serve the app under a domain name.",
            )
        )
    hsts = _hsts_of(answer)
    problem = None
    if hsts is None:
        problem = "sends no Strict-Transport-Security header"
    elif not hsts.valid:
        problem = f"sends an invalid Strict-Transport-Security header ({hsts.error})"
    elif hsts.max_age is not None and hsts.max_age < ONE_YEAR:
        problem = f"sends HSTS max-age={hsts.max_age}, below one year ({ONE_YEAR} s)"
    if problem is None:
        r1.count()
        return
    r1.add(
        Finding(
            requirement="1",
            check="hsts",
            level=Level.FAIL,
            origin=origin,
            path=answer.path,
            method=answer.method,
            summary=f"{origin} {problem}.",
            fix=HSTS_FIX,
            severity=Severity.MEDIUM,
            evidence=(answer,),
        )
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
