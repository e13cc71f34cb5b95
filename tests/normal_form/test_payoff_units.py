"""Answers do not depend on the units of the payoffs, and every requested concept is answered
(issue 17, "Certificates that never lie").

Each class of defect the issue found, on games generated here with their own seeds: one
player's payoffs scaled by 1e-9, all payoffs scaled by 1e-10, per-player scales on
n-player games, tiny general-sum games taken for constant-sum, payoffs of 1e308 that
overflowed to an empty "complete" set, a requested ``pure_nash`` dropped next to
``nash``, and welfare certified over the pure equilibria only. The reference answer is
always the same game at unit scale, and every equilibrium is re-checked with the numpy
recomputation of :mod:`tests.certificates`, in each player's own units.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, SolutionSet, solve
from equilibria.solver.results import VacuousSetError

from tests import certificates as cert

SCALES = (1e-12, 1e-9, 1e-3, 1e3, 1e9, 1e12)


def _pure_profiles(result: SolutionSet) -> set[tuple[int, ...]]:
    return {tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria if eq.is_pure}


def _profiles(result: SolutionSet) -> list[tuple[float, ...]]:
    return sorted(tuple(np.round(np.concatenate(eq.strategies), 7)) for eq in result.equilibria)


def _assert_all_certify(payoffs: np.ndarray, result: SolutionSet, what: str) -> None:
    for k, eq in enumerate(result.equilibria):
        cert.assert_certifies(payoffs, eq, f"{what} #{k}")


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("scale", SCALES)
def test_one_players_units_change_no_pure_equilibrium(seed: int, scale: float) -> None:
    rng = np.random.default_rng([17, 1, seed])
    a, b = rng.integers(-4, 5, (2, 4, 4)).astype(np.float64)
    reference = solve(NormalFormGame.from_bimatrix(a, b), ["pure_nash"])
    for payoffs in (np.stack([a * scale, b]), np.stack([a, b * scale]), np.stack([a, b]) * scale):
        result = solve(NormalFormGame(payoffs), ["pure_nash"])
        assert _pure_profiles(result) == _pure_profiles(reference), (seed, scale)
        assert result.complete == reference.complete is True
        _assert_all_certify(payoffs, result, f"seed {seed} scale {scale}")


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("scale", (1e-10, 1e10))
def test_common_units_change_no_equilibrium_set(seed: int, scale: float) -> None:
    rng = np.random.default_rng([17, 2, seed])
    payoffs = rng.integers(-3, 4, (2, 5, 4)).astype(np.float64)
    reference = solve(NormalFormGame(payoffs), ["nash", "pure_nash"])
    result = solve(NormalFormGame(payoffs * scale), ["nash", "pure_nash"])
    assert _profiles(result) == _profiles(reference)
    assert result.complete == reference.complete
    _assert_all_certify(payoffs * scale, result, f"seed {seed}")


@pytest.mark.parametrize(("players", "seed"), [(3, s) for s in range(6)] + [(4, s) for s in range(2)])
def test_n_player_per_player_scales_add_no_equilibrium(players: int, seed: int) -> None:
    rng = np.random.default_rng([17, 3, seed, players])
    payoffs = rng.integers(-3, 4, (players,) + (2,) * players).astype(np.float64)
    reference = solve(NormalFormGame(payoffs), ["pure_nash"])
    shape = (players,) + (1,) * players
    for scales in (np.full(players, 1e-10), np.array([1e-6, 1.0, 1e6, 1e-3][:players])):
        scaled = payoffs * scales.reshape(shape)
        result = solve(NormalFormGame(scaled), ["pure_nash"])
        assert _pure_profiles(result) == _pure_profiles(reference), scales
        mixed = solve(NormalFormGame(scaled))
        assert mixed.equilibria, scales
        _assert_all_certify(scaled, mixed, f"{players}-player seed {seed}")


@pytest.mark.parametrize("seed", range(6))
def test_tiny_general_sum_game_is_not_taken_for_constant_sum(seed: int) -> None:
    rng = np.random.default_rng([17, 4, seed])
    payoffs = rng.standard_normal((2, 40, 40)) * 1e-10
    game = NormalFormGame(payoffs)
    assert not game.is_zero_sum()
    result = solve(game)
    assert result.method != "zero_sum_lp"
    assert result.equilibria
    _assert_all_certify(payoffs, result, f"seed {seed}")
    with pytest.raises(Exception, match="constant-sum"):
        solve(game, ["zero_sum_value"])


def test_strategically_zero_sum_game_is_solved_by_linear_programming() -> None:
    # u_1 = -1e6 u_0: not constant-sum, but the same equilibria as the zero-sum game.
    rng = np.random.default_rng([17, 5])
    a = rng.standard_normal((40, 40))
    game = NormalFormGame.from_bimatrix(a, -1e6 * a)
    result = solve(game)
    assert result.method == "zero_sum_lp"
    assert result.zero_sum is None  # no constant-sum value to report in the user's units
    _assert_all_certify(game.payoffs, result, "strategically zero-sum")


@pytest.mark.parametrize("big", (1e300, 1e308, -1e308))
def test_payoffs_near_the_largest_float(big: float) -> None:
    a = np.array([[big, -big], [-big, big]])
    result = solve(NormalFormGame.from_bimatrix(a, -a), ["nash", "pure_nash", "pareto_nash", "welfare_nash"])
    assert result.complete and len(result) == 1
    np.testing.assert_allclose(np.concatenate(result.equilibria[0].strategies), 0.5, atol=1e-12)
    assert result.equilibria[0].nash_conv == 0.0
    assert result.status_of("nash").status == "answered"  # type: ignore[union-attr]
    assert result.status_of("pure_nash").reason.startswith("all 0 pure")  # type: ignore[union-attr]


def test_an_empty_complete_nash_set_cannot_be_built() -> None:
    with pytest.raises(VacuousSetError, match="every finite game has one"):
        SolutionSet(game_id="g", equilibria=(), components=(), complete=True, method="m")
    # An empty complete set of *pure* equilibria is a true statement (matching pennies).
    empty_pure = SolutionSet(
        game_id="g", equilibria=(), components=(), complete=True, method="m", concepts=("pure_nash",)
    )
    assert len(empty_pure) == 0


@pytest.mark.parametrize("seed", range(3))
def test_nash_with_pure_nash_answers_every_pure_equilibrium(seed: int) -> None:
    rng = np.random.default_rng([17, 6, seed])
    # {0, 1} payoffs: very degenerate; at 24 x 24 enumeration is far over the budget by estimate.
    payoffs = rng.integers(0, 2, (2, 24, 24)).astype(np.float64)
    game = NormalFormGame(payoffs)
    alone = solve(game, ["pure_nash"])
    both = solve(game, ["nash", "pure_nash"])
    assert len(alone) > 1
    assert _pure_profiles(both) == _pure_profiles(alone)
    assert [c.concept for c in both.concept_status] == ["nash", "pure_nash"]
    nash, pure = both.concept_status
    assert (nash.status, pure.status) == ("partial", "answered")
    assert "24x24" in nash.reason and f"all {len(alone)} pure equilibria" in pure.reason
    assert not both.complete
    _assert_all_certify(payoffs, both, f"seed {seed}")


def test_welfare_is_certified_over_every_equilibrium_only() -> None:
    chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    result = solve(chicken, ["pure_nash", "welfare_nash"], welfare=["utilitarian", "egalitarian"])
    values = {w.function: (w.value, w.certified) for w in result.welfare_optima}
    assert values["utilitarian"][0] == pytest.approx(float(Fraction(28, 3)))
    assert values["egalitarian"][0] == pytest.approx(float(Fraction(14, 3)))
    assert values["utilitarian"][1] and values["egalitarian"][1]
    assert result.status_of("welfare_nash").status == "answered"  # type: ignore[union-attr]


def test_welfare_over_a_partial_set_is_not_certified() -> None:
    rng = np.random.default_rng([17, 7])
    game = NormalFormGame(rng.integers(0, 5, (3, 3, 3, 3)).astype(np.float64))
    result = solve(game, ["nash", "welfare_nash"])
    assert not result.complete
    assert not result.welfare_optima[0].certified
    status = result.status_of("welfare_nash")
    assert status is not None and status.status == "partial" and "not proved" in status.reason


def test_every_concept_gets_a_status_in_request_order() -> None:
    bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    wanted = ["selection", "correlated", "nash", "pareto_nash", "welfare_nash", "pure_nash"]
    result = solve(bos, wanted)
    assert [c.concept for c in result.concept_status] == wanted
    assert {c.status for c in result.concept_status} == {"answered"}
    pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
    value = solve(pennies, ["zero_sum_value"])
    assert value.status_of("zero_sum_value").status == "answered"  # type: ignore[union-attr]
    assert value.zero_sum is not None and value.zero_sum.value == pytest.approx(0.0, abs=1e-12)


def test_a_regret_equal_to_the_tolerance_is_within_it() -> None:
    # regret_tolerances(tol) is the *largest* regret of an equilibrium within tol: a
    # regret exactly at it is in, the next float above it is out.
    game = NormalFormGame.from_bimatrix([[0, 3], [1, 2]], [[5, 1], [2, 2]])
    tolerances = game.regret_tolerances(1e-6)
    assert game.within_tolerance(tolerances, 1e-6)
    for player in range(2):
        above = tolerances.copy()
        above[player] = np.nextafter(above[player], np.inf)
        assert not game.within_tolerance(above, 1e-6)


def test_the_remembered_tolerances_cannot_be_changed_by_a_caller() -> None:
    # Solvers ask regret_tolerances(tol) once per call and the game remembers the answer:
    # the array handed out is read-only, so no caller can loosen the next caller's check.
    game = NormalFormGame.from_bimatrix([[0, 3], [1, 2]], [[5, 1], [2, 2]])
    tolerances = game.regret_tolerances(1e-9)
    with pytest.raises(ValueError, match="read-only"):
        tolerances[0] = 1.0
    np.testing.assert_allclose(game.regret_tolerances(1e-9), [3e-9, 4e-9], rtol=1e-12)


def test_the_remembered_payoff_ranges_cannot_be_changed_by_a_caller() -> None:
    # player_scales is the unit of every regret tolerance, computed once per game: a caller
    # that wrote into it would move every later certificate's threshold.
    game = NormalFormGame.from_bimatrix([[0, 3], [1, 2]], [[5, 1], [2, 2]])
    with pytest.raises(ValueError, match="read-only"):
        game.player_scales[0] = 1e9
    np.testing.assert_array_equal(game.player_scales, [3.0, 4.0])
    np.testing.assert_allclose(game.regret_tolerances(1e-9), [3e-9, 4e-9], rtol=1e-12)


def test_the_tolerance_never_falls_below_the_round_off_of_the_payoffs() -> None:
    # max(tol * range, 1e-12 * max |u|): a player whose payoffs differ by far less than
    # their round-off at 1e6 (a range of about 1e-9), or not at all, still gets a positive
    # tolerance of 1e-12 of its largest payoff.
    game = NormalFormGame.from_bimatrix([[1e6, 1e6 + 1e-9]], [[7.0, 7.0]])
    np.testing.assert_allclose(game.regret_tolerances(1e-9), [1e-6, 7e-12], rtol=1e-9)


@pytest.mark.parametrize("span", [0.5, 3.0, 2e-7])
def test_payoff_scale_is_the_largest_range_whatever_its_size(span: float) -> None:
    game = NormalFormGame.from_bimatrix([[0.0, span]], [[0.0, span / 4]])
    assert game.payoff_scale == span
    assert NormalFormGame.from_bimatrix([[5.0, 5.0]], [[-2.0, -2.0]]).payoff_scale == 1.0  # all constant


def test_a_game_already_in_unit_payoffs_is_its_own_unit_game() -> None:
    unit = NormalFormGame.from_bimatrix([[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])
    assert unit.unit_game is unit
    scaled = NormalFormGame.from_bimatrix([[2.0, 0.0], [0.0, 2.0]], [[0.0, 1.0], [1.0, 0.0]])
    assert scaled.unit_game is not scaled
    assert scaled.unit_game.payoffs.tolist() == unit.payoffs.tolist()
