"""Typed results of the client: frozen dataclasses of numpy arrays.

These mirror the solver's result types without importing the solver (the client must
stay light: numpy, grpcio and the generated API only).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

from equilibria.client._typing import FloatArray

__all__ = [
    "ConceptStatus",
    "Equilibrium",
    "Component",
    "SolutionSet",
    "WelfareOptimum",
    "CorrelatedEquilibrium",
    "WelfareRange",
    "ZeroSumSolution",
    "Selection",
    "MarkovEquilibrium",
    "MarkovZeroSum",
    "MarkovSolutionSet",
    "MethodInfo",
    "ServerLimits",
    "ServerInfo",
]


@dataclasses.dataclass(frozen=True, eq=False)
class Equilibrium:
    """An equilibrium with its certificate.

    Attributes
    ----------
    strategies : tuple of ndarray
        One probability vector per player.
    payoffs : ndarray, shape (n_players,)
        Expected payoffs, in the game's units.
    regrets : ndarray, shape (n_players,)
        Best-response payoff minus expected payoff, per player.
    nash_conv : float
        Sum of the regrets (0 at an exact equilibrium).
    supports : tuple of tuple of int
        Actions played with positive probability, per player.
    exact_strategies : tuple of tuple of Fraction, optional
        Exact probabilities when the server certified them in rational arithmetic.
    exact_payoffs : tuple of Fraction, optional
        Exact expected payoffs, likewise.
    components : tuple of int
        Indices into ``SolutionSet.components`` of the components containing it.
    found_by : tuple of str
        The methods that found it, when several searched.
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    supports: tuple[tuple[int, ...], ...]
    exact_strategies: tuple[tuple[Fraction, ...], ...] | None = None
    exact_payoffs: tuple[Fraction, ...] | None = None
    components: tuple[int, ...] = ()
    found_by: tuple[str, ...] = ()

    @property
    def is_pure(self) -> bool:
        """Whether every player plays one action."""
        return all(len(s) == 1 for s in self.supports)


@dataclasses.dataclass(frozen=True, eq=False)
class Component:
    """A maximal convex set of equilibria: the product of each player's vertex hull.

    Attributes
    ----------
    equilibrium_indices : tuple of int
        Indices into ``SolutionSet.equilibria`` of its extreme equilibria.
    vertices : tuple of ndarray
        Per player, an array of shape ``(k_i, a_i)`` of vertex strategies.
    """

    equilibrium_indices: tuple[int, ...]
    vertices: tuple[FloatArray, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class WelfareOptimum:
    """The welfare-maximising equilibria for one welfare function.

    Attributes
    ----------
    function : str
        "utilitarian", "egalitarian" or "nash_product".
    value : float
        The maximum welfare.
    equilibrium_indices : tuple of int
        Indices into ``SolutionSet.equilibria`` attaining it.
    method : str
        "enumeration" or "milp".
    certified : bool
        Whether ``value`` is the maximum over every equilibrium of the game.
    disagreement : ndarray or None
        The Nash product's disagreement point.
    """

    function: str
    value: float
    equilibrium_indices: tuple[int, ...]
    method: str
    certified: bool
    disagreement: FloatArray | None


@dataclasses.dataclass(frozen=True, eq=False)
class CorrelatedEquilibrium:
    """A welfare-optimal correlated or coarse correlated equilibrium.

    Attributes
    ----------
    kind : str
        "correlated" or "coarse_correlated".
    distribution : ndarray, shape (a_1, ..., a_n)
        Probability of each joint action.
    payoffs : ndarray
        Each player's expected payoff.
    objective : str
        The welfare function optimised.
    maximized : bool
        True when maximised, False when minimised.
    welfare : float
    max_violation : float
        Largest incentive-constraint violation (the certificate).
    """

    kind: str
    distribution: FloatArray
    payoffs: FloatArray
    objective: str
    maximized: bool
    welfare: float
    max_violation: float


@dataclasses.dataclass(frozen=True, eq=False)
class WelfareRange:
    """Least and greatest welfare over the CE or CCE polytope."""

    kind: str
    objective: str
    minimum: CorrelatedEquilibrium
    maximum: CorrelatedEquilibrium


@dataclasses.dataclass(frozen=True, eq=False)
class ZeroSumSolution:
    """Value and optimal strategies of a constant-sum game.

    Attributes
    ----------
    value : float
        The value to player 0.
    constant : float
        The constant sum of payoffs.
    strategies : tuple of ndarray
        One optimal strategy per player.
    nash_conv : float
    optimal_vertices : tuple of ndarray
        Per player, the extreme optimal strategies (empty when not enumerated).
    """

    value: float
    constant: float
    strategies: tuple[FloatArray, ...]
    nash_conv: float
    optimal_vertices: tuple[FloatArray, ...]


@dataclasses.dataclass(frozen=True)
class Selection:
    """The answer of one selection criterion.

    Attributes
    ----------
    criterion : str
        "payoff_dominance", "risk_dominance" or "logit_limit".
    decided : bool
    equilibrium_index : int or None
        Index into ``SolutionSet.equilibria`` of the selected equilibrium.
    reason : str
    """

    criterion: str
    decided: bool
    equilibrium_index: int | None
    reason: str


@dataclasses.dataclass(frozen=True)
class ConceptStatus:
    """How one requested solution concept was answered.

    Attributes
    ----------
    concept : str
        The concept as requested ("nash", "pure_nash", ...).
    status : str
        "answered" (in full: every equilibrium of the concept, an optimum proved
        optimal), "partial" (may miss part of the concept) or "refused".
    reason : str
        What the answer holds and how it was found, or why it is partial or refused.
    """

    concept: str
    status: str
    reason: str


@dataclasses.dataclass(frozen=True, eq=False)
class SolutionSet:
    """A set of equilibria and how the server found it.

    Attributes
    ----------
    game_id : str
        Content address of the game.
    equilibria : tuple of Equilibrium
    components : tuple of Component
    complete : bool
        True only when the set provably holds every equilibrium.
    method : str
        The method that ran ("auto" resolved).
    method_reason : str
        Why it was chosen and how the set was found.
    warnings : tuple of str
    tolerance : float
    concepts : tuple of str
        Solution concepts answered ("nash", "pure_nash", ...).
    exact : bool
        Whether exact arithmetic certified the equilibria.
    solve_seconds : float
        Wall time in the solver.
    pareto_indices : tuple of int
        Indices of the Pareto-optimal equilibria ("pareto_nash").
    welfare_optima : tuple of WelfareOptimum
        One per welfare function ("welfare_nash").
    correlated_equilibria : tuple of CorrelatedEquilibrium
        Welfare-optimal (C)CE ("correlated", "coarse_correlated").
    welfare_ranges : tuple of WelfareRange
        (C)CE welfare ranges.
    zero_sum : ZeroSumSolution or None
        Value and optimal strategies of a constant-sum game.
    selections : tuple of Selection
        Equilibrium-selection answers ("selection").
    concept_status : tuple of ConceptStatus
        One per requested concept, in request order: answered, partial or refused,
        and why.
    """

    game_id: str
    equilibria: tuple[Equilibrium, ...]
    components: tuple[Component, ...]
    complete: bool
    method: str
    method_reason: str
    warnings: tuple[str, ...]
    tolerance: float
    concepts: tuple[str, ...]
    exact: bool
    solve_seconds: float
    pareto_indices: tuple[int, ...] = ()
    welfare_optima: tuple[WelfareOptimum, ...] = ()
    correlated_equilibria: tuple[CorrelatedEquilibrium, ...] = ()
    welfare_ranges: tuple[WelfareRange, ...] = ()
    zero_sum: ZeroSumSolution | None = None
    selections: tuple[Selection, ...] = ()
    concept_status: tuple[ConceptStatus, ...] = ()

    def __len__(self) -> int:
        return len(self.equilibria)

    def status_of(self, concept: str) -> ConceptStatus | None:
        """The status of a requested concept (None when it was not requested)."""
        return next((c for c in self.concept_status if c.concept == concept), None)

    def plot(self, game: Any) -> dict[str, Any]:
        """Figures of the set: ``payoff_space`` and, for 2x2 and 3-action games, ``simplex``.

        ``game`` is the game solved (anything ``Client.solve`` accepts). Needs
        ``pip install 'equilibria[plot]'``.
        """
        from equilibria.client._report import solution_figures

        return solution_figures(self, game)

    def to_html(self, game: Any, *, png_dir: str | None = None, title: str = "") -> str:
        """A self-contained HTML report: payoff table, payoff space, certificate.

        ``game`` is the game solved (the set does not carry its payoffs); ``png_dir``
        also writes the figures as PNG files. Needs ``pip install 'equilibria[plot]'``.

        Examples
        --------
        >>> stag_hunt = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
        >>> result = client.solve(stag_hunt, concepts=["nash", "pareto_nash"])  # doctest: +SKIP
        >>> pathlib.Path("stag_hunt.html").write_text(result.to_html(stag_hunt))  # doctest: +SKIP
        """
        from equilibria.client._report import solution_html

        return solution_html(self, game, png_dir=png_dir, title=title)


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovEquilibrium:
    """An equilibrium of a stochastic game with its certificate.

    Attributes
    ----------
    policies : tuple of ndarray
        Per player, ``(S, a_i)`` (stationary) or ``(T, S, a_i)`` (per stage).
    values : ndarray, shape (S, n_players)
        Each player's value from each state (first stage for a finite horizon).
    payoffs : ndarray, shape (n_players,)
        Values from the initial distribution.
    regrets : ndarray, shape (n_players,)
        Each player's gain from its best-response MDP, from the initial distribution.
    nash_conv : float
        Sum of the regrets.
    state_gaps : ndarray, shape (S,)
        Largest best-response gain over players from each state (and stage).
    found_by : tuple of str
        The methods and priors that reached it.
    """

    policies: tuple[FloatArray, ...]
    values: FloatArray
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    state_gaps: FloatArray
    found_by: tuple[str, ...] = ()

    @property
    def max_state_gap(self) -> float:
        """Largest entry of ``state_gaps``."""
        return float(self.state_gaps.max(initial=0.0))


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovZeroSum:
    """Values and optimal stationary strategies of a zero-sum stochastic game.

    Attributes
    ----------
    values : ndarray, shape (S,)
        The value of each state to player 0.
    policies : tuple of ndarray
        Optimal stationary strategies ``(S, a_0)`` and ``(S, a_1)``.
    nash_conv, max_state_gap : float
        Their certificate.
    method : str
        "shapley" or "hoffman_karp".
    iterations : int
    error_bound : float
        Proven bound on the sup-norm error of ``values``.
    """

    values: FloatArray
    policies: tuple[FloatArray, ...]
    nash_conv: float
    max_state_gap: float
    method: str
    iterations: int
    error_bound: float


@dataclasses.dataclass(frozen=True, eq=False)
class MarkovSolutionSet:
    """Equilibria of a stochastic game and how they were found.

    Attributes
    ----------
    game_id : str
    equilibria : tuple of MarkovEquilibrium
    complete : bool
        True only when the set provably holds every equilibrium of the concept.
    method, method_reason : str
        The method used and how the set was searched.
    warnings : tuple of str
    tolerance : float
    concepts : tuple of str
    solve_seconds : float
    pareto_indices : tuple of int
    welfare_optima : tuple of WelfareOptimum
    zero_sum : MarkovZeroSum or None
    stage_selections : tuple of Selection
        How each backward-induction criterion decided ("utilitarian", "egalitarian",
        "nash_product", "payoff_dominance", "risk_dominance").
    concept_status : tuple of ConceptStatus
        One per requested concept, in request order: answered, partial or refused,
        and why.
    """

    game_id: str
    equilibria: tuple[MarkovEquilibrium, ...]
    complete: bool
    method: str
    method_reason: str = ""
    warnings: tuple[str, ...] = ()
    tolerance: float = 0.0
    concepts: tuple[str, ...] = ()
    solve_seconds: float = 0.0
    pareto_indices: tuple[int, ...] = ()
    welfare_optima: tuple[WelfareOptimum, ...] = ()
    zero_sum: MarkovZeroSum | None = None
    stage_selections: tuple[Selection, ...] = ()
    concept_status: tuple[ConceptStatus, ...] = ()

    def __len__(self) -> int:
        return len(self.equilibria)

    def status_of(self, concept: str) -> ConceptStatus | None:
        """The status of a requested concept (None when it was not requested)."""
        return next((c for c in self.concept_status if c.concept == concept), None)

    def to_html(self, *, title: str = "") -> str:
        """A self-contained HTML summary: values per state, NashConv, method (no figures)."""
        from equilibria.client._report import markov_solution_html

        return markov_solution_html(self, title=title)


@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """A solver method the server offers."""

    name: str
    description: str
    complete: bool
    min_players: int
    max_players: int


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """Limits the server enforces."""

    max_message_bytes: int
    max_payoff_entries: int
    max_players: int
    max_time_budget: float
    workers: int
    max_transition_entries: int = 0
    cache_entries: int = 0
    cache_bytes: int = 0
    worker_memory_bytes: int = 0
    max_trace_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """What ``GetServerInfo`` reports.

    ``instance_id`` is the random id the server process drew at start-up: it tells
    which replica answered when the client balances over several.
    """

    version: str
    solver_version: str
    limits: ServerLimits
    methods: tuple[MethodInfo, ...]
    instance_id: str = ""
