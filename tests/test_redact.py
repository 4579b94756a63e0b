"""Secrets in evidence bodies are masked before the store, and so every report, keeps them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectguard.model import Exchange, Finding, Judgement, Level, ScanResult
from connectguard.redact import redact_text
from connectguard.report.html import render_html
from connectguard.requirements import NUMBERS
from connectguard.store import open_store, record_scan
from connectguard.store.queries import app_report
from connectguard.verdicts import combine

SECRET = "Zq8Xk2Lm9Wp4Rt7Yb3Nc6Vd1Gh5Jf0Ks8Qe2Uw7Io4Pa9"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ0ZW5hbnQiLCJxc2giOiJhYmMifQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU"


@pytest.mark.parametrize(
    "text",
    [
        f'<script>window.cfg = {{sharedSecret: "{SECRET}"}};</script>',
        f'<a href="https://partner.example/go?jwt={JWT}">partner</a>',
        f"NODE_ENV=production\nDB_PASSWORD=hunter2-correct-horse\nAPP_KEY={SECRET}\n",
        f'{{"clientKey": "abc", "sharedSecret": "{SECRET}"}}',
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    ],
)
def test_secrets_are_masked(text: str) -> None:
    redacted = redact_text(text)
    for secret in (SECRET, JWT, "hunter2-correct-horse", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"):
        assert secret not in redacted
    assert "chars)" in redacted or "redacted" in redacted


def test_ordinary_markup_and_words_are_kept() -> None:
    text = '<p class="internationalization-banner">Hello, DEBUG=true, token count 3</p>'
    assert redact_text(text) == text


def test_the_html_report_never_shows_a_leaked_secret(tmp_path: Path) -> None:
    page = Exchange(
        "GET",
        "https://app.example.test/page",
        status=200,
        body=f'<script>var s = "{SECRET}"; var t = "{JWT}";</script>'.encode(),
    )
    leak = Finding(
        requirement="7",
        check="shared-secret-in-page",
        level=Level.FAIL,
        summary="The page contains the sharedSecret.",
        origin="https://app.example.test",
        path="/page",
        evidence=(page,),
    )
    judgements = [Judgement(n, (), 1) for n in NUMBERS[:-1] if n != "7"]
    at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    result = ScanResult(
        "https://app.example.test/atlassian-connect.json",
        at.isoformat(),
        at.isoformat(),
        "leaky",
        "Leaky",
        None,
        combine([*judgements, Judgement("7", (leak,), 1)]),
    )
    with open_store(f"sqlite:///{tmp_path}/s.sqlite3") as store:
        record_scan(store, result, scan_time=at)
        html = render_html(app_report(store, "leaky", at))
    assert "The page contains the sharedSecret." in html
    assert SECRET not in html and JWT not in html
    assert SECRET[:4] in html  # the masked prefix shows where it was
