"""Nearest points of convex hulls and polytopes of probability vectors.

The optimisation behind :func:`~equilibria.solver.traces.distances.distance_to_component`
and :func:`~equilibria.solver.traces.distances.distance_to_polyhedron`: the Euclidean
projection onto the convex hull of a few vertices (vectorised over the hull's faces, or
Wolfe's nearest-point algorithm), linear programs for the L1, total-variation and
L-infinity distances (HiGHS, several rows per block-diagonal LP), SLSQP for Hellinger,
Jensen-Shannon and Kullback-Leibler (convex in their second argument), and the same for
polytopes ``{p in simplex : A_ub p <= b_ub}``. Each distance is the metric evaluated at
a feasible point, so it is never below the true distance; see docs/trace-distances.md.

References
----------
.. [1] P. Wolfe, "Finding the nearest point in a polytope", Mathematical Programming
   11 (1976) 128-149.
.. [2] D. Kraft, "A software package for sequential quadratic programming", DFVLR-FB
   88-28 (1988) (SLSQP).
.. [3] Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex method",
   Mathematical Programming Computation 10 (2018) 119-142 (HiGHS).
.. [4] S. Boyd and L. Vandenberghe, "Convex Optimization", Cambridge University Press
   (2004), section 8.1 (projection on a set).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from equilibria.solver._typing import FloatArray, IntArray
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.traces.metrics import (
    KL_SMOOTHING,
    _aggregate,
    _check_probabilities,
    _smoothed,
    _term,
    _vector_distance,
)
from scipy.optimize import linprog, minimize

__all__ = ["HULL_ZERO_TOL"]


#: A snapshot whose Euclidean distance to a convex hull or polytope is at most this is in
#: it: its distance is 0.0 in every metric (absorbs rounding of the projection).
HULL_ZERO_TOL = 1e-12

#: Floor on the second argument inside gradients of hellinger / js (the functions
#: themselves are evaluated exactly).
_GRADIENT_FLOOR = 1e-15
#: At most this many vertex subsets are enumerated for an exact L2 projection onto a
#: hull; beyond it Wolfe's algorithm runs per snapshot.
_MAX_FACES = 2048
#: Non-zeros of one batched LP (several snapshots solved as one block-diagonal LP).
_LP_BATCH_NONZEROS = 200_000


class _Face(NamedTuple):
    """An affinely independent vertex subset ``(v0, v1..vm)`` and its barycentric map.

    ``mu = (x - v0) @ barycentric.T`` are the weights of ``v1..vm`` of the projection of
    ``x`` onto the subset's affine hull, ``1 - sum(mu)`` the weight of ``v0``.
    """

    indices: IntArray  # the subset, v0 first
    origin: FloatArray  # v0
    edges: FloatArray  # D = [v_j - v0], (m, a)
    barycentric: FloatArray  # G = pinv(D^T), (m, a)


# =========================================================================== hulls


def _component_kernel(
    xs: Sequence[FloatArray], vertices: Sequence[FloatArray], metric: str, aggregate: str
) -> FloatArray:
    """Aggregate over players of each row's distance to the player's hull; values checked here."""
    per_player = []
    for i, (x, v) in enumerate(zip(xs, vertices, strict=True)):
        _check_probabilities(x, "snapshots", "distance_to_component()", f"snapshots[{i}]")
        unique_rows, inverse = np.unique(x, axis=0, return_inverse=True)
        d = _Hull(v).distance(unique_rows, metric)
        per_player.append(d[inverse.reshape(-1)])
    return _aggregate(per_player, aggregate)


class _Hull:
    """The convex hull of a few probability vectors, with distances to it."""

    def __init__(self, vertices: FloatArray) -> None:
        self.vertices = np.unique(vertices, axis=0)
        self._faces: list[_Face] | None = None

    # ------------------------------------------------------------------ public

    def distance(self, x: FloatArray, metric: str) -> FloatArray:
        """``min_{y in hull} d(x_r, y)`` for each row ``x_r``."""
        v = self.vertices
        if v.shape[0] == 1:
            return _vector_distance(x, v[0], metric)
        y2, lam2 = self.project(x)
        inside = np.sqrt(np.sum((x - y2) ** 2, axis=1)) <= HULL_ZERO_TOL
        if metric == "l2":
            best = _vector_distance(x, y2, "l2")
        else:
            # Candidates in the hull: the vertices and the L2 projection; then the optimiser.
            at_vertices = _vector_distance(x[:, None, :], v[None, :, :], metric)  # (N, V)
            at_projection = _vector_distance(x, _simplex_clip(y2), metric)
            best = np.minimum(at_vertices.min(axis=1), at_projection)
            todo = np.flatnonzero(~inside)
            if todo.size:
                if metric in ("tv", "l1", "linf"):
                    lam = self._lp_weights(x[todo], metric)
                else:
                    vertex_better = at_vertices[todo].min(axis=1) < at_projection[todo]
                    starts = np.where(
                        vertex_better[:, None],
                        np.eye(v.shape[0])[at_vertices[todo].argmin(axis=1)],
                        lam2[todo],
                    )
                    lam = np.array(
                        [self._convex_weights(row, s, metric) for row, s in zip(x[todo], starts, strict=True)]
                    )
                y = _simplex_clip(lam @ v)
                best[todo] = np.minimum(best[todo], _vector_distance(x[todo], y, metric))
        best[inside] = 0.0
        return best

    def project(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Euclidean projection of each row onto the hull, and its convex weights."""
        faces = self._enumerate_faces()
        if faces is None:
            lams = np.array([_wolfe(self.vertices - row) for row in x]).reshape(len(x), -1)
            return lams @ self.vertices, lams
        v = self.vertices
        n = x.shape[0]
        best = np.full(n, np.inf)
        y_best = np.empty_like(x)
        lam_best = np.zeros((n, v.shape[0]))
        for face in faces:
            idx = face.indices
            mu = (x - face.origin) @ face.barycentric.T  # (N, m)
            lam0 = 1.0 - mu.sum(axis=1)
            ok = (mu >= -1e-12).all(axis=1) & (lam0 >= -1e-12)
            y = face.origin + mu @ face.edges
            dist = np.sum((x - y) ** 2, axis=1)
            better = ok & (dist < best)
            if better.any():
                best[better] = dist[better]
                y_best[better] = y[better]
                lam = np.zeros((int(better.sum()), v.shape[0]))
                lam[:, idx[0]] = np.maximum(lam0[better], 0.0)
                if idx.size > 1:
                    lam[:, idx[1:]] = np.maximum(mu[better], 0.0)
                lam_best[better] = lam / lam.sum(axis=1, keepdims=True)
        return y_best, lam_best

    # ------------------------------------------------------------------ kernels

    def _enumerate_faces(self) -> list[_Face] | None:
        """Affinely independent vertex subsets with the maps ``x -> barycentric weights``.

        For a subset ``(v0, v1..vm)``, ``D = [v_j - v0]`` (m, a) and ``G = pinv(D^T)``:
        ``mu = G (x - v0)`` are the weights of ``v1..vm`` of the projection of ``x`` onto
        the subset's affine hull, ``1 - sum(mu)`` the weight of ``v0``. ``None`` when
        there are more than ``_MAX_FACES`` subsets.
        """
        if self._faces is not None:
            return self._faces
        v = self.vertices
        count, a = v.shape
        largest = min(count, a)
        if sum(math.comb(count, size) for size in range(1, largest + 1)) > _MAX_FACES:
            return None
        faces: list[_Face] = []
        for size in range(1, largest + 1):
            for subset in itertools.combinations(range(count), size):
                idx = np.array(subset, dtype=np.intp)
                v0 = v[idx[0]]
                d = v[idx[1:]] - v0
                if size > 1:
                    sv = np.linalg.svd(d, compute_uv=False)
                    if sv[-1] <= 1e-10 * max(sv[0], 1.0):
                        continue  # affinely dependent: a smaller subset covers it
                g = np.linalg.pinv(d.T) if size > 1 else np.zeros((0, a))
                faces.append(_Face(idx, v0, d, g))
        self._faces = faces
        return faces

    def _lp_weights(self, x: FloatArray, metric: str) -> FloatArray:
        """Convex weights minimising the L1 (TV) or L-infinity distance, one LP block per row."""
        v = self.vertices
        nv, a = v.shape
        width = a if metric != "linf" else 1
        # Block per row: variables (lambda (V), t (width)); rows  V^T lam - t <= x, -V^T lam - t <= -x.
        slack = -np.eye(a) if width == a else -np.ones((a, 1))
        block_ub = np.block([[v.T, slack], [-v.T, slack]])
        block_eq = np.concatenate([np.ones(nv), np.zeros(width)])[None, :]
        cost = np.concatenate([np.zeros(nv), np.ones(width)])
        return _batched_lp(x, block_ub, lambda rows: np.hstack([rows, -rows]), block_eq, cost, nv)

    def _convex_weights(self, x: FloatArray, start: FloatArray, metric: str) -> FloatArray:
        """SLSQP over convex weights for hellinger, js and kl (convex in the second argument)."""
        v = self.vertices
        objective = _smooth_objective(x, metric)

        def fun(lam: FloatArray) -> tuple[float, FloatArray]:
            value, grad_y = objective(np.maximum(lam, 0.0) @ v)
            return value, v @ grad_y

        res = minimize(
            fun,
            start,
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * v.shape[0],
            constraints=[
                {"type": "eq", "fun": lambda lam: lam.sum() - 1.0, "jac": lambda lam: np.ones_like(lam)}
            ],
            options={"ftol": 1e-15, "maxiter": 500},
        )
        lam = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)
        return lam / lam.sum() if lam.sum() > 0 else start


def _smooth_objective(x: FloatArray, metric: str) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """``y -> (f(y), grad f(y))`` with ``f`` the squared hellinger, js or kl from ``x`` to ``y``."""
    sx = np.sqrt(np.maximum(x, 0.0))
    n = x.shape[-1]
    xs = _smoothed(x)

    def fun(y: FloatArray) -> tuple[float, FloatArray]:
        y = np.maximum(y, 0.0)
        if metric == "hellinger":
            value = 0.5 * float(np.sum((sx - np.sqrt(y)) ** 2))
            grad = 0.5 * (1.0 - sx / np.sqrt(np.maximum(y, _GRADIENT_FLOOR)))
        elif metric == "js":
            value = 0.5 * float(np.sum(_term("js", x, y)))
            yf = np.maximum(y, _GRADIENT_FLOOR)
            grad = 0.5 * np.log(2.0 * yf / (x + yf))
        else:
            q = _smoothed(y, n)
            value = float(np.sum(_term("kl", xs, q)))
            grad = -(1.0 - KL_SMOOTHING) * xs / q
        return value, grad

    return fun


def _simplex_clip(y: FloatArray) -> FloatArray:
    """Clip rounding negatives and renormalise rows (points of a hull of distributions)."""
    y = np.maximum(y, 0.0)
    return y / y.sum(axis=-1, keepdims=True)


def _wolfe(points: FloatArray, tol: float = 1e-15) -> FloatArray:
    """Convex weights of the minimum-norm point of ``conv(points)`` (Wolfe 1976).

    Major cycle: add the point minimising ``<x, p>``; minor cycle: move to the affine
    minimum-norm point of the corral, stepping back to the boundary of its hull (and
    dropping points) while some weight is not positive.
    """
    count = points.shape[0]
    scale = float(np.max(np.sum(points * points, axis=1)))
    j = int(np.argmin(np.sum(points * points, axis=1)))
    corral = [j]
    lam = np.array([1.0])
    x = points[j].copy()
    for _ in range(50 * count + 50):
        g = points @ x
        j = int(np.argmin(g))
        if float(x @ x) - float(g[j]) <= tol * max(scale, 1.0) or j in corral:
            break
        corral.append(j)
        lam = np.append(lam, 0.0)
        for _ in range(count + 1):
            b = points[corral]
            m = len(corral)
            kkt = np.zeros((m + 1, m + 1))
            kkt[:m, :m] = b @ b.T
            kkt[:m, m] = 1.0
            kkt[m, :m] = 1.0
            rhs = np.zeros(m + 1)
            rhs[m] = 1.0
            alpha = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:m]
            if (alpha > 1e-14).all():
                lam = alpha
                break
            neg = alpha <= 1e-14
            ratios = lam[neg] / np.maximum(lam[neg] - alpha[neg], 1e-300)
            theta = float(np.clip(ratios.min(), 0.0, 1.0))
            lam = (1.0 - theta) * lam + theta * alpha
            keep = lam > 1e-14
            if not keep.any():
                keep[int(np.argmax(lam))] = True
            corral = [c for c, k in zip(corral, keep, strict=True) if k]
            lam = lam[keep] / lam[keep].sum()
        x = lam @ points[corral]
    weights = np.zeros(count)
    weights[corral] = lam
    return weights


class _LPFailure(RuntimeError):
    """HiGHS did not solve a distance LP (for a polytope: it is empty)."""


def _batched_lp(
    x: FloatArray,
    block_ub: FloatArray,
    rhs_ub: Callable[[FloatArray], FloatArray],
    block_eq: FloatArray,
    cost: FloatArray,
    n_keep: int,
    b_fixed: FloatArray | None = None,
) -> FloatArray:
    """Solve one LP per row of ``x`` as block-diagonal LPs; return the first ``n_keep`` variables.

    Every block has the same matrices (``block_ub``, ``block_eq``, ``cost``); only the
    right-hand side ``rhs_ub(rows)`` (plus ``b_fixed`` appended per block) changes. The
    blocks are independent, so an optimum of the sum is an optimum of every block.
    """
    nnz = int(np.count_nonzero(block_ub)) + block_ub.shape[1]
    per_lp = max(1, _LP_BATCH_NONZEROS // max(nnz, 1))
    out = np.empty((x.shape[0], n_keep))
    width = block_ub.shape[1]
    ub_sparse = sp.csr_array(block_ub)
    eq_sparse = sp.csr_array(block_eq)
    for start in range(0, x.shape[0], per_lp):
        rows = x[start : start + per_lp]
        c = rows.shape[0]
        eye = sp.identity(c, format="csr")
        b_ub = rhs_ub(rows)
        if b_fixed is not None:
            b_ub = np.hstack([np.broadcast_to(b_fixed, (c, b_fixed.size)), b_ub])
        res = linprog(
            np.tile(cost, c),
            A_ub=sp.kron(eye, ub_sparse, format="csr"),
            b_ub=b_ub.ravel(),
            A_eq=sp.kron(eye, eq_sparse, format="csr"),
            b_eq=np.ones(c),
            bounds=(0.0, None),
            method="highs",
        )
        if res.status != 0 or res.x is None:
            raise _LPFailure(str(res.message))
        out[start : start + c] = np.asarray(res.x, dtype=np.float64).reshape(c, width)[:, :n_keep]
    return out


# =========================================================================== polytopes


def _polyhedron_kernel(x: FloatArray, a: FloatArray, b: FloatArray, metric: str, function: str) -> FloatArray:
    unique_rows, inverse = np.unique(x, axis=0, return_inverse=True)
    n, dim = unique_rows.shape
    scale = np.maximum(np.abs(a).max(axis=1), 1.0)
    violation = ((unique_rows @ a.T - b) / scale).max(axis=1, initial=-np.inf)
    inside = violation <= HULL_ZERO_TOL
    best = np.zeros(n)
    todo = np.flatnonzero(~inside)
    if todo.size:
        rows = unique_rows[todo]
        # A feasible point nearest in L1 (or L-infinity) by LP; also the start of the QPs.
        width = dim if metric != "linf" else 1
        slack = -np.eye(dim) if width == dim else -np.ones((dim, 1))
        block_ub = np.block([[a, np.zeros((a.shape[0], width))], [np.eye(dim), slack], [-np.eye(dim), slack]])
        block_eq = np.concatenate([np.ones(dim), np.zeros(width)])[None, :]
        cost = np.concatenate([np.zeros(dim), np.ones(width)])
        try:
            p = _batched_lp(rows, block_ub, lambda r: np.hstack([r, -r]), block_eq, cost, dim, b_fixed=b)
        except _LPFailure as exc:
            raise InvalidGameError(
                "A_ub", f"{function}: no distribution satisfies A_ub p <= b_ub (HiGHS: {exc})"
            ) from exc
        p = _simplex_clip(p)
        if metric not in ("tv", "l1", "linf"):
            p = np.array(
                [_polyhedron_qp(row, start, a, b, metric) for row, start in zip(rows, p, strict=True)]
            )
        best[todo] = _vector_distance(rows, p, metric)
    return best[inverse.reshape(-1)]


def _polyhedron_qp(x: FloatArray, start: FloatArray, a: FloatArray, b: FloatArray, metric: str) -> FloatArray:
    """Nearest feasible point in ``metric`` (l2 or a divergence) by SLSQP, L2 polished."""
    dim = x.size
    constraints = [
        {"type": "eq", "fun": lambda p: p.sum() - 1.0, "jac": lambda p: np.ones_like(p)},
        {"type": "ineq", "fun": lambda p: b - a @ p, "jac": lambda p: -a},
    ]
    if metric == "l2":

        def fun(p: FloatArray) -> tuple[float, FloatArray]:
            d = p - x
            return 0.5 * float(d @ d), d

    else:
        objective = _smooth_objective(x, metric)

        def fun(p: FloatArray) -> tuple[float, FloatArray]:
            return objective(p)

    candidates = [start]
    if metric != "l2":
        candidates.append(_polyhedron_qp(x, start, a, b, "l2"))
    starts = min(candidates, key=lambda s: float(_vector_distance(x, s, metric)))
    res = minimize(
        fun,
        starts,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * dim,
        constraints=constraints,
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    found = _simplex_clip(np.asarray(res.x, dtype=np.float64))
    if _violation(found, a, b) <= 1e-9:
        candidates.append(found)
    if metric == "l2":
        polished = _polish(x, found, a, b)
        if polished is not None:
            candidates.append(polished)
    return min(candidates, key=lambda s: float(_vector_distance(x, s, metric)))


def _violation(p: FloatArray, a: FloatArray, b: FloatArray) -> float:
    return max(float((a @ p - b).max(initial=0.0)), float(-p.min()), abs(float(p.sum()) - 1.0))


def _polish(x: FloatArray, p: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray | None:
    """Project ``x`` onto the affine hull of the constraints active at ``p``, if feasible."""
    dim = x.size
    g = np.vstack([a, -np.eye(dim)])
    h = np.concatenate([b, np.zeros(dim)])
    active = g @ p >= h - 1e-9
    c = np.vstack([g[active], np.ones((1, dim))])
    d = np.concatenate([h[active], [1.0]])
    correction = np.linalg.lstsq(c, c @ x - d, rcond=None)[0]
    q = x - correction
    if _violation(q, a, b) > 1e-12:
        return None
    return q
