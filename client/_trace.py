"""Typed trace scores of the client: :class:`CriterionScore` and :class:`TraceScore`.

The messages of a trace stream (header, chunks) and the conversion of scores from the
wire live in :mod:`equilibria.client._convert`; this module holds the result types only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.client._display import render_html, render_text, trace_score_summary
from equilibria.client._types import MarkovSolutionSet, SolutionSet
from equilibria.client._typing import FloatArray

__all__ = ["CreditCurves", "CriterionScore", "TraceScore"]


@dataclasses.dataclass(frozen=True, eq=False)
class CriterionScore:
    """The score of one criterion (see ``equilibria.solver.traces.scorer`` for the definitions).

    Attributes
    ----------
    name : str
        "last_iterate", "expected_return", "empirical_distribution", "set_convergence",
        "averaged_joint_policy", "average_return", "nash_conv", "nash_conv_average" or
        "credit_assignment".
    checkpoints_z : ndarray of int
        Log-spaced rows at which the curve was recorded.
    values : ndarray
        The curve at those rows.
    final_value : float
        The curve at the last row.
    verdict : str
        "converged", "not_converged", "inconclusive", or (against a partial solution
        set only) "converged_outside_set": the trace converges to one profile outside
        the computed set that certifies as an equilibrium (``outside_profile``).
    epsilon : float or None
        The threshold the verdict refers to.
    evidence : str
        What decided the verdict.
    fitted_rate, rate_r2 : float or None
        Slope of log value against log z, and the R^2 of the fit.
    z : int
        Rows of the criterion's data stream.
    scale : float
        Multiplier of the thresholds (the payoff scale for payoff criteria).
    z0 : dict
        ``epsilon -> first row from which every row is below it`` (None if the last is not).
    z0_exact : bool
        Whether ``z0`` is exact rather than an upper bound.
    confidence_radius : float or None
        Radius of the final value where the data is sampled.
    nearest_solution : tuple of (str, int) or None
        ("point", k) indexes ``solution_set.equilibria``; ("component", c) its components.
    switched : bool
        Whether the selected equilibrium changed along the trace.
    switch_count : int
    checkpoint_radii : ndarray or None
        Confidence radius at each checkpoint where the data is sampled
        ("averaged_joint_policy", "average_return"): the confidence band of the curve.
    outside_profile : tuple of ndarray or None
        With "converged_outside_set": the profile the trace converges to, per player
        ``(a_i,)`` (or ``(S, a_i)``); None otherwise.
    outside_regret : float or None
        With "converged_outside_set": that profile's largest regret over players, each
        relative to the player's own payoff (value) range.
    """

    name: str
    checkpoints_z: npt.NDArray[np.int64]
    values: FloatArray
    final_value: float
    verdict: str
    epsilon: float | None
    evidence: str
    fitted_rate: float | None
    rate_r2: float | None
    z: int
    scale: float
    z0: dict[float, int | None]
    z0_exact: bool
    confidence_radius: float | None
    nearest_solution: tuple[str, int] | None
    switched: bool
    switch_count: int
    checkpoint_radii: FloatArray | None = None
    outside_profile: tuple[FloatArray, ...] | None = None
    outside_regret: float | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class CreditCurves:
    """Each agent's credit along a trace of a team game (the "credit_assignment" criterion).

    At each checkpoint, every agent's Shapley value and expected difference reward
    (counterfactual: its default action) under that row's joint policy; in a stochastic
    game the per-state credits on Q^pi averaged with the state weights. Values are in
    the game's payoff units; see ``equilibria.solver.traces.credit_curves``.

    Attributes
    ----------
    team : str
        "common".
    default_actions : tuple of int
    payoff_range : float
        The team payoff (value) range: the unit of the criterion's curve and of the
        thresholds of ``trends`` and ``lazy_agents``.
    checkpoints_z : ndarray of int, shape (k,)
    shapley_values, difference_rewards : ndarray, shape (k, n)
    team_returns, coalition_baselines : ndarray, shape (k,)
    final_shapley_values, final_difference_rewards : ndarray, shape (n,)
    final_team_return, final_coalition_baseline : float
    tail_changes : ndarray, shape (n,)
        Each agent's Shapley value at the last row minus at ``tail_start``.
    trends : tuple of str
        Per agent "rising", "falling" or "steady" (change within ``epsilon * payoff_range``).
    lazy_agents : tuple of int
        Agents with a Shapley value within ``epsilon * payoff_range`` of 0 over the tail
        while the team return beats the coalition baseline by more than that.
    epsilon : float
    tail_start : int
    z : int
    """

    team: str
    default_actions: tuple[int, ...]
    payoff_range: float
    checkpoints_z: npt.NDArray[np.int64]
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
    """Scores of every criterion of a trace, and the solution set they refer to.

    Attributes
    ----------
    criteria : tuple of CriterionScore
        Index by name: ``score["last_iterate"]``.
    n_policies, n_samples, n_returns, z_seen : int
        Rows seen per data stream, and the largest.
    selected : tuple of (str, int) or None
        The member of the solution set the trace approached.
    selected_by : str
        The criterion ``selected`` comes from.
    switched : bool
    metric, aggregate : str
    epsilons : tuple of float
    warnings : tuple of str
        Approximations in force, and a warning when the solution set is partial.
    partial_set : bool
        Whether the solution set is partial (found by a method that finds some
        equilibria only): a trace may converge to an equilibrium outside it.
    solution_set : SolutionSet or MarkovSolutionSet or None
        The set the trace was measured against (None in MonitorTrace's later answers).
    credit : CreditCurves or None
        With the "credit_assignment" criterion: each agent's credits along the trace.

    Notes
    -----
    ``str(score)`` is a short table, one row per criterion with its verdict, final
    value, threshold, z0 and evidence (HTML in Jupyter); ``repr(score)`` keeps every
    field.
    """

    criteria: tuple[CriterionScore, ...]
    n_policies: int
    n_samples: int
    n_returns: int
    z_seen: int
    selected: tuple[str, int] | None
    selected_by: str
    switched: bool
    metric: str
    aggregate: str
    epsilons: tuple[float, ...]
    warnings: tuple[str, ...]
    partial_set: bool = False
    solution_set: SolutionSet | MarkovSolutionSet | None = None
    credit: CreditCurves | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the scored criteria."""
        return tuple(c.name for c in self.criteria)

    def __getitem__(self, name: str) -> CriterionScore:
        for criterion in self.criteria:
            if criterion.name == name:
                return criterion
        raise KeyError(f"{name!r} was not scored; scored: {', '.join(self.names) or 'none'}")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.criteria)

    def __str__(self) -> str:
        """A short text table (see :mod:`equilibria.client._display`)."""
        return render_text(trace_score_summary(self))

    def _repr_html_(self) -> str:
        """The same summary as an HTML table, for Jupyter."""
        return render_html(trace_score_summary(self))

    def plot(self, trace: Any = None) -> dict[str, Any]:
        """Figures of the score (matplotlib, Agg; needs ``pip install 'equilibria[plot]'``).

        Parameters
        ----------
        trace : sequence of array_like or mapping, optional
            The policies the score was computed from (per player ``(Z, a_i)``, or a
            mapping such as ``np.load("trace.npz")`` with ``policies_0``, ...): their
            trajectory is drawn in the strategy simplex of 2x2 and 3-action games. It
            stays on this machine.

        Returns
        -------
        dict of str to matplotlib.figure.Figure
            ``criterion_<name>`` per criterion (curve against z on log-log axes with the
            thresholds, z0, confidence band and fitted rate), ``nash_conv`` and
            ``simplex`` where they apply.

        Raises
        ------
        ImportError
            Without matplotlib.
        """
        from equilibria.client._report import trace_figures

        return trace_figures(self, trace)

    def to_html(self, trace: Any = None, *, png_dir: str | None = None, title: str = "") -> str:
        """A self-contained HTML report (figures as base64 PNG; ``png_dir`` also writes the PNGs).

        ``trace`` as for :meth:`plot`. Needs ``pip install 'equilibria[plot]'``.

        Examples
        --------
        >>> score = client.score_trace(rps, policies=(xs, ys))  # doctest: +SKIP
        >>> pathlib.Path("report.html").write_text(score.to_html(trace=(xs, ys)))  # doctest: +SKIP
        """
        from equilibria.client._report import trace_html

        return trace_html(self, trace, png_dir=png_dir, title=title)
