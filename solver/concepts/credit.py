"""Credit assignment in team games: difference rewards and Shapley values of a joint policy.

In a team game every agent receives the same team return ``G``; a learner still needs to
know how much its own action contributed to it. For a joint policy ``π`` this module
answers in the units of ``G``, two ways:

* **Difference rewards** (Wolpert and Tumer 2001): ``D_i(a) = G(a) - G(a_{-i}, c_i)``,
  the return minus what it would have been had agent ``i`` played the counterfactual
  ``c_i``. With ``counterfactual="action"`` ``c_i`` is a fixed default action (the
  "wonderful life" utility); with ``"aristocrat"`` the second term is averaged over
  ``c_i`` drawn from agent ``i``'s own marginal of ``π`` (the aristocrat utility, which is
  COMA's counterfactual baseline, Foerster et al. 2018). Reported at every joint action
  and in expectation over ``π``.
* **Shapley values** (Shapley 1953) of the coalition game ``v(C)``: the expected return
  when the agents in ``C`` play ``π`` (its marginal on ``C``) and the others play their
  default actions. Computed exactly over the ``2^n`` coalitions; they are efficient,
  ``Σ_i φ_i = v(N) - v(∅)``.

For a stochastic team game, :func:`stochastic_credit_assignment` gives the same credits
per state, on the team's joint-action values ``Q^π(s, a)``.

Everything is linear in ``G``. It is computed on ``G`` scaled by a power of two (an exact
map) so that nothing overflows, and it is reported in the user's units.

Examples
--------
The climbing game (Claus and Boutilier 1998) with both agents on their first action. With
default actions (1, 2), agent 0 gets most of the credit for moving the team from
``G(1, 2) = 6`` to ``G(0, 0) = 11``:

>>> import numpy as np
>>> from equilibria.solver import NormalFormGame
>>> climbing = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], dtype=float)
>>> game = NormalFormGame(np.stack([climbing, climbing]))
>>> first = np.array([1.0, 0.0, 0.0])
>>> credit = credit_assignment(game, (first, first), CreditOptions(default_actions=(1, 2)))
>>> credit.team, credit.team_return, credit.shapley_values.tolist(), credit.coalition_baseline
('common', 11.0, [17.5, -12.5], 6.0)
>>> credit.difference_tensors[0].tolist()    # agent 0's, against its default action 1
[[41.0, -37.0, -6.0], [0.0, 0.0, 0.0], [30.0, -7.0, -1.0]]

References
----------
.. [1] D. H. Wolpert and K. Tumer, "Optimal payoff functions for members of collectives",
   Advances in Complex Systems 4 (2001) 265-279.
.. [2] J. N. Foerster, G. Farquhar, T. Afouras, N. Nardelli and S. Whiteson,
   "Counterfactual multi-agent policy gradients", Proc. AAAI 2018, 2974-2982.
.. [3] L. S. Shapley, "A value for n-person games", in H. W. Kuhn and A. W. Tucker (eds.),
   *Contributions to the Theory of Games II*, Annals of Mathematics Studies 28, Princeton
   University Press, 1953, 307-317.
.. [4] C. Claus and C. Boutilier, "The dynamics of reinforcement learning in cooperative
   multiagent systems", Proc. AAAI 1998, 746-752.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    SolverError,
    check_tolerance,
    quoted,
)
from equilibria.solver.evaluation import CreditAssignment, StochasticCreditAssignment
from equilibria.solver.game import NormalFormGame, regret_tolerance
from equilibria.solver.stochastic.game import StochasticGame, validate_policy
from equilibria.solver.stochastic.regret import _values

__all__ = [
    "COUNTERFACTUALS",
    "CreditOptions",
    "MAX_ENTRIES",
    "MAX_PLAYERS",
    "POLICY_TOLERANCE",
    "TEAMS",
    "credit_assignment",
    "stochastic_credit_assignment",
]

#: How the team return is formed: the common payoff ("common"), the sum of the players'
#: payoffs ("sum"), or "auto" (the common payoff, refused when the payoffs are not common).
TEAMS = ("auto", "common", "sum")
#: The difference rewards' counterfactual: agent ``i``'s action redrawn from its own marginal
#: ("aristocrat") or clamped to its default action ("action").
COUNTERFACTUALS = ("action", "aristocrat")
#: Most agents: the Shapley values visit all ``2^n`` coalitions.
MAX_PLAYERS = 16
#: Most entries of the difference tensors (players x joint actions, times states and stages
#: in a stochastic game): 2^24 float64, 128 MiB.
MAX_ENTRIES = 2**24
#: How far a normal-form policy may be from the simplex (a negative entry, its sum off 1).
POLICY_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True, eq=False)
class CreditOptions:
    """The options of credit assignment, and the policy it credits.

    Attributes
    ----------
    policy : tuple of array_like, ndarray or None
        The joint policy (see :func:`credit_assignment` and
        :func:`stochastic_credit_assignment`), when the call does not pass one itself: how
        ``solve(..., credit=...)`` receives it.
    team : {"auto", "common", "sum"}
        The team return ``G``: the common payoff of a common-payoff game (``"common"``;
        refused for any other game), the sum of the players' payoffs (``"sum"``, any game),
        or ``"auto"`` (default: ``"common"``, refused with a hint to pass ``"sum"`` when the
        payoffs are not common).
    counterfactual : {"action", "aristocrat"}
        The difference rewards' counterfactual ``c_i``: agent ``i``'s default action
        (``"action"``, default: Wolpert and Tumer's clamped counterfactual) or redrawn from
        its own marginal of the policy (``"aristocrat"``: COMA's baseline, whose expectation
        is zero under a product policy).
    default_actions : tuple of int or None
        One action index per agent: the counterfactual of ``"action"`` and the play of the
        agents outside a coalition in the Shapley values. None (default): action 0 for
        every agent.
    """

    team: str = "auto"
    counterfactual: str = "action"
    default_actions: tuple[int, ...] | None = None
    policy: Any = None

    def checked(self, function: str = "credit_assignment") -> CreditOptions:
        """These options, validated (the default actions as a tuple of ints).

        The default actions are checked against a game by the function that uses them.

        Raises
        ------
        InvalidOptionError
            Naming the field (``credit_assignment.team``, ``credit_assignment.counterfactual``,
            ``credit_assignment.default_actions``).
        """
        if self.team not in TEAMS:
            raise InvalidOptionError(
                "credit_assignment.team",
                f"{function}(): team must be one of {', '.join(TEAMS)}, got {quoted(str(self.team))}",
            )
        if self.counterfactual not in COUNTERFACTUALS:
            raise InvalidOptionError(
                "credit_assignment.counterfactual",
                f"{function}(): counterfactual must be one of {', '.join(COUNTERFACTUALS)}, "
                f"got {quoted(str(self.counterfactual))}",
            )
        defaults = self.default_actions
        if defaults is not None:
            items = tuple(defaults) if isinstance(defaults, Sequence | np.ndarray) else None
            if (
                isinstance(defaults, str)
                or not items
                or any(isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < 0 for c in items)
            ):
                raise InvalidOptionError(
                    "credit_assignment.default_actions",
                    f"{function}(): default_actions must be None or a sequence of action indices >= 0, "
                    f"got {quoted(defaults)}",
                )
            defaults = tuple(int(c) for c in items)
        return CreditOptions(str(self.team), str(self.counterfactual), defaults, self.policy)


def credit_assignment(
    game: NormalFormGame,
    policy: Sequence[Any] | FloatArray | None = None,
    options: CreditOptions = CreditOptions(),
    *,
    tol: float = 1e-9,
) -> CreditAssignment:
    """Difference rewards and Shapley values of each agent of a team game under a joint policy.

    Parameters
    ----------
    game : NormalFormGame
        Any number of players (at most :data:`MAX_PLAYERS`); payoffs shape
        ``(n, a_1, ..., a_n)``.
    policy : tuple of array_like, or ndarray
        A tuple (or list) of mixed strategies, one per agent, of shapes ``(a_i,)``: a
        product policy. Or a numpy array of shape ``(a_1, ..., a_n)``: a joint (correlated)
        distribution. Entries must be non-negative and each distribution must sum to 1,
        within :data:`POLICY_TOLERANCE` (then it is renormalised). None: ``options.policy``.
    options : CreditOptions, optional
        The team return, the counterfactual and the default actions.
    tol : float, optional(default=1e-9)
        The players' payoffs are common when they differ by at most ``tol`` times the
        largest payoff range (or by float round-off); ``G`` is then player 0's payoff.

    Returns
    -------
    CreditAssignment
        In the units of the team return.

    Raises
    ------
    InvalidOptionError
        Naming the field: ``credit_assignment.team`` for payoffs that are not common with
        ``team="auto"`` or ``"common"``; ``credit_assignment.policy`` (``...policy[i]``
        for agent ``i``'s strategy) for a policy of the wrong shape or off the simplex;
        ``credit_assignment.default_actions`` for the wrong number of default actions or
        an action that does not exist; the other options' fields
        (:meth:`CreditOptions.checked`); ``tolerance`` for ``tol`` outside ``(0, 1e-3]``.
    ProblemTooLargeError
        For more than :data:`MAX_PLAYERS` players, more than :data:`MAX_ENTRIES` entries of
        the difference tensors, or a credit beyond the largest float (field ``"payoffs"``).

    Notes
    -----
    With ``"aristocrat"`` the counterfactual action is drawn from agent ``i``'s marginal of
    the policy, also for a joint policy (not its conditional given the others' actions).
    For a product policy the expected difference reward is then zero (up to round-off)
    for every agent, as COMA's advantage is: ``difference_tensors`` carry the information.
    For a joint policy it measures how much the correlation of ``i``'s action with the
    others' adds to the team return.

    The coalition game clamps the agents outside a coalition to ``default_actions``
    (action 0 of every agent unless given), so ``v(∅) = G(c)`` and the Shapley values
    share ``E[G] - G(c)``. For a joint policy a coalition plays its marginal of it.

    References
    ----------
    .. [1] D. H. Wolpert and K. Tumer, "Optimal payoff functions for members of
       collectives", Advances in Complex Systems 4 (2001) 265-279.
    .. [2] J. N. Foerster, G. Farquhar, T. Afouras, N. Nardelli and S. Whiteson,
       "Counterfactual multi-agent policy gradients", Proc. AAAI 2018, 2974-2982.
    .. [3] L. S. Shapley, "A value for n-person games", Contributions to the Theory of
       Games II, Annals of Mathematics Studies 28, 1953, 307-317.

    Examples
    --------
    Only agent 0's action matters: agent 1 gets no credit, agent 0 all of ``E[G] - G(c)``.

    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> payoff = np.array([[0.0, 0.0], [4.0, 4.0]])
    >>> game = NormalFormGame(np.stack([payoff, payoff]))
    >>> half = np.array([0.5, 0.5])
    >>> credit = credit_assignment(game, (half, half), CreditOptions(counterfactual="action"))
    >>> credit.team_return, credit.difference_rewards.tolist(), credit.shapley_values.tolist()
    (2.0, [2.0, 0.0], [2.0, 0.0])
    """
    function = "credit_assignment"
    check_tolerance(tol, function)
    options = options.checked(function)
    policy = _given_policy(policy, options, function)
    n, shape = game.n_players, game.num_actions
    _check_size(n, n * math.prod(shape), "payoffs", function)
    team = _team(options.team, game.payoffs.reshape(n, -1), tol, function)
    defaults = _default_actions(options.default_actions, shape, function, "")
    marginals, joint, correlated = _normal_form_policy(policy, shape, function)
    exponent = _exponent(game.payoffs)
    g = _team_return(np.ldexp(game.payoffs, -exponent), team, axis=0)[None]
    strategies = [x[None] for x in marginals]
    if correlated:
        coalitions = _joint_coalitions(g[0], joint, defaults)[None]
    else:
        coalitions = _product_coalitions(g, strategies, defaults)
    credits = _credits(g, joint[None], strategies, defaults, options.counterfactual, coalitions)
    unscaled = functools.partial(_unscaled, exponent=exponent, field="payoffs", function=function)
    values = unscaled(credits.coalition_values[0])
    return CreditAssignment(
        team=team,
        counterfactual=options.counterfactual,
        default_actions=defaults,
        correlated=correlated,
        team_return=float(values[-1]),
        difference_rewards=unscaled(credits.difference_rewards[0]),
        difference_tensors=unscaled(credits.difference_tensors[0]),
        shapley_values=unscaled(credits.shapley_values[0]),
        coalition_values=values,
        coalition_baseline=float(values[0]),
    )


def stochastic_credit_assignment(
    game: StochasticGame,
    policies: Sequence[Any] | None = None,
    options: CreditOptions = CreditOptions(),
    *,
    tol: float = 1e-9,
) -> StochasticCreditAssignment:
    """Per-state difference rewards and Shapley values of a stochastic team game under a product policy.

    The team's value :math:`V^\\pi` is found by exact policy evaluation (a linear solve for a
    discounted game, backward induction for a finite horizon,
    :mod:`equilibria.solver.stochastic.regret`); then in every state ``s`` (and stage) the
    credits of :func:`credit_assignment` are those of the stage game whose team return is
    :math:`Q^\\pi(s, a) = r(s, a) + \\gamma \\sum_{s'} P(s' | s, a) V^\\pi(s')` (the next
    stage's values for a finite horizon), with the policy of that state.

    Parameters
    ----------
    game : StochasticGame
        Any number of players (at most :data:`MAX_PLAYERS`), discounted or finite horizon.
    policies : sequence of array_like
        Per agent, a stationary policy of shape ``(S, a_i)``, or ``(T, S, a_i)`` per stage
        for a finite horizon; validated by
        :func:`~equilibria.solver.stochastic.game.validate_policy` (rows within 1e-6 of the
        simplex, no probability on an action that does not exist). None: ``options.policy``.
    options : CreditOptions, optional
        The team return, the counterfactual and the default actions (each must exist in
        every state).
    tol : float, optional(default=1e-9)
        The rewards are common when they differ by at most ``tol`` times the largest reward
        range (or by float round-off); ``r`` is then player 0's reward.

    Returns
    -------
    StochasticCreditAssignment
        Arrays per state, with a leading stage axis for a finite horizon.

    Raises
    ------
    InvalidOptionError
        As :func:`credit_assignment`; ``credit_assignment.policy[i]`` for agent ``i``'s
        policy.
    ProblemTooLargeError
        For more than :data:`MAX_PLAYERS` players, more than :data:`MAX_ENTRIES` entries of
        the difference tensors over all states and stages, or a credit beyond the largest
        float (field ``"rewards"``).

    Notes
    -----
    Per-state Shapley values are the one-step deviation view: in ``v_s(C)`` the agents
    outside ``C`` play their default actions in state ``s`` only (at that stage) and
    follow the policy afterwards, so they share :math:`V^\\pi(s) - Q^\\pi(s, c)`. A policy
    that clamps agents in every state is a different game (its values change everywhere)
    and is not computed here. For a product policy the aristocrat expected difference
    rewards are zero in every state (see :func:`credit_assignment`).

    Examples
    --------
    One state that repeats, discounted by 0.5: the team earns 1 in a stage when both agents
    play their second action, which each does half the time, so ``V = 0.25 / (1 - 0.5)``.
    Against the defaults (action 0) neither agent alone changes the stage's return
    (``v({i}) = Q(s, c) = 0 + 0.5 V = 0.25``); together they raise it to ``V``, and each
    gets half of ``V - Q(s, c) = 0.25``.

    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> both = np.array([[0.0, 0.0], [0.0, 1.0]])
    >>> game = StochasticGame(np.stack([both, both])[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> half = np.array([[0.5, 0.5]])
    >>> credit = stochastic_credit_assignment(game, (half, half))
    >>> credit.values.tolist(), credit.shapley_values.tolist(), credit.coalition_baselines.tolist()
    ([0.5], [[0.125, 0.125]], [0.25])
    """
    function = "stochastic_credit_assignment"
    check_tolerance(tol, function)
    options = options.checked(function)
    n, shape = game.n_players, game.num_actions
    stages = 1 if game.horizon is None else game.horizon
    _check_size(n, stages * game.n_states * n * game.n_joint_actions, "rewards", function)
    team = _team(options.team, np.moveaxis(game.rewards, 1, 0).reshape(n, -1), tol, function)
    available = tuple(int(k) for k in game.action_counts.min(axis=0))
    defaults = _default_actions(options.default_actions, available, function, " in every state")
    policy = _stochastic_policy(game, _given_policy(policies, options, function), function)
    exponent = _exponent(game.rewards)
    scaled = game if exponent == 0 else _rescaled(game, exponent)
    values = _values(scaled, policy)  # (T + 1, S, n) per stage, or (1, S, n) when stationary
    if game.horizon is None:
        q = scaled.q_values(values[0])[None]
    else:
        q = np.stack([scaled.q_values(values[t + 1]) for t in range(game.horizon)])
    lead = q.shape[:2] if game.horizon is not None else q.shape[1:2]
    q_team = _team_return(q, team, axis=2).reshape(-1, *shape)
    strategies = [p.reshape(-1, k) for p, k in zip(policy, shape, strict=True)]
    coalitions = _product_coalitions(q_team, strategies, defaults)
    credits = _credits(q_team, _outer(strategies), strategies, defaults, options.counterfactual, coalitions)
    mask = np.broadcast_to(game.joint_mask[:, None], (*lead, 1, *shape)).reshape(-1, 1, *shape)
    unscaled = functools.partial(_unscaled, exponent=exponent, field="rewards", function=function)
    team_values = unscaled(_team_return(values[:stages], team, axis=-1).reshape(lead))
    coalition_values = unscaled(credits.coalition_values).reshape(*lead, -1)
    return StochasticCreditAssignment(
        team=team,
        counterfactual=options.counterfactual,
        default_actions=defaults,
        team_return=float(game.initial_distribution @ team_values.reshape(-1, game.n_states)[0]),
        values=team_values,
        q_values=unscaled(q_team).reshape(*lead, *shape),
        difference_rewards=unscaled(credits.difference_rewards).reshape(*lead, n),
        difference_tensors=unscaled(np.where(mask, credits.difference_tensors, 0.0)).reshape(
            *lead, n, *shape
        ),
        shapley_values=unscaled(credits.shapley_values).reshape(*lead, n),
        coalition_values=coalition_values,
        coalition_baselines=coalition_values[..., 0].copy(),
    )


# -- inputs ------------------------------------------------------------------------------------


def _check_size(n: int, entries: int, field: str, function: str) -> None:
    if n > MAX_PLAYERS:
        raise ProblemTooLargeError(
            field,
            f"{function}(): {n} players, over the limit of {MAX_PLAYERS} (the Shapley values visit "
            f"all 2^n coalitions)",
        )
    if entries > MAX_ENTRIES:
        raise ProblemTooLargeError(
            field,
            f"{function}(): the difference tensors would hold {entries:,} entries, over the limit of "
            f"{MAX_ENTRIES:,}",
        )


def _team(requested: str, table: FloatArray, tol: float, function: str) -> str:
    """``"common"`` or ``"sum"``: the team return ``requested`` resolves to on these
    per-player payoffs (one row each), or the refusal of ``"auto"`` and ``"common"``."""
    if requested == "sum":
        return "sum"
    # Each player's payoffs against player 0's, in halves (no overflow at 1e308).
    gap = 2.0 * float(np.abs(table / 2.0 - table[0] / 2.0).max())
    limit = max(regret_tolerance(tol, float(row.max()), float(row.min())) for row in table)
    if gap <= limit:
        return "common"
    raise InvalidOptionError(
        "credit_assignment.team",
        f"{function}(): the players' payoffs are not common (they differ by up to {gap:.6g}, over the "
        f"tolerance {limit:.3g}); pass team='sum' for the sum of the players' payoffs as the team return",
    )


def _default_actions(
    defaults: tuple[int, ...] | None, available: Sequence[int], function: str, where: str
) -> tuple[int, ...]:
    """The default actions, checked against each agent's ``available`` actions."""
    n = len(available)
    if defaults is None:
        return (0,) * n
    if len(defaults) != n:
        raise InvalidOptionError(
            "credit_assignment.default_actions",
            f"{function}(): {len(defaults)} default actions for {n} agents",
        )
    for i, (c, k) in enumerate(zip(defaults, available, strict=True)):
        if c >= k:
            raise InvalidOptionError(
                "credit_assignment.default_actions",
                f"{function}(): agent {i}'s default action {c} does not exist (it has actions "
                f"0..{k - 1}{where})",
            )
    return defaults


def _given_policy(policy: Any, options: CreditOptions, function: str) -> Any:
    """The policy passed, else the options' (one of them is needed)."""
    chosen = options.policy if policy is None else policy
    if chosen is None:
        raise InvalidOptionError(
            "credit_assignment.policy",
            f"{function}(): credit assignment needs the joint policy to credit (policy, or options.policy)",
        )
    return chosen


def _normal_form_policy(
    policy: Any, shape: tuple[int, ...], function: str
) -> tuple[list[FloatArray], FloatArray, bool]:
    """Each agent's marginal, the joint distribution, and whether the policy was joint."""
    n = len(shape)
    field = "credit_assignment.policy"
    if isinstance(policy, np.ndarray):
        joint = _distribution(
            policy,
            shape,
            field,
            f"{function}(): the joint distribution (a numpy array; give a product policy as a tuple of "
            f"mixed strategies)",
        )
        marginals = [joint.sum(axis=tuple(j for j in range(n) if j != i)) for i in range(n)]
        return marginals, joint, True
    if isinstance(policy, str) or not isinstance(policy, Sequence):
        raise InvalidOptionError(
            field,
            f"{function}(): policy must be a tuple of mixed strategies, one per agent, or a numpy array "
            f"of shape {shape} (a joint distribution), got {quoted(policy)}",
        )
    if len(policy) != n:
        raise InvalidOptionError(
            field,
            f"{function}(): {len(policy)} mixed strategies for {n} agents (give a joint distribution as a "
            f"numpy array)",
        )
    strategies = [
        _distribution(
            x,
            (k,),
            f"{field}[{i}]",
            f"{function}(): agent {i}'s mixed strategy (a tuple is read as one mixed strategy per agent; "
            f"give a joint distribution as a numpy array)",
        )
        for i, (x, k) in enumerate(zip(policy, shape, strict=True))
    ]
    return strategies, _outer([x[None] for x in strategies])[0], False


def _distribution(value: Any, shape: tuple[int, ...], field: str, what: str) -> FloatArray:
    """``value`` as a probability array of ``shape`` (within :data:`POLICY_TOLERANCE`, renormalised)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(field, f"{what} is not a numeric array ({exc})") from exc
    if arr.shape != shape:
        raise InvalidOptionError(field, f"{what} has shape {arr.shape}, expected {shape}")
    bad = ~np.isfinite(arr) | (arr < -POLICY_TOLERANCE)
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0])
        raise InvalidOptionError(field, f"{what} has the invalid probability {arr[index]!r} at index {index}")
    arr = np.clip(arr, 0.0, None)
    total = float(arr.sum())
    if abs(total - 1.0) > POLICY_TOLERANCE:
        raise InvalidOptionError(field, f"{what} sums to {total:.12g}, not 1 within {POLICY_TOLERANCE:g}")
    return arr / total


def _stochastic_policy(
    game: StochasticGame, policies: Sequence[Any], function: str
) -> tuple[FloatArray, ...]:
    """:func:`validate_policy`, its errors as :class:`InvalidOptionError` of this function."""
    field = "credit_assignment.policy"
    if isinstance(policies, str) or not isinstance(policies, Sequence | np.ndarray):
        raise InvalidOptionError(
            field,
            f"{function}(): policies must be a sequence of one policy per agent, got {quoted(policies)}",
        )
    try:
        return validate_policy(game, policies, field=field)
    except InvalidGameError as exc:
        raise InvalidOptionError(exc.field, f"{function}(): {exc.message}") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SolverError):  # pragma: no cover - validate_policy raises InvalidGameError only
            raise
        raise InvalidOptionError(field, f"{function}(): a policy is not a numeric array ({exc})") from exc


# -- scale ---------------------------------------------------------------------------------------


def _exponent(payoffs: FloatArray) -> int:
    """``k`` with every ``|payoff| / 2^k < 1``: dividing by ``2^k`` is exact, and the team
    return of ``n`` players then stays below ``n`` (no overflow)."""
    largest = float(np.abs(payoffs).max())
    return int(np.frexp(largest)[1]) if largest > 0.0 else 0


def _unscaled(values: FloatArray, *, exponent: int, field: str, function: str) -> FloatArray:
    """``values * 2^exponent`` in the user's units, refused past the largest float."""
    with np.errstate(over="ignore"):
        out = np.ldexp(values, exponent)
    if not np.isfinite(out).all():
        raise ProblemTooLargeError(
            field, f"{function}(): a credit is beyond the largest float in the {field}' units"
        )
    return np.asarray(out, dtype=np.float64)


def _rescaled(game: StochasticGame, exponent: int) -> StochasticGame:
    """``game`` with every reward divided by ``2^exponent`` (exactly)."""
    return StochasticGame(
        np.ldexp(game.rewards, -exponent),
        game.transition_matrix,
        discount=game.discount,
        horizon=game.horizon,
        initial_distribution=game.initial_distribution,
        action_counts=game.action_counts,
    )


def _team_return(payoffs: FloatArray, team: str, axis: int) -> FloatArray:
    """The team return from per-player payoffs along ``axis``: player 0's, or their sum."""
    if team == "common":
        return np.asarray(np.take(payoffs, 0, axis=axis), dtype=np.float64)
    return np.asarray(payoffs.sum(axis=axis), dtype=np.float64)


# -- kernels: a batch of stage games on a leading axis ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Credits:
    """Credits of a batch of ``B`` stage games, in the (scaled) units of their team return."""

    difference_rewards: FloatArray  # (B, n)
    difference_tensors: FloatArray  # (B, n, a_1..a_n)
    shapley_values: FloatArray  # (B, n)
    coalition_values: FloatArray  # (B, 2^n)


def _outer(strategies: Sequence[FloatArray]) -> FloatArray:
    """The product distribution ``(B, a_1, ..., a_n)`` of per-agent strategies ``(B, a_i)``."""
    b = strategies[0].shape[0]
    joint = strategies[0]
    for x in strategies[1:]:
        joint = joint[..., None] * x.reshape((b,) + (1,) * (joint.ndim - 1) + (x.shape[1],))
    return joint


def _credits(
    g: FloatArray,
    joint: FloatArray,
    marginals: Sequence[FloatArray],
    defaults: tuple[int, ...],
    counterfactual: str,
    coalition_values: FloatArray,
) -> _Credits:
    """Difference rewards and Shapley values of team returns ``g`` ``(B, a_1..a_n)`` under
    joint distributions ``joint`` with marginals ``(B, a_i)``."""
    b, shape = g.shape[0], g.shape[1:]
    n = len(shape)
    tensors = np.empty((b, n, *shape))
    for i in range(n):
        axis = 1 + i
        if counterfactual == "aristocrat":
            weights = marginals[i].reshape((b,) + tuple(k if j == i else 1 for j, k in enumerate(shape)))
            base = (g * weights).sum(axis=axis, keepdims=True)
        else:
            base = np.take(g, [defaults[i]], axis=axis)
        tensors[:, i] = g - base
    expected = np.matmul(tensors.reshape(b, n, -1), joint.reshape(b, -1, 1))[..., 0]
    return _Credits(
        difference_rewards=expected,
        difference_tensors=tensors,
        shapley_values=_shapley(coalition_values, n),
        coalition_values=coalition_values,
    )


def _product_coalitions(
    g: FloatArray, strategies: Sequence[FloatArray], defaults: tuple[int, ...]
) -> FloatArray:
    """``v(C)`` ``(B, 2^n)`` under product policies: ``g`` contracted on each agent's axis with
    its strategy (in ``C``) or its default action (outside), every coalition at once."""
    b, shape = g.shape[0], g.shape[1:]
    n = len(shape)
    t = g.reshape(b, 1, -1)
    for i, k in enumerate(shape):
        rest = math.prod(shape[i + 1 :])
        both = np.zeros((b, 1, 2, k))
        both[:, 0, 0, defaults[i]] = 1.0  # outside C: the default action (an exact pick)
        both[:, 0, 1] = strategies[i]
        t = np.matmul(both, t.reshape(b, -1, k, rest)).reshape(b, -1, rest)
    # Agent 0 is the most significant bit of the index so far; coalition C's index is Σ_{i∈C} 2^i.
    return t.reshape((b,) + (2,) * n).transpose(0, *range(n, 0, -1)).reshape(b, -1)


def _joint_coalitions(g: FloatArray, joint: FloatArray, defaults: tuple[int, ...]) -> FloatArray:
    """``v(C)`` ``(2^n,)`` under a joint distribution: ``Σ_{a_C} p_C(a_C) G(a_C, c_{-C})``.

    Depth first over the agents: an agent outside ``C`` is summed out of the distribution
    and clamped to its default in ``g``; one inside keeps its axis until the last agent.
    """
    n = g.ndim
    values = np.empty(1 << n)

    def visit(agent: int, mask: int, kept: int, p: FloatArray, h: FloatArray) -> None:
        if agent == n:
            # The empty coalition's distribution is a total mass of 1 (the sum of p only up to
            # round-off): v(∅) = G(c) exactly, as for a product policy.
            values[mask] = float(np.sum(p * h)) if kept else float(h)
            return
        visit(agent + 1, mask | (1 << agent), kept + 1, p, h)
        visit(agent + 1, mask, kept, p.sum(axis=kept), h.take(defaults[agent], axis=kept))

    visit(0, 0, 0, joint, g)
    return values


def _shapley(values: FloatArray, n: int) -> FloatArray:
    """Shapley values ``(B, n)`` of coalition values ``(B, 2^n)`` indexed by ``Σ_{i∈C} 2^i``:
    ``φ_i = Σ_{C ∌ i} |C|! (n - |C| - 1)! / n! (v(C ∪ {i}) - v(C))``."""
    masks = np.arange(1 << n)
    sizes = np.bitwise_count(masks)
    weights = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)])
    out = np.empty((values.shape[0], n))
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        out[:, i] = (values[:, without | (1 << i)] - values[:, without]) @ weights[sizes[without]]
    return out
