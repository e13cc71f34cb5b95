"""Equilibria of a noisy meta-game (:mod:`equilibria.solver.concepts.noisy`): the sample
accumulator against numpy on any split of the samples, exact payoffs, a closed-form case, the
intervals' coverage by simulation (the true game drawn here, the means sampled here), a Monte
Carlo written here with loops, the analytic bounds and tests against their definitions, scale
and shift of one player, seeds, the refusals and the limits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.concepts import noisy as module
from equilibria.solver.concepts.noisy import NoiseOptions, noisy_equilibria
from equilibria.solver.concepts.payoff_samples import PayoffSamples
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError

# -- oracles: plain loops over joint actions ---------------------------------------------------


def _joint(profile, shape) -> dict[tuple[int, ...], float]:
    return {
        a: math.prod(profile[i][a[i]] for i in range(len(shape)))
        for a in itertools.product(*map(range, shape))
    }


def _payoff(u: np.ndarray, i: int, profile) -> float:
    """``u_i(σ)`` by a loop over joint actions."""
    return sum(p * u[i][a] for a, p in _joint(profile, u.shape[1:]).items())


def _regrets(u: np.ndarray, profile) -> np.ndarray:
    """Each player's regret by a loop: its best pure deviation's payoff minus its payoff."""
    n = u.shape[0]
    out = np.zeros(n)
    for i in range(n):
        best = -math.inf
        for action in range(u.shape[1 + i]):
            pure = np.zeros(u.shape[1 + i])
            pure[action] = 1.0
            best = max(best, _payoff(u, i, [pure if j == i else profile[j] for j in range(n)]))
        out[i] = max(best - _payoff(u, i, profile), 0.0)
    return out


def _pure_verdicts(game: NormalFormGame, se: np.ndarray, confidence: float, tol: float = 1e-9):
    """Every pure profile's verdict by a loop over its unilateral deviations (scipy's quantile)."""
    u, shape = game.payoffs, game.num_actions
    floors = game.regret_tolerances(tol)
    m = sum(k - 1 for k in shape)
    z = scipy.stats.norm.ppf(1.0 - (1.0 - confidence) / m) if m else 0.0
    verdicts = {}
    for a in itertools.product(*map(range, shape)):
        worse, better = True, False
        for i, k in enumerate(shape):
            for b in range(k):
                if b == a[i]:
                    continue
                other = a[:i] + (b,) + a[i + 1 :]
                gain = u[i][other] - u[i][a]
                margin = z * math.hypot(se[i][other], se[i][a]) + floors[i]
                worse = worse and gain < -margin
                better = better or gain > margin
        verdicts[a] = "equilibrium" if worse else "not_equilibrium" if better else "undecided"
    return verdicts


def _profile(rng: np.random.Generator, shape) -> tuple[np.ndarray, ...]:
    return tuple(rng.dirichlet(np.ones(k)) for k in shape)


def _pure(shape, actions) -> tuple[np.ndarray, ...]:
    return tuple(np.eye(k)[a] for k, a in zip(shape, actions, strict=True))


# -- the accumulator ------------------------------------------------------------------------------


def _random_samples(rng: np.random.Generator, shape, k: int, offset: float = 0.0):
    """``k`` samples in a random order: none at the last joint action, one at the one before."""
    n, joint = len(shape), math.prod(shape)
    flat = rng.permutation(np.append(rng.integers(0, joint - 2, size=k - 1), joint - 2))
    profiles = np.stack(np.unravel_index(flat, shape), axis=1)
    returns = offset + rng.normal(size=(k, n)) * rng.uniform(0.5, 3.0, size=n) + profiles.sum(axis=1)[:, None]
    return profiles, returns


def _numpy_statistics(shape, profiles, returns):
    """Counts, means, unbiased variances and standard errors per entry by numpy on each entry's samples."""
    n = len(shape)
    counts = np.zeros(shape, dtype=np.int64)
    means = np.full((n, *shape), np.nan)
    variances = np.full((n, *shape), np.nan)
    errors = np.full((n, *shape), np.inf)
    for a in itertools.product(*map(range, shape)):
        rows = returns[np.all(profiles == np.array(a), axis=1)]
        counts[a] = len(rows)
        if len(rows):
            means[(slice(None), *a)] = rows.mean(axis=0)
        if len(rows) >= 2:
            variances[(slice(None), *a)] = rows.var(axis=0, ddof=1)
            errors[(slice(None), *a)] = np.sqrt(rows.var(axis=0, ddof=1) / len(rows))
    return counts, means, variances, errors


@pytest.mark.parametrize("shape", [(2, 3), (3, 2, 2), (1, 4)])
@pytest.mark.parametrize("seed", range(3))
def test_samples_in_any_split_and_order_give_numpys_statistics(shape, seed: int) -> None:
    """Chunks of random sizes added in a random order, and the same chunks spread over
    several accumulators then merged, give numpy's mean and unbiased variance of each entry's
    samples (NaN variance and inf standard error below 2 samples, NaN mean at none)."""
    rng = np.random.default_rng(seed)
    profiles, returns = _random_samples(
        rng, shape, 60, offset=1e6
    )  # a large offset: no naive sums of squares
    expected = _numpy_statistics(shape, profiles, returns)
    cuts = np.sort(rng.choice(np.arange(1, 60), size=7, replace=False))
    chunks = list(zip(np.split(profiles, cuts), np.split(returns, cuts), strict=True))
    one = PayoffSamples(shape)
    for index in rng.permutation(len(chunks)):
        one.add(*chunks[index])
    parts = [PayoffSamples(shape, len(shape)) for _ in range(3)]
    for index, chunk in enumerate(chunks):
        parts[index % 3].add(*chunk)
    merged = PayoffSamples(shape)
    for part in (parts[2], parts[0], parts[1]):
        merged.merge(part)
    whole = PayoffSamples(shape)
    whole.add(profiles, returns)
    for samples in (one, merged, whole):
        counts, means, variances, errors = expected
        np.testing.assert_array_equal(samples.counts, counts)
        assert samples.counts.sum() == 60 and (counts < 2).any()  # some entries have fewer than 2
        np.testing.assert_allclose(samples.means, means, rtol=1e-13, equal_nan=True)
        np.testing.assert_allclose(samples.variances, variances, rtol=1e-7, equal_nan=True)
        np.testing.assert_allclose(samples.standard_errors, errors, rtol=1e-7)
        assert (
            np.isnan(samples.variances[:, counts < 2]).all()
            and np.isinf(samples.standard_errors[:, counts < 2]).all()
        )
        assert np.isnan(samples.means[:, counts == 0]).all()


def test_the_variance_is_stable_far_from_zero_and_exact_for_equal_returns() -> None:
    """Returns of 1e9 with a spread of 1e-3, added one at a time: the textbook sum of squares
    loses every digit; the merge keeps the variance. Equal returns have variance exactly 0."""
    rng = np.random.default_rng(5)
    values = 1e9 + rng.normal(scale=1e-3, size=(200, 2))
    samples = PayoffSamples((1, 1))
    for row in values:
        samples.add([[0, 0]], row[None])
    np.testing.assert_allclose(samples.variances[:, 0, 0], values.var(axis=0, ddof=1), rtol=1e-3)
    naive = (np.sum(values**2, axis=0) - np.sum(values, axis=0) ** 2 / 200) / 199
    assert not np.allclose(naive, values.var(axis=0, ddof=1), rtol=1e-2)  # the trap is real
    equal = PayoffSamples((2, 2))
    for _ in range(3):
        equal.add([[1, 0]] * 7, [[0.1, -3.3]] * 7)
    assert equal.variances[:, 1, 0].tolist() == [0.0, 0.0] and equal.means[:, 1, 0].tolist() == [0.1, -3.3]


def test_the_game_of_the_means_and_its_refusal() -> None:
    samples = PayoffSamples((2, 2))
    samples.add([[0, 0], [0, 1], [1, 0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with pytest.raises(
        InvalidOptionError, match=r"1 joint actions have no sample, the first \(1, 1\)"
    ) as error:
        samples.game()
    assert error.value.field == "samples"
    samples.add(np.array([[1, 1]], dtype=np.int8), [[7.0, 8.0]])
    game = samples.game(title="meta")
    np.testing.assert_array_equal(game.payoffs, [[[1, 3], [5, 7]], [[2, 4], [6, 8]]])
    assert game.title == "meta"
    samples.add(np.zeros((0, 2), dtype=int), np.zeros((0, 2)))  # an empty batch records nothing
    samples.add([], [])
    assert samples.counts.sum() == 4


@pytest.mark.parametrize(
    ("profiles", "returns", "field", "match"),
    [
        ([[0.0, 1.0]], [[1.0, 1.0]], "samples.profiles", "integer array"),
        ([[True, False]], [[1.0, 1.0]], "samples.profiles", "integer array"),
        ([0, 1], [[1.0, 1.0]], "samples.profiles", r"shape \(2,\)"),
        ([[0, 1, 0]], [[1.0, 1.0]], "samples.profiles", r"shape \(1, 3\)"),
        (
            [[0, 1], [2, 0]],
            [[1.0, 1.0], [1.0, 1.0]],
            "samples.profiles",
            r"sample 1 has the joint action \[2, 0\]",
        ),
        ([[0, -1]], [[1.0, 1.0]], "samples.profiles", "outside the actions"),
        ([[0, 1]], [[1.0, 1.0, 1.0]], "samples.returns", r"shape \(1, 3\), expected \(1, 2\)"),
        ([[0, 1], [0, 0]], [[1.0, 1.0]], "samples.returns", "expected"),
        ([[0, 1]], [["a", 1.0]], "samples.returns", "not a numeric array"),
        ([[0, 1]], [[1.0, np.nan]], "samples.returns", "player 1"),
        ([[0, 1]], [[np.inf, 1.0]], "samples.returns", "not a finite number"),
        ([[0, 1]], [[1e151, 1.0]], "samples.returns", "at most 1e\\+150"),
    ],
)
def test_bad_samples_name_the_field_and_record_nothing(profiles, returns, field: str, match: str) -> None:
    samples = PayoffSamples((2, 3))
    samples.add([[1, 2]], [[1.0, 1.0]])
    with pytest.raises(InvalidOptionError, match=match) as error:
        samples.add(profiles, returns)
    assert error.value.field == field
    assert samples.counts.sum() == 1 and samples.counts[1, 2] == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (((2,),), "samples.num_actions"),
        (((2, 0),), "samples.num_actions"),
        (("22",), "samples.num_actions"),
        (((2, 2.0),), "samples.num_actions"),
        (((2, 2), 3), "samples.n_players"),
        (((2, 2), True), "samples.n_players"),
    ],
)
def test_bad_accumulators_name_the_field(args, field: str) -> None:
    with pytest.raises(InvalidOptionError) as error:
        PayoffSamples(*args)
    assert error.value.field == field


def test_accumulator_limits_and_merges_of_other_shapes() -> None:
    with pytest.raises(ProblemTooLargeError) as error:
        PayoffSamples((2048, 2048, 8))
    assert error.value.field == "samples.num_actions"
    with pytest.raises(InvalidOptionError, match=r"num_actions \(2, 2\), got \(2, 3\)") as error:
        PayoffSamples((2, 2)).merge(PayoffSamples((2, 3)))
    assert error.value.field == "samples"
    with pytest.raises(InvalidOptionError) as error:
        PayoffSamples((2, 2)).merge("samples")  # type: ignore[arg-type]
    assert error.value.field == "samples"


# -- exact payoffs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "seed"), [((2, 3, 3), 0), ((2, 4, 3), 1), ((3, 2, 2, 2), 2), ((3, 2, 3, 2), 3)]
)
def test_exact_payoffs_collapse_every_interval_to_the_point(shape, seed: int) -> None:
    """With every standard error 0 each draw is the game itself: an equilibrium is an
    epsilon-equilibrium (even for epsilon 0) in every draw, a profile that is not has
    probability 0, the intervals and the analytic bound are the point; the point is the
    regret measured by loops."""
    rng = np.random.default_rng(seed)
    game = NormalFormGame(rng.normal(size=shape) * 100.0 + 7.0)
    found = solve(game).equilibria
    assert found
    other = _profile(rng, shape[1:])
    assert _regrets(game.payoffs, other).max() > 1e-3 * game.player_scales.max()
    for epsilon in (0.0, 0.01):
        noisy = noisy_equilibria(
            game, np.zeros(shape), [*found, other], NoiseOptions(epsilon=epsilon, draws=100)
        )
        assert len(noisy.equilibria) == len(found) + 1
        for result, profile in zip(noisy.equilibria, [*(e.strategies for e in found), other], strict=True):
            np.testing.assert_allclose(
                result.regrets, _regrets(game.payoffs, profile), atol=1e-9 * game.payoff_scale
            )
            # (equal up to the round-off of a matrix product batched differently)
            collapsed = {"rtol": 1e-12, "atol": 1e-12 * game.payoff_scale}
            np.testing.assert_allclose(
                [result.nash_conv_low, result.nash_conv_high], result.nash_conv, **collapsed
            )
            np.testing.assert_allclose(result.regrets_low, result.regrets, **collapsed)
            np.testing.assert_allclose(result.regrets_high, result.regrets, **collapsed)
            np.testing.assert_allclose(result.regret_upper, result.regrets, **collapsed)
            assert result.payoff_errors.tolist() == [0.0] * game.n_players
            assert (result.regrets_low >= 0.0).all() and result.nash_conv_low >= 0.0
        for result in noisy.equilibria[:-1]:
            assert result.probability_epsilon == 1.0 and result.probability_error == 0.0
        assert noisy.equilibria[-1].probability_epsilon == 0.0


def test_an_indifferent_player_has_no_regret_rather_than_a_negative_one() -> None:
    """Player 0's payoff depends on the opponent only, exactly: its mixture's payoff rounds
    one unit below its actions' (here), which is no regret, not a negative one."""
    rng = np.random.default_rng(0)
    row, column = np.tile(rng.uniform(size=3), (3, 1)), rng.uniform(size=(3, 3))
    profile = (rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3)))
    se = np.stack([np.zeros((3, 3)), np.full((3, 3), 0.1)])
    result = noisy_equilibria(NormalFormGame.from_bimatrix(row, column), se, [profile]).equilibria[0]
    assert result.regrets[0] == result.regrets_low[0] == result.regrets_high[0] == 0.0
    assert 0.0 <= result.regret_upper[0] <= 1e-15


# -- a closed form -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3])
def test_a_single_noisy_deviation_has_a_closed_form(n: int) -> None:
    """At the pure profile (0, ..., 0) only player 0's deviation to action 1 is noisy: its
    gain is X ~ N(-g, s^2) with g = 0.1, s = 0.2 (se 0.12 and 0.16), every other player's
    deviation is exactly worse. So P(regret <= eps) = P(max(0, X) <= eps) = Φ((g + eps) / s),
    the regret's q-quantile is max(0, -g + s Φ^-1(q)), and the Bonferroni bound over the one
    noisy action is max(0, -g + s Φ^-1(confidence))."""
    shape = (2,) * n
    payoffs = np.zeros((n, *shape))
    payoffs[0][(0,) * n] = 0.6
    payoffs[0][(1,) + (0,) * (n - 1)] = 0.5
    payoffs[0][(1,) * n] = 1.0  # player 0's range is 1
    for i in range(1, n):
        payoffs[i][(0,) * n] = 1.0  # strictly best for every other player
    se = np.zeros_like(payoffs)
    se[0][(0,) * n] = 0.12
    se[0][(1,) + (0,) * (n - 1)] = 0.16
    g, s, eps, confidence, draws = 0.1, 0.2, 0.05, 0.9, 20_000
    options = NoiseOptions(epsilon=eps, confidence=confidence, draws=draws, seed=11)
    noisy = noisy_equilibria(NormalFormGame(payoffs), se, [_pure(shape, (0,) * n)], options)
    result = noisy.equilibria[0]
    p = scipy.stats.norm.cdf((g + eps) / s)
    assert 0.7 < p < 0.8
    assert abs(result.probability_epsilon - p) <= 4.0 * result.probability_error
    assert result.probability_error == pytest.approx(math.sqrt(p * (1 - p) / draws), rel=0.02)
    high = -g + s * scipy.stats.norm.ppf((1 + confidence) / 2)
    density = scipy.stats.norm.pdf(scipy.stats.norm.ppf((1 + confidence) / 2)) / s
    quantile_error = math.sqrt(0.05 * 0.95 / draws) / density
    assert result.regrets_high[0] == pytest.approx(high, abs=4 * quantile_error)
    assert result.nash_conv_high == pytest.approx(high, abs=4 * quantile_error)
    assert result.regrets_low.tolist() == [0.0] * n and result.nash_conv_low == 0.0
    assert result.regrets_high[1:].tolist() == [0.0] * (n - 1)
    upper = -g + s * scipy.stats.norm.ppf(confidence)
    np.testing.assert_allclose(result.regret_upper, [upper] + [0.0] * (n - 1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(result.payoffs, [0.6] + [1.0] * (n - 1))
    np.testing.assert_allclose(result.payoff_errors, [0.12] + [0.0] * (n - 1))
    np.testing.assert_allclose(noisy.regret_thresholds, [eps, *(eps * 1.0 for _ in range(n - 1))])


# -- simulation oracles -------------------------------------------------------------------------------


def test_the_intervals_cover_the_true_regret_at_about_the_nominal_rate() -> None:
    """A true 3x3 game; 200 times, sample means are drawn around it with known standard
    errors and analysed: the true NashConv and regrets of a fixed profile (whose best
    responses are clear of ties) fall inside the 95 % intervals at about that rate."""
    rng = np.random.default_rng(2024)
    true = rng.uniform(0.0, 10.0, size=(2, 3, 3))
    se = rng.uniform(0.2, 0.5, size=true.shape)
    profile = (np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3]))
    truth = _regrets(true, profile)
    for i in range(2):  # the best deviation leads the next by many standard errors: no ties
        against = [
            _payoff(true, i, [np.eye(3)[a] if j == i else profile[j] for j in range(2)]) for a in range(3)
        ]
        lead = sorted(against)[-1] - sorted(against)[-2]
        assert lead > 1.5 and truth[i] > 1.0, (i, against)
    reps, hits, regret_hits = 200, 0, np.zeros(2)
    for r in range(reps):
        means = true + se * rng.normal(size=true.shape)
        result = noisy_equilibria(
            NormalFormGame(means), se, [profile], NoiseOptions(draws=500, seed=r)
        ).equilibria[0]
        hits += result.nash_conv_low <= truth.sum() <= result.nash_conv_high
        regret_hits += (result.regrets_low <= truth) & (truth <= result.regrets_high)
    assert 0.85 <= hits / reps <= 0.99, hits
    assert ((regret_hits / reps >= 0.85) & (regret_hits / reps <= 0.99)).all(), regret_hits


def test_the_draws_agree_with_a_monte_carlo_written_with_loops() -> None:
    """A 3-player game and a mixed profile: an independent Monte Carlo (its own draws, the
    regrets by loops over joint actions) finds the same probability of an epsilon-equilibrium
    and the same regret quantiles, within their sampling errors."""
    rng = np.random.default_rng(8)
    shape = (2, 3, 2)
    means = rng.uniform(0.0, 1.0, size=(3, *shape))
    se = rng.uniform(0.02, 0.1, size=means.shape)
    profile = _profile(rng, shape)
    game = NormalFormGame(means)
    # the threshold of the player with the largest relative regret sits at its regret on the means
    epsilon, draws = float((_regrets(means, profile) / game.player_scales).max()), 4000
    options = NoiseOptions(epsilon=epsilon, confidence=0.8, draws=draws, seed=3)
    result = noisy_equilibria(game, se, [profile], options).equilibria[0]
    own = np.random.default_rng(99)
    regrets = np.array([_regrets(means + se * own.normal(size=means.shape), profile) for _ in range(1500)])
    p = np.mean(np.all(regrets <= epsilon * game.player_scales, axis=1))
    assert 0.1 < p < 0.9
    error = math.hypot(result.probability_error, math.sqrt(p * (1 - p) / 1500))
    assert abs(result.probability_epsilon - p) <= 4.0 * error
    # A 10 % quantile's sampling error is about 0.045 standard deviations from 1500 draws and
    # 0.027 from 4000: both together 0.05, so 5 of them is a quarter of the spread.
    spread = regrets.std(axis=0)
    for q, ours in ((0.1, result.regrets_low), (0.9, result.regrets_high)):
        theirs = np.quantile(regrets, q, axis=0)
        assert (np.abs(ours - theirs) <= 0.25 * spread).all(), (q, ours, theirs, spread)
    np.testing.assert_allclose(result.nash_conv_high, np.quantile(regrets.sum(axis=1), 0.9), rtol=0.05)


def _upper_by_loops(u: np.ndarray, se: np.ndarray, profile, confidence: float) -> np.ndarray:
    """Per player, max(0, max_a gap_a + z sd_a): each gain's coefficients on every joint action
    by a loop, its variance Σ c^2 se^2, z Bonferroni over the actions whose gain is noisy."""
    n, shape = u.shape[0], u.shape[1:]
    out = np.zeros(n)
    for i in range(n):
        bounds, noisy = [], 0
        for action in range(shape[i]):
            gap, variance = 0.0, 0.0
            for a in itertools.product(*map(range, shape)):
                others = math.prod(profile[j][a[j]] for j in range(n) if j != i)
                c = ((a[i] == action) - profile[i][a[i]]) * others
                gap += c * u[i][a]
                variance += c * c * se[i][a] ** 2
            noisy += variance > 0
            bounds.append((gap, math.sqrt(variance)))
        z = scipy.stats.norm.ppf(1 - (1 - confidence) / max(noisy, 1))
        out[i] = max(0.0, max(gap + z * sd for gap, sd in bounds))
    return out


@pytest.mark.parametrize(("shape", "seed"), [((2, 3, 3), 0), ((2, 2, 4), 1), ((3, 2, 2, 3), 2)])
def test_the_analytic_bound_is_its_definition_and_bounds_the_bootstrap_quantile(shape, seed: int) -> None:
    """``regret_upper`` at confidence c is the Bonferroni bound computed by loops, and it bounds
    the bootstrap's c-quantile of the regret: the upper end of the interval at confidence
    2c - 1. The bound is exact where one action's gain alone is noisy, so it is taken at
    c + 0.02, past the c-quantile's Monte Carlo error (3000 draws: 0.0055 in probability).
    The payoffs and their standard errors are the loops'."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.0, 1.0, size=shape)
    se = rng.uniform(0.0, 0.15, size=shape) * (rng.uniform(size=shape) < 0.8)
    game = NormalFormGame(means)
    profiles = [_profile(rng, shape[1:]) for _ in range(3)] + [e.strategies for e in solve(game).equilibria]
    for c in (0.9, 0.95):
        bound = noisy_equilibria(game, se, profiles, NoiseOptions(confidence=c + 0.02, draws=3000, seed=seed))
        quantile = noisy_equilibria(
            game, se, profiles, NoiseOptions(confidence=2 * c - 1, draws=3000, seed=seed)
        )
        for b, q, profile in zip(bound.equilibria, quantile.equilibria, profiles, strict=True):
            expected = _upper_by_loops(means, se, profile, c + 0.02)
            np.testing.assert_allclose(b.regret_upper, expected, rtol=1e-10, atol=1e-14)
            assert (q.regrets_high <= b.regret_upper).all(), (q.regrets_high, b.regret_upper)
            payoffs = [_payoff(means, i, profile) for i in range(len(shape) - 1)]
            errors = [
                math.sqrt(sum(p * p * se[i][a] ** 2 for a, p in _joint(profile, shape[1:]).items()))
                for i in range(len(shape) - 1)
            ]
            np.testing.assert_allclose(b.payoffs, payoffs, rtol=1e-12)
            np.testing.assert_allclose(b.payoff_errors, errors, rtol=1e-12)


# -- comparisons between profiles ------------------------------------------------------------------------


def test_profiles_with_equal_payoffs_are_not_distinguishable_and_far_ones_are() -> None:
    """Both diagonals of a coordination game pay (1, 1): never distinguishable, however small
    the noise (exact payoffs included); (10, 10) against (1, 1) with standard errors 0.1 is.
    A profile is never distinguishable from itself, and the matrix is symmetric."""
    payoff = np.diag([1.0, 1.0, 10.0])
    game = NormalFormGame(np.stack([payoff, payoff]))
    profiles = [_pure((3, 3), (0, 0)), _pure((3, 3), (1, 1)), _pure((3, 3), (2, 2)), _pure((3, 3), (0, 0))]
    for scale in (0.0, 1e-6, 0.1):
        noisy = noisy_equilibria(game, np.full((2, 3, 3), scale), profiles)
        expected = np.array([[0, 0, 1, 0], [0, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=bool)
        np.testing.assert_array_equal(noisy.distinguishable, expected)
    huge = noisy_equilibria(game, np.full((2, 3, 3), 10.0), profiles)
    assert not huge.distinguishable.any()


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_distinguishable_at_the_bonferroni_quantile_over_the_players(n: int, confidence: float) -> None:
    """Profiles (0, ..., 0) and (1, ..., 1): player 0's payoffs differ by d with standard
    deviation s√2, the others' not at all (but noisily). They are distinguishable exactly
    when d exceeds scipy's two-sided Bonferroni quantile over n players times s√2."""
    s = 0.3
    z = scipy.stats.norm.ppf(1 - (1 - confidence) / (2 * n))
    shape = (2,) * n
    profiles = [_pure(shape, (0,) * n), _pure(shape, (1,) * n)]
    for factor, expected in ((1 + 1e-6, True), (1 - 1e-6, False)):
        d = z * s * math.sqrt(2) * factor
        payoffs = np.zeros((n, *shape))
        payoffs[0][(0,) * n] = d
        payoffs[0][(0,) + (1,) * (n - 1)] = 2 * d  # player 0's range is 2d
        for i in range(1, n):
            payoffs[i][(0,) * n] = payoffs[i][(1,) * n] = 1.0
        se = np.full_like(payoffs, 5.0)
        se[0][(0,) * n] = se[0][(1,) * n] = s
        noisy = noisy_equilibria(NormalFormGame(payoffs), se, profiles, NoiseOptions(confidence=confidence))
        assert noisy.distinguishable[0, 1] == noisy.distinguishable[1, 0] == expected, (factor, d)


def test_distinguishable_against_a_loop_for_mixed_profiles() -> None:
    """Mixed profiles near one another in a 3-player game: every pair's verdict is the loop's
    (each player's payoff difference against z times sqrt(Σ_a (p_k(a) - p_l(a))^2 se_i(a)^2))."""
    rng = np.random.default_rng(12)
    shape = (3, 2, 3, 2)
    means = rng.uniform(0.0, 1.0, size=shape)
    se = rng.uniform(0.0, 0.3, size=shape)
    centre = _profile(rng, shape[1:])
    profiles = [
        tuple(0.6 * x + 0.4 * y for x, y in zip(centre, _profile(rng, shape[1:]), strict=True))
        for _ in range(8)
    ]
    game = NormalFormGame(means)
    noisy = noisy_equilibria(game, se, profiles)
    z = scipy.stats.norm.ppf(1 - 0.05 / (2 * 3))
    floors = game.regret_tolerances(1e-9)
    expected = np.zeros((8, 8), dtype=bool)
    for first, second in itertools.product(range(8), repeat=2):
        p, q = _joint(profiles[first], shape[1:]), _joint(profiles[second], shape[1:])
        for i in range(3):
            gap = abs(_payoff(means, i, profiles[first]) - _payoff(means, i, profiles[second]))
            sd = math.sqrt(sum((p[a] - q[a]) ** 2 * se[i][a] ** 2 for a in p))
            expected[first, second] |= gap > z * sd + floors[i]
    np.testing.assert_array_equal(noisy.distinguishable, expected)
    assert 0 < expected.sum() < 56  # some pairs are, some are not


def test_differences_of_round_off_are_ties() -> None:
    """Exact payoffs 0.1 + 0.2 and 0.3 differ by one rounding: no profile is distinguishable
    by them and no deviation between them is significant; a difference of 1e-6 of the range is."""
    for gap, significant in ((0.1 + 0.2 - 0.3, False), (1e-6, True)):
        a = np.array([[0.3 + gap, 0.0], [0.3, 1.0]])
        b = np.array([[1.0, 0.0], [1.0, 0.0]])
        game = NormalFormGame.from_bimatrix(a, b)
        profiles = [_pure((2, 2), (0, 0)), _pure((2, 2), (1, 0))]
        noisy = noisy_equilibria(game, np.zeros((2, 2, 2)), profiles)
        assert noisy.distinguishable[0, 1] == significant
        assert noisy.pure_equilibria == (((0, 0),) if significant else ())
        assert noisy.pure_undecided_count == (0 if significant else 2)


# -- pure profiles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "seed"),
    [((2, 3, 4), 0), ((2, 4, 4), 1), ((3, 2, 3, 2), 2), ((3, 3, 2, 2), 3), ((2, 1, 3), 6), ((3, 2, 2, 2), 5)],
)
@pytest.mark.parametrize("confidence", [0.8, 0.95])
def test_pure_verdicts_against_a_loop(shape, seed: int, confidence: float) -> None:
    """Payoffs from {0, 1, 2} (ties everywhere) and standard errors 0 (two in five: exact ties
    stay undecided) or in [0.05, 0.8]: every pure profile's verdict is the loop's."""
    rng = np.random.default_rng(seed)
    game = NormalFormGame(rng.integers(0, 3, size=shape).astype(float))
    se = rng.uniform(0.05, 0.8, size=shape) * (rng.uniform(size=shape) < 0.6)
    noisy = noisy_equilibria(game, se, [], NoiseOptions(confidence=confidence))
    verdicts = _pure_verdicts(game, se, confidence)
    listed = tuple(a for a, v in verdicts.items() if v == "equilibrium")
    assert noisy.pure_equilibria == listed and noisy.pure_listing_complete
    counts = [
        sum(v == name for v in verdicts.values()) for name in ("equilibrium", "not_equilibrium", "undecided")
    ]
    assert [
        noisy.pure_equilibrium_count,
        noisy.pure_not_equilibrium_count,
        noisy.pure_undecided_count,
    ] == counts
    assert counts[1] > 0 and counts[0] + counts[2] > 0
    assert noisy.equilibria == () and noisy.distinguishable.shape == (0, 0)


def test_exact_pure_verdicts_are_strict_weak_and_not_equilibria() -> None:
    """With exact payoffs a strict equilibrium is an equilibrium, a weak one (a tie) undecided
    and any other profile not an equilibrium; a game where no one can deviate has its one
    profile as an equilibrium."""
    a = np.array([[3.0, 0.0], [3.0, 1.0]])  # row player: (0, 0) ties with (1, 0)
    b = np.array([[2.0, 0.0], [0.0, 1.0]])
    noisy = noisy_equilibria(NormalFormGame.from_bimatrix(a, b), np.zeros((2, 2, 2)), [])
    assert noisy.pure_equilibria == ((1, 1),)
    assert (noisy.pure_equilibrium_count, noisy.pure_not_equilibrium_count, noisy.pure_undecided_count) == (
        1,
        2,
        1,
    )
    single = noisy_equilibria(NormalFormGame(np.ones((2, 1, 1))), np.ones((2, 1, 1)), [])
    assert single.pure_equilibria == ((0, 0),) and single.pure_equilibrium_count == 1


def test_the_listing_is_capped_and_the_count_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    game = NormalFormGame(np.stack([np.eye(4), np.eye(4)]))
    monkeypatch.setattr(module, "MAX_LISTED", 3)
    noisy = noisy_equilibria(game, np.zeros((2, 4, 4)), [])
    assert noisy.pure_equilibria == ((0, 0), (1, 1), (2, 2)) and noisy.pure_equilibrium_count == 4
    assert not noisy.pure_listing_complete


# -- scale, shift, seeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "seed"), [((2, 3, 3), 0), ((3, 2, 2, 3), 1)])
def test_scaling_and_shifting_one_player_changes_no_verdict(shape, seed: int) -> None:
    """Each player's payoffs and standard errors times 1e-9 or 1e9 (and payoffs shifted): the
    probabilities, the distinguishable pairs and the pure verdicts are the same; the regrets,
    bounds, thresholds and payoffs follow each player's map."""
    rng = np.random.default_rng(seed)
    n = shape[0]
    means = rng.uniform(0.0, 1.0, size=shape)
    se = rng.uniform(0.0, 0.2, size=shape) * (rng.uniform(size=shape) < 0.8)
    game = NormalFormGame(means)
    profiles = [e.strategies for e in solve(game).equilibria] + [_profile(rng, shape[1:])]
    options = NoiseOptions(epsilon=0.05, draws=500, seed=4)
    base = noisy_equilibria(game, se, profiles, options)
    assert 0 < sum(e.probability_epsilon for e in base.equilibria) < len(profiles)  # some draws fail
    assert base.pure_not_equilibrium_count > 0
    for factors in ([1e-9] * n, [1e9] * n, [1e-9, 1e9, 1.0][:n], [1e9, 1e-9, 3.0][:n]):
        factor = np.array(factors).reshape(-1, *([1] * (n)))
        shift = 7.0 * factor
        moved = noisy_equilibria(NormalFormGame(means * factor + shift), se * factor, profiles, options)
        np.testing.assert_array_equal(moved.distinguishable, base.distinguishable)
        assert moved.pure_equilibria == base.pure_equilibria
        assert moved.pure_undecided_count == base.pure_undecided_count
        assert moved.pure_not_equilibrium_count == base.pure_not_equilibrium_count
        np.testing.assert_allclose(moved.regret_thresholds, base.regret_thresholds * factors, rtol=1e-9)
        for m, b in zip(moved.equilibria, base.equilibria, strict=True):
            assert m.probability_epsilon == b.probability_epsilon
            for name in ("regrets", "regrets_low", "regrets_high", "regret_upper", "payoff_errors"):
                expected = getattr(b, name) * factors
                assert (
                    np.abs(getattr(m, name) - expected) <= 1e-7 * expected + 1e-12 * np.array(factors)
                ).all()
            np.testing.assert_allclose(m.payoffs, b.payoffs * factors + 7.0 * np.array(factors), rtol=1e-12)
            if len(set(factors)) == 1:
                assert m.nash_conv_high == pytest.approx(b.nash_conv_high * factors[0], rel=1e-7)


def test_a_seed_reproduces_the_draws_and_another_changes_them() -> None:
    rng = np.random.default_rng(6)
    means = rng.uniform(size=(2, 3, 3))
    se = np.full(means.shape, 0.1)
    profiles = [_profile(rng, (3, 3)), _profile(rng, (3, 3))]
    game = NormalFormGame(means)

    def run(seed: int, draws: int = 300):
        noisy = noisy_equilibria(game, se, profiles, NoiseOptions(epsilon=0.3, draws=draws, seed=seed))
        return [
            (e.probability_epsilon, e.nash_conv_low, e.nash_conv_high, *e.regrets_high)
            for e in noisy.equilibria
        ]

    first = run(1)
    assert first == run(1)
    assert first != run(2) and first != run(1, draws=301)
    assert 0.0 < first[0][0] < 1.0


def test_the_draws_do_not_depend_on_how_they_are_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 draws (the last one short) give the draws of one chunk: the normal variates
    are consumed in one stream."""
    rng = np.random.default_rng(9)
    shape = (3, 2, 3, 2)
    means, se = rng.uniform(size=shape), rng.uniform(0.0, 0.2, size=shape)
    profiles = [_profile(rng, shape[1:]) for _ in range(2)]
    options = NoiseOptions(epsilon=0.2, draws=250, seed=5)
    whole = noisy_equilibria(NormalFormGame(means), se, profiles, options)
    monkeypatch.setattr(module, "_CHUNK", 7 * 3 * 12)
    chunked = noisy_equilibria(NormalFormGame(means), se, profiles, options)
    for a, b in zip(whole.equilibria, chunked.equilibria, strict=True):
        assert a.probability_epsilon == b.probability_epsilon and 0.0 < a.probability_epsilon < 1.0
        np.testing.assert_allclose(
            [*a.regrets_low, *a.regrets_high], [*b.regrets_low, *b.regrets_high], rtol=1e-12
        )


def test_equilibria_of_a_solution_set_and_the_standard_errors_of_samples() -> None:
    """Objects with ``strategies`` (a solution set's equilibria) are read as their profiles;
    the standard errors of a PayoffSamples are refused while an entry has one sample."""
    rng = np.random.default_rng(1)
    samples = PayoffSamples((2, 2))
    samples.add([[0, 0], [0, 1], [1, 0], [1, 1]] * 3, rng.normal(size=(12, 2)) + [1.0, 2.0])
    game = samples.game()
    found = solve(game).equilibria
    noisy = noisy_equilibria(game, samples.standard_errors, found)
    assert [e.index for e in noisy.equilibria] == list(range(len(found)))
    for result, eq in zip(noisy.equilibria, found, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(result.strategies, eq.strategies, strict=True))
    samples.add([[0, 0]], [[0.0, 0.0]])
    fresh = PayoffSamples((2, 2))
    fresh.add([[0, 0], [0, 1], [1, 0], [1, 1]], np.zeros((4, 2)))
    with pytest.raises(InvalidOptionError, match="fewer than 2 samples") as error:
        noisy_equilibria(fresh.game(), fresh.standard_errors, found)
    assert error.value.field == "noisy_equilibria.standard_errors"
    for wrong in (-0.5, -math.inf, math.nan):  # not a missing sample: no such hint
        errors = np.full((2, 2, 2), 0.1)
        errors[1, 0, 1] = wrong
        with pytest.raises(InvalidOptionError) as error:
            noisy_equilibria(fresh.game(), errors, found)
        assert "fewer than 2 samples" not in error.value.message and "(1, 0, 1)" in error.value.message


# -- refusals and limits ---------------------------------------------------------------------------------

_GAME = NormalFormGame(np.arange(8, dtype=float).reshape(2, 2, 2))
_HALF = np.array([0.5, 0.5])


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (NoiseOptions(epsilon=-0.1), "noisy_equilibria.epsilon"),
        (NoiseOptions(epsilon=math.nan), "noisy_equilibria.epsilon"),
        (NoiseOptions(epsilon=math.inf), "noisy_equilibria.epsilon"),
        (NoiseOptions(epsilon="0.1"), "noisy_equilibria.epsilon"),  # type: ignore[arg-type]
        (NoiseOptions(epsilon=True), "noisy_equilibria.epsilon"),
        (NoiseOptions(confidence=0.5), "noisy_equilibria.confidence"),
        (NoiseOptions(confidence=1.0), "noisy_equilibria.confidence"),
        (NoiseOptions(confidence=math.nan), "noisy_equilibria.confidence"),
        (NoiseOptions(draws=99), "noisy_equilibria.draws"),
        (NoiseOptions(draws=100_001), "noisy_equilibria.draws"),
        (NoiseOptions(draws=500.0), "noisy_equilibria.draws"),  # type: ignore[arg-type]
        (NoiseOptions(draws=True), "noisy_equilibria.draws"),
        (NoiseOptions(seed=-1), "noisy_equilibria.seed"),
        (NoiseOptions(seed=2**64), "noisy_equilibria.seed"),
    ],
)
def test_bad_options_name_the_field(options: NoiseOptions, field: str) -> None:
    with pytest.raises(InvalidOptionError) as error:
        noisy_equilibria(_GAME, np.zeros((2, 2, 2)), [(_HALF, _HALF)], options)
    assert error.value.field == field and "noisy_equilibria()" in error.value.message


@pytest.mark.parametrize(
    ("errors", "equilibria", "field", "match"),
    [
        (np.zeros((2, 2, 3)), [], "noisy_equilibria.standard_errors", r"shape \(2, 2, 3\)"),
        ([[["a"]]], [], "noisy_equilibria.standard_errors", "not a numeric array"),
        (np.full((2, 2, 2), -0.1), [], "noisy_equilibria.standard_errors", ">= 0"),
        (np.full((2, 2, 2), np.nan), [], "noisy_equilibria.standard_errors", "not a finite number"),
        (np.zeros((2, 2, 2)), "profiles", "noisy_equilibria.equilibria", "sequence of profiles"),
        (np.zeros((2, 2, 2)), [(_HALF,)], "noisy_equilibria.equilibria[0]", "2 mixed strategies"),
        (np.zeros((2, 2, 2)), [(_HALF, _HALF), (_HALF, [1.0])], "noisy_equilibria.equilibria[1][1]", "shape"),
        (np.zeros((2, 2, 2)), [(_HALF, [0.6, 0.6])], "noisy_equilibria.equilibria[0][1]", "sums to 1.2"),
        (
            np.zeros((2, 2, 2)),
            [(_HALF, [1.5, -0.5])],
            "noisy_equilibria.equilibria[0][1]",
            "not a probability",
        ),
        (
            np.zeros((2, 2, 2)),
            [(_HALF, ["x", 1])],
            "noisy_equilibria.equilibria[0][1]",
            "not a numeric array",
        ),
    ],
)
def test_bad_inputs_name_the_field(errors, equilibria, field: str, match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match) as error:
        noisy_equilibria(_GAME, errors, equilibria)
    assert error.value.field == field


def test_the_tolerance_is_checked() -> None:
    with pytest.raises(InvalidOptionError) as error:
        noisy_equilibria(_GAME, np.zeros((2, 2, 2)), [], tol=0.0)
    assert error.value.field == "tolerance"


def test_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The draws' range is inclusive; the work, the profiles' count, the deviations and the
    standard errors' size are refused past their limits, naming the field."""
    se = np.full((2, 2, 2), 0.5)
    for draws in (100, 100_000):
        noisy = noisy_equilibria(_GAME, se, [(_HALF, _HALF)], NoiseOptions(draws=draws))
        assert noisy.draws == draws
    big = NormalFormGame(np.zeros((2, 100, 100)))
    noisy_equilibria(big, np.zeros((2, 100, 100)), [], NoiseOptions(draws=100_000))  # no profile: no draws
    profile = (np.full(100, 0.01), np.full(100, 0.01))
    with pytest.raises(ProblemTooLargeError, match="over the limit of 200,000,000") as error:
        noisy_equilibria(big, np.zeros((2, 100, 100)), [profile], NoiseOptions(draws=10_001))
    assert error.value.field == "noisy_equilibria.draws"
    noisy_equilibria(big, np.zeros((2, 100, 100)), [profile], NoiseOptions(draws=100))
    with pytest.raises(ProblemTooLargeError) as error:
        noisy_equilibria(_GAME, se, [(_HALF, _HALF)] * 1001)
    assert error.value.field == "noisy_equilibria.equilibria"
    with pytest.raises(ProblemTooLargeError) as error:
        noisy_equilibria(_GAME, np.full((2, 2, 2), 1e102), [])
    assert error.value.field == "noisy_equilibria.standard_errors"
    monkeypatch.setattr(module, "MAX_WORK", 15)
    with pytest.raises(ProblemTooLargeError, match="4 joint actions x 4 actions") as error:
        noisy_equilibria(_GAME, se, [])
    assert error.value.field == "payoffs"


def test_an_empty_batch_must_still_have_the_shape_of_one() -> None:
    """No sample is a batch of shape (0, n); an empty array of another rank is refused."""
    samples = PayoffSamples((2, 3))
    samples.add(np.zeros((0, 2), dtype=int), np.zeros((0, 2)))
    samples.add(np.zeros((0, 2)), np.zeros((0, 2)))  # an empty float array holds no bad index
    samples.add(np.zeros((0, 0)), np.zeros((0, 2)))  # nor one of another width
    samples.add([], np.zeros((0, 2)))
    assert int(samples.counts.sum()) == 0
    with pytest.raises(InvalidOptionError) as refused:
        samples.add(np.zeros((0, 2, 1), dtype=int), np.zeros((0, 2)))
    assert refused.value.field == "samples.profiles"
