"""Converters between the wire API (``equilibria.v1``) and the solver's domain types.

This is the only module where protobuf meets the solver: one ``*_from_proto`` /
``*_to_proto`` function per message. Validation that needs the request (sizes, field
paths) happens here; the solver validates the mathematics and its errors are mapped
back to request fields by :mod:`equilibria.service.errors`.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import grpc
import numpy as np
import numpy.typing as npt
from equilibria.client._tensor import TensorError, TensorTooLargeError, decode_tensor, encode_tensor
from equilibria.service.errors import RequestError, from_solver_error, invalid
from equilibria.service.limits import Limits
from equilibria.solver import Component, Equilibrium, NormalFormGame, SolutionSet
from equilibria.solver.errors import SolverError
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2, solution_pb2
from google.protobuf import duration_pb2

__all__ = [
    "SolveOptions",
    "normal_form_game_from_proto",
    "normal_form_game_to_proto",
    "solve_request_from_proto",
    "solution_set_to_proto",
    "CONCEPT_NAMES",
]

#: SolutionConcept enum value -> solver concept name.
CONCEPT_NAMES = {
    solution_pb2.SOLUTION_CONCEPT_NASH: "nash",
    solution_pb2.SOLUTION_CONCEPT_PURE_NASH: "pure_nash",
    solution_pb2.SOLUTION_CONCEPT_PARETO_NASH: "pareto_nash",
    solution_pb2.SOLUTION_CONCEPT_WELFARE_NASH: "welfare_nash",
    solution_pb2.SOLUTION_CONCEPT_CORRELATED: "correlated",
    solution_pb2.SOLUTION_CONCEPT_COARSE_CORRELATED: "coarse_correlated",
    solution_pb2.SOLUTION_CONCEPT_ZERO_SUM_VALUE: "zero_sum_value",
    solution_pb2.SOLUTION_CONCEPT_SELECTION: "selection",
}
_CONCEPT_VALUES = {name: value for value, name in CONCEPT_NAMES.items()}


@dataclasses.dataclass(frozen=True)
class SolveOptions:
    """The solver options of a SolveGame request, validated."""

    concepts: tuple[str, ...]
    method: str
    tol: float
    exact: bool
    max_equilibria: int
    time_budget: float | None  # seconds, None: no request budget


def normal_form_game_from_proto(
    message: game_pb2.NormalFormGame, limits: Limits, field: str = "normal_form_game"
) -> NormalFormGame:
    """Decode and validate a NormalFormGame message.

    Raises
    ------
    RequestError
        ``RESOURCE_EXHAUSTED`` past the size limits, ``INVALID_ARGUMENT`` (naming the
        field) for a malformed game.
    """
    shape = tuple(message.payoffs.shape)
    if not message.HasField("payoffs") or not shape:
        raise invalid(f"{field}.payoffs", "payoffs is required: a tensor of shape (n_players, a_1, ..., a_n)")
    if len(shape) - 1 > limits.max_players:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{len(shape) - 1} players is over the limit of {limits.max_players}",
            f"{field}.payoffs.shape",
        )
    try:
        payoffs = decode_tensor(message.payoffs, max_entries=limits.max_payoff_entries)
    except TensorTooLargeError as exc:
        raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc), f"{field}.payoffs.shape") from exc
    except TensorError as exc:
        raise invalid(f"{field}.payoffs.data", str(exc)) from exc
    try:
        return NormalFormGame(
            payoffs,
            title=message.title,
            player_names=tuple(message.player_names),
            action_names=tuple(tuple(a.names) for a in message.action_names),
        )
    except SolverError as exc:
        raise from_solver_error(exc, field) from exc


def normal_form_game_to_proto(game: NormalFormGame) -> game_pb2.NormalFormGame:
    """Encode a NormalFormGame."""
    return game_pb2.NormalFormGame(
        payoffs=encode_tensor(game.payoffs),
        title=game.title,
        player_names=game.player_names,
        action_names=[game_pb2.ActionNames(names=names) for names in game.action_names],
    )


def solve_request_from_proto(
    request: service_pb2.SolveGameRequest, limits: Limits
) -> tuple[NormalFormGame, SolveOptions]:
    """Decode a SolveGameRequest into a game and validated options."""
    which = request.WhichOneof("game")
    if which is None:
        raise invalid("game", "a game is required: set normal_form_game")
    game = normal_form_game_from_proto(request.normal_form_game, limits)
    concepts = []
    for k, value in enumerate(request.concepts):
        if value not in CONCEPT_NAMES:
            raise invalid(f"concepts[{k}]", f"unknown or unspecified solution concept {value}")
        concepts.append(CONCEPT_NAMES[value])
    tol = request.tolerance or limits.default_tolerance
    if not (0.0 < tol <= 1e-3):
        raise invalid("tolerance", f"tolerance must be in (0, 1e-3], got {request.tolerance!r}")
    budget = None
    if request.HasField("time_budget"):
        budget = request.time_budget.ToTimedelta().total_seconds()
        if budget <= 0:
            raise invalid("time_budget", f"time_budget must be positive, got {budget} s")
    options = SolveOptions(
        concepts=tuple(concepts) or ("nash",),
        method=request.method or "auto",
        tol=tol,
        exact=request.exact,
        max_equilibria=request.max_equilibria,
        time_budget=budget,
    )
    return game, options


def _strategy(
    probabilities: npt.NDArray[np.float64], exact: tuple[Fraction, ...] | None
) -> solution_pb2.Strategy:
    probs = probabilities.tolist()
    support = [k for k, p in enumerate(exact if exact is not None else probs) if p > 0]
    exact_str = [str(p) for p in exact] if exact is not None else []
    return solution_pb2.Strategy(probabilities=probs, exact_probabilities=exact_str, support=support)


def equilibrium_to_proto(eq: Equilibrium) -> solution_pb2.Equilibrium:
    """Encode one equilibrium with its certificate."""
    exact = eq.exact_strategies or (None,) * len(eq.strategies)
    return solution_pb2.Equilibrium(
        strategies=[_strategy(s, e) for s, e in zip(eq.strategies, exact, strict=True)],
        payoffs=eq.payoffs.tolist(),
        exact_payoffs=[str(p) for p in eq.exact_payoffs or ()],
        regrets=eq.regrets.tolist(),
        nash_conv=eq.nash_conv,
        component_indices=eq.components,
    )


def component_to_proto(component: Component) -> solution_pb2.Component:
    """Encode one maximal Nash subset."""
    return solution_pb2.Component(
        equilibrium_indices=component.equilibrium_indices,
        player_vertices=[
            solution_pb2.StrategyList(strategies=[_strategy(v, None) for v in vertices])
            for vertices in component.vertices
        ],
    )


def solution_set_to_proto(result: SolutionSet) -> solution_pb2.SolutionSet:
    """Encode a solution set."""
    return solution_pb2.SolutionSet(
        game_id=result.game_id,
        equilibria=[equilibrium_to_proto(eq) for eq in result.equilibria],
        components=[component_to_proto(c) for c in result.components],
        complete=result.complete,
        method=result.method,
        method_reason=result.method_reason,
        warnings=result.warnings,
        solve_duration=duration_pb2.Duration(
            seconds=int(result.elapsed_seconds), nanos=int((result.elapsed_seconds % 1) * 1e9)
        ),
        tolerance=result.tolerance,
        concepts=[_CONCEPT_VALUES[c] for c in result.concepts],
        exact=result.exact,
    )
