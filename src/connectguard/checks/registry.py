"""The table of every check: its id, the requirements it judges, and the function.

Adding a check means adding one module under `checks/` and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectguard.checks.auth import check_authentication
from connectguard.checks.caching import check_cache_control
from connectguard.checks.certificates import check_certificates
from connectguard.checks.cookies import check_cookies
from connectguard.checks.referrer import check_referrer_policy
from connectguard.checks.transport import check_hsts, check_plain_http
from connectguard.model import Judgement
from connectguard.probes.evidence import Evidence

CheckFunction = Callable[[Evidence], list[Judgement]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    requirements: tuple[str, ...]
    function: CheckFunction


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("plain-http", ("1",), check_plain_http),
    CheckSpec("hsts", ("1",), check_hsts),
    CheckSpec("cache-control", ("2",), check_cache_control),
    CheckSpec("certificates", ("3",), check_certificates),
    CheckSpec("authentication", ("5", "9", "13"), check_authentication),
    CheckSpec("cookies", ("11",), check_cookies),
    CheckSpec("referrer-policy", ("12",), check_referrer_policy),
)

# Requirements no live check judges yet, and why the report says `not_tested`.
NOT_YET_CHECKED: dict[str, str] = {
    "4": "DNS takeover checks are not part of this scan yet",
    "6": "stored-data exposure checks are not part of this scan yet",
    "7": "page-content secret checks are not part of this scan yet",
    "8": "token-leak checks are not part of this scan yet",
    "10": "credential-form checks are not part of this scan yet",
    "14": "component checks are not part of this scan yet",
    "15": "fix deadlines need the findings history (scan --store)",
}


def run_checks(evidence: Evidence) -> list[Judgement]:
    judgements: list[Judgement] = []
    for spec in CHECKS:
        judgements.extend(spec.function(evidence))
    return judgements
