"""What every solution set reports about itself besides its equilibria (issue 23).

* ``elapsed_seconds`` is the time the call took: never negative and never more than the
  wall time measured around the call, for every normal-form method (through :func:`solve`
  and each module's own front door) and for the stochastic solvers.
* ``pure_enumeration``'s options: its default tolerance (1e-9 of each player's payoff range)
  counts a 1e-12 difference as a tie and a 1e-6 one as none; its default keeps every
  equilibrium; a negative ``max_equilibria`` is refused; a truncated set says so in its
  warnings, a complete one has none.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from equilibria.solver import METHODS, NormalFormGame, solve
from equilibria.solver.errors import InvalidOptionError
from equilibria.solver.normal_form.nplayer import gambit_equilibria
from equilibria.solver.normal_form.pure import pure_enumeration, pure_equilibria
from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration
from equilibria.solver.stochastic.backward import backward_induction_set
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.solve import STOCHASTIC_METHODS, solve_stochastic

from .games import team_chain

BATTLE = NormalFormGame.from_bimatrix([[3, 0], [0, 2]], [[2, 0], [0, 3]])
#: Zero-sum with a saddle point: every method (``zero_sum_lp`` too) answers it.
SADDLE = NormalFormGame.from_bimatrix([[1, 2], [0, -1]], [[-1, -2], [0, 1]])


def timed(call):
    """The call's result and the wall time measured around it."""
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def assert_elapsed_within(result, wall: float) -> None:
    assert 0.0 <= result.elapsed_seconds <= wall, (result.elapsed_seconds, wall)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_elapsed_seconds_of_every_normal_form_method_is_the_calls_time(method: str) -> None:
    result, wall = timed(lambda: solve(SADDLE, method=method))
    assert result.equilibria
    assert_elapsed_within(result, wall)


@pytest.mark.parametrize(
    "call",
    [
        lambda: pure_enumeration(BATTLE),
        lambda: vertex_enumeration(BATTLE),
        lambda: gambit_equilibria(BATTLE),
    ],
    ids=["pure_enumeration", "vertex_enumeration", "gambit_equilibria"],
)
def test_elapsed_seconds_of_each_front_door_is_the_calls_time(call) -> None:
    result, wall = timed(call)
    assert result.equilibria
    assert_elapsed_within(result, wall)


@pytest.mark.parametrize("method", ["auto", *sorted(STOCHASTIC_METHODS)])
def test_elapsed_seconds_of_stochastic_solves_is_the_calls_time(method: str) -> None:
    game = team_chain(0.9, horizon=3 if method == "backward_induction" else None)
    spec = STOCHASTIC_METHODS.get(method)
    if spec is not None and spec.zero_sum:  # the zero-sum methods: a zero-sum game of the same shape
        payoff = game.rewards[:, 0]
        game = StochasticGame(
            np.stack([payoff, -payoff], axis=1),
            game.transitions,
            discount=0.9,
            horizon=game.horizon,
            action_counts=[[2, 2], [1, 1]],
        )
    result, wall = timed(lambda: solve_stochastic(game, method=method))
    assert result.equilibria
    assert_elapsed_within(result, wall)


def test_elapsed_seconds_of_backward_induction_is_the_calls_time() -> None:
    result, wall = timed(lambda: backward_induction_set(team_chain(1.0, horizon=4)))
    assert result.equilibria
    assert_elapsed_within(result, wall)


def test_pure_default_tolerance_is_a_billionth_of_the_payoff_range() -> None:
    """Row 1 is 1e-12 (of a range of 1) short of row 0: a tie at 1e-9, two equilibria."""
    near_tie = NormalFormGame.from_bimatrix([[1.0, 0.0], [1.0 - 1e-12, 0.0]], [[1.0, 0.0], [1.0, 0.0]])
    assert pure_equilibria(near_tie).tolist() == [[0, 0], [1, 0]]
    assert [eq.strategies[0].tolist() for eq in pure_enumeration(near_tie).equilibria] == [
        [1.0, 0.0],
        [0.0, 1.0],
    ]
    no_tie = NormalFormGame.from_bimatrix([[1.0, 0.0], [1.0 - 1e-6, 0.0]], [[1.0, 0.0], [1.0, 0.0]])
    assert pure_equilibria(no_tie).tolist() == [[0, 0]]


def test_pure_enumeration_keeps_every_equilibrium_by_default() -> None:
    eye = np.eye(4)
    result = pure_enumeration(NormalFormGame.from_bimatrix(eye, eye))
    assert len(result.equilibria) == 4
    assert result.complete
    assert result.warnings == ()


@pytest.mark.parametrize("bad", [-1, -2])
def test_pure_enumeration_refuses_a_negative_max_equilibria(bad: int) -> None:
    with pytest.raises(InvalidOptionError) as info:
        pure_enumeration(BATTLE, max_equilibria=bad)
    assert info.value.field == "max_equilibria"


def test_a_truncated_pure_enumeration_says_so() -> None:
    eye = np.eye(3)
    result = pure_enumeration(NormalFormGame.from_bimatrix(eye, eye), max_equilibria=2)
    assert not result.complete
    assert result.warnings == ("truncated to max_equilibria=2",)
