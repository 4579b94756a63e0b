"""`scan-repo` on awkward input: binary and huge files, invalid UTF-8, symlink loops, broken
lockfiles, folders that are not git repositories; and the ways users steer it: allowlist file,
inline markers, gitleaks rule files, --staged for pre-commit."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from scanhelpers import atlassian_token, commit_all, git, init_repo, random_text, write
from typer.testing import CliRunner

from connectguard.cli import app

runner = CliRunner()


def scan(path: Path, *args: str, code: int | None = None) -> dict[str, Any]:
    result = runner.invoke(app, ["scan-repo", str(path), "-f", "json", *args])
    if code is not None:
        assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def secret_paths(report: dict[str, Any], level: str = "fail") -> set[str]:
    return {
        f["path"]
        for n in ("7", "8")
        for f in report["requirements"][n]["findings"]
        if f["level"] == level
    }


def shared_secret_json(seed: int) -> str:
    return json.dumps({"sharedSecret": random_text(seed, 43)})


def test_a_folder_that_is_not_a_repository_gets_its_working_tree_scanned(tmp_path: Path) -> None:
    write(tmp_path, "payload.json", shared_secret_json(1))
    write(tmp_path, "node_modules/dep/secret.json", shared_secret_json(2))
    report = scan(tmp_path, "--no-dependencies", code=1)
    assert secret_paths(report) == {"payload.json"}
    notes = " ".join(report["notes"])
    assert "is not a git repository" in notes and "no history" in notes
    assert "node_modules" in notes


def test_bad_files_are_skipped_and_said_so_while_the_rest_is_scanned(tmp_path: Path) -> None:
    write(tmp_path, "image.bin", b"\x00\x01\x02" + atlassian_token(3).encode() + b"\x00")
    write(tmp_path, "huge.json", shared_secret_json(4) + " " * 5000)
    write(
        tmp_path,
        "latin1.js",
        b"// caf\xe9 \xff\xfe\n" + f'const t = "{atlassian_token(5)}";\n'.encode(),
    )
    (tmp_path / "loop").mkdir()
    os.symlink("..", tmp_path / "loop" / "back")
    os.symlink("self", tmp_path / "self")
    os.mkfifo(tmp_path / "pipe")
    started = time.monotonic()
    report = scan(tmp_path, "--no-dependencies", "--max-file-bytes", "4096", code=1)
    assert time.monotonic() - started < 30
    assert secret_paths(report) == {"latin1.js"}
    (finding,) = report["requirements"]["8"]["findings"]
    assert finding["facts"]["line"] == "2"
    notes = " ".join(report["notes"])
    assert "huge.json" in notes and "cap" in notes
    assert "1 binary file(s) skipped" in notes
    assert "symbolic link(s)" in notes
    assert "special file(s)" in notes


def test_a_broken_lockfile_is_a_warning_naming_it_and_the_rest_goes_on(
    tmp_path: Path, osv_data_dir: Path
) -> None:
    write(tmp_path, "package-lock.json", '{"lockfileVersion": 3, "packages": {')
    write(tmp_path, "requirements.txt", "requests==2.19.0\n")
    report = scan(tmp_path, "--data-dir", str(osv_data_dir), code=1)
    findings = report["requirements"]["14"]["findings"]
    (warning,) = [f for f in findings if f["check"] == "lockfile-unreadable"]
    assert warning["level"] == "warning" and warning["path"] == "package-lock.json"
    assert "not valid JSON" in warning["summary"]
    assert any(f["facts"].get("package") == "requests" for f in findings)


def test_missing_osv_data_makes_14_inconclusive_and_exit_3(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "requests==2.31.0\n")
    report = scan(tmp_path, "--data-dir", str(tmp_path / "empty"), code=3)
    requirement = report["requirements"]["14"]
    assert requirement["verdict"] == "inconclusive"
    assert "db update" in requirement["reason"]


def test_clean_dependencies_pass_14(tmp_path: Path, osv_data_dir: Path) -> None:
    write(tmp_path, "requirements.txt", "requests==2.31.0\n")
    report = scan(tmp_path, "--data-dir", str(osv_data_dir), code=0)
    assert report["requirements"]["14"]["verdict"] == "pass"
    assert report["requirements"]["7"]["verdict"] == "pass"


def test_no_lockfile_leaves_14_not_tested(tmp_path: Path) -> None:
    write(tmp_path, "index.js", "console.log('hi');\n")
    report = scan(tmp_path, code=0)
    assert report["requirements"]["14"]["verdict"] == "not_tested"


def test_allowlist_file_suppresses_by_fingerprint_and_path(tmp_path: Path) -> None:
    write(tmp_path, "a.json", shared_secret_json(6))
    write(tmp_path, "vendor-docs/b.json", shared_secret_json(7))
    first = scan(tmp_path, "--no-dependencies", code=1)
    (finding,) = [f for f in first["requirements"]["7"]["findings"] if f["path"] == "a.json"]
    write(
        tmp_path,
        ".connectguard-allowlist",
        f"# reviewed\nfingerprint {finding['fingerprint']}  # rotated already\npath vendor-docs/\n",
    )
    second = scan(tmp_path, "--no-dependencies", code=0)
    assert secret_paths(second) == set()
    assert any("suppressed by the allowlist" in n for n in second["requirements"]["7"]["notes"])


def test_a_bad_allowlist_line_is_an_input_error(tmp_path: Path) -> None:
    write(tmp_path, "allow.txt", "secret abc\n")
    result = runner.invoke(
        app, ["scan-repo", str(tmp_path), "--allowlist", str(tmp_path / "allow.txt")]
    )
    assert result.exit_code == 2
    assert "Line 1" in result.output


GITLEAKS_RULES = """
title = "team rules"

[[rules]]
id = "acme-api-key"
description = "Acme API key"
regex = '''acme_[a-z0-9]{32}'''
keywords = ["acme_"]

[[rules]]
id = "internal-host-key"
description = "key for the internal host"
regex = '''(?i)hostkey\\s*=\\s*"([A-Za-z0-9]{20,})"'''
secretGroup = 1
entropy = 3.0
  [rules.allowlist]
  stopwords = ["sandbox"]

[allowlist]
paths = ['''^docs/''']
"""


def test_gitleaks_rule_files_add_rules(tmp_path: Path) -> None:
    rules = write(tmp_path / "cfg", "rules.toml", GITLEAKS_RULES)
    repo = tmp_path / "repo"
    write(repo, "app.py", f"KEY = 'acme_{random_text(8, 32, 'abcdef0123456789')}'\n")
    write(repo, "docs/example.py", f"KEY = 'acme_{random_text(9, 32, 'abcdef0123456789')}'\n")
    write(
        repo,
        "host.cfg",
        f'hostkey = "{random_text(10, 24, "ABCDEFGHJKLMNPQRSTUVWXYZabcdef123456")}"\n',
    )
    write(repo, "sandbox.cfg", 'hostkey = "SANDBOXsandboxSANDBOXsandbox"\n')
    report = scan(repo, "--no-dependencies", "--rules", str(rules), code=1)
    rules_found = {(f["facts"]["rule"], f["path"]) for f in report["requirements"]["8"]["findings"]}
    assert rules_found == {("acme-api-key", "app.py"), ("internal-host-key", "host.cfg")}


def test_a_rule_re2_cannot_compile_is_one_sentence(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.toml", "[[rules]]\nid = 'x'\nregex = '''(?<=a)b'''\n")
    result = runner.invoke(app, ["scan-repo", str(tmp_path), "--rules", str(rules)])
    assert result.exit_code == 2
    assert "RE2 cannot compile" in result.output
    assert "Traceback" not in result.output


def test_a_hostile_pattern_on_a_hostile_file_stays_linear(tmp_path: Path) -> None:
    rules = write(tmp_path / "cfg", "rules.toml", "[[rules]]\nid = 'redos'\nregex = '''(a+)+$'''\n")
    write(tmp_path / "repo", "evil.txt", "a" * 200_000 + "!\n")
    started = time.monotonic()
    scan(tmp_path / "repo", "--no-dependencies", "--no-builtin-rules", "--rules", str(rules))
    assert time.monotonic() - started < 20


def test_staged_mode_scans_only_what_is_staged(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "old.json", shared_secret_json(11))
    commit_all(repo, "old secret, already committed")
    write(repo, "new.json", shared_secret_json(12))
    write(repo, "unstaged.json", shared_secret_json(13))
    git(repo, "add", "new.json")
    report = scan(repo, "--staged", code=1)
    (finding,) = report["requirements"]["7"]["findings"]
    assert finding["path"] == "new.json"
    assert "staged for commit" in finding["summary"]
    assert report["requirements"]["14"]["verdict"] == "not_tested"


def test_staged_mode_outside_a_repository_is_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan-repo", str(tmp_path), "--staged"])
    assert result.exit_code == 2
    assert "needs a git repository" in result.output


def test_ignored_files_are_not_reported_and_no_history_flag(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, ".gitignore", ".env\n")
    write(repo, ".env", f"SHARED_SECRET={random_text(14, 43)}\n")
    write(repo, "gone.json", shared_secret_json(15))
    commit_all(repo, "one")
    git(repo, "rm", "-q", "gone.json")
    commit_all(repo, "two")
    assert secret_paths(scan(repo, "--no-dependencies", code=1)) == {"gone.json"}
    report = scan(repo, "--no-dependencies", "--no-history", code=0)
    assert secret_paths(report) == set()
    assert any("--no-history" in n for n in report["notes"])


def test_a_path_that_does_not_exist_is_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan-repo", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "is not a folder" in result.output


@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "junit"])
def test_every_format_renders_a_clean_tree(tmp_path: Path, fmt: str) -> None:
    write(tmp_path, "index.js", "module.exports = {};\n")
    result = runner.invoke(app, ["scan-repo", str(tmp_path), "-f", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def damaged_copy(osv_data_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(osv_data_dir, copy)
    return copy


def test_a_damaged_osv_index_makes_14_inconclusive_not_a_traceback(
    tmp_path: Path, osv_data_dir: Path
) -> None:
    data = damaged_copy(osv_data_dir, tmp_path)
    (data / "osv" / "npm" / "index.sqlite").write_bytes(random.Random(1).randbytes(5000))
    repo = tmp_path / "repo"
    write(repo, "package-lock.json", LODASH_LOCK)
    write(repo, "requirements.txt", "requests==2.19.0\n")
    result = runner.invoke(app, ["scan-repo", str(repo), "-f", "json", "--data-dir", str(data)])
    assert result.exit_code == 1, result.output
    requirement = json.loads(result.stdout)["requirements"]["14"]
    assert requirement["verdict"] == "fail"
    assert any(f["facts"].get("package") == "requests" for f in requirement["findings"])
    (repo / "requirements.txt").unlink()
    report = scan(repo, "--data-dir", str(data), code=3)
    requirement = report["requirements"]["14"]
    assert requirement["verdict"] == "inconclusive"
    assert "the OSV data for npm is damaged" in requirement["reason"]
    assert "db update" in requirement["reason"]


def test_advisories_missing_from_the_archive_leave_the_package_undecided(
    tmp_path: Path, osv_data_dir: Path
) -> None:
    data = damaged_copy(osv_data_dir, tmp_path)
    archive = data / "osv" / "npm" / "all.zip"
    with zipfile.ZipFile(archive) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, content in members.items():
            if name == "GHSA-p6mc-m468-83gw.json":
                bundle.writestr(name, b"{bad")
            elif name != "GHSA-35jh-r3h4-6jhm.json":
                bundle.writestr(name, content)
    repo = tmp_path / "repo"
    write(repo, "package-lock.json", LODASH_LOCK)
    report = scan(repo, "--data-dir", str(data), code=3)
    requirement = report["requirements"]["14"]
    assert requirement["verdict"] == "inconclusive"
    assert (
        "lodash 4.17.20" in requirement["reason"] and "could not be read" in requirement["reason"]
    )


LODASH_LOCK = json.dumps(
    {"lockfileVersion": 3, "packages": {"": {}, "node_modules/lodash": {"version": "4.17.20"}}}
)


def test_past_the_sighting_bound_failures_replace_warnings_and_losses_are_inconclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectguard.source.scan.MAX_SIGHTINGS", 3)
    for number in range(4):
        write(tmp_path, f"tests/fixture{number}.txt", atlassian_token(40 + number) + "\n")
    write(tmp_path, "zzz/app.json", shared_secret_json(44))
    report = scan(tmp_path, "--no-dependencies", code=1)
    assert report["requirements"]["7"]["verdict"] == "fail"
    assert secret_paths(report) == {"zzz/app.json"}
    requirement = report["requirements"]["8"]
    assert requirement["verdict"] == "inconclusive"
    assert "beyond the first 3 were not recorded" in requirement["reason"]
    assert any("were not recorded" in note for note in report["notes"])


def test_past_the_sighting_bound_each_requirement_keeps_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectguard.source.scan.MAX_SIGHTINGS", 3)
    for number in range(4):
        write(tmp_path, f"a{number}.txt", atlassian_token(50 + number) + "\n")
    write(tmp_path, "zzz/app.json", shared_secret_json(54))
    report = scan(tmp_path, "--no-dependencies", code=1)
    assert report["requirements"]["7"]["verdict"] == "fail"
    assert report["requirements"]["8"]["verdict"] == "fail"
