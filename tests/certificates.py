"""Near-degenerate games (issue 23) and independent certificates: NashConv and (C)CE
violations recomputed with numpy.

The games: integer payoffs in [-3, 3], half of them perturbed by uniform noise of size
1e-9 or 1e-12 (:data:`NOISE`, :func:`near_degenerate`, :func:`seeded_game`), some
2-player ones made constant-sum. :func:`refusal` says which option a Nash method
documents refusing for a game.

Nothing here calls the solver: the expected payoff of every pure deviation is an
``einsum`` of the payoff tensor with the other players' strategies, so a test that checks
a returned equilibrium against these numbers checks it against the game itself.

The bar an equilibrium must meet is per player, in that player's own units (issue 17):
``1e-6`` times its payoff range, plus the largest tie tolerance the solver documents
(``10 * tol`` times the range with the default ``tol = 1e-9``: ``gambit`` keeps profiles
within it, ``pure_enumeration`` counts actions within ``tol`` times the range of the best as
best responses), plus float round-off (``1e-12`` times the player's largest absolute
payoff). No term depends on the payoffs' units: multiplying one player's payoffs by any
positive number scales its bar alike. A wrong answer on the games of issue 23 has a
regret near its player's whole range.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "NOISE",
    "TOL",
    "near_degenerate",
    "seeded_game",
    "constant_sum",
    "refusal",
    "REGRET_BAR",
    "TIE_TOLERANCE",
    "AGREEMENT",
    "payoff_scale",
    "ranges_of",
    "regret_bars",
    "agreement_of",
    "deviation_payoffs",
    "regrets",
    "assert_distribution",
    "certified_profile",
    "assert_certifies",
    "exact_nash_conv",
    "assert_correlated_certifies",
]

#: Noise levels: half the games are exact integers, half perturbed (Hypothesis shrinks to no noise).
NOISE = (0.0, 1e-9, 0.0, 1e-12)
#: The solver's (and server's) default tolerance.
TOL = 1e-9
#: An equilibrium's regret may be at most this times its player's payoff range ...
REGRET_BAR = 1e-6
#: ... plus this times the game's payoff scale (the solver's largest documented tie tolerance).
TIE_TOLERANCE = 1e-8
#: A result's own certificate fields must agree with the recomputation to this times the range.
AGREEMENT = 1e-9
#: Float round-off: this times a player's largest absolute payoff.
ROUNDOFF = 1e-11


def payoff_scale(payoffs: np.ndarray) -> float:
    """The largest payoff range over players (1.0 when every payoff is zero)."""
    largest = float(ranges_of(payoffs).max())
    return largest if largest > 0.0 else 1.0


def ranges_of(payoffs: np.ndarray) -> np.ndarray:
    """Each player's payoff range, computed in halves (payoffs near 1e308 do not overflow)."""
    flat = np.asarray(payoffs, dtype=np.float64).reshape(len(payoffs), -1)
    half = flat.max(axis=1) / 2.0 - flat.min(axis=1) / 2.0
    with np.errstate(over="ignore"):
        return np.minimum(2.0 * half, np.finfo(np.float64).max)


def roundoff_of(payoffs: np.ndarray) -> np.ndarray:
    """Each player's float round-off floor: ``1e-12`` times its largest absolute payoff."""
    flat = np.asarray(payoffs, dtype=np.float64).reshape(len(payoffs), -1)
    return ROUNDOFF * np.abs(flat).max(axis=1)


def regret_bars(payoffs: np.ndarray) -> np.ndarray:
    """Each player's largest acceptable regret (see the module docstring)."""
    return (REGRET_BAR + TIE_TOLERANCE) * ranges_of(payoffs) + roundoff_of(payoffs)


def agreement_of(payoffs: np.ndarray) -> np.ndarray:
    """Per player, how far a result's own certificate may be from the recomputation."""
    return AGREEMENT * ranges_of(payoffs) + roundoff_of(payoffs)


def near_degenerate(
    integers: np.ndarray, level: float, rng: np.random.Generator, constant: int | None = None
) -> np.ndarray:
    """Integer payoffs plus uniform noise in ``[-level, level]``; with ``constant``, the
    column player's payoffs are then ``constant`` minus the row player's (constant-sum)."""
    payoffs = np.asarray(integers, dtype=np.float64) + level * rng.uniform(-1.0, 1.0, np.shape(integers))
    if constant is not None:
        payoffs[1] = constant - payoffs[0]
    return payoffs


def seeded_game(k: int) -> np.ndarray:
    """Game ``k`` of a seeded family: ``m x n`` (1 to 6 each), integers in [-3, 3] plus noise
    ``NOISE[k % 4]``, all drawn from ``numpy.random.default_rng([23, k])``."""
    rng = np.random.default_rng([23, k])
    m, n = (int(v) for v in rng.integers(1, 7, 2))
    return near_degenerate(rng.integers(-3, 4, (2, m, n)), NOISE[k % len(NOISE)], rng)


def constant_sum(payoffs: np.ndarray) -> bool:
    """Strategically constant-sum, as ``zero_sum_lp`` documents it: with each player's payoffs
    mapped affinely onto [0, 1], the two sum to a constant within ``TOL``."""
    if len(payoffs) != 2:
        return False
    flat = np.asarray(payoffs, dtype=np.float64).reshape(2, -1)
    low = flat.min(axis=1, keepdims=True)
    half = flat.max(axis=1, keepdims=True) / 2.0 - low / 2.0
    unit = np.where(half > 0.0, (flat / 2.0 - low / 2.0) / np.where(half > 0.0, half, 1.0), 0.0)
    return float(np.ptp(unit[0] + unit[1])) <= TOL


def refusal(name: str, max_players: int, payoffs: np.ndarray, exact: bool) -> str | None:
    """The option a Nash method documents refusing for this game (``"method"``: it does not
    apply, ``"exact"``: exact output is vertex enumeration's), or None when it must solve."""
    if max_players and len(payoffs) > max_players:
        return "method"
    if exact and name != "vertex_enumeration":
        return "exact"
    if name == "zero_sum_lp" and not constant_sum(payoffs):
        return "method"
    return None


def deviation_payoffs(payoffs: np.ndarray, strategies: Sequence[np.ndarray], player: int) -> np.ndarray:
    """Expected payoff of each pure action of ``player`` against the others' strategies."""
    n = len(strategies)
    axes = string.ascii_lowercase[:n]
    others = [k for k in range(n) if k != player]
    subscripts = axes + "," + ",".join(axes[k] for k in others) + "->" + axes[player]
    return np.einsum(subscripts, payoffs[player], *(strategies[k] for k in others))


def regrets(payoffs: np.ndarray, strategies: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each player's expected payoff and regret (best pure deviation minus expected payoff)."""
    values, gaps = [], []
    for i in range(len(strategies)):
        dev = deviation_payoffs(payoffs, strategies, i)
        value = float(dev @ strategies[i])
        values.append(value)
        gaps.append(float(dev.max()) - value)
    return np.array(values), np.array(gaps)


def assert_distribution(strategy: np.ndarray, actions: int) -> None:
    """A finite probability vector over ``actions`` actions."""
    assert strategy.shape == (actions,)
    assert np.isfinite(strategy).all()
    assert strategy.min() >= 0.0, strategy
    assert abs(strategy.sum() - 1.0) <= 1e-9, strategy


def certified_profile(
    payoffs: np.ndarray, strategies: Sequence[Any], nash_conv: float, what: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Assert ``strategies`` are distributions whose recomputed regrets meet the bar and that
    ``nash_conv`` (the answer's own) agrees; return the recomputed payoffs and regrets."""
    payoffs = np.asarray(payoffs, dtype=np.float64)
    n = payoffs.shape[0]
    assert len(strategies) == n, what
    for i, s in enumerate(strategies):
        assert_distribution(np.asarray(s), payoffs.shape[1 + i])
    values, gaps = regrets(payoffs, [np.asarray(s, dtype=np.float64) for s in strategies])
    bars = regret_bars(payoffs)
    assert (gaps <= bars).all(), f"{what}: regrets {gaps} over {bars} at {strategies}"
    agree = float(agreement_of(payoffs).sum())
    assert abs(float(nash_conv) - float(gaps.sum())) <= agree, (what, nash_conv, gaps)
    return values, gaps


def assert_certifies(payoffs: np.ndarray, eq: Any, what: str = "") -> None:
    """``eq`` (a solver or client ``Equilibrium``) certifies (:func:`certified_profile`) and
    its own ``regrets`` and ``payoffs`` agree with the recomputation."""
    values, gaps = certified_profile(payoffs, eq.strategies, eq.nash_conv, what)
    agree = agreement_of(np.asarray(payoffs, dtype=np.float64))
    assert (np.abs(np.asarray(eq.regrets) - gaps) <= agree).all(), (what, eq.regrets, gaps)
    assert (np.abs(np.asarray(eq.payoffs) - values) <= agree).all(), (what, eq.payoffs, values)


def exact_nash_conv(
    payoffs: Sequence[Sequence[Sequence[int]]], profile: Sequence[Sequence[Fraction]]
) -> Fraction:
    """NashConv of an exact 2-player profile in rational arithmetic (integer payoffs)."""
    a, b = ([[Fraction(int(v)) for v in row] for row in matrix] for matrix in payoffs)
    x, y = profile
    rows = [sum((a[r][c] * y[c] for c in range(len(y))), Fraction(0)) for r in range(len(x))]
    cols = [sum((b[r][c] * x[r] for r in range(len(x))), Fraction(0)) for c in range(len(y))]
    value_row = sum((p * v for p, v in zip(x, rows, strict=True)), Fraction(0))
    value_col = sum((q * v for q, v in zip(y, cols, strict=True)), Fraction(0))
    return (max(rows) - value_row) + (max(cols) - value_col)


def assert_correlated_certifies(payoffs: np.ndarray, ce: Any, what: str = "") -> None:
    """A correlated (or coarse correlated) equilibrium: a distribution over joint actions whose
    incentive constraints, recomputed here, hold within the bar, and whose own
    ``max_violation`` and ``payoffs`` agree."""
    payoffs = np.asarray(payoffs, dtype=np.float64)
    n = payoffs.shape[0]
    dist = np.asarray(ce.distribution, dtype=np.float64)
    assert dist.shape == payoffs.shape[1:], what
    assert np.isfinite(dist).all() and dist.min() >= -1e-12, what
    assert abs(dist.sum() - 1.0) <= 1e-9, what
    bars = regret_bars(payoffs)
    scale = payoff_scale(payoffs)
    worst = -np.inf
    for i in range(n):
        k = payoffs.shape[1 + i]
        u = np.moveaxis(payoffs[i], i, 0).reshape(k, -1)  # (own action, joint action of the others)
        q = np.moveaxis(dist, i, 0).reshape(k, -1)
        if ce.kind == "correlated":
            # gain[a, b]: what player i gains in expectation by playing b whenever told a
            gain = np.array([[float(q[a] @ (u[b] - u[a])) for b in range(k)] for a in range(k)])
        else:
            # gain[b]: what player i gains by committing to b instead of following the draw
            gain = np.array([float(q.sum(axis=0) @ u[b]) - float((q * u).sum()) for b in range(k)])
        violation = float(gain.max())
        assert violation <= bars[i], (what, i, violation)
        worst = max(worst, violation)
    assert abs(max(worst, 0.0) - max(float(ce.max_violation), 0.0)) <= AGREEMENT * scale, (
        what,
        ce.max_violation,
        worst,
    )
    values = [float((dist * payoffs[i]).sum()) for i in range(n)]
    np.testing.assert_allclose(ce.payoffs, values, rtol=0, atol=AGREEMENT * scale, err_msg=what)


def exact_determinant(rows: Sequence[Sequence[Fraction]]) -> Fraction:
    """The determinant of a square matrix of rationals, by Gaussian elimination."""
    rows, det = [list(r) for r in rows], Fraction(1)
    for k in range(len(rows)):
        pivot = next((i for i in range(k, len(rows)) if rows[i][k]), None)
        if pivot is None:
            return Fraction(0)
        if pivot != k:
            rows[k], rows[pivot], det = rows[pivot], rows[k], -det
        det *= rows[k][k]
        for i in range(k + 1, len(rows)):
            factor = rows[i][k] / rows[k][k]
            rows[i] = [a - factor * b for a, b in zip(rows[i], rows[k], strict=True)]
    return det
