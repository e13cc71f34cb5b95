"""α-Rank (:mod:`equilibria.solver.concepts.alpha_rank`): known answers, the chain's
certificate, scale invariance, the sweep, the elimination against exact rational arithmetic,
and OpenSpiel's ``alpharank`` as the independent oracle of the chain itself."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import AlphaRankOptions, NormalFormGame, solve
from equilibria.solver.concepts import alpha_rank as module
from equilibria.solver.concepts.alpha_rank import MAX_PROFILES, alpha_rank
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from open_spiel.python.egt import alpharank as openspiel
from open_spiel.python.egt import utils as openspiel_utils

RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
PRISONERS = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
ASYMMETRIC = NormalFormGame.from_bimatrix([[2, 0], [3, 1]], [[1, 3], [0, 1]])


def _masses(ranked) -> dict[tuple[int, ...], float]:
    return dict(zip(ranked.profiles, ranked.masses.tolist(), strict=True))


def _rank(game: NormalFormGame, **options) -> object:
    return alpha_rank(game, AlphaRankOptions(**options))


@pytest.mark.parametrize("populations", ["single", "multi"])
def test_rock_paper_scissors_is_uniform_at_every_alpha(populations: str) -> None:
    game = NormalFormGame.from_bimatrix(RPS, -RPS)
    for alpha in (None, 0.5, 7.0):
        ranked = _rank(game, populations=populations, alpha=alpha)
        count = 3 if populations == "single" else 9
        np.testing.assert_allclose(ranked.masses, np.full(count, 1 / count), atol=1e-12)
        assert ranked.profiles == tuple(sorted(ranked.profiles))  # ties in profile order
        assert len(ranked.sink_components) == 1 and len(ranked.sink_components[0]) == count
        assert ranked.ended_by == ("converged" if alpha is None else "alpha_given")


@pytest.mark.parametrize("populations", ["single", "multi"])
def test_a_strictly_dominant_profile_takes_all_the_mass(populations: str) -> None:
    ranked = _rank(PRISONERS, populations=populations)
    assert ranked.profiles[0] == ((1,) if populations == "single" else (1, 1))
    assert ranked.masses[0] > 1 - 1e-8 and ranked.converged
    assert ranked.sink_components == ((ranked.profiles[0],),)
    # The rest rank by mass too, however small (GTH keeps tiny masses' relative accuracy).
    assert all(a >= b for a, b in zip(ranked.masses, ranked.masses[1:], strict=False))
    rng = np.random.default_rng(3)
    payoffs = rng.uniform(0, 1, size=(3, 3, 4, 2))
    payoffs[0, 2] += 2  # action 2 strictly dominant for player 0, and so on
    payoffs[1, :, 1] += 2
    payoffs[2, :, :, 0] += 2
    ranked = alpha_rank(NormalFormGame(payoffs))
    assert ranked.profiles[0] == (2, 1, 0) and ranked.masses[0] > 1 - 1e-8
    assert ranked.sink_components == (((2, 1, 0),),)


def test_constant_payoffs_drift_neutrally_to_the_uniform_distribution() -> None:
    ranked = alpha_rank(NormalFormGame(np.full((3, 2, 2, 3), 4.0)))
    np.testing.assert_allclose(ranked.masses, np.full(12, 1 / 12), atol=1e-12)
    assert len(ranked.sink_components) == 1 and len(ranked.sink_components[0]) == 12


def test_a_one_profile_game_has_all_the_mass_on_it() -> None:
    game = NormalFormGame(np.array([[[3.0]], [[-1.0]]]))
    ranked = _rank(game, populations="multi")
    assert ranked.profiles == ((0, 0),) and ranked.masses.tolist() == [1.0] and ranked.residual == 0.0
    assert alpha_rank(game).profiles == ((0,),)  # symmetric (each player's payoffs constant): one population


@pytest.mark.parametrize("seed", range(6))
def test_the_distribution_is_stationary_and_the_sweep_says_where_it_stopped(seed: int) -> None:
    rng = np.random.default_rng(seed)
    game = NormalFormGame(rng.standard_normal((2, 4, 5)))
    ranked = alpha_rank(game)
    assert ranked.residual < 1e-12 and abs(ranked.masses.sum() - 1) < 1e-12 and ranked.masses.min() >= 0
    alphas = [a for a, _ in ranked.sweep]
    assert alphas[0] == 1.0 and all(b == 2 * a for a, b in zip(alphas, alphas[1:], strict=False))
    assert ranked.alpha == alphas[-1] and math.isnan(ranked.sweep[0][1])
    assert ranked.ended_by in ("converged", "underflow")
    assert ranked.converged == (ranked.sweep[-1][1] <= 1e-8)
    if ranked.ended_by == "underflow":  # the next alpha's chain has a state with no outflow left
        assert module._MultiChain(game.unit_game.payoffs, 50, 1e-9).stationary(2 * ranked.alpha) is None
    assert all(a >= b for a, b in zip(ranked.masses, ranked.masses[1:], strict=False))
    # The mass concentrates on the sink components as alpha grows.
    on_sinks = sum(_masses(ranked)[p] for component in ranked.sink_components for p in component)
    small = _rank(game, alpha=1.0)
    on_sinks_small = sum(_masses(small)[p] for component in small.sink_components for p in component)
    assert on_sinks >= on_sinks_small - 1e-12 and (not ranked.converged or on_sinks > 1 - 1e-6)


def _chain(game: NormalFormGame, alpha: float, m: int = 50):
    return module._MultiChain(game.unit_game.payoffs, m, 1e-9).transitions(alpha)


def _exact_gth(p: list[list[Fraction]]) -> list[Fraction]:
    """The stationary distribution of ``p`` by the same elimination in exact rationals."""
    a = [row[:] for row in p]
    n = len(a)
    for k in range(n - 1, 0, -1):
        out = sum(a[k][:k], Fraction(0))
        for i in range(k):
            a[i][k] /= out
        for i in range(k):
            for j in range(k):
                a[i][j] += a[i][k] * a[k][j]
    pi = [Fraction(1)]
    for j in range(1, n):
        pi.append(sum((pi[i] * a[i][j] for i in range(j)), Fraction(0)))
    total = sum(pi)
    return [v / total for v in pi]


@pytest.mark.parametrize("alpha", [4.0, 8.0, 12.0])
def test_two_competing_sinks_split_their_mass_as_exact_arithmetic_does(alpha: float) -> None:
    """Two strict equilibria whose escape barriers differ by 1 %: at large alpha the chain is
    nearly decomposable, the mass on the weaker sink is tiny, and each mass, however small,
    matches the exact stationary distribution of the same (float) chain to 1e-9 relative."""
    game = NormalFormGame.from_bimatrix([[1.0, 0.0], [0.0, 0.99]], [[1.0, 0.0], [0.0, 0.99]])
    chain = _chain(game, alpha)
    exact = _exact_gth([[Fraction(float(v)) for v in row] for row in chain.toarray()])
    ranked = _rank(game, alpha=alpha, populations="multi")
    assert ranked.sink_components == (((0, 0),), ((1, 1),))
    ours = _masses(ranked)
    for k, profile in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        assert abs(ours[profile] - float(exact[k])) <= 1e-9 * float(exact[k]), profile
    assert ours[(0, 0)] > ours[(1, 1)]  # the deeper basin keeps more


def test_the_sweep_reaches_the_limit_past_where_the_probabilities_underflow() -> None:
    """The same two sinks: leaving either takes a fixation probability below e^{-49 alpha
    0.99}, zero in floats from alpha = 16 on; the rates in logs, scaled per state, carry the
    sweep on to the limit, where the deeper basin holds the mass."""
    game = NormalFormGame.from_bimatrix([[1.0, 0.0], [0.0, 0.99]], [[1.0, 0.0], [0.0, 0.99]])
    assert _chain(game, 16.0).toarray()[0, 1:].max() == 0.0  # every way out of (0, 0) underflows
    ranked = _rank(game, populations="multi")
    assert ranked.converged and ranked.alpha >= 64 and ranked.sweep[-1][1] <= 1e-8
    assert ranked.profiles[0] == (0, 0) and ranked.masses[0] > 1 - 1e-12 and ranked.residual < 1e-12


@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_scaling_and_shifting_a_players_payoffs_changes_nothing(scale: float) -> None:
    rng = np.random.default_rng(11)
    payoffs = rng.standard_normal((3, 3, 2, 3))
    scaled = payoffs.copy()
    scaled[1] = scaled[1] * scale + 5.0
    first, second = alpha_rank(NormalFormGame(payoffs)), alpha_rank(NormalFormGame(scaled))
    assert first.profiles == second.profiles and first.alpha == second.alpha
    np.testing.assert_allclose(first.masses, second.masses, rtol=0, atol=1e-12)


def test_a_symmetric_game_is_one_population_unless_asked_otherwise() -> None:
    symmetric = NormalFormGame.from_bimatrix([[2, 0], [3, 1]], [[2, 3], [0, 1]])
    assert alpha_rank(symmetric).single_population
    assert not _rank(symmetric, populations="multi").single_population
    assert not alpha_rank(ASYMMETRIC).single_population


def test_bad_options_are_refused_with_their_field() -> None:
    cases = [
        ({"alpha": 0.0}, "alpha_rank.alpha"),
        ({"alpha": -2}, "alpha_rank.alpha"),
        ({"alpha": math.inf}, "alpha_rank.alpha"),
        ({"alpha": True}, "alpha_rank.alpha"),
        ({"alpha": "1"}, "alpha_rank.alpha"),
        ({"alpha": 1e6}, "alpha_rank.alpha"),  # fixation probabilities underflow: the chain falls apart
        ({"population_size": 1}, "alpha_rank.population_size"),
        ({"population_size": 100_001}, "alpha_rank.population_size"),
        ({"population_size": True}, "alpha_rank.population_size"),
        ({"population_size": 2.0}, "alpha_rank.population_size"),
        ({"populations": "two"}, "alpha_rank.populations"),
        ({"populations": "single"}, "alpha_rank.populations"),  # not a symmetric game
    ]
    for options, field in cases:
        with pytest.raises(InvalidOptionError) as refused:
            _rank(ASYMMETRIC, **options)
        assert refused.value.field == field, options
    with pytest.raises(ProblemTooLargeError) as refused:
        alpha_rank(NormalFormGame(np.zeros((3, 17, 17, 17))))
    assert MAX_PROFILES < 17**3 and "4,913 pure profiles" in str(refused.value)
    with pytest.raises(InvalidOptionError) as refused:
        alpha_rank(ASYMMETRIC, time_limit=0.0)
    assert refused.value.field == "time_limit"


def test_a_spent_time_limit_stops_the_sweep_after_its_first_alpha() -> None:
    ranked = alpha_rank(ASYMMETRIC, time_limit=1e-9)
    assert ranked.ended_by == "time_limit" and len(ranked.sweep) == 1 and ranked.alpha == 1.0
    assert ranked.residual < 1e-12 and not ranked.converged


def test_solve_answers_the_concept_with_its_status() -> None:
    result = solve(PRISONERS, ["nash", "alpha_rank"], alpha_rank=AlphaRankOptions(populations="multi"))
    assert result.alpha_rank is not None and result.alpha_rank.profiles[0] == (1, 1)
    nash, ranking = result.concept_status
    assert (nash.concept, ranking.concept, ranking.status) == ("nash", "alpha_rank", "answered")
    assert "large-alpha limit" in ranking.reason and "multi-population" in ranking.reason
    given = solve(PRISONERS, ["alpha_rank"], alpha_rank=AlphaRankOptions(alpha=3.0))
    assert (
        given.alpha_rank.ended_by == "alpha_given" and "the alpha requested" in given.concept_status[0].reason
    )
    assert given.alpha_rank.single_population and given.method == "none" and not given.equilibria
    stopped = solve(ASYMMETRIC, ["alpha_rank"], time_limit=1e-9)
    assert stopped.concept_status[0].status == "partial" and "time limit" in stopped.concept_status[0].reason
    assert any("stopped by the time limit" in w for w in stopped.warnings)
    assert solve(PRISONERS).alpha_rank is None  # not requested: not computed
    large = solve(NormalFormGame(np.zeros((3, 17, 17, 17))), ["pure_nash", "alpha_rank"])
    assert large.alpha_rank is None and len(large.equilibria) == 17**3  # refused; pure_nash answered
    assert [s.status for s in large.concept_status] == ["answered", "refused"]
    assert "4,913 pure profiles, over the limit of 4,096" in large.concept_status[1].reason
    with pytest.raises(InvalidOptionError) as refused:
        solve(PRISONERS, ["alpha_rank"], alpha_rank={"alpha": 2.0})  # type: ignore[arg-type]
    assert refused.value.field == "alpha_rank"
    with pytest.raises(InvalidOptionError) as refused:
        solve(PRISONERS, ["nash"], alpha_rank=AlphaRankOptions(population_size=0))
    assert refused.value.field == "alpha_rank.population_size"


# -- the oracle: OpenSpiel's alpharank on the same (unit) payoffs ----------------------------------


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("alpha", [0.5, 2.0, 8.0])  # past ~10 OpenSpiel's eigenvectors split
def test_multi_population_masses_match_openspiel(seed: int, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    shape = (2, 3, 4) if seed % 2 else (3, 2, 3, 2)
    game = NormalFormGame(rng.standard_normal(shape))
    unit = game.unit_game.payoffs
    ranked = _rank(game, alpha=alpha, population_size=30, populations="multi")
    _, _, pi, _, _ = openspiel.compute(list(unit), m=30, alpha=alpha)
    counts = np.array(unit.shape[1:])
    theirs = {
        tuple(int(i) for i in openspiel_utils.get_strat_profile_from_id(counts, k)): p
        for k, p in enumerate(pi)
    }
    ours = _masses(ranked)
    assert set(ours) == set(theirs)
    for profile, mass in ours.items():
        assert abs(mass - theirs[profile]) <= 1e-9 * max(1.0, mass), profile


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(5))
def test_single_population_masses_match_openspiels_moran_process(seed: int) -> None:
    rng = np.random.default_rng(20 + seed)
    a = rng.standard_normal((4, 4))
    game = NormalFormGame.from_bimatrix(a, a.T)
    unit = game.unit_game.payoffs
    for alpha in (0.3, 3.0):
        ranked = _rank(game, alpha=alpha, population_size=20, populations="single")
        _, _, pi, _, _ = openspiel.compute([unit[0]], m=20, alpha=alpha, use_local_selection_model=False)
        ours = _masses(ranked)
        for k, mass in enumerate(pi):
            assert abs(ours[(k,)] - mass) <= 1e-9 * max(1.0, mass), (alpha, k)


def test_the_chain_moves_as_the_paper_writes_it() -> None:
    """P(s -> s') = eta rho with eta = 1 / sum_k (|S_k| - 1) and rho = (1 - e^{-u}) /
    (1 - e^{-m u}), u = alpha (f_k(s') - f_k(s)) on unit payoffs (1/m when u = 0); each row
    sums to 1. A 2 x 3 game: eta = 1/3."""
    payoffs = np.array([[[0.0, 1.0, 1.0], [0.5, 0.25, 0.0]], [[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]]])
    game = NormalFormGame(payoffs)  # already on [0, 1] per player, with ties
    m, alpha = 10, 3.0
    chain = module._MultiChain(game.unit_game.payoffs, m, 1e-9)
    p = chain.transitions(alpha).toarray()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-15)
    assert p.min() >= 0.0

    def rho(u: float) -> float:
        return 1 / m if u == 0 else (1 - math.exp(-u)) / (1 - math.exp(-m * u))

    index = {(a, b): 3 * a + b for a in range(2) for b in range(3)}
    for (a, b), s in index.items():
        for a2 in range(2):  # player 0 deviates
            if a2 != a:
                expected = rho(alpha * (payoffs[0, a2, b] - payoffs[0, a, b])) / 3
                assert p[s, index[(a2, b)]] == pytest.approx(expected, rel=1e-12)
        for b2 in range(3):  # player 1 deviates
            if b2 != b:
                expected = rho(alpha * (payoffs[1, a, b2] - payoffs[1, a, b])) / 3
                assert p[s, index[(a, b2)]] == pytest.approx(expected, rel=1e-12)
    # One population of a constant 3-strategy game: every move neutral, eta = 1/2, rho = 1/m.
    q = module._SingleChain(np.full((3, 3), 0.5), m, 1e-9).transitions(alpha).toarray()
    np.testing.assert_allclose(q, np.where(np.eye(3) > 0, 1 - 1 / m, 1 / (2 * m)), rtol=1e-12)


def test_the_population_size_bounds_are_inclusive() -> None:
    for size in (2, 100_000):
        assert AlphaRankOptions(population_size=size).checked().population_size == size
    assert _rank(PRISONERS, population_size=2, populations="multi").profiles[0] == (1, 1)


def test_neutral_moves_link_both_ways_in_one_population_too() -> None:
    """A constant symmetric game read as one population: every move is neutral, the response
    graph links every strategy both ways, so there is one sink component of all three."""
    ranked = alpha_rank(NormalFormGame.from_bimatrix(np.ones((3, 3)), np.ones((3, 3))))
    assert ranked.single_population and ranked.sink_components == (((0,), (1,), (2,)),)
    np.testing.assert_allclose(ranked.masses, [1 / 3] * 3, atol=1e-12)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(4))
def test_games_with_ties_match_openspiel(seed: int) -> None:
    """Payoffs 0..2: many neutral moves (u = 0, rho = 1/m), which OpenSpiel treats apart too."""
    rng = np.random.default_rng(40 + seed)
    game = NormalFormGame(rng.integers(0, 3, size=(2, 3, 3)).astype(float))
    unit = game.unit_game.payoffs
    ranked = _rank(game, alpha=2.0, population_size=15, populations="multi")
    _, _, pi, _, _ = openspiel.compute(list(unit), m=15, alpha=2.0)
    counts = np.array(unit.shape[1:])
    for k, mass in enumerate(pi):
        profile = tuple(int(i) for i in openspiel_utils.get_strat_profile_from_id(counts, k))
        assert abs(_masses(ranked)[profile] - mass) <= 1e-9 * max(1.0, mass), profile
