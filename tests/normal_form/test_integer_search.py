"""The integer vertex search (:mod:`equilibria.solver.normal_form.integer_search`).

Oracles: the exact search in Python's unbounded integers (``exact_search.polytope_vertices``,
which visits the same lexicographically feasible bases breadth-first), and, end to end, the
float search of the same games and lrsnash (``test_oracle_lrsnash.py`` runs every small-payoff
game through this search now).
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver.normal_form import exact as exact_arith
from equilibria.solver.normal_form import exact_search, integer_search
from equilibria.solver.normal_form import vertex_enumeration as ve
from equilibria.solver.normal_form.bases import Budget

from tests import games


def _vertices(found: integer_search.IntegerBases) -> dict[tuple[Fraction, ...], frozenset[int]]:
    """Each distinct point (exact) with its labels, as ``exact_search`` lists them."""
    out: dict[tuple[Fraction, ...], frozenset[int]] = {}
    for numerators, det, labels in zip(found.numerators, found.determinants, found.labels, strict=True):
        point = tuple(Fraction(int(v), int(det)) for v in numerators)
        assert out.setdefault(point, frozenset(np.flatnonzero(labels).tolist())) == out[point]
    return out


def _matrix(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d, c = rng.integers(1, 8, size=2)
    return rng.integers(1, int(rng.choice([2, 3, 4, 13, 50])), size=(d, c))


@pytest.mark.parametrize("seed", range(60))
def test_the_same_bases_and_vertices_as_the_exact_search(seed: int) -> None:
    """Every lexicographically feasible basis (the count) and every vertex with its exact
    labels, on small matrices from all-ties ({1, 2}) to generic (1..49): within int64's safe range."""
    k = _matrix(seed)
    found = integer_search.integer_bases(k, Budget(10**6))
    assert found is not None and not found.stopped
    oracle = exact_search.polytope_vertices([[Fraction(int(v)) for v in row] for row in k])
    assert found.visited == oracle.bases
    assert _vertices(found) == dict(oracle.vertices)
    assert (found.determinants > 0).all()


def test_a_tableau_past_the_safe_range_is_abandoned_and_not_counted() -> None:
    """Entries near 2^40 make 2 x 2 determinants near 2^80: no answer rather than a wrong one,
    and the budget is left as it was for the search that answers instead."""
    k = np.array([[2**40 + 1, 3], [5, 2**40 + 7]], dtype=np.int64)
    budget = Budget(100)
    budget.visited = 7
    assert integer_search.integer_bases(k, budget) is None
    assert budget.visited == 7 and not budget.stopped
    assert integer_search.integer_bases(np.full((1, 1), 2**62 + 1), Budget(100)) is None  # past it at once
    assert integer_search.integer_bases(np.full((1, 1), 2**62), Budget(100)) is not None


@pytest.mark.parametrize("seed", range(12))
def test_determinants_past_double_precision_are_exact(seed: int) -> None:
    """5 x 5 matrices with entries up to 3,000: determinants past 2^53 (where a double is no
    longer exact), and even ones (the quotient's residue and its float estimate combined)."""
    k = np.random.default_rng(100 + seed).integers(1, 3000, size=(5, 5))
    found = integer_search.integer_bases(k, Budget(10**6))
    if found is None:  # past 2^62 somewhere: allowed, never a wrong answer
        return
    oracle = exact_search.polytope_vertices([[Fraction(int(v)) for v in row] for row in k])
    assert found.visited == oracle.bases and _vertices(found) == dict(oracle.vertices)


def test_the_range_past_double_precision_is_reached() -> None:
    """Some of the matrices above have a basis determinant past 2^53, and an even one."""
    dets = []
    for seed in range(12):
        found = integer_search.integer_bases(
            np.random.default_rng(100 + seed).integers(1, 3000, size=(5, 5)), Budget(10**6)
        )
        if found is not None:
            dets += found.determinants.tolist()
    assert max(dets) > 2**53 and any(d % 2 == 0 and d > 2**40 for d in dets)


def test_ratio_comparisons_past_double_precision_are_exact() -> None:
    """Products near 2^120 that tie or differ by far less than a double resolves."""
    a_i, a_j, m = 2**59 + 5, 2**59 + 7, 3
    x_i, x_j = a_i * m, a_j * m  # x_i / a_i == x_j / a_j
    compare = integer_search._compare
    assert compare(x_i, a_i, x_j, a_j) == 0
    assert compare(x_i + 1, a_i, x_j, a_j) == 1 and compare(x_i - 1, a_i, x_j, a_j) == -1
    assert compare(-x_i, a_i, -x_j, a_j) == 0 and compare(-x_i - 1, a_i, -x_j, a_j) == -1
    assert compare(0, a_i, 0, a_j) == 0 and compare(0, a_i, -1, a_j) == 1


@pytest.mark.parametrize("det", [1, 3, 2**12 * 5**12, 2**40 * 3, 2**61 - 1])
def test_exact_quotients_for_odd_and_even_determinants(det: int) -> None:
    """(x p - a y) / det for quotients of both signs up to 2^61, numerators near 2^120."""
    shift, inverse = integer_search._odd_inverse(det)
    assert det == 2**shift * (det >> shift) and (det >> shift) % 2 == 1
    s, y = (3 if det < 2**59 else 1), 2**20
    for q in (0, 1, -1, 2**60 - 3, -(2**60) + 7, 123456789):
        # x p - a y = (q + s y) det - (s det) y = q det, with x p up to about 2^121
        x, p, a = q + s * y, det, s * det
        value, ok = integer_search._exact_quotient(x, p, a, y, det, shift, inverse)
        assert ok and value == q, (q, det)
    # a quotient that could reach 2^62 is refused, never wrapped
    assert not integer_search._exact_quotient(2**61, det, -(2**61), det, det, shift, inverse)[1]


def test_a_pivot_divides_rows_exactly_in_integers_alone_or_by_residues() -> None:
    """A pivot on an even determinant (12 = 2^2 * 3) updates small rows in integers alone and
    rows whose numerators pass int64 (x p near 2^65) by residues and float estimates; every
    entry equals Python's exact (x p - a y) / det."""
    det, e = 12, 0
    rows = [
        [24, 5, -7, 3, 11],  # the pivot row: p = 24
        [12, 1, 2, -3, 4],  # small: numerators exact in int64
        [-36, 2**60, -(2**59), 5, 7],  # numerators past 2^63: quotients near 2^61
        [0, 3, -5, 2**40, 1],  # a zero in the entering column, p != det: scaled by p / det
    ]
    tableau = np.array(rows, dtype=np.int64)
    want = [
        row if i == 0 else [(x * 24 - row[e] * y) // det for x, y in zip(row, rows[0], strict=True)]
        for i, row in enumerate(rows)
    ]
    assert all((x * 24 - row[e] * y) % det == 0 for row in rows for x, y in zip(row, rows[0], strict=True))
    assert integer_search._pivot(tableau, det, 0, e)
    assert tableau.tolist() == want
    assert max(abs(v) for v in want[2]) > 2**60  # the large row's quotients are large too
    # A pivot element equal to the determinant: a row with a zero in the entering column
    # stays as it is, every other row (a negative entry too) is updated.
    tableau = np.array(
        [[5, 10, -15, 5, 0], [-1, 3, 4, 2, 7], [0, 3, 1, 4, 2], [1, 1, 5, 0, 3]], dtype=np.int64
    )
    assert integer_search._pivot(tableau, 5, 0, 0)
    assert tableau.tolist() == [[5, 10, -15, 5, 0], [0, 5, 1, 3, 7], [0, 3, 1, 4, 2], [0, -1, 8, -1, 3]]


def test_max_visited_stops_with_a_part_and_chunks_do_not_change_the_answer() -> None:
    k = np.random.default_rng(0).integers(1, 4, size=(12, 12))
    whole = integer_search.integer_bases(k, Budget(10**9))
    assert whole is not None and whole.visited > 4096  # more than one chunk of the clock
    chunked = integer_search.integer_bases(k, Budget(10**9, deadline=time.perf_counter() + 3600))
    assert chunked is not None and chunked.visited == whole.visited
    assert np.array_equal(chunked.keys, whole.keys) and np.array_equal(chunked.numerators, whole.numerators)
    budget = Budget(100)
    part = integer_search.integer_bases(k, budget)
    assert part is not None and part.stopped == budget.stopped == "max_visited"
    assert part.visited == budget.visited == 100
    assert set(part.keys.tolist()) < set(whole.keys.tolist())


def _components(result) -> set[frozenset[tuple[tuple[float, ...], ...]]]:
    """Each maximal Nash subset as the set of its extreme equilibria."""
    profiles = [tuple(tuple(np.round(s, 12).tolist()) for s in eq.strategies) for eq in result.equilibria]
    return {frozenset(profiles[k] for k in c.equilibrium_indices) for c in result.components}


def _profiles(result) -> list[tuple[tuple[float, ...], ...]]:
    return sorted(tuple(tuple(np.round(s, 12).tolist()) for s in eq.strategies) for eq in result.equilibria)


@pytest.mark.parametrize(
    "make",
    [
        lambda: games.random_degenerate_game(7, 7, 3),
        lambda: games.random_degenerate_game(6, 9, 4),
        lambda: games.identity_game(6),
        lambda: NormalFormGame.from_bimatrix([[3, 3], [2, 5], [0, 6]], [[3, 2], [2, 6], [3, 1]]),
        lambda: NormalFormGame.from_bimatrix([[-7, 4], [2, 2]], [[5, 5], [5, 5]]),  # constant payoffs
        lambda: NormalFormGame(np.random.default_rng(8).integers(-40, 41, size=(2, 5, 7)).astype(float)),
    ],
)
def test_small_integer_games_are_enumerated_exactly_as_the_float_search_does(make, monkeypatch) -> None:
    game = make()
    integer = ve.vertex_enumeration(game)
    exact = ve.vertex_enumeration(game, exact=True)
    assert "lexicographic pivoting in exact integer arithmetic (the " in integer.method_reason
    assert integer.method_reason.endswith("every label exact")
    assert integer.complete and exact.complete and exact.exact
    monkeypatch.setattr(ve, "_integer_vertices", lambda *args, **kwargs: None)
    floats = ve.vertex_enumeration(game)
    rational = ve.vertex_enumeration(game, exact=True)
    assert "integer" not in floats.method_reason
    assert _profiles(integer) == _profiles(floats) == _profiles(exact)
    assert sorted((eq.exact_strategies, eq.exact_payoffs) for eq in exact.equilibria) == sorted(
        (eq.exact_strategies, eq.exact_payoffs) for eq in rational.equilibria
    )
    # ... and each exact payoff is the strategies' expected payoff, computed directly.
    rational_game = exact_arith.rational_bimatrix(*game.bimatrix())
    assert all(rational_game.payoffs(*eq.exact_strategies) == eq.exact_payoffs for eq in exact.equilibria)
    assert _components(integer) == _components(floats)
    assert all(eq.nash_conv <= 1e-12 for eq in integer.equilibria)


def test_payoffs_too_large_for_int64_fall_back_to_the_float_search() -> None:
    """Payoffs 0..10^6 on a 6 x 6 game: the tableau leaves int64's safe range, so the float
    search answers, with the same equilibria (pygambit's enumeration is the oracle elsewhere)."""
    rng = np.random.default_rng(11)
    game = NormalFormGame(rng.integers(0, 10**6, size=(2, 6, 6)).astype(float))
    result = ve.vertex_enumeration(game)
    assert result.complete and "integer" not in result.method_reason
