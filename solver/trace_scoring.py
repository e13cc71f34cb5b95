"""Streaming scores of learning traces against solution sets.

A multi-agent learning run produces a *trace* indexed by ``z = 1, 2, ...`` (episode or
iteration): joint policies :math:`\\pi^z` (per state in a stochastic game), sampled
joint actions :math:`a^\\tau` with the history or state :math:`h^\\tau` they were played
after, and per-episode returns :math:`G_i^z`. Scoring the trace asks whether, and in
which sense, it approaches the solution set ``S`` of the game (its equilibria and their
convex components, SPEC section 5). Each **criterion** gives a curve over ``z``, a final
value, a verdict and the member of ``S`` the trace approached:

* ``last_iterate`` (policies): :math:`d(\\pi^z, S)`;
* ``expected_return`` (policies): the distance of :math:`(U_i(\\pi^z))_i` to the set of
  equilibrium payoff vectors;
* ``empirical_distribution`` (policies): :math:`d(\\bar\\pi^z, S)`, with
  :math:`\\bar\\pi^z` the running mean of the policies;
* ``set_convergence`` (policies): the same curve, with :math:`z_0(\\epsilon)` for each
  :math:`\\epsilon` and the selected equilibrium;
* ``averaged_joint_policy`` (sampled joint actions): the distance of the empirical joint
  play :math:`\\hat\\pi^z(a|h)` to ``S``, with a confidence radius;
* ``average_return`` (returns): the distance of :math:`\\bar G^z = \\frac1z\\sum_{e \\le z}
  G^e` to the equilibrium payoffs, with a confidence radius;
* ``nash_conv`` (policies): NashConv(:math:`\\pi^z`) and, reported as
  ``nash_conv_average``, NashConv(:math:`\\bar\\pi^z`).

Distances are those of :mod:`equilibria.solver.distances` (``metric`` per player,
``aggregate`` over players, per-state averages weighted by the initial distribution or
given ``state_weights`` in stochastic games). Payoff curves (``expected_return``,
``average_return``, both NashConv curves) are in the user's payoff units; their
thresholds are :math:`\\epsilon` times the game's payoff range (for a stochastic game,
the reward range over :math:`1 - \\gamma`), reported as the criterion's ``scale``.
The equilibrium payoff vectors are measured afresh from the game: each point's payoffs
(:math:`\\mu_0 \\cdot V_i` by policy evaluation in a stochastic game) and, for a
component, the box of each player's payoff range over its vertex profiles (a
multilinear payoff takes its extremes at vertices). In a two-player component every
``x`` in ``X`` is a best response to every ``y`` in ``Y``, so player 1's payoff is linear
in ``y`` alone and player 2's in ``x`` alone: the component's payoff set *is* that box.
The payoff distance is ``aggregate`` over players of :math:`|u_i - U_i|` to a point,
or of the distance to the interval to a box, minimised over the members.

**Streaming.** :class:`TraceScorer` consumes :class:`TraceChunk` objects and keeps only
bounded state: running sums of the policies (a chunk's running means are one
cumulative sum, so they equal one big chunk's to the last bit), running sums of the
returns and of their squares (shifted by the first return, against cancellation),
joint-action counts per history (at most ``max_histories`` histories:
:class:`~equilibria.solver.errors.ProblemTooLargeError` past it), for every curve and
every :math:`\\epsilon` the last row at or above and the last row below the threshold
(which decides exactly whether a tail window of any length lies below or above it),
values at log-spaced checkpoints, and a ring buffer of the last ``tail_buffer`` values.
Its memory is bounded by the chunk size, the number of checkpoints and of histories,
whatever the length of the trace.

**Checkpoints.** The checkpoints are the integers :math:`\\lfloor 2^{j/16} \\rfloor`
with ``j`` a multiple of :math:`2^L`: at level ``L = 0`` sixteen per octave; whenever
more than ``n_checkpoints`` are stored the level goes up by one and every other grid
point is dropped, so between about half of and ``n_checkpoints`` log-spaced points
remain for a trace of any length, and the set depends on ``z`` only -- scoring in
chunks of any sizes gives the same checkpoints and values as one chunk.

**What is exact.** Curves computed for every row: the distance criteria from policies
and ``average_return`` (and, in normal-form games, ``expected_return`` and NashConv,
vectorised over rows). A row's distance to the set's points (extreme equilibria and
one-point components) is exact (:func:`~equilibria.solver.distances.distance_to_points`).
A component with more than one vertex (a continuum of equilibria) costs an
optimisation per row in most metrics, so for every row it is **bracketed** instead,
per player, from the exact Euclidean distance to the hull and the exact distance to the
nearest vertex: for a difference :math:`v = x - y` of two distributions over ``k``
actions, :math:`\\sqrt2\\|v\\|_2 \\le \\|v\\|_1 \\le \\sqrt k \\|v\\|_2` and
:math:`\\|v\\|_2 / \\sqrt k \\le \\|v\\|_\\infty \\le \\|v\\|_2`; Hellinger between
:math:`TV/\\sqrt2` and :math:`\\sqrt{TV}`; Jensen-Shannon between :math:`TV^2/2` and
:math:`\\ln 2 \\cdot TV`; smoothed KL at least :math:`2(1-\\alpha)^2 TV^2` (Pinsker).
Rows inside a hull, players whose hull is one vertex, and the metric ``"l2"`` are exact.
The per-:math:`\\epsilon` tail tests and :math:`z_0(\\epsilon)` use the *upper* end of
the bracket for "below :math:`\\epsilon`" and the lower end for "above", so they are
conservative; :math:`z_0` is flagged ``z0_exact`` when both ends agree for every
:math:`\\epsilon` (always so without multi-vertex components). Checkpoint values and
final values are exact (:func:`~equilibria.solver.distances.distance_to_set`, one
snapshot at a time). Computed at checkpoints (and at the last row) only:
``averaged_joint_policy`` (it needs the counts at that ``z``) and, in stochastic games,
``expected_return`` and NashConv (policy evaluation and best responses by
:func:`~equilibria.solver.markov_regret.certify_markov`).

**Averaged joint policy.** For a normal-form game each history ``h`` (any integer the
user chooses; one history when none is given) has its empirical joint distribution;
its per-player marginals are measured against ``S`` (so correlation between players is
not seen by the ``"nash"`` concept) and :math:`c_4(z) = \\sum_h (n_h / z)\\, d(\\hat\\pi(\\cdot|h),
S)`, every history free to approach its own equilibrium (a sequence of stage-game
equilibria after every history is an equilibrium of the repeated game). With
``joint_concept="correlated"`` or ``"coarse_correlated"`` the joint distributions
themselves are measured against the CE or CCE polytope
(:func:`~equilibria.solver.distances.distance_to_polyhedron`, in ``metric`` over joint
actions): regret matching's empirical joint play converges to the CCE set. In a
stochastic game the histories are the states and the marginals form one stationary
policy (unvisited states: uniform), measured against ``S`` with the state weights.
The confidence radius is :func:`~equilibria.solver.trace_verdicts.concentration_radius`
per history and player with a union bound over histories and players
(:math:`\\delta = 1 - \\text{confidence}`), averaged with the same weights: it bounds
:math:`|c_4 - c_4^{\\text{true}}|` for the metrics with a triangle inequality, treating
the samples after one history as independent draws from one conditional policy.

**Average return.** A normal confidence interval from the running variance, with a
Bonferroni correction over players: half-width
:math:`z_{1-\\delta/(2n)} \\sqrt{s_i^2 / z}`, aggregated over players like the distance.

**Verdicts** are those of :func:`~equilibria.solver.trace_verdicts.decide_verdict` (its
module docstring states the rules): *converged* at the smallest :math:`\\epsilon` the
whole tail window stays below (final value plus confidence radius too) with a fitted
rate that is not rising; *not converged* when the tail stays above the largest
:math:`\\epsilon` or the signal stalls or cycles; *inconclusive* when the trace is
shorter than two tail windows, too noisy, or still crossing the thresholds. The tail
window is ``tail_window`` rows, by default 10 % of the rows seen so far and at least
``min_tail`` (20). The rate is fitted over the checkpoints with :math:`z \\ge \\sqrt{Z}`
and the final value. For criteria computed at checkpoints only, the tail is the
checkpoints inside the tail window and the final value, at least the last three.

**Selection.** Members of ``S`` that touch (a point inside a component, two components
sharing a vertex) form one connected *group*. The trace *selects* a group when it stays
within the largest :math:`\\epsilon` of it (nearer to it than to any other member) for
``min_tail`` consecutive rows -- two consecutive checkpoints for checkpoint-only
criteria --, so passing by an equilibrium does not count; ``switch_count`` counts the
changes of the selected group. ``nearest_solution`` is the member nearest at the last row:
``("point", k)`` is ``solution_set.equilibria[k]``, ``("component", c)`` is
``solution_set.components[c]``.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver import NormalFormGame, solve
>>> pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
>>> z = np.arange(1, 2001)[:, None]
>>> x = 0.5 + np.array([[1.0, -1.0]]) / (3 * z)  # (1/2 + 1/(3z), 1/2 - 1/(3z)) -> (1/2, 1/2)
>>> scorer = TraceScorer(pennies, solve(pennies))
>>> scorer.update(TraceChunk(policies=(x, x)))
>>> score = scorer.result()
>>> s = score["last_iterate"]
>>> s.verdict, s.epsilon, round(s.fitted_rate, 3), s.nearest_solution
('converged', 0.01, -1.0, ('point', 0))
>>> score["last_iterate"].z0[0.01]  # TV 1/(3z) < 0.01 from z = 34 on
34

References
----------
.. [1] J. Robinson, "An iterative method of solving a game", Annals of Mathematics 54
   (1951) 296-301 (fictitious play: the empirical distribution converges in zero-sum
   games).
.. [2] L. S. Shapley, "Some topics in two-person games", Advances in Game Theory,
   Annals of Mathematics Studies 52 (1964) 1-28 (fictitious play cycles).
.. [3] S. Hart and A. Mas-Colell, "A simple adaptive procedure leading to correlated
   equilibrium", Econometrica 68 (2000) 1127-1150.
.. [4] M. Lanctot et al., "OpenSpiel: a framework for reinforcement learning in games",
   arXiv:1908.09453 (2019): NashConv, and ``StrategyAverager`` for streaming averages.
.. [5] T. Weissman et al., "Inequalities for the L1 deviation of the empirical
   distribution", HP Labs HPL-2003-97 (2003).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver.distances import (
    AGGREGATES,
    HULL_ZERO_TOL,
    KL_SMOOTHING,
    METRICS,
    PROBABILITY_TOL,
    SolutionTarget,
    correlated_polytope,
    distance,
    distance_to_component,
    distance_to_points,
    distance_to_polyhedron,
    distance_to_set,
)
from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.markov_regret import certify_markov, evaluate_policy
from equilibria.solver.results import MarkovSolutionSet, SolutionSet
from equilibria.solver.stochastic_game import StochasticGame
from equilibria.solver.trace_verdicts import (
    TailEvidence,
    concentration_radius,
    decide_verdict,
    detect_period,
    fit_rate,
    metric_diameter,
)
from scipy.stats import norm

__all__ = [
    "CRITERIA",
    "CURVES",
    "VERDICTS",
    "JOINT_CONCEPTS",
    "ScoreOptions",
    "TraceChunk",
    "CriterionScore",
    "TraceScore",
    "TraceScorer",
    "score_trace",
    "compile_kernels",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Criteria a caller may request (``nash_conv`` yields two curves).
CRITERIA = (
    "last_iterate",
    "expected_return",
    "empirical_distribution",
    "averaged_joint_policy",
    "set_convergence",
    "average_return",
    "nash_conv",
)
#: Curves reported in a :class:`TraceScore`, in order.
CURVES = (
    "last_iterate",
    "expected_return",
    "empirical_distribution",
    "set_convergence",
    "averaged_joint_policy",
    "average_return",
    "nash_conv",
    "nash_conv_average",
)
#: The three verdicts.
VERDICTS = ("converged", "not_converged", "inconclusive")
#: What the empirical joint play of ``averaged_joint_policy`` is measured against.
JOINT_CONCEPTS = ("nash", "correlated", "coarse_correlated")

_POLICY_CURVES = frozenset(
    {
        "last_iterate",
        "expected_return",
        "empirical_distribution",
        "set_convergence",
        "nash_conv",
        "nash_conv_average",
    }
)
_SAMPLE_CURVES = frozenset({"averaged_joint_policy"})
_RETURN_CURVES = frozenset({"average_return"})
#: Grid points per octave at checkpoint level 0, and the largest level.
_GRID_RESOLUTION = 16
_MAX_LEVEL = 10
#: Elements of the work arrays of the payoff contraction.
_PAYOFF_BLOCK = 1 << 18
#: Fewest samples in the tail of a checkpoint-only criterion.
_MIN_CHECKPOINT_TAIL = 3
#: Largest number of cells of the per-history count table.
_MAX_COUNT_CELLS = 50_000_000


# =========================================================================== options and data


@dataclasses.dataclass(frozen=True)
class ScoreOptions:
    """How a trace is scored.

    Attributes
    ----------
    criteria : tuple of str or None
        Subset of :data:`CRITERIA`; None (default) scores every criterion the data
        supports. A requested criterion that never gets data is reported
        ``"inconclusive"``.
    metric : str
        One of :data:`~equilibria.solver.distances.METRICS` (default ``"tv"``).
    aggregate : str
        ``"max"`` (default) or ``"sum"`` over players, for distances and payoff gaps.
    epsilons : tuple of float
        Thresholds (default ``(0.1, 0.05, 0.01)``), each positive and finite; stored in
        decreasing order without duplicates. Payoff criteria multiply them by the
        game's payoff scale.
    tail_window : int or None
        Rows in the tail window; None (default): ``max(min_tail, ceil(tail_fraction * z))``.
    tail_fraction : float
        Fraction of the rows seen that the default tail window covers (default 0.1).
    min_tail : int
        Smallest default tail window (default 20); also the number of consecutive rows
        near one group of equilibria that selects it (see *Selection* in the module
        docstring).
    tail_buffer : int
        Capacity of the ring buffer of recent values per curve (default 4096), used for
        the periodicity test; the threshold tests over the tail are exact for any window.
    confidence : float
        Confidence level of the radii (default 0.95).
    n_checkpoints : int
        Most checkpoints kept per data stream (default 64, at least 8).
    max_histories : int
        Most distinct histories with sample counts (default 100 000); the count table
        (one int64 per history and joint action) is also capped at 5e7 entries.
    joint_concept : str
        One of :data:`JOINT_CONCEPTS` (default ``"nash"``): the target of the empirical
        joint play (``averaged_joint_policy``).
    state_weights : tuple of float or None
        Stochastic games: weights of the states in distances (default: the initial
        distribution); non-negative with a positive sum, normalised.

    Raises
    ------
    InvalidOptionError
        Naming the field.

    Examples
    --------
    >>> ScoreOptions(epsilons=(0.01, 0.1, 0.1)).epsilons
    (0.1, 0.01)
    >>> ScoreOptions().window(50), ScoreOptions().window(1000), ScoreOptions(tail_window=7).window(1000)
    (20, 100, 7)
    """

    criteria: tuple[str, ...] | None = None
    metric: str = "tv"
    aggregate: str = "max"
    epsilons: tuple[float, ...] = (0.1, 0.05, 0.01)
    tail_window: int | None = None
    tail_fraction: float = 0.1
    min_tail: int = 20
    tail_buffer: int = 4096
    confidence: float = 0.95
    n_checkpoints: int = 64
    max_histories: int = 100_000
    joint_concept: str = "nash"
    state_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        function = "ScoreOptions()"
        if self.criteria is not None:
            if isinstance(self.criteria, str):
                raise InvalidOptionError(
                    "criteria", f"{function}: criteria must be a sequence of names, not a string"
                )
            criteria = tuple(dict.fromkeys(str(c) for c in self.criteria))
            for c in criteria:
                if c not in CRITERIA:
                    raise InvalidOptionError(
                        "criteria",
                        f"{function}: unknown criterion {c!r}; expected one of {', '.join(CRITERIA)}",
                    )
            if not criteria:
                raise InvalidOptionError("criteria", f"{function}: criteria is empty (use None for all)")
            object.__setattr__(self, "criteria", criteria)
        if self.metric not in METRICS:
            raise InvalidOptionError(
                "metric", f"{function}: unknown metric {self.metric!r}; expected one of {', '.join(METRICS)}"
            )
        if self.aggregate not in AGGREGATES:
            raise InvalidOptionError(
                "aggregate",
                f"{function}: unknown aggregate {self.aggregate!r}; expected one of {', '.join(AGGREGATES)}",
            )
        try:
            eps = [float(e) for e in self.epsilons]
        except (TypeError, ValueError) as exc:
            raise InvalidOptionError("epsilons", f"{function}: epsilons must be numbers ({exc})") from exc
        if not eps or any(not (math.isfinite(e) and e > 0.0) for e in eps):
            raise InvalidOptionError(
                "epsilons",
                f"{function}: epsilons must be a non-empty list of positive finite numbers, got {eps}",
            )
        object.__setattr__(self, "epsilons", tuple(sorted(set(eps), reverse=True)))
        if self.tail_window is not None:
            _check_int(function, "tail_window", self.tail_window, 2)
        if not (isinstance(self.tail_fraction, (int, float)) and 0.0 < float(self.tail_fraction) <= 0.5):
            raise InvalidOptionError(
                "tail_fraction", f"{function}: tail_fraction {self.tail_fraction!r} is not in (0, 0.5]"
            )
        _check_int(function, "min_tail", self.min_tail, 2)
        _check_int(function, "tail_buffer", self.tail_buffer, 8)
        _check_int(function, "n_checkpoints", self.n_checkpoints, 8)
        _check_int(function, "max_histories", self.max_histories, 1)
        if not (isinstance(self.confidence, (int, float)) and 0.0 < float(self.confidence) < 1.0):
            raise InvalidOptionError(
                "confidence", f"{function}: confidence {self.confidence!r} is not in (0, 1)"
            )
        if self.joint_concept not in JOINT_CONCEPTS:
            raise InvalidOptionError(
                "joint_concept",
                f"{function}: unknown joint_concept {self.joint_concept!r}; expected one of "
                f"{', '.join(JOINT_CONCEPTS)}",
            )
        if self.state_weights is not None:
            try:
                w = np.asarray(self.state_weights, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidOptionError(
                    "state_weights", f"{function}: state_weights are not numbers ({exc})"
                ) from exc
            if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise InvalidOptionError(
                    "state_weights",
                    f"{function}: state_weights must be a non-empty vector of finite non-negative numbers with a "
                    "positive sum",
                )
            object.__setattr__(self, "state_weights", tuple(float(v) for v in w))

    def window(self, z: int) -> int:
        """Rows in the tail window after ``z`` rows."""
        if self.tail_window is not None:
            return int(self.tail_window)
        return max(int(self.min_tail), int(math.ceil(float(self.tail_fraction) * z)))


@dataclasses.dataclass(frozen=True, eq=False)
class TraceChunk:
    """A piece of a trace: consecutive rows of one or more data streams.

    Attributes
    ----------
    policies : tuple of ndarray or None
        Per player, ``(z, a_i)`` (normal form) or ``(z, S, a_i)`` (stationary policies of
        a stochastic game): one joint policy per row.
    joint_actions : ndarray of int or None
        ``(z, n_players)`` sampled joint actions.
    history : ndarray of int or None
        ``(z,)`` integer keys of the history each joint action was played after (the
        state in a stochastic game, where it is required); needs ``joint_actions``.
    returns : ndarray or None
        ``(z, n_players)`` per-episode returns (discounted from the start state in a
        stochastic game).

    The three streams may have different numbers of rows; each has its own ``z``.

    Raises
    ------
    InvalidGameError
        Field ``"chunk.policies[i]"``, ``"chunk.joint_actions"``, ``"chunk.history"`` or
        ``"chunk.returns"``; the message names the first bad row.

    Examples
    --------
    >>> import numpy as np
    >>> TraceChunk(returns=np.zeros((3, 2))).n_returns
    3
    >>> TraceChunk(policies=(np.array([[0.5, 0.8]]), np.array([[1.0, 0.0]])))
    Traceback (most recent call last):
    ...
    equilibria.solver.errors.InvalidGameError: TraceChunk(): policies[0][0] sums to 1.3, not 1 (tolerance 1e-06)
    """

    policies: tuple[FloatArray, ...] | None = None
    joint_actions: IntArray | None = None
    history: IntArray | None = None
    returns: FloatArray | None = None

    def __post_init__(self) -> None:
        function = "TraceChunk()"
        if self.policies is None and self.joint_actions is None and self.returns is None:
            raise InvalidGameError(
                "chunk", f"{function}: the chunk has no policies, joint_actions or returns"
            )
        if self.policies is not None:
            object.__setattr__(self, "policies", _checked_policies(self.policies, function))
        if self.history is not None and self.joint_actions is None:
            raise InvalidGameError("chunk.history", f"{function}: history given without joint_actions")
        if self.joint_actions is not None:
            actions = _integer_array(self.joint_actions, "chunk.joint_actions", function)
            if actions.ndim != 2 or actions.shape[1] < 2:
                raise InvalidGameError(
                    "chunk.joint_actions",
                    f"{function}: joint_actions must be (z, n_players) with n_players >= 2, got shape {actions.shape}",
                )
            negative = np.flatnonzero((actions < 0).any(axis=1))
            if negative.size:
                r = int(negative[0])
                raise InvalidGameError(
                    "chunk.joint_actions",
                    f"{function}: joint_actions[{r}] = {actions[r].tolist()} has a negative action",
                )
            actions.setflags(write=False)
            object.__setattr__(self, "joint_actions", actions)
            if self.history is not None:
                hist = _integer_array(self.history, "chunk.history", function)
                if hist.shape != (actions.shape[0],):
                    raise InvalidGameError(
                        "chunk.history",
                        f"{function}: history of shape {hist.shape} does not match {actions.shape[0]} joint actions",
                    )
                hist.setflags(write=False)
                object.__setattr__(self, "history", hist)
        if self.returns is not None:
            try:
                ret = np.array(self.returns, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidGameError(
                    "chunk.returns", f"{function}: returns are not numbers ({exc})"
                ) from exc
            if ret.ndim != 2 or ret.shape[1] < 2:
                raise InvalidGameError(
                    "chunk.returns", f"{function}: returns must be (z, n_players), got shape {ret.shape}"
                )
            bad = np.flatnonzero(~np.isfinite(ret).all(axis=1))
            if bad.size:
                r = int(bad[0])
                raise InvalidGameError(
                    "chunk.returns", f"{function}: returns[{r}] = {ret[r].tolist()} is not finite"
                )
            ret.setflags(write=False)
            object.__setattr__(self, "returns", ret)

    @property
    def n_policies(self) -> int:
        """Rows of the policy stream."""
        return 0 if self.policies is None else int(self.policies[0].shape[0])

    @property
    def n_samples(self) -> int:
        """Rows of the sampled joint actions."""
        return 0 if self.joint_actions is None else int(self.joint_actions.shape[0])

    @property
    def n_returns(self) -> int:
        """Rows of the returns."""
        return 0 if self.returns is None else int(self.returns.shape[0])


# =========================================================================== results


@dataclasses.dataclass(frozen=True, eq=False)
class CriterionScore:
    """The score of one criterion.

    Attributes
    ----------
    name : str
        One of :data:`CURVES`.
    checkpoints_z : ndarray of int, shape (k,)
        Log-spaced rows at which the curve was recorded.
    values : ndarray, shape (k,)
        The curve at those rows (exact).
    final_value : float
        The curve at the last row (``nan`` without data).
    verdict : str
        ``"converged"``, ``"not_converged"`` or ``"inconclusive"``.
    epsilon : float or None
        The threshold the verdict refers to: the smallest reached when converged.
    evidence : str
        What decided the verdict.
    fitted_rate : float or None
        Slope of log value against log z over the checkpoints with :math:`z \\ge \\sqrt Z`.
    rate_r2 : float or None
        :math:`R^2` of that fit.
    z : int
        Rows of the criterion's data stream.
    scale : float
        Multiplier of the thresholds: 1 for distances, the payoff scale for payoffs.
    z0 : dict
        ``epsilon -> z0``: the first row from which every row is (certainly) below the
        threshold, None if the last row is not. Criteria computed for every row only.
    z0_exact : bool
        Whether ``z0`` is exact (False when bracketed distances to components left it
        an upper bound for some epsilon).
    confidence_radius : float or None
        ``averaged_joint_policy`` and ``average_return``: the radius of the final value.
    checkpoint_radii : ndarray, shape (k,), or None
        The same criteria: the radius at each checkpoint (``inf`` where undefined,
        e.g. one return), for confidence bands; None for the other criteria.
    nearest_solution : tuple of (str, int) or None
        ``("point", k)`` or ``("component", c)``: the member of the set nearest at the
        last row (None for NashConv and polytope targets).
    switched : bool
        Whether the selected group of equilibria changed along the trace.
    switch_count : int
        How many times it changed.
    """

    name: str
    checkpoints_z: IntArray
    values: FloatArray
    final_value: float
    verdict: str
    epsilon: float | None
    evidence: str
    fitted_rate: float | None
    rate_r2: float | None
    z: int
    scale: float = 1.0
    z0: dict[float, int | None] = dataclasses.field(default_factory=dict)
    z0_exact: bool = True
    confidence_radius: float | None = None
    nearest_solution: tuple[str, int] | None = None
    switched: bool = False
    switch_count: int = 0
    checkpoint_radii: FloatArray | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class TraceScore:
    """Scores of every criterion of a trace, after the rows seen so far.

    Attributes
    ----------
    criteria : tuple of CriterionScore
        In the order of :data:`CURVES`; index by name with ``score[name]``.
    n_policies, n_samples, n_returns : int
        Rows seen per data stream.
    z_seen : int
        The largest of the three.
    selected : tuple of (str, int) or None
        The member of the solution set the trace approached: ``nearest_solution`` of the
        first scored of ``set_convergence``, ``last_iterate``, ``averaged_joint_policy``,
        ``expected_return``, ``average_return``.
    selected_by : str or None
        The criterion ``selected`` comes from.
    switched : bool
        Whether that criterion's selected equilibrium switched.
    metric, aggregate : str
    epsilons : tuple of float
    warnings : tuple of str
        Approximations in force (bracketed component distances).
    """

    criteria: tuple[CriterionScore, ...]
    n_policies: int
    n_samples: int
    n_returns: int
    z_seen: int
    selected: tuple[str, int] | None
    selected_by: str | None
    switched: bool
    metric: str
    aggregate: str
    epsilons: tuple[float, ...]
    warnings: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the scored criteria."""
        return tuple(c.name for c in self.criteria)

    def __getitem__(self, name: str) -> CriterionScore:
        for c in self.criteria:
            if c.name == name:
                return c
        raise KeyError(f"{name!r} was not scored; scored: {', '.join(self.names) or 'none'}")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.criteria)


# =========================================================================== the scorer


class TraceScorer:
    """Score a trace chunk by chunk in bounded memory (see the module docstring).

    Parameters
    ----------
    game : NormalFormGame or StochasticGame
        Stochastic games with an infinite horizon only.
    solution_set : SolutionSet or MarkovSolutionSet or SolutionTarget
        The set the trace is measured against (for a ``SolutionTarget``, payoffs are
        computed from the game).
    options : ScoreOptions, optional

    Raises
    ------
    InvalidGameError
        A game of another type, or a set that does not fit the game (field
        ``"solution_set"``).
    InvalidOptionError
        Options that do not fit the game (``state_weights``, ``joint_concept``).
    UnsupportedError
        Finite-horizon stochastic games (field ``"game"``).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame, solve
    >>> rps = NormalFormGame.from_bimatrix([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    >>> scorer = TraceScorer(rps, solve(rps), ScoreOptions(criteria=("average_return",)))
    >>> rng = np.random.default_rng(0)
    >>> scorer.update(TraceChunk(returns=rng.normal(0.0, 0.1, size=(5000, 2))))
    >>> s = scorer.result()["average_return"]
    >>> s.verdict, s.epsilon, s.confidence_radius < 0.01
    ('converged', 0.01, True)
    """

    def __init__(
        self,
        game: NormalFormGame | StochasticGame,
        solution_set: SolutionSet | MarkovSolutionSet | SolutionTarget,
        options: ScoreOptions | None = None,
    ) -> None:
        function = "TraceScorer()"
        if options is None:
            options = ScoreOptions()
        if not isinstance(options, ScoreOptions):
            raise InvalidOptionError(
                "options", f"{function}: options must be ScoreOptions, got {type(options).__name__}"
            )
        if not isinstance(game, (NormalFormGame, StochasticGame)):
            raise InvalidGameError(
                "game", f"{function}: expected a NormalFormGame or StochasticGame, got {type(game).__name__}"
            )
        self.game = game
        self.options = options
        self.stochastic = isinstance(game, StochasticGame)
        # The game as each kind (only the one matching ``self.stochastic`` is ever used).
        self._sg = cast(StochasticGame, game)
        self._nf = cast(NormalFormGame, game)
        if isinstance(game, StochasticGame):
            if game.horizon is not None:
                raise UnsupportedError(
                    "game",
                    f"{function}: finite-horizon stochastic games (per-stage policies) are not supported",
                )
            if options.joint_concept != "nash":
                raise InvalidOptionError(
                    "joint_concept",
                    f"{function}: joint_concept {options.joint_concept!r} needs a normal-form game",
                )
            n_states = game.n_states
            if options.state_weights is None:
                w = np.asarray(game.initial_distribution, dtype=np.float64)
            else:
                w = np.asarray(options.state_weights, dtype=np.float64)
                if w.shape != (n_states,):
                    raise InvalidOptionError(
                        "state_weights",
                        f"{function}: {w.size} state_weights for a game with {n_states} states",
                    )
            self._weights: FloatArray | None = w / w.sum()
            self._scale = game.reward_scale / (1.0 - game.discount)
        else:
            if options.state_weights is not None:
                raise InvalidOptionError("state_weights", f"{function}: state_weights need a stochastic game")
            self._weights = None
            self._scale = game.payoff_scale
        self.n_players = game.n_players
        self.num_actions = tuple(int(k) for k in game.num_actions)
        self._target = _Target(game, solution_set, options, self._weights, function)
        self._eps_desc = options.epsilons
        self._eps = tuple(sorted(options.epsilons))
        self._delta = 1.0 - float(options.confidence)
        requested = options.criteria
        self._requested: frozenset[str] | None = None
        if requested is not None:
            curves = set(requested)
            if "nash_conv" in curves:
                curves.add("nash_conv_average")
            self._requested = frozenset(curves)
        # Streams: rows seen, checkpoint grid.
        self._zp = 0
        self._zs = 0
        self._zr = 0
        self._grids = {name: _Grid(options.n_checkpoints) for name in ("policies", "samples", "returns")}
        self._curves: dict[str, _Curve] = {}
        # Policy state.
        self._sum: list[FloatArray] | None = None
        self._last: list[FloatArray] | None = None
        # Sample state.
        self._keys = np.zeros(0, dtype=np.int64)  # sorted history keys (normal form)
        self._slots = np.zeros(0, dtype=np.int64)  # their rows in the count table
        self._counts = np.zeros((0, math.prod(self.num_actions)), dtype=np.int64)
        self._visits = np.zeros(0, dtype=np.int64)
        self._n_hist = 0
        if self.stochastic:
            self._alloc_counts(self._sg.n_states)
            self._n_hist = self._sg.n_states
        if options.joint_concept != "nash":
            self._polytope: tuple[FloatArray, FloatArray] | None = correlated_polytope(
                self._nf, options.joint_concept
            )
        else:
            self._polytope = None
        # Return state.
        self._shift: FloatArray | None = None
        self._rsum = np.zeros(self.n_players)
        self._rsq = np.zeros(self.n_players)
        self._cache: dict[str, tuple[int, tuple[float, tuple[str, int] | None, float | None]]] = {}

    # ------------------------------------------------------------------ public

    @property
    def z(self) -> dict[str, int]:
        """Rows seen per data stream (``"policies"``, ``"samples"``, ``"returns"``)."""
        return {"policies": self._zp, "samples": self._zs, "returns": self._zr}

    @property
    def state_nbytes(self) -> int:
        """Bytes held by the scorer's state (arrays, checkpoints, buffers): bounded for any trace length."""
        total = self._keys.nbytes + self._slots.nbytes + self._counts.nbytes + self._visits.nbytes
        total += self._rsum.nbytes + self._rsq.nbytes
        for arrays in (self._sum, self._last):
            if arrays is not None:
                total += sum(a.nbytes for a in arrays)
        if self._shift is not None:
            total += self._shift.nbytes
        total += sum(c.nbytes for c in self._curves.values())
        return int(total)

    def update(self, chunk: TraceChunk) -> None:
        """Consume a chunk: every stream it carries, rows in order.

        The chunk is checked against the game before any state changes, so a rejected
        chunk leaves the scorer as it was.

        Parameters
        ----------
        chunk : TraceChunk

        Raises
        ------
        InvalidGameError
            Rows that do not fit the game (field ``"chunk.policies[i]"``,
            ``"chunk.joint_actions"``, ``"chunk.history"``, ``"chunk.returns"``), naming
            the first bad row.
        ProblemTooLargeError
            More distinct histories than ``max_histories`` (field ``"max_histories"``).
        """
        function = "TraceScorer.update()"
        if not isinstance(chunk, TraceChunk):
            raise InvalidGameError("chunk", f"{function}: expected a TraceChunk, got {type(chunk).__name__}")
        policies = self._checked_policies(chunk, function) if chunk.policies is not None else None
        samples = self._checked_samples(chunk, function) if chunk.joint_actions is not None else None
        if chunk.returns is not None and chunk.returns.shape[1] != self.n_players:
            raise InvalidGameError(
                "chunk.returns",
                f"{function}: returns have {chunk.returns.shape[1]} columns for {self.n_players} players",
            )
        if policies is not None and policies[0].shape[0]:
            self._update_policies(policies)
        if samples is not None and samples[0].shape[0]:
            if self._wanted("averaged_joint_policy"):
                self._update_samples(*samples)
            else:
                self._zs += samples[0].shape[0]
        if chunk.returns is not None and chunk.returns.shape[0]:
            self._update_returns(chunk.returns)

    def result(self) -> TraceScore:
        """The score after the rows seen so far (call it after any chunk: live monitoring).

        Returns
        -------
        TraceScore
        """
        scores = []
        for name in CURVES:
            if not self._wanted(name):
                continue
            stream = _stream_of(name)
            z = {"policies": self._zp, "samples": self._zs, "returns": self._zr}[stream]
            if z == 0 and self._requested is None:
                continue
            scores.append(self._score(name, z))
        selected = selected_by = None
        switched = False
        for name in (
            "set_convergence",
            "empirical_distribution",
            "last_iterate",
            "averaged_joint_policy",
            "expected_return",
            "average_return",
        ):
            for s in scores:
                if s.name == name and s.z > 0 and s.nearest_solution is not None:
                    selected, selected_by, switched = s.nearest_solution, name, s.switched
                    break
            if selected is not None:
                break
        warnings = []
        if self._target.hulls and self.options.metric != "l2" and self._zp:
            warnings.append(
                f"{len(self._target.hulls)} component(s) with several vertices: per-row distances to them are "
                f"bracketed from the Euclidean distance (metric {self.options.metric!r}); tail tests and z0 use the "
                "conservative end, checkpoint and final values are exact"
            )
        return TraceScore(
            criteria=tuple(scores),
            n_policies=self._zp,
            n_samples=self._zs,
            n_returns=self._zr,
            z_seen=max(self._zp, self._zs, self._zr),
            selected=selected,
            selected_by=selected_by,
            switched=switched,
            metric=self.options.metric,
            aggregate=self.options.aggregate,
            epsilons=self._eps_desc,
            warnings=tuple(warnings),
        )

    # ------------------------------------------------------------------ checks

    def _wanted(self, name: str) -> bool:
        if self._requested is not None:
            return name in self._requested
        return True

    def _checked_policies(self, chunk: TraceChunk, function: str) -> list[FloatArray]:
        policies = chunk.policies
        assert policies is not None
        if len(policies) != self.n_players:
            raise InvalidGameError(
                "chunk.policies", f"{function}: {len(policies)} policy arrays for {self.n_players} players"
            )
        out = []
        for i, (p, k) in enumerate(zip(policies, self.num_actions, strict=True)):
            wanted: tuple[int, ...] = (k,) if not self.stochastic else (self._sg.n_states, k)
            if p.shape[1:] != wanted:
                raise InvalidGameError(
                    f"chunk.policies[{i}]",
                    f"{function}: policies[{i}] has shape {p.shape}; expected (z, {', '.join(map(str, wanted))})",
                )
            if self.stochastic:
                mask = self._sg.action_mask[i]
                off = (np.abs(p) > PROBABILITY_TOL) & ~mask[None]
                if off.any():
                    r, s, a = (int(v) for v in np.argwhere(off)[0])
                    raise InvalidGameError(
                        f"chunk.policies[{i}]",
                        f"{function}: policies[{i}][{r}, {s}] puts probability {p[r, s, a]:.6g} on action {a}, "
                        f"which does not exist in state {s}",
                    )
            out.append(p)
        return out

    def _checked_samples(self, chunk: TraceChunk, function: str) -> tuple[IntArray, IntArray]:
        actions = chunk.joint_actions
        assert actions is not None
        if actions.shape[1] != self.n_players:
            raise InvalidGameError(
                "chunk.joint_actions",
                f"{function}: joint_actions have {actions.shape[1]} columns for {self.n_players} players",
            )
        limits = np.asarray(self.num_actions)
        over = np.flatnonzero((actions >= limits[None]).any(axis=1))
        if over.size:
            r = int(over[0])
            i = int(np.flatnonzero(actions[r] >= limits)[0])
            raise InvalidGameError(
                "chunk.joint_actions",
                f"{function}: joint_actions[{r}][{i}] = {int(actions[r, i])} is out of range [0, {limits[i]})",
            )
        if chunk.history is None:
            if self.stochastic:
                raise InvalidGameError(
                    "chunk.history",
                    f"{function}: a stochastic game needs the state of each joint action (history)",
                )
            history = np.zeros(actions.shape[0], dtype=np.int64)
        else:
            history = chunk.history
        if self.stochastic:
            n_states = self._sg.n_states
            bad = np.flatnonzero((history < 0) | (history >= n_states))
            if bad.size:
                r = int(bad[0])
                raise InvalidGameError(
                    "chunk.history",
                    f"{function}: history[{r}] = {int(history[r])} is not a state in [0, {n_states})",
                )
            for i in range(self.n_players):
                ok = self._sg.action_mask[i][history, actions[:, i]]
                if not ok.all():
                    r = int(np.flatnonzero(~ok)[0])
                    raise InvalidGameError(
                        "chunk.joint_actions",
                        f"{function}: joint_actions[{r}][{i}] = {int(actions[r, i])} does not exist in state "
                        f"{int(history[r])}",
                    )
        else:
            new = int((~np.isin(np.unique(history), self._keys)).sum())
            if self._n_hist + new > self.options.max_histories:
                raise ProblemTooLargeError(
                    "max_histories",
                    f"{function}: {self._n_hist + new} distinct histories exceed max_histories = "
                    f"{self.options.max_histories}; raise it (memory: one count per history and joint action) or "
                    "coarsen the history keys",
                )
            if (self._n_hist + new) * self._counts.shape[1] > _MAX_COUNT_CELLS:
                raise ProblemTooLargeError(
                    "max_histories",
                    f"{function}: {self._n_hist + new} histories x {self._counts.shape[1]} joint actions exceed "
                    f"{_MAX_COUNT_CELLS} counts",
                )
        return actions.astype(np.int64, copy=False), np.asarray(history, dtype=np.int64)

    # ------------------------------------------------------------------ policies

    def _curve(self, name: str, per_row: bool, scale: float) -> _Curve:
        curve = self._curves.get(name)
        if curve is None:
            taus = np.asarray(self._eps, dtype=np.float64) * scale
            curve = _Curve(taus, per_row, self.options.tail_buffer, self.options.min_tail)
            self._curves[name] = curve
        return curve

    def _update_policies(self, xs: list[FloatArray]) -> None:
        m = xs[0].shape[0]
        z_old = self._zp
        grid = self._grids["policies"]
        level, cps = grid.plan(z_old, z_old + m)
        rows = cps - z_old - 1
        if self._sum is None:
            self._sum = [np.zeros(x.shape[1:]) for x in xs]
        # Running sums continued from the last chunk's, and running means (as a cumsum then
        # a division by z would give them, without the temporaries); the sums are updated.
        sums = [s.copy() for s in self._sum]
        avg = [np.empty(x.shape) for x in xs]
        for total, x, mean in zip(sums, xs, avg, strict=True):
            _running_means(total.reshape(-1), x.reshape(m, -1), z_old, mean.reshape(m, -1))
        staged: list[tuple[str, bool, float, dict[str, Any]]] = []
        want = self._wanted
        if want("last_iterate"):
            staged.append(("last_iterate", True, 1.0, self._distance_rows(xs, rows)))
        if want("empirical_distribution") or want("set_convergence"):
            staged.append(("empirical", True, 1.0, self._distance_rows(avg, rows)))
        if self.stochastic:
            need_last = want("expected_return") or want("nash_conv")
            # Policy evaluation and best responses: at the checkpoints only.
            last_certs = (
                [certify_markov(self._sg, [x[r] for x in xs]) for r in rows.tolist()] if need_last else []
            )
            if want("expected_return"):
                values, members = [], []
                for cert in last_certs:
                    d, _g, member = self._target.payoff_distance(cert.payoffs[None])
                    values.append(float(d[0]))
                    members.append(member[0])
                staged.append(("expected_return", False, self._scale, {"cp": (values, members)}))
            if want("nash_conv"):
                values = [float(c.nash_conv) for c in last_certs]
                staged.append(("nash_conv", False, self._scale, {"cp": (values, None)}))
            if want("nash_conv_average"):
                values = [
                    float(certify_markov(self._sg, [a[r] for a in avg]).nash_conv) for r in rows.tolist()
                ]
                staged.append(("nash_conv_average", False, self._scale, {"cp": (values, None)}))
        else:
            payoffs = self._nf.payoffs
            if want("expected_return") or want("nash_conv"):
                u, nc = _payoff_rows(payoffs, xs)
                if want("expected_return"):
                    d, g, _m = self._target.payoff_distance(u)
                    staged.append(
                        (
                            "expected_return",
                            True,
                            self._scale,
                            {"up": d, "lo": d, "groups": g, "cp_rows": rows},
                        )
                    )
                if want("nash_conv"):
                    staged.append(
                        (
                            "nash_conv",
                            True,
                            self._scale,
                            {"up": nc, "lo": nc, "groups": None, "cp_rows": rows},
                        )
                    )
            if want("nash_conv_average"):
                _u, nca = _payoff_rows(payoffs, avg)
                staged.append(
                    (
                        "nash_conv_average",
                        True,
                        self._scale,
                        {"up": nca, "lo": nca, "groups": None, "cp_rows": rows},
                    )
                )
        # Commit.
        for name, per_row, scale, data in staged:
            curve = self._curve(name, per_row, scale)
            if per_row:
                curve.push_rows(z_old + 1, data["up"], data["lo"], data["groups"])
                if "cp" in data:
                    values, members = data["cp"]
                else:
                    values = data["up"][data["cp_rows"]].tolist()
                    members = None
                curve.push_checkpoints(cps.tolist(), values, members)
            else:
                curve.n = z_old + m
                values, members = data["cp"]
                curve.push_checkpoints(cps.tolist(), values, members)
        self._sum = sums
        self._last = [x[-1].copy() for x in xs]
        self._zp = z_old + m
        self._thin("policies", level)

    def _distance_rows(self, xs: list[FloatArray], cp_rows: IntArray) -> dict[str, Any]:
        """Per-row bracket, and exact values and members at the checkpoint rows."""
        up, lo, groups = self._target.bracket(xs)
        if self._target.hulls:
            values, members = [], []
            for r in cp_rows.tolist():
                v, member = self._target.exact([x[r : r + 1] for x in xs])
                values.append(v)
                members.append(member)
        else:
            values = up[cp_rows].tolist()
            members = None
        return {"up": up, "lo": lo, "groups": groups, "cp": (values, members)}

    # ------------------------------------------------------------------ samples

    def _alloc_counts(self, rows: int) -> None:
        if rows <= self._counts.shape[0]:
            return
        capacity = max(rows, 2 * self._counts.shape[0], 16)
        if self.stochastic:
            capacity = rows
        counts = np.zeros((capacity, self._counts.shape[1]), dtype=np.int64)
        counts[: self._counts.shape[0]] = self._counts
        visits = np.zeros(capacity, dtype=np.int64)
        visits[: self._visits.size] = self._visits
        self._counts, self._visits = counts, visits

    def _update_samples(self, actions: IntArray, history: IntArray) -> None:
        m = actions.shape[0]
        z_old = self._zs
        if self.stochastic:
            slots = history
        else:
            uniq, inverse = np.unique(history, return_inverse=True)
            pos = np.searchsorted(self._keys, uniq)
            if self._keys.size:
                found = (pos < self._keys.size) & (self._keys[np.minimum(pos, self._keys.size - 1)] == uniq)
            else:
                found = np.zeros(uniq.size, dtype=bool)
            slot_of = np.empty(uniq.size, dtype=np.int64)
            slot_of[found] = self._slots[pos[found]]
            new_keys = uniq[~found]
            new_slots = np.arange(self._n_hist, self._n_hist + new_keys.size, dtype=np.int64)
            slot_of[~found] = new_slots
            if new_keys.size:
                keys = np.concatenate([self._keys, new_keys])
                slots_all = np.concatenate([self._slots, new_slots])
                order = np.argsort(keys, kind="stable")
                self._keys, self._slots = keys[order], slots_all[order]
                self._n_hist += int(new_keys.size)
                self._alloc_counts(self._n_hist)
            slots = slot_of[inverse.reshape(-1)]
        joint = np.ravel_multi_index(tuple(actions.T), self.num_actions)
        grid = self._grids["samples"]
        level, cps = grid.plan(z_old, z_old + m)
        values: list[float] = []
        members: list[tuple[str, int] | None] = []
        radii: list[float] = []
        start = 0
        for cp in cps.tolist():
            stop = cp - z_old
            self._add_counts(slots[start:stop], joint[start:stop])
            start = stop
            value, member, radius = self._joint_value(cp)
            values.append(value)
            members.append(member)
            radii.append(radius)
        self._add_counts(slots[start:], joint[start:])
        self._zs = z_old + m
        curve = self._curve("averaged_joint_policy", False, 1.0)
        curve.n = self._zs
        curve.push_checkpoints(cps.tolist(), values, members, radii)
        self._thin("samples", level)

    def _add_counts(self, slots: IntArray, joint: IntArray) -> None:
        if slots.size:
            np.add.at(self._counts, (slots, joint), 1)
            np.add.at(self._visits, slots, 1)

    def _joint_value(self, z: int) -> tuple[float, tuple[str, int] | None, float]:
        """``averaged_joint_policy`` at ``z`` (the counts must be those after ``z`` samples)."""
        opts = self.options
        n = self.n_players
        if self.stochastic:
            assert self._weights is not None
            game = self._sg
            counts = self._counts.reshape((-1,) + self.num_actions)
            visits = self._visits.astype(np.float64)
            marginals = []
            delta = self._delta / (game.n_states * n)
            per_player = []
            for i in range(n):
                axes = tuple(1 + j for j in range(n) if j != i)
                c = counts.sum(axis=axes).astype(np.float64)  # (S, a_i)
                mask = game.action_mask[i]
                uniform = mask / mask.sum(axis=1, keepdims=True)
                seen = visits > 0
                marg = np.where(seen[:, None], c / np.maximum(visits, 1.0)[:, None], uniform)
                marginals.append(marg[None])
                k_s = mask.sum(axis=1)
                r = np.empty(k_s.size)
                for k in np.unique(k_s).tolist():
                    r[k_s == k] = concentration_radius(self._visits[k_s == k], int(k), delta, opts.metric)
                per_player.append(r)
            radius = _aggregate(per_player, opts.aggregate)
            d, nearest = distance_to_points(
                marginals, self._target.target, opts.metric, opts.aggregate, state_weights=self._weights
            )
            return float(d[0]), ("point", int(nearest[0])), float(self._weights @ radius)
        slots = self._slots  # in key order: independent of how the trace was chunked
        slots = slots[self._visits[slots] > 0]  # histories first seen later in the chunk have no visit yet
        counts = self._counts[slots]
        visits = self._visits[slots].astype(np.float64)
        weights = visits / float(z)
        h = slots.size
        if self._polytope is not None:
            joint = counts / visits[:, None]
            a_ub, b_ub = self._polytope
            d = distance_to_polyhedron(joint, a_ub, b_ub, opts.metric)
            rad = concentration_radius(self._visits[slots], counts.shape[1], self._delta / h, opts.metric)
            return float(np.sum(weights * d)), None, float(np.sum(weights * rad))
        tensor = counts.reshape((h,) + self.num_actions)
        marginals = []
        per_player = []
        delta = self._delta / (h * n)
        for i in range(n):
            axes = tuple(1 + j for j in range(n) if j != i)
            marginals.append(tensor.sum(axis=axes).astype(np.float64) / visits[:, None])
            per_player.append(
                concentration_radius(self._visits[slots], self.num_actions[i], delta, opts.metric)
            )
        sd = distance_to_set(marginals, self._target.target, opts.metric, opts.aggregate)
        radius = _aggregate(per_player, opts.aggregate)
        ids = np.where(sd.nearest_kind == "point", sd.nearest_index, self._target.n_points + sd.nearest_index)
        mass = np.bincount(
            ids, weights=weights, minlength=self._target.n_points + len(self._target.components)
        )
        best = int(np.argmax(mass))
        member = (
            ("point", best) if best < self._target.n_points else ("component", best - self._target.n_points)
        )
        return float(np.sum(weights * sd.distances)), member, float(np.sum(weights * radius))

    # ------------------------------------------------------------------ returns

    def _update_returns(self, returns: FloatArray) -> None:
        m = returns.shape[0]
        z_old = self._zr
        if self._shift is None:
            self._shift = returns[0].copy()
        zs = np.arange(z_old + 1, z_old + m + 1, dtype=np.float64)
        dev = returns - self._shift
        s1 = np.cumsum(np.concatenate([self._rsum[None], dev]), axis=0)[1:]
        s2 = np.cumsum(np.concatenate([self._rsq[None], dev * dev]), axis=0)[1:]
        mean = self._shift + s1 / zs[:, None]
        grid = self._grids["returns"]
        level, cps = grid.plan(z_old, z_old + m)
        if self._wanted("average_return"):
            d, g, _m = self._target.payoff_distance(mean)
            curve = self._curve("average_return", True, self._scale)
            curve.push_rows(z_old + 1, d, d, g)
            at = cps - z_old - 1
            radii = self._return_radii(s1[at], s2[at], zs[at])
            curve.push_checkpoints(cps.tolist(), d[at].tolist(), None, radii.tolist())
        self._rsum, self._rsq = s1[-1].copy(), s2[-1].copy()
        self._zr = z_old + m
        self._thin("returns", level)

    def _return_radius(self) -> float:
        z = float(self._zr)
        return float(self._return_radii(self._rsum[None], self._rsq[None], np.array([z]))[0])

    def _return_radii(self, s1: FloatArray, s2: FloatArray, zs: FloatArray) -> FloatArray:
        """Radii of the mean returns after ``zs`` rows, from the shifted sums ``(m, n)`` at those rows."""
        z = zs.astype(np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.maximum((s2 - s1 * s1 / z) / (z - 1.0), 0.0)
        q = float(norm.ppf(1.0 - self._delta / (2.0 * self.n_players)))
        half = q * np.sqrt(var / z)
        out = half.max(axis=1) if self.options.aggregate == "max" else half.sum(axis=1)
        return np.where(zs < 2, math.inf, out)

    # ------------------------------------------------------------------ checkpoints

    def _thin(self, stream: str, level: int) -> None:
        """Move the stream's grid to ``level``; drop the stored checkpoints that are not on it."""
        grid = self._grids[stream]
        if level == grid.level:
            return  # the stored checkpoints are on this grid: thinned to it before, or planned on it
        grid.level = level
        for name, curve in self._curves.items():
            if _stream_of(_curve_name(name)) == stream and curve.cz:
                curve.thin(grid.contains(np.asarray(curve.cz, dtype=np.int64)))

    # ------------------------------------------------------------------ scoring

    def _final(self, name: str, z: int) -> tuple[float, tuple[str, int] | None, float | None]:
        cached = self._cache.get(name)
        if cached is not None and cached[0] == z:
            return cached[1]
        out = self._compute_final(name, z)
        self._cache[name] = (z, out)
        return out

    def _compute_final(self, name: str, z: int) -> tuple[float, tuple[str, int] | None, float | None]:
        if name == "averaged_joint_policy":
            return self._joint_value(z)
        if name == "average_return":
            assert self._shift is not None
            mean = self._shift + self._rsum / z
            d, _g, member = self._target.payoff_distance(mean[None])
            return float(d[0]), member[0], self._return_radius()
        assert self._sum is not None and self._last is not None
        avg = [s / float(z) for s in self._sum]
        last = self._last
        if name in ("last_iterate", "empirical"):
            profile = last if name == "last_iterate" else avg
            v, member = self._target.exact([p[None] for p in profile])
            return v, member, None
        if self.stochastic:
            profile = last if name in ("expected_return", "nash_conv") else avg
            cert = certify_markov(self._sg, profile)
            if name == "expected_return":
                d, _g, member = self._target.payoff_distance(cert.payoffs[None])
                return float(d[0]), member[0], None
            return float(cert.nash_conv), None, None
        profile = avg if name == "nash_conv_average" else last
        u, nc = _payoff_rows(self._nf.payoffs, [p[None] for p in profile])
        if name == "expected_return":
            d, _g, member = self._target.payoff_distance(u)
            return float(d[0]), member[0], None
        return float(nc[0]), None, None

    def _score(self, name: str, z: int) -> CriterionScore:
        key = "empirical" if name in ("empirical_distribution", "set_convergence") else name
        scale = (
            self._scale
            if name in ("expected_return", "average_return", "nash_conv", "nash_conv_average")
            else 1.0
        )
        curve = self._curves.get(key)
        if curve is None or z == 0:
            what = {"policies": "policies", "samples": "sampled joint actions", "returns": "returns"}[
                _stream_of(name)
            ]
            return CriterionScore(
                name=name,
                checkpoints_z=np.zeros(0, dtype=np.int64),
                values=np.zeros(0),
                final_value=math.nan,
                verdict="inconclusive",
                epsilon=None,
                evidence=f"no data: the trace has no {what}",
                fitted_rate=None,
                rate_r2=None,
                z=0,
                scale=scale,
            )
        final, member, radius = self._final(key, z)
        window = min(self.options.window(z), z)
        fit_z = np.asarray(curve.cz + ([z] if not curve.cz or curve.cz[-1] != z else []), dtype=np.float64)
        fit_v = np.asarray(
            curve.cv + ([final] if not curve.cz or curve.cz[-1] != z else []), dtype=np.float64
        )
        fit = fit_rate(fit_z, fit_v, z_min=math.sqrt(z))
        taus = curve.taus
        z0: dict[float, int | None] = {}
        z0_exact = True
        if curve.per_row:
            tail_start = z - window + 1
            below = tuple(bool(v < tail_start) for v in curve.lv_up)
            above = tuple(bool(v < tail_start) for v in curve.lb_lo)
            last_above = tuple(int(v) for v in curve.lv_up)
            ring = curve.ring[-min(window, curve.ring.size) :]
            period = detect_period(ring)
            tail_text = f"rows {tail_start}..{z}, {window} rows"
            for e, lv in zip(self._eps, curve.lv_up.tolist(), strict=True):
                z0[e] = int(lv) + 1 if lv < z else None
            z0_exact = bool(np.array_equal(curve.lv_up, curve.lv_lo))
            switches = curve.selection.switches
        else:
            tail_start = z - window + 1
            sample_z = fit_z.astype(np.int64)
            sample_v = fit_v
            inside = sample_z >= tail_start
            if int(inside.sum()) < _MIN_CHECKPOINT_TAIL:
                inside = np.zeros(sample_z.size, dtype=bool)
                inside[-_MIN_CHECKPOINT_TAIL:] = True
            tail_v = sample_v[inside]
            below = tuple(bool((tail_v < t).all()) for t in taus)
            above = tuple(bool((tail_v >= t).all()) for t in taus)
            last_above = tuple(
                int(sample_z[np.flatnonzero(sample_v >= t)[-1]]) if (sample_v >= t).any() else 0 for t in taus
            )
            period = None
            tail_text = f"{int(inside.sum())} checkpoints z={int(sample_z[inside][0])}..{z}, tail window {window} rows"
            switches = _count_switches(curve.cv, curve.cm, float(taus[-1]), self._target)
        evidence = TailEvidence(
            z=z,
            window=window,
            epsilons=self._eps,
            scale=scale,
            below=below,
            above=above,
            last_above=last_above,
            final=final,
            radius=radius,
            fit=fit,
            period=period,
            tail_text=tail_text,
        )
        verdict = decide_verdict(evidence)
        return CriterionScore(
            name=name,
            checkpoints_z=np.asarray(curve.cz, dtype=np.int64),
            values=np.asarray(curve.cv, dtype=np.float64),
            final_value=final,
            verdict=verdict.verdict,
            epsilon=verdict.epsilon,
            evidence=verdict.evidence,
            fitted_rate=None if fit is None else fit.slope,
            rate_r2=None if fit is None else fit.r2,
            z=z,
            scale=scale,
            z0=z0,
            z0_exact=z0_exact,
            confidence_radius=radius,
            nearest_solution=member,
            switched=switches > 0,
            switch_count=switches,
            checkpoint_radii=np.asarray(curve.cr, dtype=np.float64) if radius is not None else None,
        )


def score_trace(
    game: NormalFormGame | StochasticGame,
    solution_set: SolutionSet | MarkovSolutionSet | SolutionTarget,
    trace: TraceChunk | Iterable[TraceChunk],
    options: ScoreOptions | None = None,
) -> TraceScore:
    """Score a whole trace: a :class:`TraceScorer` fed every chunk, then its result.

    Parameters
    ----------
    game : NormalFormGame or StochasticGame
    solution_set : SolutionSet or MarkovSolutionSet or SolutionTarget
    trace : TraceChunk or iterable of TraceChunk
    options : ScoreOptions, optional

    Returns
    -------
    TraceScore

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame, solve
    >>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    >>> defect = np.tile([0.0, 1.0], (100, 1))
    >>> score = score_trace(pd, solve(pd), TraceChunk(policies=(defect, defect)))
    >>> score["last_iterate"].verdict, score["nash_conv"].final_value, score.selected
    ('converged', 0.0, ('point', 0))
    """
    scorer = TraceScorer(game, solution_set, options)
    chunks = [trace] if isinstance(trace, TraceChunk) else trace
    for chunk in chunks:
        scorer.update(chunk)
    return scorer.result()


# =========================================================================== internals


def _check_int(function: str, field: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise InvalidOptionError(field, f"{function}: {field} must be an integer >= {low}, got {value!r}")


def _integer_array(value: Any, field: str, function: str) -> IntArray:
    try:
        arr = np.array(value)
    except (TypeError, ValueError) as exc:  # pragma: no cover - numpy accepts nearly anything
        raise InvalidGameError(field, f"{function}: {field} is not an array ({exc})") from exc
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            where = tuple(int(v) for v in np.argwhere(bad)[0])
            raise InvalidGameError(
                field, f"{function}: {field.split('.')[-1]}{list(where)} = {arr[where]!r} is not an integer"
            )
        return arr.astype(np.int64)
    raise InvalidGameError(field, f"{function}: {field} must hold integers, got dtype {arr.dtype}")


def _checked_policies(policies: Any, function: str) -> tuple[FloatArray, ...]:
    if isinstance(policies, np.ndarray) or not isinstance(policies, Sequence):
        raise InvalidGameError(
            "chunk.policies", f"{function}: policies must be a tuple of one array per player"
        )
    out = []
    for i, p in enumerate(policies):
        field = f"chunk.policies[{i}]"
        try:
            arr = np.array(p, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidGameError(field, f"{function}: policies[{i}] is not numeric ({exc})") from exc
        if arr.ndim not in (2, 3) or arr.shape[-1] == 0:
            raise InvalidGameError(
                field, f"{function}: policies[{i}] must be (z, a_i) or (z, S, a_i), got shape {arr.shape}"
            )
        out.append(arr)
    if len(out) < 2:
        raise InvalidGameError(
            "chunk.policies", f"{function}: {len(out)} policy arrays; need one per player (>= 2)"
        )
    if any(a.ndim != out[0].ndim or a.shape[:-1] != out[0].shape[:-1] for a in out):
        raise InvalidGameError(
            "chunk.policies",
            f"{function}: policy arrays disagree in rows (or states): {[a.shape for a in out]}",
        )
    for i, arr in enumerate(out):
        field = f"chunk.policies[{i}]"
        rows = arr.reshape(-1, arr.shape[-1])
        if _clearly_probability_rows(rows, _sum_margin(rows.shape[1])):
            arr.setflags(write=False)
            continue
        finite = np.isfinite(rows).all(axis=1)
        low = np.where(finite, rows.min(axis=1, initial=np.inf), -np.inf)
        sums = rows.sum(axis=1)
        bad = ~finite | (low < -PROBABILITY_TOL) | (np.abs(sums - 1.0) > PROBABILITY_TOL)
        if bad.any():
            flat = int(np.flatnonzero(bad)[0])
            where = np.unravel_index(flat, arr.shape[:-1])
            at = f"[{int(where[0])}]" if arr.ndim == 2 else f"[{int(where[0])}, {int(where[1])}]"
            row = rows[flat]
            if not finite[flat]:
                what = f"has a non-finite entry {row.tolist()}"
            elif low[flat] < -PROBABILITY_TOL:
                what = f"has a negative probability {low[flat]:.6g}"
            else:
                what = f"sums to {sums[flat]:.12g}, not 1"
            raise InvalidGameError(
                field, f"{function}: policies[{i}]{at} {what} (tolerance {PROBABILITY_TOL:g})"
            )
        arr.setflags(write=False)
    return tuple(out)


def _aggregate(per_player: Sequence[FloatArray], aggregate: str) -> FloatArray:
    total = np.array(per_player[0], dtype=np.float64, copy=True)
    for d in per_player[1:]:
        if aggregate == "max":
            np.maximum(total, d, out=total)
        else:
            total += d
    return total


def _payoff_rows(payoffs: FloatArray, xs: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Expected payoffs ``(m, n)`` and NashConv ``(m,)`` of ``m`` mixed profiles.

    Two players: the compiled :func:`_payoff_rows_two`; more: :func:`_payoff_rows_numpy`
    (the same operations in the same order, so both give the same bits).
    """
    if len(xs) != 2:
        return _payoff_rows_numpy(payoffs, xs)
    m = xs[0].shape[0]
    u = np.empty((m, 2))
    nash_conv = np.empty(m)
    _payoff_rows_two(
        np.ascontiguousarray(payoffs[0], dtype=np.float64),
        np.ascontiguousarray(payoffs[1].T, dtype=np.float64),
        np.ascontiguousarray(xs[0], dtype=np.float64),
        np.ascontiguousarray(xs[1], dtype=np.float64),
        u,
        nash_conv,
    )
    return u, nash_conv


def _payoff_rows_numpy(payoffs: FloatArray, xs: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Expected payoffs ``(m, n)`` and NashConv ``(m,)`` of ``m`` mixed profiles.

    Each player's deviation payoffs are contracted one opponent at a time with a loop
    over that opponent's actions (elementwise multiply-adds), so every row's result
    does not depend on the other rows: chunked and whole traces agree to the last bit.
    """
    n = len(xs)
    m = xs[0].shape[0]
    joint = math.prod(payoffs.shape[1:])
    block = max(1, _PAYOFF_BLOCK // max(joint, 1))
    u = np.empty((m, n))
    nash_conv = np.zeros(m)
    for start in range(0, m, block):
        sl = slice(start, min(m, start + block))
        b = sl.stop - sl.start
        regret_total = np.zeros(b)
        for i in range(n):
            others = [j for j in range(n) if j != i]
            t: FloatArray = np.moveaxis(payoffs[i], i, 0)[None]  # (1, a_i, others...)
            for j in reversed(others):
                x = xs[j][sl]
                lead = t.ndim - 1
                acc: FloatArray | None = None
                for a in range(x.shape[1]):
                    w = x[:, a].reshape((b,) + (1,) * (lead - 1))
                    term = t[..., a] * w
                    acc = term if acc is None else acc + term
                assert acc is not None
                t = acc
            dev = t.reshape(b, -1)  # (b, a_i)
            xi = xs[i][sl]
            value = dev[:, 0] * xi[:, 0]
            for a in range(1, xi.shape[1]):
                value = value + dev[:, a] * xi[:, a]
            u[sl, i] = value
            regret_total = regret_total + np.maximum(dev.max(axis=1) - value, 0.0)
        nash_conv[sl] = regret_total
    return u, nash_conv


def compile_kernels() -> None:
    """Compile (or load from numba's on-disk cache) the scorer's kernels now.

    Examples
    --------
    >>> compile_kernels()
    """
    rows = np.full((1, 2), 0.5)
    frozen = rows.copy()
    frozen.setflags(write=False)  # chunks hold read-only arrays
    _clearly_probability_rows(rows, _sum_margin(2))
    _running_means(np.zeros(2), frozen, 0, np.empty((1, 2)))
    _last_rows(np.zeros(1), np.ones(1), True, 1, np.zeros(1, dtype=np.int64))
    _track_runs(np.zeros(1, dtype=np.int64), 2, np.zeros(4, dtype=np.int64))
    for xs in (rows, frozen):  # running means, and last iterates straight from a chunk
        _payoff_rows_two(np.eye(2), np.eye(2), xs, xs, np.empty((1, 2)), np.empty(1))
    _payoff_gaps(rows, rows, np.zeros((1, 2, 2)), False, np.empty(1), np.empty(1, dtype=np.int64))


def _sum_margin(actions: int) -> float:
    """Bound on how far sums of ``actions`` entries may round apart in different orders.

    Entries of a row that passes are at least ``-tol`` and sum to about 1, so their
    absolute values sum to at most ``1 + 2 a tol``; two orders of summation differ by at
    most twice ``(a - 1) u`` times that (``u = 2^-53``), well below this bound.
    """
    return 1e-15 * actions * (1.0 + 1e-5 * actions)


@numba.njit(cache=True)
def _clearly_probability_rows(rows: FloatArray, margin: float) -> bool:
    """Whether every row is finite, at least ``-tol``, and sums within ``tol - margin`` of 1.

    A fast pass of :func:`_checked_policies`: True means its numpy check passes too (the
    margin covers numpy's different order of summation); False sends the rows to it.
    """
    low = -PROBABILITY_TOL
    slack = PROBABILITY_TOL - margin
    for r in range(rows.shape[0]):
        total = 0.0
        for a in range(rows.shape[1]):
            v = rows[r, a]
            if not (v >= low and v < np.inf):
                return False
            total += v
        if not (abs(total - 1.0) <= slack):
            return False
    return True


@numba.njit(cache=True)
def _running_means(total: FloatArray, x: FloatArray, z_old: int, means: FloatArray) -> None:
    """Running sums of the rows of ``x`` continued from ``total`` (updated), and their means.

    Row ``r``'s mean is the sum after it divided by ``z_old + r + 1``: the operations of
    ``cumsum`` (in row order) and a division, so any chunking gives the same bits.
    """
    for r in range(x.shape[0]):
        z = float(z_old + r + 1)
        for f in range(x.shape[1]):
            total[f] = total[f] + x[r, f]
            means[r, f] = total[f] / z


@numba.njit(cache=True)
def _last_rows(values: FloatArray, taus: FloatArray, at_least: bool, first: int, last: IntArray) -> None:
    """For each threshold, set ``last[j]`` to the last row (numbered from ``first``) of ``values``
    at least ``taus[j]`` (or below it when not ``at_least``); unchanged when there is none."""
    for j in range(taus.size):
        tau = taus[j]
        found = -1
        if at_least:
            for r in range(values.size):
                found = max(found, r if values[r] >= tau else -1)
        else:
            for r in range(values.size):
                found = max(found, r if values[r] < tau else -1)
        if found >= 0:
            last[j] = first + found


@numba.njit(cache=True)
def _payoff_rows_two(
    a0: FloatArray, a1t: FloatArray, x0: FloatArray, x1: FloatArray, u: FloatArray, nash_conv: FloatArray
) -> None:
    """:func:`_payoff_rows` of a two-player game, row by row, in its order of operations.

    ``a0`` is player 0's payoffs ``(a_0, a_1)``, ``a1t`` player 1's transposed
    ``(a_1, a_0)``: for player ``i`` the deviation payoff of action ``c`` is
    :math:`\\sum_a A_i[c, a] x_{-i}[a]` summed in action order, the payoff
    :math:`\\sum_c dev_c x_i[c]` likewise, the regret ``max(max_c dev_c - payoff, 0)``.
    """
    for r in range(x0.shape[0]):
        total = 0.0
        for i in range(2):
            table = a0 if i == 0 else a1t
            mine = x0 if i == 0 else x1
            other = x1 if i == 0 else x0
            value = 0.0
            best = -np.inf
            for c in range(table.shape[0]):
                dev = table[c, 0] * other[r, 0]
                for a in range(1, table.shape[1]):
                    dev = dev + table[c, a] * other[r, a]
                value = dev * mine[r, 0] if c == 0 else value + dev * mine[r, c]
                best = dev if dev > best else best
            u[r, i] = value
            total = total + max(best - value, 0.0)
        nash_conv[r] = total


@numba.njit(cache=True)
def _payoff_gaps(
    u: FloatArray,
    point_payoffs: FloatArray,
    boxes: FloatArray,
    aggregate_sum: bool,
    best: FloatArray,
    which: IntArray,
) -> None:
    """Per row of ``u``: the aggregated gap to the nearest point payoff or component box.

    The operations of the numpy form of :meth:`_Target.payoff_distance`: per member the
    gaps over players aggregated in order, the first strict minimum over points then
    boxes (member ``K + c`` for box ``c``); ``which`` is -1 when there is no member.
    Loops run over the rows (vectorised), one member and player at a time.
    """
    m, n = u.shape
    k_count = point_payoffs.shape[0]
    gap = np.empty(m)
    for r in range(m):
        best[r] = np.inf
        which[r] = -1
    for member in range(k_count + boxes.shape[0]):
        for i in range(n):
            if member < k_count:
                target = point_payoffs[member, i]
                for r in range(m):
                    g = abs(u[r, i] - target)
                    gap[r] = g if i == 0 else (gap[r] + g if aggregate_sum else max(gap[r], g))
            else:
                lo = boxes[member - k_count, i, 0]
                hi = boxes[member - k_count, i, 1]
                for r in range(m):
                    g = max(max(lo - u[r, i], u[r, i] - hi), 0.0)
                    gap[r] = g if i == 0 else (gap[r] + g if aggregate_sum else max(gap[r], g))
        for r in range(m):
            closer = gap[r] < best[r]
            best[r] = gap[r] if closer else best[r]
            which[r] = member if closer else which[r]


def _stream_of(name: str) -> str:
    if name in _SAMPLE_CURVES:
        return "samples"
    if name in _RETURN_CURVES:
        return "returns"
    return "policies"


def _curve_name(key: str) -> str:
    return "empirical_distribution" if key == "empirical" else key


def _count_switches(
    values: Sequence[float], members: Sequence[tuple[str, int] | None], near: float, target: _Target
) -> int:
    """Switches along checkpoints: a group is selected by two consecutive near checkpoints."""
    seq = np.array(
        [
            target.group_of(m) if m is not None and v < near else -1
            for v, m in zip(values, members, strict=True)
        ],
        dtype=np.int64,
    )
    if seq.size == 0:
        return 0
    selection = _Selection(2)
    selection.track(seq)
    return selection.switches


_GRID_TABLE = np.array([math.floor(2.0 ** (j / _GRID_RESOLUTION)) for j in range(_GRID_RESOLUTION * 62 + 1)])
_GRID_LEVELS = [np.unique(_GRID_TABLE[:: 1 << level]).astype(np.int64) for level in range(_MAX_LEVEL + 1)]


class _Grid:
    """Log-spaced checkpoints ``floor(2^(j/16))``, ``j`` a multiple of ``2^level``."""

    def __init__(self, cap: int) -> None:
        self.cap = int(cap)
        self.level = 0

    def plan(self, low: int, high: int) -> tuple[int, IntArray]:
        """The level at ``z = high`` and its grid points ``z`` in ``(low, high]``.

        The level is the smallest (not below the current one) with at most ``cap`` grid
        points up to ``high``: a function of ``high`` alone, so the checkpoints do not
        depend on how the trace was chunked, and points a coarser level would drop are
        never computed. The caller commits it (sets ``level``) once the chunk is consumed.
        """
        level = self.level
        while level < _MAX_LEVEL and int(np.searchsorted(_GRID_LEVELS[level], high, side="right")) > self.cap:
            level += 1
        grid = _GRID_LEVELS[level]
        return level, grid[
            np.searchsorted(grid, low, side="right") : np.searchsorted(grid, high, side="right")
        ]

    def contains(self, zs: IntArray) -> npt.NDArray[np.bool_]:
        """Whether each ``z`` is a grid point at the current level."""
        grid = _GRID_LEVELS[self.level]
        pos = np.minimum(np.searchsorted(grid, zs), grid.size - 1)
        return np.asarray(grid[pos] == zs)


class _Selection:
    """Which group of equilibria a sequence selects, and how often the selection changes."""

    def __init__(self, dwell: int) -> None:
        self.dwell = int(dwell)
        self.group = -1  # the selected group
        self.switches = 0
        self.run_group = -1  # the run in progress
        self.run_length = 0

    def track(self, seq: IntArray) -> None:
        """Selection along rows: runs of one group near enough for ``dwell`` rows select it.

        ``seq`` holds each row's nearest group, -1 where the row is not within the
        largest threshold. A run selects its group on the row its length reaches
        ``dwell``; the run in progress carries over to the next chunk, so the count does
        not depend on the chunking.
        """
        state = np.array([self.group, self.switches, self.run_group, self.run_length], dtype=np.int64)
        _track_runs(np.ascontiguousarray(seq, dtype=np.int64), self.dwell, state)
        self.group, self.switches, self.run_group, self.run_length = (int(v) for v in state)


@numba.njit(cache=True)
def _track_runs(seq: IntArray, dwell: int, state: IntArray) -> None:
    """:meth:`_Selection.track` row by row; ``state`` is (group, switches, run group, run length)."""
    group, switches, run_group, run_length = state[0], state[1], state[2], state[3]
    for r in range(seq.size):
        v = seq[r]
        if v == run_group:
            run_length += 1
        else:
            run_group = v
            run_length = 1
        if run_length == dwell and v >= 0:
            if v != group and group >= 0:
                switches += 1
            group = v
    state[0], state[1], state[2], state[3] = group, switches, run_group, run_length


class _Curve:
    """Bounded state of one curve: checkpoints, per-threshold indices, ring buffer, switches."""

    def __init__(self, taus: FloatArray, per_row: bool, buffer: int, dwell: int) -> None:
        self.taus = taus
        self.per_row = per_row
        self.cz: list[int] = []
        self.cv: list[float] = []
        self.cm: list[tuple[str, int] | None] = []
        self.cr: list[float] = []  # confidence radius per checkpoint (sampled data only)
        self.n = 0
        e = taus.size
        self.lv_up = np.zeros(e, dtype=np.int64)  # last row with upper >= tau
        self.lv_lo = np.zeros(e, dtype=np.int64)  # last row with lower >= tau
        self.lb_lo = np.zeros(e, dtype=np.int64)  # last row with lower < tau
        self.buffer = int(buffer)
        self.ring = np.zeros(0)
        self.selection = _Selection(dwell)

    @property
    def nbytes(self) -> int:
        return int(
            self.taus.nbytes
            + self.lv_up.nbytes * 3
            + self.ring.nbytes
            + 8 * (len(self.cz) + len(self.cv) + len(self.cm) + len(self.cr))
        )

    def push_rows(self, first: int, upper: FloatArray, lower: FloatArray, groups: IntArray | None) -> None:
        m = upper.size
        _last_rows(upper, self.taus, True, first, self.lv_up)
        if lower is upper:  # exact distances: the bracket is one curve
            self.lv_lo[:] = self.lv_up
        else:
            _last_rows(lower, self.taus, True, first, self.lv_lo)
        _last_rows(lower, self.taus, False, first, self.lb_lo)
        self.ring = np.concatenate([self.ring, upper[-self.buffer :]])[-self.buffer :]
        if groups is not None:
            self.selection.track(np.where(upper < self.taus[-1], groups, -1))
        self.n = first + m - 1

    def push_checkpoints(
        self,
        zs: list[int],
        values: list[float],
        members: list[tuple[str, int] | None] | None,
        radii: list[float] | None = None,
    ) -> None:
        self.cz.extend(int(z) for z in zs)
        self.cv.extend(float(v) for v in values)
        self.cm.extend(members if members is not None else [None] * len(zs))
        if radii is not None:
            self.cr.extend(float(r) for r in radii)

    def thin(self, keep: npt.NDArray[np.bool_]) -> None:
        idx = np.flatnonzero(keep).tolist()
        self.cz = [self.cz[k] for k in idx]
        self.cv = [self.cv[k] for k in idx]
        self.cm = [self.cm[k] for k in idx]
        if self.cr:
            self.cr = [self.cr[k] for k in idx]


class _Target:
    """The solution set prepared for scoring: fast points, multi-vertex hulls, groups, payoffs."""

    def __init__(
        self,
        game: NormalFormGame | StochasticGame,
        solution_set: Any,
        options: ScoreOptions,
        weights: FloatArray | None,
        function: str,
    ) -> None:
        if isinstance(solution_set, SolutionTarget):
            target = solution_set
        elif isinstance(solution_set, (SolutionSet, MarkovSolutionSet)):
            if isinstance(solution_set, SolutionSet) != isinstance(game, NormalFormGame):
                raise InvalidGameError(
                    "solution_set",
                    f"{function}: a {type(solution_set).__name__} does not belong to a {type(game).__name__}",
                )
            try:
                target = SolutionTarget.from_solution_set(solution_set)
            except InvalidGameError as exc:
                raise InvalidGameError("solution_set", exc.message) from exc
        else:
            raise InvalidGameError(
                "solution_set",
                f"{function}: expected a SolutionSet, MarkovSolutionSet or SolutionTarget, got "
                f"{type(solution_set).__name__}",
            )
        n_states = game.n_states if isinstance(game, StochasticGame) else None
        if target.num_actions != tuple(game.num_actions) or target.n_states != n_states:
            raise InvalidGameError(
                "solution_set",
                f"{function}: the set's strategies have {target.num_actions} actions and "
                f"{target.n_states} states; the game has {tuple(game.num_actions)} actions and "
                f"{n_states} states",
            )
        self.target = target
        self.metric = options.metric
        self.aggregate = options.aggregate
        self.weights = weights
        self.n_points = target.n_points
        self.components = target.components
        n = len(target.points)
        # Fast members: the points and the one-vertex components that are not points.
        extra = [
            c
            for c, comp in enumerate(target.components)
            if all(v.shape[0] == 1 for v in comp) and not _is_point(target, comp)
        ]
        self.fast_kind = ["point"] * target.n_points + ["component"] * len(extra)
        self.fast_index = list(range(target.n_points)) + extra
        self.fast = [
            np.concatenate([target.points[i]] + [target.components[c][i] for c in extra]) for i in range(n)
        ]
        # Checked once here, not by every distance_to_points call.
        self.fast_target = SolutionTarget(points=tuple(self.fast)) if self.fast[0].shape[0] else None
        self.hulls = [c for c, comp in enumerate(target.components) if any(v.shape[0] > 1 for v in comp)]
        # Groups: union-find over points and components that touch.
        parent = list(range(target.n_points + len(target.components)))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for c, comp in enumerate(target.components):
            if target.n_points:
                inside = distance_to_component(target.points, comp, "l2") <= 1e-9
                for k in np.flatnonzero(inside).tolist():
                    parent[find(target.n_points + c)] = find(k)
            for c2 in range(c):
                if _hulls_touch(comp, target.components[c2]):
                    parent[find(target.n_points + c)] = find(target.n_points + c2)
        self.groups = np.array([find(a) for a in range(len(parent))], dtype=np.int64)
        self.fast_groups = np.array(
            [self.group_of((kind, idx)) for kind, idx in zip(self.fast_kind, self.fast_index, strict=True)],
            dtype=np.int64,
        )
        # Payoffs of the members: points (K, n) and boxes (C, n, 2).
        if isinstance(game, StochasticGame):
            self.point_payoffs = np.array(
                [
                    game.initial_distribution @ evaluate_policy(game, [p[k] for p in target.points])
                    for k in range(target.n_points)
                ]
            ).reshape(target.n_points, n)
            self.boxes = np.zeros((0, n, 2))
        else:
            payoffs = game.payoffs
            self.point_payoffs = (
                _payoff_rows(payoffs, list(target.points))[0] if target.n_points else np.zeros((0, n))
            )
            boxes = []
            for comp in target.components:
                combos = list(itertools.product(*[range(v.shape[0]) for v in comp]))
                profiles = [np.stack([comp[i][combo[i]] for combo in combos]) for i in range(n)]
                u = _payoff_rows(payoffs, profiles)[0]
                boxes.append(np.stack([u.min(axis=0), u.max(axis=0)], axis=1))
            self.boxes = np.array(boxes).reshape(len(boxes), n, 2)

    def group_of(self, member: tuple[str, int]) -> int:
        kind, idx = member
        return int(self.groups[idx if kind == "point" else self.n_points + idx])

    # -- distances of snapshots

    def exact(self, xs: Sequence[FloatArray]) -> tuple[float, tuple[str, int]]:
        """Exact distance of one snapshot (arrays with one row) to the set, and the nearest member."""
        if self.weights is not None:
            d, k = distance_to_points(
                xs, self.target, self.metric, self.aggregate, state_weights=self.weights
            )
            return float(d[0]), ("point", int(k[0]))
        sd = distance_to_set(xs, self.target, self.metric, self.aggregate)
        return float(sd.distances[0]), (str(sd.nearest_kind[0]), int(sd.nearest_index[0]))

    def bracket(self, xs: Sequence[FloatArray]) -> tuple[FloatArray, FloatArray, IntArray]:
        """Per row: upper and lower bounds on the distance to the set, and the nearest group."""
        m = xs[0].shape[0]
        if self.fast_target is not None:
            d, k = distance_to_points(
                xs, self.fast_target, self.metric, self.aggregate, state_weights=self.weights
            )
            groups = self.fast_groups[k]
        else:
            d = np.full(m, np.inf)
            groups = np.full(m, -1, dtype=np.int64)
        if not self.hulls:
            return d, d, groups  # exact: the bracket is the distance itself
        upper = d.copy()
        lower = d.copy()
        for c in self.hulls:
            comp = self.components[c]
            lo_i, hi_i = zip(
                *(self._player_bracket(x, v) for x, v in zip(xs, comp, strict=True)), strict=True
            )
            lo = _aggregate(lo_i, self.aggregate)
            hi = _aggregate(hi_i, self.aggregate)
            closer = hi < upper
            groups = np.where(closer, self.group_of(("component", c)), groups)
            upper = np.minimum(upper, hi)
            lower = np.minimum(lower, lo)
        return upper, lower, groups

    def _player_bracket(self, x: FloatArray, vertices: FloatArray) -> tuple[FloatArray, FloatArray]:
        metric = self.metric
        if vertices.shape[0] == 1:
            d = np.asarray(distance(x, vertices[0], metric), dtype=np.float64)
            return d, d
        m, k = x.shape
        dummy = np.ones((m, 1))
        d2 = distance_to_component([x, dummy], [vertices, np.ones((1, 1))], "l2", "max")
        at_vertex = np.asarray(distance(x[:, None, :], vertices[None], metric), dtype=np.float64).min(axis=1)
        diameter = metric_diameter(metric, k)
        root_k = math.sqrt(k)
        tv_lo = d2 / math.sqrt(2.0)
        tv_hi = np.minimum(root_k * d2 / 2.0, 1.0)
        if metric == "l2":
            lo, hi = d2, d2
        elif metric == "tv":
            lo, hi = tv_lo, tv_hi
        elif metric == "l1":
            lo, hi = 2.0 * tv_lo, 2.0 * tv_hi
        elif metric == "linf":
            lo, hi = d2 / root_k, d2
        elif metric == "hellinger":
            lo, hi = tv_lo / math.sqrt(2.0), np.sqrt(tv_hi)
        elif metric == "js":
            lo, hi = tv_lo * tv_lo / 2.0, math.log(2.0) * tv_hi
        else:
            lo, hi = 2.0 * (1.0 - KL_SMOOTHING) ** 2 * tv_lo * tv_lo, np.full(m, diameter)
        hi = np.minimum(np.minimum(hi, at_vertex), diameter)
        lo = np.minimum(lo, hi)
        inside = d2 <= HULL_ZERO_TOL
        return np.where(inside, 0.0, lo), np.where(inside, 0.0, hi)

    # -- payoffs

    def payoff_distance(self, u: FloatArray) -> tuple[FloatArray, IntArray, list[tuple[str, int] | None]]:
        """Distance of payoff vectors ``(m, n)`` to the members' payoffs: values, groups, members."""
        m = u.shape[0]
        best = np.empty(m)
        which = np.empty(m, dtype=np.int64)
        _payoff_gaps(
            np.ascontiguousarray(u, dtype=np.float64),
            np.ascontiguousarray(self.point_payoffs, dtype=np.float64),
            np.ascontiguousarray(self.boxes, dtype=np.float64),
            self.aggregate == "sum",
            best,
            which,
        )
        groups = self.groups[np.maximum(which, 0)]
        members: list[tuple[str, int] | None] = [
            None
            if w < 0
            else (("point", int(w)) if w < self.n_points else ("component", int(w) - self.n_points))
            for w in which[-1:].tolist()
        ]
        return best, groups, members


def _is_point(target: SolutionTarget, vertices: Sequence[FloatArray]) -> bool:
    if target.n_points == 0:
        return False
    same = np.ones(target.n_points, dtype=bool)
    for p, v in zip(target.points, vertices, strict=True):
        same &= (p == v[0]).all(axis=1)
    return bool(same.any())


def _hulls_touch(a: Sequence[FloatArray], b: Sequence[FloatArray]) -> bool:
    """Whether two components share a vertex profile (one common vertex per player)."""
    for va, vb in zip(a, b, strict=True):
        common = (np.abs(va[:, None, :] - vb[None, :, :]).max(axis=2) <= 1e-12).any()
        if not common:
            return False
    return True
