"""Distances between policies, and from policies to sets of solutions.

Scoring a learning trace (SPEC section 5) asks, at every snapshot ``z``, how far the
joint policy :math:`\\pi^z` is from the solution set ``S``. This module supplies the
distances, vectorised over a batch of snapshots (batch first): between probability
vectors (:func:`distance`, one of :data:`METRICS`), between profiles
(:func:`profile_distance`: aggregated over players, averaged over states), to a set's
points and convex components (:func:`distance_to_points`, :func:`distance_to_component`,
:func:`distance_to_set`), and from joint play to the correlated or coarse correlated
equilibria (:func:`distance_to_polyhedron`, :func:`correlated_polytope`). The
definitions and methods are in docs/trace-distances.md.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.traces.distances import SolutionTarget, distance, distance_to_set
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
.. [2] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37.
.. [3] M. Lanctot et al., "OpenSpiel: a framework for reinforcement learning in games",
   arXiv:1908.09453 (2019): NashConv and exploitability of learning traces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray, IntArray
from equilibria.solver.concepts.correlated import KINDS, incentive_constraints
from equilibria.solver.errors import InvalidGameError, InvalidOptionError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.results import Component, MarkovSolutionSet, SolutionSet
from equilibria.solver.traces.hull import HULL_ZERO_TOL, _component_kernel, _polyhedron_kernel
from equilibria.solver.traces.metrics import (
    AGGREGATES,
    KL_SMOOTHING,
    METRICS,
    PROBABILITY_TOL,
    _aggregate,
    _as_float,
    _as_states,
    _check_aggregate,
    _check_metric,
    _check_probabilities,
    _checked_points,
    _checked_snapshots,
    _checked_state_weights,
    _normalised_weights,
    _points_kernel,
    _vector_distance,
)

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
]


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
    complete : bool
        Whether the set holds every solution (default True). False for a partial set
        (a method that finds some equilibria only): the trace scorer then warns, and
        checks whether a trace converges to an equilibrium outside the set.

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
    complete: bool = True

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
        object.__setattr__(self, "complete", bool(self.complete))

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
        *,
        complete: bool = True,
    ) -> SolutionTarget:
        """Build a target from a list of profiles (and optional components).

        Parameters
        ----------
        profiles : sequence of profiles
            Each profile is one strategy per player: ``(a_i,)`` vectors, or ``(S, a_i)``
            per-state policies. May be empty when ``components`` is not.
        components : sequence of components, optional
            Each a sequence, per player, of ``(V_i, a_i)`` vertex arrays.
        complete : bool, optional(default=True)
            Whether the set holds every solution.

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
            return cls(points=points, components=comps, complete=complete)
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
        return cls(points=points, components=comps, complete=complete)

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
            stationary policies ``(S, a_i)``. ``complete`` is the set's.

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
            return cls.from_points(
                [eq.policies for eq in solution_set.equilibria], complete=solution_set.complete
            )
        if not isinstance(solution_set, SolutionSet):
            raise InvalidGameError(
                "target", f"{function}: expected a SolutionSet, got {type(solution_set).__name__}"
            )
        if not solution_set.equilibria:
            raise InvalidGameError("target", f"{function}: the solution set has no equilibria")
        return cls.from_points(
            [eq.strategies for eq in solution_set.equilibria],
            components=[comp.vertices for comp in solution_set.components],
            complete=solution_set.complete,
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
    batch of ``Z`` snapshots, in one compiled pass (numba) for ``"tv"``, ``"l1"``,
    ``"l2"``, ``"linf"`` and ``"hellinger"``, in blocked numpy for ``"js"`` and ``"kl"``.

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
    The two kernels do the same operations in the same order: without state weights
    their answers are equal to the last bit, and equal :func:`profile_distance`'s for
    players with fewer than 8 actions (see docs/trace-distances.md, with throughput).

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
    snapshot row (repeated rows, e.g. pure policies, are solved once): the exact
    Euclidean projection for ``"l2"`` (vectorised over the hull's faces, or Wolfe's
    algorithm), a linear program for ``"tv"``, ``"l1"`` and ``"linf"`` (HiGHS), SLSQP
    for ``"hellinger"``, ``"js"`` and ``"kl"`` (see docs/trace-distances.md). Every
    reported distance is the metric at a point of the hull, so never below the true
    distance; a row within :data:`HULL_ZERO_TOL` (Euclidean) of the hull is at 0.0.

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
    within :data:`HULL_ZERO_TOL` (distance 0.0): linear programs (HiGHS) for ``"tv"``,
    ``"l1"``, ``"linf"``; SLSQP, polished onto the active constraints, for ``"l2"``; SLSQP
    from the L2 projection for the divergences (see docs/trace-distances.md). Each
    distance is the metric at a feasible point, so never below the true distance.

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


class _Polytope(NamedTuple):
    """The CE or CCE polytope of the joint play, ``{p in simplex : a_ub p <= b_ub}``."""

    a_ub: FloatArray
    b_ub: FloatArray


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
