"""SARIF and JUnit renderers on a live-scan `ScanResult` built from literals: both formats take
any ScanResult, not only a source scan's."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import jsonschema
from scanhelpers import random_text, write
from typer.testing import CliRunner

from connectguard.cli import app
from connectguard.model import Exchange, Finding, Judgement, Level, ScanResult, Severity
from connectguard.report.junit import render_junit
from connectguard.report.sarif import MAX_RESULTS, build_sarif, render_sarif
from connectguard.verdicts import combine

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def live_result(findings: list[Finding], notes: tuple[str, ...] = ()) -> ScanResult:
    judgements = [Judgement("12", tuple(findings), judged=1), Judgement("1", judged=3)]
    return ScanResult(
        target="https://app.example.com/atlassian-connect.json",
        started_at="2024-03-01T10:00:00+00:00",
        finished_at="2024-03-01T10:00:05+00:00",
        app_key="app",
        app_name="App",
        base_url="https://app.example.com",
        requirements=combine(judgements, {"2": "no page answered 2xx"}),
        exchanges=12,
        notes=notes,
    )


def referrer_finding(path: str, level: Level = Level.FAIL) -> Finding:
    return Finding(
        requirement="12",
        check="referrer-policy",
        level=level,
        summary=f"{path} sends no Referrer-Policy \x07",
        fix="Send Referrer-Policy: strict-origin-when-cross-origin.",
        severity=Severity.MEDIUM,
        origin="https://app.example.com",
        path=path,
        method="GET",
        evidence=(Exchange("GET", f"https://app.example.com{path}", status=200),),
    )


def test_a_live_scan_renders_valid_sarif_with_urls() -> None:
    result = live_result(
        [referrer_finding("/page"), referrer_finding("/other", Level.INFO)], ("one note",)
    )
    sarif = build_sarif(result)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    (item,) = sarif["runs"][0]["results"]
    location = item["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "https://app.example.com/page"}
    assert item["level"] == "error" and item["ruleId"] == "CG12/referrer-policy"
    assert "originalUriBaseIds" not in sarif["runs"][0]
    assert json.loads(render_sarif(result)) == sarif


def test_sarif_stays_within_the_result_limit() -> None:
    many = [referrer_finding(f"/p{n}") for n in range(MAX_RESULTS + 5)]
    sarif = build_sarif(live_result(many))
    run = sarif["runs"][0]
    assert len(run["results"]) == MAX_RESULTS
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("5 result(s) left out" in n["message"]["text"] for n in notes)


def test_junit_of_a_live_scan() -> None:
    root = ET.fromstring(render_junit(live_result([referrer_finding("/page")])))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "1" and suite.get("skipped") == "13"
    (failed,) = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert failed.get("name", "").startswith("12.")
    failure = failed.find("failure")
    assert failure is not None and "/page" in (failure.text or "")
    assert "\x07" not in (failure.text or "")
    skipped = [c.find("skipped") for c in suite.findall("testcase")]
    assert any(s is not None and "no page answered 2xx" in s.get("message", "") for s in skipped)


def test_source_paths_are_percent_encoded_uri_references(tmp_path: Path) -> None:
    names = ["my secret file.json", "café/ключ.json", "line\nbreak.json", "100%#1.json"]
    for seed, name in enumerate(names):
        write(tmp_path, name, json.dumps({"sharedSecret": random_text(60 + seed, 43)}))
    result = CliRunner().invoke(
        app, ["scan-repo", str(tmp_path), "--no-dependencies", "-f", "sarif"]
    )
    sarif = json.loads(result.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    uris = {
        item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for item in sarif["runs"][0]["results"]
    }
    assert uris == {
        "my%20secret%20file.json",
        "caf%C3%A9/%D0%BA%D0%BB%D1%8E%D1%87.json",
        "line%0Abreak.json",
        "100%25%231.json",
    }
    assert {unquote(uri) for uri in uris} == set(names)
