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
from equilibria.solver import (
    Component,
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
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2, solution_pb2
from google.protobuf import duration_pb2

__all__ = [
    "SolveOptions",
    "normal_form_game_from_proto",
    "normal_form_game_to_proto",
    "stochastic_game_from_proto",
    "stochastic_game_to_proto",
    "markov_solution_set_to_proto",
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
#: WelfareFunction enum value -> solver welfare function name.
WELFARE_NAMES = {
    solution_pb2.WELFARE_FUNCTION_UTILITARIAN: "utilitarian",
    solution_pb2.WELFARE_FUNCTION_EGALITARIAN: "egalitarian",
    solution_pb2.WELFARE_FUNCTION_NASH_PRODUCT: "nash_product",
}
_WELFARE_VALUES = {name: value for value, name in WELFARE_NAMES.items()}
#: SelectionCriterion enum value -> solver criterion name.
SELECTION_NAMES = {
    solution_pb2.SELECTION_CRITERION_PAYOFF_DOMINANCE: "payoff_dominance",
    solution_pb2.SELECTION_CRITERION_RISK_DOMINANCE: "risk_dominance",
    solution_pb2.SELECTION_CRITERION_LOGIT_LIMIT: "logit_limit",
}
_SELECTION_VALUES = {name: value for value, name in SELECTION_NAMES.items()}
#: StageSelection enum value -> solver stage-selection criterion name.
STAGE_SELECTION_NAMES = {
    solution_pb2.STAGE_SELECTION_UTILITARIAN: "utilitarian",
    solution_pb2.STAGE_SELECTION_EGALITARIAN: "egalitarian",
    solution_pb2.STAGE_SELECTION_NASH_PRODUCT: "nash_product",
    solution_pb2.STAGE_SELECTION_PAYOFF_DOMINANCE: "payoff_dominance",
    solution_pb2.STAGE_SELECTION_RISK_DOMINANCE: "risk_dominance",
}
_STAGE_SELECTION_VALUES = {name: value for value, name in STAGE_SELECTION_NAMES.items()}


@dataclasses.dataclass(frozen=True)
class SolveOptions:
    """The solver options of a SolveGame request, validated."""

    concepts: tuple[str, ...]
    method: str
    tol: float
    exact: bool
    max_equilibria: int
    time_budget: float | None  # seconds, None: no request budget
    welfare: tuple[str, ...] = ("utilitarian",)
    disagreement: tuple[float, ...] | None = None
    selection: tuple[str, ...] = ()
    stage_selection: tuple[str, ...] = ("utilitarian",)
    priors: int = 0  # 0: the solver default
    seed: int = 0


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


def _check_names(player_names: object, action_names: object, limits: Limits, field: str) -> None:
    check_count(len(player_names), limits.max_players, f"{field}.player_names")  # type: ignore[arg-type]
    check_count(len(action_names), limits.max_players, f"{field}.action_names")  # type: ignore[arg-type]
    for i, names in enumerate(action_names):  # type: ignore[attr-defined]
        check_count(len(names.names), limits.max_payoff_entries, f"{field}.action_names[{i}].names")


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
    _check_names(message.player_names, message.action_names, limits, field)
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
    _check_names(message.player_names, [], limits, field)
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
    concepts = _enum_names(request.concepts, CONCEPT_NAMES, "concepts", "solution concept")
    welfare = _enum_names(request.welfare_functions, WELFARE_NAMES, "welfare_functions", "welfare function")
    selection = _enum_names(
        request.selection_criteria, SELECTION_NAMES, "selection_criteria", "selection criterion"
    )
    stage_selection = _enum_names(
        request.stage_selection, STAGE_SELECTION_NAMES, "stage_selection", "stage-selection criterion"
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
        concepts=tuple(concepts) or ("nash",),
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
    )
    return game, options


def _enum_names(values: object, names: dict[int, str], field: str, what: str) -> tuple[str, ...]:
    """Solver names of repeated enum values; unknown or unspecified values name their index."""
    result = []
    for k, value in enumerate(values):  # type: ignore[arg-type]
        if value not in names:
            raise invalid(f"{field}[{k}]", f"unknown or unspecified {what} {value}")
        result.append(names[value])
    return tuple(result)


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
        concepts=[_CONCEPT_VALUES[c] for c in result.concepts],
        exact=result.exact,
        pareto_indices=result.pareto_indices,
        welfare_optima=[welfare_optimum_to_proto(w) for w in result.welfare_optima],
        correlated_equilibria=[correlated_to_proto(c) for c in result.correlated_equilibria],
        welfare_ranges=[welfare_range_to_proto(r) for r in result.welfare_ranges],
        zero_sum=zero_sum_to_proto(result.zero_sum) if result.zero_sum is not None else None,
        selections=[selection_to_proto(sel) for sel in result.selections],
    )


def welfare_optimum_to_proto(optimum: WelfareOptimum) -> solution_pb2.WelfareOptimum:
    """Encode the welfare optimum of one function."""
    return solution_pb2.WelfareOptimum(
        function=_WELFARE_VALUES[optimum.function],
        value=optimum.value,
        equilibrium_indices=optimum.equilibrium_indices,
        method=optimum.method,
        certified=optimum.certified,
        disagreement_point=[] if optimum.disagreement is None else optimum.disagreement.tolist(),
    )


def correlated_to_proto(ce: CorrelatedEquilibrium) -> solution_pb2.CorrelatedEquilibrium:
    """Encode a (coarse) correlated equilibrium."""
    return solution_pb2.CorrelatedEquilibrium(
        kind=_CONCEPT_VALUES[ce.kind],
        distribution=encode_tensor(ce.distribution),
        payoffs=ce.payoffs.tolist(),
        objective=_WELFARE_VALUES[ce.objective],
        maximized=ce.sense == "max",
        welfare=ce.welfare,
        max_violation=ce.max_violation,
    )


def welfare_range_to_proto(welfare_range: WelfareRange) -> solution_pb2.WelfareRange:
    """Encode a (C)CE welfare range."""
    return solution_pb2.WelfareRange(
        kind=_CONCEPT_VALUES[welfare_range.kind],
        objective=_WELFARE_VALUES[welfare_range.objective],
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
        criterion=_SELECTION_VALUES[selection.criterion], decided=selection.decided, reason=selection.reason
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
        criterion=_STAGE_SELECTION_VALUES[selection.criterion],
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
        concepts=[_CONCEPT_VALUES[c] for c in result.concepts],
        pareto_indices=result.pareto_indices,
        welfare_optima=[welfare_optimum_to_proto(w) for w in result.welfare_optima],
        zero_sum=markov_zero_sum_to_proto(result.zero_sum) if result.zero_sum is not None else None,
        stage_selections=[stage_selection_to_proto(sel) for sel in result.selections],
    )
