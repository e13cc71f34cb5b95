"""Verdicts that mean what the definitions say (issue 18, items 1, 2 and 5).

* **One limit.** Last iterate, expected return, empirical distribution, averaged joint
  policy and average return ask for convergence to ONE solution: a trace that keeps moving between the
  stag hunt's (S, S) and (H, H) is "not converged" (one late switch: "inconclusive"),
  with the switches as evidence; set convergence alone is set-valued.
* **Each player's own scale.** Multiplying one player's payoffs by 1e-9 or 1e9 changes
  no verdict, and a player whose payoffs are tiny still counts in NashConv.
* **Round-off.** Rows exactly at an equilibrium read as distance 0 (not "rising"), and a
  running mean exactly at a threshold (3/15 against 0.2) is at it, so ``z0`` is the
  exact-arithmetic one.

Every trace is generated here (by construction or by fictitious play, seeded where
random); every expected final value, ``z0`` and radius is recomputed here with numpy or
exact fractions, never read from the scorer.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from equilibria.client import Client
from equilibria.solver import NormalFormGame, StochasticGame, certify_markov, solve, solve_stochastic
from equilibria.solver.traces import ScoreOptions, TraceChunk, score_trace
from equilibria.solver.traces.verdicts import TailEvidence, decide_verdict
from scipy.stats import norm

from .. import games
from ..dynamics import fictitious_play

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
STAG, HARE = np.array([1.0, 0.0]), np.array([0.0, 1.0])


def _alternating(period: int, rows: int) -> np.ndarray:
    """Stag-hunt policies: (S, S) for ``period`` rows, then (H, H), and so on."""
    phase = (np.arange(rows) // period) % 2
    return np.where(phase[:, None] == 0, STAG, HARE)


def _switch_rows(xs: np.ndarray) -> list[int]:
    """Rows (1-based) where the pure profile changes: each starts a run of another equilibrium."""
    change = np.flatnonzero(np.any(xs[1:] != xs[:-1], axis=1)) + 2
    return change.tolist()


# --------------------------------------------------------------------------- (1) one limit


def test_a_last_iterate_alternating_between_equilibria_is_not_converged() -> None:
    game = games.stag_hunt()
    xs = _alternating(500, 4000)
    score = score_trace(game, solve(game), TraceChunk(policies=(xs, xs)))
    switches = _switch_rows(xs)
    assert switches == [501, 1001, 1501, 2001, 2501, 3001, 3501]
    recent = [r for r in switches if r >= 4000 // 2 + 1]  # the last half of the trace
    # U_1 alternates 4 <-> 3: the payoffs have no limit either.
    u1 = np.einsum("za,ab,zb->z", xs, game.payoffs[0], xs)
    assert set(np.unique(u1).tolist()) == {3.0, 4.0}
    for name in ("last_iterate", "expected_return"):
        s = score[name]
        assert s.verdict == "not_converged", s.evidence
        assert s.final_value == 0.0  # every row sits on an equilibrium: the distance to S is no help
        assert s.switch_count == len(switches) and s.switched
        assert f"switched {len(recent)} time(s)" in s.evidence and f"last at z={switches[-1]}" in s.evidence
    # The running mean wanders between the equilibria (TV 1/4 from the nearest at the end).
    mean = np.cumsum(xs, axis=0) / np.arange(1, 4001)[:, None]
    tv_to = [0.5 * np.abs(mean - p).sum(axis=1) for p in (STAG, HARE, np.array([0.75, 0.25]))]
    assert score["set_convergence"].final_value == pytest.approx(min(t[-1] for t in tv_to), abs=1e-12)
    assert score["set_convergence"].verdict == "not_converged"


@pytest.mark.parametrize(
    ("single_limit", "recent", "verdict"),
    [
        pytest.param(False, 5, "converged", id="set-valued-ignores-switches"),
        pytest.param(True, 0, "converged", id="switches-only-before-the-span"),
        pytest.param(True, 1, "inconclusive", id="one-late-switch"),
        pytest.param(True, 5, "not_converged", id="keeps-moving"),
    ],
)
def test_only_set_convergence_lets_the_nearest_solution_change(
    single_limit: bool, recent: int, verdict: str
) -> None:
    """The same tail (below every epsilon, decreasing) under the two readings of the definitions."""
    evidence = TailEvidence(
        z=4000,
        window=400,
        epsilons=(0.01, 0.05, 0.1),
        scale=1.0,
        below=(True, True, True),
        above=(False, False, False),
        last_above=(0, 0, 0),
        final=0.0,
        radius=None,
        fit=None,
        period=None,
        tail_text="rows 3601..4000",
        single_limit=single_limit,
        recent_switches=recent,
        last_switch=3501 if recent else 0,
        switch_start=2001,
    )
    v = decide_verdict(evidence)
    assert v.verdict == verdict, v.evidence
    assert ("switched" in v.evidence) == (single_limit and recent > 0)


@pytest.mark.parametrize(
    ("switch_at", "verdict"),
    [
        pytest.param(501, "converged", id="early-switch-then-settled"),
        pytest.param(3001, "inconclusive", id="one-late-switch"),
    ],
)
def test_one_switch_is_evidence_only_late_in_the_trace(switch_at: int, verdict: str) -> None:
    game = games.stag_hunt()
    xs = np.where(np.arange(1, 4001)[:, None] < switch_at, STAG, HARE)
    assert _switch_rows(xs) == [switch_at]
    s = score_trace(game, solve(game), TraceChunk(policies=(xs, xs)))["last_iterate"]
    assert s.switch_count == 1
    assert s.verdict == verdict, s.evidence
    assert s.epsilon == 0.01  # the threshold the tail reached, kept beside an inconclusive verdict
    if verdict == "inconclusive":
        assert f"last at z={switch_at}" in s.evidence


# --------------------------------------------------------------------------- (2) each player's own scale


def _relative_finals(game: NormalFormGame, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Expected-return gap and NashConv of the profile (x, y) in each player's own range, numpy."""
    a, b = game.bimatrix()
    scales = np.array([np.ptp(a), np.ptp(b)])
    u = np.array([x @ a @ y, x @ b @ y])
    values = [float(solve(game).equilibria[0].payoffs[i]) for i in range(2)]
    gap = np.max(np.abs(u - values) / scales)
    regret = np.array([np.max(a @ y) - u[0], np.max(x @ b) - u[1]])
    return float(gap), float(np.sum(regret / scales))


@pytest.mark.parametrize("factor", [1e-9, 1e9])
@pytest.mark.parametrize("player", [0, 1])
def test_scaling_one_players_payoffs_changes_no_verdict(player: int, factor: float) -> None:
    base = NormalFormGame.from_bimatrix(RPS, -RPS)
    xs, ys = fictitious_play(base, 3000, start=(0, 0))
    payoffs = base.payoffs.copy()
    payoffs[player] *= factor
    scaled = NormalFormGame(payoffs)
    reference = score_trace(base, solve(base), TraceChunk(policies=(xs, ys)))
    score = score_trace(scaled, solve(scaled), TraceChunk(policies=(xs, ys)))
    for c in reference.criteria:
        s = score[c.name]
        assert (s.verdict, s.epsilon) == (c.verdict, c.epsilon), (c.name, s.evidence, c.evidence)
        # Values relative to the reported scale are the same (to round-off).
        np.testing.assert_allclose(s.values / s.scale, c.values / c.scale, rtol=1e-9, atol=1e-12)
    gap, nash_conv = _relative_finals(scaled, xs[-1], ys[-1])
    assert score["expected_return"].final_value / score["expected_return"].scale == pytest.approx(
        gap, rel=1e-9
    )
    assert score["nash_conv"].final_value / score["nash_conv"].scale == pytest.approx(nash_conv, rel=1e-9)
    assert score["expected_return"].scale == scaled.payoff_scale


def test_a_player_with_tiny_payoffs_still_counts_in_nash_conv() -> None:
    """Player 1 plays the equilibrium; player 2 does not, and player 1 could exploit that.

    Matching pennies with player 1's payoffs times 1e-9: x uniform, y = (0.7, 0.3). Both
    payoffs are 0 (x uniform), but player 1 regrets 0.4 of its range 2 (1e-9 units): the
    profile is no equilibrium, whatever the units.
    """
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    game = NormalFormGame.from_bimatrix(pennies * 1e-9, -pennies)
    x = np.tile([0.5, 0.5], (2000, 1))
    y = np.tile([0.7, 0.3], (2000, 1))
    score = score_trace(game, solve(game), TraceChunk(policies=(x, y)))
    gap, nash_conv = _relative_finals(game, x[-1], y[-1])
    assert gap == pytest.approx(0.0, abs=1e-15) and nash_conv == pytest.approx(0.2)
    s = score["nash_conv"]
    assert s.final_value / s.scale == pytest.approx(nash_conv, rel=1e-12)
    assert s.verdict == "not_converged", s.evidence  # 0.2 of the range, above every epsilon


def test_stochastic_scaling_one_players_rewards_changes_no_verdict() -> None:
    pennies = np.array([[1.0, -1.0], [-1.0, 1.0]])
    rewards = np.stack([np.stack([pennies, -pennies]), np.stack([2 * pennies, -2 * pennies])])
    transitions = np.full((2, 2, 2, 2), 0.5)
    z = np.arange(1, 401, dtype=float)[:, None, None]
    policy = np.broadcast_to(0.5 + np.array([1.0, -1.0])[None, None, :] / (2 * z + 2), (400, 2, 2))
    verdicts = []
    for factor in (1.0, 1e-9, 1e9):
        r = rewards.copy()
        r[:, 1] *= factor
        game = StochasticGame(r, transitions, discount=0.5)
        score = score_trace(game, solve_stochastic(game), TraceChunk(policies=(policy, policy)))
        s = score["nash_conv"]
        cert = certify_markov(game, (policy[-1], policy[-1]))
        ranges = np.array([4.0, 4.0 * factor]) * 2.0  # reward ranges times 1 / (1 - 0.5)
        assert s.final_value / s.scale == pytest.approx(float(np.sum(cert.regrets / ranges)), rel=1e-6)
        verdicts.append(tuple((c.name, c.verdict, c.epsilon) for c in score.criteria))
    assert verdicts[0] == verdicts[1] == verdicts[2]


def test_average_return_radius_is_per_player() -> None:
    """Returns with player 2's payoffs times 1e-6: the radius is each player's, in its own range."""
    base = games.matching_pennies()
    payoffs = base.payoffs.copy()
    payoffs[1] *= 1e-6
    game = NormalFormGame(payoffs)
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0, 1.0, size=(5000, 2)) * np.array([0.5, 1e-6])  # player 2 noisier in its range
    s = score_trace(game, solve(game), TraceChunk(returns=returns))["average_return"]
    q = norm.ppf(1 - 0.05 / 4)
    half = q * returns.std(axis=0, ddof=1) / math.sqrt(5000) / np.array([2.0, 2e-6])
    assert s.confidence_radius == pytest.approx(float(half.max()) * s.scale, rel=1e-9)
    mean = returns.mean(axis=0) / np.array([2.0, 2e-6])
    assert s.final_value == pytest.approx(float(np.abs(mean).max()) * s.scale, rel=1e-9)


# --------------------------------------------------------------------------- (5) round-off


@pytest.mark.parametrize("factor", [1.0, 1e-9, 1e9])
def test_constant_rows_at_the_equilibrium_read_as_distance_zero(factor: float) -> None:
    game = NormalFormGame.from_bimatrix(RPS * factor, -RPS)
    rows = np.full((1000, 3), 1.0 / 3.0)
    mean = np.cumsum(rows, axis=0) / np.arange(1, 1001)[:, None]
    assert np.abs(mean - 1.0 / 3.0).max() > 0.0  # the running mean is off by round-off
    score = score_trace(game, solve(game), TraceChunk(policies=(rows, rows)))
    for c in score.criteria:
        assert c.verdict == "converged", (c.name, c.evidence)
        assert c.final_value == 0.0 and np.all(c.values == 0.0), c.name
        assert c.epsilon == 0.01 and c.fitted_rate is None
        assert c.z0 == {0.1: 1, 0.05: 1, 0.01: 1} and c.z0_exact


def _tie_trace() -> tuple[NormalFormGame, np.ndarray, np.ndarray]:
    """Prisoner's dilemma: player 1 cooperates at rows 13, 14, 15 only, defects otherwise.

    The empirical TV distance to (D, D) is 3/z from z = 15 on: exactly 0.2, 0.1 and 0.05
    at z = 15, 30 and 60 (3/15 in floats reads 0.19999999999999998).
    """
    game = games.prisoners_dilemma()
    xs = np.tile([0.0, 1.0], (1000, 1))
    xs[12:15] = [1.0, 0.0]
    ys = np.tile([0.0, 1.0], (1000, 1))
    return game, xs, ys


def test_a_running_mean_exactly_at_a_threshold_is_at_it() -> None:
    game, xs, ys = _tie_trace()
    epsilons = (0.2, 0.1, 0.05)
    options = ScoreOptions(epsilons=epsilons, criteria=("set_convergence",))
    s = score_trace(game, solve(game), TraceChunk(policies=(xs, ys)), options)["set_convergence"]
    # Exact arithmetic: d(z) = (number of C rows up to z) / z.
    counts = np.cumsum(xs[:, 0])
    exact = [Fraction(int(c), z) for z, c in enumerate(counts, start=1)]
    expected = {
        e: max(z for z, d in enumerate(exact, start=1) if d >= Fraction(e).limit_denominator()) + 1
        for e in epsilons
    }
    assert expected == {0.2: 16, 0.1: 31, 0.05: 61}
    floats = np.cumsum(xs, axis=0)[14] / 15.0
    assert 0.5 * np.abs(floats - [0.0, 1.0]).sum() < 0.2  # what the old comparison saw
    assert s.z0 == expected and s.z0_exact
    assert s.final_value == pytest.approx(3 / 1000, abs=1e-15)
    assert s.verdict == "converged" and s.epsilon == 0.05, s.evidence


# --------------------------------------------------------------------------- through the server


@pytest.mark.e2e
def test_verdict_definitions_through_the_client(client: Client) -> None:
    game = games.stag_hunt()
    xs = _alternating(500, 4000)
    served = client.score_trace((game.payoffs[0], game.payoffs[1]), policies=(xs, xs))
    local = score_trace(game, solve(game), TraceChunk(policies=(xs, xs)))
    for name in ("last_iterate", "expected_return"):
        assert served[name].verdict == local[name].verdict == "not_converged"
        assert served[name].evidence == local[name].evidence
    base = NormalFormGame.from_bimatrix(RPS, -RPS)
    rows = np.full((1000, 3), 1.0 / 3.0)
    tiny = base.payoffs.copy()
    tiny[1] *= 1e-9
    constant = client.score_trace((tiny[0], tiny[1]), policies=(rows, rows))
    for name in constant.names:
        c = constant[name]
        assert (c.verdict, c.final_value, c.z0_exact) == ("converged", 0.0, True), (name, c.evidence)
    game, txs, tys = _tie_trace()
    tie = client.score_trace(
        (game.payoffs[0], game.payoffs[1]), policies=(txs, tys), epsilons=[0.2, 0.1, 0.05]
    )
    assert tie["set_convergence"].z0 == {0.2: 16, 0.1: 31, 0.05: 61}
