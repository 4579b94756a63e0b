"""Two scans recording into the same store at once lose nothing, on SQLite and PostgreSQL.

Two writers, each with its own connection pool as two `connectguard scan --store` processes
would have, record scans of the same (new) app simultaneously. Every scan, verdict, finding
and occurrence must be there afterwards, and no finding may be duplicated.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select

from connectguard.model import Finding, ScanResult
from connectguard.store import open_store, record_scan
from connectguard.store.models import Occurrence, RequirementVerdict, Scan, TrackedFinding

SCANS_PER_WRITER = 12
START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)


def test_two_writers_at_once_lose_nothing(
    store_url: str,
    make_result: Callable[..., ScanResult],
    make_finding: Callable[..., Finding],
) -> None:
    barrier = threading.Barrier(2, timeout=30)
    scan_ids: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def writer(name: str, offset: int) -> None:
        try:
            with open_store(store_url) as store:
                barrier.wait()
                for i in range(SCANS_PER_WRITER):
                    findings = [
                        make_finding("12", "referrer-policy", "/shared"),
                        make_finding("11", "session-cookie-flags", "/shared", detail="sid"),
                        make_finding("2", "cache-control", f"/{name}/{i}"),
                    ]
                    when = START + dt.timedelta(hours=2 * i + offset)
                    recorded = record_scan(store, make_result(findings), scan_time=when)
                    scan_ids[name].append(recorded.scan_id)
                    time.sleep(0.002)  # as between two real scans: let the other writer in
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n, o)) for n, o in (("a", 0), ("b", 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    total = 2 * SCANS_PER_WRITER
    assert len(set(scan_ids["a"]) | set(scan_ids["b"])) == total
    with open_store(store_url) as store, store.session() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == total
        assert session.scalar(select(func.count()).select_from(RequirementVerdict)) == total * 15
        assert session.scalar(select(func.count()).select_from(Occurrence)) == total * 3
        rows = {(row.check, row.path): row for row in session.scalars(select(TrackedFinding))}
    # two findings in every scan, one of each scan's own: none lost, none twice
    assert len(rows) == 2 + total
    shared = rows["referrer-policy", "/shared"]
    assert shared.last_seen == START + dt.timedelta(hours=2 * SCANS_PER_WRITER - 1)
    assert shared.first_seen in (START, START + dt.timedelta(hours=1))
    assert shared.status == rows["session-cookie-flags", "/shared"].status == "open"
    # Whatever the order of recording, the finding of the latest scan is open.
    assert rows["cache-control", f"/b/{SCANS_PER_WRITER - 1}"].status == "open"
