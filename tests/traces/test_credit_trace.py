"""The ``credit_assignment`` trace criterion (issue #22, item 5): each agent's credit along a trace.

Known answers by hand (an agent that learns its best action gains credit, one whose
action does not matter is lazy), an independent oracle (Shapley values by brute force
over the orders of the agents, difference rewards by enumerating joint actions, Q^π by
a direct linear solve: nothing from ``credit.py``), scale invariance, a stochastic team
game, the refusals and the chunking.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, StochasticGame, solve, solve_stochastic
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from equilibria.solver.traces import ScoreOptions, TraceChunk, TraceScorer, score_trace
from equilibria.solver.traces.memory import trace_memory_bound

CREDIT = ("credit_assignment",)


# --------------------------------------------------------------------------- the oracle


def _coalition_value(g: np.ndarray, strategies, coalition: frozenset[int]) -> float:
    """v(C): the agents in C play their strategies, the others action 0; by enumeration."""
    total = 0.0
    for joint in itertools.product(*(range(k) for k in g.shape)):
        if any(joint[i] != 0 for i in range(g.ndim) if i not in coalition):
            continue
        weight = math.prod(strategies[i][joint[i]] for i in coalition)
        total += weight * g[joint]
    return total


def _oracle(g: np.ndarray, strategies) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Shapley values (average marginal contribution over the n! orders), expected difference
    rewards (against action 0), the team return and the baseline, by brute force."""
    n = g.ndim
    shapley = np.zeros(n)
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        before: frozenset[int] = frozenset()
        for i in order:
            shapley[i] += _coalition_value(g, strategies, before | {i}) - _coalition_value(
                g, strategies, before
            )
            before = before | {i}
    shapley /= len(orders)
    difference = np.zeros(n)
    team = 0.0
    for joint in itertools.product(*(range(k) for k in g.shape)):
        p = math.prod(strategies[i][joint[i]] for i in range(n))
        team += p * g[joint]
        for i in range(n):
            clamped = list(joint)
            clamped[i] = 0
            difference[i] += p * (g[joint] - g[tuple(clamped)])
    return shapley, difference, team, float(g[(0,) * n])


def _team_game(g: np.ndarray) -> NormalFormGame:
    return NormalFormGame(np.stack([g] * g.ndim))


def _ramp(z: np.ndarray, start: float) -> np.ndarray:
    """Two-action strategies with probability 1 - start / z on action 1."""
    p = 1.0 - start / z
    return np.stack([1.0 - p, p], axis=1)


# --------------------------------------------------------------------------- known answers


def test_an_agent_learning_its_best_action_gains_credit_and_the_fixed_agent_stays_steady() -> None:
    # G(a0, a1) = 4 a0 + a1: agent 0 moves from its default action 0 to action 1 linearly over
    # the trace, agent 1 stays at (1/2, 1/2). By hand: φ_0 = 4 p_0(1), φ_1 = p_1(1) = 1/2.
    g = np.array([[0.0, 1.0], [4.0, 5.0]])
    z = np.arange(1, 2001, dtype=float)
    x0 = np.stack([1.0 - z / 2000, z / 2000], axis=1)
    x1 = np.tile([0.5, 0.5], (2000, 1))
    score = score_trace(_team_game(g), solve(_team_game(g)), TraceChunk(policies=(x0, x1)))
    credit = score.credit
    assert credit is not None and credit.team == "common" and credit.payoff_range == 5.0
    rows = credit.checkpoints_z - 1
    np.testing.assert_allclose(credit.shapley_values[:, 0], 4.0 * x0[rows, 1], rtol=1e-12)
    np.testing.assert_allclose(credit.shapley_values[:, 1], 0.5, rtol=1e-12)
    np.testing.assert_allclose(credit.final_shapley_values, [4.0, 0.5], rtol=1e-12)
    assert credit.trends == ("rising", "steady")
    # the tail's first sample is a checkpoint in the last 10 % (or among the last three samples)
    assert credit.tail_changes[0] == pytest.approx(4.0 * (1.0 - credit.tail_start / 2000), rel=1e-12)
    assert credit.tail_changes[1] == pytest.approx(0.0, abs=1e-12)
    assert credit.lazy_agents == ()
    s = score["credit_assignment"]
    # the curve: max_i |φ_i(z) - φ_i(Z)| / range = 4 (1 - z / 2000) / 5 at each checkpoint
    np.testing.assert_allclose(s.values, 0.8 * (1.0 - s.checkpoints_z / 2000), rtol=1e-9, atol=1e-15)
    assert s.final_value == 0.0 and s.nearest_solution is None and s.scale == 1.0
    assert s.verdict != "converged"  # the credits keep moving to the end


def test_credits_that_settle_converge_with_the_rate_of_the_policies() -> None:
    g = np.array([[0.0, 1.0], [4.0, 5.0]])
    z = np.arange(1, 4001, dtype=float)[:, None]
    x0 = _ramp(z[:, 0], 0.5)  # p_0(1) = 1 - 1/(2z)
    x1 = np.tile([0.5, 0.5], (4000, 1))
    score = score_trace(
        _team_game(g), solve(_team_game(g)), TraceChunk(policies=(x0, x1)), ScoreOptions(criteria=CREDIT)
    )
    s = score["credit_assignment"]
    assert score.names == CREDIT
    assert (s.verdict, s.epsilon) == ("converged", 0.01)
    # by hand: 4 |p_0(z) - p_0(Z)| / 5 = 0.8 (1/(2z) - 1/(2Z)), at least as steep as 1/z
    np.testing.assert_allclose(s.values, 0.4 * (1.0 / s.checkpoints_z - 1.0 / 4000), rtol=1e-9, atol=1e-15)
    assert s.fitted_rate is not None and s.fitted_rate < -0.95
    assert score.credit is not None and score.credit.trends == ("steady", "steady")


def test_an_agent_whose_action_does_not_matter_is_lazy() -> None:
    # Only agent 0's action counts: G = 4 a0. Agent 0 plays action 1 (team return 4, baseline 0);
    # agent 1 wanders, but its Shapley value and difference reward are 0 throughout.
    g = np.array([[0.0, 0.0], [4.0, 4.0]])
    rng = np.random.default_rng(3)
    x0 = np.tile([0.0, 1.0], (600, 1))
    x1 = rng.dirichlet(np.ones(2), 600)
    score = score_trace(_team_game(g), solve(_team_game(g)), TraceChunk(policies=(x0, x1)))
    credit = score.credit
    assert credit is not None
    assert credit.lazy_agents == (1,)
    np.testing.assert_allclose(credit.shapley_values[:, 1], 0.0, atol=1e-14)
    np.testing.assert_allclose(credit.difference_rewards[:, 1], 0.0, atol=1e-14)
    assert (credit.final_team_return, credit.final_coalition_baseline) == (4.0, 0.0)
    # with agent 0 at its default action too the team does no better than the baseline: nobody is lazy
    idle = score_trace(_team_game(g), solve(_team_game(g)), TraceChunk(policies=(1.0 - x0, x1)))
    assert idle.credit is not None and idle.credit.lazy_agents == ()
    assert idle.credit.final_team_return == idle.credit.final_coalition_baseline == 0.0


# --------------------------------------------------------------------------- against the oracle


def test_credits_match_brute_force_shapley_values_and_enumerated_difference_rewards() -> None:
    rng = np.random.default_rng(11)
    g = rng.normal(size=(2, 3, 2))  # three agents
    xs = tuple(rng.dirichlet(np.ones(k), 300) for k in g.shape)
    score = score_trace(
        _team_game(g), solve(_team_game(g)), TraceChunk(policies=xs), ScoreOptions(criteria=CREDIT)
    )
    credit = score.credit
    assert credit is not None and credit.shapley_values.shape == (credit.checkpoints_z.size, 3)
    for k, z in enumerate(credit.checkpoints_z.tolist()):
        shapley, difference, team, baseline = _oracle(g, [x[z - 1] for x in xs])
        np.testing.assert_allclose(credit.shapley_values[k], shapley, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(credit.difference_rewards[k], difference, rtol=1e-10, atol=1e-12)
        assert credit.team_returns[k] == pytest.approx(team, rel=1e-10, abs=1e-12)
        assert credit.coalition_baselines[k] == pytest.approx(baseline, rel=1e-12)
    shapley, difference, team, _ = _oracle(g, [x[-1] for x in xs])
    np.testing.assert_allclose(credit.final_shapley_values, shapley, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(credit.final_difference_rewards, difference, rtol=1e-10, atol=1e-12)
    assert credit.final_team_return == pytest.approx(team, rel=1e-10)
    # the curve is the largest movement of a Shapley value to its final one, in payoff ranges
    moves = np.abs(credit.shapley_values - credit.final_shapley_values).max(axis=1) / (g.max() - g.min())
    np.testing.assert_allclose(score["credit_assignment"].values, moves, rtol=1e-9)


@pytest.mark.parametrize("factor", [1e-9, 1e9], ids=["1e-9", "1e9"])
def test_scaling_the_payoffs_changes_no_verdict_nor_the_scaled_curves(factor: float) -> None:
    rng = np.random.default_rng(5)
    g = rng.normal(size=(2, 3))
    z = np.arange(1, 3001, dtype=float)[:, None]
    target0, target1 = np.array([0.1, 0.9]), np.array([0.2, 0.3, 0.5])
    x0 = target0 + (np.array([0.5, 0.5]) - target0) / np.sqrt(z)
    x1 = target1 + (np.array([1.0, 0.0, 0.0]) - target1) / z
    lazy_g = g.copy()
    lazy_g[:, :] = g[:, :1]  # agent 1 does not matter: lazy

    for game_g in (g, lazy_g):
        base = score_trace(_team_game(game_g), solve(_team_game(game_g)), TraceChunk(policies=(x0, x1)))
        scaled_game = _team_game(game_g * factor)
        scaled = score_trace(scaled_game, solve(scaled_game), TraceChunk(policies=(x0, x1)))
        a, b = base["credit_assignment"], scaled["credit_assignment"]
        assert (a.verdict, a.epsilon) == (b.verdict, b.epsilon)
        np.testing.assert_allclose(b.values, a.values, rtol=1e-9, atol=1e-15)
        ca, cb = base.credit, scaled.credit
        assert ca is not None and cb is not None
        assert (ca.trends, ca.lazy_agents) == (cb.trends, cb.lazy_agents)
        np.testing.assert_allclose(
            cb.shapley_values, ca.shapley_values * factor, rtol=1e-9, atol=1e-15 * factor
        )
        assert cb.payoff_range == pytest.approx(ca.payoff_range * factor, rel=1e-12)
    assert base.credit is not None and base.credit.lazy_agents == (1,)


def _markov_oracle(
    game: StochasticGame, transitions: np.ndarray, policy, weights
) -> tuple[np.ndarray, np.ndarray, float]:
    """Q^π of the team by a direct linear solve, then the brute-force credits per state, weighted."""
    s_count, n = game.n_states, game.n_players
    shape = tuple(int(k) for k in game.num_actions)
    r = game.rewards[:, 0]  # (S, a_1..a_n), the common reward
    p = transitions
    joint = np.array(
        [
            math.prod(policy[i][s][a[i]] for i in range(n))
            for s in range(s_count)
            for a in itertools.product(*map(range, shape))
        ]
    ).reshape(s_count, *shape)
    r_pi = (joint * r).reshape(s_count, -1).sum(axis=1)
    p_pi = np.einsum("sj,sjt->st", joint.reshape(s_count, -1), p.reshape(s_count, -1, s_count))
    v = np.linalg.solve(np.eye(s_count) - game.discount * p_pi, r_pi)
    q = r + game.discount * np.einsum("sjt,t->sj", p.reshape(s_count, -1, s_count), v).reshape(
        s_count, *shape
    )
    shapley = np.zeros(n)
    difference = np.zeros(n)
    team = 0.0
    for s in range(s_count):
        phi, d, t, _ = _oracle(q[s], [policy[i][s] for i in range(n)])
        shapley += weights[s] * phi
        difference += weights[s] * d
        team += weights[s] * t
    return shapley, difference, team


@pytest.mark.parametrize("weights", [None, (0.25, 0.75)], ids=["initial-distribution", "state-weights"])
def test_a_stochastic_team_game_credits_q_pi_per_state_weighted_over_the_states(weights) -> None:
    rng = np.random.default_rng(9)
    r = rng.normal(size=(2, 2, 3))
    rewards = np.stack([r, r], axis=1)  # (S, n, a_1, a_2): common rewards
    transitions = rng.dirichlet(np.ones(2), size=(2, 2, 3))
    game = StochasticGame(rewards, transitions, discount=0.8, initial_distribution=[0.6, 0.4])
    xs = (rng.dirichlet(np.ones(2), (200, 2)), rng.dirichlet(np.ones(3), (200, 2)))
    options = ScoreOptions(criteria=CREDIT, state_weights=weights)
    score = score_trace(game, solve_stochastic(game), TraceChunk(policies=xs), options)
    credit = score.credit
    assert credit is not None
    w = np.array([0.6, 0.4]) if weights is None else np.array(weights)
    for k, z in enumerate(credit.checkpoints_z.tolist()[::7]):
        shapley, difference, team = _markov_oracle(game, transitions, [x[z - 1] for x in xs], w)
        np.testing.assert_allclose(credit.shapley_values[7 * k], shapley, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(credit.difference_rewards[7 * k], difference, rtol=1e-9, atol=1e-12)
        assert credit.team_returns[7 * k] == pytest.approx(team, rel=1e-9)
    shapley, _difference, team = _markov_oracle(game, transitions, [x[-1] for x in xs], w)
    np.testing.assert_allclose(credit.final_shapley_values, shapley, rtol=1e-9, atol=1e-12)
    assert credit.final_team_return == pytest.approx(team, rel=1e-9)
    assert credit.payoff_range == pytest.approx((r.max() - r.min()) / (1 - 0.8), rel=1e-12)
    # efficiency: the Shapley values share the team return minus the baseline
    assert credit.final_shapley_values.sum() == pytest.approx(
        credit.final_team_return - credit.final_coalition_baseline, rel=1e-9
    )


# --------------------------------------------------------------------------- defaults and refusals


def test_by_default_scored_for_a_team_game_with_policies_only() -> None:
    g = np.array([[1.0, 0.0], [0.0, 2.0]])
    x = np.tile([0.5, 0.5], (100, 1))
    assert "credit_assignment" in score_trace(
        _team_game(g), solve(_team_game(g)), TraceChunk(policies=(x, x))
    )
    pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    score = score_trace(pd, solve(pd), TraceChunk(policies=(x, x)))
    assert "credit_assignment" not in score and score.credit is None
    returns_only = score_trace(_team_game(g), solve(_team_game(g)), TraceChunk(returns=np.zeros((50, 2))))
    assert "credit_assignment" not in returns_only and returns_only.credit is None


def test_requested_on_a_game_that_is_not_a_team_game_is_refused_naming_criteria() -> None:
    pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    with pytest.raises(InvalidOptionError) as info:
        TraceScorer(pd, solve(pd), ScoreOptions(criteria=("last_iterate", "credit_assignment")))
    assert info.value.field == "criteria"
    assert "team (common-payoff) game" in info.value.message and "not common" in info.value.message


def test_requested_without_policies_is_refused_naming_criteria() -> None:
    g = np.array([[1.0, 0.0], [0.0, 2.0]])
    scorer = TraceScorer(_team_game(g), solve(_team_game(g)), ScoreOptions(criteria=CREDIT))
    scorer.update(TraceChunk(returns=np.zeros((50, 2)), joint_actions=np.zeros((50, 2), dtype=int)))
    with pytest.raises(InvalidOptionError) as info:
        scorer.result()
    assert info.value.field == "criteria" and "policies" in info.value.message


def test_too_many_agents_for_the_coalitions_is_refused_when_requested_and_left_out_by_default() -> None:
    game = NormalFormGame(np.zeros((17,) + (1,) * 16 + (2,)))  # 17 agents: 2^17 coalitions
    with pytest.raises(ProblemTooLargeError) as info:
        TraceScorer(game, solve(game), ScoreOptions(criteria=CREDIT))
    assert info.value.field == "criteria" and "17 players" in info.value.message
    assert TraceScorer(game, solve(game))._credit is None


@pytest.mark.parametrize(("value", "unit"), [(0.25, 0.25), (-3.0, 3.0), (0.0, 1.0)])
def test_a_constant_team_return_is_measured_in_its_magnitude(value: float, unit: float) -> None:
    """Every joint action pays the team ``value``: no agent has any credit however the policies
    move, the curve is flat at 0, and its unit is the return's magnitude (1 for a return of 0)."""
    game = _team_game(np.full((2, 3), value))
    z = np.arange(1, 301)[:, None]
    x = np.hstack([1 / (z + 1), 1 - 1 / (z + 1)])
    y = np.tile([0.2, 0.3, 0.5], (300, 1))
    score = score_trace(game, solve(game), TraceChunk(policies=(x, y)), ScoreOptions(criteria=CREDIT))
    assert score.credit is not None and score.credit.payoff_range == unit
    assert not score.credit.shapley_values.any() and not score.credit.final_shapley_values.any()
    assert not score["credit_assignment"].values.any() and score["credit_assignment"].verdict == "converged"


def test_movements_within_the_round_off_of_a_large_offset_are_no_movement() -> None:
    """A team return of 1e6 plus payoffs of order 1: policies that move by 1e-13 change the
    credits only at the offset's round-off (1e6 x 2^-52 per unit of range); the curve is exactly
    0, while a real movement of the same game is seen."""
    g = 1e6 + np.array([[1.0, 0.0], [0.0, 2.0]])
    game = _team_game(g)
    rows = 200
    wobble = np.where(np.arange(rows) % 2 == 0, 0.0, 1e-13)[:, None]
    x = np.hstack([0.3 + wobble, 0.7 - wobble])
    still = score_trace(game, solve(game), TraceChunk(policies=(x, x[::-1])), ScoreOptions(criteria=CREDIT))
    assert not still["credit_assignment"].values.any()
    z = np.arange(1, rows + 1)[:, None]
    moving = np.hstack([1 / (z + 1), 1 - 1 / (z + 1)])
    moved = score_trace(game, solve(game), TraceChunk(policies=(moving, x)), ScoreOptions(criteria=CREDIT))
    assert moved["credit_assignment"].values.max() > 1e-3


# --------------------------------------------------------------------------- streaming and memory


def test_any_chunking_gives_the_same_credits() -> None:
    rng = np.random.default_rng(4)
    g = rng.normal(size=(3, 2))
    xs = (rng.dirichlet(np.ones(3), 900), rng.dirichlet(np.ones(2), 900))
    options = ScoreOptions(criteria=CREDIT, n_checkpoints=16)
    whole = score_trace(_team_game(g), solve(_team_game(g)), TraceChunk(policies=xs), options)
    cuts = [0, 1, 7, 300, 301, 899, 900]
    parts = [TraceChunk(policies=tuple(x[lo:hi] for x in xs)) for lo, hi in itertools.pairwise(cuts)]
    chunked = score_trace(_team_game(g), solve(_team_game(g)), parts, options)
    assert whole.credit is not None and chunked.credit is not None
    np.testing.assert_array_equal(whole.credit.checkpoints_z, chunked.credit.checkpoints_z)
    assert whole.credit.checkpoints_z.size <= 16
    np.testing.assert_allclose(
        chunked.credit.shapley_values, whole.credit.shapley_values, rtol=1e-13, atol=1e-15
    )
    a, b = whole["credit_assignment"], chunked["credit_assignment"]
    np.testing.assert_allclose(b.values, a.values, rtol=1e-12, atol=1e-15)
    assert (a.verdict, a.epsilon) == (b.verdict, b.epsilon)


def test_the_memory_bound_counts_the_credits() -> None:
    rng = np.random.default_rng(6)
    g = rng.normal(size=(4, 4, 4))
    game = _team_game(g)
    with_credit = trace_memory_bound(game, None, ScoreOptions())
    without = trace_memory_bound(game, None, ScoreOptions(criteria=("last_iterate",)))
    names = {t.name for t in with_credit.terms}
    assert {"credit checkpoints", "credit working arrays"} <= names
    assert not names & {t.name for t in without.terms} & {"credit checkpoints", "credit working arrays"}
    # a game that is not a team game gets no credit terms by default
    pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    assert "credit working arrays" not in {t.name for t in trace_memory_bound(pd, None, ScoreOptions()).terms}
    scorer = TraceScorer(game, solve(game), ScoreOptions(criteria=CREDIT))
    scorer.update(TraceChunk(policies=tuple(rng.dirichlet(np.ones(4), 5000) for _ in range(3))))
    scorer.result()
    assert (
        0
        < scorer._credit.nbytes
        <= next(t.nbytes for t in scorer.memory_bound().terms if t.name == "credit checkpoints")
    )


# --------------------------------------------------------------------------- through a live server


@pytest.mark.e2e
def test_credits_through_the_client_equal_the_in_process_scorer_and_refusals_name_the_field(client) -> None:
    from equilibria.client import InvalidArgumentError
    from equilibria.service.cli_output import score_json, score_table

    g = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [4.0, 4.0, 4.0]])  # agent 1 does not matter
    z = np.arange(1, 1201, dtype=float)[:, None]
    x0 = np.array([0.0, 0.0, 1.0]) + (np.array([1.0, 0.0, 0.0]) - np.array([0.0, 0.0, 1.0])) / z
    x1 = np.tile([0.2, 0.3, 0.5], (1200, 1))
    game = _team_game(g)
    remote = client.score_trace(game.payoffs, policies=(x0, x1), chunk_bytes=4096)
    local = score_trace(game, solve(game), TraceChunk(policies=(x0, x1)))
    assert remote.credit is not None and local.credit is not None
    np.testing.assert_array_equal(remote.credit.checkpoints_z, local.credit.checkpoints_z)
    np.testing.assert_array_equal(remote.credit.shapley_values, local.credit.shapley_values)
    np.testing.assert_array_equal(
        remote.credit.final_difference_rewards, local.credit.final_difference_rewards
    )
    assert (remote.credit.trends, remote.credit.lazy_agents) == (("steady", "steady"), (1,))
    r, loc = remote["credit_assignment"], local["credit_assignment"]
    np.testing.assert_array_equal(r.values, loc.values)
    assert (
        (r.verdict, r.epsilon, r.evidence)
        == (loc.verdict, loc.epsilon, loc.evidence)
        == (r.verdict, 0.01, r.evidence)
    )
    assert r.verdict == "converged"
    text = str(remote)
    assert "credit per agent at z=1200" in text and "lazy" in text
    assert "<td>lazy</td>" in remote._repr_html_()
    table = score_table(remote)
    assert "credit per agent at z=1200" in table
    assert score_json(remote)["credit"]["lazy_agents"] == [1]
    page = remote.to_html()
    assert '<table id="credit">' in page and "<h2>Credit per agent</h2>" in page
    assert '<tr id="credit-1"><td>1</td>' in page and "<td>lazy</td></tr>" in page
    assert 'id="figure-criterion_credit_assignment"' in page
    # refused: a game that is not a team game, and a trace without policies
    pd = (np.array([[3.0, 0.0], [5.0, 1.0]]), np.array([[3.0, 5.0], [0.0, 1.0]]))
    with pytest.raises(InvalidArgumentError) as info:
        client.score_trace(
            pd,
            policies=(x0[:, :2] / x0[:, :2].sum(1, keepdims=True), x1[:, :2] / 0.5),
            criteria="credit_assignment",
        )
    assert info.value.fields == ("header.options.criteria",)
    assert "team (common-payoff) game" in str(info.value)
    with pytest.raises(InvalidArgumentError) as info:
        client.score_trace(game.payoffs, returns=np.zeros((40, 2)), criteria=["credit_assignment"])
    assert info.value.fields == ("header.options.criteria",)
    assert "needs the policies stream" in str(info.value)
