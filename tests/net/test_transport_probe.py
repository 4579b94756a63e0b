"""`probes.transport.gather_transport` end to end on loopback, judged by the real checks.

Takeover: every provider of the built-in table, against a DNS server and an HTTP server that
answer as the provider does for an unclaimed name, and as a live site would. Port 80, bad TLS
servers with their deadlines, and RDAP over HTTPS.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from connectguard.checks.certificates import check_certificates
from connectguard.checks.dns import check_dns_takeover
from connectguard.checks.domains import check_domains
from connectguard.checks.tls import check_plain_http_port, check_tls_protocols
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Exchange, Judgement
from connectguard.net.http import HttpClient
from connectguard.probes.evidence import Evidence
from connectguard.probes.takeover import TakeoverFingerprint, builtin_table
from connectguard.probes.transport import TransportPlan, gather_transport
from connectguard.probes.transport_evidence import OriginRole, TransportEvidence
from connectguard.settings import Limits, ScanOptions
from connectguard.verdicts import combine

HOST = "docs.vendor.test"
TABLE = builtin_table()
WITH_RESPONSE = [p for p in TABLE if p.has_response]
NXDOMAIN_ONLY = [p for p in TABLE if not p.has_response]


def plan(**fields: Any) -> TransportPlan:
    values: dict[str, Any] = {"tls": (), "hosts": (), "app_hosts": (), "origins": ()}
    values.update(fields)
    return TransportPlan(**values)


async def gather(
    transport_plan: TransportPlan, dns: Any = None, **options: Any
) -> TransportEvidence:
    limits = options.pop("limits", Limits(connect_timeout=2))
    scan_options = ScanOptions(
        target="https://app.vendor.test/atlassian-connect.json",
        nameserver=dns.nameserver if dns else None,
        dns_port=dns.port if dns else 53,
        allow_private=True,
        limits=limits,
        **options,
    )
    async with HttpClient(
        limits, ca_file=scan_options.ca_file, nameserver=scan_options.nameserver, allow_private=True
    ) as client:
        return await gather_transport(client, scan_options, transport_plan, TABLE)


def verdict(judgements: list[Judgement], number: str) -> str:
    return next(r for r in combine(judgements) if r.requirement == number).verdict.value


def evidence(transport: TransportEvidence, scan_time: dt.datetime | None = None) -> Evidence:
    url = "https://app.vendor.test/atlassian-connect.json"
    descriptor = parse_descriptor(
        json.dumps({"key": "k", "name": "n", "baseUrl": "https://app.vendor.test"}), url
    )
    moment = scan_time or dt.datetime.now(dt.UTC)
    return Evidence(
        target=url,
        scan_time=int(moment.timestamp()),
        descriptor_chain=(Exchange("GET", url, status=200),),
        descriptor=descriptor,
        plan=plan_endpoints(descriptor, url),
        transport=transport,
    )


def provider_name(provider: TakeoverFingerprint) -> str:
    """A name the provider's first pattern matches: each `*` becomes a label."""
    return provider.cnames[0].replace("*", "unclaimed-vendor")


# --- takeover -----------------------------------------------------------------------------


async def takeover_verdict(dns_server: Any, loopback: Any, target: str, answer: bytes) -> str:
    dns_server.zone.add(HOST, "CNAME", target).add(target, "A", "127.0.0.1")
    port = loopback.plain(answer)
    origins = ((HOST, (f"http://{HOST}:{port}",)),)
    found = await gather(plan(hosts=(HOST,), origins=origins), dns_server)
    (record,) = found.dns
    assert record.cnames == (target,) and record.responses, record
    return verdict(check_dns_takeover(evidence(found)), "4")


@pytest.mark.parametrize("provider", WITH_RESPONSE, ids=[p.name for p in WITH_RESPONSE])
async def test_unclaimed_response_fails(
    dns_server: Any, loopback: Any, provider: TakeoverFingerprint
) -> None:
    assert provider.marker is not None
    page = f"<html><body><p>{provider.marker}</p></body></html>"
    answer = loopback.http_answer(provider.status or 404, page)
    target = provider_name(provider)
    assert await takeover_verdict(dns_server, loopback, target, answer) == "fail"


@pytest.mark.parametrize("provider", WITH_RESPONSE, ids=[p.name for p in WITH_RESPONSE])
async def test_live_site_quoting_the_words_passes(
    dns_server: Any, loopback: Any, provider: TakeoverFingerprint
) -> None:
    assert provider.marker is not None
    page = f"<html><body><h1>Our docs</h1><p>Troubleshooting: {provider.marker}</p></body></html>"
    answer = loopback.http_answer(200, page)
    target = provider_name(provider)
    assert await takeover_verdict(dns_server, loopback, target, answer) == "pass"


@pytest.mark.parametrize("provider", NXDOMAIN_ONLY, ids=[p.name for p in NXDOMAIN_ONLY])
async def test_dangling_name_at_provider_fails(
    dns_server: Any, provider: TakeoverFingerprint
) -> None:
    dns_server.zone.add(HOST, "CNAME", provider_name(provider))
    found = await gather(plan(hosts=(HOST,)), dns_server)
    result = check_dns_takeover(evidence(found))
    assert verdict(result, "4") == "fail"
    assert f"claim that name at {provider.name}" in result[0].findings[0].summary


@pytest.mark.parametrize("provider", NXDOMAIN_ONLY, ids=[p.name for p in NXDOMAIN_ONLY])
async def test_live_name_at_provider_passes(dns_server: Any, provider: TakeoverFingerprint) -> None:
    target = provider_name(provider)
    dns_server.zone.add(HOST, "CNAME", target).add(target, "A", "127.0.0.1")
    found = await gather(plan(hosts=(HOST,)), dns_server)
    assert found.dns[0].responses == ()  # nothing to compare: the name resolves, that is all
    assert verdict(check_dns_takeover(evidence(found)), "4") == "pass"


async def test_servfail_host_is_inconclusive(dns_server: Any) -> None:
    dns_server.zone.servfail.add(HOST)
    found = await gather(plan(hosts=(HOST,)), dns_server)
    assert verdict(check_dns_takeover(evidence(found)), "4") == "inconclusive"


# --- port 80 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((301, "", {"Location": "https://127.0.0.1/"}), "pass"),
        ((200, "<h1>Welcome</h1>", {}), "fail"),
        ((302, "", {"Location": "http://127.0.0.1/login"}), "fail"),
    ],
)
async def test_port80(
    loopback: Any, answer: tuple[int, str, dict[str, str]], expected: str
) -> None:
    port = loopback.plain(loopback.http_answer(*answer))
    found = await gather(plan(app_hosts=("127.0.0.1",)), plain_http_port=port)
    assert found.port80[0].exchange.status == answer[0]
    assert verdict(check_plain_http_port(evidence(found)), "1") == expected


async def test_port80_closed_is_fine(loopback: Any) -> None:
    port = loopback.resetting()
    loopback.stack.close()
    found = await gather(plan(app_hosts=("127.0.0.1",)), plain_http_port=port)
    assert found.port80[0].exchange.error is not None
    assert verdict(check_plain_http_port(evidence(found)), "1") == "pass"


# --- TLS: bad servers, deadlines, concurrency ---------------------------------------------


async def test_each_origin_has_its_own_deadline(loopback: Any) -> None:
    good = loopback.tls(loopback.context("127.0.0.1"))
    stalled, reset, plain = (
        loopback.stalling(),
        loopback.resetting(),
        loopback.plain(loopback.http_answer(400, "plain HTTP")),
    )
    origins = tuple(("127.0.0.1", p, OriginRole.APP) for p in (good, stalled, reset, plain))
    limits = Limits(connect_timeout=3, tls_deadline=5)
    started = time.monotonic()
    found = await gather(plan(tls=origins), ca_file=loopback.ca_file, limits=limits)
    elapsed = time.monotonic() - started

    by_port = {scan.port: scan for scan in found.tls}
    assert by_port[good].error is None and by_port[good].verified is True, by_port[good]
    assert "did not finish within" in (by_port[stalled].error or "")
    assert by_port[reset].error and by_port[plain].error
    assert elapsed < 5 + 3, elapsed  # all at once, the stalled one cut at its deadline
    judged = evidence(found)
    assert verdict(check_tls_protocols(judged), "1") == "inconclusive"
    assert verdict(check_certificates(judged), "3") == "inconclusive"


async def test_unresolvable_origin_is_recorded(dns_server: Any) -> None:
    origins = (("nothing.vendor.test", 443, OriginRole.APP),)
    found = await gather(plan(tls=origins), dns_server)
    assert (found.tls[0].error or "").startswith("no address")


# --- RDAP ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "expected"), [(-3, "fail"), (400, "pass")])
async def test_rdap_expiry(dns_server: Any, loopback: Any, days: int, expected: str) -> None:
    dns_server.zone.add("app.vendor.test", "A", "127.0.0.1")
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()
    document = {"objectClassName": "domain", "ldhName": "vendor.test",
                "events": [{"eventAction": "expiration", "eventDate": expiry}]}  # fmt: skip
    answer = loopback.http_answer(
        200, json.dumps(document), {"Content-Type": "application/rdap+json"}
    )
    port = loopback.tls(loopback.context("127.0.0.1"), answer)
    found = await gather(
        plan(hosts=("app.vendor.test",)),
        dns_server,
        rdap_url=f"https://127.0.0.1:{port}/rdap",
        ca_file=loopback.ca_file,
    )
    (domain,) = found.domains
    assert domain.domain == "vendor.test" and domain.rdap is not None
    assert domain.rdap.url.endswith("/rdap/domain/vendor.test")
    assert domain.rdap.expires == expiry
    assert verdict(check_domains(evidence(found)), "3") == expected


async def test_rdap_is_off_by_default(dns_server: Any) -> None:
    dns_server.zone.add("app.vendor.test", "A", "127.0.0.1")
    found = await gather(plan(hosts=("app.vendor.test",)), dns_server)
    assert found.domains[0].rdap is None
