"""The Security Bug Fix Policy deadlines of SPEC ("Fix policy") and requirement 15's verdict.

A tracked finding is due a number of weeks after it was first seen (critical 4, high 6,
medium 8, low 25), counted in UTC calendar days from the stored first-seen timestamp, so the
clock of a later scan never moves a deadline. Requirement 15 fails when an unfixed, unsuppressed
finding is past its due date at the scan's time; otherwise it passes, naming the nearest one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from connectguard.model import Finding, Level, RequirementResult, Severity, Verdict

FIX_WEEKS: dict[Severity, int] = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 6,
    Severity.MEDIUM: 8,
    Severity.LOW: 25,
    Severity.NONE: 25,
}
REQUIREMENT = "15"


def due_on(first_seen: dt.datetime, severity: Severity) -> dt.date:
    """The last day (UTC) on which a finding first seen at `first_seen` is still in time."""
    return (first_seen.astimezone(dt.UTC) + dt.timedelta(weeks=FIX_WEEKS[severity])).date()


def days_left(due: dt.date, at: dt.datetime) -> int:
    """Whole days from `at` (UTC) to the due date: 0 on the day itself, negative once late."""
    return (due - at.astimezone(dt.UTC).date()).days


@dataclass(frozen=True)
class OpenFinding:
    """What requirement 15 needs to know of one unfixed, unsuppressed tracked finding."""

    fingerprint: str
    requirement: str
    check: str
    summary: str
    severity: Severity
    score: float
    first_seen: dt.datetime
    due: dt.date
    origin: str = ""
    path: str = ""
    method: str = ""


def judge_deadlines(
    open_findings: Sequence[OpenFinding], at: dt.datetime, scans: int, notes: Sequence[str] = ()
) -> RequirementResult:
    """Requirement 15 at time `at`: fail for each open finding past its due date."""
    overdue = sorted((f for f in open_findings if days_left(f.due, at) < 0), key=_by_due)
    if overdue:
        findings = tuple(_overdue_finding(f, at) for f in overdue)
        count = len(overdue)
        reason = (
            f"{count} open finding{'s are' if count != 1 else ' is'} past the fix deadline "
            f"(the oldest was due on {overdue[0].due.isoformat()})"
        )
        return RequirementResult(REQUIREMENT, Verdict.FAIL, reason, findings, tuple(notes))
    if open_findings:
        nearest = min(open_findings, key=_by_due)
        left = days_left(nearest.due, at)
        count = len(open_findings)
        reason = (
            f"{count} open finding{'s' if count != 1 else ''}, none past its deadline; the "
            f"nearest is due on {nearest.due.isoformat()} ({_days(left)} left: "
            f"{nearest.fingerprint}, requirement {nearest.requirement})"
        )
    else:
        reason = f"no open findings in the history of {scans} scan{'s' if scans != 1 else ''}"
    return RequirementResult(REQUIREMENT, Verdict.PASS, reason, (), tuple(notes))


def _by_due(finding: OpenFinding) -> tuple[dt.date, str]:
    return finding.due, finding.fingerprint


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _overdue_finding(finding: OpenFinding, at: dt.datetime) -> Finding:
    late = -days_left(finding.due, at)
    weeks = FIX_WEEKS[finding.severity]
    return Finding(
        requirement=REQUIREMENT,
        check="fix-deadline",
        level=Level.FAIL,
        summary=(
            f"A {finding.severity.value} finding of requirement {finding.requirement} "
            f"({finding.fingerprint}) was due on {finding.due.isoformat()}, {_days(late)} ago: "
            f"{finding.summary}"
        ),
        fix=(
            f"Fix it: {finding.severity.value} findings are due {weeks} weeks after first seen. "
            "If it cannot be fixed yet, suppress it in connectguard.toml with a reason and "
            "an expiry date."
        ),
        severity=finding.severity,
        origin=finding.origin,
        path=finding.path,
        method=finding.method,
        detail=finding.fingerprint,
        facts=(
            ("fingerprint", finding.fingerprint),
            ("check", finding.check),
            ("CVSS score", f"{finding.score:.1f}"),
            ("first seen", finding.first_seen.date().isoformat()),
            ("due", finding.due.isoformat()),
            ("days overdue", str(late)),
        ),
    )
