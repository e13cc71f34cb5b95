"""A killable worker-process pool for CPU-bound solves.

Every solve runs in a ``pebble.ProcessPool`` worker (forkserver context: workers are
forked from a clean server process that has pre-imported the solver, never from the
threaded gRPC process). A solve that overruns its budget, or whose caller cancels, has
its worker process killed and replaced, so a runaway computation never holds a core
after nobody waits for it. Admission is bounded: past ``max_queue`` waiting solves,
new ones are refused with ``RESOURCE_EXHAUSTED`` instead of queueing without end.

Each worker's address space is capped (``RLIMIT_AS``, set by the worker initializer):
a solve that allocates past it fails with ``RESOURCE_EXHAUSTED`` for its caller only. A
worker that dies (the kernel's OOM killer, a signal, a crash in native code) fails its
caller's call with ``INTERNAL`` naming the exit reason and is replaced.

Who runs next is :mod:`equilibria.service.admission`'s decision: the pool hands pebble a
solve only when a worker is free, so pebble's own queue stays empty and its timeout
counts from the solve's start. A solve past its timeout, or whose caller left, has its
worker killed with SIGKILL at once (pebble's SIGTERM grace is set to 0: a worker inside
native code, HiGHS for one, does not act on SIGTERM, and waiting 3 s for it stalled
pebble's manager thread and with it every other worker). Workers run
single-threaded BLAS (``OPENBLAS_NUM_THREADS=1`` unless the environment says otherwise):
the workers are the parallelism, and every BLAS thread would map tens of MiB more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import logging
import multiprocessing
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import pebble
import pebble.common.types
from equilibria.service import worker
from equilibria.service.admission import Admission, Cost, CostModel
from equilibria.service.errors import RequestError
from equilibria.service.forkserver import start_forkserver

__all__ = ["SolvePool", "exit_reason", "wait_for_forkserver"]

T = TypeVar("T")
log = logging.getLogger("equilibria.service")

# pebble stops a worker with SIGTERM, waits ``term_timeout`` seconds in its manager thread
# (which meanwhile serves no other worker), then SIGKILLs it. A solve past its deadline has
# nothing to save: kill at once.
pebble.common.types.CONSTS.term_timeout = 0.0

#: Pools in a row whose workers all die before their first task: the workers cannot start.
MAX_BROKEN_POOLS = 3

WORKERS_CANNOT_START = (
    "worker processes die before they take a task, pool after pool: if a script calls "
    "equilibria.service.batch.solve_many() (or starts a server) at its top level, put the call "
    'under `if __name__ == "__main__":` (each worker process imports the script again)'
)


def exit_reason(exitcode: int | None) -> str:
    """How a worker process ended, in words: ``killed by SIGKILL``, ``exit code 3``.

    Examples
    --------
    >>> exit_reason(-9)
    "killed by SIGKILL (the kernel's OOM killer or an operator)"
    >>> exit_reason(-11)
    'killed by SIGSEGV (a crash in native code)'
    >>> exit_reason(3)
    'exit code 3'
    """
    if exitcode is None or exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    cause = {
        "SIGKILL": " (the kernel's OOM killer or an operator)",
        "SIGSEGV": " (a crash in native code)",
        "SIGBUS": " (a crash in native code)",
        "SIGABRT": " (an abort in native code)",
    }.get(name, "")
    return f"killed by {name}{cause}"


def wait_for_forkserver(context: multiprocessing.context.ForkServerContext) -> None:
    """Return once the forkserver forks: after it has imported its preload (seconds, or a
    minute on a first start that compiles the solver kernels).

    The first call for a forkserver forks one process through it that exits at once (like
    every process forked from it, it imports the main script); later calls return at once.
    A failure to fork is left to the pool's own start to report.
    """
    forkserver = multiprocessing.forkserver._forkserver
    server = getattr(forkserver, "_forkserver_pid", None)
    if server is not None and server in _PROBED:
        return
    try:
        probe = context.Process(target=int, name="equilibria-forkserver-probe")
        probe.start()
        probe.join()
    except (OSError, EOFError) as exc:
        log.warning("the workers' forkserver did not fork a probe process: %s", exc)
    _PROBED.add(getattr(forkserver, "_forkserver_pid", None))


#: Forkservers (by process id) known to have imported their preload.
_PROBED: set[int | None] = set()


class SolvePool:
    """Run functions in killable worker processes from asyncio code.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    max_queue : int
        Largest number of solves admitted beyond those running.
    memory_bytes : int
        Address-space cap of each worker process (0: none).
    """

    def __init__(self, workers: int, max_queue: int, memory_bytes: int = 0) -> None:
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            raise RuntimeError(WORKERS_CANNOT_START)  # a new worker is re-running a script's top level
        self._context = start_forkserver()
        self._pool = self._new_pool(workers, memory_bytes)
        self.memory_bytes = memory_bytes
        self.workers = workers
        self.restarts = 0
        #: Tasks handed to the workers (a SolveGames group of small games is one task).
        self.tasks = 0
        self._start_lock = asyncio.Lock()
        self._preloaded: bool | None = None  # set by start()
        self._closed = False  # set by close()
        # The first task (worker.warm_up) while it runs: start() awaits it, close() cancels it.
        self._warming: concurrent.futures.Future[bool] | None = None
        #: Pools in a row whose workers died before their first task; at MAX_BROKEN_POOLS
        #: the workers cannot start, and every call fails at once with the reason.
        self.broken_in_a_row = 0
        #: Who runs next, who waits, who is refused at the door.
        self.admission = Admission(workers, max_queue)
        #: Expected seconds per shape of request, learnt from the solves run here.
        self.costs = CostModel()

    def _new_pool(self, workers: int, memory_bytes: int) -> pebble.ProcessPool:
        return pebble.ProcessPool(
            max_workers=workers,
            context=self._context,
            initializer=worker.cap_memory,
            initargs=(memory_bytes,),
        )

    def _replace_broken(self, broken: pebble.ProcessPool) -> None:
        """Replace the process pool after pebble gave it up (once, whoever notices first)."""
        if self._pool is broken:
            broken.stop()  # its manager threads have ended; its workers, if any, go too
            self.broken_in_a_row += 1
            if self.broken_in_a_row < MAX_BROKEN_POOLS:
                self._pool = self._new_pool(self.workers, self.memory_bytes)
                self.restarts += 1

    async def start(self) -> bool:
        """Start the worker processes (once), without blocking the event loop.

        pebble starts its workers on the first task, and starting one waits until the
        forkserver has imported its preload: seconds, or a minute on a first start that
        compiles the kernels. The first task (:func:`equilibria.service.worker.warm_up`) is
        awaited, not waited for in a thread: a pool closed meanwhile cancels it, and no
        thread is left blocked on it (one would keep the process from exiting). A caller
        cancelled meanwhile leaves it running for the next call. Returns whether the
        forkserver preloaded the solver.

        Raises
        ------
        RequestError
            ``INTERNAL`` when pool after pool, the workers die before their first task.
        """
        async with self._start_lock:
            while self._preloaded is None:
                pool = self._pool
                if self._warming is None:
                    # pebble's first submit starts the workers on this thread, blocked until
                    # the forkserver has imported its preload: wait for that in a thread, so
                    # the event loop keeps answering calls (health: NOT_SERVING) meanwhile.
                    await asyncio.to_thread(wait_for_forkserver, self._context)
                    if self._closed:  # close() ran meanwhile: as if it cancelled the first task
                        raise asyncio.CancelledError
                    self._warming = pool.submit(worker.warm_up, None)
                warming = self._warming
                try:
                    self._preloaded = await asyncio.shield(asyncio.wrap_future(warming))
                except concurrent.futures.process.BrokenProcessPool:  # a worker died before its task
                    self._replace_broken(pool)
                    if self.cannot_start:
                        raise RequestError(grpc.StatusCode.INTERNAL, WORKERS_CANNOT_START) from None
                finally:
                    if warming.done():
                        self._warming = None
        return self._preloaded

    @property
    def cannot_start(self) -> bool:
        """Whether the workers die before their first task, pool after pool."""
        return self.broken_in_a_row >= MAX_BROKEN_POOLS

    @property
    def in_flight(self) -> int:
        """Solves admitted and not yet finished (running or waiting)."""
        return self.admission.running + self.admission.waiting

    async def run(
        self,
        function: Callable[..., T],
        *args: Any,
        timeout: float | None,
        cost: Cost | None = None,
        deadline: float | None = None,
    ) -> T:
        """Run ``function(*args)`` in a worker, killing it past ``timeout`` seconds or on cancellation.

        ``cost`` (from :attr:`costs`) decides the solve's lane and is learnt from its run
        time; None counts as cheap and is not learnt. ``deadline``: seconds the caller still
        waits, or None; a solve that would wait longer for a worker is refused at once.

        Raises
        ------
        RequestError
            ``RESOURCE_EXHAUSTED`` when the server is busy (see :class:`Admission`) or the
            solve ran out of memory, ``DEADLINE_EXCEEDED`` past the timeout, ``INTERNAL``
            when the worker process died.
        asyncio.CancelledError
            When the awaiting task is cancelled (the worker is killed first).
        """
        if self.cannot_start:
            raise RequestError(grpc.StatusCode.INTERNAL, WORKERS_CANNOT_START)
        if self._preloaded is None:
            await self.start()
        ticket = await self.admission.acquire(cost or Cost(None, 0.0), deadline)
        ran: float | None = None  # seconds the function ran, as the worker measured them
        pool = self._pool
        try:
            future = pool.submit(worker.timed, timeout, function, *args)
            self.tasks += 1
        except BaseException:
            self.admission.release(ticket)
            raise
        try:
            ran, result = await asyncio.wrap_future(future)
            self.broken_in_a_row = 0
            return result
        except asyncio.CancelledError:
            if future.running():
                self.restarts += 1
            future.cancel()  # pebble kills the worker process running it
            raise
        except concurrent.futures.TimeoutError as exc:
            self.restarts += 1
            ran = timeout
            raise RequestError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"solve exceeded its time budget of {timeout:.3g} s; the worker was stopped",
            ) from exc
        except MemoryError as exc:  # raised in the worker, which lives on
            raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, self._out_of_memory()) from exc
        except pebble.ProcessExpired as exc:
            self.restarts += 1
            raise RequestError(
                grpc.StatusCode.INTERNAL,
                f"the worker process died during the solve ({exit_reason(exc.exitcode)}); "
                "the server replaced it and keeps serving",
            ) from exc
        except concurrent.futures.process.BrokenProcessPool as exc:
            # A worker died before it took its task (pebble then fails every task it holds
            # and takes no more): a fresh pool takes the next calls.
            self._replace_broken(pool)
            if self.cannot_start:
                raise RequestError(grpc.StatusCode.INTERNAL, WORKERS_CANNOT_START) from exc
            raise RequestError(
                grpc.StatusCode.INTERNAL,
                "a worker process died before it started the solve; the server replaced its "
                "workers and keeps serving",
            ) from exc
        finally:
            self.admission.release(ticket)
            if ran is not None and cost is not None and cost.key is not None:
                self.costs.observe(cost.key, ran)

    def _out_of_memory(self) -> str:
        if self.memory_bytes > 0:
            return f"the solve ran out of memory (worker cap {self.memory_bytes >> 20} MiB)"
        return "the solve ran out of memory (no worker cap: the machine's memory is exhausted)"

    def close(self) -> None:
        """Stop accepting work and terminate the workers (a first task still running is cancelled)."""
        self._closed = True
        if self._warming is not None:
            self._warming.cancel()
        self._pool.stop()
        self._pool.join(timeout=10)
