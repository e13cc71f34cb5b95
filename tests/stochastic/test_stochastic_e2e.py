"""End-to-end: stochastic games through the client and a real server.

Known answers (SPEC section 6): a stage game of value v repeated in an absorbing state
is worth v / (1 - gamma); the team optimum of a two-state chain; the stag hunt played
once under each stage-selection criterion. Every equilibrium the server returns is
re-certified here with the solver's certificate, and bad games are rejected with the
offending field named.
"""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest
import scipy.sparse as sp
from equilibria.client import AsyncClient, Client, InvalidArgumentError, InvalidGameError
from equilibria.client._convert import stochastic_game_to_proto
from equilibria.solver import StochasticGame, certify_markov
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

PENNIES = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
STAG_HUNT = np.array([[[4.0, 0.0], [3.0, 3.0]], [[4.0, 3.0], [0.0, 3.0]]])


def _absorbing(stage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return stage[None], np.ones((1, *stage.shape[1:], 1))


def _recertified(game: StochasticGame, eq) -> float:
    """Largest state gap of ``eq``'s policies measured afresh, and its values checked."""
    cert = certify_markov(game, eq.policies)
    np.testing.assert_allclose(cert.values, eq.values, atol=1e-9)
    np.testing.assert_allclose(cert.state_gaps, eq.state_gaps, atol=1e-9)
    return cert.max_state_gap


def test_zero_sum_value_of_a_repeated_stage_game(client: Client) -> None:
    # Matching pennies shifted so player 0's stage value is 2 (rewards sum to 0).
    stage = PENNIES + np.array([2.0, -2.0])[:, None, None]
    rewards, transitions = _absorbing(stage)
    result = client.solve_stochastic(rewards, transitions, discount=0.9, concepts=["nash", "zero_sum_value"])
    assert result.method == "hoffman_karp" and "auto" in result.method_reason
    assert result.zero_sum is not None
    np.testing.assert_allclose(result.zero_sum.values, [20.0], atol=1e-7)
    np.testing.assert_allclose(result.zero_sum.policies[0], [[0.5, 0.5]], atol=1e-9)
    assert result.zero_sum.error_bound <= 1e-6
    (eq,) = result.equilibria
    np.testing.assert_allclose(eq.payoffs, [20.0, -20.0], atol=1e-7)
    assert eq.nash_conv <= 1e-7 and not result.complete
    value_only = client.solve_stochastic(
        rewards, transitions, discount=0.9, concepts=["zero_sum_value"], method="shapley"
    )
    assert value_only.complete and value_only.zero_sum is not None and value_only.zero_sum.method == "shapley"
    np.testing.assert_allclose(value_only.zero_sum.values, [20.0], atol=1e-6)


def test_team_game_goes_for_the_delayed_reward(client: Client) -> None:
    # State 0: action (1, 1) pays 0 now and moves to state 1; anything else pays 1 and stays.
    # State 1 pays 3 forever. With gamma = 0.9: staying is worth 10, moving 0.9 * 30 = 27.
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0, :, :, :] = 1.0
    rewards[0, :, 1, 1] = 0.0
    rewards[1] = 3.0
    transitions = np.zeros((2, 2, 2, 2))
    transitions[0, :, :, 0] = 1.0
    transitions[0, 1, 1] = [0.0, 1.0]
    transitions[1, :, :, 1] = 1.0
    game = StochasticGame(rewards, transitions, discount=0.9, initial_distribution=[1.0, 0.0])
    result = client.solve_stochastic(game, concepts=["nash", "welfare_nash", "pareto_nash"])
    assert result.method == "team_policy_iteration"
    (eq,) = result.equilibria
    np.testing.assert_allclose(eq.values, [[27.0, 27.0], [30.0, 30.0]], atol=1e-8)
    np.testing.assert_allclose(eq.policies[0][0], [0.0, 1.0])
    assert _recertified(game, eq) <= 1e-9
    assert result.welfare_optima[0].certified and result.pareto_indices == (0,)


def test_general_sum_homotopy_returns_certified_stationary_equilibria(client: Client) -> None:
    rng = np.random.default_rng(7)
    rewards = rng.integers(0, 5, size=(3, 2, 2, 2)).astype(float)
    dense = rng.random((3, 2, 2, 3))
    dense /= dense.sum(axis=-1, keepdims=True)
    game = StochasticGame(rewards, dense, discount=0.8)
    result = client.solve_stochastic(
        game,
        concepts=["nash", "pareto_nash", "welfare_nash"],
        priors=4,
        seed=1,
        welfare=["utilitarian", "egalitarian"],
    )
    assert result.method == "homotopy" and not result.complete
    assert "prior" in result.method_reason
    assert len(result) >= 1
    for eq in result.equilibria:
        assert eq.found_by
        assert _recertified(game, eq) <= 1e-6
    assert result.pareto_indices and len(result.welfare_optima) == 2
    best = max(eq.payoffs.sum() for eq in result.equilibria)
    assert result.welfare_optima[0].value == pytest.approx(best)
    again = client.solve_stochastic(game, priors=4, seed=1)
    assert len(again) == len(result)  # the same seed searches the same priors


def test_finite_horizon_stag_hunt_under_each_criterion(client: Client) -> None:
    rewards, transitions = _absorbing(STAG_HUNT)
    result = client.solve_stochastic(
        rewards,
        transitions,
        discount=1.0,
        horizon=1,
        stage_selection=["utilitarian", "risk_dominance", "payoff_dominance"],
    )
    assert result.method == "backward_induction"
    by_criterion = {s.criterion: s for s in result.stage_selections}
    assert set(by_criterion) == {"utilitarian", "risk_dominance", "payoff_dominance"}
    payoffs = {c: result.equilibria[s.equilibrium_index].payoffs.tolist() for c, s in by_criterion.items()}
    assert payoffs == {
        "utilitarian": [4.0, 4.0],
        "payoff_dominance": [4.0, 4.0],
        "risk_dominance": [3.0, 3.0],
    }
    assert len(result) == 2  # utilitarian and payoff dominance select the same equilibrium
    assert all(s.decided for s in result.stage_selections)


def test_sparse_transitions_and_ragged_actions_through_the_client(client: Client) -> None:
    # A ring of 200 states; in odd states player 1 has a single action.
    n_states = 200
    rng = np.random.default_rng(3)
    stage = rng.standard_normal((n_states, 2, 2))
    rewards = np.stack([stage, -stage], axis=1)
    rows = np.arange(n_states * 4)
    matrix = sp.csr_array(
        (np.ones(rows.size), (rows, np.repeat((np.arange(n_states) + 1) % n_states, 4))),
        shape=(n_states * 4, n_states),
    )
    counts = np.tile([[2, 2], [2, 1]], (n_states // 2, 1))
    game = StochasticGame(rewards, matrix, discount=0.95, action_counts=counts)
    result = client.solve_stochastic(game, concepts=["zero_sum_value"])
    assert result.zero_sum is not None
    assert result.zero_sum.policies[1][1::2, 1].max() == 0.0  # never the missing action
    assert result.zero_sum.max_state_gap <= 1e-6
    cert = certify_markov(game, result.zero_sum.policies)
    np.testing.assert_allclose(cert.values[:, 0], result.zero_sum.values, atol=1e-7)


def test_async_client_solves_stochastic_games(server: ServerProcess) -> None:
    rewards, transitions = _absorbing(STAG_HUNT)

    async def run():
        async with AsyncClient.connect(server.target) as aclient:
            return await aclient.solve_stochastic(rewards, transitions, discount=1.0, horizon=3)

    result = asyncio.run(run())
    (eq,) = result.equilibria
    assert eq.policies[0].shape == (3, 1, 2)
    np.testing.assert_allclose(eq.payoffs, [12.0, 12.0])


def _raw(server: ServerProcess, game, **fields) -> grpc.RpcError:
    request = service_pb2.SolveGameRequest(stochastic_game=game, **fields)
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).SolveGame(request, timeout=30)
    return info.value


def _bad_row() -> np.ndarray:
    transitions = np.full((2, 2, 2, 2), 0.5)
    transitions[1, 1, 0] = [0.5, 0.4]
    return transitions


@pytest.mark.parametrize(
    ("make", "fields", "field", "fragment"),
    [
        pytest.param(
            lambda: stochastic_game_to_proto(np.zeros((2, 2, 2, 2)), _bad_row(), discount=0.5),
            {},
            "stochastic_game.transition_tensor",
            "state 1, joint action (1, 0) sums to 0.9",
            id="row-off-simplex",
        ),
        pytest.param(
            lambda: stochastic_game_to_proto(
                np.zeros((2, 2, 2, 2)), ([0, 8], [0, 1], [1.0, 1.0]), discount=0.5
            ),
            {},
            "stochastic_game.sparse_transitions.rows",
            "rows must be integers",
            id="sparse-row-range",
        ),
        pytest.param(
            lambda: stochastic_game_to_proto(
                np.zeros((2, 2, 2, 2)), np.full((2, 2, 2, 2), 0.5), discount=1.0
            ),
            {},
            "stochastic_game.discount",
            "discount",
            id="discount-one",
        ),
        pytest.param(
            lambda: stochastic_game_to_proto(
                np.zeros((2, 2, 2, 2)), np.full((2, 2, 2, 2), 0.5), discount=0.5, action_counts=[2, 2, 3, 2]
            ),
            {},
            "stochastic_game.action_counts",
            "expected 1..2",
            id="action-counts",
        ),
        pytest.param(
            lambda: game_pb2.StochasticGame(rewards=encode_tensor(np.zeros((1, 2, 1, 1)))),
            {},
            "stochastic_game.transitions",
            "transitions are required",
            id="no-transitions",
        ),
        pytest.param(
            lambda: stochastic_game_to_proto(
                np.zeros((2, 2, 2, 2)), np.full((2, 2, 2, 2), 0.5), discount=0.5
            ),
            {"concepts": [5]},
            "concepts",
            "not available for stochastic games",
            id="correlated-concept",
        ),
        pytest.param(
            lambda: stochastic_game_to_proto(
                np.random.default_rng(0).random((2, 2, 2, 2)), np.full((2, 2, 2, 2), 0.5), discount=0.5
            ),
            {"method": "shapley"},
            "method",
            "zero-sum",
            id="shapley-on-general-sum",
        ),
        pytest.param(
            lambda: stochastic_game_to_proto(
                np.zeros((2, 2, 2, 2)), np.full((2, 2, 2, 2), 0.5), discount=0.5
            ),
            {"stage_selection": [0]},
            "stage_selection[0]",
            "stage-selection",
            id="stage-selection-unspecified",
        ),
    ],
)
def test_bad_stochastic_games_name_the_field(server: ServerProcess, make, fields, field, fragment) -> None:
    err = _raw(server, make(), **fields)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert fragment in err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_oversized_games_are_resource_exhausted(server: ServerProcess) -> None:
    # Shapes past the limits are refused before any data is read (the data is left empty).
    rewards = encode_tensor(np.zeros((2000, 2, 1, 1)))
    huge_transitions = game_pb2.Tensor(shape=[2000, 1, 1, 10_000])
    err = _raw(server, game_pb2.StochasticGame(rewards=rewards, transition_tensor=huge_transitions))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.details()
    assert "stochastic_game.transition_tensor.shape" in str(err.trailing_metadata())
    huge_rewards = game_pb2.Tensor(shape=[1000, 2, 50, 50])
    err = _raw(server, game_pb2.StochasticGame(rewards=huge_rewards, transition_tensor=huge_transitions))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "stochastic_game.rewards.shape" in str(err.trailing_metadata())


def test_client_errors_and_server_info(client: Client) -> None:
    with pytest.raises(InvalidGameError) as info:
        client.solve_stochastic(np.zeros((2, 2, 2, 2)), _bad_row(), discount=0.5)
    assert "stochastic_game.transition_tensor" in info.value.fields
    with pytest.raises(InvalidArgumentError):
        client.solve_stochastic(np.zeros((1, 2, 1, 1)), np.ones((1, 1, 1, 1)), discount=0.5, method="lemke")
    with pytest.raises(ValueError, match="stage-selection"):
        client.solve_stochastic(
            np.zeros((1, 2, 1, 1)), np.ones((1, 1, 1, 1)), horizon=2, stage_selection=["focal"]
        )
    names = {m.name for m in client.server_info().methods}
    assert {"hoffman_karp", "shapley", "team_policy_iteration", "homotopy", "backward_induction"} <= names
    assert client.server_info().limits.max_transition_entries > 0
    # The server still serves after every rejection.
    rewards, transitions = _absorbing(STAG_HUNT)
    assert len(client.solve_stochastic(rewards, transitions, discount=1.0, horizon=1)) == 1
