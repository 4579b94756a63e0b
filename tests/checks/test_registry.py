"""The check table: a check that raises leaves its requirements inconclusive, not the scan dead."""

from __future__ import annotations

import json

import pytest

from connectguard.checks import registry
from connectguard.checks.headers import parse_hsts
from connectguard.checks.registry import CheckSpec, run_checks
from connectguard.connect.descriptor import parse_descriptor
from connectguard.connect.endpoints import plan_endpoints
from connectguard.model import Judgement
from connectguard.probes.evidence import Evidence
from connectguard.verdicts import combine

URL = "https://app.example.test/atlassian-connect.json"


def evidence() -> Evidence:
    raw = {"key": "k", "name": "n", "baseUrl": "https://app.example.test"}
    descriptor = parse_descriptor(json.dumps(raw), URL)
    return Evidence(URL, 0, (), descriptor, plan_endpoints(descriptor, URL))


def broken(found: Evidence) -> list[Judgement]:
    raise ValueError("invalid literal for int() with base 10: 'sk-secret-value'")


def test_a_failing_check_makes_its_requirements_inconclusive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = (*registry.CHECKS, CheckSpec("broken", ("5", "9"), broken))
    monkeypatch.setattr(registry, "CHECKS", checks)
    results = {r.requirement: r for r in combine(run_checks(evidence()))}
    for number in ("5", "9"):
        assert results[number].verdict.value == "inconclusive"
        assert "broken check failed" in results[number].reason
        assert "sk-secret-value" not in results[number].reason
    assert results["12"].verdict.value == "not_tested"  # the other checks still ran


@pytest.mark.parametrize("value", ['max-age="３１５３６０００"', 'max-age="3153600²"', "max-age=٣"])
def test_hsts_max_age_takes_ascii_digits_only(value: str) -> None:
    hsts = parse_hsts([value])
    assert hsts is not None and not hsts.valid
