"""Benchmark of `connectguard scan-repo` secret scanning, side by side with detect-secrets.

Generates, in a temporary folder, a source tree of FILES files and MEGABYTES MB whose git
history has COMMITS commits (each adds its share of the files; written with `git fast-import`),
with a few planted secrets. Then, in the same run, measures wall time, throughput and peak
resident memory of:

- connectguard on the working tree (`scan-repo --no-history --no-dependencies`);
- connectguard on the working tree and every commit (`scan-repo --no-dependencies`);
- detect-secrets on the working tree (`detect-secrets scan --all-files`), when installed
  (`pip install detect-secrets` into the venv: it is not a connectguard dependency).

Each size in --scales is a fraction of the full tree, so the table shows whether memory stays
flat as the tree grows. Usage:

    .venv/bin/python bench/scan_repo.py                      # 20,000 files, 200 MB, 2,000 commits
    .venv/bin/python bench/scan_repo.py --scales 0.05 --no-detect-secrets   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
_VOCABULARY = (
    "const let var function return if else for while import export from async await class new "
    "this request response user issue project page context module config value result error "
    "handler router render template jira confluence macro token header body status json data"
)
WORDS = _VOCABULARY.split()
PLANTED = 20


@dataclass(frozen=True)
class Measure:
    name: str
    seconds: float
    peak_mib: float
    findings: int


def _line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.05:
        return f'  "{rng.choice(WORDS)}Hash": "{rng.getrandbits(160):040x}",'
    if kind < 0.08:
        return f"  // {' '.join(rng.choices(WORDS, k=12))}"
    if kind < 0.10:
        blob = "".join(rng.choices(string.ascii_letters + string.digits, k=64))
        return f'  const {rng.choice(WORDS)}Id = "{blob}";'
    words = rng.choices(WORDS, k=rng.randint(3, 14))
    return "  " + " ".join(words) + (";" if rng.random() < 0.6 else " {")


def _secret(rng: random.Random, number: int) -> str:
    body = "ATATT3xFfGF0" + "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=171))
    body += "="
    token = body + format(zlib.crc32(body.encode()), "08X")
    shared = "".join(rng.choices(string.ascii_letters + string.digits, k=43))
    return token if number % 2 else f'  "sharedSecret": "{shared}",'


def generate(root: Path, files: int, total_bytes: int, commits: int, seed: int = 7) -> int:
    """Writes the tree and its history; returns the bytes written."""
    rng = random.Random(seed)
    lines = [_line(rng) for _ in range(50_000)]
    per_file = max(total_bytes // files, 64)
    planted_at = set(rng.sample(range(files), min(PLANTED, files)))
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    importer = subprocess.Popen(
        ["git", "-C", str(root), "fast-import", "--quiet"], stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    written = 0
    per_commit = max(files // commits, 1)
    for commit in range(commits):
        stamp = 1_600_000_000 + commit * 600
        message = f"change {commit}".encode()
        importer.stdin.write(
            f"commit refs/heads/main\ncommitter Bench <b@example.com> {stamp} +0000\n"
            f"data {len(message)}\n".encode()
            + message
            + b"\n"
        )
        for number in range(commit * per_commit, min((commit + 1) * per_commit, files)):
            data = _file_body(rng, lines, per_file, number in planted_at, number)
            path = f"src/m{number // 500:03d}/f{number:05d}.js"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
            written += len(data)
            importer.stdin.write(f"M 644 inline {path}\ndata {len(data)}\n".encode())
            importer.stdin.write(data + b"\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(root), "reset", "-q"], check=True)
    return written


def _file_body(
    rng: random.Random, lines: list[str], size: int, planted: bool, number: int
) -> bytes:
    chosen: list[str] = []
    length = 0
    while length < size:
        line = rng.choice(lines)
        chosen.append(line)
        length += len(line) + 1
    if planted:
        chosen.insert(len(chosen) // 2, _secret(rng, number))
    return ("\n".join(chosen) + "\n").encode()


def run(name: str, command: list[str], cwd: Path, output: Path) -> Measure:
    started = time.monotonic()
    with open(output, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measure(name, seconds, usage.ru_maxrss / 1024, _count(output))


def _count(output: Path) -> int:
    try:
        data = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return -1
    if "requirements" in data:
        return sum(
            len([f for f in data["requirements"][n]["findings"] if f["level"] == "fail"])
            for n in ("7", "8")
        )
    return sum(len(found) for found in data.get("results", {}).values())


def bench_scale(work: Path, scale: float, args: argparse.Namespace) -> list[tuple[str, str]]:
    files, commits = int(args.files * scale), max(int(args.commits * scale), 1)
    tree = work / f"tree-{scale}"
    started = time.monotonic()
    size = generate(tree, files, int(args.megabytes * scale * 1024 * 1024), commits)
    mb = size / 1024 / 1024
    took = time.monotonic() - started
    print(
        f"generated {files} files, {mb:.0f} MB, {commits} commits in {took:.0f} s", file=sys.stderr
    )
    scan = [str(BIN / "connectguard"), "scan-repo", ".", "--no-dependencies", "-f", "json", "-q"]
    measures = [
        run("connectguard, working tree", [*scan, "--no-history"], tree, work / "cg-tree.json"),
        run("connectguard, tree + history", scan, tree, work / "cg-history.json"),
    ]
    detect_secrets = BIN / "detect-secrets"
    if args.detect_secrets and detect_secrets.exists():
        command = [str(detect_secrets), "scan", "--all-files", "."]
        measures.append(run("detect-secrets, working tree", command, tree, work / "ds.json"))
    shutil.rmtree(tree)
    rows = []
    for m in measures:
        volume = mb * 2 if "history" in m.name else mb
        rows.append(
            (
                f"| {files} | {mb:.0f} | {commits} | {m.name} | {m.seconds:.1f} | "
                f"{volume / m.seconds:.1f} | {m.peak_mib:.0f} | {m.findings} |",
                m.name,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--commits", type=int, default=2_000)
    parser.add_argument("--scales", default="0.25,1", help="fractions of the full size")
    parser.add_argument("--no-detect-secrets", dest="detect_secrets", action="store_false")
    args = parser.parse_args()
    print(
        "| files | MB | commits | scanner | seconds | MB/s | peak RSS (MiB) | secrets found |\n"
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as folder:
        for scale in (float(s) for s in args.scales.split(",")):
            for row, _ in bench_scale(Path(folder), scale, args):
                rows.append(row)
                print(row, flush=True)
    print("\n".join(["", "All rows:", *rows]))
    print(f"({PLANTED} secrets planted at full size; MB/s for history counts tree + history bytes)")


if __name__ == "__main__":
    main()
