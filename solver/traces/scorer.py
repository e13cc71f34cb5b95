"""Streaming scores of learning traces against solution sets.

A multi-agent learning run produces a *trace* indexed by ``z = 1, 2, ...``: joint
policies :math:`\\pi^z` (per state in a stochastic game), sampled joint actions with the
history or state they were played after, and per-episode returns. :class:`TraceScorer`
consumes it chunk by chunk in bounded memory and asks whether, and in which sense, it
approaches the solution set ``S`` of the game (SPEC section 5). Each criterion gives a
curve over ``z``, a final value, a verdict and the member of ``S`` the trace approached.
The criteria (``last_iterate``, ``expected_return``, ``empirical_distribution``,
``set_convergence``, ``averaged_joint_policy``, ``average_return``, ``nash_conv``,
and for team games ``credit_assignment``, :mod:`.credit_curves`), what
each verdict means, streaming, checkpoints, what is exact, the confidence radii and the
selection of an equilibrium are explained in docs/traces.md.

Examples
--------
>>> import numpy as np
>>> from equilibria.solver import NormalFormGame, solve
>>> pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
>>> z = np.arange(1, 2001)[:, None]
>>> x = 0.5 + np.array([[1.0, -1.0]]) / (3 * z)  # (1/2 + 1/(3z), 1/2 - 1/(3z)) -> (1/2, 1/2)
>>> scorer = TraceScorer(pennies, solve(pennies))
>>> scorer.update(TraceChunk(policies=(x, x)))
>>> score = scorer.result()
>>> s = score["last_iterate"]
>>> s.verdict, s.epsilon, round(s.fitted_rate, 3), s.nearest_solution
('converged', 0.01, -1.0, ('point', 0))
>>> score["last_iterate"].z0[0.01]  # TV 1/(3z) < 0.01 from z = 34 on
34

References
----------
.. [1] J. Robinson, "An iterative method of solving a game", Annals of Mathematics 54
   (1951) 296-301 (fictitious play: the empirical distribution converges in zero-sum
   games).
.. [2] L. S. Shapley, "Some topics in two-person games", Advances in Game Theory,
   Annals of Mathematics Studies 52 (1964) 1-28 (fictitious play cycles).
.. [3] S. Hart and A. Mas-Colell, "A simple adaptive procedure leading to correlated
   equilibrium", Econometrica 68 (2000) 1127-1150.
.. [4] M. Lanctot et al., "OpenSpiel: a framework for reinforcement learning in games",
   arXiv:1908.09453 (2019): NashConv, and ``StrategyAverager`` for streaming averages.
.. [5] T. Weissman et al., "Inequalities for the L1 deviation of the empirical
   distribution", HP Labs HPL-2003-97 (2003).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple, cast

import numpy as np
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    UnsupportedError,
)
from equilibria.solver.game import ROUNDOFF_RANGE, NormalFormGame
from equilibria.solver.results import MarkovSolutionSet, SolutionSet
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certify_markov
from equilibria.solver.traces.checkpoints import _Curve, _Grid, _running_means
from equilibria.solver.traces.credit_curves import CREDIT, CreditModel, CreditTrack, credit_rejection
from equilibria.solver.traces.distances import (
    SolutionTarget,
    _Polytope,
    correlated_polytope,
    distance_to_polyhedron,
)
from equilibria.solver.traces.memory import (
    MAX_COUNT_CELLS,
    MemoryBound,
    count_capacity,
    count_limit,
    histories_within,
    trace_memory_bound,
)
from equilibria.solver.traces.options import (
    CURVES,
    CriterionScore,
    ScoreOptions,
    TraceChunk,
    TraceScore,
    _game_policies,
    _game_samples,
)
from equilibria.solver.traces.outside import (
    PARTIAL_WARNING,
    _LimitTracker,
    correlation_rows,
    outside_verdict,
    undecided_without_profile,
)
from equilibria.solver.traces.target import (
    _Bracket,
    _FinalValue,
    _history_blocks,
    _Member,
    _payoff_rows,
    _Target,
)
from equilibria.solver.traces.units import _floored, _payoff_units
from equilibria.solver.traces.verdicts import TailEvidence, concentration_radius, decide_verdict, fit_rate
from scipy.special import ndtri  # the standard normal quantile (scipy.stats costs 0.5 s to import)

__all__ = ["TraceScorer", "score_trace"]


_POLICY_CURVES = frozenset(
    {
        "last_iterate",
        "expected_return",
        "empirical_distribution",
        "set_convergence",
        "nash_conv",
        "nash_conv_average",
    }
)
#: The input stream of each curve not computed from the policies.
_STREAMS = {"averaged_joint_policy": "samples", "average_return": "returns"}
#: Curve keys that are not criterion names.
_CURVE_NAMES = {"empirical": "empirical_distribution"}
#: Criteria that ask for convergence to ONE solution: switches between solutions count against them.
_SINGLE_LIMIT = frozenset(
    {"last_iterate", "expected_return", "empirical_distribution", "averaged_joint_policy", "average_return"}
)
#: Curves in payoff units (thresholds times the payoff scale).
_PAYOFF_CURVES = frozenset({"expected_return", "average_return", "nash_conv", "nash_conv_average"})


class _CachedFinal(NamedTuple):
    """The final value of a curve, and the row it was computed at."""

    z: int
    final: _FinalValue


class _StagedCurve(NamedTuple):
    """A curve's data from one chunk of policies, staged until every curve is computed."""

    name: str
    scale: float
    rows: _Bracket | None  # per-row values; None for curves computed at checkpoints only
    values: list[float]  # at the chunk's checkpoints
    members: list[_Member | None] | None


# =========================================================================== the scorer


class TraceScorer:
    """Score a trace chunk by chunk in bounded memory (see docs/traces.md).

    Parameters
    ----------
    game : NormalFormGame or StochasticGame
        Stochastic games with an infinite horizon only.
    solution_set : SolutionSet or MarkovSolutionSet or SolutionTarget
        The set the trace is measured against (for a ``SolutionTarget``, payoffs are
        computed from the game).
    options : ScoreOptions, optional

    Raises
    ------
    InvalidGameError
        A game of another type, or a set that does not fit the game (field
        ``"solution_set"``).
    InvalidOptionError
        Options that do not fit the game (``state_weights``, ``joint_concept``;
        ``criteria`` naming ``credit_assignment`` for a game that is not a team game).
    ProblemTooLargeError
        ``criteria`` naming ``credit_assignment`` for a game past the size limits of
        :func:`~equilibria.solver.concepts.credit.credit_assignment`.
    UnsupportedError
        Finite-horizon stochastic games (field ``"game"``).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame, solve
    >>> rps = NormalFormGame.from_bimatrix([[0, -1, 1], [1, 0, -1], [-1, 1, 0]])
    >>> scorer = TraceScorer(rps, solve(rps), ScoreOptions(criteria=("average_return",)))
    >>> rng = np.random.default_rng(0)
    >>> scorer.update(TraceChunk(returns=rng.normal(0.0, 0.1, size=(5000, 2))))
    >>> s = scorer.result()["average_return"]
    >>> s.verdict, s.epsilon, s.confidence_radius < 0.01
    ('converged', 0.01, True)
    """

    def __init__(
        self,
        game: NormalFormGame | StochasticGame,
        solution_set: SolutionSet | MarkovSolutionSet | SolutionTarget,
        options: ScoreOptions | None = None,
    ) -> None:
        function = "TraceScorer()"
        if options is None:
            options = ScoreOptions()
        if not isinstance(options, ScoreOptions):
            raise InvalidOptionError(
                "options", f"{function}: options must be ScoreOptions, got {type(options).__name__}"
            )
        if not isinstance(game, (NormalFormGame, StochasticGame)):
            raise InvalidGameError(
                "game", f"{function}: expected a NormalFormGame or StochasticGame, got {type(game).__name__}"
            )
        self.game = game
        self.options = options
        self.stochastic = isinstance(game, StochasticGame)
        # The game as each kind (only the one matching ``self.stochastic`` is ever used).
        self._sg = cast(StochasticGame, game)
        self._nf = cast(NormalFormGame, game)
        if isinstance(game, StochasticGame):
            if game.horizon is not None:
                raise UnsupportedError(
                    "game",
                    f"{function}: finite-horizon stochastic games (per-stage policies) are not supported",
                )
            if options.joint_concept not in ("nash", "nash_marginals"):
                raise InvalidOptionError(
                    "joint_concept",
                    f"{function}: joint_concept {options.joint_concept!r} needs a normal-form game",
                )
            n_states = game.n_states
            if options.state_weights is None:
                w = np.asarray(game.initial_distribution, dtype=np.float64)
            else:
                w = np.asarray(options.state_weights, dtype=np.float64)
                if w.shape != (n_states,):
                    raise InvalidOptionError(
                        "state_weights",
                        f"{function}: {w.size} state_weights for a game with {n_states} states",
                    )
            self._weights: FloatArray | None = w / w.sum()
        else:
            if options.state_weights is not None:
                raise InvalidOptionError("state_weights", f"{function}: state_weights need a stochastic game")
            self._weights = None
        self.n_players = game.n_players
        self.num_actions = tuple(int(k) for k in game.num_actions)
        # Payoffs are measured in each player's own units (the unit game), reported in the
        # game's payoff scale: the thresholds are epsilon times it (docs/traces.md, Scale).
        self._units, self._scale = _payoff_units(game)
        self._unit_game = game.unit_game
        self._unit_sg = cast(StochasticGame, self._unit_game)
        self._unit_nf = cast(NormalFormGame, self._unit_game)
        distance_floor = self.n_players * (
            math.sqrt(ROUNDOFF_RANGE) if options.metric == "hellinger" else ROUNDOFF_RANGE
        )
        self._floors = {
            key: (self._units.floor if _CURVE_NAMES.get(key, key) in _PAYOFF_CURVES else distance_floor)
            for key in ("last_iterate", "empirical", "averaged_joint_policy") + tuple(_PAYOFF_CURVES)
        }
        self._target = _Target(self._unit_game, solution_set, options, self._weights, function)
        self._eps_desc = options.epsilons
        self._eps = tuple(sorted(options.epsilons))
        self._delta = 1.0 - float(options.confidence)
        requested = options.criteria
        self._requested: frozenset[str] | None = None
        if requested is not None:
            curves = set(requested)
            if "nash_conv" in curves:
                curves.add("nash_conv_average")
            self._requested = frozenset(curves)
        # credit_assignment: by default for a team game (within the size limits) only.
        self._credit: CreditTrack | None = None
        if requested is None or CREDIT in requested:
            rejection = credit_rejection(game, function)
            if rejection is None:
                self._credit = CreditTrack(CreditModel(game, self._weights))
            elif requested is not None:
                raise rejection
        # Streams: rows seen, checkpoint grid.
        self._zp = 0
        self._zs = 0
        self._zr = 0
        self._grids = {name: _Grid(options.n_checkpoints) for name in ("policies", "samples", "returns")}
        self._curves: dict[str, _Curve] = {}
        # Policy state.
        self._sum: list[FloatArray] | None = None
        self._last: list[FloatArray] | None = None
        # Sample state.
        self._keys = np.zeros(0, dtype=np.int64)  # sorted history keys (normal form)
        self._slots = np.zeros(0, dtype=np.int64)  # their rows in the count table
        self._counts = np.zeros((0, math.prod(self.num_actions)), dtype=np.int64)
        self._visits = np.zeros(0, dtype=np.int64)
        self._n_hist = 0
        self._count_limit = count_limit(options, self._counts.shape[1])
        if self.stochastic:
            self._alloc_counts(self._sg.n_states)
            self._n_hist = self._sg.n_states
        if options.joint_concept in ("correlated", "coarse_correlated"):
            self._polytope: _Polytope | None = _Polytope(
                *correlated_polytope(self._nf, options.joint_concept)
            )
        else:
            self._polytope = None
        # Return state.
        self._shift: FloatArray | None = None
        self._rsum = np.zeros(self.n_players)
        self._rsq = np.zeros(self.n_players)
        self._cache: dict[str, _CachedFinal] = {}
        # Against a partial set: single-limit bounds of the last iterates and running means.
        self._limits: dict[str, _LimitTracker] | None = (
            None
            if self._target.complete
            else {
                key: _LimitTracker(options.metric, options.aggregate, self._weights)
                for key in ("last", "mean")
            }
        )

    # ------------------------------------------------------------------ public

    @property
    def z(self) -> dict[str, int]:
        """Rows seen per data stream (``"policies"``, ``"samples"``, ``"returns"``)."""
        return {"policies": self._zp, "samples": self._zs, "returns": self._zr}

    @property
    def state_nbytes(self) -> int:
        """Bytes held by the scorer's state (arrays, checkpoints, buffers): bounded for any trace length."""
        total = self._keys.nbytes + self._slots.nbytes + self._counts.nbytes + self._visits.nbytes
        total += self._rsum.nbytes + self._rsq.nbytes
        for arrays in (self._sum, self._last):
            if arrays is not None:
                total += sum(a.nbytes for a in arrays)
        if self._shift is not None:
            total += self._shift.nbytes
        total += sum(c.nbytes for c in self._curves.values())
        if self._credit is not None:
            total += self._credit.nbytes
        return int(total)

    def memory_bound(self, chunk: TraceChunk | None = None, *, chunk_bytes: int = 1 << 20) -> MemoryBound:
        """The most bytes this scorer may take, after ``chunk`` if given (see :mod:`.memory`).

        The count table of a normal-form game grows with the history keys of sampled
        joint actions: the bound counts the rows it will have after ``chunk`` (its
        capacity, :func:`~equilibria.solver.traces.memory.count_capacity`), before
        anything is allocated, so a caller can refuse the chunk.

        Parameters
        ----------
        chunk : TraceChunk, optional
        chunk_bytes : int, optional
            The largest chunk the caller passes, in bytes.

        Returns
        -------
        MemoryBound
        """
        rows = grown_from = 0 if self.stochastic else self._counts.shape[0]
        if (
            chunk is not None
            and chunk.joint_actions is not None
            and not self.stochastic
            and self._wanted("averaged_joint_policy")
        ):
            history = chunk.history if chunk.history is not None else np.zeros(1, dtype=np.int64)
            new = int((~np.isin(np.unique(history), self._keys)).sum())
            # past the limit, update() refuses the chunk before the table grows
            rows = count_capacity(rows, min(self._n_hist + new, self._count_limit), self._count_limit)
        return trace_memory_bound(
            self.game,
            self._target.target,
            self.options,
            chunk_bytes=chunk_bytes,
            histories=rows,
            grown_from=grown_from if rows > grown_from else 0,
            credit=self._credit is not None,
        )

    def histories_within(self, budget: int, *, chunk_bytes: int = 1 << 20) -> int:
        """The most history keys whose count table keeps :meth:`memory_bound` within ``budget`` bytes."""
        return histories_within(budget, self.game, self._target.target, self.options, chunk_bytes=chunk_bytes)

    def update(self, chunk: TraceChunk) -> None:
        """Consume a chunk: every stream it carries, rows in order.

        The chunk is checked against the game before any state changes, so a rejected
        chunk leaves the scorer as it was.

        Parameters
        ----------
        chunk : TraceChunk

        Raises
        ------
        InvalidGameError
            Rows that do not fit the game (field ``"chunk.policies[i]"``,
            ``"chunk.joint_actions"``, ``"chunk.history"``, ``"chunk.returns"``), naming
            the first bad row.
        ProblemTooLargeError
            More distinct histories than ``max_histories`` (field ``"max_histories"``).
        """
        function = "TraceScorer.update()"
        if not isinstance(chunk, TraceChunk):
            raise InvalidGameError("chunk", f"{function}: expected a TraceChunk, got {type(chunk).__name__}")
        policies = _game_policies(chunk, self.game, function) if chunk.policies is not None else None
        samples = _game_samples(chunk, self.game, function) if chunk.joint_actions is not None else None
        if samples is not None and not self.stochastic:
            self._check_history_capacity(samples.history, function)
        if chunk.returns is not None and chunk.returns.shape[1] != self.n_players:
            raise InvalidGameError(
                "chunk.returns",
                f"{function}: returns have {chunk.returns.shape[1]} columns for {self.n_players} players",
            )
        if policies is not None and policies[0].shape[0]:
            self._update_policies(policies)
        if samples is not None and samples.actions.shape[0]:
            if self._wanted("averaged_joint_policy"):
                self._update_samples(samples.actions, samples.history)
            else:
                self._zs += samples.actions.shape[0]
        if chunk.returns is not None and chunk.returns.shape[0]:
            self._update_returns(chunk.returns)

    def result(self) -> TraceScore:
        """The score after the rows seen so far (call it after any chunk: live monitoring).

        Returns
        -------
        TraceScore

        Raises
        ------
        InvalidOptionError
            ``credit_assignment`` requested (field ``criteria``) and no policy seen.
        """
        scores = []
        credit = None
        for name in CURVES:
            if not self._wanted(name):
                continue
            stream = _STREAMS.get(name, "policies")
            z = {"policies": self._zp, "samples": self._zs, "returns": self._zr}[stream]
            if z == 0 and self._requested is None:
                continue
            if name == CREDIT and self._credit is not None:
                if z == 0 or self._last is None:
                    raise InvalidOptionError(
                        "criteria",
                        "TraceScorer.result(): criterion 'credit_assignment' needs the policies stream (a joint "
                        "policy per row) and the trace has none; send policies or leave credit_assignment out of "
                        "the criteria",
                    )
                curve, credit = self._credit.score(
                    self._last,
                    z,
                    min(self.options.window(z), z),
                    self._eps,
                    self.options.tail_buffer,
                    self.options.min_tail,
                )
                scores.append(self._score(name, z, (curve, _FinalValue(0.0, None, None))))
                continue
            scores.append(self._score(name, z))
        selected = selected_by = None
        switched = False
        for name in (
            "set_convergence",
            "empirical_distribution",
            "last_iterate",
            "averaged_joint_policy",
            "expected_return",
            "average_return",
        ):
            for s in scores:
                if s.name == name and s.z > 0 and s.nearest_solution is not None:
                    selected, selected_by, switched = s.nearest_solution, name, s.switched
                    break
            if selected is not None:
                break
        warnings = []
        if self._target.hulls and self.options.metric != "l2" and self._zp:
            warnings.append(
                f"{len(self._target.hulls)} component(s) with several vertices: per-row distances to them are "
                f"bracketed from the Euclidean distance (metric {self.options.metric!r}); tail tests and z0 use the "
                "conservative end, checkpoint and final values are exact"
            )
        if not self._target.complete:
            warnings.append(PARTIAL_WARNING)
        if self._target.joint_bounded and self._zs and self._polytope is None:
            warnings.append(
                "component(s) with several vertices: the distance of the joint play to their joint "
                "distributions (products of strategies) is an upper bound (the nearest vertex product or "
                "the product of the marginals' projections)"
            )
        return TraceScore(
            criteria=tuple(scores),
            n_policies=self._zp,
            n_samples=self._zs,
            n_returns=self._zr,
            z_seen=max(self._zp, self._zs, self._zr),
            selected=selected,
            selected_by=selected_by,
            switched=switched,
            metric=self.options.metric,
            aggregate=self.options.aggregate,
            epsilons=self._eps_desc,
            warnings=tuple(warnings),
            partial_set=not self._target.complete,
            credit=credit,
        )

    # ------------------------------------------------------------------ checks

    def _single_limit(self, name: str) -> bool:
        """Whether switches between solutions count against the criterion (one limit asked for).

        Not for the empirical joint play after several histories of a normal-form game:
        each history approaches its own equilibrium, and the member reported (the one
        nearest to the most samples) may change with no history moving.
        """
        if name == "averaged_joint_policy" and not self.stochastic:
            return self._n_hist <= 1
        return name in _SINGLE_LIMIT

    def _wanted(self, name: str) -> bool:
        if name == CREDIT:
            return self._credit is not None
        if self._requested is not None:
            return name in self._requested
        return True

    def _check_history_capacity(self, history: Int64Array, function: str) -> None:
        """Raise when a normal-form chunk's new histories would overflow the count table."""
        new = int((~np.isin(np.unique(history), self._keys)).sum())
        if self._n_hist + new > self.options.max_histories:
            raise ProblemTooLargeError(
                "max_histories",
                f"{function}: {self._n_hist + new} distinct histories exceed max_histories = "
                f"{self.options.max_histories}; raise it (memory: one count per history and joint action) or "
                "coarsen the history keys",
            )
        if (self._n_hist + new) * self._counts.shape[1] > MAX_COUNT_CELLS:
            raise ProblemTooLargeError(
                "max_histories",
                f"{function}: {self._n_hist + new} histories x {self._counts.shape[1]} joint actions exceed "
                f"{MAX_COUNT_CELLS} counts",
            )

    # ------------------------------------------------------------------ policies

    def _curve(self, name: str, per_row: bool, scale: float) -> _Curve:
        curve = self._curves.get(name)
        if curve is None:
            taus = np.asarray(self._eps, dtype=np.float64) * scale
            curve = _Curve(taus, per_row, self.options.tail_buffer, self.options.min_tail, self._floors[name])
            self._curves[name] = curve
        return curve

    def _update_policies(self, xs: list[FloatArray]) -> None:
        m = xs[0].shape[0]
        z_old = self._zp
        plan = self._grids["policies"].plan(z_old, z_old + m)
        cps = plan.points
        rows = cps - z_old - 1
        if self._sum is None:
            self._sum = [np.zeros(x.shape[1:]) for x in xs]
        # Running sums continued from the last chunk's, and running means (as a cumsum then
        # a division by z would give them, without the temporaries); the sums are updated.
        sums = [s.copy() for s in self._sum]
        avg = [np.empty(x.shape) for x in xs]
        for total, x, mean in zip(sums, xs, avg, strict=True):
            _running_means(total.reshape(-1), x.reshape(m, -1), z_old, mean.reshape(m, -1))
        staged: list[_StagedCurve] = []
        if self._wanted("last_iterate"):
            staged.append(self._distance_rows("last_iterate", xs, rows))
        if self._wanted("empirical_distribution") or self._wanted("set_convergence"):
            staged.append(self._distance_rows("empirical", avg, rows))
        if self.stochastic:
            staged.extend(self._markov_payoff_curves(xs, avg, rows))
        else:
            staged.extend(self._payoff_curves(xs, avg, rows))
        if self._credit is not None:  # computed before the commit: a failure changes nothing
            credit_rows = self._credit.model.rows([x[rows] for x in xs])
        # Commit.
        for new in staged:
            curve = self._curve(new.name, new.rows is not None, new.scale)
            floor = self._floors[new.name]
            if new.rows is not None:
                upper = _floored(new.rows.upper, floor)
                lower = upper if new.rows.lower is new.rows.upper else _floored(new.rows.lower, floor)
                curve.push_rows(z_old + 1, upper, lower, new.rows.groups)
            else:
                curve.n = z_old + m
            curve.push_checkpoints(
                cps.tolist(), _floored(np.asarray(new.values), floor).tolist(), new.members
            )
        if self._credit is not None:
            self._credit.push(cps.tolist(), credit_rows)
        if self._limits is not None:
            self._limits["last"].push(z_old + 1, xs, cps)
            self._limits["mean"].push(z_old + 1, avg, cps)
            first = z_old + m - min(self.options.window(z_old + m), z_old + m) + 1
            for tracker in self._limits.values():
                tracker.prune(first)
        self._sum = sums
        self._last = [x[-1].copy() for x in xs]
        self._zp = z_old + m
        self._thin("policies", plan.level)

    def _distance_rows(self, name: str, xs: list[FloatArray], cp_rows: Int64Array) -> _StagedCurve:
        """A distance curve: the per-row bracket, and exact values and members at the checkpoint rows."""
        bracket = self._target.bracket(xs)
        members: list[_Member | None] | None
        if self._target.hulls:
            values, members = [], []
            for r in cp_rows.tolist():
                exact = self._target.exact([x[r : r + 1] for x in xs])
                values.append(exact.value)
                members.append(exact.member)
        else:
            values = bracket.upper[cp_rows].tolist()
            members = None
        return _StagedCurve(name, 1.0, bracket, values, members)

    def _payoff_curves(
        self, xs: list[FloatArray], avg: list[FloatArray], rows: Int64Array
    ) -> list[_StagedCurve]:
        """``expected_return`` and the NashConv curves of a normal-form game, for every row."""
        staged = []
        payoffs = self._unit_nf.payoffs
        shown = self._units.display
        if self._wanted("expected_return") or self._wanted("nash_conv"):
            u, nc = _payoff_rows(payoffs, xs)
            nc = nc * shown
            if self._wanted("expected_return"):
                gaps = self._target.payoff_distance(u)
                gaps = gaps._replace(distances=gaps.distances * shown)
                exact = _Bracket(gaps.distances, gaps.distances, gaps.groups)
                staged.append(
                    _StagedCurve("expected_return", self._scale, exact, gaps.distances[rows].tolist(), None)
                )
            if self._wanted("nash_conv"):
                staged.append(
                    _StagedCurve("nash_conv", self._scale, _Bracket(nc, nc, None), nc[rows].tolist(), None)
                )
        if self._wanted("nash_conv_average"):
            _u, nca = _payoff_rows(payoffs, avg)
            nca = nca * shown
            staged.append(
                _StagedCurve(
                    "nash_conv_average", self._scale, _Bracket(nca, nca, None), nca[rows].tolist(), None
                )
            )
        return staged

    def _markov_payoff_curves(
        self, xs: list[FloatArray], avg: list[FloatArray], rows: Int64Array
    ) -> list[_StagedCurve]:
        """``expected_return`` and the NashConv curves of a stochastic game, at the checkpoint rows only
        (policy evaluation and best responses)."""
        staged = []
        shown = self._units.display
        need_last = self._wanted("expected_return") or self._wanted("nash_conv")
        last_certs = (
            [certify_markov(self._unit_sg, [x[r] for x in xs]) for r in rows.tolist()] if need_last else []
        )
        if self._wanted("expected_return"):
            values: list[float] = []
            members: list[_Member | None] = []
            for cert in last_certs:
                gaps = self._target.payoff_distance(cert.payoffs[None])
                values.append(float(gaps.distances[0]) * shown)
                members.append(gaps.last_member)
            staged.append(_StagedCurve("expected_return", self._scale, None, values, members))
        if self._wanted("nash_conv"):
            values = [float(c.nash_conv) * shown for c in last_certs]
            staged.append(_StagedCurve("nash_conv", self._scale, None, values, None))
        if self._wanted("nash_conv_average"):
            values = [
                float(certify_markov(self._unit_sg, [a[r] for a in avg]).nash_conv) * shown
                for r in rows.tolist()
            ]
            staged.append(_StagedCurve("nash_conv_average", self._scale, None, values, None))
        return staged

    # ------------------------------------------------------------------ samples

    def _alloc_counts(self, rows: int) -> None:
        """Grow the count table to hold ``rows`` histories (see :func:`memory.count_capacity`)."""
        current = self._counts.shape[0]
        if rows <= current:
            return
        capacity = rows if self.stochastic else count_capacity(current, rows, self._count_limit)
        counts = np.zeros((capacity, self._counts.shape[1]), dtype=np.int64)
        counts[:current] = self._counts
        visits = np.zeros(capacity, dtype=np.int64)
        visits[: self._visits.size] = self._visits
        self._counts, self._visits = counts, visits

    def _update_samples(self, actions: Int64Array, history: Int64Array) -> None:
        m = actions.shape[0]
        z_old = self._zs
        if self.stochastic:
            slots = history
        else:
            uniq, inverse = np.unique(history, return_inverse=True)
            pos = np.searchsorted(self._keys, uniq)
            if self._keys.size:
                found = (pos < self._keys.size) & (self._keys[np.minimum(pos, self._keys.size - 1)] == uniq)
            else:
                found = np.zeros(uniq.size, dtype=bool)
            slot_of = np.empty(uniq.size, dtype=np.int64)
            slot_of[found] = self._slots[pos[found]]
            new_keys = uniq[~found]
            new_slots = np.arange(self._n_hist, self._n_hist + new_keys.size, dtype=np.int64)
            slot_of[~found] = new_slots
            if new_keys.size:
                keys = np.concatenate([self._keys, new_keys])
                slots_all = np.concatenate([self._slots, new_slots])
                order = np.argsort(keys, kind="stable")
                self._keys, self._slots = keys[order], slots_all[order]
                self._n_hist += int(new_keys.size)
                self._alloc_counts(self._n_hist)
            slots = slot_of[inverse.reshape(-1)]
        joint = np.ravel_multi_index(tuple(actions.T), self.num_actions)
        plan = self._grids["samples"].plan(z_old, z_old + m)
        values: list[float] = []
        members: list[_Member | None] = []
        radii: list[float] = []
        start = 0
        for cp in plan.points.tolist():
            stop = cp - z_old
            self._add_counts(slots[start:stop], joint[start:stop])
            start = stop
            at_cp = self._joint_value(cp)
            values.append(at_cp.value)
            members.append(at_cp.member)
            radii.append(cast(float, at_cp.radius))
        self._add_counts(slots[start:], joint[start:])
        self._zs = z_old + m
        curve = self._curve("averaged_joint_policy", False, 1.0)
        curve.n = self._zs
        floored = _floored(np.asarray(values), self._floors["averaged_joint_policy"]).tolist()
        curve.push_checkpoints(plan.points.tolist(), floored, members, radii)
        self._thin("samples", plan.level)

    def _add_counts(self, slots: Int64Array, joint: Int64Array) -> None:
        if slots.size:
            np.add.at(self._counts, (slots, joint), 1)
            np.add.at(self._visits, slots, 1)

    def _joint_value(self, z: int) -> _FinalValue:
        """``averaged_joint_policy`` at ``z`` (the counts must be those after ``z`` samples).

        The count table is read in blocks of histories, never copied whole.
        """
        if self.stochastic:
            counts = self._counts.reshape((-1,) + self.num_actions)
            return self._target.markov_joint_play(counts, self._visits, self._delta, self._sg.action_mask)
        slots = self._slots  # in key order: independent of how the trace was chunked
        slots = slots[self._visits[slots] > 0]  # histories first seen later in the chunk have no visit yet
        if self._polytope is None:
            return self._target.joint_play(self._counts, slots, self._visits[slots], z, self._delta)
        visits = self._visits[slots].astype(np.float64)
        weights = visits / float(z)
        metric = self.options.metric
        d = np.empty(slots.size)
        for sl in _history_blocks(slots.size, self._counts.shape[1]):
            joint = self._counts[slots[sl]] / visits[sl, None]
            d[sl] = distance_to_polyhedron(joint, self._polytope.a_ub, self._polytope.b_ub, metric)
        rad = concentration_radius(
            self._visits[slots], self._counts.shape[1], self._delta / slots.size, metric
        )
        return _FinalValue(float(np.sum(weights * d)), None, float(np.sum(weights * rad)))

    def _correlation(self) -> float:
        """How far the joint play is from independent play (see :func:`outside.joint_correlation`).

        Read in blocks of histories, as :meth:`_joint_value` reads them.
        """
        slots = np.arange(self._counts.shape[0]) if self.stochastic else self._slots
        slots = slots[self._visits[slots] > 0]
        if not slots.size:
            return 0.0
        tv = np.empty(slots.size)
        for sl in _history_blocks(slots.size, self._counts.shape[1]):
            block = self._counts[slots[sl]].reshape((sl.stop - sl.start,) + self.num_actions)
            tv[sl] = correlation_rows(block, self._visits[slots[sl]])
        visits = self._visits[slots]
        return float((visits / float(visits.sum())) @ tv)

    # ------------------------------------------------------------------ returns

    def _update_returns(self, returns: FloatArray) -> None:
        m = returns.shape[0]
        z_old = self._zr
        if self._shift is None:
            self._shift = returns[0].copy()
        zs = np.arange(z_old + 1, z_old + m + 1, dtype=np.float64)
        dev = returns - self._shift
        s1 = np.cumsum(np.concatenate([self._rsum[None], dev]), axis=0)[1:]
        s2 = np.cumsum(np.concatenate([self._rsq[None], dev * dev]), axis=0)[1:]
        mean = self._shift + s1 / zs[:, None]
        plan = self._grids["returns"].plan(z_old, z_old + m)
        if self._wanted("average_return"):
            gaps = self._target.payoff_distance(self._units.to_unit(mean))
            distances = _floored(gaps.distances * self._units.display, self._floors["average_return"])
            gaps = gaps._replace(distances=distances)
            curve = self._curve("average_return", True, self._scale)
            curve.push_rows(z_old + 1, gaps.distances, gaps.distances, gaps.groups)
            at = plan.points - z_old - 1
            radii = self._return_radii(s1[at], s2[at], zs[at])
            curve.push_checkpoints(plan.points.tolist(), gaps.distances[at].tolist(), None, radii.tolist())
        self._rsum, self._rsq = s1[-1].copy(), s2[-1].copy()
        self._zr = z_old + m
        self._thin("returns", plan.level)

    def _return_radius(self) -> float:
        z = float(self._zr)
        return float(self._return_radii(self._rsum[None], self._rsq[None], np.array([z]))[0])

    def _return_radii(self, s1: FloatArray, s2: FloatArray, zs: FloatArray) -> FloatArray:
        """Radii of the mean returns after ``zs`` rows, from the shifted sums ``(m, n)`` at those rows."""
        z = zs.astype(np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.maximum((s2 - s1 * s1 / z) / (z - 1.0), 0.0)
        q = float(ndtri(1.0 - self._delta / (2.0 * self.n_players)))
        half = self._units.relative(q * np.sqrt(var / z)) * self._scale  # each player in its own range
        out = half.max(axis=1) if self.options.aggregate == "max" else half.sum(axis=1)
        return np.where(zs < 2, math.inf, out)

    # ------------------------------------------------------------------ checkpoints

    def _thin(self, stream: str, level: int) -> None:
        """Move the stream's grid to ``level``; drop the stored checkpoints that are not on it."""
        grid = self._grids[stream]
        if level == grid.level:
            return  # the stored checkpoints are on this grid: thinned to it before, or planned on it
        grid.level = level
        for name, curve in self._curves.items():
            if _STREAMS.get(_CURVE_NAMES.get(name, name), "policies") == stream and curve.checkpoint_z:
                curve.thin(grid.contains(np.asarray(curve.checkpoint_z, dtype=np.int64)))
        if stream == "policies" and self._credit is not None and self._credit.checkpoint_z:
            self._credit.thin(grid.contains(np.asarray(self._credit.checkpoint_z, dtype=np.int64)).tolist())

    # ------------------------------------------------------------------ scoring

    def _final(self, name: str, z: int) -> _FinalValue:
        cached = self._cache.get(name)
        if cached is not None and cached.z == z:
            return cached.final
        final = self._compute_final(name, z)
        final = final._replace(value=float(_floored(np.asarray(final.value), self._floors[name])))
        self._cache[name] = _CachedFinal(z, final)
        return final

    def _compute_final(self, name: str, z: int) -> _FinalValue:
        if name == "averaged_joint_policy":
            return self._joint_value(z)
        if name == "average_return":
            assert self._shift is not None
            mean = self._shift + self._rsum / z
            gaps = self._target.payoff_distance(self._units.to_unit(mean[None]))
            value = float(gaps.distances[0]) * self._units.display
            return _FinalValue(value, gaps.last_member, self._return_radius())
        assert self._sum is not None and self._last is not None
        avg = [s / float(z) for s in self._sum]
        last = self._last
        if name in ("last_iterate", "empirical"):
            profile = last if name == "last_iterate" else avg
            exact = self._target.exact([p[None] for p in profile])
            return _FinalValue(exact.value, exact.member, None)
        shown = self._units.display
        if self.stochastic:
            profile = last if name in ("expected_return", "nash_conv") else avg
            cert = certify_markov(self._unit_sg, profile)
            if name == "expected_return":
                gaps = self._target.payoff_distance(cert.payoffs[None])
                return _FinalValue(float(gaps.distances[0]) * shown, gaps.last_member, None)
            return _FinalValue(float(cert.nash_conv) * shown, None, None)
        profile = avg if name == "nash_conv_average" else last
        u, nc = _payoff_rows(self._unit_nf.payoffs, [p[None] for p in profile])
        if name == "expected_return":
            gaps = self._target.payoff_distance(u)
            return _FinalValue(float(gaps.distances[0]) * shown, gaps.last_member, None)
        return _FinalValue(float(nc[0]) * shown, None, None)

    def _score(self, name: str, z: int, given: tuple[_Curve, _FinalValue] | None = None) -> CriterionScore:
        """The score of ``name`` at row ``z``, from its stored curve or the ``given`` curve and final value."""
        key = "empirical" if name in ("empirical_distribution", "set_convergence") else name
        scale = self._scale if name in _PAYOFF_CURVES else 1.0
        curve = self._curves.get(key) if given is None else given[0]
        if curve is None or z == 0:
            what = {"policies": "policies", "samples": "sampled joint actions", "returns": "returns"}[
                _STREAMS.get(name, "policies")
            ]
            return CriterionScore(
                name=name,
                checkpoints_z=np.zeros(0, dtype=np.int64),
                values=np.zeros(0),
                final_value=math.nan,
                verdict="inconclusive",
                epsilon=None,
                evidence=f"no data: the trace has no {what}",
                fitted_rate=None,
                rate_r2=None,
                z=0,
                scale=scale,
            )
        final = self._final(key, z) if given is None else given[1]
        window = min(self.options.window(z), z)
        at_last = [] if curve.checkpoint_z and curve.checkpoint_z[-1] == z else [z]
        fit_z = np.asarray(curve.checkpoint_z + at_last, dtype=np.float64)
        fit_v = np.asarray(curve.checkpoint_values + [final.value] * len(at_last), dtype=np.float64)
        fit = fit_rate(fit_z, fit_v, z_min=math.sqrt(z))
        tail = curve.tail(z, window, fit_z, fit_v, self._eps, self._target.group_of)
        evidence = TailEvidence(
            z=z,
            window=window,
            epsilons=self._eps,
            scale=scale,
            below=tail.below,
            above=tail.above,
            last_above=tail.last_above,
            final=final.value,
            radius=final.radius,
            fit=fit,
            period=tail.period,
            tail_text=tail.text,
            single_limit=self._single_limit(name),
            recent_switches=tail.recent_switches,
            last_switch=tail.last_switch,
            switch_start=tail.switch_start,
        )
        verdict = decide_verdict(evidence)
        outside = None
        if self._limits is not None and self._sum is not None and self._last is not None:
            profiles = {"last": self._last, "mean": [s / float(z) for s in self._sum]}
            outside = outside_verdict(
                self.game,
                self._target,
                self._limits,
                profiles,
                name,
                z,
                window,
                verdict,
                self._eps,
                self.options.min_tail,
            )
        if outside is not None:
            verdict = outside.verdict
        elif not self._target.complete:
            correlation = self._correlation() if name == "averaged_joint_policy" else None
            verdict = undecided_without_profile(name, verdict, correlation, max(self._eps))
        return CriterionScore(
            name=name,
            checkpoints_z=np.asarray(curve.checkpoint_z, dtype=np.int64),
            values=np.asarray(curve.checkpoint_values, dtype=np.float64),
            final_value=final.value,
            verdict=verdict.verdict,
            epsilon=verdict.epsilon,
            evidence=verdict.evidence,
            fitted_rate=None if fit is None else fit.slope,
            rate_r2=None if fit is None else fit.r2,
            z=z,
            scale=scale,
            z0=tail.z0,
            z0_exact=tail.z0_exact,
            confidence_radius=final.radius,
            nearest_solution=None if final.member is None else (final.member.kind, final.member.index),
            switched=tail.switches > 0,
            switch_count=tail.switches,
            checkpoint_radii=(
                np.asarray(curve.checkpoint_radii, dtype=np.float64) if final.radius is not None else None
            ),
            outside_profile=None if outside is None else outside.profile,
            outside_regret=None if outside is None else outside.regret,
        )


def score_trace(
    game: NormalFormGame | StochasticGame,
    solution_set: SolutionSet | MarkovSolutionSet | SolutionTarget,
    trace: TraceChunk | Iterable[TraceChunk],
    options: ScoreOptions | None = None,
) -> TraceScore:
    """Score a whole trace: a :class:`TraceScorer` fed every chunk, then its result.

    Parameters
    ----------
    game : NormalFormGame or StochasticGame
    solution_set : SolutionSet or MarkovSolutionSet or SolutionTarget
    trace : TraceChunk or iterable of TraceChunk
    options : ScoreOptions, optional

    Returns
    -------
    TraceScore

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame, solve
    >>> pd = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
    >>> defect = np.tile([0.0, 1.0], (100, 1))
    >>> score = score_trace(pd, solve(pd), TraceChunk(policies=(defect, defect)))
    >>> score["last_iterate"].verdict, score["nash_conv"].final_value, score.selected
    ('converged', 0.0, ('point', 0))
    """
    scorer = TraceScorer(game, solution_set, options)
    chunks = [trace] if isinstance(trace, TraceChunk) else trace
    for chunk in chunks:
        scorer.update(chunk)
    return scorer.result()
