"""Every Nash equilibrium of a 2-player game by vertex enumeration.

Make both payoff matrices positive (a positive affine map per player, which keeps the
equilibria) and take the best-response polytopes

.. math::

    P = \\{x \\in R^m : x \\ge 0,\\ B^T x \\le 1\\}, \\qquad
    Q = \\{y \\in R^n : A y \\le 1,\\ y \\ge 0\\}.

Label the ``m + n`` inequalities: for ``x`` in ``P`` label ``i < m`` when ``x_i = 0`` and
label ``m + j`` when ``(B^T x)_j = 1``; for ``y`` in ``Q`` label ``i < m`` when
``(A y)_i = 1`` and label ``m + j`` when ``y_j = 0``. A pair of vertices ``(x, y) \\ne (0,
0)`` whose labels together cover all ``m + n`` labels is, normalised, an **extreme
equilibrium**, and every equilibrium is in the convex hull of extreme ones. In a
degenerate game the equilibria form a finite union of **maximal Nash subsets**
``conv(X) x conv(Y)``: the maximal bicliques of the bipartite graph joining extreme
``x`` and ``y`` that form an equilibrium.

**Finding the vertices.** Write a polytope ``{z >= 0 : M^T z <= 1}`` (``M > 0`` of shape
``(d, c)``) in standard form ``M^T z + w = 1``, ``(z, w) >= 0``: ``c`` equations in
``d + c`` variables. A *basis* is a set of ``c`` variables whose columns of ``[M^T | I]``
are independent; setting the others to zero determines the basic ones, and the basis is
*feasible* when they are non-negative. Every vertex is the point of one or more feasible
bases (more than one when it is degenerate: more than ``d`` tight labels). The feasible
bases are connected by pivots (exchange one basic variable for one non-basic one): the
simplex method with Bland's rule [5]_ leads from any of them to the all-slack basis at
``z = 0`` (the only basis minimising ``sum(z)``) through feasible bases, and every such
pivot can be walked back. So a breadth-first search from the all-slack basis that
follows every pivot leading to a feasible basis (entering any non-basic column and
leaving *every* row whose exchange keeps the point feasible: all ties of the minimum
ratio, and the degenerate exchanges) visits every feasible basis, whatever the
degeneracy. Bases are keyed by the bitmask of their variables; both polytopes of a
square game are searched in the same batches. At each visited basis the tableau
``B^{-1} [1 | M^T | I]`` is computed afresh from the payoffs (inverse plus one step of
iterative refinement; no error accumulates along the path), and the ratio tests of all
the bases of one level are done in one vectorised pass. The search visits about as many
bases as the polytopes have feasible bases (the number of vertices in a non-degenerate
game) instead of the ``C(m + n, m)`` square systems of a brute-force enumeration: a
12 x 12 game with standard-normal payoffs has a few thousand vertices but ``C(24, 12) =
2,704,156`` bases. Reverse search [4]_ would avoid the table of visited bases, but it
needs a lexicographic pivoting rule whose float ties would have to be certified too,
and it visits the same feasible bases (or, with the lexicographic rule, fewer of a
degenerate vertex, but exact mode needs them all); the table of 8-byte keys is small.

**Brute force** (every support ``S`` with every equally large set of tight constraints
``T``, as square systems batched by size) is still used where it is faster, by
measurement: polytopes with at most 3,500 bases (games up to 7 x 7), games with more
than 62 actions in all (the key would not fit an int64), and searches that have visited
a quarter of all bases (a very degenerate polytope; a search costs about 12 times more
per basis than brute force) if brute force fits in the rest of ``max_visited``.
Degenerate games cost the search more bases: on random {0, 1, 2} games it visits 13%
(8 x 8) down to 3% (11 x 11) of all bases and is as fast as brute force at 8 x 8 and 1.05
to 7 times faster from 9 x 9 on; on {0, 1} games it visits 8 to 15% and is 1.4 to 1.9
times slower at 8 x 8 and 10 x 10; identity games are non-degenerate. Vertices are
identified by their full set of tight labels, which makes degenerate vertices and
repeated bases harmless.

**Certification.** A float decision can be wrong when it is within its rounding error of
its threshold. Every value ``v = X u`` read from a tableau (``X`` the computed inverse of
the basis ``B``) gets the a posteriori bound ``|X| (|u - B v| + 2 (c + 1) eps (|B| |v| +
|u|))`` on its error (the residual, and the rounding error of computing it). The search
checks every visited basis afresh (feasibility ``>= -tol``) and the result is marked
incomplete when that check, or a tightness decision for a label, is within the bound of
its threshold, as the brute force does. A pivot is followed unless it certainly leads
to an infeasible or singular basis: the point after the pivot, predicted from the
tableau, is feasible within ``tol`` plus twice its first-order error bound, or the pivot
element is within its error of zero (the new basis is then checked afresh), so no
feasible basis is cut off by a rounding error in a ratio test. A basis whose Hadamard
ratio ``|det| / prod(column norms)`` (updated by each pivot: ``det`` is multiplied by the
pivot element) is at most ``1e-12`` is singular, and one within a factor 1000 of that
marks the result incomplete. In exact mode the search runs with the loose tolerance
``max(tol, 1e-7)`` of the float pass and also keeps and expands every basis within its
error bound of feasibility: every exactly feasible basis is then float-feasible and
reached (along the Bland path above, whose bases are all exactly feasible), unless a
basis on every such path is singular to float precision, as brute force also assumes;
every proposed basis is decided in rational arithmetic.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.vertex_enumeration import vertex_enumeration
>>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
>>> result = vertex_enumeration(stag_hunt, exact=True)
>>> [tuple(str(p) for p in eq.exact_strategies[0]) for eq in result.equilibria]
[('1', '0'), ('3/4', '1/4'), ('0', '1')]
>>> result.complete
True

References
----------
.. [1] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
.. [2] B. von Stengel, "Computing equilibria for two-person games", Handbook of Game
   Theory with Economic Applications, vol. 3, ch. 45 (2002).
.. [3] O. L. Mangasarian, "Equilibrium points of bimatrix games", J. SIAM 12 (1964).
.. [4] D. Avis and K. Fukuda, "A pivoting algorithm for convex hulls and vertex
   enumeration of arrangements and polyhedra", Discrete Comput. Geom. 8 (1992) 295-313.
.. [5] R. G. Bland, "New finite pivoting rules for the simplex method", Math. Oper. Res.
   2 (1977) 103-107.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from equilibria.solver import exact as exact_arith
from equilibria.solver.components import maximal_bicliques
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from equilibria.solver.game import NormalFormGame, positive_rescale
from equilibria.solver.regret import certify
from equilibria.solver.results import Component, Equilibrium, SolutionSet

__all__ = ["vertex_enumeration", "count_bases", "MAX_BASES", "MAX_VISITED"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Games whose worst case ``count_bases(m, n)`` exceeds this are refused before any work
#: (13 x 12 fits, 13 x 13 not). The search usually visits far fewer bases.
MAX_BASES = 12_000_000
#: Default limit on the bases actually visited (both polytopes together): the work done.
#: A game within MAX_BASES always fits, even a search given up for brute force.
MAX_VISITED = 16_000_000
#: Polytopes with at most this many bases ``C(d + c, c)`` are enumerated by brute force.
_BRUTE_FORCE_BASES = 3_500
#: A search that has visited more than this share of all bases (a very degenerate polytope)
#: is abandoned for brute force, which costs about 12 times less per basis.
_DEGENERATE_SHARE = 0.25
#: The search keys a basis by a bitmask of its variables in one int64.
_MAX_SEARCH_VARIABLES = 62
#: Entries of one batched block of linear systems (bounds peak memory).
_BLOCK_ENTRIES = 1 << 22
#: Pivots of a block checked in full without the minimum-ratio prefilter, times the rows.
_DIRECT_ENTRIES = 1 << 13
#: Bases with Hadamard ratio |det| / prod(row norms) at most this are treated as singular.
_SINGULAR_RHO = 1e-12
#: Smallest entry of the rescaled payoff matrices.
_SHIFT = 0.1
#: Safety factor on the float error bound of a basis solution (brute force).
_ERROR_SAFETY = 16.0
#: Safety factor on the rounding error of a residual ``u - B v`` (``(c + 1) eps (|B| |v| + |u|)``).
_RESIDUAL_SAFETY = 2.0
_EPS = float(np.finfo(np.float64).eps)


def count_bases(m: int, n: int) -> int:
    """Worst-case number of bases of both best-response polytopes of an ``m x n`` game.

    The brute-force enumeration solves exactly this many square systems; the pivoting
    search visits at most this many (usually far fewer: only the feasible ones and their
    infeasible neighbours that could not be ruled out beforehand).
    """
    return 2 * math.comb(m + n, m)


@dataclasses.dataclass(frozen=True)
class _Vertices:
    """Distinct non-zero vertices of one best-response polytope."""

    points: FloatArray  # (k, d), unnormalised
    labels: BoolArray  # (k, m + n), global label order
    supports: tuple[tuple[int, ...], ...]  # the coordinates of a basis of each vertex (exact mode)
    tights: tuple[tuple[int, ...], ...]  # its basis constraints, then every other tight one (exact mode)
    ambiguous: bool  # some decision was within float error of its threshold
    exact: tuple[tuple[Fraction, ...], ...] | None = None  # exact points, once certified


def vertex_enumeration(
    game: NormalFormGame,
    *,
    tol: float = 1e-9,
    exact: bool = False,
    max_equilibria: int = 0,
    max_bases: int = MAX_BASES,
    max_visited: int = MAX_VISITED,
) -> SolutionSet:
    """All extreme Nash equilibria of a 2-player game and the maximal Nash subsets they span.

    Parameters
    ----------
    game : NormalFormGame
        A 2-player game.
    tol : float, optional(default=1e-9)
        Tolerance on the payoffs rescaled to [0.1, 1.1], for tightness and feasibility.
    exact : bool, optional(default=False)
        Certify every equilibrium in exact rational arithmetic (payoffs are read as the
        simplest fractions that round to the given doubles) and report exact
        probabilities and payoffs.
    max_equilibria : int, optional(default=0)
        Keep at most this many extreme equilibria (0: all). A truncated set is
        incomplete.
    max_bases : int, optional(default=MAX_BASES)
        Refuse, before any work, games whose worst-case number of bases
        (:func:`count_bases`) exceeds this.
    max_visited : int, optional(default=MAX_VISITED)
        Stop (and refuse) once the enumeration has visited more than this many bases of
        the two polytopes together: the limit on the work actually done.

    Returns
    -------
    SolutionSet
        ``complete`` is True when every feasible basis was visited, no value was within
        the float error of its threshold (or exact arithmetic decided every vertex) and
        nothing was truncated. ``method_reason`` says how many bases were visited.

    Raises
    ------
    UnsupportedError
        If the game does not have 2 players.
    ProblemTooLargeError
        If ``count_bases`` exceeds ``max_bases``, or the enumeration visits more than
        ``max_visited`` bases.
    InvalidOptionError
        If ``tol`` is not in (0, 1e-3], ``max_equilibria`` is negative or
        ``max_visited`` is not positive.

    Notes
    -----
    The two polytopes have ``C(m + n, m)`` bases each. From 8 x 7 on (more than 3,500
    bases) and up to 62 actions in all, they are searched by pivoting from feasible basis
    to feasible basis, which visits about as many bases as there are vertices; smaller
    games, and searches that turn out to visit a quarter of all bases, are enumerated by
    brute force, which is faster there (see the module docstring). ``max_bases`` is the
    a-priori limit the caller can check with :func:`count_bases`; ``max_visited`` bounds
    the work actually done.
    """
    started = time.perf_counter()
    if game.n_players != 2:
        raise UnsupportedError(
            "method", f"vertex_enumeration(): needs a 2-player game, got {game.n_players} players"
        )
    if not (0.0 < tol <= 1e-3):
        raise InvalidOptionError("tolerance", f"vertex_enumeration(): tol must be in (0, 1e-3], got {tol}")
    if max_equilibria < 0:
        raise InvalidOptionError("max_equilibria", "vertex_enumeration(): max_equilibria must be >= 0")
    if max_visited < 1:
        raise InvalidOptionError(
            "max_visited", f"vertex_enumeration(): max_visited must be >= 1, got {max_visited}"
        )
    m, n = game.num_actions
    bases = count_bases(m, n)
    if bases > max_bases:
        raise ProblemTooLargeError(
            "method",
            f"vertex_enumeration(): a {m}x{n} game has up to {bases:,} bases, over the limit of "
            f"{max_bases:,}; use method='lemke_howson' for one equilibrium",
        )
    a, b = game.bimatrix()
    exact_game = exact_arith.rational_bimatrix(a, b) if exact else None
    a_pos, b_pos = positive_rescale(a, _SHIFT), positive_rescale(b, _SHIFT)
    # In exact mode the float pass only proposes candidates: use a loose tolerance and let
    # exact arithmetic decide every candidate.
    search_tol = max(tol, 1e-7) if exact else tol
    # Exact mode proposes every feasible basis: no float key (labels, even with rounded
    # coordinates) can tell apart vertices closer than float precision, so the float pass
    # must not merge anything; exact arithmetic drops the duplicates.
    budget = _Budget(max_visited)
    px, qy = _vertices(
        [b_pos, a_pos.T], search_tol, coordinate_labels_first=[True, False], every_basis=exact, budget=budget
    )
    visited = budget.visited
    warnings: list[str] = []
    if exact_game is not None:
        px = _certified(px, exact_game.b_positive, coordinate_labels_first=True)
        qy = _certified(qy, tuple(zip(*exact_game.a_positive, strict=True)), coordinate_labels_first=False)
        ambiguous = False
    else:
        ambiguous = px.ambiguous or qy.ambiguous
        if ambiguous:
            warnings.append(
                "near-degenerate: a vertex decision was within float round-off of the tolerance, or a "
                "basis was too close to singular to decide; completeness is not certified "
                "(use exact=True for rational payoffs)"
            )
    pairs = _completely_labelled_pairs(px.labels, qy.labels, m)
    truncated = bool(max_equilibria) and len(pairs) > max_equilibria
    if truncated:
        pairs = pairs[:max_equilibria]
        warnings.append(f"truncated to max_equilibria={max_equilibria}")
    equilibria, components = _assemble(game, px, qy, pairs, tol, exact_game)
    if len(equilibria) % 2 == 0 and not truncated:
        warnings.append(
            f"degenerate game: {len(equilibria)} extreme equilibria (a non-degenerate game has an odd number)"
        )
    if any(not c.is_singleton for c in components):
        warnings.append("degenerate game: some equilibria form a continuum (non-singleton components)")
    return SolutionSet(
        game_id=game.id,
        equilibria=tuple(equilibria),
        components=tuple(components),
        complete=not truncated and not ambiguous,
        method="vertex_enumeration",
        method_reason=(
            f"visited {visited:,} of the at most {bases:,} bases of the two best-response polytopes"
        ),
        warnings=tuple(warnings),
        tolerance=tol,
        exact=exact_game is not None,
        elapsed_seconds=time.perf_counter() - started,
    )


def _certified(vertices: _Vertices, mat: exact_arith.Matrix, *, coordinate_labels_first: bool) -> _Vertices:
    """The proposed vertices recomputed, filtered and relabelled in exact arithmetic.

    ``vertices`` holds one candidate per feasible basis. Bases that look alike in floats
    (same labels, same rounded point) may still define distinct vertices, so each one is
    kept unless a vertex certified from its group satisfies its equations exactly (zero
    off the basis support, tight on the basis constraints): then that vertex is its
    unique solution.
    """
    c = len(mat[0])
    rounded = np.round(vertices.points / vertices.points.sum(axis=1, keepdims=True), 6) + 0.0
    groups: dict[bytes, list[int]] = {}
    for k in range(len(vertices.supports)):
        groups.setdefault(vertices.labels[k].tobytes() + rounded[k].tobytes(), []).append(k)
    keep: list[int] = []
    for members in groups.values():
        if len(members) == 1:
            keep.extend(members)
            continue
        known: list[tuple[frozenset[int], frozenset[int]]] = []  # (support, tight constraints)
        for k in members:
            support = vertices.supports[k]
            basis = vertices.tights[k][: len(support)]
            if any(on <= set(support) and set(basis) <= cons for on, cons in known):
                continue
            keep.append(k)
            system = [[mat[i][t] for i in support] for t in basis]
            z = exact_arith.solve_exact(system, [Fraction(1)] * len(support))
            if z is not None and min(z) >= 0:
                pairs = list(zip(support, z, strict=True))
                values = [sum((mat[i][t] * v for i, v in pairs), Fraction(0)) for t in range(c)]
                on = frozenset(i for i, v in pairs if v)
                known.append((on, frozenset(t for t, v in enumerate(values) if v == 1)))
    keep.sort()
    supports = [vertices.supports[k] for k in keep]
    tights = [vertices.tights[k] for k in keep]
    points, labels, exact_points = exact_arith.certify_vertices(
        supports, tights, mat, coordinate_labels_first=coordinate_labels_first
    )
    return _Vertices(points, labels, (), (), ambiguous=False, exact=exact_points)


def _vertices(
    mats: list[FloatArray],
    tol: float,
    *,
    coordinate_labels_first: list[bool],
    every_basis: bool = False,
    budget: _Budget | None = None,
    method: str = "auto",
) -> list[_Vertices]:
    """Distinct non-zero vertices of each polytope ``{z >= 0 : mat^T z <= 1}`` with their labels.

    Each ``mat`` has shape ``(d, c)``: ``d`` coordinates, ``c`` constraints. The polytope is
    bounded because ``mat > 0``. Labels are ordered coordinates-then-constraints
    (polytope P) or constraints-then-coordinates (polytope Q). With ``every_basis``,
    nothing is merged: every feasible basis is returned as a candidate of its own, and
    the search also proposes bases within their error bound of feasibility.
    ``method`` is ``"search"``, ``"brute_force"`` or ``"auto"`` (:func:`_use_search`);
    polytopes of the same shape are searched together (one batch per level).
    """
    budget = budget if budget is not None else _Budget(MAX_VISITED)
    found: list[list[_BasisBlock]] = [[] for _ in mats]
    searched = [
        k
        for k, mat in enumerate(mats)
        if (_use_search(*mat.shape) if method == "auto" else method == "search")
    ]
    for shape in {mats[k].shape for k in searched}:
        group = [k for k in searched if mats[k].shape == shape]
        # A search visiting more than a quarter of all bases is slower than brute force,
        # unless brute force would not fit in what is left of the budget.
        bases = len(group) * math.comb(shape[0] + shape[1], shape[1])
        start = budget.visited
        blocks: list[_BasisBlock] = []
        for block in _search_bases([mats[k] for k in group], tol, budget, liberal=every_basis):
            blocks.append(block)
            if budget.visited - start > _DEGENERATE_SHARE * bases and budget.visited + bases <= budget.limit:
                searched = [k for k in searched if k not in group]
                break
        else:
            for block in blocks:
                for q, k in enumerate(group):
                    rows = block.polytope == q
                    found[k].append(
                        _BasisBlock(block.points[rows], block.basis[rows], block.error[rows], block.ambiguous)
                    )
    for k, mat in enumerate(mats):
        if k not in searched:
            found[k].extend(_brute_force_bases(mat, tol, budget))
    return [
        _labelled(mat, blocks, tol, coordinate_labels_first=first, every_basis=every_basis)
        for mat, blocks, first in zip(mats, found, coordinate_labels_first, strict=True)
    ]


def _labelled(
    mat: FloatArray, found: list[_BasisBlock], tol: float, *, coordinate_labels_first: bool, every_basis: bool
) -> _Vertices:
    """The labels of the feasible bases of one polytope, one vertex per label set (or per basis)."""
    d, c = mat.shape
    ambiguous = any(block.ambiguous for block in found)
    points = np.concatenate([np.zeros((0, d))] + [block.points for block in found])
    basis = np.concatenate([np.zeros((0, d + c), dtype=bool)] + [block.basis for block in found])
    err = np.concatenate([np.zeros(0)] + [block.error for block in found])[:, None]
    slack = 1.0 - points @ mat  # (k, c)
    coord_tight = points <= tol
    cons_tight = np.abs(slack) <= tol
    ambiguous |= bool((basis[:, :d] & (np.abs(np.abs(points) - tol) <= err)).any())  # others are exact zeros
    ambiguous |= bool((np.abs(np.abs(slack) - tol) <= err).any())
    points = np.where(coord_tight, 0.0, points)
    labels = np.hstack([coord_tight, cons_tight] if coordinate_labels_first else [cons_tight, coord_tight])
    # One vertex per label set (per basis with every_basis), the first found.
    keys = np.packbits(np.hstack([labels, basis]) if every_basis else labels, axis=1)
    _, first = np.unique(keys.view(f"V{keys.shape[1]}").ravel(), return_index=True)
    supports: tuple[tuple[int, ...], ...] = ()
    tights: tuple[tuple[int, ...], ...] = ()
    if every_basis:  # exact mode: each basis, and its other tight constraints, for _certified
        supports = tuple(tuple(np.flatnonzero(basis[k, :d]).tolist()) for k in first)
        tights = tuple(
            tuple(
                np.flatnonzero(basis[k, d:]).tolist() + np.flatnonzero(cons_tight[k] & ~basis[k, d:]).tolist()
            )
            for k in first
        )
    return _Vertices(points[first], labels[first], supports, tights, ambiguous)


def _use_search(d: int, c: int) -> bool:
    """Search by pivoting, or brute force: the faster one, by measurement (module docstring)."""
    return math.comb(d + c, c) > _BRUTE_FORCE_BASES and d + c <= _MAX_SEARCH_VARIABLES


class _Budget:
    """Counts the bases visited by one enumeration and refuses past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.visited = 0

    def spend(self, bases: int) -> None:
        self.visited += bases
        if self.visited > self.limit:
            raise ProblemTooLargeError(
                "method",
                f"vertex_enumeration(): visited over {self.limit:,} bases (max_visited); "
                "use method='lemke_howson' for one equilibrium",
            )


@dataclasses.dataclass(frozen=True)
class _BasisBlock:
    """Feasible bases of one batch: their points, the bases themselves, error bounds."""

    points: FloatArray  # (k, d): the basic solution, zero off the basis coordinates
    basis: BoolArray  # (k, d + c): the basis coordinates, then the basis (tight) constraints
    error: FloatArray  # (k,) a bound on the float error of each point
    ambiguous: bool  # a feasibility or regularity decision in this batch was within error
    polytope: IntArray | None = None  # (k,) which polytope of a joint search


def _brute_force_bases(mat: FloatArray, tol: float, budget: _Budget) -> Iterator[_BasisBlock]:
    """Feasible bases of ``{z >= 0 : mat^T z <= 1}`` by solving every square system, batched by size.

    For a support ``S`` and as many constraints ``T``, ``z_S`` solves
    ``mat[S, T]^T z_S = 1``; the basis is feasible when ``z >= -tol`` and
    ``mat[S]^T z_S <= 1 + tol``. The float error of each solution is bounded through
    the Hadamard ratio ``rho = |det| / prod(row norms)`` (the condition number is at
    most ``2 / rho``); a decision closer to its threshold than that bound, or a basis
    too close to singular to decide, marks the block ambiguous.
    """
    d, c = mat.shape
    eps = np.finfo(np.float64).eps
    for s in range(1, min(d, c) + 1):
        supports = np.array(list(itertools.combinations(range(d), s)), dtype=np.intp)
        tights = np.array(list(itertools.combinations(range(c), s)), dtype=np.intp)
        block = max(1, _BLOCK_ENTRIES // (s * max(s, c)))
        pair_s = np.repeat(np.arange(len(supports)), len(tights))
        pair_t = np.tile(np.arange(len(tights)), len(supports))
        for start in range(0, len(pair_s), block):
            ps = supports[pair_s[start : start + block]]  # (k, s)
            pt = tights[pair_t[start : start + block]]  # (k, s)
            budget.spend(len(ps))
            rows = mat[ps]  # (k, s, c): rows of the support
            system = np.take_along_axis(rows, pt[:, None, :], axis=2).transpose(0, 2, 1)  # (k, s, s)
            rho = np.abs(np.linalg.det(system)) / np.prod(np.linalg.norm(system, axis=2), axis=1)
            regular = rho > _SINGULAR_RHO
            ambiguous = bool(((rho > _SINGULAR_RHO * 1e-3) & ~regular).any())
            if not regular.any():
                if ambiguous:
                    yield _BasisBlock(np.zeros((0, d)), np.zeros((0, d + c), dtype=bool), np.zeros(0), True)
                continue
            ps, pt, rows, system, rho = ps[regular], pt[regular], rows[regular], system[regular], rho[regular]
            z = np.linalg.solve(system, np.ones((len(system), s, 1)))[:, :, 0]
            size = np.maximum(1.0, np.abs(z).max(axis=1))
            # A cheap bound from rho first; the exact condition number only where it matters.
            error = _ERROR_SAFETY * s * eps * (2.0 / rho) * size
            worst = np.maximum((-z).max(axis=1), (np.einsum("ks,ksc->kc", z, rows) - 1.0).max(axis=1))
            feasible = worst <= tol
            close = (np.abs(worst - tol) <= error) | feasible
            if close.any():
                error[close] = _ERROR_SAFETY * s * eps * np.linalg.cond(system[close]) * size[close]
                ambiguous |= bool((np.abs(worst - tol) <= error).any())
            ps, pt = ps[feasible], pt[feasible]
            points = np.zeros((len(ps), d))
            np.put_along_axis(points, ps, z[feasible], axis=1)
            basis = np.zeros((len(ps), d + c), dtype=bool)
            np.put_along_axis(basis, ps, True, axis=1)
            np.put_along_axis(basis, pt + d, True, axis=1)
            yield _BasisBlock(points, basis, error[feasible], ambiguous)


@dataclasses.dataclass(frozen=True)
class _StandardForm:
    """``[mat^T | I] (z, w) = 1`` for polytopes ``{z >= 0 : mat^T z <= 1}`` of one shape.

    Variables ``0..d-1`` are the coordinates ``z``, ``d..d+c-1`` the slacks ``w``; a basis
    is keyed by the bitmask of its ``c`` variables, plus the index of its polytope shifted
    past them (several polytopes are searched in the same batches).
    """

    shape: tuple[int, int]  # (d, c)
    columns: FloatArray  # (p, c, d + c): [mat^T | I] of each polytope
    extended: FloatArray  # (p, c, 1 + d + c): [1 | mat^T | I]
    norms: FloatArray  # (p, d + c) column norms
    bit: npt.NDArray[np.int64]  # (d + c,) 1 << variable
    tol: float
    liberal: bool  # exact mode: also keep and expand bases within their error bound of feasibility

    @classmethod
    def of(cls, mats: list[FloatArray], tol: float, liberal: bool) -> _StandardForm:
        d, c = mats[0].shape
        columns = np.stack([np.hstack([mat.T, np.eye(c)]) for mat in mats])
        return cls(
            shape=(d, c),
            columns=columns,
            extended=np.concatenate([np.ones((len(mats), c, 1)), columns], axis=2),
            norms=np.linalg.norm(columns, axis=1),
            bit=np.left_shift(np.int64(1), np.arange(d + c, dtype=np.int64)),
            tol=tol,
            liberal=liberal,
        )


def _search_bases(
    mats: list[FloatArray], tol: float, budget: _Budget, *, liberal: bool = False
) -> Iterator[_BasisBlock]:
    """Feasible bases of polytopes ``{z >= 0 : mat^T z <= 1}`` of one shape by breadth-first search.

    Starts from the all-slack basis of each polytope (the vertex ``z = 0``); each level of
    the search is processed in blocks by :func:`_visit`, and the neighbours it returns
    that were never seen make the next level. A basis carries its Hadamard ratio ``rho =
    |det B| / prod(column norms)``, updated exactly by each pivot (``det`` is multiplied by
    the pivot element, taken from the fresh tableau of the parent).
    """
    form = _StandardForm.of(mats, tol, liberal)
    d, c = form.shape
    frontier = form.bit[d:].sum() + (np.arange(len(mats), dtype=np.int64) << (d + c))
    rho = np.ones(len(mats))
    visited = frontier
    block = max(1, _BLOCK_ENTRIES // (c * (d + c + 1) + c * d * 2))
    while len(frontier):
        budget.spend(len(frontier))
        reached = []
        for start in range(0, len(frontier), block):
            found, keys, ratios = _visit(form, frontier[start : start + block], rho[start : start + block])
            yield found
            reached.append((keys, ratios))
        keys, first = np.unique(np.concatenate([r[0] for r in reached]), return_index=True)
        seen = visited[np.minimum(np.searchsorted(visited, keys), len(visited) - 1)] == keys
        frontier, rho = keys[~seen], np.concatenate([r[1] for r in reached])[first[~seen]]
        visited = np.sort(np.concatenate([visited, frontier]))


def _visit(
    form: _StandardForm, keys: npt.NDArray[np.int64], rho: FloatArray
) -> tuple[_BasisBlock, npt.NDArray[np.int64], FloatArray]:
    """Check a block of bases afresh; return the feasible ones and the pivots to follow.

    For each basis ``B`` the inverse ``X`` is computed from the payoffs, then the basic
    solution ``x = B^-1 1`` and the column ``a_j = B^-1 A_j`` of each non-basic variable
    ``j`` (``v = X u``, refined once by ``v += X (u - B v)``). Each value gets an a
    posteriori error bound: ``v - B^-1 u = B^-1 r`` for the residual ``r = u - B v``,
    computed within ``(c + 1) eps (|B| |v| + |u|)``, so the error is at most ``|X| (|r| +
    2 (c + 1) eps (|B| |v| + |u|))`` (LAPACK's forward error bound, doubled). The basis is
    kept when ``x >= -tol`` (``x + err >= -tol`` if liberal).

    A pivot ``(r, j)`` (``j`` enters, the variable of row ``r`` leaves) moves to the point
    ``x - theta a_j`` with ``theta = x_r / a_rj`` and ``x_j = theta``. It is followed when
    the new basis is regular (Hadamard ratio ``rho |a_rj| |A_r| / |A_j|`` over
    ``_SINGULAR_RHO``) and that point violates feasibility by at most ``tol`` plus twice
    its first-order error bound, or when ``|a_rj|`` is within twice its error of zero (no
    prediction can be trusted; the new basis is then checked afresh). This takes every
    leaving row that attains the minimum ratio (all ties) and also the degenerate
    exchanges with a negative pivot element. In large blocks the violation is first
    bounded from below through the row of the minimum ratio, and computed in full only
    for the pivots that pass.

    Returns the feasible bases, the keys of the bases the followed pivots lead to, and
    their Hadamard ratios.
    """
    d, c = form.shape
    k = len(keys)
    polytope = (keys >> (d + c))[:, None]
    member = (keys[:, None] & form.bit[None, :]) != 0
    basic = np.nonzero(member)[1].reshape(k, c)  # ascending: coordinates first, then slacks
    nonbasic = np.nonzero(~member)[1].reshape(k, d)
    system = form.columns[polytope, :, basic].transpose(0, 2, 1)  # (k, c, c)
    inverse = np.linalg.inv(system)
    rhs = form.extended[polytope, :, np.hstack([np.zeros((k, 1), dtype=np.intp), nonbasic + 1])]
    rhs = rhs.transpose(0, 2, 1)  # (k, c, 1 + d): the columns 1 and A_j
    values = inverse @ rhs  # (k, c, 1 + d): x = B^-1 1, then a_j = B^-1 A_j
    values += inverse @ (rhs - system @ values)  # one step of iterative refinement
    residual = np.abs(rhs - system @ values)
    error = np.abs(inverse) @ (
        residual + (_RESIDUAL_SAFETY * (c + 1) * _EPS) * (np.abs(system) @ np.abs(values) + rhs)
    )
    x, x_err, a, a_err = values[:, :, 0], error[:, :, 0], values[:, :, 1:], error[:, :, 1:]
    low = -x - x_err  # the most negative each basic variable may be
    surely = (low <= form.tol).all(axis=1)  # not certainly infeasible
    ambiguous = bool((surely & (np.abs(x + form.tol) <= x_err).any(axis=1)).any())
    keep = surely if form.liberal else (-x <= form.tol).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        size_a = np.abs(a)
        theta = x[:, :, None] / a  # (k, r, j): the step of pivot (r, j)
        norms = form.norms[polytope, basic][:, :, None] / form.norms[polytope, nonbasic][:, None, :]
        new_rho = rho[:, None, None] * size_a * norms
        # First-order error bound of every entry of the point after the pivot.
        spread = x_err.max(axis=1)[:, None, None] + np.abs(theta) * a_err.max(axis=1)[:, None, :]
        margin = form.tol + 2.0 * spread * (1.0 + (1.0 + size_a.max(axis=1)[:, None, :]) / size_a)
        unsure = size_a <= 2.0 * a_err
        candidate = keep[:, None, None] & (new_rho > _SINGULAR_RHO * 1e-3)  # or too close to singular to tell
        if a.size * c <= _DIRECT_ENTRIES:  # every pivot in full: max_i (theta_rj a_ij - x_i)
            spill = (theta[:, :, :, None] * a.transpose(0, 2, 1)[:, None, :, :] - x[:, None, None, :]).max(
                axis=3
            )
            kk, rr, jj = np.nonzero(candidate & (unsure | (np.maximum(spill, -theta) <= margin)))
        else:  # a lower bound first (the new x_j = theta, and the row of the minimum ratio)
            positive = a > 2.0 * a_err
            ratio = np.where(positive, np.maximum(x, 0.0)[:, :, None] / np.where(positive, a, 1.0), np.inf)
            row = ratio.argmin(axis=1)[:, None, :]  # (k, 1, j)
            witness = np.take_along_axis(a, row, axis=1) * theta - np.take_along_axis(
                x[:, :, None], row, axis=1
            )
            bound = np.maximum(-theta, np.where(positive.any(axis=1, keepdims=True), witness, -np.inf))
            kk, rr, jj = np.nonzero(candidate & (unsure | (bound <= margin)))
            step = theta[kk, rr, jj]
            violation = np.maximum((step[:, None] * a[kk, :, jj] - x[kk]).max(axis=1), -step)
            passed = unsure[kk, rr, jj] | (violation <= margin[kk, rr, jj])
            kk, rr, jj = kk[passed], rr[passed], jj[passed]
    ratios = new_rho[kk, rr, jj]
    follow = ratios > _SINGULAR_RHO
    ambiguous |= not follow.all()
    kk, rr, jj = kk[follow], rr[follow], jj[follow]
    keep &= member[:, :d].any(axis=1)  # the all-slack basis (z = 0) is no vertex
    points = np.zeros((k, d))
    points[np.nonzero(member[:, :d])] = x[basic < d]
    basis = np.hstack([member[:, :d], ~member[:, d:]])  # basic coordinates, tight constraints
    found = _BasisBlock(
        points[keep], basis[keep], x_err[keep].max(axis=1, initial=0.0), ambiguous, polytope[keep, 0]
    )
    return found, keys[kk] ^ form.bit[basic[kk, rr]] ^ form.bit[nonbasic[kk, jj]], ratios[follow]


def _completely_labelled_pairs(labels_x: BoolArray, labels_y: BoolArray, m: int) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` whose labels together cover every label, in lexicographic order.

    A vertex of ``P`` (``m`` coordinates) with exactly ``m`` labels pairs with a vertex of
    ``Q`` with exactly ``n`` labels only when their label sets are complementary: those
    pairs are found by a sort-merge join on the label sets. Only the pairs involving a
    vertex with more (degenerate) or fewer labels are checked against every vertex of
    the other polytope.
    """
    n = labels_x.shape[1] - m
    plain_x = labels_x.sum(axis=1) == m
    plain_y = labels_y.sum(axis=1) == n
    pairs = _joined(~labels_x[plain_x], labels_y[plain_y], np.flatnonzero(plain_x), np.flatnonzero(plain_y))
    pairs += _covering(labels_x[~plain_x], labels_y, np.flatnonzero(~plain_x), np.arange(len(labels_y)))
    pairs += _covering(
        labels_x[plain_x], labels_y[~plain_y], np.flatnonzero(plain_x), np.flatnonzero(~plain_y)
    )
    return sorted(pairs)


def _joined(want: BoolArray, have: BoolArray, ix: IntArray, iy: IntArray) -> list[tuple[int, int]]:
    """Pairs of rows with ``want[i] == have[j]`` (indices mapped through ``ix``, ``iy``)."""
    if not len(want) or not len(have):
        return []
    keys = np.packbits(np.vstack([want, have]), axis=1)
    _, ids = np.unique(keys.view(f"V{keys.shape[1]}").ravel(), return_inverse=True)
    id_x, id_y = ids[: len(want)], ids[len(want) :]
    order = np.argsort(id_y, kind="stable")
    low = np.searchsorted(id_y[order], id_x, side="left")
    count = np.searchsorted(id_y[order], id_x, side="right") - low
    rows = np.repeat(np.arange(len(want)), count)
    cols = order[np.repeat(low - np.cumsum(count) + count, count) + np.arange(count.sum())]
    return list(zip(ix[rows].tolist(), iy[cols].tolist(), strict=True))


def _covering(labels_x: BoolArray, labels_y: BoolArray, ix: IntArray, iy: IntArray) -> list[tuple[int, int]]:
    """Pairs of rows whose labels cover every label, by checking all of them (blocked)."""
    if not len(labels_x) or not len(labels_y):
        return []
    missing_x = np.packbits(~labels_x, axis=1)
    missing_y = np.packbits(~labels_y, axis=1)
    pairs: list[tuple[int, int]] = []
    rows = max(1, _BLOCK_ENTRIES // max(1, missing_y.size))
    for start in range(0, len(missing_x), rows):
        clash = (missing_x[start : start + rows, None, :] & missing_y[None, :, :]).any(axis=2)
        px, py = np.nonzero(~clash)
        pairs.extend(zip(ix[px + start].tolist(), iy[py].tolist(), strict=True))
    return pairs


def _assemble(
    game: NormalFormGame,
    px: _Vertices,
    qy: _Vertices,
    pairs: list[tuple[int, int]],
    tol: float,
    exact_game: exact_arith.RationalBimatrix | None,
) -> tuple[list[Equilibrium], list[Component]]:
    """Certified equilibria (sorted) and the maximal Nash subsets they span."""
    xs = px.points / px.points.sum(axis=1, keepdims=True)
    ys = qy.points / qy.points.sum(axis=1, keepdims=True)
    order = sorted(range(len(pairs)), key=lambda k: (tuple(-xs[pairs[k][0]]), tuple(-ys[pairs[k][1]])))
    pairs = [pairs[k] for k in order]
    index_of = {pair: k for k, pair in enumerate(pairs)}
    bicliques = maximal_bicliques(pairs)
    membership: dict[int, list[int]] = {k: [] for k in range(len(pairs))}
    components: list[Component] = []
    for c, (row_set, col_set) in enumerate(bicliques):
        members = sorted(index_of[(i, j)] for i in row_set for j in col_set)
        for k in members:
            membership[k].append(c)
        components.append(
            Component(
                equilibrium_indices=tuple(members),
                vertices=(xs[sorted(row_set)], ys[sorted(col_set)]),
            )
        )
    equilibria = []
    for k, (i, j) in enumerate(pairs):
        strategies = (xs[i].copy(), ys[j].copy())
        cert = certify(game, strategies)
        exact_strategies: tuple[tuple[Fraction, ...], ...] | None = None
        exact_payoffs: tuple[Fraction, ...] | None = None
        if exact_game is not None:
            if px.exact is None or qy.exact is None:
                raise RuntimeError("vertex_enumeration(): exact vertices missing")
            ex, ey = exact_arith.normalise(px.exact[i]), exact_arith.normalise(qy.exact[j])
            exact_strategies = (ex, ey)
            exact_payoffs = exact_game.payoffs(ex, ey)
        equilibria.append(
            Equilibrium(
                strategies=strategies,
                payoffs=cert.payoffs,
                regrets=cert.regrets,
                nash_conv=cert.nash_conv,
                exact_strategies=exact_strategies,
                exact_payoffs=exact_payoffs,
                components=tuple(membership[k]),
            )
        )
    return equilibria, components
