"""Batch solving: many games at once, results in input order, each with its own outcome.

Two entry points share one scheduler, :func:`ordered_window`:

- the server's ``SolveGames`` stream (:mod:`equilibria.service.servicer`), which runs
  every item through the single solving path ``EquilibriaServicer._solve``;
- :func:`solve_many`, a Python API for notebooks and empirical game-theoretic analysis
  that needs no server: the games go to the killable process pool
  (:class:`~equilibria.service.pool.SolvePool`, ``backend="process"``) or to Ray
  (:mod:`equilibria.service.ray_backend`, ``backend="ray"``), both running the same
  worker function, :func:`equilibria.service.worker.solve_game`.

A failed item (invalid game, exceeded time limit, dead worker) is reported in its own
:class:`BatchResult` and never fails the batch. :func:`solve_many` sends consecutive small
2-player games (up to 8 x 8) to a worker in chunks of up to :data:`CHUNK`, one task per
chunk; a chunk that fails as a whole (its time, its worker, its memory) is run again game
by game.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import grpc
import numpy as np
from equilibria.service import worker
from equilibria.service.errors import RequestError, from_solver_error
from equilibria.service.limits import available_cpus
from equilibria.service.options import DEFAULT_CONCEPTS, SolveOptions
from equilibria.solver import MarkovSolutionSet, NormalFormGame, SolutionSet, StochasticGame
from equilibria.solver.errors import SolverError

__all__ = [
    "BatchResult",
    "CHUNK",
    "DEFAULT_OPTIONS",
    "SMALL_GAME_BASES",
    "grouped",
    "is_small",
    "ordered_window",
    "solve_many",
]

log = logging.getLogger("equilibria.service")

Item = TypeVar("Item")
Result = TypeVar("Result")
#: A runner with the contract of :meth:`SolvePool.run`: ``await run(function, *args, timeout=...)``.
Runner = Callable[..., Awaitable[Any]]

#: Options of :func:`solve_many` when none are given: every Nash equilibrium, method "auto".
DEFAULT_OPTIONS = SolveOptions(
    concepts=DEFAULT_CONCEPTS, method="auto", tol=1e-9, exact=False, max_equilibria=0, time_budget=None
)
#: Time limit of one game in :func:`solve_many` when its options give none, in seconds.
DEFAULT_TIME_LIMIT = 300.0


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """The outcome of one game of a batch.

    Attributes
    ----------
    index : int
        Position of the game in the input, from 0.
    result : SolutionSet or MarkovSolutionSet or None
        The solution set; None when the item failed.
    error : RequestError or None
        Why the item failed: its gRPC status ``code`` (``DEADLINE_EXCEEDED`` past the time
        limit, ``INVALID_ARGUMENT`` for a bad game, ``INTERNAL`` when the worker died),
        ``message`` and offending ``field`` (``games[i].payoffs``); None on success.
    """

    index: int
    result: SolutionSet | MarkovSolutionSet | None
    error: RequestError | None = None

    @property
    def ok(self) -> bool:
        """Whether the item was solved."""
        return self.error is None


async def _as_async(items: Iterable[Item] | AsyncIterable[Item]) -> AsyncIterator[Item]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def ordered_window(
    items: Iterable[Item] | AsyncIterable[Item],
    solve_one: Callable[[int, Item], Awaitable[Result]],
    *,
    concurrency: int,
    read_ahead: int,
) -> AsyncIterator[Result]:
    """Apply ``solve_one(index, item)`` concurrently, yielding the results in input order.

    At most ``concurrency`` calls run at once, and at most ``read_ahead`` items are held
    (read, running or finished but not yet yielded): the input is read only as results
    are consumed, so an unbounded stream is never read into memory. ``solve_one``
    should report failures in its result; an exception it raises ends the iteration.
    When the iteration ends early (an exception, the consumer stops, the task is
    cancelled) every outstanding call is cancelled and awaited, so workers running
    them are stopped.

    Parameters
    ----------
    items : iterable or async iterable
    solve_one : async callable (index, item) -> result
    concurrency : int
        Calls running at once (>= 1).
    read_ahead : int
        Items held at once (>= ``concurrency``).

    Examples
    --------
    >>> async def square(index, x):
    ...     await asyncio.sleep(0.01 * (3 - x))  # later items finish first
    ...     return x * x
    >>> async def main():
    ...     return [r async for r in ordered_window([1, 2, 3], square, concurrency=3, read_ahead=3)]
    >>> asyncio.run(main())
    [1, 4, 9]
    """
    if concurrency < 1 or read_ahead < concurrency:
        raise ValueError(
            f"ordered_window(): need 1 <= concurrency <= read_ahead, got {concurrency} and {read_ahead}"
        )
    running = asyncio.Semaphore(concurrency)
    slots = asyncio.Semaphore(read_ahead)
    queue: asyncio.Queue[asyncio.Task[Result] | None] = asyncio.Queue()
    outstanding: set[asyncio.Task[Result]] = set()

    async def guarded(index: int, item: Item) -> Result:
        async with running:
            return await solve_one(index, item)

    async def read() -> None:
        try:
            index = 0
            async for item in _as_async(items):
                await slots.acquire()
                task = asyncio.create_task(guarded(index, item))
                outstanding.add(task)
                queue.put_nowait(task)
                index += 1
        finally:
            queue.put_nowait(None)

    reader = asyncio.create_task(read())
    try:
        while (task := await queue.get()) is not None:
            try:
                result = await task
            finally:
                outstanding.discard(task)
                slots.release()
            yield result
        await reader  # re-raises a failure to read the input
    finally:
        reader.cancel()
        for task in outstanding:
            task.cancel()
        await asyncio.gather(reader, *outstanding, return_exceptions=True)


def _as_game(game: Any) -> NormalFormGame | StochasticGame:
    if isinstance(game, NormalFormGame | StochasticGame):
        return game
    if isinstance(game, tuple | list) and len(game) == 2:
        a, b = (np.asarray(m, dtype=np.float64) for m in game)
        if a.ndim == 2 and a.shape == b.shape:
            return NormalFormGame(np.stack([a, b]))
    return NormalFormGame(np.asarray(game, dtype=np.float64))


def _item_error(exc: Exception, index: int) -> RequestError:
    """A failure of game ``index`` as a request error naming ``games[index].<field>``."""
    if isinstance(exc, RequestError):
        error = exc
    elif isinstance(exc, SolverError):
        error = from_solver_error(exc, "game")
        error.field = error.field.removeprefix("game.")
    else:
        log.exception("batch item %d failed", index)
        error = RequestError(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
    error.field = f"games[{index}].{error.field}" if error.field else f"games[{index}]"
    return error


#: 2-player games with at most this many bases to enumerate (8 x 8) solve in milliseconds:
#: :func:`solve_many` sends them to the workers in chunks of up to :data:`CHUNK` games, one
#: task per chunk (a task costs more than such a solve: benchmark case 9).
SMALL_GAME_BASES = 2 * 12_870
#: Largest number of small games solved by one task of :func:`solve_many` (and of a
#: SolveGames stream).
CHUNK = 32
#: Seconds :func:`grouped` waits for the next item of a group before it lets the group go.
LINGER = 0.002


def is_small(game: NormalFormGame | StochasticGame) -> bool:
    """A 2-player normal-form game cheap enough to share a task with others."""
    from equilibria.solver.normal_form.vertex_enumeration import count_bases

    return (
        isinstance(game, NormalFormGame)
        and game.n_players == 2
        and count_bases(*game.num_actions) <= SMALL_GAME_BASES
    )


async def grouped(
    items: AsyncIterable[Item], small: Callable[[Item], bool], size: int, linger: float = LINGER
) -> AsyncIterator[list[tuple[int, Item]]]:
    """``(index, item)`` in input order, grouped: consecutive small items that arrive
    together (up to ``size``), every other item alone.

    A reader task takes items from the stream as they come (holding at most ``2 * size``);
    a group is what has arrived when it is asked for, plus what arrives within ``linger``
    seconds of the previous item: a slow stream is never kept waiting for a group to fill,
    and a burst (a client sending many games at once) fills its groups.

    Examples
    --------
    >>> async def main():
    ...     return [g async for g in grouped(_as_async([1, 2, 30, 4]), lambda x: x < 10, 16)]
    >>> [[item for _, item in group] for group in asyncio.run(main())]
    [[1, 2], [30], [4]]
    """
    arrived: asyncio.Queue[tuple[int, Item] | None] = asyncio.Queue(maxsize=2 * size)  # None: the end
    failure: list[BaseException] = []

    async def read() -> None:
        try:
            index = 0
            async for item in items:
                await arrived.put((index, item))
                index += 1
        except Exception as exc:  # noqa: BLE001 - re-raised to the consumer after the items read
            failure.append(exc)
        finally:
            await arrived.put(None)

    reader = asyncio.create_task(read())
    pending: list[tuple[int, Item] | None] = []  # taken from the queue, not yet grouped
    try:
        while True:
            first = pending.pop() if pending else await arrived.get()
            if first is None:
                break
            group = [first]
            while small(first[1]) and len(group) < size:
                try:  # what has arrived, and what arrives within a moment (a burst still in transit)
                    following = (
                        arrived.get_nowait()
                        if not arrived.empty()
                        else await asyncio.wait_for(arrived.get(), linger)
                    )
                except TimeoutError:
                    break
                if following is None or not small(following[1]):
                    pending.append(following)
                    break
                group.append(following)
            yield group
        if failure:
            raise failure[0]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


def _chunks(games: Iterable[Any]) -> Iterator[list[tuple[int, Any]]]:
    """``(index, game)`` in input order, grouped: up to :data:`CHUNK` consecutive small games
    together, every other game (or one that does not convert) alone. Games that convert are
    passed on converted (:func:`_as_game` returns a game object as it is)."""
    chunk: list[tuple[int, Any]] = []
    for index, game in enumerate(games):
        try:
            game = _as_game(game)
            small = is_small(game)
        except Exception:  # noqa: BLE001 - reported by the game's own solve
            small = False
        if not small:
            if chunk:
                yield chunk
                chunk = []
            yield [(index, game)]
            continue
        chunk.append((index, game))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _solve_all(
    games: Iterable[Any], options: Sequence[SolveOptions], run: Runner, concurrency: int, time_limit: float
) -> list[BatchResult]:
    def options_of(index: int) -> SolveOptions:
        return options[index] if len(options) > 1 else options[0]

    async def solve_one(index: int, game: Any) -> BatchResult:
        item_options = options_of(index)
        budget = item_options.time_budget or time_limit
        try:
            result = await run(worker.solve_game, _as_game(game), item_options, budget, timeout=budget)
            return BatchResult(index, result)
        except Exception as exc:  # noqa: BLE001 - every failure is the item's outcome
            return BatchResult(index, None, _item_error(exc, index))

    async def solve_chunk(_: int, chunk: list[tuple[int, Any]]) -> list[BatchResult]:
        if len(chunk) == 1:
            return [await solve_one(*chunk[0])]
        indices = [index for index, _ in chunk]
        budgets = [options_of(i).time_budget or time_limit for i in indices]
        try:
            outcomes = await run(
                worker.solve_games,
                [game for _, game in chunk],  # converted by _chunks (small games only)
                [options_of(i) for i in indices],
                budgets,
                timeout=min(budgets),
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - past the budget, a dead worker, out of memory
            # Each game again on its own, with its own budget: no game loses its limits.
            return [await solve_one(index, game) for index, game in chunk]
        return [
            BatchResult(index, value) if ok else BatchResult(index, None, _item_error(value, index))
            for index, (ok, value) in zip(indices, outcomes, strict=True)
        ]

    return [
        r
        async for results in ordered_window(
            _chunks(games), solve_chunk, concurrency=concurrency, read_ahead=max(4 * concurrency, 16)
        )
        for r in results
    ]


def solve_many(
    games: Iterable[Any],
    options: SolveOptions | Sequence[SolveOptions] | None = None,
    *,
    backend: str = "process",
    ray_address: str | None = None,
    num_cpus: int | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> list[BatchResult]:
    """Solve many games in parallel without a server; one :class:`BatchResult` per game, in order.

    Parameters
    ----------
    games : iterable
        ``NormalFormGame`` or ``StochasticGame`` objects, payoff tensors
        ``(n_players, a_1, ..., a_n)`` or pairs ``(A, B)`` of matrices.
    options : SolveOptions or sequence of SolveOptions, optional
        One set of options for every game, or one per game (same length as ``games``).
        Default :data:`DEFAULT_OPTIONS` (every Nash equilibrium, method "auto").
    backend : {"process", "ray"}
        "process": a killable process pool on this machine; "ray": Ray tasks, on a
        loopback-only local Ray started for the call (unless Ray is already initialised)
        or on the cluster at ``ray_address``.
    ray_address : str, optional
        Address of an existing Ray cluster (``ray://host:10001`` or ``host:6379``);
        None or "local" starts a local Ray bound to 127.0.0.1.
    num_cpus : int, optional
        Worker processes (process backend) or CPUs of the local Ray (default: all cores).
    time_limit : float
        Seconds one game may run when its options set no ``time_budget``; past it the
        game's worker is killed and its result is ``DEADLINE_EXCEEDED``.

    Returns
    -------
    list of BatchResult
        In input order; ``result`` set on success, ``error`` otherwise.

    Raises
    ------
    RuntimeError
        When no worker process can start (pool after pool dies before its first task):
        typically a script that calls ``solve_many`` at its top level, which each worker
        imports again. The message says to put the call under ``if __name__ == "__main__":``.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.service.batch import solve_many
    >>> rng = np.random.default_rng(0)
    >>> games = [rng.standard_normal((2, 3, 3)) for _ in range(4)]
    >>> results = solve_many(games, num_cpus=1)  # doctest: +SKIP
    >>> [r.ok for r in results]  # doctest: +SKIP
    [True, True, True, True]
    """
    if options is None:
        options = DEFAULT_OPTIONS
    per_game = [options] if isinstance(options, SolveOptions) else list(options)
    if not per_game:
        raise ValueError("solve_many(): options must not be empty")
    if len(per_game) > 1:
        games = list(games)
        if len(per_game) != len(games):
            raise ValueError(f"solve_many(): {len(games)} games but {len(per_game)} options")
    if backend == "process":
        from equilibria.service.pool import WORKERS_CANNOT_START, SolvePool

        workers = num_cpus or available_cpus()
        pool = SolvePool(workers, max_queue=4 * workers + 16)
        try:
            results = asyncio.run(_solve_all(games, per_game, pool.run, workers, time_limit))
        finally:
            pool.close()
        if pool.cannot_start:  # no game could run: fail loudly, not with a list of errors
            raise RuntimeError(f"solve_many(): {WORKERS_CANNOT_START}")
        return results
    if backend == "ray":
        from equilibria.service import ray_backend

        started = ray_backend.init_ray(ray_address, num_cpus=num_cpus)
        try:
            runner = ray_backend.RayRunner()
            return asyncio.run(_solve_all(games, per_game, runner.run, runner.workers, time_limit))
        finally:
            if started:
                ray_backend.shutdown_ray()
    raise ValueError(f"solve_many(): unknown backend {backend!r}; expected 'process' or 'ray'")
