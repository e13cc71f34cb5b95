"""The stochastic-game model (solver/stochastic/game.py) and its certificates (solver/stochastic/regret.py).

* Validation: every malformed field is rejected naming it; transition rows off the
  simplex by more than 1e-9 name the state and joint action, rows within it are
  renormalised; dense, scipy-sparse and coordinate transitions give the same game.
* Certificates against independent oracles written here: values by fixed-point
  iteration of the Bellman equation on dense arrays; best-response values by
  enumerating every deterministic policy of the deviating player (an optimal MDP
  policy is deterministic and optimal from every state); finite horizons by a plain
  backward recursion over dense arrays.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from equilibria.solver import InvalidGameError, StochasticGame, certify_markov
from equilibria.solver.stochastic import regret as regret_module
from equilibria.solver.stochastic.regret import (
    best_response,
    certificate_of,
    certified_equilibrium,
    evaluate_policy,
    joint_policy,
    solve_linear_values,
)

# -- helpers (dense, loop-based: independent of the sparse code under test) ---------------


def random_game(seed: int, n_states: int, actions: tuple[int, ...], discount: float, ragged: bool = False):
    rng = np.random.default_rng(seed)
    n = len(actions)
    rewards = rng.integers(-5, 6, size=(n_states, n, *actions)).astype(float)
    dense = rng.random((n_states, *actions, n_states)) ** 3
    dense /= dense.sum(axis=-1, keepdims=True)
    counts = None
    if ragged:
        counts = np.array([[rng.integers(1, k + 1) for k in actions] for _ in range(n_states)])
    return StochasticGame(rewards, dense, discount=discount, action_counts=counts), dense


def random_policy(game: StochasticGame, seed: int, stages: int | None = None):
    rng = np.random.default_rng(seed)
    out = []
    for mask in game.action_mask:
        shape = mask.shape if stages is None else (stages, *mask.shape)
        p = rng.random(shape) * mask
        out.append(p / p.sum(axis=-1, keepdims=True))
    return tuple(out)


def dense_terms(game: StochasticGame, dense: np.ndarray, policy, t: int | None = None):
    """Expected rewards (S, n) and transitions (S, S) by explicit loops over joint actions."""
    n_states, n = game.n_states, game.n_players
    r = np.zeros((n_states, n))
    p = np.zeros((n_states, n_states))
    for s in range(n_states):
        for a in itertools.product(*(range(k) for k in game.num_actions)):
            if not game.joint_mask[(s, *a)]:
                continue
            prob = np.prod(
                [pol[s, ai] if t is None else pol[t, s, ai] for pol, ai in zip(policy, a, strict=True)]
            )
            r[s] += prob * game.rewards[(s, slice(None), *a)]
            p[s] += prob * dense[(s, *a)]
    return r, p


def fixed_point_values(game, dense, policy, sweeps=4000):
    r, p = dense_terms(game, dense, policy)
    v = np.zeros_like(r)
    for _ in range(sweeps):
        v = r + game.discount * p @ v
    return v


def brute_force_best_response(game, dense, policy, player):
    """Max over every deterministic policy of ``player`` of its value, state by state."""
    choices = [range(int(k)) for k in game.action_counts[:, player]]
    best = np.full(game.n_states, -np.inf)
    for actions in itertools.product(*choices):
        deviation = np.zeros_like(policy[player])
        deviation[np.arange(game.n_states), actions] = 1.0
        profile = list(policy)
        profile[player] = deviation
        r, p = dense_terms(game, dense, profile)
        v = np.linalg.solve(np.eye(game.n_states) - game.discount * p, r[:, player])
        best = np.maximum(best, v)
    return best


# -- validation --------------------------------------------------------------------------------


def _base(**overrides):
    kwargs = dict(
        rewards=np.zeros((2, 2, 2, 2)),
        transitions=np.full((2, 2, 2, 2), 0.5),
        discount=0.9,
    )
    kwargs.update(overrides)
    return StochasticGame(**kwargs)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        pytest.param({"rewards": np.zeros((2, 2, 2))}, "rewards", "shape", id="rewards-too-few-axes"),
        pytest.param({"rewards": np.zeros((2, 3, 2, 2))}, "rewards", "shape", id="rewards-player-axis"),
        pytest.param({"rewards": np.full((2, 2, 2, 2), np.nan)}, "rewards", "not finite", id="rewards-nan"),
        pytest.param({"rewards": "abc"}, "rewards", "numeric", id="rewards-text"),
        pytest.param(
            {"transitions": np.full((2, 2, 2, 3), 0.5)}, "transitions", "shape", id="transitions-shape"
        ),
        pytest.param({"discount": 1.0}, "discount", "[0, 1)", id="discount-one-infinite"),
        pytest.param({"discount": -0.1}, "discount", "not in", id="discount-negative"),
        pytest.param({"discount": float("nan")}, "discount", "not in", id="discount-nan"),
        pytest.param({"horizon": 0}, "horizon", ">= 1", id="horizon-zero"),
        pytest.param({"horizon": 2.5}, "horizon", ">= 1", id="horizon-fraction"),
        pytest.param(
            {"initial_distribution": [0.5, 0.6]}, "initial_distribution", "probability", id="mu0-sum"
        ),
        pytest.param({"initial_distribution": [1.0]}, "initial_distribution", "2 entries", id="mu0-length"),
        pytest.param({"action_counts": [[2, 2], [0, 2]]}, "action_counts", "state 1", id="counts-zero"),
        pytest.param(
            {"action_counts": [[2, 3], [2, 2]]}, "action_counts", "expected 1..2", id="counts-too-many"
        ),
        pytest.param({"action_counts": [[2, 2]]}, "action_counts", "shape", id="counts-shape"),
        pytest.param({"player_names": ("a",)}, "player_names", "1 player names", id="names"),
    ],
)
def test_malformed_games_are_rejected_naming_the_field(overrides, field, fragment) -> None:
    with pytest.raises(InvalidGameError) as info:
        _base(**overrides)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_a_transition_row_off_the_simplex_names_state_and_joint_action() -> None:
    transitions = np.full((2, 2, 2, 2), 0.5)
    transitions[1, 0, 1] = [0.5, 0.5 + 1e-6]
    with pytest.raises(InvalidGameError, match=r"state 1, joint action \(0, 1\) sums to 1\.000001"):
        _base(transitions=transitions)
    transitions[1, 0, 1] = [-0.1, 1.1]
    with pytest.raises(InvalidGameError, match=r"state 1, joint action \(0, 1\) has a negative probability"):
        _base(transitions=transitions)


def test_rows_within_tolerance_are_renormalised_and_missing_actions_ignored() -> None:
    transitions = np.full((2, 2, 2, 2), 0.5)
    transitions[0, 1, 1] = [0.5 + 4e-10, 0.5]
    transitions[1, 1] = 7.0  # player 0 has one action in state 1: these rows do not exist
    rewards = np.ones((2, 2, 2, 2))
    game = _base(transitions=transitions, rewards=rewards, action_counts=[[2, 2], [1, 2]])
    sums = np.asarray(game.transition_matrix.sum(axis=1)).ravel().reshape(2, 4)
    np.testing.assert_allclose(sums[0], 1.0, atol=1e-15)
    np.testing.assert_array_equal(sums[1], [1.0, 1.0, 0.0, 0.0])
    assert game.rewards[1, :, 1].sum() == 0.0 and game.rewards[1, :, 0].sum() == 4.0
    assert game.action_mask[0].tolist() == [[True, True], [True, False]]


def test_dense_sparse_and_coordinate_transitions_are_the_same_game() -> None:
    game, dense = random_game(3, 4, (2, 3), 0.8)
    matrix = sp.csr_array(dense.reshape(4 * 6, 4))
    coo = matrix.tocoo()
    # Split every entry in two halves: duplicates are summed.
    rows = np.concatenate([coo.row, coo.row])
    cols = np.concatenate([coo.col, coo.col])
    probs = np.concatenate([coo.data / 2, coo.data / 2])
    for transitions in (matrix, (rows, cols, probs)):
        other = StochasticGame(game.rewards, transitions, discount=0.8)
        np.testing.assert_allclose(
            other.transition_matrix.toarray(), game.transition_matrix.toarray(), atol=1e-15
        )
    assert StochasticGame(game.rewards, matrix, discount=0.8).id == game.id
    assert StochasticGame(game.rewards, matrix, discount=0.7).id != game.id


@pytest.mark.parametrize(
    ("transitions", "field"),
    [
        pytest.param(([0, 99], [0, 0], [1.0, 1.0]), "transitions.rows", id="row-out-of-range"),
        pytest.param(([0, 1], [0, 5], [1.0, 1.0]), "transitions.next_states", id="state-out-of-range"),
        pytest.param(([0, 1], [0], [1.0, 1.0]), "transitions", id="lengths-differ"),
        pytest.param(([0.5], [0], [1.0]), "transitions.rows", id="fractional-row"),
    ],
)
def test_bad_coordinate_transitions(transitions, field) -> None:
    with pytest.raises(InvalidGameError) as info:
        StochasticGame(np.zeros((2, 2, 1, 1)), transitions, discount=0.5)
    assert info.value.field == field


def test_a_finite_horizon_allows_discount_one_and_stage_games_add_continuations() -> None:
    game = _base(discount=1.0, horizon=3, rewards=np.arange(16.0).reshape(2, 2, 2, 2))
    assert game.is_finite_horizon and game.horizon == 3
    stage = game.stage_game(1, np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(stage.payoffs, game.rewards[1] + np.array([2.0, 3.0])[:, None, None])
    with pytest.raises(InvalidGameError, match="out of range"):
        game.stage_game(2)


def test_zero_sum_and_team_detection() -> None:
    r = np.random.default_rng(0).random((3, 2, 2))
    assert StochasticGame(
        np.stack([r, 1 - r], axis=1), np.full((3, 2, 2, 3), 1 / 3), discount=0.5
    ).is_zero_sum()
    assert StochasticGame(np.stack([r, r], axis=1), np.full((3, 2, 2, 3), 1 / 3), discount=0.5).is_team()
    assert not StochasticGame(
        np.stack([r, r], axis=1), np.full((3, 2, 2, 3), 1 / 3), discount=0.5
    ).is_zero_sum()


# -- certificates ---------------------------------------------------------------------------------


CASES = [
    pytest.param(
        seed,
        states,
        actions,
        discount,
        ragged,
        id=f"s{seed}-{states}x{'x'.join(map(str, actions))}-g{discount}{'-ragged' if ragged else ''}",
    )
    for seed, states, actions, discount, ragged in [
        (0, 2, (2, 2), 0.5, False),
        (1, 3, (2, 3), 0.9, False),
        (2, 3, (3, 2), 0.7, True),
        (3, 2, (2, 2, 2), 0.8, False),
        (4, 3, (2, 2, 3), 0.6, True),
        (5, 4, (2, 2), 0.95, True),
        (6, 1, (3, 3), 0.0, False),
    ]
]


@pytest.mark.parametrize(("seed", "states", "actions", "discount", "ragged"), CASES)
def test_values_and_best_responses_match_independent_oracles(seed, states, actions, discount, ragged) -> None:
    game, dense = random_game(seed, states, actions, discount, ragged)
    policy = random_policy(game, seed + 100)
    cert = certify_markov(game, policy)
    expected_values = fixed_point_values(game, dense, policy)
    np.testing.assert_allclose(cert.values, expected_values, atol=1e-8)
    np.testing.assert_allclose(evaluate_policy(game, policy), expected_values, atol=1e-8)
    gaps = np.zeros(states)
    for i in range(game.n_players):
        best = brute_force_best_response(game, dense, policy, i)
        np.testing.assert_allclose(cert.best_response_values[:, i], best, atol=1e-9)
        gaps = np.maximum(gaps, best - expected_values[:, i])
    np.testing.assert_allclose(cert.state_gaps, np.clip(gaps, 0, None), atol=1e-8)
    mu0 = game.initial_distribution
    np.testing.assert_allclose(cert.payoffs, mu0 @ expected_values, atol=1e-8)
    np.testing.assert_allclose(
        cert.regrets, np.clip(mu0 @ (cert.best_response_values - expected_values), 0, None), atol=1e-8
    )
    assert cert.nash_conv == pytest.approx(cert.regrets.sum())
    assert cert.nash_conv > 1e-3  # a random profile is not an equilibrium


@pytest.mark.parametrize(("seed", "states", "actions", "discount", "ragged"), CASES[:4])
def test_a_best_response_is_a_best_response(seed, states, actions, discount, ragged) -> None:
    game, dense = random_game(seed, states, actions, discount, ragged)
    policy = random_policy(game, seed + 7)
    for i in range(game.n_players):
        values, chosen = best_response(game, policy, i)
        assert game.action_mask[i][np.arange(states), chosen].all()
        profile = list(policy)
        profile[i] = np.eye(game.num_actions[i])[chosen]
        np.testing.assert_allclose(evaluate_policy(game, profile)[:, i], values, atol=1e-9)
        # Nobody gains against a profile where i already best responds... only i is checked.
        assert certify_markov(game, profile).regrets[i] == pytest.approx(0.0, abs=1e-9)


def test_an_absorbing_stage_game_repeated_is_worth_its_value_over_one_minus_gamma() -> None:
    # Matching pennies plus 3 to player 0, one absorbing state: the uniform profile is
    # the equilibrium; player 0's value is 3 / (1 - gamma), player 1's -3 / (1 - gamma).
    pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    pennies[0] += 3.0
    pennies[1] -= 3.0
    game = StochasticGame(pennies[None], np.ones((1, 2, 2, 1)), discount=0.75)
    half = np.full((1, 2), 0.5)
    cert = certify_markov(game, (half, half))
    np.testing.assert_allclose(cert.values, [[12.0, -12.0]])
    assert cert.nash_conv == pytest.approx(0.0, abs=1e-12)
    lean = np.array([[0.6, 0.4]])
    # Against (0.6, 0.4) player 1 plays column 1 for 0.2 - 3 per stage: gain 0.2 / (1 - gamma).
    assert certify_markov(game, (lean, half)).regrets[1] == pytest.approx(0.8)


def test_an_equilibrium_keeps_its_certificate_for_its_own_game_only() -> None:
    """``certificate_of`` hands back the certificate measured when the equilibrium was
    built, for that game; on another game (same shape, other rewards) it measures afresh."""
    game, _ = random_game(5, 3, (2, 2), 0.8)
    policy = random_policy(game, 6)
    equilibrium = certified_equilibrium(game, policy, ("by_hand",))
    kept = certificate_of(game, equilibrium)
    assert certificate_of(game, equilibrium) is kept
    np.testing.assert_array_equal(kept.values, certify_markov(game, policy).values)
    other = StochasticGame(-game.rewards, game.transitions, discount=game.discount)
    fresh = certificate_of(other, equilibrium)
    assert fresh is not kept
    np.testing.assert_allclose(fresh.values, -kept.values, rtol=1e-12)
    np.testing.assert_array_equal(fresh.regrets, certify_markov(other, policy).regrets)


def test_finite_horizon_certificates_match_backward_recursion() -> None:
    game0, dense = random_game(11, 3, (2, 2), 0.9)
    game = StochasticGame(game0.rewards, dense, discount=0.9, horizon=4, initial_distribution=[0.2, 0.3, 0.5])
    policy = random_policy(game, 5, stages=4)
    values = np.zeros((3, 2))
    best = np.zeros((3, 2))
    worst_gap = np.zeros(3)
    for t in range(3, -1, -1):
        r, p = dense_terms(game, dense, policy, t)
        new_best = np.zeros((3, 2))
        for i in range(2):
            # Player i's best stage action against the others at stage t, with its best continuation.
            q = np.full((3, 2), -np.inf)
            for k in range(2):
                profile = [pol[t] for pol in policy]
                profile[i] = np.tile(np.eye(2)[k], (3, 1))
                rk, pk = dense_terms(game, dense, profile)
                q[:, k] = rk[:, i] + 0.9 * pk @ best[:, i]
            new_best[:, i] = q.max(axis=1)
        values = r + 0.9 * p @ values
        best = new_best
        worst_gap = np.maximum(worst_gap, (best - values).max(axis=1))
    cert = certify_markov(game, policy)
    np.testing.assert_allclose(cert.values, values, atol=1e-10)
    np.testing.assert_allclose(cert.best_response_values, best, atol=1e-10)
    np.testing.assert_allclose(cert.state_gaps, worst_gap, atol=1e-10)
    np.testing.assert_allclose(cert.payoffs, [0.2, 0.3, 0.5] @ values, atol=1e-10)
    # A stationary (S, a_i) policy is accepted for a finite horizon and repeated.
    stationary = random_policy(game, 6)
    np.testing.assert_allclose(
        certify_markov(game, stationary).values,
        certify_markov(game, tuple(np.broadcast_to(p, (4, *p.shape)) for p in stationary)).values,
    )


def test_large_sparse_games_use_sparse_solves() -> None:
    # 3000 states (above the dense threshold), 2 successors each: a ring.
    n_states = 3000
    rng = np.random.default_rng(1)
    rows = np.repeat(np.arange(n_states * 4), 2)
    nxt = np.stack(
        [np.repeat(np.arange(n_states), 4), np.repeat((np.arange(n_states) + 1) % n_states, 4)], 1
    ).ravel()
    game = StochasticGame(rng.random((n_states, 2, 2, 2)), (rows, nxt, np.full(rows.size, 0.5)), discount=0.9)
    half = np.full((n_states, 2), 0.5)
    cert = certify_markov(game, (half, half))
    r_pi = game.rewards.reshape(n_states, 2, 4).mean(axis=2)
    # Check the Bellman equation V = r_pi + gamma * P_pi V directly.
    p_v = 0.5 * cert.values + 0.5 * np.roll(cert.values, -1, axis=0)
    np.testing.assert_allclose(cert.values, r_pi + 0.9 * p_v, atol=1e-9)
    assert (cert.best_response_values >= cert.values - 1e-9).all()


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        pytest.param((np.full((2, 2), 0.5),), "1 policies", id="one-player"),
        pytest.param((np.full((2, 3), 1 / 3), np.full((2, 2), 0.5)), "shape", id="shape"),
        pytest.param(
            (np.array([[1.2, -0.2], [1.0, 0.0]]), np.full((2, 2), 0.5)), "invalid probability", id="negative"
        ),
        pytest.param((np.array([[0.7, 0.7], [1.0, 0.0]]), np.full((2, 2), 0.5)), "sums to", id="sum"),
        pytest.param(
            (np.array([[0.5, 0.5], [0.5, 0.5]]), np.full((2, 2), 0.5)), "does not exist", id="missing-action"
        ),
    ],
)
def test_bad_policies_are_rejected(policy, fragment) -> None:
    game = _base(action_counts=[[2, 2], [1, 2]])
    with pytest.raises(InvalidGameError, match=fragment):
        certify_markov(game, policy)


@pytest.mark.parametrize("lead", [(), (4,), (2, 3)], ids=["one", "a-trace", "a-grid"])
def test_the_joint_policy_is_the_product_over_any_leading_axes(lead: tuple[int, ...]) -> None:
    """``joint_policy`` takes policies with leading axes (a trace of policies: ``(..., S, a_i)``)
    and returns each state's product distribution, ``(..., S, a_1, a_2)``; ``skip`` leaves one
    player's axis at weight 1."""
    game = StochasticGame(np.zeros((2, 2, 2, 3)), np.full((2, 2, 3, 2), 0.5), discount=0.5)
    rng = np.random.default_rng(7)
    first = rng.dirichlet(np.ones(2), size=(*lead, 2))
    second = rng.dirichlet(np.ones(3), size=(*lead, 2))
    joint = joint_policy(game, [first, second])
    assert joint.shape == (*lead, 2, 2, 3)
    np.testing.assert_allclose(joint, np.einsum("...sa,...sb->...sab", first, second), rtol=1e-15)
    skipped = joint_policy(game, [first, second], skip=0)
    np.testing.assert_allclose(skipped, np.broadcast_to(second[..., None, :], joint.shape), rtol=1e-15)


@pytest.mark.parametrize(("states", "dense"), [(3, True), (4, False)])
def test_systems_up_to_the_dense_limit_are_solved_dense_and_larger_ones_sparse(
    monkeypatch: pytest.MonkeyPatch, states: int, dense: bool
) -> None:
    """numpy's LAPACK solve up to ``DENSE_STATES`` states (inclusive), SuperLU past it; both
    solve ``(I - gamma P) V = r``."""
    used: list[str] = []
    real_dense, real_sparse = np.linalg.solve, regret_module.scipy.sparse.linalg.splu

    def dense_solve(*args: object, **kwargs: object) -> object:
        used.append("dense")
        return real_dense(*args, **kwargs)

    def sparse_lu(*args: object, **kwargs: object) -> object:
        used.append("sparse")
        return real_sparse(*args, **kwargs)

    monkeypatch.setattr(regret_module, "DENSE_STATES", 3)
    monkeypatch.setattr(np.linalg, "solve", dense_solve)
    monkeypatch.setattr(regret_module.scipy.sparse.linalg, "splu", sparse_lu)
    ring = sp.csr_array(np.roll(np.eye(states), 1, axis=1))  # state s moves to s + 1
    rewards = np.arange(1.0, states + 1.0)
    values = solve_linear_values(ring, rewards, 0.5)
    assert used == ["dense" if dense else "sparse"]
    np.testing.assert_allclose(values - 0.5 * np.roll(values, -1), rewards, rtol=1e-12)


def test_best_response_starts_from_the_greedy_response_to_the_profiles_own_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """State 0: action 0 pays 1 and falls into an absorbing state worth 0, action 1 pays 1/2
    and stays (worth 5 at gamma 0.9). Against a profile already playing action 1, the greedy
    response to its own values is action 1: policy iteration evaluates one policy and stops
    (two linear solves in all, the profile's own values first). Player 0 has one action in
    the absorbing state: its missing action is never part of the start."""
    rewards = np.zeros((2, 2, 2, 1))
    rewards[0, :, 0, 0], rewards[0, :, 1, 0] = 1.0, 0.5
    transitions = np.zeros((2, 2, 1, 2))
    transitions[0, 0, 0, 1] = transitions[0, 1, 0, 0] = 1.0
    transitions[1, :, 0, 1] = 1.0
    game = StochasticGame(rewards, transitions, discount=0.9, action_counts=[[2, 1], [1, 1]])
    profile = (np.array([[0.0, 1.0], [1.0, 0.0]]), np.ones((2, 1)))
    solves = []
    real = regret_module.solve_linear_values

    def counting(*args: object) -> object:
        solves.append(args)
        return real(*args)

    monkeypatch.setattr(regret_module, "solve_linear_values", counting)
    values, actions = best_response(game, profile, 0)
    assert len(solves) == 2
    assert actions.tolist() == [1, 0]
    np.testing.assert_allclose(values, [5.0, 0.0], rtol=1e-12)


@pytest.mark.parametrize(("gain", "switches"), [(3e-12, True), (1e-12, False)])
def test_policy_iteration_switches_only_for_a_gain_over_a_trillionth_of_the_value_scale(
    gain: float, switches: bool
) -> None:
    """State 0: both actions pay 1, action 0 stays, action 1 moves to an absorbing state
    paying ``1 + gain``: after evaluating action 0, action 1 is better by ``gain``. The
    value scale is ``max |r| / (1 - gamma)`` = ``2 (1 + gain)`` at gamma 1/2: a gain of
    3e-12 (over 1e-12 of it) is an improvement, 1e-12 is round-off and policy iteration
    stops (with the one-step lookahead's value). Started from zero values, so that the
    greedy start is action 0 (the first of a tie)."""
    rewards = np.ones((2, 2, 2, 1))
    rewards[1, 0] = 1.0 + gain
    transitions = np.zeros((2, 2, 1, 2))
    transitions[0, 0, 0, 0] = transitions[0, 1, 0, 1] = 1.0
    transitions[1, :, 0, 1] = 1.0
    game = StochasticGame(rewards, transitions, discount=0.5)
    profile = (np.full((2, 2), 0.5), np.ones((2, 1)))
    values, actions = regret_module._best_response(
        game, profile, 0, np.zeros((1, 2, 2)), regret_module.MAX_POLICY_ITERATIONS
    )
    assert actions.tolist() == [1 if switches else 0, 0]
    np.testing.assert_allclose(values[0], [2.0 + gain, 2.0 + 2.0 * gain], rtol=0.0, atol=1e-15)


def test_a_myopic_game_solves_no_linear_system(monkeypatch: pytest.MonkeyPatch) -> None:
    """At discount 0 a value is the stage reward: returned as is, no system solved."""
    calls: list[str] = []
    monkeypatch.setattr(np.linalg, "solve", lambda *args: calls.append("dense"))
    monkeypatch.setattr(regret_module.scipy.sparse.linalg, "splu", lambda *args: calls.append("sparse"))
    rewards = np.array([[1.0, 2.0], [3.0, 4.0]])
    values = solve_linear_values(sp.csr_array(np.eye(2)), rewards, 0.0)
    assert calls == []
    assert values.tolist() == rewards.tolist() and values is not rewards


def test_a_gap_of_exactly_the_tolerance_passes_and_one_ulp_more_fails() -> None:
    """``failing_players`` names a player whose largest state gap exceeds its own tolerance
    (or is NaN), and no one at exactly the tolerance."""
    rewards = np.stack([np.full((2, 2), 1.0), np.array([[0.0, 3.0], [1.0, 2.0]])], axis=0)[None]
    game = StochasticGame(rewards, np.ones((1, 2, 2, 1)), discount=0.5)
    cert = certify_markov(game, (np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]])))
    limits = game.value_tolerances(1e-6)
    at = dataclasses.replace(cert, player_gaps=limits[None, :].copy())
    assert regret_module.failing_players(game, at, 1e-6) == ""
    over = dataclasses.replace(cert, player_gaps=np.array([[limits[0], np.nextafter(limits[1], np.inf)]]))
    assert regret_module.failing_players(game, over, 1e-6).startswith("player 1's largest state gap")
    unknown = dataclasses.replace(cert, player_gaps=np.array([[np.nan, 0.0]]))
    assert regret_module.failing_players(game, unknown, 1e-6).startswith("player 0's largest state gap nan")


def test_a_finite_horizon_best_response_is_myopic_at_the_last_stage() -> None:
    """Action 0 pays 1 and ends in a worthless absorbing state, action 1 pays 0.9 and stays:
    over 3 stages (no discount) stay twice, then take the 1 (values 2.8, 1.9, 1)."""
    rewards = np.zeros((2, 2, 2, 1))
    rewards[0, 0, :, 0] = [1.0, 0.9]
    transitions = np.zeros((2, 2, 1, 2))
    transitions[0, 0, 0, 1] = transitions[0, 1, 0, 0] = 1.0
    transitions[1, :, 0, 1] = 1.0
    game = StochasticGame(rewards, transitions, discount=1.0, horizon=3)
    profile = (np.full((3, 2, 2), 0.5), np.ones((3, 2, 1)))
    values, actions = best_response(game, profile, 0)
    assert actions.tolist() == [[1, 0], [1, 0], [0, 0]]
    np.testing.assert_allclose(values, [2.8, 0.0], rtol=1e-15)


def test_policy_iteration_past_its_round_limit_raises_rather_than_answers() -> None:
    game, _ = random_game(3, 3, (2, 2), 0.9)
    profile = tuple(np.full((3, 2), 0.5) for _ in range(2))
    with pytest.raises(RuntimeError, match=r"^best_response\(\): policy iteration did not terminate$"):
        best_response(game, profile, 0, max_iterations=0)


def test_gaps_and_regrets_of_a_best_response_are_never_negative_by_round_off() -> None:
    """Player 0 playing a deterministic best response: its values and its best-response
    values are the same numbers solved through two differently assembled systems, so their
    difference is +-1e-16 by rounding. The certificate clips below at 0: a gap or regret
    is never negative (a third of these games round below zero, checked here too)."""
    rounded_below = 0
    for seed in range(30):
        rng = np.random.default_rng([41, seed])
        transitions = rng.random((3, 2, 2, 3))
        game = StochasticGame(
            rng.normal(size=(3, 2, 2, 2)), transitions / transitions.sum(-1, keepdims=True), discount=0.9
        )
        other = rng.dirichlet(np.ones(2), size=3)
        _, actions = best_response(game, (np.full((3, 2), 0.5), other), 0)
        profile = (np.eye(2)[actions], other)
        stages = regret_module._values(game, profile)
        raw, _ = regret_module._best_response(game, profile, 0, stages, regret_module.MAX_POLICY_ITERATIONS)
        rounded_below += bool((raw[0] - stages[0][:, 0] < 0.0).any())
        cert = certify_markov(game, profile)
        assert cert.player_gaps[:, 0].min() >= 0.0 and cert.regrets[0] >= 0.0
        assert cert.player_gaps[:, 0].max() <= 1e-12
    assert rounded_below >= 5
