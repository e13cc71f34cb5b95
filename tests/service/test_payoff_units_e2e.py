"""Through a real server: answers do not depend on the payoffs' units, payoffs of 1e308 are
solved, and every requested concept comes back with its status (issue 17).

The client, the CLI's JSON and the HTML report all carry the per-concept status. Each
equilibrium is re-checked with the numpy recomputation of tests/certificates.py, in each
player's own units.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from equilibria.client import Client

from .. import certificates as cert
from ..conftest import ServerProcess

pytestmark = pytest.mark.e2e


def _pure(result: object) -> set[tuple[int, ...]]:
    return {
        tuple(int(np.argmax(s)) for s in eq.strategies)
        for eq in result.equilibria  # type: ignore[attr-defined]
        if all(np.count_nonzero(s) == 1 for s in eq.strategies)
    }


@pytest.mark.parametrize("seed", range(4))
def test_per_player_scales_through_the_client(client: Client, seed: int) -> None:
    rng = np.random.default_rng([17, 10, seed])
    payoffs = rng.integers(-3, 4, (2, 4, 3)).astype(np.float64)
    reference = client.solve(payoffs, concepts=("nash", "pure_nash"))
    for scales in ((1e-12, 1.0), (1.0, 1e12), (1e-9, 1e9)):
        scaled = payoffs * np.array(scales)[:, None, None]
        result = client.solve(scaled, concepts=("nash", "pure_nash"))
        assert result.complete == reference.complete
        assert len(result) == len(reference)
        assert _pure(result) == _pure(reference)
        for k, eq in enumerate(result.equilibria):
            cert.assert_certifies(scaled, eq, f"seed {seed} scales {scales} #{k}")


def test_overflowing_payoffs_through_the_client(client: Client) -> None:
    a = np.array([[1e308, -1e308], [-1e308, 1e308]])
    result = client.solve((a, -a))
    assert result.complete and len(result) == 1
    np.testing.assert_allclose(np.concatenate(result.equilibria[0].strategies), 0.5, atol=1e-12)
    assert result.status_of("nash").status == "answered"  # type: ignore[union-attr]


def test_concept_status_through_the_client(client: Client) -> None:
    rng = np.random.default_rng([17, 11])
    # {0, 1} payoffs: very degenerate; at 24 x 24 enumeration is far over the budget by estimate.
    payoffs = rng.integers(0, 2, (2, 24, 24)).astype(np.float64)
    alone = client.solve(payoffs, concepts=("pure_nash",))
    both = client.solve(payoffs, concepts=("nash", "pure_nash", "welfare_nash"))
    assert _pure(both) == _pure(alone) and len(alone) > 1
    statuses = {c.concept: c for c in both.concept_status}
    assert list(statuses) == ["nash", "pure_nash", "welfare_nash"]
    assert statuses["nash"].status == "partial" and "24x24" in statuses["nash"].reason
    assert statuses["pure_nash"].status == "answered"
    assert f"all {len(alone)} pure equilibria" in statuses["pure_nash"].reason
    # A MILP solved to optimality certifies the welfare maximum without enumerating.
    assert statuses["welfare_nash"].status == ("answered" if both.welfare_optima[0].certified else "partial")


def test_cli_json_and_report_carry_the_status(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "chicken.json"
    path.write_text(json.dumps({"A": [[6, 2], [7, 0]], "B": [[6, 7], [2, 0]]}))
    report = tmp_path / "chicken.html"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "equilibria.service.cli",
            "solve",
            str(path),
            "--target",
            server.target,
            "--concepts",
            "pure_nash,welfare_nash",
            "--report",
            str(report),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(out.stdout)
    assert [c["concept"] for c in answer["concept_status"]] == ["pure_nash", "welfare_nash"]
    assert {c["status"] for c in answer["concept_status"]} == {"answered"}
    (optimum,) = answer["welfare_optima"]
    assert optimum["value"] == pytest.approx(28 / 3) and optimum["certified"] is True
    page = report.read_text()
    assert 'id="status-pure_nash"' in page and 'id="status-welfare_nash"' in page


def test_stochastic_statuses_and_reward_scales_through_the_client(client: Client) -> None:
    pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    transitions = np.ones((1, 2, 2, 1))
    reference = client.solve_stochastic(pennies[None], transitions, discount=0.9, concepts=["zero_sum_value"])
    for scales in ((1e-10, 1e-10), (1e10, 1e-6)):
        rewards = pennies[None] * np.array(scales)[None, :, None, None]
        result = client.solve_stochastic(
            rewards, transitions, discount=0.9, concepts=["zero_sum_value", "nash"]
        )
        assert [c.concept for c in result.concept_status] == ["zero_sum_value", "nash"]
        assert result.status_of("zero_sum_value").status == "answered"  # type: ignore[union-attr]
        assert result.zero_sum is not None and reference.zero_sum is not None
        np.testing.assert_allclose(
            result.zero_sum.values, reference.zero_sum.values * scales[0], atol=1e-9 * scales[0]
        )
        page = result.to_html()
        assert 'id="status-zero_sum_value"' in page
