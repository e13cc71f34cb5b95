"""One Nash equilibrium of a 2-player game by Lemke-Howson with lexicographic pivoting.

With both payoff matrices made positive, the equilibria are the completely labelled
vertex pairs of the best-response polytopes (see :mod:`vertex_enumeration`). Starting
from the artificial equilibrium ``(0, 0)``, Lemke-Howson drops one label ``k`` and
follows the unique path of almost-completely-labelled vertex pairs by complementary
pivoting, alternating between the two tableaux, until label ``k`` is picked up again.
The minimum-ratio test is resolved lexicographically (rows compared as
``(rhs, B^{-1} row) / pivot column``), which makes the path well defined in
degenerate games: no cycling. The pivoting runs in a numba-compiled kernel (one pass
per pivot over the tableau, no temporaries); the first call in a process compiles it or
loads it from numba's on-disk cache (:func:`compile_kernels`).

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.lemke_howson import lemke_howson
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

import itertools
import time

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidOptionError, UnsupportedError
from equilibria.solver.game import NormalFormGame, positive_rescale
from equilibria.solver.regret import certify
from equilibria.solver.results import Component, Equilibrium, SolutionSet

__all__ = ["lemke_howson", "compile_kernels"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_PIVOT_EPS = 1e-12


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
    """
    started = time.perf_counter()
    if game.n_players != 2:
        raise UnsupportedError(
            "method", f"lemke_howson(): needs a 2-player game, got {game.n_players} players"
        )
    m, n = game.num_actions
    if not 0 <= init_label < m + n:
        raise InvalidOptionError(
            "init_label", f"lemke_howson(): init_label must be in range({m + n}), got {init_label}"
        )
    a, b = game.bimatrix()
    a_pos, b_pos = positive_rescale(a, 1.0), positive_rescale(b, 1.0)
    warnings: list[str] = []
    labels = itertools.chain((init_label,), (k for k in range(m + n) if k != init_label))
    best: tuple[Equilibrium, int, int] | None = None
    for label in labels:
        found = _path(a_pos, b_pos, label, max_pivots)
        if found is None:
            warnings.append(f"label {label}: no end point within {max_pivots:,} pivots")
            continue
        (x, y), pivots = found
        cert = certify(game, (x, y))
        eq = Equilibrium((x, y), cert.payoffs, cert.regrets, cert.nash_conv, components=(0,))
        if best is None or eq.nash_conv < best[0].nash_conv:
            best = (eq, label, pivots)
        if eq.nash_conv <= tol * game.payoff_scale:
            break
        warnings.append(
            f"label {label}: end point has NashConv {eq.nash_conv:.3g} (round-off); trying next label"
        )
    if best is None:
        equilibria: tuple[Equilibrium, ...] = ()
        reason = "no path ended"
    else:
        eq, label, pivots = best
        equilibria = (eq,)
        reason = f"dropped label {label}, {pivots} pivots"
    components = tuple(Component((0,), tuple(s[None, :] for s in eq.strategies)) for eq in equilibria)
    return SolutionSet(
        game_id=game.id,
        equilibria=equilibria,
        components=components,
        complete=False,
        method="lemke_howson",
        method_reason=reason,
        warnings=tuple(warnings),
        tolerance=tol,
        elapsed_seconds=time.perf_counter() - started,
    )


def compile_kernels() -> None:
    """Compile (or load from numba's on-disk cache) the pivoting kernels now.

    The first call in a process otherwise pays it: seconds on a cold cache. The server's
    forkserver calls this once, so every worker forked from it starts compiled.
    """
    _path(np.ones((1, 1)), np.ones((1, 1)), 0, 1)


def _path(
    a_pos: FloatArray, b_pos: FloatArray, init_label: int, max_pivots: int
) -> tuple[tuple[FloatArray, FloatArray], int] | None:
    """Follow the path dropping ``init_label``; the normalised end point and pivot count."""
    x, y, pivots = _path_kernel(a_pos, b_pos, init_label, max_pivots, _PIVOT_EPS)
    if pivots <= 0:  # 0: unbounded ray (impossible for positive payoffs: round-off); -1: pivot limit
        return None
    total_x, total_y = x.sum(), y.sum()
    if total_x <= 0 or total_y <= 0:
        return None
    return (x / total_x, y / total_y), pivots


@numba.njit(cache=True)
def _path_kernel(
    a_pos: FloatArray, b_pos: FloatArray, init_label: int, max_pivots: int, eps: float
) -> tuple[FloatArray, FloatArray, int]:
    """Build both tableaux, pivot along the path, read off the unnormalised end point."""
    m, n = a_pos.shape
    # Column l of either tableau is the variable with label l; the last column is the rhs.
    # P (row player, n rows):  B^T x + s = 1, variables x_0..x_{m-1}, s_0..s_{n-1}.
    # Q (column player, m rows): r + A y = 1, variables r_0..r_{m-1}, y_0..y_{n-1}.
    tab_p = np.zeros((n, m + n + 1))
    tab_q = np.zeros((m, m + n + 1))
    for j in range(n):
        for i in range(m):
            tab_p[j, i] = b_pos[i, j]
        tab_p[j, m + j] = 1.0
        tab_p[j, -1] = 1.0
    for i in range(m):
        tab_q[i, i] = 1.0
        for j in range(n):
            tab_q[i, m + j] = a_pos[i, j]
        tab_q[i, -1] = 1.0
    basis_p = np.arange(m, m + n)
    basis_q = np.arange(m)
    pivots = _follow(tab_p, tab_q, basis_p, basis_q, init_label, max_pivots, eps)
    x = np.zeros(m)
    y = np.zeros(n)
    for r in range(n):
        if basis_p[r] < m:
            x[basis_p[r]] = max(tab_p[r, -1], 0.0)
    for r in range(m):
        if basis_q[r] >= m:
            y[basis_q[r] - m] = max(tab_q[r, -1], 0.0)
    return x, y, pivots


@numba.njit(cache=True)
def _follow(
    tab_p: FloatArray,
    tab_q: FloatArray,
    basis_p: IntArray,
    basis_q: IntArray,
    init_label: int,
    max_pivots: int,
    eps: float,
) -> int:
    """Complementary pivoting from the artificial equilibrium, in place.

    Returns the number of pivots when label ``init_label`` is picked up again, 0 on an
    unbounded ray, -1 past ``max_pivots``. Tableau ``P`` holds ``B^{-1}`` in columns
    ``m..m+n-1`` and ``Q`` in columns ``0..m-1``: the keys of the lexicographic test.
    """
    m = tab_q.shape[0]
    n = tab_p.shape[0]
    on_p = init_label < m
    entering = init_label
    for pivots in range(1, max_pivots + 1):
        if on_p:
            row = _lex_min_ratio_row(tab_p, entering, m, n, eps)
            if row < 0:
                return 0
            leaving = basis_p[row]
            _pivot(tab_p, row, entering)
            basis_p[row] = entering
        else:
            row = _lex_min_ratio_row(tab_q, entering, 0, m, eps)
            if row < 0:
                return 0
            leaving = basis_q[row]
            _pivot(tab_q, row, entering)
            basis_q[row] = entering
        if leaving == init_label:
            return pivots
        entering = leaving  # its complement (same label) enters the other tableau
        on_p = not on_p
    return -1


@numba.njit(cache=True)
def _lex_min_ratio_row(tab: FloatArray, col: int, slack_start: int, n_slack: int, eps: float) -> int:
    """Row of the lexicographic minimum-ratio test for entering column ``col`` (-1: none).

    Keys in order: the rhs, then the ``B^{-1}`` columns ``slack_start..``; at each key the
    rows whose ratio is within ``eps * max(1, |min|)`` of the minimum stay candidates.
    """
    rows = tab.shape[0]
    rhs = tab.shape[1] - 1
    candidates = np.empty(rows, dtype=np.int64)
    count = 0
    for i in range(rows):
        if tab[i, col] > eps:
            candidates[count] = i
            count += 1
    if count == 0:
        return -1
    for k in range(-1, n_slack):
        key = rhs if k < 0 else slack_start + k
        low = np.inf
        for c in range(count):
            i = candidates[c]
            ratio = tab[i, key] / tab[i, col]
            if ratio < low:
                low = ratio
        bound = low + eps * max(1.0, abs(low))
        kept = 0
        for c in range(count):
            i = candidates[c]
            if tab[i, key] / tab[i, col] <= bound:
                candidates[kept] = i
                kept += 1
        count = kept
        if count == 1:
            break
    return candidates[0]


@numba.njit(cache=True)
def _pivot(tab: FloatArray, row: int, col: int) -> None:
    """Gauss-Jordan pivot on ``tab[row, col]``, in place."""
    width = tab.shape[1]
    pivot_row = tab[row] / tab[row, col]  # a copy: the updates below vectorise without aliasing
    tab[row] = pivot_row
    for i in range(tab.shape[0]):
        factor = tab[i, col]
        if i == row or factor == 0.0:
            continue
        for j in range(width):
            tab[i, j] -= factor * pivot_row[j]
