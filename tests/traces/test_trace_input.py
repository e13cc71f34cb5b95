"""Trace input that explains itself (issue 18, item 6).

Games given as a plain object, a dict or the client's own ``StochasticGame`` are scored
like the solver's; a malformed game is an ``InvalidGameError`` naming the field before
anything is sent (the tests prove it with a client of an address where nothing
listens: any byte sent would fail as UNAVAILABLE instead); a trace without rows is
``INVALID_ARGUMENT``; ``TraceRecorder.record`` refuses a bad row at the call that gives
it; policies come as one ``(Z, n_players, a)`` array or as torch tensors that require
grad. The traces are generated (fictitious play, regret matching, a decaying
exploration schedule) and the finals and z0 are recomputed with numpy.
"""

from __future__ import annotations

import types
from typing import Any

import grpc
import numpy as np
import pytest
from equilibria.client import (
    Client,
    InvalidArgumentError,
    InvalidGameError,
    ServiceUnavailableError,
    StochasticGame,
    TraceRecorder,
)
from equilibria.client._convert import score_options, trace_header
from equilibria.solver import NormalFormGame
from equilibria.solver import StochasticGame as SolverStochasticGame
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import trace_pb2
from equilibria.v1.codec import encode_tensor

from .. import games
from ..dynamics import fictitious_play, regret_matching

pytestmark = pytest.mark.e2e

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
EPSILONS = (0.1, 0.05, 0.01)


# -- numpy recomputations -------------------------------------------------------------------------


def _z0(curve: np.ndarray, eps: float) -> int | None:
    """First row (1-based) from which every row of ``curve`` is below ``eps`` (None: the last is not)."""
    above = np.flatnonzero(curve >= eps)
    if above.size == 0:
        return 1
    return None if above[-1] == curve.size - 1 else int(above[-1]) + 2


def _empirical_tv(policies: list[np.ndarray], target: list[np.ndarray]) -> np.ndarray:
    """Per row, max over players of TV(running average of the policies, target) (averaged over states)."""
    z = np.arange(1, len(policies[0]) + 1, dtype=np.float64)
    per_player = []
    for x, t in zip(policies, target, strict=True):
        avg = np.cumsum(x, axis=0) / z.reshape(-1, *([1] * (x.ndim - 1)))
        tv = 0.5 * np.abs(avg - t).sum(axis=-1)
        per_player.append(tv if tv.ndim == 1 else tv.mean(axis=1))
    return np.max(per_player, axis=0)


# -- a 2-state game and a trace that converges to its unique equilibrium ---------------------------


def _dilemma_markov() -> dict[str, Any]:
    """Two states, each a prisoner's dilemma (defect dominates), moving uniformly at random."""
    pd = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
    rewards = np.stack([pd, 2.0 * pd])
    transitions = np.full((2, 2, 2, 2), 0.5)
    return {"rewards": rewards, "transitions": transitions, "discount": 0.9}


def _exploring_defectors(rows: int) -> list[np.ndarray]:
    """Per player ``(Z, S, 2)``: cooperate with probability 1/(z+1) in every state (by construction)."""
    p = 1.0 / (np.arange(rows, dtype=np.float64) + 2.0)
    policy = np.stack([p, 1.0 - p], axis=1)[:, None, :].repeat(2, axis=1)
    return [policy, policy.copy()]


@pytest.fixture(scope="module")
def offline() -> Client:
    """A client of an address where nothing listens: what reaches the network fails UNAVAILABLE."""
    with Client.connect("127.0.0.1:9", timeout=5) as c:
        yield c


@pytest.mark.parametrize("form", ["object", "dict", "client_type", "solver_type"])
def test_a_stochastic_game_in_any_form_is_scored_as_the_definitions_say(client: Client, form: str) -> None:
    fields = _dilemma_markov()
    game = {
        "object": lambda: types.SimpleNamespace(**fields),
        "dict": lambda: dict(fields),
        "client_type": lambda: StochasticGame(**fields),
        "solver_type": lambda: SolverStochasticGame(**fields),
    }[form]()
    policies = _exploring_defectors(3000)
    score = client.score_trace(game, policies=policies, criteria=["empirical_distribution"])
    c = score["empirical_distribution"]
    defect = [np.array([0.0, 1.0])] * 2
    curve = _empirical_tv(policies, defect)
    assert c.final_value == pytest.approx(curve[-1], rel=1e-9, abs=1e-12)
    assert c.final_value == pytest.approx(np.sum(1.0 / np.arange(2, 3002)) / 3000, rel=1e-9)
    assert c.z0 == {eps: _z0(curve, eps) for eps in EPSILONS}
    assert c.verdict == "converged" and c.z == 3000


def test_a_pair_of_rewards_and_transitions_is_refused_not_read_as_a_bimatrix(offline: Client) -> None:
    fields = _dilemma_markov()
    with pytest.raises(InvalidGameError, match="StochasticGame") as info:
        offline.score_trace((fields["rewards"], fields["transitions"]), policies=_exploring_defectors(10))
    assert info.value.fields == ("header.normal_form_game.payoffs",)
    # A real pair of matrices is still a bimatrix game (it reaches the network: UNAVAILABLE).
    with pytest.raises(ServiceUnavailableError):
        offline.score_trace((RPS, -RPS), policies=(np.full((5, 3), 1 / 3),) * 2)


def _bad_games() -> list[Any]:
    fields = _dilemma_markov()
    leaky = fields["transitions"].copy()
    leaky[1, 0, 1, 1] = 0.4
    nan_rewards = fields["rewards"].copy()
    nan_rewards[1, 0, 1, 0] = np.nan
    return [
        pytest.param({**fields, "rewards": fields["rewards"][:, 0]}, "rewards", id="rewards-shape"),
        pytest.param({**fields, "rewards": nan_rewards}, "rewards", id="rewards-nan"),
        pytest.param(
            {**fields, "transitions": fields["transitions"][..., :1]}, "transitions", id="transitions-shape"
        ),
        pytest.param({**fields, "transitions": leaky}, "transitions", id="transitions-row-sum"),
        pytest.param({**fields, "discount": 1.0}, "discount", id="discount-infinite-horizon"),
        pytest.param({**fields, "horizon": 0}, "horizon", id="horizon"),
        pytest.param({**fields, "initial_distribution": [0.7, 0.7]}, "initial_distribution", id="initial"),
        pytest.param({**fields, "action_counts": [[2, 3], [2, 2]]}, "action_counts", id="action-counts"),
        pytest.param({k: v for k, v in fields.items() if k != "discount"}, "discount", id="dict-no-discount"),
        pytest.param(
            {k: v for k, v in fields.items() if k != "transitions"}, "transitions", id="dict-no-transitions"
        ),
        pytest.param({**fields, "gamma": 0.9}, "gamma", id="dict-unknown-key"),
        pytest.param(
            types.SimpleNamespace(rewards=fields["rewards"], transitions=leaky, discount=0.9),
            "transitions",
            id="object-row-sum",
        ),
        pytest.param(
            types.SimpleNamespace(rewards=fields["rewards"], discount=0.9),
            "transitions",
            id="object-no-transitions",
        ),
    ]


@pytest.mark.parametrize(("game", "field"), _bad_games())
def test_a_malformed_stochastic_game_names_its_field_before_anything_is_sent(
    offline: Client, game: Any, field: str
) -> None:
    with pytest.raises(InvalidGameError) as info:
        offline.score_trace(game, policies=_exploring_defectors(10))
    assert info.value.fields == (f"header.stochastic_game.{field}",)
    assert info.value.code == "INVALID_ARGUMENT" and info.value.message.startswith("StochasticGame(): ")
    if isinstance(game, dict) and field in game and field != "gamma":  # the value type says the same
        with pytest.raises(InvalidGameError) as direct:
            StochasticGame(**game)
        assert direct.value.fields == (f"stochastic_game.{field}",)


@pytest.mark.parametrize(
    "game",
    [
        pytest.param(np.array([[[1.0, np.inf], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]]), id="payoffs-inf"),
        pytest.param(np.zeros((3, 2, 2)), id="payoffs-players-mismatch"),
        pytest.param(np.zeros((2, 0, 2)), id="payoffs-no-actions"),
        pytest.param({"a": np.zeros((2, 2, 2))}, id="dict-without-payoffs"),
    ],
)
def test_a_malformed_normal_form_game_names_its_field_before_anything_is_sent(
    offline: Client, game: Any
) -> None:
    with pytest.raises(InvalidGameError) as info:
        offline.score_trace(game, policies=(np.full((5, 2), 0.5),) * 2)
    assert info.value.fields == ("header.normal_form_game.payoffs",)


def test_a_game_of_three_players_as_a_list_of_tensors_reaches_the_network(offline: Client) -> None:
    """Only a pair is read as ``(A, B)``: three payoff tensors are a 3-player game, sent."""
    payoffs = list(np.random.default_rng(3).standard_normal((3, 2, 2, 2)))
    with pytest.raises(ServiceUnavailableError):
        offline.score_trace(payoffs, policies=(np.full((5, 2), 0.5),) * 3)


def test_the_recorder_checks_its_game_when_it_is_made(offline: Client) -> None:
    with pytest.raises(InvalidGameError) as info:
        TraceRecorder(offline, {**_dilemma_markov(), "discount": -0.1})
    assert info.value.fields == ("header.stochastic_game.discount",)


def test_the_client_and_solver_agree_on_the_row_tolerance() -> None:
    from equilibria.client._types import ROW_TOLERANCE
    from equilibria.solver.stochastic.game import ROW_TOLERANCE as SOLVER_ROW_TOLERANCE

    assert ROW_TOLERANCE == SOLVER_ROW_TOLERANCE


# -- traces without rows ---------------------------------------------------------------------------


def _header(game: NormalFormGame) -> trace_pb2.ScoreTraceRequest:
    return trace_header(game, score_options())


@pytest.mark.parametrize("chunks", ["none", "zero-rows", "empty-chunk"])
def test_a_stream_without_rows_is_invalid_argument_not_an_empty_score(client: Client, chunks: str) -> None:
    rps = NormalFormGame.from_bimatrix(RPS, -RPS)
    extra = {
        "none": [],
        "zero-rows": [
            trace_pb2.ScoreTraceRequest(
                chunk=trace_pb2.TraceChunk(policies=[encode_tensor(np.zeros((0, 3)))] * 2)
            )
        ],
        "empty-chunk": [trace_pb2.ScoreTraceRequest(chunk=trace_pb2.TraceChunk())],
    }[chunks]
    stub = service_grpc.EquilibriaServiceStub(client._channel)
    for method in (stub.ScoreTrace, stub.MonitorTrace):
        with pytest.raises(grpc.RpcError) as info:
            answer = method(iter([_header(rps), *extra]), timeout=30)
            if method is stub.MonitorTrace:
                list(answer)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        wanted = "no policies, joint_actions or returns" if chunks == "empty-chunk" else "no rows"
        assert wanted in info.value.details()


def test_the_client_refuses_a_trace_without_rows_before_sending(offline: Client) -> None:
    with pytest.raises(InvalidArgumentError, match="no rows") as info:
        offline.score_trace(games.stag_hunt(), policies=(np.zeros((0, 2)), np.zeros((0, 2))))
    assert info.value.fields == ("chunk",)
    with pytest.raises(InvalidArgumentError, match="no rows"):
        offline.score_trace(games.stag_hunt())


def test_history_needs_joint_actions_of_the_same_length(offline: Client) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        offline.score_trace(games.stag_hunt(), policies=(np.full((4, 2), 0.5),) * 2, history=np.zeros(4))
    assert info.value.fields == ("history",)
    with pytest.raises(InvalidArgumentError):
        offline.score_trace(games.stag_hunt(), joint_actions=np.zeros((4, 2)), history=np.zeros(3))


def test_a_recorder_closed_without_rows_is_invalid_argument(client: Client) -> None:
    recorder = TraceRecorder(client, games.stag_hunt())
    with pytest.raises(InvalidArgumentError, match="no rows"):
        recorder.close(timeout=30)


# -- TraceRecorder.record refuses a bad row at that call --------------------------------------------


def test_record_refuses_history_without_a_joint_action_and_mixed_history(client: Client) -> None:
    rps = NormalFormGame.from_bimatrix(RPS, -RPS)
    actions = regret_matching(rps, 400, seed=3)
    keys = actions[:, 0] % 2  # a history key per row: the row player's action parity
    with TraceRecorder(client, rps, criteria=["averaged_joint_policy"]) as recorder:
        with pytest.raises(InvalidArgumentError, match="joint_action") as info:
            recorder.record(history=1)
        assert info.value.fields == ("history",)
        recorder.record(joint_action=actions[0], history=int(keys[0]))
        with pytest.raises(InvalidArgumentError, match="every row or on none"):
            recorder.record(joint_action=actions[1])
        for a, k in zip(actions[1:], keys[1:], strict=True):
            recorder.record(joint_action=a, history=int(k))
    recorded = recorder.result["averaged_joint_policy"]
    whole = client.score_trace(rps, joint_actions=actions, history=keys, criteria=["averaged_joint_policy"])
    assert recorded.final_value == whole["averaged_joint_policy"].final_value
    assert recorded.z == 400  # the refused rows left no trace


def test_record_refuses_a_joint_policy_of_another_shape(client: Client) -> None:
    with TraceRecorder(client, games.stag_hunt()) as recorder:
        recorder.record(policies=np.array([[0.5, 0.5], [0.5, 0.5]]))  # one (n_players, a) array
        with pytest.raises(InvalidArgumentError, match="differ from the first row"):
            recorder.record(policies=(np.ones(3) / 3, np.array([0.5, 0.5])))
        recorder.record(policies=(np.array([1.0, 0.0]), np.array([1.0, 0.0])))
    assert recorder.result.n_policies == 2


# -- policies as one array, and as torch tensors ----------------------------------------------------


class GradTensor:
    """What torch gives a training loop: ``.detach().cpu().numpy()`` works, ``np.asarray`` does not."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = np.asarray(data, dtype=np.float32)
        self.requires_grad = True

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise RuntimeError(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
        )

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Any:
        raise RuntimeError("iterating a tensor that requires grad yields tensors, not arrays")

    def detach(self) -> GradTensor:
        out = GradTensor(self._data)
        out.requires_grad = False
        return out

    def cpu(self) -> GradTensor:
        return self

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad.")
        return self._data


@pytest.fixture(scope="module")
def rps_play() -> tuple[NormalFormGame, np.ndarray, np.ndarray]:
    rps = NormalFormGame.from_bimatrix(RPS, -RPS)
    xs, ys = fictitious_play(rps, 2000, start=(0, 0))
    return rps, xs, ys


def _check_rps(score: Any, xs: np.ndarray, ys: np.ndarray) -> None:
    c = score["empirical_distribution"]
    curve = _empirical_tv([xs, ys], [np.full(3, 1 / 3)] * 2)
    assert c.z == len(xs)
    assert c.final_value == pytest.approx(curve[-1], rel=1e-9, abs=1e-12)
    assert c.z0 == {eps: _z0(curve, eps) for eps in EPSILONS}


def test_policies_as_one_array_of_shape_z_players_actions(client: Client, rps_play) -> None:
    rps, xs, ys = rps_play
    stacked = np.stack([xs, ys], axis=1)  # (Z, 2, 3)
    score = client.score_trace(rps, policies=stacked, criteria=["empirical_distribution", "last_iterate"])
    _check_rps(score, xs, ys)
    reference = client.score_trace(
        rps, policies=(xs, ys), criteria=["empirical_distribution", "last_iterate"]
    )
    for name in ("empirical_distribution", "last_iterate"):
        assert score[name].final_value == reference[name].final_value
        assert score[name].verdict == reference[name].verdict


def test_policies_as_tensors_that_require_grad(client: Client, rps_play) -> None:
    rps, xs, ys = rps_play
    one = client.score_trace(
        rps, policies=GradTensor(np.stack([xs, ys], axis=1)), criteria=["empirical_distribution"]
    )
    per_player = client.score_trace(
        rps, policies=[GradTensor(xs), GradTensor(ys)], criteria=["empirical_distribution"]
    )
    _check_rps(one, xs, ys)  # 0/1 policies: exact in float32
    assert per_player["empirical_distribution"].final_value == one["empirical_distribution"].final_value
    actions = regret_matching(rps, 300, seed=5)
    sampled = client.score_trace(rps, joint_actions=GradTensor(actions), criteria=["averaged_joint_policy"])
    assert sampled.n_samples == 300
    with TraceRecorder(client, rps, criteria=["empirical_distribution"]) as recorder:
        for x, y in zip(xs, ys, strict=True):
            recorder.record(policies=GradTensor(np.stack([x, y])))
    _check_rps(recorder.result, xs, ys)
