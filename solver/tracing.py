"""The Harsanyi-Selten tracing procedure, followed as a smooth logarithmic homotopy.

Given a *prior* ``p`` (one mixed strategy per player: what every player initially
expects the others to do), the **linear tracing procedure** of Harsanyi and Selten
deforms a game into itself. For ``t`` in ``[0, 1]`` player ``i`` faces

.. math::

    u_i^t(x_i, x_{-i}) = t\\, u_i(x_i, x_{-i}) + (1 - t)\\, u_i(x_i, p_{-i}),

i.e. believes the others play ``x_{-i}`` with probability ``t`` and the prior with
probability ``1 - t``. At ``t = 0`` the unique equilibrium (for a generic prior) is
every player's best response to the prior; at ``t = 1`` the game is the original one.
For almost every game and prior, the equilibria of the ``t``-games contain a unique
path from ``t = 0`` to ``t = 1`` (it may bend back in ``t``), and its end point is the
equilibrium the procedure selects (Harsanyi & Selten 1988, ch. 4; Schanuel, Simon &
Zame 1991).

That path is only piecewise smooth (it kinks wherever a support changes). It is
followed here as the limit of the **logarithmic tracing procedure** (Harsanyi 1975;
Herings & Peeters 2001): player ``i`` maximises
:math:`u_i^t(x_i, x_{-i}) + (1 - t)\\, \\eta \\sum_a \\log x_i(a)` over its simplex.
The barrier makes the ``t = 0`` problem strictly concave (a unique, interior start even
when the best response to the prior is tied) and the whole path smooth; for small
``\\eta`` it follows the linear path closely and ends at the same equilibrium. With
payoffs rescaled per player to ``[0, 1]`` (which does not change the linear tracing
procedure) the first-order conditions are, for every player ``i`` and action ``a``,

.. math::

    x_i(a)\\,\\bigl(\\lambda_i - v_i^t(a; x)\\bigr) = (1 - t)\\,\\eta, \\qquad
    \\sum_a x_i(a) = 1, \\qquad x_i(a) > 0,\\ \\lambda_i - v_i^t(a; x) > 0,

an interior-point (central-path-like) system in ``(x, \\lambda, t)`` with one degree of
freedom. :func:`follow_path` traces it by arc length (Euler predictor, Gauss-Newton
corrector, adaptive steps), so turning points in ``t`` are harmless. At ``t = 1`` the
barrier vanishes and the system is the complementarity system of a Nash equilibrium:
its support is read off (``x_i(a) > \\lambda_i - v_i(a)``), the profile is polished by
Newton's method on the support equations (:func:`polish_on_support`) and certified
with :func:`~equilibria.solver.regret.certify`. An uncertified end point raises.

The same follower detects **bifurcations**: the sign of ``det [H'(z); \\tau^T]`` flips
when the path crosses a simple bifurcation point (Allgower & Georg 1990, sec. 8.1),
which happens only in non-generic games, e.g. games with a symmetry (battle of the
sexes). The selected equilibrium is then not unique and :func:`linear_tracing` says so.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.tracing import linear_tracing
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
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt
import scipy.optimize
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, UnsupportedError
from equilibria.solver.game import NormalFormGame
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

FloatArray = npt.NDArray[np.float64]
Profile = tuple[FloatArray, ...]
#: ``system(z) -> (H(z), H'(z))``: a residual of shape (N,) and its Jacobian, shape (N, N + 1).
System = Callable[[FloatArray], tuple[FloatArray, FloatArray]]

#: Largest number of unknowns (actions plus players plus one) a path may have: the
#: follower factorises a dense Jacobian of that size at every step.
MAX_PATH_UNKNOWNS = 600
#: Largest payoff tensor (joint actions) differentiated at every step.
MAX_JOINT_ACTIONS = 200_000
#: Default barrier weight of the logarithmic tracing procedure (payoffs in [0, 1]).
DEFAULT_ETA = 1e-4
#: Path following: smallest cosine between consecutive tangents of an accepted step, and
#: the corrector distance (relative to max(1, |z|_inf / 100)) and tangent turn (radians) the
#: step-length control aims at.
_MIN_COSINE, _TARGET_DISTANCE, _TARGET_ANGLE = 0.99, 1e-3, 0.05
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


def _per_player_unit(payoffs: FloatArray) -> FloatArray:
    """Each player's payoffs mapped affinely onto [0, 1] (zeros when constant)."""
    flat = payoffs.reshape(payoffs.shape[0], -1)
    low = flat.min(axis=1)
    span = np.ptp(flat, axis=1)
    scale = np.where(span > 0.0, span, 1.0)
    shape = (-1,) + (1,) * (payoffs.ndim - 1)
    out = (payoffs - low.reshape(shape)) / scale.reshape(shape)
    return np.where(span.reshape(shape) > 0.0, out, 0.0)


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


# --------------------------------------------------------------------------- path following


@dataclasses.dataclass(frozen=True)
class PathPoint:
    """One accepted point of a followed path.

    Attributes
    ----------
    z : ndarray
        The point (unknowns and the homotopy parameter).
    tangent : ndarray
        Unit tangent, oriented along the direction of travel.
    bifurcation : bool
        Whether the orientation ``sign det [H'(z); tangent]`` flipped since the previous
        point: the path crossed a bifurcation point in between.
    steps : int
        Number of accepted steps so far.
    """

    z: FloatArray
    tangent: FloatArray
    bifurcation: bool
    steps: int


def _augmented_sign(matrix: FloatArray) -> float:
    """Sign of the determinant of a square matrix (0.0 when singular or not finite)."""
    if not np.all(np.isfinite(matrix)):
        return 0.0
    sign, _ = np.linalg.slogdet(matrix)
    return float(sign)


def _newton_onto_path(system: System, z: FloatArray, tol: float, max_iter: int = 30) -> FloatArray | None:
    """Minimum-norm Newton steps onto ``H = 0`` from a nearby point (the start of a path)."""
    for _ in range(max_iter):
        r, jac = system(z)
        dz = np.linalg.lstsq(jac, -r, rcond=None)[0]
        z = z + dz
        if not np.all(np.isfinite(z)):
            return None
        if float(np.linalg.norm(dz)) <= tol * (1.0 + float(np.linalg.norm(z))):
            return z
    return None


def follow_path(
    system: System,
    start: FloatArray,
    orient: FloatArray,
    *,
    valid: Callable[[FloatArray], bool] | None = None,
    max_step: Callable[[FloatArray, FloatArray], float] | None = None,
    step: float = 0.02,
    min_step: float = 1e-13,
    max_growth: float = 2.0,
    max_steps: int = 20_000,
    tol: float = 1e-11,
    caller: str = "follow_path",
) -> Iterator[PathPoint]:
    """Follow the zero set of ``H : R^(N+1) -> R^N`` by arc length (predictor-corrector).

    Each step predicts along the unit tangent ``tau`` (the null vector of ``H'``),
    corrects back onto the path by Newton steps in the hyperplane through the
    prediction orthogonal to ``tau`` (Keller's pseudo-arclength corrector: the square
    system ``[H'; tau^T] dz = [-H; 0]``), and accepts the new point when the corrector
    contracted, moved less than half the step, the point is ``valid``, and the tangent
    turned by less than about 18 degrees; otherwise the step is halved. The new tangent
    solves ``[H'(z); tau_old^T] w = e_last``, which orients it along the direction of
    travel, and the sign of that determinant is the path's orientation: it flips
    exactly when a (simple) bifurcation point was crossed. The next step length aims
    at a fixed corrector distance and tangent turn, growing by at most ``max_growth``.
    The caller stops the iteration (``break``) when it has what it needs.

    Parameters
    ----------
    system : callable
        ``system(z) -> (H(z), H'(z))``: the residual, shape ``(N,)``, and its Jacobian,
        shape ``(N, N + 1)``.
    start : ndarray, shape (N + 1,)
        A point on (or very near) the path.
    orient : ndarray, shape (N + 1,)
        The initial direction of travel is the tangent with positive inner product
        with ``orient``.
    valid : callable, optional
        ``valid(z) -> bool``: the domain of the path (e.g. positivity); an invalid
        corrected point halves the step.
    max_step : callable, optional
        ``max_step(z, tangent) -> float``: an upper bound on the next step length.
    step, min_step, max_growth : float
        Initial step length, the length below which the follower gives up, and the
        largest factor by which a step may grow.
    max_steps : int
        Largest number of accepted steps.
    tol : float
        Corrector tolerance (relative to ``1 + |z|``).
    caller : str
        Name used in error messages.

    Yields
    ------
    PathPoint
        Every accepted point, in order.

    Raises
    ------
    UnsupportedError
        When the start is not on a regular path, the step length falls below
        ``min_step`` (field ``"game"``), or ``max_steps`` is exhausted (field
        ``"max_steps"``).

    Examples
    --------
    The unit circle ``x^2 + y^2 = 1`` from ``(1, 0)``, counter-clockwise:

    >>> import numpy as np
    >>> circle = lambda z: (np.array([z @ z - 1.0]), 2.0 * z[None, :])
    >>> path = follow_path(circle, np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    >>> point = next(p for p in path if p.z[1] < 0)  # past the half turn
    >>> bool(abs(point.z @ point.z - 1.0) < 1e-9)
    True
    """
    z = _newton_onto_path(system, np.asarray(start, dtype=np.float64), tol)
    if z is None:
        raise UnsupportedError("game", f"{caller}(): the start point is not on the path")
    last = np.zeros(z.size)
    last[-1] = 1.0
    _, jac = system(z)
    try:
        w = np.linalg.solve(np.vstack([jac, orient]), last)
    except np.linalg.LinAlgError as exc:
        raise UnsupportedError("game", f"{caller}(): the path is singular at its start") from exc
    tangent = w / np.linalg.norm(w)
    sign = _augmented_sign(np.vstack([jac, tangent]))
    h = step
    for k in range(1, max_steps + 1):
        while True:
            if max_step is not None:
                h = min(h, max_step(z, tangent))
            if not h >= min_step:
                raise UnsupportedError(
                    "game",
                    f"{caller}(): path following stalled after {k - 1} steps (step length below "
                    f"{min_step:g}); the game may be too degenerate for this homotopy",
                )
            predicted = z + h * tangent
            corrected = _correct(system, predicted, tangent, tol)
            if (
                corrected is not None
                and float(np.linalg.norm(corrected[0] - predicted)) <= 0.5 * h + tol
                and (valid is None or valid(corrected[0]))
            ):
                new_z, iterations = corrected
                distance = float(np.linalg.norm(new_z - predicted))
                augmented = np.vstack([system(new_z)[1], tangent])
                new_sign = _augmented_sign(augmented)
                if new_sign != 0.0:
                    w = np.linalg.solve(augmented, last)
                    new_tangent = w / np.linalg.norm(w)
                    cosine = float(new_tangent @ tangent)
                    if cosine >= _MIN_COSINE:
                        break
            h *= 0.5
        flipped = sign != 0.0 and new_sign != sign
        z, tangent, sign = new_z, new_tangent, new_sign
        yield PathPoint(z, tangent, flipped, k)
        # Next step: aim at a corrector distance and a tangent turn of fixed size
        # (asymptotic step-length control, Allgower & Georg 1990, sec. 6.1).
        angle = math.acos(min(1.0, cosine))
        factor = min(
            max_growth,
            math.sqrt(_TARGET_DISTANCE * max(1.0, float(np.abs(z).max()) / 100.0) / max(distance, 1e-300)),
            _TARGET_ANGLE / max(angle, 1e-300),
        )
        h *= max(factor, 0.5) if iterations <= 4 else 0.5
    raise UnsupportedError(
        "max_steps", f"{caller}(): the path did not end within max_steps={max_steps} steps"
    )


def _correct(
    system: System,
    z: FloatArray,
    tangent: FloatArray,
    tol: float,
    max_iter: int = 8,
) -> tuple[FloatArray, int] | None:
    """Newton steps in the hyperplane through ``z`` orthogonal to ``tangent``; None unless contracting."""
    previous = math.inf
    rhs = np.zeros(z.size)
    for k in range(max_iter):
        r, jac = system(z)
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(jac))):
            return None
        rhs[:-1] = -r
        try:
            dz = np.linalg.solve(np.vstack([jac, tangent]), rhs)
        except np.linalg.LinAlgError:
            return None
        size = float(np.linalg.norm(dz))
        if size > 0.5 * previous and size > tol:
            return None
        z = z + dz
        if size <= tol * (1.0 + float(np.linalg.norm(z))):
            return z, k + 1
        previous = size
    return None


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
        The polished profile is returned only when its NashConv, measured by
        :func:`~equilibria.solver.regret.certify` from the user's payoffs, is at most
        ``10 * tol * game.payoff_scale``.
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
    u = _per_player_unit(game.payoffs)
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
    if cert.nash_conv <= 10.0 * tol * game.payoff_scale:
        return tuple(result)
    return None


# --------------------------------------------------------------------------- the tracing procedure


def _profile_distance(p: Sequence[FloatArray], q: Sequence[FloatArray]) -> float:
    return max(float(np.abs(a - b).max()) for a, b in zip(p, q, strict=True))


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
    caller = "linear_tracing"
    if not isinstance(game, NormalFormGame):
        raise InvalidOptionError("game", f"{caller}(): expected a NormalFormGame, got {type(game).__name__}")
    if not (0.0 < tol <= 1e-3):
        raise InvalidOptionError("tolerance", f"{caller}(): tol must be in (0, 1e-3], got {tol}")
    if not (0.0 < eta <= 1.0):
        raise InvalidOptionError("eta", f"{caller}(): eta must be in (0, 1], got {eta}")
    if max_steps < 1:
        raise InvalidOptionError("max_steps", f"{caller}(): max_steps must be >= 1, got {max_steps}")
    check_path_size(game, caller)
    p = _validated_prior(game, prior, caller)
    return _trace(game, p, tol, eta, max_steps)


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
        Certification tolerance: the returned profile has NashConv at most
        ``10 * tol * game.payoff_scale``.
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
    result = trace(game, prior, tol=tol, eta=eta, max_steps=max_steps)
    if result.bifurcations:
        raise UnsupportedError(
            "game",
            "linear_tracing(): the tracing path crosses a bifurcation near t = "
            + ", ".join(f"{t:.4g}" for t in result.bifurcations)
            + " (a non-generic game or prior, e.g. a symmetric one); the selected equilibrium is not unique",
        )
    return result.strategies


def _trace(game: NormalFormGame, prior: Profile, tol: float, eta: float, max_steps: int) -> TracingResult:
    u = _per_player_unit(game.payoffs)
    n = game.n_players
    sizes = list(game.num_actions)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    total = int(offsets[-1])
    c, _ = payoff_jets(u, prior, derivatives=False)

    owner = np.repeat(np.arange(n), sizes)  # the player of each action
    diagonal = np.arange(total)
    c_all = np.concatenate(c)
    template = np.zeros((total + n, total + n + 1))
    template[total + owner, diagonal] = 1.0
    blocks = [
        (i, j, slice(offsets[i], offsets[i + 1]), slice(offsets[j], offsets[j + 1]))
        for i in range(n)
        for j in range(n)
        if i != j
    ]

    def split(z: FloatArray) -> list[FloatArray]:
        return [z[offsets[i] : offsets[i + 1]] for i in range(n)]

    def slacks(z: FloatArray, dev: list[FloatArray] | None = None) -> FloatArray:
        if dev is None:
            dev, _ = payoff_jets(u, split(z), derivatives=False)
        t = z[-1]
        return z[total + owner] - t * np.concatenate(dev) - (1.0 - t) * c_all

    def system(z: FloatArray) -> tuple[FloatArray, FloatArray]:
        x = z[:total]
        t = z[-1]
        dev, cross = payoff_jets(u, split(z))
        dev_all = np.concatenate(dev)
        slack = z[total + owner] - t * dev_all - (1.0 - t) * c_all
        r = np.empty(total + n)
        r[:total] = x * slack - (1.0 - t) * eta
        r[total:] = np.add.reduceat(x, offsets[:-1]) - 1.0
        jac = template.copy()
        jac[diagonal, diagonal] = slack
        for i, j, rows, cols in blocks:
            jac[rows, cols] = (-t * x[rows])[:, None] * cross[i][j]
        jac[diagonal, total + owner] = x
        jac[:total, -1] = eta - x * (dev_all - c_all)
        return r, jac

    def valid(z: FloatArray) -> bool:
        return bool(-1e-12 <= z[-1] <= 1.0 and z[:total].min() > 0.0 and slacks(z).min() > 0.0)

    def max_step(z: FloatArray, tangent: FloatArray) -> float:
        # Never jump past t = 1: approach it geometrically (at most 99% of the gap per step).
        if tangent[-1] <= 0.0:
            return math.inf
        return 0.99 * (1.0 - z[-1]) / tangent[-1]

    def end_point(z: FloatArray) -> Profile | None:
        """The equilibrium a point near t = 1 is heading for: used actions have x > slack."""
        x, s = split(z), np.split(slacks(z), offsets[1:-1])
        candidates = [[np.flatnonzero(xi >= si) for xi, si in zip(x, s, strict=True)]]
        candidates += [[np.flatnonzero(xi >= theta * xi.max()) for xi in x] for theta in (1e-2, 1e-4)]
        for supports in candidates:
            polished = polish_on_support(game, x, supports, tol=tol)
            if polished is not None and _profile_distance(polished, x) <= _END_NEAR:
                return polished
        return None

    x0, lam0 = _start_point(u, prior, eta)
    start = np.concatenate([x0, lam0, [0.0]])
    orient = np.zeros(total + n + 1)
    orient[-1] = 1.0
    bifurcations: list[float] = []
    gaps = list(_END_GAPS)
    steps = 0
    path = follow_path(
        system,
        start,
        orient,
        valid=valid,
        max_step=max_step,
        step=0.05,
        max_steps=max_steps,
        caller="linear_tracing",
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
            polished = end_point(point.z)
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
        polished = end_point(last)
        if polished is None:
            raise
    if polished is None:
        raise UnsupportedError(
            "game",
            "linear_tracing(): the tracing path reached t = 1 but its end point could not be certified "
            f"as an equilibrium (NashConv {certify(game, split(last)).nash_conv:.3g}); the game may be degenerate",
        )
    cert = certify(game, polished)
    return TracingResult(
        strategies=polished,
        nash_conv=cert.nash_conv,
        prior=prior,
        start=tuple(split(x0)),
        bifurcations=tuple(bifurcations),
        steps=steps,
        eta=eta,
    )
