"""End-to-end: every string a request carries has a cap, and no error echoes a long string.

Each capped field is sent through a real server one character over its cap and far over
it (refused with ``INVALID_ARGUMENT`` naming the field, its length and the cap, quoting
nothing of it) and at its cap (accepted: solved, or refused for what it says, quoting a
short prefix only). The memory tests check that a refused 60 MB string is not kept alive
by the reference cycle of an aborted call: the issue measured ~230 MB held per call until
the cyclic garbage collector ran.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from equilibria.service.errors import MAX_MESSAGE_BYTES, RequestError, quoted
from equilibria.service.limits import Limits
from equilibria.service.server import start_server
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, trace_pb2
from equilibria.v1.codec import encode_tensor
from google.rpc import code_pb2, error_details_pb2, status_pb2

from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e

LIMITS = Limits()
CHICKEN = np.array([[[0, -1], [1, -10]], [[0, 1], [-1, -10]]], dtype=float)
PENNIES = np.array([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], dtype=float)
#: An error message about a caller's string stays under this many characters.
SHORT = 300


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How the server answered: status code name, message and BadRequest fields."""

    code: str
    message: str
    fields: tuple[str, ...]


def _fields(status: status_pb2.Status) -> tuple[str, ...]:
    fields: list[str] = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        assert detail.Unpack(bad)
        fields += [v.field for v in bad.field_violations]
    return tuple(fields)


def _failure(err: grpc.RpcError) -> Outcome:
    statuses = [
        status_pb2.Status.FromString(value)
        for key, value in err.trailing_metadata() or ()
        if key == "grpc-status-details-bin"
    ]
    fields = _fields(statuses[0]) if statuses else ()
    return Outcome(err.code().name, err.details(), fields)


def _nfg(**fields: Any) -> game_pb2.NormalFormGame:
    return game_pb2.NormalFormGame(payoffs=encode_tensor(CHICKEN), **fields)


def _stochastic(**fields: Any) -> game_pb2.StochasticGame:
    return game_pb2.StochasticGame(
        rewards=encode_tensor(PENNIES[None]),
        transition_tensor=encode_tensor(np.ones((1, 2, 2, 1))),
        discount=0.5,
        **fields,
    )


def _trace(header: trace_pb2.TraceHeader, kind: str = "ScoreTrace") -> tuple[str, Any]:
    """A trace stream: ``header`` (with the CHICKEN game unless it names one) and one chunk."""
    if not header.WhichOneof("game"):
        header.normal_form_game.CopyFrom(_nfg())
    policy = encode_tensor(np.full((4, 2), 0.5))
    chunk = trace_pb2.TraceChunk(policies=[policy, policy])
    request = trace_pb2.ScoreTraceRequest if kind == "ScoreTrace" else trace_pb2.MonitorTraceRequest
    return kind, [request(header=header), request(chunk=chunk)]


def _options(**fields: Any) -> tuple[str, Any]:
    return _trace(trace_pb2.TraceHeader(options=trace_pb2.ScoreOptions(**fields)))


def _send(stub: service_grpc.EquilibriaServiceStub, call: tuple[str, Any]) -> Outcome:
    """Make one call; the outcome of a SolveGames stream is that of its single item."""
    kind, payload = call
    try:
        if kind == "SolveGame":
            stub.SolveGame(payload, timeout=60)
        elif kind == "SolveGames":
            (answer,) = stub.SolveGames(iter([service_pb2.SolveGamesRequest(request=payload)]), timeout=60)
            status = answer.status
            return Outcome(code_pb2.Code.Name(status.code), status.message, _fields(status))
        elif kind == "ScoreTrace":
            stub.ScoreTrace(iter(payload), timeout=60)
        else:
            list(stub.MonitorTrace(iter(payload), timeout=60))
    except grpc.RpcError as err:
        return _failure(err)
    return Outcome("OK", "", ())


@dataclasses.dataclass(frozen=True)
class Capped:
    """A capped string field: the path errors name, its cap, and a call sending a value in it.

    ``at_cap`` is the code a value of exactly ``cap`` characters gets: OK for names and
    titles; an option name that long names no option (INVALID_ARGUMENT) and an id no game
    (NOT_FOUND), and those messages quote a short prefix of it.
    """

    field: str
    cap: int
    call: Callable[[str], tuple[str, Any]]
    at_cap: str = "OK"


CAPPED = [
    Capped(
        "method",
        LIMITS.max_option_chars,
        lambda v: ("SolveGame", service_pb2.SolveGameRequest(normal_form_game=_nfg(), method=v)),
        "INVALID_ARGUMENT",
    ),
    Capped(
        "requests[0].method",
        LIMITS.max_option_chars,
        lambda v: ("SolveGames", service_pb2.SolveGameRequest(normal_form_game=_nfg(), method=v)),
        "INVALID_ARGUMENT",
    ),
    Capped(
        "normal_form_game.title",
        LIMITS.max_title_chars,
        lambda v: ("SolveGame", service_pb2.SolveGameRequest(normal_form_game=_nfg(title=v))),
    ),
    Capped(
        "normal_form_game.player_names[1]",
        LIMITS.max_name_chars,
        lambda v: ("SolveGame", service_pb2.SolveGameRequest(normal_form_game=_nfg(player_names=["row", v]))),
    ),
    Capped(
        "normal_form_game.action_names[1].names[0]",
        LIMITS.max_name_chars,
        lambda v: (
            "SolveGame",
            service_pb2.SolveGameRequest(
                normal_form_game=_nfg(
                    action_names=[
                        game_pb2.ActionNames(names=["a", "b"]),
                        game_pb2.ActionNames(names=[v, "d"]),
                    ]
                )
            ),
        ),
    ),
    Capped(
        "stochastic_game.title",
        LIMITS.max_title_chars,
        lambda v: ("SolveGame", service_pb2.SolveGameRequest(stochastic_game=_stochastic(title=v))),
    ),
    Capped(
        "stochastic_game.player_names[0]",
        LIMITS.max_name_chars,
        lambda v: (
            "SolveGame",
            service_pb2.SolveGameRequest(stochastic_game=_stochastic(player_names=[v, "column"])),
        ),
    ),
    Capped(
        "header.method",
        LIMITS.max_option_chars,
        lambda v: _trace(trace_pb2.TraceHeader(method=v)),
        "INVALID_ARGUMENT",
    ),
    Capped(
        "header.game_id",
        LIMITS.max_name_chars,
        lambda v: _trace(trace_pb2.TraceHeader(game_id=v)),
        "NOT_FOUND",
    ),
    Capped(
        "header.normal_form_game.title",
        LIMITS.max_title_chars,
        lambda v: _trace(trace_pb2.TraceHeader(normal_form_game=_nfg(title=v))),
    ),
    Capped(
        "header.normal_form_game.player_names[0]",
        LIMITS.max_name_chars,
        lambda v: _trace(trace_pb2.TraceHeader(normal_form_game=_nfg(player_names=[v, "column"]))),
    ),
    Capped(
        "header.options.criteria[1]",
        LIMITS.max_option_chars,
        lambda v: _options(criteria=["last_iterate", v]),
        "INVALID_ARGUMENT",
    ),
    Capped(
        "header.options.metric", LIMITS.max_option_chars, lambda v: _options(metric=v), "INVALID_ARGUMENT"
    ),
    Capped(
        "header.options.aggregate",
        LIMITS.max_option_chars,
        lambda v: _options(aggregate=v),
        "INVALID_ARGUMENT",
    ),
    Capped(
        "header.options.joint_concept",
        LIMITS.max_option_chars,
        lambda v: _options(joint_concept=v),
        "INVALID_ARGUMENT",
    ),
]
MONITORED = Capped(
    "header.options.metric",
    LIMITS.max_option_chars,
    lambda v: _trace(trace_pb2.TraceHeader(options=trace_pb2.ScoreOptions(metric=v)), "MonitorTrace"),
    "INVALID_ARGUMENT",
)
CASES = [pytest.param(case, id=case.field) for case in CAPPED] + [
    pytest.param(MONITORED, id="MonitorTrace-header.options.metric")
]


@pytest.fixture(scope="module")
def stub(server: ServerProcess) -> Iterator[service_grpc.EquilibriaServiceStub]:
    options = [("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(server.target, options=options) as channel:
        yield service_grpc.EquilibriaServiceStub(channel)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("length", ["cap + 1", "1 MiB"])
def test_a_string_over_its_cap_is_refused_naming_the_field(
    stub: service_grpc.EquilibriaServiceStub, case: Capped, length: str
) -> None:
    n = case.cap + 1 if length == "cap + 1" else 1 << 20
    outcome = _send(stub, case.call("Q" * n))
    assert outcome.code == "INVALID_ARGUMENT", outcome
    assert outcome.fields == (case.field,)
    named = case.field.removeprefix("requests[0].")  # a batch item's message names its own field
    assert outcome.message == f"{named}: {n} characters, the limit is {case.cap}"
    assert len(outcome.message) < SHORT and "QQQ" not in outcome.message


@pytest.mark.parametrize("case", CASES)
def test_a_string_at_its_cap_is_accepted(stub: service_grpc.EquilibriaServiceStub, case: Capped) -> None:
    outcome = _send(stub, case.call("Q" * case.cap))
    assert outcome.code == case.at_cap, outcome
    assert "the limit is" not in outcome.message
    if case.at_cap != "OK":  # refused for what it names: quoting 40 characters of it, no more
        assert f"{'Q' * 40!r}... ({case.cap} characters)" in outcome.message
        assert len(outcome.message) < SHORT and "Q" * 41 not in outcome.message


def test_the_caps_are_the_documented_defaults() -> None:
    assert (LIMITS.max_option_chars, LIMITS.max_name_chars, LIMITS.max_title_chars) == (64, 256, 4096)
    for name in ("max_option_chars", "max_name_chars", "max_title_chars"):
        assert f"{name} : int" in (Limits.__doc__ or "")


def test_messages_and_log_lines_are_bounded_whatever_they_quote() -> None:
    """The backstop behind the caps: a message, as sent and as logged, is cut to 1 KiB."""
    error = RequestError(grpc.StatusCode.INVALID_ARGUMENT, "bad: " + "\u00e9" * 5000, "method")
    assert len(error.wire_message.encode()) <= MAX_MESSAGE_BYTES
    assert error.wire_message.startswith("bad: \u00e9") and error.wire_message.endswith(" ... (truncated)")
    assert str(error) == error.wire_message  # what log lines and tracebacks show
    assert quoted("Q" * 10_000) == f"{'Q' * 40!r}... (10000 characters)"
    assert quoted("nash") == "'nash'"


# -- memory -----------------------------------------------------------------------------------------


def _convert_frames() -> list[Any]:
    """Frames of :mod:`equilibria.service.convert` still alive (only a reference cycle keeps them)."""
    return [
        o
        for o in gc.get_objects()
        if type(o).__name__ == "frame" and o.f_globals.get("__name__") == "equilibria.service.convert"
    ]


async def _refused_and_released() -> tuple[str, int]:
    running = await start_server("127.0.0.1:0", Limits(workers=1))
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            stub = service_grpc.EquilibriaServiceStub(channel)
            request = service_pb2.SolveGameRequest(normal_form_game=_nfg(), method="Q" * 100_000)
            try:
                await stub.SolveGame(request, timeout=30)
                code = "OK"
            except grpc.aio.AioRpcError as err:
                code = err.code().name
            for _ in range(100):  # the call's done-callbacks run on the loop after its status
                if not _convert_frames():
                    break
                await asyncio.sleep(0.05)
            return code, len(_convert_frames())
    finally:
        await running.stop(grace=1)


def test_a_refused_call_leaves_no_reference_cycle_holding_its_request() -> None:
    """With the cyclic collector off, the frames that held the request are freed by the end of the call.

    ``context.abort`` leaves a cycle (the call's state holds the exception, whose traceback
    holds the frames, whose locals hold the request); the service cuts it when the call is done.
    """
    gc.collect()
    gc.disable()
    try:
        code, alive = asyncio.run(_refused_and_released())
    finally:
        gc.enable()
    assert code == "INVALID_ARGUMENT"
    assert alive == 0


def _rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


def test_refused_60_mb_strings_do_not_accumulate_in_server_memory() -> None:
    """Six 60 MB methods: the server's RSS never grows 400 MiB past that after the first.

    Before the caps each call held about 230 MB until the cyclic collector ran (10 calls:
    2.2 GB); now each call's memory is freed when it ends, and what stays is what any
    60 MB message costs (receive buffers and allocator caches: about 150 MiB, flat).
    """
    request = service_pb2.SolveGameRequest(normal_form_game=_nfg(), method="Q" * (60 << 20))
    with (
        running_server("--workers", "1") as server,
        grpc.insecure_channel(server.target, options=[("grpc.max_send_message_length", -1)]) as channel,
    ):
        stub = service_grpc.EquilibriaServiceStub(channel)
        rss = []
        for _ in range(6):
            outcome = _send(stub, ("SolveGame", request))
            assert outcome.message == f"method: {60 << 20} characters, the limit is 64"
            rss.append(_rss_mib(server.process.pid))
    assert max(rss) - rss[0] < 400, rss
