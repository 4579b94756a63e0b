"""The findings history end to end: a fixture app served over TLS on 127.0.0.1, scanned by the
real scanner three times while its faults are fixed and one comes back, then through the
command line (`scan --store`, `findings`, `apps`)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectguard.cli import app as cli
from connectguard.fixture import serve_case
from connectguard.fixture.options import scan_options
from connectguard.model import ScanResult, Verdict
from connectguard.scan import run_scan
from connectguard.settings import Limits
from connectguard.store import Status, open_store, record_scan
from connectguard.store.queries import FindingFilter, FindingRecord, list_findings

DAY1 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
DAY2 = DAY1 + dt.timedelta(days=14)
DAY3 = DAY1 + dt.timedelta(days=60)

HTML = "<!DOCTYPE html><html><head><title>Overview</title></head><body><p>3 pages</p></body></html>"
GOOD_HEADERS = {
    "Strict-Transport-Security": ["max-age=31536000; includeSubDomains"],
    "Cache-Control": ["no-cache, no-store"],
    "Referrer-Policy": ["strict-origin-when-cross-origin"],
}


def case(*, short_hsts: bool, no_referrer: bool, slow_page: bool = False) -> dict[str, Any]:
    """A small app with authentication none; each fault can be switched on."""
    headers = copy.deepcopy(GOOD_HEADERS)
    if short_hsts:
        headers["Strict-Transport-Security"] = ["max-age=86400"]
    if no_referrer:
        headers["Referrer-Policy"] = []
    page: dict[str, Any] = {
        "path": "/page",
        "ok": {
            "status": 200,
            "headers": {"Set-Cookie": ["connect.sid=s%3Aq8Jm2xY0aBcD.Zk3vN7pR1tW5yH9; Path=/"]},
            "body": HTML,
        },
    }
    if slow_page:
        page["delay_ms"] = 1500
    return {
        "id": "store-history-app",
        "title": "An app whose faults come and go between scans",
        "app": {
            "descriptor": {
                "key": "store-history-app",
                "name": "History App",
                "baseUrl": "{base}",
                "authentication": {"type": "none"},
                "modules": {
                    "generalPages": [
                        {"key": "overview", "name": {"value": "Overview"}, "url": "/page"}
                    ]
                },
            },
            "default_headers": headers,
            "routes": [page],
        },
        "expect": {},
    }


def scan(case_dict: dict[str, Any], limits: Limits | None = None) -> ScanResult:
    with serve_case(case_dict) as served:
        return run_scan(scan_options(served, limits))


def by_check(url: str, at: dt.datetime) -> dict[str, FindingRecord]:
    with open_store(url) as store:
        return {r.check: r for r in list_findings(store, FindingFilter(), at)}


def test_three_scans_fixed_and_back(sqlite_url: str) -> None:
    first = scan(case(short_hsts=True, no_referrer=True))
    assert {f.check for f in first.findings() if f.level.value == "fail"} == {
        "hsts",
        "referrer-policy",
        "session-cookie-flags",
    }
    with open_store(sqlite_url) as store:
        one = record_scan(store, first, scan_time=DAY1)
        two = record_scan(store, scan(case(short_hsts=False, no_referrer=False)), scan_time=DAY2)
        after_two = by_check(sqlite_url, DAY2)
        three = record_scan(store, scan(case(short_hsts=False, no_referrer=True)), scan_time=DAY3)
    records = by_check(sqlite_url, DAY3)

    assert {check: r.status for check, r in after_two.items()} == {
        "hsts": Status.FIXED,
        "referrer-policy": Status.FIXED,
        "session-cookie-flags": Status.OPEN,
    }
    assert {check: r.status for check, r in records.items()} == {
        "hsts": Status.FIXED,
        "referrer-policy": Status.REGRESSED,
        "session-cookie-flags": Status.OPEN,
    }
    for record in records.values():
        assert record.first_seen == DAY1
    assert records["referrer-policy"].last_seen == DAY3
    assert records["hsts"].last_seen == DAY1
    # Due dates from the first sighting: medium 8 weeks, low 25 weeks, medium (hsts) 8 weeks.
    assert records["session-cookie-flags"].due_on == dt.date(2025, 4, 28)
    assert records["referrer-policy"].due_on == dt.date(2025, 8, 25)
    assert records["session-cookie-flags"].days_left(DAY3) == -4
    assert records["referrer-policy"].days_left(DAY3) == 115

    assert one.requirement.verdict is Verdict.PASS
    assert two.requirement.verdict is Verdict.PASS
    assert "due on 2025-04-28" in two.requirement.reason
    # At the pinned third scan date the cookie finding is 4 days past due: 15 fails.
    assert three.requirement.verdict is Verdict.FAIL
    assert (
        three.result.requirement("15").findings[0].detail
        == records["session-cookie-flags"].fingerprint
    )


def test_a_page_that_times_out_does_not_fix_its_findings(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        record_scan(store, scan(case(short_hsts=False, no_referrer=True)), scan_time=DAY1)
        slow = scan(
            case(short_hsts=False, no_referrer=False, slow_page=True), Limits(request_timeout=0.5)
        )
        assert slow.requirement("11").verdict in (Verdict.NOT_TESTED, Verdict.INCONCLUSIVE)
        assert slow.requirement("12").verdict in (Verdict.NOT_TESTED, Verdict.INCONCLUSIVE)
        record_scan(store, slow, scan_time=DAY2)
    records = by_check(sqlite_url, DAY2)
    assert records["referrer-policy"].status is Status.OPEN
    assert records["session-cookie-flags"].status is Status.OPEN
    assert records["session-cookie-flags"].last_seen == DAY1


def test_command_line_records_lists_and_exports(tmp_path: Path, sqlite_url: str) -> None:
    runner = CliRunner()
    env = {"COLUMNS": "200", "CONNECTGUARD_STORE": sqlite_url}
    config = tmp_path / "connectguard.toml"
    config.write_text(
        '[[suppress]]\nrequirement = "1"\ncheck = "hsts"\nreason = "CDN migration"\n'
        "expires = 2025-03-10\n",
        encoding="utf-8",
    )
    for when, faults in (("2025-03-03", True), ("2025-05-02", False)):
        with serve_case(case(short_hsts=faults, no_referrer=faults)) as served:
            run = runner.invoke(
                cli,
                [
                    "scan",
                    served.target,
                    "--ca-file",
                    served.ca_file,
                    "--store",
                    "--format",
                    "json",
                    "--config",
                    str(config),
                    "--scan-date",
                    when,
                ],
                env=env,
            )
        report = json.loads(run.stdout)
        assert run.exit_code == 1, run.output
    # The second scan: the cookie finding (due 2025-04-28) is overdue.
    assert report["requirements"]["15"]["verdict"] == "fail"
    assert "expired on 2025-03-10" in " ".join(report["requirements"]["15"]["notes"])
    assert any("line 1" in note and "expired on 2025-03-10" in note for note in report["notes"])

    listed = runner.invoke(cli, ["findings", "list", "--at", "2025-05-02"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "4 late" in listed.stdout and "3 findings" in listed.stdout
    overdue = runner.invoke(cli, ["findings", "list", "--overdue", "--at", "2025-05-02"], env=env)
    assert "1 finding" in overdue.stdout and "session cookie" in overdue.stdout
    fixed = runner.invoke(cli, ["findings", "list", "--status", "fixed"], env=env)
    assert "2 findings" in fixed.stdout

    exported = runner.invoke(
        cli, ["findings", "export", "--format", "json", "--at", "2025-05-02"], env=env
    )
    rows = {row["check"]: row for row in json.loads(exported.stdout)}
    fingerprint = rows["session-cookie-flags"]["fingerprint"]
    assert rows["session-cookie-flags"]["days_left"] == -4

    shown = runner.invoke(cli, ["findings", "show", fingerprint[:8]], env=env)
    assert shown.exit_code == 0, shown.output
    assert "2025-04-28" in shown.stdout and shown.stdout.count(" seen") >= 2

    apps = runner.invoke(cli, ["apps"], env=env)
    assert "store-history-app" in apps.stdout and "15" in apps.stdout

    html = tmp_path / "report.html"
    made = runner.invoke(cli, ["findings", "export", "-f", "html", "-o", str(html)], env=env)
    assert made.exit_code == 0, made.output
    assert "History App" in html.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["findings", "list", "--status", "closed"], "--status 'closed'"),
        (["findings", "list", "--requirement", "16"], "not one of 1 to 15"),
        (["findings", "show", "0000ffff"], "No tracked finding"),
        (["findings", "export", "-f", "pdf"], "Unknown format"),
        (["findings", "export", "-f", "html", "--app", "nope"], "has no app 'nope'"),
    ],
)
def test_command_line_input_errors(sqlite_url: str, args: list[str], message: str) -> None:
    open_store(sqlite_url).close()
    run = CliRunner().invoke(cli, args, env={"CONNECTGUARD_STORE": sqlite_url, "COLUMNS": "200"})
    assert run.exit_code == 2
    assert message in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["findings", "list"],
        ["findings", "show", "3f2a9c1d"],
        ["findings", "export", "-f", "csv"],
        ["apps"],
    ],
)
def test_read_only_commands_refuse_a_missing_store(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "typo" / "findings.sqlite3"
    run = CliRunner().invoke(cli, [*args, "--store", str(path)])
    assert run.exit_code == 2, run.output
    assert run.stderr.startswith(
        f"error: There is no findings store at {path} (run a scan with --store first)."
    )
    assert not path.parent.exists()


def test_a_malformed_store_url_is_shown_without_its_password() -> None:
    run = CliRunner().invoke(
        cli, ["findings", "list", "--store", "postgresql://user:S3cret@[::1/db"]
    )
    assert run.exit_code == 2
    assert "'postgresql://user:***@[::1/db' is not a database URL." in run.stderr
    assert "S3cret" not in run.output


def test_tables_are_not_cut_in_a_pipe(sqlite_url: str, make_result: Any, make_finding: Any) -> None:
    summary = "No Referrer-Policy on a page whose URL carries its token: " + "x" * 120 + " end"
    app_key = "an-app-with-a-rather-long-key-" + "k" * 60
    with open_store(sqlite_url) as store:
        finding = make_finding("12", "referrer-policy", summary=summary)
        record_scan(store, make_result([finding], app=app_key))
    env = {"CONNECTGUARD_STORE": sqlite_url, "COLUMNS": "80"}
    listed = CliRunner().invoke(cli, ["findings", "list", "--at", "2025-01-07"], env=env)
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if summary[:20] in line)
    assert app_key in row and summary in row
    apps = CliRunner().invoke(cli, ["apps"], env=env)
    assert apps.exit_code == 0, apps.output
    assert any(app_key in line and "Long Key" in line for line in apps.stdout.splitlines())


def test_the_console_report_shows_the_fingerprints_the_store_takes(sqlite_url: str) -> None:
    runner = CliRunner()
    env = {"CONNECTGUARD_STORE": sqlite_url}
    with serve_case(case(short_hsts=True, no_referrer=True)) as served:
        run = runner.invoke(
            cli, ["scan", served.target, "--ca-file", served.ca_file, "--store"], env=env
        )
    assert run.exit_code == 1, run.output
    shown = re.findall(r"^\s+fingerprint: ([0-9a-f]{16})$", run.stdout, re.MULTILINE)
    exported = runner.invoke(cli, ["findings", "export", "-f", "json"], env=env)
    rows = json.loads(exported.stdout)
    assert sorted(shown) == sorted(row["fingerprint"] for row in rows) and shown
    # The app is on 127.0.0.1 with a random port: the model's own fingerprint differs.
    assert not set(shown) & {row["scan_fingerprint"] for row in rows}
    for fingerprint in shown:
        assert runner.invoke(cli, ["findings", "show", fingerprint], env=env).exit_code == 0
