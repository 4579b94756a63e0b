"""The command-line face of the findings store: `connectguard findings list|show|export`,
`connectguard apps`, and the recorder behind `connectguard scan --store`.

`cli.py` mounts these commands; they share its conventions: one sentence on stderr and exit
code 2 for any `ConnectGuardError`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connectguard.errors import ConnectGuardError, InputError
from connectguard.model import ScanResult, Severity
from connectguard.requirements import NUMBERS
from connectguard.store.db import Store, open_store
from connectguard.store.lifecycle import Status, record_scan
from connectguard.store.queries import (
    FindingFilter,
    FindingRecord,
    app_report,
    finding_history,
    list_apps,
    list_findings,
)
from connectguard.store.suppressions import StoreConfig

findings_app = typer.Typer(
    help="Findings tracked across recorded scans: list, show and export them.",
    no_args_is_help=True,
)
stderr = Console(stderr=True, soft_wrap=True)

EXPORT_FORMATS = ("csv", "json", "markdown", "html", "sarif", "junit")
SEVERITIES = ("critical", "high", "medium", "low")
LOG_WIDTH = 100_000  # wide enough for any row: when not a terminal, nothing is cut

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store-url",
        "--store",
        envvar="CONNECTGUARD_STORE",
        help="Findings store: a SQLite file or postgresql:// URL (default: your data folder).",
    ),
]
AppOption = Annotated[str | None, typer.Option("--app", "-a", help="Only this app (its key).")]
RequirementOption = Annotated[
    str | None, typer.Option("--requirement", "-r", help="Only this requirement (1 to 15).")
]
StatusOption = Annotated[
    str | None, typer.Option(help="Only this status: open, fixed, regressed or suppressed.")
]
OverdueOption = Annotated[bool, typer.Option("--overdue", help="Only findings past due.")]
SeverityOption = Annotated[
    str | None, typer.Option(help="Only this severity: critical, high, medium or low.")
]
AtOption = Annotated[
    str | None, typer.Option(hidden=True, help="Count days left at this date (tests).")
]


def _stdout() -> Console:
    """The console for tables and details: in a pipe or a CI log, lines as long as they need,
    so that no cell is cut to the 80 columns rich assumes there."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=LOG_WIDTH)
    return console


def parse_when(text: str, option: str) -> dt.datetime:
    """A date (midnight UTC) or an ISO datetime (UTC when it names no zone)."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date: write 2025-06-30 or 2025-06-30T14:00:00Z."
        ) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _now(at: str | None) -> dt.datetime:
    return parse_when(at, "--at") if at else dt.datetime.now(dt.UTC)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except ConnectGuardError as error:
        from connectguard.cli import _fail  # the CLI imports this module

        raise _fail(error) from None


def _filter(
    app: str | None,
    requirement: str | None,
    status: str | None,
    overdue: bool,
    severity: str | None,
) -> FindingFilter:
    if requirement is not None and requirement not in NUMBERS:
        raise InputError(f"--requirement {requirement!r} is not one of 1 to 15.")
    if status is not None and status not in {s.value for s in Status}:
        raise InputError(f"--status {status!r}: use open, fixed, regressed or suppressed.")
    if severity is not None and severity not in SEVERITIES:
        raise InputError(f"--severity {severity!r}: use {', '.join(SEVERITIES)}.")
    return FindingFilter(
        app=app,
        requirement=requirement,
        status=Status(status) if status else None,
        overdue=overdue,
        severity=Severity(severity) if severity else None,
    )


@findings_app.command("list")
def list_command(
    app: AppOption = None,
    requirement: RequirementOption = None,
    status: StatusOption = None,
    overdue: OverdueOption = False,
    severity: SeverityOption = None,
    store_url: StoreOption = None,
    at: AtOption = None,
) -> None:
    """List tracked findings, most urgent first, with their due dates."""
    with _errors():
        where = _filter(app, requirement, status, overdue, severity)
        when = _now(at)
        with open_store(store_url, create=False) as store:
            records = list_findings(store, where, when)
    console = _stdout()
    if not records:
        console.print("No tracked finding matches.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("fingerprint", "app", "req", "status", "severity", "due", "left", "finding"):
        table.add_column(column, no_wrap=column != "finding", overflow="fold")
    for r in records:
        left = r.days_left(when)
        table.add_row(
            r.fingerprint,
            escape(r.app),
            r.requirement,
            r.status_at(when).value,
            f"{r.severity.value} {r.cvss_score:.1f}",
            r.due_on.isoformat(),
            "" if left is None else (f"[red]{-left} late[/]" if left < 0 else str(left)),
            escape(r.summary),
        )
    console.print(table)
    console.print(f"{len(records)} finding{'s' if len(records) != 1 else ''}")


@findings_app.command("show")
def show_command(
    fingerprint: Annotated[str, typer.Argument(help="A fingerprint, or a unique prefix.")],
    app: AppOption = None,
    store_url: StoreOption = None,
    at: AtOption = None,
) -> None:
    """Show one finding: its status, deadline, and every scan that saw it or not."""
    with _errors():
        when = _now(at)
        with open_store(store_url, create=False) as store:
            history = finding_history(store, fingerprint, app)
    r = history.record
    console = _stdout()
    left = r.days_left(when)
    console.print(f"[bold]{escape(r.summary)}[/]")
    rows = [
        ("fingerprint", f"{r.fingerprint} (in scan reports: {r.scan_fingerprint})"),
        ("app", r.app),
        ("requirement", f"{r.requirement}, check {r.check}"),
        ("where", f"{r.method} {r.origin}{r.path}".strip()),
        ("status", r.status_at(when).value),
        ("severity", f"{r.severity.value}, CVSS {r.cvss_score:.1f} {r.cvss_vector}"),
        ("first seen", r.first_seen.isoformat(timespec="seconds")),
        ("last seen", r.last_seen.isoformat(timespec="seconds")),
        ("due", r.due_on.isoformat() + ("" if left is None else f" ({_left(left)})")),
    ]
    if r.suppression_reason:
        rows.append(("suppressed", f"until {r.suppressed_until}: {r.suppression_reason}"))
    if r.fix:
        rows.append(("fix", r.fix))
    for name, value in rows:
        console.print(f"  {name:<12} {escape(value)}")
    console.print("\n  scans since first seen:")
    for s in history.sightings:
        mark = "seen" if s.seen else "not seen"
        console.print(f"    #{s.scan_id:<5} {s.scan_time.isoformat(timespec='seconds')}  {mark}")
    last = next((s.finding for s in reversed(history.sightings) if s.finding), None)
    if last is not None:
        for exchange in last.evidence[:4]:
            answer = exchange.error or str(exchange.status)
            console.print(
                f"  [dim]evidence: {exchange.method} {escape(exchange.url)} "
                f"(token: {exchange.token}) -> {escape(answer)}[/]"
            )


def _left(days: int) -> str:
    return f"{-days} days late" if days < 0 else f"{days} days left"


@findings_app.command("export")
def export_command(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="csv, json, markdown, html, sarif or junit.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    app: AppOption = None,
    requirement: RequirementOption = None,
    status: StatusOption = None,
    overdue: OverdueOption = False,
    severity: SeverityOption = None,
    store_url: StoreOption = None,
    at: AtOption = None,
) -> None:
    """Export findings (csv, json) or a report of an app's latest scan and history
    (markdown, html, sarif, junit). The filters narrow the findings listed."""
    from connectguard.cli import check_output, write_output

    with _errors():
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"Unknown format {fmt!r}: use {', '.join(EXPORT_FORMATS)}.")
        check_output(output)
        where = _filter(app, requirement, status, overdue, severity)
        when = _now(at)
        with open_store(store_url, create=False) as store:
            text = _export(store, fmt, where, when)
        if output is None:
            sys.stdout.write(text)
            return
        write_output(output, text)
        stderr.print(f"wrote {output}", highlight=False)


def _export(store: Store, fmt: str, where: FindingFilter, when: dt.datetime) -> str:
    if fmt in ("csv", "json"):
        records = list_findings(store, where, when)
        if fmt == "csv":
            from connectguard.report.csv import render_csv

            return render_csv(records, when)
        return json.dumps([_record_json(r, when) for r in records], indent=2) + "\n"
    report = app_report(store, where.app, when, where)
    if fmt == "html":
        from connectguard.report.html import render_html

        return render_html(report)
    if fmt == "markdown":
        from connectguard.report.markdown import render_markdown

        return render_markdown(report)
    # SARIF and JUnit describe one scan: the app's latest, requirement 15 included.
    if fmt == "sarif":
        from connectguard.report.sarif import render_sarif

        return render_sarif(report.result)
    from connectguard.report.junit import render_junit

    return render_junit(report.result)


def _record_json(r: FindingRecord, when: dt.datetime) -> dict[str, object]:
    return {
        "app": r.app,
        "fingerprint": r.fingerprint,
        "scan_fingerprint": r.scan_fingerprint,
        "requirement": r.requirement,
        "check": r.check,
        "status": r.status_at(when).value,
        "severity": r.severity.value,
        "cvss_score": r.cvss_score,
        "cvss_vector": r.cvss_vector,
        "first_seen": r.first_seen.isoformat(),
        "last_seen": r.last_seen.isoformat(),
        "due_on": r.due_on.isoformat(),
        "days_left": r.days_left(when),
        "fixed_at": r.fixed_at.isoformat() if r.fixed_at else None,
        "suppressed_until": r.suppressed_until.isoformat() if r.suppressed_until else None,
        "suppression_reason": r.suppression_reason,
        "origin": r.origin,
        "path": r.path,
        "method": r.method,
        "summary": r.summary,
        "fix": r.fix,
    }


def apps_command(store_url: StoreOption = None) -> None:
    """List the apps in the findings store with their latest verdicts."""
    with _errors(), open_store(store_url, create=False) as store:
        apps = list_apps(store)
    console = _stdout()
    if not apps:
        console.print("The findings store holds no scans yet: record one with scan --store.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("app", "name", "scans", "last scan", "failing", "open", "overdue"):
        table.add_column(column, overflow="fold")
    for a in apps:
        table.add_row(
            escape(a.key),
            escape(a.name or ""),
            str(a.scans),
            a.last_scan.isoformat(timespec="minutes") if a.last_scan else "",
            ", ".join(a.failing) or "none",
            str(a.open_findings),
            f"[red]{a.overdue_findings}[/]" if a.overdue_findings else "0",
        )
    console.print(table)


class Recorder:
    """Records a finished scan into the store at `url` (checked before the scan started)."""

    def __init__(self, url: str | None, config: StoreConfig, scan_time: dt.datetime | None) -> None:
        self.url = url
        self.config = config
        self.scan_time = scan_time

    def __call__(self, result: ScanResult) -> ScanResult:
        with open_store(self.url) as store:
            recorded = record_scan(store, result, scan_time=self.scan_time, config=self.config)
        return recorded.result


def prepare_recorder(store_url: str | None, config: StoreConfig, scan_date: str | None) -> Recorder:
    """Open (or create) the store now, so that a mistake stops the scan before it runs."""
    scan_time = parse_when(scan_date, "--scan-date") if scan_date else None
    open_store(store_url).close()
    return Recorder(store_url, config, scan_time)
