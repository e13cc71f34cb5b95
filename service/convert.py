"""Server-side conversion: with :mod:`equilibria.service.convert_evaluation` (the messages of
the evaluation concepts, which it calls), the only service module that reads or builds
``equilibria.v1`` messages.

Requests become the solver's domain types and validated options; results become
response messages (one ``*_from_proto`` / ``*_to_proto`` function per message, plus the
responses of every RPC). Validation that needs the request (sizes, field paths) happens
here; the solver validates the mathematics and its errors are mapped back to request
fields by :mod:`equilibria.service.errors`. Tensors and enum names go through the shared
wire codec, :mod:`equilibria.v1.codec`. Integers of trace chunks travel as float64
tensors; they are checked to be whole numbers. Every string a request carries is checked
against its cap in :class:`~equilibria.service.limits.Limits` (:func:`check_length`)
before it is used: option names ``max_option_chars``, names and ids ``max_name_chars``,
titles ``max_title_chars``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
from equilibria.service.convert_evaluation import (
    alpha_rank_options_from_proto,
    alpha_rank_to_proto,
    credit_options_from_proto,
    credit_to_proto,
    dynamics_options_from_proto,
    dynamics_to_proto,
    ess_options_from_proto,
    ess_to_proto,
    max_entropy_to_proto,
    noise_options_from_proto,
    noise_to_proto,
    stochastic_credit_to_proto,
)
from equilibria.service.errors import RequestError, from_solver_error, invalid, status_message
from equilibria.service.limits import Limits
from equilibria.service.options import DEFAULT_CONCEPTS, SolveOptions
from equilibria.solver import (
    METHODS,
    Component,
    ConceptStatus,
    CorrelatedEquilibrium,
    Equilibrium,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    NormalFormGame,
    Selection,
    SolutionSet,
    StochasticGame,
    WelfareOptimum,
    WelfareRange,
    ZeroSumSolution,
)
from equilibria.solver.errors import SolverError
from equilibria.solver.stochastic.solve import STOCHASTIC_METHOD_DESCRIPTIONS
from equilibria.solver.traces import CreditCurves, CriterionScore, ScoreOptions, TraceChunk, TraceScore
from equilibria.v1 import codec, game_pb2, solution_pb2, trace_pb2
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1.codec import TensorError, TensorTooLargeError, decode_tensor, encode_tensor
from google.protobuf import duration_pb2
from google.rpc import code_pb2, status_pb2

__all__ = [
    "MAX_TENSOR_DIMS",
    "MIN_TOLERANCE",
    "StreamChunk",
    "TraceRequest",
    "batch_item_failure",
    "batch_item_response",
    "cached_solve_response",
    "check_count",
    "check_length",
    "check_tolerance",
    "chunk_error",
    "decode_tensor_field",
    "markov_solution_set_to_proto",
    "monitor_trace_response",
    "normal_form_game_from_proto",
    "normal_form_game_to_proto",
    "request_game_field",
    "score_options_from_proto",
    "score_trace_response",
    "server_info_response",
    "solution_set_to_proto",
    "solve_request_from_proto",
    "solve_response",
    "stochastic_game_from_proto",
    "stochastic_game_to_proto",
    "check_stream_chunk",
    "integers",
    "stream_chunk_from_proto",
    "trace_chunk_from_proto",
    "trace_request_from_proto",
    "trace_score_to_proto",
]

_OK = status_pb2.Status(code=code_pb2.OK)

#: Most dimensions a tensor of a request may declare (numpy's own limit is 64).
MAX_TENSOR_DIMS = 32


#: Smallest tolerance a request may ask for: float64 arithmetic cannot certify regrets
#: much below it (a tolerance of 1e-264 got "equilibria" with NashConv 3e-150).
MIN_TOLERANCE = 1e-12


def check_tolerance(tol: float, field: str) -> float:
    """A request's tolerance if it is in [:data:`MIN_TOLERANCE`, 1e-3], else ``INVALID_ARGUMENT``."""
    if not (MIN_TOLERANCE <= tol <= 1e-3):
        raise invalid(field, f"tolerance must be in [{MIN_TOLERANCE:g}, 1e-3], got {tol!r}")
    return tol


def check_count(count: int, limit: int, field: str, what: str = "entries") -> None:
    """Refuse a repeated field (or a stream) longer than ``limit`` before decoding it.

    Raises
    ------
    RequestError
        ``RESOURCE_EXHAUSTED`` naming ``field``.
    """
    if count > limit:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{field}: {count:,} {what}, over the limit of {limit:,}",
            field,
        )


def check_length(value: str, limit: int, field: str) -> str:
    """``value`` if it has at most ``limit`` characters.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` naming ``field``, the length and the limit; the message never
        quotes the value.

    Examples
    --------
    >>> check_length("nash", 64, "method")
    'nash'
    >>> check_length("m" * 65, 64, "method")
    Traceback (most recent call last):
    ...
    equilibria.service.errors.RequestError: method: 65 characters, the limit is 64
    """
    if len(value) > limit:
        raise invalid(field, f"{field}: {len(value)} characters, the limit is {limit}")
    return value


def decode_tensor_field(message: game_pb2.Tensor, max_entries: int, field: str) -> npt.NDArray[np.float64]:
    """Decode a Tensor of a request, checking its declared size before touching its data.

    Raises
    ------
    RequestError
        ``RESOURCE_EXHAUSTED`` (field ``<field>.shape``) past ``max_entries``;
        ``INVALID_ARGUMENT`` for too many dimensions (``<field>.shape``) or data that does
        not match the shape (``<field>.data``).
    """
    if len(message.shape) > MAX_TENSOR_DIMS:
        raise invalid(
            f"{field}.shape", f"a tensor has at most {MAX_TENSOR_DIMS} dimensions, got {len(message.shape)}"
        )
    try:
        return decode_tensor(message, max_entries=max_entries)
    except TensorTooLargeError as exc:
        raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{field}: {exc}", f"{field}.shape") from exc
    except TensorError as exc:
        raise invalid(f"{field}.data", f"{field}: {exc}") from exc


def _check_names(message: Any, action_names: Any, limits: Limits, field: str) -> None:
    """Counts and lengths of a game's title, player names and action names."""
    check_length(message.title, limits.max_title_chars, f"{field}.title")
    check_count(len(message.player_names), limits.max_players, f"{field}.player_names")
    check_count(len(action_names), limits.max_players, f"{field}.action_names")
    for i, name in enumerate(message.player_names):
        check_length(name, limits.max_name_chars, f"{field}.player_names[{i}]")
    for i, names in enumerate(action_names):
        check_count(len(names.names), limits.max_payoff_entries, f"{field}.action_names[{i}].names")
        for j, name in enumerate(names.names):
            check_length(name, limits.max_name_chars, f"{field}.action_names[{i}].names[{j}]")


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
    payoffs = decode_tensor_field(message.payoffs, limits.max_payoff_entries, f"{field}.payoffs")
    _check_names(message, message.action_names, limits, field)
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


def _stochastic_field(solver_field: str, form: str | None) -> str:
    """Path inside a StochasticGame message of a solver field (transitions by their form)."""
    if solver_field == "transitions":
        return form or "transitions"
    if solver_field.startswith("transitions."):
        return f"sparse_transitions.{solver_field.removeprefix('transitions.')}"
    return solver_field


def stochastic_game_from_proto(
    message: game_pb2.StochasticGame, limits: Limits, field: str = "stochastic_game"
) -> StochasticGame:
    """Decode and validate a StochasticGame message.

    Raises
    ------
    RequestError
        ``RESOURCE_EXHAUSTED`` past the size limits, ``INVALID_ARGUMENT`` naming the
        field (and, for a transition row off the simplex, the state and joint action).
    """
    shape = tuple(message.rewards.shape)
    if not message.HasField("rewards") or len(shape) < 4:
        raise invalid(
            f"{field}.rewards", "rewards is required: a tensor of shape (S, n_players, a_1, ..., a_n)"
        )
    if shape[1] > limits.max_players:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{shape[1]} players is over the limit of {limits.max_players}",
            f"{field}.rewards.shape",
        )
    rewards = decode_tensor_field(message.rewards, limits.max_payoff_entries, f"{field}.rewards")
    _check_names(message, [], limits, field)
    check_count(len(message.initial_distribution), limits.max_payoff_entries, f"{field}.initial_distribution")
    check_count(len(message.action_counts), limits.max_payoff_entries, f"{field}.action_counts")
    if message.horizon:
        # Backward induction keeps a policy per stage: horizon x states x actions entries.
        policy_entries = message.horizon * shape[0] * sum(shape[2:])
        if policy_entries > limits.max_policy_entries:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"a horizon of {message.horizon:,} over {shape[0]:,} states makes policies of "
                f"{policy_entries:,} entries, over the limit of {limits.max_policy_entries:,}",
                f"{field}.horizon",
            )
    form = message.WhichOneof("transitions")
    transitions: object
    if form == "transition_tensor":
        transitions = decode_tensor_field(
            message.transition_tensor, limits.max_transition_entries, f"{field}.transition_tensor"
        )
    elif form == "sparse_transitions":
        sparse = message.sparse_transitions
        for name in ("rows", "next_states", "probabilities"):
            check_count(
                len(getattr(sparse, name)),
                limits.max_transition_entries,
                f"{field}.sparse_transitions.{name}",
            )
        transitions = (
            np.array(sparse.rows, dtype=np.int64),
            np.array(sparse.next_states, dtype=np.int64),
            np.array(sparse.probabilities, dtype=np.float64),
        )
    else:
        raise invalid(
            f"{field}.transitions", "transitions are required: set transition_tensor or sparse_transitions"
        )
    try:
        return StochasticGame(
            rewards,
            transitions,
            discount=message.discount,
            horizon=message.horizon or None,
            initial_distribution=np.array(message.initial_distribution, dtype=np.float64),
            action_counts=np.array(message.action_counts, dtype=np.int64),
            title=message.title,
            player_names=tuple(message.player_names),
        )
    except SolverError as exc:
        error = from_solver_error(exc, field)
        error.field = f"{field}.{_stochastic_field(exc.field, form)}"
        raise error from exc


def stochastic_game_to_proto(game: StochasticGame) -> game_pb2.StochasticGame:
    """Encode a StochasticGame (transitions in coordinate form)."""
    matrix = game.transition_matrix.tocoo()
    full = bool((game.action_counts == np.asarray(game.num_actions)).all())
    return game_pb2.StochasticGame(
        rewards=encode_tensor(game.rewards),
        action_counts=[] if full else game.action_counts.ravel().tolist(),
        sparse_transitions=game_pb2.SparseTransitions(
            rows=matrix.row.tolist(), next_states=matrix.col.tolist(), probabilities=matrix.data.tolist()
        ),
        discount=game.discount,
        horizon=game.horizon or 0,
        initial_distribution=game.initial_distribution.tolist(),
        title=game.title,
        player_names=game.player_names,
    )


def solve_request_from_proto(
    request: service_pb2.SolveGameRequest, limits: Limits
) -> tuple[NormalFormGame | StochasticGame, SolveOptions]:
    """Decode a SolveGameRequest into a game and validated options."""
    check_length(request.method, limits.max_option_chars, "method")
    which = request.WhichOneof("game")
    game: NormalFormGame | StochasticGame
    if which == "normal_form_game":
        game = normal_form_game_from_proto(request.normal_form_game, limits)
    elif which == "stochastic_game":
        game = stochastic_game_from_proto(request.stochastic_game, limits)
    else:
        raise invalid("game", "a game is required: set normal_form_game or stochastic_game")
    for name in ("concepts", "welfare_functions", "selection_criteria", "stage_selection"):
        check_count(len(getattr(request, name)), limits.max_list_entries, name)
    check_count(len(request.disagreement_point), limits.max_players, "disagreement_point")
    concepts = _enum_names(request.concepts, codec.CONCEPTS, "concepts", "solution concept")
    welfare = _enum_names(
        request.welfare_functions, codec.WELFARE_FUNCTIONS, "welfare_functions", "welfare function"
    )
    selection = _enum_names(
        request.selection_criteria, codec.SELECTION_CRITERIA, "selection_criteria", "selection criterion"
    )
    stage_selection = _enum_names(
        request.stage_selection, codec.STAGE_SELECTION, "stage_selection", "stage-selection criterion"
    )
    if request.homotopy_priors > 1000:
        raise invalid(
            "homotopy_priors", f"homotopy_priors must be at most 1000, got {request.homotopy_priors}"
        )
    tol = check_tolerance(request.tolerance or limits.default_tolerance, "tolerance")
    budget = None
    if request.HasField("time_budget"):
        # Not ToTimedelta(): it overflows (an uncaught OverflowError) past 10^9 days.
        budget = request.time_budget.seconds + request.time_budget.nanos * 1e-9
        if budget <= 0:
            raise invalid("time_budget", f"time_budget must be positive, got {budget} s")
    options = SolveOptions(
        concepts=tuple(concepts) or DEFAULT_CONCEPTS,
        method=request.method or "auto",
        tol=tol,
        exact=request.exact,
        max_equilibria=request.max_equilibria,
        time_budget=budget,
        welfare=welfare or ("utilitarian",),
        disagreement=tuple(request.disagreement_point) or None,
        selection=selection,
        stage_selection=stage_selection or ("utilitarian",),
        priors=request.homotopy_priors,
        seed=request.seed,
        alpha_rank=alpha_rank_options_from_proto(request.alpha_rank)
        if request.HasField("alpha_rank")
        else None,
        dynamics=dynamics_options_from_proto(request.dynamics, limits.max_payoff_entries)
        if request.HasField("dynamics")
        else None,
        ess=ess_options_from_proto(request.ess) if request.HasField("ess") else None,
        credit=credit_options_from_proto(
            request.credit_assignment,
            lambda tensor, field: decode_tensor_field(tensor, limits.max_policy_entries, field),
            limits.max_players,
        )
        if request.HasField("credit_assignment")
        else None,
        standard_errors=_standard_errors(request, game, limits),
        noise=noise_options_from_proto(request.noise) if request.HasField("noise") else None,
    )
    return game, options


def _standard_errors(
    request: service_pb2.SolveGameRequest, game: NormalFormGame | StochasticGame, limits: Limits
) -> npt.NDArray[np.float64] | None:
    """``normal_form_game.standard_errors``, decoded and of the payoffs' shape (None if unset)."""
    if request.WhichOneof("game") != "normal_form_game" or not request.normal_form_game.HasField(
        "standard_errors"
    ):
        return None
    field = "normal_form_game.standard_errors"
    errors = decode_tensor_field(request.normal_form_game.standard_errors, limits.max_payoff_entries, field)
    if errors.shape != game.payoffs.shape:
        raise invalid(field, f"{field}: shape {errors.shape} differs from the payoffs' {game.payoffs.shape}")
    return errors


def _enum_names(values: Iterable[int], names: codec.EnumNames, field: str, what: str) -> tuple[str, ...]:
    """Solver names of repeated enum values; unknown or unspecified values name their index."""
    result = []
    for k, value in enumerate(values):
        if value not in names.by_value:
            raise invalid(f"{field}[{k}]", f"unknown or unspecified {what} {value}")
        result.append(names.by_value[value])
    return tuple(result)


def _strategy(
    probabilities: npt.NDArray[np.float64], exact: tuple[Fraction, ...] | None
) -> solution_pb2.Strategy:
    probs = probabilities.tolist()
    if exact is None:  # no empty list passed: building the message takes a third less
        return solution_pb2.Strategy(probabilities=probs, support=[k for k, p in enumerate(probs) if p > 0])
    return solution_pb2.Strategy(
        probabilities=probs,
        exact_probabilities=[str(p) for p in exact],
        support=[k for k, p in enumerate(exact) if p > 0],
    )


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
        found_by=eq.found_by,
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
        solve_duration=_duration(result.elapsed_seconds),
        tolerance=result.tolerance,
        concepts=[codec.CONCEPTS.values[c] for c in result.concepts],
        exact=result.exact,
        pareto_indices=result.pareto_indices,
        welfare_optima=[welfare_optimum_to_proto(w) for w in result.welfare_optima],
        correlated_equilibria=[correlated_to_proto(c) for c in result.correlated_equilibria],
        welfare_ranges=[welfare_range_to_proto(r) for r in result.welfare_ranges],
        zero_sum=zero_sum_to_proto(result.zero_sum) if result.zero_sum is not None else None,
        selections=[selection_to_proto(sel) for sel in result.selections],
        concept_status=concept_status_to_proto(result.concept_status),
        alpha_rank=alpha_rank_to_proto(result.alpha_rank) if result.alpha_rank is not None else None,
        max_entropy_equilibria=[max_entropy_to_proto(a) for a in result.max_entropy_equilibria],
        dynamics=dynamics_to_proto(result.dynamics) if result.dynamics is not None else None,
        ess=ess_to_proto(result.ess) if result.ess is not None else None,
        credit_assignment=credit_to_proto(result.credit_assignment)
        if result.credit_assignment is not None
        else None,
        noise=noise_to_proto(result.noise) if result.noise is not None else None,
    )


def concept_status_to_proto(statuses: tuple[ConceptStatus, ...]) -> list[solution_pb2.ConceptStatus]:
    """Encode the per-concept statuses of a solve."""
    return [
        solution_pb2.ConceptStatus(
            concept=codec.CONCEPTS.values[c.concept],
            answer=codec.CONCEPT_ANSWERS.values[c.status],
            reason=c.reason,
        )
        for c in statuses
    ]


def welfare_optimum_to_proto(optimum: WelfareOptimum) -> solution_pb2.WelfareOptimum:
    """Encode the welfare optimum of one function."""
    return solution_pb2.WelfareOptimum(
        function=codec.WELFARE_FUNCTIONS.values[optimum.function],
        value=optimum.value,
        equilibrium_indices=optimum.equilibrium_indices,
        method=optimum.method,
        certified=optimum.certified,
        disagreement_point=[] if optimum.disagreement is None else optimum.disagreement.tolist(),
    )


def correlated_to_proto(ce: CorrelatedEquilibrium) -> solution_pb2.CorrelatedEquilibrium:
    """Encode a (coarse) correlated equilibrium."""
    return solution_pb2.CorrelatedEquilibrium(
        kind=codec.CONCEPTS.values[ce.kind],
        distribution=encode_tensor(ce.distribution),
        payoffs=ce.payoffs.tolist(),
        objective=codec.WELFARE_FUNCTIONS.values[ce.objective],
        maximized=ce.sense == "max",
        welfare=ce.welfare,
        max_violation=ce.max_violation,
    )


def welfare_range_to_proto(welfare_range: WelfareRange) -> solution_pb2.WelfareRange:
    """Encode a (C)CE welfare range."""
    return solution_pb2.WelfareRange(
        kind=codec.CONCEPTS.values[welfare_range.kind],
        objective=codec.WELFARE_FUNCTIONS.values[welfare_range.objective],
        minimum=correlated_to_proto(welfare_range.minimum),
        maximum=correlated_to_proto(welfare_range.maximum),
    )


def zero_sum_to_proto(solution: ZeroSumSolution) -> solution_pb2.ZeroSumSolution:
    """Encode the value and optimal strategies of a constant-sum game."""
    vertices = []
    if solution.row_vertices is not None and solution.col_vertices is not None:
        vertices = [
            solution_pb2.StrategyList(strategies=[_strategy(v, None) for v in side])
            for side in (solution.row_vertices, solution.col_vertices)
        ]
    return solution_pb2.ZeroSumSolution(
        value=solution.value,
        constant=solution.constant,
        strategies=[_strategy(s, None) for s in solution.strategies],
        nash_conv=solution.nash_conv,
        optimal_vertices=vertices,
    )


def selection_to_proto(selection: Selection) -> solution_pb2.Selection:
    """Encode one selection answer."""
    message = solution_pb2.Selection(
        criterion=codec.SELECTION_CRITERIA.values[selection.criterion],
        decided=selection.decided,
        reason=selection.reason,
    )
    if selection.equilibrium_index is not None:
        message.equilibrium_index = selection.equilibrium_index
    return message


def _duration(seconds: float) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=int(seconds), nanos=int((seconds % 1) * 1e9))


def markov_equilibrium_to_proto(eq: MarkovEquilibrium) -> solution_pb2.MarkovEquilibrium:
    """Encode one stochastic-game equilibrium with its certificate."""
    return solution_pb2.MarkovEquilibrium(
        policies=[encode_tensor(p) for p in eq.policies],
        values=encode_tensor(eq.values),
        payoffs=eq.payoffs.tolist(),
        regrets=eq.regrets.tolist(),
        nash_conv=eq.nash_conv,
        state_gaps=eq.state_gaps.tolist(),
        found_by=eq.found_by,
    )


def markov_zero_sum_to_proto(solution: MarkovZeroSum) -> solution_pb2.MarkovZeroSum:
    """Encode the values and optimal strategies of a zero-sum stochastic game."""
    return solution_pb2.MarkovZeroSum(
        values=solution.values.tolist(),
        policies=[encode_tensor(p) for p in solution.policies],
        nash_conv=solution.nash_conv,
        max_state_gap=solution.max_state_gap,
        method=solution.method,
        iterations=solution.iterations,
        error_bound=solution.error_bound,
    )


def stage_selection_to_proto(selection: Selection) -> solution_pb2.StageSelectionReport:
    """Encode how one stage-selection criterion decided."""
    message = solution_pb2.StageSelectionReport(
        criterion=codec.STAGE_SELECTION.values[selection.criterion],
        decided=selection.decided,
        reason=selection.reason,
    )
    if selection.equilibrium_index is not None:
        message.equilibrium_index = selection.equilibrium_index
    return message


def markov_solution_set_to_proto(result: MarkovSolutionSet) -> solution_pb2.MarkovSolutionSet:
    """Encode a stochastic-game solution set."""
    return solution_pb2.MarkovSolutionSet(
        game_id=result.game_id,
        equilibria=[markov_equilibrium_to_proto(eq) for eq in result.equilibria],
        complete=result.complete,
        method=result.method,
        method_reason=result.method_reason,
        warnings=result.warnings,
        solve_duration=_duration(result.elapsed_seconds),
        tolerance=result.tolerance,
        concepts=[codec.CONCEPTS.values[c] for c in result.concepts],
        pareto_indices=result.pareto_indices,
        welfare_optima=[welfare_optimum_to_proto(w) for w in result.welfare_optima],
        zero_sum=markov_zero_sum_to_proto(result.zero_sum) if result.zero_sum is not None else None,
        stage_selections=[stage_selection_to_proto(sel) for sel in result.selections],
        concept_status=concept_status_to_proto(result.concept_status),
        credit_assignment=stochastic_credit_to_proto(result.credit_assignment)
        if result.credit_assignment is not None
        else None,
    )


# -- trace streams --------------------------------------------------------------------------------


def score_options_from_proto(
    message: trace_pb2.ScoreOptions, field: str = "header.options", limits: Limits | None = None
) -> ScoreOptions:
    """Validated scoring options; empty fields take the solver defaults.

    Raises
    ------
    RequestError
        ``RESOURCE_EXHAUSTED`` for a list longer than the limits allow (criteria and
        epsilons: ``max_list_entries``; state weights: ``max_payoff_entries``),
        ``INVALID_ARGUMENT`` naming the field for a bad option or a name longer than
        ``max_option_chars``.
    """
    limits = limits or Limits()
    for name in ("criteria", "epsilons"):
        check_count(len(getattr(message, name)), limits.max_list_entries, f"{field}.{name}")
    for k, criterion in enumerate(message.criteria):
        check_length(criterion, limits.max_option_chars, f"{field}.criteria[{k}]")
    for name in ("metric", "aggregate", "joint_concept"):
        check_length(getattr(message, name), limits.max_option_chars, f"{field}.{name}")
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


def integers(values: npt.NDArray[np.float64], field: str) -> npt.NDArray[np.int64]:
    """``values`` as int64, refused naming ``field`` unless every entry is an integer below 2^53."""
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
        tuple(
            decode_tensor_field(p, max_entries, f"{field}.policies[{i}]")
            for i, p in enumerate(message.policies)
        )
        if message.policies
        else None
    )
    joint_actions = history = returns = None
    if message.HasField("joint_actions"):
        joint_actions = integers(
            decode_tensor_field(message.joint_actions, max_entries, f"{field}.joint_actions"),
            f"{field}.joint_actions",
        )
    if message.HasField("history"):
        history = integers(
            decode_tensor_field(message.history, max_entries, f"{field}.history"), f"{field}.history"
        )
    if message.HasField("returns"):
        returns = decode_tensor_field(message.returns, max_entries, f"{field}.returns")
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
        verdict=codec.VERDICTS.values[score.verdict],
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
        outside_profile=[]
        if score.outside_profile is None
        else [encode_tensor(p) for p in score.outside_profile],
    )
    for name in ("epsilon", "fitted_rate", "rate_r2", "confidence_radius", "outside_regret"):
        value = getattr(score, name)
        if value is not None:
            setattr(message, name, value)
    if score.nearest_solution is not None:
        kind, k = score.nearest_solution
        message.nearest_solution.CopyFrom(trace_pb2.SolutionRef(kind=kind, index=k))
    return message


def _credit_to_proto(credit: CreditCurves) -> trace_pb2.CreditCurves:
    return trace_pb2.CreditCurves(
        team=credit.team,
        default_actions=list(credit.default_actions),
        payoff_range=credit.payoff_range,
        checkpoints_z=credit.checkpoints_z.tolist(),
        shapley_values=encode_tensor(credit.shapley_values),
        difference_rewards=encode_tensor(credit.difference_rewards),
        team_returns=credit.team_returns.tolist(),
        coalition_baselines=credit.coalition_baselines.tolist(),
        final_shapley_values=credit.final_shapley_values.tolist(),
        final_difference_rewards=credit.final_difference_rewards.tolist(),
        final_team_return=credit.final_team_return,
        final_coalition_baseline=credit.final_coalition_baseline,
        tail_changes=credit.tail_changes.tolist(),
        trends=list(credit.trends),
        lazy_agents=list(credit.lazy_agents),
        epsilon=credit.epsilon,
        tail_start=credit.tail_start,
        z=credit.z,
    )


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
        partial_set=score.partial_set,
    )
    if score.selected is not None:
        message.selected.CopyFrom(trace_pb2.SolutionRef(kind=score.selected[0], index=score.selected[1]))
    if score.credit is not None:
        message.credit.CopyFrom(_credit_to_proto(score.credit))
    return message


@dataclasses.dataclass(frozen=True)
class TraceRequest:
    """The header of a trace stream, decoded: what to score against and how.

    Attributes
    ----------
    options : ScoreOptions
        The validated scoring options.
    game_id : str
        The id of a game this server solved recently ("" when the header sends the game).
    game : NormalFormGame or StochasticGame or None
        The game the header sends (None with ``game_id``).
    solve_options : SolveOptions or None
        How to solve ``game`` for its solution set (None with ``game_id``).
    """

    options: ScoreOptions
    game_id: str = ""
    game: NormalFormGame | StochasticGame | None = None
    solve_options: SolveOptions | None = None


def trace_request_from_proto(message: Any, limits: Limits) -> TraceRequest:
    """Decode the first message of a trace stream (``None``: the stream was empty).

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` when the first message is not a header, the header has no
        game, or a field is bad; ``RESOURCE_EXHAUSTED`` past the limits.
    """
    if message is None or message.WhichOneof("part") != "header":
        raise invalid("header", "the first message of a trace stream must be its header")
    header = message.header
    which = header.WhichOneof("game")
    check_length(header.method, limits.max_option_chars, "header.method")
    check_length(header.game_id, limits.max_name_chars, "header.game_id")
    options = score_options_from_proto(header.options, limits=limits)
    if which == "game_id":
        return TraceRequest(options, game_id=header.game_id)
    game: NormalFormGame | StochasticGame
    if which == "normal_form_game":
        game = normal_form_game_from_proto(header.normal_form_game, limits, "header.normal_form_game")
    elif which == "stochastic_game":
        game = stochastic_game_from_proto(header.stochastic_game, limits, "header.stochastic_game")
    else:
        raise invalid("header.game", "the header needs a game: normal_form_game, stochastic_game or game_id")
    tol = check_tolerance(header.tolerance or limits.default_tolerance, "header.tolerance")
    solve_options = SolveOptions(
        concepts=DEFAULT_CONCEPTS,
        method=header.method or "auto",
        tol=tol,
        exact=False,
        max_equilibria=0,
        time_budget=None,
    )
    return TraceRequest(options, game=game, solve_options=solve_options)


@dataclasses.dataclass(frozen=True)
class StreamChunk:
    """One chunk of a trace stream, decoded, and its size on the wire in bytes."""

    chunk: TraceChunk
    size: int


def check_stream_chunk(message: Any, index: int, received_bytes: int, limits: Limits) -> int:
    """Check message ``index`` (from 0) after a stream's header, ``received_bytes`` of chunks
    having come before, against the stream limits; its size on the wire.

    Every chunked stream (``ScoreTrace``, ``MonitorTrace``, ``SamplePayoffs``) obeys them.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` when it is not a chunk; ``RESOURCE_EXHAUSTED`` past the limits
        on chunks per stream, bytes per chunk and bytes per stream.
    """
    if message.WhichOneof("part") != "chunk":
        raise invalid(f"chunk[{index}]", "every message after the header must be a chunk")
    check_count(index + 1, limits.max_trace_chunks, "chunk", "chunks in one stream")
    size = message.ByteSize()
    if size > limits.max_trace_chunk_bytes:
        raise RequestError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"chunk {index} has {size:,} bytes, over the limit of {limits.max_trace_chunk_bytes:,}",
            f"chunk[{index}]",
        )
    check_count(
        received_bytes + size, limits.max_trace_bytes, f"chunk[{index}]", "bytes of chunks in one stream"
    )
    return int(size)


def stream_chunk_from_proto(message: Any, index: int, received_bytes: int, limits: Limits) -> StreamChunk:
    """Decode message ``index`` (from 0) after the header, ``received_bytes`` of chunks having come before.

    Raises
    ------
    RequestError
        ``INVALID_ARGUMENT`` when it is not a chunk or a field is bad;
        ``RESOURCE_EXHAUSTED`` past the limits on chunks per stream, bytes per chunk and
        bytes per stream.
    """
    size = check_stream_chunk(message, index, received_bytes, limits)
    chunk = trace_chunk_from_proto(message.chunk, index, limits.max_payoff_entries, limits.max_players)
    return StreamChunk(chunk, size)


def _solution_fields(result: SolutionSet | MarkovSolutionSet) -> dict[str, Any]:
    if isinstance(result, MarkovSolutionSet):
        return {"markov_solution_set": markov_solution_set_to_proto(result)}
    return {"solution_set": solution_set_to_proto(result)}


def score_trace_response(
    score: TraceScore, result: SolutionSet | MarkovSolutionSet
) -> trace_pb2.ScoreTraceResponse:
    """The ScoreTrace answer: the score and the solution set it was measured against."""
    return trace_pb2.ScoreTraceResponse(score=trace_score_to_proto(score), **_solution_fields(result))


def monitor_trace_response(
    score: TraceScore, result: SolutionSet | MarkovSolutionSet | None = None
) -> trace_pb2.MonitorTraceResponse:
    """One MonitorTrace answer: the running score, with the solution set when ``result`` is given."""
    extra = {} if result is None else _solution_fields(result)
    return trace_pb2.MonitorTraceResponse(score=trace_score_to_proto(score), **extra)


# -- SolveGame, SolveGames and GetServerInfo answers ---------------------------------------------


def request_game_field(request: service_pb2.SolveGameRequest) -> str:
    """The game field a SolveGameRequest sets (``"normal_form_game"`` when none)."""
    return request.WhichOneof("game") or "normal_form_game"


def solve_response(result: SolutionSet | MarkovSolutionSet) -> service_pb2.SolveGameResponse:
    """The SolveGame answer of a solution set (``from_cache`` unset)."""
    if isinstance(result, MarkovSolutionSet):
        return service_pb2.SolveGameResponse(markov_solution_set=markov_solution_set_to_proto(result))
    return service_pb2.SolveGameResponse(solution_set=solution_set_to_proto(result))


def cached_solve_response(answer: bytes) -> service_pb2.SolveGameResponse:
    """A SolveGame answer from its cached serialization, marked ``from_cache``."""
    response = service_pb2.SolveGameResponse.FromString(answer)
    response.from_cache = True
    return response


def batch_item_response(
    index: int, response: service_pb2.SolveGameResponse
) -> service_pb2.SolveGamesResponse:
    """The SolveGames answer of item ``index`` when it was solved."""
    return service_pb2.SolveGamesResponse(index=index, status=_OK, response=response)


def batch_answers(answers: list[service_pb2.SolveGamesResponse]) -> service_pb2.SolveGamesResponse:
    """The SolveGames answer of several items sent packed: their answers, in order."""
    return service_pb2.SolveGamesResponse(answers=answers)


def batch_item_failure(index: int, error: RequestError) -> service_pb2.SolveGamesResponse:
    """The SolveGames answer of item ``index`` when it failed: its status with the error's details."""
    return service_pb2.SolveGamesResponse(index=index, status=status_message(error))


def server_info_response(
    *,
    version: str,
    solver_version: str,
    limits: Limits,
    workers: int,
    worker_memory_bytes: int,
    cache_entries: int,
    cache_bytes: int,
    instance_id: str,
) -> service_pb2.GetServerInfoResponse:
    """The GetServerInfo answer: versions, limits and the solver's methods (normal-form, then stochastic)."""
    budget = duration_pb2.Duration()
    budget.FromNanoseconds(int(limits.max_time_budget * 1e9))
    idle = duration_pb2.Duration()
    idle.FromNanoseconds(int(limits.trace_idle_seconds * 1e9))
    return service_pb2.GetServerInfoResponse(
        version=version,
        solver_version=solver_version,
        limits=service_pb2.ServerLimits(
            max_message_bytes=limits.max_message_bytes,
            max_payoff_entries=limits.max_payoff_entries,
            max_players=limits.max_players,
            max_time_budget=budget,
            workers=workers,
            max_transition_entries=limits.max_transition_entries,
            cache_entries=cache_entries,
            cache_bytes=cache_bytes,
            worker_memory_bytes=worker_memory_bytes,
            max_trace_bytes=limits.max_trace_bytes,
            max_queue=limits.max_queue,
            max_trace_chunk_bytes=limits.max_trace_chunk_bytes,
            max_trace_chunks=limits.max_trace_chunks,
            max_list_entries=limits.max_list_entries,
            max_policy_entries=limits.max_policy_entries,
            max_option_chars=limits.max_option_chars,
            max_name_chars=limits.max_name_chars,
            max_title_chars=limits.max_title_chars,
            max_stream_memory_bytes=limits.max_stream_memory_bytes,
            max_trace_streams=limits.max_trace_streams,
            max_trace_memory_bytes=limits.max_trace_memory_bytes,
            trace_idle_timeout=idle,
        ),
        instance_id=instance_id,
        methods=[
            service_pb2.MethodInfo(
                name=spec.name,
                description=spec.description,
                complete=spec.complete,
                min_players=spec.min_players,
                max_players=spec.max_players,
            )
            for spec in METHODS.values()
        ]
        + [
            service_pb2.MethodInfo(
                name=name,
                description=description,
                complete=False,
                min_players=2,
                max_players=limits.max_players,
            )
            for name, description in STOCHASTIC_METHOD_DESCRIPTIONS.items()
        ],
    )
