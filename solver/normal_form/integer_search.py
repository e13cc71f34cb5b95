"""Every lexicographically feasible basis of an integer best-response polytope, in machine integers.

The polytope ``{y >= 0 : K^T y <= 1}`` of an integer matrix ``K > 0`` (``d`` coordinates,
``c`` constraints) is written with one slack per constraint, as the tableau ``[K^T | I | 1]``,
and searched depth-first from the origin's basis by fraction-free pivoting (Edmonds; Bareiss):
every entry of the tableau stays an integer, the basis inverse and the basic solution times the
basis determinant ``D``, so every decision is exact. From each basis every entering variable
gives one neighbour, its leaving row chosen by the lexicographic ratio test (the minimum ratio,
ties broken by the columns of the basis inverse, as lrs breaks them): the bases met are the
lexicographically feasible ones, the vertices of the polytope with its right-hand side
perturbed to ``1 + (e, e^2, ...)``, which reach every vertex of the polytope
(:mod:`~equilibria.solver.normal_form.exact_search` does the same search in Python's integers,
breadth-first; this module is its oracle-checked fast path). A pivot is undone by pivoting
back (fraction-free pivots are exact), so the search keeps one tableau.

The entries are kept in int64 while they stay below ``2^62`` in magnitude. Each new entry
``q = (x p - a y) / D`` (an exact division) is bounded beforehand in floats by ``(|x p| + |a
y|) / D``; below ``2^62``, it is determined by its residue modulo ``2^(64 - t)`` (``2^t``
the power of two in ``D``) and its float estimate, and the residue needs only ``x p - a y``
modulo ``2^64`` (wrapping int64 arithmetic) and the inverse of ``D``'s odd part modulo
``2^64`` (Newton's iteration, once per pivot); a row whose every numerator is bounded below
``2^62`` (by the row's largest entry and the pivot row's) is divided in integers alone, the
numerator exact in int64. Each comparison of two ratios, the sign of
``x_i a_j - x_j a_i``, is decided by floats when the float difference exceeds its rounding
error, and else from the two products in 128-bit integer arithmetic. An entry that could
reach ``2^62`` stops the search: :func:`integer_bases` returns None and the caller searches
another way (large payoffs make large determinants: random 0..99 games from about 10 x 10
on; payoffs in {0, 1, 2} stay within range to about 16 x 16).

Examples
--------
``{y >= 0 : y_1 + 2 y_2 <= 1, 2 y_1 + y_2 <= 1}``: its non-zero vertices are
``(1/2, 0)``, ``(1/3, 1/3)`` and ``(0, 1/2)``, each met by one basis:

>>> import numpy as np
>>> from equilibria.solver.normal_form.bases import Budget
>>> found = integer_bases(np.array([[1, 2], [2, 1]]), Budget(100))
>>> sorted(zip(found.numerators.tolist(), found.determinants.tolist()))
[([0, 1], 2), ([1, 0], 2), ([1, 1], 3)]
>>> found.visited  # the origin's basis too
4

References
----------
.. [1] D. Avis, "lrs: A revised implementation of the reverse search vertex enumeration
   algorithm", in *Polytopes -- Combinatorics and Computation*, DMV Seminar 29 (2000)
   177-198 (integer pivoting, the lexicographic rule).
.. [2] E. H. Bareiss, "Sylvester's identity and multistep integer-preserving Gaussian
   elimination", Math. Comp. 22 (1968) 565-578.
.. [3] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import BoolArray
from equilibria.solver.kernels import warm_up
from equilibria.solver.normal_form.bases import MAX_SEARCH_VARIABLES, Budget, _rehashed, _slot

__all__ = ["MAX_ENTRY", "IntegerBases", "integer_bases"]

IntArray = npt.NDArray[np.int64]

#: Entries of the tableau stay below this in magnitude (the bound that lets an exact quotient
#: be read off its residue modulo ``2^64``; see the module docstring).
MAX_ENTRY = 1 << 62
#: A row whose numerators ``x p - a y`` are bounded (in floats, by its largest entry and the
#: pivot row's) below this is pivoted in integers alone: below ``2^62`` with room for the
#: bound's rounding, so every numerator, and its quotient, is exact in int64.
_SMALL_NUMERATOR = 4.0e18
#: Kernel outcomes.
_DONE, _PAUSED, _OVERFLOW = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class IntegerBases:
    """The lexicographically feasible bases of ``{y >= 0 : K^T y <= 1}`` with a non-zero point.

    Attributes
    ----------
    keys : ndarray of int64, shape (k,)
        Each basis as a bitmask of its basic variables (``0..d-1`` the coordinates, ``d..d+c-1``
        the slacks).
    numerators : ndarray of int64, shape (k, d)
        Each basis's point times its determinant: the point is ``numerators / determinants``.
    determinants : ndarray of int64, shape (k,)
        The (positive) determinant of each basis.
    labels : ndarray of bool, shape (k, d + c)
        Exact labels of each point: coordinate ``i`` when ``y_i = 0``, ``d + j`` when
        constraint ``j`` is tight.
    visited : int
        Lexicographically feasible bases visited (the origin's included).
    stopped : str
        Why the search stopped before the end (``"max_visited"``, ``"time_limit"``), or empty.
    """

    keys: IntArray
    numerators: IntArray
    determinants: IntArray
    labels: BoolArray
    visited: int
    stopped: str = ""


def integer_bases(k: npt.ArrayLike, budget: Budget) -> IntegerBases | None:
    """Every lexicographically feasible basis of ``{y >= 0 : K^T y <= 1}``, exactly.

    Parameters
    ----------
    k : array_like of int, shape (d, c)
        Positive integers (the polytope is then bounded); ``d + c`` at most
        :data:`~equilibria.solver.normal_form.bases.MAX_SEARCH_VARIABLES`.
    budget : Budget
        Bases the search may visit and its deadline; the visited bases are counted in it.

    Returns
    -------
    IntegerBases or None
        None when an entry of the tableau would exceed :data:`MAX_ENTRY` in magnitude (the
        search is abandoned, and the bases it visited are not counted in ``budget``: the
        search that answers instead counts its own), or the matrix is too large for the
        search's keys.
    """
    k = np.asarray(k, dtype=np.int64)
    d, c = k.shape
    if d + c > MAX_SEARCH_VARIABLES or int(np.abs(k).max(initial=0)) > MAX_ENTRY:
        return None
    state = _State.start(k)
    counted, stopped = budget.visited, ""
    while True:
        allowed = budget.allowance()
        if allowed <= 0:
            stopped = "max_visited"
            break
        before = state.visited
        status = state.run(state.visited + allowed)
        budget.visited += state.visited - before
        if status == _OVERFLOW:
            budget.visited = counted
            return None
        if status == _DONE:
            break
        stopped = budget.expired()
        if stopped:
            break
    budget.stopped = budget.stopped or stopped
    n = state.n_out
    keys = state.out_keys[:n]
    masks = state.out_labels[:n].astype("<i8").view(np.uint8).reshape(n, 8)  # bit t of byte t // 8
    labels = np.unpackbits(masks, axis=1, count=d + c, bitorder="little").view(bool)
    return IntegerBases(keys, state.out_num[:n], state.out_det[:n], labels, state.visited, stopped)


class _State:
    """The depth-first search's state between two calls of its kernel (the clock is read between)."""

    def __init__(self, tableau: IntArray, table: IntArray) -> None:
        c = tableau.shape[0]
        d = tableau.shape[1] - c - 1
        self.tableau = tableau
        self.table = table
        self.basic = np.arange(d, d + c, dtype=np.int64)
        # scalars: det, key, depth, visited, n_out
        self.scalars = np.array([1, int(np.sum(np.int64(1) << self.basic)), 0, 0, 0], dtype=np.int64)
        self.stack = np.zeros((3, 256), dtype=np.int64)  # next entering variable, row, variable left
        self.out_keys = np.empty(256, dtype=np.int64)
        self.out_num = np.empty((256, d), dtype=np.int64)
        self.out_det = np.empty(256, dtype=np.int64)
        self.out_labels = np.empty(256, dtype=np.int64)

    @classmethod
    def start(cls, k: IntArray) -> _State:
        d, c = k.shape
        tableau = np.hstack([k.T, np.eye(c, dtype=np.int64), np.ones((c, 1), dtype=np.int64)])
        table = np.full(1024, -1, dtype=np.int64)
        state = cls(np.ascontiguousarray(tableau), table)
        key = state.scalars[1]
        table[_slot(table, key)] = key
        return state

    @property
    def visited(self) -> int:
        return int(self.scalars[3])

    @property
    def n_out(self) -> int:
        return int(self.scalars[4])

    def run(self, stop: int) -> int:
        status, self.table, self.stack, outputs = _search_kernel(
            self.tableau,
            self.basic,
            self.scalars,
            self.table,
            self.stack,
            (self.out_keys, self.out_num, self.out_det, self.out_labels),
            stop,
        )
        self.out_keys, self.out_num, self.out_det, self.out_labels = outputs
        return int(status)


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the search kernel now."""
    integer_bases(np.ones((1, 1), dtype=np.int64), Budget(10))


@numba.njit(cache=True)
def _search_kernel(
    tableau: IntArray,
    basic: IntArray,
    scalars: IntArray,
    table: IntArray,
    stack: IntArray,
    outputs: tuple[IntArray, IntArray, IntArray, IntArray],
    stop: int,
) -> tuple[int, IntArray, IntArray, tuple[IntArray, IntArray, IntArray, IntArray]]:
    """Depth-first search over the lexicographically feasible bases (see :func:`integer_bases`).

    ``scalars`` holds the basis determinant, the basis key, the depth, the bases visited and
    the bases recorded; ``stack[:, t]`` the next entering variable to try at depth ``t``, and
    the row and variable to pivot back on to leave depth ``t``. Visits bases until the search
    ends (``_DONE``), ``stop`` bases are visited (``_PAUSED``: call again to go on) or an entry
    would leave int64's safe range (``_OVERFLOW``). Returns the status and the arrays that
    may have grown.
    """
    c = tableau.shape[0]
    width = tableau.shape[1] - 1  # variables; the last column is the right-hand side
    d = width - c
    det, key, depth, visited = scalars[0], scalars[1], scalars[2], scalars[3]
    out_keys, out_num, out_det, out_labels = outputs
    n_out = scalars[4]
    if visited == 0:  # the origin's basis: visited, no point to record
        visited = 1
    while True:
        if visited >= stop:
            status = _PAUSED
            break
        e = stack[0, depth]
        parent = stack[2, depth] if depth > 0 else -1  # entering it leads back: visited
        moved = False
        while e < width:
            if not (key >> e) & 1 and e != parent:
                r = _leaving_row(tableau, e, d)
                if r >= 0:
                    following = key ^ (np.int64(1) << basic[r]) ^ (np.int64(1) << e)
                    slot = _slot(table, following)
                    if table[slot] != following:
                        table[slot] = following
                        if 2 * (visited + 1) > table.shape[0]:
                            table = _rehashed(table)
                        p = tableau[r, e]
                        if not _pivot(tableau, det, r, e):
                            scalars[0], scalars[1], scalars[2], scalars[3], scalars[4] = (
                                det,
                                key,
                                depth,
                                visited,
                                n_out,
                            )
                            return _OVERFLOW, table, stack, (out_keys, out_num, out_det, out_labels)
                        stack[0, depth] = e + 1
                        depth += 1
                        if depth == stack.shape[1]:
                            stack = np.concatenate((stack, np.zeros_like(stack)), axis=1)
                        stack[0, depth], stack[1, depth], stack[2, depth] = 0, r, basic[r]
                        basic[r] = e
                        det, key = p, following
                        visited += 1
                        if n_out == out_keys.shape[0]:
                            out_keys, out_num, out_det, out_labels = _grown(
                                out_keys, out_num, out_det, out_labels
                            )
                        if _record(tableau, basic, det, d, out_num[n_out]):
                            out_keys[n_out], out_det[n_out] = key, det
                            out_labels[n_out] = _labels(tableau, basic, key, d)
                            n_out += 1
                        moved = True
                        break
            e += 1
        if moved:
            continue
        if depth == 0:
            status = _DONE
            break
        r, back = stack[1, depth], stack[2, depth]
        p = tableau[r, back]
        _pivot(tableau, det, r, back)  # exact: it restores the tableau of the basis before
        key = key ^ (np.int64(1) << basic[r]) ^ (np.int64(1) << back)
        basic[r] = back
        det = p
        depth -= 1
    scalars[0], scalars[1], scalars[2], scalars[3], scalars[4] = det, key, depth, visited, n_out
    return status, table, stack, (out_keys, out_num, out_det, out_labels)


@numba.njit(cache=True)
def _odd_inverse(det: np.int64) -> tuple[np.int64, np.int64]:
    """``det = 2^t d`` with ``d`` odd: ``t`` and the inverse of ``d`` modulo ``2^64``.

    Newton's iteration ``v <- v (2 - d v)`` doubles the correct low bits from the 3 of
    ``v = d`` (``d^2 = 1 mod 8`` for odd ``d``): five steps give 96 >= 64. Wrapping int64
    arithmetic is arithmetic modulo ``2^64``.
    """
    shift = np.int64(0)
    odd = det
    while odd & 1 == 0:
        odd >>= np.int64(1)
        shift += 1
    inverse = odd
    for _ in range(5):
        inverse = inverse * (np.int64(2) - odd * inverse)
    return shift, inverse


@numba.njit(cache=True, inline="always")
def _exact_quotient(
    x: np.int64, p: np.int64, a: np.int64, y: np.int64, det: np.int64, shift: np.int64, inverse: np.int64
) -> tuple[np.int64, bool]:
    """``(x p - a y) / det`` (an exact division: ``det = 2^shift d``, ``inverse`` the inverse
    of ``d`` modulo ``2^64``) and whether it is within :data:`MAX_ENTRY`.

    Its magnitude is bounded beforehand in floats by ``(|x p| + |a y|) / det``. The quotient
    modulo ``2^(64 - shift)`` needs only the numerator modulo ``2^64`` (wrapping int64
    arithmetic): shifted right by ``shift`` and multiplied by ``inverse``. With ``shift``
    0 that is the quotient; else the float estimate of the quotient (within ``2^-50`` of the
    bound, so within ``2^12``) picks the multiple of ``2^(64 - shift)`` to add.
    """
    bound = (abs(float(x) * float(p)) + abs(float(a) * float(y))) / float(det)
    if not bound * (1.0 + 1e-9) < float(MAX_ENTRY) or shift > 50:
        return np.int64(0), False
    numerator = x * p - a * y  # modulo 2^64
    if shift == 0:
        return numerator * inverse, True
    residue = np.int64(np.uint64(numerator) >> np.uint64(shift)) * inverse  # modulo 2^(64 - shift)
    residue = (residue << shift) >> shift  # sign-extended from bit 63 - shift
    estimate = (float(x) * float(p) - float(a) * float(y)) / float(det)
    width = np.int64(64) - shift
    turns = np.int64(np.rint((estimate - float(residue)) / float(np.int64(1) << width)))
    return residue + (turns << width), True


@numba.njit(cache=True)
def _pivot(tableau: IntArray, det: np.int64, r: int, e: int) -> bool:
    """Fraction-free pivot on row ``r``, column ``e`` in place (row ``r`` stays); False on overflow."""
    c, columns = tableau.shape
    p = tableau[r, e]
    shift, inverse = _odd_inverse(det)
    scale = abs(float(p))
    reach = abs(float(_row_max(tableau, r)))  # the pivot row's largest entry
    for i in range(c):
        a = tableau[i, e]
        if i == r or (a == 0 and p == det):  # row r stays; so does a row with a zero, when p == det
            continue
        if float(_row_max(tableau, i)) * scale + abs(float(a)) * reach < _SMALL_NUMERATOR:
            # Every numerator x p - a y of this row is exact in int64 and a multiple of det:
            # shifting out det's power of two and multiplying by its odd part's inverse
            # (modulo 2^64) divides exactly, in integers alone.
            for j in range(columns):
                tableau[i, j] = ((tableau[i, j] * p - a * tableau[r, j]) >> shift) * inverse
            continue
        for j in range(columns):
            q, ok = _exact_quotient(tableau[i, j], p, a, tableau[r, j], det, shift, inverse)
            if not ok:
                return False
            tableau[i, j] = q
    return True


@numba.njit(cache=True, inline="always")
def _row_max(tableau: IntArray, i: int) -> np.int64:
    """The largest magnitude in row ``i`` (entries are below ``2^62`` in magnitude)."""
    largest = np.int64(0)
    for j in range(tableau.shape[1]):
        largest = max(largest, abs(tableau[i, j]))
    return largest


@numba.njit(cache=True, inline="always")
def _magnitude_product(a: np.int64, b: np.int64) -> tuple[np.uint64, np.uint64]:
    """``|a b|`` as 128 bits ``(high, low)``, for ``|a|, |b| < 2^63``."""
    ua = np.uint64(-a if a < 0 else a)
    ub = np.uint64(-b if b < 0 else b)
    half, mask = np.uint64(32), np.uint64(0xFFFFFFFF)
    a_low, a_high, b_low, b_high = ua & mask, ua >> half, ub & mask, ub >> half
    low_low = a_low * b_low
    middle = a_low * b_high + a_high * b_low  # each below 2^63: the sum fits
    low = low_low + (middle << half)
    carry = np.uint64(1) if low < low_low else np.uint64(0)
    return a_high * b_high + (middle >> half) + carry, low


@numba.njit(cache=True)
def _exact_sign(x_i: np.int64, a_j: np.int64, x_j: np.int64, a_i: np.int64) -> int:
    """The sign of ``x_i a_j - x_j a_i`` in 128-bit arithmetic, for ``a_i, a_j > 0``."""
    s_i = (x_i > 0) - (x_i < 0)
    s_j = (x_j > 0) - (x_j < 0)
    if s_i != s_j:
        return 1 if s_i > s_j else -1
    if s_i == 0:
        return 0
    high_i, low_i = _magnitude_product(x_i, a_j)
    high_j, low_j = _magnitude_product(x_j, a_i)
    if high_i == high_j and low_i == low_j:
        return 0
    larger = high_i > high_j or (high_i == high_j and low_i > low_j)
    return s_i if larger else -s_i


@numba.njit(cache=True, inline="always")
def _compare(x_i: np.int64, a_i: np.int64, x_j: np.int64, a_j: np.int64) -> int:
    """The sign of ``x_i / a_i - x_j / a_j`` for ``a_i, a_j > 0``: of ``x_i a_j - x_j a_i``.

    Decided by floats when the float difference exceeds its rounding error (each product
    within ``1.5 eps`` of its value); else in 128-bit integer arithmetic.
    """
    left, right = float(x_i) * float(a_j), float(x_j) * float(a_i)
    bound = 6e-16 * (abs(left) + abs(right))  # over 2 eps (|left| + |right|)
    if left - right > bound:
        return 1
    if right - left > bound:
        return -1
    return _exact_sign(x_i, a_j, x_j, a_i)


@numba.njit(cache=True)
def _leaving_row(tableau: IntArray, e: int, d: int) -> int:
    """The lexicographic ratio test's row for entering column ``e`` (-1: no positive entry).

    Rows compare by ``(x_i, X_i1, X_i2, ...) / a_i``: the right-hand side, then the columns of
    the basis inverse (the slack columns ``d..``), each divided by the entering column's entry.
    Rows of the inverse are independent, so one row is smallest.
    """
    c = tableau.shape[0]
    rhs = tableau.shape[1] - 1
    best = -1
    for i in range(c):
        a_i = tableau[i, e]
        if a_i <= 0:
            continue
        if best < 0:
            best = i
            continue
        a_b = tableau[best, e]
        sign = _compare(tableau[i, rhs], a_i, tableau[best, rhs], a_b)
        column = d
        while sign == 0 and column < rhs:
            sign = _compare(tableau[i, column], a_i, tableau[best, column], a_b)
            column += 1
        if sign < 0:
            best = i
    return best


@numba.njit(cache=True)
def _record(tableau: IntArray, basic: IntArray, det: np.int64, d: int, numerators: IntArray) -> bool:
    """Write the basis's point times ``det`` into ``numerators``; whether the point is not zero."""
    rhs = tableau.shape[1] - 1
    numerators[:] = 0
    nonzero = False
    for t in range(basic.shape[0]):
        if basic[t] < d and tableau[t, rhs] != 0:
            numerators[basic[t]] = tableau[t, rhs]
            nonzero = True
    return nonzero


@numba.njit(cache=True)
def _labels(tableau: IntArray, basic: IntArray, key: np.int64, d: int) -> np.int64:
    """The point's labels as a bitmask: every variable at zero (non-basic, or basic at zero)."""
    rhs = tableau.shape[1] - 1
    mask = ~key & ((np.int64(1) << rhs) - 1)  # the non-basic variables (rhs = d + c variables)
    for t in range(basic.shape[0]):
        if tableau[t, rhs] == 0:
            mask |= np.int64(1) << basic[t]
    return mask


@numba.njit(cache=True)
def _grown(
    keys: IntArray, numerators: IntArray, determinants: IntArray, labels: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The output arrays with their capacity doubled."""
    n = keys.shape[0]
    return (
        np.concatenate((keys, np.empty(n, dtype=np.int64))),
        np.concatenate((numerators, np.empty((n, numerators.shape[1]), dtype=np.int64))),
        np.concatenate((determinants, np.empty(n, dtype=np.int64))),
        np.concatenate((labels, np.empty(n, dtype=np.int64))),
    )
