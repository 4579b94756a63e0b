"""The command line as a user runs it: exit codes, one-sentence errors, JSON output."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectguard.cli import app
from connectguard.fixture import ServedCase, serve_case

runner = CliRunner()

PAGE_ROUTE = {"path": "/page", "auth": "jwt", "ok": {"status": 200, "body": "hi"}}
HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>"


def _case(routes: list[dict[str, Any]], descriptor: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "cli-case",
        "title": "an app for command-line tests",
        "app": {
            "descriptor": descriptor
            or {
                "key": "cli-app",
                "name": "CLI App",
                "baseUrl": "{base}",
                "modules": {"generalPages": [{"key": "p", "url": "/page"}]},
            },
            "default_headers": {
                "Strict-Transport-Security": ["max-age=31536000"],
                "Cache-Control": ["no-cache, no-store"],
                "Referrer-Policy": ["no-referrer"],
            },
            "routes": [
                {"path": "/page", "auth": "jwt", "ok": {"status": 200, "body": "hi"}},
                *routes,
            ],
        },
        "install": {"clientKey": "cli-client", "sharedSecret": "s" * 40, "admins": []},
        "expect": {},
    }


@pytest.fixture(scope="module")
def served() -> Iterator[ServedCase]:
    routes = [
        {"path": "/html.json", "ok": {"status": 200, "body": HTML_PAGE}},
        {"path": "/list.json", "ok": {"status": 200, "json": [1, 2]}},
        {"path": "/nokey.json", "ok": {"status": 200, "json": {"name": "x", "baseUrl": "{base}"}}},
        {
            "path": "/ftp.json",
            "ok": {"status": 200, "json": {"key": "k", "name": "n", "baseUrl": "ftp://x.test"}},
        },
        {"path": "/missing.json", "ok": {"status": 404}},
        {"path": "/big.json", "ok": {"status": 200, "json": {"key": "k" * 5000, "name": "n"}}},
    ]
    with serve_case(_case(routes)) as served:
        yield served


def _scan(served: ServedCase, path: str, *args: str) -> Any:
    return runner.invoke(app, ["scan", served.base + path, "--ca-file", served.ca_file, *args])


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/html.json", "is an HTML page, not JSON"),
        ("/list.json", "is an array in JSON, not an object"),
        ("/nokey.json", '"key"'),
        ("/ftp.json", "baseUrl"),
        ("/missing.json", "answered 404"),
    ],
)
def test_bad_descriptor_is_one_sentence_and_exit_2(
    served: ServedCase, path: str, message: str
) -> None:
    result = _scan(served, path)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_descriptor_over_the_size_cap(served: ServedCase) -> None:
    result = _scan(served, "/big.json", "--max-descriptor-bytes", "1000")
    assert result.exit_code == 2
    assert "larger than the 1000 byte limit" in result.output


def test_unreachable_host_is_exit_2() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(app, ["scan", f"https://127.0.0.1:{port}/atlassian-connect.json"])
    assert result.exit_code == 2
    assert "Could not fetch the descriptor" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "not a url"], "is not an http(s) URL"),
        (["scan", "https://x.test/a.json", "--nameserver", "nope"], "Bad --nameserver"),
        (["scan", "https://x.test/a.json", "--shared-secret", "short"], "both a clientKey"),
        (
            ["scan", "https://x.test/a.json", "--client-key", "k", "--shared-secret", "short"],
            "at least 16 characters",
        ),
        (["scan", "https://x.test/a.json", "--format", "xml"], "Unknown format"),
        (["scan", "https://x.test/a.json", "--ca-file", "/nonexistent.pem"], "does not exist"),
        (["scan", "https://x.test/a.json", "--timeout", "0"], "positive number"),
        (["scan", "https://x.test/a.json", "-o", "/nonexistent/x.json"], "does not exist"),
        (["scan", "https://x.test/a.json", "--rdap-url", "notaurl"], "--rdap-url 'notaurl'"),
        (["scan", "https://x.test/a.json", "--rdap", "--rdap-url", "ftp://r"], "--rdap-url"),
        (["scan", "https://x.test/a.json", "--proxy", "notaurl"], "--proxy must be an http"),
        (["scan", "https://x.test/a.json", "--proxy", "http://"], "--proxy must be an http"),
        (["scan", "http://[::1/a.json"], "is not an http(s) URL"),
        (["scan", "https://x.test/a.json", "--config", "/nonexistent.toml"], "Could not read"),
        (["demo", "-f", "yaml"], "Unknown format 'yaml'"),
        (["scan-repo", ".", "-o", "/nonexistent/x.json"], "does not exist"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the sentence, and maybe a hint
    assert "Traceback" not in result.output
    assert "Could not fetch" not in result.output  # refused before any request


@pytest.mark.parametrize("command", ["scan", "scan-repo"])
def test_an_output_folder_is_refused_before_the_scan(command: str, tmp_path: Path) -> None:
    target = "https://x.test/a.json" if command == "scan" else str(tmp_path)
    result = runner.invoke(app, [command, target, "-o", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"The output path {tmp_path} is a folder" in result.stderr


def test_a_write_that_fails_after_the_scan_is_one_sentence(served: ServedCase) -> None:
    result = _scan(served, "/atlassian-connect.json", "-o", "/dev/full")
    assert result.exit_code == 2, result.output
    assert "Could not write /dev/full: No space left on device." in result.stderr
    assert "Traceback" not in result.output


def test_a_proxy_password_is_not_echoed() -> None:
    result = runner.invoke(app, ["scan", "https://x.test/a.json", "--proxy", "ftp://u:S3cret@p"])
    assert result.exit_code == 2
    assert "--proxy" in result.stderr and "S3cret" not in result.output


@pytest.mark.parametrize("content", ["not a certificate\n", ""])
def test_a_ca_file_without_pem_certificates_is_refused(tmp_path: Path, content: str) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(content)
    result = runner.invoke(app, ["scan", "https://x.test/a.json", "--ca-file", str(ca_file)])
    assert result.exit_code == 2, result.output
    assert f"The CA file {ca_file} holds no PEM certificates." in result.stderr


def test_the_served_ca_file_is_accepted(served: ServedCase) -> None:
    result = _scan(served, "/atlassian-connect.json", "-q")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[cvss]\nhsts = 'CVSS:3.1/AV:N'\n", "connectguard.toml line 2: 'CVSS:3.1/AV:N'"),
        ("[[suppress]]\nreason = 'r'\nexpires = 2025-01-01\n", "line 1: the suppression"),
        ("[cvss]\nhstss = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N'\n", "line 2: unknown"),
    ],
)
def test_config_mistakes_are_reported_without_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "connectguard.toml").write_text(text)
    implicit = runner.invoke(app, ["scan", "https://x.test/a.json"])
    assert implicit.exit_code == 2, implicit.output
    assert message in implicit.stderr
    given = runner.invoke(
        app, ["scan", "https://x.test/a.json", "--config", str(tmp_path / "connectguard.toml")]
    )
    assert given.exit_code == 2, given.output
    assert "line" in given.stderr


def test_config_without_store_says_it_is_not_applied(served: ServedCase, tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text("[cvss]\nhsts = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N'\n")
    result = _scan(served, "/atlassian-connect.json", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert f"CVSS overrides of {config} apply only to recorded scans" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_secret_is_never_echoed(served: ServedCase) -> None:
    secret = "z" * 15
    result = runner.invoke(
        app, ["scan", served.target, "--client-key", "k", "--shared-secret", secret]
    )
    assert result.exit_code == 2
    assert secret not in result.output


def test_json_report_and_exit_code(served: ServedCase, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = _scan(served, "/atlassian-connect.json", "--format", "json", "-o", str(out))
    report = json.loads(out.read_text())
    assert json.loads(result.stdout) == report  # -o also writes it: stdout still has it
    assert set(report["requirements"]) == {str(n) for n in range(1, 16)}
    verdicts = {n: r["verdict"] for n, r in report["requirements"].items()}
    assert verdicts["5"] == "pass" and verdicts["9"] == "not_tested"
    assert report["exit_code"] == result.exit_code == 0


def test_credentials_file_and_no_secret_in_report(served: ServedCase, tmp_path: Path) -> None:
    creds = tmp_path / "install.json"
    creds.write_text(json.dumps({"clientKey": "cli-client", "sharedSecret": "s" * 40}))
    result = _scan(
        served, "/atlassian-connect.json", "--credentials-file", str(creds), "-f", "json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["requirements"]["13"]["verdict"] == "pass"
    assert "s" * 40 not in result.stdout


def test_console_script_version_and_help() -> None:
    exe = [sys.executable, "-m", "connectguard"]
    version = subprocess.run([*exe, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("connectguard ")
    for command in (["scan"], ["demo"], ["schema"]):
        help_text = subprocess.run([*exe, *command, "--help"], capture_output=True, text=True)
        assert help_text.returncode == 0 and "Usage" in help_text.stdout


def test_demo_finds_its_deliberate_faults() -> None:
    result = runner.invoke(app, ["demo", "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    verdicts = {n: r["verdict"] for n, r in report["requirements"].items()}
    for requirement in ("1", "2", "5", "11", "12", "13"):
        assert verdicts[requirement] == "fail", (requirement, verdicts)
    assert verdicts["9"] == "pass"
    # Its lifecycle hooks are both fail-open, so the tenant the forged install registered is
    # removed again at the end, and the report says so.
    assert any("was removed again" in note for note in report["notes"]), report["notes"]


def test_an_error_quoting_markup_is_printed_as_text() -> None:
    result = runner.invoke(app, ["scan", "http://127.0.0.1:9/x[/]y[bold].json", "--timeout", "2"])
    assert result.exit_code == 2, result.output
    assert "x[/]y[bold].json" in result.output and "Traceback" not in result.output
