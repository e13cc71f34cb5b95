"""Wall-clock measurement: one warm-up run, then repeats within a time budget.

``time.perf_counter`` around the call only (inputs are built beforehand); the garbage
collector is collected before each measurement and left enabled during it. A call
slower than the whole budget is measured once and reported with ``warm=False``. A call
faster than :data:`BATCH_SECONDS` is timed in batches, as ``timeit`` does: each sample
is the mean of ``batch`` back-to-back calls (one call of a few microseconds, timed
alone, mostly measures the timer and a cold cache; seen here at 2-3x the batched mean,
for every library alike).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["Timing", "measure", "measure_together", "timed_once", "BATCH_SECONDS"]

#: Calls faster than this are timed in batches lasting about this long (at most MAX_BATCH calls).
BATCH_SECONDS = 1e-3
MAX_BATCH = 1000


@dataclasses.dataclass(frozen=True)
class Timing:
    """Timed samples of one (method, game) pair, in seconds.

    ``samples`` excludes the warm-up run (``first``) unless that was the only run; each
    is the mean per call of ``batch`` back-to-back calls (1 unless the call is faster
    than :data:`BATCH_SECONDS`). ``timed_out`` means the run did not finish within
    ``cap`` seconds and was stopped.
    """

    samples: tuple[float, ...] = ()
    first: float = float("nan")
    warm: bool = True
    timed_out: bool = False
    cap: float = float("nan")
    batch: int = 1

    @property
    def ok(self) -> bool:
        return bool(self.samples) and not self.timed_out

    @property
    def median(self) -> float:
        return float(np.median(self.samples)) if self.samples else float("nan")

    @property
    def q1(self) -> float:
        return float(np.percentile(self.samples, 25)) if self.samples else float("nan")

    @property
    def q3(self) -> float:
        return float(np.percentile(self.samples, 75)) if self.samples else float("nan")

    @property
    def min(self) -> float:
        return float(np.min(self.samples)) if self.samples else float("nan")

    @property
    def max(self) -> float:
        return float(np.max(self.samples)) if self.samples else float("nan")

    @property
    def repeats(self) -> int:
        return len(self.samples)


def timed_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by one call, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(
    fn: Callable[[], Any],
    *,
    budget: float,
    max_repeats: int = 25,
    on_run: Callable[[float], None] | None = None,
) -> tuple[Timing, Any]:
    """Time ``fn``: a warm-up run, then up to ``max_repeats`` samples within ``budget`` seconds.

    A second (warm) run decides the batch: calls faster than :data:`BATCH_SECONDS` are
    timed ``batch`` at a time and each sample is the batch's mean. Returns the timing and
    the result of the warm-up run. ``on_run`` is called with each sample's seconds per
    call (the subprocess worker reports progress through it).
    """
    ((timing, result),) = measure_together([fn], budget=budget, max_repeats=max_repeats, on_run=on_run)
    return timing, result


def measure_together(
    fns: Sequence[Callable[[], Any]],
    *,
    budget: float,
    max_repeats: int = 25,
    on_run: Callable[[float], None] | None = None,
) -> list[tuple[Timing, Any]]:
    """Time several calls as :func:`measure` does, their samples interleaved.

    Each call is warmed up and batched on its own, then the samples are taken in rounds,
    one of each call per round: load that comes and goes during the measurement (this
    machine's speed was seen to change 2x within seconds) hits every call alike, so
    their ratio holds even when the times do not. Each call gets up to ``budget`` seconds
    and ``max_repeats`` samples. An exception of any call propagates.
    """
    firsts, results, batches, repeats = [], [], [], []
    for fn in fns:
        gc.collect()
        first, result = timed_once(fn)
        if on_run is not None:
            on_run(first)
        firsts.append(first)
        results.append(result)
        if first >= budget / 2:  # measured once
            batches.append(0)
            repeats.append(0)
            continue
        probe, _ = timed_once(fn)
        batch = 1 if probe >= BATCH_SECONDS else min(MAX_BATCH, math.ceil(BATCH_SECONDS / max(probe, 1e-9)))
        batches.append(batch)
        repeats.append(int(min(max_repeats, max(1, (budget - first - probe) // max(probe * batch, 1e-7)))))
    samples: list[list[float]] = [[] for _ in fns]
    for round_ in range(max(repeats, default=0)):
        for k, fn in enumerate(fns):
            if round_ < repeats[k]:
                seconds = _timed_batch(fn, batches[k])
                samples[k].append(seconds)
                if on_run is not None:
                    on_run(seconds)
    return [
        (
            Timing(samples=(first,), first=first, warm=False)
            if batch == 0
            else Timing(samples=tuple(taken), first=first, warm=True, batch=batch),
            result,
        )
        for first, result, batch, taken in zip(firsts, results, batches, samples, strict=True)
    ]


def _timed_batch(fn: Callable[[], Any], batch: int) -> float:
    """Seconds per call of ``batch`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(batch):
        fn()
    return (time.perf_counter() - start) / batch
