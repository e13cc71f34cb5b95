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
degeneracy. Bases are keyed by the bitmask of their variables in an int64, kept in an
open-addressing hash table. The search runs in a numba-compiled kernel
(:func:`_search_kernel`, compiled once per process by :func:`compile_kernels`): at each
visited basis the tableau ``B^{-1} [1 | M^T | I]`` is computed afresh from the payoffs
(LU inverse plus one step of iterative refinement; no error accumulates along the path),
then its pivots are tested one by one. The search visits about as many bases as the
polytopes have feasible bases (the number of vertices in a non-degenerate game) instead
of the ``C(m + n, m)`` square systems of a brute-force enumeration: a 12 x 12 game with
standard-normal payoffs has a few thousand vertices but ``C(24, 12) = 2,704,156`` bases.
Reverse search [4]_ would avoid the table of visited bases, but it needs a lexicographic
pivoting rule whose float ties would have to be certified too, and it visits the same
feasible bases (or, with the lexicographic rule, fewer of a degenerate vertex, but exact
mode needs them all); the table of 8-byte keys is small.

**Brute force** (every support ``S`` with every equally large set of tight constraints
``T``, as square systems batched in numpy) is kept for games with more than 62 actions
in all (the key would not fit an int64) and as the tests' oracle. The kernel costs
about 4 to 14 us per visited basis (8 x 8 to 12 x 12) and visits every basis at most
once, so it beats brute force at every size: by measurement 3 to 50 times from 2 x 2
to 8 x 8 on random integer, standard-normal and identity games, and 3 to 10 times on
{0, 1, 2} games, whose search visits the most bases (13% of all at 8 x 8, down to 3% at
11 x 11). Vertices are identified by their full set of tight labels, which makes degenerate
vertices and repeated bases harmless.

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

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver import exact as exact_arith
from equilibria.solver.components import maximal_bicliques
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from equilibria.solver.game import NormalFormGame, positive_rescale
from equilibria.solver.regret import certify_many
from equilibria.solver.results import Component, Equilibrium, SolutionSet, construct

__all__ = ["vertex_enumeration", "count_bases", "compile_kernels", "MAX_BASES", "MAX_VISITED"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Games whose worst case ``count_bases(m, n)`` exceeds this are refused before any work
#: (13 x 12 fits, 13 x 13 not). The search usually visits far fewer bases.
MAX_BASES = 12_000_000
#: Default limit on the bases actually visited (both polytopes together): the work done.
#: A game within MAX_BASES always fits (the search visits each basis at most once).
MAX_VISITED = 16_000_000
#: The search keys a basis by a bitmask of its variables in one int64.
_MAX_SEARCH_VARIABLES = 62
#: Entries of one batched block of linear systems (bounds peak memory).
_BLOCK_ENTRIES = 1 << 22
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
    The two polytopes have ``C(m + n, m)`` bases each. Up to 62 actions in all, they are
    searched by pivoting from feasible basis to feasible basis in a numba kernel, which
    visits about as many bases as there are vertices; larger games are enumerated by
    brute force (see the module docstring). ``max_bases`` is the a-priori limit the caller
    can check with :func:`count_bases`; ``max_visited`` bounds the work actually done.
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
    ``method`` is ``"search"``, ``"brute_force"`` or ``"auto"`` (:func:`_use_search`).
    """
    budget = budget if budget is not None else _Budget(MAX_VISITED)
    found: list[list[_BasisBlock]] = [[] for _ in mats]
    for k, mat in enumerate(mats):
        d, c = mat.shape
        if method == "brute_force" or (method == "auto" and not _use_search(d, c)):
            found[k].extend(_brute_force_bases(mat, tol, budget))
            continue
        found[k].append(_search_bases(mat, tol, budget, liberal=every_basis))
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
    """Search by pivoting (faster at every size, by measurement) unless the key does not fit an int64."""
    return d + c <= _MAX_SEARCH_VARIABLES


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


def _search_bases(mat: FloatArray, tol: float, budget: _Budget, *, liberal: bool = False) -> _BasisBlock:
    """Feasible bases of the polytope ``{z >= 0 : mat^T z <= 1}`` by breadth-first search.

    Writes the polytope in standard form ``[mat^T | I] (z, w) = 1`` (variables ``0..d-1``
    the coordinates ``z``, ``d..d+c-1`` the slacks ``w``; a basis is keyed by the bitmask
    of its ``c`` variables) and runs :func:`_search_kernel` from the all-slack basis (the
    vertex ``z = 0``). Each visited basis ``B`` is checked afresh: its inverse ``X`` is
    computed from the payoffs, then the basic solution ``x = B^-1 1`` and the column
    ``a_j = B^-1 A_j`` of each non-basic variable ``j`` (``v = X u``, refined once by
    ``v += X (u - B v)``). Each value gets an a posteriori error bound: ``v - B^-1 u =
    B^-1 r`` for the residual ``r = u - B v``, computed within ``(c + 1) eps (|B| |v| +
    |u|)``, so the error is at most ``|X| (|r| + 2 (c + 1) eps (|B| |v| + |u|))``
    (LAPACK's forward error bound, doubled). The basis is kept when ``x >= -tol`` (``x +
    err >= -tol`` if ``liberal``); a kept basis within its bound of the threshold makes
    the result ambiguous.

    A pivot ``(r, j)`` of a kept basis (``j`` enters, the variable of row ``r`` leaves)
    moves to the point ``x - theta a_j`` with ``theta = x_r / a_rj`` and ``x_j = theta``.
    It is followed when the new basis is regular (Hadamard ratio ``rho |a_rj| |A_r| /
    |A_j|`` over ``_SINGULAR_RHO``, where ``rho = |det B| / prod(column norms)`` starts at
    1 and is updated by each pivot) and that point violates feasibility by at most ``tol``
    plus twice its first-order error bound, or when ``|a_rj|`` is within twice its error
    of zero (no prediction can be trusted; the new basis is then checked afresh). This
    takes every leaving row that attains the minimum ratio (all ties) and also the
    degenerate exchanges with a negative pivot element. A pivot that passes but leads to a
    basis within a factor 1000 of singular makes the result ambiguous.

    Returns the kept bases with a coordinate in them.

    Raises
    ------
    ProblemTooLargeError
        When the budget is exhausted.
    """
    d, c = mat.shape
    columns = np.vstack([mat, np.eye(c)])  # row v: the column of variable v in [mat^T | I]
    norms = np.linalg.norm(columns, axis=1)
    visited, ambiguous, keys, kept, x, err = _search_kernel(
        columns, norms, tol, liberal, budget.limit - budget.visited
    )
    budget.spend(visited)  # raises when the kernel stopped over the budget
    bit = np.left_shift(np.int64(1), np.arange(d + c, dtype=np.int64))
    member = (keys[kept][:, None] & bit[None, :]) != 0
    points = np.zeros((len(kept), d))
    points[member[:, :d]] = x[np.nonzero(member)[1].reshape(len(kept), c) < d]
    basis = np.hstack([member[:, :d], ~member[:, d:]])  # basic coordinates, tight constraints
    return _BasisBlock(points, basis, err, bool(ambiguous))


def compile_kernels() -> None:
    """Compile (or load from numba's on-disk cache) the search kernel now.

    The first call in a process otherwise pays it: seconds on a cold cache. The server's
    forkserver calls this once, so every worker forked from it starts compiled.
    """
    _search_kernel(np.ones((2, 1)), np.ones(2), 1e-9, False, 10)


@numba.njit(cache=True)
def _invert(transposed: FloatArray, inverse: FloatArray, work: FloatArray) -> bool:
    """``inverse = transposed^-1`` by Gauss-Jordan elimination with partial pivoting.

    Row operations only (vectorised ``axpy``). False if a pivot is exactly zero.
    """
    c = transposed.shape[0]
    work[:, :] = transposed
    inverse[:, :] = 0.0
    for i in range(c):
        inverse[i, i] = 1.0
    for k in range(c):
        best, pivot = k, abs(work[k, k])
        for i in range(k + 1, c):
            if abs(work[i, k]) > pivot:
                best, pivot = i, abs(work[i, k])
        if pivot == 0.0:
            return False
        if best != k:
            for t in range(c):
                work[k, t], work[best, t] = work[best, t], work[k, t]
                inverse[k, t], inverse[best, t] = inverse[best, t], inverse[k, t]
        scale = 1.0 / work[k, k]
        for t in range(c):
            work[k, t] *= scale
            inverse[k, t] *= scale
        for i in range(c):
            factor = work[i, k]
            if i != k and factor != 0.0:
                for t in range(c):
                    work[i, t] -= factor * work[k, t]
                    inverse[i, t] -= factor * inverse[k, t]
    return True


@numba.njit(cache=True)
def _tableau(
    columns: FloatArray,
    dense: int,
    unit_row: npt.NDArray[np.int64],
    inverse: FloatArray,
    rhs: FloatArray,
    values: FloatArray,
    error: FloatArray,
    work: FloatArray,
    safety: float,
) -> None:
    """``values[j] = X rhs[j]`` refined once, and its a posteriori error bound ``error[j]``.

    ``columns[t]`` is column ``t`` of the basis matrix ``B`` and ``inverse[t]`` column
    ``t`` of its computed inverse ``X`` (both stored transposed, so every product is a
    sum of rows: vectorised ``axpy``). The columns of ``B`` from ``dense`` on are unit
    vectors (slacks; ``unit_row[t]`` is the row of the one of column ``t``), whose zeros
    are skipped (they add exact zeros). Each right-hand side ``u = rhs[j]`` gets ``v = X
    u``, then ``v += X (u - B v)``, and the bound ``|X| (|u - B v| + safety (|B| |v| +
    |u|))``.
    """
    c = columns.shape[0]
    product, size, step = work[0], work[1], work[2]
    for j in range(rhs.shape[0]):
        u, v = rhs[j], values[j]
        v[:] = 0.0
        for t in range(c):
            if u[t] != 0.0:
                for i in range(c):
                    v[i] += u[t] * inverse[t, i]
        for refine in range(2):
            product[:] = 0.0
            size[:] = 0.0
            for t in range(dense):
                vt, at = v[t], abs(v[t])
                for i in range(c):
                    product[i] += columns[t, i] * vt
                    size[i] += abs(columns[t, i]) * at
            for t in range(dense, c):
                product[unit_row[t]] += v[t]
                size[unit_row[t]] += abs(v[t])
            if refine == 0:  # one step of iterative refinement
                step[:] = 0.0
                for t in range(c):
                    r = u[t] - product[t]
                    if r != 0.0:
                        for i in range(c):
                            step[i] += r * inverse[t, i]
                for i in range(c):
                    v[i] += step[i]
        e = error[j]
        e[:] = 0.0
        for t in range(c):
            r = abs(u[t] - product[t]) + safety * (size[t] + abs(u[t]))
            for i in range(c):
                e[i] += abs(inverse[t, i]) * r


@numba.njit(cache=True)
def _slot(table: npt.NDArray[np.int64], key: np.int64) -> int:
    """Index of ``key`` in the open-addressing table, or of the empty slot where it goes."""
    mask = table.shape[0] - 1
    i = ((key * np.int64(-0x61C8864680B583EB)) >> np.int64(29)) & mask  # Fibonacci hashing, wrapping
    while table[i] != key and table[i] != -1:
        i = (i + 1) & mask
    return i


@numba.njit(cache=True)
def _search_kernel(
    columns: FloatArray,
    norms: FloatArray,
    tol: float,
    liberal: bool,
    limit: int,
) -> tuple[int, bool, npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Breadth-first search over the feasible bases of ``[mat^T | I] (z, w) = 1`` (see :func:`_search_bases`).

    ``columns[v]`` is the column of variable ``v`` (``vstack([mat, I])``), ``norms`` their
    norms.
    Returns the number of bases visited (``limit + 1`` when it stopped there), the
    ambiguity flag, the keys of every basis visited (in visiting order), the index in that
    order of each kept basis with a coordinate in it, and their basic solutions and error
    bounds.
    """
    width, c = columns.shape
    d = width - c
    safety = 2.0 * (c + 1) * 2.220446049250313e-16
    bit = np.empty(width, dtype=np.int64)
    for v in range(width):
        bit[v] = np.int64(1) << np.int64(v)
    start = np.int64(0)
    for v in range(d, width):
        start |= bit[v]
    queue = np.empty(1024, dtype=np.int64)
    queue_rho = np.empty(1024)
    queue[0], queue_rho[0] = start, 1.0
    tail = 1
    table = np.full(2048, -1, dtype=np.int64)
    table[_slot(table, start)] = start
    kept = np.empty(256, dtype=np.int64)
    kept_x = np.empty((256, c))
    kept_err = np.empty(256)
    n_kept = 0
    basic = np.empty(c, dtype=np.int64)
    nonbasic = np.empty(d, dtype=np.int64)
    system = np.empty((c, c))  # B transposed: row t is the column of basic variable t
    inverse = np.empty((c, c))  # X transposed
    work = np.empty((c, c))
    # Right-hand sides, their solutions and error bounds, one per row: 1, then each A_j.
    rhs = np.empty((d + 1, c))
    values = np.empty((d + 1, c))
    error = np.empty((d + 1, c))
    residual = np.empty((3, c))
    unit_row = np.empty(c, dtype=np.int64)
    ambiguous = False
    head = 0
    while head < tail:
        if head >= limit:
            break
        key, rho = queue[head], queue_rho[head]
        nb, nn = 0, 0
        for v in range(width):
            if key & bit[v]:
                basic[nb] = v
                nb += 1
            else:
                nonbasic[nn] = v
                nn += 1
        rhs[0] = 1.0
        for t in range(c):
            system[t] = columns[basic[t]]
        for j in range(d):
            rhs[j + 1] = columns[nonbasic[j]]
        head += 1
        if not _invert(system, inverse, work):
            ambiguous = True  # exactly singular to float precision: no pivot should lead here
            continue
        dense = 0
        for t in range(c):
            if basic[t] < d:
                dense += 1
            else:
                unit_row[t] = basic[t] - d
        _tableau(system, dense, unit_row, inverse, rhs, values, error, residual, safety)
        surely, feasible, close = True, True, False
        x_err_max = 0.0
        for i in range(c):
            x, x_err = values[0, i], error[0, i]
            x_err_max = max(x_err_max, x_err)
            if -x - x_err > tol:
                surely = False
            if -x > tol:
                feasible = False
            if abs(x + tol) <= x_err:
                close = True
        ambiguous |= surely and close
        keep = surely if liberal else feasible
        if not keep:
            continue
        if basic[0] < d:  # the all-slack basis (z = 0) is no vertex
            if n_kept == kept.shape[0]:
                kept = np.concatenate((kept, np.empty(n_kept, dtype=np.int64)))
                kept_x = np.concatenate((kept_x, np.empty((n_kept, c))))
                kept_err = np.concatenate((kept_err, np.empty(n_kept)))
            kept[n_kept] = head - 1
            kept_x[n_kept] = values[0]
            kept_err[n_kept] = x_err_max
            n_kept += 1
        for j in range(d):
            col = j + 1
            a_err_max, size_max = 0.0, 0.0
            row, low = -1, np.inf  # the row of the minimum ratio: a cheap witness of a spill
            for i in range(c):
                a_err_max = max(a_err_max, error[col, i])
                size_max = max(size_max, abs(values[col, i]))
                if values[col, i] > 2.0 * error[col, i] and max(values[0, i], 0.0) / values[col, i] < low:
                    row, low = i, max(values[0, i], 0.0) / values[col, i]
            for r in range(c):
                a_rj = values[col, r]
                size_a = abs(a_rj)
                new_rho = rho * size_a * (norms[basic[r]] / norms[nonbasic[j]])
                if not new_rho > 1e-15:  # _SINGULAR_RHO * 1e-3: certainly singular
                    continue
                theta = values[0, r] / a_rj
                unsure = size_a <= 2.0 * error[col, r]
                if not unsure:
                    spread = x_err_max + abs(theta) * a_err_max
                    margin = tol + 2.0 * spread * (1.0 + (1.0 + size_max) / size_a)
                    if -theta > margin:
                        continue
                    if row >= 0 and theta * values[col, row] - values[0, row] > margin:
                        continue
                    spill = False
                    for i in range(c):
                        if theta * values[col, i] - values[0, i] > margin:
                            spill = True
                            break
                    if spill:
                        continue
                if not new_rho > 1e-12:  # _SINGULAR_RHO
                    ambiguous = True
                    continue
                neighbour = key ^ bit[basic[r]] ^ bit[nonbasic[j]]
                slot = _slot(table, neighbour)
                if table[slot] == neighbour:
                    continue
                table[slot] = neighbour
                if tail == queue.shape[0]:
                    queue = np.concatenate((queue, np.empty(tail, dtype=np.int64)))
                    queue_rho = np.concatenate((queue_rho, np.empty(tail)))
                queue[tail], queue_rho[tail] = neighbour, new_rho
                tail += 1
                if 2 * tail > table.shape[0]:
                    old = table
                    table = np.full(2 * old.shape[0], -1, dtype=np.int64)
                    for k in range(old.shape[0]):
                        if old[k] != -1:
                            table[_slot(table, old[k])] = old[k]
    visited = head + 1 if head < tail else head
    return visited, ambiguous, queue[:tail], kept[:n_kept], kept_x[:n_kept], kept_err[:n_kept]


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
    if pairs:  # by decreasing x, then decreasing y, lexicographically (stable)
        index = np.array(pairs, dtype=np.intp)
        keys = np.hstack([-xs[index[:, 0]], -ys[index[:, 1]]])
        pairs = [pairs[k] for k in np.lexsort(keys.T[::-1]).tolist()]
    index_of = {pair: k for k, pair in enumerate(pairs)}
    bicliques = maximal_bicliques(pairs)
    membership: dict[int, list[int]] = {k: [] for k in range(len(pairs))}
    components: list[Component] = []
    for c, (row_set, col_set) in enumerate(bicliques):
        if len(row_set) == 1 and len(col_set) == 1:  # an isolated equilibrium (every one, generically)
            (i,), (j,) = row_set, col_set
            k = index_of[(i, j)]
            membership[k].append(c)
            components.append(
                construct(Component, equilibrium_indices=(k,), vertices=(xs[i : i + 1], ys[j : j + 1]))
            )
            continue
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
    rows = np.array([i for i, _ in pairs], dtype=np.intp)
    cols = np.array([j for _, j in pairs], dtype=np.intp)
    certificates = certify_many(game, xs[rows], ys[cols]) if pairs else []  # one compiled loop
    for k, ((i, j), cert) in enumerate(zip(pairs, certificates, strict=True)):
        strategies = (xs[i].copy(), ys[j].copy())
        exact_strategies: tuple[tuple[Fraction, ...], ...] | None = None
        exact_payoffs: tuple[Fraction, ...] | None = None
        if exact_game is not None:
            if px.exact is None or qy.exact is None:
                raise RuntimeError("vertex_enumeration(): exact vertices missing")
            ex, ey = exact_arith.normalise(px.exact[i]), exact_arith.normalise(qy.exact[j])
            exact_strategies = (ex, ey)
            exact_payoffs = exact_game.payoffs(ex, ey)
        equilibria.append(
            construct(
                Equilibrium,
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
