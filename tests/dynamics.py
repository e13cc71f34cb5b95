"""Learning dynamics that produce the traces of the scoring tests (SPEC section 6).

Fictitious play (Robinson 1951; Shapley 1964 for the game where it cycles), discrete
replicator dynamics, and Hart & Mas-Colell's regret matching with sampled actions.
"""

from __future__ import annotations

import numpy as np
from equilibria.solver import NormalFormGame


def fictitious_play(
    game: NormalFormGame, steps: int, start: tuple[int, int] = (0, 1)
) -> tuple[np.ndarray, ...]:
    """Simultaneous fictitious play: each row is the pure best response to the opponent's past play."""
    a_mat, b_mat = game.bimatrix()
    m, n = a_mat.shape
    xs, ys = np.zeros((steps, m)), np.zeros((steps, n))
    cx, cy = np.zeros(m), np.zeros(n)
    a, b = start
    for t in range(steps):
        xs[t, a] = ys[t, b] = 1.0
        cx[a] += 1.0
        cy[b] += 1.0
        a, b = int(np.argmax(a_mat @ cy)), int(np.argmax(cx @ b_mat))
    return xs, ys


def replicator(game: NormalFormGame, x: np.ndarray, y: np.ndarray, steps: int, eta: float = 0.1):
    """Discrete-time replicator dynamics from ``(x, y)``."""
    a_mat, b_mat = game.bimatrix()
    xs, ys = np.empty((steps, x.size)), np.empty((steps, y.size))
    for t in range(steps):
        xs[t], ys[t] = x, y
        ux, uy = a_mat @ y, x @ b_mat
        x = x * (1.0 + eta * (ux - x @ ux))
        y = y * (1.0 + eta * (uy - y @ uy))
        x, y = x / x.sum(), y / y.sum()
    return xs, ys


def regret_matching(game: NormalFormGame, steps: int, seed: int) -> np.ndarray:
    """Hart and Mas-Colell's unconditional regret matching with sampled actions; the joint actions."""
    a_mat, b_mat = game.bimatrix()
    m, n = a_mat.shape
    rng = np.random.default_rng(seed)
    draws = rng.random((steps, 2))
    r1, r2 = np.zeros(m), np.zeros(n)
    out = np.empty((steps, 2), dtype=np.int64)
    for t in range(steps):
        p1 = np.maximum(r1, 0.0)
        p2 = np.maximum(r2, 0.0)
        p1 = p1 / p1.sum() if p1.sum() > 0 else np.full(m, 1.0 / m)
        p2 = p2 / p2.sum() if p2.sum() > 0 else np.full(n, 1.0 / n)
        a = min(int(np.searchsorted(np.cumsum(p1), draws[t, 0], side="right")), m - 1)
        b = min(int(np.searchsorted(np.cumsum(p2), draws[t, 1], side="right")), n - 1)
        out[t] = a, b
        r1 += a_mat[:, b] - a_mat[a, b]
        r2 += b_mat[a, :] - b_mat[a, b]
    return out
