"""Lemke-Howson's certificates, the compiled 2-player ``certify``, and the hard games.

- Every answer of :func:`lemke_howson` carries the certificate a plain numpy oracle
  computes from the game's own payoffs (not the rescaled tableau payoffs), to 1e-12
  relative, also at payoff scales 1e6 and 1e-6.
- The compiled 2-player :func:`certify` and :func:`certify_many` agree with the generic
  n-player contraction (``numpy.tensordot``) on random profiles of random games,
  non-square, ``1 x n`` and ``m x 1`` included.
- The retry path: on seeded near-degenerate 10 x 3 games whose first path ends off
  equilibrium (checked here from that path's end point by a numpy NashConv), and with
  a first path forced to fail, the other labels are tried in order, each failure is a
  warning, and the answer certifies by the numpy oracle; when no path certifies, the
  best end point comes back with every warning.
- On Morris's and the SGC game, whose Lemke-Howson paths are the long ones of the
  literature, the path of every label ends at a certified equilibrium that pygambit's
  rational vertex enumeration lists, and the documented path lengths are met.
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import InvalidGameError, NormalFormGame
from equilibria.solver.game import positive_rescale, regret_tolerance
from equilibria.solver.normal_form import lemke_howson as lh_module
from equilibria.solver.normal_form.lemke_howson import lemke_howson
from equilibria.solver.regret import Certificate, certify, certify_many
from equilibria.solver.results import Component, Equilibrium, SolutionSet, construct, instantiate, template

# --------------------------------------------------------------------------- oracles


def numpy_certificate(payoffs: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payoffs and regrets of ``(x, y)`` by the n-player contraction, in plain numpy."""
    dev_row = np.tensordot(payoffs[0], y, axes=([1], [0]))
    dev_col = np.tensordot(payoffs[1], x, axes=([0], [0]))
    values = np.array([dev_row @ x, dev_col @ y])
    regrets = np.maximum(np.array([dev_row.max(), dev_col.max()]) - values, 0.0)
    return values, regrets


def assert_certificate(payoffs: np.ndarray, x: np.ndarray, y: np.ndarray, cert: Certificate) -> None:
    values, regrets = numpy_certificate(payoffs, x, y)
    atol = 1e-12 * max(1.0, float(np.abs(payoffs).max()))
    np.testing.assert_allclose(cert.payoffs, values, rtol=1e-12, atol=atol)
    np.testing.assert_allclose(cert.regrets, regrets, rtol=1e-12, atol=atol)
    assert abs(cert.nash_conv - regrets.sum()) <= atol


def random_game(m: int, n: int, seed: int) -> NormalFormGame:
    return NormalFormGame(np.random.default_rng([m, n, seed]).standard_normal((2, m, n)))


SHAPES = [(1, 1), (1, 5), (5, 1), (2, 2), (3, 7), (8, 8), (13, 4), (40, 40)]


# --------------------------------------------------------------------------- certify


@pytest.mark.parametrize(("m", "n"), SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_fast_certify_matches_the_tensordot_oracle(m: int, n: int) -> None:
    game = random_game(m, n, 0)
    rng = np.random.default_rng([m, n, 1])
    for _ in range(20):
        x, y = rng.dirichlet(np.ones(m)), rng.dirichlet(np.ones(n))
        assert_certificate(game.payoffs, x, y, certify(game, (x, y)))
    pure = (np.eye(m)[m - 1], np.eye(n)[0])
    assert_certificate(game.payoffs, *pure, certify(game, pure))


@pytest.mark.parametrize(("m", "n"), [(1, 2001), (2001, 1)], ids=["one-row", "one-column"])
def test_fast_certify_of_one_row_or_column_equals_numpys_products_bit_for_bit(m: int, n: int) -> None:
    """With one row (column), numpy's ``A @ y`` (``x @ B``) is a dot product; so is the kernel's.

    A matrix-vector BLAS call sums in another order: on a long row of mixed magnitudes its
    bits differ, and the compiled certificate would no longer be the generic one's.
    """
    rng = np.random.default_rng([m, n, 7])
    payoffs = rng.standard_normal((2, m, n)) * 10.0 ** rng.integers(-8, 9, size=(2, m, n))
    game = NormalFormGame(payoffs)
    for _ in range(5):
        x, y = rng.dirichlet(np.ones(m)), rng.dirichlet(np.ones(n))
        dev_row, dev_col = payoffs[0] @ y, x @ payoffs[1]
        got = certify(game, (x, y))
        assert got.payoffs.tolist() == [dev_row @ x, dev_col @ y]
        assert got.regrets.tolist() == [
            max(dev_row.max() - dev_row @ x, 0.0),
            max(dev_col.max() - dev_col @ y, 0.0),
        ]


def test_fast_certify_takes_lists_read_only_and_strided_vectors() -> None:
    game = random_game(4, 3, 2)
    x, y = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.25, 0.25])
    want = certify(game, (x, y))
    frozen_x = x.copy()
    frozen_x.setflags(write=False)
    strided_y = np.repeat(y, 2)[::2]
    for profile in [(x.tolist(), y.tolist()), (frozen_x, y), (x, strided_y)]:
        got = certify(game, profile)
        np.testing.assert_array_equal(got.payoffs, want.payoffs)
        np.testing.assert_array_equal(got.regrets, want.regrets)
        assert got.nash_conv == want.nash_conv


def test_a_kernel_ready_vector_is_passed_as_it_is_and_others_are_copied() -> None:
    from equilibria.solver.regret import _kernel_vector

    ready = np.array([0.5, 0.5])
    assert _kernel_vector(ready) is ready  # the hot path copies nothing
    frozen = ready.copy()
    frozen.setflags(write=False)
    for other in (frozen, np.repeat(ready, 2)[::2], [0.5, 0.5], np.array([1, 0])):
        vector = _kernel_vector(other)
        assert vector is not other and vector.flags.c_contiguous and vector.flags.writeable
        assert vector.dtype == np.float64 and vector.tolist() == np.asarray(other, dtype=float).tolist()


def test_the_ratio_test_takes_only_entries_above_eps() -> None:
    eps = lh_module._PIVOT_EPS
    # Row 0's entry is exactly eps (ratio 0, the smallest): no pivot; row 1's is a pivot.
    tab = np.array([[eps, 0.0], [1.0, 1.0]])
    args = (np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64), 0, 0, eps)
    row = lh_module._lex_min_ratio_row(tab, 0, *args, np.empty(2, dtype=np.int64), np.empty(2))
    assert row == 1
    tab[0, 0] = np.nextafter(eps, 1.0)  # just above eps: a pivot, and the minimum ratio
    assert lh_module._lex_min_ratio_row(tab, 0, *args, np.empty(2, dtype=np.int64), np.empty(2)) == 0


def test_fast_certify_still_rejects_a_profile_that_does_not_fit() -> None:
    game = random_game(3, 2, 3)
    for profile in [
        (np.ones(2) / 2, np.ones(2) / 2),
        (np.ones(3) / 3,),
        (np.ones((3, 1)) / 3, np.ones(2) / 2),
    ]:
        with pytest.raises(InvalidGameError, match=r"certify\(\): profile shapes") as caught:
            certify(game, profile)
        assert caught.value.field == "strategies"


@pytest.mark.parametrize(("m", "n"), [(1, 6), (6, 1), (5, 9)], ids=["1x6", "6x1", "5x9"])
def test_certify_many_equals_certify_profile_by_profile(m: int, n: int) -> None:
    game = random_game(m, n, 4)
    rng = np.random.default_rng([m, n, 5])
    xs, ys = rng.dirichlet(np.ones(m), size=7), rng.dirichlet(np.ones(n), size=7)
    many = certify_many(game, xs, ys)
    assert len(many) == 7
    for x, y, cert in zip(xs, ys, many, strict=True):
        one = certify(game, (x, y))
        np.testing.assert_array_equal(cert.payoffs, one.payoffs)
        np.testing.assert_array_equal(cert.regrets, one.regrets)
        assert cert.nash_conv == one.nash_conv
        assert_certificate(game.payoffs, x, y, cert)


def test_certify_many_rejects_what_does_not_fit() -> None:
    game = random_game(3, 2, 6)
    three_players = NormalFormGame(np.zeros((3, 2, 2, 2)))
    for g, xs, ys in [
        (game, np.ones((4, 3)) / 3, np.ones((3, 2)) / 2),
        (game, np.ones((4, 2)) / 2, np.ones((4, 2)) / 2),
        (game, np.ones((1, 4, 3)) / 3, np.ones((1, 4, 2)) / 2),
        (three_players, np.ones((1, 2)) / 2, np.ones((1, 2)) / 2),
    ]:
        with pytest.raises(InvalidGameError, match=r"certify_many\(\)") as caught:
            certify_many(g, xs, ys)
        assert caught.value.field == "strategies"


# --------------------------------------------------------------------------- Lemke-Howson certificates


@pytest.mark.parametrize(("m", "n"), SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_lemke_howson_certificate_is_the_numpy_oracles(m: int, n: int) -> None:
    game = random_game(m, n, 7)
    for label in sorted({0, m + n - 1, (m + n) // 2}):
        result = lemke_howson(game, init_label=label)
        (eq,) = result.equilibria
        x, y = eq.strategies
        assert np.all(x >= 0) and np.all(y >= 0)
        assert x.sum() == pytest.approx(1.0, abs=1e-12) and y.sum() == pytest.approx(1.0, abs=1e-12)
        assert_certificate(game.payoffs, x, y, Certificate(eq.payoffs, eq.regrets, eq.nash_conv))
        assert eq.nash_conv <= 1e-9 * game.payoff_scale
        assert result.components[0].equilibrium_indices == (0,)
        np.testing.assert_array_equal(result.components[0].vertices[0], x[None, :])


@pytest.mark.parametrize("scale", [1e6, 1e-6])
def test_lemke_howson_certifies_in_the_users_units_at_any_scale(scale: float) -> None:
    base = random_game(9, 7, 8)
    scaled = NormalFormGame(base.payoffs * scale + np.array([3.0, -5.0])[:, None, None] * scale)
    want = lemke_howson(base).equilibria[0]
    got = lemke_howson(scaled).equilibria[0]
    for s, t in zip(got.strategies, want.strategies, strict=True):
        np.testing.assert_allclose(s, t, atol=1e-9)
    x, y = got.strategies
    assert_certificate(scaled.payoffs, x, y, Certificate(got.payoffs, got.regrets, got.nash_conv))
    # The user's units: the expected payoffs scale with the game, offsets included.
    np.testing.assert_allclose(got.payoffs, (want.payoffs + [3.0, -5.0]) * scale, rtol=1e-9)
    assert got.nash_conv <= 1e-12 * max(1.0, scale)


# --------------------------------------------------------------------------- hard games


def morris_game(d: int) -> NormalFormGame:
    """Morris's imitation game ``(I, B)`` on the labelled dual cyclic polytope (d even).

    The same construction as ``bench/games.py::morris``: the polar of the cyclic polytope
    on 2d points of the trigonometric moment curve, the vertex on facets ``0..d-1`` moved
    to the origin, facet ``d + k`` the best-response facet of column ``labels[d + k]``
    (Morris's labelling). Its Lemke paths are exponentially long in ``d``.
    """
    second = [d - 1]
    for a in range(d - 3, 0, -2):
        second += [a, a + 1]
    second.append(0)
    theta = np.pi * np.arange(2 * d) / d
    harmonics = np.arange(1, d // 2 + 1)
    points = np.empty((2 * d, d))
    points[:, 0::2] = np.cos(np.outer(theta, harmonics))
    points[:, 1::2] = np.sin(np.outer(theta, harmonics))
    w = points[d:] @ np.linalg.inv(points[:d])
    rhs = 1.0 - w.sum(axis=1)
    b = np.empty((d, d))
    b[:, second] = (-w / rhs[:, None]).T
    return NormalFormGame.from_bimatrix(np.eye(d), b)


def sgc_game(k: int) -> NormalFormGame:
    """Sandholm, Gilpin and Conitzer's game (``4k - 1`` actions each, one equilibrium).

    Both players: a cyclic ``(2k - 1)``-block (0.75 on the diagonal, 1 below it, 0.5
    above it, cyclically), 0.5 against the other actions; the other ``2k`` actions pay 0
    except 0.75 on ``k`` matched pairs, which the two players match differently.
    """
    n, m = 4 * k - 1, 2 * k - 1
    own = np.zeros((n, n))
    own[:m, :m] = 0.75
    own[:m, m:] = 0.5
    for i in range(m):
        own[i, (i - 1) % m] = 1.0
        own[i, (i + 1) % m] = 0.5
    row, col = own.copy(), own.copy()
    for h in range(k):
        i = m + 2 * h
        row[i, i] = row[i + 1, i + 1] = 0.75
        col[i, i + 1] = col[i + 1, i] = 0.75
    return NormalFormGame.from_bimatrix(row, col.T)


HARD_GAMES = {"morris 4": (morris_game, 4), "morris 6": (morris_game, 6), "sgc 7": (sgc_game, 2)}


@functools.cache
def gambit_equilibria(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every extreme equilibrium by pygambit's rational vertex enumeration."""
    factory, size = HARD_GAMES[name]
    game = factory(size)
    g = gbt.Game.from_arrays(game.payoffs[0].tolist(), game.payoffs[1].tolist())
    players = list(g.players)
    found = []
    for eq in gbt.nash.enummixed_solve(g, rational=True).equilibria:
        found.append(tuple(np.array([float(Fraction(str(eq[s]))) for s in p.strategies]) for p in players))
    return found


@pytest.mark.oracle
@pytest.mark.parametrize("name", list(HARD_GAMES))
def test_every_label_ends_at_an_equilibrium_gambit_lists(name: str) -> None:
    factory, size = HARD_GAMES[name]
    game = factory(size)
    wanted = gambit_equilibria(name)
    assert wanted
    m, n = game.num_actions
    for label in range(m + n):
        result = lemke_howson(game, init_label=label)
        assert result.method_reason.startswith(f"dropped label {label},"), (label, result.warnings)
        assert result.warnings == ()
        (eq,) = result.equilibria
        assert eq.nash_conv <= 1e-9 * game.payoff_scale
        assert any(
            all(np.max(np.abs(s - t)) <= 1e-9 for s, t in zip(eq.strategies, w, strict=True)) for w in wanted
        ), (label, eq.strategies)


def pivots_of(result: SolutionSet) -> tuple[int, int]:
    """(label, pivots) from ``method_reason`` ``"dropped label L, P pivots"``."""
    label, pivots = result.method_reason.removeprefix("dropped label ").removesuffix(" pivots").split(", ")
    return int(label), int(pivots)


def test_a_path_past_max_pivots_hands_over_to_the_next_label() -> None:
    game = morris_game(8)
    lengths = [pivots_of(lemke_howson(game, init_label=k))[1] for k in range(16)]
    assert lengths[0] == 80
    shortest = min(lengths)
    assert shortest < 80  # so label 0 is cut short and a later label answers
    result = lemke_howson(game, max_pivots=shortest)
    label, pivots = pivots_of(result)
    assert (label, pivots) == (lengths.index(shortest), shortest)
    # Every label tried before it (all longer: it is the first shortest) ran out, and said so.
    assert result.warnings == tuple(
        f"label {k}: no end point within {shortest:,} pivots" for k in range(label) if lengths[k] > shortest
    )
    (eq,) = result.equilibria
    assert eq.nash_conv <= 1e-9
    assert_certificate(game.payoffs, *eq.strategies, Certificate(eq.payoffs, eq.regrets, eq.nash_conv))


def test_no_path_within_max_pivots_is_an_empty_answer_that_says_why() -> None:
    game = random_game(3, 4, 1)  # a path drops and picks up its label: never in 1 pivot
    result = lemke_howson(game, max_pivots=1)
    assert result.equilibria == () and result.components == ()
    assert result.method_reason == "no path ended"
    assert result.warnings == tuple(f"label {k}: no end point within 1 pivots" for k in range(7))
    assert result.complete is False and result.method == "lemke_howson"


def test_an_answer_has_exactly_the_fields_the_constructors_take() -> None:
    game = random_game(5, 6, 2)
    result = lemke_howson(game, tol=1e-10)
    assert result.game_id == game.id  # hashed on first access (lazy_game_id)
    rebuilt = SolutionSet(**vars(result))  # fails on a missing or unknown field
    assert vars(rebuilt) == vars(result)
    assert result.concepts == ("nash",) and result.exact is False and result.tolerance == 1e-10
    (eq,) = result.equilibria
    assert vars(Equilibrium(**vars(eq))).keys() == vars(eq).keys()
    assert eq.components == (0,) and eq.found_by == () and eq.exact_strategies is None
    (component,) = result.components
    assert vars(Component(**vars(component))).keys() == {"equilibrium_indices", "vertices"}


def test_the_game_id_is_hashed_on_first_use_and_travels_in_a_pickle() -> None:
    game = random_game(6, 5, 3)
    result = lemke_howson(game)
    assert "game_id" not in vars(result)  # a fresh game solved once is never hashed for nothing
    copy = pickle.loads(pickle.dumps(result))
    assert "_game" not in vars(copy) and vars(copy)["game_id"] == game.id  # no payoffs in the pickle
    assert result.game_id == game.id and "_game" not in vars(result)
    assert dataclasses.replace(result, method_reason="x").game_id == game.id
    with pytest.raises(AttributeError, match="no attribute 'gameid'"):
        result.gameid  # noqa: B018


@pytest.mark.parametrize("scale", [1e-300, 1e-9, 1.0, 1e9, 1e300])
def test_the_kernel_reads_each_players_extremes_for_its_tolerance(scale: float) -> None:
    rng = np.random.default_rng(int(np.log10(scale)) + 400)
    payoffs = rng.standard_normal((2, 4, 6)) * np.array([scale, 1.0 / scale])[:, None, None]
    game = NormalFormGame(payoffs)
    out = np.empty(4 + 6 + lh_module._EXTRA)
    lh_module._solve_label(game.payoffs, 0, 1000, lh_module._PIVOT_EPS, out)
    a, b = game.payoffs
    assert out[-4:].tolist() == [a.max(), a.min(), b.max(), b.min()]
    want = game.regret_tolerances(1e-9).tolist()
    assert [regret_tolerance(1e-9, *out[-4:-2]), regret_tolerance(1e-9, *out[-2:])] == want


@pytest.mark.parametrize(("d", "pivots"), [(8, 80), (12, 476)])
def test_morris_paths_have_their_documented_lengths(d: int, pivots: int) -> None:
    result = lemke_howson(morris_game(d))
    assert result.method_reason == f"dropped label 0, {pivots} pivots"
    assert result.equilibria[0].nash_conv <= 1e-9


# --------------------------------------------------------------------------- the retry path


def oracle_nash_conv(payoffs: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """NashConv of ``(x, y)``: each player's best pure deviation minus its payoff, summed (numpy)."""
    a, b = payoffs
    return float(((a @ y).max() - x @ a @ y) + ((x @ b).max() - x @ b @ y))


def near_degenerate_game(seed: int) -> NormalFormGame:
    """A 10 x 3 game of integers in [-2, 2] plus 1e-12 noise: ties broken by round-off."""
    rng = np.random.default_rng(seed)
    return NormalFormGame(rng.integers(-2, 3, (2, 10, 3)) + 1e-12 * rng.standard_normal((2, 10, 3)))


def path_end(game: NormalFormGame, label: int) -> tuple[np.ndarray, np.ndarray]:
    """The end point of the one path from ``label`` (the compiled kernel, no retry, no check)."""
    m, n = game.num_actions
    out = np.empty(m + n + 5)
    assert lh_module._solve_label(game.payoffs, label, 1_000_000, lh_module._PIVOT_EPS, out) > 0
    return out[:m].copy(), out[m : m + n].copy()


def assert_retried_to_a_certified_answer(
    game: NormalFormGame, result: SolutionSet, failed: list[int], answered: int
) -> None:
    """The labels ``failed`` (in order) ended off equilibrium, said so, and ``answered`` certified."""
    tol = 1e-9 * game.payoff_scale
    warnings = []
    for label in failed:  # the premise, independently: each of these paths ends off equilibrium
        nash_conv = oracle_nash_conv(game.payoffs, *path_end(game, label))
        assert nash_conv > 1e3 * tol, (label, nash_conv)
        warnings.append(
            f"label {label}: end point has NashConv {nash_conv:.3g} (round-off); trying next label"
        )
    assert result.warnings == tuple(warnings)
    assert result.method_reason.startswith(f"dropped label {answered},")
    (eq,) = result.equilibria
    x, y = eq.strategies
    assert np.all(x >= 0) and np.all(y >= 0)
    assert x.sum() == pytest.approx(1.0, abs=1e-12) and y.sum() == pytest.approx(1.0, abs=1e-12)
    assert oracle_nash_conv(game.payoffs, x, y) <= tol
    assert_certificate(game.payoffs, x, y, Certificate(eq.payoffs, eq.regrets, eq.nash_conv))


#: Seeds of :func:`near_degenerate_game` whose path from label 0 ends off equilibrium
#: (found by a search over seeds 0..1400), and the label that answers instead.
RETRIED = {40: 1, 96: 1, 281: 1, 352: 1, 374: 1, 1169: 1, 58: 5}


@pytest.mark.parametrize("seed", list(RETRIED), ids=[f"seed {s}" for s in RETRIED])
def test_a_first_path_that_does_not_certify_is_retried_from_the_next_labels(seed: int) -> None:
    game = near_degenerate_game(seed)
    answered = RETRIED[seed]
    assert_retried_to_a_certified_answer(game, lemke_howson(game), list(range(answered)), answered)


@pytest.mark.parametrize(("init_label", "failed"), [(3, [3, 0, 1, 2, 4]), (12, [12, 0, 1, 2, 3, 4])])
def test_the_retry_tries_the_other_labels_in_increasing_order(init_label: int, failed: list[int]) -> None:
    game = near_degenerate_game(58)  # labels 0..4 end off equilibrium, label 5 certifies
    assert_retried_to_a_certified_answer(game, lemke_howson(game, init_label=init_label), failed, 5)


def _forced_end_points(
    monkeypatch: pytest.MonkeyPatch, replace: dict[int, tuple[np.ndarray, np.ndarray]]
) -> list[int]:
    """Make the path from each label in ``replace`` end at the given (non-equilibrium) profile.

    The kernel still runs; its end point and certificate are overwritten (the certificate
    by the numpy oracle). Returns the labels the kernel was called with, in order.
    """
    real = lh_module._solve_label
    calls: list[int] = []

    def kernel(payoffs: np.ndarray, label: int, max_pivots: int, eps: float, out: np.ndarray) -> int:
        calls.append(label)
        pivots = real(payoffs, label, max_pivots, eps, out)
        if label in replace:
            x, y = replace[label]
            m, n = len(x), len(y)
            values, regrets = numpy_certificate(payoffs, x, y)
            out[: m + n] = np.concatenate([x, y])
            out[m + n : m + n + 5] = [*values, *regrets, regrets.sum()]
            return 7
        return pivots

    monkeypatch.setattr(lh_module, "_solve_label", kernel)
    return calls


def test_a_forced_failure_of_the_first_path_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    game = random_game(4, 5, 9)
    uniform = (np.full(4, 0.25), np.full(5, 0.2))
    nash_conv = oracle_nash_conv(game.payoffs, *uniform)
    assert nash_conv > 0.1  # the uniform profile is not an equilibrium of this game
    calls = _forced_end_points(monkeypatch, {2: uniform})
    result = lemke_howson(game, init_label=2)
    assert calls == [2, 0]
    assert result.warnings == (
        f"label 2: end point has NashConv {nash_conv:.3g} (round-off); trying next label",
    )
    assert result.method_reason.startswith("dropped label 0,")
    (eq,) = result.equilibria
    assert oracle_nash_conv(game.payoffs, *eq.strategies) <= 1e-9 * game.payoff_scale


@pytest.mark.parametrize(
    ("player", "scale", "offset"),
    [(0, 1.0, 1e3), (0, 1.0, -1e3), (1, 1.0, 1e3), (1, 1.0, -1e3), (0, 1e-9, 0.0), (1, 1e-9, 0.0)],
)
def test_a_first_path_is_accepted_in_each_players_own_units(
    player: int, scale: float, offset: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A player's payoffs moved far from 0 (``offset``) or onto a tiny ``scale``: a first path
    ending where that player's regret is small in absolute terms (or against its payoffs'
    magnitude) but over 10 times its tolerance (relative to its range) is not accepted: it
    is retried, and the next label certifies."""
    payoffs = random_game(4, 5, 12).payoffs.copy()
    payoffs[player] = payoffs[player] * scale + offset
    game = NormalFormGame(payoffs)
    (eq,) = lemke_howson(game).equilibria
    # Move the other player off its equilibrium strategy within its support: its own regret
    # stays at round-off (its support's actions pay alike), this player's grows.
    moved = list(eq.strategies)
    other = moved[1 - player]
    support = other > 0
    assert support.sum() >= 2
    moved[1 - player] = (1 - 1e-6) * other + 1e-6 * support / support.sum()
    _, regrets = numpy_certificate(game.payoffs, *moved)
    accept = game.regret_tolerances(1e-9)
    assert 10 * accept[player] < regrets[player] < 1e-6 * max(scale, abs(offset))
    assert regrets[1 - player] <= accept[1 - player]
    calls = _forced_end_points(monkeypatch, {0: (moved[0], moved[1])})
    result = lemke_howson(game)
    assert calls[:2] == [0, 1]
    assert result.warnings[0].startswith("label 0: end point has NashConv")
    assert not result.method_reason.startswith("dropped label 0,")
    (answer,) = result.equilibria
    assert np.all(answer.regrets <= accept)


def test_a_path_off_the_polytope_and_one_past_the_pivot_limit_are_told_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel's 0 (an unbounded ray or a zero end point) and -1 (past ``max_pivots``)
    get their own warnings; the next label that certifies answers."""
    game = random_game(3, 4, 13)
    real = lh_module._solve_label
    forced = {0: 0, 1: -1}

    def kernel(payoffs: np.ndarray, label: int, max_pivots: int, eps: float, out: np.ndarray) -> int:
        pivots = real(payoffs, label, max_pivots, eps, out)
        return forced.get(label, pivots)

    monkeypatch.setattr(lh_module, "_solve_label", kernel)
    result = lemke_howson(game, max_pivots=50)
    assert result.warnings == (
        "label 0: the path left the polytope (an unbounded ray or a zero end point: round-off)",
        "label 1: no end point within 50 pivots",
    )
    assert result.method_reason.startswith("dropped label 2,")
    (eq,) = result.equilibria
    assert oracle_nash_conv(game.payoffs, *eq.strategies) <= 1e-9 * game.payoff_scale


def test_when_no_path_certifies_the_best_end_point_is_returned_with_every_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    game = random_game(2, 3, 10)
    rng = np.random.default_rng(11)
    profiles = {label: (rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(3))) for label in range(5)}
    gaps = {label: oracle_nash_conv(game.payoffs, *p) for label, p in profiles.items()}
    assert min(gaps.values()) > 1e-3
    best = min(gaps, key=gaps.__getitem__)
    calls = _forced_end_points(monkeypatch, profiles)
    result = lemke_howson(game)
    assert calls == [0, 1, 2, 3, 4]
    assert result.warnings == tuple(
        f"label {k}: end point has NashConv {gaps[k]:.3g} (round-off); trying next label" for k in range(5)
    )
    assert result.method_reason == f"dropped label {best}, 7 pivots"
    (eq,) = result.equilibria
    for s, t in zip(eq.strategies, profiles[best], strict=True):
        np.testing.assert_array_equal(s, t)
    assert eq.nash_conv == pytest.approx(gaps[best], rel=1e-12)


def _exact_lexicographic_path(
    a: np.ndarray, b: np.ndarray, label: int
) -> tuple[int, list[Fraction], list[Fraction], int]:
    """Lemke-Howson with the lexicographic rule, in exact arithmetic: an independent oracle.

    Full tableaux over every variable, indexed by label (``x_i`` and the slacks ``r_i`` are
    labels ``0..m-1``, ``y_j`` and ``s_j`` labels ``m..m+n-1``); P is ``B'^T x + s = 1``
    and Q is ``r + A' y = 1`` with ``A'``, ``B'`` the payoffs rescaled as the kernel does.
    The leaving row minimises ``(rhs, B^{-1} row) / entry`` lexicographically, the
    ``B^{-1}`` columns being the slacks' (labels ``m..`` in P, ``0..m-1`` in Q): no tie
    survives, so the path is unique. Returns pivots (0 on a ray), the end point and how
    many ratio-test ties the rule broke.
    """
    m, n = a.shape
    b_pos = [[Fraction(v) for v in row] for row in positive_rescale(b, 1.0)]
    a_pos = [[Fraction(v) for v in row] for row in positive_rescale(a, 1.0)]
    one, zero = Fraction(1), Fraction(0)
    tab_p = [[b_pos[i][j] for i in range(m)] + [one * (k == j) for k in range(n)] + [one] for j in range(n)]
    tab_q = [[one * (k == i) for k in range(m)] + a_pos[i] + [one] for i in range(m)]
    basis_p, basis_q = list(range(m, m + n)), list(range(m))
    slacks_p, slacks_q = list(range(m, m + n)), list(range(m))
    entering, on_p, ties = label, label < m, 0
    for pivots in range(1, 10_000):
        tab, basis, slacks = (tab_p, basis_p, slacks_p) if on_p else (tab_q, basis_q, slacks_q)
        rows = [r for r in range(len(tab)) if tab[r][entering] > 0]
        if not rows:
            return 0, [], [], ties
        row = min(rows, key=lambda r: [tab[r][k] / tab[r][entering] for k in [-1, *slacks]])
        ties += sum(tab[r][-1] / tab[r][entering] == tab[row][-1] / tab[row][entering] for r in rows) > 1
        pivot = tab[row][entering]
        tab[row] = [v / pivot for v in tab[row]]
        for r in range(len(tab)):
            if r != row and tab[r][entering] != 0:
                factor = tab[r][entering]
                tab[r] = [v - factor * w for v, w in zip(tab[r], tab[row], strict=True)]
        leaving, basis[row] = basis[row], entering
        if leaving == label:
            x = [zero] * m
            y = [zero] * n
            for r, k in enumerate(basis_p):
                if k < m:
                    x[k] = tab_p[r][-1]
            for r, k in enumerate(basis_q):
                if k >= m:
                    y[k - m] = tab_q[r][-1]
            return pivots, [v / sum(x) for v in x], [v / sum(y) for v in y], ties
        entering, on_p = leaving, not on_p
    raise AssertionError("the exact path did not end")


@pytest.mark.parametrize(("m", "n"), [(3, 3), (4, 3), (3, 5), (5, 5)], ids=["3x3", "4x3", "3x5", "5x5"])
def test_every_path_on_degenerate_games_is_the_exact_lexicographic_path(m: int, n: int) -> None:
    """On {-7, -6, -5}-valued games (ties in the ratio test everywhere, payoffs below zero)
    the kernel follows, label by label, the path of the exact lexicographic rule: the
    same number of pivots to the same end point."""
    out = np.empty(m + n + 5)
    ties = 0
    for seed in range(12):
        rng = np.random.default_rng([m, n, seed])
        payoffs = rng.integers(-7, -4, (2, m, n)).astype(float)
        for label in range(m + n):
            pivots, x, y, broken = _exact_lexicographic_path(payoffs[0], payoffs[1], label)
            ties += broken
            assert lh_module._solve_label(payoffs, label, 10_000, lh_module._PIVOT_EPS, out) == pivots
            if pivots > 0:
                np.testing.assert_allclose(out[:m], [float(v) for v in x], rtol=0, atol=1e-12)
                np.testing.assert_allclose(out[m : m + n], [float(v) for v in y], rtol=0, atol=1e-12)
    assert ties > 0  # the lexicographic rule decided somewhere


# --------------------------------------------------------------------------- construct


def test_construct_builds_what_the_constructor_builds() -> None:
    x = np.array([0.5, 0.5])
    eq = Equilibrium((x, x), x, x, 0.0, components=(0,))
    fields = {
        "game_id": "g",
        "equilibria": (eq,),
        "components": (Component((0,), (x[None, :], x[None, :])),),
        "complete": False,
        "method": "lemke_howson",
        "tolerance": 1e-9,
    }
    built, direct = construct(SolutionSet, **fields), SolutionSet(**fields)
    assert type(built) is SolutionSet
    assert vars(built) == vars(direct)
    with pytest.raises(AttributeError):
        built.method = "other"  # type: ignore[misc]


def test_construct_rejects_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match="unknown fields \\['colour'\\]"):
        construct(Component, equilibrium_indices=(0,), vertices=(), colour="red")
    with pytest.raises(TypeError, match="missing fields \\['vertices'\\]"):
        construct(Component, equilibrium_indices=(0,))


def test_instantiate_from_a_template_builds_what_the_constructor_builds() -> None:
    x = np.array([0.5, 0.5])
    base = template(SolutionSet, game_id="", equilibria=(), components=(), complete=False, method="m")
    built = instantiate(SolutionSet, {**base, "game_id": "g", "tolerance": 1e-9})
    direct = SolutionSet("g", (), (), False, "m", tolerance=1e-9)
    assert type(built) is SolutionSet and vars(built) == vars(direct)
    with pytest.raises(AttributeError):
        built.method = "other"  # type: ignore[misc]
    component = instantiate(Component, {"equilibrium_indices": (0,), "vertices": (x[None, :],)})
    assert component.is_singleton


def test_template_and_instantiate_reject_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match="missing fields \\['vertices'\\]"):
        template(Component, equilibrium_indices=(0,))
    base = template(Component, equilibrium_indices=(0,), vertices=())
    with pytest.raises(TypeError, match="3 fields given, 2 expected \\(unknown: \\['colour'\\]\\)"):
        instantiate(Component, {**base, "colour": "red"})
    with pytest.raises(TypeError, match="1 fields given, 2 expected"):
        instantiate(Component, {"vertices": ()})


@pytest.mark.parametrize("size", [0, 1, 7, 8, 127, 128, 129, 136, 255, 256, 257, 1000, 1031, 4096, 9001])
def test_the_kernels_sum_is_numpys_pairwise_sum_bit_for_bit(size: int) -> None:
    """The normalisation of a long strategy (over 128 actions: numpy's pairwise blocks,
    halves a multiple of 8 long) adds in numpy's order, so its total has numpy's bits."""
    rng = np.random.default_rng(size)
    for values in (rng.random(size), rng.standard_normal(size) * 10.0 ** rng.integers(-8, 9, size)):
        assert lh_module._numpy_sum(values) == values.sum()
        assert lh_module._numpy_sum(values[::-1].copy()) == values[::-1].sum()
