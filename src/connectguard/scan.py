"""The live scan: fetch the descriptor, plan, probe, judge. `run_scan` is the library entry point.

Evidence is gathered once through the network seam, then every check in the registry judges
it and `verdicts.combine` gives one verdict per requirement.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from connectguard.checks.registry import NOT_YET_CHECKED, run_checks
from connectguard.checks.storage import looks_private
from connectguard.connect.descriptor import Descriptor, parse_descriptor
from connectguard.connect.endpoints import EndpointPlan, api_endpoints, plan_endpoints
from connectguard.errors import DescriptorError
from connectguard.model import Exchange, ScanResult, origin_of, probe_key
from connectguard.net.http import SPENT_BUDGET_PREFIX, HttpClient, Sent, redact_url
from connectguard.probes.content import gather_content
from connectguard.probes.endpoints import Signer, probe_endpoints
from connectguard.probes.evidence import Credentials, EndpointEvidence, Evidence
from connectguard.probes.pages import MAX_RESOURCES, MAX_RESOURCES_PER_PAGE, loaded_resources
from connectguard.probes.takeover import load_table
from connectguard.probes.transport import gather_transport, plan_transport
from connectguard.settings import ScanOptions
from connectguard.verdicts import combine

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as `progress(phase, done, total)` while a scan runs."""


def run_scan(options: ScanOptions, progress: Progress | None = None) -> ScanResult:
    """Scan the app whose descriptor is at `options.target`; raise `DescriptorError` if it
    cannot be read. Every other failure is recorded as evidence and shapes the verdicts."""
    found: list[ScanResult] = []

    async def main() -> None:
        # NOTE: the main task returns None on purpose. Python 3.11's asyncio.run formats the
        # repr of that task, result included, when it puts the SIGINT handler back; the repr
        # of a ScanResult spells out every response body read (a gzip bomb's 2 MiB of NULs,
        # four characters a byte, per probe): hundreds of megabytes.
        found.append(await scan(options, progress))

    asyncio.run(main())
    return found[0]


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
        if client.cut_by_budget:
            evidence = replace(evidence, notes=(*evidence.notes, _budget_note(client, options)))

    judgements = run_checks(evidence)
    results = combine(judgements, NOT_YET_CHECKED)
    return ScanResult(
        target=redact_url(options.target),
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        app_key=descriptor.key,
        app_name=descriptor.name,
        base_url=descriptor.base_url,
        requirements=results,
        exchanges=client.sent,
        notes=evidence.notes,
        probed=frozenset(
            probe_key(e)
            for e in (*evidence.descriptor_chain, *evidence.app_exchanges())
            if e.status is not None
        ),
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
    shown = redact_url(options.target)
    where = f"the descriptor at {shown}"
    if last.error is not None:
        raise DescriptorError(f"Could not fetch {where}: {last.error}.")
    if last.status is not None and 300 <= last.status < 400:
        raise DescriptorError(f"Could not fetch {where}: too many redirects.")
    if last.status is None or not 200 <= last.status < 300:
        raise DescriptorError(f"Could not fetch {where}: the server answered {last.status}.")
    if last.truncated:
        cap = options.limits.max_descriptor_bytes
        raise DescriptorError(
            f"The descriptor at {shown} is larger than the {cap} byte limit.",
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
    in_scope = [*plan.in_scope, *api_endpoints(descriptor.base_url, options.api_routes)]

    report("endpoints", 0, len(in_scope))
    endpoints_task = probe_endpoints(
        client,
        in_scope,
        descriptor,
        signer,
        options.probe_install,
        lambda done: report("endpoints", done, len(in_scope)),
    )
    hosts_task = _host_responses(client, chain, descriptor, plan)
    transport_plan = plan_transport(
        options.target,
        tuple(e.url for e in chain),
        descriptor,
        plan,
        max_origins=options.limits.max_origins,
    )
    transport_task = gather_transport(
        client, options, transport_plan, load_table(options.takeover_table)
    )
    probes, host_responses, transport = await asyncio.gather(
        endpoints_task, hosts_task, transport_task
    )
    endpoints = list(probes.endpoints)
    report("resources", 0, 1)
    resources = await _resources(client, endpoints, plan)
    report("content", 0, 1)
    pages = [
        e
        for item in endpoints
        for e in item.exchanges
        if e.method == "GET" and e.is_success_with_content
    ]
    content = await gather_content(
        client, descriptor, plan, pages, resources, looks_private=looks_private
    )
    report("content", 1, 1)

    notes = [*probes.notes, *transport.notes, *content.notes]
    if plan.dropped:
        notes.append(
            f"{plan.dropped} endpoints were not probed: the plan is capped at "
            f"{options.limits.max_endpoints} (raise it with --max-endpoints)"
        )
    if transport_plan.dropped:
        notes.append(
            f"{transport_plan.dropped} origins were not given TLS and DNS probes: the plan is "
            f"capped at {options.limits.max_origins} (raise it with --max-origins)"
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
        transport=transport,
        credentials=Credentials(
            client_key=options.credentials.client_key if options.credentials else None,
            has_secret=probes.signer.shared_secret is not None,
            user_account=options.user_account,
            admin_account=options.admin_account,
        ),
        notes=tuple(notes),
        content=content,
        shared_secret=options.credentials.shared_secret if options.credentials else None,
    )


def _budget_note(client: HttpClient, options: ScanOptions) -> str:
    return (
        f"{client.cut_by_budget} response bodies were cut to their first {SPENT_BUDGET_PREFIX} "
        f"bytes: the scan had kept {options.limits.max_scan_body_bytes} bytes of bodies "
        "(raise it with --max-scan-body-bytes)"
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
        user_jwt=options.user_jwt,
    )


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


async def _resources(
    client: HttpClient, endpoints: list[EndpointEvidence], plan: EndpointPlan
) -> list[Exchange]:
    """What the app's 2xx pages load from the app origins (scripts, styles, frames), each with
    the redirects a browser would follow on that origin: every hop is evidence (its cookies),
    and the final answer is what the page really loads (a hashed bundle behind a 302)."""
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
    chains = await asyncio.gather(
        *(client.follow(Sent("GET", u, purpose="resource"), stay_on_origin=True) for u in urls)
    )
    log.debug("fetched %d page resources in %.2f s", len(urls), time.monotonic() - started)
    return [exchange for chain in chains for exchange in chain]
