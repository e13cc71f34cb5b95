"""Feasible bases of a best-response polytope by solving square systems, batched.

:func:`brute_force_bases` solves every square system of ``{z >= 0 : mat^T z <= 1}`` (games
too large for the search's int64 basis keys, and the tests' oracle of
:func:`~equilibria.solver.normal_form.bases.search_bases`); :func:`solve_bases` solves given
ones (the complementary faces of vertex enumeration). Every decision is certified by an
error bound through the Hadamard ratio, as in the search.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.normal_form.bases import Budget
>>> blocks = brute_force_bases(np.array([[1.0, 2.0], [2.0, 1.0]]), 1e-9, Budget(100))
>>> sorted(p for block in blocks for p in block.points.round(6).tolist())
[[0.0, 0.5], [0.333333, 0.333333], [0.5, 0.0]]
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import BoolArray, FloatArray
from equilibria.solver.kernels import warm_up
from equilibria.solver.normal_form.bases import BLOCK_ENTRIES, SINGULAR_RHO, BasisBlock, Budget

__all__ = ["basis_rows", "brute_force_bases", "solve_bases"]

#: Safety factor on the float error bound of a basis solution.
_ERROR_SAFETY = 16.0


def brute_force_bases(mat: FloatArray, tol: float, budget: Budget) -> Iterator[BasisBlock]:
    """Feasible bases of ``{z >= 0 : mat^T z <= 1}`` by solving every square system, batched by size.

    For a support ``S`` and as many constraints ``T``, ``z_S`` solves
    ``mat[S, T]^T z_S = 1``; the basis is feasible when ``z >= -tol`` and
    ``mat[S]^T z_S <= 1 + tol``. The float error of each solution is bounded through
    the Hadamard ratio ``rho = |det| / prod(row norms)`` (the condition number is at
    most ``2 / rho``); a decision closer to its threshold than that bound, or a basis
    too close to singular to decide, marks the block ambiguous.
    """
    d, c = mat.shape
    for s in range(1, min(d, c) + 1):
        supports = np.array(list(itertools.combinations(range(d), s)), dtype=np.intp)
        tights = np.array(list(itertools.combinations(range(c), s)), dtype=np.intp)
        block = max(1, BLOCK_ENTRIES // (s * max(s, c)))
        pair_s = np.repeat(np.arange(len(supports)), len(tights))
        pair_t = np.tile(np.arange(len(tights)), len(supports))
        for start in range(0, len(pair_s), block):
            ps = supports[pair_s[start : start + block]]  # (k, s)
            pt = tights[pair_t[start : start + block]]  # (k, s)
            budget.spend(len(ps))
            solved = solve_bases(mat, ps, pt, tol)
            if len(solved.points) or solved.ambiguous:
                yield solved


def solve_bases(
    mat: FloatArray, ps: npt.NDArray[np.intp], pt: npt.NDArray[np.intp], tol: float
) -> BasisBlock:
    """The feasible ones among given bases of ``{z >= 0 : mat^T z <= 1}``, each solved afresh.

    Basis ``k`` has the coordinates ``ps[k]`` and as many tight constraints ``pt[k]``
    (every row the same size ``s``): ``z_S`` solves ``mat[S, T]^T z_S = 1``; the basis is
    feasible when ``z >= -tol`` and the other constraints ``<= 1 + tol``. The float error of each
    solution is bounded through the Hadamard ratio ``rho = |det| / prod(row norms)`` (the
    condition number is at most ``2 / rho``), and by the condition number itself near a
    threshold; a decision closer to its threshold than that bound, or a basis too close to
    singular to decide, marks the block ambiguous (and its index is listed in
    ``doubtful``). A basis with ``rho`` at most
    ``SINGULAR_RHO`` is left out: in silence when its Hadamard ratio by columns is at most
    ``SINGULAR_RHO * 1e-3`` too (singular to working precision), else as ambiguous.
    """
    d, c = mat.shape
    s = ps.shape[1]
    eps = np.finfo(np.float64).eps
    empty = BasisBlock(np.zeros((0, d)), np.zeros((0, d + c), dtype=bool), np.zeros(0), False)
    if not len(ps):
        return empty
    ps = np.ascontiguousarray(ps, dtype=np.int64)
    pt = np.ascontiguousarray(pt, dtype=np.int64)
    z, rho = np.empty((len(ps), s)), np.empty(len(ps))
    _solve_systems(np.ascontiguousarray(mat, dtype=np.float64), ps, pt, z, rho)
    regular = rho > SINGULAR_RHO
    singular = np.flatnonzero(~regular)  # singular to working precision, or regular yet too ill-conditioned
    ratio = _column_ratio(mat, ps[singular], pt[singular], rho[singular])
    unsure = singular[ratio > SINGULAR_RHO * 1e-3]
    if not regular.any():
        return dataclasses.replace(empty, ambiguous=bool(len(unsure)), singular=singular, doubtful=unsure)
    doubtful = [unsure]
    index = np.flatnonzero(regular)
    ps, pt, z, rho = ps[regular], pt[regular], z[regular], rho[regular]
    rows = mat[ps]  # (k, s, c): rows of the support
    size = np.maximum(1.0, np.abs(z).max(axis=1))
    # A cheap bound from rho first; the exact condition number only where it matters.
    error = _ERROR_SAFETY * s * eps * (2.0 / rho) * size
    over = np.einsum("ks,ksc->kc", z, rows) - 1.0
    np.put_along_axis(over, pt, -np.inf, axis=1)  # the basis's own constraints hold by construction
    worst = np.maximum((-z).max(axis=1), over.max(axis=1))
    feasible = worst <= tol
    close = (np.abs(worst - tol) <= error) | feasible
    if close.any():
        system = np.take_along_axis(rows[close], pt[close][:, None, :], axis=2).transpose(0, 2, 1)
        error[close] = _ERROR_SAFETY * s * eps * np.linalg.cond(system) * size[close]
        doubtful.append(index[np.abs(worst - tol) <= error])
    ps, pt = ps[feasible], pt[feasible]
    points = np.zeros((len(ps), d))
    np.put_along_axis(points, ps, z[feasible], axis=1)
    doubt = np.sort(np.concatenate(doubtful))
    return BasisBlock(
        points, basis_rows(ps, pt, d, c), error[feasible], bool(len(doubt)), singular, doubtful=doubt
    )


def basis_rows(ps: npt.NDArray[np.intp], pt: npt.NDArray[np.intp], d: int, c: int) -> BoolArray:
    """Bases given by their coordinates ``ps[k]`` and tight constraints ``pt[k]`` (arrays
    of shape ``(k, s)``) as rows of :attr:`BasisBlock.basis` (``d`` coordinates, then ``c``
    constraints).

    Examples
    --------
    >>> basis_rows(np.array([[1]]), np.array([[0]]), 2, 2).astype(int).tolist()
    [[0, 1, 1, 0]]
    """
    rows = np.zeros((len(ps), d + c), dtype=bool)
    if len(ps):
        np.put_along_axis(rows, np.asarray(ps, dtype=np.intp), True, axis=1)
        np.put_along_axis(rows, np.asarray(pt, dtype=np.intp) + d, True, axis=1)
    return rows


def _column_ratio(
    mat: FloatArray, ps: npt.NDArray[np.int64], pt: npt.NDArray[np.int64], rho: FloatArray
) -> FloatArray:
    """The larger of each system's Hadamard ratios by rows (``rho``) and by columns.

    Both bound the same determinant (Hadamard's inequality holds for rows and columns), so
    a system is near singular only when both are small: one whose coordinates merely have
    unequal scales has a small ratio by rows and a fair one by columns, and is regular in
    exact arithmetic, however hard to evaluate; it must be reported, never dropped as
    singular beyond working precision.
    """
    sub = np.take_along_axis(mat[ps], pt[:, None, :], axis=2)  # (k, coordinate, constraint)
    by_rows = np.prod(np.linalg.norm(sub, axis=1), axis=1)
    by_columns = np.prod(np.linalg.norm(sub, axis=2), axis=1)
    scaled = np.divide(rho * by_rows, by_columns, out=np.zeros_like(rho), where=by_columns > 0.0)
    return np.maximum(rho, scaled)


@numba.njit(cache=True)
def _solve_systems(
    mat: FloatArray, ps: npt.NDArray[np.int64], pt: npt.NDArray[np.int64], z: FloatArray, rho: FloatArray
) -> None:
    """For each ``k``: ``z[k]`` solves ``mat[ps[k], pt[k]]^T z = 1`` (refined once) and
    ``rho[k]`` is that system's Hadamard ratio ``|det| / prod(row norms)`` (0 if singular).

    Gaussian elimination with partial pivoting; row ``t`` of the system is constraint
    ``pt[k, t]`` over the coordinates ``ps[k]``.
    """
    k, s = ps.shape
    system = np.empty((s, s))
    lu = np.empty((s, s))
    perm = np.empty(s, dtype=np.int64)
    v = np.empty(s)
    r = np.empty(s)
    for q in range(k):
        norms = 1.0
        for t in range(s):
            total = 0.0
            for i in range(s):
                system[t, i] = mat[ps[q, i], pt[q, t]]
                total += system[t, i] * system[t, i]
            norms *= np.sqrt(total)
        lu[:, :] = system
        det = 1.0
        for t in range(s):
            perm[t] = t
        singular = False
        for col in range(s):
            best, big = col, abs(lu[col, col])
            for i in range(col + 1, s):
                if abs(lu[i, col]) > big:
                    best, big = i, abs(lu[i, col])
            if big == 0.0:
                singular = True
                break
            if best != col:
                for t in range(s):
                    lu[col, t], lu[best, t] = lu[best, t], lu[col, t]
                perm[col], perm[best] = perm[best], perm[col]
            det *= lu[col, col]
            for i in range(col + 1, s):
                factor = lu[i, col] / lu[col, col]
                lu[i, col] = factor
                for t in range(col + 1, s):
                    lu[i, t] -= factor * lu[col, t]
        if singular or norms == 0.0:
            rho[q] = 0.0
            z[q, :] = 0.0
            continue
        rho[q] = abs(det) / norms
        for t in range(s):
            r[t] = 1.0
        for step in range(2):  # the solve, then one step of iterative refinement
            for t in range(s):  # forward substitution with the row permutation
                total = r[perm[t]]
                for i in range(t):
                    total -= lu[t, i] * v[i]
                v[t] = total
            for t in range(s - 1, -1, -1):
                total = v[t]
                for i in range(t + 1, s):
                    total -= lu[t, i] * v[i]
                v[t] = total / lu[t, t]
            if step == 0:
                z[q, :] = v
                for t in range(s):
                    total = 1.0
                    for i in range(s):
                        total -= system[t, i] * z[q, i]
                    r[t] = total
            else:
                for i in range(s):
                    z[q, i] += v[i]


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the batched solver now (see bases._warm_up)."""
    _solve_systems(
        np.ones((2, 2)),
        np.zeros((1, 1), dtype=np.int64),
        np.zeros((1, 1), dtype=np.int64),
        np.empty((1, 1)),
        np.empty(1),
    )
