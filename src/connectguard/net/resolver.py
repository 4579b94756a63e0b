"""Name resolution for the network seam, and the guard against private addresses.

Every lookup the scan makes goes through `GuardedResolver`: the system resolver by default, or
the DNS server the user named (`--nameserver HOST:PORT`). With the guard on, an answer that is
a private, loopback, link-local, reserved or cloud-metadata address is refused after
resolution, so a name that rebinds to an internal address between lookups is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_exempt_for_tests: tuple[IpNetwork, ...] = ()


class AddressGuardError(OSError):
    """A host resolved to an address the guard refuses."""


def exempt_for_tests(*networks: str) -> None:
    """TEST ONLY: let the guard allow `networks`, and nothing else new.

    The hostile-target suite serves its apps on 127.0.0.1, which the guard refuses; it calls
    this in the scan's child process so that one test network stands in for the public
    internet while every other private, loopback and metadata address stays refused. No
    option, setting or environment variable of connectguard reaches it. No argument: reset.
    """
    global _exempt_for_tests
    _exempt_for_tests = tuple(ipaddress.ip_network(n) for n in networks)


def is_forbidden_address(address: str) -> bool:
    """True for addresses a scan of the public internet must never reach."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in _exempt_for_tests):
        return False
    return (
        ip in METADATA_ADDRESSES
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_address(host: str, address: str) -> None:
    """Raise `AddressGuardError` if `address` (which `host` resolved to) is forbidden."""
    if is_forbidden_address(address):
        raise AddressGuardError(
            f"refused to connect to {host} ({address}): private, loopback, link-local or "
            "metadata addresses are blocked by the address guard"
        )


def parse_nameserver(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `HOST` (port 53); IPv6 as `[::1]:5353`."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":") or "53"
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, "53"
    try:
        ipaddress.ip_address(host)
        port = int(port_text)
    except ValueError:
        raise ValueError(
            f"nameserver {text!r} is not an IP address with an optional :PORT"
        ) from None
    if not 0 < port < 65536:
        raise ValueError(f"nameserver port {port} is out of range")
    return host, port


def make_dns_resolver(nameserver: tuple[str, int] | None) -> dns.asyncresolver.Resolver:
    """A dnspython resolver for the configured server, or the system's configuration."""
    if nameserver is None:
        try:
            return dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
            return resolver
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [nameserver[0]]
    resolver.port = nameserver[1]
    resolver.lifetime = 5.0
    resolver.timeout = 2.0
    return resolver


class GuardedResolver(AbstractResolver):
    """aiohttp resolver: system or named DNS server, then the address guard when it is on."""

    def __init__(self, nameserver: tuple[str, int] | None, allow_private: bool) -> None:
        self.nameserver = nameserver
        self.allow_private = allow_private
        self._system = ThreadedResolver() if nameserver is None else None
        self._dns = make_dns_resolver(nameserver) if nameserver is not None else None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._system is not None:
            results = await self._system.resolve(host, port, family)
        else:
            results = await self._resolve_dns(host, port)
        if not self.allow_private:
            for result in results:
                check_address(host, result["host"])
        return results

    async def _resolve_dns(self, host: str, port: int) -> list[ResolveResult]:
        assert self._dns is not None
        results: list[ResolveResult] = []
        for rdtype, family in (("A", socket.AF_INET), ("AAAA", socket.AF_INET6)):
            try:
                answer = await self._dns.resolve(host, rdtype)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                raise OSError(f"DNS lookup of {host} failed: {exc}") from None
            results.extend(_result(host, rdata.to_text(), port, family) for rdata in answer)
        if not results:
            raise OSError(f"DNS: {host} has no A or AAAA record")
        return results

    async def close(self) -> None:
        if self._system is not None:
            await self._system.close()


def _result(host: str, address: str, port: int, family: socket.AddressFamily) -> ResolveResult:
    result: dict[str, Any] = {
        "hostname": host,
        "host": address,
        "port": port,
        "family": family,
        "proto": 0,
        "flags": socket.AI_NUMERICHOST,
    }
    return result  # type: ignore[return-value]
