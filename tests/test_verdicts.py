"""Verdict combination, from literal judgements: the order of SPEC's rules."""

from __future__ import annotations

from connectguard.model import Finding, Judgement, Level, Verdict
from connectguard.verdicts import combine


def _fail(requirement: str) -> Finding:
    return Finding(requirement, "x", Level.FAIL, "broken")


def _verdict(*judgements: Judgement, not_tested: dict[str, str] | None = None) -> Verdict:
    results = {r.requirement: r for r in combine(judgements, not_tested)}
    return results["5"].verdict


def test_nothing_judged_is_not_tested_never_pass() -> None:
    assert _verdict(Judgement("5")) is Verdict.NOT_TESTED


def test_judged_without_failures_passes() -> None:
    assert _verdict(Judgement("5", judged=3)) is Verdict.PASS


def test_failure_beats_undecided_and_pass() -> None:
    assert (
        _verdict(
            Judgement("5", judged=2, undecided=("timeout",)), Judgement("5", findings=(_fail("5"),))
        )
        is Verdict.FAIL
    )


def test_undecided_beats_pass() -> None:
    assert _verdict(Judgement("5", judged=9), Judgement("5", undecided=("500",))) is (
        Verdict.INCONCLUSIVE
    )


def test_not_applicable_beats_everything() -> None:
    assert (
        _verdict(Judgement("5", findings=(_fail("5"),)), Judgement("5", not_applicable="auth none"))
        is Verdict.NOT_APPLICABLE
    )


def test_advice_does_not_fail() -> None:
    advice = Finding("5", "x", Level.ADVICE, "consider")
    assert _verdict(Judgement("5", findings=(advice,), judged=1)) is Verdict.PASS


def test_every_requirement_gets_a_verdict_with_a_reason() -> None:
    results = combine([], {"4": "not checked yet"})
    assert [r.requirement for r in results] == [str(n) for n in range(1, 16)]
    assert all(r.verdict is Verdict.NOT_TESTED for r in results)
    assert results[3].reason == "not checked yet"
