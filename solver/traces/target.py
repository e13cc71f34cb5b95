"""The solution set as the trace scorer sees it: members, groups, brackets and payoffs.

:class:`~equilibria.solver.traces.scorer.TraceScorer` measures a trace against the
points and convex components of a solution set. This module prepares the set once:
the points and one-vertex components as one fast target, the multi-vertex components
whose per-row distances are bracketed from the Euclidean distance (exact at
checkpoints), the groups of members that touch, and the payoffs of the members (a
point's payoff vector, a component's box of payoff ranges over its vertex profiles).
It also holds the payoff and NashConv kernels of mixed profiles. See docs/traces.md.

References
----------
.. [1] D. Avis, G. D. Rosenberg, R. Savani and B. von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010) 9-37 (components).
.. [2] M. Lanctot et al., "OpenSpiel: a framework for reinforcement learning in games",
   arXiv:1908.09453 (2019): NashConv.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.kernels import warm_up
from equilibria.solver.results import MarkovSolutionSet, SolutionSet
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import evaluate_policy
from equilibria.solver.traces.distances import (
    SolutionTarget,
    _is_target_point,
    distance,
    distance_to_component,
    distance_to_points,
    distance_to_set,
)
from equilibria.solver.traces.hull import HULL_ZERO_TOL, _Hull, _simplex_clip
from equilibria.solver.traces.metrics import KL_SMOOTHING, _aggregate, _vector_distance
from equilibria.solver.traces.options import ScoreOptions
from equilibria.solver.traces.verdicts import concentration_radius, metric_diameter

__all__: list[str] = []  # the scorer's internals

#: Elements of the work arrays of the payoff contraction.
_PAYOFF_BLOCK = 1 << 18
#: Most vertex profiles of one component whose joint distributions are candidates.
_MAX_VERTEX_PROFILES = 4096
#: Cells (histories x joint actions) of the count-table block that joint frequencies are
#: formed from: the table is read in blocks, never copied whole (:func:`_history_blocks`).
_HISTORY_BLOCK_CELLS = 1 << 20


def _history_blocks(h: int, cells: int) -> list[slice]:
    """Consecutive slices covering ``range(h)``, each of ``max(1, _HISTORY_BLOCK_CELLS // cells)`` rows.

    Examples
    --------
    >>> _history_blocks(5, _HISTORY_BLOCK_CELLS // 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    step = max(1, _HISTORY_BLOCK_CELLS // max(cells, 1))
    return [slice(start, min(h, start + step)) for start in range(0, h, step)]


class _Member(NamedTuple):
    """A member of the solution set: ``("point", k)`` or ``("component", c)``."""

    kind: str  # "point" or "component"
    index: int  # into the target's points or components


class _Bracket(NamedTuple):
    """Per row: bounds on a curve's value (one array when exact), and the nearest group."""

    upper: FloatArray
    lower: FloatArray  # the same array as ``upper`` when the values are exact
    groups: Int64Array | None  # None for curves without members (NashConv)


class _Interval(NamedTuple):
    """Per row: a lower and an upper bound."""

    lower: FloatArray
    upper: FloatArray


class _Nearest(NamedTuple):
    """The exact distance of one snapshot to the set, and the member attaining it."""

    value: float
    member: _Member


class _PayoffGaps(NamedTuple):
    """Distances of payoff vectors to the members' payoffs."""

    distances: FloatArray  # per row
    groups: Int64Array  # the nearest member's group per row
    last_member: _Member | None  # the nearest member at the last row (None: no member)


class _FinalValue(NamedTuple):
    """A criterion at one row ``z``: its value, the member of the set nearest, the confidence radius."""

    value: float
    member: _Member | None  # None for NashConv and polytope targets
    radius: float | None  # criteria estimated from samples only


class _Target:
    """The solution set prepared for scoring: fast points, multi-vertex hulls, groups, payoffs."""

    def __init__(
        self,
        game: NormalFormGame | StochasticGame,
        solution_set: Any,
        options: ScoreOptions,
        weights: FloatArray | None,
        function: str,
    ) -> None:
        target = _as_target(game, solution_set, function)
        self.target = target
        self.complete = target.complete
        self.joint_concept = options.joint_concept
        self.metric = options.metric
        self.aggregate = options.aggregate
        self.weights = weights
        self.n_points = target.n_points
        self.components = target.components
        n = len(target.points)
        # Fast members: the points and the one-vertex components that are not points.
        extra = [
            c
            for c, comp in enumerate(target.components)
            if all(v.shape[0] == 1 for v in comp) and not _is_target_point(target, comp)
        ]
        self.fast_kind = ["point"] * target.n_points + ["component"] * len(extra)
        self.fast_index = list(range(target.n_points)) + extra
        self.fast = [
            np.concatenate([target.points[i]] + [target.components[c][i] for c in extra]) for i in range(n)
        ]
        # Checked once here, not by every distance_to_points call.
        self.fast_target = SolutionTarget(points=tuple(self.fast)) if self.fast[0].shape[0] else None
        self.hulls = [c for c, comp in enumerate(target.components) if any(v.shape[0] > 1 for v in comp)]
        self.groups = _member_groups(target)
        self.fast_groups = np.array(
            [
                self.group_of(_Member(kind, idx))
                for kind, idx in zip(self.fast_kind, self.fast_index, strict=True)
            ],
            dtype=np.int64,
        )
        # Payoffs of the members: points (K, n) and boxes (C, n, 2).
        if isinstance(game, StochasticGame):
            self.point_payoffs = np.array(
                [
                    game.initial_distribution @ evaluate_policy(game, [p[k] for p in target.points])
                    for k in range(target.n_points)
                ]
            ).reshape(target.n_points, n)
            self.boxes = np.zeros((0, n, 2))
        else:
            payoffs = game.payoffs
            self.point_payoffs = (
                _payoff_rows(payoffs, list(target.points))[0] if target.n_points else np.zeros((0, n))
            )
            boxes = []
            for comp in target.components:
                combos = list(itertools.product(*[range(v.shape[0]) for v in comp]))
                profiles = [np.stack([comp[i][combo[i]] for combo in combos]) for i in range(n)]
                u = _payoff_rows(payoffs, profiles)[0]
                boxes.append(np.stack([u.min(axis=0), u.max(axis=0)], axis=1))
            self.boxes = np.array(boxes).reshape(len(boxes), n, 2)
        self.joint_targets, self.joint_members, self.joint_bounded = (
            _joint_targets(target) if self.joint_concept == "nash" else (np.zeros((0, 0)), [], False)
        )

    def group_of(self, member: _Member) -> int:
        """The group of a member (members that touch share one)."""
        return int(self.groups[member.index if member.kind == "point" else self.n_points + member.index])

    # -- distances of snapshots

    def exact(self, xs: Sequence[FloatArray]) -> _Nearest:
        """Exact distance of one snapshot (arrays with one row) to the set, and the nearest member."""
        if self.weights is not None:
            d, k = distance_to_points(
                xs, self.target, self.metric, self.aggregate, state_weights=self.weights
            )
            return _Nearest(float(d[0]), _Member("point", int(k[0])))
        sd = distance_to_set(xs, self.target, self.metric, self.aggregate)
        return _Nearest(float(sd.distances[0]), _Member(str(sd.nearest_kind[0]), int(sd.nearest_index[0])))

    def bracket(self, xs: Sequence[FloatArray]) -> _Bracket:
        """Per row: upper and lower bounds on the distance to the set, and the nearest group."""
        m = xs[0].shape[0]
        if self.fast_target is not None:
            d, k = distance_to_points(
                xs, self.fast_target, self.metric, self.aggregate, state_weights=self.weights
            )
            groups = self.fast_groups[k]
        else:
            d = np.full(m, np.inf)
            groups = np.full(m, -1, dtype=np.int64)
        if not self.hulls:
            return _Bracket(d, d, groups)  # exact: the bracket is the distance itself
        upper = d.copy()
        lower = d.copy()
        for c in self.hulls:
            comp = self.components[c]
            lo_i, hi_i = zip(
                *(self._player_bracket(x, v) for x, v in zip(xs, comp, strict=True)), strict=True
            )
            lo = _aggregate(lo_i, self.aggregate)
            hi = _aggregate(hi_i, self.aggregate)
            closer = hi < upper
            groups = np.where(closer, self.group_of(_Member("component", c)), groups)
            upper = np.minimum(upper, hi)
            lower = np.minimum(lower, lo)
        return _Bracket(upper, lower, groups)

    def _player_bracket(self, x: FloatArray, vertices: FloatArray) -> _Interval:
        metric = self.metric
        if vertices.shape[0] == 1:
            d = np.asarray(distance(x, vertices[0], metric), dtype=np.float64)
            return _Interval(d, d)
        m, k = x.shape
        dummy = np.ones((m, 1))
        d2 = distance_to_component([x, dummy], [vertices, np.ones((1, 1))], "l2", "max")
        at_vertex = np.asarray(distance(x[:, None, :], vertices[None], metric), dtype=np.float64).min(axis=1)
        diameter = metric_diameter(metric, k)
        root_k = math.sqrt(k)
        tv_lo = d2 / math.sqrt(2.0)
        tv_hi = np.minimum(root_k * d2 / 2.0, 1.0)
        if metric == "l2":
            lo, hi = d2, d2
        elif metric == "tv":
            lo, hi = tv_lo, tv_hi
        elif metric == "l1":
            lo, hi = 2.0 * tv_lo, 2.0 * tv_hi
        elif metric == "linf":
            lo, hi = d2 / root_k, d2
        elif metric == "hellinger":
            lo, hi = tv_lo / math.sqrt(2.0), np.sqrt(tv_hi)
        elif metric == "js":
            lo, hi = tv_lo * tv_lo / 2.0, math.log(2.0) * tv_hi
        else:
            lo, hi = 2.0 * (1.0 - KL_SMOOTHING) ** 2 * tv_lo * tv_lo, np.full(m, diameter)
        hi = np.minimum(np.minimum(hi, at_vertex), diameter)
        lo = np.minimum(lo, hi)
        inside = d2 <= HULL_ZERO_TOL
        return _Interval(np.where(inside, 0.0, lo), np.where(inside, 0.0, hi))

    # -- empirical joint play

    def joint_play(
        self, table: Int64Array, rows: Int64Array, visits: Int64Array, z: int, delta: float
    ) -> _FinalValue:
        """``averaged_joint_policy`` of a normal-form game after ``z`` samples.

        ``table[rows]`` ``(h, a_1 * ... * a_n)`` are the joint-action counts of the ``h``
        visited histories (read :func:`_history_blocks` rows at a time: the table is never
        copied whole) and ``visits`` their totals; ``delta`` is shared by the radii. With
        ``joint_concept="nash"`` each history's joint frequencies are measured against
        the joint distributions of the members (the product of an equilibrium's
        strategies; for a component with several vertices the nearest of its vertex
        products and of the product of the marginals' projections: an upper bound),
        with one radius per history on the joint distribution; with
        ``"nash_marginals"`` each player's marginals against the set, one radius per
        history and player. The member is the one nearest to the most samples.
        """
        h = rows.size
        num_actions = tuple(int(k) for k in self.target.num_actions)
        n = len(num_actions)
        seen = visits.astype(np.float64)
        weights = seen / float(z)
        # Each player's marginal counts per history: integers, exact in any order.
        counts = [np.empty((h, k), dtype=np.int64) for k in num_actions]
        for sl in _history_blocks(h, table.shape[1]):
            block = table[rows[sl]].reshape((sl.stop - sl.start,) + num_actions)
            for i in range(n):
                counts[i][sl] = block.sum(axis=tuple(1 + j for j in range(n) if j != i))
        marginals = [c.astype(np.float64) / seen[:, None] for c in counts]
        if self.joint_concept == "nash":
            d, ids = self._joint_distances(table, rows, seen, marginals)
            radius = concentration_radius(visits, table.shape[1], delta / h, self.metric)
        else:
            per_player = [concentration_radius(visits, k, delta / (h * n), self.metric) for k in num_actions]
            sd = distance_to_set(marginals, self.target, self.metric, self.aggregate)
            radius = _aggregate(per_player, self.aggregate)
            d = sd.distances
            ids = np.where(sd.nearest_kind == "point", sd.nearest_index, self.n_points + sd.nearest_index)
        mass = np.bincount(ids, weights=weights, minlength=self.n_points + len(self.components))
        best = int(np.argmax(mass))
        member = (
            _Member("point", best) if best < self.n_points else _Member("component", best - self.n_points)
        )
        return _FinalValue(float(np.sum(weights * d)), member, float(np.sum(weights * radius)))

    def _joint_distances(
        self, table: Int64Array, rows: Int64Array, seen: FloatArray, marginals: Sequence[FloatArray]
    ) -> tuple[FloatArray, Int64Array]:
        """Per history ``table[rows]``: the distance of its joint frequencies to the nearest
        member's joint distribution.

        The frequencies are formed :func:`_history_blocks` rows at a time. Returns the
        distances and the members' ids (points, then ``n_points + c``).
        """
        h = rows.size
        best = np.full(h, np.inf)
        ids = np.zeros(h, dtype=np.int64)
        targets = self.joint_targets
        member_ids = np.array(
            [m.index if m.kind == "point" else self.n_points + m.index for m in self.joint_members],
            dtype=np.int64,
        )
        # The product of the marginals' projections onto each component's hulls (all rows at once).
        projections = {
            c: [
                _simplex_clip(_Hull(v).project(m)[0]) if v.shape[0] > 1 else np.broadcast_to(v[0], m.shape)
                for m, v in zip(marginals, self.components[c], strict=True)
            ]
            for c in self.hulls
        }
        for rows_sl in _history_blocks(h, table.shape[1]):
            joint = table[rows[rows_sl]].astype(np.float64) / seen[rows_sl, None]  # (b, J)
            b_best = np.full(joint.shape[0], np.inf)
            b_ids = np.zeros(joint.shape[0], dtype=np.int64)
            if targets.shape[0]:
                block = max(1, _PAYOFF_BLOCK // max(targets.size, 1))
                for start in range(0, joint.shape[0], block):
                    sl = slice(start, min(joint.shape[0], start + block))
                    d = np.asarray(_vector_distance(joint[sl, None, :], targets[None], self.metric))
                    k = d.argmin(axis=1)
                    b_best[sl] = d[np.arange(d.shape[0]), k]
                    b_ids[sl] = member_ids[k]
            for c, proj in projections.items():
                d = np.asarray(_vector_distance(joint, _outer_rows([p[rows_sl] for p in proj]), self.metric))
                closer = d < b_best
                b_best = np.where(closer, d, b_best)
                b_ids = np.where(closer, self.n_points + c, b_ids)
            best[rows_sl] = b_best
            ids[rows_sl] = b_ids
        return np.where(best <= HULL_ZERO_TOL, 0.0, best), ids

    def markov_joint_play(
        self,
        counts: Int64Array,
        visits: Int64Array,
        delta: float,
        action_mask: Sequence[npt.NDArray[np.bool_]],
    ) -> _FinalValue:
        """``averaged_joint_policy`` of a stochastic game from its per-state counts.

        ``counts`` ``(S, a_1, ..., a_n)`` and ``visits`` ``(S,)``: each state's marginals
        (uniform over the actions of an unvisited state) form one stationary policy,
        measured with the state weights; ``delta`` is shared by the ``S * n`` radii.
        """
        assert self.weights is not None
        if self.joint_concept == "nash":
            return self._markov_joint_distribution(counts, visits, delta, action_mask)
        n = counts.ndim - 1
        seen_f = visits.astype(np.float64)
        marginals = []
        delta = delta / (counts.shape[0] * n)
        per_player = []
        for i in range(n):
            axes = tuple(1 + j for j in range(n) if j != i)
            c = counts.sum(axis=axes).astype(np.float64)  # (S, a_i)
            mask = action_mask[i]
            uniform = mask / mask.sum(axis=1, keepdims=True)
            seen = seen_f > 0
            marg = np.where(seen[:, None], c / np.maximum(seen_f, 1.0)[:, None], uniform)
            marginals.append(marg[None])
            k_s = mask.sum(axis=1)
            r = np.empty(k_s.size)
            for k in np.unique(k_s).tolist():
                r[k_s == k] = concentration_radius(visits[k_s == k], int(k), delta, self.metric)
            per_player.append(r)
        radius = _aggregate(per_player, self.aggregate)
        d, nearest = distance_to_points(
            marginals, self.target, self.metric, self.aggregate, state_weights=self.weights
        )
        return _FinalValue(float(d[0]), _Member("point", int(nearest[0])), float(self.weights @ radius))

    def _markov_joint_distribution(
        self,
        counts: Int64Array,
        visits: Int64Array,
        delta: float,
        action_mask: Sequence[npt.NDArray[np.bool_]],
    ) -> _FinalValue:
        """``markov_joint_play`` on joint distributions: each state's joint frequencies
        against the product of each stationary equilibrium's strategies in that state.

        An unvisited state counts as uniform play over its joint actions (as the
        marginal variant does); one radius per state on its joint distribution.
        """
        assert self.weights is not None
        n_states = counts.shape[0]
        exists = _outer_rows([m.astype(np.float64) for m in action_mask]) > 0  # (S, J)
        n_joint = exists.sum(axis=1)
        seen = visits > 0
        flat = counts.reshape(n_states, -1).astype(np.float64)
        joint = np.where(
            seen[:, None], flat / np.maximum(visits, 1)[:, None], exists / np.maximum(n_joint, 1)[:, None]
        )
        per_point = np.empty(self.n_points)
        for k in range(self.n_points):
            product = _outer_rows([p[k] for p in self.target.points])  # (S, J)
            per_point[k] = float(self.weights @ np.asarray(_vector_distance(joint, product, self.metric)))
        best = int(np.argmin(per_point))
        r = np.empty(n_states)
        for k in np.unique(n_joint).tolist():
            r[n_joint == k] = concentration_radius(
                visits[n_joint == k], int(k), delta / n_states, self.metric
            )
        value = per_point[best] if per_point[best] > HULL_ZERO_TOL else 0.0
        return _FinalValue(float(value), _Member("point", best), float(self.weights @ r))

    # -- payoffs

    def payoff_distance(self, u: FloatArray) -> _PayoffGaps:
        """Distance of payoff vectors ``(m, n)`` to the members' payoffs, and the nearest members."""
        m = u.shape[0]
        best = np.empty(m)
        which = np.empty(m, dtype=np.int64)
        _payoff_gaps(
            np.ascontiguousarray(u, dtype=np.float64),
            np.ascontiguousarray(self.point_payoffs, dtype=np.float64),
            np.ascontiguousarray(self.boxes, dtype=np.float64),
            self.aggregate == "sum",
            best,
            which,
        )
        groups = self.groups[np.maximum(which, 0)]
        last_member = None
        if m:
            w = int(which[-1])
            if w >= 0:
                last_member = (
                    _Member("point", w) if w < self.n_points else _Member("component", w - self.n_points)
                )
        return _PayoffGaps(best, groups, last_member)


def _as_target(game: NormalFormGame | StochasticGame, solution_set: Any, function: str) -> SolutionTarget:
    """The set as a :class:`SolutionTarget` that fits the game (field ``"solution_set"`` otherwise)."""
    if isinstance(solution_set, SolutionTarget):
        target = solution_set
    elif isinstance(solution_set, (SolutionSet, MarkovSolutionSet)):
        if isinstance(solution_set, SolutionSet) != isinstance(game, NormalFormGame):
            raise InvalidGameError(
                "solution_set",
                f"{function}: a {type(solution_set).__name__} does not belong to a {type(game).__name__}",
            )
        try:
            target = SolutionTarget.from_solution_set(solution_set)
        except InvalidGameError as exc:
            raise InvalidGameError("solution_set", exc.message) from exc
    else:
        raise InvalidGameError(
            "solution_set",
            f"{function}: expected a SolutionSet, MarkovSolutionSet or SolutionTarget, got "
            f"{type(solution_set).__name__}",
        )
    n_states = game.n_states if isinstance(game, StochasticGame) else None
    if target.num_actions != tuple(game.num_actions) or target.n_states != n_states:
        raise InvalidGameError(
            "solution_set",
            f"{function}: the set's strategies have {target.num_actions} actions and "
            f"{target.n_states} states; the game has {tuple(game.num_actions)} actions and "
            f"{n_states} states",
        )
    return target


def _outer_rows(xs: Sequence[FloatArray]) -> FloatArray:
    """Row by row, the flattened outer product of the players' vectors: ``(m, prod a_i)``."""
    out = np.asarray(xs[0], dtype=np.float64)
    for x in xs[1:]:
        out = (out[:, :, None] * np.asarray(x, dtype=np.float64)[:, None, :]).reshape(out.shape[0], -1)
    return out


def _joint_targets(target: SolutionTarget) -> tuple[FloatArray, list[_Member], bool]:
    """The joint distributions (products of strategies) of a normal-form set's members.

    Points and one-vertex components give one product each; a component with several
    vertices gives the products of up to :data:`_MAX_VERTEX_PROFILES` vertex profiles
    (its nearest joint distribution is then bracketed: see :meth:`_Target.joint_play`).
    Returns the ``(M, J)`` products, their members, and whether any component was
    bracketed. Stochastic targets get none here (see ``_markov_joint_distribution``).
    """
    if target.n_states is not None:
        return np.zeros((0, 0)), [], False
    rows = [_outer_rows([p[k : k + 1] for p in target.points]) for k in range(target.n_points)]
    members = [_Member("point", k) for k in range(target.n_points)]
    bounded = False
    for c, comp in enumerate(target.components):
        combos = list(
            itertools.islice(itertools.product(*[range(v.shape[0]) for v in comp]), _MAX_VERTEX_PROFILES)
        )
        bounded = bounded or len(combos) > 1
        for combo in combos:
            rows.append(_outer_rows([v[j : j + 1] for v, j in zip(comp, combo, strict=True)]))
            members.append(_Member("component", c))
    return np.concatenate(rows) if rows else np.zeros((0, 0)), members, bounded


def _member_groups(target: SolutionTarget) -> Int64Array:
    """Each member's group (points, then components): union-find over members that touch."""
    parent = list(range(target.n_points + len(target.components)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for c, comp in enumerate(target.components):
        if target.n_points:
            inside = distance_to_component(target.points, comp, "l2") <= 1e-9
            for k in np.flatnonzero(inside).tolist():
                parent[find(target.n_points + c)] = find(k)
        for c2 in range(c):
            if _hulls_touch(comp, target.components[c2]):
                parent[find(target.n_points + c)] = find(target.n_points + c2)
    return np.array([find(a) for a in range(len(parent))], dtype=np.int64)


def _hulls_touch(a: Sequence[FloatArray], b: Sequence[FloatArray]) -> bool:
    """Whether two components share a vertex profile (one common vertex per player)."""
    for va, vb in zip(a, b, strict=True):
        common = (np.abs(va[:, None, :] - vb[None, :, :]).max(axis=2) <= 1e-12).any()
        if not common:
            return False
    return True


def _payoff_rows(payoffs: FloatArray, xs: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Expected payoffs ``(m, n)`` and NashConv ``(m,)`` of ``m`` mixed profiles.

    Two players: the compiled :func:`_payoff_rows_two`; more: :func:`_payoff_rows_numpy`
    (the same operations in the same order, so both give the same bits).
    """
    if len(xs) != 2:
        return _payoff_rows_numpy(payoffs, xs)
    m = xs[0].shape[0]
    u = np.empty((m, 2))
    nash_conv = np.empty(m)
    _payoff_rows_two(
        np.ascontiguousarray(payoffs[0], dtype=np.float64),
        np.ascontiguousarray(payoffs[1].T, dtype=np.float64),
        np.ascontiguousarray(xs[0], dtype=np.float64),
        np.ascontiguousarray(xs[1], dtype=np.float64),
        u,
        nash_conv,
    )
    return u, nash_conv


def _payoff_rows_numpy(payoffs: FloatArray, xs: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Expected payoffs ``(m, n)`` and NashConv ``(m,)`` of ``m`` mixed profiles.

    Each player's deviation payoffs are contracted one opponent at a time with a loop
    over that opponent's actions (elementwise multiply-adds), so every row's result
    does not depend on the other rows: chunked and whole traces agree to the last bit.
    """
    n = len(xs)
    m = xs[0].shape[0]
    joint = math.prod(payoffs.shape[1:])
    block = max(1, _PAYOFF_BLOCK // max(joint, 1))
    u = np.empty((m, n))
    nash_conv = np.zeros(m)
    for start in range(0, m, block):
        sl = slice(start, min(m, start + block))
        b = sl.stop - sl.start
        regret_total = np.zeros(b)
        for i in range(n):
            others = [j for j in range(n) if j != i]
            t: FloatArray = np.moveaxis(payoffs[i], i, 0)[None]  # (1, a_i, others...)
            for j in reversed(others):
                x = xs[j][sl]
                lead = t.ndim - 1
                acc: FloatArray | None = None
                for a in range(x.shape[1]):
                    w = x[:, a].reshape((b,) + (1,) * (lead - 1))
                    term = t[..., a] * w
                    acc = term if acc is None else acc + term
                assert acc is not None
                t = acc
            dev = t.reshape(b, -1)  # (b, a_i)
            xi = xs[i][sl]
            value = dev[:, 0] * xi[:, 0]
            for a in range(1, xi.shape[1]):
                value = value + dev[:, a] * xi[:, a]
            u[sl, i] = value
            regret_total = regret_total + np.maximum(dev.max(axis=1) - value, 0.0)
        nash_conv[sl] = regret_total
    return u, nash_conv


@numba.njit(cache=True)
def _payoff_rows_two(
    a0: FloatArray, a1t: FloatArray, x0: FloatArray, x1: FloatArray, u: FloatArray, nash_conv: FloatArray
) -> None:
    """:func:`_payoff_rows` of a two-player game, row by row, in its order of operations.

    ``a0`` is player 0's payoffs ``(a_0, a_1)``, ``a1t`` player 1's transposed
    ``(a_1, a_0)``: for player ``i`` the deviation payoff of action ``c`` is
    :math:`\\sum_a A_i[c, a] x_{-i}[a]` summed in action order, the payoff
    :math:`\\sum_c dev_c x_i[c]` likewise, the regret ``max(max_c dev_c - payoff, 0)``.
    """
    for r in range(x0.shape[0]):
        total = 0.0
        for i in range(2):
            table = a0 if i == 0 else a1t
            mine = x0 if i == 0 else x1
            other = x1 if i == 0 else x0
            value = 0.0
            best = -np.inf
            for c in range(table.shape[0]):
                dev = table[c, 0] * other[r, 0]
                for a in range(1, table.shape[1]):
                    dev = dev + table[c, a] * other[r, a]
                value = dev * mine[r, 0] if c == 0 else value + dev * mine[r, c]
                best = dev if dev > best else best
            u[r, i] = value
            total = total + max(best - value, 0.0)
        nash_conv[r] = total


@numba.njit(cache=True)
def _payoff_gaps(
    u: FloatArray,
    point_payoffs: FloatArray,
    boxes: FloatArray,
    aggregate_sum: bool,
    best: FloatArray,
    which: Int64Array,
) -> None:
    """Per row of ``u``: the aggregated gap to the nearest point payoff or component box.

    The operations of the numpy form of :meth:`_Target.payoff_distance`: per member the
    gaps over players aggregated in order, the first strict minimum over points then
    boxes (member ``K + c`` for box ``c``); ``which`` is -1 when there is no member.
    Loops run over the rows (vectorised), one member and player at a time.
    """
    m, n = u.shape
    k_count = point_payoffs.shape[0]
    gap = np.empty(m)
    for r in range(m):
        best[r] = np.inf
        which[r] = -1
    for member in range(k_count + boxes.shape[0]):
        for i in range(n):
            if member < k_count:
                target = point_payoffs[member, i]
                for r in range(m):
                    g = abs(u[r, i] - target)
                    gap[r] = g if i == 0 else (gap[r] + g if aggregate_sum else max(gap[r], g))
            else:
                lo = boxes[member - k_count, i, 0]
                hi = boxes[member - k_count, i, 1]
                for r in range(m):
                    g = max(max(lo - u[r, i], u[r, i] - hi), 0.0)
                    gap[r] = g if i == 0 else (gap[r] + g if aggregate_sum else max(gap[r], g))
        for r in range(m):
            closer = gap[r] < best[r]
            best[r] = gap[r] if closer else best[r]
            which[r] = member if closer else which[r]


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the payoff kernels now.

    Examples
    --------
    >>> _warm_up()
    """
    rows = np.full((1, 2), 0.5)
    frozen = rows.copy()
    frozen.setflags(write=False)  # chunks hold read-only arrays
    for xs in (rows, frozen):  # running means, and last iterates straight from a chunk
        _payoff_rows_two(np.eye(2), np.eye(2), xs, xs, np.empty((1, 2)), np.empty(1))
    _payoff_gaps(rows, rows, np.zeros((1, 2, 2)), False, np.empty(1), np.empty(1, dtype=np.int64))
