"""End-to-end: every normal-form solution concept through the client and a real server."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest
from equilibria.client import AsyncClient, Client, InvalidArgumentError
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

CHICKEN = ([[6, 2], [7, 0]], [[6, 7], [2, 0]])
STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
BATTLE = ([[2, 0], [0, 1]], [[1, 0], [0, 2]])
RPS = [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]


def test_chicken_welfare_pareto_and_correlated(client: Client) -> None:
    result = client.solve(
        CHICKEN,
        concepts=["nash", "pareto_nash", "welfare_nash", "correlated", "coarse_correlated"],
        welfare=["utilitarian", "egalitarian"],
    )
    assert result.complete and len(result) == 3
    mixed = next(k for k, eq in enumerate(result.equilibria) if not eq.is_pure)
    assert set(result.pareto_indices) == {0, 1, 2}  # (2,7), (14/3,14/3), (7,2): none dominates
    utilitarian, egalitarian = result.welfare_optima
    assert utilitarian.function == "utilitarian" and utilitarian.certified
    assert utilitarian.equilibrium_indices == (mixed,) and utilitarian.value == pytest.approx(28 / 3)
    assert egalitarian.equilibrium_indices == (mixed,) and egalitarian.value == pytest.approx(14 / 3)
    ce = next(
        c for c in result.correlated_equilibria if c.kind == "correlated" and c.objective == "utilitarian"
    )
    np.testing.assert_allclose(ce.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-7)
    assert ce.welfare == pytest.approx(10.5, abs=1e-7) and ce.max_violation <= 1e-7 and ce.maximized
    assert len(result.welfare_ranges) == 4
    for welfare_range in result.welfare_ranges:
        assert welfare_range.minimum.welfare <= welfare_range.maximum.welfare + 1e-9
    ce_range = next(
        r for r in result.welfare_ranges if r.kind == "correlated" and r.objective == "utilitarian"
    )
    # Every NE is a CE, so the CE welfare range brackets the NE welfare.
    assert ce_range.minimum.welfare <= 9 + 1e-7 and ce_range.maximum.welfare >= 28 / 3


def test_battle_of_the_sexes_nash_product_with_a_disagreement_point(client: Client) -> None:
    result = client.solve(BATTLE, concepts=["welfare_nash"], welfare=["nash_product"], disagreement=[0, 0])
    (optimum,) = result.welfare_optima
    assert optimum.function == "nash_product" and optimum.value == pytest.approx(2.0)
    assert len(optimum.equilibrium_indices) == 2  # (2,1) and (1,2) tie at 2
    np.testing.assert_allclose(optimum.disagreement, [0, 0])


def test_identity_16_welfare_by_milp_without_enumerating(client: Client) -> None:
    result = client.solve(np.stack([np.eye(16), np.eye(16)]), concepts=["welfare_nash"], timeout=60)
    (optimum,) = result.welfare_optima
    assert optimum.method == "milp" and optimum.certified and optimum.value == pytest.approx(2.0)
    eq = result.equilibria[optimum.equilibrium_indices[0]]
    assert eq.is_pure and eq.nash_conv <= 1e-9 and eq.payoffs.sum() == pytest.approx(2.0)
    assert result.method == "welfare_milp" and not result.complete


def test_zero_sum_value_and_large_zero_sum_by_lp(client: Client) -> None:
    result = client.solve(RPS, concepts=["zero_sum_value"])
    assert result.zero_sum is not None and result.zero_sum.value == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(result.zero_sum.strategies[0], [1 / 3] * 3, atol=1e-9)
    np.testing.assert_allclose(result.zero_sum.optimal_vertices[1], [[1 / 3] * 3], atol=1e-9)
    big = np.random.default_rng(11).standard_normal((150, 150))
    result = client.solve(big)  # auto: too large to enumerate, constant-sum -> LP
    assert result.method == "zero_sum_lp" and result.zero_sum is not None
    assert result.equilibria[0].nash_conv <= 1e-7 and not result.complete


def test_async_client_answers_the_same_concepts(server: ServerProcess, client: Client) -> None:
    async def run() -> tuple[float, float]:
        async with AsyncClient.connect(server.target) as aclient:
            result = await aclient.solve(CHICKEN, concepts=["coarse_correlated", "welfare_nash"])
        return result.correlated_equilibria[0].welfare, result.welfare_optima[0].value

    cce_welfare, ne_welfare = asyncio.run(run())
    assert cce_welfare >= 10.5 - 1e-7 and ne_welfare == pytest.approx(28 / 3)


def _raw(server: ServerProcess, **fields: object) -> grpc.RpcError:
    request = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(np.stack([np.eye(2), np.eye(2)]))),
        **fields,  # type: ignore[arg-type]
    )
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).SolveGame(request, timeout=30)
    return info.value


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"welfare_functions": [0]}, "welfare_functions[0]", id="welfare-unspecified"),
        pytest.param({"welfare_functions": [1, 99]}, "welfare_functions[1]", id="welfare-unknown"),
        pytest.param({"selection_criteria": [0]}, "selection_criteria[0]", id="selection-unspecified"),
        pytest.param(
            {"concepts": [5], "welfare_functions": [3]}, "welfare_functions", id="correlated-nash-product"
        ),
        pytest.param(
            {"concepts": [4], "welfare_functions": [3], "disagreement_point": [0.0]},
            "disagreement_point",
            id="disagreement-length",
        ),
        pytest.param({"concepts": [7]}, "concepts", id="zero-sum-on-a-coordination-game"),
    ],
)
def test_bad_concept_options_name_the_field(server: ServerProcess, fields: dict, field: str) -> None:
    err = _raw(server, **fields)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_client_rejects_unknown_names_before_sending(client: Client) -> None:
    with pytest.raises(ValueError, match="welfare function"):
        client.solve(CHICKEN, welfare=["rawlsian"])
    with pytest.raises(ValueError, match="selection criterion"):
        client.solve(CHICKEN, selection=["focal"])
    with pytest.raises(InvalidArgumentError) as info:
        client.solve(CHICKEN, concepts=["welfare_nash"], welfare=["nash_product"], disagreement=[1, 2, 3])
    assert "disagreement_point" in info.value.fields


def test_stag_hunt_selection_criteria(client: Client) -> None:
    result = client.solve(STAG_HUNT, concepts=["nash", "selection"])
    by_criterion = {s.criterion: s for s in result.selections}
    assert set(by_criterion) == {"payoff_dominance", "risk_dominance", "logit_limit"}
    assert all(s.decided and s.equilibrium_index is not None for s in by_criterion.values())

    def chosen(criterion: str) -> list[int]:
        index = by_criterion[criterion].equilibrium_index
        assert index is not None
        return [int(np.argmax(s)) for s in result.equilibria[index].strategies]

    assert chosen("payoff_dominance") == [0, 0]  # (Stag, Stag)
    assert chosen("risk_dominance") == [1, 1]  # (Hare, Hare): 9 > 1
    assert chosen("logit_limit") == [1, 1]


def test_battle_of_the_sexes_has_no_payoff_dominant_equilibrium(client: Client) -> None:
    result = client.solve(BATTLE, concepts=["selection"], selection=["payoff_dominance"])
    (answer,) = result.selections
    assert answer.criterion == "payoff_dominance" and not answer.decided and answer.equilibrium_index is None
    assert "no payoff-dominant" in answer.reason
