"""Tests of :mod:`equilibria.solver.normal_form.nplayer`: n-player equilibria via pygambit, refined.

Known answers are worked out by hand (each case says how); the oracle tests call
pygambit's ``enumpoly_solve`` directly on the raw payoffs and convert its profiles here,
and measure regrets with an ``einsum`` written in this file, never with the solver's
own ``certify``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import string
import time
import types
from collections.abc import Callable

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.errors import InvalidOptionError
from equilibria.solver.game import unit_payoffs
from equilibria.solver.normal_form import nplayer
from equilibria.solver.normal_form.nplayer import gambit_equilibria
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ..games import jordan_pennies

TOL = 1e-9


# --------------------------------------------------------------------------- independent helpers


def regrets(payoffs: np.ndarray, profile: tuple[np.ndarray, ...]) -> np.ndarray:
    """Each player's best-response payoff minus expected payoff, by einsum."""
    n = payoffs.shape[0]
    letters = string.ascii_lowercase[:n]
    out = np.empty(n)
    for i in range(n):
        others = [f"{letters[j]}" for j in range(n) if j != i]
        spec = f"{letters}," + ",".join(others) + f"->{letters[i]}"
        action_values = np.einsum(spec, payoffs[i], *[profile[j] for j in range(n) if j != i])
        out[i] = action_values.max() - action_values @ profile[i]
    return out


def loop_pure_equilibria(payoffs: np.ndarray) -> set[tuple[int, ...]]:
    """Pure equilibria by checking every unilateral deviation from every joint action."""
    n, shape = payoffs.shape[0], payoffs.shape[1:]
    found = set()
    for joint in itertools.product(*(range(k) for k in shape)):
        stable = True
        for i in range(n):
            for dev in range(shape[i]):
                other = joint[:i] + (dev,) + joint[i + 1 :]
                if payoffs[(i, *other)] > payoffs[(i, *joint)] + 1e-12:
                    stable = False
        if stable:
            found.add(joint)
    return found


def solvable_by_dominance(payoffs: np.ndarray) -> bool:
    """Whether iterated elimination of strictly dominated pure strategies leaves one joint action."""
    n = payoffs.shape[0]
    alive = [list(range(k)) for k in payoffs.shape[1:]]
    changed = True
    while changed:
        changed = False
        for i in range(n):
            others = [alive[j] for j in range(n) if j != i]
            for a, b in itertools.permutations(alive[i], 2):
                if all(
                    payoffs[(i, *rest[:i], b, *rest[i:])] > payoffs[(i, *rest[:i], a, *rest[i:])]
                    for rest in itertools.product(*others)
                ):
                    alive[i].remove(a)
                    changed = True
                    break
    return all(len(a) == 1 for a in alive)


def gambit_enumpoly(payoffs: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """pygambit's enumpoly on the raw payoffs, converted to float arrays here."""
    game = gbt.Game.from_arrays(*[payoffs[i] for i in range(payoffs.shape[0])])
    return [
        tuple(np.array([float(eq[s]) for s in player.strategies]) for player in game.players)
        for eq in gbt.nash.enumpoly_solve(game).equilibria
    ]


def distance(p: tuple[np.ndarray, ...], q: tuple[np.ndarray, ...]) -> float:
    return max(float(np.abs(a - b).max()) for a, b in zip(p, q, strict=True))


def assert_certified_with_every_pure(payoffs: np.ndarray, result: object) -> None:
    """Every returned equilibrium has NashConv within TOL, and the pure ones are exactly the
    pure equilibria found by checking every unilateral deviation."""
    for eq in result.equilibria:  # type: ignore[attr-defined]
        assert regrets(payoffs, eq.strategies).sum() <= TOL
    pure_ours = {
        tuple(int(np.argmax(s)) for s in eq.strategies)
        for eq in result.equilibria  # type: ignore[attr-defined]
        if eq.is_pure
    }
    assert pure_ours == loop_pure_equilibria(payoffs)


def assert_contains(oracle: list[tuple[np.ndarray, ...]], result: object) -> None:
    """Every oracle profile is within 1e-6 of a returned equilibrium."""
    assert oracle
    ours = [eq.strategies for eq in result.equilibria]  # type: ignore[attr-defined]
    for profile in oracle:
        assert min(distance(profile, q) for q in ours) <= 1e-6


def assert_certified(game: NormalFormGame, result: object, bound: float) -> None:
    for eq in result.equilibria:  # type: ignore[attr-defined]
        for s in eq.strategies:
            assert s.min() >= 0.0
            assert s.sum() == pytest.approx(1.0, abs=1e-12)
        assert regrets(game.payoffs, eq.strategies).sum() <= bound
        assert eq.found_by


# --------------------------------------------------------------------------- games


def coordination3() -> NormalFormGame:
    """Everyone gets 1 when all three choose the same action, else 0.

    Pure: (A,A,A), (B,B,B) (any two that disagree make someone deviate). Mixed with
    P(A) = p, q, r: player 1 is indifferent iff q r = (1-q)(1-r), i.e. q + r = 1;
    likewise p + r = 1 and p + q = 1, so p = q = r = 1/2; a player mixing while another
    plays purely forces the third to a pure action, which breaks indifference.
    """
    a = np.indices((2, 2, 2))
    same = ((a[0] == a[1]) & (a[1] == a[2])).astype(float)
    return NormalFormGame(np.stack([same, same, same]))


def prisoners3() -> NormalFormGame:
    """3-player prisoner's dilemma: each gets 2 per cooperating opponent, +1 for defecting.

    Defecting (action 1) strictly dominates cooperating, so (D, D, D) is the unique
    equilibrium, with payoff 1 each.
    """
    a = np.indices((2, 2, 2))
    cooperators = (a == 0).sum(axis=0)
    return NormalFormGame(
        np.stack([2.0 * (cooperators - (a[i] == 0)) + (a[i] == 1) for i in range(3)]).astype(float)
    )


def nau_sec4() -> NormalFormGame:
    """Nau, Gomez Canovas & Hansen (2004), section 4: a unique equilibrium, irrational.

    Payoffs transcribed from pygambit's catalogue file ``nau2004/sec4.nfg`` (outcomes in
    contingency order, first player fastest).
    """
    outcomes = [(3, 0, 2), (0, 1, 0), (0, 2, 0), (1, 0, 0), (1, 0, 0), (0, 3, 0), (0, 1, 0), (2, 0, 3)]
    return NormalFormGame(_from_contingency_rows(outcomes, (2, 2, 2)))


def nau_sec4_equilibrium() -> tuple[np.ndarray, ...]:
    """Solved by hand. With p = P(Top), q = P(Left), r = P(1) the indifferences are
    q (1 + 2r) = (1 - q)(2 - r), (1 - p)(3 - 2r) = p (1 + r), 2pq = 3(1 - p)(1 - q), so
    p = (3 - 2r)/(4 - r), q = (2 - r)/(3 + r) and 2r^2 + 23r - 9 = 0."""
    r = (math.sqrt(601.0) - 23.0) / 4.0
    p, q = (3 - 2 * r) / (4 - r), (2 - r) / (3 + r)
    return (np.array([p, 1 - p]), np.array([q, 1 - q]), np.array([r, 1 - r]))


def nau_sec6() -> NormalFormGame:
    """Nau et al. (2004), section 6: 2x2x4, the equilibria form a line segment.

    pygambit 16.7.0's enumpoly does not finish on it (measured: over 10 minutes).
    """
    outcomes = [
        (2, 0, 0), (0, 2, 1), (0, 1, 1), (1, 0, 2), (1, 0, 2), (0, 1, 1), (0, 2, 1), (2, 0, 0),
        (1, 0, 1), (0, 2, 0), (0, 1, 2), (2, 0, 1), (2, 0, 1), (0, 1, 2), (0, 2, 0), (1, 0, 1),
    ]  # fmt: skip
    return NormalFormGame(_from_contingency_rows(outcomes, (2, 2, 4)))


def _from_contingency_rows(rows: list[tuple[int, ...]], shape: tuple[int, ...]) -> np.ndarray:
    payoffs = np.zeros((len(shape), *shape))
    contingencies = itertools.product(*(range(k) for k in reversed(shape)))  # last player slowest
    for row, joint in zip(rows, contingencies, strict=True):
        for i, value in enumerate(row):
            payoffs[(i, *reversed(joint))] = value
    return payoffs


def half(n: int) -> tuple[np.ndarray, ...]:
    return tuple(np.array([0.5, 0.5]) for _ in range(n))


def pure(*actions: int) -> tuple[np.ndarray, ...]:
    return tuple(np.eye(2)[a] for a in actions)


# --------------------------------------------------------------------------- known answers


@dataclasses.dataclass(frozen=True)
class Case:
    factory: Callable[[], NormalFormGame]
    expected: Callable[[], list[tuple[np.ndarray, ...]]]
    complete: bool
    payoffs: list[list[float]] | None = None


CASES = [
    pytest.param(Case(jordan_pennies, lambda: [half(3)], False, [[0.0, 0.0, 0.0]]), id="jordan-pennies"),
    pytest.param(
        Case(
            coordination3,
            lambda: [pure(0, 0, 0), half(3), pure(1, 1, 1)],
            False,
            [[1, 1, 1], [0.25] * 3, [1, 1, 1]],
        ),
        id="coordination-3",
    ),
    pytest.param(
        Case(prisoners3, lambda: [pure(1, 1, 1)], True, [[1.0, 1.0, 1.0]]), id="prisoners-dilemma-3"
    ),
    pytest.param(Case(nau_sec4, lambda: [nau_sec4_equilibrium()], False), id="nau2004-irrational"),
]


@pytest.mark.parametrize("case", CASES)
def test_known_equilibria(case: Case) -> None:
    game = case.factory()
    result = gambit_equilibria(game)
    assert_certified(game, result, TOL)
    expected = case.expected()
    assert len(result.equilibria) == len(expected)
    for eq, profile in zip(result.equilibria, expected, strict=True):  # sorted: decreasing probabilities
        assert distance(eq.strategies, profile) <= 1e-9
    if case.payoffs is not None:
        np.testing.assert_allclose([eq.payoffs for eq in result.equilibria], case.payoffs, atol=1e-9)
    assert result.complete is case.complete
    assert result.method == "gambit:enumpoly+gnm"
    assert [c.equilibrium_indices for c in result.components] == [(k,) for k in range(len(expected))]
    assert all(c.is_singleton for c in result.components)
    assert [eq.components for eq in result.equilibria] == [(k,) for k in range(len(expected))]


def test_payoffs_in_user_units_after_rescaling() -> None:
    """A positive affine map per player keeps the equilibria; payoffs come back in user units."""
    base = jordan_pennies().payoffs
    scaled = NormalFormGame(base * np.array([1000.0, 0.001, 3.0])[:, None, None, None] + 5.0)
    result = gambit_equilibria(scaled)
    assert len(result.equilibria) == 1
    assert distance(result.equilibria[0].strategies, half(3)) <= 1e-12
    np.testing.assert_allclose(result.equilibria[0].payoffs, [5.0, 5.0, 5.0], atol=1e-9)
    assert regrets(scaled.payoffs, result.equilibria[0].strategies).sum() <= TOL


@pytest.mark.parametrize("method", ["enumpoly", "gnm", "ipa", "simpdiv", "logit"])
def test_each_method_finds_the_unique_equilibrium(method: str) -> None:
    game = nau_sec4()
    result = gambit_equilibria(game, methods=(method,))
    assert result.method == f"gambit:{method}"
    assert len(result.equilibria) == 1
    (eq,) = result.equilibria
    assert eq.found_by == (method,)
    assert distance(eq.strategies, nau_sec4_equilibrium()) <= 1e-9
    assert regrets(game.payoffs, eq.strategies).sum() <= TOL


def test_refinement_beats_the_methods_own_accuracy() -> None:
    """pygambit's logit stops at a 1e-8-equilibrium; Newton on the support polishes it."""
    game = nau_sec4()
    raw = gbt.nash.logit_solve(gbt.Game.from_arrays(*game.payoffs)).equilibria[0]
    raw_regret = float(raw.max_regret())
    result = gambit_equilibria(game, methods="logit")
    refined = regrets(game.payoffs, result.equilibria[0].strategies).max()
    assert raw_regret > 1e-12
    assert refined <= 1e-14
    assert refined < raw_regret


def test_found_by_merges_every_method() -> None:
    game = jordan_pennies()
    result = gambit_equilibria(game, methods=("enumpoly", "gnm", "simpdiv", "logit"))
    assert len(result.equilibria) == 1
    assert result.equilibria[0].found_by == ("enumpoly", "gnm", "simpdiv", "logit")
    assert result.method == "gambit:enumpoly+gnm+simpdiv+logit"
    assert "enumpoly 1 (1 candidates)" in result.method_reason


def test_pure_equilibria_are_tagged() -> None:
    result = gambit_equilibria(coordination3())
    assert [eq.found_by for eq in result.equilibria] == [
        ("enumpoly", "gnm", "pure_enumeration"),
        ("enumpoly", "gnm"),
        ("enumpoly", "gnm", "pure_enumeration"),
    ]


def test_max_equilibria_truncates() -> None:
    result = gambit_equilibria(coordination3(), max_equilibria=1)
    assert len(result.equilibria) == 1
    assert any("truncated" in w for w in result.warnings)
    assert result.complete is False


def test_discarded_candidates_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A method returning a non-equilibrium: it is dropped and counted in the warnings."""
    original = nplayer._profiles

    def with_junk(result: object) -> list[tuple[np.ndarray, ...]]:
        return [*original(result), pure(0, 0, 0)]  # (A, A, A) is no equilibrium of Jordan's game

    monkeypatch.setattr(nplayer, "_profiles", with_junk)
    game = jordan_pennies()
    result = gambit_equilibria(game, methods="enumpoly")
    assert len(result.equilibria) == 1
    assert "1 of 2 candidates discarded" in " ".join(result.warnings)


def test_malformed_candidates_are_discarded_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile with a NaN, one whose strategy is all zeros (or negative: nothing left after
    clipping) and one of the wrong length are dropped before any arithmetic, and counted."""
    original = nplayer._profiles
    half = np.array([0.5, 0.5])
    junk = [
        (np.array([np.nan, 1.0]), half, half),
        (half, np.zeros(2), half),
        (half, half, np.array([-1.0, -2.0])),
        (half, half, np.array([1.0, 0.0, 0.0])),
    ]

    def with_junk(result: object) -> list[tuple[np.ndarray, ...]]:
        return [*original(result), *junk]

    monkeypatch.setattr(nplayer, "_profiles", with_junk)
    result = gambit_equilibria(jordan_pennies(), methods="enumpoly")
    assert len(result.equilibria) == 1
    assert "4 of 5 candidates discarded" in " ".join(result.warnings)


def _small_player_deviates() -> np.ndarray:
    """A 2 x 2 x 2 game where at (0, 0, 0) players 1 and 2 have no regret and player 0's
    regret is its whole payoff range."""
    u = np.zeros((3, 2, 2, 2))
    u[0][1, 0, 0] = 1.0
    u[1][0, 0, 0] = u[2][0, 0, 0] = 1.0
    return u


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e9])
def test_a_candidate_is_judged_in_each_players_own_unit(
    monkeypatch: pytest.MonkeyPatch, scale: float
) -> None:
    """Player 0's payoffs times ``scale``: its regret at (0, 0, 0) is its whole range, so the
    candidate is discarded at every scale (measured against the largest range, 1e-9 of
    regret passed a 1e-8 threshold)."""
    original = nplayer._profiles

    def with_junk(result: object) -> list[tuple[np.ndarray, ...]]:
        return [*original(result), pure(0, 0, 0)]

    monkeypatch.setattr(nplayer, "_profiles", with_junk)
    u = _small_player_deviates()
    u[0] *= scale
    result = gambit_equilibria(NormalFormGame(u), methods="enumpoly")
    junk = pure(0, 0, 0)
    assert result.equilibria
    assert not any(
        all(np.array_equal(s, t) for s, t in zip(eq.strategies, junk, strict=True))
        for eq in result.equilibria
    )
    assert any(
        w.endswith("candidates discarded: a player's regret above 1e-08 of its payoff range after refinement")
        for w in result.warnings
    )


# --------------------------------------------------------------------------- oracle: pygambit directly


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 3, 3)], ids=["2x2x2", "3x3x3"])
@pytest.mark.parametrize("seed", range(12))
def test_contains_gambit_enumpoly_on_random_games(shape: tuple[int, ...], seed: int) -> None:
    payoffs = np.random.default_rng(1000 * len(shape) + seed).standard_normal((3, *shape))
    game = NormalFormGame(payoffs)
    result = gambit_equilibria(game)
    assert result.method == "gambit:enumpoly+gnm"
    assert result.complete is solvable_by_dominance(payoffs)
    assert_certified_with_every_pure(payoffs, result)
    assert_contains(gambit_enumpoly(payoffs), result)
    for a, b in itertools.combinations([eq.strategies for eq in result.equilibria], 2):
        assert distance(a, b) > 1e-7
    for eq in result.equilibria:
        assert ("pure_enumeration" in eq.found_by) == eq.is_pure


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(4))
def test_two_players_match_gambit_enummixed(seed: int) -> None:
    """A random 4x3 bimatrix game is nondegenerate: enummixed lists all its equilibria."""
    payoffs = np.random.default_rng(500 + seed).standard_normal((2, 4, 3))
    result = gambit_equilibria(NormalFormGame(payoffs))
    oracle_game = gbt.Game.from_arrays(*payoffs)
    oracle = [
        tuple(np.array([float(eq[s]) for s in player.strategies]) for player in oracle_game.players)
        for eq in gbt.nash.enummixed_solve(oracle_game, rational=False).equilibria
    ]
    assert len(result.equilibria) == len(oracle)
    for profile in oracle:
        assert min(distance(profile, eq.strategies) for eq in result.equilibria) <= 1e-9
    for eq in result.equilibria:
        assert regrets(payoffs, eq.strategies).sum() <= TOL


@pytest.mark.oracle
def test_four_players_three_actions_auto() -> None:
    """3^4 (2,401 support profiles): auto runs enumpoly, then gnm; every enumpoly equilibrium is kept."""
    # Seed 2: enumpoly takes 2-4 s here (others up to 12 s on a loaded 2-core machine; past
    # its 10 s budget auto would fall back to the path-following methods).
    payoffs = np.random.default_rng(2).standard_normal((4, 3, 3, 3, 3))
    game = NormalFormGame(payoffs)
    result = gambit_equilibria(game)
    assert "2,401 support profiles <= 3,500, so enumpoly" in result.method_reason
    assert result.method == "gambit:enumpoly+gnm", result.warnings
    assert result.equilibria
    assert_certified_with_every_pure(payoffs, result)
    assert_contains(gambit_enumpoly(payoffs), result)
    assert result.complete is False


@pytest.mark.oracle
def test_too_many_support_profiles_for_enumpoly() -> None:
    """3x5x5 (6,727 support profiles): auto skips enumpoly for gnm + simpdiv + logit, within its time limit.

    The runs take about half a second: a time limit 100 times that leaves none of them cut
    short on a loaded machine."""
    payoffs = np.random.default_rng(8).standard_normal((3, 3, 5, 5))
    game = NormalFormGame(payoffs)
    started = time.perf_counter()
    result = gambit_equilibria(game, time_limit=60.0)
    assert time.perf_counter() - started < 60.0
    assert not any("time_limit" in w or "stopped after" in w for w in result.warnings), result.warnings
    assert result.method == "gambit:gnm+simpdiv+logit"
    assert "6,727 support profiles > 3,500" in result.method_reason
    assert result.equilibria
    assert_certified_with_every_pure(payoffs, result)
    assert result.complete is False


# --------------------------------------------------------------------------- time limits and hangs


def test_enumpoly_hang_is_stopped_and_the_fallback_runs() -> None:
    game = nau_sec6()
    started = time.perf_counter()
    result = gambit_equilibria(game, time_limit=3.0)
    elapsed = time.perf_counter() - started
    assert elapsed < 30.0  # enumpoly's 1.5 s share and the fallback; unstopped, it runs for minutes
    assert any(w.startswith("enumpoly stopped after") for w in result.warnings)
    assert result.method == "gambit:enumpoly+gnm+simpdiv+logit"
    assert result.equilibria
    assert_certified(game, result, TOL)
    assert result.complete is False


def test_a_restart_that_never_ends_is_stopped_early() -> None:
    """On this 3x3x3 game gnm's second random perturbation runs on for 10 s and more while
    its default path takes milliseconds: it is killed past 20x the first run (at least 1 s),
    and the equilibria it would add come from the other runs anyway."""
    payoffs = np.random.default_rng(3009).standard_normal((3, 3, 3, 3))
    result = gambit_equilibria(NormalFormGame(payoffs))
    (stopped,) = [w for w in result.warnings if "stopped after" in w]
    assert stopped.startswith("gnm (random perturbation 2) stopped after")
    leash = float(stopped.split("stopped after ")[1].split(" s")[0])
    assert 1.0 <= leash < nplayer.RUN_BUDGET
    assert len(result.equilibria) == 5
    for eq in result.equilibria:
        assert regrets(payoffs, eq.strategies).sum() <= TOL


def test_a_method_whose_first_start_never_ends_is_not_restarted() -> None:
    """The minority game (a continuum of equilibria): enumpoly ends in milliseconds, gnm
    from any perturbation runs until killed. The supplement's starts are capped at 20x
    enumpoly's time (at least 1 s), and once its first start was killed the other two are
    skipped (they used to cost 10 s each)."""
    payoffs = np.zeros((3, 2, 2, 2))
    for joint in itertools.product(range(2), repeat=3):
        for i in range(3):
            payoffs[(i, *joint)] = float(sum(a == joint[i] for a in joint) == 1)
    result = gambit_equilibria(NormalFormGame(payoffs))
    # The cap is 20x enumpoly's time, at least 1 s: 1 s here, a little more on a loaded machine.
    cap = result.method_reason.split("(each start capped at ")[1].split(" s)")[0]
    assert 1.0 <= float(cap) <= nplayer.RUN_BUDGET
    assert result.warnings == (
        f"gnm (default perturbation) stopped after {cap} s without finishing",
        "gnm (random perturbation 1) skipped: the first start of gnm did not finish",
        "gnm (random perturbation 2) skipped: the first start of gnm did not finish",
    )
    assert_certified_with_every_pure(payoffs, result)
    assert result.complete is False


def test_a_spent_time_limit_skips_every_run_without_starting_it() -> None:
    """Past the deadline (by 0.1 s here, with no clock race: it is already spent) each run's
    share of the time left is negative: every run is skipped, none is started."""
    game = NormalFormGame(np.random.default_rng(5).standard_normal((3, 2, 2, 2)))
    runner = nplayer._Runner(game, time.perf_counter() - 0.1, 0)
    assert runner.run(["enumpoly", "gnm"]) is False
    assert runner.ran == [] and runner.candidates == [] and runner.finished == []
    assert runner.warnings == [
        "enumpoly skipped: time_limit spent",
        *(
            f"gnm ({start}) skipped: time_limit spent"
            for start in ("default perturbation", "random perturbation 1", "random perturbation 2")
        ),
    ]


def test_time_limit_skips_runs() -> None:
    game = NormalFormGame(np.random.default_rng(3).standard_normal((5, 3, 3, 3, 3, 3)))
    started = time.perf_counter()
    # gnm's first path on this game runs for minutes (measured: unfinished after 200 s), so the 0.5 s
    # limit cuts it by construction; without the limit the runs take over 20 s.
    result = gambit_equilibria(game, time_limit=0.5)
    assert time.perf_counter() - started < 10.0
    assert any("skipped: time_limit spent" in w or "stopped after" in w for w in result.warnings)
    assert_certified(game, result, 10 * TOL * game.payoff_scale)


# --------------------------------------------------------------------------- properties


@settings(deadline=None, max_examples=12)
@given(arrays(np.int8, (3, 2, 2, 2), elements=st.integers(-3, 3)))
def test_small_integer_games(payoffs: np.ndarray) -> None:
    """Degenerate games included: every answer is certified, distinct and valid."""
    game = NormalFormGame(payoffs.astype(float))
    result = gambit_equilibria(game, time_limit=2.0)
    assert_certified(game, result, 10 * TOL * game.payoff_scale)
    for a, b in itertools.combinations(result.equilibria, 2):
        assert distance(a.strategies, b.strategies) > 1e-7
    pure_ours = {tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria if eq.is_pure}
    assert pure_ours == loop_pure_equilibria(game.payoffs)
    assert result.equilibria  # every finite game has an equilibrium, and pure or enumpoly finds one here


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        pytest.param({"methods": ("lemke",)}, "methods", "unknown method 'lemke'", id="unknown"),
        pytest.param({"methods": ("auto", "gnm")}, "methods", "cannot be combined", id="auto-combined"),
        pytest.param({"methods": ()}, "methods", "no method given", id="empty"),
        pytest.param({"tol": 0.0}, "tolerance", "tol must be in", id="tol-zero"),
        pytest.param({"tol": 0.1}, "tolerance", "tol must be in", id="tol-large"),
        pytest.param({"max_equilibria": -1}, "max_equilibria", ">= 0", id="max-negative"),
        pytest.param({"max_equilibria": True}, "max_equilibria", "an integer >= 0", id="max-bool"),
        pytest.param({"max_equilibria": 2.0}, "max_equilibria", "an integer >= 0", id="max-float"),
        pytest.param({"time_limit": 0.0}, "time_limit", "positive", id="time-zero"),
        pytest.param({"time_limit": math.inf}, "time_limit", "positive", id="time-inf"),
    ],
)
def test_invalid_options(kwargs: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(InvalidOptionError) as info:
        gambit_equilibria(jordan_pennies(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert fragment in info.value.message
    assert info.value.message.startswith("gambit_equilibria(): ")


def test_a_pure_equilibrium_found_first_by_gnm_is_reported_pure() -> None:
    # Regression (found by Hypothesis in CI): gnm reached (0, 1, 0) to within round-off
    # before pure enumeration; the merged equilibrium kept gnm's float profile and was
    # not reported as pure.
    payoffs = -np.ones((3, 2, 2, 2))
    payoffs[0, 0, 0, 0] = 0.0
    payoffs[2, 0, 0, 1] = 0.0
    payoffs[2, 0, 1, 0] = 1.0
    game = NormalFormGame(payoffs)
    result = gambit_equilibria(game, time_limit=0.5)
    pure_ours = {tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria if eq.is_pure}
    assert pure_ours == loop_pure_equilibria(game.payoffs)


@pytest.mark.parametrize("scale", [1.0, 1e-9, 1e9])
def test_a_dominance_solvable_three_player_game_is_complete_through_solve(scale: float) -> None:
    """Each player's action 0 strictly dominates (by 1 plus a common 0.1 per action 1 played):
    the unique equilibrium is (0, 0, 0), proved by iterated dominance, whatever one player's units."""
    payoffs = np.zeros((3, 2, 2, 2))
    for a in itertools.product(range(2), repeat=3):
        for i in range(3):
            payoffs[(i, *a)] = float(a[i] == 0) + 0.1 * sum(a)
    payoffs[0] *= scale
    result = solve(NormalFormGame(payoffs))
    assert result.complete
    assert [[s.tolist() for s in eq.strategies] for eq in result.equilibria] == [[[1.0, 0.0]] * 3]
    assert "unique equilibrium" in result.method_reason
    assert [(s.concept, s.status) for s in result.concept_status] == [("nash", "answered")]


@pytest.mark.parametrize(("lead", "unique"), [(0.25, None), (0.5, (1, 1, 1))])
def test_dominance_must_exceed_the_margin_everywhere(lead: float, unique: tuple[int, ...] | None) -> None:
    # Every player's action 1 pays exactly `lead` more than action 0 against every profile.
    payoffs = np.zeros((3, 2, 2, 2))
    for i in range(3):
        index = [slice(None)] * 3
        index[i] = 1
        payoffs[i][tuple(index)] = lead
    game = NormalFormGame(payoffs)
    assert nplayer._unique_by_dominance(game, 0.25) == unique  # by exactly the margin is not by more


@pytest.mark.parametrize(("lead", "complete"), [(10.5, True), (9.5, False)])
def test_completeness_by_dominance_needs_a_margin_above_ten_tolerances(lead: float, complete: bool) -> None:
    """Action 1 of each player beats action 0 by ``lead * tol`` of the player's payoff range
    (the rest of the range rides on the next player's action): the unique equilibrium is
    (1, 1, 1) either way, proved complete only when the margin is above ``10 * tol``."""
    tol = 1e-6
    payoffs = np.zeros((3, 2, 2, 2))
    for a in itertools.product(range(2), repeat=3):
        for i in range(3):
            payoffs[(i, *a)] = lead * tol * (a[i] == 1) + (1.0 - lead * tol) * (a[(i + 1) % 3] == 1)
    result = gambit_equilibria(NormalFormGame(payoffs), tol=tol)
    assert result.complete == complete
    assert [tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria] == [(1, 1, 1)]


def _fake_clock(monkeypatch: pytest.MonkeyPatch, start: float) -> list[float]:
    """Make ``nplayer``'s clock read ``clock[0]`` of the returned list, set to ``start``: the
    test moves it where its fake runs end."""
    clock = [start]
    monkeypatch.setattr(nplayer, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    return clock


@pytest.mark.parametrize("deadline", [100.0, 1.0])
def test_each_run_gets_its_share_of_the_time_left_and_restarts_their_leash(
    deadline: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a ``time_limit`` each run is killed past the time left divided by the runs still
    to go; a method's further starts also past ``max(_RESTART_FLOOR, _RESTART_FACTOR * its
    first run's seconds)``, whichever is sooner. A fake clock: every run takes 0.1 s, so the
    restarts' leash is 2 s: under their share of 100 s, over their share of 1 s."""
    clock = _fake_clock(monkeypatch, 0.0)
    limits: list[float] = []
    took = 0.1

    def run_isolated(thunk: Callable[[], object], limit: float) -> list[object]:
        limits.append(limit)
        clock[0] += took
        return []

    monkeypatch.setattr(nplayer, "run_isolated", run_isolated)
    runner = nplayer._Runner(jordan_pennies(), deadline=deadline, max_equilibria=0)
    assert runner.run(("logit", "gnm"))
    runs = 1 + nplayer._PERTURBATIONS  # logit once, gnm from each perturbation
    assert len(limits) == runs
    leash = max(nplayer._RESTART_FLOOR, nplayer._RESTART_FACTOR * took)
    for k, limit in enumerate(limits):
        share = (deadline - k * took) / (runs - k)
        assert limit == pytest.approx(share if k < 2 else min(share, leash), rel=1e-12), k


@pytest.mark.parametrize("seed", [2, 4, 5])
def test_an_even_count_is_flagged_after_enumpoly_only(seed: int) -> None:
    """After ``enumpoly`` (which aims at every isolated equilibrium) an even count means a
    degenerate game or a miss (Wilson 1971), so it is flagged; after ``gnm`` alone, whose
    starts reach some equilibria only, the count says nothing."""
    game = NormalFormGame(np.random.default_rng(seed).integers(0, 2, size=(3, 2, 2, 2)).astype(float))
    flagged = gambit_equilibria(game, methods=("enumpoly",), time_limit=5)
    assert len(flagged.equilibria) % 2 == 0
    assert (
        f"an even number of equilibria ({len(flagged.equilibria)}) was found: a generic game has an odd number "
        "(Wilson 1971), so the game is degenerate or some equilibria were missed"
    ) in flagged.warnings
    quiet = gambit_equilibria(game, methods=("gnm",), time_limit=5)
    assert len(quiet.equilibria) % 2 == 0
    assert not any("even number" in w for w in quiet.warnings)


def test_a_run_whose_share_of_time_is_spent_exactly_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run ends exactly at the deadline: nothing is left, so every further run is
    skipped (not started with no time), each saying so, and the methods are unfinished."""
    clock = _fake_clock(monkeypatch, 0.0)
    limits: list[float] = []

    def run_isolated(thunk: Callable[[], object], limit: float) -> list[object]:
        limits.append(limit)
        clock[0] = 1.0
        return []

    monkeypatch.setattr(nplayer, "run_isolated", run_isolated)
    runner = nplayer._Runner(jordan_pennies(), deadline=1.0, max_equilibria=0)
    assert not runner.run(("logit", "gnm"))
    assert limits == [pytest.approx(1.0 / (1 + nplayer._PERTURBATIONS))]
    assert runner.warnings == [f"{label} skipped: time_limit spent" for label, _ in runner._thunks("gnm")]
    assert runner.finished == ["logit"]


def test_an_incomplete_set_names_why_each_method_that_ran_cannot_prove_completeness(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jordan's pennies has one (mixed) equilibrium, not found by dominance: the set is not
    provably complete, for the reasons of the methods that ran, in their order; when the time
    limit let none run (a clock that jumps 1000 s per reading), it says so instead."""
    ran = gambit_equilibria(jordan_pennies(), methods=("gnm", "simpdiv"), time_limit=60)
    assert ran.complete is False and len(ran.equilibria) == 1
    why = f"not provably complete: {nplayer._INCOMPLETE['gnm']}; {nplayer._INCOMPLETE['simpdiv']}"
    assert ran.method_reason.endswith(why)
    readings = itertools.count(0.0, 1000.0)
    monkeypatch.setattr(nplayer, "time", types.SimpleNamespace(perf_counter=lambda: next(readings)))
    spent = gambit_equilibria(jordan_pennies(), methods=("gnm", "simpdiv"), time_limit=60)
    assert spent.complete is False
    assert spent.method_reason.endswith("not provably complete: no pygambit method ran (time_limit spent)")
    assert "gnm (default perturbation) skipped: time_limit spent" in spent.warnings


@pytest.mark.parametrize(
    ("method", "first", "then", "count"),
    [
        ("simpdiv", "centroid", "random start", nplayer._SIMPDIV_STARTS),
        ("gnm", "default perturbation", "random perturbation", nplayer._PERTURBATIONS),
        ("ipa", "default perturbation", "random perturbation", nplayer._PERTURBATIONS),
    ],
)
def test_each_path_following_method_runs_from_its_documented_starts(
    method: str, first: str, then: str, count: int
) -> None:
    """``simpdiv`` from the centroid and ``gnm``/``ipa`` from pygambit's default perturbation,
    each then from seeded random ones, ``count`` runs in all, labelled as the warnings name
    them."""
    runner = nplayer._Runner(jordan_pennies(), deadline=1.0, max_equilibria=0)
    labels = [label for label, _ in runner._thunks(method)]
    assert labels == [f"{method} ({first})", *(f"{method} ({then} {k})" for k in range(1, count))]
    assert len(set(labels)) == count


def test_newton_on_the_support_converges_to_the_equilibrium_and_stays_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jordan's game: from a perturbed interior start Newton on the full support reaches the
    unique equilibrium (1/2 each) to round-off; from the equilibrium itself (residual zero)
    it stops before solving for a step."""
    game = jordan_pennies()
    unit = unit_payoffs(game.payoffs)
    half = np.array([0.5, 0.5])
    start = (np.array([0.6, 0.4]), np.array([0.45, 0.55]), np.array([0.3, 0.7]))
    refined = nplayer._newton_on_support(unit, start, [(0, 1)] * 3)
    assert refined is not None
    np.testing.assert_allclose(np.stack(refined), np.stack([half] * 3), rtol=0, atol=1e-15)
    solves: list[int] = []
    lstsq = np.linalg.lstsq
    monkeypatch.setattr(np.linalg, "lstsq", lambda *a, **k: solves.append(1) or lstsq(*a, **k))
    fixed = nplayer._newton_on_support(unit, (half, half, half), [(0, 1)] * 3)
    assert fixed is not None and all(np.array_equal(x, half) for x in fixed)
    assert solves == []


def test_newton_reads_a_partial_support_from_the_candidate_and_refuses_negative_probabilities() -> None:
    """On a support of one action per player the unknowns are fixed at that pure profile;
    on a support Newton would leave the simplex on (a probability below zero), None."""
    game = jordan_pennies()
    unit = unit_payoffs(game.payoffs)
    start = (np.array([0.9, 0.1]), np.array([0.2, 0.8]), np.array([0.6, 0.4]))
    pure = nplayer._newton_on_support(unit, start, [(0,), (1,), (0,)])
    assert pure is not None and [x.tolist() for x in pure] == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    # Action 0 pays 1 + (the next player's action), action 1 pays 0: indifference would need
    # the next player to play action 0 with probability 2 and action 1 with -1.
    a = np.indices((2, 2, 2))
    dominant = np.stack([(a[i] == 0) * (1.0 + a[(i + 1) % 3]) for i in range(3)])
    assert nplayer._newton_on_support(unit_payoffs(dominant), start, [(0, 1)] * 3) is None


def test_newton_clips_a_probability_just_below_zero_and_renormalises() -> None:
    """Indifference here needs the next player at (1 + e, -e), e = 1e-13: inside the
    round-off allowance (``_NEGATIVE_PROBABILITY``), so Newton's answer is clipped to
    (1, 0) and renormalised to sum to one exactly."""
    e = 1e-13
    assert e < -nplayer._NEGATIVE_PROBABILITY
    a = np.indices((2, 2, 2))
    advantage = np.where(a == 0, e / (1.0 + e), 1.0)  # action 0's lead, by the next player's action
    payoffs = np.stack([(a[i] == 0) * advantage[(i + 1) % 3] for i in range(3)])
    start = (np.array([0.6, 0.4]), np.array([0.45, 0.55]), np.array([0.3, 0.7]))
    refined = nplayer._newton_on_support(unit_payoffs(payoffs), start, [(0, 1)] * 3)
    assert refined is not None
    for x in refined:
        assert x[1] == 0.0 and x[0] == 1.0


@pytest.mark.parametrize(("took", "cap"), [(0.2, 4.0), (0.8, 10.0)])
def test_auto_caps_the_supplement_after_enumpoly_by_its_time(
    took: float, cap: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a finished ``enumpoly`` that took ``took`` seconds (a fake clock), each start
    of the supplement is capped at ``min(RUN_BUDGET, _leash(took))``: 20 x 0.2 = 4 s, but
    10 s (``RUN_BUDGET``), not 16 s, after 0.8 s."""
    clock = _fake_clock(monkeypatch, 5.0)  # not zero: the time taken is a difference of two readings
    calls: list[tuple[tuple[str, ...], float | None]] = []

    class Runner:
        game = jordan_pennies()

        def run(self, names: tuple[str, ...], *, cap: float | None = None) -> bool:
            calls.append((names, cap))
            clock[0] += took
            return True

    reasons = nplayer._run_requested(Runner(), ("auto",), None)  # type: ignore[arg-type]
    assert calls == [
        (("enumpoly",), nplayer.AUTO_ENUMPOLY_BUDGET),
        (nplayer.AUTO_AFTER_ENUMPOLY, pytest.approx(cap)),
    ]
    assert reasons[1].endswith(f"(each start capped at {cap:g} s)")
