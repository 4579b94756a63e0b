"""Requirement 8 on literal evidence: tokens in cross-origin URLs judged with the Referrer-Policy,
module pages whose policy leaks their ?jwt= URL, tokens next to third-party scripts."""

from __future__ import annotations

import json

import jwt as pyjwt

from connectguard.checks.leaks import (
    check_token_leaks,
    find_jwts,
    is_atlassian_host,
    tokens_in_url,
)
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Level
from connectguard.probes.evidence import EndpointEvidence, Evidence
from connectguard.verdicts import combine

URL = "https://app.example.com/atlassian-connect.json"
TOKEN = pyjwt.encode(
    {"iss": "client-key", "exp": 2_000_000_000, "qsh": "ab" * 32}, "s" * 32, algorithm="HS256"
)


def evidence(
    body: str, headers: tuple[tuple[str, str], ...] = (), cacheable: bool = False
) -> Evidence:
    module = {"key": "board", "url": "/board", "name": {"value": "Board"}}
    if cacheable:
        module["cacheable"] = True
    raw = {"key": "k", "name": "n", "baseUrl": "https://app.example.com"}
    raw["modules"] = {"generalPages": [module]}
    descriptor = parse_descriptor(json.dumps(raw), URL)
    plan = plan_endpoints(descriptor, URL)
    exchange = Exchange(
        "GET",
        "https://app.example.com/board",
        token="valid",
        status=200,
        headers=(("Content-Type", "text/html"), *headers),
        body=body.encode(),
    )
    return Evidence(
        target=URL,
        scan_time=1_700_000_000,
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan,
        endpoints=(EndpointEvidence(plan.endpoints[0], (exchange,)),),
    )


def judged(ev: Evidence) -> tuple[str, list[tuple[str, Level]]]:
    judgements = check_token_leaks(ev)
    result = next(r for r in combine(judgements) if r.requirement == "8")
    return result.verdict.value, [(f.check, f.level) for f in result.findings]


POLICY = (("Referrer-Policy", "strict-origin-when-cross-origin"),)


def test_token_in_link_with_unsafe_policy_fails_and_is_shortened() -> None:
    body = f'<a href="https://partner.example.net/open?jwt={TOKEN}">Open</a>'
    ev = evidence(body, (("Referrer-Policy", "unsafe-url"),))
    verdict, findings = judged(ev)
    assert verdict == "fail"
    assert ("token-in-cross-origin-url", Level.FAIL) in findings
    summaries = " ".join(f.summary for f in check_token_leaks(ev)[0].findings)
    assert TOKEN not in summaries and TOKEN[:10] in summaries


def test_token_in_link_with_strict_policy_is_advice() -> None:
    body = f'<a href="https://partner.example.net/open?jwt={TOKEN}">Open</a>'
    assert judged(evidence(body, POLICY)) == (
        "pass",
        [("token-in-cross-origin-url", Level.ADVICE)],
    )


def test_element_noreferrer_overrides_an_unsafe_page_policy() -> None:
    body = f'<a rel="noreferrer" href="https://partner.example.net/open?jwt={TOKEN}">Open</a>'
    verdict, findings = judged(evidence(body, (("Referrer-Policy", "unsafe-url"),)))
    assert verdict == "pass"
    assert findings == [("token-in-cross-origin-url", Level.ADVICE)]


def test_module_page_loading_another_origin_without_a_policy_fails() -> None:
    body = '<img src="https://cdn.example.net/banner.png">'
    assert judged(evidence(body)) == ("fail", [("module-page-referer", Level.FAIL)])
    meta = '<meta name="referrer" content="no-referrer">' + body
    assert judged(evidence(meta)) == ("pass", [])


def test_module_page_loading_another_origin_through_srcset_or_css_fails() -> None:
    srcset = '<picture><source srcset="https://cdn.example.net/b.png 1x"></picture>'
    assert judged(evidence(srcset, (("Referrer-Policy", "unsafe-url"),))) == (
        "fail",
        [("module-page-referer", Level.FAIL)],
    )
    style = "<div style=\"background: url('https://cdn.example.net/b.png')\">x</div>"
    downgrade = (("Referrer-Policy", "no-referrer-when-downgrade"),)
    assert judged(evidence(style, downgrade)) == ("fail", [("module-page-referer", Level.FAIL)])
    block = "<style>@import 'https://fonts.example.net/f.css';</style>"
    assert judged(evidence(block)) == ("fail", [("module-page-referer", Level.FAIL)])
    assert judged(evidence(style + block + srcset, POLICY)) == ("pass", [])


def test_the_policy_named_is_the_one_the_request_went_out_with() -> None:
    body = '<img referrerpolicy="unsafe-url" src="https://cdn.example.net/banner.png">'
    ev = evidence(body, (("Referrer-Policy", "no-referrer"),))
    assert judged(ev) == ("fail", [("module-page-referer", Level.FAIL)])
    finding = check_token_leaks(ev)[0].findings[0]
    assert "(unsafe-url, set by referrerpolicy on <img>)" in finding.summary
    assert "no-referrer" not in finding.summary
    page_wide = check_token_leaks(evidence('<img src="https://cdn.example.net/b.png">'))
    assert "Referrer-Policy (none)" in page_wide[0].findings[0].summary


def test_same_origin_atlassian_and_cacheable_pages_do_not_leak() -> None:
    body = (
        '<img src="/local.png"><script src="https://connect-cdn.atl-paas.net/all.js"></script>'
        '<a href="https://app.example.com/other">same app</a>'
        '<link rel="preconnect" href="https://fonts.example.net">'
    )
    assert judged(evidence(body, (("Referrer-Policy", "unsafe-url"),))) == ("pass", [])
    cdn = '<img src="https://cdn.example.net/banner.png">'
    assert judged(evidence(cdn, cacheable=True)) == ("pass", [])


def test_connect_token_echoed_next_to_third_party_scripts_is_a_warning() -> None:
    body = f'<meta name="token" content="{TOKEN}"><script src="https://tags.example.net/t.js"></script>'
    assert judged(evidence(body, POLICY)) == (
        "pass",
        [("token-with-third-party-scripts", Level.WARNING)],
    )


def test_no_html_page_means_not_tested() -> None:
    ev = evidence("{}", (("Content-Type", "application/json"),))
    ev = Evidence(
        target=ev.target,
        scan_time=ev.scan_time,
        descriptor_chain=ev.descriptor_chain,
        descriptor=ev.descriptor,
        plan=ev.plan,
    )
    assert judged(ev) == ("not_tested", [])


def test_jwt_and_oauth_token_detection() -> None:
    assert [j.claims["iss"] for j in find_jwts(f"x {TOKEN} y")] == ["client-key"]
    assert find_jwts("eyJhbGciOi.eyJzdWIi.not-json") == []
    assert find_jwts("eyJ" * 100_000) == []
    assert tokens_in_url("https://p.example.net/cb?access_token=ya29.a0AfH6SMBx3kP9qL2") == [
        "access_token=ya29.a0AfH…(22 chars)"
    ]
    assert tokens_in_url("https://p.example.net/cb?token=short") == []


def test_atlassian_hosts() -> None:
    assert is_atlassian_host("https://acme.atlassian.net/wiki")
    assert is_atlassian_host("https://connect-cdn.atl-paas.net/all.js")
    assert not is_atlassian_host("https://atlassian.net.evil.example/")
