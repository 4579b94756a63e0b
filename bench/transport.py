"""Benchmark: the TLS and DNS phase of a scan (`gather_transport`) for 1 and for N origins.

The origins are served by the case fixture (real TLS, a real DNS server) in a child process,
so that the servers do not share the scanner's interpreter lock; every origin is an app
origin, so each gets the full sslyze scan (certificate and the six protocol versions), the
verifying handshake, its DNS chain and delegation lookups, and the port-80 probe.

    .venv/bin/python bench/transport.py            # 1 and 10 origins, 3 rounds each
    .venv/bin/python bench/transport.py --origins 1 5 10 --rounds 5

Prints the median wall time of each size and the ratio to 1 origin; bounded: a handful of
rounds against servers on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from typing import Any

from connectguard.fixture import serve_case
from connectguard.net.http import HttpClient
from connectguard.probes.takeover import builtin_table
from connectguard.probes.transport import TransportPlan, gather_transport
from connectguard.probes.transport_evidence import OriginRole, TransportEvidence
from connectguard.settings import ScanOptions

HEADERS = {"Strict-Transport-Security": ["max-age=31536000"]}


def case(origins: int) -> dict[str, Any]:
    """An app on o1.bench.test plus origins o2..oN, each its own TLS server and host name."""
    extra = {
        f"o{i}": {"host": f"o{i}.bench.test", "default_headers": HEADERS}
        for i in range(2, origins + 1)
    }
    return {
        "id": f"bench-{origins}",
        "title": "transport benchmark",
        "app": {
            "host": "o1.bench.test",
            "descriptor": {"key": "bench", "name": "Bench", "baseUrl": "{base}"},
            "default_headers": HEADERS,
        },
        "origins": extra,
        "dns": {"records": []},
        "expect": {},
    }


def serve(origins: int, pipe: Connection) -> None:
    """Child process: serve the case until the parent says stop."""
    with serve_case(case(origins)) as served:
        bases = [served.base, *served.origins.values()]
        pipe.send((bases, served.ca_file, served.nameserver))
        pipe.recv()


def plan(bases: list[str]) -> TransportPlan:
    tls = []
    for base in bases:
        host, port = base.removeprefix("https://").rsplit(":", 1)
        tls.append((host, int(port), OriginRole.APP))
    hosts = tuple(host for host, _, _ in tls)
    return TransportPlan(tls=tuple(tls), hosts=hosts, app_hosts=hosts, origins=())


async def one_round(
    bases: list[str], ca_file: str, nameserver: tuple[str, int]
) -> tuple[float, TransportEvidence]:
    options = ScanOptions(
        target=bases[0], ca_file=ca_file, nameserver=nameserver, allow_private=True
    )
    async with HttpClient(
        options.limits, ca_file=ca_file, nameserver=nameserver, allow_private=True
    ) as client:
        started = time.monotonic()
        found = await gather_transport(client, options, plan(bases), builtin_table())
        return time.monotonic() - started, found


def measure(origins: int, rounds: int) -> list[float]:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(origins, child), daemon=True)
    server.start()
    try:
        bases, ca_file, nameserver = parent.recv()
        times = []
        for _ in range(rounds):
            elapsed, found = asyncio.run(one_round(bases, ca_file, nameserver))
            failed = [t.error for t in found.tls if t.error]
            failed += [d.error for d in found.dns if d.error]
            if failed or len(found.tls) != origins:
                raise SystemExit(f"a probe failed, the figure would mean nothing: {failed}")
            times.append(elapsed)
        return times
    finally:
        parent.send("stop")
        server.join(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not 1 <= args.rounds <= 20 or not all(1 <= n <= 32 for n in args.origins):
        raise SystemExit("use 1-20 rounds and 1-32 origins")

    medians = {}
    for origins in args.origins:
        times = measure(origins, args.rounds)
        medians[origins] = statistics.median(times)
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(f"{origins:>3} origins: median {medians[origins]:.2f} s  (rounds: {shown})")
    if 1 in medians:
        for origins, median in medians.items():
            print(f"{origins:>3} origins / 1 origin: {median / medians[1]:.2f}x")


if __name__ == "__main__":
    main()
