"""Ruby's `Gemfile.lock` (and `gems.locked`): the specs of its GEM sections."""

from __future__ import annotations

import re

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed, unique

ECOSYSTEM = "RubyGems"
_SPEC = re.compile(r"^    ([^\s(]+) \(([^)]+)\)$")


def parse_gemfile_lock(data: bytes, file: str) -> Parsed:
    found: list[Dependency] = []
    section = ""
    sections_seen = 0
    for raw in data.decode("utf-8", "replace").splitlines():
        if raw and not raw[0].isspace():
            section = raw.strip()
            sections_seen += 1
            continue
        if section != "GEM":
            continue
        match = _SPEC.match(raw)
        if match:
            # "1.13.10-x86_64-linux": the platform follows the first dash.
            version = match.group(2).split("-", 1)[0]
            found.append(Dependency(ECOSYSTEM, match.group(1), version, file))
    if not sections_seen:
        raise LockfileError("no GEM, PLATFORMS or DEPENDENCIES section")
    return Parsed(unique(found))
