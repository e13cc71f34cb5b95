"""Case 9: batch throughput (games/s) of every way to solve many small games.

``N`` seeded N(0,1) games (half 3x3, half 6x6; quick 100, full 1000), every Nash
equilibrium of each, solved:

1. in-process, sequentially: ``equilibria.solver.solve`` in a loop (the reference);
2. the process pool: ``equilibria.service.batch.solve_many(backend="process", num_cpus=2)``
   (pool start-up included: that is what a notebook pays);
3. the server's ``SolveGames`` stream: ``Client.solve_many`` against
   ``equilibria serve --workers 2`` on 127.0.0.1 (server start-up excluded);
4. Ray with 1 and 2 CPUs: ``batch.solve_many(backend="ray")`` on a loopback-only local Ray
   (``ray_backend.init_ray``); Ray's start-up is timed and reported on its own row.

Each is run once (a batch of N is the measurement); every answer is checked against
the sequential reference (same number of equilibria).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.games import seed_for
from bench.report import DEFAULT_COLUMNS, CaseResult, Row
from bench.timing import Timing

__all__ = ["case9"]


def _games(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed_for("case9", count))
    return [rng.standard_normal((2, 3, 3) if k % 2 == 0 else (2, 6, 6)) for k in range(count)]


def _rate(row: Row) -> str:
    rate = row.extra.get("games_per_s")
    return "" if rate is None else f"{rate:.1f}"


def _ratio(row: Row) -> str:
    ratio = row.extra.get("vs_sequential")
    return "" if ratio is None else f"{ratio:.2f}x"


COLUMNS = [
    ("games", lambda r: r.size),
    ("method", lambda r: r.method),
    DEFAULT_COLUMNS[3],  # median
    ("games/s", _rate),
    ("vs sequential", _ratio),
    ("note", lambda r: r.note),
]


def _server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "equilibria.service.cli",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"listening on (\S+)", line)
        if match:
            return process, match.group(1)
    raise RuntimeError("bench case 9: the server did not start")


def case9(cfg: Any, worker: Any) -> CaseResult:
    """Batch throughput: sequential, process pool, SolveGames, Ray at 1 and 2 CPUs."""
    from equilibria.client import Client
    from equilibria.service import batch, ray_backend
    from equilibria.solver import NormalFormGame, solve

    count = 100 if cfg.quick else 1000
    games = _games(count)
    result = CaseResult("9", "batch throughput (games/s)", columns=COLUMNS)
    result.plot_y = "wall time (s)"

    def add(
        method: str, seconds: float, found: list[int] | None, note: str = "", games_row: bool = True
    ) -> Row:
        row = Row("9", "mixed 3x3/6x6", str(count), float(count), method, "ours", Timing((seconds,), seconds))
        if games_row:
            row.extra["games_per_s"] = count / seconds
        if found is not None:
            mismatched = sum(a != b for a, b in zip(found, reference, strict=True))
            row.note = (note + "; " if note else "") + f"{mismatched} answers differ from sequential"
        else:
            row.note = note
        result.rows.append(row)
        print(f"  [9] {method}: {seconds:.2f} s", file=sys.stderr, flush=True)
        return row

    start = time.perf_counter()
    reference = [len(solve(NormalFormGame(g)).equilibria) for g in games]
    sequential = add("in-process sequential (solver.solve loop)", time.perf_counter() - start, None)
    sequential.kind = "reference"

    start = time.perf_counter()
    items = batch.solve_many(games, backend="process", num_cpus=2)
    add(
        "process pool, 2 workers (batch.solve_many)",
        time.perf_counter() - start,
        [len(i.result.equilibria) if i.ok else -1 for i in items],
        "pool start-up included",
    )

    process, target = _server()
    try:
        with Client.connect(target, timeout=600) as client:
            client.health()
            start = time.perf_counter()
            answers = [len(i.result.equilibria) if i.ok else -1 for i in client.solve_many(games)]
            add(
                "server SolveGames stream, 2 workers",
                time.perf_counter() - start,
                answers,
                "server start excluded",
            )
    finally:
        process.terminate()
        process.wait(timeout=60)

    for cpus in (2,) if cfg.quick else (1, 2):  # quick: one Ray start-up (about 10 s)
        start = time.perf_counter()
        ray_backend.init_ray("local", num_cpus=cpus)
        add(f"Ray start-up ({cpus} CPU)", time.perf_counter() - start, None, "ray.init, loopback only", False)
        try:
            start = time.perf_counter()
            items = batch.solve_many(games, backend="ray")
            add(
                f"Ray, {cpus} CPU (batch.solve_many)",
                time.perf_counter() - start,
                [len(i.result.equilibria) if i.ok else -1 for i in items],
                "start-up excluded",
            )
        finally:
            ray_backend.shutdown_ray()

    base = sequential.extra["games_per_s"]
    for row in result.rows:
        if "games_per_s" in row.extra:
            row.extra["vs_sequential"] = row.extra["games_per_s"] / base
    result.notes += [
        f"{count} seeded N(0,1) games, half 3x3 and half 6x6, every Nash equilibrium (method auto); "
        "one run per method. games/s = games / wall time; 'vs sequential' = games/s / the in-process loop's.",
        "Answers are checked against the sequential loop (number of equilibria per game).",
        "The machine's other load slows every row; the pool, server and Ray rows use 2 worker processes "
        "(Ray 1 CPU: one).",
    ]
    return result
