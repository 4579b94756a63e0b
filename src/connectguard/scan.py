"""The live scan: fetch the descriptor, plan, probe, judge. `run_scan` is the library entry point.

Evidence is gathered once through the network seam, then every check in the registry judges
it and `verdicts.combine` gives one verdict per requirement.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from connectguard.checks.registry import NOT_YET_CHECKED, run_checks
from connectguard.connect.descriptor import Descriptor, parse_descriptor
from connectguard.connect.endpoints import EndpointPlan, plan_endpoints
from connectguard.errors import DescriptorError
from connectguard.model import Exchange, ScanResult, origin_of
from connectguard.net.http import HttpClient, Sent
from connectguard.net.tls import check_certificate
from connectguard.probes.endpoints import Signer, probe_endpoint
from connectguard.probes.evidence import (
    CertificateEvidence,
    Credentials,
    EndpointEvidence,
    Evidence,
)
from connectguard.probes.pages import loaded_resources
from connectguard.settings import ScanOptions
from connectguard.verdicts import combine

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as `progress(phase, done, total)` while a scan runs."""

_T = TypeVar("_T")

MAX_RESOURCES_PER_PAGE = 20
MAX_RESOURCES = 100


def run_scan(options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scan the app whose descriptor is at `options.target`; raise `DescriptorError` if it
    cannot be read. Every other failure is recorded as evidence and shapes the verdicts."""
    return asyncio.run(scan(options, progress))


async def scan(options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    started = dt.datetime.now(dt.UTC)
    report = progress or (lambda phase, done, total: None)
    async with HttpClient(
        options.limits,
        ca_file=options.ca_file,
        nameserver=options.nameserver,
        proxy=options.proxy,
        allow_private=options.allow_private,
    ) as client:
        report("descriptor", 0, 1)
        chain, descriptor = await fetch_descriptor(client, options)
        descriptor_url = chain[-1].url
        plan = plan_endpoints(descriptor, descriptor_url, options.limits.max_endpoints)
        log.info(
            "scanning %s (%s): %d endpoints", descriptor.key, descriptor_url, len(plan.endpoints)
        )
        evidence = await gather_evidence(client, options, chain, descriptor, plan, started, report)

    judgements = run_checks(evidence)
    results = combine(judgements, NOT_YET_CHECKED)
    return ScanResult(
        target=options.target,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        app_key=descriptor.key,
        app_name=descriptor.name,
        base_url=descriptor.base_url,
        requirements=results,
        exchanges=client.sent,
        notes=evidence.notes,
    )


async def fetch_descriptor(
    client: HttpClient, options: ScanOptions
) -> tuple[tuple[Exchange, ...], Descriptor]:
    """GET the descriptor, following and recording redirects; raise `DescriptorError`."""
    request = Sent(
        "GET",
        options.target,
        headers={"Accept": "application/json"},
        purpose="descriptor",
        max_bytes=options.limits.max_descriptor_bytes,
    )
    chain = tuple(await client.follow(request))
    last = chain[-1]
    where = f"the descriptor at {options.target}"
    if last.error is not None:
        raise DescriptorError(f"Could not fetch {where}: {last.error}.")
    if last.status is not None and 300 <= last.status < 400:
        raise DescriptorError(f"Could not fetch {where}: too many redirects.")
    if last.status is None or not 200 <= last.status < 300:
        raise DescriptorError(f"Could not fetch {where}: the server answered {last.status}.")
    if last.truncated:
        cap = options.limits.max_descriptor_bytes
        raise DescriptorError(
            f"The descriptor at {options.target} is larger than the {cap} byte limit.",
            hint="Raise the limit with --max-descriptor-bytes if the descriptor is genuine.",
        )
    return chain, parse_descriptor(last.body, last.url)


async def gather_evidence(
    client: HttpClient,
    options: ScanOptions,
    chain: tuple[Exchange, ...],
    descriptor: Descriptor,
    plan: EndpointPlan,
    started: dt.datetime,
    report: Progress,
) -> Evidence:
    now = int(started.timestamp())
    signer = _signer(options, descriptor, now)
    in_scope = [e for e in plan.endpoints if not e.external]

    report("endpoints", 0, len(in_scope))
    endpoints_task = _bounded_gather(
        [probe_endpoint(client, e, descriptor, signer) for e in in_scope],
        lambda done: report("endpoints", done, len(in_scope)),
    )
    hosts_task = _host_responses(client, chain, descriptor, plan)
    certs_task = _certificates(client, options, chain, descriptor, plan, started)
    endpoints, host_responses, certificates = await asyncio.gather(
        endpoints_task, hosts_task, certs_task
    )
    report("resources", 0, 1)
    resources = await _resources(client, endpoints, plan)

    notes = []
    if plan.dropped:
        notes.append(
            f"{plan.dropped} endpoints were not probed: the plan is capped at "
            f"{options.limits.max_endpoints} (raise it with --max-endpoints)"
        )
    return Evidence(
        target=options.target,
        scan_time=now,
        descriptor_chain=chain,
        descriptor=descriptor,
        plan=plan,
        endpoints=tuple(endpoints),
        host_responses=host_responses,
        resources=tuple(resources),
        certificates=tuple(certificates),
        credentials=Credentials(
            client_key=options.credentials.client_key if options.credentials else None,
            has_secret=options.credentials is not None,
            user_account=options.user_account,
            admin_account=options.admin_account,
        ),
        notes=tuple(notes),
    )


def _signer(options: ScanOptions, descriptor: Descriptor, now: int) -> Signer:
    credentials = options.credentials
    return Signer(
        base_url=descriptor.base_url,
        now=now,
        client_key=credentials.client_key if credentials else None,
        shared_secret=credentials.shared_secret if credentials else None,
        user_account=options.user_account,
        admin_account=options.admin_account,
    )


async def _bounded_gather(
    tasks: Sequence[Awaitable[_T]], on_done: Callable[[int], None]
) -> list[_T]:
    done = 0

    async def one(task: Awaitable[_T]) -> _T:
        nonlocal done
        result = await task
        done += 1
        on_done(done)
        return result

    return list(await asyncio.gather(*(one(t) for t in tasks)))


async def _host_responses(
    client: HttpClient, chain: tuple[Exchange, ...], descriptor: Descriptor, plan: EndpointPlan
) -> tuple[tuple[str, tuple[Exchange, ...]], ...]:
    """One answer per app origin, from that origin itself, for the HSTS check.

    The descriptor's origin is judged on the descriptor fetch; any other app origin on a GET of
    the baseUrl (or its root), following redirects only while they stay on that origin.
    """
    responses = {chain[0].origin: tuple(_same_origin_prefix(chain))}
    pending = [o for o in plan.app_origins if o not in responses]
    base_origin = origin_of(descriptor.base_url)
    fetched = await asyncio.gather(
        *(
            client.follow(
                Sent("GET", descriptor.base_url if o == base_origin else o + "/", purpose="HSTS"),
                stay_on_origin=True,
            )
            for o in pending
        )
    )
    responses.update({o: tuple(c) for o, c in zip(pending, fetched, strict=True)})
    return tuple(responses.items())


def _same_origin_prefix(chain: tuple[Exchange, ...]) -> list[Exchange]:
    prefix = []
    for exchange in chain:
        if exchange.origin != chain[0].origin:
            break
        prefix.append(exchange)
    return prefix


async def _certificates(
    client: HttpClient,
    options: ScanOptions,
    chain: tuple[Exchange, ...],
    descriptor: Descriptor,
    plan: EndpointPlan,
    started: dt.datetime,
) -> list[CertificateEvidence]:
    targets: dict[tuple[str, int], None] = {}
    urls = [e.url for e in chain] + [descriptor.base_url] + [e.url for e in plan.endpoints]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            targets[(parts.hostname, parts.port or 443)] = None
    timeout = min(options.limits.connect_timeout * 2, max(client.remaining(), 0.1))
    return list(
        await asyncio.gather(
            *(
                check_certificate(host, port, client.resolver, options.ca_file, timeout, started)
                for host, port in targets
            )
        )
    )


async def _resources(
    client: HttpClient, endpoints: list[EndpointEvidence], plan: EndpointPlan
) -> list[Exchange]:
    """What the app's 2xx pages load from the app origins (scripts, styles, frames)."""
    app_origins = set(plan.app_origins)
    wanted: dict[str, None] = {}
    for item in endpoints:
        for exchange in item.exchanges:
            if exchange.method != "GET" or not exchange.is_success_with_content:
                continue
            for url in loaded_resources(exchange)[:MAX_RESOURCES_PER_PAGE]:
                if origin_of(url) in app_origins:
                    wanted[url] = None
    urls = list(wanted)[:MAX_RESOURCES]
    started = time.monotonic()
    exchanges = await asyncio.gather(
        *(client.send(Sent("GET", u, purpose="resource")) for u in urls)
    )
    log.debug("fetched %d page resources in %.2f s", len(urls), time.monotonic() - started)
    return list(exchanges)
