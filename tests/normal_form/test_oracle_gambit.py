"""Differential tests against pygambit, an independent implementation.

* Enumeration: ``solve(game, exact=True)`` and ``solve(game)`` must return exactly the
  extreme equilibria that ``pygambit.nash.enummixed_solve(g, rational=True)`` lists
  (zero missed, zero spurious) on 200+ seeded games: random integer, random
  degenerate {0, 1, 2}, identity-like, sizes 1..8 x 1..8 including non-square.
* Lemke-Howson: from every initial label, ``lemke_howson`` must end at one of those
  enumerated equilibria; on generic games it must also be one that pygambit's own
  Lemke-Howson (``lcp_solve(g, rational=False)``, which follows every label from the
  artificial equilibrium and from every equilibrium it finds) reaches.

pygambit's answers are computed once per game and cached for the module.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pygambit as gbt
import pytest
from equilibria.solver import NormalFormGame, SolutionSet, solve
from equilibria.solver.normal_form.lemke_howson import lemke_howson

from .. import games

pytestmark = pytest.mark.oracle

Profile = tuple[tuple[Fraction, ...], ...]
Key = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]


@dataclasses.dataclass(frozen=True)
class OracleGame:
    """A seeded game: ``make()`` rebuilds it; ``generic`` when non-degenerate by construction."""

    kind: str
    m: int
    n: int
    seed: int
    make: Callable[[], NormalFormGame] = dataclasses.field(repr=False, compare=False)
    generic: bool = False

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.m}x{self.n}-s{self.seed}"


def _sizes(kind: int, seed: int, low: int = 1, high: int = 7) -> tuple[int, int]:
    rng = np.random.default_rng([kind, seed])
    m, n = rng.integers(low, high + 1, size=2)
    return int(m), int(n)


def _integer(m: int, n: int, seed: int, low: int = -5, high: int = 5, kind: str = "int") -> OracleGame:
    return OracleGame(kind, m, n, seed, functools.partial(games.random_integer_game, m, n, low, high, seed))


def _degenerate(m: int, n: int, seed: int) -> OracleGame:
    return OracleGame("deg", m, n, seed, functools.partial(games.random_degenerate_game, m, n, seed))


def _identity_like(m: int, n: int, seed: int) -> OracleGame:
    return OracleGame("idlike", m, n, seed, functools.partial(games.identity_like_game, m, n, seed))


def _enumeration_games() -> list[OracleGame]:
    out: list[OracleGame] = []
    out += [_integer(*_sizes(1, s), seed=100 + s) for s in range(77)]  # 1..7 x 1..7, payoffs -5..5
    out += [_degenerate(*_sizes(2, s), seed=200 + s) for s in range(72)]  # 1..7 x 1..7, payoffs 0..2
    out += [_identity_like(*_sizes(3, s), seed=300 + s) for s in range(19)]
    out += [_identity_like(n, n, seed=350 + n) for n in range(1, 8)]  # square: 2^n - 1 equilibria
    # The expensive ones: pygambit needs 1-3 s per 8x8 game in rational arithmetic.
    out += [_integer(8, 8, seed=400 + s) for s in range(4)]
    out += [_degenerate(8, 8, seed=413 + s) for s in range(3)]
    out += [_integer(8, k, seed=420 + k) for k in (1, 3, 5, 7)]
    out += [_integer(k, 8, seed=430 + k) for k in (2, 4, 6)]
    out += [_degenerate(8, k, seed=440 + k) for k in (2, 4, 6)]
    out += [_degenerate(k, 8, seed=450 + k) for k in (1, 3, 5, 7)]
    # Thin games: one player has a single action.
    out += [_degenerate(1, k, seed=460 + k) for k in (2, 5)] + [
        _degenerate(k, 1, seed=470 + k) for k in (3, 6)
    ]
    return out


ENUMERATION_GAMES = _enumeration_games()
ENUMERATION_PARAMS = [pytest.param(g, id=g.id) for g in ENUMERATION_GAMES]

# Exact mode only: payoffs 10**7 * u + v (u, v in 0..2) put vertices closer together
# than any float tolerance resolves; the float mode answers within its tolerance instead.
NEAR_TIE_GAMES = [
    OracleGame("neartie", m, n, 600 + s, functools.partial(games.random_near_tie_game, m, n, 10**7, 600 + s))
    for s, (m, n) in enumerate(_sizes(5, s, low=2, high=5) for s in range(30))
]

# Lemke-Howson: the first 40 integer and 40 degenerate enumeration games (their oracle
# answers are already cached) plus 40 generic games with payoffs in -1000..1000.
GENERIC_GAMES = [
    _integer(*_sizes(4, s, high=6), seed=500 + s, low=-1000, high=1000, kind="wide") for s in range(40)
]
GENERIC_GAMES = [dataclasses.replace(g, generic=True) for g in GENERIC_GAMES]
LH_GAMES = (
    [g for g in ENUMERATION_GAMES if g.kind == "int" and max(g.m, g.n) < 8][:40]
    + [g for g in ENUMERATION_GAMES if g.kind == "deg" and max(g.m, g.n) < 8][:40]
    + GENERIC_GAMES
)
LH_PARAMS = [pytest.param(g, id=g.id) for g in LH_GAMES]


def test_the_differential_corpus_is_large_and_varied() -> None:
    sizes = {(g.m, g.n) for g in ENUMERATION_GAMES}
    assert len(ENUMERATION_GAMES) >= 200
    assert len({g.id for g in ENUMERATION_GAMES}) == len(ENUMERATION_GAMES)
    assert {m for m, _ in sizes} == set(range(1, 9)) and {n for _, n in sizes} == set(range(1, 9))
    assert sum(1 for m, n in sizes if m != n) >= 20
    assert sum(1 for g in ENUMERATION_GAMES if (g.m, g.n) == (8, 8)) <= 20
    assert len(LH_GAMES) >= 100
    assert sum(1 for g in LH_GAMES if g.kind == "deg") >= 30


# --------------------------------------------------------------------------- the oracle


def _key(game: NormalFormGame) -> Key:
    a, b = games.integer_bimatrix(game)
    return tuple(map(tuple, a)), tuple(map(tuple, b))


def _gambit_game(key: Key) -> gbt.Game:
    a, b = key
    return gbt.Game.from_arrays([list(r) for r in a], [list(r) for r in b])


def _read(g: gbt.Game, eq) -> Profile:
    return tuple(
        tuple(Fraction(str(eq[player][strategy])) for strategy in player.strategies) for player in g.players
    )


@functools.cache
def gambit_extreme_equilibria(key: Key) -> frozenset[Profile]:
    """Every extreme equilibrium, by pygambit's rational vertex enumeration (deduplicated:
    pygambit can list an equilibrium twice)."""
    g = _gambit_game(key)
    return frozenset(_read(g, eq) for eq in gbt.nash.enummixed_solve(g, rational=True).equilibria)


@functools.cache
def gambit_lemke_howson(key: Key) -> tuple[tuple[np.ndarray, ...], ...]:
    """The equilibria pygambit's float Lemke-Howson reaches."""
    g = _gambit_game(key)
    result = gbt.nash.lcp_solve(g, rational=False)
    return tuple(
        tuple(np.array([float(eq[p][s]) for s in p.strategies]) for p in g.players)
        for eq in result.equilibria
    )


def _assert_certified(result: SolutionSet, game: NormalFormGame) -> None:
    for k, eq in enumerate(result.equilibria):
        assert eq.nash_conv <= 1e-9 * game.payoff_scale, f"equilibrium {k}: NashConv {eq.nash_conv}"


# --------------------------------------------------------------------------- enumeration


@pytest.mark.parametrize("spec", ENUMERATION_PARAMS)
def test_exact_enumeration_matches_gambit(spec: OracleGame) -> None:
    game = spec.make()
    assert game.num_actions == (spec.m, spec.n)
    oracle = gambit_extreme_equilibria(_key(game))
    result = solve(game, exact=True)
    _assert_certified(result, game)
    ours = [eq.exact_strategies for eq in result.equilibria]
    assert all(p is not None for p in ours)
    missed = oracle - set(ours)
    spurious = set(ours) - oracle
    assert not missed, f"missed {len(missed)} of {len(oracle)}: {sorted(missed)[:3]}"
    assert not spurious, f"{len(spurious)} spurious: {sorted(spurious)[:3]}"
    assert len(ours) == len(oracle), "duplicate equilibria"
    assert result.exact is True
    assert result.complete is True
    if len(oracle) % 2 == 0:
        assert any("degenerate" in w for w in result.warnings), result.warnings
    # The component structure covers every extreme equilibrium.
    covered = {k for comp in result.components for k in comp.equilibrium_indices}
    assert covered == set(range(len(ours)))


@pytest.mark.parametrize("spec", [pytest.param(g, id=g.id) for g in NEAR_TIE_GAMES])
def test_exact_enumeration_matches_gambit_on_near_ties(spec: OracleGame) -> None:
    game = spec.make()
    oracle = gambit_extreme_equilibria(_key(game))
    result = solve(game, exact=True)
    _assert_certified(result, game)
    ours = [eq.exact_strategies for eq in result.equilibria]
    assert oracle - set(ours) == set(), "missed"
    assert set(ours) - oracle == set(), "spurious"
    assert len(ours) == len(oracle), "duplicate equilibria"
    assert result.complete is True


@pytest.mark.parametrize("spec", ENUMERATION_PARAMS)
def test_float_enumeration_matches_gambit(spec: OracleGame) -> None:
    game = spec.make()
    oracle = [games.float_profile(p) for p in gambit_extreme_equilibria(_key(game))]
    result = solve(game)
    _assert_certified(result, game)
    ours = [eq.strategies for eq in result.equilibria]
    missed = games.unmatched(ours, oracle, atol=1e-9)
    spurious = games.unmatched(oracle, ours, atol=1e-9)
    assert not missed, f"missed {len(missed)} of {len(oracle)}"
    assert not spurious, f"{len(spurious)} spurious"
    assert len(ours) == len(oracle), "duplicate equilibria"
    assert result.exact is False
    assert result.complete is True


# --------------------------------------------------------------------------- Lemke-Howson


@pytest.mark.parametrize("spec", LH_PARAMS)
def test_lemke_howson_ends_at_an_enumerated_equilibrium(spec: OracleGame) -> None:
    game = spec.make()
    key = _key(game)
    enumerated = [games.float_profile(p) for p in gambit_extreme_equilibria(key)]
    reachable = gambit_lemke_howson(key) if spec.generic else ()
    failures = []
    for label in range(spec.m + spec.n):
        result = lemke_howson(game, init_label=label)
        assert result.complete is False
        assert len(result.equilibria) == 1, f"label {label}: {result.warnings}"
        eq = result.equilibria[0]
        if eq.nash_conv > 1e-9 * game.payoff_scale:
            failures.append(f"label {label}: NashConv {eq.nash_conv}")
        elif games.unmatched(enumerated, [eq.strategies]) or result.warnings:
            # not an extreme equilibrium pygambit enumerates, or reached only after a fallback
            failures.append(f"label {label}: {eq.strategies} {result.warnings}")
        elif spec.generic and games.unmatched(list(reachable), [eq.strategies], atol=1e-7):
            failures.append(f"label {label}: {eq.strategies} is not among pygambit's LH equilibria")
    assert failures == []
