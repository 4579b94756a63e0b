"""The limits' command-line options: each reaches `Limits`, and a bad value is one sentence
with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectguard.cli import app
from connectguard.settings import Limits

runner = CliRunner()
TARGET = "https://app.test/atlassian-connect.json"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--connect-timeout", "0", "--connect-timeout must be a positive number"),
        ("--read-timeout", "-1", "--read-timeout must be a positive number"),
        ("--max-header-bytes", "0", "--max-header-bytes must be at least 1"),
        ("--max-headers", "0", "--max-headers must be at least 1"),
        ("--max-origins", "0", "--max-origins must be at least 1"),
        ("--max-scan-body-bytes", "0", "--max-scan-body-bytes must be at least 1"),
        ("--max-redirects", "-1", "--max-redirects must be 0 or more"),
    ],
)
def test_a_bad_limit_is_one_sentence(option: str, value: str, message: str) -> None:
    result = runner.invoke(app, ["scan", TARGET, option, value])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_every_limit_has_a_documented_default() -> None:
    root = Path(__file__).resolve().parents[2]
    table = (root / "docs" / "hostile.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for name in Limits.__dataclass_fields__:
        assert f"`{name}`" in table, name
    for option in ["--connect-timeout", "--read-timeout", "--max-origins", "--max-headers"]:
        assert option in readme
