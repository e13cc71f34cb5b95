"""The solve cache: its LRU and single-flight rules in-process, then end to end on a real server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import urllib.request

import grpc
import numpy as np
import pytest
from equilibria.client import Client, SolveTimeoutError, encode_stochastic_game
from equilibria.client._convert import solve_request
from equilibria.service.admission import CostModel
from equilibria.service.cache import SolveCache, cut_short_by_the_clock, solve_key
from equilibria.service.errors import RequestError
from equilibria.service.limits import Limits
from equilibria.service.options import SolveOptions
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import ServerProcess

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
CHICKEN = ([[6, 2], [7, 0]], [[6, 7], [2, 0]])
REQUEST_DEFAULTS = {
    "concepts": ("nash",),
    "method": "auto",
    "tolerance": 0.0,
    "exact": False,
    "max_equilibria": 0,
    "time_budget": None,
}
OPTIONS = SolveOptions(("nash",), "auto", 1e-9, False, 0, time_budget=None)


# -- keys and the cacheability rule --------------------------------------------------------------


def test_the_key_covers_game_options_and_solver_version_but_not_the_budget() -> None:
    key = solve_key("game-a", OPTIONS, "1.0")
    assert key == solve_key("game-a", dataclasses.replace(OPTIONS, time_budget=5.0), "1.0")
    changed = [
        solve_key("game-b", OPTIONS, "1.0"),
        solve_key("game-a", OPTIONS, "1.1"),
        *(
            solve_key("game-a", dataclasses.replace(OPTIONS, **change), "1.0")
            for change in (
                {"concepts": ("nash", "pareto_nash")},
                {"method": "lemke_howson"},
                {"tol": 1e-6},
                {"exact": True},
                {"max_equilibria": 1},
                {"welfare": ("egalitarian",)},
                {"disagreement": (0.0, 0.0)},
                {"selection": ("risk_dominance",)},
                {"stage_selection": ("egalitarian",)},
                {"priors": 4},
                {"seed": 1},
            )
        ),
    ]
    assert len({key, *changed}) == len(changed) + 1


@pytest.mark.parametrize(
    ("reason", "warnings", "cut"),
    [
        ("vertex enumeration", (), False),
        ("...; stopped by the time limit (0.3 s) after 1 of 13 paths; the set is partial", (), True),
        ("homotopy", ("the homotopy found no certified equilibrium within the budget",), True),
        ("gambit", ("enumpoly stopped after 2 s without finishing",), True),
        ("gambit", ("gnm skipped: time_limit spent",), True),
        (
            "backward induction",
            ("the stage-game equilibrium sets were partial in up to 3 of 8 stage games",),
            True,
        ),
        ("support enumeration", ("an even number of equilibria (2) was found",), False),
        (  # n-player auto that finished every run: its caps are not cuts
            "auto: 27 support profiles <= 3,500, so enumpoly (given up to 10 s); then gnm for what "
            "enumpoly's floating point may miss (each start capped at 1 s)",
            (),
            False,
        ),
    ],
)
def test_answers_cut_short_by_the_clock_are_recognised(
    reason: str, warnings: tuple[str, ...], cut: bool
) -> None:
    result = type("Result", (), {"method_reason": reason, "warnings": warnings})()
    assert cut_short_by_the_clock(result) is cut


# -- LRU bounds ---------------------------------------------------------------------------------


def test_lru_evicts_the_least_recently_used_by_entries_and_by_bytes() -> None:
    cache: SolveCache[str] = SolveCache(max_entries=2, max_bytes=100)
    cache.put("a", "A", 10)
    cache.put("b", "B", 10)
    assert cache.get("a") == "A"  # a is now more recent than b
    cache.put("c", "C", 10)
    assert "b" not in cache and "a" in cache and "c" in cache and cache.evictions == 1
    cache.put("d", "D", 85)  # 10 + 10 + 85 > 100 bytes: a (least recent) goes
    assert list(cache._entries) == ["c", "d"] and cache.bytes == 95
    assert not cache.put("e", "E", 101) and "e" not in cache  # larger than the whole cache
    disabled: SolveCache[str] = SolveCache(max_entries=0, max_bytes=100)
    assert not disabled.enabled and not disabled.put("a", "A", 1) and len(disabled) == 0
    # lookup() is get() counted: a hit, a miss; a disabled cache counts neither.
    assert (cache.lookup("c"), cache.lookup("a"), cache.hits, cache.misses) == ("C", None, 1, 1)
    assert list(cache._entries) == ["d", "c"]  # c was looked up last: now the most recent
    assert disabled.lookup("a") is None and (disabled.hits, disabled.misses) == (0, 0)
    with pytest.raises(ValueError, match=">= 0"):
        SolveCache(max_entries=-1, max_bytes=1)


# -- single-flight --------------------------------------------------------------------------------


def test_concurrent_identical_requests_share_one_solve() -> None:
    async def scenario() -> tuple[list[tuple[str, bool]], int]:
        cache: SolveCache[str] = SolveCache(8, 1000)
        calls = 0

        async def compute() -> tuple[str, int, bool]:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            return "answer", 6, True

        results = await asyncio.gather(*(cache.get_or_compute("k", compute) for _ in range(4)))
        return list(results), calls

    results, calls = asyncio.run(scenario())
    assert calls == 1
    assert sorted(results) == [("answer", False)] + [("answer", True)] * 3


def test_a_cancelled_waiter_does_not_cancel_the_others_and_the_last_one_out_stops_the_solve() -> None:
    async def scenario() -> tuple[str, bool, bool, bool]:
        cache: SolveCache[str] = SolveCache(8, 1000)
        started = asyncio.Event()
        stopped = asyncio.Event()
        release = asyncio.Event()  # the solve ends only when the test says so: no race with a timer

        async def compute() -> tuple[str, int, bool]:
            started.set()
            try:
                await release.wait()
            except asyncio.CancelledError:
                stopped.set()
                raise
            return "answer", 6, True

        leader = asyncio.ensure_future(cache.get_or_compute("k", compute))
        await started.wait()
        follower = asyncio.ensure_future(cache.get_or_compute("k", compute))
        await asyncio.sleep(0)  # the follower joins the flight
        leader.cancel()  # the caller that started the solve goes away
        await asyncio.sleep(0)
        assert leader.cancelled() and not stopped.is_set()  # the solve goes on for the follower
        release.set()
        value, from_cache = await follower
        # Both callers of a second key leave: the solve itself is cancelled.
        release.clear()
        started.clear()
        lonely = [asyncio.ensure_future(cache.get_or_compute("j", compute)) for _ in range(2)]
        await started.wait()
        for task in lonely:
            task.cancel()
        await asyncio.gather(*lonely, return_exceptions=True)
        await asyncio.sleep(0)
        return value, from_cache, leader.cancelled(), stopped.is_set()

    value, from_cache, leader_cancelled, solve_stopped = asyncio.run(scenario())
    assert (value, from_cache, leader_cancelled) == ("answer", True, True)
    assert solve_stopped


def test_waiters_solve_again_after_a_shared_timeout_or_an_uncacheable_answer() -> None:
    async def scenario() -> tuple[list[object], int]:
        cache: SolveCache[str] = SolveCache(8, 1000)
        calls = 0

        async def compute() -> tuple[str, int, bool]:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            if calls == 1:
                raise RequestError(grpc.StatusCode.DEADLINE_EXCEEDED, "budget of the first caller")
            return f"partial {calls}", 6, False  # cut short: never shared, never stored

        results = await asyncio.gather(
            *(cache.get_or_compute("k", compute) for _ in range(2)), return_exceptions=True
        )
        return results, calls

    results, calls = asyncio.run(scenario())
    assert isinstance(results[0], RequestError) and results[0].code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert results[1] == ("partial 2", False)
    assert calls == 2


# -- the servicer's use of the cache ----------------------------------------------------------------


class _InlinePool:
    """A SolvePool stand-in that runs the worker function in this process."""

    workers = 1
    memory_bytes = 0
    costs = CostModel()

    async def run(
        self, function: object, *args: object, timeout: float | None, **admission: object
    ) -> object:
        return function(*args)  # type: ignore[operator]


class _Context:
    def time_remaining(self) -> None:
        return None


def _servicer_solves(
    limits: Limits, calls: int, monkeypatch: pytest.MonkeyPatch, request: object = None
) -> tuple[list, int, object]:
    """``calls`` identical solves through ``EquilibriaServicer._solve``: the answers, the parses, the servicer.

    ``request`` defaults to chicken with the default options.
    """
    from equilibria.service import convert
    from equilibria.service.servicer import EquilibriaServicer

    parses = 0
    parse = convert.cached_solve_response

    def counting_parse(answer: bytes) -> object:
        nonlocal parses
        parses += 1
        return parse(answer)

    monkeypatch.setattr(convert, "cached_solve_response", counting_parse)
    servicer = EquilibriaServicer(_InlinePool(), limits)  # type: ignore[arg-type]
    if request is None:
        request = solve_request(CHICKEN, **REQUEST_DEFAULTS)

    async def run() -> list:
        return [await servicer._solve(request, _Context()) for _ in range(calls)]  # type: ignore[arg-type]

    return asyncio.run(run()), parses, servicer


def test_a_miss_returns_the_built_answer_and_a_hit_parses_the_bytes_stored_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (miss, hit), parses, servicer = _servicer_solves(Limits(workers=1), 2, monkeypatch)
    assert (miss.from_cache, hit.from_cache, parses) == (False, True, 1)
    assert not miss.response.from_cache and hit.response.from_cache
    stored = miss.response.SerializeToString()
    assert len(servicer.cache) == 1 and servicer.cache.bytes == len(stored)  # type: ignore[attr-defined]
    hit.response.from_cache = False
    assert hit.response.SerializeToString() == stored
    assert len(miss.response.solution_set.equilibria) == 3


def test_without_a_cache_every_solve_returns_its_built_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    answers, parses, servicer = _servicer_solves(Limits(workers=1, cache_entries=0), 2, monkeypatch)
    assert [a.from_cache for a in answers] == [False, False] and parses == 0
    assert len(servicer.cache) == 0 and servicer.cache.bytes == 0  # type: ignore[attr-defined]


class _WorkClock:
    """A ``time`` stand-in whose ``monotonic()`` advances ``tick`` seconds per read.

    The homotopy reads the clock once per path and once per path-following step, so a
    deadline of ``T`` seconds is passed after ``T / tick`` reads: a count of work, the same
    on every machine.
    """

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        return self.reads * self.tick


def test_a_clock_truncated_answer_is_neither_stored_nor_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    from equilibria.solver.concepts import continuation
    from equilibria.solver.stochastic.homotopy import stationary

    clock = _WorkClock(tick=0.01)
    monkeypatch.setattr(stationary, "time", clock)
    monkeypatch.setattr(continuation, "time", clock)
    rng = np.random.default_rng(3)
    rewards = rng.standard_normal((3, 2, 3, 3))
    transitions = rng.random((3, 3, 3, 3))
    transitions /= transitions.sum(axis=-1, keepdims=True)
    game = encode_stochastic_game(rewards, transitions, discount=0.9)
    request = solve_request(game, **{**REQUEST_DEFAULTS, "method": "homotopy", "time_budget": 1.0})
    (first, second), parses, servicer = _servicer_solves(Limits(workers=1), 2, monkeypatch, request)
    for answer in (first, second):
        assert not answer.from_cache and not answer.response.from_cache
        reason = answer.response.markov_solution_set.method_reason
        assert "stopped by the time limit (0.8 s)" in reason, reason
    cache = servicer.cache  # type: ignore[attr-defined]
    assert (len(cache), cache.bytes, cache.hits, cache.misses, parses) == (0, 0, 0, 2, 0)
    # Each solve got 0.8 of the 1 s budget: 80 reads of the clock, far fewer than the 13
    # paths of dozens of steps each need; it stopped there and said so.
    assert clock.reads > 2 * 80


# -- end to end -------------------------------------------------------------------------------------


def _metrics(server: ServerProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"http://{server.metrics_address}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("equilibria_cache")
    }


@pytest.fixture()
def cache_server(observed_server: ServerProcess) -> ServerProcess:
    """The shared server with metrics and a cache of 3 entries."""
    return observed_server


def _raw_solve(server: ServerProcess, game: object, **options: object) -> tuple[bytes, bool, str]:
    """(solution bytes, from_cache, x-equilibria-cache trailer) of one SolveGame call."""
    with grpc.insecure_channel(server.target) as channel:
        response, call = service_grpc.EquilibriaServiceStub(channel).SolveGame.with_call(
            solve_request(game, **{**REQUEST_DEFAULTS, **options}), timeout=60
        )
    trailer = dict(call.trailing_metadata())["x-equilibria-cache"]
    answer = response.WhichOneof("result")
    return getattr(response, answer).SerializeToString(), response.from_cache, trailer


@pytest.mark.e2e
def test_the_second_identical_solve_is_a_hit_with_an_identical_answer(cache_server: ServerProcess) -> None:
    before = _metrics(cache_server)
    first = _raw_solve(cache_server, CHICKEN, method="vertex_enumeration")
    second = _raw_solve(cache_server, CHICKEN, method="vertex_enumeration")
    assert first[1:] == (False, "miss") and second[1:] == (True, "hit")
    assert first[0] == second[0]  # byte for byte, timings included: one solve answered both
    assert _raw_solve(cache_server, CHICKEN, method="vertex_enumeration", time_budget=30.0)[2] == "hit"
    assert _raw_solve(cache_server, CHICKEN, method="vertex_enumeration", exact=True)[2] == "miss"
    assert _raw_solve(cache_server, CHICKEN, method="vertex_enumeration", tolerance=1e-7)[2] == "miss"
    assert _raw_solve(cache_server, STAG_HUNT, method="vertex_enumeration")[2] == "miss"
    after = _metrics(cache_server)
    assert after["equilibria_cache_hits_total"] - before["equilibria_cache_hits_total"] == 2
    assert after["equilibria_cache_misses_total"] - before["equilibria_cache_misses_total"] == 4
    # Four answers stored in a cache of three entries: the least recently used one went.
    assert after["equilibria_cache_entries"] == 3 and after["equilibria_cache_evictions_total"] >= 1
    with Client.connect(cache_server.target, timeout=30) as client:
        limits = client.server_info().limits
    assert limits.cache_entries == 3 and limits.cache_bytes > 0


@pytest.mark.e2e
def test_a_three_player_solve_that_finished_every_run_is_cached(cache_server: ServerProcess) -> None:
    game = np.random.default_rng(5).standard_normal((3, 2, 2, 2))  # generic: every run ends in ms
    first = _raw_solve(cache_server, game)
    second = _raw_solve(cache_server, game)
    assert first[1:] == (False, "miss") and second[1:] == (True, "hit")
    assert first[0] == second[0]


@pytest.mark.e2e
def test_the_lru_bound_evicts_and_stochastic_games_are_cached(cache_server: ServerProcess) -> None:
    rewards = np.array([[[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]]])  # matching pennies
    transitions = np.ones((1, 2, 2, 1))
    before = _metrics(cache_server)
    with Client.connect(cache_server.target, timeout=60) as client:
        first, second = (
            client.solve_stochastic(
                rewards, transitions, discount=0.5, method="shapley", concepts=["zero_sum_value"]
            )
            for _ in range(2)
        )
    after = _metrics(cache_server)
    assert after["equilibria_cache_hits_total"] - before["equilibria_cache_hits_total"] == 1
    assert after["equilibria_cache_misses_total"] - before["equilibria_cache_misses_total"] == 1
    assert first.game_id == second.game_id and first.solve_seconds == second.solve_seconds  # one solve
    assert first.zero_sum is not None and second.zero_sum is not None
    np.testing.assert_array_equal(first.zero_sum.values, second.zero_sum.values)
    games = [np.random.default_rng(seed).integers(-3, 4, (2, 2, 2)).astype(float) for seed in range(4)]
    outcomes = [_raw_solve(cache_server, g, method="vertex_enumeration")[2] for g in games]
    assert outcomes == ["miss"] * 4
    assert _raw_solve(cache_server, games[0], method="vertex_enumeration")[2] == "miss"  # evicted
    assert _raw_solve(cache_server, games[3], method="vertex_enumeration")[2] == "hit"


@pytest.mark.e2e
def test_concurrent_identical_solves_run_once(cache_server: ServerProcess) -> None:
    game = np.random.default_rng(11).standard_normal((2, 30, 30))  # a correlated LP: about a second
    before = _metrics(cache_server)
    with concurrent.futures.ThreadPoolExecutor(3) as executor:
        outcomes = list(
            executor.map(lambda _: _raw_solve(cache_server, game, concepts=("correlated",)), range(3))
        )
    after = _metrics(cache_server)
    assert sorted(o[2] for o in outcomes) == ["hit", "hit", "miss"]
    assert len({o[0] for o in outcomes}) == 1
    assert after["equilibria_cache_misses_total"] - before["equilibria_cache_misses_total"] == 1


@pytest.mark.e2e
def test_timed_out_and_clock_truncated_solves_are_not_cached(cache_server: ServerProcess) -> None:
    # Neither solve can finish within its budget, by construction (never a race with the
    # clock's speed): the correlated LP of a 160 x 160 game takes minutes (a 40 x 40 one
    # already takes seconds) against a 0.5 s budget; the homotopy of an 8-state 4 x 4
    # game with discount 0.999 follows 1,006 paths (the logit path, tracing from the
    # uniform prior, the 4 corner priors and 1,000 random ones) of about 185 steps each,
    # each step a linear solve in 80 unknowns: some 186,000 steps, over 100 times what
    # 1.6 s allows at 1 ms a step. Its anytime answer comes at 0.8 of the 2 s budget, so
    # stopping the path (one step and a polish: tens of ms) has 0.4 s before the pool's kill.
    slow = np.random.default_rng(7).standard_normal((2, 160, 160))
    rng = np.random.default_rng(3)
    rewards = rng.standard_normal((8, 2, 4, 4))
    transitions = rng.random((8, 4, 4, 8))
    transitions /= transitions.sum(axis=-1, keepdims=True)
    paths = 2 + 4 + 1000
    before = _metrics(cache_server)
    with Client.connect(cache_server.target, timeout=60) as client:
        for _ in range(2):
            with pytest.raises(SolveTimeoutError):
                client.solve(slow, concepts=["correlated"], time_budget=0.5)
        # The anytime homotopy answers within its budget, but says the clock stopped it.
        partial = [
            client.solve_stochastic(
                rewards, transitions, discount=0.999, method="homotopy", priors=1000, time_budget=2.0
            )
            for _ in range(2)
        ]
    after = _metrics(cache_server)
    for p in partial:
        assert "stopped by the time limit (1.6 s) after " in p.method_reason, p.method_reason
        assert f" of {paths} paths" in p.method_reason, p.method_reason
    assert after["equilibria_cache_misses_total"] - before["equilibria_cache_misses_total"] == 4
    assert after["equilibria_cache_hits_total"] == before["equilibria_cache_hits_total"]
