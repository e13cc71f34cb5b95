"""Known-answer tests: closed-form equilibria (SPEC section 6) against ``solve``.

Each :class:`EquilibriumCase` names a game factory from ``tests/games.py`` and its
complete set of extreme equilibria worked out by hand, with the payoffs of each.
Every test checks the certificate (NashConv) before it compares profiles, so a wrong
answer shows up as "not an equilibrium" rather than as a confusing set difference.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, SolutionSet, solve
from equilibria.solver.normal_form.lemke_howson import lemke_howson

from .. import games

F = Fraction
Profile = tuple[tuple[Fraction, ...], ...]
Payoffs = tuple[Fraction, ...]
Strategy = tuple[Fraction, ...]
ComponentSpec = tuple[frozenset[Strategy], frozenset[Strategy]]  # (row vertices, column vertices)
H, T = F(1, 2), F(1, 3)


def _p(*strategies: tuple[int | Fraction, ...]) -> Profile:
    return tuple(tuple(F(v) for v in s) for s in strategies)


@dataclasses.dataclass(frozen=True)
class EquilibriumCase:
    """A 2-player game and every one of its extreme equilibria, with payoffs.

    Attributes
    ----------
    factory : callable
        Returns the game.
    expected : tuple of (profile, payoffs)
        Every extreme equilibrium, exactly.
    components : tuple of (frozenset, frozenset), optional
        The maximal Nash subsets as (row vertices, column vertices); ``None`` means every
        equilibrium is an isolated point (its own singleton component).
    degenerate : bool
        Whether the game is degenerate (the solver must say so in ``warnings``).
    tol : float
        Relative NashConv tolerance.
    """

    factory: Callable[[], NormalFormGame]
    expected: tuple[tuple[Profile, Payoffs], ...]
    components: tuple[ComponentSpec, ...] | None = None
    degenerate: bool = False
    tol: float = 1e-9

    @property
    def profiles(self) -> set[Profile]:
        return {profile for profile, _ in self.expected}

    @property
    def payoffs(self) -> dict[Profile, Payoffs]:
        return dict(self.expected)

    @property
    def pure_profiles(self) -> set[Profile]:
        return {p for p in self.profiles if all(sum(1 for v in s if v) == 1 for s in p)}


def _eq(x: tuple[int | Fraction, ...], y: tuple[int | Fraction, ...], u: tuple[int | Fraction, ...]):
    return (_p(x, y), tuple(F(v) for v in u))


def _identity_case(n: int) -> EquilibriumCase:
    return EquilibriumCase(
        functools.partial(games.identity_game, n), tuple(games.identity_equilibria(n).items())
    )


def _unit(k: int, n: int) -> tuple[Fraction, ...]:
    return tuple(F(int(i == k)) for i in range(n))


CASES = [
    pytest.param(
        EquilibriumCase(games.matching_pennies, (_eq((H, H), (H, H), (0, 0)),)), id="matching-pennies"
    ),
    pytest.param(
        EquilibriumCase(games.rock_paper_scissors, (_eq((T, T, T), (T, T, T), (0, 0)),)),
        id="rock-paper-scissors",
    ),
    pytest.param(
        EquilibriumCase(games.prisoners_dilemma, (_eq((0, 1), (0, 1), (1, 1)),)), id="prisoners-dilemma"
    ),
    pytest.param(
        EquilibriumCase(
            games.stag_hunt,
            (
                _eq((1, 0), (1, 0), (4, 4)),
                _eq((F(3, 4), F(1, 4)), (F(3, 4), F(1, 4)), (3, 3)),
                _eq((0, 1), (0, 1), (3, 3)),
            ),
        ),
        id="stag-hunt",
    ),
    pytest.param(
        EquilibriumCase(
            games.battle_of_the_sexes,
            (
                _eq((1, 0), (1, 0), (2, 1)),
                _eq((F(2, 3), F(1, 3)), (F(1, 3), F(2, 3)), (F(2, 3), F(2, 3))),
                _eq((0, 1), (0, 1), (1, 2)),
            ),
        ),
        id="battle-of-the-sexes",
    ),
    pytest.param(
        EquilibriumCase(
            games.chicken,
            (
                _eq((1, 0), (0, 1), (2, 7)),
                _eq((F(2, 3), F(1, 3)), (F(2, 3), F(1, 3)), (F(14, 3), F(14, 3))),
                _eq((0, 1), (1, 0), (7, 2)),
            ),
        ),
        id="chicken",
    ),
    pytest.param(EquilibriumCase(games.shapley_game, (_eq((T, T, T), (T, T, T), (T, T)),)), id="shapley-3x3"),
    pytest.param(
        EquilibriumCase(
            games.von_stengel_game,
            (
                _eq((1, 0, 0), (1, 0), (3, 3)),
                _eq((F(4, 5), F(1, 5), 0), (F(2, 3), F(1, 3)), (3, F(14, 5))),
                _eq((0, T, 2 * T), (T, 2 * T), (4, F(8, 3))),
            ),
        ),
        id="von-stengel-3x2",
    ),
    pytest.param(
        EquilibriumCase(
            games.degenerate_continuum,
            (_eq((1, 0), (1, 0), (1, 1)), _eq((1, 0), (0, 1), (1, 1))),
            components=((frozenset({(F(1), F(0))}), frozenset({(F(1), F(0)), (F(0), F(1))})),),
            degenerate=True,
        ),
        id="degenerate-continuum",
    ),
    pytest.param(
        EquilibriumCase(
            functools.partial(games.constant_game, 2, 3),
            tuple(_eq(_unit(i, 2), _unit(j, 3), (0, 0)) for i in range(2) for j in range(3)),
            components=(
                (frozenset(_unit(i, 2) for i in range(2)), frozenset(_unit(j, 3) for j in range(3))),
            ),
            degenerate=True,
        ),
        id="constant-2x3",
    ),
    *(pytest.param(_identity_case(n), id=f"identity-{n}x{n}") for n in range(1, 7)),
]


def _assert_certified(result: SolutionSet, game: NormalFormGame, tol: float) -> None:
    """Every equilibrium's NashConv is within ``tol`` (relative to the payoff scale)."""
    assert result.equilibria, "no equilibrium returned"
    for k, eq in enumerate(result.equilibria):
        assert eq.nash_conv <= tol * game.payoff_scale, f"equilibrium {k} has NashConv {eq.nash_conv}"
        assert np.all(eq.regrets >= 0)


def _exact_of(strategies: tuple[np.ndarray, ...]) -> Profile:
    """Read a float profile of a small game back as fractions, checking the reading is tight."""
    out = []
    for s in strategies:
        fr = tuple(F(float(v)).limit_denominator(10_000) for v in s)
        assert np.max(np.abs(np.array([float(v) for v in fr]) - s)) <= 1e-12
        out.append(fr)
    return tuple(out)


# --------------------------------------------------------------------------- full enumeration


@pytest.mark.parametrize("case", CASES)
def test_float_enumeration_finds_exactly_the_known_equilibria(case: EquilibriumCase) -> None:
    game = case.factory()
    result = solve(game)
    _assert_certified(result, game, case.tol)
    found = [eq.strategies for eq in result.equilibria]
    wanted = [games.float_profile(p) for p in case.profiles]
    assert games.unmatched(found, wanted) == [], "missed equilibria"
    assert games.unmatched(wanted, found) == [], "spurious equilibria"
    assert len(found) == len(wanted), "duplicate equilibria"
    assert result.complete is True
    assert result.exact is False
    assert result.method == "vertex_enumeration"
    assert result.game_id == game.id
    for eq in result.equilibria:
        expected_payoffs = case.payoffs[_exact_of(eq.strategies)]
        np.testing.assert_allclose(eq.payoffs, [float(v) for v in expected_payoffs], rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_exact_enumeration_returns_the_known_fractions(case: EquilibriumCase) -> None:
    game = case.factory()
    result = solve(game, exact=True)
    _assert_certified(result, game, case.tol)
    assert result.exact is True
    assert result.complete is True
    assert all(eq.exact_strategies is not None for eq in result.equilibria)
    exact = [eq.exact_strategies for eq in result.equilibria]
    assert all(isinstance(p, Fraction) for profile in exact for s in profile for p in s)
    assert set(exact) == case.profiles
    assert len(exact) == len(case.profiles)
    for eq in result.equilibria:
        assert eq.exact_payoffs == case.payoffs[eq.exact_strategies]
        assert all(sum(s) == 1 and min(s) >= 0 for s in eq.exact_strategies)
        for s, fs in zip(eq.exact_strategies, eq.strategies, strict=True):
            np.testing.assert_allclose(fs, [float(v) for v in s], rtol=0, atol=1e-15)


@pytest.mark.parametrize("case", CASES)
def test_components_are_the_maximal_nash_subsets(case: EquilibriumCase) -> None:
    game = case.factory()
    result = solve(game, exact=True)
    _assert_certified(result, game, case.tol)
    got = {
        (
            frozenset(_exact_of((v,))[0] for v in comp.vertices[0]),
            frozenset(_exact_of((v,))[0] for v in comp.vertices[1]),
        )
        for comp in result.components
    }
    if case.components is None:
        expected = {(frozenset({x}), frozenset({y})) for x, y in case.profiles}
        assert all(comp.is_singleton for comp in result.components)
    else:
        expected = set(case.components)
        assert not any(comp.is_singleton for comp in result.components)
    assert got == expected
    assert len(result.components) == len(expected)
    # Membership is consistent both ways.
    for c, comp in enumerate(result.components):
        for k in comp.equilibrium_indices:
            assert c in result.equilibria[k].components
    for k, eq in enumerate(result.equilibria):
        assert eq.components, f"equilibrium {k} belongs to no component"


def test_degenerate_continuum_is_one_segment() -> None:
    """SPEC: every (row 1, any y) is an NE of A = B = [[1, 1], [0, 0]]: one component, a segment."""
    game = games.degenerate_continuum()
    for exact in (False, True):
        result = solve(game, exact=exact)
        _assert_certified(result, game, 1e-9)
        non_singleton = [c for c in result.components if not c.is_singleton]
        assert len(result.components) == 1
        assert len(non_singleton) == 1
        (comp,) = non_singleton
        rows, cols = comp.vertices
        assert rows.shape == (1, 2)
        np.testing.assert_array_equal(rows[0], [1.0, 0.0])
        assert cols.shape == (2, 2)
        assert sorted(map(tuple, cols.tolist())) == [(0.0, 1.0), (1.0, 0.0)]
        assert sorted(comp.equilibrium_indices) == [0, 1]
        assert any("continuum" in w for w in result.warnings)


@pytest.mark.parametrize("big", [10**6, 10**8, 10**9, 10**12], ids=lambda b: f"big=1e{len(str(b)) - 1}")
def test_exact_mode_separates_vertices_closer_than_float_precision(big: int) -> None:
    """Regression: for big >= 1e8 the mixed y = (big, 1)/(big + 1) of ``lopsided_game`` lies
    within 1e-8 of (1, 0), and exact mode used to merge the two vertices in its float pass,
    dropping the mixed equilibrium while still reporting ``complete``."""
    game = games.lopsided_game(big)
    result = solve(game, exact=True)
    _assert_certified(result, game, 1e-9)
    mixed = ((F(2, 3), F(1, 3)), (F(big, big + 1), F(1, big + 1)))
    expected = {
        ((F(1), F(0)), (F(1), F(0))): (F(1), F(1)),
        mixed: (F(big, big + 1), F(2, 3)),
        ((F(0), F(1)), (F(0), F(1))): (F(big), F(2)),
    }
    assert {eq.exact_strategies: eq.exact_payoffs for eq in result.equilibria} == expected
    assert len(result.equilibria) == 3
    assert result.complete is True
    assert all(comp.is_singleton for comp in result.components)


# --------------------------------------------------------------------------- warnings


@pytest.mark.parametrize("case", CASES)
def test_degeneracy_is_reported_and_only_then(case: EquilibriumCase) -> None:
    result = solve(case.factory())
    if case.degenerate:
        assert any("degenerate" in w for w in result.warnings), result.warnings
    else:
        assert result.warnings == ()


@pytest.mark.parametrize("case", [p for p in CASES if len(p.values[0].expected) % 2 == 0])
def test_even_number_of_extreme_equilibria_warns(case: EquilibriumCase) -> None:
    for exact in (False, True):
        result = solve(case.factory(), exact=exact)
        count = len(case.expected)
        assert len(result.equilibria) == count
        assert any(f"{count} extreme equilibria" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("n", range(1, 7), ids=lambda n: f"n={n}")
def test_identity_game_has_two_to_the_n_minus_one_equilibria(n: int) -> None:
    game = games.identity_game(n)
    for exact in (False, True):
        result = solve(game, exact=exact)
        _assert_certified(result, game, 1e-9)
        assert len(result.equilibria) == 2**n - 1
        assert result.complete is True
        assert not any("extreme equilibria" in w for w in result.warnings)
        supports = {eq.supports for eq in result.equilibria}
        assert supports == {(s, s) for k in range(1, n + 1) for s in itertools.combinations(range(n), k)}


# --------------------------------------------------------------------------- Lemke-Howson


@pytest.mark.parametrize("case", CASES)
def test_lemke_howson_returns_one_known_equilibrium(case: EquilibriumCase) -> None:
    game = case.factory()
    result = solve(game, method="lemke_howson")
    _assert_certified(result, game, case.tol)
    assert result.method == "lemke_howson"
    assert result.complete is False
    assert len(result.equilibria) == 1
    wanted = [games.float_profile(p) for p in case.profiles]
    assert games.unmatched(wanted, [result.equilibria[0].strategies]) == []


@pytest.mark.parametrize("case", CASES)
def test_lemke_howson_every_label_ends_at_a_known_equilibrium(case: EquilibriumCase) -> None:
    game = case.factory()
    wanted = [games.float_profile(p) for p in case.profiles]
    for label in range(sum(game.num_actions)):
        result = lemke_howson(game, init_label=label)
        _assert_certified(result, game, case.tol)
        assert result.complete is False
        assert len(result.equilibria) == 1
        assert games.unmatched(wanted, [result.equilibria[0].strategies]) == [], f"label {label}"
        assert result.warnings == (), f"label {label}: {result.warnings}"


def test_lemke_howson_von_stengel_label_paths() -> None:
    """Hand-traced on von Stengel's Handbook example: dropping label 0 (row action 0) ends
    at the pure equilibrium ((1,0,0), (1,0)); dropping label 4 (column action 1) ends at
    ((0,1/3,2/3), (1/3,2/3))."""
    game = games.von_stengel_game()
    first = lemke_howson(game, init_label=0).equilibria[0]
    np.testing.assert_allclose(first.strategies[0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(first.strategies[1], [1, 0], atol=1e-12)
    last = lemke_howson(game, init_label=4).equilibria[0]
    np.testing.assert_allclose(last.strategies[0], [0, 1 / 3, 2 / 3], atol=1e-12)
    np.testing.assert_allclose(last.strategies[1], [1 / 3, 2 / 3], atol=1e-12)


# --------------------------------------------------------------------------- pure equilibria


@pytest.mark.parametrize("case", CASES)
def test_pure_nash_two_player_is_the_pure_subset(case: EquilibriumCase) -> None:
    game = case.factory()
    for method in ("auto", "vertex_enumeration", "pure_enumeration"):
        result = solve(game, concepts=["pure_nash"], method=method)
        assert result.concepts == ("pure_nash",)
        assert result.complete is True, method
        got = {_exact_of(eq.strategies) for eq in result.equilibria}
        assert got == case.pure_profiles, method
        assert len(result.equilibria) == len(case.pure_profiles)
        for eq in result.equilibria:
            assert eq.is_pure
            assert eq.nash_conv == 0.0
            np.testing.assert_allclose(
                eq.payoffs, [float(v) for v in case.payoffs[_exact_of(eq.strategies)]], atol=1e-12
            )


@dataclasses.dataclass(frozen=True)
class PureCase:
    """An n-player game and all of its pure equilibria (joint actions) with payoffs."""

    factory: Callable[[], NormalFormGame]
    expected: tuple[tuple[tuple[int, ...], tuple[Fraction, ...]], ...]


PURE_CASES = [
    pytest.param(
        PureCase(
            games.minority_game,
            tuple(
                (joint, tuple(F(int(sum(a == joint[i] for a in joint) == 1)) for i in range(3)))
                for joint in ((0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1))
            ),
        ),
        id="minority-2x2x2",
    ),
    pytest.param(
        PureCase(games.public_goods_game, (((1, 1, 1), (F(1), F(1), F(1))),)), id="public-goods-2x2x2"
    ),
    pytest.param(
        PureCase(
            games.three_player_coordination_game,
            (
                ((0, 0, 0), (F(1), F(1), F(1))),
                ((0, 2, 1), (F(0), F(0), F(0))),
                ((1, 1, 1), (F(1), F(1), F(1))),
                ((1, 2, 0), (F(0), F(0), F(0))),
            ),
        ),
        id="coordination-2x3x2",
    ),
    pytest.param(
        PureCase(games.battle_of_the_sexes, (((0, 0), (F(2), F(1))), ((1, 1), (F(1), F(2))))),
        id="battle-of-the-sexes",
    ),
    pytest.param(
        PureCase(
            lambda: NormalFormGame(np.zeros((3, 2, 3, 2))),
            tuple(((i, j, k), (F(0), F(0), F(0))) for i in range(2) for j in range(3) for k in range(2)),
        ),
        id="constant-2x3x2",
    ),
]


def _joint(eq) -> tuple[int, ...]:
    assert eq.is_pure
    return tuple(int(np.flatnonzero(s)[0]) for s in eq.strategies)


@pytest.mark.parametrize("case", PURE_CASES)
def test_pure_nash_n_player_known_answers(case: PureCase) -> None:
    game = case.factory()
    result = solve(game, concepts=["pure_nash"])
    assert result.method == "pure_enumeration"
    assert result.complete is True
    _assert_certified(result, game, 1e-9)
    got = [_joint(eq) for eq in result.equilibria]
    assert sorted(got) == sorted(joint for joint, _ in case.expected)
    assert len(set(got)) == len(got)
    payoffs = dict(case.expected)
    for eq in result.equilibria:
        np.testing.assert_array_equal(eq.payoffs, [float(v) for v in payoffs[_joint(eq)]])
        assert all(np.array_equal(s, np.eye(len(s))[np.argmax(s)]) for s in eq.strategies)


@pytest.mark.parametrize("case", [p for p in PURE_CASES if p.values[0].factory().n_players > 2])
def test_nash_on_three_players_holds_every_pure_equilibrium_and_is_partial(case: PureCase) -> None:
    """Partial unless iterated strict dominance leaves one joint action: only the public goods
    game here (keeping strictly dominates contributing), whose set is then proved complete."""
    game = case.factory()
    result = solve(game)
    assert result.method.startswith("gambit")
    assert result.complete is (case.factory is games.public_goods_game)
    assert all(eq.nash_conv <= 1e-8 * game.payoff_scale for eq in result.equilibria)
    assert sorted(_joint(eq) for eq in result.equilibria if eq.is_pure) == sorted(j for j, _ in case.expected)


# --------------------------------------------------------------------------- certificates


@pytest.mark.parametrize(
    ("factory", "profile", "payoffs", "regrets"),
    [
        # (C, C): each gains 5 - 3 = 2 by defecting.
        pytest.param(games.prisoners_dilemma, ((1, 0), (1, 0)), (3, 3), (2, 2), id="pd-cooperate"),
        # (H, H): the column player (payoff -1) gains 2 by switching.
        pytest.param(games.matching_pennies, ((1, 0), (1, 0)), (1, -1), (0, 2), id="pennies-pure"),
        # R against uniform: 0 for both; the column player's best reply to R is P, worth 1.
        pytest.param(games.rock_paper_scissors, ((1, 0, 0), (T, T, T)), (0, 0), (0, 1), id="rps-rock"),
        # Unanimity in the minority game: everybody gets 0 and would get 1 alone.
        pytest.param(
            games.minority_game, ((1, 0), (1, 0), (1, 0)), (0, 0, 0), (1, 1, 1), id="minority-unanimous"
        ),
        # Everybody contributes: each gets 3 * 1/2 = 3/2, and keeping instead gives
        # 1 + 2 * 1/2 = 2, a regret of 1/2 each.
        pytest.param(
            games.public_goods_game,
            ((1, 0), (1, 0), (1, 0)),
            (F(3, 2), F(3, 2), F(3, 2)),
            (H, H, H),
            id="public-goods-all-contribute",
        ),
        # One row: the row player cannot deviate (regret 0); the column player gets -3
        # from its third column and -1 from its first, a regret of 2.
        pytest.param(
            lambda: NormalFormGame.from_bimatrix([[-5, -3, -4]], [[-1, -2, -3]]),
            ((1,), (0, 0, 1)),
            (-4, -3),
            (0, 2),
            id="one-row",
        ),
        # One column: the row player gets -2 from its middle row and -1 from the first.
        pytest.param(
            lambda: NormalFormGame.from_bimatrix([[-1], [-2], [-3]], [[-4], [-5], [-6]]),
            ((0, 1, 0), (1,)),
            (-2, -5),
            (1, 0),
            id="one-column",
        ),
        # Stag hunt, row mixes (1/2, 1/2) against H: row gets (0 + 3)/2 but H alone gives 3;
        # the column player gets 3 from H (S would give 2): regrets (3/2, 0).
        pytest.param(games.stag_hunt, ((H, H), (0, 1)), (F(3, 2), 3), (F(3, 2), 0), id="stag-half-vs-hare"),
    ],
)
def test_certificates_of_known_profiles(factory, profile, payoffs, regrets) -> None:
    from equilibria.solver import certify

    game = factory()
    cert = certify(game, [np.array([float(p) for p in s]) for s in profile])
    np.testing.assert_allclose(cert.payoffs, [float(v) for v in payoffs], atol=1e-12)
    np.testing.assert_allclose(cert.regrets, [float(v) for v in regrets], atol=1e-12)
    assert cert.nash_conv == pytest.approx(float(sum(F(v) for v in regrets)), abs=1e-12)


@pytest.mark.parametrize(
    ("payoffs", "profile", "player", "expected"),
    [
        # Two players, u_0(a, y) = (A y)_a and u_1(x, b) = (x B)_b; A and B are not
        # transposes of each other, so each player's formula is pinned separately.
        pytest.param([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], ((1, 0), (0, 1)), 0, (2, 4), id="bimatrix-row"),
        pytest.param([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], ((1, 0), (0, 1)), 1, (5, 6), id="bimatrix-column"),
        # 2x3: the row player's deviation payoffs have 2 entries, the column player's 3.
        pytest.param(
            [[[1, 0, 2], [0, 3, 1]], [[2, 1, 0], [0, 1, 4]]], ((H, H), (T, T, T)), 0, (1, 4 * T), id="2x3-row"
        ),
        pytest.param(
            [[[1, 0, 2], [0, 3, 1]], [[2, 1, 0], [0, 1, 4]]],
            ((H, H), (T, T, T)),
            1,
            (1, 1, 2),
            id="2x3-column",
        ),
    ],
)
def test_deviation_payoffs_of_known_profiles(payoffs, profile, player, expected) -> None:
    from equilibria.solver.regret import deviation_payoffs

    game = NormalFormGame(np.array(payoffs, dtype=float))
    dev = deviation_payoffs(game, [np.array([float(p) for p in s]) for s in profile], player)
    np.testing.assert_allclose(dev, [float(v) for v in expected], atol=1e-12)


def test_deviation_payoffs_of_three_players_contract_both_opponents() -> None:
    from equilibria.solver.regret import deviation_payoffs

    # Minority game: against one opponent on 0 and the other mixing (1/2, 1/2), action 0
    # is never in a strict minority (0) and action 1 is alone half the time (1/2).
    game = games.minority_game()
    pure, half = np.array([1.0, 0.0]), np.array([0.5, 0.5])
    np.testing.assert_allclose(deviation_payoffs(game, [pure, pure, half], 0), [0.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(deviation_payoffs(game, [pure, half, pure], 2), [0.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(deviation_payoffs(game, [half, pure, pure], 1), [0.0, 0.5], atol=1e-12)


@pytest.mark.parametrize(
    ("factory", "profile"),
    [
        pytest.param(games.matching_pennies, ((1, 0, 0), (1, 0)), id="row-too-long"),
        pytest.param(games.matching_pennies, ((1, 0), (1,)), id="column-too-short"),
        pytest.param(games.matching_pennies, ((1, 0), (1, 0), (1, 0)), id="three-strategies"),
        pytest.param(games.matching_pennies, ((1, 0),), id="one-strategy"),
        # Three players, two strategies that fit the first two players' actions.
        pytest.param(games.minority_game, ((1, 0), (1, 0)), id="three-players-two-strategies"),
    ],
)
def test_certify_refuses_a_profile_that_does_not_fit_the_game(factory, profile) -> None:
    from equilibria.solver import InvalidGameError, certify

    with pytest.raises(InvalidGameError, match="do not fit"):
        certify(factory(), [np.array(s, dtype=float) for s in profile])


@pytest.mark.parametrize("players", [2, 3])
def test_an_indifferent_player_never_has_a_negative_regret(players: int) -> None:
    from equilibria.solver import certify

    # Every payoff is 0.1: no deviation gains anything and the regret is max(dev) - dev @ p
    # = 0, up to round-off that often puts dev @ p an ulp above max(dev). Regret is
    # non-negative by definition, so the certificate must never report less than 0.
    rng = np.random.default_rng(0)
    game = NormalFormGame(np.full((players, *[5] * players), 0.1))
    for _ in range(50):
        profile = [p / p.sum() for p in rng.random((players, 5))]
        cert = certify(game, profile)
        assert np.all(cert.regrets >= 0.0) and cert.nash_conv >= 0.0
        assert np.all(cert.regrets <= 1e-15)


# --------------------------------------------------------------------------- options


def test_max_equilibria_truncates_and_marks_incomplete() -> None:
    game = games.identity_game(3)
    result = solve(game, max_equilibria=2)
    assert len(result.equilibria) == 2
    assert result.complete is False
    assert any("truncated" in w for w in result.warnings)
    _assert_certified(result, game, 1e-9)


def test_auto_falls_back_to_lemke_howson_when_enumeration_is_too_large() -> None:
    game = games.random_integer_game(20, 20, -5, 5, seed=7)
    result = solve(game)
    assert result.method == "lemke_howson"
    assert (
        "enumeration estimated at" in result.method_reason and "over the 10 s budget" in result.method_reason
    )
    assert result.complete is False
    assert len(result.equilibria) == 1
    _assert_certified(result, game, 1e-9)


def test_pure_enumeration_with_its_default_tolerance() -> None:
    """Matching pennies has no pure equilibrium; the coordination game has two (and no near-ties)."""
    from equilibria.solver.normal_form.pure import pure_enumeration

    pennies = pure_enumeration(NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]]))
    assert pennies.equilibria == () and pennies.complete
    nearly = pure_enumeration(
        NormalFormGame.from_bimatrix([[1.0, 0.0], [1.0 - 1e-6, 0.0]], [[1.0, 0.0], [1.0, 0.0]])
    )
    assert [tuple(e.strategies[0]) for e in nearly.equilibria] == [(1.0, 0.0)]  # 1e-6 is no tie at 1e-9


@pytest.mark.parametrize(("keep", "complete"), [(0, True), (3, True), (4, True), (2, False), (1, False)])
def test_pure_enumeration_is_complete_unless_max_equilibria_cut_it(keep: int, complete: bool) -> None:
    """The identity 3 x 3 coordination game has exactly three pure equilibria."""
    from equilibria.solver.normal_form.pure import pure_enumeration

    eye = np.eye(3)
    result = pure_enumeration(NormalFormGame.from_bimatrix(eye, eye), max_equilibria=keep)
    assert result.complete is complete
    assert len(result.equilibria) == (3 if keep in (0, 3, 4) else keep)


@pytest.mark.parametrize("players", [2, 3])
def test_an_empty_set_is_recertified_into_the_games_units_as_it_is(players: int) -> None:
    """A set without equilibria (no pure equilibrium in matching pennies or Jordan's
    3-player pennies, solved on the unit game) takes the user's game's id and stays empty and
    complete: nothing to measure, and no error from stacking no strategies."""
    from equilibria.solver.regret import recertified

    game = NormalFormGame(
        (games.matching_pennies() if players == 2 else games.jordan_pennies()).payoffs * 1e9
    )
    unit = solve(game.unit_game, concepts=["pure_nash"])
    assert unit.equilibria == () and unit.complete and unit.game_id == game.unit_game.id
    back = recertified(unit, game)
    assert back.equilibria == () and back.complete and back.game_id == game.id
    assert (back.method, back.method_reason, back.warnings) == (
        unit.method,
        unit.method_reason,
        unit.warnings,
    )
