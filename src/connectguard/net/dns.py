"""The DNS side of the network seam: CNAME chains, addresses and delegations, with dnspython.

Every lookup goes through the configured resolver (`--nameserver`, else the system's), built by
`net.resolver.make_dns_resolver`. Only the delegation check asks other servers: the name
servers a zone is delegated to, directly, to learn whether they really serve it. Failures are
returned as data, never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from connectguard.net.resolver import is_forbidden_address, make_dns_resolver
from connectguard.probes.transport_evidence import Delegation, DnsOutcome, NameserverAnswer

log = logging.getLogger(__name__)

MAX_CHAIN = 16
MAX_NAMESERVERS = 4


@dataclass(frozen=True)
class ChainLookup:
    """A host's CNAME chain (the names after it) and the addresses of its last name."""

    outcome: DnsOutcome
    cnames: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    error: str | None = None


class _LookupFailed(Exception):
    """A lookup that neither answered nor said NXDOMAIN (SERVFAIL, timeout, refused)."""


class DnsClient:
    """Lookups through the configured resolver, and direct SOA questions to name servers."""

    def __init__(
        self,
        nameserver: tuple[str, int] | None,
        *,
        authoritative_port: int = 53,
        query_timeout: float = 2.0,
        allow_private: bool = True,
    ) -> None:
        self.resolver: dns.asyncresolver.Resolver = make_dns_resolver(nameserver)
        self.resolver.lifetime = min(self.resolver.lifetime, 2 * query_timeout + 1)
        self.authoritative_port = authoritative_port
        self.query_timeout = query_timeout
        self.allow_private = allow_private

    async def chain(self, host: str) -> ChainLookup:
        """Follow `host`'s CNAMEs one query at a time, then look up A and AAAA of the last name.

        NXDOMAIN anywhere ends the chain with outcome NXDOMAIN; with no CNAME before it, the
        host itself has no record.
        """
        names = [_normal(host)]
        try:
            for _ in range(MAX_CHAIN):
                target = await self._cname(names[-1])
                if target is None:
                    break
                if target in names:
                    return ChainLookup(DnsOutcome.ERROR, tuple(names[1:]), error="a CNAME loop")
                names.append(target)
            else:
                return ChainLookup(
                    DnsOutcome.ERROR, tuple(names[1:]), error="a CNAME chain too long"
                )
            addresses = await self.addresses(names[-1])
        except dns.resolver.NXDOMAIN:
            return ChainLookup(DnsOutcome.NXDOMAIN, tuple(names[1:]))
        except _LookupFailed as exc:
            return ChainLookup(DnsOutcome.ERROR, tuple(names[1:]), error=str(exc))
        outcome = DnsOutcome.RESOLVED if addresses else DnsOutcome.NO_ADDRESS
        return ChainLookup(outcome, tuple(names[1:]), addresses)

    async def addresses(self, name: str) -> tuple[str, ...]:
        """A and AAAA records of `name`; raise NXDOMAIN or `_LookupFailed`."""
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            answer = await self._resolve(name, rdtype)
            if answer.rrset is not None:
                found.extend(rdata.to_text() for rdata in answer.rrset)
        return tuple(found)

    async def delegations(self, host: str, apex: str) -> tuple[Delegation, ...]:
        """Each zone cut from `host` up to its registrable domain `apex`, and whether the
        name servers it is delegated to answer for it with authority."""
        found = []
        for zone in _zones_between(_normal(host), _normal(apex)):
            try:
                answer = await self._resolve(zone, "NS")
            except (dns.resolver.NXDOMAIN, _LookupFailed):
                continue
            if answer.rrset is None or _normal(answer.rrset.name.to_text()) != zone:
                continue
            servers = sorted(_normal(rdata.to_text()) for rdata in answer.rrset)
            answers = [await self._asks(zone, ns) for ns in servers[:MAX_NAMESERVERS]]
            found.append(Delegation(zone, tuple(answers)))
        return tuple(found)

    async def _asks(self, zone: str, nameserver: str) -> NameserverAnswer:
        """Ask `nameserver` directly for the SOA of `zone`."""
        try:
            addresses = await self.addresses(nameserver)
        except dns.resolver.NXDOMAIN:
            return NameserverAnswer(nameserver, False, "the name server's name does not exist")
        except _LookupFailed as exc:
            return NameserverAnswer(nameserver, None, f"its address could not be found: {exc}")
        usable = [a for a in addresses if self.allow_private or not is_forbidden_address(a)]
        if not usable:
            return NameserverAnswer(nameserver, None, "it has no usable address")
        query = dns.message.make_query(zone, dns.rdatatype.SOA)
        try:
            response = await dns.asyncquery.udp(
                query, usable[0], timeout=self.query_timeout, port=self.authoritative_port
            )
        except (dns.exception.DNSException, OSError) as exc:
            return NameserverAnswer(nameserver, None, f"no answer: {_reason(exc)}")
        return _judge_soa(nameserver, zone, response)

    async def _cname(self, name: str) -> str | None:
        answer = await self._resolve(name, "CNAME")
        if answer.rrset is None:
            return None
        return next((_normal(rdata.to_text()) for rdata in answer.rrset), None)

    async def _resolve(self, name: str, rdtype: str) -> dns.resolver.Answer:
        """One query through the resolver: an answer (maybe empty), NXDOMAIN, or `_LookupFailed`."""
        try:
            return await self.resolver.resolve(
                dns.name.from_text(name), rdtype, raise_on_no_answer=False, search=False
            )
        except dns.resolver.NXDOMAIN:
            raise
        except dns.resolver.NoNameservers as exc:
            raise _LookupFailed(f"{rdtype} lookup of {name}: {_no_nameservers(exc)}") from None
        except dns.exception.DNSException as exc:
            raise _LookupFailed(f"{rdtype} lookup of {name}: {_reason(exc)}") from None


def _judge_soa(nameserver: str, zone: str, response: dns.message.Message) -> NameserverAnswer:
    rcode = dns.rcode.to_text(response.rcode())
    if response.rcode() != dns.rcode.NOERROR:
        return NameserverAnswer(nameserver, False, f"it answered {rcode}")
    if not response.flags & dns.flags.AA:
        return NameserverAnswer(nameserver, False, "it answered without authority")
    has_soa = any(
        rrset.rdtype == dns.rdatatype.SOA and _normal(rrset.name.to_text()) == zone
        for rrset in response.answer
    )
    if not has_soa:
        return NameserverAnswer(nameserver, False, "it answered with authority but no SOA")
    return NameserverAnswer(nameserver, True, "it serves the zone")


def _zones_between(host: str, apex: str) -> list[str]:
    """`host`, its parents, down to and including `apex` (empty when `host` is not under it)."""
    if host != apex and not host.endswith("." + apex):
        return []
    labels = host.split(".")
    depth = len(apex.split("."))
    return [".".join(labels[i:]) for i in range(len(labels) - depth + 1)]


def _normal(name: str) -> str:
    return name.rstrip(".").lower()


def _no_nameservers(exc: dns.resolver.NoNameservers) -> str:
    for error in exc.kwargs.get("errors") or []:
        # (server, over TCP, port, an exception or the rcode as text, the response)
        problem = error[3] if len(error) > 3 else None
        if isinstance(problem, str):
            return f"the name server answered {problem}"
        if problem is not None:
            return _reason(problem)
    return "no name server answered"


def _reason(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
