"""Service converters: every message round-trips between the solver and the client types."""

from __future__ import annotations

import ast
import dataclasses
import math
import pathlib
import subprocess
import sys

import grpc
import numpy as np
import pytest
from equilibria.client import ServerLimits
from equilibria.client._convert import (
    markov_solution_set_from_proto,
    response_score,
    response_solution,
    server_info_from_proto,
    solution_set_from_proto,
)
from equilibria.client._convert import stochastic_game_to_proto as client_stochastic_game_to_proto
from equilibria.service import convert
from equilibria.service.convert import (
    markov_solution_set_to_proto,
    normal_form_game_from_proto,
    normal_form_game_to_proto,
    solution_set_to_proto,
    solve_request_from_proto,
    stochastic_game_from_proto,
    stochastic_game_to_proto,
)
from equilibria.service.errors import RequestError
from equilibria.service.limits import Limits
from equilibria.solver import (
    CreditOptions,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    NoiseOptions,
    NormalFormGame,
    Selection,
    StochasticCreditAssignment,
    StochasticGame,
    WelfareOptimum,
    solve,
    solve_stochastic,
)
from equilibria.solver.concepts.welfare import WELFARE_FUNCTIONS
from equilibria.solver.solve_game import CONCEPTS
from equilibria.solver.traces import TraceChunk, TraceScorer
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2, trace_pb2
from equilibria.v1.codec import encode_tensor
from google.protobuf import duration_pb2


def _refused(call, code: grpc.StatusCode, field: str) -> RequestError:  # type: ignore[no-untyped-def]
    with pytest.raises(RequestError) as info:
        call()
    assert (info.value.code, info.value.field) == (code, field), info.value.message
    return info.value


def test_normal_form_game_round_trip_keeps_payoffs_and_names() -> None:
    game = NormalFormGame(
        np.random.default_rng(0).standard_normal((2, 2, 3)),
        title="t",
        player_names=("row", "col"),
        action_names=(("u", "d"), ("l", "c", "r")),
    )
    back = normal_form_game_from_proto(normal_form_game_to_proto(game), Limits())
    assert back.id == game.id and back.title == "t"
    assert back.player_names == game.player_names and back.action_names == game.action_names


def test_solution_set_round_trip_through_the_wire() -> None:
    game = NormalFormGame.from_bimatrix([[1, 1], [0, 0]], [[1, 1], [0, 0]])
    result = solve(game, exact=True)
    client_view = solution_set_from_proto(solution_set_to_proto(result))
    assert client_view.game_id == result.game_id and client_view.complete == result.complete
    assert client_view.method == result.method and client_view.warnings == result.warnings
    assert client_view.concepts == ("nash",) and client_view.exact
    for mine, theirs in zip(client_view.equilibria, result.equilibria, strict=True):
        for s_mine, s_theirs in zip(mine.strategies, theirs.strategies, strict=True):
            np.testing.assert_array_equal(s_mine, s_theirs)
        assert mine.exact_strategies == theirs.exact_strategies
        assert mine.exact_payoffs == theirs.exact_payoffs
        assert mine.nash_conv == theirs.nash_conv and mine.components == theirs.components
        assert mine.supports == theirs.supports
    for mine_c, theirs_c in zip(client_view.components, result.components, strict=True):
        assert mine_c.equilibrium_indices == theirs_c.equilibrium_indices
        for v_mine, v_theirs in zip(mine_c.vertices, theirs_c.vertices, strict=True):
            np.testing.assert_array_equal(v_mine, v_theirs)


# -- stochastic games ----------------------------------------------------------------------------


def _stochastic_game() -> StochasticGame:
    rng = np.random.default_rng(4)
    dense = rng.random((3, 2, 3, 3))
    dense[:, :, :, 1] = 0.0  # sparse: state 1 is never reached
    dense /= dense.sum(axis=-1, keepdims=True)
    return StochasticGame(
        rng.standard_normal((3, 2, 2, 3)),
        dense,
        discount=0.9,
        initial_distribution=[0.25, 0.25, 0.5],
        action_counts=[[2, 3], [1, 3], [2, 2]],
        title="ragged",
        player_names=("a", "b"),
    )


@pytest.mark.parametrize(
    ("transitions", "field"),
    [
        pytest.param("bad-row", "game.transition_tensor", id="dense-row-off-simplex"),
        pytest.param(([0, 8], [0, 1], [1.0, 1.0]), "game.sparse_transitions.rows", id="sparse-row-range"),
        pytest.param(
            ([0, 1], [0, 5], [1.0, 1.0]), "game.sparse_transitions.next_states", id="sparse-state-range"
        ),
        pytest.param(([0, 1], [0, 1], [0.5, 1.0]), "game.sparse_transitions", id="sparse-row-off-simplex"),
    ],
)
def test_a_stochastic_game_error_names_the_transition_field_of_its_form(transitions, field: str) -> None:
    """The solver names ``transitions`` (or ``transitions.rows``, ...); the message has a
    dense tensor or sparse coordinates, and the error names the one the request used."""
    if transitions == "bad-row":
        transitions = np.full((2, 2, 2, 2), 0.5)
        transitions[1, 1, 0] = [0.5, 0.4]
    message = client_stochastic_game_to_proto(np.zeros((2, 2, 2, 2)), transitions, discount=0.5)
    _refused(
        lambda: stochastic_game_from_proto(message, Limits(), field="game"),
        grpc.StatusCode.INVALID_ARGUMENT,
        field,
    )


def test_a_time_budget_counts_its_seconds_and_nanoseconds() -> None:
    game = normal_form_game_to_proto(NormalFormGame.from_bimatrix(np.eye(2)))
    request = service_pb2.SolveGameRequest(
        normal_form_game=game, time_budget=duration_pb2.Duration(seconds=2, nanos=250_000_000)
    )
    _, options = solve_request_from_proto(request, Limits())
    assert options.time_budget == 2.25
    request.time_budget.CopyFrom(duration_pb2.Duration(seconds=0, nanos=0))
    _refused(
        lambda: solve_request_from_proto(request, Limits()), grpc.StatusCode.INVALID_ARGUMENT, "time_budget"
    )


def test_a_requested_method_is_kept_and_none_means_auto() -> None:
    game = normal_form_game_to_proto(NormalFormGame.from_bimatrix(np.eye(2)))
    for method in ("lemke_howson", "gambit:gnm", "vertex_enumeration"):
        request = service_pb2.SolveGameRequest(normal_form_game=game, method=method)
        assert solve_request_from_proto(request, Limits())[1].method == method
    request = service_pb2.SolveGameRequest(normal_form_game=game)
    assert solve_request_from_proto(request, Limits())[1].method == "auto"


def test_stochastic_game_round_trips_in_every_client_form() -> None:
    game = _stochastic_game()
    assert stochastic_game_from_proto(stochastic_game_to_proto(game), Limits()).id == game.id
    dense = game.transition_matrix.toarray().reshape(3, 2, 3, 3)
    coo = game.transition_matrix.tocoo()
    forms = [game, dense, game.transition_matrix, (coo.row, coo.col, coo.data)]
    for form in forms:
        if form is game:
            message = client_stochastic_game_to_proto(game)
        else:
            message = client_stochastic_game_to_proto(
                game.rewards,
                form,
                discount=0.9,
                initial_distribution=[0.25, 0.25, 0.5],
                action_counts=game.action_counts,
                title="ragged",
                player_names=("a", "b"),
            )
        back = stochastic_game_from_proto(message, Limits())
        assert back.id == game.id and back.title == "ragged" and back.player_names == ("a", "b")
    horizon = StochasticGame(game.rewards, dense, discount=1.0, horizon=5, action_counts=game.action_counts)
    for encode in (client_stochastic_game_to_proto, stochastic_game_to_proto):
        assert stochastic_game_from_proto(encode(horizon), Limits()).horizon == 5
        assert stochastic_game_from_proto(encode(game), Limits()).horizon is None


def _assert_same(domain: object, client: object, path: str = "") -> None:
    """Field-by-field equality of a solver result and its client mirror (renamed fields mapped)."""
    renamed = {"elapsed_seconds": "solve_seconds", "selections": "stage_selections"}
    if dataclasses.is_dataclass(domain):
        for field in dataclasses.fields(domain):
            if field.name == "sense" and not hasattr(client, "sense"):  # "max" or "min" on the solver side
                assert client.maximized == (domain.sense == "max"), f"{path}.sense"  # type: ignore[attr-defined]
                continue
            if field.name in ("row_vertices", "col_vertices"):  # the client's optimal_vertices: both or none
                side = getattr(domain, field.name)
                vertices = client.optimal_vertices  # type: ignore[attr-defined]
                assert (side is None) == (vertices == ()), f"{path}.{field.name}"
                if side is not None:
                    _assert_same(side, vertices[field.name == "col_vertices"], f"{path}.{field.name}")
                continue
            mirror = renamed.get(field.name, field.name) if not hasattr(client, field.name) else field.name
            _assert_same(getattr(domain, field.name), getattr(client, mirror), f"{path}.{field.name}")
    elif isinstance(domain, tuple) and domain and not isinstance(domain[0], int | str):
        assert len(domain) == len(client), path  # type: ignore[arg-type]
        for k, (a, b) in enumerate(zip(domain, client, strict=True)):  # type: ignore[call-overload]
            _assert_same(a, b, f"{path}[{k}]")
    elif isinstance(domain, np.ndarray):
        np.testing.assert_array_equal(domain, np.asarray(client), err_msg=path)
    elif isinstance(domain, float) and math.isnan(domain):  # the first step of an alpha sweep
        assert math.isnan(client), path  # type: ignore[arg-type]
    elif isinstance(domain, float):
        assert abs(domain - client) <= 1e-9, path  # type: ignore[operator]
    else:
        assert domain == client, path


def test_markov_solution_set_round_trips_every_field() -> None:
    rng = np.random.default_rng(0)
    policies = (rng.random((3, 2)), rng.random((3, 3)))
    eq = MarkovEquilibrium(
        policies=policies,
        values=rng.random((3, 2)),
        payoffs=rng.random(2),
        regrets=rng.random(2),
        nash_conv=0.25,
        state_gaps=rng.random(3),
        found_by=("homotopy:qre", "tracing:prior=1"),
    )
    staged = dataclasses.replace(eq, policies=(rng.random((4, 3, 2)), rng.random((4, 3, 3))), found_by=())
    result = MarkovSolutionSet(
        game_id="abc",
        equilibria=(eq, staged),
        complete=False,
        method="backward_induction",
        method_reason="why",
        warnings=("w1", "w2"),
        tolerance=1e-9,
        concepts=("nash", "pareto_nash", "welfare_nash", "zero_sum_value"),
        elapsed_seconds=1.5,
        pareto_indices=(1,),
        welfare_optima=(
            WelfareOptimum("utilitarian", 3.0, (0, 1), "enumeration", True, None),
            WelfareOptimum("nash_product", 2.0, (1,), "enumeration", False, np.array([0.5, -1.0])),
        ),
        zero_sum=MarkovZeroSum(rng.random(3), policies, 1e-12, 2e-12, "shapley", 17, 1e-9),
        selections=(
            Selection("payoff_dominance", False, 1, "fell back to utilitarian in state 2 at stage 0"),
            Selection("risk_dominance", True, None, "decided everywhere"),
        ),
        credit_assignment=StochasticCreditAssignment(
            "sum",
            "aristocrat",
            (1, 0),
            2.5,
            rng.random((4, 3)),
            rng.random((4, 3, 2, 3)),
            rng.random((4, 3, 2)),
            rng.random((4, 3, 2, 2, 3)),
            rng.random((4, 3, 2)),
            rng.random((4, 3, 4)),
            rng.random((4, 3)),
        ),
    )
    _assert_same(result, markov_solution_set_from_proto(markov_solution_set_to_proto(result)))


PENNIES = ([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
CHICKEN = ([[0, 7], [2, 6]], [[0, 2], [7, 6]])
A_COMPONENT = ([[1, 1], [0, 0]], [[1, 1], [0, 0]])
GENERAL_SUM = tuple(c for c in CONCEPTS if c != "zero_sum_value")
LINEAR_WELFARE = ("utilitarian", "egalitarian")


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize(
    ("payoffs", "concepts", "welfare"),
    [
        (PENNIES, CONCEPTS, LINEAR_WELFARE),  # a zero-sum value beside everything else
        (CHICKEN, GENERAL_SUM, LINEAR_WELFARE),  # three equilibria, correlated optima
        (CHICKEN, ("nash", "pareto_nash", "welfare_nash", "selection"), WELFARE_FUNCTIONS),  # Nash product
        (A_COMPONENT, GENERAL_SUM, LINEAR_WELFARE),  # a component of equilibria
    ],
)
def test_a_solution_set_of_every_concept_round_trips_every_field(  # type: ignore[no-untyped-def]
    payoffs, concepts: tuple[str, ...], welfare: tuple[str, ...], exact: bool
) -> None:
    game = NormalFormGame.from_bimatrix(*payoffs)
    disagreement = [1.0, 0.5] if "nash_product" in welfare else None
    credit = CreditOptions(policy=([0.25, 0.75], [0.5, 0.5]), team="sum", default_actions=(1, 0))
    errors = np.full(game.payoffs.shape, 0.1)  # the payoffs as sample means, for noisy_equilibria
    noise = NoiseOptions(draws=200)
    result = solve(
        game,
        concepts,
        exact=exact,
        welfare=welfare,
        disagreement=disagreement,
        credit=credit,
        standard_errors=errors,
        noise=noise,
    )
    assert result.equilibria and result.welfare_optima and result.selections and result.concept_status
    assert (result.credit_assignment is not None) == ("credit_assignment" in concepts)
    assert (result.noise is not None) == ("noisy_equilibria" in concepts)
    _assert_same(result, solution_set_from_proto(solution_set_to_proto(result)))


# -- where protobuf may appear -------------------------------------------------------------------

SERVICE_DIR = pathlib.Path(convert.__file__).parent


def test_the_worker_imports_neither_grpc_nor_protobuf() -> None:
    """The forkserver preloads the worker: solving processes carry no gRPC or protobuf."""
    code = (
        "import sys, equilibria.service.worker\n"
        "print(','.join(m for m in ('grpc', 'google.protobuf', 'equilibria.v1') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _wire_imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.update(
                f"{node.module}.{alias.name}" if node.module == "equilibria.v1" else node.module
                for alias in node.names
            )
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {
        name for name in names if name.startswith("equilibria.v1") or name.startswith("equilibria.client")
    }


def test_only_convert_builds_or_reads_wire_messages() -> None:
    """Outside the converters (convert.py, convert_evaluation.py, convert_samples.py): the service registration
    (stub module, service name) only, and no client module."""
    allowed = {
        "server.py": {"equilibria.v1.equilibria_service_pb2", "equilibria.v1.equilibria_service_pb2_grpc"},
        "servicer.py": {"equilibria.v1.equilibria_service_pb2_grpc"},
        # The CLI is a client: the public client API, and the wire's name tables (codec's
        # CONCEPTS, ...) to check names before a call; it builds no message itself.
        "cli.py": {"equilibria.client", "equilibria.v1.codec"},
        "cli_flags.py": {"equilibria.client", "equilibria.v1.codec"},
        "cli_games.py": {"equilibria.client"},
    }
    offenders = {}
    for path in sorted(SERVICE_DIR.glob("*.py")):
        if path.name in ("convert.py", "convert_evaluation.py", "convert_samples.py"):
            continue
        extra = _wire_imports(path) - allowed.get(path.name, set())
        if extra:
            offenders[path.name] = sorted(extra)
    assert offenders == {}
    assert "equilibria.v1.codec" in _wire_imports(SERVICE_DIR / "convert.py")


def test_trace_and_server_info_answers_carry_what_the_client_reads() -> None:
    game = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
    result = solve(game)
    options = convert.score_options_from_proto(trace_pb2.ScoreOptions(criteria=["last_iterate"]))
    scorer = TraceScorer(game, result, options)
    scorer.update(TraceChunk(policies=(np.full((8, 2), 0.5), np.full((8, 2), 0.5))))
    score = scorer.result()
    answer = convert.score_trace_response(score, result)
    client_score = response_score(answer, response_solution(answer))
    assert client_score.names == ("last_iterate",) and client_score.z_seen == 8
    assert client_score["last_iterate"].verdict == score.criteria[0].verdict
    assert client_score.solution_set is not None and client_score.solution_set.game_id == result.game_id
    later = convert.monitor_trace_response(score)
    assert response_solution(later) is None and response_score(later).z_seen == 8
    info = server_info_from_proto(
        convert.server_info_response(
            version="v",
            solver_version="s",
            limits=Limits(),
            workers=3,
            worker_memory_bytes=5,
            cache_entries=7,
            cache_bytes=11,
            instance_id="i",
        )
    )
    assert (info.limits.workers, info.limits.worker_memory_bytes, info.limits.cache_entries) == (3, 5, 7)
    assert info.limits.max_time_budget == Limits().max_time_budget and info.instance_id == "i"
    assert info.limits.trace_idle_seconds == Limits().trace_idle_seconds


def test_server_info_reports_every_limit_a_request_can_meet() -> None:
    """Each request, string, trace and capacity cap of the server's Limits reaches the
    client under its own name, with its value (each set to a distinct number here)."""
    reported = {f.name for f in dataclasses.fields(ServerLimits)} - {"trace_idle_seconds", "max_time_budget"}
    # Server settings that no request can run into: how it runs, not what it accepts.
    internal = {
        "default_tolerance",
        "grace_seconds",
        "recent_games",
        "max_connection_age_seconds",
        "max_connection_age_grace_seconds",
    }
    names = {f.name for f in dataclasses.fields(Limits)}
    assert names - reported - internal == {"max_time_budget", "trace_idle_seconds"}
    values = {name: 1000 + k for k, name in enumerate(sorted(names & reported))}
    limits = Limits(**values, max_time_budget=12.5, trace_idle_seconds=7.25)
    answer = convert.server_info_response(
        version="v",
        solver_version="s",
        limits=limits,
        workers=limits.workers,
        worker_memory_bytes=limits.worker_memory_bytes,
        cache_entries=limits.cache_entries,
        cache_bytes=limits.cache_bytes,
        instance_id="i",
    )
    info = server_info_from_proto(answer)
    assert {name: getattr(info.limits, name) for name in values} == values
    assert (info.limits.max_time_budget, info.limits.trace_idle_seconds) == (12.5, 7.25)
    # On the wire to the nanosecond (the client reads durations to the microsecond only).
    wire = answer.limits
    assert (wire.max_time_budget.ToNanoseconds(), wire.trace_idle_timeout.ToNanoseconds()) == (
        12_500_000_000,
        7_250_000_000,
    )
    assert {"vertex_enumeration", "hoffman_karp"} <= {m.name for m in info.methods}


def test_a_second_header_in_a_trace_stream_is_refused_naming_its_place() -> None:
    """Every message after the header must be a chunk: a header (or an empty message) at
    place 3 is an INVALID_ARGUMENT naming ``chunk[3]``, never read as a chunk."""
    for message in (
        trace_pb2.ScoreTraceRequest(header=trace_pb2.TraceHeader()),
        trace_pb2.ScoreTraceRequest(),
    ):
        error = _refused(
            lambda m=message: convert.stream_chunk_from_proto(m, 3, 0, Limits()),
            grpc.StatusCode.INVALID_ARGUMENT,
            "chunk[3]",
        )
        assert error.message == "every message after the header must be a chunk"


@pytest.mark.parametrize("budget", [0.0, -1.0, 5e-324])
def test_a_spent_budget_gives_the_solver_no_time_limit_to_refuse(budget: float) -> None:
    """The worker hands 0.8 of the solve's budget to the anytime solvers as ``time_limit``;
    a budget spent before the solve starts (or so small that 0.8 of it is zero) must not
    become a ``time_limit`` the solver refuses as INVALID_ARGUMENT: the pool's deadline
    alone stops that solve."""
    from equilibria.service.options import SolveOptions
    from equilibria.service.worker import solve_game

    options = SolveOptions(("nash",), "auto", 1e-9, False, 0, time_budget=None)
    game = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
    assert solve_game(game, options, budget).complete
    assert solve_game(game, options, 10.0).complete


@pytest.mark.parametrize("over", [0, 1])
@pytest.mark.parametrize(
    ("make", "decode", "players", "field"),
    [
        pytest.param(
            lambda: stochastic_game_to_proto(_stochastic_game()),
            stochastic_game_from_proto,
            2,
            "stochastic_game.rewards.shape",
            id="stochastic",
        ),
        pytest.param(
            lambda: normal_form_game_to_proto(NormalFormGame(np.zeros((3, 2, 2, 2)))),
            normal_form_game_from_proto,
            3,
            "normal_form_game.payoffs.shape",
            id="normal-form",
        ),
    ],
)
def test_a_game_at_the_player_limit_is_accepted_and_one_over_it_refused(
    make, decode, players, field, over
) -> None:
    message = make()
    limits = dataclasses.replace(Limits(), max_players=players - over)
    if not over:
        assert decode(message, limits).n_players == players
        return
    error = _refused(lambda: decode(message, limits), grpc.StatusCode.RESOURCE_EXHAUSTED, field)
    assert error.message == f"{players} players is over the limit of {players - 1}"


@pytest.mark.parametrize("room", [0, -1])
def test_a_horizon_whose_policies_reach_the_limit_is_accepted_and_one_entry_over_refused(room: int) -> None:
    """Backward induction keeps horizon x states x (sum of action counts) policy entries."""
    game = _stochastic_game()
    message = client_stochastic_game_to_proto(
        game.rewards,
        game.transition_matrix.toarray().reshape(3, 2, 3, 3),
        discount=1.0,
        horizon=5,
        action_counts=game.action_counts,
    )
    entries = 5 * game.n_states * sum(message.rewards.shape[2:])
    limits = dataclasses.replace(Limits(), max_policy_entries=entries + room)
    if room == 0:
        assert stochastic_game_from_proto(message, limits).horizon == 5
        return
    error = _refused(
        lambda: stochastic_game_from_proto(message, limits),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "stochastic_game.horizon",
    )
    assert f"policies of {entries:,} entries" in error.message


@pytest.mark.parametrize("method", ["", "lemke_howson", "vertex_enumeration"])
def test_a_trace_header_keeps_the_solve_method_it_names(method: str) -> None:
    from equilibria.client._convert import trace_header

    header = trace_header(
        [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]], trace_pb2.ScoreOptions(), method=method
    )
    target = convert.trace_request_from_proto(header, Limits())
    assert target.solve_options.method == (method or "auto")


def test_a_chunk_error_indexes_the_leading_chunk_only() -> None:
    from equilibria.solver.errors import InvalidOptionError

    error = convert.chunk_error(InvalidOptionError("chunk.history_chunk", "bad history"), 3)
    assert error.field == "chunk[3].history_chunk"
    assert error.message == "chunk 3: bad history"


def test_the_clients_default_chunk_is_the_largest_a_default_server_accepts() -> None:
    from equilibria.client._convert import CHUNK_BYTES

    assert Limits().max_trace_chunk_bytes == CHUNK_BYTES


@pytest.mark.parametrize("value", [2.0**53, -(2.0**53), 0.5, float("nan")])
def test_joint_actions_must_be_integers_a_double_holds_exactly(value: float) -> None:
    """2^53 is the first magnitude at which a double no longer tells neighbouring integers
    apart (2^53 + 1 reads as 2^53): refused with the other non-integers, naming the entry."""
    chunk = trace_pb2.TraceChunk(joint_actions=encode_tensor(np.array([[0.0, 1.0], [1.0, value]])))
    error = _refused(
        lambda: convert.trace_chunk_from_proto(chunk, 2, max_entries=64),
        grpc.StatusCode.INVALID_ARGUMENT,
        "chunk[2].joint_actions",
    )
    assert "must hold integers; entry (1, 1)" in error.message
    ok = trace_pb2.TraceChunk(joint_actions=encode_tensor(np.array([[0.0, 1.0], [1.0, 2.0**53 - 1]])))
    assert convert.trace_chunk_from_proto(ok, 2, max_entries=64).joint_actions[1, 1] == 2**53 - 1


def test_the_converters_limits_hold_at_their_bounds_and_refuse_past_them() -> None:
    """Each limit accepts its bound and refuses one step past it, with the status and the
    field of its kind (these run in the server's process: end-to-end tests reach them
    where the mutation tool's coverage map cannot see them)."""
    invalid, exhausted = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED
    assert convert.check_tolerance(1e-12, "tolerance") == 1e-12 and convert.check_tolerance(1e-3, "t") == 1e-3
    for tol in (9.99e-13, 1.001e-3):
        _refused(lambda tol=tol: convert.check_tolerance(tol, "tolerance"), invalid, "tolerance")
    convert.check_count(5, 5, "concepts")
    _refused(lambda: convert.check_count(6, 5, "concepts"), exhausted, "concepts")
    assert convert.check_length("m" * 64, 64, "method") == "m" * 64
    error = _refused(lambda: convert.check_length("m" * 65, 64, "method"), invalid, "method")
    assert error.message == "method: 65 characters, the limit is 64"
    deep = game_pb2.Tensor(shape=[1] * (convert.MAX_TENSOR_DIMS + 1), data=np.ones(1).tobytes())
    _refused(lambda: convert.decode_tensor_field(deep, 10, "payoffs"), invalid, "payoffs.shape")
    at_depth = game_pb2.Tensor(shape=[1] * convert.MAX_TENSOR_DIMS, data=np.ones(1).tobytes())
    assert convert.decode_tensor_field(at_depth, 10, "payoffs").shape == (1,) * convert.MAX_TENSOR_DIMS
    big = encode_tensor(np.zeros((3, 4)))
    assert convert.decode_tensor_field(big, 12, "payoffs").shape == (3, 4)
    _refused(lambda: convert.decode_tensor_field(big, 11, "payoffs"), exhausted, "payoffs.shape")


def test_a_solve_requests_priors_and_budget_hold_at_their_bounds() -> None:
    game = normal_form_game_to_proto(NormalFormGame.from_bimatrix(np.eye(2)))
    request = service_pb2.SolveGameRequest(normal_form_game=game, homotopy_priors=1000)
    assert solve_request_from_proto(request, Limits())[1].priors == 1000
    request.homotopy_priors = 1001
    _refused(
        lambda: solve_request_from_proto(request, Limits()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "homotopy_priors",
    )
    request = service_pb2.SolveGameRequest(
        normal_form_game=game, time_budget=duration_pb2.Duration(nanos=500_000_000)
    )
    assert solve_request_from_proto(request, Limits())[1].time_budget == 0.5  # under a second: still positive
    request = service_pb2.SolveGameRequest(normal_form_game=game, tolerance=2e-3)
    _refused(
        lambda: solve_request_from_proto(request, Limits()), grpc.StatusCode.INVALID_ARGUMENT, "tolerance"
    )


def _one_row_chunk() -> trace_pb2.ScoreTraceRequest:
    """A stream message holding one chunk of one joint action, ``(0, 1)``."""
    return trace_pb2.ScoreTraceRequest(chunk=trace_pb2.TraceChunk(joint_actions=encode_tensor([[0.0, 1.0]])))


def test_a_trace_stream_holds_exactly_its_number_of_chunks() -> None:
    """``max_trace_chunks`` chunks are accepted (the last at index max - 1); one more is
    RESOURCE_EXHAUSTED naming the stream's chunks."""
    message = _one_row_chunk()
    limits = Limits(max_trace_chunks=3)
    decoded = convert.stream_chunk_from_proto(message, 2, 0, limits)
    assert decoded.chunk.joint_actions.tolist() == [[0, 1]] and decoded.size == message.ByteSize()
    _refused(
        lambda: convert.stream_chunk_from_proto(message, 3, 0, limits),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "chunk",
    )


def test_a_trace_chunk_may_have_exactly_its_byte_limit_and_the_stream_its_total() -> None:
    """A chunk of exactly ``max_trace_chunk_bytes`` bytes is accepted, one of a byte more is
    RESOURCE_EXHAUSTED with its size; likewise the stream's ``max_trace_bytes`` counts the
    chunks before it (``received_bytes``) plus this one, up to the limit inclusive."""
    message = _one_row_chunk()
    size = message.ByteSize()
    decoded = convert.stream_chunk_from_proto(message, 0, 0, Limits(max_trace_chunk_bytes=size))
    assert decoded.size == size
    refused = _refused(
        lambda: convert.stream_chunk_from_proto(message, 4, 0, Limits(max_trace_chunk_bytes=size - 1)),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "chunk[4]",
    )
    assert refused.message == f"chunk 4 has {size:,} bytes, over the limit of {size - 1:,}"
    total = Limits(max_trace_bytes=1000)
    assert convert.stream_chunk_from_proto(message, 1, 1000 - size, total).size == size
    _refused(
        lambda: convert.stream_chunk_from_proto(message, 1, 1001 - size, total),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "chunk[1]",
    )


def _named_game() -> game_pb2.NormalFormGame:
    game = NormalFormGame(
        np.zeros((2, 2, 2)), title="abcde", player_names=("p", "q"), action_names=(("u", "d"), ("l", "r"))
    )
    return normal_form_game_to_proto(game)


@pytest.mark.parametrize(
    ("edit", "field", "code"),
    [
        (lambda m: setattr(m, "title", "abcdef"), "g.title", grpc.StatusCode.INVALID_ARGUMENT),
        (lambda m: m.player_names.append("s"), "g.player_names", grpc.StatusCode.RESOURCE_EXHAUSTED),
        (lambda m: m.action_names.add(names=["x"]), "g.action_names", grpc.StatusCode.RESOURCE_EXHAUSTED),
        (
            lambda m: m.player_names.__setitem__(1, "qqqq"),
            "g.player_names[1]",
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda m: m.action_names[1].names.extend("c" * 7),
            "g.action_names[1].names",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        ),
        (
            lambda m: m.action_names[1].names.__setitem__(1, "rrrr"),
            "g.action_names[1].names[1]",
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ],
)
def test_each_name_limit_names_its_field(edit, field: str, code: grpc.StatusCode) -> None:  # type: ignore[no-untyped-def]
    """Titles of 5 characters, names of 3, 2 players, 8 entries (of payoffs, and of one
    player's action names): at the limits the game decodes; one past any of them is
    refused naming that field."""
    limits = Limits(max_title_chars=5, max_name_chars=3, max_players=2, max_payoff_entries=8)
    assert normal_form_game_from_proto(_named_game(), limits, field="g").title == "abcde"
    message = _named_game()
    edit(message)
    _refused(lambda: normal_form_game_from_proto(message, limits, field="g"), code, field)


def test_a_game_without_its_payoff_tensor_is_refused_naming_it() -> None:
    """Missing, of no shape, or (rewards) of fewer than 4 axes: INVALID_ARGUMENT naming the
    tensor; a tensor whose data does not fit its shape names its data."""
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    for message in (game_pb2.NormalFormGame(), game_pb2.NormalFormGame(payoffs=game_pb2.Tensor())):
        error = _refused(
            lambda m=message: normal_form_game_from_proto(m, Limits()), invalid, "normal_form_game.payoffs"
        )
        assert error.message.startswith("payoffs is required")
    for message in (
        game_pb2.StochasticGame(),
        game_pb2.StochasticGame(rewards=encode_tensor(np.zeros((2, 2, 2)))),
    ):
        error = _refused(
            lambda m=message: stochastic_game_from_proto(m, Limits()), invalid, "stochastic_game.rewards"
        )
        assert error.message.startswith("rewards is required")
    short = game_pb2.Tensor(shape=[2, 2], data=np.ones(3).tobytes())
    _refused(lambda: convert.decode_tensor_field(short, 10, "payoffs"), invalid, "payoffs.data")


def test_a_stochastic_game_without_transitions_is_refused_naming_them() -> None:
    message = stochastic_game_to_proto(_stochastic_game())
    message.ClearField(message.WhichOneof("transitions"))
    error = _refused(
        lambda: stochastic_game_from_proto(message, Limits()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "stochastic_game.transitions",
    )
    assert error.message.startswith("transitions are required")


def test_repeated_enums_decode_in_order_and_an_unknown_one_names_its_index() -> None:
    game = normal_form_game_to_proto(NormalFormGame.from_bimatrix(np.eye(2)))
    request = service_pb2.SolveGameRequest(normal_form_game=game, concepts=[5, 2], welfare_functions=[3, 1])
    options = solve_request_from_proto(request, Limits())[1]
    assert options.concepts == ("correlated", "pure_nash") and options.welfare == (
        "nash_product",
        "utilitarian",
    )
    for values in ([5, 0], [5, 99]):
        request = service_pb2.SolveGameRequest(normal_form_game=game, concepts=values)
        error = _refused(
            lambda r=request: solve_request_from_proto(r, Limits()),
            grpc.StatusCode.INVALID_ARGUMENT,
            "concepts[1]",
        )
        assert error.message == f"unknown or unspecified solution concept {values[1]}"


def test_every_criterion_of_a_trace_score_round_trips_field_by_field() -> None:
    """All default criteria of a noisy converging trace (epsilons, fitted rates, a
    confidence radius, nearest solutions: optional fields present and absent) reach the
    client as the scorer computed them."""
    game = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
    result = solve(game)
    scorer = TraceScorer(game, result, convert.score_options_from_proto(trace_pb2.ScoreOptions()))
    rng = np.random.default_rng(0)
    z = 400
    noise = rng.normal(0.0, 0.3, (z, 2)) / np.sqrt(np.arange(1, z + 1))[:, None]
    p = np.clip(0.5 + noise, 0.01, 0.99)
    policies = (np.stack([p[:, 0], 1 - p[:, 0]], 1), np.stack([p[:, 1], 1 - p[:, 1]], 1))
    scorer.update(TraceChunk(policies=policies, joint_actions=rng.integers(0, 2, (z, 2))))
    score = scorer.result()
    client = response_score(convert.score_trace_response(score, result), result)
    assert len(score.criteria) >= 7
    for criterion in score.criteria:
        _assert_same(criterion, client[criterion.name], criterion.name)
    assert any(c.confidence_radius is not None for c in score.criteria)
    assert any(c.nearest_solution is not None for c in score.criteria)
    assert client.selected == score.selected


@pytest.mark.parametrize("stochastic", [False, True], ids=["normal-form", "stochastic"])
def test_the_credit_curves_of_a_team_trace_round_trip_field_by_field(stochastic: bool) -> None:
    """TraceScore.credit (criterion credit_assignment) reaches the client as the scorer computed
    it: every field, with a lazy agent (agent 1's action does not change the team payoff)."""
    rng = np.random.default_rng(2)
    g = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0]])  # agent 1 does not matter
    if stochastic:
        game: object = StochasticGame(np.stack([g, g])[None], np.ones((1, 3, 2, 1)), discount=0.5)
        policies = (rng.dirichlet(np.ones(3), (300, 1)), rng.dirichlet(np.ones(2), (300, 1)))
        result: object = solve_stochastic(game)
    else:
        game = NormalFormGame(np.stack([g, g]))
        policies = (np.tile([0.0, 0.0, 1.0], (300, 1)), rng.dirichlet(np.ones(2), 300))
        result = solve(game)
    scorer = TraceScorer(game, result, convert.score_options_from_proto(trace_pb2.ScoreOptions()))
    scorer.update(TraceChunk(policies=policies))
    score = scorer.result()
    assert score.credit is not None
    client = response_score(convert.score_trace_response(score, result), result)
    assert client.credit is not None
    assert [f.name for f in dataclasses.fields(client.credit)] == [
        f.name for f in dataclasses.fields(score.credit)
    ]
    for field in dataclasses.fields(score.credit):
        expected, got = getattr(score.credit, field.name), getattr(client.credit, field.name)
        assert type(np.asarray(got).tolist()) is type(np.asarray(expected).tolist()), field.name
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected), err_msg=field.name)
    _assert_same(score["credit_assignment"], client["credit_assignment"], "credit_assignment")
    assert client.credit.lazy_agents == score.credit.lazy_agents
    if not stochastic:
        assert score.credit.lazy_agents == (1,)


def test_a_trace_header_without_a_game_and_a_chunk_the_scorer_refuses_name_their_fields() -> None:
    no_game = trace_pb2.ScoreTraceRequest(header=trace_pb2.TraceHeader())
    error = _refused(
        lambda: convert.trace_request_from_proto(no_game, Limits()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "header.game",
    )
    assert error.message.startswith("the header needs a game")
    negative = trace_pb2.TraceChunk(policies=[encode_tensor([[1.5, -0.5]]), encode_tensor([[0.5, 0.5]])])
    _refused(
        lambda: convert.trace_chunk_from_proto(negative, 4, max_entries=64),
        grpc.StatusCode.INVALID_ARGUMENT,
        "chunk[4].policies[0]",
    )
