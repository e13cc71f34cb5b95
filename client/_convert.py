"""Client-side conversion: user inputs to request messages, responses to dataclasses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from equilibria.client._tensor import decode_tensor, encode_tensor
from equilibria.client._types import (
    Component,
    CorrelatedEquilibrium,
    Equilibrium,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    MethodInfo,
    Selection,
    ServerInfo,
    ServerLimits,
    SolutionSet,
    WelfareOptimum,
    WelfareRange,
    ZeroSumSolution,
)
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2, solution_pb2

__all__ = [
    "game_to_proto",
    "stochastic_game_to_proto",
    "solve_request",
    "solution_set_from_proto",
    "markov_solution_set_from_proto",
    "server_info_from_proto",
]

_CONCEPTS = {
    name.removeprefix("SOLUTION_CONCEPT_").lower(): value
    for name, value in solution_pb2.SolutionConcept.items()
    if value != solution_pb2.SOLUTION_CONCEPT_UNSPECIFIED
}
_CONCEPT_NAMES = {value: name for name, value in _CONCEPTS.items()}


def _enum_by_name(enum: Any, prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix).lower(): value for name, value in enum.items() if value != 0}


_WELFARE = _enum_by_name(solution_pb2.WelfareFunction, "WELFARE_FUNCTION_")
_WELFARE_NAMES = {value: name for name, value in _WELFARE.items()}
_SELECTION = _enum_by_name(solution_pb2.SelectionCriterion, "SELECTION_CRITERION_")
_SELECTION_NAMES = {value: name for name, value in _SELECTION.items()}
_STAGE_SELECTION = _enum_by_name(solution_pb2.StageSelection, "STAGE_SELECTION_")
_STAGE_SELECTION_NAMES = {value: name for name, value in _STAGE_SELECTION.items()}


def _enum_values(names: Iterable[str], table: dict[str, int], what: str) -> list[int]:
    values = []
    for name in names:
        key = str(name).lower()
        if key not in table:
            raise ValueError(f"solve(): unknown {what} {name!r}; expected one of {', '.join(table)}")
        values.append(table[key])
    return values


def game_to_proto(game: Any) -> game_pb2.NormalFormGame:
    """A NormalFormGame message from what a user holds.

    Accepted: an object with a ``payoffs`` attribute (e.g. the solver's
    ``NormalFormGame``; its ``title``, ``player_names`` and ``action_names`` are kept);
    a pair ``(A, B)`` of equally shaped 2-D matrices (row and column player); a 2-D
    matrix ``A`` (the zero-sum game ``(A, -A)``); or a payoff tensor of shape
    ``(n_players, a_1, ..., a_n)``. Validation is the server's job: shapes are sent as
    they are.
    """
    if hasattr(game, "payoffs"):
        return game_pb2.NormalFormGame(
            payoffs=encode_tensor(game.payoffs),
            title=str(getattr(game, "title", "") or ""),
            player_names=list(getattr(game, "player_names", ()) or ()),
            action_names=[
                game_pb2.ActionNames(names=list(a)) for a in getattr(game, "action_names", ()) or ()
            ],
        )
    if isinstance(game, tuple | list) and len(game) == 2:
        a, b = (np.asarray(m, dtype=np.float64) for m in game)
        if a.ndim == 2 and a.shape == b.shape:
            return game_pb2.NormalFormGame(payoffs=encode_tensor(np.stack([a, b])))
    payoffs = np.asarray(game, dtype=np.float64)
    if payoffs.ndim == 2:
        payoffs = np.stack([payoffs, -payoffs])
    return game_pb2.NormalFormGame(payoffs=encode_tensor(payoffs))


def stochastic_game_to_proto(
    rewards: Any,
    transitions: Any = None,
    *,
    discount: float = 0.0,
    horizon: int | None = None,
    initial_distribution: Sequence[float] | None = None,
    action_counts: Any = None,
    title: str = "",
    player_names: Sequence[str] = (),
) -> game_pb2.StochasticGame:
    """A StochasticGame message from arrays, or from an object with ``rewards`` and ``transitions``.

    ``transitions`` may be a dense ``(S, a_1, ..., a_n, S)`` array, a sparse matrix of
    shape ``(S * A, S)`` (anything with ``tocoo()``, e.g. ``scipy.sparse``: sent in
    coordinate form without densifying), or a triple ``(rows, next_states,
    probabilities)`` in that row layout. Validation is the server's job.
    """
    if hasattr(rewards, "rewards") and hasattr(rewards, "transitions"):
        game = rewards
        return stochastic_game_to_proto(
            game.rewards,
            game.transitions,
            discount=game.discount,
            horizon=game.horizon,
            initial_distribution=list(np.asarray(game.initial_distribution, dtype=np.float64)),
            action_counts=game.action_counts,
            title=str(getattr(game, "title", "") or ""),
            player_names=tuple(getattr(game, "player_names", ()) or ()),
        )
    message = game_pb2.StochasticGame(
        rewards=encode_tensor(rewards),
        discount=float(discount),
        horizon=int(horizon or 0),
        initial_distribution=[] if initial_distribution is None else [float(p) for p in initial_distribution],
        title=title,
        player_names=list(player_names),
    )
    if action_counts is not None:
        message.action_counts.extend(int(k) for k in np.asarray(action_counts).ravel())
    if hasattr(transitions, "tocoo"):
        coo = transitions.tocoo()
        transitions = (coo.row, coo.col, coo.data)
    if isinstance(transitions, tuple) and len(transitions) == 3:
        rows, next_states, probabilities = (np.asarray(v).ravel() for v in transitions)
        message.sparse_transitions.rows.extend(rows.astype(np.uint64).tolist())
        message.sparse_transitions.next_states.extend(next_states.astype(np.uint32).tolist())
        message.sparse_transitions.probabilities.extend(probabilities.astype(np.float64).tolist())
    else:
        message.transition_tensor.CopyFrom(encode_tensor(transitions))
    return message


def solve_request(
    game: Any,
    *,
    concepts: Iterable[str],
    method: str,
    tolerance: float,
    exact: bool,
    max_equilibria: int,
    time_budget: float | None,
    welfare: Iterable[str] = (),
    disagreement: Sequence[float] | None = None,
    selection: Iterable[str] = (),
    stage_selection: Iterable[str] = (),
    priors: int = 0,
    seed: int = 0,
) -> service_pb2.SolveGameRequest:
    """Build a SolveGameRequest; unknown concept, welfare or criterion names raise ValueError.

    ``game`` is a NormalFormGame or StochasticGame message, or anything
    :func:`game_to_proto` accepts.
    """
    request = service_pb2.SolveGameRequest(
        concepts=_enum_values(concepts, _CONCEPTS, "concept"),
        method=method,
        tolerance=tolerance,
        exact=exact,
        max_equilibria=max_equilibria,
        welfare_functions=_enum_values(welfare, _WELFARE, "welfare function"),
        disagreement_point=[] if disagreement is None else [float(v) for v in disagreement],
        selection_criteria=_enum_values(selection, _SELECTION, "selection criterion"),
        stage_selection=_enum_values(stage_selection, _STAGE_SELECTION, "stage-selection criterion"),
        homotopy_priors=priors,
        seed=seed,
    )
    if isinstance(game, game_pb2.StochasticGame):
        request.stochastic_game.CopyFrom(game)
    elif isinstance(game, game_pb2.NormalFormGame):
        request.normal_form_game.CopyFrom(game)
    else:
        request.normal_form_game.CopyFrom(game_to_proto(game))
    if time_budget is not None:
        request.time_budget.FromNanoseconds(int(time_budget * 1e9))
    return request


def _fractions(values: Sequence[str]) -> tuple[Fraction, ...]:
    return tuple(Fraction(v) for v in values)


def _equilibrium(message: solution_pb2.Equilibrium) -> Equilibrium:
    exact = message.strategies and all(s.exact_probabilities for s in message.strategies)
    return Equilibrium(
        strategies=tuple(np.array(s.probabilities, dtype=np.float64) for s in message.strategies),
        payoffs=np.array(message.payoffs, dtype=np.float64),
        regrets=np.array(message.regrets, dtype=np.float64),
        nash_conv=message.nash_conv,
        supports=tuple(tuple(s.support) for s in message.strategies),
        exact_strategies=tuple(_fractions(s.exact_probabilities) for s in message.strategies)
        if exact
        else None,
        exact_payoffs=_fractions(message.exact_payoffs) if message.exact_payoffs else None,
        components=tuple(message.component_indices),
        found_by=tuple(message.found_by),
    )


def _component(message: solution_pb2.Component) -> Component:
    return Component(
        equilibrium_indices=tuple(message.equilibrium_indices),
        vertices=tuple(
            np.array([s.probabilities for s in player.strategies], dtype=np.float64)
            for player in message.player_vertices
        ),
    )


def solution_set_from_proto(message: solution_pb2.SolutionSet) -> SolutionSet:
    """The client's SolutionSet from the wire message."""
    return SolutionSet(
        game_id=message.game_id,
        equilibria=tuple(_equilibrium(e) for e in message.equilibria),
        components=tuple(_component(c) for c in message.components),
        complete=message.complete,
        method=message.method,
        method_reason=message.method_reason,
        warnings=tuple(message.warnings),
        tolerance=message.tolerance,
        concepts=tuple(_CONCEPT_NAMES[c] for c in message.concepts if c in _CONCEPT_NAMES),
        exact=message.exact,
        solve_seconds=message.solve_duration.ToTimedelta().total_seconds(),
        pareto_indices=tuple(message.pareto_indices),
        welfare_optima=_welfare_optima(message.welfare_optima),
        correlated_equilibria=tuple(_correlated(c) for c in message.correlated_equilibria),
        welfare_ranges=tuple(
            WelfareRange(
                kind=_CONCEPT_NAMES.get(r.kind, ""),
                objective=_WELFARE_NAMES.get(r.objective, ""),
                minimum=_correlated(r.minimum),
                maximum=_correlated(r.maximum),
            )
            for r in message.welfare_ranges
        ),
        zero_sum=_zero_sum(message.zero_sum) if message.HasField("zero_sum") else None,
        selections=tuple(
            Selection(
                criterion=_SELECTION_NAMES.get(sel.criterion, ""),
                decided=sel.decided,
                equilibrium_index=sel.equilibrium_index if sel.HasField("equilibrium_index") else None,
                reason=sel.reason,
            )
            for sel in message.selections
        ),
    )


def _welfare_optima(messages: Iterable[solution_pb2.WelfareOptimum]) -> tuple[WelfareOptimum, ...]:
    return tuple(
        WelfareOptimum(
            function=_WELFARE_NAMES.get(w.function, ""),
            value=w.value,
            equilibrium_indices=tuple(w.equilibrium_indices),
            method=w.method,
            certified=w.certified,
            disagreement=np.array(w.disagreement_point) if w.disagreement_point else None,
        )
        for w in messages
    )


def markov_solution_set_from_proto(message: solution_pb2.MarkovSolutionSet) -> MarkovSolutionSet:
    """The client's MarkovSolutionSet from the wire message."""
    zero_sum = None
    if message.HasField("zero_sum"):
        zs = message.zero_sum
        zero_sum = MarkovZeroSum(
            values=np.array(zs.values, dtype=np.float64),
            policies=tuple(decode_tensor(p) for p in zs.policies),
            nash_conv=zs.nash_conv,
            max_state_gap=zs.max_state_gap,
            method=zs.method,
            iterations=zs.iterations,
            error_bound=zs.error_bound,
        )
    return MarkovSolutionSet(
        game_id=message.game_id,
        equilibria=tuple(
            MarkovEquilibrium(
                policies=tuple(decode_tensor(p) for p in eq.policies),
                values=decode_tensor(eq.values),
                payoffs=np.array(eq.payoffs, dtype=np.float64),
                regrets=np.array(eq.regrets, dtype=np.float64),
                nash_conv=eq.nash_conv,
                state_gaps=np.array(eq.state_gaps, dtype=np.float64),
                found_by=tuple(eq.found_by),
            )
            for eq in message.equilibria
        ),
        complete=message.complete,
        method=message.method,
        method_reason=message.method_reason,
        warnings=tuple(message.warnings),
        tolerance=message.tolerance,
        concepts=tuple(_CONCEPT_NAMES[c] for c in message.concepts if c in _CONCEPT_NAMES),
        solve_seconds=message.solve_duration.ToTimedelta().total_seconds(),
        pareto_indices=tuple(message.pareto_indices),
        welfare_optima=_welfare_optima(message.welfare_optima),
        zero_sum=zero_sum,
        stage_selections=tuple(
            Selection(
                criterion=_STAGE_SELECTION_NAMES.get(sel.criterion, ""),
                decided=sel.decided,
                equilibrium_index=sel.equilibrium_index if sel.HasField("equilibrium_index") else None,
                reason=sel.reason,
            )
            for sel in message.stage_selections
        ),
    )


def _correlated(message: solution_pb2.CorrelatedEquilibrium) -> CorrelatedEquilibrium:
    return CorrelatedEquilibrium(
        kind=_CONCEPT_NAMES.get(message.kind, ""),
        distribution=decode_tensor(message.distribution),
        payoffs=np.array(message.payoffs, dtype=np.float64),
        objective=_WELFARE_NAMES.get(message.objective, ""),
        maximized=message.maximized,
        welfare=message.welfare,
        max_violation=message.max_violation,
    )


def _zero_sum(message: solution_pb2.ZeroSumSolution) -> ZeroSumSolution:
    return ZeroSumSolution(
        value=message.value,
        constant=message.constant,
        strategies=tuple(np.array(s.probabilities, dtype=np.float64) for s in message.strategies),
        nash_conv=message.nash_conv,
        optimal_vertices=tuple(
            np.array([s.probabilities for s in side.strategies], dtype=np.float64)
            for side in message.optimal_vertices
        ),
    )


def server_info_from_proto(message: service_pb2.GetServerInfoResponse) -> ServerInfo:
    """The client's ServerInfo from the wire message."""
    limits = message.limits
    return ServerInfo(
        version=message.version,
        solver_version=message.solver_version,
        limits=ServerLimits(
            max_message_bytes=limits.max_message_bytes,
            max_payoff_entries=limits.max_payoff_entries,
            max_players=limits.max_players,
            max_time_budget=limits.max_time_budget.ToTimedelta().total_seconds(),
            workers=limits.workers,
            max_transition_entries=limits.max_transition_entries,
            cache_entries=limits.cache_entries,
            cache_bytes=limits.cache_bytes,
            worker_memory_bytes=limits.worker_memory_bytes,
            max_trace_bytes=limits.max_trace_bytes,
        ),
        methods=tuple(
            MethodInfo(m.name, m.description, m.complete, m.min_players, m.max_players)
            for m in message.methods
        ),
        instance_id=message.instance_id,
    )
