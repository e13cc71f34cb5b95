"""Scale-free certificates for stochastic games (issue 17): the units of the rewards change nothing.

A positive affine map ``r_i -> a_i r_i + b_i`` of each player's rewards leaves every
stationary (and every finite-horizon Markov) equilibrium unchanged: every transition row
sums to 1, so every path collects one reward per stage and the shift adds ``b_i`` times the
same discounted sum to every one of player ``i``'s values. So on seeded random games
(zero-sum, team, finite-horizon general-sum, infinite-horizon general-sum), for common
scales 1e-12 ... 1e12, per-player scales (1e-6, 1e6), shifts and rewards of +-1e300:

* Shapley and Hoffman-Karp (directly and through ``solve_stochastic``), the team optimum,
  backward induction, the homotopy search and ``solve_stochastic(method="auto")`` return the
  unit-scale answer: the same number of equilibria, policies within 1e-6, zero-sum values
  and error bounds mapped by the affine map, the same ``complete`` flag and the same method;
* every returned equilibrium certifies in each player's own scale: its state gaps,
  recomputed here with numpy (exact policy evaluation, and best responses by enumerating
  every deterministic policy of the deviating player, or backward induction), are at most
  ``1e-6`` of that player's value range (reward range times the effective horizon) plus
  float round-off of the recomputation; and the answer's own values agree with numpy's;
* no set is empty and complete.

The two defects of the issue are regression tests: zero-sum values at reward scale 1e-10
(99 % wrong, ``complete=True``) and general-sum stationary equilibria at 1e-8 (state gaps of
several % of the reward range).
"""

from __future__ import annotations

import dataclasses
import itertools
import string
from collections.abc import Sequence

import numpy as np
import pytest
from equilibria.solver import StochasticGame, solve_stochastic
from equilibria.solver.results import MarkovEquilibrium, MarkovSolutionSet
from equilibria.solver.stochastic.backward import CRITERIA, backward_induction_set
from equilibria.solver.stochastic.homotopy import stationary_equilibria
from equilibria.solver.stochastic.regret import certify_markov
from equilibria.solver.stochastic.solve import stochastic_maximin_values
from equilibria.solver.stochastic.team import team_optimum
from equilibria.solver.stochastic.zero_sum import solve_zero_sum_markov

#: An equilibrium's state gap may be this fraction of its player's value range ...
GAP_BAR = 1e-6
#: ... plus this fraction of its player's largest |reward| times the horizon (round-off of
#: the numpy recomputation, which matters only for rewards shifted far from zero).
ROUNDOFF_BAR = 1e-10
#: Policies of the transformed game and of the unit-scale game agree to this (max norm).
POLICY_AGREEMENT = 1e-6


@dataclasses.dataclass(frozen=True)
class Transform:
    """Player ``i``'s rewards become ``scales[i % len] * r_i + shifts[i % len]``."""

    name: str
    scales: tuple[float, ...]
    shifts: tuple[float, ...] = (0.0,)

    def apply(self, rewards: np.ndarray) -> np.ndarray:
        out = np.empty_like(rewards)
        for i in range(rewards.shape[1]):
            out[:, i] = self.scales[i % len(self.scales)] * rewards[:, i] + self.shifts[i % len(self.shifts)]
        return out

    def scale(self, i: int) -> float:
        return self.scales[i % len(self.scales)]

    def shift(self, i: int) -> float:
        return self.shifts[i % len(self.shifts)]


IDENTITY = Transform("unit", (1.0,))
TRANSFORMS = [
    *(Transform(f"x{s:g}", (s,)) for s in (1e-12, 1e-8, 1e8, 1e12)),
    Transform("per-player 1e-6,1e6", (1e-6, 1e6)),
    Transform("shifted", (1.0,), (7.5, -3.0)),
    Transform("scaled+shifted", (2e3, 5e-4), (-1e4, 2.5)),
    Transform("+-1e300", (1e300,)),
]
IDS = [t.name for t in TRANSFORMS]


# --------------------------------------------------------------------------- seeded games


def _transitions(rng: np.random.Generator, states: int, sizes: Sequence[int]) -> np.ndarray:
    weights = rng.exponential(size=(states, *sizes, states))
    return weights / weights.sum(axis=-1, keepdims=True)


def zero_sum_game(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """3 states, 2 x 3 actions, ``r_1 = -r_0`` uniform in [-1, 1]."""
    rng = np.random.default_rng([17, 1, seed])
    r0 = rng.uniform(-1.0, 1.0, (3, 2, 3))
    return np.stack([r0, -r0], axis=1), _transitions(rng, 3, (2, 3))


def team_game(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """3 players with one common reward, 3 states, 2 x 2 x 2 actions."""
    rng = np.random.default_rng([17, 2, seed])
    common = rng.uniform(0.0, 1.0, (3, 2, 2, 2))
    return np.stack([common] * 3, axis=1), _transitions(rng, 3, (2, 2, 2))


def general_game(seed: int, states: int) -> tuple[np.ndarray, np.ndarray]:
    """2 players, 2 x 2 actions, rewards uniform in [-1, 1]."""
    rng = np.random.default_rng([17, 3, seed])
    return rng.uniform(-1.0, 1.0, (states, 2, 2, 2)), _transitions(rng, states, (2, 2))


def build(
    data: tuple[np.ndarray, np.ndarray], transform: Transform, discount: float, horizon: int | None = None
) -> StochasticGame:
    rewards, transitions = data
    return StochasticGame(transform.apply(rewards), transitions, discount=discount, horizon=horizon)


def steps(discount: float, horizon: int | None) -> float:
    """The effective horizon: how many rewards' worth a value can hold."""
    return 1.0 / (1.0 - discount) if horizon is None else sum(discount**t for t in range(horizon))


# --------------------------------------------------------------------------- numpy recomputation


def _joint(policies: Sequence[np.ndarray], skip: int | None = None) -> np.ndarray:
    """Product distribution ``(S, a_1..a_n)`` of per-player ``(S, a_i)`` policies (one axis skipped)."""
    n = len(policies)
    letters = string.ascii_lowercase[:n]
    operands = [p for i, p in enumerate(policies) if i != skip]
    inputs = [f"z{letters[i]}" for i in range(n) if i != skip]
    output = "".join(letters[i] for i in range(n) if i != skip)
    out = np.einsum(f"{','.join(inputs)}->z{output}", *operands)
    if skip is not None:
        out = np.broadcast_to(np.expand_dims(out, skip + 1), (out.shape[0], *(p.shape[1] for p in policies)))
    return out


def _evaluate(rewards: np.ndarray, p: np.ndarray, gamma: float, policies: Sequence[np.ndarray]) -> np.ndarray:
    """Stationary values ``(S, n)`` by one dense linear solve."""
    states, n = rewards.shape[:2]
    joint = _joint(policies).reshape(states, -1)
    r = np.einsum("sa,sna->sn", joint, rewards.reshape(states, n, -1))
    matrix = np.einsum("sa,sat->st", joint, p.reshape(states, -1, states))
    return np.linalg.solve(np.eye(states) - gamma * matrix, r)


def stationary_gaps(
    game: StochasticGame, rewards: np.ndarray, p: np.ndarray, policies: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Values ``(S, n)`` and per-player state gaps ``(S, n)``: the best response is the
    elementwise maximum over every deterministic policy of the deviating player."""
    values = _evaluate(rewards, p, game.discount, policies)
    gaps = np.zeros_like(values)
    for i, k in enumerate(game.num_actions):
        best = np.full(game.n_states, -np.inf)
        for actions in itertools.product(range(k), repeat=game.n_states):
            deviation = list(policies)
            deviation[i] = np.eye(k)[list(actions)]
            best = np.maximum(best, _evaluate(rewards, p, game.discount, deviation)[:, i])
        gaps[:, i] = best - values[:, i]
    return values, gaps


def finite_gaps(
    game: StochasticGame, rewards: np.ndarray, p: np.ndarray, policies: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """First-stage values ``(S, n)`` and per-player state gaps ``(S, n)`` (largest over the
    stages), by backward induction over ``(T, S, a_i)`` policies."""
    states, n = rewards.shape[:2]
    horizon = int(game.horizon or 0)
    value = np.zeros((states, n))
    best = np.zeros((states, n))
    gaps = np.zeros((states, n))
    for t in range(horizon - 1, -1, -1):
        stage = [pol[t] for pol in policies]
        joint = _joint(stage).reshape(states, -1)
        q = rewards.reshape(states, n, -1) + game.discount * np.einsum(
            "sat,tn->sna", p.reshape(states, -1, states), value
        )
        value = np.einsum("sa,sna->sn", joint, q)
        q_best = rewards.reshape(states, n, -1) + game.discount * np.einsum(
            "sat,tn->sna", p.reshape(states, -1, states), best
        )
        new_best = np.empty_like(best)
        for i in range(n):
            others = _joint(stage, skip=i).reshape(states, -1)
            by_action = (others * q_best[:, i]).reshape(states, *game.num_actions)
            by_action = np.moveaxis(by_action, i + 1, 1).reshape(states, game.num_actions[i], -1).sum(axis=2)
            new_best[:, i] = by_action.max(axis=1)
        best = new_best
        gaps = np.maximum(gaps, best - value)
    return value, gaps


def assert_certifies(game: StochasticGame, eq: MarkovEquilibrium, what: str) -> None:
    """Every player's recomputed state gaps within its own bar; the answer's values agree."""
    rewards = np.asarray(game.rewards)
    p = game.transition_matrix.toarray().reshape((game.n_states, *game.num_actions, game.n_states))
    recompute = finite_gaps if game.horizon is not None else stationary_gaps
    values, gaps = recompute(game, rewards, p, eq.policies)
    horizon = steps(game.discount, game.horizon)
    flat = np.moveaxis(rewards, 1, 0).reshape(game.n_players, -1)
    ranges = flat.max(axis=1) / 2.0 - flat.min(axis=1) / 2.0  # halves: no overflow at 1e300
    largest = np.abs(flat).max(axis=1)
    bars = (2.0 * GAP_BAR * ranges + ROUNDOFF_BAR * largest) * horizon
    worst = gaps.max(axis=0)
    assert (worst <= bars).all(), f"{what}: per-player state gaps {worst} over {bars}"
    agree = ROUNDOFF_BAR * largest * horizon + 1e-9 * 2.0 * ranges * horizon
    assert (np.abs(values - eq.values) <= agree).all(), f"{what}: values {eq.values} != numpy {values}"


def assert_honest(result: MarkovSolutionSet, game: StochasticGame, what: str) -> None:
    assert not (result.complete and len(result.equilibria) == 0), f"{what}: empty and complete"
    for k, eq in enumerate(result.equilibria):
        assert_certifies(game, eq, f"{what}, equilibrium {k}")


def assert_same_policies(
    got: Sequence[MarkovEquilibrium], want: Sequence[MarkovEquilibrium], what: str
) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} equilibria, unit scale {len(want)}"
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        distance = max(float(np.abs(p - q).max()) for p, q in zip(a.policies, b.policies, strict=True))
        assert distance <= POLICY_AGREEMENT, (
            f"{what}: equilibrium {k} is {distance:.3g} from the unit-scale one"
        )


def mapped_values(values: np.ndarray, transform: Transform, player: int, horizon: float) -> np.ndarray:
    return transform.scale(player) * values + transform.shift(player) * horizon


def assert_values_mapped(
    got: np.ndarray, want: np.ndarray, transform: Transform, player: int, horizon: float, what: str
) -> None:
    """``got`` is the affine image of the unit-scale ``want`` (within 1e-8 of the value range)."""
    expected = mapped_values(want, transform, player, horizon)
    span = abs(transform.scale(player)) * 2.0 * horizon
    slack = 1e-8 * span + 1e-12 * np.abs(expected).max()
    assert np.abs(got - expected).max() <= slack, f"{what}: values {got} != mapped {expected}"


# --------------------------------------------------------------------------- the two defects of the issue


def test_zero_sum_values_at_reward_scale_1e_10_are_right_and_certified() -> None:
    """Issue 17: at reward scale 1e-10 the zero-sum values were 99 % wrong with complete=True."""
    data = zero_sum_game(0)
    unit = solve_stochastic(build(data, IDENTITY, 0.8), ["zero_sum_value"])
    tiny_transform = Transform("x1e-10", (1e-10,))
    game = build(data, tiny_transform, 0.8)
    tiny = solve_stochastic(game, ["zero_sum_value"])
    assert unit.complete and tiny.complete
    assert unit.zero_sum is not None and tiny.zero_sum is not None
    assert_values_mapped(tiny.zero_sum.values, unit.zero_sum.values, tiny_transform, 0, 5.0, "x1e-10")
    assert tiny.zero_sum.error_bound <= 1e-9 * 1e-10 * 2.0 * 5.0
    assert_honest(tiny, game, "x1e-10")


@pytest.mark.parametrize("seed", [4, 5])
def test_general_sum_stationary_equilibria_at_reward_scale_1e_8_certify(seed: int) -> None:
    """Issue 17: at reward scale 1e-8 the homotopy returned equilibria with state gaps of
    several % of the reward range (or failed on an unnormalised path point)."""
    rng = np.random.default_rng(seed)
    transitions = rng.random((3, 2, 2, 3))
    data = (
        rng.integers(0, 5, (3, 2, 2, 2)).astype(float),
        transitions / transitions.sum(axis=-1, keepdims=True),
    )
    tiny_transform = Transform("x1e-8", (1e-8,))
    unit = solve_stochastic(build(data, IDENTITY, 0.8), priors=2)
    game = build(data, tiny_transform, 0.8)
    tiny = solve_stochastic(game, priors=2)
    assert len(tiny.equilibria) >= 1
    assert_honest(tiny, game, "x1e-8")
    assert_same_policies(tiny.equilibria, unit.equilibria, "x1e-8")


# --------------------------------------------------------------------------- invariance, method by method


@pytest.fixture(scope="module")
def zero_sum_unit() -> dict[str, object]:
    data = zero_sum_game(1)
    game = build(data, IDENTITY, 0.8)
    return {
        method: (
            solve_zero_sum_markov(game, method=method),
            solve_stochastic(game, ["nash", "zero_sum_value"], method=method),
        )
        for method in ("shapley", "hoffman_karp")
    }


@pytest.mark.parametrize("method", ["shapley", "hoffman_karp"])
@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_zero_sum_methods_are_scale_free(method: str, transform: Transform, zero_sum_unit: dict) -> None:
    game = build(zero_sum_game(1), transform, 0.8)
    assert game.is_zero_sum()
    want_direct, want_front = zero_sum_unit[method]
    direct = solve_zero_sum_markov(game, method=method)
    what = f"{method} {transform.name}"
    assert_values_mapped(direct.values, want_direct.values, transform, 0, 5.0, what)
    distance = max(
        float(np.abs(p - q).max()) for p, q in zip(direct.policies, want_direct.policies, strict=True)
    )
    assert distance <= POLICY_AGREEMENT, f"{what}: strategies {distance:.3g} from the unit-scale ones"
    assert (
        direct.error_bound <= 1e-8 * abs(transform.scale(0)) * 2.0 * 5.0 + 1e-12 * np.abs(direct.values).max()
    )
    front = solve_stochastic(game, ["nash", "zero_sum_value"], method=method)
    assert front.complete == want_front.complete and front.method == method
    assert front.zero_sum is not None and want_front.zero_sum is not None
    assert_values_mapped(front.zero_sum.values, want_front.zero_sum.values, transform, 0, 5.0, what)
    assert_same_policies(front.equilibria, want_front.equilibria, what)
    assert_honest(front, game, what)


@pytest.fixture(scope="module")
def team_unit() -> tuple[MarkovEquilibrium, MarkovSolutionSet]:
    game = build(team_game(0), IDENTITY, 0.9)
    return team_optimum(game), solve_stochastic(game)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_team_optimum_is_scale_free(transform: Transform, team_unit: tuple) -> None:
    game = build(team_game(0), transform, 0.9)
    want_eq, want_set = team_unit
    got = team_optimum(game)
    assert_same_policies([got], [want_eq], transform.name)
    assert_certifies(game, got, transform.name)
    for i in range(game.n_players):
        assert_values_mapped(got.values[:, i], want_eq.values[:, i], transform, i, 10.0, transform.name)
    front = solve_stochastic(game)
    assert front.method == want_set.method == "team_policy_iteration"
    assert front.complete == want_set.complete
    assert_same_policies(front.equilibria, want_set.equilibria, transform.name)
    assert_honest(front, game, transform.name)


#: Finite-horizon games: seed 0 has one equilibrium in every stage game (complete); in seed 25
#: the five criteria reach three different equilibria and payoff dominance falls back.
BACKWARD_SEEDS = (0, 25)


def invariant_criteria(transform: Transform, unit: MarkovSolutionSet) -> list[str]:
    """The criteria whose choice the transform cannot change.

    Payoff and risk dominance and the Nash product (maximin disagreement point) are
    unchanged by a positive affine map of any player's payoffs. Utilitarian and
    egalitarian welfare are sums and minima of the user's payoffs (SPEC section 2): the
    utilitarian choice is unchanged by shifts and common scales, the egalitarian one by
    common scales and common shifts only. A criterion that fell back to utilitarian in
    some stage game inherits its dependence.
    """
    common_scale = len(set(transform.scales)) == 1
    common_shift = len(set(transform.shifts)) == 1
    utilitarian = common_scale
    egalitarian = common_scale and common_shift
    keep = []
    for selection in unit.selections:
        if selection.criterion == "utilitarian" and not utilitarian:
            continue
        if selection.criterion == "egalitarian" and not egalitarian:
            continue
        if not selection.decided and not utilitarian:
            continue
        keep.append(selection.criterion)
    return keep


def selected(result: MarkovSolutionSet, criterion: str) -> MarkovEquilibrium:
    (selection,) = [s for s in result.selections if s.criterion == criterion]
    assert selection.equilibrium_index is not None
    return result.equilibria[selection.equilibrium_index]


@pytest.fixture(scope="module")
def backward_unit() -> dict[int, tuple[MarkovSolutionSet, MarkovSolutionSet]]:
    out = {}
    for seed in BACKWARD_SEEDS:
        game = build(general_game(seed, 2), IDENTITY, 0.9, horizon=3)
        out[seed] = (
            backward_induction_set(game, criteria=CRITERIA),
            solve_stochastic(game, stage_selection=CRITERIA),
        )
    return out


@pytest.mark.parametrize("seed", BACKWARD_SEEDS)
@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_backward_induction_is_scale_free(transform: Transform, seed: int, backward_unit: dict) -> None:
    game = build(general_game(seed, 2), transform, 0.9, horizon=3)
    want_set, want_front = backward_unit[seed]
    compared = invariant_criteria(transform, want_set)
    assert {"nash_product", "risk_dominance"} <= set(compared), compared  # decided here at every scale
    got = backward_induction_set(game, criteria=CRITERIA)
    front = solve_stochastic(game, stage_selection=CRITERIA)
    assert front.method == want_front.method == "backward_induction"
    for result, want in ((got, want_set), (front, want_front)):
        assert result.complete == want.complete
        for criterion in compared:
            assert_same_policies([selected(result, criterion)], [selected(want, criterion)], criterion)
        assert_honest(result, game, transform.name)


HOMOTOPY_CONCEPTS = ["nash", "pareto_nash", "welfare_nash"]


@pytest.fixture(scope="module")
def homotopy_unit() -> tuple[list[MarkovEquilibrium], MarkovSolutionSet]:
    game = build(general_game(1, 2), IDENTITY, 0.8)
    found, _ = stationary_equilibria(game, n_priors=2, seed=3)
    return found, solve_stochastic(game, HOMOTOPY_CONCEPTS, welfare=["nash_product"], priors=2, seed=3)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_homotopy_is_scale_free(transform: Transform, homotopy_unit: tuple) -> None:
    game = build(general_game(1, 2), transform, 0.8)
    want_found, want_front = homotopy_unit
    found, _ = stationary_equilibria(game, n_priors=2, seed=3)
    assert len(found) >= 1
    assert_same_policies(found, want_found, transform.name)
    for k, eq in enumerate(found):
        assert_certifies(game, eq, f"{transform.name}, equilibrium {k}")
    front = solve_stochastic(game, HOMOTOPY_CONCEPTS, welfare=["nash_product"], priors=2, seed=3)
    assert front.method == want_front.method == "homotopy"
    assert front.complete == want_front.complete
    assert_same_policies(front.equilibria, want_front.equilibria, transform.name)
    assert_honest(front, game, transform.name)
    # Pareto optimality and the Nash product (maximin disagreement point) are unit-free.
    assert front.pareto_indices == want_front.pareto_indices
    (got_optimum,) = front.welfare_optima
    (want_optimum,) = want_front.welfare_optima
    assert got_optimum.equilibrium_indices == want_optimum.equilibrium_indices
    assert got_optimum.certified == want_optimum.certified


@pytest.mark.parametrize("transform", [IDENTITY, *TRANSFORMS], ids=["unit", *IDS])
def test_auto_picks_the_same_method_at_every_scale(transform: Transform) -> None:
    """``auto`` decides zero-sum and team relative to each player's range."""
    cases = {
        "hoffman_karp": build(zero_sum_game(2), transform, 0.7),
        "team_policy_iteration": build(team_game(2), transform, 0.7),
        "backward_induction": build(general_game(2, 2), transform, 0.7, horizon=2),
    }
    for method, game in cases.items():
        result = solve_stochastic(game, priors=1)
        assert result.method == method, f"{transform.name}: auto chose {result.method}, not {method}"
        assert_honest(result, game, f"{transform.name} {method}")


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_values_and_maximin_values_map_affinely(transform: Transform) -> None:
    """A shift adds ``b_i`` per stage to every path: values and security values map affinely."""
    data = general_game(4, 3)
    game = build(data, transform, 0.8)
    rng = np.random.default_rng(4)
    policy = [rng.dirichlet(np.ones(2), size=3) for _ in range(2)]
    reference = _evaluate(data[0], data[1], 0.8, policy)
    values = certify_markov(game, policy).values
    maximin = stochastic_maximin_values(build(data, IDENTITY, 0.8))
    got = stochastic_maximin_values(game)
    for i in range(2):
        assert_values_mapped(values[:, i], reference[:, i], transform, i, 5.0, f"values of player {i}")
        assert_values_mapped(got[i : i + 1], maximin[i : i + 1], transform, i, 5.0, f"maximin of player {i}")


# --------------------------------------------------------------------------- the game's scale rule


def test_reward_scales_are_per_player_over_existing_joint_actions() -> None:
    rewards = np.zeros((2, 2, 2, 2))
    rewards[:, 0] = [[[0.0, 1e-9], [0.5e-9, 1e-9]], [[0.2e-9, 99.0], [0.7e-9, 99.0]]]
    rewards[:, 1] = 5.0
    rewards[0, 1, 0, 0] = 1.0
    rewards[1, 1, 0, 1] = 100.0
    # In state 1 the column player has one action: the 99s and the 100 are never played.
    game = StochasticGame(rewards, np.full((2, 2, 2, 2), 0.5), discount=0.5, action_counts=[[2, 2], [2, 1]])
    np.testing.assert_allclose(game.reward_scales, [1e-9, 4.0], rtol=1e-12)
    assert game.reward_scale == 4.0
    np.testing.assert_allclose(game.value_tolerances(1e-6), [1e-15 * 2.0, 4e-6 * 2.0], rtol=1e-12)
    assert game.within_tolerance([1.9e-15, 7e-6], 1e-6) and not game.within_tolerance([3e-15, 0.0], 1e-6)
    zero = StochasticGame(np.zeros((1, 2, 1, 1)), np.ones((1, 1, 1, 1)), discount=0.5)
    assert zero.reward_scale == 1.0 and zero.value_tolerances(1e-6).tolist() == [0.0, 0.0]


def test_unit_game_is_overflow_safe_and_strategically_equivalent() -> None:
    r0 = np.array([[[1e308, -1e308], [-1e308, 1e308]]])
    game = StochasticGame(np.stack([r0, -r0], axis=1), np.ones((1, 2, 2, 1)), discount=0.5)
    assert np.isfinite(game.reward_scales).all() and game.is_zero_sum()
    unit = game.unit_game
    assert unit.rewards[0, 0].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert unit.rewards[0, 1].tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert unit.discount == game.discount and unit.unit_game.rewards.tolist() == unit.rewards.tolist()
    result = solve_stochastic(game, ["nash"])
    assert result.method == "hoffman_karp" and len(result.equilibria) == 1
    np.testing.assert_allclose(result.equilibria[0].policies[0], [[0.5, 0.5]], atol=1e-12)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_zero_sum_and_team_are_relative_to_each_players_range(transform: Transform) -> None:
    assert build(zero_sum_game(3), transform, 0.5).is_zero_sum()
    assert build(team_game(3), transform, 0.5).is_team()
    assert not build(general_game(3, 2), transform, 0.5).is_zero_sum()
    assert not build(general_game(3, 2), transform, 0.5).is_team()
    # A general-sum game whose rewards are tiny is not zero-sum (the old absolute floor said so).
    rewards, transitions = general_game(3, 2)
    assert not StochasticGame(rewards * 1e-10, transitions, discount=0.5).is_zero_sum()
