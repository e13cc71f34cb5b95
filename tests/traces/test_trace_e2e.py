"""End-to-end: scoring learning traces through the client and a real server.

The traces are produced here by real learning dynamics (fictitious play in
rock-paper-scissors, SPEC section 6: the empirical distribution converges to the
uniform equilibrium, the last iterate cycles). Streaming in small chunks, the live
``TraceRecorder`` and the in-process scorer must give identical scores; bad chunks are
rejected naming the chunk, the field and the row.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
from equilibria.client import AsyncClient, Client, InvalidArgumentError, ResourceExhaustedError, TraceRecorder
from equilibria.client._convert import score_options, trace_header
from equilibria.solver import NormalFormGame, StochasticGame, TraceChunk, certify_markov, score_trace, solve
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import trace_pb2

from .. import games
from ..conftest import ServerProcess
from ..dynamics import fictitious_play, regret_matching, replicator

pytestmark = pytest.mark.e2e

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


@pytest.fixture(scope="module")
def rps_trace() -> tuple[np.ndarray, np.ndarray]:
    return fictitious_play(NormalFormGame.from_bimatrix(RPS, -RPS), 3000, start=(0, 0))


def _same(score_a, score_b) -> None:
    assert score_a.names == tuple(c.name for c in score_b.criteria)
    for name in score_a.names:
        a, b = score_a[name], score_b[name]
        np.testing.assert_array_equal(a.checkpoints_z, b.checkpoints_z)
        np.testing.assert_array_equal(a.values, b.values)
        assert (a.verdict, a.epsilon, a.evidence, a.z0, a.nearest_solution) == (
            b.verdict,
            b.epsilon,
            b.evidence,
            b.z0,
            b.nearest_solution,
        )


def test_fictitious_play_in_rps_converges_on_average_not_in_the_last_iterate(
    client: Client, rps_trace
) -> None:
    xs, ys = rps_trace
    score = client.score_trace((RPS, -RPS), policies=(xs, ys))
    assert score["empirical_distribution"].verdict == "converged"
    assert score["last_iterate"].verdict == "not_converged"
    assert score["set_convergence"].z0[0.1] is not None
    assert score.selected == ("point", 0) and not score.switched
    assert score.solution_set is not None and score.solution_set.complete
    np.testing.assert_allclose(score.solution_set.equilibria[0].strategies[0], [1 / 3] * 3, atol=1e-12)
    assert score.z_seen == 3000 and score.n_policies == 3000


def test_streaming_in_small_chunks_equals_the_in_process_batch(client: Client, rps_trace) -> None:
    xs, ys = rps_trace
    rng = np.random.default_rng(0)
    returns = rng.normal(0.0, 0.2, size=(3000, 2))
    streamed = client.score_trace((RPS, -RPS), policies=(xs, ys), returns=returns, chunk_bytes=8192)
    game = NormalFormGame.from_bimatrix(RPS, -RPS)
    batch = score_trace(game, solve(game), TraceChunk(policies=(xs, ys), returns=returns))
    _same(streamed, batch)


def test_trace_recorder_streams_one_snapshot_at_a_time(server: ServerProcess, rps_trace) -> None:
    xs, ys = rps_trace
    with Client.connect(server.target, timeout=120) as client:
        recorder = TraceRecorder(client, (RPS, -RPS), monitor=True, chunk_bytes=16384)
        half = len(xs) // 2
        for t in range(half):
            recorder.record(policies=(xs[t], ys[t]))
        recorder.flush()
        deadline = time.monotonic() + 60
        while (recorder.latest is None or recorder.latest.z_seen < half) and time.monotonic() < deadline:
            time.sleep(0.05)  # the running score of the first half arrives while training goes on
        midway = recorder.latest
        for t in range(half, len(xs)):
            recorder.record(policies=(xs[t], ys[t]))
        final = recorder.close()
        with TraceRecorder(client, (RPS, -RPS)) as quiet:
            for t in range(len(xs)):
                quiet.record(policies=(xs[t], ys[t]))
        batch = client.score_trace((RPS, -RPS), policies=(xs, ys))
    assert final is not None and final.z_seen == len(xs)
    assert midway is not None and midway.z_seen == half
    assert midway.solution_set is not None  # the first answer carries the solution set
    _same(final, batch)
    assert quiet.result is not None
    _same(quiet.result, batch)


def test_a_game_solved_earlier_is_named_by_its_id(client: Client, rps_trace) -> None:
    xs, ys = rps_trace
    solved = client.solve((RPS, -RPS))
    by_id = client.score_trace(solved.game_id, policies=(xs[:500], ys[:500]))
    by_game = client.score_trace((RPS, -RPS), policies=(xs[:500], ys[:500]))
    _same(by_id, by_game)


def test_stochastic_trace_with_async_client(server: ServerProcess) -> None:
    # Two states, zero-sum, with values known: policies relax to the optimal uniform ones.
    pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    game = StochasticGame(np.stack([pennies, 2 * pennies]), np.full((2, 2, 2, 2), 0.5), discount=0.5)
    z = np.arange(1, 401, dtype=float)[:, None, None]
    drift = np.array([1.0, -1.0])[None, None, :] / (2 * z + 2)
    policy = np.broadcast_to(0.5 + drift, (400, 2, 2))

    async def run():
        async with AsyncClient.connect(server.target) as aclient:
            return await aclient.score_trace(
                game, policies=(policy, policy), criteria=["last_iterate", "nash_conv"]
            )

    score = asyncio.run(run())
    assert score["last_iterate"].verdict == "converged"
    last = (policy[-1], policy[-1])
    assert score["nash_conv"].final_value == pytest.approx(certify_markov(game, last).nash_conv, rel=1e-9)
    assert score["nash_conv"].values[-1] < score["nash_conv"].values[0] / 50
    assert score.solution_set is not None and score.solution_set.method == "hoffman_karp"


def _raw_stream(server: ServerProcess, messages) -> grpc.RpcError:
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).ScoreTrace(iter(messages), timeout=60)
    return info.value


def _chunk(**arrays) -> trace_pb2.ScoreTraceRequest:
    from equilibria.v1.codec import encode_tensor

    chunk = trace_pb2.TraceChunk()
    for name, value in arrays.items():
        if name == "policies":
            chunk.policies.extend(encode_tensor(p) for p in value)
        else:
            getattr(chunk, name).CopyFrom(encode_tensor(value))
    return trace_pb2.ScoreTraceRequest(chunk=chunk)


GOOD = np.full((4, 3), 1 / 3)


def _bad_rows() -> np.ndarray:
    rows = GOOD.copy()
    rows[2] = [0.5, 0.5, 0.5]
    return rows


@pytest.mark.parametrize(
    ("chunks", "code", "field", "fragment"),
    [
        pytest.param(
            [_chunk(policies=(GOOD, GOOD)), _chunk(policies=(GOOD, _bad_rows()))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[1].policies[1]",
            "[2] sums to 1.5",
            id="row-sum",
        ),
        pytest.param(
            [_chunk(policies=(GOOD, -GOOD))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].policies[1]",
            "",
            id="negative",
        ),
        pytest.param(
            [_chunk(returns=np.array([[0.0, 1.0], [np.nan, 0.0]]))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].returns",
            "1",
            id="nan-return",
        ),
        pytest.param(
            [_chunk(policies=(GOOD, np.full((4, 2), 0.5)))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].policies",
            "",
            id="wrong-shape",
        ),
        pytest.param(
            [_chunk(joint_actions=np.array([[0.0, 1.5]]))],
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[0].joint_actions",
            "integers",
            id="fractional-action",
        ),
        pytest.param(
            [_chunk(returns=np.zeros((70_000, 2)))],
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "chunk[0]",
            "over the limit",
            id="chunk-too-large",
        ),
    ],
)
def test_bad_traces_name_the_chunk_field_and_row(
    server: ServerProcess, chunks, code, field, fragment
) -> None:
    header = trace_header((RPS, -RPS), score_options())
    err = _raw_stream(server, [header, *chunks])
    assert err.code() == code, err.details()
    assert fragment in err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_stream_protocol_errors(server: ServerProcess, client: Client) -> None:
    err = _raw_stream(server, [_chunk(policies=(GOOD, GOOD))])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "header" in err.details()
    err = _raw_stream(server, [trace_header("no-such-game", score_options())])
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = _raw_stream(server, [trace_header((RPS, -RPS), score_options(metric="cosine"))])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "header.options.metric" in str(err.trailing_metadata())
    with pytest.raises(InvalidArgumentError) as info:
        client.score_trace((RPS, -RPS), policies=(GOOD, _bad_rows()))
    assert "chunk[0].policies[1]" in info.value.fields
    # Still serving.
    assert client.score_trace((RPS, -RPS), policies=(GOOD, GOOD)).n_policies == 4


def test_cli_scores_an_npz_trace(server: ServerProcess, tmp_path: pathlib.Path, rps_trace) -> None:
    xs, ys = rps_trace
    np.savez(tmp_path / "trace.npz", policies_0=xs, policies_1=ys, payoffs=np.stack([RPS, -RPS]))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "equilibria.service.cli",
            "score",
            str(tmp_path / "trace.npz"),
            "--target",
            server.target,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["criteria"]["empirical_distribution"]["verdict"] == "converged"
    assert result["criteria"]["last_iterate"]["verdict"] == "not_converged"
    assert result["z_seen"] == 3000


# -- the dynamics of SPEC section 6, through the server ---------------------------------------------


def test_fictitious_play_in_shapleys_game_is_not_called_converged(client: Client) -> None:
    game = games.shapley_game()
    xs, ys = fictitious_play(game, 20_000)
    score = client.score_trace(game, policies=(xs, ys))
    for name in ("empirical_distribution", "set_convergence", "last_iterate"):
        assert score[name].verdict in ("not_converged", "inconclusive"), (name, score[name].evidence)


def test_replicator_in_the_stag_hunt_names_the_selected_equilibrium(client: Client) -> None:
    game = games.stag_hunt()
    xs, ys = replicator(game, np.array([0.9, 0.1]), np.array([0.9, 0.1]), 3000)
    score = client.score_trace(game, policies=(xs, ys))
    assert score["last_iterate"].verdict == "converged" and not score.switched
    assert score.selected is not None and score.selected[0] == "point"
    assert score.solution_set is not None
    chosen = score.solution_set.equilibria[score.selected[1]]
    np.testing.assert_allclose(chosen.strategies[0], [1.0, 0.0])  # (stag, stag): payoffs (4, 4)
    np.testing.assert_allclose(chosen.payoffs, [4.0, 4.0])


def test_regret_matching_joint_play_approaches_the_cce_set(client: Client) -> None:
    game = games.chicken()
    actions = regret_matching(game, 20_000, seed=3)
    score = client.score_trace(game, joint_actions=actions, joint_concept="coarse_correlated")
    s = score["averaged_joint_policy"]
    assert s.verdict == "converged", s.evidence
    assert s.confidence_radius is not None and s.confidence_radius < 0.05


def test_a_trace_into_a_continuum_converges_to_the_set(client: Client) -> None:
    game = games.degenerate_continuum()
    z = np.arange(1, 5001)[:, None]
    xs = np.hstack([1.0 - 0.5 / z, 0.5 / z])
    ys = np.hstack([0.5 + 0.5 / z, 0.5 - 0.5 / z])  # -> (1/2, 1/2), inside the segment
    score = client.score_trace(game, policies=(xs, ys), criteria=["last_iterate"])
    last = score["last_iterate"]
    assert last.verdict == "converged" and last.nearest_solution == ("component", 0)
    assert last.final_value == pytest.approx(1e-4, abs=1e-12)
    assert score.solution_set is not None
    for eq in score.solution_set.equilibria:  # every extreme equilibrium stays about 1/2 away
        assert (
            max(np.abs(xs[-1] - eq.strategies[0]).sum(), np.abs(ys[-1] - eq.strategies[1]).sum()) / 2 > 0.49
        )


def test_too_many_histories_is_resource_exhausted(client: Client) -> None:
    actions = np.zeros((10, 2), dtype=int)
    with pytest.raises(ResourceExhaustedError) as info:
        client.score_trace((RPS, -RPS), joint_actions=actions, history=np.arange(10), max_histories=3)
    assert "header.options.max_histories" in info.value.fields
