"""A few bases of a best-response polytope decided in rational arithmetic.

The float vertex enumeration certifies each decision by an error bound. Once in a long
while a decision falls within its bound: a basis too close to singular to evaluate, a
basic value within its error of the tolerance. Re-searching the whole polytope in exact
arithmetic for that (:mod:`~equilibria.solver.normal_form.exact_search`, milliseconds per
basis) costs a 16 x 16 game minutes; deciding just the doubtful bases exactly costs
milliseconds each. :class:`RationalPolytope` holds the polytope ``{z >= 0 : M^T z <= 1}``
whose float matrix is ``positive_rescale(raw, low)``, with ``M`` read exactly (each payoff
as exact mode reads it, :func:`~equilibria.solver.normal_form.exact.read_fraction`, then
rescaled in rational arithmetic); :meth:`RationalPolytope.decide` solves given bases.

Examples
--------
>>> import numpy as np
>>> from fractions import Fraction
>>> polytope = RationalPolytope(np.array([[0.0, 1.0], [1.0, 0.0]]), Fraction(1, 10))
>>> block = polytope.decide(np.array([[0, 1]]), np.array([[0, 1]]), 1e-9)
>>> block.points.round(6).tolist(), block.singular.tolist()
([[0.833333, 0.833333]], [])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.normal_form import exact as exact_arith
from equilibria.solver.normal_form.bases import BasisBlock
from equilibria.solver.normal_form.square_systems import basis_rows

__all__ = ["MAX_COMMON_DENOMINATOR", "MAX_DECIDED", "RationalPolytope"]

#: Most doubtful bases decided exactly in one call; past it the doubt stands (reported).
MAX_DECIDED = 256
#: Payoffs whose fractions share a common denominator up to this are solved in integers
#: (:attr:`RationalPolytope.integer`): integer and decimal payoffs (up to 12 decimals).
MAX_COMMON_DENOMINATOR = 10**12
_EPS = float(np.finfo(np.float64).eps)


class RationalPolytope:
    """``{z >= 0 : M^T z <= 1}`` with ``M = low + (raw - min) / (max - min)`` in rationals
    (all ones when ``raw`` is constant): the exact matrix of ``positive_rescale(raw, low)``.

    Parameters
    ----------
    raw : ndarray, shape (d, c)
        The payoffs, oriented as the polytope's matrix (one row per coordinate).
    low : Fraction
        The rescaled payoffs' lower end (``positive_rescale``'s ``low``, exactly).
    read : sequence of sequence of Fraction, optional
        ``raw`` already read as fractions (:func:`~.exact.read_fraction`), when the caller has
        it (exact mode's :class:`~.exact.RationalBimatrix`); else read when first needed.
    """

    def __init__(
        self, raw: FloatArray, low: Fraction, read: Sequence[Sequence[Fraction]] | None = None
    ) -> None:
        self._raw = np.array(raw, dtype=np.float64)
        self._low = low
        self._read = read

    @functools.cached_property
    def _fractions(self) -> Sequence[Sequence[Fraction]]:
        """The payoffs read as fractions (when first needed)."""
        return self._read or [[exact_arith.read_fraction(float(v)) for v in row] for row in self._raw]

    @functools.cached_property
    def integer(self) -> tuple[tuple[tuple[int, ...], ...], int] | None:
        """``(K, S)`` with ``M = K / S``, ``K`` integers, when the payoffs share a common
        denominator up to :data:`MAX_COMMON_DENOMINATOR` (integer and decimal payoffs; the
        scaling of :func:`.lexicographic.integer_form`); else None.

        Examples
        --------
        >>> RationalPolytope(np.array([[0.5, 1.25]]), Fraction(1, 10)).integer
        (((1, 11),), 10)
        """
        read = self._fractions
        common = 1
        for row in read:
            for v in row:
                common = math.lcm(common, v.denominator)
                if common > MAX_COMMON_DENOMINATOR:
                    return None
        ints = [[v.numerator * (common // v.denominator) for v in row] for row in read]
        lo = min(min(row) for row in ints)
        hi = max(max(row) for row in ints)
        if lo == hi:
            return tuple(tuple(1 for _ in row) for row in ints), 1
        low = self._low
        # low + (v - lo) / (hi - lo) = (low.den (v - lo) + low.num (hi - lo)) / (low.den (hi - lo))
        k = [[low.denominator * (v - lo) + low.numerator * (hi - lo) for v in row] for row in ints]
        scale = low.denominator * (hi - lo)
        divisor = math.gcd(scale, *(v for row in k for v in row))
        return tuple(tuple(v // divisor for v in row) for row in k), scale // divisor

    @functools.cached_property
    def matrix(self) -> tuple[tuple[Fraction, ...], ...]:
        """``M`` in rationals, read when first needed."""
        read = self._fractions
        lo = min(min(row) for row in read)
        hi = max(max(row) for row in read)
        if lo == hi:
            return tuple(tuple(Fraction(1) for _ in row) for row in read)
        span = hi - lo
        return tuple(tuple(self._low + (v - lo) / span for v in row) for row in read)

    def rank(self, support: Sequence[int], tight: Sequence[int]) -> int:
        """The exact rank of ``M[support, tight]`` (the rows of the coordinates that may be
        positive, the columns of the tight constraints)."""
        return exact_arith.rank(self._system(support, tight))

    def _system(self, support: Sequence[int], tight: Sequence[int]) -> list[list[Fraction]]:
        """``M[support, tight]^T``: one row per tight constraint, one column per coordinate."""
        mat = self.matrix
        return [[mat[int(i)][int(t)] for i in support] for t in tight]

    def solve(
        self, support: Sequence[int], tight: Sequence[int]
    ) -> tuple[list[Fraction], list[Fraction]] | None:
        """The exact point of the basis with coordinates ``support`` and as many tight
        constraints ``tight``, and every constraint's value there; None when it is singular.

        ``z_S`` solves ``M[S, T]^T z_S = 1``; returns ``(z, M^T z)`` with ``z`` zero off ``S``.

        Examples
        --------
        >>> polytope = RationalPolytope(np.array([[0.0, 1.0], [1.0, 0.0]]), Fraction(0))
        >>> polytope.solve([0, 1], [0, 1])
        ([Fraction(1, 1), Fraction(1, 1)], [Fraction(1, 1), Fraction(1, 1)])
        >>> polytope.solve([0], [0]) is None  # M[0, 0] = 0
        True
        """
        d, c = self._raw.shape
        integer = self.integer
        if integer is not None:
            # M = K / S: M_ST^T z = 1 is K_ST^T w = 1 with z = S w, and M^T z = K^T w.
            k, scale = integer
            solved = exact_arith.solve_integer([[k[i][t] for i in support] for t in tight], [1] * len(tight))
            if solved is None:
                return None
            numerators, det = solved
            w = [0] * d
            for i, v in zip(support, numerators, strict=True):
                w[i] = v
            point = [Fraction(scale * v, det) if v else Fraction(0) for v in w]
            values = [Fraction(sum(k[i][t] * w[i] for i in support), det) for t in range(c)]
            return point, values
        mat = self.matrix
        z = exact_arith.solve_exact(self._system(support, tight), [Fraction(1)] * len(tight))
        if z is None:
            return None
        point = [Fraction(0)] * d
        for i, v in zip(support, z, strict=True):
            point[i] = v
        values = [sum((mat[i][t] * point[i] for i in support), Fraction(0)) for t in range(c)]
        return point, values

    def decide(self, ps: Sequence[Sequence[int]], pt: Sequence[Sequence[int]], tol: float) -> BasisBlock:
        """Bases ``(ps[k], pt[k])`` (coordinates in the basis, as many tight constraints; the
        bases may differ in size) solved exactly.

        Each is solved by :meth:`solve`; it is feasible when ``z >= -tol`` and
        ``M^T z <= 1 + tol``, both decided on the exact values (the float search's
        tolerance, with no round-off left to doubt). Returns the feasible ones (their points
        the exact points rounded, the error bound that rounding) and the indices of the
        singular ones, never ambiguous.
        """
        d, c = self._raw.shape
        low, high = Fraction(-tol), 1 + Fraction(tol)
        points, bases, singular = [], [], []
        for k in range(len(ps)):
            solved = self.solve([int(i) for i in ps[k]], [int(t) for t in pt[k]])
            if solved is None:
                singular.append(k)
                continue
            point, values = solved
            if min(point) < low or max(values) > high:
                continue
            points.append([float(v) for v in point])
            bases.append(basis_rows(np.array([ps[k]], dtype=np.intp), np.array([pt[k]], dtype=np.intp), d, c))
        found = np.array(points, dtype=np.float64).reshape(len(points), d)
        return BasisBlock(
            found,
            np.concatenate([np.zeros((0, d + c), dtype=bool), *bases]),
            _EPS * np.abs(found).max(axis=1, initial=0.0),  # each float is the exact value rounded
            False,
            np.array(singular, dtype=np.intp),
        )
