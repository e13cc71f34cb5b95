"""Expected payoffs, regrets and NashConv of mixed-strategy profiles.

The regret of a player is its best-response payoff minus its expected payoff, and
**NashConv** (Lanctot et al. 2017) is the sum of the regrets: zero exactly at a Nash
equilibrium. These are the certificates every equilibrium the project returns carries,
computed afresh in float64 from the user's payoffs. See docs/normal-form.md (section
"Certificates").

Examples
--------
>>> import numpy as np
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.regret import certify
>>> pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
>>> c = certify(pennies, (np.array([0.5, 0.5]), np.array([0.5, 0.5])))
>>> float(c.nash_conv)
0.0

References
----------
.. [1] Lanctot et al., "A Unified Game-Theoretic Approach to Multiagent Reinforcement
   Learning", NeurIPS 2017 (NashConv).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.game import NormalFormGame
from equilibria.solver.kernels import warm_up
from equilibria.solver.results import SolutionSet

__all__ = ["Certificate", "certify", "certify_many", "deviation_payoffs", "recertified"]


@dataclasses.dataclass(frozen=True)
class Certificate:
    """Payoffs and regrets of a mixed profile.

    Attributes
    ----------
    payoffs : ndarray, shape (n_players,)
        Expected payoff of each player.
    regrets : ndarray, shape (n_players,)
        Best-response payoff minus expected payoff, per player (>= 0).
    nash_conv : float
        Sum of the regrets.
    """

    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float


def deviation_payoffs(game: NormalFormGame, strategies: Sequence[FloatArray], player: int) -> FloatArray:
    """Expected payoff of each pure action of ``player`` against the others' mixture.

    Parameters
    ----------
    game : NormalFormGame
    strategies : sequence of ndarray
        One probability vector per player.
    player : int

    Returns
    -------
    ndarray, shape (a_player,)
    """
    tensor = game.payoffs[player]
    if game.n_players == 2:  # a matrix-vector product: the hot case of 2-player solvers
        return tensor @ strategies[1] if player == 0 else strategies[0] @ tensor
    # Contract the other players' axes from the last to the first so axis numbers stay valid.
    for j in reversed(range(game.n_players)):
        if j != player:
            tensor = np.tensordot(tensor, strategies[j], axes=([j], [0]))
    return np.asarray(tensor, dtype=np.float64)


def certify(game: NormalFormGame, strategies: Sequence[npt.ArrayLike]) -> Certificate:
    """Expected payoffs, per-player regrets and NashConv of a mixed profile.

    Parameters
    ----------
    game : NormalFormGame
    strategies : sequence of array_like
        One probability vector per player (each non-negative, summing to 1).

    Returns
    -------
    Certificate

    Raises
    ------
    InvalidGameError
        If the profile does not fit the game.
    """
    if game.n_players == 2 and len(strategies) == 2:
        x, y = _kernel_vector(strategies[0]), _kernel_vector(strategies[1])
        if x.shape == (game.payoffs.shape[1],) and y.shape == (game.payoffs.shape[2],):
            payoffs, regrets, nash_conv = _bimatrix_certificate(game.payoffs, x, y)
            return Certificate(payoffs=payoffs, regrets=regrets, nash_conv=nash_conv)
    profile = [np.asarray(s, dtype=np.float64) for s in strategies]
    if len(profile) != game.n_players or any(
        p.shape != (k,) for p, k in zip(profile, game.num_actions, strict=False)
    ):
        raise InvalidGameError(
            "strategies",
            f"certify(): profile shapes {[p.shape for p in profile]} do not fit actions {game.num_actions}",
        )
    payoffs = np.empty(game.n_players)
    regrets = np.empty(game.n_players)
    for i in range(game.n_players):
        dev = deviation_payoffs(game, profile, i)
        payoffs[i] = float(dev @ profile[i])
        regrets[i] = max(float(dev.max()) - payoffs[i], 0.0)
    return Certificate(payoffs=payoffs, regrets=regrets, nash_conv=float(regrets.sum()))


def certify_many(game: NormalFormGame, xs: npt.ArrayLike, ys: npt.ArrayLike) -> list[Certificate]:
    """Certificates of many mixed profiles ``(xs[k], ys[k])`` of one 2-player game.

    One compiled loop: the numbers are those :func:`certify` gives profile by profile.

    Parameters
    ----------
    game : NormalFormGame
        A 2-player game with ``m`` and ``n`` actions.
    xs : array_like, shape (k, m)
        Row player's strategies, one per row.
    ys : array_like, shape (k, n)
        Column player's strategies, one per row.

    Returns
    -------
    list of Certificate
        One per profile, in order.

    Raises
    ------
    InvalidGameError
        If the game does not have 2 players or the arrays do not fit it.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
    >>> certs = certify_many(pennies, [[0.5, 0.5], [1, 0]], [[0.5, 0.5], [1, 0]])
    >>> [float(c.nash_conv) for c in certs]
    [0.0, 2.0]
    """
    x_rows = np.array(xs, dtype=np.float64, order="C", ndmin=2)
    y_rows = np.array(ys, dtype=np.float64, order="C", ndmin=2)
    if game.n_players != 2:
        raise InvalidGameError(
            "strategies", f"certify_many(): needs a 2-player game, got {game.n_players} players"
        )
    m, n = game.num_actions
    if (
        x_rows.ndim != 2
        or y_rows.ndim != 2
        or x_rows.shape[1:] != (m,)
        or y_rows.shape != (x_rows.shape[0], n)
    ):
        raise InvalidGameError(
            "strategies",
            f"certify_many(): xs {x_rows.shape} and ys {y_rows.shape} do not fit (k, {m}) and (k, {n})",
        )
    values = _bimatrix_certificates(game.payoffs, x_rows, y_rows)
    return [
        Certificate(payoffs=row[0:2].copy(), regrets=row[2:4].copy(), nash_conv=float(row[4]))
        for row in values
    ]


def recertified(result: SolutionSet, game: NormalFormGame) -> SolutionSet:
    """``result`` with every equilibrium's payoffs and regrets measured afresh on ``game``.

    Solvers work on :attr:`NormalFormGame.unit_game`; this puts their answers back in
    the user's units (same strategies, certificates from the user's payoffs).

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame, solve
    >>> g = NormalFormGame.from_bimatrix([[4, 0], [0, 2]], [[2, 0], [0, 4]])
    >>> unit = solve(g.unit_game)
    >>> [eq.payoffs.tolist() for eq in recertified(unit, g).equilibria][0]
    [4.0, 2.0]
    """
    if not result.equilibria:
        return dataclasses.replace(result, game_id=game.id)
    if game.n_players == 2:
        certs = certify_many(
            game,
            np.stack([eq.strategies[0] for eq in result.equilibria]),
            np.stack([eq.strategies[1] for eq in result.equilibria]),
        )
    else:
        certs = [certify(game, eq.strategies) for eq in result.equilibria]
    equilibria = tuple(
        dataclasses.replace(eq, payoffs=c.payoffs, regrets=c.regrets, nash_conv=c.nash_conv)
        for eq, c in zip(result.equilibria, certs, strict=True)
    )
    return dataclasses.replace(result, game_id=game.id, equilibria=equilibria)


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the 2-player certificate kernels now."""
    payoffs = np.ones((2, 1, 1))
    payoffs.setflags(write=False)
    _bimatrix_certificate(payoffs, np.ones(1), np.ones(1))
    _bimatrix_certificates(payoffs, np.ones((1, 1)), np.ones((1, 1)))


def _kernel_vector(strategy: npt.ArrayLike) -> FloatArray:
    """The strategy as a writable C-contiguous float64 array (one numba signature for all)."""
    vector = np.asarray(strategy, dtype=np.float64)
    if vector.flags.c_contiguous and vector.flags.writeable:
        return vector
    return np.array(vector, order="C")


@numba.njit(cache=True)
def bimatrix_certificate_into(payoffs: FloatArray, x: FloatArray, y: FloatArray, out: FloatArray) -> None:
    """Write ``payoff_0, payoff_1, regret_0, regret_1, nash_conv`` of ``(x, y)`` to ``out[:5]``.

    Compiled; callable from other numba kernels. The products are the BLAS calls numpy's
    ``A @ y``, ``x @ B`` and ``dev @ x`` make (``dot`` for a single row or column, as
    numpy does), and NashConv is summed as ``numpy.sum`` sums two numbers, so the
    values equal the generic path's bit for bit on the same BLAS.

    ``lemke_howson._solve_label`` calls it. numba's on-disk cache checks only the file of
    the function it caches, so after changing this one, touch ``lemke_howson.py`` too.
    """
    a = payoffs[0]
    b = payoffs[1]
    m, n = a.shape
    if m == 1:
        dev_row = np.empty(1)
        dev_row[0] = np.dot(a[0], y)
    else:
        dev_row = np.dot(a, y)
    if n == 1:
        dev_col = np.empty(1)
        dev_col[0] = np.dot(x, b.ravel())
    else:
        dev_col = np.dot(x, b)
    payoff_row = np.dot(dev_row, x)
    payoff_col = np.dot(dev_col, y)
    regret_row = max(dev_row.max() - payoff_row, 0.0)
    regret_col = max(dev_col.max() - payoff_col, 0.0)
    out[0] = payoff_row
    out[1] = payoff_col
    out[2] = regret_row
    out[3] = regret_col
    out[4] = (0.0 + regret_row) + regret_col


@numba.njit(cache=True)
def _bimatrix_certificate(
    payoffs: FloatArray, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    out = np.empty(5)
    bimatrix_certificate_into(payoffs, x, y, out)
    return out[0:2].copy(), out[2:4].copy(), out[4]


@numba.njit(cache=True)
def _bimatrix_certificates(payoffs: FloatArray, xs: FloatArray, ys: FloatArray) -> FloatArray:
    out = np.empty((xs.shape[0], 5))
    for k in range(xs.shape[0]):
        bimatrix_certificate_into(payoffs, xs[k], ys[k], out[k])
    return out
