"""Registrable domains (public suffix list) and their registration expiry (RDAP).

`registrable_domain` names the domain a vendor registers to control a host, such as
`example.co.uk` for `app.eu.example.co.uk`, from the list bundled with `publicsuffixlist`.
`rdap_expiry` asks an RDAP service (off unless the user names one) when a domain's
registration expires, through the scan's `HttpClient`.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from functools import cache
from typing import Any
from urllib.parse import quote

from publicsuffixlist import PublicSuffixList

from connectguard.net.http import HttpClient, Sent
from connectguard.probes.transport_evidence import RdapEvidence

DEFAULT_RDAP = "https://rdap.org"  # a public RDAP redirector to each registry's service
_psl_lock = threading.Lock()


@cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str | None:
    """The registrable domain of `host`; None for an IP address or a bare public suffix.

    A name under a suffix the list does not know (such as `.test`) counts its last label as
    the suffix, as browsers do.
    """
    host = host.rstrip(".").lower()
    if not host or is_ip_literal(host):
        return None
    with _psl_lock:
        domain = _suffix_list().privatesuffix(host)
    return str(domain) if domain else None


async def rdap_expiry(client: HttpClient, service: str, domain: str) -> RdapEvidence:
    """Ask `service` (an RDAP base URL) for `domain`'s registration; never raises."""
    url = f"{service.rstrip('/')}/domain/{quote(domain)}"
    request = Sent("GET", url, headers={"Accept": "application/rdap+json"}, purpose="RDAP")
    chain = await client.follow(request)
    last = chain[-1]
    if last.error is not None:
        return RdapEvidence(url, error=last.error)
    if last.status != 200:
        return RdapEvidence(url, error=f"the RDAP service answered {last.status}")
    try:
        document = json.loads(last.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return RdapEvidence(url, error="the RDAP answer is not JSON")
    expires = expiration_date(document)
    if expires is None:
        return RdapEvidence(url, error="the RDAP answer has no expiration event")
    return RdapEvidence(url, expires=expires)


def expiration_date(document: Any) -> str | None:
    """The `eventDate` of the `expiration` event of an RDAP domain object (RFC 9083)."""
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        return None
    for event in events:
        if isinstance(event, dict) and event.get("eventAction") == "expiration":
            date = event.get("eventDate")
            return date if isinstance(date, str) and date.strip() else None
    return None
