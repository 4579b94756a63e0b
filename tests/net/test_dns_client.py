"""`net.dns.DnsClient` against a real DNS server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from connectguard.net.dns import DnsClient
from connectguard.probes.transport_evidence import DnsOutcome


def client(dns: Any) -> DnsClient:
    return DnsClient(dns.nameserver, authoritative_port=dns.port, query_timeout=1.0)


async def test_plain_host(dns_server: Any) -> None:
    dns_server.zone.add("app.example.test", "A", "192.0.2.1").add(
        "app.example.test", "AAAA", "2001:db8::1"
    )
    found = await client(dns_server).chain("app.example.test")
    assert found.outcome is DnsOutcome.RESOLVED and found.cnames == ()
    assert found.addresses == ("192.0.2.1", "2001:db8::1")


async def test_full_cname_chain(dns_server: Any) -> None:
    zone = dns_server.zone
    zone.add("docs.example.test", "CNAME", "edge.cdn.test")
    zone.add("edge.cdn.test", "CNAME", "pop-1.cdn.test")
    zone.add("pop-1.cdn.test", "A", "192.0.2.7")
    found = await client(dns_server).chain("Docs.Example.Test.")
    assert found.cnames == ("edge.cdn.test", "pop-1.cdn.test")
    assert found.outcome is DnsOutcome.RESOLVED and found.addresses == ("192.0.2.7",)


async def test_dangling_cname(dns_server: Any) -> None:
    dns_server.zone.add("docs.example.test", "CNAME", "gone.pages.test")
    found = await client(dns_server).chain("docs.example.test")
    assert found.outcome is DnsOutcome.NXDOMAIN and found.cnames == ("gone.pages.test",)


async def test_host_without_record(dns_server: Any) -> None:
    found = await client(dns_server).chain("nothing.example.test")
    assert found.outcome is DnsOutcome.NXDOMAIN and found.cnames == ()


async def test_target_without_address(dns_server: Any) -> None:
    dns_server.zone.add("a.example.test", "CNAME", "b.example.test")
    dns_server.zone.add("b.example.test", "NS", "ns1.example.test")
    found = await client(dns_server).chain("a.example.test")
    assert found.outcome is DnsOutcome.NO_ADDRESS and found.addresses == ()


async def test_servfail_is_an_error_with_its_reason(dns_server: Any) -> None:
    dns_server.zone.servfail.add("broken.example.test")
    found = await client(dns_server).chain("broken.example.test")
    assert found.outcome is DnsOutcome.ERROR and "SERVFAIL" in (found.error or "")


async def test_cname_loop(dns_server: Any) -> None:
    dns_server.zone.add("a.example.test", "CNAME", "b.example.test")
    dns_server.zone.add("b.example.test", "CNAME", "a.example.test")
    found = await client(dns_server).chain("a.example.test")
    assert found.outcome is DnsOutcome.ERROR and "loop" in (found.error or "")


async def test_no_server_is_an_error_not_a_hang() -> None:
    silent = DnsClient(("127.0.0.1", 9), query_timeout=0.3)
    found = await silent.chain("app.example.test")
    assert found.outcome is DnsOutcome.ERROR and found.error


async def test_delegations(dns_server: Any) -> None:
    zone = dns_server.zone
    zone.add("app.shop.example.test", "A", "192.0.2.1")
    # shop.example.test is delegated to a provider that never created the zone...
    zone.add("shop.example.test", "NS", "ns1.provider.test")
    zone.add("ns1.provider.test", "A", "127.0.0.1")
    # ...while example.test is served by its name server.
    zone.add("example.test", "NS", "ns.example.test").add("ns.example.test", "A", "127.0.0.1")
    zone.serves.add("example.test")

    found = await client(dns_server).delegations("app.shop.example.test", "example.test")
    by_zone = {d.zone: d for d in found}
    assert set(by_zone) == {"shop.example.test", "example.test"}
    assert by_zone["shop.example.test"].lame
    assert "REFUSED" in by_zone["shop.example.test"].answers[0].answer
    assert not by_zone["example.test"].lame
    assert by_zone["example.test"].answers[0].holds_zone is True


async def test_delegation_to_a_name_server_that_does_not_exist(dns_server: Any) -> None:
    dns_server.zone.add("example.test", "NS", "ns1.expired-provider.test")
    found = await client(dns_server).delegations("example.test", "example.test")
    assert found[0].lame and "does not exist" in found[0].answers[0].answer
