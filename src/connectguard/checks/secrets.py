"""Requirement 7: the Connect sharedSecret never reaches the browser or a URL.

Judged on every page and script the app serves from its origins: the install's own sharedSecret
(when the scan was given it) anywhere in the content; a secret-shaped value assigned to a
`sharedSecret` or `clientSecret` key; code that writes a token or secret to localStorage,
sessionStorage or a script-set cookie. The descriptor's URLs are checked for secret query
parameters and for the sharedSecret itself. A value that merely looks random (a build hash, a
public key) is not a secret unless it is the install's own or sits under a secret's name.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import re2

from connectguard.checks.headers import looks_random
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.net.http import shorten_secret
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import is_script, page_of

MIN_SECRET_CHARS: Final = 8
MAX_URLS_IN_DESCRIPTOR: Final = 5000
MAX_DEPTH: Final = 64

FIX_SECRET = (
    "Keep the sharedSecret on the server: sign and verify tokens there, and give the browser "
    "only the short-lived context token from AP.context.getToken(). Rotate the exposed secret "
    "by reinstalling the app."
)
FIX_STORAGE = (
    "Do not persist tokens or secrets in localStorage, sessionStorage or script-set cookies; "
    "ask AP.context.getToken() for a fresh token when one is needed."
)
FIX_DESCRIPTOR = "Remove secrets from descriptor URLs: the descriptor is public."


def _regex(pattern: str) -> re2._Regexp[str]:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


_SECRET_ASSIGNMENT: Final = _regex(
    r"(?i)[\"'`]?(shared[_\-]?secret|client[_\-]?secret)[\"'`]?\s*[:=]\s*"
    r"[\"'`]([A-Za-z0-9+/=_.\-]{16,512})[\"'`]"
)
_STORAGE_SET: Final = _regex(
    r"(localStorage|sessionStorage)\s*\.\s*setItem\s*\(\s*([^,)]{1,200}),\s*([^;)]{0,200})"
)
_STORAGE_ASSIGN: Final = _regex(
    r"(localStorage|sessionStorage)\s*(?:\.\s*([A-Za-z_$][A-Za-z0-9_$]{0,80})"
    r"|\[\s*[\"'`]([^\"'`]{1,100})[\"'`]\s*\])\s*=[^=]"
)
_COOKIE_WRITE: Final = _regex(r"document\s*\.\s*cookie\s*=\s*[\"'`]\s*([^=;\"'`\s]{1,100})\s*=")
_PLACEHOLDERS: Final = (
    "your",
    "example",
    "changeme",
    "placeholder",
    "xxxx",
    "dummy",
    "sample",
    "redacted",
    "insert",
    "replace",
)
_SECRET_PARAMETERS: Final = ("secret", "password", "passwd", "apikey", "privatekey", "accesskey")


def is_token_name(name: str) -> bool:
    """Whether a storage key, cookie or variable name says it holds a token or secret."""
    squashed = "".join(c for c in name.lower() if c.isalnum())
    if "csrf" in squashed or "xsrf" in squashed:
        return False
    return any(word in squashed for word in ("jwt", "token", "secret", "bearer"))


def check_secret_exposure(evidence: Evidence) -> list[Judgement]:
    r7 = JudgementBuilder("7")
    secret = evidence.shared_secret
    secret = secret if secret and len(secret) >= MIN_SECRET_CHARS else None
    found: list[Finding] = []
    judged_urls: set[str] = set()
    for _, exchange in evidence.page_responses():
        r7.count()
        judged_urls.add(exchange.url)
        found += content_findings(exchange, secret)
    if secret is not None:
        found += _secret_in_other_answers(evidence, secret, judged_urls)
    found += descriptor_findings(evidence.descriptor.raw, secret)

    reported: set[tuple[str, str, str, str]] = set()
    for finding in found:
        key = (finding.check, finding.origin, finding.path, finding.detail)
        if key not in reported:
            reported.add(key)
            r7.add(finding)
    if not r7.judged:
        r7.note("no page or script answered 2xx, so client-side secrets were not looked for")
    if secret is None:
        r7.note("no sharedSecret was given, so only secret-shaped values were looked for")
    return [r7.build()]


def content_findings(exchange: Exchange, secret: str | None) -> list[Finding]:
    """Secrets in one page or script, and the storage writes of its scripts."""
    page = page_of(exchange)
    text = exchange.text
    findings: list[Finding] = []
    if secret is not None and secret in text:
        findings.append(_install_secret_finding(exchange))
    searched = html.unescape(text) if page is not None else text
    for key, value in _secret_assignments(searched):
        if value == secret:
            continue
        findings.append(_assigned_secret_finding(exchange, key, value))
    scripts = list(page.scripts) if page is not None else [text] if is_script(exchange) else []
    for script in scripts:
        findings += [_storage_finding(exchange, write) for write in storage_writes(script)]
    return findings


def _secret_assignments(text: str) -> Iterator[tuple[str, str]]:
    for match in _SECRET_ASSIGNMENT.finditer(text):
        key, value = match.group(1), match.group(2)
        lowered = value.lower()
        if looks_random(value) and not any(word in lowered for word in _PLACEHOLDERS):
            yield key, value


@dataclass(frozen=True)
class StorageWrite:
    """A script statement that stores something under a name: where, which name, how sure."""

    store: str
    name: str
    certain: bool


def storage_writes(script: str) -> list[StorageWrite]:
    """Writes of tokens or secrets to web storage or cookies in one script's text.

    `certain` when the key or cookie name says token or secret; not certain when only the value
    written names one (the key is computed).
    """
    writes: list[StorageWrite] = []
    for match in _STORAGE_SET.finditer(script):
        store, key, value = match.group(1), match.group(2).strip(), match.group(3)
        name = key.strip("\"'` ")
        if is_token_name(name):
            writes.append(StorageWrite(store, name, certain=True))
        elif key[:1] not in {'"', "'", "`"} and is_token_name(value):
            writes.append(StorageWrite(store, f"{name} = {value.strip()[:60]}", certain=False))
    for match in _STORAGE_ASSIGN.finditer(script):
        name = match.group(2) or match.group(3) or ""
        if is_token_name(name):
            writes.append(StorageWrite(match.group(1), name, certain=True))
    for match in _COOKIE_WRITE.finditer(script):
        if is_token_name(match.group(1)):
            writes.append(StorageWrite("document.cookie", match.group(1), certain=True))
    return writes


def _install_secret_finding(exchange: Exchange) -> Finding:
    return Finding(
        requirement="7",
        check="shared-secret-in-content",
        level=Level.FAIL,
        summary=f"{exchange.path} contains the install's sharedSecret.",
        fix=FIX_SECRET,
        severity=Severity.CRITICAL,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail="install secret",
        evidence=(exchange,),
    )


def _assigned_secret_finding(exchange: Exchange, key: str, value: str) -> Finding:
    return Finding(
        requirement="7",
        check="secret-value-in-content",
        level=Level.FAIL,
        summary=(
            f"{exchange.path} assigns a secret-shaped value ({shorten_secret(value, 4)}) to "
            f"{key}: a Connect sharedSecret or OAuth client secret is readable in the browser."
        ),
        fix=FIX_SECRET,
        severity=Severity.CRITICAL,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail=key,
        evidence=(exchange,),
    )


def _storage_finding(exchange: Exchange, write: StorageWrite) -> Finding:
    where = "a cookie" if write.store == "document.cookie" else write.store
    return Finding(
        requirement="7",
        check="token-in-client-storage",
        level=Level.FAIL if write.certain else Level.WARNING,
        summary=(
            f"{exchange.path} writes {write.name!r} to {where}"
            + ("" if write.certain else ", a value that looks like a token")
            + ": any script on the origin can read it back."
        ),
        fix=FIX_STORAGE,
        severity=Severity.MEDIUM,
        origin=exchange.origin,
        path=exchange.path,
        method=exchange.method,
        detail=f"{write.store}:{write.name}",
        evidence=(exchange,),
    )


def _secret_in_other_answers(
    evidence: Evidence, secret: str, judged_urls: set[str]
) -> list[Finding]:
    """Any other 2xx answer of the app (an API route, a webhook) that returns the secret."""
    findings: list[Finding] = []
    for exchange in evidence.app_exchanges():
        if exchange.url in judged_urls or not exchange.is_success_with_content:
            continue
        if secret in exchange.text:
            findings.append(_install_secret_finding(exchange))
    return findings


def descriptor_findings(raw: dict[str, Any], secret: str | None) -> list[Finding]:
    """The sharedSecret anywhere in the descriptor, and secret query parameters in its URLs."""
    findings: list[Finding] = []
    if secret is not None and secret in json.dumps(raw):
        findings.append(_descriptor_finding("the descriptor contains the install's sharedSecret"))
    for url in _strings(raw, 0):
        for name in _secret_parameters(url):
            findings.append(
                _descriptor_finding(
                    f"the descriptor URL {_shown_url(url)} carries a secret in its {name} parameter"
                )
            )
    return findings[:20]


def _strings(value: Any, depth: int) -> Iterator[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        if "?" in value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:MAX_URLS_IN_DESCRIPTOR]:
            yield from _strings(item, depth + 1)


def _secret_parameters(url: str) -> list[str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    names = []
    for name, value in parse_qsl(query, keep_blank_values=False):
        squashed = "".join(c for c in name.lower() if c.isalnum())
        placeholder = value.startswith(("{", "${")) or len(value) < 6
        if not placeholder and any(word in squashed for word in _SECRET_PARAMETERS):
            names.append(name)
    return names


def _shown_url(url: str) -> str:
    return url.split("?", 1)[0][:120]


def _descriptor_finding(summary: str) -> Finding:
    return Finding(
        requirement="7",
        check="secret-in-descriptor",
        level=Level.FAIL,
        summary=summary[0].upper() + summary[1:] + ".",
        fix=FIX_DESCRIPTOR,
        severity=Severity.CRITICAL,
        detail=summary,
    )
