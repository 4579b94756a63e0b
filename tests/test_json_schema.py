"""The committed JSON Schema of the report matches the report models, and reports validate."""

from __future__ import annotations

import json
from pathlib import Path

from connectguard.fixture import load_case, serve_case
from connectguard.fixture.options import scan_options
from connectguard.report.json_report import ReportOut, render_json, report_schema
from connectguard.scan import run_scan

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "report.schema.json"
CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"


def test_committed_schema_is_current() -> None:
    assert SCHEMA.read_text() == report_schema(), (
        "docs/report.schema.json is stale: run `connectguard schema > docs/report.schema.json`"
    )


def test_report_round_trips_through_the_model() -> None:
    case = load_case(CASES / "jwt-alg-none-accepted.json")
    with serve_case(case) as served:
        result = run_scan(scan_options(served))
    text = render_json(result)
    report = ReportOut.model_validate_json(text)
    assert report.requirements["5"].verdict == "fail"
    finding = report.requirements["5"].findings[0]
    assert finding.evidence and finding.evidence[0].status == 200
    # No token is ever written whole: every Authorization value is shortened.
    for requirement in json.loads(text)["requirements"].values():
        for item in requirement["findings"]:
            for exchange in item["evidence"]:
                for name, value in exchange["request_headers"]:
                    if name.lower() == "authorization":
                        assert "chars)" in value and len(value) < 60
