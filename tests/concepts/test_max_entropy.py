"""The maximum-entropy and maximum-Gini (coarse) correlated equilibria
(:mod:`equilibria.solver.concepts.max_entropy`): answers derived by hand, the dual bound
and the constraints as certificates, scale invariance, and an independent primal solve
(scipy's SLSQP) as the oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.concepts.correlated import ce_violation, incentive_constraints
from equilibria.solver.concepts.max_entropy import CONCEPTS, MAX_JOINT_ACTIONS, max_entropy_equilibrium
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from scipy.optimize import minimize

CHICKEN = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
PRISONERS = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
PENNIES = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])


def test_chicken_by_hand() -> None:
    """Chicken's CE polytope: 2 p(C,D) >= p(C,C), p(D,C) >= 2 p(D,D) and the same for the
    column player. By symmetry p(C,D) = p(D,C) = y, and the binding constraint is y = 2 w
    (w = p(D,D)), x = 1 - 5 w. Gini: min x^2 + 9 w^2 gives w = 5/34, so p = (9, 10, 10,
    5) / 34 and the impurity 25/34. Entropy: 5 log(1 - 5w) = 4 log(2w) + log w gives
    w = 1 / (5 + 2^(4/5))."""
    gini = max_entropy_equilibrium(CHICKEN, "max_gini_correlated")
    np.testing.assert_allclose(gini.distribution, np.array([[9, 10], [10, 5]]) / 34, atol=1e-9)
    assert gini.value == pytest.approx(25 / 34, abs=1e-12)
    w = 1 / (5 + 2**0.8)
    entropy = max_entropy_equilibrium(CHICKEN, "max_entropy_correlated")
    np.testing.assert_allclose(entropy.distribution, [[1 - 5 * w, 2 * w], [2 * w, w]], atol=1e-9)
    expected = -((1 - 5 * w) * math.log(1 - 5 * w) + 4 * w * math.log(2 * w) + w * math.log(w))
    assert entropy.value == pytest.approx(expected, abs=1e-12)
    for answer in (gini, entropy):
        assert answer.relative_violation <= 1e-12 and answer.max_violation <= 1e-9
        assert answer.value - 1e-12 <= answer.bound <= answer.value + 1e-9
    np.testing.assert_allclose(entropy.payoffs, [6 * (1 - 5 * w) + 2 * 2 * w + 7 * 2 * w] * 2, atol=1e-8)


@pytest.mark.parametrize("concept", sorted(CONCEPTS))
def test_known_answers(concept: str) -> None:
    # Everything is an equilibrium of a constant game: the uniform distribution spreads most.
    constant = max_entropy_equilibrium(NormalFormGame(np.full((3, 2, 3, 2), 7.0)), concept)
    np.testing.assert_allclose(constant.distribution, np.full((2, 3, 2), 1 / 12), atol=1e-9)
    # Defection strictly dominates: the one (coarse) correlated equilibrium is (D, D).
    dominant = max_entropy_equilibrium(PRISONERS, concept)
    assert dominant.distribution.tolist() == [[0.0, 0.0], [0.0, 1.0]]  # zeros exact after the polish
    assert dominant.value == 0.0 and dominant.relative_violation == 0.0 and dominant.bound <= 1e-8
    # Matching pennies has one correlated equilibrium, the uniform one.
    pennies = max_entropy_equilibrium(PENNIES, concept)
    np.testing.assert_allclose(pennies.distribution, np.full((2, 2), 0.25), atol=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_certified_on_random_n_player_games_and_the_coarse_set_spreads_more(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = [(2, 4, 5), (3, 3, 3, 3), (4, 2, 3, 2, 2)][seed % 3]
    game = NormalFormGame(rng.standard_normal(shape))
    answers = {c: max_entropy_equilibrium(game, c) for c in CONCEPTS}
    for concept, answer in answers.items():
        assert 0.0 <= answer.relative_violation <= 1e-9, concept
        assert -1e-12 <= answer.bound - answer.value <= 1e-7, concept
        kind = "coarse_correlated" if "coarse" in concept else "correlated"
        assert answer.max_violation == pytest.approx(ce_violation(game, answer.distribution, kind), abs=0)
        assert answer.distribution.min() >= 0 and answer.distribution.sum() == pytest.approx(1, abs=1e-12)
    # Every CE is a CCE: the larger polytope spreads at least as much.
    assert answers["max_entropy_coarse_correlated"].value >= answers["max_entropy_correlated"].value - 1e-9
    assert answers["max_gini_coarse_correlated"].value >= answers["max_gini_correlated"].value - 1e-9


def _primal_gini(game: NormalFormGame, kind: str) -> np.ndarray:
    """The Gini program solved by SLSQP from the uniform distribution (the oracle)."""
    g = incentive_constraints(game, kind).toarray()
    n = g.shape[1]
    result = minimize(
        lambda p: (float(p @ p), 2 * p),
        np.full(n, 1 / n),
        jac=True,
        method="SLSQP",
        bounds=[(0, 1)] * n,
        constraints=[
            {"type": "eq", "fun": lambda p: p.sum() - 1, "jac": lambda p: np.ones((1, n))},
            {"type": "ineq", "fun": lambda p: g @ p, "jac": lambda p: g},
        ],
        options={"ftol": 1e-15, "maxiter": 5000},
    )
    assert result.success, result.message
    return result.x


def _dual_entropy(game: NormalFormGame, kind: str) -> float:
    """The largest entropy as the infimum of its dual, min over lambda >= 0 of
    log sum_a exp((G^T lambda)_a), by L-BFGS-B (the oracle: another formulation, another
    method; the infimum need not be attained when the optimum has zeros)."""
    g = incentive_constraints(game, kind).toarray()

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        c = g.T @ lam
        top = c.max()
        weights = np.exp(c - top)
        total = weights.sum()
        return float(top + np.log(total)), g @ (weights / total)

    result = minimize(
        dual,
        np.zeros(g.shape[0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * g.shape[0],
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000},
    )
    return float(result.fun)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kind", ["correlated", "coarse_correlated"])
def test_the_answers_match_independent_solves(seed: int, kind: str) -> None:
    """Integer payoffs 0..4: polytopes with faces, optima with zeros."""
    rng = np.random.default_rng(100 + seed)
    game = NormalFormGame(rng.integers(0, 5, size=(2, 3, 3)).astype(float))
    gini = max_entropy_equilibrium(game, f"max_gini_{kind}")
    np.testing.assert_allclose(gini.distribution.ravel(), _primal_gini(game, kind), atol=1e-6)
    entropy = max_entropy_equilibrium(game, f"max_entropy_{kind}")
    assert entropy.value == pytest.approx(_dual_entropy(game, kind), abs=1e-6)


@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_scaling_and_shifting_a_players_payoffs_changes_nothing(scale: float) -> None:
    payoffs = np.random.default_rng(7).standard_normal((3, 3, 2, 3))
    scaled = payoffs.copy()
    scaled[2] = scaled[2] * scale - 4.0
    for concept in CONCEPTS:
        first = max_entropy_equilibrium(NormalFormGame(payoffs), concept)
        second = max_entropy_equilibrium(NormalFormGame(scaled), concept)
        np.testing.assert_allclose(first.distribution, second.distribution, atol=1e-9)
        assert second.relative_violation <= 1e-9


def test_bad_concepts_and_large_games_are_refused() -> None:
    with pytest.raises(InvalidOptionError) as refused:
        max_entropy_equilibrium(CHICKEN, "max_entropy_nash")
    assert refused.value.field == "concepts"
    with pytest.raises(ProblemTooLargeError) as refused:
        max_entropy_equilibrium(NormalFormGame(np.zeros((2, 250, 250))))
    assert MAX_JOINT_ACTIONS < 250 * 250 and refused.value.field == "payoffs"
    large = NormalFormGame(np.random.default_rng(0).standard_normal((2, 30, 30)))  # about 4 s to solve
    with pytest.raises(ProblemTooLargeError) as refused:
        max_entropy_equilibrium(large, "max_entropy_correlated", time_limit=0.05)
    assert "not solved within the time limit of 0.05 s" in str(refused.value)
    with pytest.raises(InvalidOptionError) as refused:
        max_entropy_equilibrium(CHICKEN, time_limit=-1.0)
    assert refused.value.field == "time_limit"


def test_solve_answers_each_concept_with_its_status() -> None:
    result = solve(CHICKEN, ["nash", *CONCEPTS])
    assert [a.concept for a in result.max_entropy_equilibria] == list(CONCEPTS)
    statuses = {s.concept: s for s in result.concept_status}
    for concept in CONCEPTS:
        assert statuses[concept].status == "answered", statuses[concept]
        assert "within" in statuses[concept].reason
    assert solve(CHICKEN).max_entropy_equilibria == ()
    large = NormalFormGame(np.random.default_rng(0).standard_normal((2, 30, 30)))
    late = solve(large, ["pure_nash", "max_entropy_correlated"], time_limit=0.05)
    assert late.max_entropy_equilibria == () and late.concept_status[0].status == "answered"
    assert late.concept_status[1].status == "refused" and "time limit" in late.concept_status[1].reason
    assert any("not solved within the time limit" in w for w in late.warnings)  # never cached


def test_the_certificates_are_measured_afresh_from_what_the_solver_returned(monkeypatch) -> None:
    """A solver answer that is off (far from the prisoner's dilemma's one equilibrium, entries
    dipping below zero, multipliers of the wrong sign): the distribution is made a
    distribution, its violation measured from the game, and the bound still holds for every
    equilibrium (the multipliers clipped at 0)."""
    from equilibria.solver.concepts import max_entropy

    rows = incentive_constraints(PRISONERS, "correlated").shape[0]
    off = np.array([0.25, 0.25, -1e-12, 0.5])

    def solver(clarabel, incentive, measure, time_limit):
        if incentive.shape[1] < 4:  # the polish on the support, itself a little off
            return np.array([0.4, -1e-12, 0.6]), (np.zeros(rows), 0.0)
        return off.copy(), (-2 * np.ones(rows), 0.0)

    monkeypatch.setattr(max_entropy, "_solve", solver)
    for concept in ("max_entropy_correlated", "max_gini_correlated"):
        answer = max_entropy_equilibrium(PRISONERS, concept)
        assert answer.distribution.min() == 0.0 and answer.distribution.sum() == pytest.approx(1.0)
        p = answer.distribution.ravel()
        g = incentive_constraints(PRISONERS, "correlated").toarray()
        assert answer.relative_violation == pytest.approx(max(0.0, -float((g @ p).min())), abs=1e-15)
        assert answer.relative_violation > 0.1  # defecting pays: far from an equilibrium
        assert answer.max_violation == ce_violation(PRISONERS, answer.distribution)
        # The multipliers clipped to 0: the bound of no constraint, the most spread distribution's.
        assert answer.bound == pytest.approx(math.log(4) if "entropy" in concept else 1.0, abs=1e-15)
        status = solve(PRISONERS, [concept]).concept_status[0]
        assert status.status == "partial" and "not certified" in status.reason
    assert "exponential cone" in max_entropy_equilibrium(PRISONERS, "max_entropy_correlated").method
    assert "quadratic" in max_entropy_equilibrium(PRISONERS, "max_gini_correlated").method


def test_the_joint_action_limit_is_inclusive(monkeypatch) -> None:
    from equilibria.solver.concepts import max_entropy

    monkeypatch.setattr(max_entropy, "MAX_JOINT_ACTIONS", 4)
    assert max_entropy_equilibrium(CHICKEN, "max_gini_correlated").distribution.shape == (2, 2)
    with pytest.raises(ProblemTooLargeError):
        max_entropy_equilibrium(NormalFormGame(np.zeros((2, 2, 3))), "max_gini_correlated")


def test_a_game_without_choices_has_its_one_joint_action() -> None:
    game = NormalFormGame(np.array([[[2.0]], [[-3.0]]]))
    for concept in CONCEPTS:
        answer = max_entropy_equilibrium(game, concept)
        assert answer.distribution.tolist() == [[1.0]] and answer.relative_violation == 0.0
        assert answer.value == 0.0 and answer.payoffs.tolist() == [2.0, -3.0]
