"""Requirement 11 from literal evidence: which Set-Cookie lines are judged, and where."""

from __future__ import annotations

import json

from connectguard.checks.cookies import check_cookies
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Level
from connectguard.probes.evidence import EndpointEvidence, Evidence

BASE = "https://app.example.test"
DESCRIPTOR_URL = f"{BASE}/atlassian-connect.json"
RAW = {
    "key": "k",
    "name": "n",
    "baseUrl": BASE,
    "lifecycle": {"installed": "/installed"},
    "modules": {"generalPages": [{"key": "board", "url": "/board"}]},
}


def answer(path: str, *cookies: str, status: int = 200) -> Exchange:
    headers = tuple(("Set-Cookie", line) for line in cookies)
    return Exchange("GET", f"{BASE}{path}", status=status, headers=headers, body=b"x")


def evidence(*exchanges: Exchange, descriptor_fetch: Exchange | None = None) -> Evidence:
    descriptor = parse_descriptor(json.dumps(RAW), DESCRIPTOR_URL)
    plan = plan_endpoints(descriptor, DESCRIPTOR_URL)
    fetch = descriptor_fetch or Exchange("GET", DESCRIPTOR_URL, status=200)
    return Evidence(
        target=DESCRIPTOR_URL,
        scan_time=0,
        descriptor_chain=(fetch,),
        descriptor=descriptor,
        plan=plan,
        endpoints=(EndpointEvidence(plan.endpoints[0], exchanges),),
        host_responses=((BASE, (fetch,)),),
    )


def failing(found: Evidence) -> list[tuple[str, str]]:
    (judgement,) = check_cookies(found)
    return [(f.path, f.detail) for f in judgement.findings if f.level is Level.FAIL]


def test_each_path_that_sets_a_faulty_session_cookie_is_a_finding() -> None:
    found = evidence(
        answer("/installed", "connect.sid=s%3Aabc; Path=/; HttpOnly", status=401),
        answer("/board", "connect.sid=s%3Aabc; Path=/; HttpOnly"),
        answer("/board", "connect.sid=s%3Aabc; Path=/; HttpOnly"),
    )
    assert failing(found) == [("/installed", "connect.sid"), ("/board", "connect.sid")]


def test_flags_in_any_case_pass_and_deleting_cookies_are_not_judged() -> None:
    found = evidence(
        answer("/board", "sid=abc; path=/; secure; httponly", "session=; Max-Age=0"),
    )
    (judgement,) = check_cookies(found)
    assert judgement.findings == () and judgement.judged == 1


def test_a_preference_cookie_without_flags_is_advice() -> None:
    (judgement,) = check_cookies(evidence(answer("/board", "theme=dark; Max-Age=31536000")))
    assert [f.level for f in judgement.findings] == [Level.ADVICE]


def test_the_descriptor_fetch_is_not_judged() -> None:
    fetch = answer("/atlassian-connect.json", "sid=abc; Path=/")
    (judgement,) = check_cookies(evidence(descriptor_fetch=fetch))
    assert judgement.findings == () and judgement.judged == 0


def test_a_cookie_cleared_with_a_past_expires_is_not_judged() -> None:
    found = evidence(
        answer(
            "/board",
            "app_session=deleted; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "other_session=abc; Path=/; Expires=Wed, 01 Jan 2031 00:00:00 GMT",
            status=401,
        ),
    )
    assert failing(found) == [("/board", "other_session")]
