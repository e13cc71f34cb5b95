"""End-to-end: α-Rank through the client and a real server (options, answer, errors)."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest
from equilibria.client import AlphaRankOptions, AsyncClient, Client, InvalidArgumentError
from equilibria.solver import AlphaRankOptions as SolverOptions
from equilibria.solver import NormalFormGame, solve
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, solution_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
PRISONERS = ([[3, 0], [5, 1]], [[3, 5], [0, 1]])
ASYMMETRIC = np.stack([np.array([[2.0, 0.0], [3.0, 1.0]]), np.array([[1.0, 3.0], [0.0, 1.0]])])


def test_rock_paper_scissors_ranks_uniformly_in_one_population(client: Client) -> None:
    result = client.solve((RPS, -RPS), concepts="alpha_rank")
    ranked = result.alpha_rank
    assert ranked is not None and ranked.single_population and ranked.converged
    assert ranked.profiles == ((0,), (1,), (2,))
    np.testing.assert_allclose(ranked.masses, [1 / 3] * 3, atol=1e-12)
    assert ranked.sink_components == (((0,), (1,), (2,)),) and ranked.residual < 1e-12
    status = result.status_of("alpha_rank")
    assert status is not None and status.status == "answered" and "large-alpha limit" in status.reason
    assert "alpha-Rank" in str(result) and result.equilibria == ()


def test_the_answer_is_the_solvers_answer_field_for_field(client: Client) -> None:
    rng = np.random.default_rng(5)
    payoffs = rng.standard_normal((3, 2, 3, 2))
    options = AlphaRankOptions(population_size=20, populations="multi")
    remote = client.solve(payoffs, concepts=["nash", "alpha_rank"], alpha_rank=options).alpha_rank
    local = solve(
        NormalFormGame(payoffs),
        ["nash", "alpha_rank"],
        alpha_rank=SolverOptions(population_size=20, populations="multi"),
    ).alpha_rank
    assert remote is not None and local is not None
    assert remote.profiles == local.profiles and remote.sink_components == local.sink_components
    np.testing.assert_array_equal(remote.masses, local.masses)
    assert (remote.alpha, remote.population_size, remote.ended_by) == (local.alpha, 20, local.ended_by)
    assert remote.residual == local.residual and len(remote.sweep) == len(local.sweep)
    assert remote.sweep[1:] == local.sweep[1:] and np.isnan(remote.sweep[0][1])


def test_a_given_alpha_and_the_async_and_batch_calls(server: ServerProcess, client: Client) -> None:
    options = AlphaRankOptions(alpha=2.5, populations="multi")
    ranked = client.solve(PRISONERS, concepts="alpha_rank", alpha_rank=options).alpha_rank
    assert ranked is not None and ranked.ended_by == "alpha_given" and ranked.alpha == 2.5
    assert ranked.profiles[0] == (1, 1) and not ranked.single_population

    async def run() -> tuple[tuple[int, ...], list]:
        async with AsyncClient.connect(server.target) as aclient:
            answer = await aclient.solve(PRISONERS, concepts="alpha_rank", alpha_rank=options)
            items = [
                item
                async for item in aclient.solve_many(
                    [PRISONERS, (RPS, -RPS)], concepts="alpha_rank", alpha_rank=options
                )
            ]
        return answer.alpha_rank.profiles[0], items

    top, items = asyncio.run(run())
    assert top == (1, 1)
    assert [item.result.alpha_rank.alpha for item in items] == [2.5, 2.5]
    many = list(client.solve_many([PRISONERS], concepts=["alpha_rank"], alpha_rank=options))
    assert many[0].ok and many[0].result.alpha_rank.profiles == ranked.profiles


def _raw(server: ServerProcess, payoffs: np.ndarray, **fields: object) -> grpc.RpcError:
    request = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(payoffs)),
        concepts=[solution_pb2.SOLUTION_CONCEPT_ALPHA_RANK],
        **fields,  # type: ignore[arg-type]
    )
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).SolveGame(request, timeout=60)
    return info.value


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"alpha": -1.0}, "alpha_rank.alpha", id="negative-alpha"),
        pytest.param({"alpha": float("nan")}, "alpha_rank.alpha", id="nan-alpha"),
        pytest.param({"alpha": 1e6}, "alpha_rank.alpha", id="alpha-past-underflow"),
        pytest.param({"population_size": 1}, "alpha_rank.population_size", id="one-individual"),
        pytest.param({"population_size": 100_001}, "alpha_rank.population_size", id="too-many"),
        pytest.param({"populations": 99}, "alpha_rank.populations", id="unknown-populations"),
        pytest.param(
            {"populations": solution_pb2.ALPHA_RANK_POPULATIONS_SINGLE},
            "alpha_rank.populations",
            id="not-symmetric",
        ),
    ],
)
def test_bad_options_are_invalid_arguments_naming_the_field(
    server: ServerProcess, options: dict, field: str
) -> None:
    err = _raw(server, ASYMMETRIC, alpha_rank=solution_pb2.AlphaRankOptions(**options))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_too_many_profiles_and_stochastic_games_are_refused(server: ServerProcess, client: Client) -> None:
    refused = client.solve(np.zeros((3, 17, 17, 17)), concepts=["alpha_rank"])
    assert refused.alpha_rank is None and refused.equilibria == ()
    status = refused.status_of("alpha_rank")
    assert status is not None and status.status == "refused" and "4,913 pure profiles" in status.reason
    rewards = np.zeros((1, 2, 2, 2))
    transitions = np.ones((1, 2, 2, 1))
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve_stochastic(rewards, transitions, discount=0.9, concepts="alpha_rank")
    assert (
        "not available for stochastic games" in refused.value.message and "concepts" in refused.value.fields
    )
    assert client.solve(PRISONERS).equilibria  # the server is still up


def test_the_client_checks_the_options_before_sending(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(PRISONERS, concepts="alpha_rank", alpha_rank={"alpha": 2.0})  # type: ignore[arg-type]
    assert refused.value.fields == ("alpha_rank",)
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(PRISONERS, concepts="alpha_rank", alpha_rank=AlphaRankOptions(populations="two"))
    assert (
        refused.value.fields == ("alpha_rank.populations",) and "auto, multi, single" in refused.value.message
    )
