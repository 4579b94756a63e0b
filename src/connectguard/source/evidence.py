"""What a source scan gathered, as data: secrets seen (where and when), code that handles
Atlassian credentials, dependencies with the advisories that affect them, and what could not
be read. `judge.py` turns it into findings without any I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectguard.model import Level
from connectguard.source.lockfiles.base import Dependency
from connectguard.vulndb.osv import Advisory


@dataclass(frozen=True)
class SecretSighting:
    """One secret at one place: the working tree (`commit` empty) or a commit's additions."""

    rule: str
    requirement: str
    description: str
    level: Level
    fix: str
    secret_hash: str
    masked: str
    path: str
    line: int
    commit: str = ""
    date: str = ""
    in_fixture: bool = False


@dataclass(frozen=True)
class CredentialSighting:
    check: str
    level: Level
    path: str
    line: int
    summary: str
    fix: str


@dataclass(frozen=True)
class DependencyCheck:
    """A dependency and the advisories of the local OSV copy that affect it; `unreadable`
    names the advisories the copy lists for it but could not be read."""

    dependency: Dependency
    advisories: tuple[Advisory, ...]
    line: int = 0
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceEvidence:
    root: str
    files_scanned: int = 0
    commits_scanned: int = 0
    history_scanned: bool = False
    staged_only: bool = False
    secrets: tuple[SecretSighting, ...] = ()
    code_files: int = 0
    credentials: tuple[CredentialSighting, ...] = ()
    dependency_files: tuple[str, ...] = ()
    dependencies: tuple[DependencyCheck, ...] = ()
    broken_lockfiles: tuple[tuple[str, str], ...] = ()
    ecosystems_without_data: tuple[str, ...] = ()
    ecosystems_damaged: tuple[str, ...] = ()
    dependencies_checked: bool = True
    secrets_checked: bool = True
    secrets_undecided: tuple[str, ...] = ()
    credentials_checked: bool = True
    fixture_candidates_ignored: int = 0
    suppressed: frozenset[str] = field(default_factory=frozenset)
    notes: tuple[str, ...] = ()
