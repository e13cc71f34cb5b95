"""When the exact vertex search stops early, and what it says then (issue 23).

:func:`~equilibria.solver.normal_form.exact_search.polytope_vertices` reads the clock every
256 bases and stops at its deadline or at ``max_bases``, marking the answer incomplete. A
fake clock (one tick per reading) makes the stopping point exact: the tests below know
which basis the search stops at, not merely that it stops.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver.normal_form import exact_search


def _degenerate_polytope() -> list[list[Fraction]]:
    """A seeded 10 x 10 polytope with entries in {1, 2, 3}: 877 lexicographic bases."""
    rng = np.random.default_rng(0)
    return [[Fraction(int(v) + 1) for v in row] for row in rng.integers(0, 3, size=(10, 10))]


class _Clock:
    """``time.perf_counter`` stand-in: 1, 2, 3, ... one per reading."""

    def __init__(self) -> None:
        self.readings = itertools.count(1)

    def perf_counter(self) -> float:
        return float(next(self.readings))


@pytest.mark.parametrize(("deadline", "bases"), [(1.0, 0), (1.5, 256), (2.0, 256), (2.5, 512)])
def test_the_deadline_is_read_every_256_bases_and_met_on_the_dot(
    monkeypatch: pytest.MonkeyPatch, deadline: float, bases: int
) -> None:
    """Readings come at 0, 256, 512, ... bases visited; the search stops at the first
    reading at or past the deadline."""
    monkeypatch.setattr(exact_search, "time", _Clock())
    found = exact_search.polytope_vertices(_degenerate_polytope(), deadline=deadline)
    assert (found.bases, found.complete, found.stopped) == (bases, False, "time_limit")


def test_without_a_deadline_the_clock_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(exact_search, "time", clock)
    found = exact_search.polytope_vertices(_degenerate_polytope(), max_bases=600)
    assert next(clock.readings) == 1
    assert (found.bases, found.complete, found.stopped) == (600, False, "max_visited")


def test_a_search_that_finishes_is_complete_and_says_nothing_stopped_it() -> None:
    found = exact_search.polytope_vertices(_degenerate_polytope())
    assert found.complete and found.stopped == ""
    assert found.bases == 877
    again = exact_search.polytope_vertices(_degenerate_polytope(), max_bases=found.bases)
    assert again.complete and again.bases == found.bases  # exactly enough is enough
