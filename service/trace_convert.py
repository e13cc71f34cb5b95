"""Converters of the trace-scoring messages (``equilibria/v1/trace.proto``) to and from the solver.

Like :mod:`equilibria.service.convert`, the only place these messages meet the solver's
types. Integers travel as float64 tensors; they are checked to be whole numbers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from equilibria.service.convert import check_count, decode_tensor_field
from equilibria.service.errors import RequestError, from_solver_error, invalid
from equilibria.service.limits import Limits
from equilibria.solver.errors import SolverError
from equilibria.solver.trace_scoring import CriterionScore, ScoreOptions, TraceChunk, TraceScore
from equilibria.v1 import game_pb2, trace_pb2

__all__ = ["VERDICT_VALUES", "score_options_from_proto", "trace_chunk_from_proto", "trace_score_to_proto"]

#: Verdict name -> enum value.
VERDICT_VALUES = {
    "converged": trace_pb2.VERDICT_CONVERGED,
    "not_converged": trace_pb2.VERDICT_NOT_CONVERGED,
    "inconclusive": trace_pb2.VERDICT_INCONCLUSIVE,
}


def score_options_from_proto(
    message: trace_pb2.ScoreOptions, field: str = "header.options", limits: Limits | None = None
) -> ScoreOptions:
    """Validated scoring options; empty fields take the solver defaults.

    Raises
    ------
    RequestError
        ``RESOURCE_EXHAUSTED`` for a list longer than the limits allow (criteria and
        epsilons: ``max_list_entries``; state weights: ``max_payoff_entries``),
        ``INVALID_ARGUMENT`` naming the field for a bad option.
    """
    limits = limits or Limits()
    for name in ("criteria", "epsilons"):
        check_count(len(getattr(message, name)), limits.max_list_entries, f"{field}.{name}")
    check_count(len(message.state_weights), limits.max_payoff_entries, f"{field}.state_weights")
    kwargs: dict[str, object] = {}
    if message.criteria:
        kwargs["criteria"] = tuple(message.criteria)
    for name in ("metric", "aggregate", "joint_concept"):
        if getattr(message, name):
            kwargs[name] = getattr(message, name)
    if message.epsilons:
        kwargs["epsilons"] = tuple(message.epsilons)
    if message.tail_window:
        kwargs["tail_window"] = message.tail_window
    if message.confidence:
        kwargs["confidence"] = message.confidence
    if message.checkpoints:
        kwargs["n_checkpoints"] = message.checkpoints
    if message.max_histories:
        kwargs["max_histories"] = message.max_histories
    if message.state_weights:
        kwargs["state_weights"] = tuple(message.state_weights)
    try:
        return ScoreOptions(**kwargs)  # type: ignore[arg-type]
    except SolverError as exc:
        error = from_solver_error(exc, field)
        error.field = f"{field}.{'checkpoints' if exc.field == 'n_checkpoints' else exc.field}"
        raise error from exc


def _tensor(message: game_pb2.Tensor, field: str, max_entries: int) -> npt.NDArray[np.float64]:
    return decode_tensor_field(message, max_entries, field)


def _integers(values: npt.NDArray[np.float64], field: str) -> npt.NDArray[np.int64]:
    bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) >= 2.0**53)
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0])
        raise invalid(field, f"{field} must hold integers; entry {index} is {values[index]!r}")
    return values.astype(np.int64)


def trace_chunk_from_proto(
    message: trace_pb2.TraceChunk, index: int, max_entries: int, max_players: int = Limits.max_players
) -> TraceChunk:
    """Decode chunk number ``index`` of a stream; errors name ``chunk[index].<field>`` and the row.

    Every tensor is checked against ``max_entries`` (and the policies against
    ``max_players``) before it is decoded.
    """
    field = f"chunk[{index}]"
    check_count(len(message.policies), max_players, f"{field}.policies", "tensors")
    policies = (
        tuple(_tensor(p, f"{field}.policies[{i}]", max_entries) for i, p in enumerate(message.policies))
        if message.policies
        else None
    )
    joint_actions = history = returns = None
    if message.HasField("joint_actions"):
        joint_actions = _integers(
            _tensor(message.joint_actions, f"{field}.joint_actions", max_entries), f"{field}.joint_actions"
        )
    if message.HasField("history"):
        history = _integers(_tensor(message.history, f"{field}.history", max_entries), f"{field}.history")
    if message.HasField("returns"):
        returns = _tensor(message.returns, f"{field}.returns", max_entries)
    try:
        return TraceChunk(policies=policies, joint_actions=joint_actions, history=history, returns=returns)
    except SolverError as exc:
        raise chunk_error(exc, index) from exc


def chunk_error(exc: SolverError, index: int) -> RequestError:
    """A solver error about a chunk (field ``chunk.<x>``) as a request error naming the chunk."""
    error = from_solver_error(exc, "")
    if exc.field.startswith("chunk"):
        error.field = exc.field.replace("chunk", f"chunk[{index}]", 1)
    else:  # a limit of the options, e.g. max_histories
        error.field = f"header.options.{exc.field}"
    error.message = f"chunk {index}: {exc.message}"
    return error


def _criterion_to_proto(score: CriterionScore) -> trace_pb2.CriterionScore:
    message = trace_pb2.CriterionScore(
        name=score.name,
        checkpoints_z=score.checkpoints_z.tolist(),
        values=score.values.tolist(),
        final_value=score.final_value,
        verdict=VERDICT_VALUES[score.verdict],
        evidence=score.evidence,
        z=score.z,
        scale=score.scale,
        z0=[
            trace_pb2.EpsilonCrossing(epsilon=eps, z0=z0)
            if z0 is not None
            else trace_pb2.EpsilonCrossing(epsilon=eps)
            for eps, z0 in score.z0.items()
        ],
        z0_exact=score.z0_exact,
        switched=score.switched,
        switch_count=score.switch_count,
        checkpoint_radii=[] if score.checkpoint_radii is None else score.checkpoint_radii.tolist(),
    )
    for name in ("epsilon", "fitted_rate", "rate_r2", "confidence_radius"):
        value = getattr(score, name)
        if value is not None:
            setattr(message, name, value)
    if score.nearest_solution is not None:
        kind, k = score.nearest_solution
        message.nearest_solution.CopyFrom(trace_pb2.SolutionRef(kind=kind, index=k))
    return message


def trace_score_to_proto(score: TraceScore) -> trace_pb2.TraceScore:
    """Encode the scores of a trace."""
    message = trace_pb2.TraceScore(
        criteria=[_criterion_to_proto(c) for c in score.criteria],
        n_policies=score.n_policies,
        n_samples=score.n_samples,
        n_returns=score.n_returns,
        z_seen=score.z_seen,
        selected_by=score.selected_by or "",
        switched=score.switched,
        metric=score.metric,
        aggregate=score.aggregate,
        epsilons=score.epsilons,
        warnings=score.warnings,
    )
    if score.selected is not None:
        message.selected.CopyFrom(trace_pb2.SolutionRef(kind=score.selected[0], index=score.selected[1]))
    return message
