"""The evolutionary dynamics (:mod:`equilibria.solver.concepts.dynamics`): known basins,
an independent integrator, the folk theorem, the logit fixed point, scale invariance, the
trapping-box certificate and the sampling interval against their definitions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.concepts import dynamics as module
from equilibria.solver.concepts.dynamics import DynamicsOptions, evolutionary_dynamics
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError
from equilibria.solver.regret import certify, deviation_payoffs

RPS = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)


def _coordination(seed: int) -> tuple[NormalFormGame, float]:
    """A random symmetric 2x2 coordination game and its mixed equilibrium's weight on action 0."""
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.normal(size=4)
    a, c = max(a, c) + 0.1, min(a, c)  # action 0 is a strict best reply to itself
    d, b = max(b, d) + 0.1, min(b, d)  # and action 1 to itself
    matrix = np.array([[a, b], [c, d]])
    return NormalFormGame.from_bimatrix(matrix, matrix.T), (d - b) / (a - b - c + d)


@pytest.mark.parametrize("rule", ["replicator", "best_response"])
@pytest.mark.parametrize("seed", range(4))
def test_one_population_basins_split_at_the_mixed_equilibrium(seed: int, rule: str) -> None:
    """In a symmetric 2x2 coordination game played by one population, the share of action 0
    rises exactly where it is above the mixed equilibrium's: a grid start goes to the pure
    equilibrium on its side (and is proved to), whatever the payoffs' scale."""
    game, mixed = _coordination(seed)
    for scale in (1.0, 1e-9, 1e9):
        scaled = NormalFormGame(game.payoffs * scale + 3.0 * scale)
        reached = evolutionary_dynamics(scaled, DynamicsOptions(rule=rule, grid=37))
        assert reached.single_population and reached.unsettled == 0
        for k, outcome in zip(range(1, 37), reached.outcomes, strict=True):
            basin = reached.basins[outcome]
            want = 0 if k / 37 > mixed else 1
            assert basin.strategies[0][want] == 1.0 and basin.certified == basin.count, (k, mixed)
        assert sum(b.count for b in reached.basins) == 36


def _replicator_oracle(game: NormalFormGame, starts: list[np.ndarray], horizon: float) -> list[np.ndarray]:
    """Integrate dx_i(a)/dt = x_i(a) (u_i(a, x_-i) - u_i(x)) in the probabilities themselves with
    scipy's adaptive Runge-Kutta on the unit game: a different method in other coordinates."""
    unit = game.unit_game
    sizes = unit.num_actions
    cuts = np.cumsum(sizes)[:-1]

    def field(_t: float, flat: np.ndarray) -> np.ndarray:
        xs = np.split(flat, cuts)
        out = []
        for i, x in enumerate(xs):
            u = deviation_payoffs(unit, xs, i)
            out.append(x * (u - x @ u))
        return np.concatenate(out)

    ends = []
    for k in range(starts[0].shape[0]):
        flat = np.concatenate([s[k] for s in starts])
        solution = scipy.integrate.solve_ivp(field, (0.0, horizon), flat, rtol=1e-10, atol=1e-13)
        ends.append(solution.y[:, -1])
    return ends


@pytest.mark.parametrize("seed", range(3))
def test_basins_agree_with_an_independent_integrator(seed: int) -> None:
    """Two populations of a random 3x3 game with several strict equilibria: every start scipy
    sees converge to a pure profile ends in that profile's basin here."""
    rng = np.random.default_rng(100 + seed)
    while True:
        payoffs = rng.normal(size=(2, 3, 3)) + 2.0 * np.stack([np.eye(3), np.eye(3)])
        game = NormalFormGame(payoffs)
        pure = [e for e in solve(game, ["pure_nash"]).equilibria]
        if len(pure) >= 2:
            break
    options = DynamicsOptions(samples=24, seed=seed, populations="multi")
    reached = evolutionary_dynamics(game, options)
    starts = module._starts(options.checked(), game.num_actions)
    compared = 0
    for k, end in enumerate(_replicator_oracle(game, starts, options.horizon)):
        x, y = end[:3], end[3:]
        if max(x) < 0.99 or max(y) < 0.99:
            continue  # not yet at a vertex for scipy: nothing to compare
        assert reached.outcomes[k] >= 0
        basin = reached.basins[reached.outcomes[k]]
        assert (int(np.argmax(basin.strategies[0])), int(np.argmax(basin.strategies[1]))) == (
            int(np.argmax(x)),
            int(np.argmax(y)),
        )
        compared += 1
    assert compared >= 12


@pytest.mark.parametrize("shape", [(2, 4, 4), (3, 3, 3, 3), (2, 6, 5)])
@pytest.mark.parametrize("seed", range(3))
def test_every_settled_replicator_end_is_a_nash_equilibrium(shape: tuple[int, ...], seed: int) -> None:
    """The folk theorem: an interior trajectory that converges converges to a Nash equilibrium.
    So every basin of interior starts is one (no pause near a non-Nash rest point counts),
    and a basin with proved starts is a pure strict equilibrium."""
    payoffs = np.random.default_rng(seed).integers(-3, 4, size=shape).astype(float)
    game = NormalFormGame(payoffs)
    reached = evolutionary_dynamics(game, DynamicsOptions(samples=32, seed=seed, populations="multi"))
    ranges = game.player_scales
    for basin in reached.basins:
        regrets = certify(game, basin.strategies).regrets
        assert np.all(regrets <= 1e-3 * ranges + 1e-12), regrets
        if basin.certified:
            assert all(np.count_nonzero(s) == 1 for s in basin.strategies)
            profile = tuple(int(np.argmax(s)) for s in basin.strategies)
            for i in range(game.n_players):  # each action the unique best reply
                others = list(basin.strategies)
                u = deviation_payoffs(game, others, i)
                assert np.sum(u >= u[profile[i]]) == 1
    assert reached.unsettled + sum(b.count for b in reached.basins) == 32


def test_cycles_and_heteroclinic_pauses_do_not_settle() -> None:
    """Rock-paper-scissors conserves x_R x_P x_S under the replicator dynamic: no interior start
    converges. With losses larger than wins the trajectories spiral out to the boundary's
    cycle of pure profiles, pausing longer and longer near each: none is Nash, none settles."""
    for populations in ("single", "multi"):
        reached = evolutionary_dynamics(
            NormalFormGame.from_bimatrix(RPS, -RPS), DynamicsOptions(samples=16, populations=populations)
        )
        assert reached.unsettled == 16 and reached.basins == ()
    losing = np.array([[0, -2, 1], [1, 0, -2], [-2, 1, 0]], dtype=float)
    reached = evolutionary_dynamics(
        NormalFormGame.from_bimatrix(losing, losing.T), DynamicsOptions(samples=16, horizon=2000.0)
    )
    assert reached.unsettled == 16 and reached.basins == ()


def test_a_start_on_a_face_stays_on_it() -> None:
    """The replicator dynamic never leaves the face it starts on: rock against paper alone ends
    at paper, a rest point that is Nash on the face (settled) but not in the game."""
    game = NormalFormGame.from_bimatrix(RPS, RPS.T)
    reached = evolutionary_dynamics(game, DynamicsOptions(starts=(((0.5, 0.5, 0.0),),)))
    assert reached.unsettled == 0 and len(reached.basins) == 1
    basin = reached.basins[0]
    np.testing.assert_allclose(basin.strategies[0], [0.0, 1.0, 0.0], atol=1e-4)
    assert basin.certified == 0 and basin.nash_conv == pytest.approx(2.0, abs=1e-3)


def test_logit_rest_points_are_logit_equilibria() -> None:
    """Each logit basin's centre is a fixed point of the logit response on unit payoffs."""
    for seed in range(3):
        game = NormalFormGame(np.random.default_rng(seed).normal(size=(2, 3, 4)) * 10.0**seed)
        reached = evolutionary_dynamics(game, DynamicsOptions(rule="logit", temperature=0.2, samples=16))
        assert reached.unsettled == 0 and reached.temperature == 0.2
        unit = game.unit_game
        for basin in reached.basins:
            for i, x in enumerate(basin.strategies):
                u = deviation_payoffs(unit, list(basin.strategies), i) / 0.2
                response = np.exp(u - u.max())
                np.testing.assert_allclose(x, response / response.sum(), atol=1e-6)


@pytest.mark.parametrize(
    ("a", "b", "populations", "equilibrium"),
    [
        (np.array([[1.0, -1.0], [-1.0, 1.0]]), None, "multi", [[0.5, 0.5], [0.5, 0.5]]),
        (RPS, None, "single", [[1 / 3] * 3, [1 / 3] * 3]),
        (RPS, None, "multi", [[1 / 3] * 3, [1 / 3] * 3]),
    ],
)
def test_best_response_reaches_the_equilibrium_of_zero_sum_games(a, b, populations, equilibrium) -> None:
    """The best-response dynamic converges to the equilibrium of a zero-sum game (Hofbauer and
    Sorin 2006): every start settles there, within the chatter of the Euler steps."""
    game = NormalFormGame.from_bimatrix(a, -a if b is None else b)
    reached = evolutionary_dynamics(
        game, DynamicsOptions(rule="best_response", samples=16, populations=populations)
    )
    assert reached.unsettled == 0 and len(reached.basins) == 1
    for x, want in zip(reached.basins[0].strategies, equilibrium, strict=True):
        np.testing.assert_allclose(x, want, atol=reached.settle_radius)
    assert reached.basins[0].nash_conv <= 0.05 * game.payoff_scale


def test_scale_and_shift_of_one_player_change_nothing() -> None:
    rng = np.random.default_rng(11)
    payoffs = rng.normal(size=(3, 3, 2, 3))
    game = NormalFormGame(payoffs)
    moved = payoffs * np.array([1e-9, 1e9, 1.0]).reshape(3, 1, 1, 1) + np.array([5.0, -7.0, 1e3]).reshape(
        3, 1, 1, 1
    )
    for rule in ("replicator", "logit", "best_response"):
        options = DynamicsOptions(rule=rule, samples=12, seed=3, horizon=60.0)
        one, two = evolutionary_dynamics(game, options), evolutionary_dynamics(NormalFormGame(moved), options)
        np.testing.assert_array_equal(one.outcomes, two.outcomes)
        assert [(b.count, b.certified) for b in one.basins] == [(b.count, b.certified) for b in two.basins]
        for p, q in zip(one.basins, two.basins, strict=True):  # ends differ by round-off only
            for x, y in zip(p.strategies, q.strategies, strict=True):
                np.testing.assert_allclose(x, y, atol=1e-6)


def test_three_players_coordinating_reach_the_diagonal() -> None:
    """Three players paid 1 when all choose alike: the strict equilibria are the diagonal
    profiles, and every start is proved to reach one of them."""
    payoffs = np.zeros((3, 3, 3, 3))
    for k in range(3):
        payoffs[:, k, k, k] = 1.0
    reached = evolutionary_dynamics(NormalFormGame(payoffs), DynamicsOptions(samples=48, seed=1))
    assert reached.unsettled == 0 and not reached.single_population
    for basin in reached.basins:
        profile = {int(np.argmax(s)) for s in basin.strategies}
        assert len(profile) == 1 and basin.certified == basin.count


def test_the_trapping_box_margin_is_its_minimum_over_the_box() -> None:
    """``_box_margin`` against the definition: the smallest gain of ``s_i`` over every other
    action at every product of the box's vertices, evaluated with the game's own payoffs."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        tensor = rng.normal(size=(3, 2, 4))
        s = tuple(int(rng.integers(k)) for k in tensor.shape)
        theta = tuple(float(t) for t in rng.uniform(0.3, 1.0, size=3))
        game = NormalFormGame(np.stack([tensor] * 3))
        for player in range(3):
            vertices = []
            for q, m in enumerate(tensor.shape):
                options = []
                for b in range(m):
                    y = np.zeros(m)
                    y[s[q]] += theta[q]
                    y[b] += 1.0 - theta[q]
                    options.append(y)
                vertices.append(options)
            smallest = math.inf
            for profile in itertools.product(*vertices):
                u = deviation_payoffs(game, list(profile), player)
                gains = u[s[player]] - np.delete(u, s[player])
                smallest = min(smallest, float(gains.min()))
            assert module._box_margin(tensor, player, s, theta) == pytest.approx(smallest, abs=1e-12)


def test_sampled_shares_carry_the_wilson_interval() -> None:
    game, _ = _coordination(0)
    reached = evolutionary_dynamics(game, DynamicsOptions(samples=300, seed=9, populations="multi"))
    assert reached.starts == "sample" and reached.n_starts == 300
    for basin in reached.basins:
        interval = scipy.stats.binomtest(basin.count, 300).proportion_ci(0.95, method="wilson")
        assert (basin.low, basin.high) == pytest.approx((interval.low, interval.high), abs=1e-4)


def test_a_grid_has_every_interior_lattice_point() -> None:
    game = NormalFormGame(np.random.default_rng(0).normal(size=(2, 3, 4)))
    reached = evolutionary_dynamics(game, DynamicsOptions(grid=6, horizon=5.0))
    assert reached.starts == "grid" and reached.n_starts == math.comb(5, 2) * math.comb(5, 3)
    lattice = module._lattice(6, 3)
    assert lattice.shape == (10, 3) and np.all(lattice > 0) and np.allclose(lattice.sum(axis=1), 1.0)
    assert len({tuple(p) for p in lattice}) == 10


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (DynamicsOptions(rule="fictitious"), "replicator_dynamics.rule"),
        (DynamicsOptions(temperature=0.0), "replicator_dynamics.temperature"),
        (DynamicsOptions(horizon=float("nan")), "replicator_dynamics.horizon"),
        (DynamicsOptions(horizon=2e6), "replicator_dynamics.horizon"),
        (DynamicsOptions(samples=0), "replicator_dynamics.samples"),
        (DynamicsOptions(samples=True), "replicator_dynamics.samples"),
        (DynamicsOptions(seed=-1), "replicator_dynamics.seed"),
        (DynamicsOptions(grid=1), "replicator_dynamics.grid"),
        (DynamicsOptions(grid=2), "replicator_dynamics.grid"),  # no interior point for 3 strategies
        (DynamicsOptions(populations="two"), "replicator_dynamics.populations"),
        (DynamicsOptions(populations="single"), "replicator_dynamics.populations"),
        (DynamicsOptions(starts=(((0.5, 0.5),),)), "replicator_dynamics.starts[0]"),
        (DynamicsOptions(starts=(((0.5, 0.5, 0.0), (0.5, 0.6)),)), "replicator_dynamics.starts[0]"),
        (DynamicsOptions(starts=((("a",),),)), "replicator_dynamics.starts"),
    ],
)
def test_bad_options_name_the_field(options: DynamicsOptions, field: str) -> None:
    game = NormalFormGame(np.random.default_rng(0).normal(size=(2, 3, 2)))
    with pytest.raises(InvalidOptionError) as refused:
        evolutionary_dynamics(game, options)
    assert refused.value.field == field


def test_too_much_work_is_refused_and_the_time_limit_stops_the_run() -> None:
    game = NormalFormGame(np.random.default_rng(0).normal(size=(2, 40, 40)))
    with pytest.raises(ProblemTooLargeError):
        evolutionary_dynamics(game, DynamicsOptions(samples=module.MAX_WORK // 1600 + 1))
    evolutionary_dynamics(game, DynamicsOptions(samples=module.MAX_WORK // 1600, horizon=1.0))  # at the limit
    result = solve(game, ["replicator_dynamics"], dynamics=DynamicsOptions(samples=64), time_limit=1e-6)
    reached = result.dynamics
    assert reached is not None and reached.ended_by == "time_limit" and reached.unsettled > 0
    status = result.concept_status[0]
    assert status.status == "partial" and "time limit" in status.reason
    assert any("time limit" in w for w in result.warnings)


def test_the_defaults_are_the_documented_ones() -> None:
    """Horizon 200 at Runge-Kutta steps of 0.1 (replicator), min(0.1, tau) (logit) and Euler
    steps of 0.005 (best response); the horizon's upper bound is inclusive; a grid needs a
    step below 1; given starts of one population may repeat its strategy for both players."""
    game, _ = _coordination(1)
    reached = evolutionary_dynamics(game, DynamicsOptions(samples=4))
    assert (reached.horizon, reached.step, reached.settle_radius, reached.seed) == (200.0, 0.1, 1e-4, 0)
    logit = evolutionary_dynamics(
        game, DynamicsOptions(rule="logit", temperature=0.04, samples=4, horizon=10.0)
    )
    assert logit.step == 0.04 and logit.temperature == 0.04
    best = evolutionary_dynamics(game, DynamicsOptions(rule="best_response", samples=4, horizon=10.0))
    assert (best.step, best.settle_radius, best.temperature) == (0.005, 0.06, 0.0)
    assert DynamicsOptions(horizon=module.MAX_HORIZON).checked().horizon == module.MAX_HORIZON
    with pytest.raises(InvalidOptionError, match="step 1/1 has no interior point"):
        DynamicsOptions(grid=1).checked()
    assert DynamicsOptions(grid=2).checked().grid == 2  # a 2-strategy simplex has the point (1/2, 1/2)
    twice = evolutionary_dynamics(game, DynamicsOptions(starts=(((0.9, 0.1), (0.9, 0.1)),)))
    once = evolutionary_dynamics(game, DynamicsOptions(starts=(((0.9, 0.1),),)))
    assert twice.single_population and twice.n_starts == once.n_starts == 1
    np.testing.assert_array_equal(twice.basins[0].strategies[0], once.basins[0].strategies[0])
    with pytest.raises(InvalidOptionError) as refused:
        evolutionary_dynamics(game, DynamicsOptions(starts=(((0.9, 0.1), (0.8, 0.2)),)))
    assert refused.value.field == "replicator_dynamics.starts[0]"


def test_basins_take_the_index_and_certificate_of_the_sets_equilibria() -> None:
    """A rest point that is one of the given equilibria is linked to it (within 1e-3) and
    takes its strategies and NashConv; the others keep their own certificate."""
    game, mixed = _coordination(2)
    found = solve(game, ["nash"]).equilibria
    reached = evolutionary_dynamics(game, DynamicsOptions(grid=40), equilibria=found)
    assert {b.equilibrium_index for b in reached.basins} <= set(range(len(found)))
    for basin in reached.basins:
        eq = found[basin.equilibrium_index]
        assert basin.strategies is eq.strategies and basin.nash_conv == eq.nash_conv
    alone = evolutionary_dynamics(game, DynamicsOptions(grid=40))
    assert all(b.equilibrium_index is None for b in alone.basins)
    assert [b.count for b in alone.basins] == [b.count for b in reached.basins]
