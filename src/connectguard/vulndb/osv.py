"""The local OSV copy and the questions a source scan asks it: which advisories affect this
package at this version, how severe they are, and which version fixes them.

`connectguard db update` keeps, per ecosystem, OSV's `all.zip` and an SQLite index from package
name to the advisories in the archive (see `update.py`). Versions are compared with univers,
one version class per ecosystem; severity comes from CVSS vectors through the `cvss` package.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from univers.versions import (
    ComposerVersion,
    GolangVersion,
    InvalidVersion,
    MavenVersion,
    PypiVersion,
    RubygemsVersion,
    SemverVersion,
    Version,
)

from connectguard.model import Severity

log = logging.getLogger(__name__)

ECOSYSTEMS = ("npm", "PyPI", "Maven", "Go", "RubyGems", "Packagist")
VERSION_CLASSES: dict[str, type[Version]] = {
    "npm": SemverVersion,
    "PyPI": PypiVersion,
    "Maven": MavenVersion,
    "Go": GolangVersion,
    "RubyGems": RubygemsVersion,
    "Packagist": ComposerVersion,
}
ARCHIVE = "all.zip"
INDEX = "index.sqlite"
META = "meta.json"
_WORDED = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
SEVERITY_ORDER = (Severity.NONE, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


def ecosystem_dir(data_dir: Path, ecosystem: str) -> Path:
    return data_dir / "osv" / ecosystem


def normalize_name(ecosystem: str, name: str) -> str:
    """The form OSV and the index compare names in: PEP 503 for PyPI, lower case for Packagist."""
    if ecosystem == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    if ecosystem == "Packagist":
        return name.lower()
    return name


@dataclass(frozen=True)
class Rating:
    severity: Severity
    score: float | None = None
    vector: str = ""
    source: str = ""


def rate(record: dict[str, Any]) -> Rating:
    """Severity from the record's CVSS vectors (v3 first, then v4, then v2), else from the
    database's own word for it; malicious packages are critical."""
    if str(record.get("id", "")).startswith("MAL-"):
        return Rating(Severity.CRITICAL, None, "", "malicious package")
    vectors: dict[str, str] = {}
    entries = list(record.get("severity") or [])
    for affected in record.get("affected") or []:
        entries.extend(affected.get("severity") or [] if isinstance(affected, dict) else [])
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("score"), str):
            vectors.setdefault(str(entry.get("type")), entry["score"])
    for kind, parse in (("CVSS_V3", _cvss3), ("CVSS_V4", _cvss4), ("CVSS_V2", _cvss2)):
        if kind in vectors:
            score = parse(vectors[kind])
            if score is not None:
                return Rating(Severity.from_score(score), score, vectors[kind], kind)
    return _worded(record)


def _cvss3(vector: str) -> float | None:
    try:
        return float(CVSS3(vector).scores()[0])
    except Exception:  # the cvss package raises several errors of its own
        log.debug("unreadable CVSS v3 vector %r", vector)
        return None


def _cvss4(vector: str) -> float | None:
    try:
        return float(CVSS4(vector).base_score)
    except Exception:
        log.debug("unreadable CVSS v4 vector %r", vector)
        return None


def _cvss2(vector: str) -> float | None:
    try:
        return float(CVSS2(vector).scores()[0])
    except Exception:
        log.debug("unreadable CVSS v2 vector %r", vector)
        return None


def _worded(record: dict[str, Any]) -> Rating:
    candidates = [record.get("database_specific")]
    for affected in record.get("affected") or []:
        if isinstance(affected, dict):
            candidates += [affected.get("database_specific"), affected.get("ecosystem_specific")]
    for candidate in candidates:
        if isinstance(candidate, dict):
            word = str(candidate.get("severity", "")).upper()
            if word in _WORDED:
                return Rating(_WORDED[word], None, "", "advisory database")
    return Rating(Severity.NONE, None, "", "")


@dataclass(frozen=True)
class Advisory:
    """One OSV record that affects a dependency, reduced to what a finding shows."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    rating: Rating
    fixed: str | None


def affected_fix(
    record: dict[str, Any], ecosystem: str, name: str, version: str
) -> tuple[bool, str | None]:
    """Whether `record` affects `name` at `version`, and the first version that fixes it."""
    version_class = VERSION_CLASSES[ecosystem]
    try:
        current = version_class(version)
    except (InvalidVersion, ValueError, TypeError):
        current = None
    wanted = normalize_name(ecosystem, name)
    hit, fixes = False, []
    for affected in record.get("affected") or []:
        package = affected.get("package") or {} if isinstance(affected, dict) else {}
        if str(package.get("ecosystem", "")).split(":", 1)[0] != ecosystem:
            continue
        if normalize_name(ecosystem, str(package.get("name", ""))) != wanted:
            continue
        if version in (affected.get("versions") or []):
            hit = True
        for range_ in affected.get("ranges") or []:
            if current is None or range_.get("type") not in {"ECOSYSTEM", "SEMVER"}:
                continue
            in_range, fix = _in_range(range_.get("events") or [], current, version_class)
            if in_range:
                hit = True
                if fix is not None:
                    fixes.append(fix)
    first_fix = min(fixes, key=lambda f: version_class(f)) if fixes else None
    return hit, first_fix


def _in_range(
    events: list[dict[str, str]], current: Version, version_class: type[Version]
) -> tuple[bool, str | None]:
    """OSV's evaluation: walk the events in version order; `introduced` opens, `fixed` and
    `last_affected` close. Returns whether `current` is inside and the fix that closes it."""
    parsed = []
    for event in events:
        for kind in ("introduced", "fixed", "last_affected"):
            if kind in event:
                value = str(event[kind])
                try:
                    key = None if value == "0" else version_class(value)
                except (InvalidVersion, ValueError, TypeError):
                    log.debug("unreadable version %r in an OSV range", value)
                    return False, None
                parsed.append((kind, value, key))
    parsed.sort(key=lambda item: (item[2] is not None, item[2] or current))
    affected, fix = False, None
    for kind, value, key in parsed:
        if kind == "introduced" and (key is None or current >= key):
            affected, fix = True, None
        elif kind == "fixed" and key is not None:
            if current >= key:
                affected = False
            elif affected and fix is None:
                fix = value
        elif kind == "last_affected" and key is not None and current > key:
            affected = False
    return affected, fix if affected else None


class OsvDataError(Exception):
    """The local OSV copy of an ecosystem cannot be read: its index or archive is damaged."""

    def __init__(self, ecosystem: str, reason: str) -> None:
        super().__init__(f"the OSV data for {ecosystem} is damaged ({reason})")
        self.ecosystem = ecosystem


@dataclass(frozen=True)
class PackageAdvisories:
    """What the local copy says of one package version: the advisories that affect it, and the
    advisories it names that could not be read (missing from the archive, not JSON), about which
    nothing is known."""

    advisories: tuple[Advisory, ...]
    unreadable: tuple[str, ...] = ()


class OsvDatabase:
    """Read access to the local OSV copy of each ecosystem; one instance serves one scan."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._indexes: dict[str, sqlite3.Connection | None] = {}
        self._archives: dict[str, zipfile.ZipFile] = {}
        self._records: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._damaged: dict[str, str] = {}

    def has(self, ecosystem: str) -> bool:
        """Whether there is a readable local copy for `ecosystem`."""
        return self._index(ecosystem) is not None

    def damaged(self, ecosystem: str) -> bool:
        """Whether the local copy of `ecosystem` is there but cannot be read."""
        self._index(ecosystem)
        return ecosystem in self._damaged

    def _index(self, ecosystem: str) -> sqlite3.Connection | None:
        if ecosystem not in self._indexes:
            folder = ecosystem_dir(self.data_dir, ecosystem)
            index, archive = folder / INDEX, folder / ARCHIVE
            connection = None
            if index.is_file() and archive.is_file():
                try:
                    connection = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
                    # connect() reads nothing: a query proves the file is an index.
                    connection.execute("SELECT member FROM advisories LIMIT 1").fetchall()
                    self._archives[ecosystem] = zipfile.ZipFile(archive)
                except (sqlite3.Error, OSError, zipfile.BadZipFile) as exc:
                    log.warning("the OSV data for %s is unreadable: %s", ecosystem, exc)
                    self._damaged[ecosystem] = str(exc)
                    if connection is not None:
                        connection.close()
                    connection = None
            self._indexes[ecosystem] = connection
        return self._indexes[ecosystem]

    def _record(self, ecosystem: str, member: str) -> dict[str, Any] | None:
        key = (ecosystem, member)
        if key not in self._records:
            try:
                record = json.loads(self._archives[ecosystem].read(member))
            except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
                log.warning("skipped OSV record %s of %s: %s", member, ecosystem, exc)
                record = None
            self._records[key] = record if isinstance(record, dict) else None
        return self._records[key]

    def lookup(self, ecosystem: str, name: str, version: str) -> list[Advisory]:
        """Every readable advisory of the local copy that affects `name` at `version`."""
        return list(self.advisories_for(ecosystem, name, version).advisories)

    def advisories_for(self, ecosystem: str, name: str, version: str) -> PackageAdvisories:
        """The advisories that affect `name` at `version`, and those that could not be read;
        raises OsvDataError when the index of `ecosystem` is damaged."""
        index = self._index(ecosystem)
        if index is None:
            if ecosystem in self._damaged:
                raise OsvDataError(ecosystem, self._damaged[ecosystem])
            return PackageAdvisories(())
        try:
            rows = index.execute(
                "SELECT member FROM advisories WHERE name = ?", (normalize_name(ecosystem, name),)
            ).fetchall()
        except sqlite3.Error as exc:
            self._damaged.setdefault(ecosystem, str(exc))
            raise OsvDataError(ecosystem, str(exc)) from None
        found, unreadable = [], []
        for (member,) in rows:
            record = self._record(ecosystem, member)
            if record is None:
                unreadable.append(str(member))
                continue
            if record.get("withdrawn"):
                continue
            try:
                hit, fix = affected_fix(record, ecosystem, name, version)
            except Exception as exc:  # one odd record must not end the scan
                log.warning("could not evaluate OSV record %s: %r", member, exc)
                unreadable.append(str(member))
                continue
            if hit:
                found.append(_advisory(record, fix))
        return PackageAdvisories(tuple(found), tuple(unreadable))

    def close(self) -> None:
        for connection in self._indexes.values():
            if connection is not None:
                connection.close()
        for archive in self._archives.values():
            archive.close()


def _advisory(record: dict[str, Any], fix: str | None) -> Advisory:
    summary = str(record.get("summary") or record.get("details") or "").strip().splitlines()
    return Advisory(
        id=str(record.get("id", "?")),
        aliases=tuple(str(a) for a in record.get("aliases") or []),
        summary=summary[0][:200] if summary else "",
        rating=rate(record),
        fixed=fix,
    )


def index_names(record: dict[str, Any], ecosystem: str) -> Iterable[str]:
    """The normalized package names of `ecosystem` an OSV record names as affected."""
    for affected in record.get("affected") or []:
        package = affected.get("package") if isinstance(affected, dict) else None
        if not isinstance(package, dict) or not package.get("name"):
            continue
        if str(package.get("ecosystem", "")).split(":", 1)[0] == ecosystem:
            yield normalize_name(ecosystem, str(package["name"]))
