"""A findings store with a known history for the report tests: five scans of one app over
60 days, in which findings open, get fixed, come back, fall overdue and get suppressed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectguard.model import (
    Exchange,
    Finding,
    Judgement,
    Level,
    ScanResult,
    Severity,
)
from connectguard.requirements import NUMBERS
from connectguard.store import open_store, record_scan
from connectguard.store.queries import AppReport, app_report
from connectguard.store.suppressions import parse_config
from connectguard.verdicts import combine

DAY0 = dt.datetime(2025, 1, 6, 10, 0, tzinfo=dt.UTC)
REPORT_AT = DAY0 + dt.timedelta(days=60)
BASE = "https://app.example.test"
HOSTILE = 'No Referrer-Policy on /page <script>document.title="pwned"</script> | =cmd'


def _finding(requirement: str, check: str, path: str, **extra: object) -> Finding:
    fields: dict[str, object] = {
        "requirement": requirement,
        "check": check,
        "level": Level.FAIL,
        "summary": f"{check} at {path}",
        "fix": f"Fix {check}.",
        "origin": BASE,
        "path": path,
        "method": "GET",
        **extra,
    }
    return Finding(**fields)  # type: ignore[arg-type]


PAGE = Exchange(
    "GET",
    f"{BASE}/page",
    token="none",
    status=200,
    headers=(("Content-Type", "text/html"), ("Set-Cookie", "sid=4f1c; Path=/")),
    body=b"<html><body>Board</body></html>",
)
HSTS = _finding("1", "hsts", "/")
REFERRER = _finding("12", "referrer-policy", "/page", summary=HOSTILE)
COOKIE = _finding("11", "session-cookie-flags", "/page", detail="sid", evidence=(PAGE,))
AUTH = _finding("5", "no-token-accepted", "/admin", severity=Severity.HIGH)
CACHE = _finding("2", "cache-control", "/help")

# day -> findings of that scan
SCANS: tuple[tuple[int, tuple[Finding, ...]], ...] = (
    (0, (HSTS, REFERRER, COOKIE)),
    (10, (HSTS, REFERRER, COOKIE, AUTH)),
    (20, (COOKIE, AUTH, CACHE)),
    (45, (COOKIE, AUTH, REFERRER, CACHE)),
    (60, (COOKIE, REFERRER, CACHE)),
)
CONFIG = parse_config(
    '[[suppress]]\nrequirement = "2"\npath = "/help"\nreason = "Static help page"\n'
    "expires = 2025-12-31\n"
)


def result_of(findings: tuple[Finding, ...], at: dt.datetime) -> ScanResult:
    judgements = [
        Judgement(n, tuple(f for f in findings if f.requirement == n), 1) for n in NUMBERS[:-1]
    ]
    judgements[5] = Judgement("6", (), 0, ("the bucket probe timed out",))
    stamp = at.isoformat()
    return ScanResult(
        target=f"{BASE}/atlassian-connect.json",
        started_at=stamp,
        finished_at=stamp,
        app_key="report-app",
        app_name="Report <App>",
        base_url=BASE,
        requirements=combine(judgements),
        exchanges=42,
    )


@pytest.fixture
def history_report(tmp_path: Path) -> AppReport:
    """The report of the app at day 60: fail 2, 11, 12, 15 ... see EXPECTED in the tests."""
    url = f"sqlite:///{tmp_path}/findings.sqlite3"
    with open_store(url) as store:
        for day, findings in SCANS:
            at = DAY0 + dt.timedelta(days=day)
            record_scan(store, result_of(findings, at), scan_time=at, config=CONFIG)
        return app_report(store, None, REPORT_AT)


@pytest.fixture
def hostile_summary() -> str:
    """The summary of one finding: markup and a spreadsheet formula that must stay text."""
    return HOSTILE
