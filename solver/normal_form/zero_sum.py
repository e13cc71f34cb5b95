"""Value and optimal strategies of 2-player constant-sum games, by linear programming.

The value of von Neumann's minimax theorem (1928) and one optimal strategy pair, from
the row player's LP and its dual (Dantzig 1951) solved by HiGHS; the pair's NashConv is
measured afresh from the user's payoffs. See docs/normal-form.md (section "Zero-sum
games").

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.normal_form.zero_sum import zero_sum_value
>>> rps = NormalFormGame.from_bimatrix([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
>>> sol = zero_sum_value(rps)
>>> round(sol.value, 9) + 0.0, sol.strategies[0].round(6).tolist()
(0.0, [0.333333, 0.333333, 0.333333])

References
----------
.. [1] J. von Neumann, "Zur Theorie der Gesellschaftsspiele", Mathematische Annalen 100
   (1928) 295-320.
.. [2] G. B. Dantzig, "A proof of the equivalence of the programming problem and the game
   problem", in Activity Analysis of Production and Allocation (1951) 330-335.
.. [3] L. S. Shapley and R. N. Snow, "Basic solutions of discrete games", Annals of
   Mathematics Studies 24 (1950) 27-35.
.. [4] I. Adler, "The equivalence of linear programs and zero-sum games", International
   Journal of Game Theory 42 (2013) 165-177.
"""

from __future__ import annotations

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.normal_form.vertex_enumeration import MAX_BASES, count_bases, vertex_enumeration
from equilibria.solver.regret import certify
from equilibria.solver.results import ZeroSumSolution
from scipy.optimize import linprog

__all__ = ["zero_sum_value", "MAX_VERTEX_BASES"]


#: With ``vertices="auto"``, enumerate the optimal polytopes' vertices up to this many bases.
MAX_VERTEX_BASES = 200_000


def zero_sum_value(
    game: NormalFormGame, *, tol: float = 1e-9, vertices: bool | str = "auto"
) -> ZeroSumSolution:
    """Value and one optimal strategy pair of a 2-player constant-sum game.

    Parameters
    ----------
    game : NormalFormGame
        A 2-player game with ``u_0 + u_1`` constant within ``tol`` (relative to the
        payoff scale, see :meth:`NormalFormGame.is_zero_sum`).
    tol : float, optional(default=1e-9)
        Constant-sum test tolerance, and the feasibility and optimality tolerance of
        HiGHS on the rescaled LPs (clamped to HiGHS's range [1e-10, 1e-7]).
    vertices : {"auto", True, False}, optional(default="auto")
        Also list the extreme points of both optimal-strategy polytopes: ``"auto"``
        when ``count_bases(m, n) <= MAX_VERTEX_BASES``, ``True`` up to
        :data:`~equilibria.solver.normal_form.vertex_enumeration.MAX_BASES` bases, ``False``
        never.

    Returns
    -------
    ZeroSumSolution
        ``value`` to player 0 in the user's units, ``constant = u_0 + u_1``, the
        maximin/minimax pair, its NashConv, and ``row_vertices``/``col_vertices``
        (arrays of shape ``(k, m)`` and ``(l, n)``) when enumerated and certified
        complete, else None.

    Raises
    ------
    UnsupportedError
        If the game does not have 2 players or is not constant-sum (field
        ``"concepts"``).
    InvalidOptionError
        If ``tol`` is not in (0, 1e-3] or ``vertices`` is not one of its values.
    ProblemTooLargeError
        With ``vertices=True``, if the game is too large to enumerate.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> g = NormalFormGame.from_bimatrix([[1, 1], [0, 0]])  # row 0 wins; any column is optimal
    >>> sol = zero_sum_value(g)
    >>> sol.value, sol.row_vertices.tolist(), sol.col_vertices.tolist()
    (1.0, [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
    """
    function = "zero_sum_value"
    check_tolerance(tol, function)
    if isinstance(vertices, bool | np.bool_):
        enumerate_vertices: bool | None = bool(vertices)
    elif isinstance(vertices, str) and vertices == "auto":
        enumerate_vertices = None
    else:
        raise InvalidOptionError(
            "vertices", f"{function}(): vertices must be 'auto', True or False, got {vertices!r}"
        )
    if game.n_players != 2:
        raise UnsupportedError(
            "concepts", f"{function}(): needs a 2-player constant-sum game, got {game.n_players} players"
        )
    a, b = game.bimatrix()
    half_total = a / 2.0 + b / 2.0  # halves: no overflow near the largest float
    if not game.is_zero_sum(tol):
        raise UnsupportedError(
            "concepts",
            f"{function}(): game is not constant-sum: u_0 + u_1 ranges over "
            f"[{2.0 * half_total.min():.6g}, {2.0 * half_total.max():.6g}]",
        )
    x, y = _optimal_pair(game.unit_game.payoffs[0], tol)
    cert = certify(game, (x, y))
    lower = float((x @ a).min())  # the row player guarantees at least this
    upper = float((a @ y).max())  # the column player holds the row player to at most this
    m, n = a.shape
    if enumerate_vertices is None:
        enumerate_vertices = count_bases(m, n) <= MAX_VERTEX_BASES
    elif enumerate_vertices and count_bases(m, n) > MAX_BASES:
        raise ProblemTooLargeError(
            "vertices",
            f"{function}(): a {m}x{n} game has up to {count_bases(m, n):,} bases, over the limit of "
            f"{MAX_BASES:,} for listing the optimal vertices; use vertices='auto' or False",
        )
    row_vertices, col_vertices = _optimal_vertices(game, tol) if enumerate_vertices else (None, None)
    return ZeroSumSolution(
        value=0.5 * lower + 0.5 * upper,
        constant=2.0 * float(half_total.mean()),
        strategies=(x, y),
        nash_conv=cert.nash_conv,
        row_vertices=row_vertices,
        col_vertices=col_vertices,
    )


def _optimal_pair(unit: FloatArray, tol: float) -> tuple[FloatArray, FloatArray]:
    """A maximin strategy of the row player and a minimax strategy of the column player.

    ``unit`` is the row player's payoffs of the unit game (entries spanning ``[0, 1]``, or
    all zero). The row player's LP is solved first; by LP duality its constraint
    multipliers are a minimax strategy of the column player. When that pair's duality gap
    exceeds ``tol`` (unit-game units), the column player's own LP is solved instead.
    """
    m, n = unit.shape
    if not unit.any():  # a constant game: every strategy is optimal
        return np.full(m, 1.0 / m), np.full(n, 1.0 / n)
    feasibility = min(max(tol, 1e-10), 1e-7)
    return lp_optimal_pair(
        unit, gap=tol, feasibility=feasibility, method="highs-ipm", caller="zero_sum_value"
    )


def lp_optimal_pair(
    mat: FloatArray, *, gap: float, feasibility: float, method: str, caller: str
) -> tuple[FloatArray, FloatArray]:
    """Maximin and minimax strategies of a matrix game with entries in ``[0, 1]``, by HiGHS.

    The row player's LP is solved first; its constraint multipliers are a minimax
    strategy of the column player. When that pair's duality gap exceeds ``gap``, the
    column player's own LP is solved instead. ``feasibility`` is HiGHS's primal and dual
    feasibility tolerance, ``method`` its solver (``"highs"``, ``"highs-ipm"``), and
    ``caller`` names the function in a failure message.
    """
    x, y = _maximin(mat, feasibility, method, caller)
    if float((mat @ y).max() - (x @ mat).min()) > gap:
        y, _ = _maximin(1.0 - mat.T, feasibility, method, caller)  # the column player maximises 1 - A
    return x, y


def _maximin(mat: FloatArray, feasibility: float, method: str, caller: str) -> tuple[FloatArray, FloatArray]:
    """``argmax_x min_j (x^T mat)_j`` over the simplex, and the dual (minimax) strategy.

    Variables ``(x, t)``: maximise ``t`` subject to ``t - (x^T mat)_j <= 0`` and
    ``sum(x) = 1``. On dense games HiGHS's interior point method with crossover (a basic
    solution) is several times faster than the simplex method.
    """
    m, n = mat.shape
    res = linprog(
        np.concatenate([np.zeros(m), [-1.0]]),
        A_ub=np.hstack([-mat.T, np.ones((n, 1))]),
        b_ub=np.zeros(n),
        A_eq=np.concatenate([np.ones(m), [0.0]])[None, :],
        b_eq=np.ones(1),
        bounds=[(0.0, None)] * m + [(0.0, 1.0)],
        method=method,
        options={"primal_feasibility_tolerance": feasibility, "dual_feasibility_tolerance": feasibility},
    )
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"{caller}(): HiGHS failed: {res.message}")
    x = np.maximum(np.asarray(res.x[:m], dtype=np.float64), 0.0)
    y = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=np.float64), 0.0)
    if y.sum() <= 0.0:  # no usable multipliers: the caller's gap test fails and re-solves
        y = np.full(n, 1.0)
    return x / x.sum(), y / y.sum()


def _optimal_vertices(game: NormalFormGame, tol: float) -> tuple[FloatArray | None, FloatArray | None]:
    """Extreme points of ``X*`` and ``Y*`` from the extreme equilibria (None if not certified)."""
    result = vertex_enumeration(game, tol=tol)
    if not result.complete or not result.equilibria:
        return None, None
    return (
        _distinct([eq.strategies[0] for eq in result.equilibria]),
        _distinct([eq.strategies[1] for eq in result.equilibria]),
    )


def _distinct(points: list[FloatArray]) -> FloatArray:
    """The distinct points, lexicographically decreasing.

    Equal values only are merged (``-0.0`` is ``0.0``): vertex enumeration computes each
    vertex of a polytope once, so the equilibria sharing a strategy share its bits, while
    two vertices closer than any rounding would merge are still two vertices.
    """
    stacked = np.array(points)
    _, first = np.unique(stacked, axis=0, return_index=True)
    return stacked[first[::-1]].copy()
