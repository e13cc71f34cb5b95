"""The messages of a ``SamplePayoffs`` stream: its header and chunks decoded and checked, its answers encoded.

A stream carries the returns a PSRO loop observes at the joint actions of its meta-game
(:class:`~equilibria.solver.concepts.payoff_samples.PayoffSamples` accumulates them on the
server; :mod:`equilibria.service.payoff_stream` runs the stream). Its header names the
game's shape and how the game of the means is analysed (a ``SolveGameRequest`` without a
game); its chunks carry samples and may add actions. Errors name the field as the caller
sent it: ``header.num_actions``, ``header.analysis.<field>``,
``chunk[i].joint_actions``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
from equilibria.service.convert import (
    check_count,
    check_length,
    check_stream_chunk,
    decode_tensor_field,
    integers,
    solve_request_from_proto,
)
from equilibria.service.errors import RequestError, invalid, status_message
from equilibria.service.limits import Limits
from equilibria.service.options import SolveOptions
from equilibria.solver.concepts.payoff_samples import PayoffSamples
from equilibria.v1 import codec
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1.codec import encode_tensor

__all__ = [
    "ANALYSIS_CONCEPTS",
    "SamplesChunk",
    "SamplesHeader",
    "check_num_actions",
    "samples_chunk_from_proto",
    "samples_header_from_proto",
    "samples_response",
]

#: The concepts of an analysis whose header names none.
ANALYSIS_CONCEPTS = ("nash", "noisy_equilibria")


@dataclasses.dataclass(frozen=True)
class SamplesHeader:
    """A stream's header, checked.

    Attributes
    ----------
    num_actions : tuple of int
        Each player's number of actions.
    title : str
    player_names : tuple of str
    request : SolveGameRequest
        The analysis as sent (no game), its concepts defaulted: errors of a solve name
        its fields.
    options : SolveOptions
        The analysis's options, checked on a game of the header's shape.
    """

    num_actions: tuple[int, ...]
    title: str
    player_names: tuple[str, ...]
    request: Any
    options: SolveOptions


@dataclasses.dataclass(frozen=True)
class SamplesChunk:
    """A chunk, decoded: its samples (None when it carries none), new action counts (None:
    unchanged), whether it asks for an answer, and its size on the wire."""

    joint_actions: npt.NDArray[np.int64] | None
    returns: npt.NDArray[np.float64] | None
    num_actions: tuple[int, ...] | None
    analyze: bool
    size: int


def check_num_actions(num_actions: tuple[int, ...], limits: Limits, field: str) -> None:
    """Refuse action counts the server will not hold or answer.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` for fewer than 2 players or a count of 0;
        ``RESOURCE_EXHAUSTED`` past ``max_players``, past ``max_payoff_entries`` payoff
        entries, or when an answer's tables (counts, means and standard errors) would take
        more than half of ``max_message_bytes``.
    """
    n = len(num_actions)
    if n < 2 or min(num_actions) < 1:
        raise invalid(
            field, f"{field} must hold at least 2 action counts, each >= 1, got {list(num_actions)}"
        )
    if n > limits.max_players:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{n} players is over the limit of {limits.max_players}",
            field,
        )
    joint = math.prod(num_actions)
    check_count(n * joint, limits.max_payoff_entries, field, "payoff entries")
    answer = (2 * n + 1) * joint * 8
    if answer > limits.max_message_bytes // 2:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{field}: the answers' tables of {list(num_actions)} actions take {answer:,} bytes, over half the "
            f"message limit of {limits.max_message_bytes:,} bytes",
            field,
        )


def samples_header_from_proto(message: Any, limits: Limits) -> SamplesHeader:
    """Decode and check a stream's first message.

    The analysis's options are checked by decoding it with a game of the header's shape
    (zero payoffs), so a bad option is refused at the header, named
    ``header.analysis.<field>``.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming the field, or ``RESOURCE_EXHAUSTED`` past a limit.
    """
    if message.WhichOneof("part") != "header":
        raise invalid("header", "the first message of a SamplePayoffs stream must be its header")
    header = message.header
    check_count(len(header.num_actions), limits.max_players, "header.num_actions", "players")
    num_actions = tuple(int(k) for k in header.num_actions)
    check_num_actions(num_actions, limits, "header.num_actions")
    check_length(header.title, limits.max_title_chars, "header.title")
    names = tuple(header.player_names)
    if names and len(names) != len(num_actions):
        raise invalid(
            "header.player_names",
            f"header.player_names has {len(names)} names for {len(num_actions)} players",
        )
    for i, name in enumerate(names):
        check_length(name, limits.max_name_chars, f"header.player_names[{i}]")
    analysis = header.analysis
    game = analysis.WhichOneof("game")
    if game is not None:
        raise invalid(
            f"header.analysis.{game}",
            "header.analysis must not carry a game: the game analysed is the one of the sample means",
        )
    request = service_pb2.SolveGameRequest()
    request.CopyFrom(analysis)
    if not request.concepts:
        request.concepts.extend(codec.CONCEPTS.values[name] for name in ANALYSIS_CONCEPTS)
    shaped = service_pb2.SolveGameRequest()
    shaped.CopyFrom(request)
    shaped.normal_form_game.payoffs.CopyFrom(encode_tensor(np.zeros((len(num_actions), *num_actions))))
    try:
        _, options = solve_request_from_proto(shaped, limits)
    except RequestError as error:
        error.field = f"header.analysis.{error.field}" if error.field else "header.analysis"
        raise
    return SamplesHeader(num_actions, header.title, names, request, options)


def samples_chunk_from_proto(message: Any, index: int, received_bytes: int, limits: Limits) -> SamplesChunk:
    """Decode message ``index`` (from 0) after the header, ``received_bytes`` of chunks having come before.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``chunk[index].<field>`` when it is not a chunk or a
        field is bad; ``RESOURCE_EXHAUSTED`` past the limits on chunks per stream (the
        trace limits: ``max_trace_chunks``, ``max_trace_chunk_bytes``,
        ``max_trace_bytes``) and on the game's size.
    """
    field = f"chunk[{index}]"
    size = check_stream_chunk(message, index, received_bytes, limits)
    chunk = message.chunk
    if chunk.HasField("joint_actions") != chunk.HasField("returns"):
        missing = "returns" if chunk.HasField("joint_actions") else "joint_actions"
        raise invalid(
            f"{field}.{missing}", f"{field}: joint_actions and returns come together, {missing} is missing"
        )
    joint_actions = returns = None
    if chunk.HasField("joint_actions"):
        joint_actions = integers(
            decode_tensor_field(chunk.joint_actions, limits.max_payoff_entries, f"{field}.joint_actions"),
            f"{field}.joint_actions",
        )
        returns = decode_tensor_field(chunk.returns, limits.max_payoff_entries, f"{field}.returns")
    num_actions = None
    if chunk.num_actions:
        check_count(len(chunk.num_actions), limits.max_players, f"{field}.num_actions", "players")
        num_actions = tuple(int(k) for k in chunk.num_actions)
        check_num_actions(num_actions, limits, f"{field}.num_actions")
    return SamplesChunk(joint_actions, returns, num_actions, chunk.analyze, size)


def samples_response(
    samples: PayoffSamples,
    chunk: int,
    *,
    final: bool,
    analysis: Any | None = None,
    failure: RequestError | None = None,
) -> Any:
    """An answer of the stream: the statistics of ``samples``, and ``analysis`` (a
    SolveGameResponse) or the ``failure`` that stands for it."""
    response = service_pb2.SamplePayoffsResponse(
        chunk=chunk,
        final=final,
        num_actions=samples.num_actions,
        samples=int(samples.counts.sum()),
        counts=encode_tensor(samples.counts),
        means=encode_tensor(samples.means),
        standard_errors=encode_tensor(samples.standard_errors),
    )
    if failure is not None:
        response.analysis_status.CopyFrom(status_message(failure))
    elif analysis is not None:
        response.analysis.CopyFrom(analysis)
    return response
