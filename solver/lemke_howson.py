"""One Nash equilibrium of a 2-player game by Lemke-Howson with lexicographic pivoting.

With both payoff matrices made positive, the equilibria are the completely labelled
vertex pairs of the best-response polytopes (see :mod:`vertex_enumeration`). Starting
from the artificial equilibrium ``(0, 0)``, Lemke-Howson drops one label ``k`` and
follows the unique path of almost-completely-labelled vertex pairs by complementary
pivoting, alternating between the two tableaux, until label ``k`` is picked up again.
The minimum-ratio test is resolved lexicographically (rows compared as
``(rhs, B^{-1} row) / pivot column``), which makes the path well defined in
degenerate games: no cycling.

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

import time

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidOptionError, UnsupportedError
from equilibria.solver.game import NormalFormGame, positive_rescale
from equilibria.solver.regret import certify
from equilibria.solver.results import Component, Equilibrium, SolutionSet

__all__ = ["lemke_howson"]

FloatArray = npt.NDArray[np.float64]
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
    labels = [init_label, *(k for k in range(m + n) if k != init_label)]
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


def _path(
    a_pos: FloatArray, b_pos: FloatArray, init_label: int, max_pivots: int
) -> tuple[tuple[FloatArray, FloatArray], int] | None:
    """Follow the path dropping ``init_label``; the normalised end point and pivot count."""
    m, n = a_pos.shape
    # Column l of either tableau is the variable with label l; the last column is the rhs.
    # P (row player, n rows):  B^T x + s = 1, variables x_0..x_{m-1}, s_0..s_{n-1}.
    # Q (column player, m rows): r + A y = 1, variables r_0..r_{m-1}, y_0..y_{n-1}.
    tab_p = np.hstack([b_pos.T, np.eye(n), np.ones((n, 1))])
    tab_q = np.hstack([np.eye(m), a_pos, np.ones((m, 1))])
    basis_p = list(range(m, m + n))
    basis_q = list(range(m))
    slack_p = np.arange(m, m + n)  # the columns holding B^{-1} for the lexicographic test
    slack_q = np.arange(m)
    tableaux = ((tab_p, basis_p, slack_p), (tab_q, basis_q, slack_q))
    side = 0 if init_label < m else 1
    entering = init_label
    for pivots in range(1, max_pivots + 1):
        tab, basis, slack = tableaux[side]
        row = _lex_min_ratio_row(tab, entering, slack)
        if row is None:  # unbounded ray: impossible for positive payoffs, guard round-off
            return None
        leaving = basis[row]
        _pivot(tab, row, entering)
        basis[row] = entering
        if leaving == init_label:
            x = np.zeros(m)
            y = np.zeros(n)
            for r, var in enumerate(basis_p):
                if var < m:
                    x[var] = max(tab_p[r, -1], 0.0)
            for r, var in enumerate(basis_q):
                if var >= m:
                    y[var - m] = max(tab_q[r, -1], 0.0)
            if x.sum() <= 0 or y.sum() <= 0:
                return None
            return (x / x.sum(), y / y.sum()), pivots
        entering = leaving  # its complement (same label) enters the other tableau
        side = 1 - side
    return None


def _lex_min_ratio_row(tab: FloatArray, col: int, slack: npt.NDArray[np.intp]) -> int | None:
    """Row of the lexicographic minimum ratio test for entering column ``col``."""
    column = tab[:, col]
    candidates = np.flatnonzero(column > _PIVOT_EPS)
    if candidates.size == 0:
        return None
    for key in (tab.shape[1] - 1, *slack):
        ratios = tab[candidates, key] / column[candidates]
        low = ratios.min()
        candidates = candidates[ratios <= low + _PIVOT_EPS * max(1.0, abs(low))]
        if candidates.size == 1:
            break
    return int(candidates[0])


def _pivot(tab: FloatArray, row: int, col: int) -> None:
    tab[row] /= tab[row, col]
    factors = tab[:, col].copy()
    factors[row] = 0.0
    tab -= np.outer(factors, tab[row])
