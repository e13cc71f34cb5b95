"""Bases the float vertex search cannot decide, decided in rational arithmetic
(:mod:`equilibria.solver.normal_form.rational_polytope`).

Oracles: the exact search in Python's fractions (``exact_search.polytope_vertices``, itself
checked against pygambit and brute force) for :meth:`RationalPolytope.decide`; pygambit's
rational enumeration end to end, on games whose float decisions are made doubtful on
purpose (a raised singularity threshold, inflated error bounds).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver.game import positive_rescale
from equilibria.solver.normal_form import exact as exact_arith
from equilibria.solver.normal_form import exact_search, rational_polytope, square_systems
from equilibria.solver.normal_form import labelled_vertices as lv
from equilibria.solver.normal_form import vertex_enumeration as ve
from equilibria.solver.normal_form.bases import BasisBlock
from equilibria.solver.normal_form.rational_polytope import RationalPolytope

from tests import games
from tests.certificates import exact_determinant

LOW = Fraction(1, 10)


def _normalised(points: list[tuple[float, ...]] | np.ndarray) -> set[tuple[float, ...]]:
    """Each point scaled to sum 1, rounded to 12 decimals."""
    return {tuple(round(float(v) / float(sum(p)), 12) for v in p) for p in points}


def _every_basis(d: int, c: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    pairs = [
        (support, tight)
        for s in range(1, min(d, c) + 1)
        for support in itertools.combinations(range(d), s)
        for tight in itertools.combinations(range(c), s)
    ]
    return [p for p, _ in pairs], [t for _, t in pairs]


@pytest.mark.parametrize("seed", range(16))
def test_deciding_every_basis_finds_the_exact_searchs_vertices(seed: int) -> None:
    """Every square system of a small polytope decided exactly (tolerance 0): the feasible
    ones are the exact search's vertices (normalised: that search shifts the payoffs to a
    least entry of 1, a polytope with the same normalised vertices), and the systems left
    out as singular have determinant 0."""
    rng = np.random.default_rng(seed)
    d, c = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    ints, den = rng.integers(-3, 4, size=(d, c)), int(rng.choice([1, 4, 1000]))
    ints[0, 0], ints[-1, :] = 3, -3  # the last row rescales to 1/10: a vertex 10 e_d
    polytope = RationalPolytope(ints / den, LOW)
    ps, pt = _every_basis(d, c)
    block = polytope.decide(ps, pt, 0.0)
    assert not block.ambiguous and len(block.points) > 0
    lo = int(ints.min())
    shifted = [[Fraction(int(v) - lo, den) + 1 for v in row] for row in ints]
    oracle = [point for point, _ in exact_search.polytope_vertices(shifted).vertices]
    assert _normalised(block.points) == _normalised(oracle)
    # Each float is its exact value rounded: off by at most half an ulp of the largest.
    eps = np.finfo(np.float64).eps
    assert (block.error >= 0.5 * eps * np.abs(block.points).max(axis=1)).all()
    for k in block.singular.tolist():
        assert exact_determinant([[polytope.matrix[i][t] for i in ps[k]] for t in pt[k]]) == 0
    regular = set(range(len(ps))) - set(block.singular.tolist())
    assert all(exact_determinant([[polytope.matrix[i][t] for i in ps[k]] for t in pt[k]]) for k in regular)


@pytest.mark.parametrize("tol", [0.0, 1e-9])
def test_a_basic_coordinate_at_zero_is_feasible_and_one_below_the_tolerance_is_not(tol: float) -> None:
    """The rows ``(1.1, 0.1)`` and ``(0.1, 0.1)`` with both constraints tight give
    ``z = (0, 10)``: a basis whose basic coordinate is 0 exactly (a degenerate vertex),
    feasible at any tolerance; ``z >= -tol`` and ``M^T z <= 1 + tol`` are decided on the
    exact values."""
    polytope = RationalPolytope(np.array([[3.0, -3.0], [-3.0, -3.0]]), LOW)
    assert polytope.matrix == ((Fraction(11, 10), LOW), (LOW, LOW))
    block = polytope.decide([[0, 1]], [[0, 1]], tol)
    assert block.points.tolist() == [[0.0, 10.0]] and block.basis.tolist() == [[True, True, True, True]]
    # Support {0} tight {1}: z = (10, 0) violates constraint 0 by 10; support {1}, tight
    # {0}: z = (0, 10), every constraint at 1 exactly.
    block = polytope.decide([[0], [1]], [[1], [0]], tol)
    assert block.points.tolist() == [[0.0, 10.0]] and len(block.singular) == 0


def test_the_exact_matrix_is_positive_rescale_read_exactly() -> None:
    """``matrix`` is ``positive_rescale`` in rationals, each payoff read as exact mode reads
    it (0.1 as 1/10), all ones for a constant matrix."""
    raw = np.array([[0.1, 0.3], [0.2, 1 / 3]])
    polytope = RationalPolytope(raw, LOW)
    span = Fraction(1, 3) - Fraction(1, 10)
    assert polytope.matrix[1][0] == LOW + Fraction(1, 10) / span
    assert np.allclose(np.array(polytope.matrix, dtype=float), positive_rescale(raw, 0.1), rtol=0, atol=1e-15)
    assert RationalPolytope(np.full((2, 3), 7.5), LOW).matrix == ((Fraction(1),) * 3,) * 2


def test_a_tight_constraint_of_the_basis_is_tight_whatever_the_points_error() -> None:
    """A constraint whose slack is not in the basis is tight exactly and a coordinate outside
    it is 0: only the basic values are doubted (a 16 x 16 game's one ill-conditioned basis,
    error 1e-10, once made its tight constraints' slacks look undecidable at tolerance 1e-9
    and sent the whole game to the exact search)."""
    mat = positive_rescale(np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 2.0]]), 0.1)
    z = np.linalg.solve(mat[:, :2].T, np.ones(2))  # both coordinates basic, constraints 0 and 1 tight
    basis = np.array([[True, True, True, True, False]])
    tight, doubt = lv.tightness(mat, z[None, :], basis, np.array([1.0]), 1e-9)
    assert tight.tolist() == [[False, False, True, True, False]] and doubt.tolist() == [
        True
    ]  # basic: doubted
    tight, doubt = lv.tightness(mat, z[None, :], basis, np.array([1e-12]), 1e-9)
    assert tight.tolist() == [[False, False, True, True, False]] and doubt.tolist() == [False]
    tight, doubt = lv.tightness(mat, z[None, :] + 1e-10, basis, np.array([1e-7]), 1e-3)
    assert tight[0, 2:4].all() and not doubt[0]  # slack about 1e-10 off, error 1e-7: tight by the basis


def test_labels_the_floats_cannot_decide_are_decided_exactly() -> None:
    """Bases whose error bound makes a label undecidable are solved in rational arithmetic:
    the labels are the exact ones and nothing stays ambiguous; without the exact polytope
    (or past ``MAX_DECIDED``) the doubt is reported."""
    raw = np.array([[3.0, 0.0, 1.0], [1.0, 2.0, 2.0], [0.0, 1.0, 3.0]])
    mat = positive_rescale(raw, 0.1)
    ps, pt = _every_basis(3, 3)
    exact = RationalPolytope(raw, LOW).decide(ps, pt, 1e-9)
    doubtful = BasisBlock(exact.points, exact.basis, np.full(len(exact.points), 1e-3), False)
    plain = lv.labelled(mat, [exact], 1e-9, coordinate_labels_first=True)
    assert not plain.ambiguous
    assert lv.labelled(mat, [doubtful], 1e-9, coordinate_labels_first=True).ambiguous
    decided = lv.labelled(
        mat, [doubtful], 1e-9, coordinate_labels_first=True, exact=RationalPolytope(raw, LOW)
    )
    assert not decided.ambiguous and decided.labels.tolist() == plain.labels.tolist()
    assert np.array_equal(decided.points, plain.points)


@pytest.mark.parametrize(("m", "n", "seed"), [(5, 5, 1), (6, 6, 2), (5, 7, 3), (7, 6, 4)])
def test_doubtful_complementary_faces_are_solved_exactly_not_searched(
    m: int, n: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the singularity threshold raised, many complementary faces are too ill-conditioned
    to decide in floats: each is solved exactly, the faces still pair the vertices (the
    other polytope is not searched), and the answer is pygambit's, complete. With no exact
    decision allowed the other polytope is searched instead, to the same answer."""
    game = games.random_normal_game(m, n, seed)
    oracle = _gambit(game)
    plain = ve.vertex_enumeration(game)
    assert "complementary faces" in plain.method_reason
    monkeypatch.setattr(square_systems, "SINGULAR_RHO", 1e-2)
    decided_rows = []
    decide = RationalPolytope.decide

    def spy(self: RationalPolytope, ps: list, pt: list, tol: float) -> BasisBlock:
        decided_rows.append(len(ps))
        return decide(self, ps, pt, tol)

    monkeypatch.setattr(RationalPolytope, "decide", spy)
    decided = ve.vertex_enumeration(game)
    assert sum(decided_rows) > 0
    assert decided.complete and "complementary faces" in decided.method_reason
    assert _keys(decided) == _keys(plain) and len(decided.equilibria) == len(oracle)
    assert games.unmatched([eq.strategies for eq in decided.equilibria], oracle, atol=1e-9) == []
    monkeypatch.setattr(rational_polytope, "MAX_DECIDED", 0)
    searched = ve.vertex_enumeration(game)
    assert searched.complete and "complementary faces" not in searched.method_reason
    assert _keys(searched) == _keys(plain)


def _keys(result) -> list[tuple[float, ...]]:
    return sorted(tuple(np.round(np.concatenate(eq.strategies), 9)) for eq in result.equilibria)


def _gambit(game: NormalFormGame) -> list[tuple[np.ndarray, ...]]:
    """pygambit's extreme equilibria (enummixed)."""
    a, b = game.bimatrix()
    g = gbt.Game.from_arrays(a, b)
    return [
        tuple(np.array([float(eq[p][s]) for s in p.strategies]) for p in g.players)
        for eq in gbt.nash.enummixed_solve(g, rational=False).equilibria
    ]


@pytest.mark.parametrize("seed", range(40))
def test_integer_elimination_solves_as_the_rationals_do(seed: int) -> None:
    """``solve_integer`` against ``solve_exact`` on integer systems of 1 to 7 unknowns, from
    all ties (singular ones) to large entries, with zero leading entries (rows swapped)."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 8))
    high = int(rng.choice([2, 3, 10, 10**6, 10**15]))
    system = rng.integers(-high, high + 1, size=(size, size)).tolist()
    if seed % 3 == 0:
        system[0][0] = 0
    rhs = rng.integers(-high, high + 1, size=size).tolist()
    rational = exact_arith.solve_exact(
        [[Fraction(v) for v in row] for row in system], [Fraction(v) for v in rhs]
    )
    found = exact_arith.solve_integer(system, rhs)
    if rational is None:
        assert found is None
        return
    assert found is not None
    numerators, det = found
    assert det > 0 and abs(det) == abs(exact_determinant([[Fraction(v) for v in row] for row in system]))
    assert [Fraction(v, det) for v in numerators] == rational


@pytest.mark.parametrize("seed", range(20))
def test_decimal_payoffs_are_solved_in_integers_as_in_rationals(seed: int) -> None:
    """Payoffs with up to 3 decimals (a common denominator): every basis of the polytope
    solved through ``K / S`` in integers equals the rational solve of ``M``; payoffs
    without a small common denominator keep the rationals."""
    rng = np.random.default_rng(seed)
    d, c = (int(v) for v in rng.integers(1, 5, size=2))
    raw = np.round(rng.standard_normal((d, c)) * 3, int(rng.integers(0, 4)))
    polytope = RationalPolytope(raw, LOW)
    assert polytope.integer is not None
    rational = RationalPolytope(raw, LOW)
    rational.__dict__["integer"] = None  # the cached property, as for payoffs without one
    k, scale = polytope.integer
    assert [[Fraction(v, scale) for v in row] for row in k] == [list(row) for row in rational.matrix]
    for support, tight in zip(*_every_basis(d, c), strict=True):
        assert polytope.solve(list(support), list(tight)) == rational.solve(list(support), list(tight))
    assert RationalPolytope(np.array([[np.pi, np.e]]), LOW).integer is None
