"""Stationary equilibria of general-sum stochastic games by homotopy path following.

A stationary Markov perfect equilibrium (MPE) of a discounted stochastic game is a
profile :math:`\\sigma` such that in every state ``s`` every player's mixed action
:math:`\\sigma_i(\\cdot|s)` is a best reply in the stage game whose payoffs are

.. math::

    Q_i^\\sigma(s, a) = r_i(s, a) + \\gamma \\sum_{s'} P(s'|s, a)\\, V_i^\\sigma(s'),

with :math:`V^\\sigma` the *exact* values of :math:`\\sigma` (the solution of
:math:`V_i = r_{i,\\sigma} + \\gamma P_\\sigma V_i`). Equilibria exist but are in
general many, and no finite method lists them all; they are found here by following
smooth paths of solutions of perturbed games that end at equilibria (Herings &
Peeters 2004; Eibelshäuser & Poensgen 2019).

**Logit QRE homotopy** (:func:`qre_homotopy`). A stationary logit quantal response
equilibrium with precision :math:`\\lambda` solves
:math:`\\sigma_i(a|s) \\propto \\exp(\\lambda\\, Q_i^\\sigma(s, a))` with
:math:`Q^\\sigma` from the exact values. At :math:`\\lambda = 0` the unique solution
is uniform play; as :math:`\\lambda \\to \\infty` the principal branch converges to an
MPE (McKelvey & Palfrey 1995 for normal-form games; Eibelshäuser & Poensgen 2019 for
stochastic games). The unknowns are the log-probabilities :math:`\\beta = \\log
\\sigma`, the values ``V`` and :math:`\\lambda`; the equations, per state and player,
are :math:`\\beta_a - \\beta_0 = \\lambda (Q_a - Q_0)` for every action but the first,
:math:`\\sum_a e^{\\beta_a} = 1`, and :math:`V = \\sum_a \\sigma_a Q_a`.

**Logarithmic tracing homotopy** (:func:`tracing_homotopy`). From a prior
:math:`\\rho` (a stationary profile: what everyone initially expects), at
:math:`t \\in [0, 1]` player ``i`` faces, in every state, others who play
:math:`\\sigma_{-i}` with probability ``t`` and the prior :math:`\\rho_{-i}` otherwise
(rewards *and* transitions mix), and maximises its value plus the barrier
:math:`(1 - t)\\,\\eta \\sum_a \\log \\sigma_i(a|s)` per state. At ``t = 0`` the
players best respond (smoothly) to the prior: each solves its own regularised MDP,
whose solution is unique (the regularised Bellman operator is a contraction). At
``t = 1`` the barrier vanishes and the fixed point is an MPE. This is the stochastic
version of the Harsanyi-Selten tracing procedure (Herings & Peeters 2004; the
``LogTracing`` homotopy of sgamesolver). With ``V`` the value of the regularised
problem, the first-order conditions are, for every existing action ``a``,

.. math::

    Q^t_i(s, a) - V_i(s) + (1 - t)\\eta \\Bigl(\\frac{1}{\\sigma_i(a|s)}
    + \\sum_b (\\log \\sigma_i(b|s) - 1)\\Bigr) = 0, \\qquad \\sum_a \\sigma_i(a|s) = 1,

with :math:`Q^t = t\\, Q(\\sigma_{-i}, V) + (1 - t)\\, Q(\\rho_{-i}, V)`. Different
priors reach different equilibria.

**Path following.** Rewards are shifted per player and divided by the reward scale
(for the QRE this only reparametrises :math:`\\lambda`, which is reported in the user's
units). Both paths are followed by arc length with an Euler predictor along the unit
tangent, a chord-Newton corrector in the hyperplane orthogonal to it (Keller's
pseudo-arclength), and step lengths adapted to the corrector distance and the turn of
the tangent (Allgower & Georg 1990), so turning points in the homotopy parameter are
harmless. The Jacobian is assembled sparse (a state's equations only involve its own
actions and its successors' values) and factorised dense for small games and by
sparse LU beyond. The sign of the augmented Jacobian's determinant is the path's
orientation: it flips where the path crosses a bifurcation point (non-generic games),
and a step over which it flips is accepted only when short, since a long one more
likely jumped onto another branch.

**End points.** When the path is close to an equilibrium (the one-shot deviation
gap of its profile is small, or ``t`` is near 1), the supports are read off and the
profile is *polished* by Newton's method on the support equations (in every state,
the actions in a player's support have equal ``Q``, with ``Q`` from the exact values),
then certified with :func:`~equilibria.solver.markov_regret.certify_markov`: an end
point counts only when its largest state gap is at most
``tol * reward_scale / (1 - discount)``.

:func:`stationary_equilibria` runs the QRE homotopy and the tracing homotopy from
several priors and returns the distinct certified equilibria: a partial set.

Examples
--------
Repeated prisoner's dilemma (one state with a self-loop): its only stationary
equilibrium is defection.

>>> import numpy as np
>>> from equilibria.solver.stochastic_game import StochasticGame
>>> pd = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
>>> game = StochasticGame(pd[None], np.ones((1, 2, 2, 1)), discount=0.9)
>>> result = qre_homotopy(game)
>>> result.converged, [p.round(9).tolist() for p in result.policies]
(True, [[[0.0, 1.0]], [[0.0, 1.0]]])

References
----------
.. [1] R. D. McKelvey and T. R. Palfrey, "Quantal response equilibria for normal form
   games", Games and Economic Behavior 10 (1995) 6-38.
.. [2] P. J.-J. Herings and R. J. A. P. Peeters, "Stationary equilibria in stochastic
   games: structure, selection, and computation", Journal of Economic Theory 118
   (2004) 32-60.
.. [3] S. Eibelshäuser and D. Poensgen, "Markov quantal response equilibrium and a
   homotopy method for computing and selecting Markov perfect equilibria of dynamic
   stochastic games", working paper (2019); the sgamesolver package.
.. [4] J. C. Harsanyi and R. Selten, *A General Theory of Equilibrium Selection in
   Games*, MIT Press (1988), ch. 4.
.. [5] E. L. Allgower and K. Georg, *Numerical Continuation Methods: An Introduction*,
   Springer (1990).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg
from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
)
from equilibria.solver.markov_regret import MarkovCertificate, certified_equilibrium, certify_markov
from equilibria.solver.results import MarkovEquilibrium
from equilibria.solver.stochastic_game import StochasticGame, validate_policy

__all__ = [
    "HomotopyResult",
    "qre_homotopy",
    "tracing_homotopy",
    "stationary_equilibria",
    "random_prior",
    "MAX_UNKNOWNS",
    "DEFAULT_ETA",
    "DEFAULT_LAMBDA_MAX",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Policies = tuple[FloatArray, ...]
#: ``system(z, jacobian) -> (H(z), H'(z) or None)``: residual (N,) and Jacobian (N, N + 1), dense or sparse.
System = Callable[[FloatArray, bool], tuple[FloatArray, Any]]
#: Per player, against the prior: rewards (S, a_i), transitions (S*a_i, S) as CSR and as triplets.
_PriorTerms = tuple[FloatArray, sp.csr_array, tuple[IntArray, IntArray, FloatArray]]

#: Largest number of path unknowns (actions over states and players, plus values, plus one).
MAX_UNKNOWNS = 40_000
#: Default barrier weight of the logarithmic tracing homotopy (rewards scaled to [0, 1]).
DEFAULT_ETA = 0.1
#: Default largest ``lambda * reward_scale`` followed by the QRE homotopy.
DEFAULT_LAMBDA_MAX = 1e8
#: Systems up to this size are factorised dense (a singular support system is then solved
#: by least squares); larger ones by sparse LU (multithreaded dense LAPACK on small
#: systems is slow on a busy machine).
_DENSE_SIZE = 100
#: Step control (as in :func:`equilibria.solver.tracing.follow_path`, but bolder: with
#: the orientation check below no path jumps were seen on 400 seeded games): smallest
#: cosine between consecutive tangents, and the corrector distance (max-norm, relative to
#: ``max(1, |z|_inf / 100)``) and tangent turn (radians) aimed at.
_MIN_COSINE, _TARGET_DISTANCE, _TARGET_ANGLE = 0.9, 3e-2, 0.3
#: Longest step over which the path's orientation may flip (a bifurcation is crossed).
_FLIP_STEP = 1e-3
#: Largest ratio of successive chord-Newton corrections: a corrector that contracts less
#: is abandoned and the step halved.
_CHORD_RATIO = 0.5
#: Relative probability thresholds tried, largest first, to read off supports.
_SUPPORT_THRESHOLDS = (0.3, 1e-2, 1e-4, 1e-7)
#: A polished end point must lie this close (max-norm on probabilities) to the path point.
_NEAR = 0.1
#: Two polished QRE limits at successive checkpoints are the same within this distance.
_SAME = 1e-7
#: QRE: polishing is tried once the one-shot deviation gap of the path profile (rewards
#: scaled to [0, 1]) is below this, at precisions growing by ``_CHECK_GROWTH``.
_POLISH_GAP, _CHECK_GROWTH = 2e-2, 2.0
#: Tracing: values of ``1 - t`` at which the end point is polished.
_END_GAPS = (1e-3, 1e-5, 1e-7, 1e-9, 1e-11)
#: Magnitudes below this are flushed to zero (probabilities far out on the QRE branch
#: underflow towards subnormal numbers, on which floating-point arithmetic crawls).
_TINY = 1e-250
#: Profiles within this max-norm distance are the same equilibrium.
_DEDUP = 1e-6


# --------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True, eq=False)
class HomotopyResult:
    """The end of one homotopy path and how it was reached.

    Attributes
    ----------
    homotopy : str
        ``"qre"`` or ``"tracing"``.
    policies : tuple of ndarray
        Per player ``(S, a_i)``: the polished, certified equilibrium when ``converged``;
        otherwise the last point reached on the path.
    parameter : float
        The homotopy parameter reached: :math:`\\lambda` in the user's reward units
        (``lambda`` multiplies the user's rewards) for the QRE homotopy, ``t`` for
        tracing.
    steps : int
        Accepted path-following steps.
    converged : bool
        Whether ``policies`` is an equilibrium certified to the tolerance.
    reason : str
        How the path ended.
    max_state_gap : float
        Largest best-response gain over states and players of ``policies``, measured
        afresh by :func:`~equilibria.solver.markov_regret.certify_markov`.
    bifurcations : tuple of float
        Parameter values (as in ``parameter``) near which the path crossed a
        bifurcation point; empty for generic games.
    prior : tuple of ndarray or None
        The prior of a tracing path.
    """

    homotopy: str
    policies: Policies
    parameter: float
    steps: int
    converged: bool
    reason: str
    max_state_gap: float
    bifurcations: tuple[float, ...] = ()
    prior: Policies | None = None


class _PathEnd(Exception):
    """Path following stopped before the caller broke off (stall, steps, time)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# --------------------------------------------------------------------------- linear algebra


class _Factor:
    """LU factorisation of a square dense or sparse matrix, with the sign of its determinant."""

    def __init__(self, matrix: Any) -> None:
        if isinstance(matrix, np.ndarray):
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
        else:
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
        return np.asarray(self._solve(rhs), dtype=np.float64)


def _parity(perm: IntArray) -> int:
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


def _augmented(jac: Any, row: FloatArray) -> Any:
    if isinstance(jac, np.ndarray):
        return np.vstack([jac, row])
    return sp.vstack([jac, sp.csr_array(row[None, :])], format="csc")


class _Assembler:
    """Assembles a matrix of fixed sparsity pattern from blocks of entries, fast on repeat.

    A Jacobian is built by the same sequence of :meth:`add` calls at every point: the
    first sequence records each block's index pattern (negative indices mark entries to
    drop) and how duplicates sum; later ones only gather the values.
    """

    def __init__(self, shape: tuple[int, int], dense: bool) -> None:
        self.shape, self.dense = shape, dense
        self._blocks: list[tuple[tuple[int, ...], IntArray]] = []
        self._rows: list[IntArray] = []
        self._cols: list[IntArray] = []
        self._vals: list[FloatArray] = []
        self._count = 0
        self._recorded = False
        self._inverse: IntArray | None = None

    def add(self, rows: Any, cols: Any, vals: Any) -> None:
        k = self._count
        self._count += 1
        if not self._recorded:
            rows_b, cols_b = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
            shape = np.broadcast_shapes(rows_b.shape, np.shape(vals))
            rows_b, cols_b = np.broadcast_to(rows_b, shape), np.broadcast_to(cols_b, shape)
            keep = np.flatnonzero(((rows_b >= 0) & (cols_b >= 0)).reshape(-1))
            self._blocks.append((shape, keep))
            self._rows.append(rows_b.reshape(-1)[keep])
            self._cols.append(cols_b.reshape(-1)[keep])
        shape, keep = self._blocks[k]
        values = np.asarray(vals, dtype=np.float64)
        if values.shape != shape:
            values = np.broadcast_to(values, shape)
        self._vals.append(values.reshape(-1)[keep])

    def matrix(self) -> Any:
        if not self._recorded:
            rows, cols = np.concatenate(self._rows), np.concatenate(self._cols)
            linear = rows * self.shape[1] + cols
            self._unique, self._inverse = np.unique(linear, return_inverse=True)
            self._indices = self._unique % self.shape[1]
            self._indptr = np.searchsorted(self._unique, np.arange(self.shape[0] + 1) * self.shape[1])
            self._rows, self._cols = [], []
            self._recorded = True
        data = np.bincount(self._inverse, weights=np.concatenate(self._vals), minlength=self._unique.size)
        data[np.abs(data) < _TINY] = 0.0  # subnormal numbers slow LAPACK down a hundredfold
        self._vals = []
        self._count = 0
        if self.dense:
            out = np.zeros(self.shape[0] * self.shape[1])
            out[self._unique] = data
            return out.reshape(self.shape)
        return sp.csr_array((data, self._indices, self._indptr), shape=self.shape)


# --------------------------------------------------------------------------- path following


@dataclasses.dataclass(frozen=True)
class _Point:
    z: FloatArray
    tangent: FloatArray
    bifurcation: bool
    steps: int


def _check_time(deadline: float | None, caller: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise _PathEnd("time_limit", f"{caller}(): the time limit ran out")


def _newton_fixed(system: System, z: FloatArray, tol: float, max_iter: int = 40) -> FloatArray | None:
    """Newton steps on ``H = 0`` with the homotopy parameter held fixed (the start of a path)."""
    last = np.zeros(z.size)
    last[-1] = 1.0
    for _ in range(max_iter):
        r, jac = system(z, True)
        try:
            dz = _Factor(_augmented(jac, last)).solve(np.concatenate([-r, [0.0]]))
        except np.linalg.LinAlgError:
            return None
        z = z + dz
        if not np.all(np.isfinite(z)):
            return None
        if float(np.abs(dz).max()) <= tol * (1.0 + float(np.abs(z).max())):
            return z
    return None


def _correct(
    system: System, factor: _Factor, z: FloatArray, tol: float, max_iter: int = 15
) -> tuple[FloatArray, int] | None:
    """Chord-Newton steps from the prediction ``z`` with a fixed factorised ``[H'; tau^T]``.

    The steps stay in the hyperplane through ``z`` orthogonal to ``tau`` (any hyperplane
    transversal to the path will do); None unless every step contracts.
    """
    previous = math.inf
    rhs = np.zeros(z.size)
    for k in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            r, _ = system(z, False)
        if not np.all(np.isfinite(r)):
            return None
        rhs[:-1] = -r
        dz = factor.solve(rhs)
        size = float(np.linalg.norm(dz))
        if not np.isfinite(size) or (size > _CHORD_RATIO * previous and size > tol):
            return None
        z = z + dz
        if size <= tol * (1.0 + float(np.linalg.norm(z))):
            return z, k + 1
        previous = size
    return None


def _follow(
    system: System,
    start: FloatArray,
    orient: FloatArray,
    *,
    valid: Callable[[FloatArray], bool],
    max_step: Callable[[FloatArray, FloatArray], float] | None,
    step: float,
    max_steps: int,
    deadline: float | None,
    caller: str,
    tol: float = 1e-10,
    min_step: float = 1e-12,
    max_growth: float = 2.0,
) -> Iterator[_Point]:
    """Follow ``H(z) = 0`` by arc length from ``start`` in the direction of ``orient``.

    Euler predictor along the unit tangent ``tau``; chord-Newton corrector in the
    hyperplane orthogonal to ``tau`` with the Jacobian of the predicted point ``p``
    (one factorisation of ``[H'(p); tau^T]``). At the corrected point ``z``,
    ``[H'(z); tau^T] w = e_last`` gives the next tangent, oriented along the direction
    of travel, and the sign of that determinant is the path's orientation: it flips
    where the path crosses a bifurcation. A step is accepted when the corrector
    contracts, lands within half a step of the prediction at a ``valid`` point, the
    tangent turns by less than about 25 degrees, and the orientation is unchanged
    (or the step is shorter than ``_FLIP_STEP``: a flip over a long step is more likely
    a jump to another branch); otherwise it is halved. Step lengths
    aim at a fixed corrector distance and tangent turn (Allgower & Georg 1990, sec. 6.1),
    as in :func:`equilibria.solver.tracing.follow_path`. Raises :class:`_PathEnd` when
    it cannot go on (stall, steps, deadline).
    """
    z = _newton_fixed(system, np.asarray(start, dtype=np.float64), 1e-13)
    if z is None:
        raise _PathEnd("game", f"{caller}(): Newton's method did not converge at the start of the path")
    last = np.zeros(z.size)
    last[-1] = 1.0
    try:
        factor = _Factor(_augmented(system(z, True)[1], orient))
    except np.linalg.LinAlgError as exc:
        raise _PathEnd("game", f"{caller}(): the path is singular at its start") from exc
    w = factor.solve(last)
    tangent = w / np.linalg.norm(w)
    sign = factor.sign
    h = step
    for k in range(1, max_steps + 1):
        while True:
            _check_time(deadline, caller)
            if max_step is not None:
                h = min(h, max_step(z, tangent))
            if not h >= min_step:
                raise _PathEnd(
                    "game",
                    f"{caller}(): path following stalled after {k - 1} steps (step length below {min_step:g})",
                )
            predicted = z + h * tangent
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    new_factor = _Factor(_augmented(system(predicted, True)[1], tangent))
            except np.linalg.LinAlgError:
                new_factor = None
            corrected = None if new_factor is None else _correct(system, new_factor, predicted, tol)
            if corrected is not None:
                new_z, iterations = corrected
                distance = float(np.linalg.norm(new_z - predicted))
                spread = float(np.abs(new_z - predicted).max())
                if distance <= 0.5 * h + tol and valid(new_z):
                    try:  # the tangent at the corrected point
                        new_factor = _Factor(_augmented(system(new_z, True)[1], tangent))
                    except np.linalg.LinAlgError:
                        h *= 0.5
                        continue
                    w = new_factor.solve(last)
                    new_tangent = w / np.linalg.norm(w)
                    cosine = float(new_tangent @ tangent)
                    # An orientation flip over a long step is more likely a jump to another
                    # branch than a bifurcation: it is accepted only over a short step.
                    flip_ok = new_factor.sign == sign or h <= _FLIP_STEP
                    if cosine >= _MIN_COSINE and flip_ok:
                        break
            h *= 0.5
        flipped = new_factor.sign != sign
        z, tangent, sign = new_z, new_tangent, new_factor.sign
        yield _Point(z, tangent, flipped, k)
        angle = math.acos(min(1.0, cosine))
        growth = min(
            max_growth,
            math.sqrt(_TARGET_DISTANCE * max(1.0, float(np.abs(z).max()) / 100.0) / max(spread, 1e-300)),
            _TARGET_ANGLE / max(angle, 1e-300),
        )
        h *= max(growth, 0.5) if iterations <= 8 else 0.5
    raise _PathEnd("max_steps", f"{caller}(): the path did not end within max_steps={max_steps} steps")


# --------------------------------------------------------------------------- the game model


class _Model:
    """Rewards scaled to [0, 1], index maps of the unknowns, and the per-state building blocks.

    Unknowns: one log-probability per existing (state, player, action), in that
    lexicographic order (``M`` of them), then ``V[s, i]`` (``S * n``), then the homotopy
    parameter.
    """

    def __init__(self, game: StochasticGame) -> None:
        self.game = game
        S, n = game.n_states, game.n_players
        self.S, self.n, self.sizes = S, n, game.num_actions
        self.gamma = float(game.discount)
        self.scale = float(game.reward_scale)
        jm = game.joint_mask
        low = np.array([game.rewards[:, i][jm].min() for i in range(n)])
        shifted = (game.rewards - low.reshape((1, n) + (1,) * n)) / self.scale
        self.rewards = np.where(jm[:, None], shifted, 0.0)
        self.P = game.transition_matrix
        self.A = game.n_joint_actions
        K = max(self.sizes)
        mask = np.zeros((S, n, K), dtype=bool)
        for i, k in enumerate(self.sizes):
            mask[:, i, :k] = game.action_mask[i]
        self.mask = mask
        self.M = int(mask.sum())
        flat = np.full((S, n, K), -1, dtype=np.int64)
        flat[mask] = np.arange(self.M)
        self.flat = flat
        self.fl = [flat[:, i, :k] for i, k in enumerate(self.sizes)]
        self.vidx = self.M + np.arange(S * n).reshape(S, n)
        self.N = self.M + S * n
        self.n_choices = self.M - S * n  # actions beyond each player's first, over the states
        act_s, act_i, act_a = np.nonzero(mask)
        self.group = act_s * n + act_i  # (state, player) of each flat action
        self.ref = flat[act_s, act_i, 0]  # the first action of the same (state, player)
        self.is_ref = act_a == 0
        self.dense = self.N + 1 <= _DENSE_SIZE
        # The transition nonzeros: row s * A + joint a, column s'. Per player, the row
        # (s, a_i) of its response matrix each nonzero contributes to.
        coo = self.P.tocoo()
        self.p_row = np.asarray(coo.row, dtype=np.int64)
        self.p_col = np.asarray(coo.col, dtype=np.int64)
        self.p_data = np.asarray(coo.data, dtype=np.float64)
        self.p_state = self.p_row // self.A
        own = np.unravel_index(self.p_row % self.A, self.sizes)
        self.p_own = [np.asarray(a, dtype=np.int64) for a in own]
        self.p_target = [self.p_state * k + self.p_own[i] for i, k in enumerate(self.sizes)]

    # -- profiles -----------------------------------------------------------------------

    def split(self, flat_probs: FloatArray) -> list[FloatArray]:
        pad = np.zeros(self.mask.shape)
        pad[self.mask] = flat_probs
        return [pad[:, i, :k] for i, k in enumerate(self.sizes)]

    def join(self, policies: Sequence[FloatArray]) -> FloatArray:
        pad = np.zeros(self.mask.shape)
        for i, k in enumerate(self.sizes):
            pad[:, i, :k] = policies[i]
        return pad[self.mask]

    def uniform(self) -> list[FloatArray]:
        return [
            m / m.sum(axis=1, keepdims=True)
            for m in (np.asarray(a, dtype=float) for a in self.game.action_mask)
        ]

    # -- stage quantities ------------------------------------------------------------------

    def others(self, sig: Sequence[FloatArray], skip: int | None) -> FloatArray:
        """Product of the players' probabilities over joint actions, ``(S, a_1..a_n)``, skipping one."""
        out = np.ones((self.S, *self.sizes))
        for j, pol in enumerate(sig):
            if j != skip:
                shape = [self.S] + [1] * self.n
                shape[j + 1] = self.sizes[j]
                out = out * pol.reshape(shape)
        return out

    def response_coo(self, sig: Sequence[FloatArray], i: int) -> tuple[IntArray, IntArray, FloatArray]:
        """``M_i[(s, a_i), s']`` (next-state distribution of ``(s, a_i)`` against ``sig_{-i}``) as
        unsummed triplets: rows ``s * a_i + a_i``, columns ``s'``, values."""
        weights = self.others(sig, i).reshape(-1)
        return self.p_target[i], self.p_col, weights[self.p_row] * self.p_data

    def response_matrix(self, sig: Sequence[FloatArray], i: int) -> sp.csr_array:
        rows, cols, vals = self.response_coo(sig, i)
        return sp.csr_array(sp.coo_array((vals, (rows, cols)), shape=(self.S * self.sizes[i], self.S)))

    def joint_coo(self, sig: Sequence[FloatArray]) -> tuple[IntArray, IntArray, FloatArray]:
        """``P_sig[s, s']`` as unsummed triplets."""
        weights = self.others(sig, None).reshape(-1)
        return self.p_state, self.p_col, weights[self.p_row] * self.p_data

    def joint_matrix(self, sig: Sequence[FloatArray]) -> sp.csr_array:
        rows, cols, vals = self.joint_coo(sig)
        return sp.csr_array(sp.coo_array((vals, (rows, cols)), shape=(self.S, self.S)))

    def stage(
        self, sig: Sequence[FloatArray], V: FloatArray
    ) -> tuple[list[FloatArray], list[list[FloatArray]]]:
        """``Q[i]`` (S, a_i) and ``cross[i][j]`` (S, a_i, a_j) = dQ_i(s, a) / d sig_j(s, b)."""
        n = self.n
        cont = (self.P @ V).reshape((self.S, *self.sizes, n))
        U = self.rewards + self.gamma * np.moveaxis(cont, -1, 1)
        axes = list(range(n + 1))
        cross: list[list[FloatArray]] = [[np.empty(0)] * n for _ in range(n)]
        Q: list[FloatArray] = []
        for i in range(n):
            for j in range(n):
                if j == i:
                    continue
                operands: list[Any] = []
                for m in range(n):
                    if m not in (i, j):
                        operands += [sig[m], [0, m + 1]]
                cross[i][j] = np.einsum(U[:, i], axes, *operands, [0, i + 1, j + 1])
            j0 = (i + 1) % n
            Q.append(np.einsum("sab,sb->sa", cross[i][j0], sig[j0]))
        return Q, cross

    def flat_q(self, Q: Sequence[FloatArray]) -> FloatArray:
        return self.join(Q)

    def one_shot_gap(self, sig: Sequence[FloatArray], Q: Sequence[FloatArray]) -> float:
        """Largest gain of a one-shot deviation over states and players (scaled units)."""
        gap = 0.0
        for i in range(self.n):
            q = np.where(self.game.action_mask[i], Q[i], -np.inf)
            gap = max(gap, float((q.max(axis=1) - (sig[i] * Q[i]).sum(axis=1)).max()))
        return gap

    def values(self, sig: Sequence[FloatArray]) -> FloatArray:
        """Exact values ``(S, n)`` of a profile, in scaled units."""
        joint = self.others(sig, None).reshape(self.S, self.A)
        rewards = np.einsum("sa,sna->sn", joint, self.rewards.reshape(self.S, self.n, self.A))
        return _solve_values(self.joint_matrix(sig), rewards, self.gamma)

    # -- shared Jacobian blocks ------------------------------------------------------------

    def v_block(
        self,
        trip: _Assembler,
        triplets: tuple[IntArray, IntArray, FloatArray],
        i: int,
        factor: float,
        drop_ref: bool,
    ) -> None:
        """Entries ``factor * M[(s, a), s']`` at rows of player ``i``'s actions, columns ``V[s', i]``."""
        rows, cols, vals = triplets
        target = self.fl[i].reshape(-1)[rows]
        if drop_ref:
            target = np.where(rows % self.sizes[i] == 0, -1, target)
        trip.add(target, self.vidx[cols, i], factor * vals)


# --------------------------------------------------------------------------- polishing


def _polish(
    model: _Model,
    sig: Sequence[FloatArray],
    tol_abs: float,
    *,
    balanced: bool = False,
    near: float = _NEAR,
    max_iter: int = 15,
) -> tuple[Policies, MarkovCertificate] | None:
    """A certified equilibrium within ``near`` of the path profile ``sig``, or None.

    Supports are read off ``sig`` at decreasing relative thresholds and the profile is
    polished by Newton's method on each support's equations; failing that, ``sig``
    itself with its negligible probabilities removed (a point of a continuum of
    equilibria, where the support equations are singular, is certified as it is).
    With ``balanced``, two-player supports of different sizes in some state are skipped:
    their support equations are over- or under-determined unless the game is degenerate.
    """
    tried: set[bytes] = set()
    supports = []
    for theta in _SUPPORT_THRESHOLDS:
        support = np.zeros(model.mask.shape, dtype=bool)
        for i, k in enumerate(model.sizes):
            s_i = np.where(model.game.action_mask[i], sig[i], 0.0)
            support[:, i, :k] = s_i >= theta * s_i.max(axis=1, keepdims=True)
        key = np.packbits(support).tobytes()
        if key not in tried:
            tried.add(key)
            supports.append(support)
    candidates = (
        _polish_support(model, sig, support, max_iter)
        for support in supports
        if not (balanced and model.n == 2 and np.any(support[:, 0].sum(axis=1) != support[:, 1].sum(axis=1)))
    )
    truncated = (
        tuple(
            np.where(support[:, i, :k], p, 0.0)
            / np.where(support[:, i, :k], p, 0.0).sum(axis=1, keepdims=True)
            for i, (k, p) in enumerate(zip(model.sizes, sig, strict=True))
        )
        for support in reversed(supports)
    )
    for result in itertools.chain(candidates, truncated):
        if result is None or _distance(result, sig) > near:
            continue
        # A state gap is at least the one-shot gap: skip hopeless certifications.
        q, _ = model.stage(result, model.values(result))
        if model.one_shot_gap(result, q) * model.scale > tol_abs:
            continue
        cert = certify_markov(model.game, result)
        if cert.max_state_gap <= tol_abs:
            return tuple(result), cert
    return None


def _polish_support(
    model: _Model, sig: Sequence[FloatArray], support: npt.NDArray[np.bool_], max_iter: int
) -> Policies | None:
    S, n, gamma = model.S, model.n, model.gamma
    m = int(support.sum())
    sidx = np.full(support.shape, -1, dtype=np.int64)
    sidx[support] = np.arange(m)
    sl = [sidx[:, i, :k] for i, k in enumerate(model.sizes)]
    vcol = m + np.arange(S * n).reshape(S, n)
    size = m + S * n
    dense = size <= _DENSE_SIZE
    start = [np.where(sl[i] >= 0, np.clip(sig[i], 1e-300, None), 0.0) for i in range(n)]
    start = [p / p.sum(axis=1, keepdims=True) for p in start]
    pad = np.zeros(support.shape)
    for i, k in enumerate(model.sizes):
        pad[:, i, :k] = start[i]
    z = np.concatenate([pad[support], model.values(start).reshape(-1)])

    def unpack(z: FloatArray) -> list[FloatArray]:
        return [np.where(sl[i] >= 0, z[np.clip(sl[i], 0, None)], 0.0) for i in range(n)]

    previous = math.inf
    trip = _Assembler((size, size), dense)
    lstsq_left = 8
    for iteration in range(max_iter):
        x = unpack(z)
        V = z[m:].reshape(S, n)
        Q, cross = model.stage(x, V)
        r = np.empty(size)
        for i in range(n):
            rows = sl[i]
            keep = rows >= 0
            r[rows[keep]] = (Q[i] - V[:, i : i + 1])[keep]
            trip.add(rows, vcol[:, i : i + 1], -1.0)
            m_rows, m_cols, m_vals = model.response_coo(x, i)
            trip.add(rows.reshape(-1)[m_rows], vcol[m_cols, i], gamma * m_vals)
            trip.add(vcol[:, i : i + 1], rows, 1.0)
            for j in range(n):
                if j != i:
                    trip.add(rows[:, :, None], sl[j][:, None, :], cross[i][j])
        sums = np.zeros((S, n))
        for i in range(n):
            sums[:, i] = x[i].sum(axis=1)
        r[m:] = (sums - 1.0).reshape(-1)
        jac = trip.matrix()
        try:
            factor = _Factor(jac)
        except np.linalg.LinAlgError:
            factor = None
        if factor is not None and factor.pivot_ratio > 1e-12:
            dz = factor.solve(-r)
        elif dense and lstsq_left > 0:  # singular (e.g. a continuum of equilibria): least squares
            lstsq_left -= 1
            dz = np.linalg.lstsq(jac, -r, rcond=None)[0]
        else:
            return None
        z = z + dz
        step = float(np.abs(dz).max())
        if not np.isfinite(step):
            return None
        if step <= 1e-13 * (1.0 + float(np.abs(z).max())) or (step < 1e-9 and step > 0.5 * previous):
            break
        if iteration >= 4 and step > 0.5 * previous:
            return None  # not converging: a wrong support
        previous = step
    x = unpack(z)
    out = []
    for i in range(n):
        if x[i].min() < -1e-9:
            return None
        p = np.clip(x[i], 0.0, None)
        out.append(p / p.sum(axis=1, keepdims=True))
    return tuple(out)


def _solve_values(matrix: sp.csr_array, rewards: FloatArray, gamma: float) -> FloatArray:
    """Solve ``(I - gamma * matrix) V = rewards`` (numpy's solver: small systems stay single-threaded)."""
    size = matrix.shape[0]
    system = sp.eye_array(size, format="csc") - gamma * sp.csc_array(matrix)
    if size <= _DENSE_SIZE:
        return np.asarray(np.linalg.solve(system.toarray(), rewards), dtype=np.float64)
    return np.asarray(
        scipy.sparse.linalg.splu(system).solve(np.asarray(rewards, dtype=np.float64)), dtype=np.float64
    )


def _distance(p: Sequence[FloatArray], q: Sequence[FloatArray]) -> float:
    return max(float(np.abs(a - b).max()) for a, b in zip(p, q, strict=True))


# --------------------------------------------------------------------------- validation


def _check_game(game: Any, caller: str) -> None:
    if not isinstance(game, StochasticGame):
        raise InvalidOptionError("game", f"{caller}(): expected a StochasticGame, got {type(game).__name__}")
    if game.horizon is not None:
        raise UnsupportedError(
            "game",
            f"{caller}(): the game has a finite horizon ({game.horizon} stages); stationary homotopies need "
            "an infinite horizon (use backward induction)",
        )
    unknowns = int(game.action_counts.sum()) + game.n_states * game.n_players + 1
    if unknowns > MAX_UNKNOWNS:
        raise ProblemTooLargeError(
            "game",
            f"{caller}(): the game has {unknowns:,} path unknowns (actions and values over states); "
            f"the limit is {MAX_UNKNOWNS:,}",
        )


def _check_tol(tol: Any, caller: str) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not (0.0 < tol <= 1e-3):
        raise InvalidOptionError("tolerance", f"{caller}(): tol must be in (0, 1e-3], got {tol!r}")
    return float(tol)


def _check_count(value: Any, field: str, caller: str, low: int, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (low <= value <= high):
        raise InvalidOptionError(
            field, f"{caller}(): {field} must be an integer in [{low}, {high}], got {value!r}"
        )
    return int(value)


def _check_time_limit(value: Any, caller: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0.0 < value < math.inf):
        raise InvalidOptionError(
            "time_limit",
            f"{caller}(): time_limit must be None or a positive number of seconds, got {value!r}",
        )
    return float(value)


def _gap_tolerance(game: StochasticGame, tol: float) -> float:
    return tol * game.reward_scale / (1.0 - game.discount)


# --------------------------------------------------------------------------- the QRE homotopy


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
        Certification tolerance: the end point's largest state gap is at most
        ``tol * reward_scale / (1 - discount)``.
    max_steps : int, optional(default=20000)
        Largest number of path-following steps.
    time_limit : float, optional
        Wall-clock seconds; the path stops (unconverged) when they run out.
    lambda_max : float, optional(default=1e8)
        Largest precision followed, relative to the reward scale
        (``lambda * game.reward_scale``).

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
    are read off and polished (see the module); the end point is accepted when the
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
    >>> from equilibria.solver.stochastic_game import StochasticGame
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
    _check_game(game, caller)
    tol = _check_tol(tol, caller)
    max_steps = _check_count(max_steps, "max_steps", caller, 1)
    limit = _check_time_limit(time_limit, caller)
    if (
        isinstance(lambda_max, bool)
        or not isinstance(lambda_max, int | float)
        or not (1e2 <= lambda_max <= 1e12)
    ):
        raise InvalidOptionError(
            "lambda_max", f"{caller}(): lambda_max must be in [1e2, 1e12], got {lambda_max!r}"
        )
    deadline = None if limit is None else time.monotonic() + limit
    return _qre(game, tol, max_steps, float(lambda_max), deadline)


def _qre_system(model: _Model) -> System:
    M, N, n, gamma = model.M, model.N, model.n, model.gamma
    assembler = _Assembler((N, N + 1), model.dense)
    nonref = np.flatnonzero(~model.is_ref)
    ref_of = model.ref[nonref]
    ref_rows = model.ref
    arange_m = np.arange(M)

    def system(z: FloatArray, jacobian: bool) -> tuple[FloatArray, Any]:
        beta, V, lam = z[:M], z[M:N].reshape(model.S, n), z[N]
        probs = _probabilities(beta)
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
            is_first = m_i[0] % model.sizes[i] == 0
            trip.add(
                rows[m_i[0][is_first] // model.sizes[i]],
                model.vidx[m_i[1][is_first], i][:, None],
                (lam * gamma * m_i[2][is_first])[:, None],
            )
            trip.add(vrow[:, None], model.fl[i], -sig[i] * Q[i])
            trip.add(vrow, vrow, 1.0)
            trip.add(vrow[j_rows], vrow[j_cols], -gamma * j_vals)
        return r, trip.matrix()

    return system


def _probabilities(beta: FloatArray) -> FloatArray:
    with np.errstate(over="ignore", under="ignore"):
        probs = np.exp(beta)
    probs[probs < _TINY] = 0.0
    return probs


def _single_profile(model: _Model) -> Policies | None:
    """The only profile when nobody ever has a choice."""
    if model.n_choices == 0:
        return tuple(np.asarray(m, dtype=float) for m in model.game.action_mask)
    return None


def _result_from(
    model: _Model,
    homotopy: str,
    policies: Policies,
    parameter: float,
    steps: int,
    converged: bool,
    reason: str,
    bifurcations: Sequence[float],
    prior: Policies | None = None,
    cert: MarkovCertificate | None = None,
) -> HomotopyResult:
    if cert is None:
        cert = certify_markov(model.game, policies)
    return HomotopyResult(
        homotopy=homotopy,
        policies=tuple(np.array(p) for p in policies),
        parameter=parameter,
        steps=steps,
        converged=converged,
        reason=reason,
        max_state_gap=cert.max_state_gap,
        bifurcations=tuple(bifurcations),
        prior=prior,
    )


def _qre(
    game: StochasticGame, tol: float, max_steps: int, lambda_max: float, deadline: float | None
) -> HomotopyResult:
    caller = "qre_homotopy"
    model = _Model(game)
    tol_abs = _gap_tolerance(game, tol)
    only = _single_profile(model)
    if only is not None:
        return _result_from(model, "qre", only, 0.0, 0, True, "no player has a choice in any state", ())
    uniform = model.uniform()
    start = np.concatenate([np.log(model.join(uniform)), model.values(uniform).reshape(-1), [0.0]])
    orient = np.zeros(model.N + 1)
    orient[-1] = 1.0
    system = _qre_system(model)
    path = _follow(
        system,
        start,
        orient,
        valid=lambda z: bool(z[-1] >= -1e-9 and np.all(z[: model.M] <= 1e-6)),
        max_step=None,
        step=0.1,
        max_steps=max_steps,
        deadline=deadline,
        caller=caller,
    )
    bifurcations: list[float] = []
    next_check = 1.0
    previous: tuple[Policies, MarkovCertificate] | None = None
    previous_distance = math.inf
    last_z = start
    steps = 0
    sig = uniform
    try:
        for point in path:
            steps, last_z = point.steps, point.z
            lam = float(point.z[-1])
            if point.bifurcation:
                bifurcations.append(lam / model.scale)
            final = lam >= lambda_max
            if lam < next_check and not final:
                continue
            next_check = _CHECK_GROWTH * lam
            sig = model.split(_probabilities(point.z[: model.M]))
            Q, _ = model.stage(sig, point.z[model.M : model.N].reshape(model.S, model.n))
            if model.one_shot_gap(sig, Q) > _POLISH_GAP and not final:
                previous = None
                continue
            candidate = _polish(model, sig, tol_abs, balanced=not final, near=math.inf)
            distance = math.inf if candidate is None else _distance(candidate[0], sig)
            if (
                candidate is not None
                and previous is not None
                and _distance(candidate[0], previous[0]) <= _SAME
                and (distance <= _NEAR or distance < previous_distance)
            ):
                # A regular equilibrium does not move as lambda grows; the branch is at
                # it or still approaching it.
                return _result_from(
                    model,
                    "qre",
                    candidate[0],
                    lam / model.scale,
                    steps,
                    True,
                    "certified: the polished limit stopped moving",
                    bifurcations,
                    cert=candidate[1],
                )
            if final:
                if candidate is not None:
                    return _result_from(
                        model,
                        "qre",
                        candidate[0],
                        lam / model.scale,
                        steps,
                        True,
                        "certified at lambda_max (the polished limit was still moving: a non-regular equilibrium?)",
                        bifurcations,
                        cert=candidate[1],
                    )
                return _result_from(
                    model,
                    "qre",
                    tuple(sig),
                    lam / model.scale,
                    steps,
                    False,
                    f"reached lambda * reward_scale = {lambda_max:g} without a certified end point",
                    bifurcations,
                )
            previous, previous_distance = candidate, distance
    except _PathEnd as end:
        sig = model.split(_probabilities(last_z[: model.M]))
        for candidate in (previous, _polish(model, sig, tol_abs)):
            if candidate is not None and _distance(candidate[0], sig) <= _NEAR:
                return _result_from(
                    model,
                    "qre",
                    candidate[0],
                    float(last_z[-1]) / model.scale,
                    steps,
                    True,
                    f"certified after the path stopped ({end.reason})",
                    bifurcations,
                    cert=candidate[1],
                )
        return _result_from(
            model, "qre", tuple(sig), float(last_z[-1]) / model.scale, steps, False, end.reason, bifurcations
        )
    raise AssertionError("unreachable: _follow raises when it stops")  # pragma: no cover


# --------------------------------------------------------------------------- the tracing homotopy


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
    >>> from equilibria.solver.stochastic_game import StochasticGame
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


def _corner_prior(game: StochasticGame, k: int) -> Policies:
    """Everyone plays its action ``k`` (or its last one, if it has fewer) in every state."""
    out = []
    for i, size in enumerate(game.num_actions):
        pol = np.zeros((game.n_states, size))
        pol[np.arange(game.n_states), np.minimum(k, game.action_counts[:, i] - 1)] = 1.0
        out.append(pol)
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
    >>> from equilibria.solver.stochastic_game import StochasticGame
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
    _check_game(game, caller)
    tol = _check_tol(tol, caller)
    max_steps = _check_count(max_steps, "max_steps", caller, 1)
    limit = _check_time_limit(time_limit, caller)
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not (0.0 < eta <= 10.0):
        raise InvalidOptionError("eta", f"{caller}(): eta must be in (0, 10], got {eta!r}")
    rho = _validated_prior(game, prior, caller)
    deadline = None if limit is None else time.monotonic() + limit
    return _tracing(game, rho, float(eta), tol, max_steps, deadline)


def _validated_prior(game: StochasticGame, prior: Sequence[npt.ArrayLike] | None, caller: str) -> Policies:
    if prior is None:
        return tuple(_Model(game).uniform())
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
    model: _Model, prior_terms: list[_PriorTerms], eta: float
) -> tuple[list[FloatArray], FloatArray]:
    """The unique solution at t = 0: each player's regularised MDP against the prior (policy iteration)."""
    S, n, gamma = model.S, model.n, model.gamma
    sig = model.uniform()
    V = np.zeros((S, n))
    for i in range(n):
        mask = model.game.action_mask[i]
        k = model.sizes[i]
        R, Mrho, _ = prior_terms[i]
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
            v = _solve_values(trans, reward, gamma)
            c = R + gamma * (Mrho @ v).reshape(S, k)
            new_x, _ = _smoothed_response(c, mask, eta)
            change = float(np.abs(new_x - x).max())
            x = new_x
            if change <= 1e-14:
                break
        sig[i] = x
        V[:, i] = v
    return sig, V


def _tracing_system(model: _Model, prior_terms: list[_PriorTerms], eta: float) -> System:
    M, N, n, S, gamma = model.M, model.N, model.n, model.S, model.gamma
    act = np.arange(M)
    assembler = _Assembler((N, N + 1), model.dense)
    same = [(model.fl[i][:, :, None], model.fl[i][:, None, :]) for i in range(n)]

    def system(z: FloatArray, jacobian: bool) -> tuple[FloatArray, Any]:
        beta, V, t = z[:M], z[M:N].reshape(S, n), z[N]
        eps = (1.0 - t) * eta
        probs = _probabilities(beta)
        inv = np.exp(-beta)
        sig = model.split(probs)
        Q, cross = model.stage(sig, V)
        q = model.flat_q(Q)
        qrho = model.join(
            [prior_terms[i][0] + gamma * (prior_terms[i][1] @ V[:, i]).reshape(S, -1) for i in range(n)]
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
            model.v_block(trip, prior_terms[i][2], i, (1.0 - t) * gamma, drop_ref=False)
        return r, trip.matrix()

    return system


def _prior_terms(model: _Model, rho: Policies) -> list[_PriorTerms]:
    """Per player: rewards ``(S, a_i)`` and transitions against the prior's ``rho_{-i}``."""
    out = []
    for i in range(model.n):
        weighted = model.rewards[:, i] * model.others(rho, i)
        reward = np.moveaxis(weighted, i + 1, -1).reshape(model.S, -1, model.sizes[i]).sum(axis=1)
        out.append((reward, model.response_matrix(rho, i), model.response_coo(rho, i)))
    return out


def _tracing(
    game: StochasticGame, rho: Policies, eta: float, tol: float, max_steps: int, deadline: float | None
) -> HomotopyResult:
    caller = "tracing_homotopy"
    model = _Model(game)
    tol_abs = _gap_tolerance(game, tol)
    only = _single_profile(model)
    if only is not None:
        return _result_from(
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

    path = _follow(
        system,
        start,
        orient,
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
            sig = model.split(_probabilities(point.z[: model.M]))
            candidate = _polish(model, sig, tol_abs)
            if candidate is not None and _distance(candidate[0], sig) <= _NEAR:
                return _result_from(
                    model,
                    "tracing",
                    candidate[0],
                    t,
                    steps,
                    True,
                    "certified near t = 1",
                    bifurcations,
                    prior=rho,
                    cert=candidate[1],
                )
            if not gaps:
                return _result_from(
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
    except _PathEnd as end:
        sig = model.split(_probabilities(last_z[: model.M]))
        if 1.0 - last_z[-1] <= 1e-2:
            candidate = _polish(model, sig, tol_abs)
            if candidate is not None and _distance(candidate[0], sig) <= _NEAR:
                return _result_from(
                    model,
                    "tracing",
                    candidate[0],
                    float(last_z[-1]),
                    steps,
                    True,
                    f"certified after the path stopped ({end.reason})",
                    bifurcations,
                    prior=rho,
                    cert=candidate[1],
                )
        return _result_from(
            model, "tracing", tuple(sig), float(last_z[-1]), steps, False, end.reason, bifurcations, prior=rho
        )
    raise AssertionError("unreachable: _follow raises when it stops")  # pragma: no cover


# --------------------------------------------------------------------------- many paths


def stationary_equilibria(
    game: StochasticGame,
    *,
    n_priors: int = 8,
    seed: int = 0,
    tol: float = 1e-8,
    time_limit: float | None = None,
) -> tuple[list[MarkovEquilibrium], str]:
    """Stationary equilibria found by the QRE homotopy and tracing from several priors.

    Runs :func:`qre_homotopy`, then :func:`tracing_homotopy` from the uniform prior,
    from the pure "corner" priors (everyone plays its ``k``-th action everywhere) when
    the game is small, and from ``n_priors`` random priors drawn with ``seed``. Every
    end point is polished and certified; the distinct certified ones are returned.

    Parameters
    ----------
    game : StochasticGame
        Infinite horizon.
    n_priors : int, optional(default=8)
        Number of random priors.
    seed : int, optional(default=0)
        Seed of the random priors.
    tol : float, optional(default=1e-8)
        An equilibrium is kept when its largest state gap is at most
        ``tol * reward_scale / (1 - discount)``.
    time_limit : float, optional
        Wall-clock seconds for the whole search; it stops between (or inside) paths
        when they run out and says so.

    Returns
    -------
    equilibria : list of MarkovEquilibrium
        Distinct certified equilibria (profiles differing by more than 1e-6 in some
        probability), each with its certificate from
        :func:`~equilibria.solver.markov_regret.certify_markov` and ``found_by`` naming
        the paths that reached it (``"qre"``, ``"tracing:uniform"``,
        ``"tracing:corner=k"``, ``"tracing:prior=k"``).
    description : str
        How the set was searched, how many paths converged, and that it is partial.

    Raises
    ------
    InvalidOptionError, UnsupportedError, ProblemTooLargeError
        As for :func:`qre_homotopy`.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic_game import StochasticGame
    >>> coord = np.array([[[2.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    >>> game = StochasticGame(coord[None], np.ones((1, 2, 2, 1)), discount=0.5)
    >>> found, description = stationary_equilibria(game, n_priors=4)
    >>> [(e.policies[0].tolist(), e.found_by[:2]) for e in found]
    [([[1.0, 0.0]], ('qre', 'tracing:uniform')), ([[0.0, 1.0]], ('tracing:corner=1',))]
    >>> for part in description.split("; "):
    ...     print(part)
    qre homotopy + logarithmic tracing from the uniform prior, 2 pure-corner priors and 4 random priors (seed 0)
    2 distinct equilibria
    8 of 8 paths certified
    the set is partial

    The mixed equilibrium ((1/3, 2/3) for both) is found by none of these paths: a
    search by homotopy gives a partial set.

    References
    ----------
    .. [1] Herings & Peeters (2004); Eibelshäuser & Poensgen (2019): see the module.
    """
    caller = "stationary_equilibria"
    _check_game(game, caller)
    tol = _check_tol(tol, caller)
    n_priors = _check_count(n_priors, "n_priors", caller, 0, 10_000)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidOptionError("seed", f"{caller}(): seed must be an integer, got {seed!r}")
    limit = _check_time_limit(time_limit, caller)
    started = time.monotonic()
    deadline = None if limit is None else started + limit
    tol_abs = _gap_tolerance(game, tol)

    runs: list[tuple[str, Policies | None]] = [("qre", None), ("tracing:uniform", None)]
    small = game.n_states <= 10 and max(game.num_actions) <= 4
    if small:
        runs += [(f"tracing:corner={k}", _corner_prior(game, k)) for k in range(max(game.num_actions))]
    rng = np.random.default_rng(int(seed))
    runs += [(f"tracing:prior={k}", random_prior(game, rng)) for k in range(n_priors)]

    found: list[tuple[Policies, list[str]]] = []
    failures: list[str] = []
    done = 0
    timed_out = False
    for label, prior in runs:
        if deadline is not None and time.monotonic() >= deadline:
            timed_out = True
            break
        if label == "qre":
            result = _qre(game, tol, 20_000, DEFAULT_LAMBDA_MAX, deadline)
        else:
            rho = tuple(_Model(game).uniform()) if prior is None else prior
            result = _tracing(game, rho, DEFAULT_ETA, tol, 20_000, deadline)
        done += 1
        if not (result.converged and result.max_state_gap <= tol_abs):
            failures.append(f"{label} ({result.reason})")
            if "time limit" in result.reason:
                timed_out = True
            continue
        for policies, labels in found:
            if _distance(policies, result.policies) <= _DEDUP:
                labels.append(label)
                break
        else:
            found.append((result.policies, [label]))

    equilibria = []
    for policies, labels in found:
        equilibria.append(certified_equilibrium(game, policies, tuple(labels)))
    priors_text = "the uniform prior"
    if small:
        priors_text += f", {max(game.num_actions)} pure-corner priors"
    priors_text += f" and {n_priors} random priors (seed {seed})"
    parts = [
        f"qre homotopy + logarithmic tracing from {priors_text}",
        f" {len(equilibria)} distinct equilibri{'um' if len(equilibria) == 1 else 'a'}",
        f" {done - len(failures)} of {len(runs)} paths certified",
    ]
    if failures:
        parts.append(" not certified: " + ", ".join(failures))
    if timed_out:
        parts.append(f" stopped by the time limit ({limit:g} s) after {done} of {len(runs)} paths")
    parts.append(" the set is partial")
    return equilibria, ";".join(parts)
