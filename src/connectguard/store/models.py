"""The tables of the findings store: apps, their scans, the verdicts of each scan, the findings
tracked across scans and each finding's occurrences (one per scan that saw it).

Timestamps are stored in UTC; `UtcDateTime` hands them back timezone-aware whatever the database
keeps. The schema changes only through the Alembic migrations in `store/migrations`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite keeps it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"the store keeps timezone-aware datetimes only, not {value!r}")
        utc: dt.datetime = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class App(Base):
    """A Connect app, known by its descriptor key."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    base_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Scan(Base):
    """One recorded scan of an app. `scan_time` is the clock the history was judged at."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(Text)
    started_at: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[str] = mapped_column(String(64))
    scan_time: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    tool_version: Mapped[str] = mapped_column(String(32))
    exit_code: Mapped[int] = mapped_column(Integer)
    open_findings: Mapped[int] = mapped_column(Integer)
    overdue_findings: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(Text, deferred=True)
    """The scan result as JSON (`store.serialize`), requirement 15 included."""


class RequirementVerdict(Base):
    """The verdict one scan gave one requirement."""

    __tablename__ = "requirement_verdicts"

    scan_id: Mapped[int] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    requirement: Mapped[str] = mapped_column(String(8), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)


class TrackedFinding(Base):
    """A failing finding followed across the scans of one app by its fingerprint."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("app_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    scan_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    requirement: Mapped[str] = mapped_column(String(8))
    check: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    cvss_vector: Mapped[str] = mapped_column(String(128))
    cvss_score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    fixed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    times_fixed: Mapped[int] = mapped_column(Integer, default=0)
    suppression_reason: Mapped[str | None] = mapped_column(Text)
    suppressed_until: Mapped[dt.date | None] = mapped_column(Date)
    first_scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    last_scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))


class Occurrence(Base):
    """A tracked finding as one scan saw it, with that scan's evidence (JSON)."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("scan_id", "finding_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("findings.id", ondelete="CASCADE"), index=True
    )
    finding: Mapped[str] = mapped_column(Text)
    """The model `Finding` as this scan reported it (`store.serialize`)."""
