"""The labelled cases: every case in ../shared/cases, in tests/cases (the project's own) and in
each folder of CONNECTGUARD_CASES is
served by the fixture server over real TLS and scanned by the real scanner; the verdicts it
lists (and the findings it names) must come out.

Cases that need checks of a later issue are listed in EXPECTED_TO_FAIL with the reason; they
run all the same, and a case listed there that starts to pass makes the run fail (strict).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from connectguard.fixture import load_case, serve_case
from connectguard.fixture.options import scan_options
from connectguard.model import Level, ScanResult
from connectguard.scan import run_scan

SHARED_CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"
PROJECT_CASES = Path(__file__).resolve().parent / "cases"

# case id -> why it cannot pass yet. Strict: remove an entry as soon as its case passes.
EXPECTED_TO_FAIL: dict[str, str] = {}


def case_folders() -> list[Path]:
    folders = [SHARED_CASES, PROJECT_CASES]
    extra = os.environ.get("CONNECTGUARD_CASES", "")
    folders.extend(Path(p) for p in extra.split(":") if p.strip())
    return folders


def case_files() -> list[Path]:
    files: list[Path] = []
    for folder in case_folders():
        if not folder.is_dir():
            raise FileNotFoundError(f"case folder {folder} does not exist")
        files.extend(sorted(folder.glob("*.json")))
    return files


def _params() -> list[Any]:
    params = []
    for path in case_files():
        marks = []
        if path.stem in EXPECTED_TO_FAIL:
            marks.append(pytest.mark.xfail(reason=EXPECTED_TO_FAIL[path.stem], strict=True))
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


def mismatches(case: dict[str, Any], result: ScanResult) -> list[str]:
    """Every way the scan result differs from what the case expects."""
    problems = []
    for requirement, expected in case["expect"].items():
        got = result.requirement(requirement)
        if got.verdict.value != expected:
            problems.append(
                f"requirement {requirement}: expected {expected}, got {got.verdict.value} "
                f"({got.reason})"
            )
    for wanted in case.get("expect_findings", []):
        paths = {
            f.path
            for f in result.requirement(wanted["requirement"]).findings
            if f.level is Level.FAIL
        }
        if wanted["path"] not in paths:
            problems.append(
                f"requirement {wanted['requirement']}: no failing finding at {wanted['path']} "
                f"(failing paths: {sorted(paths) or 'none'})"
            )
    return problems


@pytest.mark.parametrize("path", _params())
def test_case(path: Path) -> None:
    case = load_case(path)
    with serve_case(case) as served:
        result = run_scan(scan_options(served))
    problems = mismatches(case, result)
    assert not problems, f"{case['id']}: {case['title']}\n  " + "\n  ".join(problems)
