"""Tests of :mod:`equilibria.solver.normal_form.nfg`: Gambit ``.nfg`` files, read and written.

The oracle is pygambit 16.7.0's own reader and writer (``gbt.read_nfg``,
``Game.to_nfg``); payoffs are taken out of pygambit here, contingency by contingency
(``game[strategies][player]``), so a null outcome reads as zeros.
"""

from __future__ import annotations

import io
import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.normal_form.nfg import read_nfg, write_nfg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

# Gambit's e02.nfg (Selten 1975, Figure 2) by hand, in both formats. Player 1 has 3
# strategies, player 2 has 2; contingencies run with player 1's strategy fastest:
# (1,1) (2,1) (3,1) (1,2) (2,2) (3,2).
E02_PAYOFF = """NFG 1 R "Selten (IJGT, 75), Figure 2, normal form"
{ "Player 1" "Player 2" } { 3 2 }

1 1 0 2 0 2 1 1 0 3 2 0
"""

E02_OUTCOME = """NFG 1 R "Selten (IJGT, 75), Figure 2, normal form"
{ "Player 1" "Player 2" }

{ { "1" "2" "3" }
{ "1" "2" }
}
""

{
{ "" 1, 1 }
{ "" 0, 2 }
{ "" 0, 2 }
{ "" 1, 1 }
{ "" 0, 3 }
{ "" 2, 0 }
}
1 2 3 4 5 6
"""

E02_PAYOFFS = np.array(
    [
        [[1, 1], [0, 0], [0, 2]],  # player 1: rows = player 1's strategy, cols = player 2's
        [[1, 1], [2, 3], [2, 0]],
    ],
    dtype=float,
)

# A 2x2x2 game in outcome format with a null outcome (index 0), a rational payoff,
# commas and no commas, a comment and names with escaped quotes.
THREE_PLAYER = r"""NFG 1 R "Three \"quoted\" players" { "Ann" "Bob" "Cy" }
{ { "u" "d" } { "l" "r" } { "x" "y" } }
"a comment"
{
{ "win" 3/2, -1, 0 }
{ "lose" -2 4 1e-3 }
{ "tie" .5, 0, 7 }
}
1 0 2 3 3 2 0 1
"""


def gambit_payoffs(game: gbt.Game) -> np.ndarray:
    """pygambit's payoffs, contingency by contingency (a null outcome pays 0)."""
    players = list(game.players)
    strategies = [list(p.strategies) for p in players]
    shape = tuple(len(s) for s in strategies)
    out = np.zeros((len(players), *shape))
    for joint in itertools.product(*(range(k) for k in shape)):
        outcome = game[tuple(s[k] for s, k in zip(strategies, joint, strict=True))]
        if outcome is not None:
            for i, player in enumerate(players):
                out[(i, *joint)] = float(Fraction(str(outcome[player])))
    return out


def gambit_read(text: str) -> gbt.Game:
    return gbt.read_nfg(io.StringIO(text))


# --------------------------------------------------------------------------- hand-written files


@pytest.mark.parametrize("text", [E02_PAYOFF, E02_OUTCOME], ids=["payoff-format", "outcome-format"])
def test_e02_by_hand(text: str) -> None:
    game = read_nfg(text)
    np.testing.assert_array_equal(game.payoffs, E02_PAYOFFS)
    assert game.title == "Selten (IJGT, 75), Figure 2, normal form"
    assert game.player_names == ("Player 1", "Player 2")
    assert game.action_names == ((("1", "2", "3"), ("1", "2")) if "{ {" in text else ())


@pytest.mark.oracle
@pytest.mark.parametrize(
    "text", [E02_PAYOFF, E02_OUTCOME, THREE_PLAYER], ids=["e02-payoff", "e02-outcome", "3p"]
)
def test_hand_written_files_match_gambit(text: str) -> None:
    ours = read_nfg(text)
    theirs = gambit_read(text)
    np.testing.assert_array_equal(ours.payoffs, gambit_payoffs(theirs))
    assert ours.title == theirs.title
    assert ours.player_names == tuple(p.label for p in theirs.players)


def test_three_player_outcome_format_by_hand() -> None:
    game = read_nfg(THREE_PLAYER)
    assert game.title == 'Three "quoted" players'
    assert game.player_names == ("Ann", "Bob", "Cy")
    assert game.action_names == (("u", "d"), ("l", "r"), ("x", "y"))
    # Contingency order (player 1 fastest): uxl.. -> indices 1 0 2 3 3 2 0 1.
    win, lose, tie, null = (1.5, -1.0, 0.0), (-2.0, 4.0, 0.001), (0.5, 0.0, 7.0), (0.0, 0.0, 0.0)
    expected = {
        (0, 0, 0): win, (1, 0, 0): null, (0, 1, 0): lose, (1, 1, 0): tie,
        (0, 0, 1): tie, (1, 0, 1): lose, (0, 1, 1): null, (1, 1, 1): win,
    }  # fmt: skip
    for joint, values in expected.items():
        assert tuple(game.payoffs[(slice(None), *joint)]) == values


@pytest.mark.parametrize(
    ("token", "value"),
    [
        pytest.param("3/2", 1.5, id="rational"),
        pytest.param("-3/2", -1.5, id="negative-rational"),
        pytest.param("1e-3", 0.001, id="exponent"),
        pytest.param(".5", 0.5, id="leading-dot"),
        pytest.param("1.", 1.0, id="trailing-dot"),
        pytest.param("-0", 0.0, id="negative-zero"),
        pytest.param("1/3", 1 / 3, id="one-third-rounded-once"),
        pytest.param("0.1", 0.1, id="decimal"),
    ],
)
def test_numbers(token: str, value: float) -> None:
    text = f'NFG 1 R "t" {{ "a" "b" }} {{ 1 1 }} {token} 0'
    assert read_nfg(text).payoffs[0, 0, 0] == value
    assert gambit_payoffs(gambit_read(text))[0, 0, 0] == value


def test_sources(tmp_path: Path) -> None:
    path = tmp_path / "e02.nfg"
    path.write_text(E02_OUTCOME)
    for source in (path, str(path), E02_OUTCOME, E02_OUTCOME.encode(), io.StringIO(E02_OUTCOME)):
        np.testing.assert_array_equal(read_nfg(source).payoffs, E02_PAYOFFS)
    with path.open("rb") as handle:
        np.testing.assert_array_equal(read_nfg(handle).payoffs, E02_PAYOFFS)
    bom = tmp_path / "bom.nfg"
    bom.write_text(E02_PAYOFF, encoding="utf-8-sig")
    np.testing.assert_array_equal(read_nfg(bom).payoffs, E02_PAYOFFS)


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("text", "fragment", "gambit_error"),
    [
        pytest.param(
            'NFX 1 R "t" { "a" "b" } { 1 1 } 0 0', "line 1, column 1: expected 'NFG'", ValueError, id="magic"
        ),
        pytest.param(
            'NFG 2 R "t" { "a" "b" } { 1 1 } 0 0',
            "line 1, column 5: only NFG version 1",
            ValueError,
            id="version",
        ),
        pytest.param(
            'NFG 1 Q "t" { "a" "b" } { 1 1 } 0 0',
            "line 1, column 7: expected 'R' or 'D'",
            ValueError,
            id="precision",
        ),
        pytest.param(
            'NFG 1 R { "a" "b" } { 1 1 } 0 0',
            "line 1, column 9: expected the game's title",
            ValueError,
            id="no-title",
        ),
        pytest.param('NFG 1 R "t" { "a" } { 2 } 0 0', "the game has 1 player", None, id="one-player"),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 2 0 }', "player 2 has no strategies", ValueError, id="zero-strategies"
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 2 }', "1 strategy counts for 2 players", ValueError, id="counts"
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" }\n{ 1 1 }\n0 x',
            "line 3, column 3: expected a numerical payoff",
            ValueError,
            id="nan",
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 1 1 } 0', "expected 2 payoffs, found only 1", ValueError, id="short"
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 1 1 } 0 0 0',
            "column 37: expected the end of the file",
            ValueError,
            id="long",
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 1 1 } 1/0 0', "division by zero", ValueError, id="zero-division"
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 1 1 } 1e400 0', "too large for a double", OverflowError, id="overflow"
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { 1 1 } 0,0',
            "expected a numerical payoff",
            ValueError,
            id="comma-in-payoffs",
        ),
        pytest.param(
            'NFG 1 R "t { "a" "b" } { 1 1 } 0 0', "unterminated string", ValueError, id="unterminated"
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { { "x" } { "y" } } { { "o" 1 } } 1',
            "expected the payoff of player 2",
            ValueError,
            id="few",
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { { "x" } { "y" } } { { "o" 1 2 } } 2',
            "outcome index 2 but only 1",
            ValueError,
            id="index",
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { { "x" } { } } { } 0',
            "player 2 has no strategies",
            ValueError,
            id="no-names",
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { { "x" } } { { "o" 1 2 } } 1',
            "1 strategy lists for 2 players",
            ValueError,
            id="lists",
        ),
        pytest.param(
            'NFG 1 R "t" { "a" "b" } { { "x" } { "y" } } { { 1 2 } } 1',
            "outcome's name",
            ValueError,
            id="no-name",
        ),
    ],
)
def test_malformed(text: str, fragment: str, gambit_error: type[Exception] | None) -> None:
    with pytest.raises(InvalidGameError) as info:
        read_nfg(text)
    assert info.value.field == "nfg"
    assert info.value.message.startswith("read_nfg(): ")
    assert fragment in info.value.message
    if gambit_error is None:  # pygambit accepts 1-player games; NormalFormGame needs 2 players
        assert len(list(gambit_read(text).players)) == 1
    else:  # pygambit rejects the file too (or, for 1e400, reads a payoff no double can hold)
        with pytest.raises(gambit_error):
            gambit_payoffs(gambit_read(text))


def test_not_a_file() -> None:
    with pytest.raises(InvalidGameError) as info:
        read_nfg("no/such/file.nfg")
    assert info.value.field == "nfg"
    assert "neither NFG text" in info.value.message


def test_unknown_style() -> None:
    with pytest.raises(InvalidGameError) as info:
        write_nfg(NormalFormGame(np.zeros((2, 1, 1))), style="xml")
    assert info.value.field == "style"


# --------------------------------------------------------------------------- oracle: pygambit's writer and reader


def random_gambit_game(seed: int, shape: tuple[int, ...]) -> tuple[gbt.Game, np.ndarray]:
    payoffs = np.random.default_rng(seed).standard_normal((len(shape), *shape))
    # Mix in integers and short decimals, which Gambit writes without a fraction part.
    payoffs[:, ::2] = np.round(payoffs[:, ::2] * 4)
    return gbt.Game.from_arrays(*payoffs, title=f"random {seed}"), payoffs


SHAPES = [(2, 2), (3, 4), (2, 3, 2), (3, 3, 3), (2, 2, 2, 2)]


@pytest.mark.oracle
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", range(4))
def test_reads_what_gambit_writes(seed: int, shape: tuple[int, ...]) -> None:
    game, payoffs = random_gambit_game(seed, shape)
    ours = read_nfg(game.to_nfg())
    np.testing.assert_array_equal(ours.payoffs, gambit_payoffs(game))
    np.testing.assert_array_equal(ours.payoffs, payoffs)
    assert ours.title == f"random {seed}"
    assert ours.player_names == tuple(p.label for p in game.players)
    assert ours.action_names == tuple(tuple(s.label for s in p.strategies) for p in game.players)


@pytest.mark.oracle
@pytest.mark.parametrize("style", ["payoff", "outcome"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("seed", range(4))
def test_gambit_reads_what_we_write(seed: int, shape: tuple[int, ...], style: str) -> None:
    _, payoffs = random_gambit_game(seed, shape)
    names = {
        "title": 'A "quoted" title',
        "player_names": tuple(f"P{i}" for i in range(len(shape))),
        "action_names": tuple(tuple(f"s{i}.{a}" for a in range(k)) for i, k in enumerate(shape)),
    }
    ours = NormalFormGame(payoffs, **names)
    text = write_nfg(ours, style=style)
    theirs = gambit_read(text)
    np.testing.assert_array_equal(gambit_payoffs(theirs), payoffs)
    assert theirs.title == names["title"]
    assert tuple(p.label for p in theirs.players) == names["player_names"]
    back = read_nfg(text)
    np.testing.assert_array_equal(back.payoffs, payoffs)
    assert (back.title, back.player_names) == (names["title"], names["player_names"])
    if style == "outcome":
        assert tuple(tuple(s.label for s in p.strategies) for p in theirs.players) == names["action_names"]
        assert back.action_names == names["action_names"]


@pytest.mark.oracle
def test_extreme_doubles_survive_gambit() -> None:
    payoffs = np.array(
        [[[1e-300, 1e300], [0.1, -2.5e-7]], [[1 / 3, 2 / 3], [5e-324, np.finfo(float).max]]], dtype=float
    )
    text = write_nfg(NormalFormGame(payoffs))
    np.testing.assert_array_equal(gambit_payoffs(gambit_read(text)), payoffs)
    np.testing.assert_array_equal(read_nfg(text).payoffs, payoffs)


@settings(deadline=None, max_examples=25)
@given(
    arrays(
        np.float64,
        st.integers(2, 3).flatmap(lambda n: st.tuples(st.just(n), *[st.integers(1, 3)] * n)),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    st.sampled_from(["payoff", "outcome", "auto"]),
)
def test_round_trip(payoffs: np.ndarray, style: str) -> None:
    game = NormalFormGame(payoffs, title="round trip")
    back = read_nfg(write_nfg(game, style=style))
    np.testing.assert_array_equal(back.payoffs, game.payoffs)
    assert back.title == "round trip"
