"""Invariance as a law (issue 17): transformed games must get the same answers, mapped back.

Each seeded game of :mod:`tests.metamorphic` is solved in process, then again after each of
seven transforms (per-player positive affine maps with scales 10**U(-12, 12), scales 1e-12
and 1e12, one common affine map, a constant added to one player, relabelled actions,
relabelled players or transposition, and all at once). The laws (every violation of a game
is listed in its failure):

* every returned equilibrium certifies in each player's own scale, in its own game and
  mapped back to the original; the answer's own payoffs and regrets agree;
* the same ``complete`` flag; an empty Nash set is never complete;
* the same set of equilibria mapped back (within 1e-6, any order) when both are complete or
  only affine maps apart; the same pure equilibria, and those equal brute force;
* the same Pareto-optimal equilibria and welfare-maximising equilibria; welfare values
  mapped (utilitarian ``a W + sum b``, egalitarian ``a W + b``) under one common scale;
  ``certified`` unchanged, and a certified optimum over a complete set is its maximum;
* a returned (coarse) correlated equilibrium of the transformed game is one of the
  original within each player's own tolerance; its welfare and the (C)CE welfare range map
  like the Nash welfare; the zero-sum value maps back (``a v + b_0``, or ``a (c - v) + b_1``
  with the players swapped);
* stochastic games (Hoffman-Karp for zero-sum, the homotopy for general-sum): Markov
  equilibria certify state by state in each player's own value scale; zero-sum values,
  unique, map back; general-sum sets are the same under affine maps.

Size: ``EQUILIBRIA_METAMORPHIC_GAMES`` games in all (default :data:`DEFAULT_GAMES`), split
over the families as :data:`SHARES`; hundreds on demand::

    EQUILIBRIA_METAMORPHIC_GAMES=1000 python -m pytest -q tests/test_metamorphic.py

The public examples of issue 17, and one example of each other class it lists, are the
named ``test_issue17_*`` regression tests.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, StochasticGame, solve, solve_stochastic
from equilibria.solver.errors import UnsupportedError

from . import metamorphic as mm

#: Games in all by default (28 two-player, 8 constant-sum, 8 n-player, 4 + 4 stochastic):
#: the file takes about a minute of one core.
DEFAULT_GAMES = 50
#: Shares of the games: 2-player, constant-sum 2-player, 3-/4-player, zero-sum stochastic,
#: general-sum stochastic.
SHARES = (0.55, 0.15, 0.15, 0.08, 0.07)
GAMES = int(os.environ.get("EQUILIBRIA_METAMORPHIC_GAMES", str(DEFAULT_GAMES)))
BIMATRIX, ZERO_SUM, N_PLAYER, MARKOV_ZERO_SUM, MARKOV_GENERAL = mm.split_budget(GAMES, SHARES)
WELFARE = ("utilitarian", "egalitarian")
TWO_PLAYER = ("nash", "pure_nash", "pareto_nash", "welfare_nash", "correlated", "coarse_correlated")
N_PLAYER_CONCEPTS = ("nash", "pure_nash", "pareto_nash", "welfare_nash", "correlated")
#: For the integer (degenerate) n-player games: their mixed equilibria form continua that
#: keep pygambit's enumpoly busy until its 10 s budget, so only the pure set (and what is
#: answered from it) and the correlated equilibria; welfare_nash needs the mixed set.
N_PLAYER_PURE_CONCEPTS = ("pure_nash", "pareto_nash", "correlated")
#: Homotopy priors besides the logit path: fewer than the default, to bound the time.
PRIORS = 2


def solve_in_process(payoffs: mm.FloatArray, concepts: tuple[str, ...]) -> Any:
    return solve(NormalFormGame(payoffs), concepts, welfare=WELFARE)


def solve_markov_in_process(spec: mm.StochasticSpec, concepts: tuple[str, ...]) -> Any:
    game = StochasticGame(spec.rewards, spec.transitions, discount=spec.discount)
    return solve_stochastic(game, concepts, priors=PRIORS, seed=17)


def _report(problems: list[str]) -> str:
    shown = problems[:25]
    more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    return f"{len(problems)} violations:\n" + "\n".join(shown) + more


@pytest.mark.parametrize("k", range(BIMATRIX), ids=lambda k: f"bimatrix-{k:03d}")
def test_two_player_games_keep_their_answers(k: int) -> None:
    payoffs = mm.bimatrix_game(k)
    problems = mm.normal_form_laws(payoffs, (17, 11, k), TWO_PLAYER, solve_in_process)
    assert not problems, _report(problems)


@pytest.mark.parametrize("k", range(ZERO_SUM), ids=lambda k: f"zero-sum-{k:03d}")
def test_constant_sum_games_keep_their_answers_and_value(k: int) -> None:
    payoffs = mm.zero_sum_bimatrix(k)
    problems = mm.normal_form_laws(payoffs, (17, 12, k), TWO_PLAYER, solve_in_process, zero_sum=True)
    assert not problems, _report(problems)


@pytest.mark.parametrize("k", range(N_PLAYER), ids=lambda k: f"n-player-{k:03d}")
def test_n_player_games_keep_their_answers(k: int) -> None:
    payoffs = mm.n_player_game(k)
    concepts = N_PLAYER_PURE_CONCEPTS if mm.is_integer_game(payoffs) else N_PLAYER_CONCEPTS
    problems = mm.normal_form_laws(payoffs, (17, 13, k), concepts, solve_in_process)
    assert not problems, _report(problems)


@pytest.mark.parametrize("k", range(MARKOV_ZERO_SUM), ids=lambda k: f"markov-zero-sum-{k:03d}")
def test_zero_sum_stochastic_games_keep_their_values(k: int) -> None:
    spec = mm.stochastic_game(k, zero_sum=True)
    problems = mm.markov_laws(spec, (17, 14, k), solve_markov_in_process, zero_sum=True)
    assert not problems, _report(problems)


@pytest.mark.parametrize("k", range(MARKOV_GENERAL), ids=lambda k: f"markov-general-{k:03d}")
def test_general_sum_stochastic_games_keep_their_equilibria(k: int) -> None:
    spec = mm.stochastic_game(k, zero_sum=False)
    problems = mm.markov_laws(spec, (17, 15, k), solve_markov_in_process, zero_sum=False)
    assert not problems, _report(problems)


# ---------------------------------------------------------------- the transforms themselves


def test_transforms_map_answers_back_exactly() -> None:
    """The inverse maps are right: a pure equilibrium found by brute force in the transformed
    game maps back to one of the original, and payoffs map back to the original's."""
    for k in range(10):
        payoffs = mm.n_player_game(k) if k % 2 else mm.bimatrix_game(k)
        truth = mm.pure_equilibria(mm.unit_scale(payoffs)).certain
        for t in mm.normal_form_transforms(payoffs, (17, 16, k)):
            new = t.apply(payoffs)
            for joint in mm.pure_equilibria(mm.unit_scale(new)).certain:
                strategies = [np.eye(new.shape[1 + i])[a] for i, a in enumerate(joint)]
                back = t.profile_back(strategies)
                original_joint = tuple(int(np.argmax(s)) for s in back)
                assert original_joint in truth, (t.name, joint)
                np.testing.assert_allclose(
                    t.payoffs_back(new[(slice(None), *joint)]),
                    payoffs[(slice(None), *original_joint)],
                    rtol=1e-9,
                    atol=1e-9 * float(np.abs(payoffs).max()),
                )
            assert len(mm.pure_equilibria(mm.unit_scale(new)).certain) == len(truth), t.name
            dist = np.random.default_rng(k).dirichlet(np.ones(new[0].size)).reshape(new.shape[1:])
            back = t.distribution_back(dist)
            for i in range(payoffs.shape[0]):  # the same expected payoffs, mapped back
                j = t.inverse_players[i]
                expected = (float((dist * new[j]).sum()) - t.shifts[i]) / t.scales[i]
                assert abs(float((back * payoffs[i]).sum()) - expected) <= 1e-6 * (
                    1 + np.abs(payoffs[i]).max()
                )


def test_the_independent_certificate_rejects_what_it_must() -> None:
    """The recomputation is strict in each player's own scale: a regret of 1e-6 of the row
    player's range fails even when that range is 1e-9 and the column player's is 1."""
    a, b = np.array([[1e-9, 0.0], [0.0, 1e-9]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    payoffs = np.stack([a, b])
    scaled = mm.unit_scale(payoffs)
    half = np.array([0.5, 0.5])
    assert not mm.relative_certificate(scaled, [half, half]).regrets.any()
    off = np.array([0.5 + 1e-6, 0.5 - 1e-6])
    cert = mm.relative_certificate(scaled, [half, off])
    assert cert.regrets[0] > cert.bars[0] and cert.regrets[1] == 0.0
    huge = mm.unit_scale(np.stack([np.array([[1e308, -1e308], [-1e308, 1e308]])] * 2))
    assert np.isfinite(huge.unit).all() and huge.unit.max() == 1.0
    assert mm.pure_equilibria(scaled).certain == frozenset()


def test_the_laws_catch_a_solver_that_answers_the_wrong_game() -> None:
    """A "solver" that ignores the transform (always answers the original game) breaks the
    laws of every transform that relabels actions or players, and no others."""
    payoffs = mm.bimatrix_game(2)  # generic, 6 x 3

    def stale(_: mm.FloatArray, concepts: tuple[str, ...]) -> Any:
        return solve_in_process(payoffs, concepts)

    problems = mm.normal_form_laws(payoffs, (17, 11, 2), TWO_PLAYER, stale)
    broken = {p.split(":")[0].removesuffix(" (own game)") for p in problems}
    assert {"permute_actions", "transpose", "composite"} <= broken, broken


# ------------------------------------------------------------------ issue 17's public examples

#: A 4 x 4 integer game without pure equilibria (drawn from ``default_rng([17, 0, 9])``).
NO_PURE_A = [[2, 1, 3, -1], [3, 3, -1, -3], [0, 2, 0, 2], [2, 3, 0, 3]]
NO_PURE_B = [[2, 1, 0, 3], [0, 0, -1, 2], [-2, 1, 3, 0], [1, 0, 3, -3]]


def test_issue17_pure_nash_of_row_player_scaled_by_1e_minus_9() -> None:
    """A = integers * 1e-9, B = integers: no pure equilibrium, as in the unscaled game."""
    payoffs = np.stack([np.array(NO_PURE_A) * 1e-9, np.array(NO_PURE_B, dtype=np.float64)])
    assert not mm.pure_equilibria(mm.unit_scale(payoffs)).possible  # the exact game has none
    result = solve(NormalFormGame(payoffs), ["pure_nash"])
    found = sorted(mm.pure_profiles(result.equilibria))
    assert not found, f"pure 'equilibria' {found} reported with complete={result.complete}"


def test_issue17_all_payoffs_times_1e_minus_10() -> None:
    """Every payoff x 1e-10: the same equilibria as the unscaled game, none spurious."""
    payoffs = np.stack([np.array(NO_PURE_A), np.array(NO_PURE_B)]).astype(np.float64)
    tiny = payoffs * 1e-10
    original = solve(NormalFormGame(payoffs), ["nash", "pure_nash"])
    result = solve(NormalFormGame(tiny), ["nash", "pure_nash"])
    problems = mm.answer_violations(tiny, result, "x1e-10")
    problems += mm.set_violations(
        [tuple(eq.strategies) for eq in original.equilibria],
        [tuple(eq.strategies) for eq in result.equilibria],
        "x1e-10",
    )
    assert result.complete == original.complete
    assert not problems, _report(problems)


def test_issue17_matching_pennies_at_plus_minus_1e308() -> None:
    """+-1e308 matching pennies through solve(): the unique equilibrium, complete."""
    big = 1e308
    game = NormalFormGame.from_bimatrix([[big, -big], [-big, big]], [[-big, big], [big, -big]])
    result = solve(game)
    assert len(result.equilibria) == 1, f"{len(result.equilibria)} equilibria, complete={result.complete}"
    assert result.complete
    for s in result.equilibria[0].strategies:
        np.testing.assert_allclose(s, [0.5, 0.5], atol=1e-12)
    problems = mm.answer_violations(np.asarray(game.payoffs), result, "1e308")
    assert not problems, _report(problems)


def test_issue17_nash_and_pure_nash_keep_every_pure_equilibrium() -> None:
    """A 15 x 15 {0, 1} game: ``["nash", "pure_nash"]`` holds every pure equilibrium that
    ``["pure_nash"]`` alone finds, and both equal brute force."""
    payoffs = np.random.default_rng([17, 15, 0]).integers(0, 2, (2, 15, 15)).astype(np.float64)
    truth = mm.pure_equilibria(mm.unit_scale(payoffs)).certain
    assert len(truth) > 40  # a game with many pure equilibria (57)
    alone = mm.pure_profiles(solve(NormalFormGame(payoffs), ["pure_nash"]).equilibria)
    both = solve(NormalFormGame(payoffs), ["nash", "pure_nash"])
    together = mm.pure_profiles(both.equilibria)
    assert alone == truth
    assert alone <= together, f"{len(alone - together)} of {len(alone)} pure equilibria dropped"
    problems = mm.answer_violations(payoffs, both, "nash+pure_nash")
    assert not problems, _report(problems)


def test_issue17_chicken_welfare_is_not_certified_over_the_pure_subset() -> None:
    """Chicken with ``["pure_nash", "welfare_nash"]``: utilitarian 9 / egalitarian 2 are the
    maxima over the pure equilibria only; over all equilibria they are 28/3 and 14/3, so a
    certified answer must say so."""
    game = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    result = solve(game, ["pure_nash", "welfare_nash"], welfare=WELFARE)
    truth = {"utilitarian": Fraction(28, 3), "egalitarian": Fraction(14, 3)}
    assert {o.function for o in result.welfare_optima} == set(truth)
    for optimum in result.welfare_optima:
        if optimum.certified:
            assert abs(optimum.value - float(truth[optimum.function])) <= 1e-9, (
                f"{optimum.function}: {optimum.value} certified, the maximum over all equilibria is "
                f"{truth[optimum.function]}"
            )


def test_issue17_tiny_general_sum_game_is_not_constant_sum() -> None:
    """A general-sum game x 1e-10 is not constant-sum: zero_sum_value and zero_sum_lp refuse it."""
    payoffs = np.stack([np.array(NO_PURE_A), np.array(NO_PURE_B)]).astype(np.float64) * 1e-10
    game = NormalFormGame(payoffs)
    assert not game.is_zero_sum()
    with pytest.raises(UnsupportedError):
        solve(game, ["zero_sum_value"])
    with pytest.raises(UnsupportedError):
        solve(game, method="zero_sum_lp")


def test_issue17_n_player_pure_equilibria_with_players_scaled_apart() -> None:
    """A 3-player integer game with the players' payoffs x (1e-6, 1, 1e6), and the whole game
    x 1e-10: the pure equilibria are brute force's, none spurious."""
    payoffs = mm.n_player_game(1)
    for factors in ((1e-6, 1.0, 1e6), (1e-10, 1e-10, 1e-10)):
        scaled = payoffs * np.array(factors)[:, None, None, None]
        result = solve(NormalFormGame(scaled), ["pure_nash"])
        problems = mm.pure_violations(mm.unit_scale(scaled), result.equilibria, f"x{factors}")
        assert not problems, _report(problems)


def test_issue17_stochastic_zero_sum_values_at_reward_scale_1e_minus_10() -> None:
    """Zero-sum stochastic values at reward scale 1e-10 are 1e-10 times the unscaled ones."""
    spec = mm.stochastic_game(1, zero_sum=True)
    tiny = mm.StochasticSpec(spec.rewards * 1e-10, spec.transitions, spec.discount)
    values = [
        solve_stochastic(
            StochasticGame(s.rewards, s.transitions, discount=s.discount), ["zero_sum_value"]
        ).zero_sum
        for s in (spec, tiny)
    ]
    assert values[0] is not None and values[1] is not None
    scale = float(np.ptp(spec.rewards[:, 0])) * spec.value_horizon
    np.testing.assert_allclose(values[1].values * 1e10, values[0].values, rtol=0, atol=mm.VALUE_REL * scale)


def test_issue17_general_sum_stochastic_at_reward_scale_1e_minus_8() -> None:
    """General-sum stationary equilibria at reward scale 1e-8 certify in each player's own scale."""
    spec = mm.stochastic_game(0, zero_sum=False)
    tiny = mm.StochasticSpec(spec.rewards * 1e-8, spec.transitions, spec.discount)
    result = solve_markov_in_process(tiny, ("nash",))
    problems = mm.markov_answer_violations(tiny, result, "x1e-8")
    assert not problems, _report(problems)
