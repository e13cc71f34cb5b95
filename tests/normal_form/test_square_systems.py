"""The batched square-system solver of the vertex search, against exact rationals (issue 23).

:mod:`~equilibria.solver.normal_form.square_systems` decides, for a basis of the polytope
``{z >= 0 : mat^T z <= 1}``, its solution, whether it is singular and whether it is
feasible, each with an error bound. Here every one of those decisions is held to the same
decision taken in exact rational arithmetic (Python's ``Fraction``) on small integer
matrices, where the floats have no excuse to differ: the solution to within its bound, the
Hadamard ratio to within rounding, the singular bases exactly, the feasible ones exactly.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver.normal_form import bases, square_systems
from equilibria.solver.normal_form.exact import solve_exact

from tests.certificates import exact_determinant


def _system(mat: np.ndarray, ps: tuple[int, ...], pt: tuple[int, ...]) -> list[list[Fraction]]:
    """Row ``t``: constraint ``pt[t]`` over the coordinates ``ps`` (``mat[S, T]^T``), exactly."""
    return [[Fraction(float(mat[i, t])) for i in ps] for t in pt]


def _exact_basis(mat: np.ndarray, ps: tuple[int, ...], pt: tuple[int, ...]) -> list[Fraction] | None:
    """The point of the basis (all ``d`` coordinates), None when its system is singular."""
    z = solve_exact(_system(mat, ps, pt), [Fraction(1)] * len(ps))
    if z is None:
        return None
    point = [Fraction(0)] * mat.shape[0]
    for i, v in zip(ps, z, strict=True):
        point[i] = v
    return point


def _exactly_feasible(mat: np.ndarray, point: list[Fraction]) -> bool:
    d, c = mat.shape
    if min(point) < 0:
        return False
    return all(sum(point[i] * Fraction(float(mat[i, t])) for i in range(d)) <= 1 for t in range(c))


def _bases_of_size(d: int, c: int, s: int) -> tuple[list, np.ndarray, np.ndarray]:
    """Every basis with ``s`` coordinates and ``s`` tight constraints: the pairs ``(S, T)``
    and the same as the arrays ``ps``, ``pt`` the solver takes."""
    pairs = [(p, t) for p in itertools.combinations(range(d), s) for t in itertools.combinations(range(c), s)]
    ps = np.array([p for p, _ in pairs], dtype=np.int64)
    pt = np.array([t for _, t in pairs], dtype=np.int64)
    return pairs, ps, pt


def _integer_games(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 4, size=(int(rng.integers(1, 5)), int(rng.integers(1, 5)))).astype(float) + 1.0
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_system_is_solved_to_rounding_and_its_hadamard_ratio_is_det_over_row_norms(seed: int) -> None:
    """``_solve_systems`` on every square sub-system of small integer matrices: the solution
    of ``mat[S, T]^T z = 1`` within 1e-12 of the exact one, ``rho = |det| / prod(row norms)``,
    and a singular system's ratio under ``SINGULAR_RHO / 1000`` (0, with ``z = 0``, when
    elimination meets an exact zero pivot)."""
    rng = np.random.default_rng(seed)
    checked = singular_seen = zero_pivot_seen = 0
    for _ in range(60):
        d, c = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        mat = rng.integers(-2, 4, size=(d, c)).astype(float)
        for s in range(1, min(d, c) + 1):
            pairs, ps, pt = _bases_of_size(d, c, s)
            z, rho = np.full((len(pairs), s), np.nan), np.full(len(pairs), np.nan)
            square_systems._solve_systems(mat, ps, pt, z, rho)
            for k, (p, t) in enumerate(pairs):
                system = _system(mat, p, t)
                exact = solve_exact(system, [Fraction(1)] * s)
                norms = math.prod(math.sqrt(sum(float(v) ** 2 for v in row)) for row in system)
                if exact is None:  # rho is rounding away from 0, under what may be doubted
                    singular_seen += 1
                    assert 0.0 <= rho[k] < bases.SINGULAR_RHO * 1e-3, (mat, p, t)
                    if rho[k] == 0.0:
                        assert z[k].tolist() == [0.0] * s
                        zero_pivot_seen += 1
                    continue
                det = abs(np.linalg.det(np.array(system, dtype=float)))
                assert rho[k] == pytest.approx(det / norms, rel=1e-12), (mat, p, t)
                np.testing.assert_allclose(z[k], [float(v) for v in exact], rtol=1e-12, atol=1e-12)
                checked += 1
    assert checked > 500 and singular_seen > 50 and zero_pivot_seen > 20


@pytest.mark.parametrize("seed", [3, 4])
def test_solved_bases_are_the_exactly_feasible_ones_with_their_points(seed: int) -> None:
    """``solve_bases`` keeps exactly the bases whose exact point is feasible, with that point
    (within its own error bound), its basis columns, and the singular ones by index."""
    for mat in _integer_games(40, seed):
        d, c = mat.shape
        for s in range(1, min(d, c) + 1):
            pairs, ps, pt = _bases_of_size(d, c, s)
            block = square_systems.solve_bases(mat, ps, pt, 1e-9)
            expected, singular = [], []
            for k, (p, t) in enumerate(pairs):
                point = _exact_basis(mat, p, t)
                if point is None:
                    singular.append(k)
                elif _exactly_feasible(mat, point):
                    expected.append((p, t, point))
            assert block.singular.tolist() == singular, mat
            assert not block.ambiguous, mat
            assert len(block.points) == len(expected), mat
            for row, (p, t, point) in enumerate(expected):
                exact = np.array([float(v) for v in point])
                assert bool((np.abs(block.points[row] - exact) <= block.error[row]).all()), mat
                assert block.error[row] < 1e-9
                columns = np.zeros(d + c, dtype=bool)
                columns[list(p)] = True
                columns[[d + j for j in t]] = True
                assert block.basis[row].tolist() == columns.tolist(), mat


def test_the_column_ratio_is_the_larger_hadamard_ratio_of_rows_and_columns() -> None:
    """``_column_ratio`` against the definition with exact determinants: the larger of
    ``|det| / prod(row norms)`` and ``|det| / prod(column norms)`` of each system
    ``mat[S, T]^T``, on unevenly scaled coordinates (the two differ by orders of magnitude)."""
    rng = np.random.default_rng(5)
    seen_larger = 0
    for _ in range(30):
        d, c = (int(v) for v in rng.integers(2, 5, size=2))
        mat = rng.integers(1, 5, size=(d, c)) * 10.0 ** rng.integers(0, 6, size=(d, 1))
        s = int(rng.integers(1, min(d, c) + 1))
        pairs, ps, pt = _bases_of_size(d, c, s)
        z, rho = np.empty((len(pairs), s)), np.empty(len(pairs))
        square_systems._solve_systems(mat, ps, pt, z, rho)
        got = square_systems._column_ratio(mat, ps, pt, rho)
        for k, (p, t) in enumerate(pairs):
            system = np.array([[mat[i, j] for i in p] for j in t])  # row: a constraint
            det = abs(float(exact_determinant(_system(mat, p, t))))
            by_rows = det / np.prod(np.linalg.norm(system, axis=1))
            by_columns = det / np.prod(np.linalg.norm(system, axis=0))
            assert got[k] == pytest.approx(max(by_rows, by_columns), rel=1e-9, abs=1e-300)
            seen_larger += by_columns > 10 * by_rows
    assert seen_larger > 10


def test_no_bases_give_an_empty_block_of_the_right_shapes() -> None:
    mat = np.ones((3, 2))
    block = square_systems.solve_bases(
        mat, np.zeros((0, 2), dtype=np.intp), np.zeros((0, 2), dtype=np.intp), 1e-9
    )
    assert block.points.shape == (0, 3) and block.basis.shape == (0, 5) and block.error.shape == (0,)
    assert not block.ambiguous and len(block.singular) == 0


@pytest.mark.parametrize(
    ("delta", "ambiguous"),
    [
        (0.0, False),  # exactly singular: left out, nothing to doubt
        (2.0**-52, False),  # rho ~ 2e-16, under SINGULAR_RHO / 1000: singular beyond doubt
        (1e-13, True),  # rho ~ 1e-13: too close to singular to decide, either way
        (1e-10, False),  # rho ~ 1e-10: regular, its point (1/2, 1/2) far inside
    ],
)
def test_a_nearly_singular_basis_is_singular_ambiguous_or_regular_by_its_hadamard_ratio(
    delta: float, ambiguous: bool
) -> None:
    """Constraints ``z_0 + z_1 = 1`` and ``(1 + delta) z_0 + (1 - delta) z_1 = 1`` meet at
    ``(1/2, 1/2)`` with Hadamard ratio about ``delta``: regular above ``SINGULAR_RHO``
    (1e-12), ambiguous down to a thousandth of it, singular below."""
    mat = np.array([[1.0, 1.0 + delta], [1.0, 1.0 - delta]])
    ps = pt = np.array([[0, 1]])
    block = square_systems.solve_bases(mat, ps, pt, 1e-9)
    regular = delta > bases.SINGULAR_RHO
    assert block.ambiguous == ambiguous
    assert block.singular.tolist() == ([] if regular else [0])
    assert len(block.points) == int(regular)
    if regular:
        np.testing.assert_allclose(block.points, [[0.5, 0.5]], rtol=1e-5)
        assert 0.0 < block.error[0] < 1e-3


def test_brute_force_bases_finds_every_exactly_feasible_basis_once_and_spends_one_per_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every feasible basis of every size, each once, and the budget charged with every square
    system tried; batches of one system (``BLOCK_ENTRIES`` patched) find the same."""
    for mat in _integer_games(25, 5):
        d, c = mat.shape
        expected = set()
        for s in range(1, min(d, c) + 1):
            for p, t in _bases_of_size(d, c, s)[0]:
                point = _exact_basis(mat, p, t)
                if point is not None and _exactly_feasible(mat, point):
                    expected.add((p, t))
        systems = sum(math.comb(d, s) * math.comb(c, s) for s in range(1, min(d, c) + 1))
        found_by_size = []
        for entries in (square_systems.BLOCK_ENTRIES, 1):
            monkeypatch.setattr(square_systems, "BLOCK_ENTRIES", entries)
            budget = bases.Budget(10**9)
            blocks = list(square_systems.brute_force_bases(mat, 1e-9, budget))
            assert budget.visited == systems
            assert all(len(block.points) or block.ambiguous for block in blocks)
            found = []
            for block in blocks:
                for basis in block.basis:
                    cols = np.flatnonzero(basis)
                    found.append((tuple(cols[cols < d].tolist()), tuple((cols[cols >= d] - d).tolist())))
            assert sorted(found) == sorted(expected), mat
            found_by_size.append(sorted(found))
        assert found_by_size[0] == found_by_size[1]


@pytest.mark.parametrize(("delta", "ambiguous"), [(1e-4, True), (0.5, False)])
def test_a_constraint_just_past_its_threshold_is_ambiguous_only_within_the_error_bound(
    delta: float, ambiguous: bool
) -> None:
    """Constraints 0 and 1 meet at ``(1/2, 1/2)``; constraint 2 passes ``1 + tol`` there by
    1e-10. With the system's condition number ~2e4 (``delta`` 1e-4) the float error bound
    ``16 s eps cond`` (1.4e-10) covers that margin: ambiguous (a cheap first bound a quarter
    of that would have let it pass as decided). Well conditioned (``delta`` 0.5): decided,
    infeasible."""
    tol = 1e-9
    over = 1.0 + tol + 1e-10
    mat = np.array([[1.0, 1.0 + delta, over], [1.0, 1.0 - delta, over]])
    block = square_systems.solve_bases(mat, np.array([[0, 1]]), np.array([[0, 1]]), tol)
    assert block.ambiguous == ambiguous
    assert len(block.points) == 0  # infeasible (by 1e-10), whether or not that is certain
