"""The client's types of the evaluation concepts beyond Nash (issue 22): α-Rank's options
and answer, the maximum-entropy (and maximum-Gini) correlated equilibria, the evolutionary
dynamics' options and basins, the evolutionarily stable strategies, and credit assignment.

Plain frozen dataclasses, like :mod:`equilibria.client._types`; the wire conversion is
in :mod:`equilibria.client._convert_evaluation`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from equilibria.client._typing import FloatArray

__all__ = [
    "AlphaRank",
    "AlphaRankOptions",
    "MaxEntropyEquilibrium",
    "DynamicsOptions",
    "EssOptions",
    "Basin",
    "EvolutionaryDynamics",
    "EvolutionarilyStableStrategy",
    "EvolutionarilyStableSet",
    "CreditOptions",
    "CreditAssignment",
    "StochasticCreditAssignment",
    "NoiseOptions",
    "EquilibriumUnderNoise",
    "NoisyMetaGame",
]


@dataclasses.dataclass(frozen=True)
class AlphaRankOptions:
    """Options of the "alpha_rank" concept (``Client.solve(..., alpha_rank=...)``).

    Attributes
    ----------
    alpha : float or None
        The selection intensity, per unit of each player's payoff range. None
        (default): swept upward to the large-α limit, as the paper prescribes.
    population_size : int
        Individuals per population, 2 to 100,000 (default 50).
    populations : str
        "auto" (one population for a symmetric 2-player game, else one per player),
        "multi" or "single".
    """

    alpha: float | None = None
    population_size: int = 50
    populations: str = "auto"


@dataclasses.dataclass(frozen=True, eq=False)
class AlphaRank:
    """The α-Rank of a game's pure profiles (Omidshafiei et al. 2019).

    Attributes
    ----------
    profiles : tuple of tuple of int
        Every pure profile (one action per population), from the highest mass down.
    masses : ndarray
        Each profile's stationary mass, in the same order; they sum to 1.
    alpha : float
        The selection intensity used.
    population_size : int
    single_population : bool
        Whether a symmetric 2-player game was read as one population (each profile
        then holds one strategy).
    sink_components : tuple of tuple of tuple of int
        The response graph's sink strongly connected components: where the mass goes
        as α grows.
    sweep : tuple of tuple of float
        ``(α, largest change of a mass from the previous α)`` per α solved.
    ended_by : str
        "converged" (the large-α limit), "alpha_given", "underflow", "time_limit" or
        "max_steps".
    residual : float
        ``||π P - π||_1`` at ``alpha``: the certificate of the distribution.
    """

    profiles: tuple[tuple[int, ...], ...]
    masses: FloatArray
    alpha: float
    population_size: int
    single_population: bool
    sink_components: tuple[tuple[tuple[int, ...], ...], ...]
    sweep: tuple[tuple[float, float], ...]
    ended_by: str
    residual: float

    @property
    def converged(self) -> bool:
        """Whether the sweep reached the large-α limit."""
        return self.ended_by == "converged"

    @property
    def limit(self) -> str:
        """How far the sweep got, in words: "the large-alpha limit" or why it ended."""
        return "the large-alpha limit" if self.converged else self.ended_by.replace("_", " ")


@dataclasses.dataclass(frozen=True, eq=False)
class MaxEntropyEquilibrium:
    """The (coarse) correlated equilibrium of largest entropy or Gini impurity (Marris et
    al. 2021): unique, so usable as a meta-solver.

    Attributes
    ----------
    concept : str
        "max_entropy_correlated", "max_entropy_coarse_correlated", "max_gini_correlated"
        or "max_gini_coarse_correlated".
    distribution : ndarray, shape (a_1, ..., a_n)
        Probability of each joint action.
    payoffs : ndarray
        Each player's expected payoff.
    value : float
        Entropy (nats) or Gini impurity ``1 - sum p^2`` of the distribution.
    bound : float
        Certified upper bound of the measure over the polytope: ``bound - value`` bounds
        the distance to the optimum.
    max_violation : float
        Largest incentive-constraint violation, in payoff units.
    relative_violation : float
        The same per unit of the player's payoff range.
    method : str
    """

    concept: str
    distribution: FloatArray
    payoffs: FloatArray
    value: float
    bound: float
    max_violation: float
    relative_violation: float
    method: str

    @property
    def kind(self) -> str:
        """ "correlated" or "coarse_correlated"."""
        return "coarse_correlated" if self.concept.endswith("coarse_correlated") else "correlated"

    @property
    def measure(self) -> str:
        """ "entropy" or "gini"."""
        return "gini" if self.concept.startswith("max_gini") else "entropy"


@dataclasses.dataclass(frozen=True)
class DynamicsOptions:
    """Options of the "replicator_dynamics" concept (``Client.solve(..., dynamics=...)``).

    Time, the temperature and the tolerances are per unit of each player's payoff range
    (each player's payoffs mapped onto [0, 1]), so scaling a player's payoffs changes
    nothing.

    Attributes
    ----------
    rule : str
        "replicator" (default), "logit" or "best_response".
    temperature : float
        The logit dynamic's temperature (default 0.05).
    samples : int
        Random starts, uniform on the interiors of the strategy simplices (default 256),
        when neither ``starts`` nor ``grid`` is given.
    grid : int
        If positive (at least 2), start from every interior point of the lattice with step
        ``1/grid`` on each simplex.
    starts : sequence
        Given starts, each one mixed strategy per population (a single population: one).
    seed : int
        Seed of the random starts.
    horizon : float
        Time each trajectory may run (default 200).
    populations : str
        "auto" (one population for a symmetric 2-player game, else one per player),
        "multi" or "single".
    """

    rule: str = "replicator"
    temperature: float = 0.05
    samples: int = 256
    grid: int = 0
    starts: tuple[tuple[tuple[float, ...], ...], ...] = ()
    seed: int = 0
    horizon: float = 200.0
    populations: str = "auto"


@dataclasses.dataclass(frozen=True)
class EssOptions:
    """Options of the "ess" concept (``Client.solve(..., ess=...)``).

    Attributes
    ----------
    populations : str
        "auto" (one population for a symmetric 2-player game, else one per player),
        "multi" (the strict equilibria) or "single" (Maynard Smith's ESS).
    """

    populations: str = "auto"


@dataclasses.dataclass(frozen=True, eq=False)
class Basin:
    """A rest point an evolutionary dynamic reached, and from which share of the starts.

    Attributes
    ----------
    strategies : tuple of ndarray
        The rest point, one mixed strategy per player.
    payoffs : ndarray
        Each player's expected payoff there.
    nash_conv : float
        Its NashConv (0 at a Nash equilibrium; a logit rest point is not one).
    count : int
        Starts that ended here.
    share : float
        ``count`` over all starts.
    low, high : float
        A 95 % Wilson interval of the share when the starts were sampled (``share``
        itself for a grid or given starts).
    certified : int
        Starts proved to converge here (their trajectory entered a box around this strict
        equilibrium where every player's action is the strict best response).
    equilibrium_index : int or None
        Index into the solution set's equilibria, when the rest point is one of them.
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    nash_conv: float
    count: int
    share: float
    low: float
    high: float
    certified: int
    equilibrium_index: int | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class EvolutionaryDynamics:
    """Which rest points an evolutionary dynamic reaches, and from where.

    Attributes
    ----------
    rule : str
        "replicator", "logit" or "best_response".
    single_population : bool
        Whether a symmetric 2-player game was read as one population.
    temperature : float
        The logit dynamic's temperature (0 for the other rules).
    starts : str
        "sample", "grid" or "given".
    seed : int
    horizon : float
        Time each trajectory ran at most.
    step : float
        The integrator's time step.
    settle_radius : float
        A trajectory settled when its last stretch stayed this close to where it ended.
    basins : tuple of Basin
        The rest points reached, largest basin first.
    outcomes : ndarray of int
        Each start's basin index, -1 when it did not settle.
    unsettled : int
        Starts that did not settle (cycles, chaos, or slower than the horizon).
    ended_by : str
        "horizon", or "time_limit" when the solve's time limit stopped it.
    """

    rule: str
    single_population: bool
    temperature: float
    starts: str
    seed: int
    horizon: float
    step: float
    settle_radius: float
    basins: tuple[Basin, ...]
    outcomes: FloatArray
    unsettled: int
    ended_by: str

    @property
    def n_starts(self) -> int:
        """How many starts were integrated."""
        return int(self.outcomes.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class EvolutionarilyStableStrategy:
    """An evolutionarily stable strategy, or a candidate too close to call.

    Attributes
    ----------
    strategies : tuple of ndarray
        One mixed strategy per player (one population: the same strategy twice).
    payoffs : ndarray
    nash_conv : float
    margin : float
        How strictly stable, per unit of the payoff range (positive for an ESS).
    decided : bool
        False for a candidate whose margin is within the tolerance.
    equilibrium_index : int or None
        Index into the solution set's equilibria, when the profile is one of them.
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    nash_conv: float
    margin: float
    decided: bool
    equilibrium_index: int | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class EvolutionarilyStableSet:
    """The evolutionarily stable strategies of a game.

    Attributes
    ----------
    strategies : tuple of EvolutionarilyStableStrategy
        The ESS (and any undecided candidate).
    single_population : bool
        True: Maynard Smith's ESS within one population of a symmetric game; False: one
        population per player, where they are the strict equilibria (Selten 1980).
    complete : bool
        Whether every ESS is listed and every candidate decided.
    method : str
    """

    strategies: tuple[EvolutionarilyStableStrategy, ...]
    single_population: bool
    complete: bool
    method: str


@dataclasses.dataclass(frozen=True, eq=False)
class CreditOptions:
    """The policy the "credit_assignment" concept credits, and how
    (``Client.solve(..., credit=...)``, ``Client.solve_stochastic(..., credit=...)``).

    Attributes
    ----------
    policy : sequence of array_like, or ndarray
        A normal-form game: one mixed strategy per agent (a product policy), or a numpy
        array of shape ``(a_1, ..., a_n)``: a joint (correlated) distribution. A
        stochastic game: per agent a stationary policy ``(S, a_i)``, or ``(T, S, a_i)``
        per stage for a finite horizon.
    team : str
        "auto" (the common payoff; refused when the players' payoffs differ), "common" or
        "sum" (the sum of the players' payoffs, for any game).
    counterfactual : str
        "action" (default: the agent's default action) or "aristocrat" (drawn from its own
        marginal: COMA's baseline, zero in expectation under a product policy).
    default_actions : sequence of int or None
        Each agent's default action (None: action 0 of each).
    """

    policy: Any = None
    team: str = "auto"
    counterfactual: str = "action"
    default_actions: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class CreditAssignment:
    """Each agent's credit for a team's return under a joint policy of a normal-form game
    (Wolpert and Tumer 2001; Shapley 1953), in the units of the team return.

    Attributes
    ----------
    team : str
        "common" or "sum".
    counterfactual : str
        "action" or "aristocrat".
    default_actions : tuple of int
    correlated : bool
        Whether the policy was a joint distribution.
    team_return : float
        The expected team return.
    difference_rewards : ndarray, shape (n,)
        Each agent's expected difference reward ``E[G(a) - G(a_-i, c_i)]``.
    difference_tensors : ndarray, shape (n, a_1, ..., a_n)
        ``D_i(a)`` at every joint action.
    shapley_values : ndarray, shape (n,)
        They sum to ``team_return - coalition_baseline``.
    coalition_values : ndarray, shape (2 ** n,)
        ``v(C)`` at index ``sum(2 ** i for i in C)``.
    coalition_baseline : float
        ``v`` of the empty coalition: every agent on its default action.
    """

    team: str
    counterfactual: str
    default_actions: tuple[int, ...]
    correlated: bool
    team_return: float
    difference_rewards: FloatArray
    difference_tensors: FloatArray
    shapley_values: FloatArray
    coalition_values: FloatArray
    coalition_baseline: float


@dataclasses.dataclass(frozen=True, eq=False)
class StochasticCreditAssignment:
    """Each agent's credit per state of a stochastic team game under a product policy: the
    credits of the stage game whose team return is ``Q(s, a)``. A finite horizon adds a
    leading stage axis to every array.

    Attributes
    ----------
    team, counterfactual, default_actions
        As for :class:`CreditAssignment`.
    team_return : float
        The expected team return from the initial distribution.
    values : ndarray, shape (S,) or (T, S)
        The team's value of the policy.
    q_values : ndarray, shape (S, a_1, ..., a_n) (or per stage)
    difference_rewards : ndarray, shape (S, n)
    difference_tensors : ndarray, shape (S, n, a_1, ..., a_n)
    shapley_values : ndarray, shape (S, n)
        Per state; the agents outside a coalition play their defaults in that state only.
    coalition_values : ndarray, shape (S, 2 ** n)
    coalition_baselines : ndarray, shape (S,)
    """

    team: str
    counterfactual: str
    default_actions: tuple[int, ...]
    team_return: float
    values: FloatArray
    q_values: FloatArray
    difference_rewards: FloatArray
    difference_tensors: FloatArray
    shapley_values: FloatArray
    coalition_values: FloatArray
    coalition_baselines: FloatArray


@dataclasses.dataclass(frozen=True)
class NoiseOptions:
    """Options of the "noisy_equilibria" concept (``Client.solve(..., noise=...)``); the
    standard errors travel with the game (``{"payoffs": ..., "standard_errors": ...}``).

    Attributes
    ----------
    epsilon : float
        The regret an epsilon-equilibrium may have, per unit of each player's payoff range.
    confidence : float
        Confidence of the intervals, the regret bound and the tests, in (0.5, 1).
    draws : int
        Parametric-bootstrap draws, 100 to 100,000.
    seed : int
    """

    epsilon: float = 0.01
    confidence: float = 0.95
    draws: int = 2000
    seed: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class EquilibriumUnderNoise:
    """One equilibrium of the means under the payoffs' sampling noise.

    Attributes
    ----------
    index : int
        Index into the solution set's equilibria.
    strategies : tuple of ndarray
        The profile analysed.
    payoffs, payoff_errors : ndarray
        Each player's expected payoff on the means and its standard error.
    regrets : ndarray
        Each player's regret on the means.
    nash_conv : float
    regrets_low, regrets_high : ndarray
        Each player's regret interval under the noise.
    nash_conv_low, nash_conv_high : float
        NashConv's interval under the noise.
    regret_upper : ndarray
        A conservative analytic bound of each player's regret at the confidence.
    probability_epsilon : float
        The probability that every player's regret is within epsilon of its range.
    probability_error : float
        Its Monte Carlo standard error.
    """

    index: int
    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    payoff_errors: FloatArray
    regrets: FloatArray
    nash_conv: float
    regrets_low: FloatArray
    regrets_high: FloatArray
    nash_conv_low: float
    nash_conv_high: float
    regret_upper: FloatArray
    probability_epsilon: float
    probability_error: float


@dataclasses.dataclass(frozen=True, eq=False)
class NoisyMetaGame:
    """How the sampling noise of an empirical game bears on its equilibria.

    Attributes
    ----------
    epsilon, confidence : float
    draws, seed : int
    regret_thresholds : ndarray
        Epsilon in each player's units.
    equilibria : tuple of EquilibriumUnderNoise
    distinguishable : ndarray of bool, shape (k, k)
        Whether two equilibria's payoffs differ significantly for some player.
    pure_equilibria : tuple of tuple of int
        The pure profiles that are significantly strict equilibria (listed up to a cap).
    pure_equilibrium_count, pure_not_equilibrium_count, pure_undecided_count : int
    method : str
    """

    epsilon: float
    confidence: float
    draws: int
    seed: int
    regret_thresholds: FloatArray
    equilibria: tuple[EquilibriumUnderNoise, ...]
    distinguishable: Any
    pure_equilibria: tuple[tuple[int, ...], ...]
    pure_equilibrium_count: int
    pure_not_equilibrium_count: int
    pure_undecided_count: int
    method: str
