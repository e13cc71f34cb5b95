"""A server answers at once and says when it is ready (issue 20, item 6).

Health is NOT_SERVING while the solver kernels are compiled or loaded (in a thread of the
server process, and in the workers' forkserver), SERVING after; calls are answered meanwhile;
the operator is told what is compiled and when the server is ready. The compile step is made to
wait on an event here, so nothing depends on how fast the machine compiles.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import subprocess
import sys
import threading

import numpy as np
import pytest
from equilibria.client import AsyncClient, Client, RetryConfig
from equilibria.service import server as server_module
from equilibria.service.limits import Limits
from equilibria.service.server import start_server
from equilibria.solver.kernels import ModuleWarmed

from ..conftest import running_server

pytestmark = pytest.mark.e2e

PENNIES = ([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])


def test_health_is_not_serving_until_the_kernels_are_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def held_compile(progress=None) -> float:
        progress(ModuleWarmed("equilibria.solver.regret", 2.5, 3, 0, 1, 2))
        progress(ModuleWarmed("equilibria.solver.traces.metrics", 0.1, 0, 2, 2, 2))  # from the cache
        assert release.wait(60)
        return 2.6

    monkeypatch.setattr(server_module, "compile_all", held_compile)
    lines: list[str] = []

    async def scenario() -> tuple[str, str, list[float], str]:
        running = await start_server("127.0.0.1:0", Limits(workers=1), announce=lines.append)
        try:
            async with AsyncClient.connect(running.address, timeout=120) as client:
                before = await client.health()
                solved = await client.solve(PENNIES)  # answered while warming
                during = await client.health()
                release.set()
                await running.ready()
                after = await client.health()
                service = await client.health(server_module.SERVICE_NAME)
        finally:
            release.set()
            await running.stop(0)
        assert (before, during) == ("NOT_SERVING", "NOT_SERVING")
        return after, service, solved.equilibria[0].strategies[0].tolist(), lines[-1]

    after, service, strategy, last = asyncio.run(scenario())
    assert (after, service) == ("SERVING", "SERVING")
    np.testing.assert_allclose(strategy, [0.5, 0.5], atol=1e-9)
    assert lines[0].startswith("warming the solver kernels; health is NOT_SERVING")
    assert lines[1] == (
        "compiled 3 kernel signature(s) of equilibria.solver.regret in 2.5 s (1 of 2 modules)"
    )
    assert not any("traces.metrics" in line for line in lines)  # loaded from the cache: not announced
    assert last.startswith("ready: health SERVING (kernels warm after ")


def test_a_stopped_server_never_turns_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(server_module, "compile_all", lambda progress=None: float(release.wait(60)))

    async def scenario() -> str:
        running = await start_server("127.0.0.1:0", Limits(workers=1))
        await running.stop(0)
        release.set()
        await asyncio.sleep(0.2)
        return await running.health.Check(_request(), _Context())

    status = asyncio.run(scenario())
    assert status.status != status.SERVING


def test_the_cli_says_it_is_warming_then_ready() -> None:
    with running_server("--workers", "1") as server:
        out = server.output
    listening = out.index("listening on")
    warming = out.index("warming the solver kernels")
    ready = out.index("ready: health SERVING")
    assert listening < warming < ready


def _request():
    from grpc_health.v1 import health_pb2

    return health_pb2.HealthCheckRequest(service="")


class _Context:
    """The one method of a servicer context HealthServicer.Check uses on a known service."""

    def set_code(self, code) -> None:  # pragma: no cover - only for an unknown service
        raise AssertionError(code)


#: Stands in for the workers' preload: waits for the test's go-ahead file, then loads the solver.
_HELD_PRELOAD = """
import os, pathlib, time
go, deadline = pathlib.Path(os.environ["EQUILIBRIA_TEST_GO"]), time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
import equilibria.service.worker_preload
"""

#: ``equilibria serve`` whose forkserver preloads the held module instead of the solver.
_SERVE_WITH_HELD_PRELOAD = """
import sys
from equilibria.service import forkserver
forkserver.PRELOAD[:] = ["held_preload"]
from equilibria.service.cli import main
sys.exit(main(["serve", "--address", "127.0.0.1:0", "--workers", "1", "--grace", "1"]))
"""


def test_health_answers_while_the_workers_forkserver_still_loads(tmp_path: pathlib.Path) -> None:
    """A first start compiles the kernels in the forkserver's preload (a minute on a loaded
    machine): meanwhile health answers NOT_SERVING at once, never a deadline exceeded, and
    turns SERVING after. The preload here waits for a file the test writes."""
    (tmp_path / "held_preload.py").write_text(_HELD_PRELOAD)
    go = tmp_path / "go"
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "EQUILIBRIA_TEST_GO": str(go)}
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE_WITH_HELD_PRELOAD],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "listening on" in line:
                break
        (target,) = re.findall(r"listening on (\S+)", "".join(lines))
        with Client.connect(target, timeout=3, retry=RetryConfig(max_attempts=1)) as client:
            statuses = [client.health() for _ in range(3)]  # each within 3 s, the preload held
            go.write_text("go")
            for line in process.stdout:
                lines.append(line)
                if "ready: health SERVING" in line:
                    break
            ready = client.health()
    finally:
        go.write_text("go")
        process.terminate()
        process.communicate(timeout=60)  # drains and closes its output
    assert statuses == ["NOT_SERVING"] * 3, "".join(lines)
    assert ready == "SERVING", "".join(lines)
