"""Property-based tests (Hypothesis) of invariants every solve must satisfy.

Games are random integer bimatrix games up to 5 x 5 (Hypothesis' sparse arrays make
many of them degenerate, with ties and duplicate rows), random standard-normal games
(generic), and small n-player games for pure equilibria.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import os
import pickle
import shutil
import struct
import tempfile

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, certify, solve
from equilibria.solver.normal_form.components import maximal_bicliques
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.extra.numpy import arrays

from . import games

# Nothing may be written into the project tree: no example database (database=None),
# and Hypothesis' other caches (it memoises the constants of imported modules) go to a
# private temporary directory unless the caller chose a storage directory.
if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
    _storage = tempfile.mkdtemp(prefix="equilibria-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    set_hypothesis_home_dir(_storage)

FAST = settings(max_examples=120, deadline=None, database=None)
SLOW = settings(max_examples=50, deadline=None, database=None)


@st.composite
def integer_bimatrix_games(draw: st.DrawFn, max_actions: int = 5, bound: int = 10) -> NormalFormGame:
    m = draw(st.integers(1, max_actions), label="m")
    n = draw(st.integers(1, max_actions), label="n")
    elements = st.integers(-bound, bound)
    a = draw(arrays(np.int64, (m, n), elements=elements), label="A")
    b = draw(arrays(np.int64, (m, n), elements=elements), label="B")
    return NormalFormGame.from_bimatrix(a, b)


@st.composite
def n_player_games(draw: st.DrawFn) -> NormalFormGame:
    players = draw(st.integers(2, 4), label="players")
    actions = tuple(draw(st.integers(1, 3), label=f"actions[{i}]") for i in range(players))
    payoffs = draw(arrays(np.int64, (players, *actions), elements=st.integers(0, 3)), label="payoffs")
    return NormalFormGame(payoffs)


def _unmatched(found: list, wanted: list, atol: float = 1e-9) -> list:
    """Members of ``wanted`` with no member of ``found`` within ``atol`` for every player."""
    return [
        w
        for w in wanted
        if not any(all(np.max(np.abs(p - q)) <= atol for p, q in zip(f, w, strict=True)) for f in found)
    ]


def _exact_set(game: NormalFormGame) -> set[tuple[tuple, ...]]:
    return {eq.exact_strategies for eq in solve(game, exact=True).equilibria}


# --------------------------------------------------------------------------- certificates


@FAST
@given(game=integer_bimatrix_games())
def test_every_equilibrium_is_a_certified_distribution_profile(game: NormalFormGame) -> None:
    a, b = game.bimatrix()
    result = solve(game)
    assert result.equilibria, "every finite game has an equilibrium"
    assert result.game_id == game.id
    for eq in result.equilibria:
        x, y = eq.strategies
        for s, k in ((x, game.num_actions[0]), (y, game.num_actions[1])):
            assert s.shape == (k,)
            assert np.all(s >= 0.0)
            assert abs(float(s.sum()) - 1.0) <= 1e-12
        assert eq.nash_conv <= 1e-9 * game.payoff_scale
        assert eq.nash_conv == float(eq.regrets.sum())
        assert np.all(eq.regrets >= 0.0)
        expected = np.array([x @ a @ y, x @ b @ y])
        np.testing.assert_allclose(eq.payoffs, expected, rtol=0, atol=1e-12 * game.payoff_scale)
        # No pure deviation gains more than the tolerance.
        assert float((a @ y).max()) <= eq.payoffs[0] + 1e-9 * game.payoff_scale
        assert float((x @ b).max()) <= eq.payoffs[1] + 1e-9 * game.payoff_scale


@FAST
@given(game=integer_bimatrix_games())
def test_exact_and_float_enumeration_agree(game: NormalFormGame) -> None:
    exact = solve(game, exact=True)
    floats = solve(game)
    assert exact.complete is True
    assert len({eq.exact_strategies for eq in exact.equilibria}) == len(exact.equilibria)
    assert len(exact.equilibria) == len(floats.equilibria)
    a, b = game.bimatrix()
    exact_as_floats = []
    for e in exact.equilibria:
        x, y = e.exact_strategies
        assert all(sum(s) == 1 and min(s) >= 0 for s in (x, y))
        exact_as_floats.append(tuple(np.array([float(v) for v in s]) for s in (x, y)))
        # The exact payoffs are the bilinear form of the exact strategies.
        for mat, u in zip((a, b), e.exact_payoffs, strict=True):
            assert u == sum(x[i] * int(mat[i, j]) * y[j] for i in range(len(x)) for j in range(len(y)))
    # Same set (the order of near-ties may differ between float and exact coordinates).
    found = [f.strategies for f in floats.equilibria]
    assert _unmatched(found, exact_as_floats) == []
    assert _unmatched(exact_as_floats, found) == []


# --------------------------------------------------------------------------- parity


@FAST
@given(
    m=st.integers(1, 6),
    n=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_generic_games_have_an_odd_number_of_equilibria(m: int, n: int, seed: int) -> None:
    game = games.random_normal_game(m, n, seed)
    result = solve(game)
    assert len(result.equilibria) % 2 == 1, result.warnings
    assert all(comp.is_singleton for comp in result.components)
    assert len(result.components) == len(result.equilibria)
    for eq in result.equilibria:
        assert eq.nash_conv <= 1e-9 * game.payoff_scale
        # Non-degenerate: supports of equal size.
        assert len(eq.supports[0]) == len(eq.supports[1])


# --------------------------------------------------------------------------- components


@FAST
@given(game=integer_bimatrix_games(max_actions=4, bound=2))
def test_every_vertex_pair_of_a_component_is_a_returned_equilibrium(game: NormalFormGame) -> None:
    result = solve(game)
    tol = 1e-9 * game.payoff_scale
    assert result.components
    in_some_component = set()
    for c, comp in enumerate(result.components):
        rows, cols = comp.vertices
        members = [result.equilibria[k] for k in comp.equilibrium_indices]
        assert len(members) == rows.shape[0] * cols.shape[0]
        for x, y in itertools.product(rows, cols):
            matches = [
                k
                for k in comp.equilibrium_indices
                if np.array_equal(result.equilibria[k].strategies[0], x)
                and np.array_equal(result.equilibria[k].strategies[1], y)
            ]
            assert len(matches) == 1, (c, x, y)
            assert c in result.equilibria[matches[0]].components
            assert certify(game, (x, y)).nash_conv <= tol
        # The product of the convex hulls consists of equilibria: try the barycentres.
        centre = (rows.mean(axis=0), cols.mean(axis=0))
        assert certify(game, centre).nash_conv <= tol
        in_some_component.update(comp.equilibrium_indices)
    assert in_some_component == set(range(len(result.equilibria)))
    # Maximality: no component's vertex sets are contained in another's.
    as_sets = [
        ({tuple(v) for v in comp.vertices[0]}, {tuple(v) for v in comp.vertices[1]})
        for comp in result.components
    ]
    for (r1, c1), (r2, c2) in itertools.permutations(as_sets, 2):
        assert not (r1 <= r2 and c1 <= c2)


def _brute_force_maximal_bicliques(
    edges: set[tuple[int, int]], rows: int
) -> set[tuple[frozenset, frozenset]]:
    """All maximal bicliques of a small bipartite graph by closing every subset of rows."""
    neighbours = {i: frozenset(j for (r, j) in edges if r == i) for i in range(rows)}
    out = set()
    for size in range(1, rows + 1):
        for subset in itertools.combinations(range(rows), size):
            cols = frozenset.intersection(*(neighbours[i] for i in subset))
            if cols:
                closure = frozenset(i for i in range(rows) if cols <= neighbours[i])
                out.add((closure, cols))
    return out


@FAST
@given(edges=st.sets(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=14))
def test_maximal_bicliques_of_any_bipartite_graph_are_the_brute_forces(edges: set[tuple[int, int]]) -> None:
    """On graphs of every shape, matchings (each edge alone) included."""
    got = {(frozenset(rows), frozenset(cols)) for rows, cols in maximal_bicliques(sorted(edges))}
    assert got == _brute_force_maximal_bicliques(edges, 6)


@FAST
@given(game=integer_bimatrix_games(max_actions=4, bound=1))
def test_components_are_exactly_the_maximal_nash_subsets(game: NormalFormGame) -> None:
    """Every maximal biclique of the extreme-equilibrium graph is a component, and only those."""
    result = solve(game, exact=True)
    xs = sorted({eq.exact_strategies[0] for eq in result.equilibria})
    ys = sorted({eq.exact_strategies[1] for eq in result.equilibria})
    # A row player with constant payoffs has 15 equilibrium vertices on a 4 x 4 game (each
    # support's uniform mixture); up to 2**16 subsets the brute force stays quick.
    assert len(xs) <= 16, "keep the brute force small"
    edges = {(xs.index(eq.exact_strategies[0]), ys.index(eq.exact_strategies[1])) for eq in result.equilibria}
    expected = _brute_force_maximal_bicliques(edges, len(xs))
    got = set()
    for comp in result.components:
        members = [result.equilibria[k].exact_strategies for k in comp.equilibrium_indices]
        got.add((frozenset(xs.index(x) for x, _ in members), frozenset(ys.index(y) for _, y in members)))
    assert got == expected
    assert len(result.components) == len(expected)


# --------------------------------------------------------------------------- pure equilibria


@FAST
@given(game=integer_bimatrix_games(bound=3))
def test_pure_nash_is_the_pure_part_of_the_full_set(game: NormalFormGame) -> None:
    def joint(eq) -> tuple[int, ...]:
        return tuple(int(np.argmax(s)) for s in eq.strategies)

    full = solve(game)
    pure = solve(game, concepts=["pure_nash"])
    assert pure.complete is True
    assert all(eq.is_pure for eq in pure.equilibria)
    assert sorted(joint(eq) for eq in pure.equilibria) == sorted(
        joint(eq) for eq in full.equilibria if eq.is_pure
    )
    filtered = solve(game, concepts=["pure_nash"], method="vertex_enumeration")
    assert sorted(joint(eq) for eq in filtered.equilibria) == sorted(joint(eq) for eq in pure.equilibria)


@FAST
@given(game=n_player_games())
def test_pure_nash_n_players_matches_brute_force(game: NormalFormGame) -> None:
    u = game.payoffs
    expected = []
    for profile in itertools.product(*(range(k) for k in game.num_actions)):
        stable = True
        for i, k in enumerate(game.num_actions):
            for deviation in range(k):
                other = list(profile)
                other[i] = deviation
                if u[(i, *other)] > u[(i, *profile)]:
                    stable = False
        if stable:
            expected.append(profile)
    result = solve(game, concepts=["pure_nash"])
    got = [tuple(int(np.argmax(s)) for s in eq.strategies) for eq in result.equilibria]
    assert sorted(got) == expected
    for eq, profile in zip(result.equilibria, got, strict=True):
        assert eq.is_pure
        np.testing.assert_array_equal(eq.payoffs, [u[(i, *profile)] for i in range(game.n_players)])
        assert eq.nash_conv == 0.0


# --------------------------------------------------------------------------- invariances


@SLOW
@given(
    game=integer_bimatrix_games(max_actions=4),
    scale=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    shift=st.tuples(st.integers(-7, 7), st.integers(-7, 7)),
)
def test_equilibria_are_invariant_under_positive_affine_maps(
    game: NormalFormGame, scale: tuple[int, int], shift: tuple[int, int]
) -> None:
    a, b = game.bimatrix()
    mapped = NormalFormGame.from_bimatrix(scale[0] * a + shift[0], scale[1] * b + shift[1])
    assert _exact_set(mapped) == _exact_set(game)


@SLOW
@given(game=integer_bimatrix_games(max_actions=4), data=st.data())
def test_equilibria_follow_permutations_and_player_swap(game: NormalFormGame, data: st.DataObject) -> None:
    a, b = game.bimatrix()
    m, n = game.num_actions
    rows = data.draw(st.permutations(range(m)), label="rows")
    cols = data.draw(st.permutations(range(n)), label="cols")
    permuted = NormalFormGame.from_bimatrix(a[np.ix_(rows, cols)], b[np.ix_(rows, cols)])
    original = _exact_set(game)
    assert _exact_set(permuted) == {
        (tuple(x[r] for r in rows), tuple(y[c] for c in cols)) for x, y in original
    }
    swapped = NormalFormGame.from_bimatrix(b.T, a.T)
    assert _exact_set(swapped) == {(y, x) for x, y in original}


# --------------------------------------------------------------------------- game id


def _blake2b_id(shape: tuple[int, ...], values: list[float]) -> str:
    """The content address ``game.id`` promises, built here from plain Python values.

    blake2b-128 of the shape as little-endian uint64 words, then the payoffs in C order
    as little-endian IEEE doubles (``struct``, not numpy's byte views).
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(struct.pack(f"<{len(shape)}Q", *shape))
    digest.update(struct.pack(f"<{len(values)}d", *values))
    return digest.hexdigest()


@FAST
@given(game=integer_bimatrix_games(), data=st.data())
def test_game_id_is_the_content_address_and_changes_with_any_payoff(
    game: NormalFormGame, data: st.DataObject
) -> None:
    a, b = game.bimatrix()
    m, n = game.num_actions
    flat = [float(v) for v in np.stack([a, b]).ravel()]
    assert game.id == _blake2b_id((2, m, n), flat)
    # The same content however it arrives: lists, integers, big-endian or Fortran-ordered
    # floats, and names (not content).
    same = [
        NormalFormGame.from_bimatrix(a.tolist(), b.tolist()),
        NormalFormGame(np.stack([a, b]).astype(np.int32)),
        NormalFormGame(np.stack([a, b]).astype(">f8")),
        NormalFormGame(np.asfortranarray(np.stack([a, b]))),
        NormalFormGame(np.stack([a, b]), title="another title", player_names=("p", "q")),
        pickle.loads(pickle.dumps(NormalFormGame(np.stack([a, b])))),  # recomputed after the trip
    ]
    assert [g.id for g in same] == [game.id] * len(same)
    # The id is cached: the payoffs it was computed from cannot change under it.
    with pytest.raises(ValueError, match="read-only"):
        game.payoffs[0, 0, 0] += 1.0
    assert game.id == _blake2b_id((2, m, n), flat)
    player = data.draw(st.integers(0, 1), label="player")
    i = data.draw(st.integers(0, m - 1), label="i")
    j = data.draw(st.integers(0, n - 1), label="j")
    delta = data.draw(st.sampled_from([1.0, -1.0, 0.5, 1e-6]), label="delta")
    payoffs = game.payoffs.copy()
    payoffs[player, i, j] += delta
    changed = NormalFormGame(payoffs)
    assert changed.id != game.id
    assert changed.id == _blake2b_id((2, m, n), [float(v) for v in payoffs.ravel()])


def test_game_id_hashes_the_shape_not_only_the_payload() -> None:
    payload = np.arange(12.0)
    ids = {shape: NormalFormGame(payload.reshape(shape)).id for shape in [(2, 2, 3), (2, 3, 2), (2, 6, 1)]}
    assert len(set(ids.values())) == 3
    for shape, game_id in ids.items():
        assert game_id == _blake2b_id(shape, payload.tolist())
