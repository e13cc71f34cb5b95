"""Tests of ``equilibria.solver.stochastic.zero_sum``: zero-sum stochastic games.

* Known answers: one-state games repeated forever (``V = v / (1 - gamma)``: matching
  pennies, rock-paper-scissors, a mixed 2 x 2 game with value 3/2, a saddle point), and
  a two-state race solved by hand below (also with a ragged absorbing state).
* An independent oracle written here: plain Shapley iteration with one
  ``scipy.optimize.linprog`` per state per sweep (the column player's LP, on dense
  transitions), on 20 seeded random games with 2-6 states and 2-4 actions, half of
  them constant-sum with ``c != 0``, and on 6 games with ragged action sets; both
  methods agree with it and with each other, and their strategies are certified by
  ``certify_markov``.
* The error bounds are true bounds: runs cut short by ``max_iterations`` are within
  their ``error_bound`` of the oracle's values.
* ``matrix_game_values`` against ``linprog`` (Dantzig's formulation) on random and
  degenerate batches ({0, 1} payoffs, duplicate rows and columns, 1 x n and m x 1,
  ragged masks), through both the kernel enumeration and the LP path, plus a
  Hypothesis property test.
* Bad input: general-sum, finite-horizon and 3-player games, unknown method, bad
  options, malformed matrix batches.
* A 1000-state, 3 x 3, 5-successor sparse game at discount 0.9 solved to 1e-8 by both
  methods, checked by the stage-game guarantees computed here from ``q_values``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from equilibria.solver import InvalidGameError, InvalidOptionError, UnsupportedError
from equilibria.solver.normal_form import zero_sum as zero_sum_module
from equilibria.solver.results import MarkovZeroSum
from equilibria.solver.stochastic import zero_sum as mzs
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certify_markov
from equilibria.solver.stochastic.zero_sum import (
    hoffman_karp,
    matrix_game_values,
    shapley_iteration,
    solve_zero_sum_markov,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

ZERO_SUM_METHODS = ["hoffman_karp", "shapley"]

# --------------------------------------------------------------------------- oracles


def _column_lp_value(q: np.ndarray) -> float:
    """``min_y max_i (q y)_i`` over the simplex: the column player's LP, by HiGHS."""
    m, n = q.shape
    res = linprog(
        np.concatenate([np.zeros(n), [1.0]]),
        A_ub=np.hstack([q, -np.ones((m, 1))]),
        b_ub=np.zeros(m),
        A_eq=np.concatenate([np.ones(n), [0.0]])[None, :],
        b_eq=[1.0],
        bounds=[(0.0, None)] * n + [(None, None)],
        method="highs",
    )
    assert res.status == 0
    return float(res.x[-1])


def _dantzig_value(a: np.ndarray) -> float:
    """Value by Dantzig's LP ``min 1^T u : P^T u >= 1, u >= 0`` on positive payoffs ``P``."""
    shift = 1.0 - float(a.min())
    p = a + shift
    res = linprog(np.ones(a.shape[0]), A_ub=-p.T, b_ub=-np.ones(a.shape[1]), method="highs")
    assert res.status == 0
    return 1.0 / float(res.fun) - shift


def _oracle_values(
    r0: np.ndarray, p: np.ndarray, gamma: float, counts: np.ndarray, tol: float = 1e-8
) -> np.ndarray:
    """Plain Shapley iteration on dense transitions ``p`` (S, m, n, S): one LP per state per sweep.

    Stops when ``gamma / (1 - gamma) * ||V_{k+1} - V_k|| < tol``, so the result is within
    ``tol`` of the value (up to HiGHS's accuracy).
    """
    n_states = r0.shape[0]
    values = np.zeros(n_states)
    while True:
        new = np.empty(n_states)
        for s in range(n_states):
            m, n = counts[s]
            new[s] = _column_lp_value(r0[s, :m, :n] + gamma * p[s, :m, :n] @ values)
        change = float(np.abs(new - values).max())
        values = new
        if gamma / (1.0 - gamma) * change < tol:
            return values


def _random_game(
    seed: int, ragged: bool = False
) -> tuple[StochasticGame, np.ndarray, np.ndarray, np.ndarray]:
    """A random constant-sum game (c != 0 for odd seeds) with dense transitions, some zeros."""
    rng = np.random.default_rng(seed)
    n_states = int(rng.integers(2, 7))
    m, n = (int(k) for k in rng.integers(2, 5, size=2))
    gamma = float(rng.choice([0.3, 0.5, 0.6, 0.7]))
    r0 = (
        rng.integers(-5, 6, size=(n_states, m, n)).astype(float)
        if seed % 3 == 0
        else rng.normal(size=(n_states, m, n))
    )
    constant = float(rng.uniform(-10.0, 10.0)) if seed % 2 else 0.0
    p = rng.uniform(size=(n_states, m, n, n_states)) * (rng.uniform(size=(n_states, m, n, n_states)) < 0.6)
    p[..., 0] += 1e-3  # every row has a successor
    p /= p.sum(axis=-1, keepdims=True)
    counts = np.tile([m, n], (n_states, 1))
    if ragged:
        counts = np.stack([rng.integers(1, m + 1, n_states), rng.integers(1, n + 1, n_states)], axis=1)
    mask = (np.arange(m)[None, :, None] < counts[:, 0, None, None]) & (
        np.arange(n)[None, None, :] < counts[:, 1, None, None]
    )
    r0 = np.where(mask, r0, 0.0)
    p = np.where(mask[..., None], p, 0.0)
    game = StochasticGame(
        np.stack([r0, np.where(mask, constant - r0, 0.0)], axis=1), p, discount=gamma, action_counts=counts
    )
    return game, r0, p, counts


def _assert_certified(game: StochasticGame, sol: MarkovZeroSum, tol: float = 1e-6) -> None:
    """Strategies are distributions on existing actions, and certify_markov finds no gain."""
    x, y = sol.policies
    for pol, mask in zip((x, y), game.action_mask, strict=True):
        assert (pol >= 0.0).all()
        np.testing.assert_allclose(pol.sum(axis=1), 1.0, atol=1e-12)
        assert (pol[~mask] == 0.0).all()
    cert = certify_markov(game, (x, y))
    scale = game.reward_scale / (1.0 - game.discount)
    assert cert.nash_conv <= tol * scale
    assert cert.max_state_gap <= tol * scale
    assert sol.nash_conv == pytest.approx(cert.nash_conv, abs=1e-12)
    assert sol.max_state_gap == pytest.approx(cert.max_state_gap, abs=1e-12)


# --------------------------------------------------------------------------- known answers


def _repeated(a: list[list[float]], gamma: float, constant: float = 0.0) -> Callable[[], StochasticGame]:
    """One state whose stage game ``a`` is played forever (a self-loop)."""
    arr = np.asarray(a, dtype=float)
    return lambda: StochasticGame(
        np.stack([arr, constant - arr])[None], np.ones((1, *arr.shape, 1)), discount=gamma
    )


def _race(ragged: bool) -> Callable[[], StochasticGame]:
    """The two-state race of the docstring of ``solve_zero_sum_markov`` (gamma = 1/2).

    State 1 is absorbing and pays player 0 three per step: ``V(1) = 3 / (1 - 1/2) = 6``.
    In state 0, r_0 = [[0, 4], [2, 0]]; matching actions (the diagonal) lead to state 1,
    the others stay in state 0. With ``v = V(0)`` the stage game of state 0 is

        Q = [[0 + 6/2, 4 + v/2], [2 + v/2, 0 + 6/2]] = [[3, 4 + v/2], [2 + v/2, 3]].

    For v near 3.6 it has no saddle point (row minima 3, 3; column maxima 2 + v/2 > 3,
    4 + v/2), so val Q = (ad - bc) / (a + d - b - c) = (9 - (4 + v/2)(2 + v/2)) / (-v).
    Setting val Q = v: -1 + 3v + v^2/4 = v^2, i.e. 3v^2 - 12v + 4 = 0, v = 2 +- 2 sqrt(6)/3.
    The root 2 - 2 sqrt(6)/3 ~ 0.37 makes row 0 dominant (a saddle worth 3 != v), so
    V(0) = 2 + 2 sqrt(6)/3 ~ 3.633; the optimal strategies equalise:
    x_0 = (d - c) / (a + d - b - c) = 1/2 - 1/v and y_0 = (d - b) / (a + d - b - c) = 1/2 + 1/v.
    The ragged variant gives both players a single action in state 1.
    """

    def make() -> StochasticGame:
        r0 = np.array([[[0.0, 4.0], [2.0, 0.0]], [[3.0, 3.0 * (not ragged)], [3.0 * (not ragged)] * 2]])
        p = np.zeros((2, 2, 2, 2))
        p[0, 0, 0, 1] = p[0, 1, 1, 1] = p[0, 0, 1, 0] = p[0, 1, 0, 0] = 1.0
        p[1, :, :, 1] = 1.0
        counts = [[2, 2], [1, 1]] if ragged else None
        if ragged:
            p[1, 1, :, :] = p[1, :, 1, :] = 0.0
        return StochasticGame(np.stack([r0, -r0], axis=1), p, discount=0.5, action_counts=counts)

    return make


@dataclasses.dataclass(frozen=True)
class Case:
    make: Callable[[], StochasticGame]
    values: list[float]
    x: list[list[float]] | None  # None: not unique (only the values are checked)
    y: list[list[float]] | None


V_RACE = 2.0 + 2.0 * np.sqrt(6.0) / 3.0
RACE_X0, RACE_Y0 = 0.5 - 1.0 / V_RACE, 0.5 + 1.0 / V_RACE
KNOWN = [
    pytest.param(
        Case(_repeated([[1, -1], [-1, 1]], 0.9), [0.0], [[0.5, 0.5]], [[0.5, 0.5]]), id="pennies-self-loop"
    ),
    pytest.param(
        Case(
            _repeated([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], 0.5, constant=2.0),
            [0.0],
            [[1 / 3] * 3],
            [[1 / 3] * 3],
        ),
        id="rps-constant-sum-2",
    ),
    # 3p + (1 - p) = 2(1 - p) gives p = 1/4, v = 3/2; the columns equalise at q = 1/2.
    pytest.param(
        Case(_repeated([[3, 0], [1, 2]], 0.9, constant=5.0), [15.0], [[0.25, 0.75]], [[0.5, 0.5]]),
        id="value-3/2-constant-sum-5",
    ),
    # Row 0 dominates; column 0 is the column player's best reply: a saddle worth 2.
    pytest.param(Case(_repeated([[2, 5], [1, 0]], 0.75), [8.0], [[1, 0]], [[1, 0]]), id="saddle"),
    # Constant rewards (their range is 0: the unit game is all zeros): every policy is
    # optimal and the value is 3 / (1 - 0.9).
    pytest.param(Case(_repeated([[3, 3], [3, 3]], 0.9), [30.0], None, None), id="constant"),
    pytest.param(
        Case(_race(False), [V_RACE, 6.0], None, None),
        id="two-state-race",
    ),
    pytest.param(
        Case(_race(True), [V_RACE, 6.0], None, None),
        id="two-state-race-ragged",
    ),
]


@pytest.mark.parametrize("method", ZERO_SUM_METHODS)
@pytest.mark.parametrize("case", KNOWN)
def test_known_answers(case: Case, method: str) -> None:
    game = case.make()
    sol = solve_zero_sum_markov(game, method=method, tol=1e-9)
    assert sol.method == method
    # tol is relative to player 0's value range (issue 17), and the bound is a true bound.
    assert sol.error_bound <= game.value_tolerances(1e-9)[0]
    np.testing.assert_allclose(sol.values, case.values, atol=sol.error_bound + 1e-12)
    _assert_certified(game, sol, tol=1e-9)
    if case.x is not None:
        np.testing.assert_allclose(sol.policies[0], case.x, atol=1e-7)
        np.testing.assert_allclose(sol.policies[1], case.y, atol=1e-7)


@pytest.mark.parametrize("method", ZERO_SUM_METHODS)
def test_race_strategies(method: str) -> None:
    sol = solve_zero_sum_markov(_race(False)(), method=method, tol=1e-10)
    np.testing.assert_allclose(sol.policies[0][0], [RACE_X0, 1.0 - RACE_X0], atol=1e-8)
    np.testing.assert_allclose(sol.policies[1][0], [RACE_Y0, 1.0 - RACE_Y0], atol=1e-8)
    ragged = solve_zero_sum_markov(_race(True)(), method=method, tol=1e-10)
    np.testing.assert_allclose(ragged.policies[0][1], [1.0, 0.0])
    np.testing.assert_allclose(ragged.policies[1][1], [1.0, 0.0])


def test_public_functions_match_front_door() -> None:
    game = _race(False)()
    for function, method in ((shapley_iteration, "shapley"), (hoffman_karp, "hoffman_karp")):
        sol = function(game, tol=1e-9)
        assert sol.method == method
        np.testing.assert_allclose(sol.values, [V_RACE, 6.0], atol=1e-8)
    # Hoffman-Karp needs far fewer steps than value iteration.
    assert hoffman_karp(game).iterations < shapley_iteration(game).iterations


def test_discount_zero_is_the_stage_game() -> None:
    game = _repeated([[3, 0], [1, 2]], 0.0)()
    for method in ZERO_SUM_METHODS:
        sol = solve_zero_sum_markov(game, method=method)
        assert sol.values.tolist() == pytest.approx([1.5], abs=1e-12)
        assert sol.iterations == 1


# --------------------------------------------------------------------------- oracle comparison


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [pytest.param(k, id=f"seed-{k}") for k in range(20)])
def test_against_independent_shapley(seed: int) -> None:
    game, r0, p, counts = _random_game(seed)
    expected = _oracle_values(r0, p, game.discount, counts)
    found = {method: solve_zero_sum_markov(game, method=method, tol=1e-9) for method in ZERO_SUM_METHODS}
    for sol in found.values():
        np.testing.assert_allclose(sol.values, expected, atol=1e-6)
        _assert_certified(game, sol)
    # Both are within their (true) error bounds of the values (tol is relative, issue 17).
    bounds = found["shapley"].error_bound + found["hoffman_karp"].error_bound
    assert bounds <= 2.0 * game.value_tolerances(1e-9)[0]
    np.testing.assert_allclose(found["shapley"].values, found["hoffman_karp"].values, rtol=0.0, atol=bounds)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [pytest.param(k, id=f"seed-{k}") for k in range(100, 106)])
def test_ragged_against_independent_shapley(seed: int) -> None:
    game, r0, p, counts = _random_game(seed, ragged=True)
    assert (counts < game.num_actions).any()
    expected = _oracle_values(r0, p, game.discount, counts)
    for method in ZERO_SUM_METHODS:
        sol = solve_zero_sum_markov(game, method=method, tol=1e-9)
        np.testing.assert_allclose(sol.values, expected, atol=1e-6)
        _assert_certified(game, sol)


@pytest.mark.oracle
@pytest.mark.parametrize("method", ZERO_SUM_METHODS)
def test_error_bound_is_a_bound(method: str) -> None:
    game, r0, p, counts = _random_game(7)
    exact = _oracle_values(r0, p, game.discount, counts, tol=1e-10)
    function = shapley_iteration if method == "shapley" else hoffman_karp
    bounds = []
    for steps in (1, 2, 3, 5, 8):
        sol = function(game, tol=1e-12, max_iterations=steps)
        assert sol.iterations == steps
        assert float(np.abs(sol.values - exact).max()) <= sol.error_bound + 1e-9
        bounds.append(sol.error_bound)
    assert bounds[0] > 1e-3  # cut short, the bound says so
    assert bounds[-1] < bounds[0]


# --------------------------------------------------------------------------- matrix games


def _assert_optimal(
    a: np.ndarray, rows: np.ndarray, cols: np.ndarray, v: float, x: np.ndarray, y: np.ndarray
) -> None:
    """x, y are distributions on the existing actions that guarantee the value v."""
    sub = a[np.ix_(rows, cols)]
    scale = max(float(np.ptp(sub)), 1.0)
    assert _dantzig_value(sub) == pytest.approx(v, abs=1e-9 * scale)
    for strategy, support in ((x, rows), (y, cols)):
        assert (strategy >= 0.0).all()
        assert strategy.sum() == pytest.approx(1.0, abs=1e-12)
        assert strategy[np.setdiff1d(np.arange(len(strategy)), support)].sum() == 0.0
    assert float((x[rows] @ sub).min()) >= v - 1e-9 * scale
    assert float((sub @ y[cols]).max()) <= v + 1e-9 * scale


def _batch(kind: str, seed: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    if kind == "binary":
        return rng.integers(0, 2, size=(60, 3, 4)).astype(float), None, None
    if kind == "duplicates":
        a = rng.integers(-2, 3, size=(60, 3, 3)).astype(float)
        a[:, 2] = a[:, 0]  # a duplicate row
        a[::2, :, 1] = a[::2, :, 2]  # and, in half the games, a duplicate column
        return a, None, None
    if kind == "row-vector":
        return rng.normal(size=(20, 1, 5)), None, None
    if kind == "column-vector":
        return rng.normal(size=(20, 4, 1)), None, None
    if kind == "constant":
        return np.full((5, 3, 2), 7.0), None, None
    if kind == "ragged":
        a = rng.normal(size=(80, 4, 4)) * 10.0
        rows = np.arange(4)[None, :] < rng.integers(1, 5, size=(80, 1))
        cols = rng.uniform(size=(80, 4)) < 0.6
        cols[np.arange(80), rng.integers(0, 4, 80)] = True
        return a, rows, cols
    if kind == "lp-sized":  # C(14, 7) - 1 = 3431 pairs: solved by LP
        return rng.integers(-3, 4, size=(6, 7, 7)).astype(float), None, None
    size = int(kind.split("x")[0])
    return rng.normal(size=(100, size, size)), None, None


BATCHES = [
    "binary",
    "duplicates",
    "row-vector",
    "column-vector",
    "constant",
    "ragged",
    "lp-sized",
    "2x2",
    "3x3",
    "5x5",
]


@pytest.mark.oracle
@pytest.mark.parametrize("path", ["kernels", "lp", "fallback"])
@pytest.mark.parametrize("kind", BATCHES)
def test_matrix_game_values_against_linprog(kind: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "lp":  # every game by linear programming
        monkeypatch.setattr(mzs, "KERNEL_MAX_PAIRS", 0)
    if path == "fallback":  # every kernel above 1 x 1 "singular": games without a saddle fall back to LP
        monkeypatch.setattr(mzs, "_SINGULAR", np.inf)
    a, row_mask, col_mask = _batch(kind, seed=len(kind))
    values, x, y = matrix_game_values(a, row_mask, col_mask)
    assert values.shape == (a.shape[0],) and x.shape == a.shape[:2] and y.shape == (a.shape[0], a.shape[2])
    rows_all = np.ones(a.shape[:2], bool) if row_mask is None else row_mask
    cols_all = np.ones((a.shape[0], a.shape[2]), bool) if col_mask is None else col_mask
    for s in range(a.shape[0]):
        _assert_optimal(a[s], np.flatnonzero(rows_all[s]), np.flatnonzero(cols_all[s]), values[s], x[s], y[s])


def test_games_with_missing_actions_are_solved_by_their_kernels_not_by_lp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state where some actions do not exist (ragged action counts) is still solved by its
    kernels: the missing rows and columns are left out of each kernel's guarantees, so they
    cannot widen the bracket and force the LP."""

    def no_lp(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise AssertionError("the LP was used")

    monkeypatch.setattr(mzs, "_lp_pair", no_lp)
    pennies = np.array([[1.0, -1.0, 9.0], [-1.0, 1.0, 9.0], [9.0, 9.0, 9.0]])
    row_mask = np.array([[True, True, False], [True, True, True]])
    col_mask = np.array([[True, True, False], [True, True, False]])
    values, x, y = matrix_game_values(np.stack([pennies, pennies]), row_mask, col_mask)
    np.testing.assert_allclose(values, [0.0, 9.0], atol=1e-12)
    np.testing.assert_allclose(x[0], [0.5, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(y[0], [0.5, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(x[1], [0.0, 0.0, 1.0], atol=1e-12)


def test_a_game_solved_by_lp_takes_the_column_strategy_from_the_row_lps_dual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Games too large for kernels (7 x 7) are solved by one LP each: the row player's, whose
    multipliers are the column player's optimal strategy when the pair's bracket is within
    ``_LP_ACCEPT`` (as HiGHS's dual simplex gives it); the column player's own LP is not
    solved too. The pairs are optimal (checked against linprog)."""
    real = zero_sum_module.linprog
    solves: list[int] = []

    def counted(*args: object, **kwargs: object) -> object:
        solves.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(zero_sum_module, "linprog", counted)
    a, _, _ = _batch("lp-sized", seed=3)
    values, x, y = matrix_game_values(a)
    assert len(solves) == len(a)
    for s in range(len(a)):
        _assert_optimal(a[s], np.arange(7), np.arange(7), values[s], x[s], y[s])


@pytest.mark.oracle
@settings(deadline=None, max_examples=40)
@given(
    arrays(
        np.int8,
        st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
        elements=st.integers(-3, 3),
    )
)
def test_matrix_game_values_property(a: np.ndarray) -> None:
    values, x, y = matrix_game_values(a)
    a = a.astype(float)
    for s in range(a.shape[0]):
        _assert_optimal(a[s], np.arange(a.shape[1]), np.arange(a.shape[2]), values[s], x[s], y[s])
    # Transposing and negating swaps the players: val(-A^T) = -val(A).
    swapped, _, _ = matrix_game_values(-np.swapaxes(a, 1, 2))
    np.testing.assert_allclose(swapped, -values, atol=1e-9)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(([[1.0, 2.0]],), "payoffs", id="two-dimensional"),
        pytest.param((np.zeros((0, 2, 2)),), "payoffs", id="empty"),
        pytest.param((np.array([[[1.0, np.nan]]]),), "payoffs", id="nan"),
        pytest.param(([[["win", "lose"]]],), "payoffs", id="not-numeric"),
        pytest.param(([[[1.0, 2.0], [3.0]]],), "payoffs", id="ragged"),
        pytest.param((np.zeros((1, 2, 2)), np.zeros((1, 3), bool)), "row_mask", id="row-mask-shape"),
        pytest.param(
            (np.zeros((2, 2, 2)), None, [[True, False], [False, False]]), "col_mask", id="no-columns"
        ),
    ],
)
def test_matrix_game_values_rejects(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidGameError) as info:
        matrix_game_values(*args)
    assert info.value.field == field
    assert str(info.value).startswith("matrix_game_values(): ")


# --------------------------------------------------------------------------- bad input


def _general_sum() -> StochasticGame:
    rewards = np.zeros((1, 2, 2, 2))
    rewards[0, 0] = [[3, 0], [5, 1]]
    rewards[0, 1] = [[3, 5], [0, 1]]
    return StochasticGame(rewards, np.ones((1, 2, 2, 1)), discount=0.9)


def _finite_horizon() -> StochasticGame:
    a = np.array([[1.0, -1.0], [-1.0, 1.0]])
    return StochasticGame(np.stack([a, -a])[None], np.ones((1, 2, 2, 1)), discount=1.0, horizon=3)


def _three_players() -> StochasticGame:
    return StochasticGame(np.zeros((1, 3, 2, 2, 2)), np.ones((1, 2, 2, 2, 1)), discount=0.5)


@pytest.mark.parametrize(
    ("make", "options", "error", "field", "words"),
    [
        pytest.param(_general_sum, {}, UnsupportedError, "game", "not constant-sum", id="general-sum"),
        pytest.param(_finite_horizon, {}, UnsupportedError, "game", "infinite-horizon", id="finite-horizon"),
        pytest.param(_three_players, {}, UnsupportedError, "game", "3 players", id="three-players"),
        pytest.param(
            _race(False), {"method": "minimax-q"}, InvalidOptionError, "method", "unknown method", id="method"
        ),
        pytest.param(_race(False), {"tol": 0.0}, InvalidOptionError, "tolerance", "tol", id="tol-zero"),
        pytest.param(
            _race(False), {"tol": float("nan")}, InvalidOptionError, "tolerance", "tol", id="tol-nan"
        ),
    ],
)
def test_bad_input(
    make: Callable[[], StochasticGame], options: dict, error: type, field: str, words: str
) -> None:
    with pytest.raises(error) as info:
        solve_zero_sum_markov(make(), **options)
    assert info.value.field == field
    assert str(info.value).startswith("solve_zero_sum_markov(): ")
    assert words in str(info.value)


@pytest.mark.parametrize("function", [shapley_iteration, hoffman_karp])
def test_bad_input_of_the_methods(function: Callable[..., object]) -> None:
    with pytest.raises(UnsupportedError) as info:
        function(_general_sum())
    assert info.value.field == "game"
    assert str(info.value).startswith(f"{function.__name__}(): ")
    with pytest.raises(InvalidOptionError) as opt:
        function(_race(False)(), max_iterations=0)
    assert opt.value.field == "max_iterations"
    with pytest.raises(InvalidGameError) as bad:
        function("not a game")
    assert bad.value.field == "game"


def test_nearly_constant_sum_is_accepted() -> None:
    a = np.array([[3.0, 0.0], [1.0, 2.0]])
    rewards = np.stack([a, 5.0 - a + 1e-12])[None]
    sol = solve_zero_sum_markov(StochasticGame(rewards, np.ones((1, 2, 2, 1)), discount=0.5))
    assert sol.values[0] == pytest.approx(3.0, abs=1e-9)


# --------------------------------------------------------------------------- large sparse game


def _large_game(n_states: int = 1000, successors: int = 5, seed: int = 2024) -> StochasticGame:
    """Random 3 x 3 zero-sum game, ``successors`` random next states per joint action, coordinate form."""
    rng = np.random.default_rng(seed)
    r0 = rng.uniform(-1.0, 1.0, size=(n_states, 3, 3))
    rows = np.repeat(np.arange(n_states * 9), successors)
    probs = rng.uniform(0.1, 1.0, size=(n_states * 9, successors))
    probs /= probs.sum(axis=1, keepdims=True)
    nxt = rng.integers(0, n_states, size=rows.size)
    return StochasticGame(np.stack([r0, -r0], axis=1), (rows, nxt, probs.ravel()), discount=0.9)


def test_large_sparse_game() -> None:
    game = _large_game()
    assert game.transition_matrix.nnz <= 1000 * 9 * 5
    # tol is relative to the value range (issue 17): 5e-10 of (range < 2) / (1 - 0.9) is below 1e-8.
    shapley = solve_zero_sum_markov(game, method="shapley", tol=5e-10)
    hk = solve_zero_sum_markov(game, method="hoffman_karp", tol=5e-10)
    assert shapley.error_bound < 1e-8 and hk.error_bound < 1e-8
    assert hk.iterations < 50 < shapley.iterations
    np.testing.assert_allclose(shapley.values, hk.values, atol=1e-7)
    for sol in (shapley, hk):
        assert sol.nash_conv <= 1e-7 and sol.max_state_gap <= 1e-7
        # Independent check of the fixed point: in every stage game Q(s) = r_0 + gamma P V,
        # x guarantees at least V(s) and y holds player 0 to at most V(s).
        q = game.q_values(np.stack([sol.values, -sol.values], axis=1))[:, 0]
        x, y = sol.policies
        assert float((np.einsum("sa,sab->sb", x, q).min(axis=1) - sol.values).min()) >= -1e-7
        assert float((np.einsum("sab,sb->sa", q, y).max(axis=1) - sol.values).max()) <= 1e-7


def test_shapley_iteration_stops_at_the_round_off_floor_of_a_tolerance_below_it() -> None:
    # gamma = 0.99: the values are ~100x the rewards, so their last-place round-off is far
    # above a 1e-300 tolerance; the iteration stops when a sweep changes them by no more
    # than that floor (64 eps scale / (1 - gamma)), not at max_iterations.
    rng = np.random.default_rng(3)
    rewards = rng.standard_normal((3, 2, 2))
    transitions = rng.random((3, 2, 2, 3))
    transitions /= transitions.sum(axis=-1, keepdims=True)
    game = StochasticGame(np.stack([rewards, -rewards], axis=1), transitions, discount=0.99)
    floor = shapley_iteration(game, tol=1e-300, max_iterations=200_000)
    assert floor.iterations < 20_000
    reference = hoffman_karp(game, tol=1e-12)
    np.testing.assert_allclose(floor.values, reference.values, rtol=0, atol=1e-8)


@pytest.mark.parametrize(("m", "n"), [(1, 1), (1, 4), (2, 3), (3, 3), (4, 2), (5, 5), (6, 3)])
def test_the_kernel_pair_count_is_the_binomial_identity(m: int, n: int) -> None:
    import math

    # Pairs of equal-size non-empty row and column subsets: sum_k C(m, k) C(n, k) = C(m+n, m) - 1.
    assert mzs._pair_count(m, n) == math.comb(m + n, m) - 1


@pytest.mark.parametrize("kind", ["binary", "duplicates", "ragged", "3x3", "lp-sized"])
def test_the_kernels_returned_are_square_and_hold_each_optimal_pair(kind: str) -> None:
    """Each game's kernel (the hint of the next Hoffman-Karp step) is a square set of rows
    and columns of existing actions outside which its optimal pair puts no probability;
    a game solved by LP returns an empty kernel."""
    a, row_mask, col_mask = _batch(kind, seed=len(kind))
    rows_all = np.ones(a.shape[:2], bool) if row_mask is None else row_mask
    cols_all = np.ones((a.shape[0], a.shape[2]), bool) if col_mask is None else col_mask
    _, x, y, _, (kernel_rows, kernel_cols) = mzs._matrix_game_values(a, rows_all, cols_all)
    by_kernels = kernel_rows.any(axis=1)
    assert by_kernels.any() == (kind != "lp-sized")
    assert (kernel_rows.sum(axis=1) == kernel_cols.sum(axis=1)).all()
    assert not (kernel_rows & ~rows_all).any() and not (kernel_cols & ~cols_all).any()
    for s in np.flatnonzero(by_kernels):
        assert not x[s][~kernel_rows[s]].any() and not y[s][~kernel_cols[s]].any()


def test_an_optimal_hint_skips_the_enumeration_and_gives_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given last step's kernels (still optimal here: the same games), every game is settled
    by its hinted kernel, so the enumeration of kernels has no game left to try: one kernel
    tried per game, whatever the kernel's size (pure saddle points, 1 x 1, included)."""
    a, row_mask, col_mask = _batch("ragged", seed=6)
    first = mzs._matrix_game_values(a, row_mask, col_mask)
    tried: list[int] = []
    best_kernels = mzs._best_kernels

    def counted(b: np.ndarray, *args: np.ndarray) -> object:
        tried.append(len(b) * args[2].shape[-2])  # games x kernels tried per game
        return best_kernels(b, *args)

    monkeypatch.setattr(mzs, "_best_kernels", counted)
    again = mzs._matrix_game_values(a, row_mask, col_mask, hint=first[4])
    sizes = first[4][0].sum(axis=1)
    assert (sizes == 1).sum() > 10 and (sizes > 1).sum() > 10  # both kinds of kernel hinted
    assert sum(tried) == (sizes > 0).sum() > 60  # each hinted game once, nothing else
    for old, new in zip(first[:4], again[:4], strict=True):  # the same kernels, solved again
        np.testing.assert_allclose(old, new, rtol=1e-12, atol=1e-12)


def test_an_empty_hint_is_not_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A game whose hint is empty (last step solved it by LP, or it has no kernel yet) is
    enumerated like an unhinted one: no kernel of size 0 is tried, and the answers are those
    without hints."""
    a, row_mask, col_mask = _batch("ragged", seed=6)
    first = mzs._matrix_game_values(a, row_mask, col_mask)
    hint_rows, hint_cols = (h.copy() for h in first[4])
    hint_rows[::2], hint_cols[::2] = False, False  # every other game: an empty hint
    sizes: list[int] = []
    best_kernels = mzs._best_kernels

    def counted(b: np.ndarray, *args: np.ndarray) -> object:
        sizes.append(args[2].shape[-1])
        return best_kernels(b, *args)

    monkeypatch.setattr(mzs, "_best_kernels", counted)
    again = mzs._matrix_game_values(a, row_mask, col_mask, hint=(hint_rows, hint_cols))
    assert sizes and min(sizes) >= 1
    for old, new in zip(first[:4], again[:4], strict=True):
        np.testing.assert_allclose(old, new, rtol=1e-12, atol=1e-12)


def test_kernels_are_enumerated_in_chunks_of_at_least_one_game(monkeypatch: pytest.MonkeyPatch) -> None:
    """However small ``_CHUNK``, each chunk holds at least one game: the answers are the same."""
    a = _batch("3x3", seed=3)[0]
    row_mask, col_mask = np.ones(a.shape[:2], bool), np.ones((a.shape[0], a.shape[2]), bool)
    whole = mzs._matrix_game_values(a, row_mask, col_mask)
    monkeypatch.setattr(mzs, "_CHUNK", 1)
    for old, new in zip(whole, mzs._matrix_game_values(a, row_mask, col_mask), strict=True):
        np.testing.assert_array_equal(np.asarray(old), np.asarray(new))
