"""End-to-end: trace streams are admitted and their memory accounted before it is allocated.

Real servers on loopback ports with small trace limits (issue 19, item 1): a header
whose worst case passes the per-stream budget, and a chunk whose new history keys would
grow the count table past it, end with ``RESOURCE_EXHAUSTED`` naming the field; streams
past ``--max-trace-streams`` or past the server's trace memory are told "busy"; the
memory and the slot come back however a stream ends (answer, error, cancellation, idle
timeout), so the next stream is admitted.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from equilibria.service.trace_budget import DECODE_COPIES
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.traces import ScoreOptions, TraceChunk, TraceScorer
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, trace_pb2
from equilibria.v1.codec import encode_tensor
from google.rpc import error_details_pb2, status_pb2

from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e

MiB = 1 << 20
#: The game of the memory-heavy streams: 100 x 100 joint actions (a row of counts is 80 kB).
SIZE = 100
#: Sampled joint actions per chunk, and the history keys of a stream's first chunk.
ROWS, KEYS = 1000, 10


def _dominant(n: int) -> np.ndarray:
    """Payoffs of an n x n game where action 0 is dominant for both players (solved at once)."""
    payoffs = np.zeros((2, n, n))
    payoffs[0, 0, :] = 1.0
    payoffs[1, :, 0] = 1.0
    return payoffs


def _header(payoffs: np.ndarray, **options: object) -> trace_pb2.TraceHeader:
    return trace_pb2.TraceHeader(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(payoffs)),
        options=trace_pb2.ScoreOptions(**options),
    )


def _samples(keys: np.ndarray, n: int = SIZE, seed: int = 0) -> trace_pb2.TraceChunk:
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, n, size=(keys.size, 2)).astype(float)
    return trace_pb2.TraceChunk(
        joint_actions=encode_tensor(actions), history=encode_tensor(keys.astype(float))
    )


def _first_keys() -> np.ndarray:
    return np.arange(ROWS) % KEYS


def _policies(rows: int = 50) -> trace_pb2.TraceChunk:
    x = np.full((rows, 3), 1 / 3)
    return trace_pb2.TraceChunk(policies=[encode_tensor(x), encode_tensor(x)])


RPS = np.array([[[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]])
RPS = np.concatenate([RPS, -RPS])


def _reservation() -> int:
    """What a stream on the 100 x 100 game reserves once its first chunk (10 history keys) is in:
    the scorer's bound for that chunk and the chunk's decoding, as the server computes them."""
    game = NormalFormGame(_dominant(SIZE))
    keys = _first_keys()
    message = trace_pb2.MonitorTraceRequest(chunk=_samples(keys))
    size = message.ByteSize()
    chunk = TraceChunk(joint_actions=np.zeros((ROWS, 2), dtype=int), history=keys)
    bound = TraceScorer(game, solve(game), ScoreOptions()).memory_bound(chunk, chunk_bytes=size)
    return bound.total + DECODE_COPIES * size


#: One heavy stream fits the pool (and the per-stream budget); two do not.
RESERVATION = _reservation()
BUDGET_MIB = math.ceil(1.5 * RESERVATION / MiB)


@pytest.fixture(scope="module")
def memory_server() -> Iterator[ServerProcess]:
    """A per-stream budget and a trace memory pool of 1.5 heavy streams, two streams at most."""
    with running_server(
        "--workers",
        "1",
        "--max-stream-memory",
        str(BUDGET_MIB),
        "--max-trace-memory",
        str(BUDGET_MIB),
        "--max-trace-streams",
        "2",
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def idle_server() -> Iterator[ServerProcess]:
    """Trace streams idle for 0.5 s are closed; one stream at a time."""
    with running_server("--workers", "1", "--trace-idle-seconds", "0.5", "--max-trace-streams", "1") as srv:
        yield srv


@contextlib.contextmanager
def _stub(server: ServerProcess) -> Iterator[service_grpc.EquilibriaServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield service_grpc.EquilibriaServiceStub(channel)


def _violations(error: grpc.RpcError) -> list[str]:
    """The fields named by the BadRequest details of a failed call."""
    fields = []
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                bad = error_details_pb2.BadRequest()
                assert detail.Unpack(bad)
                fields += [v.field for v in bad.field_violations]
    return fields


def _score(
    stub, header: trace_pb2.TraceHeader, *chunks: trace_pb2.TraceChunk
) -> trace_pb2.ScoreTraceResponse:
    messages = [trace_pb2.ScoreTraceRequest(header=header)]
    messages += [trace_pb2.ScoreTraceRequest(chunk=c) for c in chunks]
    return stub.ScoreTrace(iter(messages), timeout=60)


class HeldStream:
    """A MonitorTrace stream that has sent its header and first chunk and been answered, held open.

    ``finish("ok")`` ends it normally, ``finish("error")`` with a bad chunk,
    ``finish("cancel")`` cancels the call; each returns the final status code.
    """

    def __init__(self, stub, header: trace_pb2.TraceHeader, first: trace_pb2.TraceChunk) -> None:
        self._go = threading.Event()
        self._bad = False

        def messages() -> Iterator[trace_pb2.MonitorTraceRequest]:
            yield trace_pb2.MonitorTraceRequest(header=header)
            yield trace_pb2.MonitorTraceRequest(chunk=first)
            self._go.wait(60)
            if self._bad:  # an action out of range: INVALID_ARGUMENT naming the chunk
                yield trace_pb2.MonitorTraceRequest(
                    chunk=trace_pb2.TraceChunk(joint_actions=encode_tensor(np.array([[1e6, 0.0]])))
                )

        self.call = stub.MonitorTrace(messages(), timeout=60)
        self.first = next(self.call)  # the server answered chunk 0: the stream is admitted and reserved

    def finish(self, how: str) -> grpc.StatusCode:
        if how == "cancel":
            self.call.cancel()
            self._go.set()
            return grpc.StatusCode.CANCELLED
        self._bad = how == "error"
        self._go.set()
        try:
            for _ in self.call:
                pass
        except grpc.RpcError as error:
            return error.code()
        return grpc.StatusCode.OK


def test_a_header_over_the_stream_budget_is_refused_naming_the_field(memory_server: ServerProcess) -> None:
    """A 30 x 30 game scored against its CCE polytope needs dense linear programs of
    (60 + 1800) x 1800 entries: tens of MB, over the budget, refused before solving."""
    with _stub(memory_server) as stub:
        with pytest.raises(grpc.RpcError) as info:
            _score(
                stub, _header(_dominant(30), joint_concept="coarse_correlated"), _samples(np.zeros(10), 30)
            )
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _violations(info.value) == ["header.options.joint_concept"]
        details = info.value.details()
        assert f"per-stream trace memory budget of {BUDGET_MIB * MiB:,} bytes" in details
        assert "CE/CCE distance programs" in details
        # the same game and samples against the Nash equilibria fit
        score = _score(stub, _header(_dominant(30)), _samples(np.zeros(10), 30)).score
        assert score.n_samples == 10


def test_new_history_keys_past_the_budget_end_the_stream_naming_the_chunk(
    memory_server: ServerProcess,
) -> None:
    """Chunk 0 (10 history keys) is scored; chunk 1 brings 400 more keys of 80 kB rows each:
    refused before the count table grows, with how many keys would fit."""
    chunks = [_samples(_first_keys()), _samples(np.arange(ROWS) % 410, seed=1)]
    messages = [trace_pb2.MonitorTraceRequest(header=_header(_dominant(SIZE)))]
    messages += [trace_pb2.MonitorTraceRequest(chunk=c) for c in chunks]
    answers = []
    with _stub(memory_server) as stub, pytest.raises(grpc.RpcError) as info:
        for answer in stub.MonitorTrace(iter(messages), timeout=60):
            answers.append(answer)
    assert [a.score.n_samples for a in answers] == [ROWS]
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _violations(info.value) == ["chunk[1].history"]
    assert "410 histories" in info.value.details()
    assert "history keys fit" in info.value.details()


def test_streams_past_the_cap_are_busy_until_one_ends(memory_server: ServerProcess) -> None:
    with _stub(memory_server) as stub:
        held = [HeldStream(stub, _header(RPS), _policies()) for _ in range(2)]
        try:
            with pytest.raises(grpc.RpcError) as info:
                _score(stub, _header(RPS), _policies())
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert info.value.details() == "busy: 2 trace streams open (limit 2); retry later"
            assert _violations(info.value) == ["header"]
            assert held[0].finish("ok") == grpc.StatusCode.OK
            assert _score(stub, _header(RPS), _policies()).score.n_policies == 50
        finally:
            for stream in held:
                stream.finish("cancel")


@pytest.mark.parametrize("how", ["ok", "error", "cancel"])
def test_the_trace_memory_comes_back_however_a_stream_ends(memory_server: ServerProcess, how: str) -> None:
    """One heavy stream holds most of the pool: a second one is busy at its first chunk;
    once the first ends (answered, failed or cancelled) a new one is admitted."""
    assert RESERVATION <= BUDGET_MIB * MiB < 2 * RESERVATION
    header = _header(_dominant(SIZE))
    with _stub(memory_server) as stub:
        held = HeldStream(stub, header, _samples(_first_keys()))
        try:
            assert held.first.score.n_samples == ROWS
            with pytest.raises(grpc.RpcError) as info:
                _score(stub, header, _samples(_first_keys()))
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert info.value.details().startswith("busy: trace streams hold")
            assert _violations(info.value) == ["chunk[0].history"]
            expected = {"ok": grpc.StatusCode.OK, "error": grpc.StatusCode.INVALID_ARGUMENT}
            assert held.finish(how) == expected.get(how, grpc.StatusCode.CANCELLED)
        finally:
            held.finish("cancel")
        # The server releases before it answers; a cancellation reaches it a moment later.
        deadline = time.monotonic() + 5.0
        while True:
            try:
                score = _score(stub, header, _samples(_first_keys())).score
                break
            except grpc.RpcError as error:
                if how != "cancel" or time.monotonic() > deadline:
                    raise
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                time.sleep(0.05)
        assert score.n_samples == ROWS


def test_an_idle_stream_is_closed_and_its_slot_returned(idle_server: ServerProcess) -> None:
    """No deadline of its own: the server closes a stream that stops sending (after its
    header, or before it), and the next stream takes the only slot."""
    stop = threading.Event()

    def stalled(send_header: bool) -> Iterator[trace_pb2.ScoreTraceRequest]:
        if send_header:
            yield trace_pb2.ScoreTraceRequest(header=_header(RPS))
        stop.wait(60)

    try:
        with _stub(idle_server) as stub:
            for send_header in (True, False):
                with pytest.raises(grpc.RpcError) as info:
                    stub.ScoreTrace(stalled(send_header))
                assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                assert "closed as idle" in info.value.details()
            assert _score(stub, _header(RPS), _policies()).score.n_policies == 50
    finally:
        stop.set()
