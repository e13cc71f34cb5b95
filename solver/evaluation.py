"""Result types of the evaluation concepts: frozen dataclasses of numpy arrays.

What a :class:`~equilibria.solver.results.SolutionSet` holds besides its equilibria for
the concepts MARL researchers evaluate with (issue 22): α-Rank, the maximum-entropy and
maximum-Gini (coarse) correlated equilibria, the basins of evolutionary dynamics, the
evolutionarily stable strategies, credit assignment and the equilibria of a noisy
meta-game. :mod:`equilibria.solver.results` re-exports them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from equilibria.solver._typing import FloatArray

__all__ = [
    "AlphaRank",
    "MaxEntropyEquilibrium",
    "Basin",
    "EvolutionaryDynamics",
    "EvolutionarilyStableStrategy",
    "EvolutionarilyStableSet",
    "CreditAssignment",
    "StochasticCreditAssignment",
    "EquilibriumUnderNoise",
    "NoisyMetaGame",
]


@dataclasses.dataclass(frozen=True, eq=False)
class AlphaRank:
    """The α-Rank of a game's pure profiles (:mod:`equilibria.solver.concepts.alpha_rank`).

    Attributes
    ----------
    profiles : tuple of tuple of int
        The pure profiles (one action per population), from the highest mass down
        (masses equal to 9 significant digits in profile order).
    masses : ndarray, shape (len(profiles),)
        Each profile's stationary mass, in the same order; they sum to 1.
    alpha : float
        The selection intensity used, per unit of each player's payoff range.
    population_size : int
        Individuals per population (``m``).
    single_population : bool
        Whether the game was read as one population (a symmetric 2-player game):
        ``profiles`` then hold one strategy each.
    sink_components : tuple of tuple of tuple of int
        The response graph's sink strongly connected components (each a sorted tuple
        of profiles): where the mass goes as ``α`` grows.
    sweep : tuple of tuple of float
        ``(α, largest change of a mass from the previous α)`` for every α solved (NaN
        for the first).
    ended_by : str
        Why this α: ``"converged"`` (the sweep's distribution stopped changing, by less
        than 1e-8: the large-α limit), ``"alpha_given"``, ``"underflow"`` (at the next α
        the chain falls apart in floating point: a set of states whose every way out is
        rarer than 1e-308 of their others; the distribution at the last α it did not), ``"time_limit"`` or ``"max_steps"``.
    residual : float
        ``||π P - π||_1`` of the distribution ``π`` and the chain ``P`` at ``alpha``.
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


@dataclasses.dataclass(frozen=True, eq=False)
class MaxEntropyEquilibrium:
    """The (coarse) correlated equilibrium of largest entropy or Gini impurity
    (:mod:`equilibria.solver.concepts.max_entropy`): unique, a meta-solver's answer.

    Attributes
    ----------
    concept : str
        ``"max_entropy_correlated"``, ``"max_entropy_coarse_correlated"``,
        ``"max_gini_correlated"`` or ``"max_gini_coarse_correlated"``.
    distribution : ndarray, shape (a_1, ..., a_n)
        Probability of each joint action.
    payoffs : ndarray, shape (n_players,)
        Each player's expected payoff, in the user's units.
    value : float
        The measure at ``distribution``: entropy in nats, or Gini impurity ``1 - Σ p^2``.
    bound : float
        A certified upper bound of the measure over the whole polytope (from the dual):
        ``bound - value`` bounds the distance to the optimum.
    max_violation : float
        Largest violation of an incentive constraint, in the user's units.
    relative_violation : float
        The same per unit of the player's payoff range.
    method : str
        How it was computed.
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
        """``"correlated"`` or ``"coarse_correlated"``."""
        return "coarse_correlated" if self.concept.endswith("coarse_correlated") else "correlated"

    @property
    def measure(self) -> str:
        """``"entropy"`` or ``"gini"``."""
        return "gini" if self.concept.startswith("max_gini") else "entropy"


@dataclasses.dataclass(frozen=True, eq=False)
class Basin:
    """Where a share of the starts of an evolutionary dynamic ended
    (:mod:`equilibria.solver.concepts.dynamics`).

    Attributes
    ----------
    strategies : tuple of ndarray
        The rest point reached, one mixed strategy per player (in a single population,
        the population's strategy for both players).
    payoffs : ndarray, shape (n_players,)
        Each player's expected payoff there, in the user's units.
    nash_conv : float
        Its NashConv, in the user's units: 0 (within the tolerance) at a Nash equilibrium;
        a logit dynamic's rest points are quantal-response equilibria, not Nash.
    count : int
        Starts that ended here.
    share : float
        ``count`` over all starts.
    low, high : float
        A 95 % Wilson score interval of the share of the whole start distribution that
        ends here, when the starts were sampled; ``share`` itself otherwise (a grid or
        given starts are not a sample).
    certified : int
        Starts whose trajectory entered the trapping region of this strict equilibrium
        (a box around it where each player's action is the strict best response, so the
        dynamic provably converges to it); the other starts settled numerically.
    equilibrium_index : int or None
        Index of this rest point in the solution set's equilibria, when it is one of them.
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
    """Which rest points an evolutionary dynamic reaches, and from which share of starts
    (concept ``"replicator_dynamics"``; :mod:`equilibria.solver.concepts.dynamics`).

    Attributes
    ----------
    rule : str
        ``"replicator"``, ``"logit"`` or ``"best_response"``.
    single_population : bool
        Whether a symmetric 2-player game was read as one population playing itself.
    temperature : float
        The logit dynamic's temperature per unit of each player's payoff range (0 for
        the other rules).
    starts : str
        ``"sample"`` (uniform on the interior of the strategy simplices, seeded),
        ``"grid"`` (the interior points of a lattice) or ``"given"``.
    seed : int
        The sample's seed.
    horizon : float
        Time each trajectory ran, on payoffs per unit of each player's range.
    step : float
        The integrator's time step.
    settle_radius : float
        A trajectory settled when its last quarter stayed within this distance (largest
        probability difference) of where it ended.
    basins : tuple of Basin
        The rest points reached, by count (largest first).
    outcomes : ndarray of int, shape (n_starts,)
        Each start's basin index, -1 when it did not settle (cycles, chaos, or slower
        than the horizon).
    unsettled : int
        Starts that did not settle.
    ended_by : str
        ``"horizon"`` (every start ran the horizon or settled) or ``"time_limit"`` (the
        solve's time limit stopped the integration: the starts not finished are
        unsettled).
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
    outcomes: np.ndarray
    unsettled: int
    ended_by: str

    @property
    def n_starts(self) -> int:
        """How many starts were integrated."""
        return int(self.outcomes.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class EvolutionarilyStableStrategy:
    """An evolutionarily stable strategy, or a candidate whose test was too close to call
    (:mod:`equilibria.solver.concepts.ess`).

    Attributes
    ----------
    strategies : tuple of ndarray
        One mixed strategy per player (for one population: the same strategy twice).
    payoffs : ndarray, shape (n_players,)
        Each player's expected payoff, in the user's units.
    nash_conv : float
        NashConv of the profile, in the user's units.
    margin : float
        How strictly stable, per unit of the payoff range: for a single population,
        ``-max z·Az`` over the unit directions ``z`` toward the alternative best replies
        (Haigh 1975); for strict equilibria, the smallest loss of a unilateral deviation.
        Positive for an ESS.
    decided : bool
        Whether ``margin`` is clear of the tolerance (False: a candidate whose stability
        the floating-point test cannot decide).
    equilibrium_index : int or None
        Index of this profile in the solution set's equilibria, when it is one of them.
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    nash_conv: float
    margin: float
    decided: bool
    equilibrium_index: int | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class EvolutionarilyStableSet:
    """The evolutionarily stable strategies of a game (concept ``"ess"``).

    Attributes
    ----------
    strategies : tuple of EvolutionarilyStableStrategy
        The ESS found (and any undecided candidate, with ``decided=False``).
    single_population : bool
        True: Maynard Smith's ESS of a symmetric 2-player game played within one
        population. False: one population per player, where the evolutionarily stable
        profiles are exactly the strict equilibria (Selten 1980).
    complete : bool
        Whether every ESS is listed and every candidate decided (no support left
        unchecked by a time limit).
    method : str
        How they were found.
    """

    strategies: tuple[EvolutionarilyStableStrategy, ...]
    single_population: bool
    complete: bool
    method: str


@dataclasses.dataclass(frozen=True, eq=False)
class CreditAssignment:
    """Each agent's credit for a team's return under a joint policy of a normal-form game
    (:mod:`equilibria.solver.concepts.credit`): difference rewards and Shapley values, in
    the units of the team return.

    Attributes
    ----------
    team : str
        How the team return ``G`` was formed: ``"common"`` (the players' common payoff,
        player 0's tensor) or ``"sum"`` (the sum of the players' payoffs).
    counterfactual : str
        The difference rewards' counterfactual: ``"aristocrat"`` (the agent's action
        redrawn from its own marginal) or ``"action"`` (clamped to its default action).
    default_actions : tuple of int
        Each agent's default action ``c_i``: the clamped counterfactual of ``"action"``
        and the play of the agents outside a coalition in the Shapley values.
    correlated : bool
        Whether the policy was a joint distribution (else a product of mixed strategies).
    team_return : float
        :math:`E_{a \\sim \\pi}[G(a)]`.
    difference_rewards : ndarray, shape (n_players,)
        :math:`E_{a \\sim \\pi}[D_i(a)]`: zero for ``"aristocrat"`` with a product policy.
    difference_tensors : ndarray, shape (n_players, a_1, ..., a_n)
        :math:`D_i(a) = G(a) - G(a_{-i}, c_i)` (its expectation over ``c_i`` for
        ``"aristocrat"``) at every joint action ``a``.
    shapley_values : ndarray, shape (n_players,)
        :math:`\\phi_i`; they sum to ``coalition_values[-1] - coalition_values[0]``.
    coalition_values : ndarray, shape (2 ** n_players,)
        :math:`v(C)` of every coalition, at index :math:`\\sum_{i \\in C} 2^i`: the expected
        team return when the agents in ``C`` play the policy (its marginal on ``C``) and
        the others their default actions. ``coalition_values[-1] == team_return``.
    coalition_baseline : float
        :math:`v(\\emptyset) = G(c)`: the team return when every agent plays its default.
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
    """Each agent's credit per state of a stochastic team game under a stationary (or
    per-stage) product policy (:mod:`equilibria.solver.concepts.credit`), in the units
    of the team return.

    Per state, the credits of :class:`CreditAssignment` for the stage game whose payoff is
    the team's joint-action value :math:`Q^\\pi(s, a)`. For a finite horizon every array
    has a leading stage axis of length ``T`` (as the policies do).

    Attributes
    ----------
    team : str
        ``"common"`` or ``"sum"`` (see :class:`CreditAssignment`).
    counterfactual : str
        ``"aristocrat"`` or ``"action"``.
    default_actions : tuple of int
        Each agent's default action ``c_i`` (it exists in every state).
    team_return : float
        :math:`\\mu_0 \\cdot V^\\pi` (at the first stage for a finite horizon).
    values : ndarray, shape (S,) or (T, S)
        :math:`V^\\pi(s)`: the team's value of the policy from each state (and stage).
    q_values : ndarray, shape (S, a_1, ..., a_n) or (T, S, a_1, ..., a_n)
        :math:`Q^\\pi(s, a) = r(s, a) + \\gamma \\sum_{s'} P(s' | s, a) V^\\pi(s')` (the
        next stage's values for a finite horizon); zero at joint actions that do not exist.
    difference_rewards : ndarray, shape (S, n_players) or (T, S, n_players)
        :math:`E_{a \\sim \\pi(s)}[D_i(s, a)]`: zero for ``"aristocrat"`` (a product policy).
    difference_tensors : ndarray, shape (S, n_players, a_1, ..., a_n) or (T, S, n_players, a_1, ..., a_n)
        :math:`D_i(s, a)`; zero at joint actions that do not exist.
    shapley_values : ndarray, shape (S, n_players) or (T, S, n_players)
        Per state, the Shapley values of the one-step game: the agents outside a
        coalition play their default actions in that state only, and the policy after it.
    coalition_values : ndarray, shape (S, 2 ** n_players) or (T, S, 2 ** n_players)
        Per state, :math:`v_s(C)` at index :math:`\\sum_{i \\in C} 2^i`.
    coalition_baselines : ndarray, shape (S,) or (T, S)
        :math:`v_s(\\emptyset) = Q^\\pi(s, c)`.
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

    @property
    def stationary(self) -> bool:
        """Whether the arrays are per state (an infinite horizon) rather than per stage and state."""
        return self.values.ndim == 1


@dataclasses.dataclass(frozen=True, eq=False)
class EquilibriumUnderNoise:
    """How far one profile of a noisy meta-game can be trusted as an equilibrium
    (:mod:`equilibria.solver.concepts.noisy`), in the user's units.

    The payoffs given are sample means; the true payoffs are those means plus independent
    normal errors with the given standard errors. The intervals are those of the
    parametric bootstrap (the profile's regrets in payoff tensors drawn from that noise);
    ``regret_upper``, ``payoffs`` and ``payoff_errors`` are exact for the normal model.

    Attributes
    ----------
    index : int
        Position of the profile among those given.
    strategies : tuple of ndarray
        The profile, one mixed strategy per player (as given, renormalised).
    payoffs : ndarray, shape (n_players,)
        :math:`u_i(\\sigma)` on the sample means.
    payoff_errors : ndarray, shape (n_players,)
        The standard deviation of :math:`u_i(\\sigma)` under the noise,
        :math:`\\sqrt{\\sum_a p_\\sigma(a)^2 se_i(a)^2}` (exact: it is linear in the payoffs).
    regrets : ndarray, shape (n_players,)
        Each player's regret on the sample means (the point estimate).
    nash_conv : float
        Their sum.
    regrets_low, regrets_high : ndarray, shape (n_players,)
        Per player, the two-sided percentile interval of the regret over the bootstrap
        draws at the analysis' confidence (its ``(1 - c) / 2`` and ``(1 + c) / 2``
        quantiles).
    nash_conv_low, nash_conv_high : float
        The same interval for NashConv.
    regret_upper : ndarray, shape (n_players,)
        Per player, an upper confidence bound on the true regret at the analysis'
        confidence (one-sided), from the exact normal law of each deviation gain and a
        union (Bonferroni) bound over the player's actions: conservative (exact where a
        single action's gain is noisy), and free of sampling error. It bounds the
        bootstrap's ``confidence`` quantile of the regret up to the draws' sampling error,
        not always ``regrets_high`` (a higher quantile).
    probability_epsilon : float
        Share of the bootstrap draws in which the profile is an epsilon-equilibrium: every
        player's regret is within its threshold (``NoisyMetaGame.regret_thresholds``).
    probability_error : float
        Its Monte Carlo standard error, :math:`\\sqrt{p (1 - p) / draws}`.
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
    """The equilibria of an empirical (noisy) meta-game under its sampling noise
    (:mod:`equilibria.solver.concepts.noisy`).

    Attributes
    ----------
    epsilon : float
        The regret an epsilon-equilibrium may have, per unit of each player's payoff range.
    confidence : float
        The confidence of every interval, bound and significance test.
    draws : int
        Parametric-bootstrap draws of the payoff tensor.
    seed : int
        The draws' seed.
    regret_thresholds : ndarray, shape (n_players,)
        Each player's epsilon threshold in the user's units: ``epsilon`` times the range of
        its mean payoffs, and at least its round-off tolerance
        (:meth:`~equilibria.solver.game.NormalFormGame.regret_tolerances`).
    equilibria : tuple of EquilibriumUnderNoise
        One per profile given, in order.
    distinguishable : ndarray of bool, shape (k, k)
        ``distinguishable[k, l]``: some player's payoff differs between profiles ``k`` and
        ``l`` by more than its noise allows (two-sided, Bonferroni over the players);
        symmetric, False on the diagonal.
    pure_equilibria : tuple of tuple of int
        The pure profiles that are significantly strict equilibria (every unilateral
        deviation significantly worse for the deviator), in row-major order; the first
        ``MAX_LISTED`` only (see ``pure_equilibrium_count``).
    pure_equilibrium_count : int
        How many pure profiles are significantly strict equilibria.
    pure_not_equilibrium_count : int
        How many have a unilateral deviation significantly better for the deviator.
    pure_undecided_count : int
        How many are neither (the noise, or an exact tie, leaves them open).
    method : str
        How the regrets were distributed: ``"parametric_bootstrap"``.
    """

    epsilon: float
    confidence: float
    draws: int
    seed: int
    regret_thresholds: FloatArray
    equilibria: tuple[EquilibriumUnderNoise, ...]
    distinguishable: np.ndarray
    pure_equilibria: tuple[tuple[int, ...], ...]
    pure_equilibrium_count: int
    pure_not_equilibrium_count: int
    pure_undecided_count: int
    method: str = "parametric_bootstrap"

    @property
    def pure_listing_complete(self) -> bool:
        """Whether ``pure_equilibria`` lists every significant pure equilibrium."""
        return len(self.pure_equilibria) == self.pure_equilibrium_count
