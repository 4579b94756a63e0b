"""Authentication probes: each in-scope endpoint requested with no token, forged tokens, and,
when the user gave a test installation's credentials, valid and qsh-tampered tokens.

Every token carries a correctly computed `qsh`, the `sub` of the endpoint's valid token (the admin
account on admin pages) and, with credentials, the real clientKey, so the one defect under test
is the only one. The valid token goes first, with each method, so that a method the app does not
serve is not taken for a rejected token. The exchanges are labelled with the token variant; the
checks in `checks.auth` judge them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.endpoints import Endpoint, Role
from connectguard.connect.tokens import (
    COMPUTED,
    CONTEXT_QSH,
    ForgedToken,
    connect_token,
    forged_tokens,
    install_payload,
    install_tokens,
    qsh_tampered_tokens,
)
from connectguard.model import Exchange
from connectguard.net.http import HttpClient, Sent, redirect_target
from connectguard.probes.evidence import USER_JWT, EndpointEvidence, ProbeTenant

INSTALL_EVENTS = frozenset({"installed", "uninstalled"})
SIGNED_INSTALL_NOTE = "signed-install hook: the scanner cannot sign an RS256 install token"
NO_ADMIN_ACCOUNT_NOTE = "admin page and no admin account given: no valid-token control"


@dataclass(frozen=True)
class Signer:
    """What the scan may sign with: a test installation's credentials, or nothing."""

    base_url: str
    now: int
    client_key: str | None = None
    shared_secret: str | None = None
    user_account: str | None = None
    admin_account: str | None = None
    user_jwt: str | None = field(default=None, repr=False)

    @property
    def issuer(self) -> str:
        return self.client_key or PROBE_CLIENT_KEY

    def valid(self, method: str, url: str, subject: str | None, context: bool = False) -> str:
        """A correct token for this request; with `context`, a `context-qsh` token as an app's
        iframe sends to the app's own API."""
        assert self.shared_secret is not None
        return connect_token(
            method=method,
            url=url,
            base_url=self.base_url,
            issuer=self.issuer,
            secret=self.shared_secret,
            subject=subject,
            now=self.now,
            qsh=CONTEXT_QSH if context else COMPUTED,
        )


PROBE_CLIENT_KEY = f"connectguard-probe-{uuid.uuid4()}"
QSH_PROBES = frozenset({"no-qsh", "qsh-other-path", "qsh-other-query", "qsh-other-method"})


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
    variants: list[ForgedToken | None] = [None]
    variants.extend(
        install_tokens(
            endpoint.url, signer.base_url, signer.issuer, signer.now, signer.shared_secret
        )
    )
    tenants = [ProbeTenant.new(v.name if v else "none") for v in variants]
    requests = [
        install_request(endpoint, descriptor, event, tenant, forged)
        for tenant, forged in zip(tenants, variants, strict=True)
    ]
    exchanges = await _send_all(client, requests)
    return EndpointEvidence(
        endpoint, tuple(exchanges), skipped=(SIGNED_INSTALL_NOTE,), tenants=tuple(tenants)
    )


def install_request(
    endpoint: Endpoint,
    descriptor: Descriptor,
    event: str,
    tenant: ProbeTenant,
    forged: ForgedToken | None,
) -> Sent:
    """A lifecycle POST with a well-formed payload for `tenant`, carrying `forged` if given."""
    payload = install_payload(descriptor, tenant.client_key, tenant.shared_secret, event)
    headers = {"Content-Type": "application/json"}
    if forged is not None:
        headers["Authorization"] = f"JWT {forged.token}"
    return Sent(
        "POST",
        endpoint.url,
        headers=headers,
        body=json.dumps(payload).encode(),
        token=tenant.token,
        purpose=f"{event} payload",
    )


async def _probe_token_endpoint(
    client: HttpClient, endpoint: Endpoint, descriptor: Descriptor, signer: Signer
) -> EndpointEvidence:
    skipped: list[str] = []
    body = post_body(endpoint, descriptor)
    methods = methods_for(endpoint)
    # Every token sent here names the same user as the valid one, so that an app which checks
    # who the user is (an admin page) answers the defect under test, not a missing user.
    subject = _subject_for(endpoint, signer)

    # Positive control first, per method: with credentials, a correct token must be accepted,
    # or the rejections of forged tokens prove nothing about this endpoint.
    controls: dict[str, list[Exchange]] = {}
    if signer.shared_secret is not None:
        if endpoint.admin and signer.admin_account is None:
            skipped.append(NO_ADMIN_ACCOUNT_NOTE)
        else:
            controls = await _send_controls(client, endpoint, signer, subject, body)
    accepted = [method for method, chain in controls.items() if _accepted(chain[-1])]

    requests = [_token_request(endpoint, method, None, "none", body) for method in methods]
    for method in methods:
        for forged in forged_tokens(
            method,
            endpoint.url,
            signer.base_url,
            signer.issuer,
            signer.now,
            secret=signer.shared_secret,
            subject=subject,
        ):
            if forged.name in QSH_PROBES and endpoint.role is Role.API:
                continue
            requests.append(_token_request(endpoint, method, forged.token, forged.name, body))

    if endpoint.admin:
        requests.extend(_non_admin_requests(endpoint, signer, body))

    if endpoint.role is Role.API:
        # The app's iframes call its own API with context-qsh tokens, which bind no request:
        # a tampered qsh proves nothing there.
        skipped.append("API route: context-qsh tokens are legitimate, so qsh is not probed")
    elif accepted and signer.shared_secret is not None:
        # Each method whose valid token was accepted, so that the qsh is the only defect there:
        # an app may check qsh on GET and not on POST.
        for method in accepted:
            for forged in qsh_tampered_tokens(
                method,
                endpoint.url,
                signer.base_url,
                signer.issuer,
                signer.shared_secret,
                signer.now,
                subject=subject,
            ):
                requests.append(_token_request(endpoint, method, forged.token, forged.name, body))
    elif controls:
        skipped.append("the app did not accept a valid token here, so qsh was not probed")

    exchanges = [e for chain in controls.values() for e in chain]
    exchanges.extend(await _send_all(client, requests))
    return EndpointEvidence(endpoint, tuple(exchanges), skipped=tuple(skipped))


async def _send_controls(
    client: HttpClient, endpoint: Endpoint, signer: Signer, subject: str | None, body: bytes
) -> dict[str, list[Exchange]]:
    """A correct token with each method the endpoint is probed with, so that a method the app
    does not serve (405) is told apart from a rejected token."""
    methods = methods_for(endpoint)
    context = endpoint.role is Role.API
    requests = [
        _token_request(
            endpoint, method, signer.valid(method, endpoint.url, subject, context), "valid", body
        )
        for method in methods
    ]
    chains = await asyncio.gather(*(_send_judged(client, request) for request in requests))
    return dict(zip(methods, chains, strict=True))


def _non_admin_requests(endpoint: Endpoint, signer: Signer, body: bytes) -> list[Sent]:
    """An admin page requested, with each method, as a user who is not an administrator."""
    requests = []
    # A token the user gave is labelled apart: its qsh was made for some other request.
    label = USER_JWT if signer.user_jwt is not None else "non-admin-user"
    for method in methods_for(endpoint):
        token = _non_admin_token(endpoint, signer, method)
        if token is not None:
            requests.append(_token_request(endpoint, method, token, label, body))
    return requests


def _non_admin_token(endpoint: Endpoint, signer: Signer, method: str) -> str | None:
    """A non-admin user's token: given by the user, or signed for them."""
    if signer.user_jwt is not None:
        return signer.user_jwt
    if signer.shared_secret is not None and signer.user_account is not None:
        return signer.valid(method, endpoint.url, signer.user_account)
    return None


def _subject_for(endpoint: Endpoint, signer: Signer) -> str | None:
    """The `sub` of this endpoint's tokens: the admin account on admin pages, else the user's."""
    if endpoint.admin:
        return signer.admin_account
    return signer.user_account or signer.admin_account


def _token_request(
    endpoint: Endpoint, method: str, token: str | None, label: str, body: bytes = b"{}"
) -> Sent:
    headers: dict[str, str] = {}
    if token is not None:
        headers["Authorization"] = f"JWT {token}"
    if method != "POST":
        return Sent(method, endpoint.url, headers=headers, token=label)
    headers["Content-Type"] = "application/json"
    return Sent(method, endpoint.url, headers=headers, body=body, token=label)


def post_body(endpoint: Endpoint, descriptor: Descriptor) -> bytes:
    """What the product would POST there: a lifecycle payload, or a realistic webhook event."""
    if endpoint.role is Role.LIFECYCLE:
        event = endpoint.lifecycle_event or "enabled"
        payload = install_payload(descriptor, PROBE_CLIENT_KEY, secrets.token_hex(32), event)
        return json.dumps(payload).encode()
    if endpoint.role is Role.WEBHOOK:
        return json.dumps(_webhook_event(endpoint)).encode()
    return b"{}"


def _webhook_event(endpoint: Endpoint) -> dict[str, object]:
    event = endpoint.module_key if endpoint.module_type == "webhooks" else None
    user = {"accountId": "557058:connectguard-probe", "displayName": "connectguard probe"}
    if event is None or event.startswith("jira:") or "issue" in event:
        return {
            "timestamp": 1700000000000,
            "webhookEvent": event or "jira:issue_updated",
            "issue_event_type_name": "issue_updated",
            "user": user,
            "issue": {
                "id": "10001",
                "key": "TEST-1",
                "fields": {
                    "summary": "connectguard probe",
                    "project": {"id": "10000", "key": "TEST"},
                },
            },
        }
    return {
        "timestamp": 1700000000000,
        "event": event,
        "userAccountId": user["accountId"],
        "page": {"id": 123456, "title": "connectguard probe", "spaceKey": "TEST"},
    }


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


@dataclass(frozen=True)
class EndpointProbes:
    """The evidence of every endpoint, and what the scan did to an app that took a forged install.

    `signer` is what the token probes were signed with: the user's credentials, or, with
    `--probe-install`, the throw-away tenant the app accepted.
    """

    endpoints: tuple[EndpointEvidence, ...]
    signer: Signer
    notes: tuple[str, ...] = ()


async def probe_endpoints(
    client: HttpClient,
    endpoints: list[Endpoint],
    descriptor: Descriptor,
    signer: Signer,
    probe_install: bool,
    on_done: Callable[[int], None],
) -> EndpointProbes:
    """Probe every endpoint; clean up after (and, if asked, use) a forged install that worked."""
    done = 0

    async def one(endpoint: Endpoint, with_signer: Signer) -> EndpointEvidence:
        nonlocal done
        result = await probe_endpoint(client, endpoint, descriptor, with_signer)
        done += 1
        on_done(done)
        return result

    results = list(await asyncio.gather(*(one(e, signer) for e in endpoints)))
    accepted = accepted_installs(results)
    # Module entries the descriptor gives in a shape no URL can be read from were not probed.
    notes = list(descriptor.notes)
    if accepted and probe_install and signer.shared_secret is None:
        tenant = accepted[0]
        signer = replace(signer, client_key=tenant.client_key, shared_secret=tenant.shared_secret)
        again = [i for i, item in enumerate(results) if not _is_install_hook(item.endpoint)]
        redone = await asyncio.gather(*(one(results[i].endpoint, signer) for i in again))
        for index, item in zip(again, redone, strict=True):
            results[index] = item
        notes.append(
            f"--probe-install: the app accepted a forged install, so this scan registered the "
            f"throw-away tenant {tenant.client_key} and ran its authenticated probes as that tenant"
        )
    if accepted:
        notes.extend(await _uninstall(client, results, descriptor, accepted))
    return EndpointProbes(tuple(results), signer, tuple(notes))


def accepted_installs(results: list[EndpointEvidence]) -> list[ProbeTenant]:
    """The throw-away tenants an `installed` hook answered 2xx for."""
    tenants: list[ProbeTenant] = []
    for item in results:
        if item.endpoint.lifecycle_event != "installed":
            continue
        accepted = {e.token for e in item.exchanges if _accepted(e)}
        tenants.extend(t for t in item.tenants if t.token in accepted)
    return tenants


def _is_install_hook(endpoint: Endpoint) -> bool:
    return endpoint.role is Role.LIFECYCLE and endpoint.lifecycle_event in INSTALL_EVENTS


async def _uninstall(
    client: HttpClient,
    results: list[EndpointEvidence],
    descriptor: Descriptor,
    tenants: list[ProbeTenant],
) -> list[str]:
    """Send each registered throw-away tenant's uninstall, and say plainly what happened."""
    hooks = [r.endpoint for r in results if r.endpoint.lifecycle_event == "uninstalled"]
    keys = ", ".join(t.client_key for t in tenants)
    if not hooks:
        return [
            f"the app registered throw-away tenants ({keys}) and has no uninstalled hook: "
            "remove them by hand"
        ]
    requests = [
        replace(install_request(hooks[0], descriptor, "uninstalled", t, None), cleanup=True)
        for t in tenants
    ]
    answers = await asyncio.gather(*(client.send(r) for r in requests))
    notes = []
    for tenant, answer in zip(tenants, answers, strict=True):
        if _accepted(answer):
            notes.append(
                f"the throw-away tenant {tenant.client_key} was removed again "
                f"(uninstalled answered {answer.status})"
            )
        else:
            outcome = answer.error or f"answered {answer.status}"
            notes.append(
                f"the throw-away tenant {tenant.client_key} could not be removed "
                f"(uninstalled {outcome}): remove it by hand"
            )
    return notes
