"""Wall-clock measurement: one warm-up run, then repeats within a time budget.

``time.perf_counter`` around the call only (inputs are built beforehand); the garbage
collector is collected before each measurement and left enabled during it. A call
slower than the whole budget is measured once and reported with ``warm=False``.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Timing", "measure", "timed_once"]


@dataclasses.dataclass(frozen=True)
class Timing:
    """Timed samples of one (method, game) pair, in seconds.

    ``samples`` excludes the warm-up run (``first``) unless that was the only run.
    ``timed_out`` means the run did not finish within ``cap`` seconds and was stopped.
    """

    samples: tuple[float, ...] = ()
    first: float = float("nan")
    warm: bool = True
    timed_out: bool = False
    cap: float = float("nan")

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
    """Time ``fn``: a warm-up run, then up to ``max_repeats`` runs within ``budget`` seconds.

    Returns the timing and the result of the warm-up run. ``on_run`` is called with
    each run's seconds (the subprocess worker reports progress through it).
    """
    gc.collect()
    first, result = timed_once(fn)
    if on_run is not None:
        on_run(first)
    if first >= budget / 2:
        return Timing(samples=(first,), first=first, warm=False), result
    repeats = int(min(max_repeats, max(1, (budget - first) // max(first, 1e-7))))
    samples = []
    for _ in range(repeats):
        seconds, _ = timed_once(fn)
        samples.append(seconds)
        if on_run is not None:
            on_run(seconds)
    return Timing(samples=tuple(samples), first=first, warm=True), result
