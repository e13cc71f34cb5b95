"""The tracing procedure (``solver/concepts/tracing.py``) and the logit QRE limit (``solver/concepts/logit.py``).

Independent references, never the code against itself:

* **Tracing, exact.** :func:`exact_pure_tracing` below follows the *linear* tracing path
  in exact rational arithmetic whenever that path only visits pure profiles joined by
  "vertical" segments (one player switching best reply at a fixed ``t`` while every
  other player keeps a strict best reply): event times are solved exactly and every
  assumption is checked, and it returns None when the path would mix (then the game is
  not used). The numerical homotopy (logarithmic tracing, smooth, in floats) must end
  where the exact path ends, on seeded random games with 2 and 3 players.
* **Tracing, by hand.** A 3 x 3 game with three strict equilibria whose path is worked
  out on paper (:func:`hand_game`).
* **Tracing in 2 x 2 games** (Hypothesis): with two strict equilibria, the tracing
  procedure from Harsanyi and Selten's *bicentric* prior selects the risk-dominant
  equilibrium (the product rule, written out in the test); so does the *uniform* prior
  (the player whose best reply to the uniform prior is not the risk-dominant
  equilibrium switches first exactly when the Nash product favours it; see
  ``linear_tracing``'s Notes).
* **Logit, pygambit.** ``pygambit.nash.logit_solve`` on 24 seeded generic games (2 x 2,
  3 x 3, 2 x 2 x 2) must end within 1e-6 of our limit, and ``pygambit.qre.logit_solve_lambda``
  must agree with points of our branch; every point of our branch must satisfy the
  logit fixed-point equations (softmax written out in the test).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame, certify
from equilibria.solver.concepts.logit import logit_limit_point, logit_path
from equilibria.solver.concepts.tracing import linear_tracing, polish_on_support, trace
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.extra.numpy import arrays

if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
    _storage = tempfile.mkdtemp(prefix="equilibria-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    set_hypothesis_home_dir(_storage)

F = Fraction


def bimatrix(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> NormalFormGame:
    return NormalFormGame.from_bimatrix(a, b)


def stag_hunt() -> NormalFormGame:
    return bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])


def battle_of_the_sexes() -> NormalFormGame:
    return bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])


def prisoners_dilemma() -> NormalFormGame:
    return bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])


def matching_pennies() -> NormalFormGame:
    return bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])


def chicken() -> NormalFormGame:
    return bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])


def hand_game() -> NormalFormGame:
    """A 3 x 3 game (actions X, Y, Z) with strict equilibria (X,X), (Y,Y), (Z,Z).

    Row payoffs A, column payoffs B::

        A = [[15, 0, 0], [0, 5, 0], [4, 4, 4]]     B = [[3, 0, 2], [0, 15, 2], [0, 0, 2]]

    Tracing from the uniform prior, by hand. At ``t`` the row player expects the
    column to play ``t x_col + (1 - t)/3``. Against the uniform prior the row player's
    payoffs are (5, 5/3, 4): it starts with X; the column player's are (1, 5, 2): it
    starts with Y. While the column plays Y, row's payoffs are X: 5(1 - t),
    Y: 5(1 + 2t)/3, Z: 4, so X ties with Z at t = 1/5 (Y would only catch up at 2/5):
    the row player moves from X to Z at t = 1/5. Along that vertical segment the
    column's payoffs stay (<= 1.4, 4, 2): Y remains strictly best. With the row on Z the
    column's payoffs are X: 1 - t, Y: 5(1 - t), Z: 2, so Y ties with Z at t = 3/5
    (before the row's Z-to-Y switch at t = 7/10): the column moves from Y to Z; along
    that segment the row's payoffs are at most (2, 3.67, 4), Z strictly best. (Z, Z) is a
    strict equilibrium of every later t-game, so the procedure selects (Z, Z).
    (pygambit's logit limit of the same game is (Y, Y): the criteria differ here.)
    """
    return bimatrix([[15, 0, 0], [0, 5, 0], [4, 4, 4]], [[3, 0, 2], [0, 15, 2], [0, 0, 2]])


def pure(*actions: int, sizes: Sequence[int] | None = None) -> tuple[np.ndarray, ...]:
    sizes = sizes or [2] * len(actions)
    return tuple(np.eye(k)[a] for a, k in zip(actions, sizes, strict=True))


def distance(p: Sequence[np.ndarray], q: Sequence[np.ndarray]) -> float:
    return max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(p, q, strict=True))


def assert_certified(game: NormalFormGame, profile: Sequence[np.ndarray], tol: float = 1e-9) -> None:
    for s in profile:
        assert s.min() >= 0.0 and abs(s.sum() - 1.0) <= 1e-12
    assert certify(game, profile).nash_conv <= 10 * tol * game.payoff_scale


# --------------------------------------------------------------------------- exact linear tracing


def _deviation(u: np.ndarray, profile: list[list[Fraction]], i: int) -> list[Fraction]:
    """u_i(a, x_-i) for every action a, exactly (u is an object array of Fractions)."""
    t = u[i]
    for j in reversed(range(u.shape[0])):
        if j != i:
            t = np.tensordot(t, np.array(profile[j], dtype=object), axes=([j], [0]))
    return list(t)


def exact_pure_tracing(payoffs: np.ndarray, prior: Sequence[Sequence[Fraction]]) -> tuple[int, ...] | None:
    """The linear tracing procedure's end, exactly, for paths through pure profiles only.

    Player i's payoff in the t-game is t u_i(a, x_-i) + (1 - t) u_i(a, p_-i). From the
    pure best reply to the prior, find the earliest t at which some player's current
    action is caught up by another (a linear equation in t per pair of actions). At that
    t the player moves along a vertical segment to the new action; this is the linear
    tracing path provided every other player keeps a strict best reply along it (checked
    at both ends, payoffs being linear along the segment). Returns the joint action at
    t = 1, or None when the path is not of this kind (a tie, a simultaneous event, or a
    segment along which another player would start to mix).
    """
    u = np.vectorize(F, otypes=[object])(payoffs)
    n, sizes = u.shape[0], u.shape[1:]
    prior = [[F(p) for p in pi] for pi in prior]
    c = [_deviation(u, prior, i) for i in range(n)]
    actions = []
    for i in range(n):
        best = [a for a in range(sizes[i]) if c[i][a] == max(c[i])]
        if len(best) != 1:
            return None
        actions.append(best[0])
    t = F(0)

    def profile(acts: Sequence[int]) -> list[list[Fraction]]:
        return [[F(int(b == a)) for b in range(sizes[k])] for k, a in enumerate(acts)]

    while True:
        events = []
        for i in range(n):
            d = _deviation(u, profile(actions), i)
            a = actions[i]
            for b in range(sizes[i]):
                alpha, beta = c[i][b] - c[i][a], d[b] - d[a]  # difference (1 - t) alpha + t beta
                if b != a and beta > alpha and alpha / (alpha - beta) <= 1:
                    events.append((alpha / (alpha - beta), i, b))
        if not events:
            return tuple(actions)
        events.sort()
        t_event, i, b = events[0]
        if t_event <= t or t_event == 1 or (len(events) > 1 and events[1][0] == t_event):
            return None
        t = t_event
        moved = list(actions)
        moved[i] = b
        for end in (actions, moved):
            for j in range(n):
                if j != i:
                    d = _deviation(u, profile(end), j)
                    v = [t * d[a] + (1 - t) * c[j][a] for a in range(sizes[j])]
                    if any(v[a] >= v[actions[j]] for a in range(sizes[j]) if a != actions[j]):
                        return None
        actions = moved


def test_exact_tracker_reproduces_the_hand_computation() -> None:
    a, b = hand_game().bimatrix()
    uniform = [[F(1, 3)] * 3] * 2
    assert exact_pure_tracing(np.stack([a, b]).astype(int), uniform) == (2, 2)


def _random_tracing_cases() -> list:
    cases = []
    for shape in [(2, 3, 3), (2, 4, 4), (3, 2, 2, 2), (2, 3, 5)]:
        found = 0
        for seed in range(40):
            payoffs = np.random.default_rng(seed).integers(-9, 10, size=shape)
            uniform = [[F(1, k)] * k for k in shape[1:]]
            end = exact_pure_tracing(payoffs, uniform)
            if end is not None:
                cases.append(pytest.param(payoffs, end, id=f"{'x'.join(map(str, shape[1:]))}-seed{seed}"))
                found += 1
            if found == 5:
                break
    return cases


RANDOM_TRACING_CASES = _random_tracing_cases()


def test_enough_random_games_have_exact_tracing_paths() -> None:
    assert len(RANDOM_TRACING_CASES) == 20


@pytest.mark.parametrize(("payoffs", "end"), RANDOM_TRACING_CASES)
def test_tracing_matches_exact_linear_tracing(payoffs: np.ndarray, end: tuple[int, ...]) -> None:
    game = NormalFormGame(payoffs.astype(float))
    result = trace(game)
    assert_certified(game, result.strategies)
    assert result.bifurcations == ()
    assert distance(result.strategies, pure(*end, sizes=game.num_actions)) <= 1e-9


# --------------------------------------------------------------------------- known answers


TRACING_CASES = [
    pytest.param(stag_hunt, None, pure(1, 1), id="stag-hunt-uniform-(H,H)"),
    pytest.param(stag_hunt, ([0.9, 0.1], [0.9, 0.1]), pure(0, 0), id="stag-hunt-prior-on-S-(S,S)"),
    pytest.param(prisoners_dilemma, None, pure(1, 1), id="prisoners-dilemma-(D,D)"),
    pytest.param(
        matching_pennies, None, (np.array([0.5, 0.5]), np.array([0.5, 0.5])), id="matching-pennies-uniform"
    ),
    pytest.param(hand_game, None, pure(2, 2, sizes=(3, 3)), id="hand-3x3-(Z,Z)"),
]


@pytest.mark.parametrize(("factory", "prior", "expected"), TRACING_CASES)
def test_linear_tracing_known_answers(factory, prior, expected) -> None:
    game = factory()
    profile = linear_tracing(game, prior)
    assert_certified(game, profile)
    assert distance(profile, expected) <= 1e-9


def test_three_player_tracing_selects_the_dominant_profile() -> None:
    # Public goods: keeping (action 1) strictly dominates contributing, whatever the prior.
    payoffs = np.zeros((3, 2, 2, 2))
    for joint in itertools.product(range(2), repeat=3):
        for i in range(3):
            payoffs[(i, *joint)] = (joint[i] == 1) + 0.5 * sum(a == 0 for a in joint)
    game = NormalFormGame(payoffs)
    profile = linear_tracing(game, ([0.9, 0.1], [0.8, 0.2], [0.95, 0.05]))
    assert distance(profile, pure(1, 1, 1)) <= 1e-9


def test_battle_of_the_sexes_tracing_bifurcates() -> None:
    # Both players' best replies to the uniform prior switch at t = 1/3 at once; by the
    # game's symmetry (swap the players and the actions) the path followed stays
    # symmetric and ends at the mixed equilibrium, which is one branch of a bifurcation.
    result = trace(battle_of_the_sexes())
    assert len(result.bifurcations) == 1 and abs(result.bifurcations[0] - 1 / 3) < 0.01
    assert distance(result.strategies, (np.array([2 / 3, 1 / 3]), np.array([1 / 3, 2 / 3]))) <= 1e-9
    with pytest.raises(UnsupportedError, match="bifurcation") as info:
        linear_tracing(battle_of_the_sexes())
    assert info.value.field == "game"


def test_tracing_start_is_the_best_reply_to_the_prior() -> None:
    # The barrier smooths the start: an action a payoff gap g (payoffs scaled to [0, 1])
    # below the best reply gets probability about eta / g; the smallest gap here is 1/15.
    result = trace(hand_game(), eta=1e-6)
    assert distance(result.start, pure(0, 1, sizes=(3, 3))) <= 1e-6 * 15 * 3  # X for row, Y for column


# --------------------------------------------------------------------------- 2 x 2 risk dominance


SETTINGS = settings(max_examples=25, deadline=None, database=None)


@st.composite
def two_strict_equilibria_games(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Integer 2 x 2 games with strict equilibria on the diagonal (or anti-diagonal, when
    ``flip``): positive deviation losses plus arbitrary off-equilibrium payoffs."""
    loss = draw(arrays(np.int64, (4,), elements=st.integers(1, 6)), label="losses")
    off = draw(arrays(np.int64, (4,), elements=st.integers(-6, 6)), label="off-diagonal")
    a = np.array([[off[0] + loss[0], off[1]], [off[0], off[1] + loss[1]]], dtype=float)
    b = np.array([[off[2] + loss[2], off[2]], [off[3], off[3] + loss[3]]], dtype=float)
    if draw(st.booleans(), label="flip"):
        a, b = a[:, ::-1].copy(), b[:, ::-1].copy()
    return a, b


def _strict_equilibria(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    return [
        (r, c)
        for r, c in itertools.product(range(2), repeat=2)
        if a[r, c] > a[1 - r, c] and b[r, c] > b[r, 1 - c]
    ]


@SETTINGS
@given(game=two_strict_equilibria_games())
def test_2x2_tracing_selects_the_risk_dominant_equilibrium(game: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = game
    strict = _strict_equilibria(a, b)
    assume(len(strict) == 2)
    (r1, c1), (r2, c2) = strict
    # Deviation losses at each equilibrium, player by player.
    loss_row = (a[r1, c1] - a[r2, c1], a[r2, c2] - a[r1, c2])
    loss_col = (b[r1, c1] - b[r1, c2], b[r2, c2] - b[r2, c1])
    first, second = loss_row[0] * loss_col[0], loss_row[1] * loss_col[1]
    assume(first != second)
    winner = (r1, c1) if first > second else (r2, c2)
    # The bicentric prior: each player's first-equilibrium action with probability
    # L / (L + L'), its own deviation-loss share (Harsanyi & Selten 1988, sec. 3.9).
    bicentric = []
    for own, loss in ((r1, loss_row), (c1, loss_col)):
        p = np.empty(2)
        p[own] = loss[0] / (loss[0] + loss[1])
        p[1 - own] = 1.0 - p[own]
        bicentric.append(p)
    game_ = NormalFormGame.from_bimatrix(a, b)
    for prior in (None, bicentric):
        profile = linear_tracing(game_, prior)
        assert distance(profile, pure(*winner)) <= 1e-9


# --------------------------------------------------------------------------- polishing


def test_polish_on_support_recovers_known_equilibria() -> None:
    bos = battle_of_the_sexes()
    polished = polish_on_support(bos, (np.array([0.7, 0.3]), np.array([0.25, 0.75])))
    assert polished is not None
    assert distance(polished, (np.array([2 / 3, 1 / 3]), np.array([1 / 3, 2 / 3]))) <= 1e-14
    # A support that carries no equilibrium: full support for the row player against a
    # pure column player in the prisoner's dilemma.
    assert polish_on_support(prisoners_dilemma(), (np.array([0.5, 0.5]), np.array([0.0, 1.0]))) is None
    with pytest.raises(InvalidOptionError) as info:
        polish_on_support(bos, (np.array([1.0, 0.0]),))
    assert info.value.field == "strategies"


# --------------------------------------------------------------------------- tracing errors


@pytest.mark.parametrize(
    ("prior", "field"),
    [
        pytest.param(([0.5, 0.5],), "prior", id="too-few-players"),
        pytest.param(([0.5, 0.5], [0.2, 0.2, 0.6]), "prior", id="wrong-shape"),
        pytest.param(([0.5, 0.6], [0.5, 0.5]), "prior", id="not-a-distribution"),
        pytest.param(([1.5, -0.5], [0.5, 0.5]), "prior", id="negative"),
    ],
)
def test_tracing_rejects_bad_priors(prior, field: str) -> None:
    """Each front door names itself in the error."""
    for function in (linear_tracing, trace):
        with pytest.raises(InvalidOptionError, match=rf"^{function.__name__}\(\): ") as info:
            function(stag_hunt(), prior)
        assert info.value.field == field


def test_tracing_rejects_bad_options_and_large_games() -> None:
    with pytest.raises(InvalidOptionError) as info:
        linear_tracing(stag_hunt(), eta=0.0)
    assert info.value.field == "eta"
    with pytest.raises(InvalidOptionError, match=r"^trace\(\): max_steps") as info:
        trace(stag_hunt(), max_steps=0)
    assert info.value.field == "max_steps"
    with pytest.raises(InvalidOptionError) as info:
        linear_tracing(stag_hunt(), tol=0.1)
    assert info.value.field == "tolerance"
    big = NormalFormGame.from_bimatrix(np.eye(301), np.eye(301))
    with pytest.raises(ProblemTooLargeError) as too_large:
        linear_tracing(big)
    assert too_large.value.field == "game"


def test_tracing_reports_running_out_of_steps() -> None:
    with pytest.raises(UnsupportedError, match="max_steps") as info:
        linear_tracing(hand_game(), max_steps=3)
    assert info.value.field == "max_steps"


# --------------------------------------------------------------------------- logit


def _gambit_game(game: NormalFormGame) -> gbt.Game:
    return gbt.Game.from_arrays(*game.payoffs)


def _gambit_profile(game: gbt.Game, profile) -> tuple[np.ndarray, ...]:
    return tuple(np.array([float(profile[s]) for s in player.strategies]) for player in game.players)


def _generic_games() -> list:
    cases = []
    for shape in [(2, 2, 2), (2, 3, 3), (3, 2, 2, 2)]:
        for seed in range(8):
            payoffs = np.random.default_rng(1000 + seed).standard_normal(shape).round(3)
            cases.append(pytest.param(payoffs, id=f"{'x'.join(map(str, shape[1:]))}-seed{1000 + seed}"))
    return cases


@pytest.mark.oracle
@pytest.mark.parametrize("payoffs", _generic_games())
def test_logit_limit_point_matches_pygambit(payoffs: np.ndarray) -> None:
    game = NormalFormGame(payoffs)
    branch = logit_path(game)
    assert branch.bifurcations == ()
    assert_certified(game, branch.limit)
    g = _gambit_game(game)
    result = gbt.nash.logit_solve(g, maxregret=1e-10)
    assert result.equilibria, "pygambit returned no equilibrium"
    assert distance(branch.limit, _gambit_profile(g, result.equilibria[0])) <= 1e-6


def _softmax_residual(game: NormalFormGame, lam: float, profile: Sequence[np.ndarray]) -> float:
    """max |x_i - softmax(lam * u_i(., x_-i))|, computed directly from the payoff tensor."""
    worst = 0.0
    n = game.n_players
    for i in range(n):
        t = np.moveaxis(game.payoffs[i], i, 0)
        others = [j for j in range(n) if j != i]
        for j in reversed(others):
            t = np.tensordot(t, profile[j], axes=([others.index(j) + 1], [0]))
        z = lam * (t - t.max())
        q = np.exp(z) / np.exp(z).sum()
        worst = max(worst, float(np.abs(q - profile[i]).max()))
    return worst


@pytest.mark.oracle
@pytest.mark.parametrize(
    "payoffs",
    [
        pytest.param(np.random.default_rng(7).standard_normal((2, 3, 3)).round(3), id="3x3-seed7"),
        pytest.param(np.random.default_rng(8).standard_normal((3, 2, 2, 2)).round(3), id="2x2x2-seed8"),
    ],
)
def test_logit_branch_points_are_qre_and_match_pygambit(payoffs: np.ndarray) -> None:
    game = NormalFormGame(payoffs)
    branch = logit_path(game)
    lambdas = branch.lambdas
    assert lambdas[0] == 0.0
    for k in range(len(lambdas)):
        point = [p[k] for p in branch.profiles]
        # Points are accurate relative to |log x| ~ lambda * payoff gap: scale the bound.
        bound = 1e-11 * (1.0 + float(lambdas[k]) * game.payoff_scale)
        assert _softmax_residual(game, float(lambdas[k]), point) <= bound
    # Compare with pygambit at up to 4 points with 0.2 <= lambda <= 20 (where lambda has
    # only increased so far, so the first point of the branch at that lambda is unique).
    monotone = np.flatnonzero(np.maximum.accumulate(lambdas) == lambdas)
    window = [int(k) for k in monotone if 0.2 <= lambdas[k] <= 20.0]
    picks = window[:: max(1, len(window) // 4)][:4]
    assert len(picks) >= 2
    g = _gambit_game(game)
    theirs = gbt.qre.logit_solve_lambda(g, lam=[float(lambdas[k]) for k in picks])
    for k, qre in zip(picks, theirs, strict=True):
        assert distance([p[k] for p in branch.profiles], _gambit_profile(g, qre.profile)) <= 1e-6


LOGIT_CASES = [
    pytest.param(stag_hunt, pure(1, 1), id="stag-hunt-(H,H)"),
    pytest.param(prisoners_dilemma, pure(1, 1), id="prisoners-dilemma-(D,D)"),
    pytest.param(matching_pennies, (np.array([0.5, 0.5]), np.array([0.5, 0.5])), id="matching-pennies"),
    pytest.param(hand_game, pure(1, 1, sizes=(3, 3)), id="hand-3x3-(Y,Y)"),
]


@pytest.mark.parametrize(("factory", "expected"), LOGIT_CASES)
def test_logit_limit_point_known_answers(factory, expected) -> None:
    game = factory()
    profile = logit_limit_point(game)
    assert_certified(game, profile)
    assert distance(profile, expected) <= 1e-9


@pytest.mark.parametrize(
    ("factory", "mixed", "where"),
    [
        # Symmetric games: the symmetric branch loses stability where its antisymmetric
        # mode becomes singular. Chicken: x = P(C) on the symmetric branch tends to 2/3,
        # and the mode dx1 = -dx2 is singular when 3 lambda x (1 - x) = 1, i.e. near
        # lambda = 3/2 (x close to 2/3 there).
        pytest.param(chicken, (np.array([2 / 3, 1 / 3]), np.array([2 / 3, 1 / 3])), 1.5, id="chicken"),
        pytest.param(
            battle_of_the_sexes,
            (np.array([2 / 3, 1 / 3]), np.array([1 / 3, 2 / 3])),
            1.4,
            id="battle-of-sexes",
        ),
    ],
)
def test_logit_branch_bifurcates_in_symmetric_games(factory, mixed, where: float) -> None:
    game = factory()
    branch = logit_path(game)
    assert len(branch.bifurcations) == 1 and abs(branch.bifurcations[0] - where) < 0.2
    assert distance(branch.limit, mixed) <= 1e-9
    with pytest.raises(UnsupportedError, match="bifurcation"):
        logit_limit_point(game)
    assert distance(logit_limit_point(game, allow_bifurcation=True), mixed) <= 1e-9


@st.composite
def symmetric_two_strict_equilibria_games(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric (B = A^T) integer 2 x 2 games with strict equilibria (0, 0) and (1, 1)."""
    loss = draw(arrays(np.int64, (2,), elements=st.integers(1, 6)), label="losses")
    off = draw(arrays(np.int64, (2,), elements=st.integers(-6, 6)), label="off-diagonal")
    a = np.array([[off[0] + loss[0], off[1]], [off[0], off[1] + loss[1]]], dtype=float)
    return a, a.T.copy()


@SETTINGS
@given(game=symmetric_two_strict_equilibria_games())
def test_logit_limit_point_is_risk_dominant_in_symmetric_2x2_games(
    game: tuple[np.ndarray, np.ndarray],
) -> None:
    a, b = game
    first = (a[0, 0] - a[1, 0]) * (b[0, 0] - b[0, 1])
    second = (a[1, 1] - a[0, 1]) * (b[1, 1] - b[1, 0])
    assume(first != second)
    winner = 0 if first > second else 1
    profile = logit_limit_point(NormalFormGame.from_bimatrix(a, b))
    assert distance(profile, pure(winner, winner)) <= 1e-9


@pytest.mark.oracle
def test_logit_limit_point_need_not_be_risk_dominant_in_asymmetric_2x2_games() -> None:
    # Products of deviation losses: (0, 0): (-2 + 3)(2 + 4) = 6 < (1, 1): (8 - 4)(-2 + 4) = 8,
    # so (1, 1) is risk-dominant (and the tracing procedure selects it), but the logit
    # branch, which is not invariant to rescaling one player's payoffs, ends at (0, 0).
    game = bimatrix([[-2, 4], [-3, 8]], [[2, -4], [-4, -2]])
    assert distance(linear_tracing(game), pure(1, 1)) <= 1e-9
    profile = logit_limit_point(game)
    assert distance(profile, pure(0, 0)) <= 1e-9
    g = _gambit_game(game)
    assert (
        distance(profile, _gambit_profile(g, gbt.nash.logit_solve(g, maxregret=1e-10).equilibria[0])) <= 1e-6
    )


def test_logit_rejects_bad_options() -> None:
    with pytest.raises(InvalidOptionError) as info:
        logit_path(stag_hunt(), lambda_max=1.0)
    assert info.value.field == "lambda_max"
    with pytest.raises(InvalidOptionError) as info:
        logit_limit_point(stag_hunt(), tol=0.0)
    assert info.value.field == "tolerance"
    with pytest.raises(InvalidOptionError) as info:
        logit_path("not a game")  # type: ignore[arg-type]
    assert info.value.field == "game"


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e9])
def test_polishing_judges_each_player_in_its_own_unit(scale: float) -> None:
    """At (0, 0, 0) players 1 and 2 have no regret and player 0 (payoffs times ``scale``)
    regrets its whole payoff range: no scale makes that an equilibrium."""
    u = np.zeros((3, 2, 2, 2))
    u[0][1, 0, 0] = scale
    u[1][0, 0, 0] = u[2][0, 0, 0] = 1.0
    game = NormalFormGame(u)
    corner = [np.array([1.0, 0.0])] * 3
    assert certify(game, corner).regrets.tolist() == [scale, 0.0, 0.0]
    assert polish_on_support(game, corner) is None
