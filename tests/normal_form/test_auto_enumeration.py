"""``solve``'s automatic choice for 2-player games: enumerate whenever the estimate fits.

* Up to ``MAX_BASES`` worst-case bases (13 x 12) the game is enumerated; past it the
  time estimate (:func:`enumeration_seconds`) decides against the budget: ``time_limit``
  or, without one, ``AUTO_ENUMERATION_SECONDS``. A 13 x 13 or 14 x 14 game, refused
  before, is now enumerated completely; a 20 x 20 one gets Lemke-Howson unless the budget
  allows about two minutes.
* An enumeration that runs out of budget returns the certified equilibria it reached,
  incomplete; when it reached none, Lemke-Howson adds one.
* ``time_limit`` is checked at the front door.
"""

from __future__ import annotations

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.errors import InvalidOptionError
from equilibria.solver.normal_form import nash
from equilibria.solver.normal_form import vertex_enumeration as ve
from equilibria.solver.regret import certify


def _integer_game(n: int, seed: int) -> NormalFormGame:
    rng = np.random.default_rng(seed)
    return NormalFormGame.from_bimatrix(
        rng.integers(0, 100, (n, n)) * 1.0, rng.integers(0, 100, (n, n)) * 1.0
    )


@pytest.mark.parametrize("n", [13, 14])
def test_a_game_past_the_worst_case_limit_is_enumerated_when_the_estimate_fits(n: int) -> None:
    game = _integer_game(n, 0)
    assert (
        ve.count_bases(n, n) > ve.MAX_BASES and ve.enumeration_seconds(n, n) < nash.AUTO_ENUMERATION_SECONDS
    )
    result = solve(game)
    assert result.method == "vertex_enumeration" and result.complete
    assert result.method_reason.startswith(f"2-player {n}x{n} game: enumeration estimated at ")
    stop = nash.AUTO_STOP_FACTOR * nash.AUTO_ENUMERATION_SECONDS  # no time limit: the stop is further
    assert f"within the 10 s budget (stopped at {stop:g} s if it runs over)" in result.method_reason
    explicit = ve.vertex_enumeration(game)
    assert len(result.equilibria) == len(explicit.equilibria) > 0


@pytest.mark.parametrize(
    ("time_limit", "method"),
    [(None, "lemke_howson"), (1.0, "lemke_howson"), (200.0, "vertex_enumeration")],
)
def test_the_choice_follows_the_estimate_against_the_budget(time_limit: float | None, method: str) -> None:
    game = _integer_game(20, 0).unit_game
    estimate = ve.enumeration_seconds(20, 20)
    assert nash.AUTO_ENUMERATION_SECONDS < estimate < 200.0
    name, reason = nash._auto(game, ("nash",), 1e-9, time_limit)
    assert name == method
    budget = nash.AUTO_ENUMERATION_SECONDS if time_limit is None else time_limit
    assert f"enumeration estimated at {estimate:.2g} s" in reason and f"the {budget:g} s budget" in reason
    assert (f"(stopped at {budget:g} s if it runs over)" in reason) == (method == "vertex_enumeration")


def test_a_constant_sum_game_over_the_budget_is_solved_by_linear_programming() -> None:
    a = np.random.default_rng(5).standard_normal((20, 20))
    name, reason = nash._auto(NormalFormGame.from_bimatrix(a).unit_game, ("nash",), 1e-9, None)
    assert name == "zero_sum_lp" and "over the 10 s budget; linear programming" in reason


def test_an_enumeration_that_found_nothing_in_its_budget_adds_lemke_howsons_equilibrium(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search stopped at its first basis (the origin, no vertex): no equilibrium; one
    from Lemke-Howson is added, certified, and the set stays incomplete, saying why."""
    real = ve.vertex_enumeration
    monkeypatch.setattr(nash, "vertex_enumeration", lambda game, **kw: real(game, **kw, max_visited=1))
    game = _integer_game(8, 3)
    result = solve(game, method="vertex_enumeration")
    assert result.method == "vertex_enumeration+lemke_howson" and not result.complete
    (eq,) = result.equilibria
    assert game.within_tolerance(certify(game, eq.strategies).regrets, 1e-9)
    assert result.warnings[0].startswith("stopped by max_visited=1 after visiting 1 bases")
    assert result.method_reason.startswith("requested by the caller; enumeration visited 1 of the at most ")
    assert ", no equilibrium found; then dropped label " in result.method_reason


def test_a_time_limit_reaches_the_enumeration() -> None:
    """A spent budget stops the search after its first chunk of bases: incomplete."""
    game = _integer_game(12, 0)
    result = solve(game, time_limit=1e-9)
    assert result.method == "vertex_enumeration" and not result.complete
    assert result.warnings[0].startswith("stopped by time_limit=1e-09 s after visiting 4,096 bases")


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_a_time_limit_must_be_a_positive_number_of_seconds(bad: object) -> None:
    with pytest.raises(InvalidOptionError) as info:
        solve(_integer_game(3, 0), time_limit=bad)  # type: ignore[arg-type]
    assert info.value.field == "time_limit" and info.value.message.startswith("solve(): time_limit must be")


@pytest.mark.parametrize(("n", "enumerates"), [(12, True), (13, True), (14, False)])
def test_welfare_enumerates_while_the_estimate_beats_the_milp(n: int, enumerates: bool) -> None:
    from equilibria.solver import solve_game
    from equilibria.solver.concepts.welfare_milp import welfare_milp

    assert (ve.enumeration_seconds(n, n) <= solve_game.WELFARE_ENUMERATION_SECONDS) is enumerates
    game = _integer_game(n, 3)
    result = solve(game, ["welfare_nash"])
    (optimum,) = result.welfare_optima
    assert optimum.certified
    if enumerates:  # the maximum over every equilibrium, enumerated
        assert result.method == "vertex_enumeration" and result.complete and optimum.method != "milp"
    else:
        assert result.method == "welfare_milp" and optimum.method == "milp"
    _, milp = welfare_milp(game)  # the independent route to the same maximum
    assert optimum.value == pytest.approx(milp.value, rel=1e-9, abs=1e-9 * float(np.ptp(game.payoffs)))
