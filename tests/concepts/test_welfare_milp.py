"""The welfare-maximising equilibrium by MILP (Sandholm, Gilpin & Conitzer 2005).

Known answers are SPEC section 6 closed forms. The MILP optimum is compared with the
maximum welfare over the extreme equilibria found by enumeration (``solve``, and
pygambit's rational ``enummixed_solve`` as an independent oracle) on seeded random
integer and degenerate games up to 6 x 6. For two players the two must be *equal*, also
on degenerate games whose equilibria form continua and for the egalitarian welfare: a
maximal Nash subset's payoff image is a box whose top corner is one of its extreme
equilibria (see ``equilibria.solver.concepts.pareto``), so no equilibrium inside a component is
better than the best extreme one. The tests count how many games have non-singleton
components so that this case is exercised, not assumed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import (
    InvalidOptionError,
    NormalFormGame,
    UnsupportedError,
    certify,
    solve,
)
from equilibria.solver.concepts.welfare import welfare_values
from equilibria.solver.concepts.welfare_milp import MILP_WELFARE_FUNCTIONS, welfare_milp
from equilibria.solver.results import Equilibrium, WelfareOptimum

from .. import games

F = Fraction


def _check_certificate(game: NormalFormGame, eq: Equilibrium) -> None:
    """The equilibrium is a distribution profile and its certificate is fresh and small."""
    for s, k in zip(eq.strategies, game.num_actions, strict=True):
        assert s.shape == (k,) and np.all(s >= 0.0) and abs(float(s.sum()) - 1.0) <= 1e-12
    fresh = certify(game, eq.strategies)
    np.testing.assert_array_equal(fresh.payoffs, eq.payoffs)
    assert eq.nash_conv == fresh.nash_conv <= 1e-9 * game.payoff_scale
    assert eq.found_by == ("milp",)


# --------------------------------------------------------------------------- known answers


@dataclasses.dataclass(frozen=True)
class MilpCase:
    """A game and its best equilibrium welfare, by hand.

    Attributes
    ----------
    factory : callable
        Returns the game.
    function : str
        The welfare function.
    value : Fraction
        The maximum over all equilibria.
    profile : tuple of tuple of Fraction, optional
        The unique maximiser, when it is unique.
    """

    factory: Callable[[], NormalFormGame]
    function: str
    value: Fraction
    profile: tuple[tuple[Fraction, ...], ...] | None = None


_MIXED_CHICKEN = ((F(2, 3), F(1, 3)), (F(2, 3), F(1, 3)))
MILP_CASES = [
    pytest.param(MilpCase(games.chicken, "utilitarian", F(28, 3), _MIXED_CHICKEN), id="chicken-utilitarian"),
    pytest.param(MilpCase(games.chicken, "egalitarian", F(14, 3), _MIXED_CHICKEN), id="chicken-egalitarian"),
    pytest.param(MilpCase(games.battle_of_the_sexes, "utilitarian", F(3)), id="bos-utilitarian"),
    pytest.param(MilpCase(games.battle_of_the_sexes, "egalitarian", F(1)), id="bos-egalitarian"),
    pytest.param(
        MilpCase(games.stag_hunt, "utilitarian", F(8), ((F(1), F(0)), (F(1), F(0)))),
        id="stag-hunt-utilitarian",
    ),
    pytest.param(
        MilpCase(games.prisoners_dilemma, "utilitarian", F(2), ((F(0), F(1)), (F(0), F(1)))),
        id="pd-utilitarian",
    ),
    pytest.param(
        MilpCase(games.matching_pennies, "egalitarian", F(0), ((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2)))),
        id="pennies-egalitarian",
    ),
    pytest.param(
        MilpCase(games.shapley_game, "utilitarian", F(2, 3), tuple((F(1, 3),) * 3 for _ in range(2))),
        id="shapley-utilitarian",
    ),
    pytest.param(MilpCase(functools.partial(games.identity_game, 16), "utilitarian", F(2)), id="identity-16"),
    pytest.param(
        MilpCase(functools.partial(games.identity_game, 16), "egalitarian", F(1)), id="identity-16-egal"
    ),
    pytest.param(MilpCase(games.degenerate_continuum, "egalitarian", F(1)), id="continuum"),
    pytest.param(MilpCase(functools.partial(games.constant_game, 3, 5), "utilitarian", F(0)), id="constant"),
    pytest.param(
        # Extreme equilibria pay (3, 3), (3, 14/5) and (4, 8/3): the last, welfare 20/3, is best.
        MilpCase(
            games.von_stengel_game, "utilitarian", F(20, 3), ((F(0), F(1, 3), F(2, 3)), (F(1, 3), F(2, 3)))
        ),
        id="von-stengel",
    ),
]


@pytest.mark.parametrize("case", MILP_CASES)
def test_welfare_milp_known_answers(case: MilpCase) -> None:
    game = case.factory()
    eq, best = welfare_milp(game, function=case.function)
    _check_certificate(game, eq)
    assert best.function == case.function
    assert best.method == "milp"
    assert best.certified
    assert best.equilibrium_indices == ()
    assert best.value == pytest.approx(float(case.value), abs=1e-9)
    assert best.value == pytest.approx(float(welfare_values(eq.payoffs[None, :], case.function)[0]), abs=0)
    if case.profile is not None:
        for s, p in zip(eq.strategies, games.float_profile(case.profile), strict=True):
            np.testing.assert_allclose(s, p, atol=1e-9)


def test_identity_16_is_solved_at_a_pure_diagonal() -> None:
    # 65,535 equilibria: far past enumeration, one small MILP.
    game = games.identity_game(16)
    eq, best = welfare_milp(game)
    assert best.value == 2.0 and best.certified
    assert eq.is_pure and eq.supports[0] == eq.supports[1]
    assert eq.nash_conv == 0.0


def test_rectangular_and_one_action_games() -> None:
    for game in (
        games.identity_like_game(3, 6, 1),
        games.identity_like_game(6, 2, 3),
        games.random_integer_game(1, 5, -3, 3, 4),
    ):
        reference = welfare_values(np.stack([e.payoffs for e in solve(game).equilibria]), "utilitarian").max()
        eq, best = welfare_milp(game)
        _check_certificate(game, eq)
        assert best.value == pytest.approx(reference, abs=1e-9 * game.payoff_scale)


def test_answers_are_in_the_users_units() -> None:
    # A positive affine map per player keeps the equilibria; the welfare follows the map.
    a, b = games.chicken().bimatrix()
    scaled = NormalFormGame.from_bimatrix(1000.0 * a - 7.0, 0.001 * b + 3.0)
    eq, best = welfare_milp(scaled, function="egalitarian")
    _check_certificate(scaled, eq)
    # Payoffs 1000 U_1 - 7 and 0.001 U_2 + 3: the egalitarian optimum is the largest
    # min over the three equilibria: (C,D) -> (1993, 3.007), (D,C) -> (6993, 3.002),
    # mixed -> (4659.67, 3.00467): min is 3.007 at (C, D).
    assert best.value == pytest.approx(3.007, abs=1e-9 * scaled.payoff_scale)
    np.testing.assert_allclose(eq.strategies[0], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(eq.strategies[1], [0.0, 1.0], atol=1e-12)


def test_utilitarian_weights_follow_each_players_units() -> None:
    # 1000 U_1 - 7 + 0.001 U_2 + 3 is maximised where U_1 is: (D, C), 6993 + 3.002.
    a, b = games.chicken().bimatrix()
    scaled = NormalFormGame.from_bimatrix(1000.0 * a - 7.0, 0.001 * b + 3.0)
    eq, best = welfare_milp(scaled)
    _check_certificate(scaled, eq)
    assert best.value == pytest.approx(6996.002, abs=1e-9 * scaled.payoff_scale)
    np.testing.assert_allclose(eq.strategies[0], [0.0, 1.0], atol=1e-12)


def test_polishing_regression() -> None:
    """Without the polishing LP, HiGHS' MILP answer here has NashConv 1e-6 (its feasibility
    tolerance); polished, the certificate is at round-off."""
    game = NormalFormGame.from_bimatrix(
        [
            [1, 2, 2, 0, 0, 2, 0],
            [1, 0, 0, 0, 0, 0, 1],
            [0, 1, 1, 0, 1, 0, 1],
            [1, 2, 0, 0, 1, 1, 0],
            [2, 0, 2, 1, 2, 2, 2],
        ],
        [
            [1, 0, 1, 0, 1, 0, 2],
            [2, 2, 2, 1, 0, 2, 1],
            [1, 0, 2, 2, 1, 1, 2],
            [0, 0, 2, 1, 2, 2, 2],
            [0, 0, 1, 0, 1, 0, 0],
        ],
    )
    eq, best = welfare_milp(game)
    _check_certificate(game, eq)
    assert eq.nash_conv <= 1e-12
    table = np.stack([e.payoffs for e in solve(game).equilibria])
    assert best.value == pytest.approx(float(welfare_values(table, "utilitarian").max()), abs=1e-9)


def test_time_limit_is_accepted() -> None:
    eq, best = welfare_milp(games.identity_game(8), time_limit=30.0)
    assert best.certified and best.value == 2.0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        pytest.param({"function": "nash_product"}, UnsupportedError, "welfare", id="nash-product"),
        pytest.param({"function": "rawlsian"}, InvalidOptionError, "welfare", id="unknown"),
        pytest.param({"tol": 0.0}, InvalidOptionError, "tolerance", id="tol-zero"),
        pytest.param({"tol": 0.5}, InvalidOptionError, "tolerance", id="tol-large"),
        pytest.param({"time_limit": 0.0}, InvalidOptionError, "time_limit", id="time-limit-zero"),
        pytest.param({"time_limit": float("nan")}, InvalidOptionError, "time_limit", id="time-limit-nan"),
    ],
)
def test_bad_options(kwargs: dict[str, object], error: type[Exception], field: str) -> None:
    with pytest.raises(error) as info:
        welfare_milp(games.chicken(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field  # type: ignore[attr-defined]
    assert "welfare_milp()" in str(info.value)


def test_nash_product_points_to_enumeration() -> None:
    with pytest.raises(UnsupportedError, match="welfare_optimum"):
        welfare_milp(games.chicken(), function="nash_product")


def test_more_than_two_players_is_unsupported() -> None:
    with pytest.raises(UnsupportedError) as info:
        welfare_milp(games.minority_game())
    assert info.value.field == "method"


# --------------------------------------------------------------------------- against enumeration


@dataclasses.dataclass(frozen=True)
class Instance:
    kind: str
    m: int
    n: int
    seed: int

    def game(self) -> NormalFormGame:
        if self.kind == "int":
            return games.random_integer_game(self.m, self.n, -5, 5, self.seed)
        if self.kind == "deg":
            return games.random_degenerate_game(self.m, self.n, self.seed)
        return games.random_integer_game(self.m, self.n, 0, 1, self.seed)  # 0/1: very degenerate


def _instances() -> list[Instance]:
    rng = np.random.default_rng(20250501)
    out = []
    for kind, count in (("int", 40), ("deg", 40), ("bin", 30)):
        for k in range(count):
            m, n = (int(v) for v in rng.integers(2, 7, size=2))
            out.append(Instance(kind, m, n, 1000 + k))
    return out


INSTANCES = _instances()


@functools.cache
def _enumerated(instance: Instance) -> tuple[np.ndarray, bool]:
    """Payoffs of the extreme equilibria from ``solve`` and whether a component is a continuum."""
    result = solve(instance.game())
    assert result.complete
    table = np.stack([eq.payoffs for eq in result.equilibria])
    return table, any(not c.is_singleton for c in result.components)


@functools.cache
def _milp(instance: Instance, function: str) -> tuple[Equilibrium, WelfareOptimum]:
    return welfare_milp(instance.game(), function=function)


def test_the_agreement_games_cover_continua() -> None:
    assert len(INSTANCES) >= 100
    assert sum(1 for inst in INSTANCES if _enumerated(inst)[1]) >= 20


@pytest.mark.parametrize("function", MILP_WELFARE_FUNCTIONS)
def test_milp_optimum_equals_the_enumerated_maximum(function: str) -> None:
    """On >= 100 seeded games: MILP >= max over the extreme equilibria always (it optimises
    over every equilibrium), and equality holds, continua included (the box property)."""
    for inst in INSTANCES:
        game = inst.game()
        table, _ = _enumerated(inst)
        enumerated = float(welfare_values(table, function).max())
        eq, best = _milp(inst, function)
        _check_certificate(game, eq)
        assert best.certified, inst
        slack = 1e-6 * game.payoff_scale
        assert best.value >= enumerated - slack, inst
        assert best.value <= enumerated + slack, inst


@functools.cache
def _gambit_extreme_payoffs(instance: Instance) -> np.ndarray:
    a, b = games.integer_bimatrix(instance.game())
    g = gbt.Game.from_arrays(a, b)
    rows = [
        [float(eq.payoff(player)) for player in g.players]
        for eq in gbt.nash.enummixed_solve(g, rational=True).equilibria
    ]
    return np.array(rows, dtype=np.float64)


@pytest.mark.oracle
@pytest.mark.parametrize("function", MILP_WELFARE_FUNCTIONS)
def test_milp_optimum_equals_pygambit_enumeration(function: str) -> None:
    """Independent oracle: pygambit's rational vertex enumeration, on every fourth game."""
    for inst in INSTANCES[::4]:
        game = inst.game()
        oracle = float(welfare_values(_gambit_extreme_payoffs(inst), function).max())
        _, best = _milp(inst, function)
        assert best.value == pytest.approx(oracle, abs=1e-6 * game.payoff_scale), inst


def test_egalitarian_optimum_inside_a_continuum_is_attained_at_its_top_corner() -> None:
    """The case where the MILP might have beaten enumeration, and provably cannot.

    Rows are twins for the row player and columns are twins for the column player, so
    every profile is an equilibrium: one component, the whole square, with payoffs
    ``U_1 = 1 + 2 y_2`` and ``U_2 = 2 x_1`` (a box). Interior points do attain the
    egalitarian optimum (``x = (1, 0)`` and any ``y_2 >= 1/2``), but none exceeds the
    top corner, the extreme equilibrium ``((1, 0), (0, 1))`` paying ``(3, 2)``.
    """
    game = NormalFormGame.from_bimatrix([[1, 3], [1, 3]], [[2, 2], [0, 0]])
    # U_1 = y_1 + 3 y_2 = 1 + 2 y_2, U_2 = 2 x_1: best min(U_1, U_2) = 2 at x = (1, 0) and
    # any y_2 >= 1/2; the extreme equilibrium ((1, 0), (0, 1)) pays (3, 2).
    table = np.stack([e.payoffs for e in solve(game).equilibria])
    assert float(welfare_values(table, "egalitarian").max()) == 2.0
    eq, best = welfare_milp(game, function="egalitarian")
    _check_certificate(game, eq)
    assert best.value == pytest.approx(2.0, abs=1e-12)
