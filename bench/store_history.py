"""Benchmark: the findings store with a long history.

Records SCANS scans of one app, each with FINDINGS failing findings of which a fifth change
from scan to scan (fixed, new, back), then times the last recordings, `findings list` and the
HTML report of the app. Usage:

    .venv/bin/python bench/store_history.py [--scans 300] [--findings 200] [--store-url URL]

Without --store-url it uses a new SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from connectguard.model import Finding, Judgement, Level, ScanResult
from connectguard.report.html import render_html
from connectguard.requirements import NUMBERS
from connectguard.store import open_store, record_scan
from connectguard.store.queries import FindingFilter, app_report, list_findings
from connectguard.verdicts import combine

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CHECKS = (("11", "session-cookie-flags"), ("12", "referrer-policy"), ("2", "cache-control"))


def scan_result(n: int, findings: int, at: dt.datetime) -> ScanResult:
    stable = findings - findings // 5
    paths = [f"/stable/{i}" for i in range(stable)]
    paths += [f"/moving/{(n + i) % (findings // 2 + 1)}" for i in range(findings - stable)]
    made = [
        Finding(
            req, check, Level.FAIL, f"{check} at {path}", origin="https://bench.test", path=path
        )
        for i, path in enumerate(paths)
        for req, check in (CHECKS[i % len(CHECKS)],)
    ]
    judgements = [
        Judgement(r, tuple(f for f in made if f.requirement == r), 1) for r in NUMBERS[:-1]
    ]
    stamp = at.isoformat()
    return ScanResult(
        "https://bench.test/atlassian-connect.json",
        stamp,
        stamp,
        "bench-app",
        "Bench App",
        "https://bench.test",
        combine(judgements),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--findings", type=int, default=200)
    parser.add_argument("--store-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.store_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        with open_store(url) as store:
            timings = []
            for n in range(args.scans):
                at = START + dt.timedelta(days=n)
                result = scan_result(n, args.findings, at)
                started = time.perf_counter()
                record_scan(store, result, scan_time=at)
                timings.append(time.perf_counter() - started)
            at = START + dt.timedelta(days=args.scans)

            started = time.perf_counter()
            listed = list_findings(store, FindingFilter(app="bench-app"), at)
            list_time = time.perf_counter() - started

            started = time.perf_counter()
            html = render_html(app_report(store, "bench-app", at))
            html_time = time.perf_counter() - started
        size = Path(url.removeprefix("sqlite:///")).stat().st_size if not args.store_url else 0

    last = timings[-20:]
    print(f"store: {'PostgreSQL' if args.store_url else 'SQLite'}")
    print(f"scans recorded: {args.scans} x {args.findings} findings")
    print(
        f"record one scan: first {timings[0] * 1000:.0f} ms, median of the last 20 "
        f"{statistics.median(last) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
    )
    print(f"findings list: {len(listed)} findings in {list_time * 1000:.0f} ms")
    print(f"HTML report: {len(html) // 1024} KiB in {html_time * 1000:.0f} ms")
    if size:
        print(f"SQLite file: {size / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
