"""The lexicographic ratio test of the float vertex search, its ties decided exactly.

A degenerate vertex of a best-response polytope has many feasible bases: the ratio test's
minimum is attained by several rows. Searching every one of them (what
:func:`~equilibria.solver.normal_form.bases.search_bases` does when nothing else is known)
costs up to ``C(c, k)`` bases per vertex with ``k`` surplus tight constraints. The
lexicographic rule breaks each tie by the rows of the basis inverse divided by the entering
column (the right-hand side perturbed to ``1 + (e, e^2, ...)``): the bases it meets are the
lexicographically feasible ones, the vertices of a simple polytope, whose graph is connected
and whose vertices reach every vertex of the polytope (as in lrs; Avis 2000). In a 12 x 12
game with payoffs in {0, 1, 2} that is 9,482 bases in all instead of 147,620.

Floats cannot tell a tie from a near-tie. So a candidate row ``s`` of the ratio test is
dropped only when another row ``r`` is *certainly* lexicographically smaller: at the first
component where they differ, the float difference ``v_r a_s - v_s a_r`` exceeds its
rigorous error bound, and at every component before it they are *exactly* equal. Exact
equality is decided by modular arithmetic: the search's matrix is ``s K`` for an integer
matrix ``K`` (:func:`integer_matrix`: integer payoffs), every value ``v_r a_s - v_s a_r`` is an integer
``V`` divided by ``det(B)^2`` in ``K``'s system, ``|V|`` is bounded through Hadamard's
inequality, and ``V = 0`` exactly when it vanishes modulo primes whose product exceeds
``2 |V|`` (:func:`residues`; the test itself is in the search kernel's module,
:mod:`~equilibria.solver.normal_form.bases`, since numba's cache does not see changes in
the modules a cached function calls). Every other row stays a candidate, so the rows followed
always include the lexicographic one, and the search still reaches every vertex; where no
integer matrix is known (or it needs too many primes), every candidate is followed.

References
----------
.. [1] G. B. Dantzig, A. Orden and P. Wolfe, "The generalized simplex method for
   minimizing a linear form under linear inequality restraints", Pacific J. Math. 5
   (1955) 183-195 (the lexicographic rule).
.. [2] D. Avis, "lrs: A revised implementation of the reverse search vertex enumeration
   algorithm", in *Polytopes -- Combinatorics and Computation*, DMV Seminar 29 (2000)
   177-198.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray

__all__ = ["PRIMES", "Residues", "integer_form", "integer_matrix", "residues"]

#: Primes below 2^31, largest first: the product of two residues fits an int64.
PRIMES = np.array(
    [2147483647, 2147483629, 2147483587, 2147483579, 2147483563, 2147483549, 2147483543, 2147483497],
    dtype=np.int64,
)


@dataclasses.dataclass(frozen=True)
class Residues:
    """The standard form ``[K^T | I]`` of an integer matrix ``K`` modulo primes.

    Attributes
    ----------
    primes : ndarray of int64, shape (k,)
        Primes whose product exceeds twice every ``|V|`` the search compares with zero.
    columns : ndarray of int64, shape (k, d + c, c)
        ``columns[q, v]``: the column of variable ``v`` (``K[v]`` for a coordinate, a unit
        vector for a slack) modulo ``primes[q]``.
    zero_primes : int
        How many of the first primes have a product over ``2 H``: enough to decide that one
        determinant ``N`` is 0.
    """

    primes: npt.NDArray[np.int64]
    columns: npt.NDArray[np.int64]
    zero_primes: int


def integer_form(raw: FloatArray, low: Fraction) -> tuple[npt.NDArray[np.int64], Fraction] | None:
    """:func:`integer_matrix`'s ``K`` with its scale ``S`` (``K / S`` the rescaled payoffs).

    Examples
    --------
    >>> k, scale = integer_form(np.array([[0.0, 2.0], [1.0, 2.0]]), Fraction(1, 10))
    >>> k.tolist(), scale
    ([[1, 11], [6, 11]], Fraction(10, 1))
    """
    if not (np.all(np.abs(raw) < 2.0**31) and np.all(raw == np.round(raw))):
        return None
    ints = raw.astype(np.int64)
    lo, hi = int(ints.min()), int(ints.max())
    if hi == lo:
        return np.ones_like(ints), Fraction(1)  # positive_rescale's all-ones matrix
    # low + (v - lo) / (hi - lo) = (low.den (v - lo) + low.num (hi - lo)) / (low.den (hi - lo))
    k = low.denominator * (ints - lo) + low.numerator * (hi - lo)
    divisor = int(np.gcd.reduce(k.ravel()))
    return k // divisor, Fraction(low.denominator * (hi - lo), divisor)


def integer_matrix(raw: FloatArray, low: Fraction) -> npt.NDArray[np.int64] | None:
    """Integers ``K`` with ``low + (raw - min) / (max - min) = K / S`` for one ``S > 0``, exactly.

    That matrix is what :func:`~equilibria.solver.game.positive_rescale` computes (up to
    its rounding). Only for integer payoffs below ``2^31`` in magnitude (which every reading
    of the payoffs, exact mode's included, takes as those integers); None otherwise.

    Examples
    --------
    >>> integer_matrix(np.array([[0.0, 2.0], [1.0, 2.0]]), Fraction(1, 10)).tolist()
    [[1, 11], [6, 11]]
    >>> integer_matrix(np.array([[0.5, 1.0]]), Fraction(1, 10)) is None
    True
    """
    found = integer_form(raw, low)
    return None if found is None else found[0]


def residues(k: npt.NDArray[np.int64]) -> Residues | None:
    """``K``'s standard form modulo enough of :data:`PRIMES` (None when all of them are too few).

    A value the search compares with zero is ``V = N_1 N_2 - N_3 N_4``, each ``N`` a
    determinant of ``c`` columns drawn from ``[K^T | I]``, the right-hand side ``1`` and
    unit vectors; by Hadamard's inequality ``|N| <= H``, the product of the ``c`` largest
    of those columns' norms, so ``|V| <= 2 H^2`` and primes whose product exceeds ``4 H^2``
    decide ``V = 0`` (and fewer, whose product exceeds ``2 H``, decide ``N = 0``).

    Examples
    --------
    >>> found = residues(np.array([[1, 11], [6, 11]]))
    >>> found.primes.tolist(), found.columns[0].tolist()
    ([2147483647], [[1, 11], [6, 11], [1, 0], [0, 1]])
    """
    d, c = k.shape
    norms = [*np.sqrt((k.astype(np.float64) ** 2).sum(axis=1)).tolist(), *([1.0] * c), math.sqrt(c)]
    log_h = sum(math.log2(norm) for norm in sorted(norms, reverse=True)[:c])
    need = 2.0 + 2.0 * (log_h * (1 + 1e-9) + 1e-6)  # log2 (4 H^2), rounded up
    bits = np.cumsum(np.log2(PRIMES.astype(np.float64)))
    count = int(np.searchsorted(bits, need, side="right")) + 1
    if count > len(PRIMES):
        return None
    zero_count = int(np.searchsorted(bits, 1.0 + log_h * (1 + 1e-9) + 1e-6, side="right")) + 1
    primes = PRIMES[:count]
    columns = np.zeros((count, d + c, c), dtype=np.int64)
    columns[:, :d] = k[None] % primes[:, None, None]
    columns[:, d:] = np.eye(c, dtype=np.int64)[None]
    return Residues(primes, columns, zero_count)
