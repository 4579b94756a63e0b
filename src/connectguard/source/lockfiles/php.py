"""PHP's `composer.lock`: `packages` and `packages-dev`."""

from __future__ import annotations

import json

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed, unique

ECOSYSTEM = "Packagist"


def parse_composer_lock(data: bytes, file: str) -> Parsed:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LockfileError(f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise LockfileError("the top level is not a JSON object")
    found: list[Dependency] = []
    skipped = 0
    for section in ("packages", "packages-dev"):
        entries = document.get(section) or []
        if not isinstance(entries, list):
            raise LockfileError(f"`{section}` is not a list")
        for entry in entries:
            version = str(entry.get("version", "")) if isinstance(entry, dict) else ""
            if not version or version.startswith("dev-") or not isinstance(entry, dict):
                skipped += 1
                continue
            found.append(Dependency(ECOSYSTEM, str(entry["name"]), version.lstrip("vV"), file))
    return Parsed(unique(found), skipped, "development branches")
