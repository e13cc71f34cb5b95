"""Distances between policies, and from policies to sets of solutions.

Scoring a learning trace (SPEC section 5) asks, at every snapshot ``z``, how far the
joint policy :math:`\\pi^z` is from the solution set ``S``. This module supplies the
distances, vectorised over a batch of snapshots (batch first).

**Between two probability vectors** ``p`` and ``q`` over the same actions
(:func:`distance`, along the last axis):

============  ================================================================
``"tv"``      total variation :math:`\\tfrac12 \\sum_a |p_a - q_a|` (in [0, 1])
``"l1"``      :math:`\\sum_a |p_a - q_a|` (in [0, 2])
``"l2"``      Euclidean :math:`(\\sum_a (p_a - q_a)^2)^{1/2}` (in [0, sqrt 2])
``"linf"``    :math:`\\max_a |p_a - q_a|` (in [0, 1])
``"hellinger"``  :math:`(\\tfrac12 \\sum_a (\\sqrt{p_a} - \\sqrt{q_a})^2)^{1/2}` (in [0, 1])
``"js"``      Jensen-Shannon *divergence* with natural logarithms,
              :math:`\\tfrac12 KL(p \\| m) + \\tfrac12 KL(q \\| m)`,
              :math:`m = (p + q)/2` (in [0, ln 2]; its square root is a metric, the
              divergence itself is not)
``"kl"``      smoothed Kullback-Leibler divergence :math:`KL(\\tilde p \\| \\tilde q)`
              with :math:`\\tilde q = (1 - \\alpha) q + \\alpha / |A|` (and
              :math:`\\tilde p` alike), ``alpha =`` :data:`KL_SMOOTHING` ``= 1e-6``: finite
              (at most :math:`\\ln(|A| / \\alpha)`), 0 exactly when ``p = q`` (smoothing
              only ``q`` would leave :math:`KL(p \\| \\tilde p) \\approx \\alpha`), not
              symmetric
============  ================================================================

**Between profiles** (:func:`profile_distance`): per-player distances, aggregated over
players by ``"max"`` or ``"sum"``; for stationary policies of a stochastic game (one
probability vector per state) the aggregated per-state distance is averaged over states
with weights (state visitation, or the initial distribution), i.e.
:math:`d(\\pi, \\pi') = \\sum_s w_s \\operatorname{agg}_i d(\\pi_i(\\cdot|s), \\pi'_i(\\cdot|s))`.

**To a solution set** (:func:`distance_to_set`): the minimum over the set's extreme
equilibria (:func:`distance_to_points`, the fast path) and over its convex components
(:func:`distance_to_component`). A component of a 2-player game is a *product*
:math:`X_1 \\times X_2` of convex hulls of vertex strategies (a maximal Nash subset,
Avis et al. 2010); as the aggregation over players is monotone and separable, the
distance to the product is the aggregate of each player's distance to their hull,
:math:`d_i(x_i, \\operatorname{conv} V_i)`: an exact Euclidean projection for ``"l2"``,
a linear program for ``"tv"``, ``"l1"`` and ``"linf"``, a small convex program for
``"hellinger"``, ``"js"`` and ``"kl"`` (all three convex in the second argument).

**To a polytope of joint distributions** (:func:`distance_to_polyhedron`): the distance
from empirical joint play to the correlated or coarse correlated equilibria,
``{p in simplex : A_ub p <= b_ub}``, with the constraints from
:func:`correlated_polytope`.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.distances import SolutionTarget, distance, distance_to_set
>>> float(distance([1.0, 0.0], [0.0, 1.0], "tv"))
1.0
>>> segment = SolutionTarget.from_points(
...     [(np.array([1.0, 0.0]), np.array([1.0, 0.0])), (np.array([1.0, 0.0]), np.array([0.0, 1.0]))],
...     components=[(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))],
... )
>>> snapshots = (np.array([[1.0, 0.0], [0.8, 0.2]]), np.array([[0.5, 0.5], [0.5, 0.5]]))
>>> d = distance_to_set(snapshots, segment, "tv")  # both points are 0.5 away
>>> d.distances.round(6).tolist(), d.nearest_kind.tolist()
([0.0, 0.2], ['component', 'component'])

References
----------
.. [1] A. L. Gibbs and F. E. Su, "On choosing and bounding probability metrics",
   International Statistical Review 70 (2002) 419-435.
.. [2] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Transactions on
   Information Theory 37 (1991) 145-151.
.. [3] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
.. [4] S. Boyd and L. Vandenberghe, "Convex Optimization", Cambridge University Press
   (2004), section 8.1 (projection on a set).
.. [5] M. Lanctot et al., "OpenSpiel: a framework for reinforcement learning in games",
   arXiv:1908.09453 (2019): NashConv and exploitability of learning traces.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from equilibria.solver.correlated import KINDS, incentive_constraints
from equilibria.solver.errors import InvalidGameError, InvalidOptionError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.results import Component, MarkovSolutionSet, SolutionSet
from scipy.optimize import linprog, minimize

__all__ = [
    "METRICS",
    "AGGREGATES",
    "KL_SMOOTHING",
    "PROBABILITY_TOL",
    "HULL_ZERO_TOL",
    "SolutionTarget",
    "SetDistance",
    "distance",
    "profile_distance",
    "distance_to_points",
    "distance_to_component",
    "distance_to_set",
    "distance_to_polyhedron",
    "correlated_polytope",
    "compile_kernels",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Distances between probability vectors (see the module docstring).
METRICS = ("tv", "l1", "l2", "linf", "hellinger", "js", "kl")
#: Aggregations of per-player distances.
AGGREGATES = ("max", "sum")
#: Weight ``alpha`` of the uniform distribution mixed into both arguments of ``"kl"``.
KL_SMOOTHING = 1e-6
#: Slack allowed on probability vectors (negative entries, sums off 1).
PROBABILITY_TOL = 1e-6
#: A snapshot whose Euclidean distance to a convex hull or polytope is at most this is in
#: it: its distance is 0.0 in every metric (absorbs rounding of the projection).
HULL_ZERO_TOL = 1e-12

#: Elements ``K * S * block`` of the work arrays of :func:`distance_to_points` (~256 kB).
_BLOCK_ELEMENTS = 32_768
#: Rows per block of the compiled distance kernel (its work array is ``block x K``).
_KERNEL_BLOCK = 256
#: Floor on the second argument inside gradients of hellinger / js (the functions
#: themselves are evaluated exactly).
_GRADIENT_FLOOR = 1e-15
#: At most this many vertex subsets are enumerated for an exact L2 projection onto a
#: hull; beyond it Wolfe's algorithm runs per snapshot.
_MAX_FACES = 2048
#: Non-zeros of one batched LP (several snapshots solved as one block-diagonal LP).
_LP_BATCH_NONZEROS = 200_000


# =========================================================================== result types


@dataclasses.dataclass(frozen=True, eq=False)
class SolutionTarget:
    """A solution set as the target of distances: extreme points and convex components.

    Attributes
    ----------
    points : tuple of ndarray
        Per player, ``(K, a_i)`` (normal form) or ``(K, S, a_i)`` (stationary policies of
        a stochastic game): the ``K`` points of the set, row ``k`` of every player
        forming profile ``k``. ``K`` may be 0 when the set is given by components only.
    components : tuple of tuple of ndarray
        Each component is, per player, a ``(V_i, a_i)`` array of vertex strategies; the
        component is the product over players of their vertices' convex hulls (a
        maximal Nash subset, :class:`~equilibria.solver.results.Component`). Normal
        form only.

    Raises
    ------
    InvalidGameError
        (field ``"target"``) on arrays of inconsistent shapes, rows that are not
        probability vectors, or an empty set.

    Examples
    --------
    >>> import numpy as np
    >>> t = SolutionTarget.from_points([(np.array([0.5, 0.5]), np.array([0.5, 0.5]))])
    >>> t.n_points, t.num_actions, t.n_states
    (1, (2, 2), None)
    """

    points: tuple[FloatArray, ...]
    components: tuple[tuple[FloatArray, ...], ...] = ()

    def __post_init__(self) -> None:
        points = tuple(_as_float(p, "target", "SolutionTarget()").copy() for p in self.points)
        if len(points) < 2:
            raise InvalidGameError("target", f"SolutionTarget(): {len(points)} players given, need >= 2")
        ndim = points[0].ndim
        if ndim not in (2, 3) or any(p.ndim != ndim for p in points):
            raise InvalidGameError(
                "target",
                "SolutionTarget(): points must be (K, a_i) or (K, S, a_i) arrays of one rank, got shapes "
                f"{[p.shape for p in points]}",
            )
        if any(p.shape[:-1] != points[0].shape[:-1] for p in points) or any(p.shape[-1] == 0 for p in points):
            raise InvalidGameError(
                "target", f"SolutionTarget(): point arrays disagree in K or S: {[p.shape for p in points]}"
            )
        for i, p in enumerate(points):
            _check_probabilities(p, "target", "SolutionTarget()", f"points[{i}]")
            p.setflags(write=False)
        num_actions = tuple(p.shape[-1] for p in points)
        components = []
        for c, comp in enumerate(self.components):
            vertices = tuple(_as_float(v, "target", "SolutionTarget()").copy() for v in comp)
            if ndim != 2:
                raise InvalidGameError(
                    "target", "SolutionTarget(): components are supported for normal-form targets only"
                )
            if len(vertices) != len(points) or any(
                v.ndim != 2 or v.shape[0] == 0 or v.shape[1] != k
                for v, k in zip(vertices, num_actions, strict=True)
            ):
                raise InvalidGameError(
                    "target",
                    f"SolutionTarget(): component {c} has vertex arrays {[v.shape for v in vertices]}; "
                    f"expected one (V_i, a_i) array per player with a_i = {num_actions}",
                )
            for i, v in enumerate(vertices):
                _check_probabilities(v, "target", "SolutionTarget()", f"components[{c}][{i}]")
                v.setflags(write=False)
            components.append(vertices)
        if points[0].shape[0] == 0 and not components:
            raise InvalidGameError("target", "SolutionTarget(): the set is empty (no points, no components)")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "components", tuple(components))

    @property
    def n_points(self) -> int:
        """Number of points ``K``."""
        return int(self.points[0].shape[0])

    @property
    def num_actions(self) -> tuple[int, ...]:
        """Number of actions of each player."""
        return tuple(int(p.shape[-1]) for p in self.points)

    @property
    def n_states(self) -> int | None:
        """Number of states ``S`` of a stochastic-game target, ``None`` for normal form."""
        return int(self.points[0].shape[1]) if self.points[0].ndim == 3 else None

    @classmethod
    def from_points(
        cls,
        profiles: Sequence[Sequence[npt.ArrayLike]],
        components: Sequence[Sequence[npt.ArrayLike]] = (),
    ) -> SolutionTarget:
        """Build a target from a list of profiles (and optional components).

        Parameters
        ----------
        profiles : sequence of profiles
            Each profile is one strategy per player: ``(a_i,)`` vectors, or ``(S, a_i)``
            per-state policies. May be empty when ``components`` is not.
        components : sequence of components, optional
            Each a sequence, per player, of ``(V_i, a_i)`` vertex arrays.

        Returns
        -------
        SolutionTarget

        Examples
        --------
        >>> import numpy as np
        >>> t = SolutionTarget.from_points([(np.array([1.0, 0.0]), np.array([0.0, 1.0]))])
        >>> t.points[0].tolist(), t.points[1].tolist()
        ([[1.0, 0.0]], [[0.0, 1.0]])
        """
        comps = tuple(tuple(np.asarray(v, dtype=np.float64) for v in comp) for comp in components)
        if len(profiles) == 0:
            if not comps:
                raise InvalidGameError(
                    "target", "SolutionTarget.from_points(): no profiles and no components"
                )
            points = tuple(np.zeros((0, v.shape[-1])) for v in comps[0])
            return cls(points=points, components=comps)
        n = len(profiles[0])
        if any(len(p) != n for p in profiles):
            raise InvalidGameError(
                "target", "SolutionTarget.from_points(): profiles have different numbers of players"
            )
        try:
            points = tuple(np.stack([np.asarray(p[i], dtype=np.float64) for p in profiles]) for i in range(n))
        except (TypeError, ValueError) as exc:
            raise InvalidGameError(
                "target", f"SolutionTarget.from_points(): profiles of inconsistent shapes ({exc})"
            ) from exc
        return cls(points=points, components=comps)

    @classmethod
    def from_solution_set(cls, solution_set: SolutionSet | MarkovSolutionSet) -> SolutionTarget:
        """The target of a solved game: its equilibria as points, its components.

        Parameters
        ----------
        solution_set : SolutionSet or MarkovSolutionSet
            For a :class:`~equilibria.solver.results.SolutionSet` the points are the
            equilibria's strategies (``points[i][k]`` is ``equilibria[k].strategies[i]``)
            and the components its components, in order (so ``nearest_index`` of a
            :class:`SetDistance` indexes ``solution_set.equilibria`` or
            ``solution_set.components``). For a
            :class:`~equilibria.solver.results.MarkovSolutionSet` the points are the
            stationary policies ``(S, a_i)``.

        Returns
        -------
        SolutionTarget

        Raises
        ------
        InvalidGameError
            (field ``"target"``) if the set has no equilibria, or its Markov policies
            are not stationary (finite-horizon policies are per stage).

        Examples
        --------
        >>> from equilibria.solver import NormalFormGame, solve
        >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
        >>> t = SolutionTarget.from_solution_set(solve(chicken))
        >>> t.n_points, len(t.components)
        (3, 3)
        """
        function = "SolutionTarget.from_solution_set()"
        if isinstance(solution_set, MarkovSolutionSet):
            if not solution_set.equilibria:
                raise InvalidGameError("target", f"{function}: the solution set has no equilibria")
            if any(not eq.stationary for eq in solution_set.equilibria):
                raise InvalidGameError(
                    "target",
                    f"{function}: finite-horizon (per-stage) policies are not stationary; pass per-stage "
                    "targets with SolutionTarget.from_points",
                )
            return cls.from_points([eq.policies for eq in solution_set.equilibria])
        if not isinstance(solution_set, SolutionSet):
            raise InvalidGameError(
                "target", f"{function}: expected a SolutionSet, got {type(solution_set).__name__}"
            )
        if not solution_set.equilibria:
            raise InvalidGameError("target", f"{function}: the solution set has no equilibria")
        return cls.from_points(
            [eq.strategies for eq in solution_set.equilibria],
            components=[comp.vertices for comp in solution_set.components],
        )


@dataclasses.dataclass(frozen=True, eq=False)
class SetDistance:
    """Distances of snapshots to a solution set, and which member is nearest.

    Attributes
    ----------
    distances : ndarray, shape (Z,)
        ``d(snapshot_z, S)``, the minimum over the set's points and components.
    nearest_kind : ndarray of str, shape (Z,)
        ``"point"`` or ``"component"``: what attains the minimum (a point wins ties).
    nearest_index : ndarray of int, shape (Z,)
        Index into ``target.points`` (axis 0) or ``target.components``.
    """

    distances: FloatArray
    nearest_kind: npt.NDArray[np.str_]
    nearest_index: IntArray


# =========================================================================== public functions


def distance(p: npt.ArrayLike, q: npt.ArrayLike, metric: str = "tv") -> FloatArray:
    """Distance between probability vectors along the last axis (broadcasting the rest).

    Parameters
    ----------
    p, q : array_like, shape (..., a)
        Probability vectors (non-negative, summing to 1 within :data:`PROBABILITY_TOL`)
        along the last axis; the leading axes broadcast.
    metric : str, optional(default="tv")
        One of :data:`METRICS`. ``"kl"`` is :math:`KL(\\tilde p \\| \\tilde q)` (smoothed);
        ``"js"`` is the Jensen-Shannon divergence in nats.

    Returns
    -------
    ndarray
        Shape ``broadcast(p.shape[:-1], q.shape[:-1])`` (a 0-d array for two vectors).

    Raises
    ------
    InvalidOptionError
        If ``metric`` is unknown (field ``"metric"``).
    InvalidGameError
        If ``p`` or ``q`` is not an array of probability vectors, or the two disagree in
        their last axis (field ``"p"`` or ``"q"``).

    Examples
    --------
    >>> round(float(distance([0.5, 0.5], [1.0, 0.0], "hellinger")), 6)
    0.541196
    >>> round(float(distance([1.0, 0.0], [0.0, 1.0], "js")), 6)  # ln 2
    0.693147
    >>> distance([[1.0, 0.0], [0.5, 0.5]], [0.5, 0.5], "linf").tolist()
    [0.5, 0.0]

    References
    ----------
    .. [1] A. L. Gibbs and F. E. Su, "On choosing and bounding probability metrics",
       International Statistical Review 70 (2002) 419-435.
    .. [2] S. Kullback and R. A. Leibler, "On information and sufficiency", Annals of
       Mathematical Statistics 22 (1951) 79-86.
    """
    function = "distance()"
    _check_metric(function, metric)
    pa = _as_float(p, "p", function)
    qa = _as_float(q, "q", function)
    if pa.ndim == 0 or qa.ndim == 0 or pa.shape[-1] != qa.shape[-1] or pa.shape[-1] == 0:
        raise InvalidGameError(
            "q",
            f"{function}: p of shape {pa.shape} and q of shape {qa.shape} are not vectors over one action set",
        )
    _check_probabilities(pa, "p", function, "p")
    _check_probabilities(qa, "q", function, "q")
    try:
        np.broadcast_shapes(pa.shape, qa.shape)
    except ValueError as exc:
        raise InvalidGameError("q", f"{function}: shapes {pa.shape} and {qa.shape} do not broadcast") from exc
    return _vector_distance(pa, qa, metric)


def profile_distance(
    x: Sequence[npt.ArrayLike],
    y: Sequence[npt.ArrayLike],
    metric: str = "tv",
    aggregate: str = "max",
    state_weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """Distance between profiles: per-player distances aggregated over players (and states).

    Parameters
    ----------
    x, y : sequence of array_like
        One array per player, of shape ``(..., a_i)``, or ``(..., S, a_i)`` with
        ``state_weights``; the leading axes broadcast between ``x`` and ``y``.
    metric : str, optional(default="tv")
        One of :data:`METRICS`.
    aggregate : str, optional(default="max")
        ``"max"`` or ``"sum"`` over players.
    state_weights : array_like, optional
        When given, axis ``-2`` of every array is the state axis and the aggregated
        per-state distances are averaged with these weights: shape ``(S,)`` or
        broadcastable to ``(..., S)``, non-negative, normalised to sum 1 (e.g. the
        state visitation of the reference policy, or the initial distribution).

    Returns
    -------
    ndarray
        One distance per broadcast batch element.

    Raises
    ------
    InvalidOptionError
        Unknown ``metric`` or ``aggregate`` (fields ``"metric"``, ``"aggregate"``).
    InvalidGameError
        Profiles that do not match or are not probability vectors (fields ``"x"``,
        ``"y"``), bad weights (field ``"state_weights"``).

    Examples
    --------
    >>> x = ([1.0, 0.0], [0.5, 0.5])
    >>> y = ([0.0, 1.0], [0.5, 0.5])
    >>> float(profile_distance(x, y, "tv", "max")), float(profile_distance(x, y, "l1", "sum"))
    (1.0, 2.0)
    >>> xs = ([[1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [1.0, 0.0]])  # two states
    >>> ys = ([[0.0, 1.0], [0.5, 0.5]], [[1.0, 0.0], [1.0, 0.0]])
    >>> float(profile_distance(xs, ys, "tv", state_weights=[0.25, 0.75]))
    0.25
    """
    function = "profile_distance()"
    _check_metric(function, metric)
    _check_aggregate(function, aggregate)
    xs = [_as_float(a, "x", function) for a in x]
    ys = [_as_float(a, "y", function) for a in y]
    if len(xs) < 2 or len(xs) != len(ys):
        raise InvalidGameError(
            "y", f"{function}: x has {len(xs)} players and y has {len(ys)}; need the same number >= 2"
        )
    min_rank = 2 if state_weights is not None else 1
    for i, (a, b) in enumerate(zip(xs, ys, strict=True)):
        for field, arr in (("x", a), ("y", b)):
            if arr.ndim < min_rank or arr.shape[-1] == 0:
                raise InvalidGameError(
                    field, f"{function}: {field}[{i}] of shape {arr.shape} has no action (and state) axis"
                )
            _check_probabilities(arr, field, function, f"{field}[{i}]")
        if a.shape[-1] != b.shape[-1] or (state_weights is not None and a.shape[-2] != b.shape[-2]):
            raise InvalidGameError(
                "y", f"{function}: player {i}: x has shape {a.shape} but y has shape {b.shape}"
            )
    try:
        per_player = [_vector_distance(a, b, metric) for a, b in zip(xs, ys, strict=True)]
        per_player = list(np.broadcast_arrays(*per_player))
    except ValueError as exc:
        raise InvalidGameError(
            "y", f"{function}: the profiles' batch shapes do not broadcast ({exc})"
        ) from exc
    total = _aggregate(per_player, aggregate)
    if state_weights is None:
        return total
    w = _as_float(state_weights, "state_weights", function)
    try:
        w = np.broadcast_to(w, np.broadcast_shapes(w.shape, total.shape))
    except ValueError as exc:
        raise InvalidGameError(
            "state_weights",
            f"{function}: state_weights of shape {w.shape} do not fit per-state distances {total.shape}",
        ) from exc
    w = _normalised_weights(w, function)
    return np.asarray(np.sum(total * w, axis=-1), dtype=np.float64)


def distance_to_points(
    snapshots: Sequence[npt.ArrayLike],
    points: Sequence[npt.ArrayLike] | SolutionTarget,
    metric: str = "tv",
    aggregate: str = "max",
    state_weights: npt.ArrayLike | None = None,
) -> tuple[FloatArray, IntArray]:
    """Distance of each snapshot to the nearest of ``K`` profiles, and which one it is.

    The fast path of trace scoring: ``min_k profile_distance(snapshot_z, point_k)`` for a
    batch of ``Z`` snapshots, in cache-sized blocks of rows with every loop running
    over the rows of a block (contiguous memory), and a loop over the (few) actions
    instead of a reduction over a short last axis.

    Parameters
    ----------
    snapshots : sequence of array_like
        Per player ``(Z, a_i)`` (normal form) or ``(Z, S, a_i)`` (stationary policies),
        each row a probability vector.
    points : sequence of array_like or SolutionTarget
        Per player ``(K, a_i)`` or ``(K, S, a_i)``, ``K >= 1``; or a
        :class:`SolutionTarget`, whose points are used.
    metric : str, optional(default="tv")
        One of :data:`METRICS`.
    aggregate : str, optional(default="max")
        ``"max"`` or ``"sum"`` over players.
    state_weights : array_like, optional
        Stochastic games only: ``(S,)`` or ``(Z, S)`` non-negative weights, normalised
        per snapshot; default uniform over states.

    Returns
    -------
    distances : ndarray, shape (Z,)
    nearest : ndarray of int, shape (Z,)
        Index ``k`` of the nearest point (the first on ties).

    Raises
    ------
    InvalidOptionError
        Unknown ``metric`` or ``aggregate``.
    InvalidGameError
        Snapshots that are not probability vectors or do not fit the points (field
        ``"snapshots"``), bad points (``"points"``), bad weights (``"state_weights"``).

    Notes
    -----
    ``"tv"``, ``"l1"``, ``"l2"``, ``"linf"`` and ``"hellinger"`` run in one compiled
    pass (numba, :func:`compile_kernels`) that checks each row as it reads it; ``"js"``
    and ``"kl"`` in blocked numpy (their logarithms would not match numpy's to the last
    bit). Throughput on one core of a shared 2-core AMD EPYC VM (2 players x 3 actions,
    ``K = 5``, float64, Z = 2e6, input validation included, min of 7, load average
    2.5-3): 1.9-3.6e7 snapshots per second for the compiled metrics (the blocked numpy
    kernel they replace: 0.9-1.5e7), 7e6 for ``"kl"`` and 1.3-1.5e6 for ``"js"``; the
    naive broadcast ``abs(x[:, None] - P[None]).sum(-1)`` reaches 0.8-1.8e6. The
    compiled kernel does numpy's operations in numpy's order, so without state weights
    its answers equal the numpy kernel's to the last bit (with weights, the weighted
    sum over states is in order where numpy's matmul may not be: equal to rounding). A
    float32 work array would be faster but is not used: it would change the distances
    at the 1e-7 level. The answers equal :func:`profile_distance`'s to the last bit
    for players with fewer than 8 actions and no state weights (numpy sums fewer than
    8 terms in order), and to rounding otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> snapshots = (np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> points = (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> d, k = distance_to_points(snapshots, points, "tv")
    >>> d.round(6).tolist(), k.tolist()
    ([0.1, 0.2], [0, 1])
    """
    function = "distance_to_points()"
    _check_metric(function, metric)
    _check_aggregate(function, aggregate)
    if isinstance(points, SolutionTarget):
        if points.n_points == 0:
            raise InvalidGameError("points", f"{function}: the target has no points")
        ps = list(points.points)
    else:
        ps = _checked_points(points, function)
    xs = _checked_snapshots(snapshots, ps, function)
    weights = _checked_state_weights(state_weights, xs, function)
    return _points_kernel(_as_states(xs), _as_states(ps), weights, metric, aggregate, function)


def distance_to_component(
    snapshots: Sequence[npt.ArrayLike],
    component: Component | Sequence[npt.ArrayLike],
    metric: str = "tv",
    aggregate: str = "max",
) -> FloatArray:
    """Distance of each snapshot to a product of convex hulls (a component of equilibria).

    For a component :math:`C = \\operatorname{conv} V_1 \\times \\dots \\times
    \\operatorname{conv} V_n`, :math:`d(x, C) = \\operatorname{agg}_i \\min_{y_i \\in
    \\operatorname{conv} V_i} d(x_i, y_i)`, one problem per player and *distinct*
    snapshot row (repeated rows, e.g. pure policies, are solved once):

    * ``"l2"``: the exact Euclidean projection. For up to 2048 candidate faces it is
      vectorised: every affinely independent subset of at most ``a_i`` vertices, the
      projection onto its affine hull, kept when its barycentric weights are
      non-negative; the nearest feasible candidate is the projection (it lies in the
      relative interior of a face, and Carathéodory gives an affinely independent
      subset of that face containing it). Beyond that, Wolfe's finite nearest-point
      algorithm per row.
    * ``"tv"``, ``"l1"``, ``"linf"``: a linear program over the convex weights (HiGHS;
      several rows per block-diagonal LP, about 50 µs per row for small hulls).
    * ``"hellinger"``, ``"js"``, ``"kl"``: SLSQP over the convex weights, started from the
      best of the vertices and the L2 projection (a few ms per row).

    Every reported distance is the metric evaluated exactly at a point of the hull (the
    best of the vertices, the L2 projection and the optimiser's point), so it is never
    below the true distance; for the optimisation-based metrics it exceeds it by at
    most the solver's tolerance (tests measure below 1e-7). A row within
    :data:`HULL_ZERO_TOL` (Euclidean) of the hull is at distance 0.0.

    Parameters
    ----------
    snapshots : sequence of array_like
        Per player ``(Z, a_i)``.
    component : Component or sequence of array_like
        A :class:`~equilibria.solver.results.Component`, or per player ``(V_i, a_i)``
        vertex arrays.
    metric : str, optional(default="tv")
    aggregate : str, optional(default="max")

    Returns
    -------
    ndarray, shape (Z,)

    Raises
    ------
    InvalidOptionError
        Unknown ``metric`` or ``aggregate``.
    InvalidGameError
        Bad vertices (field ``"component"``) or snapshots (field ``"snapshots"``).

    Examples
    --------
    >>> import numpy as np
    >>> segment = (np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> inside = (np.array([[1.0, 0.0]]), np.array([[0.3, 0.7]]))
    >>> distance_to_component(inside, segment, "l2").tolist()
    [0.0]

    References
    ----------
    .. [1] P. Wolfe, "Finding the nearest point in a polytope", Mathematical Programming
       11 (1976) 128-149.
    .. [2] D. Kraft, "A software package for sequential quadratic programming", DFVLR-FB
       88-28 (1988) (SLSQP).
    .. [3] Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex method",
       Mathematical Programming Computation 10 (2018) 119-142 (HiGHS).
    """
    function = "distance_to_component()"
    _check_metric(function, metric)
    _check_aggregate(function, aggregate)
    vertices = _checked_component(component, function)
    xs = _checked_snapshots(snapshots, vertices, function)
    return _component_kernel(xs, vertices, metric, aggregate)


def distance_to_set(
    snapshots: Sequence[npt.ArrayLike],
    target: SolutionTarget | SolutionSet | MarkovSolutionSet,
    metric: str = "tv",
    aggregate: str = "max",
    state_weights: npt.ArrayLike | None = None,
) -> SetDistance:
    """Distance of each snapshot to a solution set: the nearest point or component.

    Parameters
    ----------
    snapshots : sequence of array_like
        Per player ``(Z, a_i)`` or ``(Z, S, a_i)``.
    target : SolutionTarget or SolutionSet or MarkovSolutionSet
        The set (a solution set is converted by :meth:`SolutionTarget.from_solution_set`).
    metric : str, optional(default="tv")
    aggregate : str, optional(default="max")
    state_weights : array_like, optional
        As in :func:`distance_to_points`.

    Returns
    -------
    SetDistance

    Raises
    ------
    InvalidOptionError
        Unknown ``metric`` or ``aggregate``.
    InvalidGameError
        Snapshots that do not fit the target (field ``"snapshots"``), a bad target
        (field ``"target"``).

    Notes
    -----
    Components with one vertex per player are points: they cost as much as a point.
    Other components cost one optimisation per distinct snapshot row and player for
    every metric but ``"l2"`` (see :func:`distance_to_component`).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame, solve
    >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> snapshots = (np.array([[0.6, 0.4], [1.0, 0.0]]), np.array([[0.7, 0.3], [0.0, 1.0]]))
    >>> d = distance_to_set(snapshots, solve(chicken), "linf")
    >>> d.distances.round(6).tolist()
    [0.066667, 0.0]
    """
    function = "distance_to_set()"
    _check_metric(function, metric)
    _check_aggregate(function, aggregate)
    if not isinstance(target, SolutionTarget):
        if not isinstance(target, (SolutionSet, MarkovSolutionSet)):
            raise InvalidGameError(
                "target",
                f"{function}: target must be a SolutionTarget or a solution set, got {type(target).__name__}",
            )
        target = SolutionTarget.from_solution_set(target)
    xs = _checked_snapshots(snapshots, target.points, function)
    weights = _checked_state_weights(state_weights, xs, function)
    z = xs[0].shape[0]
    best = np.full(z, np.inf)
    kind = np.full(z, "point", dtype="<U9")
    index = np.zeros(z, dtype=np.intp)
    if target.n_points:
        best, index = _points_kernel(
            _as_states(xs), _as_states(target.points), weights, metric, aggregate, function
        )
    # Singleton components are points: those equal to a point of the target cannot be
    # nearer (a point wins ties), the others go through the points kernel in one pass.
    singletons = [
        c
        for c, vertices in enumerate(target.components)
        if all(v.shape[0] == 1 for v in vertices) and not _is_target_point(target, vertices)
    ]
    candidates: list[tuple[FloatArray, IntArray]] = []
    if singletons:
        profiles = [np.vstack([target.components[c][i] for c in singletons]) for i in range(len(xs))]
        d, which = _points_kernel(_as_states(xs), _as_states(profiles), None, metric, aggregate, function)
        candidates.append((d, np.asarray(singletons, dtype=np.intp)[which]))
    for c, vertices in enumerate(target.components):
        if any(v.shape[0] > 1 for v in vertices):
            candidates.append((_component_kernel(xs, list(vertices), metric, aggregate), np.full(z, c)))
    for d, which in candidates:
        closer = d < best
        best = np.where(closer, d, best)
        kind[closer] = "component"
        index[closer] = which[closer]
    return SetDistance(distances=best, nearest_kind=kind, nearest_index=index)


def _is_target_point(target: SolutionTarget, vertices: Sequence[FloatArray]) -> bool:
    """Whether a one-vertex-per-player component is one of the target's points."""
    if target.n_points == 0:
        return False
    same = np.ones(target.n_points, dtype=bool)
    for p, v in zip(target.points, vertices, strict=True):
        same &= (p == v[0]).all(axis=1)
    return bool(same.any())


def distance_to_polyhedron(
    joint: npt.ArrayLike,
    A_ub: npt.ArrayLike,
    b_ub: npt.ArrayLike,
    metric: str = "tv",
) -> FloatArray:
    """Distance of joint distributions to the polytope ``{p in simplex : A_ub p <= b_ub}``.

    The target of empirical joint play is the correlated (or coarse correlated)
    equilibrium polytope (regret matching's empirical joint distribution converges to
    the CCE set): build it with :func:`correlated_polytope`.

    Parameters
    ----------
    joint : array_like, shape (Z, A)
        Rows are distributions over the ``A = a_1 * ... * a_n`` joint actions (C order,
        as ``distribution.ravel()``).
    A_ub : array_like, shape (m, A)
    b_ub : array_like, shape (m,)
    metric : str, optional(default="tv")
        One of :data:`METRICS` (``"kl"`` is :math:`KL(\\text{joint} \\| p)`, both smoothed).

    Returns
    -------
    ndarray, shape (Z,)

    Raises
    ------
    InvalidOptionError
        Unknown ``metric``.
    InvalidGameError
        Rows that are not distributions (field ``"joint"``), constraint arrays of the
        wrong shape or an empty polytope (fields ``"A_ub"``, ``"b_ub"``).

    Notes
    -----
    One problem per distinct row, skipped when the row satisfies the constraints
    within :data:`HULL_ZERO_TOL` (distance 0.0). ``"tv"``, ``"l1"``, ``"linf"``: linear
    programs (HiGHS), several rows per block-diagonal LP. ``"l2"``: SLSQP on
    :math:`\\tfrac12 \\|p - x\\|^2`, then polished by projecting onto the affine hull of
    the constraints active at SLSQP's point (kept when feasible within 1e-12 and not
    farther), which gives the projection to rounding error when the active set is
    right and SLSQP's accuracy (``ftol = 1e-15`` on the squared distance) otherwise.
    ``"hellinger"``, ``"js"``, ``"kl"``: SLSQP from the L2 projection. As for
    components, each distance is the metric at a feasible point, so never below the
    true distance.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> a, b = correlated_polytope(chicken)
    >>> joint = np.array([[0.5, 0.25, 0.25, 0.0], [0.0, 0.0, 0.0, 1.0]])
    >>> distance_to_polyhedron(joint, a, b, "tv").round(6).tolist()
    [0.0, 0.8]
    """
    function = "distance_to_polyhedron()"
    _check_metric(function, metric)
    x = _as_float(joint, "joint", function)
    if x.ndim != 2 or x.shape[1] == 0:
        raise InvalidGameError("joint", f"{function}: joint must be (Z, A), got shape {x.shape}")
    _check_probabilities(x, "joint", function, "joint")
    a = _as_float(A_ub, "A_ub", function)
    b = _as_float(b_ub, "b_ub", function)
    if a.ndim != 2 or a.shape[1] != x.shape[1]:
        raise InvalidGameError(
            "A_ub", f"{function}: A_ub of shape {a.shape} does not fit {x.shape[1]} joint actions"
        )
    if b.shape != (a.shape[0],):
        raise InvalidGameError("b_ub", f"{function}: b_ub of shape {b.shape} does not fit A_ub {a.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidGameError("A_ub", f"{function}: A_ub or b_ub has a non-finite entry")
    return _polyhedron_kernel(x, a, b, metric, function)


def correlated_polytope(game: NormalFormGame, kind: str = "correlated") -> tuple[FloatArray, FloatArray]:
    """The incentive constraints of the CE (or CCE) polytope as ``A_ub p <= b_ub``.

    Rows are grouped by player (player 0 first). A CE has, for each player ``i`` and
    each pair of a recommended action ``a`` and a deviation ``b != a`` (row-major over
    ``(a, b)``), the row :math:`\\sum_{r} p(a, r)\\,[u_i(b, r) - u_i(a, r)] \\le 0`
    (``r`` the others' joint action); a CCE has, for each deviation ``b``, the row
    :math:`\\sum_a p(a)\\,[u_i(b, a_{-i}) - u_i(a)] \\le 0`. Player ``i``'s rows are
    divided by the range of their payoffs (1 if constant), which keeps the polytope and
    makes the constraints unit-free. ``b_ub`` is zero; the simplex constraints are
    implied by the callers.

    Parameters
    ----------
    game : NormalFormGame
    kind : str, optional(default="correlated")
        ``"correlated"`` or ``"coarse_correlated"``.

    Returns
    -------
    A_ub : ndarray, shape (m, a_1 * ... * a_n)
        ``m = sum_i a_i (a_i - 1)`` (CE) or ``sum_i a_i`` (CCE); columns are joint actions
        in C order.
    b_ub : ndarray, shape (m,)

    Raises
    ------
    InvalidOptionError
        If ``kind`` is unknown (field ``"concepts"``).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    >>> a, b = correlated_polytope(chicken)
    >>> (a * 7).round(6).tolist()
    [[1.0, -2.0, 0.0, 0.0], [0.0, 0.0, -1.0, 2.0], [1.0, 0.0, -2.0, 0.0], [0.0, -1.0, 0.0, 2.0]]

    References
    ----------
    .. [1] R. J. Aumann, "Subjectivity and correlation in randomized strategies", Journal
       of Mathematical Economics 1 (1974) 67-96.
    .. [2] S. Hart and A. Mas-Colell, "A simple adaptive procedure leading to correlated
       equilibrium", Econometrica 68 (2000) 1127-1150.
    """
    if kind not in KINDS:
        raise InvalidOptionError(
            "concepts", f"correlated_polytope(): unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        )
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(
            "game", f"correlated_polytope(): expected a NormalFormGame, got {type(game).__name__}"
        )
    # The same rows the CE/CCE linear programs use, as <= 0 constraints.
    a_ub = 0.0 - incentive_constraints(game, kind).toarray()  # (0.0 - x: no negative zeros)
    return a_ub, np.zeros(a_ub.shape[0])


# =========================================================================== validation


def _check_metric(function: str, metric: str) -> None:
    if metric not in METRICS:
        raise InvalidOptionError(
            "metric", f"{function}: unknown metric {metric!r}; expected one of {', '.join(METRICS)}"
        )


def _check_aggregate(function: str, aggregate: str) -> None:
    if aggregate not in AGGREGATES:
        raise InvalidOptionError(
            "aggregate",
            f"{function}: unknown aggregate {aggregate!r}; expected one of {', '.join(AGGREGATES)}",
        )


def _as_float(value: Any, field: str, function: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(field, f"{function}: {field} is not a numeric array ({exc})") from exc
    return arr


def _check_probabilities(arr: FloatArray, field: str, function: str, name: str) -> None:
    """Raise unless every vector along the last axis is a probability vector (within tol)."""
    if arr.size == 0:
        return
    low = float(arr.min())
    sums = arr.sum(axis=-1)
    off = float(np.max(np.abs(sums - 1.0)))
    if not (low >= -PROBABILITY_TOL and off <= PROBABILITY_TOL):
        _raise_not_probability(arr, field, function, name)


def _raise_not_probability(arr: FloatArray, field: str, function: str, name: str) -> None:
    rows = arr.reshape(-1, arr.shape[-1])
    bad = ~(
        np.isfinite(rows).all(axis=1)
        & (rows.min(axis=1) >= -PROBABILITY_TOL)
        & (np.abs(rows.sum(axis=1) - 1.0) <= PROBABILITY_TOL)
    )
    first = int(np.flatnonzero(bad)[0]) if bad.any() else 0
    where = "".join(f"[{int(k)}]" for k in np.unravel_index(first, arr.shape[:-1])) if arr.ndim > 1 else ""
    row = rows[first]
    raise InvalidGameError(
        field,
        f"{function}: {name}{where} is not a probability vector "
        f"(min {row.min():.3g}, sum {row.sum():.12g}; tolerance {PROBABILITY_TOL:g})",
    )


def _checked_points(points: Sequence[npt.ArrayLike], function: str) -> list[FloatArray]:
    """Per player ``(K, a_i)`` or ``(K, S, a_i)`` arrays of probability vectors, ``K >= 1``."""
    try:
        ps = [_as_float(p, "points", function) for p in points]
    except TypeError as exc:
        raise InvalidGameError("points", f"{function}: points must be one array per player ({exc})") from exc
    if len(ps) < 2 or any(p.ndim not in (2, 3) or p.ndim != ps[0].ndim for p in ps):
        raise InvalidGameError(
            "points",
            f"{function}: points must be one (K, a_i) or (K, S, a_i) array per player (>= 2 players), "
            f"got shapes {[p.shape for p in ps]}",
        )
    if any(p.shape[:-1] != ps[0].shape[:-1] for p in ps) or ps[0].shape[0] == 0:
        raise InvalidGameError(
            "points", f"{function}: point arrays must agree in K >= 1 (and S): {[p.shape for p in ps]}"
        )
    for i, p in enumerate(ps):
        if p.shape[-1] == 0:
            raise InvalidGameError("points", f"{function}: player {i} has no actions")
        _check_probabilities(p, "points", function, f"points[{i}]")
    return ps


def _as_states(arrays: Sequence[FloatArray]) -> list[FloatArray]:
    """``(N, a_i)`` arrays as ``(N, 1, a_i)``; ``(N, S, a_i)`` unchanged (C-contiguous)."""
    return [np.ascontiguousarray(a if a.ndim == 3 else a[:, None, :]) for a in arrays]


def _checked_snapshots(
    snapshots: Sequence[npt.ArrayLike], templates: Sequence[FloatArray], function: str
) -> list[FloatArray]:
    """Snapshots as float64 arrays of the targets' shapes but for the first axis.

    ``templates[i]`` is ``(K, a_i)`` or ``(K, S, a_i)``; the snapshots must be ``(Z, a_i)``
    or ``(Z, S, a_i)`` alike. Only shapes are checked here: values are checked where
    they are read (in blocks by the points kernel, per player elsewhere).
    """
    try:
        xs = [_as_float(x, "snapshots", function) for x in snapshots]
    except TypeError as exc:
        raise InvalidGameError(
            "snapshots", f"{function}: snapshots must be one array per player ({exc})"
        ) from exc
    wanted = [t.shape[1:] for t in templates]
    fits = (
        len(xs) == len(templates)
        and all(x.ndim >= 1 and x.shape[0] == xs[0].shape[0] for x in xs)
        and all(x.shape[1:] == w for x, w in zip(xs, wanted, strict=True))
    )
    if not fits:
        expected = ", ".join("(Z, " + ", ".join(map(str, w)) + ")" for w in wanted)
        raise InvalidGameError(
            "snapshots",
            f"{function}: snapshots of shapes {[x.shape for x in xs]} do not fit the target: expected "
            f"one array per player of shapes {expected}",
        )
    return xs


def _checked_state_weights(
    state_weights: npt.ArrayLike | None, xs: Sequence[FloatArray], function: str
) -> FloatArray | None:
    """Normalised ``(S,)`` or ``(Z, S)`` weights; None for normal-form snapshots."""
    stochastic = xs[0].ndim == 3
    if not stochastic:
        if state_weights is not None:
            raise InvalidGameError(
                "state_weights", f"{function}: state_weights given but the snapshots have no state axis"
            )
        return None
    z, s = xs[0].shape[:2]
    if state_weights is None:
        return np.full(s, 1.0 / s)
    w = _as_float(state_weights, "state_weights", function)
    if w.shape not in ((s,), (z, s)):
        raise InvalidGameError(
            "state_weights", f"{function}: state_weights of shape {w.shape}; expected ({s},) or ({z}, {s})"
        )
    return _normalised_weights(w, function)


def _normalised_weights(w: FloatArray, function: str) -> FloatArray:
    total = w.sum(axis=-1, keepdims=True)
    if not (np.isfinite(w).all() and w.min(initial=0.0) >= 0.0 and (total > 0).all()):
        raise InvalidGameError(
            "state_weights", f"{function}: state_weights must be finite, non-negative, with a positive sum"
        )
    return np.asarray(w / total, dtype=np.float64)


def _checked_component(component: Component | Sequence[npt.ArrayLike], function: str) -> list[FloatArray]:
    raw = component.vertices if isinstance(component, Component) else component
    try:
        vertices = [_as_float(v, "component", function) for v in raw]
    except TypeError as exc:
        raise InvalidGameError("component", f"{function}: component must be vertex arrays ({exc})") from exc
    if len(vertices) < 2 or any(v.ndim != 2 or v.shape[0] == 0 or v.shape[1] == 0 for v in vertices):
        raise InvalidGameError(
            "component",
            f"{function}: a component is one non-empty (V_i, a_i) vertex array per player, got "
            f"{[v.shape for v in vertices]}",
        )
    for i, v in enumerate(vertices):
        _check_probabilities(v, "component", function, f"component[{i}]")
    return vertices


# =========================================================================== metric kernels


def _term(metric: str, x: FloatArray, q: FloatArray) -> FloatArray:
    """The per-action summand (or, for linf, the per-action value) of a metric."""
    if metric in ("tv", "l1", "linf"):
        return np.abs(x - q)
    if metric == "l2":
        d = x - q
        return d * d
    if metric == "hellinger":
        d = np.sqrt(np.maximum(x, 0.0)) - np.sqrt(np.maximum(q, 0.0))
        return d * d
    if metric == "js":
        x = np.maximum(x, 0.0)
        q = np.maximum(q, 0.0)
        m = x + q
        safe = np.where(m > 0, m, 1.0)
        # The masked-out entries may overflow (1 / a subnormal m); np.where discards them.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            left = np.where(x > 0, x * np.log(np.where(x > 0, 2.0 * x, 1.0) / safe), 0.0)
            right = np.where(q > 0, q * np.log(np.where(q > 0, 2.0 * q, 1.0) / safe), 0.0)
        return left + right
    # kl, on smoothed (positive) arguments: x log x - x log q.
    return x * np.log(x) - x * np.log(q)


def _smoothed(q: FloatArray, n: int | None = None) -> FloatArray:
    """``(1 - alpha) q + alpha / n`` (``n`` = the last axis), the smoothing of ``"kl"``."""
    return (1.0 - KL_SMOOTHING) * np.maximum(q, 0.0) + KL_SMOOTHING / (n or q.shape[-1])


def _finish(metric: str, s: FloatArray) -> FloatArray:
    """Turn the accumulated per-action terms into the metric's value (in place)."""
    if metric == "tv":
        s *= 0.5
    elif metric == "l2":
        np.sqrt(s, out=s)
    elif metric == "hellinger":
        s *= 0.5
        np.sqrt(np.minimum(s, 1.0, out=s), out=s)
    elif metric == "js":
        s *= 0.5
        np.maximum(s, 0.0, out=s)
    elif metric == "kl":
        np.maximum(s, 0.0, out=s)
    return s


def _vector_distance(p: FloatArray, q: FloatArray, metric: str) -> FloatArray:
    """The metric along the last axis; inputs validated."""
    if metric == "kl":
        p, q = _smoothed(p), _smoothed(q)
    term = _term(metric, p, q)
    s = term.max(axis=-1) if metric == "linf" else term.sum(axis=-1)
    return _finish(metric, np.array(s, dtype=np.float64, ndmin=1)).reshape(np.shape(s))


def _aggregate(per_player: Sequence[FloatArray], aggregate: str) -> FloatArray:
    total = np.array(per_player[0], dtype=np.float64, copy=True)
    for d in per_player[1:]:
        if aggregate == "max":
            np.maximum(total, d, out=total)
        else:
            total += d
    return total


# --------------------------------------------------------------------------- points


#: Metrics the compiled kernel computes, by the code it takes (js and kl stay in numpy:
#: their logarithms would differ from numpy's in the last bit).
_COMPILED_METRICS = {"tv": 0, "l1": 1, "l2": 2, "linf": 3, "hellinger": 4}


def compile_kernels() -> None:
    """Compile (or load from numba's on-disk cache) the distance kernel now.

    The first call in a process otherwise pays it: seconds on a cold cache. The server's
    forkserver calls this once, so every worker forked from it starts compiled. Compiles
    the two-player specialisations, for writable and read-only snapshots (numba
    specialises the kernel per number of players and per writability).

    Examples
    --------
    >>> compile_kernels()
    """
    half = np.full((1, 1, 2), 0.5)
    frozen = half.copy()
    frozen.setflags(write=False)  # trace chunks hold read-only arrays: another specialisation
    out = np.empty(1)
    nearest = np.zeros(1, dtype=np.intp)
    for xs in ((half, half), (frozen, frozen)):
        _points_compiled(xs, (half, half), np.ones((1, 1)), False, 0, False, False, out, nearest)


def _points_kernel(
    xs: Sequence[FloatArray],
    ps: Sequence[FloatArray],
    weights: FloatArray | None,
    metric: str,
    aggregate: str,
    function: str,
) -> tuple[FloatArray, IntArray]:
    """Nearest of K points for Z snapshots: the compiled kernel, or numpy for js and kl.

    Arguments as :func:`_points_kernel_numpy`. The compiled kernel checks every row as it
    reads it; on a row that is not a probability vector the numpy kernel runs instead,
    which raises the error naming the row (it checks the same rows with the same sums).
    """
    code = _COMPILED_METRICS.get(metric)
    z = xs[0].shape[0]
    if code is None or z == 0:
        return _points_kernel_numpy(xs, ps, weights, metric, aggregate, function)
    s = xs[0].shape[1]
    transposed = []
    for p in ps:
        if metric == "hellinger":
            p = np.sqrt(np.maximum(p, 0.0))
        transposed.append(np.ascontiguousarray(p.transpose(1, 2, 0)))  # (S, a_i, K)
    w = np.ones((1, s)) if weights is None else np.ascontiguousarray(weights.reshape(-1, s))
    deferred = aggregate == "max" and weights is None and metric in ("tv", "l2", "hellinger")
    out = np.empty(z)
    nearest = np.zeros(z, dtype=np.intp)
    bad = _points_compiled(
        tuple(np.ascontiguousarray(x) for x in xs),
        tuple(transposed),
        w,
        weights is not None,
        code,
        aggregate == "sum",
        deferred,
        out,
        nearest,
    )
    if bad >= 0:
        return _points_kernel_numpy(xs, ps, weights, metric, aggregate, function)
    return out, nearest


@numba.njit(cache=True)
def _points_compiled(
    xs: tuple[FloatArray, ...],
    pts: tuple[FloatArray, ...],
    weights: FloatArray,
    weighted: bool,
    metric: int,
    aggregate_sum: bool,
    deferred: bool,
    out: FloatArray,
    nearest: IntArray,
) -> int:
    """One pass over the snapshots: check each row, its distance to each point, the nearest.

    ``xs[i]`` is ``(Z, S, a_i)``, ``pts[i]`` the points as ``(S, a_i, K)`` (square roots
    for hellinger), ``weights`` ``(1, S)`` or ``(Z, S)``. The operations and their order
    are those of :func:`_points_kernel_numpy` (per player a sum over actions in order,
    then the finishing map, then max or sum over players in order, the first minimum
    over points), so without weights the results are equal to the last bit; with weights
    the sum over states runs in order (numpy's matmul may not): equal to rounding.
    Returns -1, or a row that is not a probability vector (then the output is
    incomplete).
    """
    # Blocks of rows: within a block every loop runs over the rows (contiguous work
    # arrays that stay in L1, so the compiler vectorises them across rows without
    # reordering any row's arithmetic), and each player's arrays leave the tuples once
    # per block (taking them out per row costs reference counting).
    n = len(xs)
    z_count = xs[0].shape[0]
    s_count = xs[0].shape[1]
    k_count = pts[0].shape[2]
    low = -PROBABILITY_TOL
    high_sum = 1.0 + PROBABILITY_TOL
    low_sum = 1.0 - PROBABILITY_TOL
    block = _KERNEL_BLOCK
    a_max = 1
    for i in range(n):
        a_max = max(a_max, xs[i].shape[2])
    xt = np.empty((a_max, block))  # one player's rows of the block, transposed
    sums = np.empty(block)
    acc = np.empty(block)
    agg = np.empty((k_count, block))
    per_point = np.empty((k_count, block)) if weighted else agg
    best = np.empty(block)
    which = np.empty(block, dtype=np.intp)
    per_row_weights = weights.shape[0] > 1
    for start in range(0, z_count, block):
        b = min(z_count, start + block) - start
        for s in range(s_count):
            for i in range(n):
                x = xs[i]
                p = pts[i]
                a_count = x.shape[2]
                for r in range(b):
                    for a in range(a_count):
                        xt[a, r] = x[start + r, s, a]
                # The check of _check_block: every entry >= -tol, sums in order within tol.
                ok = True
                for r in range(b):
                    sums[r] = xt[0, r]
                for a in range(1, a_count):
                    for r in range(b):
                        sums[r] = sums[r] + xt[a, r]
                for a in range(a_count):
                    for r in range(b):
                        ok = ok & (xt[a, r] >= low)
                for r in range(b):
                    ok = ok & (sums[r] <= high_sum) & (sums[r] >= low_sum)
                if not ok:
                    for r in range(b):
                        bad = not (sums[r] <= high_sum and sums[r] >= low_sum)
                        for a in range(a_count):
                            bad = bad or not (xt[a, r] >= low)
                        if bad:
                            return start + r
                    return start
                if metric == 4:
                    for a in range(a_count):
                        for r in range(b):
                            v = xt[a, r]
                            xt[a, r] = math.sqrt(v if v > 0.0 else 0.0)
                for k in range(k_count):
                    c = p[s, 0, k]
                    for r in range(b):
                        acc[r] = _term_value(metric, xt[0, r] - c)
                    for a in range(1, a_count):
                        c = p[s, a, k]
                        if metric == 3:
                            for r in range(b):
                                t = _term_value(metric, xt[a, r] - c)
                                acc[r] = t if t > acc[r] else acc[r]
                        else:
                            for r in range(b):
                                acc[r] = acc[r] + _term_value(metric, xt[a, r] - c)
                    if not deferred and metric != 1 and metric != 3:  # l1, linf: nothing to finish
                        for r in range(b):
                            acc[r] = _finish_value(metric, acc[r])
                    if i == 0:
                        for r in range(b):
                            agg[k, r] = acc[r]
                    elif aggregate_sum:
                        for r in range(b):
                            agg[k, r] = agg[k, r] + acc[r]
                    else:
                        for r in range(b):
                            agg[k, r] = acc[r] if acc[r] > agg[k, r] else agg[k, r]
            if weighted:
                for k in range(k_count):
                    for r in range(b):
                        ws = weights[start + r if per_row_weights else 0, s]
                        per_point[k, r] = ws * agg[k, r] if s == 0 else per_point[k, r] + ws * agg[k, r]
        for r in range(b):
            best[r] = per_point[0, r]
            which[r] = 0
        for k in range(1, k_count):
            for r in range(b):
                closer = per_point[k, r] < best[r]
                best[r] = per_point[k, r] if closer else best[r]
                which[r] = k if closer else which[r]
        for r in range(b):
            out[start + r] = _finish_value(metric, best[r]) if deferred else best[r]
            nearest[start + r] = which[r]
    return -1


@numba.njit(cache=True, inline="always")
def _term_value(metric: int, d: float) -> float:
    """The per-action term of a difference ``d``: squared (l2, hellinger) or absolute."""
    return d * d if metric == 2 or metric == 4 else abs(d)


@numba.njit(cache=True, inline="always")
def _finish_value(metric: int, s: float) -> float:
    """:func:`_finish` of one accumulated value (metric codes of :data:`_COMPILED_METRICS`)."""
    if metric == 0:
        return s * 0.5
    if metric == 2:
        return math.sqrt(s)
    if metric == 4:
        return math.sqrt(min(s * 0.5, 1.0))
    return s


def _points_kernel_numpy(
    xs: Sequence[FloatArray],
    ps: Sequence[FloatArray],
    weights: FloatArray | None,
    metric: str,
    aggregate: str,
    function: str,
) -> tuple[FloatArray, IntArray]:
    """Nearest of K points for Z snapshots, in numpy blocks laid out ``(K, S, b)``.

    ``xs[i]`` is ``(Z, S, a_i)`` (shapes checked, values checked block by block here),
    ``ps[i]`` is ``(K, S, a_i)``, ``weights`` is None (S = 1), ``(S,)`` or ``(Z, S)``,
    normalised.
    """
    z, s = xs[0].shape[:2]
    k = ps[0].shape[0]
    out = np.empty(z)
    nearest = np.zeros(z, dtype=np.intp)
    if z == 0:
        return out, nearest
    block = max(1, min(z, _BLOCK_ELEMENTS // (k * s)))
    # Per player and action: the target values as (K, S, 1) columns (transformed per metric).
    columns: list[list[FloatArray]] = []
    for p in ps:
        if metric == "hellinger":
            p = np.sqrt(np.maximum(p, 0.0))
        elif metric == "kl":
            p = np.log(_smoothed(p))
        columns.append([np.ascontiguousarray(p[:, :, a, None]) for a in range(p.shape[2])])
    acc = np.empty((k, s, block))
    tmp = np.empty((k, s, block))
    total = np.empty((k, s, block))
    best = np.empty(block)
    mask = np.empty(block, dtype=bool)
    fast = metric in ("tv", "l1", "linf", "l2", "hellinger")
    # The finishing map of tv, l2 and hellinger is non-decreasing (x/2, sqrt, sqrt(x/2)), so
    # it commutes exactly with max over players and min over points: apply it once at the end.
    deferred = aggregate == "max" and weights is None and metric in ("tv", "l2", "hellinger")
    for start in range(0, z, block):
        stop = min(z, start + block)
        b = stop - start
        agg = total[:, :, :b]
        for i, (x, cols) in enumerate(zip(xs, columns, strict=True)):
            xt = x[start:stop].transpose(2, 1, 0).copy()  # (a_i, S, b), C-contiguous, owned
            _check_block(xt, start, i, function)
            if metric == "hellinger":
                np.sqrt(np.maximum(xt, 0.0, out=xt), out=xt)
            elif metric == "kl":
                xt = _smoothed(xt, xt.shape[0])
                xlogx = xt * np.log(xt)
            a_acc = agg if i == 0 else acc[:, :, :b]
            t = tmp[:, :, :b]
            for a, col in enumerate(cols):
                dest = a_acc if a == 0 else t
                if fast:
                    np.subtract(xt[a], col, out=dest)
                    if metric == "l2" or metric == "hellinger":
                        np.multiply(dest, dest, out=dest)
                    else:
                        np.abs(dest, out=dest)
                elif metric == "js":
                    dest[...] = _term("js", xt[a], col)
                else:  # kl: x log x - x log q on smoothed arguments, log q precomputed
                    np.multiply(xt[a], col, out=dest)
                    np.subtract(xlogx[a], dest, out=dest)
                if a > 0:
                    if metric == "linf":
                        np.maximum(a_acc, t, out=a_acc)
                    else:
                        np.add(a_acc, t, out=a_acc)
            if not deferred:
                _finish(metric, a_acc)
            if i > 0:
                if aggregate == "max":
                    np.maximum(agg, a_acc, out=agg)
                else:
                    np.add(agg, a_acc, out=agg)
        if weights is None:
            per_point = agg[:, 0, :]
        elif weights.ndim == 1:
            per_point = np.matmul(weights, agg)  # (K, b)
        else:
            per_point = np.einsum("ksb,bs->kb", agg, weights[start:stop])
        bb = best[:b]
        nn = nearest[start:stop]
        mm = mask[:b]
        bb[...] = per_point[0]
        for j in range(1, k):
            np.less(per_point[j], bb, out=mm)
            np.minimum(bb, per_point[j], out=bb)
            np.copyto(nn, j, where=mm)
        out[start:stop] = _finish(metric, bb) if deferred else bb
    return out, nearest


def _check_block(xt: FloatArray, start: int, player: int, function: str) -> None:
    """Check that a transposed block ``(a, S, b)`` of snapshots holds probability vectors."""
    low = float(xt.min())
    sums = np.add.reduce(xt, axis=0)
    if (
        low >= -PROBABILITY_TOL
        and float(sums.max()) <= 1.0 + PROBABILITY_TOL
        and float(sums.min()) >= 1.0 - PROBABILITY_TOL
    ):
        return
    rows = xt.transpose(2, 1, 0)  # (b, S, a)
    bad = ~(
        np.isfinite(rows).all(axis=2)
        & (rows.min(axis=2) >= -PROBABILITY_TOL)
        & (np.abs(rows.sum(axis=2) - 1.0) <= PROBABILITY_TOL)
    )
    zb, sb = (int(k) for k in np.argwhere(bad)[0])
    row = rows[zb, sb]
    where = f"{start + zb}" if xt.shape[1] == 1 else f"{start + zb}, {sb}"
    raise InvalidGameError(
        "snapshots",
        f"{function}: snapshots[{player}][{where}] is not a probability vector "
        f"(min {row.min():.3g}, sum {row.sum():.12g}; tolerance {PROBABILITY_TOL:g})",
    )


# --------------------------------------------------------------------------- components


def _component_kernel(
    xs: Sequence[FloatArray], vertices: Sequence[FloatArray], metric: str, aggregate: str
) -> FloatArray:
    """Aggregate over players of each row's distance to the player's hull; values checked here."""
    per_player = []
    for i, (x, v) in enumerate(zip(xs, vertices, strict=True)):
        _check_probabilities(x, "snapshots", "distance_to_component()", f"snapshots[{i}]")
        unique_rows, inverse = np.unique(x, axis=0, return_inverse=True)
        d = _Hull(v).distance(unique_rows, metric)
        per_player.append(d[inverse.reshape(-1)])
    return _aggregate(per_player, aggregate)


class _Hull:
    """The convex hull of a few probability vectors, with distances to it."""

    def __init__(self, vertices: FloatArray) -> None:
        self.vertices = np.unique(vertices, axis=0)
        self._faces: list[tuple[IntArray, FloatArray, FloatArray, FloatArray]] | None = None

    # ------------------------------------------------------------------ public

    def distance(self, x: FloatArray, metric: str) -> FloatArray:
        """``min_{y in hull} d(x_r, y)`` for each row ``x_r``."""
        v = self.vertices
        if v.shape[0] == 1:
            return _vector_distance(x, v[0], metric)
        y2, lam2 = self.project(x)
        inside = np.sqrt(np.sum((x - y2) ** 2, axis=1)) <= HULL_ZERO_TOL
        if metric == "l2":
            best = _vector_distance(x, y2, "l2")
        else:
            # Candidates in the hull: the vertices and the L2 projection; then the optimiser.
            at_vertices = _vector_distance(x[:, None, :], v[None, :, :], metric)  # (N, V)
            at_projection = _vector_distance(x, _simplex_clip(y2), metric)
            best = np.minimum(at_vertices.min(axis=1), at_projection)
            todo = np.flatnonzero(~inside)
            if todo.size:
                if metric in ("tv", "l1", "linf"):
                    lam = self._lp_weights(x[todo], metric)
                else:
                    vertex_better = at_vertices[todo].min(axis=1) < at_projection[todo]
                    starts = np.where(
                        vertex_better[:, None],
                        np.eye(v.shape[0])[at_vertices[todo].argmin(axis=1)],
                        lam2[todo],
                    )
                    lam = np.array(
                        [self._convex_weights(row, s, metric) for row, s in zip(x[todo], starts, strict=True)]
                    )
                y = _simplex_clip(lam @ v)
                best[todo] = np.minimum(best[todo], _vector_distance(x[todo], y, metric))
        best[inside] = 0.0
        return best

    def project(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Euclidean projection of each row onto the hull, and its convex weights."""
        faces = self._enumerate_faces()
        if faces is None:
            lams = np.array([_wolfe(self.vertices - row) for row in x]).reshape(len(x), -1)
            return lams @ self.vertices, lams
        v = self.vertices
        n = x.shape[0]
        best = np.full(n, np.inf)
        y_best = np.empty_like(x)
        lam_best = np.zeros((n, v.shape[0]))
        for idx, v0, d, g in faces:
            mu = (x - v0) @ g.T  # (N, m)
            lam0 = 1.0 - mu.sum(axis=1)
            ok = (mu >= -1e-12).all(axis=1) & (lam0 >= -1e-12)
            y = v0 + mu @ d
            dist = np.sum((x - y) ** 2, axis=1)
            better = ok & (dist < best)
            if better.any():
                best[better] = dist[better]
                y_best[better] = y[better]
                lam = np.zeros((int(better.sum()), v.shape[0]))
                lam[:, idx[0]] = np.maximum(lam0[better], 0.0)
                if idx.size > 1:
                    lam[:, idx[1:]] = np.maximum(mu[better], 0.0)
                lam_best[better] = lam / lam.sum(axis=1, keepdims=True)
        return y_best, lam_best

    # ------------------------------------------------------------------ kernels

    def _enumerate_faces(self) -> list[tuple[IntArray, FloatArray, FloatArray, FloatArray]] | None:
        """Affinely independent vertex subsets with the maps ``x -> barycentric weights``.

        For a subset ``(v0, v1..vm)``, ``D = [v_j - v0]`` (m, a) and ``G = pinv(D^T)``:
        ``mu = G (x - v0)`` are the weights of ``v1..vm`` of the projection of ``x`` onto
        the subset's affine hull, ``1 - sum(mu)`` the weight of ``v0``. ``None`` when
        there are more than ``_MAX_FACES`` subsets.
        """
        if self._faces is not None:
            return self._faces
        v = self.vertices
        count, a = v.shape
        largest = min(count, a)
        if sum(math.comb(count, size) for size in range(1, largest + 1)) > _MAX_FACES:
            return None
        faces = []
        for size in range(1, largest + 1):
            for subset in itertools.combinations(range(count), size):
                idx = np.array(subset, dtype=np.intp)
                v0 = v[idx[0]]
                d = v[idx[1:]] - v0
                if size > 1:
                    sv = np.linalg.svd(d, compute_uv=False)
                    if sv[-1] <= 1e-10 * max(sv[0], 1.0):
                        continue  # affinely dependent: a smaller subset covers it
                g = np.linalg.pinv(d.T) if size > 1 else np.zeros((0, a))
                faces.append((idx, v0, d, g))
        self._faces = faces
        return faces

    def _lp_weights(self, x: FloatArray, metric: str) -> FloatArray:
        """Convex weights minimising the L1 (TV) or L-infinity distance, one LP block per row."""
        v = self.vertices
        nv, a = v.shape
        width = a if metric != "linf" else 1
        # Block per row: variables (lambda (V), t (width)); rows  V^T lam - t <= x, -V^T lam - t <= -x.
        slack = -np.eye(a) if width == a else -np.ones((a, 1))
        block_ub = np.block([[v.T, slack], [-v.T, slack]])
        block_eq = np.concatenate([np.ones(nv), np.zeros(width)])[None, :]
        cost = np.concatenate([np.zeros(nv), np.ones(width)])
        return _batched_lp(x, block_ub, lambda rows: np.hstack([rows, -rows]), block_eq, cost, nv)

    def _convex_weights(self, x: FloatArray, start: FloatArray, metric: str) -> FloatArray:
        """SLSQP over convex weights for hellinger, js and kl (convex in the second argument)."""
        v = self.vertices
        objective = _smooth_objective(x, metric)

        def fun(lam: FloatArray) -> tuple[float, FloatArray]:
            value, grad_y = objective(np.maximum(lam, 0.0) @ v)
            return value, v @ grad_y

        res = minimize(
            fun,
            start,
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * v.shape[0],
            constraints=[
                {"type": "eq", "fun": lambda lam: lam.sum() - 1.0, "jac": lambda lam: np.ones_like(lam)}
            ],
            options={"ftol": 1e-15, "maxiter": 500},
        )
        lam = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)
        return lam / lam.sum() if lam.sum() > 0 else start


def _smooth_objective(x: FloatArray, metric: str) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """``y -> (f(y), grad f(y))`` with ``f`` the squared hellinger, js or kl from ``x`` to ``y``."""
    sx = np.sqrt(np.maximum(x, 0.0))
    n = x.shape[-1]
    xs = _smoothed(x)

    def fun(y: FloatArray) -> tuple[float, FloatArray]:
        y = np.maximum(y, 0.0)
        if metric == "hellinger":
            value = 0.5 * float(np.sum((sx - np.sqrt(y)) ** 2))
            grad = 0.5 * (1.0 - sx / np.sqrt(np.maximum(y, _GRADIENT_FLOOR)))
        elif metric == "js":
            value = 0.5 * float(np.sum(_term("js", x, y)))
            yf = np.maximum(y, _GRADIENT_FLOOR)
            grad = 0.5 * np.log(2.0 * yf / (x + yf))
        else:
            q = _smoothed(y, n)
            value = float(np.sum(_term("kl", xs, q)))
            grad = -(1.0 - KL_SMOOTHING) * xs / q
        return value, grad

    return fun


def _simplex_clip(y: FloatArray) -> FloatArray:
    """Clip rounding negatives and renormalise rows (points of a hull of distributions)."""
    y = np.maximum(y, 0.0)
    return y / y.sum(axis=-1, keepdims=True)


def _wolfe(points: FloatArray, tol: float = 1e-15) -> FloatArray:
    """Convex weights of the minimum-norm point of ``conv(points)`` (Wolfe 1976).

    Major cycle: add the point minimising ``<x, p>``; minor cycle: move to the affine
    minimum-norm point of the corral, stepping back to the boundary of its hull (and
    dropping points) while some weight is not positive.
    """
    count = points.shape[0]
    scale = float(np.max(np.sum(points * points, axis=1)))
    j = int(np.argmin(np.sum(points * points, axis=1)))
    corral = [j]
    lam = np.array([1.0])
    x = points[j].copy()
    for _ in range(50 * count + 50):
        g = points @ x
        j = int(np.argmin(g))
        if float(x @ x) - float(g[j]) <= tol * max(scale, 1.0) or j in corral:
            break
        corral.append(j)
        lam = np.append(lam, 0.0)
        for _ in range(count + 1):
            b = points[corral]
            m = len(corral)
            kkt = np.zeros((m + 1, m + 1))
            kkt[:m, :m] = b @ b.T
            kkt[:m, m] = 1.0
            kkt[m, :m] = 1.0
            rhs = np.zeros(m + 1)
            rhs[m] = 1.0
            alpha = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:m]
            if (alpha > 1e-14).all():
                lam = alpha
                break
            neg = alpha <= 1e-14
            ratios = lam[neg] / np.maximum(lam[neg] - alpha[neg], 1e-300)
            theta = float(np.clip(ratios.min(), 0.0, 1.0))
            lam = (1.0 - theta) * lam + theta * alpha
            keep = lam > 1e-14
            if not keep.any():
                keep[int(np.argmax(lam))] = True
            corral = [c for c, k in zip(corral, keep, strict=True) if k]
            lam = lam[keep] / lam[keep].sum()
        x = lam @ points[corral]
    weights = np.zeros(count)
    weights[corral] = lam
    return weights


class _LPFailure(RuntimeError):
    """HiGHS did not solve a distance LP (for a polytope: it is empty)."""


def _batched_lp(
    x: FloatArray,
    block_ub: FloatArray,
    rhs_ub: Callable[[FloatArray], FloatArray],
    block_eq: FloatArray,
    cost: FloatArray,
    n_keep: int,
    b_fixed: FloatArray | None = None,
) -> FloatArray:
    """Solve one LP per row of ``x`` as block-diagonal LPs; return the first ``n_keep`` variables.

    Every block has the same matrices (``block_ub``, ``block_eq``, ``cost``); only the
    right-hand side ``rhs_ub(rows)`` (plus ``b_fixed`` appended per block) changes. The
    blocks are independent, so an optimum of the sum is an optimum of every block.
    """
    nnz = int(np.count_nonzero(block_ub)) + block_ub.shape[1]
    per_lp = max(1, _LP_BATCH_NONZEROS // max(nnz, 1))
    out = np.empty((x.shape[0], n_keep))
    width = block_ub.shape[1]
    ub_sparse = sp.csr_array(block_ub)
    eq_sparse = sp.csr_array(block_eq)
    for start in range(0, x.shape[0], per_lp):
        rows = x[start : start + per_lp]
        c = rows.shape[0]
        eye = sp.identity(c, format="csr")
        b_ub = rhs_ub(rows)
        if b_fixed is not None:
            b_ub = np.hstack([np.broadcast_to(b_fixed, (c, b_fixed.size)), b_ub])
        res = linprog(
            np.tile(cost, c),
            A_ub=sp.kron(eye, ub_sparse, format="csr"),
            b_ub=b_ub.ravel(),
            A_eq=sp.kron(eye, eq_sparse, format="csr"),
            b_eq=np.ones(c),
            bounds=(0.0, None),
            method="highs",
        )
        if res.status != 0 or res.x is None:
            raise _LPFailure(str(res.message))
        out[start : start + c] = np.asarray(res.x, dtype=np.float64).reshape(c, width)[:, :n_keep]
    return out


# --------------------------------------------------------------------------- polyhedron


def _polyhedron_kernel(x: FloatArray, a: FloatArray, b: FloatArray, metric: str, function: str) -> FloatArray:
    unique_rows, inverse = np.unique(x, axis=0, return_inverse=True)
    n, dim = unique_rows.shape
    scale = np.maximum(np.abs(a).max(axis=1), 1.0)
    violation = ((unique_rows @ a.T - b) / scale).max(axis=1, initial=-np.inf)
    inside = violation <= HULL_ZERO_TOL
    best = np.zeros(n)
    todo = np.flatnonzero(~inside)
    if todo.size:
        rows = unique_rows[todo]
        # A feasible point nearest in L1 (or L-infinity) by LP; also the start of the QPs.
        width = dim if metric != "linf" else 1
        slack = -np.eye(dim) if width == dim else -np.ones((dim, 1))
        block_ub = np.block([[a, np.zeros((a.shape[0], width))], [np.eye(dim), slack], [-np.eye(dim), slack]])
        block_eq = np.concatenate([np.ones(dim), np.zeros(width)])[None, :]
        cost = np.concatenate([np.zeros(dim), np.ones(width)])
        try:
            p = _batched_lp(rows, block_ub, lambda r: np.hstack([r, -r]), block_eq, cost, dim, b_fixed=b)
        except _LPFailure as exc:
            raise InvalidGameError(
                "A_ub", f"{function}: no distribution satisfies A_ub p <= b_ub (HiGHS: {exc})"
            ) from exc
        p = _simplex_clip(p)
        if metric not in ("tv", "l1", "linf"):
            p = np.array(
                [_polyhedron_qp(row, start, a, b, metric) for row, start in zip(rows, p, strict=True)]
            )
        best[todo] = _vector_distance(rows, p, metric)
    return best[inverse.reshape(-1)]


def _polyhedron_qp(x: FloatArray, start: FloatArray, a: FloatArray, b: FloatArray, metric: str) -> FloatArray:
    """Nearest feasible point in ``metric`` (l2 or a divergence) by SLSQP, L2 polished."""
    dim = x.size
    constraints = [
        {"type": "eq", "fun": lambda p: p.sum() - 1.0, "jac": lambda p: np.ones_like(p)},
        {"type": "ineq", "fun": lambda p: b - a @ p, "jac": lambda p: -a},
    ]
    if metric == "l2":

        def fun(p: FloatArray) -> tuple[float, FloatArray]:
            d = p - x
            return 0.5 * float(d @ d), d

    else:
        objective = _smooth_objective(x, metric)

        def fun(p: FloatArray) -> tuple[float, FloatArray]:
            return objective(p)

    candidates = [start]
    if metric != "l2":
        candidates.append(_polyhedron_qp(x, start, a, b, "l2"))
    starts = min(candidates, key=lambda s: float(_vector_distance(x, s, metric)))
    res = minimize(
        fun,
        starts,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * dim,
        constraints=constraints,
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    found = _simplex_clip(np.asarray(res.x, dtype=np.float64))
    if _violation(found, a, b) <= 1e-9:
        candidates.append(found)
    if metric == "l2":
        polished = _polish(x, found, a, b)
        if polished is not None:
            candidates.append(polished)
    return min(candidates, key=lambda s: float(_vector_distance(x, s, metric)))


def _violation(p: FloatArray, a: FloatArray, b: FloatArray) -> float:
    return max(float((a @ p - b).max(initial=0.0)), float(-p.min()), abs(float(p.sum()) - 1.0))


def _polish(x: FloatArray, p: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray | None:
    """Project ``x`` onto the affine hull of the constraints active at ``p``, if feasible."""
    dim = x.size
    g = np.vstack([a, -np.eye(dim)])
    h = np.concatenate([b, np.zeros(dim)])
    active = g @ p >= h - 1e-9
    c = np.vstack([g[active], np.ones((1, dim))])
    d = np.concatenate([h[active], [1.0]])
    correction = np.linalg.lstsq(c, c @ x - d, rcond=None)[0]
    q = x - correction
    if _violation(q, a, b) > 1e-12:
        return None
    return q
