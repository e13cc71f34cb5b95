"""A server answers at once and says when it is ready (issue 20, item 6).

Health is NOT_SERVING while the solver kernels are compiled or loaded (in a thread of the
server process, and in the workers' forkserver), SERVING after; calls are answered meanwhile;
the operator is told what is compiled and when the server is ready. The compile step is made to
wait on an event here, so nothing depends on how fast the machine compiles.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from equilibria.client import AsyncClient
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
