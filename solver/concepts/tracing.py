"""The Harsanyi-Selten tracing procedure, followed as a smooth logarithmic homotopy.

From a prior (what every player initially expects the others to do), the linear tracing
procedure deforms the game: at ``t`` each player believes the others play their current
strategies with probability ``t`` and the prior otherwise, and the path of equilibria from
``t = 0`` (best replies to the prior) to ``t = 1`` ends at the selected equilibrium
(Harsanyi & Selten 1988, ch. 4). It is followed here as the limit of the logarithmic
tracing procedure (Harsanyi 1975; Herings & Peeters 2001) with the path follower of
:mod:`~equilibria.solver.concepts.continuation`; its end point is polished on its support
(:func:`polish_on_support`) and certified. See docs/homotopy.md.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.concepts.tracing import linear_tracing
>>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
>>> [s.round(9).tolist() for s in linear_tracing(stag_hunt)]
[[0.0, 1.0], [0.0, 1.0]]

References
----------
.. [1] J. C. Harsanyi and R. Selten, *A General Theory of Equilibrium Selection in
   Games*, MIT Press (1988), ch. 4.
.. [2] J. C. Harsanyi, "The tracing procedure: a Bayesian approach to defining a
   solution for n-person noncooperative games", Int. J. Game Theory 4 (1975) 61-94.
.. [3] P. J.-J. Herings and R. J. A. P. Peeters, "A differentiable homotopy to compute
   Nash equilibria of n-person games", Economic Theory 18 (2001) 159-185.
.. [4] P. J.-J. Herings and R. Peeters, "Homotopy methods to compute equilibria in
   game theory", Economic Theory 42 (2010) 119-156.
.. [5] S. H. Schanuel, L. K. Simon and W. R. Zame, "The algebraic geometry of games and
   the tracing procedure", in *Game Equilibrium Models II*, Springer (1991) 9-43.
.. [6] E. L. Allgower and K. Georg, *Numerical Continuation Methods: An Introduction*,
   Springer (1990), ch. 2, 6 and 8.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.optimize
from equilibria.solver._typing import FloatArray, Profile
from equilibria.solver.concepts.continuation import PathPoint, follow_path
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame, max_abs_difference, unit_payoffs
from equilibria.solver.regret import certify

__all__ = [
    "linear_tracing",
    "trace",
    "TracingResult",
    "uniform_prior",
    "polish_on_support",
    "payoff_jets",
    "follow_path",
    "PathPoint",
    "MAX_PATH_UNKNOWNS",
    "MAX_JOINT_ACTIONS",
    "check_path_size",
]


#: Largest number of unknowns (actions plus players plus one) a path may have: the
#: follower factorises a dense Jacobian of that size at every step.
MAX_PATH_UNKNOWNS = 600
#: Largest payoff tensor (joint actions) differentiated at every step.
MAX_JOINT_ACTIONS = 200_000
#: Default barrier weight of the logarithmic tracing procedure (payoffs in [0, 1]).
DEFAULT_ETA = 1e-4
#: Largest ``1 - t`` at which a stalled path's last point is still polished into its end.
_STALL_GAP = 1e-2
#: Largest max-norm distance between a point near t = 1 and the equilibrium polished from it.
_END_NEAR = 1e-2
#: Values of ``1 - t`` at which the end point's support is read off and polished.
_END_GAPS = (1e-6, 1e-8, 1e-10, 1e-12)


# --------------------------------------------------------------------------- multilinear payoffs


def payoff_jets(
    payoffs: FloatArray, strategies: Sequence[FloatArray], *, derivatives: bool = True
) -> tuple[list[FloatArray], list[list[FloatArray]]]:
    """Deviation payoffs and their derivatives in the other players' strategies.

    Parameters
    ----------
    payoffs : ndarray, shape (n, a_1, ..., a_n)
        A payoff tensor.
    strategies : sequence of ndarray
        One vector per player (need not be a probability vector).
    derivatives : bool, optional(default=True)
        Whether to compute ``cross`` (otherwise it is returned empty).

    Returns
    -------
    dev : list of ndarray
        ``dev[i][a]`` = :math:`u_i(a, x_{-i})`, shape ``(a_i,)``.
    cross : list of list of ndarray
        ``cross[i][j][a, b]`` = :math:`\\partial\\, dev_i(a) / \\partial x_j(b)` =
        :math:`u_i(a, b, x_{-ij})` for ``j != i`` (shape ``(a_i, a_j)``); the diagonal
        entries are empty arrays (a player's deviation payoffs do not depend on its own
        strategy).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.stack([np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))])
    >>> dev, cross = payoff_jets(u, (np.array([0.5, 0.5]), np.array([1.0, 0.0])))
    >>> dev[0].tolist(), cross[0][1].tolist()
    ([1.0, 3.0], [[1.0, 2.0], [3.0, 4.0]])
    """
    n = payoffs.shape[0]
    empty = np.empty((0, 0))
    if n == 2:
        a, bt = payoffs[0], payoffs[1].T
        dev2 = [a @ strategies[1], bt @ strategies[0]]
        return dev2, ([[empty, a], [bt, empty]] if derivatives else [])
    axes = list(range(n))
    dev: list[FloatArray] = []
    cross: list[list[FloatArray]] = [[empty] * n for _ in range(n)] if derivatives else []
    for i in range(n):
        if not derivatives:
            operands: list[object] = []
            for k in range(n):
                if k != i:
                    operands += [strategies[k], [k]]
            dev.append(np.einsum(payoffs[i], axes, *operands, [i]))
            continue
        for j in range(n):
            if j == i:
                continue
            operands = []
            for k in range(n):
                if k not in (i, j):
                    operands += [strategies[k], [k]]
            block = np.einsum(payoffs[i], axes, *operands, [min(i, j), max(i, j)])
            cross[i][j] = block if i < j else block.T
        j0 = (i + 1) % n
        dev.append(cross[i][j0] @ strategies[j0])
    return dev, cross


def check_path_size(game: NormalFormGame, caller: str) -> None:
    """Raise ProblemTooLargeError when a game is too large to follow a homotopy path in."""
    unknowns = sum(game.num_actions) + game.n_players + 1
    joint = math.prod(game.num_actions)
    if unknowns > MAX_PATH_UNKNOWNS or joint > MAX_JOINT_ACTIONS:
        raise ProblemTooLargeError(
            "game",
            f"{caller}(): a {'x'.join(map(str, game.num_actions))} game has {unknowns} path unknowns and "
            f"{joint:,} joint actions; the limits are {MAX_PATH_UNKNOWNS} and {MAX_JOINT_ACTIONS:,}",
        )


# --------------------------------------------------------------------------- support polishing


def polish_on_support(
    game: NormalFormGame,
    strategies: Sequence[npt.ArrayLike],
    supports: Sequence[Sequence[int]] | None = None,
    *,
    tol: float = 1e-9,
    max_iter: int = 50,
) -> Profile | None:
    """Refine an approximate equilibrium by Newton's method on its support equations.

    With supports ``S_i`` fixed, an equilibrium solves the square system
    ``u_i(a, x_{-i}) = w_i`` for ``a`` in ``S_i`` and ``sum_{S_i} x_i = 1`` in the
    unknowns ``(x_S, w)``; it is linear for two players and multilinear beyond.
    Newton steps are least-squares steps, so a singular system (a degenerate game, a
    continuum of equilibria) still moves to a nearby solution.

    Parameters
    ----------
    game : NormalFormGame
    strategies : sequence of array_like
        The approximate profile (the starting point).
    supports : sequence of sequence of int, optional
        The supports; default: the actions with positive probability.
    tol : float, optional(default=1e-9)
        The polished profile is returned only when every player's regret, measured by
        :func:`~equilibria.solver.regret.certify` from the user's payoffs, is at most
        ``10 * tol`` times that player's own payoff range.
    max_iter : int, optional(default=50)

    Returns
    -------
    tuple of ndarray or None
        The certified profile, or None when the support equations have no
        non-negative solution near the start or the solution is not an equilibrium.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> bos = NormalFormGame.from_bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    >>> x = polish_on_support(bos, (np.array([0.6, 0.4]), np.array([0.3, 0.7])))
    >>> [s.round(12).tolist() for s in x]
    [[0.666666666667, 0.333333333333], [0.333333333333, 0.666666666667]]
    """
    profile = [np.array(s, dtype=np.float64) for s in strategies]
    if len(profile) != game.n_players or any(
        p.shape != (k,) for p, k in zip(profile, game.num_actions, strict=False)
    ):
        raise InvalidOptionError(
            "strategies",
            f"polish_on_support(): profile shapes {[p.shape for p in profile]} do not fit actions "
            f"{game.num_actions}",
        )
    if supports is None:
        supports = [np.flatnonzero(s > 0) for s in profile]
    support = [np.asarray(sorted(set(int(a) for a in s)), dtype=np.intp) for s in supports]
    if any(s.size == 0 for s in support):
        return None
    u = unit_payoffs(game.payoffs)
    n = game.n_players
    sizes = [s.size for s in support]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    total = int(offsets[-1])
    x = []
    for i in range(n):
        xi = np.zeros(game.num_actions[i])
        xi[support[i]] = np.clip(profile[i][support[i]], 0.0, None)
        xi = (
            xi / xi.sum()
            if xi.sum() > 0
            else np.where(np.isin(np.arange(xi.size), support[i]), 1.0 / sizes[i], 0.0)
        )
        x.append(xi)
    dev, _ = payoff_jets(u, x)
    z = np.concatenate(
        [xi[s] for xi, s in zip(x, support, strict=True)]
        + [np.array([d[s].max() for d, s in zip(dev, support, strict=True)])]
    )
    for _ in range(max_iter):
        x = []
        for i in range(n):
            xi = np.zeros(game.num_actions[i])
            xi[support[i]] = z[offsets[i] : offsets[i + 1]]
            x.append(xi)
        dev, cross = payoff_jets(u, x)
        r = np.empty(total + n)
        jac = np.zeros((total + n, total + n))
        for i in range(n):
            rows = slice(offsets[i], offsets[i + 1])
            r[rows] = dev[i][support[i]] - z[total + i]
            r[total + i] = z[rows].sum() - 1.0
            jac[rows, total + i] = -1.0
            jac[total + i, rows] = 1.0
            for j in range(n):
                if j != i:
                    jac[rows, offsets[j] : offsets[j + 1]] = cross[i][j][np.ix_(support[i], support[j])]
        dz = np.linalg.lstsq(jac, -r, rcond=None)[0]
        z = z + dz
        if float(np.abs(dz).max()) <= 1e-15 * (1.0 + float(np.abs(z).max())):
            break
    result = []
    for i in range(n):
        xi = np.zeros(game.num_actions[i])
        xi[support[i]] = z[offsets[i] : offsets[i + 1]]
        if not np.all(np.isfinite(xi)) or xi.min() < -1e-9:
            return None
        xi = np.clip(xi, 0.0, None)
        result.append(xi / xi.sum())
    cert = certify(game, result)
    if game.within_tolerance(cert.regrets, 10.0 * tol):
        return tuple(result)
    return None


# --------------------------------------------------------------------------- the tracing procedure


def uniform_prior(game: NormalFormGame) -> Profile:
    """The centroid prior: every player uniform over its actions.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> [p.tolist() for p in uniform_prior(NormalFormGame.from_bimatrix([[1, 2, 3]]))]
    [[1.0], [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]]
    """
    return tuple(np.full(k, 1.0 / k) for k in game.num_actions)


@dataclasses.dataclass(frozen=True, eq=False)
class TracingResult:
    """The end of a tracing path and how it was reached.

    Attributes
    ----------
    strategies : tuple of ndarray
        The certified equilibrium at ``t = 1``.
    nash_conv : float
        Its NashConv, measured from the user's payoffs.
    prior : tuple of ndarray
        The prior the path started from.
    start : tuple of ndarray
        The path's start at ``t = 0`` (the smoothed best response to the prior).
    bifurcations : tuple of float
        Values of ``t`` near which the path crossed a bifurcation point (empty for a
        generic game and prior); when not empty the selected equilibrium depends on
        which branch is taken, so it is not unique.
    steps : int
        Accepted path-following steps.
    eta : float
        The barrier weight used.
    """

    strategies: Profile
    nash_conv: float
    prior: Profile
    start: Profile
    bifurcations: tuple[float, ...]
    steps: int
    eta: float


def _validated_prior(game: NormalFormGame, prior: Sequence[npt.ArrayLike] | None, caller: str) -> Profile:
    if prior is None:
        return uniform_prior(game)
    try:
        profile = tuple(np.array(p, dtype=np.float64) for p in prior)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(
            "prior", f"{caller}(): prior is not a sequence of numeric vectors ({exc})"
        ) from exc
    if len(profile) != game.n_players or any(
        p.shape != (k,) for p, k in zip(profile, game.num_actions, strict=False)
    ):
        raise InvalidOptionError(
            "prior",
            f"{caller}(): prior shapes {[p.shape for p in profile]} do not fit actions {game.num_actions}",
        )
    for i, p in enumerate(profile):
        if not np.all(np.isfinite(p)) or p.min() < 0.0 or abs(p.sum() - 1.0) > 1e-9:
            raise InvalidOptionError(
                "prior", f"{caller}(): prior of player {i} is not a probability vector: {p.tolist()}"
            )
    return tuple(p / p.sum() for p in profile)


def _start_point(payoffs: FloatArray, prior: Profile, eta: float) -> tuple[FloatArray, FloatArray]:
    """The unique solution at t = 0: x_i(a) = eta / (lambda_i - c_i(a)) summing to one."""
    dev, _ = payoff_jets(payoffs, prior, derivatives=False)
    xs, lams = [], []
    for c in dev:
        top = float(c.max())

        def excess(lam: float, c: FloatArray = c) -> float:
            return float(np.sum(eta / (lam - c))) - 1.0

        if c.size == 1:
            xs.append(np.ones(1))
            lams.append(top + eta)
            continue
        low, high = top + eta, top + c.size * eta
        lam = (
            high if excess(high) >= 0.0 else scipy.optimize.brentq(excess, low, high, xtol=1e-16, rtol=1e-15)
        )
        x = eta / (lam - c)
        xs.append(x / x.sum())
        lams.append(lam)
    return np.concatenate(xs), np.array(lams)


def trace(
    game: NormalFormGame,
    prior: Sequence[npt.ArrayLike] | None = None,
    *,
    tol: float = 1e-9,
    eta: float = DEFAULT_ETA,
    max_steps: int = 20_000,
) -> TracingResult:
    """Follow the tracing path from ``prior`` and report how it ended.

    Same computation as :func:`linear_tracing`, with the path's diagnostics
    (bifurcations, steps, the start point) in a :class:`TracingResult`.

    Parameters
    ----------
    game, prior, tol, eta, max_steps
        As for :func:`linear_tracing`.

    Returns
    -------
    TracingResult

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    >>> result = trace(pd)
    >>> [s.round(9).tolist() for s in result.strategies], result.bifurcations
    ([[0.0, 1.0], [0.0, 1.0]], ())
    """
    return _checked_trace("trace", game, prior, tol, eta, max_steps)


def _checked_trace(
    caller: str,
    game: NormalFormGame,
    prior: Sequence[npt.ArrayLike] | None,
    tol: float,
    eta: float,
    max_steps: int,
) -> TracingResult:
    """Check the inputs of ``caller`` (naming it in every error) and follow the path."""
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError("game", f"{caller}(): expected a NormalFormGame, got {type(game).__name__}")
    check_tolerance(tol, caller)
    if not (0.0 < eta <= 1.0):
        raise InvalidOptionError("eta", f"{caller}(): eta must be in (0, 1], got {eta}")
    if max_steps < 1:
        raise InvalidOptionError("max_steps", f"{caller}(): max_steps must be >= 1, got {max_steps}")
    check_path_size(game, caller)
    p = _validated_prior(game, prior, caller)
    return _trace(game, p, tol, eta, max_steps, caller)


def linear_tracing(
    game: NormalFormGame,
    prior: Sequence[npt.ArrayLike] | None = None,
    *,
    tol: float = 1e-9,
    eta: float = DEFAULT_ETA,
    max_steps: int = 20_000,
) -> Profile:
    """The equilibrium selected by the Harsanyi-Selten tracing procedure from a prior.

    Parameters
    ----------
    game : NormalFormGame
        Any number of players.
    prior : sequence of array_like, optional
        One probability vector per player; default: uniform (the centroid).
    tol : float, optional(default=1e-9)
        Certification tolerance: in the returned profile every player's regret is at
        most ``10 * tol`` times that player's own payoff range.
    eta : float, optional(default=1e-4)
        Barrier weight of the logarithmic tracing procedure, for payoffs rescaled per
        player to ``[0, 1]``; smaller follows the linear path more closely (and takes
        more steps).
    max_steps : int, optional(default=20_000)
        Largest number of path-following steps.

    Returns
    -------
    tuple of ndarray
        The certified equilibrium at the end of the path.

    Raises
    ------
    InvalidOptionError
        For a prior that is not a profile of probability vectors, or bad options.
    ProblemTooLargeError
        When the game exceeds :data:`MAX_PATH_UNKNOWNS` or :data:`MAX_JOINT_ACTIONS`.
    UnsupportedError
        When path following fails (stalls, runs out of steps) or the end point cannot
        be certified as an equilibrium, and when the path crosses a bifurcation (the
        selected equilibrium is then not unique; :func:`trace` reports it instead).

    Notes
    -----
    In a 2 x 2 game with two strict equilibria ``U`` and ``V``, let ``L_i(U)`` and
    ``L_i(V)`` be player ``i``'s deviation losses, so that player ``i`` prefers its
    ``U``-action when the other plays its ``U``-action with probability above
    ``q_i = L_i(V) / (L_i(U) + L_i(V))``. From Harsanyi and Selten's bicentric prior
    (player ``j`` plays ``U`` with probability ``1 - q_j``, the chance that ``U`` is its
    best reply to a uniformly random mixture of the other) both players' best replies
    at ``t = 0`` are the risk-dominant equilibrium, which then stays an equilibrium of
    every ``t``-game. From the uniform prior, when the best replies point to different
    equilibria (say row to ``U``, column to ``V``), the row player switches at
    ``t = 1 - 2 q_row`` and the column player at ``t = 2 q_col - 1``; the column player
    switches first exactly when ``q_row + q_col < 1``, i.e. when
    ``L_row(U) L_col(U) > L_row(V) L_col(V)``. So both priors select the risk-dominant
    equilibrium.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> g = NormalFormGame.from_bimatrix([[9, 0], [8, 7]], [[9, 8], [0, 7]])
    >>> [s.round(9).tolist() for s in linear_tracing(g)]
    [[0.0, 1.0], [0.0, 1.0]]
    >>> [s.round(9).tolist() for s in linear_tracing(g, prior=([0.9, 0.1], [0.9, 0.1]))]
    [[1.0, 0.0], [1.0, 0.0]]

    References
    ----------
    .. [1] Harsanyi & Selten (1988), ch. 4; Herings & Peeters (2001): see the module.
    """
    result = _checked_trace("linear_tracing", game, prior, tol, eta, max_steps)
    if result.bifurcations:
        raise UnsupportedError(
            "game",
            "linear_tracing(): the tracing path crosses a bifurcation near t = "
            + ", ".join(f"{t:.4g}" for t in result.bifurcations)
            + " (a non-generic game or prior, e.g. a symmetric one); the selected equilibrium is not unique",
        )
    return result.strategies


class _TracingSystem:
    """The first-order conditions of the logarithmic tracing procedure in ``z = (x, lambda, t)``.

    Payoffs are rescaled per player to ``[0, 1]``; for every action ``a`` of player ``i``,
    ``x_i(a) * slack_i(a) = (1 - t) * eta`` with ``slack_i(a) = lambda_i - t u_i(a, x_{-i})
    - (1 - t) u_i(a, p_{-i})``, and every ``x_i`` sums to one.
    """

    def __init__(self, game: NormalFormGame, prior: Profile, eta: float) -> None:
        self.u = u = unit_payoffs(game.payoffs)
        self.n = n = game.n_players
        sizes = list(game.num_actions)
        self.offsets = offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.total = total = int(offsets[-1])
        self.eta = eta
        c, _ = payoff_jets(u, prior, derivatives=False)
        self.owner = owner = np.repeat(np.arange(n), sizes)  # the player of each action
        self.diagonal = diagonal = np.arange(total)
        self.c_all = np.concatenate(c)
        self.template = np.zeros((total + n, total + n + 1))
        self.template[total + owner, diagonal] = 1.0
        self.blocks = [
            (i, j, slice(offsets[i], offsets[i + 1]), slice(offsets[j], offsets[j + 1]))
            for i in range(n)
            for j in range(n)
            if i != j
        ]

    def split(self, z: FloatArray) -> list[FloatArray]:
        return [z[self.offsets[i] : self.offsets[i + 1]] for i in range(self.n)]

    def slacks(self, z: FloatArray) -> FloatArray:
        dev, _ = payoff_jets(self.u, self.split(z), derivatives=False)
        t = z[-1]
        return z[self.total + self.owner] - t * np.concatenate(dev) - (1.0 - t) * self.c_all

    def __call__(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        total, n, eta, owner, diagonal = self.total, self.n, self.eta, self.owner, self.diagonal
        x = z[:total]
        t = z[-1]
        dev, cross = payoff_jets(self.u, self.split(z))
        dev_all = np.concatenate(dev)
        slack = z[total + owner] - t * dev_all - (1.0 - t) * self.c_all
        r = np.empty(total + n)
        r[:total] = x * slack - (1.0 - t) * eta
        r[total:] = np.add.reduceat(x, self.offsets[:-1]) - 1.0
        jac = self.template.copy()
        jac[diagonal, diagonal] = slack
        for i, j, rows, cols in self.blocks:
            jac[rows, cols] = (-t * x[rows])[:, None] * cross[i][j]
        jac[diagonal, total + owner] = x
        jac[:total, -1] = eta - x * (dev_all - self.c_all)
        return r, jac

    def valid(self, z: FloatArray) -> bool:
        return bool(-1e-12 <= z[-1] <= 1.0 and z[: self.total].min() > 0.0 and self.slacks(z).min() > 0.0)


def _max_step(z: FloatArray, tangent: FloatArray) -> float:
    """Never jump past t = 1: approach it geometrically (at most 99% of the gap per step)."""
    if tangent[-1] <= 0.0:
        return math.inf
    return 0.99 * (1.0 - z[-1]) / tangent[-1]


def _end_point(game: NormalFormGame, system: _TracingSystem, z: FloatArray, tol: float) -> Profile | None:
    """The equilibrium a point near t = 1 is heading for: used actions have x > slack."""
    x, s = system.split(z), np.split(system.slacks(z), system.offsets[1:-1])
    candidates = [[np.flatnonzero(xi >= si) for xi, si in zip(x, s, strict=True)]]
    candidates += [[np.flatnonzero(xi >= theta * xi.max()) for xi in x] for theta in (1e-2, 1e-4)]
    for supports in candidates:
        polished = polish_on_support(game, x, supports, tol=tol)
        if polished is not None and max_abs_difference(polished, x) <= _END_NEAR:
            return polished
    return None


def _trace(
    game: NormalFormGame, prior: Profile, tol: float, eta: float, max_steps: int, caller: str
) -> TracingResult:
    system = _TracingSystem(game, prior, eta)
    x0, lam0 = _start_point(system.u, prior, eta)
    start = np.concatenate([x0, lam0, [0.0]])
    orient = np.zeros(system.total + system.n + 1)
    orient[-1] = 1.0
    bifurcations: list[float] = []
    gaps = list(_END_GAPS)
    steps = 0
    path = follow_path(
        system,
        start,
        orient,
        valid=system.valid,
        max_step=_max_step,
        step=0.05,
        max_steps=max_steps,
        caller=caller,
    )
    polished: Profile | None = None
    last = start
    try:
        for point in path:
            steps, last = point.steps, point.z
            if point.bifurcation:
                bifurcations.append(float(point.z[-1]))
            if 1.0 - point.z[-1] > gaps[0]:
                continue
            polished = _end_point(game, system, point.z, tol)
            if polished is not None:
                break
            gaps.pop(0)
            if not gaps:
                break
    except UnsupportedError:
        # Near a degenerate end point (an equilibrium where an unused action is also a
        # best reply) the path becomes singular as t -> 1 and the follower may stall:
        # the equilibrium it was heading for is still read off the last point.
        if 1.0 - last[-1] > _STALL_GAP:
            raise
        polished = _end_point(game, system, last, tol)
        if polished is None:
            raise
    if polished is None:
        raise UnsupportedError(
            "game",
            f"{caller}(): the tracing path reached t = 1 but its end point could not be certified "
            f"as an equilibrium (NashConv {certify(game, system.split(last)).nash_conv:.3g}); "
            "the game may be degenerate",
        )
    cert = certify(game, polished)
    return TracingResult(
        strategies=polished,
        nash_conv=cert.nash_conv,
        prior=prior,
        start=tuple(system.split(x0)),
        bifurcations=tuple(bifurcations),
        steps=steps,
        eta=eta,
    )
