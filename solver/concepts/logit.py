"""The limit of the principal branch of the logit quantal response equilibrium (QRE).

In a logit QRE with precision ``lambda`` every player plays each action with probability
proportional to ``exp(lambda * expected payoff)``. From uniform play at ``lambda = 0`` the
principal branch of the QRE correspondence leads, for almost every game, to a Nash
equilibrium as ``lambda -> infinity``: the equilibrium the logit criterion selects
(McKelvey & Palfrey 1995; Turocy 2005). The branch is followed in log-probabilities with
the path follower of :mod:`~equilibria.solver.concepts.continuation`, and its limit is
polished on its support and certified. See docs/homotopy.md.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.concepts.logit import logit_limit_point
>>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
>>> [s.round(9).tolist() for s in logit_limit_point(stag_hunt)]
[[0.0, 1.0], [0.0, 1.0]]

References
----------
.. [1] R. D. McKelvey and T. R. Palfrey, "Quantal response equilibria for normal form
   games", Games and Economic Behavior 10 (1995) 6-38.
.. [2] T. L. Turocy, "A dynamic homotopy interpretation of the logistic quantal response
   equilibrium correspondence", Games and Economic Behavior 51 (2005) 243-263.
.. [3] E. L. Allgower and K. Georg, *Numerical Continuation Methods: An Introduction*,
   Springer (1990).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from equilibria.solver._typing import FloatArray, Profile
from equilibria.solver.concepts.continuation import follow_path
from equilibria.solver.concepts.tracing import check_path_size, payoff_jets, polish_on_support
from equilibria.solver.errors import InvalidOptionError, UnsupportedError, check_tolerance
from equilibria.solver.game import NormalFormGame, max_abs_difference
from equilibria.solver.regret import certify

__all__ = ["logit_path", "logit_limit_point", "LogitBranch", "DEFAULT_LAMBDA_MAX"]


#: Default largest ``lambda * payoff_scale`` followed before giving up.
DEFAULT_LAMBDA_MAX = 1e10
#: ``lambda * payoff_scale`` from which the limit's support is guessed and polished.
_POLISH_FROM = 1.0
#: Smallest ``lambda * payoff_scale`` at which a limit is accepted: a branch can sit on
#: an equilibrium for a while (uniform play in a symmetric game has zero regret for
#: every ``lambda``) and still bifurcate or turn away later.
_ACCEPT_FROM = 1e4
#: Relative probability thresholds tried, largest first, to read off the limit's support.
_SUPPORT_THRESHOLDS = (1e-2, 1e-4, 1e-6, 1e-9, 1e-12)
#: The polished limit must lie this close (max-norm) to the branch point it came from.
_NEAR = 1e-3
#: Polished limits at successive checks are the same within this max-norm distance.
_SAME = 1e-9
#: Largest regret (payoffs divided by the scale) of the last point of a stalled path for
#: which its polished limit is still accepted.
_STALL_REGRET = 1e-3
#: The branch is followed until its points are ``epsilon``-equilibria with this
#: ``epsilon`` (payoffs divided by the payoff scale), like Gambit's ``maxregret``.
_ACCEPT_REGRET = 1e-7


@dataclasses.dataclass(frozen=True, eq=False)
class LogitBranch:
    """Points of the principal logit QRE branch and its limit.

    Attributes
    ----------
    lambdas : ndarray, shape (k,)
        Precision of each point, in the user's payoff units (``lambda`` multiplies the
        user's payoffs). It starts at 0 and may decrease where the branch bends back.
    profiles : tuple of ndarray
        For each player an array of shape ``(k, a_i)``: the QRE at each point.
    limit : tuple of ndarray
        The certified Nash equilibrium the branch converges to.
    nash_conv : float
        NashConv of ``limit``, measured from the user's payoffs.
    bifurcations : tuple of float
        Precisions (user units) near which the branch crossed a bifurcation point;
        empty for a generic game. When not empty the limit depends on the branch
        taken and is not a well-defined selection.
    steps : int
        Accepted path-following steps.
    """

    lambdas: FloatArray
    profiles: tuple[FloatArray, ...]
    limit: Profile
    nash_conv: float
    bifurcations: tuple[float, ...]
    steps: int


def logit_path(
    game: NormalFormGame,
    *,
    lambda_max: float = DEFAULT_LAMBDA_MAX,
    tol: float = 1e-9,
    max_steps: int = 20_000,
) -> LogitBranch:
    """Follow the principal branch of the logit QRE correspondence to its limit.

    Parameters
    ----------
    game : NormalFormGame
        Any number of players.
    lambda_max : float, optional(default=1e10)
        Largest precision followed, relative to the payoff scale
        (``lambda * game.payoff_scale``).
    tol : float, optional(default=1e-9)
        Certification tolerance: at the limit every player's regret is at most
        ``10 * tol`` times that player's own payoff range.
    max_steps : int, optional(default=20_000)
        Largest number of path-following steps.

    Returns
    -------
    LogitBranch

    Raises
    ------
    InvalidOptionError
        For bad options.
    ProblemTooLargeError
        When the game exceeds the path-following size limits of
        :mod:`equilibria.solver.concepts.tracing`.
    UnsupportedError
        When path following fails or no certified limit is found by ``lambda_max``.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
    >>> branch = logit_path(pennies)
    >>> [s.round(9).tolist() for s in branch.limit], float(branch.lambdas[0])
    ([[0.5, 0.5], [0.5, 0.5]], 0.0)
    """
    caller = "logit_path"
    _validate(game, lambda_max, tol, max_steps, caller)
    return _follow(game, lambda_max, tol, max_steps, caller)


def logit_limit_point(
    game: NormalFormGame,
    *,
    lambda_max: float = DEFAULT_LAMBDA_MAX,
    tol: float = 1e-9,
    max_steps: int = 20_000,
    allow_bifurcation: bool = False,
) -> Profile:
    """The Nash equilibrium selected by the limit of the principal logit QRE branch.

    The selection criterion of a solution set by the same limit is
    :func:`equilibria.solver.concepts.selection.logit_limit`.

    Parameters
    ----------
    game : NormalFormGame
    lambda_max, tol, max_steps
        As for :func:`logit_path`.
    allow_bifurcation : bool, optional(default=False)
        Return the limit of the branch followed even when it crossed a bifurcation
        (a non-generic game); by default that raises.

    Returns
    -------
    tuple of ndarray
        The certified limit equilibrium.

    Raises
    ------
    UnsupportedError
        As for :func:`logit_path`, and when the branch bifurcates (the limit is then
        not unique) unless ``allow_bifurcation``.

    Examples
    --------
    >>> from equilibria.solver import NormalFormGame
    >>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    >>> [s.round(9).tolist() for s in logit_limit_point(pd)]
    [[0.0, 1.0], [0.0, 1.0]]
    """
    caller = "logit_limit_point"
    _validate(game, lambda_max, tol, max_steps, caller)
    branch = _follow(game, lambda_max, tol, max_steps, caller)
    if branch.bifurcations and not allow_bifurcation:
        raise UnsupportedError(
            "game",
            f"{caller}(): the principal branch crosses a bifurcation near lambda = "
            + ", ".join(f"{lam:.4g}" for lam in branch.bifurcations)
            + " (a non-generic game, e.g. a symmetric one); its limit is not unique",
        )
    return branch.limit


def _validate(game: NormalFormGame, lambda_max: float, tol: float, max_steps: int, caller: str) -> None:
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError("game", f"{caller}(): expected a NormalFormGame, got {type(game).__name__}")
    check_tolerance(tol, caller)
    if not (_ACCEPT_FROM <= lambda_max <= 1e12):
        raise InvalidOptionError(
            "lambda_max", f"{caller}(): lambda_max must be in [{_ACCEPT_FROM:g}, 1e12], got {lambda_max}"
        )
    if max_steps < 1:
        raise InvalidOptionError("max_steps", f"{caller}(): max_steps must be >= 1, got {max_steps}")
    check_path_size(game, caller)


def _candidate(game: NormalFormGame, x: list[FloatArray], tol: float) -> Profile | None:
    """A certified equilibrium on the support the QRE ``x`` is concentrating on, or None."""
    tried: set[tuple[tuple[int, ...], ...]] = set()
    for theta in _SUPPORT_THRESHOLDS:
        supports = tuple(tuple(int(a) for a in np.flatnonzero(xi >= theta * xi.max())) for xi in x)
        if supports in tried:
            continue
        tried.add(supports)
        polished = polish_on_support(game, x, supports, tol=tol)
        if polished is not None:
            return polished
    return None


def _max_regret(payoffs: FloatArray, x: list[FloatArray]) -> float:
    dev, _ = payoff_jets(payoffs, x, derivatives=False)
    return max(float(d.max() - d @ xi) for d, xi in zip(dev, x, strict=True))


class _LogitSystem:
    """The principal-branch equations in ``z = (y, lambda)`` with ``y = log x``.

    For every action ``a`` of player ``i`` other than its first,
    ``y_i(a) - y_i(0) = lambda (u_i(a, x_{-i}) - u_i(0, x_{-i}))``, and
    ``sum_a exp(y_i(a)) = 1``; payoffs are shifted per player and divided by the game's
    payoff scale.
    """

    def __init__(self, game: NormalFormGame) -> None:
        self.n = n = game.n_players
        flat = game.payoffs.reshape(n, -1)
        self.u = (game.payoffs - flat.min(axis=1).reshape((-1,) + (1,) * n)) / game.payoff_scale
        self.sizes = sizes = list(game.num_actions)
        self.offsets = offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.total = total = int(offsets[-1])
        owner = np.repeat(np.arange(n), sizes)
        self.ref = ref = offsets[:-1][owner]  # each action's reference action (its player's first)
        is_ref = np.zeros(total, dtype=bool)
        is_ref[offsets[:-1]] = True
        self.rows = rows = np.flatnonzero(~is_ref)
        self.blocks = [
            (i, j, slice(offsets[i], offsets[i + 1]), slice(offsets[j], offsets[j + 1]))
            for i in range(n)
            for j in range(n)
            if i != j
        ]
        self.template = np.zeros((total, total + 1))
        self.template[rows, rows] = 1.0
        self.template[rows, ref[rows]] = -1.0

    def split(self, v: FloatArray) -> list[FloatArray]:
        return [v[self.offsets[i] : self.offsets[i + 1]] for i in range(self.n)]

    def __call__(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        # A long predictor step can overshoot to y > 0 (exp overflows): the corrector
        # then sees a non-finite residual and the step is halved.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._system(z)

    def _system(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        total, offsets, rows, ref = self.total, self.offsets, self.rows, self.ref
        y, lam = z[:total], z[-1]
        x = np.exp(y)
        dev, cross = payoff_jets(self.u, self.split(x))
        dev_all = np.concatenate(dev)
        r = np.empty(total)
        r[rows] = y[rows] - y[ref[rows]] - lam * (dev_all[rows] - dev_all[ref[rows]])
        r[offsets[:-1]] = np.add.reduceat(x, offsets[:-1]) - 1.0
        jac = self.template.copy()
        for i, j, own, cols in self.blocks:
            block = cross[i][j]
            jac[own, cols] = -lam * (block - block[0]) * x[cols]
        jac[offsets[:-1]] = 0.0
        for i in range(self.n):
            jac[offsets[i], offsets[i] : offsets[i + 1]] = x[offsets[i] : offsets[i + 1]]
        jac[:, -1] = -(dev_all - dev_all[ref])
        jac[offsets[:-1], -1] = 0.0
        return r, jac


def _follow(game: NormalFormGame, lambda_max: float, tol: float, max_steps: int, caller: str) -> LogitBranch:
    system = _LogitSystem(game)
    total, u, split, scale = system.total, system.u, system.split, game.payoff_scale
    start = np.concatenate([np.full(k, -np.log(k)) for k in system.sizes] + [np.zeros(1)])
    orient = np.zeros(total + 1)
    orient[-1] = 1.0
    lambdas = [0.0]
    points = [np.exp(start[:total])]
    bifurcations: list[float] = []
    last_attempt = 0.0
    limit: Profile | None = None
    previous: Profile | None = None
    path = follow_path(
        system,
        start,
        orient,
        valid=lambda z: bool(z[-1] >= -1e-9),
        step=0.1,
        max_steps=max_steps,
        tol=1e-12,
        caller=caller,
    )
    steps = 0
    x = split(points[0])
    try:
        for point in path:
            steps = point.steps
            lam = float(point.z[-1])
            x = split(np.exp(point.z[:total]))
            lambdas.append(lam)
            points.append(np.exp(point.z[:total]))
            if point.bifurcation:
                bifurcations.append(lam)
            final = lam >= lambda_max
            if lam < _POLISH_FROM or (lam < 1.25 * last_attempt and not final):
                continue
            last_attempt = lam
            if final or (lam >= _ACCEPT_FROM and _max_regret(u, x) <= _ACCEPT_REGRET):
                limit = _candidate(game, x, tol)
                near = limit is not None and max_abs_difference(x, limit) <= _NEAR
                # Accept once the polished limit stops moving (at once for a regular
                # equilibrium; a point of a continuum moves with the branch, O(1/lambda)).
                if near and (
                    final or (previous is not None and max_abs_difference(limit, previous) <= _SAME)
                ):
                    break
                previous = limit if near else None
                if final:
                    raise UnsupportedError(
                        "lambda_max",
                        f"{caller}(): the principal branch did not converge to a certified equilibrium by "
                        f"lambda * payoff_scale = {lambda_max:g} (the game may be degenerate)",
                    )
                limit = None
    except UnsupportedError as exc:
        # A stalled follower deep in the limit (tiny probabilities underflow) still ends
        # at a usable point: accept it when it is nearly an equilibrium and certifies.
        if exc.field == "lambda_max" or _max_regret(u, x) > _STALL_REGRET:
            raise
        limit = _candidate(game, x, tol)
        if limit is None or max_abs_difference(x, limit) > _NEAR:
            raise
    if limit is None:  # unreachable: follow_path raises when its steps run out
        raise UnsupportedError("max_steps", f"{caller}(): no limit within max_steps={max_steps} steps")
    cert = certify(game, limit)
    stacked = np.array(points)
    return LogitBranch(
        lambdas=np.array(lambdas) / scale,
        profiles=tuple(stacked[:, system.offsets[i] : system.offsets[i + 1]] for i in range(system.n)),
        limit=limit,
        nash_conv=cert.nash_conv,
        bifurcations=tuple(b / scale for b in bifurcations),
        steps=steps,
    )
