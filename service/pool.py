"""A killable worker-process pool for CPU-bound solves.

Every solve runs in a ``pebble.ProcessPool`` worker (forkserver context: workers are
forked from a clean server process that has pre-imported the solver, never from the
threaded gRPC process). A solve that overruns its budget, or whose caller cancels, has
its worker process killed and replaced, so a runaway computation never holds a core
after nobody waits for it. Admission is bounded: past ``max_queue`` waiting solves,
new ones are refused with ``RESOURCE_EXHAUSTED`` instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import pebble
from equilibria.service.errors import RequestError

__all__ = ["SolvePool"]

T = TypeVar("T")


class SolvePool:
    """Run functions in killable worker processes from asyncio code.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    max_queue : int
        Largest number of solves admitted beyond those running.
    """

    def __init__(self, workers: int, max_queue: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["equilibria.service.worker"])
        self._pool = pebble.ProcessPool(max_workers=workers, context=context)
        self._capacity = workers + max_queue
        self._in_flight = 0
        self.workers = workers
        self.restarts = 0

    @property
    def in_flight(self) -> int:
        """Solves admitted and not yet finished (running or waiting)."""
        return self._in_flight

    async def run(self, function: Callable[..., T], *args: Any, timeout: float | None) -> T:
        """Run ``function(*args)`` in a worker, killing it past ``timeout`` seconds or on cancellation.

        Raises
        ------
        RequestError
            ``RESOURCE_EXHAUSTED`` when the queue is full, ``DEADLINE_EXCEEDED`` past the
            timeout, ``INTERNAL`` when the worker process died.
        asyncio.CancelledError
            When the awaiting task is cancelled (the worker is killed first).
        """
        if self._in_flight >= self._capacity:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"server busy: {self._in_flight} solves in flight (limit {self._capacity}); retry later",
            )
        self._in_flight += 1
        future = self._pool.submit(function, timeout, *args)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if future.running():
                self.restarts += 1
            future.cancel()  # pebble kills the worker process running it
            raise
        except concurrent.futures.TimeoutError as exc:
            self.restarts += 1
            raise RequestError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"solve exceeded its time budget of {timeout:.3g} s; the worker was stopped",
            ) from exc
        except pebble.ProcessExpired as exc:
            self.restarts += 1
            raise RequestError(
                grpc.StatusCode.INTERNAL,
                f"the worker process died during the solve (exit code {exc.exitcode}); "
                "the server replaced it and keeps serving",
            ) from exc
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        """Stop accepting work and terminate the workers."""
        self._pool.stop()
        self._pool.join(timeout=10)
