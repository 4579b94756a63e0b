"""The network seam against hostile servers, in process: the address guard (also against DNS
rebinding), the deadline over queued requests, the per-scan body budget, and TLS threads that
cannot hold a scan past its deadline.

Real servers on 127.0.0.1 and a real DNS server on loopback; nothing is patched. The guard
refuses loopback, so tests that need one allowed address use the test-only exemption of
127.0.0.1/32 and prove that everything else (127.0.0.2, metadata...) is still refused.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from hostile_fixtures import brotli_bomb, silent
from hostile_servers import LoopbackDns, RawServer, response, static

from connectguard.model import Exchange
from connectguard.net.http import NOT_SENT, SPENT_BUDGET_PREFIX, HttpClient, Sent
from connectguard.net.resolver import (
    AddressGuardError,
    exempt_for_tests,
    is_forbidden_address,
    parse_nameserver,
)
from connectguard.probes.transport import in_daemon_thread
from connectguard.settings import Limits

GUARD = "blocked by the address guard"
MB = 1024 * 1024


@pytest.fixture
def exempt_loopback() -> Iterator[None]:
    exempt_for_tests("127.0.0.1/32")
    try:
        yield
    finally:
        exempt_for_tests()


def fetch(url: str, limits: Limits | None = None, nameserver: str | None = None) -> Exchange:
    async def run() -> Exchange:
        ns = parse_nameserver(nameserver) if nameserver else None
        async with HttpClient(limits or Limits(), nameserver=ns, allow_private=False) as client:
            return await client.send(Sent("GET", url))

    return asyncio.run(run())


# --- the address guard -------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "①②⑦.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "127.1"]
)
def test_guard_refuses_loopback_however_it_is_spelled(host: str) -> None:
    with RawServer({"/x": static(response(200, b"internal"))}) as server:
        exchange = fetch(f"http://{host}:{server.port}/x")
    assert exchange.status is None
    assert exchange.error is not None
    assert GUARD in exchange.error or "not a canonical IPv4 address" in exchange.error
    assert server.stats.connections == 0


def test_exemption_lets_one_network_through_and_nothing_else(exempt_loopback: None) -> None:
    assert not is_forbidden_address("127.0.0.1")
    for address in ["127.0.0.2", "169.254.169.254", "10.0.0.1", "::1", "fe80::1", "fd00:ec2::254"]:
        assert is_forbidden_address(address), address
    exempt_for_tests()
    assert is_forbidden_address("127.0.0.1")
    exempt_for_tests("127.0.0.1/32")


def test_a_name_that_rebinds_is_refused_at_connect_time(exempt_loopback: None) -> None:
    name = "rebind.hostile.test"
    with (
        RawServer({"/x": static(response(200, b"public page"))}) as server,
        LoopbackDns({name: ("127.0.0.1", "127.0.0.2")}) as dns,
    ):
        url = f"http://{name}:{server.port}/x"

        async def scan_twice() -> tuple[Exchange, Exchange]:
            ns = parse_nameserver(dns.nameserver)
            async with HttpClient(Limits(), nameserver=ns, allow_private=False) as client:
                first = await client.send(Sent("GET", url))
                # The client keeps the answer it checked: the next request goes to the same
                # address, whatever the name says now.
                second = await client.send(Sent("GET", url))
                with pytest.raises(AddressGuardError, match=r"127\.0\.0\.2"):
                    await client.resolver.resolve(name, server.port)
                return first, second

        first, second = asyncio.run(scan_twice())
        assert (first.status, second.status) == (200, 200)
        assert server.stats.local_addresses == {"127.0.0.1"}
        connections = server.stats.connections

        again = fetch(url, nameserver=dns.nameserver)  # a new scan asks again: now 127.0.0.2
        assert again.status is None
        assert again.error is not None and GUARD in again.error and "127.0.0.2" in again.error
        assert server.stats.connections == connections
        assert dns.asked(name) >= 3


def test_an_answer_with_one_forbidden_address_is_refused_whole(exempt_loopback: None) -> None:
    name = "mixed.hostile.test"
    with (
        RawServer({"/x": static(response(200, b"x"))}) as server,
        LoopbackDns({name: ("127.0.0.1,169.254.169.254",)}) as dns,
    ):
        exchange = fetch(f"http://{name}:{server.port}/x", nameserver=dns.nameserver)
    assert exchange.error is not None and "169.254.169.254" in exchange.error
    assert server.stats.connections == 0


# --- time and size ----------------------------------------------------------------------------


def test_the_deadline_bounds_requests_waiting_for_a_slot() -> None:
    limits = Limits(concurrency=2, request_timeout=1.0, scan_deadline=1.5)
    with RawServer({"/x": silent(10)}) as server:

        async def many() -> list[Exchange]:
            async with HttpClient(limits, allow_private=True) as client:
                return list(
                    await asyncio.gather(
                        *(client.send(Sent("GET", server.url("/x"))) for _ in range(20))
                    )
                )

        started = time.monotonic()
        exchanges = asyncio.run(many())
        elapsed = time.monotonic() - started
    # 20 requests, two at a time, a second each: 10 s without the deadline.
    assert elapsed < 3.0
    assert sum(e.error == NOT_SENT for e in exchanges) >= 14
    assert all(e.error for e in exchanges)


def test_a_cleanup_request_may_run_a_little_past_the_deadline() -> None:
    limits = Limits(request_timeout=1.0, scan_deadline=0.1)
    with RawServer({"/uninstalled": static(response(204, b""))}) as server:

        async def after_the_deadline() -> tuple[Exchange, Exchange]:
            async with HttpClient(limits, allow_private=True) as client:
                await asyncio.sleep(0.3)  # the deadline has passed
                plain = await client.send(Sent("POST", server.url("/uninstalled")))
                cleanup = Sent("POST", server.url("/uninstalled"), cleanup=True)
                return plain, await client.send(cleanup)

        plain, cleanup = asyncio.run(after_the_deadline())
    assert plain.error == NOT_SENT
    assert cleanup.status == 204 and cleanup.error is None


def test_bodies_past_the_scan_budget_are_cut_to_a_prefix() -> None:
    limits = Limits(max_body_bytes=MB, max_scan_body_bytes=3 * MB, max_descriptor_bytes=MB)
    with RawServer({"/bomb": brotli_bomb(200)}) as server:

        async def six() -> tuple[list[Exchange], int]:
            async with HttpClient(limits, allow_private=True) as client:
                exchanges = [await client.send(Sent("GET", server.url("/bomb"))) for _ in range(6)]
                return exchanges, client.cut_by_budget

        exchanges, cut = asyncio.run(six())
    assert [len(e.body) for e in exchanges] == [MB] * 3 + [SPENT_BUDGET_PREFIX] * 3
    assert all(e.truncated for e in exchanges)
    assert cut == 3


def test_a_thread_left_behind_never_holds_the_process() -> None:
    release = threading.Event()

    async def give_up() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(in_daemon_thread(release.wait, 30), 0.2)

    started = time.monotonic()
    asyncio.run(give_up())
    assert time.monotonic() - started < 2
    left = [t for t in threading.enumerate() if t.name == "connectguard-tls"]
    assert left and all(t.daemon for t in left)
    release.set()  # it ends now; its answer finds no event loop and is dropped quietly
    for thread in left:
        thread.join(2)
        assert not thread.is_alive()
