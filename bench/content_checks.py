"""Benchmark: the content checks (requirements 6, 7, 8, 10, 14) on pages and scripts at the scan's
caps, hostile markup, and the signature engine with a repository the size of retire.js's.

    .venv/bin/python bench/content_checks.py [--scripts 100] [--script-mb 2]

Prints wall times and the peak resident memory of the process; figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import string
import time
from collections.abc import Callable

from connectguard.checks.components import check_components
from connectguard.checks.credentials import check_credential_collection
from connectguard.checks.leaks import check_token_leaks
from connectguard.checks.secrets import check_secret_exposure
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange
from connectguard.probes.content import ContentEvidence
from connectguard.probes.evidence import EndpointEvidence, Evidence
from connectguard.probes.pages import parse_page
from connectguard.vulndb.retire import SHIPPED, load_repository, parse_repository

URL = "https://app.example.com/atlassian-connect.json"


def timed(label: str, run: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    print(f"{label:<58} {best * 1000:9.1f} ms")
    return best


def minified_script(size: int, seed: int) -> bytes:
    """One line of minified-looking JavaScript, a jQuery banner at the top, no newline."""
    rng = random.Random(seed)
    words = ["function", "var", "return", "this", "null", "e", "t", "n", "r", "i", "o"]
    parts = ["/*! jQuery v3.4.1 | (c) JS Foundation */"]
    size_now = len(parts[0])
    while size_now < size:
        token = (
            rng.choice(words)
            + rng.choice("(){};,.=+")
            + "".join(rng.choices(string.ascii_letters, k=6))
        )
        parts.append(token)
        size_now += len(token)
    return "".join(parts).encode()[:size]


def big_page(size: int) -> bytes:
    rows = []
    total = 0
    index = 0
    while total < size:
        row = (
            f'<tr><td><a href="/issue/TEST-{index}">TEST-{index}</a></td>'
            f'<td><img src="https://avatars.example.net/u/{index}.png"></td>'
            f"<td>Prepare release notes for sprint {index}</td></tr>"
        )
        rows.append(row)
        total += len(row)
        index += 1
    head = '<html><head><script src="/static/app.js"></script></head><body><table>'
    return (head + "".join(rows) + "</table></body></html>").encode()[:size]


def evidence(page: bytes, scripts: list[bytes]) -> Evidence:
    raw = {"key": "k", "name": "n", "baseUrl": "https://app.example.com"}
    raw["modules"] = {"generalPages": [{"key": "b", "url": "/board", "name": {"value": "B"}}]}
    descriptor = parse_descriptor(json.dumps(raw), URL)
    plan = plan_endpoints(descriptor, URL)
    html = Exchange(
        "GET",
        "https://app.example.com/board",
        status=200,
        headers=(("Content-Type", "text/html"),),
        body=page,
    )
    resources = tuple(
        Exchange(
            "GET",
            f"https://app.example.com/static/s{i}.js",
            status=200,
            headers=(("Content-Type", "application/javascript"),),
            body=body,
        )
        for i, body in enumerate(scripts)
    )
    return Evidence(
        target=URL,
        scan_time=0,
        descriptor_chain=(Exchange("GET", URL, status=200),),
        descriptor=descriptor,
        plan=plan,
        endpoints=(EndpointEvidence(plan.endpoints[0], (html,)),),
        resources=resources,
        content=ContentEvidence(signatures=load_repository(SHIPPED)),
        shared_secret="f" * 64,
    )


def synthetic_repository(components: int) -> dict[str, object]:
    """A repository with retire.js's shape and size: four patterns per component."""
    repo: dict[str, object] = {}
    for i in range(components):
        name = f"lib{i}"
        repo[name] = {
            "vulnerabilities": [
                {"below": "9.9.9", "severity": "high", "identifiers": {"CVE": ["CVE-0"]}}
            ],
            "extractors": {
                "filename": [f"{name}-(§§version§§)(\\.min)?\\.js"],
                "uri": [f"/(§§version§§)/{name}(\\.min)?\\.js"],
                "filecontent": [
                    f"/\\*!? {name} v(§§version§§)",
                    f"{name}\\.VERSION ?= ?['\"](§§version§§)['\"]",
                ],
            },
        }
    return repo


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scripts", type=int, default=100)
    parser.add_argument("--script-mb", type=float, default=2.0)
    args = parser.parse_args()
    size = int(args.script_mb * 1024 * 1024)

    print("page parsing (lxml)")
    page = big_page(size)
    timed(
        f"  {len(page) // 1024} KiB table page", lambda: parse_page.__wrapped__("https://a/", page)
    )
    for name, body in [
        ("1 MiB of '<!--'", b"<!--" * 262_144),
        ("1 MiB of '<a'", b"<a" * 524_288),
        ("1 MiB of '</'", b"</" * 524_288),
        ("1 MiB of attributes", b"<input " + b"a=b " * 262_144 + b">"),
        ("100,000 nested divs", b"<div>" * 100_000),
    ]:
        timed(f"  hostile: {name}", lambda b=body: parse_page.__wrapped__("https://a/", b))

    kib = size // 1024
    print(
        f"content checks: one {len(page) // 1024} KiB page and {args.scripts} scripts of {kib} KiB"
    )
    scripts = [minified_script(size, seed) for seed in range(args.scripts)]
    ev = evidence(page, scripts)
    for label, check in [
        ("  7 secrets and client storage", check_secret_exposure),
        ("  8 token leaks", check_token_leaks),
        ("  10 credential forms", check_credential_collection),
        ("  14 client-side libraries (shipped set)", check_components),
    ]:
        timed(label, lambda c=check: c(ev), rounds=1)

    # The worst case for requirement 7: every script a dense run of token writes, so that
    # every cap of the storage-write reading (writes and assignments per script) is reached.
    unit = b'var tok=ctx.jwtToken;localStorage.setItem("k"+tok,{jwt:tok});document.cookie="a="+tok;'
    dense = (unit * (size // len(unit) + 1))[:size]
    hostile = evidence(page, [dense] * args.scripts)
    timed(
        f"  7 on {args.scripts} scripts of dense token writes",
        lambda: check_secret_exposure(hostile),
        rounds=1,
    )

    print("signature engine, one script")
    shipped = load_repository(SHIPPED)
    timed(
        f"  shipped set ({len(shipped.components)} libraries)",
        lambda: shipped.detect_content(scripts[0]),
    )
    big = parse_repository(json.dumps(synthetic_repository(500)), "synthetic")
    timed(
        f"  synthetic set ({len(big.components)} libraries)", lambda: big.detect_content(scripts[0])
    )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
