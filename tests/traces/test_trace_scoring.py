"""Tests of ``equilibria.solver.traces.scorer`` and ``equilibria.solver.traces.verdicts``.

The traces are produced here by real learning dynamics (SPEC section 6):

* fictitious play in rock-paper-scissors: the empirical distribution converges to the
  uniform equilibrium (Robinson 1951), the last iterate does not;
* fictitious play in Shapley's 3x3 game: the empirical distribution cycles with growing
  periods and must *not* be called converged;
* discrete replicator dynamics in the stag hunt from interior starts: each reaches the
  pure equilibrium of its basin, which is named, with no switch;
* regret matching with sampled actions: the empirical joint play approaches the CCE
  polytope (``averaged_joint_policy`` with ``joint_concept="coarse_correlated"``);
* a trace approaching the middle of the continuum of equilibria of the degenerate game
  ``A = B = [[1, 1], [0, 0]]``: the distance to the set goes to 0 while the distance to
  each extreme equilibrium stays near 1/2;
* a two-state stochastic game scored with state weights.

Every curve value checked is compared with an independent computation written here
(numpy running means and total variation, nashpy's expected utilities, a linear
program for the CCE distance built by loops and solved by scipy's HiGHS, policy
evaluation and value iteration for stochastic NashConv), never with the scorer itself.
Streaming is checked to be bit-identical for any chunking (Hypothesis), memory to be
bounded on a 10^6-row trace, and malformed chunks to be rejected with the field and
the first bad row named.
"""

from __future__ import annotations

import itertools
import math
import time
import tracemalloc

import nashpy
import numpy as np
import pytest
from equilibria.solver import (
    InvalidGameError,
    InvalidOptionError,
    NormalFormGame,
    ProblemTooLargeError,
    StochasticGame,
    UnsupportedError,
    certify,
    solve,
    solve_stochastic,
)
from equilibria.solver.traces import (
    CriterionScore,
    ScoreOptions,
    SolutionTarget,
    TraceChunk,
    TraceScore,
    TraceScorer,
    score_trace,
)
from equilibria.solver.traces import checkpoints as trace_checkpoints
from equilibria.solver.traces import options as trace_options
from equilibria.solver.traces import scorer as ts
from equilibria.solver.traces import target as trace_target
from equilibria.solver.traces.distances import distance
from equilibria.solver.traces.metrics import KL_SMOOTHING, PROBABILITY_TOL
from equilibria.solver.traces.options import CRITERIA, CURVES
from equilibria.solver.traces.verdicts import (
    PERIOD_STRENGTH,
    RATE_RISE,
    RATE_STALL,
    RateFit,
    TailEvidence,
    concentration_radius,
    decide_verdict,
    detect_period,
    fit_rate,
    metric_diameter,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.stats import norm

from .. import games
from ..dynamics import fictitious_play, regret_matching, replicator

# --------------------------------------------------------------------------- oracles


def tv(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(p - q).sum(axis=-1)


def running_mean(x: np.ndarray) -> np.ndarray:
    return np.cumsum(x, axis=0) / np.arange(1, x.shape[0] + 1)[:, None]


def cce_tv_distance(game: NormalFormGame, joint: np.ndarray) -> float:
    """TV distance from a joint distribution to the CCE polytope: constraints by loops, HiGHS LP."""
    a_mat, b_mat = game.bimatrix()
    m, n = a_mat.shape
    cells = list(itertools.product(range(m), range(n)))
    rows = []
    for dev in range(m):  # row player commits to `dev`
        rows.append([a_mat[dev, c] - a_mat[r, c] for r, c in cells])
    for dev in range(n):
        rows.append([b_mat[r, dev] - b_mat[r, c] for r, c in cells])
    k = len(cells)
    x = joint.ravel()
    # variables (p, t): minimise sum(t)/2 with t >= |p - x|
    a_ub = np.block(
        [
            [np.array(rows), np.zeros((len(rows), k))],
            [np.eye(k), -np.eye(k)],
            [-np.eye(k), -np.eye(k)],
        ]
    )
    b_ub = np.concatenate([np.zeros(len(rows)), x, -x])
    a_eq = np.concatenate([np.ones(k), np.zeros(k)])[None]
    res = linprog(
        np.concatenate([np.zeros(k), 0.5 * np.ones(k)]),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=[1.0],
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


def markov_nash_conv(rewards, transitions, gamma, mu0, policies) -> float:
    """NashConv of a stationary profile by policy evaluation and value iteration (2 players, 2 states)."""
    s_count = rewards.shape[0]
    joint = np.einsum("sa,sb->sab", policies[0], policies[1])
    total = 0.0
    for i in range(2):
        r_pi = np.einsum("sab,sab->s", joint, rewards[:, i])
        p_pi = np.einsum("sab,sabt->st", joint, transitions)
        v_pi = np.linalg.solve(np.eye(s_count) - gamma * p_pi, r_pi)
        v = np.zeros(s_count)
        for _ in range(5000):
            if i == 0:
                q = np.einsum("sb,sab->sa", policies[1], rewards[:, 0] + gamma * transitions @ v)
            else:
                q = np.einsum("sa,sab->sb", policies[0], rewards[:, 1] + gamma * transitions @ v)
            new = q.max(axis=1)
            if np.abs(new - v).max() < 1e-13:
                v = new
                break
            v = new
        total += float(mu0 @ (v - v_pi))
    return total


def equilibrium_index(solution_set, profile) -> int:
    """Index of the equilibrium with these strategies (looked up, not assumed)."""
    for k, eq in enumerate(solution_set.equilibria):
        if all(np.allclose(s, p) for s, p in zip(eq.strategies, profile, strict=True)):
            return k
    raise AssertionError(f"{profile} is not in the solution set")


def curve_at(score: CriterionScore, oracle: np.ndarray) -> np.ndarray:
    """The oracle curve (indexed by z - 1) at the score's checkpoints."""
    return oracle[score.checkpoints_z - 1]


# --------------------------------------------------------------------------- (a) fictitious play in RPS


@pytest.fixture(scope="module")
def rps_fp():
    game = games.rock_paper_scissors()
    xs, ys = fictitious_play(game, 20_000)
    return game, solve(game), xs, ys


def test_fictitious_play_rps_empirical_converges_last_iterate_does_not(rps_fp) -> None:
    game, solution, xs, ys = rps_fp
    score = score_trace(game, solution, TraceChunk(policies=(xs, ys)))
    empirical, last = score["empirical_distribution"], score["last_iterate"]
    assert empirical.verdict == "converged", empirical.evidence
    assert empirical.epsilon is not None and empirical.epsilon <= 0.05
    assert empirical.nearest_solution == ("point", equilibrium_index(solution, [np.full(3, 1 / 3)] * 2))
    assert -0.8 < empirical.fitted_rate < -0.3  # about z^-1/2
    assert last.verdict == "not_converged", last.evidence
    assert score.selected == empirical.nearest_solution and not score.switched
    # Curves against numpy: TV of the running means / of the iterates to the uniform profile.
    uniform = np.full(3, 1.0 / 3.0)
    d_avg = np.maximum(tv(running_mean(xs), uniform), tv(running_mean(ys), uniform))
    d_last = np.maximum(tv(xs, uniform), tv(ys, uniform))
    np.testing.assert_allclose(empirical.values, curve_at(empirical, d_avg), atol=1e-12)
    np.testing.assert_allclose(last.values, curve_at(last, d_last), atol=1e-12)
    assert empirical.final_value == pytest.approx(d_avg[-1], abs=1e-12)
    # z0(eps) = 1 + the last z with d >= eps.
    for eps, z0 in score["set_convergence"].z0.items():
        above = np.flatnonzero(d_avg >= eps)
        expected = 1 if above.size == 0 else int(above[-1]) + 2
        assert z0 == (expected if expected <= d_avg.size else None)


def test_fictitious_play_rps_payoff_and_nash_conv_curves(rps_fp) -> None:
    game, solution, xs, ys = rps_fp
    score = score_trace(game, solution, TraceChunk(policies=(xs, ys)))
    nash = nashpy.Game(*game.bimatrix())
    expected = score["expected_return"]
    oracle = [max(abs(u) for u in nash[xs[z - 1], ys[z - 1]]) for z in expected.checkpoints_z]
    np.testing.assert_allclose(expected.values, oracle, atol=1e-12)  # equilibrium payoffs (0, 0)
    assert expected.scale == game.payoff_scale
    avg_x, avg_y = running_mean(xs), running_mean(ys)
    nc = score["nash_conv_average"]
    oracle = [certify(game, (avg_x[z - 1], avg_y[z - 1])).nash_conv for z in nc.checkpoints_z]
    np.testing.assert_allclose(nc.values, oracle, atol=1e-12)
    assert nc.verdict == "converged"
    assert score["nash_conv"].verdict == "not_converged"


# --------------------------------------------------------------------------- (b) Shapley's game


def test_fictitious_play_in_shapleys_game_is_not_called_converged() -> None:
    game = games.shapley_game()
    solution = solve(game)
    xs, ys = fictitious_play(game, 20_000)
    score = score_trace(game, solution, TraceChunk(policies=(xs, ys)))
    for name in ("empirical_distribution", "set_convergence", "last_iterate", "nash_conv_average"):
        s = score[name]
        assert s.verdict != "converged", (name, s.evidence)
        assert s.verdict in ("not_converged", "inconclusive")
    uniform = np.full(3, 1.0 / 3.0)
    d_avg = np.maximum(tv(running_mean(xs), uniform), tv(running_mean(ys), uniform))
    assert score["empirical_distribution"].final_value == pytest.approx(d_avg[-1], abs=1e-12)
    assert all(z0 is None for z0 in score["set_convergence"].z0.values())


# --------------------------------------------------------------------------- (c) replicator dynamics


@pytest.mark.parametrize(
    ("start", "limit"),
    [
        pytest.param((0.9, 0.1), (1.0, 0.0), id="stag-basin"),
        pytest.param((0.5, 0.5), (0.0, 1.0), id="hare-basin"),
    ],
)
def test_replicator_in_the_stag_hunt_selects_the_pure_equilibrium_of_its_basin(start, limit) -> None:
    game = games.stag_hunt()
    solution = solve(game)
    xs, ys = replicator(game, np.array(start), np.array(start), 3000)
    score = score_trace(game, solution, TraceChunk(policies=(xs, ys)))
    index = equilibrium_index(solution, [np.array(limit)] * 2)
    for name in ("last_iterate", "set_convergence"):
        s = score[name]
        assert s.verdict == "converged", (name, s.evidence)
        assert s.nearest_solution == ("point", index)
        assert not s.switched and s.switch_count == 0
    assert score.selected == ("point", index) and score.selected_by == "set_convergence"
    assert not score.switched
    # The other pure equilibrium stays far: TV 1 to it.
    other = np.array(limit[::-1])
    assert tv(xs[-1], other) > 0.99


def test_a_trace_that_moves_between_equilibria_switches() -> None:
    game = games.stag_hunt()
    solution = solve(game)
    n = 400
    stag, hare = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    xs = np.vstack([np.tile(stag, (n, 1)), np.tile(hare, (n, 1)), np.tile(stag, (n, 1))])
    score = score_trace(
        game, solution, TraceChunk(policies=(xs, xs)), ScoreOptions(criteria=("last_iterate",))
    )
    last = score["last_iterate"]
    assert last.switch_count == 2 and last.switched
    assert last.nearest_solution == ("point", equilibrium_index(solution, [stag, stag]))


# --------------------------------------------------------------------------- (d) regret matching


@pytest.mark.parametrize(
    "factory",
    [pytest.param(games.chicken, id="chicken-2x2"), pytest.param(games.shapley_game, id="shapley-3x3")],
)
def test_regret_matching_joint_play_approaches_the_cce_set(factory) -> None:
    game = factory()
    actions = regret_matching(game, 20_000, seed=3)
    options = ScoreOptions(joint_concept="coarse_correlated")
    score = score_trace(game, solve(game), TraceChunk(joint_actions=actions), options)
    s = score["averaged_joint_policy"]
    assert s.verdict == "converged", s.evidence
    assert s.nearest_solution is None  # a polytope, not a member of the NE set
    m, n = game.num_actions
    for z, value in list(zip(s.checkpoints_z, s.values, strict=True))[-4:]:
        counts = np.bincount(actions[:z, 0] * n + actions[:z, 1], minlength=m * n) / z
        assert value == pytest.approx(cce_tv_distance(game, counts), abs=1e-7)
    # The radius is the union-bounded L1 deviation bound over the m*n joint actions.
    k = m * n
    r1 = math.sqrt(2 * (math.log(2**k - 2) + math.log(1 / 0.05)) / 20_000)
    r_inf = math.sqrt(math.log(2 * k / 0.05) / (2 * 20_000))
    assert s.confidence_radius == pytest.approx(min(r1, k * r_inf) / 2, rel=1e-12)


def test_correlated_concept_accepts_aumanns_correlated_equilibrium_and_rejects_mutual_defection() -> None:
    game = games.chicken()
    rng = np.random.default_rng(8)
    cells = rng.integers(0, 3, size=20_000)  # (C, C), (C, D), (D, C) with probability 1/3 each
    aumann = np.array([[0, 0], [0, 1], [1, 0]])[cells]
    options = ScoreOptions(joint_concept="correlated", criteria=("averaged_joint_policy",))
    s = score_trace(game, solve(game), TraceChunk(joint_actions=aumann), options)["averaged_joint_policy"]
    assert s.verdict == "converged", s.evidence
    crash = np.ones((20_000, 2), dtype=int)  # (D, D): each driver gains by swerving
    s = score_trace(game, solve(game), TraceChunk(joint_actions=crash), options)["averaged_joint_policy"]
    assert s.verdict == "not_converged", s.evidence
    # In a 2x2 game CE = CCE, so the CCE oracle applies: (D, D) is 0.8 from the polytope in TV.
    assert s.final_value == pytest.approx(cce_tv_distance(game, np.array([[0.0, 0.0], [0.0, 1.0]])), abs=1e-9)


# --------------------------------------------------------------------------- (e) continuum


def test_a_trace_into_a_continuum_converges_to_the_set_not_to_an_extreme_point() -> None:
    game = games.degenerate_continuum()
    solution = solve(game)
    z = np.arange(1, 5001)[:, None]
    xs = np.hstack([1.0 - 0.5 / z, 0.5 / z])
    ys = np.hstack([0.5 + 0.5 / z, 0.5 - 0.5 / z])  # -> (1/2, 1/2), inside the segment
    score = score_trace(game, solution, TraceChunk(policies=(xs, ys)))
    last = score["last_iterate"]
    assert last.verdict == "converged", last.evidence
    assert last.nearest_solution == ("component", 0)
    # Oracle: player 2 is inside the component's hull (the whole simplex); player 1 at TV 0.5/z.
    d_set = tv(xs, np.array([1.0, 0.0]))
    np.testing.assert_allclose(last.values, curve_at(last, d_set), atol=1e-12)
    assert last.final_value == pytest.approx(1e-4, abs=1e-12)
    # ...while every extreme equilibrium stays about 1/2 away.
    for eq in solution.equilibria:
        d_point = np.maximum(tv(xs, eq.strategies[0]), tv(ys, eq.strategies[1]))
        assert d_point[-1000:].min() > 0.49
    above = np.flatnonzero(d_set >= 0.01)
    assert last.z0[0.01] == int(above[-1]) + 2 and last.z0_exact


def _edge_target_trace(steps: int):
    """A target whose player-2 hull is the edge (1,0,0)-(0,1,0), and a trace into its middle.

    The trace comes from the interior at TV distance ``delta_z = 0.9 / sqrt(z)`` (exactly).
    """
    game = NormalFormGame.from_bimatrix(np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3) % 4)
    target = SolutionTarget.from_points(
        [], components=[(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))]
    )
    z = np.arange(1, steps + 1)[:, None]
    delta = 0.9 / np.sqrt(z)
    ys = np.hstack([(1 - delta) / 2, (1 - delta) / 2, delta])
    xs = np.tile([1.0, 0.0], (z.size, 1))
    return game, target, xs, ys


@pytest.mark.parametrize("metric", ["tv", "l2", "hellinger"])
def test_bracketed_component_distances_are_conservative_and_exact_at_checkpoints(metric) -> None:
    game, target, xs, ys = _edge_target_trace(3000)
    delta = ys[:, 2:]
    score = score_trace(
        game, target, TraceChunk(policies=(xs, ys)), ScoreOptions(metric=metric, criteria=("last_iterate",))
    )
    last = score["last_iterate"]
    # Oracle: by symmetry the nearest point of the edge is its middle (1/2, 1/2, 0).
    nearest = np.array([0.5, 0.5, 0.0])
    if metric == "tv":
        oracle = delta[:, 0]
    elif metric == "l2":
        oracle = np.sqrt(((ys - nearest) ** 2).sum(axis=1))
    else:
        oracle = np.sqrt(0.5 * ((np.sqrt(ys) - np.sqrt(nearest)) ** 2).sum(axis=1))
    np.testing.assert_allclose(last.values, curve_at(last, oracle), rtol=1e-6, atol=1e-9)
    for eps, z0 in last.z0.items():
        above = np.flatnonzero(oracle >= eps * (1 - 1e-9))  # d >= eps: a tie is not below eps
        exact = 1 if above.size == 0 else int(above[-1]) + 2
        if exact > oracle.size:
            exact = None
        assert z0 is None or (exact is not None and z0 >= exact)  # never claims convergence too early
        if last.z0_exact:
            assert z0 == exact
    assert last.z0_exact == (metric == "l2")
    assert bool(score.warnings) == (metric != "l2")


# --------------------------------------------------------------------------- (f) streaming


def _full_trace(steps: int = 3000):
    game = games.rock_paper_scissors()
    xs, ys = fictitious_play(game, steps)
    rng = np.random.default_rng(7)
    actions = np.stack([xs.argmax(axis=1), ys.argmax(axis=1)], axis=1)
    history = rng.integers(-5, 5, size=steps)
    returns = rng.normal(0.0, 1.0, size=(steps, 2))
    return game, xs, ys, actions, history, returns


def _chunks(data, cuts):
    _game, xs, ys, actions, history, returns = data
    for lo, hi in itertools.pairwise(cuts):
        yield TraceChunk(
            policies=(xs[lo:hi], ys[lo:hi]),
            joint_actions=actions[lo:hi],
            history=history[lo:hi],
            returns=returns[lo:hi],
        )


def assert_identical(a: TraceScore, b: TraceScore) -> None:
    assert a.names == b.names
    for ca, cb in zip(a.criteria, b.criteria, strict=True):
        for field in (
            "name",
            "final_value",
            "verdict",
            "epsilon",
            "evidence",
            "fitted_rate",
            "rate_r2",
            "z",
            "z0",
            "z0_exact",
            "confidence_radius",
            "nearest_solution",
            "switch_count",
        ):
            va, vb = getattr(ca, field), getattr(cb, field)
            assert va == vb or (isinstance(va, float) and math.isnan(va) and math.isnan(vb)), (ca.name, field)
        assert np.array_equal(ca.checkpoints_z, cb.checkpoints_z)
        assert np.array_equal(ca.values, cb.values)  # bit-identical
    assert (a.selected, a.switched, a.z_seen) == (b.selected, b.switched, b.z_seen)


@pytest.fixture(scope="module")
def streamed():
    data = _full_trace()
    game = data[0]
    solution = solve(game)
    whole = score_trace(game, solution, list(_chunks(data, [0, 3000])))
    return data, solution, whole


@settings(deadline=None, max_examples=8)
@given(st.lists(st.integers(1, 2999), min_size=1, max_size=12, unique=True))
def test_streaming_in_any_chunks_is_bit_identical_to_one_chunk(streamed, cuts) -> None:
    data, solution, whole = streamed
    scorer = TraceScorer(data[0], solution)
    for chunk in _chunks(data, [0, *sorted(cuts), 3000]):
        scorer.update(chunk)
        scorer.result()  # live monitoring must not disturb the state
    assert_identical(scorer.result(), whole)


def test_streaming_with_bracketed_components_and_fixed_sizes_is_bit_identical() -> None:
    game, target, xs, ys = _edge_target_trace(1000)
    options = ScoreOptions(metric="tv", criteria=("last_iterate", "nash_conv"), n_checkpoints=16)
    whole = score_trace(game, target, TraceChunk(policies=(xs, ys)), options)
    assert not whole["last_iterate"].z0_exact  # the bracket is in use
    for size in (1, 13, 999):
        cuts = [*range(0, 1000, size), 1000] if size > 1 else [*range(0, 60), 1000]
        parts = [TraceChunk(policies=(xs[lo:hi], ys[lo:hi])) for lo, hi in itertools.pairwise(cuts)]
        assert_identical(score_trace(game, target, parts, options), whole)


def test_every_curve_reported_with_default_criteria_and_the_stream_counts() -> None:
    data = _full_trace(500)
    score = score_trace(data[0], solve(data[0]), list(_chunks(data, [0, 200, 500])))
    # every curve but credit_assignment, which is for team games (rock-paper-scissors is zero-sum)
    assert score.names == tuple(c for c in CURVES if c != "credit_assignment")
    assert score.credit is None
    assert (score.n_policies, score.n_samples, score.n_returns, score.z_seen) == (500, 500, 500, 500)
    assert all(s.verdict in ("converged", "not_converged", "inconclusive") for s in score.criteria)
    assert "last_iterate" in score and "nope" not in score
    with pytest.raises(KeyError):
        score["nope"]


def test_requested_criteria_without_data_are_inconclusive() -> None:
    game = games.matching_pennies()
    options = ScoreOptions(criteria=("average_return", "last_iterate"))
    score = score_trace(game, solve(game), TraceChunk(returns=np.zeros((50, 2))), options)
    assert score.names == ("last_iterate", "average_return")
    assert score["last_iterate"].verdict == "inconclusive" and "no data" in score["last_iterate"].evidence
    assert score["last_iterate"].z == 0 and math.isnan(score["last_iterate"].final_value)


# --------------------------------------------------------------------------- (g) malformed chunks

_BAD_CHUNKS = [
    pytest.param(
        lambda: TraceChunk(
            policies=(
                np.full((20, 2), 0.5),
                np.vstack([np.full((17, 2), 0.5), [[0.5, 0.8]], np.full((2, 2), 0.5)]),
            )
        ),
        "chunk.policies[1]",
        "policies[1][17] sums to 1.3, not 1",
        id="sum",
    ),
    pytest.param(
        lambda: TraceChunk(policies=(np.vstack([np.full((4, 2), 0.5), [[1.2, -0.2]]]), np.full((5, 2), 0.5))),
        "chunk.policies[0]",
        "policies[0][4] has a negative probability -0.2",
        id="negative",
    ),
    pytest.param(
        lambda: TraceChunk(policies=(np.full((3, 2), np.nan), np.full((3, 2), 0.5))),
        "chunk.policies[0]",
        "policies[0][0] has a non-finite entry",
        id="nan-policy",
    ),
    pytest.param(
        lambda: TraceChunk(returns=np.vstack([np.zeros((5, 2)), [[0.0, np.nan]]])),
        "chunk.returns",
        "returns[5] = [0.0, nan] is not finite",
        id="nan-return",
    ),
    pytest.param(
        lambda: TraceChunk(returns=np.zeros(4)), "chunk.returns", "(z, n_players)", id="return-shape"
    ),
    pytest.param(
        lambda: TraceChunk(policies=(np.full((3, 2), 0.5), np.full((4, 2), 0.5))),
        "chunk.policies",
        "disagree in rows",
        id="rows",
    ),
    pytest.param(
        lambda: TraceChunk(joint_actions=np.array([[0, 1], [1, -1]])),
        "chunk.joint_actions",
        "joint_actions[1] = [1, -1] has a negative action",
        id="negative-action",
    ),
    pytest.param(
        lambda: TraceChunk(joint_actions=np.array([[0.0, 1.5]])),
        "chunk.joint_actions",
        "is not an integer",
        id="fractional-action",
    ),
    pytest.param(
        lambda: TraceChunk(joint_actions=np.zeros((3, 2), dtype=int), history=np.zeros(2, dtype=int)),
        "chunk.history",
        "does not match 3 joint actions",
        id="history-length",
    ),
    pytest.param(
        lambda: TraceChunk(history=np.zeros(2, dtype=int)), "chunk", "no policies", id="history-alone"
    ),
]


@pytest.mark.parametrize(("make", "field", "message"), _BAD_CHUNKS)
def test_malformed_chunks_are_rejected_naming_field_and_row(make, field, message) -> None:
    with pytest.raises(InvalidGameError) as info:
        make()
    assert info.value.field == field
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("chunk", "field", "message"),
    [
        pytest.param(
            TraceChunk(joint_actions=np.array([[0, 0], [1, 0], [0, 1], [2, 5]])),
            "chunk.joint_actions",
            "joint_actions[3][0] = 2 is out of range [0, 2)",
            id="action-range",
        ),
        pytest.param(
            TraceChunk(policies=(np.full((2, 3), 1 / 3), np.full((2, 2), 0.5))),
            "chunk.policies[0]",
            "expected (z, 2)",
            id="action-count",
        ),
        pytest.param(
            TraceChunk(policies=(np.full((2, 2), 0.5),) * 3),
            "chunk.policies",
            "3 policy arrays for 2 players",
            id="players",
        ),
        pytest.param(
            TraceChunk(returns=np.zeros((2, 3))), "chunk.returns", "3 columns for 2 players", id="returns"
        ),
    ],
)
def test_chunks_that_do_not_fit_the_game_leave_the_scorer_unchanged(chunk, field, message) -> None:
    game = games.matching_pennies()
    scorer = TraceScorer(game, solve(game))
    scorer.update(TraceChunk(policies=(np.full((30, 2), 0.5),) * 2, returns=np.zeros((30, 2))))
    before = scorer.result()
    with pytest.raises(InvalidGameError) as info:
        scorer.update(chunk)
    assert info.value.field == field and message in str(info.value)
    assert scorer.z == {"policies": 30, "samples": 0, "returns": 30}
    assert_identical(scorer.result(), before)


def test_too_many_histories_is_a_clear_error() -> None:
    game = games.matching_pennies()
    scorer = TraceScorer(game, solve(game), ScoreOptions(max_histories=10))
    scorer.update(TraceChunk(joint_actions=np.zeros((8, 2), dtype=int), history=np.arange(8)))
    with pytest.raises(ProblemTooLargeError) as info:
        scorer.update(TraceChunk(joint_actions=np.zeros((5, 2), dtype=int), history=np.arange(5, 10) * 3))
    assert info.value.field == "max_histories" and "max_histories = 10" in str(info.value)
    assert scorer.z["samples"] == 8
    scorer.update(TraceChunk(joint_actions=np.zeros((4, 2), dtype=int), history=np.array([0, 1, 20, 21])))
    assert scorer.z["samples"] == 12


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"criteria": ("last_iterate", "fastest")}, "criteria", id="criteria"),
        pytest.param({"criteria": "last_iterate"}, "criteria", id="criteria-string"),
        pytest.param({"metric": "cosine"}, "metric", id="metric"),
        pytest.param({"aggregate": "mean"}, "aggregate", id="aggregate"),
        pytest.param({"epsilons": ()}, "epsilons", id="epsilons-empty"),
        pytest.param({"epsilons": (0.1, -0.01)}, "epsilons", id="epsilons-negative"),
        pytest.param({"epsilons": (math.inf,)}, "epsilons", id="epsilons-inf"),
        pytest.param({"tail_window": 1}, "tail_window", id="tail-window"),
        pytest.param({"tail_fraction": 0.9}, "tail_fraction", id="tail-fraction"),
        pytest.param({"min_tail": 1.5}, "min_tail", id="min-tail"),
        pytest.param({"confidence": 1.0}, "confidence", id="confidence"),
        pytest.param({"n_checkpoints": 4}, "n_checkpoints", id="checkpoints"),
        pytest.param({"max_histories": 0}, "max_histories", id="histories"),
        pytest.param({"joint_concept": "pareto"}, "joint_concept", id="joint-concept"),
        pytest.param({"state_weights": (-1.0, 2.0)}, "state_weights", id="weights"),
        pytest.param({"tail_buffer": True}, "tail_buffer", id="buffer-bool"),
    ],
)
def test_options_are_validated_naming_the_field(options, field) -> None:
    with pytest.raises(InvalidOptionError) as info:
        ScoreOptions(**options)
    assert info.value.field == field and "ScoreOptions()" in str(info.value)


def test_scorer_rejects_mismatched_games_sets_and_options() -> None:
    pennies, rps = games.matching_pennies(), games.rock_paper_scissors()
    with pytest.raises(InvalidGameError) as info:
        TraceScorer(pennies, solve(rps))
    assert info.value.field == "solution_set"
    with pytest.raises(InvalidOptionError) as info:
        TraceScorer(pennies, solve(pennies), ScoreOptions(state_weights=(1.0,)))
    assert info.value.field == "state_weights"
    with pytest.raises(InvalidGameError) as info:
        TraceScorer(np.zeros((2, 2, 2)), solve(pennies))  # type: ignore[arg-type]
    assert info.value.field == "game"
    game = _two_state_game()
    with pytest.raises(InvalidOptionError) as info:
        TraceScorer(game, solve_stochastic(game), ScoreOptions(state_weights=(1.0, 0.0, 0.0)))
    assert info.value.field == "state_weights"
    with pytest.raises(InvalidOptionError) as info:
        TraceScorer(game, solve_stochastic(game), ScoreOptions(joint_concept="correlated"))
    assert info.value.field == "joint_concept"
    with pytest.raises(InvalidGameError) as info:
        TraceScorer(pennies, solve_stochastic(game))
    assert info.value.field == "solution_set"
    finite = StochasticGame(game.rewards, game.transition_matrix, discount=0.9, horizon=3)
    with pytest.raises(UnsupportedError) as info:
        TraceScorer(finite, solve_stochastic(game))
    assert info.value.field == "game"


# --------------------------------------------------------------------------- (h) memory


def _noisy_rows(rng, start: int, count: int) -> np.ndarray:
    z = np.arange(start + 1, start + count + 1)[:, None]
    return (1.0 - 1.0 / np.sqrt(z)) / 3.0 + rng.dirichlet(np.ones(3), size=count) / np.sqrt(z)


def _feed(total: int, chunk: int = 20_000) -> tuple[TraceScorer, int, float]:
    game = games.rock_paper_scissors()
    scorer = TraceScorer(game, solve(game))
    rng = np.random.default_rng(11)
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    for start in range(0, total, chunk):
        x, y = _noisy_rows(rng, start, chunk), _noisy_rows(rng, start, chunk)
        scorer.update(TraceChunk(policies=(x, y), returns=np.stack([x[:, 0], y[:, 0]], axis=1)))
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return scorer, peak, elapsed


def test_memory_is_bounded_for_a_million_snapshot_trace() -> None:
    short, short_peak, _ = _feed(200_000)
    long, long_peak, elapsed = _feed(1_000_000)
    assert long.z["policies"] == 1_000_000
    # The state is the same size after 2e5 and 1e6 rows, and the peak does not grow with length.
    assert short.state_nbytes <= long.state_nbytes <= 1.05 * short.state_nbytes < 300_000
    assert long_peak < 1.25 * short_peak
    score = long.result()
    assert all(s.checkpoints_z.size <= 64 for s in score.criteria)
    assert score["empirical_distribution"].verdict == "converged"
    print(f"1e6 rows x 2 players x 3 actions, chunks of 2e4: {elapsed:.2f} s, {1e6 / elapsed:.3g} rows/s")


# --------------------------------------------------------------------------- (i) stochastic game


def _two_state_game() -> StochasticGame:
    """State 0 plays matching pennies, state 1 a game with a saddle point; moves are action-free coin flips."""
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    saddle = np.array([[2.0, 1.0], [0.0, 0.0]])
    rewards = np.stack([np.stack([pennies, -pennies]), np.stack([saddle, -saddle])])
    return StochasticGame(rewards, np.full((2, 2, 2, 2), 0.5), discount=0.9)


def test_a_stochastic_trace_is_scored_with_state_weights() -> None:
    game = _two_state_game()
    solution = solve_stochastic(game)
    # The unique stationary equilibrium: the stage equilibria (transitions ignore actions).
    np.testing.assert_allclose(solution.equilibria[0].policies[0], [[0.5, 0.5], [1.0, 0.0]], atol=1e-9)
    steps = 2000
    z = np.arange(1, steps + 1)[:, None]
    to_half = np.hstack([0.5 + 0.4 / z, 0.5 - 0.4 / z])
    x = np.stack([to_half, np.hstack([1.0 - 0.5 / z, 0.5 / z])], axis=1)
    y = np.stack([to_half, np.tile([0.5, 0.5], (steps, 1))], axis=1)  # wrong in state 1
    chunks = [TraceChunk(policies=(x[:700], y[:700])), TraceChunk(policies=(x[700:], y[700:]))]
    default = score_trace(game, solution, chunks)  # weights: mu0 = (1/2, 1/2)
    state0 = score_trace(
        game, solution, chunks, ScoreOptions(state_weights=(1.0, 0.0), criteria=("last_iterate",))
    )
    assert default["last_iterate"].verdict == "not_converged"
    assert state0["last_iterate"].verdict == "converged"
    # Oracle: the weighted TV (max over players per state).
    target = solution.equilibria[0].policies
    per_state = np.maximum(tv(x, target[0][None]), tv(y, target[1][None]))
    np.testing.assert_allclose(
        default["last_iterate"].values, curve_at(default["last_iterate"], per_state @ [0.5, 0.5]), atol=1e-12
    )
    np.testing.assert_allclose(
        state0["last_iterate"].values, curve_at(state0["last_iterate"], per_state[:, 0]), atol=1e-12
    )
    # NashConv at checkpoints, against policy evaluation and value iteration written here.
    transitions = np.full((2, 2, 2, 2), 0.5)
    nc = default["nash_conv"]
    for zc, value in zip(nc.checkpoints_z[-3:], nc.values[-3:], strict=True):
        oracle = markov_nash_conv(
            game.rewards, transitions, 0.9, np.array([0.5, 0.5]), (x[zc - 1], y[zc - 1])
        )
        assert value == pytest.approx(oracle, abs=1e-9)
    assert nc.final_value == pytest.approx(
        markov_nash_conv(game.rewards, transitions, 0.9, np.array([0.5, 0.5]), (x[-1], y[-1])), abs=1e-9
    )
    assert nc.scale == pytest.approx(3.0 / (1.0 - 0.9))


def test_stochastic_samples_and_returns() -> None:
    game = _two_state_game()
    solution = solve_stochastic(game)
    rng = np.random.default_rng(5)
    steps = 20_000
    states = rng.integers(0, 2, size=steps)
    p1 = np.where(states == 0, 0.5, 1.0)  # probability of action 0
    p2 = np.where(states == 0, 0.5, 0.0)
    actions = np.stack([(rng.random(steps) >= p1).astype(int), (rng.random(steps) >= p2).astype(int)], axis=1)
    returns = rng.normal(solution.equilibria[0].payoffs, 2.0, size=(steps, 2))
    score = score_trace(game, solution, TraceChunk(joint_actions=actions, history=states, returns=returns))
    joint = score["averaged_joint_policy"]
    assert joint.verdict == "converged", joint.evidence
    assert joint.nearest_solution == ("point", 0)
    # Oracle: per-state empirical joint frequencies, TV to the product of the equilibrium's
    # policies in that state (issue 18: joint play, not marginals), weighted by mu0.
    target = solution.equilibria[0].policies
    d = 0.0
    for s in range(2):
        rows = actions[states == s]
        freq = np.zeros((2, 2))
        np.add.at(freq, (rows[:, 0], rows[:, 1]), 1.0)
        d += 0.5 * tv((freq / rows.shape[0]).ravel(), np.outer(target[0][s], target[1][s]).ravel())
    assert joint.final_value == pytest.approx(d, abs=1e-12)
    # The marginal-only variant keeps its own name: per-state marginals, the larger TV.
    marginals = score_trace(
        game,
        solution,
        TraceChunk(joint_actions=actions, history=states, returns=returns),
        ScoreOptions(joint_concept="nash_marginals"),
    )["averaged_joint_policy"]
    d = 0.0
    for s in range(2):
        rows = actions[states == s]
        marg = [np.bincount(rows[:, i], minlength=2) / rows.shape[0] for i in range(2)]
        d += 0.5 * max(tv(marg[0], target[0][s]), tv(marg[1], target[1][s]))
    assert marginals.final_value == pytest.approx(d, abs=1e-12)
    avg = score["average_return"]
    assert avg.verdict == "converged", avg.evidence
    half = norm.ppf(1 - 0.05 / 4) * returns.std(axis=0, ddof=1) / math.sqrt(steps)
    assert avg.confidence_radius == pytest.approx(half.max(), rel=1e-9)
    assert avg.final_value == pytest.approx(
        np.abs(returns.mean(axis=0) - solution.equilibria[0].payoffs).max(), abs=1e-9
    )
    with pytest.raises(InvalidGameError) as info:
        TraceScorer(game, solution).update(TraceChunk(joint_actions=actions[:3]))
    assert info.value.field == "chunk.history"
    with pytest.raises(InvalidGameError) as info:
        TraceScorer(game, solution).update(TraceChunk(joint_actions=actions[:3], history=np.array([0, 2, 1])))
    assert info.value.field == "chunk.history" and "history[1] = 2" in str(info.value)


def test_ragged_stochastic_games_reject_play_of_actions_that_do_not_exist() -> None:
    # State 1 gives the row player a single action.
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0, 0] = [[1.0, 0.0], [0.0, 1.0]]
    rewards[0, 1] = -rewards[0, 0]
    game = StochasticGame(
        rewards, np.full((2, 2, 2, 2), 0.5), discount=0.5, action_counts=np.array([[2, 2], [1, 2]])
    )
    target = SolutionTarget.from_points(
        [(np.array([[0.5, 0.5], [1.0, 0.0]]), np.array([[0.5, 0.5], [1.0, 0.0]]))]
    )
    scorer = TraceScorer(game, target)
    bad = np.array([[[0.5, 0.5], [0.5, 0.5]]] * 3)
    good = np.array([[[0.5, 0.5], [1.0, 0.0]]] * 3)
    with pytest.raises(InvalidGameError) as info:
        scorer.update(TraceChunk(policies=(bad, good)))
    assert info.value.field == "chunk.policies[0]" and "does not exist in state 1" in str(info.value)
    with pytest.raises(InvalidGameError) as info:
        scorer.update(
            TraceChunk(joint_actions=np.array([[0, 0], [1, 1], [1, 0]]), history=np.array([0, 0, 1]))
        )
    assert info.value.field == "chunk.joint_actions" and "joint_actions[2][0] = 1" in str(info.value)
    scorer.update(
        TraceChunk(policies=(good, good), joint_actions=np.array([[1, 1], [0, 1]]), history=np.array([0, 1]))
    )
    assert scorer.z == {"policies": 3, "samples": 2, "returns": 0}
    assert scorer.result()["last_iterate"].final_value == 0.0


# --------------------------------------------------------------------------- (j) few samples per history


def test_few_samples_per_history_are_inconclusive_not_converged() -> None:
    game = games.prisoners_dilemma()
    solution = solve(game)
    defect = np.ones((1000, 2), dtype=int)  # every sample plays the unique equilibrium (D, D)
    options = ScoreOptions(criteria=("averaged_joint_policy",))
    spread = score_trace(
        game, solution, TraceChunk(joint_actions=defect, history=np.arange(1000) // 2), options
    )
    s = spread["averaged_joint_policy"]
    assert np.all(s.values == 0.0) and s.final_value == 0.0  # the empirical play *is* the equilibrium
    assert s.verdict == "inconclusive" and "noisy" in s.evidence
    assert s.confidence_radius > 0.1
    pooled = score_trace(game, solution, TraceChunk(joint_actions=defect), options)
    assert pooled["averaged_joint_policy"].verdict == "converged"
    assert pooled["averaged_joint_policy"].confidence_radius < 0.1


def test_histories_select_their_own_equilibrium_in_normal_form() -> None:
    game = games.stag_hunt()
    solution = solve(game)
    rng = np.random.default_rng(2)
    history = rng.integers(0, 2, size=4000)
    actions = np.stack([history, history], axis=1)  # history 0: (S, S), history 1: (H, H)
    s = score_trace(game, solution, TraceChunk(joint_actions=actions, history=history + 100))[
        "averaged_joint_policy"
    ]
    assert s.final_value == 0.0 and s.verdict == "converged"
    heavier = int(np.bincount(history).argmax())
    assert s.nearest_solution == ("point", equilibrium_index(solution, [np.eye(2)[heavier]] * 2))


# --------------------------------------------------------------------------- average return, n players


@pytest.mark.parametrize(
    ("mean", "steps", "verdict"),
    [
        pytest.param(0.0, 20_000, "converged", id="at-equilibrium-payoff"),
        pytest.param(0.6, 20_000, "not_converged", id="far"),
        pytest.param(0.0, 30, "inconclusive", id="too-short"),
    ],
)
def test_average_return_verdicts(mean, steps, verdict) -> None:
    game = games.matching_pennies()
    returns = np.random.default_rng(4).normal(mean, 1.0, size=(steps, 2))
    s = score_trace(game, solve(game), TraceChunk(returns=returns))["average_return"]
    assert s.verdict == verdict, s.evidence
    q = norm.ppf(1 - 0.05 / 4)
    assert s.confidence_radius == pytest.approx(
        q * returns.std(axis=0, ddof=1).max() / math.sqrt(steps), rel=1e-9
    )


def test_noisy_average_return_is_inconclusive() -> None:
    game = games.matching_pennies()
    returns = np.random.default_rng(4).normal(0.0, 50.0, size=(2000, 2))
    s = score_trace(game, solve(game), TraceChunk(returns=returns))["average_return"]
    assert s.verdict == "inconclusive" and "noisy" in s.evidence


def test_three_player_trace_and_nash_conv_against_certify() -> None:
    game = games.three_player_coordination_game()
    target = SolutionTarget.from_points(
        [(np.eye(2)[0], np.eye(3)[0], np.eye(2)[0]), (np.eye(2)[1], np.eye(3)[1], np.eye(2)[1])]
    )
    z = np.arange(1, 1001)[:, None]
    a = np.hstack([1 - 0.6 / z, 0.6 / z])
    b = np.hstack([1 - 0.6 / z, 0.3 / z, 0.3 / z])
    score = score_trace(game, target, TraceChunk(policies=(a, b, a)), ScoreOptions(aggregate="sum"))
    last = score["last_iterate"]
    assert last.verdict == "converged" and last.nearest_solution == ("point", 0)
    oracle = np.minimum(
        2 * tv(a, np.eye(2)[0]) + tv(b, np.eye(3)[0]), 2 * tv(a, np.eye(2)[1]) + tv(b, np.eye(3)[1])
    )
    np.testing.assert_allclose(last.values, curve_at(last, oracle), atol=1e-12)
    nc = score["nash_conv"]
    expected = [certify(game, (a[k - 1], b[k - 1], a[k - 1])).nash_conv for k in nc.checkpoints_z]
    np.testing.assert_allclose(nc.values, expected, atol=1e-12)


# --------------------------------------------------------------------------- trace_verdicts


def test_fit_rate_matches_numpy_polyfit() -> None:
    rng = np.random.default_rng(0)
    z = np.geomspace(10, 1e5, 30)
    v = 2.0 * z**-0.7 * np.exp(rng.normal(0, 0.1, z.size))
    fit = fit_rate(z, v, z_min=100)
    use = z >= 100
    slope, intercept = np.polyfit(np.log(z[use]), np.log(v[use]), 1)
    assert fit.slope == pytest.approx(slope, rel=1e-10) and fit.intercept == pytest.approx(
        intercept, rel=1e-10
    )
    resid = np.log(v[use]) - (intercept + slope * np.log(z[use]))
    r2 = 1 - np.sum(resid**2) / np.sum((np.log(v[use]) - np.log(v[use]).mean()) ** 2)
    assert fit.r2 == pytest.approx(r2, rel=1e-10)
    assert fit.z_at(fit.z_at(0.01) and 0.01) == pytest.approx(math.exp((math.log(0.01) - intercept) / slope))
    assert fit_rate([1, 2, 3], [1, 0, 0]) is None


def test_fit_rate_uses_the_points_from_z_min_on_and_never_z_zero() -> None:
    z, v = [0, 1, 2, 4, 8, 16, 32], [5.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]
    whole = fit_rate(z, v)  # z = 0 has no logarithm: left out
    assert (whole.n_points, whole.z_min, whole.slope) == (6, 1.0, -1.0)
    late = fit_rate(z, v, z_min=4)  # from z_min on, z_min included
    assert (late.n_points, late.z_min, late.slope) == (4, 4.0, -1.0)


def test_z_at_names_no_z_beyond_e_to_the_700() -> None:
    """The line log v = 700 - log z reaches v = 1 at z = e^700 (about 1.01e304), the largest
    z named; a hair further is none. A value of 0 is never reached, nor anything by a line
    that does not fall."""
    assert RateFit(-1.0, 700.0, 1.0, 10, 1.0).z_at(1.0) == math.exp(700.0)
    assert RateFit(-1.0, 700.0 + 1e-12, 1.0, 10, 1.0).z_at(1.0) is None
    assert RateFit(-1.0, 0.0, 1.0, 10, 1.0).z_at(0.0) is None
    assert RateFit(0.0, 0.0, 1.0, 10, 1.0).z_at(0.5) is None


def test_fit_rate_needs_two_distinct_z() -> None:
    assert fit_rate([4, 4, 4, 4, 4], [1.0, 0.5, 0.25, 0.125, 0.1]) is None
    close = fit_rate([1000, 1001, 1002, 1003], [1.0, 0.999, 0.998, 0.997])  # log z spread ~1e-6
    assert close is not None and close.n_points == 4


def test_fit_rate_r2_of_equal_values_and_of_a_tight_noisy_fit() -> None:
    """Equal values: a perfect (flat) fit, R² = 1. Values within 1e-3 of each other: R² as
    numpy computes it, however small the total sum of squares (here ~1e-6)."""
    flat = fit_rate([1, 2, 4, 8], [0.5] * 4)
    assert (flat.slope, flat.r2) == (0.0, 1.0)
    z = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    v = 0.5 * (1.0 + 1e-3 * np.array([0.3, -0.8, 0.5, 0.9, -0.4]))
    fit = fit_rate(z, v)
    slope, intercept = np.polyfit(np.log(z), np.log(v), 1)
    resid = np.log(v) - (intercept + slope * np.log(z))
    r2 = 1 - np.sum(resid**2) / np.sum((np.log(v) - np.log(v).mean()) ** 2)
    assert 0.0 < r2 < 0.9 and fit.r2 == pytest.approx(r2, rel=1e-9)


def test_fit_rate_takes_positions_below_one() -> None:
    assert fit_rate([0.25, 0.5, 1.0, 2.0], [4.0, 2.0, 1.0, 0.5]).n_points == 4


def test_one_outcome_has_diameter_zero_in_every_metric() -> None:
    for metric in ("tv", "l1", "l2", "linf", "hellinger", "js", "kl"):
        assert metric_diameter(metric, 1) == 0.0
        assert metric_diameter(metric, 2) > 0.0


@pytest.mark.parametrize("k", [2, 3, 5])
def test_the_diameter_is_the_distance_between_two_point_masses(k: int) -> None:
    """By the definitions: TV 1, L1 2, L2 sqrt 2, L-infinity 1, Hellinger (sqrt(1 - BC)) 1,
    Jensen-Shannon log 2; and each is what ``distance`` measures between two point masses,
    the farthest two distributions are. KL's (smoothed) diameter ``log(k / smoothing)`` is a
    bound a hair above that distance."""
    known = {"tv": 1.0, "l1": 2.0, "l2": math.sqrt(2.0), "linf": 1.0, "hellinger": 1.0, "js": math.log(2.0)}
    first, last = np.eye(k)[0], np.eye(k)[-1]
    for metric in ("tv", "l1", "l2", "linf", "hellinger", "js", "kl"):
        farthest, diameter = float(distance(first, last, metric)), metric_diameter(metric, k)
        if metric in known:
            assert diameter == pytest.approx(known[metric], rel=1e-15)
            assert farthest == pytest.approx(diameter, rel=1e-12)
        else:
            assert farthest <= diameter and farthest == pytest.approx(diameter, rel=1e-5)


@pytest.mark.parametrize("metric", ["tv", "l1", "l2", "linf", "hellinger", "js"])
def test_concentration_radius_covers_the_true_distribution(metric) -> None:
    rng = np.random.default_rng(1)
    p = np.array([0.6, 0.3, 0.1])
    n, trials, delta = 40, 4000, 0.1
    counts = rng.multinomial(n, p, size=trials) / n
    if metric == "tv":
        d = 0.5 * np.abs(counts - p).sum(axis=1)
    elif metric == "l1":
        d = np.abs(counts - p).sum(axis=1)
    elif metric == "l2":
        d = np.sqrt(((counts - p) ** 2).sum(axis=1))
    elif metric == "linf":
        d = np.abs(counts - p).max(axis=1)
    elif metric == "hellinger":
        d = np.sqrt(0.5 * ((np.sqrt(counts) - np.sqrt(p)) ** 2).sum(axis=1))
    else:
        m = (counts + p) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl1 = np.where(counts > 0, counts * np.log(counts / m), 0.0).sum(axis=1)
        d = 0.5 * kl1 + 0.5 * (p * np.log(p / m)).sum(axis=1)
    radius = float(concentration_radius(n, 3, delta, metric))
    assert np.mean(d > radius) <= delta
    assert radius < metric_diameter(metric, 3)
    assert float(concentration_radius(0, 3, delta, metric)) == metric_diameter(metric, 3)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_concentration_radius_of_each_metric_is_its_documented_bound(k: int) -> None:
    """The total-variation radius (the L1 bound of Weissman et al. and k times the
    per-outcome Hoeffding bound, whichever is smaller, halved) and each metric's radius
    from it, as docs/traces.md states them, at sample sizes where no cap binds (KL needs
    about 10^9 samples before 4 tv^2 k / smoothing falls under its diameter)."""
    delta = 0.05
    for n in (10**3, 10**6, 10**9, 10**12):
        r_inf = math.sqrt(math.log(2 * k / delta) / (2 * n))
        r_1 = math.sqrt(2 * (math.log(2**k - 2) + math.log(1 / delta)) / n)
        tv = min(r_1, k * r_inf) / 2
        wanted = {
            "tv": tv,
            "l1": 2 * tv,
            "l2": min(2 * tv, math.sqrt(k) * r_inf),
            "linf": min(r_inf, tv),
            "hellinger": math.sqrt(tv),
            "js": math.log(2) * tv,
            "kl": 4 * tv * tv * k / KL_SMOOTHING,
        }
        for metric, radius in wanted.items():
            expected = min(radius, metric_diameter(metric, k))
            assert float(concentration_radius(n, k, delta, metric)) == pytest.approx(expected, rel=1e-12), (
                n,
                metric,
            )
    assert float(concentration_radius(10**12, k, delta, "kl")) < metric_diameter("kl", k)


def test_detect_period_finds_cycles_and_ignores_trends_and_noise() -> None:
    t = np.arange(2000)
    assert detect_period(0.3 + 0.1 * np.sign(np.sin(2 * np.pi * t / 40))).period == 40
    assert detect_period(1.0 / np.sqrt(t + 1.0)) is None
    assert detect_period(np.random.default_rng(0).normal(size=2000)) is None
    assert detect_period(np.full(100, 0.5)) is None
    # Constant to a relative 1e-9 of its size: a cycle of 1e-10 of the level is no cycle.
    cycle = np.sin(2 * np.pi * t / 40)
    assert detect_period(np.tile([1.0, -1.0], 4)).period == 2  # 8 values: enough
    assert detect_period(np.tile([1.0, -1.0], 4)[:7]) is None  # 7: too few
    # A random walk whose autocorrelation stays positive up to half its length: no crossing.
    walk = np.array([-0.851, -1.007, -4.462, -4.107, -4.566, -3.974, -4.572, -5.249, -5.531, -5.871, -5.512])
    assert detect_period(walk) is None and _period_by_definition(walk) is None
    # One non-positive autocorrelation (at lag 2) is crossing enough: the peak at 4 follows.
    once = np.array([0.0, 1.0, 2.0, 0.0, -1.0, 1.0, 1.0, 0.0, 0.0])
    assert detect_period(once).period == 4 == _period_by_definition(once)[0]
    # The crossing searched up to lag m // 2 itself: here it comes at lag 3 of 8, just before the
    # peak (0.505) at lag 4 (found by optimisation: no 0/1 series of 8 to 16 values does this).
    late = np.array([-5.5, 1.2, 2.4, 5.5, -12.7, 4.7, 5.8, 21.9])
    assert detect_period(late).period == 4 == _period_by_definition(late)[0]
    assert detect_period(1e6 + 1e-4 * cycle) is None
    assert detect_period(1e6 + 1e-2 * cycle).period == 40
    for size in (1e-300, 1e300):  # any units: no product underflows or overflows
        assert detect_period(size * cycle).period == 40


def _period_by_definition(x: np.ndarray, min_strength: float = PERIOD_STRENGTH) -> tuple[int, float] | None:
    """``detect_period``'s docstring read literally, with direct sums: the autocorrelation of
    the de-meaned series at lag ``t`` is the mean of its ``m - t`` products over the mean
    square; the period is the first local maximum after the first lag where that is at most
    0, at lags up to ``m // 2``, reaching ``min_strength`` and 80 % of the highest such."""
    m = x.size
    c = x - x.mean()
    if m < 8 or np.abs(c).max() <= 1e-9 * max(np.abs(x).max(), 1e-300):
        return None
    acf = np.array([np.dot(c[: m - t], c[t:]) / (m - t) for t in range(m)]) / (np.dot(c, c) / m)
    half = m // 2
    crossing = next((t for t in range(1, half + 1) if acf[t] <= 0.0), None)
    if crossing is None:
        return None
    peaks = [
        t
        for t in range(crossing + 1, half + 1)
        if acf[t] >= acf[t - 1] and acf[t] >= acf[t + 1] and acf[t] >= min_strength
    ]
    if not peaks:
        return None
    highest = max(acf[t] for t in peaks)
    lag = next(t for t in peaks if acf[t] >= 0.8 * highest)
    return lag, min(float(acf[lag]), 1.0)


def test_detect_period_follows_its_definition_on_random_signals() -> None:
    """Noisy cycles of random period, phase and shape (sine, square, sawtooth), plus trends,
    against the definition computed by direct sums (no FFT): the same period and strength."""
    rng = np.random.default_rng(11)
    found = 0
    for _ in range(300):
        m = int(rng.integers(8, 300))
        t = np.arange(m)
        period = rng.uniform(2.5, m)
        phase = 2 * np.pi * (t / period + rng.uniform())
        wave = (np.sin(phase), np.sign(np.sin(phase)), (phase / (2 * np.pi)) % 1.0)[int(rng.integers(3))]
        x = wave * rng.uniform(0.1, 10.0) + rng.normal(0.0, rng.uniform(0.0, 1.5), m)
        x += rng.uniform(-3.0, 3.0) * t / m + rng.uniform(-5.0, 5.0)
        got = detect_period(x)
        want = _period_by_definition(x)
        if want is None:
            assert got is None, (m, period)
            continue
        found += 1
        assert got is not None and got.period == want[0], (m, period, got, want)
        assert got.strength == pytest.approx(want[1], rel=1e-9, abs=1e-12)
    assert 100 <= found <= 250  # both outcomes well represented


def _evidence(**changes) -> TailEvidence:
    base = dict(
        z=10_000,
        window=1000,
        epsilons=(0.01, 0.05, 0.1),
        scale=1.0,
        below=(False, False, False),
        above=(False, False, False),
        last_above=(9990, 9990, 9990),
        final=0.2,
        radius=None,
        fit=RateFit(-0.5, 0.0, 0.9, 10, 100.0),
        period=None,
        tail_text="rows 9001..10000",
    )
    base.update(changes)
    return TailEvidence(**base)


def test_switches_in_a_trace_shorter_than_two_windows_decide_nothing() -> None:
    """A trace shorter than two tail windows is too short for any verdict, switches of the
    selected equilibrium included: they are no evidence of "no single limit" yet."""
    moving = {"single_limit": True, "recent_switches": 3, "last_switch": 1400, "switch_start": 1000}
    for z in (1000, 1500, 1999):
        verdict = decide_verdict(_evidence(z=z, tail_text=f"rows {z - 999}..{z}", **moving))
        assert verdict.verdict == "inconclusive" and "too short" in verdict.evidence, (z, verdict)
    assert decide_verdict(_evidence(z=2000, **moving)).verdict == "not_converged"


def test_a_noisy_tail_stays_inconclusive_whatever_the_selection_does() -> None:
    """Rule 4 (a radius past the largest threshold: too noisy) stands against switches of the
    selected equilibrium: they may be the noise too. A tail at or above every threshold with
    the same radius (rule 3) is not converged, and the switches are named as evidence."""
    moving = {"single_limit": True, "recent_switches": 3, "last_switch": 9500, "switch_start": 5001}
    noisy = decide_verdict(_evidence(radius=0.5, **moving))
    assert noisy.verdict == "inconclusive" and "too noisy" in noisy.evidence
    assert "switched" not in noisy.evidence
    high = decide_verdict(_evidence(radius=0.5, above=(True, True, True), final=2.0, **moving))
    assert high.verdict == "not_converged"
    assert "at or above" in high.evidence and "switched 3 time(s)" in high.evidence
    # The same radius in a criterion of scale 10 (largest threshold 1.0) is no noise, nor is
    # one equal to the largest threshold.
    for changes in ({"radius": 0.5, "scale": 10.0}, {"radius": 0.1}):
        verdict = decide_verdict(_evidence(**changes, **moving))
        assert verdict.verdict == "not_converged" and "no single limit" in verdict.evidence, changes


@pytest.mark.parametrize(
    ("switches", "verdict", "phrase"),
    [
        (1, "inconclusive", "switched 1 time(s)"),
        (2, "not_converged", "switched 2 time(s)"),  # two or more: no single limit
        (63, "not_converged", "switched 63 time(s)"),
        (64, "not_converged", "switched at least 64 time(s)"),  # the tracker counts up to 64
    ],
)
def test_switches_of_the_selection_count_from_two(switches: int, verdict: str, phrase: str) -> None:
    below = {"below": (True, True, True), "final": 0.001}
    moving = {"single_limit": True, "recent_switches": switches, "last_switch": 9500, "switch_start": 5001}
    v = decide_verdict(_evidence(**below, **moving))
    assert v.verdict == verdict and phrase in v.evidence, v.evidence


def test_a_radius_of_no_samples_is_the_diameter_at_any_confidence() -> None:
    """With no samples nothing is known: the radius is the metric's diameter, even at a
    confidence so low (delta = 0.99) that the bound for one sample would be smaller."""
    for metric in ("tv", "l1", "l2", "linf", "hellinger", "js", "kl"):
        for k in (2, 3, 5):
            assert float(concentration_radius(0, k, 0.99, metric)) == metric_diameter(metric, k), (metric, k)
    assert float(concentration_radius(1, 2, 0.99, "tv")) < 1.0


@pytest.mark.parametrize(
    ("changes", "verdict", "epsilon", "phrase"),
    [
        pytest.param({"z": 0}, "inconclusive", None, "no data", id="empty"),
        pytest.param({"z": 1500}, "inconclusive", None, "too short", id="short"),
        pytest.param(
            {"below": (False, True, True), "final": 0.02},
            "converged",
            0.05,
            "below ε=0.05; not below ε=0.01 (last at or above it at z=9990)",
            id="reached",
        ),
        pytest.param(
            {"below": (False, True, True), "last_above": (0, 0, 0), "final": 0.02},
            "converged",
            0.05,
            "below ε=0.05; not below ε=0.01; ",  # never at or above it: no row to name
            id="reached-never-above",
        ),
        pytest.param(
            {"below": (True, True, True), "final": 0.001},
            "converged",
            0.01,
            "is below ε=0.01; fitted rate",
            id="reached-smallest",
        ),
        pytest.param(
            {"below": (False, True, True), "final": 0.02, "fit": RateFit(0.5, 0.0, 0.9, 10, 100.0)},
            "inconclusive",
            0.05,
            "rising",
            id="rising",
        ),
        pytest.param(
            {"below": (True, True, True), "final": 0.001, "radius": 0.02},
            "converged",
            0.05,
            "radius",
            id="radius-ok",
        ),
        pytest.param({"above": (True, True, True)}, "not_converged", None, "at or above", id="above"),
        pytest.param(
            {"above": (True, True, True)},
            "not_converged",
            None,
            "; at this rate it would reach ε=0.1 near z=",
            id="above-falling",
        ),
        pytest.param(
            {"above": (True, True, True), "fit": None},
            "not_converged",
            None,
            "is at or above the largest ε=0.1 (final value 0.2); no rate fitted",
            id="above-no-fit",
        ),
        pytest.param({"radius": 0.5}, "inconclusive", None, "too noisy", id="noisy"),
        pytest.param(
            {"above": (True, False, False), "fit": RateFit(-0.01, 0.0, 0.1, 10, 100.0)},
            "not_converged",
            None,
            "stalled",
            id="stalled",
        ),
        pytest.param(
            {"fit": RateFit(0.0, 0.0, 0.1, 10, 100.0), "period": detect_period(np.sin(np.arange(400) / 5.0))},
            "not_converged",
            None,
            "periodic",
            id="cycling",
        ),
        pytest.param({}, "inconclusive", None, "still crosses", id="crossing"),
        pytest.param(
            {"last_above": (9990, 0, 0)},
            "inconclusive",
            None,
            "still crosses the thresholds (ε=0.01: last at or above at z=9990); final value",
            id="crossing-names-only-the-thresholds-crossed",
        ),
        pytest.param(
            {"last_above": (0, 0, 0)}, "inconclusive", None, "thresholds (see curve); ", id="crossing-unnamed"
        ),
        pytest.param(
            {"z": 2000, "below": (True, True, True), "final": 0.001},
            "converged",
            0.01,
            "below ε=0.01",
            id="two-windows-are-enough",
        ),
        pytest.param(
            {"below": (True, True, True), "final": 0.001, "recent_switches": 3, "last_switch": 9500},
            "converged",
            0.01,
            "below ε=0.01",
            id="switches-count-only-for-a-single-limit",  # TailEvidence's default: not single_limit
        ),
        pytest.param(
            {"below": (True, True, True), "final": 0.001, "single_limit": True},
            "converged",
            0.01,
            "below ε=0.01",
            id="a-single-limit-without-switches",  # the default: no switch
        ),
        # The rules' bounds, each at equality: the docstring's "at least" and "exceeds".
        pytest.param(
            {"radius": 0.1}, "inconclusive", None, "still crosses", id="radius-at-largest-is-no-noise"
        ),
        pytest.param(
            {"above": (True, True, True), "scale": 2.5, "final": 0.5, "radius": 0.25},
            "not_converged",
            None,
            "at or above the largest ε=0.1 x scale 2.5",
            id="final-minus-radius-at-largest",
        ),
        pytest.param(
            {"below": (True, True, True), "final": 0.0, "fit": RateFit(0.5, 0.0, 0.9, 10, 100.0)},
            "converged",
            0.01,
            "below ε=0.01",
            id="zero-is-not-rising",
        ),
        pytest.param(
            {"below": (True, True, True), "final": 0.001, "fit": RateFit(RATE_RISE, 0.0, 0.9, 10, 100.0)},
            "converged",
            0.01,
            "below ε=0.01",
            id="slope-at-the-rise-bound",
        ),
        pytest.param(
            {"above": (True, False, False), "fit": RateFit(RATE_STALL, 0.0, 0.1, 10, 100.0)},
            "not_converged",
            None,
            "stalled",
            id="slope-at-the-stall-bound",
        ),
        pytest.param(
            {"above": (True, False, False)},
            "inconclusive",
            None,
            "still crosses",
            id="above-smallest-falling",
        ),
        pytest.param(
            {"fit": RateFit(-0.01, 0.0, 0.1, 10, 100.0)},
            "inconclusive",
            None,
            "still crosses",
            id="flat-below-smallest-at-times",
        ),
    ],
)
def test_decide_verdict_rules(changes, verdict, epsilon, phrase) -> None:
    v = decide_verdict(_evidence(**changes))
    assert (v.verdict, v.epsilon) == (verdict, epsilon)
    assert phrase in v.evidence


def test_criteria_names_are_consistent() -> None:
    assert set(CRITERIA) - {"nash_conv"} <= set(CURVES)
    assert set(CURVES) - set(CRITERIA) == {"nash_conv_average"}


# --------------------------------------------------------------------------- compiled fast paths


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), actions=st.integers(1, 20))
def test_fast_chunk_check_never_passes_a_row_numpy_rejects(seed, actions) -> None:
    # Rows straddling every edge of the tolerance: the fast pass may send a good row to
    # numpy, but a row it passes must pass numpy's check (the order of summation differs).
    rng = np.random.default_rng(seed)
    rows = rng.dirichlet(np.ones(actions), 400)
    offsets = (
        rng.choice([-1.0, 1.0], 400) * PROBABILITY_TOL * rng.choice([0.5, 1 - 1e-9, 1.0, 1 + 1e-9, 2.0], 400)
    )
    rows[:, -1] += offsets
    rows[::37, 0] = -PROBABILITY_TOL * rng.choice([0.5, 1.0, 1.5], rows[::37].shape[0])
    rows[5::101, 0] = np.nan
    rows[7::103, 0] = np.inf
    margin = trace_options._sum_margin(actions)
    for row in rows:
        fast = trace_options._clearly_probability_rows(row[None], margin)
        finite = bool(np.isfinite(row).all())
        numpy_ok = finite and row.min() >= -PROBABILITY_TOL and abs(row.sum() - 1.0) <= PROBABILITY_TOL
        assert not fast or numpy_ok
        if finite and row.min() >= -PROBABILITY_TOL and abs(row.sum() - 1.0) <= PROBABILITY_TOL / 2:
            assert fast  # clearly good rows take the fast path
    good = rows[[bool(trace_options._clearly_probability_rows(r[None], margin)) for r in rows]]
    assert trace_options._clearly_probability_rows(np.ascontiguousarray(good), margin)
    # Through the public constructor: a sum just over the tolerance is still rejected by name.
    bad = np.full((3, actions + 1), 1.0 / (actions + 1))
    bad[2, 0] += 1.5 * PROBABILITY_TOL
    with pytest.raises(InvalidGameError, match=r"policies\[1\]\[2\] sums to"):
        TraceChunk(policies=(np.full((3, 1), 1.0), bad))


@pytest.mark.parametrize("actions", [(3, 3), (2, 5), (1, 4), (6, 1)])
def test_compiled_two_player_payoffs_equal_numpy_to_the_last_bit(actions) -> None:
    rng = np.random.default_rng(sum(actions))
    payoffs = rng.normal(size=(2, *actions)) * 10
    xs = [rng.dirichlet(np.full(a, 0.5), 3000) for a in actions]
    xs[0][:10] = np.eye(actions[0])[rng.integers(0, actions[0], 10)]  # pure rows: regret ties
    u, nash_conv = trace_target._payoff_rows(payoffs, xs)
    u_np, nash_conv_np = trace_target._payoff_rows_numpy(payoffs, xs)
    assert np.array_equal(u, u_np) and np.array_equal(nash_conv, nash_conv_np)
    game = NormalFormGame(payoffs)
    for r in (0, 17, 2999):  # and the certificate agrees
        cert = certify(game, [x[r] for x in xs])
        np.testing.assert_allclose(nash_conv[r], cert.nash_conv, rtol=0, atol=1e-12)


@pytest.mark.parametrize("aggregate", ["max", "sum"])
def test_compiled_payoff_gaps_equal_the_numpy_loop(aggregate) -> None:
    rng = np.random.default_rng(3)
    u = rng.normal(size=(2000, 3))
    points = rng.normal(size=(4, 3))
    points[3] = points[1]  # a tie: the first wins
    u[:5] = points[1]
    lo = rng.normal(size=(2, 3)) - 0.5
    boxes = np.stack([lo, lo + 1.0], axis=2)
    best = np.empty(2000)
    which = np.empty(2000, dtype=np.int64)
    trace_target._payoff_gaps(u, points, boxes, aggregate == "sum", best, which)
    # The numpy form the kernel replaced.
    ref = np.full(2000, np.inf)
    ref_which = np.full(2000, -1)
    members = [np.abs(u - p) for p in points] + [
        np.maximum(np.maximum(box[:, 0] - u, u - box[:, 1]), 0.0) for box in boxes
    ]
    for m, gaps in enumerate(members):
        d = gaps.max(axis=1) if aggregate == "max" else gaps[:, 0] + gaps[:, 1] + gaps[:, 2]
        closer = d < ref
        ref = np.where(closer, d, ref)
        ref_which = np.where(closer, m, ref_which)
    assert np.array_equal(best, ref) and np.array_equal(which, ref_which)
    assert which[:5].tolist() == [1] * 5
    trace_target._payoff_gaps(u, np.zeros((0, 3)), np.zeros((0, 3, 2)), False, best, which)
    assert np.isinf(best).all() and (which == -1).all()


def test_compiled_running_means_and_threshold_rows_equal_numpy() -> None:
    rng = np.random.default_rng(4)
    x = rng.dirichlet(np.ones(3), 5000)
    total = rng.random(3)
    start = total.copy()
    means = np.empty_like(x)
    ts._running_means(total, x, 700, means)
    sums = np.cumsum(np.concatenate([start[None], x]), axis=0)[1:]
    assert np.array_equal(means, sums / np.arange(701, 5701, dtype=np.float64)[:, None])
    assert np.array_equal(total, sums[-1])
    values = rng.random(5000)
    taus = np.array([0.01, 0.5, 0.999, 2.0])
    for at_least in (True, False):
        last = np.full(4, -7, dtype=np.int64)
        trace_checkpoints._last_rows(values, taus, at_least, 100, last)
        for j, tau in enumerate(taus):
            hit = np.flatnonzero(values >= tau if at_least else values < tau)
            assert last[j] == (100 + hit[-1] if hit.size else -7)


def vectorised_selection(chunks, dwell):
    """The vectorised run-length form of ``_Selection.track`` the compiled loop replaced."""
    group, switches, run_group, run_length = -1, 0, -1, 0
    for seq in chunks:
        change = np.flatnonzero(seq[1:] != seq[:-1]) + 1
        starts = np.concatenate([[0], change])
        lengths = np.diff(np.concatenate([starts, [seq.size]]))
        values = seq[starts]
        if values[0] == run_group:
            lengths[0] += run_length
        settled = values[(values >= 0) & (lengths >= dwell)]
        if settled.size:
            previous = np.concatenate([[group], settled[:-1]])
            switches += int(np.count_nonzero((settled != previous) & (previous >= 0)))
            group = int(settled[-1])
        run_group, run_length = int(values[-1]), int(lengths[-1])
    return group, switches, run_group, run_length


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), dwell=st.integers(1, 6), groups=st.integers(1, 4))
def test_compiled_selection_tracking_equals_the_run_length_form(seed, dwell, groups) -> None:
    rng = np.random.default_rng(seed)
    # Runs of random lengths around the dwell, of random groups or -1 (not near).
    values = rng.integers(-1, groups, 60)
    seq = np.repeat(values, rng.integers(1, 2 * dwell + 2, 60))
    cuts = np.sort(rng.choice(np.arange(1, seq.size), size=min(5, seq.size - 1), replace=False))
    chunks = np.split(seq, cuts)
    selection = trace_checkpoints._Selection(dwell)
    for chunk in chunks:
        selection.track(chunk)
    got = (selection.group, selection.switches, selection.run_group, selection.run_length)
    assert got == vectorised_selection(chunks, dwell) == vectorised_selection([seq], dwell)[:2] + got[2:]


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, 1.5])
def test_concentration_radius_refuses_a_failure_probability_outside_the_open_interval(delta: float) -> None:
    with pytest.raises(InvalidOptionError, match=r"delta .* is not in \(0, 1\)"):
        concentration_radius(100, 3, delta, "tv")


@pytest.mark.parametrize(("scale", "unit"), [(1.0, ""), (4.0, " x scale 4")])
def test_a_verdict_names_the_scale_of_its_thresholds_only_when_there_is_one(scale: float, unit: str) -> None:
    below = {"below": (True, True, True), "final": 0.001 * scale, "scale": scale}
    verdict = decide_verdict(_evidence(**below))
    assert verdict.verdict == "converged" and verdict.epsilon == 0.01
    assert f"is below ε=0.01{unit}" in verdict.evidence
    assert ("x scale" in verdict.evidence) is bool(unit)
