"""The logarithmic tracing homotopy of a stochastic game, from a prior to a stationary equilibrium.

From a prior (a stationary profile: what everyone initially expects), at ``t`` in
``[0, 1]`` each player faces, in every state, the others' current play with probability
``t`` and the prior otherwise, and maximises its value plus a logarithmic barrier
weighted by ``(1 - t) * eta``. At ``t = 0`` every player solves its own regularised MDP
(a unique solution); at ``t = 1`` the fixed point is a stationary Markov perfect
equilibrium. This is the stochastic version of the Harsanyi-Selten tracing procedure
(Herings & Peeters 2004; the ``LogTracing`` homotopy of sgamesolver); different priors
reach different equilibria. See docs/homotopy.md.

References
----------
.. [1] P. J.-J. Herings and R. J. A. P. Peeters, "Stationary equilibria in stochastic
   games: structure, selection, and computation", Journal of Economic Theory 118
   (2004) 32-60.
.. [2] J. C. Harsanyi and R. Selten, *A General Theory of Equilibrium Selection in
   Games*, MIT Press (1988), ch. 4.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from equilibria.solver._typing import FloatArray
from equilibria.solver.concepts.continuation import System, follow
from equilibria.solver.errors import InvalidGameError, InvalidOptionError, UnsupportedError, check_time_limit
from equilibria.solver.stochastic.game import StochasticGame, validate_policy
from equilibria.solver.stochastic.homotopy.path import (
    NEAR,
    STOCHASTIC_FOLLOWER,
    Assembler,
    HomotopyResult,
    Model,
    Policies,
    Triplets,
    check_count,
    check_game,
    check_tol,
    polish,
    probabilities,
    profile_distance,
    result_from,
    single_profile,
    solve_values,
)

__all__ = ["DEFAULT_ETA", "random_prior", "tracing_homotopy", "tracing_path"]

#: Default barrier weight of the logarithmic tracing homotopy (rewards scaled to [0, 1]).
DEFAULT_ETA = 0.1
#: Values of ``1 - t`` at which the end point is polished.
_END_GAPS = (1e-3, 1e-5, 1e-7, 1e-9, 1e-11)


class _PriorTerms(NamedTuple):
    """One player's stage quantities against the prior's ``rho_{-i}``."""

    rewards: FloatArray  # (S, a_i)
    transitions: sp.csr_array  # (S * a_i, S)
    triplets: Triplets  # the same transitions as unsummed triplets


def random_prior(game: StochasticGame, seed: int | np.random.Generator | None = None) -> Policies:
    """A random stationary profile: each player's mixed action in each state uniform on its simplex.

    Parameters
    ----------
    game : StochasticGame
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    tuple of ndarray
        Per player ``(S, a_i)``, zero on actions that do not exist.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> g = StochasticGame(np.zeros((2, 2, 3, 2)), np.full((2, 3, 2, 2), 0.5), discount=0.5)
    >>> [p.sum(axis=1).round(12).tolist() for p in random_prior(g, seed=1)]
    [[1.0, 1.0], [1.0, 1.0]]
    """
    rng = np.random.default_rng(seed)
    out = []
    for mask in game.action_mask:
        draw = np.where(mask, rng.exponential(size=mask.shape), 0.0)
        out.append(draw / draw.sum(axis=1, keepdims=True))
    return tuple(out)


def tracing_homotopy(
    game: StochasticGame,
    prior: Sequence[npt.ArrayLike] | None = None,
    *,
    eta: float = DEFAULT_ETA,
    tol: float = 1e-8,
    max_steps: int = 20_000,
    time_limit: float | None = None,
) -> HomotopyResult:
    """Follow the logarithmic tracing path from a prior to a stationary equilibrium.

    Parameters
    ----------
    game : StochasticGame
        Infinite horizon; any number of players; ragged action sets.
    prior : sequence of array_like, optional
        Per player ``(S, a_i)``: a stationary profile (rows probability vectors, zero on
        actions that do not exist); default: uniform play.
    eta : float, optional(default=0.1)
        Barrier weight, for rewards scaled to ``[0, 1]``; smaller follows the linear
        tracing procedure more closely (with a more sharply bent path).
    tol, max_steps, time_limit
        As for :func:`qre_homotopy`.

    Returns
    -------
    HomotopyResult
        With ``parameter`` the ``t`` reached and ``prior`` the prior used.

    Raises
    ------
    InvalidOptionError
        For a prior that is not a stationary profile of the game, or bad options.
    UnsupportedError
        For a finite-horizon game.
    ProblemTooLargeError
        When the game has more than :data:`MAX_UNKNOWNS` path unknowns.

    Examples
    --------
    A repeated coordination game: a prior leaning to the first action ends there, one
    leaning to the second ends at the second.

    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> coord = np.array([[[2.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    >>> game = StochasticGame(coord[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> lean = lambda p: np.array([[p, 1.0 - p]])
    >>> [tracing_homotopy(game, (lean(q), lean(q))).policies[0].round(9).tolist() for q in (0.9, 0.1)]
    [[[1.0, 0.0]], [[0.0, 1.0]]]

    References
    ----------
    .. [1] Herings & Peeters (2004); Harsanyi & Selten (1988): see the module.
    """
    caller = "tracing_homotopy"
    check_game(game, caller)
    tol = check_tol(tol, caller)
    max_steps = check_count(max_steps, "max_steps", caller, 1)
    limit = check_time_limit(time_limit, caller)
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not (0.0 < eta <= 10.0):
        raise InvalidOptionError("eta", f"{caller}(): eta must be in (0, 10], got {eta!r}")
    rho = _validated_prior(game, prior, caller)
    deadline = None if limit is None else time.monotonic() + limit
    return tracing_path(game, rho, float(eta), tol, max_steps, deadline)


def _validated_prior(game: StochasticGame, prior: Sequence[npt.ArrayLike] | None, caller: str) -> Policies:
    if prior is None:
        return tuple(Model(game).uniform())
    try:
        return validate_policy(game, list(prior), field="prior")
    except InvalidGameError as exc:
        raise InvalidOptionError(exc.field, f"{caller}(): {exc.message}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(
            "prior", f"{caller}(): prior is not a sequence of numeric arrays ({exc})"
        ) from exc


def _smoothed_response(
    c: FloatArray, mask: npt.NDArray[np.bool_], eps: float
) -> tuple[FloatArray, FloatArray]:
    """Per row, maximise ``x . c + eps * sum log x`` over the simplex of the existing actions.

    Returns ``x`` and the multiplier ``mu`` (``x_a = eps / (mu - c_a)``), by Newton's
    method on ``sum_a eps / (mu - c_a) = 1`` from the left (monotone, quadratic).
    """
    cm = np.where(mask, c, -np.inf)
    mu = cm.max(axis=1) + eps
    for _ in range(200):
        d = np.where(mask, mu[:, None] - cm, np.inf)
        f = (eps / d).sum(axis=1) - 1.0
        fp = (eps / d**2).sum(axis=1)
        step = f / fp
        mu = mu + step
        if float(np.abs(step).max()) <= 1e-15 * (1.0 + float(np.abs(mu).max())):
            break
    x = np.where(mask, eps / np.where(mask, mu[:, None] - cm, 1.0), 0.0)
    return x / x.sum(axis=1, keepdims=True), mu


def _tracing_start(
    model: Model, prior_terms: list[_PriorTerms], eta: float
) -> tuple[list[FloatArray], FloatArray]:
    """The unique solution at t = 0: each player's regularised MDP against the prior (policy iteration)."""
    S, n, gamma = model.S, model.n, model.gamma
    sig = model.uniform()
    V = np.zeros((S, n))
    for i in range(n):
        mask = model.game.action_mask[i]
        k = model.sizes[i]
        R, Mrho = prior_terms[i].rewards, prior_terms[i].transitions
        x = sig[i]
        for _ in range(500):
            # Evaluate x exactly (the barrier counts as reward), then improve it smoothly.
            weights = sp.csr_array(
                (x.reshape(-1), np.arange(S * k), np.arange(0, S * k + 1, k)), shape=(S, S * k)
            )
            trans = sp.csr_array(weights @ Mrho)
            with np.errstate(divide="ignore"):
                logs = np.where(mask, np.log(np.where(mask, x, 1.0)), 0.0)
            reward = (x * R).sum(axis=1) + eta * logs.sum(axis=1)
            v = solve_values(trans, reward, gamma)
            c = R + gamma * (Mrho @ v).reshape(S, k)
            new_x, _ = _smoothed_response(c, mask, eta)
            change = float(np.abs(new_x - x).max())
            x = new_x
            if change <= 1e-14:
                break
        sig[i] = x
        V[:, i] = v
    return sig, V


def _tracing_system(model: Model, prior_terms: list[_PriorTerms], eta: float) -> System:
    M, N, n, S, gamma = model.M, model.N, model.n, model.S, model.gamma
    act = np.arange(M)
    assembler = Assembler((N, N + 1), model.dense)
    same = [(model.fl[i][:, :, None], model.fl[i][:, None, :]) for i in range(n)]

    def system(z: FloatArray, jacobian: bool) -> tuple[FloatArray, Any]:
        beta, V, t = z[:M], z[M:N].reshape(S, n), z[N]
        eps = (1.0 - t) * eta
        probs = probabilities(beta)
        inv = np.exp(-beta)
        sig = model.split(probs)
        Q, cross = model.stage(sig, V)
        q = model.flat_q(Q)
        qrho = model.join(
            [
                prior_terms[i].rewards + gamma * (prior_terms[i].transitions @ V[:, i]).reshape(S, -1)
                for i in range(n)
            ]
        )
        logsum = np.bincount(model.group, weights=beta - 1.0, minlength=S * n)
        vflat = V.reshape(-1)[model.group]
        barrier = inv + logsum[model.group]
        r = np.empty(N)
        r[:M] = t * q + (1.0 - t) * qrho - vflat + eps * barrier
        r[M:] = np.bincount(model.group, weights=probs, minlength=S * n) - 1.0
        if not jacobian:
            return r, None
        trip = assembler
        trip.add(act, N, q - qrho - eta * barrier)
        trip.add(act, model.vidx.reshape(-1)[model.group], -1.0)
        trip.add(model.vidx.reshape(-1)[model.group], act, probs)
        for i in range(n):
            rows, cols = same[i]
            own = np.where(np.eye(model.sizes[i], dtype=bool)[None], -inv[np.clip(rows, 0, None)], 0.0)
            trip.add(rows, cols, eps * (1.0 + own))
            for j in range(n):
                if j != i:
                    trip.add(
                        model.fl[i][:, :, None], model.fl[j][:, None, :], t * cross[i][j] * sig[j][:, None, :]
                    )
            model.v_block(trip, model.response_coo(sig, i), i, t * gamma, drop_ref=False)
            model.v_block(trip, prior_terms[i].triplets, i, (1.0 - t) * gamma, drop_ref=False)
        return r, trip.matrix()

    return system


def _prior_terms(model: Model, rho: Policies) -> list[_PriorTerms]:
    """Per player: rewards ``(S, a_i)`` and transitions against the prior's ``rho_{-i}``."""
    out = []
    for i in range(model.n):
        weighted = model.rewards[:, i] * model.others(rho, i)
        reward = np.moveaxis(weighted, i + 1, -1).reshape(model.S, -1, model.sizes[i]).sum(axis=1)
        out.append(_PriorTerms(reward, model.response_matrix(rho, i), model.response_coo(rho, i)))
    return out


def tracing_path(
    game: StochasticGame, rho: Policies, eta: float, tol: float, max_steps: int, deadline: float | None
) -> HomotopyResult:
    """:func:`tracing_homotopy` on checked options and a checked prior, with a :func:`time.monotonic` deadline."""
    caller = "tracing_homotopy"
    model = Model(game)
    only = single_profile(model)
    if only is not None:
        return result_from(
            model, "tracing", only, 1.0, 0, True, "no player has a choice in any state", (), prior=rho
        )
    prior_terms = _prior_terms(model, rho)
    sig0, V0 = _tracing_start(model, prior_terms, eta)
    start = np.concatenate([np.log(np.clip(model.join(sig0), 1e-300, None)), V0.reshape(-1), [0.0]])
    orient = np.zeros(model.N + 1)
    orient[-1] = 1.0
    system = _tracing_system(model, prior_terms, eta)

    def max_step(z: FloatArray, tangent: FloatArray) -> float:
        if tangent[-1] <= 0.0:
            return math.inf
        return 0.99 * (1.0 - z[-1]) / tangent[-1]

    path = follow(
        system,
        start,
        orient,
        STOCHASTIC_FOLLOWER,
        valid=lambda z: bool(-1e-9 <= z[-1] < 1.0 and np.all(z[: model.M] <= 1e-6)),
        max_step=max_step,
        step=0.05,
        max_steps=max_steps,
        deadline=deadline,
        caller=caller,
    )
    gaps = list(_END_GAPS)
    bifurcations: list[float] = []
    steps = 0
    last_z = start
    try:
        for point in path:
            steps, last_z = point.steps, point.z
            t = float(point.z[-1])
            if point.bifurcation:
                bifurcations.append(t)
            if 1.0 - t > gaps[0]:
                continue
            while gaps and 1.0 - t <= gaps[0]:
                gaps.pop(0)
            sig = model.split(probabilities(point.z[: model.M]))
            candidate = polish(model, sig, tol)
            if candidate is not None and profile_distance(candidate.policies, sig) <= NEAR:
                return result_from(
                    model,
                    "tracing",
                    candidate.policies,
                    t,
                    steps,
                    True,
                    "certified near t = 1",
                    bifurcations,
                    prior=rho,
                    cert=candidate.certificate,
                )
            if not gaps:
                return result_from(
                    model,
                    "tracing",
                    tuple(sig),
                    t,
                    steps,
                    False,
                    "reached t = 1 but the end point could not be certified",
                    bifurcations,
                    prior=rho,
                )
    except UnsupportedError as end:  # the follower stopped: stall, steps, time
        sig = model.split(probabilities(last_z[: model.M]))
        if 1.0 - last_z[-1] <= 1e-2:
            candidate = polish(model, sig, tol)
            if candidate is not None and profile_distance(candidate.policies, sig) <= NEAR:
                return result_from(
                    model,
                    "tracing",
                    candidate.policies,
                    float(last_z[-1]),
                    steps,
                    True,
                    f"certified after the path stopped ({end.message})",
                    bifurcations,
                    prior=rho,
                    cert=candidate.certificate,
                )
        return result_from(
            model,
            "tracing",
            tuple(sig),
            float(last_z[-1]),
            steps,
            False,
            end.message,
            bifurcations,
            prior=rho,
        )
    raise AssertionError("unreachable: follow raises when it stops")  # pragma: no cover
