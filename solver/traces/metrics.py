"""The metrics of trace scoring: their definitions and the compiled nearest-point kernel.

Seven distances between probability vectors (:data:`METRICS`: total variation, L1, L2,
L-infinity, Hellinger, Jensen-Shannon divergence, smoothed Kullback-Leibler divergence),
two aggregations over players (:data:`AGGREGATES`), their per-action terms, and the
kernel behind :func:`~equilibria.solver.traces.distances.distance_to_points`: the
distance of a batch of snapshots to the nearest of ``K`` profiles, compiled with numba
for the metrics whose arithmetic numba reproduces bit for bit, in numpy otherwise.
The definitions, and how the two kernels agree to the last bit, are in
docs/trace-distances.md.

References
----------
.. [1] A. L. Gibbs and F. E. Su, "On choosing and bounding probability metrics",
   International Statistical Review 70 (2002) 419-435.
.. [2] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Transactions on
   Information Theory 37 (1991) 145-151.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray, IntArray
from equilibria.solver.errors import InvalidGameError, InvalidOptionError, quoted
from equilibria.solver.kernels import warm_up

__all__ = ["METRICS", "AGGREGATES", "KL_SMOOTHING", "PROBABILITY_TOL"]


#: Distances between probability vectors (see docs/trace-distances.md).
METRICS = ("tv", "l1", "l2", "linf", "hellinger", "js", "kl")
#: Aggregations of per-player distances.
AGGREGATES = ("max", "sum")
#: Weight ``alpha`` of the uniform distribution mixed into both arguments of ``"kl"``.
KL_SMOOTHING = 1e-6
#: Slack allowed on probability vectors (negative entries, sums off 1).
PROBABILITY_TOL = 1e-6

#: Elements ``K * S * block`` of the work arrays of the numpy points kernel (~256 kB).
_BLOCK_ELEMENTS = 32_768
#: Rows per block of the compiled distance kernel (its work array is ``block x K``).
_KERNEL_BLOCK = 256
#: Metrics the compiled kernel computes, by the code it takes (js and kl stay in numpy:
#: their logarithms would differ from numpy's in the last bit).
_COMPILED_METRICS = {"tv": 0, "l1": 1, "l2": 2, "linf": 3, "hellinger": 4}


# =========================================================================== validation


def _check_metric(function: str, metric: str) -> None:
    if metric not in METRICS:
        raise InvalidOptionError(
            "metric", f"{function}: unknown metric {quoted(metric)}; expected one of {', '.join(METRICS)}"
        )


def _check_aggregate(function: str, aggregate: str) -> None:
    if aggregate not in AGGREGATES:
        raise InvalidOptionError(
            "aggregate",
            f"{function}: unknown aggregate {quoted(aggregate)}; expected one of {', '.join(AGGREGATES)}",
        )


def _as_float(value: Any, field: str, function: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(field, f"{function}: {field} is not a numeric array ({exc})") from exc
    return arr


def _check_probabilities(arr: FloatArray, field: str, function: str, name: str) -> None:
    """Raise unless every vector along the last axis is a probability vector (within tol)."""
    if arr.size == 0:
        return
    low = float(arr.min())
    sums = arr.sum(axis=-1)
    off = float(np.max(np.abs(sums - 1.0)))
    if not (low >= -PROBABILITY_TOL and off <= PROBABILITY_TOL):
        _raise_not_probability(arr, field, function, name)


def _raise_not_probability(arr: FloatArray, field: str, function: str, name: str) -> None:
    rows = arr.reshape(-1, arr.shape[-1])
    bad = ~(
        np.isfinite(rows).all(axis=1)
        & (rows.min(axis=1) >= -PROBABILITY_TOL)
        & (np.abs(rows.sum(axis=1) - 1.0) <= PROBABILITY_TOL)
    )
    first = int(np.flatnonzero(bad)[0]) if bad.any() else 0
    where = "".join(f"[{int(k)}]" for k in np.unravel_index(first, arr.shape[:-1])) if arr.ndim > 1 else ""
    row = rows[first]
    raise InvalidGameError(
        field,
        f"{function}: {name}{where} is not a probability vector "
        f"(min {row.min():.3g}, sum {row.sum():.12g}; tolerance {PROBABILITY_TOL:g})",
    )


def _checked_points(points: Sequence[npt.ArrayLike], function: str) -> list[FloatArray]:
    """Per player ``(K, a_i)`` or ``(K, S, a_i)`` arrays of probability vectors, ``K >= 1``."""
    try:
        ps = [_as_float(p, "points", function) for p in points]
    except TypeError as exc:
        raise InvalidGameError("points", f"{function}: points must be one array per player ({exc})") from exc
    if len(ps) < 2 or any(p.ndim not in (2, 3) or p.ndim != ps[0].ndim for p in ps):
        raise InvalidGameError(
            "points",
            f"{function}: points must be one (K, a_i) or (K, S, a_i) array per player (>= 2 players), "
            f"got shapes {[p.shape for p in ps]}",
        )
    if any(p.shape[:-1] != ps[0].shape[:-1] for p in ps) or ps[0].shape[0] == 0:
        raise InvalidGameError(
            "points", f"{function}: point arrays must agree in K >= 1 (and S): {[p.shape for p in ps]}"
        )
    for i, p in enumerate(ps):
        if p.shape[-1] == 0:
            raise InvalidGameError("points", f"{function}: player {i} has no actions")
        _check_probabilities(p, "points", function, f"points[{i}]")
    return ps


def _checked_snapshots(
    snapshots: Sequence[npt.ArrayLike], templates: Sequence[FloatArray], function: str
) -> list[FloatArray]:
    """Snapshots as float64 arrays of the targets' shapes but for the first axis.

    ``templates[i]`` is ``(K, a_i)`` or ``(K, S, a_i)``; the snapshots must be ``(Z, a_i)``
    or ``(Z, S, a_i)`` alike. Only shapes are checked here: values are checked where
    they are read (in blocks by the points kernel, per player elsewhere).
    """
    try:
        xs = [_as_float(x, "snapshots", function) for x in snapshots]
    except TypeError as exc:
        raise InvalidGameError(
            "snapshots", f"{function}: snapshots must be one array per player ({exc})"
        ) from exc
    wanted = [t.shape[1:] for t in templates]
    fits = (
        len(xs) == len(templates)
        and all(x.ndim >= 1 and x.shape[0] == xs[0].shape[0] for x in xs)
        and all(x.shape[1:] == w for x, w in zip(xs, wanted, strict=True))
    )
    if not fits:
        expected = ", ".join("(Z, " + ", ".join(map(str, w)) + ")" for w in wanted)
        raise InvalidGameError(
            "snapshots",
            f"{function}: snapshots of shapes {[x.shape for x in xs]} do not fit the target: expected "
            f"one array per player of shapes {expected}",
        )
    return xs


def _checked_state_weights(
    state_weights: npt.ArrayLike | None, xs: Sequence[FloatArray], function: str
) -> FloatArray | None:
    """Normalised ``(S,)`` or ``(Z, S)`` weights; None for normal-form snapshots."""
    stochastic = xs[0].ndim == 3
    if not stochastic:
        if state_weights is not None:
            raise InvalidGameError(
                "state_weights", f"{function}: state_weights given but the snapshots have no state axis"
            )
        return None
    z, s = xs[0].shape[:2]
    if state_weights is None:
        return np.full(s, 1.0 / s)
    w = _as_float(state_weights, "state_weights", function)
    if w.shape not in ((s,), (z, s)):
        raise InvalidGameError(
            "state_weights", f"{function}: state_weights of shape {w.shape}; expected ({s},) or ({z}, {s})"
        )
    return _normalised_weights(w, function)


def _normalised_weights(w: FloatArray, function: str) -> FloatArray:
    total = w.sum(axis=-1, keepdims=True)
    if not (np.isfinite(w).all() and w.min(initial=0.0) >= 0.0 and (total > 0).all()):
        raise InvalidGameError(
            "state_weights", f"{function}: state_weights must be finite, non-negative, with a positive sum"
        )
    return np.asarray(w / total, dtype=np.float64)


# =========================================================================== definitions


def _term(metric: str, x: FloatArray, q: FloatArray) -> FloatArray:
    """The per-action summand (or, for linf, the per-action value) of a metric."""
    if metric in ("tv", "l1", "linf"):
        return np.abs(x - q)
    if metric == "l2":
        d = x - q
        return d * d
    if metric == "hellinger":
        d = np.sqrt(np.maximum(x, 0.0)) - np.sqrt(np.maximum(q, 0.0))
        return d * d
    if metric == "js":
        x = np.maximum(x, 0.0)
        q = np.maximum(q, 0.0)
        m = x + q
        safe = np.where(m > 0, m, 1.0)
        # The masked-out entries may overflow (1 / a subnormal m); np.where discards them.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            left = np.where(x > 0, x * np.log(np.where(x > 0, 2.0 * x, 1.0) / safe), 0.0)
            right = np.where(q > 0, q * np.log(np.where(q > 0, 2.0 * q, 1.0) / safe), 0.0)
        return left + right
    # kl, on smoothed (positive) arguments: x log x - x log q.
    return x * np.log(x) - x * np.log(q)


def _smoothed(q: FloatArray, n: int | None = None) -> FloatArray:
    """``(1 - alpha) q + alpha / n`` (``n`` = the last axis), the smoothing of ``"kl"``."""
    return (1.0 - KL_SMOOTHING) * np.maximum(q, 0.0) + KL_SMOOTHING / (n or q.shape[-1])


def _finish(metric: str, s: FloatArray) -> FloatArray:
    """Turn the accumulated per-action terms into the metric's value (in place)."""
    if metric == "tv":
        s *= 0.5
    elif metric == "l2":
        np.sqrt(s, out=s)
    elif metric == "hellinger":
        s *= 0.5
        np.sqrt(np.minimum(s, 1.0, out=s), out=s)
    elif metric == "js":
        s *= 0.5
        np.maximum(s, 0.0, out=s)
    elif metric == "kl":
        np.maximum(s, 0.0, out=s)
    return s


def _vector_distance(p: FloatArray, q: FloatArray, metric: str) -> FloatArray:
    """The metric along the last axis; inputs validated."""
    if metric == "kl":
        p, q = _smoothed(p), _smoothed(q)
    term = _term(metric, p, q)
    s = term.max(axis=-1) if metric == "linf" else term.sum(axis=-1)
    return _finish(metric, np.array(s, dtype=np.float64, ndmin=1)).reshape(np.shape(s))


def _aggregate(per_player: Sequence[FloatArray], aggregate: str) -> FloatArray:
    total = np.array(per_player[0], dtype=np.float64, copy=True)
    for d in per_player[1:]:
        if aggregate == "max":
            np.maximum(total, d, out=total)
        else:
            total += d
    return total


def _as_states(arrays: Sequence[FloatArray]) -> list[FloatArray]:
    """``(N, a_i)`` arrays as ``(N, 1, a_i)``; ``(N, S, a_i)`` unchanged (C-contiguous)."""
    return [np.ascontiguousarray(a if a.ndim == 3 else a[:, None, :]) for a in arrays]


# =========================================================================== nearest of K points


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the distance kernel now.

    The first call in a process otherwise pays it: seconds on a cold cache. The server's
    forkserver calls this once, so every worker forked from it starts compiled. Compiles
    the two-player specialisations, for writable and read-only snapshots (numba
    specialises the kernel per number of players and per writability).

    Examples
    --------
    >>> _warm_up()
    """
    half = np.full((1, 1, 2), 0.5)  # one row, one state, two actions: (Z, S, a_i)
    frozen = half.copy()
    frozen.setflags(write=False)  # trace chunks hold read-only arrays: another specialisation
    point = np.full((1, 2, 1), 0.5)  # the same profile as the one target point: (S, a_i, K)
    out = np.empty(1)
    nearest = np.zeros(1, dtype=np.intp)
    for xs in ((half, half), (frozen, frozen)):
        _points_compiled(xs, (point, point), np.ones((1, 1)), False, 0, False, False, out, nearest)


def _points_kernel(
    xs: Sequence[FloatArray],
    ps: Sequence[FloatArray],
    weights: FloatArray | None,
    metric: str,
    aggregate: str,
    function: str,
) -> tuple[FloatArray, IntArray]:
    """Nearest of K points for Z snapshots: the compiled kernel, or numpy for js and kl.

    Arguments as :func:`_points_kernel_numpy`. The compiled kernel checks every row as it
    reads it; on a row that is not a probability vector the numpy kernel runs instead,
    which raises the error naming the row (it checks the same rows with the same sums).
    """
    code = _COMPILED_METRICS.get(metric)
    z = xs[0].shape[0]
    if code is None or z == 0:
        return _points_kernel_numpy(xs, ps, weights, metric, aggregate, function)
    s = xs[0].shape[1]
    transposed = []
    for p in ps:
        if metric == "hellinger":
            p = np.sqrt(np.maximum(p, 0.0))
        transposed.append(np.ascontiguousarray(p.transpose(1, 2, 0)))  # (S, a_i, K)
    w = np.ones((1, s)) if weights is None else np.ascontiguousarray(weights.reshape(-1, s))
    deferred = aggregate == "max" and weights is None and metric in ("tv", "l2", "hellinger")
    out = np.empty(z)
    nearest = np.zeros(z, dtype=np.intp)
    bad = _points_compiled(
        tuple(np.ascontiguousarray(x) for x in xs),
        tuple(transposed),
        w,
        weights is not None,
        code,
        aggregate == "sum",
        deferred,
        out,
        nearest,
    )
    if bad >= 0:
        return _points_kernel_numpy(xs, ps, weights, metric, aggregate, function)
    return out, nearest


@numba.njit(cache=True)
def _points_compiled(
    xs: tuple[FloatArray, ...],
    pts: tuple[FloatArray, ...],
    weights: FloatArray,
    weighted: bool,
    metric: int,
    aggregate_sum: bool,
    deferred: bool,
    out: FloatArray,
    nearest: IntArray,
) -> int:
    """One pass over the snapshots: check each row, its distance to each point, the nearest.

    ``xs[i]`` is ``(Z, S, a_i)``, ``pts[i]`` the points as ``(S, a_i, K)`` (square roots
    for hellinger), ``weights`` ``(1, S)`` or ``(Z, S)``. The operations and their order
    are those of :func:`_points_kernel_numpy` (per player a sum over actions in order,
    then the finishing map, then max or sum over players in order, the first minimum
    over points), so without weights the results are equal to the last bit; with weights
    the sum over states runs in order (numpy's matmul may not): equal to rounding.
    Returns -1, or a row that is not a probability vector (then the output is
    incomplete).
    """
    # Blocks of rows: within a block every loop runs over the rows (contiguous work
    # arrays that stay in L1, so the compiler vectorises them across rows without
    # reordering any row's arithmetic), and each player's arrays leave the tuples once
    # per block (taking them out per row costs reference counting).
    n = len(xs)
    z_count = xs[0].shape[0]
    s_count = xs[0].shape[1]
    k_count = pts[0].shape[2]
    block = _KERNEL_BLOCK
    a_max = 1
    for i in range(n):
        a_max = max(a_max, xs[i].shape[2])
    xt = np.empty((a_max, block))  # one player's rows of the block, transposed
    sums = np.empty(block)
    acc = np.empty(block)
    agg = np.empty((k_count, block))
    per_point = np.empty((k_count, block)) if weighted else agg
    best = np.empty(block)
    which = np.empty(block, dtype=np.intp)
    per_row_weights = weights.shape[0] > 1
    for start in range(0, z_count, block):
        b = min(z_count, start + block) - start
        for s in range(s_count):
            for i in range(n):
                x = xs[i]
                p = pts[i]
                a_count = x.shape[2]
                for r in range(b):
                    for a in range(a_count):
                        xt[a, r] = x[start + r, s, a]
                bad = _first_bad_row(xt, b, a_count, sums)
                if bad >= 0:
                    return start + bad
                if metric == 4:
                    for a in range(a_count):
                        for r in range(b):
                            v = xt[a, r]
                            xt[a, r] = math.sqrt(v if v > 0.0 else 0.0)
                for k in range(k_count):
                    c = p[s, 0, k]
                    for r in range(b):
                        acc[r] = _term_value(metric, xt[0, r] - c)
                    for a in range(1, a_count):
                        c = p[s, a, k]
                        if metric == 3:
                            for r in range(b):
                                t = _term_value(metric, xt[a, r] - c)
                                acc[r] = t if t > acc[r] else acc[r]
                        else:
                            for r in range(b):
                                acc[r] = acc[r] + _term_value(metric, xt[a, r] - c)
                    if not deferred and metric != 1 and metric != 3:  # l1, linf: nothing to finish
                        for r in range(b):
                            acc[r] = _finish_value(metric, acc[r])
                    if i == 0:
                        for r in range(b):
                            agg[k, r] = acc[r]
                    elif aggregate_sum:
                        for r in range(b):
                            agg[k, r] = agg[k, r] + acc[r]
                    else:
                        for r in range(b):
                            agg[k, r] = acc[r] if acc[r] > agg[k, r] else agg[k, r]
            if weighted:
                for k in range(k_count):
                    for r in range(b):
                        ws = weights[start + r if per_row_weights else 0, s]
                        per_point[k, r] = ws * agg[k, r] if s == 0 else per_point[k, r] + ws * agg[k, r]
        for r in range(b):
            best[r] = per_point[0, r]
            which[r] = 0
        for k in range(1, k_count):
            for r in range(b):
                closer = per_point[k, r] < best[r]
                best[r] = per_point[k, r] if closer else best[r]
                which[r] = k if closer else which[r]
        for r in range(b):
            out[start + r] = _finish_value(metric, best[r]) if deferred else best[r]
            nearest[start + r] = which[r]
    return -1


@numba.njit(cache=True, inline="always")
def _first_bad_row(xt: FloatArray, b: int, a_count: int, sums: FloatArray) -> int:
    """The check of :func:`_check_block` on columns ``0..b-1`` of ``xt`` (one player's block).

    Every entry at least ``-tol``, and each column's sum over the ``a_count`` actions, in
    action order (left in ``sums``), within ``tol`` of 1. Returns -1 when every column
    passes, else the first failing column.
    """
    low = -PROBABILITY_TOL
    high_sum = 1.0 + PROBABILITY_TOL
    low_sum = 1.0 - PROBABILITY_TOL
    ok = True
    for r in range(b):
        sums[r] = xt[0, r]
    for a in range(1, a_count):
        for r in range(b):
            sums[r] = sums[r] + xt[a, r]
    for a in range(a_count):
        for r in range(b):
            ok = ok & (xt[a, r] >= low)
    for r in range(b):
        ok = ok & (sums[r] <= high_sum) & (sums[r] >= low_sum)
    if not ok:
        for r in range(b):
            bad = not (sums[r] <= high_sum and sums[r] >= low_sum)
            for a in range(a_count):
                bad = bad or not (xt[a, r] >= low)
            if bad:
                return r
        return 0
    return -1


@numba.njit(cache=True, inline="always")
def _term_value(metric: int, d: float) -> float:
    """The per-action term of a difference ``d``: squared (l2, hellinger) or absolute."""
    return d * d if metric == 2 or metric == 4 else abs(d)


@numba.njit(cache=True, inline="always")
def _finish_value(metric: int, s: float) -> float:
    """:func:`_finish` of one accumulated value (metric codes of :data:`_COMPILED_METRICS`)."""
    if metric == 0:
        return s * 0.5
    if metric == 2:
        return math.sqrt(s)
    if metric == 4:
        return math.sqrt(min(s * 0.5, 1.0))
    return s


def _points_kernel_numpy(
    xs: Sequence[FloatArray],
    ps: Sequence[FloatArray],
    weights: FloatArray | None,
    metric: str,
    aggregate: str,
    function: str,
) -> tuple[FloatArray, IntArray]:
    """Nearest of K points for Z snapshots, in numpy blocks laid out ``(K, S, b)``.

    ``xs[i]`` is ``(Z, S, a_i)`` (shapes checked, values checked block by block here),
    ``ps[i]`` is ``(K, S, a_i)``, ``weights`` is None (S = 1), ``(S,)`` or ``(Z, S)``,
    normalised.
    """
    z, s = xs[0].shape[:2]
    k = ps[0].shape[0]
    out = np.empty(z)
    nearest = np.zeros(z, dtype=np.intp)
    if z == 0:
        return out, nearest
    block = max(1, min(z, _BLOCK_ELEMENTS // (k * s)))
    # Per player and action: the target values as (K, S, 1) columns (transformed per metric).
    columns: list[list[FloatArray]] = []
    for p in ps:
        if metric == "hellinger":
            p = np.sqrt(np.maximum(p, 0.0))
        elif metric == "kl":
            p = np.log(_smoothed(p))
        columns.append([np.ascontiguousarray(p[:, :, a, None]) for a in range(p.shape[2])])
    acc = np.empty((k, s, block))
    tmp = np.empty((k, s, block))
    total = np.empty((k, s, block))
    best = np.empty(block)
    mask = np.empty(block, dtype=bool)
    fast = metric in ("tv", "l1", "linf", "l2", "hellinger")
    # The finishing map of tv, l2 and hellinger is non-decreasing (x/2, sqrt, sqrt(x/2)), so
    # it commutes exactly with max over players and min over points: apply it once at the end.
    deferred = aggregate == "max" and weights is None and metric in ("tv", "l2", "hellinger")
    for start in range(0, z, block):
        stop = min(z, start + block)
        b = stop - start
        agg = total[:, :, :b]
        for i, (x, cols) in enumerate(zip(xs, columns, strict=True)):
            xt = x[start:stop].transpose(2, 1, 0).copy()  # (a_i, S, b), C-contiguous, owned
            _check_block(xt, start, i, function)
            if metric == "hellinger":
                np.sqrt(np.maximum(xt, 0.0, out=xt), out=xt)
            elif metric == "kl":
                xt = _smoothed(xt, xt.shape[0])
                xlogx = xt * np.log(xt)
            a_acc = agg if i == 0 else acc[:, :, :b]
            t = tmp[:, :, :b]
            for a, col in enumerate(cols):
                dest = a_acc if a == 0 else t
                if fast:
                    np.subtract(xt[a], col, out=dest)
                    if metric == "l2" or metric == "hellinger":
                        np.multiply(dest, dest, out=dest)
                    else:
                        np.abs(dest, out=dest)
                elif metric == "js":
                    dest[...] = _term("js", xt[a], col)
                else:  # kl: x log x - x log q on smoothed arguments, log q precomputed
                    np.multiply(xt[a], col, out=dest)
                    np.subtract(xlogx[a], dest, out=dest)
                if a > 0:
                    if metric == "linf":
                        np.maximum(a_acc, t, out=a_acc)
                    else:
                        np.add(a_acc, t, out=a_acc)
            if not deferred:
                _finish(metric, a_acc)
            if i > 0:
                if aggregate == "max":
                    np.maximum(agg, a_acc, out=agg)
                else:
                    np.add(agg, a_acc, out=agg)
        if weights is None:
            per_point = agg[:, 0, :]
        elif weights.ndim == 1:
            per_point = np.matmul(weights, agg)  # (K, b)
        else:
            per_point = np.einsum("ksb,bs->kb", agg, weights[start:stop])
        bb = best[:b]
        nn = nearest[start:stop]
        mm = mask[:b]
        bb[...] = per_point[0]
        for j in range(1, k):
            np.less(per_point[j], bb, out=mm)
            np.minimum(bb, per_point[j], out=bb)
            np.copyto(nn, j, where=mm)
        out[start:stop] = _finish(metric, bb) if deferred else bb
    return out, nearest


def _check_block(xt: FloatArray, start: int, player: int, function: str) -> None:
    """Check that a transposed block ``(a, S, b)`` of snapshots holds probability vectors."""
    low = float(xt.min())
    sums = np.add.reduce(xt, axis=0)
    if (
        low >= -PROBABILITY_TOL
        and float(sums.max()) <= 1.0 + PROBABILITY_TOL
        and float(sums.min()) >= 1.0 - PROBABILITY_TOL
    ):
        return
    rows = xt.transpose(2, 1, 0)  # (b, S, a)
    bad = ~(
        np.isfinite(rows).all(axis=2)
        & (rows.min(axis=2) >= -PROBABILITY_TOL)
        & (np.abs(rows.sum(axis=2) - 1.0) <= PROBABILITY_TOL)
    )
    zb, sb = (int(k) for k in np.argwhere(bad)[0])
    row = rows[zb, sb]
    where = f"{start + zb}" if xt.shape[1] == 1 else f"{start + zb}, {sb}"
    raise InvalidGameError(
        "snapshots",
        f"{function}: snapshots[{player}][{where}] is not a probability vector "
        f"(min {row.min():.3g}, sum {row.sum():.12g}; tolerance {PROBABILITY_TOL:g})",
    )
