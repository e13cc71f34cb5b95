"""The process pool survives a worker that dies before it takes its task (issue 20, found there).

pebble gives a pool up ("All workers expired": every task it holds fails and it takes no more)
when a worker dies while no task is acknowledged as running, e.g. killed while it still
unpickles its task. The pool then answers that call with INTERNAL and the reason, replaces
its workers, and the next call is answered. The task here is made slow to unpickle, so the
worker is killed at a known point, not in a race with the clock. Also: a worker forked from
the forkserver reports that the solver was preloaded into it.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import subprocess
import sys
import time

import grpc
import pytest
from equilibria.service import worker
from equilibria.service.errors import RequestError
from equilibria.service.pool import SolvePool

pytestmark = pytest.mark.e2e


class SlowToUnpickle:
    """An argument whose unpickling (in the worker, before it acknowledges the task) sleeps."""

    def __reduce__(self):
        return (time.sleep, (60,))


def _descendants(pid: int) -> set[int]:
    found = set()
    for child in pathlib.Path(f"/proc/{pid}/task").glob("*/children"):
        for text in child.read_text().split():
            found |= {int(text)} | _descendants(int(text))
    return found


def _sleeping_worker(before: set[int], timeout: float = 60.0) -> int:
    """The new worker process (a descendant of this process that was not there before)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = _descendants(os.getpid()) - before  # forked by the forkserver, a child of this process
        if new:
            return min(new)
        time.sleep(0.05)
    raise AssertionError("no new worker process")


def test_a_worker_killed_before_it_takes_its_task_breaks_nothing() -> None:
    async def scenario() -> tuple[RequestError, bool, int]:
        pool = SolvePool(workers=1, max_queue=4)
        try:
            assert await pool.run(worker.warm_up, timeout=None)  # preloaded by the forkserver
            before = _descendants(os.getpid())
            pool._pool.stop()  # retire the warm worker: the next task goes to a fresh one
            pool._pool.join(timeout=30)
            pool._pool = pool._new_pool(1, 0)
            call = asyncio.ensure_future(pool.run(time.monotonic, SlowToUnpickle(), timeout=None))
            victim = await asyncio.to_thread(_sleeping_worker, before)
            await asyncio.sleep(1.0)  # it has received the task and sleeps in its unpickling
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(RequestError) as info:
                await asyncio.wait_for(call, 60)
            answered = await asyncio.wait_for(pool.run(worker.warm_up, timeout=None), 120)
            return info.value, answered, pool.restarts
        finally:
            pool.close()

    error, answered, restarts = asyncio.run(scenario())
    assert error.code == grpc.StatusCode.INTERNAL
    assert "died before it started the solve" in error.message
    assert answered is True
    assert restarts >= 1


CLOSED_WHILE_STARTING = """
import asyncio

from equilibria.service.pool import SolvePool


async def main():
    pool = SolvePool(workers=1, max_queue=4)
    starting = asyncio.ensure_future(pool.start())
    await asyncio.sleep(0)  # start() has submitted the first task; its worker is still starting
    pool.close()
    try:
        print("started", await asyncio.wait_for(starting, 30))
    except asyncio.CancelledError:
        print("cancelled")


if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_pool_closed_while_its_workers_start_lets_the_process_exit(tmp_path: pathlib.Path) -> None:
    """close() during start() cancels the first task; nothing is left waiting for it (a thread
    blocked on it kept the interpreter from exiting: a test run that hung after its last test)."""
    script = tmp_path / "closed_while_starting.py"
    script.write_text(CLOSED_WHILE_STARTING)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cancelled"], done.stdout  # it was still starting when closed
