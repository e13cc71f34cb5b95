"""The ``credit_assignment`` trace criterion: how each agent's contribution evolves.

In a team (common-payoff) game every agent receives the same return, so whether the
*team* converges says little about each agent's part in it. For each joint policy of
the trace this module gives every agent's Shapley value of the team return (Shapley
1953) and its expected difference reward (Wolpert and Tumer 2001), as
:func:`~equilibria.solver.concepts.credit.credit_assignment` defines them with its
defaults (counterfactual ``"action"``, every agent's default action 0), on ``Q^π`` per
state in a stochastic game (as
:func:`~equilibria.solver.concepts.credit.stochastic_credit_assignment`), aggregated
over the states with the scorer's state weights. The curve of the criterion is the
movement of the credit vector, ``max_i |φ_i(z) - φ_i(Z)|`` over the team payoff range;
the summary (:class:`~equilibria.solver.traces.options.CreditCurves`) reads each agent's
trend over the tail window and the *lazy* agents of value decomposition (Sunehag et al.
2018): those with no credit while the team does better than the coalition baseline.
Definitions and the aggregation over states are in docs/traces.md.

Examples
--------
Agent 0 learns the action that matters (``G = 4 a_0``); agent 1's action never matters,
so it gets no credit while the team beats its baseline: a lazy agent.

>>> import numpy as np
>>> from equilibria.solver import NormalFormGame, solve
>>> from equilibria.solver.traces import TraceChunk, score_trace
>>> team = np.array([[0.0, 0.0], [4.0, 4.0]])
>>> game = NormalFormGame(np.stack([team, team]))
>>> z = np.arange(1, 1001)[:, None]
>>> agent0 = np.hstack([1 / (2 * z), 1 - 1 / (2 * z)])
>>> agent1 = np.tile([0.5, 0.5], (1000, 1))
>>> score = score_trace(game, solve(game), TraceChunk(policies=(agent0, agent1)))
>>> score["credit_assignment"].verdict, score.credit.final_shapley_values.round(3).tolist()
('converged', [3.998, 0.0])
>>> score.credit.trends, score.credit.lazy_agents
(('steady', 'steady'), (1,))

References
----------
.. [1] D. H. Wolpert and K. Tumer, "Optimal payoff functions for members of collectives",
   Advances in Complex Systems 4 (2001) 265-279.
.. [2] L. S. Shapley, "A value for n-person games", Contributions to the Theory of Games
   II, Annals of Mathematics Studies 28, 1953, 307-317.
.. [3] P. Sunehag et al., "Value-decomposition networks for cooperative multi-agent
   learning based on team reward", Proc. AAMAS 2018, 2085-2087.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts.credit import (
    _check_size,
    _exponent,
    _product_coalitions,
    _rescaled,
    _shapley,
    _team,
    _team_return,
    _unscaled,
)
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, SolverError
from equilibria.solver.game import ROUNDOFF_RANGE, NormalFormGame, player_ranges
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import _values
from equilibria.solver.traces.checkpoints import _MIN_CHECKPOINT_TAIL, _Curve
from equilibria.solver.traces.options import CreditCurves

__all__: list[str] = []  # the scorer's internals

#: The criterion's name.
CREDIT = "credit_assignment"
#: The tolerance of the team test (credit_assignment's default): payoffs common within
#: this fraction of the largest payoff range.
TEAM_TOL = 1e-9
#: Elements of the largest working array of one block of rows (a block holds one row at least).
CREDIT_BLOCK = 1 << 18


def credit_rejection(game: NormalFormGame | StochasticGame, function: str) -> SolverError | None:
    """Why the criterion does not apply to ``game`` (None when it does).

    An :class:`InvalidOptionError` for a game whose payoffs are not common within
    :data:`TEAM_TOL` of the range (credit_assignment's ``team="auto"`` rule), a
    :class:`ProblemTooLargeError` past credit_assignment's size limits; both name
    the field ``criteria``.
    """
    n = game.n_players
    joint = math.prod(int(k) for k in game.num_actions)
    states = game.n_states if isinstance(game, StochasticGame) else 1
    try:
        _check_size(n, n * states * joint, "criteria", function)
        if isinstance(game, StochasticGame):
            _team("auto", np.moveaxis(game.rewards, 1, 0).reshape(n, -1), TEAM_TOL, function)
        else:
            _team("auto", game.payoffs.reshape(n, -1), TEAM_TOL, function)
    except ProblemTooLargeError as exc:
        return ProblemTooLargeError("criteria", f"criterion {CREDIT!r}: {exc.message}")
    except InvalidOptionError as exc:
        return InvalidOptionError(
            "criteria",
            f"criterion {CREDIT!r} needs a team (common-payoff) game: {exc.message.split('; pass')[0]}",
        )
    return None


@dataclasses.dataclass(frozen=True)
class _CreditRows:
    """Credits of a block of rows, in the team return's scaled units (``2^-exponent`` of the user's)."""

    shapley: FloatArray  # (b, n)
    difference: FloatArray  # (b, n)
    team_return: FloatArray  # (b,)
    baseline: FloatArray  # (b,)


class CreditModel:
    """What the game fixes: the scaled team payoffs, the default actions, the units.

    Parameters
    ----------
    game : NormalFormGame or StochasticGame
        A team game (see :func:`credit_rejection`); stochastic games with an infinite
        horizon.
    weights : ndarray or None
        Stochastic games: the normalised state weights the per-state credits are
        averaged with.
    """

    def __init__(self, game: NormalFormGame | StochasticGame, weights: FloatArray | None) -> None:
        self.n = game.n_players
        self.shape = tuple(int(k) for k in game.num_actions)
        self.defaults = (0,) * self.n  # credit_assignment's default actions
        self.weights = weights
        if isinstance(game, StochasticGame):
            self.exponent = _exponent(game.rewards)
            self.game: StochasticGame | None = game if self.exponent == 0 else _rescaled(game, self.exponent)
            team = game.rewards[:, 0][game.joint_mask]
            horizon = game.effective_horizon
            self.g: FloatArray | None = None
            rows = 1
        else:
            self.exponent = _exponent(game.payoffs)
            self.game = None
            self.g = _team_return(np.ldexp(game.payoffs, -self.exponent), "common", axis=0)
            team = game.payoffs[0].reshape(-1)
            horizon = 1.0
            rows = max(1, CREDIT_BLOCK // max(2 * math.prod(self.shape), 1 << self.n))
        self.block_rows = rows
        # The team payoff range (of the values, in a stochastic game), in scaled units; a
        # constant team return is measured in its magnitude (all credits are then 0).
        scaled = np.ldexp(team.reshape(1, -1), -self.exponent)
        spread = float(player_ranges(scaled)[0]) * horizon
        magnitude = float(np.abs(scaled).max()) * horizon
        self.unit = spread if spread > 0.0 else (magnitude if magnitude > 0.0 else 1.0)
        #: The round-off floor of the curve (a fraction of the range).
        self.floor = self.n * ROUNDOFF_RANGE * max(1.0, magnitude / self.unit)
        self.unscaled = functools.partial(
            _unscaled,
            exponent=self.exponent,
            field="rewards" if self.game is not None else "payoffs",
            function="TraceScorer",
        )

    @property
    def payoff_range(self) -> float:
        """The unit of the curve in the user's units: the team payoff (value) range."""
        return float(np.ldexp(self.unit, self.exponent))

    def rows(self, xs: list[FloatArray]) -> _CreditRows:
        """The credits of the joint policies ``xs`` (per agent ``(b, a_i)`` or ``(b, S, a_i)``)."""
        b, n = xs[0].shape[0], self.n
        if b == 0:
            return _CreditRows(np.zeros((0, n)), np.zeros((0, n)), np.zeros(0), np.zeros(0))
        parts = [
            self._block([x[lo : lo + self.block_rows] for x in xs]) for lo in range(0, b, self.block_rows)
        ]
        return _CreditRows(
            np.concatenate([p.shapley for p in parts]),
            np.concatenate([p.difference for p in parts]),
            np.concatenate([p.team_return for p in parts]),
            np.concatenate([p.baseline for p in parts]),
        )

    def _block(self, xs: list[FloatArray]) -> _CreditRows:
        if self.game is None:
            assert self.g is not None
            b = xs[0].shape[0]
            coalitions = _product_coalitions(np.broadcast_to(self.g, (b, *self.shape)), xs, self.defaults)
            shapley = _shapley(coalitions, self.n)
        else:
            assert self.weights is not None
            per_row = [self._markov_row([x[r] for x in xs]) for r in range(xs[0].shape[0])]
            coalitions = np.stack([c for c, _ in per_row])
            shapley = np.stack([s for _, s in per_row])
        full = (1 << self.n) - 1
        without = np.array([full ^ (1 << i) for i in range(self.n)])
        # For a product policy, E[G(c_i, a_-i)] is v(N \ {i}): the expected difference reward
        # with counterfactual "action" is v(N) - v(N \ {i}).
        difference = coalitions[:, full, None] - coalitions[:, without]
        return _CreditRows(shapley, difference, coalitions[:, full].copy(), coalitions[:, 0].copy())

    def _markov_row(self, policy: list[FloatArray]) -> tuple[FloatArray, FloatArray]:
        """One stationary policy's coalition values and Shapley values, state-weighted."""
        game, weights = self.game, self.weights
        assert game is not None and weights is not None
        values = _values(game, tuple(policy))  # (1, S, n)
        q_team = _team_return(game.q_values(values[0]), "common", axis=1)  # (S, a_1..a_n)
        coalitions = _product_coalitions(q_team, policy, self.defaults)  # (S, 2^n)
        return weights @ coalitions, weights @ _shapley(coalitions, self.n)


class CreditTrack:
    """The credits at the checkpoints of the policy stream (at most ``n_checkpoints`` rows).

    Each checkpoint keeps one row ``(φ_1..φ_n, D_1..D_n, G, v(∅))`` in scaled units.
    """

    def __init__(self, model: CreditModel) -> None:
        self.model = model
        self.checkpoint_z: list[int] = []
        self.rows: list[FloatArray] = []

    @property
    def nbytes(self) -> int:
        return int(sum(r.nbytes for r in self.rows) + 8 * len(self.checkpoint_z))

    def push(self, zs: list[int], credits: _CreditRows) -> None:
        """Record the credits of the checkpoints ``zs`` (one row each, from :meth:`CreditModel.rows`)."""
        if not zs:
            return
        packed = np.concatenate(
            [credits.shapley, credits.difference, credits.team_return[:, None], credits.baseline[:, None]],
            axis=1,
        )
        self.checkpoint_z.extend(int(z) for z in zs)
        self.rows.extend(packed[k].copy() for k in range(len(zs)))

    def thin(self, keep: list[bool]) -> None:
        self.checkpoint_z = [z for z, k in zip(self.checkpoint_z, keep, strict=True) if k]
        self.rows = [r for r, k in zip(self.rows, keep, strict=True) if k]

    def score(
        self,
        last: list[FloatArray],
        z: int,
        window: int,
        epsilons: tuple[float, ...],
        buffer: int,
        dwell: int,
    ) -> tuple[_Curve, CreditCurves]:
        """The curve (a checkpoint-only :class:`_Curve`) and the per-agent summary at row ``z``.

        ``last`` is the policy of row ``z``; ``epsilons`` ascending.
        """
        model = self.model
        n, unit = model.n, model.unit
        final = model.rows([x[None] for x in last])
        phi_final = final.shapley[0]
        stored = np.array(self.rows).reshape(-1, 2 * n + 2)
        # The curve: the largest movement of an agent's Shapley value to its final one, in ranges.
        moves = np.abs(stored[:, :n] - phi_final[None]).max(axis=1, initial=0.0) / unit
        moves = np.where(moves <= model.floor, 0.0, moves)
        curve = _Curve(np.asarray(epsilons, dtype=np.float64), False, buffer, dwell, model.floor)
        curve.n = z
        curve.push_checkpoints(self.checkpoint_z, moves.tolist(), None)
        # The tail samples: the checkpoints in the tail window and row z (at least the last
        # _MIN_CHECKPOINT_TAIL of them), as the curve's own tail test reads them.
        at_z = not self.checkpoint_z or self.checkpoint_z[-1] != z
        sample_z = np.asarray(self.checkpoint_z + ([z] if at_z else []), dtype=np.int64)
        shapley = np.concatenate([stored[:, :n], final.shapley] if at_z else [stored[:, :n]])
        inside = sample_z >= z - window + 1
        if int(inside.sum()) < _MIN_CHECKPOINT_TAIL:
            inside = np.zeros(sample_z.size, dtype=bool)
            inside[-_MIN_CHECKPOINT_TAIL:] = True
        tail = shapley[inside]
        change = tail[-1] - tail[0]
        threshold = epsilons[0] * unit
        trends = tuple(
            "steady" if abs(c) <= threshold else ("rising" if c > 0.0 else "falling") for c in change
        )
        surplus = float(final.team_return[0] - final.baseline[0])
        lazy = (
            tuple(int(i) for i in np.flatnonzero(np.abs(tail).max(axis=0) <= threshold))
            if surplus > threshold
            else ()
        )
        shown = model.unscaled
        return curve, CreditCurves(
            team="common",
            default_actions=model.defaults,
            payoff_range=model.payoff_range,
            checkpoints_z=np.asarray(self.checkpoint_z, dtype=np.int64),
            shapley_values=shown(stored[:, :n]),
            difference_rewards=shown(stored[:, n : 2 * n]),
            team_returns=shown(stored[:, 2 * n]),
            coalition_baselines=shown(stored[:, 2 * n + 1]),
            final_shapley_values=shown(phi_final),
            final_difference_rewards=shown(final.difference[0]),
            final_team_return=float(shown(final.team_return)[0]),
            final_coalition_baseline=float(shown(final.baseline)[0]),
            tail_changes=shown(change),
            trends=trends,
            lazy_agents=lazy,
            epsilon=float(epsilons[0]),
            tail_start=int(sample_z[inside][0]),
            z=z,
        )
