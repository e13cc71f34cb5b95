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

The vertices are found by visiting every basis: a support ``S`` of ``x`` and an equally
large set ``T`` of tight best-response constraints determine ``x_S`` by a square linear
system. All systems of one size are solved in one batched call, so the cost is
``C(m + n, m)`` small solves, vectorised. Vertices are identified by their full set of
tight labels, which makes degenerate vertices (more tight labels than dimensions) and
repeated bases harmless.

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

__all__ = ["vertex_enumeration", "count_bases", "MAX_BASES"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Largest number of bases (``count_bases(m, n)``) enumerated before refusing: 13 x 12 fits, 13 x 13 not.
MAX_BASES = 12_000_000
#: Entries of one batched block of linear systems (bounds peak memory).
_BLOCK_ENTRIES = 1 << 22
#: Bases with Hadamard ratio |det| / prod(row norms) at most this are treated as singular.
_SINGULAR_RHO = 1e-12
#: Smallest entry of the rescaled payoff matrices.
_SHIFT = 0.1
#: Safety factor on the float error bound of a basis solution.
_ERROR_SAFETY = 16.0


def count_bases(m: int, n: int) -> int:
    """Number of square systems vertex enumeration solves for an ``m x n`` game (both polytopes)."""
    return 2 * math.comb(m + n, m)


@dataclasses.dataclass(frozen=True)
class _Vertices:
    """Distinct non-zero vertices of one best-response polytope."""

    points: FloatArray  # (k, d), unnormalised
    labels: BoolArray  # (k, m + n), global label order
    supports: tuple[tuple[int, ...], ...]  # the coordinates of a basis of each vertex
    tights: tuple[tuple[int, ...], ...]  # its basis constraints, then every other tight constraint
    ambiguous: bool  # some decision was within float error of its threshold
    exact: tuple[tuple[Fraction, ...], ...] | None = None  # exact points, once certified


def vertex_enumeration(
    game: NormalFormGame,
    *,
    tol: float = 1e-9,
    exact: bool = False,
    max_equilibria: int = 0,
    max_bases: int = MAX_BASES,
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
    max_bases : int, optional
        Refuse games needing more than this many basis solves (see :func:`count_bases`).

    Returns
    -------
    SolutionSet
        ``complete`` is True when every basis was visited, no value was within the
        float error of its threshold (or exact arithmetic decided every vertex) and nothing
        was truncated.

    Raises
    ------
    UnsupportedError
        If the game does not have 2 players.
    ProblemTooLargeError
        If the game needs more than ``max_bases`` basis solves.
    InvalidOptionError
        If ``tol`` is not in (0, 1e-3] or ``max_equilibria`` is negative.
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
    m, n = game.num_actions
    bases = count_bases(m, n)
    if bases > max_bases:
        raise ProblemTooLargeError(
            "method",
            f"vertex_enumeration(): a {m}x{n} game needs {bases:,} basis solves, over the limit of "
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
    px = _vertices(b_pos, search_tol, coordinate_labels_first=True, every_basis=exact)
    qy = _vertices(a_pos.T, search_tol, coordinate_labels_first=False, every_basis=exact)
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
    pairs = _completely_labelled_pairs(px.labels, qy.labels)
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
        method_reason=f"visited all {bases:,} bases of the two best-response polytopes",
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
    mat: FloatArray, tol: float, *, coordinate_labels_first: bool, every_basis: bool = False
) -> _Vertices:
    """Distinct non-zero vertices of ``{z >= 0 : mat^T z <= 1}`` with their labels.

    ``mat`` has shape ``(d, c)``: ``d`` coordinates, ``c`` constraints. The polytope is
    bounded because ``mat > 0``. Labels are ordered coordinates-then-constraints
    (polytope P) or constraints-then-coordinates (polytope Q). With ``every_basis``,
    nothing is merged: every feasible basis is returned as a candidate of its own.
    """
    d, c = mat.shape
    found: dict[bytes, tuple[FloatArray, BoolArray, tuple[int, ...], tuple[int, ...]]] = {}
    ambiguous = False
    for block in _feasible_bases(mat, tol):
        ambiguous |= block.ambiguous
        if not len(block.supports):
            continue
        full = np.zeros((len(block.supports), d))
        np.put_along_axis(full, block.supports, block.z, axis=1)
        slack = 1.0 - full @ mat  # (k, c)
        coord_tight = full <= tol
        cons_tight = np.abs(slack) <= tol
        err = block.error[:, None]
        in_support = np.zeros_like(full, dtype=bool)
        np.put_along_axis(in_support, block.supports, True, axis=1)  # others are exact zeros
        ambiguous |= bool((in_support & (np.abs(np.abs(full) - tol) <= err)).any())
        ambiguous |= bool((np.abs(np.abs(slack) - tol) <= err).any())
        labels = (
            np.hstack([coord_tight, cons_tight])
            if coordinate_labels_first
            else np.hstack([cons_tight, coord_tight])
        )
        keys = np.packbits(labels, axis=1)
        if every_basis:
            basis_ids = np.hstack([block.supports, block.tights]).astype(np.int64)
            keys = np.hstack([keys, basis_ids.view(np.uint8).reshape(len(full), -1)])
        for row in range(len(full)):
            key = keys[row].tobytes()
            if key not in found:
                np.maximum(full[row], 0.0, out=full[row])
                full[row][coord_tight[row]] = 0.0
                basis = tuple(int(t) for t in block.tights[row])
                others = tuple(int(t) for t in np.flatnonzero(cons_tight[row]) if t not in basis)
                found[key] = (
                    full[row],
                    labels[row],
                    tuple(int(i) for i in block.supports[row]),
                    basis + others,
                )
    keys_sorted = sorted(found)
    points = np.array([found[k][0] for k in keys_sorted]).reshape(len(keys_sorted), d)
    labels = np.array([found[k][1] for k in keys_sorted], dtype=bool).reshape(len(keys_sorted), d + c)
    return _Vertices(
        points=points,
        labels=labels,
        supports=tuple(found[k][2] for k in keys_sorted),
        tights=tuple(found[k][3] for k in keys_sorted),
        ambiguous=ambiguous,
    )


@dataclasses.dataclass(frozen=True)
class _BasisBlock:
    """Feasible bases of one batch: supports, basis constraints, solutions, error bounds."""

    supports: IntArray  # (k, s)
    tights: IntArray  # (k, s)
    z: FloatArray  # (k, s)
    error: FloatArray  # (k,) a bound on the float error of each solution
    ambiguous: bool  # a feasibility or regularity decision in this batch was within error


def _feasible_bases(mat: FloatArray, tol: float) -> Iterator[_BasisBlock]:
    """Feasible bases of ``{z >= 0 : mat^T z <= 1}``, batched by support size.

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
            rows = mat[ps]  # (k, s, c): rows of the support
            system = np.take_along_axis(rows, pt[:, None, :], axis=2).transpose(0, 2, 1)  # (k, s, s)
            rho = np.abs(np.linalg.det(system)) / np.prod(np.linalg.norm(system, axis=2), axis=1)
            regular = rho > _SINGULAR_RHO
            ambiguous = bool(((rho > _SINGULAR_RHO * 1e-3) & ~regular).any())
            if not regular.any():
                if ambiguous:
                    yield _BasisBlock(ps[:0], pt[:0], np.zeros((0, s)), np.zeros(0), True)
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
            yield _BasisBlock(ps[feasible], pt[feasible], z[feasible], error[feasible], ambiguous)


def _completely_labelled_pairs(labels_x: BoolArray, labels_y: BoolArray) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` whose labels together cover every label."""
    missing_x = np.packbits(~labels_x, axis=1)
    missing_y = np.packbits(~labels_y, axis=1)
    pairs: list[tuple[int, int]] = []
    rows = max(1, _BLOCK_ENTRIES // max(1, missing_y.size))
    for start in range(0, len(missing_x), rows):
        clash = (missing_x[start : start + rows, None, :] & missing_y[None, :, :]).any(axis=2)
        ix, iy = np.nonzero(~clash)
        pairs.extend(zip((ix + start).tolist(), iy.tolist(), strict=True))
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
