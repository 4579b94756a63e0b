"""The pre-commit hook definitions run as pre-commit runs them: entry, then args, in the
repository's top folder."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from scanhelpers import commit_all, git, init_repo, random_text, write
from typer.testing import CliRunner

from connectguard.cli import app

HOOKS = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"
runner = CliRunner()


def hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


def run_hook(hook: dict[str, Any], repo: Path) -> int:
    command = shlex.split(hook["entry"]) + list(hook.get("args", []))
    assert command[0] == "connectguard"
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        return runner.invoke(app, command[1:]).exit_code
    finally:
        os.chdir(cwd)


def test_hook_definitions_are_well_formed() -> None:
    for hook in hooks().values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["pass_filenames"] is False


def test_secrets_hook_blocks_a_staged_secret_and_passes_a_clean_change(tmp_path: Path) -> None:
    hook = hooks()["connectguard-secrets"]
    repo = init_repo(tmp_path / "repo")
    write(repo, "index.js", "module.exports = {};\n")
    commit_all(repo, "start")
    write(repo, "clean.js", "const x = process.env.SHARED_SECRET;\n")
    git(repo, "add", "clean.js")
    assert run_hook(hook, repo) == 0
    write(repo, "payload.json", json.dumps({"sharedSecret": random_text(21, 43)}))
    git(repo, "add", "payload.json")
    assert run_hook(hook, repo) == 1


@pytest.mark.parametrize("hook_id", ["connectguard-scan-repo"])
def test_scan_hook_runs_on_a_clean_tree(tmp_path: Path, hook_id: str) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "index.js", "module.exports = {};\n")
    commit_all(repo, "start")
    assert run_hook(hooks()[hook_id], repo) == 0
