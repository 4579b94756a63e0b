"""Findings and tallies to one verdict per requirement, by the rules of SPEC.md ("Verdicts")."""

from __future__ import annotations

from collections.abc import Iterable

from connectguard.model import Judgement, Level, RequirementResult, Verdict
from connectguard.requirements import NUMBERS


def combine(
    judgements: Iterable[Judgement], not_tested_reasons: dict[str, str] | None = None
) -> tuple[RequirementResult, ...]:
    """The first verdict that holds: not_applicable, fail, inconclusive, pass, not_tested."""
    by_requirement: dict[str, list[Judgement]] = {n: [] for n in NUMBERS}
    for judgement in judgements:
        by_requirement[judgement.requirement].append(judgement)
    reasons = not_tested_reasons or {}
    return tuple(_one(n, by_requirement[n], reasons.get(n)) for n in NUMBERS)


def _one(number: str, judgements: list[Judgement], not_tested: str | None) -> RequirementResult:
    findings = tuple(f for j in judgements for f in j.findings)
    notes = tuple(dict.fromkeys(note for j in judgements for note in j.notes))
    undecided = [reason for j in judgements for reason in j.undecided]
    judged = sum(j.judged for j in judgements)
    failures = [f for f in findings if f.level is Level.FAIL]

    not_applicable = next((j.not_applicable for j in judgements if j.not_applicable), None)
    if not_applicable is not None:
        verdict, reason = Verdict.NOT_APPLICABLE, not_applicable
    elif failures:
        verdict = Verdict.FAIL
        reason = f"{len(failures)} failing finding{'s' if len(failures) != 1 else ''}"
    elif undecided:
        verdict, reason = Verdict.INCONCLUSIVE, "; ".join(dict.fromkeys(undecided))
    elif judged:
        verdict = Verdict.PASS
        reason = f"{judged} piece{'s' if judged != 1 else ''} of evidence judged, none failing"
    else:
        verdict = Verdict.NOT_TESTED
        reason = not_tested or (notes[0] if notes else "nothing this scan saw could be judged")
    return RequirementResult(number, verdict, reason, findings, notes)
