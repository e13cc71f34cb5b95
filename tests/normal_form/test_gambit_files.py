"""Gambit's own ``.nfg`` files read as Gambit reads them, and what we write reads back in Gambit.

The oracle is pygambit reading the same file (tests/data/gambit, every strategic-form
file of Gambit's repository): payoffs bit for bit, player names, strategy labels and
title. Then every game is written in each style and read back by pygambit and by us.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import InvalidGameError
from equilibria.solver.normal_form.nfg import NFG_STYLES, read_nfg, write_nfg

pytestmark = pytest.mark.oracle

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "gambit"
FILES = sorted(DATA.rglob("*.nfg"))


def test_the_whole_corpus_is_here() -> None:
    assert len(FILES) == 60
    # Files in the "payoff" format with strategy labels: the form the reader used to reject.
    labelled_payoff = [p.name for p in FILES if _labelled_payoff(p)]
    assert {
        "coord2.nfg",
        "g1.nfg",
        "g2.nfg",
        "g3.nfg",
        "sh3.nfg",
        "vd.nfg",
        "wink3.nfg",
        "winkels.nfg",
    } <= set(labelled_payoff)


def _labelled_payoff(path: pathlib.Path) -> bool:
    """Strategy names and no outcome list: only the braces of the players and the strategy lists."""
    game = read_nfg(path)
    return bool(game.action_names) and path.read_text().count("{") == 2 + game.n_players


def _as_gambit_labels(labels: tuple[str, ...]) -> list[str]:
    """Labels as pygambit 16.7 shows them: a label used twice in one list gets ``_<position>``."""
    return [f"{label}_{k + 1}" if labels.count(label) > 1 else label for k, label in enumerate(labels)]


def _gambit(path: pathlib.Path | str) -> tuple[np.ndarray, list[str], list[list[str]], str]:
    game = gbt.read_nfg(str(path))
    payoffs = np.stack([np.array(a, dtype=np.float64) for a in game.to_arrays()])
    players = [p.label for p in game.players]
    labels = [[s.label for s in p.strategies] for p in game.players]
    return payoffs, players, labels, game.title


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DATA)) for p in FILES])
def test_every_gambit_file_reads_as_gambit_reads_it(path: pathlib.Path) -> None:
    ours = read_nfg(path)
    payoffs, players, labels, title = _gambit(path)
    assert ours.payoffs.shape == payoffs.shape
    np.testing.assert_array_equal(ours.payoffs, payoffs)
    assert _as_gambit_labels(ours.player_names) == players and ours.title == title
    if ours.action_names:  # a file with strategy counts has no labels (Gambit numbers them)
        assert [_as_gambit_labels(a) for a in ours.action_names] == labels


@pytest.mark.parametrize("style", NFG_STYLES)
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DATA)) for p in FILES])
def test_what_we_write_gambit_reads_back_identically(path: pathlib.Path, style: str, tmp_path) -> None:
    ours = read_nfg(path)
    written = tmp_path / "written.nfg"
    written.write_text(write_nfg(ours, style=style))
    payoffs, players, labels, title = _gambit(written)
    np.testing.assert_array_equal(payoffs, ours.payoffs)
    assert players == _as_gambit_labels(ours.player_names) and title == ours.title
    if ours.action_names:
        assert labels == [_as_gambit_labels(a) for a in ours.action_names]
    back = read_nfg(written)
    np.testing.assert_array_equal(back.payoffs, ours.payoffs)
    assert (back.title, back.player_names) == (ours.title, ours.player_names)
    if ours.action_names:
        assert back.action_names == ours.action_names


LABELLED_PAYOFF = r"""NFG 1 R "A \"quoted\" title with a back\\slash" { "Row \"1\"" "Col" }

{ { "Up" "Down \"D\"" }
{ "Left" "Right" }
}
"a comment"

3 2 0 0 0 0 2 3
"""


def test_the_payoff_format_with_strategy_labels_escapes_and_a_comment() -> None:
    game = read_nfg(LABELLED_PAYOFF)
    assert game.title == 'A "quoted" title with a back\\slash'
    assert game.player_names == ('Row "1"', "Col")
    assert game.action_names == (("Up", 'Down "D"'), ("Left", "Right"))
    # first player's strategy fastest: (Up, Left) = (3, 2), (Down, Left) = (0, 0), ...
    assert game.payoffs[0].tolist() == [[3.0, 0.0], [0.0, 2.0]]
    assert game.payoffs[1].tolist() == [[2.0, 0.0], [0.0, 3.0]]
    assert read_nfg(write_nfg(game, style="payoff")).payoffs.tolist() == game.payoffs.tolist()


def test_a_short_labelled_payoff_body_names_what_is_missing() -> None:
    with pytest.raises(InvalidGameError, match=r"expected 8 payoffs, found only 7 more tokens"):
        read_nfg(LABELLED_PAYOFF.replace("3 2 0 0 0 0 2 3", "3 2 0 0 0 0 2"))
    with pytest.raises(InvalidGameError, match=r"line 8, column 1: expected a numerical payoff \(or '\{'"):
        read_nfg(LABELLED_PAYOFF.replace("3 2 0 0 0 0 2 3", "x 2 0 0 0 0 2 3 4"))


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("broken.nfg", 'NFG 1 R "t" { "1" "2" } { 2 2 }\n1 2 3\n', "expected 8 payoffs"),
        ("broken.json", '{"A": [[1, 2], [3, 4]]', "Expecting"),
        ("list.json", "[[1, 2], [3, 4]]", "a game file holds a JSON object"),
    ],
)
def test_the_cli_reports_an_unreadable_game_file_in_one_line(
    tmp_path, name: str, text: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    # No server is needed: the file is read before connecting (the target is never dialled).
    out = subprocess.run(
        [sys.executable, "-m", "equilibria.service.cli", "solve", str(path), "--target", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith(f"equilibria solve: {path}: unreadable: ") and reason in lines[0]


VON_STENGEL = DATA / "catalog" / "journals" / "dcg" / "vonstengel1999"


@pytest.mark.parametrize("scale", [1.0, 1e-6], ids=["as-read", "divided-by-1e6"])
@pytest.mark.parametrize("name", ["6x6_game_with_75_eq.nfg", "6x6_game_with_75_eq_small_payoffs.nfg"])
@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
def test_von_stengels_game_has_all_75_equilibria_in_every_mode(name: str, scale: float, exact: bool) -> None:
    """Von Stengel's 6 x 6 game with 75 equilibria (payoffs up to ~1.7e6): the float pass
    cannot decide its full-support vertex within round-off, so it is decided exactly; no
    mode returns 74 and calls them complete."""
    from equilibria.solver import NormalFormGame, solve

    game = read_nfg(VON_STENGEL / name)
    result = solve(NormalFormGame(game.payoffs * scale), exact=exact)
    oracle = gbt.nash.enummixed_solve(gbt.read_nfg(str(VON_STENGEL / name)), rational=True).equilibria
    expected = [
        tuple(np.array([float(eq[s]) for s in p.strategies]) for p in eq.game.players) for eq in oracle
    ]
    assert len(expected) == 75
    assert result.complete and len(result.equilibria) == 75
    found = [eq.strategies for eq in result.equilibria]
    assert all(
        sum(all(np.allclose(f, e, atol=1e-9) for f, e in zip(fs, es, strict=True)) for fs in found) == 1
        for es in expected
    )
    assert max(eq.nash_conv for eq in result.equilibria) <= 1e-9 * np.ptp(game.payoffs * scale)
