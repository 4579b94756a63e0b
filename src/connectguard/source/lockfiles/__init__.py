"""Lockfiles and manifests of every ecosystem a source scan reads, chosen by file name.

`parser_for(path)` says whether a file is one; `parse(path, data)` returns what it pins or raises
`LockfileError` with the reason, which the scan reports as a warning naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed
from connectguard.source.lockfiles.go import parse_go_mod, parse_go_sum
from connectguard.source.lockfiles.jvm import parse_gradle_lockfile, parse_pom
from connectguard.source.lockfiles.npm import parse_package_lock, parse_pnpm_lock, parse_yarn_lock
from connectguard.source.lockfiles.php import parse_composer_lock
from connectguard.source.lockfiles.python import (
    parse_pipfile_lock,
    parse_poetry_lock,
    parse_requirements,
    parse_uv_lock,
)
from connectguard.source.lockfiles.ruby import parse_gemfile_lock

__all__ = ["Dependency", "LockfileError", "Parsed", "parse", "parser_for"]

Parser = Callable[[bytes, str], Parsed]

BY_NAME: dict[str, Parser] = {
    "package-lock.json": parse_package_lock,
    "npm-shrinkwrap.json": parse_package_lock,
    "yarn.lock": parse_yarn_lock,
    "pnpm-lock.yaml": parse_pnpm_lock,
    "poetry.lock": parse_poetry_lock,
    "Pipfile.lock": parse_pipfile_lock,
    "uv.lock": parse_uv_lock,
    "pom.xml": parse_pom,
    "gradle.lockfile": parse_gradle_lockfile,
    "buildscript-gradle.lockfile": parse_gradle_lockfile,
    "go.mod": parse_go_mod,
    "go.sum": parse_go_sum,
    "Gemfile.lock": parse_gemfile_lock,
    "gems.locked": parse_gemfile_lock,
    "composer.lock": parse_composer_lock,
}
_REQUIREMENTS = re.compile(r"^(?:.*[-_])?requirements(?:[-_.].*)?\.txt$|^constraints\.txt$")
_VENDORED = {"node_modules", "vendor", "bower_components"}


def parser_for(path: str) -> Parser | None:
    """The parser for a lockfile or manifest at `path`, None for other files."""
    parts = PurePosixPath(path).parts
    if not parts or _VENDORED & set(parts[:-1]):
        return None
    name = parts[-1]
    if name in BY_NAME:
        return BY_NAME[name]
    if name.endswith(".lockfile") and "dependency-locks" in parts:
        return parse_gradle_lockfile
    if _REQUIREMENTS.match(name) or (name.endswith(".txt") and "requirements" in parts[:-1]):
        return parse_requirements
    return None


def parse(path: str, data: bytes) -> Parsed:
    parser = parser_for(path)
    if parser is None:
        raise LockfileError("not a lockfile or manifest connectguard reads")
    return parser(data, path)


def go_sum_needed(path: str, all_paths: set[str]) -> bool:
    """go.sum is read only where no go.mod beside it gives the selected versions."""
    return str(PurePosixPath(path).with_name("go.mod")) not in all_paths
