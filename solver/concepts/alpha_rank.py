"""α-Rank: the pure strategy profiles of a game ranked by an evolutionary Markov chain.

Each player is a population of ``m`` individuals (multi-population α-Rank; a symmetric
2-player game may be read as one population playing itself). From a monomorphic profile,
one population at a time is invaded by a mutant strategy, which takes over with the
fixation probability of a Moran process under selection intensity ``α`` (Omidshafiei et
al. 2019, eqs. 4 and 6): the chain over profiles moves from ``s`` to ``s'``, a deviation
of population ``k`` from ``s_k`` to ``σ``, with probability ``η ρ``, where ``η = 1 /
Σ_k (|S_k| - 1)`` and, with ``u = α (f_k(s') - f_k(s))``,

    ρ = (1 - e^{-u}) / (1 - e^{-m u})      (1 / m when u = 0).

The ranking is the chain's stationary distribution. The payoffs are each player's own
mapped onto ``[0, 1]`` (:attr:`~equilibria.solver.game.NormalFormGame.unit_game`), so
``α`` is dimensionless and scaling a player's payoffs changes nothing. As the paper
prescribes, ``α`` is swept upward (doubled from 1) until the distribution stops changing
(the large-``α`` limit) or the chain falls apart in floating point; the ``α`` used and the
sweep are reported. In the limit the mass lies on the sink strongly connected components
of the response graph (an edge to every deviation that does not lower the deviator's
payoff), which are reported too: the game's Markov-Conley chains.

The stationary distribution is found by Grassmann-Taksar-Heyman elimination, which
subtracts nothing: every mass comes out to high relative accuracy however small. The
large-``α`` chains need it: they are nearly completely decomposable (the sink components
hardly leak), any mixture of the sinks' quasi-stationary distributions has a tiny residual,
and an elimination that subtracts (LU) can put the mass on the wrong sink with its residual
still at round-off (measured on a 3-player 10 x 10 x 10 game at ``α = 128``). The rates
enter in logs, each state's scaled by its largest (:meth:`_Chain.stationary`), so a sink
whose ways out are far below 1e-308 still leaves and the sweep reaches large α.

Examples
--------
Rock-paper-scissors: every profile alike, in one population and in two.

>>> import numpy as np
>>> from equilibria.solver import NormalFormGame
>>> rps = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
>>> game = NormalFormGame.from_bimatrix(rps, -rps)
>>> ranked = alpha_rank(game)
>>> ranked.single_population, np.round(ranked.masses, 6).tolist()
(True, [0.333333, 0.333333, 0.333333])
>>> multi = alpha_rank(game, AlphaRankOptions(populations="multi"))
>>> len(multi.profiles), round(float(multi.masses.max() - multi.masses.min()), 9)
(9, 0.0)

The prisoner's dilemma: mutual defection is strictly dominant and takes the mass.

>>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
>>> ranked = alpha_rank(pd, AlphaRankOptions(populations="multi"))
>>> ranked.profiles[0], round(float(ranked.masses[0]), 6), ranked.sink_components
((1, 1), 1.0, (((1, 1),),))

References
----------
.. [1] S. Omidshafiei, C. Papadimitriou, G. Piliouras, K. Tuyls, M. Rowland, J.-B. Lespiau,
   W. M. Czarnecki, M. Lanctot, J. Perolat and R. Munos, "α-Rank: Multi-agent evaluation
   by evolution", Scientific Reports 9 (2019) 9937.
.. [2] A. Traulsen, J. M. Pacheco and M. A. Nowak, "Pairwise comparison and selection
   temperature in evolutionary game dynamics", Journal of Theoretical Biology 246 (2007)
   522-529.
.. [3] W. K. Grassmann, M. I. Taksar and D. P. Heyman, "Regenerative analysis and steady
   state distributions for Markov chains", Operations Research 33 (1985) 1107-1116.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, check_time_limit, quoted
from equilibria.solver.evaluation import AlphaRank
from equilibria.solver.game import NormalFormGame
from equilibria.solver.kernels import warm_up

__all__ = ["AlphaRankOptions", "alpha_rank", "POPULATIONS", "MAX_PROFILES", "DEFAULT_POPULATION_SIZE"]

#: How the players map onto populations: one per player ("multi"), one for a symmetric
#: 2-player game ("single"), or "auto" (one when the game is symmetric, else one per player).
POPULATIONS = ("auto", "multi", "single")
#: Individuals per population when the options name none (the paper's experiments use 50).
DEFAULT_POPULATION_SIZE = 50
#: Largest population size: the single-population fitness table holds ``m`` entries per move.
MAX_POPULATION_SIZE = 100_000
#: Largest number of pure profiles (the chain's states) ranked: the dense elimination costs
#: ``n^3 / 3`` multiply-adds per ``α`` (4,096 states: about 5 s on one core) and ``8 n^2``
#: bytes (128 MiB).
MAX_PROFILES = 4_096
#: The sweep's first α and its factor.
_FIRST_ALPHA, _FACTOR = 1.0, 2.0
#: Consecutive distributions this close (largest difference of a mass) end the sweep.
_CONVERGED = 1e-8
#: Most sweep steps (α up to 2^59).
_MAX_STEPS = 60
#: Why the sweep ended, by :attr:`AlphaRank.ended_by`.
ENDINGS = ("converged", "alpha_given", "underflow", "time_limit", "max_steps")


@dataclasses.dataclass(frozen=True)
class AlphaRankOptions:
    """The options of α-Rank.

    Attributes
    ----------
    alpha : float or None
        The selection intensity, per unit of each player's payoff range. None (default):
        swept upward to the large-α limit, as the paper prescribes.
    population_size : int
        Individuals per population (``m``), at least 2 (default 50).
    populations : {"auto", "multi", "single"}
        One population per player, one for a symmetric 2-player game, or "auto" (one
        when the game is symmetric within the solve's tolerance, else one per player).
    """

    alpha: float | None = None
    population_size: int = DEFAULT_POPULATION_SIZE
    populations: str = "auto"

    def checked(self, function: str = "alpha_rank") -> AlphaRankOptions:
        """These options, validated.

        Raises
        ------
        InvalidOptionError
            Naming the field (``alpha_rank.alpha``, ``alpha_rank.population_size``,
            ``alpha_rank.populations``).
        """
        alpha = self.alpha
        if alpha is not None and (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or not (math.isfinite(alpha) and alpha > 0.0)
        ):
            raise InvalidOptionError(
                "alpha_rank.alpha", f"{function}(): alpha must be None or positive and finite, got {alpha!r}"
            )
        size = self.population_size
        if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= MAX_POPULATION_SIZE:
            raise InvalidOptionError(
                "alpha_rank.population_size",
                f"{function}(): population_size must be an integer from 2 to {MAX_POPULATION_SIZE:,}, "
                f"got {size!r}",
            )
        if self.populations not in POPULATIONS:
            raise InvalidOptionError(
                "alpha_rank.populations",
                f"{function}(): populations must be one of {', '.join(POPULATIONS)}, "
                f"got {quoted(str(self.populations))}",
            )
        return AlphaRankOptions(None if alpha is None else float(alpha), size, self.populations)


def alpha_rank(
    game: NormalFormGame,
    options: AlphaRankOptions = AlphaRankOptions(),
    *,
    tol: float = 1e-9,
    time_limit: float | None = None,
) -> AlphaRank:
    """Rank the pure profiles of ``game`` by α-Rank.

    Parameters
    ----------
    game : NormalFormGame
        Any number of players.
    options : AlphaRankOptions, optional
        α (default: swept), the population size and the populations.
    tol : float, optional(default=1e-9)
        Payoff differences within ``tol`` (on each player's payoffs mapped onto [0, 1])
        are ties: neutral drift, and both ways in the response graph.
    time_limit : float, optional
        Seconds the sweep may take: it stops between two values of α once they are spent
        (``ended_by="time_limit"``), with the distribution of the last α solved.

    Returns
    -------
    AlphaRank

    Raises
    ------
    InvalidOptionError
        For options outside their range (see :meth:`AlphaRankOptions.checked`),
        ``populations="single"`` for a game that is not symmetric, or a given ``alpha``
        whose chain falls apart in floating point.
    ProblemTooLargeError
        For more than :data:`MAX_PROFILES` pure profiles.
    """
    options = options.checked()
    time_limit = check_time_limit(time_limit, "alpha_rank")
    started = time.perf_counter()
    unit = game.unit_game.payoffs
    symmetric = game.is_symmetric(tol)
    if options.populations == "single" and not symmetric:
        raise InvalidOptionError(
            "alpha_rank.populations",
            "alpha_rank(): populations='single' needs a symmetric 2-player game (B = A^T within tol)",
        )
    single = options.populations == "single" or (options.populations == "auto" and symmetric)
    shape = unit.shape[1:2] if single else unit.shape[1:]
    count = math.prod(shape)
    if count > MAX_PROFILES:
        raise ProblemTooLargeError(
            "payoffs", f"alpha_rank(): {count:,} pure profiles, over the limit of {MAX_PROFILES:,}"
        )
    m = options.population_size
    chain = _SingleChain(unit[0], m, tol) if single else _MultiChain(unit, m, tol)
    sinks = _sink_components(chain.response_graph(), shape)
    if options.alpha is not None:
        pi = chain.stationary(options.alpha)
        if pi is None:
            raise InvalidOptionError(
                "alpha_rank.alpha",
                f"alpha_rank(): at alpha={options.alpha:g} the chain falls apart in floating point (some "
                "states' every way out is rarer than 1e-308 of their others); use a smaller alpha, or none "
                "to sweep",
            )
        used, ended_by, sweep = options.alpha, "alpha_given", [(options.alpha, math.nan)]
    else:
        pi, used, ended_by, sweep = _sweep(chain, started, time_limit)
        if pi is None:
            raise InvalidOptionError(
                "alpha_rank.population_size",
                f"alpha_rank(): population_size={m} is too large for the fixation probabilities "
                "to be represented at alpha=1",
            )
    transitions = chain.transitions(used)
    residual = float(np.abs(transitions.T @ pi - pi).sum())
    # Masses equal to 9 significant digits rank as ties, in profile order (the elimination's
    # relative accuracy is far better, so a tiny mass still ranks above a tinier one).
    rounded = [float(f"{mass:.9g}") for mass in pi.tolist()]
    order = sorted(range(count), key=lambda k: (-rounded[k], k))
    profiles = tuple(tuple(int(i) for i in np.unravel_index(k, shape)) for k in order)
    return AlphaRank(
        profiles=profiles,
        masses=pi[order],
        alpha=used,
        population_size=m,
        single_population=single,
        sink_components=sinks,
        sweep=tuple(sweep),
        ended_by=ended_by,
        residual=residual,
    )


def _sweep(
    chain: _MultiChain | _SingleChain, started: float, time_limit: float | None
) -> tuple[FloatArray | None, float, str, list[tuple[float, float]]]:
    """The distribution at the large-α limit: α doubled from 1 until no mass moves by more
    than :data:`_CONVERGED`, the chain falls apart, the time limit or :data:`_MAX_STEPS`."""
    pi: FloatArray | None = None
    used, sweep = _FIRST_ALPHA, []
    current = _FIRST_ALPHA
    for _ in range(_MAX_STEPS):
        if pi is not None and time_limit is not None and time.perf_counter() - started > time_limit:
            return pi, used, "time_limit", sweep
        candidate = chain.stationary(current)
        if candidate is None:  # the chain falls apart in floating point
            return pi, used, "underflow", sweep
        change = math.nan if pi is None else float(np.abs(candidate - pi).max())
        sweep.append((current, change))
        pi, used = candidate, current
        if change <= _CONVERGED:
            return pi, used, "converged", sweep
        current *= _FACTOR
    return pi, used, "max_steps", sweep


def _log_fixation(u: FloatArray, m: int) -> FloatArray:
    """``log((1 - e^{-u}) / (1 - e^{-m u}))`` elementwise (``-log m`` at ``u = 0``), never
    overflowing or underflowing: for ``u < 0`` the ratio is ``e^{-(m-1)|u|} (1 - e^{-|u|}) /
    (1 - e^{-m|u|})``, whose log is ``-(m-1)|u|`` plus the log of a ratio in (0, 1]."""
    a = np.abs(u)
    safe = np.where(a > 0.0, a, 1.0)
    log_ratio = np.log(-np.expm1(-safe)) - np.log(-np.expm1(-m * safe))  # the u > 0 value
    log_rho = np.where(u > 0.0, log_ratio, log_ratio - (m - 1) * a)
    return np.where(a > 0.0, log_rho, -math.log(m))


class _Chain:
    """The moves of a chain over ``count`` states and their log rates at a given α."""

    rows: np.ndarray
    cols: np.ndarray
    count: int
    eta: float
    gain: FloatArray  # the mover's payoff change along each move (ties within tol: 0)

    def log_rates(self, alpha: float) -> FloatArray:  # pragma: no cover - each chain's own
        raise NotImplementedError

    def response_graph(self) -> sp.csr_matrix:
        """An edge along every move that does not lower the mover's payoff (``gain >= 0``)."""
        return _graph(self.rows, self.cols, self.gain >= 0.0, self.count)

    def transitions(self, alpha: float) -> sp.csr_matrix:
        """The transition matrix (what the residual is measured on)."""
        return _chain(self.rows, self.cols, np.exp(self.log_rates(alpha)), self.count)

    def stationary(self, alpha: float) -> FloatArray | None:
        """The stationary distribution at ``alpha``, or None when the chain falls apart in
        floating point.

        The rates are the chain's moves in logs (they never underflow), each state's divided
        by its largest: a continuous-time chain whose state ``i`` leaves ``c_i`` times more
        slowly has the stationary masses ``π_i / c_i``, up to normalisation. So each row keeps
        its largest rate at 1, the elimination works on rates of one scale per row, and the
        masses are the scaled chain's divided by ``c_i``, in logs: a sink whose every way out
        is a fixation probability far below 1e-308 still leaves, and α can grow on to the
        large-α limit. A rate below 1e-308 times its row's largest is dropped (a way out that
        rare does not move the state's mass); the chain falls apart only when the elimination
        leaves a state no way out at all.
        """
        if self.count == 1:
            return np.ones(1)
        log_rates = self.log_rates(alpha)
        top = np.full(self.count, -np.inf)
        np.maximum.at(top, self.rows, log_rates)
        scaled = np.zeros((self.count, self.count))
        scaled[self.rows, self.cols] = np.exp(log_rates - top[self.rows])
        pi = _gth(scaled)
        if np.isnan(pi[0]):
            return None
        with np.errstate(divide="ignore"):
            log_pi = np.log(pi) - top
        weights = np.exp(log_pi - log_pi.max())
        return weights / weights.sum()


class _MultiChain(_Chain):
    """One population per player: states are pure profiles, moves are one population's mutants."""

    def __init__(self, unit: FloatArray, m: int, tol: float) -> None:
        self.m = m
        self.shape = unit.shape[1:]
        self.count = math.prod(self.shape)
        moves = sum(n - 1 for n in self.shape)
        self.eta = 1.0 / moves if moves else 1.0
        index = np.arange(self.count).reshape(self.shape)
        rows, cols, gains = [], [], []
        for k, n in enumerate(self.shape):
            for shift in range(1, n):
                # every profile s against its deviation s' with s'_k = s_k + shift (mod n)
                rows.append(index.ravel())
                cols.append(np.roll(index, -shift, axis=k).ravel())
                gains.append((np.roll(unit[k], -shift, axis=k) - unit[k]).ravel())
        self.rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        gain = np.concatenate(gains) if gains else np.zeros(0)
        self.gain = np.where(np.abs(gain) <= tol, 0.0, gain)

    def log_rates(self, alpha: float) -> FloatArray:
        return math.log(self.eta) + _log_fixation(alpha * self.gain, self.m)


class _SingleChain(_Chain):
    """One population playing a symmetric game against itself: states are strategies; a mutant
    ``σ`` in a population of ``τ`` fixates with the Moran probability of the paper's eq. 4."""

    def __init__(self, payoff: FloatArray, m: int, tol: float) -> None:
        n = payoff.shape[0]
        self.count = n
        self.eta = 1.0 / (n - 1) if n > 1 else 1.0
        resident, mutant = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        off = resident != mutant
        self.rows, self.cols = resident[off], mutant[off]
        # With k mutants (1 <= k < m): each mutant meets k - 1 mutants and m - k residents,
        # each resident k mutants and m - k - 1 residents.
        k = np.arange(1, m)[None, :]
        a_ss = payoff[self.cols, self.cols][:, None]
        a_sr = payoff[self.cols, self.rows][:, None]
        a_rs = payoff[self.rows, self.cols][:, None]
        a_rr = payoff[self.rows, self.rows][:, None]
        difference = ((k - 1) * a_ss + (m - k) * a_sr - k * a_rs - (m - k - 1) * a_rr) / (m - 1)
        self.difference = np.where(np.abs(difference) <= tol, 0.0, difference)
        # As alpha grows the fixation probability tends to 0 when a partial sum of the
        # differences is negative, else to a positive limit: the response graph's edges.
        lowest = np.cumsum(self.difference, axis=1).min(axis=1)
        self.gain = np.where(np.abs(lowest) <= tol, 0.0, lowest)

    def log_rates(self, alpha: float) -> FloatArray:
        # rho = 1 / (1 + sum_{l=1}^{m-1} exp(-alpha sum_{k<=l} difference_k)), in logs
        exponents = -alpha * np.cumsum(self.difference, axis=1)
        terms = np.concatenate([np.zeros((exponents.shape[0], 1)), exponents], axis=1)
        top = terms.max(axis=1, keepdims=True)
        log_sum = top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))
        return math.log(self.eta) - log_sum


def _graph(rows: np.ndarray, cols: np.ndarray, keep: np.ndarray, count: int) -> sp.csr_matrix:
    """The directed graph of the moves ``keep`` selects."""
    return sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(count, count))


def _chain(rows: np.ndarray, cols: np.ndarray, probabilities: FloatArray, count: int) -> sp.csr_matrix:
    """The transition matrix: the given moves, and each state's remaining mass on itself."""
    stay = 1.0 - np.bincount(rows, weights=probabilities, minlength=count)
    everything = np.arange(count)
    return sp.csr_matrix(
        (
            np.concatenate([probabilities, stay]),
            (np.concatenate([rows, everything]), np.concatenate([cols, everything])),
        ),
        shape=(count, count),
    )


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the elimination kernel now."""
    _gth(np.array([[0.5, 0.5], [0.25, 0.75]]))


@numba.njit(cache=True)
def _gth(p: FloatArray) -> FloatArray:  # pragma: no cover - compiled (numba)
    """Stationary distribution of the transition matrix ``p`` by GTH elimination: states
    eliminated last to first, each one's outflow to the states left (a sum of non-negative
    terms, never a difference) dividing its column. NaN when a state has no outflow left."""
    a = p.copy()
    n = a.shape[0]
    for k in range(n - 1, 0, -1):
        out = 0.0
        for j in range(k):
            out += a[k, j]
        if out <= 0.0:
            return np.full(n, np.nan)
        for i in range(k):
            a[i, k] /= out
        for i in range(k):
            f = a[i, k]
            if f != 0.0:
                for j in range(k):
                    a[i, j] += f * a[k, j]
    pi = np.zeros(n)
    pi[0] = 1.0
    for j in range(1, n):
        total = 0.0
        for i in range(j):
            total += pi[i] * a[i, j]
        pi[j] = total
    return pi  # unnormalised: the caller rescales per state, then normalises


def _sink_components(graph: sp.csr_matrix, shape: tuple[int, ...]) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """The sink strongly connected components of the response graph, as sorted tuples of profiles."""
    count, labels = csgraph.connected_components(graph, directed=True, connection="strong")
    coo = graph.tocoo()
    leaves = labels[coo.row] != labels[coo.col]
    not_sink = np.zeros(count, dtype=bool)
    not_sink[labels[coo.row[leaves]]] = True
    components = []
    for c in range(count):
        if not not_sink[c]:
            members = np.flatnonzero(labels == c)
            components.append(tuple(tuple(int(i) for i in np.unravel_index(k, shape)) for k in members))
    return tuple(sorted(components))
