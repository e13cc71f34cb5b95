"""The logit quantal response equilibrium (QRE) homotopy of a stochastic game.

A stationary logit QRE with precision ``lambda`` has every player, in every state, play
each action with probability proportional to ``exp(lambda * Q)``, with ``Q`` from the
profile's exact values. From uniform play at ``lambda = 0`` the principal branch leads,
as ``lambda`` grows, to a stationary Markov perfect equilibrium (McKelvey & Palfrey 1995
for normal-form games; Eibelshäuser & Poensgen 2019 for stochastic games).
:func:`qre_homotopy` follows it and polishes and certifies its end. See docs/homotopy.md.

Examples
--------
Repeated prisoner's dilemma (one state with a self-loop): its only stationary
equilibrium is defection.

>>> import numpy as np
>>> from equilibria.solver.stochastic.game import StochasticGame
>>> pd = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
>>> game = StochasticGame(pd[None], np.ones((1, 2, 2, 1)), discount=0.9)
>>> result = qre_homotopy(game)
>>> result.converged, [p.round(9).tolist() for p in result.policies]
(True, [[[0.0, 1.0]], [[0.0, 1.0]]])

References
----------
.. [1] R. D. McKelvey and T. R. Palfrey, "Quantal response equilibria for normal form
   games", Games and Economic Behavior 10 (1995) 6-38.
.. [2] S. Eibelshäuser and D. Poensgen, "Markov quantal response equilibrium and a
   homotopy method for computing and selecting Markov perfect equilibria of dynamic
   stochastic games", working paper (2019); the sgamesolver package.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts.continuation import System, follow
from equilibria.solver.errors import InvalidOptionError, UnsupportedError, check_time_limit
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.homotopy.path import (
    NEAR,
    STOCHASTIC_FOLLOWER,
    Assembler,
    HomotopyResult,
    Model,
    Polished,
    check_count,
    check_game,
    check_tol,
    polish,
    probabilities,
    profile_distance,
    result_from,
    single_profile,
)

__all__ = ["DEFAULT_LAMBDA_MAX", "qre_homotopy", "qre_path"]

#: Default largest ``lambda`` followed by the QRE homotopy (on the unit game: rewards in [0, 1]).
DEFAULT_LAMBDA_MAX = 1e8
#: Two polished QRE limits at successive checkpoints are the same within this distance.
_SAME = 1e-7
#: Polishing is tried once the one-shot deviation gap of the path profile (rewards scaled
#: to [0, 1]) is below this, at precisions growing by ``_CHECK_GROWTH``.
_POLISH_GAP, _CHECK_GROWTH = 2e-2, 2.0


def qre_homotopy(
    game: StochasticGame,
    *,
    tol: float = 1e-8,
    max_steps: int = 20_000,
    time_limit: float | None = None,
    lambda_max: float = DEFAULT_LAMBDA_MAX,
) -> HomotopyResult:
    """Follow the principal branch of stationary logit QREs from uniform play to an equilibrium.

    Parameters
    ----------
    game : StochasticGame
        Infinite horizon (discount < 1); any number of players; ragged action sets.
    tol : float, optional(default=1e-8)
        Certification tolerance: every player's largest state gap at the end point is
        at most ``tol`` times its own value range (reward range over ``1 - discount``,
        :meth:`~equilibria.solver.stochastic.game.StochasticGame.value_tolerances`).
    max_steps : int, optional(default=20000)
        Largest number of path-following steps.
    time_limit : float, optional
        Wall-clock seconds; the path stops (unconverged) when they run out.
    lambda_max : float, optional(default=1e8)
        Largest precision followed, on the unit game (each player's rewards mapped
        onto ``[0, 1]``, so the units of the rewards change nothing).

    Returns
    -------
    HomotopyResult
        ``converged`` is False when the path stalled, ran out of steps or time, or
        reached ``lambda_max`` without a certified end point; ``reason`` says which.

    Raises
    ------
    InvalidOptionError
        For a game that is not a :class:`StochasticGame` or bad options.
    UnsupportedError
        For a finite-horizon game.
    ProblemTooLargeError
        When the game has more than :data:`MAX_UNKNOWNS` path unknowns.

    Notes
    -----
    The branch is checked at precisions growing by a factor of 2. Once the one-shot
    deviation gap of its profile is small (a lower bound on the state gaps), supports
    are read off and polished (see docs/homotopy.md); the end point is accepted when the
    polished equilibrium is the same at two successive checks (a regular equilibrium
    does not move as :math:`\\lambda` grows) and the branch is within 0.1 of it or
    still approaching it; at ``lambda_max``, when it is certified at all. Two-player
    supports of unequal sizes in some state are not polished before ``lambda_max``
    (their support equations are singular unless the game is degenerate). The end point
    selected is the limit of the principal branch only as far as the path follower
    stays on it: the follower reports bifurcations it crosses (non-generic games).

    Examples
    --------
    Matching pennies repeated: the unique equilibrium is uniform play.

    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
    >>> game = StochasticGame(pennies[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> result = qre_homotopy(game)
    >>> result.converged, [p.round(9).tolist() for p in result.policies]
    (True, [[[0.5, 0.5]], [[0.5, 0.5]]])

    References
    ----------
    .. [1] McKelvey & Palfrey (1995); Eibelshäuser & Poensgen (2019): see the module.
    """
    caller = "qre_homotopy"
    check_game(game, caller)
    tol = check_tol(tol, caller)
    max_steps = check_count(max_steps, "max_steps", caller, 1)
    limit = check_time_limit(time_limit, caller)
    if (
        isinstance(lambda_max, bool)
        or not isinstance(lambda_max, int | float)
        or not (1e2 <= lambda_max <= 1e12)
    ):
        raise InvalidOptionError(
            "lambda_max", f"{caller}(): lambda_max must be in [1e2, 1e12], got {lambda_max!r}"
        )
    deadline = None if limit is None else time.monotonic() + limit
    return qre_path(game, tol, max_steps, float(lambda_max), deadline)


def _qre_system(model: Model) -> System:
    M, N, n, gamma = model.M, model.N, model.n, model.gamma
    assembler = Assembler((N, N + 1), model.dense)
    nonref = np.flatnonzero(~model.is_ref)
    ref_of = model.ref[nonref]
    ref_rows = model.ref
    arange_m = np.arange(M)

    def system(z: FloatArray, jacobian: bool) -> tuple[FloatArray, Any]:
        beta, V, lam = z[:M], z[M:N].reshape(model.S, n), z[N]
        probs = probabilities(beta)
        sig = model.split(probs)
        Q, cross = model.stage(sig, V)
        q = model.flat_q(Q)
        r = np.empty(N)
        r[nonref] = beta[nonref] - beta[ref_of] - lam * (q[nonref] - q[ref_of])
        sums = np.bincount(model.group, weights=probs, minlength=model.S * n)
        r[model.flat[:, :, 0].reshape(-1)] = sums - 1.0
        r[M:] = V.reshape(-1) - np.bincount(model.group, weights=probs * q, minlength=model.S * n)
        if not jacobian:
            return r, None
        trip = assembler
        trip.add(nonref, nonref, 1.0)
        trip.add(nonref, ref_of, -1.0)
        trip.add(ref_rows, arange_m, probs)
        trip.add(nonref, N, -(q[nonref] - q[ref_of]))
        j_rows, j_cols, j_vals = model.joint_coo(sig)
        for i in range(n):
            rows = model.fl[i].copy()
            rows[:, 0] = -1
            vrow = model.vidx[:, i]
            for j in range(n):
                if j == i:
                    continue
                block = cross[i][j]
                trip.add(
                    rows[:, :, None],
                    model.fl[j][:, None, :],
                    -lam * (block - block[:, :1, :]) * sig[j][:, None, :],
                )
                dev = np.einsum("sa,sab->sb", sig[i], block)
                trip.add(vrow[:, None], model.fl[j], -dev * sig[j])
            # M_i[(s, a)] - M_i[(s, 0)] at the rows of the actions a >= 1
            m_i = model.response_coo(sig, i)
            model.v_block(trip, m_i, i, -lam * gamma, drop_ref=True)
            is_first = m_i.rows % model.sizes[i] == 0
            trip.add(
                rows[m_i.rows[is_first] // model.sizes[i]],
                model.vidx[m_i.cols[is_first], i][:, None],
                (lam * gamma * m_i.values[is_first])[:, None],
            )
            trip.add(vrow[:, None], model.fl[i], -sig[i] * Q[i])
            trip.add(vrow, vrow, 1.0)
            trip.add(vrow[j_rows], vrow[j_cols], -gamma * j_vals)
        return r, trip.matrix()

    return system


def qre_path(
    game: StochasticGame, tol: float, max_steps: int, lambda_max: float, deadline: float | None
) -> HomotopyResult:
    """:func:`qre_homotopy` on checked options, with a :func:`time.monotonic` deadline."""
    caller = "qre_homotopy"
    model = Model(game)
    only = single_profile(model)
    if only is not None:
        return result_from(model, "qre", only, 0.0, 0, True, "no player has a choice in any state", ())
    uniform = model.uniform()
    start = np.concatenate([np.log(model.join(uniform)), model.values(uniform).reshape(-1), [0.0]])
    orient = np.zeros(model.N + 1)
    orient[-1] = 1.0
    system = _qre_system(model)
    path = follow(
        system,
        start,
        orient,
        STOCHASTIC_FOLLOWER,
        valid=lambda z: bool(z[-1] >= -1e-9 and np.all(z[: model.M] <= 1e-6)),
        max_step=None,
        step=0.1,
        max_steps=max_steps,
        deadline=deadline,
        caller=caller,
    )
    bifurcations: list[float] = []
    next_check = 1.0
    previous: Polished | None = None
    previous_distance = math.inf
    last_z = start
    steps = 0
    sig = uniform
    try:
        for point in path:
            steps, last_z = point.steps, point.z
            lam = float(point.z[-1])
            if point.bifurcation:
                bifurcations.append(lam)
            final = lam >= lambda_max
            if lam < next_check and not final:
                continue
            next_check = _CHECK_GROWTH * lam
            sig = model.split(probabilities(point.z[: model.M]))
            Q, _ = model.stage(sig, point.z[model.M : model.N].reshape(model.S, model.n))
            if model.one_shot_gap(sig, Q) > _POLISH_GAP and not final:
                previous = None
                continue
            candidate = polish(model, sig, tol, balanced=not final, near=math.inf)
            distance = math.inf if candidate is None else profile_distance(candidate.policies, sig)
            if (
                candidate is not None
                and previous is not None
                and profile_distance(candidate.policies, previous.policies) <= _SAME
                and (distance <= NEAR or distance < previous_distance)
            ):
                # A regular equilibrium does not move as lambda grows; the branch is at
                # it or still approaching it.
                return result_from(
                    model,
                    "qre",
                    candidate.policies,
                    lam,
                    steps,
                    True,
                    "certified: the polished limit stopped moving",
                    bifurcations,
                    cert=candidate.certificate,
                )
            if final:
                if candidate is not None:
                    return result_from(
                        model,
                        "qre",
                        candidate.policies,
                        lam,
                        steps,
                        True,
                        "certified at lambda_max (the polished limit was still moving: a non-regular equilibrium?)",
                        bifurcations,
                        cert=candidate.certificate,
                    )
                return result_from(
                    model,
                    "qre",
                    tuple(sig),
                    lam,
                    steps,
                    False,
                    f"reached lambda = {lambda_max:g} (rewards mapped onto [0, 1]) without a certified end point",
                    bifurcations,
                )
            previous, previous_distance = candidate, distance
    except UnsupportedError as end:  # the follower stopped: stall, steps, time
        sig = model.split(probabilities(last_z[: model.M]))
        for candidate in (previous, polish(model, sig, tol)):
            if candidate is not None and profile_distance(candidate.policies, sig) <= NEAR:
                return result_from(
                    model,
                    "qre",
                    candidate.policies,
                    float(last_z[-1]),
                    steps,
                    True,
                    f"certified after the path stopped ({end.message})",
                    bifurcations,
                    cert=candidate.certificate,
                )
        return result_from(
            model, "qre", tuple(sig), float(last_z[-1]), steps, False, end.message, bifurcations
        )
    raise AssertionError("unreachable: follow raises when it stops")  # pragma: no cover
