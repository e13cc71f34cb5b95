"""Load: many concurrent solves against a real two-worker server; nothing is lost.

200 concurrent ``AsyncClient`` calls mix small (2x2), medium (10x10 enumeration), large
(zero-sum 100x100) and 3-player solves, every larger game a different one (the server
caches answers, so repeats would not reach the workers). Every call ends in an answer or a clear error
(``RESOURCE_EXHAUSTED`` with its message when the queue is full); answered + refused ==
sent; every answer is certified (NashConv within the tolerance) and the small game's
equals its known solution set, the zero-sum value equals an independent LP's. Latency
percentiles are printed and written to ``load_latency.txt`` in the test's temporary
directory. The on-demand version sends more calls than the server admits (queue 256)::

    python -m pytest -m ondemand tests/test_load_e2e.py -s
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import pathlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.optimize
from equilibria.client import AsyncClient, EquilibriaError

from ..conftest import running_server

pytestmark = pytest.mark.e2e

CHICKEN = ([[6, 2], [7, 0]], [[6, 7], [2, 0]])
CHICKEN_ROWS = [(0.0, 1.0), (0.666666667, 0.333333333), (1.0, 0.0)]
TOL = 1e-9  # the server's default tolerance


def _zero_sum_value(a: np.ndarray) -> float:
    """The value of the matrix game ``a`` (row player maximises) by an independent LP."""
    m, n = a.shape
    # Variables (x_1..x_m, v): maximise v subject to x^T a >= v, sum x = 1, x >= 0.
    result = scipy.optimize.linprog(
        c=np.r_[np.zeros(m), -1.0],
        A_ub=np.c_[-a.T, np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    assert result.status == 0
    return float(-result.fun)


@dataclasses.dataclass(frozen=True)
class Job:
    """One kind of call: what to send and how to check its answer."""

    kind: str
    send: Callable[[AsyncClient], Any]
    check: Callable[[Any], None]


def _check_small(result: Any) -> None:
    assert result.complete
    rows = sorted(tuple(np.round(eq.strategies[0], 9)) for eq in result.equilibria)
    assert rows == CHICKEN_ROWS
    assert all(eq.nash_conv <= TOL for eq in result.equilibria)


def _check_certified(result: Any) -> None:
    assert result.equilibria
    assert all(eq.nash_conv <= result.tolerance for eq in result.equilibria)


def _jobs(seed: int, distinct: int) -> dict[str, list[Job]]:
    """``distinct`` different games per kind (the server caches answers: repeats would be hits)."""
    rng = np.random.default_rng(seed)
    jobs: dict[str, list[Job]] = {"small": [], "enumeration": [], "zero_sum": [], "three_player": []}
    jobs["small"].append(Job("small", lambda c: c.solve(CHICKEN), _check_small))
    for _ in range(distinct):
        game = rng.standard_normal((2, 10, 10))

        def check_enumeration(result: Any) -> None:
            _check_certified(result)
            assert result.complete and result.method == "vertex_enumeration"

        jobs["enumeration"].append(Job("enumeration", lambda c, g=game: c.solve(g), check_enumeration))
    for _ in range(distinct):
        a = rng.standard_normal((100, 100))
        value = _zero_sum_value(a)

        def check_zero_sum(result: Any, value: float = value) -> None:
            assert result.zero_sum.nash_conv <= 1e-7
            assert abs(result.zero_sum.value - value) <= 1e-7

        jobs["zero_sum"].append(
            Job(
                "zero_sum",
                lambda c, a=a: c.solve(np.stack([a, -a]), concepts=["zero_sum_value"]),
                check_zero_sum,
            )
        )
    for _ in range(distinct):
        game = rng.standard_normal((3, 2, 2, 2))
        jobs["three_player"].append(Job("three_player", lambda c, g=game: c.solve(g), _check_certified))
    return jobs


@dataclasses.dataclass
class Tally:
    """Outcomes of a load run."""

    sent: int = 0
    answered: int = 0
    refused: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    latencies: dict[str, list[float]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list)
    )
    messages: set[str] = dataclasses.field(default_factory=set)


async def _one(client: AsyncClient, job: Job, tally: Tally) -> None:
    started = time.monotonic()
    try:
        result = await job.send(client)
    except EquilibriaError as exc:
        tally.refused[exc.code] += 1
        tally.messages.add(f"{exc.code}: {exc.message}")
        return
    finally:
        tally.latencies[job.kind].append(time.monotonic() - started)
    job.check(result)
    tally.answered += 1


async def _load(target: str, calls: int, mix: dict[str, int], seed: int) -> Tally:
    jobs = _jobs(seed, distinct=max(mix.values()) * calls // sum(mix.values()))
    order = [kind for kind, count in mix.items() for _ in range(count * calls // sum(mix.values()))]
    order += ["small"] * (calls - len(order))
    rng = np.random.default_rng(seed)
    rng.shuffle(order)
    picks = collections.Counter[str]()
    tally = Tally(sent=len(order))
    async with AsyncClient.connect(target, timeout=120) as client:
        assert await client.health() == "SERVING"
        tasks = []
        for kind in order:
            job = jobs[kind][picks[kind] % len(jobs[kind])]
            picks[kind] += 1
            tasks.append(asyncio.ensure_future(_one(client, job, tally)))
        await asyncio.gather(*tasks)
    return tally


def _report(tally: Tally, elapsed: float, path: pathlib.Path) -> str:
    lines = [
        f"{tally.sent} calls in {elapsed:.1f} s: {tally.answered} answered, refused {dict(tally.refused)}"
    ]
    everything = [t for ts in tally.latencies.values() for t in ts]
    for kind, times in [("all", everything), *sorted(tally.latencies.items())]:
        p50, p99 = np.percentile(times, [50, 99])
        lines.append(f"{kind:>13}: n={len(times):4d} p50={p50 * 1e3:8.1f} ms p99={p99 * 1e3:8.1f} ms")
    lines += sorted(tally.messages)
    text = "\n".join(lines)
    path.write_text(text + "\n")
    print("\nload:", text)
    return text


MIX = {"small": 140, "enumeration": 25, "zero_sum": 25, "three_player": 10}


def test_200_concurrent_calls_all_answered_and_certified(tmp_path: pathlib.Path) -> None:
    with running_server("--workers", "2") as srv:
        started = time.monotonic()
        tally = asyncio.run(_load(srv.target, 200, MIX, seed=11))
        elapsed = time.monotonic() - started
        _report(tally, elapsed, tmp_path / "load_latency.txt")
        assert srv.process.poll() is None
    assert tally.sent == 200
    assert tally.answered + sum(tally.refused.values()) == tally.sent  # none lost
    # The queue (256) admits all 200: every call is answered.
    assert tally.answered == 200, tally.messages
    assert elapsed < 60


@pytest.mark.ondemand
@pytest.mark.timeout(600)
def test_overload_refuses_clearly_and_loses_nothing(tmp_path: pathlib.Path) -> None:
    """600 concurrent calls of different games against 2 workers + a queue of 256: the excess is refused."""
    with running_server("--workers", "2") as srv:
        started = time.monotonic()
        mix = {"enumeration": 1, "zero_sum": 1, "three_player": 1}  # no cache hits: all reach the pool
        tally = asyncio.run(_load(srv.target, 600, mix, seed=12))
        elapsed = time.monotonic() - started
        _report(tally, elapsed, tmp_path / "load_latency.txt")
        assert srv.process.poll() is None
    assert tally.answered + sum(tally.refused.values()) == tally.sent == 600
    assert set(tally.refused) <= {"RESOURCE_EXHAUSTED"}
    assert tally.refused["RESOURCE_EXHAUSTED"] > 0 and tally.answered >= 258
    assert all("server busy" in m and "retry later" in m for m in tally.messages)
    assert elapsed < 180
