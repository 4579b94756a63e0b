"""Everything a scan gathered, in one immutable bundle that the checks read.

Probes fill it; checks never touch the network, they only read an `Evidence`.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.endpoints import Endpoint, EndpointPlan, Role
from connectguard.model import Exchange
from connectguard.probes.content import ContentEvidence
from connectguard.probes.transport_evidence import TransportEvidence

USER_JWT = "user-jwt"
"""The token label of requests that carry the non-admin user's own token (`--user-jwt`)."""


@dataclass(frozen=True)
class ProbeTenant:
    """A throw-away tenant whose install payload one probe carried (never a real tenant)."""

    token: str
    client_key: str
    shared_secret: str = field(repr=False)

    @classmethod
    def new(cls, token: str) -> ProbeTenant:
        return cls(token, f"connectguard-probe-{uuid.uuid4()}", secrets.token_hex(32))


@dataclass(frozen=True)
class EndpointEvidence:
    """The exchanges sent to one endpoint, each labelled with the token variant it carried.

    `skipped` says, per kind of probe, why it was not sent (a cacheable shell, no admin account).
    """

    endpoint: Endpoint
    exchanges: tuple[Exchange, ...]
    skipped: tuple[str, ...] = ()
    tenants: tuple[ProbeTenant, ...] = ()

    def by_token(self, token: str, method: str | None = None) -> list[Exchange]:
        return [
            e for e in self.exchanges if e.token == token and (method is None or e.method == method)
        ]


@dataclass(frozen=True)
class Credentials:
    """What the scan could sign with. The secret itself is not kept here."""

    client_key: str | None = None
    has_secret: bool = False
    user_account: str | None = None
    admin_account: str | None = None


@dataclass(frozen=True)
class Evidence:
    target: str
    scan_time: int
    descriptor_chain: tuple[Exchange, ...]
    descriptor: Descriptor
    plan: EndpointPlan
    endpoints: tuple[EndpointEvidence, ...] = ()
    host_responses: tuple[tuple[str, tuple[Exchange, ...]], ...] = ()
    resources: tuple[Exchange, ...] = ()
    transport: TransportEvidence = field(default_factory=TransportEvidence)
    credentials: Credentials = field(default_factory=Credentials)
    shared_secret_digest: str | None = None
    notes: tuple[str, ...] = ()
    content: ContentEvidence = field(default_factory=ContentEvidence)
    # The test installation's sharedSecret, for requirement 7 to look for in pages. Kept out of
    # repr and comparisons so that it cannot reach a log or a report by accident.
    shared_secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def descriptor_url(self) -> str:
        """The URL the descriptor was finally served from, after redirects."""
        for exchange in reversed(self.descriptor_chain):
            if exchange.status is not None and 200 <= exchange.status < 300:
                return exchange.url
        return self.target

    def app_exchanges(self) -> list[Exchange]:
        """Every exchange with the app origins except the descriptor fetch (a public document).

        Endpoint probes, the HSTS answers of each origin, the resources pages load, and the
        exposed-file probes with their random-path baselines (the app's error pages).
        """
        exchanges: list[Exchange] = []
        for endpoint in self.endpoints:
            exchanges.extend(endpoint.exchanges)
        # The descriptor's origin is judged for HSTS on the descriptor fetch itself.
        descriptor_fetch = {id(e) for e in self.descriptor_chain}
        for _, responses in self.host_responses:
            exchanges.extend(e for e in responses if id(e) not in descriptor_fetch)
        exchanges.extend(self.resources)
        for exposed in self.content.exposed:
            exchanges.extend(exposed.baselines)
            exchanges.extend(probe.exchange for probe in exposed.probes)
        return exchanges

    def page_responses(self) -> list[tuple[Endpoint | None, Exchange]]:
        """2xx answers with content from module pages on the app origins, and what they load.

        These are the responses requirements 2 and 12 judge: never the descriptor, never a
        lifecycle hook or a webhook, never a non-2xx answer. A sub-resource has no endpoint.
        """
        app_origins = set(self.plan.app_origins)
        pages: list[tuple[Endpoint | None, Exchange]] = []
        for item in self.endpoints:
            endpoint = item.endpoint
            if endpoint.external or endpoint.role is not Role.PAGE:
                continue
            pages.extend(
                (endpoint, e)
                for e in item.exchanges
                if e.method == "GET" and e.is_success_with_content and e.origin in app_origins
            )
        pages.extend(
            (None, e)
            for e in self.resources
            if e.is_success_with_content and e.origin in app_origins
        )
        return pages
