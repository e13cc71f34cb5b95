"""The pivoting search over feasible bases (solver/vertex_enumeration.py) against brute force and pygambit.

* On 123 seeded games up to 8 x 8 (random integer, standard-normal, degenerate
  {0, 1, 2}, identity-like and identity) the search and the brute-force enumeration of
  every square system find the same vertices of both best-response polytopes: the same
  label sets and the same points, with the same certification flag; in exact mode
  (every feasible basis proposed, then decided in rational arithmetic) they certify the
  same exact vertices on a third of them and on 12 near-tie games (payoffs
  ``10**7 u + v``), and the search proposes every exactly feasible basis brute force does.
* Standard-normal 12 x 12 and 15 x 15 games are solved and certified; the 12 x 12 one
  equals pygambit's float vertex enumeration, the 15 x 15 one contains every equilibrium
  pygambit's Lemke-Howson reaches (its vertex enumeration needs minutes there).
* The search visits few bases, honours ``max_visited``, gives up for brute force on very
  degenerate polytopes, and whenever it certifies a near-tie float answer, that answer
  is the exact one.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver import exact as exact_arith
from equilibria.solver import vertex_enumeration as ve
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from equilibria.solver.game import positive_rescale
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


def _load_games() -> ModuleType:
    """Import ``tests/games.py`` by path (``tests`` is not a package; import mode is importlib)."""
    name = "equilibria_tests_games"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("games.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


games = _load_games()


def _size(kind: int, seed: int) -> tuple[int, int]:
    m, n = np.random.default_rng([kind, seed]).integers(2, 9, size=2)
    return int(m), int(n)


def _corpus() -> list:
    out = []
    for s in range(30):
        out.append(
            pytest.param(functools.partial(games.random_integer_game, *_size(1, s), -5, 5, s), id=f"int-s{s}")
        )
        out.append(
            pytest.param(functools.partial(games.random_normal_game, *_size(2, s), s), id=f"normal-s{s}")
        )
        out.append(
            pytest.param(functools.partial(games.random_degenerate_game, *_size(3, s), s), id=f"deg-s{s}")
        )
    for s in range(20):
        out.append(
            pytest.param(functools.partial(games.identity_like_game, *_size(4, s), s), id=f"idlike-s{s}")
        )
    for n in range(2, 9):
        out.append(pytest.param(functools.partial(games.identity_game, n), id=f"identity-{n}"))
    for n in (6, 7, 8):  # square games where the automatic rule itself picks the search
        out.append(
            pytest.param(functools.partial(games.random_degenerate_game, n, n, 900 + n), id=f"deg-{n}x{n}")
        )
        out.append(
            pytest.param(functools.partial(games.random_normal_game, n, n, 900 + n), id=f"normal-{n}x{n}")
        )
    return out


CORPUS = _corpus()
NEAR_TIES = [
    pytest.param(
        functools.partial(games.random_near_tie_game, *_size(5, s), 10**7, 700 + s), id=f"neartie-s{s}"
    )
    for s in range(12)
]


def _polytopes(game: NormalFormGame) -> tuple[list[np.ndarray], list[bool]]:
    """The matrices of P and Q as vertex_enumeration builds them, and their label orders."""
    a, b = game.bimatrix()
    return [positive_rescale(b, 0.1), positive_rescale(a, 0.1).T], [True, False]


def _both(game: NormalFormGame, tol: float, every_basis: bool) -> tuple[list, list]:
    mats, firsts = _polytopes(game)
    runs = [
        ve._vertices(mats, tol, coordinate_labels_first=firsts, every_basis=every_basis, method=method)
        for method in ("search", "brute_force")
    ]
    return runs[0], runs[1]


def _by_labels(v) -> dict[bytes, np.ndarray]:
    return {row.tobytes(): point for row, point in zip(v.labels, v.points, strict=True)}


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 100
    sizes = {p.values[0]().num_actions for p in CORPUS}
    assert max(max(s) for s in sizes) == 8 and sum(1 for m, n in sizes if m != n) >= 10


@pytest.mark.parametrize("make", CORPUS)
def test_search_and_brute_force_find_the_same_vertices(make) -> None:
    game = make()
    search, brute = _both(game, 1e-9, every_basis=False)
    for s, b in zip(search, brute, strict=True):
        ours, theirs = _by_labels(s), _by_labels(b)
        assert ours.keys() == theirs.keys(), "different label sets"
        assert len(ours) == len(s.labels), "a label set listed twice"
        for key, point in ours.items():
            np.testing.assert_allclose(point, theirs[key], rtol=0, atol=1e-9)
        assert s.ambiguous == b.ambiguous


def _certified_both(game: NormalFormGame) -> list[tuple]:
    """Exact vertices certified from each method's candidates, per polytope."""
    a, b = game.bimatrix()
    exact_game = exact_arith.rational_bimatrix(a, b)
    exact_mats = [exact_game.b_positive, tuple(zip(*exact_game.a_positive, strict=True))]
    search, brute = _both(game, 1e-7, every_basis=True)
    out = []
    for s, b_, mat, first in zip(search, brute, exact_mats, [True, False], strict=True):
        # The search proposes every exactly feasible basis that brute force proposes
        # (brute force also proposes bases infeasible by less than the float tolerance).
        bases = [{(sup, t[: len(sup)]) for sup, t in zip(v.supports, v.tights, strict=True)} for v in (s, b_)]
        for support, tight in bases[1] - bases[0]:
            assert not _exactly_feasible(mat, support, tight), f"feasible basis {support, tight} missed"
        certified = [ve._certified(v, mat, coordinate_labels_first=first) for v in (s, b_)]
        out.append((certified[0], certified[1]))
    return out


def _exactly_feasible(mat: exact_arith.Matrix, support: tuple[int, ...], tight: tuple[int, ...]) -> bool:
    z = exact_arith.solve_exact([[mat[i][t] for i in support] for t in tight], [Fraction(1)] * len(support))
    if z is None:
        return False
    values = [
        sum((mat[i][t] * v for i, v in zip(support, z, strict=True)), Fraction(0)) for t in range(len(mat[0]))
    ]
    return min(z) >= 0 and max(values) <= 1


@pytest.mark.parametrize("make", CORPUS[::3] + NEAR_TIES)
def test_search_and_brute_force_certify_the_same_exact_vertices(make) -> None:
    for ours, theirs in _certified_both(make()):
        assert ours.exact == theirs.exact
        np.testing.assert_array_equal(ours.labels, theirs.labels)


@pytest.mark.parametrize("make", NEAR_TIES)
def test_a_certified_float_answer_is_the_exact_one(make) -> None:
    """Near-tie games put vertices closer than the float tolerance: the float answer may
    differ from the exact one, but then it must not claim to be complete."""
    game = make()
    floats = ve.vertex_enumeration(game)
    exact = ve.vertex_enumeration(game, exact=True)
    assert exact.complete
    if floats.complete:
        wanted = [eq.strategies for eq in exact.equilibria]
        found = [eq.strategies for eq in floats.equilibria]
        assert len(found) == len(wanted)
        assert games.unmatched(found, wanted, atol=1e-9) == []


@settings(max_examples=25, deadline=None, database=None)
@given(
    data=st.data(),
    m=st.integers(1, 6),
    n=st.integers(1, 6),
)
def test_search_matches_brute_force_on_small_integer_games(data: st.DataObject, m: int, n: int) -> None:
    a = data.draw(arrays(np.int64, (m, n), elements=st.integers(-3, 3)), label="A")
    b = data.draw(arrays(np.int64, (m, n), elements=st.integers(-3, 3)), label="B")
    search, brute = _both(NormalFormGame.from_bimatrix(a, b), 1e-9, every_basis=False)
    for s, b_ in zip(search, brute, strict=True):
        assert _by_labels(s).keys() == _by_labels(b_).keys()


def _gambit_profiles(game: NormalFormGame, solver) -> list[tuple[np.ndarray, ...]]:
    a, b = game.bimatrix()
    g = gbt.Game.from_arrays(a, b)
    result = solver(g, rational=False)
    return [
        tuple(np.array([float(eq[p][s]) for s in p.strategies]) for p in g.players)
        for eq in result.equilibria
    ]


def _assert_certified(result, game: NormalFormGame) -> None:
    assert result.complete, result.warnings
    for eq in result.equilibria:
        assert eq.nash_conv <= 1e-9 * game.payoff_scale


@pytest.mark.oracle
def test_a_12x12_standard_normal_game_matches_gambit() -> None:
    game = games.random_normal_game(12, 12, 0)
    result = ve.vertex_enumeration(game)
    _assert_certified(result, game)
    oracle = _gambit_profiles(game, gbt.nash.enummixed_solve)
    ours = [eq.strategies for eq in result.equilibria]
    assert len(ours) == len(oracle) and len(ours) % 2 == 1
    assert games.unmatched(ours, oracle, atol=1e-7) == []
    assert games.unmatched(oracle, ours, atol=1e-7) == []


@pytest.mark.oracle
def test_a_15x15_standard_normal_game_is_solved_and_contains_gambits_lemke_howson_equilibria() -> None:
    game = games.random_normal_game(15, 15, 4)
    assert ve.count_bases(15, 15) > ve.MAX_BASES  # over the a-priori limit: raise it to solve
    result = ve.vertex_enumeration(game, max_bases=ve.count_bases(15, 15))
    _assert_certified(result, game)
    ours = [eq.strategies for eq in result.equilibria]
    assert len(ours) % 2 == 1  # non-degenerate
    # pygambit's lcp_solve follows Lemke-Howson from every label and every equilibrium found.
    reached = _gambit_profiles(game, gbt.nash.lcp_solve)
    assert len(reached) >= 3
    assert games.unmatched(ours, reached, atol=1e-7) == []
    visited = int(result.method_reason.split()[1].replace(",", ""))
    assert visited < ve.count_bases(15, 15) / 1000


def test_the_search_visits_about_as_many_bases_as_there_are_vertices() -> None:
    mats, firsts = _polytopes(games.random_normal_game(10, 10, 3))
    budget = ve._Budget(10**9)
    found = ve._vertices(mats, 1e-9, coordinate_labels_first=firsts, budget=budget, method="search")
    vertices = sum(len(v.labels) for v in found) + 2  # and the origin of each polytope
    assert vertices <= budget.visited <= 2 * vertices
    assert budget.visited < ve.count_bases(10, 10) / 100


def test_max_visited_is_a_limit_on_work_done() -> None:
    game = games.random_normal_game(9, 9, 1)
    with pytest.raises(ProblemTooLargeError) as info:
        ve.vertex_enumeration(game, max_visited=50)
    assert info.value.field == "method" and "max_visited" in info.value.message
    result = ve.vertex_enumeration(game, max_visited=5_000)
    assert result.complete and "visited" in result.method_reason
    with pytest.raises(InvalidOptionError) as bad:
        ve.vertex_enumeration(game, max_visited=0)
    assert bad.value.field == "max_visited"


def test_a_search_that_visits_too_much_gives_way_to_brute_force() -> None:
    """A constant game's simplex is so degenerate that half its bases are feasible."""
    mat = np.ones((3, 3))
    budgets = {method: ve._Budget(10**9) for method in ("search", "brute_force")}
    found = {
        method: ve._vertices([mat], 1e-9, coordinate_labels_first=[True], budget=budget, method=method)[0]
        for method, budget in budgets.items()
    }
    assert _by_labels(found["search"]).keys() == _by_labels(found["brute_force"]).keys()
    brute_force_bases = math.comb(6, 3) - 1
    assert budgets["brute_force"].visited == brute_force_bases
    # The abandoned search's visits count as work too.
    assert budgets["search"].visited > brute_force_bases
    # Not when brute force would not fit in the rest of the budget: the search goes on.
    tight = ve._Budget(brute_force_bases)
    alone = ve._vertices([mat], 1e-9, coordinate_labels_first=[True], budget=tight, method="search")[0]
    assert _by_labels(alone).keys() == _by_labels(found["brute_force"]).keys()
    assert tight.visited < brute_force_bases


def test_the_automatic_rule_uses_brute_force_only_for_small_or_wide_polytopes() -> None:
    assert not ve._use_search(7, 7) and ve._use_search(8, 7) and ve._use_search(12, 12)
    assert not ve._use_search(40, 23)  # 63 variables do not fit an int64 bitmask key
