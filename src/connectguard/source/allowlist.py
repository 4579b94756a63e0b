"""The allowlist file of `scan-repo`: findings and files a team has reviewed and accepted.

By default `.connectguard-allowlist` at the top of the scanned tree; `--allowlist FILE` names
another. One entry a line, `#` starts a comment:

    fingerprint 3f2a9c0d1e2b4a5f   # a finding's fingerprint, as every report shows it
    path tests/fixtures/**         # files never scanned (gitignore-style pattern)
    commit 0123456789abcdef...     # a commit whose additions are not scanned for secrets
    rule generic-secret            # a secret rule turned off
    regex ^sk_test_                # secret values (RE2 syntax) that are not reported

Secrets are never written into the file: a fingerprint names a finding without its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec
import re2

from connectguard.errors import InputError
from connectguard.source.rules import Allow, compile_pattern

DEFAULT_NAME = ".connectguard-allowlist"
KINDS = ("fingerprint", "path", "commit", "rule", "regex")


@dataclass(frozen=True)
class Allowlist:
    fingerprints: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()
    commits: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    regexes: tuple[Any, ...] = ()
    source: str = ""
    _spec: Any = field(default=None, compare=False, repr=False)

    def skips_path(self, path: str) -> bool:
        return self._spec is not None and bool(self._spec.match_file(path))

    def skips_commit(self, commit: str) -> bool:
        return any(commit.startswith(prefix) for prefix in self.commits) if commit else False

    def as_rule_allow(self) -> Allow:
        """The part of the allowlist the secret detector applies to every rule."""
        return Allow(regexes=self.regexes)


def load_allowlist(path: Path | None, root: Path) -> Allowlist:
    """The allowlist at `path`, or the default file in `root` when there is one, or none."""
    explicit = path is not None
    path = path if path is not None else root / DEFAULT_NAME
    if not path.is_file():
        if explicit:
            raise InputError(f"The allowlist file {path} does not exist.")
        return Allowlist()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Could not read the allowlist file {path}: {exc}.") from None
    return parse_allowlist(text, str(path))


def parse_allowlist(text: str, source: str = "allowlist") -> Allowlist:
    entries: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition(" ")
        value = value.strip()
        if kind not in entries or not value:
            raise InputError(
                f"Line {number} of {source} is not understood: {raw.strip()!r}.",
                hint="Each line is one of: " + ", ".join(f"{k} VALUE" for k in KINDS) + ".",
            )
        entries[kind].append(value)
    regexes = []
    for pattern in entries["regex"]:
        try:
            regexes.append(compile_pattern(pattern))
        except re2.error as exc:
            raise InputError(f"The regex {pattern!r} in {source} is invalid: {exc}.") from None
    spec = pathspec.GitIgnoreSpec.from_lines(entries["path"]) if entries["path"] else None
    return Allowlist(
        fingerprints=frozenset(entries["fingerprint"]),
        paths=tuple(entries["path"]),
        commits=frozenset(entries["commit"]),
        rules=frozenset(entries["rule"]),
        regexes=tuple(regexes),
        source=source,
        _spec=spec,
    )
