"""The pool's door (service/admission.py): lanes, the kept worker, aging, refusals, cost learning.

Deterministic: a fake clock, no processes; the door is driven from one event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import numpy as np
import pytest
from equilibria.service.admission import Admission, Cost, CostModel
from equilibria.service.batch import DEFAULT_OPTIONS
from equilibria.service.errors import RequestError, status_message
from equilibria.solver import NormalFormGame, StochasticGame
from google.rpc import error_details_pb2

SLOW, FAST = Cost("slow", 5.0), Cost("fast", 0.01)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def door(workers: int = 2, max_queue: int = 16, **kwargs: float) -> tuple[Admission, Clock]:
    """A door on a fake clock; no hold unless asked (its timer runs on the loop's real clock)."""
    clock = Clock()
    kwargs.setdefault("hold_seconds", 0.0)
    return Admission(workers, max_queue, clock=clock, **kwargs), clock


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_without_cheap_work_expensive_solves_use_every_worker() -> None:
    async def main() -> tuple[int, int]:
        gate, _ = door(workers=2)
        await gate.acquire(SLOW, deadline=None)
        await gate.acquire(SLOW, deadline=None)
        return gate.running, gate.waiting

    assert asyncio.run(main()) == (2, 0)


def test_after_cheap_work_one_worker_is_kept_for_it_and_cheap_goes_first() -> None:
    async def main() -> list[str]:
        gate, clock = door(workers=2)
        gate.release(await gate.acquire(FAST, deadline=None))
        started: list[str] = []

        async def run(name: str, cost: Cost) -> int:
            ticket = await gate.acquire(cost, deadline=None)
            started.append(name)
            return ticket

        first = await run("slow-1", SLOW)
        slow_2 = asyncio.ensure_future(run("slow-2", SLOW))
        await _settle()
        assert started == ["slow-1"] and gate.waiting == 1  # the kept worker is not taken
        fast_1 = await run("fast-1", FAST)  # ... cheap work takes it at once
        fast_2 = asyncio.ensure_future(run("fast-2", FAST))
        await _settle()
        gate.release(fast_1)  # the freed worker goes to the cheap solve waiting, not to slow-2
        await _settle()
        assert started[-1] == "fast-2"
        gate.release(await fast_2)
        gate.release(first)
        gate.release(await slow_2)
        return started

    assert asyncio.run(main()) == ["slow-1", "fast-1", "fast-2", "slow-2"]


def test_the_kept_worker_is_released_when_cheap_work_stops_arriving() -> None:
    async def main() -> int:
        gate, clock = door(workers=2, reserve_seconds=30.0)
        gate.release(await gate.acquire(FAST, deadline=None))
        await gate.acquire(SLOW, deadline=None)
        second = asyncio.ensure_future(gate.acquire(SLOW, deadline=None))
        await _settle()
        assert not second.done()
        clock.now += 31.0  # no cheap work for longer than reserve_seconds
        third = asyncio.ensure_future(gate.acquire(SLOW, deadline=None))  # an arrival dispatches
        await _settle()
        assert second.done() and not third.done()
        third.cancel()
        return gate.running

    assert asyncio.run(main()) == 2


@pytest.mark.parametrize(
    ("waited", "order"),
    [(31.0, ["slow", "fast-0", "fast-1"]), (29.0, ["fast-0", "fast-1", "slow"])],
    ids=["aged", "not-aged"],
)
def test_on_one_worker_cheap_solves_go_first_until_an_expensive_one_has_aged(
    waited: float, order: list[str]
) -> None:
    async def main() -> list[str]:
        gate, clock = door(workers=1, aging_seconds=30.0)
        started: list[str] = []

        async def run(name: str, cost: Cost) -> None:
            ticket = await gate.acquire(cost, deadline=None)
            started.append(name)
            await asyncio.sleep(0)
            gate.release(ticket)

        blocker = await gate.acquire(FAST, deadline=None)
        tasks = [asyncio.ensure_future(run("slow", SLOW))]
        await _settle()
        tasks += [asyncio.ensure_future(run(f"fast-{k}", FAST)) for k in range(2)]
        await _settle()
        clock.now += waited  # how long the slow solve has waited when the worker frees
        gate.release(blocker)
        await asyncio.gather(*tasks)
        return started

    assert asyncio.run(main()) == order


def test_a_wait_longer_than_the_deadline_is_refused_at_once_with_retry_info() -> None:
    async def main() -> tuple[RequestError, float, int]:
        gate, _ = door(workers=2)
        gate.release(await gate.acquire(FAST, deadline=None))
        await gate.acquire(SLOW, deadline=None)  # the one expensive slot: busy 5 s
        queued = [asyncio.ensure_future(gate.acquire(SLOW, deadline=60.0)) for _ in range(3)]
        await _settle()
        wait = gate.expected_wait(SLOW)  # 5 s to the slot, then 3 x 5 s queued ahead
        with pytest.raises(RequestError) as refused:
            await gate.acquire(SLOW, deadline=wait - 1.0)
        accepted = asyncio.ensure_future(gate.acquire(SLOW, deadline=wait + 1.0))
        await _settle()
        waiting = gate.waiting
        for task in [*queued, accepted]:
            task.cancel()
        return refused.value, wait, waiting

    error, wait, waiting = asyncio.run(main())
    assert wait == pytest.approx(20.0)
    assert waiting == 4  # the refused call never entered the queue; the next one did
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "server busy" in error.message and "retry after 20 s" in error.message
    assert error.retry_after == 20.0
    retry = error_details_pb2.RetryInfo()
    assert any(detail.Unpack(retry) for detail in status_message(error).details)
    assert retry.retry_delay.seconds == 20


def test_cheap_work_is_admitted_under_any_backlog_of_expensive_work() -> None:
    async def main() -> int:
        gate, _ = door(workers=2, max_queue=64)
        gate.release(await gate.acquire(FAST, deadline=None))
        await gate.acquire(SLOW, deadline=None)
        backlog = [asyncio.ensure_future(gate.acquire(SLOW, deadline=None)) for _ in range(30)]
        await _settle()
        ticket = await gate.acquire(FAST, deadline=0.5)  # refused only if it would wait 0.5 s
        for task in backlog:
            task.cancel()
        return ticket

    assert isinstance(asyncio.run(main()), int)


def test_past_workers_plus_max_queue_solves_are_refused() -> None:
    async def main() -> RequestError:
        gate, _ = door(workers=1, max_queue=2)
        await gate.acquire(FAST, deadline=None)
        waiting = [asyncio.ensure_future(gate.acquire(FAST, deadline=None)) for _ in range(2)]
        await _settle()
        with pytest.raises(RequestError) as refused:
            await gate.acquire(FAST, deadline=None)
        for task in waiting:
            task.cancel()
        return refused.value

    error = asyncio.run(main())
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "3 solves in flight (limit 3); retry later" in error.message


def test_a_caller_that_leaves_the_queue_frees_its_place() -> None:
    async def main() -> tuple[int, int, bool]:
        gate, _ = door(workers=1, max_queue=4)
        ticket = await gate.acquire(SLOW, deadline=None)
        leaving = asyncio.ensure_future(gate.acquire(SLOW, deadline=None))
        staying = asyncio.ensure_future(gate.acquire(SLOW, deadline=None))
        await _settle()
        leaving.cancel()
        await _settle()
        waiting = gate.waiting
        gate.release(ticket)
        await _settle()
        return waiting, gate.running, staying.done()

    assert asyncio.run(main()) == (1, 1, True)


def test_cost_model_learns_per_shape_and_never_exceeds_the_budget() -> None:
    model = CostModel(weight=0.5, max_keys=2)
    small = NormalFormGame(np.zeros((2, 3, 3)))
    big = NormalFormGame(np.zeros((2, 60, 60)))
    correlated = dataclasses.replace(DEFAULT_OPTIONS, concepts=("correlated",))
    assert model.estimate(small, DEFAULT_OPTIONS, None).seconds < 0.01
    assert model.estimate(big, correlated, None).seconds > 1.0  # the size-based guess
    assert model.estimate(big, correlated, 0.5).seconds == 0.5
    key = model.key(small, DEFAULT_OPTIONS)
    model.observe(key, 2.0)
    model.observe(key, 1.0)
    assert model.estimate(small, DEFAULT_OPTIONS, None).seconds == 1.5
    assert model.key(small, correlated) != key and model.key(big, DEFAULT_OPTIONS) != key
    model.observe(model.key(big, DEFAULT_OPTIONS), 1.0)
    model.observe(model.key(big, correlated), 1.0)  # a third shape: the oldest is forgotten
    assert model.estimate(small, DEFAULT_OPTIONS, None).seconds < 0.01


def test_the_size_guess_grows_with_the_game() -> None:
    options = DEFAULT_OPTIONS
    guesses = [CostModel.prior(NormalFormGame(np.zeros((2, n, n))), options) for n in (2, 8, 32, 128)]
    assert guesses == sorted(guesses) and guesses[-1] > 100 * guesses[0]
    three = CostModel.prior(NormalFormGame(np.zeros((3, 8, 8, 8))), options)
    two = CostModel.prior(NormalFormGame(np.zeros((2, 22, 22))), options)  # about as many entries
    assert three > two
    rewards = np.zeros((4, 2, 2, 2))
    transitions = np.full((4, 2, 2, 4), 0.25)
    stochastic = StochasticGame(rewards, transitions, 0.9)
    assert CostModel.prior(stochastic, options) > CostModel.prior(
        NormalFormGame(np.zeros((2, 2, 2))), options
    )


def test_the_last_free_worker_is_held_a_moment_for_cheap_work() -> None:
    async def main() -> list[str]:
        gate, clock = door(workers=2, hold_seconds=0.05)
        started: list[str] = []

        async def run(name: str, cost: Cost) -> int:
            ticket = await gate.acquire(cost, deadline=None)
            started.append(name)
            return ticket

        first = await run("slow-1", SLOW)
        slow_2 = asyncio.ensure_future(run("slow-2", SLOW))
        await _settle()
        assert started == ["slow-1"]  # held: the last free worker
        await run("fast", FAST)  # cheap work arriving within the hold takes it
        clock.now += 1.0
        await asyncio.sleep(0.1)  # the hold's timer fires; the worker is the cheap solve's
        assert not slow_2.done()
        gate.release(first)
        await slow_2
        return started

    assert asyncio.run(main()) == ["slow-1", "fast", "slow-2"]


def test_without_cheap_work_the_hold_ends_and_every_worker_is_used() -> None:
    async def main() -> int:
        gate, clock = door(workers=2, hold_seconds=0.05)
        await gate.acquire(SLOW, deadline=None)
        second = asyncio.ensure_future(gate.acquire(SLOW, deadline=None))
        await _settle()
        assert not second.done()
        clock.now += 1.0
        await asyncio.wait_for(second, timeout=10.0)  # woken by the hold's timer
        return gate.running

    assert asyncio.run(main()) == 2
