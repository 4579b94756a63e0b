"""Benchmark: a live scan of a fixture app with many module URLs on one origin.

The app (served over TLS on 127.0.0.1 by the fixture server, in this process) has N general
pages, each answering after a delay; the scan runs as `connectguard scan` in a child process so
that its wall time and peak memory are its own. Usage:

    .venv/bin/python bench/scan_endpoints.py [--pages 200] [--delay-ms 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from connectguard.fixture import serve_case

SECURE = {
    "Strict-Transport-Security": ["max-age=31536000"],
    "Cache-Control": ["no-cache, no-store"],
    "Referrer-Policy": ["no-referrer"],
}


def bench_case(pages: int, delay_ms: int) -> dict[str, Any]:
    modules = [{"key": f"p{i}", "url": f"/p/{i}?project={{project.key}}"} for i in range(pages)]
    routes = [
        {
            "path": f"/p/{i}",
            "auth": "jwt",
            "delay_ms": delay_ms,
            "ok": {"status": 200, "body": f"<p>page {i}</p>"},
        }
        for i in range(pages)
    ]
    return {
        "id": "bench",
        "title": f"{pages} module pages answering after {delay_ms} ms",
        "app": {
            "descriptor": {
                "key": "bench",
                "name": "Bench",
                "baseUrl": "{base}",
                "modules": {"generalPages": modules},
            },
            "default_headers": SECURE,
            "routes": routes,
        },
        "install": {"clientKey": "bench-client", "sharedSecret": "b" * 48, "admins": []},
        "expect": {},
    }


def one_run(target: str, ca_file: str, extra: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "connectguard",
                "scan",
                target,
                "--ca-file",
                ca_file,
                "-q",
                "-o",
                out.name,
                *extra,
            ],
            check=False,
        )
        wall = time.perf_counter() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        report = json.loads(Path(out.name).read_text())
    requests = report["requests_sent"]
    return {
        "wall_s": wall,
        "requests": requests,
        "rps": requests / wall,
        # ru_maxrss of children is the largest child so far: valid for the first run, and a
        # bound for later ones.
        "peak_mb": max(peak_kb, before) / 1024,
        "verdict_5": report["requirements"]["5"]["verdict"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--delay-ms", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("scan_args", nargs="*", help="extra arguments for connectguard scan")
    args = parser.parse_args()
    case = bench_case(args.pages, args.delay_ms)
    with serve_case(case) as served:
        runs = [one_run(served.target, served.ca_file, args.scan_args) for _ in range(args.runs)]
    print(f"{args.pages} pages, {args.delay_ms} ms each, {os.cpu_count()} cores, {args.runs} runs")
    for key in ("wall_s", "requests", "rps", "peak_mb"):
        values = [r[key] for r in runs]
        print(
            f"  {key:9} median {statistics.median(values):8.2f}  min {min(values):8.2f}  "
            f"max {max(values):8.2f}"
        )
    print(f"  requirement 5: {sorted({r['verdict_5'] for r in runs})}")


if __name__ == "__main__":
    main()
