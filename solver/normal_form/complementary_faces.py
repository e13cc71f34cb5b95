"""The partners of the vertices found: the vertices of their complementary faces.

Vertex enumeration searches one best-response polytope and, as lrsnash does (Avis,
Rosenberg, Savani and von Stengel 2010, sec. 3), finds each vertex's partners in the other
polytope without searching it: a partner of a vertex with label set ``L`` is a vertex of
the other polytope with every label outside ``L``, a point of the face ``F`` those labels
make tight. :func:`face_bases` lists bases of the other polytope whose points include
every vertex of every such face, and solves them as square systems (:func:`solve_bases`).

With ``W`` the labels outside ``L`` (``|W| = d - g``, ``g`` the vertex's excess of labels
over its dimension) and ``k`` the rank deficiency of ``W`` (the hyperplanes of its labels
span ``|W| - k`` dimensions), every vertex of ``F`` has a basis made of ``W`` less ``k`` of
its labels plus ``g + k`` labels of ``L``: the basis exchange property, since the vertex's
own labels (``W`` and some of ``L``) span the whole space. So the bases tried are, for
``k = 0``, ``W`` plus ``g`` of the vertex's labels (one system for a non-degenerate
vertex), and for ``k > 0`` every such exchange; ``k`` is computed in rational arithmetic
(:meth:`~.rational_polytope.RationalPolytope.rank`) for the faces whose every float
system is singular. A system whose floats cannot be decided is solved exactly
(:meth:`~.rational_polytope.RationalPolytope.decide`).

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.game import positive_rescale
>>> mat = positive_rescale(np.array([[1.0, 0.0], [0.0, 1.0]]), 0.1)  # Q of the 2 x 2 identity game
>>> labels = np.array([[False, True, True, False], [True, False, False, True]])  # two vertices of P
>>> blocks, systems = face_bases(labels, mat, 1e-9, 2, other_is_p=False)
>>> [block.points.round(4).tolist() for block in blocks], systems
([[[0.9091, 0.0], [0.0, 0.9091]]], 2)
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from equilibria.solver._typing import BoolArray, FloatArray, IntArray
from equilibria.solver.normal_form import rational_polytope
from equilibria.solver.normal_form.bases import BasisBlock
from equilibria.solver.normal_form.rational_polytope import RationalPolytope
from equilibria.solver.normal_form.square_systems import basis_rows, solve_bases

__all__ = ["MAX_EXTENSIONS", "face_bases"]

#: A degenerate vertex's partners are found by solving every basis that extends the labels
#: it lacks; past this many such bases per vertex of the searched polytope (on average),
#: the other polytope is searched instead.
MAX_EXTENSIONS = 4


def face_bases(
    labels: BoolArray,
    mat: FloatArray,
    tol: float,
    m: int,
    *,
    other_is_p: bool,
    exact: RationalPolytope | None = None,
) -> tuple[list[BasisBlock], int] | None:
    """The feasible bases of ``{z >= 0 : mat^T z <= 1}`` whose points include every partner
    of each vertex found, and how many systems were solved.

    Parameters
    ----------
    labels : ndarray of bool, shape (k, m + n)
        The vertices found, by their global labels (row actions ``0..m-1``, then column
        actions); in the other polytope a coordinate carries the label of its own action
        and a constraint that of the opponent's action.
    mat : ndarray, shape (d, c)
        The other polytope's matrix (``c`` is the found polytope's dimension).
    tol : float
        The tolerance of feasibility (:func:`solve_bases`).
    m : int
        The row player's number of actions.
    other_is_p : bool
        Whether the other polytope is the row player's.
    exact : RationalPolytope, optional
        ``mat`` read exactly: decides doubtful systems and the rank deficiency of faces
        whose every float system is singular.

    Returns
    -------
    tuple of (list of BasisBlock, int) or None
        None when a vertex has fewer labels than its dimension, a face has no regular
        basis (and no exact reading can say why), a decision stays within its error, or
        the bases would be many (over :data:`MAX_EXTENSIONS` per vertex found): the other
        polytope is then searched instead.
    """
    d, c = mat.shape
    counts = labels.sum(axis=1)
    if bool((counts < c).any()):  # a vertex has at least as many labels as its dimension
        return None
    # One system per non-degenerate vertex, and MAX_EXTENSIONS more per vertex on average.
    plain = np.flatnonzero(counts == c)
    allowed = MAX_EXTENSIONS * len(labels) + len(plain)
    order = np.concatenate([plain, np.flatnonzero(counts > c)])
    none = np.zeros(len(order), dtype=np.intp)
    first = _extensions(labels[order], order, counts[order] - c, none, allowed)
    if first is None:
        return None
    rows, owners = first
    coord_labels = np.arange(d) if other_is_p else m + np.arange(d)
    cons_labels = m + np.arange(c) if other_is_p else np.arange(c)
    decided = [0]  # systems solved in rational arithmetic
    solved = _solve(mat, rows[:, coord_labels], rows[:, cons_labels], tol, exact, decided)
    if solved is None:
        return None
    blocks, regular = solved
    stuck = np.setdiff1d(np.arange(len(labels)), owners[regular])
    systems = len(rows)
    if len(stuck):
        # Every system of these faces is singular: their labels are dependent.
        if exact is None:
            return None
        zero, tight = ~labels[stuck][:, coord_labels], ~labels[stuck][:, cons_labels]
        deficiency = np.array(
            [
                int(tight[k].sum()) - exact.rank(np.flatnonzero(~zero[k]), np.flatnonzero(tight[k]))
                for k in range(len(stuck))
            ],
            dtype=np.intp,
        )
        if not deficiency.all():  # exactly independent, yet no float system regular
            return None
        second = _extensions(labels[stuck], stuck, counts[stuck] - c, deficiency, allowed - systems)
        if second is None:
            return None
        more, more_owners = second
        solved = _solve(mat, more[:, coord_labels], more[:, cons_labels], tol, exact, decided)
        if solved is None:
            return None
        blocks += solved[0]
        systems += len(more)
        if len(np.setdiff1d(stuck, more_owners[solved[1]])):
            return None
    return blocks, systems


def _extensions(
    labels: BoolArray, owners: IntArray, excess: IntArray, deficiency: IntArray, allowed: int
) -> tuple[BoolArray, IntArray] | None:
    """The candidate bases of each vertex's face: its lacking labels ``W`` less
    ``deficiency`` of them plus ``excess + deficiency`` of its own, one row of labels each,
    with the vertex owning it; None when they are more than ``allowed`` (counted first)."""
    # One basis, the lacking labels themselves, for most vertices (non-degenerate, independent).
    simple = (excess == 0) & (deficiency == 0)
    others = np.flatnonzero(~simple)
    total = int(simple.sum()) + sum(
        math.comb(int((~labels[k]).sum()), int(deficiency[k]))
        * math.comb(int(labels[k].sum()), int(excess[k] + deficiency[k]))
        for k in others
    )
    if total > allowed:
        return None
    out, out_owners = [~labels[simple]], [owners[simple]]
    for k in others:
        lacking, own = np.flatnonzero(~labels[k]), np.flatnonzero(labels[k])
        for drop in itertools.combinations(lacking, int(deficiency[k])):
            for add in itertools.combinations(own, int(excess[k] + deficiency[k])):
                basis = ~labels[k]
                basis[list(drop)] = False
                basis[list(add)] = True
                out.append(basis[None, :])
                out_owners.append(owners[k : k + 1])
    return np.vstack(out), np.concatenate(out_owners)


def _solve(
    mat: FloatArray,
    zero: BoolArray,
    tight: BoolArray,
    tol: float,
    exact: RationalPolytope | None,
    decided: list[int],
) -> tuple[list[BasisBlock], IntArray] | None:
    """Each basis (coordinates labelled zero, constraints labelled tight) solved, batched by
    size; its doubtful systems exactly, up to :data:`.rational_polytope.MAX_DECIDED` in all
    (``decided`` counts them), and left out of the float block. Returns the blocks of
    feasible bases and the indices of the regular ones; None when a doubt stays."""
    support = ~zero  # (k, d): coordinates that may be positive
    sizes = support.sum(axis=1)
    blocks: list[BasisBlock] = []
    regular = []
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        if size == 0:  # the origin: no vertex
            continue
        ps = np.nonzero(support[rows])[1].reshape(len(rows), size)
        pt = np.nonzero(tight[rows])[1].reshape(len(rows), size)
        block = solve_bases(mat, ps, pt, tol)
        singular = np.zeros(len(rows), dtype=bool)
        singular[block.singular] = True
        doubt = block.doubtful
        if len(doubt) and exact is not None and decided[0] + len(doubt) <= rational_polytope.MAX_DECIDED:
            decided[0] += len(doubt)
            settled = exact.decide(ps[doubt], pt[doubt], tol)
            singular[doubt] = False
            singular[doubt[settled.singular]] = True
            blocks.append(settled)
            block = _without(block, basis_rows(ps[doubt], pt[doubt], *mat.shape))
        if block.ambiguous:
            return None
        regular.append(rows[~singular])
        blocks.append(block)
    return blocks, np.concatenate([np.zeros(0, dtype=np.intp), *regular])


def _without(block: BasisBlock, bases: BoolArray) -> BasisBlock:
    """``block`` less the given bases (decided in rational arithmetic instead): the rest
    of its rows, sure."""
    gone = {row.tobytes() for row in np.packbits(bases, axis=1)}
    keep = np.array([row.tobytes() not in gone for row in np.packbits(block.basis, axis=1)], dtype=bool)
    return dataclasses.replace(
        block,
        points=block.points[keep],
        basis=block.basis[keep],
        error=block.error[keep],
        ambiguous=False,
        doubtful=np.zeros(0, dtype=np.intp),
    )
