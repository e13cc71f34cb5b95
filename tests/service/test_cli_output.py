"""What ``equilibria solve`` and ``equilibria score`` print, against a real server.

The default output is a table (fractions with ``--exact``, the set's completeness and
why, every requested concept's status and answer; a verdict row per trace criterion);
``--json`` is one compact JSON object holding the whole answer.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from equilibria.service.cli import build_parser
from equilibria.service.cli_output import CONCEPT_SECTIONS
from equilibria.v1.codec import CONCEPTS

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

MATCHING_PENNIES = {"A": [[1, -1], [-1, 1]], "B": [[-1, 1], [1, -1]]}
# Battle of the sexes: two pure equilibria and the mixed ((2/3, 1/3), (1/3, 2/3)) paying 2/3 each.
BATTLE_OF_THE_SEXES = {"A": [[2, 0], [0, 1]], "B": [[1, 0], [0, 2]]}


def _cli(*args: str) -> str:
    """Run ``equilibria ARGS`` as a process that must succeed; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "equilibria.service.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def _rows(lines: list[str], first_column: str) -> list[dict[str, str]]:
    """The rows of the table whose header starts with ``first_column``, as column -> cell.

    Columns start where the header's names do (names are two or more spaces apart).
    """
    start = next(k for k, line in enumerate(lines) if line.split()[:1] == [first_column])
    names = [(m.group(), m.start()) for m in re.finditer(r"\S+(?: \S+)*", lines[start])]
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        bounds = [offset for _, offset in names[1:]] + [len(line)]
        rows.append(
            {name: line[offset:end].strip() for (name, offset), end in zip(names, bounds, strict=True)}
        )
    return rows


def _game(tmp_path: pathlib.Path, name: str, game: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(game))
    return str(path)


def test_every_concept_of_the_client_has_a_flag_value_and_a_table_section() -> None:
    """The client's concept table is the CLI's: a concept added there fails here until the CLI prints it."""
    parsed = build_parser().parse_args(["solve", "g.json", "--concepts", ",".join(CONCEPTS.names)])
    assert parsed.concepts == CONCEPTS.names
    assert sorted(CONCEPT_SECTIONS) == sorted(CONCEPTS.names)


def test_every_concept_is_answered_and_printed(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    """Matching pennies (zero-sum, so every concept applies): each concept's status row and answer."""
    sampled = {"payoffs": np.array(MATCHING_PENNIES["A"] + MATCHING_PENNIES["B"]).reshape(2, 2, 2).tolist()}
    sampled["standard_errors"] = np.full((2, 2, 2), 0.01).tolist()  # for noisy_equilibria
    path = _game(tmp_path, "pennies.json", sampled)
    policy = _game(tmp_path, "policy.json", [[0.5, 0.5], [0.25, 0.75]])  # credited with --team sum
    concepts = ",".join(CONCEPTS.names)
    table = _cli(
        "solve", path, "--target", server.target, "--concepts", concepts, "--policy", policy, "--team", "sum"
    ).splitlines()
    for concept in CONCEPTS.names:
        assert any(line.split()[:2] == [concept, "answered"] for line in table if line.strip()), concept
        assert any(line.startswith(f"{concept}:") for line in table), concept  # its answer's section
    assert "pure_nash: pure equilibria: none" in table
    assert "zero_sum_value: value 0 to player 0 (payoffs sum to 0), NashConv 0" in table
    # The CE, the CCE and the four of largest entropy or Gini impurity put 1/4 on each joint action.
    assert table.count("  (1, 1)        0.25") == 6

    answer = json.loads(
        _cli(
            "solve",
            path,
            "--target",
            server.target,
            "--concepts",
            concepts,
            "--policy",
            policy,
            "--team",
            "sum",
            "--json",
        )
    )
    assert [c["concept"] for c in answer["concept_status"]] == list(CONCEPTS.names)
    assert answer["credit_assignment"]["team"] == "sum" and answer["credit_assignment"]["team_return"] == 0.0
    assert {c["status"] for c in answer["concept_status"]} == {"answered"}
    assert answer["zero_sum"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert [c["kind"] for c in answer["correlated_equilibria"]] == ["correlated", "coarse_correlated"]
    for ce in answer["correlated_equilibria"]:
        np.testing.assert_allclose(ce["distribution"], [[0.25, 0.25], [0.25, 0.25]], atol=1e-9)
    assert [s["criterion"] for s in answer["selections"]] == [
        "payoff_dominance",
        "risk_dominance",
        "logit_limit",
    ]
    assert {s["equilibrium"] for s in answer["selections"]} == {0}
    assert answer["pareto_indices"] == [0] and answer["welfare_optima"][0]["function"] == "utilitarian"


def test_alpha_rank_flags_reach_the_server_and_the_ranking_prints(
    server: ServerProcess, tmp_path: pathlib.Path
) -> None:
    prisoners = _game(tmp_path, "pd.json", {"A": [[3, 0], [5, 1]], "B": [[3, 5], [0, 1]]})
    flags = (
        "--concepts",
        "alpha_rank",
        "--alpha",
        "2.5",
        "--population-size",
        "20",
        "--populations",
        "multi",
    )
    table = _cli("solve", prisoners, "--target", server.target, *flags).splitlines()
    (header,) = [line for line in table if line.startswith("alpha_rank:")]
    assert header.startswith("alpha_rank: alpha 2.5 (alpha given), one population per player of 20")
    rows = _rows(table, "profile")
    assert [row["profile"] for row in rows][0] == "(1, 1)" and len(rows) == 4
    assert "  sink components of the response graph: (1, 1)" in table
    answer = json.loads(_cli("solve", prisoners, "--target", server.target, *flags, "--json"))
    ranked = answer["alpha_rank"]
    assert ranked["profiles"][0] == [1, 1] and ranked["alpha"] == 2.5 and ranked["population_size"] == 20
    assert ranked["ended_by"] == "alpha_given" and ranked["sweep"] == [{"alpha": 2.5, "change": None}]
    assert abs(sum(ranked["masses"]) - 1) < 1e-12 and ranked["sink_components"] == [[[1, 1]]]


def test_dynamics_flags_reach_the_server_and_the_basins_print(
    server: ServerProcess, tmp_path: pathlib.Path
) -> None:
    stag_hunt = _game(tmp_path, "stag.json", {"A": [[4, 0], [3, 3]], "B": [[4, 3], [0, 3]]})
    flags = (
        "--concepts",
        "replicator_dynamics,ess",
        "--grid",
        "20",
        "--populations",
        "single",
        "--horizon",
        "100",
    )
    table = _cli("solve", stag_hunt, "--target", server.target, *flags).splitlines()
    (header,) = [line for line in table if line.startswith("replicator_dynamics:")]
    assert header == (
        "replicator_dynamics: replicator dynamic, 19 grid starts, one population, horizon 100; 0 did not settle"
    )
    rows = _rows(table, "reached")
    assert [(row["starts"], row["proved"]) for row in rows] == [("14", "14"), ("4", "4"), ("1", "0")]
    assert (
        rows[0]["reached"] == "(0, 1) (0, 1)" and rows[0]["share [95 %]"] == "0.736842 [0.736842, 0.736842]"
    )
    assert "ess: Maynard Smith ESS (one population), complete" in table
    answer = json.loads(
        _cli(
            "solve",
            stag_hunt,
            "--target",
            server.target,
            *flags,
            "--rule",
            "logit",
            "--temperature",
            "0.2",
            "--json",
        )
    )
    reached = answer["dynamics"]
    assert (reached["rule"], reached["temperature"], reached["starts"], reached["horizon"]) == (
        "logit",
        0.2,
        "grid",
        100.0,
    )
    assert len(reached["outcomes"]) == 19 and reached["unsettled"] == 0
    assert sorted(len(c["strategies"]) for c in answer["ess"]["strategies"]) == [2, 2]
    sampled = json.loads(
        _cli(
            "solve",
            stag_hunt,
            "--target",
            server.target,
            "--concepts",
            "replicator_dynamics",
            "--samples",
            "10",
            "--sample-seed",
            "4",
            "--json",
        )
    )["dynamics"]
    assert (sampled["starts"], sampled["seed"], len(sampled["outcomes"])) == ("sample", 4, 10)


def test_exact_strategies_print_as_fractions(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = _game(tmp_path, "battle.json", BATTLE_OF_THE_SEXES)
    exact = _cli("solve", path, "--target", server.target, "--exact")
    rows = _rows(exact.splitlines(), "#")
    assert [row["#"] for row in rows] == ["0", "1", "2"]
    (mixed,) = [row for row in rows if row["player 0"] == "(2/3, 1/3)"]
    assert mixed == {
        "#": mixed["#"],
        "player 0": "(2/3, 1/3)",
        "player 1": "(1/3, 2/3)",
        "payoffs": "2/3, 2/3",
        "NashConv": "0",
    }
    assert "0.6667" not in exact and "complete: every equilibrium of the game" in exact
    floats = _cli("solve", path, "--target", server.target)
    assert "(0.6667, 0.3333)" in floats and "2/3" not in floats


def test_json_is_one_object_with_the_whole_answer(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = _game(tmp_path, "pennies.json", MATCHING_PENNIES)
    out = _cli(
        "solve", path, "--target", server.target, "--exact", "--json", "--concepts", "nash, welfare_nash"
    )
    assert len(out.splitlines()) == 1  # one compact line, not one number per line
    answer = json.loads(out)
    assert answer["complete"] is True and answer["exact"] is True
    assert answer["method"] == "vertex_enumeration" and answer["method_reason"]
    assert answer["concepts"] == ["nash", "welfare_nash"]
    (eq,) = answer["equilibria"]
    assert eq["exact_strategies"] == [["1/2", "1/2"], ["1/2", "1/2"]]
    assert eq["exact_payoffs"] == ["0", "0"] and eq["nash_conv"] == 0.0
    assert eq["supports"] == [[0, 1], [0, 1]]
    assert answer["welfare_optima"] == [
        {
            "function": "utilitarian",
            "value": 0.0,
            "equilibria": [0],
            "method": "enumeration",
            "certified": True,
            "disagreement": None,
        }
    ]


def test_options_reach_the_server(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    """--max-equilibria, --welfare, --selection and --tol are sent: the answer follows them."""
    path = _game(tmp_path, "battle.json", BATTLE_OF_THE_SEXES)
    common = ("solve", path, "--target", server.target, "--json")
    one = json.loads(_cli(*common, "--max-equilibria", "1", "--tol", "1e-7"))
    assert len(one["equilibria"]) == 1 and one["complete"] is False and one["tolerance"] == 1e-7
    chosen = json.loads(_cli(*common, "--concepts", "welfare_nash", "--welfare", "egalitarian, nash_product"))
    assert [w["function"] for w in chosen["welfare_optima"]] == ["egalitarian", "nash_product"]
    only = json.loads(_cli(*common, "--concepts", "selection", "--selection", "risk_dominance"))
    assert [s["criterion"] for s in only["selections"]] == ["risk_dominance"]


def test_a_stochastic_game_prints_policies_and_stage_selections(
    server: ServerProcess, tmp_path: pathlib.Path
) -> None:
    stag = [[[4, 0], [3, 3]], [[4, 3], [0, 3]]]  # the stag hunt played twice
    game = {"rewards": [stag], "transitions": [[[[1], [1]], [[1], [1]]]], "discount": 1.0, "horizon": 2}
    path = _game(tmp_path, "stag2.json", game)
    table = _cli("solve", path, "--target", server.target, "--stage-selection", "utilitarian, risk_dominance")
    lines = table.splitlines()
    assert "method: backward_induction" in table and "policies of #0:" in lines and "policies of #1:" in lines
    stage = lines.index("stage selection (backward induction):")
    selected = {line.split()[0]: line.split()[1] for line in lines[stage + 2 : stage + 4]}
    assert selected == {"utilitarian": "#0", "risk_dominance": "#1"}
    assert [(row["payoffs"], row["NashConv"]) for row in _rows(lines, "#")] == [("8, 8", "0"), ("6, 6", "0")]
    policies = lines.index("policies of #0:")
    assert _rows(lines[policies + 1 :], "stage") == [
        {"stage": str(t), "state": "0", "player 0": "(1, 0)", "player 1": "(1, 0)"} for t in (0, 1)
    ]


def _pennies_trace(tmp_path: pathlib.Path) -> str:
    """Both players approach (1/2, 1/2) at rate 1/z, the game stored as ``payoffs``."""
    p = 0.5 + 0.5 / np.arange(1, 2001)
    path = tmp_path / "trace.npz"
    np.savez(
        path,
        policies_0=np.stack([p, 1 - p], axis=1),
        policies_1=np.stack([1 - p, p], axis=1),
        payoffs=np.array([MATCHING_PENNIES["A"], MATCHING_PENNIES["B"]], dtype=float),
    )
    return str(path)


def test_score_prints_a_verdict_per_criterion(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    trace = _pennies_trace(tmp_path)
    lines = _cli(
        "score", trace, "--target", server.target, "--criteria", "last_iterate, nash_conv"
    ).splitlines()
    assert lines[0].startswith("trace: 2000 rows (2000 policies, 0 sampled joint actions, 0 returns)")
    rows = {row["criterion"]: row for row in _rows(lines, "criterion")}
    assert sorted(rows) == ["last_iterate", "nash_conv", "nash_conv_average"]
    assert list(rows["last_iterate"]) == [
        "criterion", "verdict", "epsilon", "final", "rate", "z0", "radius", "nearest", "evidence"
    ]  # fmt: skip
    assert {row["verdict"] for row in rows.values()} == {"converged"}
    assert rows["last_iterate"]["epsilon"] == "0.01" and rows["last_iterate"]["nearest"] == "point 0"
    assert rows["last_iterate"]["rate"].startswith("-1 (R2 ")  # the distance falls as 1/z
    assert "below" in rows["last_iterate"]["evidence"]

    answer = json.loads(_cli("score", trace, "--target", server.target, "--json", "--epsilons", "0.2, 0.02"))
    assert answer["z_seen"] == 2000 and answer["epsilons"] == [0.2, 0.02]
    assert answer["criteria"]["last_iterate"]["verdict"] == "converged"
    assert answer["criteria"]["last_iterate"]["epsilon"] == 0.02
    assert answer["solution_set"]["complete"] is True and len(answer["solution_set"]["equilibria"]) == 1
