"""Tests of ``equilibria.solver.normal_form.zero_sum``: value and optimal strategies of constant-sum games.

* Known answers: matching pennies, rock-paper-scissors, a 2 x 2 game with value 1/5,
  constant-sum (not zero-sum) variants, and games whose optimal strategies form a
  continuum (checked through the vertices of both optimal polytopes).
* Oracles: pygambit's ``lp_solve`` on 36 seeded integer games (values agree, and each
  side's strategies are optimal for the other's value and lie in the hull of our
  vertices), and an independent LP formulation (Dantzig's ``min 1^T u : P^T u >= 1``
  on positive payoffs) solved by ``scipy.optimize.linprog`` directly, up to 200 x 200.
* Properties: the value moves with the payoffs (``v(A + c) = v(A) + c``,
  ``v(-A^T) = -v(A)``), every pair of vertices is an equilibrium.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import (
    InvalidOptionError,
    NormalFormGame,
    ProblemTooLargeError,
    UnsupportedError,
    certify,
)
from equilibria.solver.normal_form import zero_sum as zero_sum_module
from equilibria.solver.normal_form.vertex_enumeration import count_bases
from equilibria.solver.normal_form.zero_sum import zero_sum_value
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from .. import games


def _same_rows(found: np.ndarray | None, wanted: list[list[float]], atol: float = 1e-9) -> bool:
    """Whether two sets of points (rows) are equal, in any order."""
    if found is None:
        return False
    wanted_arr = np.asarray(wanted, dtype=float)
    if found.shape != wanted_arr.shape:
        return False
    return all(np.any(np.all(np.abs(found - w) <= atol, axis=1)) for w in wanted_arr) and all(
        np.any(np.all(np.abs(wanted_arr - f) <= atol, axis=1)) for f in found
    )


def _guarantees(a: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """What x guarantees the row player, and what y holds the row player to."""
    return float((x @ a).min()), float((a @ y).max())


# --------------------------------------------------------------------------- known answers


@dataclasses.dataclass(frozen=True)
class Case:
    make: Callable[[], NormalFormGame]
    value: float
    constant: float
    strategies: tuple[list[float], list[float]] | None  # None: not unique
    row_vertices: list[list[float]]
    col_vertices: list[list[float]]


def _bimatrix(a: list[list[float]], constant: float = 0.0) -> Callable[[], NormalFormGame]:
    arr = np.asarray(a, dtype=float)
    return lambda: NormalFormGame.from_bimatrix(arr, constant - arr)


THIRD = [1 / 3, 1 / 3, 1 / 3]
KNOWN = [
    pytest.param(
        Case(games.matching_pennies, 0.0, 0.0, ([0.5, 0.5], [0.5, 0.5]), [[0.5, 0.5]], [[0.5, 0.5]]),
        id="matching-pennies",
    ),
    pytest.param(Case(games.rock_paper_scissors, 0.0, 0.0, (THIRD, THIRD), [THIRD], [THIRD]), id="rps"),
    # Value (ad - bc) / (a + d - b - c) = (2 - 1) / 5; x = y = (2/5, 3/5) equalise.
    pytest.param(
        Case(_bimatrix([[2, -1], [-1, 1]]), 0.2, 0.0, ([0.4, 0.6], [0.4, 0.6]), [[0.4, 0.6]], [[0.4, 0.6]]),
        id="value-one-fifth",
    ),
    pytest.param(
        Case(
            _bimatrix([[2, -1], [-1, 1]], 5.0), 0.2, 5.0, ([0.4, 0.6], [0.4, 0.6]), [[0.4, 0.6]], [[0.4, 0.6]]
        ),
        id="constant-sum-5",
    ),
    pytest.param(
        Case(
            _bimatrix([[3, 2], [2, 3]], 5.0), 2.5, 5.0, ([0.5, 0.5], [0.5, 0.5]), [[0.5, 0.5]], [[0.5, 0.5]]
        ),
        id="constant-sum-pennies",
    ),
    # Row 0 wins whatever the column does: X* = {(1, 0)}, Y* = the whole simplex.
    pytest.param(
        Case(_bimatrix([[1, 1], [0, 0]]), 1.0, 0.0, None, [[1, 0]], [[1, 0], [0, 1]]),
        id="continuum-columns",
    ),
    # Rows 0 and 1 are both optimal and identical: X* = segment, Y* = simplex.
    pytest.param(
        Case(_bimatrix([[1, 1], [1, 1], [0, 0]]), 1.0, 0.0, None, [[1, 0, 0], [0, 1, 0]], [[1, 0], [0, 1]]),
        id="continuum-both",
    ),
    # Rows (1, 0, 1) and (0, 1, 1): x = (p, 1 - p) guarantees min(p, 1 - p, 1), so v = 1/2
    # at p = 1/2 only; holding both rows to 1/2 needs y_0 + y_2 <= 1/2 and y_1 + y_2 <= 1/2,
    # whose sum forces y_2 = 0: y = (1/2, 1/2, 0), the dominated column unused.
    pytest.param(
        Case(
            _bimatrix([[1, 0, 1], [0, 1, 1]]),
            0.5,
            0.0,
            ([0.5, 0.5], [0.5, 0.5, 0.0]),
            [[0.5, 0.5]],
            [[0.5, 0.5, 0.0]],
        ),
        id="dominated-column",
    ),
    # A = [[3, 1], [1, 3], [2, 2]]: v = 2; the column player's (1/2, 1/2) is the only
    # way to hold every row to 2; the row player's optimal set is the segment from
    # (1/2, 1/2, 0) to (0, 0, 1).
    pytest.param(
        Case(
            _bimatrix([[3, 1], [1, 3], [2, 2]]),
            2.0,
            0.0,
            None,
            [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]],
            [[0.5, 0.5]],
        ),
        id="segment-of-rows",
    ),
    # Every strategy is optimal in a constant game: the vertices are the pure strategies.
    pytest.param(
        Case(
            lambda: NormalFormGame.from_bimatrix(np.full((2, 3), 4.0), np.full((2, 3), 3.0)),
            4.0,
            7.0,
            None,
            np.eye(2).tolist(),
            np.eye(3).tolist(),
        ),
        id="constant-game",
    ),
]


@pytest.mark.parametrize("case", KNOWN)
def test_known_answers(case: Case) -> None:
    game = case.make()
    sol = zero_sum_value(game)
    assert sol.value == pytest.approx(case.value, abs=1e-9)
    assert sol.constant == pytest.approx(case.constant, abs=1e-12)
    assert sol.nash_conv <= 1e-9 * game.payoff_scale
    a, _ = game.bimatrix()
    x, y = sol.strategies
    low, high = _guarantees(a, x, y)
    assert low == pytest.approx(case.value, abs=1e-9)
    assert high == pytest.approx(case.value, abs=1e-9)
    if case.strategies is not None:
        np.testing.assert_allclose(x, case.strategies[0], atol=1e-9)
        np.testing.assert_allclose(y, case.strategies[1], atol=1e-9)
    assert _same_rows(sol.row_vertices, case.row_vertices), sol.row_vertices
    assert _same_rows(sol.col_vertices, case.col_vertices), sol.col_vertices
    # The player 1 side: u_1 = constant - u_0, so its value is constant - value.
    assert certify(game, sol.strategies).payoffs[1] == pytest.approx(case.constant - case.value, abs=1e-9)


def test_non_constant_sum_rejected() -> None:
    with pytest.raises(UnsupportedError) as info:
        zero_sum_value(games.chicken())
    assert info.value.field == "concepts"
    assert "not constant-sum" in str(info.value)
    assert str(info.value).startswith("zero_sum_value(): ")
    # Chicken's sums u_0 + u_1 are 12, 9, 9 and 0: the message quotes that range.
    assert str(info.value).endswith("u_0 + u_1 ranges over [0, 12]"), str(info.value)
    with pytest.raises(UnsupportedError, match=r"ranges over \[-3, 7\]$"):  # both ends quoted
        zero_sum_value(NormalFormGame.from_bimatrix([[1, 2], [3, 4]], [[-4, 3], [4, 3]]))
    # Off by a little more than the tolerance in one cell.
    a = np.array([[1.0, -1.0], [-1.0, 1.0]])
    b = -a.copy()
    b[0, 0] += 1e-6
    with pytest.raises(UnsupportedError):
        zero_sum_value(NormalFormGame.from_bimatrix(a, b))
    # ... and within it, accepted.
    b[0, 0] = -1.0 + 1e-12
    assert zero_sum_value(NormalFormGame.from_bimatrix(a, b)).value == pytest.approx(0.0, abs=1e-9)


def test_three_players_rejected() -> None:
    with pytest.raises(UnsupportedError) as info:
        zero_sum_value(NormalFormGame(np.zeros((3, 2, 2, 2))))
    assert info.value.field == "concepts"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"tol": 0.0}, "tolerance", id="tol-zero"),
        pytest.param({"tol": -1e-9}, "tolerance", id="tol-negative"),
        pytest.param({"tol": 1.0}, "tolerance", id="tol-large"),
        pytest.param({"tol": 1.000001e-3}, "tolerance", id="tol-just-over"),
        pytest.param({"vertices": "yes"}, "vertices", id="vertices-str"),
        pytest.param({"vertices": 1}, "vertices", id="vertices-int"),
        pytest.param({"vertices": None}, "vertices", id="vertices-none"),
    ],
)
def test_invalid_options(options: dict, field: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        zero_sum_value(games.matching_pennies(), **options)
    assert info.value.field == field
    assert info.value.message.startswith("zero_sum_value(): "), "refused up front, not by a later step"


def test_the_largest_tolerance_is_accepted() -> None:
    assert zero_sum_value(games.matching_pennies(), tol=1e-3).value == pytest.approx(0.0, abs=1e-3)


def test_a_failed_lp_is_an_error_even_with_a_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS stopping short (an iteration limit, status 1) may still hand back a point: it is
    not an optimal strategy and must not be returned as one."""
    real = zero_sum_module.linprog

    def stopped(*args: object, **kwargs: object) -> object:
        res = real(*args, **kwargs)
        res.status, res.message = 1, "Iteration limit reached."
        assert res.x is not None
        return res

    monkeypatch.setattr(zero_sum_module, "linprog", stopped)
    with pytest.raises(RuntimeError, match=r"zero_sum_value\(\): HiGHS failed: Iteration limit reached"):
        zero_sum_value(NormalFormGame.from_bimatrix([[2, -1, 0], [-1, 1, 3]]), vertices=False)


def test_multipliers_of_the_wrong_sign_by_rounding_are_not_probabilities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HiGHS's multipliers are <= 0 up to rounding; one rounded to the wrong side (here
    +1e-3, far more than rounding, so it shows) is cut to zero, never a negative probability."""
    real = zero_sum_module.linprog

    def rounded(*args: object, **kwargs: object) -> object:
        res = real(*args, **kwargs)
        res.ineqlin.marginals = np.where(res.ineqlin.marginals == 0.0, 1e-3, res.ineqlin.marginals)
        return res

    monkeypatch.setattr(zero_sum_module, "linprog", rounded)
    # Column 2 is never played at the optimum (its multiplier is 0, spoiled to +1e-3).
    x, y = zero_sum_module.lp_optimal_pair(
        np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), gap=1.0, feasibility=1e-9, method="highs", caller="t"
    )
    assert (y >= 0.0).all() and (x >= 0.0).all()
    np.testing.assert_allclose(y, [0.5, 0.5, 0.0], atol=1e-9)


def test_vertex_options() -> None:
    pennies = games.matching_pennies()
    skipped = zero_sum_value(pennies, vertices=False)
    assert skipped.row_vertices is None and skipped.col_vertices is None
    forced = zero_sum_value(pennies, vertices=np.True_)
    assert _same_rows(forced.row_vertices, [[0.5, 0.5]])
    # count_bases(30, 30) is astronomically over the "auto" limit: skipped, not refused.
    big = games.random_integer_game(30, 30, -3, 3, 0)
    big = NormalFormGame.from_bimatrix(big.payoffs[0])
    assert zero_sum_value(big).row_vertices is None
    with pytest.raises(ProblemTooLargeError):
        zero_sum_value(big, vertices=True)


def test_auto_enumerates_vertices_up_to_the_limit_inclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    """``vertices="auto"`` enumerates when ``count_bases(m, n) <= MAX_VERTEX_BASES``."""
    game = NormalFormGame.from_bimatrix([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    needed = count_bases(2, 3)
    monkeypatch.setattr(zero_sum_module, "MAX_VERTEX_BASES", needed)
    at_limit = zero_sum_value(game)
    assert at_limit.row_vertices is not None and at_limit.col_vertices is not None
    monkeypatch.setattr(zero_sum_module, "MAX_VERTEX_BASES", needed - 1)
    past_limit = zero_sum_value(game)
    assert past_limit.row_vertices is None and past_limit.col_vertices is None


@pytest.mark.parametrize(("tol", "feasibility"), [(1e-13, 1e-10), (3e-9, 3e-9), (1e-3, 1e-7)])
def test_highs_tolerances_are_the_tolerance_clamped_to_highs_range(
    monkeypatch: pytest.MonkeyPatch, tol: float, feasibility: float
) -> None:
    """HiGHS refuses tolerances below 1e-10 (an OptimizeWarning, an error here) and a loose
    user tolerance must not loosen the LP past 1e-7."""
    seen: list[dict] = []

    def recording(*args, options, **kwargs):
        seen.append(options)
        return linprog(*args, options=options, **kwargs)

    monkeypatch.setattr(zero_sum_module, "linprog", recording)
    a = np.array([[3.0, -1.0, 0.0], [-2.0, 2.0, 1.0]])
    solution = zero_sum_value(NormalFormGame.from_bimatrix(a), tol=tol, vertices=False)
    assert seen and all(
        o == {"primal_feasibility_tolerance": feasibility, "dual_feasibility_tolerance": feasibility}
        for o in seen
    )
    assert solution.nash_conv <= 1e-9 * np.ptp(a)


def test_second_lp_when_duals_are_not_optimal(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the row LP's multipliers were not a minimax strategy, the column LP is solved."""
    calls = []
    real = zero_sum_module._maximin

    def spoiled(mat: np.ndarray, *options: object) -> tuple[np.ndarray, np.ndarray]:
        x, y = real(mat, *options)
        calls.append(mat.shape)
        if len(calls) == 1:
            y = np.eye(len(y))[0]  # a pure column strategy: not optimal in this game
        return x, y

    monkeypatch.setattr(zero_sum_module, "_maximin", spoiled)
    game = NormalFormGame.from_bimatrix([[2, -1, 0], [-1, 1, 3]])
    sol = zero_sum_value(game, vertices=False)
    assert calls == [(2, 3), (3, 2)]
    assert sol.value == pytest.approx(0.2, abs=1e-9)
    assert sol.nash_conv <= 1e-9 * game.payoff_scale


# --------------------------------------------------------------------------- oracles


def _independent_value(a: np.ndarray) -> tuple[float, np.ndarray]:
    """Dantzig's formulation: with P = A - min(A) + 1 > 0, min 1^T u s.t. P^T u >= 1,
    u >= 0 has optimum 1 / v(P); x = u / sum(u). Dual simplex, no equality constraint."""
    shift = float(a.min()) - 1.0
    p = a - shift
    res = linprog(np.ones(a.shape[0]), A_ub=-p.T, b_ub=-np.ones(a.shape[1]), method="highs-ds")
    assert res.status == 0, res.message
    total = float(res.x.sum())
    return 1.0 / total + shift, res.x / total


def _oracle_games() -> list:
    out = []
    for seed in range(36):
        rng = np.random.default_rng([11, seed])
        m, n = (int(k) for k in rng.integers(1, 9, size=2))
        low, high = (-2, 2) if seed % 3 == 0 else (-9, 9)  # small ranges: ties, continua
        a = rng.integers(low, high + 1, size=(m, n))
        constant = int(rng.integers(-5, 6)) if seed % 4 == 0 else 0
        out.append(pytest.param(a, constant, id=f"{m}x{n}-[{low},{high}]-c{constant}-s{seed}"))
    return out


def _in_hull(point: np.ndarray, vertices: np.ndarray) -> bool:
    """Whether ``point`` is a convex combination of the rows of ``vertices`` (an LP)."""
    k = vertices.shape[0]
    res = linprog(
        np.zeros(k),
        A_eq=np.vstack([vertices.T, np.ones((1, k))]),
        b_eq=np.concatenate([point, [1.0]]),
        method="highs",
    )
    return res.status == 0


@pytest.mark.oracle
@pytest.mark.parametrize(("a", "constant"), _oracle_games())
def test_against_gambit_lp(a: np.ndarray, constant: int) -> None:
    game = NormalFormGame.from_bimatrix(a, constant - a)
    sol = zero_sum_value(game)
    g = gbt.Game.from_arrays(a.tolist(), (constant - a).tolist())
    result = gbt.nash.lp_solve(g, rational=False)
    assert len(result.equilibria) == 1
    eq = result.equilibria[0]
    players = list(g.players)
    gx, gy = (np.array([float(eq[p][s]) for s in p.strategies]) for p in players)
    gambit_value = float(eq.payoff(players[0]))
    assert sol.value == pytest.approx(gambit_value, abs=1e-7)
    assert sol.constant == constant
    # pygambit's strategies are optimal for our value, and ours for pygambit's.
    low, high = _guarantees(a, gx, gy)
    assert low >= sol.value - 1e-7 and high <= sol.value + 1e-7
    low, high = _guarantees(a, *sol.strategies)
    assert low >= gambit_value - 1e-9 and high <= gambit_value + 1e-9
    assert sol.nash_conv <= 1e-9 * game.payoff_scale
    # The independent LP formulation agrees.
    value, x = _independent_value(a.astype(float))
    assert sol.value == pytest.approx(value, abs=1e-9)
    # Every vertex is optimal; every pair of vertices is an equilibrium; pygambit's and our
    # strategies lie in the hulls of the vertices (the sets are X* and Y*).
    assert sol.row_vertices is not None and sol.col_vertices is not None
    assert (sol.row_vertices @ a).min(axis=1).min() >= sol.value - 1e-9
    assert (a @ sol.col_vertices.T).max(axis=0).max() <= sol.value + 1e-9
    for vx, vy in itertools.product(sol.row_vertices, sol.col_vertices):
        assert certify(game, (vx, vy)).nash_conv <= 1e-9 * game.payoff_scale
    for point in (gx, x, sol.strategies[0]):
        assert _in_hull(point, sol.row_vertices)
    for point in (gy, sol.strategies[1]):
        assert _in_hull(point, sol.col_vertices)


@pytest.mark.oracle
@pytest.mark.parametrize(("m", "n", "seed"), [(20, 30, 0), (45, 7, 1), (200, 200, 2)])
def test_random_normal_against_independent_lp(m: int, n: int, seed: int) -> None:
    """Standard-normal payoffs, up to 200 x 200 (the scaling case)."""
    a = np.random.default_rng(seed).standard_normal((m, n))
    game = NormalFormGame.from_bimatrix(a)
    sol = zero_sum_value(game)
    value, x = _independent_value(a)
    assert sol.value == pytest.approx(value, abs=1e-9)
    assert sol.nash_conv <= 1e-9 * game.payoff_scale
    assert sol.row_vertices is None  # too large for "auto" enumeration
    low, _ = _guarantees(a, x, sol.strategies[1])
    assert low == pytest.approx(sol.value, abs=1e-8)


# --------------------------------------------------------------------------- properties


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    m = draw(st.integers(1, 6))
    n = draw(st.integers(1, 6))
    return draw(arrays(np.int8, (m, n), elements=st.integers(-6, 6))).astype(float)


@settings(deadline=None, max_examples=30)
@given(a=matrices(), shift=st.integers(-50, 50))
def test_value_transforms_with_the_payoffs(a: np.ndarray, shift: int) -> None:
    sol = zero_sum_value(NormalFormGame.from_bimatrix(a))
    shifted = zero_sum_value(NormalFormGame.from_bimatrix(a + shift, -a), vertices=False)
    transposed = zero_sum_value(NormalFormGame.from_bimatrix(-a.T), vertices=False)
    assert shifted.value == pytest.approx(sol.value + shift, abs=1e-8)
    assert shifted.constant == pytest.approx(shift)
    assert transposed.value == pytest.approx(-sol.value, abs=1e-8)
    low, high = _guarantees(a, *sol.strategies)
    rounding = 1e-12 * max(1.0, float(np.abs(a).max()))  # e.g. 5 x 0.2 sums to 1 + 2e-16
    assert low - rounding <= sol.value <= high + rounding
    assert high - low <= 1e-9 * max(1.0, float(np.ptp(a)))
    assert sol.row_vertices is not None and sol.col_vertices is not None
    assert sol.row_vertices.shape[1] == a.shape[0] and sol.col_vertices.shape[1] == a.shape[1]
    np.testing.assert_allclose(sol.row_vertices.sum(axis=1), 1.0, atol=1e-12)
    assert (sol.row_vertices @ a).min(axis=1).min() >= sol.value - 1e-9
    assert (a @ sol.col_vertices.T).max(axis=0).max() <= sol.value + 1e-9


def test_one_linear_program_gives_both_optimal_strategies() -> None:
    """The row player's LP's multipliers are the column player's minimax strategy (no second LP):
    in [[1, 0], [0, 1/3]] both players play (1/4, 3/4), not the uniform fallback."""
    x, y = zero_sum_module._maximin(np.array([[1.0, 0.0], [0.0, 1.0 / 3.0]]), 1e-9, "highs", "test")
    np.testing.assert_allclose(x, [0.25, 0.75], atol=1e-9)
    np.testing.assert_allclose(y, [0.25, 0.75], atol=1e-9)


def _counting_maximin(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Record the shape of every LP ``_maximin`` solves."""
    calls: list[tuple[int, ...]] = []
    real = zero_sum_module._maximin

    def counting(mat: np.ndarray, *options: object) -> tuple[np.ndarray, np.ndarray]:
        calls.append(mat.shape)
        return real(mat, *options)

    monkeypatch.setattr(zero_sum_module, "_maximin", counting)
    return calls


@pytest.mark.parametrize("seed", range(12))
def test_the_row_lp_alone_answers_when_its_multipliers_are_optimal(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """On random games HiGHS's multipliers are a minimax strategy to within the tolerance:
    one LP, never the column player's own (the duality-gap test passes)."""
    rng = np.random.default_rng([23, seed])
    m, n = (int(v) for v in rng.integers(2, 9, size=2))
    game = NormalFormGame.from_bimatrix(rng.normal(size=(m, n)))
    calls = _counting_maximin(monkeypatch)
    solution = zero_sum_value(game, vertices=False)
    assert calls == [(m, n)]
    assert solution.nash_conv <= 1e-9 * game.payoff_scale


@pytest.mark.parametrize(("gap", "lps"), [(1.0, 1), (np.nextafter(1.0, 0.0), 2)])
def test_the_column_lp_is_solved_only_when_the_gap_exceeds_its_bound(
    monkeypatch: pytest.MonkeyPatch, gap: float, lps: int
) -> None:
    """A pair whose duality gap is exactly the bound is kept; one ulp less and it is not."""
    mat = np.eye(2)
    calls: list[tuple[int, ...]] = []

    def pure(found: np.ndarray, *options: object) -> tuple[np.ndarray, np.ndarray]:
        calls.append(found.shape)
        return np.array([1.0, 0.0]), np.array([1.0, 0.0])  # gap: max(mat y) - min(x mat) = 1

    monkeypatch.setattr(zero_sum_module, "_maximin", pure)
    zero_sum_module.lp_optimal_pair(mat, gap=gap, feasibility=1e-9, method="highs", caller="t")
    assert len(calls) == lps


def test_strategies_are_normalised_whatever_sums_highs_hands_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS meets ``sum(x) = 1`` only to its feasibility tolerance (up to 1e-7): a point and
    multipliers off by that much still come back as probability vectors, summing to 1."""
    real = zero_sum_module.linprog

    def loose(*args: object, **kwargs: object) -> object:
        res = real(*args, **kwargs)
        res.x = res.x * (1.0 + 1e-7)
        res.ineqlin.marginals = res.ineqlin.marginals * (1.0 - 1e-7)
        return res

    monkeypatch.setattr(zero_sum_module, "linprog", loose)
    x, y = zero_sum_module._maximin(np.array([[1.0, 0.0], [0.0, 1.0 / 3.0]]), 1e-9, "highs", "test")
    assert abs(x.sum() - 1.0) <= 4e-16 and abs(y.sum() - 1.0) <= 4e-16
    np.testing.assert_allclose(x, [0.25, 0.75], atol=1e-12)
    np.testing.assert_allclose(y, [0.25, 0.75], atol=1e-12)


def test_vertices_true_is_accepted_up_to_the_limit_inclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    """``vertices=True`` lists the vertices while ``count_bases(m, n) <= MAX_BASES``."""
    game = NormalFormGame.from_bimatrix([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    needed = count_bases(2, 3)
    monkeypatch.setattr(zero_sum_module, "MAX_BASES", needed)
    assert zero_sum_value(game, vertices=True).row_vertices is not None
    monkeypatch.setattr(zero_sum_module, "MAX_BASES", needed - 1)
    with pytest.raises(ProblemTooLargeError) as info:
        zero_sum_value(game, vertices=True)
    assert info.value.field == "vertices"


def test_vertices_of_an_incomplete_enumeration_are_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """An enumeration that stopped early (here: marked incomplete, its equilibria kept) may
    miss vertices: none are listed, rather than some passed off as all."""
    real = zero_sum_module.vertex_enumeration

    def truncated(game: NormalFormGame, **options: object) -> object:
        result = real(game, **options)
        assert result.equilibria
        return dataclasses.replace(result, complete=False)

    monkeypatch.setattr(zero_sum_module, "vertex_enumeration", truncated)
    solution = zero_sum_value(NormalFormGame.from_bimatrix([[1.0, 1.0], [0.0, 0.0]]), vertices=True)
    assert solution.row_vertices is None and solution.col_vertices is None
    assert solution.value == 1.0


def test_a_point_rounded_below_zero_is_cut_to_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS's point is >= 0 up to its tolerance; an entry rounded below (here -1e-3, far
    more than rounding, so it shows) is cut to zero, never a negative probability."""
    real = zero_sum_module.linprog

    def rounded(*args: object, **kwargs: object) -> object:
        res = real(*args, **kwargs)
        res.x[:-1] = np.where(res.x[:-1] == 0.0, -1e-3, res.x[:-1])
        return res

    monkeypatch.setattr(zero_sum_module, "linprog", rounded)
    # Row 2 is dominated: never played at the optimum (0, spoiled to -1e-3).
    x, _ = zero_sum_module._maximin(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 1e-9, "highs", "t")
    assert x.tolist() == [0.5, 0.5, 0.0]


def test_a_constant_game_needs_no_lp_and_answers_uniform_strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every strategy of a constant game is optimal: the uniform pair, without an LP."""
    calls = _counting_maximin(monkeypatch)
    solution = zero_sum_value(NormalFormGame.from_bimatrix(np.full((2, 3), 4.0)), vertices=False)
    assert calls == []
    assert solution.value == 4.0 and solution.constant == 0.0
    assert solution.strategies[0].tolist() == [0.5, 0.5]
    np.testing.assert_array_equal(solution.strategies[1], np.full(3, 1.0 / 3.0))
