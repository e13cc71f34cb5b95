"""End-to-end observability: Prometheus metrics, request ids and JSON logs of real servers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request

import grpc
import numpy as np
import pytest
from equilibria.client import Client, InvalidArgumentError, SolveTimeoutError
from equilibria.service.limits import Limits
from equilibria.service.server import start_server
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
SLOW_GAME = np.random.default_rng(7).standard_normal((2, 160, 160))  # a correlated LP of minutes


def _scrape(address: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture()
def observed(observed_server: ServerProcess) -> ServerProcess:
    return observed_server


def test_the_metrics_endpoint_binds_loopback_on_a_free_port(observed: ServerProcess) -> None:
    host, port = observed.metrics_address.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert f"metrics on {observed.metrics_address}" in observed.output


def test_requests_are_counted_by_method_and_code_with_latency(observed: ServerProcess) -> None:
    before = _scrape(observed.metrics_address)
    with Client.connect(observed.target, timeout=60) as client:
        client.solve(STAG_HUNT)
        client.solve(STAG_HUNT)
        with pytest.raises(InvalidArgumentError):
            client.solve(STAG_HUNT, method="no_such_method")
        assert client.health() == "SERVING"
    after = _scrape(observed.metrics_address)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("equilibria_requests_total", method="SolveGame", code="OK") == 2
    assert delta("equilibria_requests_total", method="SolveGame", code="INVALID_ARGUMENT") == 1
    assert delta("equilibria_requests_total", method="grpc.health.v1.Health/Check", code="OK") == 1
    assert delta("equilibria_request_duration_seconds_count", method="SolveGame") == 3
    assert delta("equilibria_request_duration_seconds_sum", method="SolveGame") > 0
    # The unknown method is found out by the solver: a miss too (failures are not cached).
    assert delta("equilibria_cache_hits_total") == 1 and delta("equilibria_cache_misses_total") == 2
    assert after[("equilibria_solves_in_flight", ())] == 0


def test_in_flight_solves_and_worker_restarts_are_reported(observed: ServerProcess) -> None:
    restarts = _scrape(observed.metrics_address)[("equilibria_worker_restarts_total", ())]
    errors: list[BaseException] = []

    def slow_solve() -> None:
        with Client.connect(observed.target, timeout=60) as client:
            try:
                client.solve(SLOW_GAME, concepts=["correlated"], time_budget=1.5)
            except SolveTimeoutError as exc:
                errors.append(exc)

    thread = threading.Thread(target=slow_solve)
    thread.start()
    seen = 0.0
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline and seen == 0:
        seen = _scrape(observed.metrics_address)[("equilibria_solves_in_flight", ())]
        time.sleep(0.05)
    thread.join(timeout=60)
    after = _scrape(observed.metrics_address)
    assert seen == 1
    assert len(errors) == 1 and after[("equilibria_solves_in_flight", ())] == 0
    assert after[("equilibria_worker_restarts_total", ())] == restarts + 1


def test_the_request_id_is_echoed_and_tags_the_json_logs(observed: ServerProcess) -> None:
    with grpc.insecure_channel(observed.target) as channel:
        stub = service_grpc.EquilibriaServiceStub(channel)
        _, call = stub.GetServerInfo.with_call(
            service_pb2.GetServerInfoRequest(), metadata=(("x-request-id", "trace-4711"),), timeout=30
        )
        assert dict(call.initial_metadata())["x-request-id"] == "trace-4711"
        _, call = stub.GetServerInfo.with_call(service_pb2.GetServerInfoRequest(), timeout=30)
        generated = dict(call.initial_metadata())["x-request-id"]
        assert len(generated) == 32 and generated != "trace-4711"
        with pytest.raises(grpc.RpcError) as failed:
            stub.SolveGame(
                service_pb2.SolveGameRequest(), metadata=(("x-request-id", "bad-4712"),), timeout=30
            )
        assert dict(failed.value.initial_metadata())["x-request-id"] == "bad-4712"
    deadline = time.monotonic() + 10
    while True:  # the access record is written as the call ends, possibly after the client saw it
        records = [json.loads(line) for line in observed.output.splitlines() if line.startswith("{")]
        done = {r["request_id"] for r in records if r["logger"] == "equilibria.access"}
        if {"trace-4711", "bad-4712"} <= done or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert records and all(
        {"time", "level", "logger", "message", "request_id", "method"} <= set(r) for r in records
    )
    (ok,) = [r for r in records if r["request_id"] == "trace-4711" and r["logger"] == "equilibria.access"]
    assert ok["method"] == "GetServerInfo" and ok["code"] == "OK" and ok["duration_ms"] >= 0
    bad = [r for r in records if r["request_id"] == "bad-4712"]
    assert {r["logger"] for r in bad} == {
        "equilibria.service",
        "equilibria.access",
    }  # the servicer's record too
    assert all(r["method"] == "SolveGame" for r in bad)
    assert [r["code"] for r in bad if r["logger"] == "equilibria.access"] == ["INVALID_ARGUMENT"]


def test_two_servers_in_one_process_keep_separate_metrics() -> None:
    async def scenario() -> tuple[float, float]:
        first = await start_server("127.0.0.1:0", Limits(workers=1), metrics_address="127.0.0.1:0")
        second = await start_server("127.0.0.1:0", Limits(workers=1), metrics_address="127.0.0.1:0")
        try:
            loop = asyncio.get_running_loop()

            def check() -> None:
                with Client.connect(f"127.0.0.1:{first.port}", timeout=30) as client:
                    client.health()
                    client.health()

            await loop.run_in_executor(None, check)
            assert first.metrics_endpoint is not None and second.metrics_endpoint is not None
            key = ("equilibria_requests_total", (("code", "OK"), ("method", "grpc.health.v1.Health/Check")))
            counts = await asyncio.gather(
                loop.run_in_executor(None, _scrape, first.metrics_endpoint.address),
                loop.run_in_executor(None, _scrape, second.metrics_endpoint.address),
            )
            return counts[0].get(key, 0.0), counts[1].get(key, 0.0)
        finally:
            await asyncio.gather(first.stop(grace=1.0), second.stop(grace=1.0))

    assert asyncio.run(scenario()) == (2.0, 0.0)
