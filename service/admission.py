"""Which solve runs next: cost estimates, a cheap and an expensive lane, deadline-aware admission.

A FIFO queue bounded only by its length lets forty five-second solves hold two workers
while a hundred one-millisecond solves die of their deadlines behind them. The pool's
door (:class:`Admission`) instead

- **estimates** each solve's cost in seconds (:class:`CostModel`): the measured mean
  of earlier solves of the same shape of request (game kind and size, concepts, method),
  a size-based guess before the first one, never more than the solve's budget;
- puts it in the **cheap lane** (estimate at most :attr:`Admission.cheap_seconds`) or
  the **expensive lane**. Any free worker takes cheap work first. Expensive work may
  not take the last free worker while cheap work has arrived recently
  (:attr:`Admission.reserve_seconds`): with two or more workers one worker is then kept
  for cheap solves, so a burst of slow solves cannot starve the fast ones. (A batch of
  expensive solves alone uses every worker, the last one after a short hold in which
  cheap work arriving takes it instead; cheap work arriving later waits for the first
  of them to end, and from then on has its worker.) An expensive solve
  that has waited :attr:`Admission.aging_seconds` goes ahead of cheap ones (aging: with one
  worker, a stream of cheap work cannot starve it either);
- **refuses at the door** a solve whose expected wait (the work queued ahead in its
  lane over the workers that lane may use, plus the time until one of them frees) is
  longer than the call's deadline: ``RESOURCE_EXHAUSTED`` "server busy ... retry after
  N s" at once, with a ``google.rpc.RetryInfo``, instead of a ``DEADLINE_EXCEEDED`` a
  minute later. The number of solves admitted stays bounded too (``workers +
  max_queue``).

A waiting solve whose caller goes away (deadline, cancellation) leaves the queue at once.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Hashable
from typing import Any

import grpc
from equilibria.service.errors import RequestError
from equilibria.solver.concepts.dynamics import DynamicsOptions

__all__ = ["Admission", "Cost", "CostModel"]


@dataclasses.dataclass(frozen=True)
class Cost:
    """What a solve is expected to cost.

    Attributes
    ----------
    key : hashable
        The shape of the request (what :class:`CostModel` learns by).
    seconds : float
        Expected run time in a worker, capped by the solve's budget.
    """

    key: Hashable
    seconds: float


class CostModel:
    """Expected seconds of a solve: learnt per shape of request, guessed from its size before that.

    Parameters
    ----------
    weight : float
        Weight of the newest measurement in the running mean (exponential smoothing).
    max_keys : int
        Shapes remembered (least recently used forgotten first).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.service.batch import DEFAULT_OPTIONS
    >>> from equilibria.solver import NormalFormGame
    >>> model = CostModel()
    >>> game, options = NormalFormGame(np.zeros((2, 3, 3))), DEFAULT_OPTIONS
    >>> cost = model.estimate(game, options, budget=60.0)
    >>> cost.seconds < 0.25
    True
    >>> model.observe(cost.key, 2.0)
    >>> model.estimate(game, options, budget=60.0).seconds
    2.0
    >>> model.estimate(game, options, budget=1.5).seconds
    1.5
    """

    def __init__(self, weight: float = 0.3, max_keys: int = 4096) -> None:
        self.weight = weight
        self.max_keys = max_keys
        self._means: collections.OrderedDict[Hashable, float] = collections.OrderedDict()

    @staticmethod
    def key(game: Any, options: Any) -> Hashable:
        """The shape of a request: game kind, sizes and the options that change the work."""
        return (
            type(game).__name__,
            tuple(int(k) for k in game.num_actions),
            int(getattr(game, "n_states", 0)),
            tuple(options.concepts),
            options.method,
            bool(getattr(options, "exact", False)),
            options.max_equilibria,
            getattr(options, "alpha_rank", None),
            _dynamics_shape(getattr(options, "dynamics", None)),
            getattr(options, "ess", None),
            getattr(options, "credit", None) is not None,  # the policy's entries change no work
        )

    @staticmethod
    def prior(game: Any, options: Any) -> float:
        """A size-based guess of the seconds a solve takes, before any has been measured.

        Coarse on purpose: it only has to tell a millisecond solve from a second-long one
        until the first measurement replaces it. Joint actions ``J`` and the players'
        action counts ``k_i``: certificates and pure profiles ``~ n J``; the correlated
        LPs ``~ J * sum k_i^2``; mixed Nash of 2 players ``~ (m n)^1.5``, of more players
        ``~ J^1.5``; α-Rank's dense elimination ``~ J^3`` per α, a dozen values of α (or
        one, given); a stochastic game multiplies by its states (and a few hundred sweeps).
        """
        actions = [int(k) for k in game.num_actions]
        joint = math.prod(actions)
        n = len(actions)
        concepts = set(options.concepts)
        seconds = 1e-3 + 2e-8 * n * joint
        if concepts & {"correlated", "coarse_correlated", "welfare_correlated"}:
            seconds += 1e-7 * joint * sum(k * k for k in actions)
        if concepts & {"nash", "welfare_nash", "pareto_nash", "selection", "zero_sum_value"}:
            seconds += (2e-6 if n == 2 else 1e-4) * joint**1.5
        if any(c.startswith(("max_entropy_", "max_gini_")) for c in concepts):
            seconds += 1e-6 * joint * sum(k * k for k in actions)
        if "alpha_rank" in concepts:
            ranking = getattr(options, "alpha_rank", None)
            steps = 1 if ranking is not None and ranking.alpha is not None else 12
            seconds += steps * (1e-5 * joint + 2e-10 * joint**3)
        if "replicator_dynamics" in concepts:
            dynamics = getattr(options, "dynamics", None) or DynamicsOptions()
            starts = len(dynamics.starts) or dynamics.samples  # a grid: guessed as a sample
            steps = dynamics.horizon / 0.1 * (20 if dynamics.rule == "best_response" else 4)
            seconds += steps * (2e-5 + 2e-9 * starts * joint * n)
        if "ess" in concepts:
            seconds += 1e-5 * 2.0 ** min(max(actions), 40)
        if "noisy_equilibria" in concepts:  # draws x joint actions x players, per equilibrium
            noise = getattr(options, "noise", None)
            seconds += 2e-9 * (noise.draws if noise is not None else 2000) * joint * n * 4
        if "credit_assignment" in concepts:  # every coalition's value, every agent's tensor
            seconds += 1e-8 * joint * (2.0 ** min(n, 40) + n)
        states = int(getattr(game, "n_states", 0))
        if states:
            seconds *= 300 * states
        return seconds

    def estimate(self, game: Any, options: Any, budget: float | None) -> Cost:
        """The expected cost of solving ``game`` with ``options`` under ``budget`` seconds."""
        key = self.key(game, options)
        seconds = self._means.get(key)
        if seconds is None:
            seconds = self.prior(game, options)
        else:
            self._means.move_to_end(key)
        if budget is not None:
            seconds = min(seconds, budget)
        return Cost(key, seconds)

    def observe(self, key: Hashable, seconds: float) -> None:
        """Record that a solve of shape ``key`` ran ``seconds`` in a worker."""
        mean = self._means.get(key)
        self._means[key] = seconds if mean is None else (1 - self.weight) * mean + self.weight * seconds
        self._means.move_to_end(key)
        while len(self._means) > self.max_keys:
            self._means.popitem(last=False)


@dataclasses.dataclass(eq=False)
class _Waiter:
    cost: Cost
    lane: str
    enqueued: float
    started: asyncio.Future[int]


class Admission:
    """The door of a pool of ``workers``: who waits, who runs next, who is refused.

    Parameters
    ----------
    workers : int
        Solves that may run at once.
    max_queue : int
        Solves that may wait beyond those running.
    cheap_seconds : float
        Largest estimate of a cheap solve.
    reserve_seconds : float
        How long after the last cheap solve arrived one worker stays kept for cheap work
        (with two or more workers). Before the first cheap solve, expensive work may take
        every worker.
    aging_seconds : float
        An expensive solve that has waited this long goes ahead of cheap ones.
    hold_seconds : float
        An expensive solve takes the last free worker only after waiting this long (at
        most a tenth of its expected cost): cheap work arriving with it takes the worker
        instead, so a burst that begins with expensive solves cannot take every worker
        before the cheap ones in the same burst arrive.
    clock : callable
        Monotonic seconds (tests pass a fake clock).

    Examples
    --------
    >>> import asyncio
    >>> async def main():
    ...     door = Admission(workers=2, max_queue=8)
    ...     slow, fast = Cost("slow", 5.0), Cost("fast", 0.01)
    ...     door.release(await door.acquire(fast, deadline=1.0))  # cheap work has arrived
    ...     first = await door.acquire(slow, deadline=60.0)  # starts at once
    ...     second = asyncio.ensure_future(door.acquire(slow, deadline=60.0))
    ...     await asyncio.sleep(0)  # waits: the other worker is kept for cheap work
    ...     quick = await door.acquire(fast, deadline=1.0)  # which takes it at once
    ...     return second.done(), door.running, door.waiting
    >>> asyncio.run(main())
    (False, 2, 1)
    """

    def __init__(
        self,
        workers: int,
        max_queue: int,
        *,
        cheap_seconds: float = 0.25,
        reserve_seconds: float = 30.0,
        aging_seconds: float = 30.0,
        hold_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workers = workers
        self.capacity = workers + max_queue
        self.cheap_seconds = cheap_seconds
        self.reserve_seconds = reserve_seconds
        self.aging_seconds = aging_seconds
        self.hold_seconds = hold_seconds
        self._timer: asyncio.TimerHandle | None = None
        self._clock = clock
        self._lanes: dict[str, collections.deque[_Waiter]] = {
            "cheap": collections.deque(),
            "expensive": collections.deque(),
        }
        # ticket -> (cost, lane, start time) of each running solve
        self._running: dict[int, tuple[Cost, str, float]] = {}
        self._tickets = itertools.count()
        self._last_cheap = -math.inf

    @property
    def running(self) -> int:
        """Solves running now."""
        return len(self._running)

    @property
    def waiting(self) -> int:
        """Solves admitted and waiting for a worker."""
        return sum(len(lane) for lane in self._lanes.values())

    def lane(self, cost: Cost) -> str:
        """``"cheap"`` or ``"expensive"``."""
        return "cheap" if cost.seconds <= self.cheap_seconds else "expensive"

    def _expensive_slots(self) -> int:
        """Workers expensive solves may hold now: all but one while cheap work is recent."""
        reserve = self.workers >= 2 and self._clock() - self._last_cheap < self.reserve_seconds
        return self.workers - 1 if reserve else self.workers

    def _remaining(self, lane: str | None = None) -> list[float]:
        now = self._clock()
        return [
            max(0.0, started + cost.seconds - now)
            for cost, running_lane, started in self._running.values()
            if lane is None or running_lane == lane
        ]

    def expected_wait(self, cost: Cost) -> float:
        """Seconds before a solve of ``cost`` admitted now would start (an estimate)."""
        lane = self.lane(cost)
        ahead = sum(w.cost.seconds for w in self._lanes[lane])
        slots = self.workers if lane == "cheap" else self._expensive_slots()
        busy = self._remaining() if lane == "cheap" else self._remaining("expensive")
        if len(busy) >= slots:
            free_in = min(busy)  # every worker this lane may use is busy
        elif self.running >= self.workers:
            free_in = min(self._remaining())  # a slot is this lane's, but all workers are busy
        else:
            free_in = 0.0
        return free_in + ahead / max(1, slots)

    async def acquire(self, cost: Cost, deadline: float | None) -> int:
        """Wait for a worker; the ticket to :meth:`release` when the solve ends.

        ``deadline``: seconds the caller still waits (None: no deadline).

        Raises
        ------
        RequestError
            ``RESOURCE_EXHAUSTED`` when ``workers + max_queue`` solves are admitted, or
            when the expected wait is longer than ``deadline``.
        """
        admitted = self.running + self.waiting
        if admitted >= self.capacity:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"server busy: {admitted} solves in flight (limit {self.capacity}); retry later",
                retry_after=max(1.0, self.expected_wait(cost)),
            )
        lane = self.lane(cost)
        wait = self.expected_wait(cost)
        if deadline is not None and wait > deadline:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"server busy: this {lane} solve (about {cost.seconds:.3g} s) would wait about "
                f"{wait:.3g} s for a worker, longer than the call's deadline ({deadline:.3g} s); "
                f"retry after {math.ceil(wait)} s or with a longer deadline",
                retry_after=float(math.ceil(wait)),
            )
        if lane == "cheap":
            self._last_cheap = self._clock()
        waiter = _Waiter(cost, lane, self._clock(), asyncio.get_running_loop().create_future())
        self._lanes[lane].append(waiter)
        self._dispatch()
        try:
            return await waiter.started
        except asyncio.CancelledError:
            if waiter.started.done() and not waiter.started.cancelled():
                self.release(waiter.started.result())  # started as the caller left
            elif waiter in self._lanes[lane]:
                self._lanes[lane].remove(waiter)
            raise

    def release(self, ticket: int) -> None:
        """End a running solve: its worker goes to the next in line."""
        del self._running[ticket]
        self._dispatch()

    def _next(self) -> _Waiter | None:
        cheap, expensive = self._lanes["cheap"], self._lanes["expensive"]
        while expensive and expensive[0].started.done():  # cancelled: its caller is leaving
            expensive.popleft()
        running_expensive = sum(lane == "expensive" for _, lane, _ in self._running.values())
        if expensive and running_expensive < self._expensive_slots():
            head = expensive[0]
            waited = self._clock() - head.enqueued
            if cheap and waited < self.aging_seconds:
                return cheap.popleft()
            hold = min(self.hold_seconds, 0.1 * head.cost.seconds)
            if self.running + 1 < self.workers or waited >= hold or cheap:
                return expensive.popleft()
            self._wake_in(hold - waited)  # the last free worker: cheap work may still come
            return None
        if cheap:
            return cheap.popleft()
        return None

    def _wake_in(self, seconds: float) -> None:
        """Dispatch again in ``seconds`` (one timer at a time)."""
        if self._timer is None or self._timer.cancelled():
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, seconds), self._wake)

    def _wake(self) -> None:
        self._timer = None
        self._dispatch()

    def _dispatch(self) -> None:
        while self.running < self.workers:
            waiter = self._next()
            if waiter is None:
                return
            if waiter.started.done():  # cancelled, and its caller has not yet left the queue
                continue
            ticket = next(self._tickets)
            self._running[ticket] = (waiter.cost, waiter.lane, self._clock())
            waiter.started.set_result(ticket)


def _dynamics_shape(options: DynamicsOptions | None) -> Hashable:
    """What of the dynamics' options changes the work (not the given starts themselves)."""
    if options is None:
        return None
    return (
        options.rule,
        options.samples,
        options.grid,
        len(options.starts),
        options.horizon,
        options.populations,
    )
