"""Trace streams on the client: the header, chunks of at most 1 MiB, and typed scores.

A trace is sent as a header (the game, or the id of a game the server solved, and the
scoring options) followed by chunks: consecutive rows of the policy, sampled-action and
return streams, each chunk at most ``chunk_bytes`` on the wire. Integers (actions,
history keys) travel as float64 tensors, exact below 2**53.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.client._convert import (
    game_to_proto,
    markov_solution_set_from_proto,
    solution_set_from_proto,
    stochastic_game_to_proto,
)
from equilibria.client._tensor import encode_tensor
from equilibria.client._types import MarkovSolutionSet, SolutionSet
from equilibria.v1 import trace_pb2

__all__ = [
    "CHUNK_BYTES",
    "CriterionScore",
    "TraceScore",
    "response_solution",
    "score_options",
    "score_trace_requests",
    "trace_chunks",
    "trace_header",
    "trace_score_from_proto",
]

FloatArray = npt.NDArray[np.float64]
#: Largest chunk message the server accepts.
CHUNK_BYTES = 1 << 20
#: Room left in a chunk for tensor shapes and message framing.
_FRAMING = 4096
_VERDICT_NAMES = {
    trace_pb2.VERDICT_CONVERGED: "converged",
    trace_pb2.VERDICT_NOT_CONVERGED: "not_converged",
    trace_pb2.VERDICT_INCONCLUSIVE: "inconclusive",
}


@dataclasses.dataclass(frozen=True, eq=False)
class CriterionScore:
    """The score of one criterion (see ``equilibria.solver.trace_scoring`` for the definitions).

    Attributes
    ----------
    name : str
        "last_iterate", "expected_return", "empirical_distribution", "set_convergence",
        "averaged_joint_policy", "average_return", "nash_conv" or "nash_conv_average".
    checkpoints_z : ndarray of int
        Log-spaced rows at which the curve was recorded.
    values : ndarray
        The curve at those rows.
    final_value : float
        The curve at the last row.
    verdict : str
        "converged", "not_converged" or "inconclusive".
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
    solution_set : SolutionSet or MarkovSolutionSet or None
        The set the trace was measured against (None in MonitorTrace's later answers).
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
    solution_set: SolutionSet | MarkovSolutionSet | None = None

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


def _ref(message: trace_pb2.SolutionRef, present: bool) -> tuple[str, int] | None:
    return (message.kind, message.index) if present else None


def response_solution(response: Any) -> SolutionSet | MarkovSolutionSet | None:
    """The solution set a ScoreTrace or MonitorTrace answer carries, if any."""
    which = response.WhichOneof("solution")
    if which == "solution_set":
        return solution_set_from_proto(response.solution_set)
    if which == "markov_solution_set":
        return markov_solution_set_from_proto(response.markov_solution_set)
    return None


def trace_score_from_proto(message: trace_pb2.TraceScore, solution_set: Any = None) -> TraceScore:
    """The client's TraceScore from the wire message."""

    def optional(c: trace_pb2.CriterionScore, name: str) -> float | None:
        return getattr(c, name) if c.HasField(name) else None

    return TraceScore(
        criteria=tuple(
            CriterionScore(
                name=c.name,
                checkpoints_z=np.array(c.checkpoints_z, dtype=np.int64),
                values=np.array(c.values, dtype=np.float64),
                final_value=c.final_value,
                verdict=_VERDICT_NAMES.get(c.verdict, "inconclusive"),
                epsilon=optional(c, "epsilon"),
                evidence=c.evidence,
                fitted_rate=optional(c, "fitted_rate"),
                rate_r2=optional(c, "rate_r2"),
                z=c.z,
                scale=c.scale,
                z0={e.epsilon: (e.z0 if e.HasField("z0") else None) for e in c.z0},
                z0_exact=c.z0_exact,
                confidence_radius=optional(c, "confidence_radius"),
                nearest_solution=_ref(c.nearest_solution, c.HasField("nearest_solution")),
                switched=c.switched,
                switch_count=c.switch_count,
                checkpoint_radii=np.array(c.checkpoint_radii, dtype=np.float64)
                if c.checkpoint_radii
                else None,
            )
            for c in message.criteria
        ),
        n_policies=message.n_policies,
        n_samples=message.n_samples,
        n_returns=message.n_returns,
        z_seen=message.z_seen,
        selected=_ref(message.selected, message.HasField("selected")),
        selected_by=message.selected_by,
        switched=message.switched,
        metric=message.metric,
        aggregate=message.aggregate,
        epsilons=tuple(message.epsilons),
        warnings=tuple(message.warnings),
        solution_set=solution_set,
    )


def score_options(
    *,
    criteria: Sequence[str] = (),
    metric: str = "",
    aggregate: str = "",
    epsilons: Sequence[float] = (),
    tail_window: int = 0,
    confidence: float = 0.0,
    checkpoints: int = 0,
    max_histories: int = 0,
    joint_concept: str = "",
    state_weights: Sequence[float] | None = None,
) -> trace_pb2.ScoreOptions:
    """A ScoreOptions message; empty values take the server defaults."""
    return trace_pb2.ScoreOptions(
        criteria=list(criteria),
        metric=metric,
        aggregate=aggregate,
        epsilons=[float(e) for e in epsilons],
        tail_window=tail_window,
        confidence=confidence,
        checkpoints=checkpoints,
        max_histories=max_histories,
        joint_concept=joint_concept,
        state_weights=[] if state_weights is None else [float(w) for w in state_weights],
    )


def trace_header(
    game: Any, options: trace_pb2.ScoreOptions, *, method: str = "", tolerance: float = 0.0
) -> trace_pb2.ScoreTraceRequest:
    """The first message of a trace stream: ``game`` is a game id (str), a stochastic game or a normal-form game."""
    header = trace_pb2.TraceHeader(options=options, method=method, tolerance=tolerance)
    if isinstance(game, str):
        header.game_id = game
    elif hasattr(game, "rewards") and hasattr(game, "transitions"):
        header.stochastic_game.CopyFrom(stochastic_game_to_proto(game))
    else:
        header.normal_form_game.CopyFrom(game_to_proto(game))
    return trace_pb2.ScoreTraceRequest(header=header)


def trace_chunks(
    *,
    policies: Sequence[Any] | None = None,
    joint_actions: Any | None = None,
    history: Any | None = None,
    returns: Any | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[trace_pb2.TraceChunk]:
    """Split a trace held in memory into chunks of at most ``chunk_bytes`` on the wire.

    Every stream is cut at the same rows, so a chunk holds rows ``[start, stop)`` of
    each stream that has them.
    """
    pols = None if policies is None else [np.asarray(p, dtype=np.float64) for p in policies]
    actions = None if joint_actions is None else np.asarray(joint_actions, dtype=np.float64)
    keys = None if history is None else np.asarray(history, dtype=np.float64)
    rets = None if returns is None else np.asarray(returns, dtype=np.float64)
    streams = [a for a in (*(pols or ()), actions, keys, rets) if a is not None]
    total = max((len(a) for a in streams), default=0)
    row_bytes = sum(8 * int(np.prod(a.shape[1:], dtype=np.int64)) for a in streams) or 8
    step = max(1, (chunk_bytes - _FRAMING) // row_bytes)
    for start in range(0, total, step):
        stop = start + step
        chunk = trace_pb2.TraceChunk()
        if pols is not None and start < len(pols[0]):
            chunk.policies.extend(encode_tensor(p[start:stop]) for p in pols)
        for name, array in (("joint_actions", actions), ("history", keys), ("returns", rets)):
            if array is not None and start < len(array):
                getattr(chunk, name).CopyFrom(encode_tensor(array[start:stop]))
        yield chunk


#: Keyword arguments of ``score_trace`` that are scoring options.
_OPTION_NAMES = (
    "criteria",
    "metric",
    "aggregate",
    "epsilons",
    "tail_window",
    "confidence",
    "checkpoints",
    "max_histories",
    "joint_concept",
    "state_weights",
)


def score_trace_requests(arguments: dict[str, Any]) -> Iterator[trace_pb2.ScoreTraceRequest]:
    """The messages of a ``score_trace`` call, from its arguments: the header, then the chunks."""
    options = score_options(**{name: arguments[name] for name in _OPTION_NAMES})
    yield trace_header(
        arguments["game"], options, method=arguments["method"], tolerance=arguments["tolerance"]
    )
    for chunk in trace_chunks(
        policies=arguments["policies"],
        joint_actions=arguments["joint_actions"],
        history=arguments["history"],
        returns=arguments["returns"],
        chunk_bytes=arguments["chunk_bytes"],
    ):
        yield trace_pb2.ScoreTraceRequest(chunk=chunk)
