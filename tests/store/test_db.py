"""Opening stores: where the default is, schema creation and upgrade, and the bad inputs (a
damaged file, a store from a newer connectguard, a foreign database, a server that is down)
each give one clear sentence and leave the data as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from connectguard.store import StoreError, open_store, record_scan, resolve_store_url
from connectguard.store.db import default_store_path, mask_password, schema_head


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_default_store_follows_connectguard_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("CONNECTGUARD_STORE", raising=False)
    monkeypatch.setenv("CONNECTGUARD_DATA_DIR", str(tmp_path / "cg"))
    assert default_store_path() == tmp_path / "cg" / "findings.sqlite3"


def test_default_store_is_a_sqlite_file_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("CONNECTGUARD_STORE", raising=False)
    monkeypatch.delenv("CONNECTGUARD_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = resolve_store_url()
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "data" / "connectguard" / "findings.sqlite3")
    assert default_store_path() == tmp_path / "data" / "connectguard" / "findings.sqlite3"
    with open_store() as store:
        assert store.dialect == "sqlite"
    assert Path(url.database).is_file()


def test_environment_and_option_select_the_store(monkeypatch, tmp_path):
    monkeypatch.setenv("CONNECTGUARD_STORE", "postgresql://cg@db.internal:5432/findings")
    assert resolve_store_url().drivername == "postgresql+psycopg"
    assert resolve_store_url(str(tmp_path / "x.db")).database == str(tmp_path / "x.db")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/findings", "is not a SQLite file or PostgreSQL URL"),
        ("sqlite://", "is not a SQLite file or PostgreSQL URL"),
        ("postgresql://u:secret@[::1", "is not a database URL"),
    ],
)
def test_bad_store_urls(url, message):
    with pytest.raises(StoreError, match=message) as caught:
        resolve_store_url(url)
    assert "secret" not in caught.value.message


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("postgresql://user:S3cret@[::1/db", "postgresql://user:***@[::1/db"),
        ("postgresql://user:p@ss/w@rd@[::1", "postgresql://user:***@[::1"),
        ("mysql://u:S3cret@db/x", "mysql://u:***@db/x"),
        ("postgresql://user@[::1/db", "postgresql://user@[::1/db"),
        ("/var/lib/a:b@c.sqlite3", "/var/lib/a:b@c.sqlite3"),
    ],
)
def test_passwords_are_masked_in_store_messages(raw, shown):
    assert mask_password(raw) == shown
    if "S3cret" in raw:
        with pytest.raises(StoreError) as caught:
            resolve_store_url(raw)
        assert "S3cret" not in caught.value.message
        assert "://u" in caught.value.message and ":***@" in caught.value.message


def test_a_missing_file_is_refused_when_only_reading(tmp_path):
    path = tmp_path / "typo" / "findings.sqlite3"
    with pytest.raises(StoreError) as caught:
        open_store(str(path), create=False)
    assert caught.value.message == (
        f"There is no findings store at {path} (run a scan with --store first)."
    )
    assert not path.parent.exists()
    open_store(str(path)).close()  # a recording scan creates it
    open_store(str(path), create=False).close()


def test_new_store_gets_the_current_schema(sqlite_url):
    with open_store(sqlite_url) as store:
        tables = set(inspect(store.engine).get_table_names())
        with store.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert {"apps", "scans", "findings", "occurrences", "requirement_verdicts"} <= tables
    assert version == schema_head()


def test_reopening_keeps_the_history(sqlite_url, make_result, make_finding):
    with open_store(sqlite_url) as store:
        record_scan(store, make_result([make_finding("12", "referrer-policy")]))
    with open_store(sqlite_url) as store, store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM findings")).scalar() == 1


def test_a_damaged_file_is_refused_untouched(tmp_path):
    path = tmp_path / "findings.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        open_store(str(path))
    assert "is damaged" in caught.value.message
    assert "left untouched" in caught.value.message
    assert "backup" in (caught.value.hint or "")
    assert digest(path) == before


def test_a_store_truncated_mid_file_is_refused(tmp_path, make_result, make_finding):
    path = tmp_path / "findings.sqlite3"
    with open_store(str(path)) as store:
        for n in range(30):
            finding = make_finding("12", "referrer-policy", f"/page/{n}", summary="x" * 2000)
            record_scan(store, make_result([finding]))
    _checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\x00" * 4096 + data[len(data) // 2 + 4096 :])
    before = digest(path)
    with (
        pytest.raises(StoreError, match=r"is damaged \(") as caught,
        open_store(str(path)) as store,
    ):
        record_scan(store, make_result([make_finding("11", "session-cookie-flags")]))
    assert "left untouched" in caught.value.message
    assert digest(path) == before


def _checkpoint(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def test_a_store_from_a_newer_version_is_refused_untouched(tmp_path, make_result):
    path = tmp_path / "findings.sqlite3"
    with open_store(str(path)) as store:
        record_scan(store, make_result([]))
    connection = sqlite3.connect(path)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    _checkpoint(path)
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        open_store(str(path))
    assert "written by a newer connectguard" in caught.value.message
    assert "schema revision 9999" in caught.value.message
    assert "Upgrade connectguard" in (caught.value.hint or "")
    assert digest(path) == before


def test_a_newer_postgresql_store_is_refused(postgres_url, make_result):
    with open_store(postgres_url) as store:
        record_scan(store, make_result([]))
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
        try:
            with pytest.raises(StoreError, match="newer connectguard"):
                open_store(postgres_url)
        finally:
            with store.engine.begin() as connection:
                assert connection.execute(text("SELECT count(*) FROM scans")).scalar() == 1
                head = {"head": schema_head()}
                connection.execute(text("UPDATE alembic_version SET version_num = :head"), head)


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="not a connectguard store"):
        open_store(str(path))


def test_a_directory_is_not_a_store(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        open_store(str(tmp_path))


def test_a_server_that_is_down_is_named_without_its_password():
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://cg:hunter2@127.0.0.1:1/findings")
    assert caught.value.message.startswith("Could not open the store postgresql+psycopg://cg:***@")
    assert "hunter2" not in caught.value.message
