"""A content-addressed LRU cache of solve answers, with single-flight.

The key of a solve (:func:`solve_key`) is a blake2b digest of the game's content address
(``game.id``: the canonical little-endian bytes of the converted domain game), the
canonical request options that can change the answer (every :class:`SolveOptions` field
but ``time_budget``) and :data:`SOLVER_VERSION`. Two requests with the same key get the
same answer, so the second one is served from memory.

What is cached
    Only complete answers: a solve that failed is not stored, nor one whose text says a
    wall-clock limit cut work short (:func:`cut_short_by_the_clock`), because a later call
    with a larger budget must get a fresh solve.
Bounds
    At most ``max_entries`` answers and ``max_bytes`` bytes (an answer's size is its
    serialized response size); the least recently used go first. ``0`` for either
    disables the cache.
Single-flight
    Concurrent requests with one key share one solve: the first starts it, the others
    await it. A caller that is cancelled stops waiting without cancelling the solve for
    the others; the solve itself is cancelled (and its worker killed) only when every
    caller has gone. When the shared solve fails with a timeout or cancellation, or its
    answer is not cacheable, the remaining callers do not inherit it: they solve again
    under their own budgets.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import grpc
import numpy as np
from equilibria.service.errors import RequestError

__all__ = ["CachedAnswer", "SolveCache", "cut_short_by_the_clock", "solve_key"]

V = TypeVar("V")

#: Phrases the solvers put in ``method_reason`` or ``warnings`` when a wall-clock limit
#: stopped or skipped work (homotopy paths, pygambit runs, backward-induction stages).
CLOCK_MARKERS = ("time limit", "time_limit", "budget", "stopped after", "partial in up to")


def solve_key(game_id: str, options: Any, solver_version: str) -> str:
    """The cache key of a solve: blake2b-128 over game id, canonical options and solver version.

    Parameters
    ----------
    game_id : str
        The domain game's content address (``NormalFormGame.id``, ``StochasticGame.id``).
    options : SolveOptions
        The validated request options; ``time_budget`` is left out (it bounds the work,
        it does not change a complete answer).
    solver_version : str

    Examples
    --------
    >>> from equilibria.service.options import SolveOptions
    >>> options = SolveOptions(("nash",), "auto", 1e-9, False, 0, time_budget=1.0)
    >>> key = solve_key("g", options, "1")
    >>> key == solve_key("g", dataclasses.replace(options, time_budget=9.0), "1")
    True
    >>> key == solve_key("g", dataclasses.replace(options, method="lemke_howson"), "1")
    False

    Array options count in full, however large (a policy credited by credit assignment):

    >>> import numpy as np
    >>> from equilibria.solver import CreditOptions
    >>> policy = np.full(5000, 1 / 5000)
    >>> other = policy.copy(); other[2500] += 1e-12
    >>> def keyed(p): return solve_key("g", dataclasses.replace(options, credit=CreditOptions(policy=(p,))), "1")
    >>> keyed(policy) == keyed(policy.copy()), keyed(policy) == keyed(other)
    (True, False)
    """
    fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    fields.pop("time_budget", None)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_canonical)
    digest = hashlib.blake2b(digest_size=16, person=b"equilibria-solve")
    for part in (b"v1", solver_version.encode(), game_id.encode(), canonical.encode()):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _canonical(value: Any) -> Any:
    """A JSON form of an option that the encoder cannot write, exact in every entry: an
    array by its shape, dtype and a digest of its bytes (its ``repr`` elides the middle of
    a large one, so two policies could share it), a dataclass by its fields."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.blake2b(data.tobytes(), digest_size=16).hexdigest()
        return {"ndarray": list(data.shape), "dtype": str(data.dtype), "blake2b": digest}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "dataclass": type(value).__name__,
            **{f.name: getattr(value, f.name) for f in dataclasses.fields(value)},
        }
    return repr(value)


def cut_short_by_the_clock(result: Any) -> bool:
    """Whether a solution set's text says a wall-clock limit stopped or skipped some work.

    The solvers report it in words: the stochastic homotopy ("stopped by the time limit",
    paths failing with "time limit"), pygambit runs ("skipped: time_limit spent",
    "stopped after 2 s without finishing"), backward induction ("partial in up to k
    stage games"), an empty homotopy set ("within the budget"). Any of these makes the
    answer depend on the budget and the machine's load, so it is not cached.
    """
    texts = (getattr(result, "method_reason", ""), *getattr(result, "warnings", ()))
    return any(marker in text.lower() for text in texts for marker in CLOCK_MARKERS)


@dataclasses.dataclass(frozen=True)
class CachedAnswer(Generic[V]):
    """One cached answer and its accounted size in bytes."""

    value: V
    size: int


@dataclasses.dataclass
class _Flight:
    task: asyncio.Task[tuple[Any, int, bool]]
    waiters: int = 0


#: Failures of a shared solve that say nothing about the answer: waiters retry on their own.
_PER_CALLER_CODES = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)


class SolveCache(Generic[V]):
    """An LRU map from solve keys to answers, bounded by entries and bytes, with single-flight.

    Parameters
    ----------
    max_entries : int
        Largest number of answers kept (0 disables the cache).
    max_bytes : int
        Largest total size of the answers kept (0 disables the cache).

    Examples
    --------
    >>> import asyncio
    >>> cache = SolveCache(max_entries=2, max_bytes=1000)
    >>> async def compute():
    ...     return "answer", 6, True  # value, size in bytes, cacheable
    >>> asyncio.run(cache.get_or_compute("k", compute))
    ('answer', False)
    >>> asyncio.run(cache.get_or_compute("k", compute))
    ('answer', True)
    >>> cache.hits, cache.misses
    (1, 1)
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError(f"SolveCache(): bounds must be >= 0, got {max_entries=} {max_bytes=}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: collections.OrderedDict[str, CachedAnswer[V]] = collections.OrderedDict()
        self._flights: dict[str, _Flight] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @property
    def enabled(self) -> bool:
        """False when either bound is 0."""
        return self.max_entries > 0 and self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> V | None:
        """The answer stored under ``key`` (marking it recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry.value

    def lookup(self, key: str) -> V | None:
        """:meth:`get`, counted as a hit or a miss (a solve that does not go through
        :meth:`get_or_compute`, such as a packed batch's, counts its lookups here)."""
        if not self.enabled:
            return None
        value = self.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put(self, key: str, value: V, size: int) -> bool:
        """Store an answer, evicting the least recently used past the bounds; False if it cannot fit."""
        if not self.enabled or size > self.max_bytes:
            return False
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self._entries[key] = CachedAnswer(value, size)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size
            self.evictions += 1
        return True

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[tuple[V, int, bool]]]
    ) -> tuple[V, bool]:
        """The answer for ``key`` and whether it came from the cache (or a shared solve).

        ``compute()`` returns ``(value, size, cacheable)``; it runs at most once at a
        time per key. Exceptions of ``compute`` propagate to its callers.
        """
        if not self.enabled:
            value, _, _ = await compute()
            return value, False
        while True:
            cached = self.get(key)
            if cached is not None:
                self.hits += 1
                return cached, True
            flight = self._flights.get(key)
            if flight is None or flight.task.done():
                self.misses += 1
                return await self._lead(key, compute)
            shared = await self._wait(flight)
            if shared is not None:
                self.hits += 1
                return shared, True
            # The shared solve timed out or was not cacheable: solve under our own budget.

    async def _lead(self, key: str, compute: Callable[[], Awaitable[tuple[V, int, bool]]]) -> tuple[V, bool]:
        async def run() -> tuple[V, int, bool]:
            value, size, cacheable = await compute()
            if cacheable:
                self.put(key, value, size)
            return value, size, cacheable

        flight = _Flight(asyncio.get_running_loop().create_task(run()))
        self._flights[key] = flight

        def land(_: object) -> None:
            if self._flights.get(key) is flight:
                del self._flights[key]

        flight.task.add_done_callback(land)
        flight.waiters += 1
        try:
            value, _, _ = await asyncio.shield(flight.task)
        finally:
            self._leave(flight)
        return value, False

    async def _wait(self, flight: _Flight) -> V | None:
        """The shared answer, or None when the waiter should solve on its own."""
        flight.waiters += 1
        try:
            value, _, cacheable = await asyncio.shield(flight.task)
        except RequestError as error:
            if error.code in _PER_CALLER_CODES:
                return None
            raise
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling() == 0:  # the shared solve was cancelled, not us
                return None
            raise
        finally:
            self._leave(flight)
        return value if cacheable else None

    @staticmethod
    def _leave(flight: _Flight) -> None:
        flight.waiters -= 1
        if flight.waiters == 0 and not flight.task.done():
            flight.task.cancel()  # nobody waits any more: stop the solve (the pool kills its worker)
