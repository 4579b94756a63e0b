"""`connectguard scan` end to end on the transport requirements: TLS 1.0, a dangling CNAME, and
a bad takeover table, as a user runs the command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from connectguard.cli import app
from connectguard.fixture import ServedCase, load_case, serve_case

CASES = Path(__file__).resolve().parents[1] / "cases"
runner = CliRunner()


def scan(served: ServedCase, *extra: str) -> tuple[int, dict[str, object]]:
    args = ["scan", served.target, "--ca-file", served.ca_file, "-f", "json", *extra]
    if served.nameserver is not None:
        args += ["--nameserver", f"{served.nameserver[0]}:{served.nameserver[1]}"]
    result = runner.invoke(app, args)
    report = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    return result.exit_code, report


def test_tls10_origin_fails_requirement_1_naming_the_protocol() -> None:
    with serve_case(load_case(CASES / "tls-legacy-tls10-app-origin.json")) as served:
        code, report = scan(served)
    assert code == 1
    requirement = report["requirements"]["1"]  # type: ignore[index]
    assert requirement["verdict"] == "fail"
    failing = [f for f in requirement["findings"] if f["level"] == "fail"]
    assert [f["check"] for f in failing] == ["tls-protocols"]
    assert "TLS 1.0" in failing[0]["summary"]
    assert "TLS 1.0" in failing[0]["facts"]
    assert report["requirements"]["3"]["verdict"] == "pass"  # type: ignore[index]


def test_dangling_cname_through_the_command() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "cases"
    with serve_case(load_case(shared / "dangling-cname-module-host.json")) as served:
        code, report = scan(served)
    assert code == 1
    requirement = report["requirements"]["4"]  # type: ignore[index]
    assert requirement["verdict"] == "fail"
    assert requirement["findings"][0]["check"] == "dangling-cname"


def test_bad_takeover_table_is_an_input_error(tmp_path: Path) -> None:
    table = tmp_path / "table.json"
    table.write_text('{"providers": [{"name": "X"}]}')
    result = runner.invoke(
        app,
        ["scan", "https://app.example.test/atlassian-connect.json", "--takeover-table", str(table)],
    )
    assert result.exit_code == 2
    assert "takeover table" in result.stderr and "Traceback" not in result.output
