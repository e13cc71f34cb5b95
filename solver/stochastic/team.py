"""The optimal joint policy of a team (common-payoff) stochastic game.

In a team game every player receives the same reward, so the team is one agent choosing
joint actions: its optimal value is attained by a deterministic joint policy, found
exactly by policy iteration over joint actions (Howard 1960), or stage by stage for a
finite horizon. Each player plays its component of the optimal joint action; the profile
is welfare maximising, Pareto optimal and a Markov perfect equilibrium. Ties and what is
not searched: see docs/stochastic.md.

Examples
--------
Two players in state 0 either both wait (reward 1 each stage) or both move (reward 0
now) to state 1, which pays 5 and returns to state 0. With :math:`\\gamma = 0.9`
moving is worth :math:`0.9 \\cdot 5 / (1 - 0.81) = 450/19 \\approx 23.68` against
:math:`1 / (1 - 0.9) = 10` for waiting forever:

>>> import numpy as np
>>> from equilibria.solver.stochastic.game import StochasticGame
>>> from equilibria.solver.stochastic.team import team_optimum
>>> rewards = np.zeros((2, 2, 2, 2))
>>> rewards[0, :, 0, 0] = 1.0   # both wait
>>> rewards[1, :, 0, 0] = 5.0   # state 1: one action each
>>> transitions = np.zeros((2, 2, 2, 2))
>>> transitions[0, ..., 0] = 1.0
>>> transitions[0, 1, 1] = [0.0, 1.0]   # both move
>>> transitions[1, ..., 0] = 1.0
>>> game = StochasticGame(rewards, transitions, discount=0.9, action_counts=[[2, 2], [1, 1]])
>>> eq = team_optimum(game)
>>> eq.policies[0].tolist(), eq.policies[1].tolist()
([[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
>>> (eq.values[:, 0] * 19).round(9).tolist(), round(eq.nash_conv, 9)
([450.0, 500.0], 0.0)

References
----------
.. [1] R. A. Howard, *Dynamic Programming and Markov Processes*, MIT Press, 1960
   (policy iteration).
.. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, sections 4.5 (backward
   induction) and 6.4 (policy iteration).
.. [3] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997.
.. [4] C. Boutilier, "Planning, learning and coordination in multiagent decision
   processes", TARK 1996 (team Markov games, coordination among optimal joint actions).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.errors import InvalidOptionError, UnsupportedError
from equilibria.solver.results import MarkovEquilibrium
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certified_equilibrium, solve_linear_values

__all__ = ["team_optimum"]


#: Upper bound on policy-iteration steps (it terminates long before: each step strictly
#: improves a deterministic policy, and there are finitely many).
MAX_ITERATIONS = 10_000
#: Floor of the tie tolerance, relative to the largest possible value: differences below
#: it are float round-off of the linear solves, not improvements.
_ROUNDOFF = 64 * np.finfo(np.float64).eps


def team_optimum(game: StochasticGame, *, tol: float = 1e-10) -> MarkovEquilibrium:
    """The optimal joint policy of a team game, as a certified Markov perfect equilibrium.

    Parameters
    ----------
    game : StochasticGame
        A common-payoff game (``game.is_team()``: every player's rewards are the same
        up to a positive affine map), any number of players, an infinite horizon
        (discount < 1) or a finite horizon.
    tol : float, optional(default=1e-10)
        Tolerance relative to the value range (the reward range times the effective
        horizon): a joint action counts as an improvement only when it is better by
        more than that, and joint actions within it of the best are ties (the lowest
        index is taken). It is raised to the float round-off of the values when
        smaller. The iteration runs on :attr:`~StochasticGame.unit_game`, so the units
        of the rewards change no answer.

    Returns
    -------
    MarkovEquilibrium
        Deterministic policies, per player ``(S, a_i)`` one-hot rows (``(T, S, a_i)``
        with a horizon), and the certificate of :func:`certify_markov`; ``found_by``
        is ``("team_policy_iteration",)``, or ``("team_backward_induction",)`` with a
        finite horizon.

    Raises
    ------
    InvalidOptionError
        If ``game`` is not a :class:`StochasticGame` (field ``"game"``) or ``tol`` is not
        a positive finite number (field ``"tolerance"``).
    UnsupportedError
        If the players' rewards differ (field ``"game"``).

    Notes
    -----
    Policy iteration starts from the myopic joint policy (the lowest-index best joint
    action for the immediate reward) and switches a state's joint action only on an
    improvement above the tolerance, so it cannot cycle. Each step costs one linear
    solve of size ``S`` and one sparse product with the ``(S*A, S)`` transition matrix.
    Finally every state takes the lowest-index joint action whose value is within the
    tolerance of the optimum, and the policy is evaluated afresh.

    Examples
    --------
    A coordination game repeated forever: both players get 2 for (0, 0), 1 for (1, 1)
    and nothing when they miscoordinate.

    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> common = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> game = StochasticGame(np.stack([common, common])[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> eq = team_optimum(game)
    >>> eq.policies[0].tolist(), eq.values.tolist(), eq.found_by
    ([[1.0, 0.0]], [[4.0, 4.0]], ('team_policy_iteration',))
    """
    if not isinstance(game, StochasticGame):
        raise InvalidOptionError(
            "game", f"team_optimum(): expected a StochasticGame, got {type(game).__name__}"
        )
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not (0.0 < tol < math.inf):
        raise InvalidOptionError(
            "tolerance", f"team_optimum(): tol must be a positive finite number, got {tol!r}"
        )
    if not game.is_team():
        spread = np.where(game.joint_mask, np.ptp(game.unit_game.rewards, axis=1), 0.0)
        where = np.unravel_index(int(spread.argmax()), spread.shape)
        action = tuple(int(k) for k in where[1:])
        raise UnsupportedError(
            "game",
            f"team_optimum(): rewards differ between players (by {float(spread.max()):.6g} of their ranges "
            f"in state {int(where[0])} at joint action {action}); a team game gives every player the same "
            "reward, up to a positive affine map",
        )
    # On the unit game every reward lies in [0, 1]: the slack is a fraction of the value range.
    unit = game.unit_game
    slack = max(float(tol), _ROUNDOFF) * max(unit.effective_horizon, 1.0)
    if game.horizon is None:
        actions = _policy_iteration(unit, slack)
        method = "team_policy_iteration"
    else:
        actions = _backward_induction(unit, game.horizon, slack)
        method = "team_backward_induction"
    return certified_equilibrium(game, _one_hot(game, actions), (method,))


def _team_terms(game: StochasticGame) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Common reward ``(S, A)`` (mean over players) and which joint actions exist ``(S, A)``."""
    n_states, n_joint = game.n_states, game.n_joint_actions
    reward = game.rewards.mean(axis=1).reshape(n_states, n_joint)
    return reward, game.joint_mask.reshape(n_states, n_joint)


def _q_values(
    game: StochasticGame, reward: FloatArray, exists: npt.NDArray[np.bool_], values: FloatArray
) -> FloatArray:
    """``r(s, a) + gamma * sum_s' P(s'|s, a) V(s')``, ``-inf`` on joint actions that do not exist."""
    continuation = (game.transition_matrix @ values).reshape(reward.shape)
    return np.where(exists, reward + game.discount * continuation, -np.inf)


def _lowest_best(q: FloatArray, slack: float) -> Int64Array:
    """Per row, the lowest index whose entry is within ``slack`` of the row maximum."""
    return np.asarray((q >= q.max(axis=1, keepdims=True) - slack).argmax(axis=1), dtype=np.int64)


def _backward_induction(game: StochasticGame, horizon: int, slack: float) -> Int64Array:
    """Optimal joint action per stage and state, ``(T, S)``, from the last stage back."""
    reward, exists = _team_terms(game)
    states = np.arange(game.n_states)
    actions = np.zeros((horizon, game.n_states), dtype=np.int64)
    values = np.zeros(game.n_states)
    for t in range(horizon - 1, -1, -1):
        q = _q_values(game, reward, exists, values)
        actions[t] = _lowest_best(q, slack)
        values = q[states, actions[t]]
    return actions


def _policy_iteration(game: StochasticGame, slack: float) -> Int64Array:
    """Optimal stationary joint action per state, ``(S,)``, by Howard's policy iteration."""
    reward, exists = _team_terms(game)
    n_states, n_joint = reward.shape
    states = np.arange(n_states)
    rows = states * n_joint
    matrix = game.transition_matrix
    actions = _lowest_best(np.where(exists, reward, -np.inf), 0.0)
    for _ in range(MAX_ITERATIONS):
        values = solve_linear_values(
            sp.csr_array(matrix[rows + actions]), reward[states, actions], game.discount
        )
        q = _q_values(game, reward, exists, values)
        best = q.argmax(axis=1)
        improve = q[states, best] > q[states, actions] + slack
        if not improve.any():
            return _lowest_best(q, slack)
        actions = np.where(improve, best, actions)
    raise RuntimeError("team_optimum(): policy iteration did not terminate")  # pragma: no cover


def _one_hot(game: StochasticGame, actions: Int64Array) -> tuple[FloatArray, ...]:
    """Each player's component of the joint actions ``(..., S)`` as one-hot rows ``(..., S, a_i)``."""
    own = np.unravel_index(actions, game.num_actions)
    return tuple(np.eye(k)[idx] for k, idx in zip(game.num_actions, own, strict=True))
