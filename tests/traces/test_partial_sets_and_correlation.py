"""Issue 18 items 3 and 4: partial solution sets, and correlated joint play.

Item 3: against a partial set (Lemke-Howson's one equilibrium, a team stochastic game's
team optimum) a trace that converges to another equilibrium gets
``"converged_outside_set"`` with that profile, and every score against a partial set
carries a warning. Item 4: ``averaged_joint_policy`` compares the joint frequencies with
each equilibrium's joint distribution (the product of its strategies), so perfectly
correlated play in matching pennies is not taken for the product equilibrium; the
marginal-only variant is ``joint_concept="nash_marginals"``. Traces come from the
replicator dynamics of tests/dynamics.py or are built here (seeded); finals, z0 and
radii are recomputed with numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from equilibria.client import Client
from equilibria.solver import NormalFormGame, StochasticGame, TraceChunk, score_trace, solve, solve_stochastic
from equilibria.solver.traces import ScoreOptions

from ..dynamics import replicator

STAG_A = np.array([[4.0, 0.0], [3.0, 3.0]])
STAG = NormalFormGame.from_bimatrix(STAG_A, STAG_A.T)
PENNIES = NormalFormGame.from_bimatrix([[1.0, -1.0], [-1.0, 1.0]])
POLICY_CRITERIA = ("last_iterate", "expected_return", "empirical_distribution", "set_convergence")


def tv(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum(axis=-1)


def bimatrix_regrets(a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each player's regret relative to its own payoff range (numpy oracle)."""
    r1 = (a @ y).max() - x @ a @ y
    r2 = (x @ b).max() - x @ b @ y
    return np.array([r1 / np.ptp(a), r2 / np.ptp(b)])


def tv_radius(n: int, k: int, delta: float) -> float:
    """The TV concentration radius of docs/traces.md, recomputed."""
    r_inf = math.sqrt(math.log(2 * k / delta) / (2 * n))
    r_1 = math.sqrt(2 * (math.log(2.0**k - 2) + math.log(1 / delta)) / n)
    return min(min(r_1, k * r_inf) / 2, 1.0)


@pytest.fixture(scope="module")
def stag_to_hare() -> tuple[np.ndarray, np.ndarray]:
    """Replicator dynamics in the stag hunt from (0.3, 0.7): converges to (H, H)."""
    return replicator(STAG, np.array([0.3, 0.7]), np.array([0.3, 0.7]), 3000)


# ----------------------------------------------------------------------------- item 3


def test_lemke_howson_set_is_partial_and_holds_the_stag_equilibrium_only() -> None:
    partial = solve(STAG, method="lemke_howson")
    assert not partial.complete and len(partial.equilibria) == 1
    np.testing.assert_array_equal(partial.equilibria[0].strategies[0], [1.0, 0.0])


def test_a_trace_converging_to_an_equilibrium_outside_a_partial_set(stag_to_hare) -> None:
    xs, ys = stag_to_hare
    z = xs.shape[0]
    score = score_trace(STAG, solve(STAG, method="lemke_howson"), TraceChunk(policies=(xs, ys)))
    assert score.partial_set and any("partial" in w for w in score.warnings)
    # Oracle: the last row is (H, H) to round-off, a certified equilibrium 1 (TV) from (S, S).
    regret = bimatrix_regrets(STAG_A, STAG_A.T, xs[-1], ys[-1]).max()
    assert regret <= 1e-12
    window = max(20, math.ceil(0.1 * z))
    spread_last = max(tv(xs[-window:], xs[-1]).max(), tv(ys[-window:], ys[-1]).max())
    mean_x, mean_y = xs.mean(axis=0), ys.mean(axis=0)
    run_x = np.cumsum(xs, axis=0) / np.arange(1, z + 1)[:, None]
    run_y = np.cumsum(ys, axis=0) / np.arange(1, z + 1)[:, None]
    spread_mean = max(tv(run_x[-window:], mean_x).max(), tv(run_y[-window:], mean_y).max())
    assert 2 * max(spread_last, spread_mean) < 0.01  # the tracker's bound is at most twice the spread
    set_point = np.array([1.0, 0.0])
    finals = {
        "last_iterate": max(tv(xs[-1], set_point), tv(ys[-1], set_point)),
        "expected_return": np.abs(
            np.array([xs[-1] @ STAG_A @ ys[-1], xs[-1] @ STAG_A.T @ ys[-1]]) - 4.0
        ).max(),
        "empirical_distribution": max(tv(mean_x, set_point), tv(mean_y, set_point)),
    }
    finals["set_convergence"] = finals["empirical_distribution"]
    for name in POLICY_CRITERIA:
        c = score[name]
        assert c.verdict == "converged_outside_set", (name, c.evidence)
        assert c.epsilon == 0.01 and "outside the computed" in c.evidence
        assert c.final_value == pytest.approx(finals[name], abs=1e-12)
        profile = (xs[-1], ys[-1]) if name in ("last_iterate", "expected_return") else (mean_x, mean_y)
        assert c.outside_profile is not None
        for got, want in zip(c.outside_profile, profile, strict=True):
            np.testing.assert_allclose(got, want, atol=1e-12)
        want_regret = bimatrix_regrets(STAG_A, STAG_A.T, *profile).max()
        assert c.outside_regret == pytest.approx(want_regret, abs=1e-12)
        assert c.confidence_radius is None
    # z0 of the distance curves: every row stays 1 - O(1/z) from (S, S): never below any epsilon.
    assert all(v is None for v in score["last_iterate"].z0.values())
    # The trace's own NashConv converges.
    assert score["nash_conv"].verdict == "converged"


def test_a_complete_set_never_reads_outside_and_has_no_partial_warning(stag_to_hare) -> None:
    xs, ys = stag_to_hare
    score = score_trace(STAG, solve(STAG), TraceChunk(policies=(xs, ys)))
    assert not score.partial_set and not any("partial" in w for w in score.warnings)
    assert all(c.verdict != "converged_outside_set" and c.outside_profile is None for c in score.criteria)
    assert score["last_iterate"].verdict == "converged"


def test_partial_set_without_an_outside_equilibrium() -> None:
    partial = solve(STAG, method="lemke_howson")
    z = np.arange(1, 2001)[:, None]
    # Towards the set's own equilibrium (S, S): converged, with the warning.
    to_stag = np.hstack([1.0 - 0.3 / z, 0.3 / z])
    inside = score_trace(STAG, partial, TraceChunk(policies=(to_stag, to_stag)))
    assert inside["last_iterate"].verdict == "converged"
    assert inside.partial_set and any("partial" in w for w in inside.warnings)
    # Constant at (1/2, 1/2) for both: a single limit that is not an equilibrium
    # (regret 1/8 of the range, recomputed): not converged, no outside profile.
    half = np.full((2000, 2), 0.5)
    assert bimatrix_regrets(STAG_A, STAG_A.T, half[0], half[0]).max() == pytest.approx(0.125)
    stuck = score_trace(STAG, partial, TraceChunk(policies=(half, half)))
    for name in POLICY_CRITERIA:
        assert stuck[name].verdict == "not_converged" and stuck[name].outside_profile is None


def _team_game() -> StochasticGame:
    """Two states, the same coordination game (2 on (0, 0), 1 on (1, 1)) for both players, coin-flip moves."""
    coord = np.array([[2.0, 0.0], [0.0, 1.0]])
    rewards = np.stack([np.stack([coord, coord]), np.stack([coord, coord])])
    return StochasticGame(rewards, np.full((2, 2, 2, 2), 0.5), discount=0.9)


def test_a_team_stochastic_game_trace_to_the_miscoordinated_equilibrium() -> None:
    game = _team_game()
    solution = solve_stochastic(game)
    assert not solution.complete  # the team optimum only
    np.testing.assert_array_equal(solution.equilibria[0].policies[0], [[1.0, 0.0], [1.0, 0.0]])
    steps = 1500
    z = np.arange(1, steps + 1)[:, None, None]
    x = np.concatenate([0.3 / z, 1.0 - 0.3 / z], axis=2) * np.ones((1, 2, 1))  # -> action 1 in both states
    score = score_trace(game, solution, TraceChunk(policies=(x, x)))
    # Oracle: V of (1, 1) everywhere is 1 / (1 - 0.9) = 10; best responses by value iteration.
    last = x[-1]
    reward = np.einsum("sa,sb,sab->s", last, last, game.rewards[:, 0])
    v = np.linalg.solve(np.eye(2) - 0.9 * np.full((2, 2), 0.5), reward)
    br = np.zeros(2)
    for _ in range(2000):
        br = (np.einsum("sb,sab->sa", last, game.rewards[:, 0]) + 0.9 * 0.5 * br.sum()).max(axis=1)
    gap = (br - v).max() / (2.0 * 10.0)  # relative to the value range: reward range x 1 / (1 - gamma)
    assert score.partial_set
    c = score["last_iterate"]
    assert c.verdict == "converged_outside_set", c.evidence
    assert c.outside_regret == pytest.approx(max(gap, 0.0), abs=1e-9)
    # TV per state to the team optimum (1, 0), max over players, weighted by mu0 = (1/2, 1/2).
    assert c.final_value == pytest.approx(float(tv(last, [1.0, 0.0]).mean()), abs=1e-12)
    np.testing.assert_allclose(c.outside_profile[0], last, atol=1e-12)


# ----------------------------------------------------------------------------- item 4


def _correlated_pennies(seed: int, n: int) -> np.ndarray:
    heads = np.random.default_rng(seed).integers(0, 2, n)
    return np.stack([heads, heads], axis=1)


def test_correlated_play_is_not_the_product_equilibrium() -> None:
    actions = _correlated_pennies(0, 4000)
    n = actions.shape[0]
    f = float((actions[:, 0] == 0).mean())
    joint = np.array([f, 0.0, 0.0, 1.0 - f])
    joint_tv = float(tv(joint, np.full(4, 0.25)))
    assert joint_tv == pytest.approx(0.5, abs=1e-12)
    score = score_trace(PENNIES, solve(PENNIES), TraceChunk(joint_actions=actions))
    c = score["averaged_joint_policy"]
    assert c.verdict == "not_converged", c.evidence
    assert c.final_value == pytest.approx(joint_tv, abs=1e-12)
    assert c.confidence_radius == pytest.approx(tv_radius(n, 4, 0.05), rel=1e-12)
    assert all(v is None for v in c.z0.values())
    # The marginal-only variant keeps its old answer under its own name.
    marg = score_trace(
        PENNIES,
        solve(PENNIES),
        TraceChunk(joint_actions=actions),
        ScoreOptions(joint_concept="nash_marginals"),
    )["averaged_joint_policy"]
    assert marg.verdict == "converged"
    assert marg.final_value == pytest.approx(abs(f - 0.5), abs=1e-12)
    assert marg.confidence_radius == pytest.approx(tv_radius(n, 2, 0.05 / 2), rel=1e-12)


def test_independent_play_converges_on_joint_distributions() -> None:
    actions = np.random.default_rng(1).integers(0, 2, size=(20_000, 2))
    counts = np.bincount(actions[:, 0] * 2 + actions[:, 1], minlength=4) / actions.shape[0]
    c = score_trace(PENNIES, solve(PENNIES), TraceChunk(joint_actions=actions))["averaged_joint_policy"]
    assert c.final_value == pytest.approx(float(tv(counts, np.full(4, 0.25))), abs=1e-12)
    assert c.confidence_radius == pytest.approx(tv_radius(20_000, 4, 0.05), rel=1e-12)
    assert c.verdict == "converged", c.evidence


def test_stochastic_joint_play_per_state() -> None:
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    saddle = np.array([[2.0, 1.0], [0.0, 0.0]])
    rewards = np.stack([np.stack([pennies, -pennies]), np.stack([saddle, -saddle])])
    game = StochasticGame(rewards, np.full((2, 2, 2, 2), 0.5), discount=0.9)
    solution = solve_stochastic(game)
    rng = np.random.default_rng(7)
    steps = 10_000
    states = rng.integers(0, 2, steps)
    heads = rng.integers(0, 2, steps)
    # State 0: perfectly correlated pennies; state 1: the saddle point (0, 1).
    actions = np.where(states[:, None] == 0, np.stack([heads, heads], axis=1), np.array([[0, 1]]))
    score = score_trace(game, solution, TraceChunk(joint_actions=actions, history=states))
    c = score["averaged_joint_policy"]
    expected = 0.0
    radius = 0.0
    for s in range(2):
        rows = actions[states == s]
        freq = np.bincount(rows[:, 0] * 2 + rows[:, 1], minlength=4) / rows.shape[0]
        p = [solution.equilibria[0].policies[i][s] for i in range(2)]
        expected += 0.5 * float(tv(freq, np.outer(p[0], p[1]).ravel()))
        radius += 0.5 * tv_radius(rows.shape[0], 4, 0.05 / 2)
    assert c.final_value == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(0.25, abs=1e-9)
    assert c.confidence_radius == pytest.approx(radius, rel=1e-12)
    assert c.verdict == "not_converged", c.evidence


# ----------------------------------------------------------------------------- through the client


@pytest.mark.e2e
def test_partial_set_and_correlation_through_the_client(client: Client, stag_to_hare) -> None:
    xs, ys = stag_to_hare
    remote = client.score_trace((STAG_A, STAG_A.T), policies=(xs, ys), method="lemke_howson")
    local = score_trace(STAG, solve(STAG, method="lemke_howson"), TraceChunk(policies=(xs, ys)))
    assert remote.partial_set and remote.warnings == local.warnings
    assert remote.solution_set is not None and not remote.solution_set.complete
    for name in POLICY_CRITERIA:
        r, want = remote[name], local[name]
        assert r.verdict == want.verdict == "converged_outside_set"
        assert (r.epsilon, r.evidence, r.outside_regret) == (want.epsilon, want.evidence, want.outside_regret)
        for got, ref in zip(r.outside_profile, want.outside_profile, strict=True):
            np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(remote["last_iterate"].outside_profile[0], [0.0, 1.0], atol=1e-12)
    actions = _correlated_pennies(0, 4000)
    joint = client.score_trace(PENNIES.payoffs, joint_actions=actions)["averaged_joint_policy"]
    assert joint.verdict == "not_converged" and joint.final_value == pytest.approx(0.5, abs=1e-12)
    marg = client.score_trace(PENNIES.payoffs, joint_actions=actions, joint_concept="nash_marginals")
    assert marg["averaged_joint_policy"].verdict == "converged"


def test_criteria_without_a_profile_are_inconclusive_against_a_partial_set() -> None:
    """Joint frequencies and returns name no profile to certify: against a partial set a trace
    that does not approach the set may approach an equilibrium outside it (issue 18, item 3)."""
    partial = solve(STAG, method="lemke_howson")  # holds (S, S) only
    steps = 4000
    hare = np.tile([1, 1], (steps, 1))  # always (H, H): the equilibrium the set does not hold
    payoffs = np.tile(STAG.payoffs[:, 1, 1], (steps, 1))
    chunk = TraceChunk(joint_actions=hare, returns=payoffs)
    score = score_trace(
        STAG, partial, chunk, ScoreOptions(criteria=("averaged_joint_policy", "average_return"))
    )
    for name in ("averaged_joint_policy", "average_return"):
        assert score[name].verdict == "inconclusive", score[name].evidence
        assert "partial" in score[name].evidence
    complete = solve(STAG)
    against_all = score_trace(
        STAG, complete, chunk, ScoreOptions(criteria=("averaged_joint_policy", "average_return"))
    )
    assert against_all["averaged_joint_policy"].verdict == "converged"
    assert against_all["average_return"].verdict == "converged"
    # Against the partial set alone, the frequencies sit at TV 1 from (S, S): the old "not converged".
    assert score["averaged_joint_policy"].final_value == pytest.approx(1.0)
