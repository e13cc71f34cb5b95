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
from equilibria.solver.evaluation import (
    AlphaRank,
    Basin,
    CreditAssignment,
    EquilibriumUnderNoise,
    EvolutionarilyStableSet,
    EvolutionarilyStableStrategy,
    EvolutionaryDynamics,
    MaxEntropyEquilibrium,
    NoisyMetaGame,
    StochasticCreditAssignment,
)

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
