"""Batch solving end to end: SolveGames on real server processes, solve_many, the CLI,
round-robin over two replicas, and the process backend of the batch API.

Answers are compared with the in-process solver (``equilibria.solver.solve``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from equilibria.client import AsyncClient, BatchItem, Client, InvalidGameError, SolveTimeoutError
from equilibria.client._convert import solve_request
from equilibria.service import batch
from equilibria.solver import NormalFormGame, StochasticGame, solve
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from google.rpc import code_pb2, error_details_pb2

from ..conftest import ServerProcess, running_server
from ..games import assert_same_solution

pytestmark = pytest.mark.e2e

SLOW_GAME = np.random.default_rng(7).standard_normal((2, 160, 160))  # correlated: minutes of LP


def seeded_games(count: int, seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((2, 3, 3) if k % 2 == 0 else (2, 4, 4)) for k in range(count)]


def stochastic_game() -> StochasticGame:
    rng = np.random.default_rng(4)
    transitions = rng.random((2, 2, 2, 2))
    transitions /= transitions.sum(axis=-1, keepdims=True)
    return StochasticGame(rng.standard_normal((2, 2, 2, 2)), transitions, discount=0.9)


def _item(request: service_pb2.SolveGameRequest) -> service_pb2.SolveGamesRequest:
    return service_pb2.SolveGamesRequest(request=request)


def _nash(game: object, **options: object) -> service_pb2.SolveGameRequest:
    base = {"concepts": ("nash",), "method": "auto", "tolerance": 0.0, "exact": False}
    return solve_request(game, **{**base, "max_equilibria": 0, "time_budget": None, **options})  # type: ignore[arg-type]


@pytest.fixture()
def stub(server: ServerProcess) -> Iterator[service_grpc.EquilibriaServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield service_grpc.EquilibriaServiceStub(channel)


def test_solve_many_in_order_with_the_in_process_answers(client: Client) -> None:
    games = seeded_games(40)
    seen: list[tuple[int, int | None]] = []
    items = list(client.solve_many(games, progress=lambda done, total: seen.append((done, total))))
    assert [item.index for item in items] == list(range(40))
    assert seen == [(k, 40) for k in range(1, 41)]
    for game, item in zip(games, items, strict=True):
        assert isinstance(item, BatchItem) and item.ok
        assert_same_solution(item.result, solve(NormalFormGame(game)))


def test_bad_items_are_named_and_the_others_succeed(stub: service_grpc.EquilibriaServiceStub) -> None:
    games = seeded_games(4)
    requests = [
        _item(_nash(games[0])),
        _item(_nash(np.zeros((2, 0, 3)))),  # no actions
        _item(_nash(games[1])),
        _item(_nash(games[2], tolerance=0.5)),  # tolerance out of range
        _item(_nash(games[3])),
    ]
    responses = list(stub.SolveGames(iter(requests), timeout=60))
    assert [r.index for r in responses] == [0, 1, 2, 3, 4]
    assert [r.status.code for r in responses] == [
        code_pb2.OK,
        code_pb2.INVALID_ARGUMENT,
        code_pb2.OK,
        code_pb2.INVALID_ARGUMENT,
        code_pb2.OK,
    ]
    fields = []
    for k in (1, 3):
        assert not responses[k].HasField("response")
        bad = error_details_pb2.BadRequest()
        assert responses[k].status.details[0].Unpack(bad)
        fields.append(bad.field_violations[0].field)
    assert fields == ["requests[1].normal_form_game.payoffs", "requests[3].tolerance"]
    for k, game in zip((0, 2, 4), (games[0], games[1], games[3]), strict=True):
        assert len(responses[k].response.solution_set.equilibria) == len(
            solve(NormalFormGame(game)).equilibria
        )


def test_packed_messages_are_answered_packed_in_stream_order(
    stub: service_grpc.EquilibriaServiceStub,
) -> None:
    """Items are numbered across messages, packed (``requests``) or not; a packed message's
    answers come together in ``answers``, each with its own index and status."""
    games = seeded_games(6, seed=3)
    messages = [
        service_pb2.SolveGamesRequest(
            requests=[_nash(games[0]), _nash(np.zeros((2, 0, 3))), _nash(games[1])]
        ),
        _item(_nash(games[2])),
        service_pb2.SolveGamesRequest(
            request=_nash(games[3]), requests=[_nash(games[4], tolerance=0.5), _nash(games[5])]
        ),
        service_pb2.SolveGamesRequest(),  # neither: one item without a game
        service_pb2.SolveGamesRequest(requests=[_nash(games[0])]),  # packed, of one
    ]
    responses = list(stub.SolveGames(iter(messages), timeout=60))
    assert [len(r.answers) for r in responses] == [3, 0, 3, 0, 1]
    answers = [
        *responses[0].answers,
        responses[1],
        *responses[2].answers,
        responses[3],
        *responses[4].answers,
    ]
    assert [a.index for a in answers] == list(range(9))
    assert all(not a.answers for a in answers)
    bad = {1: "requests[1].normal_form_game.payoffs", 5: "requests[5].tolerance", 7: "requests[7].game"}
    for index, answer in enumerate(answers):
        if index in bad:
            assert answer.status.code == code_pb2.INVALID_ARGUMENT and not answer.HasField("response")
            violation = error_details_pb2.BadRequest()
            assert answer.status.details[0].Unpack(violation)
            assert violation.field_violations[0].field == bad[index]
            continue
        assert answer.status.code == code_pb2.OK
    solved = {0: games[0], 2: games[1], 3: games[2], 4: games[3], 6: games[5], 8: games[0]}
    for index, game in solved.items():
        want = solve(NormalFormGame(game))
        got = answers[index].response.solution_set
        assert len(got.equilibria) == len(want.equilibria) and got.complete == want.complete


def test_a_message_holds_request_then_requests_and_an_empty_one_is_one_item() -> None:
    from equilibria.service.servicer import _message_items

    a, b, c = (_nash(game) for game in seeded_games(3, seed=8))

    def items(message: service_pb2.SolveGamesRequest) -> list[tuple[bytes, bool, bool]]:
        return [(r.SerializeToString(), packed, last) for r, packed, last in _message_items(message)]

    raw = [r.SerializeToString() for r in (a, b, c)]
    assert items(service_pb2.SolveGamesRequest(request=a)) == [(raw[0], False, True)]
    assert items(service_pb2.SolveGamesRequest(requests=[a, b])) == [
        (raw[0], True, False),
        (raw[1], True, True),
    ]
    both = service_pb2.SolveGamesRequest(request=c, requests=[a, b])
    assert items(both) == [(raw[2], True, False), (raw[0], True, False), (raw[1], True, True)]
    assert items(service_pb2.SolveGamesRequest()) == [(b"", False, True)]


def test_packed_answers_go_together_up_to_their_byte_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers of a packed message are sent together at its last item, or sooner once they
    reach PACKED_ANSWER_BYTES; an item sent alone is answered alone; the order is kept."""
    from equilibria.service import servicer

    def answer(index: int, size: int) -> service_pb2.SolveGamesResponse:
        message = service_pb2.SolveGamesResponse(index=index)
        message.status.message = "x" * size
        return message

    def item(packed: bool, last: bool) -> object:
        return servicer._BatchItem(None, None, False, packed, last)

    sizes = [10, 10, 10, 100, 10, 10, 10]
    flags = [
        (False, True),
        (True, False),
        (True, True),
        (True, False),
        (True, False),
        (True, False),
        (True, True),
    ]
    monkeypatch.setattr(servicer, "PACKED_ANSWER_BYTES", 100)
    for window in (1, 3, 7):  # however the scheduler hands the answers over

        async def answered(window: int = window) -> object:
            pairs = [(item(*f), answer(k, n)) for k, (f, n) in enumerate(zip(flags, sizes, strict=True))]
            for start in range(0, len(pairs), window):
                yield pairs[start : start + window]

        async def collect() -> list[service_pb2.SolveGamesResponse]:
            return [r async for r in servicer._packed_answers(answered())]

        responses = asyncio.run(collect())
        groups = [[a.index for a in r.answers] if r.answers else r.index for r in responses]
        assert groups == [0, [1, 2], [3], [4, 5, 6]], window


def test_slow_item_runs_out_of_budget_alone(client: Client) -> None:
    games = [*seeded_games(3), SLOW_GAME, *seeded_games(3, seed=12)]
    start = time.perf_counter()
    items = list(client.solve_many(games, concepts=["correlated"], time_budget=2.0))
    assert time.perf_counter() - start < 30
    assert isinstance(items[3].error, SolveTimeoutError) and items[3].error.code == "DEADLINE_EXCEEDED"
    assert all(item.ok for k, item in enumerate(items) if k != 3)


def test_cancelling_the_stream_stops_the_running_solves() -> None:
    with running_server("--workers", "1") as srv, grpc.insecure_channel(srv.target) as channel:
        stub = service_grpc.EquilibriaServiceStub(channel)
        slow = _item(_nash(SLOW_GAME, concepts=("correlated",)))
        call = stub.SolveGames(iter([slow, slow]), timeout=120)
        time.sleep(2.0)  # the first slow solve is running in the only worker
        call.cancel()
        with pytest.raises(grpc.RpcError) as cancelled:
            next(call)
        assert cancelled.value.code() == grpc.StatusCode.CANCELLED
        # The only worker was killed with the stream: a small game is answered at once.
        start = time.perf_counter()
        with Client.connect(srv.target, timeout=20) as client:
            assert len(client.solve(([[1, 0], [0, 1]], [[1, 0], [0, 1]]))) == 3
        assert time.perf_counter() - start < 10


def test_async_solve_many_with_a_stochastic_game(server: ServerProcess) -> None:
    games: list[object] = [*seeded_games(5), stochastic_game(), np.zeros((2, 2))]
    games[6] = [[[1.0, np.inf], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]

    async def run() -> list[BatchItem]:
        async with AsyncClient.connect(server.target, timeout=60) as client:
            return [item async for item in client.solve_many(games)]

    items = asyncio.run(run())
    assert [item.index for item in items] == list(range(7))
    for k in range(5):
        assert_same_solution(items[k].result, solve(NormalFormGame(games[k])))  # type: ignore[arg-type]
    markov = items[5].result
    assert markov is not None and len(markov.equilibria) >= 1 and hasattr(markov.equilibria[0], "policies")
    assert isinstance(items[6].error, InvalidGameError)
    assert items[6].error.fields == ("requests[6].normal_form_game.payoffs",)


def test_cli_solve_batch_writes_one_line_per_game(server: ServerProcess, tmp_path: object) -> None:
    folder = tmp_path / "games"  # type: ignore[operator]
    folder.mkdir()
    games = seeded_games(3, seed=21)
    for k, game in enumerate(games):
        (folder / f"g{k}.json").write_text(json.dumps({"payoffs": game.tolist()}))
    # Four players' payoffs over two action axes: an invalid game, sent and refused by the server.
    (folder / "bad.json").write_text(json.dumps({"payoffs": [[[1.0]], [[1.0]], [[1.0]], [[1.0]]]}))
    (folder / "broken.json").write_text("{not json")
    (folder / "notes.txt").write_text("not a game")
    out = tmp_path / "out.jsonl"  # type: ignore[operator]
    proc = subprocess.run(
        [sys.executable, "-m", "equilibria.service.cli", "solve", "--batch", str(folder)]
        + ["--target", server.target, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # two files failed
    assert "4/4" in proc.stderr and "games/s" in proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["file"] for line in lines] == ["bad.json", "broken.json", "g0.json", "g1.json", "g2.json"]
    assert [line["status"] for line in lines] == ["INVALID_ARGUMENT", "UNREADABLE", "OK", "OK", "OK"]
    assert lines[0]["fields"] == ["requests[0].normal_form_game.payoffs"]
    for line, game in zip(lines[2:], games, strict=True):
        want = solve(NormalFormGame(game))
        got = sorted(sum(eq["strategies"], []) for eq in line["solution"]["equilibria"])
        ref = sorted(np.concatenate(eq.strategies).tolist() for eq in want.equilibria)
        np.testing.assert_allclose(got, ref, atol=1e-9, rtol=0)
        assert line["solution"]["complete"] == want.complete


def test_round_robin_over_two_servers_reaches_both() -> None:
    args = ("--workers", "1", "--max-connection-age", "30")
    with concurrent.futures.ThreadPoolExecutor(2) as starter:  # start both replicas at once
        replicas = list(starter.map(lambda _: ServerProcess(*args), range(2)))
    try:
        target = "ipv4:" + ",".join(replica.target for replica in replicas)
        with Client.connect(target, timeout=30, load_balancing="round_robin") as client:
            client.health()  # one subchannel is ready
            time.sleep(0.5)  # and the other one connects
            ids = [client.server_info().instance_id for _ in range(20)]
            assert len(set(ids)) == 2 and all(ids)
            for game in seeded_games(4):
                assert_same_solution(client.solve(game), solve(NormalFormGame(game)))
        with Client.connect(target, timeout=30) as client:  # default pick_first: one replica
            assert len({client.server_info().instance_id for _ in range(20)}) == 1
    finally:
        for replica in replicas:
            replica.terminate()


@pytest.mark.ray
def test_server_dispatches_solve_games_to_ray() -> None:
    games = [*seeded_games(10, seed=31), np.zeros((2, 0, 2)), SLOW_GAME]
    with (
        running_server("--workers", "2", "--ray-address", "local") as srv,
        Client.connect(srv.target, timeout=120) as client,
    ):
        items = list(client.solve_many(games[:11]))  # the small games: one task (packed)
        # Two games too big to pack, at once: both Ray workers start now, so that the small
        # game below does not spend its 2 s budget on a cold worker's start-up.
        big = np.random.default_rng(6).standard_normal((2, 11, 11))
        assert all(item.ok for item in client.solve_many([big, big.copy() + 1.0]))
        slow = list(client.solve_many([SLOW_GAME, games[0]], concepts=["correlated"], time_budget=2.0))
    for game, item in zip(games[:10], items[:10], strict=True):
        assert_same_solution(item.result, solve(NormalFormGame(game)))
    assert isinstance(items[10].error, InvalidGameError)
    assert isinstance(slow[0].error, SolveTimeoutError) and slow[1].ok


def test_process_backend_matches_the_in_process_solver() -> None:
    games: list[object] = [*seeded_games(12, seed=41), np.zeros((2, 2, 0))]
    results = batch.solve_many(games, backend="process", num_cpus=2)
    for game, item in zip(games[:12], results[:12], strict=True):
        assert_same_solution(item.result, solve(NormalFormGame(game)))  # type: ignore[arg-type]
    assert results[12].error is not None and results[12].error.field == "games[12].payoffs"


def test_small_games_go_in_chunks_and_others_alone() -> None:
    """Consecutive small 2-player games share a task (up to CHUNK); the rest run alone, in order."""
    big = np.zeros((2, 9, 9))  # 2 * C(18, 9) bases > SMALL_GAME_BASES
    games: list[object] = [*seeded_games(batch.CHUNK + 3), big, np.zeros((2, 0, 2)), *seeded_games(2)]
    games.append(stochastic_game())
    chunks = list(batch._chunks(games))
    assert [[index for index, _ in chunk] for chunk in chunks] == [
        list(range(batch.CHUNK)),
        [batch.CHUNK, batch.CHUNK + 1, batch.CHUNK + 2],
        [batch.CHUNK + 3],
        [batch.CHUNK + 4],
        [batch.CHUNK + 5, batch.CHUNK + 6],
        [batch.CHUNK + 7],
    ]


def test_a_failed_chunk_is_solved_again_game_by_game() -> None:
    """When a chunk's task fails as a whole (here: its worker 'dies'), every game of it is run
    again on its own and gets its own answer or error; the scheduler runs in-process."""
    calls: list[str] = []

    async def runner(function: object, *args: object, timeout: float | None) -> object:
        calls.append(function.__name__)  # type: ignore[attr-defined]
        if function is batch.worker.solve_games:
            raise batch.RequestError(grpc.StatusCode.INTERNAL, "the worker process died")
        return function(*args)  # type: ignore[operator]

    games: list[object] = [*seeded_games(3, seed=5), np.array([[[np.nan]], [[0.0]]])]
    results = asyncio.run(batch._solve_all(games, [batch.DEFAULT_OPTIONS], runner, 2, 60.0))
    assert calls == ["solve_games"] + ["solve_game"] * 3  # the NaN game fails conversion, alone
    assert [r.index for r in results] == [0, 1, 2, 3]
    for game, item in zip(games[:3], results[:3], strict=True):
        assert_same_solution(item.result, solve(NormalFormGame(game)))  # type: ignore[arg-type]
    assert results[3].error is not None and results[3].error.field.startswith("games[3]")


def test_chunked_item_errors_are_the_items_own() -> None:
    """In a chunk that runs, a game the solver refuses gets its own error; the others succeed."""
    options = [batch.DEFAULT_OPTIONS] * 4
    options[2] = batch.dataclasses.replace(batch.DEFAULT_OPTIONS, concepts=("zero_sum_value",))
    games = seeded_games(4, seed=6)
    results = batch.solve_many(games, options, backend="process", num_cpus=1)
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[2].error is not None and results[2].error.field == "games[2].concepts"
    for k in (0, 1, 3):
        assert_same_solution(results[k].result, solve(NormalFormGame(games[k])))


def _metric(address: str, name: str) -> float:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return next(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def test_a_burst_of_small_games_is_packed_into_few_worker_tasks() -> None:
    games = seeded_games(64, seed=21)
    big = np.random.default_rng(5).standard_normal((2, 11, 11))  # over SMALL_GAME_BASES: alone
    assert not batch.is_small(NormalFormGame(big))
    stream = [*games[:30], big, *games[30:]]
    with (
        running_server("--workers", "2", "--metrics-address", "127.0.0.1:0") as srv,
        Client.connect(srv.target, timeout=60) as client,
    ):
        before = _metric(srv.metrics_address, "equilibria_worker_tasks_total")
        hits = _metric(srv.metrics_address, "equilibria_cache_hits_total")
        misses = _metric(srv.metrics_address, "equilibria_cache_misses_total")
        items = list(client.solve_many(stream))
        tasks = _metric(srv.metrics_address, "equilibria_worker_tasks_total") - before
        assert _metric(srv.metrics_address, "equilibria_cache_misses_total") - misses == 65  # packed or not
        # Each answer is the item's own, in order, as the in-process solver gives it.
        assert [item.index for item in items] == list(range(65))
        for game, item in zip(stream, items, strict=True):
            assert item.ok
            assert_same_solution(item.result, solve(NormalFormGame(game)))
        # 64 small games sent at once share tasks (up to batch.CHUNK); the big one has its own.
        assert tasks <= 65 // 2, f"{tasks} worker tasks for 65 games"
        # Sent again: every answer from the cache, packed or not, and no worker task.
        again = list(client.solve_many(stream))
        assert [i.index for i in again] == list(range(65)) and all(i.ok for i in again)
        assert _metric(srv.metrics_address, "equilibria_worker_tasks_total") - before == tasks
        assert _metric(srv.metrics_address, "equilibria_cache_hits_total") - hits == 65
        assert _metric(srv.metrics_address, "equilibria_cache_misses_total") - misses == 65
        for first, second in zip(items, again, strict=True):
            assert_same_solution(second.result, first.result)
