"""Admission and memory accounting of trace streams (``ScoreTrace``, ``MonitorTrace``, ``SamplePayoffs``).

Trace scoring runs in the server process, so every stream's memory is accounted for
explicitly, before it is allocated:

* at most ``Limits.max_trace_streams`` streams are open at once; a stream beyond gets
  ``RESOURCE_EXHAUSTED`` "busy: N trace streams open (limit N); retry later" at its
  header;
* each stream has a budget, ``Limits.max_stream_memory_bytes``: its header is refused
  when the scorer's worst case for that game, solution set and options
  (:func:`equilibria.solver.traces.memory.trace_memory_bound`) passes it, and a chunk is
  refused when what it would add (new history keys of sampled joint actions grow the
  count table) would pass it;
* what a stream may use is reserved from a server-wide pool,
  ``Limits.max_trace_memory_bytes``, at its header and as it grows, and returned when
  the stream ends in any way (answer, error, cancellation, idle timeout); past the pool
  the stream gets ``RESOURCE_EXHAUSTED`` "busy ... retry later".

Reservations change only on the event loop's thread.
"""

from __future__ import annotations

import grpc
from equilibria.service.errors import RequestError
from equilibria.solver.traces.memory import MemoryBound

__all__ = ["DECODE_COPIES", "StreamBudget", "TraceAdmission"]

#: Copies of a chunk's wire bytes alive while it is decoded: the message, its decoded
#: tensors and their checked copies (measured: at most 2.4 besides the message).
DECODE_COPIES = 4


class TraceAdmission:
    """The server's open trace streams and its pool of trace memory.

    Parameters
    ----------
    max_streams : int
        Most streams open at once.
    pool_bytes : int
        Bytes all open streams may reserve together.
    stream_bytes : int
        Bytes one stream may reserve.
    """

    def __init__(self, max_streams: int, pool_bytes: int, stream_bytes: int) -> None:
        self.max_streams = int(max_streams)
        self.pool_bytes = int(pool_bytes)
        self.stream_bytes = int(stream_bytes)
        self.open_streams = 0
        self.reserved = 0

    def stream(self) -> StreamBudget:
        """The budget of a new stream, admitted by :meth:`StreamBudget.admit` when its header arrives."""
        return StreamBudget(self)


class StreamBudget:
    """One stream: its slot among the open streams and the bytes it has reserved from the pool."""

    def __init__(self, admission: TraceAdmission) -> None:
        self._admission = admission
        self.reserved = 0
        self.admitted = False

    @property
    def limit(self) -> int:
        """The per-stream budget, in bytes."""
        return self._admission.stream_bytes

    def admit(self) -> None:
        """Take a slot, or refuse the stream with ``RESOURCE_EXHAUSTED`` (busy) naming ``header``."""
        admission = self._admission
        if admission.open_streams >= admission.max_streams:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"busy: {admission.open_streams} trace streams open (limit {admission.max_streams}); retry later",
                "header",
            )
        admission.open_streams += 1
        self.admitted = True

    def reserve(self, bound: MemoryBound, extra: int, field: str, what: str, hint: str = "") -> None:
        """Raise the reservation to ``bound.total + extra`` bytes, or refuse.

        Parameters
        ----------
        bound : MemoryBound
            The scorer's bound after what is about to be allocated.
        extra : int
            Bytes besides the scorer's (a chunk's message and decoded tensors).
        field : str
            The request field to name when refused.
        what : str
            What needs the memory, for the message ("scoring this trace", "chunk 3").
        hint : str, optional
            Appended to the message when the stream's budget is passed.

        Raises
        ------
        RequestError
            ``RESOURCE_EXHAUSTED`` naming ``field``: over the stream's budget (with the
            figures), or the pool is held by other streams (busy, retry later).
        """
        total = bound.total + int(extra)
        if total <= self.reserved:
            return
        admission = self._admission
        if total > admission.stream_bytes:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{what} needs up to {total:,} bytes of server memory (scorer: {bound.describe()}), over "
                f"the per-stream trace memory budget of {admission.stream_bytes:,} bytes{hint}",
                field,
            )
        more = total - self.reserved
        if admission.reserved + more > admission.pool_bytes:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"busy: trace streams hold {admission.reserved:,} of the server's {admission.pool_bytes:,} bytes "
                f"of trace memory and {what} needs {more:,} more; retry later",
                field,
            )
        admission.reserved += more
        self.reserved = total

    def release(self) -> None:
        """Return the reservation and the slot (once; later calls and unadmitted streams do nothing)."""
        if not self.admitted:
            return
        self.admitted = False
        self._admission.reserved -= self.reserved
        self._admission.open_streams -= 1
        self.reserved = 0
