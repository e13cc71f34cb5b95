"""Each player's own payoff unit for trace scoring, and the round-off floor.

:class:`~equilibria.solver.traces.scorer.TraceScorer` measures every payoff gap, NashConv
and return radius relative to each player's own payoff range (SPEC section 5, *Scale*),
so that rescaling one player's payoffs changes no verdict, and reads values within a
round-off floor of 0 as 0. See docs/traces.md, *Scale and round-off*.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray
from equilibria.solver.game import ROUNDOFF_RANGE, NormalFormGame, _half_spans
from equilibria.solver.stochastic.game import StochasticGame

__all__: list[str] = []  # the scorer's internals


class _PayoffUnits(NamedTuple):
    """Each player's own payoff unit: how user payoffs map onto the unit game, and back for display.

    A player's payoff gap is measured in the unit game (its payoffs mapped onto ``[0, 1]``),
    i.e. relative to that player's own range; it is reported times ``display``, so that
    it reads in the game's payoff scale (a plain payoff difference when every player has
    the same range).
    """

    low: FloatArray  # (n,) each player's smallest value (payoff; reward times the horizon)
    half: FloatArray  # (n,) half of each player's range (payoff; reward range), 1 where constant
    constant: npt.NDArray[np.bool_]  # (n,) players whose payoffs are constant
    horizon: float  # 1 (normal form) or the effective horizon (stochastic)
    display: float  # a unit-game payoff gap times this is in the reported units
    floor: float  # round-off floor of a reported payoff gap (or NashConv)

    def to_unit(self, values: FloatArray) -> FloatArray:
        """User values ``(m, n)`` (payoffs, or discounted returns) in unit-game units."""
        out = (values / 2.0 - self.low / 2.0) / self.half
        return np.where(self.constant, 0.0, out)

    def relative(self, widths: FloatArray) -> FloatArray:
        """Per-player widths ``(m, n)`` in user units as fractions of each player's own range."""
        return np.where(self.constant, 0.0, widths / (2.0 * self.half * self.horizon))


def _floored(values: FloatArray, floor: float) -> FloatArray:
    """Values at or below the round-off ``floor`` read as exactly 0 (constant traces at a solution)."""
    return np.where(values <= floor, 0.0, values)


def _payoff_units(game: NormalFormGame | StochasticGame) -> tuple[_PayoffUnits, float]:
    """Each player's own payoff unit, and the payoff scale the payoff curves are reported in.

    The scale is the largest payoff range (stochastic: reward range times the effective
    horizon, the range of the values); a player's gap is its gap over its own range
    times the scale. The round-off floor is ``ROUNDOFF_RANGE`` of each player's largest
    magnitude over its range (1e-12 at least), times the scale and the number of players.

    Examples
    --------
    >>> g = NormalFormGame.from_bimatrix([[0.0, 2.0]], [[0.0, 2e-9]])
    >>> units, scale = _payoff_units(g)
    >>> scale, units.to_unit(np.array([[1.0, 1e-9]])).tolist()
    (2.0, [[0.5, 0.5]])
    """
    if isinstance(game, StochasticGame):
        flat = game._reward_table
        horizon = game.effective_horizon
        scale = game.reward_scale * horizon
    else:
        flat = game.payoffs.reshape(game.n_players, -1)
        horizon = 1.0
        scale = game.payoff_scale
    low, half = _half_spans(flat)
    constant = half <= 0.0
    half = np.where(constant, 1.0, half)
    magnitude = np.abs(flat).max(axis=1) / 2.0
    relative_floor = ROUNDOFF_RANGE * np.maximum(1.0, np.where(constant, 0.0, magnitude / half))
    floor = float(scale * game.n_players * relative_floor.max())
    units = _PayoffUnits(low * horizon, half, constant, horizon, scale / horizon, floor)
    return units, scale
