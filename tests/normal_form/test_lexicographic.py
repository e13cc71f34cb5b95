"""How many primes the exact tie decisions of the vertex search take (issue 23).

:func:`~equilibria.solver.normal_form.lexicographic.residues` picks primes whose product
exceeds ``4 H^2`` (deciding ``V = 0`` for ``|V| <= 2 H^2``) and, for one determinant
``|N| <= H``, exceeds ``2 H``. It computes ``H`` in float logarithms, so the margin it adds
must cover their rounding. Here ``H^2`` is an integer (the product of the ``c`` largest
squared column norms, integers for an integer ``K``) and the products are compared in
Python's big integers, on matrices built so that ``4 H^2`` lies a few parts in 1e10 above a
product of the primes: a margin of the wrong sign takes one prime too few there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from equilibria.solver.normal_form.lexicographic import PRIMES, residues

_P = [int(p) for p in PRIMES]


def _two_squares(n: int) -> tuple[int, int] | None:
    """``(x, y)`` with ``x^2 + y^2 = n`` and ``x`` within 3,000 of ``sqrt(n)``, if any."""
    root = math.isqrt(n)
    for x in range(root, max(-1, root - 3000), -1):
        y = math.isqrt(n - x * x)
        if x * x + y * y == n:
            return x, y
    return None


def _just_above(bound: int) -> np.ndarray:
    """A 2 x 2 integer ``K`` with ``4 H^2 = 4 |K_0|^2 |K_1|^2`` over ``bound`` by < 5e-9 of it."""
    for a in range(23170, 23300):
        for b in range(50):
            n1 = a * a + b * b
            n2 = bound // (4 * n1) + 1
            other = _two_squares(n2)
            if other is not None and 4 * n1 * n2 - bound < 5e-9 * bound:
                return np.array([[a, b], list(other)], dtype=np.int64)
    raise AssertionError("no such matrix in the range searched")


def _h_squared(k: np.ndarray) -> int:
    """``H^2``: the product of the ``c`` largest squared norms of ``K``'s rows, the unit
    columns and the right-hand side (exact integers)."""
    c = k.shape[1]
    squares = [sum(int(v) ** 2 for v in row) for row in k] + [1] * c + [c]
    return math.prod(sorted(squares, reverse=True)[:c])


@pytest.mark.parametrize(
    ("bound", "primes", "zero_primes"),
    [
        (_P[0] * _P[1], 3, 2),  # 4 H^2 just over two primes' product: three are needed
        (_P[0] ** 2, 3, 2),  # 2 H just over the first prime: two decide a determinant
    ],
    ids=["values", "determinants"],
)
def test_primes_exceed_the_hadamard_bound_exactly_at_its_edge(
    bound: int, primes: int, zero_primes: int
) -> None:
    k = _just_above(bound)
    h2 = _h_squared(k)
    assert bound < 4 * h2 < bound * (1 + 5e-9)
    found = residues(k)
    assert found is not None
    product = math.prod(int(p) for p in found.primes)
    zero_product = math.prod(int(p) for p in found.primes[: found.zero_primes])
    assert product > 4 * h2  # |V| <= 2 H^2: primes over twice that decide V = 0
    assert zero_product**2 > 4 * h2  # |N| <= H: primes over 2 H decide N = 0
    assert (len(found.primes), found.zero_primes) == (primes, zero_primes)


@pytest.mark.parametrize("seed", range(6))
def test_primes_exceed_the_hadamard_bound_and_one_fewer_would_not(seed: int) -> None:
    """On random integer matrices of every size up to the eight primes' reach: enough primes
    (compared exactly), and the fewest that are enough to within the margin's 1e-6 bits."""
    rng = np.random.default_rng([31, seed])
    for _ in range(40):
        d, c = (int(v) for v in rng.integers(1, 9, size=2))
        k = rng.integers(1, int(2 ** rng.integers(1, 31)), size=(d, c), dtype=np.int64)
        found = residues(k)
        h2 = _h_squared(k)
        if found is None:
            assert math.prod(_P) <= 4 * h2 * 2.0**1e-5
            continue
        product = math.prod(int(p) for p in found.primes)
        assert product > 4 * h2
        assert product // int(found.primes[-1]) <= 4 * h2 * 2.0**1e-5  # one fewer is not enough
        zero_product = math.prod(int(p) for p in found.primes[: found.zero_primes])
        assert zero_product**2 > 4 * h2
        assert (zero_product // int(found.primes[found.zero_primes - 1])) ** 2 <= 4 * h2 * 2.0**1e-5
        np.testing.assert_array_equal(found.columns[:, :d], k[None] % found.primes[:, None, None])


def test_the_primes_are_distinct_primes_below_2_31_largest_first() -> None:
    """Modular arithmetic decides ``V = 0`` only modulo primes (a field), and the product of
    two residues must fit an int64."""
    assert PRIMES.dtype == np.int64
    assert sorted(set(_P), reverse=True) == _P
    assert _P[0] < 2**31
    for p in _P:
        assert all(p % q for q in range(2, math.isqrt(p) + 1)), p
