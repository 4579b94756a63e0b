"""Python lockfiles: pinned requirements files, poetry.lock, Pipfile.lock and uv.lock.

Requirement lines are read with `packaging` (PEP 508), the TOML locks with `tomllib`.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed, unique

ECOSYSTEM = "PyPI"


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LockfileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _logical_lines(text: str) -> list[str]:
    """Lines with `\\` continuations joined and comments removed."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append((pending + line).strip())
        pending = ""
    if pending.strip():
        lines.append(pending.strip())
    return [line for line in lines if line]


def parse_requirements(data: bytes, file: str) -> Parsed:
    """Lines pinned with `==` or `===`; options, URLs, paths and unpinned lines are skipped."""
    found: list[Dependency] = []
    skipped = 0
    for line in _logical_lines(_text(data)):
        if line.startswith("-"):
            continue
        text = line.split(" --", 1)[0].strip()
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            skipped += 1
            continue
        pins = [s for s in requirement.specifier if s.operator in {"==", "==="}]
        if requirement.url or len(pins) != 1 or "*" in pins[0].version:
            skipped += 1
            continue
        found.append(Dependency(ECOSYSTEM, requirement.name, pins[0].version, file))
    return Parsed(unique(found), skipped, "not pinned to one version")


def _load_toml(data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(data))
    except tomllib.TOMLDecodeError as exc:
        raise LockfileError(f"not valid TOML ({exc})") from None


def _toml_packages(data: bytes, file: str, local_sources: set[str], by_type: bool) -> Parsed:
    """The packages of a TOML lockfile, without those from `local_sources`: named by the
    source's `type` (poetry: `type = "git"`), or by its keys (uv: `source = { git = "..." }`)."""
    packages = _load_toml(data).get("package", [])
    if not isinstance(packages, list):
        raise LockfileError("`package` is not an array of tables")
    found: list[Dependency] = []
    skipped = 0
    for entry in packages:
        source = entry.get("source") if isinstance(entry, dict) else None
        source_kinds: set[str] = set()
        if isinstance(source, dict) and by_type:
            source_kinds.add(str(source.get("type", "")))
        elif isinstance(source, dict):
            source_kinds.update(str(key) for key in source)
        if not isinstance(entry, dict) or source_kinds & local_sources or "version" not in entry:
            skipped += 1
            continue
        found.append(Dependency(ECOSYSTEM, str(entry["name"]), str(entry["version"]), file))
    return Parsed(unique(found), skipped, "local, git or editable packages")


def parse_poetry_lock(data: bytes, file: str) -> Parsed:
    # `legacy` is a package index (a PyPI mirror): its packages are PyPI's, and are checked.
    return _toml_packages(data, file, {"directory", "file", "git", "url"}, by_type=True)


def parse_uv_lock(data: bytes, file: str) -> Parsed:
    local = {"editable", "virtual", "directory", "path", "git", "url"}
    return _toml_packages(data, file, local, by_type=False)


def parse_pipfile_lock(data: bytes, file: str) -> Parsed:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LockfileError(f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise LockfileError("the top level is not a JSON object")
    found: list[Dependency] = []
    skipped = 0
    for section in ("default", "develop"):
        entries = document.get(section) or {}
        for name, entry in entries.items() if isinstance(entries, dict) else []:
            version = entry.get("version", "") if isinstance(entry, dict) else ""
            if not isinstance(version, str) or not version.startswith("=="):
                skipped += 1
                continue
            found.append(Dependency(ECOSYSTEM, str(name), version.lstrip("="), file))
    return Parsed(unique(found), skipped, "not pinned to one version")
