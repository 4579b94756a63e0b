"""The subdomain-takeover fingerprint table: which hosting providers let anyone claim a name.

Each provider is known by the CNAME targets it hands out (shell-style patterns such as
`*.herokuapp.com`) and by the response its edge gives for a name nobody claimed: an HTTP status
and a body marker. The project ships its own table (`data/takeover.json`); users can add theirs
in the same format with `--takeover-table FILE`.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from connectguard.errors import InputError


@dataclass(frozen=True)
class TakeoverFingerprint:
    """One provider: its CNAME patterns and what it answers for an unclaimed name.

    `status` and `marker` are None for providers whose unclaimed names simply do not resolve;
    `nxdomain` says whether a dangling name of this provider alone lets anyone claim it.
    """

    name: str
    kind: str
    cnames: tuple[str, ...]
    status: int | None = None
    marker: str | None = None
    nxdomain: bool = False

    @property
    def has_response(self) -> bool:
        return self.marker is not None

    def matches(self, name: str) -> bool:
        name = name.rstrip(".").lower()
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.cnames)

    def is_unclaimed_response(self, status: int | None, body: str) -> bool:
        """Whether an answer is this provider's unclaimed response: the status (when the table
        gives one) and the marker, exactly as written, both present."""
        if self.marker is None or status is None:
            return False
        if self.status is not None and status != self.status:
            return False
        return self.marker in body


def builtin_table() -> tuple[TakeoverFingerprint, ...]:
    """The project's own table, shipped as package data."""
    text = resources.files("connectguard").joinpath("data/takeover.json").read_text("utf-8")
    return parse_table(json.loads(text), "the built-in takeover table")


def load_table(path: str | None) -> tuple[TakeoverFingerprint, ...]:
    """The built-in table, followed by the user's table file when one is given.

    Raise `InputError` with one sentence when the file cannot be read or is malformed.
    """
    table = builtin_table()
    if path is None:
        return table
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"Could not read the takeover table {path}: {exc}.") from None
    return table + parse_table(data, f"the takeover table {path}")


def match_provider(
    names: tuple[str, ...], table: tuple[TakeoverFingerprint, ...]
) -> TakeoverFingerprint | None:
    """The first provider whose patterns match a name of a CNAME chain, in chain order."""
    for name in names:
        for provider in table:
            if provider.matches(name):
                return provider
    return None


def parse_table(data: Any, where: str) -> tuple[TakeoverFingerprint, ...]:
    """Validate a table document (`{"providers": [...]}`); raise `InputError` naming the entry."""
    providers = data.get("providers") if isinstance(data, dict) else None
    if not isinstance(providers, list):
        raise InputError(f"{where} must be a JSON object with a list under 'providers'.")
    return tuple(
        _provider(entry, f"{where}, provider {i + 1}") for i, entry in enumerate(providers)
    )


def _provider(entry: Any, where: str) -> TakeoverFingerprint:
    if not isinstance(entry, dict):
        raise InputError(f"{where} is not a JSON object.")
    name, cnames = entry.get("name"), entry.get("cnames")
    status, marker = entry.get("status"), entry.get("marker")
    nxdomain = entry.get("nxdomain", False)
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where} needs a 'name'.")
    if not isinstance(cnames, list) or not cnames or not all(_is_pattern(c) for c in cnames):
        raise InputError(f"{where} ({name}) needs 'cnames': a list of host name patterns.")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise InputError(f"{where} ({name}) has a 'status' that is not an HTTP status.")
    if marker is not None and (not isinstance(marker, str) or not marker):
        raise InputError(f"{where} ({name}) has a 'marker' that is not a non-empty string.")
    if not isinstance(nxdomain, bool) or (marker is None and not nxdomain):
        raise InputError(f"{where} ({name}) needs a 'marker', or 'nxdomain': true.")
    return TakeoverFingerprint(
        name=name.strip(),
        kind=str(entry.get("kind", "")),
        cnames=tuple(c.strip().lower().rstrip(".") for c in cnames),
        status=status,
        marker=marker,
        nxdomain=nxdomain,
    )


def _is_pattern(value: Any) -> bool:
    return isinstance(value, str) and "." in value and not any(c.isspace() for c in value)
