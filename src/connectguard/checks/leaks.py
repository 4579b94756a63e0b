"""Requirement 8: Connect JWTs and OAuth tokens never leak to other origins through URLs and
Referer headers.

On every HTML page the app serves, three things are judged. A token inside a link or resource
URL that points to another origin fails when the page's effective Referrer-Policy (or the
element's own) sends that origin the path; with a policy that strips the path it is advice. A
module page, which the product loads with `?jwt=` in its own URL, fails when it loads or links
anything on another origin while its policy sends the full URL (`unsafe-url`,
`no-referrer-when-downgrade`, or no policy). A Connect JWT echoed into a page that also runs
third-party scripts is a warning: those scripts can read it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import re2

from connectguard.checks.headers import (
    POLICIES,
    SENDS_PATH_CROSS_ORIGIN,
    ReferrerPolicy,
    effective_referrer_policy,
)
from connectguard.model import Exchange, Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.model import origin_of as _origin_of
from connectguard.net.http import shorten_secret
from connectguard.probes.evidence import Evidence
from connectguard.probes.pages import ParsedPage, Reference, page_of

MAX_JWTS: Final = 50
MAX_JWT_CHARS: Final = 16_384
MAX_ORIGINS_SHOWN: Final = 3
OAUTH_PARAMETERS: Final = frozenset(
    {"access_token", "id_token", "refresh_token", "oauth_token", "auth_token"}
)
# Hosts of Atlassian itself: the product already holds what its own tokens grant, and every
# Connect page loads Atlassian's all.js, so requests there are not a leak to a third party.
ATLASSIAN_DOMAINS: Final = ("atlassian.net", "atlassian.com", "atl-paas.net", "jira.com")

FIX_URL = (
    "Do not put tokens in URLs that lead to other sites; where a link must leave the app, send "
    "Referrer-Policy: no-referrer (or strict-origin-when-cross-origin) or mark it rel=noreferrer."
)
FIX_REFERER = (
    "Send Referrer-Policy: strict-origin-when-cross-origin or no-referrer on module pages: the "
    "product loads them with ?jwt= in the URL, which this policy sends to other sites."
)
FIX_ECHO = (
    "Keep tokens out of pages that run third-party scripts, or load those scripts in a "
    "sandboxed frame without access to the token."
)


def _jwt_regex() -> re2._Regexp[str]:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(r"eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*", options)


_JWT: Final = _jwt_regex()


@dataclass(frozen=True)
class Jwt:
    """A JSON Web Token found in text: its header and claims decoded, the token kept only here."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def is_connect(self) -> bool:
        """A Connect token carries a `qsh` claim, or an issuer and an expiry."""
        return "qsh" in self.claims or ("iss" in self.claims and "exp" in self.claims)

    @property
    def shown(self) -> str:
        return shorten_secret(self.token)


def find_jwts(text: str) -> list[Jwt]:
    """JWTs in `text` whose header and claims decode to JSON objects, at most `MAX_JWTS`."""
    found: list[Jwt] = []
    for match in _JWT.finditer(text):
        token = match.group(0)
        if len(token) <= MAX_JWT_CHARS:
            parsed = parse_jwt(token)
            if parsed is not None:
                found.append(parsed)
        if len(found) >= MAX_JWTS:
            break
    return found


def parse_jwt(token: str) -> Jwt | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, claims = _json_part(parts[0]), _json_part(parts[1])
    if header is None or claims is None or "alg" not in header:
        return None
    return Jwt(token, header, claims)


def _json_part(part: str) -> dict[str, Any] | None:
    try:
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def tokens_in_url(url: str) -> list[str]:
    """Shortened tokens a URL carries: JWTs anywhere in it, and OAuth token parameters."""
    shown = [jwt.shown for jwt in find_jwts(url)]
    try:
        query = parse_qsl(urlsplit(url).query, keep_blank_values=False)
    except ValueError:
        query = []
    for name, value in query:
        if name.lower() in OAUTH_PARAMETERS and len(value) >= 16 and not value.startswith("eyJ"):
            shown.append(f"{name}={shorten_secret(value)}")
    return shown


def is_atlassian_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in ATLASSIAN_DOMAINS)


def page_policy(exchange: Exchange, page: ParsedPage) -> ReferrerPolicy:
    """The page's effective Referrer-Policy: the header's last known token, else its meta tag."""
    return effective_referrer_policy(exchange.header("Referrer-Policy"), page.meta_referrers)


def sends_path(policy: str | None) -> bool:
    """Whether a request to another origin carries the page's path and query as Referer."""
    return policy is None or policy in SENDS_PATH_CROSS_ORIGIN


def request_policy(page: ReferrerPolicy, reference: Reference) -> str | None:
    """The policy one request goes out with: the element's own when it names a known one."""
    own = reference.referrer_policy
    return own if own in POLICIES else page.policy


def check_token_leaks(evidence: Evidence) -> list[Judgement]:
    r8 = JudgementBuilder("8")
    app_origins = set(evidence.plan.app_origins)
    reported: set[tuple[str, str, str]] = set()
    for endpoint, exchange in evidence.page_responses():
        page = page_of(exchange)
        if page is None:
            continue
        r8.count()
        for capped in page.capped:
            r8.note(f"{exchange.path}: {capped}")
        policy = page_policy(exchange, page)
        found = _tokens_in_links(exchange, page, policy, app_origins)
        if endpoint is not None and not endpoint.cacheable:
            found += _module_page_referer(exchange, page, policy, app_origins)
        found += _echoed_token(exchange, page, app_origins)
        for finding in found:
            key = (finding.check, finding.origin, finding.path)
            if key not in reported:
                reported.add(key)
                r8.add(finding)
    if not r8.judged:
        r8.note("no HTML page answered 2xx, so token leaks through pages were not judged")
    return [r8.build()]


def _other_origin(url: str, exchange: Exchange, app_origins: set[str]) -> bool:
    origin = _origin_of(url)
    return origin != exchange.origin and origin not in app_origins


def _tokens_in_links(
    exchange: Exchange, page: ParsedPage, policy: ReferrerPolicy, app_origins: set[str]
) -> list[Finding]:
    findings: list[Finding] = []
    for reference in page.references:
        if not _other_origin(reference.url, exchange, app_origins):
            continue
        tokens = tokens_in_url(reference.url)
        if not tokens:
            continue
        effective = request_policy(policy, reference)
        leaks = sends_path(effective)
        target = _origin_of(reference.url)
        how = "loads" if reference.loads else "links to"
        verdict = (
            f"its Referrer-Policy ({effective or 'none'}) sends the path on"
            if leaks
            else f"its Referrer-Policy ({effective}) strips the path, but the URL itself goes there"
        )
        findings.append(
            Finding(
                requirement="8",
                check="token-in-cross-origin-url",
                level=Level.FAIL if leaks else Level.ADVICE,
                summary=(
                    f"{exchange.path} {how} {target} with a token in the URL "
                    f"(<{reference.tag} {reference.attribute}>: {tokens[0]}); {verdict}."
                ),
                fix=FIX_URL,
                severity=Severity.HIGH if leaks else Severity.LOW,
                origin=exchange.origin,
                path=exchange.path,
                method=exchange.method,
                detail=f"{reference.tag} {reference.attribute} -> {target}",
                evidence=(exchange,),
                facts=(("element", f"<{reference.tag} {reference.attribute}>"), ("to", target)),
            )
        )
    return findings


def _module_page_referer(
    exchange: Exchange, page: ParsedPage, policy: ReferrerPolicy, app_origins: set[str]
) -> list[Finding]:
    targets: dict[str, str] = {}
    policies: dict[str, None] = {}
    for reference in page.references:
        if not _other_origin(reference.url, exchange, app_origins):
            continue
        effective = request_policy(policy, reference)
        if is_atlassian_host(reference.url) or not sends_path(effective):
            continue
        targets.setdefault(_origin_of(reference.url), reference.tag)
        policies[_policy_origin(effective, reference)] = None
    if not targets:
        return []
    shown = ", ".join(list(targets)[:MAX_ORIGINS_SHOWN])
    extra = len(targets) - MAX_ORIGINS_SHOWN
    more = f" and {extra} more" if extra > 0 else ""
    how = "; ".join(policies)
    return [
        Finding(
            requirement="8",
            check="module-page-referer",
            level=Level.FAIL,
            summary=(
                f"{exchange.path} is a module page (loaded with ?jwt= in its URL) that loads or "
                f"links {shown}{more} with a Referrer-Policy ({how}) that sends the full URL, "
                "token included."
            ),
            fix=FIX_REFERER,
            severity=Severity.MEDIUM,
            origin=exchange.origin,
            path=exchange.path,
            method=exchange.method,
            evidence=(exchange,),
            facts=(("other origins", ", ".join(targets)), ("policy", how)),
        )
    ]


def _policy_origin(effective: str | None, reference: Reference) -> str:
    """Where the policy a request goes out with comes from: the element's own or the page's."""
    if effective is not None and effective == reference.referrer_policy:
        return f"{effective}, set by referrerpolicy on <{reference.tag}>"
    return f"the page's {effective}" if effective else "none"


def _echoed_token(exchange: Exchange, page: ParsedPage, app_origins: set[str]) -> list[Finding]:
    third_party = {
        _origin_of(r.url)
        for r in page.loaded("script")
        if _other_origin(r.url, exchange, app_origins) and not is_atlassian_host(r.url)
    }
    if not third_party:
        return []
    tokens = [jwt for jwt in find_jwts(exchange.text) if jwt.is_connect]
    if not tokens:
        return []
    shown = ", ".join(sorted(third_party)[:MAX_ORIGINS_SHOWN])
    return [
        Finding(
            requirement="8",
            check="token-with-third-party-scripts",
            level=Level.WARNING,
            summary=(
                f"{exchange.path} holds a Connect JWT ({tokens[0].shown}) and runs scripts "
                f"from {shown}, which can read it."
            ),
            fix=FIX_ECHO,
            severity=Severity.MEDIUM,
            origin=exchange.origin,
            path=exchange.path,
            method=exchange.method,
            evidence=(exchange,),
            facts=(("script origins", ", ".join(sorted(third_party))),),
        )
    ]
