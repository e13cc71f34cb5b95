"""Case 9: batch throughput (games/s) of every way to solve many small games.

``N`` seeded N(0,1) games (half 3x3, half 6x6; quick 100, full 1000), every Nash
equilibrium of each, solved:

1. in-process, sequentially: ``equilibria.solver.solve`` in a loop (the reference);
2. the process pool: ``equilibria.service.batch.solve_many(backend="process", num_cpus=2)``
   (pool start-up included: that is what a notebook pays);
3. the server's ``SolveGames`` stream: ``Client.solve_many`` against
   ``equilibria serve --workers 2`` on 127.0.0.1 (server start-up, up to its health turning
   SERVING once its kernels are warm, excluded);
4. Ray with 1 and 2 CPUs: ``batch.solve_many(backend="ray")`` on a loopback-only local Ray
   (``ray_backend.init_ray``); Ray's start-up is timed and reported on its own row.

The in-process loop and the server alternate for :data:`ROUNDS` rounds (one when quick),
each round on fresh games, and the median of each is shown: the machine's speed drifts
over minutes, and alternating puts the drift on both. The pool and Ray run once (a batch
of N is the measurement). Every answer is checked against the sequential reference
(same number of equilibria).
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


#: Rounds of the in-process loop and the server, alternating (full run; quick: one).
ROUNDS = 3


def _games(count: int, round_: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed_for("case9", count, round_) if round_ else seed_for("case9", count))
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
    target = None
    for line in process.stdout:
        match = re.search(r"listening on (\S+)", line)
        if match:
            target = match.group(1)
        if target and "ready: health SERVING" in line:  # its kernels warm: start-up is over
            return process, target
    raise RuntimeError("bench case 9: the server did not start")


def case9(cfg: Any, worker: Any) -> CaseResult:
    """Batch throughput: sequential, process pool, SolveGames, Ray at 1 and 2 CPUs."""
    from equilibria.client import Client
    from equilibria.service import batch, ray_backend
    from equilibria.solver import NormalFormGame, solve

    count = 100 if cfg.quick else 1000
    rounds = 1 if cfg.quick else ROUNDS
    games = _games(count)
    result = CaseResult("9", "batch throughput (games/s)", columns=COLUMNS)
    result.plot_y = "wall time (s)"

    def add(
        method: str,
        seconds: list[float],
        found: list[list[int]] | None,
        note: str = "",
        games_row: bool = True,
    ) -> Row:
        timing = Timing(tuple(seconds), seconds[0])
        row = Row("9", "mixed 3x3/6x6", str(count), float(count), method, "ours", timing)
        if games_row:
            row.extra["games_per_s"] = count / timing.median
        if found is not None:
            mismatched = sum(
                a != b
                for got, want in zip(found, references, strict=True)
                for a, b in zip(got, want, strict=True)
            )
            row.note = (note + "; " if note else "") + f"{mismatched} answers differ from sequential"
        else:
            row.note = note
        result.rows.append(row)
        shown = ", ".join(f"{t:.2f}" for t in seconds)
        print(f"  [9] {method}: {shown} s", file=sys.stderr, flush=True)
        return row

    # The in-process loop and the server alternate, round by round, on fresh games each
    # round (no cache hit): the machine's drift over minutes falls on both alike.
    process, target = _server()
    references: list[list[int]] = []
    sequential_times: list[float] = []
    server_times: list[float] = []
    answers: list[list[int]] = []
    try:
        with Client.connect(target, timeout=600) as client:
            client.health()
            for round_games in [games] + [_games(count, round_) for round_ in range(1, rounds)]:
                start = time.perf_counter()
                references.append([len(solve(NormalFormGame(g)).equilibria) for g in round_games])
                sequential_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                answers.append(
                    [len(i.result.equilibria) if i.ok else -1 for i in client.solve_many(round_games)]
                )
                server_times.append(time.perf_counter() - start)
    finally:
        process.terminate()
        process.wait(timeout=60)
    sequential = add("in-process sequential (solver.solve loop)", sequential_times, None)
    sequential.kind = "reference"
    add("server SolveGames stream, 2 workers", server_times, answers, "server start excluded")
    references = references[:1]  # the rows below solve round 0's games

    start = time.perf_counter()
    items = batch.solve_many(games, backend="process", num_cpus=2)
    add(
        "process pool, 2 workers (batch.solve_many)",
        [time.perf_counter() - start],
        [[len(i.result.equilibria) if i.ok else -1 for i in items]],
        "pool start-up included",
    )

    for cpus in (2,) if cfg.quick else (1, 2):  # quick: one Ray start-up (about 10 s)
        start = time.perf_counter()
        ray_backend.init_ray("local", num_cpus=cpus)
        add(
            f"Ray start-up ({cpus} CPU)",
            [time.perf_counter() - start],
            None,
            "ray.init, loopback only",
            False,
        )
        try:
            start = time.perf_counter()
            items = batch.solve_many(games, backend="ray")
            add(
                f"Ray, {cpus} CPU (batch.solve_many)",
                [time.perf_counter() - start],
                [[len(i.result.equilibria) if i.ok else -1 for i in items]],
                "start-up excluded",
            )
        finally:
            ray_backend.shutdown_ray()

    base = sequential.extra["games_per_s"]
    for row in result.rows:
        if "games_per_s" in row.extra:
            row.extra["vs_sequential"] = row.extra["games_per_s"] / base
    result.notes += [
        f"{count} seeded N(0,1) games, half 3x3 and half 6x6, every Nash equilibrium (method auto). "
        f"The in-process loop and the server alternate for {rounds} round(s), fresh games each round "
        "(no cache hit; median shown); the pool and Ray rows run once. "
        "games/s = games / wall time; 'vs sequential' = games/s / the in-process loop's.",
        "Answers are checked against the sequential loop (number of equilibria per game).",
        "The machine's other load slows every row; the pool, server and Ray rows use 2 worker processes "
        "(Ray 1 CPU: one).",
    ]
    return result
