"""Pareto filter, welfare functions, maximin values and welfare-maximising equilibria.

Known answers are the closed forms of SPEC section 6, worked out by hand (payoff vectors
and profiles as exact fractions). Property tests (Hypothesis) check the invariants:
the Pareto filter is idempotent, agrees with a brute-force double loop written from the
definition, and every discarded row is dominated by a kept one; the maximum welfare is
at least the welfare of every equilibrium; security values never exceed an equilibrium
payoff. Maximin values are compared with the *dual* linear programme (``min`` over the
others' joint mixtures of the best-response payoff), solved with scipy directly.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import (
    Component,
    InvalidOptionError,
    NormalFormGame,
    SolutionSet,
    certify,
    solve,
)
from equilibria.solver.concepts.pareto import pareto_optimal
from equilibria.solver.concepts.welfare import (
    WELFARE_FUNCTIONS,
    maximin_values,
    welfare_optimum,
    welfare_values,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from .. import games

if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
    _storage = tempfile.mkdtemp(prefix="equilibria-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    set_hypothesis_home_dir(_storage)


F = Fraction
Profile = tuple[tuple[Fraction, ...], ...]
PROPS = settings(max_examples=40, deadline=None, database=None)


def _profile(*strategies: tuple[int | Fraction, ...]) -> Profile:
    return tuple(tuple(F(v) for v in s) for s in strategies)


def _index_of(result: SolutionSet, profile: Profile) -> int:
    """Index of the equilibrium equal (1e-9) to an exact profile; fails when absent."""
    wanted = games.float_profile(profile)
    hits = [
        k
        for k, eq in enumerate(result.equilibria)
        if all(np.max(np.abs(s - w)) <= 1e-9 for s, w in zip(eq.strategies, wanted, strict=True))
    ]
    assert len(hits) == 1, f"profile {profile} found {len(hits)} times"
    return hits[0]


# --------------------------------------------------------------------------- known answers

PURE_1, PURE_2 = (1, 0), (0, 1)


@dataclasses.dataclass(frozen=True)
class WelfareCase:
    """A game and, by hand, its Pareto-optimal and welfare-maximising equilibria.

    Attributes
    ----------
    factory : callable
        Returns the game.
    pareto : tuple of Profile
        The Pareto-optimal extreme equilibria.
    best : dict
        For each welfare function: (maximum value, the maximising profiles).
    maximin : tuple of Fraction
        Each player's security value (the Nash product's disagreement point).
    """

    factory: Callable[[], NormalFormGame]
    pareto: tuple[Profile, ...]
    best: dict[str, tuple[Fraction, tuple[Profile, ...]]]
    maximin: tuple[Fraction, ...]


_PD = _profile(PURE_2, PURE_2)
_BOS = (_profile(PURE_1, PURE_1), _profile(PURE_2, PURE_2))
_CHICKEN_MIXED = _profile((F(2, 3), F(1, 3)), (F(2, 3), F(1, 3)))
_STAG = _profile(PURE_1, PURE_1)

WELFARE_CASES = [
    pytest.param(
        WelfareCase(
            games.prisoners_dilemma,
            pareto=(_PD,),
            best={
                "utilitarian": (F(2), (_PD,)),
                "egalitarian": (F(1), (_PD,)),
                "nash_product": (F(0), (_PD,)),
            },
            maximin=(F(1), F(1)),
        ),
        id="prisoners-dilemma",
    ),
    pytest.param(
        WelfareCase(
            games.battle_of_the_sexes,
            pareto=_BOS,
            # d = (2/3, 2/3): the pure ones give (4/3)(1/3) = 4/9, the mixed one 0.
            best={"utilitarian": (F(3), _BOS), "egalitarian": (F(1), _BOS), "nash_product": (F(4, 9), _BOS)},
            maximin=(F(2, 3), F(2, 3)),
        ),
        id="battle-of-the-sexes",
    ),
    pytest.param(
        WelfareCase(
            games.chicken,
            pareto=(_profile(PURE_1, PURE_2), _profile(PURE_2, PURE_1), _CHICKEN_MIXED),
            # d = (2, 2): the pure ones give 0 * 5, the mixed one (8/3)^2 = 64/9.
            best={
                "utilitarian": (F(28, 3), (_CHICKEN_MIXED,)),
                "egalitarian": (F(14, 3), (_CHICKEN_MIXED,)),
                "nash_product": (F(64, 9), (_CHICKEN_MIXED,)),
            },
            maximin=(F(2), F(2)),
        ),
        id="chicken",
    ),
    pytest.param(
        WelfareCase(
            games.stag_hunt,
            pareto=(_STAG,),
            best={
                "utilitarian": (F(8), (_STAG,)),
                "egalitarian": (F(4), (_STAG,)),
                "nash_product": (F(1), (_STAG,)),
            },
            maximin=(F(3), F(3)),
        ),
        id="stag-hunt",
    ),
    pytest.param(
        WelfareCase(
            games.matching_pennies,
            pareto=(_profile((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2))),),
            best={
                f: (F(0), (_profile((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2))),))
                for f in ("utilitarian", "egalitarian", "nash_product")
            },
            maximin=(F(0), F(0)),
        ),
        id="matching-pennies",
    ),
    pytest.param(
        # The segment {row 1} x Delta: both extreme equilibria pay (1, 1); duplicates are kept.
        # Security values: the row player guarantees 1 with row 1; the column player's
        # payoff depends on the row only, so it guarantees min(1, 0) = 0; d = (1, 0).
        WelfareCase(
            games.degenerate_continuum,
            pareto=(_profile(PURE_1, PURE_1), _profile(PURE_1, PURE_2)),
            best={
                f: (v, (_profile(PURE_1, PURE_1), _profile(PURE_1, PURE_2)))
                for f, v in (("utilitarian", F(2)), ("egalitarian", F(1)), ("nash_product", F(0)))
            },
            maximin=(F(1), F(0)),
        ),
        id="degenerate-continuum",
    ),
]


@pytest.mark.parametrize("case", WELFARE_CASES)
def test_pareto_optimal_equilibria_known_answers(case: WelfareCase) -> None:
    game = case.factory()
    result = solve(game)
    assert result.complete
    assert result.max_nash_conv <= 1e-9 * game.payoff_scale
    table = np.stack([eq.payoffs for eq in result.equilibria])
    kept = pareto_optimal(table)
    assert kept == tuple(sorted(_index_of(result, p) for p in case.pareto))
    assert pareto_optimal(table[list(kept)]) == tuple(range(len(kept)))


@pytest.mark.parametrize("case", WELFARE_CASES)
@pytest.mark.parametrize("function", WELFARE_FUNCTIONS)
def test_welfare_optimum_known_answers(case: WelfareCase, function: str) -> None:
    game = case.factory()
    result = solve(game)
    best = welfare_optimum(result, function, game=game)
    value, profiles = case.best[function]
    assert best.function == function
    assert best.method == "enumeration"
    assert best.certified
    assert best.value == pytest.approx(float(value), abs=1e-9)
    assert best.equilibrium_indices == tuple(sorted(_index_of(result, p) for p in profiles))
    if function == "nash_product":
        assert best.disagreement is not None
        np.testing.assert_allclose(best.disagreement, [float(v) for v in case.maximin], atol=1e-9)
    else:
        assert best.disagreement is None


@pytest.mark.parametrize("case", WELFARE_CASES)
def test_maximin_values_known_answers(case: WelfareCase) -> None:
    np.testing.assert_allclose(maximin_values(case.factory()), [float(v) for v in case.maximin], atol=1e-9)


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        pytest.param(games.public_goods_game, (1, 1, 1), id="public-goods"),
        pytest.param(games.minority_game, (0, 0, 0), id="minority"),
        pytest.param(games.three_player_coordination_game, (0, 0, 0), id="3p-coordination"),
    ],
)
def test_maximin_values_three_players(
    factory: Callable[[], NormalFormGame], expected: tuple[int, ...]
) -> None:
    np.testing.assert_allclose(maximin_values(factory()), expected, atol=1e-9)


def test_utilitarian_ties_between_the_pure_equilibria_of_battle_of_the_sexes() -> None:
    result = solve(games.battle_of_the_sexes())
    values = welfare_values(np.stack([eq.payoffs for eq in result.equilibria]), "utilitarian")
    pure = [k for k, eq in enumerate(result.equilibria) if eq.is_pure]
    assert len(pure) == 2
    np.testing.assert_allclose(values[pure], [3.0, 3.0], atol=1e-12)
    assert welfare_optimum(result, "utilitarian").equilibrium_indices == tuple(pure)


def test_pareto_optimal_pure_equilibria_of_a_three_player_game() -> None:
    # (0,0,0) and (1,1,1) pay everybody 1; the all-distinct ones pay 0.
    game = games.three_player_coordination_game()
    result = solve(game, concepts=["pure_nash"])
    table = np.stack([eq.payoffs for eq in result.equilibria])
    kept = pareto_optimal(table)
    assert sorted(tuple(int(np.argmax(s)) for s in result.equilibria[k].strategies) for k in kept) == [
        (0, 0, 0),
        (1, 1, 1),
    ]
    best = welfare_optimum(result, "egalitarian", game=game)
    # The maximum over the pure equilibria; not certified over every Nash equilibrium (issue 17).
    assert best.value == 1.0 and best.equilibrium_indices == kept and not best.certified


# --------------------------------------------------------------------------- pareto_optimal unit


@pytest.mark.parametrize(
    ("payoffs", "tol", "expected"),
    [
        pytest.param(np.zeros((0, 2)), 0.0, (), id="empty"),
        pytest.param([[1, 2]], 0.0, (0,), id="single"),
        pytest.param([[1, 2], [1, 2]], 0.0, (0, 1), id="duplicates-kept"),
        pytest.param([[1, 2], [1, 3]], 0.0, (1,), id="weak-dominance"),
        pytest.param([[1, 2], [2, 1]], 0.0, (0, 1), id="incomparable"),
        pytest.param([[1, 2], [1, 2 + 1e-12]], 1e-9, (0, 1), id="within-tolerance-is-a-tie"),
        pytest.param([[1, 2], [1 - 1e-12, 3]], 1e-9, (1,), id="tolerated-loss"),
        pytest.param([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1]], 0.0, (3,), id="three-players"),
    ],
)
def test_pareto_optimal_cases(payoffs: object, tol: float, expected: tuple[int, ...]) -> None:
    assert pareto_optimal(payoffs, tol=tol) == expected


@pytest.mark.parametrize(
    ("payoffs", "tol", "field"),
    [
        pytest.param([1.0, 2.0], 1e-9, "payoffs", id="1-d"),
        pytest.param([[1.0, np.nan]], 1e-9, "payoffs", id="nan"),
        pytest.param([[1.0, 2.0]], -1.0, "tolerance", id="negative-tol"),
    ],
)
def test_pareto_optimal_rejects_bad_input(payoffs: object, tol: float, field: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        pareto_optimal(payoffs, tol=tol)
    assert info.value.field == field
    assert "pareto_optimal()" in str(info.value)


def test_pareto_optimal_blocks_agree_with_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from equilibria.solver.concepts import pareto

    rng = np.random.default_rng(7)
    table = rng.integers(0, 4, size=(300, 3)).astype(float)
    whole = pareto_optimal(table, tol=0.0)
    monkeypatch.setattr(pareto, "_BLOCK_ENTRIES", 17)  # blocks of a few rows
    assert pareto_optimal(table, tol=0.0) == whole


# --------------------------------------------------------------------------- properties


def _dominates(u: np.ndarray, v: np.ndarray) -> bool:
    """Brute-force definition: u is at least v everywhere and above it somewhere."""
    return all(p >= q for p, q in zip(u, v, strict=True)) and any(p > q for p, q in zip(u, v, strict=True))


payoff_tables = st.integers(0, 14).flatmap(
    lambda k: st.integers(1, 4).flatmap(
        lambda n: arrays(np.int64, (k, n), elements=st.integers(-3, 3)).map(lambda a: a.astype(np.float64))
    )
)


@PROPS
@given(table=payoff_tables)
def test_pareto_filter_matches_definition_and_is_idempotent(table: np.ndarray) -> None:
    kept = pareto_optimal(table, tol=0.0)
    expected = tuple(
        i for i in range(len(table)) if not any(_dominates(table[j], table[i]) for j in range(len(table)))
    )
    assert kept == expected
    assert all(0 <= i < len(table) for i in kept)
    if len(table):
        assert kept, "a finite non-empty set has a Pareto-optimal element"
    # Idempotent: filtering the filtered set keeps all of it.
    assert pareto_optimal(table[list(kept)], tol=0.0) == tuple(range(len(kept)))
    # External stability: every discarded row is dominated by a kept one.
    for i in set(range(len(table))) - set(kept):
        assert any(_dominates(table[j], table[i]) for j in kept)


@st.composite
def bimatrix_games(draw: st.DrawFn, max_actions: int = 4) -> NormalFormGame:
    m = draw(st.integers(1, max_actions), label="m")
    n = draw(st.integers(1, max_actions), label="n")
    a = draw(arrays(np.int64, (m, n), elements=st.integers(-4, 4)), label="A")
    b = draw(arrays(np.int64, (m, n), elements=st.integers(-4, 4)), label="B")
    return NormalFormGame.from_bimatrix(a, b)


@st.composite
def three_player_games(draw: st.DrawFn) -> NormalFormGame:
    actions = tuple(draw(st.integers(1, 3), label=f"actions[{i}]") for i in range(3))
    payoffs = draw(arrays(np.int64, (3, *actions), elements=st.integers(-3, 3)), label="payoffs")
    return NormalFormGame(payoffs)


@PROPS
@given(game=bimatrix_games(), function=st.sampled_from(WELFARE_FUNCTIONS))
def test_maximum_welfare_dominates_every_equilibrium(game: NormalFormGame, function: str) -> None:
    result = solve(game)
    best = welfare_optimum(result, function, game=game)
    table = np.stack([eq.payoffs for eq in result.equilibria])
    values = welfare_values(table, function, best.disagreement, tol=1e-9 * game.payoff_scale)
    assert np.all(values <= best.value)
    assert best.equilibrium_indices, "some equilibrium attains the maximum"
    np.testing.assert_allclose(
        values[list(best.equilibrium_indices)], best.value, atol=1e-8 * game.payoff_scale**2
    )
    assert best.certified == result.complete
    # Every equilibrium is individually rational with respect to the maximin point.
    assert np.all(np.isfinite(values))


def _dual_security_value(game: NormalFormGame, player: int) -> float:
    """min over the others' joint mixtures q of max_{a_i} (M q)_{a_i}: the dual LP."""
    matrix = np.moveaxis(game.payoffs[player], player, 0).reshape(game.num_actions[player], -1)
    k, c = matrix.shape
    # Variables (q_1..q_c, w): minimise w subject to M q - w <= 0, sum q = 1, q >= 0.
    res = linprog(
        np.append(np.zeros(c), 1.0),
        A_ub=np.hstack([matrix, -np.ones((k, 1))]),
        b_ub=np.zeros(k),
        A_eq=np.append(np.ones(c), 0.0)[None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * c + [(None, None)],
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


@PROPS
@given(game=bimatrix_games(max_actions=5))
def test_maximin_values_bound_equilibrium_payoffs_two_players(game: NormalFormGame) -> None:
    d = maximin_values(game)
    np.testing.assert_allclose(
        d, [_dual_security_value(game, i) for i in range(2)], atol=1e-9 * game.payoff_scale
    )
    for eq in solve(game).equilibria:
        assert np.all(d <= eq.payoffs + 1e-9 * game.payoff_scale)


@PROPS
@given(game=three_player_games())
def test_maximin_values_bound_equilibrium_payoffs_three_players(game: NormalFormGame) -> None:
    d = maximin_values(game)
    np.testing.assert_allclose(
        d, [_dual_security_value(game, i) for i in range(3)], atol=1e-9 * game.payoff_scale
    )
    for eq in solve(game, concepts=["pure_nash"]).equilibria:
        assert np.all(d <= eq.payoffs + 1e-9 * game.payoff_scale)


# --------------------------------------------------------------------------- the continuum


def _component_box_game() -> NormalFormGame:
    """Rows are twins for the row player, columns twins for the column player: every
    profile is an equilibrium, one component (the whole square), payoffs (y_1, x_1)."""
    return NormalFormGame.from_bimatrix([[1, 0], [1, 0]], [[1, 1], [0, 0]])


def test_component_payoffs_form_a_box_topped_by_an_extreme_equilibrium() -> None:
    game = _component_box_game()
    result = solve(game)
    assert result.complete and len(result.components) == 1 and len(result.equilibria) == 4
    table = np.stack([eq.payoffs for eq in result.equilibria])
    top = _index_of(result, _profile(PURE_1, PURE_1))
    assert pareto_optimal(table) == (top,)
    for function in WELFARE_FUNCTIONS:
        best = welfare_optimum(result, function, game=game)
        assert best.equilibrium_indices == (top,) and best.certified


def test_interior_points_of_components_never_beat_the_extreme_equilibria() -> None:
    """The statement behind certified egalitarian / Nash-product optima (module docstrings):
    on a 2-player component the payoff image is a box whose top corner is an extreme
    equilibrium. Sampled points of every component of degenerate games are certified
    equilibria whose payoffs are dominated by an extreme equilibrium of that component."""
    rng = np.random.default_rng(2024)
    checked = 0
    for seed in range(60):
        game = games.random_degenerate_game(4, 4, seed)
        result = solve(game)
        scale = game.payoff_scale
        for comp in result.components:
            if comp.is_singleton:
                continue
            corner = np.stack([result.equilibria[k].payoffs for k in comp.equilibrium_indices]).max(axis=0)
            assert any(
                np.allclose(result.equilibria[k].payoffs, corner, atol=1e-9 * scale)
                for k in comp.equilibrium_indices
            ), "the top corner of the box is an extreme equilibrium"
            for _ in range(20):
                weights = [rng.dirichlet(np.full(len(v), 0.5)) for v in comp.vertices]
                profile = tuple(w @ v for w, v in zip(weights, comp.vertices, strict=True))
                cert = certify(game, profile)
                assert cert.nash_conv <= 1e-9 * scale
                assert np.all(cert.payoffs <= corner + 1e-9 * scale)
                checked += 1
    assert checked >= 200


def test_n_player_non_singleton_component_is_not_certified_for_concave_welfare() -> None:
    # A hand-built set: the 3-player all-zero game, where every profile is an equilibrium,
    # with the two pure profiles (0,0,0), (1,0,0) spanning a claimed component.
    game = NormalFormGame(np.zeros((3, 2, 2, 2)))
    pure = solve(game, concepts=["pure_nash"])
    first, second = pure.equilibria[0], pure.equilibria[4]
    comp = Component(
        (0, 1),
        (
            np.stack([first.strategies[0], second.strategies[0]]),
            first.strategies[1][None],
            first.strategies[2][None],
        ),
    )
    claimed = SolutionSet(game.id, (first, second), (comp,), complete=True, method="hand-built")
    assert welfare_optimum(claimed, "utilitarian", game=game).certified
    assert not welfare_optimum(claimed, "egalitarian", game=game).certified
    assert not welfare_optimum(claimed, "nash_product", game=game).certified
    two_player = solve(_component_box_game())
    assert welfare_optimum(two_player, "egalitarian").certified


# --------------------------------------------------------------------------- welfare functions


def test_nash_product_is_minus_infinity_outside_the_individually_rational_set() -> None:
    table = np.array([[3.0, 1.0], [2.0, 2.0], [1.0 - 1e-12, 5.0]])
    d = np.array([1.0, 1.0])
    np.testing.assert_array_equal(welfare_values(table, "nash_product", d), [0.0, 1.0, -np.inf])
    np.testing.assert_array_equal(welfare_values(table, "nash_product", d, tol=1e-9), [0.0, 1.0, 0.0])


def test_no_individually_rational_equilibrium_gives_an_empty_optimum() -> None:
    result = solve(games.prisoners_dilemma())
    best = welfare_optimum(result, "nash_product", disagreement=[2.0, 2.0])
    assert best.value == -np.inf and best.equilibrium_indices == ()


def test_empty_solution_set() -> None:
    # Matching pennies has no pure equilibrium.
    game = games.matching_pennies()
    result = solve(game, concepts=["pure_nash"])
    assert len(result) == 0
    best = welfare_optimum(result, "utilitarian", game=game)
    # Complete for pure equilibria, but the mixed equilibrium pays 0: nothing is certified.
    assert best.value == -np.inf and best.equilibrium_indices == () and not best.certified


def test_incomplete_set_is_not_certified() -> None:
    game = games.chicken()
    result = solve(game, method="lemke_howson")
    assert not result.complete
    assert not welfare_optimum(result, "utilitarian", game=game).certified


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param(lambda: welfare_values([[1.0, 2.0]], "rawlsian"), "welfare", id="values-unknown"),
        pytest.param(lambda: welfare_values([[1.0, 2.0]], "nash_product"), "disagreement", id="values-no-d"),
        pytest.param(
            lambda: welfare_values([[1.0, 2.0]], "nash_product", [0.0]), "disagreement", id="values-bad-d"
        ),
        pytest.param(lambda: welfare_values([1.0, 2.0], "utilitarian"), "payoffs", id="values-1-d"),
        pytest.param(
            lambda: welfare_optimum(solve(games.chicken()), "rawlsian"), "welfare", id="optimum-unknown"
        ),
        pytest.param(
            lambda: welfare_optimum(solve(games.chicken()), "nash_product"), "disagreement", id="optimum-no-d"
        ),
        pytest.param(
            lambda: welfare_optimum(solve(games.chicken()), "utilitarian", game=games.stag_hunt()),
            "game",
            id="optimum-wrong-game",
        ),
        pytest.param(
            lambda: welfare_optimum(solve(games.chicken()), "utilitarian", tol=0.1),
            "tolerance",
            id="optimum-tol",
        ),
        pytest.param(lambda: welfare_optimum("not a set", "utilitarian"), "solution_set", id="optimum-type"),
        pytest.param(lambda: maximin_values(np.zeros((2, 2, 2))), "game", id="maximin-type"),
    ],
)
def test_errors_name_the_field_and_function(call: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        call()
    assert info.value.field == field
    assert "()" in str(info.value)


def test_unknown_welfare_message_lists_the_choices() -> None:
    with pytest.raises(
        InvalidOptionError,
        match=r"welfare_optimum\(\): unknown welfare function 'x'; expected one of utilitarian, egalitarian, nash_product",
    ):
        welfare_optimum(solve(games.chicken()), "x")


def test_every_pure_profile_of_the_box_game_is_an_equilibrium() -> None:
    game = _component_box_game()
    result = solve(game)
    found = sorted(tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria)
    assert found == sorted(itertools.product(range(2), range(2)))
