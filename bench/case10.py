"""Case 10: every equilibrium at the gold standard's scale, against lrsnash.

lrsnash (lrslib 7.1, Avis et al.; Debian package ``lrslib``) enumerates the extreme
equilibria of a bimatrix game by reverse search over one best-response polyhedron in
exact (GMP) arithmetic: what game theorists use for all equilibria. Same games, same run:

* ours, float: ``vertex_enumeration(game)`` (every decision certified, complete);
* ours, exact: ``vertex_enumeration(game, exact=True)`` (rational strategies and payoffs);
* lrsnash on the game's integer form (payoffs with 3 decimals times 1000: the same
  equilibria), timed as the wall time of its process (its start-up, about 2 ms, included).

Families random integer (0..99 payoffs), standard normal (3 decimals), identity and
degenerate ({0, 1, 2}); float at n = 10..18, exact at n = 8..14 (quick: 10, 12 and 8,
10). *found* and *missed* compare each answer with lrsnash's equilibria (tolerance 1e-7).
Ours runs with ``time_limit`` = the cap, so a run past it comes back incomplete
(``> cap``); lrsnash is killed at the cap. A cell whose first runs all take under
:data:`REPEAT_BELOW` is run :data:`REPEATS` times, the methods alternating, and timed by its
medians.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench import games
from bench.report import CaseResult, Row
from bench.timing import Timing
from tests import lrsnash

__all__ = ["case10", "lrsnash_equilibria", "LRSNASH"]

#: The lrsnash executable, or None when lrslib is not installed (``apt-get install lrslib``).
LRSNASH = lrsnash.LRSNASH

Profile = tuple[np.ndarray, np.ndarray]


def integer_form(payoffs: np.ndarray) -> np.ndarray:
    """The payoffs as integers: as they are, or times 1000 (3 decimals); same equilibria."""
    for scale in (1, 1000):
        scaled = payoffs * scale
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-9):
            return np.round(scaled).astype(np.int64)
    raise ValueError("integer_form(): payoffs with more than 3 decimals")


def lrsnash_equilibria(payoffs: np.ndarray, timeout: float) -> tuple[float, list[Profile] | None]:
    """Run lrsnash on a bimatrix game (``tests/lrsnash.py``): its wall time and its extreme
    equilibria as floats (None past ``timeout``)."""
    a, b = integer_form(payoffs)
    seconds, found = lrsnash.run(a.tolist(), b.tolist(), timeout)
    if found is None:
        return seconds, None
    return seconds, [(np.array(x, dtype=float), np.array(y, dtype=float)) for x, y in found]


def _ours(payoffs: np.ndarray, exact: bool, cap: float) -> tuple[float, list[Profile] | None, str]:
    from equilibria.solver import NormalFormGame
    from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration

    game = NormalFormGame(payoffs)
    start = time.perf_counter()
    result = vertex_enumeration(game, exact=exact, time_limit=cap)
    seconds = time.perf_counter() - start
    if not result.complete and any(w.startswith("stopped by time_limit") for w in result.warnings):
        return seconds, None, "stopped at the cap"
    profiles = [(eq.strategies[0], eq.strategies[1]) for eq in result.equilibria]
    return seconds, profiles, "" if result.complete else "incomplete"


def _missed(reference: list[Profile], found: list[Profile], tol: float = 1e-7) -> int:
    """lrsnash's equilibria with none of ours within ``tol`` (max-abs). Matched by a grid of
    ``tol``-sized cells first (the identity game has 65,535 of each: a pairwise scan would take
    hours), then each one left over against all of ours."""
    if not reference:
        return 0
    if not found:
        return len(reference)
    ours = np.array([np.concatenate(p) for p in found])
    cells = {tuple(row) for row in np.round(ours / tol).astype(np.int64).tolist()}
    missed = 0
    for v in (np.concatenate(p) for p in reference):
        if tuple(np.round(v / tol).astype(np.int64).tolist()) in cells:
            continue  # the same cell: each within tol / 2 of its centre, so within tol of each other
        if v.shape != ours.shape[1:] or float(np.abs(ours - v).max(axis=1).min()) > tol:
            missed += 1
    return missed


#: Cells whose every first run takes less than this (seconds) are run :data:`REPEATS` times in
#: all, the methods alternating, and their medians compared: a single run of a few
#: milliseconds is at the mercy of the machine's drift.
REPEAT_BELOW = 0.5
REPEATS = 5


def _timing(samples: list[float], ok: bool) -> Timing:
    return Timing(samples=tuple(samples) if ok else (), first=samples[0], timed_out=not ok)


def case10(cfg: Any, worker: Any) -> CaseResult:
    """Every equilibrium against lrsnash, float and exact."""
    result = CaseResult("10", "2-player, all equilibria at lrsnash's scale")
    if LRSNASH is None:
        result.notes.append("lrsnash is not installed here: apt-get install lrslib (then rerun --cases 10)")
        return result
    float_sizes = [10, 12] if cfg.quick else [10, 12, 14, 16, 18]
    exact_sizes = [8, 10] if cfg.quick else [8, 10, 12, 14]
    cap = 60.0 if cfg.quick else 300.0
    from equilibria.solver import NormalFormGame
    from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration

    vertex_enumeration(NormalFormGame(np.ones((2, 2, 2))))  # compile (or load) the kernels first
    for family in ("random_integer", "standard_normal", "identity", "degenerate"):
        for n in sorted(set(float_sizes) | set(exact_sizes)):
            payoffs = games.BIMATRIX_FAMILIES[family](n)
            size = f"{n}x{n}"
            variants = [exact for exact, sizes in ((False, float_sizes), (True, exact_sizes)) if n in sizes]
            lrs_seconds, reference = lrsnash_equilibria(payoffs, cap)
            firsts = [_ours(payoffs, exact, cap) for exact in variants]
            lrs_samples, samples = [lrs_seconds], [[seconds] for seconds, _, _ in firsts]
            if max(lrs_seconds, *(seconds for seconds, _, _ in firsts)) < REPEAT_BELOW:
                for _ in range(REPEATS - 1):  # alternating, so drift falls on every method alike
                    lrs_samples.append(lrsnash_equilibria(payoffs, cap)[0])
                    for k, exact in enumerate(variants):
                        samples[k].append(_ours(payoffs, exact, cap)[0])
            lrs_row = Row(
                "10",
                family,
                size,
                n,
                "lrsnash (exact)",
                "anchor",
                _timing(lrs_samples, reference is not None),
            )
            if reference is not None:
                lrs_row.found = len(reference)
            rows = [lrs_row]
            for exact, (_, found, note), times in zip(variants, firsts, samples, strict=True):
                label = "ours exact=True" if exact else "ours float"
                row = Row("10", family, size, n, label, "ours", _timing(times, found is not None), note=note)
                if found is not None:
                    row.found = len(found)
                    if reference is not None:
                        row.missed = _missed(reference, found)
                if reference is not None and found is not None:
                    row.ratio = row.timing.median / lrs_row.timing.median
                    row.ratio_text = f"{row.ratio:.2f}x"
                rows.append(row)
            print(
                f"  [10] {family} {size}: "
                + " | ".join(
                    f"{r.method} {r.timing.median if r.timing.ok else r.timing.first:.3g} s"
                    + (f" ({r.ratio_text})" if r.ratio_text else "")
                    for r in rows
                ),
                flush=True,
            )
            result.rows += rows
    result.notes += [
        "ours = equilibria.solver.normal_form.vertex_enumeration.vertex_enumeration(game[, exact=True], "
        f"time_limit={cap:g}), in-process; lrsnash (lrslib 7.1, GMP) on the integer form of the game "
        "(x1000 for 3-decimal payoffs), process wall time. One run each, or, when every first run of a "
        f"cell is under {REPEAT_BELOW:g} s, {REPEATS} runs each, the methods alternating: the median.",
        "ratio = ours / lrsnash on the same game; found = extreme equilibria returned; missed = lrsnash's "
        "equilibria not among ours (max-abs difference <= 1e-7).",
    ]
    return result
