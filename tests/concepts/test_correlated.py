"""Tests of ``equilibria.solver.concepts.correlated``: welfare-optimal (coarse) correlated equilibria.

* Known answers worked out by hand (Chicken's best and worst CE, dominant-strategy
  games, a 3 x 3 game whose CCE beats every CE).
* An independent oracle: the same LPs built by naive loops over joint actions in this
  file and solved by HiGHS's interior-point method, on seeded 2- and 3-player games.
* Properties: every Nash equilibrium (from ``solve`` and, for 3 players, pygambit's
  ``enumpoly_solve``) is a CE; NE ⊆ CE ⊆ CCE as welfare bounds; the violation of a
  product distribution is at most the profile's largest regret (``certify``); CE and
  CCE coincide when every player has two actions.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import (
    InvalidGameError,
    InvalidOptionError,
    NormalFormGame,
    ProblemTooLargeError,
    certify,
    solve,
)
from equilibria.solver.concepts import correlated
from equilibria.solver.concepts.correlated import ce_violation, correlated_equilibrium, welfare_range
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from .. import games

KINDS = ("correlated", "coarse_correlated")


def _tol(game: NormalFormGame) -> float:
    return 1e-9 * game.payoff_scale


def _product(strategies: tuple[np.ndarray, ...]) -> np.ndarray:
    """The product distribution of a mixed profile."""
    out = np.asarray(strategies[0], dtype=float)
    for s in strategies[1:]:
        out = np.multiply.outer(out, np.asarray(s, dtype=float))
    return out


def _check_result(game: NormalFormGame, ce: correlated.CorrelatedEquilibrium) -> None:
    """Invariants of every answer: a distribution, payoffs and welfare consistent with it,
    and a certificate recomputed by a loop-based check."""
    p = ce.distribution
    assert p.shape == game.num_actions
    assert p.min() >= 0.0
    assert math.isclose(float(p.sum()), 1.0, abs_tol=1e-12)
    expected = np.array([float(np.sum(p * game.payoffs[i])) for i in range(game.n_players)])
    np.testing.assert_allclose(ce.payoffs, expected, atol=1e-12 * game.payoff_scale)
    welfare = expected.sum() if ce.objective == "utilitarian" else expected.min()
    assert math.isclose(ce.welfare, welfare, abs_tol=1e-12 * game.payoff_scale)
    assert ce.max_violation <= _tol(game)
    assert _naive_violation(game, p, ce.kind) <= _tol(game)


# --------------------------------------------------------------------------- the oracle: naive loops


def _joint_actions(game: NormalFormGame) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(k) for k in game.num_actions)))


def _naive_rows(game: NormalFormGame, kind: str) -> list[dict[tuple[int, ...], float]]:
    """Each incentive constraint as {joint action: coefficient}, coefficient @ p >= 0."""
    rows = []
    joints = _joint_actions(game)
    for i in range(game.n_players):
        for dev in range(game.num_actions[i]):
            told_options = range(game.num_actions[i]) if kind == "correlated" else [None]
            for told in told_options:
                if told == dev:
                    continue
                row = {}
                for a in joints:
                    if told is not None and a[i] != told:
                        continue
                    b = a[:i] + (dev,) + a[i + 1 :]
                    row[a] = float(game.payoffs[(i, *a)] - game.payoffs[(i, *b)])
                rows.append(row)
    return rows


def _naive_violation(game: NormalFormGame, p: np.ndarray, kind: str) -> float:
    return max([0.0, *(-sum(c * float(p[a]) for a, c in row.items()) for row in _naive_rows(game, kind))])


def _naive_optimum(game: NormalFormGame, kind: str, objective: str, sense: str) -> float:
    """The optimal welfare by HiGHS's interior-point method on loop-built matrices."""
    joints = _joint_actions(game)
    index = {a: k for k, a in enumerate(joints)}
    size = len(joints)
    rows = _naive_rows(game, kind)
    a_ub = np.zeros((len(rows), size))
    for r, row in enumerate(rows):
        for a, c in row.items():
            a_ub[r, index[a]] = -c
    w = np.array([[game.payoffs[(i, *a)] for a in joints] for i in range(game.n_players)])

    def lp(cost: np.ndarray, extra_ub: np.ndarray | None = None) -> float:
        if extra_ub is None:
            res = linprog(
                cost,
                A_ub=a_ub,
                b_ub=np.zeros(len(rows)),
                A_eq=np.ones((1, size)),
                b_eq=[1.0],
                method="highs-ipm",
            )
        else:  # variables (p, t)
            full_ub = np.vstack([np.hstack([a_ub, np.zeros((len(rows), 1))]), extra_ub])
            res = linprog(
                cost,
                A_ub=full_ub,
                b_ub=np.zeros(len(full_ub)),
                A_eq=np.hstack([np.ones((1, size)), [[0.0]]]),
                b_eq=[1.0],
                bounds=[(0, None)] * size + [(None, None)],
                method="highs-ipm",
            )
        assert res.status == 0, res.message
        return float(res.fun)

    if objective == "utilitarian":
        total = w.sum(axis=0)
        return -lp(-total) if sense == "max" else lp(total)
    if sense == "max":
        extra = np.hstack([-w, np.ones((game.n_players, 1))])  # t <= w_i @ p
        return -lp(np.concatenate([np.zeros(size), [-1.0]]), extra)
    return min(lp(w[i]) for i in range(game.n_players))


# --------------------------------------------------------------------------- known answers


@dataclasses.dataclass(frozen=True)
class Case:
    factory: Callable[[], NormalFormGame]
    kind: str
    objective: str
    sense: str
    welfare: float
    distribution: list | np.ndarray | None  # None when the optimiser is not unique


def _point_mass(shape: tuple[int, ...], joint: tuple[int, ...]) -> np.ndarray:
    p = np.zeros(shape)
    p[joint] = 1.0
    return p


CHICKEN_BEST = [[0.5, 0.25], [0.25, 0.0]]
CHICKEN_WORST = [[0.0, 0.4], [0.4, 0.2]]

KNOWN = [
    pytest.param(
        Case(games.chicken, "correlated", "utilitarian", "max", 10.5, CHICKEN_BEST), id="chicken-ce-max"
    ),
    # Worst CE, by hand: p(CC) = 0, p(CD) = p(DC) = 2/5, p(DD) = 1/5 (the constraints
    # p(DC) >= 2 p(DD) and p(CD) >= 2 p(DD) are tight); welfare 9 (1 - p(DD)) = 36/5.
    pytest.param(
        Case(games.chicken, "correlated", "utilitarian", "min", 7.2, CHICKEN_WORST), id="chicken-ce-min"
    ),
    pytest.param(
        Case(games.chicken, "correlated", "egalitarian", "max", 5.25, CHICKEN_BEST), id="chicken-ce-egal-max"
    ),
    # Each player's lowest CE payoff is 2, at the pure equilibrium that hurts them.
    pytest.param(
        Case(games.chicken, "correlated", "egalitarian", "min", 2.0, None), id="chicken-ce-egal-min"
    ),
    # Two actions per player: the CCE constraints are the CE constraints.
    pytest.param(
        Case(games.chicken, "coarse_correlated", "utilitarian", "max", 10.5, CHICKEN_BEST),
        id="chicken-cce-max",
    ),
    pytest.param(
        Case(games.chicken, "coarse_correlated", "utilitarian", "min", 7.2, CHICKEN_WORST),
        id="chicken-cce-min",
    ),
    # Strictly dominant strategies: the only CCE (so the only CE) is (D, D).
    *(
        pytest.param(
            Case(games.prisoners_dilemma, kind, "utilitarian", sense, 2.0, [[0.0, 0.0], [0.0, 1.0]]),
            id=f"pd-{kind}-{sense}",
        )
        for kind in KINDS
        for sense in ("max", "min")
    ),
    # The CE of matching pennies is unique: the uniform product.
    *(
        pytest.param(
            Case(games.matching_pennies, "correlated", objective, sense, 0.0, [[0.25, 0.25], [0.25, 0.25]]),
            id=f"pennies-{objective}-{sense}",
        )
        for objective in ("utilitarian", "egalitarian")
        for sense in ("max", "min")
    ),
    # Battle of the sexes: the best CE mixes the pure equilibria (welfare 3 on the diagonal).
    pytest.param(
        Case(games.battle_of_the_sexes, "correlated", "utilitarian", "max", 3.0, None), id="bos-max"
    ),
    pytest.param(
        Case(games.battle_of_the_sexes, "correlated", "egalitarian", "max", 1.5, [[0.5, 0.0], [0.0, 0.5]]),
        id="bos-egal-max",
    ),
    # Shapley's game: uniform over the 6 off-diagonal cells is a CE with welfare 1, the
    # largest welfare of any cell.
    pytest.param(Case(games.shapley_game, "correlated", "utilitarian", "max", 1.0, None), id="shapley-max"),
    # 3 players: keeping dominates, so (keep, keep, keep) is the unique CCE.
    *(
        pytest.param(
            Case(games.public_goods_game, kind, "utilitarian", sense, 3.0, _point_mass((2, 2, 2), (1, 1, 1))),
            id=f"public-goods-{kind}-{sense}",
        )
        for kind in KINDS
        for sense in ("max", "min")
    ),
    # 3 players: full coordination pays everybody 1.
    pytest.param(
        Case(games.three_player_coordination_game, "correlated", "utilitarian", "max", 3.0, None),
        id="coordination3-max",
    ),
    pytest.param(
        Case(games.three_player_coordination_game, "coarse_correlated", "egalitarian", "max", 1.0, None),
        id="coordination3-cce-egal-max",
    ),
    # Minority game: every cell pays 1 in total except the unanimous ones (0).
    pytest.param(Case(games.minority_game, "correlated", "utilitarian", "max", 1.0, None), id="minority-max"),
]


@pytest.mark.parametrize("case", KNOWN)
def test_known_answers(case: Case) -> None:
    game = case.factory()
    ce = correlated_equilibrium(game, kind=case.kind, objective=case.objective, sense=case.sense)
    assert (ce.kind, ce.objective, ce.sense) == (case.kind, case.objective, case.sense)
    assert math.isclose(ce.welfare, case.welfare, abs_tol=1e-8)
    if case.distribution is not None:
        np.testing.assert_allclose(ce.distribution, np.asarray(case.distribution, dtype=float), atol=1e-8)
    _check_result(game, ce)


def test_chicken_payoffs_and_aumann_distribution() -> None:
    """SPEC §6: best CE payoffs (5.25, 5.25); Aumann's 1/3-1/3-1/3 is a CE but not optimal."""
    chicken = games.chicken()
    best = correlated_equilibrium(chicken)
    np.testing.assert_allclose(best.payoffs, [5.25, 5.25], atol=1e-9)
    aumann = np.array([[1, 1], [1, 0]]) / 3
    assert ce_violation(chicken, aumann) <= 1e-12
    assert _naive_violation(chicken, aumann, "correlated") <= 1e-12
    assert float(np.sum(aumann * chicken.payoffs.sum(axis=0))) == pytest.approx(10.0)
    assert best.welfare > 10.0 + 0.4
    # Better than every Nash equilibrium (best: the mixed one, 28/3).
    assert best.welfare > max(float(eq.payoffs.sum()) for eq in solve(chicken).equilibria) + 1.0


def test_range_of_chicken() -> None:
    r = welfare_range(games.chicken())
    assert (r.kind, r.objective) == ("correlated", "utilitarian")
    assert (r.minimum.sense, r.maximum.sense) == ("min", "max")
    assert r.minimum.welfare == pytest.approx(7.2, abs=1e-9)
    assert r.maximum.welfare == pytest.approx(10.5, abs=1e-9)


@pytest.mark.parametrize(
    ("distribution", "kind", "expected"),
    [
        pytest.param([[1, 0], [0, 0]], "correlated", 1.0, id="CC-ce"),  # D pays 7 instead of 6
        pytest.param([[1, 0], [0, 0]], "coarse_correlated", 1.0, id="CC-cce"),
        pytest.param([[0, 0], [0, 1]], "correlated", 2.0, id="DD-ce"),  # C pays 2 instead of 0
        pytest.param([[0, 1], [0, 0]], "correlated", 0.0, id="CD-ce"),  # a pure NE
        # 1/2 on (C, C), 1/2 on (D, D): told C, switching to D gains 1/2 (7 - 6);
        # told D, switching to C gains 1/2 (2 - 0). Committing to D: 7/2 vs 3, to C: 4 vs 3.
        pytest.param([[0.5, 0], [0, 0.5]], "correlated", 1.0, id="diag-ce"),
        pytest.param([[0.5, 0], [0, 0.5]], "coarse_correlated", 1.0, id="diag-cce"),
    ],
)
def test_ce_violation_known(distribution: list, kind: str, expected: float) -> None:
    chicken = games.chicken()
    p = np.asarray(distribution, dtype=float)
    assert ce_violation(chicken, p, kind) == pytest.approx(expected, abs=1e-12)
    assert _naive_violation(chicken, p, kind) == pytest.approx(expected, abs=1e-12)


def test_a_distribution_is_read_within_a_millionth_and_refused_past_it() -> None:
    """Rounding in the caller's distribution is forgiven up to 1e-6 of probability (a
    negative entry or a sum off 1), exactly at the bound included; one step more is refused."""
    chicken = games.chicken()
    tol = correlated._DISTRIBUTION_TOL
    at_bound = np.array([[-tol, tol], [0.5, 0.5]])
    assert at_bound.min() == -tol and at_bound.sum() == 1.0
    assert ce_violation(chicken, at_bound) >= 0.0
    for spoiled in (
        np.array([[-np.nextafter(tol, 1.0), tol], [0.5, 0.5]]),
        np.full((2, 2), 0.25 + 0.3 * tol),
    ):
        with pytest.raises(InvalidGameError) as info:
            ce_violation(chicken, spoiled)
        assert info.value.field == "distribution" and "not a probability distribution" in info.value.message


def _cce_beats_ce_game() -> NormalFormGame:
    return NormalFormGame.from_bimatrix([[5, 1, 1], [2, 5, 0], [1, 3, 1]], [[2, 2, 0], [0, 0, 3], [5, 5, 4]])


def test_coarse_correlated_strictly_larger() -> None:
    """0.4 on (0, 0) and 0.6 on (2, 1) pays (3.8, 3.8). By hand: committing to any action
    pays the row player at most 0.4 * 2 + 0.6 * 5 = 3.8 and the column player at most
    0.4 * 2 + 0.6 * 5 = 3.8, so it is a CCE; but the row player told 2 gains
    0.6 * (5 - 3) = 1.2 by playing 1 instead, so it is not a CE."""
    game = _cce_beats_ce_game()
    p = np.zeros((3, 3))
    p[0, 0], p[2, 1] = 0.4, 0.6
    assert ce_violation(game, p, "coarse_correlated") == pytest.approx(0.0, abs=1e-12)
    assert ce_violation(game, p, "correlated") == pytest.approx(1.2, abs=1e-12)
    best_cce = correlated_equilibrium(game, kind="coarse_correlated")
    best_ce = correlated_equilibrium(game)
    assert best_cce.welfare >= 7.6 - 1e-9
    assert best_ce.welfare == pytest.approx(
        _naive_optimum(game, "correlated", "utilitarian", "max"), abs=1e-7
    )
    assert best_ce.welfare < 7.6 - 0.1
    assert ce_violation(game, best_cce.distribution, "correlated") > 0.1


def test_units_are_the_users() -> None:
    """A positive affine change of units moves welfare accordingly and keeps the distribution."""
    a = np.array([[6.0, 2.0], [7.0, 0.0]])
    scaled = NormalFormGame.from_bimatrix(1e6 * a - 3e6, 1e6 * a.T - 3e6)
    ce = correlated_equilibrium(scaled)
    np.testing.assert_allclose(ce.distribution, CHICKEN_BEST, atol=1e-8)
    assert ce.welfare == pytest.approx(1e6 * 10.5 - 6e6, rel=1e-12)
    np.testing.assert_allclose(ce.payoffs, [1e6 * 5.25 - 3e6] * 2, rtol=1e-12)
    assert ce.max_violation <= _tol(scaled)
    # Different units per player leave the CE polytope unchanged: every answer for the
    # rescaled game is a CE of Chicken itself.
    mixed_units = NormalFormGame.from_bimatrix(1e-6 * a, 1e3 * a.T)
    chicken = games.chicken()
    for objective, sense in itertools.product(("utilitarian", "egalitarian"), ("max", "min")):
        ce = correlated_equilibrium(mixed_units, objective=objective, sense=sense)
        assert ce.max_violation <= _tol(mixed_units)
        assert ce_violation(chicken, ce.distribution) <= _tol(chicken)
    assert ce_violation(mixed_units, CHICKEN_WORST) <= 1e-12


@pytest.mark.parametrize("shift", [-1e3, -3.5, 1e3], ids=["far-below-zero", "across-zero", "far-above-zero"])
def test_a_common_shift_moves_every_optimum_by_the_shift(shift: float) -> None:
    """Adding ``shift`` to every payoff (all negative, mixed signs, all positive: the LP's
    objective is rescaled from the payoffs' own minimum and span) adds ``shift`` to each
    player's payoff, so ``2 * shift`` to the utilitarian and ``shift`` to the egalitarian
    optimum, maximum and minimum alike."""
    chicken = games.chicken()
    a, b = chicken.bimatrix()
    shifted = NormalFormGame.from_bimatrix(a + shift, b + shift)
    for objective, sense in itertools.product(("utilitarian", "egalitarian"), ("max", "min")):
        for kind in KINDS:
            base = correlated_equilibrium(chicken, kind=kind, objective=objective, sense=sense)
            moved = correlated_equilibrium(shifted, kind=kind, objective=objective, sense=sense)
            per_player = 2 if objective == "utilitarian" else 1
            assert moved.welfare == pytest.approx(base.welfare + per_player * shift, abs=1e-7 * abs(shift))
            assert moved.max_violation <= _tol(shifted)


def test_payoffs_spanning_the_float_range_give_the_same_optima() -> None:
    """Chicken mapped affinely onto [-1.5e308, 1.5e308] (one map for both players): every
    optimal distribution is optimal for Chicken itself (the LP's objective is built in
    halves, with no overflow)."""
    chicken = games.chicken()
    a, b = chicken.bimatrix()
    extreme = NormalFormGame.from_bimatrix((a / 7 * 3 - 1.5) * 1e308, (b / 7 * 3 - 1.5) * 1e308)
    for objective, sense in itertools.product(("utilitarian", "egalitarian"), ("max", "min")):
        for kind in KINDS:
            base = correlated_equilibrium(chicken, kind=kind, objective=objective, sense=sense)
            p = correlated_equilibrium(extreme, kind=kind, objective=objective, sense=sense).distribution
            assert ce_violation(chicken, p, kind=kind) <= 1e-9
            values = [float(np.sum(p * a)), float(np.sum(p * b))]
            welfare = sum(values) if objective == "utilitarian" else min(values)
            assert welfare == pytest.approx(base.welfare, abs=1e-8), (objective, sense, kind)


def test_constant_game() -> None:
    """Every distribution is a CE of a constant game; welfare is the constant."""
    game = NormalFormGame(np.full((3, 2, 3, 2), 4.0))
    for sense in ("max", "min"):
        ce = correlated_equilibrium(game, sense=sense)
        assert ce.welfare == pytest.approx(12.0)
        _check_result(game, ce)


# --------------------------------------------------------------------------- the oracle


def _oracle_games() -> list:
    out = []
    for seed in range(6):
        rng = np.random.default_rng([7, seed])
        m, n = (int(k) for k in rng.integers(2, 5, size=2))
        out.append(pytest.param(games.random_integer_game(m, n, -5, 5, seed), id=f"int-{m}x{n}-s{seed}"))
    for seed, shape in enumerate([(2, 2, 2), (2, 3, 2), (3, 2, 2), (2, 2, 3)]):
        rng = np.random.default_rng([8, seed])
        payoffs = rng.integers(-4, 5, size=(3, *shape)).astype(float)
        out.append(pytest.param(NormalFormGame(payoffs), id=f"int3-{'x'.join(map(str, shape))}-s{seed}"))
    out.append(pytest.param(_cce_beats_ce_game(), id="cce-beats-ce"))
    out.append(pytest.param(games.random_normal_game(5, 4, 3), id="normal-5x4"))
    return out


@pytest.mark.oracle
@pytest.mark.parametrize("game", _oracle_games())
def test_against_naive_interior_point_lp(game: NormalFormGame) -> None:
    for kind, objective, sense in itertools.product(KINDS, ("utilitarian", "egalitarian"), ("max", "min")):
        ce = correlated_equilibrium(game, kind=kind, objective=objective, sense=sense)
        expected = _naive_optimum(game, kind, objective, sense)
        assert ce.welfare == pytest.approx(expected, abs=1e-6 * game.payoff_scale), (kind, objective, sense)
        _check_result(game, ce)


# --------------------------------------------------------------------------- properties


@st.composite
def bimatrix_games(draw: st.DrawFn) -> NormalFormGame:
    m = draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    elements = st.integers(-4, 4)
    a = draw(arrays(np.int8, (m, n), elements=elements))
    b = draw(arrays(np.int8, (m, n), elements=elements))
    return NormalFormGame.from_bimatrix(a, b)


@settings(deadline=None, max_examples=25)
@given(game=bimatrix_games())
def test_nash_inside_ce_inside_cce(game: NormalFormGame) -> None:
    tol = _tol(game)
    ranges = {kind: welfare_range(game, kind=kind) for kind in KINDS}
    ce, cce = ranges["correlated"], ranges["coarse_correlated"]
    assert cce.minimum.welfare <= ce.minimum.welfare + 1e-7 * game.payoff_scale
    assert ce.maximum.welfare <= cce.maximum.welfare + 1e-7 * game.payoff_scale
    for eq in solve(game).equilibria:
        p = _product(eq.strategies)
        for kind in KINDS:
            assert ce_violation(game, p, kind) <= tol
        welfare = float(eq.payoffs.sum())
        assert (
            ce.minimum.welfare - 1e-7 * game.payoff_scale
            <= welfare
            <= ce.maximum.welfare + 1e-7 * game.payoff_scale
        )
    egal = welfare_range(game, objective="egalitarian")
    for eq in solve(game).equilibria:
        low = float(eq.payoffs.min())
        assert (
            egal.minimum.welfare - 1e-7 * game.payoff_scale
            <= low
            <= egal.maximum.welfare + 1e-7 * game.payoff_scale
        )


def _gambit_mixed_equilibria(game: NormalFormGame) -> list[tuple[np.ndarray, ...]]:
    g = gbt.Game.from_arrays(*[game.payoffs[i] for i in range(game.n_players)])
    return [
        tuple(np.array([float(eq[p][s]) for s in p.strategies]) for p in g.players)
        for eq in gbt.nash.enumpoly_solve(g).equilibria
    ]


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(2, 2, 2), (2, 3, 2)])
@pytest.mark.parametrize("seed", range(5))
def test_three_player_nash_inside_ce(shape: tuple[int, ...], seed: int) -> None:
    rng = np.random.default_rng([9, seed])
    game = NormalFormGame(np.round(rng.standard_normal((3, *shape)), 3))
    profiles = [eq.strategies for eq in solve(game).equilibria] + _gambit_mixed_equilibria(game)
    assert profiles  # pygambit finds every equilibrium of a generic game: at least one
    ranges = {kind: welfare_range(game, kind=kind) for kind in KINDS}
    for strategies in profiles:
        cert = certify(game, strategies)
        assert cert.nash_conv <= 1e-9
        p = _product(strategies)
        welfare = float(cert.payoffs.sum())
        for kind in KINDS:
            assert ce_violation(game, p, kind) <= 1e-9
            assert ranges[kind].minimum.welfare - 1e-7 <= welfare <= ranges[kind].maximum.welfare + 1e-7
    assert ranges["correlated"].maximum.welfare <= ranges["coarse_correlated"].maximum.welfare + 1e-7


@st.composite
def games_and_profiles(draw: st.DrawFn) -> tuple[NormalFormGame, tuple[np.ndarray, ...]]:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=2, max_size=3)))
    payoffs = draw(arrays(np.int8, (len(shape), *shape), elements=st.integers(-5, 5)))
    weights = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)
    strategies = []
    for k in shape:
        w = np.array(draw(st.lists(weights, min_size=k, max_size=k))) + 1e-3
        strategies.append(w / w.sum())
    return NormalFormGame(payoffs), tuple(strategies)


@settings(deadline=None, max_examples=40)
@given(data=games_and_profiles())
def test_product_violation_at_most_regret(data: tuple[NormalFormGame, tuple[np.ndarray, ...]]) -> None:
    """For p = x_1 x ... x x_n: told a_i, the gain of a_i' is x_i(a_i) (U_i(a_i') - U_i(a_i)),
    at most player i's regret; committing to a_i' gains U_i(a_i') - U_i(x), at most the regret."""
    game, strategies = data
    p = _product(strategies)
    regret = float(certify(game, strategies).regrets.max())
    for kind in KINDS:
        v = ce_violation(game, p, kind)
        assert v >= 0.0
        assert v <= regret + 1e-12 * game.payoff_scale
        assert v == pytest.approx(_naive_violation(game, p, kind), abs=1e-12 * game.payoff_scale)
    # Committing to the best response is one of the CCE deviations: equality.
    assert ce_violation(game, p, "coarse_correlated") == pytest.approx(regret, abs=1e-12 * game.payoff_scale)


@settings(deadline=None, max_examples=15)
@given(
    payoffs=st.one_of(
        arrays(np.int8, (2, 2, 2), elements=st.integers(-5, 5)),
        arrays(np.int8, (3, 2, 2, 2), elements=st.integers(-5, 5)),
    ),
    raw=arrays(np.float64, 8, elements=st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)),
)
def test_two_actions_ce_equals_cce(payoffs: np.ndarray, raw: np.ndarray) -> None:
    """With two actions each, 'told a, play b' and 'always play b' are the same constraint."""
    game = NormalFormGame(payoffs)
    w = raw[: math.prod(game.num_actions)] + 1e-3
    p = (w / w.sum()).reshape(game.num_actions)
    assert ce_violation(game, p, "correlated") == pytest.approx(
        ce_violation(game, p, "coarse_correlated"), abs=1e-12 * game.payoff_scale
    )
    best = [correlated_equilibrium(game, kind=kind).welfare for kind in KINDS]
    assert best[0] == pytest.approx(best[1], abs=1e-7 * game.payoff_scale)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"objective": "nash_product"}, "welfare", id="objective"),
        pytest.param({"kind": "nash"}, "concepts", id="kind"),
        pytest.param({"sense": "maximise"}, "sense", id="sense"),
        pytest.param({"tol": 0.0}, "tolerance", id="tol-zero"),
        pytest.param({"tol": 0.1}, "tolerance", id="tol-large"),
    ],
)
def test_invalid_options(options: dict, field: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        correlated_equilibrium(games.chicken(), **options)
    assert info.value.field == field
    assert str(info.value).startswith("correlated_equilibrium(): ")
    if "sense" not in options:
        with pytest.raises(InvalidOptionError) as info:
            welfare_range(games.chicken(), **options)
        assert info.value.field == field
        assert str(info.value).startswith("welfare_range(): ")


@pytest.mark.parametrize(
    "distribution",
    [
        pytest.param(np.full(4, 0.25), id="shape"),
        pytest.param([[0.5, 0.5], [0.5, -0.5]], id="negative"),
        pytest.param([[0.5, 0.5], [0.5, 0.5]], id="sum"),
        pytest.param([[np.nan, 0.5], [0.5, 0.0]], id="nan"),
        pytest.param([["a", "b"], ["c", "d"]], id="not-numeric"),
    ],
)
def test_invalid_distribution(distribution: object) -> None:
    with pytest.raises(InvalidGameError) as info:
        ce_violation(games.chicken(), distribution)
    assert info.value.field == "distribution"
    assert str(info.value).startswith("ce_violation(): ")


def test_ce_violation_unknown_kind() -> None:
    with pytest.raises(InvalidOptionError) as info:
        ce_violation(games.chicken(), np.full((2, 2), 0.25), kind="nash")
    assert info.value.field == "concepts"


def test_too_large() -> None:
    """A 200 x 200 CE LP has 2 * 199 * 200^2 > 10^7 constraint entries: refused before building."""
    game = NormalFormGame(np.zeros((2, 200, 200)))
    with pytest.raises(ProblemTooLargeError) as info:
        correlated_equilibrium(game)
    assert info.value.field == "concepts"
    assert "15,920,000" in str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_an_lp_of_exactly_the_entry_limit_is_solved_and_one_over_is_refused(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A 2 x 3 game's CE LP has 6 * (1 + 2) = 18 entries, its CCE LP 6 * (2 + 3) = 30."""
    game = NormalFormGame.from_bimatrix([[6, 2, 0], [7, 0, 1]], [[6, 7, 2], [2, 0, 1]])
    entries = 18 if kind == "correlated" else 30
    monkeypatch.setattr(correlated, "MAX_LP_ENTRIES", entries)
    assert correlated_equilibrium(game, kind=kind).max_violation <= _tol(game)
    monkeypatch.setattr(correlated, "MAX_LP_ENTRIES", entries - 1)
    with pytest.raises(ProblemTooLargeError, match=f"has {entries:,} constraint entries") as info:
        correlated_equilibrium(game, kind=kind)
    assert info.value.field == "concepts"


def test_a_failed_lp_is_an_error_even_with_a_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS stopping short (an iteration limit, status 1) may still hand back a point: it is
    not an optimum and must not be returned as one."""
    real = correlated.linprog

    def stopped(*args: object, **kwargs: object) -> object:
        res = real(*args, **kwargs)
        res.status, res.message = 1, "Iteration limit reached."
        assert res.x is not None
        return res

    monkeypatch.setattr(correlated, "linprog", stopped)
    with pytest.raises(RuntimeError, match=r"correlated_equilibrium\(\): HiGHS failed: Iteration limit"):
        correlated_equilibrium(games.chicken())


@pytest.mark.parametrize("objective", ["utilitarian", "egalitarian"])
@pytest.mark.parametrize("sense", ["max", "min"])
def test_a_distribution_is_normalised_whatever_sums_highs_hands_back(
    monkeypatch: pytest.MonkeyPatch, objective: str, sense: str
) -> None:
    """HiGHS meets ``sum(p) = 1`` only to its feasibility tolerance (up to 1e-7), and may
    round an entry below zero: the distribution returned sums to 1, with no negative entry."""
    real = correlated.linprog

    def loose(*args: object, **kwargs: object) -> object:
        res = real(*args, **kwargs)
        res.x = res.x * (1.0 + 1e-7)
        res.x[0] -= 1e-3 if res.x[0] == 0.0 else 0.0
        return res

    monkeypatch.setattr(correlated, "linprog", loose)
    found = correlated_equilibrium(games.chicken(), objective=objective, sense=sense)
    assert abs(found.distribution.sum() - 1.0) <= 4e-16
    assert found.distribution.min() >= 0.0


def _recording_linprog(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Record the keyword arguments of every LP the module hands HiGHS."""
    calls: list[dict] = []
    real = correlated.linprog

    def recording(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(correlated, "linprog", recording)
    return calls


@pytest.mark.parametrize(("sense", "method"), [("max", "highs"), ("min", "highs-ipm")])
def test_welfare_minimising_lps_go_to_the_interior_point_solver(
    monkeypatch: pytest.MonkeyPatch, sense: str, method: str
) -> None:
    """Dual simplex for maximising, interior point for minimising: on a seeded 40 x 40 game
    each is several times faster than the other there (see ``_solve``)."""
    calls = _recording_linprog(monkeypatch)
    for objective in ("utilitarian", "egalitarian"):
        correlated_equilibrium(games.chicken(), objective=objective, sense=sense)
    assert calls and {call["method"] for call in calls} == {method}


@pytest.mark.parametrize(("tol", "feasibility"), [(1e-13, 1e-10), (3e-9, 3e-9), (1e-3, 1e-7)])
def test_highs_tolerances_are_the_tolerance_clamped_to_highs_range(
    monkeypatch: pytest.MonkeyPatch, tol: float, feasibility: float
) -> None:
    """HiGHS refuses tolerances below 1e-10 and a loose user tolerance must not loosen the
    LP past 1e-7: both feasibility tolerances are ``tol`` clamped to [1e-10, 1e-7]."""
    calls = _recording_linprog(monkeypatch)
    for objective in ("utilitarian", "egalitarian"):
        correlated_equilibrium(games.chicken(), objective=objective, tol=tol)
    wanted = {"primal_feasibility_tolerance": feasibility, "dual_feasibility_tolerance": feasibility}
    assert calls and all(call["options"] == wanted for call in calls)


@pytest.mark.parametrize("kind", KINDS)
def test_the_best_egalitarian_welfare_may_be_the_largest_payoff(kind: str) -> None:
    """In a common-interest game whose joint action (0, 0) pays every player the game's
    largest payoff, the egalitarian optimum is that joint action and its welfare that payoff
    (the epigraph variable reaches the top of its range)."""
    a = np.array([[5.0, 0.0], [1.0, 2.0]])
    found = correlated_equilibrium(NormalFormGame.from_bimatrix(a, a), kind=kind, objective="egalitarian")
    assert found.welfare == pytest.approx(5.0, abs=1e-9)
    np.testing.assert_allclose(found.distribution, [[1.0, 0.0], [0.0, 0.0]], atol=1e-9)


def _incentive_rows(game: NormalFormGame, kind: str) -> np.ndarray:
    """The incentive constraints ``g @ p >= 0`` built by loops over joint actions, in the
    order ``incentive_constraints`` documents, from the unit game's payoffs."""
    u = game.unit_game.payoffs
    joint = list(itertools.product(*(range(k) for k in game.num_actions)))
    rows = []
    for i, k in enumerate(game.num_actions):
        told_dev = [(a, b) for a in range(k) for b in range(k) if a != b] if kind == "correlated" else None
        for pair in told_dev if told_dev is not None else [(None, b) for b in range(k)]:
            told, dev = pair
            row = np.zeros(len(joint))
            for col, action in enumerate(joint):
                if told is not None and action[i] != told:
                    continue
                deviated = action[:i] + (dev,) + action[i + 1 :]
                row[col] = u[(i, *action)] - u[(i, *deviated)]
            rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (2, 3, 2), (3, 1, 2)])
def test_the_incentive_constraints_are_the_definitions_rows_in_order(
    kind: str, shape: tuple[int, ...]
) -> None:
    """Row for row (and no more rows) what the definition says, on random games."""
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    game = NormalFormGame(rng.integers(-3, 4, size=(len(shape), *shape)).astype(float))
    matrix = correlated.incentive_constraints(game, kind)
    np.testing.assert_allclose(matrix.toarray(), _incentive_rows(game, kind), atol=1e-15)


def test_incentive_constraints_refuse_an_unknown_kind() -> None:
    with pytest.raises(InvalidOptionError, match=r"^incentive_constraints\(\): unknown kind 'nash'") as info:
        correlated.incentive_constraints(games.chicken(), "nash")
    assert info.value.field == "concepts"


def test_a_distribution_no_player_would_leave_has_violation_zero_not_less() -> None:
    """Chicken's (C, D) and (D, C) half each: committing to C (4) or D (3.5) beforehand is
    worse than the 4.5 each player gets, so every coarse gain is negative; the violation is
    clipped at 0, never a negative number."""
    assert ce_violation(games.chicken(), [[0.0, 0.5], [0.5, 0.0]], kind="coarse_correlated") == 0.0
