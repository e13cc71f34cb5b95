"""The labelled vertices of the two best-response polytopes.

Vertex enumeration (:mod:`.vertex_enumeration`) pairs a vertex ``x`` of
``P = {x >= 0 : B^T x <= 1}`` with a vertex ``y`` of ``Q = {y >= 0 : A y <= 1}`` when
their labels together cover every action (von Stengel 2002, sec. 3). Here the polytopes'
feasible bases (searched, :mod:`.bases`, or solved, :mod:`.square_systems`) become
vertices with their labels, each decision certified against its float error or settled in
rational arithmetic (:mod:`.rational_polytope`); :func:`matched_vertices` searches one
polytope and solves the other's complementary faces (:mod:`.complementary_faces`);
:mod:`.labelled_pairs` pairs them. Labels are global: the row player's actions
``0..m-1``, then the column player's.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.game import positive_rescale
>>> from equilibria.solver.normal_form.bases import Budget
>>> from equilibria.solver.normal_form.labelled_pairs import completely_labelled_pairs
>>> a = b = positive_rescale(np.eye(2), 0.1)  # the 2 x 2 coordination game
>>> px, qy, how = matched_vertices(b, a.T, 1e-9, Budget(1000))
>>> how
": the row player's searched, 3 complementary faces of the column player's solved"
>>> [(px.points[i] / px.points[i].sum()).tolist() for i, j in completely_labelled_pairs(px.labels, qy.labels, 2)]
[[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]

References
----------
.. [1] B. von Stengel, "Computing equilibria for two-person games", Handbook of Game
   Theory with Economic Applications, vol. 3, ch. 45 (2002).
.. [2] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import BoolArray, FloatArray, IntArray
from equilibria.solver.normal_form import complementary_faces, rational_polytope
from equilibria.solver.normal_form.bases import BasisBlock, Budget, search_bases, use_search
from equilibria.solver.normal_form.labelled_pairs import MAX_BITMASK_LABELS, label_bitmasks
from equilibria.solver.normal_form.lexicographic import Residues
from equilibria.solver.normal_form.rational_polytope import RationalPolytope
from equilibria.solver.normal_form.square_systems import brute_force_bases

__all__ = [
    "Vertices",
    "first_of_each_label_set",
    "label_classes",
    "labelled",
    "matched_vertices",
    "search_vertices",
    "tightness",
]

_EPS = float(np.finfo(np.float64).eps)


@dataclasses.dataclass(frozen=True)
class Vertices:
    """Distinct non-zero vertices of one best-response polytope."""

    points: FloatArray  # (k, d), unnormalised
    labels: BoolArray  # (k, m + n), global label order
    ambiguous: bool  # some decision was within float error of its threshold
    # Exact points by vertex index (exact mode): every vertex (exact search) or those in equilibria.
    exact: Sequence[tuple[Fraction, ...]] | Mapping[int, tuple[Fraction, ...]] | None = None
    stopped: str = ""  # why the search stopped before the end ("max_visited", "time_limit"), or ""
    basis: BoolArray | None = None  # (k, d + c): one feasible basis of each vertex (float search)
    # Integer search, exact mode: ``exact`` holds normalised strategies, and this the
    # opponent's exact payoff at every equilibrium using the vertex (by vertex index).
    exact_payoff: Mapping[int, Fraction] | None = None


def matched_vertices(
    mat_p: FloatArray,
    mat_q: FloatArray,
    tol: float,
    budget: Budget,
    *,
    distinct: bool = True,
    residues: tuple[Residues | None, Residues | None] = (None, None),
    exact: tuple[RationalPolytope | None, RationalPolytope | None] = (None, None),
) -> tuple[Vertices, Vertices, str]:
    """The vertices of P and Q that equilibria can pair, and how they were matched.

    The polytope of the player with fewer actions is searched; each of its vertices ``v``
    with exactly as many labels as coordinates (a nondegenerate vertex) can pair only with
    the point of the other polytope that has every label ``v`` lacks: a square system
    (the complementary face, as lrsnash solves it; Avis et al. 2010), solved afresh with
    certified decisions (:func:`solve_bases`). When some vertex is degenerate, a face is
    singular (not a single point) or a decision is within its error, the other polytope
    is searched completely instead (and the description is empty). ``residues`` (of P's
    and Q's integer matrices, or None) let the searches pivot lexicographically
    (:func:`search_bases`); ``exact`` (P and Q read exactly, or None) decides the bases whose
    floats cannot be decided (:mod:`.rational_polytope`).
    """
    m, n = mat_p.shape
    p_first = m <= n
    first, other = (mat_p, mat_q) if p_first else (mat_q, mat_p)
    lex_first, lex_other = residues if p_first else residues[::-1]
    exact_first, exact_other = exact if p_first else exact[::-1]
    (found,) = search_vertices(
        [first],
        tol,
        coordinate_labels_first=[p_first],
        budget=budget,
        distinct=distinct,
        residues=[lex_first],
        exact=[exact_first],
    )
    partners = None
    if not found.ambiguous:
        partners = _face_partners(
            found, other, tol, m, other_is_p=not p_first, distinct=distinct, exact=exact_other
        )
    matched = ""
    if partners is None:
        (partners,) = search_vertices(
            [other],
            tol,
            coordinate_labels_first=[not p_first],
            budget=budget,
            distinct=distinct,
            residues=[lex_other],
            exact=[exact_other],
        )
    else:
        partners, faces = partners
        searched, solved = ("row", "column") if p_first else ("column", "row")
        matched = f": the {searched} player's searched, {faces:,} complementary faces of the {solved} player's solved"
    return (found, partners, matched) if p_first else (partners, found, matched)


def _face_partners(
    found: Vertices,
    mat: FloatArray,
    tol: float,
    m: int,
    *,
    other_is_p: bool,
    distinct: bool = True,
    exact: RationalPolytope | None = None,
) -> tuple[Vertices, int] | None:
    """The points of the polytope ``{z >= 0 : mat^T z <= 1}`` complementary to each vertex
    found, labelled, with the number of systems solved
    (:func:`.complementary_faces.face_bases`); None when the faces cannot pair the vertices
    found or a label of a partner is within its error (the other polytope is then searched).
    """
    solved = complementary_faces.face_bases(found.labels, mat, tol, m, other_is_p=other_is_p, exact=exact)
    if solved is None:
        return None
    blocks, systems = solved
    partners = labelled(mat, blocks, tol, coordinate_labels_first=other_is_p, distinct=distinct, exact=exact)
    if partners.ambiguous:  # a label's decision
        return None
    return partners, systems


def search_vertices(
    mats: list[FloatArray],
    tol: float,
    *,
    coordinate_labels_first: list[bool],
    budget: Budget,
    method: str = "auto",
    distinct: bool = True,
    residues: list[Residues | None] | None = None,
    exact: list[RationalPolytope | None] | None = None,
) -> list[Vertices]:
    """Distinct non-zero vertices of each polytope ``{z >= 0 : mat^T z <= 1}`` with their labels.

    Each ``mat`` has shape ``(d, c)``: ``d`` coordinates, ``c`` constraints. The polytope is
    bounded because ``mat > 0``. Labels are ordered coordinates-then-constraints
    (polytope P) or constraints-then-coordinates (polytope Q).
    ``method`` is ``"search"``, ``"brute_force"`` or ``"auto"`` (:func:`use_search`);
    ``residues[k]`` lets the search of ``mats[k]`` pivot lexicographically; ``exact[k]``
    (``mats[k]`` read exactly) decides the labels the floats cannot (:func:`labelled`).
    """
    found: list[list[BasisBlock]] = [[] for _ in mats]
    for k, mat in enumerate(mats):
        d, c = mat.shape
        if method == "brute_force" or (method == "auto" and not use_search(d, c)):
            found[k].extend(brute_force_bases(mat, tol, budget))
            continue
        found[k].append(search_bases(mat, tol, budget, residues[k] if residues else None))
    return [
        labelled(mat, blocks, tol, coordinate_labels_first=first, distinct=distinct, exact=polytope)
        for mat, blocks, first, polytope in zip(
            mats, found, coordinate_labels_first, exact or [None] * len(mats), strict=True
        )
    ]


def labelled(
    mat: FloatArray,
    found: list[BasisBlock],
    tol: float,
    *,
    coordinate_labels_first: bool,
    distinct: bool = True,
    exact: RationalPolytope | None = None,
) -> Vertices:
    """The labels of the feasible bases of one polytope, one vertex per label set (with one of its bases).

    ``distinct=False`` keeps every feasible basis as its own row (exact mode: bases whose
    float labels agree within ``tol`` can be distinct exact vertices). A basis with a label
    within its error of the tolerance is solved in rational arithmetic with ``exact`` (the
    same polytope read exactly), up to :data:`.rational_polytope.MAX_DECIDED` of them; else
    (or without ``exact``) the result is ambiguous.
    """
    d, c = mat.shape
    ambiguous = any(block.ambiguous for block in found)
    points = np.concatenate([np.zeros((0, d))] + [block.points for block in found])
    basis = np.concatenate([np.zeros((0, d + c), dtype=bool)] + [block.basis for block in found])
    err = np.concatenate([np.zeros(0)] + [block.error for block in found])
    tight, doubt = tightness(mat, points, basis, err, tol)
    if doubt.any() and not ambiguous and exact is not None and doubt.sum() <= rational_polytope.MAX_DECIDED:
        # A basic value within its error of the tolerance: those bases solved exactly.
        rows = np.flatnonzero(doubt)
        decided = exact.decide(
            [np.flatnonzero(basis[k, :d]) for k in rows], [np.flatnonzero(basis[k, d:]) for k in rows], tol
        )
        if len(decided.points) == len(rows):  # each regular and feasible, as the search found it
            points, err = points.copy(), err.copy()
            points[rows], err[rows] = decided.points, decided.error
            tight, doubt = tightness(mat, points, basis, err, tol)
    ambiguous |= bool(doubt.any())
    points = np.where(tight[:, :d], 0.0, points)
    labels = tight if coordinate_labels_first else np.hstack([tight[:, d:], tight[:, :d]])
    first = first_of_each_label_set(labels) if distinct else np.arange(len(labels))
    stopped = next((block.stopped for block in found if block.stopped), "")
    return Vertices(points[first], labels[first], ambiguous, stopped=stopped, basis=basis[first])


def tightness(
    mat: FloatArray, points: FloatArray, basis: BoolArray, err: FloatArray, tol: float
) -> tuple[BoolArray, BoolArray]:
    """Which coordinates, then constraints, of each basis's point are tight (within ``tol``)
    and which bases have one of those decisions within its error.

    A coordinate outside the basis is 0 and a constraint whose slack is outside it is
    tight, exactly; only the basic values are decided by their floats.
    """
    d = mat.shape[0]
    slack = 1.0 - points @ mat  # (k, c)
    # The slacks' error: the points' (through |mat|) plus the rounding of the product.
    slack_err = err[:, None] * np.abs(mat).sum(axis=0) + (d + 1) * _EPS * (1.0 + np.abs(points) @ np.abs(mat))
    tight = np.hstack([points <= tol, basis[:, d:] | (np.abs(slack) <= tol)])
    doubt = (basis[:, :d] & (np.abs(np.abs(points) - tol) <= err[:, None])).any(axis=1)
    doubt |= (~basis[:, d:] & (np.abs(np.abs(slack) - tol) <= slack_err)).any(axis=1)
    return tight, doubt


def first_of_each_label_set(labels: BoolArray) -> IntArray:
    """The index of the first row with each distinct label set (one vertex per label set)."""
    _, first = np.unique(_label_keys(labels), return_index=True)
    return first


def label_classes(labels: BoolArray) -> tuple[BoolArray, IntArray]:
    """The distinct rows of ``labels`` and the index of each row's among them."""
    _, first, inverse = np.unique(_label_keys(labels), return_index=True, return_inverse=True)
    return labels[first], inverse.reshape(-1)


def _label_keys(labels: BoolArray) -> npt.NDArray[Any]:
    """One key per row of labels, ordered as the rows are lexicographically (label 0 first):
    an int64 bitmask with label 0 as its highest bit up to
    :data:`.labelled_pairs.MAX_BITMASK_LABELS` labels (sorting integers is fast), else the
    packed bytes."""
    if labels.shape[1] <= MAX_BITMASK_LABELS:
        return label_bitmasks(labels[:, ::-1])
    keys = np.packbits(labels, axis=1)
    return keys.view(f"V{keys.shape[1]}").ravel()
