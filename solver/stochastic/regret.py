"""Values, best responses and NashConv of policy profiles in stochastic games.

For a stationary profile :math:`\\pi` the values solve the linear system
:math:`V_i = r_{i,\\pi} + \\gamma P_\\pi V_i` (policy evaluation, one sparse or dense
solve of size :math:`|S|`). Player ``i``'s best response to :math:`\\pi_{-i}` is the
optimal policy of the Markov decision process it faces when the others' play is
fixed; it is found here by policy iteration (Howard 1960), which terminates after
finitely many exact evaluations, so the best-response values are exact up to the
linear solves. The certificate of a profile is then, per player,

* the **state gaps** :math:`V_i^{BR}(s) - V_i^\\pi(s) \\ge 0` in every state, and
* the **regret** :math:`\\mu_0 \\cdot (V_i^{BR} - V_i^\\pi)` from the initial distribution,

and **NashConv** is the sum of the regrets. A profile is an equilibrium within ``tol``
when every player's state gaps are within its own tolerance
(:meth:`~equilibria.solver.stochastic.game.StochasticGame.value_tolerances`: a fraction of
that player's value range), see :func:`failing_players`. A stationary Markov perfect equilibrium
has every state gap zero (one-shot deviation principle); NashConv alone only sees the
states :math:`\\mu_0` reaches. A finite-horizon profile is evaluated and best-responded
to by backward induction instead, and its state gaps are maxima over the stages.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.stochastic.game import StochasticGame
>>> from equilibria.solver.stochastic.regret import certify_markov
>>> pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
>>> game = StochasticGame(pennies[None], np.ones((1, 2, 2, 1)), discount=0.9)
>>> half = np.array([[0.5, 0.5]])
>>> float(certify_markov(game, (half, half)).nash_conv)
0.0
>>> pure = np.array([[1.0, 0.0]])
>>> certify_markov(game, (pure, half)).values[0].round(6).tolist()
[0.0, 0.0]
>>> round(certify_markov(game, (pure, pure)).nash_conv, 9)   # player 2 gains 2 per stage
20.0

References
----------
.. [1] R. A. Howard, *Dynamic Programming and Markov Processes*, MIT Press, 1960.
.. [2] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.sparse.linalg
from equilibria.solver._typing import FloatArray
from equilibria.solver.results import MarkovEquilibrium
from equilibria.solver.stochastic.game import StochasticGame, validate_policy

__all__ = [
    "MarkovCertificate",
    "best_response",
    "certificate_of",
    "certified_equilibrium",
    "certify_markov",
    "evaluate_policy",
    "failing_players",
    "joint_policy",
    "solve_linear_values",
]


#: Largest state count solved with a dense LU factorisation; sparse LU above.
DENSE_STATES = 2000

#: Policy iteration's cap on improvement rounds. It never binds (each round improves
#: strictly, there are finitely many deterministic policies, and in practice a handful of
#: rounds suffice): past it :func:`best_response` raises rather than answer unconverged.
MAX_POLICY_ITERATIONS = 10_000


@dataclasses.dataclass(frozen=True)
class MarkovCertificate:
    """Values and best-response gaps of a policy profile.

    Attributes
    ----------
    values : ndarray, shape (S, n_players)
        :math:`V_i^\\pi(s)` (at the first stage for a finite horizon).
    best_response_values : ndarray, shape (S, n_players)
        :math:`V_i^{BR}(s)`: what player ``i`` gets from ``s`` by best responding.
    payoffs : ndarray, shape (n_players,)
        :math:`\\mu_0 \\cdot V_i^\\pi`.
    regrets : ndarray, shape (n_players,)
        :math:`\\mu_0 \\cdot (V_i^{BR} - V_i^\\pi)`, clipped at 0.
    nash_conv : float
        Sum of the regrets.
    state_gaps : ndarray, shape (S,)
        :math:`\\max_i (V_i^{BR}(s) - V_i^\\pi(s))` per state (for a finite horizon, also
        maximised over stages), clipped at 0: in the users' units, mixing players.
    player_gaps : ndarray, shape (S, n_players)
        :math:`V_i^{BR}(s) - V_i^\\pi(s)` per state and player (for a finite horizon,
        maximised over stages), clipped at 0: what is certified, player by player.
    """

    values: FloatArray
    best_response_values: FloatArray
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    state_gaps: FloatArray
    player_gaps: FloatArray

    @property
    def max_state_gap(self) -> float:
        """Largest gain any player has from any state: 0 exactly at a Markov perfect equilibrium."""
        return float(self.state_gaps.max(initial=0.0))

    @property
    def max_player_gaps(self) -> FloatArray:
        """Each player's largest gain from any state, ``(n_players,)``."""
        return np.asarray(self.player_gaps.max(axis=0, initial=0.0), dtype=np.float64)


def joint_policy(game: StochasticGame, policy: Sequence[FloatArray], skip: int | None = None) -> FloatArray:
    """Product distribution over joint actions per state, shape ``(..., S, a_1, ..., a_n)``.

    ``skip`` leaves one player's axis at weight 1 (the others' joint play, for that
    player's best response). Policies must already be validated.
    """
    n = len(policy)
    lead = policy[0].shape[:-1]
    out = np.ones(lead + tuple(p.shape[-1] for p in policy))
    for i, pol in enumerate(policy):
        if i == skip:
            continue
        shape = list(lead) + [1] * n
        shape[len(lead) + i] = pol.shape[-1]
        out = out * pol.reshape(shape)
    return out


def solve_linear_values(matrix: sp.csr_array, rewards: FloatArray, discount: float) -> FloatArray:
    """Solve ``(I - discount * matrix) V = rewards`` for ``V`` (``rewards`` of shape (S,) or (S, k))."""
    n_states = matrix.shape[0]
    if discount == 0.0:
        return np.array(rewards, dtype=np.float64)
    if n_states <= DENSE_STATES:
        system = np.eye(n_states) - discount * matrix.toarray()
        # numpy's LAPACK call: scipy.linalg.solve costs 3-11 ms on small systems here
        # (threaded OpenBLAS), numpy's 30-50 us.
        return np.asarray(np.linalg.solve(system, rewards), dtype=np.float64)
    system = sp.csc_array(sp.eye_array(n_states) - discount * matrix)
    lu = scipy.sparse.linalg.splu(system)
    return np.asarray(lu.solve(np.asarray(rewards, dtype=np.float64)), dtype=np.float64)


def _row_weights(n_states: int, n_joint: int, weights: FloatArray) -> sp.csr_array:
    """Block matrix ``(S, S*A)`` whose row ``s`` holds ``weights[s]`` on columns ``s*A..s*A+A-1``."""
    indptr = np.arange(0, n_states * n_joint + 1, n_joint)
    return sp.csr_array(
        (weights.reshape(-1), np.arange(n_states * n_joint), indptr), shape=(n_states, n_states * n_joint)
    )


def _stage_terms(game: StochasticGame, joint: FloatArray) -> tuple[FloatArray, sp.csr_array]:
    """Expected rewards ``(S, n)`` and state transition matrix ``(S, S)`` under a joint play ``(S, a..)``."""
    n_states, n_joint = game.n_states, game.n_joint_actions
    flat = joint.reshape(n_states, n_joint)
    rewards = np.einsum("sa,sna->sn", flat, game.rewards.reshape(n_states, game.n_players, n_joint))
    transitions = sp.csr_array(_row_weights(n_states, n_joint, flat) @ game.transition_matrix)
    return rewards, transitions


def evaluate_policy(game: StochasticGame, policy: Sequence[Any]) -> FloatArray:
    """Values :math:`V_i^\\pi(s)` of a profile, shape ``(S, n_players)``.

    For a finite horizon, the values at the first stage (use :func:`certify_markov` for
    the full certificate). Policies are validated first.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> g = StochasticGame(np.ones((1, 2, 1, 1)), np.ones((1, 1, 1, 1)), discount=0.5)
    >>> evaluate_policy(g, (np.ones((1, 1)), np.ones((1, 1)))).tolist()
    [[2.0, 2.0]]
    """
    policy = validate_policy(game, policy)
    return _values(game, policy)[0]


def _values(game: StochasticGame, policy: tuple[FloatArray, ...]) -> FloatArray:
    """Values per stage ``(T+1, S, n)`` (last stage zero), or ``(1, S, n)`` if stationary."""
    if game.horizon is None:
        rewards, transitions = _stage_terms(game, joint_policy(game, policy))
        return solve_linear_values(transitions, rewards, game.discount)[None]
    stages = np.zeros((game.horizon + 1, game.n_states, game.n_players))
    for t in reversed(range(game.horizon)):
        rewards, transitions = _stage_terms(game, joint_policy(game, [p[t] for p in policy]))
        stages[t] = rewards + game.discount * (transitions @ stages[t + 1])
    return stages


def _response_mdp(
    game: StochasticGame, policy: Sequence[FloatArray], player: int
) -> tuple[FloatArray, sp.csr_array]:
    """Player ``player``'s MDP against the others: rewards ``(S, a_i)`` and transitions ``(S*a_i, S)``."""
    n_states, n_joint, k = game.n_states, game.n_joint_actions, game.num_actions[player]
    others = joint_policy(game, policy, skip=player)  # (S, a_1..a_n), axis `player` is all ones
    # The player's own action index along its axis (broadcasting supplies the leading ones).
    own = np.broadcast_to(np.arange(k).reshape([k] + [1] * (game.n_players - player - 1)), others.shape)
    rows = (np.arange(n_states).reshape([n_states] + [1] * game.n_players) * k + own).reshape(-1)
    weights = sp.csr_array(
        (others.reshape(-1), (rows, np.arange(n_states * n_joint))), shape=(n_states * k, n_states * n_joint)
    )
    rewards = (weights @ game.rewards[:, player].reshape(-1)).reshape(n_states, k)
    return rewards, sp.csr_array(weights @ game.transition_matrix)


def best_response(
    game: StochasticGame, policy: Sequence[Any], player: int, *, max_iterations: int = MAX_POLICY_ITERATIONS
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Optimal values and a deterministic best response of ``player`` to the others' policies.

    Stationary games: policy iteration started from the greedy response to the
    profile's own values, switching an action only on a strict improvement (so it
    terminates); finite horizon: backward induction.

    Parameters
    ----------
    game : StochasticGame
    policy : sequence of array_like
        A profile (the player's own entry only seeds the iteration).
    player : int

    Returns
    -------
    values : ndarray, shape (S,)
        :math:`V^{BR}(s)` (at the first stage for a finite horizon).
    actions : ndarray of int, shape (S,) or (T, S)
        A best-response action per state (and stage).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    >>> g = StochasticGame(pennies[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> values, actions = best_response(g, (np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]])), 1)
    >>> values.round(6).tolist(), actions.tolist()
    ([1.2], [1])
    """
    policy = validate_policy(game, policy)
    values, actions = _best_response(game, policy, player, _values(game, policy), max_iterations)
    return values[0], actions


def _best_response(
    game: StochasticGame,
    policy: tuple[FloatArray, ...],
    player: int,
    own_values: FloatArray,
    max_iterations: int,
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    mask = game.action_mask[player]
    n_states, k, gamma = game.n_states, game.num_actions[player], game.discount
    if game.horizon is not None:
        values = np.zeros((game.horizon + 1, n_states))
        actions = np.zeros((game.horizon, n_states), dtype=np.int64)
        for t in reversed(range(game.horizon)):
            rewards, transitions = _response_mdp(game, [p[t] for p in policy], player)
            q = np.where(mask, rewards + gamma * (transitions @ values[t + 1]).reshape(n_states, k), -np.inf)
            actions[t] = q.argmax(axis=1)
            values[t] = q.max(axis=1)
        return values[:-1], actions
    rewards, transitions = _response_mdp(game, policy, player)
    # Improvements below the round-off of the player's own values are noise (no cycling).
    scale = float(np.abs(game.rewards[:, player]).max()) / (1.0 - gamma)
    current = own_values[0][:, player]
    q = np.where(mask, rewards + gamma * (transitions @ current).reshape(n_states, k), -np.inf)
    actions = q.argmax(axis=1)
    rows = np.arange(n_states) * k
    for _ in range(max_iterations):
        values = solve_linear_values(
            sp.csr_array(transitions[rows + actions]), rewards[np.arange(n_states), actions], gamma
        )
        q = np.where(mask, rewards + gamma * (transitions @ values).reshape(n_states, k), -np.inf)
        best = q.argmax(axis=1)
        improve = q[np.arange(n_states), best] > q[np.arange(n_states), actions] + 1e-12 * scale
        if not improve.any():
            return np.maximum(values, q.max(axis=1))[None], actions
        actions = np.where(improve, best, actions)
    raise RuntimeError("best_response(): policy iteration did not terminate")  # pragma: no cover


def certify_markov(game: StochasticGame, policy: Sequence[Any]) -> MarkovCertificate:
    """Certificate of a policy profile: values, best-response values, regrets, NashConv and state gaps.

    Parameters
    ----------
    game : StochasticGame
    policy : sequence of array_like
        Per player ``(S, a_i)``, or ``(T, S, a_i)`` with a finite horizon.

    Returns
    -------
    MarkovCertificate

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> g = StochasticGame(np.ones((1, 2, 1, 1)), np.ones((1, 1, 1, 1)), discount=0.5)
    >>> c = certify_markov(g, (np.ones((1, 1)), np.ones((1, 1))))
    >>> c.payoffs.tolist(), c.nash_conv
    ([2.0, 2.0], 0.0)
    """
    policy = validate_policy(game, policy)
    stages = _values(game, policy)
    values = stages[0]
    best = np.empty_like(values)
    gaps = np.zeros((game.n_states, game.n_players))
    for i in range(game.n_players):
        br_values, _ = _best_response(game, policy, i, stages, MAX_POLICY_ITERATIONS)
        best[:, i] = br_values[0]
        # Every stage's gap (one row when stationary): subgame perfection needs all zero.
        gaps[:, i] = (br_values - stages[: len(br_values), :, i]).max(axis=0)
    gaps = np.clip(gaps, 0.0, None)
    regrets = np.clip(game.initial_distribution @ (best - values), 0.0, None)
    return MarkovCertificate(
        values=values,
        best_response_values=best,
        payoffs=game.initial_distribution @ values,
        regrets=regrets,
        nash_conv=float(regrets.sum()),
        state_gaps=gaps.max(axis=1),
        player_gaps=gaps,
    )


def failing_players(game: StochasticGame, certificate: MarkovCertificate, tol: float) -> str:
    """Why a certificate is not an equilibrium within ``tol`` ("" when it is one).

    Player ``i`` fails when its largest state gap exceeds its own tolerance
    ``game.value_tolerances(tol)[i]`` (a fraction ``tol`` of its value range).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> tiny = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]]) * 1e-10
    >>> game = StochasticGame(tiny[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> pure = np.array([[1.0, 0.0]])
    >>> failing_players(game, certify_markov(game, (pure, pure)), 1e-9)
    "player 1's largest state gap 4e-10 is above its tolerance 4e-19"
    >>> half = np.array([[0.5, 0.5]])
    >>> failing_players(game, certify_markov(game, (half, half)), 1e-9)
    ''
    """
    worst = certificate.max_player_gaps
    limits = game.value_tolerances(tol)
    bad = np.flatnonzero(~(worst <= limits))
    return "; ".join(
        f"player {i}'s largest state gap {worst[i]:.3g} is above its tolerance {limits[i]:.3g}"
        for i in bad.tolist()
    )


#: The certificate each equilibrium was built from, so it is not computed twice.
_CERTIFICATES: weakref.WeakKeyDictionary[MarkovEquilibrium, tuple[str, MarkovCertificate]] = (
    weakref.WeakKeyDictionary()
)


def certificate_of(game: StochasticGame, equilibrium: MarkovEquilibrium) -> MarkovCertificate:
    """The :class:`MarkovCertificate` of an equilibrium on ``game`` (kept from
    :func:`certified_equilibrium`, or measured afresh)."""
    kept = _CERTIFICATES.get(equilibrium)
    if kept is not None and kept[0] == game.id:
        return kept[1]
    cert = certify_markov(game, equilibrium.policies)
    _CERTIFICATES[equilibrium] = (game.id, cert)
    return cert


def certified_equilibrium(
    game: StochasticGame, policies: Sequence[Any], found_by: tuple[str, ...] = ()
) -> MarkovEquilibrium:
    """A :class:`~equilibria.solver.results.MarkovEquilibrium` carrying the certificate of ``policies``.

    Every algorithm returns its profiles through this function, so the certificate is
    always measured afresh from the game, never taken from the algorithm's internals.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> g = StochasticGame(np.ones((1, 2, 1, 1)), np.ones((1, 1, 1, 1)), discount=0.5)
    >>> eq = certified_equilibrium(g, (np.ones((1, 1)), np.ones((1, 1))), ("by_hand",))
    >>> eq.payoffs.tolist(), eq.nash_conv, eq.found_by
    ([2.0, 2.0], 0.0, ('by_hand',))
    """
    policies = validate_policy(game, policies)
    cert = certify_markov(game, policies)
    equilibrium = MarkovEquilibrium(
        policies=policies,
        values=cert.values,
        payoffs=cert.payoffs,
        regrets=cert.regrets,
        nash_conv=cert.nash_conv,
        state_gaps=cert.state_gaps,
        found_by=found_by,
    )
    _CERTIFICATES[equilibrium] = (game.id, cert)
    return equilibrium
