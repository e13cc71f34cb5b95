"""Evolutionarily stable strategies (:mod:`equilibria.solver.concepts.ess`): answers derived
by hand, an oracle independent of the module (nashpy's symmetric equilibria, each judged by
the definition on sampled mutants and by a local maximisation of ``z·Az`` over the cone),
strict equilibria against brute force, scale invariance, errors and the time limit."""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from fractions import Fraction

import nashpy
import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver.concepts import ess as module
from equilibria.solver.concepts.ess import MAX_ACTIONS, EssOptions, evolutionarily_stable
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from scipy.optimize import minimize

SINGLE, MULTI = EssOptions("single"), EssOptions("multi")
RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
#: Rock-paper-scissors where a win pays 2 and a loss costs 1 (``RPS_21``), and the reverse.
RPS_21 = np.array([[0, -1, 2], [2, 0, -1], [-1, 2, 0]], dtype=float)
RPS_12 = -RPS_21.T
#: The cone trap. x = (1/2, 1/2, 0) is a symmetric equilibrium (Ax = (1, 1, 1)) and
#: z·Az < 0 on its own support's plane (z = (1, -1, 0): 0 - 2 - 1 + 1 = -2), so a test on
#: the support alone accepts it. But strategy 2 is an alternative best reply, and along
#: z = e_2 - x the quadratic form is positive: x·A e_2 = 0 < 1 = e_2·A e_2, so the mutant e_2
#: ties against x and beats x against itself. Only e_2 (a strict equilibrium) is an ESS.
CONE_TRAP = np.array([[0, 2, 0], [1, 1, 0], [1, 1, 1]], dtype=float)


def _symmetric(a: np.ndarray) -> NormalFormGame:
    a = np.asarray(a, dtype=float)
    return NormalFormGame.from_bimatrix(a, a.T)


def _stable(found) -> list[list[float]]:
    return [s.strategies[0].tolist() for s in found.strategies if s.decided]


@dataclasses.dataclass(frozen=True)
class Case:
    """A symmetric game, its ESS and their margins on the unit payoffs, derived by hand."""

    matrix: np.ndarray
    stable: list[list[float]]
    margins: list[float]


CASES = {
    # unit payoffs (A + 1) / 3 = [[0, 1], [1/3, 2/3]]; z = (1, -1)/√2: (0 - 1 - 1/3 + 2/3)/2
    "hawk_dove": Case(np.array([[-1, 2], [0, 1]]), [[0.5, 0.5]], [1 / 3]),
    # pure strict equilibria (a loss of 1 per deviation); the mixed one has z·Az = 1 > 0
    "coordination": Case(np.eye(2), [[1, 0], [0, 1]], [1.0, 1.0]),
    # defection: a deviation loses 1 of the range 5
    "prisoners_dilemma": Case(np.array([[3, 0], [5, 1]]), [[0, 1]], [0.2]),
    # on the plane z·(A + Aᵀ)z / 2 = -|z|²/2, over the range 3
    "rps_win_2_lose_1": Case(RPS_21, [[1 / 3, 1 / 3, 1 / 3]], [1 / 6]),
    "rps_win_1_lose_2": Case(RPS_12, [], []),
    # e_0 ties with e_1 against itself (T = {0, 1} ⊋ S = {0}); z = (-1, 1)/√2: -1/2
    "second_condition_only": Case(np.array([[1, 1], [1, 0]]), [[1, 0]], [0.5]),
    # e_2 is a strict equilibrium: a deviation loses 1 of the range 2
    "cone_trap": Case(CONE_TRAP, [[0, 0, 1]], [0.5]),
    # The converse: e_0 ties with e_1 and e_2, and with d_a = e_a - e_0,
    # z·Az = -(c_1² + 4 c_1 c_2 + c_2²) < 0 for z = c_1 d_1 + c_2 d_2, c >= 0: stable,
    # though z·Az = 2 > 0 along d_1 - d_2 = (0, 1, -1), outside the cone. The cone's maximum
    # per unit |z|² = (c_1 + c_2)² + c_1² + c_2² is -1/2 (at c = (1, 0)), over the range 2.
    "cone_not_plane": Case(np.array([[0, 0, 0], [0, -1, -2], [0, -2, -1]]), [[1, 0, 0]], [0.25]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_answers(name: str) -> None:
    case = CASES[name]
    found = evolutionarily_stable(_symmetric(case.matrix))
    assert found.single_population and found.complete
    assert all(s.decided for s in found.strategies)  # nothing left undecided in these games
    np.testing.assert_allclose(_stable(found), case.stable, atol=1e-12)
    np.testing.assert_allclose([s.margin for s in found.strategies], case.margins, rtol=1e-12)
    for s in found.strategies:
        assert s.nash_conv <= 1e-12 and s.equilibrium_index is None
        np.testing.assert_array_equal(s.strategies[0], s.strategies[1])
        x = s.strategies[0]
        np.testing.assert_allclose(s.payoffs, [x @ case.matrix @ x] * 2, atol=1e-12)  # user units


def test_the_cone_trap_passes_the_support_only_test() -> None:
    """Why the alternative best replies must be searched: the rejected x passes the rest."""
    x = np.array([0.5, 0.5, 0.0])
    ax = CONE_TRAP @ x
    np.testing.assert_allclose(ax, [1, 1, 1])  # an equilibrium, strategy 2 a best reply
    z = np.array([1.0, -1.0, 0.0])
    assert z @ CONE_TRAP @ z < 0  # negative definite on the support's plane
    z = np.array([0.0, 0.0, 1.0]) - x
    assert z @ CONE_TRAP @ z > 0  # but not toward strategy 2
    found = evolutionarily_stable(_symmetric(CONE_TRAP))
    assert [s.strategies[0].tolist() for s in found.strategies] == [[0, 0, 1]]


def test_standard_rps_is_exactly_neutral_so_undecided() -> None:
    """z·Az = 0 on the whole plane: margin 0, neither an ESS nor clearly not one. It is
    reported with decided=False, and the set is not complete."""
    found = evolutionarily_stable(_symmetric(RPS))
    assert len(found.strategies) == 1 and not found.complete
    (candidate,) = found.strategies
    assert not candidate.decided and abs(candidate.margin) <= 1e-12
    np.testing.assert_allclose(candidate.strategies[0], [1 / 3] * 3, atol=1e-12)
    assert "1 undecided" in found.method


def test_a_constant_game_has_no_ess_and_no_strict_equilibrium() -> None:
    constant = NormalFormGame(np.full((2, 3, 3), 4.0))
    for options in (SINGLE, MULTI):
        found = evolutionarily_stable(constant, options)
        assert found.strategies == () and found.complete
    # One player constant with two actions: never a unique best reply.
    found = evolutionarily_stable(NormalFormGame.from_bimatrix([[1, 0], [0, 1]], [[2, 2], [2, 2]]))
    assert not found.single_population and found.strategies == () and found.complete


def test_one_action_is_stable_with_nothing_to_lose() -> None:
    """No mutant exists: the one strategy is stable (vacuously), margin inf, in either reading."""
    game = NormalFormGame(np.array([[[3.0]], [[-1.0]]]))
    for options in (SINGLE, MULTI):
        found = evolutionarily_stable(game, options)
        assert [[s.tolist() for s in e.strategies] for e in found.strategies] == [[[1.0], [1.0]]]
        assert found.strategies[0].margin == np.inf and found.strategies[0].decided and found.complete


def test_a_repeated_eigenvalue_is_found_on_the_smaller_faces() -> None:
    """A = [[1,1,1],[1,-1,0],[1,0,-1]]: column 0 constant, so e_0 ties with e_1 and e_2
    (T = {0,1,2}), and z·Az = -|z|² on the plane of all three: the face J = {1, 2} has the
    eigenvalue -1 twice, left to its edges J = {1} and J = {2}. Margin 1 over the range 2."""
    a = np.array([[1, 1, 1], [1, -1, 0], [1, 0, -1]], dtype=float)
    found = evolutionarily_stable(_symmetric(a))
    assert _stable(found) == [[1, 0, 0]] and found.complete
    assert found.strategies[0].margin == pytest.approx(0.5, rel=1e-12)
    # The eigenspace test itself: a simple eigenvalue by its eigenvector's signs on J (either
    # sign), a repeated one never on a face with alternatives, always on the support's plane.
    assert module._meets_interior(np.array([[0.6], [0.8]]))
    assert module._meets_interior(np.array([[-0.6], [-0.8]]))
    assert not module._meets_interior(np.array([[0.6], [-0.8]]))
    assert not module._meets_interior(np.array([[0.6], [0.0]]))
    assert not module._meets_interior(np.eye(2))
    assert module._meets_interior(np.zeros((0, 2)))


# --------------------------------------------------------------------------- the oracle


def _nashpy_symmetric_equilibria(a: np.ndarray) -> list[np.ndarray]:
    """nashpy's symmetric equilibria (x, x) of a generic game, by vertex enumeration. (Its
    support enumeration is no oracle here: its checks compare floats exactly, ``prob >= 0``
    and payoff maxima ``==``, and round-off drops equilibria of generic games: seed 2 of the
    5-action trial keeps 2 of 3.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pairs = list(nashpy.Game(a, a.T).vertex_enumeration())
    return _symmetric_pairs(a, pairs)


def _gambit_symmetric_equilibria(a: np.ndarray) -> list[np.ndarray]:
    """pygambit's symmetric extreme equilibria (x, x) of an integer game, in rational
    arithmetic. Every ESS is an isolated equilibrium, so an extreme one. (nashpy's vertex
    enumeration misses equilibria of degenerate games: the pure (0, 0) of [[-1, 0], [-1, -1]].)"""
    rows = [[Fraction(int(v)) for v in row] for row in a]
    g = gbt.Game.from_arrays(rows, [list(col) for col in zip(*rows, strict=True)])
    found = gbt.nash.enummixed_solve(g, rational=True).equilibria
    pairs = [[np.array([float(eq[p][s]) for s in p.strategies]) for p in g.players] for eq in found]
    return _symmetric_pairs(a, pairs)


def _symmetric_pairs(a: np.ndarray, pairs) -> list[np.ndarray]:
    symmetric = []
    for x, y in pairs:
        if np.allclose(x, y, atol=1e-12):
            x = np.where(np.asarray(x, dtype=float) > 1e-12, x, 0.0)
            x /= x.sum()
            assert (a @ x).max() <= x @ a @ x + 1e-9 * np.ptp(a)  # the oracle's answer is an equilibrium
            if not any(np.allclose(x, y, atol=1e-12) for y in symmetric):  # a degenerate game's
                symmetric.append(x)  # vertex may come once per basis
    return symmetric


def _cone(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The support of ``x`` and its best replies (index arrays)."""
    ax = a @ x
    best = np.flatnonzero(ax >= ax.max() - 1e-9 * np.ptp(a))
    return np.flatnonzero(x > 1e-12), best


def _cone_directions(support, best, m, rng, count) -> np.ndarray:
    """Random unit vectors of the cone: free on the support, non-negative on the other best
    replies, summing to 0."""
    z = np.zeros((count, m))
    others = np.setdiff1d(best, support)
    z[:, others] = rng.exponential(size=(count, len(others))) * (rng.random((count, len(others))) < 0.7)
    z[:, support] = rng.standard_normal((count, len(support)))
    z[:, support] -= z.sum(axis=1, keepdims=True) / len(support)
    norms = np.linalg.norm(z, axis=1)
    return z[norms > 1e-9] / norms[norms > 1e-9, None]


def _largest_on_cone(a: np.ndarray, x: np.ndarray, rng) -> tuple[float, np.ndarray | None]:
    """``max z·Az`` over the unit vectors of the cone, from sampled directions and SLSQP
    started at several of them (``-inf`` when the cone is {0})."""
    support, best = _cone(a, x)
    if len(best) == 1:
        return -np.inf, None
    m = len(x)
    samples = _cone_directions(support, best, m, rng, 400)
    values = np.einsum("ij,jk,ik->i", samples, a, samples)
    top, argmax = float(values.max()), samples[values.argmax()]
    sym = (a + a.T) / 2
    free = np.isin(best, support)
    for start in samples[np.argsort(values)[-6:]]:
        result = minimize(
            lambda w: -(w @ sym[np.ix_(best, best)] @ w),
            start[best],
            jac=lambda w: -2 * sym[np.ix_(best, best)] @ w,
            method="SLSQP",
            bounds=[(None, None) if f else (0.0, None) for f in free],
            constraints=[
                {"type": "eq", "fun": lambda w: w.sum()},
                {"type": "eq", "fun": lambda w: w @ w - 1},
            ],
        )
        w = result.x
        if abs(w.sum()) < 1e-8 and abs(w @ w - 1) < 1e-8 and (w[~free] >= -1e-10).all() and -result.fun > top:
            top, argmax = float(-result.fun), np.zeros(m)
            argmax[best] = w
    return top, argmax


def _mutants(a: np.ndarray, x: np.ndarray, rng) -> np.ndarray:
    """Pure strategies, random mixtures, random mixtures of the best replies, and x moved a
    little along random cone directions."""
    m = len(x)
    support, best = _cone(a, x)
    over_best = np.zeros((100, m))
    over_best[:, best] = rng.dirichlet(np.ones(len(best)), size=100)
    near = []
    for z in _cone_directions(support, best, m, rng, 300):
        step = 0.5 * x[support].min() / np.abs(z).max()
        near.extend([x + step * z, x + 0.1 * step * z])
    return np.vstack([np.eye(m), rng.dirichlet(np.ones(m), size=100), over_best, *near])


def _violated_by(a: np.ndarray, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the mutant y breaks Maynard Smith's definition against x."""
    scale = np.abs(a).max()
    ties = y @ a @ x >= x @ a @ x - 1e-12 * scale
    return bool(ties and not np.allclose(y, x, atol=1e-12) and (x - y) @ a @ y <= 0.0)


def _oracle(a: np.ndarray, x: np.ndarray, rng) -> bool | None:
    """Whether x is an ESS by the definition: True when no mutant breaks it and z·Az is
    clearly negative on the cone, False when the cone's maximum is clearly positive (and its
    mutant breaks it), None when too close to call."""
    top, z = _largest_on_cone(a, x, rng)
    scale = np.ptp(a)
    if top > 1e-6 * scale:
        step = 0.5 * x[x > 1e-12].min() / np.abs(z).max()
        assert _violated_by(a, x, x + step * z)
        return False
    if top < -1e-6 * scale:
        assert not any(_violated_by(a, x, y) for y in _mutants(a, x, rng))
        return True
    return None


@pytest.mark.oracle
@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("seed", range(4))
def test_generic_games_against_the_oracle(m: int, seed: int) -> None:
    rng = np.random.default_rng(100 * m + seed)
    a = rng.standard_normal((m, m))
    found = evolutionarily_stable(_symmetric(a))
    assert found.complete and all(s.decided for s in found.strategies)  # no ties in generic games
    verdicts = [(x, _oracle(a, x, rng)) for x in _nashpy_symmetric_equilibria(a)]
    assert all(v is not None for _, v in verdicts)
    expected = sorted(x.tolist() for x, v in verdicts if v)
    got = sorted(s.strategies[0].tolist() for s in found.strategies)
    assert len(got) == len(expected)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    for s in found.strategies:  # the margin is the cone's maximum, per unit of the range
        top, _ = _largest_on_cone(a, s.strategies[0], rng)
        if np.isfinite(top):
            assert s.margin == pytest.approx(-top / np.ptp(a), abs=1e-7)


def _tie_game(m: int, seed: int) -> np.ndarray:
    """A symmetric game's matrix of small integers, never constant: entries in 0..3, in
    -1..1, or ``-c I + u 1ᵀ + 1 vᵀ`` with a few entries moved by 1 (columns that are nearly
    constant: many alternative best replies, and repeated eigenvalues of ``z·Az``)."""
    rng = np.random.default_rng(1000 * m + seed)
    if seed % 3 == 0:
        a = rng.integers(0, 4, size=(m, m)).astype(float)
    elif seed % 3 == 1:
        a = rng.integers(-1, 2, size=(m, m)).astype(float)
    else:
        a = -rng.integers(0, 2) * np.eye(m) + np.add.outer(rng.integers(-1, 2, m), rng.integers(-1, 2, m))
        moved = rng.random((m, m)) < 0.2
        a[moved] += rng.integers(-1, 2, moved.sum())
    if np.ptp(a) == 0:
        a[0, 0] += 1
    return a


@pytest.mark.oracle
@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("seed", range(9))
def test_games_with_ties_against_the_oracle(m: int, seed: int) -> None:
    """Small integer payoffs: alternative best replies (T ⊋ S) and exact zeros of z·Az,
    against pygambit's equilibria in rational arithmetic."""
    a, rng = _tie_game(m, seed), np.random.default_rng(seed)
    found = evolutionarily_stable(_symmetric(a))
    candidates = _gambit_symmetric_equilibria(a)
    verdicts = [_oracle(a, x, rng) for x in candidates]
    for s in found.strategies:  # every entry is one of pygambit's symmetric equilibria
        x = s.strategies[0]
        matches = [v for y, v in zip(candidates, verdicts, strict=True) if np.allclose(x, y, atol=1e-9)]
        assert len(matches) == 1 and s.nash_conv <= 1e-9
        assert matches[0] is (True if s.decided else None)  # an ESS, or too close to call
    stable = [y for y, v in zip(candidates, verdicts, strict=True) if v]
    assert len(stable) == len(_stable(found))  # every ESS found, and decided
    assert found.complete == (all(s.decided for s in found.strategies))


def test_the_oracle_trials_cover_ties_and_alternative_best_replies() -> None:
    """The tie trials above are worth something: some of their ESS have T ⊋ S, and some
    candidates are undecided."""
    wider, undecided = 0, 0
    for m, seed in itertools.product([2, 3, 4, 5, 6], range(9)):
        a = _tie_game(m, seed)
        for s in evolutionarily_stable(_symmetric(a)).strategies:
            support, best = _cone(a, s.strategies[0])
            wider += s.decided and len(best) > len(support)
            undecided += not s.decided
    assert wider >= 2 and undecided >= 2


# --------------------------------------------------------------------------- one population per player


def _brute_force_margins(payoffs: np.ndarray) -> dict[tuple[int, ...], float]:
    """Each pure profile's smallest loss of a unilateral deviation, on unit payoffs, by loops."""
    n = payoffs.shape[0]
    shape = payoffs.shape[1:]
    unit = []
    for i in range(n):
        low, high = payoffs[i].min(), payoffs[i].max()
        unit.append((payoffs[i] - low) / (high - low) if high > low else np.zeros(shape))
    margins = {}
    for profile in itertools.product(*map(range, shape)):
        losses = [np.inf]
        for i in range(n):
            for b in range(shape[i]):
                if b != profile[i]:
                    other = profile[:i] + (b,) + profile[i + 1 :]
                    losses.append(unit[i][profile] - unit[i][other])
        margins[profile] = min(losses)
    return margins


@pytest.mark.parametrize("shape", [(2, 3, 3), (2, 4, 2), (3, 2, 3, 2), (3, 3, 3, 3)])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_strict_equilibria_against_brute_force(shape, ties: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    payoffs = rng.integers(0, 3, size=shape).astype(float) if ties else rng.standard_normal(shape)
    found = evolutionarily_stable(NormalFormGame(payoffs), MULTI)
    margins = _brute_force_margins(payoffs)
    listed = {tuple(int(s.argmax()) for s in e.strategies): e for e in found.strategies}
    assert set(listed) == {p for p, v in margins.items() if v >= -1e-9}
    for profile, entry in listed.items():
        assert entry.margin == pytest.approx(margins[profile], abs=1e-12)
        assert entry.decided == (margins[profile] > 1e-9) and entry.nash_conv == 0.0
        np.testing.assert_array_equal(entry.payoffs, payoffs[(slice(None), *profile)])
    assert not found.single_population
    assert found.complete == all(e.decided for e in found.strategies)
    # decided first
    flags = [e.decided for e in found.strategies]
    assert flags == sorted(flags, reverse=True)


def test_only_mixed_equilibria_means_no_strict_one() -> None:
    pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
    found = evolutionarily_stable(pennies)  # not symmetric: one population per player
    assert found.strategies == () and found.complete and not found.single_population
    # A symmetric game read as two populations: Hawk-Dove's strict equilibria are the
    # asymmetric pure profiles, its mixed ESS is no longer stable.
    found = evolutionarily_stable(_symmetric([[-1, 2], [0, 1]]), MULTI)
    profiles = [tuple(int(s.argmax()) for s in e.strategies) for e in found.strategies]
    assert profiles == [(0, 1), (1, 0)] and all(e.decided for e in found.strategies) and found.complete


# --------------------------------------------------------------------------- invariance, errors, limits


@pytest.mark.parametrize("factors", [(1e-9, 1e9), (1e9, 1.0), (1.0, 1e-9)])
def test_scaling_or_shifting_a_player_changes_nothing(factors) -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(-3, 4, size=(5, 5)).astype(float)
    game = _symmetric(a)
    scaled = NormalFormGame(np.stack([factors[0] * (a + 3.0), factors[1] * (a.T - 1e3)]))
    for options in (EssOptions(), MULTI):
        before, after = evolutionarily_stable(game, options), evolutionarily_stable(scaled, options)
        assert after.single_population == before.single_population == (options.populations == "auto")
        assert len(before.strategies) == len(after.strategies) and before.complete == after.complete
        assert before.strategies, "the game should have something to compare"
        for x, y in zip(before.strategies, after.strategies, strict=True):
            assert x.decided == y.decided and x.margin == pytest.approx(y.margin, abs=1e-12)
            for p, q in zip(x.strategies, y.strategies, strict=True):
                np.testing.assert_allclose(p, q, atol=1e-12)
            np.testing.assert_allclose(y.payoffs, (x.payoffs + [3.0, -1e3]) * factors, rtol=1e-9)


def test_options_are_checked() -> None:
    with pytest.raises(InvalidOptionError) as info:
        evolutionarily_stable(_symmetric(RPS), EssOptions("both"))
    assert info.value.field == "ess.populations"
    with pytest.raises(InvalidOptionError) as info:
        evolutionarily_stable(NormalFormGame.from_bimatrix([[1, 0], [0, 1]], [[0, 1], [1, 0]]), SINGLE)
    assert info.value.field == "ess.populations" and "symmetric" in info.value.message
    with pytest.raises(InvalidOptionError) as info:
        evolutionarily_stable(_symmetric(RPS), tol=0.0)
    assert info.value.field == "tolerance"
    with pytest.raises(InvalidOptionError) as info:
        evolutionarily_stable(_symmetric(RPS), time_limit=-1)
    assert info.value.field == "time_limit"


def test_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    big = _symmetric(np.eye(MAX_ACTIONS + 1))
    with pytest.raises(ProblemTooLargeError) as info:
        evolutionarily_stable(big)
    assert info.value.field == "payoffs"
    assert len(evolutionarily_stable(big, MULTI).strategies) == MAX_ACTIONS + 1  # the diagonal
    monkeypatch.setattr(module, "MAX_PROFILES", 8)
    with pytest.raises(ProblemTooLargeError):
        evolutionarily_stable(NormalFormGame(np.zeros((3, 2, 2, 3))), MULTI)
    evolutionarily_stable(NormalFormGame(np.zeros((3, 2, 2, 2))), MULTI)  # exactly at the limit


def test_many_alternative_best_replies_leave_the_candidate_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    """A = [[0, 0, 0, 0], [0, -1, -1, -1], ...]: e_0 ties with all three others and
    z·Az = -(Σ_{a>0} z_a)² on the cone, at most -1/2 per unit: an ESS with margin 1/2. With
    the faces capped at |J| <= 1 that bound is all that is known: undecided."""
    a = -np.ones((4, 4))
    a[0, :] = a[:, 0] = 0.0
    game = _symmetric(a)
    full = evolutionarily_stable(game)
    assert (
        _stable(full) == [[1, 0, 0, 0]] and full.strategies[0].margin == pytest.approx(0.5) and full.complete
    )
    monkeypatch.setattr(module, "MAX_ALTERNATIVES", 2)
    capped = evolutionarily_stable(game)
    (candidate,) = capped.strategies
    assert not candidate.decided and candidate.margin == pytest.approx(0.5) and not capped.complete


class _FakeClock:
    """perf_counter advancing by one second each reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_time_limit_returns_what_was_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "_CHUNK", 3)
    monkeypatch.setattr(module.time, "perf_counter", _FakeClock())
    found = evolutionarily_stable(_symmetric(np.eye(3)), time_limit=0.5)
    # The first batch (the three pure supports) is searched, then the clock has run out.
    assert _stable(found) == [[1, 0, 0], [0, 1, 0], [0, 0, 1]] and not found.complete
    assert "stopped by the time limit after 3 of 7 supports" in found.method
    found = evolutionarily_stable(_symmetric(np.eye(3)), MULTI, time_limit=0.5)
    assert found.strategies == () and not found.complete and "time limit" in found.method
    found = evolutionarily_stable(_symmetric(np.eye(3)), time_limit=100.0)
    assert found.complete and len(found.strategies) == 3


def test_the_time_limit_stops_a_multi_population_search_between_players(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each reading of the fake clock is one second: with 0.5 s the search stops after the first
    player's margins; with 1.5 s the clock runs out at the last player, whose margins finish the
    answer, so nothing is cut short."""
    monkeypatch.setattr(module.time, "perf_counter", _FakeClock())
    game = _symmetric(np.eye(3))
    stopped = evolutionarily_stable(game, MULTI, time_limit=0.5)
    assert not stopped.complete and "stopped by the time limit after 1 of 2 players" in stopped.method
    finished = evolutionarily_stable(game, MULTI, time_limit=1.5)
    assert finished.complete and len(finished.strategies) == 3 and "time limit" not in finished.method
