"""The transport probe: TLS, certificates, DNS, plain HTTP and domains of every origin an app uses.

`plan_transport` lists what to look at: every https origin (host and port) of the descriptor,
its URL, the baseUrl and every absolute URL in it, each with its role (an app origin, another
origin of the vendor's own domain, or a third party); every host name for DNS; the app hosts
for port 80. `gather_transport` then runs all the probes at once, each with its own deadline:
sslyze in worker threads off the event loop, DNS through dnspython and the configured
resolver, HTTP through the scan's `HttpClient`. A probe that fails or runs out of time is
recorded with its reason; nothing here raises past the scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from connectguard.connect.descriptor import Descriptor
from connectguard.connect.endpoints import EndpointPlan, absolute_urls
from connectguard.connect.urls import scheme_of
from connectguard.model import Exchange
from connectguard.net.dns import DnsClient
from connectguard.net.http import HttpClient, Sent
from connectguard.net.resolver import check_address
from connectguard.net.tls import TlsTarget, prepare_tls, scan_tls
from connectguard.probes.domains import is_ip_literal, rdap_expiry, registrable_domain
from connectguard.probes.takeover import TakeoverFingerprint, match_provider
from connectguard.probes.transport_evidence import (
    Delegation,
    DnsEvidence,
    DnsOutcome,
    DomainEvidence,
    OriginRole,
    PlainHttpEvidence,
    TlsEvidence,
    TransportEvidence,
)
from connectguard.settings import ScanOptions

log = logging.getLogger(__name__)

MAX_TLS_THREADS = 16
_T = TypeVar("_T")


@dataclass(frozen=True)
class TransportPlan:
    """What the transport probe looks at. `origins` maps each host to its origins (scheme,
    host, port) as the descriptor names them, for the takeover check's HTTP request."""

    tls: tuple[tuple[str, int, OriginRole], ...]
    hosts: tuple[str, ...]
    app_hosts: tuple[str, ...]
    origins: tuple[tuple[str, tuple[str, ...]], ...]
    dropped: int = 0  # origins left out: the plan is capped at `Limits.max_origins`

    def origins_of(self, host: str) -> tuple[str, ...]:
        return next((found for name, found in self.origins if name == host), ())


def plan_transport(
    target: str,
    chain_urls: tuple[str, ...],
    descriptor: Descriptor,
    plan: EndpointPlan,
    max_origins: int | None = None,
) -> TransportPlan:
    """Every origin and host the app uses, from the descriptor URL (and its redirects), the
    baseUrl and every absolute URL in the descriptor (relative URLs are on the baseUrl's origin;
    a host made of context variables is no real host and is left out).

    At most `max_origins` origins are kept, the app's own first; `dropped` counts the others.
    """
    urls = [target, *chain_urls, descriptor.base_url, *absolute_urls(descriptor.raw)]
    origins: dict[str, dict[str, None]] = {}
    tls: dict[tuple[str, int], None] = {}
    kept: set[str] = set()
    dropped: set[str] = set()
    for url in urls:
        parts = _split(url)
        if parts is None:
            continue
        scheme, host, port = parts
        origin = _origin(scheme, host, port)
        if origin not in kept and max_origins is not None and len(kept) >= max_origins:
            dropped.add(origin)
            continue
        kept.add(origin)
        origins.setdefault(host, {})[origin] = None
        if scheme == "https":
            tls[(host, port)] = None

    app_hosts = tuple(dict.fromkeys(h for o in plan.app_origins if (h := _host(o))))
    app_domains = {_owner(host) for host in app_hosts}
    roles = [(h, p, _role(h, p, plan.app_origins, app_domains)) for h, p in tls]
    return TransportPlan(
        tls=tuple(roles),
        hosts=tuple(host for host in origins if not is_ip_literal(host)),
        app_hosts=app_hosts,
        origins=tuple((host, tuple(found)) for host, found in origins.items()),
        dropped=len(dropped),
    )


async def gather_transport(
    client: HttpClient,
    options: ScanOptions,
    plan: TransportPlan,
    table: tuple[TakeoverFingerprint, ...],
) -> TransportEvidence:
    """Run every TLS, DNS, port-80 and RDAP probe of `plan` concurrently."""
    return await _Prober(client, options, plan, table).run()


class _Prober:
    """The probes of one scan, sharing the HTTP client, a DNS client and the TLS threads."""

    def __init__(
        self,
        client: HttpClient,
        options: ScanOptions,
        plan: TransportPlan,
        table: tuple[TakeoverFingerprint, ...],
    ) -> None:
        self.client = client
        self.options = options
        self.limits = options.limits
        self.plan = plan
        self.table = table
        self.dns = DnsClient(
            options.nameserver,
            authoritative_port=options.dns_port,
            query_timeout=min(2.0, options.limits.connect_timeout),
            allow_private=options.allow_private,
        )
        self.tls_slots = asyncio.Semaphore(MAX_TLS_THREADS)

    async def run(self) -> TransportEvidence:
        if self.plan.tls:
            await in_daemon_thread(prepare_tls)
        domains = _domains(self.plan.hosts)
        tls, dns, port80, rdap = await asyncio.gather(
            _all(self.tls(host, port, role) for host, port, role in self.plan.tls),
            _all(self.lookup(host) for host in self.plan.hosts),
            _all(self.plain_http(host) for host in self.plan.app_hosts),
            _all(self.registration(domain, hosts) for domain, hosts in domains.items()),
        )
        notes = []
        if self.options.proxy:
            notes.append("TLS, DNS and port-80 probes connect directly: --proxy carries HTTP only")
        return TransportEvidence(
            tls=tuple(tls),
            dns=tuple(dns),
            port80=tuple(port80),
            domains=tuple(rdap),
            notes=tuple(notes),
        )

    # --- TLS ----------------------------------------------------------------------------

    async def tls(self, host: str, port: int, role: OriginRole) -> TlsEvidence:
        """The TLS scan of one origin, all of it (address, a free thread, sslyze, the verifying
        handshake) inside the origin's deadline, itself inside the scan's."""
        deadline = self._deadline(self.limits.tls_deadline)
        try:
            return await asyncio.wait_for(self._tls(host, port, role, deadline), deadline)
        except TimeoutError:
            error = f"the TLS scan did not finish within {deadline:.0f} s"
            return TlsEvidence(host, port, role, error=error)

    async def _tls(self, host: str, port: int, role: OriginRole, deadline: float) -> TlsEvidence:
        try:
            address = await self._address(host, port)
        except TimeoutError:
            return TlsEvidence(host, port, role, error="no address: the DNS lookup timed out")
        except OSError as exc:
            return TlsEvidence(host, port, role, error=f"no address: {exc}")
        target = TlsTarget(host, port, address, role)
        timeout = min(self.limits.connect_timeout, deadline)
        async with self.tls_slots:
            evidence = await in_daemon_thread(scan_tls, target, self.options.ca_file, timeout)
        log.info("TLS of %s:%s scanned in %.0f ms", host, port, evidence.elapsed_ms)
        return evidence

    async def _address(self, host: str, port: int) -> str:
        """The address the project's resolver found (IPv4 first), so --nameserver holds."""
        bare = host.strip("[]")
        if is_ip_literal(bare):
            if not self.options.allow_private:
                check_address(bare, bare)
            return bare
        results = await asyncio.wait_for(
            self.client.resolver.resolve(host, port, socket.AF_UNSPEC),
            self.limits.connect_timeout,
        )
        addresses = [r["host"] for r in results]
        return next((a for a in addresses if ":" not in a), addresses[0])

    # --- DNS and takeover -------------------------------------------------------------------

    async def lookup(self, host: str) -> DnsEvidence:
        deadline = self._deadline(self.limits.dns_deadline)
        try:
            return await asyncio.wait_for(self._lookup(host), deadline)
        except TimeoutError:
            reason = f"the DNS lookups did not finish within {deadline:.0f} s"
            return DnsEvidence(host, DnsOutcome.ERROR, error=reason)

    async def _lookup(self, host: str) -> DnsEvidence:
        found = await self.dns.chain(host)
        provider = match_provider(found.cnames, self.table) if found.cnames else None
        responses: tuple[Exchange, ...] = ()
        if provider is not None and provider.has_response and found.addresses:
            responses = await self._ask_provider(host)
        delegations: tuple[Delegation, ...] = ()
        apex = registrable_domain(host)
        if apex is not None and found.outcome is not DnsOutcome.ERROR:
            delegations = await self.dns.delegations(host, apex)
        return DnsEvidence(
            host=host,
            outcome=found.outcome,
            cnames=found.cnames,
            addresses=found.addresses,
            error=found.error,
            provider=provider,
            responses=responses,
            delegations=delegations,
        )

    async def _ask_provider(self, host: str) -> tuple[Exchange, ...]:
        """GET / of each origin the descriptor names on `host`, as a browser would."""
        requests = [
            Sent("GET", origin + "/", purpose="takeover") for origin in self.plan.origins_of(host)
        ]
        return tuple(await asyncio.gather(*(self.client.send(r) for r in requests)))

    # --- plain HTTP ---------------------------------------------------------------------

    async def plain_http(self, host: str) -> PlainHttpEvidence:
        port = self.options.plain_http_port
        url = _origin("http", host, port) + "/"
        timeout = self._deadline(self.limits.plain_http_timeout)
        request = Sent("GET", url, purpose="plain HTTP")
        try:
            exchange = await asyncio.wait_for(self.client.send(request), timeout)
        except TimeoutError:
            exchange = Exchange(
                "GET", url, error=f"no answer within {timeout:.1f} s", purpose="plain HTTP"
            )
        return PlainHttpEvidence(host, port, exchange)

    # --- domains ------------------------------------------------------------------------

    async def registration(self, domain: str, hosts: tuple[str, ...]) -> DomainEvidence:
        if self.options.rdap_url is None:
            return DomainEvidence(domain, hosts)
        timeout = self._deadline(self.limits.request_timeout * 2)
        try:
            rdap = await asyncio.wait_for(
                rdap_expiry(self.client, self.options.rdap_url, domain), timeout
            )
        except TimeoutError:
            return DomainEvidence(domain, hosts)
        return DomainEvidence(domain, hosts, rdap)

    def _deadline(self, limit: float) -> float:
        return max(0.1, min(limit, self.client.remaining()))


async def _all(tasks: Iterator[Awaitable[_T]]) -> list[_T]:
    return list(await asyncio.gather(*tasks))


async def in_daemon_thread(function: Callable[..., _T], *args: Any) -> _T:
    """Run blocking `function(*args)` in a thread of its own, without blocking the event loop.

    sslyze and `ssl` time out per socket operation, so a server that drips a byte a second
    keeps them busy for as long as it likes. When the caller stops waiting (its deadline), the
    thread is left behind; being a daemon it never holds the process open, and the scan ends
    on time. NOTE: in a long-lived process such a thread lives on until the server lets go.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the caller gave up waiting
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = function(*args), None
        except BaseException as exc:  # handed to the caller, raised there
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the event loop is gone: nobody is waiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="connectguard-tls", daemon=True).start()
    return await future


def _domains(hosts: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for host in hosts:
        domain = registrable_domain(host)
        if domain is not None:
            found.setdefault(domain, []).append(host)
    return {domain: tuple(names) for domain, names in found.items()}


def _role(host: str, port: int, app_origins: tuple[str, ...], app_domains: set[str]) -> OriginRole:
    if _origin("https", host, port) in app_origins:
        return OriginRole.APP
    return OriginRole.VENDOR if _owner(host) in app_domains else OriginRole.EXTERNAL


def _owner(host: str) -> str:
    """Who owns a host: its registrable domain, or the address itself for an IP literal."""
    return registrable_domain(host) or host


def _split(url: str) -> tuple[str, str, int] | None:
    scheme = scheme_of(url)
    if scheme not in {"http", "https"}:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    if not host or not all(c.isalnum() or c in "-_.:" for c in host):
        return None  # a wildcard or a context variable, not a real host
    return scheme, host, port or (443 if scheme == "https" else 80)


def _origin(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = {"https": 443, "http": 80}[scheme]
    return f"{scheme}://{shown}" + ("" if port == default else f":{port}")


def _host(origin: str) -> str:
    parts = _split(origin)
    return parts[1] if parts else ""
