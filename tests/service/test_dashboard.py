"""Live monitoring (#9): MonitorTrace streams on the loopback dashboard of a real server.

A server runs with ``--dashboard 127.0.0.1:0``; a MonitorTrace stream sends chunks one
at a time and, after each answer, ``/api/monitors`` must show the stream with its rows
so far and its criteria. The dashboard refuses non-loopback addresses.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from equilibria.client._convert import score_options, trace_chunks, trace_header
from equilibria.service.dashboard import MonitorRegistry, parse_loopback_address
from equilibria.solver import NormalFormGame
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import trace_pb2

from ..conftest import ServerProcess, running_server
from ..dynamics import fictitious_play

pytestmark = pytest.mark.e2e

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
_DASHBOARD = re.compile(r"dashboard on (http://\S+)")


def dashboard_url(server: ServerProcess) -> str:
    """The dashboard address the server printed (before its gRPC address)."""
    match = _DASHBOARD.search(server.output)
    assert match is not None, server.output
    return match.group(1)


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL
        return response.status, response.headers["Content-Type"], response.read()


@contextlib.contextmanager
def monitor_stream(target: str) -> Iterator[tuple[queue.Queue, Iterator[trace_pb2.MonitorTraceResponse]]]:
    """A MonitorTrace call fed message by message: put requests in the queue, None ends it."""
    outbox: queue.Queue = queue.Queue()

    def requests() -> Iterator[trace_pb2.MonitorTraceRequest]:
        while (message := outbox.get()) is not None:
            yield message

    with grpc.insecure_channel(target) as channel:
        responses = service_grpc.EquilibriaServiceStub(channel).MonitorTrace(requests(), timeout=120)
        try:
            yield outbox, responses
        finally:
            outbox.put(None)


def rps_chunks(rows: int, per_chunk: int) -> list[trace_pb2.TraceChunk]:
    xs, ys = fictitious_play(NormalFormGame.from_bimatrix(RPS, -RPS), rows, start=(0, 0))
    return list(trace_chunks(policies=(xs, ys), chunk_bytes=per_chunk * 48 + 4096))


def start_monitor() -> trace_pb2.MonitorTraceRequest:
    header = trace_header((RPS, -RPS), score_options(criteria=["last_iterate", "set_convergence"]))
    return trace_pb2.MonitorTraceRequest(header=header.header)


@pytest.fixture(scope="module")
def dashboard_server() -> Iterator[ServerProcess]:
    with running_server("--workers", "1", "--dashboard", "127.0.0.1:0") as server:
        yield server


def new_monitors(url: str, before: set[int]) -> list[dict]:
    return [m for m in json.loads(get(url + "/api/monitors")[2])["monitors"] if m["id"] not in before]


def test_dashboard_shows_a_running_stream_with_growing_z(dashboard_server: ServerProcess) -> None:
    url = dashboard_url(dashboard_server)
    assert url.startswith("http://127.0.0.1:")  # bound to loopback
    status, content_type, page = get(url + "/")
    assert status == 200 and content_type.startswith("text/html")
    assert b"/api/monitors" in page and not re.search(rb"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    before = {m["id"] for m in json.loads(get(url + "/api/monitors")[2])["monitors"]}
    chunks = rps_chunks(1200, 300)
    assert len(chunks) == 4
    seen = []
    with monitor_stream(dashboard_server.target) as (outbox, responses):
        outbox.put(start_monitor())
        for k, chunk in enumerate(chunks):
            outbox.put(trace_pb2.MonitorTraceRequest(chunk=chunk))
            answer = next(responses)
            assert answer.score.z_seen == 300 * (k + 1)
            (monitor,) = new_monitors(url, before)
            assert monitor["status"] == "running" and monitor["chunks"] == k + 1
            assert monitor["game"].startswith("NormalFormGame 3x3")
            score = monitor["score"]
            seen.append(score["z_seen"])
            names = [c["name"] for c in score["criteria"]]
            assert names == ["last_iterate", "set_convergence"]
            for c in score["criteria"]:
                assert c["z"] == score["z_seen"] and len(c["checkpoints_z"]) == len(c["values"]) > 0
                assert c["checkpoints_z"][-1] <= c["z"] and c["verdict"] in (
                    "converged",
                    "not_converged",
                    "inconclusive",
                )
        outbox.put(None)
        assert list(responses) == []
    assert seen == [300, 600, 900, 1200]
    (finished,) = new_monitors(url, before)
    assert finished["status"] == "ok" and finished["score"]["z_seen"] == 1200
    with pytest.raises(urllib.error.HTTPError) as info:
        get(url + "/nothing-here")
    assert info.value.code == 404
    info.value.close()


def test_a_failed_stream_is_listed_with_its_status(dashboard_server: ServerProcess) -> None:
    url = dashboard_url(dashboard_server)
    before = {m["id"] for m in json.loads(get(url + "/api/monitors")[2])["monitors"]}
    bad = trace_pb2.TraceChunk()
    bad.CopyFrom(rps_chunks(40, 40)[0])
    bad.policies[0].data = bad.policies[0].data[:-8] + np.float64(7.0).tobytes()
    with monitor_stream(dashboard_server.target) as (outbox, responses):
        outbox.put(start_monitor())
        outbox.put(trace_pb2.MonitorTraceRequest(chunk=bad))
        with pytest.raises(grpc.RpcError) as info:
            next(responses)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    (monitor,) = new_monitors(url, before)
    assert monitor["status"] == "INVALID_ARGUMENT" and monitor["score"] is None


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", "192.168.1.10:8050", "example.org:80"])
def test_the_dashboard_binds_loopback_only(address: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        parse_loopback_address(address)


def test_serve_refuses_a_non_loopback_dashboard() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "equilibria.service.cli",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--dashboard",
            "0.0.0.0:0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "loopback addresses only" in out.stderr


def test_loopback_addresses_are_accepted() -> None:
    assert parse_loopback_address("127.0.0.1:8050") == ("127.0.0.1", 8050)
    assert parse_loopback_address("[::1]:0") == ("::1", 0)
    assert parse_loopback_address("localhost:0") == ("127.0.0.1", 0)


def test_the_registry_is_bounded_and_drops_finished_streams_first() -> None:
    registry = MonitorRegistry(max_streams=3, keep_finished=600.0)
    a, b, c = (registry.open("peer", name) for name in "abc")
    registry.close(b, "ok")
    d = registry.open("peer", "d")  # over the bound: the finished b goes, running a stays
    assert [m["id"] for m in registry.snapshot()] == [a, c, d]
    registry.open("peer", "e")  # none finished: the oldest running one goes
    assert [m["game"] for m in registry.snapshot()] == ["c", "d", "e"]
    expired = MonitorRegistry(max_streams=3, keep_finished=0.0)
    expired.close(expired.open("peer", "x"), "ok")
    assert expired.snapshot() == []
