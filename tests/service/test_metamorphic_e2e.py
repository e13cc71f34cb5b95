"""Invariance as a law through a real server (issue 17): what the client returns obeys the
laws of tests/test_metamorphic.py.

A smaller sample than the in-process suite goes to the shared server (tests/conftest.py:
``equilibria serve`` on 127.0.0.1, port 0) with :class:`equilibria.client.Client`:

* seeded 2-player (general and constant-sum), 3-/4-player and stochastic games, each with
  the seven transforms of :mod:`tests.metamorphic` (per-player scales 10**U(-12, 12), scales
  1e-12 and 1e12, one common affine map, a shift of one player, relabelled actions and
  players, and all at once);
* payoffs at the edge of the float range: one player's payoffs times 5e307 (range past the
  largest float) and the other's times 1e-12, and the +-1e308 matching pennies of issue 17;
* the other public examples of issue 17 (pure equilibria of ``A * 1e-9, B``, ``["nash",
  "pure_nash"]`` on a 15 x 15 {0, 1} game, chicken's welfare over the pure subset).

Every answer is checked with the independent numpy certificate of :mod:`tests.metamorphic`
in each player's own scale; a violation lists every law the game breaks.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from equilibria.client import Client

from .. import metamorphic as mm

pytestmark = pytest.mark.e2e

WELFARE = ("utilitarian", "egalitarian")
TWO_PLAYER = ("nash", "pure_nash", "pareto_nash", "welfare_nash", "correlated", "coarse_correlated")
N_PLAYER = ("nash", "pure_nash", "pareto_nash", "welfare_nash", "correlated")
N_PLAYER_PURE = ("pure_nash", "pareto_nash", "correlated")
#: The game numbers of each family sent (the in-process suite sends many more).
BIMATRIX, ZERO_SUM, N_PLAYERS, MARKOV = (0, 1, 2, 3, 4, 6), (0, 1), (0, 1, 2), (0, 1)


def _normal_solver(client: Client) -> mm.NormalSolve:
    def run(payoffs: mm.FloatArray, concepts: tuple[str, ...]) -> Any:
        return client.solve(payoffs, concepts=concepts, welfare=WELFARE)

    return run


def _markov_solver(client: Client) -> mm.MarkovSolve:
    def run(spec: mm.StochasticSpec, concepts: tuple[str, ...]) -> Any:
        return client.solve_stochastic(
            spec.rewards, spec.transitions, discount=spec.discount, concepts=concepts, priors=2, seed=17
        )

    return run


def _report(problems: list[str]) -> str:
    shown = problems[:25]
    more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    return f"{len(problems)} violations:\n" + "\n".join(shown) + more


def _check(laws: Callable[[], list[str]]) -> None:
    problems = laws()
    assert not problems, _report(problems)


@pytest.mark.parametrize("k", BIMATRIX, ids=lambda k: f"bimatrix-{k}")
def test_two_player_answers_are_invariant_through_the_client(client: Client, k: int) -> None:
    payoffs = mm.bimatrix_game(k)
    _check(lambda: mm.normal_form_laws(payoffs, (17, 21, k), TWO_PLAYER, _normal_solver(client)))


@pytest.mark.parametrize("k", ZERO_SUM, ids=lambda k: f"zero-sum-{k}")
def test_constant_sum_answers_and_values_are_invariant_through_the_client(client: Client, k: int) -> None:
    payoffs = mm.zero_sum_bimatrix(k)
    _check(
        lambda: mm.normal_form_laws(payoffs, (17, 22, k), TWO_PLAYER, _normal_solver(client), zero_sum=True)
    )


@pytest.mark.parametrize("k", N_PLAYERS, ids=lambda k: f"n-player-{k}")
def test_n_player_answers_are_invariant_through_the_client(client: Client, k: int) -> None:
    payoffs = mm.n_player_game(k)
    concepts = N_PLAYER_PURE if mm.is_integer_game(payoffs) else N_PLAYER
    _check(lambda: mm.normal_form_laws(payoffs, (17, 23, k), concepts, _normal_solver(client)))


@pytest.mark.parametrize("zero_sum", [True, False], ids=["zero-sum", "general-sum"])
@pytest.mark.parametrize("k", MARKOV, ids=lambda k: f"markov-{k}")
def test_stochastic_answers_are_invariant_through_the_client(client: Client, k: int, zero_sum: bool) -> None:
    spec = mm.stochastic_game(k, zero_sum=zero_sum)
    _check(lambda: mm.markov_laws(spec, (17, 24, k, int(zero_sum)), _markov_solver(client), zero_sum))


# ------------------------------------------------------------------ the edge of the float range


def _huge_and_tiny(payoffs: mm.FloatArray) -> list[mm.Transform]:
    """Player 0 times 5e307 (its range passes the largest float), player 1 times 1e-12, and the
    same with the players swapped and the actions relabelled."""
    n = payoffs.shape[0]
    identity = tuple(np.arange(k, dtype=np.int64) for k in payoffs.shape[1:])
    reversed_actions = tuple(np.arange(k, dtype=np.int64)[::-1].copy() for k in payoffs.shape[1:])
    scales = np.array([5e307, 1e-12])
    return [
        mm.Transform("huge_and_tiny", scales, np.zeros(n), (0, 1), identity),
        mm.Transform("tiny_and_huge_swapped", scales[::-1].copy(), np.zeros(n), (1, 0), reversed_actions),
    ]


@pytest.mark.parametrize("k", (0, 1, 3), ids=lambda k: f"bimatrix-{k}")
def test_payoffs_near_the_largest_float_keep_the_answers(client: Client, k: int) -> None:
    """Integer games with one player's payoffs up to 1.5e308 (range 3e308) and the other's
    of size 1e-12: the same equilibria, certified, the same ``complete`` flag."""
    payoffs = mm.bimatrix_game(k)
    assert mm.is_integer_game(payoffs)
    solve = _normal_solver(client)
    _check(
        lambda: mm.normal_form_laws(
            payoffs, (17, 25, k), ("nash", "pure_nash"), solve, transforms=_huge_and_tiny(payoffs)
        )
    )


def test_issue17_matching_pennies_at_plus_minus_1e308_through_the_client(client: Client) -> None:
    """Issue 17's example: zero equilibria with ``complete=True`` before; the unique
    equilibrium (1/2, 1/2) twice now, complete and certified."""
    big = 1e308
    a, b = [[big, -big], [-big, big]], [[-big, big], [big, -big]]
    result = client.solve((a, b))
    payoffs = np.array([a, b])
    problems = mm.answer_violations(payoffs, result, "+-1e308")
    assert not problems, _report(problems)
    assert len(result.equilibria) == 1 and result.complete, (len(result.equilibria), result.complete)
    for s in result.equilibria[0].strategies:
        np.testing.assert_allclose(s, [0.5, 0.5], atol=1e-12)


# ------------------------------------------------------------------ issue 17's other examples


def test_issue17_pure_nash_of_row_player_scaled_by_1e_minus_9_through_the_client(client: Client) -> None:
    a = np.array([[2, 1, 3, -1], [3, 3, -1, -3], [0, 2, 0, 2], [2, 3, 0, 3]]) * 1e-9
    b = np.array([[2, 1, 0, 3], [0, 0, -1, 2], [-2, 1, 3, 0], [1, 0, 3, -3]], dtype=np.float64)
    payoffs = np.stack([a, b])
    result = client.solve((a, b), concepts=["pure_nash"])
    problems = mm.answer_violations(payoffs, result, "A*1e-9")
    assert not problems, _report(problems)


def test_issue17_nash_and_pure_nash_answers_both_through_the_client(client: Client) -> None:
    payoffs = np.random.default_rng([17, 15, 0]).integers(0, 2, (2, 15, 15)).astype(np.float64)
    truth = mm.pure_equilibria(mm.unit_scale(payoffs)).certain
    both = client.solve(payoffs, concepts=["nash", "pure_nash"])
    found = mm.pure_profiles(both.equilibria)
    assert truth <= found, f"{len(truth - found)} of {len(truth)} pure equilibria missing"
    problems = mm.answer_violations(payoffs, both, "nash+pure_nash")
    assert not problems, _report(problems)


def test_issue17_chicken_welfare_certified_means_over_all_equilibria_through_the_client(
    client: Client,
) -> None:
    result = client.solve(
        ([[6, 2], [7, 0]], [[6, 7], [2, 0]]), concepts=["pure_nash", "welfare_nash"], welfare=WELFARE
    )
    truth = {"utilitarian": Fraction(28, 3), "egalitarian": Fraction(14, 3)}
    assert {o.function for o in result.welfare_optima} == set(truth)
    for optimum in result.welfare_optima:
        assert not optimum.certified or abs(optimum.value - float(truth[optimum.function])) <= 1e-9, (
            f"{optimum.function}: {optimum.value} certified; the maximum over all equilibria is {truth[optimum.function]}"
        )
