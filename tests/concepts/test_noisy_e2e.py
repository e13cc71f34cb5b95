"""End-to-end: the equilibria of a noisy meta-game through the client and a real server (the
standard errors beside the payoffs, the options, the answer, the errors)."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from equilibria.client import Client, InvalidArgumentError, NoiseOptions
from equilibria.solver import NoiseOptions as SolverNoise
from equilibria.solver import NormalFormGame, PayoffSamples, solve
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, solution_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

PRISONERS = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])


def _sampled(seed: int = 3) -> PayoffSamples:
    """The prisoner's dilemma sampled as a PSRO loop would: 400 noisy episodes."""
    rng = np.random.default_rng(seed)
    samples = PayoffSamples((2, 2))
    profiles = rng.integers(0, 2, size=(400, 2))
    returns = PRISONERS[:, profiles[:, 0], profiles[:, 1]].T + rng.normal(size=(400, 2))
    samples.add(profiles, returns)
    return samples


def test_the_answer_is_the_solvers_answer(client: Client) -> None:
    samples = _sampled()
    game = {"payoffs": samples.means, "standard_errors": samples.standard_errors}
    remote = client.solve(game, concepts=["nash", "noisy_equilibria"], noise=NoiseOptions(draws=500, seed=4))
    local = solve(
        NormalFormGame(samples.means),
        ["nash", "noisy_equilibria"],
        standard_errors=samples.standard_errors,
        noise=SolverNoise(draws=500, seed=4),
    )
    assert remote.noise is not None and local.noise is not None
    assert [s.status for s in remote.concept_status] == ["answered", "answered"]
    assert remote.noise.pure_equilibria == local.noise.pure_equilibria == ((1, 1),)
    for a, b in zip(remote.noise.equilibria, local.noise.equilibria, strict=True):
        assert (a.index, a.probability_epsilon, a.nash_conv_low, a.nash_conv_high) == (
            b.index,
            b.probability_epsilon,
            b.nash_conv_low,
            b.nash_conv_high,
        )
        np.testing.assert_array_equal(a.regret_upper, b.regret_upper)
    np.testing.assert_array_equal(remote.noise.distinguishable, local.noise.distinguishable)
    assert "sampling noise" in str(remote)
    page = remote.to_html(game)
    assert "<h2>Sampling noise</h2><p>500 bootstrap draws" in page and "<td>E0</td>" in page


def _raw(server: ServerProcess, game: game_pb2.NormalFormGame, **fields: object) -> grpc.RpcError:
    request = service_pb2.SolveGameRequest(
        normal_form_game=game, concepts=[solution_pb2.SOLUTION_CONCEPT_NOISY_EQUILIBRIA], **fields
    )
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).SolveGame(request, timeout=60)
    return info.value


@pytest.mark.parametrize(
    ("errors", "fields", "field"),
    [
        (None, {}, "standard_errors"),
        (np.ones((2, 2, 3)), {}, "normal_form_game.standard_errors"),
        (-np.ones((2, 2, 2)), {}, "normal_form_game.standard_errors"),
        (
            np.ones((2, 2, 2)),
            {"noise": solution_pb2.NoiseOptions(confidence=1.5)},
            "noise.confidence",
        ),
        (np.ones((2, 2, 2)), {"noise": solution_pb2.NoiseOptions(draws=10)}, "noise.draws"),
        (np.ones((2, 2, 2)), {"noise": solution_pb2.NoiseOptions(epsilon=-1.0)}, "noise.epsilon"),
    ],
    ids=["missing", "shape", "negative", "confidence", "draws", "epsilon"],
)
def test_bad_input_is_an_invalid_argument_naming_the_field(
    server: ServerProcess, errors: np.ndarray | None, fields: dict, field: str
) -> None:
    game = game_pb2.NormalFormGame(payoffs=encode_tensor(PRISONERS))
    if errors is not None:
        game.standard_errors.CopyFrom(encode_tensor(errors))
    err = _raw(server, game, **fields)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_the_client_checks_the_options_and_the_errors_before_sending(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(PRISONERS, concepts="noisy_equilibria", noise={"draws": 100})  # type: ignore[arg-type]
    assert refused.value.fields == ("noise",)
    with pytest.raises(Exception) as refused_game:
        client.solve({"payoffs": PRISONERS, "standard_errors": [[1, 2], [3]]}, concepts="noisy_equilibria")
    assert "standard_errors" in str(refused_game.value)
