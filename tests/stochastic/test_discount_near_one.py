"""Known values with the discount near 1, for every stochastic method (issue 23, item 3).

Every method of ``STOCHASTIC_METHODS`` runs through ``solve_stochastic`` at discounts
0.9 (the control), 0.99 and 0.999; backward induction and the team method's
finite-horizon branch run at horizons 10, 100 and 1000 instead. The public homotopies
(``qre_homotopy``, ``tracing_homotopy``) and ``stochastic_maximin_values`` are run
directly. The values are worked out here, in closed form or by a dense numpy solve of
``(I - gamma P_pi) V = r_pi`` for the known optimal profile, never by the code under test:

* zero-sum (``shapley``, ``hoffman_karp``): a repeated 2 x 2 game without a saddle
  point (``V = v / (1 - gamma)``), a chain that leaves a mixed state for an absorbing
  saddle-point state at rate 1/10 whatever is played, and an absorption race whose
  transitions depend on the actions (the value solves a quadratic);
* team (``team_policy_iteration``): a team that either takes 1 per stage or gives up
  one stage to earn ``1 + DELTA`` per stage for ever; it invests exactly when
  ``gamma (1 + DELTA) > 1`` (only at 0.999), or with ``n`` stages to go when
  ``n > (1 + DELTA) / DELTA`` (only at T = 1000);
* general-sum (``homotopy``): two states with action-independent transitions and a
  strictly dominant action for each player in each state, so the unique stationary
  equilibrium is known; one-state games for the homotopies themselves (the prisoner's
  dilemma, ``V = 1 / (1 - gamma)``, and a 2 x 2 bimatrix game with a unique mixed
  equilibrium found by indifference);
* backward induction: the team game above and the mixed bimatrix game played T times.

Tolerances. Solvers are asked for ``TOL`` = 3e-8 of the value scale ``L`` (largest
reward range over ``1 - gamma``, or times ``T``); values must match to ``REL`` = 1e-6 of
``L``. A stopping rule that loses its ``1 / (1 - gamma)`` factor lets the error grow to
``TOL / (1 - gamma)``: 3e-7 L at 0.9 (within ``REL``), 3e-6 L at 0.99 and 3e-5 L at
0.999 (caught). The zero-sum methods' reported ``error_bound`` must also bound their true
error (which such a rule breaks at 0.9 too). Each returned profile's ``certify_markov``
state gap must be at most ``TOL * L``, the threshold above which ``solve_stochastic``
itself warns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from equilibria.solver import StochasticGame, solve_stochastic
from equilibria.solver.results import MarkovEquilibrium
from equilibria.solver.stochastic.homotopy import HomotopyResult, qre_homotopy, tracing_homotopy
from equilibria.solver.stochastic.regret import certify_markov
from equilibria.solver.stochastic.solve import STOCHASTIC_METHODS, stochastic_maximin_values
from equilibria.solver.stochastic.zero_sum import shapley_iteration
from numpy.typing import ArrayLike

TOL = 3e-8
REL = 1e-6
DISCOUNTS = [pytest.param(0.9, id="g0.9"), pytest.param(0.99, id="g0.99"), pytest.param(0.999, id="g0.999")]
HORIZONS = [pytest.param(10, id="T10"), pytest.param(100, id="T100"), pytest.param(1000, id="T1000")]

# A 2 x 2 zero-sum stage game without a saddle point: value 1/5, x = y = (2/5, 3/5).
PENNIES = np.array([[2.0, -1.0], [-1.0, 1.0]])
# A saddle point at (row 0, column 1): value 1.
SADDLE = np.array([[3.0, 1.0], [0.0, -2.0]])
PD = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
# Unique equilibrium, mixed: x = (1/4, 3/4) makes the column player indifferent
# (1 - 2x = 2x), y = (2/5, 3/5) the row player (3y - 1 = 1 - 2y); payoffs (1/5, 1/2).
MIXED = np.array([[[2.0, -1.0], [-1.0, 1.0]], [[-1.0, 2.0], [1.0, 0.0]]])
MIXED_POLICIES = (np.array([[0.25, 0.75]]), np.array([[0.4, 0.6]]))
MIXED_PAYOFFS = np.array([0.2, 0.5])
# The team's premium for investing: not (1 + DELTA) / DELTA integral, so no stage ties.
DELTA = 0.003


# --------------------------------------------------------------------------- oracles


def matrix_2x2(a: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Value and optimal strategies of a 2 x 2 zero-sum game without a saddle point.

    With ``d = a00 + a11 - a01 - a10``: ``x0 = (a11 - a10) / d``, ``y0 = (a11 - a01) / d``,
    ``v = (a00 a11 - a01 a10) / d``; both in (0, 1) exactly when there is no saddle point.
    """
    (p, q), (r, s) = a
    d = p + s - q - r
    x0, y0 = (s - r) / d, (s - q) / d
    assert 0.0 < x0 < 1.0 and 0.0 < y0 < 1.0, "the oracle's game has a saddle point"
    return (p * s - q * r) / d, np.array([x0, 1.0 - x0]), np.array([y0, 1.0 - y0])


def policy_values(
    rewards: np.ndarray, transitions: np.ndarray, discount: float, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``V (S, 2)`` of a stationary 2-player profile: ``(I - gamma P_pi) V = r_pi``, dense numpy."""
    r_pi = np.einsum("sa,snab,sb->sn", x, rewards, y)
    p_pi = np.einsum("sa,sabt,sb->st", x, transitions, y)
    return np.linalg.solve(np.eye(len(x)) - discount * p_pi, r_pi)


def repeated(stage: np.ndarray, **kwargs: float) -> tuple[np.ndarray, np.ndarray, StochasticGame]:
    """A one-state game whose every joint action loops back."""
    rewards, transitions = stage[None], np.ones((1, *stage.shape[1:], 1))
    return rewards, transitions, StochasticGame(rewards, transitions, **kwargs)


def scale(rewards: np.ndarray, steps: float) -> float:
    """Value scale: the largest reward range of a player times the effective horizon."""
    return max(float(np.ptp(rewards[:, i])) for i in range(rewards.shape[1])) * steps


@dataclasses.dataclass(frozen=True)
class ZeroSumCase:
    """A zero-sum game, its values to player 0 and an optimal stationary profile."""

    rewards: np.ndarray  # (S, 2, 2, 2)
    transitions: np.ndarray  # (S, 2, 2, S)
    values: np.ndarray  # (S,)
    x: np.ndarray
    y: np.ndarray


def zero_sum_case(
    r0: np.ndarray, transitions: np.ndarray, values: np.ndarray, x: ArrayLike, y: ArrayLike, g: float
) -> ZeroSumCase:
    rewards = np.stack([r0, -r0], axis=1)
    # The closed form is the value of the profile claimed optimal (the oracle agrees with itself).
    np.testing.assert_allclose(
        policy_values(rewards, transitions, g, np.array(x), np.array(y))[:, 0], values, rtol=1e-12
    )
    return ZeroSumCase(rewards, transitions, values, np.array(x), np.array(y))


def repeated_pennies(g: float) -> ZeroSumCase:
    """One state: ``V = v / (1 - gamma)``."""
    v, x, y = matrix_2x2(PENNIES)
    return zero_sum_case(PENNIES[None], np.ones((1, 2, 2, 1)), np.array([v / (1.0 - g)]), [x], [y], g)


def leaving_chain(g: float) -> ZeroSumCase:
    """State 0 plays PENNIES and moves to state 1 with probability 1/10 whatever is played;
    state 1 (SADDLE) is absorbing. The actions do not move the state, so the optimal
    stationary strategies are the stage games' and ``V = (I - gamma P)^-1 v``."""
    v0, x0, y0 = matrix_2x2(PENNIES)
    v1 = float(SADDLE.min(axis=1).max())
    assert v1 == float(SADDLE.max(axis=0).min())  # a saddle point: maximin = minimax
    p = np.array([[0.9, 0.1], [0.0, 1.0]])
    values = np.linalg.solve(np.eye(2) - g * p, [v0, v1])
    transitions = np.broadcast_to(p[:, None, None, :], (2, 2, 2, 2)).copy()
    x, y = [x0, [1.0, 0.0]], [y0, [0.0, 1.0]]
    return zero_sum_case(np.stack([PENNIES, SADDLE]), transitions, values, x, y, g)


def absorption_race(g: float, high: float = 4.0, low: float = 2.0) -> ZeroSumCase:
    """State 0 pays nothing; matching on action 0 ends in state 1 (``high`` per stage to
    player 0), matching on action 1 in state 2 (``low``); mismatching stays in state 0.

    With ``V1 = high / (1 - g)`` and ``V2 = low / (1 - g)``, state 0's stage game is
    ``[[g V1, g V0], [g V0, g V2]]``; without a saddle point (``V0 < V2``) its value is
    ``g (V1 V2 - V0^2) / (V1 + V2 - 2 V0)``, so ``V0`` is a root of
    ``(g - 2) V0^2 + (V1 + V2) V0 - g V1 V2 = 0``: the smaller one (the larger exceeds ``V2``).
    """
    v1, v2 = high / (1.0 - g), low / (1.0 - g)
    a, b, c = g - 2.0, v1 + v2, -g * v1 * v2
    v0 = (-b + np.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)  # a < 0: this is the smaller root
    value, x0, y0 = matrix_2x2(g * np.array([[v1, v0], [v0, v2]]))
    np.testing.assert_allclose(value, v0, rtol=1e-12)  # the fixed point of the stage value
    r0 = np.zeros((3, 2, 2))
    r0[1], r0[2] = high, low
    p = np.zeros((3, 2, 2, 3))
    p[0, 0, 0, 1] = p[0, 1, 1, 2] = p[0, 0, 1, 0] = p[0, 1, 0, 0] = 1.0
    p[1, ..., 1] = p[2, ..., 2] = 1.0
    one = [1.0, 0.0]
    return zero_sum_case(r0, p, np.array([v0, v1, v2]), [x0, one, one], [y0, one, one], g)


def assert_certified(game: StochasticGame, eq: MarkovEquilibrium, limit: float) -> np.ndarray:
    """``certify_markov`` of the returned policies: gap within ``limit``; returns its values."""
    cert = certify_markov(game, eq.policies)
    assert cert.max_state_gap <= limit, f"state gap {cert.max_state_gap:.3g} > {limit:.3g}"
    return cert.values


# --------------------------------------------------------------------------- zero-sum

ZERO_SUM_METHODS = [name for name, spec in STOCHASTIC_METHODS.items() if spec.zero_sum]
ZERO_SUM_GAMES: dict[str, Callable[[float], ZeroSumCase]] = {
    "repeated-pennies": repeated_pennies,
    "leaving-chain": leaving_chain,
    "absorption-race": absorption_race,
}
# Shapley iteration contracts by gamma per sweep: at 0.999 it needs ~15,000 sweeps
# (6-10 s) per game, so only the one-state game runs there; Hoffman-Karp runs everywhere.
ZERO_SUM_CASES = [
    pytest.param(method, name, g, id=f"{method}-{name}-g{g}")
    for method in ZERO_SUM_METHODS
    for name in ZERO_SUM_GAMES
    for g in (0.9, 0.99, 0.999)
    if not (method == "shapley" and g == 0.999 and name != "repeated-pennies")
]


@pytest.mark.parametrize(("method", "name", "g"), ZERO_SUM_CASES)
def test_zero_sum_values_near_one(method: str, name: str, g: float) -> None:
    case = ZERO_SUM_GAMES[name](g)
    game = StochasticGame(case.rewards, case.transitions, discount=g)
    big = scale(case.rewards, 1.0 / (1.0 - g))
    result = solve_stochastic(game, ["nash", "zero_sum_value"], method=method, tol=TOL)
    assert result.method == method and result.warnings == ()
    zs = result.zero_sum
    error = float(np.abs(zs.values - case.values).max())
    assert error <= REL * big, f"values off by {error / big:.3g} of the value scale"
    # The reported bound is a true bound, and within the request.
    assert error <= zs.error_bound + 1e-12 * big
    assert zs.error_bound <= TOL * big
    (eq,) = result.equilibria
    expected = np.stack([case.values, -case.values], axis=1)
    np.testing.assert_allclose(assert_certified(game, eq, TOL * big), expected, rtol=0.0, atol=REL * big)
    np.testing.assert_allclose(eq.values, expected, rtol=0.0, atol=REL * big)
    for got, want in zip(eq.policies, (case.x, case.y), strict=True):
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-6)


def test_shapley_iteration_below_round_off_stops_at_its_noise_floor() -> None:
    """A tolerance no float iteration can reach: Shapley iteration stops once a sweep changes
    the values by no more than their round-off, ``64 eps`` of the value scale ``1 / (1 -
    gamma)`` (the game's rewards span [0, 1]), not after ``max_iterations`` sweeps, and its
    bound stays a true one. In one state ``V_{k+1} - V* = gamma (V_k - V*)`` exactly, from
    ``V_0 = 1 / (2 (1 - gamma))``, so sweep ``k`` changes the values by ``gamma^(k-1) |1/2 -
    v|``: the floor is reached at sweep ``sweeps`` below. A floor without its ``1 / (1 -
    gamma)`` (the noise of a value of size 1, not of ``1 / (1 - gamma)``) is below the
    values' own rounding at 0.99: the iteration then runs ~34 sweeps more, until a sweep
    changes nothing at all."""
    g, value = 0.99, 1.0 / 3.0
    a = np.array([[1.0, 0.0], [0.0, 0.5]])  # value 1/3: x = (1/3, 2/3), y = (1/3, 2/3)
    game = StochasticGame(np.stack([a, 1.0 - a])[None], np.ones((1, 2, 2, 1)), discount=g)
    floor = 64.0 * np.finfo(float).eps / (1.0 - g)
    sweeps = 1.0 + np.log(floor / abs(0.5 - value)) / np.log(g)  # 2,537.0
    result = shapley_iteration(game, tol=1e-300, max_iterations=100_000)
    assert abs(result.iterations - sweeps) <= 10, (result.iterations, sweeps)
    error = abs(float(result.values[0]) - value / (1.0 - g))
    assert error <= result.error_bound
    assert result.error_bound <= 1e-9 / (1.0 - g)


@pytest.mark.parametrize("g", [pytest.param(0.9, id="g0.9"), pytest.param(0.99, id="g0.99")])
def test_maximin_values_near_one(g: float) -> None:
    """Each player's security value: the value of its zero-sum game against the other.
    In MIXED both are the equilibrium payoffs (1/5 by PENNIES' formula; 1/2 for the
    column player, whose game is B^T = [[-1, 1], [2, 0]]). At 0.999 the value iteration
    needs ~15,000 sweeps per player, too slow here."""
    rewards, _, game = repeated(MIXED, discount=g)
    v1, _, _ = matrix_2x2(MIXED[1].T)
    np.testing.assert_allclose([matrix_2x2(MIXED[0])[0], v1], MIXED_PAYOFFS, rtol=1e-12)
    got = stochastic_maximin_values(game, tol=TOL)
    big = scale(rewards, 1.0 / (1.0 - g))
    np.testing.assert_allclose(got, MIXED_PAYOFFS / (1.0 - g), rtol=0.0, atol=REL * big)


# --------------------------------------------------------------------------- team


def patience(discount: float, horizon: int | None = None) -> tuple[np.ndarray, StochasticGame]:
    """State 0: both wait (1 each, stay), both invest (0, go to state 1), mismatch (0, stay).
    State 1: one action each, ``1 + DELTA`` per stage for ever."""
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0, :, 0, 0] = 1.0
    rewards[1] = 1.0 + DELTA
    transitions = np.zeros((2, 2, 2, 2))
    transitions[0, ..., 0] = 1.0
    transitions[0, 1, 1] = [0.0, 1.0]
    transitions[1, ..., 1] = 1.0
    game = StochasticGame(
        rewards, transitions, discount=discount, horizon=horizon, action_counts=[[2, 2], [1, 1]]
    )
    return rewards, game


@pytest.mark.parametrize("g", DISCOUNTS)
def test_team_invests_only_when_patient_enough(g: float) -> None:
    """Waiting is worth ``1 / (1 - g)``, investing ``g (1 + DELTA) / (1 - g)``: the team
    invests at 0.999 only (``1 / (1 + DELTA) = 0.99701``)."""
    rewards, game = patience(g)
    invest = g * (1.0 + DELTA) > 1.0
    assert invest == (g == 0.999)
    expected = np.array([max(1.0, g * (1.0 + DELTA)), 1.0 + DELTA]) / (1.0 - g)
    big = scale(rewards, 1.0 / (1.0 - g))
    result = solve_stochastic(game, method="team_policy_iteration", tol=TOL)
    (eq,) = result.equilibria
    for policy in eq.policies:
        np.testing.assert_array_equal(policy, [np.eye(2)[int(invest)], [1.0, 0.0]])
    values = assert_certified(game, eq, TOL * big)
    np.testing.assert_allclose(values, np.stack([expected, expected], axis=1), rtol=0.0, atol=REL * big)
    np.testing.assert_allclose(eq.values, values, rtol=0.0, atol=REL * big)


def patience_horizon_values(horizon: int) -> np.ndarray:
    """With ``n`` stages to go, state 1 is worth ``(1 + DELTA) n``; in state 0 waiting for
    ever gives ``n``, and investing now ``(1 + DELTA)(n - 1)``, which wins exactly when
    ``n > (1 + DELTA) / DELTA`` (334.3); once it wins it keeps winning (by DELTA per
    extra stage), so ``V_n(0) = n`` up to 334 stages and ``(1 + DELTA)(n - 1)`` beyond."""
    n = horizon
    v0 = float(n) if n <= (1.0 + DELTA) / DELTA else (1.0 + DELTA) * (n - 1)
    return np.array([v0, (1.0 + DELTA) * n])


@pytest.mark.parametrize("method", ["team_policy_iteration", "backward_induction"])
@pytest.mark.parametrize("horizon", HORIZONS)
def test_team_long_horizon(method: str, horizon: int) -> None:
    rewards, game = patience(1.0, horizon)
    expected = patience_horizon_values(horizon)
    big = scale(rewards, float(horizon))
    result = solve_stochastic(game, method=method, tol=TOL)
    assert result.method == method
    (eq,) = result.equilibria
    first = eq.policies[0][0, 0]  # stage 0, state 0
    np.testing.assert_array_equal(first, np.eye(2)[int(horizon > (1.0 + DELTA) / DELTA)])
    values = assert_certified(game, eq, TOL * big)
    np.testing.assert_allclose(values, np.stack([expected, expected], axis=1), rtol=0.0, atol=REL * big)
    np.testing.assert_allclose(eq.values, values, rtol=0.0, atol=REL * big)


# --------------------------------------------------------------------------- backward induction


@pytest.mark.parametrize("horizon", HORIZONS)
def test_backward_induction_mixed_stage_game_long_horizon(horizon: int) -> None:
    """One state looping back: every stage game is MIXED plus a constant, whose unique
    equilibrium is MIXED's; the values are ``T`` times its payoffs."""
    rewards, _, game = repeated(MIXED, discount=1.0, horizon=horizon)
    big = scale(rewards, float(horizon))
    result = solve_stochastic(game, method="backward_induction", tol=TOL)
    assert result.complete  # every stage game has exactly one equilibrium
    (eq,) = result.equilibria
    for got, want in zip(eq.policies, MIXED_POLICIES, strict=True):
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=0.0, atol=1e-9)
    values = assert_certified(game, eq, TOL * big)
    np.testing.assert_allclose(values, [horizon * MIXED_PAYOFFS], rtol=0.0, atol=REL * big)
    np.testing.assert_allclose(eq.values, values, rtol=0.0, atol=REL * big)


# --------------------------------------------------------------------------- general-sum: homotopies


def dominant_two_states(g: float) -> tuple[np.ndarray, np.ndarray, StochasticGame]:
    """State 0 is PD (defect, action 1, strictly dominant); in state 1 the row player's
    action 1 and the column player's action 0 are strictly dominant. Transitions ignore
    the actions (0.7/0.3 from state 0, 0.2/0.8 from state 1), so every continuation is a
    constant per player and state: the dominant actions are the unique stationary
    equilibrium."""
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0] = PD
    rewards[1, 0] = [[2.0, 4.0], [3.0, 6.0]]
    rewards[1, 1] = [[1.0, 0.0], [5.0, 2.0]]
    p = np.array([[0.7, 0.3], [0.2, 0.8]])
    transitions = np.broadcast_to(p[:, None, None, :], (2, 2, 2, 2)).copy()
    return rewards, transitions, StochasticGame(rewards, transitions, discount=g)


DOMINANT_POLICIES = (np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))


@pytest.mark.parametrize("g", DISCOUNTS)
def test_homotopy_dominant_strategies_near_one(g: float) -> None:
    rewards, transitions, game = dominant_two_states(g)
    expected = policy_values(rewards, transitions, g, *DOMINANT_POLICIES)
    big = scale(rewards, 1.0 / (1.0 - g))
    result = solve_stochastic(game, method="homotopy", tol=TOL, priors=1)
    assert result.method == "homotopy" and result.warnings == ()
    (eq,) = result.equilibria  # unique
    assert {"qre", "tracing:uniform"} <= set(eq.found_by), eq.found_by
    for got, want in zip(eq.policies, DOMINANT_POLICIES, strict=True):
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-9)
    values = assert_certified(game, eq, TOL * big)
    np.testing.assert_allclose(values, expected, rtol=0.0, atol=REL * big)
    np.testing.assert_allclose(eq.values, expected, rtol=0.0, atol=REL * big)


HOMOTOPIES: dict[str, Callable[..., HomotopyResult]] = {"qre": qre_homotopy, "tracing": tracing_homotopy}
ONE_STATE_GAMES = {
    # Defection strictly dominant: 1 per stage each.
    "prisoners-dilemma": (PD, (np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])), np.array([1.0, 1.0])),
    "mixed": (MIXED, MIXED_POLICIES, MIXED_PAYOFFS),
}


@pytest.mark.parametrize("homotopy", list(HOMOTOPIES))
@pytest.mark.parametrize("name", list(ONE_STATE_GAMES))
@pytest.mark.parametrize("g", DISCOUNTS)
def test_homotopies_repeated_games_near_one(homotopy: str, name: str, g: float) -> None:
    """A repeated game's stationary equilibria are its stage game's: ``V = u / (1 - g)``."""
    stage, policies, payoffs = ONE_STATE_GAMES[name]
    rewards, _, game = repeated(stage, discount=g)
    big = scale(rewards, 1.0 / (1.0 - g))
    result = HOMOTOPIES[homotopy](game, tol=TOL)
    assert result.converged, result.reason
    for got, want in zip(result.policies, policies, strict=True):
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-9)
    cert = certify_markov(game, result.policies)
    assert cert.max_state_gap <= TOL * big
    np.testing.assert_allclose(cert.values, [payoffs / (1.0 - g)], rtol=0.0, atol=REL * big)


# --------------------------------------------------------------------------- coverage


def test_every_registered_method_has_known_values_near_one() -> None:
    """A method added to the registry must get cases here too."""
    covered = {*ZERO_SUM_METHODS, "team_policy_iteration", "backward_induction", "homotopy"}
    assert covered == set(STOCHASTIC_METHODS)
