"""The Markdown report for tickets and pull requests, and the CSV export of findings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from connectguard.model import Judgement, ScanResult
from connectguard.report.csv import COLUMNS, render_csv, safe
from connectguard.report.html import render_html
from connectguard.report.junit import render_junit
from connectguard.report.markdown import cell, render_markdown
from connectguard.report.sarif import render_sarif
from connectguard.requirements import NUMBERS
from connectguard.store import open_store, record_scan
from connectguard.store.queries import AppReport, app_report
from connectguard.verdicts import combine


def test_markdown_report(history_report: AppReport) -> None:
    text = render_markdown(history_report)
    lines = text.splitlines()
    assert lines[0] == "## connectguard: Report \\<App\\> (`report-app`)"
    assert "10 pass, 4 fail, 1 inconclusive (exit code 1). 5 recorded scans." in lines[2]
    verdict_rows = [line for line in lines if re.match(r"\| \d{1,2} \| ", line)]
    assert len(verdict_rows) == 15
    assert any(line.startswith("| 15 |") and "❌ fail" in line for line in verdict_rows)
    assert "### Open findings: 2, 1 past due" in lines
    overdue = next(line for line in lines if "**4 late**" in line)
    assert "session-cookie-flags at /page" in overdue and "medium 5.3" in overdue
    assert "### Fixed: 2" in lines and "### Suppressed: 1" in lines
    # Every table row has the same number of cells: no summary broke out of its cell.
    for line in lines:
        if line.startswith("| "):
            assert line.replace("\\|", "").count("|") in (5, 7), line


def test_markdown_cells_are_escaped() -> None:
    assert cell("a | b\n<img src=x>") == "a \\| b \\<img src=x\\>"
    assert cell("`code` *bold* [link](x)") == "\\`code\\` \\*bold\\* \\[link\\](x)"


def test_csv_export(history_report: AppReport, hostile_summary: str) -> None:
    text = render_csv(history_report.findings, history_report.at)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 5
    by_check = {row["check"]: row for row in rows}
    cookie = by_check["session-cookie-flags"]
    assert (cookie["status"], cookie["due_on"], cookie["days_left"]) == ("open", "2025-03-03", "-4")
    assert cookie["cvss_vector"] == "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"
    assert by_check["referrer-policy"]["status"] == "regressed"
    assert by_check["referrer-policy"]["summary"] == hostile_summary
    assert by_check["cache-control"]["suppression_reason"] == "Static help page"
    assert by_check["hsts"]["days_left"] == ""
    assert by_check["no-token-accepted"]["fixed_at"].startswith("2025-03-07")


def test_csv_cells_cannot_become_formulas() -> None:
    assert [safe(v) for v in ("=1+1", "+x", "-2", "@SUM(A1)", "ok", None)] == [
        "'=1+1",
        "'+x",
        "'-2",
        "'@SUM(A1)",
        "ok",
        "",
    ]


def test_sarif_and_junit_exports_of_the_latest_scan(history_report: AppReport) -> None:
    # What `findings export -f sarif|junit` writes: the stored latest scan, 15 included.
    sarif = json.loads(render_sarif(history_report.result))
    rules = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert any("fix-deadline" in rule for rule in rules)
    junit = ET.fromstring(render_junit(history_report.result))
    failures = [
        case.get("name", "") for case in junit.iter("testcase") if case.find("failure") is not None
    ]
    assert len(failures) >= 4


def test_reports_of_a_clean_app_with_one_scan(tmp_path: Path) -> None:
    at = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    stamp = at.isoformat()
    clean = ScanResult(
        "https://clean.test/atlassian-connect.json",
        stamp,
        stamp,
        "clean",
        "Clean",
        None,
        combine([Judgement(n, (), 1) for n in NUMBERS[:-1]]),
    )
    with open_store(f"sqlite:///{tmp_path}/s.sqlite3") as store:
        record_scan(store, clean, scan_time=at)
        report = app_report(store, "clean", at)
    html = render_html(report)
    assert 'data-count="unfixed">0<' in html and 'id="no-deadlines"' in html
    assert 'data-count="verdict-pass">15<' in html
    markdown = render_markdown(report)
    assert "### Open findings: 0, 0 past due" in markdown
    assert "no open findings in the history of 1 scan" in markdown
    assert render_csv(report.findings, at) == ",".join(COLUMNS) + "\n"
