"""Welfare functions, security (maximin) values and welfare-maximising equilibria.

Utilitarian, egalitarian and Nash-product welfare (Nash 1950), each player's maximin
(security) value, the default disagreement point, by one LP per player, and the argmax
of a welfare function over the equilibria of a set. Over a complete 2-player set the
extreme equilibria suffice. See docs/solution-concepts.md (section "Welfare functions").

Examples
--------
>>> from equilibria.solver import NormalFormGame, solve
>>> from equilibria.solver.concepts.welfare import welfare_optimum, maximin_values
>>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
>>> best = welfare_optimum(solve(chicken), "utilitarian")
>>> round(best.value, 6), best.equilibrium_indices, best.certified
(9.333333, (1,), True)
>>> maximin_values(chicken).round(6).tolist()
[2.0, 2.0]

References
----------
.. [1] J. F. Nash, "The bargaining problem", Econometrica 18 (1950) 155-162.
.. [2] J. von Neumann and O. Morgenstern, "Theory of Games and Economic Behavior",
   Princeton (1944) (maximin values).
.. [3] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import InvalidOptionError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.results import SolutionSet, WelfareOptimum
from scipy.optimize import linprog

__all__ = ["WELFARE_FUNCTIONS", "welfare_values", "maximin_values", "welfare_optimum"]


#: The welfare functions understood by :func:`welfare_values` and :func:`welfare_optimum`.
WELFARE_FUNCTIONS = ("utilitarian", "egalitarian", "nash_product")


def _check_function(function: str, caller: str) -> str:
    if function not in WELFARE_FUNCTIONS:
        raise InvalidOptionError(
            "welfare",
            f"{caller}(): unknown welfare function {function!r}; expected one of "
            f"{', '.join(WELFARE_FUNCTIONS)}",
        )
    return function


def _payoff_table(payoffs: npt.ArrayLike, caller: str) -> FloatArray:
    table = np.asarray(payoffs, dtype=np.float64)
    if table.ndim != 2:
        raise InvalidOptionError(
            "payoffs", f"{caller}(): payoffs must have shape (k, n_players), got {table.shape}"
        )
    if not np.isfinite(table).all():
        raise InvalidOptionError("payoffs", f"{caller}(): payoffs must be finite")
    return table


def _disagreement_point(disagreement: npt.ArrayLike, n: int, caller: str) -> FloatArray:
    point = np.asarray(disagreement, dtype=np.float64)
    if point.shape != (n,) or not np.isfinite(point).all():
        raise InvalidOptionError(
            "disagreement",
            f"{caller}(): the disagreement point must be {n} finite numbers, got shape {point.shape}",
        )
    return point


def welfare_values(
    payoffs: npt.ArrayLike,
    function: str,
    disagreement: npt.ArrayLike | None = None,
    *,
    tol: float = 0.0,
) -> FloatArray:
    """The welfare of each payoff vector.

    Parameters
    ----------
    payoffs : array_like of float, shape (k, n_players)
        One payoff vector per row.
    function : str
        One of :data:`WELFARE_FUNCTIONS`.
    disagreement : array_like of float, shape (n_players,), optional
        The disagreement point ``d``; required by ``"nash_product"``, ignored otherwise.
    tol : float, optional(default=0.0)
        ``"nash_product"`` only: a row is individually rational when
        ``U_i >= d_i - tol`` for every ``i`` (factors within ``tol`` below zero count as
        zero), so that float round-off does not turn an equilibrium paying exactly
        ``d_i`` into ``-inf``.

    Returns
    -------
    ndarray, shape (k,)
        ``sum_i U_i``, ``min_i U_i``, or ``prod_i (U_i - d_i)`` (``-inf`` for rows that
        are not individually rational).

    Raises
    ------
    InvalidOptionError
        For an unknown ``function`` (field ``"welfare"``), malformed payoffs, or a
        missing or malformed disagreement point for the Nash product.

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[2.0, 1.0], [2 / 3, 2 / 3], [1.0, 2.0]])
    >>> welfare_values(u, "utilitarian").round(4).tolist()
    [3.0, 1.3333, 3.0]
    >>> welfare_values(u, "egalitarian").round(4).tolist()
    [1.0, 0.6667, 1.0]
    >>> welfare_values(u, "nash_product", [1.0, 1.0]).tolist()
    [0.0, -inf, 0.0]
    """
    _check_function(function, "welfare_values")
    table = _payoff_table(payoffs, "welfare_values")
    if function == "utilitarian":
        return table.sum(axis=1)
    if function == "egalitarian":
        if table.shape[1] == 0:
            raise InvalidOptionError("payoffs", "welfare_values(): egalitarian welfare needs a player")
        return table.min(axis=1)
    if disagreement is None:
        raise InvalidOptionError(
            "disagreement", "welfare_values(): the Nash product needs a disagreement point"
        )
    point = _disagreement_point(disagreement, table.shape[1], "welfare_values")
    return _nash_product(table, point, float(tol))


def _nash_product(table: FloatArray, point: FloatArray, tol: float) -> FloatArray:
    gains = table - point[None, :]
    values = np.prod(np.clip(gains, 0.0, None), axis=1)
    values[(gains < -tol).any(axis=1)] = -np.inf
    return values


def maximin_values(game: NormalFormGame) -> FloatArray:
    """Each player's security value in mixed strategies against the others acting jointly.

    Parameters
    ----------
    game : NormalFormGame

    Returns
    -------
    ndarray, shape (n_players,)
        ``d_i = max_{x_i} min_{a_{-i}} sum_{a_i} x_i(a_i) u_i(a_i, a_{-i})`` in the
        user's units: the payoff the optimal ``x_i`` guarantees, measured afresh from
        the payoffs (so it is attained, and within the LP tolerance of the maximum).

    Raises
    ------
    InvalidOptionError
        If ``game`` is not a :class:`NormalFormGame`.

    Notes
    -----
    One LP per player (HiGHS via :func:`scipy.optimize.linprog`): maximise ``v``
    subject to ``x^T M_{:, c} >= v`` for every joint action ``c`` of the others and
    ``x`` in the simplex, with ``M`` player ``i``'s payoffs (actions by the others'
    joint actions) rescaled to ``[0, 1]``. For 2 players ``d_i`` is the value of the
    zero-sum game with player ``i``'s payoffs.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    >>> maximin_values(bos).round(6).tolist()
    [0.666667, 0.666667]
    """
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError(
            "game", f"maximin_values(): expected a NormalFormGame, got {type(game).__name__}"
        )
    return np.array([_security_value(game, i)[0] for i in range(game.n_players)])


def _security_value(game: NormalFormGame, player: int) -> tuple[float, FloatArray]:
    """Maximin value and a maximin strategy of one player (LP on payoffs rescaled to [0, 1])."""
    matrix = np.moveaxis(game.payoffs[player], player, 0).reshape(game.num_actions[player], -1)
    k = matrix.shape[0]
    low, span = float(matrix.min()), float(np.ptp(matrix))
    if span == 0.0:
        return low, np.full(k, 1.0 / k)
    scaled = (matrix - low) / span
    # Variables (x_1..x_k, v); minimise -v subject to v - x^T M[:, c] <= 0 and sum x = 1.
    cost = np.zeros(k + 1)
    cost[-1] = -1.0
    a_ub = np.hstack([-scaled.T, np.ones((scaled.shape[1], 1))])
    a_eq = np.append(np.ones(k), 0.0)[None, :]
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(scaled.shape[1]),
        A_eq=a_eq,
        b_eq=[1.0],
        bounds=[(0.0, None)] * k + [(0.0, 1.0)],
        method="highs",
    )
    if res.status != 0 or res.x is None:  # pragma: no cover - the LP is feasible and bounded
        raise RuntimeError(f"maximin_values(): HiGHS failed on player {player}: {res.message}")
    strategy = np.clip(res.x[:k], 0.0, None)
    strategy /= strategy.sum()
    return float((strategy @ matrix).min()), strategy


def welfare_optimum(
    solution_set: SolutionSet,
    function: str,
    *,
    disagreement: npt.ArrayLike | None = None,
    game: NormalFormGame | None = None,
    tol: float = 1e-9,
) -> WelfareOptimum:
    """The equilibria of a solution set that maximise a welfare function.

    Parameters
    ----------
    solution_set : SolutionSet
        Equilibria found by :func:`equilibria.solver.solve`.
    function : str
        One of :data:`WELFARE_FUNCTIONS`.
    disagreement : array_like of float, shape (n_players,), optional
        Disagreement point of the Nash product; default :func:`maximin_values` of
        ``game``.
    game : NormalFormGame, optional
        The game the set solves (checked against ``solution_set.game_id``). It sets the
        payoff scale of the tolerance and is needed for the Nash product's default
        disagreement point.
    tol : float, optional(default=1e-9)
        Relative tolerance: welfare values within ``tol`` times the players' payoff
        ranges (their sum for the utilitarian welfare, the largest for the egalitarian,
        ``n`` times their product for the Nash product) of the maximum are ties, all kept.

    Returns
    -------
    WelfareOptimum
        ``method="enumeration"``; ``value`` is the maximum welfare (``-inf`` when the
        set is empty, or, for the Nash product, when no equilibrium is individually
        rational: then ``equilibrium_indices`` is empty); ``certified`` says whether
        ``value`` is the maximum over every Nash equilibrium of the game (a complete
        set of the concept ``"nash"``).

    Raises
    ------
    InvalidOptionError
        For an unknown ``function`` (field ``"welfare"``), a ``game`` that is not the
        one solved, a bad ``tol``, or a Nash product with neither ``disagreement``
        nor ``game``.

    Notes
    -----
    ``certified`` is ``solution_set.complete``: a complete set holds every extreme
    equilibrium, and for 2 players the maximum of each of the three (monotone) welfare
    functions over the continuum of equilibria is attained at an extreme equilibrium
    (docs/solution-concepts.md). For ``n >= 3`` players with non-singleton components only the
    utilitarian optimum is certified, since a concave welfare (egalitarian, Nash
    product) can peak inside a component whose payoff image is not a box.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame, solve
    >>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    >>> best = welfare_optimum(solve(bos), "utilitarian")
    >>> best.value, best.equilibrium_indices
    (3.0, (0, 2))
    >>> best = welfare_optimum(solve(bos), "nash_product", game=bos)
    >>> round(best.value, 6), best.equilibrium_indices, best.disagreement.round(6).tolist()
    (0.444444, (0, 2), [0.666667, 0.666667])
    """
    _check_function(function, "welfare_optimum")
    if not isinstance(solution_set, SolutionSet):
        raise InvalidOptionError(
            "solution_set",
            f"welfare_optimum(): expected a SolutionSet, got {type(solution_set).__name__}",
        )
    if not (np.isfinite(tol) and 0.0 <= tol <= 1e-3):
        raise InvalidOptionError("tolerance", f"welfare_optimum(): tol must be in [0, 1e-3], got {tol}")
    if game is not None:
        if not isinstance(game, NormalFormGame):
            raise InvalidOptionError(
                "game", f"welfare_optimum(): expected a NormalFormGame, got {type(game).__name__}"
            )
        if game.id != solution_set.game_id:
            raise InvalidOptionError(
                "game", "welfare_optimum(): the game is not the one the solution set solves (game id differs)"
            )
    equilibria = solution_set.equilibria
    n = game.n_players if game is not None else (len(equilibria[0].payoffs) if equilibria else 0)
    point: FloatArray | None = None
    if function == "nash_product":
        if disagreement is not None:
            point = _disagreement_point(disagreement, n, "welfare_optimum")
        elif game is not None:
            point = maximin_values(game)
        else:
            raise InvalidOptionError(
                "disagreement",
                "welfare_optimum(): the Nash product needs disagreement= or game= (for maximin values)",
            )
    # Certified means the maximum over every Nash equilibrium of the game: a complete set
    # of pure equilibria only does not say it.
    certified = bool(solution_set.complete) and "nash" in solution_set.concepts
    if function != "utilitarian" and n >= 3 and any(not c.is_singleton for c in solution_set.components):
        certified = False
    if not equilibria:
        return WelfareOptimum(function, float("-inf"), (), "enumeration", certified, point)
    table = np.stack([eq.payoffs for eq in equilibria])
    # Each player's payoff range (from the game, else from the set): ties are within tol of it.
    scales = game.player_scales if game is not None else np.ptp(table, axis=0)
    scale = float(scales.max())
    values = welfare_values(table, function, point, tol=tol * scale)
    best = float(values.max())
    if not np.isfinite(best):
        return WelfareOptimum(function, best, (), "enumeration", certified, point)
    with np.errstate(over="ignore", under="ignore"):  # ranges near the largest float
        slack = {
            "utilitarian": float(np.sum(tol * scales)),
            "egalitarian": tol * scale,
            "nash_product": tol * n * float(np.prod(scales)),
        }[function]
    ties = np.flatnonzero(values >= best - slack)
    return WelfareOptimum(function, best, tuple(int(i) for i in ties), "enumeration", certified, point)
