"""Connect JWTs: the query string hash (`qsh`), real tokens, and forged ones for probes.

A forged token has exactly one defect (a wrong signature, `alg: none`, an expiry in the past...)
and is otherwise what the product would send: a correct `qsh` for the request and, when the
scan knows it, the real clientKey as `iss`. A probe that sees it accepted knows which check the
app skipped.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, quote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.urls import scheme_of
from connectguard.model import origin_of

CONTEXT_QSH: Final = "context-qsh"
"""The literal `qsh` of context tokens, which the app's iframe JavaScript gets from the product."""

DEFAULT_LIFETIME: Final = 180
"""Seconds a Connect token lives; the product uses three minutes."""

PROBE_PRODUCT_URL: Final = "https://connectguard-probe.atlassian.net"
"""The product site named in install payloads the scan sends; it belongs to no real tenant."""

_CONFLUENCE_MODULES: Final = frozenset(
    {
        "dynamicContentMacros",
        "staticContentMacros",
        "contentBylineItems",
        "customContent",
        "blueprints",
        "spaceToolsTabs",
        "confluenceContentProperties",
    }
)


class _Computed(enum.Enum):
    QSH = "computed"


COMPUTED: Final = _Computed.QSH
"""Default of `connect_token(qsh=...)`: compute the hash of the request the token is for."""


# --- qsh ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A URL cut into what qsh reads: `prefix` is scheme://authority ("" for a bare path)."""

    prefix: str
    path: str
    query: str

    def url(self) -> str:
        return f"{self.prefix}{self.path}?{self.query}" if self.query else self.prefix + self.path


def _split(url: str) -> _Target:
    """Cut `url` by hand: urllib would reject some malformed authorities and drop tabs."""
    url = url.split("#", 1)[0]
    prefix = ""
    scheme = scheme_of(url)
    if scheme:
        authority_start = len(scheme) + len("://")
        rest = url[authority_start:]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        prefix = url[: authority_start + cut]
        url = rest[cut:]
    path, _, query = url.partition("?")
    return _Target(prefix, path, query)


def _same_origin(a: str, b: str) -> bool:
    try:
        return origin_of(a) == origin_of(b)
    except ValueError:
        return a.lower() == b.lower()


def _relative_path(target: _Target, base_url: str) -> str:
    """The request path with the baseUrl path taken off, when it starts with that path.

    NOTE: the prefix is taken off as text, with no segment boundary: baseUrl path `/tools` and
    request path `/toolsx/page` give `x/page`, then `/x/page`. SPEC says so, and atlassian-jwt-js
    (under atlassian-connect-express) does the same, so that is what such an app compares.
    """
    base = _split(base_url)
    base_path = base.path.rstrip("/")
    if target.prefix and base.prefix and not _same_origin(target.prefix, base.prefix):
        return target.path
    if base_path and target.path.startswith(base_path):
        return target.path[len(base_path) :]
    return target.path


def _canonical_path(path: str) -> str:
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.replace("&", "%26")


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding: everything but the unreserved characters."""
    return quote(text, safe="~", errors="surrogatepass")


def _canonical_query(query: str) -> str:
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "jwt":
            values.setdefault(name, []).append(value)
    # NOTE: values of a repeated name are sorted as decoded text, as Atlassian's own
    # implementations (Java, atlassian-connect-express, atlassian-jwt) do.
    pairs = sorted((_encode(name), ",".join(map(_encode, sorted(v)))) for name, v in values.items())
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_request(method: str, url: str, base_url: str) -> str:
    """The canonical request Connect hashes into `qsh`: `METHOD&path&query`.

    `url` is absolute or a path with a query; the baseUrl's path is taken off the request path
    when the request is on the baseUrl's origin (or is a bare path) and under that path.
    """
    target = _split(url)
    path = _canonical_path(_relative_path(target, base_url))
    return f"{method.upper()}&{path}&{_canonical_query(target.query)}"


def query_hash(method: str, url: str, base_url: str) -> str:
    """The `qsh` claim for a request: hex SHA-256 of its canonical request."""
    canonical = canonical_request(method, url, base_url)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# --- signing -----------------------------------------------------------------------------


def _sign(claims: dict[str, Any], key: Any, alg: str, headers: dict[str, Any] | None = None) -> str:
    # NOTE: a test installation's secret may be shorter than RFC 7518 recommends; that is the
    # app's choice, not the scan's, so PyJWT's warning about it is silenced here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=alg, headers=headers)


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    """A JWT over `claims`, signed HS256 with `secret`."""
    return _sign(claims, secret, "HS256")


def _random_secret() -> str:
    return secrets.token_hex(32)


def connect_token(
    *,
    method: str,
    url: str,
    base_url: str,
    issuer: str,
    secret: str,
    subject: str | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    now: int | None = None,
    qsh: str | _Computed | None = COMPUTED,
    alg: str = "HS256",
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """A Connect JWT for one request, as the product would send it.

    `qsh` defaults to the hash of this request; `None` leaves the claim out. `alg` is an HMAC
    algorithm (`HS256`...) or `none` for an unsigned token with an empty signature.
    """
    issued_at = int(time.time()) if now is None else now
    claims: dict[str, Any] = {"iss": issuer, "iat": issued_at, "exp": issued_at + lifetime}
    if qsh is COMPUTED:
        claims["qsh"] = query_hash(method, url, base_url)
    elif qsh is not None:
        claims["qsh"] = qsh
    if subject is not None:
        claims["sub"] = subject
    claims.update(extra_claims or {})
    if alg == "none":
        return _sign(claims, None, "none")
    if not alg.startswith("HS"):
        raise ValueError(f"connect_token signs with a shared secret, so {alg} cannot be used")
    return _sign(claims, secret, alg)


# --- forged tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class ForgedToken:
    """A token with one known defect; `name` labels the probe, `defect` says it in a sentence."""

    name: str
    token: str
    defect: str


def forged_tokens(
    method: str,
    url: str,
    base_url: str,
    issuer: str,
    now: int,
    secret: str | None = None,
    subject: str | None = None,
) -> tuple[ForgedToken, ...]:
    """Tokens a page or webhook must reject, each carrying the right `qsh` for the request.

    Without the install's `secret`, the expired token can only be signed with a random secret.
    With it, each token is signed with the real secret unless its defect is the signature, and
    three more defects are added: issued in the future, an unknown `iss`, no `qsh`. `subject`
    is the `sub` of the endpoint's valid token, so that an app checking who the user is (an
    admin page) answers the defect, not a missing user.
    """

    def token(**options: Any) -> str:
        real_or_random = _random_secret() if secret is None else secret
        options = {
            "issuer": issuer,
            "secret": real_or_random,
            "subject": subject,
            "now": now,
            **options,
        }
        return connect_token(method=method, url=url, base_url=base_url, **options)

    forged = [
        ForgedToken(
            "wrong-signature",
            token(secret=_random_secret()),
            "The token is signed with a random secret instead of the install's shared secret.",
        ),
        ForgedToken(
            "alg-none",
            token(alg="none"),
            "The token is unsigned: its header says alg none and its signature is empty.",
        ),
        ForgedToken("expired", token(now=now - 3600 - DEFAULT_LIFETIME), _expired_defect(secret)),
    ]
    if secret is not None:
        forged += _forged_with_secret(token, now)
    return tuple(forged)


def _expired_defect(secret: str | None) -> str:
    if secret is None:
        return (
            "The token expired an hour ago, and it is signed with a random secret because "
            "the scan has no shared secret."
        )
    return "The token is signed with the shared secret but expired an hour ago."


def _forged_with_secret(token: Callable[..., str], now: int) -> list[ForgedToken]:
    later = now + 3600
    return [
        ForgedToken(
            "issued-in-future",
            token(now=later, extra_claims={"nbf": later}),
            "The token is signed with the shared secret but issued, and valid from, an hour ahead.",
        ),
        ForgedToken(
            "unknown-iss",
            token(issuer=str(uuid.uuid4())),
            "The token is signed with the shared secret but its iss is a clientKey of no install.",
        ),
        ForgedToken(
            "no-qsh",
            token(qsh=None),
            "The token is signed with the shared secret but carries no qsh claim.",
        ),
    ]


def install_tokens(
    url: str, base_url: str, issuer: str, now: int, secret: str | None = None
) -> tuple[ForgedToken, ...]:
    """Tokens a signed-install lifecycle hook (`installed`, `uninstalled`) must reject.

    Each has the claims of a real signed install (`aud` the baseUrl, a `kid` header, `qsh` for
    the POST) and one defect: a key Atlassian never published, HS256, or no signature at all.
    With the test installation's `secret`, the HS256 token is signed with it (and `issuer` is
    its clientKey), so that HS256 itself is its one defect: the legacy install an app must no
    longer take.
    """
    claims = {
        "iss": issuer,
        "iat": now,
        "exp": now + DEFAULT_LIFETIME,
        "aud": base_url,
        "qsh": query_hash("POST", url, base_url),
    }
    headers = {"kid": f"connectguard-{uuid.uuid4()}"}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        ForgedToken(
            "rs256-unknown-kid",
            _sign(claims, key, "RS256", headers),
            "The token is signed RS256 with a fresh key whose kid Atlassian's key service "
            "does not know.",
        ),
        ForgedToken(
            "hs256-install",
            _sign(claims, secret or _random_secret(), "HS256", headers),
            "The token is signed HS256 with the installation's sharedSecret where a signed "
            "install uses RS256."
            if secret
            else "The token is signed HS256 with a random secret where a signed install uses "
            "RS256.",
        ),
        ForgedToken(
            "alg-none",
            _sign(claims, None, "none", headers),
            "The token is unsigned: its header says alg none and its signature is empty.",
        ),
    )


def qsh_tampered_tokens(
    method: str,
    url: str,
    base_url: str,
    issuer: str,
    secret: str,
    now: int,
    subject: str | None = None,
) -> tuple[ForgedToken, ...]:
    """Validly signed tokens whose `qsh` is for another request than this one (requirement 13).

    `subject` is the `sub` of the valid token this endpoint accepted, so that the `qsh` is the
    tokens' one defect.
    """
    target = _split(url)
    other_path = _Target(
        target.prefix, target.path.rstrip("/") + "/connectguard-other", target.query
    )
    other_query = _Target(target.prefix, target.path, _add_parameter(target.query))
    other_method = "POST" if method.upper() == "GET" else "GET"

    def token(qsh: str) -> str:
        return connect_token(
            method=method,
            url=url,
            base_url=base_url,
            issuer=issuer,
            secret=secret,
            subject=subject,
            now=now,
            qsh=qsh,
        )

    return (
        ForgedToken(
            "qsh-other-path",
            token(query_hash(method, other_path.url(), base_url)),
            "The token is validly signed but its qsh is for another path.",
        ),
        ForgedToken(
            "qsh-other-query",
            token(query_hash(method, other_query.url(), base_url)),
            "The token is validly signed but its qsh is for another query string.",
        ),
        ForgedToken(
            "qsh-other-method",
            token(query_hash(other_method, url, base_url)),
            f"The token is validly signed but its qsh is for the method {other_method}.",
        ),
        ForgedToken(
            "context-qsh",
            token(CONTEXT_QSH),
            "The token is validly signed but its qsh is the literal context-qsh.",
        ),
    )


def _add_parameter(query: str) -> str:
    extra = "connectguard=tampered"
    return f"{query}&{extra}" if query else extra


# --- install payload, logging ------------------------------------------------------------


def install_payload(
    descriptor: Descriptor, client_key: str, shared_secret: str, event: str
) -> dict[str, Any]:
    """A well-formed Connect lifecycle payload, as the product posts to `installed` and friends."""
    confluence = any(name in _CONFLUENCE_MODULES for name in descriptor.modules)
    product = "confluence" if confluence else "jira"
    base_url = f"{PROBE_PRODUCT_URL}/wiki" if confluence else PROBE_PRODUCT_URL
    return {
        "key": descriptor.key,
        "clientKey": client_key,
        "publicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAconnectguardprobe",
        "sharedSecret": shared_secret,
        "serverVersion": "100250",
        "pluginsVersion": "1001.0.0-SNAPSHOT",
        "baseUrl": base_url,
        "displayUrl": base_url,
        "productType": product,
        "description": f"Atlassian {product.capitalize()} at {base_url}",
        "eventType": event,
    }


def shorten(token: str) -> str:
    """A token or secret as logs and reports may show it: a short prefix and its length."""
    shown = min(12, len(token) // 2)
    return f"{token[:shown]}…({len(token)} chars)"
