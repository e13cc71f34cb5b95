"""The completely labelled pairs (solver/normal_form/labelled_pairs.py) against a plain oracle.

The oracle is the definition checked pair by pair in Python: ``(i, j)`` is completely
labelled when ``labels_x[i] | labels_y[j]`` is every label. The label sets drawn are the
kind vertex enumeration meets: a vertex of P has at least ``m`` labels, one of Q at least
``n``, most exactly that many, some with an excess of 1 to 6 (degenerate vertices), with
repeated rows (exact mode keeps every basis), and with partners planted so that every class
``(g, h)`` of excesses has pairs to find.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from equilibria.solver.normal_form import labelled_pairs
from equilibria.solver.normal_form.labelled_pairs import completely_labelled_pairs


def _oracle(labels_x: np.ndarray, labels_y: np.ndarray) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i, j in itertools.product(range(len(labels_x)), range(len(labels_y)))
        if bool((labels_x[i] | labels_y[j]).all())
    ]


def _vertices(rng: np.random.Generator, count: int, dim: int, total: int) -> np.ndarray:
    """``count`` label sets of ``dim + excess`` labels out of ``total``, excess mostly 0."""
    excess = rng.choice([0, 0, 0, 1, 1, 2, 3, 6], size=count)
    rows = np.zeros((count, total), dtype=bool)
    for k, e in enumerate(excess):
        rows[k, rng.choice(total, size=min(total, dim + int(e)), replace=False)] = True
    return rows


def _planted(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of P and Q with partners planted: for some x, a y holding the labels x
    lacks plus a few of x's own (so every class of excesses has pairs), and repeated rows."""
    total = m + n
    x = _vertices(rng, 40, m, total)
    y = _vertices(rng, 30, n, total)
    partners = []
    for i in rng.choice(len(x), size=15, replace=False):
        own = np.flatnonzero(x[i])
        extra = rng.choice(own, size=int(rng.integers(0, min(4, len(own)) + 1)), replace=False)
        row = ~x[i]
        row[extra] = True
        if row.sum() >= n:
            partners.append(row)
    y = np.vstack([y, *partners, y[:3]])  # repeated rows: each pairs on its own
    x = np.vstack([x, x[:2]])
    return x, y


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("lookup_cost", [0, 16, 10**9], ids=["always-look-up", "measured", "always-check"])
def test_the_pairs_are_the_definitions(seed: int, lookup_cost: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever way each class of excesses is paired (looked up from either side, or
    every pair checked), the pairs are exactly those whose labels cover every label."""
    rng = np.random.default_rng([2301, seed])
    m, n = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    x, y = _planted(rng, m, n)
    want = _oracle(x, y)
    assert want  # the planted partners pair
    monkeypatch.setattr(labelled_pairs, "LOOKUP_COST", lookup_cost)
    assert completely_labelled_pairs(x, y, m) == want
    assert completely_labelled_pairs(y, x, n) == sorted((j, i) for i, j in want)


@pytest.mark.parametrize("block_entries", [1, 5, 1 << 22])
def test_the_lookups_do_not_depend_on_the_block_size(
    block_entries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidates are built in blocks of rows; any block size finds the same pairs."""
    rng = np.random.default_rng([2302, block_entries])
    x, y = _planted(rng, 6, 5)
    monkeypatch.setattr(labelled_pairs, "LOOKUP_COST", 0)
    monkeypatch.setattr(labelled_pairs, "BLOCK_ENTRIES", block_entries)
    assert completely_labelled_pairs(x, y, 6) == _oracle(x, y)


@pytest.mark.parametrize("lookup_cost", [0, 10**9], ids=["always-look-up", "always-check"])
def test_a_vertex_short_of_labels_or_with_none_to_spare_pairs_by_the_definition(
    lookup_cost: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows with fewer labels than the dimension (never a vertex, but the pairing must not
    assume otherwise) and pairs whose labels together are too few never pair; a vertex
    with every label pairs with everything."""
    x = np.array([[True, False, False, False], [True, True, True, True], [True, True, False, False]])
    y = np.array([[False, False, True, True], [False, False, False, True], [True, False, True, True]])
    monkeypatch.setattr(labelled_pairs, "LOOKUP_COST", lookup_cost)
    assert completely_labelled_pairs(x, y, 2) == _oracle(x, y) == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 2)]


@pytest.mark.parametrize("labels", [61, 62, 63, 64])
def test_past_62_labels_every_pair_is_checked_to_the_same_definition(
    labels: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to MAX_BITMASK_LABELS labels the label sets are int64 bitmasks (the classes
    planned); past it every pair is checked on packed bytes. The same pairs either way."""
    rng = np.random.default_rng([2303, labels])
    x, y = _planted(rng, labels // 2, labels - labels // 2)
    planned = []
    plan = labelled_pairs._plan
    monkeypatch.setattr(labelled_pairs, "_plan", lambda *args: planned.append(args) or plan(*args))
    assert completely_labelled_pairs(x, y, labels // 2) == _oracle(x, y)
    assert bool(planned) == (labels <= labelled_pairs.MAX_BITMASK_LABELS)


@pytest.mark.parametrize(
    ("counts", "sizes", "k", "how"),
    [
        ((1000, 1000), (18, 18), 0, "x"),  # the join: one lookup per vertex, x's side on a tie
        ((1000, 10), (19, 18), 1, "y"),  # 10 x 18 candidates beat 1000 x 19 and 10,000 checks
        ((10, 1000), (18, 19), 1, "x"),
        ((5, 5), (20, 20), 3, "check"),  # 25 checks against 5 x 1140 candidates
        ((16, 1), (18, 18), 0, "check"),  # 16 checks cost as much as 1 candidate: checked
        ((17, 1), (18, 18), 0, "y"),
        ((1, 1), (18, 18), 19, "x"),  # no 19-subset of 18 labels: nothing to look up, no pair
    ],
)
def test_each_class_is_paired_the_cheapest_way(
    counts: tuple[int, int], sizes: tuple[int, int], k: int, how: str
) -> None:
    """Checking costs one unit per pair, looking up LOOKUP_COST per candidate."""
    assert labelled_pairs.LOOKUP_COST == 16
    assert labelled_pairs._plan(*counts, *sizes, k) == how


def test_no_vertices_no_pairs() -> None:
    empty = np.zeros((0, 5), dtype=bool)
    some = np.ones((3, 5), dtype=bool)
    assert completely_labelled_pairs(empty, some, 2) == completely_labelled_pairs(some, empty, 2) == []
