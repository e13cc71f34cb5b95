"""Every Nash equilibrium of a 2-player game by vertex enumeration.

With both payoff matrices made positive, the extreme equilibria are the completely
labelled vertex pairs of the two best-response polytopes (Mangasarian 1964), and in a
degenerate game the equilibria form the maximal Nash subsets ``conv(X) x conv(Y)`` those
pairs span (Avis et al. 2010). The vertices come from the polytopes' feasible bases
(:mod:`~equilibria.solver.normal_form.bases`): the smaller player's polytope is searched
and, when its vertices are non-degenerate, each one's complementary face of the other is
solved (as lrsnash does), else both are searched; every decision is certified against its
float error, or in rational arithmetic with ``exact=True``. See docs/normal-form.md
(section "Vertex enumeration") for the polytopes, the search and the certification.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration
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
import math
import time
from fractions import Fraction

import numpy as np
from equilibria.solver._typing import FloatArray, IntArray
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_time_limit,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame, positive_rescale
from equilibria.solver.normal_form import exact as exact_arith
from equilibria.solver.normal_form import lexicographic
from equilibria.solver.normal_form.bases import Budget, use_search
from equilibria.solver.normal_form.components import maximal_bicliques
from equilibria.solver.normal_form.exact_search import PolytopeVertices, polytope_vertices
from equilibria.solver.normal_form.integer_faces import integer_partners
from equilibria.solver.normal_form.integer_search import IntegerBases, integer_bases
from equilibria.solver.normal_form.labelled_pairs import completely_labelled_pairs
from equilibria.solver.normal_form.labelled_vertices import (
    Vertices,
    first_of_each_label_set,
    label_classes,
    matched_vertices,
)
from equilibria.solver.normal_form.lexicographic import Residues
from equilibria.solver.normal_form.rational_polytope import RationalPolytope
from equilibria.solver.regret import certify_many
from equilibria.solver.results import Component, Equilibrium, SolutionSet, collector_paused, construct

__all__ = ["vertex_enumeration", "count_bases", "enumeration_seconds", "MAX_BASES", "MAX_VISITED"]


#: Games enumerated by brute force (over 62 actions in all) whose ``count_bases(m, n)``
#: exceeds this are refused before any work; ``solve``'s automatic choice enumerates
#: smaller games (13 x 12 fits, 13 x 13 not) whatever its time estimate.
MAX_BASES = 12_000_000
#: Default limit on the bases actually visited (both polytopes together): the work done.
MAX_VISITED = 16_000_000
#: Smallest entry of the rescaled payoff matrices.
_SHIFT = 0.1
_SHIFT_EXACT = Fraction(1, 10)  # _SHIFT exactly: the integer matrices of lexicographic.py
_EPS = float(np.finfo(np.float64).eps)
_ZERO = Fraction(0)


def count_bases(m: int, n: int) -> int:
    """Worst-case number of bases of both best-response polytopes of an ``m x n`` game.

    The brute-force enumeration solves exactly this many square systems; the pivoting
    search visits at most this many (usually far fewer: only the feasible ones and their
    infeasible neighbours that could not be ruled out beforehand).
    """
    return 2 * math.comb(m + n, m)


def vertex_enumeration(
    game: NormalFormGame,
    *,
    tol: float = 1e-9,
    exact: bool = False,
    max_equilibria: int = 0,
    max_bases: int = MAX_BASES,
    max_visited: int = MAX_VISITED,
    time_limit: float | None = None,
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
        Refuse, before any work, a game too large for the pivoting search (over 62
        actions in all, enumerated by brute force) whose number of bases
        (:func:`count_bases`) exceeds this: brute force does all of that work.
    max_visited : int, optional(default=MAX_VISITED)
        Stop after visiting this many bases (both polytopes together): the limit on
        the work done.
    time_limit : float, optional
        Stop the search after this many seconds (checked every few thousand bases).

    Returns
    -------
    SolutionSet
        ``complete`` is True when every feasible basis was visited, every value within
        the float error of its threshold was decided in rational arithmetic (the few
        bases concerned solved exactly, or, for a doubt inside the search, every vertex
        searched exactly) and nothing was truncated. A search stopped by ``max_visited``
        or ``time_limit`` returns the equilibria of the vertices it reached (each
        certified), incomplete, with a warning that says how far it got; when the exact
        search that settles a doubt is stopped, the float search's equilibria are
        returned, incomplete, with a warning saying so. ``method_reason`` says how many
        bases were visited.

    Raises
    ------
    UnsupportedError
        If the game does not have 2 players.
    ProblemTooLargeError
        If a game for brute force has more than ``max_bases`` bases.
    InvalidOptionError
        If ``tol`` is not in (0, 1e-3], ``max_equilibria`` is negative, ``max_visited``
        is not positive or ``time_limit`` is not a positive number.

    Notes
    -----
    The two polytopes have ``C(m + n, m)`` bases each. Up to 62 actions in all, they are
    searched by pivoting from feasible basis to feasible basis in a numba kernel, which
    visits about as many bases as there are vertices (:func:`enumeration_seconds`
    estimates the time); larger games are enumerated by brute force (see
    docs/normal-form.md).
    """
    started = time.perf_counter()
    bases = _checked_size(game, tol, max_equilibria, max_bases, max_visited, time_limit)
    deadline = None if time_limit is None else started + float(time_limit)
    m = game.num_actions[0]
    a, b = game.bimatrix()
    exact_game = exact_arith.rational_bimatrix(a, b) if exact else None
    warnings: list[str] = []
    searched = matched = ""
    pairs: list[tuple[int, int]] | None = None
    budget = Budget(max_visited, deadline)
    # The polytopes read exactly, for the few bases the floats cannot decide (read if needed).
    read = (
        RationalPolytope(b, _SHIFT_EXACT, exact_game and exact_game.b),
        RationalPolytope(a.T, _SHIFT_EXACT, exact_game and tuple(zip(*exact_game.a, strict=True))),
    )
    polytopes = read if a.size <= exact_arith.MAX_EXACT_ENTRIES else (None, None)
    integer = _integer_vertices(a, b, budget, exact=exact_game is not None)
    if integer is not None:
        # Integer payoffs whose tableaux stay within int64: every vertex found exactly.
        px, qy, pairs, how = integer
        visited, ambiguous = budget.visited, False
        matched = f": lexicographic pivoting in exact integer arithmetic{how}, every label exact"
    elif exact_game is not None:
        # Exact mode: the float search (every decision certified, every feasible basis
        # kept) gives a superset of the exact game's completely labelled pairs; each
        # candidate pair's vertices are solved from their bases and labelled in rational
        # arithmetic (_exact_points). When a float decision is within its error, or a
        # basis is singular in rational arithmetic, every feasible basis is searched in
        # exact arithmetic instead (complete by construction, no float decision).
        a_pos, b_pos = positive_rescale(a, _SHIFT), positive_rescale(b, _SHIFT)
        px, qy, matched = matched_vertices(
            b_pos,
            a_pos.T,
            tol,
            budget,
            distinct=False,
            residues=_lexicographic_residues(a, b),
            exact=polytopes,
        )
        visited = budget.visited
        checked = None
        if not (px.ambiguous or qy.ambiguous):  # a stopped search's candidates too: anytime
            checked = _exact_points(px, qy, read, m)
        if checked is None:
            px, qy, exact_visited = _exact_vertices(exact_game, max_visited - visited, deadline)
            searched = f"visited {visited:,} bases in floats, then {exact_visited:,} feasible bases exactly"
            visited += exact_visited
            matched = ""
        else:
            px, qy, pairs = checked
            matched += "; every candidate pair of vertices solved and checked in rational arithmetic"
        ambiguous = False
    else:
        a_pos, b_pos = positive_rescale(a, _SHIFT), positive_rescale(b, _SHIFT)
        px, qy, matched = matched_vertices(
            b_pos, a_pos.T, tol, budget, residues=_lexicographic_residues(a, b), exact=polytopes
        )
        visited = budget.visited
        ambiguous = px.ambiguous or qy.ambiguous
        stopped = px.stopped or qy.stopped
        if ambiguous and not stopped and a.size <= exact_arith.MAX_EXACT_ENTRIES:
            # A decision fell within float round-off: decide every vertex exactly instead
            # (the payoffs read as the rationals of exact mode), which proves completeness.
            exact_px, exact_qy, exact_visited = _exact_vertices(
                exact_arith.rational_bimatrix(a, b), max_visited - visited, deadline
            )
            searched = f"visited {visited:,} bases in floats, then {exact_visited:,} feasible bases exactly"
            visited += exact_visited
            matched = ""
            exact_stopped = exact_px.stopped or exact_qy.stopped
            if exact_stopped:
                # Anytime: the float search's answer stands (each equilibrium certified by
                # its regret), incomplete; the exact search's part would hold fewer.
                warnings.append(
                    "near-degenerate: a vertex decision was within float round-off, and the exact search "
                    f"that settles it stopped by {_limit(exact_stopped, max_visited, time_limit)} after "
                    f"{exact_visited:,} bases: the float search's equilibria are listed, each certified by "
                    "its regret; completeness is not certified"
                )
            else:
                px, qy, ambiguous = exact_px, exact_qy, False
                warnings.append(
                    "near-degenerate: a vertex decision was within float round-off, so every vertex was "
                    "decided in exact rational arithmetic"
                )
        elif ambiguous:
            warnings.append(
                "near-degenerate: a vertex decision was within float round-off of the tolerance, or a "
                "basis was too close to singular to decide; completeness is not certified "
                "(use exact=True for rational payoffs)"
            )
    stopped = px.stopped or qy.stopped
    if pairs is None:
        pairs = completely_labelled_pairs(px.labels, qy.labels, m)
    if stopped:
        warnings.append(
            f"stopped by {_limit(stopped, max_visited, time_limit)} after visiting {visited:,} bases"
            + (" in exact arithmetic" if searched else "")
            + ": every equilibrium listed is certified, others may be missing"
        )
    truncated = bool(max_equilibria) and len(pairs) > max_equilibria
    if truncated:
        pairs = pairs[:max_equilibria]
        warnings.append(f"truncated to max_equilibria={max_equilibria}")
    with collector_paused():
        equilibria, components = _assemble(game, px, qy, pairs, tol, exact_game)
    warnings.extend(_degeneracy_warnings(equilibria, components, truncated or bool(stopped) or ambiguous))
    return SolutionSet(
        game_id=game.id,
        equilibria=tuple(equilibria),
        components=tuple(components),
        complete=not truncated and not ambiguous and not stopped,
        method="vertex_enumeration",
        method_reason=(
            f"{searched or f'visited {visited:,}'} of the at most {bases:,} bases of the two best-response "
            f"polytopes{matched}"
        ),
        warnings=tuple(warnings),
        tolerance=tol,
        exact=exact_game is not None,
        elapsed_seconds=time.perf_counter() - started,
    )


def _limit(stopped: str, max_visited: int, time_limit: float | None) -> str:
    """The limit that stopped a search, as the user set it."""
    return f"max_visited={max_visited:,}" if stopped == "max_visited" else f"time_limit={time_limit:g} s"


def _integer_vertices(
    a: FloatArray, b: FloatArray, budget: Budget, *, exact: bool
) -> tuple[Vertices, Vertices, list[tuple[int, int]], str] | None:
    """Both polytopes' vertices that equilibria can pair, exactly, the completely labelled
    pairs and how the vertices were matched; None when the payoffs are not integers or an
    entry of a tableau would leave int64's safe range (the caller then searches in floats).

    The polytope of the player with fewer actions is searched (:mod:`.integer_search`) and
    each of its vertices' complementary faces of the other (:mod:`.integer_faces`), as
    lrsnash does; when a face's entries would leave int64, the other polytope is searched
    whole instead. The polytopes are those of the integer matrices ``K`` with ``K / S`` the
    positive rescaling (:func:`.lexicographic.integer_form`): the same polytopes scaled by
    ``S``, which normalising the strategies undoes. Every label is exact. With ``exact``,
    each vertex in a pair gets its exact strategy (``numerators / sum(numerators)``) and the
    payoff of every equilibrium it is in (:func:`_vertex_payoff`).
    """
    m = a.shape[0]
    p_first = m <= a.shape[1]
    sides = ((b, True), (a.T, False)) if p_first else ((a.T, False), (b, True))
    forms = []
    for raw, _ in sides:
        form = lexicographic.integer_form(raw, _SHIFT_EXACT)
        if form is None or not use_search(*form[0].shape):
            return None
        forms.append(form)
    searched = integer_bases(forms[0][0], budget)
    if searched is None:
        return None
    first = _integer_block(searched, sides[0][1])
    partners = None
    if not searched.stopped:
        partners = integer_partners(forms[1][0], first[0].labels, m=m, other_is_p=not p_first, budget=budget)
    how = ""
    if partners is None:
        other = integer_bases(forms[1][0], budget)
        if other is None:
            return None
    else:
        other, kinds = partners.found, partners.kinds
        names = ("row", "column") if p_first else ("column", "row")
        how = (
            f" (the {names[0]} player's polytope searched, then the complementary faces of its "
            f"{len(first[0].labels):,} vertices in the {names[1]} player's: {kinds['solved']:,} solved "
            f"as square systems, {kinds['searched']:,} searched, {kinds['empty']:,} empty)"
        )
    found = [
        (*first, forms[0][1], sides[0][0]),
        (*_integer_block(other, sides[1][1]), forms[1][1], sides[1][0]),
    ]
    if not p_first:
        found.reverse()
    (px, x_found, x_scale, x_raw), (qy, y_found, y_scale, y_raw) = found
    pairs = completely_labelled_pairs(px.labels, qy.labels, a.shape[0])
    if exact:
        with collector_paused():  # thousands of fractions, none of them garbage
            exact_sides = []
            for vertices, (numerators, determinants), scale, raw, used in (
                (px, x_found, x_scale, x_raw, {i for i, _ in pairs}),
                (qy, y_found, y_scale, y_raw, {j for _, j in pairs}),
            ):
                strategies, payoffs = {}, {}
                lo, hi = int(raw.min()), int(raw.max())
                # Structured games repeat their probabilities (the identity game's are all 1/k):
                # each distinct fraction is made once.
                made: dict[tuple[int, int], Fraction] = {}
                totals = numerators.sum(axis=1).tolist()
                for k in sorted(used):
                    total = totals[k]
                    strategies[k] = tuple(
                        made.get((v, total)) or made.setdefault((v, total), Fraction(v, total))
                        if v
                        else _ZERO
                        for v in numerators[k].tolist()
                    )
                    payoffs[k] = _vertex_payoff(int(determinants[k]), total, scale, lo, hi)
                exact_sides.append(dataclasses.replace(vertices, exact=strategies, exact_payoff=payoffs))
        px, qy = exact_sides
    return px, qy, pairs, how


def _vertex_payoff(det: int, total: int, scale: Fraction, lo: int, hi: int) -> Fraction:
    """The opponent's exact payoff at every equilibrium that uses this vertex.

    A vertex ``y = numerators / det`` of ``{y >= 0 : K^T y <= 1}`` (``K / scale`` the
    opponent's payoffs rescaled to ``low + (u - lo) / (hi - lo)``) makes each constraint of
    the opponent's support tight: against the strategy ``y / sum(y)`` each action the
    opponent plays earns ``1 / (scale sum(y))`` in the rescaled payoffs, so the opponent's
    payoff is that value mapped back, ``lo + (det / (scale total) - low) (hi - lo)``.
    """
    if hi == lo:  # constant payoffs
        return Fraction(lo)
    return lo + (Fraction(det) / (scale * total) - _SHIFT_EXACT) * (hi - lo)


def _integer_block(
    bases: IntegerBases, coordinate_labels_first: bool
) -> tuple[Vertices, tuple[IntArray, IntArray]]:
    """One vertex per exact label set (the first basis found), labels in the global order;
    with the vertices' numerators and determinants."""
    d = bases.numerators.shape[1]
    own = bases.labels
    labels = own if coordinate_labels_first else np.hstack([own[:, d:], own[:, :d]])
    first = np.sort(first_of_each_label_set(labels))
    numerators, determinants = bases.numerators[first], bases.determinants[first]
    vertices = Vertices(
        numerators / determinants[:, None], labels[first], ambiguous=False, stopped=bases.stopped
    )
    return vertices, (numerators, determinants)


def _lexicographic_residues(a: FloatArray, b: FloatArray) -> tuple[Residues | None, Residues | None]:
    """The residues of P's and Q's integer matrices (:mod:`.lexicographic`), each None where
    the payoffs are not integers or need too many primes."""
    found = []
    for raw in (b, a.T):
        k = lexicographic.integer_matrix(raw, _SHIFT_EXACT)
        found.append(None if k is None else lexicographic.residues(k))
    return found[0], found[1]


def enumeration_seconds(m: int, n: int) -> float:
    """A rough estimate of :func:`vertex_enumeration`'s time on an ``m x n`` game, in seconds.

    The search visits about as many bases as the smaller player's polytope (``d =
    min(m, n)`` coordinates, ``c = max(m, n)`` constraints) has vertices, about
    ``exp(-0.6 + 0.75 d + 0.115 (c - d))`` on standard-normal and random integer games
    (within a factor 2 from 5 x 5 to 14 x 28), at about ``1.2 + 0.07 c d``
    microseconds each on this project's reference machine, plus as much again for the
    faces. Degenerate games can have many more (the identity game's polytope is a cube:
    ``2^n`` vertices).

    Examples
    --------
    >>> round(enumeration_seconds(12, 12), 1), round(enumeration_seconds(16, 16), 1)
    (0.1, 3.4)
    """
    d, c = min(m, n), max(m, n)
    vertices = math.exp(-0.6 + 0.75 * d + 0.115 * (c - d))
    return 2.0 * vertices * (1.2 + 0.07 * c * d) * 1e-6


def _checked_size(
    game: NormalFormGame,
    tol: float,
    max_equilibria: int,
    max_bases: int,
    max_visited: int,
    time_limit: float | None,
) -> int:
    """Check :func:`vertex_enumeration`'s game and options; the worst-case number of bases."""
    if game.n_players != 2:
        raise UnsupportedError(
            "method", f"vertex_enumeration(): needs a 2-player game, got {game.n_players} players"
        )
    check_tolerance(tol, "vertex_enumeration")
    if max_equilibria < 0:
        raise InvalidOptionError("max_equilibria", "vertex_enumeration(): max_equilibria must be >= 0")
    if max_visited < 1:
        raise InvalidOptionError(
            "max_visited", f"vertex_enumeration(): max_visited must be >= 1, got {max_visited}"
        )
    check_time_limit(time_limit, "vertex_enumeration")
    m, n = game.num_actions
    bases = count_bases(m, n)
    if not use_search(m, n) and bases > max_bases:
        raise ProblemTooLargeError(
            "method",
            f"vertex_enumeration(): a {m}x{n} game is enumerated by brute force over up to {bases:,} bases, "
            f"over the limit of {max_bases:,}; use method='lemke_howson' for one equilibrium",
        )
    return bases


def _degeneracy_warnings(
    equilibria: list[Equilibrium], components: list[Component], truncated: bool
) -> list[str]:
    """Warnings that the game is degenerate: an even count, or a continuum of equilibria."""
    warnings = []
    if len(equilibria) % 2 == 0 and not truncated:
        warnings.append(
            f"degenerate game: {len(equilibria)} extreme equilibria (a non-degenerate game has an odd number)"
        )
    if any(not c.is_singleton for c in components):
        warnings.append("degenerate game: some equilibria form a continuum (non-singleton components)")
    return warnings


def _exact_points(
    px: Vertices, qy: Vertices, polytopes: tuple[RationalPolytope, RationalPolytope], m: int
) -> tuple[Vertices, Vertices, list[tuple[int, int]]] | None:
    """The float search's candidate pairs decided in rational arithmetic (None: search exactly).

    The float search (tolerance ``tol``, every decision certified) finds every feasible
    basis of the exact game's polytopes, plus perhaps some whose exact point is slightly
    infeasible, and labels every vertex with each exact label plus perhaps a few more: so
    the exact equilibria are among its completely labelled pairs. Each vertex of a pair is
    solved exactly from its basis (:meth:`RationalPolytope.solve`, the polytopes the float
    search's matrices stand for) and its exact labels computed; a pair is kept when both
    points are feasible and their exact labels cover every label. Returns the vertices
    with the exact points (keyed by vertex index) and the kept pairs; None when a basis is
    singular in rational arithmetic.
    """
    n = px.labels.shape[1] - m
    # Bases with the same float labels pair alike: pair the label sets, not the bases (a
    # degenerate game has thousands of bases and millions of pairs of them).
    x_sets, x_class = label_classes(px.labels)
    y_sets, y_class = label_classes(qy.labels)
    class_pairs = completely_labelled_pairs(x_sets, y_sets, m)
    sides = []
    for vertices, polytope, d, c, wanted in (
        (px, polytopes[0], m, n, np.flatnonzero(np.isin(x_class, [i for i, _ in class_pairs])).tolist()),
        (qy, polytopes[1], n, m, np.flatnonzero(np.isin(y_class, [j for _, j in class_pairs])).tolist()),
    ):
        exact: dict[int, tuple[Fraction, ...]] = {}
        labels: dict[int, frozenset[int] | None] = {}  # own order: coordinates, then constraints
        # A degenerate vertex has many bases: a basis whose equations an already solved point
        # satisfies exactly (zero off its support, tight on its constraints) has that point
        # as its solution when it is nonsingular, and no other vertex when it is singular.
        # Points solved so far, bucketed by their float point (a miss costs one more solve).
        solved: dict[tuple[float, ...], list[tuple[tuple[Fraction, ...], frozenset[int], bool]]] = {}
        for k in sorted(wanted):
            basis = vertices.basis[k] if vertices.basis is not None else None
            if basis is None:
                return None
            equations = frozenset(i for i in range(d) if not basis[i]) | frozenset(
                d + t for t in range(c) if basis[d + t]
            )
            bucket = solved.setdefault(tuple(np.round(vertices.points[k], 6).tolist()), [])
            known = next((entry for entry in bucket if equations <= entry[1]), None)
            if known is None:
                found = polytope.solve(
                    [i for i in range(d) if basis[i]], [t for t in range(c) if basis[d + t]]
                )
                if found is None:
                    return None
                point, values = found
                known = (
                    tuple(point),
                    frozenset(i for i in range(d) if point[i] == 0)
                    | frozenset(d + t for t in range(c) if values[t] == 1),
                    min(point) >= 0 and max(values) <= 1,
                )
                bucket.append(known)
            exact[k] = known[0]
            labels[k] = known[1] if known[2] else None
        sides.append((exact, labels))
    (x_exact, x_labels), (y_exact, y_labels) = sides
    # The float points of the decided vertices are their exact points rounded (as the
    # exact search gives them), not the float search's.
    floats = []
    for vertices, exact in ((px, x_exact), (qy, y_exact)):
        points = vertices.points.copy()
        for k, point in exact.items():
            points[k] = [float(v) for v in point]
        floats.append(points)
    # Bases of one exact vertex (a degenerate one) stand for it by the first of them.
    reps = []
    for exact, labels, classes in ((x_exact, x_labels, x_class), (y_exact, y_labels, y_class)):
        first = {point: k for k, point in sorted(exact.items(), reverse=True)}
        by_class: dict[int, set[int]] = {}
        for k, point in exact.items():
            if labels[k] is not None:
                by_class.setdefault(int(classes[k]), set()).add(first[point])
        reps.append(by_class)
    pairs = {(i, j) for cx, cy in class_pairs for i in reps[0].get(cx, ()) for j in reps[1].get(cy, ())}
    # Global labels: P's own order is already global; Q's constraints are labels 0..m-1.
    x_mask = {k: sum(1 << t for t in lx) for k, lx in x_labels.items() if lx is not None}
    y_mask = {
        k: sum(1 << (t - n) if t >= n else 1 << (m + t) for t in ly)
        for k, ly in y_labels.items()
        if ly is not None
    }
    full = (1 << (m + n)) - 1
    kept = {(i, j) for i, j in pairs if x_mask[i] | y_mask[j] == full}
    return (
        dataclasses.replace(px, exact=x_exact, points=floats[0]),
        dataclasses.replace(qy, exact=y_exact, points=floats[1]),
        sorted(kept),
    )


def _exact_vertices(
    exact_game: exact_arith.RationalBimatrix, max_visited: int, deadline: float | None
) -> tuple[Vertices, Vertices, int]:
    """Both polytopes' vertices by exact search (:mod:`~equilibria.solver.normal_form.exact_search`).

    A polytope's ``stopped`` says its search stopped at ``max_visited`` or the deadline.
    """
    m, n = len(exact_game.a), len(exact_game.a[0])
    p_found = polytope_vertices(exact_game.b_positive, max_bases=max_visited, deadline=deadline)
    q_found = polytope_vertices(
        tuple(zip(*exact_game.a_positive, strict=True)),
        max_bases=max_visited - p_found.bases,
        deadline=deadline,
    )
    return (
        _exact_block(p_found, m, n, coordinate_labels_first=True),
        _exact_block(q_found, n, m, coordinate_labels_first=False),
        p_found.bases + q_found.bases,
    )


def _exact_block(found: PolytopeVertices, d: int, c: int, *, coordinate_labels_first: bool) -> Vertices:
    """Exact vertices as :class:`Vertices`, labels in the global order (row player's actions first)."""
    vertices = sorted(found.vertices)  # a fixed order, whatever order the search met them in
    points = np.array([[float(v) for v in point] for point, _ in vertices], dtype=np.float64).reshape(-1, d)
    labels = np.zeros((len(vertices), d + c), dtype=bool)
    for k, (_, tight) in enumerate(vertices):
        for label in tight:  # own order: coordinates 0..d-1, then constraints d..d+c-1
            labels[k, label if coordinate_labels_first else (c + label if label < d else label - d)] = True
    exact = tuple(point for point, _ in vertices)
    return Vertices(points, labels, ambiguous=False, exact=exact, stopped=found.stopped)


def _assemble(
    game: NormalFormGame,
    px: Vertices,
    qy: Vertices,
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
            if px.exact_payoff is not None and qy.exact_payoff is not None:  # from the integer search
                exact_strategies = (tuple(px.exact[i]), tuple(qy.exact[j]))
                exact_payoffs = (qy.exact_payoff[j], px.exact_payoff[i])
            else:
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
