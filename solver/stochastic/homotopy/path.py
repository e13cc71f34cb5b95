"""The stochastic-game side of the homotopy paths: the model, the Jacobian assembler, polishing.

What :mod:`~equilibria.solver.stochastic.homotopy.qre` and
:mod:`~equilibria.solver.stochastic.homotopy.tracing` share: each player's rewards mapped onto ``[0, 1]`` (the unit game) and
the index maps of the path unknowns (:class:`Model`), a sparse Jacobian assembled fast on
repeat (:class:`Assembler`), the settings of the path follower
(:data:`STOCHASTIC_FOLLOWER`), and the end game: supports read off a path point, the profile
polished by Newton's method on the support equations and certified on the user's game with
:func:`~equilibria.solver.stochastic.regret.certify_markov`, every player within its own
tolerance (:func:`polish`). The method
follows Herings & Peeters (2004) and Eibelshäuser & Poensgen (2019). See docs/homotopy.md.

References
----------
.. [1] P. J.-J. Herings and R. J. A. P. Peeters, "Stationary equilibria in stochastic
   games: structure, selection, and computation", Journal of Economic Theory 118
   (2004) 32-60.
.. [2] S. Eibelshäuser and D. Poensgen, "Markov quantal response equilibrium and a
   homotopy method for computing and selecting Markov perfect equilibria of dynamic
   stochastic games", working paper (2019); the sgamesolver package.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.sparse.linalg
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.concepts.continuation import FollowerSettings, LUFactor
from equilibria.solver.errors import (
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
    check_tolerance,
)
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import MarkovCertificate, certify_markov

__all__ = [
    "MAX_UNKNOWNS",
    "NEAR",
    "STOCHASTIC_FOLLOWER",
    "Assembler",
    "HomotopyResult",
    "Model",
    "Policies",
    "Polished",
    "Triplets",
    "check_count",
    "check_game",
    "check_tol",
    "polish",
    "probabilities",
    "profile_distance",
    "result_from",
    "single_profile",
    "solve_values",
]

Policies = tuple[FloatArray, ...]

#: Largest number of path unknowns (actions over states and players, plus values, plus one).
MAX_UNKNOWNS = 40_000
#: Systems up to this size are factorised dense (a singular support system is then solved
#: by least squares); larger ones by sparse LU (multithreaded dense LAPACK on small
#: systems is slow on a busy machine).
_DENSE_SIZE = 100
#: Relative probability thresholds tried, largest first, to read off supports.
_SUPPORT_THRESHOLDS = (0.3, 1e-2, 1e-4, 1e-7)
#: A polished end point must lie this close (max-norm on probabilities) to the path point.
NEAR = 0.1
#: Magnitudes below this are flushed to zero (probabilities far out on the QRE branch
#: underflow towards subnormal numbers, on which floating-point arithmetic crawls).
_TINY = 1e-250

#: The path follower's settings for the stochastic homotopies: bolder steps than the
#: normal-form paths', refused when the orientation flips over a long step, a chord-Newton
#: corrector on one LU factorisation (dense up to 100 unknowns, sparse beyond), and the
#: start found with the homotopy parameter held fixed (see docs/homotopy.md).
STOCHASTIC_FOLLOWER = FollowerSettings(
    factorise=LUFactor,
    corrector="chord",
    corrector_iterations=15,
    fast_iterations=8,
    min_cosine=0.9,
    target_distance=3e-2,
    target_angle=0.3,
    distance_norm="max",
    flip_step=1e-3,
    start="fixed_parameter",
    start_tol=1e-13,
    start_iterations=40,
    orientation="orient",
    tol=1e-10,
    min_step=1e-12,
)


class Triplets(NamedTuple):
    """A sparse matrix as unsummed coordinate triplets (duplicates add up)."""

    rows: Int64Array
    cols: Int64Array
    values: FloatArray


class Polished(NamedTuple):
    """A polished, certified end point and its certificate."""

    policies: Policies
    certificate: MarkovCertificate


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
        The homotopy parameter reached: :math:`\\lambda` on the unit game (``lambda``
        multiplies each player's rewards mapped onto ``[0, 1]``) for the QRE homotopy,
        ``t`` for tracing.
    steps : int
        Accepted path-following steps.
    converged : bool
        Whether ``policies`` is an equilibrium certified to the tolerance: every
        player's state gaps on the user's game within its own tolerance
        (:meth:`~equilibria.solver.stochastic.game.StochasticGame.value_tolerances`).
    reason : str
        How the path ended.
    max_state_gap : float
        Largest best-response gain over states and players of ``policies``, measured
        afresh by :func:`~equilibria.solver.stochastic.regret.certify_markov`.
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


# --------------------------------------------------------------------------- the game model


class Assembler:
    """Assembles a matrix of fixed sparsity pattern from blocks of entries, fast on repeat.

    A Jacobian is built by the same sequence of :meth:`add` calls at every point: the
    first sequence records each block's index pattern (negative indices mark entries to
    drop) and how duplicates sum; later ones only gather the values.
    """

    def __init__(self, shape: tuple[int, int], dense: bool) -> None:
        self.shape, self.dense = shape, dense
        self._blocks: list[tuple[tuple[int, ...], Int64Array]] = []
        self._rows: list[Int64Array] = []
        self._cols: list[Int64Array] = []
        self._vals: list[FloatArray] = []
        self._count = 0
        self._recorded = False
        self._inverse: Int64Array | None = None

    def add(self, rows: Any, cols: Any, vals: Any) -> None:
        """Entries ``vals`` at ``(rows, cols)`` (broadcast together; negative indices dropped)."""
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
        """The matrix of the entries added since the last call: dense, or CSR."""
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


class Model:
    """Rewards of the unit game, index maps of the unknowns, and the per-state building blocks.

    The paths run on :attr:`~StochasticGame.unit_game` (each player's rewards mapped onto
    ``[0, 1]``), so they do not depend on the units of the rewards; ``game`` is the user's
    game, on which end points are certified.

    Unknowns: one log-probability per existing (state, player, action), in that
    lexicographic order (``M`` of them), then ``V[s, i]`` (``S * n``), then the homotopy
    parameter.
    """

    def __init__(self, game: StochasticGame) -> None:
        self.game = game
        S, n = game.n_states, game.n_players
        self.S, self.n, self.sizes = S, n, game.num_actions
        self.gamma = float(game.discount)
        self.rewards = np.asarray(game.unit_game.rewards)
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
        """Per player ``(S, a_i)`` from one value per existing (state, player, action)."""
        pad = np.zeros(self.mask.shape)
        pad[self.mask] = flat_probs
        return [pad[:, i, :k] for i, k in enumerate(self.sizes)]

    def join(self, policies: Sequence[FloatArray]) -> FloatArray:
        """The inverse of :meth:`split`."""
        pad = np.zeros(self.mask.shape)
        for i, k in enumerate(self.sizes):
            pad[:, i, :k] = policies[i]
        return pad[self.mask]

    def uniform(self) -> list[FloatArray]:
        """Uniform play over the existing actions."""
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

    def response_coo(self, sig: Sequence[FloatArray], i: int) -> Triplets:
        """``M_i[(s, a_i), s']`` (next-state distribution of ``(s, a_i)`` against ``sig_{-i}``) as
        unsummed triplets: rows ``s * a_i + a_i``, columns ``s'``, values."""
        weights = self.others(sig, i).reshape(-1)
        return Triplets(self.p_target[i], self.p_col, weights[self.p_row] * self.p_data)

    def response_matrix(self, sig: Sequence[FloatArray], i: int) -> sp.csr_array:
        """:meth:`response_coo` as a CSR matrix of shape ``(S * a_i, S)``."""
        rows, cols, vals = self.response_coo(sig, i)
        return sp.csr_array(sp.coo_array((vals, (rows, cols)), shape=(self.S * self.sizes[i], self.S)))

    def joint_coo(self, sig: Sequence[FloatArray]) -> Triplets:
        """``P_sig[s, s']`` as unsummed triplets."""
        weights = self.others(sig, None).reshape(-1)
        return Triplets(self.p_state, self.p_col, weights[self.p_row] * self.p_data)

    def joint_matrix(self, sig: Sequence[FloatArray]) -> sp.csr_array:
        """:meth:`joint_coo` as a CSR matrix of shape ``(S, S)``."""
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
        """``Q`` joined like the probabilities (:meth:`join`)."""
        return self.join(Q)

    def one_shot_gap(self, sig: Sequence[FloatArray], Q: Sequence[FloatArray]) -> float:
        """Largest gain of a one-shot deviation over states and players (unit-game units)."""
        return float(self.one_shot_gaps(sig, Q).max())

    def one_shot_gaps(self, sig: Sequence[FloatArray], Q: Sequence[FloatArray]) -> FloatArray:
        """Each player's largest one-shot deviation gain over the states (unit-game units)."""
        gaps = np.zeros(self.n)
        for i in range(self.n):
            q = np.where(self.game.action_mask[i], Q[i], -np.inf)
            gaps[i] = float((q.max(axis=1) - (sig[i] * Q[i]).sum(axis=1)).max())
        return gaps

    def values(self, sig: Sequence[FloatArray]) -> FloatArray:
        """Exact values ``(S, n)`` of a profile on the unit game."""
        joint = self.others(sig, None).reshape(self.S, self.A)
        rewards = np.einsum("sa,sna->sn", joint, self.rewards.reshape(self.S, self.n, self.A))
        return solve_values(self.joint_matrix(sig), rewards, self.gamma)

    # -- shared Jacobian blocks ------------------------------------------------------------

    def v_block(
        self,
        trip: Assembler,
        triplets: Triplets,
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


def polish(
    model: Model,
    sig: Sequence[FloatArray],
    tol: float,
    *,
    balanced: bool = False,
    near: float = NEAR,
    max_iter: int = 15,
) -> Polished | None:
    """A certified equilibrium within ``near`` of the path profile ``sig``, or None.

    Supports are read off ``sig`` at decreasing relative thresholds and the profile is
    polished by Newton's method on each support's equations; failing that, ``sig``
    itself with its negligible probabilities removed (a point of a continuum of
    equilibria, where the support equations are singular, is certified as it is).
    With ``balanced``, two-player supports of different sizes in some state are skipped:
    their support equations are over- or under-determined unless the game is degenerate.
    A candidate is certified when every player's state gaps on the user's game are within
    its own tolerance ``model.game.value_tolerances(tol)``.
    """
    limits = model.game.value_tolerances(tol)
    ranges = model.game.reward_scales
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
        if result is None or profile_distance(result, sig) > near:
            continue
        # A state gap is at least the one-shot gap: skip hopeless certifications.
        q, _ = model.stage(result, model.values(result))
        if np.any(model.one_shot_gaps(result, q) * ranges > limits):
            continue
        cert = certify_markov(model.game, result)
        if model.game.within_tolerance(cert.max_player_gaps, tol):
            return Polished(tuple(result), cert)
    return None


def _polish_support(
    model: Model, sig: Sequence[FloatArray], support: npt.NDArray[np.bool_], max_iter: int
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
    trip = Assembler((size, size), dense)
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
            factor = LUFactor(jac)
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


def solve_values(matrix: sp.csr_array, rewards: FloatArray, gamma: float) -> FloatArray:
    """Solve ``(I - gamma * matrix) V = rewards`` (numpy's solver: small systems stay single-threaded)."""
    size = matrix.shape[0]
    system = sp.eye_array(size, format="csc") - gamma * sp.csc_array(matrix)
    if size <= _DENSE_SIZE:
        return np.asarray(np.linalg.solve(system.toarray(), rewards), dtype=np.float64)
    return np.asarray(
        scipy.sparse.linalg.splu(system).solve(np.asarray(rewards, dtype=np.float64)), dtype=np.float64
    )


def profile_distance(p: Sequence[FloatArray], q: Sequence[FloatArray]) -> float:
    """Max-norm distance between two profiles."""
    return max(float(np.abs(a - b).max()) for a, b in zip(p, q, strict=True))


def check_game(game: Any, caller: str) -> None:
    """Raise unless ``game`` is an infinite-horizon :class:`StochasticGame` within :data:`MAX_UNKNOWNS`."""
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


def check_tol(tol: Any, caller: str) -> float:
    """The tolerance, checked to lie in ``(0, 1e-3]``."""
    check_tolerance(tol, caller)
    return float(tol)


def check_count(value: Any, field: str, caller: str, low: int, high: int = 10**9) -> int:
    """An integer option, checked to lie in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not (low <= value <= high):
        raise InvalidOptionError(
            field, f"{caller}(): {field} must be an integer in [{low}, {high}], got {value!r}"
        )
    return int(value)


def probabilities(beta: FloatArray) -> FloatArray:
    """``exp(beta)``, with magnitudes below ``1e-250`` flushed to zero."""
    with np.errstate(over="ignore", under="ignore"):
        probs = np.exp(beta)
    probs[probs < _TINY] = 0.0
    return probs


def single_profile(model: Model) -> Policies | None:
    """The only profile when nobody ever has a choice."""
    if model.n_choices == 0:
        return tuple(np.asarray(m, dtype=float) for m in model.game.action_mask)
    return None


def _normalised(policy: FloatArray, mask: npt.NDArray[np.bool_]) -> FloatArray:
    """Rows clipped at 0 and rescaled to sum to 1 over the existing actions (uniform if empty)."""
    kept = np.where(mask, np.clip(policy, 0.0, None), 0.0)
    kept = np.where(kept.sum(axis=1, keepdims=True) > 0.0, kept, mask.astype(float))
    return np.asarray(kept / kept.sum(axis=1, keepdims=True), dtype=np.float64)


def result_from(
    model: Model,
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
    """A :class:`HomotopyResult` for ``policies``, certified afresh unless ``cert`` is given."""
    if cert is None:
        # A point where the path stopped: renormalise its rows (the sums hold only to the
        # corrector's tolerance there) before it is certified.
        policies = tuple(
            _normalised(p, mask) for p, mask in zip(policies, model.game.action_mask, strict=True)
        )
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
