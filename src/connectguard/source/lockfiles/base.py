"""What every lockfile parser returns: the dependencies a file pins, in OSV's ecosystem names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dependency:
    """One package at one version, as a lockfile or manifest of the app pins it.

    `ecosystem` uses OSV's names (npm, PyPI, Maven, Go, RubyGems, Packagist); `name` is the
    package name as that ecosystem writes it (Maven: `group:artifact`, Go: the module path).
    """

    ecosystem: str
    name: str
    version: str
    file: str


@dataclass(frozen=True)
class Parsed:
    """The dependencies of one file, and what the parser had to leave out (unpinned, local...)."""

    dependencies: tuple[Dependency, ...]
    skipped: int = 0
    skipped_reason: str = ""


class LockfileError(Exception):
    """The file is not the lockfile or manifest its name says: the message says what is wrong."""


def unique(dependencies: list[Dependency]) -> tuple[Dependency, ...]:
    return tuple(dict.fromkeys(dependencies))
