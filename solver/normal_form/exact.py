"""Exact rational arithmetic for small 2-player games.

The exact game that ``exact=True`` (and the float enumeration, when a float decision is
too close to call) enumerates with :mod:`~equilibria.solver.normal_form.exact_search`.
Every double is a rational number; a payoff is read as the simplest
fraction with denominator at most 10**6 that rounds to the same double when there is
one (``0.1`` is read as ``1/10``, ``1/3`` as ``1/3``), and as its exact binary value
otherwise.

Examples
--------
>>> from equilibria.solver.normal_form.exact import rational_bimatrix
>>> g = rational_bimatrix([[0.5, 1.0]], [[1.0, 0.25]])
>>> g.a[0][0], g.b_positive[0][1]
(Fraction(1, 2), Fraction(1, 1))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidOptionError

__all__ = [
    "RationalBimatrix",
    "normalise",
    "rank",
    "rational_bimatrix",
    "read_fraction",
    "solve_exact",
    "solve_integer",
]

Matrix = tuple[tuple[Fraction, ...], ...]
#: Largest denominator tried when reading a double as a simple fraction.
MAX_DENOMINATOR = 10**6
#: Largest game exact mode accepts (rows x columns).
MAX_EXACT_ENTRIES = 400


@dataclasses.dataclass(frozen=True)
class RationalBimatrix:
    """A 2-player game with exact payoffs.

    Attributes
    ----------
    a, b : tuple of tuple of Fraction
        The row and column player's payoffs, in the user's units.
    a_positive, b_positive : tuple of tuple of Fraction
        The same shifted so the smallest entry is 1 (equilibria are unchanged).
    """

    a: Matrix
    b: Matrix
    a_positive: Matrix
    b_positive: Matrix

    def payoffs(self, x: Sequence[Fraction], y: Sequence[Fraction]) -> tuple[Fraction, Fraction]:
        """Exact expected payoffs ``(x A y, x B y)``."""
        return (_bilinear(x, self.a, y), _bilinear(x, self.b, y))


def _bilinear(x: Sequence[Fraction], mat: Matrix, y: Sequence[Fraction]) -> Fraction:
    return sum(
        (
            xi * sum((r * yj for r, yj in zip(row, y, strict=True) if yj), Fraction(0))
            for xi, row in zip(x, mat, strict=True)
            if xi
        ),
        Fraction(0),
    )


def read_fraction(value: float) -> Fraction:
    """A payoff as an exact fraction: the closest to the double with denominator at most
    ``MAX_DENOMINATOR``, when it rounds to the same double, else the double's exact binary value.

    The shortest decimal that rounds to the double (its ``repr``), ``D`` with denominator ``q``,
    is that fraction whenever ``MAX_DENOMINATOR q ulp < 1``: any other fraction of denominator
    at most ``MAX_DENOMINATOR`` is at least ``1 / (MAX_DENOMINATOR q)`` from ``D``, and ``D`` is
    within half an ulp of the double: payoffs with a few decimals take that path, at a fifth
    of ``limit_denominator``'s cost.

    Examples
    --------
    >>> read_fraction(0.1), read_fraction(2.0**-30), read_fraction(1 / 3)
    (Fraction(1, 10), Fraction(1, 1073741824), Fraction(1, 3))
    """
    decimal = Fraction(repr(value))
    if (
        decimal.denominator <= MAX_DENOMINATOR
        and MAX_DENOMINATOR * decimal.denominator * math.ulp(value) < 1.0
    ):
        return decimal
    simple = Fraction(value).limit_denominator(MAX_DENOMINATOR)
    return simple if float(simple) == value else Fraction(value)


def rational_bimatrix(a: npt.ArrayLike, b: npt.ArrayLike) -> RationalBimatrix:
    """Read two payoff matrices as exact fractions.

    Raises
    ------
    InvalidOptionError
        (field ``exact``) if the game is too large for exact arithmetic.
    """
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.size > MAX_EXACT_ENTRIES:
        raise InvalidOptionError(
            "exact",
            f"rational_bimatrix(): exact output is offered up to {MAX_EXACT_ENTRIES} payoff entries "
            f"per player, the game has {a_arr.size}",
        )

    def read(arr: npt.NDArray[np.float64]) -> Matrix:
        return tuple(tuple(read_fraction(float(v)) for v in row) for row in arr)

    ra, rb = read(a_arr), read(b_arr)
    return RationalBimatrix(ra, rb, _shift_positive(ra), _shift_positive(rb))


def _shift_positive(mat: Matrix) -> Matrix:
    low = min(min(row) for row in mat)
    return tuple(tuple(v - low + 1 for v in row) for row in mat)


def solve_exact(system: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction]) -> list[Fraction] | None:
    """Solve a square system by Gaussian elimination over the rationals (None if singular).

    Examples
    --------
    >>> solve_exact([[Fraction(2), Fraction(1)], [Fraction(1), Fraction(1)]], [Fraction(3), Fraction(2)])
    [Fraction(1, 1), Fraction(1, 1)]
    >>> solve_exact([[Fraction(1), Fraction(2)], [Fraction(2), Fraction(4)]], [Fraction(1), Fraction(1)]) is None
    True
    """
    size = len(system)
    rows, pivots = _echelon(
        [[*map(Fraction, row), Fraction(r)] for row, r in zip(system, rhs, strict=True)], size
    )
    if len(pivots) < size:
        return None
    z = [Fraction(0)] * size
    for r in reversed(range(size)):  # pivots[r] == r: the leading entries are on the diagonal
        head = rows[r]
        z[r] = (head[size] - sum((head[j] * z[j] for j in range(r + 1, size)), Fraction(0))) / head[r]
    return z


def solve_integer(system: Sequence[Sequence[int]], rhs: Sequence[int]) -> tuple[list[int], int] | None:
    """Solve a square integer system exactly: ``(numerators, det)`` with ``x = numerators /
    det`` and ``det > 0`` (``|det|`` the system's determinant); None if singular.

    Fraction-free Gauss-Jordan elimination (Bareiss): each step's entries ``(x p - a y) /
    p_prev`` are exact integer divisions, so no greatest common divisor is ever taken (a
    :class:`~fractions.Fraction` takes one per operation): several times faster than
    :func:`solve_exact` on the small-denominator payoffs of decimal games.

    Examples
    --------
    >>> solve_integer([[2, 1], [1, 1]], [3, 2])
    ([1, 1], 1)
    >>> solve_integer([[0, 2], [3, 1]], [1, 1])  # x = (1/6, 1/2)
    ([1, 3], 6)
    >>> solve_integer([[1, 2], [2, 4]], [1, 1]) is None
    True
    """
    size = len(system)
    rows = [[*row, r] for row, r in zip(system, rhs, strict=True)]
    previous = 1
    for k in range(size):
        pivot = next((r for r in range(k, size) if rows[r][k] != 0), None)
        if pivot is None:
            return None
        rows[k], rows[pivot] = rows[pivot], rows[k]
        head = rows[k]
        p = head[k]
        for i in range(size):
            if i == k:
                continue
            row = rows[i]
            a = row[k]
            if a == 0 and p == previous:  # unchanged: (x p - 0) / p
                continue
            for j in range(k, size + 1):
                row[j] = (row[j] * p - a * head[j]) // previous
        previous = p
    # Every diagonal entry is now the last pivot; each right-hand side is it times x_i.
    if previous < 0:
        return [-row[size] for row in rows], -previous
    return [row[size] for row in rows], previous


def rank(rows: Sequence[Sequence[Fraction]]) -> int:
    """The rank of a matrix of rationals, by Gaussian elimination (0 for no rows or columns).

    Examples
    --------
    >>> rank([[Fraction(1), Fraction(2)], [Fraction(2), Fraction(4)]]), rank([])
    (1, 0)
    """
    return len(_echelon([list(row) for row in rows], len(rows[0]) if rows else 0)[1])


def _echelon(rows: list[list[Fraction]], columns: int) -> tuple[list[list[Fraction]], list[int]]:
    """``rows`` brought to row echelon form in their first ``columns`` columns (in place:
    forward elimination, rows swapped for a non-zero pivot) and the pivot columns, in order."""
    pivots: list[int] = []
    for col in range(columns):
        found = len(pivots)
        pivot = next((r for r in range(found, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[found], rows[pivot] = rows[pivot], rows[found]
        head = rows[found]
        for r in range(found + 1, len(rows)):
            if rows[r][col] != 0:
                factor = rows[r][col] / head[col]
                rows[r] = [v - factor * h for v, h in zip(rows[r], head, strict=True)]
        pivots.append(col)
    return rows, pivots


def normalise(point: Sequence[Fraction]) -> tuple[Fraction, ...]:
    """Scale a non-zero non-negative vector to sum to 1."""
    total = sum(point, Fraction(0))
    return tuple(v / total for v in point)
