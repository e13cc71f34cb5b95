"""Pareto-optimal equilibria: the payoff vectors no other equilibrium improves upon.

The equilibria whose payoff vectors no other equilibrium dominates (Harsanyi and Selten
1988, payoff dominance), with a tolerance on the comparisons. For two players the
extreme equilibria suffice: a maximal Nash subset's payoff image is a box whose top
corner is an extreme equilibrium's payoff (Avis et al. 2010). See
docs/solution-concepts.md (section "Pareto-optimal equilibria").

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.concepts.pareto import pareto_optimal
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
    memory stays bounded. See docs/solution-concepts.md for what the filter means when the
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
