"""Typed results of the client: frozen dataclasses of numpy arrays.

These mirror the solver's result types without importing the solver (the client must
stay light: numpy, grpcio and the generated API only). One input type lives here too:
:class:`StochasticGame`, a stochastic game checked on the client before it is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.client._display import (
    markov_solution_set_summary,
    render_html,
    render_text,
    server_info_summary,
    solution_set_summary,
)
from equilibria.client._errors import InvalidGameError
from equilibria.client._evaluation import (
    AlphaRank,
    CreditAssignment,
    EvolutionarilyStableSet,
    EvolutionaryDynamics,
    MaxEntropyEquilibrium,
    NoisyMetaGame,
    StochasticCreditAssignment,
)
from equilibria.client._typing import FloatArray

__all__ = [
    "StochasticGame",
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
    alpha_rank : AlphaRank or None
        The pure profiles ranked by α-Rank ("alpha_rank").
    max_entropy_equilibria : tuple of MaxEntropyEquilibrium
        The maximum-entropy and maximum-Gini (coarse) correlated equilibria, in request
        order ("max_entropy_correlated", ...).
    dynamics : EvolutionaryDynamics or None
        The rest points an evolutionary dynamic reaches and their basins
        ("replicator_dynamics").
    ess : EvolutionarilyStableSet or None
        The evolutionarily stable strategies ("ess").
    credit_assignment : CreditAssignment or None
        Each agent's credit under the given policy ("credit_assignment").
    noise : NoisyMetaGame or None
        How the payoffs' sampling noise bears on the equilibria ("noisy_equilibria").
    concept_status : tuple of ConceptStatus
        One per requested concept, in request order: answered, partial or refused,
        and why.
    player_names : tuple of str
        The players' names when the game sent named them (kept by the client: the
        answer does not carry them); they label the summary of ``print(result)``.

    Notes
    -----
    ``str(result)`` is a short table (strategies as fractions when exact, payoffs,
    NashConv, complete or partial and why, each concept's status) and Jupyter shows the
    same as HTML; ``repr(result)`` keeps every field.
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
    alpha_rank: AlphaRank | None = None
    max_entropy_equilibria: tuple[MaxEntropyEquilibrium, ...] = ()
    dynamics: EvolutionaryDynamics | None = None
    ess: EvolutionarilyStableSet | None = None
    credit_assignment: CreditAssignment | None = None
    noise: NoisyMetaGame | None = None
    concept_status: tuple[ConceptStatus, ...] = ()
    player_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.equilibria)

    def __str__(self) -> str:
        """A short text table (see :mod:`equilibria.client._display`)."""
        return render_text(solution_set_summary(self))

    def _repr_html_(self) -> str:
        """The same summary as an HTML table, for Jupyter."""
        return render_html(solution_set_summary(self))

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
    credit_assignment : StochasticCreditAssignment or None
        Each agent's credit per state under the given policy ("credit_assignment").
    concept_status : tuple of ConceptStatus
        One per requested concept, in request order: answered, partial or refused,
        and why.
    player_names : tuple of str
        The players' names when the game sent named them (kept by the client).

    Notes
    -----
    ``str(result)`` is a short table (payoffs, NashConv, state gaps, small policies,
    complete or partial and why, each concept's status), Jupyter shows it as HTML.
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
    credit_assignment: StochasticCreditAssignment | None = None
    concept_status: tuple[ConceptStatus, ...] = ()
    player_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.equilibria)

    def __str__(self) -> str:
        """A short text table (see :mod:`equilibria.client._display`)."""
        return render_text(markov_solution_set_summary(self))

    def _repr_html_(self) -> str:
        """The same summary as an HTML table, for Jupyter."""
        return render_html(markov_solution_set_summary(self))

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
    """Limits the server enforces (the server's ``Limits``; 0 where a server does not say).

    Sizes are in bytes, string caps in characters, times in seconds. A request past a
    size or string cap is refused with ``INVALID_ARGUMENT`` naming the field; past a
    capacity (``max_queue``, ``max_trace_streams``, the memory budgets) with
    ``RESOURCE_EXHAUSTED``.
    """

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
    max_queue: int = 0
    max_trace_chunk_bytes: int = 0
    max_trace_chunks: int = 0
    max_list_entries: int = 0
    max_policy_entries: int = 0
    max_option_chars: int = 0
    max_name_chars: int = 0
    max_title_chars: int = 0
    max_stream_memory_bytes: int = 0
    max_trace_streams: int = 0
    max_trace_memory_bytes: int = 0
    trace_idle_seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """What ``GetServerInfo`` reports.

    ``instance_id`` is the random id the server process drew at start-up: it tells
    which replica answered when the client balances over several. ``str(info)`` is a
    short table of the methods and limits (HTML in Jupyter).
    """

    version: str
    solver_version: str
    limits: ServerLimits
    methods: tuple[MethodInfo, ...]
    instance_id: str = ""

    def __str__(self) -> str:
        """A short text table (see :mod:`equilibria.client._display`)."""
        return render_text(server_info_summary(self))

    def _repr_html_(self) -> str:
        """The same summary as an HTML table, for Jupyter."""
        return render_html(server_info_summary(self))


# =========================================================================== input: stochastic games

#: Largest deviation of a transition row or the initial distribution from a probability
#: vector (the solver's ``ROW_TOLERANCE``; a test checks that the two agree).
ROW_TOLERANCE = 1e-9
#: The fields of :class:`StochasticGame`, as a dict or an object may give them.
STOCHASTIC_FIELDS = (
    "rewards",
    "transitions",
    "discount",
    "horizon",
    "initial_distribution",
    "action_counts",
    "title",
    "player_names",
)


def _game_error(field: str, message: str) -> InvalidGameError:
    """A client-side ``InvalidGameError`` naming ``stochastic_game.<field>``."""
    path = f"stochastic_game.{field}"
    return InvalidGameError(f"StochasticGame(): {message}", "INVALID_ARGUMENT", ((path, message),))


def _numeric(value: Any, field: str, dtype: type = np.float64) -> npt.NDArray[Any]:
    try:
        return np.array(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise _game_error(field, f"{field} is not a numeric array ({exc})") from exc


@dataclasses.dataclass(frozen=True, eq=False)
class StochasticGame:
    """A stochastic (Markov) game as the client sends it: checked here, solved by the server.

    The light twin of the solver's ``StochasticGame`` (no scipy, no solver import). Every
    field is checked on construction, so a malformed game fails in the caller's code with
    an :class:`InvalidGameError` naming the field (``stochastic_game.rewards``, ...)
    before anything is sent. :meth:`Client.score_trace`, :class:`TraceRecorder` and
    :meth:`Client.solve_stochastic` also accept the same fields as a dict, or any object
    with ``rewards``, ``transitions`` and ``discount`` attributes (:meth:`from_any`).

    Attributes
    ----------
    rewards : ndarray, shape (S, n_players, a_1, ..., a_n)
        Stage rewards.
    transitions : ndarray or tuple of ndarray
        Dense ``(S, a_1, ..., a_n, S)`` probabilities, or ``(rows, next_states,
        probabilities)`` with row ``s * A + ravel_multi_index(a, (a_1..a_n))`` (a sparse
        matrix given to the constructor is stored in this form).
    discount : float
        In [0, 1) for an infinite horizon, [0, 1] with a horizon.
    horizon : int or None
        Number of stages (None: infinite).
    initial_distribution : ndarray, shape (S,), or None
        None: uniform.
    action_counts : ndarray of int, shape (S, n_players), or None
        Actions per state and player (None: all); rewards and transitions of actions
        that do not exist are ignored.
    title : str
    player_names : tuple of str

    Raises
    ------
    InvalidGameError
        For a wrong shape, a non-finite reward, a transition row or initial
        distribution that is not a probability vector within 1e-9, a discount out of
        range, or a bad horizon or action count.

    Examples
    --------
    >>> import numpy as np
    >>> rewards = np.zeros((2, 2, 2, 2))
    >>> stay = np.zeros((2, 2, 2, 2))
    >>> stay[0, ..., 0] = stay[1, ..., 1] = 1.0
    >>> StochasticGame(rewards, stay, 0.9).num_actions
    (2, 2)
    >>> StochasticGame(rewards, stay[..., :1], 0.9)
    Traceback (most recent call last):
    ...
    equilibria.client._errors.InvalidGameError: StochasticGame(): transitions must have shape (2, 2, 2, 2), got (2, 2, 2, 1)
    """

    rewards: FloatArray
    transitions: Any
    discount: float
    horizon: int | None = None
    initial_distribution: FloatArray | None = None
    action_counts: npt.NDArray[np.int64] | None = None
    title: str = ""
    player_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rewards = _numeric(self.rewards, "rewards")
        if rewards.ndim < 4 or rewards.shape[1] != rewards.ndim - 2 or 0 in rewards.shape:
            raise _game_error(
                "rewards",
                f"rewards must have shape (S, n_players, a_1, ..., a_n) with n_players >= 2, got {rewards.shape}",
            )
        if not np.isfinite(rewards).all():
            bad = tuple(int(k) for k in np.argwhere(~np.isfinite(rewards))[0])
            raise _game_error("rewards", f"reward at index {bad} is not finite")
        set_field = object.__setattr__
        set_field(self, "rewards", rewards)
        horizon = self._checked_horizon()
        set_field(self, "horizon", horizon)
        set_field(self, "discount", self._checked_discount(horizon))
        counts = self._checked_counts()
        set_field(self, "action_counts", counts)
        set_field(self, "transitions", self._checked_transitions(counts))
        set_field(self, "initial_distribution", self._checked_initial())
        set_field(self, "title", str(self.title or ""))
        set_field(self, "player_names", tuple(str(p) for p in self.player_names or ()))

    @classmethod
    def from_any(cls, game: Any) -> StochasticGame:
        """A checked game from a :class:`StochasticGame`, a dict or an object with its fields.

        ``rewards``, ``transitions`` and ``discount`` are required; the other fields
        default as in the constructor.

        Raises
        ------
        InvalidGameError
            Naming a missing or unknown field, or a bad one.
        """
        if isinstance(game, cls):
            return game
        if isinstance(game, Mapping):
            unknown = sorted(str(k) for k in game if k not in STOCHASTIC_FIELDS)
            if unknown:
                raise _game_error(
                    unknown[0], f"unknown field {unknown[0]!r}; expected {', '.join(STOCHASTIC_FIELDS)}"
                )
            fields = dict(game)
        else:
            fields = {name: getattr(game, name) for name in STOCHASTIC_FIELDS if hasattr(game, name)}
        for name in ("rewards", "transitions", "discount"):
            if fields.get(name) is None:
                raise _game_error(name, f"a stochastic game needs {name!r} (rewards, transitions, discount)")
        return cls(**fields)

    @property
    def n_states(self) -> int:
        """Number of states S."""
        return int(self.rewards.shape[0])

    @property
    def num_actions(self) -> tuple[int, ...]:
        """Largest action count of each player."""
        return tuple(int(k) for k in self.rewards.shape[2:])

    # -- checks (each returns the field's stored value) ----------------------------------------

    def _checked_horizon(self) -> int | None:
        value = self.horizon
        if value is None:
            return None
        try:
            whole = not isinstance(value, bool) and float(value).is_integer() and int(value) >= 1
        except (TypeError, ValueError):
            whole = False
        if not whole:
            raise _game_error("horizon", f"horizon must be an integer >= 1 or None, got {value!r}")
        return int(value)

    def _checked_discount(self, horizon: int | None) -> float:
        try:
            gamma = float(self.discount)
        except (TypeError, ValueError) as exc:
            raise _game_error("discount", f"discount is not a number ({self.discount!r})") from exc
        upper_ok = gamma <= 1.0 if horizon is not None else gamma < 1.0
        if not (np.isfinite(gamma) and gamma >= 0.0 and upper_ok):
            wanted = (
                "[0, 1] with a finite horizon" if horizon is not None else "[0, 1) for an infinite horizon"
            )
            raise _game_error("discount", f"discount {gamma!r} not in {wanted}")
        return gamma

    def _checked_counts(self) -> npt.NDArray[np.int64] | None:
        if self.action_counts is None:
            return None
        counts = _numeric(self.action_counts, "action_counts")
        full = (self.n_states, len(self.num_actions))
        if counts.size == full[0] * full[1]:
            counts = counts.reshape(full)
        if counts.shape != full:
            raise _game_error("action_counts", f"action_counts must have shape {full}, got {counts.shape}")
        if not np.isfinite(counts).all() or (counts != np.round(counts)).any():
            raise _game_error("action_counts", "action_counts must be integers")
        bad = np.argwhere((counts < 1) | (counts > np.asarray(self.num_actions)))
        if bad.size:
            s, i = (int(k) for k in bad[0])
            raise _game_error(
                "action_counts",
                f"player {i} has {counts[s, i]:g} actions in state {s}; expected 1..{self.num_actions[i]}",
            )
        return counts.astype(np.int64)

    def _existing_rows(self, counts: npt.NDArray[np.int64] | None) -> npt.NDArray[np.bool_]:
        """Per transition row (state, joint action), whether every player's action exists."""
        shape = self.num_actions
        if counts is None:
            return np.ones(self.n_states * int(np.prod(shape)), dtype=bool)
        grids = np.indices(shape).reshape(len(shape), -1)  # (n, A)
        return (grids[None, :, :] < counts[:, :, None]).all(axis=1).ravel()

    def _checked_transitions(self, counts: npt.NDArray[np.int64] | None) -> Any:
        value, n_states, shape = self.transitions, self.n_states, self.num_actions
        n_rows = n_states * int(np.prod(shape))
        if hasattr(value, "tocoo"):
            coo = value.tocoo()
            value = (coo.row, coo.col, coo.data)
        if isinstance(value, tuple) and len(value) == 3:
            rows, cols, probs = (_numeric(v, "transitions").ravel() for v in value)
            if not len(rows) == len(cols) == len(probs):
                raise _game_error(
                    "transitions",
                    f"sparse transitions have {len(rows)} rows, {len(cols)} next states and {len(probs)} "
                    "probabilities",
                )
            for name, index, limit in (("rows", rows, n_rows), ("next_states", cols, n_states)):
                if len(index) and (
                    index.min() < 0 or index.max() >= limit or (index != np.round(index)).any()
                ):
                    raise _game_error(
                        f"transitions.{name}", f"transition {name} must be integers in 0..{limit - 1}"
                    )
            row_index = rows.astype(np.int64)
            stored: Any = (row_index, cols.astype(np.int64), probs)
        else:
            dense = _numeric(value, "transitions")
            wanted = (n_states, *shape, n_states)
            if dense.shape != wanted:
                raise _game_error("transitions", f"transitions must have shape {wanted}, got {dense.shape}")
            probs = dense.ravel()
            row_index = np.repeat(np.arange(n_rows), n_states)
            stored = dense
        exists = self._existing_rows(counts)
        if not np.isfinite(probs).all():
            raise _game_error("transitions", "a transition probability is not finite")
        negative = (probs < -ROW_TOLERANCE) & exists[row_index]
        sums = np.bincount(row_index, weights=probs, minlength=n_rows)
        off = exists & (np.abs(sums - 1.0) > ROW_TOLERANCE)
        if negative.any() or off.any():
            row = int(row_index[np.argmax(negative)]) if negative.any() else int(np.argmax(off))
            state, joint = divmod(row, int(np.prod(shape)))
            action = tuple(int(k) for k in np.unravel_index(joint, shape))
            what = "has a negative probability" if negative.any() else f"sums to {sums[row]:.12g}"
            raise _game_error(
                "transitions",
                f"the transition row of state {state}, joint action {action} {what}; rows must be "
                f"probability vectors within {ROW_TOLERANCE:g}",
            )
        return stored

    def _checked_initial(self) -> FloatArray | None:
        if self.initial_distribution is None:
            return None
        mu0 = _numeric(self.initial_distribution, "initial_distribution").ravel()
        if mu0.shape != (self.n_states,):
            raise _game_error(
                "initial_distribution",
                f"initial_distribution must have {self.n_states} entries, got {mu0.size}",
            )
        if not np.isfinite(mu0).all() or (mu0 < -ROW_TOLERANCE).any() or abs(mu0.sum() - 1.0) > ROW_TOLERANCE:
            raise _game_error(
                "initial_distribution",
                f"initial_distribution must be a probability vector within {ROW_TOLERANCE:g} (sum {mu0.sum():.12g})",
            )
        return mu0
