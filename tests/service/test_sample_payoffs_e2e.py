"""End-to-end: the SamplePayoffs stream through the client and a real server.

A PSRO-like loop sends noisy returns of known games in batches; the oracles are numpy's
statistics of every entry's samples (tests/concepts/test_noisy.py ``_numpy_statistics``)
and the solver's own solve of the game of those means (the analysis must be the answer a
SolveGame of that game gives). Bad headers and chunks go through the raw stub, to check
the status and the field the server names.
"""

from __future__ import annotations

import asyncio
import time

import grpc
import numpy as np
import pytest
from equilibria.client import (
    AsyncClient,
    Client,
    EquilibriaError,
    InvalidArgumentError,
    NoiseOptions,
    ResourceExhaustedError,
    _samples,
)
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import solution_pb2
from equilibria.v1.codec import encode_tensor

from ..concepts.test_noisy import _numpy_statistics
from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e

PRISONERS = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])


def _episodes(rng: np.random.Generator, payoffs: np.ndarray, k: int, scale: float = 1.0):
    """``k`` uniformly sampled joint actions of ``payoffs`` with N(0, scale^2) noise on the returns."""
    shape = payoffs.shape[1:]
    profiles = np.stack([rng.integers(0, m, size=k) for m in shape], axis=1)
    returns = payoffs[(slice(None), *profiles.T)].T + scale * rng.normal(size=(k, len(shape)))
    return profiles, returns


def _check_statistics(answer, shape, profiles, returns) -> None:
    counts, means, _, errors = _numpy_statistics(shape, profiles, returns)
    assert answer.num_actions == shape and answer.samples == len(profiles)
    np.testing.assert_array_equal(answer.counts, counts)
    np.testing.assert_allclose(answer.means, means, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(answer.standard_errors, errors, rtol=1e-9)


def test_a_psro_loop_gets_the_statistics_and_the_solve_of_their_means(client: Client) -> None:
    """Five batches of the prisoner's dilemma, an analysis after the third and at the close:
    each has numpy's statistics of what was sent so far, and its analysis is what SolveGame
    answers for the game of those means with those standard errors."""
    rng = np.random.default_rng(11)
    noise = NoiseOptions(draws=400, seed=2)
    batches = [_episodes(rng, PRISONERS, 80) for _ in range(5)]
    with client.sample_payoffs((2, 2), noise=noise, player_names=("row", "column")) as sampler:
        for profiles, returns in batches[:3]:
            sampler.add(profiles, returns)
        middle = sampler.analyze()
        for profiles, returns in batches[3:]:
            sampler.add(profiles, returns)
    final = sampler.result
    assert final is not None and final.final and not middle.final
    for answer, upto in ((middle, 3), (final, 5)):
        profiles = np.vstack([b[0] for b in batches[:upto]])
        returns = np.vstack([b[1] for b in batches[:upto]])
        _check_statistics(answer, (2, 2), profiles, returns)
        assert answer.analysis_error is None and answer.analysis is not None
        direct = client.solve(answer.game, concepts=["nash", "noisy_equilibria"], noise=noise)
        assert [eq.strategies[0].tolist() for eq in answer.analysis.equilibria] == [
            eq.strategies[0].tolist() for eq in direct.equilibria
        ]
        assert answer.analysis.noise is not None and direct.noise is not None
        assert [e.probability_epsilon for e in answer.analysis.noise.equilibria] == [
            e.probability_epsilon for e in direct.noise.equilibria
        ]
        assert answer.analysis.player_names == ("row", "column")
    # Defect/defect is the one equilibrium, and 400 samples make it certain.
    assert [eq.strategies[0].tolist() for eq in final.analysis.equilibria] == [[0.0, 1.0]]
    assert final.analysis.noise.equilibria[0].probability_epsilon == 1.0


def test_an_entry_without_enough_samples_is_no_analysis_yet_and_the_stream_goes_on(client: Client) -> None:
    with client.sample_payoffs((2, 2)) as sampler:
        sampler.add([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0]], np.ones((5, 2)))
        early = sampler.analyze()  # noisy_equilibria needs 2 samples at every joint action
        assert early.analysis is None and early.analysis_error is not None
        assert early.analysis_error.code == "FAILED_PRECONDITION"
        assert "joint action (0, 1) has 1 sample" in early.analysis_error.message
        assert "3 of 4" in early.analysis_error.message
        sampler.add([[0, 1], [1, 0], [1, 1]], np.ones((3, 2)))
    assert sampler.result is not None and sampler.result.analysis is not None
    assert sampler.result.samples == 8
    with client.sample_payoffs((2, 2), concepts="nash") as nash_only:
        nash_only.add([[0, 0], [0, 1], [1, 0]], PRISONERS[:, [0, 0, 1], [0, 1, 0]].T)
        missing = nash_only.analyze()
        assert missing.analysis_error is not None and "(1, 1) has 0 samples" in missing.analysis_error.message
        nash_only.add([[1, 1]], [[1.0, 1.0]])  # one sample each is enough without the noise analysis
        assert nash_only.analyze().analysis is not None
    empty = client.sample_payoffs((2, 3)).close()
    assert empty.samples == 0 and empty.analysis is None and empty.counts.shape == (2, 3)


def test_a_growing_population_keeps_its_samples(client: Client) -> None:
    """A PSRO run: one policy each, then two, then three (new actions after the old ones);
    the samples at the old joint actions stay, and the final means are numpy's of all."""
    rng = np.random.default_rng(5)
    game = rng.normal(size=(2, 3, 3))
    sent = []
    with client.sample_payoffs((1, 1), concepts="nash", chunk_bytes=1024) as sampler:
        for size in (1, 2, 3):
            if size > 1:
                sampler.grow((size, size))
            profiles, returns = _episodes(rng, game[:, :size, :size], 60, scale=0.1)
            sampler.add(profiles, returns)
            sent.append((profiles, returns))
            snapshot = sampler.analyze()
            assert snapshot.num_actions == (size, size) and snapshot.analysis is not None
    profiles, returns = (np.vstack(part) for part in zip(*sent, strict=True))
    _check_statistics(sampler.result, (3, 3), profiles, returns)
    assert sampler.result.chunk > 6  # 180 samples in chunks of at most 1 KiB: many chunks


def test_bad_samples_are_refused_at_the_call_and_the_stream_survives(client: Client) -> None:
    with client.sample_payoffs((2, 2), concepts="nash") as sampler:
        sampler.add([[0, 0], [1, 1]], [[1.0, 2.0], [3.0, 4.0]])
        for actions, returns, field in (
            ([[0, 2]], [[1.0, 1.0]], "joint_actions"),
            ([[0, 0.5]], [[1.0, 1.0]], "joint_actions"),
            ([[0, 0, 0]], [[1.0, 1.0, 1.0]], "joint_actions"),
            ([[0, 0]], [[1.0, np.nan]], "returns"),
            ([[0, 0]], [[1.0]], "returns"),
        ):
            with pytest.raises(InvalidArgumentError) as error:
                sampler.add(actions, returns)
            assert error.value.fields == (field,)
        with pytest.raises(InvalidArgumentError) as error:
            sampler.grow((1, 3))
        assert error.value.fields == ("num_actions",)
        sampler.add([0, 1], [5.0, 6.0])  # one sample as two sequences
    assert sampler.result.samples == 3 and sampler.result.counts.tolist() == [[1, 1], [0, 1]]
    with pytest.raises(InvalidArgumentError):
        sampler.add([[0, 0]], [[1.0, 1.0]])  # closed


def test_an_analysis_that_fails_is_reported_and_the_stream_goes_on(client: Client) -> None:
    """A method that does not take 3 players fails each analysis with the status SolveGame
    would give, naming header.analysis.method; the samples stay and the stream ends well."""
    rng = np.random.default_rng(3)
    game = rng.normal(size=(3, 2, 2, 2))
    with client.sample_payoffs((2, 2, 2), concepts="nash", method="lemke_howson") as sampler:
        profiles, returns = _episodes(rng, game, 64)
        sampler.add(profiles, returns)
        answer = sampler.analyze()
        assert answer.analysis is None and answer.analysis_error is not None
        assert answer.analysis_error.code == "INVALID_ARGUMENT"
        assert answer.analysis_error.fields == ("header.analysis.method",)
        sampler.add(profiles, returns)
    assert sampler.result.samples == 128 and sampler.result.analysis_error is not None


def _stream(server: ServerProcess, messages) -> list:
    with grpc.insecure_channel(server.target) as channel:
        stub = service_grpc.EquilibriaServiceStub(channel)
        return list(stub.SamplePayoffs(iter(messages), timeout=30))


def _header(num_actions=(2, 2), **analysis) -> service_pb2.SamplePayoffsRequest:
    return service_pb2.SamplePayoffsRequest(
        header=service_pb2.PayoffSamplesHeader(
            num_actions=num_actions, analysis=service_pb2.SolveGameRequest(**analysis)
        )
    )


def _chunk(actions=None, returns=None, **fields) -> service_pb2.SamplePayoffsRequest:
    chunk = service_pb2.PayoffSamplesChunk(**fields)
    if actions is not None:
        chunk.joint_actions.CopyFrom(encode_tensor(actions))
    if returns is not None:
        chunk.returns.CopyFrom(encode_tensor(returns))
    return service_pb2.SamplePayoffsRequest(chunk=chunk)


def _field(error: grpc.RpcError) -> str:
    from equilibria.client._errors import map_rpc_error

    fields = map_rpc_error(error).fields
    return fields[0] if fields else ""


@pytest.mark.parametrize(
    ("messages", "code", "field"),
    [
        ([_chunk([[0, 0]], [[1.0, 1.0]])], grpc.StatusCode.INVALID_ARGUMENT, "header"),
        ([], grpc.StatusCode.INVALID_ARGUMENT, "header"),
        ([_header((2,))], grpc.StatusCode.INVALID_ARGUMENT, "header.num_actions"),
        ([_header((2, 0))], grpc.StatusCode.INVALID_ARGUMENT, "header.num_actions"),
        ([_header((3000, 3000))], grpc.StatusCode.RESOURCE_EXHAUSTED, "header.num_actions"),
        ([_header((2,) * 17)], grpc.StatusCode.RESOURCE_EXHAUSTED, "header.num_actions"),
        (
            [_header(noise=solution_pb2.NoiseOptions(draws=5))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "header.analysis.noise.draws",
        ),
        ([_header(tolerance=-1.0)], grpc.StatusCode.INVALID_ARGUMENT, "header.analysis.tolerance"),
        ([_header(), _header()], grpc.StatusCode.INVALID_ARGUMENT, "chunk[0]"),
        (
            [_header(), _chunk([[0, 2]], [[1.0, 1.0]])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].joint_actions",
        ),
        (
            [_header(), _chunk([[0, 0.5]], [[1.0, 1.0]])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].joint_actions",
        ),
        (
            [_header(), _chunk([[0, 1]], [[1.0, np.inf]])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].returns",
        ),
        (
            [_header(), _chunk([[0, 1]], [[1.0, 1.0, 1.0]])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].returns",
        ),
        ([_header(), _chunk([[0, 1]])], grpc.StatusCode.INVALID_ARGUMENT, "chunk[0].returns"),
        (
            [_header(), _chunk(returns=[[0.0, 1.0]])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].joint_actions",
        ),
        (
            [_header(), _chunk(num_actions=[3, 3]), _chunk(num_actions=[3, 2])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[1].num_actions",
        ),
        (
            [_header(), _chunk(num_actions=[2, 2, 2])],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].num_actions",
        ),
        (
            [_header(), _chunk(num_actions=[3000, 3000])],
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "chunk[0].num_actions",
        ),
    ],
)
def test_bad_headers_and_chunks_name_the_field(server: ServerProcess, messages, code, field: str) -> None:
    with pytest.raises(grpc.RpcError) as error:
        _stream(server, messages)
    assert error.value.code() == code
    assert _field(error.value) == field, error.value.details()


def test_a_header_carrying_a_game_is_refused(server: ServerProcess) -> None:
    header = _header()
    header.header.analysis.normal_form_game.payoffs.CopyFrom(encode_tensor(PRISONERS))
    with pytest.raises(grpc.RpcError) as error:
        _stream(server, [header])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _field(error.value) == "header.analysis.normal_form_game"


def test_the_client_refuses_bad_headers_before_sending(client: Client) -> None:
    for num_actions in ((2,), (2, 0), "22", (2, 1.5)):
        with pytest.raises(InvalidArgumentError) as error:
            client.sample_payoffs(num_actions)
        assert error.value.fields == ("num_actions",)
    with pytest.raises(InvalidArgumentError) as error:
        client.sample_payoffs((2, 2), player_names=("one",))
    assert error.value.fields == ("player_names",)
    with pytest.raises(InvalidArgumentError):
        client.sample_payoffs((2, 2), concepts="no_such_concept")


def test_an_option_the_server_refuses_ends_the_stream_at_the_first_answer(client: Client) -> None:
    sampler = client.sample_payoffs((2, 2), noise=NoiseOptions(draws=5))
    with pytest.raises(InvalidArgumentError) as error:
        sampler.analyze()
    assert error.value.fields == ("header.analysis.noise.draws",)


def test_a_slow_loop_is_kept_open_by_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against a server that closes streams idle for 1 s, a loop silent for 2.5 s keeps its
    stream (empty chunks every 0.2 s); a stream without heartbeats is closed as idle."""
    monkeypatch.setattr(_samples, "HEARTBEAT_SECONDS", 0.2)
    with (
        running_server("--workers", "1", "--trace-idle-seconds", "1") as srv,
        Client.connect(srv.target, timeout=30) as client,
    ):
        with client.sample_payoffs((2, 2), concepts="nash") as sampler:
            sampler.add([[0, 0], [0, 1], [1, 0]], np.zeros((3, 2)))
            time.sleep(2.5)
            sampler.add([[1, 1]], [[1.0, 1.0]])
        assert sampler.result is not None and sampler.result.samples == 4
        assert sampler.result.chunk > 3  # the heartbeats were chunks

        async def slow_async_loop():
            async with AsyncClient.connect(srv.target, timeout=30) as aclient:
                async with await aclient.sample_payoffs((2, 2), concepts="nash") as asampler:
                    await asampler.add([[0, 0], [0, 1], [1, 0]], np.zeros((3, 2)))
                    await asyncio.sleep(2.5)
                    await asampler.add([[1, 1]], [[1.0, 1.0]])
                return asampler.result

        result = asyncio.run(slow_async_loop())
        assert result.samples == 4 and result.chunk > 3 and result.analysis is not None
        monkeypatch.setattr(_samples, "HEARTBEAT_SECONDS", 60.0)
        silent = client.sample_payoffs((2, 2), concepts="nash")
        time.sleep(2.5)
        with pytest.raises(EquilibriaError) as error:
            silent.analyze()
        assert error.value.code == "DEADLINE_EXCEEDED" and "idle" in error.value.message


def test_the_async_client_streams_the_same(server: ServerProcess) -> None:
    rng = np.random.default_rng(8)
    batches = [_episodes(rng, PRISONERS, 50) for _ in range(4)]

    async def run():
        async with AsyncClient.connect(server.target, timeout=60) as client:
            sampler = await client.sample_payoffs((2, 2), noise=NoiseOptions(draws=300, seed=1))
            async with sampler:
                await sampler.add(*batches[0])
                await sampler.grow((2, 2))
                await sampler.add(*batches[1])
                middle = await sampler.analyze()
                for batch in batches[2:]:
                    await sampler.add(*batch)
            return middle, sampler.result

    middle, final = asyncio.run(run())
    _check_statistics(middle, (2, 2), *(np.vstack(part) for part in zip(*batches[:2], strict=True)))
    _check_statistics(final, (2, 2), *(np.vstack(part) for part in zip(*batches, strict=True)))
    assert final.final and final.analysis is not None and final.analysis.noise is not None


def test_stream_memory_is_bounded_by_the_trace_budget() -> None:
    """A server whose per-stream trace budget is 1 MiB refuses a game whose statistics and
    answers need more, naming header.num_actions, and a growth past it, naming the chunk."""
    with (
        running_server("--workers", "1", "--max-stream-memory", "1") as srv,
        Client.connect(srv.target, timeout=30) as client,
    ):
        with pytest.raises(ResourceExhaustedError) as error:
            client.sample_payoffs((120, 120), concepts="nash").analyze()
        assert error.value.fields == ("header.num_actions",)
        sampler = client.sample_payoffs((10, 10), concepts="nash")
        with pytest.raises(ResourceExhaustedError) as error:
            sampler.grow((120, 120))
            sampler.analyze()
        assert error.value.fields == ("chunk[0].num_actions",)
