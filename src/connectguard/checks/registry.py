"""The table of every check: its id, the requirements it judges, and the function.

Adding a check means adding one module under `checks/` and one row here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from connectguard.checks.auth import check_authentication
from connectguard.checks.caching import check_cache_control
from connectguard.checks.certificates import check_certificates
from connectguard.checks.components import check_components
from connectguard.checks.cookies import check_cookies
from connectguard.checks.credentials import check_credential_collection
from connectguard.checks.dns import check_dns_takeover
from connectguard.checks.domains import check_domains
from connectguard.checks.leaks import check_token_leaks
from connectguard.checks.referrer import check_referrer_policy
from connectguard.checks.secrets import check_secret_exposure
from connectguard.checks.storage import check_stored_data
from connectguard.checks.tls import check_plain_http_port, check_tls_protocols
from connectguard.checks.transport import check_hsts, check_plain_http
from connectguard.model import Judgement
from connectguard.probes.evidence import Evidence

log = logging.getLogger(__name__)

CheckFunction = Callable[[Evidence], list[Judgement]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    requirements: tuple[str, ...]
    function: CheckFunction


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("plain-http", ("1",), check_plain_http),
    CheckSpec("hsts", ("1",), check_hsts),
    CheckSpec("tls-protocols", ("1",), check_tls_protocols),
    CheckSpec("plain-http-port", ("1",), check_plain_http_port),
    CheckSpec("cache-control", ("2",), check_cache_control),
    CheckSpec("certificates", ("3",), check_certificates),
    CheckSpec("domains", ("3",), check_domains),
    CheckSpec("dns-takeover", ("4",), check_dns_takeover),
    CheckSpec("authentication", ("5", "9", "13"), check_authentication),
    CheckSpec("stored-data", ("6",), check_stored_data),
    CheckSpec("client-secrets", ("7",), check_secret_exposure),
    CheckSpec("token-leaks", ("8",), check_token_leaks),
    CheckSpec("credential-collection", ("10",), check_credential_collection),
    CheckSpec("cookies", ("11",), check_cookies),
    CheckSpec("referrer-policy", ("12",), check_referrer_policy),
    CheckSpec("client-components", ("14",), check_components),
)

# Requirements no live check judges yet, and why the report says `not_tested`.
NOT_YET_CHECKED: dict[str, str] = {
    "15": "fix deadlines need the findings history (scan --store)",
}


def run_checks(evidence: Evidence) -> list[Judgement]:
    """Every check over `evidence`. A check that raises is a defect of connectguard, not of the
    app: its requirements are `inconclusive` with the reason, and every other check still runs,
    so no evidence an app serves can end the scan without a report."""
    judgements: list[Judgement] = []
    for spec in CHECKS:
        try:
            judgements.extend(spec.function(evidence))
        except Exception as exc:
            # The exception's text may quote what the app served: only its type is shown.
            log.error("the %s check failed (%s)", spec.id, type(exc).__name__)
            log.debug("the %s check failed", spec.id, exc_info=True)
            reason = f"the {spec.id} check failed on this evidence ({type(exc).__name__})"
            judgements.extend(Judgement(n, undecided=(reason,)) for n in spec.requirements)
    return judgements
