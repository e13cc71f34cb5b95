"""A payoff-sample stream: a PSRO loop sends the returns it observes, the server analyses their means.

:meth:`Client.sample_payoffs <equilibria.client.Client.sample_payoffs>` opens a
``SamplePayoffs`` stream and returns a :class:`PayoffSampler`; ``add`` sends joint actions
and returns as the loop collects them (buffered into chunks of at most 1 MiB), ``grow``
adds the policies a PSRO iteration brings, ``analyze`` asks for the statistics of every
sample so far and the solution set of the game of their means, and ``close`` ends the
stream with a last answer. :class:`AsyncPayoffSampler` does the same for
:class:`~equilibria.client.AsyncClient`. Every answer is a :class:`SampledPayoffs`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import weakref
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
from equilibria.client._convert_samples import (
    SAMPLE_CONCEPTS,
    action_counts,
    sample_chunk,
    sampled_fields,
    sampler_header,
)
from equilibria.client._errors import EquilibriaError, input_error, map_rpc_error
from equilibria.client._types import SolutionSet
from equilibria.client._typing import FloatArray

__all__ = [
    "SAMPLE_CHUNK_BYTES",
    "SAMPLE_CONCEPTS",
    "AsyncPayoffSampler",
    "PayoffSampler",
    "SampledPayoffs",
    "sampler_header",
]

#: Largest chunk on the wire, and the server's limit on a chunk.
SAMPLE_CHUNK_BYTES = 1 << 20
#: Bytes of a chunk besides its samples (tags, shapes, lengths), an upper bound.
_CHUNK_OVERHEAD = 256
#: Largest absolute return the server accepts.
MAX_RETURN = 1e150
#: Seconds of silence after which an open stream sends an empty chunk, so a loop that
#: collects slowly is not closed as idle (the server's trace idle timeout, 300 s by default).
HEARTBEAT_SECONDS = 30.0


@dataclasses.dataclass(frozen=True, eq=False)
class SampledPayoffs:
    """The statistics of the samples so far and the analysis of their means.

    Attributes
    ----------
    chunk : int
        The chunk answered, from 0; in the final answer, the number of chunks.
    final : bool
        Whether this answers the end of the stream.
    num_actions : tuple of int
        Each player's number of actions.
    samples : int
        Samples recorded.
    counts : ndarray of int64, shape (a_1, ..., a_n)
        Samples of each joint action.
    means : ndarray, shape (n, a_1, ..., a_n)
        Each player's mean return at each joint action; NaN where there is no sample.
    standard_errors : ndarray, shape (n, a_1, ..., a_n)
        The standard errors of the means; inf where there are fewer than 2 samples.
    analysis : SolutionSet or None
        The solution set of the game of the means (with ``noisy_equilibria``, how far
        the noise lets its equilibria be trusted: ``analysis.noise``); None when it could
        not be computed (``analysis_error`` says why).
    analysis_error : EquilibriaError or None
        Why there is no analysis: ``FAILED_PRECONDITION`` while a joint action lacks
        samples, or the error the solve failed with.
    """

    chunk: int
    final: bool
    num_actions: tuple[int, ...]
    samples: int
    counts: npt.NDArray[np.int64]
    means: FloatArray
    standard_errors: FloatArray
    analysis: SolutionSet | None
    analysis_error: EquilibriaError | None

    @property
    def game(self) -> dict[str, FloatArray]:
        """The game of the means as :meth:`Client.solve <equilibria.client.Client.solve>` takes
        it: ``{"payoffs": means, "standard_errors": standard_errors}``."""
        return {"payoffs": self.means, "standard_errors": self.standard_errors}

    def __repr__(self) -> str:
        if self.analysis is not None:
            found = f"analysis: {len(self.analysis.equilibria)} equilibria"
        else:
            found = f"analysis_error: {self.analysis_error!s}"
        return (
            f"SampledPayoffs(chunk={self.chunk}, final={self.final}, num_actions={self.num_actions}, "
            f"samples={self.samples}, {found})"
        )


class _Buffer:
    """Samples checked against the game's current shape and cut into chunks."""

    def __init__(self, num_actions: tuple[int, ...], chunk_bytes: int, function: str) -> None:
        if not 1024 <= chunk_bytes <= SAMPLE_CHUNK_BYTES:
            raise input_error(
                "chunk_bytes",
                f"{function}: chunk_bytes must be in [1024, {SAMPLE_CHUNK_BYTES}], got {chunk_bytes}",
            )
        self.num_actions = num_actions
        self.rows_per_chunk = max(1, (chunk_bytes - _CHUNK_OVERHEAD) // (16 * len(num_actions)))
        self._actions: list[npt.NDArray[np.float64]] = []
        self._returns: list[npt.NDArray[np.float64]] = []
        self.rows = 0

    def add(self, joint_actions: Any, returns: Any) -> None:
        """Check a batch (nothing is kept when it is refused) and keep it."""
        n = len(self.num_actions)
        try:
            actions = np.array(joint_actions, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise input_error(
                "joint_actions", f"add(): joint_actions is not a numeric array ({exc})"
            ) from exc
        try:
            values = np.array(returns, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise input_error("returns", f"add(): returns is not a numeric array ({exc})") from exc
        if actions.ndim == 1 and actions.size == n:
            actions, values = actions[None], values.reshape(1, -1) if values.ndim == 1 else values
        if actions.ndim != 2 or actions.shape[1] != n:
            raise input_error(
                "joint_actions",
                f"add(): joint_actions must have shape (k, {n}), one joint action per sample, got {actions.shape}",
            )
        if values.shape != actions.shape:
            raise input_error(
                "returns",
                f"add(): returns has shape {values.shape}, expected {actions.shape} (one per player)",
            )
        bad = (actions != np.round(actions)) | ~(actions >= 0) | ~(actions < np.array(self.num_actions))
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise input_error(
                "joint_actions",
                f"add(): sample {row} has the joint action {actions[row].tolist()}, outside the actions "
                f"{self.num_actions}",
            )
        bad_returns = ~(np.abs(values) <= MAX_RETURN)
        if bad_returns.any():
            row, player = (int(k) for k in np.argwhere(bad_returns)[0])
            raise input_error(
                "returns",
                f"add(): sample {row}'s return of player {player}, {float(values[row, player])!r}, is not a "
                f"finite number of magnitude at most {MAX_RETURN:g}",
            )
        if actions.shape[0]:
            self._actions.append(actions)
            self._returns.append(values)
            self.rows += actions.shape[0]

    def growth(self, num_actions: Any) -> tuple[int, ...]:
        """New action counts, checked: one per player, none shrinking."""
        counts = action_counts(num_actions, "num_actions", "grow()")
        if len(counts) != len(self.num_actions) or any(
            new < old for new, old in zip(counts, self.num_actions, strict=True)
        ):
            raise input_error(
                "num_actions",
                f"grow(): num_actions must keep {len(self.num_actions)} players and no fewer actions than "
                f"{self.num_actions}, got {counts}",
            )
        return counts

    def chunks(self, *, everything: bool) -> list[Any]:
        """Full chunks of the buffer (``everything``: the rest too), as request messages."""
        if not self.rows:
            return []
        actions, values = np.vstack(self._actions), np.vstack(self._returns)
        step = self.rows_per_chunk
        stop = self.rows if everything else (self.rows // step) * step
        messages = [sample_chunk(actions[i : i + step], values[i : i + step]) for i in range(0, stop, step)]
        self._actions, self._returns = ([actions[stop:]], [values[stop:]]) if stop < self.rows else ([], [])
        self.rows -= stop
        return messages


def _requests(messages: queue.Queue[Any], sampler: weakref.ref[PayoffSampler]) -> Iterator[Any]:
    """The messages of a stream as its sampler queues them (None ends it); an empty chunk after
    :data:`HEARTBEAT_SECONDS` of silence while the sampler is alive (a dropped sampler ends it)."""
    while True:
        try:
            message = messages.get(timeout=HEARTBEAT_SECONDS)
        except queue.Empty:
            if sampler() is None:
                return
            message = sample_chunk()
        if message is None:
            return
        yield message


class PayoffSampler:
    """An open SamplePayoffs stream (see :meth:`Client.sample_payoffs
    <equilibria.client.Client.sample_payoffs>`); a context manager that closes it.

    Attributes
    ----------
    num_actions : tuple of int
        Each player's number of actions now.
    result : SampledPayoffs or None
        The final answer, once the stream is closed.
    """

    def __init__(self, stub: Any, header: Any, *, chunk_bytes: int, timeout: float | None) -> None:
        self._names = tuple(header.header.player_names)
        self._buffer = _Buffer(tuple(header.header.num_actions), chunk_bytes, "sample_payoffs()")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=8)
        self._queue.put(header)
        self._call = stub.SamplePayoffs(_requests(self._queue, weakref.ref(self)), timeout=timeout)
        self.result: SampledPayoffs | None = None
        self._closed = False

    @property
    def num_actions(self) -> tuple[int, ...]:
        return self._buffer.num_actions

    def add(self, joint_actions: Any, returns: Any) -> None:
        """Record samples: ``joint_actions`` ``(k, n_players)`` of ints, ``returns`` ``(k, n_players)``
        (one sample: two sequences of ``n_players``). Sent in chunks as they fill.

        Raises
        ------
        InvalidArgumentError
            At this call, naming ``joint_actions`` or ``returns``: wrong shape, an action
            that does not exist, a return that is not finite. Nothing is recorded then.
        """
        self._open()
        self._buffer.add(joint_actions, returns)
        self._send(self._buffer.chunks(everything=False))

    def grow(self, num_actions: Sequence[int]) -> None:
        """Give each player ``num_actions`` actions: the new ones (a PSRO iteration's new
        policies) come after the old ones, without samples.

        Raises
        ------
        InvalidArgumentError
            Naming ``num_actions``: not one count per player, or a count that shrinks.
        """
        self._open()
        counts = self._buffer.growth(num_actions)
        pending = self._buffer.chunks(everything=True)
        self._buffer.num_actions = counts
        self._send([*pending, sample_chunk(num_actions=counts)])

    def analyze(self) -> SampledPayoffs:
        """Send what is buffered and wait for the statistics of every sample so far and the
        analysis of their means."""
        self._open()
        messages = self._buffer.chunks(everything=True) or [sample_chunk()]
        messages[-1].chunk.analyze = True
        self._send(messages)
        return self._read()

    def close(self) -> SampledPayoffs:
        """End the stream; the final answer (also kept as :attr:`result`)."""
        if self.result is not None:
            return self.result
        self._open()
        self._send(self._buffer.chunks(everything=True))
        self._closed = True
        self._put(None)
        while (answer := self._read()).final is False:
            pass  # pragma: no cover - every analyze() reads its own answer
        self.result = answer
        return answer

    def cancel(self) -> None:
        """Abandon the stream (the server forgets its samples)."""
        self._closed = True
        self._call.cancel()

    def __enter__(self) -> PayoffSampler:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        elif not self._closed:
            self.cancel()

    def _open(self) -> None:
        if self._closed:
            raise input_error("sampler", "the payoff-sample stream is closed")

    def _send(self, messages: list[Any]) -> None:
        for message in messages:
            self._put(message)

    def _put(self, message: Any) -> None:
        """Queue a message for the call, unless the call has ended (its error is raised)."""
        while not self._call.done():
            try:
                self._queue.put(message, timeout=0.05)
                return
            except queue.Full:
                continue
        self._read()  # the call has ended: raises its error
        raise input_error("sampler", "the server ended the payoff-sample stream")  # pragma: no cover

    def _read(self) -> SampledPayoffs:
        try:
            response = next(self._call)
        except grpc.RpcError as exc:
            self._closed = True
            raise map_rpc_error(exc) from exc
        return SampledPayoffs(**sampled_fields(response, self._names))


async def _beat(sampler: weakref.ref[AsyncPayoffSampler]) -> None:
    """Send an empty chunk after :data:`HEARTBEAT_SECONDS` without a write, while the sampler is
    open and alive (it holds no reference to the sampler between beats)."""
    loop = asyncio.get_running_loop()
    while True:
        current = sampler()
        if current is None or current._closed:
            return
        wait = current._last_write + HEARTBEAT_SECONDS - loop.time()
        del current
        if wait > 0:
            await asyncio.sleep(wait)
            continue
        current = sampler()
        if current is None or current._closed:
            return
        try:
            await current._send([sample_chunk()])
        except EquilibriaError:
            return  # the call has ended: the next read reports it
        del current


class AsyncPayoffSampler:
    """An open SamplePayoffs stream of an :class:`~equilibria.client.AsyncClient`: the methods of
    :class:`PayoffSampler`, awaited; an async context manager that closes it."""

    def __init__(self, stub: Any, header: Any, *, chunk_bytes: int, timeout: float | None) -> None:
        self._names = tuple(header.header.player_names)
        self._buffer = _Buffer(tuple(header.header.num_actions), chunk_bytes, "sample_payoffs()")
        self._call = stub.SamplePayoffs(timeout=timeout)
        self._header: Any = header
        self.result: SampledPayoffs | None = None
        self._closed = False
        self._writing = asyncio.Lock()
        self._last_write = 0.0
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def num_actions(self) -> tuple[int, ...]:
        return self._buffer.num_actions

    async def add(self, joint_actions: Any, returns: Any) -> None:
        """As :meth:`PayoffSampler.add`."""
        self._open()
        self._buffer.add(joint_actions, returns)
        await self._send(self._buffer.chunks(everything=False))

    async def grow(self, num_actions: Sequence[int]) -> None:
        """As :meth:`PayoffSampler.grow`."""
        self._open()
        counts = self._buffer.growth(num_actions)
        pending = self._buffer.chunks(everything=True)
        self._buffer.num_actions = counts
        await self._send([*pending, sample_chunk(num_actions=counts)])

    async def analyze(self) -> SampledPayoffs:
        """As :meth:`PayoffSampler.analyze`."""
        self._open()
        messages = self._buffer.chunks(everything=True) or [sample_chunk()]
        messages[-1].chunk.analyze = True
        await self._send(messages)
        return await self._read()

    async def close(self) -> SampledPayoffs:
        """As :meth:`PayoffSampler.close`."""
        if self.result is not None:
            return self.result
        self._open()
        await self._send(self._buffer.chunks(everything=True))
        self._closed = True
        try:
            async with self._writing:  # a beat is not writing: cancelling it is safe
                self._stop_heartbeat()
                await self._call.done_writing()
        except grpc.RpcError as exc:  # pragma: no cover - the call ended between two writes
            raise map_rpc_error(exc) from exc
        self.result = await self._read()
        return self.result

    def cancel(self) -> None:
        """Abandon the stream."""
        self._closed = True
        self._stop_heartbeat()
        self._call.cancel()

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def __aenter__(self) -> AsyncPayoffSampler:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            await self.close()
        elif not self._closed:
            self.cancel()

    def _open(self) -> None:
        if self._closed:
            raise input_error("sampler", "the payoff-sample stream is closed")

    async def _send(self, messages: list[Any]) -> None:
        if self._header is not None:
            messages, self._header = [self._header, *messages], None
            self._last_write = asyncio.get_running_loop().time()
            self._heartbeat = asyncio.get_running_loop().create_task(_beat(weakref.ref(self)))
        async with self._writing:
            for message in messages:
                try:
                    await self._call.write(message)
                except grpc.RpcError as exc:
                    self._closed = True
                    raise map_rpc_error(exc) from exc
            self._last_write = asyncio.get_running_loop().time()

    async def _read(self) -> SampledPayoffs:
        await self._send([])  # the header, when nothing was sent yet
        try:
            response = await self._call.read()
        except grpc.RpcError as exc:
            self._closed = True
            raise map_rpc_error(exc) from exc
        if response is grpc.aio.EOF:
            try:
                await self._call.wait_for_connection()
                code = await self._call.code()
            except grpc.RpcError as exc:  # pragma: no cover
                raise map_rpc_error(exc) from exc
            raise EquilibriaError(f"the payoff-sample stream ended without an answer ({code})", str(code))
        return SampledPayoffs(**sampled_fields(response, self._names))
