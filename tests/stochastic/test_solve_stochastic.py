"""The stochastic-game front door (solver/stochastic/solve.py): method choice, options, filters.

The algorithms have their own test files (test_markov_*.py); here: ``"auto"`` picks the
method by game class and says so, inapplicable methods and concepts are refused naming
the field, the Pareto and welfare filters agree with a brute-force reading of the
equilibria found, and the maximin disagreement point equals an LP computed here.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from equilibria.solver import InvalidOptionError, StochasticGame, UnsupportedError, solve_stochastic
from equilibria.solver.stochastic.solve import stochastic_maximin_values

STAG = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])
PENNIES = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])


def _repeated(stage: np.ndarray, **kwargs) -> StochasticGame:
    return StochasticGame(stage[None], np.ones((1, *stage.shape[1:], 1)), **kwargs)


def _random(
    seed: int, states: int = 3, actions: tuple[int, ...] = (2, 2), discount: float = 0.8
) -> StochasticGame:
    rng = np.random.default_rng(seed)
    dense = rng.random((states, *actions, states))
    return StochasticGame(
        rng.integers(0, 5, (states, len(actions), *actions)).astype(float),
        dense / dense.sum(-1, keepdims=True),
        discount=discount,
    )


@pytest.mark.parametrize(
    ("game", "method"),
    [
        pytest.param(_repeated(PENNIES, discount=0.5), "hoffman_karp", id="zero-sum"),
        pytest.param(
            _repeated(np.stack([STAG[0], STAG[0]]), discount=0.5), "team_policy_iteration", id="team"
        ),
        pytest.param(_repeated(STAG, discount=1.0, horizon=2), "backward_induction", id="finite-horizon"),
        pytest.param(_random(0), "homotopy", id="general-sum"),
    ],
)
def test_auto_picks_the_method_by_game_class(game: StochasticGame, method: str) -> None:
    result = solve_stochastic(game, priors=1)
    assert result.method == method and result.method_reason.startswith("auto:")
    assert len(result) >= 1 and result.max_nash_conv <= 1e-7
    assert all(eq.max_state_gap <= 1e-7 for eq in result.equilibria)


@pytest.mark.parametrize(
    ("game", "kwargs", "error", "field"),
    [
        pytest.param(_random(1), {"method": "shapley"}, UnsupportedError, "method", id="shapley-general-sum"),
        pytest.param(
            _random(1), {"method": "team_policy_iteration"}, UnsupportedError, "method", id="team-not-team"
        ),
        pytest.param(
            _random(1), {"method": "backward_induction"}, UnsupportedError, "method", id="bi-infinite"
        ),
        pytest.param(
            _repeated(STAG, discount=1.0, horizon=2),
            {"method": "homotopy"},
            UnsupportedError,
            "method",
            id="homotopy-finite",
        ),
        pytest.param(
            _random(1), {"method": "lemke_howson"}, InvalidOptionError, "method", id="unknown-method"
        ),
        pytest.param(_random(1), {"concepts": ["correlated"]}, UnsupportedError, "concepts", id="correlated"),
        pytest.param(
            _random(1), {"concepts": ["zero_sum_value"]}, UnsupportedError, "concepts", id="zero-sum-value"
        ),
        pytest.param(
            _random(1), {"concepts": ["nashh"]}, InvalidOptionError, "concepts", id="unknown-concept"
        ),
        pytest.param(_random(1), {"welfare": ["rawls"]}, InvalidOptionError, "welfare", id="welfare"),
        pytest.param(
            _random(1), {"stage_selection": ["focal"]}, InvalidOptionError, "stage_selection", id="criterion"
        ),
        pytest.param(_random(1), {"tol": 0.0}, InvalidOptionError, "tolerance", id="tolerance"),
        pytest.param(_random(1), {"priors": -1}, InvalidOptionError, "priors", id="priors"),
        pytest.param(
            _random(1),
            {"concepts": ["welfare_nash"], "welfare": ["nash_product"], "disagreement": [0.0]},
            InvalidOptionError,
            "disagreement",
            id="disagreement-length",
        ),
    ],
)
def test_inapplicable_requests_name_the_field(game, kwargs, error, field) -> None:
    with pytest.raises(error) as info:
        solve_stochastic(game, **kwargs)
    assert info.value.field == field


def test_pareto_and_welfare_filters_over_the_equilibria_found() -> None:
    # Two states, each a coordination game: several stationary equilibria.
    coordination = np.stack([np.diag([2.0, 1.0]), np.diag([1.0, 3.0])])
    rewards = np.stack([coordination, coordination[::-1]])  # (S=2, n=2, 2, 2)
    transitions = np.full((2, 2, 2, 2), 0.5)
    game = StochasticGame(rewards, transitions, discount=0.5)
    result = solve_stochastic(
        game,
        ["nash", "pareto_nash", "welfare_nash"],
        welfare=["utilitarian", "egalitarian", "nash_product"],
        priors=12,
        seed=3,
    )
    table = np.array([eq.payoffs for eq in result.equilibria])
    assert len(table) >= 2
    dominated = {
        i
        for i in range(len(table))
        for j in range(len(table))
        if (table[j] >= table[i] - 1e-9).all() and (table[j] > table[i] + 1e-9).any()
    }
    assert set(result.pareto_indices) == set(range(len(table))) - dominated
    by_function = {w.function: w for w in result.welfare_optima}
    sums, mins = table.sum(1), table.min(1)
    assert by_function["utilitarian"].value == pytest.approx(sums.max())
    assert set(by_function["utilitarian"].equilibrium_indices) == set(
        np.flatnonzero(sums >= sums.max() - 1e-7)
    )
    assert by_function["egalitarian"].value == pytest.approx(mins.max())
    point = by_function["nash_product"].disagreement
    assert point is not None
    np.testing.assert_allclose(point, stochastic_maximin_values(game), atol=1e-7)
    assert not any(w.certified for w in result.welfare_optima)  # a partial set certifies nothing
    truncated = solve_stochastic(game, priors=12, seed=3, max_equilibria=1)
    assert len(truncated) == 1 and any("kept the first 1" in w for w in truncated.warnings)


def _stage_maximin(matrix: np.ndarray) -> float:
    """max_x min_j x^T M[:, j] by a plain LP (variables x, v)."""
    m, n = matrix.shape
    res = scipy.optimize.linprog(
        np.r_[np.zeros(m), -1.0],
        A_ub=np.c_[-matrix.T, np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    return float(-res.fun)


@pytest.mark.parametrize("seed", range(4))
def test_maximin_values_of_a_repeated_game_equal_the_stage_lp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stage = rng.standard_normal((3, 2, 3, 2))  # 3 players: the others' joint action is one opponent
    game = _repeated(stage, discount=0.75)
    expected = []
    for i in range(3):
        own = np.moveaxis(stage[i], i, 0).reshape(stage.shape[1 + i], -1)
        expected.append(_stage_maximin(own) / 0.25)
    np.testing.assert_allclose(stochastic_maximin_values(game, tol=1e-12), expected, atol=1e-8)
    horizon = _repeated(stage, discount=1.0, horizon=3)
    np.testing.assert_allclose(stochastic_maximin_values(horizon), np.array(expected) * 0.25 * 3, atol=1e-8)


def test_every_requested_concept_gets_a_status_in_request_order() -> None:
    """Issue 17: answered, partial or refused, with the reason, one per concept."""
    pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    game = StochasticGame(pennies[None], np.ones((1, 2, 2, 1)), discount=0.9)
    result = solve_stochastic(game, ["zero_sum_value", "nash", "pareto_nash"])
    assert [c.concept for c in result.concept_status] == ["zero_sum_value", "nash", "pareto_nash"]
    value, nash, pareto = result.concept_status
    assert value.status == "answered" and "hoffman_karp" in value.reason
    # The values are unique, the equilibrium strategies need not be: the set is partial.
    assert not result.complete and nash.status == "partial" and pareto.status == "partial"
    alone = solve_stochastic(game, ["zero_sum_value"])
    assert alone.complete and alone.status_of("zero_sum_value").status == "answered"  # type: ignore[union-attr]
    rng = np.random.default_rng([17, 20])
    general = StochasticGame(
        rng.standard_normal((3, 2, 2, 2)), rng.dirichlet(np.ones(3), (3, 2, 2)), discount=0.8
    )
    answer = solve_stochastic(general, ["nash", "welfare_nash"], max_equilibria=1)
    assert answer.status_of("nash").status == "partial"  # type: ignore[union-attr]
    welfare = answer.status_of("welfare_nash")
    assert welfare is not None and welfare.status == "partial" and "not proved complete" in welfare.reason
