"""Feasible bases of a best-response polytope ``{z >= 0 : M^T z <= 1}`` (``M > 0``).

The vertices that :mod:`~equilibria.solver.normal_form.vertex_enumeration` pairs up are the
points of the polytope's feasible bases. :func:`search_bases` finds them by a breadth-first
search over pivots from the all-slack basis (a numba kernel, every decision certified by an
a posteriori error bound, ties of the ratio test decided lexicographically where the payoffs
are integers: :mod:`~equilibria.solver.normal_form.lexicographic`);
:func:`~equilibria.solver.normal_form.square_systems.brute_force_bases` solves every square
system instead (larger games, and the tests' oracle). See docs/normal-form.md (section "Vertex
enumeration") for why the search visits every feasible basis and how decisions are certified.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.normal_form.bases import Budget, search_bases
>>> block = search_bases(np.array([[1.0, 2.0], [2.0, 1.0]]), 1e-9, Budget(100))
>>> sorted(block.points.round(6).tolist())
[[0.0, 0.5], [0.333333, 0.333333], [0.5, 0.0]]

References
----------
.. [1] R. G. Bland, "New finite pivoting rules for the simplex method", Math. Oper. Res.
   2 (1977) 103-107.
.. [2] D. Avis and K. Fukuda, "A pivoting algorithm for convex hulls and vertex
   enumeration of arrangements and polyhedra", Discrete Comput. Geom. 8 (1992) 295-313.
"""

from __future__ import annotations

import dataclasses
import time

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import BoolArray, FloatArray
from equilibria.solver.errors import ProblemTooLargeError
from equilibria.solver.kernels import warm_up
from equilibria.solver.normal_form import lexicographic
from equilibria.solver.normal_form.lexicographic import Residues

__all__ = [
    "BLOCK_ENTRIES",
    "MAX_SEARCH_VARIABLES",
    "BasisBlock",
    "Budget",
    "search_bases",
    "use_search",
]

#: The search keys a basis by a bitmask of its variables in one int64.
MAX_SEARCH_VARIABLES = 62
#: Entries of one batched block of linear systems (bounds peak memory).
BLOCK_ENTRIES = 1 << 22
#: Bases the search visits between two looks at the clock (tens of milliseconds).
_CHUNK = 4096
#: Bases with Hadamard ratio |det| / prod(row norms) at most this are treated as singular.
SINGULAR_RHO = 1e-12
#: Safety factor on the rounding error of a residual ``u - B v`` (``(c + 1) eps (|B| |v| + |u|)``).
_RESIDUAL_SAFETY = 2.0
#: Units in the last place by which the search's matrix may differ from the exact one it
#: stands for (exact mode: the rationals read from the doubles, rescaled exactly): added to
#: the residual's bound, so that a certified decision holds for that matrix too.
_DATA_SAFETY = 8.0
_EPS = float(np.finfo(np.float64).eps)


def use_search(d: int, c: int) -> bool:
    """Search by pivoting (faster at every size, by measurement) unless the key does not fit an int64."""
    return d + c <= MAX_SEARCH_VARIABLES


class Budget:
    """The work one enumeration may do: bases visited and, optionally, a deadline.

    The search stops when either runs out and says which (:attr:`stopped`); the brute
    force enumeration, whose work is known in advance, refuses past ``limit`` instead.

    Attributes
    ----------
    limit : int
        Largest number of bases that may be visited.
    deadline : float or None
        A :func:`time.perf_counter` reading after which the search stops.
    visited : int
        Bases visited so far (both polytopes of one game together).
    stopped : str
        Empty while the work is within both; else ``"max_visited"`` or ``"time_limit"``.
    """

    def __init__(self, limit: int, deadline: float | None = None) -> None:
        self.limit = limit
        self.deadline = deadline
        self.visited = 0
        self.stopped = ""

    def spend(self, bases: int) -> None:
        """Count ``bases`` more visited bases (brute force: work known in advance).

        Raises
        ------
        ProblemTooLargeError
            When the count goes over ``limit``.
        """
        self.visited += bases
        if self.visited > self.limit:
            raise ProblemTooLargeError(
                "method",
                f"vertex_enumeration(): visited over {self.limit:,} bases (max_visited); "
                "use method='lemke_howson' for one equilibrium",
            )

    def allowance(self) -> int:
        """How many more bases the search may visit before it looks at the clock again."""
        left = self.limit - self.visited
        return left if self.deadline is None else min(left, _CHUNK)

    def expired(self) -> str:
        """``"max_visited"`` or ``"time_limit"`` when that has run out, else empty."""
        if self.visited >= self.limit:
            return "max_visited"
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return "time_limit"
        return ""


@dataclasses.dataclass(frozen=True)
class BasisBlock:
    """Feasible bases of one batch: their points, the bases themselves, error bounds.

    Attributes
    ----------
    points : ndarray, shape (k, d)
        The basic solutions, zero off the basis coordinates.
    basis : ndarray of bool, shape (k, d + c)
        The basis coordinates, then the basis (tight) constraints.
    error : ndarray, shape (k,)
        A bound on the float error of each point.
    ambiguous : bool
        A feasibility or regularity decision in this batch was within its error.
    singular : ndarray of int
        The indices (in the order given) of the bases left out as singular
        (:func:`solve_bases`).
    doubtful : ndarray of int
        The indices (in the order given) of the bases whose regularity or feasibility was
        within its error (:func:`solve_bases`; they make the block ambiguous).
    stopped : str
        Why the search stopped before visiting every feasible basis (``"max_visited"``,
        ``"time_limit"``), or empty when it finished.
    """

    points: FloatArray
    basis: BoolArray
    error: FloatArray
    ambiguous: bool
    singular: npt.NDArray[np.intp] = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    stopped: str = ""
    doubtful: npt.NDArray[np.intp] = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.intp))


def search_bases(mat: FloatArray, tol: float, budget: Budget, residues: Residues | None = None) -> BasisBlock:
    """Feasible bases of the polytope ``{z >= 0 : mat^T z <= 1}`` by breadth-first search.

    Writes the polytope in standard form ``[mat^T | I] (z, w) = 1`` (variables ``0..d-1``
    the coordinates ``z``, ``d..d+c-1`` the slacks ``w``; a basis is keyed by the bitmask
    of its ``c`` variables) and runs :func:`_search_kernel` from the all-slack basis (the
    vertex ``z = 0``). Each visited basis ``B`` is checked afresh: its inverse ``X`` is
    computed from the payoffs, then the basic solution ``x = B^-1 1`` and the column
    ``a_j = B^-1 A_j`` of each non-basic variable ``j`` (``v = X u``, refined once by
    ``v += X (u - B v)``). Each value gets an a posteriori error bound: ``v - B^-1 u =
    B^-1 r`` for the residual ``r = u - B v``, computed within ``(c + 1) eps (|B| |v| +
    |u|)``, so the error is at most ``|X| (|r| + 2 (c + 1) eps (|B| |v| + |u|))``
    (LAPACK's forward error bound, doubled). The basis is kept when ``x >= -tol``; a basis
    within its bound of that threshold (kept or not) makes the result ambiguous.

    A pivot ``(r, j)`` of a kept basis (``j`` enters, the variable of row ``r`` leaves)
    moves to the point ``x - theta a_j`` with ``theta = x_r / a_rj`` and ``x_j = theta``.
    It is followed when the new basis is regular (Hadamard ratio ``rho |a_rj| |A_r| /
    |A_j|`` over ``SINGULAR_RHO``, where ``rho = |det B| / prod(column norms)`` starts at
    1 and is updated by each pivot) and that point violates feasibility by at most ``tol``
    plus twice its first-order error bound, or when ``|a_rj|`` is within twice its error
    of zero (no prediction can be trusted; the new basis is then checked afresh). This
    takes every leaving row that attains the minimum ratio (all ties) and also the
    degenerate exchanges with a negative pivot element. A pivot that passes but leads to a
    basis within a factor 1000 of singular makes the result ambiguous, and so does one to a
    basis below that whose pivot element is surely non-zero: such a basis is regular in
    exact arithmetic (``det B' = det B a_rj``), only too ill-conditioned to evaluate, so it
    is never skipped as singular. Only a pivot element within its error of zero (an exact
    zero of a degenerate game, or too small to tell) leads nowhere when ``rho`` is that small.

    With ``residues`` (``mat`` is ``S K`` for the integer matrix ``K`` they reduce, up to
    the rounding of ``mat``), the rows that tie are narrowed by the lexicographic ratio
    test, each tie decided exactly (:mod:`~equilibria.solver.normal_form.lexicographic`):
    every lexicographically feasible basis is still visited, hence every vertex, and a
    degenerate vertex costs a few bases instead of all of its feasible ones. Without them
    every feasible basis is visited.

    Returns the kept bases with a coordinate in them.

    Raises
    ------
    ProblemTooLargeError
        When the budget is exhausted.
    """
    d, c = mat.shape
    columns = np.vstack([mat, np.eye(c)])  # row v: the column of variable v in [mat^T | I]
    norms = np.linalg.norm(columns, axis=1)
    bit = np.left_shift(np.int64(1), np.arange(d + c, dtype=np.int64))
    queue, queue_rho, table = _seeded_queue(bit, d)
    if residues is None:
        primes, residue_columns = np.zeros(0, dtype=np.int64), np.zeros((0, d + c, c), dtype=np.int64)
        zero_primes = np.zeros(1, dtype=np.int64)
    else:
        primes, residue_columns = residues.primes, residues.columns
        zero_primes = np.array([residues.zero_primes], dtype=np.int64)
    kept, kept_x, kept_err = np.empty(256, dtype=np.int64), np.empty((256, c)), np.empty(256)
    head, tail, n_kept, ambiguous = 0, 1, 0, False
    stopped = ""
    while head < tail:  # in chunks: the clock is read between two calls of the kernel
        allowed = budget.allowance()
        if allowed <= 0:
            stopped = "max_visited"
            break
        before = head
        queue, queue_rho, table, kept, kept_x, kept_err, head, tail, n_kept, ambiguous = _search_kernel(
            columns,
            norms,
            tol,
            queue,
            queue_rho,
            table,
            kept,
            kept_x,
            kept_err,
            head,
            tail,
            n_kept,
            ambiguous,
            head + allowed,
            primes,
            zero_primes,
            residue_columns,
        )
        budget.visited += head - before
        if head < tail:
            stopped = budget.expired()
            if stopped:
                break
    budget.stopped = budget.stopped or stopped
    keys, kept, x, err = queue[:tail], kept[:n_kept], kept_x[:n_kept], kept_err[:n_kept]
    member = (keys[kept][:, None] & bit[None, :]) != 0
    points = np.zeros((len(kept), d))
    points[member[:, :d]] = x[np.nonzero(member)[1].reshape(len(kept), c) < d]
    basis = np.hstack([member[:, :d], ~member[:, d:]])  # basic coordinates, tight constraints
    return BasisBlock(points, basis, err, bool(ambiguous), stopped=stopped)


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the search kernel now.

    The first call in a process otherwise pays it: seconds on a cold cache. The server's
    forkserver calls this once, so every worker forked from it starts compiled.
    """
    search_bases(np.ones((1, 1)), 1e-9, Budget(10))
    search_bases(np.ones((1, 1)), 1e-9, Budget(10), lexicographic.residues(np.ones((1, 1), dtype=np.int64)))


@numba.njit(cache=True)
def _search_kernel(
    columns: FloatArray,
    norms: FloatArray,
    tol: float,
    queue: npt.NDArray[np.int64],
    queue_rho: FloatArray,
    table: npt.NDArray[np.int64],
    kept: npt.NDArray[np.int64],
    kept_x: FloatArray,
    kept_err: FloatArray,
    head: int,
    tail: int,
    n_kept: int,
    ambiguous: bool,
    stop: int,
    primes: npt.NDArray[np.int64],
    zero_primes: npt.NDArray[np.int64],
    residue_columns: npt.NDArray[np.int64],
) -> tuple[
    npt.NDArray[np.int64],
    FloatArray,
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    FloatArray,
    FloatArray,
    int,
    int,
    int,
    bool,
]:
    """Breadth-first search over the feasible bases of ``[mat^T | I] (z, w) = 1`` (see :func:`search_bases`).

    ``columns[v]`` is the column of variable ``v`` (``vstack([mat, I])``), ``norms`` their norms.
    The search's state goes in and comes back (its arrays possibly grown): the queue of
    keys of the bases seen in visiting order (``head`` visited, ``tail`` seen) with their
    Hadamard ratios, the table of seen keys, the queue index of each kept basis with a
    coordinate in it (``n_kept``) with its basic solution and error bound, and the
    ambiguity flag. It visits bases until the queue is exhausted or ``head`` reaches ``stop``.
    ``primes``, ``zero_primes`` (one entry) and ``residue_columns``
    (:class:`~.lexicographic.Residues`; no primes: every tie is followed) decide the ties of
    the ratio test lexicographically.
    """
    width, c = columns.shape
    d = width - c
    safety = (_RESIDUAL_SAFETY * (c + 1) + _DATA_SAFETY) * _EPS
    bit = np.empty(width, dtype=np.int64)
    for v in range(width):
        bit[v] = np.int64(1) << np.int64(v)
    basic, nonbasic = np.empty(c, dtype=np.int64), np.empty(d, dtype=np.int64)
    unit_row = np.empty(c, dtype=np.int64)  # the row of the one of each slack column
    # B transposed (row t is the column of basic variable t), X (its inverse) transposed.
    system, inverse, work = np.empty((c, c)), np.empty((c, c)), np.empty((c, c))
    # Right-hand sides, their solutions and error bounds, one per row: 1, then each A_j.
    rhs, values, error = np.empty((d + 1, c)), np.empty((d + 1, c)), np.empty((d + 1, c))
    residual = np.empty((3, c))
    # Candidate leaving rows of one entering variable, and the lexicographic test's state:
    # the basis inverse's columns (floats, with error bounds) and everything modulo primes.
    candidates, candidate_rho = np.empty(c, dtype=np.int64), np.empty(c)
    keep = np.empty(c, dtype=np.bool_)
    unit = np.eye(c)
    lex_values, lex_error = np.empty((c, c)), np.empty((c, c))
    n_primes = primes.shape[0]
    # Modulo each prime, made as needed at each basis: LU factors of B (state 0: not yet, 1:
    # made, -1: singular), x = B^-1 1, the entering column B^-1 A_j (a_for: its j), rows of B^-1.
    mod_state, a_for = np.zeros(n_primes, dtype=np.int64), np.full(n_primes, -1, dtype=np.int64)
    lu_mod, perm_mod = np.empty((n_primes, c, c), dtype=np.int64), np.empty((n_primes, c), dtype=np.int64)
    diag_mod, x_mod = np.empty((n_primes, c), dtype=np.int64), np.empty((n_primes, c), dtype=np.int64)
    a_mod, inverse_mod = np.empty((n_primes, c), dtype=np.int64), np.empty((n_primes, c, c), dtype=np.int64)
    row_ready = np.zeros((n_primes, c), dtype=np.bool_)
    ones_mod, work_mod = np.ones(c, dtype=np.int64), np.empty(c, dtype=np.int64)
    mod = (
        primes,
        zero_primes,
        residue_columns,
        basic,
        lu_mod,
        perm_mod,
        diag_mod,
        ones_mod,
        mod_state,
        x_mod,
        a_mod,
        a_for,
        inverse_mod,
        row_ready,
        work_mod,
    )
    while head < tail and head < stop:
        key, rho = queue[head], queue_rho[head]
        nb, nn = 0, 0
        for v in range(width):
            if key & bit[v]:
                basic[nb] = v
                nb += 1
            else:
                nonbasic[nn] = v
                nn += 1
        rhs[0] = 1.0
        for t in range(c):
            system[t] = columns[basic[t]]
        for j in range(d):
            rhs[j + 1] = columns[nonbasic[j]]
        dense = 0
        for t in range(c):
            if basic[t] < d:
                dense += 1
            else:
                unit_row[t] = basic[t] - d
        head += 1
        if not _invert(system, inverse, work):
            ambiguous = True  # exactly singular to float precision: no pivot should lead here
            continue
        _tableau(system, dense, unit_row, inverse, rhs, values, error, residual, safety)
        surely, feasible, close = True, True, False
        x_err_max = 0.0
        for i in range(c):
            x, x_err = values[0, i], error[0, i]
            x_err_max = max(x_err_max, x_err)
            if -x - x_err > tol:
                surely = False
            if -x > tol:
                feasible = False
            if abs(x + tol) <= x_err:
                close = True
        ambiguous |= surely and close
        if not feasible:
            continue
        if basic[0] < d:  # the all-slack basis (z = 0) is no vertex
            if n_kept == kept.shape[0]:
                kept, kept_x, kept_err = _grown_kept(kept, kept_x, kept_err)
            kept[n_kept] = head - 1
            kept_x[n_kept] = values[0]
            kept_err[n_kept] = x_err_max
            n_kept += 1
        lex_state = 0 if n_primes > 0 else -1  # 0: keys not made at this basis, 1: made, -1: no residues
        for j in range(d):
            col = j + 1
            a_err_max, size_max = 0.0, 0.0
            row, low = -1, np.inf  # the row of the minimum ratio: a cheap witness of a spill
            for i in range(c):
                a_err_max = max(a_err_max, error[col, i])
                size_max = max(size_max, abs(values[col, i]))
                if values[col, i] > 2.0 * error[col, i] and max(values[0, i], 0.0) / values[col, i] < low:
                    row, low = i, max(values[0, i], 0.0) / values[col, i]
            count = 0
            for r in range(c):
                a_rj = values[col, r]
                size_a = abs(a_rj)
                new_rho = rho * size_a * (norms[basic[r]] / norms[nonbasic[j]])
                certain = size_a > 2.0 * error[col, r]  # the pivot element is surely not zero
                if not new_rho > SINGULAR_RHO * 1e-3 and not certain:  # singular to working precision
                    continue
                theta = values[0, r] / a_rj
                if certain:  # else no prediction can be trusted
                    spread = x_err_max + abs(theta) * a_err_max
                    margin = tol + 2.0 * spread * (1.0 + (1.0 + size_max) / size_a)
                    if -theta > margin:
                        continue
                    if row >= 0 and theta * values[col, row] - values[0, row] > margin:
                        continue
                    if _spills(values, col, theta, margin):
                        continue
                candidates[count], candidate_rho[count] = r, new_rho
                count += 1
            if count > 1 and lex_state == 0:  # a tie at this basis: its lexicographic keys
                lex_state = 1
                _tableau(system, dense, unit_row, inverse, unit, lex_values, lex_error, residual, safety)
                mod_state[:] = 0
                a_for[:] = -1
                row_ready[:, :] = False
            if count > 1 and lex_state == 1:
                _lex_prune(
                    candidates, count, col, nonbasic[j], values, error, lex_values, lex_error, mod, keep
                )
            else:
                keep[:count] = True
            for q in range(count):
                if not keep[q]:
                    continue
                r, new_rho = candidates[q], candidate_rho[q]
                if not new_rho > SINGULAR_RHO:
                    # Too close to singular to evaluate in floats. With a surely non-zero
                    # pivot element the basis is regular in exact arithmetic (det B' = det B
                    # a_rj): a vertex that cannot be decided, never one to skip in silence.
                    ambiguous = True
                    continue
                neighbour = key ^ bit[basic[r]] ^ bit[nonbasic[j]]
                slot = _slot(table, neighbour)
                if table[slot] == neighbour:
                    continue
                table[slot] = neighbour
                if tail == queue.shape[0]:
                    queue, queue_rho = _grown_queue(queue, queue_rho)
                queue[tail], queue_rho[tail] = neighbour, new_rho
                tail += 1
                if 2 * tail > table.shape[0]:
                    table = _rehashed(table)
    return queue, queue_rho, table, kept, kept_x, kept_err, head, tail, n_kept, ambiguous


@numba.njit(cache=True)
def _seeded_queue(
    bit: npt.NDArray[np.int64], d: int
) -> tuple[npt.NDArray[np.int64], FloatArray, npt.NDArray[np.int64]]:
    """The queue (keys, Hadamard ratios) and the table of seen bases, both holding the
    all-slack basis (every variable from ``d`` on)."""
    start = np.int64(0)
    for v in range(d, bit.shape[0]):
        start |= bit[v]
    queue = np.empty(1024, dtype=np.int64)
    queue_rho = np.empty(1024)
    queue[0], queue_rho[0] = start, 1.0
    table = np.full(2048, -1, dtype=np.int64)
    table[_slot(table, start)] = start
    return queue, queue_rho, table


@numba.njit(cache=True)
def _spills(values: FloatArray, col: int, theta: float, margin: float) -> bool:
    """Whether the point ``x - theta a`` after a pivot violates a bound by more than ``margin``.

    ``values[0]`` is the basic solution ``x`` and ``values[col]`` the entering column ``a``.
    """
    for i in range(values.shape[1]):  # noqa: SIM110  (a loop in numba)
        if theta * values[col, i] - values[0, i] > margin:
            return True
    return False


@numba.njit(cache=True)
def _grown_queue(
    queue: npt.NDArray[np.int64], queue_rho: FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The queue of keys and its Hadamard ratios with their capacity doubled."""
    n = queue.shape[0]
    return np.concatenate((queue, np.empty(n, dtype=np.int64))), np.concatenate((queue_rho, np.empty(n)))


@numba.njit(cache=True)
def _grown_kept(
    kept: npt.NDArray[np.int64], kept_x: FloatArray, kept_err: FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """The kept-basis arrays with their capacity doubled."""
    n = kept.shape[0]
    return (
        np.concatenate((kept, np.empty(n, dtype=np.int64))),
        np.concatenate((kept_x, np.empty((n, kept_x.shape[1])))),
        np.concatenate((kept_err, np.empty(n))),
    )


@numba.njit(cache=True)
def _rehashed(old: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The open-addressing table ``old`` rehashed into one twice its size."""
    table = np.full(2 * old.shape[0], -1, dtype=np.int64)
    for k in range(old.shape[0]):
        if old[k] != -1:
            table[_slot(table, old[k])] = old[k]
    return table


@numba.njit(cache=True)
def _invert(transposed: FloatArray, inverse: FloatArray, work: FloatArray) -> bool:
    """``inverse = transposed^-1`` by Gauss-Jordan elimination with partial pivoting.

    Row operations only (vectorised ``axpy``). False if a pivot is exactly zero.
    """
    c = transposed.shape[0]
    work[:, :] = transposed
    inverse[:, :] = 0.0
    for i in range(c):
        inverse[i, i] = 1.0
    for k in range(c):
        best, pivot = k, abs(work[k, k])
        for i in range(k + 1, c):
            if abs(work[i, k]) > pivot:
                best, pivot = i, abs(work[i, k])
        if pivot == 0.0:
            return False
        if best != k:
            for t in range(c):
                work[k, t], work[best, t] = work[best, t], work[k, t]
                inverse[k, t], inverse[best, t] = inverse[best, t], inverse[k, t]
        scale = 1.0 / work[k, k]
        for t in range(c):
            work[k, t] *= scale
            inverse[k, t] *= scale
        for i in range(c):
            factor = work[i, k]
            if i != k and factor != 0.0:
                for t in range(c):
                    work[i, t] -= factor * work[k, t]
                    inverse[i, t] -= factor * inverse[k, t]
    return True


@numba.njit(cache=True)
def _tableau(
    columns: FloatArray,
    dense: int,
    unit_row: npt.NDArray[np.int64],
    inverse: FloatArray,
    rhs: FloatArray,
    values: FloatArray,
    error: FloatArray,
    work: FloatArray,
    safety: float,
) -> None:
    """``values[j] = X rhs[j]`` refined once, and its a posteriori error bound ``error[j]``.

    ``columns[t]`` is column ``t`` of the basis matrix ``B`` and ``inverse[t]`` column
    ``t`` of its computed inverse ``X`` (both stored transposed, so every product is a
    sum of rows: vectorised ``axpy``). The columns of ``B`` from ``dense`` on are unit
    vectors (slacks; ``unit_row[t]`` is the row of the one of column ``t``), whose zeros
    are skipped (they add exact zeros). Each right-hand side ``u = rhs[j]`` gets ``v = X
    u``, then ``v += X (u - B v)``, and the bound ``|X| (|u - B v| + safety (|B| |v| +
    |u|))``.
    """
    c = columns.shape[0]
    product, size, step = work[0], work[1], work[2]
    for j in range(rhs.shape[0]):
        u, v = rhs[j], values[j]
        v[:] = 0.0
        for t in range(c):
            if u[t] != 0.0:
                for i in range(c):
                    v[i] += u[t] * inverse[t, i]
        for refine in range(2):
            product[:] = 0.0
            size[:] = 0.0
            for t in range(dense):
                vt, at = v[t], abs(v[t])
                for i in range(c):
                    product[i] += columns[t, i] * vt
                    size[i] += abs(columns[t, i]) * at
            for t in range(dense, c):
                product[unit_row[t]] += v[t]
                size[unit_row[t]] += abs(v[t])
            if refine == 0:  # one step of iterative refinement
                step[:] = 0.0
                for t in range(c):
                    r = u[t] - product[t]
                    if r != 0.0:
                        for i in range(c):
                            step[i] += r * inverse[t, i]
                for i in range(c):
                    v[i] += step[i]
        e = error[j]
        e[:] = 0.0
        for t in range(c):
            r = abs(u[t] - product[t]) + safety * (size[t] + abs(u[t]))
            for i in range(c):
                e[i] += abs(inverse[t, i]) * r


@numba.njit(cache=True)
def _slot(table: npt.NDArray[np.int64], key: np.int64) -> int:
    """Index of ``key`` in the open-addressing table, or of the empty slot where it goes."""
    mask = table.shape[0] - 1
    i = ((key * np.int64(-0x61C8864680B583EB)) >> np.int64(29)) & mask  # Fibonacci hashing, wrapping
    while table[i] != key and table[i] != -1:
        i = (i + 1) & mask
    return i


# -- the lexicographic ratio test's exact tie decisions (see lexicographic.py) ---------------------


@numba.njit(cache=True)
def _mul_mod(a: np.int64, b: np.int64, p: np.int64, p_inverse: float) -> np.int64:
    """``a b mod p`` for ``0 <= a, b < p < 2^31``, without a division.

    ``a b < 2^62`` is exact in an int64; the quotient estimated in floats (``p_inverse =
    1 / p``) is within 1 of ``floor(a b / p)``, so one correction lands in ``[0, p)``.
    """
    q = np.int64(float(a) * float(b) * p_inverse)
    r = a * b - q * p
    if r < 0:
        r += p
    elif r >= p:
        r -= p
    return r


@numba.njit(cache=True, inline="always")
def _sub_mul_mod(total: np.int64, a: np.int64, b: np.int64, p: np.int64, p_inverse: float) -> np.int64:
    """``total - a b`` modulo ``p`` in ``[0, p)``, for ``total``, ``a``, ``b`` in ``[0, p)``."""
    v = total - _mul_mod(a, b, p, p_inverse)
    return v + p if v < 0 else v


@numba.njit(cache=True)
def _power_mod(base: np.int64, exponent: np.int64, p: np.int64, p_inverse: float) -> np.int64:
    result = np.int64(1)
    while exponent > 0:
        if exponent & 1:
            result = _mul_mod(result, base, p, p_inverse)
        base = _mul_mod(base, base, p, p_inverse)
        exponent >>= 1
    return result


@numba.njit(cache=True)
def _lu_mod(
    lu: npt.NDArray[np.int64], perm: npt.NDArray[np.int64], inv_diag: npt.NDArray[np.int64], p: np.int64
) -> bool:
    """``P B = L U`` modulo ``p`` in place (``lu`` holds ``B``'s residues; ``L`` unit lower,
    ``U`` upper), row ``i`` of ``P B`` being row ``perm[i]`` of ``B``, and the inverses of
    ``U``'s diagonal. False when ``B`` is singular modulo ``p``."""
    c = lu.shape[0]
    p_inverse = 1.0 / float(p)
    for i in range(c):
        perm[i] = i
    for k in range(c):
        pivot = -1
        for i in range(k, c):
            if lu[i, k] != 0:
                pivot = i
                break
        if pivot < 0:
            return False
        if pivot != k:
            for t in range(c):
                lu[k, t], lu[pivot, t] = lu[pivot, t], lu[k, t]
            perm[k], perm[pivot] = perm[pivot], perm[k]
        inv = _power_mod(lu[k, k], p - 2, p, p_inverse)  # Fermat: p is prime
        inv_diag[k] = inv
        for i in range(k + 1, c):
            if lu[i, k] != 0:
                factor = _mul_mod(lu[i, k], inv, p, p_inverse)
                lu[i, k] = factor
                for t in range(k + 1, c):
                    if lu[k, t] != 0:
                        lu[i, t] = _sub_mul_mod(lu[i, t], factor, lu[k, t], p, p_inverse)
    return True


@numba.njit(cache=True)
def _solve_mod(
    lu: npt.NDArray[np.int64],
    perm: npt.NDArray[np.int64],
    inv_diag: npt.NDArray[np.int64],
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    p: np.int64,
) -> None:
    """``v = B^-1 u`` modulo ``p`` from :func:`_lu_mod`'s factors."""
    c = lu.shape[0]
    p_inverse = 1.0 / float(p)
    for i in range(c):
        v[i] = u[perm[i]]
    for i in range(c):  # L (unit lower)
        total = v[i]
        for t in range(i):
            if lu[i, t] != 0 and v[t] != 0:
                total = _sub_mul_mod(total, lu[i, t], v[t], p, p_inverse)
        v[i] = total
    for i in range(c - 1, -1, -1):  # U
        total = v[i]
        for t in range(i + 1, c):
            if lu[i, t] != 0 and v[t] != 0:
                total = _sub_mul_mod(total, lu[i, t], v[t], p, p_inverse)
        v[i] = _mul_mod(total, inv_diag[i], p, p_inverse)


@numba.njit(cache=True)
def _inverse_row_mod(
    lu: npt.NDArray[np.int64],
    perm: npt.NDArray[np.int64],
    inv_diag: npt.NDArray[np.int64],
    r: int,
    y: npt.NDArray[np.int64],
    work: npt.NDArray[np.int64],
    p: np.int64,
) -> None:
    """``y`` = row ``r`` of ``B^-1`` modulo ``p``: ``B^T y = e_r``, with ``B^T = U^T L^T P``."""
    c = lu.shape[0]
    p_inverse = 1.0 / float(p)
    for i in range(c):  # U^T w = e_r (U^T lower triangular)
        total = np.int64(1) if i == r else np.int64(0)
        for t in range(i):
            if lu[t, i] != 0 and work[t] != 0:
                total = _sub_mul_mod(total, lu[t, i], work[t], p, p_inverse)
        work[i] = _mul_mod(total, inv_diag[i], p, p_inverse)
    for i in range(c - 1, -1, -1):  # L^T z = w (unit upper), z in place of w
        total = work[i]
        for t in range(i + 1, c):
            if lu[t, i] != 0 and work[t] != 0:
                total = _sub_mul_mod(total, lu[t, i], work[t], p, p_inverse)
        work[i] = total
    for i in range(c):  # P y = z
        y[perm[i]] = work[i]


@numba.njit(cache=True, inline="always")
def _lex_factored(q: int, mod: tuple) -> bool:  # type: ignore[type-arg]
    """Whether the basis matrix is regular modulo prime ``q``, factoring it (and solving for
    ``x_mod[q] = B^-1 1``) the first time it is asked at this basis."""
    primes, _, residue_columns, basic, lu_mod, perm_mod, diag_mod, ones, state, x_mod, _, _, _, _, _ = mod
    if state[q] == 0:
        c = basic.shape[0]
        for t in range(c):
            for i in range(c):
                lu_mod[q, i, t] = residue_columns[q, basic[t], i]
        state[q] = -1
        if _lu_mod(lu_mod[q], perm_mod[q], diag_mod[q], primes[q]):
            _solve_mod(lu_mod[q], perm_mod[q], diag_mod[q], ones, x_mod[q], primes[q])
            state[q] = 1
    return state[q] == 1


@numba.njit(cache=True, inline="always")
def _lex_residue(q: int, row: int, k: int, mod: tuple) -> np.int64:  # type: ignore[type-arg]
    """Component ``k`` of row ``row``'s key numerator modulo prime ``q`` (after :func:`_lex_factored`):
    ``x_row`` for ``k = -1``, else entry ``(row, k)`` of ``B^-1`` (its row made once per basis)."""
    primes, _, _, _, lu_mod, perm_mod, diag_mod, _, _, x_mod, _, _, inverse_mod, row_ready, work = mod
    if k < 0:
        return x_mod[q, row]
    if not row_ready[q, row]:
        _inverse_row_mod(lu_mod[q], perm_mod[q], diag_mod[q], row, inverse_mod[q, row], work, primes[q])
        row_ready[q, row] = True
    return inverse_mod[q, row, k]


@numba.njit(cache=True, inline="always")
def _lex_entering(q: int, entering: int, mod: tuple) -> None:  # type: ignore[type-arg]
    """``a_mod[q] = B^-1 A_entering`` modulo prime ``q`` (once per basis and entering variable)."""
    primes, _, residue_columns, _, lu_mod, perm_mod, diag_mod, _, _, _, a_mod, a_for, _, _, _ = mod
    if a_for[q] != entering:
        _solve_mod(lu_mod[q], perm_mod[q], diag_mod[q], residue_columns[q, entering], a_mod[q], primes[q])
        a_for[q] = entering


@numba.njit(cache=True)
def _lex_prune(
    candidates: npt.NDArray[np.int64],
    count: int,
    col: int,
    entering: int,
    values: FloatArray,
    error: FloatArray,
    lex_values: FloatArray,
    lex_error: FloatArray,
    mod: tuple,  # type: ignore[type-arg]
    keep: npt.NDArray[np.bool_],
) -> None:
    """``keep[q]``: whether candidate row ``candidates[q]`` may be the lexicographic pivot row.

    ``values[0]`` is the basic solution, ``values[col]`` the entering column (variable
    ``entering``), and ``lex_values[k]`` column ``k`` of the basis inverse, each with its
    error bound; ``mod`` the basis modulo primes (see :func:`_search_kernel`). A row whose
    pivot element is surely negative never is; nor is one that a row with a surely positive
    pivot element certainly precedes (:func:`_lex_precedes`): the rows are compared against
    the best so far, then against the winner, ``2 count`` comparisons, not ``count^2``.
    """
    # A tournament: the candidate no other certainly precedes (the lexicographic row when
    # every comparison is decided), then every other one it certainly precedes is dropped.
    best = -1
    for q in range(count):
        r = candidates[q]
        keep[q] = not values[col, r] < -2.0 * error[col, r]  # surely negative: never the pivot
        surely_positive = values[col, r] > 2.0 * error[col, r]
        if surely_positive and (
            best < 0
            or _lex_precedes(r, candidates[best], col, entering, values, error, lex_values, lex_error, mod)
        ):
            best = q
    if best < 0:
        return
    for q in range(count):
        s = candidates[q]
        if (
            keep[q]
            and q != best
            and values[col, s] > 2.0 * error[col, s]  # a pivot element that may be zero: kept
            and _lex_precedes(candidates[best], s, col, entering, values, error, lex_values, lex_error, mod)
        ):
            keep[q] = False


@numba.njit(cache=True, inline="always")
def _lex_precedes(
    r: int,
    s: int,
    col: int,
    entering: int,
    values: FloatArray,
    error: FloatArray,
    lex_values: FloatArray,
    lex_error: FloatArray,
    mod: tuple,  # type: ignore[type-arg]
) -> bool:
    """Whether row ``r``'s key ``(x_r, X_r0, X_r1, ...) / a_r`` is certainly lexicographically
    smaller than row ``s``'s (both pivot elements surely positive).

    At each component the float difference ``v_r a_s - v_s a_r`` decides when it exceeds its
    error bound (from the values' bounds, plus its own rounding). Otherwise the component
    counts as equal when both numerators vanish modulo the first ``zero_primes`` primes
    (then both are 0 exactly: their product exceeds ``2 H``), or when the difference
    vanishes modulo every prime (then it is 0 exactly: see :func:`~.lexicographic.residues`);
    and as undecided (False) when it does not, or a prime divides ``det B``.
    """
    primes, zero_primes, _, _, _, _, _, _, _, _, a_mod, _, _, _, _ = mod
    c = values.shape[1]
    a_r, e_ar, a_s, e_as = values[col, r], error[col, r], values[col, s], error[col, s]
    for k in range(-1, c):
        if k < 0:
            v_r, e_r, v_s, e_s = values[0, r], error[0, r], values[0, s], error[0, s]
        else:
            v_r, e_r, v_s, e_s = lex_values[k, r], lex_error[k, r], lex_values[k, s], lex_error[k, s]
        left, right = v_r * a_s, v_s * a_r
        diff = left - right
        bound = 2.0 * (abs(v_r) * e_as + e_r * (abs(a_s) + e_as) + abs(v_s) * e_ar + e_s * (abs(a_r) + e_ar))
        bound += 4.0 * _EPS * (abs(left) + abs(right))
        if diff < -bound:
            return True
        if diff > bound:
            return False
        # Both numerators exactly 0 (the common tie of a degenerate vertex)? Not when the floats
        # show one is not; else modulo the first primes.
        zero = abs(v_r) <= e_r and abs(v_s) <= e_s
        for q in range(zero_primes[0] if zero else 0):
            if not _lex_factored(q, mod):
                return False
            if _lex_residue(q, r, k, mod) != 0 or _lex_residue(q, s, k, mod) != 0:
                zero = False
                break
        if zero:
            continue
        for q in range(primes.shape[0]):
            if not _lex_factored(q, mod):
                return False
            m_r, m_s = _lex_residue(q, r, k, mod), _lex_residue(q, s, k, mod)
            _lex_entering(q, entering, mod)
            if (m_r * a_mod[q, s] - m_s * a_mod[q, r]) % primes[q] != 0:
                return False  # not equal, and the floats cannot tell which is smaller
    return False  # equal keys: only for r == s (the rows of B^-1 are independent)
