"""Parsers for the response headers the checks judge: HSTS, Cache-Control, Referrer-Policy and
Set-Cookie. Pure functions over header values as received (one string per header line)."""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

ONE_YEAR = 31_536_000

# ---------------------------------------------------------------------------------------------
# Strict-Transport-Security (RFC 6797 section 6.1)


@dataclass(frozen=True)
class Hsts:
    """A parsed HSTS header: `error` says why it is invalid, else `max_age` is set."""

    raw: str
    max_age: int | None = None
    include_subdomains: bool = False
    preload: bool = False
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_DIRECTIVE = re.compile(
    rf"^\s*(?P<name>{_TOKEN})\s*(?:=\s*(?:(?P<token>{_TOKEN})|\"(?P<quoted>(?:[^\"\\]|\\.)*)\"))?\s*$"
)


def parse_hsts(values: list[str]) -> Hsts | None:
    """Parse the first Strict-Transport-Security header line; None when there is none.

    Per RFC 6797 only the first header field is processed, names are case-insensitive, values
    may be quoted, a repeated directive or a missing max-age makes the header invalid.
    """
    if not values:
        return None
    raw = values[0]
    seen: dict[str, str | None] = {}
    for part in split_outside_quotes(raw, ";"):
        if not part.strip():
            continue
        match = _DIRECTIVE.match(part)
        if match is None:
            return Hsts(raw, error=f"the directive {part.strip()!r} is malformed")
        name = match["name"].lower()
        if name in seen:
            return Hsts(raw, error=f"the directive {name!r} is repeated")
        quoted = match["quoted"]
        seen[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match["token"]
    if "max-age" not in seen:
        return Hsts(raw, error="it has no max-age directive")
    max_age = seen["max-age"]
    # delta-seconds is 1*DIGIT, ASCII digits only: "３１５３６０００" and "²" are not numbers here.
    if max_age is None or not (max_age.isascii() and max_age.isdigit()):
        return Hsts(raw, error=f"max-age {max_age!r} is not a number of seconds")
    return Hsts(
        raw,
        max_age=int(max_age),
        include_subdomains="includesubdomains" in seen,
        preload="preload" in seen,
    )


# ---------------------------------------------------------------------------------------------
# Cache-Control


def cache_directives(values: list[str]) -> set[str]:
    """Directive names (lower-cased) across every Cache-Control header line."""
    names = set()
    for value in values:
        for part in split_outside_quotes(value, ","):
            name = part.split("=", 1)[0].strip().lower()
            if name:
                names.add(name)
    return names


def split_outside_quotes(value: str, separator: str) -> list[str]:
    """Split a header value on `separator` where it is not inside a quoted string.

    A quoted string (RFC 9110 section 5.6.4) may hold the separator and backslash-escaped
    characters, an escaped quote included.
    """
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


# ---------------------------------------------------------------------------------------------
# Referrer-Policy (W3C Referrer Policy, and the HTML <meta name="referrer"> legacy keywords)

POLICIES = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "origin",
        "origin-when-cross-origin",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)
UNSAFE_POLICIES = frozenset({"no-referrer-when-downgrade", "unsafe-url"})
_META_LEGACY = {
    "never": "no-referrer",
    "default": "strict-origin-when-cross-origin",
    "always": "unsafe-url",
    "origin-when-crossorigin": "origin-when-cross-origin",
}
# Policies that send a URL's path to another origin (over HTTPS).
SENDS_PATH_CROSS_ORIGIN = frozenset({"unsafe-url", "no-referrer-when-downgrade"})


@dataclass(frozen=True)
class ReferrerPolicy:
    """The effective policy of a page and where it came from (`header`, `meta` or None)."""

    policy: str | None
    source: str | None
    header_tokens: tuple[str, ...] = ()
    unknown: tuple[str, ...] = field(default=())


def effective_referrer_policy(
    header_values: list[str], meta_contents: Sequence[str] = ()
) -> ReferrerPolicy:
    """The last recognised token of the header lines; with no header, the last valid
    `<meta name=referrer>`.

    `meta_contents` are the `content` values of the page's referrer meta tags, in order (the
    HTML parser in `probes.pages` collects them); legacy keywords such as `never` count. A
    header of unknown tokens only leaves the page without a policy, meta or not: SPEC counts
    the meta only when there is no header, and fails an unknown-only one.
    """
    tokens = tuple(
        token.strip().lower()
        for value in header_values
        for token in value.split(",")
        if token.strip()
    )
    known = [token for token in tokens if token in POLICIES]
    unknown = tuple(token for token in tokens if token not in POLICIES)
    if known:
        return ReferrerPolicy(known[-1], "header", tokens, unknown)
    if tokens:
        return ReferrerPolicy(None, "header", tokens, unknown)
    meta = meta_policy(meta_contents)
    if meta is not None:
        return ReferrerPolicy(meta, "meta", tokens, unknown)
    return ReferrerPolicy(None, None, tokens, unknown)


def meta_policy(meta_contents: Sequence[str]) -> str | None:
    """The policy of the last referrer meta tag whose content is a valid (or legacy) keyword."""
    policies = [_META_LEGACY.get(c.strip().lower(), c.strip().lower()) for c in meta_contents]
    valid = [policy for policy in policies if policy in POLICIES]
    return valid[-1] if valid else None


# ---------------------------------------------------------------------------------------------
# Set-Cookie (RFC 6265 section 5.2)


@dataclass(frozen=True)
class Cookie:
    name: str
    value: str
    attributes: tuple[tuple[str, str], ...]

    def has(self, attribute: str) -> bool:
        return any(name == attribute.lower() for name, _ in self.attributes)

    def get(self, attribute: str) -> str | None:
        for name, value in self.attributes:
            if name == attribute.lower():
                return value
        return None

    @property
    def http_only(self) -> bool:
        return self.has("httponly")

    @property
    def secure(self) -> bool:
        return self.has("secure")

    @property
    def persistent(self) -> bool:
        return self.has("expires") or self.has("max-age")

    @property
    def deleting(self) -> bool:
        """A Set-Cookie that removes the cookie (empty value or Max-Age <= 0)."""
        max_age = self.get("max-age")
        expired = max_age is not None and _is_integer(max_age) and int(max_age) <= 0
        return expired or self.value == ""

    def deletes_at(self, now: int) -> bool:
        """Removes the cookie at time `now` (epoch seconds): `deleting`, or, with no Max-Age
        (which would take precedence, RFC 6265 section 5.3), an Expires date already past."""
        if self.deleting:
            return True
        expires = self.get("expires")
        if expires is None or self.has("max-age"):
            return False
        try:
            when = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.timestamp() <= now


def _is_integer(text: str) -> bool:
    digits = text.strip().removeprefix("-")
    return digits.isascii() and digits.isdigit()


def parse_set_cookie(line: str) -> Cookie | None:
    """Parse one Set-Cookie header line; None when it has no name=value pair."""
    pair, *rest = line.split(";")
    if "=" not in pair:
        return None
    name, value = (part.strip() for part in pair.split("=", 1))
    if not name:
        return None
    attributes = []
    for item in rest:
        key, _, attr_value = item.partition("=")
        if key.strip():
            attributes.append((key.strip().lower(), attr_value.strip()))
    return Cookie(name, value.strip('"'), tuple(attributes))


_SESSION_NAMES = re.compile(
    r"""^(?:
        session | sess | sid | connect\.sid | jsessionid | phpsessid | laravel_session
        | asp\.net_sessionid | aspsessionid\w* | cfid | cftoken | rack\.session
        | ci_session | _session_id | session_?id | sessid | express[:._-]sess | koa[:._-]sess
        | _.+_session | .+[._-]session | session[._-].+ | .+[._-]sid | sid[._-].+
        | __host-.*sess.* | __secure-.*sess.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_.%:-]+$")


# Words of a cookie name that mark it a session cookie wherever they stand: appSession,
# next-auth.session-token, AUTH_SESSION_ID, JSESSIONID.node1.
_SESSION_WORDS = frozenset({"session", "sess", "sid", "sessid", "sessionid", "jsessionid"})
_CSRF_NAME = re.compile(r"csrf|xsrf", re.IGNORECASE)
_NAME_WORDS = re.compile(r"[._:\-]+|(?<=[a-z0-9])(?=[A-Z])")


def is_session_cookie(cookie: Cookie) -> bool:
    """By name (session, sid, JSESSIONID, _x_session, appSession...) or by shape (random
    value, no expiry)."""
    if _SESSION_NAMES.match(cookie.name):
        return True
    words = {word.lower() for word in _NAME_WORDS.split(cookie.name) if word}
    if words & _SESSION_WORDS:
        return True
    # A CSRF cookie (XSRF-TOKEN, csrftoken, _csrf) is random and often has no expiry, but it
    # must be readable by the page's script for the double-submit pattern: not a session.
    if _CSRF_NAME.search(cookie.name):
        return False
    return not cookie.persistent and looks_random(cookie.value)


def looks_random(value: str) -> bool:
    """A value long and varied enough to be a generated identifier rather than a setting."""
    if len(value) < 16 or not _TOKEN_CHARS.match(value):
        return False
    classes = sum(bool(re.search(pattern, value)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and _entropy(value) >= 3.0


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
