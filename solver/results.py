"""Result types of every solve: frozen dataclasses of numpy arrays.

A :class:`SolutionSet` is always what :func:`equilibria.solver.solve` returns, whatever
the method: the equilibria found, each with its certificate (regrets and NashConv
measured from the user's payoffs), the maximal convex components they span, whether
the set is provably complete, and how it was found.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np
from equilibria.solver._typing import FloatArray

__all__ = [
    "Equilibrium",
    "Component",
    "SolutionSet",
    "lazy_game_id",
    "CorrelatedEquilibrium",
    "WelfareRange",
    "ZeroSumSolution",
    "WelfareOptimum",
    "Selection",
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
    "ConceptStatus",
    "CONCEPT_STATUSES",
    "VacuousSetError",
    "MarkovEquilibrium",
    "MarkovZeroSum",
    "MarkovSolutionSet",
    "SOLVER_VERSION",
    "construct",
    "template",
    "instantiate",
    "collector_paused",
]

#: Version of the numerical results; part of every cache key. Bump when answers change.
SOLVER_VERSION = "0.3.0"

ResultT = TypeVar("ResultT")

#: The answers a requested concept can get: ``answered`` (in full: a complete set, an
#: optimum proved optimal), ``partial`` (an answer that may miss part of the concept,
#: with why) and ``refused`` (no answer, with why).
CONCEPT_STATUSES = ("answered", "partial", "refused")


class VacuousSetError(AssertionError):
    """A solution set claims to hold every Nash equilibrium and holds none.

    Every finite game has a Nash equilibrium (Nash 1951), so such a set is a bug in
    the solver that built it; it is never returned.
    """


@dataclasses.dataclass(frozen=True)
class ConceptStatus:
    """How one requested solution concept was answered.

    Attributes
    ----------
    concept : str
        The concept as requested (``"nash"``, ``"pure_nash"``, ``"welfare_nash"``, ...).
    status : str
        One of :data:`CONCEPT_STATUSES`.
    reason : str
        What the answer holds and how it was found, or why it is partial or refused
        (``"all 49 pure equilibria (every joint action checked)"``).
    """

    concept: str
    status: str
    reason: str


@dataclasses.dataclass(frozen=True, eq=False)
class Equilibrium:
    """A mixed-strategy profile with its certificate.

    Attributes
    ----------
    strategies : tuple of ndarray
        One probability vector per player.
    payoffs : ndarray, shape (n_players,)
        Expected payoffs in the user's units.
    regrets : ndarray, shape (n_players,)
        Per-player regret (best-response payoff minus expected payoff).
    nash_conv : float
        Sum of the regrets: the certificate.
    exact_strategies : tuple of tuple of Fraction, optional
        Exact probabilities, when exact arithmetic certified this equilibrium.
    exact_payoffs : tuple of Fraction, optional
        Exact expected payoffs, likewise.
    components : tuple of int
        Indices of the components (in ``SolutionSet.components``) containing it.
    found_by : tuple of str
        The methods that found it (when several searched).
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    exact_strategies: tuple[tuple[Fraction, ...], ...] | None = None
    exact_payoffs: tuple[Fraction, ...] | None = None
    components: tuple[int, ...] = ()
    found_by: tuple[str, ...] = ()

    @property
    def supports(self) -> tuple[tuple[int, ...], ...]:
        """Indices of the actions each player uses with positive probability."""
        if self.exact_strategies is not None:
            return tuple(tuple(k for k, p in enumerate(s) if p > 0) for s in self.exact_strategies)
        return tuple(tuple(int(k) for k in np.flatnonzero(s > 0)) for s in self.strategies)

    @property
    def is_pure(self) -> bool:
        """Whether every player plays a single action."""
        return all(len(s) == 1 for s in self.supports)

    @property
    def max_regret(self) -> float:
        """Largest regret over players (the ε of an ε-equilibrium)."""
        return float(self.regrets.max())


@dataclasses.dataclass(frozen=True, eq=False)
class Component:
    """A maximal Nash subset: the product of convex hulls of each player's vertices.

    Every choice of one vertex per player is an extreme equilibrium of the set, and
    every point of the product is an equilibrium (Avis et al. 2010, Thm. 3).

    Attributes
    ----------
    equilibrium_indices : tuple of int
        Indices (into ``SolutionSet.equilibria``) of the extreme equilibria in it.
    vertices : tuple of ndarray
        For each player, an array of shape ``(k_i, a_i)``: the vertex strategies.
    """

    equilibrium_indices: tuple[int, ...]
    vertices: tuple[FloatArray, ...]

    @property
    def is_singleton(self) -> bool:
        """Whether the component is a single (isolated) extreme equilibrium."""
        return all(v.shape[0] == 1 for v in self.vertices)


@dataclasses.dataclass(frozen=True, eq=False)
class CorrelatedEquilibrium:
    """A correlated (or coarse correlated) equilibrium: a distribution over joint actions.

    Attributes
    ----------
    kind : str
        ``"correlated"`` or ``"coarse_correlated"``.
    distribution : ndarray, shape (a_1, ..., a_n)
        Probability of each joint action (non-negative, sums to 1).
    payoffs : ndarray, shape (n_players,)
        Expected payoff of each player under the distribution, in the user's units.
    objective : str
        The welfare function optimised (``"utilitarian"``, ``"egalitarian"``).
    sense : str
        ``"max"`` or ``"min"``.
    welfare : float
        The objective's value at this distribution.
    max_violation : float
        Largest violation of an incentive constraint, measured afresh from the
        user's payoffs (the certificate: 0 at an exact (C)CE).
    """

    kind: str
    distribution: FloatArray
    payoffs: FloatArray
    objective: str
    sense: str
    welfare: float
    max_violation: float


@dataclasses.dataclass(frozen=True)
class WelfareRange:
    """The lowest and highest welfare over the CE (or CCE) polytope.

    Attributes
    ----------
    kind : str
        ``"correlated"`` or ``"coarse_correlated"``.
    objective : str
        The welfare function.
    minimum, maximum : CorrelatedEquilibrium
        Distributions attaining the bounds.
    """

    kind: str
    objective: str
    minimum: CorrelatedEquilibrium
    maximum: CorrelatedEquilibrium


@dataclasses.dataclass(frozen=True, eq=False)
class ZeroSumSolution:
    """Value and optimal strategies of a 2-player constant-sum game.

    Attributes
    ----------
    value : float
        The value to player 0 (player 1 gets ``constant - value``).
    constant : float
        The constant sum ``u_0 + u_1``.
    strategies : tuple of ndarray
        One optimal (maximin, minimax) strategy pair.
    nash_conv : float
        The pair's NashConv, measured from the user's payoffs.
    row_vertices, col_vertices : ndarray or None
        The extreme points of each player's optimal-strategy polytope when the game
        was small enough to enumerate them (the equilibrium set is their product).
    """

    value: float
    constant: float
    strategies: tuple[FloatArray, FloatArray]
    nash_conv: float
    row_vertices: FloatArray | None = None
    col_vertices: FloatArray | None = None


@dataclasses.dataclass(frozen=True)
class WelfareOptimum:
    """The welfare-maximising equilibria for one welfare function.

    Attributes
    ----------
    function : str
        ``"utilitarian"``, ``"egalitarian"`` or ``"nash_product"``.
    value : float
        The maximum welfare.
    equilibrium_indices : tuple of int
        Indices into ``SolutionSet.equilibria`` attaining it (ties within tolerance).
    method : str
        ``"enumeration"`` (argmax over the set) or ``"milp"``.
    certified : bool
        Whether ``value`` is the maximum over *all* equilibria of the game (complete
        set, or a MILP solved to optimality), not only over those found.
    disagreement : ndarray or None
        The disagreement point of the Nash product.
    """

    function: str
    value: float
    equilibrium_indices: tuple[int, ...]
    method: str
    certified: bool
    disagreement: FloatArray | None = None


@dataclasses.dataclass(frozen=True)
class Selection:
    """The answer of one equilibrium-selection criterion.

    Attributes
    ----------
    criterion : str
        ``"payoff_dominance"``, ``"risk_dominance"`` or ``"logit_limit"``.
    decided : bool
        Whether the criterion selected an equilibrium.
    equilibrium_index : int or None
        Index into ``SolutionSet.equilibria`` of the selected equilibrium.
    reason : str
        How it decided, or why it did not ("no payoff-dominant equilibrium").
    """

    criterion: str
    decided: bool
    equilibrium_index: int | None
    reason: str


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


class _AnsweredSet:
    """What :class:`SolutionSet` and :class:`MarkovSolutionSet` share: the per-concept
    status and the invariant that an empty set never claims every equilibrium."""

    game_id: str
    equilibria: tuple[Any, ...]
    complete: bool
    method: str
    concepts: tuple[str, ...]
    concept_status: tuple[ConceptStatus, ...]

    def __post_init__(self) -> None:
        self._check_invariants()

    def _check_invariants(self) -> None:
        """Refuse an empty set that claims to hold every Nash equilibrium."""
        if self.complete and not self.equilibria and "nash" in self.concepts:
            raise VacuousSetError(
                f"{type(self).__name__}: method {self.method!r} claims a complete Nash set with no "
                f"equilibrium (game {self.game_id}); every finite game has one"
            )

    def __len__(self) -> int:
        return len(self.equilibria)

    def status_of(self, concept: str) -> ConceptStatus | None:
        """The status of a requested concept (None when it was not requested)."""
        return next((c for c in self.concept_status if c.concept == concept), None)


@dataclasses.dataclass(frozen=True, eq=False)
class SolutionSet(_AnsweredSet):
    """A set of equilibria and how it was found.

    Attributes
    ----------
    game_id : str
        Content address of the game.
    equilibria : tuple of Equilibrium
        The equilibria found (for 2-player enumeration: the extreme equilibria).
    components : tuple of Component
        Maximal convex components spanned by the extreme equilibria (empty when the
        method does not compute them).
    complete : bool
        True only when the set provably holds every equilibrium of the concept
        (every extreme equilibrium and so every component).
    method : str
        The method that produced the set, after ``"auto"`` resolution.
    method_reason : str
        Why the method was chosen, and anything else about how the set was found.
    warnings : tuple of str
        Degeneracy, non-convergence and precision warnings.
    tolerance : float
        Tolerance used for certificates and comparisons.
    concepts : tuple of str
        The solution concepts this set answers (``"nash"``, ``"pure_nash"``).
    exact : bool
        Whether exact rational arithmetic certified every equilibrium.
    elapsed_seconds : float
        Wall time of the solve.
    pareto_indices : tuple of int
        Indices of the Pareto-optimal equilibria (concept ``"pareto_nash"``).
    welfare_optima : tuple of WelfareOptimum
        One per requested welfare function (concept ``"welfare_nash"``).
    correlated_equilibria : tuple of CorrelatedEquilibrium
        Welfare-optimal (C)CE, one per kind and welfare function.
    welfare_ranges : tuple of WelfareRange
        Welfare ranges over the (C)CE polytopes, likewise.
    zero_sum : ZeroSumSolution or None
        Value and optimal strategies of a constant-sum game.
    selections : tuple of Selection
        Equilibrium-selection answers (concept ``"selection"``).
    alpha_rank : AlphaRank or None
        The α-Rank of the pure profiles (concept ``"alpha_rank"``).
    max_entropy_equilibria : tuple of MaxEntropyEquilibrium
        The maximum-entropy and maximum-Gini (coarse) correlated equilibria, one per such
        concept answered (a game too large, or a program past the time limit, refuses its
        concept in ``concept_status``), in request order.
    dynamics : EvolutionaryDynamics or None
        The rest points an evolutionary dynamic reaches and their basins of attraction
        (concept ``"replicator_dynamics"``).
    ess : EvolutionarilyStableSet or None
        The evolutionarily stable strategies (concept ``"ess"``).
    credit_assignment : CreditAssignment or None
        Each agent's credit for the team return under the given joint policy (concept
        ``"credit_assignment"``).
    noise : NoisyMetaGame or None
        How the payoffs' sampling noise bears on the equilibria (concept
        ``"noisy_equilibria"``).
    concept_status : tuple of ConceptStatus
        One per requested concept, in request order: answered, partial or refused,
        and why.

    Raises
    ------
    VacuousSetError
        On construction, when the set claims every Nash equilibrium (``complete`` with
        ``"nash"`` among ``concepts``) but holds none: every finite game has one.
    """

    game_id: str
    equilibria: tuple[Equilibrium, ...]
    components: tuple[Component, ...]
    complete: bool
    method: str
    method_reason: str = ""
    warnings: tuple[str, ...] = ()
    tolerance: float = 0.0
    concepts: tuple[str, ...] = ("nash",)
    exact: bool = False
    elapsed_seconds: float = 0.0
    pareto_indices: tuple[int, ...] = ()
    welfare_optima: tuple[WelfareOptimum, ...] = ()
    correlated_equilibria: tuple[CorrelatedEquilibrium, ...] = ()
    welfare_ranges: tuple[WelfareRange, ...] = ()
    zero_sum: ZeroSumSolution | None = None
    selections: tuple[Selection, ...] = ()
    alpha_rank: AlphaRank | None = None
    max_entropy_equilibria: tuple[MaxEntropyEquilibrium, ...] = ()
    dynamics: EvolutionaryDynamics | None = None
    ess: EvolutionarilyStableSet | None = None
    credit_assignment: CreditAssignment | None = None
    noise: NoisyMetaGame | None = None
    concept_status: tuple[ConceptStatus, ...] = ()

    @property
    def max_nash_conv(self) -> float:
        """Largest NashConv over the equilibria (0.0 for an empty set)."""
        return max((e.nash_conv for e in self.equilibria), default=0.0)

    def __getattr__(self, name: str) -> Any:
        # Reached only for a name not in the instance's __dict__: the game_id of a set built
        # by lazy_game_id(), hashed on first use (a fresh small game solved once would spend
        # more on hashing its payoffs than on solving it).
        game = self.__dict__.get("_game") if name == "game_id" else None
        if game is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = self.__dict__["game_id"] = game.id
        self.__dict__.pop("_game", None)
        return value

    def __getstate__(self) -> dict[str, Any]:
        """The fields, with a lazy game_id computed (a pickle carries no game)."""
        state = dict(self.__dict__)
        if "_game" in state:
            state["game_id"] = self.game_id
            del state["_game"]
        return state


def lazy_game_id(fields: dict[str, Any], game: Any) -> dict[str, Any]:
    """:func:`instantiate`'s fields of a :class:`SolutionSet` whose ``game_id`` is ``game.id``
    computed on first access (``fields`` without ``game_id``; modified and returned).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> game = NormalFormGame.from_bimatrix([[1.0]], [[1.0]])
    >>> fields = template(SolutionSet, game_id="", equilibria=(), components=(), complete=False, method="m")
    >>> del fields["game_id"]
    >>> result = instantiate(SolutionSet, lazy_game_id(fields, game))
    >>> result.game_id == game.id
    True
    """
    fields["_game"] = game
    return fields


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovEquilibrium:
    """A (Markov perfect) equilibrium of a stochastic game with its certificate.

    Attributes
    ----------
    policies : tuple of ndarray
        Per player, ``(S, a_i)`` for a stationary policy or ``(T, S, a_i)`` for a
        finite horizon: action probabilities per (stage and) state, zero on actions
        that do not exist in a state.
    values : ndarray, shape (S, n_players)
        :math:`V_i(s)` by exact policy evaluation (first stage for a finite horizon).
    payoffs : ndarray, shape (n_players,)
        :math:`\\mu_0 \\cdot V_i`.
    regrets : ndarray, shape (n_players,)
        :math:`\\mu_0 \\cdot (V_i^{BR} - V_i)`: each player's gain from its
        best-response MDP.
    nash_conv : float
        Sum of the regrets.
    state_gaps : ndarray, shape (S,)
        Largest best-response gain over players from each state (and stage): all
        within tolerance at a Markov perfect equilibrium.
    found_by : tuple of str
        The methods (and starting priors) that reached it.
    """

    policies: tuple[FloatArray, ...]
    values: FloatArray
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    state_gaps: FloatArray
    found_by: tuple[str, ...] = ()

    @property
    def stationary(self) -> bool:
        """Whether the policies are stationary (``(S, a_i)``) rather than per stage."""
        return self.policies[0].ndim == 2

    @property
    def max_state_gap(self) -> float:
        """Largest entry of ``state_gaps``."""
        return float(self.state_gaps.max(initial=0.0))


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovZeroSum:
    """Values and optimal stationary strategies of a 2-player zero-sum stochastic game.

    Attributes
    ----------
    values : ndarray, shape (S,)
        The value of each state to player 0 (player 1 gets ``constant / (1 - gamma)``
        minus it when the rewards sum to a constant other than 0).
    policies : tuple of ndarray
        Optimal stationary strategies, ``(S, a_0)`` and ``(S, a_1)``.
    nash_conv : float
        NashConv of the pair from the initial distribution (exact policy evaluation).
    max_state_gap : float
        Largest best-response gain from any state.
    method : str
        ``"shapley"`` or ``"hoffman_karp"``.
    iterations : int
        Sweeps (Shapley) or strategy-iteration steps (Hoffman-Karp).
    error_bound : float
        Proven bound on :math:`\\|V - V^*\\|_\\infty` at termination.
    """

    values: FloatArray
    policies: tuple[FloatArray, FloatArray]
    nash_conv: float
    max_state_gap: float
    method: str
    iterations: int
    error_bound: float


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovSolutionSet(_AnsweredSet):
    """Equilibria of a stochastic game and how they were found.

    Attributes
    ----------
    game_id : str
        Content address of the game.
    equilibria : tuple of MarkovEquilibrium
        The equilibria found, each certified.
    complete : bool
        True only when the set provably holds every equilibrium of the concept (for
        stochastic games only when the equilibrium is unique in value, e.g. the value
        of a zero-sum game); homotopy and backward induction with selection give
        partial sets.
    method : str
        The method that produced the set, after ``"auto"`` resolution.
    method_reason : str
        Why the method was chosen and how the set was searched (priors, criteria).
    warnings : tuple of str
        Non-convergence and precision warnings.
    tolerance : float
        Tolerance of the certificates.
    concepts : tuple of str
        The solution concepts this set answers.
    elapsed_seconds : float
        Wall time of the solve.
    pareto_indices : tuple of int
        Pareto-optimal equilibria among those found (by ``payoffs``).
    welfare_optima : tuple of WelfareOptimum
        Welfare-maximising equilibria among those found, per welfare function.
    zero_sum : MarkovZeroSum or None
        Values and optimal strategies of a zero-sum game.
    selections : tuple of Selection
        The per-stage selection criterion of a finite-horizon solve, and whether it
        decided.
    concept_status : tuple of ConceptStatus
        One per requested concept, in request order: answered, partial or refused,
        and why.
    credit_assignment : StochasticCreditAssignment or None
        Each agent's credit per state under the given policy (concept
        ``"credit_assignment"``).

    Raises
    ------
    VacuousSetError
        On construction, when the set claims every equilibrium (``complete`` with
        ``"nash"`` among ``concepts``) but holds none: every stochastic game has a
        stationary (discounted) or Markov (finite-horizon) equilibrium.
    """

    game_id: str
    equilibria: tuple[MarkovEquilibrium, ...]
    complete: bool
    method: str
    method_reason: str = ""
    warnings: tuple[str, ...] = ()
    tolerance: float = 0.0
    concepts: tuple[str, ...] = ("nash",)
    elapsed_seconds: float = 0.0
    pareto_indices: tuple[int, ...] = ()
    welfare_optima: tuple[WelfareOptimum, ...] = ()
    zero_sum: MarkovZeroSum | None = None
    selections: tuple[Selection, ...] = ()
    concept_status: tuple[ConceptStatus, ...] = ()
    credit_assignment: StochasticCreditAssignment | None = None

    @property
    def max_nash_conv(self) -> float:
        """Largest NashConv over the equilibria (0.0 for an empty set)."""
        return max((e.nash_conv for e in self.equilibria), default=0.0)


def construct(cls: type[ResultT], /, **fields: Any) -> ResultT:
    """Build a frozen result dataclass without its field-by-field ``__init__``.

    A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__``,
    which costs more than a small Lemke-Howson solve (figures in docs/normal-form.md).
    This sets the instance's ``__dict__`` in one step instead (worth it for classes with
    many defaulted fields; a short positional ``cls(...)`` is as fast); the object is the
    one ``cls(**fields)`` builds (defaults filled in, still frozen). Only for the classes
    here, which have no ``__post_init__`` and no default factories.

    Raises
    ------
    TypeError
        If a field is unknown or a field without default is missing, as ``cls(...)``.

    Examples
    --------
    >>> c = construct(Component, equilibrium_indices=(0,), vertices=())
    >>> c.equilibrium_indices, c.is_singleton
    ((0,), True)
    """
    defaults, names = _layout(cls)
    merged = defaults | fields
    if len(merged) != len(names) or not names.issuperset(merged):
        unknown = sorted(merged.keys() - names)
        missing = sorted(names - merged.keys())
        raise TypeError(f"construct({cls.__name__}): unknown fields {unknown}, missing fields {missing}")
    return _with_dict(cls, merged)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many result objects are built.

    Every few hundred allocations the collector walks the objects alive; building tens of
    thousands of equilibria (the identity game's 2^n - 1) would pay for many such walks
    over objects that are none of them garbage: a quarter of the time of a 14 x 14
    enumeration. Reference counting still frees what is dropped; the collector resumes
    (if it was running) when the block ends.

    Examples
    --------
    >>> import gc
    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def template(cls: type, /, **fields: Any) -> dict[str, Any]:
    """Every field of ``cls``, checked as :func:`construct` checks them, as a plain dict.

    For hot paths that build many results of one shape: make the template once (at
    import), then per result ``instantiate(cls, {**the_template, "field": value, ...})``.

    Raises
    ------
    TypeError
        If a field is unknown or a field without default is missing, as ``cls(...)``.

    Examples
    --------
    >>> t = template(Component, equilibrium_indices=(0,), vertices=())
    >>> instantiate(Component, {**t, "equilibrium_indices": (3,)}).equilibrium_indices
    (3,)
    """
    return dict(vars(construct(cls, **fields)))


def instantiate(cls: type[ResultT], fields: dict[str, Any], /) -> ResultT:
    """Build ``cls`` from a complete field dict, which becomes the instance's ``__dict__``.

    The fast end of :func:`template`: ``fields`` must hold every field (a template
    updated with the values of this result; a :class:`SolutionSet`'s may hold ``_game``
    in place of ``game_id``: :func:`lazy_game_id`). Only the count is checked, which is
    enough for such a dict: a key that is not a field shows up as one key too many. Cheaper than
    :func:`construct` (no keyword packing, no merge, no name check).

    Raises
    ------
    TypeError
        If ``fields`` does not have exactly one entry per field of ``cls``.
    """
    names = _layout(cls)[1]
    if len(fields) != len(names) or ("_game" in fields and "game_id" in fields):
        raise TypeError(
            f"instantiate({cls.__name__}): {len(fields)} fields given, {len(names)} expected "
            f"(unknown: {sorted(fields.keys() - names)})"
        )
    return _with_dict(cls, fields)


def _with_dict(cls: type[ResultT], fields: dict[str, Any]) -> ResultT:
    """An instance of ``cls`` whose ``__dict__`` is ``fields``, built without ``__init__``."""
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", fields)
    if fields.get("complete") is True and hasattr(cls, "_check_invariants"):  # only a complete set can lie
        instance._check_invariants()  # type: ignore[attr-defined]
    return instance


def _layout(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = _field_layout(cls)
    return layout


_LAYOUTS: dict[type, tuple[dict[str, Any], frozenset[str]]] = {}


def _field_layout(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """The field defaults and field names of a dataclass fit for :func:`construct`."""
    only_checks = hasattr(cls, "_check_invariants")  # a __post_init__ that only checks is re-run
    if (hasattr(cls, "__post_init__") and not only_checks) or not dataclasses.is_dataclass(cls):
        raise TypeError(f"construct(): {cls.__name__} is not a dataclass without __post_init__")
    defaults = {}
    for field in dataclasses.fields(cls):
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"construct(): {cls.__name__}.{field.name} has a default factory")
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
    return defaults, frozenset(f.name for f in dataclasses.fields(cls))
