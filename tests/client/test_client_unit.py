"""Client pieces that need no server: import isolation, the tensor codec, retries, errors."""

from __future__ import annotations

import ast
import inspect
import pathlib
import random
import subprocess
import sys
import types

import equilibria.client as client_pkg
import grpc
import numpy as np
import pytest
from equilibria.client import RetryConfig
from equilibria.client._convert import (
    game_to_proto,
    solve_request,
    stochastic_game_to_proto,
    stochastic_solve_request,
    trace_chunks,
)
from equilibria.v1 import game_pb2, trace_pb2
from equilibria.v1.codec import TensorError, TensorTooLargeError, decode_tensor, encode_tensor

from tests.client.options import solve_options

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])


def test_importing_the_client_pulls_in_no_solver_dependencies() -> None:
    code = (
        "import sys, equilibria.client\n"
        "heavy = [m for m in ('scipy', 'pygambit', 'nashpy', 'matplotlib', 'equilibria.solver', 'equilibria.service')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_are_exactly_all() -> None:
    public = {name for name in dir(client_pkg) if not name.startswith("_")}
    assert public == set(client_pkg.__all__)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 2), (2, 1, 1)])
def test_tensor_round_trip_is_bit_exact(shape: tuple[int, ...]) -> None:
    array = np.random.default_rng(0).standard_normal(shape)
    array.flat[0] = -0.0
    decoded = decode_tensor(encode_tensor(array))
    assert decoded.shape == shape and decoded.tobytes() == array.astype("<f8").tobytes()


def test_tensor_errors() -> None:
    with pytest.raises(TensorError, match="needs"):
        decode_tensor(game_pb2.Tensor(shape=[2, 2], data=b"\0" * 24))
    with pytest.raises(TensorTooLargeError):
        decode_tensor(game_pb2.Tensor(shape=[10**6, 10**6], data=b""), max_entries=10**6)


def test_game_inputs_accepted_by_the_client() -> None:
    a, b = [[1, 2], [3, 4]], [[5, 6], [7, 8]]
    pair = decode_tensor(game_to_proto((a, b)).payoffs)
    assert pair.shape == (2, 2, 2) and pair[1, 1, 0] == 7
    zero_sum = decode_tensor(game_to_proto(np.array(a)).payoffs)
    np.testing.assert_array_equal(zero_sum[1], -np.array(a))
    tensor = np.zeros((3, 2, 2, 2))
    assert tuple(game_to_proto(tensor).payoffs.shape) == (3, 2, 2, 2)


def test_retry_backoff_is_bounded_jittered_and_only_for_unavailable() -> None:
    retry = RetryConfig(max_attempts=4, initial_backoff=0.1, max_backoff=0.3, multiplier=2.0)
    rng = random.Random(0)
    delays = [[retry.delay(k, rng) for _ in range(200)] for k in (1, 2, 3, 4)]
    assert max(delays[0]) <= 0.1 and max(delays[1]) <= 0.2 and max(delays[3]) <= 0.3
    assert min(delays[0]) >= 0.0 and len(set(delays[2])) > 100  # jittered, not constant
    assert retry.should_retry(grpc.StatusCode.UNAVAILABLE, 3)
    assert not retry.should_retry(grpc.StatusCode.UNAVAILABLE, 4)
    assert not retry.should_retry(grpc.StatusCode.INVALID_ARGUMENT, 1)
    with pytest.raises(ValueError):
        RetryConfig(max_attempts=0)


CLIENT_DIR = pathlib.Path(client_pkg.__file__).parent


def _imports(path: pathlib.Path, *, runtime_only: bool = False) -> set[str]:
    """Modules a source file imports (``runtime_only``: leaving out ``if TYPE_CHECKING:`` blocks)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) in (
                "TYPE_CHECKING",
                "typing.TYPE_CHECKING",
            ):
                skipped.update(id(child) for child in ast.walk(node))
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_converter_imports_the_wire_messages() -> None:
    """Generated message modules are imported by the converters alone (_convert.py,
    _convert_evaluation.py and _convert_samples.py); _client.py holds the stub (transport)."""
    allowed = {
        "_convert.py": None,
        "_convert_evaluation.py": None,
        "_convert_samples.py": None,
        "_client.py": {"equilibria.v1.equilibria_service_pb2_grpc"},
    }
    offenders = {}
    for path in sorted(CLIENT_DIR.glob("*.py")):
        wire = {m for m in _imports(path) if m.startswith("equilibria.v1.")}
        if path.name in allowed and allowed[path.name] is None:
            assert wire, "the converter is expected to use the wire API"
            continue
        extra = wire - (allowed.get(path.name) or set())
        if extra:
            offenders[path.name] = sorted(extra)
    assert offenders == {}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_client_modules_import_each_other_without_a_cycle() -> None:
    """The result types import no converter (the old _types -> _report -> _trace -> _convert -> _types loop)."""
    modules = {path.stem: path for path in CLIENT_DIR.glob("*.py")}
    graph = {
        name: {
            m.rsplit(".", 1)[-1]
            for m in _imports(path, runtime_only=True)
            if m.startswith("equilibria.client._")
        }
        & set(modules)
        for name, path in modules.items()
    }
    for types_module in ("_types", "_trace", "_batch", "_report"):
        assert "_convert" not in _reachable(graph, types_module), types_module
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


@pytest.mark.parametrize("chunk_bytes", [4096 + 1, 4096 + 200, 8192, 65536])
def test_trace_chunks_stay_within_their_size_and_hold_every_row_once(chunk_bytes: int) -> None:
    """Each stream message of a chunk fits ``chunk_bytes``; all streams are cut at the same
    rows, as many as fit beside 4 KiB of framing (at least one); nothing is lost or repeated."""
    rng = np.random.default_rng(chunk_bytes)
    z = 700
    policies = (rng.dirichlet(np.ones(3), z), rng.dirichlet(np.ones(4), z))
    actions = rng.integers(0, 3, size=(z, 2))
    returns = rng.standard_normal((z, 2))
    row_bytes = 8 * (3 + 4 + 2 + 2)
    chunks = list(
        trace_chunks(policies=policies, joint_actions=actions, returns=returns, chunk_bytes=chunk_bytes)
    )
    step = max(1, (chunk_bytes - 4096) // row_bytes)
    assert [len(decode_tensor(c.returns)) for c in chunks] == [min(step, z - s) for s in range(0, z, step)]
    assert all(trace_pb2.ScoreTraceRequest(chunk=c).ByteSize() <= chunk_bytes for c in chunks)
    for k, whole in enumerate(policies):
        np.testing.assert_array_equal(np.concatenate([decode_tensor(c.policies[k]) for c in chunks]), whole)
    np.testing.assert_array_equal(np.concatenate([decode_tensor(c.joint_actions) for c in chunks]), actions)
    np.testing.assert_array_equal(np.concatenate([decode_tensor(c.returns) for c in chunks]), returns)


@pytest.mark.parametrize("states", [2, 3, 4])
def test_dense_transitions_as_nested_lists_or_tuples_are_the_dense_array(states: int) -> None:
    """Only a 3-tuple is read as ``(rows, next_states, probabilities)``: dense transitions
    given as lists (of 3 states too) or as a tuple of states are the dense array."""
    rng = np.random.default_rng(states)
    rewards = rng.standard_normal((states, 2, 2, 2))
    dense = rng.dirichlet(np.ones(states), size=(states, 2, 2))
    want = stochastic_game_to_proto(rewards, dense, discount=0.9)
    assert want.WhichOneof("transitions") == "transition_tensor"
    forms = [dense.tolist()] + ([tuple(dense.tolist())] if states != 3 else [])  # a 3-tuple is a triple
    for given in forms:
        assert stochastic_game_to_proto(rewards, given, discount=0.9) == want


def test_a_stochastic_solve_request_carries_its_options_and_is_never_exact() -> None:
    """``solve_stochastic``'s request: the game, the options as given (a time budget to the
    nanosecond) and ``exact`` off, which stochastic solvers do not offer."""
    arguments = {
        name: p.default
        for name, p in inspect.signature(client_pkg.Client.solve_stochastic).parameters.items()
        if name != "self"
    }
    rewards = np.zeros((2, 2, 2, 2))
    arguments |= {"game": rewards, "transitions": np.full((2, 2, 2, 2), 0.5), "discount": 0.9}
    arguments |= {"time_budget": 2.5, "concepts": "nash", "method": "shapley"}
    request = stochastic_solve_request(arguments)
    assert request.WhichOneof("game") == "stochastic_game" and request.stochastic_game.discount == 0.9
    assert not request.exact
    assert request.time_budget.ToNanoseconds() == 2_500_000_000


def test_a_solve_request_sends_the_time_budget_to_the_nanosecond_and_the_server_defaults() -> None:
    request = solve_request(
        [[1, 0], [0, 1]],
        concepts="nash",
        method="auto",
        tolerance=0.0,
        exact=False,
        max_equilibria=0,
        time_budget=1.75,
    )
    assert (request.time_budget.seconds, request.time_budget.nanos) == (1, 750_000_000)
    assert (request.homotopy_priors, request.seed) == (0, 0)  # 0: the server's defaults
    assert stochastic_game_to_proto(np.zeros((1, 1, 1, 1)), np.ones((1, 1, 1, 1))).discount == 0.0


def test_a_solve_request_sends_a_game_message_as_it_is() -> None:
    """A ``NormalFormGame`` or ``StochasticGame`` message given to ``solve_request`` is the
    request's game, unchanged (names and all), in its own field."""
    options = solve_options()
    normal = game_to_proto({"payoffs": STAG_HUNT, "title": "stag hunt", "player_names": ["Row", "Column"]})
    request = solve_request(normal, **options)
    assert request.WhichOneof("game") == "normal_form_game" and request.normal_form_game == normal
    stochastic = stochastic_game_to_proto(np.zeros((1, 2, 2, 2)), np.ones((1, 2, 2, 1)), discount=0.5)
    request = solve_request(stochastic, **options)
    assert request.WhichOneof("game") == "stochastic_game" and request.stochastic_game == stochastic


def test_a_games_names_travel_with_it_from_a_dict_or_an_object() -> None:
    names = {
        "title": "stag hunt",
        "player_names": ["Row", "Column"],
        "action_names": [["S", "H"], ["s", "h"]],
    }
    for game in ({"payoffs": STAG_HUNT, **names}, types.SimpleNamespace(payoffs=STAG_HUNT, **names)):
        message = game_to_proto(game)
        assert message.title == "stag hunt" and list(message.player_names) == ["Row", "Column"]
        assert [list(a.names) for a in message.action_names] == [["S", "H"], ["s", "h"]]


def test_a_stream_that_ends_at_a_chunk_boundary_is_absent_from_the_later_chunks() -> None:
    """Streams of different lengths are cut at the same rows; a stream that has ended is
    left out of a chunk (not sent as an empty tensor), also when it ends exactly at a cut."""
    policies = (np.full((8, 2), 0.5), np.full((8, 2), 0.5))
    actions = np.zeros((8, 2))
    returns = np.arange(24.0).reshape(12, 2)
    row_bytes = 8 * (2 + 2 + 2 + 2)
    chunks = list(
        trace_chunks(
            policies=policies, joint_actions=actions, returns=returns, chunk_bytes=4096 + 4 * row_bytes
        )
    )
    assert [len(decode_tensor(c.returns)) for c in chunks] == [4, 4, 4]
    assert [len(c.policies) for c in chunks] == [2, 2, 0]
    assert [c.HasField("joint_actions") for c in chunks] == [True, True, False]
