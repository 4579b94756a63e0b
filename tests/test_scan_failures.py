"""Endpoints that time out or crash make their requirement inconclusive; the scan goes on and
every other endpoint is still judged."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from connectguard.fixture import serve_case
from connectguard.fixture.options import scan_options
from connectguard.model import Verdict
from connectguard.scan import run_scan
from connectguard.settings import Limits

SECURE = {
    "Strict-Transport-Security": ["max-age=31536000"],
    "Cache-Control": ["no-cache, no-store"],
    "Referrer-Policy": ["no-referrer"],
}


def _case(extra_route: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "failures",
        "title": "one good page and one troubled endpoint",
        "app": {
            "descriptor": {
                "key": "failures",
                "name": "Failures",
                "baseUrl": "{base}",
                "modules": {
                    "generalPages": [
                        {"key": "good", "url": "/good"},
                        {"key": "open", "url": "/open"},
                        {"key": "bad", "url": "/bad"},
                    ]
                },
            },
            "default_headers": SECURE,
            "routes": [
                {"path": "/good", "auth": "jwt", "ok": {"status": 200, "body": "<p>ok</p>"}},
                {"path": "/open", "ok": {"status": 200, "body": "<p>anyone</p>"}},
                extra_route,
            ],
        },
        "install": {"clientKey": "c", "sharedSecret": "x" * 40, "admins": []},
        "expect": {},
    }


def test_a_crashing_endpoint_is_inconclusive_not_a_denial() -> None:
    route = {"path": "/bad", "methods": ["GET", "POST"], "ok": {"status": 500}}
    case = _case(route)
    case["app"]["routes"].pop(1)
    case["app"]["descriptor"]["modules"]["generalPages"].pop(1)
    with serve_case(case) as served:
        result = run_scan(scan_options(served))
    five = result.requirement("5")
    assert five.verdict is Verdict.INCONCLUSIVE
    assert "answered 500" in five.reason and "/bad" in five.reason


def test_a_failure_does_not_hide_a_finding_elsewhere() -> None:
    route = {"path": "/bad", "methods": ["GET", "POST"], "ok": {"status": 503}}
    with serve_case(_case(route)) as served:
        result = run_scan(scan_options(served))
    five = result.requirement("5")
    assert five.verdict is Verdict.FAIL
    assert {f.path for f in five.failures} == {"/open"}


def test_a_slow_endpoint_times_out_and_the_scan_goes_on() -> None:
    route = {"path": "/bad", "delay_ms": 3000, "ok": {"status": 200, "body": "late"}}
    case = _case(route)
    case["app"]["routes"].pop(1)
    case["app"]["descriptor"]["modules"]["generalPages"].pop(1)
    with serve_case(case) as served:
        options = replace(scan_options(served), limits=Limits(request_timeout=0.5))
        result = run_scan(options)
    five = result.requirement("5")
    assert five.verdict is Verdict.INCONCLUSIVE
    assert "timed out" in five.reason
    assert result.requirement("12").verdict is Verdict.NOT_TESTED
