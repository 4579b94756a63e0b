"""Recording a finished scan: the life of each finding across scans, and requirement 15.

`record_scan` takes a `ScanResult`, follows every failing finding by its fingerprint, and
returns requirement 15's verdict for the scan to merge. A finding is open when first seen;
absent from a later scan that judged its requirement (pass, fail or not applicable) it is fixed;
seen again after that it is regressed and keeps its first-seen date, so its deadline does not
restart. A scan that could not judge a requirement (inconclusive, not tested) leaves that
requirement's findings as they were. An active suppression from connectguard.toml shows an
unfixed finding as suppressed and keeps it out of requirement 15.

Fingerprints are `Finding.fingerprint` with the app's own origins written as `{base}` and
`{descriptor}`: an app served from a new host or port (a tunnel, a test server) keeps its
history. Findings on other origins keep the model's fingerprint unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectguard import __version__
from connectguard.model import (
    Finding,
    Level,
    RequirementResult,
    ScanResult,
    Severity,
    Verdict,
    origin_of,
    probe_key,
)
from connectguard.report.json_report import exit_code
from connectguard.store.db import Store
from connectguard.store.deadlines import (
    REQUIREMENT,
    OpenFinding,
    days_left,
    due_on,
    judge_deadlines,
)
from connectguard.store.models import App, Occurrence, RequirementVerdict, Scan, TrackedFinding
from connectguard.store.serialize import finding_from_dict, finding_to_dict, result_to_json
from connectguard.store.severity import score_check, score_finding
from connectguard.store.suppressions import StoreConfig

log = logging.getLogger(__name__)

JUDGED = frozenset({Verdict.PASS, Verdict.FAIL, Verdict.NOT_APPLICABLE})
"""Verdicts that mean the scan looked at the whole requirement, so absence means fixed."""
# NOTE: a judged requirement is not enough to call a finding fixed: the scan must also have
# asked again what the finding's evidence asked (`ScanResult.probed`, see `_miss`).


class Status(enum.StrEnum):
    OPEN = "open"
    FIXED = "fixed"
    REGRESSED = "regressed"
    SUPPRESSED = "suppressed"


UNFIXED = frozenset({Status.OPEN, Status.REGRESSED})


@dataclass(frozen=True)
class Recorded:
    """What recording a scan gave: its id, requirement 15, and the result with 15 merged."""

    scan_id: int
    requirement: RequirementResult
    result: ScanResult


def record_scan(
    store: Store,
    result: ScanResult,
    *,
    scan_time: dt.datetime | None = None,
    config: StoreConfig | None = None,
) -> Recorded:
    """Record `result` in one transaction and judge requirement 15 at the scan's time.

    `scan_time` replaces the scan's own clock (`result.started_at`), for tests and for
    recording a scan made elsewhere.
    """
    at = scan_time.astimezone(dt.UTC) if scan_time else scan_time_of(result)
    config = config or StoreConfig()
    with store.session() as session:
        recorded = _record(session, result, at, config)
    log.info(
        "recorded scan %d of %s: requirement 15 %s (%s)",
        recorded.scan_id,
        result.app_key,
        recorded.requirement.verdict.value,
        recorded.requirement.reason,
    )
    return recorded


def scan_time_of(result: ScanResult) -> dt.datetime:
    started = dt.datetime.fromisoformat(result.started_at)
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return started.astimezone(dt.UTC)


def with_requirement(result: ScanResult, requirement: RequirementResult) -> ScanResult:
    """`result` with the verdict of `requirement.requirement` replaced."""
    requirements = tuple(
        requirement if r.requirement == requirement.requirement else r for r in result.requirements
    )
    return dataclasses.replace(result, requirements=requirements)


def tracking_fingerprint(finding: Finding, result: ScanResult) -> str:
    """The finding's fingerprint with the app's own origins named, not spelled out."""
    own = {}
    if result.base_url:
        own[origin_of(result.base_url)] = "{base}"
    own.setdefault(origin_of(result.target), "{descriptor}")
    if finding.origin in own:
        return dataclasses.replace(finding, origin=own[finding.origin]).fingerprint
    return finding.fingerprint


def tracked_findings(result: ScanResult) -> dict[str, Finding]:
    """The failing findings of `result` that the store follows, by tracking fingerprint."""
    tracked: dict[str, Finding] = {}
    for finding in result.findings():
        if finding.level is Level.FAIL and finding.requirement != REQUIREMENT:
            tracked.setdefault(tracking_fingerprint(finding, result), finding)
    return tracked


def status_of(row: TrackedFinding) -> Status:
    if row.fixed_at is not None:
        return Status.FIXED
    if row.suppression_reason is not None:
        return Status.SUPPRESSED
    return Status.REGRESSED if row.times_fixed else Status.OPEN


def _record(session: Session, result: ScanResult, at: dt.datetime, config: StoreConfig) -> Recorded:
    app = _lock_app(session, result.app_key or result.target, at)
    app.name = result.app_name
    app.base_url = result.base_url
    notes = _skew_notes(session, app, at)
    scan = _new_scan(session, app, result, at)

    rows = {
        row.fingerprint: row
        for row in session.scalars(select(TrackedFinding).where(TrackedFinding.app_id == app.id))
    }
    seen = tracked_findings(result)
    for fingerprint, finding in seen.items():
        row = rows.get(fingerprint) or _new_row(session, app, scan, fingerprint, finding, at)
        rows[fingerprint] = row
        _see(row, finding, scan, at)
        session.add(Occurrence(scan_id=scan.id, finding_id=row.id, finding=_json(finding)))
    judged = {r.requirement for r in result.requirements if r.verdict in JUDGED}
    for fingerprint, row in rows.items():
        if fingerprint not in seen:
            _miss(session, row, judged, result.probed, at)
        _refresh(row, config, at)

    expired = config.expiry_notes(at)
    for note in expired:
        log.warning("%s", note)
    notes.extend(expired)
    warnings = tuple(notes)  # clock skew and expired suppressions: shown with every report
    suppressed = sum(1 for row in rows.values() if row.status == Status.SUPPRESSED)
    if suppressed:
        notes.append(f"{suppressed} finding{'s' if suppressed != 1 else ''} suppressed")
    unfixed = [_open(row) for row in rows.values() if Status(row.status) in UNFIXED]
    scans = session.scalar(select(func.count()).where(Scan.app_id == app.id)) or 1
    requirement = judge_deadlines(unfixed, at, scans, notes)
    merged = with_requirement(result, requirement)
    merged = dataclasses.replace(merged, notes=merged.notes + warnings)
    _finish_scan(session, scan, merged, unfixed, at)
    return Recorded(scan.id, requirement, merged)


def _lock_app(session: Session, key: str, at: dt.datetime) -> App:
    """The app's row, created if new, locked until the transaction ends (one writer per app)."""
    bind = session.get_bind()
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(App).values(key=key, created_at=at).on_conflict_do_nothing(index_elements=["key"])
    )
    return session.scalars(select(App).where(App.key == key).with_for_update()).one()


def _skew_notes(session: Session, app: App, at: dt.datetime) -> list[str]:
    latest = session.scalar(select(func.max(Scan.scan_time)).where(Scan.app_id == app.id))
    if latest is None or at >= latest:
        return []
    log.warning("scan time %s is before the app's latest recorded scan %s", at, latest)
    return [
        f"this scan's clock ({at.isoformat(timespec='seconds')}) is behind the latest recorded "
        f"scan of the app ({latest.isoformat(timespec='seconds')}): due dates stay as stored, "
        "and nothing seen since is marked fixed"
    ]


def _new_scan(session: Session, app: App, result: ScanResult, at: dt.datetime) -> Scan:
    scan = Scan(
        app_id=app.id,
        target=result.target,
        started_at=result.started_at,
        finished_at=result.finished_at,
        scan_time=at,
        recorded_at=dt.datetime.now(dt.UTC),
        tool_version=__version__,
        exit_code=0,
        open_findings=0,
        overdue_findings=0,
        result="{}",
    )
    session.add(scan)
    session.flush()
    return scan


def _new_row(
    session: Session,
    app: App,
    scan: Scan,
    fingerprint: str,
    finding: Finding,
    at: dt.datetime,
) -> TrackedFinding:
    score = score_finding(finding)
    row = TrackedFinding(
        app_id=app.id,
        fingerprint=fingerprint,
        scan_fingerprint=finding.fingerprint,
        requirement=finding.requirement,
        check=finding.check,
        summary=finding.summary,
        fix=finding.fix,
        origin=finding.origin,
        path=finding.path,
        method=finding.method,
        detail=finding.detail,
        cvss_vector=score.vector,
        cvss_score=score.score,
        severity=score.severity.value,
        first_seen=at,
        last_seen=at,
        due_on=due_on(at, score.severity),
        status=Status.OPEN.value,
        fixed_at=None,
        times_fixed=0,
        first_scan_id=scan.id,
        last_scan_id=scan.id,
    )
    session.add(row)
    session.flush()
    return row


def _see(row: TrackedFinding, finding: Finding, scan: Scan, at: dt.datetime) -> None:
    # A scan older than the fix (a machine with a slow clock) does not reopen the finding.
    if row.fixed_at is not None and at >= row.fixed_at:
        row.fixed_at = None
    if at >= row.last_seen:
        row.last_seen = at
        row.last_scan_id = scan.id
        row.scan_fingerprint = finding.fingerprint
        row.summary = finding.summary
        row.fix = finding.fix
        row.origin = finding.origin
        row.path = finding.path
        row.method = finding.method


def _miss(
    session: Session,
    row: TrackedFinding,
    judged: set[str],
    probed: frozenset[str] | None,
    at: dt.datetime,
) -> None:
    """Fixed only if this scan judged the requirement, is newer than the last sighting, and
    asked again what the finding's evidence asked: an endpoint cut by --max-endpoints, or an
    admin page not asked with a user's token this time, says nothing about the fault."""
    if row.fixed_at is not None or row.requirement not in judged or at <= row.last_seen:
        return
    if probed is not None and not _asked_again(session, row, probed):
        return
    row.fixed_at = at
    row.times_fixed += 1


def _asked_again(session: Session, row: TrackedFinding, probed: frozenset[str]) -> bool:
    latest = session.scalar(
        select(Occurrence.finding)
        .where(Occurrence.finding_id == row.id)
        .order_by(Occurrence.id.desc())
        .limit(1)
    )
    if latest is None:
        return True
    evidence = finding_from_dict(json.loads(latest)).evidence
    asked = {probe_key(e) for e in evidence if e.status is not None}
    return asked <= probed


def _refresh(row: TrackedFinding, config: StoreConfig, at: dt.datetime) -> None:
    """Severity from the current config, the due date from it, suppression, then status."""
    score = score_check(row.check, row.cvss_vector, config.cvss)
    row.cvss_vector, row.cvss_score, row.severity = score.vector, score.score, score.severity
    row.due_on = due_on(row.first_seen, score.severity)
    fields = {"requirement": row.requirement, "check": row.check, "origin": row.origin}
    fields["path"] = row.path
    entry = config.suppression_for((row.fingerprint, row.scan_fingerprint), fields, at)
    row.suppression_reason = entry.reason if entry else None
    row.suppressed_until = entry.expires if entry else None
    row.status = status_of(row).value


def _open(row: TrackedFinding) -> OpenFinding:
    return OpenFinding(
        fingerprint=row.fingerprint,
        requirement=row.requirement,
        check=row.check,
        summary=row.summary,
        severity=Severity(row.severity),
        score=row.cvss_score,
        first_seen=row.first_seen,
        due=row.due_on,
        origin=row.origin,
        path=row.path,
        method=row.method,
    )


def _finish_scan(
    session: Session,
    scan: Scan,
    merged: ScanResult,
    unfixed: list[OpenFinding],
    at: dt.datetime,
) -> None:
    scan.result = result_to_json(merged)
    scan.exit_code = exit_code(merged)
    scan.open_findings = len(unfixed)
    scan.overdue_findings = sum(1 for f in unfixed if days_left(f.due, at) < 0)
    session.add_all(
        RequirementVerdict(
            scan_id=scan.id, requirement=r.requirement, verdict=r.verdict.value, reason=r.reason
        )
        for r in merged.requirements
    )


def _json(finding: Finding) -> str:
    return json.dumps(finding_to_dict(finding))
