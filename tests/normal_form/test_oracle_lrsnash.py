"""Differential tests against lrsnash (lrslib), the gold standard for all equilibria.

``vertex_enumeration(game, exact=True)`` must list exactly lrsnash's extreme equilibria,
fraction for fraction (zero missed, zero spurious), and the float search the same set to
1e-9, on seeded games of every family that makes enumeration hard: random integer
(payoffs of both signs), degenerate {0, 1, 2}, identity-like (rectangular ones are
degenerate), near-ties and 3-decimal normal payoffs (lrsnash gets those times 1000),
square and rectangular, up to 9 actions a side (14 for the float search). ``solve(game)``
(auto) must enumerate them too, and say the set is complete.

lrsnash is installed by ``.ci/run`` (Debian package ``lrslib``); where it is not, the
module is skipped with that message.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from equilibria.solver import NormalFormGame, solve
from equilibria.solver.normal_form import vertex_enumeration as ve
from equilibria.solver.normal_form.rational_polytope import RationalPolytope
from equilibria.solver.normal_form.vertex_enumeration import vertex_enumeration

from .. import games, lrsnash

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(
        lrsnash.LRSNASH is None, reason="lrsnash is not installed (apt-get install lrslib; .ci/run does)"
    ),
]

SHAPES = [(2, 2), (3, 3), (2, 5), (5, 3), (4, 4), (6, 6), (4, 7), (8, 5), (9, 9)]


def _family(name: str, m: int, n: int, seed: int) -> NormalFormGame:
    if name == "integer":
        return games.random_integer_game(m, n, -20, 20, seed)
    if name == "degenerate":
        return games.random_degenerate_game(m, n, seed)
    if name == "identity_like":
        return games.identity_like_game(m, n, seed)
    if name == "decimal":
        return games.random_decimal_game(m, n, seed)
    return games.random_near_tie_game(m, n, 1000, seed)


CASES = [
    (family, m, n, seed)
    for family in ("integer", "degenerate", "identity_like", "near_tie", "decimal")
    for k, (m, n) in enumerate(SHAPES)
    for seed in (k, 100 + k)
]

#: Larger games, where a search that skips a basis has more to miss (float and auto only:
#: the exact checks above cover the arithmetic).
SCALE = [
    ("integer", 12, 12, 7),
    ("integer", 10, 14, 8),
    ("degenerate", 11, 11, 9),
    ("near_tie", 12, 10, 10),
    ("decimal", 13, 13, 11),
]


def _reference(game: NormalFormGame) -> set[tuple[Fraction, ...]]:
    a, b = games.integer_bimatrix(game, scale=1000 if game.title.startswith("decimal") else 1)
    _, found = lrsnash.run(a, b, timeout=120)
    assert found is not None, "lrsnash ran past 120 s"
    assert found, "lrsnash found no equilibrium: every finite game has one"
    return {x + y for x, y in found}


@pytest.mark.parametrize(("family", "m", "n", "seed"), CASES)
def test_exact_enumeration_equals_lrsnash(family: str, m: int, n: int, seed: int) -> None:
    game = _family(family, m, n, seed)
    want = _reference(game)
    result = vertex_enumeration(game, exact=True)
    assert result.complete
    got = [eq.exact_strategies[0] + eq.exact_strategies[1] for eq in result.equilibria]
    assert len(got) == len(set(got)), "an equilibrium listed twice"
    assert set(got) == want, f"missed {sorted(want - set(got))}, spurious {sorted(set(got) - want)}"
    spread = float(np.ptp(game.payoffs))
    for eq in result.equilibria:  # the rounded strategies are certified to float precision
        assert eq.nash_conv <= 1e-12 * spread


@pytest.mark.parametrize(("family", "m", "n", "seed"), CASES + SCALE)
def test_float_enumeration_and_auto_equal_lrsnash(family: str, m: int, n: int, seed: int) -> None:
    game = _family(family, m, n, seed)
    wanted = [(np.array(p[:m], dtype=float), np.array(p[m:], dtype=float)) for p in _reference(game)]
    for result in (vertex_enumeration(game), solve(game)):
        assert result.complete, result.method
        found = [tuple(eq.strategies) for eq in result.equilibria]
        assert len(found) == len(wanted)
        assert games.unmatched(found, wanted) == []
        assert games.unmatched(wanted, found) == []


#: Near-tie games whose float search, without the lexicographic test, has a decision within
#: its error in both modes (seeds 0..79 scanned: 5 of 80 at 5 x 5, 11 at 6 x 6): every
#: vertex is then decided in exact arithmetic.
DOUBTFUL = [(5, 21), (5, 38), (5, 40), (6, 14), (6, 24), (6, 29)]


@pytest.mark.parametrize(("n", "seed"), DOUBTFUL)
@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("lexicographic", [False, True])
def test_a_doubtful_float_decision_is_settled_in_exact_arithmetic(
    n: int, seed: int, exact: bool, lexicographic: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the lexicographic test (every tie followed) the float search meets a basis it
    cannot decide: that basis is solved in rational arithmetic where the doubt arose (a
    label, a face), or every vertex is decided exactly (a doubt in the search itself); with
    it (integer payoffs) that basis is often certainly not a lexicographic one, and the
    float search alone is complete (4 of these 6 games). Either way the answer is lrsnash's
    equilibria."""
    game = games.random_near_tie_game(n, n, 1000, seed)
    want = _reference(game)
    if not lexicographic:
        monkeypatch.setattr(ve, "_lexicographic_residues", lambda a, b: (None, None))
    settled = []  # bases solved exactly where the doubt arose
    decide = RationalPolytope.decide
    monkeypatch.setattr(
        RationalPolytope,
        "decide",
        lambda self, ps, pt, tol: settled.append(len(ps)) or decide(self, ps, pt, tol),
    )
    result = vertex_enumeration(game, exact=exact)
    assert result.complete
    # The float search's doubt was seen, and settled.
    doubted = "feasible bases exactly" in result.method_reason or sum(settled) > 0
    assert doubted or lexicographic
    if not exact and doubted:
        assert any(
            w.startswith("near-degenerate: a vertex decision was within float round-off")
            for w in result.warnings
        )
    got = [tuple(np.concatenate(eq.strategies)) for eq in result.equilibria]
    wanted = [np.array(p, dtype=float) for p in want]
    assert len(got) == len(wanted)
    assert games.unmatched([(np.array(g),) for g in got], [(w,) for w in wanted]) == []
    if exact:
        assert {eq.exact_strategies[0] + eq.exact_strategies[1] for eq in result.equilibria} == want
