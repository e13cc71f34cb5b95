"""The ``SamplePayoffs`` stream: a PSRO loop's returns accumulated, the game of their means analysed.

A PSRO (or any EGTA) loop estimates its meta-game by simulation: it plays joint actions of
the population's policies and records the returns. It sends them as it collects them, in a
header then chunks (:mod:`equilibria.service.convert_samples`); the server keeps a
:class:`~equilibria.solver.concepts.payoff_samples.PayoffSamples` (the count, mean and
spread of every entry) and, at each chunk that asks and at the end of the stream, answers
with the statistics of every sample so far and the solution set of the game of the means
(the header's ``analysis``: by default its Nash equilibria and how far the sampling noise
lets them be trusted, ``noisy_equilibria``). A chunk may add actions (the policies an
iteration adds); their entries start without samples.

The stream is bounded like a trace stream: it is admitted among the open trace streams,
its memory (the statistics, and the answers built from them) is reserved from the trace
memory pool before it is allocated, its chunks obey the trace chunk limits, and it is
closed as idle after ``trace_idle_seconds`` of silence. An analysis runs as a SolveGame
does (the worker pool, the solve cache, the time budget); an analysis that cannot run yet
(a joint action without a sample) or fails is reported in the answer's
``analysis_status`` and the stream goes on: no sample that was accepted is lost to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import numpy as np
from equilibria.service.convert_samples import (
    SamplesChunk,
    SamplesHeader,
    samples_chunk_from_proto,
    samples_header_from_proto,
    samples_response,
)
from equilibria.service.errors import RequestError, from_solver_error, invalid
from equilibria.service.limits import Limits
from equilibria.service.trace_budget import DECODE_COPIES, StreamBudget
from equilibria.solver.concepts.payoff_samples import PayoffSamples
from equilibria.solver.errors import SolverError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.traces.memory import MemoryBound, MemoryTerm

__all__ = ["ANSWER_COPIES", "payoff_stream", "statistics_bytes"]

#: Copies of the statistics alive while an answer is built: the properties' arrays, their
#: encoded tensors and the analysed game's payoffs and standard errors.
ANSWER_COPIES = 3

#: A chunk's samples' fields in PayoffSamples' errors -> the chunk's fields.
_CHUNK_FIELDS = {
    "samples.profiles": "joint_actions",
    "samples.returns": "returns",
    "samples.num_actions": "num_actions",
}

#: Awaits the solve of an analysis: (the analysis request, (game, options)) -> its Solved.
Solve = Callable[[Any, tuple[Any, Any]], Awaitable[Any]]
#: The next message of the stream (None at its end), waiting for what the argument names.
NextMessage = Callable[[AsyncIterator[Any], str], Awaitable[Any]]


def statistics_bytes(num_actions: tuple[int, ...]) -> int:
    """Bytes of the statistics of a game of ``num_actions``: per joint action a count and each
    player's mean and sum of squared deviations.

    Examples
    --------
    >>> statistics_bytes((2, 3))
    240
    """
    joint = int(np.prod(num_actions))
    return joint * 8 * (1 + 2 * len(num_actions))


def _bound(num_actions: tuple[int, ...], grown_from: tuple[int, ...] | None = None) -> MemoryBound:
    """What the stream may hold at once for a game of ``num_actions`` (and, while it grows, the
    old statistics beside the new)."""
    held = statistics_bytes(num_actions)
    terms = [
        MemoryTerm("sample statistics", "game", held),
        MemoryTerm("answer and analysed game", "game", ANSWER_COPIES * held),
    ]
    if grown_from is not None:
        terms.append(MemoryTerm("statistics before growing", "game", statistics_bytes(grown_from)))
    return MemoryBound(tuple(sorted(terms, key=lambda t: -t.nbytes)), 0, 0)


def _record(samples: PayoffSamples, chunk: SamplesChunk, index: int) -> None:
    """Grow, then record the chunk's samples; an error names the chunk's field."""
    try:
        if chunk.num_actions is not None:
            samples.grow(chunk.num_actions)
        if chunk.joint_actions is not None:
            samples.add(chunk.joint_actions, chunk.returns)
    except SolverError as exc:
        error = from_solver_error(exc, "")
        error.field = f"chunk[{index}].{_CHUNK_FIELDS.get(exc.field, exc.field)}"
        error.message = f"chunk {index}: {exc.message}"
        raise error from exc


def _not_ready(samples: PayoffSamples, header: SamplesHeader) -> RequestError | None:
    """Why the game of the means cannot be analysed yet (None when it can): a joint action
    without a sample, or with fewer than 2 when ``noisy_equilibria`` needs standard errors."""
    counts = samples.counts
    noisy = "noisy_equilibria" in header.options.concepts
    need = 2 if noisy else 1
    short = np.flatnonzero(counts.reshape(-1) < need)
    if not short.size:
        return None
    first = tuple(int(k) for k in np.unravel_index(short[0], counts.shape))
    have = int(counts[first])
    why = (
        "noisy_equilibria needs a standard error at every joint action (2 samples); add samples there or "
        "leave noisy_equilibria out of header.analysis.concepts"
        if noisy
        else "the game of the means is defined once every joint action has a sample"
    )
    return RequestError(
        grpc.StatusCode.FAILED_PRECONDITION,
        f"joint action {first} has {have} sample{'' if have == 1 else 's'} ({short.size:,} of {counts.size:,} "
        f"joint actions have fewer than {need}): {why}",
        "",
    )


async def _answer(
    samples: PayoffSamples, header: SamplesHeader, chunk: int, final: bool, solve: Solve
) -> Any:
    """The answer after ``chunk``: the statistics, and the analysis or why there is none."""
    failure = _not_ready(samples, header)
    analysis = None
    if failure is None:
        errors = samples.standard_errors
        game = NormalFormGame(samples.means, title=header.title, player_names=header.player_names)
        noisy = "noisy_equilibria" in header.options.concepts
        options = dataclasses.replace(header.options, standard_errors=errors if noisy else None)
        try:
            analysis = (await solve(header.request, (game, options))).response
        except RequestError as error:
            if error.field.startswith("normal_form_game"):
                error.field = ""  # the game is the server's (the means): no field of the caller's
            elif error.field:
                error.field = f"header.analysis.{error.field}"
            failure = error
    return await asyncio.to_thread(
        samples_response, samples, chunk, final=final, analysis=analysis, failure=failure
    )


async def payoff_stream(
    requests: AsyncIterator[Any],
    *,
    limits: Limits,
    budget: StreamBudget,
    next_message: NextMessage,
    solve: Solve,
) -> AsyncIterator[Any]:
    """Run a SamplePayoffs stream: yields the answers (to each chunk that asks, then the final).

    Parameters
    ----------
    requests : async iterator of SamplePayoffsRequest
    limits : Limits
    budget : StreamBudget
        The stream's slot and memory (admitted at the header); the caller releases it
        however the stream ends.
    next_message : callable
        Awaits the next message, closing the stream when it is idle too long.
    solve : callable
        Awaits the solve of an analysis, as SolveGame solves.

    Raises
    ------
    RequestError
        For a bad header or chunk (naming its field), past a limit, or when idle.
    """
    messages = aiter(requests)
    first = await next_message(messages, "the header")
    if first is None:
        raise invalid("header", "the SamplePayoffs stream ended before its header")
    budget.admit()
    header = samples_header_from_proto(first, limits)
    budget.reserve(_bound(header.num_actions), 0, "header.num_actions", "the sample statistics")
    samples = PayoffSamples(header.num_actions)
    index = received = 0
    while (message := await next_message(messages, f"chunk {index} or the end of the stream")) is not None:
        chunk = samples_chunk_from_proto(message, index, received, limits)
        received += chunk.size
        grown = chunk.num_actions not in (None, samples.num_actions)
        shape = chunk.num_actions if grown and chunk.num_actions else samples.num_actions
        budget.reserve(
            _bound(shape, samples.num_actions if grown else None),
            DECODE_COPIES * chunk.size,
            f"chunk[{index}].num_actions" if grown else f"chunk[{index}]",
            f"chunk {index}",
        )
        # Bounded work per call (a chunk of at most 1 MiB): a thread keeps the loop free.
        await asyncio.to_thread(_record, samples, chunk, index)
        if chunk.analyze:
            yield await _answer(samples, header, index, False, solve)
        index += 1
    yield await _answer(samples, header, index, True, solve)
