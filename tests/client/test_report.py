"""Reports people look at (#9): trace reports, solution-set reports, the missing-extra error.

The traces are those of the SPEC section 6 dynamics (tests/dynamics.py), scored through
a real server; the reports are rendered client-side (matplotlib, Agg) and checked for
content: every criterion with its verdict, the z0 marks, the approached equilibrium,
figures of the expected pixel size, no external links, the strategy simplex.
"""

from __future__ import annotations

import json
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
from equilibria.client import Client
from equilibria.client._report import CURVE_PIXELS, PAYOFF_PIXELS, SIMPLEX_PIXELS
from equilibria.solver import NormalFormGame, TraceChunk, score_trace, solve

from .. import games
from ..conftest import ServerProcess
from ..dynamics import fictitious_play, replicator

pytestmark = pytest.mark.e2e

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _traces() -> dict[str, tuple[NormalFormGame, tuple[np.ndarray, np.ndarray], dict]]:
    rps = NormalFormGame.from_bimatrix(RPS, -RPS)
    rng = np.random.default_rng(1)
    samples = {
        "joint_actions": rng.integers(0, 3, size=(2000, 2)),
        "returns": rng.normal(0.0, 0.2, size=(2000, 2)),
    }
    stag = games.stag_hunt()
    return {
        "rps-fictitious-play": (rps, fictitious_play(rps, 2000, start=(0, 0)), samples),
        "shapley-fictitious-play": (games.shapley_game(), fictitious_play(games.shapley_game(), 4000), {}),
        "stag-hunt-replicator": (
            stag,
            replicator(stag, np.array([0.9, 0.1]), np.array([0.9, 0.1]), 1500),
            {},
        ),
    }


TRACES = _traces()


@pytest.mark.parametrize("name", list(TRACES))
def test_trace_report_shows_every_criterion_its_verdict_and_the_simplex(
    client: Client, tmp_path: pathlib.Path, name: str
) -> None:
    game, (xs, ys), extra = TRACES[name]
    score = client.score_trace(game, policies=(xs, ys), **extra)
    page = score.to_html(trace=(xs, ys), png_dir=tmp_path)
    assert page.startswith("<!DOCTYPE html>") and not _EXTERNAL.search(page)
    for c in score.criteria:
        row = re.search(rf'<tr id="row-{c.name}" data-verdict="{c.verdict}">(.*?)</tr>', page, re.S)
        assert row is not None, c.name
        assert c.verdict.replace("_", " ") in row.group(1)
        for eps, z0 in c.z0.items():  # the z0 of each threshold, in the table and as a figure legend
            if z0 is not None:
                assert f'<td class="z0">{z0}</td>' in row.group(1), (c.name, eps)
        assert f'id="figure-criterion_{c.name}"' in page
        png = (tmp_path / f"criterion_{c.name}.png").read_bytes()
        assert _png_size(png) == CURVE_PIXELS and len(png) > 5000
    assert _png_size((tmp_path / "nash_conv.png").read_bytes()) == CURVE_PIXELS
    kind = "square" if game.num_actions == (2, 2) else "panels"
    assert 'id="figure-simplex"' in page
    assert _png_size((tmp_path / "simplex.png").read_bytes()) == SIMPLEX_PIXELS[kind]
    # The approached equilibrium is named with its strategies.
    assert score.selected is not None and score.selected[0] == "point"
    assert re.search(rf'<p id="selected">The trace approached <b>E{score.selected[1]} = \(', page)
    # Sampled criteria come with per-checkpoint radii: a confidence band.
    sampled = [c for c in score.criteria if c.name in ("averaged_joint_policy", "average_return")]
    assert len(sampled) == (2 if extra else 0)
    for c in sampled:
        assert c.checkpoint_radii is not None and c.checkpoint_radii.shape == c.values.shape
        assert np.isfinite(c.checkpoint_radii[-1]) and c.checkpoint_radii[-1] > 0
    assert page.count("Shaded: the confidence band.") == len(sampled)
    assert score["last_iterate"].checkpoint_radii is None


def test_checkpoint_radii_do_not_depend_on_chunking_and_end_at_the_final_radius() -> None:
    rps = NormalFormGame.from_bimatrix(RPS, -RPS)
    rng = np.random.default_rng(0)
    returns = rng.normal(0.0, 0.3, size=(2048, 2))  # 2048 = 2**11 is a checkpoint
    actions = rng.integers(0, 3, size=(2048, 2))
    whole = score_trace(rps, solve(rps), TraceChunk(returns=returns, joint_actions=actions))
    parts = score_trace(
        rps,
        solve(rps),
        [
            TraceChunk(returns=returns[a:b], joint_actions=actions[a:b])
            for a, b in ((0, 77), (77, 900), (900, 2048))
        ],
    )
    for name in ("average_return", "averaged_joint_policy"):
        w, p = whole[name], parts[name]
        np.testing.assert_array_equal(w.checkpoint_radii, p.checkpoint_radii)
        assert w.checkpoints_z[-1] == 2048
        assert w.checkpoint_radii[-1] == pytest.approx(w.confidence_radius, rel=1e-12)
    assert whole["average_return"].checkpoint_radii[0] == np.inf  # one return: no variance


def test_cli_score_and_solve_write_reports(server: ServerProcess, tmp_path: pathlib.Path) -> None:
    game, (xs, ys), _ = TRACES["stag-hunt-replicator"]
    np.savez(tmp_path / "trace.npz", policies_0=xs, policies_1=ys, payoffs=game.payoffs)
    cli = [sys.executable, "-m", "equilibria.service.cli"]
    subprocess.run(
        [*cli, "score", str(tmp_path / "trace.npz"), "--target", server.target, "--report",
         str(tmp_path / "score.html"), "--report-png", str(tmp_path / "png")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    page = (tmp_path / "score.html").read_text()
    assert 'id="figure-simplex"' in page and 'id="row-last_iterate" data-verdict="converged"' in page
    assert (tmp_path / "png" / "simplex.png").stat().st_size > 1000
    (tmp_path / "chicken.json").write_text(json.dumps({"A": [[6, 2], [7, 0]], "B": [[6, 7], [2, 0]]}))
    out = subprocess.run(
        [*cli, "solve", str(tmp_path / "chicken.json"), "--target", server.target, "--concepts",
         "nash,pareto_nash,welfare_nash", "--report", str(tmp_path / "solve.html"), "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert len(json.loads(out.stdout)["equilibria"]) == 3  # the JSON still goes to stdout
    page = (tmp_path / "solve.html").read_text()
    assert page.count('class="pure-eq"') == 2 and "utilitarian welfare maximum 9.333" in page


# -- solution sets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "concepts", "pure", "pareto", "welfare"),
    [
        ("prisoners_dilemma", ("nash",), 1, "E0", "E0"),
        ("stag_hunt", ("nash", "pareto_nash", "welfare_nash"), 2, None, None),
        ("chicken", ("nash", "pareto_nash", "welfare_nash"), 2, None, None),
        ("matching_pennies", ("nash",), 0, "E0", "E0"),
    ],
)
def test_solution_set_report_marks_pure_equilibria_pareto_welfare_and_nash_conv(
    client: Client, tmp_path: pathlib.Path, name: str, concepts, pure: int, pareto, welfare
) -> None:
    game = getattr(games, name)()
    result = client.solve(game, concepts=list(concepts))
    page = result.to_html(game, png_dir=tmp_path)
    assert not _EXTERNAL.search(page)
    assert page.count('class="pure-eq"') == pure == sum(eq.is_pure for eq in result.equilibria)
    for eq in result.equilibria:
        if eq.is_pure:
            profile = ",".join(str(int(np.argmax(s))) for s in eq.strategies)
            assert f'data-profile="{profile}"' in page
    expected_pareto = pareto or ", ".join(f"E{k}" for k in result.pareto_indices)
    assert re.search(rf'<p id="pareto">Pareto-optimal equilibria \(.*?\): {expected_pareto}\.</p>', page)
    optima = result.welfare_optima
    expected_welfare = welfare or ", ".join(f"E{k}" for k in optima[0].equilibrium_indices)
    assert "welfare maximum" in page and f"at {expected_welfare} (" in page
    assert page.count('class="nash-conv"') == len(result.equilibria)
    assert "complete: provably every equilibrium" in page and f"<b>{result.method}</b>" in page
    assert _png_size((tmp_path / "payoff_space.png").read_bytes()) == PAYOFF_PIXELS
    assert _png_size((tmp_path / "simplex.png").read_bytes()) == SIMPLEX_PIXELS["square"]


def test_chicken_report_names_the_welfare_maximising_mixed_equilibrium(client: Client) -> None:
    game = games.chicken()
    result = client.solve(game, concepts=["nash", "welfare_nash"])
    (optimum,) = result.welfare_optima
    (k,) = optimum.equilibrium_indices
    assert not result.equilibria[k].is_pure
    page = result.to_html(game)
    assert f"utilitarian welfare maximum 9.333 at E{k} (from the server)" in page
    figures = result.plot(game)
    assert set(figures) == {"payoff_space", "simplex"}


def test_report_shows_the_evolutionary_answers(client: Client) -> None:
    """The basins table (one row per rest point, its starts, share, proved starts and
    equilibrium) and the ESS table, as the answer holds them."""
    from equilibria.client import DynamicsOptions

    stag_hunt = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
    result = client.solve(
        stag_hunt, concepts=["nash", "replicator_dynamics", "ess"], dynamics=DynamicsOptions(grid=20)
    )
    page = result.to_html(stag_hunt)
    assert (
        "<h2>replicator dynamics</h2><p>19 grid starts, horizon 200, one population; 0 did not settle" in page
    )
    for basin in result.dynamics.basins:
        assert f"<td>{basin.count}</td>" in page and f"<td>E{basin.equilibrium_index}</td>" in page
    assert page.count("<td>yes</td>") == len(result.ess.strategies) == 2
    assert "Maynard Smith ESS (one population), complete" in page


def test_stochastic_solution_summary(client: Client) -> None:
    pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    result = client.solve_stochastic(
        np.stack([pennies, 2 * pennies]), np.full((2, 2, 2, 2), 0.5), discount=0.5,
        concepts=["nash", "zero_sum_value"],
    )  # fmt: skip
    page = result.to_html()
    assert "<th>state 1</th>" in page and f"<b>{result.method}</b>" in page
    assert page.count('class="nash-conv"') == len(result.equilibria) >= 1
    assert "Zero-sum values" in page


# -- the optional extra ----------------------------------------------------------------------------

_WITHOUT_MATPLOTLIB = """
import sys
sys.modules["matplotlib"] = None  # as if equilibria[plot] were not installed
import numpy as np
from equilibria.client import CriterionScore, TraceScore
from equilibria.client._types import SolutionSet
c = CriterionScore("last_iterate", np.array([1, 2]), np.array([0.5, 0.25]), 0.25, "inconclusive", None,
                   "too short", None, None, 2, 1.0, {}, True, None, None, False, 0)
score = TraceScore((c,), 2, 0, 0, 2, None, "", False, "tv", "max", (0.1,), ())
empty = SolutionSet("id", (), (), True, "m", "r", (), 1e-9, ("nash",), False, 0.0)
for call in (score.plot, score.to_html, lambda: empty.to_html(([[1]], [[1]]))):
    try:
        call()
    except ImportError as exc:
        print(exc)
    else:
        print("no error")
"""


def test_reports_without_matplotlib_name_the_extra() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_MATPLOTLIB], capture_output=True, text=True, timeout=60, check=True
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3, out.stdout + out.stderr
    assert all("pip install 'equilibria[plot]'" in line for line in lines)
