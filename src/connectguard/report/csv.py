"""Tracked findings as CSV, one row per finding, for spreadsheets and trackers.

Cells that a spreadsheet would run as a formula (starting with = + - @ or a tab) are prefixed
with a quote, so a finding's text taken from an app's responses cannot execute there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable

from connectguard.store.queries import FindingRecord

COLUMNS = (
    "app",
    "fingerprint",
    "scan_fingerprint",
    "requirement",
    "check",
    "status",
    "severity",
    "cvss_score",
    "cvss_vector",
    "first_seen",
    "last_seen",
    "due_on",
    "days_left",
    "fixed_at",
    "suppressed_until",
    "suppression_reason",
    "origin",
    "path",
    "method",
    "summary",
    "fix",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(findings: Iterable[FindingRecord], at: dt.datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for f in findings:
        left = f.days_left(at)
        writer.writerow(
            [
                safe(f.app),
                f.fingerprint,
                f.scan_fingerprint,
                f.requirement,
                safe(f.check),
                f.status_at(at).value,
                f.severity.value,
                f"{f.cvss_score:.1f}",
                f.cvss_vector,
                f.first_seen.isoformat(timespec="seconds"),
                f.last_seen.isoformat(timespec="seconds"),
                f.due_on.isoformat(),
                "" if left is None else str(left),
                f.fixed_at.isoformat(timespec="seconds") if f.fixed_at else "",
                f.suppressed_until.isoformat() if f.suppressed_until else "",
                safe(f.suppression_reason),
                safe(f.origin),
                safe(f.path),
                safe(f.method),
                safe(f.summary),
                safe(f.fix),
            ]
        )
    return out.getvalue()
