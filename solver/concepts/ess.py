"""Evolutionarily stable strategies: the strategies a population can hold against any rare mutant.

One population (Maynard Smith and Price 1973) playing a symmetric 2-player game with
payoff matrix ``A`` against itself: a strategy ``x`` is evolutionarily stable (an ESS)
when every mutant ``y != x`` either does worse against ``x`` (``y·Ax < x·Ax``) or ties
there and does worse against itself than ``x`` does against it (``x·Ay > y·Ay``).
Haigh's (1975) finite test, refined by Bomze (1992), enumerates supports: ``x`` is an ESS
if and only if it is a symmetric equilibrium and ``z·Az < 0`` for every nonzero ``z`` in the
cone ``K`` of directions toward the alternative best replies,

    K = {z : Σ z = 0, z_a = 0 off T, z_a >= 0 on T \\ S},

where ``S`` is the support of ``x`` and ``T ⊇ S`` its best replies. The ``margin`` is
``-max z·Az`` over the unit vectors of ``K``; its maximum sits in the relative interior of a
face of ``K`` (the ``z_a`` of one subset ``J ⊆ T \\ S`` positive, the rest zero), at an
eigenvector of ``z·Az`` restricted to that face, so the faces' eigenvectors decide it exactly.

One population per player (any number of players): a profile is evolutionarily stable
exactly when it is a strict equilibrium, every player's action its unique best reply
(Selten 1980); the margin is the smallest loss of a unilateral deviation.

Everything is decided on each player's payoffs mapped onto ``[0, 1]``
(:attr:`~equilibria.solver.game.NormalFormGame.unit_game`), so multiplying a player's
payoffs by a positive number or adding a constant changes nothing. A candidate whose
margin is within the tolerance of 0 is reported with ``decided=False``: its stability is
below what the tolerance can resolve.

Examples
--------
Hawk-Dove with value 2 and cost 4: a population plays Hawk half the time.

>>> from equilibria.solver import NormalFormGame
>>> hawk_dove = NormalFormGame.from_bimatrix([[-1, 2], [0, 1]], [[-1, 0], [2, 1]])
>>> found = evolutionarily_stable(hawk_dove)
>>> [(s.strategies[0].round(6).tolist(), round(s.margin, 6), s.decided) for s in found.strategies]
[([0.5, 0.5], 0.333333, True)]
>>> found.single_population, found.complete
(True, True)

Rock-paper-scissors where a win pays 2 and a loss costs 1: the mixed strategy is an ESS.
With a loss costing 2 it is not, and no strategy is.

>>> import numpy as np
>>> rps = np.array([[0, -1, 2], [2, 0, -1], [-1, 2, 0]])
>>> [s.strategies[0].round(6).tolist() for s in evolutionarily_stable(
...     NormalFormGame.from_bimatrix(rps, rps.T)).strategies]
[[0.333333, 0.333333, 0.333333]]
>>> evolutionarily_stable(NormalFormGame.from_bimatrix(-rps.T, -rps)).strategies
()

Two populations (a row and a column population) of the battle of the sexes: its two pure
equilibria are strict, the mixed one is not stable.

>>> sexes = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
>>> found = evolutionarily_stable(sexes, EssOptions(populations="multi"))
>>> [[s.tolist() for s in e.strategies] for e in found.strategies]
[[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]]

References
----------
.. [1] J. Maynard Smith and G. R. Price, "The logic of animal conflict", Nature 246 (1973)
   15-18.
.. [2] J. Haigh, "Game theory and evolution", Advances in Applied Probability 7 (1975) 8-11.
.. [3] D. T. Bishop and C. Cannings, "Models of animal conflict", Advances in Applied
   Probability 8 (1976) 616-621.
.. [4] I. M. Bomze, "Detecting all evolutionarily stable strategies", Journal of
   Optimization Theory and Applications 75 (1992) 313-329.
.. [5] R. Selten, "A note on evolutionarily stable strategies in asymmetric animal
   conflicts", Journal of Theoretical Biology 84 (1980) 93-101.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time

import numpy as np
import scipy.linalg
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    check_time_limit,
    check_tolerance,
    quoted,
)
from equilibria.solver.evaluation import EvolutionarilyStableSet, EvolutionarilyStableStrategy
from equilibria.solver.game import NormalFormGame
from equilibria.solver.regret import certify

__all__ = [
    "EssOptions",
    "evolutionarily_stable",
    "POPULATIONS",
    "MAX_ACTIONS",
    "MAX_PROFILES",
    "MAX_ALTERNATIVES",
    "MAX_LISTED",
]

#: How the players map onto populations: one per player ("multi"), one for a symmetric
#: 2-player game ("single"), or "auto" (one when the game is symmetric, else one per player).
POPULATIONS = ("auto", "multi", "single")
#: Most actions of a single-population game: its ``2^m - 1`` supports are enumerated.
MAX_ACTIONS = 16
#: Most pure profiles of a multi-population game (a few float arrays of this size are held).
MAX_PROFILES = 10**7
#: Most alternative best replies (``|T \ S|``) whose ``2^|T \ S|`` faces are searched; past
#: it only the faces with at most one of them are, and the candidate is left undecided
#: unless they show it is not stable.
MAX_ALTERNATIVES = 12
#: Most strategies listed (the stable ones first); past it the set is not complete.
MAX_LISTED = 10_000
#: A support's indifference system is singular when ``σ_min <= _SINGULAR σ_max``; it is skipped
#: (:func:`_skipped_margin` bounds the margin of any equilibrium on it).
_SINGULAR = 1e-12
#: Eigenvalues of a face this close (on unit payoffs, consecutive in sorted order) are one
#: repeated eigenvalue: their eigenvectors alone are not determined by the floating-point matrix.
_SAME_EIGENVALUE = 1e-10
#: A simple eigenvalue's unit eigenvector lies inside its face when its entries on ``J`` all
#: exceed this (after a choice of sign).
_INSIDE = 1e-12
#: Supports solved per batch (the clock is read between batches).
_CHUNK = 256
#: Faces of the cone searched between two readings of the clock.
_FACES_PER_CHECK = 256


@dataclasses.dataclass(frozen=True)
class EssOptions:
    """The options of the evolutionarily stable strategies.

    Attributes
    ----------
    populations : {"auto", "multi", "single"}
        "single": Maynard Smith's ESS of a symmetric 2-player game played within one
        population; "multi": one population per player, whose stable profiles are the strict
        equilibria; "auto" (default): one when the game is symmetric within the solve's
        tolerance, else one per player.
    """

    populations: str = "auto"

    def checked(self, function: str = "ess") -> EssOptions:
        """These options, validated.

        Raises
        ------
        InvalidOptionError
            Field ``ess.populations``, for a value outside :data:`POPULATIONS`.

        Examples
        --------
        >>> EssOptions("single").checked()
        EssOptions(populations='single')
        >>> EssOptions("both").checked()
        Traceback (most recent call last):
        ...
        equilibria.solver.errors.InvalidOptionError: ess(): populations must be one of auto, multi, single, got 'both'
        """
        if not isinstance(self.populations, str) or self.populations not in POPULATIONS:
            raise InvalidOptionError(
                "ess.populations",
                f"{function}(): populations must be one of {', '.join(POPULATIONS)}, "
                f"got {quoted(self.populations)}",
            )
        return self


def evolutionarily_stable(
    game: NormalFormGame,
    options: EssOptions = EssOptions(),
    *,
    tol: float = 1e-9,
    time_limit: float | None = None,
) -> EvolutionarilyStableSet:
    """The evolutionarily stable strategies of ``game``, in one population or one per player.

    Parameters
    ----------
    game : NormalFormGame
        For one population a symmetric 2-player game with at most :data:`MAX_ACTIONS`
        actions; for one population per player any game with at most :data:`MAX_PROFILES`
        pure profiles.
    options : EssOptions, optional
        The populations (default: one when the game is symmetric, else one per player).
    tol : float, optional(default=1e-9)
        On each player's payoffs mapped onto [0, 1]: payoff differences within ``tol`` are
        ties (best replies, equilibrium checks), and a margin within ``tol`` of 0 is
        undecided; for one population within ``max(tol, b_m)``, where ``b_m`` bounds the
        margin of what a skipped singular support could hold (``1.6e-10`` for 3 actions,
        ``5.4e-9`` for 16; see Notes).
    time_limit : float, optional
        Seconds the enumeration may take: past them it returns what it found, with
        ``complete=False``.

    Returns
    -------
    EvolutionarilyStableSet
        The stable strategies (``decided=True``, margin above the tolerance) and the
        candidates too close to call (``decided=False``, margin within it); candidates
        clearly unstable are left out. ``equilibrium_index`` is left None. For one
        population each entry is ``(x, x)``, in the game's action order.

    Raises
    ------
    InvalidOptionError
        For options outside their range, ``populations="single"`` for a game that is not
        symmetric, or a bad ``tol`` or ``time_limit``.
    ProblemTooLargeError
        Past :data:`MAX_ACTIONS` actions (one population) or :data:`MAX_PROFILES` pure
        profiles (one per player).

    Notes
    -----
    One population: the supports ``S`` are enumerated by size; each one's indifference
    system ``[A_SS, -1; 1ᵀ, 0] [x_S; v] = [0; 1]`` gives the only candidate with that support,
    kept when ``x_S > tol`` and no action earns more than ``v + tol``. A singular system is
    skipped: its null vector ``(d, w)`` has ``A_SS d = w 1`` and ``Σ d = 0``, so ``d·Ad = 0``
    along a direction of the cone, and no equilibrium on that support has a positive margin
    (equally: a positive solution lies on a line of them, symmetric equilibria of the game
    restricted to ``S``, where an ESS would be the only one; Bishop and Cannings 1976). A system
    singular to ``σ_min <= 1e-12 σ_max`` is skipped too: the same argument, to first order in
    ``σ_min``, bounds any margin on it by ``b_m = 2 · 1e-12 (m + 1)^2 (√2 + 2√m)``, which is
    why margins within it are undecided. For each face
    ``J ⊆ T \\ S`` of the cone, with ``B = (A + Aᵀ) / 2`` restricted to the plane
    ``{Σ z = 0, supp z ⊆ S ∪ J}`` through an orthonormal basis, every eigenvalue ``μ`` whose
    eigenspace holds a ``z`` with ``z_a > 0`` on ``J`` is the value of a unit direction of
    ``K``; the largest such ``μ`` over the faces is ``max z·Az``, and ``margin = -max``. Only
    simple eigenvalues need the sign test: a repeated one is the value of ``z·Az`` all over
    its eigenspace, which then meets the boundary of the face, a smaller face. When ``K = {0}`` (a pure strategy that is
    its own unique best reply) the margin is the smallest loss of a deviation, as for a
    strict equilibrium, and ``inf`` for a game of one action.

    Tolerances inside the test: eigenvalues of a face within 1e-10 of each other are taken as
    one repeated eigenvalue, and a simple one's eigenvector is inside its face when its
    entries on ``J`` exceed 1e-12. For faces whose eigenvalues are well separated or exactly
    repeated the margin is exact up to rounding (about ``m ε``). Eigenvalues that nearly but
    not exactly coincide are the limit: merging them may lower the margin by their spread,
    and an eigenvector within 1e-12 of its face's boundary may be credited to the face or to
    the smaller face beside it, which moves the margin by about ``m`` times that distance.

    A candidate with more than :data:`MAX_ALTERNATIVES` alternative best replies, or whose
    faces the time limit cut short, is undecided with its margin an upper bound (the largest
    ``μ`` of the faces searched), unless that bound already shows it unstable. A constant
    game has no ESS and no strict equilibrium (every mutant ties): it is answered at once.

    References
    ----------
    .. [1] J. Haigh, "Game theory and evolution", Advances in Applied Probability 7 (1975)
       8-11.
    .. [2] I. M. Bomze, "Detecting all evolutionarily stable strategies", Journal of
       Optimization Theory and Applications 75 (1992) 313-329.
    .. [3] R. Selten, "A note on evolutionarily stable strategies in asymmetric animal
       conflicts", Journal of Theoretical Biology 84 (1980) 93-101.
    """
    options = options.checked("evolutionarily_stable")
    check_tolerance(tol, "evolutionarily_stable")
    time_limit = check_time_limit(time_limit, "evolutionarily_stable")
    clock = _Clock(time.perf_counter(), time_limit)
    symmetric = game.is_symmetric(tol)
    if options.populations == "single" and not symmetric:
        raise InvalidOptionError(
            "ess.populations",
            "evolutionarily_stable(): populations='single' needs a symmetric 2-player game "
            "(B = A^T within tol)",
        )
    if options.populations == "single" or (options.populations == "auto" and symmetric):
        return _single_population(game, tol, clock)
    return _multi_population(game, tol, clock)


@dataclasses.dataclass(frozen=True)
class _Clock:
    """When the computation started and how long it may take."""

    started: float
    time_limit: float | None

    def out(self) -> bool:
        return self.time_limit is not None and time.perf_counter() - self.started > self.time_limit


@dataclasses.dataclass(frozen=True)
class _Candidate:
    """A strategy profile with its margin and whether the margin is clear of the tolerance."""

    strategies: tuple[FloatArray, ...]
    margin: float
    decided: bool


@dataclasses.dataclass(frozen=True)
class _ConeSearch:
    """The largest value of ``z·Bz`` found over the unit vectors of the cone (``-inf``: none),
    and whether every face was searched (so it is the maximum)."""

    largest: float
    finished: bool


def _skipped_margin(m: int) -> float:
    """A bound on the margin of any equilibrium on a skipped support of an ``m``-action game.

    With ``(d, w)`` the unit singular vector of ``σ_min = s`` of the system (``σ_max <= k + 1``
    for ``k <= m`` actions, its entries in [-1, 1]): ``A d - w 1 = r`` and ``Σ d = ρ`` with
    ``|r|, |ρ| <= s``, so ``|d·Ad| = |w ρ + d·r| <= √2 s``; ``|d|^2 >= 1 / (k + 1)`` (from ``|w|
    √k <= k |d| + s``); and moving ``d`` onto ``Σ z = 0`` changes ``z·Az`` by at most ``2 √k
    s``. So some unit direction of the support's plane has ``|z·Az| <= s (k + 1)(√2 + 2√k)``,
    doubled for the terms of second order in ``s``.
    """
    return 2.0 * _SINGULAR * (m + 1) ** 2 * (math.sqrt(2.0) + 2.0 * math.sqrt(m))


def _single_population(game: NormalFormGame, tol: float, clock: _Clock) -> EvolutionarilyStableSet:
    m = game.num_actions[0]
    if m > MAX_ACTIONS:
        raise ProblemTooLargeError(
            "payoffs",
            f"evolutionarily_stable(): {m} actions in one population, over the limit of {MAX_ACTIONS} "
            f"(2^{m} - 1 supports to enumerate)",
        )
    a = game.unit_game.payoffs[0]
    threshold = max(tol, _skipped_margin(m))
    total = 2**m - 1
    method = (
        f"Haigh's support enumeration: {total:,} supports, ESS test on the cone of alternative best replies"
    )
    if m > 1 and not a.any():  # constant payoffs: every mutant ties both conditions
        return EvolutionarilyStableSet(
            (), True, True, "constant payoffs: no strategy is evolutionarily stable"
        )
    b = (a + a.T) / 2.0
    found: list[_Candidate] = []
    searched = 0
    stopped = False
    for size in range(1, m + 1):
        supports = itertools.combinations(range(m), size)
        while chunk := list(itertools.islice(supports, _CHUNK)):
            for x, v, ax in _symmetric_equilibria(a, np.array(chunk, dtype=np.intp), tol):
                candidate = _stability(b, x, v, ax, tol, threshold, clock)
                if candidate is not None:
                    found.append(candidate)
            searched += len(chunk)
            if searched < total and clock.out():
                stopped = True
                break
        if stopped:
            break
    if stopped:
        method += f"; stopped by the time limit after {searched:,} of {total:,} supports"
    return _answer(game, found, True, not stopped, method)


def _symmetric_equilibria(
    a: FloatArray, supports: np.ndarray, tol: float
) -> list[tuple[FloatArray, float, FloatArray]]:
    """The symmetric equilibria ``(x, v, Ax)`` with the given supports (one row each, all of
    one size): the solutions of the indifference systems that are positive on the support
    and leave no action more than ``tol`` above ``v``."""
    count, k = supports.shape
    m = a.shape[0]
    systems = np.zeros((count, k + 1, k + 1))
    systems[:, :k, :k] = a[supports[:, :, None], supports[:, None, :]]
    systems[:, :k, k] = -1.0
    systems[:, k, :k] = 1.0
    # A singular system is skipped: its null vector (d, w) has d·Ad = w Σd = 0 along the
    # support's plane, so no equilibrium on it is stable (by more than _skipped_margin when
    # nearly singular). Equally: a positive solution lies on a line of them, symmetric
    # equilibria of the game restricted to S, where an ESS would be the only one (Bishop and
    # Cannings 1976).
    singular_values = np.linalg.svd(systems, compute_uv=False)
    regular = singular_values[:, -1] > _SINGULAR * singular_values[:, 0]
    if not regular.any():
        return []
    rhs = np.zeros((int(regular.sum()), k + 1, 1))
    rhs[:, k, 0] = 1.0
    solved = np.linalg.solve(systems[regular], rhs)[:, :, 0]
    supports = supports[regular]
    # Entries within tol of 0: the point (if an equilibrium) is found on a smaller support.
    positive = (solved[:, :k] > tol).all(axis=1)
    solved, supports = solved[positive], supports[positive]
    x = np.zeros((len(solved), m))
    np.put_along_axis(x, supports, solved[:, :k], axis=1)
    x /= x.sum(axis=1, keepdims=True)
    v = solved[:, k]
    ax = x @ a.T
    nash = (ax <= v[:, None] + tol).all(axis=1)
    return [(x[i], float(v[i]), ax[i]) for i in np.flatnonzero(nash)]


def _stability(
    b: FloatArray, x: FloatArray, v: float, ax: FloatArray, tol: float, threshold: float, clock: _Clock
) -> _Candidate | None:
    """The candidate ``x`` with its margin, or None when it is clearly not stable."""
    support = tuple(int(i) for i in np.flatnonzero(x > 0.0))
    alternatives = tuple(int(i) for i in np.flatnonzero(ax >= v - tol) if x[i] == 0.0)
    search = _cone_maximum(b, support, alternatives, threshold, clock)
    if search.largest == -math.inf:  # K = {0}: x is pure and its own unique best reply
        others = np.delete(ax, support[0])
        margin = v - float(others.max()) if others.size else math.inf
        finished = True
    else:
        margin, finished = -search.largest, search.finished
    if margin < -threshold:
        return None
    return _Candidate((x, x), margin, finished and margin > threshold)


def _cone_maximum(
    b: FloatArray, support: tuple[int, ...], alternatives: tuple[int, ...], threshold: float, clock: _Clock
) -> _ConeSearch:
    """The largest ``z·Bz`` over the unit vectors of the cone ``K`` of ``support`` and its
    alternative best replies, face by face, stopping once it is above ``threshold`` (the
    candidate is then clearly not stable)."""
    largest = -math.inf
    deepest = len(alternatives) if len(alternatives) <= MAX_ALTERNATIVES else 1
    faces = 0
    for size in range(deepest + 1):
        for face in itertools.combinations(alternatives, size):
            largest = max(largest, _face_maximum(b, support, face, largest))
            if largest > threshold:
                return _ConeSearch(largest, True)
            faces += 1
            if faces % _FACES_PER_CHECK == 0 and clock.out():
                return _ConeSearch(largest, False)
    return _ConeSearch(largest, deepest == len(alternatives))


def _face_maximum(b: FloatArray, support: tuple[int, ...], face: tuple[int, ...], above: float) -> float:
    """The largest eigenvalue of ``B`` on the plane ``{Σ z = 0, supp z ⊆ S ∪ J}`` whose
    eigenspace holds a ``z`` with ``z_a > 0`` for every ``a`` in ``J``; only eigenvalues above
    ``above`` are tried (``-inf`` when none qualifies)."""
    index = np.array(support + face, dtype=np.intp)
    r = len(index)
    if r == 1:
        return -math.inf
    basis = _plane_basis(r)
    values, vectors = np.linalg.eigh(basis.T @ b[np.ix_(index, index)] @ basis)
    on_face = (basis @ vectors)[len(support) :]
    top = r - 2
    while top >= 0 and values[top] > above:
        bottom = top
        while bottom > 0 and values[bottom] - values[bottom - 1] <= _SAME_EIGENVALUE:
            bottom -= 1
        if _meets_interior(on_face[:, bottom : top + 1]):
            return float(values[top])
        top = bottom - 1
    return -math.inf


@functools.cache
def _plane_basis(r: int) -> FloatArray:
    """An orthonormal basis (columns) of the plane ``Σ z = 0`` in ``R^r``."""
    return scipy.linalg.null_space(np.ones((1, r)))


def _meets_interior(w: FloatArray) -> bool:
    """Whether an eigenspace of a face counts: ``w`` holds the rows of ``J`` of its orthonormal
    basis (one column per eigenvector).

    With no ``J`` it always does. A simple eigenvalue counts when its eigenvector or its
    negative has every entry on ``J`` above :data:`_INSIDE`. A repeated one never needs to:
    ``z·Bz`` equals the eigenvalue all over the eigenspace, whose part of the face's closed
    cone is a proper cone of dimension ``k >= 2`` when it meets the interior (a line in it
    would have ``z_J = 0``), so it has nonzero boundary points, on smaller faces, where the
    search finds the same value.
    """
    if w.shape[0] == 0:
        return True
    if w.shape[1] > 1:
        return False
    return bool(w[:, 0].min() > _INSIDE or w[:, 0].max() < -_INSIDE)


def _multi_population(game: NormalFormGame, threshold: float, clock: _Clock) -> EvolutionarilyStableSet:
    shape = game.num_actions
    count = math.prod(shape)
    if count > MAX_PROFILES:
        raise ProblemTooLargeError(
            "payoffs", f"evolutionarily_stable(): {count:,} pure profiles, over the limit of {MAX_PROFILES:,}"
        )
    unit = game.unit_game.payoffs
    method = "strict equilibria (Selten 1980): each player's best against second-best payoff, every profile"
    if any(n > 1 and not unit[i].any() for i, n in enumerate(shape)):
        return EvolutionarilyStableSet(
            (), False, True, "strict equilibria (Selten 1980): a player with constant payoffs has none"
        )
    margin = np.full(shape, math.inf)
    for i, n in enumerate(shape):
        if n == 1:
            continue  # no deviation to lose by
        u = unit[i]
        part = np.partition(u, (n - 2, n - 1), axis=i)
        best = np.take(part, [n - 1], axis=i)
        second = np.take(part, [n - 2], axis=i)
        np.minimum(margin, u - np.where(u >= best, second, best), out=margin)
        if clock.out() and i < len(shape) - 1:
            return EvolutionarilyStableSet(
                (),
                False,
                False,
                method + f"; stopped by the time limit after {i + 1} of {len(shape)} players",
            )
    flat = margin.ravel()
    found = []
    for k in np.flatnonzero(flat >= -threshold):
        profile = np.unravel_index(k, shape)
        strategies = tuple(np.eye(n)[a] for n, a in zip(shape, profile, strict=True))
        found.append(_Candidate(strategies, float(flat[k]), bool(flat[k] > threshold)))
    return _answer(game, found, False, True, method)


def _answer(
    game: NormalFormGame, found: list[_Candidate], single: bool, searched: bool, method: str
) -> EvolutionarilyStableSet:
    """The result: the stable strategies first, then the undecided ones, at most
    :data:`MAX_LISTED`, each certified in the user's units."""
    ordered = [c for c in found if c.decided] + [c for c in found if not c.decided]
    listed = ordered[:MAX_LISTED]
    undecided = len(ordered) - sum(c.decided for c in ordered)
    if undecided:
        method += f"; {undecided:,} undecided"
    if len(ordered) > MAX_LISTED:
        method += f"; the first {MAX_LISTED:,} of {len(ordered):,} listed"
    strategies = []
    for c in listed:
        certificate = certify(game, c.strategies)
        strategies.append(
            EvolutionarilyStableStrategy(
                strategies=c.strategies,
                payoffs=certificate.payoffs,
                nash_conv=float(certificate.nash_conv),
                margin=c.margin,
                decided=c.decided,
            )
        )
    complete = searched and not undecided and len(ordered) <= MAX_LISTED
    return EvolutionarilyStableSet(tuple(strategies), single, complete, method)
