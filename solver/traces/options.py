"""The option, chunk and score types of trace scoring.

:class:`ScoreOptions` says how a trace is scored, :class:`TraceChunk` carries a piece of
it (policies, sampled joint actions, returns), and :class:`CriterionScore` and
:class:`TraceScore` hold the result of :class:`~equilibria.solver.traces.scorer.TraceScorer`.
The criteria and verdicts are described in :mod:`equilibria.solver.traces.scorer` and
docs/traces.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numba
import numpy as np
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.errors import InvalidGameError, InvalidOptionError, quoted
from equilibria.solver.game import NormalFormGame
from equilibria.solver.kernels import warm_up
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.traces.metrics import PROBABILITY_TOL, _check_aggregate, _check_metric

__all__ = [
    "CRITERIA",
    "CURVES",
    "VERDICTS",
    "JOINT_CONCEPTS",
    "ScoreOptions",
    "TraceChunk",
    "CriterionScore",
    "CreditCurves",
    "TraceScore",
]


#: Criteria a caller may request (``nash_conv`` yields two curves).
CRITERIA = (
    "last_iterate",
    "expected_return",
    "empirical_distribution",
    "averaged_joint_policy",
    "set_convergence",
    "average_return",
    "nash_conv",
    "credit_assignment",
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
    "credit_assignment",
)
#: The verdicts: ``converged_outside_set`` only against a partial solution set, when the
#: trace converges to one profile outside it that certifies as an equilibrium.
VERDICTS = ("converged", "not_converged", "inconclusive", "converged_outside_set")
#: What the empirical joint play of ``averaged_joint_policy`` is measured against:
#: ``"nash"`` the joint distribution of each equilibrium (the product of its
#: strategies), ``"nash_marginals"`` each player's marginal frequencies against the
#: equilibria's strategies (blind to correlation), ``"correlated"`` and
#: ``"coarse_correlated"`` the CE or CCE polytope.
JOINT_CONCEPTS = ("nash", "nash_marginals", "correlated", "coarse_correlated")


class _Samples(NamedTuple):
    """A chunk's sampled joint actions and the history (or state) each was played after."""

    actions: Int64Array  # (z, n_players)
    history: Int64Array  # (z,)


# =========================================================================== options and data


@dataclasses.dataclass(frozen=True)
class ScoreOptions:
    """How a trace is scored.

    Attributes
    ----------
    criteria : tuple of str or None
        Subset of :data:`CRITERIA`; None (default) scores every criterion the data
        supports (``credit_assignment`` only for a team game, with policies). A
        requested criterion that never gets data is reported ``"inconclusive"``, but
        ``credit_assignment`` is refused (field ``criteria``) for a game that is not a
        team game and for a trace without policies.
    metric : str
        One of :data:`~equilibria.solver.traces.metrics.METRICS` (default ``"tv"``).
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
        near one group of equilibria that selects it (see *Selection* in docs/traces.md).
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
        joint play (``averaged_joint_policy``). ``"nash"`` compares the joint
        frequencies with each equilibrium's joint distribution (the product of its
        strategies), so correlated play is not taken for a product equilibrium;
        ``"nash_marginals"`` compares each player's marginal frequencies only.
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
                        f"{function}: unknown criterion {quoted(c)}; expected one of {', '.join(CRITERIA)}",
                    )
            if not criteria:
                raise InvalidOptionError("criteria", f"{function}: criteria is empty (use None for all)")
            object.__setattr__(self, "criteria", criteria)
        _check_metric(function, self.metric)
        _check_aggregate(function, self.aggregate)
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
                f"{function}: unknown joint_concept {quoted(self.joint_concept)}; expected one of "
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
    joint_actions: Int64Array | None = None
    history: Int64Array | None = None
    returns: FloatArray | None = None

    def __post_init__(self) -> None:
        function = "TraceChunk()"
        if self.policies is None and self.joint_actions is None and self.returns is None:
            raise InvalidGameError(
                "chunk", f"{function}: the chunk has no policies, joint_actions or returns"
            )
        if self.policies is not None:
            object.__setattr__(self, "policies", _policy_arrays(self.policies, function))
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
        ``"converged"``, ``"not_converged"``, ``"inconclusive"``, or (against a partial
        set only) ``"converged_outside_set"``: the trace converges to one profile
        outside the set that certifies as an equilibrium (``outside_profile``).
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
    outside_profile : tuple of ndarray or None
        With ``"converged_outside_set"``: the profile the trace converges to (per
        player ``(a_i,)`` or ``(S, a_i)``); None otherwise.
    outside_regret : float or None
        With ``"converged_outside_set"``: that profile's largest regret over players,
        each relative to the player's own payoff (or value) range.
    nearest_solution : tuple of (str, int) or None
        ``("point", k)`` or ``("component", c)``: the member of the set nearest at the
        last row (None for NashConv and polytope targets).
    switched : bool
        Whether the selected group of equilibria changed along the trace.
    switch_count : int
        How many times it changed.
    """

    name: str
    checkpoints_z: Int64Array
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
    outside_profile: tuple[FloatArray, ...] | None = None
    outside_regret: float | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class CreditCurves:
    """Each agent's credit along a trace of a team game (the ``credit_assignment`` criterion).

    At every checkpoint ``z`` of the policy stream, the credits of
    :func:`~equilibria.solver.concepts.credit.credit_assignment` (its defaults:
    counterfactual ``"action"``, default action 0 for every agent) under the joint
    policy of row ``z``; in a stochastic game the credits of each state's stage game on
    ``Q^π`` averaged with the state weights (``ScoreOptions.state_weights``, default
    the initial distribution). Values are in the user's payoff units; ``payoff_range``
    converts them to the units of the criterion's curve. See docs/traces.md.

    Attributes
    ----------
    team : str
        How the team return is formed: ``"common"`` (the common payoff).
    default_actions : tuple of int
        Each agent's counterfactual and out-of-coalition action.
    payoff_range : float
        The team payoff range (stochastic: reward range times ``1 / (1 - discount)``):
        the unit of the curve and of the thresholds of ``trends`` and ``lazy_agents``.
    checkpoints_z : ndarray of int, shape (k,)
        The checkpoints (those of the criterion's curve).
    shapley_values, difference_rewards : ndarray, shape (k, n)
        Each agent's Shapley value and expected difference reward at each checkpoint.
    team_returns, coalition_baselines : ndarray, shape (k,)
        The expected team return ``v(N)`` and the coalition baseline ``v(∅)`` (every agent
        at its default action); the Shapley values sum to their difference.
    final_shapley_values, final_difference_rewards : ndarray, shape (n,)
        The same at the last row ``z``.
    final_team_return, final_coalition_baseline : float
    tail_changes : ndarray, shape (n,)
        Each agent's Shapley value at row ``z`` minus at the first row of the tail samples
        (``tail_start``).
    trends : tuple of str
        Per agent: ``"steady"`` when ``|tail_changes[i]| <= epsilon * payoff_range``,
        else ``"rising"`` or ``"falling"``.
    lazy_agents : tuple of int
        Agents whose Shapley value stays within ``epsilon * payoff_range`` of 0 at every
        tail sample while the final team return exceeds the coalition baseline by more
        than ``epsilon * payoff_range`` (the lazy agents of value decomposition).
    epsilon : float
        The threshold of the trends and the lazy agents: the smallest of the score's.
    tail_start : int
        The first row of the tail samples: the checkpoints in the tail window and row
        ``z``, at least the last three.
    z : int
        Rows of the policy stream.
    """

    team: str
    default_actions: tuple[int, ...]
    payoff_range: float
    checkpoints_z: Int64Array
    shapley_values: FloatArray
    difference_rewards: FloatArray
    team_returns: FloatArray
    coalition_baselines: FloatArray
    final_shapley_values: FloatArray
    final_difference_rewards: FloatArray
    final_team_return: float
    final_coalition_baseline: float
    tail_changes: FloatArray
    trends: tuple[str, ...]
    lazy_agents: tuple[int, ...]
    epsilon: float
    tail_start: int
    z: int


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
        Approximations in force (bracketed component distances), and a warning when
        the set is partial.
    partial_set : bool
        Whether the solution set is partial (``complete=False``): a trace may then
        converge to an equilibrium outside it (verdict ``"converged_outside_set"``).
    credit : CreditCurves or None
        With the ``credit_assignment`` criterion: each agent's credits along the trace.
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
    partial_set: bool = False
    credit: CreditCurves | None = None

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


# =========================================================================== validation


def _check_int(function: str, field: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise InvalidOptionError(field, f"{function}: {field} must be an integer >= {low}, got {value!r}")


def _integer_array(value: Any, field: str, function: str) -> Int64Array:
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


def _policy_arrays(policies: Any, function: str) -> tuple[FloatArray, ...]:
    """One read-only float64 array of probability rows per player; raise naming the first bad row."""
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


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the chunk check's kernel now.

    Examples
    --------
    >>> _warm_up()
    """
    _clearly_probability_rows(np.full((1, 2), 0.5), _sum_margin(2))


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

    A fast pass of :func:`_policy_arrays`: True means its numpy check passes too (the
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


# =========================================================================== chunks against a game


def _game_policies(
    chunk: TraceChunk, game: NormalFormGame | StochasticGame, function: str
) -> list[FloatArray]:
    """The chunk's policies checked against the game: shapes, and no probability on actions
    a state of a stochastic game does not have."""
    sg = game if isinstance(game, StochasticGame) else None
    n_players = game.n_players
    num_actions = tuple(int(k) for k in game.num_actions)
    policies = chunk.policies
    assert policies is not None
    if len(policies) != n_players:
        raise InvalidGameError(
            "chunk.policies", f"{function}: {len(policies)} policy arrays for {n_players} players"
        )
    out = []
    for i, (p, k) in enumerate(zip(policies, num_actions, strict=True)):
        wanted: tuple[int, ...] = (k,) if sg is None else (sg.n_states, k)
        if p.shape[1:] != wanted:
            raise InvalidGameError(
                f"chunk.policies[{i}]",
                f"{function}: policies[{i}] has shape {p.shape}; expected (z, {', '.join(map(str, wanted))})",
            )
        if sg is not None:
            mask = sg.action_mask[i]
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


def _game_samples(chunk: TraceChunk, game: NormalFormGame | StochasticGame, function: str) -> _Samples:
    """The chunk's joint actions and histories checked against the game's actions (and states).

    A normal-form chunk without histories gets history 0 for every row.
    """
    sg = game if isinstance(game, StochasticGame) else None
    n_players = game.n_players
    num_actions = tuple(int(k) for k in game.num_actions)
    actions = chunk.joint_actions
    assert actions is not None
    if actions.shape[1] != n_players:
        raise InvalidGameError(
            "chunk.joint_actions",
            f"{function}: joint_actions have {actions.shape[1]} columns for {n_players} players",
        )
    limits = np.asarray(num_actions)
    over = np.flatnonzero((actions >= limits[None]).any(axis=1))
    if over.size:
        r = int(over[0])
        i = int(np.flatnonzero(actions[r] >= limits)[0])
        raise InvalidGameError(
            "chunk.joint_actions",
            f"{function}: joint_actions[{r}][{i}] = {int(actions[r, i])} is out of range [0, {limits[i]})",
        )
    if chunk.history is None:
        if sg is not None:
            raise InvalidGameError(
                "chunk.history",
                f"{function}: a stochastic game needs the state of each joint action (history)",
            )
        history = np.zeros(actions.shape[0], dtype=np.int64)
    else:
        history = chunk.history
    if sg is not None:
        n_states = sg.n_states
        bad = np.flatnonzero((history < 0) | (history >= n_states))
        if bad.size:
            r = int(bad[0])
            raise InvalidGameError(
                "chunk.history",
                f"{function}: history[{r}] = {int(history[r])} is not a state in [0, {n_states})",
            )
        for i in range(n_players):
            ok = sg.action_mask[i][history, actions[:, i]]
            if not ok.all():
                r = int(np.flatnonzero(~ok)[0])
                raise InvalidGameError(
                    "chunk.joint_actions",
                    f"{function}: joint_actions[{r}][{i}] = {int(actions[r, i])} does not exist in state "
                    f"{int(history[r])}",
                )
    return _Samples(actions.astype(np.int64, copy=False), np.asarray(history, dtype=np.int64))
