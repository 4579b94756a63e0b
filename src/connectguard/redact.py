"""Masking of secrets in response bodies before they leave the scan: the findings store, and
through it every report, keeps only redacted excerpts of what the app served.

A body that is evidence of a leak holds the leaked thing itself: the sharedSecret in a page,
a JWT echoed into a link, an exposed `.env`. The report needs to show where it was, never the
value, so every token, secret-named value and long random-looking run is cut to a prefix.
"""

from __future__ import annotations

import re

from connectguard.model import Headers
from connectguard.source.secrets import mask

# A JWT (header and payload are base64url JSON objects, so they start with "eyJ").
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
# A PEM private key block.
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
# The value assigned to a secret-like name: `sharedSecret: "x"`, `API_TOKEN=x`, `"password":"x"`.
_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|private[_-]?key|credential)"
    r"[A-Za-z0-9_.-]*"
)
_ASSIGNED = re.compile(
    rf"""(?ix)
    (?<![A-Za-z0-9_.-])  # a name starts where a run of name characters starts: linear time
    (?P<name>["']?{_SECRET_NAME}["']?\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^"'\s,;&<>{{}}()]{{6,}})
    """
)
# A long run of base64 or hex characters: generated keys and secrets look like this when it
# holds both letters and digits.
_RUN = re.compile(r"[A-Za-z0-9+/_-]{32,}=*")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")
# Response headers whose whole value is a credential.
_SECRET_HEADER = re.compile(r"token|secret|api-?key|authorization|credential|password")


def _mask_random(match: re.Match[str]) -> str:
    run = match[0]
    return mask(run) if _DIGIT.search(run) and _LETTER.search(run) else run


def redact_text(text: str) -> str:
    """`text` with every token, private key, secret-named value and long random run masked."""
    text = _PRIVATE_KEY.sub("[private key redacted]", text)
    text = _JWT.sub(lambda m: mask(m[0]), text)
    text = _ASSIGNED.sub(lambda m: f"{m['name']}{m['quote']}{mask(m['value'])}", text)
    return _RUN.sub(_mask_random, text)


def redact_headers(headers: Headers) -> Headers:
    """Response headers as a report may show them: cookie values, secret-named headers and any
    token in a value (a `Location` carrying `?jwt=`) masked, names and attributes kept."""
    redacted = []
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            value = _redact_cookie(value)
        elif _SECRET_HEADER.search(lower):
            value = mask(value)
        else:
            value = redact_text(value)
        redacted.append((name, value))
    return tuple(redacted)


def _redact_cookie(line: str) -> str:
    pair, separator, attributes = line.partition(";")
    name, equals, value = pair.partition("=")
    if not equals or not value.strip():
        return line
    return f"{name}={mask(value.strip())}{separator}{attributes}"
