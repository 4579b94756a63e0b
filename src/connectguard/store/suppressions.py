"""`connectguard.toml`: the file in an app's repository that tunes its findings history.

    [cvss]                      # check id = CVSS v3 vector, replacing that check's default
    hsts = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N"

    [[suppress]]                # one finding, by fingerprint
    fingerprint = "3f2a9c1d0b7e4a65"
    reason = "Served only to our own monitoring"
    expires = 2025-09-30

    [[suppress]]                # or every finding a pattern matches (globs, all must match)
    requirement = "12"
    path = "/static/*"
    reason = "Static help pages carry no user data"
    expires = 2025-12-31

A suppression applies up to and including its expiry date; after that it stops applying and
the scan says so. Every mistake in the file is reported with the line it is on.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectguard.errors import InputError
from connectguard.store.severity import DEFAULT_VECTORS, parse_vector

CONFIG_FILE = "connectguard.toml"
TOP_LEVEL = ("cvss", "suppress")
PATTERN_KEYS = ("requirement", "check", "origin", "path")
ENTRY_KEYS = ("fingerprint", *PATTERN_KEYS, "reason", "expires")
_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}")


def known_checks() -> frozenset[str]:
    """The check ids [cvss] may name: those with a default vector, and the registry's."""
    from connectguard.checks.registry import CHECKS

    return frozenset(DEFAULT_VECTORS) | {spec.id for spec in CHECKS}


class ConfigError(InputError):
    """connectguard.toml is not valid; the message names the file and the line."""


@dataclass(frozen=True)
class Suppression:
    line: int
    reason: str
    expires: dt.date
    fingerprint: str | None = None
    requirement: str | None = None
    check: str | None = None
    origin: str | None = None
    path: str | None = None

    def describe(self) -> str:
        if self.fingerprint:
            return f"fingerprint {self.fingerprint}"
        parts = [f"{key} {getattr(self, key)}" for key in PATTERN_KEYS if getattr(self, key)]
        return ", ".join(parts)

    def active(self, at: dt.datetime) -> bool:
        return at.astimezone(dt.UTC).date() <= self.expires

    def matches(self, fingerprints: tuple[str, ...], fields: dict[str, str]) -> bool:
        """Whether this entry names the finding, whatever its expiry."""
        if self.fingerprint is not None:
            return self.fingerprint in fingerprints
        for key in PATTERN_KEYS:
            pattern = getattr(self, key)
            if pattern is not None and not fnmatch.fnmatchcase(fields.get(key, ""), pattern):
                return False
        return True


@dataclass(frozen=True)
class StoreConfig:
    """What connectguard.toml says; empty when there is no file."""

    source: str | None = None
    cvss: dict[str, str] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()

    def suppression_for(
        self, fingerprints: tuple[str, ...], fields: dict[str, str], at: dt.datetime
    ) -> Suppression | None:
        """The first entry that names the finding and has not expired at `at`."""
        for entry in self.suppressions:
            if entry.active(at) and entry.matches(fingerprints, fields):
                return entry
        return None

    def expired(self, at: dt.datetime) -> list[Suppression]:
        return [entry for entry in self.suppressions if not entry.active(at)]

    def expiry_notes(self, at: dt.datetime) -> list[str]:
        return [
            f"the suppression at {self.source} line {entry.line} ({entry.describe()}) expired "
            f"on {entry.expires.isoformat()} and no longer applies"
            for entry in self.expired(at)
        ]


def load_config(path: Path | None = None) -> StoreConfig:
    """Read `path`, or ./connectguard.toml when it exists; raise `ConfigError`."""
    if path is None:
        path = Path(CONFIG_FILE)
        if not path.is_file():
            return StoreConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Could not read {path}: {exc}.") from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str = CONFIG_FILE) -> StoreConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, source) from None
    return _Parser(text, source).parse(data)


def _syntax_error(exc: tomllib.TOMLDecodeError, source: str) -> ConfigError:
    message = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)", message)
    problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    if where:
        return ConfigError(
            f"{source} line {where.group(1)}: {problem.lower()} (column {where.group(2)})."
        )
    return ConfigError(f"{source}: {problem.lower()} (at the end of the file).")


def _unknown_check(check: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(check, sorted(known), n=1)
    if close:
        return f"unknown check id {check!r} in [cvss] (did you mean {close[0]!r}?)"
    return f"unknown check id {check!r} in [cvss] (known: {', '.join(sorted(known))})"


class _Parser:
    """Checks the decoded TOML against the file's text, which knows the line numbers."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def fail(self, line: int, problem: str) -> ConfigError:
        return ConfigError(f"{self.source} line {line}: {problem}.")

    def parse(self, data: dict[str, Any]) -> StoreConfig:
        for key in data:
            if key not in TOP_LEVEL:
                raise self.fail(
                    self.key_line(key, 0, len(self.lines), header=True),
                    f"unknown setting {key!r} (known: {', '.join(TOP_LEVEL)})",
                )
        return StoreConfig(
            source=self.source,
            cvss=self.cvss(data.get("cvss", {})),
            suppressions=self.suppressions(data.get("suppress", [])),
        )

    def cvss(self, table: Any) -> dict[str, str]:
        start, end = self.section("cvss")
        if not isinstance(table, dict):
            raise self.fail(start, "cvss must be a table of check id = CVSS vector")
        vectors = {}
        known = known_checks()
        for check, vector in table.items():
            line = self.key_line(check, start, end)
            if check not in known:
                raise self.fail(line, _unknown_check(check, known))
            if not isinstance(vector, str):
                raise self.fail(line, f"the CVSS vector of {check!r} must be a string")
            try:
                vectors[check] = parse_vector(vector).vector
            except ValueError as exc:
                raise self.fail(line, str(exc)) from None
        return vectors

    def suppressions(self, entries: Any) -> tuple[Suppression, ...]:
        headers = self.headers("suppress", array=True)
        if not isinstance(entries, list):
            raise self.fail(self.key_line("suppress", 0, len(self.lines)), "write [[suppress]]")
        result = []
        for index, entry in enumerate(entries):
            start = headers[index] if index < len(headers) else 1
            end = headers[index + 1] - 1 if index + 1 < len(headers) else len(self.lines)
            result.append(self.entry(entry, start, end))
        return tuple(result)

    def entry(self, entry: Any, start: int, end: int) -> Suppression:
        if not isinstance(entry, dict):
            raise self.fail(start, "each [[suppress]] entry must be a table")
        for key in entry:
            if key not in ENTRY_KEYS:
                raise self.fail(
                    self.key_line(key, start, end),
                    f"unknown key {key!r} in a suppression (known: {', '.join(ENTRY_KEYS)})",
                )
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            line = self.key_line("reason", start, end) if "reason" in entry else start
            raise self.fail(line, "the suppression needs a reason (a non-empty string)")
        if "expires" not in entry:
            raise self.fail(start, "the suppression needs an expiry date (expires = YYYY-MM-DD)")
        expires = self.date(entry["expires"], self.key_line("expires", start, end))
        patterns = {key: self.pattern(entry, key, start, end) for key in PATTERN_KEYS}
        fingerprint = self.fingerprint(entry, start, end, patterns)
        return Suppression(start, reason.strip(), expires, fingerprint, **patterns)

    def fingerprint(
        self, entry: dict[str, Any], start: int, end: int, patterns: dict[str, str | None]
    ) -> str | None:
        given = [key for key, value in patterns.items() if value is not None]
        if "fingerprint" not in entry:
            if not given:
                raise self.fail(
                    start,
                    "the suppression names no finding: give a fingerprint, or a pattern of "
                    f"{', '.join(PATTERN_KEYS)}",
                )
            return None
        line = self.key_line("fingerprint", start, end)
        if given:
            raise self.fail(line, f"give a fingerprint or a pattern, not both ({given[0]})")
        value = entry["fingerprint"]
        if not isinstance(value, str) or not _FINGERPRINT.fullmatch(value.strip().lower()):
            raise self.fail(line, f"{value!r} is not a fingerprint (8 to 64 hex digits)")
        return value.strip().lower()

    def pattern(self, entry: dict[str, Any], key: str, start: int, end: int) -> str | None:
        if key not in entry:
            return None
        value = entry[key]
        if key == "requirement" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(self.key_line(key, start, end), f"{key} must be a non-empty string")
        return value.strip()

    def date(self, value: Any, line: int) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(line, f"expires must be a date such as 2025-12-31, not {value!r}")

    # Finding lines: tomllib keeps none, so look for the headers and keys in the text.

    def headers(self, name: str, array: bool) -> list[int]:
        pattern = (
            re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
            if array
            else re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
        )
        return [n for n, line in enumerate(self.lines, start=1) if pattern.match(line)]

    def section(self, name: str) -> tuple[int, int]:
        found = self.headers(name, array=False)
        if not found:
            line = self.key_line(name, 0, len(self.lines))
            return line, line
        start = found[0]
        for n in range(start + 1, len(self.lines) + 1):
            if self.lines[n - 1].lstrip().startswith("["):
                return start, n - 1
        return start, len(self.lines)

    def key_line(self, key: str, start: int, end: int, header: bool = False) -> int:
        quoted = re.escape(key)
        pattern = re.compile(rf"^\s*(?:\"{quoted}\"|'{quoted}'|{quoted})\s*(?:=|\.)")
        table = re.compile(rf"^\s*\[{{1,2}}\s*{quoted}\s*\]")
        for n in range(max(start, 1), min(end, len(self.lines)) + 1):
            text = self.lines[n - 1]
            if pattern.match(text) or (header and table.match(text)):
                return n
        return max(start, 1)
