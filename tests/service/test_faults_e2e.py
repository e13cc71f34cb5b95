"""Faults against a real server: dead workers, memory caps, streams at SIGTERM.

Complements ``test_service_e2e.py`` (time budget, client deadline, cancellation and
SIGTERM with a unary call in flight): here a worker is killed from outside, runs out of
memory under ``--worker-memory``, a deadline or cancellation is checked to really end
the worker process, and a ``ScoreTrace`` stream is in flight at SIGTERM. After every
fault the same server answers the next request correctly.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import signal
import threading
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from equilibria.client import AsyncClient, Client, EquilibriaError, ResourceExhaustedError, SolveTimeoutError
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, trace_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e

CHICKEN = ([[6, 2], [7, 0]], [[6, 7], [2, 0]])
#: Chicken's three equilibria: the two pure ones and the mixed (2/3, 1/3) pair.
CHICKEN_ROW_STRATEGIES = {(0.0, 1.0), (1.0, 0.0), (2 / 3, 1 / 3)}
# Minutes of work: the welfare-optimal correlated equilibrium of a 160 x 160 game
# (an LP with 50,880 incentive constraints), as in test_service_e2e.py.
SLOW_GAME = np.random.default_rng(7).standard_normal((2, 160, 160))
# A real request that needs far more than 800 MiB: the correlated equilibrium of a
# 170 x 170 game builds 9.8 million incentive-constraint entries (row and column
# indices, values, their CSR copy): about 600 MiB above an idle worker before the LP starts.
MEMORY_HOG = np.random.default_rng(0).standard_normal((2, 170, 170))
SMALL_CAP_MIB = 800


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def worker_pids(server: ServerProcess) -> list[int]:
    """Worker processes of a server: the children of its forkserver (a child of the server)."""
    pids = []
    for child in _children(server.process.pid):
        cmdline = pathlib.Path(f"/proc/{child}/cmdline").read_bytes()
        if b"forkserver" in cmdline:
            pids += _children(child)
    return pids


def _status(pid: int, key: str) -> int:
    """A ``kB`` (or count) field of ``/proc/<pid>/status``."""
    match = re.search(rf"^{key}:\s+(\d+)", pathlib.Path(f"/proc/{pid}/status").read_text(), re.M)
    assert match, key
    return int(match.group(1))


def address_space_cap(pid: int, timeout: float = 15.0) -> int | str:
    """The ``RLIMIT_AS`` of worker ``pid`` once its initializer ran, else its /proc line.

    A worker just forked (pebble replaces or starts workers at any time) is still
    importing before its initializer sets the cap: wait for it.
    """
    deadline = time.monotonic() + timeout
    while True:
        text = pathlib.Path(f"/proc/{pid}/limits").read_text()
        line = re.search(r"^Max address space.*$", text, re.M)
        assert line
        fields = line.group().split()
        if fields[3] == fields[4] and fields[3].isdigit():
            return int(fields[3])
        if time.monotonic() > deadline:
            return line.group()
        time.sleep(0.05)


def _cpu_ticks(pid: int) -> int:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def busy_worker(server: ServerProcess, timeout: float = 30.0) -> int:
    """The pid of a worker that is computing (its CPU time grows)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = {pid: _cpu_ticks(pid) for pid in worker_pids(server)}
        time.sleep(0.3)
        for pid, ticks in before.items():
            if os.path.exists(f"/proc/{pid}") and _cpu_ticks(pid) - ticks >= 10:  # >= 0.1 s of 0.3 s
                return pid
    raise AssertionError("no worker started computing")


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    """Whether process ``pid`` is gone (reaped) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):  # a zombie is dead, waiting for its parent to reap it
            return True
        time.sleep(0.05)
    return False


def assert_answers_chicken(client: Client) -> None:
    """The server answers a fresh request correctly: chicken's three equilibria, certified."""
    started = time.monotonic()
    result = client.solve(CHICKEN, timeout=30)
    assert time.monotonic() - started < 20
    assert {tuple(np.round(eq.strategies[0], 9)) for eq in result.equilibria} == {
        tuple(np.round(s, 9)) for s in CHICKEN_ROW_STRATEGIES
    }
    assert all(eq.nash_conv <= 1e-9 for eq in result.equilibria)


@pytest.fixture(scope="module")
def one_worker() -> Iterator[ServerProcess]:
    """A server with one worker (so a solve in flight occupies it)."""
    with running_server("--workers", "1") as srv:
        yield srv


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_a_killed_worker_fails_only_its_call_with_the_reason(one_worker: ServerProcess, sig: int) -> None:
    with Client.connect(one_worker.target, timeout=120) as client:
        assert_answers_chicken(client)
        outcome: list[BaseException] = []

        def solve_slow() -> None:
            try:
                client.solve(SLOW_GAME, concepts=["correlated"], timeout=120)
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                outcome.append(exc)

        caller = threading.Thread(target=solve_slow)
        caller.start()
        victim = busy_worker(one_worker)
        os.kill(victim, sig)
        caller.join(timeout=30)
        assert not caller.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], EquilibriaError), outcome
        error = outcome[0]
        assert error.code == "INTERNAL"
        assert f"killed by {signal.Signals(sig).name}" in error.message, error.message
        assert "keeps serving" in error.message
        assert wait_gone(victim)
        assert_answers_chicken(client)
        assert victim not in worker_pids(one_worker)
        assert client.health() == "SERVING"


def test_deadline_and_cancellation_end_the_worker_process(one_worker: ServerProcess) -> None:
    """test_service_e2e checks the server answers after these; here the worker is really gone."""
    with Client.connect(one_worker.target, timeout=120) as client:
        assert_answers_chicken(client)
        outcome: list[BaseException] = []

        def solve_with_deadline() -> None:
            try:
                client.solve(SLOW_GAME, concepts=["correlated"], timeout=3)
            except BaseException as exc:  # noqa: BLE001 - the test inspects it
                outcome.append(exc)

        caller = threading.Thread(target=solve_with_deadline)
        caller.start()
        victim = busy_worker(one_worker)
        caller.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], SolveTimeoutError), outcome
        assert wait_gone(victim), f"worker {victim} still runs after the deadline"

        async def cancel_mid_solve() -> int:
            async with AsyncClient.connect(one_worker.target) as aclient:
                task = asyncio.ensure_future(aclient.solve(SLOW_GAME, concepts=["correlated"]))
                pid = await asyncio.to_thread(busy_worker, one_worker)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return pid

        victim = asyncio.run(cancel_mid_solve())
        assert wait_gone(victim), f"worker {victim} still runs after the caller cancelled"
        assert_answers_chicken(client)


def test_worker_memory_cap_fails_only_the_hungry_call() -> None:
    with (
        running_server("--workers", "2", "--worker-memory", str(SMALL_CAP_MIB)) as srv,
        Client.connect(srv.target, timeout=120) as client,
    ):
        assert_answers_chicken(client)
        workers = worker_pids(srv)
        assert workers
        for pid in workers:
            assert address_space_cap(pid) == SMALL_CAP_MIB << 20
            idle_mib = _status(pid, "VmSize") >> 10
            assert idle_mib < SMALL_CAP_MIB - 150, f"an idle worker maps {idle_mib} MiB"
        started = time.monotonic()
        with pytest.raises(ResourceExhaustedError) as info:
            client.solve(MEMORY_HOG, concepts=["correlated"], timeout=60)
        assert time.monotonic() - started < 30
        assert f"the solve ran out of memory (worker cap {SMALL_CAP_MIB} MiB)" in info.value.message
        # The worker lived through it; the server answers the next requests correctly.
        assert set(worker_pids(srv)) == set(workers)
        assert_answers_chicken(client)
        result = client.solve(np.random.default_rng(1).standard_normal((2, 8, 8)), concepts=["correlated"])
        assert result.correlated_equilibria[0].max_violation <= 1e-6
        with grpc.insecure_channel(srv.target) as channel:
            info_response = service_grpc.EquilibriaServiceStub(channel).GetServerInfo(
                service_pb2.GetServerInfoRequest(), timeout=10
            )
        assert info_response.limits.worker_memory_bytes == SMALL_CAP_MIB << 20


def test_default_worker_cap_is_in_force(server: ServerProcess, client: Client) -> None:
    """Every other e2e test runs under this default cap, which is what shows it is enough."""
    assert_answers_chicken(client)
    workers = worker_pids(server)
    assert workers
    for pid in workers:
        assert address_space_cap(pid) == 4 << 30
        assert _status(pid, "VmSize") >> 10 < 1024  # idle: about 470 MiB
    info = client.server_info()
    assert info.limits.worker_memory_bytes == 4 << 30
    assert info.limits.max_trace_bytes == 16 << 30


def _trace_requests(stop_sent: threading.Event, chunks: int) -> Iterator[trace_pb2.ScoreTraceRequest]:
    yield trace_pb2.ScoreTraceRequest(
        header=trace_pb2.TraceHeader(normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(CHICKEN)))
    )
    rng = np.random.default_rng(3)
    for k in range(chunks):
        x = rng.dirichlet(np.ones(2), size=200)
        y = rng.dirichlet(np.ones(2), size=200)
        yield trace_pb2.ScoreTraceRequest(
            chunk=trace_pb2.TraceChunk(policies=[encode_tensor(x), encode_tensor(y)])
        )
        if k == 0:
            stop_sent.wait(timeout=30)  # the rest of the stream arrives after SIGTERM
        time.sleep(0.2)


def test_sigterm_lets_a_trace_stream_in_flight_finish() -> None:
    srv = ServerProcess("--workers", "1", "--grace", "30")
    try:
        stop_sent = threading.Event()
        chunks = 8
        with grpc.insecure_channel(srv.target) as channel:
            stub = service_grpc.EquilibriaServiceStub(channel)
            future = stub.ScoreTrace.future(_trace_requests(stop_sent, chunks), timeout=60)
            time.sleep(1.0)  # the header is solved and the first chunk scored
            srv.process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            stop_sent.set()
            response = future.result(timeout=60)
            assert time.monotonic() - started < 30  # within the grace period
        assert response.score.n_policies == 200 * chunks
        assert len(response.solution_set.equilibria) == 3
        assert srv.terminate(timeout=60) == 0
        assert "stopped" in srv.output
    finally:
        srv.terminate()
