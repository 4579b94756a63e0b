"""URLs as Connect builds them: descriptor URLs joined to the baseUrl, context variables filled.

Connect does not resolve a module URL against the baseUrl per RFC 3986: it appends it, so a
baseUrl path is kept. Context variables such as `{issue.key}` are filled by the product when it
loads a page; a scan fills them with plausible values instead.
"""

from __future__ import annotations

import re
from typing import Final

from connectguard.model import origin_of

__all__ = [
    "context_value",
    "fill_context_variables",
    "is_absolute",
    "join_url",
    "origin_of",
    "scheme_of",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_CONTEXT_VARIABLE = re.compile(r"\$?\{([^{}\s]+)\}")

NEUTRAL_VALUE: Final = "1"
"""What an unknown context variable becomes: a value most apps accept as an id."""

_CONTEXT_VALUES: Final[dict[str, str]] = {
    "issue.id": "10001",
    "issue.key": "TEST-1",
    "issuetype.id": "10002",
    "project.id": "10000",
    "project.key": "TEST",
    "version.id": "10003",
    "component.id": "10004",
    "board.id": "1",
    "board.type": "scrum",
    "board.screen": "work",
    "sprint.id": "1",
    "sprint.state": "active",
    "dashboard.id": "10000",
    "dashboarditem.id": "10100",
    "dashboarditem.key": "item-1",
    "dashboarditem.viewtype": "default",
    "page.id": "123456",
    "page.version": "1",
    "page.type": "page",
    "page.title": "Test",
    "content.id": "123456",
    "content.version": "1",
    "content.type": "page",
    "space.id": "98304",
    "space.key": "TEST",
    "macro.id": "m1",
    "macro.truncated": "false",
    "output.type": "display",
    "user.accountid": "5b10a2844c20165700ede21g",
    "profileuser.accountid": "5b10a2844c20165700ede21g",
    "user.id": "admin",
    "user.key": "admin",
    "servicedesk.requestkey": "TEST-1",
    "loc": "en-US",
    "lic": "active",
    "timezone": "UTC",
    "tz": "UTC",
}


def is_absolute(url: str) -> bool:
    """True when `url` starts with a scheme (RFC 3986), so Connect would not join it to baseUrl."""
    return _SCHEME.match(url) is not None


def scheme_of(url: str) -> str:
    """The lower-cased scheme of a URL written `scheme://...`; "" for a path or `mailto:`."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match and match.group(2) else ""


def join_url(base_url: str, url: str) -> str:
    """Join a descriptor URL to the baseUrl as Connect does: absolute URLs stay as they are,
    relative ones are appended with exactly one slash between the two."""
    if is_absolute(url):
        return url
    if not url:
        return base_url
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def fill_context_variables(url: str) -> str:
    """Replace each `{x.y}` or `${x.y}` with a plausible value, leaving the rest of `url` as it is.

    Known variables get a realistic value (`{issue.key}` -> `TEST-1`), conditions get `true`,
    anything else the neutral value `1`. Nothing else in the URL is encoded or changed.
    """
    return _CONTEXT_VARIABLE.sub(lambda match: context_value(match.group(1)), url)


def context_value(name: str) -> str:
    """The value a scan gives the context variable `name` (without braces or `$`)."""
    lowered = name.lower()
    if lowered.startswith("condition."):
        return "true"
    return _CONTEXT_VALUES.get(lowered, NEUTRAL_VALUE)
