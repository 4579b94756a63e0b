"""Opening the findings store: where it is, the engine, the schema check, and errors in words.

The store is a SQLite file in the user's data directory unless `--store-url` or the environment
variable `CONNECTGUARD_STORE` names another database (a file path, `sqlite:///...` or
`postgresql://...`). Opening a store brings its schema up to date with the bundled Alembic
migrations, inside one transaction, so a failed migration leaves the data as it was. A store
written by a newer connectguard, or a file that is not a database, is refused untouched.

Writers are serialised per app: on SQLite every transaction starts with BEGIN IMMEDIATE (the
database's single writer lock); on PostgreSQL a recording locks its app's row.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from connectguard.errors import ConnectGuardError
from connectguard.settings import default_data_dir

if TYPE_CHECKING:  # Alembic is imported when a store is opened, not with the command line.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

ENV_VAR = "CONNECTGUARD_STORE"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 60
WAL_ATTEMPTS = 100  # 5 s in all
PG_MIGRATION_LOCK = 0x63675F7374  # any constant: serialises schema upgrades on one server


class StoreError(ConnectGuardError):
    """The findings store cannot be opened, read or written."""


def default_store_path() -> Path:
    return default_data_dir() / "findings.sqlite3"


def resolve_store_url(given: str | None = None) -> URL:
    """The store to use: `given`, else $CONNECTGUARD_STORE, else the default SQLite file."""
    raw = given or os.environ.get(ENV_VAR) or str(default_store_path())
    if "://" not in raw:
        return URL.create("sqlite", database=str(Path(raw).expanduser().resolve()))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise StoreError(f"{mask_password(raw)!r} is not a database URL.", hint=_URL_HINT) from None
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return url
    raise StoreError(f"{describe(url)} is not a SQLite file or PostgreSQL URL.", hint=_URL_HINT)


_URL_HINT = (
    "Give a file path, sqlite:////absolute/path.sqlite3 or "
    "postgresql://user@host:5432/database (--store-url or CONNECTGUARD_STORE)."
)


def mask_password(raw: str) -> str:
    """A URL as text, even one too malformed to parse, with any password written as ***."""
    scheme, sep, rest = raw.partition("://")
    userinfo, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return raw
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{location}"


def describe(url: URL) -> str:
    """The URL for messages: the password hidden, a SQLite store as its file."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite store {url.database}"
    return f"the store {url.render_as_string(hide_password=True)}"


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


class Store:
    """An open findings store. Use `session()` for one transaction; `close()` when done."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self.engine = engine
        self.url = url
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.translate_errors(), self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise database_error(self.url, exc) from None
        except (ValueError, TypeError, KeyError) as exc:
            # Unreadable values: a damaged file SQLite did not notice, or a bug of ours.
            problem = self.integrity_problem()
            if problem is None:
                raise
            raise database_error(self.url, exc, problem) from None

    def integrity_problem(self) -> str | None:
        """What SQLite's quick check finds wrong with the file, if anything."""
        if self.dialect != "sqlite":
            return None
        try:
            connection = sqlite3.connect(f"file:{self.url.database}?mode=ro", uri=True)
            try:
                rows = connection.execute("PRAGMA quick_check(3)").fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            return str(exc)
        found = [str(row[0]) for row in rows if row[0] != "ok"]
        return "; ".join(found) if found else None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | URL | None = None, create: bool = True) -> Store:
    """Open (upgrading as needed) the store at `url`; raise `StoreError`. A SQLite file that
    does not exist is created, or with `create=False` (the commands that only read) refused."""
    resolved = url if isinstance(url, URL) else resolve_store_url(url)
    engine = _engine(resolved, create)
    store = Store(engine, resolved)
    try:
        with store.translate_errors():
            ensure_schema(engine, resolved)
            if store.dialect == "sqlite":
                _write_ahead_log(engine)
    except BaseException:
        engine.dispose()
        raise
    return store


def _engine(url: URL, create: bool = True) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = Path(str(url.database))
    if path.is_dir():
        raise StoreError(
            f"{_upper(describe(url))} is a directory, not a database file.", hint=_URL_HINT
        )
    if not create and not path.exists():
        # A typo in --store must not look like a store with no findings.
        raise StoreError(f"There is no findings store at {path} (run a scan with --store first).")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Could not create the folder of {describe(url)}: {exc}.") from None
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transactions into our own hands (see _sqlite_begin), as SQLAlchemy's docs advise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _write_ahead_log(engine: Engine) -> None:
    """Readers need not wait for a writer. Set once the file is known to be ours: it is kept
    in the file, and a file we refuse stays byte for byte as it was."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for attempt in range(WAL_ATTEMPTS):
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                break
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                # Another process holds the file: SQLite does not wait for this change itself.
                if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)
        cursor.close()
    finally:
        connection.close()


def _sqlite_begin(connection: Connection) -> None:
    # The write lock up front: two writers queue on the busy timeout instead of one failing
    # with "database is locked" when it upgrades a read lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def schema_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def ensure_schema(engine: Engine, url: URL) -> None:
    """Create or upgrade the schema to this version's head, or refuse a store it cannot read."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    head = script.get_current_head()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": PG_MIGRATION_LOCK})
        current = MigrationContext.configure(connection).get_current_heads()
        if current == (head,):
            return
        unknown = [revision for revision in current if not _known(script, revision)]
        if unknown:
            raise StoreError(
                f"{_upper(describe(url))} was written by a newer connectguard "
                f"(schema revision {unknown[0]}; this version knows up to {head}); "
                "it was left untouched.",
                hint="Upgrade connectguard (pip install -U connectguard) to use this store, "
                "or point --store-url at another one.",
            )
        if not current:
            _refuse_foreign(connection, url)
        log.info("bringing %s to schema revision %s", describe(url), head)
        command.upgrade(_alembic_config(connection), "head")


def _known(script: ScriptDirectory, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _refuse_foreign(connection: Connection, url: URL) -> None:
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    if tables:
        raise StoreError(
            f"{_upper(describe(url))} holds other tables ({', '.join(sorted(tables)[:3])}"
            f"{'...' if len(tables) > 3 else ''}) and is not a connectguard store; "
            "it was left untouched.",
            hint="Point --store-url at a new file or an empty database.",
        )


def database_error(url: URL, exc: BaseException, integrity: str | None = None) -> StoreError:
    """A database failure as one sentence that says what to do next."""
    original = getattr(exc, "orig", None) or exc
    detail = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    detail = integrity or detail
    lowered = detail.lower()
    damaged = ("not a database", "malformed", "corrupt")
    if integrity is not None or any(word in lowered for word in damaged):
        return StoreError(
            f"{_upper(describe(url))} is damaged ({detail}); it was left untouched.",
            hint="Restore it from a backup, or move the file aside to start a new history "
            "(`sqlite3 FILE .recover` may salvage its rows).",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(f"{_upper(describe(url))} is read-only ({detail}).")
    if "unable to open" in lowered or "connection" in lowered or "connect" in lowered:
        return StoreError(
            f"Could not open {describe(url)}: {detail}.",
            hint="Check that the database server runs and that the URL is right "
            "(--store-url or CONNECTGUARD_STORE).",
        )
    return StoreError(f"{_upper(describe(url))} failed: {detail}.")
