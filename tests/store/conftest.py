"""Fixtures for the store tests: SQLite files in tmp_path, a throw-away PostgreSQL database for
the test session on the local server, and literal scan results to record."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import OperationalError

from connectguard.model import Finding, Judgement, Level, ScanResult, Severity
from connectguard.requirements import NUMBERS
from connectguard.store import open_store
from connectguard.verdicts import combine

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")
BASE = "https://app.example.test"

MakeResult = Callable[..., ScanResult]


def _admin_connection() -> tuple[Connection, URL] | None:
    for user in PG_USERS:
        url = URL.create(
            "postgresql+psycopg", username=user, host=PG_HOST, port=PG_PORT, database=PG_DATABASE
        )
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            return engine.connect(), url
        except OperationalError:
            engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A uniquely named database on the local PostgreSQL, dropped when the session ends."""
    admin = _admin_connection()
    if admin is None:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} as {' or '.join(PG_USERS)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    connection, url = admin
    name = f"cg_test_{os.getpid()}_{secrets.token_hex(4)}"
    connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name)
    finally:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.close()
        connection.engine.dispose()


@pytest.fixture
def postgres_url(postgres_database: URL) -> str:
    """The session's PostgreSQL store, emptied for this test."""
    with open_store(postgres_database) as store, store.engine.begin() as connection:
        connection.execute(text("TRUNCATE apps, scans, findings CASCADE"))
    return postgres_database.render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/findings.sqlite3"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Run the test on a SQLite file and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


def finding(
    requirement: str,
    check: str,
    path: str = "/page",
    *,
    origin: str = BASE,
    level: Level = Level.FAIL,
    detail: str = "",
    summary: str | None = None,
    severity: Severity = Severity.MEDIUM,
) -> Finding:
    return Finding(
        requirement=requirement,
        check=check,
        level=level,
        summary=summary or f"{check} at {path}",
        fix=f"fix {check}",
        severity=severity,
        origin=origin,
        path=path,
        method="GET",
        detail=detail,
    )


def build_result(
    findings: Sequence[Finding] = (),
    *,
    verdicts: dict[str, str] | None = None,
    at: str = "2025-01-06T10:00:00+00:00",
    app: str = "app-one",
    base: str = BASE,
) -> ScanResult:
    """A scan result in which every requirement 1-14 was judged, except as `verdicts` says
    (`inconclusive`, `not_tested` or `not_applicable`)."""
    verdicts = verdicts or {}
    judgements = []
    for number in NUMBERS[:-1]:
        own = tuple(f for f in findings if f.requirement == number)
        wanted = verdicts.get(number)
        if wanted == "not_tested":
            continue
        if wanted == "inconclusive":
            judgements.append(Judgement(number, own, 0, ("the endpoint timed out",)))
        elif wanted == "not_applicable":
            judgements.append(Judgement(number, (), 0, (), "authentication type none"))
        else:
            judgements.append(Judgement(number, own, 1))
    return ScanResult(
        target=f"{base}/atlassian-connect.json",
        started_at=at,
        finished_at=at,
        app_key=app,
        app_name=app.replace("-", " ").title(),
        base_url=base,
        requirements=combine(judgements, {"15": "fix deadlines need the findings history"}),
    )


@pytest.fixture
def make_result() -> MakeResult:
    return build_result


@pytest.fixture
def make_finding() -> Callable[..., Finding]:
    return finding
