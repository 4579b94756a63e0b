"""Benchmark: every hostile fixture of the test suite, for the table in docs/hostile.md.

Each fixture (tests/hostile/hostile_fixtures.py) serves its hostile app on 127.0.0.1 and runs
`connectguard scan` in a child process with the suite's small limits (`--timeout 1`, a deadline
of 5 to 10 s); the child reports its own peak resident memory (VmHWM) as it exits. The table
gives, per fixture, the limit that stopped it, the child's wall time (interpreter start-up
included) and its peak memory, and whether the fixture's checks held. Usage:

    .venv/bin/python bench/hostile.py [NAME ...] [--runs N] > table.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hostile"))

from hostile_fixtures import Hostile, catalogue


def measure(fixture: Hostile, runs: int) -> tuple[float, float, str, str]:
    """Median seconds, largest peak MiB, the outcome in a word, and the exit code."""
    seconds, peaks, verdict, code = [], [], "held", ""
    for _ in range(runs):
        outcome, setup = fixture.run()
        seconds.append(outcome.seconds)
        peaks.append(outcome.peak_mb)
        code = str(outcome.exit_code)
        try:
            fixture.assert_bounded(outcome)
            fixture.check(outcome, setup)
        except AssertionError as error:
            verdict = f"FAILED: {str(error).splitlines()[0][:80]}"
    return statistics.median(seconds), max(peaks), verdict, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="fixtures to run (default: all)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    fixtures = [f for f in catalogue() if not args.names or f.name in args.names]
    print("| fixture | what the app does | stopped by | exit | time | deadline | peak | bound |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for fixture in fixtures:
        seconds, peak, verdict, code = measure(fixture, args.runs)
        note = "" if verdict == "held" else f" **{verdict}**"
        print(
            f"| `{fixture.name}` | {fixture.attack} | {fixture.stopped_by}{note} | {code} "
            f"| {seconds:.1f} s | {fixture.deadline:g} s | {peak:.0f} MiB "
            f"| {fixture.peak_mb:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
