"""Client-side conversion: the only client module that reads or builds ``equilibria.v1`` messages.

User inputs become request messages (games, solve options, trace headers and chunks, the
items of a ``SolveGames`` stream); responses become the client's dataclasses. Tensors and
enum names go through the shared wire codec, :mod:`equilibria.v1.codec`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from equilibria.client._batch import BatchItem
from equilibria.client._convert_evaluation import (
    alpha_rank_from_proto,
    alpha_rank_options_to_proto,
    credit_from_proto,
    credit_options_to_proto,
    dynamics_from_proto,
    dynamics_options_to_proto,
    ess_from_proto,
    ess_options_to_proto,
    max_entropy_from_proto,
    noise_from_proto,
    noise_options_to_proto,
    stochastic_credit_from_proto,
)
from equilibria.client._errors import InvalidArgumentError, InvalidGameError, ServerError, error_from_status
from equilibria.client._evaluation import (
    AlphaRankOptions,
    CreditOptions,
    DynamicsOptions,
    EssOptions,
    NoiseOptions,
)
from equilibria.client._trace import CreditCurves, CriterionScore, TraceScore
from equilibria.client._types import (
    Component,
    ConceptStatus,
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
    StochasticGame,
    WelfareOptimum,
    WelfareRange,
    ZeroSumSolution,
)
from equilibria.client._typing import FloatArray
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2, solution_pb2, trace_pb2
from equilibria.v1.codec import (
    CONCEPT_ANSWERS,
    CONCEPTS,
    SCORE_OPTIONS,
    SELECTION_CRITERIA,
    STAGE_SELECTION,
    VERDICTS,
    WELFARE_FUNCTIONS,
    EnumNames,
    decode_tensor,
    encode_tensor,
)
from google.protobuf import duration_pb2

__all__ = [
    "CHUNK_BYTES",
    "SCORE_OPTIONS",
    "BatchPlan",
    "batch_item_from_proto",
    "batch_items_from_proto",
    "batch_requests",
    "game_to_proto",
    "markov_solution_set_from_proto",
    "markov_solution_set_from_response",
    "name_list",
    "player_names",
    "response_solution",
    "response_score",
    "score_options",
    "server_info_from_proto",
    "server_info_request",
    "solution_set_from_proto",
    "solution_set_from_response",
    "solve_request",
    "stochastic_game_to_proto",
    "stochastic_solve_request",
    "trace_chunk_requests",
    "trace_chunks",
    "trace_header",
    "trace_score_from_proto",
]

#: Largest chunk message the server accepts.
CHUNK_BYTES = 1 << 20
#: Room left in a chunk for tensor shapes and message framing (any value at least theirs).
_MIN_FRAMING_BYTES = 4096


def name_list(value: Any, argument: str, function: str, field: str = "") -> tuple[str, ...]:
    """The names a caller gave for a list-of-names argument: one string is one name.

    ``concepts="nash"`` is ``("nash",)``, not five one-letter names; None is no names.

    Raises
    ------
    InvalidArgumentError
        When ``value`` is neither a string nor an iterable, naming ``argument`` (and the
        request ``field`` it fills, default the argument's name).

    Examples
    --------
    >>> name_list("nash", "concepts", "solve()"), name_list(["nash", "pure_nash"], "concepts", "solve()")
    (('nash',), ('nash', 'pure_nash'))
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(str(name) for name in value)
    except TypeError:
        message = f"{function}: {argument} must be a name or a list of names, got {value!r}"
        raise InvalidArgumentError(message, "INVALID_ARGUMENT", ((field or argument, message),)) from None


def _enum_values(
    value: Any, table: EnumNames, what: str, argument: str, field: str, function: str
) -> list[int]:
    """Wire values of the names given for ``argument``; an unknown name lists the known ones.

    ``field`` is the request field the values go to (``welfare_functions`` for the
    ``welfare`` argument), named in the error's field violation with the name's index.
    """
    values = []
    for k, name in enumerate(name_list(value, argument, function, field)):
        key = name.strip().lower()
        if key not in table.values:
            message = (
                f"{function}: unknown {what} {name!r} in {argument}; expected one of {', '.join(table.names)}"
            )
            raise InvalidArgumentError(message, "INVALID_ARGUMENT", ((f"{field}[{k}]", message),))
        values.append(table.values[key])
    return values


# -- normal-form games: payoffs read with the solver's checks, naming the entry at fault --------------


class _Unreadable(Exception):
    """Payoffs that are no numeric array; the message names the entry at fault."""


def _describe(shape: tuple[int, ...]) -> str:
    if not shape:
        return "is a number"
    if len(shape) == 1:
        return f"is a list of {shape[0]}"
    return f"has shape {shape}"


def _nested_shape(value: Any, path: str) -> tuple[int, ...]:
    """The shape of nested lists of numbers; raises :class:`_Unreadable` at the first entry that breaks it."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = list(value)
    if isinstance(value, list | tuple):
        try:
            return np.asarray(value, dtype=np.float64).shape  # well formed (numpy reads it at C speed)
        except (TypeError, ValueError):
            pass
        shapes = [_nested_shape(item, f"{path}[{k}]") for k, item in enumerate(value)]
        for k, shape in enumerate(shapes):
            if shape == shapes[0]:
                continue
            if len(shape) == len(shapes[0]) == 1:
                entries = "entry" if shape[0] == 1 else "entries"
                raise _Unreadable(f"{path}: row {k} has {shape[0]} {entries}, row 0 has {shapes[0][0]}")
            raise _Unreadable(f"{path}[{k}] {_describe(shape)}, {path}[0] {_describe(shapes[0])}")
        return (len(shapes), *shapes[0])  # not empty: numpy reads []
    if hasattr(value, "__array__") and not isinstance(value, str | bytes):
        return tuple(np.shape(value))
    try:
        float(value)
    except (TypeError, ValueError):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise _Unreadable(f"{path} is {shown}, not a number") from None
    return ()


def _payoff_array(value: Any, name: str) -> FloatArray:
    """``value`` as a float64 array, or :class:`_Unreadable` naming the entry at fault (``name[1][2]``).

    ``None`` (a field not given) is refused as missing, not sent as the array ``nan``.
    """
    if value is None:
        raise _Unreadable(f"{name} is missing")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        try:
            _nested_shape(value, name)
        except _Unreadable as fault:
            raise fault from None
        raise _Unreadable(f"{name} is not a numeric array ({exc})") from None


def _depth(value: Any) -> int:
    """How many levels of lists ``value`` nests (following first entries), or its ``ndim``."""
    if isinstance(value, list | tuple):
        return 1 + (_depth(value[0]) if value else 0)
    return int(np.ndim(value))


def _payoff_tensor(game: Any) -> FloatArray:
    """The payoff tensor of a pair ``(A, B)``, a matrix ``A`` (zero-sum) or a tensor; :class:`_Unreadable` if none.

    A pair is a 2-sequence of which a member nests two levels (a matrix): its members
    are read as ``A`` and ``B``, which must have one shape. Two 2-D members make the
    bimatrix game; members of one shape that are not matrices are read as a whole, a
    tensor for the server to check.
    """
    if isinstance(game, tuple | list) and len(game) == 2 and max(_depth(m) for m in game) >= 2:
        a, b = _payoff_array(game[0], "A"), _payoff_array(game[1], "B")
        if a.shape != b.shape:
            raise _Unreadable(f"B: shape {b.shape} differs from A's {a.shape}; a pair (A, B) needs one shape")
        return np.stack([a, b])
    payoffs = _payoff_array(game, "payoffs")
    if payoffs.ndim == 2:
        payoffs = np.stack([payoffs, -payoffs])
    return payoffs


def _game_error(function: str, field: str, detail: str) -> InvalidGameError:
    """A client-side ``InvalidGameError`` naming ``field`` (a request path such as ``normal_form_game.payoffs``)."""
    return InvalidGameError(f"{function}: {detail}", "INVALID_ARGUMENT", ((field, detail),))


def game_to_proto(
    game: Any, *, function: str = "solve()", field: str = "normal_form_game"
) -> game_pb2.NormalFormGame:
    """A NormalFormGame message from what a user holds.

    Accepted: an object with a ``payoffs`` attribute (e.g. the solver's
    ``NormalFormGame``; its ``title``, ``player_names`` and ``action_names`` are kept);
    a dict with ``payoffs`` (any form below) and optionally those names and
    ``standard_errors`` (of an empirical game whose payoffs are sample means); a pair
    ``(A, B)`` of equally shaped 2-D matrices (row and column player); a 2-D matrix
    ``A`` (the zero-sum game ``(A, -A)``); or a payoff tensor of shape
    ``(n_players, a_1, ..., a_n)``. Payoffs that are no numeric array are refused here;
    the shape and values of a numeric tensor are the server's to check (the solver's
    own checks, naming ``normal_form_game.payoffs``).

    Parameters
    ----------
    game : object, dict, pair, matrix or tensor
    function : str
        The caller named in error messages (``"solve()"``, ``"score_trace()"``).
    field : str
        Request path of the game message, named in the error's field violation.

    Raises
    ------
    InvalidGameError
        For ragged lists, a non-number entry, a pair whose matrices differ in shape, or
        a dict without ``payoffs``: the message names the entry (``payoffs[1]: row 2
        has 3 entries, row 0 has 2``, ``B: shape (2, 3) differs from A's (2, 2)``).

    Examples
    --------
    >>> tuple(game_to_proto(([[4, 0], [3, 3]], [[4, 3], [0, 3]])).payoffs.shape)
    (2, 2, 2)
    >>> game_to_proto(([[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6]]))
    Traceback (most recent call last):
    ...
    equilibria.client._errors.InvalidGameError: solve(): B: shape (2, 3) differs from A's (2, 2); a pair (A, B) needs one shape
    """
    names: Any = None
    try:
        if isinstance(game, Mapping):
            if "payoffs" not in game:
                raise _Unreadable(
                    f"a dict game needs 'payoffs' (normal form) or 'rewards', 'transitions', 'discount' "
                    f"(stochastic); got keys {sorted(map(str, game))}"
                )
            names, payoffs = game, _payoff_tensor(game["payoffs"])
        elif hasattr(game, "payoffs"):
            names, payoffs = game, _payoff_array(game.payoffs, "payoffs")
        else:
            payoffs = _payoff_tensor(game)
    except _Unreadable as fault:
        raise _game_error(function, f"{field}.payoffs", str(fault)) from None
    message = game_pb2.NormalFormGame(payoffs=encode_tensor(payoffs))
    if names is not None:
        errors = _game_field(names, "standard_errors")
        if errors is not None:  # an empirical game's sample means: their standard errors
            try:
                message.standard_errors.CopyFrom(encode_tensor(_payoff_array(errors, "standard_errors")))
            except _Unreadable as fault:
                raise _game_error(function, f"{field}.standard_errors", str(fault)) from None
        message.title = str(_game_field(names, "title", "") or "")
        message.player_names.extend(str(p) for p in _game_field(names, "player_names", ()) or ())
        message.action_names.extend(
            game_pb2.ActionNames(names=[str(a) for a in actions])
            for actions in _game_field(names, "action_names", ()) or ()
        )
    return message


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
    function: str = "solve_stochastic()",
) -> game_pb2.StochasticGame:
    """A StochasticGame message from arrays, or from an object with ``rewards`` and ``transitions``.

    ``transitions`` may be a dense ``(S, a_1, ..., a_n, S)`` array, a sparse matrix of
    shape ``(S * A, S)`` (anything with ``tocoo()``, e.g. ``scipy.sparse``: sent in
    coordinate form without densifying), or a triple ``(rows, next_states,
    probabilities)`` in that row layout. ``rewards`` may also be a whole game: a
    :class:`StochasticGame`, a dict of its fields or an object with ``rewards`` and
    ``transitions`` (e.g. the solver's ``StochasticGame``); missing optional fields take
    their defaults. Validation is the server's job (or :class:`StochasticGame`'s), except
    for rewards and dense transitions that are no numeric array: an ``InvalidGameError``
    names the entry (``rewards[1]: row 0 has 3 entries, ...``); ``function`` is the caller
    it names.
    """
    if _is_stochastic_input(rewards):
        game = rewards
        initial = _game_field(game, "initial_distribution")
        return stochastic_game_to_proto(
            _game_field(game, "rewards"),
            _game_field(game, "transitions"),
            discount=_game_field(game, "discount", 0.0),
            horizon=_game_field(game, "horizon"),
            initial_distribution=None
            if initial is None
            else list(np.asarray(initial, dtype=np.float64).ravel()),
            action_counts=_game_field(game, "action_counts"),
            title=str(_game_field(game, "title", "") or ""),
            player_names=tuple(_game_field(game, "player_names", ()) or ()),
            function=function,
        )
    message = game_pb2.StochasticGame(
        rewards=encode_tensor(_stochastic_array(rewards, "rewards", function)),
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
        message.transition_tensor.CopyFrom(
            encode_tensor(_stochastic_array(transitions, "transitions", function))
        )
    return message


def _stochastic_array(value: Any, name: str, function: str) -> FloatArray:
    """Field ``name`` of a stochastic game as a float64 array, or an ``InvalidGameError`` naming the entry."""
    try:
        return _payoff_array(value, name)
    except _Unreadable as fault:
        raise _game_error(function, f"stochastic_game.{name}", str(fault)) from None


def solve_request(
    game: Any,
    *,
    concepts: Iterable[str] | str,
    method: str,
    tolerance: float,
    exact: bool,
    max_equilibria: int,
    time_budget: float | None,
    welfare: Iterable[str] | str = (),
    disagreement: Sequence[float] | None = None,
    selection: Iterable[str] | str = (),
    stage_selection: Iterable[str] | str = (),
    priors: int = 0,
    seed: int = 0,
    alpha_rank: AlphaRankOptions | None = None,
    dynamics: DynamicsOptions | None = None,
    ess: EssOptions | None = None,
    credit: CreditOptions | None = None,
    noise: NoiseOptions | None = None,
    function: str = "solve()",
) -> service_pb2.SolveGameRequest:
    """Build a SolveGameRequest, its names and game checked on the client.

    ``game`` is a NormalFormGame or StochasticGame message, or anything
    :func:`game_to_proto` accepts. Each list of names may be one string (one name).
    ``function`` is the caller named in error messages.

    Raises
    ------
    InvalidArgumentError
        For an unknown concept, welfare function or criterion name: the message names
        the argument and lists the valid names; for ``alpha_rank``, ``dynamics`` or ``ess``
        options of the wrong kind.
    InvalidGameError
        For payoffs that are no numeric array (see :func:`game_to_proto`).
    """
    request = service_pb2.SolveGameRequest(
        concepts=_enum_values(concepts, CONCEPTS, "concept", "concepts", "concepts", function),
        method=method,
        tolerance=tolerance,
        exact=exact,
        max_equilibria=max_equilibria,
        welfare_functions=_enum_values(
            welfare, WELFARE_FUNCTIONS, "welfare function", "welfare", "welfare_functions", function
        ),
        disagreement_point=[] if disagreement is None else [float(v) for v in disagreement],
        selection_criteria=_enum_values(
            selection, SELECTION_CRITERIA, "selection criterion", "selection", "selection_criteria", function
        ),
        stage_selection=_enum_values(
            stage_selection,
            STAGE_SELECTION,
            "stage-selection criterion",
            "stage_selection",
            "stage_selection",
            function,
        ),
        homotopy_priors=priors,
        seed=seed,
    )
    if alpha_rank is not None:
        request.alpha_rank.CopyFrom(alpha_rank_options_to_proto(alpha_rank, function))
    if dynamics is not None:
        request.dynamics.CopyFrom(dynamics_options_to_proto(dynamics, function))
    if ess is not None:
        request.ess.CopyFrom(ess_options_to_proto(ess, function))
    if credit is not None:
        request.credit_assignment.CopyFrom(credit_options_to_proto(credit, function))
    if noise is not None:
        request.noise.CopyFrom(noise_options_to_proto(noise, function))
    if isinstance(game, game_pb2.StochasticGame):
        request.stochastic_game.CopyFrom(game)
    elif isinstance(game, game_pb2.NormalFormGame):
        request.normal_form_game.CopyFrom(game)
    else:
        request.normal_form_game.CopyFrom(game_to_proto(game, function=function))
    if time_budget is not None:
        request.time_budget.FromNanoseconds(int(time_budget * 1e9))
    return request


def player_names(request: Any) -> tuple[str, ...]:
    """The player names of the game a request carries (a solve request or a trace header); () if none."""
    which = request.WhichOneof("game")
    if which in ("normal_form_game", "stochastic_game"):
        return tuple(getattr(request, which).player_names)
    return ()


def _seconds(duration: duration_pb2.Duration) -> float:
    """A wire duration in seconds, to the nanosecond (``ToTimedelta`` keeps microseconds)."""
    return duration.seconds + duration.nanos * 1e-9


def _floats(values: Sequence[float]) -> FloatArray:
    """A repeated double field as an array (``np.fromiter``: a quarter of ``np.array``'s time on a
    protobuf container, which numpy reads item by item)."""
    return np.fromiter(values, np.float64, len(values))


def _fractions(values: Sequence[str]) -> tuple[Fraction, ...]:
    return tuple(Fraction(v) for v in values)


def _equilibrium(message: solution_pb2.Equilibrium) -> Equilibrium:
    exact = message.strategies and all(s.exact_probabilities for s in message.strategies)
    return Equilibrium(
        strategies=tuple(_floats(s.probabilities) for s in message.strategies),
        payoffs=_floats(message.payoffs),
        regrets=_floats(message.regrets),
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
            np.array([s.probabilities[:] for s in player.strategies], dtype=np.float64)
            for player in message.player_vertices
        ),
    )


def solution_set_from_proto(message: solution_pb2.SolutionSet, names: Sequence[str] = ()) -> SolutionSet:
    """The client's SolutionSet from the wire message; ``names``: the players' (not on the wire)."""
    return SolutionSet(
        game_id=message.game_id,
        equilibria=tuple(_equilibrium(e) for e in message.equilibria),
        components=tuple(_component(c) for c in message.components),
        complete=message.complete,
        method=message.method,
        method_reason=message.method_reason,
        warnings=tuple(message.warnings),
        tolerance=message.tolerance,
        concepts=tuple(CONCEPTS.by_value[c] for c in message.concepts if c in CONCEPTS.by_value),
        exact=message.exact,
        solve_seconds=_seconds(message.solve_duration),
        pareto_indices=tuple(message.pareto_indices),
        welfare_optima=_welfare_optima(message.welfare_optima),
        correlated_equilibria=tuple(_correlated(c) for c in message.correlated_equilibria),
        welfare_ranges=tuple(
            WelfareRange(
                kind=CONCEPTS.by_value.get(r.kind, ""),
                objective=WELFARE_FUNCTIONS.by_value.get(r.objective, ""),
                minimum=_correlated(r.minimum),
                maximum=_correlated(r.maximum),
            )
            for r in message.welfare_ranges
        ),
        zero_sum=_zero_sum(message.zero_sum) if message.HasField("zero_sum") else None,
        selections=tuple(
            Selection(
                criterion=SELECTION_CRITERIA.by_value.get(sel.criterion, ""),
                decided=sel.decided,
                equilibrium_index=sel.equilibrium_index if sel.HasField("equilibrium_index") else None,
                reason=sel.reason,
            )
            for sel in message.selections
        ),
        alpha_rank=alpha_rank_from_proto(message.alpha_rank) if message.HasField("alpha_rank") else None,
        max_entropy_equilibria=tuple(max_entropy_from_proto(m) for m in message.max_entropy_equilibria),
        dynamics=dynamics_from_proto(message.dynamics) if message.HasField("dynamics") else None,
        ess=ess_from_proto(message.ess) if message.HasField("ess") else None,
        credit_assignment=credit_from_proto(message.credit_assignment)
        if message.HasField("credit_assignment")
        else None,
        noise=noise_from_proto(message.noise) if message.HasField("noise") else None,
        concept_status=_concept_status(message.concept_status),
        player_names=tuple(names),
    )


def _concept_status(messages: Iterable[solution_pb2.ConceptStatus]) -> tuple[ConceptStatus, ...]:
    return tuple(
        ConceptStatus(
            concept=CONCEPTS.by_value.get(c.concept, ""),
            status=CONCEPT_ANSWERS.by_value.get(c.answer, ""),
            reason=c.reason,
        )
        for c in messages
    )


def _welfare_optima(messages: Iterable[solution_pb2.WelfareOptimum]) -> tuple[WelfareOptimum, ...]:
    return tuple(
        WelfareOptimum(
            function=WELFARE_FUNCTIONS.by_value.get(w.function, ""),
            value=w.value,
            equilibrium_indices=tuple(w.equilibrium_indices),
            method=w.method,
            certified=w.certified,
            disagreement=np.array(w.disagreement_point) if w.disagreement_point else None,
        )
        for w in messages
    )


def markov_solution_set_from_proto(
    message: solution_pb2.MarkovSolutionSet, names: Sequence[str] = ()
) -> MarkovSolutionSet:
    """The client's MarkovSolutionSet from the wire message; ``names``: the players' (not on the wire)."""
    zero_sum = None
    if message.HasField("zero_sum"):
        zs = message.zero_sum
        zero_sum = MarkovZeroSum(
            values=_floats(zs.values),
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
                payoffs=_floats(eq.payoffs),
                regrets=_floats(eq.regrets),
                nash_conv=eq.nash_conv,
                state_gaps=_floats(eq.state_gaps),
                found_by=tuple(eq.found_by),
            )
            for eq in message.equilibria
        ),
        complete=message.complete,
        method=message.method,
        method_reason=message.method_reason,
        warnings=tuple(message.warnings),
        tolerance=message.tolerance,
        concepts=tuple(CONCEPTS.by_value[c] for c in message.concepts if c in CONCEPTS.by_value),
        solve_seconds=_seconds(message.solve_duration),
        pareto_indices=tuple(message.pareto_indices),
        welfare_optima=_welfare_optima(message.welfare_optima),
        zero_sum=zero_sum,
        stage_selections=tuple(
            Selection(
                criterion=STAGE_SELECTION.by_value.get(sel.criterion, ""),
                decided=sel.decided,
                equilibrium_index=sel.equilibrium_index if sel.HasField("equilibrium_index") else None,
                reason=sel.reason,
            )
            for sel in message.stage_selections
        ),
        concept_status=_concept_status(message.concept_status),
        credit_assignment=stochastic_credit_from_proto(message.credit_assignment)
        if message.HasField("credit_assignment")
        else None,
        player_names=tuple(names),
    )


def _correlated(message: solution_pb2.CorrelatedEquilibrium) -> CorrelatedEquilibrium:
    return CorrelatedEquilibrium(
        kind=CONCEPTS.by_value.get(message.kind, ""),
        distribution=decode_tensor(message.distribution),
        payoffs=_floats(message.payoffs),
        objective=WELFARE_FUNCTIONS.by_value.get(message.objective, ""),
        maximized=message.maximized,
        welfare=message.welfare,
        max_violation=message.max_violation,
    )


def _zero_sum(message: solution_pb2.ZeroSumSolution) -> ZeroSumSolution:
    return ZeroSumSolution(
        value=message.value,
        constant=message.constant,
        strategies=tuple(_floats(s.probabilities) for s in message.strategies),
        nash_conv=message.nash_conv,
        optimal_vertices=tuple(
            np.array([s.probabilities[:] for s in side.strategies], dtype=np.float64)
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
            max_time_budget=_seconds(limits.max_time_budget),
            workers=limits.workers,
            max_transition_entries=limits.max_transition_entries,
            cache_entries=limits.cache_entries,
            cache_bytes=limits.cache_bytes,
            worker_memory_bytes=limits.worker_memory_bytes,
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
            trace_idle_seconds=_seconds(limits.trace_idle_timeout),
        ),
        methods=tuple(
            MethodInfo(m.name, m.description, m.complete, m.min_players, m.max_players)
            for m in message.methods
        ),
        instance_id=message.instance_id,
    )


def server_info_request() -> service_pb2.GetServerInfoRequest:
    """The (empty) GetServerInfo request."""
    return service_pb2.GetServerInfoRequest()


def stochastic_solve_request(arguments: dict[str, Any]) -> service_pb2.SolveGameRequest:
    """The SolveGameRequest of a ``solve_stochastic`` call, from its arguments."""
    game = stochastic_game_to_proto(
        arguments["game"],
        arguments["transitions"],
        discount=arguments["discount"],
        horizon=arguments["horizon"],
        initial_distribution=arguments["initial_distribution"],
        action_counts=arguments["action_counts"],
        function="solve_stochastic()",
    )
    return solve_request(
        game,
        concepts=arguments["concepts"],
        method=arguments["method"],
        tolerance=arguments["tolerance"],
        exact=False,
        max_equilibria=arguments["max_equilibria"],
        time_budget=arguments["time_budget"],
        welfare=arguments["welfare"],
        disagreement=arguments["disagreement"],
        stage_selection=arguments["stage_selection"],
        priors=arguments["priors"],
        seed=arguments["seed"],
        credit=arguments["credit"],
        function="solve_stochastic()",
    )


def solution_set_from_response(
    response: service_pb2.SolveGameResponse, names: Sequence[str] = ()
) -> SolutionSet:
    """The SolutionSet a SolveGame answer carries (a normal-form game's); ``names``: the players'."""
    return solution_set_from_proto(response.solution_set, names)


def markov_solution_set_from_response(
    response: service_pb2.SolveGameResponse, names: Sequence[str] = ()
) -> MarkovSolutionSet:
    """The MarkovSolutionSet a SolveGame answer carries (a stochastic game's); ``names``: the players'."""
    return markov_solution_set_from_proto(response.markov_solution_set, names)


# -- batches: the items of a SolveGames stream ----------------------------------------------------


@dataclasses.dataclass
class BatchPlan:
    """What the sending side of a ``SolveGames`` stream tells the reading side, per game index.

    The requests are built lazily (by gRPC's sending thread for the blocking client);
    game ``k`` is always converted before the answer to game ``k`` arrives.

    Attributes
    ----------
    refused : dict of int to InvalidGameError
        Games the client could not convert (payoffs that are no numeric array). Each is
        sent as a request without a game, so that the server's item indices stay the
        games' indices; its answer is replaced by this error.
    player_names : dict of int to tuple of str
        The player names of the games that name them.
    """

    refused: dict[int, InvalidGameError] = dataclasses.field(default_factory=dict)
    player_names: dict[int, tuple[str, ...]] = dataclasses.field(default_factory=dict)


#: Most games one packed ``SolveGamesRequest`` carries (see :func:`batch_requests`).
PACK_GAMES = 64
#: Most request bytes one packed ``SolveGamesRequest`` carries (a larger game goes alone).
PACK_BYTES = 1 << 16


def batch_requests(
    games: Iterable[Any], options: dict[str, Any], plan: BatchPlan | None = None, *, pack: bool = False
) -> Iterator[service_pb2.SolveGamesRequest]:
    """The ``SolveGamesRequest`` messages of ``games``, built lazily with :func:`solve_request`.

    ``games`` holds anything :meth:`Client.solve` accepts, stochastic games (objects with
    ``rewards`` and ``transitions``, e.g. the solver's ``StochasticGame``) and game
    messages. ``options`` are the keyword arguments of :func:`solve_request`; unknown
    names raise ``InvalidArgumentError`` before the first game is converted. A game the
    client cannot convert does not end the stream: it is recorded in ``plan`` (see
    :class:`BatchPlan`) and :func:`batch_items_from_proto` reports it as that item's error.

    One game per message (``request``), or with ``pack`` up to :data:`PACK_GAMES`
    consecutive games of up to :data:`PACK_BYTES` together in ``requests``: the stream's
    cost per message exceeds the solve of a small game. Packing reads that many games
    ahead, so it suits games that are all at hand (a list), not a slow generator.
    """
    options = {**options, "function": "solve_many()"}
    solve_request(game_pb2.NormalFormGame(), **options)  # validates the option names up front
    requests = _requests(games, options, BatchPlan() if plan is None else plan)
    if not pack:
        return (service_pb2.SolveGamesRequest(request=request) for request in requests)
    return _packed(requests)


def _packed(requests: Iterator[service_pb2.SolveGameRequest]) -> Iterator[service_pb2.SolveGamesRequest]:
    """Consecutive requests together, up to :data:`PACK_GAMES` and :data:`PACK_BYTES` a message."""
    group: list[service_pb2.SolveGameRequest] = []
    size = 0
    for request in requests:
        request_size = request.ByteSize()
        if group and (len(group) == PACK_GAMES or size + request_size > PACK_BYTES):
            yield service_pb2.SolveGamesRequest(requests=group)
            group, size = [], 0
        group.append(request)
        size += request_size
    if group:
        yield service_pb2.SolveGamesRequest(requests=group)


def _batch_error(exc: InvalidGameError, index: int) -> InvalidGameError:
    """``exc`` as the error of item ``index``: ``games[index]`` in the message, ``requests[index].`` in the fields."""
    message = exc.message.replace("solve_many(): ", f"solve_many(): games[{index}]: ", 1)
    violations = tuple((f"requests[{index}].{field}", text) for field, text in exc.field_violations)
    return InvalidGameError(message, exc.code, violations)


def _requests(
    games: Iterable[Any], options: dict[str, Any], plan: BatchPlan
) -> Iterator[service_pb2.SolveGameRequest]:
    for index, game in enumerate(games):
        try:
            if _is_stochastic_input(game):
                message = (
                    game
                    if isinstance(game, game_pb2.StochasticGame)
                    else stochastic_game_to_proto(game, function="solve_many()")
                )
                request = solve_request(message, **{**options, "exact": False})
            else:
                request = solve_request(game, **options)
        except InvalidGameError as exc:
            plan.refused[index] = _batch_error(exc, index)
            request = service_pb2.SolveGameRequest()  # no game: refused at once, its answer replaced
        names = player_names(request)
        if names:
            plan.player_names[index] = names
        yield request


def batch_items_from_proto(
    message: service_pb2.SolveGamesResponse, expected_index: int, plan: BatchPlan | None = None
) -> list[BatchItem]:
    """The client's BatchItems from one response of the stream: its ``answers`` when it packs
    several, itself otherwise (see :func:`batch_item_from_proto`)."""
    answers = message.answers if len(message.answers) else (message,)
    return [batch_item_from_proto(answer, expected_index + k, plan) for k, answer in enumerate(answers)]


def batch_item_from_proto(
    message: service_pb2.SolveGamesResponse, expected_index: int, plan: BatchPlan | None = None
) -> BatchItem:
    """The client's BatchItem from one response of the stream (``plan``: see :func:`batch_requests`).

    Raises
    ------
    ServerError
        If the server answered out of order (a broken server, never expected).
    """
    if message.index != expected_index:
        raise ServerError(
            f"SolveGames answered item {message.index} where item {expected_index} was due", "INTERNAL"
        )
    plan = plan or BatchPlan()
    if message.index in plan.refused:
        return BatchItem(message.index, None, plan.refused.pop(message.index))
    if message.status.code != 0:
        return BatchItem(message.index, None, error_from_status(message.status))
    response = message.response
    names = plan.player_names.pop(message.index, ())
    if response.WhichOneof("result") == "markov_solution_set":
        return BatchItem(message.index, markov_solution_set_from_proto(response.markov_solution_set, names))
    return BatchItem(message.index, solution_set_from_proto(response.solution_set, names))


# -- trace streams: a header, then chunks of at most 1 MiB; scores back ------------------------------


def _ref(message: trace_pb2.SolutionRef, present: bool) -> tuple[str, int] | None:
    return (message.kind, message.index) if present else None


def response_solution(response: Any, names: Sequence[str] = ()) -> SolutionSet | MarkovSolutionSet | None:
    """The solution set a ScoreTrace or MonitorTrace answer carries, if any; ``names``: the players'."""
    which = response.WhichOneof("solution")
    if which == "solution_set":
        return solution_set_from_proto(response.solution_set, names)
    if which == "markov_solution_set":
        return markov_solution_set_from_proto(response.markov_solution_set, names)
    return None


def response_score(response: Any, solution_set: Any = None) -> TraceScore:
    """The TraceScore of a ScoreTrace or MonitorTrace answer, measured against ``solution_set``."""
    return trace_score_from_proto(response.score, solution_set)


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
                verdict=VERDICTS.by_value.get(c.verdict, "inconclusive"),
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
                outside_profile=tuple(decode_tensor(t) for t in c.outside_profile)
                if c.outside_profile
                else None,
                outside_regret=optional(c, "outside_regret"),
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
        partial_set=message.partial_set,
        solution_set=solution_set,
        credit=credit_curves_from_proto(message.credit) if message.HasField("credit") else None,
    )


def credit_curves_from_proto(message: trace_pb2.CreditCurves) -> CreditCurves:
    """The per-agent credits of the ``credit_assignment`` criterion from the wire message."""
    n = len(message.final_shapley_values)
    return CreditCurves(
        team=message.team,
        default_actions=tuple(message.default_actions),
        payoff_range=message.payoff_range,
        checkpoints_z=np.array(message.checkpoints_z, dtype=np.int64),
        shapley_values=decode_tensor(message.shapley_values).reshape(-1, n),
        difference_rewards=decode_tensor(message.difference_rewards).reshape(-1, n),
        team_returns=np.array(message.team_returns, dtype=np.float64),
        coalition_baselines=np.array(message.coalition_baselines, dtype=np.float64),
        final_shapley_values=np.array(message.final_shapley_values, dtype=np.float64),
        final_difference_rewards=np.array(message.final_difference_rewards, dtype=np.float64),
        final_team_return=message.final_team_return,
        final_coalition_baseline=message.final_coalition_baseline,
        tail_changes=np.array(message.tail_changes, dtype=np.float64),
        trends=tuple(message.trends),
        lazy_agents=tuple(message.lazy_agents),
        epsilon=message.epsilon,
        tail_start=message.tail_start,
        z=message.z,
    )


def score_options(
    *,
    criteria: Sequence[str] | str = (),
    metric: str = "",
    aggregate: str = "",
    epsilons: Sequence[float] = (),
    tail_window: int = 0,
    confidence: float = 0.0,
    checkpoints: int = 0,
    max_histories: int = 0,
    joint_concept: str = "",
    state_weights: Sequence[float] | None = None,
    function: str = "score_trace()",
) -> trace_pb2.ScoreOptions:
    """A ScoreOptions message; empty values take the server defaults.

    ``criteria`` may be one name (``"nash_conv"``); the server checks the names (it
    holds the table) and refuses an unknown one listing the valid ones.
    """
    return trace_pb2.ScoreOptions(
        criteria=list(name_list(criteria, "criteria", function)),
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
    """The first message of a trace stream, its game checked on the client.

    ``game`` is a game id (str); a stochastic game (:class:`StochasticGame`, a dict of
    its fields, or an object with ``rewards`` and ``transitions``); or a normal-form game
    (anything :func:`game_to_proto` accepts).

    Raises
    ------
    InvalidGameError
        For a malformed game, naming the field (``header.stochastic_game.rewards``,
        ``header.normal_form_game.payoffs``, ...), before anything is sent.
    """
    header = trace_pb2.TraceHeader(options=options, method=method, tolerance=tolerance)
    if isinstance(game, str):
        header.game_id = game
    elif _is_stochastic_input(game):
        try:
            checked = StochasticGame.from_any(game)
        except InvalidGameError as exc:
            violations = tuple((f"header.{field}", text) for field, text in exc.field_violations)
            raise InvalidGameError(exc.message, exc.code, violations) from None
        header.stochastic_game.CopyFrom(stochastic_game_to_proto(checked))
    else:
        header.normal_form_game.CopyFrom(_checked_normal_form(game))
    return trace_pb2.ScoreTraceRequest(header=header)


def _is_stochastic_input(game: Any) -> bool:
    """Whether ``game`` is given as a stochastic game: a dict or an object with ``rewards`` or
    ``transitions`` (the other missing is then named as the error, not ``payoffs``), a
    ``StochasticGame`` message included (it has ``rewards``)."""
    if isinstance(game, Mapping):
        return "rewards" in game or "transitions" in game
    return hasattr(game, "rewards") or hasattr(game, "transitions")  # as a dict: one is enough


def _game_field(game: Any, name: str, default: Any = None) -> Any:
    """Field ``name`` of a game given as a dict or an object (``default`` when absent)."""
    if isinstance(game, Mapping):
        return game.get(name, default)
    return getattr(game, name, default)


def _payoff_error(message: str) -> InvalidGameError:
    return _game_error("score_trace()", "header.normal_form_game.payoffs", message)


def _checked_normal_form(game: Any) -> game_pb2.NormalFormGame:
    """The NormalFormGame message of a trace header, its payoffs checked (shape, finiteness)."""
    payoffs = _game_field(game, "payoffs", game)
    if isinstance(payoffs, tuple | list) and len(payoffs) == 2:
        try:
            parts = [np.asarray(m, dtype=np.float64) for m in payoffs]
        except (TypeError, ValueError):
            parts = []  # ragged: game_to_proto names the entry
        if parts and any(p.ndim > 2 for p in parts):
            raise _payoff_error(
                f"a pair (A, B) must be two 2-D payoff matrices of one shape, got shapes {parts[0].shape} and "
                f"{parts[1].shape}; a stochastic game is StochasticGame(rewards, transitions, discount) or a "
                "dict with those keys"
            )
    message = game_to_proto(game, function="score_trace()", field="header.normal_form_game")
    tensor = decode_tensor(message.payoffs)
    if tensor.ndim < 3 or tensor.shape[0] != tensor.ndim - 1 or 0 in tensor.shape:
        raise _payoff_error(
            f"payoffs must have shape (n_players, a_1, ..., a_n) with n_players >= 2, got {tensor.shape}"
        )
    if not np.isfinite(tensor).all():
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(tensor))[0])
        raise _payoff_error(f"payoff at index {bad} is not finite")
    return message


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
    each stream that has them. Integers (actions, history keys) travel as float64
    tensors, exact below 2**53.
    """
    pols = None if policies is None else [np.asarray(p, dtype=np.float64) for p in policies]
    actions = None if joint_actions is None else np.asarray(joint_actions, dtype=np.float64)
    keys = None if history is None else np.asarray(history, dtype=np.float64)
    rets = None if returns is None else np.asarray(returns, dtype=np.float64)
    streams = [a for a in (*(pols or ()), actions, keys, rets) if a is not None]
    total = max((len(a) for a in streams), default=0)
    row_bytes = sum(8 * int(np.prod(a.shape[1:], dtype=np.int64)) for a in streams) or 8
    step = max(1, (chunk_bytes - _MIN_FRAMING_BYTES) // row_bytes)
    for start in range(0, total, step):
        stop = start + step
        chunk = trace_pb2.TraceChunk()
        if pols is not None and start < len(pols[0]):
            chunk.policies.extend(encode_tensor(p[start:stop]) for p in pols)
        for name, array in (("joint_actions", actions), ("history", keys), ("returns", rets)):
            if array is not None and start < len(array):
                getattr(chunk, name).CopyFrom(encode_tensor(array[start:stop]))
        yield chunk


def trace_chunk_requests(**arrays: Any) -> Iterator[trace_pb2.ScoreTraceRequest]:
    """:func:`trace_chunks` (same keyword arguments), each wrapped as a stream message."""
    for chunk in trace_chunks(**arrays):
        yield trace_pb2.ScoreTraceRequest(chunk=chunk)
