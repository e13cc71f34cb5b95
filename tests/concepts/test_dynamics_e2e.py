"""End-to-end: the evolutionary dynamics and the evolutionarily stable strategies through the
client and a real server (options, answers, errors)."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from equilibria.client import Client, DynamicsOptions, EssOptions, InvalidArgumentError
from equilibria.solver import DynamicsOptions as SolverDynamics
from equilibria.solver import EssOptions as SolverEss
from equilibria.solver import NormalFormGame, solve
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, solution_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
HAWK_DOVE = ([[-1, 2], [0, 1]], [[-1, 0], [2, 1]])
ASYMMETRIC = np.stack([np.array([[2.0, 0.0], [3.0, 1.0]]), np.array([[1.0, 3.0], [0.0, 1.0]])])


def test_stag_hunt_basins_split_at_the_mixed_equilibrium(client: Client) -> None:
    """One population: the replicator dynamic's basins split at the mixed equilibrium (3/4 on
    stag), so a grid of step 1/40 sends its 9 points above 3/4 to stag, 29 below to hare,
    and the one on it stays there."""
    result = client.solve(
        STAG_HUNT, concepts=["nash", "replicator_dynamics", "ess"], dynamics=DynamicsOptions(grid=40)
    )
    reached = result.dynamics
    assert reached is not None and reached.single_population and reached.starts == "grid"
    assert [(b.count, b.certified) for b in reached.basins] == [(29, 29), (9, 9), (1, 0)]
    hare, stag, mixed = reached.basins
    assert hare.strategies[0].tolist() == [0.0, 1.0] and stag.strategies[0].tolist() == [1.0, 0.0]
    np.testing.assert_allclose(mixed.strategies[0], [0.75, 0.25], atol=1e-9)
    for basin in reached.basins:  # each rest point is one of the set's equilibria, certified
        assert basin.equilibrium_index is not None and basin.nash_conv <= 1e-9
        np.testing.assert_allclose(
            basin.strategies[0], result.equilibria[basin.equilibrium_index].strategies[0]
        )
        assert basin.low == basin.high == basin.share  # a grid is not a sample
    assert reached.outcomes.tolist() == [0] * 29 + [2] + [1] * 9  # grid order: stag's share rising
    stable = result.ess
    assert stable is not None and stable.single_population and stable.complete
    assert sorted(c.strategies[0].tolist() for c in stable.strategies) == [[0.0, 1.0], [1.0, 0.0]]
    assert all(c.decided and c.margin > 0 and c.equilibrium_index is not None for c in stable.strategies)
    statuses = {s.concept: s.status for s in result.concept_status}
    assert statuses == {"nash": "answered", "replicator_dynamics": "answered", "ess": "answered"}
    text = str(result)
    assert "replicator dynamics" in text and "ESS" in text


def test_the_answer_is_the_solvers_answer(client: Client) -> None:
    payoffs = np.random.default_rng(5).integers(0, 4, size=(2, 3, 3)).astype(float)
    for options, local_options in (
        (DynamicsOptions(samples=64, seed=7), SolverDynamics(samples=64, seed=7)),
        (
            DynamicsOptions(rule="logit", temperature=0.1, samples=16),
            SolverDynamics(rule="logit", temperature=0.1, samples=16),
        ),
        (
            DynamicsOptions(rule="best_response", starts=(((0.5, 0.5, 0.0), (0.2, 0.3, 0.5)),)),
            SolverDynamics(rule="best_response", starts=(((0.5, 0.5, 0.0), (0.2, 0.3, 0.5)),)),
        ),
    ):
        remote = client.solve(payoffs, concepts=["replicator_dynamics", "ess"], dynamics=options).dynamics
        local = solve(NormalFormGame(payoffs), ["replicator_dynamics"], dynamics=local_options).dynamics
        assert remote is not None and local is not None
        assert (remote.rule, remote.starts, remote.unsettled) == (local.rule, local.starts, local.unsettled)
        np.testing.assert_array_equal(remote.outcomes, local.outcomes)
        for a, b in zip(remote.basins, local.basins, strict=True):
            assert (a.count, a.certified, a.share, a.low, a.high) == (
                b.count,
                b.certified,
                b.share,
                b.low,
                b.high,
            )
            for x, y in zip(a.strategies, b.strategies, strict=True):
                np.testing.assert_array_equal(x, y)


def test_hawk_dove_one_population_against_two(client: Client) -> None:
    """Hawk-dove: within one population the mixed ESS (1/2, 1/2) attracts everything; with a
    population per player the two asymmetric strict equilibria split the starts."""
    one = client.solve(HAWK_DOVE, concepts=["replicator_dynamics", "ess"])
    assert one.dynamics is not None and len(one.dynamics.basins) == 1
    np.testing.assert_allclose(one.dynamics.basins[0].strategies[0], [0.5, 0.5], atol=1e-4)
    assert one.ess is not None and len(one.ess.strategies) == 1
    np.testing.assert_allclose(one.ess.strategies[0].strategies[0], [0.5, 0.5], atol=1e-12)
    two = client.solve(
        HAWK_DOVE,
        concepts=["replicator_dynamics", "ess"],
        dynamics=DynamicsOptions(populations="multi"),
        ess=EssOptions(populations="multi"),
    )
    assert two.dynamics is not None and not two.dynamics.single_population
    corners = {tuple(int(np.argmax(s)) for s in b.strategies) for b in two.dynamics.basins}
    assert corners == {(0, 1), (1, 0)} and two.dynamics.unsettled == 0
    assert sum(b.count for b in two.dynamics.basins) == 256
    for basin in two.dynamics.basins:  # sampled: the interval holds the share
        assert basin.low < basin.share < basin.high and basin.certified == basin.count
    assert two.ess is not None and not two.ess.single_population
    assert sorted(tuple(int(np.argmax(s)) for s in c.strategies) for c in two.ess.strategies) == [
        (0, 1),
        (1, 0),
    ]


def _raw(server: ServerProcess, payoffs: np.ndarray, **fields: object) -> grpc.RpcError:
    request = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(payoffs)),
        concepts=[solution_pb2.SOLUTION_CONCEPT_REPLICATOR_DYNAMICS, solution_pb2.SOLUTION_CONCEPT_ESS],
        **fields,  # type: ignore[arg-type]
    )
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).SolveGame(request, timeout=60)
    return info.value


def _start(*strategies: list[float]) -> solution_pb2.StrategyList:
    return solution_pb2.StrategyList(strategies=[solution_pb2.Strategy(probabilities=s) for s in strategies])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"dynamics": solution_pb2.DynamicsOptions(rule=9)}, "dynamics.rule", id="rule"),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(temperature=-1.0)},
            "dynamics.temperature",
            id="temperature",
        ),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(horizon=float("inf"))},
            "dynamics.horizon",
            id="horizon",
        ),
        pytest.param({"dynamics": solution_pb2.DynamicsOptions(grid=1)}, "dynamics.grid", id="grid-1"),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(grid=4, starts=[_start([1, 0], [0, 1])])},
            "dynamics.grid",
            id="grid-and-starts",
        ),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(samples=100_001)},
            "dynamics.samples",
            id="samples",
        ),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(starts=[_start([0.5, 0.5], [1.0, 0.5])])},
            "dynamics.starts[0]",
            id="not-a-distribution",
        ),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(starts=[_start([0.5, 0.5])])},
            "dynamics.starts[0]",
            id="one-strategy-for-two-populations",
        ),
        pytest.param(
            {"dynamics": solution_pb2.DynamicsOptions(populations=solution_pb2.POPULATION_MODEL_SINGLE)},
            "dynamics.populations",
            id="single-not-symmetric",
        ),
        pytest.param({"ess": solution_pb2.EssOptions(populations=7)}, "ess.populations", id="ess-unknown"),
        pytest.param(
            {"ess": solution_pb2.EssOptions(populations=solution_pb2.POPULATION_MODEL_SINGLE)},
            "ess.populations",
            id="ess-single-not-symmetric",
        ),
    ],
)
def test_bad_options_are_invalid_arguments_naming_the_field(
    server: ServerProcess, fields: dict, field: str
) -> None:
    err = _raw(server, ASYMMETRIC, **fields)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_too_large_is_refused_and_the_rest_answered(client: Client) -> None:
    result = client.solve(
        np.zeros((2, 17, 17)),
        concepts=["pure_nash", "ess", "replicator_dynamics"],
        dynamics=DynamicsOptions(samples=100_000),
    )
    statuses = {s.concept: s for s in result.concept_status}
    assert statuses["pure_nash"].status == "answered" and len(result.equilibria) == 17 * 17
    assert statuses["ess"].status == "refused" and "16" in statuses["ess"].reason and result.ess is None
    assert statuses["replicator_dynamics"].status == "refused" and result.dynamics is None
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve_stochastic(np.zeros((1, 2, 2, 2)), np.ones((1, 2, 2, 1)), discount=0.9, concepts="ess")
    assert "not available for stochastic games" in refused.value.message


def test_the_client_checks_the_options_before_sending(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(STAG_HUNT, concepts="replicator_dynamics", dynamics={"rule": "logit"})  # type: ignore[arg-type]
    assert refused.value.fields == ("dynamics",)
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(STAG_HUNT, concepts="replicator_dynamics", dynamics=DynamicsOptions(rule="fictitious"))
    assert refused.value.fields == ("dynamics.rule",) and "best_response" in refused.value.message
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(STAG_HUNT, concepts="ess", ess=EssOptions(populations="two"))
    assert refused.value.fields == ("ess.populations",)
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(STAG_HUNT, concepts="replicator_dynamics", dynamics=DynamicsOptions(starts=((("x",),),)))
    assert refused.value.fields == ("dynamics.starts",)


def test_solve_many_carries_the_options(client: Client) -> None:
    items = list(
        client.solve_many(
            [STAG_HUNT, HAWK_DOVE],
            concepts=["replicator_dynamics", "ess"],
            dynamics=DynamicsOptions(grid=8),
            ess=EssOptions(populations="multi"),
        )
    )
    assert all(item.ok for item in items)
    assert [item.result.dynamics.n_starts for item in items] == [7, 7]
    assert [item.result.ess.single_population for item in items] == [False, False]
    local = solve(NormalFormGame.from_bimatrix(*STAG_HUNT), ["ess"], ess=SolverEss(populations="multi")).ess
    assert local is not None and len(items[0].result.ess.strategies) == len(local.strategies) == 2
