"""`scan-repo` on git histories that try to hide something: attributes that mark files binary,
SQLite stores, merges and stashes that add secrets, histories git cannot read or refuses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from scanhelpers import atlassian_token, commit_all, git, init_repo, random_text, write
from test_scan_repo_inputs import runner, scan, secret_paths

from connectguard.cli import app


def shared_secret_json(seed: int) -> str:
    return json.dumps({"sharedSecret": random_text(seed, 43)})


def github_token(seed: int) -> str:
    return "ghp_" + random_text(seed, 36, "abcdefghijkLMNOP0123456789")


def findings(report: dict[str, Any], requirement: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = report["requirements"][requirement]["findings"]
    return found


# Attributes and binary files


def test_gitattributes_that_mark_files_binary_do_not_hide_history(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, ".gitattributes", "* -diff\n*.env binary\n")
    write(repo, "s.js", f"module.exports = {shared_secret_json(1)};\n")
    write(repo, "prod.env", f"GH={github_token(2)}\n")
    commit_all(repo, "add")
    git(repo, "rm", "-q", "s.js", "prod.env")
    commit_all(repo, "remove")
    report = scan(repo, "--no-dependencies", code=1)
    assert secret_paths(report) == {"s.js", "prod.env"}


def test_staged_files_marked_binary_by_gitattributes_are_scanned(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, ".gitattributes", "*.env -diff\n")
    commit_all(repo, "attributes")
    write(repo, "b.env", f"CONNECT_SHARED_SECRET={random_text(3, 43)}\n")
    git(repo, "add", "b.env")
    report = scan(repo, "--staged", code=1)
    (finding,) = findings(report, "7")
    assert finding["path"] == "b.env" and "staged for commit" in finding["summary"]


def sqlite_store(path: Path, secret: str | None) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS AddonSettings (clientKey TEXT, val TEXT)")
        if secret is not None:
            value = json.dumps({"clientKey": "jira:1", "sharedSecret": secret})
            db.execute("INSERT INTO AddonSettings VALUES ('jira:1', ?)", (value,))
    db.close()


def test_sqlite_stores_in_history_are_scanned_and_real_binaries_skipped(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    sqlite_store(repo / "store.db", random_text(4, 44))
    (repo / "data").mkdir()
    sqlite_store(repo / "data" / "later.sqlite3", None)
    write(repo, "image.bin", b"\x89PNG\x00\x01" + atlassian_token(5).encode() + b"\x00\n")
    commit_all(repo, "store, image")
    sqlite_store(repo / "data" / "later.sqlite3", random_text(6, 44))
    commit_all(repo, "a second install")
    git(repo, "rm", "-q", "-r", "store.db", "data", "image.bin")
    commit_all(repo, "remove")
    report = scan(repo, "--no-dependencies", code=1)
    assert secret_paths(report) == {"store.db", "data/later.sqlite3"}
    assert "1 binary file version(s) in history skipped" in report["notes"]


# Merges and stashes


def test_a_secret_added_by_a_merge_is_found_and_a_merged_one_is_read_once(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "a.txt", "a\n")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, "feature.txt", f"tok {atlassian_token(7)}\n")
    feature = commit_all(repo, "feature")
    git(repo, "checkout", "-q", "main")
    write(repo, "b.txt", "b\n")
    commit_all(repo, "main moves on")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "feature")
    write(repo, "a.txt", f"a\nGH={github_token(8)}\n")
    write(repo, "evil.json", shared_secret_json(9))
    merge = commit_all(repo, "merge feature")
    git(repo, "rm", "-q", "evil.json", "feature.txt")
    write(repo, "a.txt", "a\n")
    commit_all(repo, "clean up")
    report = scan(repo, "--no-dependencies", code=1)
    commits = {f["path"]: f["facts"] for f in findings(report, "7") + findings(report, "8")}
    assert set(commits) == {"a.txt", "evil.json", "feature.txt"}
    assert commits["evil.json"]["commit"] == merge
    assert commits["a.txt"]["commit"] == merge and commits["a.txt"]["line"] == "2"
    assert commits["feature.txt"]["commit"] == feature
    assert "commits adding it" not in commits["feature.txt"]


def test_secrets_in_every_stash_are_found(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "README.md", "hello\n")
    commit_all(repo, "base")
    slack = "xoxb-" + random_text(10, 40, "abcdefghijklmnop0123456789")
    write(repo, "README.md", f"hello\nslack {slack}\n")
    git(repo, "stash", "-q")
    write(repo, "staged.json", shared_secret_json(11))
    git(repo, "add", "staged.json")
    write(repo, "untracked.env", f"GH={github_token(12)}\n")
    git(repo, "stash", "-q", "--include-untracked")
    assert len(git(repo, "stash", "list").splitlines()) == 2
    report = scan(repo, "--no-dependencies", code=1)
    assert secret_paths(report) == {"README.md", "staged.json", "untracked.env"}


# Histories that cannot be read


def test_a_history_with_a_missing_object_leaves_7_and_8_inconclusive(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "a.txt", "a\n")
    commit_all(repo, "one")
    write(repo, "a.txt", "a\nsecond version\n")
    commit_all(repo, "two")
    blob = git(repo, "rev-parse", "HEAD~1:a.txt")
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    report = scan(repo, "--no-dependencies", code=3)
    for number in ("7", "8"):
        requirement = report["requirements"][number]
        assert requirement["verdict"] == "inconclusive"
        assert "git history could not be read" in requirement["reason"]


def test_a_repository_git_refuses_says_how_to_proceed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "a.txt", "a\n")
    commit_all(repo, "one")
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    report = scan(repo, "--no-dependencies", code=3)
    reason = report["requirements"]["7"]["reason"]
    assert report["requirements"]["8"]["verdict"] == "inconclusive"
    assert "git config --global --add safe.directory" in reason and "--no-history" in reason
    quiet = scan(repo, "--no-dependencies", "--no-history", code=0)
    assert quiet["requirements"]["7"]["verdict"] == "pass"
    result = runner.invoke(app, ["scan-repo", str(repo), "--staged"])
    assert result.exit_code == 2 and "safe.directory" in result.output
