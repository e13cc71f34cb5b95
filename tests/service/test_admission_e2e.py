"""Admission and kills against a real server (issue 19, items 2 and 3).

A solve past its budget has its worker killed before the caller hears of it (SIGKILL,
no SIGTERM grace that a worker inside HiGHS would ignore); cheap solves are answered
while expensive ones hold the other worker; an expensive solve that would wait longer
than its deadline is refused at once with "server busy ... retry after" and a
``RetryInfo``, and nothing is lost. Timings are measured in ``bench/load.py``; here only
what must hold on any machine.
"""

from __future__ import annotations

import asyncio
import pathlib
import threading

import numpy as np
import pytest
from equilibria.client import AsyncClient, Client, EquilibriaError, SolveTimeoutError

from ..conftest import ServerProcess, running_server
from .test_faults_e2e import assert_answers_chicken, busy_worker, worker_pids

pytestmark = pytest.mark.e2e

# In HiGHS for seconds: the correlated equilibrium of a 60 x 60 game.
SLOW = [np.random.default_rng(60 + k).standard_normal((2, 60, 60)) for k in range(8)]
SMALL = [np.random.default_rng(1000 + k).standard_normal((2, 3, 3)) for k in range(12)]


def _gone(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_a_solve_past_its_budget_has_its_worker_killed_before_the_answer() -> None:
    with running_server("--workers", "1") as srv, Client.connect(srv.target, timeout=60) as client:
        assert_answers_chicken(client)
        victim: list[int] = []
        finder = threading.Thread(target=lambda: victim.append(busy_worker(srv)))
        finder.start()
        with pytest.raises(SolveTimeoutError) as info:
            client.solve(SLOW[0], concepts=["correlated"], time_budget=1.5)
        # Checked the moment the answer arrives: the worker is already dead, not asked to stop.
        finder.join(timeout=30)
        assert victim and _gone(victim[0]), f"worker {victim} still runs after its budget"
        assert "time budget of 1.5 s" in info.value.message
        assert victim[0] not in worker_pids(srv)
        assert_answers_chicken(client)


def _outcome(exc: BaseException | None) -> str:
    return "OK" if exc is None else getattr(exc, "code", type(exc).__name__)


def test_cheap_solves_pass_expensive_ones_and_the_excess_is_refused_at_once(
    server_two_workers: ServerProcess,
) -> None:
    async def main() -> tuple[list[str], list[str], list[EquilibriaError]]:
        async with AsyncClient.connect(server_two_workers.target, timeout=60) as client:
            await client.solve(SMALL[0], concepts=["nash"])  # cheap work has arrived: a worker is kept
            refused: list[EquilibriaError] = []

            async def slow(k: int) -> str:
                try:
                    await client.solve(SLOW[k], concepts=["correlated"], time_budget=2.0, timeout=5.0)
                except EquilibriaError as exc:
                    if exc.code == "RESOURCE_EXHAUSTED":
                        refused.append(exc)
                    return exc.code
                return "OK"

            async def small(k: int) -> str:
                await asyncio.sleep(0.2)  # after the slow ones: they hold what they may
                try:
                    result = await client.solve(SMALL[k], concepts=["nash", "correlated"], timeout=30)
                except EquilibriaError as exc:
                    return exc.code
                assert all(eq.nash_conv <= 1e-9 * np.ptp(SMALL[k]) for eq in result.equilibria)
                return "OK"

            slow_codes = asyncio.gather(*(slow(k) for k in range(6)))
            small_codes = asyncio.gather(*(small(k) for k in range(1, 12)))
            return list(await slow_codes), list(await small_codes), refused

    slow_codes, small_codes, refused = asyncio.run(main())
    assert small_codes == ["OK"] * 11
    assert len(slow_codes) == 6 and set(slow_codes) <= {"OK", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"}
    # One worker for expensive solves (the other is kept), 2 s each, 5 s deadlines: at most
    # three can start in time, so at least three are refused at the door.
    assert len(refused) >= 3, slow_codes
    for error in refused:
        assert "server busy" in error.message and "retry after" in error.message, error.message
        assert error.retry_after is not None and error.retry_after >= 1.0
    assert server_two_workers.process.poll() is None


@pytest.fixture(scope="module")
def server_two_workers():
    with running_server("--workers", "2") as srv:
        yield srv
