"""Expected payoffs, regrets and NashConv of mixed-strategy profiles.

For a profile :math:`x = (x_1..x_n)` the regret of player ``i`` is
:math:`\\max_{a_i} U_i(a_i, x_{-i}) - U_i(x)` and **NashConv** is the sum of the
regrets: zero exactly at a Nash equilibrium. These are the certificates every
equilibrium the project returns carries, computed afresh in float64 from the user's
payoffs.

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

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidGameError
from equilibria.solver.game import NormalFormGame

__all__ = ["Certificate", "certify", "deviation_payoffs"]

FloatArray = npt.NDArray[np.float64]


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
