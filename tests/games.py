"""A catalogue of games for the solver tests.

Every factory returns a fresh :class:`equilibria.solver.NormalFormGame`. Each docstring
states the game's closed-form equilibria (SPEC section 6 and the literature); the exact
:class:`fractions.Fraction` profiles are in the case tables of ``test_known_answers.py``
(and :func:`identity_equilibria` here), so the tests compare against numbers worked out
by hand rather than against the solver's own output.

A *profile* is a tuple of strategies, one per player, each a tuple of ``Fraction``.
The random generators are seeded (``numpy.random.default_rng(seed)``) so every test
that uses them is reproducible.

Test modules import it as ``from . import games`` (pytest's importlib import mode
names the test modules ``tests.<name>``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
from equilibria.solver import NormalFormGame
from equilibria.solver.stochastic.game import StochasticGame

__all__ = [
    "Profile",
    "matching_pennies",
    "rock_paper_scissors",
    "prisoners_dilemma",
    "stag_hunt",
    "battle_of_the_sexes",
    "chicken",
    "identity_game",
    "identity_equilibria",
    "degenerate_continuum",
    "constant_game",
    "lopsided_game",
    "shapley_game",
    "von_stengel_game",
    "minority_game",
    "public_goods_game",
    "three_player_coordination_game",
    "random_integer_game",
    "random_normal_game",
    "random_degenerate_game",
    "random_near_tie_game",
    "identity_like_game",
    "integer_bimatrix",
    "float_profile",
    "unmatched",
    "F",
]

F = Fraction
Profile = tuple[tuple[Fraction, ...], ...]


# --------------------------------------------------------------------------- 2 x 2 classics


def matching_pennies() -> NormalFormGame:
    """Zero-sum: unique NE ((1/2, 1/2), (1/2, 1/2)), value 0."""
    return NormalFormGame.from_bimatrix([[1, -1], [-1, 1]], title="matching pennies")


def rock_paper_scissors() -> NormalFormGame:
    """Zero-sum: unique NE uniform, value 0."""
    return NormalFormGame.from_bimatrix(
        [[0, -1, 1], [1, 0, -1], [-1, 1, 0]],
        title="rock-paper-scissors",
        action_names=(("R", "P", "S"), ("R", "P", "S")),
    )


def prisoners_dilemma() -> NormalFormGame:
    """(C, D) x (C, D) with payoffs 3,3 / 0,5 / 5,0 / 1,1: unique NE (D, D)."""
    return NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]], title="prisoner's dilemma")


def stag_hunt() -> NormalFormGame:
    """(S, H): NE (S, S), (H, H) and ((3/4, 1/4), (3/4, 1/4))."""
    return NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]], title="stag hunt")


def battle_of_the_sexes() -> NormalFormGame:
    """Two pure NE and ((2/3, 1/3), (1/3, 2/3)) with payoffs (2/3, 2/3)."""
    return NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]], title="battle of the sexes")


def chicken() -> NormalFormGame:
    """(C, D): NE (C, D), (D, C) and ((2/3, 1/3), (2/3, 1/3)) with payoffs (14/3, 14/3)."""
    return NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]], title="chicken")


# --------------------------------------------------------------------------- larger / degenerate


def identity_game(n: int) -> NormalFormGame:
    """n x n coordination game A = B = I: 2^n - 1 NE, one per non-empty common support."""
    eye = np.eye(n, dtype=int)
    return NormalFormGame.from_bimatrix(eye, eye, title=f"identity {n}x{n}")


def identity_equilibria(n: int) -> dict[Profile, tuple[Fraction, Fraction]]:
    """The 2^n - 1 equilibria of :func:`identity_game`: uniform on every non-empty support S,
    with payoffs (1/|S|, 1/|S|)."""
    out: dict[Profile, tuple[Fraction, Fraction]] = {}
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            s = tuple(Fraction(1, size) if k in support else Fraction(0) for k in range(n))
            out[(s, s)] = (Fraction(1, size), Fraction(1, size))
    return out


def degenerate_continuum() -> NormalFormGame:
    """A = B = [[1, 1], [0, 0]]: every (row 1, any y) is an NE; one segment component with
    extreme equilibria ((1, 0), (1, 0)) and ((1, 0), (0, 1))."""
    return NormalFormGame.from_bimatrix([[1, 1], [0, 0]], [[1, 1], [0, 0]], title="degenerate continuum")


def constant_game(m: int, n: int) -> NormalFormGame:
    """All payoffs zero: every profile is an NE; the extreme ones are the m * n pure profiles,
    all in one component."""
    return NormalFormGame.from_bimatrix(np.zeros((m, n)), np.zeros((m, n)), title=f"constant {m}x{n}")


def shapley_game() -> NormalFormGame:
    """Shapley (1964): unique NE uniform, payoffs (1/3, 1/3)."""
    return NormalFormGame.from_bimatrix(
        [[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[0, 0, 1], [1, 0, 0], [0, 1, 0]], title="Shapley"
    )


def von_stengel_game() -> NormalFormGame:
    """von Stengel (2002), Handbook ch. 45, fig. 2: three NE
    ((1,0,0),(1,0)), ((4/5,1/5,0),(2/3,1/3)), ((0,1/3,2/3),(1/3,2/3))."""
    return NormalFormGame.from_bimatrix(
        [[3, 3], [2, 5], [0, 6]], [[3, 2], [2, 6], [3, 1]], title="von Stengel 3x2"
    )


def lopsided_game(big: int) -> NormalFormGame:
    """A = [[1, 0], [0, big]], B = [[1, 0], [0, 2]]: three equilibria for every ``big > 0``.

    The two pure diagonals, and x = (2/3, 1/3) (the column player is indifferent when
    x0 = 2 x1) against y = (big, 1) / (big + 1) (the row player is indifferent when
    y0 = big y1), with payoffs (big / (big + 1), 2/3). For large ``big`` the mixed y is
    within float precision of the pure (1, 0).
    """
    return NormalFormGame.from_bimatrix([[1, 0], [0, big]], [[1, 0], [0, 2]], title=f"lopsided {big}")


# --------------------------------------------------------------------------- 3 players


def minority_game() -> NormalFormGame:
    """Three players choose 0 or 1; a player in the strict minority gets 1, others 0.

    Pure NE: exactly the six 2-1 splits (the lone player gets 1; a majority player who
    switches ends up in the new majority and still gets 0). Unanimous profiles are not
    NE: any deviator becomes a minority of one.
    """
    payoffs = np.zeros((3, 2, 2, 2))
    for joint in itertools.product(range(2), repeat=3):
        for i in range(3):
            same = sum(1 for a in joint if a == joint[i])
            payoffs[(i, *joint)] = 1.0 if same == 1 else 0.0
    return NormalFormGame(payoffs, title="minority game")


def public_goods_game() -> NormalFormGame:
    """Three players contribute (0) or keep (1) an endowment of 1; the pot is multiplied
    by 3/2 and shared equally. Keeping strictly dominates (gain 1/2): unique pure NE
    (1, 1, 1) with payoffs (1, 1, 1)."""
    payoffs = np.zeros((3, 2, 2, 2))
    for joint in itertools.product(range(2), repeat=3):
        contributors = sum(1 for a in joint if a == 0)
        for i in range(3):
            payoffs[(i, *joint)] = (1.0 if joint[i] == 1 else 0.0) + 0.5 * contributors
    return NormalFormGame(payoffs, title="public goods")


def three_player_coordination_game() -> NormalFormGame:
    """A 2 x 3 x 2 game: everybody gets 1 when all three pick the same index, else 0.

    A profile fails to be an NE exactly when two players agree and the third does not
    (the third can then match them). So the pure NE are (0,0,0) and (1,1,1) with payoffs
    1, and the all-distinct profiles (0,2,1) and (1,2,0) with payoffs 0 (weak NE).
    """
    payoffs = np.zeros((3, 2, 3, 2))
    for joint in itertools.product(range(2), range(3), range(2)):
        if joint[0] == joint[1] == joint[2]:
            payoffs[(slice(None), *joint)] = 1.0
    return NormalFormGame(payoffs, title="2x3x2 coordination", player_names=("row", "column", "matrix"))


def jordan_pennies() -> NormalFormGame:
    """Jordan's 3-player matching pennies: 1 matches 2, 2 matches 3, 3 mismatches 1.

    No pure equilibrium (a pure profile makes the chain 1 -> 2 -> 3 -> 1 contradict);
    player 1 is indifferent only when player 2 mixes evenly, 2 only when 3 does, 3 only
    when 1 does, so the unique equilibrium is everyone mixing (1/2, 1/2).
    """
    a1, a2, a3 = np.indices((2, 2, 2))
    sign = lambda same: np.where(same, 1.0, -1.0)  # noqa: E731
    return NormalFormGame(
        np.stack([sign(a1 == a2), sign(a2 == a3), sign(a3 != a1)]), title="Jordan's pennies"
    )


# --------------------------------------------------------------------------- seeded random games


def random_integer_game(m: int, n: int, low: int, high: int, seed: int) -> NormalFormGame:
    """Bimatrix game with payoffs drawn uniformly from the integers ``low..high`` (inclusive)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(low, high + 1, size=(m, n))
    b = rng.integers(low, high + 1, size=(m, n))
    return NormalFormGame.from_bimatrix(a, b, title=f"random integer {m}x{n} [{low},{high}] seed {seed}")


def random_normal_game(m: int, n: int, seed: int) -> NormalFormGame:
    """Bimatrix game with standard-normal payoffs (non-degenerate with probability 1)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    b = rng.standard_normal((m, n))
    return NormalFormGame.from_bimatrix(a, b, title=f"random normal {m}x{n} seed {seed}")


def random_decimal_game(m: int, n: int, seed: int) -> NormalFormGame:
    """Standard-normal payoffs rounded to 3 decimals (as payoffs are often written): the
    integer search does not apply, and the float search's rare doubts are decided exactly."""
    rng = np.random.default_rng(seed)
    a, b = np.round(rng.standard_normal((2, m, n)), 3)
    return NormalFormGame.from_bimatrix(a, b, title=f"decimal {m}x{n} seed {seed}")


def random_degenerate_game(m: int, n: int, seed: int) -> NormalFormGame:
    """Bimatrix game with payoffs in {0, 1, 2}: ties everywhere, usually degenerate."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, size=(m, n))
    b = rng.integers(0, 3, size=(m, n))
    return NormalFormGame.from_bimatrix(a, b, title=f"random degenerate {m}x{n} seed {seed}")


def random_near_tie_game(m: int, n: int, scale: int, seed: int) -> NormalFormGame:
    """Payoffs ``scale * u + v`` with u, v in {0, 1, 2}: coarse ties broken by tiny amounts.

    Vertices of the best-response polytopes then come in clusters closer together than a
    float tolerance can resolve, which exact arithmetic must still tell apart.
    """
    rng = np.random.default_rng(seed)
    a = scale * rng.integers(0, 3, size=(m, n)) + rng.integers(0, 3, size=(m, n))
    b = scale * rng.integers(0, 3, size=(m, n)) + rng.integers(0, 3, size=(m, n))
    return NormalFormGame.from_bimatrix(a, b, title=f"near-tie {m}x{n} scale {scale} seed {seed}")


def identity_like_game(m: int, n: int, seed: int) -> NormalFormGame:
    """A permuted, weighted, possibly rectangular coordination game.

    ``min(m, n)`` cells on a permuted diagonal pay each player a weight in 1..3; every
    other cell pays 0. Square instances have 2^n - 1 equilibria like the identity game;
    rectangular ones add all-zero rows or columns, which makes them degenerate.
    """
    rng = np.random.default_rng(seed)
    rows, cols = rng.permutation(m), rng.permutation(n)
    a = np.zeros((m, n), dtype=int)
    b = np.zeros((m, n), dtype=int)
    for k in range(min(m, n)):
        a[rows[k], cols[k]] = rng.integers(1, 4)
        b[rows[k], cols[k]] = rng.integers(1, 4)
    return NormalFormGame.from_bimatrix(a, b, title=f"identity-like {m}x{n} seed {seed}")


def integer_bimatrix(game: NormalFormGame, scale: int = 1) -> tuple[list[list[int]], list[list[int]]]:
    """The two payoff matrices times ``scale`` as nested lists of Python ints (for pygambit,
    lrsnash; a common scale leaves the equilibria unchanged).

    Raises
    ------
    ValueError
        If a payoff times ``scale`` is not an integer (within float round-off of one for
        ``scale > 1``: 0.001 * 1000 is 1 only to round-off).
    """
    a, b = game.bimatrix()
    out = []
    for mat in (a, b):
        ints = np.rint(mat * scale).astype(np.int64)
        if not np.allclose(ints, mat * scale, rtol=0, atol=0 if scale == 1 else 1e-6):
            raise ValueError(f"integer_bimatrix(): {game!r} has non-integer payoffs")
        out.append(ints.tolist())
    return out[0], out[1]


# --------------------------------------------------------------------------- comparison helpers


def float_profile(profile: Profile) -> tuple[np.ndarray, ...]:
    """An exact profile as float arrays."""
    return tuple(np.array([float(p) for p in s]) for s in profile)


def unmatched(
    found: list[tuple[np.ndarray, ...]], wanted: list[tuple[np.ndarray, ...]], atol: float = 1e-9
) -> list[tuple[np.ndarray, ...]]:
    """Members of ``wanted`` with no member of ``found`` within ``atol`` (max-norm, every player)."""

    def close(p: tuple[np.ndarray, ...], q: tuple[np.ndarray, ...]) -> bool:
        return len(p) == len(q) and all(
            a.shape == b.shape and bool(np.max(np.abs(a - b)) <= atol) for a, b in zip(p, q, strict=True)
        )

    return [w for w in wanted if not any(close(f, w) for f in found)]


def assert_same_solution(got: object, want: object) -> None:
    """Same equilibria (as sets, to 1e-9) and the same ``complete`` flag."""
    assert got.complete == want.complete  # type: ignore[attr-defined]
    mine = sorted(np.concatenate(eq.strategies).tolist() for eq in got.equilibria)  # type: ignore[attr-defined]
    theirs = sorted(np.concatenate(eq.strategies).tolist() for eq in want.equilibria)  # type: ignore[attr-defined]
    assert len(mine) == len(theirs)
    np.testing.assert_allclose(mine, theirs, atol=1e-9, rtol=0)


def team_chain(discount: float, horizon: int | None = None) -> StochasticGame:
    """A 2-state team game. State 0: both wait (reward 1, stay), both move (0, go to 1),
    mismatch (0, stay). State 1: one action each, reward 5, back to state 0."""
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0, :, 0, 0] = 1.0
    rewards[1, :, 0, 0] = 5.0
    transitions = np.zeros((2, 2, 2, 2))
    transitions[0, ..., 0] = 1.0
    transitions[0, 1, 1] = [0.0, 1.0]
    transitions[1, ..., 0] = 1.0
    return StochasticGame(
        rewards, transitions, discount=discount, horizon=horizon, action_counts=[[2, 2], [1, 1]]
    )
