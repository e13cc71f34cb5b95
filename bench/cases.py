"""The benchmark cases. Each returns a :class:`~bench.report.CaseResult`.

The project runs in-process; anchors that can be slow (or hang) run in a
:class:`~bench.worker.Worker` child with a per-run time cap. Once a method hits its cap
on a family, larger sizes of that family are skipped for it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench import games
from bench.case6 import case6
from bench.case7 import case7
from bench.case9 import case9
from bench.case10 import case10
from bench.case11 import case11
from bench.case12 import case12
from bench.methods import Outcome, Profile, get
from bench.report import VALUE_COLUMNS, CaseResult, Row, fmt_seconds
from bench.timing import Timing, measure, measure_together
from bench.worker import Worker

__all__ = ["Config", "CASES"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes and time limits of a run."""

    quick: bool
    budget: float  # seconds of repeats per (method, game)
    cap: float  # per-run cap of the capped anchors
    reference_cap: float  # per-run cap of the exact reference (case 1)

    @classmethod
    def make(cls, quick: bool) -> Config:
        if quick:
            return cls(quick=True, budget=0.3, cap=3.0, reference_cap=5.0)
        return cls(quick=False, budget=2.0, cap=20.0, reference_cap=60.0)


def _size(payoffs: np.ndarray) -> str:
    return "x".join(str(k) for k in payoffs.shape[1:])


def _inprocess(method: str, payoffs: np.ndarray, cfg: Config) -> tuple[Timing, Outcome | None, str]:
    m = get(method)
    state = m.prepare(payoffs)
    try:
        timing, raw = measure(lambda: m.run(state), budget=cfg.budget)
    except Exception as exc:  # a failure is a result, not a crash of the run
        return Timing(), None, f"{type(exc).__name__}: {exc}"
    return timing, m.extract(raw, state), ""


def _distinct(profiles: Sequence[Profile], tol: float) -> list[Profile]:
    kept: list[Profile] = []
    flat = []
    for p in profiles:
        v = np.concatenate(p)
        if not any(v.shape == w.shape and np.max(np.abs(v - w)) <= tol for w in flat):
            kept.append(p)
            flat.append(v)
    return kept


def _missed(reference: Sequence[Profile], found: Sequence[Profile], tol: float) -> int:
    flat = [np.concatenate(p) for p in found]
    missed = 0
    for p in reference:
        v = np.concatenate(p)
        if not any(v.shape == w.shape and np.max(np.abs(v - w)) <= tol for w in flat):
            missed += 1
    return missed


def _nash_conv(payoffs: np.ndarray, profile: Profile) -> float:
    from equilibria.solver import NormalFormGame, certify

    return float(certify(NormalFormGame(payoffs), tuple(np.asarray(s, float) for s in profile)).nash_conv)


class _Runner:
    """Runs methods in-process or capped in the worker; remembers which ones timed out."""

    def __init__(self, case: str, cfg: Config, worker: Worker) -> None:
        self.case, self.cfg, self.worker = case, cfg, worker
        self.stopped: dict[tuple[str, str], str] = {}

    def run(
        self,
        method: str,
        family: str,
        payoffs: np.ndarray,
        *,
        n: float,
        kind: str,
        label: str | None = None,
        capped: bool = False,
        cap: float | None = None,
        budget: float | None = None,
        skip: str = "",
    ) -> tuple[Row, Outcome | None]:
        label = label or method
        row = Row(self.case, family, _size(payoffs), n, label, kind, Timing())
        if skip:
            row.note = skip
            return row, None
        if (label, family) in self.stopped:
            row.note = f"skipped: {self.stopped[(label, family)]}"
            return row, None
        print(f"  [{self.case}] {family} {row.size} {label} ...", end="", flush=True)
        if capped:
            limit = cap if cap is not None else self.cfg.cap
            result = self.worker.run(
                method, payoffs, budget=self.cfg.budget if budget is None else budget, cap=limit
            )
            timing, outcome, error = result.timing, result.outcome, result.error
            if timing.timed_out:
                self.stopped[(label, family)] = f"> {fmt_seconds(limit)} at {row.size}"
        else:
            timing, outcome, error = _inprocess(method, payoffs, self.cfg)
        row.timing = timing
        if error:
            row.note = error[:120]
        elif outcome is not None and outcome.info:
            row.note = outcome.info
        print(f" {fmt_seconds(timing.median) if timing.ok else ('timeout' if timing.timed_out else 'error')}")
        return row, outcome

    def run_together(
        self, methods: Sequence[tuple[str, str, str]], family: str, payoffs: np.ndarray, *, n: float
    ) -> list[tuple[Row, Outcome | None]]:
        """In-process methods ``(method, kind, label)`` on one game, their samples interleaved.

        See :func:`bench.timing.measure_together`: for microsecond calls whose ratio must
        not depend on when each was measured. If any of them fails, each is measured on
        its own instead (so the failure is that method's row only).
        """
        size = _size(payoffs)
        print(
            f"  [{self.case}] {family} {size} {' | '.join(label for _, _, label in methods)} ...",
            end="",
            flush=True,
        )
        chosen = [get(method) for method, _, _ in methods]
        states = [m.prepare(payoffs) for m in chosen]
        try:
            measured = measure_together(
                [lambda m=m, s=s: m.run(s) for m, s in zip(chosen, states, strict=True)],
                budget=self.cfg.budget,
            )
        except Exception:  # noqa: BLE001 - fall back: each method alone, its error in its row
            print(" (one failed: measuring each alone)")
            return [
                self.run(method, family, payoffs, n=n, kind=kind, label=label)
                for method, kind, label in methods
            ]
        rows = []
        for (_, kind, label), m, state, (timing, raw) in zip(methods, chosen, states, measured, strict=True):
            outcome = m.extract(raw, state)
            rows.append(
                (Row(self.case, family, size, n, label, kind, timing, note=outcome.info or ""), outcome)
            )
        print(" " + " | ".join(fmt_seconds(row.timing.median) for row, _ in rows))
        return rows


# --------------------------------------------------------------------------- case 1


def case1(cfg: Config, worker: Worker) -> CaseResult:
    """2-player, every equilibrium."""
    result = CaseResult("1", "2-player, all equilibria (vertex enumeration)")
    if cfg.quick:
        plan = {
            "random_integer": [4, 8],
            "standard_normal": [4, 8],
            "identity": [4, 8],
            "degenerate": [4, 8],
        }
    else:
        plan = {
            "random_integer": [4, 6, 8, 10, 12],
            "standard_normal": [4, 6, 8, 10, 12],
            "identity": [4, 6, 8, 10],
            "degenerate": [4, 6, 8, 10],
        }
    runner = _Runner("1", cfg, worker)
    tol = 1e-7
    for family, sizes in plan.items():
        for n in sizes:
            payoffs = games.BIMATRIX_FAMILIES[family](n)
            ref_row, ref = runner.run(
                "gambit enummixed rational",
                family,
                payoffs,
                n=n,
                kind="reference",
                label="gambit enummixed rational (reference)",
                capped=True,
                cap=cfg.reference_cap,
                budget=0.0,
            )
            rows: list[tuple[Row, Outcome | None]] = [(ref_row, ref)]
            rows.append(runner.run("ours solve", family, payoffs, n=n, kind="ours"))
            rows.append(
                runner.run("gambit enummixed float", family, payoffs, n=n, kind="anchor", capped=True)
            )
            for method in ("nashpy support_enumeration", "nashpy vertex_enumeration"):
                skip = "skipped in --quick: n > 4" if cfg.quick and n > 4 else ""
                rows.append(
                    runner.run(
                        method, family, payoffs, n=n, kind="anchor", capped=True, cap=cfg.cap / 2, skip=skip
                    )
                )
            reference = ref.equilibria if ref is not None and ref.equilibria is not None else None
            ref_name = "exact"
            if reference is None:
                fallback = rows[2][1]
                reference = fallback.equilibria if fallback is not None else None
                ref_name = "gambit float (exact reference timed out)"
            for row, outcome in rows:
                if outcome is None or outcome.equilibria is None:
                    continue
                distinct = _distinct(outcome.equilibria, tol)
                row.found = len(distinct)
                if reference is not None:
                    row.missed = _missed(reference, distinct, tol)
                    if ref_name != "exact" and row.kind != "reference":
                        row.note = (row.note + "; " if row.note else "") + f"missed vs {ref_name}"
            result.rows += [row for row, _ in rows]
    result.notes += [
        "ours = equilibria.solver.solve(game) (auto: vertex enumeration), in-process; the anchors run in a "
        f"child process with a per-run cap (nashpy {fmt_seconds(cfg.cap / 2)}, pygambit enummixed float "
        f"{fmt_seconds(3 * cfg.cap)}, the exact reference "
        f"{fmt_seconds(cfg.reference_cap)}, one run); a method that hits its cap is skipped at larger sizes.",
        "found = distinct equilibria returned (tol 1e-7); missed = equilibria of pygambit "
        "enummixed_solve(rational=True) not among them (max-abs difference <= 1e-7 after conversion to float).",
        "The exact reference runs on the game scaled to integers (standard_normal payoffs have 3 decimals; "
        "x1000 leaves the equilibria unchanged); pygambit's exact arithmetic on raw decimals is ~10x slower.",
        "nashpy support_enumeration is not designed for degenerate games (it only tries equal-size supports), "
        "so it misses equilibria there by construction.",
    ]
    return result


# --------------------------------------------------------------------------- case 2


_NUMBA_PROBE = textwrap.dedent(
    """
    import time
    t = time.perf_counter()
    import numpy as np
    from quantecon.game_theory import NormalFormGame, Player, lemke_howson
    t_import = time.perf_counter() - t
    rng = np.random.default_rng(0)
    g = NormalFormGame((Player(rng.standard_normal((10, 10))), Player(rng.standard_normal((10, 10)))))
    t = time.perf_counter(); lemke_howson(g); t_first = time.perf_counter() - t
    t = time.perf_counter(); lemke_howson(g); t_second = time.perf_counter() - t
    print(t_import, t_first, t_second)
    """
)


def _numba_compile_times() -> tuple[float, float, float] | None:
    """Import, first call (numba compile) and second call of QuantEcon's lemke_howson, in a
    fresh process with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        try:
            out = subprocess.run(
                [sys.executable, "-c", _NUMBA_PROBE], env=env, capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            return None
    try:
        t_import, t_first, t_second = (float(x) for x in out.stdout.split())
    except ValueError:
        return None
    return t_import, t_first, t_second


#: Paths under this many pivots are short: their games are timed built in the call too.
SHORT_PIVOTS = 30


def _short_path(family: str, size: int, ours: Row) -> bool:
    """The short paths of the Lemke-Howson target (Morris games, SGC 19, paths under
    :data:`SHORT_PIVOTS` pivots), whose target counts the game's construction on both
    sides: a game solved once, the common case, where one-time work dominates."""
    pivots = re.search(r"(\d+) pivots", ours.note)
    return (
        family == "morris"
        or (family == "sgc" and size == 5)
        or bool(pivots and int(pivots[1]) < SHORT_PIVOTS)
    )


def case2(cfg: Config, worker: Worker) -> CaseResult:
    """2-player, one equilibrium by Lemke-Howson."""
    result = CaseResult("2", "2-player, one equilibrium (Lemke-Howson)")
    if cfg.quick:
        plan: dict[str, list[int]] = {
            "standard_normal": [50, 100],
            "morris": [8, 12],
            "sgc": [5, 10],
            "unit_vector": [50],
            "tournament": [10],
        }
    else:
        plan = {
            "standard_normal": [50, 100, 200, 400],
            "morris": [8, 10, 12, 14, 16],
            "sgc": [5, 10, 25],
            "unit_vector": [50, 100, 200],
            "tournament": [10, 20],
        }
    probe = None if cfg.quick else _numba_compile_times()
    # Warm QuantEcon's jitted code in this process (cached compile or fresh), timed once.
    from quantecon.game_theory import NormalFormGame, Player, lemke_howson

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    lemke_howson(NormalFormGame((Player(rng.standard_normal((5, 5))), Player(rng.standard_normal((5, 5))))))
    first_here = time.perf_counter() - start
    runner = _Runner("2", cfg, worker)
    nashpy_max = 20
    for family, sizes in plan.items():
        for size in sizes:
            payoffs = games.BIMATRIX_FAMILIES[family](size)
            n = float(max(payoffs.shape[1:]))
            rows = [
                *runner.run_together(
                    [
                        ("ours lemke_howson", "ours", "ours lemke_howson"),
                        ("quantecon lemke_howson", "anchor", "quantecon lemke_howson (warm)"),
                    ],
                    family,
                    payoffs,
                    n=n,
                ),
                runner.run("gambit lcp", family, payoffs, n=n, kind="anchor", capped=True),
                runner.run(
                    "nashpy lemke_howson",
                    family,
                    payoffs,
                    n=n,
                    kind="anchor",
                    capped=True,
                    cap=1.0 if cfg.quick else 10.0,
                    skip="" if n <= nashpy_max else f"skipped: n > {nashpy_max} (can hang)",
                ),
            ]
            if _short_path(family, size, rows[0][0]):
                rows += runner.run_together(
                    [
                        ("ours lemke_howson fresh", "ours", "ours lemke_howson (fresh game)"),
                        ("quantecon lemke_howson fresh", "anchor", "quantecon lemke_howson (fresh game)"),
                    ],
                    family,
                    payoffs,
                    n=n,
                )
            for row, outcome in rows:
                if outcome is None or not outcome.equilibria:
                    continue
                row.found = len(outcome.equilibria)
                worst = max(_nash_conv(payoffs, p) for p in outcome.equilibria)
                row.extra["nash_conv"] = worst
                row.note = (row.note + "; " if row.note else "") + f"NashConv {worst:.1e}"
            result.rows += [row for row, _ in rows]
    if probe is not None:
        result.notes.append(
            "QuantEcon numba cost, fresh process with an empty numba cache: import quantecon.game_theory "
            f"{probe[0]:.2f} s, first lemke_howson call (JIT compile) {probe[1]:.2f} s, second call "
            f"{fmt_seconds(probe[2])} on a 10x10 game. In this process the first call took {first_here:.2f} s "
            "(numba's on-disk cache). The table shows warm calls only."
        )
    else:
        result.notes.append(
            f"QuantEcon's first lemke_howson call in this process took {first_here:.2f} s (numba compile or "
            "its on-disk cache; the cold-cache compile time is measured in the full run only). The table "
            "shows warm calls only."
        )
    result.notes += [
        "ours = equilibria.solver.normal_form.lemke_howson.lemke_howson(game) (init_label 0, certified; retries other "
        "labels on round-off); QuantEcon lemke_howson(init_pivot=0); pygambit lcp_solve(rational=False, "
        "stop_after=1); nashpy lemke_howson(initial_dropped_label=0), only up to n = 20 (it can cycle on "
        "degenerate games) and under a cap. NashConv of every answer is measured with equilibria's certify.",
        "Ours and QuantEcon run in this process with their samples interleaved (one of each per round, "
        "bench.timing.measure_together), each sample the mean of a batch of back-to-back calls under 1 ms: "
        "this machine's speed was seen to change 2x within seconds, which made single-call medians taken "
        "one method after the other swing the ratio of the microsecond rows between 0.6x and 1.2x.",
        "morris = Savani-von Stengel hard games in their imitation-game form (Morris's labelled dual cyclic "
        "polytope, d x d): LH paths grow exponentially (2784 pivots at d = 16). Past d = 16 the float "
        "construction is too ill-conditioned (see bench/games.py). sgc k: size (4k-1)x(4k-1); tournament "
        "n: n x C(n, 2); unit_vector: n x n, no pure equilibrium (QuantEcon's generators).",
    ]
    return result


# --------------------------------------------------------------------------- case 3


def case3(cfg: Config, worker: Worker) -> CaseResult:
    """Welfare-maximising equilibrium: MILP against enumerate-then-maximise."""
    result = CaseResult("3", "welfare-maximising Nash equilibrium (utilitarian)", columns=VALUE_COLUMNS)
    if cfg.quick:
        plan = {"identity": [4, 8], "standard_normal": [4, 8]}
    else:
        plan = {"identity": [4, 6, 8, 10, 12, 14, 16], "standard_normal": [4, 8, 12, 16]}
    cap = 10.0 if cfg.quick else 30.0
    runner = _Runner("3", cfg, worker)
    for family, sizes in plan.items():
        for n in sizes:
            payoffs = games.BIMATRIX_FAMILIES[family](n)
            front = runner.run("ours solve (welfare)", family, payoffs, n=n, kind="ours")
            ours = runner.run("ours welfare_milp", family, payoffs, n=n, kind="ours")
            anchor = runner.run(
                "gambit enummixed+max welfare", family, payoffs, n=n, kind="anchor", capped=True, cap=cap
            )
            for row, outcome in (front, ours, anchor):
                if outcome is not None:
                    row.value = outcome.value
            for row, outcome in (front, ours):
                if outcome is not None and anchor[1] is not None and anchor[1].value is not None:
                    gap = anchor[1].value - (outcome.value or 0.0)
                    row.note += f"; gap to enumeration {gap:.1e}"
            result.rows += [front[0], ours[0], anchor[0]]
    result.notes += [
        "ours solve (welfare) = equilibria.solver.solve(game, ('welfare_nash',)), the front door users call, whose utilitarian "
        "welfare optimum comes from the complete enumeration on small games and from the MILP on larger ones "
        "(its note names which); ours welfare_milp = equilibria.solver.concepts.welfare_milp.welfare_milp(game) "
        "(HiGHS MILP, utilitarian welfare A+B); "
        "anchor = pygambit enummixed_solve(rational=False) then the maximum of the players' payoff sum over "
        f"the extreme equilibria, stopped at {fmt_seconds(cap)}; value = the maximal welfare found.",
        "identity n x n has 2**n - 1 extreme equilibria; the optimum (welfare 2) is any pure diagonal one.",
    ]
    return result


# --------------------------------------------------------------------------- case 4


def case4(cfg: Config, worker: Worker) -> CaseResult:
    """Zero-sum value by linear programming."""
    result = CaseResult("4", "zero-sum value (linear programming)", columns=VALUE_COLUMNS)
    sizes = [10, 50, 100] if cfg.quick else [10, 50, 100, 200, 500, 1000]
    runner = _Runner("4", cfg, worker)
    for n in sizes:
        payoffs = games.zero_sum(n)
        rows = [
            runner.run("ours zero_sum_value", "zero_sum", payoffs, n=n, kind="ours"),
            runner.run(
                "scipy linprog highs",
                "zero_sum",
                payoffs,
                n=n,
                kind="anchor",
                label="scipy linprog highs (floor)",
                capped=True,  # the simplex method takes over a minute at 1000 x 1000
            ),
            runner.run(
                "scipy linprog highs-ipm",
                "zero_sum",
                payoffs,
                n=n,
                kind="anchor",
                label="scipy linprog highs-ipm (floor)",
            ),
            runner.run("gambit lp", "zero_sum", payoffs, n=n, kind="anchor", capped=True),
        ]
        floors = [
            outcome.value for _, outcome in rows[1:3] if outcome is not None and outcome.value is not None
        ]
        floor = floors[0] if floors else None
        for row, outcome in rows:
            if outcome is None or outcome.value is None:
                continue
            row.value = outcome.value
            if floor is not None and row is not rows[1][0]:
                row.note = (
                    row.note + "; " if row.note else ""
                ) + f"|v - v_floor| {abs(outcome.value - floor):.1e}"
        result.rows += [row for row, _ in rows]
    result.notes += [
        "ours = equilibria.solver.normal_form.zero_sum.zero_sum_value(game, vertices=False) (value, both optimal "
        "strategies, certificate; it rescales A to [0, 1] and calls HiGHS's interior-point method: its simplex "
        "method is faster up to about 100 x 100 but its pairs were less accurate, NashConv 1.1e-8 at 200 x 200 "
        "against 8.6e-14); floor = one "
        "scipy linprog call, method 'highs' (HiGHS chooses the solver) and 'highs-ipm', on the row player's "
        "maximin LP (max v s.t. A^T x >= v 1, sum x = 1, x >= 0) built beforehand (value and x only); pygambit "
        "lp_solve(rational=False).",
    ]
    return result


# --------------------------------------------------------------------------- case 5


def case5(cfg: Config, worker: Worker) -> CaseResult:
    """n-player games."""
    result = CaseResult("5", "n-player games")
    shapes = [(3, 3)] if cfg.quick else [(3, 3), (3, 4), (3, 5), (4, 3)]
    have_nplayer = importlib.util.find_spec("equilibria.solver.normal_form.nplayer") is not None
    ours_method = "ours solve" if have_nplayer else "ours pure_enumeration"
    if have_nplayer:
        import pygambit  # noqa: F401  (ours calls pygambit: import it before timing, not in the first run)
    runner = _Runner("5", cfg, worker)
    cap_enumpoly = 10.0 if cfg.quick else 30.0
    tol = 1e-3
    for players, actions in shapes:
        payoffs = games.nplayer_normal(players, actions)
        family = f"{players} players"
        rows = [
            runner.run(ours_method, family, payoffs, n=actions, kind="ours"),
            runner.run(
                "gambit enumpoly", family, payoffs, n=actions, kind="anchor", capped=True, cap=cap_enumpoly
            ),
            *(
                runner.run(m, family, payoffs, n=actions, kind="anchor", capped=True)
                for m in ("gambit gnm", "gambit simpdiv", "gambit logit")
            ),
        ]
        reference = rows[1][1].equilibria if rows[1][1] is not None else None
        for row, outcome in rows:
            if outcome is None or outcome.equilibria is None:
                continue
            distinct = _distinct(outcome.equilibria, tol)
            row.found = len(distinct)
            if reference is not None:
                row.missed = _missed(_distinct(reference, tol), distinct, tol)
            if distinct:
                worst = max(_nash_conv(payoffs, p) for p in distinct)
                row.note = (row.note + "; " if row.note else "") + f"max NashConv {worst:.1e}"
        result.rows += [row for row, _ in rows]
    if have_nplayer:
        result.notes.append(
            "ours = equilibria.solver.solve(game) (equilibria.solver.normal_form.nplayer is present)."
        )
    else:
        result.notes.append(
            "equilibria.solver.normal_form.nplayer did not exist at run time, so ours = "
            "equilibria.solver.normal_form.pure.pure_enumeration(game): pure equilibria only, not comparable in scope."
        )
    result.notes += [
        "Random N(0,1) payoffs (3 decimals). found = distinct equilibria (more than 1e-3 max-abs apart); missed "
        "= equilibria of pygambit enumpoly_solve (when it finished) with no returned equilibrium within 1e-3 "
        "max-abs (enumpoly's own points can be inaccurate: NashConv up to 4e-4 on 3x4x4; logit and simpdiv are "
        "approximate by design).",
    ]
    return result


# --------------------------------------------------------------------------- case 8


def _start_process(args: list[str], marker: str) -> tuple[subprocess.Popen[str], str]:
    """Start a server process and read its ``... listening on HOST:PORT`` line."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if marker in line:
            # "... listening on 127.0.0.1:PORT (plaintext, ...)": the address is the first word.
            return proc, line.rsplit(marker, 1)[1].split()[0]
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{' '.join(args)} did not report '{marker}'")


def _stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _load(call: Callable[[], Any], callers: int, total: int) -> tuple[np.ndarray, float, int]:
    """``total`` calls spread over ``callers`` threads: latencies, wall time, errors."""
    import threading

    per = total // callers
    latencies = np.zeros(per * callers)
    errors = [0]
    barrier = threading.Barrier(callers + 1)

    def work(k: int) -> None:
        barrier.wait()
        for i in range(per):
            start = time.perf_counter()
            try:
                call()
            except Exception:
                errors[0] += 1
            latencies[k * per + i] = time.perf_counter() - start

    threads = [threading.Thread(target=work, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - start, errors[0]


def case8(cfg: Config, worker: Worker) -> CaseResult:
    """Service overhead: SolveGame through the client against a bare gRPC echo."""
    import grpc
    from equilibria.client import Client
    from equilibria.client._convert import solve_request

    from bench.echo import METHOD

    columns = [
        ("target", lambda r: r.family),
        ("callers", lambda r: r.size),
        ("calls", lambda r: str(r.extra.get("calls", ""))),
        ("p50", lambda r: fmt_seconds(r.extra.get("p50"))),
        ("p99", lambda r: fmt_seconds(r.extra.get("p99"))),
        ("throughput", lambda r: f"{r.extra.get('throughput', 0):.0f}/s"),
        ("errors", lambda r: str(r.extra.get("errors", ""))),
        ("vs echo (p50)", lambda r: r.ratio_text),
        ("note", lambda r: r.note),
    ]
    result = CaseResult("8", "service overhead (loopback gRPC)", columns=columns, plot_y="p50 latency (s)")
    total = 96 if cfg.quick else 2000
    game = ([[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]])
    request_bytes = solve_request(
        game,
        concepts=("nash",),
        method="auto",
        tolerance=0.0,
        exact=False,
        max_equilibria=0,
        time_budget=None,
    ).SerializeToString()  # what Client.solve(game) sends
    server, address = _start_process(
        ["-m", "equilibria.service.cli", "serve", "--address", "127.0.0.1:0", "--workers", "2"],
        "listening on",
    )
    echo, echo_address = _start_process(["-m", "bench.echo", "--address", "127.0.0.1:0"], "listening on")
    try:
        with Client.connect(address, timeout=30.0) as client:
            channel = grpc.insecure_channel(echo_address)
            echo_call = channel.unary_unary(METHOD)
            # Distinct games, one per call (none answered from the server's cache): seeded 2x2
            # integer payoffs; itertools.count's next() is atomic under the GIL.
            fresh = np.random.default_rng(games.seed_for("case8")).integers(-5, 6, size=(4 * total, 2, 2, 2))
            counter = itertools.count()

            def new_game() -> Any:
                k = next(counter) % len(fresh)
                return client.solve((fresh[k, 0].astype(float), fresh[k, 1].astype(float)))

            targets: dict[str, Callable[[], Any]] = {
                "echo (bare grpc)": lambda: echo_call(request_bytes, timeout=30.0),
                "SolveGame via Client": lambda: client.solve(game),
                "SolveGame via Client, a new game per call": new_game,
            }
            for name, call in targets.items():
                for _ in range(20):  # warm-up: channels, worker processes, imports
                    call()
                for callers in (1, 8, 64):
                    latencies, wall, errors = _load(call, callers, total)
                    calls = len(latencies)
                    row = Row(
                        "8",
                        name,
                        str(callers),
                        callers,
                        name,
                        "anchor" if name.startswith("echo") else "ours",
                        Timing(samples=(float(np.median(latencies)),)),
                    )
                    row.extra.update(
                        calls=calls,
                        p50=float(np.percentile(latencies, 50)),
                        p99=float(np.percentile(latencies, 99)),
                        throughput=calls / wall,
                        errors=errors,
                    )
                    result.rows.append(row)
                    print(
                        f"  [8] {name} callers={callers}: p50 {fmt_seconds(row.extra['p50'])}, {calls / wall:.0f}/s"
                    )
            channel.close()
    finally:
        _stop_process(echo)
        _stop_process(server)
    echo_p50 = {r.size: r.extra["p50"] for r in result.rows if r.family.startswith("echo")}
    for row in result.rows:
        row.ratio = row.extra["p50"] / echo_p50[row.size]
        row.ratio_text = f"{row.ratio:.1f}x"
    from equilibria.solver import NormalFormGame, solve

    g = NormalFormGame.from_bimatrix(*game)
    timing, _ = measure(lambda: solve(g), budget=1.0)
    result.notes += [
        f"Server: python -m equilibria.service.cli serve --workers 2 on 127.0.0.1 (separate process); echo: "
        f"python -m bench.echo (grpc.aio, generic handler, returns the {len(request_bytes)}-byte serialized "
        "SolveGameRequest). Client threads share one channel per target; 20 warm-up calls first.",
        "'SolveGame via Client' sends the same 2x2 game (prisoner's dilemma) every time: after the first "
        "call the server's solve cache answers it (conversion, cache lookup, gRPC). 'a new game per call' "
        "sends distinct seeded 2x2 integer games: every call is solved in a worker process.",
        f"The prisoner's dilemma solved in-process takes {fmt_seconds(timing.median)} "
        "(equilibria.solver.solve, median): the rest of a new game's latency is service overhead "
        "(conversion, worker-process dispatch, gRPC).",
        f"{total} calls per row, split evenly over the callers; p50/p99 of per-call latency; "
        "throughput = calls / wall time.",
    ]
    return result


def not_implemented(key: str, title: str) -> Callable[[Config, Worker], CaseResult]:
    def run(cfg: Config, worker: Worker) -> CaseResult:
        return CaseResult(key, title, implemented=False)

    return run


CASES: dict[str, tuple[str, Callable[[Config, Worker], CaseResult]]] = {
    "1": ("2-player, all equilibria", case1),
    "2": ("2-player, one equilibrium (Lemke-Howson)", case2),
    "3": ("welfare-maximising equilibrium", case3),
    "4": ("zero-sum value", case4),
    "5": ("n-player games", case5),
    "6": ("stochastic games (zero-sum, general-sum)", case6),
    "7": ("trace scoring throughput", case7),
    "8": ("service overhead", case8),
    "9": ("batch throughput", case9),
    "10": ("2-player, all equilibria against lrsnash", case10),
    "11": ("alpha-Rank against OpenSpiel", case11),
    "12": ("max-entropy CE and replicator dynamics against scipy; the sample stream", case12),
}
