"""Secrets in evidence bodies are masked before the store, and so every report, keeps them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectguard.model import Exchange, Finding, Judgement, Level, ScanResult
from connectguard.net.http import redact_url
from connectguard.redact import redact_headers, redact_text
from connectguard.report.html import render_html
from connectguard.report.json_report import render_json
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


def test_response_headers_keep_names_and_attributes_but_no_values() -> None:
    headers = (
        ("Set-Cookie", "pulse_session=Zk3q9XbT7mWp2LrV8nYc; Path=/; HttpOnly"),
        ("Location", f"https://app.example.test/next?jwt={JWT}"),
        ("X-Auth-Token", "plain-value-12345"),
        ("Content-Type", "text/html"),
    )
    shown = dict(redact_headers(headers))
    assert shown["Set-Cookie"].startswith("pulse_session=Zk3q…")
    assert shown["Set-Cookie"].endswith("; Path=/; HttpOnly")
    assert JWT not in shown["Location"] and shown["Location"].startswith(
        "https://app.example.test/"
    )
    assert "plain-value-12345" not in shown["X-Auth-Token"]
    assert shown["Content-Type"] == "text/html"


def test_the_json_report_masks_cookie_values() -> None:
    page = Exchange(
        "GET",
        "https://app.example.test/page",
        status=200,
        headers=(("Set-Cookie", "sid=Zk3q9XbT7mWp2LrV8nYc; Path=/"),),
        body=b"<html></html>",
    )
    cookie = Finding(
        requirement="11",
        check="session-cookie-flags",
        level=Level.FAIL,
        summary="The session cookie sid is set without HttpOnly.",
        evidence=(page,),
    )
    result = ScanResult(
        "https://app.example.test/atlassian-connect.json",
        "2026-01-05T00:00:00+00:00",
        "2026-01-05T00:00:00+00:00",
        "k",
        "n",
        None,
        combine([Judgement("11", (cookie,), 1)]),
    )
    report = render_json(result)
    assert "Zk3q9XbT7mWp2LrV8nYc" not in report and "sid=Zk3q" in report


def test_urls_as_shown_hide_passwords_and_tokens() -> None:
    shown = redact_url(f"https://admin:Hunter2Secret@app.example.test/d.json?jwt={JWT}&x=1")
    assert "Hunter2Secret" not in shown and JWT not in shown
    assert shown.startswith("https://admin:***@app.example.test/d.json?") and "x=1" in shown
    assert redact_url("http://[bad/x") == "http://[bad/x"
