"""The ``equilibria`` command line against a real server."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e

# Gambit's e02 example (payoff format): 2 x 3, three equilibria.
E02 = """NFG 1 R "Selten (IJGT, 75), Figure 2, normal form" { "Player 1" "Player 2" } { 3 2 }

1 1 0 2 0 2 1 1 0 3 2 0
"""


def _solve(server: ServerProcess, path: pathlib.Path, *extra: str) -> dict:
    """``equilibria solve PATH --json``: its one JSON object."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "equilibria.service.cli",
            "solve",
            str(path),
            "--target",
            server.target,
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_solve_an_nfg_file(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "e02.nfg"
    path.write_text(E02)
    answer = _solve(server, path, "--exact")
    assert answer["complete"] and answer["method"] == "vertex_enumeration"
    profiles = {tuple(tuple(s) for s in eq["exact_strategies"]) for eq in answer["equilibria"]}
    # Player 1 has 3 actions, player 2 has 2 (first player's action varies fastest).
    assert (("1", "0", "0"), ("1", "0")) in profiles
    assert all(eq["nash_conv"] <= 1e-12 for eq in answer["equilibria"])


def test_solve_a_json_file_with_welfare(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "chicken.json"
    path.write_text(json.dumps({"A": [[6, 2], [7, 0]], "B": [[6, 7], [2, 0]]}))
    answer = _solve(server, path, "--concepts", "nash,welfare_nash,pareto_nash")
    assert len(answer["equilibria"]) == 3 and answer["pareto_indices"] == [0, 1, 2]
    (optimum,) = answer["welfare_optima"]
    assert optimum["value"] == pytest.approx(28 / 3)


def test_bad_game_file_exits_with_the_field(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"payoffs": [[[1, None]], [[0, 1]]]}))
    out = subprocess.run(
        [sys.executable, "-m", "equilibria.service.cli", "solve", str(path), "--target", server.target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Refused by the server (a null payoff travels as NaN): a usage error, in one line naming the field.
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("equilibria solve: INVALID_ARGUMENT: ") and "normal_form_game.payoffs" in line


def test_solve_a_stochastic_game_json_file(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    # The stag hunt played twice (undiscounted), transitions in coordinate form.
    stag = [[[4, 0], [3, 3]], [[4, 3], [0, 3]]]
    path = tmp_path / "stag.json"
    path.write_text(
        json.dumps(
            {
                "rewards": [stag],
                "transitions": {
                    "rows": [0, 1, 2, 3],
                    "next_states": [0, 0, 0, 0],
                    "probabilities": [1, 1, 1, 1],
                },
                "discount": 1.0,
                "horizon": 2,
            }
        )
    )
    result = _solve(server, path, "--stage-selection", "utilitarian,risk_dominance")
    assert result["method"] == "backward_induction"
    assert sorted(eq["payoffs"] for eq in result["equilibria"]) == [[6.0, 6.0], [8.0, 8.0]]
    assert {s["criterion"] for s in result["stage_selections"]} == {"utilitarian", "risk_dominance"}
    assert all(eq["max_state_gap"] <= 1e-9 for eq in result["equilibria"])


def test_available_cpus_reads_a_cgroup_quota(tmp_path: pathlib.Path) -> None:
    """A container's CPU quota caps the default worker count (cgroup v2, then v1)."""
    from equilibria.service.limits import available_cpus

    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(str(tmp_path)) == affinity  # no cgroup files: the affinity mask
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(str(tmp_path)) == affinity  # unlimited
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert available_cpus(str(tmp_path)) == 1  # half a CPU rounds up to one worker
    (tmp_path / "cpu.max").write_text(f"{150000 * affinity} 100000\n")
    assert available_cpus(str(tmp_path)) == affinity  # a quota above the mask: the mask
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(str(tmp_path)) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert available_cpus(str(tmp_path)) == affinity
