"""The Markdown report of one app, to paste into a ticket or a pull request.

Verdicts of the latest scan, then the open findings with their due dates (overdue first),
then what was fixed. GitHub-flavoured tables; cell text is escaped so a finding's summary
cannot break the table or inject markup.
"""

from __future__ import annotations

import re

from connectguard.model import Verdict
from connectguard.report.json_report import exit_code
from connectguard.requirements import BY_NUMBER
from connectguard.store.lifecycle import Status
from connectguard.store.queries import AppReport, FindingRecord

ICONS = {
    Verdict.PASS: "✅ pass",
    Verdict.FAIL: "❌ fail",
    Verdict.INCONCLUSIVE: "⚠️ inconclusive",
    Verdict.NOT_TESTED: "➖ not tested",
    Verdict.NOT_APPLICABLE: "➖ not applicable",
}


def cell(text: object) -> str:
    """Text safe inside a table cell: one line, pipes and markup escaped."""
    value = re.sub(r"\s+", " ", str(text)).strip()
    return re.sub(r"([\\|`*_<>\[\]])", r"\\\1", value)


def render_markdown(report: AppReport) -> str:
    result = report.result
    counts: dict[Verdict, int] = {}
    for verdict in result.verdicts.values():
        counts[verdict] = counts.get(verdict, 0) + 1
    summary = ", ".join(
        f"{counts[v]} {v.value.replace('_', ' ')}" for v in Verdict if counts.get(v)
    )
    lines = [
        f"## connectguard: {cell(report.app.name or report.app.key)} (`{report.app.key}`)",
        "",
        f"Scan of {cell(result.target)} on {report.scan_time.date().isoformat()}: {summary} "
        f"(exit code {exit_code(result)}). {len(report.history)} recorded scans.",
        "",
        "| # | Requirement | Verdict | Why |",
        "| --- | --- | --- | --- |",
    ]
    for r in result.requirements:
        title = BY_NUMBER[r.requirement].title
        lines.append(f"| {r.requirement} | {cell(title)} | {ICONS[r.verdict]} | {cell(r.reason)} |")
    lines += _open_section(report)
    lines += _closed_section(report)
    return "\n".join(lines) + "\n"


def _open_section(report: AppReport) -> list[str]:
    unfixed = sorted(report.unfixed(), key=lambda f: (f.due_on, f.fingerprint))
    overdue = len(report.overdue())
    lines = ["", f"### Open findings: {len(unfixed)}, {overdue} past due", ""]
    if not unfixed:
        return [*lines, "None."]
    lines += [
        "| Due | Days left | Severity | Req | Finding | Fingerprint |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in unfixed:
        left = f.days_left(report.at) or 0
        days = f"**{-left} late**" if left < 0 else str(left)
        lines.append(
            f"| {f.due_on.isoformat()} | {days} | {f.severity.value} {f.cvss_score:.1f} | "
            f"{f.requirement} | {cell(f.summary)} | `{f.fingerprint}` |"
        )
    return lines


def _closed_section(report: AppReport) -> list[str]:
    fixed = [f for f in report.findings if f.status_at(report.at) is Status.FIXED]
    suppressed = [f for f in report.findings if f.status_at(report.at) is Status.SUPPRESSED]
    lines = []
    if fixed:
        lines += ["", f"### Fixed: {len(fixed)}", ""]
        lines += [f"- {_line(f)}, fixed {f.fixed_at.date() if f.fixed_at else '?'}" for f in fixed]
    if suppressed:
        lines += ["", f"### Suppressed: {len(suppressed)}", ""]
        lines += [
            f"- {_line(f)}, until {f.suppressed_until}: {cell(f.suppression_reason or '')}"
            for f in suppressed
        ]
    return lines


def _line(f: FindingRecord) -> str:
    return f"`{f.fingerprint}` requirement {f.requirement}: {cell(f.summary)}"
