"""``TraceRecorder``: score a trace while the training loop produces it.

The training step calls :meth:`TraceRecorder.record` with one snapshot (a joint policy,
a sampled joint action and its history, returns); the recorder buffers rows and, once a
chunk's worth has accumulated, hands the chunk to a background thread that streams it
to the server. The training step never waits for the network: it waits only when the
send queue (``max_pending`` chunks) is full, i.e. when the server falls that far behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
import numpy as np
from equilibria.client._client import as_array, trace_input_error
from equilibria.client._convert import (
    CHUNK_BYTES,
    player_names,
    response_score,
    response_solution,
    score_options,
    trace_chunk_requests,
    trace_header,
)
from equilibria.client._errors import map_rpc_error
from equilibria.client._trace import TraceScore
from equilibria.client._typing import FloatArray

__all__ = ["TraceRecorder"]

_END = object()


class TraceRecorder:
    """Buffer a trace one snapshot at a time and stream it to the server in the background.

    Parameters
    ----------
    client : Client
        A connected blocking client.
    game : game, StochasticGame or str
        As for :meth:`Client.score_trace`.
    monitor : bool, optional(default=False)
        Use ``MonitorTrace``: the server answers a running score after every chunk,
        available as :attr:`latest`; otherwise ``ScoreTrace`` (one score at the end).
    chunk_bytes : int, optional
        Size of the chunks sent (at most 1 MiB).
    max_pending : int, optional(default=64)
        Chunks queued for sending before :meth:`record` waits.
    **options
        Scoring options of :meth:`Client.score_trace` (``criteria``, ``metric``,
        ``epsilons``, ...) and ``method``, ``tolerance``.

    Examples
    --------
    >>> with TraceRecorder(client, rps, monitor=True) as recorder:  # doctest: +SKIP
    ...     for step in range(10_000):
    ...         x, y = train_step()
    ...         recorder.record(policies=(x, y))
    ...         if step % 1000 == 0 and recorder.latest is not None:
    ...             print(recorder.latest["empirical_distribution"].final_value)
    >>> recorder.result["empirical_distribution"].verdict  # doctest: +SKIP
    'converged'

    """

    def __init__(
        self,
        client: Any,
        game: Any,
        *,
        monitor: bool = False,
        chunk_bytes: int = CHUNK_BYTES,
        max_pending: int = 64,
        timeout: float | None = None,
        method: str = "",
        tolerance: float = 0.0,
        **options: Any,
    ) -> None:
        self._header = trace_header(
            game, score_options(**options, function="TraceRecorder()"), method=method, tolerance=tolerance
        )
        self._names = player_names(self._header.header)
        self._chunk_bytes = chunk_bytes
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._buffers: dict[str, list[Any]] = {
            "policies": [],
            "joint_actions": [],
            "history": [],
            "returns": [],
        }
        self._buffered_bytes = 0
        # Shapes of the first row of each stream, and whether joint actions carry history.
        self._shapes: dict[str, tuple[tuple[int, ...], ...]] = {}
        self._with_history: bool | None = None
        self._monitor = monitor
        self._latest: TraceScore | None = None
        self._result: TraceScore | None = None
        self._error: BaseException | None = None
        self._closed = False
        stub = client._stub
        call = stub.MonitorTrace if monitor else stub.ScoreTrace
        self._thread = threading.Thread(
            target=self._run, args=(call, timeout), name="equilibria-trace-recorder", daemon=True
        )
        self._thread.start()

    # -- the training loop's side ------------------------------------------------------------

    def record(
        self,
        *,
        policies: Any = None,
        joint_action: Sequence[int] | None = None,
        history: int | None = None,
        returns: Sequence[float] | None = None,
    ) -> None:
        """Append one snapshot: any of a joint policy, a sampled joint action (and its history), returns.

        Parameters
        ----------
        policies : sequence of array_like, or array_like, optional
            The joint policy: one ``(a_i,)`` (or ``(S, a_i)``) array per player, or one
            ``(n_players, a)`` array when every player has ``a`` actions; torch tensors
            are detached.
        joint_action : sequence of int, optional
        history : int, optional
            Key of the history the joint action followed: only with ``joint_action``,
            and then on every row or on none.
        returns : sequence of float, optional

        Raises
        ------
        InvalidArgumentError
            At this call, for a row that does not fit the rows before it: ``history``
            without ``joint_action``, a row with history after rows without (or the
            reverse), or shapes that differ from the first row's.
        """
        self._check_open()
        row = self._policy_row(policies)
        action = (
            None
            if joint_action is None
            else self._row("joint_action", as_array(joint_action, "joint_action"))
        )
        key = self._history_key(history, action)
        ret = None if returns is None else self._row("returns", as_array(returns, "returns"))
        if row is not None:
            self._buffers["policies"].append(row)
            self._buffered_bytes += sum(8 * r.size for r in row)
        if action is not None:
            self._buffers["joint_actions"].append(action)
            self._buffered_bytes += 8 * action.size
            if key is not None:
                self._buffers["history"].append(key)
                self._buffered_bytes += 8
        if ret is not None:
            self._buffers["returns"].append(ret)
            self._buffered_bytes += 8 * ret.size
        if self._buffered_bytes >= self._chunk_bytes - 8192:
            self.flush()

    def _policy_row(self, policies: Any) -> list[FloatArray] | None:
        """One joint policy as per-player arrays, checked against the first row's shapes."""
        if policies is None:
            return None
        if hasattr(policies, "detach") or isinstance(policies, np.ndarray):
            stacked = as_array(policies, "policies")
            if stacked.ndim < 2:
                raise trace_input_error(
                    "policies",
                    f"TraceRecorder.record(): one policy array must have shape (n_players, a), got {stacked.shape}",
                )
            row = list(stacked)
        else:
            row = [as_array(p, f"policies[{i}]") for i, p in enumerate(policies)]
        shapes = tuple(r.shape for r in row)
        expected = self._shapes.setdefault("policies", shapes)
        if shapes != expected:
            raise trace_input_error(
                "policies",
                f"TraceRecorder.record(): policy shapes {shapes} differ from the first row's {expected}",
            )
        return row

    def _row(self, name: str, values: FloatArray) -> FloatArray:
        """A joint action or returns row, checked against the first row's shape."""
        expected = self._shapes.setdefault(name, (values.shape,))
        if (values.shape,) != expected or values.ndim != 1:
            raise trace_input_error(
                name,
                f"TraceRecorder.record(): {name} has shape {values.shape}; the first row's was {expected[0]} "
                "(one entry per player)",
            )
        return values

    def _history_key(self, history: int | None, action: FloatArray | None) -> float | None:
        """The history key of a row, or None; rows either all carry one or none does."""
        if history is not None and action is None:
            raise trace_input_error(
                "history",
                "TraceRecorder.record(): history keys a sampled joint action; pass joint_action with it",
            )
        if action is None:
            return None
        with_history = history is not None
        if self._with_history is None:
            self._with_history = with_history
        elif self._with_history != with_history:
            before = "with" if self._with_history else "without"
            raise trace_input_error(
                "history",
                f"TraceRecorder.record(): every joint action so far came {before} a history key; give history on "
                "every row or on none",
            )
        return None if history is None else float(history)

    def flush(self) -> None:
        """Send the buffered rows now (as one or more chunks)."""
        self._check_open()
        buffers = self._buffers
        if not any(buffers.values()):
            return
        policies = None
        if buffers["policies"]:
            policies = [
                np.stack([row[i] for row in buffers["policies"]]) for i in range(len(buffers["policies"][0]))
            ]
        for request in trace_chunk_requests(
            policies=policies,
            joint_actions=np.stack(buffers["joint_actions"]) if buffers["joint_actions"] else None,
            history=np.array(buffers["history"]) if buffers["history"] else None,
            returns=np.stack(buffers["returns"]) if buffers["returns"] else None,
            chunk_bytes=self._chunk_bytes,
        ):
            self._put(request)
        self._buffers = {name: [] for name in buffers}
        self._buffered_bytes = 0

    @property
    def latest(self) -> TraceScore | None:
        """The most recent running score (``monitor=True``), or None before the first."""
        self._raise_failure()
        return self._latest

    @property
    def result(self) -> TraceScore | None:
        """The final score, once :meth:`close` has returned."""
        return self._result

    def close(self, timeout: float | None = None) -> TraceScore | None:
        """Flush, end the stream and return the final score (the last running one with ``monitor``).

        Raises
        ------
        EquilibriaError
            The mapped gRPC error when the server rejected the trace.
        """
        if not self._closed:
            self.flush()
            self._closed = True
            self._put(_END)
        self._thread.join(timeout)
        self._raise_failure()
        return self._result

    def __enter__(self) -> TraceRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()
        else:  # the training loop failed: end the stream without masking its exception
            self._closed = True
            self._put(_END)

    # -- the background thread ------------------------------------------------------------------

    def _requests(self) -> Iterator[Any]:
        yield self._header
        while (item := self._queue.get()) is not _END:
            yield item

    def _run(self, call: Any, timeout: float | None) -> None:
        try:
            if self._monitor:
                solution = None
                for response in call(self._requests(), timeout=timeout):
                    solution = solution or response_solution(response, self._names)
                    self._latest = response_score(response, solution)
                self._result = self._latest
            else:
                response = call(self._requests(), timeout=timeout)
                self._result = response_score(response, response_solution(response, self._names))
        except grpc.RpcError as exc:
            self._error = map_rpc_error(exc)
            self._drain()
        except BaseException as exc:  # noqa: BLE001 - reported to the training loop by close()
            self._error = exc
            self._drain()

    def _drain(self) -> None:
        """After a failure, keep the training loop from blocking on a full queue."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _put(self, item: Any) -> None:
        """Queue an item for the stream, waiting while the queue is full and the stream alive."""
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        self._raise_failure()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("TraceRecorder is closed")
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error
