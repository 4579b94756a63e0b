"""What a hostile app writes into its descriptor or answers cannot drive the user's terminal:
the console report shows control characters as escapes."""

from __future__ import annotations

import io

from rich.console import Console

from connectguard.model import Exchange, Finding, Level, RequirementResult, ScanResult, Verdict
from connectguard.report.console import render_console

HOSTILE = "App\x1b]0;owned\x07\x1b[2J\r\x00"


def test_console_report_escapes_control_characters() -> None:
    exchange = Exchange("GET", f"https://app.test/{HOSTILE}", status=200)
    finding = Finding(
        "5", "auth", Level.FAIL, f"summary {HOSTILE}", fix=HOSTILE, evidence=(exchange,)
    )
    result = ScanResult(
        target="https://app.test/atlassian-connect.json",
        started_at="2025-01-01T00:00:00+00:00",
        finished_at="2025-01-01T00:00:01+00:00",
        app_key=HOSTILE,
        app_name=HOSTILE,
        base_url=f"https://app.test/{HOSTILE}",
        requirements=(RequirementResult("5", Verdict.FAIL, HOSTILE, (finding,), (HOSTILE,)),),
        notes=(HOSTILE,),
    )
    out = io.StringIO()
    render_console(result, Console(file=out, force_terminal=False, width=200), verbose=True)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert "\\x1b]0;owned\\x07" in text
