"""Lemke-Howson's compiled building blocks, each against an independent oracle (issue 23).

The path follower's end-to-end tests reach its helpers only through whole games, where a
slightly wrong tie-break or sum still lands on some equilibrium. Here each helper is held to
its definition: numpy's own ``sum`` for the pairwise sum (bit for bit), a Gauss-Jordan pivot
of the full tableau in exact rationals for the compact pivot, and an exact lexicographic
minimum-ratio test in rationals for the tie-breaking row choice.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import InvalidOptionError, NormalFormGame
from equilibria.solver.normal_form import lemke_howson as lh


@pytest.mark.parametrize("seed", range(3))
def test_the_pairwise_sum_has_numpys_bits_at_every_length(seed: int) -> None:
    """Lengths 0 to 1,100 cover blocks under 8, the 8 accumulators and their tail, one
    split past 128 and nested splits (numpy rounds each half's length down to a multiple
    of 8). Values of mixed signs and magnitudes make every order give other bits."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(1100) * 10.0 ** rng.integers(-8, 9, size=1100)
    differ = 0
    for size in range(1101):
        part = values[:size].copy()
        got = lh._numpy_sum(part)
        assert got == part.sum(), size
        differ += got != float(sum(sorted(part.tolist())))
    assert differ > 100  # the order matters on these values: the test can tell orders apart
    for start, count in [(0, 0), (3, 5), (0, 8), (5, 9), (7, 17), (100, 128)]:
        assert lh._block_sum(values, start, count) == values[start : start + count].sum(), (start, count)


def test_the_rescale_bounds_are_the_minimum_and_half_the_range() -> None:
    for matrix in (np.array([[3.0, -1.0], [2.0, 5.0]]), np.full((2, 3), 7.0), np.array([[-1e308, 1.7e308]])):
        low, half = lh._rescale_bounds(matrix)
        assert low == matrix.min()
        assert half == matrix.max() / 2.0 - matrix.min() / 2.0
        assert np.isfinite(half)


def test_attempts_drop_the_first_label_then_the_others_in_order() -> None:
    assert [lh._label_of_attempt(a, 0) for a in range(5)] == [0, 1, 2, 3, 4]
    assert [lh._label_of_attempt(a, 2) for a in range(5)] == [2, 0, 1, 3, 4]
    assert [lh._label_of_attempt(a, 4) for a in range(5)] == [4, 0, 1, 2, 3]


def _full_tableau(tab: np.ndarray, basis: list[int], column_of: list[int]) -> dict[int, list[Fraction]]:
    """Variable -> its column of the full tableau (unit vectors for the basic ones), plus
    key -1 for the right-hand side."""
    rows, width = tab.shape
    full = {-1: [Fraction(tab[i, width - 1]) for i in range(rows)]}
    for v, col in enumerate(column_of):
        if col >= 0:
            full[v] = [Fraction(tab[i, col]) for i in range(rows)]
        else:
            full[v] = [Fraction(int(basis[i] == v)) for i in range(rows)]
    return full


def _random_state(
    rng: np.random.Generator, rows: int, nonbasic: int
) -> tuple[np.ndarray, list[int], list[int]]:
    """A compact tableau of small integers (many ties) and a consistent basis: variables
    ``0 .. rows + nonbasic - 1``, ``rows`` of them basic."""
    variables = rows + nonbasic
    order = rng.permutation(variables).tolist()
    basis, nonbasic_vars = order[:rows], order[rows:]
    column_of = [-1] * variables
    for col, v in enumerate(nonbasic_vars):
        column_of[v] = col
    tab = rng.choice([-1.0, 0.0, 1.0, 2.0, 3.0], size=(rows, nonbasic + 1))
    tab[:, -1] = rng.choice([0.0, 1.0, 2.0], size=rows)  # right-hand sides with ties
    return tab, basis, column_of


def test_the_compact_pivot_is_a_gauss_jordan_pivot_of_the_full_tableau() -> None:
    """After pivoting on (row, col) the compact tableau holds, for every nonbasic variable
    (the leaving one now in column ``col``), its column of the full tableau pivoted in exact
    rationals."""
    rng = np.random.default_rng(2)
    for _ in range(300):
        rows, nonbasic = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        tab, basis, column_of = _random_state(rng, rows, nonbasic)
        col = int(rng.integers(0, nonbasic))
        pivots = [i for i in range(rows) if tab[i, col] != 0.0]
        if not pivots:
            continue
        row = int(rng.choice(pivots))
        full = _full_tableau(tab, basis, column_of)
        entering = column_of.index(col)
        pivot = full[entering][row]
        after = {}
        for v, column in full.items():
            head = column[row] / pivot
            after[v] = [head if i == row else column[i] - full[entering][i] * head for i in range(rows)]
        leaving = basis[row]
        work = tab.copy()
        lh._pivot(work, row, col, np.empty(nonbasic + 2))
        basis[row], column_of[entering], column_of[leaving] = entering, -1, col
        for v, c in enumerate([*column_of]):
            if c >= 0:
                np.testing.assert_allclose(work[:, c], [float(x) for x in after[v]], rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(work[:, -1], [float(x) for x in after[-1]], rtol=1e-14, atol=1e-14)
        assert [float(x) for x in after[entering]] == [float(i == row) for i in range(rows)]


def _lex_row(tab: np.ndarray, col: int, basis: list[int], column_of: list[int], slacks: range) -> int:
    """The lexicographic minimum-ratio row in exact rationals: among rows with a positive
    entry in ``col``, the least key ``(rhs_i, column_i of each slack) / entry_i``; the first
    such row when keys tie completely; -1 when no entry is positive."""
    full = _full_tableau(tab, basis, column_of)
    keys = [-1, *slacks]
    candidates = [i for i in range(tab.shape[0]) if tab[i, col] > 0]
    if not candidates:
        return -1
    return min(candidates, key=lambda i: ([full[k][i] / Fraction(tab[i, col]) for k in keys], i))


@pytest.mark.parametrize("slacks_first", [True, False])
def test_the_ratio_test_picks_the_exact_lexicographic_minimum(slacks_first: bool) -> None:
    """Small-integer tableaux tie often on the right-hand side and on several slack columns;
    the row chosen is the exact lexicographic minimum (ties of distinct small fractions are
    far beyond ``eps``)."""
    rng = np.random.default_rng(7 if slacks_first else 8)
    cases = ties = 0
    for _ in range(600):
        rows, nonbasic = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        tab, basis, column_of = _random_state(rng, rows, nonbasic)
        col = int(rng.integers(0, nonbasic))
        slack_start = 0 if slacks_first else nonbasic
        slacks = range(slack_start, slack_start + rows)
        want = _lex_row(tab, col, basis, column_of, slacks)
        got = lh._lex_min_ratio_row(
            tab,
            col,
            np.array(basis, dtype=np.int64),
            np.array(column_of, dtype=np.int64),
            slack_start,
            rows,
            1e-9,
            np.empty(rows, dtype=np.int64),
            np.empty(rows),
        )
        assert got == want, (tab.tolist(), col, basis, column_of, slack_start)
        cases += want >= 0
        positive = tab[:, col] > 0
        ratios = tab[positive, -1] / tab[positive, col]
        ties += positive.sum() > 1 and (ratios == ratios.min()).sum() > 1
    assert cases > 400 and ties > 100  # both the unique minimum and the tie-breaking ran


def test_the_ratio_test_ignores_entries_at_or_below_eps() -> None:
    tab = np.array([[1e-9, 0.0], [2.0, 4.0], [1e-9 * (1 + 1e-6), 1e-9]])
    basis = np.array([0, 1, 2], dtype=np.int64)
    column_of = np.array([-1, -1, -1, 0], dtype=np.int64)
    args = (basis, column_of, 0, 3, 1e-9, np.empty(3, dtype=np.int64), np.empty(3))
    assert lh._lex_min_ratio_row(tab, 0, *args) == 2  # ratio ~1 beats 2; row 0's ratio 0 is out
    assert lh._lex_min_ratio_row(np.array([[1e-9, 1.0], [-1.0, 1.0]]), 0, *args) == -1


@pytest.mark.parametrize("size", [1e-3, 1.0, 1e3, 1e9])
def test_ratios_tie_within_eps_relative_to_their_size(size: float) -> None:
    """Ratios within ``eps * max(1, |min|)`` of the minimum tie (at exactly that distance
    too), and the next key decides (here: row 0, whose slack column is 0 where row 1's is
    1); twice that apart they do not, and the smaller ratio wins."""
    eps = 1e-9
    bound = eps * max(1.0, size)
    basis = np.array([1, 0], dtype=np.int64)  # slack 1 basic in row 0, slack 0 in row 1
    column_of = np.array([-1, -1, 0], dtype=np.int64)
    args = (basis, column_of, 0, 2, eps, np.empty(2, dtype=np.int64), np.empty(2))
    tied = np.array([[1.0, size + 0.5 * bound], [1.0, size]])
    assert lh._lex_min_ratio_row(tied, 0, *args) == 0
    at = np.array([[1.0, size + bound], [1.0, size]])  # the kernel's own bound, to the bit
    assert lh._lex_min_ratio_row(at, 0, *args) == 0
    apart = np.array([[1.0, size + 2.0 * bound], [1.0, size]])
    assert lh._lex_min_ratio_row(apart, 0, *args) == 1


@pytest.mark.parametrize("label", [-1, 5])
def test_a_label_outside_the_games_actions_is_refused(label: int) -> None:
    game = NormalFormGame.from_bimatrix(
        [[3.0, 0.0, 1.0], [0.0, 2.0, 1.0]], [[2.0, 0.0, 1.0], [0.0, 3.0, 1.0]]
    )
    assert lh.lemke_howson(game, init_label=4).equilibria  # labels 0 .. m + n - 1 = 4
    with pytest.raises(InvalidOptionError, match=r"init_label must be in range\(5\)") as info:
        lh.lemke_howson(game, init_label=label)
    assert info.value.field == "init_label"


@pytest.mark.parametrize("on_p", [True, False])
def test_an_entering_column_without_a_positive_entry_is_an_unbounded_ray(on_p: bool) -> None:
    """The path stops at once with 0 pivots (an unbounded ray, not an end point) when the
    entering variable's column has no entry above ``eps``: in ``P`` for a row label, in
    ``Q`` for a column label. Positive rescaling never builds such tableaux; round-off in a
    degenerate game could, and the caller then tries the next label."""
    m, n = 2, 3
    tab_p = np.ones((n, m + 1))  # B'^T x + s = 1: x nonbasic in columns 0..m-1, rhs last
    tab_q = np.ones((m, n + 1))  # r + A' y = 1: y nonbasic in columns 0..n-1, rhs last
    if on_p:
        tab_p[:, 0] = [0.0, -1.0, 1e-17]  # x_0's column: nothing above eps
        label = 0
    else:
        tab_q[:, 1] = [-2.0, 0.0]  # y_1's column
        label = m + 1
    basis_p, basis_q = np.arange(m, m + n), np.arange(m)
    column_p = np.full(m + n, -1)
    column_p[:m] = np.arange(m)
    column_q = np.full(m + n, -1)
    column_q[m:] = np.arange(n)
    before = tab_p.copy(), tab_q.copy()
    pivots = lh._follow(tab_p, tab_q, basis_p, basis_q, column_p, column_q, label, 100, lh._PIVOT_EPS)
    assert pivots == 0
    # Nothing pivoted: the tableaux and bases are as given.
    assert np.array_equal(tab_p, before[0]) and np.array_equal(tab_q, before[1])
    assert basis_p.tolist() == [2, 3, 4] and basis_q.tolist() == [0, 1]
