"""Which vertex pairs of the two best-response polytopes are equilibria: the completely labelled ones.

A vertex ``x`` of ``P`` (``m`` coordinates) has ``m + g`` labels ``L_x``, ``g >= 0`` its
excess (a degenerate vertex's ties), and a vertex ``y`` of ``Q`` has ``n + h``. The pair is
an extreme equilibrium when ``L_x`` and ``L_y`` cover every label (von Stengel 2002,
Theorem 2.14), that is when ``L_y`` contains ``M_x``, the ``n - g`` labels ``x`` lacks.
Then ``L_y = M_x + S`` with ``S = L_y & L_x``, ``g + h`` of ``x``'s own labels, one ``S``
for each partner: so ``x``'s partners of excess ``h`` are found by looking up ``M_x + S``,
for every ``(g + h)``-subset ``S`` of ``L_x``, among the label sets of ``Q``'s vertices of
excess ``h`` (or the same from ``y``'s side). For non-degenerate vertices (``g = h = 0``)
that is one lookup each, the sort-merge join of complementary label sets; for each class
``(g, h)`` the cheapest of looking up from ``x``'s side, from ``y``'s side or checking every
pair (one AND of two bitmasks each) is taken. A degenerate game has thousands of degenerate
vertices: checking each against every vertex of the other polytope cost a {0, 1, 2}
18 x 18 game 5 s of its 10.

Examples
--------
>>> import numpy as np
>>> x = np.array([[True, False, False, True], [True, True, True, False]])  # labels 0, 3; 0, 1, 2
>>> y = np.array([[False, True, True, False], [False, False, True, True]])  # labels 1, 2; 2, 3
>>> completely_labelled_pairs(x, y, 2)  # 0 with 0 (complementary), 1 with 1 (x degenerate)
[(0, 0), (1, 1)]

References
----------
.. [1] B. von Stengel, "Computing equilibria for two-person games", Handbook of Game
   Theory with Economic Applications, vol. 3, ch. 45 (2002).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import BoolArray, IntArray
from equilibria.solver.normal_form.bases import BLOCK_ENTRIES

__all__ = ["MAX_BITMASK_LABELS", "completely_labelled_pairs", "label_bitmasks"]

#: Label sets up to this many labels are int64 bitmasks (one AND per pair checked);
#: past it every pair is checked on packed bytes.
MAX_BITMASK_LABELS = 62
#: Pairs checked directly (one AND of bitmasks each, in numpy) that cost about as much as one
#: candidate label set built and looked up: the exchange rate of :func:`_plan`.
LOOKUP_COST = 16


def completely_labelled_pairs(labels_x: BoolArray, labels_y: BoolArray, m: int) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` whose labels together cover every label, in lexicographic order.

    Parameters
    ----------
    labels_x, labels_y : ndarray of bool, shape (k, m + n)
        The vertices of ``P`` and of ``Q`` by their global labels.
    m : int
        ``P``'s dimension, the row player's number of actions.
    """
    n = labels_x.shape[1] - m
    if m + n > MAX_BITMASK_LABELS:  # past int64 bitmasks: every pair checked (brute-force-sized games)
        every_x, every_y = np.arange(len(labels_x)), np.arange(len(labels_y))
        return sorted(
            _covering(np.packbits(~labels_x, axis=1), np.packbits(~labels_y, axis=1), every_x, every_y)
        )
    sets_x, sets_y = label_bitmasks(labels_x), label_bitmasks(labels_y)
    missing_x, missing_y = label_bitmasks(~labels_x), label_bitmasks(~labels_y)
    excess_x, excess_y = labels_x.sum(axis=1) - m, labels_y.sum(axis=1) - n
    pairs: list[tuple[int, int]] = []
    for g in np.unique(excess_x).tolist():
        ix = np.flatnonzero(excess_x == g)
        for h in np.unique(excess_y).tolist():
            iy = np.flatnonzero(excess_y == h)
            k = g + h  # |S|: labels of one in the other's
            if k < 0:  # fewer labels together than there are
                continue
            how = _plan(len(ix), len(iy), m + g, n + h, k)
            if how == "check":
                pairs += _covering(missing_x[ix], missing_y[iy], ix, iy)
            elif how == "x":
                pairs += _looked_up(labels_x[ix], missing_x[ix], sets_y[iy], k, ix, iy)
            else:
                pairs += [(i, j) for j, i in _looked_up(labels_y[iy], missing_y[iy], sets_x[ix], k, iy, ix)]
    return sorted(pairs)


def label_bitmasks(labels: BoolArray) -> IntArray:
    """Each row of at most :data:`MAX_BITMASK_LABELS` labels as an int64 whose bit ``t`` is
    label ``t``.

    Examples
    --------
    >>> label_bitmasks(np.array([[True, False, True], [False, False, False]])).tolist()
    [5, 0]
    """
    packed = np.packbits(labels, axis=1, bitorder="little")
    padded = np.zeros((len(labels), 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<i8").reshape(len(labels)).astype(np.int64)


def _plan(count_x: int, count_y: int, size_x: int, size_y: int, k: int) -> str:
    """How to pair ``count_x`` vertices of ``size_x`` labels with ``count_y`` of ``size_y``
    that share ``k``: ``"check"`` every pair, or look up from ``"x"``'s or ``"y"``'s side
    (``C(size, k)`` candidates per vertex), whichever costs least.

    Examples
    --------
    >>> _plan(1000, 1000, 18, 18, 0), _plan(1000, 10, 19, 18, 1), _plan(5, 5, 20, 20, 3)
    ('x', 'y', 'check')
    """
    from_x, from_y = count_x * math.comb(size_x, k), count_y * math.comb(size_y, k)
    if count_x * count_y <= LOOKUP_COST * min(from_x, from_y):
        return "check"
    return "x" if from_x <= from_y else "y"


def _looked_up(
    labels: BoolArray, missing: IntArray, other: IntArray, k: int, ia: IntArray, ib: IntArray
) -> list[tuple[int, int]]:
    """Pairs ``(a, b)`` with ``other[b]`` the labels ``a`` lacks (``missing[a]``) plus ``k``
    of its own (``labels[a]``: rows with one number of labels, at least one row; indices
    mapped through ``ia``, ``ib``)."""
    width = int(labels[0].sum())
    combos = np.array(list(itertools.combinations(range(width), k)), dtype=np.intp).reshape(
        math.comb(width, k), k
    )
    bits = np.left_shift(np.int64(1), np.nonzero(labels)[1].reshape(len(labels), width).astype(np.int64))
    order = np.argsort(other, kind="stable")
    ordered = other[order]
    pairs: list[tuple[int, int]] = []
    rows = max(1, BLOCK_ENTRIES // (len(combos) * max(k, 1)))
    for start in range(0, len(missing), rows):
        wanted = (
            missing[start : start + rows, None] | bits[start : start + rows][:, combos].sum(axis=2)
        ).ravel()
        low = np.searchsorted(ordered, wanted, side="left")
        count = np.searchsorted(ordered, wanted, side="right") - low
        hit = np.flatnonzero(count)
        count = count[hit]
        at = np.repeat(low[hit] - np.cumsum(count) + count, count) + np.arange(count.sum())
        a = np.repeat(hit // len(combos), count) + start
        pairs.extend(zip(ia[a].tolist(), ib[order[at]].tolist(), strict=True))
    return pairs


def _covering(
    missing_x: npt.NDArray[Any], missing_y: npt.NDArray[Any], ix: IntArray, iy: IntArray
) -> list[tuple[int, int]]:
    """Pairs of rows whose missing labels are disjoint, every pair checked (blocked): the
    missing labels as int64 bitmasks (one per row) or packed bytes (a row each)."""
    pairs: list[tuple[int, int]] = []
    rows = max(1, BLOCK_ENTRIES // max(1, missing_y.size))
    for start in range(0, len(missing_x), rows):
        clash = missing_x[start : start + rows, None] & missing_y[None]
        clash = clash != 0 if clash.ndim == 2 else clash.any(axis=2)
        px, py = np.nonzero(~clash)
        pairs.extend(zip(ix[px + start].tolist(), iy[py].tolist(), strict=True))
    return pairs
