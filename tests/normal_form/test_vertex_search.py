"""The pivoting search over feasible bases (solver/normal_form/bases.py) against brute force and pygambit.

* On 123 seeded games up to 8 x 8 (random integer, standard-normal, degenerate
  {0, 1, 2}, identity-like and identity) the search and the brute-force enumeration of
  every square system find the same vertices of both best-response polytopes: the same
  label sets and the same points, with the same certification flag. The exact search
  (exact_search.py: pivoting in rational arithmetic) finds exactly the vertices that
  every square system solved in rational arithmetic gives, on those up to 6 x 6 and on
  12 near-tie games (payoffs ``10**7 u + v``).
* Standard-normal 12 x 12 and 15 x 15 games are solved and certified; the 12 x 12 one
  equals pygambit's float vertex enumeration, the 15 x 15 one contains every equilibrium
  pygambit's Lemke-Howson reaches (its vertex enumeration needs minutes there).
* The search visits few bases, honours ``max_visited``; on near-tie games the float
  enumeration decides in exact arithmetic and its complete answer is the exact one.
* The numba search kernel itself returns exactly the feasible bases brute force finds
  (random, {0, 1}, {0, 1, 2} and identity games of shapes from 1 x 1 to 7 x 5), stops at
  its budget, flags a nearly singular basis; on seeded {0, 1} and
  {0, 1, 2} games no equilibrium of pygambit's rational enumeration is missed.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import re
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver.errors import InvalidOptionError
from equilibria.solver.game import positive_rescale
from equilibria.solver.normal_form import (
    bases,
    complementary_faces,
    exact_search,
    labelled_pairs,
    lexicographic,
    rational_polytope,
    square_systems,
)
from equilibria.solver.normal_form import exact as exact_arith
from equilibria.solver.normal_form import labelled_vertices as lv
from equilibria.solver.normal_form import vertex_enumeration as ve
from equilibria.solver.normal_form.bases import Budget
from equilibria.solver.regret import certify
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.certificates import exact_determinant


def _load_games() -> ModuleType:
    """Import ``tests/games.py`` by path (``tests`` is not a package; import mode is importlib)."""
    name = "equilibria_tests_games"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "games.py")
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


def _both(game: NormalFormGame, tol: float) -> tuple[list, list]:
    mats, firsts = _polytopes(game)
    runs = [
        lv.search_vertices(
            mats, tol, coordinate_labels_first=firsts, method=method, budget=Budget(ve.MAX_VISITED)
        )
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
    search, brute = _both(game, 1e-9)
    for s, b in zip(search, brute, strict=True):
        ours, theirs = _by_labels(s), _by_labels(b)
        assert ours.keys() == theirs.keys(), "different label sets"
        assert len(ours) == len(s.labels), "a label set listed twice"
        for key, point in ours.items():
            np.testing.assert_allclose(point, theirs[key], rtol=0, atol=1e-9)
        assert s.ambiguous == b.ambiguous


def _equilibrium_keys(result) -> list[tuple[float, ...]]:
    return sorted(tuple(np.round(np.concatenate(eq.strategies), 9)) for eq in result.equilibria)


FACE_SHAPES = [(3, 7), (7, 3), (5, 5), (9, 4), (4, 9)]


def _indifferent(player: int, m: int, n: int, seed: int) -> NormalFormGame:
    """One player's payoffs constant, the other's standard normal: the first player's
    faces are simplices (a continuum of equilibria), its polytope's systems singular."""
    other = np.random.default_rng([m, n, seed]).standard_normal((m, n))
    flat = np.zeros((m, n))
    return NormalFormGame.from_bimatrix(*((flat, other) if player == 0 else (other, flat)))


INDIFFERENT = [
    pytest.param(functools.partial(_indifferent, player, m, n, 0), id=f"indifferent{player}-{m}x{n}")
    for player in (0, 1)
    for m, n in [(3, 3), (3, 5), (5, 3)]
]


def _twin_rows(seed: int) -> NormalFormGame:
    """{0, 1, 2} payoffs with the row player's first two rows equal: degenerate vertices of P
    whose missing labels include both twin rows, dependent constraints of Q (no basis of Q
    extends them, so Q must be searched)."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 5))
    a = rng.integers(0, 3, (m, m)).astype(float)
    a[1] = a[0]
    return NormalFormGame.from_bimatrix(a, rng.integers(0, 3, (m, m)).astype(float))


TWIN_ROWS = [
    pytest.param(functools.partial(_twin_rows, seed), id=f"twin-rows-s{seed}") for seed in (17, 20, 171, 187)
]


@pytest.mark.parametrize("make", CORPUS + NEAR_TIES + INDIFFERENT + TWIN_ROWS)
def test_matching_faces_finds_what_searching_both_polytopes_finds(
    make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searching one polytope and solving each vertex's complementary face of the other (or
    falling back to searching both) gives the equilibria, components, completeness and
    warnings of searching both polytopes."""
    game = make()
    matched = ve.vertex_enumeration(game)
    monkeypatch.setattr(lv, "_face_partners", lambda *args, **kwargs: None)
    both = ve.vertex_enumeration(game)
    assert _equilibrium_keys(matched) == _equilibrium_keys(both)
    assert len(matched.components) == len(both.components)
    assert matched.complete == both.complete

    def kept(warnings: tuple[str, ...]) -> list[str]:  # a face match can avoid a close call in Q
        return [w for w in warnings if not w.startswith("near-degenerate")]

    assert kept(matched.warnings) == kept(both.warnings)


@pytest.mark.parametrize(("m", "n"), FACE_SHAPES, ids=[f"{m}x{n}" for m, n in FACE_SHAPES])
def test_a_nondegenerate_game_is_solved_by_matching_faces(m: int, n: int) -> None:
    """On standard-normal games (nondegenerate with probability one) the smaller player's
    polytope is searched and every vertex's face solved: no search of the other."""
    for seed in range(4):
        game = games.random_normal_game(m, n, 40 + seed)
        result = ve.vertex_enumeration(game)
        assert result.complete
        searched, solved = ("row", "column") if m <= n else ("column", "row")
        faces = result.method_reason.split(", ")[-1].split()[0]
        assert result.method_reason.endswith(
            f"best-response polytopes: the {searched} player's searched, "
            f"{faces} complementary faces of the {solved} player's solved"
        )
        assert len(result.equilibria) % 2 == 1  # a nondegenerate game has an odd number


@pytest.fixture()
def float_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The float search on small integer payoffs too (the integer search answers them first)."""
    monkeypatch.setattr(ve, "_integer_vertices", lambda *args, **kwargs: None)


def _integer_game(n: int, seed: int) -> NormalFormGame:
    rng = np.random.default_rng(seed)
    return NormalFormGame.from_bimatrix(
        rng.integers(0, 100, (n, n)) * 1.0, rng.integers(0, 100, (n, n)) * 1.0
    )


@pytest.mark.parametrize(("n", "seed"), [(10, 1), (14, 0)])
def test_a_degenerate_vertex_is_matched_through_the_bases_extending_its_labels(
    n: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random integer games (0..99) have a few vertices of P on one facet too many (ties):
    their faces in Q are enumerated by the bases that extend the labels they lack by one
    of their own, and the answer is that of searching both polytopes."""
    game = _integer_game(n, seed)
    (px,) = lv.search_vertices(
        [positive_rescale(game.payoffs[1], 0.1)],
        1e-9,
        coordinate_labels_first=[True],
        budget=Budget(ve.MAX_VISITED),
    )
    counts = px.labels.sum(axis=1)
    assert (counts == n + 1).any() and (counts >= n).all()  # degenerate vertices of excess 1
    matched = ve.vertex_enumeration(game, max_bases=10**9)
    faces = int(matched.method_reason.split(", ")[-1].split()[0].replace(",", ""))
    assert faces == len(counts) + n * int((counts > n).sum())  # n + 1 extensions replace 1 face
    monkeypatch.setattr(lv, "_face_partners", lambda *args, **kwargs: None)
    both = ve.vertex_enumeration(game, max_bases=10**9)
    assert _equilibrium_keys(matched) == _equilibrium_keys(both) and matched.complete and both.complete


def test_too_many_extensions_fall_back_to_searching_both_polytopes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 10 x 10 game's one degenerate vertex needs 11 extensions among 1,481 vertices."""
    game = _integer_game(10, 1)
    monkeypatch.setattr(complementary_faces, "MAX_EXTENSIONS", 11 / 1481 * 1.001)
    assert "complementary faces" in ve.vertex_enumeration(game).method_reason
    monkeypatch.setattr(complementary_faces, "MAX_EXTENSIONS", 11 / 1481 * 0.999)
    fallback = ve.vertex_enumeration(game)
    assert fallback.complete and "complementary faces" not in fallback.method_reason


@pytest.mark.usefixtures("float_search")
def test_a_degenerate_vertexs_face_is_solved_to_the_answer_of_searching_both_polytopes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With {0, 1, 2} payoffs some vertex of P lies on more than m facets, or lacks labels
    that are dependent: its face in Q need not be one point, and is enumerated by the bases
    that extend or exchange those labels (:mod:`.complementary_faces`), to the answer of
    searching Q. The identity game's P is a cube (every vertex on exactly m facets): its 15
    equilibria come from faces, one system each."""
    game = games.random_degenerate_game(5, 5, 1)
    degenerate = ve.vertex_enumeration(game)
    assert degenerate.complete and "complementary faces" in degenerate.method_reason
    monkeypatch.setattr(lv, "_face_partners", lambda *args, **kwargs: None)
    searched = ve.vertex_enumeration(game)
    assert searched.complete and "complementary faces" not in searched.method_reason
    assert _equilibrium_keys(degenerate) == _equilibrium_keys(searched)
    monkeypatch.undo()
    monkeypatch.setattr(ve, "_integer_vertices", lambda *args, **kwargs: None)
    identity = ve.vertex_enumeration(games.identity_game(4))
    assert identity.complete and "15 complementary faces" in identity.method_reason
    assert len(identity.equilibria) == 15  # one for every non-empty support


def _exact_vertices_by_brute_force(mat: exact_arith.Matrix) -> dict[tuple[Fraction, ...], frozenset[int]]:
    """Every non-zero vertex of ``{z >= 0 : mat^T z <= 1}``: each square system, solved exactly."""
    return _exact_brute_force(mat)[0]


def _feasible_bases(
    mat: exact_arith.Matrix,
) -> Iterator[tuple[tuple[int, ...], list[list[Fraction]], list[Fraction], list[Fraction]]]:
    """Every feasible basis of ``{z >= 0 : mat^T z <= 1}`` but the origin's, in rational
    arithmetic: its coordinates ``S``, its system ``mat[S, T]^T`` (row ``t`` is tight
    constraint ``T[t]``), its vertex ``z`` and the constraints' values ``mat^T z``.

    A basis holds ``z_S`` and every slack but those of the tight constraints ``T``
    (``|T| = |S|``); it exists when ``mat[S, T]`` is nonsingular and is feasible when its
    basic solution is non-negative.
    """
    d, c = len(mat), len(mat[0])
    for k in range(1, min(d, c) + 1):
        for support in itertools.combinations(range(d), k):
            for tight in itertools.combinations(range(c), k):
                system = [[mat[i][t] for i in support] for t in tight]
                z_s = exact_arith.solve_exact(system, [Fraction(1)] * k)
                if z_s is None or min(z_s) < 0:
                    continue
                z = [Fraction(0)] * d
                for i, v in zip(support, z_s, strict=True):
                    z[i] = v
                values = [sum((mat[i][t] * z[i] for i in range(d)), Fraction(0)) for t in range(c)]
                if max(values) <= 1:
                    yield support, system, z, values


def _exact_brute_force(mat: exact_arith.Matrix) -> tuple[dict[tuple[Fraction, ...], frozenset[int]], int]:
    """The non-zero vertices (with their labels) and the number of feasible bases (the
    origin's included)."""
    d, c = len(mat), len(mat[0])
    found = {}
    feasible_bases = 1  # the origin: every slack basic
    for _, _, z, values in _feasible_bases(mat):
        feasible_bases += 1
        labels = {i for i in range(d) if not z[i]} | {d + t for t in range(c) if values[t] == 1}
        found[tuple(z)] = frozenset(labels)
    return found, feasible_bases


def _near_parallel_polytope(rng: np.random.Generator) -> np.ndarray:
    """Rows of small integers scaled by powers of ten up to 1e7, each entry moved by a few
    ulps of its row's scale: rows nearly parallel, so some bases are regular (the floats
    are exact rationals) yet within a few ulps of singular."""
    d, c = (int(v) for v in rng.integers(2, 6, size=2))
    scale = 10.0 ** rng.integers(0, 8, size=(d, 1))
    noise = rng.choice([3e-16, 1e-15, 3e-15])
    return rng.integers(1, 4, size=(d, c)) * scale + rng.normal(size=(d, c)) * noise * scale


def _vertices_and_their_best_conditioning(mat: np.ndarray) -> dict[tuple[Fraction, ...], float]:
    """Every non-zero vertex of ``{z >= 0 : mat^T z <= 1}`` (the floats read exactly), with
    the largest Hadamard ratio of its feasible bases: ``|det mat[S, T]| / prod_S |mat_i|``
    for the basis of coordinates ``S`` and tight constraints ``T`` (the slacks' unit
    columns change neither the determinant nor the product)."""
    norms = np.linalg.norm(mat, axis=1)
    found: dict[tuple[Fraction, ...], float] = {}
    for support, system, z, _ in _feasible_bases([[Fraction(v) for v in row] for row in mat]):
        rho = abs(float(exact_determinant(system))) / float(np.prod(norms[list(support)]))
        found[tuple(z)] = max(found.get(tuple(z), 0.0), rho)
    return found


def _searched(mat: np.ndarray) -> tuple[np.ndarray, bool]:
    block = bases.search_bases(mat, 1e-9, bases.Budget(10**6))
    return block.points, block.ambiguous


def _brute_forced(mat: np.ndarray) -> tuple[np.ndarray, bool]:
    blocks = list(square_systems.brute_force_bases(mat, 1e-9, bases.Budget(10**6)))
    points = np.vstack([b.points for b in blocks]) if blocks else np.zeros((0, mat.shape[0]))
    return points, any(b.ambiguous for b in blocks)


@pytest.mark.parametrize("vertices", [_searched, _brute_forced], ids=["search", "brute-force"])
def test_a_vertex_too_close_to_singular_to_evaluate_is_never_lost_in_silence(vertices) -> None:
    """The float search and the brute force on polytopes whose vertices include nearly
    singular bases, against every square system solved in rational arithmetic on the same
    floats. A vertex with a basis whose Hadamard ratio is over 1e-15 (``SINGULAR_RHO *
    1e-3``, twice it here for the solvers' own estimate of the ratio) is found, or the
    result says it is ambiguous: such a basis is regular in exact arithmetic, only maybe too
    ill-conditioned to evaluate. Only vertices whose every basis is closer to singular than
    that, beyond working precision (constraints parallel to the last bits), may go unseen.
    Some of these polytopes have both kinds."""
    rng = np.random.default_rng(301)
    reported = beyond = 0
    for _ in range(400):
        mat = _near_parallel_polytope(rng)
        points, ambiguous = vertices(mat)
        for z, rho in _vertices_and_their_best_conditioning(mat).items():
            want = np.array([float(v) for v in z])
            if (np.abs(points - want).max(axis=1) <= 1e-6 * np.abs(want).max()).any():
                continue
            if rho > 2 * bases.SINGULAR_RHO * 1e-3:
                assert ambiguous, (mat.tolist(), want.tolist(), rho)
                reported += 1
            else:
                beyond += 1
    assert reported > 0 and beyond > 0


SMALL = [p for p in CORPUS + NEAR_TIES if max(p.values[0]().num_actions) <= 6]


@pytest.mark.parametrize("make", SMALL)
def test_the_exact_search_finds_every_vertex_brute_force_finds(make) -> None:
    """The exact pivoting search against every square system solved in rational arithmetic."""
    a, b = make().bimatrix()
    exact_game = exact_arith.rational_bimatrix(a, b)
    for mat in (exact_game.b_positive, tuple(zip(*exact_game.a_positive, strict=True))):
        found = exact_search.polytope_vertices(mat)
        vertices, feasible_bases = _exact_brute_force(mat)
        assert found.complete
        assert dict(found.vertices) == vertices
        # Every lexicographically feasible basis, each once, and no other: the search is
        # the lexicographic one, not one that stops at the first tie or takes them all.
        lex_feasible = _lexicographically_feasible_bases(mat)
        assert found.bases == lex_feasible <= feasible_bases


def _lexicographically_feasible_bases(mat: exact_arith.Matrix) -> int:
    """How many bases of ``[diag(L) mat^T | I] (z, w) = L`` (constraint ``j`` scaled by the lcm
    ``L_j`` of its denominators, as the search writes it) have every row of ``[B^-1 L | B^-1]``
    lexicographically positive: the feasible bases of the right-hand side ``L + (e, e^2, ...)``.
    """
    d, c = len(mat), len(mat[0])
    scale = [math.lcm(*(Fraction(mat[i][j]).denominator for i in range(d))) for j in range(c)]
    columns = [[mat[i][j] * scale[j] for j in range(c)] for i in range(d)]  # variable i's column
    columns += [[Fraction(int(k == j)) for k in range(c)] for j in range(c)]  # the slacks
    count = 0
    for basis in itertools.combinations(range(d + c), c):
        rows = [[columns[v][j] for v in basis] + [Fraction(int(k == j)) for k in range(c)] for j in range(c)]
        for col in range(c):  # Gauss-Jordan on [B | I]: B^-1 where B is regular
            pivot = next((r for r in range(col, c) if rows[r][col] != 0), None)
            if pivot is None:
                break
            rows[col], rows[pivot] = rows[pivot], rows[col]
            head = [v / rows[col][col] for v in rows[col]]
            rows = [
                head if r == col else [v - rows[r][col] * h for v, h in zip(rows[r], head, strict=True)]
                for r in range(c)
            ]
        else:
            inverse = [row[c:] for row in rows]  # row t: basic variable basis[t]
            lexico = [[sum(x * s for x, s in zip(row, scale, strict=True)), *row] for row in inverse]
            count += all(next(v for v in row if v != 0) > 0 for row in lexico)
    return count


def test_the_exact_search_stops_at_max_bases_and_says_so() -> None:
    a, b = games.identity_game(5).bimatrix()
    mat = exact_arith.rational_bimatrix(a, b).b_positive
    found = exact_search.polytope_vertices(mat, max_bases=3)
    assert found.bases == 3 and not found.complete
    assert exact_search.polytope_vertices(mat).complete


def _exact_keys(result) -> list[tuple[Fraction, ...]]:
    return sorted(tuple(itertools.chain(*eq.exact_strategies)) for eq in result.equilibria)


@pytest.mark.parametrize("make", SMALL + TWIN_ROWS + INDIFFERENT)
def test_exact_mode_by_certified_floats_is_the_exact_search(make, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact mode searches in floats with every decision certified against zero, then solves
    and checks each equilibrium's vertices in rational arithmetic; when a decision is not
    certain it searches exactly. Both give the exact search's rational equilibria."""
    game = make()
    fast = ve.vertex_enumeration(game, exact=True)
    monkeypatch.setattr(ve, "_exact_points", lambda *args: None)
    slow = ve.vertex_enumeration(game, exact=True)
    assert fast.complete and slow.complete
    assert _exact_keys(fast) == _exact_keys(slow)
    assert len(fast.components) == len(slow.components)
    for eq in fast.equilibria:  # exactly an equilibrium: no pure strategy pays more
        x, y = eq.exact_strategies
        exact_game = exact_arith.rational_bimatrix(*game.bimatrix())
        rows = [sum((v * w for v, w in zip(row, y, strict=True)), Fraction(0)) for row in exact_game.a]
        cols = [sum((exact_game.b[i][j] * x[i] for i in range(len(x))), Fraction(0)) for j in range(len(y))]
        assert max(rows) == eq.exact_payoffs[0] and max(cols) == eq.exact_payoffs[1]


@pytest.mark.usefixtures("float_search")
@pytest.mark.parametrize(
    "make",
    [
        functools.partial(_integer_game, 10, 1),  # one degenerate vertex (a payoff tie)
        functools.partial(_integer_game, 12, 0),
        functools.partial(games.random_degenerate_game, 6, 6, 2),
        functools.partial(games.identity_game, 6),
    ],
)
def test_exact_mode_decides_the_float_candidates_without_searching_exactly(make) -> None:
    result = ve.vertex_enumeration(make(), exact=True)
    assert result.complete and result.exact
    assert result.method_reason.endswith(
        "every candidate pair of vertices solved and checked in rational arithmetic"
    )


def test_an_exact_check_drops_the_candidates_a_near_tie_lets_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """Column 1 beats column 0 by 1e-12 against row 0: within the float tolerance a tie
    (3 equilibria in floats), in rational arithmetic strictly dominant (1 equilibrium).
    The exact check drops the two candidates the tolerance let through."""
    game = NormalFormGame.from_bimatrix([[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0 + 1e-12], [0.0, 1.0]])
    assert len(ve.vertex_enumeration(game).equilibria) == 3
    exact = ve.vertex_enumeration(game, exact=True)
    assert exact.complete and "checked in rational arithmetic" in exact.method_reason
    assert [eq.exact_strategies for eq in exact.equilibria] == [((0, 1), (0, 1))]
    monkeypatch.setattr(ve, "_exact_points", lambda *args: None)
    assert _exact_keys(ve.vertex_enumeration(game, exact=True)) == _exact_keys(exact)


@pytest.mark.parametrize("make", NEAR_TIES)
def test_a_certified_float_answer_is_the_exact_one(make) -> None:
    """Near-tie games put vertices closer than the float tolerance: the float enumeration
    then decides them in exact arithmetic, so its answer is complete and is the exact one."""
    game = make()
    floats = ve.vertex_enumeration(game)
    exact = ve.vertex_enumeration(game, exact=True)
    assert exact.complete and floats.complete
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
    search, brute = _both(NormalFormGame.from_bimatrix(a, b), 1e-9)
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
    budget = bases.Budget(10**9)
    found = lv.search_vertices(mats, 1e-9, coordinate_labels_first=firsts, budget=budget, method="search")
    vertices = sum(len(v.labels) for v in found) + 2  # and the origin of each polytope
    assert vertices <= budget.visited <= 2 * vertices
    assert budget.visited < ve.count_bases(10, 10) / 100


def _assert_a_certified_part_of(part, whole, game: NormalFormGame) -> None:
    assert not part.complete and whole.complete
    assert set(_equilibrium_keys(part)) <= set(_equilibrium_keys(whole))
    for eq in part.equilibria:
        assert game.within_tolerance(certify(game, eq.strategies).regrets, 1e-9)


@pytest.mark.parametrize("seed", [5, 9, 10, 18])
def test_the_extension_budget_is_a_limit_faces_are_solved_at_it_and_not_past_it(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A degenerate vertex's partners are found by solving every basis that extends its
    labels: with exactly ``MAX_EXTENSIONS`` such bases per vertex found the faces are
    solved, with one fewer allowed the other polytope is searched instead (None)."""
    a, b = games.random_degenerate_game(4, 5, seed).bimatrix()
    first, other = positive_rescale(b, ve._SHIFT), positive_rescale(a, ve._SHIFT).T
    (found,) = lv.search_vertices(
        [first], 1e-9, coordinate_labels_first=[True], budget=Budget(ve.MAX_VISITED)
    )
    counts = found.labels.sum(axis=1)
    dimension = other.shape[1]
    extensions = sum(math.comb(int(k), int(k) - dimension) for k in counts if k > dimension)
    assert not found.ambiguous and extensions > 0
    monkeypatch.setattr(
        complementary_faces, "MAX_EXTENSIONS", Fraction(extensions, len(counts))
    )  # compared exactly
    assert lv._face_partners(found, other, 1e-9, 4, other_is_p=False, distinct=True) is not None
    monkeypatch.setattr(complementary_faces, "MAX_EXTENSIONS", Fraction(extensions - 1, len(counts)))
    assert lv._face_partners(found, other, 1e-9, 4, other_is_p=False, distinct=True) is None


@pytest.mark.parametrize("tol", [0.0, -1e-9, 2e-3, float("nan")])
def test_vertex_enumeration_refuses_a_tolerance_outside_its_range(tol: float) -> None:
    with pytest.raises(InvalidOptionError) as bad:
        ve.vertex_enumeration(games.random_normal_game(2, 2, 0), tol=tol)
    assert bad.value.field == "tolerance" and "vertex_enumeration" in str(bad.value)


def test_max_visited_is_a_limit_on_work_done() -> None:
    """Past ``max_visited`` the search stops and the answer holds the equilibria of the
    vertices it reached: certified, incomplete, saying so."""
    game = games.random_normal_game(9, 9, 1)
    whole = ve.vertex_enumeration(game, max_visited=5_000)
    assert whole.complete and "visited" in whole.method_reason
    for limit in (1, 50, 300):
        part = ve.vertex_enumeration(game, max_visited=limit)
        _assert_a_certified_part_of(part, whole, game)
        assert part.warnings[0] == (
            f"stopped by max_visited={limit:,} after visiting {limit:,} bases: every equilibrium listed is "
            "certified, others may be missing"
        )
        assert part.method_reason.startswith(f"visited {limit:,} of the at most ")
    assert ve.vertex_enumeration(game, max_visited=300).equilibria  # faces pair the first vertices
    with pytest.raises(InvalidOptionError) as bad:
        ve.vertex_enumeration(game, max_visited=0)
    assert bad.value.field == "max_visited"


@pytest.mark.usefixtures("float_search")
@pytest.mark.parametrize(("m", "n", "seed"), [(5, 5, 38), (5, 5, 21), (6, 6, 14), (4, 6, 6), (6, 4, 15)])
@pytest.mark.parametrize("exact", [False, True])
def test_max_visited_counts_the_exact_search_after_the_float_one(
    m: int, n: int, seed: int, exact: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a near-tie game without the lexicographic test the float search meets a decision
    it cannot make and every vertex is decided exactly: the answer is pygambit's rational
    enumeration; ``max_visited`` bounds both searches together, and the warning counts the
    bases of both. When the exact search stops, exact mode answers with the exact vertices
    it reached; float mode keeps the float search's answer (anytime: it holds every
    equilibrium the floats found, each certified), incomplete, saying why."""
    monkeypatch.setattr(ve, "_lexicographic_residues", lambda a, b: (None, None))
    game = games.random_near_tie_game(m, n, 1000, seed)
    whole = ve.vertex_enumeration(game, exact=exact)
    floats, exactly = _visits_in_floats_then_exactly(whole.method_reason)
    assert whole.complete and floats > 0 and exactly > 1
    oracle = _gambit_profiles(game, gbt.nash.enummixed_solve)
    ours = [eq.strategies for eq in whole.equilibria]
    assert len(ours) == len(oracle) and games.unmatched(ours, oracle, atol=1e-7) == []
    limit = floats + exactly // 2
    part = ve.vertex_enumeration(game, exact=exact, max_visited=limit)
    assert not part.complete
    assert _visits_in_floats_then_exactly(part.method_reason) == (floats, limit - floats)
    if exact:
        assert [w for w in part.warnings if w.startswith(("stopped", "near-degenerate"))] == [
            f"stopped by max_visited={limit:,} after visiting {limit:,} bases in exact arithmetic: every "
            "equilibrium listed is certified, others may be missing"
        ]
        _assert_a_certified_part_of(part, whole, game)
        return
    assert [w for w in part.warnings if w.startswith(("stopped", "near-degenerate"))] == [
        "near-degenerate: a vertex decision was within float round-off, and the exact search that settles "
        f"it stopped by max_visited={limit:,} after {limit - floats:,} bases: the float search's equilibria "
        "are listed, each certified by its regret; completeness is not certified"
    ]
    floats_only = ve.vertex_enumeration(game, max_visited=floats)  # no budget left for the exact search
    assert _equilibrium_keys(part) == _equilibrium_keys(floats_only) and not floats_only.complete
    ours = [eq.strategies for eq in part.equilibria]
    # Here the floats reached every equilibrium (the exact search's part would hold fewer),
    # each close to an exact one.
    assert games.unmatched(ours, oracle, atol=1e-7) == [] and games.unmatched(oracle, ours, atol=1e-7) == []
    for eq in part.equilibria:
        assert game.within_tolerance(certify(game, eq.strategies).regrets, 1e-9)


def test_a_doubt_in_a_game_too_large_for_exact_arithmetic_is_reported_not_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past ``MAX_EXACT_ENTRIES`` the float search's doubt is not settled exactly: the set is
    marked incomplete and a warning says why, every equilibrium in it still certified."""
    monkeypatch.setattr(ve, "_lexicographic_residues", lambda a, b: (None, None))
    monkeypatch.setattr(exact_arith, "MAX_EXACT_ENTRIES", 24)  # the 5 x 5 game has 25 entries
    game = games.random_near_tie_game(5, 5, 1000, 18)
    result = ve.vertex_enumeration(game)
    assert not result.complete and result.equilibria
    assert result.method_reason.startswith("visited ") and "exactly" not in result.method_reason
    assert result.warnings[0] == (
        "near-degenerate: a vertex decision was within float round-off of the tolerance, or a basis was "
        "too close to singular to decide; completeness is not certified (use exact=True for rational "
        "payoffs)"
    )
    for eq in result.equilibria:
        assert game.within_tolerance(certify(game, eq.strategies).regrets, 1e-9)


def _visits_in_floats_then_exactly(reason: str) -> tuple[int, int]:
    found = re.match(r"visited ([\d,]+) bases in floats, then ([\d,]+) feasible bases exactly ", reason)
    assert found is not None, reason
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


def test_a_very_degenerate_polytope_is_searched_completely() -> None:
    """A constant game's simplex is so degenerate that half its bases are feasible: the
    search visits each of them once (no more than brute force) and finds the same vertices."""
    mat = np.ones((3, 3))
    budgets = {method: bases.Budget(10**9) for method in ("search", "brute_force")}
    found = {
        method: lv.search_vertices([mat], 1e-9, coordinate_labels_first=[True], budget=budget, method=method)[
            0
        ]
        for method, budget in budgets.items()
    }
    assert _by_labels(found["search"]).keys() == _by_labels(found["brute_force"]).keys()
    assert budgets["brute_force"].visited == math.comb(6, 3) - 1
    assert budgets["search"].visited <= math.comb(6, 3)


def test_the_automatic_rule_searches_whenever_the_key_fits_an_int64() -> None:
    assert (
        bases.use_search(1, 1)
        and bases.use_search(4, 4)
        and bases.use_search(7, 7)
        and bases.use_search(31, 31)
    )
    assert not bases.use_search(40, 23)  # 63 variables do not fit an int64 bitmask key


def _kernel_game(kind: str, m: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([m, n, seed])
    if kind == "normal":
        return rng.standard_normal((m, n))
    if kind == "zero_one":
        return rng.integers(0, 2, (m, n)).astype(float)
    if kind == "zero_one_two":
        return rng.integers(0, 3, (m, n)).astype(float)
    return np.eye(m, n)


KERNEL_SHAPES = [(1, 1), (1, 5), (5, 1), (2, 6), (6, 2), (3, 5), (5, 4), (6, 6), (7, 5)]


@pytest.mark.parametrize("kind", ["normal", "zero_one", "zero_one_two", "identity"])
def test_the_kernel_finds_exactly_the_feasible_bases_brute_force_finds(kind: str) -> None:
    """Not just the vertices: the very same set of feasible bases (support, tight
    constraints), on every shape including 1 x n and n x 1."""
    for m, n in KERNEL_SHAPES:
        for seed in range(3):
            mat = positive_rescale(_kernel_game(kind, m, n, seed), 0.1)
            ours = bases.search_bases(mat, 1e-9, bases.Budget(10**9))
            theirs = list(square_systems.brute_force_bases(mat, 1e-9, bases.Budget(10**9)))
            wanted = {row.tobytes() for block in theirs for row in block.basis}
            assert {row.tobytes() for row in ours.basis} == wanted, (kind, m, n, seed)
            assert len(ours.basis) == len(wanted), "a basis listed twice"
            assert not ours.ambiguous and not any(block.ambiguous for block in theirs)
            by_basis = {row.tobytes(): point for row, point in zip(ours.basis, ours.points, strict=True)}
            for block in theirs:
                for row, point in zip(block.basis, block.points, strict=True):
                    np.testing.assert_allclose(by_basis[row.tobytes()], point, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["zero_one", "zero_one_two", "identity"])
def test_the_lexicographic_kernel_visits_the_lexicographically_feasible_bases(kind: str) -> None:
    """With the residues of the game's integer matrix K, the kernel visits as many bases as
    the exact lexicographic search of K's polytope (every tie decided: none followed but the
    lexicographic one) and finds the same vertices (the float polytope is K's scaled by the
    rescaling's factor S); without them it visits every feasible basis."""
    for m, n in [*KERNEL_SHAPES, (8, 8), (9, 7)]:
        for seed in range(3):
            raw = _kernel_game(kind, m, n, seed)
            mat = positive_rescale(raw, 0.1)
            k = lexicographic.integer_matrix(raw, Fraction(1, 10))
            assert k is not None
            scale = float(k.max()) / mat.max()  # K = S mat
            budget = bases.Budget(10**9)
            ours = bases.search_bases(mat, 1e-9, budget, lexicographic.residues(k))
            exact = exact_search.polytope_vertices([[Fraction(int(v)) for v in row] for row in k])
            assert budget.visited == exact.bases, (kind, m, n, seed)
            assert not ours.ambiguous
            points = {tuple(np.round(point / scale, 9)) for point in ours.points}  # z_K = z / S
            wanted = {tuple(np.round(np.array(point, dtype=float), 9)) for point, _ in exact.vertices}
            assert points == wanted, (kind, m, n, seed)
            everything = bases.Budget(10**9)
            bases.search_bases(mat, 1e-9, everything)
            assert everything.visited >= budget.visited


def _lex_state(x, a, x_mod, a_mod, lex0, lex0_mod=(0, 0)):
    """The lexicographic test's state for rows 0 and 1 (two rows, entering column 1, variable
    5), everything modulo two primes already made (factors, x, the entering column, B^-1's
    rows); the zero test uses the first prime."""
    values = np.array([x, a], dtype=float)
    error = np.full((2, 2), 1e-15)
    lex_values = np.array([lex0, [0.0, 0.0]], dtype=float)  # column 0 of B^-1, then column 1
    primes = lexicographic.PRIMES[:2]
    inverse_mod = np.zeros((2, 2, 2), dtype=np.int64)
    inverse_mod[:, :, 0] = lex0_mod
    mod = (
        primes,
        np.array([1]),  # zero_primes
        np.zeros((2, 6, 2), dtype=np.int64),  # residue columns (not read: everything is made)
        np.array([0, 1]),  # basic
        np.zeros((2, 2, 2), dtype=np.int64),  # LU factors
        np.zeros((2, 2), dtype=np.int64),
        np.zeros((2, 2), dtype=np.int64),
        np.ones(2, dtype=np.int64),
        np.ones(2, dtype=np.int64),  # factored modulo both primes
        np.array([x_mod, x_mod], dtype=np.int64),
        np.array([a_mod, a_mod], dtype=np.int64),
        np.full(2, 5, dtype=np.int64),  # a_mod is the entering variable 5's column
        inverse_mod,
        np.ones((2, 2), dtype=np.bool_),  # rows made
        np.zeros(2, dtype=np.int64),
    )
    return values, error, lex_values, np.full((2, 2), 1e-15), mod


def test_a_component_the_floats_cannot_decide_is_equal_only_modulo_every_prime() -> None:
    """Ratios 1/1 and 1/1 in floats; the next component says row 0 comes first. When the
    residues say the ratios are equal (1*1 - 1*1 = 0), that next component decides; when they
    say they differ (1*1 - 2*1 != 0), the order is unknown and nothing is decided."""
    equal = _lex_state([1.0, 1.0], [1.0, 1.0], [1, 1], [1, 1], [0.0, 1.0])
    assert bases._lex_precedes(0, 1, 1, 5, *equal)
    assert not bases._lex_precedes(1, 0, 1, 5, *equal)
    differ = _lex_state([1.0, 1.0], [1.0, 1.0], [1, 2], [1, 1], [0.0, 1.0])
    assert not bases._lex_precedes(0, 1, 1, 5, *differ)
    assert not bases._lex_precedes(1, 0, 1, 5, *differ)
    # Both numerators 0 modulo the zero test's prime: equal without the entering column.
    zeros = _lex_state([0.0, 0.0], [1.0, 1.0], [0, 0], [1, 2], [0.0, 1.0])
    assert bases._lex_precedes(0, 1, 1, 5, *zeros)
    # One numerator 0 and the other not: the full test, here unequal (0*2 - 3*1 != 0).
    one_zero = _lex_state([0.0, 0.0], [1.0, 1.0], [0, 3], [1, 2], [0.0, 1.0])
    assert not bases._lex_precedes(0, 1, 1, 5, *one_zero)
    # A difference beyond the error bound decides at once, whatever the residues.
    clear = _lex_state([1.0, 2.0], [1.0, 1.0], [1, 1], [1, 1], [1.0, 0.0])
    assert bases._lex_precedes(0, 1, 1, 5, *clear) and not bases._lex_precedes(1, 0, 1, 5, *clear)


def test_pruning_keeps_every_row_that_may_be_the_lexicographic_one() -> None:
    """Row 0 (pivot element surely positive) certainly precedes row 1 and drops it; a row
    whose pivot element is within its error of zero is never dropped (its sign is unknown),
    and one whose pivot element is surely negative always is."""
    values, error, lex_values, lex_error, mod = _lex_state([1.0, 2.0], [1.0, 1.0], [1, 2], [1, 1], [0.0, 0.0])
    keep = np.empty(2, dtype=np.bool_)
    candidates = np.array([0, 1], dtype=np.int64)
    bases._lex_prune(candidates, 2, 1, 5, values, error, lex_values, lex_error, mod, keep)
    assert keep.tolist() == [True, False]
    values[1] = [1.0, 1e-300]  # row 1's pivot element: zero or not, within its error
    bases._lex_prune(candidates, 2, 1, 5, values, error, lex_values, lex_error, mod, keep)
    assert keep.tolist() == [True, True]
    values[1] = [1.0, -1.0]  # surely negative: no lexicographic pivot
    bases._lex_prune(candidates, 2, 1, 5, values, error, lex_values, lex_error, mod, keep)
    assert keep.tolist() == [True, False]


def test_integer_payoffs_below_2_31_have_an_integer_matrix_and_others_none() -> None:
    k = lexicographic.integer_matrix(np.array([[-3.0, 5.0], [2.0**30, 0.0]]), Fraction(1, 10))
    assert k is not None and k.dtype == np.int64 and int(k.min()) > 0
    # K / S = 0.1 + (raw - min) / (max - min) exactly, for the S of the largest entry.
    raw = np.array([[-3.0, 5.0], [2.0**30, 0.0]])
    exact = [[Fraction(1, 10) + (Fraction(int(v)) + 3) / (2**30 + 3) for v in row] for row in raw]
    ratio = {
        Fraction(int(kv)) / e
        for krow, erow in zip(k, exact, strict=True)
        for kv, e in zip(krow, erow, strict=True)
    }
    assert len(ratio) == 1
    for raw in (np.array([[0.5, 1.0]]), np.array([[2.0**31, 0.0]]), np.array([[np.inf, 0.0]])):
        assert lexicographic.integer_matrix(raw, Fraction(1, 10)) is None
    assert lexicographic.integer_matrix(np.full((2, 3), 7.0), Fraction(1, 10)).tolist() == [[1] * 3] * 2


@pytest.mark.parametrize("seed", range(5))
def test_the_residues_describe_the_matrices_the_float_search_pivots_on(seed: int) -> None:
    """``integer_matrix(raw, _SHIFT_EXACT)`` is ``S`` times ``positive_rescale(raw, _SHIFT)``:
    the lexicographic tests decide the signs of the very determinants the float search
    rounds, so the two shifts must be one number."""
    raw = np.random.default_rng(seed).integers(-50, 50, size=(4 + seed, 6)).astype(np.float64)
    k = lexicographic.integer_matrix(raw, ve._SHIFT_EXACT)
    assert k is not None
    scale = k.max() / positive_rescale(raw, ve._SHIFT).max()
    np.testing.assert_allclose(k / scale, positive_rescale(raw, ve._SHIFT), rtol=1e-13)


def test_residues_take_enough_primes_for_the_hadamard_bound_or_refuse() -> None:
    """Primes whose product exceeds 4 H^2, H the product of the c largest column norms."""
    small = lexicographic.residues(np.ones((3, 3), dtype=np.int64))  # H = 3^(3/2)
    assert small is not None and len(small.primes) == 1 and small.zero_primes == 1
    big = lexicographic.residues(np.full((12, 12), 100, dtype=np.int64))  # H = (100 sqrt 12)^12
    assert big is not None
    log_h = 12 * math.log2(100 * math.sqrt(12))
    product = sum(math.log2(int(p)) for p in big.primes)
    assert product > 2 + 2 * log_h > product - math.log2(int(big.primes[-1]))  # enough, and no more
    zero = sum(math.log2(int(p)) for p in big.primes[: big.zero_primes])
    assert zero > 1 + log_h > zero - math.log2(int(big.primes[big.zero_primes - 1]))
    assert lexicographic.residues(np.full((20, 20), 10**6, dtype=np.int64)) is None
    np.testing.assert_array_equal(big.columns[:, :12], 100)
    np.testing.assert_array_equal(
        big.columns[:, 12:], np.eye(12, dtype=np.int64)[None].repeat(len(big.primes), 0)
    )


def test_on_a_nondegenerate_polytope_the_kernel_visits_only_feasible_bases() -> None:
    """Every pivot's new point is predicted within its error bound: on random (nondegenerate)
    polytopes no infeasible neighbour is visited, only the feasible bases and the origin."""
    for m, n in [(3, 3), (5, 4), (4, 7), (6, 6), (8, 7)]:
        for seed in range(4):
            mat = positive_rescale(_kernel_game("normal", m, n, seed), 0.1)
            budget = bases.Budget(10**9)
            found = bases.search_bases(mat, 1e-9, budget)
            assert budget.visited == len(found.basis) + 1, (m, n, seed)


@pytest.mark.parametrize("eps", [1e-9, 1e-7, 1e-5, 1e-3])
def test_a_basic_solution_at_the_feasibility_threshold_is_ambiguous(eps: float) -> None:
    """The basis of both coordinates has the point ``(1, -eps)`` (up to rounding): against a
    tolerance of exactly ``eps`` the decision lies within its error and must be flagged;
    0.1 % either side of it the decision is certain and the point kept or dropped."""
    mat = np.array([[1.0 + eps, 1.0 + 2.0 * eps], [1.0, 2.0]])
    at = bases.search_bases(mat, eps, bases.Budget(100))
    below = bases.search_bases(mat, 0.999 * eps, bases.Budget(100))
    above = bases.search_bases(mat, 1.001 * eps, bases.Budget(100))
    assert at.ambiguous and not below.ambiguous and not above.ambiguous
    assert [p for p in below.points.tolist() if min(p) < 0] == []
    (negative,) = [p for p in above.points.tolist() if min(p) < 0]
    np.testing.assert_allclose(negative, [1.0, -eps], rtol=1e-6)


def test_the_tableau_bound_is_that_of_the_refined_solution() -> None:
    """On an ill-conditioned basis (Hilbert 6 x 6, condition ~1.5e7) ``X u`` with the computed
    inverse has a residual ~cond * eps; one step of refinement brings it to ~eps, and the
    error bound is the refined value's: it holds (against the exact rational solution) and
    stays within twice the rounding term ``|X| safety (|B| |v| + |u|)``."""
    c = 6
    hilbert = [[Fraction(1, i + j + 1) for j in range(c)] for i in range(c)]
    b = np.array(hilbert, dtype=float)
    columns = np.ascontiguousarray(b.T)  # row t: column t of B
    inverse, work = np.empty((c, c)), np.empty((c, c))
    assert bases._invert(columns, inverse, work)
    rhs = np.ones((1, c))
    values, error = np.empty((1, c)), np.empty((1, c))
    safety = (2.0 * (c + 1) + 8.0) * np.finfo(float).eps
    bases._tableau(
        columns, c, np.zeros(c, dtype=np.int64), inverse, rhs, values, error, np.empty((3, c)), safety
    )
    exact = exact_arith.solve_exact([list(map(Fraction, row)) for row in b], [1] * c)  # the doubles, exactly
    assert exact is not None
    actual = np.abs(values[0] - np.array([float(v) for v in exact]))
    assert bool((actual <= error[0]).all())
    rounding = np.abs(inverse.T) @ (safety * (np.abs(b) @ np.abs(values[0]) + 1.0))
    assert bool((error[0] <= 2.0 * rounding).all())


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e4])
def test_solved_bases_judge_singularity_by_the_hadamard_ratio_not_the_determinant(scale: float) -> None:
    """A well-conditioned 6 x 6 system scaled by 1e-4 has determinant ~1e-24 but the same
    Hadamard ratio |det| / prod(row norms): it is regular, and the feasible bases of
    ``scale * mat`` are those of ``mat`` with points divided by ``scale``."""
    mat = np.eye(6) + 0.1 + 0.01 * np.random.default_rng(3).random((6, 6))  # z = mat^-T 1 > 0
    ps = pt = np.arange(6)[None, :]  # every coordinate, every constraint tight
    plain = square_systems.solve_bases(mat, ps, pt, 1e-9)
    scaled = square_systems.solve_bases(scale * mat, ps, pt, 1e-9)
    assert len(plain.singular) == len(scaled.singular) == 0
    assert len(plain.points) == len(scaled.points) == 1
    np.testing.assert_allclose(scaled.points * scale, plain.points, rtol=1e-9)


@pytest.mark.parametrize("eps", [1e-9, 1e-6])
def test_a_face_at_the_feasibility_threshold_is_searched_instead(eps: float) -> None:
    """The face of labels {2, 3} in Q (both coordinates, both constraints tight) is the
    point ``(1, -eps)``: against a tolerance of exactly ``eps`` the solve is ambiguous and
    the face match gives up (Q is searched); 0.1 % either side it decides."""
    mat = np.array([[1.0 + eps, 1.0 + 2.0 * eps], [1.0, 2.0]])
    ps = pt = np.array([[0, 1]])
    assert square_systems.solve_bases(mat, ps, pt, eps).ambiguous
    found = lv.Vertices(np.ones((1, 2)), np.array([[False, False, True, True]]), False)
    assert lv._face_partners(found, mat, eps, 2, other_is_p=False) is None
    below = lv._face_partners(found, mat, 0.999 * eps, 2, other_is_p=False)
    above = lv._face_partners(found, mat, 1.001 * eps, 2, other_is_p=False)
    assert below is not None and len(below[0].points) == 0  # certainly infeasible
    assert above is not None and len(above[0].points) == 1


@pytest.mark.parametrize("eps", [1e-9, 1e-6])
def test_a_face_point_with_a_label_at_the_threshold_is_searched_instead(eps: float) -> None:
    """The face of constraints 0 and 1 is the point (1/2, 1/2), where constraint 2 has
    slack ``eps``: whether that is a label is within its error at tolerance ``eps``."""
    mat = np.array([[1.0, 2.0, 1.0 - eps], [1.0, 0.0, 1.0 - eps]])
    found = lv.Vertices(np.ones((1, 3)), np.array([[False, False, True, True, True]]), False)
    assert lv._face_partners(found, mat, eps, 3, other_is_p=False) is None
    decided = lv._face_partners(found, mat, 1.001 * eps, 3, other_is_p=False)
    assert decided is not None
    partners, faces = decided
    assert faces == 1 and partners.labels.tolist() == [[True, True, True, False, False]]


def test_the_kernel_stops_at_its_budget() -> None:
    mat = positive_rescale(_kernel_game("normal", 7, 7, 0), 0.1)
    budget = bases.Budget(10)
    part = bases.search_bases(mat, 1e-9, budget)
    assert budget.visited == 10 and part.stopped == budget.stopped == "max_visited"
    whole = bases.Budget(10**9)
    everything = bases.search_bases(mat, 1e-9, whole)
    assert not everything.stopped and not whole.stopped
    assert {row.tobytes() for row in part.basis} < {row.tobytes() for row in everything.basis}
    exact = bases.Budget(whole.visited)  # a budget of exactly the bases needed suffices
    assert not bases.search_bases(mat, 1e-9, exact).stopped
    assert exact.visited == whole.visited


@pytest.mark.usefixtures("float_search")
def test_a_spent_time_limit_stops_the_search_after_one_chunk() -> None:
    """A deadline already past when the search starts: the kernel runs one chunk of bases
    (4,096) and stops; no race with the clock (12 x 12: 4,414 vertices in the searched
    polytope)."""
    game = _integer_game(12, 0)
    whole = ve.vertex_enumeration(game)
    part = ve.vertex_enumeration(game, time_limit=1e-9)
    _assert_a_certified_part_of(part, whole, game)
    assert part.warnings[0] == (
        "stopped by time_limit=1e-09 s after visiting 4,096 bases: every equilibrium listed is certified, "
        "others may be missing"
    )
    exact = ve.vertex_enumeration(game, exact=True, time_limit=1e-9)  # the candidates so far, decided exactly
    assert not exact.complete and exact.warnings[0] == part.warnings[0]
    assert exact.equilibria and all(eq.exact_strategies is not None for eq in exact.equilibria)
    assert set(_exact_keys(exact)) <= set(_exact_keys(ve.vertex_enumeration(game, exact=True)))


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_a_time_limit_must_be_a_positive_number_of_seconds(bad: object) -> None:
    with pytest.raises(InvalidOptionError) as info:
        ve.vertex_enumeration(games.matching_pennies(), time_limit=bad)  # type: ignore[arg-type]
    assert info.value.field == "time_limit"


@pytest.mark.parametrize("decided", [True, False])
def test_a_nearly_singular_basis_marks_the_result_incomplete(
    decided: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rows of B parallel up to 1e-13: the basis they span has Hadamard ratio about
    5e-13, too close to singular to decide in floats. The row player's polytope is then
    ambiguous when searched; the float enumeration searches the column player's and
    solves the row player's complementary faces, the doubtful ones in rational arithmetic,
    and finds what exact mode finds. With no exact decision allowed it decides every
    vertex in exact arithmetic instead, to the same answer."""
    b = np.array([[0.0, 0.0], [0.0, 1e-13], [1.0, 0.0]])
    a = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    game = NormalFormGame.from_bimatrix(a, b)
    for method in ("search", "brute_force"):
        found = lv.search_vertices(
            [positive_rescale(b, 0.1)],
            1e-9,
            coordinate_labels_first=[True],
            method=method,
            budget=Budget(ve.MAX_VISITED),
        )
        assert found[0].ambiguous, method
    if not decided:
        monkeypatch.setattr(rational_polytope, "MAX_DECIDED", 0)
    result = ve.vertex_enumeration(game)
    exact = ve.vertex_enumeration(game, exact=True)
    assert result.complete and exact.complete and len(result.equilibria) == len(exact.equilibria) == 4
    assert not any(w.startswith("stopped") for w in result.warnings)
    if decided:
        assert "complementary faces of the row player's solved" in result.method_reason
        assert not any("exact rational arithmetic" in w for w in result.warnings)
    else:
        assert "decided in exact rational arithmetic" in result.warnings[0]
        assert "bases in floats, then" in result.method_reason
        assert "feasible bases exactly" in result.method_reason
    assert (
        games.unmatched([e.strategies for e in result.equilibria], [e.strategies for e in exact.equilibria])
        == []
    )
    # Too small a budget for the exact search: completeness is not claimed.
    starved = ve.vertex_enumeration(game, exact=True, max_visited=3)
    assert not starved.complete
    assert starved.warnings[0].startswith("stopped by max_visited=3 after visiting 3 bases: ")


@pytest.mark.oracle
@pytest.mark.parametrize("values", [2, 3], ids=["zero_one", "zero_one_two"])
def test_no_equilibrium_of_a_degenerate_game_is_missed(values: int) -> None:
    """Against pygambit's rational vertex enumeration on seeded degenerate 4 x 4 to 7 x 6 games."""
    for seed in range(6):
        rng = np.random.default_rng([values, seed])
        m, n = int(rng.integers(4, 8)), int(rng.integers(4, 7))
        a, b = rng.integers(0, values, (m, n)), rng.integers(0, values, (m, n))
        result = ve.vertex_enumeration(NormalFormGame.from_bimatrix(a, b))
        g = gbt.Game.from_arrays(a, b)
        oracle = [
            tuple(np.array([float(eq[p][s]) for s in p.strategies]) for p in g.players)
            for eq in gbt.nash.enummixed_solve(g, rational=True).equilibria
        ]
        ours = [eq.strategies for eq in result.equilibria]
        assert result.complete
        assert games.unmatched(oracle, ours, atol=1e-9) == [], (m, n, seed)
        assert games.unmatched(ours, oracle, atol=1e-9) == [], (m, n, seed)


def test_covering_in_small_blocks_pairs_the_same_vertices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The label-cover check runs in blocks of rows; blocks of one or two rows must pair the
    same vertices as one block (a wrong row offset pairs the wrong ones)."""
    rng = np.random.default_rng(41)
    for m in (5, 6, 7):
        game = NormalFormGame(rng.integers(-3, 4, size=(2, m, m)).astype(float))
        whole = ve.vertex_enumeration(game)
        for entries in (1, 2 * m):
            monkeypatch.setattr(labelled_pairs, "BLOCK_ENTRIES", entries)
            blocked = ve.vertex_enumeration(game)
            monkeypatch.undo()
            assert len(blocked.equilibria) == len(whole.equilibria) >= 1
            assert (
                games.unmatched(
                    [e.strategies for e in blocked.equilibria], [e.strategies for e in whole.equilibria]
                )
                == []
            )


def test_exact_arithmetic_is_refused_past_its_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    monkeypatch.setattr(exact_arith, "MAX_EXACT_ENTRIES", 4)
    assert exact_arith.rational_bimatrix(a, a) is not None  # 4 entries per player: at the limit
    monkeypatch.setattr(exact_arith, "MAX_EXACT_ENTRIES", 3)
    with pytest.raises(InvalidOptionError, match="up to 3 payoff entries") as caught:
        exact_arith.rational_bimatrix(a, a)
    assert caught.value.field == "exact"


def test_the_rational_solver_solves_and_refuses_a_system_that_does_not_fit() -> None:
    half, third = Fraction(1, 2), Fraction(1, 3)
    assert exact_arith.solve_exact([[2, 1], [1, 3]], [1, 1]) == [Fraction(2, 5), Fraction(1, 5)]
    assert exact_arith.solve_exact([[half, half], [1, 1]], [third, 1]) is None  # singular
    with pytest.raises(ValueError, match="zip"):
        exact_arith.solve_exact([[2, 1], [1, 3]], [1])
    with pytest.raises(ValueError, match="zip"):
        exact_arith.solve_exact([[2, 1], [1, 3]], [1, 1, 1])


@pytest.mark.parametrize("block_entries", [1, 7, 1 << 22])
def test_the_covering_pairs_do_not_depend_on_the_block_size(
    block_entries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(block_entries)
    labels_x = rng.random((13, 9)) < 0.6
    labels_y = rng.random((11, 9)) < 0.6
    ix, iy = np.arange(100, 113), np.arange(200, 211)
    want = [
        (int(ix[i]), int(iy[j]))
        for i in range(13)
        for j in range(11)
        if bool((labels_x[i] | labels_y[j]).all())
    ]
    assert want  # the draw has covering pairs
    monkeypatch.setattr(labelled_pairs, "BLOCK_ENTRIES", block_entries)  # 1: one row per block
    weights = 1 << np.arange(9, dtype=np.int64)
    for missing_x, missing_y in (
        ((~labels_x).astype(np.int64) @ weights, (~labels_y).astype(np.int64) @ weights),  # bitmasks
        (np.packbits(~labels_x, axis=1), np.packbits(~labels_y, axis=1)),  # packed bytes
    ):
        assert sorted(labelled_pairs._covering(missing_x, missing_y, ix, iy)) == want
