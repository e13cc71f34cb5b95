"""End-to-end: credit assignment through the client and a real server, for normal-form and
stochastic team games (the policy on the wire, the answers, the errors, the cache)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import grpc
import numpy as np
import pytest
from equilibria.client import Client, CreditOptions, InvalidArgumentError
from equilibria.solver import CreditOptions as SolverCredit
from equilibria.solver import NormalFormGame, solve, solve_stochastic
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import game_pb2, solution_pb2
from equilibria.v1.codec import encode_tensor

from ..conftest import ServerProcess
from .test_credit import _two_state_game

pytestmark = pytest.mark.e2e

CLIMBING = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], dtype=float)
TEAM = np.stack([CLIMBING, CLIMBING])
FIRST = [1.0, 0.0, 0.0]


def test_the_climbing_game_credits_by_hand(client: Client) -> None:
    """Both on their first action with defaults (1, 2): G moves from G(1, 2) = 6 to 11; the
    Shapley values split those 5 as (17.5, -12.5) (v({0}) = G(0, 2) = 0, v({1}) = G(1, 0) =
    -30), and agent 0's difference reward is G(0, 0) - G(1, 0) = 41."""
    result = client.solve(
        TEAM,
        concepts=["nash", "credit_assignment"],
        credit=CreditOptions(policy=(FIRST, FIRST), default_actions=(1, 2)),
    )
    credit = result.credit_assignment
    assert credit is not None and credit.team == "common" and not credit.correlated
    assert credit.team_return == 11.0 and credit.coalition_baseline == 6.0
    assert credit.shapley_values.tolist() == [17.5, -12.5]
    assert credit.difference_rewards.tolist() == [41.0, 11.0]  # G(0, 0) - G(0, 2) for agent 1
    assert credit.coalition_values.tolist() == [6.0, 0.0, -30.0, 11.0]
    assert credit.difference_tensors.shape == (2, 3, 3) and credit.default_actions == (1, 2)
    assert [s.status for s in result.concept_status] == ["answered", "answered"]
    assert "credit assignment" in str(result) and "17.5" in str(result)


def test_the_answer_is_the_solvers_answer_for_product_and_joint_policies(client: Client) -> None:
    rng = np.random.default_rng(8)
    payoff = rng.normal(size=(3, 2, 4))
    game = np.stack([payoff] * 3)
    product = tuple(rng.dirichlet(np.ones(k)) for k in (3, 2, 4))
    joint = rng.dirichlet(np.ones(24)).reshape(3, 2, 4)
    for policy, counterfactual in ((product, "action"), (joint, "aristocrat"), (product, "aristocrat")):
        options = {"policy": policy, "counterfactual": counterfactual, "default_actions": (2, 1, 3)}
        remote = client.solve(
            game, concepts="credit_assignment", credit=CreditOptions(**options)
        ).credit_assignment
        local = solve(
            NormalFormGame(game), ["credit_assignment"], credit=SolverCredit(**options)
        ).credit_assignment
        assert remote is not None and local is not None
        assert remote.correlated == isinstance(policy, np.ndarray) and remote.counterfactual == counterfactual
        for name in ("difference_rewards", "difference_tensors", "shapley_values", "coalition_values"):
            np.testing.assert_array_equal(getattr(remote, name), getattr(local, name))
        np.testing.assert_allclose(
            remote.shapley_values.sum(), remote.team_return - remote.coalition_baseline
        )


def test_a_different_policy_is_not_served_from_the_cache(client: Client) -> None:
    """The cache key holds every entry of the policy: two policies a hair apart are two answers."""
    uniform = np.full(400, 1 / 400)
    other = uniform.copy()
    other[[100, 300]] += [1e-6, -1e-6]
    game = np.stack([np.outer(np.arange(400.0), np.ones(2))] * 2)
    answers = [
        client.solve(game, concepts="credit_assignment", credit=CreditOptions(policy=(p, [0.5, 0.5])))
        for p in (uniform, other, uniform)
    ]
    returns = [a.credit_assignment.team_return for a in answers]
    assert returns[0] == returns[2] and returns[1] == pytest.approx(returns[0] - 200 * 1e-6, rel=1e-12)


def test_a_stochastic_team_game_is_credited_per_state(client: Client) -> None:
    game = _two_state_game()  # the client sends the solver's StochasticGame as it is
    half = np.array([[0.5, 0.5], [1.0, 0.0]])
    credit = CreditOptions(policy=(half, half))
    alone = client.solve_stochastic(game, concepts="credit_assignment", credit=credit)
    assert alone.method == "none" and alone.equilibria == () and alone.concept_status[0].status == "answered"
    local = solve_stochastic(
        game, ["credit_assignment"], credit=SolverCredit(policy=(half, half))
    ).credit_assignment
    remote = alone.credit_assignment
    assert remote is not None and local is not None and remote.values.shape == (2,)
    for name in ("values", "q_values", "difference_rewards", "shapley_values", "coalition_baselines"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(local, name))
    np.testing.assert_allclose(
        remote.shapley_values.sum(axis=1), remote.values - remote.coalition_baselines, atol=1e-12
    )
    both = client.solve_stochastic(game, concepts=["credit_assignment", "nash"], credit=credit)
    assert [s.concept for s in both.concept_status] == ["credit_assignment", "nash"]
    assert both.equilibria and both.credit_assignment is not None
    assert "credit assignment" in str(both)


def _raw(
    server: ServerProcess, payoffs: np.ndarray, options: solution_pb2.CreditAssignmentOptions
) -> grpc.RpcError:
    request = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(payoffs)),
        concepts=[solution_pb2.SOLUTION_CONCEPT_CREDIT_ASSIGNMENT],
        credit_assignment=options,
    )
    with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as info:
        service_grpc.EquilibriaServiceStub(channel).SolveGame(request, timeout=60)
    return info.value


_UNIFORM = [encode_tensor(np.full(3, 1 / 3)), encode_tensor(np.full(3, 1 / 3))]


@pytest.mark.parametrize(
    ("payoffs", "options", "field"),
    [
        (TEAM, solution_pb2.CreditAssignmentOptions(), "credit_assignment.policy"),
        (
            TEAM,
            solution_pb2.CreditAssignmentOptions(
                policies=_UNIFORM, joint_policy=encode_tensor(np.full((3, 3), 1 / 9))
            ),
            "credit_assignment.joint_policy",
        ),
        (TEAM, solution_pb2.CreditAssignmentOptions(policies=_UNIFORM, team=9), "credit_assignment.team"),
        (
            TEAM,
            solution_pb2.CreditAssignmentOptions(policies=_UNIFORM, counterfactual=7),
            "credit_assignment.counterfactual",
        ),
        (
            TEAM,
            solution_pb2.CreditAssignmentOptions(policies=_UNIFORM, default_actions=[0, 3]),
            "credit_assignment.default_actions",
        ),
        (
            TEAM,
            solution_pb2.CreditAssignmentOptions(policies=[encode_tensor(np.full(2, 0.5)), _UNIFORM[1]]),
            "credit_assignment.policy",
        ),
        (
            TEAM,
            solution_pb2.CreditAssignmentOptions(
                policies=[encode_tensor(np.array([0.5, 0.6, -0.1])), _UNIFORM[1]]
            ),
            "credit_assignment.policy",
        ),
        (
            np.stack([CLIMBING, -CLIMBING]),
            solution_pb2.CreditAssignmentOptions(policies=_UNIFORM),
            "credit_assignment.team",
        ),
    ],
    ids=[
        "no-policy",
        "both",
        "team",
        "counterfactual",
        "default-action",
        "shape",
        "not-a-distribution",
        "not-a-team",
    ],
)
def test_bad_options_are_invalid_arguments_naming_the_field(
    server: ServerProcess, payoffs: np.ndarray, options: solution_pb2.CreditAssignmentOptions, field: str
) -> None:
    err = _raw(server, payoffs, options)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert field in str(err.trailing_metadata()), (field, err.trailing_metadata())


def test_the_client_checks_the_options_before_sending(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(TEAM, concepts="credit_assignment", credit={"policy": (FIRST, FIRST)})  # type: ignore[arg-type]
    assert refused.value.fields == ("credit",)
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(
            TEAM, concepts="credit_assignment", credit=CreditOptions(policy=(FIRST, FIRST), team="everyone")
        )
    assert refused.value.fields == ("credit_assignment.team",) and "sum" in refused.value.message
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(
            TEAM,
            concepts="credit_assignment",
            credit=CreditOptions(policy=(FIRST, FIRST), default_actions=(-1, 0)),
        )
    assert refused.value.fields == ("credit_assignment.default_actions",)
    with pytest.raises(InvalidArgumentError) as refused:
        client.solve(TEAM, concepts="credit_assignment", credit=CreditOptions(policy=(["a"], FIRST)))
    assert refused.value.fields == ("credit_assignment.policies",)
    summed = client.solve(
        np.stack([CLIMBING, -CLIMBING + 1]),
        concepts="credit_assignment",
        credit=CreditOptions(policy=(FIRST, FIRST), team="sum"),
    )
    assert summed.credit_assignment.team == "sum" and summed.credit_assignment.team_return == 1.0


def test_the_cli_reads_the_policy_file(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    game = tmp_path / "climbing.json"
    game.write_text(json.dumps({"payoffs": TEAM.tolist()}), encoding="utf-8")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps([FIRST, FIRST]), encoding="utf-8")
    command = [sys.executable, "-m", "equilibria.service.cli", "solve", str(game), "--target", server.target]
    flags = ["--concepts", "credit_assignment", "--policy", str(policy), "--default-actions", "1,2"]
    out = subprocess.run(
        [*command, *flags, "--json"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    credit = json.loads(out)["credit_assignment"]
    assert credit["shapley_values"] == [17.5, -12.5] and credit["default_actions"] == [1, 2]
    table = subprocess.run(command + flags, capture_output=True, text=True, check=True, timeout=120).stdout
    assert "credit_assignment: common team return 11, action counterfactual, default actions (1, 2)" in table
    joint = tmp_path / "joint.json"
    joint.write_text(json.dumps({"joint": (np.eye(3) / 3).tolist()}), encoding="utf-8")
    flags[3] = str(joint)
    out = subprocess.run(
        [*command, *flags, "--json"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert json.loads(out)["credit_assignment"]["correlated"] is True
    bad = subprocess.run(
        [*command, "--concepts", "credit_assignment", "--policy", str(game)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--policy" in bad.stderr
