"""Gambit's own strategic-form test expectations, checked against ``solve``.

Every case is a ``pytest.param`` of ``test_nash_strategy_solver`` in Gambit's
``tests/test_nash.py`` (https://github.com/gambitproject/gambit, commit
8883f7591cb86563b54be3fb00b8d2ab5ea91647): a solver run on a game in strategic form
(an ``.nfg`` or ``.agg`` file, or the reduced strategic form of an extensive game)
with the list of equilibria Gambit expects. Those expectations and games are GPL-2+
test data of the Gambit Project, reproduced here as data: payoff tables inline (the
reduced strategic forms computed with pygambit 16.7 from Gambit's ``tests/games.py``
factories and ``tests/test_games`` files) or read from the ``.nfg`` files in
tests/data/gambit; the case names are Gambit's test ids.

* ``enumpure``: every pure equilibrium; our ``pure_nash`` set equals Gambit's list.
* ``enummixed`` on 2 players: every extreme equilibrium; our set equals Gambit's, and
  says it is complete.
* ``enumpoly``, ``lp``, ``lcp`` (some equilibria): ours contains each of Gambit's.

2-player cases are compared exactly (``solve(..., exact=True)``); n-player cases and
the cases Gambit runs with ``rational=False`` in floating point (``atol`` 1e-6).

Not ported: Gambit's logit, ipa, gnm, liap and simpdiv cases (methods we do not
mirror), its behaviour-strategy and agent-form cases, ``test_enumpure_11`` (a 6-agent
Bayesian action-graph game: a 7^6 payoff table) and the eight lp/lcp cases on Kuhn
poker (a 27x64 reduced strategic form whose equilibria form a continuum: Gambit's one
equilibrium is one of many, and the set is too large for exact vertex enumeration).
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.normal_form.nfg import read_nfg

pytestmark = pytest.mark.oracle

GAMBIT = pathlib.Path(__file__).resolve().parents[1] / "data" / "gambit"
ATOL = 1e-6

Strategy = tuple[Fraction | float, ...]
Profile = tuple[Strategy, ...]


def d(*probs: int | str | float) -> Strategy:
    """One player's mixed strategy, written as in Gambit's tests ("Delta")."""
    return tuple(p if isinstance(p, float) else Fraction(p) for p in probs)


@dataclasses.dataclass(frozen=True)
class GambitCase:
    """One of Gambit's test cases.

    Attributes
    ----------
    name : str
        Gambit's pytest id.
    game : callable
        Builds the strategic form Gambit solves.
    expected : tuple of profiles
        Gambit's expected equilibria (exact fractions; floats only for irrational ones).
    complete_list : bool
        Gambit's list is every (extreme) equilibrium of its kind: enumpure, and
        enummixed on 2 players.
    method : str
        Gambit's solver: ``enumpure``, ``enummixed``, ``enumpoly``, ``lp`` or ``lcp``.
    exact : bool
        Solve and compare in exact arithmetic (2 players, unless Gambit runs the case with
        ``rational=False``); False for enumpure, whose pure profiles compare as action indices.
    """

    name: str
    game: Callable[[], NormalFormGame] = dataclasses.field(repr=False)
    expected: tuple[Profile, ...]
    complete_list: bool
    method: str
    exact: bool


# --- Games ---------------------------------------------------------------------------------------
# Reduced strategic forms of Gambit's extensive games, in pygambit's strategy order.


def _bimatrix(a: list[list[int | str]], b: list[list[int | str]]) -> NormalFormGame:
    def as_float(m: list[list[int | str]]) -> np.ndarray:
        return np.array([[float(Fraction(v)) for v in row] for row in m])

    return NormalFormGame.from_bimatrix(as_float(a), as_float(b))


def _win_lose() -> NormalFormGame:
    """tests/test_games/two_player_perfect_info_win_lose.efg (zero-sum)."""
    a = [[1, -1, 1], [1, -1, -1], [1, 1, 1], [1, 1, -1]]
    return _bimatrix(a, [[-v for v in row] for row in a])


def _stripped_down_poker() -> NormalFormGame:
    """create_stripped_down_poker_efg(), with or without non-terminal outcomes (the same table)."""
    a = [[0, 1], ["1/2", 0], ["-3/2", 0], [-1, -1]]
    return _bimatrix(a, [[-Fraction(v) for v in row] for row in a])


def _one_shot_trust() -> NormalFormGame:
    """create_one_shot_trust_efg()."""
    return _bimatrix([[1, -1], [0, 0]], [[1, 2], [0, 0]])


def _one_shot_trust_unique_ne() -> NormalFormGame:
    """create_one_shot_trust_efg(unique_NE_variant=True)."""
    return _bimatrix([[1, "1/2"], [0, 0]], [[1, 2], [0, 0]])


def _coordination(n: int) -> NormalFormGame:
    """create_EFG_for_nxn_bimatrix_coordination_game(n): (I, I)."""
    return NormalFormGame.from_bimatrix(np.eye(n), np.eye(n))


def _long_lemke_howson_paths() -> NormalFormGame:
    """create_EFG_for_6x6_bimatrix_with_long_LH_paths_and_unique_eq()."""
    a = [
        [-180, 72, -333, 297, -153, 270],
        [-30, 17, -33, 42, -3, 20],
        [-81, 36, -126, 126, -36, 90],
        [90, -36, 126, -126, 36, -81],
        [20, -3, 42, -33, 17, -30],
        [270, -153, 297, -333, 72, -180],
    ]
    b = [
        [72, 36, 17, -3, -36, -153],
        [-180, -81, -30, 20, 90, 270],
        [297, 126, 42, -33, -126, -333],
        [-333, -126, -33, 42, 126, 297],
        [270, 90, 20, -30, -81, -180],
        [-153, -36, -3, 17, 36, 72],
    ]
    return _bimatrix(a, b)


def _mixed_behavior_game() -> NormalFormGame:
    """tests/test_games/mixed_behavior_game.efg: 3 players, 2 strategies each."""
    return NormalFormGame(
        np.array(
            [
                [[[9, 0], [0, 3]], [[0, 3], [9, 0]]],
                [[[8, 0], [0, 4]], [[0, 4], [8, 0]]],
                [[[12, 0], [0, 6]], [[0, 6], [2, 0]]],
            ],
            dtype=float,
        )
    )


def _agg_2x2() -> NormalFormGame:
    """tests/test_games/2x2.agg (a symmetric game)."""
    a = [[-4, 35], [-10, 95]]
    return _bimatrix(a, [list(col) for col in zip(*a, strict=True)])


def _agg_2x2_small_payoffs() -> NormalFormGame:
    """tests/test_games/2x2_small_payoffs.agg (a symmetric game)."""
    a = [[-1, 4], [-2, 5]]
    return _bimatrix(a, [list(col) for col in zip(*a, strict=True)])


def _zero_sum_2x2() -> NormalFormGame:
    """create_2x2_zero_sum_efg(variant): (I, -I); the variants' outcome changes leave the table as is."""
    return NormalFormGame.from_bimatrix(np.eye(2), -np.eye(2))


def _fig10_5() -> NormalFormGame:
    """catalog books/vonstengel2022/fig10.5.efg; player II's reduced strategies 11*, 12*, 2*1, 2*2."""
    return _bimatrix([[1, 3, 0, 1], [0, 0, 2, 0]], [[5, 4, 3, 0], [0, 2, 3, 4]])


def _local_max_cut() -> NormalFormGame:
    return read_nfg(GAMBIT / "tests" / "test_games" / "2x2x2_nfg_from_local_max_cut_2_pure_1_mixed_eq.nfg")


def _von_stengel_75() -> NormalFormGame:
    return read_nfg(GAMBIT / "catalog" / "journals" / "dcg" / "vonstengel1999" / "6x6_game_with_75_eq.nfg")


def _nau2004_sec4() -> NormalFormGame:
    return read_nfg(GAMBIT / "catalog" / "journals" / "ijgt" / "nau2004" / "sec4.nfg")


def _nau2004_sec5() -> NormalFormGame:
    return read_nfg(GAMBIT / "catalog" / "journals" / "ijgt" / "nau2004" / "sec5.nfg")


# --- Gambit's expectations -----------------------------------------------------------------------

# Lists shared by several cases (compared as sets: Gambit's order does not matter here).
COORDINATION_3_EQUILIBRIA = (
    (d(1, 0, 0), d(1, 0, 0)),
    (d("1/2", "1/2", 0), d("1/2", "1/2", 0)),
    (d("1/3", "1/3", "1/3"), d("1/3", "1/3", "1/3")),
    (d("1/2", 0, "1/2"), d("1/2", 0, "1/2")),
    (d(0, 1, 0), d(0, 1, 0)),
    (d(0, "1/2", "1/2"), d(0, "1/2", "1/2")),
    (d(0, 0, 1), d(0, 0, 1)),
)
VON_STENGEL_75_EQUILIBRIA = (
    (d("20/23", "3/23", 0, 0, 0, 0), d("4/19", "15/19", 0, 0, 0, 0)),
    (d("45/52", "7/52", 0, 0, 0, 0), d(0, "14/17", "3/17", 0, 0, 0)),
    (d("25/29", "4/29", 0, 0, 0, 0), d(0, 0, "5/9", "4/9", 0, 0)),
    (d("55/64", "9/64", 0, 0, 0, 0), d(0, 0, 0, "3/58", "55/58", 0)),
    (d("6/7", "1/7", 0, 0, 0, 0), d(0, 0, 0, 0, "6/7", "1/7")),
    (d("300/443", "108/443", "30/443", "5/443", 0, 0), d("30/97", "25/97", "15/97", "27/97", 0, 0)),
    (
        d("1540/2297", "567/2297", "162/2297", "28/2297", 0, 0),
        d("70/347", "70/347", 0, "42/347", "165/347", 0),
    ),
    (
        d("1232/1853", "462/1853", "135/1853", "24/1853", 0, 0),
        d("7/199", "21/398", 0, 0, "297/398", "33/199"),
    ),
    (
        d("1584/2425", "616/2425", "189/2425", "36/2425", 0, 0),
        d(0, "7/841", "42/841", 0, "594/841", "198/841"),
    ),
    (d("275/427", "110/427", "5/61", "1/61", 0, 0), d(0, 0, "5/61", "1/61", "275/427", "110/427")),
    (
        d("5775/9871", "2640/9871", "1050/9871", "336/9871", "70/9871", 0),
        d("70/9871", 0, "1050/9871", "336/9871", "5775/9871", "2640/9871"),
    ),
    (
        d("132/245", "66/245", "6/49", "12/245", "4/245", "1/245"),
        d("4/245", "1/245", "6/49", "12/245", "132/245", "66/245"),
    ),
    (d("420/571", "126/571", "70/1713", 0, 0, "5/1713"), d("112/367", "84/367", "63/367", "108/367", 0, 0)),
    (d("154/211", "189/844", "9/211", 0, 0, "3/844"), d("35/188", "63/376", 0, "45/376", "99/188", 0)),
    (
        d("1232/1699", "385/1699", "75/1699", 0, 0, "7/1699"),
        d("140/4663", "189/4663", 0, 0, "3564/4663", "770/4663"),
    ),
    (
        d("4752/6649", "1540/6649", "315/6649", 0, 0, "42/6649"),
        d(0, "42/6649", "315/6649", 0, "4752/6649", "1540/6649"),
    ),
    (
        d("594/841", "198/841", "42/841", 0, 0, "7/841"),
        d(0, 0, "189/2425", "36/2425", "1584/2425", "616/2425"),
    ),
    (d("525/626", "48/313", 0, 0, "5/626", 0), d("56/227", 0, "75/227", "96/227", 0, 0)),
    (d("1925/2306", "180/1153", 0, 0, "21/2306", 0), d("42/475", 0, 0, "48/475", "77/95", 0)),
    (d("385/463", "220/1389", 0, 0, "14/1389", 0), d("14/1389", 0, 0, 0, "385/463", "220/1389")),
    (d("105/131", "21/131", 0, 0, "5/262", "5/262"), d("112/377", "70/377", "75/377", "120/377", 0, 0)),
    (d("770/971", "315/1942", 0, 0, "21/971", "45/1942"), d("84/515", "63/515", 0, "12/103", "308/515", 0)),
    (d("11/14", "55/336", 0, 0, "1/42", "3/112"), d("1/42", "3/112", 0, 0, "11/14", "55/336")),
    (
        d("3564/4663", "770/4663", 0, 0, "140/4663", "189/4663"),
        d(0, "7/1699", "75/1699", 0, "1232/1699", "385/1699"),
    ),
    (
        d("297/398", "33/199", 0, 0, "7/199", "21/398"),
        d(0, 0, "135/1853", "24/1853", "1232/1853", "462/1853"),
    ),
    (d("28/29", 0, 0, "1/29", 0, 0), d("7/32", "25/32", 0, 0, 0, 0)),
    (d("24/25", 0, 0, "1/25", 0, 0), d(0, "25/31", "6/31", 0, 0, 0)),
    (d("150/157", 0, 0, "7/157", 0, 0), d(0, 0, "9/16", "7/16", 0, 0)),
    (d("275/289", 0, 0, "14/289", 0, 0), d(0, 0, 0, "14/289", "275/289", 0)),
    (d("55/58", 0, 0, "3/58", 0, 0), d(0, 0, 0, 0, "55/64", "9/64")),
    (d("525/626", 0, 0, "28/313", "45/626", 0), d("63/265", 0, "18/53", "112/265", 0, 0)),
    (d("275/334", 0, 0, "16/167", "27/334", 0), d("27/334", 0, 0, "16/167", "275/334", 0)),
    (d("77/95", 0, 0, "48/475", "42/475", 0), d("21/2306", 0, 0, 0, "1925/2306", "180/1153")),
    (d("21/32", 0, 0, "7/64", "9/64", "3/32"), d("126/431", "75/431", "90/431", "140/431", 0, 0)),
    (
        d("385/617", 0, 0, "70/617", "189/1234", "135/1234"),
        d("189/1234", "135/1234", 0, "70/617", "385/617", 0),
    ),
    (d("308/515", 0, 0, "12/103", "84/515", "63/515"), d("21/971", "45/1942", 0, 0, "770/971", "315/1942")),
    (d("99/188", 0, 0, "45/376", "35/188", "63/376"), d(0, "3/844", "9/211", 0, "154/211", "189/844")),
    (
        d("165/347", 0, 0, "42/347", "70/347", "70/347"),
        d(0, 0, "162/2297", "28/2297", "1540/2297", "567/2297"),
    ),
    (d(0, 1, 0, 0, 0, 0), d(0, 0, 0, 0, 0, 1)),
    (d(0, 0, "3/5", "2/5", 0, 0), d("3/13", "10/13", 0, 0, 0, 0)),
    (d(0, 0, "7/12", "5/12", 0, 0), d(0, "25/32", "7/32", 0, 0, 0)),
    (d(0, 0, "4/7", "3/7", 0, 0), d(0, 0, "4/7", "3/7", 0, 0)),
    (d(0, 0, "9/16", "7/16", 0, 0), d(0, 0, 0, "7/157", "150/157", 0)),
    (d(0, 0, "5/9", "4/9", 0, 0), d(0, 0, 0, 0, "25/29", "4/29")),
    (d(0, "792/1541", "560/1541", "189/1541", 0, 0), d(0, 0, "560/1541", "189/1541", 0, "792/1541")),
    (d(0, "616/1171", "420/1171", "135/1171", 0, 0), d(0, "175/1049", "280/1049", 0, 0, "594/1049")),
    (d(0, "77/142", "25/71", "15/142", 0, 0), d("80/321", "175/321", 0, 0, 0, "22/107")),
    (d(0, 0, "70/199", "84/199", "45/199", 0), d("45/199", 0, "70/199", "84/199", 0, 0)),
    (d(0, 0, "18/53", "112/265", "63/265", 0), d("45/626", 0, 0, "28/313", "525/626", 0)),
    (d(0, 0, "75/227", "96/227", "56/227", 0), d("5/626", 0, 0, 0, "525/626", "48/313")),
    (d(0, "396/995", "70/199", "189/995", "12/199", 0), d("12/199", 0, "70/199", "189/995", 0, "396/995")),
    (d(0, 0, "2/9", "1/3", "2/7", "10/63"), d("2/7", "10/63", "2/9", "1/3", 0, 0)),
    (d(0, 0, "90/431", "140/431", "126/431", "75/431"), d("9/64", "3/32", 0, "7/64", "21/32", 0)),
    (d(0, 0, "75/377", "120/377", "112/377", "70/377"), d("5/262", "5/262", 0, 0, "105/131", "21/131")),
    (d(0, 0, "63/367", "108/367", "112/367", "84/367"), d(0, "5/1713", "70/1713", 0, "420/571", "126/571")),
    (d(0, 0, "15/97", "27/97", "30/97", "25/97"), d(0, 0, "30/443", "5/443", "300/443", "108/443")),
    (
        d(0, "231/731", "700/2193", "315/1462", "80/731", "175/4386"),
        d("80/731", "175/4386", "700/2193", "315/1462", 0, "231/731"),
    ),
    (d(0, 0, "1/3", 0, 0, "2/3"), d("1/4", "3/4", 0, 0, 0, 0)),
    (d(0, 0, "7/27", 0, 0, "20/27"), d(0, "20/27", "7/27", 0, 0, 0)),
    (d(0, 0, "7/32", 0, 0, "25/32"), d(0, 0, "7/12", "5/12", 0, 0)),
    (d(0, 0, "6/31", 0, 0, "25/31"), d(0, 0, 0, "1/25", "24/25", 0)),
    (d(0, 0, "3/17", 0, 0, "14/17"), d(0, 0, 0, 0, "45/52", "7/52")),
    (d(0, "594/1049", "280/1049", 0, 0, "175/1049"), d(0, 0, "420/1171", "135/1171", 0, "616/1171")),
    (d(0, "22/37", "10/37", 0, 0, "5/37"), d(0, "5/37", "10/37", 0, 0, "22/37")),
    (d(0, "77/122", "50/183", 0, 0, "35/366"), d("160/629", "315/629", 0, 0, 0, "154/629")),
    (d(0, 0, 0, 0, 1, 0), d(1, 0, 0, 0, 0, 0)),
    (d(0, "11/15", 0, 0, "4/15", 0), d("4/15", 0, 0, 0, 0, "11/15")),
    (d(0, 0, 0, 0, "2/7", "5/7"), d("2/7", "5/7", 0, 0, 0, 0)),
    (d(0, 0, 0, 0, "1/4", "3/4"), d(0, "2/3", "1/3", 0, 0, 0)),
    (d(0, 0, 0, 0, "3/13", "10/13"), d(0, 0, "3/5", "2/5", 0, 0)),
    (d(0, 0, 0, 0, "7/32", "25/32"), d(0, 0, 0, "1/29", "28/29", 0)),
    (d(0, 0, 0, 0, "4/19", "15/19"), d(0, 0, 0, 0, "20/23", "3/23")),
    (d(0, "22/107", 0, 0, "80/321", "175/321"), d(0, 0, "25/71", "15/142", 0, "77/142")),
    (d(0, "154/629", 0, 0, "160/629", "315/629"), d(0, "35/366", "50/183", 0, 0, "77/122")),
    (d(0, "77/246", 0, 0, "32/123", "35/82"), d("32/123", "35/82", 0, 0, 0, "77/246")),
)
COORDINATION_4_EQUILIBRIA = (
    (d(1, 0, 0, 0), d(1, 0, 0, 0)),
    (d(0, 1, 0, 0), d(0, 1, 0, 0)),
    (d(0, 0, 1, 0), d(0, 0, 1, 0)),
    (d(0, 0, 0, 1), d(0, 0, 0, 1)),
    (d("1/2", "1/2", 0, 0), d("1/2", "1/2", 0, 0)),
    (d("1/2", 0, "1/2", 0), d("1/2", 0, "1/2", 0)),
    (d("1/2", 0, 0, "1/2"), d("1/2", 0, 0, "1/2")),
    (d(0, "1/2", "1/2", 0), d(0, "1/2", "1/2", 0)),
    (d(0, "1/2", 0, "1/2"), d(0, "1/2", 0, "1/2")),
    (d(0, 0, "1/2", "1/2"), d(0, 0, "1/2", "1/2")),
    (d("1/3", "1/3", "1/3", 0), d("1/3", "1/3", "1/3", 0)),
    (d("1/3", "1/3", 0, "1/3"), d("1/3", "1/3", 0, "1/3")),
    (d("1/3", 0, "1/3", "1/3"), d("1/3", 0, "1/3", "1/3")),
    (d(0, "1/3", "1/3", "1/3"), d(0, "1/3", "1/3", "1/3")),
    (d("1/4", "1/4", "1/4", "1/4"), d("1/4", "1/4", "1/4", "1/4")),
)
VON_STENGEL_75_FIRST_10 = (
    (d(0, 1, 0, 0, 0, 0), d(0, 0, 0, 0, 0, 1)),
    (d(0, 0, 0, 0, 1, 0), d(1, 0, 0, 0, 0, 0)),
    (d("20/23", "3/23", 0, 0, 0, 0), d("4/19", "15/19", 0, 0, 0, 0)),
    (d("45/52", "7/52", 0, 0, 0, 0), d(0, "14/17", "3/17", 0, 0, 0)),
    (d("25/29", "4/29", 0, 0, 0, 0), d(0, 0, "5/9", "4/9", 0, 0)),
    (d("55/64", "9/64", 0, 0, 0, 0), d(0, 0, 0, "3/58", "55/58", 0)),
    (d("6/7", "1/7", 0, 0, 0, 0), d(0, 0, 0, 0, "6/7", "1/7")),
    (d("28/29", 0, 0, "1/29", 0, 0), d("7/32", "25/32", 0, 0, 0, 0)),
    (d("24/25", 0, 0, "1/25", 0, 0), d(0, "25/31", "6/31", 0, 0, 0)),
    (d("150/157", 0, 0, "7/157", 0, 0), d(0, 0, "9/16", "7/16", 0, 0)),
)
CASES = (
    GambitCase(
        "test_enumpure_1",
        _win_lose,
        (
            (d(0, 0, 1, 0), d(1, 0, 0)),
            (d(0, 0, 1, 0), d(0, 1, 0)),
            (d(0, 0, 1, 0), d(0, 0, 1)),
        ),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_2",
        _stripped_down_poker,
        (),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_3",
        _one_shot_trust,
        ((d(0, 1), d(0, 1)),),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_4",
        _one_shot_trust_unique_ne,
        ((d(1, 0), d(0, 1)),),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_5",
        functools.partial(_coordination, 3),
        (
            (d(1, 0, 0), d(1, 0, 0)),
            (d(0, 1, 0), d(0, 1, 0)),
            (d(0, 0, 1), d(0, 0, 1)),
        ),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_6",
        _long_lemke_howson_paths,
        (),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_7",
        _mixed_behavior_game,
        (
            (d(1, 0), d(1, 0), d(1, 0)),
            (d(0, 1), d(0, 1), d(1, 0)),
            (d(0, 1), d(1, 0), d(0, 1)),
            (d(1, 0), d(0, 1), d(0, 1)),
        ),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_8",
        _local_max_cut,
        (
            (d(1, 0), d(0, 1), d(1, 0)),
            (d(0, 1), d(1, 0), d(0, 1)),
        ),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_9",
        _agg_2x2,
        (
            (d(1, 0), d(1, 0)),
            (d(0, 1), d(0, 1)),
        ),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumpure_10",
        _agg_2x2_small_payoffs,
        (
            (d(1, 0), d(1, 0)),
            (d(0, 1), d(0, 1)),
        ),
        complete_list=True,
        method="enumpure",
        exact=False,
    ),
    GambitCase(
        "test_enumixed_rational_1",
        _win_lose,
        (
            (d(0, 0, 1, 0), d(1, 0, 0)),
            (d(0, 0, 1, 0), d(0, 1, 0)),
            (d(0, 0, 1, 0), d(0, 0, 1)),
        ),
        complete_list=True,
        method="enummixed",
        exact=True,
    ),
    GambitCase(
        "test_enumixed_rational_2",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=True,
        method="enummixed",
        exact=True,
    ),
    GambitCase(
        "test_enumixed_rational_3",
        _one_shot_trust,
        (
            (d(0, 1), d("1/2", "1/2")),
            (d(0, 1), d(0, 1)),
        ),
        complete_list=True,
        method="enummixed",
        exact=True,
    ),
    GambitCase(
        "test_enumixed_rational_4",
        functools.partial(_coordination, 3),
        COORDINATION_3_EQUILIBRIA,
        complete_list=True,
        method="enummixed",
        exact=True,
    ),
    GambitCase(
        "test_enumixed_rational_5",
        _long_lemke_howson_paths,
        ((d("1/30", "1/6", "3/10", "3/10", "1/6", "1/30"), d("1/6", "1/30", "3/10", "3/10", "1/30", "1/6")),),
        complete_list=True,
        method="enummixed",
        exact=True,
    ),
    GambitCase(
        "test_enumixed_rational_6",
        _von_stengel_75,
        VON_STENGEL_75_EQUILIBRIA,
        complete_list=True,
        method="enummixed",
        exact=True,
    ),
    GambitCase(
        "test_enumixed_double_1",
        _win_lose,
        (
            (d(0, 0, 1, 0), d(1, 0, 0)),
            (d(0, 0, 1, 0), d(0, 1, 0)),
            (d(0, 0, 1, 0), d(0, 0, 1)),
        ),
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enumixed_double_2",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enumixed_double_3",
        _one_shot_trust,
        (
            (d(0, 1), d("1/2", "1/2")),
            (d(0, 1), d(0, 1)),
        ),
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enumixed_double_4",
        functools.partial(_coordination, 3),
        COORDINATION_3_EQUILIBRIA,
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enumixed_double_5",
        _long_lemke_howson_paths,
        ((d("1/30", "1/6", "3/10", "3/10", "1/6", "1/30"), d("1/6", "1/30", "3/10", "3/10", "1/30", "1/6")),),
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enummixed_double_7",
        _agg_2x2,
        (
            (d(1, 0), d(1, 0)),
            (d(0, 1), d(0, 1)),
            (d("10/11", "1/11"), d("10/11", "1/11")),
        ),
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enummixed_double_8",
        _agg_2x2_small_payoffs,
        (
            (d(1, 0), d(1, 0)),
            (d(0, 1), d(0, 1)),
            (d("1/2", "1/2"), d("1/2", "1/2")),
        ),
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enumixed_double_9",
        _von_stengel_75,
        VON_STENGEL_75_EQUILIBRIA,
        complete_list=True,
        method="enummixed",
        exact=False,
    ),
    GambitCase(
        "test_enumpoly_strategy_1",
        functools.partial(_coordination, 3),
        COORDINATION_3_EQUILIBRIA,
        complete_list=False,
        method="enumpoly",
        exact=True,
    ),
    GambitCase(
        "test_enumpoly_strategy_2",
        functools.partial(_coordination, 4),
        COORDINATION_4_EQUILIBRIA,
        complete_list=False,
        method="enumpoly",
        exact=True,
    ),
    GambitCase(
        "test_enumpoly_strategy_3",
        _fig10_5,
        (
            (d(1, 0), d(1, 0, 0, 0)),
            (d("1/2", "1/2"), d(0, "2/5", "3/5", 0)),
            (d("1/4", "3/4"), d(0, 0, "1/3", "2/3")),
        ),
        complete_list=False,
        method="enumpoly",
        exact=True,
    ),
    GambitCase(
        "test_enumpoly_strategy_4",
        _von_stengel_75,
        VON_STENGEL_75_FIRST_10,
        complete_list=False,
        method="enumpoly",
        exact=True,
    ),
    GambitCase(
        "test_enumpoly_strategy_5",
        _local_max_cut,
        (
            (d(1, 0), d(0, 1), d(1, 0)),
            (d(0, 1), d(1, 0), d(0, 1)),
            (d("1/2", "1/2"), d("1/2", "1/2"), d("1/2", "1/2")),
        ),
        complete_list=False,
        method="enumpoly",
        exact=False,
    ),
    GambitCase(
        "test_enumpoly_strategy_6",
        _nau2004_sec4,
        (
            (
                d(0.6192325794725537, 0.3807674205274463),
                d(0.4798042226776053, 0.5201957773223946),
                d(0.3788253360656313, 0.6211746639343687),
            ),
        ),
        complete_list=False,
        method="enumpoly",
        exact=False,
    ),
    GambitCase(
        "test_enumpoly_strategy_7",
        _nau2004_sec5,
        (
            (d(1, 0), d(0, 1), d(1, 0)),
            (d(0, 1), d(1, 0), d(1, 0)),
            (d(0, 1), d(0, 1), d(0, 1)),
        ),
        complete_list=False,
        method="enumpoly",
        exact=False,
    ),
    GambitCase(
        "test_lp_strategy_rational_1",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lp",
        exact=True,
    ),
    GambitCase(
        "test_lp_strategy_rational_2",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lp",
        exact=True,
    ),
    GambitCase(
        "test_lp_strategy_rational_3",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lp",
        exact=True,
    ),
    GambitCase(
        "test_lp_strategy_rational_4",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lp",
        exact=True,
    ),
    GambitCase(
        "test_lp_strategy_double_1",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lp",
        exact=False,
    ),
    GambitCase(
        "test_lp_strategy_double_2",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lp",
        exact=False,
    ),
    GambitCase(
        "test_lp_strategy_double_3",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lp",
        exact=False,
    ),
    GambitCase(
        "test_lp_strategy_double_4",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_rational_01",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_2",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_3",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_4",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_5",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_8",
        _one_shot_trust,
        ((d(0, 1), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_9",
        functools.partial(_coordination, 3),
        COORDINATION_3_EQUILIBRIA,
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_10",
        functools.partial(_coordination, 4),
        ((d(1, 0, 0, 0), d(1, 0, 0, 0)),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_rational_11",
        _long_lemke_howson_paths,
        ((d("1/30", "1/6", "3/10", "3/10", "1/6", "1/30"), d("1/6", "1/30", "3/10", "3/10", "1/30", "1/6")),),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
    GambitCase(
        "test_lcp_strategy_double_01",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_2",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_3",
        _zero_sum_2x2,
        ((d("1/2", "1/2"), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_4",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_5",
        _stripped_down_poker,
        ((d("1/3", "2/3", 0, 0), d("2/3", "1/3")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_8",
        _one_shot_trust,
        ((d(0, 1), d("1/2", "1/2")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_9",
        functools.partial(_coordination, 3),
        COORDINATION_3_EQUILIBRIA,
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_10",
        functools.partial(_coordination, 4),
        ((d(1, 0, 0, 0), d(1, 0, 0, 0)),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_11",
        _long_lemke_howson_paths,
        ((d("1/30", "1/6", "3/10", "3/10", "1/6", "1/30"), d("1/6", "1/30", "3/10", "3/10", "1/30", "1/6")),),
        complete_list=False,
        method="lcp",
        exact=False,
    ),
    GambitCase(
        "test_lcp_strategy_double_12",
        _agg_2x2,
        (
            (d(1, 0), d(1, 0)),
            (d("10/11", "1/11"), d("10/11", "1/11")),
            (d(0, 1), d(0, 1)),
        ),
        complete_list=False,
        method="lcp",
        exact=True,
    ),
)


# --- Tests ---------------------------------------------------------------------------------------

PURE = [c for c in CASES if c.method == "enumpure"]
EXACT = [c for c in CASES if c.method != "enumpure" and c.exact]
FLOAT = [c for c in CASES if c.method != "enumpure" and not c.exact]


def _params(cases: list[GambitCase]) -> list[object]:
    return [pytest.param(case, id=case.name) for case in cases]


def _pure_key(profile: tuple[np.ndarray, ...] | Profile) -> tuple[int, ...]:
    """The action index of each player in a pure profile (fails on a mixed one)."""
    key = []
    for strategy in profile:
        probs = np.asarray([float(p) for p in strategy])
        assert sorted(probs.tolist()) == [0.0] * (len(probs) - 1) + [1.0], f"not pure: {strategy}"
        key.append(int(np.argmax(probs)))
    return tuple(key)


def _exact_profiles(case: GambitCase) -> tuple[bool, list[Profile]]:
    result = solve(case.game(), concepts=["nash"], exact=True)
    found = [eq.exact_strategies for eq in result.equilibria]
    assert all(profile is not None for profile in found)
    return result.complete, found


def _close(found: tuple[np.ndarray, ...], expected: Profile) -> bool:
    return all(
        np.allclose(f, np.array([float(p) for p in e]), rtol=0.0, atol=ATOL)
        for f, e in zip(found, expected, strict=True)
    )


def test_the_cases_are_gambits() -> None:
    assert len(CASES) == 58
    assert len({case.name for case in CASES}) == len(CASES)
    assert (len(PURE), len(EXACT), len(FLOAT)) == (10, 24, 24)
    assert all(case.complete_list == (case.method in ("enumpure", "enummixed")) for case in CASES)


@pytest.mark.parametrize("case", _params(PURE))
def test_pure_equilibria_are_gambits(case: GambitCase) -> None:
    result = solve(case.game(), concepts=["pure_nash"])
    found = [_pure_key(eq.strategies) for eq in result.equilibria]
    expected = [_pure_key(profile) for profile in case.expected]
    assert case.complete_list
    assert result.complete
    assert len(found) == len(set(found)) == len(expected)
    assert set(found) == set(expected)


@pytest.mark.parametrize("case", _params(EXACT))
def test_exact_equilibria_contain_gambits(case: GambitCase) -> None:
    _, found = _exact_profiles(case)
    missing = [profile for profile in case.expected if profile not in set(found)]
    assert missing == []


@pytest.mark.parametrize("case", _params([c for c in EXACT if c.complete_list]))
def test_exact_equilibria_are_gambits_complete_list(case: GambitCase) -> None:
    complete, found = _exact_profiles(case)
    assert complete
    assert len(found) == len(set(found)) == len(case.expected)
    assert set(found) == set(case.expected)


@pytest.mark.parametrize("case", _params(FLOAT))
def test_float_equilibria_contain_gambits(case: GambitCase) -> None:
    result = solve(case.game())
    found = [eq.strategies for eq in result.equilibria]
    missing = [profile for profile in case.expected if not any(_close(f, profile) for f in found)]
    assert missing == []


@pytest.mark.parametrize("case", _params([c for c in FLOAT if c.complete_list]))
def test_float_equilibria_are_gambits_complete_list(case: GambitCase) -> None:
    result = solve(case.game())
    found = [eq.strategies for eq in result.equilibria]
    assert result.complete
    assert len(found) == len(case.expected)
    assert all(sum(_close(f, profile) for f in found) == 1 for profile in case.expected)
