"""A newcomer's first calls through a real server read well and fail clearly (#20, items 4 and 5).

One run against the shared loopback server (tests/conftest.py): a solve asked with
``concepts="nash"`` prints the stag hunt's three equilibria as fractions, a trace scored
with ``criteria="nash_conv"`` prints its verdicts, and a batch with a ragged game in the
middle reports that game's ``InvalidGameError`` while the others are solved. Run with
``-s`` to see the printed results.
"""

from __future__ import annotations

import html.parser

import numpy as np
import pytest
from equilibria.client import Client, EquilibriaError, InvalidGameError

pytestmark = pytest.mark.e2e

STAG_HUNT = ([[4, 0], [3, 3]], [[4, 3], [0, 3]])
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


class _Cells(html.parser.HTMLParser):
    """The text of every table cell, row by row."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_real_results_print_as_short_tables_and_bad_input_fails_clearly(client: Client) -> None:
    # A solve with one concept given as a string, the players named.
    game = {"payoffs": STAG_HUNT, "player_names": ["<Stag>", "Hare"]}
    result = client.solve(game, concepts="nash", exact=True)
    text = str(result)
    print(text)
    lines = text.splitlines()
    assert result.concepts == ("nash",) and len(result) == 3
    assert lines[0] == "SolutionSet: 3 equilibria, complete (vertex_enumeration, exact)"
    assert lines[1].split() == ["#", "<Stag>", "Hare", "payoffs", "NashConv"]
    rows = sorted(" ".join(line.split()[1:]) for line in lines[2:5])
    assert rows == ["(0, 1) (0, 1) (3, 3) 0", "(1, 0) (1, 0) (4, 4) 0", "(3/4, 1/4) (3/4, 1/4) (3, 3) 0"]
    assert lines[5].startswith("  complete: 2-player 2x2 game")
    assert lines[6].startswith("  nash: answered - every equilibrium: 3 equilibria")
    assert len(lines) <= 10
    fragment = result._repr_html_()
    assert "&lt;Stag&gt;" in fragment and "<Stag>" not in fragment
    cells = _Cells(fragment).rows
    assert cells[0] == ["#", "<Stag>", "Hare", "payoffs", "NashConv"] and len(cells) == 4

    # A trace at the mixed equilibrium of rock-paper-scissors, one criterion given as a string.
    uniform = np.full((400, 3), 1 / 3)
    score = client.score_trace((RPS, -RPS), policies=(uniform, uniform), criteria="nash_conv")
    text = str(score)
    print(text)
    lines = text.splitlines()
    assert score.names == ("nash_conv", "nash_conv_average")
    assert lines[0] == "TraceScore: 2 criteria over 400 rows (metric tv, aggregate max)"
    assert [line.split()[:3] for line in lines[2:4]] == [
        ["nash_conv", "converged", "0"],
        ["nash_conv_average", "converged", "0"],
    ]
    assert "  against: 1 equilibrium, complete (vertex_enumeration)" in lines
    assert len(lines) <= 10
    assert [row[:2] for row in _Cells(score._repr_html_()).rows[1:]] == [
        ["nash_conv", "converged"],
        ["nash_conv_average", "converged"],
    ]

    # A batch: the ragged game is that item's error, the games around it are solved.
    items = list(client.solve_many([STAG_HUNT, [[1, 2], [3]], STAG_HUNT], concepts="pure_nash"))
    assert [item.index for item in items] == [0, 1, 2]
    assert [len(items[k].result) for k in (0, 2)] == [2, 2]  # type: ignore[arg-type]
    error = items[1].error
    assert isinstance(error, InvalidGameError) and isinstance(error, EquilibriaError)
    assert str(error) == "solve_many(): games[1]: payoffs: row 1 has 1 entry, row 0 has 2"
    assert error.fields == ("requests[1].normal_form_game.payoffs",)
