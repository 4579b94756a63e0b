"""Every hostile fixture, scanned by `connectguard scan` in a child process.

Each must end inside its deadline and memory bound, with defined verdicts (or a one-sentence
refusal and exit code 2), and with the good endpoint's evidence still judged. The fixtures,
and what each must produce, are in `hostile_fixtures.py`; docs/hostile.md has the table.
"""

from __future__ import annotations

import pytest
from hostile_fixtures import Hostile, catalogue

FIXTURES = catalogue()


def test_there_are_at_least_thirty_fixtures() -> None:
    assert len(FIXTURES) >= 30
    assert len({f.name for f in FIXTURES}) == len(FIXTURES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_hostile_app(fixture: Hostile) -> None:
    outcome, setup = fixture.run()
    fixture.assert_bounded(outcome)
    fixture.check(outcome, setup)
