"""Case 6: stochastic games, zero-sum (Shapley) and general-sum (stationary equilibria).

Zero-sum: ``S`` states x 3x3 actions, 5 random successors per state and joint action,
discount 0.9, tolerance 1e-8 on the values. The project's Hoffman-Karp strategy
iteration and Shapley value iteration (batched stage games) run against the floor a
user would write: Shapley iteration with one ``scipy.optimize.linprog(method="highs")``
per state per sweep (:func:`linprog_shapley`), stopped at a time limit.

General-sum: ``S`` states x 2 players x 3 actions, same transitions, rewards uniform in
[0, 1). The project's single QRE path (``qre_homotopy``) and ``stationary_equilibria``
(one QRE path plus tracing paths) run against sgamesolver's QRE homotopy
(Eibelshäuser & Poensgen), one path.

sgamesolver 1.0.2 needs numpy < 2 and Cython < 3, so it runs in its own virtual
environment, made on demand in ``$XDG_CACHE_HOME/equilibria-bench/sgamesolver-venv``
(default ``~/.cache/...``; set ``EQUILIBRIA_BENCH_SGAMESOLVER=0`` to skip it), in a
child process that receives each game as an ``.npz`` file and returns its timings and
its strategies; those are certified here with
:func:`equilibria.solver.certify_markov`, like every other method's answer.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.games import seed_for
from bench.report import DEFAULT_COLUMNS, CaseResult, Row, add_ratios, fmt_seconds
from bench.timing import Timing, measure

__all__ = ["case6", "stochastic_game", "linprog_shapley", "sgamesolver_python", "COLUMNS"]

FloatArray = npt.NDArray[np.float64]
Policies = tuple[FloatArray, ...]

ACTIONS = 3
SUCCESSORS = 5
DISCOUNT = 0.9
TOL = 1e-8

# --------------------------------------------------------------------------- games


@dataclasses.dataclass(frozen=True)
class SeededGame:
    """Rewards ``(S, 2, a, a)`` and transitions as a coordinate triple in the row layout
    of :class:`equilibria.solver.StochasticGame` (row ``s * a * a + a0 * a + a1``)."""

    family: str
    n_states: int
    rewards: FloatArray
    rows: npt.NDArray[np.int64]
    next_states: npt.NDArray[np.int64]
    probabilities: FloatArray
    discount: float

    def ours(self) -> Any:
        from equilibria.solver import StochasticGame

        return StochasticGame(
            self.rewards, (self.rows, self.next_states, self.probabilities), discount=self.discount
        )

    def dense_transitions(self) -> FloatArray:
        """``(S, a, a, S)``, the layout sgamesolver takes (one ``(a, a, S)`` block per state)."""
        s, a = self.n_states, self.rewards.shape[-1]
        dense = np.zeros((s * a * a, s))
        np.add.at(dense, (self.rows, self.next_states), self.probabilities)
        return dense.reshape(s, a, a, s)


def stochastic_game(family: str, n_states: int) -> SeededGame:
    """A seeded random game of ``family`` ``"zero_sum"`` (``r_0 ~ N(0, 1)`` to 3 decimals,
    ``r_1 = -r_0``) or ``"general_sum"`` (both rewards uniform in [0, 1)), with 3x3 actions
    and ``min(5, S)`` distinct random successors per state and joint action (probabilities
    normalised exponentials)."""
    rng = np.random.default_rng(seed_for("stochastic", family, n_states))
    joint = ACTIONS * ACTIONS
    k = min(SUCCESSORS, n_states)
    n_rows = n_states * joint
    # k distinct successors per row: the first k of a random permutation (argpartition of noise).
    noise = rng.random((n_rows, n_states))
    successors = np.argpartition(noise, k - 1, axis=1)[:, :k] if k < n_states else np.argsort(noise, axis=1)
    probabilities = rng.exponential(size=(n_rows, k))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    if family == "zero_sum":
        r0 = np.round(rng.standard_normal((n_states, ACTIONS, ACTIONS)), 3)
        rewards = np.stack([r0, -r0], axis=1)
    elif family == "general_sum":
        rewards = rng.random((n_states, 2, ACTIONS, ACTIONS))
    else:
        raise ValueError(f"stochastic_game(): unknown family {family!r}")
    return SeededGame(
        family,
        n_states,
        rewards,
        np.repeat(np.arange(n_rows), k),
        successors.ravel().astype(np.int64),
        probabilities.ravel(),
        DISCOUNT,
    )


# --------------------------------------------------------------------------- linprog floor


@dataclasses.dataclass
class LinprogRun:
    values: FloatArray
    policies: Policies
    sweeps: int
    finished: bool
    seconds: float
    lp_calls: int


def linprog_shapley(game: SeededGame, *, tol: float = TOL, time_limit: float = float("inf")) -> LinprogRun:
    """Shapley iteration with one ``linprog(method="highs")`` per state per sweep.

    ``V_{k+1}(s) = val[r_0(s) + gamma P(s) V_k]`` from ``V_0 = 0``, each ``val`` from the
    row player's maximin LP (max v s.t. Q^T x >= v 1, sum x = 1, x >= 0); the column
    player's strategy is read from the LP's dual (``-ineqlin.marginals``). It stops when
    ``gamma ||V_{k+1} - V_k|| / (1 - gamma) < tol`` or, between sweeps, past ``time_limit``.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    start = time.perf_counter()
    s_count, a = game.n_states, game.rewards.shape[-1]
    matrix = sp.csr_array(
        (game.probabilities, (game.rows, game.next_states)), shape=(s_count * a * a, s_count)
    )
    r0 = game.rewards[:, 0]
    gamma = game.discount
    c = np.zeros(a + 1)
    c[-1] = -1.0
    a_eq = np.ones((1, a + 1))
    a_eq[0, -1] = 0.0
    bounds = [(0.0, None)] * a + [(None, None)]
    ones = np.ones((a, 1))
    values = np.zeros(s_count)
    x = np.full((s_count, a), 1.0 / a)
    y = np.full((s_count, a), 1.0 / a)
    sweeps = calls = 0
    finished = False
    while True:
        q = r0 + gamma * (matrix @ values).reshape(s_count, a, a)
        new = np.empty(s_count)
        for s in range(s_count):
            res = linprog(
                c,
                A_ub=np.hstack([-q[s].T, ones]),
                b_ub=np.zeros(a),
                A_eq=a_eq,
                b_eq=[1.0],
                bounds=bounds,
                method="highs",
            )
            calls += 1
            new[s] = -res.fun
            x[s] = res.x[:a]
            y[s] = -res.ineqlin.marginals
        sweeps += 1
        change = float(np.abs(new - values).max())
        values = new
        if gamma * change / (1.0 - gamma) < tol:
            finished = True
            break
        if time.perf_counter() - start > time_limit:
            break
    x = np.clip(x, 0.0, None)
    y = np.clip(y, 0.0, None)
    policies = (x / x.sum(axis=1, keepdims=True), y / y.sum(axis=1, keepdims=True))
    return LinprogRun(values, policies, sweeps, finished, time.perf_counter() - start, calls)


# --------------------------------------------------------------------------- sgamesolver venv


_CHILD = textwrap.dedent(
    '''
    """Time sgamesolver's QRE homotopy on one game; protocol lines on the saved stdout."""
    import os
    import sys
    import time
    import warnings

    warnings.simplefilter("ignore")
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # sgamesolver prints progress: keep it off the protocol

    import numpy as np
    import sgamesolver

    job = np.load(sys.argv[1])
    rewards, transitions = job["rewards"], job["transitions"]
    budget, max_repeats = float(job["budget"]), int(job["max_repeats"])
    n_states = rewards.shape[0]
    game = sgamesolver.SGame(
        [rewards[s] for s in range(n_states)], [transitions[s] for s in range(n_states)], float(job["discount"])
    )


    def solve():
        homotopy = sgamesolver.homotopy.QRE(game)
        homotopy.solver_setup()
        homotopy.solver.verbose = 0
        result = homotopy.solver.start()
        return homotopy, result


    print("prepared", file=out, flush=True)
    start = time.perf_counter()
    homotopy, result = solve()
    first = time.perf_counter() - start
    print(f"run {first!r}", file=out, flush=True)
    samples = []
    if first < budget / 2:
        for _ in range(int(min(max_repeats, max(1, (budget - first) // max(first, 1e-7))))):
            start = time.perf_counter()
            solve()
            samples.append(time.perf_counter() - start)
            print(f"run {samples[-1]!r}", file=out, flush=True)
    if homotopy.equilibrium is not None:
        strategies = homotopy.equilibrium.strategies
    else:
        strategies = homotopy.y_to_sigma_V_t(homotopy.solver.y)[0]
    np.savez(
        sys.argv[2],
        first=first,
        samples=np.array(samples if samples else [first]),
        warm=bool(samples),
        strategies=np.nan_to_num(strategies),
        success=bool(result["success"]),
        steps=int(result["steps"]),
        reason=str(result["failure reason"]),
        parameter=float(result["y"][-1]),
    )
    print("done", file=out, flush=True)
    '''
)


def _cache_root() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "equilibria-bench"


def _base_python() -> str | None:
    """A Python 3.9-3.12 interpreter (numpy 1.26, the last numpy < 2, has no wheels past 3.12)."""
    candidates = [sys.executable] if (3, 9) <= sys.version_info[:2] <= (3, 12) else []
    candidates += [p for v in ("3.11", "3.12", "3.10", "3.9") if (p := shutil.which(f"python{v}"))]
    return candidates[0] if candidates else None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


@dataclasses.dataclass
class Sgamesolver:
    """Where sgamesolver runs, or why it does not."""

    python: str | None
    versions: str = ""
    skip_reason: str = ""
    setup_seconds: float = 0.0


def sgamesolver_python(timeout: float = 900.0, *, create: bool = True) -> Sgamesolver:
    """The Python of the sgamesolver venv, creating it on first use.

    Steps: ``python3.11 -m venv``; ``pip install "numpy<2" "cython<3" wheel setuptools``;
    ``pip install --no-build-isolation -c <numpy<2> sgamesolver`` (the constraint keeps
    sgamesolver's dependencies from upgrading numpy to 2). A marker file records a
    successful install; a failed one is removed, and the reason is the last line of the
    failing command's output. With ``create=False`` (``--quick``) an existing venv is used
    and a missing one is not made.
    """
    if os.environ.get("EQUILIBRIA_BENCH_SGAMESOLVER", "1").strip().lower() in ("0", "no", "skip", "false"):
        return Sgamesolver(None, skip_reason="skipped: EQUILIBRIA_BENCH_SGAMESOLVER=0")
    venv = _cache_root() / "sgamesolver-venv"
    python = venv / "bin" / "python"
    marker = venv / "equilibria-bench-ok"
    if marker.exists() and python.exists():
        return Sgamesolver(str(python), versions=marker.read_text().strip())
    if not create:
        return Sgamesolver(
            None, skip_reason="skipped in --quick: its venv is made by a full run (a few minutes)"
        )
    base = _base_python()
    if base is None:
        return Sgamesolver(None, skip_reason="skipped: no Python 3.9-3.12 interpreter for numpy < 2")
    start = time.perf_counter()
    if venv.exists():
        shutil.rmtree(venv)  # a half-made venv of an interrupted earlier run
    venv.parent.mkdir(parents=True, exist_ok=True)
    constraints = venv.parent / "sgamesolver-constraints.txt"
    constraints.write_text("numpy<2\ncython<3\n")
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    steps = [
        ("python -m venv", [base, "-m", "venv", str(venv)]),
        ("pip install numpy<2 cython<3", [*pip, "numpy<2", "cython<3", "wheel", "setuptools"]),
        ("pip install sgamesolver", [*pip, "--no-build-isolation", "-c", str(constraints), "sgamesolver"]),
        (
            "import sgamesolver",
            [
                str(python),
                "-c",
                "import importlib.metadata as m, numpy, sgamesolver; "
                "from sgamesolver.homotopy._qre import ct; "
                "print(f\"sgamesolver {m.version('sgamesolver')}, numpy {numpy.__version__}, "
                "python {__import__('platform').python_version()}, cython kernels {ct}\")",
            ],
        ),
    ]
    print(f"  [6] creating the sgamesolver venv in {venv} (one-time, a few minutes) ...", flush=True)
    out = None
    for name, step in steps:
        try:
            out = subprocess.run(step, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            shutil.rmtree(venv, ignore_errors=True)
            return Sgamesolver(None, skip_reason=f"skipped: `{name}` took > {timeout:.0f} s")
        if out.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            reason = _last_line(out.stderr or out.stdout)
            return Sgamesolver(
                None,
                skip_reason=f"skipped: sgamesolver did not install ({name}): {reason}",
                setup_seconds=time.perf_counter() - start,
            )
    versions = out.stdout.strip() if out is not None else ""
    marker.write_text(versions + "\n")
    return Sgamesolver(str(python), versions=versions, setup_seconds=time.perf_counter() - start)


@dataclasses.dataclass
class ChildResult:
    timing: Timing
    policies: Policies | None = None
    info: str = ""
    error: str = ""


def _run_sgamesolver(python: str, game: SeededGame, *, budget: float, cap: float) -> ChildResult:
    """sgamesolver's QRE path on ``game`` in a child process, each run capped at ``cap`` s."""
    with tempfile.TemporaryDirectory(prefix="bench-case6-") as tmp:
        folder = pathlib.Path(tmp)
        (folder / "child.py").write_text(_CHILD)
        np.savez(
            folder / "game.npz",
            rewards=game.rewards,
            transitions=game.dense_transitions(),
            discount=game.discount,
            budget=budget,
            max_repeats=25,
        )
        with (folder / "stderr.txt").open("w") as err:
            proc = subprocess.Popen(
                [python, str(folder / "child.py"), str(folder / "game.npz"), str(folder / "out.npz")],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=tmp,
            )
            assert proc.stdout is not None
            runs: list[float] = []
            deadline = time.monotonic() + 120.0  # imports and game construction, not timed
            done = False
            while not done:
                ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:  # the cap expired: stop our child (by its handle)
                    proc.kill()
                    proc.wait()
                    first = runs[0] if runs else float("nan")
                    return ChildResult(Timing(samples=tuple(runs[1:]), first=first, timed_out=True, cap=cap))
                line = proc.stdout.readline()
                if not line:
                    break
                word = line.split()[0]
                if word == "prepared":
                    deadline = time.monotonic() + cap
                elif word == "run":
                    runs.append(float(line.split()[1]))
                    deadline = time.monotonic() + cap
                elif word == "done":
                    done = True
            proc.wait()
            proc.stdout.close()
        if not done:
            return ChildResult(Timing(), error=_last_line((folder / "stderr.txt").read_text())[:160])
        data = np.load(folder / "out.npz")
        strategies = data["strategies"]
        timing = Timing(
            samples=tuple(float(t) for t in data["samples"]),
            first=float(data["first"]),
            warm=bool(data["warm"]),
        )
        policies = tuple(np.ascontiguousarray(strategies[:, p, :]) for p in range(strategies.shape[1]))
        info = f"{int(data['steps'])} steps, lambda {float(data['parameter']):.3g}"
        if not bool(data["success"]):
            info = f"failed ({data['reason']}); " + info
        return ChildResult(timing, policies, info)


# --------------------------------------------------------------------------- measuring ours


class _Fd1Capture:
    """Collect what native code writes to file descriptor 1 (BLAS's xerbla reports there),
    so that it lands in the row's note instead of in the middle of the progress lines."""

    def __enter__(self) -> _Fd1Capture:
        sys.stdout.flush()
        self.lines: list[str] = []
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(1)
        os.dup2(self._file.fileno(), 1)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._file.seek(0)
        self.lines = [ln for ln in self._file.read().decode(errors="replace").splitlines() if ln.strip()]
        self._file.close()


def _certify(game: Any, policies: Policies) -> tuple[float, float, FloatArray]:
    from equilibria.solver import certify_markov

    cert = certify_markov(game, policies)
    return float(cert.nash_conv), float(cert.max_state_gap), np.asarray(cert.values)


def _fmt_quality(value: Any) -> str:
    return "" if value is None else f"{value:.1e}"


COLUMNS: list[tuple[str, Callable[[Row], str]]] = [
    ("family", lambda r: r.family),
    ("states", lambda r: r.size),
    ("method", lambda r: r.method),
    DEFAULT_COLUMNS[3],  # median, or "> cap"
    DEFAULT_COLUMNS[4],  # IQR and run count
    ("found", lambda r: "" if r.found is None else str(r.found)),
    ("NashConv", lambda r: _fmt_quality(r.extra.get("nash_conv"))),
    ("max state gap", lambda r: _fmt_quality(r.extra.get("max_state_gap"))),
    ("vs best anchor", lambda r: r.ratio_text),
    ("note", lambda r: r.note),
]


class _Case6:
    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.result = CaseResult(
            "6", "stochastic games (zero-sum Shapley, general-sum stationary)", columns=COLUMNS
        )

    def row(self, game: SeededGame, method: str, kind: str) -> Row:
        row = Row("6", game.family, f"{game.n_states}", float(game.n_states), method, kind, Timing())
        self.result.rows.append(row)
        return row

    def add_note(self, row: Row, text: str) -> None:
        row.note = f"{row.note}; {text}" if row.note else text

    def quality(self, row: Row, game: Any, policies: Sequence[Policies]) -> list[FloatArray]:
        """Certify every returned profile afresh; the row shows the worst."""
        values = []
        worst_conv = worst_gap = 0.0
        for p in policies:
            try:
                conv, gap, v = _certify(game, p)
            except Exception as exc:
                self.add_note(row, f"certify_markov failed: {type(exc).__name__}: {exc}"[:120])
                continue
            worst_conv, worst_gap = max(worst_conv, conv), max(worst_gap, gap)
            values.append(v)
        if values:
            row.extra["nash_conv"], row.extra["max_state_gap"] = worst_conv, worst_gap
        return values

    def ours(
        self,
        seeded: SeededGame,
        game: Any,
        method: str,
        call: Callable[[], Any],
        read: Callable[[Any], tuple[list[Policies], str, bool]],
    ) -> tuple[Row, list[Policies], Any]:
        """Time ``call`` in-process; ``read`` turns its answer into (profiles, note, stopped by the time limit)."""
        row = self.row(seeded, method, "ours")
        print(f"  [6] {seeded.family} {seeded.n_states} {method} ...", end="", flush=True)
        try:
            with _Fd1Capture() as printed:
                timing, raw = measure(call, budget=self.cfg.budget)
        except Exception as exc:  # a failure (or an API change under us) is a result
            print(" error")
            row.note = f"{type(exc).__name__}: {exc}"[:160]
            return row, [], None
        if printed.lines:
            self.add_note(
                row, f"printed {len(printed.lines)} lines to stdout, e.g. '{printed.lines[0].strip()}'"
            )
        try:
            profiles, note, limited = read(raw)
        except Exception as exc:  # the result's shape changed under us
            print(" unreadable result")
            row.note = f"cannot read the result: {type(exc).__name__}: {exc}"[:160]
            return row, [], None
        if limited:  # stopped by its time_limit: shown as "> limit", with what it had found
            timing = Timing(samples=(), first=timing.first, timed_out=True, cap=self.general_cap)
        row.timing = timing
        row.found = len(profiles)
        if note:
            self.add_note(row, note)
        print(f" {'timeout' if limited else fmt_seconds(timing.median)}")
        return row, profiles, raw

    @property
    def general_cap(self) -> float:
        return 10.0 if self.cfg.quick else 20.0


def _markov_zero_sum_read(raw: Any) -> tuple[list[Policies], str, bool]:
    note = f"{raw.iterations} iterations, error bound {raw.error_bound:.1e}"
    return [tuple(raw.policies)], note, False


def _qre_read(raw: Any) -> tuple[list[Policies], str, bool]:
    note = f"{raw.steps} steps, lambda {raw.parameter:.3g}: {raw.reason}"
    limited = (not raw.converged) and "time" in raw.reason
    profiles = [tuple(raw.policies)]
    if not raw.converged:
        note = "not converged; " + note
    return profiles, note, limited


def _stationary_read(raw: Any) -> tuple[list[Policies], str, bool]:
    equilibria, description = raw
    parts = [p.strip() for p in description.split(";")]
    keep = [p for p in parts if "paths certified" in p or "not certified" in p or "time limit" in p]
    limited = any("time limit" in p for p in parts)
    return [tuple(e.policies) for e in equilibria], "; ".join(keep), limited


def _distance(p: Policies, q: Policies) -> float:
    return max(float(np.abs(a - b).max()) for a, b in zip(p, q, strict=True))


# --------------------------------------------------------------------------- the case


def _solver_stamps() -> dict[str, str]:
    """Modification times of the solver modules measured here (others edit them concurrently)."""
    stamps = {}
    for name in (
        "stochastic/zero_sum.py",
        "stochastic/regret.py",
        "stochastic/homotopy/path.py",
        "stochastic/homotopy/qre.py",
        "stochastic/homotopy/stationary.py",
        "concepts/continuation.py",
    ):
        path = pathlib.Path(__file__).resolve().parent.parent / "solver" / name
        if path.exists():
            stamps[name] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(path.stat().st_mtime))
    return stamps


def case6(cfg: Any, worker: Any) -> CaseResult:
    """Stochastic games: zero-sum values and general-sum stationary equilibria."""
    stamps = _solver_stamps()  # before importing: the version that runs
    case = _Case6(cfg)
    sgs = sgamesolver_python(create=not cfg.quick)
    if sgs.python is None:
        print(f"  [6] sgamesolver: {sgs.skip_reason}", flush=True)
    linprog_cap = 2.0 if cfg.quick else 10.0
    _zero_sum_rows(case, cfg, sgs, linprog_cap)
    _general_sum_rows(case, cfg, sgs)
    add_ratios(case.result.rows)
    _add_notes(case.result, sgs, stamps, linprog_cap, case.general_cap)
    return case.result


def _sgamesolver_row(
    case: _Case6, sgs: Any, seeded: SeededGame, game: Any, skip: str = ""
) -> tuple[Row, Policies | None]:
    """One sgamesolver QRE row (skipped with ``skip`` as its note, or when sgamesolver is missing)."""
    row = case.row(seeded, "sgamesolver QRE (1 path)", "anchor")
    if sgs.python is None:
        row.note = sgs.skip_reason
        return row, None
    if skip:
        row.note = skip
        return row, None
    print(f"  [6] {seeded.family} {seeded.n_states} sgamesolver QRE ...", end="", flush=True)
    child = _run_sgamesolver(sgs.python, seeded, budget=case.cfg.budget, cap=case.general_cap)
    row.timing = child.timing
    print(f" {'timeout' if child.timing.timed_out else fmt_seconds(child.timing.median)}")
    if child.error:
        row.note = f"error: {child.error}"
        return row, None
    if child.timing.timed_out:
        return row, None
    row.found = 1
    row.note = child.info
    assert child.policies is not None
    case.quality(row, game, [child.policies])
    return row, child.policies


def _zero_sum_rows(case: _Case6, cfg: Any, sgs: Any, linprog_cap: float) -> None:
    """Zero-sum games: our two value methods, one QRE path, the linprog floor and sgamesolver."""
    from equilibria.solver.stochastic.homotopy import qre_homotopy
    from equilibria.solver.stochastic.zero_sum import hoffman_karp, shapley_iteration

    zero_sizes = [10] if cfg.quick else [10, 100, 1000]
    sgs_zero_max = 10  # one dense QRE path on 100 zero-sum states takes minutes (both libraries)
    cap = case.general_cap
    lp_stop = ""
    per_lp = float("nan")
    for n in zero_sizes:
        seeded = stochastic_game("zero_sum", n)
        game = seeded.ours()
        rows = []
        hk_values = None
        sweeps_needed = None
        for name, fn in (("ours hoffman_karp", hoffman_karp), ("ours shapley_iteration", shapley_iteration)):
            row, profiles, raw = case.ours(
                seeded, game, name, lambda fn=fn, g=game: fn(g, tol=TOL), _markov_zero_sum_read
            )
            values = case.quality(row, game, profiles)
            if name == "ours hoffman_karp" and values:
                hk_values = values[0][:, 0]
            elif values and hk_values is not None:
                case.add_note(row, f"max |V - V_hk| {np.abs(values[0][:, 0] - hk_values).max():.1e}")
            if name == "ours shapley_iteration" and raw is not None:
                sweeps_needed = int(raw.iterations)
            rows.append(row)
        if n <= sgs_zero_max:
            row, profiles, raw = case.ours(
                seeded,
                game,
                "ours qre_homotopy (1 path)",
                lambda g=game: qre_homotopy(g, tol=TOL, time_limit=cap),
                _qre_read,
            )
            values = case.quality(row, game, profiles)
            if values and hk_values is not None:
                case.add_note(row, f"max |V - V_hk| {np.abs(values[0][:, 0] - hk_values).max():.1e}")
        # the linprog floor
        row = case.row(seeded, "scipy linprog Shapley (floor)", "anchor")
        if lp_stop:
            projected = (
                f"; projected {fmt_seconds(sweeps_needed * n * per_lp)} ({sweeps_needed} sweeps x {n} LPs x "
                f"{fmt_seconds(per_lp)})"
                if sweeps_needed
                else ""
            )
            row.note = f"skipped: {lp_stop}{projected}"
        else:
            print(f"  [6] zero_sum {n} scipy linprog Shapley ...", end="", flush=True)
            run = linprog_shapley(seeded, tol=TOL, time_limit=linprog_cap)
            per_lp = run.seconds / run.lp_calls
            if run.finished:
                timing = Timing(samples=(run.seconds,), first=run.seconds, warm=False)
                if run.seconds < cfg.budget / 2:
                    timing, _ = measure(lambda g=seeded: linprog_shapley(g, tol=TOL), budget=cfg.budget)
                row.timing = timing
                row.found = 1
                row.note = f"{run.sweeps} sweeps, {fmt_seconds(per_lp)} per LP"
                values = case.quality(row, game, [run.policies])
                if values and hk_values is not None:
                    case.add_note(row, f"max |V - V_hk| {np.abs(values[0][:, 0] - hk_values).max():.1e}")
                print(f" {fmt_seconds(row.timing.median)}")
            else:
                row.timing = Timing(first=run.seconds, timed_out=True, cap=linprog_cap)
                lp_stop = f"> {fmt_seconds(linprog_cap)} at {n} states"
                projected = (
                    f", projected {fmt_seconds(sweeps_needed * n * per_lp)} for {sweeps_needed} sweeps"
                    if sweeps_needed
                    else ""
                )
                row.note = (
                    f"stopped after {run.sweeps} sweeps ({run.lp_calls} LPs, {fmt_seconds(per_lp)} per LP)"
                    f"{projected}"
                )
                print(" timeout")
        # sgamesolver (a general-sum method) on the zero-sum game
        _sgamesolver_row(
            case,
            sgs,
            seeded,
            game,
            skip="" if n <= sgs_zero_max else f"skipped past {sgs_zero_max} states (dense QRE path: minutes)",
        )


def _general_sum_rows(case: _Case6, cfg: Any, sgs: Any) -> None:
    """General-sum games: one QRE path, stationary_equilibria with and without priors, sgamesolver."""
    from equilibria.solver.stochastic.homotopy import qre_homotopy, stationary_equilibria

    general_sizes = [5] if cfg.quick else [5, 20, 50]
    cap = case.general_cap
    for n in general_sizes:
        seeded = stochastic_game("general_sum", n)
        game = seeded.ours()
        _, qre_profiles, _ = case.ours(
            seeded,
            game,
            "ours qre_homotopy (1 path)",
            lambda g=game: qre_homotopy(g, tol=TOL, time_limit=cap),
            _qre_read,
        )
        case.quality(case.result.rows[-1], game, qre_profiles)
        for label, kwargs in (
            ("ours stationary_equilibria(n_priors=0)", {"n_priors": 0}),
            ("ours stationary_equilibria (8 priors)", {}),
        ):
            row, profiles, _ = case.ours(
                seeded,
                game,
                label,
                lambda kw=kwargs, g=game: stationary_equilibria(g, tol=TOL, time_limit=cap, **kw),
                _stationary_read,
            )
            case.quality(row, game, profiles)
        row, sgs_policies = _sgamesolver_row(case, sgs, seeded, game)
        if sgs_policies is not None and qre_profiles:
            d = _distance(sgs_policies, qre_profiles[0])
            case.add_note(row, f"max |sigma - sigma_ours_qre| {d:.1e}")


def _add_notes(result: CaseResult, sgs: Any, stamps: dict[str, str], linprog_cap: float, cap: float) -> None:
    """The games, methods and sgamesolver set-up, as notes under the table."""
    result.notes += [
        f"Games: S states x 3x3 actions, min(5, S) random successors per (state, joint action), discount "
        f"{DISCOUNT}; zero_sum: r_0 ~ N(0, 1) (3 decimals), r_1 = -r_0; general_sum: both rewards U[0, 1) "
        "(bench/case6.py::stochastic_game, seeded by family and size).",
        "ours hoffman_karp / shapley_iteration = equilibria.solver.stochastic.zero_sum (tol 1e-8 on the values; "
        "their time includes their own certify_markov). Floor = Shapley iteration with one scipy linprog "
        f"(method='highs') per state per sweep, same stop rule, stopped past {fmt_seconds(linprog_cap)} "
        "(its projection = sweeps our shapley_iteration needed x states x seconds per LP).",
        "General-sum: ours qre_homotopy = one logit-QRE path (the same path sgamesolver's QRE follows); "
        "stationary_equilibria = QRE path + tracing from the uniform prior (+ 3 pure-corner priors when S <= 10) "
        f"+ n_priors random priors; all with tol 1e-8 and time_limit {fmt_seconds(cap)} (a run stopped by it shows "
        "'> limit' and what it had found).",
        "NashConv (mu_0-weighted best-response gain, summed over players) and max state gap (largest gain from "
        "any state) are measured afresh with equilibria.solver.certify_markov on every method's answer "
        "(worst over the returned profiles); found = profiles returned.",
    ]
    now = _solver_stamps()
    changed = [name for name in stamps if now.get(name) != stamps[name]]
    if stamps:
        text = ", ".join(f"{name} {stamp}" for name, stamp in stamps.items())
        if changed:
            text += (
                f" ({', '.join(changed)} changed again during the run: the version imported at the start ran)"
            )
        result.notes.append(f"Solver files last modified before the run (local time): {text}.")
    if sgs.python is not None:
        setup = f"; venv created in this run in {sgs.setup_seconds:.0f} s" if sgs.setup_seconds else ""
        result.notes.append(
            f"sgamesolver: {sgs.versions} in {_cache_root() / 'sgamesolver-venv'}{setup}. Timed: "
            "QRE(game) + solver_setup() + solve path (default parameters, convergence_tol 1e-7 on strategies) "
            "in a child process; SGame construction and imports not timed; a run over "
            f"{fmt_seconds(cap)} is stopped. Its strategies are certified here."
        )
    else:
        result.notes.append(f"sgamesolver {sgs.skip_reason}")
