"""The model's own rules: severity bands and finding fingerprints."""

from __future__ import annotations

import pytest

from connectguard.model import Finding, Level, Severity


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        (8.9, Severity.HIGH),
        (7.0, Severity.HIGH),
        (6.9, Severity.MEDIUM),
        (4.0, Severity.MEDIUM),
        (3.9, Severity.LOW),
        (0.1, Severity.LOW),
        (0.0, Severity.NONE),
    ],
)
def test_severity_bands(score: float, severity: Severity) -> None:
    assert Severity.from_score(score) is severity


def test_fingerprint_is_stable_and_ignores_wording() -> None:
    one = Finding("12", "referrer-policy", Level.FAIL, "old wording", origin="https://a", path="/p")
    two = Finding("12", "referrer-policy", Level.FAIL, "new wording", origin="https://a", path="/p")
    other = Finding("12", "referrer-policy", Level.FAIL, "x", origin="https://a", path="/q")
    assert one.fingerprint == two.fingerprint != other.fingerprint
    assert len(one.fingerprint) == 16
