"""``python -m bench.run [--quick] [--out bench/results] [--cases 1,2,...]``.

Runs the cases one after another (never in parallel), prints a table per case and
writes ``<out>/case<N>.csv``, ``<out>/case<N>.png`` and ``<out>/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from typing import Any

from bench.cases import CASES, Config
from bench.report import (
    CaseResult,
    add_ratios,
    machine_info,
    print_case,
    write_case_markdown,
    write_csv,
    write_markdown,
    write_png,
)
from bench.worker import Worker

__all__ = ["main", "targets", "warm_kernels"]


def targets(cases: dict[str, CaseResult]) -> dict[str, list[str]]:
    """The project's targets per case key, row by row: which sizes meet them and which do not."""
    lines: dict[str, list[str]] = {}
    if "1" in cases:
        behind, met = [], []
        for row in cases["1"].rows:
            if row.kind != "ours" or row.n < 8:
                continue
            if not row.timing.ok:
                behind.append(f"{row.family} {row.size} (no result)")
                continue
            anchor = next(
                (
                    r
                    for r in cases["1"].rows
                    if (r.family, r.size, r.method) == (row.family, row.size, "gambit enummixed float")
                ),
                None,
            )
            if anchor is None or not anchor.timing.ok:
                speed = "gambit enummixed float did not finish"
                ok_speed = True
            else:
                ratio = row.timing.median / anchor.timing.median
                speed = f"{ratio:.2f}x gambit enummixed float"
                ok_speed = ratio <= 0.5
            ok = ok_speed and (row.missed or 0) == 0
            (met if ok else behind).append(f"{row.family} {row.size}: {speed}, missed {row.missed}")
        lines["1"] = [
            "Case 1 target (<= 0.5x pygambit enummixed float at n >= 8, zero missed): "
            f"behind at {'; '.join(behind) if behind else 'none'}. Met at {'; '.join(met) if met else 'none'}."
        ]
    if "10" in cases:
        behind, met = [], []
        for row in cases["10"].rows:
            if row.kind != "ours":
                continue
            exact = "exact" in row.method
            bound = 1.0 if exact else 0.5
            if row.ratio is None:
                behind.append(f"{row.family} {row.size} {row.method}: {row.note or 'no ratio'}")
                continue
            ok = row.ratio <= bound and (row.missed or 0) == 0
            (met if ok else behind).append(
                f"{row.family} {row.size} {row.method}: {row.ratio:.2f}x lrsnash, missed {row.missed}"
            )
        lines["10"] = [
            "Case 10 target (float <= 0.5x lrsnash at n = 10..18, exact=True <= 1x at n = 8..14, zero missed): "
            f"behind at {'; '.join(behind) if behind else 'none'}. Met at {'; '.join(met) if met else 'none'}."
        ]
    if "9" in cases:
        row = next((r for r in cases["9"].rows if r.method.startswith("server SolveGames")), None)
        if row is not None:
            ratio = row.extra.get("vs_sequential", float("nan"))
            ok = ratio >= 1.0 and row.note.endswith(" 0 answers differ from sequential")
            lines["9"] = [
                "Case 9 target (SolveGames >= 1x the in-process loop's games/s on 2 workers, every answer "
                f"the loop's): {'met' if ok else 'behind'}, {ratio:.2f}x ({row.note})."
            ]
    if "2" in cases:
        lines["2"] = _case2_target(cases["2"].rows)
    return lines


def _case2_target(rows: list[Any]) -> list[str]:
    """Case 2's target line: each game's Lemke-Howson at most QuantEcon's warm time and
    pygambit's lcp_solve; on the short paths (those with a fresh-game row), at most 0.9x
    QuantEcon with each game built in the timed call on both sides, as issue #21 sets it."""

    def find(row: Any, method: str) -> Any:
        return next((r for r in rows if (r.family, r.size, r.method) == (row.family, row.size, method)), None)

    def ratio(ours: Any, anchor: Any) -> float | None:
        if ours is None or anchor is None or not ours.timing.ok or not anchor.timing.ok:
            return None
        return float(ours.timing.median / anchor.timing.median)

    behind, met = [], []
    for row in rows:
        if row.method != "ours lemke_howson":
            continue
        parts, ok = [], row.timing.ok
        fresh = find(row, "ours lemke_howson (fresh game)")
        warm = ratio(row, find(row, "quantecon lemke_howson (warm)"))
        if fresh is not None:
            built = ratio(fresh, find(row, "quantecon lemke_howson (fresh game)"))
            ok = ok and built is not None and built <= 0.9
            parts.append(
                f"fresh games {built:.2g}x quantecon" if built is not None else "fresh games: no ratio"
            )
            if warm is not None:
                parts.append(f"reused {warm:.2g}x")
        elif warm is not None:
            ok = ok and warm <= 1.0
            parts.append(f"{warm:.2g}x quantecon")
        gambit = find(row, "gambit lcp")
        lcp = ratio(row, gambit)
        if lcp is not None:
            ok = ok and lcp <= 1.0
            parts.append(f"{lcp:.2g}x gambit")
        elif gambit is not None and gambit.timing.timed_out:
            parts.append("gambit lcp > cap")
        (met if ok else behind).append(f"{row.family} {row.size} ({', '.join(parts)})")
    return [
        "Case 2 target (<= 1x QuantEcon warm lemke_howson and <= 1x pygambit lcp_solve; short paths - "
        "Morris, SGC 19, under 30 pivots - <= 0.9x QuantEcon with the game built in the call on both "
        f"sides): behind at {'; '.join(behind) if behind else 'none'}. "
        f"Met at {'; '.join(met) if met else 'none'}."
    ]


def warm_kernels() -> float:
    """Compile (or load from numba's on-disk cache) every numba kernel of the project now.

    Otherwise the first timed call of a method pays it, and a call slower than half the
    budget is timed once: a compile would be reported as the method's time. Returns seconds.
    """
    from equilibria.solver.kernels import compile_all

    return compile_all()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and budgets (< 2 min)")
    parser.add_argument("--out", default="bench/results", help="output folder (default bench/results)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case keys (default: all)")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    unknown = [k for k in keys if k not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; expected some of {', '.join(CASES)}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = Config.make(args.quick)
    info = machine_info()
    info["equilibria numba kernels at start (compile or on-disk cache)"] = f"{warm_kernels():.2f} s"
    print("equilibria benchmark  " + "  ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    started = time.perf_counter()
    command = "python -m bench.run" + (" --quick" if args.quick else "")
    if args.cases != ",".join(CASES):
        command += f" --cases {args.cases}"
    done: dict[str, CaseResult] = {}
    with Worker() as worker:
        for key in keys:
            title, run = CASES[key]
            print(f"\n-- case {key}: {title}", flush=True)
            case_start = time.perf_counter()
            case = run(cfg, worker)
            case.elapsed = time.perf_counter() - case_start
            if key in ("1", "2", "3", "4", "5"):
                add_ratios(case.rows)
            done[key] = case
            print_case(case)
            if case.implemented:
                write_csv(case, out)
                write_png(case, out)
            write_case_markdown(
                case, out, info=info, command=command, targets=targets({key: case}).get(key, [])
            )
    total = time.perf_counter() - started
    print("\n== targets")
    for key in done:
        for line in targets(done).get(key, []):
            print(f"  * {line}")
    path = write_markdown(out, info=info)
    print(f"\ntotal {total:.1f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
