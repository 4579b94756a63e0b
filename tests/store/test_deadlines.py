"""The fix policy: CVSS scores to severities, severities to due dates, and requirement 15."""

from __future__ import annotations

import datetime as dt

import pytest

from connectguard.model import Finding, Level, Severity, Verdict
from connectguard.store.deadlines import OpenFinding, days_left, due_on, judge_deadlines
from connectguard.store.severity import (
    DEFAULT_VECTORS,
    parse_vector,
    score_finding,
    severity_of,
)

FIRST = dt.datetime(2025, 1, 6, 23, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, "critical"),
        (9.0, "critical"),
        (8.9, "high"),
        (7.0, "high"),
        (6.9, "medium"),
        (4.0, "medium"),
        (3.9, "low"),
        (0.0, "low"),
    ],
)
def test_spec_bands(score: float, severity: str) -> None:
    assert severity_of(score).value == severity


@pytest.mark.parametrize(
    ("severity", "due"),
    [
        (Severity.CRITICAL, dt.date(2025, 2, 3)),
        (Severity.HIGH, dt.date(2025, 2, 17)),
        (Severity.MEDIUM, dt.date(2025, 3, 3)),
        (Severity.LOW, dt.date(2025, 6, 30)),
    ],
)
def test_due_dates_count_weeks_from_first_seen(severity: Severity, due: dt.date) -> None:
    assert due_on(FIRST, severity) == due
    # The same instant written in another zone gives the same date.
    assert due_on(FIRST.astimezone(dt.timezone(dt.timedelta(hours=9))), severity) == due


def test_days_left_in_utc_days() -> None:
    due = dt.date(2025, 3, 3)
    assert days_left(due, dt.datetime(2025, 3, 3, 23, 59, tzinfo=dt.UTC)) == 0
    assert days_left(due, dt.datetime(2025, 3, 4, 0, 0, tzinfo=dt.UTC)) == -1
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert days_left(due, dt.datetime(2025, 3, 4, 8, 0, tzinfo=tokyo)) == 0


def test_every_default_vector_scores() -> None:
    for check, vector in DEFAULT_VECTORS.items():
        score = parse_vector(vector)
        assert score.vector == vector, check
        assert 0.0 < score.score <= 10.0
    assert parse_vector(DEFAULT_VECTORS["accepted-alg-none"]).severity is Severity.CRITICAL
    assert parse_vector(DEFAULT_VECTORS["referrer-policy"]).severity is Severity.LOW


def test_unknown_checks_score_by_their_own_severity() -> None:
    finding = Finding("6", "bucket-listing", Level.FAIL, "s", severity=Severity.HIGH)
    assert score_finding(finding).severity is Severity.HIGH
    overridden = score_finding(
        finding, {"bucket-listing": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}
    )
    assert (overridden.score, overridden.severity) == (10.0, Severity.CRITICAL)
    with pytest.raises(ValueError, match="not a CVSS v3 vector"):
        parse_vector("CVSS:2.0/AV:N")


def open_finding(name: str, due: dt.date, severity: Severity = Severity.HIGH) -> OpenFinding:
    return OpenFinding(name, "5", "no-token-accepted", f"{name} summary", severity, 8.2, FIRST, due)


def test_requirement_15_fails_per_overdue_finding_oldest_first() -> None:
    at = dt.datetime(2025, 3, 10, tzinfo=dt.UTC)
    result = judge_deadlines(
        [
            open_finding("b", dt.date(2025, 3, 9)),
            open_finding("a", dt.date(2025, 2, 1)),
            open_finding("c", dt.date(2025, 3, 10)),
        ],
        at,
        scans=3,
    )
    assert result.verdict is Verdict.FAIL
    assert [f.detail for f in result.findings] == ["a", "b"]
    assert (
        result.reason
        == "2 open findings are past the fix deadline (the oldest was due on 2025-02-01)"
    )
    assert dict(result.findings[0].facts)["days overdue"] == "37"


def test_requirement_15_passes_naming_the_nearest_due_date() -> None:
    at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    result = judge_deadlines(
        [
            open_finding("late", dt.date(2025, 6, 1), Severity.LOW),
            open_finding("soon", dt.date(2025, 3, 2)),
        ],
        at,
        scans=1,
    )
    assert result.verdict is Verdict.PASS
    assert "the nearest is due on 2025-03-02 (1 day left: soon, requirement 5)" in result.reason
