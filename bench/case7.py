"""Case 7: trace scoring throughput (snapshots per second) on one core.

A *snapshot* is one joint policy of a 2-player game with 3 actions each: two rows of
3 float64, 48 bytes. ``Z`` seeded Dirichlet(1, 1, 1) snapshots (full 2e6, quick 2e5)
are scored against ``K = 5`` random profiles (also Dirichlet), float64:

1. ``equilibria.solver.traces.distances.distance_to_points(snapshots, points, metric,
   aggregate="max")`` (input validation included) for ``tv``, ``l2``, ``linf`` and
   ``hellinger``;
2. the plain numpy reference a user would write: the broadcast
   ``abs(x[:, None, :] - P[None]).sum(-1)`` (or its l2 / linf / hellinger analogue) per
   player over the whole trace, max over players, ``min`` / ``argmin`` over the points;
   its answers are compared with ours (largest difference, argmin disagreements);
3. the physical limit: the single-core read bandwidth measured in the same process
   (the larger of ``a.sum()``'s read rate and ``np.copyto``'s read + write rate over a
   512 MiB float64 array, best of 5 each) divided by 48 bytes per snapshot;
4. :class:`equilibria.solver.traces.scorer.TraceScorer` end to end on the 3x3
   coordination game (identity payoffs, 7 isolated equilibria from
   ``equilibria.solver.solve``): the same snapshots fed as ``TraceChunk`` objects of
   10 000 rows, then ``result()``; with ``criteria=("last_iterate",
   "empirical_distribution")`` and with every criterion the policies support.

Every measurement runs in a child process (``python -c``, calling ``_child``) pinned
to one CPU with ``os.sched_setaffinity`` and with ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``NUMEXPR_NUM_THREADS`` set to 1
before numpy is imported, so nothing runs on a second core. Timing: one warm-up run,
then at least 3 runs (more within the budget, at most 25); the median is reported.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.report import DEFAULT_COLUMNS, CaseResult, Row, fmt_seconds
from bench.timing import Timing

__all__ = ["case7", "COLUMNS", "GOAL", "SNAPSHOT_BYTES"]

PLAYERS = 2
ACTIONS = 3
K = 5
CHUNK = 10_000
SNAPSHOT_BYTES = PLAYERS * ACTIONS * 8
GOAL = 10_000_000.0  # snapshots per second, issue #5
METRICS = ("tv", "l2", "linf", "hellinger")
BANDWIDTH_MIB = 512
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


# --------------------------------------------------------------------------- the child


def _repeat(
    fn: Callable[[], Any], budget: float, min_runs: int = 3, max_runs: int = 25
) -> tuple[list[float], Any]:
    """A warm-up run, then at least ``min_runs`` timed runs (more within ``budget`` s)."""
    import gc

    gc.collect()
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    runs = int(min(max_runs, max(min_runs, budget // max(first, 1e-7))))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return [first, *samples], result


def _reference(xs: Any, ps: Any, metric: str) -> tuple[Any, Any]:
    """The plain numpy broadcast over the whole trace: (Z, K, a) per player."""
    import numpy as np

    per_player = []
    for x, p in zip(xs, ps, strict=True):
        if metric == "tv":
            d = 0.5 * np.abs(x[:, None, :] - p[None]).sum(-1)
        elif metric == "l2":
            d = np.sqrt(((x[:, None, :] - p[None]) ** 2).sum(-1))
        elif metric == "linf":
            d = np.abs(x[:, None, :] - p[None]).max(-1)
        else:  # hellinger
            d = np.sqrt(0.5 * ((np.sqrt(x)[:, None, :] - np.sqrt(p)[None]) ** 2).sum(-1))
        per_player.append(d)
    d = np.maximum(per_player[0], per_player[1])  # (Z, K)
    return d.min(axis=1), d.argmin(axis=1)


def _bandwidth(runs: int = 5) -> dict[str, float]:
    """Best-of-5 read (``a.sum()``) and copy (``np.copyto``) bandwidth in bytes/s, one core."""
    import numpy as np

    n = BANDWIDTH_MIB * 2**20 // 8
    a = np.ones(n)
    b = np.empty(n)
    b.fill(0.0)  # touch every page before timing
    read, copy = [], []
    for _ in range(runs):
        start = time.perf_counter()
        a.sum()
        read.append(time.perf_counter() - start)
        start = time.perf_counter()
        np.copyto(b, a)
        copy.append(time.perf_counter() - start)
    nbytes = float(a.nbytes)
    return {
        "read_s": min(read),
        "copy_s": min(copy),
        "read_Bps": nbytes / min(read),
        "copy_Bps": 2 * nbytes / min(copy),  # one read and one write per element
        "read_samples": read,
        "copy_samples": copy,
    }


def _child(z: int, budget: float) -> dict[str, Any]:
    import numpy as np
    from equilibria.solver import NormalFormGame, solve
    from equilibria.solver.traces import ScoreOptions, TraceChunk, TraceScorer, distance_to_points

    from bench.games import seed_for

    out: dict[str, Any] = {"z": z, "affinity": sorted(os.sched_getaffinity(0))}
    rng = np.random.default_rng(seed_for("case7", z))
    xs = tuple(rng.dirichlet(np.ones(ACTIONS), size=z) for _ in range(PLAYERS))
    ps = tuple(rng.dirichlet(np.ones(ACTIONS), size=K) for _ in range(PLAYERS))

    def log(text: str) -> None:
        print(f"  [7] {text}", file=sys.stderr, flush=True)

    log("memory bandwidth ...")
    out["bandwidth"] = _bandwidth()
    log(
        f"read {out['bandwidth']['read_Bps'] / 1e9:.2f} GB/s, copy {out['bandwidth']['copy_Bps'] / 1e9:.2f} GB/s"
    )

    out["ours"], out["reference"], out["agreement"] = {}, {}, {}
    for metric in METRICS:
        samples, (d, k) = _repeat(lambda m=metric: distance_to_points(xs, ps, m, aggregate="max"), budget)
        out["ours"][metric] = samples
        log(f"distance_to_points {metric}: {z / float(np.median(samples[1:])):.3g} /s")
        samples, (rd, rk) = _repeat(lambda m=metric: _reference(xs, ps, m), budget)
        out["reference"][metric] = samples
        out["agreement"][metric] = {
            "max_abs_diff": float(np.abs(d - rd).max()),
            "argmin_mismatch": int((k != rk).sum()),
        }
        log(f"numpy reference {metric}: {z / float(np.median(samples[1:])):.3g} /s")

    game = NormalFormGame(np.stack([np.eye(ACTIONS), np.eye(ACTIONS)]))
    solutions = solve(game)
    out["game_equilibria"] = len(solutions.equilibria)
    out["scorer"] = {}
    for label, criteria in (
        ("2 criteria", ("last_iterate", "empirical_distribution")),
        ("all criteria", None),
    ):

        def score(c: Any = criteria) -> Any:
            scorer = TraceScorer(game, solutions, ScoreOptions(criteria=c))
            for start in range(0, z, CHUNK):
                scorer.update(
                    TraceChunk(policies=(xs[0][start : start + CHUNK], xs[1][start : start + CHUNK]))
                )
            return scorer.result()

        samples, result = _repeat(score, budget)
        out["scorer"][label] = {"samples": samples, "criteria": list(result.names)}
        log(f"TraceScorer {label}: {z / float(np.median(samples[1:])):.3g} /s")
    return out


# --------------------------------------------------------------------------- the parent


def _rate(row: Row) -> str:
    rate = row.extra.get("snapshots_per_s")
    return "" if rate is None else f"{rate:.3g}"


def _ratio(key: str) -> Callable[[Row], str]:
    def cell(row: Row) -> str:
        value = row.extra.get(key)
        return "" if value is None else f"{value:.3g}x"

    return cell


COLUMNS: list[tuple[str, Callable[[Row], str]]] = [
    ("metric", lambda r: r.family),
    ("Z", lambda r: r.size),
    ("method", lambda r: r.method),
    DEFAULT_COLUMNS[3],  # median
    DEFAULT_COLUMNS[4],  # IQR and run count
    ("snapshots/s", _rate),
    ("vs numpy ref", _ratio("vs_reference")),
    ("vs bandwidth bound", _ratio("vs_bound")),
    ("note", lambda r: r.note),
]


def _timing(samples: list[float]) -> Timing:
    return Timing(samples=tuple(samples[1:]), first=samples[0], warm=True)


def case7(cfg: Any, worker: Any) -> CaseResult:
    """Trace scoring throughput against the numpy broadcast and the memory-bandwidth bound."""
    z = 200_000 if cfg.quick else 2_000_000
    budget = 0.3 if cfg.quick else 1.0
    result = CaseResult("7", "trace scoring throughput (snapshots/s, one core)", columns=COLUMNS)
    result.plot_y = "median wall time (s)"
    env = dict(os.environ, **dict.fromkeys(THREAD_VARS, "1"))
    cpu = max(os.sched_getaffinity(0))
    code = (
        f"import os; os.sched_setaffinity(0, {{{cpu}}}); import sys, json; from bench.case7 import _child; "
        f"print(json.dumps(_child({z}, {budget})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=pathlib.Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        row = Row("7", "-", str(z), float(z), "child process", "ours", Timing())
        row.note = f"child failed with exit code {proc.returncode} (its error is printed above)"
        result.rows.append(row)
        return result
    data = json.loads(proc.stdout.strip().splitlines()[-1])

    bw = data["bandwidth"]
    peak = max(bw["read_Bps"], bw["copy_Bps"])  # the most bytes per second one core moved
    bound = peak / SNAPSHOT_BYTES
    size = f"{z:.0e}".replace("e+0", "e")

    def add(family: str, method: str, kind: str, samples: list[float], note: str = "") -> Row:
        row = Row("7", family, size, float(z), method, kind, _timing(samples), note=note)
        rate = z / row.timing.median
        row.extra["snapshots_per_s"] = rate
        row.extra["vs_bound"] = rate / bound
        result.rows.append(row)
        return row

    goal_lines = []
    for metric in METRICS:
        ref = add(metric, "numpy broadcast (reference)", "reference", data["reference"][metric])
        ours = add(metric, "ours distance_to_points", "ours", data["ours"][metric])
        for row in (ref, ours):
            row.extra["vs_reference"] = row.extra["snapshots_per_s"] / ref.extra["snapshots_per_s"]
        agree = data["agreement"][metric]
        ours.note = (
            f"max |d - d_ref| {agree['max_abs_diff']:.1e}, argmin differs on {agree['argmin_mismatch']} rows; "
            f"goal >= 1e7/s {'met' if ours.extra['snapshots_per_s'] >= GOAL else 'NOT met'}"
        )
        goal_lines.append(f"{metric} {ours.extra['snapshots_per_s']:.3g}/s")
    for label, info in data["scorer"].items():
        row = add(
            "tv (3x3 game)",
            f"ours TraceScorer ({label})",
            "ours",
            info["samples"],
            note=f"{', '.join(info['criteria'])}; {data['game_equilibria']} equilibria, chunks of {CHUNK}",
        )
        row.extra["vs_reference"] = row.extra["snapshots_per_s"] / result.rows[0].extra["snapshots_per_s"]
    read = Row(
        "7",
        "memory",
        f"{BANDWIDTH_MIB} MiB",
        float(z),
        "read bandwidth a.sum()",
        "reference",
        Timing(samples=tuple(bw["read_samples"]), first=bw["read_samples"][0]),
        note=f"{bw['read_Bps'] / 1e9:.2f} GB/s read, best of 5",
    )
    read.extra["bandwidth_GBps"] = bw["read_Bps"] / 1e9
    copy = Row(
        "7",
        "memory",
        f"{BANDWIDTH_MIB} MiB",
        float(z),
        "copy bandwidth np.copyto",
        "reference",
        Timing(samples=tuple(bw["copy_samples"]), first=bw["copy_samples"][0]),
        note=f"{bw['copy_Bps'] / 1e9:.2f} GB/s read + write, best of 5",
    )
    copy.extra["bandwidth_GBps"] = bw["copy_Bps"] / 1e9
    limit = read if bw["read_Bps"] >= bw["copy_Bps"] else copy
    limit.method += " (bound)"
    limit.note += f"; / {SNAPSHOT_BYTES} B per snapshot = the bound"
    limit.extra.update(snapshots_per_s=bound, vs_bound=1.0)
    result.rows += [read, copy]

    met = all(
        r.extra["snapshots_per_s"] >= GOAL for r in result.rows if r.method == "ours distance_to_points"
    )
    result.notes += [
        f"Snapshots: {PLAYERS} players x {ACTIONS} actions, Z = {z:,} seeded Dirichlet(1,1,1) rows per player, "
        f"K = {K} random Dirichlet points, float64, aggregate max over players ({SNAPSHOT_BYTES} bytes per snapshot). "
        "snapshots/s = Z / median time; 'vs numpy ref' = ours / the numpy broadcast of the same metric "
        "(TraceScorer rows: / the tv reference); 'vs bandwidth bound' = snapshots/s / (bandwidth / 48 B), "
        "the bandwidth being the larger of the read rate of a.sum() and the read + write rate of np.copyto "
        f"over {BANDWIDTH_MIB} MiB (one core, best of 5 each): an upper bound for a kernel that reads each "
        "snapshot once from memory.",
        f"One core: a child process pinned to CPU {data['affinity']} with {', '.join(THREAD_VARS)} = 1. "
        "Timing: one warm-up run, then at least 3 runs (more within "
        f"{fmt_seconds(budget)}, at most 25); distance_to_points includes its input validation.",
        "Numpy reference: the whole trace at once, per player (Z, K, 3) broadcast -> (Z, K) distances, "
        "max over players, min/argmin over points; ours must agree to rounding (note column).",
        "TraceScorer: 3x3 coordination game (identity payoffs), solve() -> "
        f"{data['game_equilibria']} isolated equilibria; the same snapshots as TraceChunk(policies=...) of "
        f"{CHUNK:,} rows, then result(); 'all criteria' = criteria=None (every criterion policies support).",
        f"Goal (issue #5) >= 1e7 snapshots/s on one core for distance-to-set of a 5-point set: "
        f"{'MET' if met else 'NOT MET'} ({'; '.join(goal_lines)}); bandwidth bound "
        f"{peak / 1e9:.2f} GB/s / {SNAPSHOT_BYTES} B = {bound:.3g} snapshots/s.",
    ]
    return result
