"""Reading the history back: tracked findings with filters, apps with their latest verdicts,
one finding's occurrences, and everything a report of one app needs.

Every function returns frozen dataclasses, detached from the database session, so commands and
reports never touch the ORM. Days left and "overdue" are computed at a time the caller gives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectguard.errors import InputError
from connectguard.model import Finding, ScanResult, Severity, Verdict
from connectguard.store.db import Store
from connectguard.store.deadlines import days_left
from connectguard.store.lifecycle import UNFIXED, Status
from connectguard.store.models import App, Occurrence, RequirementVerdict, Scan, TrackedFinding
from connectguard.store.serialize import finding_from_dict, result_from_json


@dataclass(frozen=True)
class FindingRecord:
    """A tracked finding as the store holds it after the app's latest scan."""

    app: str
    fingerprint: str
    scan_fingerprint: str
    requirement: str
    check: str
    summary: str
    fix: str
    origin: str
    path: str
    method: str
    cvss_vector: str
    cvss_score: float
    severity: Severity
    status: Status
    first_seen: dt.datetime
    last_seen: dt.datetime
    due_on: dt.date
    fixed_at: dt.datetime | None
    suppression_reason: str | None
    suppressed_until: dt.date | None
    was_fixed: bool = False

    def status_at(self, at: dt.datetime) -> Status:
        """The status at `at`: a suppression that has expired since the last scan is over."""
        if (
            self.status is Status.SUPPRESSED
            and self.suppressed_until is not None
            and at.astimezone(dt.UTC).date() > self.suppressed_until
        ):
            return Status.REGRESSED if self.was_fixed else Status.OPEN
        return self.status

    def days_left(self, at: dt.datetime) -> int | None:
        """Days to the due date for an unfixed finding; None once fixed or suppressed."""
        if self.status_at(at) not in UNFIXED:
            return None
        return days_left(self.due_on, at)

    def overdue(self, at: dt.datetime) -> bool:
        left = self.days_left(at)
        return left is not None and left < 0


@dataclass(frozen=True)
class FindingFilter:
    app: str | None = None
    requirement: str | None = None
    status: Status | None = None
    overdue: bool = False
    severity: Severity | None = None

    def keeps(self, record: FindingRecord, at: dt.datetime) -> bool:
        if self.status is not None and record.status_at(at) is not self.status:
            return False
        return not self.overdue or record.overdue(at)


@dataclass(frozen=True)
class AppSummary:
    key: str
    name: str | None
    base_url: str | None
    scans: int
    last_scan: dt.datetime | None
    verdicts: dict[str, Verdict]
    open_findings: int
    overdue_findings: int

    @property
    def failing(self) -> list[str]:
        return [n for n, v in self.verdicts.items() if v is Verdict.FAIL]


@dataclass(frozen=True)
class Sighting:
    """One scan of the finding's app: whether it saw the finding, and its status after."""

    scan_id: int
    scan_time: dt.datetime
    seen: bool
    finding: Finding | None


@dataclass(frozen=True)
class FindingHistory:
    record: FindingRecord
    sightings: tuple[Sighting, ...]


@dataclass(frozen=True)
class HistoryPoint:
    scan_id: int
    scan_time: dt.datetime
    open_findings: int
    overdue_findings: int
    exit_code: int


@dataclass(frozen=True)
class AppReport:
    """Everything an HTML or Markdown report of one app shows."""

    app: AppSummary
    result: ScanResult
    scan_id: int
    scan_time: dt.datetime
    history: tuple[HistoryPoint, ...]
    findings: tuple[FindingRecord, ...]
    at: dt.datetime

    def unfixed(self) -> list[FindingRecord]:
        return [f for f in self.findings if f.status_at(self.at) in UNFIXED]

    def count(self, status: Status) -> int:
        return sum(1 for f in self.findings if f.status_at(self.at) is status)

    def overdue(self) -> list[FindingRecord]:
        return [f for f in self.findings if f.overdue(self.at)]


def list_findings(store: Store, where: FindingFilter, at: dt.datetime) -> list[FindingRecord]:
    """Tracked findings that pass `where`, most urgent first."""
    query = select(TrackedFinding, App.key).join(App, App.id == TrackedFinding.app_id)
    if where.app is not None:
        query = query.where(App.key == where.app)
    if where.requirement is not None:
        query = query.where(TrackedFinding.requirement == where.requirement)
    if where.severity is not None:
        query = query.where(TrackedFinding.severity == where.severity.value)
    with store.session() as session:
        if where.app is not None:
            _require_app(session, where.app)
        records = [_record(row, key) for row, key in session.execute(query)]
    kept = [r for r in records if where.keeps(r, at)]
    return sorted(kept, key=lambda r: _urgency(r, at))


def _urgency(record: FindingRecord, at: dt.datetime) -> tuple[int, dt.date, str, str]:
    unfixed = record.status_at(at) in UNFIXED
    return (0 if unfixed else 1, record.due_on, record.app, record.fingerprint)


def finding_history(store: Store, fingerprint: str, app: str | None = None) -> FindingHistory:
    """One finding (by its tracking or scan fingerprint, or a unique prefix) and its scans."""
    wanted = fingerprint.strip().lower()
    with store.session() as session:
        query = select(TrackedFinding, App.key).join(App, App.id == TrackedFinding.app_id)
        if app is not None:
            query = query.where(App.key == app)
        matches = [
            (row, key)
            for row, key in session.execute(
                query.where(
                    TrackedFinding.fingerprint.startswith(wanted)
                    | TrackedFinding.scan_fingerprint.startswith(wanted)
                )
            )
        ]
        if not matches:
            raise InputError(
                f"No tracked finding has the fingerprint {fingerprint!r}.",
                hint="`connectguard findings list` shows the fingerprints.",
            )
        if len({row.id for row, _ in matches}) > 1:
            raise InputError(
                f"The fingerprint {fingerprint!r} matches {len(matches)} findings.",
                hint="Give more of it, or the app with --app.",
            )
        row, key = matches[0]
        return FindingHistory(_record(row, key), _sightings(session, row))


def _sightings(session: Session, row: TrackedFinding) -> tuple[Sighting, ...]:
    occurrences = {
        occurrence.scan_id: occurrence.finding
        for occurrence in session.scalars(select(Occurrence).where(Occurrence.finding_id == row.id))
    }
    scans = session.execute(
        select(Scan.id, Scan.scan_time)
        .where(Scan.app_id == row.app_id, Scan.scan_time >= row.first_seen)
        .order_by(Scan.scan_time, Scan.id)
    )
    sightings = []
    for scan_id, scan_time in scans:
        stored = occurrences.get(scan_id)
        finding = finding_from_dict(json.loads(stored)) if stored else None
        sightings.append(Sighting(scan_id, scan_time, stored is not None, finding))
    return tuple(sightings)


def list_apps(store: Store) -> list[AppSummary]:
    with store.session() as session:
        apps = list(session.scalars(select(App).order_by(App.key)))
        return [_summary(session, app) for app in apps]


def app_report(
    store: Store, app: str | None, at: dt.datetime, where: FindingFilter | None = None
) -> AppReport:
    """The latest scan of `app` (or of the only app in the store) with its history."""
    with store.session() as session:
        row = _pick_app(session, app)
        summary = _summary(session, row)
        latest = session.scalars(
            select(Scan)
            .where(Scan.app_id == row.id)
            .order_by(Scan.scan_time.desc(), Scan.id.desc())
        ).first()
        if latest is None:
            raise InputError(f"The app {row.key} has no recorded scan.")
        history = tuple(
            HistoryPoint(s.id, s.scan_time, s.open_findings, s.overdue_findings, s.exit_code)
            for s in session.scalars(
                select(Scan).where(Scan.app_id == row.id).order_by(Scan.scan_time, Scan.id)
            )
        )
        result = result_from_json(latest.result)
        scan_id, scan_time = latest.id, latest.scan_time
    findings = list_findings(store, dataclasses.replace(where or FindingFilter(), app=row.key), at)
    return AppReport(summary, result, scan_id, scan_time, history, tuple(findings), at)


def _pick_app(session: Session, app: str | None) -> App:
    if app is not None:
        return _require_app(session, app)
    apps = list(session.scalars(select(App).order_by(App.key).limit(2)))
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise InputError("The findings store holds no scans yet.", hint=_RECORD_HINT)
    raise InputError(
        "The findings store holds several apps: say which with --app.",
        hint="`connectguard apps` lists them.",
    )


_RECORD_HINT = "Record one with `connectguard scan URL --store`."


def _require_app(session: Session, key: str) -> App:
    app = session.scalars(select(App).where(App.key == key)).first()
    if app is None:
        known = list(session.scalars(select(App.key).order_by(App.key).limit(5)))
        raise InputError(
            f"The findings store has no app {key!r}.",
            hint=f"Known apps: {', '.join(known)}." if known else _RECORD_HINT,
        )
    return app


def _summary(session: Session, app: App) -> AppSummary:
    count, last = session.execute(
        select(func.count(Scan.id), func.max(Scan.scan_time)).where(Scan.app_id == app.id)
    ).one()
    latest = session.scalars(
        select(Scan).where(Scan.app_id == app.id).order_by(Scan.scan_time.desc(), Scan.id.desc())
    ).first()
    verdicts: dict[str, Verdict] = {}
    if latest is not None:
        for requirement, verdict in session.execute(
            select(RequirementVerdict.requirement, RequirementVerdict.verdict).where(
                RequirementVerdict.scan_id == latest.id
            )
        ):
            verdicts[requirement] = Verdict(verdict)
    ordered = dict(sorted(verdicts.items(), key=lambda item: int(item[0])))
    return AppSummary(
        key=app.key,
        name=app.name,
        base_url=app.base_url,
        scans=count,
        last_scan=last,
        verdicts=ordered,
        open_findings=latest.open_findings if latest else 0,
        overdue_findings=latest.overdue_findings if latest else 0,
    )


def _record(row: TrackedFinding, app: str) -> FindingRecord:
    return FindingRecord(
        app=app,
        fingerprint=row.fingerprint,
        scan_fingerprint=row.scan_fingerprint,
        requirement=row.requirement,
        check=row.check,
        summary=row.summary,
        fix=row.fix,
        origin=row.origin,
        path=row.path,
        method=row.method,
        cvss_vector=row.cvss_vector,
        cvss_score=row.cvss_score,
        severity=Severity(row.severity),
        status=Status(row.status),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        due_on=row.due_on,
        fixed_at=row.fixed_at,
        suppression_reason=row.suppression_reason,
        suppressed_until=row.suppressed_until,
        was_fixed=row.times_fixed > 0,
    )
