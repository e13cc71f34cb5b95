"""``equilibria health``: the container HEALTHCHECK, against real servers on loopback ports.

Exit 0 only when the server answers SERVING for the asked service; 1 for NOT_SERVING,
an unknown service, or nothing listening.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from equilibria.service.cli import build_parser
from equilibria.service.server import SERVICE_NAME
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e


def _health(*args: str) -> int:
    """Run ``equilibria health ARGS`` in this process; its exit code."""
    parsed = build_parser().parse_args(["health", *args])
    return parsed.run(parsed)


@pytest.fixture(scope="module")
def health_server() -> Iterator[ServerProcess]:
    with running_server("--workers", "1") as srv:
        yield srv


def test_serving_server_exits_zero_as_a_process(health_server: ServerProcess) -> None:
    """The real command, as the HEALTHCHECK runs it: a process whose exit code is 0."""
    done = subprocess.run(
        [sys.executable, "-m", "equilibria.service.cli", "health", "--target", health_server.target],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"{health_server.target}: SERVING" in done.stdout


def test_named_service_is_serving(health_server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    assert _health("--target", health_server.target, "--service", SERVICE_NAME, "--timeout", "10") == 0
    assert capsys.readouterr().out.strip().endswith(": SERVING")


def test_target_defaults_to_environment_variable(
    health_server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EQUILIBRIA_HEALTH_TARGET", health_server.target)
    assert _health() == 0
    assert health_server.target in capsys.readouterr().out


def test_unknown_service_exits_one(health_server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    assert _health("--target", health_server.target, "--service", "no.such.Service") == 1
    assert "NOT_FOUND" in capsys.readouterr().err


def test_stopped_server_is_unreachable_and_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    with running_server("--workers", "1", "--grace", "1") as srv:
        target = srv.target
        assert _health("--target", target) == 0
        assert srv.terminate() == 0
    capsys.readouterr()
    assert _health("--target", target, "--timeout", "5") == 1
    err = capsys.readouterr().err
    assert "UNAVAILABLE" in err or "DEADLINE_EXCEEDED" in err


def test_not_serving_exits_one(capsys: pytest.CaptureFixture[str]) -> None:
    """A real gRPC server whose standard health service says NOT_SERVING (as during a drain)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert _health("--target", f"127.0.0.1:{port}") == 1
        assert "NOT_SERVING" in capsys.readouterr().out
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert _health("--target", f"127.0.0.1:{port}") == 0
    finally:
        server.stop(grace=None)
