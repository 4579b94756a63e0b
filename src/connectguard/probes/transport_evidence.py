"""Evidence records of the transport probe: TLS handshakes, certificates, DNS answers, port 80.

They are gathered by `probes.transport` and read by the checks of requirements 1, 3 and 4. Each
record keeps the reason its probe failed, so a check can say why it could not decide.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connectguard.model import Exchange
from connectguard.probes.takeover import TakeoverFingerprint

LEGACY_PROTOCOLS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1")
PROTOCOLS = (*LEGACY_PROTOCOLS, "TLS 1.2", "TLS 1.3")


class OriginRole(enum.StrEnum):
    """Why an origin is scanned: an app origin, another origin of the vendor, or a third party."""

    APP = "app"
    VENDOR = "vendor"
    EXTERNAL = "external"


@dataclass(frozen=True)
class CertificateFacts:
    """One certificate of a chain as the server sent it. Times are ISO 8601 in UTC."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: str
    not_after: str
    key_type: str
    key_bits: int
    signature_hash: str | None
    self_issued: bool


@dataclass(frozen=True)
class ProtocolSupport:
    """Whether an origin accepted one SSL/TLS version, and with which cipher suites.

    `accepted` is None when the probe errored: the protocol was not judged.
    """

    protocol: str
    accepted: bool | None
    cipher_suites: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class TlsEvidence:
    """The TLS scan of one host and port: protocols, the chain it sent, and its verification.

    `error` is set when the probe failed as a whole (no address, reset, stalled, not TLS).
    `verified` is None when the verifying handshake could not complete for another reason than
    the certificate; `protocols` is empty for a third-party origin, whose versions are not probed.
    """

    host: str
    port: int
    role: OriginRole
    address: str | None = None
    error: str | None = None
    protocols: tuple[ProtocolSupport, ...] = ()
    chain: tuple[CertificateFacts, ...] = ()
    chain_has_root: bool = False
    verified: bool | None = None
    verify_error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}" + ("" if self.port == 443 else f":{self.port}")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class DnsOutcome(enum.StrEnum):
    """How the lookup of a host ended, after its CNAME chain."""

    RESOLVED = "resolved"
    NXDOMAIN = "nxdomain"
    NO_ADDRESS = "no-address"
    ERROR = "error"


@dataclass(frozen=True)
class NameserverAnswer:
    """What one name server of a delegation said when asked for the zone's SOA."""

    nameserver: str
    holds_zone: bool | None
    answer: str


@dataclass(frozen=True)
class Delegation:
    """A zone cut between a host and its registrable domain, and whether its servers serve it."""

    zone: str
    answers: tuple[NameserverAnswer, ...]

    @property
    def lame(self) -> bool:
        """True when every name server answered and none holds the zone."""
        return bool(self.answers) and all(a.holds_zone is False for a in self.answers)


@dataclass(frozen=True)
class DnsEvidence:
    """A host's CNAME chain and addresses through the configured resolver.

    `cnames` are the names after `host`, in order. When a name of the chain belongs to a
    provider of the takeover table, `provider` is that entry and `responses` what the host
    answered over HTTP, to compare with the provider's unclaimed response.
    """

    host: str
    outcome: DnsOutcome
    cnames: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    error: str | None = None
    provider: TakeoverFingerprint | None = None
    responses: tuple[Exchange, ...] = ()
    delegations: tuple[Delegation, ...] = ()

    @property
    def target(self) -> str:
        """The last name of the chain: the host itself when it has no CNAME."""
        return self.cnames[-1] if self.cnames else self.host


@dataclass(frozen=True)
class PlainHttpEvidence:
    """A GET of `http://host:port/` of an app host: a closed port is recorded as an error."""

    host: str
    port: int
    exchange: Exchange


@dataclass(frozen=True)
class RdapEvidence:
    """The registration record of a domain: its expiry, or why it could not be read."""

    url: str
    expires: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class DomainEvidence:
    """A registrable domain (public suffix list) the app depends on, and the hosts under it."""

    domain: str
    hosts: tuple[str, ...]
    rdap: RdapEvidence | None = None


@dataclass(frozen=True)
class TransportEvidence:
    """Everything the transport probe gathered for one scan."""

    tls: tuple[TlsEvidence, ...] = ()
    dns: tuple[DnsEvidence, ...] = ()
    port80: tuple[PlainHttpEvidence, ...] = ()
    domains: tuple[DomainEvidence, ...] = ()
    notes: tuple[str, ...] = ()
