"""One predictor-corrector path follower for the homotopy methods of the solver.

:func:`follow` traces the zero set of ``H : R^(N+1) -> R^N`` by arc length. It uses an Euler
predictor along the unit tangent and a (chord-)Newton corrector in the hyperplane orthogonal
to it (Keller's pseudo-arclength). Step lengths aim at a fixed corrector distance and tangent
turn, and the sign of the augmented Jacobian's determinant gives the path's orientation,
which flips where the path crosses a bifurcation. The logit and tracing paths of normal-form
games (:mod:`~equilibria.solver.concepts.logit`, :mod:`~equilibria.solver.concepts.tracing`)
and the stochastic homotopies (:mod:`equilibria.solver.stochastic.homotopy`) all use it, each
with its own :class:`FollowerSettings` and linear algebra (:class:`DenseSolve` or
:class:`LUFactor`). See docs/homotopy.md.

Examples
--------
The unit circle ``x^2 + y^2 = 1`` from ``(1, 0)``, counter-clockwise:

>>> import numpy as np
>>> circle = lambda z: (np.array([z @ z - 1.0]), 2.0 * z[None, :])
>>> path = follow_path(circle, np.array([1.0, 0.0]), np.array([0.0, 1.0]))
>>> point = next(p for p in path if p.z[1] < 0)  # past the half turn
>>> bool(abs(point.z @ point.z - 1.0) < 1e-9)
True

References
----------
.. [1] E. L. Allgower and K. Georg, *Numerical Continuation Methods: An Introduction*,
   Springer (1990), ch. 2, 6 and 8.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.errors import UnsupportedError

__all__ = [
    "NORMAL_FORM_FOLLOWER",
    "DenseSolve",
    "Factorisation",
    "FollowerSettings",
    "LUFactor",
    "PathPoint",
    "System",
    "augmented",
    "follow",
    "follow_path",
]

#: ``system(z, jacobian) -> (H(z), H'(z) or None)``: the residual, shape (N,), and (when
#: ``jacobian``) its Jacobian, shape (N, N + 1), a dense array or a scipy sparse matrix.
System = Callable[[FloatArray, bool], tuple[FloatArray, Any]]


# --------------------------------------------------------------------------- linear algebra


class Factorisation(Protocol):
    """A square matrix ready to solve with, and the sign of its determinant."""

    @property
    def sign(self) -> float:
        """Sign of the determinant: 1.0 or -1.0 (0.0 when the matrix is singular)."""
        ...

    def solve(self, rhs: FloatArray) -> FloatArray:
        """The solution ``x`` of ``matrix @ x = rhs``."""
        ...


class DenseSolve:
    """A dense square matrix solved by numpy's LAPACK driver at every solve.

    Nothing is factorised ahead: :meth:`solve` calls :func:`numpy.linalg.solve` (raising
    ``LinAlgError`` when the matrix is singular) and :attr:`sign` calls
    :func:`numpy.linalg.slogdet`.

    Parameters
    ----------
    matrix : ndarray, shape (m, m)
    """

    def __init__(self, matrix: FloatArray) -> None:
        self.matrix = matrix

    @property
    def sign(self) -> float:
        """Sign of the determinant; 0.0 when the matrix is singular or not finite."""
        if not np.all(np.isfinite(self.matrix)):
            return 0.0
        sign, _ = np.linalg.slogdet(self.matrix)
        return float(sign)

    def solve(self, rhs: FloatArray) -> FloatArray:
        """The solution ``x`` of ``matrix @ x = rhs``."""
        return np.linalg.solve(self.matrix, rhs)


class LUFactor:
    """LU factorisation of a square dense or sparse matrix, with the sign of its determinant.

    A dense array is factorised by LAPACK (:func:`scipy.linalg.lu_factor`), a sparse matrix
    by SuperLU (:func:`scipy.sparse.linalg.splu`).

    Parameters
    ----------
    matrix : ndarray or scipy sparse matrix, shape (m, m)

    Raises
    ------
    numpy.linalg.LinAlgError
        When the matrix is not finite, or (structurally or numerically) singular.

    Attributes
    ----------
    sign : float
        Sign of the determinant (1.0 or -1.0).
    pivot_ratio : float
        Smallest over largest absolute pivot: a cheap conditioning indicator.
    """

    def __init__(self, matrix: Any) -> None:
        if isinstance(matrix, np.ndarray):
            self._factor_dense(matrix)
        else:
            self._factor_sparse(matrix)

    def _factor_dense(self, matrix: FloatArray) -> None:
        if not np.all(np.isfinite(matrix)):
            raise np.linalg.LinAlgError("non-finite matrix")
        with warnings.catch_warnings():
            warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
            try:
                lu, piv = scipy.linalg.lu_factor(matrix, check_finite=False)
            except scipy.linalg.LinAlgWarning as exc:
                raise np.linalg.LinAlgError(str(exc)) from exc
        diag = np.diag(lu)
        if not np.all(np.isfinite(diag)) or np.any(diag == 0.0):
            raise np.linalg.LinAlgError("singular matrix")
        self.pivot_ratio = float(np.abs(diag).min() / np.abs(diag).max())
        swaps = int(np.count_nonzero(piv != np.arange(piv.size)))
        self.sign = float((-1) ** swaps * np.prod(np.sign(diag)))
        factors = (lu, piv)
        self._solve: Callable[[FloatArray], Any] = lambda rhs: scipy.linalg.lu_solve(
            factors, rhs, check_finite=False
        )

    def _factor_sparse(self, matrix: Any) -> None:
        csc = sp.csc_array(matrix)
        if not np.all(np.isfinite(csc.data)):
            raise np.linalg.LinAlgError("non-finite matrix")
        # SuperLU reports a structurally singular matrix only after a BLAS error message.
        if scipy.sparse.csgraph.structural_rank(sp.csr_matrix(csc)) < csc.shape[0]:
            raise np.linalg.LinAlgError("structurally singular matrix")
        try:
            lu = scipy.sparse.linalg.splu(csc)
        except RuntimeError as exc:
            raise np.linalg.LinAlgError(str(exc)) from exc
        diag = lu.U.diagonal()
        if not np.all(np.isfinite(diag)) or np.any(diag == 0.0):
            raise np.linalg.LinAlgError("singular matrix")
        self.pivot_ratio = float(np.abs(diag).min() / np.abs(diag).max())
        parity = _parity(lu.perm_r) + _parity(lu.perm_c)
        self.sign = float((-1) ** parity * np.prod(np.sign(diag)))
        self._solve = lu.solve

    def solve(self, rhs: FloatArray) -> FloatArray:
        """The solution ``x`` of ``matrix @ x = rhs``."""
        return np.asarray(self._solve(rhs), dtype=np.float64)


def _parity(perm: Int64Array) -> int:
    """Parity (0 or 1) of a permutation: its size minus its number of cycles, mod 2."""
    seen = np.zeros(perm.size, dtype=bool)
    cycles = 0
    for start in range(perm.size):
        if seen[start]:
            continue
        cycles += 1
        k = start
        while not seen[k]:
            seen[k] = True
            k = int(perm[k])
    return (perm.size - cycles) % 2


def augmented(jac: Any, row: FloatArray) -> Any:
    """``[jac; row]``: a dense array stays dense, a sparse matrix becomes CSC.

    Examples
    --------
    >>> import numpy as np
    >>> augmented(np.array([[1.0, 2.0]]), np.array([0.0, 1.0])).tolist()
    [[1.0, 2.0], [0.0, 1.0]]
    """
    if isinstance(jac, np.ndarray):
        return np.vstack([jac, row])
    return sp.vstack([jac, sp.csr_array(row[None, :])], format="csc")


def _finite(matrix: Any) -> bool:
    return bool(np.all(np.isfinite(matrix if isinstance(matrix, np.ndarray) else matrix.data)))


# --------------------------------------------------------------------------- settings


@dataclasses.dataclass(frozen=True)
class FollowerSettings:
    """The constants of one caller's path following and its linear algebra.

    Attributes
    ----------
    factorise : callable
        ``factorise(matrix) -> Factorisation``: :class:`DenseSolve` (numpy's driver at every
        solve) or :class:`LUFactor` (one LU factorisation, dense or sparse, per matrix).
    corrector : {"newton", "chord"}
        ``"newton"`` evaluates the Jacobian at every corrector iteration; ``"chord"``
        factorises ``[H'(p); tau^T]`` once at the prediction ``p`` and then evaluates
        residuals only (with floating-point warnings silenced: an overflow at a long
        prediction just fails the step).
    corrector_iterations : int
        Largest number of corrector iterations.
    fast_iterations : int
        A step whose corrector converged within this many iterations may grow the next
        step; a slower one halves it.
    min_cosine : float
        Smallest cosine between consecutive tangents of an accepted step.
    target_distance : float
        Corrector distance, relative to ``max(1, |z|_inf / 100)``, that the step length
        aims at.
    target_angle : float
        Tangent turn (radians) that the step length aims at.
    distance_norm : {"euclidean", "max"}
        Norm of the corrector distance in the step-length control.
    flip_step : float
        Longest step over which the orientation may flip (``inf``: any); a flip over a
        longer step is more likely a jump to another branch than a bifurcation.
    start : {"least_squares", "fixed_parameter"}
        How the start point is moved onto the path: minimum-norm Newton steps, or Newton
        steps with the homotopy parameter (the last unknown) held fixed.
    start_tol : float or None
        Tolerance of those Newton steps (None: ``tol``).
    start_iterations : int
        Their largest number.
    orientation : {"tangent", "orient"}
        The row under ``H'`` at the start whose determinant sign is the initial
        orientation: the initial tangent, or the ``orient`` vector.
    tol : float
        Corrector tolerance (relative to ``1 + |z|``).
    min_step : float
        Step length below which the follower gives up.
    max_growth : float
        Largest factor by which a step may grow.
    stall_hint : str
        Appended to the message of a stalled path.
    """

    factorise: Callable[[Any], Factorisation]
    corrector: Literal["newton", "chord"]
    corrector_iterations: int
    fast_iterations: int
    min_cosine: float
    target_distance: float
    target_angle: float
    distance_norm: Literal["euclidean", "max"]
    flip_step: float
    start: Literal["least_squares", "fixed_parameter"]
    start_tol: float | None
    start_iterations: int
    orientation: Literal["tangent", "orient"]
    tol: float
    min_step: float
    max_growth: float = 2.0
    stall_hint: str = ""


#: The normal-form logit and tracing paths: small dense systems, cautious steps (tangents
#: turning by at most about 8 degrees), a full Newton corrector.
NORMAL_FORM_FOLLOWER = FollowerSettings(
    factorise=DenseSolve,
    corrector="newton",
    corrector_iterations=8,
    fast_iterations=4,
    min_cosine=0.99,
    target_distance=1e-3,
    target_angle=0.05,
    distance_norm="euclidean",
    flip_step=math.inf,
    start="least_squares",
    start_tol=None,
    start_iterations=30,
    orientation="tangent",
    tol=1e-11,
    min_step=1e-13,
    stall_hint="; the game may be too degenerate for this homotopy",
)


#: How far above its tolerance a stalled start-point Newton iteration may end and still be
#: taken as converged to round-off (:func:`_newton_fixed_parameter`).
_ROUNDOFF_SLACK = 1e3

# --------------------------------------------------------------------------- the follower


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


@dataclasses.dataclass(frozen=True)
class _Step:
    """An accepted predictor-corrector step: the new point and what the step control needs."""

    z: FloatArray
    tangent: FloatArray
    sign: float
    cosine: float
    distance: float
    iterations: int


def follow(
    system: System,
    start: FloatArray,
    orient: FloatArray,
    settings: FollowerSettings,
    *,
    step: float,
    max_steps: int,
    valid: Callable[[FloatArray], bool] | None = None,
    max_step: Callable[[FloatArray, FloatArray], float] | None = None,
    deadline: float | None = None,
    caller: str = "follow_path",
) -> Iterator[PathPoint]:
    """Follow ``H(z) = 0`` by arc length from ``start`` in the direction of ``orient``.

    Each step predicts along the unit tangent ``tau``, corrects back onto the path in the
    hyperplane through the prediction orthogonal to ``tau`` (the square system
    ``[H'; tau^T] dz = [-H; 0]``), and accepts the new point when the corrector
    contracted, moved less than half the step, the point is ``valid``, the tangent turned
    by less than ``arccos(settings.min_cosine)`` and the orientation did not flip over a
    step longer than ``settings.flip_step``; otherwise the step is halved. The new
    tangent solves ``[H'(z); tau_old^T] w = e_last``, which orients it along the direction
    of travel, and the sign of that determinant is the path's orientation: it flips
    exactly when a (simple) bifurcation point was crossed. The next step length aims at
    a fixed corrector distance and tangent turn (Allgower & Georg 1990, sec. 6.1). The
    caller stops the iteration (``break``) when it has what it needs.

    Parameters
    ----------
    system : callable
        ``system(z, jacobian) -> (H(z), H'(z) or None)``, see :data:`System`.
    start : ndarray, shape (N + 1,)
        A point on (or very near) the path.
    orient : ndarray, shape (N + 1,)
        The initial direction of travel is the tangent with positive inner product with
        ``orient``.
    settings : FollowerSettings
        The caller's constants and linear algebra.
    step : float
        Initial step length.
    max_steps : int
        Largest number of accepted steps.
    valid : callable, optional
        ``valid(z) -> bool``: the domain of the path; an invalid corrected point halves
        the step.
    max_step : callable, optional
        ``max_step(z, tangent) -> float``: an upper bound on the next step length.
    deadline : float, optional
        A :func:`time.monotonic` time after which the follower stops.
    caller : str
        Name used in error messages.

    Yields
    ------
    PathPoint
        Every accepted point, in order.

    Raises
    ------
    UnsupportedError
        When the start is not on a regular path or the step length falls below
        ``settings.min_step`` (field ``"game"``), ``max_steps`` is exhausted (field
        ``"max_steps"``), or the deadline passes (field ``"time_limit"``).
    """
    z = _start(system, np.asarray(start, dtype=np.float64), settings, caller)
    last = np.zeros(z.size)
    last[-1] = 1.0
    tangent, sign = _initial_tangent(system, z, orient, settings, caller)
    h = step
    for k in range(1, max_steps + 1):
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise UnsupportedError("time_limit", f"{caller}(): the time limit ran out")
            if max_step is not None:
                h = min(h, max_step(z, tangent))
            if not h >= settings.min_step:
                raise UnsupportedError(
                    "game",
                    f"{caller}(): path following stalled after {k - 1} steps (step length below "
                    f"{settings.min_step:g}){settings.stall_hint}",
                )
            accepted = _step(system, z, tangent, sign, h, settings, valid, last)
            if accepted is not None:
                break
            h *= 0.5
        flipped = sign != 0.0 and accepted.sign != sign
        z, tangent, sign = accepted.z, accepted.tangent, accepted.sign
        yield PathPoint(z, tangent, flipped, k)
        h *= _growth(z, accepted, settings)
    raise UnsupportedError(
        "max_steps", f"{caller}(): the path did not end within max_steps={max_steps} steps"
    )


def _start(system: System, z: FloatArray, settings: FollowerSettings, caller: str) -> FloatArray:
    """Newton steps from ``z`` onto the path, as the settings say."""
    tol = settings.tol if settings.start_tol is None else settings.start_tol
    if settings.start == "least_squares":
        found = _newton_least_squares(system, z, tol, settings.start_iterations)
        message = "the start point is not on the path"
    else:
        found = _newton_fixed_parameter(system, z, tol, settings.start_iterations, settings.factorise)
        message = "Newton's method did not converge at the start of the path"
    if found is None:
        raise UnsupportedError("game", f"{caller}(): {message}")
    return found


def _newton_least_squares(system: System, z: FloatArray, tol: float, max_iter: int) -> FloatArray | None:
    """Minimum-norm Newton steps onto ``H = 0`` from a nearby point."""
    for _ in range(max_iter):
        r, jac = system(z, True)
        dz = np.linalg.lstsq(jac, -r, rcond=None)[0]
        z = z + dz
        if not np.all(np.isfinite(z)):
            return None
        if float(np.linalg.norm(dz)) <= tol * (1.0 + float(np.linalg.norm(z))):
            return z
    return None


def _newton_fixed_parameter(
    system: System, z: FloatArray, tol: float, max_iter: int, factorise: Callable[[Any], Factorisation]
) -> FloatArray | None:
    """Newton steps on ``H = 0`` with the homotopy parameter (the last unknown) held fixed.

    When ``max_iter`` steps end without meeting ``tol`` but the last step is within
    :data:`_ROUNDOFF_SLACK` times it, Newton has stalled at round-off (a one-ulp residual,
    amplified by an ill-conditioned system such as a discount near 1, keeps giving the
    same tiny step) and ``z`` is accepted: the path's end points are certified anyway.
    """
    last = np.zeros(z.size)
    last[-1] = 1.0
    step = math.inf
    for _ in range(max_iter):
        r, jac = system(z, True)
        try:
            dz = factorise(augmented(jac, last)).solve(np.concatenate([-r, [0.0]]))
        except np.linalg.LinAlgError:
            return None
        z = z + dz
        if not np.all(np.isfinite(z)):
            return None
        step = float(np.abs(dz).max()) / (1.0 + float(np.abs(z).max()))
        if step <= tol:
            return z
    return z if step <= _ROUNDOFF_SLACK * tol else None


def _initial_tangent(
    system: System, z: FloatArray, orient: FloatArray, settings: FollowerSettings, caller: str
) -> tuple[FloatArray, float]:
    """The unit tangent at ``z`` with a positive inner product with ``orient``, and the orientation."""
    last = np.zeros(z.size)
    last[-1] = 1.0
    jac = system(z, True)[1]
    try:
        factor = settings.factorise(augmented(jac, orient))
        w = factor.solve(last)
    except np.linalg.LinAlgError as exc:
        raise UnsupportedError("game", f"{caller}(): the path is singular at its start") from exc
    tangent = w / np.linalg.norm(w)
    if settings.orientation == "orient":
        return tangent, factor.sign
    try:
        return tangent, settings.factorise(augmented(jac, tangent)).sign
    except np.linalg.LinAlgError:
        return tangent, 0.0


def _step(
    system: System,
    z: FloatArray,
    tangent: FloatArray,
    sign: float,
    h: float,
    settings: FollowerSettings,
    valid: Callable[[FloatArray], bool] | None,
    last: FloatArray,
) -> _Step | None:
    """One predictor-corrector step of length ``h``; None when it is rejected."""
    predicted = z + h * tangent
    corrected = _correct(system, predicted, tangent, settings)
    if corrected is None:
        return None
    new_z, iterations = corrected
    offset = new_z - predicted
    if not (float(np.linalg.norm(offset)) <= 0.5 * h + settings.tol and (valid is None or valid(new_z))):
        return None
    jac = system(new_z, True)[1]
    try:  # the tangent at the corrected point
        factor = settings.factorise(augmented(jac, tangent))
        new_sign = factor.sign
    except np.linalg.LinAlgError:
        return None
    if new_sign == 0.0:
        return None
    w = factor.solve(last)
    new_tangent = w / np.linalg.norm(w)
    cosine = float(new_tangent @ tangent)
    flip_ok = new_sign == sign or h <= settings.flip_step
    if not (cosine >= settings.min_cosine and flip_ok):
        return None
    norm = np.linalg.norm(offset) if settings.distance_norm == "euclidean" else np.abs(offset).max()
    return _Step(new_z, new_tangent, new_sign, cosine, float(norm), iterations)


def _correct(
    system: System, z: FloatArray, tangent: FloatArray, settings: FollowerSettings
) -> tuple[FloatArray, int] | None:
    """Corrector steps in the hyperplane through ``z`` orthogonal to ``tangent``; None unless contracting."""
    chord: Factorisation | None = None
    if settings.corrector == "chord":
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                chord = settings.factorise(augmented(system(z, True)[1], tangent))
        except np.linalg.LinAlgError:
            return None
    tol = settings.tol
    previous = math.inf
    rhs = np.zeros(z.size)
    for k in range(settings.corrector_iterations):
        if chord is not None:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                r, _ = system(z, False)
            if not np.all(np.isfinite(r)):
                return None
            rhs[:-1] = -r
            dz = chord.solve(rhs)
        else:
            r, jac = system(z, True)
            if not (np.all(np.isfinite(r)) and _finite(jac)):
                return None
            rhs[:-1] = -r
            try:
                dz = settings.factorise(augmented(jac, tangent)).solve(rhs)
            except np.linalg.LinAlgError:
                return None
        size = float(np.linalg.norm(dz))
        if not np.isfinite(size) or (size > 0.5 * previous and size > tol):
            return None
        z = z + dz
        if size <= tol * (1.0 + float(np.linalg.norm(z))):
            return z, k + 1
        previous = size
    return None


def _growth(z: FloatArray, accepted: _Step, settings: FollowerSettings) -> float:
    """Factor for the next step length: aim at the target corrector distance and tangent turn."""
    if accepted.iterations > settings.fast_iterations:
        return 0.5
    angle = math.acos(min(1.0, accepted.cosine))
    factor = min(
        settings.max_growth,
        math.sqrt(
            settings.target_distance
            * max(1.0, float(np.abs(z).max()) / 100.0)
            / max(accepted.distance, 1e-300)
        ),
        settings.target_angle / max(angle, 1e-300),
    )
    return max(factor, 0.5)


def follow_path(
    system: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
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
    """Follow the zero set of a dense ``H : R^(N+1) -> R^N`` with :data:`NORMAL_FORM_FOLLOWER`.

    :func:`follow` with the normal-form settings, a system that always returns its
    Jacobian, and ``tol``, ``min_step`` and ``max_growth`` given here.

    Parameters
    ----------
    system : callable
        ``system(z) -> (H(z), H'(z))``: the residual, shape ``(N,)``, and its Jacobian,
        shape ``(N, N + 1)``.
    start, orient : ndarray, shape (N + 1,)
        As for :func:`follow`.
    valid, max_step : callable, optional
        As for :func:`follow`.
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
        As for :func:`follow` (never ``"time_limit"``).
    """
    settings = dataclasses.replace(NORMAL_FORM_FOLLOWER, tol=tol, min_step=min_step, max_growth=max_growth)
    return follow(
        lambda z, jacobian: system(z),
        start,
        orient,
        settings,
        step=step,
        max_steps=max_steps,
        valid=valid,
        max_step=max_step,
        caller=caller,
    )
