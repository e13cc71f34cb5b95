"""One Nash equilibrium of a 2-player game by Lemke-Howson with lexicographic pivoting.

Complementary pivoting from the artificial equilibrium ``(0, 0)`` (Lemke and Howson
1964), with a lexicographic ratio test so that degenerate games cannot cycle; one
numba-compiled call per path pivots, normalises and certifies the end point. See
docs/normal-form.md (section "Lemke-Howson").

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.normal_form.lemke_howson import lemke_howson
>>> g = NormalFormGame.from_bimatrix([[3, 3], [2, 5], [0, 6]], [[3, 2], [2, 6], [3, 1]])
>>> eq = lemke_howson(g).equilibria[0]
>>> eq.strategies[0].tolist(), eq.strategies[1].tolist()
([1.0, 0.0, 0.0], [1.0, 0.0])

References
----------
.. [1] C. E. Lemke and J. T. Howson, "Equilibrium points of bimatrix games", J. SIAM
   12 (1964) 413-423.
.. [2] B. von Stengel, "Computing equilibria for two-person games", Handbook of Game
   Theory with Economic Applications, vol. 3, ch. 45 (2002), sec. 3.4 and 6.2.
"""

from __future__ import annotations

import time

import numba
import numpy as np
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.errors import InvalidOptionError, UnsupportedError, check_tolerance
from equilibria.solver.game import NormalFormGame, regret_tolerance
from equilibria.solver.kernels import warm_up
from equilibria.solver.regret import bimatrix_certificate_into
from equilibria.solver.results import Component, Equilibrium, SolutionSet, instantiate, lazy_game_id, template

__all__ = ["lemke_howson"]

_PIVOT_EPS = 1e-12

#: Entries of the kernel's output beyond the end point: payoffs (2), regrets (2), NashConv,
#: then each player's largest and smallest payoff (4).
_EXTRA = 9
# The fixed fields of every answer; each call fills in the rest (see _answer).
_EQUILIBRIUM = template(
    Equilibrium, strategies=(), payoffs=None, regrets=None, nash_conv=0.0, components=(0,)
)
_SOLUTION_SET = template(
    SolutionSet, game_id="", equilibria=(), components=(), complete=False, method="lemke_howson"
)
del _SOLUTION_SET["game_id"]  # each result's is lazy_game_id()'s


def lemke_howson(
    game: NormalFormGame,
    *,
    init_label: int = 0,
    tol: float = 1e-9,
    max_pivots: int = 1_000_000,
) -> SolutionSet:
    """One Nash equilibrium of a 2-player game.

    Parameters
    ----------
    game : NormalFormGame
        A 2-player game.
    init_label : int, optional(default=0)
        The label dropped first, in ``range(m + n)``: ``i < m`` is the row player's
        action ``i``, ``m + j`` the column player's action ``j``. Different labels can
        reach different equilibria. When the path from ``init_label`` does not end at a
        certified equilibrium (float round-off), every other label is tried in turn.
    tol : float, optional(default=1e-9)
        Regret tolerance, relative to the payoff scale, for accepting the end point.
    max_pivots : int, optional(default=1_000_000)
        Pivot limit per path.

    Returns
    -------
    SolutionSet
        One equilibrium; ``complete`` is False.

    Raises
    ------
    UnsupportedError
        If the game does not have 2 players.
    InvalidOptionError
        If ``init_label`` is out of range.

    Notes
    -----
    One compiled call per path rescales the payoffs, pivots, normalises the end point
    and certifies it from the game's own payoffs (:func:`regret.bimatrix_certificate_into`),
    so a small game costs a few microseconds beyond its pivots.
    """
    started = time.perf_counter()
    payoffs = game.payoffs
    if payoffs.ndim != 3:
        raise UnsupportedError(
            "method", f"lemke_howson(): needs a 2-player game, got {game.n_players} players"
        )
    check_tolerance(tol, "lemke_howson")
    m, n = payoffs.shape[1], payoffs.shape[2]
    if not 0 <= init_label < m + n:
        raise InvalidOptionError(
            "init_label", f"lemke_howson(): init_label must be in range({m + n}), got {init_label}"
        )
    # The usual case: the first path ends at a certified equilibrium.
    out = np.empty(m + n + _EXTRA)  # the kernel's output (returning arrays from numba costs ~1 us each)
    pivots = _solve_label(payoffs, init_label, max_pivots, _PIVOT_EPS, out)
    # Each player's own units, from the extremes the kernel read (a fresh game's
    # regret_tolerances() would read the payoffs again: more than a short path costs).
    # Python floats: arithmetic on numpy scalars costs several times more.
    regret_row, regret_col, _, high_row, low_row, high_col, low_col = out[m + n + 2 :].tolist()
    if (
        pivots > 0
        and regret_row <= regret_tolerance(tol, high_row, low_row)
        and regret_col <= regret_tolerance(tol, high_col, low_col)
    ):
        return _answer(game, (out, init_label, pivots), m, tol, (), started)
    return _other_labels(game, out, pivots, init_label, tol, max_pivots, started)


def _other_labels(
    game: NormalFormGame,
    first_out: FloatArray,
    first_pivots: int,
    init_label: int,
    tol: float,
    max_pivots: int,
    started: float,
) -> SolutionSet:
    """After a first path that failed, every other label in turn; the best end point."""
    payoffs = game.payoffs
    m, n = payoffs.shape[1], payoffs.shape[2]
    accept = game.regret_tolerances(tol)
    warnings: list[str] = []
    best: tuple[FloatArray, int, int] | None = None  # (kernel output, label, pivots)
    for attempt in range(m + n):
        label = _label_of_attempt(attempt, init_label)
        if attempt == 0:
            out, pivots = first_out, first_pivots
        else:
            out = np.empty(m + n + _EXTRA)
            pivots = _solve_label(payoffs, label, max_pivots, _PIVOT_EPS, out)
        if pivots < 0:
            warnings.append(f"label {label}: no end point within {max_pivots:,} pivots")
            continue
        if pivots == 0:
            warnings.append(
                f"label {label}: the path left the polytope (an unbounded ray or a zero end point: round-off)"
            )
            continue
        nash_conv = out[m + n + 4]
        if best is None or nash_conv < best[0][m + n + 4]:
            best = (out, label, pivots)
        if out[m + n + 2] <= accept[0] and out[m + n + 3] <= accept[1]:
            break
        warnings.append(
            f"label {label}: end point has NashConv {nash_conv:.3g} (round-off); trying next label"
        )
    return _answer(game, best, m, tol, tuple(warnings), started)


def _answer(
    game: NormalFormGame,
    best: tuple[FloatArray, int, int] | None,
    m: int,
    tol: float,
    warnings: tuple[str, ...],
    started: float,
) -> SolutionSet:
    """The end point ``best`` (kernel output, label, pivots) as a one-equilibrium set.

    Its arrays are views into the kernel's output. Built from templates with
    :func:`results.instantiate`: on a small game the three dataclasses' ``__init__``
    would cost more than the pivoting.
    """
    if best is None:
        return instantiate(
            SolutionSet,
            lazy_game_id(
                {
                    **_SOLUTION_SET,
                    "method_reason": "no path ended",
                    "warnings": warnings,
                    "tolerance": tol,
                    "elapsed_seconds": time.perf_counter() - started,
                },
                game,
            ),
        )
    out, label, pivots = best
    k = out.shape[0] - _EXTRA  # m + n
    x, y = out[:m], out[m:k]
    eq = instantiate(
        Equilibrium,
        {
            **_EQUILIBRIUM,
            "strategies": (x, y),
            "payoffs": out[k : k + 2],
            "regrets": out[k + 2 : k + 4],
            "nash_conv": float(out[k + 4]),
        },
    )
    component = instantiate(Component, {"equilibrium_indices": (0,), "vertices": (x[None], y[None])})
    return instantiate(
        SolutionSet,
        lazy_game_id(
            {
                **_SOLUTION_SET,
                "equilibria": (eq,),
                "components": (component,),
                "method_reason": f"dropped label {label}, {pivots} pivots",
                "warnings": warnings,
                "tolerance": tol,
                "elapsed_seconds": time.perf_counter() - started,
            },
            game,
        ),
    )


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the pivoting kernels now.

    The first call in a process otherwise pays it: seconds on a cold cache. The server's
    forkserver calls this once, so every worker forked from it starts compiled. The
    kernels are compiled for what :func:`lemke_howson` passes them: the game's read-only
    payoff tensor.
    """
    payoffs = np.ones((2, 1, 1))
    payoffs.setflags(write=False)
    _solve_label(payoffs, 0, 1, _PIVOT_EPS, np.empty(2 + _EXTRA))


def _label_of_attempt(attempt: int, first: int) -> int:
    """The label dropped at attempt 0, 1, ...: ``first``, then the others in increasing order."""
    if attempt == 0:
        return first
    return attempt - 1 if attempt - 1 < first else attempt


@numba.njit(cache=True)
def _solve_label(payoffs: FloatArray, init_label: int, max_pivots: int, eps: float, out: FloatArray) -> int:
    """One path, compiled end to end: rescale, pivot, normalise, certify.

    Returns the pivot count: 0 on an unbounded ray or a zero end point, -1 past
    ``max_pivots`` (then ``out[:m + n + 5]`` is unset). Otherwise ``out`` (length ``m +
    n + _EXTRA``) holds the normalised end point ``x``, ``y``, then the payoffs, the
    regrets and NashConv measured from ``payoffs`` (the user's). Always, its last four
    entries are the largest and smallest payoff of the row player, then of the column
    player.
    """
    a = payoffs[0]
    b = payoffs[1]
    m, n = a.shape
    # Compact tableaux: only the nonbasic columns are stored (the basic ones are unit
    # vectors), plus the rhs as the last column. P (row player, n rows):
    # B^T x + s = 1 with x nonbasic at the start; Q (column player, m rows): r + A y = 1
    # with y nonbasic at the start. Both rescaled as positive_rescale(., 1.0) does.
    tab_p = np.empty((n, m + 1))
    tab_q = np.empty((m, n + 1))
    low_b, half_b = _rescale_bounds(b)
    low_a, half_a = _rescale_bounds(a)
    extremes = out.shape[0] - 4
    out[extremes] = a.max()
    out[extremes + 1] = low_a
    out[extremes + 2] = b.max()
    out[extremes + 3] = low_b
    for j in range(n):
        for i in range(m):
            tab_p[j, i] = 1.0 if half_b == 0.0 else 1.0 + (b[i, j] / 2.0 - low_b / 2.0) / half_b
        tab_p[j, m] = 1.0
    for i in range(m):
        for j in range(n):
            tab_q[i, j] = 1.0 if half_a == 0.0 else 1.0 + (a[i, j] / 2.0 - low_a / 2.0) / half_a
        tab_q[i, n] = 1.0
    # Variable k (label k) is basic in row basic_row[k] or nonbasic in column column_of[k].
    basis_p = np.arange(m, m + n)
    column_p = np.full(m + n, -1)
    column_p[:m] = np.arange(m)
    basis_q = np.arange(m)
    column_q = np.full(m + n, -1)
    column_q[m:] = np.arange(n)
    pivots = _follow(tab_p, tab_q, basis_p, basis_q, column_p, column_q, init_label, max_pivots, eps)
    x = np.zeros(m)
    y = np.zeros(n)
    if pivots > 0:
        for r in range(n):
            if basis_p[r] < m:
                x[basis_p[r]] = max(tab_p[r, m], 0.0)
        for r in range(m):
            if basis_q[r] >= m:
                y[basis_q[r] - m] = max(tab_q[r, n], 0.0)
        total_x = _numpy_sum(x)
        total_y = _numpy_sum(y)
        if total_x <= 0.0 or total_y <= 0.0:
            pivots = 0
        else:
            x /= total_x
            y /= total_y
            out[:m] = x
            out[m : m + n] = y
            bimatrix_certificate_into(payoffs, x, y, out[m + n :])
    return pivots


@numba.njit(cache=True)
def _rescale_bounds(matrix: FloatArray) -> tuple[float, float]:
    """``min`` and half of ``max - min`` of a matrix, as :func:`positive_rescale` computes them.

    Halves: no overflow for payoffs near the largest float, and the same bits as the
    whole difference otherwise (halving is exact above the subnormals).
    """
    bottom = matrix.min()
    return bottom, matrix.max() / 2.0 - bottom / 2.0


@numba.njit(cache=True)
def _numpy_sum(values: FloatArray) -> float:
    """``values.sum()`` in numpy's pairwise order, so the same bits.

    numpy sums blocks of at most 128 with 8 accumulators and splits longer runs in two
    halves (the first a multiple of 8 long), recursively; the recursion is unrolled here
    on an explicit stack (numba's on-disk cache does not take recursive functions).
    """
    if values.size <= 128:
        return _block_sum(values, 0, values.size)
    depth = 64
    starts = np.empty(depth, dtype=np.int64)
    counts = np.empty(depth, dtype=np.int64)
    left_done = np.zeros(depth, dtype=np.bool_)
    left_sums = np.empty(depth)
    starts[0], counts[0], left_done[0] = 0, values.size, False
    top = 1
    total = 0.0
    while top > 0:
        start, count = starts[top - 1], counts[top - 1]
        if count > 128 and not left_done[top - 1]:
            half = count // 2
            half -= half % 8
            starts[top], counts[top], left_done[top] = start, half, False
            top += 1
            continue
        if count <= 128:
            total = _block_sum(values, start, count)
        top -= 1
        while top > 0:  # hand ``total`` (a finished half) to the enclosing split
            parent = top - 1
            half = counts[parent] // 2
            half -= half % 8
            if not left_done[parent]:
                left_done[parent] = True
                left_sums[parent] = total
                starts[top], counts[top], left_done[top] = starts[parent] + half, counts[parent] - half, False
                top += 1
                break
            total = left_sums[parent] + total
            top -= 1
    return total


@numba.njit(cache=True)
def _block_sum(values: FloatArray, start: int, count: int) -> float:
    """numpy's pairwise sum of at most 128 numbers: 8 accumulators, then the rest."""
    if count < 8:
        total = 0.0
        for i in range(start, start + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < count - count % 8:
        k = start + i
        r0 += values[k]
        r1 += values[k + 1]
        r2 += values[k + 2]
        r3 += values[k + 3]
        r4 += values[k + 4]
        r5 += values[k + 5]
        r6 += values[k + 6]
        r7 += values[k + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[start + i]
        i += 1
    return total


@numba.njit(cache=True)
def _follow(
    tab_p: FloatArray,
    tab_q: FloatArray,
    basis_p: Int64Array,
    basis_q: Int64Array,
    column_p: Int64Array,
    column_q: Int64Array,
    init_label: int,
    max_pivots: int,
    eps: float,
) -> int:
    """Complementary pivoting from the artificial equilibrium, in place.

    Returns the number of pivots when label ``init_label`` is picked up again, 0 on an
    unbounded ray, -1 past ``max_pivots``. The slacks of ``P`` (variables ``m..``) and of
    ``Q`` (variables ``0..m-1``) span ``B^{-1}``: the keys of the lexicographic test.
    """
    m = tab_q.shape[0]
    n = tab_p.shape[0]
    candidates = np.empty(max(m, n), dtype=np.int64)
    ratios = np.empty(max(m, n))
    pivot_row = np.empty(max(m, n) + 1)
    on_p = init_label < m
    entering = init_label
    for pivots in range(1, max_pivots + 1):
        if on_p:
            tab, basis, column_of, slack_start, n_slack = tab_p, basis_p, column_p, m, n
        else:
            tab, basis, column_of, slack_start, n_slack = tab_q, basis_q, column_q, 0, m
        col = column_of[entering]
        row = _lex_min_ratio_row(tab, col, basis, column_of, slack_start, n_slack, eps, candidates, ratios)
        if row < 0:
            return 0
        leaving = basis[row]
        _pivot(tab, row, col, pivot_row)
        basis[row] = entering
        column_of[entering] = -1
        column_of[leaving] = col
        if leaving == init_label:
            return pivots
        entering = leaving  # its complement (same label) enters the other tableau
        on_p = not on_p
    return -1


@numba.njit(cache=True, inline="always")  # inlined into _follow: ~10% faster paths
def _lex_min_ratio_row(
    tab: FloatArray,
    col: int,
    basis: Int64Array,
    column_of: Int64Array,
    slack_start: int,
    n_slack: int,
    eps: float,
    candidates: Int64Array,
    ratios: FloatArray,
) -> int:
    """Row of the lexicographic minimum-ratio test for entering column ``col`` (-1: none).

    Keys in order: the rhs, then the ``B^{-1}`` columns (slack variables
    ``slack_start..``; a basic slack's column is the unit vector of its row, not stored);
    at each key the rows whose ratio is within ``eps * max(1, |min|)`` of the minimum stay
    candidates. Each ratio is computed once per key, and when the rhs ratios have a
    unique minimum (the second smallest is past its bound: the usual case) the first
    pass returns it.
    """
    rows = tab.shape[0]
    rhs = tab.shape[1] - 1
    count = 0
    low = np.inf
    second = np.inf  # the second smallest ratio: when it is past the bound, no tie
    best = -1
    for i in range(rows):
        entry = tab[i, col]
        if entry > eps:
            ratio = tab[i, rhs] / entry
            candidates[count] = i
            ratios[count] = ratio
            count += 1
            if ratio < low:
                second = low
                low = ratio
                best = i
            elif ratio < second:
                second = ratio
    if count == 0:
        return -1
    if second > low + eps * max(1.0, abs(low)):
        return best
    for k in range(-1, n_slack):
        if k >= 0:
            low = np.inf
            key = column_of[slack_start + k]
            for c in range(count):
                i = candidates[c]
                if key >= 0:
                    ratio = tab[i, key] / tab[i, col]
                else:  # basic slack: its column is the unit vector of its row
                    ratio = (1.0 if basis[i] == slack_start + k else 0.0) / tab[i, col]
                ratios[c] = ratio
                if ratio < low:
                    low = ratio
        bound = low + eps * max(1.0, abs(low))
        kept = 0
        for c in range(count):
            if ratios[c] <= bound:
                candidates[kept] = candidates[c]
                kept += 1
        count = kept
        if count == 1:
            break
    return candidates[0]


@numba.njit(cache=True, inline="always")  # inlined into _follow: ~10% faster paths
def _pivot(tab: FloatArray, row: int, col: int, pivot_row: FloatArray) -> None:
    """Pivot on ``tab[row, col]`` in place; the leaving variable takes column ``col``.

    The same arithmetic as a Gauss-Jordan pivot of the full tableau, restricted to the
    stored (nonbasic and rhs) columns: the leaving variable's unit column becomes
    ``1 / pivot`` in ``row`` and ``-factor / pivot`` elsewhere.
    """
    width = tab.shape[1]
    pivot = tab[row, col]
    for j in range(width):
        pivot_row[j] = tab[row, j] / pivot
    pivot_row[col] = 1.0 / pivot
    for j in range(width):
        tab[row, j] = pivot_row[j]
    for i in range(tab.shape[0]):
        factor = tab[i, col]
        if i == row or factor == 0.0:
            continue
        for j in range(width):
            tab[i, j] -= factor * pivot_row[j]
        tab[i, col] = 0.0 - factor * pivot_row[col]
