"""Evolutionary dynamics: which rest point learners reach, and from which share of starts.

Each player is a population whose mixed strategy ``x_i`` moves under one of three
dynamics, on each player's payoffs mapped onto ``[0, 1]`` (so that time, the temperature
and the tolerances have no units, and scaling one player's payoffs changes nothing):

* **replicator** (Taylor and Jonker 1978): ``dx_i(a)/dt = x_i(a) (u_i(a, x_-i) - u_i(x))``,
  integrated as ``d log x_i(a)/dt = u_i(a, x_-i)`` (continuous-time exponential weights)
  by the classical Runge-Kutta method, so the strategies stay on the simplex;
* **logit** (Fudenberg and Levine 1998): ``dx_i/dt = softmax(u_i(., x_-i) / τ) - x_i``,
  whose rest points are the logit quantal-response equilibria at temperature ``τ``;
* **best response** (Gilboa and Matsui 1991): ``dx_i/dt = b_i(x_-i) - x_i``, ``b_i`` the
  uniform mixture over the best responses, by Euler steps.

A symmetric 2-player game may be read as one population playing itself (the replicator
dynamic of Maynard Smith's ESS: ``dx/dt = x (Ax - x.Ax)``).

Trajectories start from a seeded uniform sample of the interior of the strategy simplices,
from the interior points of a lattice, or from given profiles. Each runs until it settles
(its last stretch stays within a small radius of where it ended), until it is proved to
converge, or until the horizon. A trajectory is *proved* to converge to a pure strict
equilibrium ``s`` once it enters a box ``{y : y_i(s_i) >= θ_i}`` on which every ``s_i`` is the
strict best response (checked exactly at the box's vertices, where the multilinear payoff
differences take their minimum): the replicator and best-response dynamics never leave
such a box and converge to ``s`` inside it. The rest points reached are the basins'
centres, linked to the solution set's equilibria when they are among them and certified
by their NashConv; each basin's share of a sample carries a 95 % Wilson interval.

Examples
--------
The stag hunt read as one population: the basins split at the mixed equilibrium (3/4 on
stag), so the risk-dominant hare takes most of a grid's starts, each proved to converge;
the start on the mixed equilibrium stays there.

>>> import numpy as np
>>> from equilibria.solver import NormalFormGame
>>> stag_hunt = NormalFormGame.from_bimatrix([[4, 0], [3, 3]], [[4, 3], [0, 3]])
>>> reached = evolutionary_dynamics(stag_hunt, DynamicsOptions(grid=40))
>>> [(b.strategies[0].round(6).tolist(), b.count, b.certified) for b in reached.basins]
[([0.0, 1.0], 29, 29), ([1.0, 0.0], 9, 9), ([0.75, 0.25], 1, 0)]
>>> reached.single_population, reached.unsettled
(True, 0)

Rock-paper-scissors: the replicator dynamic cycles (``x_R x_P x_S`` is conserved), so no
start settles; the logit dynamic spirals in to the uniform profile.

>>> rps = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
>>> game = NormalFormGame.from_bimatrix(rps, -rps)
>>> evolutionary_dynamics(game, DynamicsOptions(samples=8)).unsettled
8
>>> logit = evolutionary_dynamics(game, DynamicsOptions(rule="logit", samples=8))
>>> [(b.strategies[0].round(6).tolist(), b.count) for b in logit.basins]
[([0.333333, 0.333333, 0.333333], 8)]

References
----------
.. [1] P. D. Taylor and L. B. Jonker, "Evolutionarily stable strategies and game
   dynamics", Mathematical Biosciences 40 (1978) 145-156.
.. [2] J. Hofbauer and K. Sigmund, "Evolutionary game dynamics", Bulletin of the AMS 40
   (2003) 479-519.
.. [3] I. Gilboa and A. Matsui, "Social stability and equilibrium", Econometrica 59 (1991)
   859-867.
.. [4] D. Fudenberg and D. K. Levine, *The Theory of Learning in Games*, MIT Press (1998).
.. [5] E. B. Wilson, "Probable inference, the law of succession, and statistical
   inference", JASA 22 (1927) 209-212.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Sequence

import numpy as np
from equilibria.solver._typing import FloatArray
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, check_time_limit
from equilibria.solver.evaluation import Basin, EvolutionaryDynamics
from equilibria.solver.game import NormalFormGame
from equilibria.solver.regret import certify
from equilibria.solver.results import Equilibrium

__all__ = [
    "DynamicsOptions",
    "evolutionary_dynamics",
    "RULES",
    "POPULATIONS",
    "MAX_STARTS",
    "DEFAULT_SAMPLES",
    "DEFAULT_HORIZON",
    "DEFAULT_TEMPERATURE",
]

#: The dynamics: replicator, logit (smoothed best response) and best response.
RULES = ("replicator", "logit", "best_response")
#: One population per player ("multi"), one for a symmetric 2-player game ("single"), or
#: "auto" (one when the game is symmetric within the solve's tolerance, else one per player).
POPULATIONS = ("auto", "multi", "single")
#: Random starts when the options give neither starts nor a grid.
DEFAULT_SAMPLES = 256
#: Time each trajectory may run, on payoffs per unit of each player's range.
DEFAULT_HORIZON = 200.0
#: The logit dynamic's temperature, per unit of each player's payoff range.
DEFAULT_TEMPERATURE = 0.05
#: Most starts: samples, grid points or given profiles.
MAX_STARTS = 100_000
#: Most ``starts x joint actions`` (the batch of payoff tensors contracted at each step).
MAX_WORK = 10_000_000
#: Longest horizon.
MAX_HORIZON = 1e6
#: A trajectory settled when its last stretch (``_WINDOW`` time units, or a quarter of the
#: horizon if shorter) stayed within this largest probability difference of its end.
SETTLE_RADIUS = 1e-4
#: Settled ends this close (largest probability difference; the best response's settling
#: radius if larger) are one rest point.
_CLUSTER = 1e-3
_WINDOW = 25.0
#: A replicator trajectory lingers near rest points that are not Nash equilibria (a
#: heteroclinic cycle's saddles) for ever longer stretches: it settled only where no
#: population gains more than this (per unit payoff range) from a strategy it may use.
#: From the interior a replicator trajectory that converges does so to a Nash
#: equilibrium (Hofbauer and Sigmund 2003, the folk theorem).
_SETTLED_REGRET = 1e-3
#: Time steps: the classical Runge-Kutta method for the smooth dynamics (the logit's
#: Lipschitz constant grows as 1/τ), Euler steps for the discontinuous best response,
#: whose settling radius is the chatter of those steps.
_STEP = {"replicator": 0.1, "best_response": 0.005}
#: Euler steps of the best response chatter around a mixed rest point: measured at this
#: step, up to 0.050 around the equilibria of matching pennies and rock-paper-scissors
#: (0.035 in one population). A best-response trajectory's end is the mean of its last
#: stretch, settled when the stretch stays within this radius of it.
_BEST_RESPONSE_RADIUS = 0.06
#: The 97.5 % standard normal quantile (two-sided 95 % intervals).
_Z = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class DynamicsOptions:
    """The options of the evolutionary dynamics.

    Attributes
    ----------
    rule : {"replicator", "logit", "best_response"}
        The dynamic (default replicator).
    temperature : float
        The logit dynamic's temperature, per unit of each player's payoff range.
    samples : int
        Random starts (uniform on the simplices' interiors) when neither ``starts`` nor
        ``grid`` is given.
    grid : int
        If positive, start from every interior point of the lattice with step ``1/grid``
        on each simplex (their product over the populations).
    starts : tuple
        Given starts, each one mixed strategy per population (a single population: one).
    seed : int
        The sample's seed.
    horizon : float
        Time each trajectory may run.
    populations : {"auto", "multi", "single"}
        One population per player, one for a symmetric 2-player game, or "auto".
    """

    rule: str = "replicator"
    temperature: float = DEFAULT_TEMPERATURE
    samples: int = DEFAULT_SAMPLES
    grid: int = 0
    starts: tuple[tuple[tuple[float, ...], ...], ...] = ()
    seed: int = 0
    horizon: float = DEFAULT_HORIZON
    populations: str = "auto"

    def checked(self, function: str = "replicator_dynamics") -> DynamicsOptions:
        """These options, validated (starts as tuples of floats).

        Raises
        ------
        InvalidOptionError
            Naming the field (``replicator_dynamics.rule``, ``.temperature``, ``.samples``,
            ``.grid``, ``.starts``, ``.seed``, ``.horizon``, ``.populations``).
        """
        prefix = "replicator_dynamics"
        if self.rule not in RULES:
            raise InvalidOptionError(
                f"{prefix}.rule", f"{function}(): rule must be one of {RULES}, got {self.rule!r}"
            )
        if self.populations not in POPULATIONS:
            raise InvalidOptionError(
                f"{prefix}.populations",
                f"{function}(): populations must be one of {POPULATIONS}, got {self.populations!r}",
            )
        if not _positive(self.temperature):
            raise InvalidOptionError(
                f"{prefix}.temperature",
                f"{function}(): temperature must be positive and finite, got {self.temperature!r}",
            )
        if not _positive(self.horizon) or self.horizon > MAX_HORIZON:
            raise InvalidOptionError(
                f"{prefix}.horizon",
                f"{function}(): horizon must be in (0, {MAX_HORIZON:g}], got {self.horizon!r}",
            )
        for name, low in (("samples", 1), ("grid", 0), ("seed", 0)):
            value = getattr(self, name)
            high = 2**64 - 1 if name == "seed" else MAX_STARTS
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidOptionError(
                    f"{prefix}.{name}",
                    f"{function}(): {name} must be an integer in [{low}, {high:,}], got {value!r}",
                )
        if self.grid == 1:
            raise InvalidOptionError(
                f"{prefix}.grid", f"{function}(): a grid of step 1/1 has no interior point"
            )
        if self.starts and self.grid:
            raise InvalidOptionError(f"{prefix}.grid", f"{function}(): give starts or a grid, not both")
        if len(self.starts) > MAX_STARTS:
            raise InvalidOptionError(
                f"{prefix}.starts",
                f"{function}(): {len(self.starts):,} starts, over the limit of {MAX_STARTS:,}",
            )
        try:
            starts = tuple(
                tuple(tuple(float(p) for p in strategy) for strategy in start) for start in self.starts
            )
        except (TypeError, ValueError) as exc:
            raise InvalidOptionError(
                f"{prefix}.starts",
                f"{function}(): each start must be a sequence of probability vectors ({exc})",
            ) from None
        return dataclasses.replace(
            self, samples=int(self.samples), grid=int(self.grid), seed=int(self.seed), starts=starts
        )

    @property
    def sampling(self) -> str:
        """``"given"``, ``"grid"`` or ``"sample"``: where the trajectories start."""
        return "given" if self.starts else "grid" if self.grid else "sample"


def evolutionary_dynamics(
    game: NormalFormGame,
    options: DynamicsOptions = DynamicsOptions(),
    *,
    equilibria: Sequence[Equilibrium] = (),
    tol: float = 1e-9,
    time_limit: float | None = None,
) -> EvolutionaryDynamics:
    """Run an evolutionary dynamic from many starts and report the basins it reaches.

    Parameters
    ----------
    game : NormalFormGame
        Any number of players.
    options : DynamicsOptions, optional
        The dynamic, the starts, the horizon and the populations.
    equilibria : sequence of Equilibrium, optional
        Known equilibria (a solution set's): a basin whose rest point is one of them (within
        1e-3 in every probability) takes its strategies, certificate and index.
    tol : float, optional
        Payoff differences within ``tol`` (on each player's payoffs mapped onto [0, 1]) are
        ties: a game symmetric within ``tol`` is one population under ``"auto"``, and a
        trapping box must make each equilibrium action better by more than ``tol``.
    time_limit : float, optional
        Seconds the integration may take; past them the trajectories not yet settled stay
        unsettled (``ended_by="time_limit"``).

    Returns
    -------
    EvolutionaryDynamics

    Raises
    ------
    InvalidOptionError
        For options outside their range (:meth:`DynamicsOptions.checked`), starts that do not
        fit the game, a grid too coarse for a simplex's interior, or ``populations="single"``
        for a game that is not symmetric.
    ProblemTooLargeError
        When ``starts x joint actions`` exceeds :data:`MAX_WORK` or a grid has more than
        :data:`MAX_STARTS` points.
    """
    options = options.checked()
    time_limit = check_time_limit(time_limit, "replicator_dynamics")
    started = time.perf_counter()
    symmetric = game.is_symmetric(tol)
    if options.populations == "single" and not symmetric:
        raise InvalidOptionError(
            "replicator_dynamics.populations",
            "replicator_dynamics(): populations='single' needs a symmetric 2-player game (B = A^T within tol)",
        )
    single = options.populations == "single" or (options.populations == "auto" and symmetric)
    unit = game.unit_game.payoffs
    tensors = (unit[0],) if single else tuple(unit)
    sizes = tuple(int(m) for m in (tensors[0].shape[:1] if single else unit.shape[1:]))
    starts = _starts(options, sizes)
    count = starts[0].shape[0]
    if count * math.prod(unit.shape[1:]) > MAX_WORK:
        raise ProblemTooLargeError(
            "payoffs",
            f"replicator_dynamics(): {count:,} starts x {math.prod(unit.shape[1:]):,} joint actions is over "
            f"the limit of {MAX_WORK:,}",
        )
    flow = _Flow(tensors, single, options, sizes)
    deadline = None if time_limit is None else started + time_limit
    ends, settled, trapped, ended_by = flow.run(starts, tol, deadline)
    cluster = max(_CLUSTER, flow.radius)
    basins, outcomes = _basins(
        game, sizes, ends, settled, trapped, equilibria, cluster, options.sampling == "sample"
    )
    return EvolutionaryDynamics(
        rule=options.rule,
        single_population=single,
        temperature=options.temperature if options.rule == "logit" else 0.0,
        starts=options.sampling,
        seed=options.seed,
        horizon=options.horizon,
        step=flow.step,
        settle_radius=flow.radius,
        basins=basins,
        outcomes=outcomes,
        unsettled=int(np.count_nonzero(outcomes < 0)),
        ended_by=ended_by,
    )


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0.0
    )


def _starts(options: DynamicsOptions, sizes: tuple[int, ...]) -> list[FloatArray]:
    """The starts, one ``(count, m_p)`` array per population."""
    if options.starts:
        return _given(options.starts, sizes)
    if options.grid:
        grids = [_lattice(options.grid, m) for m in sizes]
        total = math.prod(len(g) for g in grids)
        if total > MAX_STARTS:
            raise ProblemTooLargeError(
                "replicator_dynamics.grid",
                f"replicator_dynamics(): a grid of step 1/{options.grid} has {total:,} interior points, over the "
                f"limit of {MAX_STARTS:,}",
            )
        index = np.array(list(itertools.product(*(range(len(g)) for g in grids))), dtype=np.intp)
        return [g[index[:, p]] for p, g in enumerate(grids)]
    rng = np.random.default_rng(options.seed)
    return [rng.dirichlet(np.ones(m), size=options.samples) for m in sizes]


def _lattice(grid: int, m: int) -> FloatArray:
    """The points of the simplex with ``m`` entries in ``{1/grid, ..., (grid-1)/grid}`` summing to 1."""
    if grid < m:
        raise InvalidOptionError(
            "replicator_dynamics.grid",
            f"replicator_dynamics(): a grid of step 1/{grid} has no interior point in a simplex of {m} strategies",
        )
    # Compositions of grid into m positive parts: bars between the grid units.
    points = [
        np.diff(np.concatenate(([0], bars, [grid]))) for bars in itertools.combinations(range(1, grid), m - 1)
    ]
    return np.array(points, dtype=np.float64).reshape(-1, m) / grid


def _given(starts: tuple[tuple[tuple[float, ...], ...], ...], sizes: tuple[int, ...]) -> list[FloatArray]:
    """Given starts checked against the populations' sizes (a single population takes one
    strategy, or two equal ones)."""
    rows: list[list[FloatArray]] = [[] for _ in sizes]
    for k, start in enumerate(starts):
        strategies = [np.array(s, dtype=np.float64) for s in start]
        if len(sizes) == 1 and len(strategies) == 2 and np.array_equal(strategies[0], strategies[1]):
            strategies = strategies[:1]
        if len(strategies) != len(sizes) or any(
            s.shape != (m,) for s, m in zip(strategies, sizes, strict=False)
        ):
            raise InvalidOptionError(
                f"replicator_dynamics.starts[{k}]",
                f"replicator_dynamics(): start {k} has strategies of lengths {[s.size for s in strategies]}, the "
                f"populations have {list(sizes)} strategies",
            )
        for p, s in enumerate(strategies):
            if not (np.all(np.isfinite(s)) and np.all(s >= 0.0) and abs(float(s.sum()) - 1.0) <= 1e-9):
                raise InvalidOptionError(
                    f"replicator_dynamics.starts[{k}]",
                    f"replicator_dynamics(): start {k}, population {p}: not a probability vector",
                )
            rows[p].append(s / s.sum())
    return [np.array(r) for r in rows]


class _Flow:
    """One dynamic on unit payoffs, integrated for a batch of starts (``sizes``: each
    population's number of strategies)."""

    def __init__(
        self, tensors: tuple[FloatArray, ...], single: bool, options: DynamicsOptions, sizes: tuple[int, ...]
    ) -> None:
        self.tensors = tensors
        self.single = single
        self.rule = options.rule
        self.tau = options.temperature
        self.horizon = options.horizon
        self.step = _STEP.get(options.rule, min(0.1, options.temperature))
        self.radius = _BEST_RESPONSE_RADIUS if options.rule == "best_response" else SETTLE_RADIUS
        self.offsets = np.cumsum((0, *sizes))

    # -- the vector field ------------------------------------------------------------------
    def payoffs(self, xs: list[FloatArray]) -> list[FloatArray]:
        """Each population's payoff of each strategy against the others' mixtures."""
        if self.single:
            return [xs[0] @ self.tensors[0].T]
        if len(xs) == 2:
            return [xs[1] @ self.tensors[0].T, xs[0] @ self.tensors[1]]
        out = []
        letters = "abcdefghijklmnopqrstuvwxy"[: len(xs)]
        for i, tensor in enumerate(self.tensors):
            operands = [x for j, x in enumerate(xs) if j != i]
            subscripts = ",".join("z" + letters[j] for j in range(len(xs)) if j != i)
            out.append(np.einsum(f"{letters},{subscripts}->z{letters[i]}", tensor, *operands, optimize=True))
        return out

    def _state(self, xs: list[FloatArray]) -> list[FloatArray]:
        if self.rule == "replicator":
            with np.errstate(divide="ignore"):
                return [np.log(x) for x in xs]
        return [x.copy() for x in xs]

    def _strategies(self, state: list[FloatArray]) -> list[FloatArray]:
        if self.rule == "replicator":
            return [_softmax(s) for s in state]
        return state

    def _derivative(self, state: list[FloatArray]) -> list[FloatArray]:
        xs = self._strategies(state)
        u = self.payoffs(xs)
        if self.rule == "replicator":
            return u
        if self.rule == "logit":
            return [_softmax(v / self.tau) - x for v, x in zip(u, xs, strict=True)]
        return [_best_responses(v) - x for v, x in zip(u, xs, strict=True)]

    def _advance(self, state: list[FloatArray], steps: int) -> list[FloatArray]:
        h = self.step
        for _ in range(steps):
            if self.rule == "best_response":
                d = self._derivative(state)
                state = [s + h * v for s, v in zip(state, d, strict=True)]
                continue
            k1 = self._derivative(state)
            k2 = self._derivative(_axpy(state, k1, h / 2))
            k3 = self._derivative(_axpy(state, k2, h / 2))
            k4 = self._derivative(_axpy(state, k3, h))
            state = [
                s + (h / 6.0) * (a + 2.0 * b + 2.0 * c + d)
                for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=True)
            ]
            if self.rule == "replicator":  # keep the logs near 0 (the softmax is shift-free)
                state = [s - s.max(axis=1, keepdims=True) for s in state]
            else:  # the smooth flow stays on the simplex; round-off may not
                state = [
                    np.clip(s, 0.0, None) / np.clip(s, 0.0, None).sum(axis=1, keepdims=True) for s in state
                ]
        return state

    # -- the run ---------------------------------------------------------------------------
    def run(
        self, starts: list[FloatArray], tol: float, deadline: float | None
    ) -> tuple[FloatArray, np.ndarray, np.ndarray, str]:
        """Integrate every start; returns the ends ``(count, Σ m_p)``, whether each settled,
        each one's trapping pure profile (flat index into the pure profiles, -1 if none) and
        why the run ended."""
        count = starts[0].shape[0]
        per_check = max(1, round(1.0 / self.step))
        checks = max(1, math.ceil(self.horizon / (per_check * self.step)))
        window = max(1, min(round(_WINDOW), checks // 4))
        ends = np.concatenate(starts, axis=1)
        support = ends > 0.0  # the replicator never leaves the face it starts on
        settled = np.zeros(count, dtype=bool)
        trapped = np.full(count, -1, dtype=np.intp)
        active = np.arange(count)
        state = self._state(starts)
        history = np.zeros((window, count, ends.shape[1]))
        ended_by = "horizon"
        for check in range(1, checks + 1):
            state = self._advance(state, per_check)
            xs = self._strategies(state)
            now = np.concatenate(xs, axis=1)
            history[check % window] = now
            full = check >= window  # before, history holds unset rows
            end = history.mean(axis=0) if full and self.rule == "best_response" else now
            ends[active] = end
            done = np.zeros(active.size, dtype=bool)
            if full:
                done |= np.abs(history - end).max(axis=(0, 2)) <= self.radius
                if self.rule == "replicator":  # not a pause near a rest point that is not Nash
                    done &= self._regret(xs, support[active]) <= _SETTLED_REGRET
                settled[active[done]] = True
            if self.rule != "logit":
                found = self._trapped(now, tol)
                trapped[active] = found
                done |= found >= 0
            if done.any():
                keep = ~done
                active = active[keep]
                state = [s[keep] for s in state]
                history = history[:, keep]
            if active.size == 0:
                break
            if deadline is not None and time.perf_counter() > deadline:
                ended_by = "time_limit"
                break
        return ends, settled, trapped, ended_by

    def _regret(self, xs: list[FloatArray], support: np.ndarray) -> FloatArray:
        """Each point's largest regret of a population on unit payoffs, over the strategies
        its start could use (an interior start: all)."""
        worst = np.zeros(xs[0].shape[0])
        for (a, b), x, u in zip(itertools.pairwise(self.offsets), xs, self.payoffs(xs), strict=True):
            best = np.where(support[:, a:b], u, -np.inf).max(axis=1)
            worst = np.maximum(worst, best - np.einsum("ka,ka->k", x, u))
        return worst

    def _trapped(self, points: FloatArray, tol: float) -> np.ndarray:
        """For each point, the flat index of the pure profile whose trapping box holds it
        (-1 if none). The box ``{y : y_p(s_p) >= θ_p}`` traps when each ``s_p`` beats every
        other strategy by more than ``tol`` at all the box's vertices (``y_q = θ_q e_{s_q} +
        (1 - θ_q) e_b``), where the multilinear payoff differences are smallest."""
        blocks = [points[:, a:b] for a, b in itertools.pairwise(self.offsets)]
        best = [np.argmax(x, axis=1) for x in blocks]
        theta = [x[np.arange(len(x)), s] for x, s in zip(blocks, best, strict=True)]
        shape = tuple(b.shape[1] for b in blocks)
        out = np.full(points.shape[0], -1, dtype=np.intp)
        near = np.flatnonzero(np.all(np.array(theta) > 0.5, axis=0))  # a box around s needs most mass on s
        for k in near:
            s = tuple(int(b[k]) for b in best)
            t = tuple(float(th[k]) for th in theta)
            if self._traps(s, t, tol):
                out[k] = np.ravel_multi_index(s, shape)
        return out

    def _traps(self, s: tuple[int, ...], theta: tuple[float, ...], tol: float) -> bool:
        if self.single:  # one population: the opponent is the same box
            return _box_margin(self.tensors[0], 0, (s[0], s[0]), (theta[0], theta[0])) > tol
        return all(_box_margin(t, i, s, theta) > tol for i, t in enumerate(self.tensors))


def _box_margin(tensor: FloatArray, player: int, s: tuple[int, ...], theta: tuple[float, ...]) -> float:
    """Smallest gain of ``s[player]`` over another strategy of ``player`` over the box of the
    others' mixtures ``y_q = θ_q e_{s_q} + (1 - θ_q) e_b`` (inf for a single strategy)."""
    if tensor.shape[player] == 1:
        return math.inf
    gain = np.take(tensor, [s[player]], axis=player) - tensor
    for q in range(tensor.ndim):
        if q != player:
            gain = theta[q] * np.take(gain, [s[q]], axis=q) + (1.0 - theta[q]) * gain
    others = np.delete(gain, s[player], axis=player)
    return float(others.min())


def _basins(
    game: NormalFormGame,
    sizes: tuple[int, ...],
    ends: FloatArray,
    settled: np.ndarray,
    trapped: np.ndarray,
    equilibria: Sequence[Equilibrium],
    cluster: float,
    sampled: bool,
) -> tuple[tuple[Basin, ...], np.ndarray]:
    """Group the ends into rest points, largest basin first, and certify each (``sizes``: each
    population's number of strategies)."""
    single = len(sizes) < game.n_players
    offsets = np.cumsum((0, *sizes))
    centres: list[FloatArray] = []
    members: list[list[int]] = []
    proved: list[int] = []
    label = np.full(ends.shape[0], -1, dtype=np.intp)
    for k in np.flatnonzero((trapped >= 0) | settled):
        point = ends[k]
        if trapped[k] >= 0:  # the trapping profile itself is the rest point
            pure = np.unravel_index(trapped[k], sizes)
            point = np.zeros_like(point)
            point[offsets[:-1] + np.array(pure)] = 1.0
        c = next(
            (j for j, centre in enumerate(centres) if np.abs(centre - point).max() <= cluster), len(centres)
        )
        if c == len(centres):
            centres.append(point)
            members.append([])
            proved.append(0)
        members[c].append(int(k))
        proved[c] += int(trapped[k] >= 0)
        label[k] = c
    total = ends.shape[0]
    order = sorted(range(len(centres)), key=lambda c: (-len(members[c]), c))
    basins = []
    outcomes = np.full(total, -1, dtype=np.intp)
    for rank, c in enumerate(order):
        point = centres[c] if proved[c] else ends[members[c]].mean(axis=0)
        split = [point[a:b] for a, b in itertools.pairwise(offsets)]
        strategies = (split[0], split[0]) if single else tuple(split)
        index = _matching(strategies, equilibria, cluster)
        if index is not None:
            eq = equilibria[index]
            strategies, payoffs, nash_conv = eq.strategies, eq.payoffs, eq.nash_conv
        else:
            strategies = tuple(s / s.sum() for s in strategies)
            certificate = certify(game, strategies)
            payoffs, nash_conv = certificate.payoffs, certificate.nash_conv
        n = len(members[c])
        low, high = _wilson(n, total) if sampled else (n / total, n / total)
        basins.append(
            Basin(
                strategies=strategies,
                payoffs=payoffs,
                nash_conv=nash_conv,
                count=n,
                share=n / total,
                low=low,
                high=high,
                certified=proved[c],
                equilibrium_index=index,
            )
        )
        outcomes[label == c] = rank
    return tuple(basins), outcomes


def _matching(
    strategies: tuple[FloatArray, ...], equilibria: Sequence[Equilibrium], cluster: float
) -> int | None:
    for index, eq in enumerate(equilibria):
        if all(
            e.shape == s.shape and float(np.abs(e - s).max()) <= cluster
            for e, s in zip(eq.strategies, strategies, strict=True)
        ):
            return index
    return None


def _wilson(successes: int, trials: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of a binomial proportion."""
    p = successes / trials
    z2 = _Z * _Z / trials
    centre = (p + z2 / 2.0) / (1.0 + z2)
    half = _Z * math.sqrt(p * (1.0 - p) / trials + z2 / (4.0 * trials)) / (1.0 + z2)
    return max(0.0, centre - half), min(1.0, centre + half)


def _softmax(values: FloatArray) -> FloatArray:
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _best_responses(values: FloatArray) -> FloatArray:
    """The uniform mixture over each row's maxima (ties within 1e-12 of the unit range)."""
    best = values >= values.max(axis=1, keepdims=True) - 1e-12
    return best / best.sum(axis=1, keepdims=True)


def _axpy(state: list[FloatArray], direction: list[FloatArray], h: float) -> list[FloatArray]:
    return [s + h * d for s, d in zip(state, direction, strict=True)]
