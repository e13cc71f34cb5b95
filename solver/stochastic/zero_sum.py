"""Zero-sum stochastic games: Shapley iteration and Hoffman-Karp strategy iteration.

Both compute the value ``V*`` of every state of a 2-player constant-sum stochastic game
and optimal stationary strategies, with proven error bounds from the contraction of the
Shapley operator (Shapley 1953; Hoffman & Karp 1966). :func:`matrix_game_values` solves
a batch of stage matrix games by enumerating square submatrices (Shapley & Snow 1950),
with a linear program for large or hard ones. See docs/stochastic.md.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver.stochastic.game import StochasticGame
>>> pennies = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[-1.0, 1.0], [1.0, -1.0]]])
>>> game = StochasticGame(pennies[None] + 1.0, np.ones((1, 2, 2, 1)), discount=0.5)
>>> sol = solve_zero_sum_markov(game)  # stage value 1 forever: V = 1 / (1 - 0.5)
>>> sol.values.round(9).tolist(), sol.policies[0].round(9).tolist()
([2.0], [[0.5, 0.5]])

References
----------
.. [1] L. S. Shapley, "Stochastic games", PNAS 39 (1953) 1095-1100.
.. [2] L. S. Shapley and R. N. Snow, "Basic solutions of discrete games", Annals of
   Mathematics Studies 24 (1950) 27-35.
.. [3] A. J. Hoffman and R. M. Karp, "On nonterminating stochastic games", Management
   Science 12(5) (1966) 359-370.
.. [4] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997,
   sections 3.9 and 6.3.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import scipy.sparse.linalg
from equilibria.solver._typing import BoolArray, FloatArray
from equilibria.solver.errors import InvalidGameError, InvalidOptionError, UnsupportedError
from equilibria.solver.normal_form.zero_sum import lp_optimal_pair
from equilibria.solver.results import MarkovZeroSum
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certify_markov, solve_linear_values

__all__ = [
    "KERNEL_MAX_PAIRS",
    "ZERO_SUM_METHODS",
    "hoffman_karp",
    "matrix_game_values",
    "shapley_iteration",
    "solve_zero_sum_markov",
]

#: What a kernel returns: values (centred rewards), x, y, iterations, error bound.
_Run = tuple[FloatArray, FloatArray, FloatArray, int, float]
#: A value-iteration kernel: (unit-game data, tolerance on its values, max_iterations) -> run.
_Kernel = Callable[["_ZeroSumData", float, int], _Run]
#: Per game of a batch, the row and column sets of a kernel: two boolean (S, m), (S, n).
_Kernels = tuple[BoolArray, BoolArray]
#: Per game: x, y, bracket (low, up), kernel rows and columns (S, k).
_Candidates = tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64]
]

#: Largest number of square submatrix pairs, ``C(m + n, m) - 1``, for which a batch of
#: ``m x n`` games is solved by kernel enumeration; above it, one LP per state. Measured
#: on batches of 200 random games (2 cores): enumeration costs about 0.8 us per pair
#: and game (12 us for 3 x 3, 190 us for 5 x 5, 760 us for 6 x 6) against about 1.7 ms
#: per game for HiGHS, so the break-even is near 2,000 pairs; this bound keeps a margin.
KERNEL_MAX_PAIRS = 1000

#: Largest player-1 MDP solved by a direct dense solve in Hoffman-Karp; GMRES above.
_DIRECT_STATES = 400

#: Candidate entries (games x kernels x (k^2 + m + n)) processed at once.
_CHUNK = 4_000_000

#: Width of the bracket ``max_i (A y)_i - min_j (x^T A)_j`` (payoffs rescaled to
#: ``[1, 2]``) under which a kernel's strategy pair is accepted as optimal.
_KERNEL_ACCEPT = 1e-12
#: Bracket width (rescaled payoffs) under which the row LP's dual is accepted as the
#: column player's strategy without solving the column LP.
_LP_ACCEPT = 1e-10
#: |det| under which a kernel (entries in [1, 2]) is treated as singular.
_SINGULAR = 1e-11
#: Strategies from a kernel may be this negative (then clipped) before the kernel is rejected.
_NEGATIVE = 1e-12
#: The iterations stop when a sweep changes the values by at most this many units of
#: round-off (``eps`` times the value scale ``range / (1 - gamma)``): further sweeps only
#: stir the noise. Their error bound is computed whenever they stop.
_NOISE_ULPS = 64.0


# -- matrix games ------------------------------------------------------------------------------


def matrix_game_values(
    payoffs: Any, row_mask: Any = None, col_mask: Any = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Value and one optimal strategy pair of each game of a batch of matrix games.

    Game ``s`` is the matrix ``payoffs[s]`` restricted to the rows with ``row_mask[s]``
    and the columns with ``col_mask[s]``; the row player maximises. Games with few
    square submatrices (``C(m + n, m) - 1 <= KERNEL_MAX_PAIRS``) are solved together by
    Shapley-Snow kernel enumeration: for every nonsingular square submatrix ``M`` of
    the payoffs shifted to ``[1, 2]``, ``v = 1 / (1^T M^{-1} 1)``,
    ``x^T = v 1^T M^{-1}``, ``y = v M^{-1} 1`` (zero off the submatrix) is a candidate,
    accepted when it is a pair of distributions whose guarantees meet:
    ``max_i (A y)_i - min_j (x^T A)_j`` below 1e-12 of the state's payoff range. Some
    extreme optimal pair always has such a kernel (Shapley & Snow 1950). Larger games,
    and states where no kernel is accepted (ill-conditioned), are solved by linear
    programming (HiGHS).

    Parameters
    ----------
    payoffs : array_like of float, shape (S, m, n)
        The row player's payoffs of ``S`` games.
    row_mask : array_like of bool, shape (S, m), optional
        Which rows exist in each game (default all); at least one per game.
    col_mask : array_like of bool, shape (S, n), optional
        Which columns exist in each game (default all); at least one per game.

    Returns
    -------
    values : ndarray, shape (S,)
        ``val[payoffs[s]]``: the midpoint of the measured bracket
        ``[min_j (x^T A)_j, max_i (A y)_i]``, which contains the value.
    x : ndarray, shape (S, m)
        A maximin strategy of the row player, zero on rows that do not exist.
    y : ndarray, shape (S, n)
        A minimax strategy of the column player, zero on columns that do not exist.

    Raises
    ------
    InvalidGameError
        For payoffs that are not a finite ``(S, m, n)`` array (field ``"payoffs"``), or a
        mask of the wrong shape or with a game without rows or columns (field
        ``"row_mask"`` or ``"col_mask"``).

    Examples
    --------
    >>> pennies = [[1.0, -1.0], [-1.0, 1.0]]
    >>> saddle = [[3.0, 1.0], [0.0, 5.0]]  # with column 1 removed: row 0 wins 3
    >>> v, x, y = matrix_game_values([pennies, saddle], col_mask=[[True, True], [True, False]])
    >>> v.round(12).tolist(), x.round(12).tolist(), y.round(12).tolist()
    ([0.0, 3.0], [[0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [1.0, 0.0]])

    References
    ----------
    .. [1] L. S. Shapley and R. N. Snow, "Basic solutions of discrete games", Annals of
       Mathematics Studies 24 (1950) 27-35.
    .. [2] G. B. Dantzig, "A proof of the equivalence of the programming problem and the
       game problem", in Activity Analysis of Production and Allocation (1951) 330-335.
    """
    function = "matrix_game_values"
    try:
        a = np.array(payoffs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError("payoffs", f"{function}(): payoffs is not a numeric array ({exc})") from exc
    if a.ndim != 3 or 0 in a.shape:
        raise InvalidGameError(
            "payoffs", f"{function}(): payoffs must have shape (S, m, n) with S, m, n >= 1, got {a.shape}"
        )
    if not np.isfinite(a).all():
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(a))[0])
        raise InvalidGameError("payoffs", f"{function}(): payoff at index {bad} is not finite")
    rows = _validated_mask(row_mask, a.shape[:2], "row_mask", function)
    cols = _validated_mask(col_mask, (a.shape[0], a.shape[2]), "col_mask", function)
    values, x, y, _, _ = _matrix_game_values(a, rows, cols)
    return values, x, y


def _validated_mask(value: Any, shape: tuple[int, int], field: str, function: str) -> BoolArray:
    if value is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(value)
    if mask.shape != shape:
        raise InvalidGameError(field, f"{function}(): {field} must have shape {shape}, got {mask.shape}")
    mask = mask.astype(bool)
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise InvalidGameError(field, f"{function}(): {field} leaves game {int(empty[0])} without actions")
    return mask


def _matrix_game_values(
    a: FloatArray, row_mask: BoolArray, col_mask: BoolArray, hint: _Kernels | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, _Kernels]:
    """Values, optimal pairs, bracket half-widths (user units) and kernels of a batch.

    ``hint``: per game, the row and column sets of a kernel to try first (Shapley and
    Hoffman-Karp pass the previous step's: the stage games change little from step to
    step, so the old kernel usually stays optimal and enumeration is skipped). The
    returned kernels are empty for games solved by LP.
    """
    n_games, m, n = a.shape
    exists = row_mask[:, :, None] & col_mask[:, None, :]
    lo = np.where(exists, a, np.inf).min(axis=(1, 2))
    span = np.where(exists, a, -np.inf).max(axis=(1, 2)) - lo
    span = np.where(span > 0.0, span, 1.0)
    # Shifted to [1, 2]: every kernel of an optimal pair then has value >= 1 > 0.
    b = np.where(exists, (a - lo[:, None, None]) / span[:, None, None] + 1.0, 1.0)
    best = _Best(n_games, m, n)
    if _pair_count(m, n) <= KERNEL_MAX_PAIRS:
        if hint is not None:
            _hinted_pass(b, row_mask, col_mask, hint, best)
        _kernel_pass(b, row_mask, col_mask, best)
    for s in np.flatnonzero(best.upper - best.lower > _KERNEL_ACCEPT):
        rows, cols = np.flatnonzero(row_mask[s]), np.flatnonzero(col_mask[s])
        sub = b[s][np.ix_(rows, cols)]
        xs, ys = _lp_pair(sub - 1.0)
        guar_low, guar_up = float((xs @ sub).min()), float((sub @ ys).max())
        if guar_up - guar_low < best.upper[s] - best.lower[s]:
            best.x[s], best.y[s] = 0.0, 0.0
            best.x[s, rows], best.y[s, cols] = xs, ys
            best.lower[s], best.upper[s] = guar_low, guar_up
            best.kernel_rows[s], best.kernel_cols[s] = False, False
    values = (0.5 * (best.lower + best.upper) - 1.0) * span + lo
    half_width = 0.5 * np.maximum(best.upper - best.lower, 0.0) * span
    return values, best.x, best.y, half_width, (best.kernel_rows, best.kernel_cols)


class _Best:
    """Per game of a batch: the narrowest bracket found so far, its pair and its kernel."""

    def __init__(self, n_games: int, m: int, n: int) -> None:
        self.x = np.zeros((n_games, m))
        self.y = np.zeros((n_games, n))
        self.lower = np.full(n_games, -np.inf)
        self.upper = np.full(n_games, np.inf)
        self.kernel_rows = np.zeros((n_games, m), dtype=bool)
        self.kernel_cols = np.zeros((n_games, n), dtype=bool)

    def update(self, games: npt.NDArray[np.int64], found: _Candidates) -> None:
        """Keep the candidates ``found`` for ``games`` where their bracket is narrower."""
        xs, ys, low, up, rows, cols = found
        better = up - low < self.upper[games] - self.lower[games]
        games = games[better]
        self.x[games], self.y[games] = xs[better], ys[better]
        self.lower[games], self.upper[games] = low[better], up[better]
        self.kernel_rows[games], self.kernel_cols[games] = False, False
        self.kernel_rows[games[:, None], rows[better]] = True
        self.kernel_cols[games[:, None], cols[better]] = True


def _pair_count(m: int, n: int) -> int:
    """Number of pairs of equal-size non-empty row and column subsets: ``C(m+n, m) - 1``."""
    return sum(_comb(m, k) * _comb(n, k) for k in range(1, min(m, n) + 1))


def _comb(n: int, k: int) -> int:
    return len(_subsets(n, k))


@functools.lru_cache(maxsize=256)
def _subsets(n: int, k: int) -> npt.NDArray[np.int64]:
    """All ``k``-subsets of ``range(n)``, shape ``(C(n, k), k)``, lexicographic."""
    return np.array(list(itertools.combinations(range(n), k)), dtype=np.int64).reshape(-1, k)


@functools.lru_cache(maxsize=256)
def _kernel_pairs(m: int, n: int, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row and column index sets of every ``k x k`` submatrix, each ``(C(m,k) C(n,k), k)``."""
    rows, cols = _subsets(m, k), _subsets(n, k)
    return np.repeat(rows, len(cols), axis=0), np.tile(cols, (len(rows), 1))


def _hinted_pass(
    b: FloatArray, row_mask: BoolArray, col_mask: BoolArray, hint: _Kernels, best: _Best
) -> None:
    """Try each game's hinted kernel (one square submatrix per game), in place."""
    hint_rows, hint_cols = hint
    sizes = hint_rows.sum(axis=1)
    square = (sizes > 0) & (sizes == hint_cols.sum(axis=1))
    for k in np.unique(sizes[square]):
        games = np.flatnonzero(square & (sizes == k))
        # The indices of the k True entries of each row, in increasing order.
        rows = np.argsort(~hint_rows[games], axis=1, kind="stable")[:, None, :k]
        cols = np.argsort(~hint_cols[games], axis=1, kind="stable")[:, None, :k]
        best.update(games, _best_kernels(b[games], row_mask[games], col_mask[games], rows, cols))


def _kernel_pass(b: FloatArray, row_mask: BoolArray, col_mask: BoolArray, best: _Best) -> None:
    """Shapley-Snow kernel enumeration over the batch ``b`` (entries in [1, 2]), in place.

    Kernels are tried by size ``k = 1, 2, ...``; a game leaves the batch as soon as one
    of its kernels gives a bracket narrower than ``_KERNEL_ACCEPT``. For each game, the
    narrowest bracket seen is kept in ``best``. Games are processed in chunks of at
    most ``_CHUNK`` candidate entries.
    """
    m, n = b.shape[1:]
    for k in range(1, min(m, n) + 1):
        todo = np.flatnonzero(best.upper - best.lower > _KERNEL_ACCEPT)
        rows, cols = _kernel_pairs(m, n, k)
        chunk = max(1, _CHUNK // (len(rows) * (k * k + m + n)))
        for first in range(0, todo.size, chunk):
            part = todo[first : first + chunk]
            best.update(part, _best_kernels(b[part], row_mask[part], col_mask[part], rows, cols))


def _best_kernels(
    b: FloatArray,
    row_mask: BoolArray,
    col_mask: BoolArray,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
) -> _Candidates:
    """Per game, the kernel among ``(rows[p], cols[p])`` with the narrowest bracket.

    ``rows`` and ``cols`` are ``(P, k)`` (the same kernels for every game) or
    ``(S, P, k)`` (per game). Returns the chosen kernel's strategies (full length, zero
    off the kernel), its measured bracket ``(min_j (x^T B)_j, max_i (B y)_i)`` —
    ``(-inf, inf)`` when no kernel is valid — and its row and column indices ``(S, k)``.
    """
    n_games, m, n = b.shape
    rows = np.broadcast_to(rows, (n_games, *rows.shape[-2:]))
    cols = np.broadcast_to(cols, (n_games, *cols.shape[-2:]))
    n_pairs, k = rows.shape[1:]
    games = np.arange(n_games)
    g = games[:, None, None]
    valid = row_mask[g, rows].all(axis=2) & col_mask[g, cols].all(axis=2)  # (s, P)
    mats = b[g[..., None], rows[..., :, None], cols[..., None, :]]  # (s, P, k, k)
    if k == 1:
        inv_row = inv_col = 1.0 / mats[..., 0]  # (s, P, 1)
    else:
        singular = ~valid | (np.abs(np.linalg.det(mats)) < _SINGULAR)
        valid &= ~singular
        mats[singular] = np.eye(k)
        ones = np.ones((*mats.shape[:-1], 1))
        both = np.linalg.solve(np.stack([mats, np.swapaxes(mats, -1, -2)]), ones)[..., 0]
        inv_col, inv_row = both[0], both[1]  # M^{-1} 1 and M^{-T} 1
    total_col = inv_col.sum(axis=-1)
    total_row = inv_row.sum(axis=-1)
    valid &= (total_col > 0.0) & (total_row > 0.0)  # the kernel's value 1 / (1^T M^{-1} 1) > 0
    y_k = inv_col / np.where(valid, total_col, 1.0)[..., None]
    x_k = inv_row / np.where(valid, total_row, 1.0)[..., None]
    valid &= np.isfinite(x_k).all(axis=-1) & np.isfinite(y_k).all(axis=-1)
    valid &= (x_k >= -_NEGATIVE).all(axis=-1) & (y_k >= -_NEGATIVE).all(axis=-1)
    x_k = np.clip(x_k, 0.0, None)
    y_k = np.clip(y_k, 0.0, None)
    x_k /= np.where(valid, x_k.sum(axis=-1), 1.0)[..., None]
    y_k /= np.where(valid, y_k.sum(axis=-1), 1.0)[..., None]
    pairs = np.arange(n_pairs)[None, :, None]
    x_full = np.zeros((n_games, n_pairs, m))
    y_full = np.zeros((n_games, n_pairs, n))
    x_full[g, pairs, rows] = x_k
    y_full[g, pairs, cols] = y_k
    guar_low = np.where(col_mask[:, None, :], np.matmul(x_full, b), np.inf).min(axis=2)  # (s, P)
    guar_up = np.where(row_mask[:, None, :], np.matmul(y_full, np.swapaxes(b, 1, 2)), -np.inf).max(axis=2)
    guar_low = np.where(valid, guar_low, -np.inf)
    guar_up = np.where(valid, guar_up, np.inf)
    best = (guar_up - guar_low).argmin(axis=1)
    return (
        x_full[games, best],
        y_full[games, best],
        guar_low[games, best],
        guar_up[games, best],
        rows[games, best],
        cols[games, best],
    )


def _lp_pair(mat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Maximin and minimax strategies of ``mat`` (entries in [0, 1]) by HiGHS (dual simplex).

    The column player's own LP is solved only when the row LP's pair has a bracket wider
    than ``_LP_ACCEPT``.
    """
    return lp_optimal_pair(
        mat, gap=_LP_ACCEPT, feasibility=1e-10, method="highs", caller="matrix_game_values"
    )


# -- stochastic games --------------------------------------------------------------------------


class _ZeroSumData:
    """Player 0's rewards (centred), transitions and action masks of a validated game."""

    def __init__(self, game: StochasticGame) -> None:
        m, n = game.num_actions
        self.n_states, self.m, self.n = game.n_states, m, n
        self.gamma = game.discount
        self.matrix: sp.csr_array = game.transition_matrix
        self.row_mask, self.col_mask = game.action_mask
        rewards = game.rewards[:, 0]
        exists = game.joint_mask
        # The constant part: values are computed for r_0 - offset, then shifted back.
        self.offset = 0.5 * float(rewards[exists].min() + rewards[exists].max())
        self.rewards = np.where(exists, rewards - self.offset, 0.0)
        self.scale = max(float(np.ptp(rewards[exists])), np.finfo(float).tiny)

    @property
    def noise(self) -> float:
        """A change of the values this small is round-off (:data:`_NOISE_ULPS` ulps of the value scale)."""
        return _NOISE_ULPS * np.finfo(float).eps * self.scale / (1.0 - self.gamma)

    def stage_games(self, values: FloatArray) -> FloatArray:
        """``Q(s) = r_0(s) + gamma P V``, shape ``(S, m, n)``."""
        return self.rewards + self.gamma * (self.matrix @ values).reshape(self.n_states, self.m, self.n)

    def shifted(self, values: FloatArray) -> FloatArray:
        """Values of the centred rewards in the units of the game the data was built from."""
        return values + self.offset / (1.0 - self.gamma)


def _validated(game: Any, function: str, tol: Any, max_iterations: Any) -> tuple[float, int]:
    if not isinstance(game, StochasticGame):
        raise InvalidGameError("game", f"{function}(): expected a StochasticGame, got {type(game).__name__}")
    if game.n_players != 2:
        raise UnsupportedError(
            "game", f"{function}(): needs a 2-player zero-sum game, got {game.n_players} players"
        )
    if game.horizon is not None:
        raise UnsupportedError(
            "game", f"{function}(): needs an infinite-horizon game (discount < 1), got horizon {game.horizon}"
        )
    if not game.is_zero_sum():
        unit = game.unit_game.rewards
        total = (unit[:, 0] + unit[:, 1])[game.joint_mask]
        raise UnsupportedError(
            "game",
            f"{function}(): game is not constant-sum: with each player's rewards mapped onto [0, 1], "
            f"r_0 + r_1 ranges over [{total.min():.6g}, {total.max():.6g}]",
        )
    try:
        tolerance = float(tol)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(
            "tolerance", f"{function}(): tol must be a positive number, got {tol!r}"
        ) from exc
    if not (np.isfinite(tolerance) and tolerance > 0.0):
        raise InvalidOptionError("tolerance", f"{function}(): tol must be a positive number, got {tol!r}")
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, int | np.integer)
        or max_iterations < 1
    ):
        raise InvalidOptionError(
            "max_iterations", f"{function}(): max_iterations must be an integer >= 1, got {max_iterations!r}"
        )
    return tolerance, int(max_iterations)


def _solve(
    game: StochasticGame, method: str, kernel: _Kernel, tol: float, max_iterations: int
) -> MarkovZeroSum:
    """Run ``kernel`` on the unit game; values and their bound in ``game``'s units, certified on it."""
    data = _ZeroSumData(game.unit_game)
    values, x, y, iterations, bound = kernel(data, float(game.unit_value_tolerances(tol)[0]), max_iterations)
    user_values = game.values_from_unit(data.shifted(values), player=0)
    scale = float(game.reward_scales[0])
    # The affine map back adds the round-off of |min r_0| * steps + range * values.
    low = abs(float(game.reward_minima[0]))
    with np.errstate(over="ignore"):
        roundoff = 8.0 * np.finfo(float).eps * (low + scale) * game.effective_horizon
        user_bound = scale * bound + roundoff
    cert = certify_markov(game, (x, y))
    return MarkovZeroSum(
        values=user_values,
        policies=(x, y),
        nash_conv=cert.nash_conv,
        max_state_gap=cert.max_state_gap,
        method=method,
        iterations=iterations,
        error_bound=float(user_bound),
    )


def shapley_iteration(
    game: StochasticGame, *, tol: float = 1e-8, max_iterations: int = 100_000
) -> MarkovZeroSum:
    """Values and optimal stationary strategies by Shapley's value iteration.

    ``V_{k+1} = val[r_0 + gamma P V_k]`` state by state (all stage games in one batch,
    see :func:`matrix_game_values`), from ``V_0`` = the midpoint of the reward range
    ``/ (1 - gamma)``. Iteration stops when the contraction bound

    .. math::

        \\|V_{k+1} - V^*\\|_\\infty \\le \\frac{\\gamma \\|V_{k+1} - V_k\\|_\\infty
        + \\delta}{1 - \\gamma} < \\mathrm{tol}

    holds on :attr:`~StochasticGame.unit_game` (``tol`` there is the unit game's share of
    player 0's value tolerance), where ``delta`` is the largest half-width of the stage
    games' measured brackets (the error of the computed ``val``, ~1e-15 relative). The
    strategies are optimal in the last stage games ``Q(V_k)``.

    Parameters
    ----------
    game : StochasticGame
        2 players, rewards summing to a constant (:meth:`StochasticGame.is_zero_sum`),
        infinite horizon.
    tol : float, optional(default=1e-8)
        Bound on the error of the values relative to player 0's value range: the
        returned ``error_bound`` is at most ``game.value_tolerances(tol)[0]`` (``tol``
        times its reward range over ``1 - gamma``, floored at float round-off). The
        iteration runs on :attr:`~StochasticGame.unit_game`, so the units of the rewards
        change no answer.
    max_iterations : int, optional(default=100_000)
        Sweeps at most; the result is then returned with ``error_bound`` above ``tol``.
        Iteration also stops when a sweep no longer changes the values beyond
        floating-point noise.

    Returns
    -------
    MarkovZeroSum
        ``values`` to player 0 in the user's units, ``policies`` ``(x, y)``, their
        ``nash_conv`` and ``max_state_gap`` from
        :func:`~equilibria.solver.stochastic.regret.certify_markov`, ``method="shapley"``,
        the number of sweeps and the proven ``error_bound``.

    Raises
    ------
    UnsupportedError
        For a game without 2 players, with a finite horizon, or not constant-sum (field
        ``"game"``).
    InvalidOptionError
        For ``tol`` not positive (``"tolerance"``) or ``max_iterations`` below 1.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> a = np.array([[3.0, 0.0], [1.0, 2.0]])  # value 3/2, x = (1/4, 3/4)
    >>> game = StochasticGame(np.stack([a, 5.0 - a])[None], np.ones((1, 2, 2, 1)), discount=0.9)
    >>> sol = shapley_iteration(game)
    >>> float(sol.values[0].round(7)), sol.policies[0].round(7).tolist()
    (15.0, [[0.25, 0.75]])
    >>> bool(sol.error_bound <= game.value_tolerances(1e-8)[0])  # 1e-8 of 3 / (1 - 0.9)
    True

    References
    ----------
    .. [1] L. S. Shapley, "Stochastic games", PNAS 39 (1953) 1095-1100.
    """
    tolerance, iterations = _validated(game, "shapley_iteration", tol, max_iterations)
    return _solve(game, "shapley", _shapley, tolerance, iterations)


def _shapley(data: _ZeroSumData, tol: float, max_iterations: int) -> _Run:
    gamma = data.gamma
    values = np.zeros(data.n_states)
    noise = data.noise
    kernels: _Kernels | None = None
    iteration = 0
    while True:
        iteration += 1
        new, x, y, half, kernels = _matrix_game_values(
            data.stage_games(values), data.row_mask, data.col_mask, kernels
        )
        change = float(np.abs(new - values).max())
        bound = (gamma * change + float(half.max())) / (1.0 - gamma)
        values = new
        if bound < tol or change <= noise or iteration >= max_iterations:
            return values, x, y, iteration, bound


def hoffman_karp(game: StochasticGame, *, tol: float = 1e-8, max_iterations: int = 1000) -> MarkovZeroSum:
    """Values and optimal stationary strategies by Hoffman-Karp strategy iteration.

    From ``V_0 = `` the midpoint of the reward range ``/ (1 - gamma)``, step ``k``:

    1. solve every stage game ``Q_k(s) = r_0(s) + gamma P V_k`` (one batch, see
       :func:`matrix_game_values`), giving ``T V_k`` and player 0's optimal ``x_k``;
    2. stop if the Bellman-residual bound
       ``||T V_k - V*|| <= delta + gamma (||T V_k - V_k|| + delta) / (1 - gamma)`` is below
       ``tol`` (``delta``: the largest half-width of the stage games' brackets);
    3. otherwise player 1 solves the MDP it faces against ``x_k`` exactly, by policy
       iteration, and ``V_{k+1}`` is the value ``x_k`` guarantees (``>= V_k`` from
       ``k = 1`` on).

    The returned values are ``T V_k`` and the strategies are optimal in the stage games
    ``Q_k``.

    Parameters
    ----------
    game : StochasticGame
        2 players, rewards summing to a constant, infinite horizon.
    tol : float, optional(default=1e-8)
        Bound on the error of the values relative to player 0's value range: the
        returned ``error_bound`` is at most ``game.value_tolerances(tol)[0]`` (``tol``
        times its reward range over ``1 - gamma``, floored at float round-off). The
        iteration runs on :attr:`~StochasticGame.unit_game`, so the units of the rewards
        change no answer.
    max_iterations : int, optional(default=1000)
        Strategy-improvement steps at most; the result is then returned with
        ``error_bound`` above ``tol``. Iteration also stops when a step no longer
        improves the values beyond floating-point noise.

    Returns
    -------
    MarkovZeroSum
        As :func:`shapley_iteration`, with ``method="hoffman_karp"`` and ``iterations``
        the number of stage-game batches solved.

    Raises
    ------
    UnsupportedError
        For a game without 2 players, with a finite horizon, or not constant-sum (field
        ``"game"``).
    InvalidOptionError
        For ``tol`` not positive (``"tolerance"``) or ``max_iterations`` below 1.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> a = np.array([[4.0, 0.0], [1.0, 2.0]])  # value 8/5, y = (2/5, 3/5)
    >>> game = StochasticGame(np.stack([a, -a])[None], np.ones((1, 2, 2, 1)), discount=0.9)
    >>> sol = hoffman_karp(game)
    >>> float(sol.values[0].round(9)), sol.policies[1].round(9).tolist(), sol.iterations
    (16.0, [[0.4, 0.6]], 2)

    References
    ----------
    .. [1] A. J. Hoffman and R. M. Karp, "On nonterminating stochastic games", Management
       Science 12(5) (1966) 359-370.
    .. [2] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer,
       1997, section 6.3.
    """
    tolerance, iterations = _validated(game, "hoffman_karp", tol, max_iterations)
    return _solve(game, "hoffman_karp", _hoffman_karp, tolerance, iterations)


def _hoffman_karp(data: _ZeroSumData, tol: float, max_iterations: int) -> _Run:
    gamma = data.gamma
    values = np.zeros(data.n_states)
    noise = data.noise
    kernels: _Kernels | None = None
    actions: npt.NDArray[np.int64] | None = None
    for iteration in range(1, max_iterations + 1):
        operator, x, y, half, kernels = _matrix_game_values(
            data.stage_games(values), data.row_mask, data.col_mask, kernels
        )
        delta = float(half.max())
        residual = float(np.abs(operator - values).max())
        bound = delta + gamma * (residual + delta) / (1.0 - gamma)
        if bound < tol or iteration == max_iterations:
            break
        guaranteed, actions = _minimiser_values(data, x, values, actions)
        if iteration > 1 and float((guaranteed - values).max()) <= noise:
            break  # no improvement left above rounding: T V_k is as good as it gets
        values = guaranteed
    return operator, x, y, iteration, bound


def _minimiser_values(
    data: _ZeroSumData, x: FloatArray, start: FloatArray, actions: npt.NDArray[np.int64] | None
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Values player 0's stationary ``x`` guarantees: player 1's MDP, by policy iteration.

    Player 1's actions ``b`` in state ``s`` cost ``sum_a x(s, a) r_0(s, a, b)`` and lead
    to ``sum_a x(s, a) P(. | s, a, b)``. Policy iteration starts from the previous best
    response (or the greedy one at ``start``) and switches an action only on a strict
    improvement, so it terminates.
    """
    n_states, m, n, gamma = data.n_states, data.m, data.n, data.gamma
    # Row s*n + b of the player-1 MDP averages rows s*A + a*n + b of the game with weights x(s, a).
    mdp_rows = (np.arange(n_states)[:, None, None] * n + np.arange(n)[None, None, :]).repeat(m, axis=1)
    weights = sp.csr_array(
        (np.repeat(x.reshape(-1), n), (mdp_rows.reshape(-1), np.arange(n_states * m * n))),
        shape=(n_states * n, n_states * m * n),
    )
    costs = (weights @ data.rewards.reshape(-1)).reshape(n_states, n)
    transitions = sp.csr_array(weights @ data.matrix)
    states = np.arange(n_states)
    threshold = 1e-12 * data.scale / (1.0 - gamma)

    def q_values(values: FloatArray) -> FloatArray:
        q = costs + gamma * (transitions @ values).reshape(n_states, n)
        return np.where(data.col_mask, q, np.inf)

    if actions is None:
        actions = q_values(start).argmin(axis=1)
    values = start
    for _ in range(100_000):
        values = _policy_values(
            sp.csr_array(transitions[states * n + actions]), costs[states, actions], gamma, values
        )
        q = q_values(values)
        best = q.argmin(axis=1)
        improve = q[states, best] < q[states, actions] - threshold
        if not improve.any():
            return np.minimum(values, q.min(axis=1)), actions
        actions = np.where(improve, best, actions)
    raise RuntimeError("hoffman_karp(): policy iteration did not terminate")  # pragma: no cover


def _policy_values(matrix: sp.csr_array, costs: FloatArray, gamma: float, guess: FloatArray) -> FloatArray:
    """Solve ``(I - gamma P) V = c``: dense LU for small games, else GMRES from ``guess``.

    GMRES is accepted only when the residual ``||(I - gamma P) V - c||_inf`` is below
    1e-13 of ``||c||_inf`` (so ``V`` is exact to ~1e-13 / (1 - gamma) relative); a
    dense or sparse LU solve (:func:`~equilibria.solver.stochastic.regret.solve_linear_values`)
    is the fallback. On 1000 states with a few successors each, GMRES takes a few
    milliseconds where the dense LU takes tens.
    """
    n_states = matrix.shape[0]
    if n_states <= _DIRECT_STATES or gamma == 0.0:
        return solve_linear_values(matrix, costs, gamma)
    system = sp.csr_array(sp.eye_array(n_states, format="csr") - gamma * matrix)
    target = 1e-13 * max(float(np.abs(costs).max()), np.finfo(float).tiny)
    values, info = scipy.sparse.linalg.gmres(
        system, costs, x0=guess, rtol=0.0, atol=target, restart=60, maxiter=20
    )
    if info == 0 and float(np.abs(system @ values - costs).max()) <= target:
        return np.asarray(values, dtype=np.float64)
    return solve_linear_values(matrix, costs, gamma)  # pragma: no cover - GMRES stalled


#: The methods of :func:`solve_zero_sum_markov`: name -> (kernel, default max_iterations).
ZERO_SUM_METHODS: dict[str, tuple[_Kernel, int]] = {
    "hoffman_karp": (_hoffman_karp, 1000),
    "shapley": (_shapley, 100_000),
}


def solve_zero_sum_markov(
    game: StochasticGame, *, method: str = "hoffman_karp", tol: float = 1e-8
) -> MarkovZeroSum:
    """Value of every state and optimal stationary strategies of a zero-sum stochastic game.

    Parameters
    ----------
    game : StochasticGame
        2 players whose rewards sum to a constant ``c`` (any ``c``) in every state and
        joint action (:meth:`StochasticGame.is_zero_sum`), infinite horizon.
    method : {"hoffman_karp", "shapley"}, optional(default="hoffman_karp")
        Strategy iteration (:func:`hoffman_karp`) or value iteration
        (:func:`shapley_iteration`).
    tol : float, optional(default=1e-8)
        Bound on the error of the values relative to player 0's value range: the
        returned ``error_bound`` is at most ``game.value_tolerances(tol)[0]`` (``tol``
        times its reward range over ``1 - gamma``, floored at float round-off). The
        iteration runs on :attr:`~StochasticGame.unit_game`, so the units of the rewards
        change no answer.

    Returns
    -------
    MarkovZeroSum
        Player 0's values in the user's units (player 1's are
        ``c / (1 - gamma) - values`` when ``r_0 + r_1 = c``; a positive affine map of
        player 1's rewards maps its values alike), an optimal stationary pair with its certificate
        (``nash_conv`` from the initial distribution and ``max_state_gap``, by exact
        policy evaluation and best responses on the user's game), the method, its
        iteration count and the proven ``error_bound`` on the values.

    Raises
    ------
    UnsupportedError
        For a game without 2 players, with a finite horizon, or not constant-sum (field
        ``"game"``).
    InvalidOptionError
        For an unknown ``method`` (field ``"method"``) or ``tol`` not positive
        (``"tolerance"``).

    Examples
    --------
    A race: in state 0, matching the opponent's action ends the game in the absorbing
    state 1, worth 3 per step to player 0; otherwise play stays in state 0.

    >>> import numpy as np
    >>> from equilibria.solver.stochastic.game import StochasticGame
    >>> r0 = np.array([[[0.0, 4.0], [2.0, 0.0]], [[3.0, 3.0], [3.0, 3.0]]])
    >>> p = np.zeros((2, 2, 2, 2))
    >>> p[0, 0, 0, 1] = p[0, 1, 1, 1] = p[0, 0, 1, 0] = p[0, 1, 0, 0] = 1.0
    >>> p[1, :, :, 1] = 1.0
    >>> game = StochasticGame(np.stack([r0, -r0], axis=1), p, discount=0.5)
    >>> sol = solve_zero_sum_markov(game, method="shapley")
    >>> sol.values.round(6).tolist(), bool(sol.nash_conv < 1e-8)
    ([3.632993, 6.0], True)

    References
    ----------
    .. [1] L. S. Shapley, "Stochastic games", PNAS 39 (1953) 1095-1100.
    .. [2] A. J. Hoffman and R. M. Karp, "On nonterminating stochastic games", Management
       Science 12(5) (1966) 359-370.
    .. [3] J. Filar and K. Vrieze, *Competitive Markov Decision Processes*, Springer, 1997.
    """
    function = "solve_zero_sum_markov"
    if not isinstance(method, str) or method not in ZERO_SUM_METHODS:
        raise InvalidOptionError(
            "method", f"{function}(): unknown method {method!r}; expected one of {sorted(ZERO_SUM_METHODS)}"
        )
    kernel, max_iterations = ZERO_SUM_METHODS[method]
    tolerance, _ = _validated(game, function, tol, max_iterations)
    return _solve(game, method, kernel, tolerance, max_iterations)
