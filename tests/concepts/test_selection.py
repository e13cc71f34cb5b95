"""Equilibrium selection (``solver/concepts/selection.py``): known answers, properties, oracles.

* Known answers (SPEC section 4 and 6, and games worked out by hand): stag hunt,
  battle of the sexes, chicken, prisoner's dilemma, matching pennies, a 3 x 3 game with
  three strict equilibria whose tracing path is computed by hand (see
  ``tests/test_tracing_logit.py::hand_game``), the 3 x 3 identity game, a degenerate
  game with a segment of equilibria, and a 3-player game. Expected selections are
  profiles (not indices), so the test does not depend on the order of the set.
* Hypothesis: on 2 x 2 games with two strict equilibria the selected equilibrium is the
  one the product-of-deviation-losses rule (written out here) picks, ties undecided;
  payoff dominance decides exactly when some equilibrium's payoff vector is at least
  every other's (checked here coordinate by coordinate).
* pygambit: the logit selection is the equilibrium nearest ``logit_solve``'s end point.
"""

from __future__ import annotations

import atexit
import dataclasses
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame, SolutionSet, solve
from equilibria.solver.concepts.selection import (
    SELECTION_CRITERIA,
    logit_limit,
    payoff_dominance,
    risk_dominance,
    select,
)
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from equilibria.solver.normal_form.pure import pure_enumeration
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.extra.numpy import arrays

if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
    _storage = tempfile.mkdtemp(prefix="equilibria-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    set_hypothesis_home_dir(_storage)


def bimatrix(a, b) -> NormalFormGame:
    return NormalFormGame.from_bimatrix(a, b)


def stag_hunt() -> NormalFormGame:
    return bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])


def battle_of_the_sexes() -> NormalFormGame:
    return bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])


def chicken() -> NormalFormGame:
    return bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])


def prisoners_dilemma() -> NormalFormGame:
    return bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])


def matching_pennies() -> NormalFormGame:
    return bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])


def hand_game() -> NormalFormGame:
    """Strict equilibria (X,X) payoffs (15, 3), (Y,Y) (5, 15), (Z,Z) (4, 2); tracing from
    the uniform prior ends at (Z,Z) (worked out in test_tracing_logit.py); the logit
    limit is (Y,Y) (pygambit agrees)."""
    return bimatrix([[15, 0, 0], [0, 5, 0], [4, 4, 4]], [[3, 0, 2], [0, 15, 2], [0, 0, 2]])


def identity3() -> NormalFormGame:
    return bimatrix(np.eye(3), np.eye(3))


def segment_game() -> NormalFormGame:
    """A = B = [[1, 1], [0, 0]]: every (row 0, any y) is an equilibrium, payoffs (1, 1)."""
    return bimatrix([[1, 1], [0, 0]], [[1, 1], [0, 0]])


def public_goods() -> NormalFormGame:
    """Three players; keeping (1) strictly dominates contributing (0): unique NE (1, 1, 1)."""
    payoffs = np.zeros((3, 2, 2, 2))
    for joint in itertools.product(range(2), repeat=3):
        for i in range(3):
            payoffs[(i, *joint)] = (joint[i] == 1) + 0.5 * sum(a == 0 for a in joint)
    return NormalFormGame(payoffs)


def pure(*actions: int, sizes: Sequence[int] | None = None) -> tuple[np.ndarray, ...]:
    sizes = sizes or [2] * len(actions)
    return tuple(np.eye(k)[a] for a, k in zip(actions, sizes, strict=True))


def distance(p: Sequence[np.ndarray], q: Sequence[np.ndarray]) -> float:
    return max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(p, q, strict=True))


UNIFORM2 = (np.array([0.5, 0.5]), np.array([0.5, 0.5]))
UNIFORM3 = (np.full(3, 1 / 3), np.full(3, 1 / 3))


@dataclasses.dataclass(frozen=True)
class SelectionCase:
    """A game, a criterion, and the expected answer.

    ``expected`` is the selected profile, or None when the criterion must not decide;
    ``reason`` is a fragment the reason must contain.
    """

    factory: Callable[[], NormalFormGame]
    criterion: str
    expected: tuple[np.ndarray, ...] | None
    reason: str


CASES = [
    # Stag hunt (SPEC 6): (S,S) payoff-dominant; (H,H) risk-dominant, 9 > 1.
    SelectionCase(stag_hunt, "payoff_dominance", pure(0, 0), "payoff-dominates"),
    SelectionCase(stag_hunt, "risk_dominance", pure(1, 1), "9 > 1"),
    # The logit branch of a 2 x 2 coordination game goes to the risk-dominant equilibrium.
    SelectionCase(stag_hunt, "logit_limit", pure(1, 1), "the same in 2 slightly perturbed games"),
    # Battle of the sexes: (2, 1) and (1, 2) are not Pareto-ranked; the deviation-loss
    # products are 2 * 1 = 1 * 2; the game is symmetric, so the logit branch bifurcates.
    SelectionCase(battle_of_the_sexes, "payoff_dominance", None, "no payoff-dominant equilibrium"),
    SelectionCase(battle_of_the_sexes, "risk_dominance", None, "equal products of deviation losses (2 vs 2)"),
    SelectionCase(battle_of_the_sexes, "logit_limit", None, "bifurcation"),
    # Chicken: (2, 7), (7, 2), (14/3, 14/3) unranked; products (2 - 0)(7 - 6) = 2 both.
    SelectionCase(chicken, "payoff_dominance", None, "no payoff-dominant equilibrium"),
    SelectionCase(chicken, "risk_dominance", None, "equal products"),
    SelectionCase(chicken, "logit_limit", None, "bifurcation"),
    # Prisoner's dilemma: the unique equilibrium (D, D) for every criterion.
    SelectionCase(prisoners_dilemma, "payoff_dominance", pure(1, 1), "the only equilibrium"),
    SelectionCase(prisoners_dilemma, "risk_dominance", pure(1, 1), "only equilibrium"),
    SelectionCase(prisoners_dilemma, "logit_limit", pure(1, 1), "only equilibrium"),
    SelectionCase(matching_pennies, "logit_limit", UNIFORM2, "only equilibrium"),
    # 3 x 3 by hand: no payoff dominance; tracing (Z, Z); logit (Y, Y).
    SelectionCase(hand_game, "payoff_dominance", None, "no payoff-dominant equilibrium"),
    SelectionCase(
        hand_game, "risk_dominance", pure(2, 2, sizes=(3, 3)), "the same from 2 slightly perturbed"
    ),
    SelectionCase(hand_game, "logit_limit", pure(1, 1, sizes=(3, 3)), "principal logit QRE branch"),
    # Identity 3 x 3: three pure equilibria share the payoff vector (1, 1) in different
    # components; the uniform prior and the uniform start are symmetric, and slightly
    # perturbed data reach pure equilibria: not robust.
    SelectionCase(identity3, "payoff_dominance", None, "in different components share the payoff vector"),
    SelectionCase(identity3, "risk_dominance", None, "not robust"),
    SelectionCase(identity3, "logit_limit", None, "not robust"),
    # A segment of equilibria with equal payoffs (1, 1): payoff dominance picks the lowest
    # index of the component; tracing ends inside the segment, at no extreme equilibrium.
    SelectionCase(segment_game, "payoff_dominance", pure(0, 0), "lie in component 0"),
    SelectionCase(segment_game, "risk_dominance", None, "lies in component 0 but is not one of its extreme"),
]


def _case_id(case: SelectionCase) -> str:
    return f"{case.factory.__name__}-{case.criterion}"


@pytest.mark.parametrize("case", [pytest.param(c, id=_case_id(c)) for c in CASES])
def test_selection_known_answers(case: SelectionCase) -> None:
    game = case.factory()
    solution_set = solve(game)
    assert solution_set.complete
    selection = select(game, solution_set, case.criterion)
    assert selection.criterion == case.criterion
    assert case.reason in selection.reason
    if case.expected is None:
        assert not selection.decided and selection.equilibrium_index is None
    else:
        assert selection.decided and selection.equilibrium_index is not None
        chosen = solution_set.equilibria[selection.equilibrium_index]
        assert chosen.nash_conv <= 1e-9 * game.payoff_scale
        assert distance(chosen.strategies, case.expected) <= 1e-9


def test_three_player_selection_from_a_pure_solution_set() -> None:
    game = public_goods()
    # Every pure equilibrium: complete for the concept "pure_nash" only, so a partial set
    # of Nash equilibria; the path criteria must run rather than take the only member.
    solution_set = pure_enumeration(game)
    assert solution_set.concepts == ("pure_nash",) and len(solution_set.equilibria) == 1
    for criterion in ("risk_dominance", "logit_limit"):
        selection = select(game, solution_set, criterion)
        assert selection.decided and selection.equilibrium_index == 0, selection.reason
        assert "slightly perturbed" in selection.reason
    dominance = select(game, solution_set, "payoff_dominance")
    assert dominance.decided and "not complete" in dominance.reason


def test_pure_only_set_with_one_member_is_not_taken_as_the_only_equilibrium() -> None:
    # One pure equilibrium (row 1, column 1); the logit branch ends at the mixed
    # equilibrium ((4/5, 0, 1/5), (5/8, 0, 3/8)), which a pure-only set cannot hold: the
    # shortcut "a complete set with one member" must not fire for concept "pure_nash".
    # (pygambit: logit_solve ends there too; enummixed_solve lists three equilibria.)
    game = bimatrix([[2, 5, 4], [0, 5, 5], [5, -5, -1]], [[1, -2, -1], [1, 3, 1], [-4, 2, 4]])
    pure_set = pure_enumeration(game)
    assert pure_set.complete and len(pure_set.equilibria) == 1
    selection = select(game, pure_set, "logit_limit")
    assert not selection.decided and "it is not in the solution set" in selection.reason
    assert "((0.8, 0, 0.2), (0.625, 0, 0.375))" in selection.reason
    full = solve(game)
    chosen = select(game, full, "logit_limit")
    assert chosen.decided
    expected = (np.array([0.8, 0.0, 0.2]), np.array([0.625, 0.0, 0.375]))
    assert distance(full.equilibria[chosen.equilibrium_index].strategies, expected) <= 1e-9


def test_payoff_dominance_with_a_constant_game_is_one_component() -> None:
    game = bimatrix(np.zeros((2, 3)), np.zeros((2, 3)))
    solution_set = solve(game)
    selection = payoff_dominance(solution_set)
    assert selection.decided and selection.equilibrium_index == 0
    assert f"equilibria {', '.join(map(str, range(6)))} share its payoff vector" in selection.reason


# --------------------------------------------------------------------------- partial sets


def _restricted(solution_set: SolutionSet, keep: Sequence[int]) -> SolutionSet:
    return dataclasses.replace(
        solution_set,
        equilibria=tuple(solution_set.equilibria[k] for k in keep),
        components=(),
        complete=False,
        method="test-subset",
    )


def test_selected_equilibrium_missing_from_a_partial_set_is_not_decided() -> None:
    game = stag_hunt()
    full = solve(game)
    without_hh = [k for k, eq in enumerate(full.equilibria) if distance(eq.strategies, pure(1, 1)) > 1e-9]
    partial = _restricted(full, without_hh)
    for criterion in ("risk_dominance", "logit_limit"):
        selection = select(game, partial, criterion)
        assert not selection.decided and selection.equilibrium_index is None
        assert "not in the solution set" in selection.reason and "not complete" in selection.reason
    # Payoff dominance is relative to the set found: (S, S) still dominates, and says so.
    dominance = select(game, partial, "payoff_dominance")
    assert dominance.decided and "not complete" in dominance.reason


def test_tracing_selection_missing_from_a_partial_set() -> None:
    game = hand_game()
    full = solve(game)
    keep = [k for k, eq in enumerate(full.equilibria) if eq.strategies[0][2] < 0.5]  # drop (Z, Z)
    selection = risk_dominance(game, _restricted(full, keep))
    assert not selection.decided and "it is not in the solution set" in selection.reason


# --------------------------------------------------------------------------- errors


def test_unknown_criterion() -> None:
    game = stag_hunt()
    with pytest.raises(InvalidOptionError, match=r"select\(\): unknown criterion 'pareto'") as info:
        select(game, solve(game), "pareto")
    assert info.value.field == "selection"


@pytest.mark.parametrize("criterion", SELECTION_CRITERIA)
def test_empty_solution_set_is_unsupported(criterion: str) -> None:
    game = stag_hunt()
    empty = _restricted(solve(game), [])
    with pytest.raises(UnsupportedError, match="empty") as info:
        select(game, empty, criterion)
    assert info.value.field == "selection"


def test_solution_set_of_another_game_is_rejected() -> None:
    with pytest.raises(InvalidOptionError) as info:
        select(stag_hunt(), solve(chicken()), "risk_dominance")
    assert info.value.field == "solution_set"
    with pytest.raises(InvalidOptionError) as info:
        select(stag_hunt(), solve(stag_hunt()), "logit_limit", tol=0.5)
    assert info.value.field == "tolerance"


def test_path_criteria_on_a_game_too_large_to_follow() -> None:
    game = bimatrix(np.eye(301), np.eye(301))
    solution_set = pure_enumeration(game)
    for criterion in ("risk_dominance", "logit_limit"):
        with pytest.raises(ProblemTooLargeError) as info:
            select(game, solution_set, criterion)
        assert info.value.field == "selection"


def test_path_failure_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    import equilibria.solver.concepts.tracing as tracing_module

    def stalled(*args, **kwargs):
        raise UnsupportedError("game", "linear_tracing(): path following stalled after 3 steps")

    monkeypatch.setattr(tracing_module, "trace", stalled)
    game = hand_game()
    with pytest.raises(UnsupportedError, match="risk_dominance.*stalled") as info:
        risk_dominance(game, solve(game))
    assert info.value.field == "selection"


# --------------------------------------------------------------------------- properties


SETTINGS = settings(max_examples=40, deadline=None, database=None)


@st.composite
def small_integer_games(draw: st.DrawFn) -> NormalFormGame:
    m = draw(st.integers(1, 3), label="m")
    n = draw(st.integers(1, 3), label="n")
    a = draw(arrays(np.int64, (m, n), elements=st.integers(-4, 4)), label="A")
    b = draw(arrays(np.int64, (m, n), elements=st.integers(-4, 4)), label="B")
    return NormalFormGame.from_bimatrix(a, b)


@SETTINGS
@given(game=small_integer_games())
def test_payoff_dominance_decides_exactly_when_a_dominant_payoff_vector_exists(game: NormalFormGame) -> None:
    solution_set = solve(game)
    selection = payoff_dominance(solution_set)
    payoffs = np.array([eq.payoffs for eq in solution_set.equilibria])
    dominant = [k for k in range(len(payoffs)) if np.all(payoffs[k] >= payoffs - 1e-9)]
    if selection.decided:
        assert selection.equilibrium_index in dominant
    else:
        # Not decided: no dominant vector, or several dominant equilibria that are not one profile
        # and share no component.
        assert len(dominant) != 1
        if dominant:
            shared = set.intersection(*(set(solution_set.equilibria[k].components) for k in dominant))
            assert not shared


@st.composite
def two_strict_equilibria_games(draw: st.DrawFn) -> NormalFormGame:
    loss = draw(arrays(np.int64, (4,), elements=st.integers(1, 5)), label="losses")
    off = draw(arrays(np.int64, (4,), elements=st.integers(-5, 5)), label="off-diagonal")
    a = np.array([[off[0] + loss[0], off[1]], [off[0], off[1] + loss[1]]], dtype=float)
    b = np.array([[off[2] + loss[2], off[2]], [off[3], off[3] + loss[3]]], dtype=float)
    if draw(st.booleans(), label="flip"):
        a, b = a[:, ::-1].copy(), b[:, ::-1].copy()
    return NormalFormGame.from_bimatrix(a, b)


@SETTINGS
@given(
    game=two_strict_equilibria_games(),
    units=st.tuples(st.sampled_from([1e-9, 1.0, 1e9]), st.sampled_from([1e-9, 1.0, 1e9])),
)
def test_2x2_risk_dominance_follows_the_product_rule(
    game: NormalFormGame, units: tuple[float, float]
) -> None:
    """The rule in integers, while the game is solved with each player's payoffs in its own
    unit (1e-9 to 1e9): strictness and equal products are judged in each player's unit."""
    a, b = game.bimatrix()
    game = NormalFormGame.from_bimatrix(a * units[0], b * units[1])
    strict = [
        (r, c)
        for r, c in itertools.product(range(2), repeat=2)
        if a[r, c] > a[1 - r, c] and b[r, c] > b[r, 1 - c]
    ]
    assert len(strict) == 2
    (r1, c1), (r2, c2) = strict
    first = (a[r1, c1] - a[r2, c1]) * (b[r1, c1] - b[r1, c2])
    second = (a[r2, c2] - a[r1, c2]) * (b[r2, c2] - b[r2, c1])
    solution_set = solve(game)
    selection = select(game, solution_set, "risk_dominance")
    if first == second:
        assert not selection.decided and "equal products" in selection.reason
        return
    winner = (r1, c1) if first > second else (r2, c2)
    assert selection.decided
    assert distance(solution_set.equilibria[selection.equilibrium_index].strategies, pure(*winner)) <= 1e-9


# --------------------------------------------------------------------------- pygambit


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(4))
def test_logit_selection_is_the_equilibrium_nearest_pygambit(seed: int) -> None:
    payoffs = np.random.default_rng(2000 + seed).standard_normal((2, 3, 3)).round(3)
    game = NormalFormGame(payoffs)
    solution_set = solve(game)
    selection = logit_limit(game, solution_set)
    assert selection.decided, selection.reason
    g = gbt.Game.from_arrays(*payoffs)
    end = gbt.nash.logit_solve(g, maxregret=1e-10).equilibria[0]
    theirs = tuple(np.array([float(end[s]) for s in player.strategies]) for player in g.players)
    distances = [distance(eq.strategies, theirs) for eq in solution_set.equilibria]
    assert selection.equilibrium_index == int(np.argmin(distances))
    assert min(distances) <= 1e-6


@pytest.mark.parametrize(("scale_a", "scale_b"), [(1.0, 1.0), (1e9, 1e-9), (1e-9, 3.0)])
def test_solve_quotes_selection_payoffs_in_the_games_own_units(scale_a: float, scale_b: float) -> None:
    """solve() selects on the unit game (scale-free), but the reasons quote the user's payoffs."""
    a = np.array([[4.0, 0.0], [3.0, 3.0]]) * scale_a
    b = np.array([[4.0, 3.0], [0.0, 3.0]]) * scale_b
    result = solve(NormalFormGame.from_bimatrix(a, b), concepts=["nash", "selection"])
    by_name = {s.criterion: s for s in result.selections}
    payoff = by_name["payoff_dominance"]
    shown = f"({4 * scale_a:.6g}, {4 * scale_b:.6g})"
    assert payoff.decided and f"with payoffs {shown}" in payoff.reason, payoff.reason
    np.testing.assert_allclose(
        result.equilibria[payoff.equilibrium_index].payoffs, [4 * scale_a, 4 * scale_b]
    )
    risk = by_name["risk_dominance"]
    losses = (3 * scale_a) * (3 * scale_b), (1 * scale_a) * (1 * scale_b)  # (1, 1) vs (0, 0)
    assert risk.decided and risk.reason.endswith(
        f"products of deviation losses {losses[0]:.6g} > {losses[1]:.6g}"
    ), risk.reason


@pytest.mark.parametrize(
    ("scale_a", "scale_b"), [(1.0, 1.0), (1e-9, 1.0), (1.0, 1e9), (1e-9, 1e9), (1e9, 1e-9)]
)
def test_payoff_dominance_called_directly_decides_in_each_players_own_unit(
    scale_a: float, scale_b: float
) -> None:
    """Battle of the sexes has no payoff-dominant equilibrium ((2, 1) against (1, 2)) at any
    scale of either player: a tolerance in absolute units would call player 0's payoffs equal
    once they are a billionth, and (1e-9, 2) would then dominate."""
    a, b = np.array([[2.0, 0.0], [0.0, 1.0]]) * scale_a, np.array([[1.0, 0.0], [0.0, 2.0]]) * scale_b
    found = solve(NormalFormGame.from_bimatrix(a, b))
    assert len(found.equilibria) == 3
    selection = payoff_dominance(found)
    assert not selection.decided and selection.equilibrium_index is None, selection.reason
    # Stag hunt's (4, 4) dominates at every scale.
    a, b = np.array([[4.0, 0.0], [3.0, 3.0]]) * scale_a, np.array([[4.0, 3.0], [0.0, 3.0]]) * scale_b
    stag = solve(NormalFormGame.from_bimatrix(a, b))
    chosen = payoff_dominance(stag)
    assert chosen.decided
    np.testing.assert_allclose(stag.equilibria[chosen.equilibrium_index].payoffs, [4 * scale_a, 4 * scale_b])
