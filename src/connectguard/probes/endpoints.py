"""Authentication probes: each in-scope endpoint requested with no token, forged tokens, and,
when the user gave a test installation's credentials, valid and qsh-tampered tokens.

Every token carries a correctly computed `qsh` and, with credentials, the real clientKey, so the
one defect under test is the only one. The exchanges are labelled with the token variant; the
checks in `checks.auth` judge them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.endpoints import Endpoint, Role
from connectguard.connect.tokens import (
    ForgedToken,
    connect_token,
    forged_tokens,
    install_payload,
    install_tokens,
    qsh_tampered_tokens,
)
from connectguard.model import Exchange
from connectguard.net.http import HttpClient, Sent, redirect_target
from connectguard.probes.evidence import EndpointEvidence

INSTALL_EVENTS = frozenset({"installed", "uninstalled"})
SIGNED_INSTALL_NOTE = "signed-install hook: the scanner cannot sign an RS256 install token"


@dataclass(frozen=True)
class Signer:
    """What the scan may sign with: a test installation's credentials, or nothing."""

    base_url: str
    now: int
    client_key: str | None = None
    shared_secret: str | None = None
    user_account: str | None = None
    admin_account: str | None = None

    @property
    def issuer(self) -> str:
        return self.client_key or PROBE_CLIENT_KEY

    def valid(self, method: str, url: str, subject: str | None) -> str:
        assert self.shared_secret is not None
        return connect_token(
            method=method,
            url=url,
            base_url=self.base_url,
            issuer=self.issuer,
            secret=self.shared_secret,
            subject=subject,
            now=self.now,
        )


PROBE_CLIENT_KEY = f"connectguard-probe-{uuid.uuid4()}"


def methods_for(endpoint: Endpoint) -> tuple[str, ...]:
    """Lifecycle hooks are POSTed by the product; everything else is probed with GET and POST."""
    if endpoint.role is Role.LIFECYCLE:
        return ("POST",)
    return ("GET", "POST")


async def probe_endpoint(
    client: HttpClient, endpoint: Endpoint, descriptor: Descriptor, signer: Signer
) -> EndpointEvidence:
    """Send the endpoint every probe its role calls for and collect the answers."""
    if endpoint.cacheable:
        return await _probe_cacheable(client, endpoint)
    if endpoint.role is Role.LIFECYCLE and endpoint.lifecycle_event in INSTALL_EVENTS:
        return await _probe_install_hook(client, endpoint, descriptor, signer)
    return await _probe_token_endpoint(client, endpoint, descriptor, signer)


async def _probe_cacheable(client: HttpClient, endpoint: Endpoint) -> EndpointEvidence:
    # The product loads a cacheable shell with no token and no query: fetch it the same way.
    url = endpoint.url.split("?", 1)[0]
    exchanges = await _send_judged(client, Sent("GET", url, token="none", purpose="cacheable"))
    note = "cacheable module: a shell loaded without a token, so no auth or qsh probe is sent"
    return EndpointEvidence(endpoint, tuple(exchanges), skipped=(note,))


async def _probe_install_hook(
    client: HttpClient, endpoint: Endpoint, descriptor: Descriptor, signer: Signer
) -> EndpointEvidence:
    # A fresh clientKey per probe, so an app that accepts the forged install registers a
    # throw-away tenant instead of overwriting a real one.
    event = endpoint.lifecycle_event or "installed"
    requests = [_install_request(endpoint, descriptor, event, None)]
    for forged in install_tokens(endpoint.url, signer.base_url, signer.issuer, signer.now):
        requests.append(_install_request(endpoint, descriptor, event, forged))
    exchanges = await _send_all(client, requests)
    return EndpointEvidence(endpoint, tuple(exchanges), skipped=(SIGNED_INSTALL_NOTE,))


def _install_request(
    endpoint: Endpoint, descriptor: Descriptor, event: str, forged: ForgedToken | None
) -> Sent:
    payload = install_payload(
        descriptor, f"connectguard-probe-{uuid.uuid4()}", secrets.token_hex(32), event
    )
    headers = {"Content-Type": "application/json"}
    if forged is not None:
        headers["Authorization"] = f"JWT {forged.token}"
    return Sent(
        "POST",
        endpoint.url,
        headers=headers,
        body=json.dumps(payload).encode(),
        token=forged.name if forged else "none",
        purpose=f"{event} payload",
    )


async def _probe_token_endpoint(
    client: HttpClient, endpoint: Endpoint, descriptor: Descriptor, signer: Signer
) -> EndpointEvidence:
    skipped: list[str] = []
    exchanges: list[Exchange] = []

    # Positive control first: with credentials, a correct token must be accepted, or the
    # rejections of forged tokens prove nothing about this endpoint.
    accepted_valid = False
    if signer.shared_secret is not None:
        subject = _subject_for(endpoint, signer)
        if endpoint.admin and signer.admin_account is None:
            skipped.append("admin page and no admin account given: no valid-token control")
        else:
            method = _control_method(endpoint)
            token = signer.valid(method, endpoint.url, subject)
            control = await _send_judged(client, _token_request(endpoint, method, token, "valid"))
            exchanges.extend(control)
            accepted_valid = _accepted(control[-1])

    requests: list[Sent] = [
        _token_request(endpoint, method, None, "none") for method in methods_for(endpoint)
    ]
    for method in methods_for(endpoint):
        for forged in forged_tokens(
            method,
            endpoint.url,
            signer.base_url,
            signer.issuer,
            signer.now,
            secret=signer.shared_secret,
        ):
            requests.append(_token_request(endpoint, method, forged.token, forged.name))

    if endpoint.admin and signer.shared_secret is not None and signer.user_account is not None:
        method = _control_method(endpoint)
        token = signer.valid(method, endpoint.url, signer.user_account)
        requests.append(_token_request(endpoint, method, token, "non-admin-user"))

    if accepted_valid and signer.shared_secret is not None:
        method = _control_method(endpoint)
        for forged in qsh_tampered_tokens(
            method, endpoint.url, signer.base_url, signer.issuer, signer.shared_secret, signer.now
        ):
            requests.append(_token_request(endpoint, method, forged.token, forged.name))
    elif signer.shared_secret is not None and not endpoint.admin:
        skipped.append("the app did not accept a valid token here, so qsh was not probed")

    exchanges.extend(await _send_all(client, requests))
    return EndpointEvidence(endpoint, tuple(exchanges), skipped=tuple(skipped))


def _subject_for(endpoint: Endpoint, signer: Signer) -> str | None:
    if endpoint.admin:
        return signer.admin_account
    return signer.user_account or signer.admin_account


def _control_method(endpoint: Endpoint) -> str:
    return "GET" if endpoint.role is Role.PAGE else "POST"


def _token_request(endpoint: Endpoint, method: str, token: str | None, label: str) -> Sent:
    headers: dict[str, str] = {}
    body: bytes | None = None
    if token is not None:
        headers["Authorization"] = f"JWT {token}"
    if method == "POST":
        headers["Content-Type"] = "application/json"
        body = json.dumps(_post_body(endpoint)).encode()
    return Sent(method, endpoint.url, headers=headers, body=body, token=label)


def _post_body(endpoint: Endpoint) -> dict[str, object]:
    if endpoint.role is Role.WEBHOOK:
        return {
            "timestamp": 1700000000000,
            "webhookEvent": endpoint.module_key or "connectguard_probe",
            "user": {"accountId": "connectguard-probe"},
        }
    return {}


async def _send_all(client: HttpClient, requests: list[Sent]) -> list[Exchange]:
    results = await asyncio.gather(*(_send_judged(client, r) for r in requests))
    return [exchange for chain in results for exchange in chain]


async def _send_judged(client: HttpClient, request: Sent) -> list[Exchange]:
    """Send one probe; follow a redirect only when it merely adds or drops a trailing slash.

    The last exchange of the list is the one to judge.
    """
    first = await client.send(request)
    location = redirect_target(first)
    if location is None or not _only_trailing_slash(request.url, location):
        return [first]
    followed = Sent(
        request.method,
        location,
        request.headers,
        request.body,
        request.token,
        purpose="followed a trailing-slash redirect",
    )
    return [first, await client.send(followed)]


def _only_trailing_slash(url: str, location: str) -> bool:
    here, there = urlsplit(url), urlsplit(location)
    same_origin = (here.scheme, here.netloc) == (there.scheme, there.netloc)
    return (
        same_origin and here.path != there.path and here.path.rstrip("/") == there.path.rstrip("/")
    )


def _accepted(exchange: Exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300
