"""The partners of the vertices found, exactly: each complementary face searched in integers.

Vertex enumeration searches one best-response polytope and, as lrsnash does (Avis,
Rosenberg, Savani and von Stengel 2010, sec. 3), finds the partners of each of its vertices
in the other polytope ``{y >= 0 : K^T y <= 1}`` without searching it whole: a partner of a
vertex with label set ``L`` has every label outside ``L``, so it is a vertex of the face
``F`` that those labels ``W`` make tight. In the other polytope's tableau ``[K^T | I | 1]``
(:mod:`~equilibria.solver.normal_form.integer_search`) ``F`` is ``{x >= 0 : [K^T | I] x =
1, x_W = 0}``: the standard-form polytope of the variables ``L``.

- A non-degenerate vertex (``|L|`` equal to the number of rows) makes ``F`` one point or
  empty: the basis ``L`` is pivoted in (fraction-free Gaussian elimination), and its point
  is the partner when it is feasible. When the system is singular the face is searched.
- Otherwise the face is searched as lrs searches a polytope with linearities: phase one of
  the simplex method (lexicographic ratio test, so it ends) minimises the sum of ``W``'s
  slacks from the origin's basis; zero proves ``F`` non-empty (else the vertex has no
  partner), and degenerate pivots then take the ``W`` slacks still basic (at zero) out of
  the basis, except in rows whose every entry in ``L`` is zero (a ``W`` equation the others
  imply). From that basis ``B_0`` a depth-first search visits every basis of ``F`` that is
  lexicographically feasible for the right-hand side ``1 + B_0 (e, e^2, ...)``: those are
  the vertices of a simple polytope that tends to ``F``, so the search reaches every vertex
  of ``F`` (each is the limit of one of them), entering only the variables of ``L``.

Every entry is an exact integer (the fraction-free pivots of :mod:`.integer_search`, which
bound each entry below ``2^62``); a pivot that could leave that range, or a reduced cost
whose sign the floats cannot decide and int64 cannot hold, gives up (None), and the caller
searches the other polytope instead.

Examples
--------
In the 2 x 2 coordination game (payoffs rescaled to 0.1 + identity, times 10) the vertex
``x = (1/11, 0)`` of the row player's polytope has the labels 1 (``x_2 = 0``) and 2
(column 0 a best response); its one partner is ``y = (1/11, 0)``, the pure equilibrium:

>>> import numpy as np
>>> from equilibria.solver.normal_form.bases import Budget
>>> k = np.array([[11, 1], [1, 11]])
>>> own = np.array([[False, True, True, False]])  # global labels: row 1 and column 0
>>> partners = integer_partners(k, own, m=2, other_is_p=False, budget=Budget(100))
>>> partners.found.numerators.tolist(), partners.found.determinants.tolist()
([[1, 0]], [11])
>>> partners.kinds
{'solved': 1, 'singular': 0, 'empty': 0, 'searched': 0, 'dependent': 0}

References
----------
.. [1] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
.. [2] D. Avis, "lrs: A revised implementation of the reverse search vertex enumeration
   algorithm", in *Polytopes -- Combinatorics and Computation*, DMV Seminar 29 (2000)
   177-198 (linearities, the lexicographic rule).
.. [3] G. B. Dantzig, A. Orden and P. Wolfe, "The generalized simplex method for minimizing
   a linear form under linear inequality restraints", Pacific J. Math. 5 (1955) 183-195.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import BoolArray
from equilibria.solver.kernels import warm_up
from equilibria.solver.normal_form.bases import MAX_SEARCH_VARIABLES, Budget, _rehashed, _slot
from equilibria.solver.normal_form.integer_search import (
    MAX_ENTRY,
    IntegerBases,
    _compare,
    _grown,
    _labels,
    _leaving_row,
    _pivot,
    _record,
)

__all__ = ["KINDS", "FacePartners", "integer_partners"]

IntArray = npt.NDArray[np.int64]

#: Kernel outcomes.
_DONE, _PAUSED, _GAVE_UP = 0, 1, 2
#: The kinds of face :attr:`FacePartners.kinds` counts: solved as one square system (a
#: point, or no point when infeasible), singular (then searched), empty (phase one's sum
#: stays positive), searched (not a single point, or singular, and not empty), and
#: searched with an equation the others imply (a ``W`` slack left in the basis at zero).
KINDS = ("solved", "singular", "empty", "searched", "dependent")
_SOLVED, _SINGULAR, _EMPTY, _SEARCHED, _DEPENDENT = range(len(KINDS))
#: Phase one pivots per face past which the search gives up (the lexicographic rule ends
#: it long before; a guard, not a limit met in practice).
_MAX_PHASE_ONE = 100_000
#: Vertices of the searched polytope handled per call of the kernel (the clock is read between).
_VERTICES_PER_CALL = 4096


@dataclasses.dataclass(frozen=True)
class FacePartners:
    """The partners found face by face, and how many faces were of each kind.

    Attributes
    ----------
    found : IntegerBases
        One basis per distinct point found (bases of the same point may repeat: the caller
        keeps one per label set), with its exact point and labels; ``visited`` counts the
        bases of every face, a solved face's one basis included.
    kinds : dict of str to int
        Faces by kind (:data:`KINDS`).
    """

    found: IntegerBases
    kinds: dict[str, int]


def integer_partners(
    k: npt.ArrayLike, own: BoolArray, *, m: int, other_is_p: bool, budget: Budget
) -> FacePartners | None:
    """The bases of ``{y >= 0 : K^T y <= 1}`` at every vertex of each vertex's complementary face.

    Parameters
    ----------
    k : array_like of int, shape (d, c)
        The other polytope's positive integer matrix (``d`` coordinates, ``c`` constraints).
    own : ndarray of bool, shape (v, m + n)
        The vertices found in the searched polytope, by their global labels (row actions
        ``0..m-1``, then column actions), each exact.
    m : int
        The row player's number of actions.
    other_is_p : bool
        Whether the other polytope is the row player's (its coordinates are then the
        labels ``0..m-1``).
    budget : Budget
        Bases the searches may visit and their deadline (a pivoted-in basis counts one).

    Returns
    -------
    FacePartners or None
        None when an entry would leave int64's safe range, or the matrix is too large for
        the search's keys: the caller searches the other polytope.
    """
    k = np.asarray(k, dtype=np.int64)
    d, c = k.shape
    if d + c > MAX_SEARCH_VARIABLES or int(np.abs(k).max(initial=0)) > MAX_ENTRY:
        return None
    own = np.asarray(own, dtype=bool)
    # Each vertex's labels in the other polytope's variable order: its coordinates, then slacks.
    coordinates = np.arange(d) if other_is_p else m + np.arange(d)
    constraints = m + np.arange(c) if other_is_p else np.arange(c)
    order = np.concatenate([coordinates, constraints])
    masks = np.zeros(len(own), dtype=np.int64)
    for variable, label in enumerate(order.tolist()):
        masks |= own[:, label].astype(np.int64) << np.int64(variable)
    start = np.hstack([k.T, np.eye(c, dtype=np.int64), np.ones((c, 1), dtype=np.int64)])
    out = _Outputs(d)
    position, visited, stopped = 0, 0, ""
    while position < len(masks):
        allowed = budget.allowance()
        if allowed <= 0:
            stopped = "max_visited"
            break
        end = min(len(masks), position + _VERTICES_PER_CALL)
        status, position, spent = out.run(start, masks, position, end, allowed)
        budget.visited += spent
        visited += spent
        if status == _GAVE_UP:
            budget.visited -= visited
            return None
        if position < len(masks):  # work left: the clock and the count may stop it
            stopped = budget.expired()
            if stopped:
                break
    budget.stopped = budget.stopped or stopped
    n = out.n
    bits = out.labels[:n].astype("<i8").view(np.uint8).reshape(n, 8)  # bit t of byte t // 8
    labels = np.unpackbits(bits, axis=1, count=d + c, bitorder="little").view(bool)
    found = IntegerBases(out.keys[:n], out.numerators[:n], out.determinants[:n], labels, visited, stopped)
    return FacePartners(found, dict(zip(KINDS, out.kinds.tolist(), strict=True)))


class _Outputs:
    """The distinct bases found so far, and the table that keeps them distinct."""

    def __init__(self, d: int) -> None:
        self.keys = np.empty(256, dtype=np.int64)
        self.numerators = np.empty((256, d), dtype=np.int64)
        self.determinants = np.empty(256, dtype=np.int64)
        self.labels = np.empty(256, dtype=np.int64)
        self.seen = np.full(1024, -1, dtype=np.int64)
        self.kinds = np.zeros(len(KINDS), dtype=np.int64)
        self.n = 0

    def run(
        self, start: IntArray, masks: IntArray, first: int, end: int, allowed: int
    ) -> tuple[int, int, int]:
        """Handle the vertices ``first..end-1`` (fewer when ``allowed`` bases are spent):
        the status, the next vertex and the bases visited."""
        status, position, spent, self.seen, arrays = _faces_kernel(
            start,
            masks,
            first,
            end,
            allowed,
            self.seen,
            np.array([self.n], dtype=np.int64),
            self.kinds,
            (self.keys, self.numerators, self.determinants, self.labels),
        )
        self.keys, self.numerators, self.determinants, self.labels, count = arrays
        self.n = int(count)
        return int(status), int(position), int(spent)


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the face kernel now."""
    k = np.array([[11, 1], [1, 11]])
    labels = np.array([[False, True, True, False], [True, True, True, False]])
    integer_partners(k, labels, m=2, other_is_p=False, budget=Budget(100))


@numba.njit(cache=True)
def _faces_kernel(
    start: IntArray,
    masks: IntArray,
    first: int,
    end: int,
    allowed: int,
    seen: IntArray,
    count: IntArray,
    kinds: IntArray,
    outputs: tuple[IntArray, IntArray, IntArray, IntArray],
) -> tuple[int, int, int, IntArray, tuple[IntArray, IntArray, IntArray, IntArray, np.int64]]:
    """Every vertex of the faces of ``masks[first:end]`` (bit ``j``: variable ``j`` may be
    non-zero), recorded once per basis key in ``outputs`` (``seen`` keeps the keys);
    ``kinds`` counts the faces by :data:`KINDS`."""
    c = start.shape[0]
    width = start.shape[1] - 1
    d = width - c
    out_keys, out_num, out_det, out_labels = outputs
    n_out = count[0]
    tableau = np.empty_like(start)
    basic = np.empty(c, dtype=np.int64)
    local = np.full(256, -1, dtype=np.int64)
    stack = np.zeros((3, 64), dtype=np.int64)
    spent = 0
    position = first
    while position < end and spent < allowed:
        mask = masks[position]
        position += 1
        tableau[:, :] = start
        for i in range(c):
            basic[i] = d + i
        det = np.int64(1)
        excess = _popcount(mask) - c
        if excess < 0:  # fewer labels than dimensions: not a vertex (the caller never sends one)
            return _GAVE_UP, position, spent, seen, (out_keys, out_num, out_det, out_labels, n_out)
        state = _install(tableau, basic, det, mask, d) if excess == 0 else -1
        if state == -2:
            return _GAVE_UP, position, spent, seen, (out_keys, out_num, out_det, out_labels, n_out)
        if state > 0:  # the single point of the face: a partner when feasible
            det = np.int64(state)
            spent += 1
            kinds[_SOLVED] += 1
            if _feasible(tableau):
                n_out, out_keys, out_num, out_det, out_labels, seen = _output(
                    tableau, basic, det, d, n_out, out_keys, out_num, out_det, out_labels, seen
                )
            continue
        if state == 0:  # singular: search the face from the origin
            kinds[_SINGULAR] += 1
            tableau[:, :] = start
            for i in range(c):
                basic[i] = d + i
            det = np.int64(1)
        det = _phase_one(tableau, basic, det, mask, d)
        if det == -2:
            return _GAVE_UP, position, spent, seen, (out_keys, out_num, out_det, out_labels, n_out)
        if det == -1:  # the face is empty
            spent += 1
            kinds[_EMPTY] += 1
            continue
        kinds[_SEARCHED] += 1
        for i in range(c):
            if not (mask >> basic[i]) & 1:  # a W slack no variable of the face can replace
                kinds[_DEPENDENT] += 1
                break
        lex = basic.copy()
        local[:] = -1
        status, det, visited, local, stack, n_out, arrays, seen = _face_search(
            tableau,
            basic,
            det,
            mask,
            lex,
            local,
            stack,
            n_out,
            (out_keys, out_num, out_det, out_labels),
            seen,
        )
        out_keys, out_num, out_det, out_labels = arrays
        spent += visited
        if status == _GAVE_UP:
            return _GAVE_UP, position, spent, seen, (out_keys, out_num, out_det, out_labels, n_out)
    status = _DONE if position == end else _PAUSED
    return status, position, spent, seen, (out_keys, out_num, out_det, out_labels, n_out)


@numba.njit(cache=True, inline="always")
def _popcount(mask: np.int64) -> int:
    count = 0
    while mask != 0:
        mask &= mask - np.int64(1)
        count += 1
    return count


@numba.njit(cache=True)
def _signed_pivot(tableau: IntArray, det: np.int64, r: int, e: int) -> np.int64:
    """Fraction-free pivot on ``(r, e)`` keeping the determinant positive: a negative pivot
    entry negates the tableau after (``T / D`` is unchanged, and every later division still
    exact). The new determinant, or -2 when an entry could leave int64's safe range."""
    p = tableau[r, e]
    if not _pivot(tableau, det, r, e):
        return np.int64(-2)
    if p < 0:
        tableau *= -1
        return -p
    return p


@numba.njit(cache=True)
def _install(tableau: IntArray, basic: IntArray, det: np.int64, mask: np.int64, d: int) -> np.int64:
    """Pivot every coordinate of ``mask`` into the origin's basis in place of a slack outside
    ``mask``: the face's one basis. Its determinant; 0 when the system is singular (no row
    left for a coordinate); -2 when an entry could leave int64's range."""
    c = tableau.shape[0]
    for j in range(d):
        if not (mask >> j) & 1:
            continue
        row = -1
        for i in range(c):
            if basic[i] >= d and not (mask >> basic[i]) & 1 and tableau[i, j] != 0:
                row = i
                break
        if row < 0:
            return np.int64(0)
        det = _signed_pivot(tableau, det, row, j)
        if det == -2:
            return det
        basic[row] = j
    return det


@numba.njit(cache=True)
def _feasible(tableau: IntArray) -> bool:
    rhs = tableau.shape[1] - 1
    for i in range(tableau.shape[0]):  # noqa: SIM110  (a loop in numba)
        if tableau[i, rhs] < 0:
            return False
    return True


@numba.njit(cache=True)
def _phase_one(tableau: IntArray, basic: IntArray, det: np.int64, mask: np.int64, d: int) -> np.int64:
    """From the origin's basis, minimise the sum of the slacks outside ``mask`` (the simplex
    method, entering only variables of ``mask``, leaving by the lexicographic ratio test),
    then pivot those still basic (at zero) out where a variable of ``mask`` can replace
    them. The basis's determinant; -1 when the face is empty; -2 when giving up."""
    c = tableau.shape[0]
    width = tableau.shape[1] - 1
    done = False
    for _ in range(_MAX_PHASE_ONE):
        positive = False
        for i in range(c):
            if not (mask >> basic[i]) & 1 and tableau[i, width] > 0:
                positive = True
                break
        if not positive:
            done = True
            break
        e = -1
        best = 0.0
        for j in range(width):
            if not (mask >> j) & 1 or _is_basic(basic, j):
                continue
            sign, size = _reduced_cost(tableau, basic, mask, j)
            if sign == -2:
                return np.int64(-2)
            if size > best:  # size has sign's sign and best starts at 0: a decrease
                e, best = j, size
        if e < 0:  # optimal with a positive sum: no point of the face
            return np.int64(-1)
        r = _leaving_row(tableau, e, d)  # a positive entry exists: the sum decreases along e
        det = _signed_pivot(tableau, det, r, e)
        if det == -2:
            return det
        basic[r] = e
    if not done:
        return np.int64(-2)
    for i in range(c):
        if (mask >> basic[i]) & 1:
            continue
        for j in range(width):
            if (mask >> j) & 1 and not _is_basic(basic, j) and tableau[i, j] != 0:
                det = _signed_pivot(tableau, det, i, j)  # at zero: every value stays
                if det == -2:
                    return det
                basic[i] = j
                break
    return det


@numba.njit(cache=True, inline="always")
def _is_basic(basic: IntArray, j: int) -> bool:
    for i in range(basic.shape[0]):  # noqa: SIM110  (a loop in numba)
        if basic[i] == j:
            return True
    return False


@numba.njit(cache=True)
def _reduced_cost(tableau: IntArray, basic: IntArray, mask: np.int64, j: int) -> tuple[int, float]:
    """The sign of how much entering ``j`` decreases the sum of the slacks outside ``mask``
    (the sum of their rows' entries in column ``j``) and its float value; sign -2 when the
    floats cannot decide it and int64 cannot hold it."""
    total = 0.0
    size = 0.0
    for i in range(tableau.shape[0]):
        if not (mask >> basic[i]) & 1:
            total += float(tableau[i, j])
            size += abs(float(tableau[i, j]))
    if size < 4.0e18:  # every partial sum is exact in int64
        exact = np.int64(0)
        for i in range(tableau.shape[0]):
            if not (mask >> basic[i]) & 1:
                exact += tableau[i, j]
        return (exact > 0) - (exact < 0), float(exact)
    if abs(total) > 1e-12 * size:  # far beyond the sum's rounding (c eps size)
        return (1 if total > 0 else -1), total
    return -2, 0.0


@numba.njit(cache=True)
def _lex_leaving_row(tableau: IntArray, e: int, lex: IntArray) -> int:
    """The lexicographic ratio test's row for entering column ``e`` with the columns of the
    face's first basis ``lex`` breaking ties (-1: no positive entry)."""
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
        t = 0
        while sign == 0 and t < c:
            sign = _compare(tableau[i, lex[t]], a_i, tableau[best, lex[t]], a_b)
            t += 1
        if sign < 0:
            best = i
    return best


@numba.njit(cache=True)
def _output(
    tableau: IntArray,
    basic: IntArray,
    det: np.int64,
    d: int,
    n_out: np.int64,
    out_keys: IntArray,
    out_num: IntArray,
    out_det: IntArray,
    out_labels: IntArray,
    seen: IntArray,
) -> tuple[np.int64, IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Record the basis (once per key) when its point is not the origin."""
    key = np.int64(0)
    for i in range(basic.shape[0]):
        key |= np.int64(1) << basic[i]
    slot = _slot(seen, key)
    if seen[slot] == key:
        return n_out, out_keys, out_num, out_det, out_labels, seen
    if n_out == out_keys.shape[0]:
        out_keys, out_num, out_det, out_labels = _grown(out_keys, out_num, out_det, out_labels)
    if not _record(tableau, basic, det, d, out_num[n_out]):
        return n_out, out_keys, out_num, out_det, out_labels, seen
    seen[slot] = key
    if 2 * (n_out + 1) > seen.shape[0]:
        seen = _rehashed(seen)
    out_keys[n_out], out_det[n_out] = key, det
    out_labels[n_out] = _labels(tableau, basic, key, d)
    return n_out + 1, out_keys, out_num, out_det, out_labels, seen


@numba.njit(cache=True)
def _face_search(
    tableau: IntArray,
    basic: IntArray,
    det: np.int64,
    mask: np.int64,
    lex: IntArray,
    local: IntArray,
    stack: IntArray,
    n_out: np.int64,
    outputs: tuple[IntArray, IntArray, IntArray, IntArray],
    seen: IntArray,
) -> tuple[
    int, np.int64, int, IntArray, IntArray, np.int64, tuple[IntArray, IntArray, IntArray, IntArray], IntArray
]:
    """Depth-first search over the face's lexicographically feasible bases from the current
    one, entering only variables of ``mask``; each basis recorded by :func:`_output`.
    Returns the status, the determinant (of the first basis again), the bases visited and
    the arrays that may have grown."""
    width = tableau.shape[1] - 1
    d = width - tableau.shape[0]
    out_keys, out_num, out_det, out_labels = outputs
    key = np.int64(0)
    for i in range(basic.shape[0]):
        key |= np.int64(1) << basic[i]
    local[_slot(local, key)] = key
    n_out, out_keys, out_num, out_det, out_labels, seen = _output(
        tableau, basic, det, d, n_out, out_keys, out_num, out_det, out_labels, seen
    )
    visited, depth = 1, 0
    stack[0, 0] = 0
    while True:
        e = stack[0, depth]
        parent = stack[2, depth] if depth > 0 else -1
        moved = False
        while e < width:
            if (mask >> e) & 1 and not (key >> e) & 1 and e != parent:
                r = _lex_leaving_row(tableau, e, lex)
                if r >= 0:
                    following = key ^ (np.int64(1) << basic[r]) ^ (np.int64(1) << e)
                    slot = _slot(local, following)
                    if local[slot] != following:
                        local[slot] = following
                        if 2 * (visited + 1) > local.shape[0]:
                            local = _rehashed(local)
                        p = tableau[r, e]
                        if not _pivot(tableau, det, r, e):
                            return (
                                _GAVE_UP,
                                det,
                                visited,
                                local,
                                stack,
                                n_out,
                                (out_keys, out_num, out_det, out_labels),
                                seen,
                            )
                        stack[0, depth] = e + 1
                        depth += 1
                        if depth == stack.shape[1]:
                            stack = np.concatenate((stack, np.zeros_like(stack)), axis=1)
                        stack[0, depth], stack[1, depth], stack[2, depth] = 0, r, basic[r]
                        basic[r] = e
                        det, key = p, following
                        visited += 1
                        n_out, out_keys, out_num, out_det, out_labels, seen = _output(
                            tableau, basic, det, d, n_out, out_keys, out_num, out_det, out_labels, seen
                        )
                        moved = True
                        break
            e += 1
        if moved:
            continue
        if depth == 0:
            break
        r, back = stack[1, depth], stack[2, depth]
        p = tableau[r, back]
        _pivot(tableau, det, r, back)  # exact: it restores the tableau of the basis before
        key = key ^ (np.int64(1) << basic[r]) ^ (np.int64(1) << back)
        basic[r] = back
        det = p
        depth -= 1
    return _DONE, det, visited, local, stack, n_out, (out_keys, out_num, out_det, out_labels), seen
