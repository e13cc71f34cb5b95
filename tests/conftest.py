"""Shared fixtures: real servers on loopback ports, started as separate processes.

Every server a test starts binds 127.0.0.1 with port 0 (a free port chosen by the OS)
and is stopped with SIGTERM by the fixture that started it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence

import pytest
from equilibria.client import Client

_LISTENING = re.compile(r"listening on (\S+)")
_METRICS = re.compile(r"metrics on (\S+)")
_READY = re.compile(r"ready: health SERVING")


class ServerProcess:
    """An ``equilibria serve`` process on a loopback port, with its output captured."""

    def __init__(
        self, *args: str, global_args: Sequence[str] = (), env: Mapping[str, str] | None = None
    ) -> None:
        cmd = [
            sys.executable,
            "-m",
            "equilibria.service.cli",
            *global_args,
            "serve",
            "--address",
            "127.0.0.1:0",
            *args,
        ]
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self.target = ""
        self.metrics_address = ""  # host:port of /metrics when started with --metrics-address
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            metrics = _METRICS.search(line)
            if metrics:
                self.metrics_address = metrics.group(1)
            match = _LISTENING.search(line)
            if match:
                self.target = match.group(1)
                break
        if not self.target:
            self.process.wait(timeout=10)
            self.process.stdout.close()
            raise RuntimeError("server did not start:\n" + "".join(self.lines))
        # Health turns SERVING once the kernels are warm: tests start from a ready server.
        for line in self.process.stdout:
            self.lines.append(line)
            if _READY.search(line):
                break
        else:
            raise RuntimeError("server stopped before it was ready:\n" + "".join(self.lines))
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for exit, return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        finally:
            self._reader.join(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextlib.contextmanager
def running_server(
    *args: str, global_args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A server process for the duration of a ``with`` block."""
    server = ServerProcess(*args, global_args=global_args, env=env)
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.terminate()


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One shared server with two workers."""
    with running_server("--workers", "2") as srv:
        yield srv


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[Client]:
    """A blocking client of the shared server."""
    with Client.connect(server.target, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def observed_server() -> Iterator[ServerProcess]:
    """A server with metrics, JSON logs at INFO and a small solve cache (3 entries)."""
    with running_server(
        "--workers",
        "2",
        "--cache-entries",
        "3",
        "--metrics-address",
        "127.0.0.1:0",
        "--log-format",
        "json",
        global_args=("--log-level", "INFO"),
    ) as srv:
        yield srv
