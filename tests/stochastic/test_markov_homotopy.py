"""Stationary equilibria of stochastic games by homotopy (``solver/stochastic/homotopy/``).

Independent references, never the code against itself:

* **Repeated games, pygambit.** A one-state game whose every joint action loops back
  is a repeated normal-form game: ``Q = r + gamma V`` shifts each player's payoffs by a
  constant, so its stationary equilibria are exactly the stage game's Nash
  equilibria, and its stationary QRE branch is the stage game's logit branch. On
  seeded generic 2-player games up to 3 x 3, every equilibrium returned must be one of
  ``pygambit.nash.enummixed_solve``'s, and the QRE end point must be the end of
  ``pygambit.nash.logit_solve``'s branch on the stage game with each player's payoffs
  mapped onto [0, 1] (the homotopies work on that game, so units change nothing).
* **One-shot deviation check, written here.** :func:`deviation_gap` evaluates a profile
  from the dense reward and transition tensors the test built (its own linear solve)
  and returns the largest gain of a one-shot deviation in any state: zero exactly at a
  Markov perfect equilibrium (one-shot deviation principle). Every equilibrium returned
  on random 2- and 3-player games (dense and sparse transitions, ragged action sets)
  must pass it, besides ``certify_markov``.
* **Per-state coordination.** Two states whose transitions ignore the actions: the MPE
  are the products of the states' stage-game equilibria (3 x 3 = 9, worked out by hand
  below); different priors must find at least two of them, each one of the nine.
* **Zero-sum, Shapley iteration.** :func:`shapley_values` (a linear program per state
  and sweep, with scipy's ``linprog``) gives the unique values of a zero-sum stochastic
  game; the homotopies' equilibria must have them.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence

import numpy as np
import pygambit as gbt
import pytest
import scipy.optimize
from equilibria.solver import NormalFormGame
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.homotopy import (
    HomotopyResult,
    qre_homotopy,
    random_prior,
    stationary_equilibria,
    tracing_homotopy,
)
from equilibria.solver.stochastic.regret import certify_markov
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.extra.numpy import arrays

if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
    _storage = tempfile.mkdtemp(prefix="equilibria-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    set_hypothesis_home_dir(_storage)

Profile = tuple[np.ndarray, ...]
#: Certification tolerance, relative to ``reward_scale / (1 - discount)``.
TOL = 1e-8


# --------------------------------------------------------------------------- game builders


class Built:
    """A stochastic game with the dense tensors it was built from (for the independent checks)."""

    def __init__(
        self,
        rewards: np.ndarray,
        transitions: np.ndarray,
        discount: float,
        counts: np.ndarray | None = None,
    ) -> None:
        self.rewards = np.asarray(rewards, dtype=float)
        self.transitions = np.asarray(transitions, dtype=float)
        self.discount = discount
        n_states, n = self.rewards.shape[:2]
        sizes = self.rewards.shape[2:]
        self.counts = np.tile(sizes, (n_states, 1)) if counts is None else np.asarray(counts)
        self.game = StochasticGame(self.rewards, self.transitions, discount=discount, action_counts=counts)

    @property
    def gap_tolerance(self) -> float:
        return TOL * self.game.reward_scale / (1.0 - self.discount)


def repeated(payoffs: np.ndarray, discount: float) -> Built:
    """The stage game ``payoffs`` (shape (n, a_1..a_n)) repeated forever: one state, a self-loop."""
    payoffs = np.asarray(payoffs, dtype=float)
    return Built(payoffs[None], np.ones((1, *payoffs.shape[1:], 1)), discount)


def random_game(
    seed: int,
    n_states: int,
    sizes: Sequence[int],
    *,
    density: float = 1.0,
    discount: float = 0.9,
    ragged: bool = False,
    zero_sum: bool = False,
) -> Built:
    """Normal rewards; exponential transition weights, a fraction ``density`` of them kept."""
    rng = np.random.default_rng(seed)
    n = len(sizes)
    rewards = rng.normal(size=(n_states, n, *sizes))
    if zero_sum:
        rewards[:, 1] = -rewards[:, 0]
    weights = rng.exponential(size=(n_states, *sizes, n_states))
    if density < 1.0:
        keep = rng.uniform(size=weights.shape) < density
        keep[..., int(rng.integers(n_states))] |= ~keep.any(axis=-1)
        weights = weights * keep
    transitions = weights / weights.sum(axis=-1, keepdims=True)
    counts = None
    if ragged:
        counts = np.array([[rng.integers(1, k + 1) for k in sizes] for _ in range(n_states)])
        counts[0] = sizes  # one state with the full action sets,
        counts[-1, 0] = 1  # and one where player 0 has no choice
    return Built(rewards, transitions, discount, counts)


# --------------------------------------------------------------------------- independent checks


def deviation_gap(built: Built, policies: Sequence[np.ndarray]) -> float:
    """Largest one-shot deviation gain over states and players, from the dense tensors.

    Values by a dense linear solve ``(I - gamma P_pi) V = r_pi``; ``Q_i(s, a_i)`` against
    the others' policies; the gap is ``max_{a_i existing} Q_i(s, a_i) - V_i(s)``.
    """
    r, p, gamma = built.rewards, built.transitions, built.discount
    n_states, n = r.shape[:2]
    sizes = r.shape[2:]
    for i, pol in enumerate(policies):
        assert pol.shape == (n_states, sizes[i])
        assert np.all(pol >= 0.0) and np.allclose(pol.sum(axis=1), 1.0, atol=1e-12)
        for s in range(n_states):
            assert np.all(pol[s, built.counts[s, i] :] == 0.0), "probability on an action that does not exist"
    joint = np.ones((n_states, *sizes))
    for i, pol in enumerate(policies):
        shape = [n_states] + [1] * n
        shape[i + 1] = sizes[i]
        joint = joint * pol.reshape(shape)
    axes = tuple(range(1, n + 1))
    r_pi = np.stack([(r[:, i] * joint).sum(axis=axes) for i in range(n)], axis=1)
    p_pi = np.einsum("sa,sat->st", joint.reshape(n_states, -1), p.reshape(n_states, -1, n_states))
    values = np.linalg.solve(np.eye(n_states) - gamma * p_pi, r_pi)
    q_full = r + gamma * np.moveaxis(p @ values, -1, 1)  # (S, n, a_1..a_n)
    gap = 0.0
    for i in range(n):
        others = np.ones((n_states, *sizes))
        for j, pol in enumerate(policies):
            if j != i:
                shape = [n_states] + [1] * n
                shape[j + 1] = sizes[j]
                others = others * pol.reshape(shape)
        q_i = (q_full[:, i] * others).sum(axis=tuple(a for a in axes if a != i + 1))
        exists = np.arange(sizes[i])[None, :] < built.counts[:, i, None]
        best = np.where(exists, q_i, -np.inf).max(axis=1)
        gap = max(gap, float((best - values[:, i]).max()))
    return gap


def gambit_equilibria(payoffs: np.ndarray) -> list[Profile]:
    game = gbt.Game.from_arrays(*payoffs)
    return [
        tuple(np.array([float(eq[s]) for s in player.strategies]) for player in game.players)
        for eq in gbt.nash.enummixed_solve(game, rational=False).equilibria
    ]


def gambit_logit_limit(payoffs: np.ndarray) -> Profile:
    """The end of pygambit's principal logit QRE branch (its own path follower)."""
    game = gbt.Game.from_arrays(*payoffs)
    eq = gbt.nash.logit_solve(game).equilibria[0]
    return tuple(np.array([float(eq[s]) for s in player.strategies]) for player in game.players)


def distance(p: Sequence[np.ndarray], q: Sequence[np.ndarray]) -> float:
    return max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(p, q, strict=True))


def stage_profile(policies: Sequence[np.ndarray], state: int = 0) -> Profile:
    return tuple(np.asarray(p)[state] for p in policies)


def matrix_game_value(m: np.ndarray) -> float:
    """max_x min_y x^T M y by linear programming (variables x, v; minimise -v)."""
    rows, cols = m.shape
    c = np.zeros(rows + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-m.T, np.ones((cols, 1))])  # v - x^T M e_b <= 0
    a_eq = np.hstack([np.ones((1, rows)), np.zeros((1, 1))])
    res = scipy.optimize.linprog(
        c, A_ub=a_ub, b_ub=np.zeros(cols), A_eq=a_eq, b_eq=[1.0], bounds=[(0, None)] * rows + [(None, None)]
    )
    assert res.status == 0
    return float(-res.fun)


def shapley_values(built: Built, tol: float = 1e-10) -> np.ndarray:
    """Shapley iteration V <- val[r_0(s) + gamma P V] until the contraction bound is below tol."""
    r, p, gamma = built.rewards, built.transitions, built.discount
    values = np.zeros(r.shape[0])
    for _ in range(10_000):
        new = np.array([matrix_game_value(r[s, 0] + gamma * p[s] @ values) for s in range(r.shape[0])])
        change = float(np.abs(new - values).max())
        values = new
        if gamma / (1.0 - gamma) * change < tol:
            return values
    raise AssertionError("Shapley iteration did not converge")


def assert_equilibrium(built: Built, policies: Sequence[np.ndarray], label: str = "") -> None:
    cert = certify_markov(built.game, policies)
    assert cert.max_state_gap <= built.gap_tolerance, f"{label}: certify_markov gap {cert.max_state_gap:.3g}"
    gap = deviation_gap(built, policies)
    assert gap <= built.gap_tolerance, f"{label}: one-shot deviation gap {gap:.3g}"


# --------------------------------------------------------------------------- (a) repeated games vs pygambit


REPEATED = [
    pytest.param(seed, shape, discount, id=f"s{seed}-{shape[0]}x{shape[1]}-g{discount}")
    for seed, shape, discount in [
        (1, (2, 2), 0.5),
        (2, (2, 2), 0.9),
        (3, (2, 3), 0.7),
        (4, (3, 2), 0.3),
        (5, (3, 3), 0.8),
        (6, (3, 3), 0.95),
        (7, (2, 3), 0.6),
        (8, (3, 3), 0.5),
        (9, (2, 2), 0.75),
        (10, (3, 2), 0.85),
    ]
]


@pytest.mark.oracle
@pytest.mark.parametrize(("seed", "shape", "discount"), REPEATED)
def test_repeated_game_equilibria_are_stage_game_equilibria(
    seed: int, shape: tuple[int, int], discount: float
) -> None:
    payoffs = np.random.default_rng(seed).normal(size=(2, *shape))  # generic: isolated equilibria
    built = repeated(payoffs, discount)
    oracle = gambit_equilibria(payoffs)
    qre = qre_homotopy(built.game)
    assert qre.converged, qre.reason
    assert min(distance(stage_profile(qre.policies), eq) for eq in oracle) <= 1e-6
    # With one state, Q = r + gamma V shifts each player's payoffs by a constant: the
    # stationary QRE branch is the stage game's logit branch, so the limits agree. The
    # homotopy follows the branch of the game with each player's rewards mapped onto
    # [0, 1], so that no player's units change its end point (issue 17).
    low = payoffs.reshape(2, -1).min(axis=1)[:, None, None]
    span = np.ptp(payoffs.reshape(2, -1), axis=1)[:, None, None]
    assert distance(stage_profile(qre.policies), gambit_logit_limit((payoffs - low) / span)) <= 1e-5
    found, description = stationary_equilibria(built.game, n_priors=1, seed=seed)
    assert found and "partial" in description
    for eq in found:
        assert min(distance(stage_profile(eq.policies), o) for o in oracle) <= 1e-6, eq.found_by
        assert eq.max_state_gap <= built.gap_tolerance
    for a, b in itertools.combinations(found, 2):
        assert distance(a.policies, b.policies) > 1e-6  # deduplicated


@pytest.mark.oracle
def test_priors_find_several_equilibria_of_a_coordination_game() -> None:
    """diag(3, 2, 1) for both players: 7 equilibria (one per common support); corners find the pure ones."""
    payoffs = np.stack([np.diag([3.0, 2.0, 1.0])] * 2)
    built = repeated(payoffs, 0.8)
    oracle = gambit_equilibria(payoffs)
    assert len(oracle) == 7
    found, description = stationary_equilibria(built.game, n_priors=3, seed=1)
    assert len(found) >= 2, description
    for eq in found:
        assert min(distance(stage_profile(eq.policies), o) for o in oracle) <= 1e-6
    pure = {
        tuple(int(np.argmax(p[0])) for p in eq.policies)
        for eq in found
        if all(p.max() == 1.0 for p in eq.policies)
    }
    assert {(0, 0), (1, 1), (2, 2)} <= pure  # each corner prior ends at its own corner
    assert f"{len(found)} distinct equilibria" in description


@pytest.mark.parametrize(
    ("lean", "expected"),
    [pytest.param(0.9, 0, id="lean-first"), pytest.param(0.1, 1, id="lean-second")],
)
def test_tracing_follows_the_prior_in_a_coordination_game(lean: float, expected: int) -> None:
    built = repeated(np.stack([np.diag([2.0, 1.0])] * 2), 0.5)
    prior = (np.array([[lean, 1.0 - lean]]),) * 2
    result = tracing_homotopy(built.game, prior)
    assert result.converged and result.homotopy == "tracing"
    assert 0.99 < result.parameter <= 1.0 and result.steps > 0
    target = np.eye(2)[expected][None]
    assert distance(result.policies, (target, target)) == 0.0
    assert result.prior is not None and distance(result.prior, prior) == 0.0


def test_repeated_matching_pennies_known_answer() -> None:
    pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    built = repeated(pennies, 0.9)
    for result in (qre_homotopy(built.game), tracing_homotopy(built.game, random_prior(built.game, 0))):
        assert isinstance(result, HomotopyResult) and result.converged
        assert distance(result.policies, (np.full((1, 2), 0.5),) * 2) <= 1e-12
        assert result.max_state_gap <= 1e-12


@settings(deadline=None, max_examples=12)
@given(
    arrays(np.float64, st.sampled_from([(2, 2, 2), (2, 2, 3)]), elements=st.integers(-2, 2).map(float)),
    st.floats(0.1, 0.95),
    st.integers(0, 2**32 - 1),
)
def test_degenerate_stage_games_still_end_at_equilibria(
    payoffs: np.ndarray, discount: float, seed: int
) -> None:
    """Small integer payoffs (ties, dominance, continua of equilibria): both paths still end certified."""
    built = repeated(payoffs, discount)
    for result in (qre_homotopy(built.game), tracing_homotopy(built.game, random_prior(built.game, seed))):
        assert result.converged, result.reason
        assert deviation_gap(built, result.policies) <= built.gap_tolerance


# --------------------------------------------------------------------------- (b) random general-sum games


RANDOM = [
    pytest.param(
        seed,
        n_states,
        sizes,
        density,
        discount,
        id=f"s{seed}-S{n_states}-{'x'.join(map(str, sizes))}-d{density}-g{discount}",
    )
    for seed, n_states, sizes, density, discount in [
        (11, 2, (2, 2), 1.0, 0.5),
        (12, 3, (3, 3), 1.0, 0.9),
        (13, 4, (2, 3), 0.3, 0.95),
        (14, 5, (3, 3), 0.3, 0.8),
        (15, 5, (3, 2), 1.0, 0.7),
        (16, 3, (2, 2, 2), 1.0, 0.9),
        (17, 4, (2, 3, 2), 0.4, 0.6),
    ]
]


@pytest.mark.parametrize(("seed", "n_states", "sizes", "density", "discount"), RANDOM)
def test_random_games_end_at_certified_equilibria(
    seed: int, n_states: int, sizes: tuple[int, ...], density: float, discount: float
) -> None:
    built = random_game(seed, n_states, sizes, density=density, discount=discount)
    qre = qre_homotopy(built.game)
    assert qre.converged, qre.reason
    assert qre.parameter > 0.0 and qre.max_state_gap <= built.gap_tolerance
    assert_equilibrium(built, qre.policies, "qre")
    found, description = stationary_equilibria(built.game, n_priors=2, seed=seed)
    assert found, description
    for eq in found:
        assert_equilibrium(built, eq.policies, ",".join(eq.found_by))
        cert = certify_markov(built.game, eq.policies)  # the stored certificate is certify_markov's
        np.testing.assert_allclose(eq.values, cert.values, rtol=0, atol=1e-9)
        np.testing.assert_allclose(eq.payoffs, built.game.initial_distribution @ cert.values, atol=1e-9)
    assert any("qre" in eq.found_by for eq in found)


def test_every_path_of_the_search_is_accounted_for() -> None:
    built = random_game(21, 3, (2, 2), discount=0.8)
    found, description = stationary_equilibria(built.game, n_priors=3, seed=4)
    labels = [label for eq in found for label in eq.found_by]
    assert len(labels) == len(set(labels))
    runs = ["qre", "tracing:uniform", "tracing:corner=0", "tracing:corner=1"] + [
        f"tracing:prior={k}" for k in range(3)
    ]
    match = re.search(r"(\d+) of (\d+) paths certified", description)
    assert match is not None and int(match.group(2)) == len(runs) and int(match.group(1)) == len(labels)
    for label in runs:
        assert (label in labels) != (f"{label} (" in description), label  # found, or listed as not certified


# --------------------------------------------------------------------------- (c) multiple MPE


def two_state_coordination() -> Built:
    """State 0 plays diag(2, 1), state 1 diag(1, 2) (both players); moves ignore the actions."""
    rewards = np.stack([np.stack([np.diag([2.0, 1.0])] * 2), np.stack([np.diag([1.0, 2.0])] * 2)])
    transitions = np.empty((2, 2, 2, 2))
    transitions[0] = [0.3, 0.7]
    transitions[1] = [0.6, 0.4]
    return Built(rewards, transitions, 0.9)


def test_two_state_coordination_has_several_markov_perfect_equilibria() -> None:
    built = two_state_coordination()
    # Continuation values do not depend on the actions: an MPE is a stage equilibrium per
    # state. diag(2, 1): pure (0, 0), (1, 1), and both mixing (1/3, 2/3); diag(1, 2): the
    # pure ones and (2/3, 1/3).
    per_state = [
        [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1 / 3, 2 / 3])],
        [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([2 / 3, 1 / 3])],
    ]
    all_mpe = [np.stack(choice) for choice in itertools.product(*per_state)]
    assert len(all_mpe) == 9
    for mpe in all_mpe:
        assert deviation_gap(built, (mpe, mpe)) <= 1e-12
    found, description = stationary_equilibria(built.game, n_priors=4, seed=0)
    assert len(found) >= 2, description
    for eq in found:
        assert min(distance(eq.policies, (mpe, mpe)) for mpe in all_mpe) <= 1e-9
        assert_equilibrium(built, eq.policies)
    # priors concentrated on one coordination profile in both states end there
    for k in (0, 1):
        corner = np.eye(2)[[k, k]]
        result = tracing_homotopy(built.game, (0.9 * corner + 0.05, 0.9 * corner + 0.05))
        assert result.converged and distance(result.policies, (corner, corner)) <= 1e-12


# --------------------------------------------------------------------------- (d) zero-sum


@pytest.mark.parametrize(
    ("seed", "n_states", "sizes", "density", "discount"),
    [
        pytest.param(31, 3, (2, 3), 1.0, 0.8, id="S3-2x3-dense"),
        pytest.param(32, 4, (3, 3), 0.4, 0.75, id="S4-3x3-sparse"),
    ],
)
def test_zero_sum_equilibria_have_the_shapley_values(
    seed: int, n_states: int, sizes: tuple[int, int], density: float, discount: float
) -> None:
    built = random_game(seed, n_states, sizes, density=density, discount=discount, zero_sum=True)
    expected = shapley_values(built)
    for result in (qre_homotopy(built.game), tracing_homotopy(built.game, random_prior(built.game, seed))):
        assert result.converged, result.reason
        values = certify_markov(built.game, result.policies).values
        np.testing.assert_allclose(values[:, 0], expected, rtol=0, atol=1e-7)
        np.testing.assert_allclose(values[:, 1], -expected, rtol=0, atol=1e-7)


def test_zero_sum_with_an_absorbing_state() -> None:
    """Matching pennies scaled by 3 in an absorbing state: V = v / (1 - gamma) = 0 there; state 0 pays 1."""
    pennies = 3.0 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    rewards = np.stack([np.stack([np.ones((2, 2)), -np.ones((2, 2))]), np.stack([pennies, -pennies])])
    transitions = np.zeros((2, 2, 2, 2))
    transitions[:, :, :, 1] = 1.0
    built = Built(rewards, transitions, 0.5)
    result = qre_homotopy(built.game)
    values = certify_markov(built.game, result.policies).values
    np.testing.assert_allclose(values[:, 0], [1.0, 0.0], atol=1e-10)
    np.testing.assert_allclose(result.policies[0][1], [0.5, 0.5], atol=1e-10)


# --------------------------------------------------------------------------- (e) ragged action sets


@pytest.mark.parametrize(
    ("seed", "sizes"),
    [
        pytest.param(41, (3, 3), id="2p-3x3"),
        pytest.param(42, (2, 3), id="2p-2x3"),
        pytest.param(43, (3, 2, 2), id="3p"),
    ],
)
def test_ragged_action_sets(seed: int, sizes: tuple[int, ...]) -> None:
    built = random_game(seed, 4, sizes, density=0.5, discount=0.85, ragged=True)
    assert (built.counts < np.array(sizes)).any()
    for result in (qre_homotopy(built.game), tracing_homotopy(built.game, random_prior(built.game, seed))):
        assert result.converged, result.reason
        assert_equilibrium(built, result.policies, result.homotopy)  # checks zero mass on missing actions


def test_a_state_without_choices() -> None:
    """Nobody has a choice in state 1; the equilibrium there is forced."""
    rng = np.random.default_rng(5)
    rewards = rng.normal(size=(2, 2, 2, 2))
    transitions = np.full((2, 2, 2, 2), 0.5)
    built = Built(rewards, transitions, 0.7, counts=np.array([[2, 2], [1, 1]]))
    result = qre_homotopy(built.game)
    assert result.converged
    assert_equilibrium(built, result.policies)
    assert result.policies[0][1].tolist() == [1.0, 0.0]
    only = Built(rewards[:, :, :1, :1], transitions[:, :1, :1], 0.7)
    single = stationary_equilibria(only.game, n_priors=1)[0]
    assert len(single) == 1 and single[0].policies[0].tolist() == [[1.0], [1.0]]


# --------------------------------------------------------------------------- (f) options and bad input


def test_bad_input_is_rejected_with_the_field_and_the_function() -> None:
    built = random_game(51, 2, (2, 2))
    game = built.game
    finite = StochasticGame(built.rewards, built.transitions, discount=0.9, horizon=3)
    cases = [
        (
            lambda: qre_homotopy(NormalFormGame(np.zeros((2, 2, 2)))),
            InvalidOptionError,
            "game",
            "qre_homotopy()",
        ),
        (lambda: qre_homotopy(finite), UnsupportedError, "game", "qre_homotopy()"),
        (lambda: tracing_homotopy(finite), UnsupportedError, "game", "tracing_homotopy()"),
        (lambda: stationary_equilibria(finite), UnsupportedError, "game", "stationary_equilibria()"),
        (lambda: qre_homotopy(game, tol=0.0), InvalidOptionError, "tolerance", "qre_homotopy()"),
        (lambda: qre_homotopy(game, tol=True), InvalidOptionError, "tolerance", "qre_homotopy()"),
        (lambda: qre_homotopy(game, max_steps=0), InvalidOptionError, "max_steps", "qre_homotopy()"),
        (lambda: qre_homotopy(game, time_limit=-1.0), InvalidOptionError, "time_limit", "qre_homotopy()"),
        (lambda: qre_homotopy(game, lambda_max=1.0), InvalidOptionError, "lambda_max", "qre_homotopy()"),
        (lambda: tracing_homotopy(game, eta=0.0), InvalidOptionError, "eta", "tracing_homotopy()"),
        (
            lambda: tracing_homotopy(game, (np.ones((2, 2)),)),
            InvalidOptionError,
            "prior",
            "tracing_homotopy()",
        ),
        (
            lambda: tracing_homotopy(game, (np.ones((2, 3)) / 3, np.ones((2, 2)) / 2)),
            InvalidOptionError,
            "prior[0]",
            "tracing_homotopy()",
        ),
        (
            lambda: tracing_homotopy(game, (np.full((2, 2), 0.7), np.ones((2, 2)) / 2)),
            InvalidOptionError,
            "prior[0]",
            "tracing_homotopy()",
        ),
        (lambda: tracing_homotopy(game, ("ab", "cd")), InvalidOptionError, "prior", "tracing_homotopy()"),
        (
            lambda: stationary_equilibria(game, n_priors=-1),
            InvalidOptionError,
            "n_priors",
            "stationary_equilibria()",
        ),
        (
            lambda: stationary_equilibria(game, n_priors=2.5),
            InvalidOptionError,
            "n_priors",
            "stationary_equilibria()",
        ),
        (
            lambda: stationary_equilibria(game, seed="x"),
            InvalidOptionError,
            "seed",
            "stationary_equilibria()",
        ),
        (
            lambda: stationary_equilibria(game, tol=1.0),
            InvalidOptionError,
            "tolerance",
            "stationary_equilibria()",
        ),
        (
            lambda: stationary_equilibria(game, time_limit=float("inf")),
            InvalidOptionError,
            "time_limit",
            "stationary_equilibria()",
        ),
    ]
    for call, error, field, function in cases:
        with pytest.raises(error) as info:
            call()
        assert info.value.field == field and info.value.message.startswith(function), info.value.message


def test_a_prior_on_a_missing_action_is_rejected() -> None:
    built = random_game(52, 2, (2, 2), ragged=True)
    built = Built(built.rewards, built.transitions, 0.9, counts=np.array([[2, 2], [1, 2]]))
    bad = (np.full((2, 2), 0.5), np.full((2, 2), 0.5))  # player 0 has one action in state 1
    with pytest.raises(InvalidOptionError) as info:
        tracing_homotopy(built.game, bad)
    assert info.value.field == "prior[0]" and "does not exist" in info.value.message


def test_too_many_unknowns() -> None:
    n_states = 7_000
    rows = np.arange(n_states * 4)
    transitions = (rows, (rows // 4 + 1) % n_states, np.ones(rows.size))
    game = StochasticGame(np.zeros((n_states, 2, 2, 2)), transitions, discount=0.5)
    with pytest.raises(ProblemTooLargeError) as info:
        qre_homotopy(game)
    assert info.value.field == "game" and "40,000" in info.value.message


def test_time_limit_stops_the_search_and_says_so() -> None:
    built = random_game(61, 5, (3, 3), discount=0.9)
    # 10,005 paths (logit, uniform, 3 corners, 10,000 random priors) of some 30 steps or
    # more each: over 300,000 path-following steps, hundreds of times what 0.3 s allows
    # on any machine, so the clock stops the search by construction (not by a race).
    started = time.monotonic()
    found, description = stationary_equilibria(built.game, n_priors=10_000, time_limit=0.3)
    assert time.monotonic() - started < 5.0
    assert "stopped by the time limit (0.3 s) after " in description and " of 10005 paths" in description
    assert "partial" in description
    for eq in found:
        assert eq.max_state_gap <= built.gap_tolerance
    stopped = qre_homotopy(built.game, time_limit=1e-6)
    assert not stopped.converged and "time limit" in stopped.reason


def test_max_steps_ends_the_path_unconverged() -> None:
    built = random_game(62, 3, (3, 3))
    result = tracing_homotopy(built.game, random_prior(built.game, 1), max_steps=2)
    assert not result.converged and "max_steps=2" in result.reason and result.steps == 2
    assert 0.0 < result.parameter < 1.0
