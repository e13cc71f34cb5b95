"""Tests of ``equilibria.solver.traces.distances``: distances between policies and to solution sets.

* Known values of every metric (pure strategies, the uniform distribution, closed forms).
* Metric axioms by Hypothesis: non-negativity, identity, symmetry (all but ``kl``), the
  triangle inequality (tv, l1, l2, linf, hellinger), the bounds of hellinger and js.
* Independent oracles: ``scipy.spatial.distance`` / ``scipy.stats.entropy`` for the
  metrics and a brute-force loop for :func:`distance_to_points`; for convex components
  a fine grid refined by Brent's method (segments), scipy's SLSQP from many random
  starts and LPs written here (larger hulls); for the correlated-equilibrium polytope,
  constraints built here by loops over joint actions and solved by HiGHS's
  interior-point method, and ``trust-constr`` for the Euclidean projection.
* The segment component of SPEC section 6: a point inside it is at distance 0 from the
  component although both extreme equilibria are far.
* State weighting of stochastic-game policies, and malformed input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from equilibria.solver import InvalidGameError, InvalidOptionError, NormalFormGame, solve
from equilibria.solver.concepts.correlated import ce_violation
from equilibria.solver.results import MarkovEquilibrium, MarkovSolutionSet, SolutionSet
from equilibria.solver.traces import (
    METRICS,
    SetDistance,
    SolutionTarget,
    correlated_polytope,
    distance,
    distance_to_component,
    distance_to_points,
    distance_to_polyhedron,
    distance_to_set,
    hull,
    metrics,
    profile_distance,
)
from equilibria.solver.traces import distances as distances_module
from equilibria.solver.traces.metrics import KL_SMOOTHING
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import LinearConstraint, linprog, minimize, minimize_scalar
from scipy.spatial import distance as spd
from scipy.special import rel_entr
from scipy.stats import entropy

from .. import games

SYMMETRIC = ("tv", "l1", "l2", "linf", "hellinger", "js")
TRIANGLE = ("tv", "l1", "l2", "linf", "hellinger")
LP_METRICS = ("tv", "l1", "linf")
SMOOTH_METRICS = ("hellinger", "js", "kl")


# --------------------------------------------------------------------------- oracles


def oracle_many(p: np.ndarray, ys: np.ndarray, metric: str) -> np.ndarray:
    """The metric from one vector ``p`` to each row of ``ys``, by scipy's implementations."""
    p = np.asarray(p, dtype=np.float64)[None, :]
    ys = np.atleast_2d(np.asarray(ys, dtype=np.float64))
    if metric in ("tv", "l1"):
        return spd.cdist(p, ys, "cityblock")[0] * (0.5 if metric == "tv" else 1.0)
    if metric == "l2":
        return spd.cdist(p, ys, "euclidean")[0]
    if metric == "linf":
        return spd.cdist(p, ys, "chebyshev")[0]
    if metric == "hellinger":
        return spd.cdist(np.sqrt(p), np.sqrt(ys), "euclidean")[0] / math.sqrt(2.0)
    if metric == "js":
        # Squared JS divergence (nats) by scipy's rel_entr: scipy's own "jensenshannon" takes
        # a square root of a rounding-negative number and gives nan for identical vectors.
        # x log(x / m) with m = (p + y) / 2 as rel_entr(2x, p + y) / 2: halving a subnormal
        # sum would round it to 0.
        total = p + ys
        return 0.25 * (rel_entr(2 * p, total).sum(axis=1) + rel_entr(2 * ys, total).sum(axis=1))
    a = KL_SMOOTHING
    return rel_entr((1 - a) * p + a / p.shape[1], (1 - a) * ys + a / ys.shape[1]).sum(axis=1)


def oracle(p: np.ndarray, q: np.ndarray, metric: str) -> float:
    """The metric between two vectors (``oracle_many`` on one row; kl also by ``entropy``)."""
    value = float(oracle_many(p, q, metric)[0])
    if metric == "kl":
        a = KL_SMOOTHING
        p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
        assert value == pytest.approx(
            float(entropy((1 - a) * p + a / p.size, (1 - a) * q + a / q.size)), abs=1e-12
        )
    return value


def oracle_profile(x, y, metric: str, aggregate: str, weights=None) -> float:
    """Aggregate of per-player oracle distances (per state, then weighted)."""
    if weights is None:
        per = [oracle(a, b, metric) for a, b in zip(x, y, strict=True)]
        return max(per) if aggregate == "max" else sum(per)
    w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    total = 0.0
    for s in range(len(w)):
        per = [oracle(a[s], b[s], metric) for a, b in zip(x, y, strict=True)]
        total += w[s] * (max(per) if aggregate == "max" else sum(per))
    return total


def oracle_segment(x: np.ndarray, v0: np.ndarray, v1: np.ndarray, metric: str) -> float:
    """``min_t d(x, (1 - t) v0 + t v1)``: a grid of 20001 points refined by bounded Brent."""

    def on_segment(t: np.ndarray) -> np.ndarray:
        y = np.clip((1 - t)[:, None] * v0 + t[:, None] * v1, 0.0, None)
        return y / y.sum(axis=1, keepdims=True)

    def f(t: float) -> float:
        return float(oracle_many(x, on_segment(np.array([t])), metric)[0])

    grid = np.linspace(0.0, 1.0, 20001)
    values = oracle_many(x, on_segment(grid), metric)
    k = int(values.argmin())
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-14, "maxiter": 500})
    return min(float(values.min()), float(res.fun), f(0.0), f(1.0))


def oracle_hull(x: np.ndarray, vertices: np.ndarray, metric: str, rng: np.random.Generator) -> float:
    """``min over convex weights`` by an LP written here (tv, l1, linf) or multi-start SLSQP."""
    nv, a = vertices.shape
    if metric in LP_METRICS:
        # Variables (lambda, e) with e >= |x - V^T lambda| per action; linf: one e for all.
        ne = a if metric != "linf" else 1
        rows = []
        rhs = []
        for k in range(a):
            e = np.zeros(ne)
            e[k if ne == a else 0] = -1.0
            rows.append(np.concatenate([vertices[:, k], e]))
            rhs.append(x[k])
            rows.append(np.concatenate([-vertices[:, k], e]))
            rhs.append(-x[k])
        cost = np.concatenate([np.zeros(nv), np.ones(ne)])
        res = linprog(
            cost,
            A_ub=np.array(rows),
            b_ub=np.array(rhs),
            A_eq=np.concatenate([np.ones(nv), np.zeros(ne)])[None, :],
            b_eq=[1.0],
            bounds=(0, None),
            method="highs-ipm",
        )
        assert res.status == 0
        return 0.5 * res.fun if metric == "tv" else float(res.fun)

    def f(lam: np.ndarray) -> float:
        y = np.clip(np.clip(lam, 0, None) @ vertices, 0.0, None)
        return float(oracle_many(x, y / y.sum(), metric)[0])

    def half_square(lam: np.ndarray) -> tuple[float, np.ndarray]:
        r = lam @ vertices - x
        return 0.5 * float(r @ r), vertices @ r

    starts = [*np.eye(nv), *rng.dirichlet(np.ones(nv), 8)]
    best = min(f(s) for s in starts)
    for s in starts:
        res = minimize(
            half_square if metric == "l2" else f,
            s,
            jac=metric == "l2",
            method="SLSQP",
            bounds=[(0, 1)] * nv,
            constraints=[{"type": "eq", "fun": lambda lam: lam.sum() - 1}],
            options={"ftol": 1e-15, "maxiter": 500},
        )
        best = min(best, f(res.x))
    return best


def ce_constraints_by_loops(game: NormalFormGame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``g`` with ``g @ p <= 0``, built by plain loops over joint actions (C order)."""
    shape = game.num_actions
    joints = list(itertools.product(*(range(k) for k in shape)))
    rows = []
    for i, k in enumerate(shape):
        pairs = [(a, b) for a in range(k) for b in range(k) if a != b] if kind == "correlated" else range(k)
        for pair in pairs:
            row = np.zeros(len(joints))
            for col, joint in enumerate(joints):
                if kind == "correlated":
                    a, b = pair
                    if joint[i] != a:
                        continue
                else:
                    b = pair
                dev = list(joint)
                dev[i] = b
                row[col] = game.payoffs[(i, *dev)] - game.payoffs[(i, *joint)]
            rows.append(row)
    a_ub = np.array(rows)
    return a_ub, np.zeros(len(rows))


def oracle_polytope_lp(x: np.ndarray, a_ub: np.ndarray, metric: str) -> float:
    """Distance in tv or linf from ``x`` to ``{p in simplex : a_ub p <= 0}`` by one LP."""
    n = x.size
    ne = n if metric == "tv" else 1
    ident = np.eye(n)
    e = -np.eye(n) if ne == n else -np.ones((n, 1))
    a = np.block([[a_ub, np.zeros((a_ub.shape[0], ne))], [ident, e], [-ident, e]])
    b = np.concatenate([np.zeros(a_ub.shape[0]), x, -x])
    res = linprog(
        np.concatenate([np.zeros(n), np.full(ne, 0.5 if metric == "tv" else 1.0)]),
        A_ub=a,
        b_ub=b,
        A_eq=np.concatenate([np.ones(n), np.zeros(ne)])[None, :],
        b_eq=[1.0],
        bounds=(0, None),
        method="highs-ipm",
    )
    assert res.status == 0
    return float(res.fun)


def probability_vectors(size: int) -> st.SearchStrategy[np.ndarray]:
    """Probability vectors of a given size, with exact zeros and pure vectors included."""
    raw = arrays(
        np.float64, size, elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 3.0]) | st.floats(0, 1)
    )
    return raw.filter(lambda v: v.sum() > 1e-3).map(lambda v: v / v.sum())


# --------------------------------------------------------------------------- known values

_LN2 = math.log(2.0)
_KNOWN = [
    # (p, q, metric, value) worked out by hand
    ([1, 0], [0, 1], "tv", 1.0),
    ([1, 0], [0, 1], "l1", 2.0),
    ([1, 0], [0, 1], "l2", math.sqrt(2.0)),
    ([1, 0], [0, 1], "linf", 1.0),
    ([1, 0], [0, 1], "hellinger", 1.0),
    ([1, 0], [0, 1], "js", _LN2),
    # KL of e_0 from e_1 smoothed on both sides: (1 - a/2) ln((1 - a/2)/(a/2)) + (a/2) ln((a/2)/(1 - a/2)).
    ([1, 0], [0, 1], "kl", (1 - KL_SMOOTHING) * math.log((1 - KL_SMOOTHING / 2) / (KL_SMOOTHING / 2))),
    ([0.5, 0.5], [1, 0], "tv", 0.5),
    ([0.5, 0.5], [1, 0], "hellinger", math.sqrt(1 - math.sqrt(0.5))),
    # JS((1/2, 1/2), (1, 0)): m = (3/4, 1/4); 1/2 [1/2 ln(2/3) + 1/2 ln 2] + 1/2 ln(4/3).
    ([0.5, 0.5], [1, 0], "js", 0.25 * math.log(2 / 3) + 0.25 * _LN2 + 0.5 * math.log(4 / 3)),
    ([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], "linf", 0.3),
    ([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], "l2", math.sqrt(0.18)),
    ([1 / 3, 1 / 3, 1 / 3], [1, 0, 0], "tv", 2 / 3),
    ([0.25, 0.75], [0.25, 0.75], "kl", 0.0),
    ([0.25, 0.75], [0.25, 0.75], "js", 0.0),
]


@pytest.mark.parametrize(
    ("p", "q", "metric", "expected"),
    [pytest.param(*case, id=f"{case[2]}-{i}") for i, case in enumerate(_KNOWN)],
)
def test_known_values(p, q, metric, expected) -> None:
    got = float(distance(p, q, metric))
    assert got == pytest.approx(expected, abs=1e-12)
    assert got == pytest.approx(oracle(np.array(p), np.array(q), metric), abs=1e-12)


def test_distance_broadcasts_over_leading_axes() -> None:
    p = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    got = distance(p[:, None, :], p[None, :, :], "tv")
    assert got.shape == (3, 3)
    np.testing.assert_allclose(got, [[0, 0.5, 1], [0.5, 0, 0.5], [1, 0.5, 0]], atol=1e-15)


def test_kl_is_finite_and_bounded_by_the_smoothing() -> None:
    for n in (2, 3, 7):
        pure = np.eye(n)
        d = distance(pure[:, None, :], pure[None, :, :], "kl")
        assert np.isfinite(d).all()
        assert (d <= math.log(n / KL_SMOOTHING)).all()
        assert (np.diag(d) == 0.0).all()


# --------------------------------------------------------------------------- metric axioms


@settings(deadline=None, max_examples=40)
@given(data=st.data(), size=st.integers(2, 5), metric=st.sampled_from(METRICS))
def test_metric_axioms(data, size, metric) -> None:
    p, q, r = (data.draw(probability_vectors(size)) for _ in range(3))
    d_pq = float(distance(p, q, metric))
    assert d_pq >= 0.0
    assert float(distance(p, p, metric)) == 0.0
    assert d_pq == pytest.approx(oracle(p, q, metric), abs=1e-10)
    if np.abs(p - q).max() > 1e-3:
        assert d_pq > 0.0
    if metric in SYMMETRIC:
        assert d_pq == pytest.approx(float(distance(q, p, metric)), abs=1e-14)
    if metric in TRIANGLE:
        assert d_pq <= float(distance(p, r, metric)) + float(distance(r, q, metric)) + 1e-12
    if metric in ("tv", "linf", "hellinger"):
        assert d_pq <= 1.0 + 1e-15
    if metric == "js":
        assert d_pq <= _LN2 + 1e-15


def test_tv_equals_half_l1_and_bounds_hellinger() -> None:
    # Le Cam's inequalities: H^2 <= TV <= H sqrt(2 - H^2) (H normalised to [0, 1]).
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.full(4, 0.5), 500)
    q = rng.dirichlet(np.full(4, 0.5), 500)
    tv, l1, h = (distance(p, q, m) for m in ("tv", "l1", "hellinger"))
    np.testing.assert_allclose(tv, l1 / 2, atol=1e-15)
    assert (h**2 <= tv + 1e-12).all()
    assert (tv <= h * np.sqrt(2 - h**2) + 1e-12).all()


# --------------------------------------------------------------------------- profiles and states


@pytest.mark.parametrize(
    ("x_players", "y_players"),
    [(1, 1), (2, 3), (3, 2), (0, 0)],
    ids=["one-each", "short-x", "short-y", "none"],
)
def test_profile_distance_needs_the_same_number_of_players_and_at_least_two(
    x_players: int, y_players: int
) -> None:
    half = [0.5, 0.5]
    with pytest.raises(InvalidGameError) as info:
        profile_distance([half] * x_players, [half] * y_players, "tv")
    assert info.value.field == "y"
    assert info.value.message == (
        f"profile_distance(): x has {x_players} players and y has {y_players}; need the same number >= 2"
    )


@pytest.mark.parametrize(
    ("p", "q"), [(0.5, [0.5, 0.5]), ([0.5, 0.5], 0.5), (1.0, 1.0)], ids=["p", "q", "both"]
)
def test_distance_refuses_a_scalar_on_either_side(p: object, q: object) -> None:
    with pytest.raises(InvalidGameError) as info:
        distance(p, q, "tv")
    assert info.value.field == "q" and "are not vectors over one action set" in info.value.message


def test_distance_to_points_of_a_target_given_by_components_only_is_refused() -> None:
    """A target may be components only (no extreme points): distances to its points have
    nothing to measure against, and say so instead of returning an empty answer."""
    vertex = np.array([[1.0, 0.0]])
    target = SolutionTarget(points=(np.zeros((0, 2)), np.zeros((0, 2))), components=((vertex, vertex),))
    with pytest.raises(InvalidGameError) as info:
        distance_to_points((np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]])), target, "tv")
    assert info.value.field == "points"
    assert info.value.message == "distance_to_points(): the target has no points"


def test_profile_distance_aggregates_over_players() -> None:
    x = ([1.0, 0.0], [0.2, 0.3, 0.5])
    y = ([0.5, 0.5], [0.2, 0.3, 0.5])
    z = ([0.5, 0.5], [0.5, 0.3, 0.2])
    assert float(profile_distance(x, y, "tv", "max")) == 0.5
    assert float(profile_distance(x, z, "tv", "max")) == 0.5
    assert float(profile_distance(x, z, "tv", "sum")) == pytest.approx(0.8, abs=1e-15)
    assert float(profile_distance(x, z, "linf", "sum")) == pytest.approx(0.8, abs=1e-15)


def test_state_weighted_profile_distance_by_hand() -> None:
    # State 0: players at tv (1, 0); state 1: (0.5, 0.25). Weights (1, 3) / 4.
    x = ([[1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [0.75, 0.25]])
    y = ([[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]])
    got_max = float(profile_distance(x, y, "tv", "max", state_weights=[1.0, 3.0]))
    got_sum = float(profile_distance(x, y, "tv", "sum", state_weights=[0.25, 0.75]))
    assert got_max == pytest.approx(0.25 * 1.0 + 0.75 * 0.5, abs=1e-15)
    assert got_sum == pytest.approx(0.25 * 1.0 + 0.75 * 0.75, abs=1e-15)


def test_state_weighted_distance_to_points_against_a_loop() -> None:
    rng = np.random.default_rng(4)
    z, s, k = 30, 4, 3
    xs = (rng.dirichlet(np.ones(2), (z, s)), rng.dirichlet(np.ones(3), (z, s)))
    ps = (rng.dirichlet(np.ones(2), (k, s)), rng.dirichlet(np.ones(3), (k, s)))
    w_rows = rng.random((z, s))
    w_fixed = np.array([0.1, 0.2, 0.3, 0.4])
    for metric, aggregate in [("tv", "max"), ("l2", "sum"), ("js", "max"), ("hellinger", "sum")]:
        for weights in (w_rows, w_fixed, None):
            d, nearest = distance_to_points(xs, ps, metric, aggregate, state_weights=weights)
            for row in range(z):
                w = np.ones(s) if weights is None else weights if weights.ndim == 1 else weights[row]
                expected = [
                    oracle_profile([x[row] for x in xs], [p[j] for p in ps], metric, aggregate, w)
                    for j in range(k)
                ]
                assert d[row] == pytest.approx(min(expected), abs=1e-12)
                assert expected[nearest[row]] == pytest.approx(min(expected), abs=1e-12)


def test_markov_target_from_a_solution_set() -> None:
    # Two stationary equilibria of a 3-state game (values irrelevant to distances).
    pol_a = (np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]))
    pol_b = (np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0], [0.5, 0.5]]))
    zeros = np.zeros(2)
    eqs = tuple(
        MarkovEquilibrium(
            policies=p,
            values=np.zeros((3, 2)),
            payoffs=zeros,
            regrets=zeros,
            nash_conv=0.0,
            state_gaps=np.zeros(3),
        )
        for p in (pol_a, pol_b)
    )
    target = SolutionTarget.from_solution_set(
        MarkovSolutionSet(game_id="g", equilibria=eqs, complete=False, method="m")
    )
    assert target.n_states == 3 and target.n_points == 2
    snap = tuple(np.stack([a, b]) for a, b in zip(pol_a, pol_b, strict=True))
    # Visitation concentrated on state 0 (where the two differ for player 0) and state 1.
    result = distance_to_set(snap, target, "tv", state_weights=[0.5, 0.5, 0.0])
    np.testing.assert_allclose(result.distances, [0.0, 0.0], atol=1e-15)
    assert result.nearest_index.tolist() == [0, 1]
    d, _ = distance_to_points(snap, (pol_b[0][None], pol_b[1][None]), "tv", state_weights=[0.5, 0.5, 0.0])
    # Snapshot 0 vs pol_b: state 0 differs by 1 (player 0), state 1 by 1 (player 1): weighted 1.0.
    assert d.tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- points


@settings(deadline=None, max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    z=st.integers(1, 40),
    k=st.integers(1, 6),
    actions=st.lists(st.integers(1, 4), min_size=2, max_size=3),
    metric=st.sampled_from(METRICS),
    aggregate=st.sampled_from(["max", "sum"]),
)
def test_distance_to_points_against_a_brute_force_loop(seed, z, k, actions, metric, aggregate) -> None:
    rng = np.random.default_rng(seed)
    xs = tuple(rng.dirichlet(np.full(a, 0.7), z) for a in actions)
    ps = tuple(rng.dirichlet(np.full(a, 0.7), k) for a in actions)
    # Half the snapshots sit exactly on a point, to exercise zeros (and ties of repeated points).
    on_points = rng.integers(0, k, z - z // 2)
    xs = tuple(np.vstack([x[: z // 2], p[on_points]]) for x, p in zip(xs, ps, strict=True))
    d, nearest = distance_to_points(xs, ps, metric, aggregate)
    for row in range(z):
        expected = [
            oracle_profile([x[row] for x in xs], [p[j] for p in ps], metric, aggregate) for j in range(k)
        ]
        assert d[row] == pytest.approx(min(expected), abs=1e-10)
        assert expected[nearest[row]] == pytest.approx(min(expected), abs=1e-10)


def test_distance_to_points_over_many_blocks() -> None:
    # More snapshots than one work block: the blocks must stitch together.
    rng = np.random.default_rng(5)
    z = 3 * metrics._BLOCK_ELEMENTS // 5 + 17
    xs = (rng.dirichlet(np.ones(3), z), rng.dirichlet(np.ones(3), z))
    ps = (rng.dirichlet(np.ones(3), 5), rng.dirichlet(np.ones(3), 5))
    for metric in ("tv", "l2", "linf"):
        d, nearest = distance_to_points(xs, ps, metric)
        name = {"tv": "cityblock", "l2": "euclidean", "linf": "chebyshev"}[metric]
        full = np.maximum(spd.cdist(xs[0], ps[0], name), spd.cdist(xs[1], ps[1], name))
        full *= 0.5 if metric == "tv" else 1.0
        np.testing.assert_allclose(d, full.min(axis=1), atol=1e-14, rtol=0)
        np.testing.assert_allclose(full[np.arange(z), nearest], full.min(axis=1), atol=1e-14, rtol=0)


def test_distance_to_points_accepts_a_target() -> None:
    target = SolutionTarget.from_solution_set(solve(games.chicken()))
    snap = (np.array([[2 / 3, 1 / 3], [0.0, 1.0]]), np.array([[2 / 3, 1 / 3], [1.0, 0.0]]))
    d, nearest = distance_to_points(snap, target, "l2")
    np.testing.assert_allclose(d, [0.0, 0.0], atol=1e-15)
    found = [target.points[0][j].tolist() + target.points[1][j].tolist() for j in nearest]
    np.testing.assert_allclose(found, [[2 / 3, 1 / 3, 2 / 3, 1 / 3], [0, 1, 1, 0]], atol=1e-12)


# --------------------------------------------------------------------------- components


@pytest.mark.parametrize("metric", METRICS)
def test_segment_component_against_a_grid(metric) -> None:
    rng = np.random.default_rng(6)
    v0 = rng.dirichlet(np.full(3, 0.5), 4)
    v1 = rng.dirichlet(np.full(3, 0.5), 4)
    x = rng.dirichlet(np.ones(3), 4)
    x[0] = [1.0, 0.0, 0.0]  # a pure snapshot
    for j in range(4):
        segment = np.vstack([v0[j], v1[j]])
        got = distance_to_component((x[j : j + 1], x[j : j + 1]), (segment, segment), metric)[0]
        expected = oracle_segment(x[j], v0[j], v1[j], metric)
        assert got <= expected + 1e-12  # at least as good as the oracle ...
        assert got >= expected - 1e-8  # ... and not below the true minimum


@pytest.mark.parametrize("metric", METRICS)
def test_hull_component_against_independent_optimisers(metric) -> None:
    rng = np.random.default_rng(7)
    vertices = rng.dirichlet(np.full(4, 0.6), 3)
    x = rng.dirichlet(np.full(4, 0.8), 5)
    other = np.array([[0.5, 0.5]])  # player 1's hull is a point: distance = player 0's
    got = distance_to_component((x, np.repeat(other, 5, axis=0)), (vertices, other), metric, "sum")
    for row in range(5):
        expected = oracle_hull(x[row], vertices, metric, rng)
        assert got[row] <= expected + 1e-9
        assert got[row] >= expected - 1e-7


def test_l2_projection_beyond_the_enumeration_cap_uses_wolfe() -> None:
    rng = np.random.default_rng(8)
    vertices = rng.dirichlet(np.full(6, 0.4), 12)  # sum_{k<=6} C(12, k) = 2509 faces > 2048
    assert hull._Hull(vertices)._enumerate_faces() is None
    x = rng.dirichlet(np.ones(6), 4)
    inside = rng.dirichlet(np.ones(12), 3) @ vertices
    got = distance_to_component(
        (np.vstack([x, inside]), np.full((7, 2), 0.5)), (vertices, [[0.5, 0.5]]), "l2"
    )
    for row in range(4):
        expected = oracle_hull(x[row], vertices, "l2", rng)
        assert expected - 1e-7 <= got[row] <= expected + 1e-9
    assert got[4:].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("metric", METRICS)
def test_points_inside_a_hull_are_at_distance_exactly_zero(metric) -> None:
    rng = np.random.default_rng(9)
    vertices = rng.dirichlet(np.full(4, 0.5), 3)
    inside = rng.dirichlet(np.ones(3), 6) @ vertices
    inside[0] = vertices[1]
    inside[1] = 0.5 * (vertices[0] + vertices[2])
    got = distance_to_component((inside, inside), (vertices, vertices), metric)
    assert np.abs(got).max() <= 1e-12


@pytest.mark.parametrize("metric", METRICS)
def test_point_inside_the_degenerate_segment(metric) -> None:
    # SPEC section 6: A = B = [[1, 1], [0, 0]]; NE = (row 1, any y), a segment between the
    # extreme equilibria (e0, e0) and (e0, e1). Its midpoint is an NE far from both ends.
    result = solve(games.degenerate_continuum())
    assert len(result.components) == 1 and not result.components[0].is_singleton
    snapshot = (np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))
    to_component = distance_to_component(snapshot, result.components[0], metric)
    to_points, _ = distance_to_points(snapshot, SolutionTarget.from_solution_set(result), metric)
    to_set = distance_to_set(snapshot, result, metric)
    assert to_component.tolist() == [0.0]
    assert to_points[0] == pytest.approx(
        oracle(np.array([0.5, 0.5]), np.array([1.0, 0.0]), metric), abs=1e-12
    )
    assert to_points[0] > 0.1
    assert to_set.distances.tolist() == [0.0]
    assert to_set.nearest_kind.tolist() == ["component"] and to_set.nearest_index.tolist() == [0]


def test_distance_to_set_of_chicken() -> None:
    result = solve(games.chicken())
    target = SolutionTarget.from_solution_set(result)
    assert target.n_points == 3
    rng = np.random.default_rng(10)
    snap = (rng.dirichlet(np.ones(2), 50), rng.dirichlet(np.ones(2), 50))
    got = distance_to_set(snap, result, "hellinger", "sum")
    assert isinstance(got, SetDistance)
    for row in range(50):
        expected = [
            oracle_profile([snap[0][row], snap[1][row]], eq.strategies, "hellinger", "sum")
            for eq in result.equilibria
        ]
        assert got.distances[row] == pytest.approx(min(expected), abs=1e-12)
        # Chicken is non-degenerate: its components are its points, and a point wins ties.
        assert got.nearest_kind[row] == "point"
        assert expected[got.nearest_index[row]] == pytest.approx(min(expected), abs=1e-12)


def test_distance_to_set_mixes_points_singletons_and_segments() -> None:
    # Target: one point, a singleton component elsewhere and a segment component.
    e0, e1, mid = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.5, 0.5])
    target = SolutionTarget.from_points(
        [(e0, e0)],
        components=[
            (e1[None], e1[None]),  # singleton (e1, e1)
            (mid[None], np.vstack([e0, e1])),  # {1/2 1/2} x [e0, e1]
            (e0[None], e0[None]),  # equal to the point: the point wins ties
        ],
    )
    rng = np.random.default_rng(15)
    snap = (rng.dirichlet(np.ones(2), 40), rng.dirichlet(np.ones(2), 40))
    snap[0][:3] = [e1, mid, e0]
    snap[1][:3] = [e1, [0.3, 0.7], e0]
    got = distance_to_set(snap, target, "tv", "sum")
    for row in range(40):
        x0, x1 = snap[0][row], snap[1][row]
        expected = [
            ("point", 0, oracle(x0, e0, "tv") + oracle(x1, e0, "tv")),
            ("component", 0, oracle(x0, e1, "tv") + oracle(x1, e1, "tv")),
            ("component", 1, oracle(x0, mid, "tv") + 0.0),  # x1 is always on the segment
        ]
        best = min(e[2] for e in expected)
        assert got.distances[row] == pytest.approx(best, abs=1e-12)
        first = next(e for e in expected if e[2] <= best + 1e-12)
        assert (got.nearest_kind[row], got.nearest_index[row]) == first[:2]
    assert got.distances[:3].tolist() == [0.0, 0.0, 0.0]


def test_a_point_wins_a_tie_with_a_component_that_holds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot at a target point that also lies in a segment component is nearest the
    point (ties go to points, then to the first component); a snapshot on the segment only
    is nearest the component. Singleton components are costed as points: the component
    optimisation runs for the segment alone."""
    e0, e1, mid = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([0.5, 0.5])
    target = SolutionTarget.from_points(
        [(mid, e0)],
        components=[(e1[None], e1[None]), (mid[None], np.vstack([e0, e1])), (mid[None], np.vstack([e1, e0]))],
    )
    calls: list[int] = []
    kernel = distances_module._component_kernel

    def counted(*args: object) -> object:
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(distances_module, "_component_kernel", counted)
    snap = (np.array([mid, mid, e1]), np.array([e0, mid, e1]))
    for metric in ("tv", "l2"):
        calls.clear()
        got = distance_to_set(snap, target, metric)
        assert got.distances.tolist() == [0.0, 0.0, 0.0]
        assert got.nearest_kind.tolist() == ["point", "component", "component"]
        assert got.nearest_index.tolist() == [0, 1, 0]  # the first of two equal components
        assert len(calls) == 2  # the two segments; the singleton went with the points


def test_target_from_points_with_components_only() -> None:
    square = (np.eye(2), np.eye(2))  # every profile of a 2x2 game
    target = SolutionTarget.from_points([], components=[square])
    rng = np.random.default_rng(11)
    snap = (rng.dirichlet(np.ones(2), 5), rng.dirichlet(np.ones(2), 5))
    got = distance_to_set(snap, target, "kl")
    assert got.distances.tolist() == [0.0] * 5
    assert got.nearest_kind.tolist() == ["component"] * 5


# --------------------------------------------------------------------------- polytopes


def test_correlated_polytope_matches_ce_violation() -> None:
    rng = np.random.default_rng(12)
    for game in (games.chicken(), NormalFormGame(rng.integers(-3, 4, size=(3, 2, 3, 2)).astype(float))):
        for kind in ("correlated", "coarse_correlated"):
            a_ub, b_ub = correlated_polytope(game, kind)
            counts = [k * (k - 1) if kind == "correlated" else k for k in game.num_actions]
            assert a_ub.shape == (sum(counts), math.prod(game.num_actions)) and not b_ub.any()
            spans = [float(np.ptp(game.payoffs[i])) or 1.0 for i in range(game.n_players)]
            row_scale = np.repeat(spans, counts)
            for p in rng.dirichlet(np.full(a_ub.shape[1], 0.3), 20):
                expected = ce_violation(game, p.reshape(game.num_actions), kind)
                assert max(0.0, float((row_scale * (a_ub @ p)).max())) == pytest.approx(expected, abs=1e-12)
            loops, _ = ce_constraints_by_loops(game, kind)
            np.testing.assert_allclose(row_scale[:, None] * a_ub, loops, atol=1e-12)


@pytest.mark.parametrize("metric", METRICS)
def test_welfare_optimal_ce_of_chicken_is_in_the_polytope(metric) -> None:
    a_ub, b_ub = correlated_polytope(games.chicken())
    joint = np.array([[0.5, 0.25, 0.25, 0.0], [1 / 3, 1 / 3, 1 / 3, 0.0], [0.0, 0.4, 0.4, 0.2]])
    assert distance_to_polyhedron(joint, a_ub, b_ub, metric).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("metric", ["tv", "linf"])
def test_pure_dd_is_at_the_lp_distance_from_the_ce_polytope(metric) -> None:
    game = games.chicken()
    a_ub, b_ub = correlated_polytope(game)
    dd = np.array([0.0, 0.0, 0.0, 1.0])
    got = float(distance_to_polyhedron(dd[None], a_ub, b_ub, metric)[0])
    expected = oracle_polytope_lp(dd, ce_constraints_by_loops(game, "correlated")[0], metric)
    assert got > 0.1
    assert got == pytest.approx(expected, abs=1e-8)
    if metric == "tv":
        assert got == pytest.approx(0.8, abs=1e-12)  # 1 - the largest p(D, D) of a CE (0.2)


@pytest.mark.parametrize("metric", ["tv", "linf"])
def test_a_point_just_outside_the_ce_polytope_is_at_a_small_positive_distance(metric) -> None:
    # Mixing 1e-5 of (C, C) into the welfare-optimal CE, whose "told C, stay C" constraints
    # are tight (-1 * p(C, C) + 2 * p(C, D) = 0), violates them by 1e-5.
    game = games.chicken()
    a_ub, b_ub = correlated_polytope(game)
    x = (1 - 1e-5) * np.array([0.5, 0.25, 0.25, 0.0]) + 1e-5 * np.array([1.0, 0.0, 0.0, 0.0])
    assert ce_violation(game, x.reshape(2, 2)) > 1e-6
    got = float(distance_to_polyhedron(x[None], a_ub, b_ub, metric)[0])
    expected = oracle_polytope_lp(x, ce_constraints_by_loops(game, "correlated")[0], metric)
    assert 0.0 < got == pytest.approx(expected, abs=1e-11)


def test_cce_distance_of_a_three_player_game_against_an_lp() -> None:
    rng = np.random.default_rng(13)
    game = NormalFormGame(rng.normal(size=(3, 2, 2, 3)))
    a_ub, b_ub = correlated_polytope(game, "coarse_correlated")
    loops = ce_constraints_by_loops(game, "coarse_correlated")[0]
    joint = rng.dirichlet(np.full(12, 0.5), 6)
    for metric in ("tv", "linf"):
        got = distance_to_polyhedron(joint, a_ub, b_ub, metric)
        for row in range(6):
            assert got[row] == pytest.approx(oracle_polytope_lp(joint[row], loops, metric), abs=1e-8)


def test_l2_distance_to_the_ce_polytope_against_trust_constr() -> None:
    rng = np.random.default_rng(14)
    game = NormalFormGame(rng.normal(size=(2, 3, 3)))
    a_ub, b_ub = correlated_polytope(game)
    loops = ce_constraints_by_loops(game, "correlated")[0]
    joint = rng.dirichlet(np.full(9, 0.5), 4)
    got = distance_to_polyhedron(joint, a_ub, b_ub, "l2")
    for row in range(4):
        x = joint[row]
        res = minimize(
            lambda p, x=x: 0.5 * np.sum((p - x) ** 2),
            np.full(9, 1 / 9),
            jac=lambda p, x=x: p - x,
            hess=lambda p: np.eye(9),
            method="trust-constr",
            constraints=[LinearConstraint(loops, -np.inf, 0.0), LinearConstraint(np.ones((1, 9)), 1.0, 1.0)],
            bounds=[(0.0, 1.0)] * 9,
            options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 5000},
        )
        assert got[row] == pytest.approx(float(np.linalg.norm(res.x - x)), abs=2e-6)
        assert got[row] <= float(np.linalg.norm(res.x - x)) + 1e-9


def test_divergences_to_the_ce_polytope_are_upper_bounded_by_the_lp_point() -> None:
    game = games.chicken()
    a_ub, b_ub = correlated_polytope(game)
    joint = np.array([[0.0, 0.0, 0.0, 1.0], [0.7, 0.1, 0.1, 0.1]])
    for metric in SMOOTH_METRICS:
        got = distance_to_polyhedron(joint, a_ub, b_ub, metric)
        # Every CE is feasible: the distance is at most the divergence to the two known CEs.
        for ce in ([0.5, 0.25, 0.25, 0.0], [0.0, 0.4, 0.4, 0.2]):
            assert (got <= distance(joint, np.array(ce), metric) + 1e-12).all()
        assert (got > 0).all()


# --------------------------------------------------------------------------- malformed input


_SNAP = (np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
_POINTS = (np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]))


@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        pytest.param(
            lambda: distance([1, 0], [0, 1], "l3"), InvalidOptionError, "metric", id="distance-metric"
        ),
        pytest.param(
            lambda: distance_to_points(_SNAP, _POINTS, "cosine"),
            InvalidOptionError,
            "metric",
            id="points-metric",
        ),
        pytest.param(
            lambda: distance_to_points(_SNAP, _POINTS, "tv", "mean"),
            InvalidOptionError,
            "aggregate",
            id="aggregate",
        ),
        pytest.param(
            lambda: distance_to_component(_SNAP, _POINTS, "x"),
            InvalidOptionError,
            "metric",
            id="component-metric",
        ),
        pytest.param(
            lambda: distance_to_polyhedron([[1.0]], [[0.0]], [0.0], "x"),
            InvalidOptionError,
            "metric",
            id="poly-metric",
        ),
        pytest.param(
            lambda: correlated_polytope(games.chicken(), "nash"),
            InvalidOptionError,
            "concepts",
            id="polytope-kind",
        ),
        pytest.param(lambda: distance([1, 0], [0, 0, 1]), InvalidGameError, "q", id="distance-shape"),
        pytest.param(lambda: distance([1.5, -0.5], [0, 1]), InvalidGameError, "p", id="distance-negative"),
        pytest.param(
            lambda: distance_to_points((np.array([[0.5, 0.5, 0.0]]), _SNAP[1]), _POINTS),
            InvalidGameError,
            "snapshots",
            id="actions",
        ),
        pytest.param(
            lambda: distance_to_points((np.array([[0.5, 0.5]] * 2), _SNAP[1]), _POINTS),
            InvalidGameError,
            "snapshots",
            id="batch",
        ),
        pytest.param(
            lambda: distance_to_points((np.array([[1.2, -0.2]]), _SNAP[1]), _POINTS),
            InvalidGameError,
            "snapshots",
            id="negative",
        ),
        pytest.param(
            lambda: distance_to_points((np.array([[np.nan, 1.0]]), _SNAP[1]), _POINTS),
            InvalidGameError,
            "snapshots",
            id="nan",
        ),
        pytest.param(
            lambda: distance_to_points((np.array([[0.5, 0.6]]), _SNAP[1]), _POINTS),
            InvalidGameError,
            "snapshots",
            id="sum",
        ),
        pytest.param(
            lambda: distance_to_points(_SNAP, (np.array([[1.0, 0.0]]), np.array([[2.0, -1.0]]))),
            InvalidGameError,
            "points",
            id="bad-point",
        ),
        pytest.param(
            lambda: distance_to_points(_SNAP, _POINTS, state_weights=[1.0]),
            InvalidGameError,
            "state_weights",
            id="weights-nf",
        ),
        pytest.param(
            lambda: distance_to_points(
                (np.ones((1, 2, 2)) / 2,) * 2, (np.ones((1, 2, 2)) / 2,) * 2, state_weights=[1.0, -1.0]
            ),
            InvalidGameError,
            "state_weights",
            id="weights-negative",
        ),
        pytest.param(
            lambda: distance_to_component(
                (np.array([[0.5, -0.5]]), _SNAP[1]), ([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])
            ),
            InvalidGameError,
            "snapshots",
            id="component-snapshot",
        ),
        pytest.param(
            lambda: distance_to_component(_SNAP, ([[1.0, 0.0]], np.zeros((0, 2)))),
            InvalidGameError,
            "component",
            id="component",
        ),
        pytest.param(lambda: distance_to_set(_SNAP, object()), InvalidGameError, "target", id="target-type"),
        pytest.param(
            lambda: distance_to_set(
                _SNAP, SolutionSet(game_id="g", equilibria=(), components=(), complete=False, method="m")
            ),
            InvalidGameError,
            "target",
            id="target-empty",
        ),
        pytest.param(
            lambda: SolutionTarget(points=(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))),
            InvalidGameError,
            "target",
            id="target-shapes",
        ),
        pytest.param(
            lambda: SolutionTarget(points=_POINTS, components=(([[1.0, 0.0]], [[0.3, 0.3]]),)),
            InvalidGameError,
            "target",
            id="target-vertex",
        ),
        pytest.param(
            lambda: distance_to_set((np.array([[0.5, 0.5, 0.0]]), _SNAP[1]), SolutionTarget(points=_POINTS)),
            InvalidGameError,
            "snapshots",
            id="set-shape",
        ),
        pytest.param(
            lambda: distance_to_polyhedron([[0.5, 0.5]], [[1.0, 0.0, 0.0]], [0.0]),
            InvalidGameError,
            "A_ub",
            id="A_ub-shape",
        ),
        pytest.param(
            lambda: distance_to_polyhedron([[0.5, 0.5]], [[1.0, 0.0]], [0.0, 1.0]),
            InvalidGameError,
            "b_ub",
            id="b_ub-shape",
        ),
        pytest.param(
            lambda: distance_to_polyhedron([[0.5, 0.5]], [[1.0, 1.0]], [0.5]),
            InvalidGameError,
            "A_ub",
            id="empty-polytope",
        ),
        pytest.param(
            lambda: distance_to_polyhedron([[0.5, 0.4]], [[1.0, 0.0]], [0.0]),
            InvalidGameError,
            "joint",
            id="joint",
        ),
    ],
)
def test_malformed_input_names_the_field(call, error, field) -> None:
    with pytest.raises(error) as info:
        call()
    assert info.value.field == field
    assert "()" in info.value.message  # names the function


def test_bad_snapshot_message_names_the_row() -> None:
    x = np.full((10, 3), 1 / 3)
    x[7] = [0.5, 0.6, -0.1]
    with pytest.raises(InvalidGameError, match=r"distance_to_points\(\): snapshots\[1\]\[7\]"):
        distance_to_points((np.full((10, 2), 0.5), x), (np.array([[1.0, 0.0]]), np.array([[1.0, 0.0, 0.0]])))


@pytest.mark.parametrize(
    ("p", "q"),
    [
        pytest.param([5e-323, 1.0], [0.0, 1.0], id="subnormal-mass"),
        pytest.param([1.0, 0.0], [1.0, 5e-324], id="smallest-subnormal"),
        pytest.param([1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3], id="identical"),
    ],
)
def test_js_edge_cases_found_by_hypothesis(p: list[float], q: list[float]) -> None:
    p_arr, q_arr = np.array(p), np.array(q)
    value = float(distance(p_arr, q_arr, "js"))  # no overflow warning (warnings are errors here)
    assert value == pytest.approx(oracle(p_arr, q_arr, "js"), abs=1e-12)
    assert 0.0 <= value < 1e-12


# --------------------------------------------------------------------------- compiled kernel

COMPILED = tuple(metrics._COMPILED_METRICS)


def broadcast_reference(xs, ps, metric, aggregate, weights=None):
    """Every snapshot against every point by :func:`profile_distance` (numpy broadcasting)."""
    xb = [x[:, None] for x in xs]  # (Z, 1, [S,] a)
    pb = [p[None] for p in ps]  # (1, K, [S,] a)
    if weights is not None:
        weights = weights if weights.ndim == 1 else weights[:, None, :]
    return profile_distance(xb, pb, metric, aggregate, state_weights=weights)  # (Z, K)


def assert_nearest(full: np.ndarray, d: np.ndarray, nearest: np.ndarray, atol: float) -> None:
    """``d`` is the row minimum, and ``nearest`` a point attaining it (to ``atol``)."""
    np.testing.assert_allclose(d, full.min(axis=1), rtol=0, atol=atol)
    np.testing.assert_allclose(full[np.arange(full.shape[0]), nearest], full.min(axis=1), rtol=0, atol=atol)


@settings(deadline=None, max_examples=30)
@given(
    seed=st.integers(0, 2**32 - 1),
    z=st.sampled_from([0, 1, 2, 7, 255, 256, 257, 600]),
    k=st.integers(1, 6),
    actions=st.lists(st.integers(1, 5), min_size=2, max_size=3),
    metric=st.sampled_from(COMPILED),
    aggregate=st.sampled_from(["max", "sum"]),
)
def test_compiled_kernel_equals_numpy_to_the_last_bit(seed, z, k, actions, metric, aggregate) -> None:
    # Normal form, no weights: the compiled kernel does numpy's operations in numpy's order.
    rng = np.random.default_rng(seed)
    xs = [rng.dirichlet(np.full(a, 0.5), z)[:, None, :] for a in actions]
    ps = [rng.dirichlet(np.full(a, 0.5), k)[:, None, :] for a in actions]
    if z:  # some snapshots exactly on a point (zeros), some points repeated (ties)
        on = rng.integers(0, k, z // 3)
        for x, p in zip(xs, ps, strict=True):
            x[: z // 3] = p[on]
            p[k // 2] = p[0]
    d, nearest = metrics._points_kernel(xs, ps, None, metric, aggregate, "f()")
    d_np, nearest_np = metrics._points_kernel_numpy(xs, ps, None, metric, aggregate, "f()")
    assert d.shape == (z,) and nearest.shape == (z,)
    assert np.array_equal(d, d_np) and np.array_equal(nearest, nearest_np)
    if z:
        full = broadcast_reference([x[:, 0] for x in xs], [p[:, 0] for p in ps], metric, aggregate)
        assert_nearest(full, d, nearest, 1e-14)
        # Ties go to the lowest index, as numpy's argmin.
        assert np.array_equal(nearest, full.argmin(axis=1)) or np.allclose(
            full[np.arange(z), nearest], full[np.arange(z), full.argmin(axis=1)], rtol=0, atol=1e-15
        )


@settings(deadline=None, max_examples=20)
@given(
    seed=st.integers(0, 2**32 - 1),
    z=st.sampled_from([1, 5, 300]),
    s=st.integers(1, 3),
    k=st.integers(1, 4),
    actions=st.lists(st.integers(1, 4), min_size=2, max_size=2),
    metric=st.sampled_from(COMPILED),
    aggregate=st.sampled_from(["max", "sum"]),
    per_row=st.booleans(),
)
def test_compiled_kernel_with_state_weights(seed, z, s, k, actions, metric, aggregate, per_row) -> None:
    rng = np.random.default_rng(seed)
    xs = [rng.dirichlet(np.ones(a), (z, s)) for a in actions]
    ps = [rng.dirichlet(np.ones(a), (k, s)) for a in actions]
    raw = rng.random((z, s) if per_row else s) + 0.01
    weights = raw / raw.sum(axis=-1, keepdims=True)
    d, nearest = metrics._points_kernel(xs, ps, weights, metric, aggregate, "f()")
    d_np, _ = metrics._points_kernel_numpy(xs, ps, weights, metric, aggregate, "f()")
    np.testing.assert_allclose(d, d_np, rtol=1e-14, atol=1e-15)  # numpy's matmul sums in its own order
    assert_nearest(broadcast_reference(xs, ps, metric, aggregate, weights), d, nearest, 1e-14)
    # The public function normalises and routes the weights the same way.
    d_pub, nearest_pub = distance_to_points(xs, ps, metric, aggregate, state_weights=raw)
    np.testing.assert_allclose(d_pub, d, rtol=1e-14, atol=1e-15)


def test_compiled_kernel_is_used_for_the_fast_metrics(monkeypatch) -> None:
    # Valid input never reaches the numpy kernel (it only runs to name a bad row).
    def refuse(*args, **kwargs):
        raise AssertionError("numpy kernel called")

    monkeypatch.setattr(metrics, "_points_kernel_numpy", refuse)
    rng = np.random.default_rng(8)
    xs = (rng.dirichlet(np.ones(3), 1000), rng.dirichlet(np.ones(2), 1000))
    ps = (rng.dirichlet(np.ones(3), 4), rng.dirichlet(np.ones(2), 4))
    for metric in COMPILED:
        d, nearest = distance_to_points(xs, ps, metric)
        assert d.shape == (1000,) and (d >= 0).all() and nearest.max() < 4
    with pytest.raises(AssertionError, match="numpy kernel called"):
        distance_to_points(xs, ps, "js")


@pytest.mark.parametrize("metric", COMPILED)
@pytest.mark.parametrize(
    ("player", "row", "state", "value"),
    [
        pytest.param(0, 0, 0, -0.1, id="negative-first-row"),
        pytest.param(1, 300, 0, 0.2, id="sum-off-second-block"),
        pytest.param(1, 513, 1, np.nan, id="nan-third-block-state-1"),
        pytest.param(0, 999, 1, np.inf, id="inf-last-row"),
    ],
)
def test_compiled_kernel_names_the_bad_row_as_numpy_does(metric, player, row, state, value) -> None:
    rng = np.random.default_rng(9)
    xs = [rng.dirichlet(np.ones(3), (1000, 2)), rng.dirichlet(np.ones(2), (1000, 2))]
    ps = [rng.dirichlet(np.ones(3), (3, 2)), rng.dirichlet(np.ones(2), (3, 2))]
    xs[player][row, state, 0] += value
    where = f"{row}, {state}"
    with pytest.raises(InvalidGameError) as info:
        distance_to_points(xs, ps, metric)
    assert info.value.field == "snapshots"
    assert (
        f"distance_to_points(): snapshots[{player}][{where}] is not a probability vector"
        in info.value.message
    )
    with pytest.raises(InvalidGameError) as reference:
        metrics._points_kernel_numpy(
            metrics._as_states(xs),
            metrics._as_states(ps),
            np.full(2, 0.5),
            metric,
            "max",
            "distance_to_points()",
        )
    assert info.value.message == reference.value.message


def test_compiled_kernel_reports_the_first_bad_block_and_player_like_numpy() -> None:
    # Bad rows of two players: numpy checks block by block (32768 / K rows), player by
    # player, so in one block player 0's bad row is named even if player 1's comes first.
    x0 = np.full((20_000, 2), 0.5)
    x1 = np.full((20_000, 3), 1 / 3)
    ps = (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert metrics._BLOCK_ELEMENTS // 2 == 16_384  # rows per numpy block with K = 2
    x0[1500] = [0.9, 0.9]
    x1[20] = [0.5, 0.5, 0.5]
    with pytest.raises(InvalidGameError, match=r"distance_to_points\(\): snapshots\[0\]\[1500\] is not"):
        distance_to_points((x0, x1), ps, "l2")
    x0[1500] = 0.5
    x0[17_000] = [0.9, 0.9]
    with pytest.raises(InvalidGameError, match=r"distance_to_set\(\): snapshots\[1\]\[20\] is not"):
        distance_to_set((x0, x1), SolutionTarget(points=ps), "tv")


def test_a_stochastic_target_counts_each_players_actions_not_its_states() -> None:
    """Points of stationary policies are ``(K, S, a_i)``: the actions are the last axis."""
    uniform = (np.full((3, 2), 0.5), np.full((3, 4), 0.25))  # 3 states; 2 and 4 actions
    target = SolutionTarget.from_points([uniform])
    assert (target.n_points, target.num_actions, target.n_states) == (1, (2, 4), 3)


def test_profiles_of_inconsistent_shapes_are_refused_with_the_field() -> None:
    with pytest.raises(InvalidGameError, match="inconsistent shapes") as caught:
        SolutionTarget.from_points(
            [(np.array([1.0, 0.0]), np.array([1.0, 0.0])), (np.ones(3) / 3, np.ones(2) / 2)]
        )
    assert caught.value.field == "target"


def test_an_unknown_metric_is_refused_by_distance_to_set() -> None:
    chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
    snapshots = (np.array([[0.6, 0.4]]), np.array([[0.7, 0.3]]))
    with pytest.raises(InvalidOptionError, match="metric"):
        distance_to_set(snapshots, solve(chicken), "manhattan-ish")


def test_a_one_vertex_component_of_a_target_without_points_is_measured() -> None:
    """With no points, a one-vertex component is not one of the points: its distance counts."""
    vertex = (np.array([[0.25, 0.75]]), np.array([[1.0, 0.0]]))
    target = SolutionTarget(points=(np.zeros((0, 2)), np.zeros((0, 2))), components=(vertex,))
    snapshots = (np.array([[0.25, 0.75], [1.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    d = distance_to_set(snapshots, target, "linf")
    assert d.distances.tolist() == [0.0, 0.75]
    assert d.nearest_kind.tolist() == ["component", "component"]


def test_a_target_is_complete_unless_said_otherwise() -> None:
    """The documented default: a set given as points holds every solution (complete=True),
    both built directly and through from_points; a partial set says so."""
    point = (np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]]))
    assert SolutionTarget(points=point).complete is True
    assert SolutionTarget.from_points([(np.array([0.5, 0.5]), np.array([0.5, 0.5]))]).complete is True
    assert SolutionTarget(points=point, complete=False).complete is False
