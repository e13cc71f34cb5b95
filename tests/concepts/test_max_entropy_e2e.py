"""End-to-end: the maximum-entropy and maximum-Gini (coarse) correlated equilibria through the
client and a real server."""

from __future__ import annotations

import numpy as np
import pytest
from equilibria.client import Client, InvalidArgumentError
from equilibria.solver import NormalFormGame, solve

pytestmark = pytest.mark.e2e

CONCEPTS = (
    "max_entropy_correlated",
    "max_entropy_coarse_correlated",
    "max_gini_correlated",
    "max_gini_coarse_correlated",
)
CHICKEN = ([[6, 2], [7, 0]], [[6, 7], [2, 0]])


def test_chicken_answers_every_measure_with_its_certificate(client: Client) -> None:
    result = client.solve(CHICKEN, concepts=["nash", *CONCEPTS])
    assert [a.concept for a in result.max_entropy_equilibria] == list(CONCEPTS)
    gini = result.max_entropy_equilibria[2]
    assert gini.measure == "gini" and gini.kind == "correlated"
    np.testing.assert_allclose(gini.distribution, np.array([[9, 10], [10, 5]]) / 34, atol=1e-9)
    w = 1 / (5 + 2**0.8)
    entropy = result.max_entropy_equilibria[0]
    np.testing.assert_allclose(entropy.distribution, [[1 - 5 * w, 2 * w], [2 * w, w]], atol=1e-9)
    for answer in result.max_entropy_equilibria:
        assert answer.relative_violation <= 1e-9 and answer.bound >= answer.value - 1e-12
        status = result.status_of(answer.concept)
        assert status is not None and status.status == "answered"
    assert "max_gini_correlated" in str(result)


def test_the_answer_is_the_solvers_answer(client: Client) -> None:
    payoffs = np.random.default_rng(3).standard_normal((3, 3, 2, 3))
    remote = client.solve(payoffs, concepts=list(CONCEPTS)).max_entropy_equilibria
    local = solve(NormalFormGame(payoffs), list(CONCEPTS)).max_entropy_equilibria
    for a, b in zip(remote, local, strict=True):
        assert a.concept == b.concept and a.value == b.value and a.bound == b.bound
        np.testing.assert_array_equal(a.distribution, b.distribution)
        np.testing.assert_array_equal(a.payoffs, b.payoffs)


def test_large_games_and_stochastic_games_are_refused(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve_stochastic(
            np.zeros((1, 2, 2, 2)), np.ones((1, 2, 2, 1)), discount=0.9, concepts="max_gini_correlated"
        )
    assert "not available for stochastic games" in refused.value.message
    assert client.solve(CHICKEN, concepts="max_gini_coarse_correlated").max_entropy_equilibria[0].value > 0.7
