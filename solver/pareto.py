"""Pareto-optimal equilibria: the payoff vectors no other equilibrium improves upon.

Among ``k`` equilibria with payoff vectors ``U^1..U^k`` (one entry per player), ``U^j``
**Pareto-dominates** ``U^i`` when it is at least as good for every player and strictly
better for one. With a tolerance ``δ`` on the comparisons:

.. math::

    U^j \\succ U^i \\iff U^j_p - U^i_p \\ge -\\delta \\;\\forall p \\quad\\text{and}\\quad
    U^j_p - U^i_p > \\delta \\;\\text{for some } p .

The **Pareto-optimal** equilibria are those no other equilibrium dominates. Filtering is
idempotent (a row no row of the whole set dominates is dominated by no row of a subset)
and keeps exact duplicates (equal rows do not dominate each other).

Continuum of equilibria (2 players)
-----------------------------------
In a degenerate 2-player game the equilibria form a finite union of *maximal Nash
subsets* ``C = conv(X) x conv(Y)`` (:mod:`vertex_enumeration`), and a
:class:`~equilibria.solver.results.SolutionSet` lists their extreme equilibria. Pareto
optimality is checked over those extreme equilibria, and for two players this loses
nothing: on a component every ``x`` in ``conv(X)`` is a best response to every ``y``
in ``conv(Y)``, so the row player's payoff ``x^T A y = max_i (A y)_i = x_0^T A y`` (for
any fixed ``x_0`` in ``X``) depends on ``y`` only and is *linear* in it; likewise the
column player's payoff depends linearly on ``x`` only. The payoff image of ``C`` is
therefore the **box** ``f(conv Y) x g(conv X) = [f_min, f_max] x [g_min, g_max]``,
whose top corner ``(f_max, g_max)`` is the payoff of the extreme equilibrium
``(argmax_X g, argmax_Y f)``. Every equilibrium payoff is thus weakly dominated by the
payoff of an extreme equilibrium of its component, and so (``δ = 0``):

* an extreme equilibrium is Pareto-optimal among the extreme equilibria **if and only
  if** it is Pareto-optimal among *all* equilibria of the game;
* the Pareto-optimal payoff vectors of the whole (infinite) equilibrium set are exactly
  those of the Pareto-optimal extreme equilibria, and an equilibrium inside a component
  is Pareto-optimal exactly when its payoff vector equals one of them (a face of the
  component may consist of Pareto-optimal equilibria: in ``A = B = [[1, 1], [0, 0]]``
  the whole segment pays ``(1, 1)``). The filter returns the extreme ones only.

The weaker, general fact (payoffs are bilinear, so the payoff image of a component lies
in the convex hull of its extreme equilibria's payoffs) would not suffice in either
direction: with vertex payoffs ``(1, 0), (0, 1), (0.4, 0.4)`` the hull point
``(0.5, 0.5)`` is undominated without being a vertex payoff, and it dominates the
vertex ``(0.4, 0.4)``. It is the best-response structure of a Nash subset that makes
the image a box. For ``n >= 3`` players the box argument fails (a player's payoff is
multilinear in the others' strategies, not a function of one of them), and the solver
does not compute n-player components anyway: the filter then speaks only of the
equilibria found.

With ``δ > 0`` the relation is not transitive; for ``n >= 3`` players and payoff
differences of the order of ``δ`` a cycle of near-ties can even leave every row
dominated. Differences well above ``δ`` (the intended use: ``δ`` a float tolerance)
behave exactly as with ``δ = 0``.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.pareto import pareto_optimal
>>> bos = np.array([[2.0, 1.0], [2 / 3, 2 / 3], [1.0, 2.0]])  # battle of the sexes
>>> pareto_optimal(bos)
(0, 2)
>>> pareto_optimal(bos[[0, 2]])  # idempotent
(0, 1)

References
----------
.. [1] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37 (maximal Nash
   subsets).
.. [2] J. C. Harsanyi and R. Selten, "A General Theory of Equilibrium Selection in
   Games", MIT Press (1988), ch. 3 (payoff dominance).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidOptionError

__all__ = ["pareto_optimal"]

#: Entries of one block of the k x k x n comparison tensor (bounds peak memory).
_BLOCK_ENTRIES = 1 << 23


def pareto_optimal(payoffs: npt.ArrayLike, *, tol: float = 1e-9) -> tuple[int, ...]:
    """Indices of the payoff vectors that no other one Pareto-dominates.

    Parameters
    ----------
    payoffs : array_like of float, shape (k, n_players)
        One payoff vector per equilibrium (row).
    tol : float, optional(default=1e-9)
        Comparison tolerance ``δ`` (absolute, in the payoffs' units): row ``j``
        dominates row ``i`` when ``payoffs[j] - payoffs[i] >= -tol`` for every player
        and ``> tol`` for at least one.

    Returns
    -------
    tuple of int
        Sorted indices of the non-dominated rows (exact duplicates are all kept; empty
        for ``k = 0``).

    Raises
    ------
    InvalidOptionError
        If ``payoffs`` is not a finite 2-D array or ``tol`` is negative or not finite.

    Notes
    -----
    All ``k x k`` pairs are compared at once with numpy broadcasting, in row blocks so
    memory stays bounded. See the module docstring for what the filter means when the
    rows are the extreme equilibria of a continuum.

    Examples
    --------
    >>> pareto_optimal([[1, 1], [4, 4], [3, 3], [4, 4]])  # stag hunt, with a duplicate
    (1, 3)
    >>> pareto_optimal([[1, 1]])  # prisoner's dilemma: the only equilibrium stays
    (0,)
    """
    table = np.asarray(payoffs, dtype=np.float64)
    if table.ndim != 2:
        raise InvalidOptionError(
            "payoffs", f"pareto_optimal(): payoffs must have shape (k, n_players), got {table.shape}"
        )
    if not np.isfinite(table).all():
        raise InvalidOptionError("payoffs", "pareto_optimal(): payoffs must be finite")
    if not (np.isfinite(tol) and tol >= 0.0):
        raise InvalidOptionError("tolerance", f"pareto_optimal(): tol must be finite and >= 0, got {tol}")
    return _pareto_kernel(table, float(tol))


def _pareto_kernel(table: npt.NDArray[np.float64], tol: float) -> tuple[int, ...]:
    k, n = table.shape
    if k == 0:
        return ()
    dominated = np.zeros(k, dtype=bool)
    block = max(1, _BLOCK_ENTRIES // max(k * n, 1))
    for start in range(0, k, block):
        rows = table[start : start + block]
        # diff[i, j, p] = payoff of row j minus payoff of row i, for player p.
        diff = table[None, :, :] - rows[:, None, :]
        dominates = (diff >= -tol).all(axis=2) & (diff > tol).any(axis=2)
        dominated[start : start + block] = dominates.any(axis=1)
    return tuple(int(i) for i in np.flatnonzero(~dominated))
