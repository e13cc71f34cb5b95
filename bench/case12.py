"""Case 12: issue 22's evaluation concepts against general-purpose anchors, and the sample stream.

Same games, same run, samples interleaved (``measure_together``):

* **max-entropy and max-Gini correlated equilibria**: ours (``max_entropy_equilibrium``: the
  dual by Clarabel's interior point, certified by a bound) against scipy's general nonlinear
  program, ``minimize(method="trust-constr")`` on the same CE polytope and objective, on
  seeded N(0, 1) games. *agree* is the largest difference of a joint action's probability.
* **replicator dynamics**: ours (``evolutionary_dynamics``: RK4 on log-probabilities, each
  start stopped once it is proved to converge or has settled, then the basins) against
  scipy's adaptive ``solve_ivp`` (RK45, rtol 1e-8) integrating each start over the whole
  horizon, one population of a seeded symmetric game with several strict equilibria, the
  same given starts. *agree* is the largest distance between scipy's end point and the
  rest point of the basin ours puts the start in, over the starts scipy sees at a vertex.
* **the payoff-sample stream**: samples per second through ``client.sample_payoffs`` (a real
  server on 127.0.0.1, batches of 1,000 samples, one analysis at the end) against the same
  batches added to an in-process ``PayoffSamples``: the cost of the service.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

from bench.games import seed_for
from bench.report import CaseResult, Row
from bench.timing import Timing, measure_together

__all__ = ["case12"]

#: scipy's trust-constr gives up here (iterations), so a slow anchor still ends.
ANCHOR_ITERATIONS = 2000


def _normal(shape: tuple[int, ...], tag: str) -> np.ndarray:
    return np.random.default_rng(seed_for("case12", tag, *shape)).standard_normal(shape)


def _ce_constraints(unit: np.ndarray) -> np.ndarray:
    """Rows ``g`` with ``g @ p >= 0`` for the CE of the unit game (one per player and ordered
    pair of its actions), over the flattened joint distribution ``p``."""
    n, shape = unit.shape[0], unit.shape[1:]
    rows = []
    for i in range(n):
        u = np.moveaxis(unit[i], i, 0)
        for a, b in itertools.permutations(range(shape[i]), 2):
            gain = np.zeros(shape)
            moved = np.moveaxis(gain, i, 0)
            moved[a] = u[a] - u[b]
            rows.append(gain.reshape(-1))
    return np.array(rows)


def _scipy_max_measure(unit: np.ndarray, measure: str) -> np.ndarray:
    """The maximum-entropy (or Gini) CE by scipy's trust-constr on the primal."""
    from scipy.optimize import Bounds, LinearConstraint, minimize

    g = _ce_constraints(unit)
    k = g.shape[1]
    if measure == "entropy":

        def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
            q = np.maximum(p, 1e-300)
            return float(np.sum(q * np.log(q))), np.log(q) + 1.0

    else:

        def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
            return float(p @ p - 1.0), 2.0 * p

    constraints = [LinearConstraint(g, 0.0, np.inf), LinearConstraint(np.ones((1, k)), 1.0, 1.0)]
    answer = minimize(
        objective,
        np.full(k, 1.0 / k),
        jac=True,
        method="trust-constr",
        constraints=constraints,
        bounds=Bounds(0.0, 1.0),
        options={"maxiter": ANCHOR_ITERATIONS, "gtol": 1e-10, "xtol": 1e-12},
    )
    return np.clip(answer.x, 0.0, None) / np.clip(answer.x, 0.0, None).sum()


def _correlated_rows(cfg: Any, result: CaseResult) -> None:
    from equilibria.solver import NormalFormGame
    from equilibria.solver.concepts.max_entropy import max_entropy_equilibrium

    # scipy's entropy program is slow at the boundary (an 8 x 8 game: about 3 minutes), so
    # it gets the smaller games.
    cases = [("entropy", (2, 4, 4)), ("entropy", (3, 3, 3, 3)), ("gini", (2, 4, 4)), ("gini", (2, 8, 8))]
    cases += [("gini", (3, 3, 3, 3))]
    if not cfg.quick:
        cases += [("entropy", (2, 8, 8)), ("gini", (2, 12, 12)), ("gini", (3, 4, 4, 4))]
    for measure, shape in cases:
        concept = f"max_{measure}_correlated"
        game = NormalFormGame(_normal(shape, "ce"))
        unit = game.unit_game.payoffs
        size = "x".join(str(k) for k in shape[1:])

        def ours(game: NormalFormGame = game, concept: str = concept) -> Any:
            return max_entropy_equilibrium(game, concept)

        def theirs(unit: np.ndarray = unit, measure: str = measure) -> Any:
            return _scipy_max_measure(unit, measure)

        (our_timing, answer), (their_timing, p) = measure_together([ours, theirs], budget=cfg.budget)
        agree = float(np.abs(answer.distribution.reshape(-1) - p).max())
        # The measure at scipy's answer: below ours (certified within the gap) where they differ.
        q = np.maximum(p, 1e-300)
        theirs_value = float(-np.sum(q * np.log(q))) if measure == "entropy" else float(1.0 - p @ p)
        violation = float(np.maximum(0.0, -(_ce_constraints(unit) @ p)).max(initial=0.0))
        family = f"{measure} CE"
        anchor = Row(
            "12", family, size, int(np.prod(shape[1:])), "scipy trust-constr", "anchor", their_timing
        )
        anchor.note = f"value {theirs_value:.9f}, largest CE violation {violation:.1e} (unit payoffs)"
        row = Row("12", family, size, int(np.prod(shape[1:])), "ours", "ours", our_timing)
        row.value = agree
        row.note = (
            f"agree {agree:.1e}; value {answer.value:.9f}, bound gap {answer.bound - answer.value:.1e}, "
            f"violation {answer.relative_violation:.1e}"
        )
        _ratio(row, our_timing, their_timing)
        result.rows += [anchor, row]
        print(
            f"  [12] {family} {size}: ours {our_timing.median:.3g} s, scipy {their_timing.median:.3g} s "
            f"({row.ratio_text}), agree {agree:.1e}",
            flush=True,
        )


def _symmetric_game(m: int) -> np.ndarray:
    """A symmetric game ``(A, A^T)`` with a large diagonal: several strict equilibria."""
    a = _normal((m, m), "dynamics") + 2.0 * np.eye(m)
    return np.stack([a, a.T])


def _scipy_replicator(a: np.ndarray, starts: np.ndarray, horizon: float) -> list[np.ndarray]:
    from scipy.integrate import solve_ivp

    def field(_t: float, x: np.ndarray) -> np.ndarray:
        u = a @ x
        return x * (u - x @ u)

    return [solve_ivp(field, (0.0, horizon), x, rtol=1e-8, atol=1e-11).y[:, -1] for x in starts]


def _dynamics_rows(cfg: Any, result: CaseResult) -> None:
    from equilibria.solver import DynamicsOptions, NormalFormGame
    from equilibria.solver.concepts.dynamics import evolutionary_dynamics

    sizes = [(3, 32), (5, 32), (8, 32)]
    if not cfg.quick:
        sizes += [(12, 64), (20, 64)]
    for m, count in sizes:
        game = NormalFormGame(_symmetric_game(m))
        starts = np.random.default_rng(seed_for("case12", "starts", m)).dirichlet(np.ones(m), size=count)
        options = DynamicsOptions(starts=tuple((tuple(s),) for s in starts), populations="single")
        unit = game.unit_game.payoffs[0]
        horizon = options.horizon

        def ours(game: NormalFormGame = game, options: DynamicsOptions = options) -> Any:
            return evolutionary_dynamics(game, options)

        def theirs(unit: np.ndarray = unit, starts: np.ndarray = starts, horizon: float = horizon) -> Any:
            return _scipy_replicator(unit, starts, horizon)

        (our_timing, reached), (their_timing, ends) = measure_together([ours, theirs], budget=cfg.budget)
        distances = [
            float(np.abs(reached.basins[k].strategies[0] - end).max())
            for k, end in zip(reached.outcomes, ends, strict=True)
            if k >= 0 and end.max() > 0.999
        ]
        agree = max(distances, default=float("nan"))
        size = f"{m} actions x {count} starts"
        anchor = Row("12", "replicator", size, m, "scipy solve_ivp RK45", "anchor", their_timing)
        row = Row("12", "replicator", size, m, "ours", "ours", our_timing)
        row.value = agree
        row.note = (
            f"agree {agree:.1e} on {len(distances)} starts; {len(reached.basins)} basins, "
            f"{sum(b.certified for b in reached.basins)} starts proved, {reached.unsettled} unsettled"
        )
        _ratio(row, our_timing, their_timing)
        result.rows += [anchor, row]
        print(
            f"  [12] replicator {size}: ours {our_timing.median:.3g} s, scipy {their_timing.median:.3g} s "
            f"({row.ratio_text}), {row.note}",
            flush=True,
        )


def _stream_rows(cfg: Any, result: CaseResult) -> None:
    from equilibria.client import Client
    from equilibria.solver import PayoffSamples

    from bench.cases import _start_process, _stop_process

    batches = 20 if cfg.quick else 200
    shape = (8, 8)
    payoffs = _normal((2, *shape), "stream")
    rng = np.random.default_rng(seed_for("case12", "stream"))
    data = []
    for _ in range(batches):
        actions = np.stack([rng.integers(0, k, 1000) for k in shape], axis=1)
        data.append((actions, payoffs[:, actions[:, 0], actions[:, 1]].T + rng.normal(size=(1000, 2))))
    server, address = _start_process(
        ["-m", "equilibria.service.cli", "serve", "--address", "127.0.0.1:0", "--workers", "1"],
        "listening on",
    )
    try:
        with Client.connect(address, timeout=120.0) as client:

            def local() -> Any:
                samples = PayoffSamples(shape)
                for actions, returns in data:
                    samples.add(actions, returns)
                return samples.counts.sum()

            def streamed() -> Any:
                with client.sample_payoffs(shape, concepts="nash") as sampler:
                    for actions, returns in data:
                        sampler.add(actions, returns)
                return sampler.result

            streamed()  # warm: channel, worker, kernels
            (local_timing, _), (stream_timing, answer) = measure_together(
                [local, streamed], budget=cfg.budget
            )
    finally:
        _stop_process(server)
    total = batches * 1000
    size = f"{total:,} samples, {shape[0]}x{shape[1]}"
    anchor = Row("12", "sample stream", size, total, "PayoffSamples in-process", "reference", local_timing)
    anchor.note = f"{total / local_timing.median:,.0f} samples/s"
    row = Row("12", "sample stream", size, total, "client.sample_payoffs", "ours", stream_timing)
    row.note = (
        f"{total / stream_timing.median:,.0f} samples/s incl. one analysis; {answer.samples:,} received"
    )
    _ratio(row, stream_timing, local_timing)
    result.rows += [anchor, row]
    print(f"  [12] sample stream {size}: {row.note}; in-process {anchor.note} ({row.ratio_text})", flush=True)


def _ratio(row: Row, ours: Timing, anchor: Timing) -> None:
    if ours.ok and anchor.ok:
        row.ratio = ours.median / anchor.median
        row.ratio_text = f"{row.ratio:.2f}x"


def case12(cfg: Any, worker: Any) -> CaseResult:
    """Max-entropy/Gini CE and replicator dynamics against scipy; the sample stream's throughput."""
    started = time.perf_counter()
    result = CaseResult("12", "issue 22: max-entropy CE and dynamics against scipy, the sample stream")
    _correlated_rows(cfg, result)
    _dynamics_rows(cfg, result)
    _stream_rows(cfg, result)
    result.notes += [
        "ratio = ours / anchor (sample stream: streamed / in-process); agree: max-entropy CE, the largest "
        "|probability difference| with scipy's answer; replicator, the largest distance between scipy's end "
        "point and the rest point of the basin ours assigns, over starts scipy sees at a vertex.",
        "scipy trust-constr solves the primal with the CE constraints as linear inequalities (maxiter "
        f"{ANCHOR_ITERATIONS}); solve_ivp integrates every start over the whole horizon, ours stops each start "
        "once proved or settled.",
        f"case took {time.perf_counter() - started:.0f} s",
    ]
    return result
