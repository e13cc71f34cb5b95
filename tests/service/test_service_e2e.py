"""End-to-end: the client against a real server process on a loopback port."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import grpc
import numpy as np
import pytest
from equilibria.client import (
    AsyncClient,
    Client,
    InvalidArgumentError,
    InvalidGameError,
    ResourceExhaustedError,
    RetryConfig,
    ServiceUnavailableError,
    SolveTimeoutError,
)
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2
from equilibria.v1.codec import encode_tensor
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import ServerProcess, running_server

pytestmark = pytest.mark.e2e

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
CHICKEN = ([[6, 2], [7, 0]], [[6, 7], [2, 0]])
# A solve that takes minutes: the welfare-optimal correlated equilibrium of a 160 x 160
# game (an LP with 50,880 incentive constraints over 25,600 joint actions).
SLOW_GAME = np.random.default_rng(7).standard_normal((2, 160, 160))
SLOW = {"concepts": ["correlated"]}


def _fractions(*values: str) -> tuple[Fraction, ...]:
    return tuple(Fraction(v) for v in values)


def test_stag_hunt_every_equilibrium_certified_and_exact(client: Client) -> None:
    result = client.solve(STAG_HUNT, exact=True)
    assert result.complete and result.exact and result.method == "vertex_enumeration"
    assert all(eq.nash_conv <= 1e-12 for eq in result.equilibria)
    found = {eq.exact_strategies for eq in result.equilibria}
    assert found == {
        (_fractions("1", "0"), _fractions("1", "0")),
        (_fractions("3/4", "1/4"), _fractions("3/4", "1/4")),
        (_fractions("0", "1"), _fractions("0", "1")),
    }
    payoffs = sorted(tuple(eq.exact_payoffs) for eq in result.equilibria)
    assert payoffs == [_fractions("3", "3"), _fractions("3", "3"), _fractions("4", "4")]
    assert result.game_id and len(result.game_id) == 32


def test_chicken_float_answers_match_closed_form(client: Client) -> None:
    result = client.solve(CHICKEN)
    mixed = [eq for eq in result.equilibria if not eq.is_pure]
    assert len(result) == 3 and len(mixed) == 1
    np.testing.assert_allclose(mixed[0].strategies[0], [2 / 3, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(mixed[0].payoffs, [14 / 3, 14 / 3], atol=1e-12)
    assert mixed[0].supports == ((0, 1), (0, 1))


def test_continuum_is_one_component(client: Client) -> None:
    result = client.solve(([[1, 1], [0, 0]], [[1, 1], [0, 0]]))
    assert result.complete and len(result) == 2
    (component,) = result.components
    np.testing.assert_allclose(component.vertices[0], [[1, 0]])
    np.testing.assert_allclose(sorted(component.vertices[1].tolist()), [[0, 1], [1, 0]])
    assert set(component.equilibrium_indices) == {0, 1}
    assert any("continuum" in w for w in result.warnings)


def test_three_player_equilibria_and_partial_flag(client: Client) -> None:
    # Three-player coordination: everyone gets 1 when all pick the same action.
    payoffs = np.zeros((3, 2, 2, 2))
    payoffs[:, 0, 0, 0] = 1
    payoffs[:, 1, 1, 1] = 1
    result = client.solve(payoffs)
    assert result.method.startswith("gambit") and not result.complete
    assert all(eq.nash_conv <= 1e-9 for eq in result.equilibria)
    pure = sorted(tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria if eq.is_pure)
    assert pure == [(0, 0, 0), (1, 1, 1)]
    assert any(not eq.is_pure for eq in result.equilibria)  # e.g. everyone mixing (1/2, 1/2)
    pure_only = client.solve(payoffs, concepts=["pure_nash"])
    assert pure_only.complete and pure_only.concepts == ("pure_nash",) and len(pure_only) == 2


def test_lemke_howson_through_the_service(client: Client) -> None:
    result = client.solve(CHICKEN, method="lemke_howson")
    assert result.method == "lemke_howson" and not result.complete and len(result) == 1
    assert result.equilibria[0].nash_conv <= 1e-9


def test_auto_falls_back_to_lemke_howson_for_large_games(client: Client) -> None:
    payoffs = np.random.default_rng(3).standard_normal((2, 30, 30))
    result = client.solve(payoffs)
    assert result.method == "lemke_howson" and not result.complete
    assert (
        "enumeration estimated at" in result.method_reason
        and "budget; one equilibrium by Lemke-Howson" in result.method_reason
    )
    assert result.equilibria[0].nash_conv <= 1e-8


def test_async_client_matches_sync_client(server: ServerProcess, client: Client) -> None:
    async def run() -> list[tuple[float, ...]]:
        async with AsyncClient.connect(server.target) as aclient:
            results = await asyncio.gather(*(aclient.solve(CHICKEN) for _ in range(4)))
            info = await aclient.server_info()
            assert info.methods and await aclient.health() == "SERVING"
        return [tuple(np.concatenate(eq.strategies)) for r in results for eq in r.equilibria]

    sync = [tuple(np.concatenate(eq.strategies)) for eq in client.solve(CHICKEN).equilibria]
    assert asyncio.run(run()) == sync * 4


def test_server_info_health_and_reflection(server: ServerProcess, client: Client) -> None:
    info = client.server_info()
    assert {m.name for m in info.methods} >= {"vertex_enumeration", "lemke_howson", "pure_enumeration"}
    assert info.limits.workers == 2 and info.limits.max_payoff_entries > 0 and info.version
    assert client.health() == "SERVING"
    assert client.health("equilibria.v1.EquilibriaService") == "SERVING"
    with grpc.insecure_channel(server.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        response = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=10)))
        names = {s.name for s in response.list_services_response.service}
    assert "equilibria.v1.EquilibriaService" in names and "grpc.health.v1.Health" in names


BAD_GAMES = [
    pytest.param(np.array([[[1.0, np.nan]], [[0.0, 1.0]]]), "normal_form_game.payoffs", id="nan"),
    pytest.param(np.array([[[1.0, np.inf]], [[0.0, 1.0]]]), "normal_form_game.payoffs", id="inf"),
    pytest.param(np.zeros((2, 0, 3)), "normal_form_game.payoffs", id="empty-actions"),
    pytest.param(np.zeros((3, 2, 2)), "normal_form_game.payoffs", id="players-mismatch"),
    pytest.param(SimpleNamespace(payoffs=np.zeros((1, 2))), "normal_form_game.payoffs", id="one-player"),
]


@pytest.mark.parametrize(("payoffs", "field"), BAD_GAMES)
def test_bad_games_are_invalid_argument_naming_the_field(client: Client, payoffs: Any, field: str) -> None:
    with pytest.raises(InvalidGameError) as info:
        client.solve(payoffs)
    assert info.value.code == "INVALID_ARGUMENT" and field in info.value.fields


def _raw_request(server: ServerProcess, request: service_pb2.SolveGameRequest) -> grpc.RpcError:
    with grpc.insecure_channel(server.target) as channel:
        stub = service_grpc.EquilibriaServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.SolveGame(request, timeout=30)
    return info.value


def test_ragged_tensor_data_is_rejected(server: ServerProcess) -> None:
    tensor = game_pb2.Tensor(shape=[2, 2, 3], data=np.zeros(11).tobytes())  # 11 values for 12 slots
    err = _raw_request(
        server, service_pb2.SolveGameRequest(normal_form_game=game_pb2.NormalFormGame(payoffs=tensor))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "normal_form_game.payoffs.data" in str(
        err.trailing_metadata()
    )


def test_absurd_sizes_are_refused_without_allocating(client: Client, server: ServerProcess) -> None:
    tensor = game_pb2.Tensor(shape=[2, 100_000, 100_000], data=b"")
    err = _raw_request(
        server, service_pb2.SolveGameRequest(normal_form_game=game_pb2.NormalFormGame(payoffs=tensor))
    )
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    many_players = game_pb2.Tensor(shape=[40] + [1] * 40, data=np.zeros(40).tobytes())
    err = _raw_request(
        server, service_pb2.SolveGameRequest(normal_form_game=game_pb2.NormalFormGame(payoffs=many_players))
    )
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(ResourceExhaustedError) as info:  # 70 actions: brute force over C(70, 40) bases
        client.solve(np.zeros((2, 40, 30)), method="vertex_enumeration")
    assert "method" in info.value.fields
    assert client.health() == "SERVING"


def test_missing_game_and_bad_options(client: Client, server: ServerProcess) -> None:
    err = _raw_request(server, service_pb2.SolveGameRequest())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    cases = [
        ({"method": "simplex_magic"}, "method"),
        ({"tolerance": 0.5}, "tolerance"),
        ({"concepts": ["zero_sum_value"]}, "concepts"),
        ({"time_budget": -1.0}, "time_budget"),
        ({"exact": True, "game": np.zeros((2, 21, 20))}, "exact"),
        ({"method": "vertex_enumeration", "game": np.zeros((3, 2, 2, 2))}, "method"),
    ]
    for options, field in cases:
        game = options.pop("game", CHICKEN)
        with pytest.raises(InvalidArgumentError) as info:
            client.solve(game, **options)
        assert field in info.value.fields, (options, info.value.fields, info.value.message)
    with pytest.raises(ValueError, match="unknown concept"):
        client.solve(CHICKEN, concepts=["bogus"])


def test_unspecified_concept_on_the_wire_names_the_index(server: ServerProcess) -> None:
    request = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(np.zeros((2, 2, 2)))), concepts=[1, 0]
    )
    err = _raw_request(server, request)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "concepts[1]" in str(err.trailing_metadata())


def test_time_budget_kills_the_worker_and_the_server_keeps_serving() -> None:
    with running_server("--workers", "1") as srv, Client.connect(srv.target, timeout=120) as client:
        client.solve(CHICKEN)  # the worker is up
        started = time.monotonic()
        with pytest.raises(SolveTimeoutError):
            client.solve(SLOW_GAME, time_budget=0.5, **SLOW)
        assert time.monotonic() - started < 15
        # One worker: this answer can only come if the runaway solve was killed.
        started = time.monotonic()
        assert len(client.solve(CHICKEN)) == 3
        assert time.monotonic() - started < 15


def test_client_deadline_and_cancellation_kill_the_worker() -> None:
    with running_server("--workers", "1") as srv, Client.connect(srv.target, timeout=120) as client:
        client.solve(CHICKEN)
        with pytest.raises(SolveTimeoutError):
            client.solve(SLOW_GAME, timeout=0.5, **SLOW)

        async def cancel_mid_solve() -> None:
            async with AsyncClient.connect(srv.target) as aclient:
                task = asyncio.ensure_future(aclient.solve(SLOW_GAME, **SLOW))
                await asyncio.sleep(0.5)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        asyncio.run(cancel_mid_solve())
        started = time.monotonic()
        assert len(client.solve(CHICKEN, timeout=20)) == 3
        assert time.monotonic() - started < 15


def _solves_in_flight(server: ServerProcess) -> float:
    """The server's ``equilibria_solves_in_flight`` gauge, read from its /metrics."""
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    families = text_string_to_metric_families(text)
    return next(s.value for f in families for s in f.samples if s.name == "equilibria_solves_in_flight")


def test_sigterm_lets_in_flight_calls_finish() -> None:
    srv = ServerProcess("--workers", "1", "--grace", "30", "--metrics-address", "127.0.0.1:0")
    try:
        # CE LPs of a 40 x 40 game: seconds of work, hundreds of times the 10 ms between the
        # polls that see it in flight, and well inside the 30 s grace.
        game = np.random.default_rng(1).standard_normal((2, 40, 40))

        async def in_flight() -> tuple[int, bool]:
            async with AsyncClient.connect(srv.target, timeout=60) as aclient:
                assert await aclient.health() == "SERVING"  # the channel is connected
                assert await asyncio.to_thread(_solves_in_flight, srv) == 0
                task = asyncio.ensure_future(aclient.solve(game, concepts=["correlated"]))
                # SIGTERM once the server holds the solve (not after a guessed sleep, which a
                # fast machine outlives: the call would have ended before the signal).
                deadline = time.monotonic() + 60
                while await asyncio.to_thread(_solves_in_flight, srv) < 1:
                    assert time.monotonic() < deadline and not task.done()
                    await asyncio.sleep(0.01)
                srv.process.send_signal(15)
                signalled_before_the_answer = not task.done()
                result = await task
                return len(result.correlated_equilibria), signalled_before_the_answer

        assert asyncio.run(in_flight()) == (1, True)
        assert srv.terminate(timeout=60) == 0
        assert "stopped" in srv.output
    finally:
        srv.terminate()


def test_unavailable_is_retried_then_reported() -> None:
    retry = RetryConfig(max_attempts=3, initial_backoff=0.01, max_backoff=0.05)
    with Client.connect("127.0.0.1:1", timeout=2, retry=retry) as client:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            client.solve(CHICKEN)
        assert time.monotonic() - started < 10


def test_retry_reaches_a_server_that_starts_late() -> None:
    import socket
    import threading

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    servers: list[ServerProcess] = []

    def start_later() -> None:
        time.sleep(1.0)
        import subprocess
        import sys

        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "equilibria.service.cli",
                "serve",
                "--address",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(proc)  # type: ignore[arg-type]

    thread = threading.Thread(target=start_later)
    thread.start()
    try:
        retry = RetryConfig(max_attempts=12, initial_backoff=0.5, max_backoff=2.0)
        with Client.connect(f"127.0.0.1:{port}", timeout=20, retry=retry) as client:
            assert len(client.solve(CHICKEN)) == 3
    finally:
        thread.join()
        for proc in servers:
            proc.terminate()  # type: ignore[attr-defined]
            proc.wait(timeout=30)  # type: ignore[attr-defined]


def test_max_connection_age_closes_idle_connections_so_clients_rebalance() -> None:
    with running_server("--max-connection-age", "0.5", "--max-connection-age-grace", "1") as srv:
        states: list[grpc.ChannelConnectivity] = []
        with grpc.insecure_channel(srv.target) as channel:
            channel.subscribe(states.append, try_to_connect=False)
            stub = service_grpc.EquilibriaServiceStub(channel)
            stub.GetServerInfo(service_pb2.GetServerInfoRequest(), timeout=10)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and grpc.ChannelConnectivity.IDLE not in states[1:]:
                time.sleep(0.05)
            # The server sent GOAWAY: the channel left READY and went back to IDLE, and the
            # next call opens a new connection (to whichever replica the resolver picks).
            assert grpc.ChannelConnectivity.READY in states
            assert grpc.ChannelConnectivity.IDLE in states[states.index(grpc.ChannelConnectivity.READY) :]
            assert stub.GetServerInfo(service_pb2.GetServerInfoRequest(), timeout=10).version
