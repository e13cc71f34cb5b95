"""The vertex search's building blocks, each against an independent oracle (issue 23).

:mod:`~equilibria.solver.normal_form.bases` certifies every pivot of its search with a few
compiled helpers: arithmetic modulo primes below 2^31 (the lexicographic ratio test's exact
tie decisions), an LU factorisation, solve and inverse row modulo a prime, a Gauss-Jordan
inverse, the open-addressing table of seen bases and its growth, the spill test of a pivot,
the budget. The search's end-to-end tests reach them only through whole games; here each one
is held to its definition: Python's big integers for the modular arithmetic, numpy for the
float inverse, one uninterrupted search for a search in chunks.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from equilibria.solver.errors import ProblemTooLargeError
from equilibria.solver.game import positive_rescale
from equilibria.solver.normal_form import bases
from equilibria.solver.normal_form.lexicographic import PRIMES

_SMALL_PRIMES = (2, 3, 7, 13)


def _residues(rng: np.random.Generator, p: int, size: int) -> list[int]:
    """Residues in [0, p) with the extremes 0, 1 and p - 1 among them."""
    drawn = rng.integers(0, p, size=size).tolist()
    return [0, 1, p - 1, *drawn]


@pytest.mark.parametrize("p", [*PRIMES.tolist(), *_SMALL_PRIMES])
def test_products_and_powers_modulo_a_prime_match_big_integers(p: int) -> None:
    rng = np.random.default_rng(p)
    inverse = 1.0 / p
    values = _residues(rng, p, 40)
    for a in values:
        for b in values[:12]:
            assert bases._mul_mod(np.int64(a), np.int64(b), np.int64(p), inverse) == a * b % p, (a, b)
            for total in (0, p - 1, b):
                got = bases._sub_mul_mod(np.int64(total), np.int64(a), np.int64(b), np.int64(p), inverse)
                assert got == (total - a * b) % p, (total, a, b)
    for base in values[:10]:
        for exponent in (0, 1, 2, 3, p - 2, p - 1, int(rng.integers(0, p))):
            got = bases._power_mod(np.int64(base), np.int64(exponent), np.int64(p), inverse)
            assert got == pow(base, exponent, p), (base, exponent)


def _inverse_mod(matrix: list[list[int]], p: int) -> list[list[int]] | None:
    """``matrix^-1`` modulo ``p`` by Gauss-Jordan elimination on Python integers (None when
    singular modulo ``p``)."""
    c = len(matrix)
    rows = [[v % p for v in row] + [int(i == j) for j in range(c)] for i, row in enumerate(matrix)]
    for k in range(c):
        pivot = next((i for i in range(k, c) if rows[i][k]), None)
        if pivot is None:
            return None
        rows[k], rows[pivot] = rows[pivot], rows[k]
        scale = pow(rows[k][k], p - 2, p)
        rows[k] = [v * scale % p for v in rows[k]]
        for i in range(c):
            if i != k and rows[i][k]:
                factor = rows[i][k]
                rows[i] = [(v - factor * w) % p for v, w in zip(rows[i], rows[k], strict=True)]
    return [row[c:] for row in rows]


def _integer_matrices(p: int) -> list[list[list[int]]]:
    """Random integer matrices of sizes 1 to 6, many with zeros where a pivot would be (so
    the factorisation must swap rows), some singular modulo ``p``."""
    rng = np.random.default_rng(1000 + p)
    found = []
    for c in range(1, 7):
        for _ in range(12):
            m = rng.integers(-3, 4, size=(c, c)) * rng.integers(0, 2, size=(c, c))  # sparse
            found.append(m.tolist())
        found.append(np.fliplr(np.eye(c, dtype=np.int64) * 5).tolist())  # every pivot swapped
        if c > 1:
            twice = rng.integers(-3, 4, size=(c, c))
            twice[-1] = 2 * twice[0]
            found.append(twice.tolist())  # singular
    return found


@pytest.mark.parametrize("p", [PRIMES[0].item(), PRIMES[-1].item(), *_SMALL_PRIMES])
def test_lu_solve_and_inverse_rows_modulo_a_prime_match_gauss_jordan_on_big_integers(p: int) -> None:
    """``_lu_mod`` refuses exactly the matrices singular modulo ``p``; otherwise
    ``_solve_mod`` gives ``B^-1 u`` and ``_inverse_row_mod`` the rows of ``B^-1``."""
    rng = np.random.default_rng(p)
    regular = singular = 0
    for matrix in _integer_matrices(p):
        c = len(matrix)
        expected = _inverse_mod(matrix, p)
        lu = np.array(matrix, dtype=np.int64) % p
        perm, diag = np.empty(c, dtype=np.int64), np.empty(c, dtype=np.int64)
        ok = bases._lu_mod(lu, perm, diag, np.int64(p))
        assert ok == (expected is not None), matrix
        if expected is None:
            singular += 1
            continue
        regular += 1
        assert sorted(perm.tolist()) == list(range(c))
        for _ in range(3):
            u = rng.integers(0, p, size=c)
            v = np.empty(c, dtype=np.int64)
            bases._solve_mod(lu, perm, diag, u, v, np.int64(p))
            want = [sum(expected[i][t] * int(u[t]) for t in range(c)) % p for i in range(c)]
            assert v.tolist() == want, (matrix, u.tolist())
        for r in range(c):
            y, work = np.empty(c, dtype=np.int64), np.empty(c, dtype=np.int64)
            bases._inverse_row_mod(lu, perm, diag, r, y, work, np.int64(p))
            assert y.tolist() == expected[r], (matrix, r)
    assert regular > 10 and singular > 5  # both outcomes were exercised


def test_the_float_inverse_matches_numpy_and_refuses_an_exactly_singular_matrix() -> None:
    rng = np.random.default_rng(5)
    for c in range(1, 8):
        for trial in range(6):
            m = rng.standard_normal((c, c))
            if trial % 2 and c > 1:
                m[np.arange(c), np.arange(c)] = 0.0  # every diagonal pivot zero: rows must swap
            if trial == 5:
                m = m[::-1].copy()
            inverse, work = np.empty((c, c)), np.empty((c, c))
            assert bases._invert(m, inverse, work), (c, trial)
            np.testing.assert_allclose(inverse @ m, np.eye(c), atol=1e-9)
            np.testing.assert_allclose(inverse, np.linalg.inv(m), rtol=1e-8, atol=1e-10)
    singular = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [4.0, 5.0, 6.0]])
    assert not bases._invert(singular, np.empty((3, 3)), np.empty((3, 3)))
    dependent = np.array([[1.0, 2.0], [2.0, 4.0]])  # the second pivot is exactly 0 after one step
    assert not bases._invert(dependent, np.empty((2, 2)), np.empty((2, 2)))


def test_the_table_of_seen_bases_finds_every_key_after_it_grows() -> None:
    """Keys go where ``_slot`` says; ``_rehashed`` doubles the table and keeps every key,
    each found again; a key never inserted lands on an empty slot."""
    rng = np.random.default_rng(11)
    keys = np.unique(rng.integers(0, 2**62, size=600, dtype=np.int64))
    table = np.full(8, -1, dtype=np.int64)
    inserted: list[int] = []
    for key in keys.tolist():
        if 2 * (len(inserted) + 1) > table.shape[0]:
            grown = bases._rehashed(table)
            assert grown.shape[0] == 2 * table.shape[0]
            assert sorted(grown[grown != -1].tolist()) == sorted(inserted)
            table = grown
        slot = bases._slot(table, np.int64(key))
        assert table[slot] == -1
        table[slot] = key
        inserted.append(key)
        for old in inserted[-5:]:
            assert table[bases._slot(table, np.int64(old))] == old
    for key in inserted:
        assert table[bases._slot(table, np.int64(key))] == key
    assert table[bases._slot(table, np.int64(2**62 + 1))] == -1


def test_the_seeded_queue_holds_the_all_slack_basis() -> None:
    bit = np.array([1 << v for v in range(7)], dtype=np.int64)
    queue, queue_rho, table = bases._seeded_queue(bit, 3)
    start = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6)
    assert queue[0] == start and queue_rho[0] == 1.0
    assert (table != -1).sum() == 1 and table[bases._slot(table, np.int64(start))] == start


def test_grown_queues_and_kept_arrays_double_and_keep_their_contents() -> None:
    queue, rho = np.arange(5, dtype=np.int64), np.linspace(0.0, 1.0, 5)
    grown_queue, grown_rho = bases._grown_queue(queue, rho)
    assert grown_queue.shape == (10,) and grown_rho.shape == (10,)
    assert grown_queue[:5].tolist() == queue.tolist() and grown_rho[:5].tolist() == rho.tolist()
    kept, kept_x, kept_err = np.arange(3, dtype=np.int64), np.arange(12.0).reshape(3, 4), np.ones(3)
    grown = bases._grown_kept(kept, kept_x, kept_err)
    assert [a.shape for a in grown] == [(6,), (6, 4), (6,)]
    assert grown[0][:3].tolist() == kept.tolist() and grown[1][:3].tolist() == kept_x.tolist()
    assert grown[2][:3].tolist() == kept_err.tolist()


def test_a_pivot_spills_only_past_its_margin() -> None:
    """``x - theta a`` leaves a bound when ``theta a_i - x_i`` exceeds the margin, in any
    component; at exactly the margin it does not."""
    last = np.array([[1.0, 2.0, 4.0], [0.5, 1.0, 2.5]])  # x, then the entering column
    # 2 a - x = (0, 0, 1): only the last component can spill
    assert not bases._spills(last, 1, 2.0, 1.0)
    assert bases._spills(last, 1, 2.0, 0.75)
    first = np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 2.0]])  # 2 a - x = (1, 0, 0)
    assert not bases._spills(first, 1, 2.0, 1.0)
    assert bases._spills(first, 1, 2.0, 0.75)
    assert not bases._spills(first, 1, 0.0, 0.0)  # no step: x itself is within bounds


def test_a_budget_runs_out_at_its_limit_and_refuses_brute_force_past_it() -> None:
    budget = bases.Budget(10)
    assert budget.allowance() == 10 and budget.expired() == ""
    budget.spend(9)
    assert budget.allowance() == 1 and budget.expired() == ""
    budget.spend(1)  # exactly the limit: allowed, and nothing is left
    assert budget.visited == 10 and budget.allowance() == 0 and budget.expired() == "max_visited"
    with pytest.raises(ProblemTooLargeError, match="visited over 10 bases"):
        budget.spend(1)
    clocked = bases.Budget(10**9, deadline=time.perf_counter() + 3600.0)
    assert clocked.allowance() == bases._CHUNK and clocked.expired() == ""
    clocked.visited = 10**9 - 5
    assert clocked.allowance() == 5
    late = bases.Budget(10**9, deadline=time.perf_counter())
    assert late.expired() == "time_limit"
    assert bases.Budget(0, deadline=time.perf_counter()).expired() == "max_visited"  # the count first


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_a_search_in_chunks_visits_and_counts_what_one_call_does(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """With a deadline the kernel runs ``_CHUNK`` bases at a time between looks at the
    clock: the bases found, the count of visits and the stop reason are those of one call."""
    rng = np.random.default_rng(chunk)
    mat = 0.1 + rng.random((5, 4))
    whole = bases.Budget(10**6)
    expected = bases.search_bases(mat, 1e-9, whole)
    monkeypatch.setattr(bases, "_CHUNK", chunk)
    chunked = bases.Budget(10**6, deadline=time.perf_counter() + 3600.0)
    found = bases.search_bases(mat, 1e-9, chunked)
    assert whole.visited > 3 * chunk
    assert chunked.visited == whole.visited and chunked.stopped == whole.stopped == ""
    assert found.basis.tolist() == expected.basis.tolist()
    np.testing.assert_array_equal(found.points, expected.points)
    short = bases.Budget(whole.visited - 2, deadline=time.perf_counter() + 3600.0)
    bases.search_bases(mat, 1e-9, short)
    assert short.visited == whole.visited - 2 and short.stopped == "max_visited"


@pytest.mark.parametrize("tol", [1e-3, 1e-2, 0.05, 0.2])
def test_with_a_wide_tolerance_no_infeasible_neighbour_is_visited(tol: float) -> None:
    """A pivot is followed when its new point is within ``tol`` (plus its error) of
    feasible, the test a visited basis then passes: on random nondegenerate polytopes the
    search visits the kept bases and the origin, nothing else. A wide tolerance brings
    pivots whose row of the minimum ratio is within it while another row is not, so the
    check of every row is needed, not only the cheap witness."""
    for m, n in [(3, 3), (5, 4), (4, 7), (6, 6)]:
        for seed in range(6):
            mat = positive_rescale(np.random.default_rng(seed).standard_normal((m, n)), 0.1)
            budget = bases.Budget(10**9)
            found = bases.search_bases(mat, tol, budget)
            assert budget.visited == len(found.basis) + 1, (m, n, seed)
            assert bool((found.points >= -tol).all())
