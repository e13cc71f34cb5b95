"""Mixed Nash equilibria of n-player games by pygambit's methods, refined and re-certified.

:func:`gambit_equilibria` runs pygambit's ``enumpoly``, ``gnm``, ``ipa``, ``simpdiv`` and
``logit`` (``"auto"`` picks by game size), each in a sandboxed child process
(:mod:`~equilibria.solver.normal_form.sandbox`). Every profile they return is only a
candidate: it is refined by Newton's method on its support equations, re-certified from
the user's payoffs and merged with its duplicates. See docs/normal-form.md (section
"n-player equilibria") for the equations, the refinement and the choice of ``"auto"``.

Examples
--------
Jordan's three-player matching pennies (player 1 wants to match player 2, player 2
to match player 3, player 3 to mismatch player 1) has one equilibrium, everyone
mixing evenly:

>>> import numpy as np
>>> from equilibria.solver import NormalFormGame
>>> from equilibria.solver.normal_form.nplayer import gambit_equilibria
>>> a1, a2, a3 = np.indices((2, 2, 2))
>>> sign = lambda same: np.where(same, 1.0, -1.0)
>>> game = NormalFormGame(np.stack([sign(a1 == a2), sign(a2 == a3), sign(a3 != a1)]))
>>> result = gambit_equilibria(game)
>>> [s.round(9).tolist() for s in result.equilibria[0].strategies]
[[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
>>> result.method, result.equilibria[0].found_by, result.complete
('gambit:enumpoly+gnm', ('enumpoly', 'gnm'), False)

References
----------
.. [1] R. D. McKelvey and A. McLennan, "Computation of equilibria in finite games",
   Handbook of Computational Economics 1 (1996) 87-142.
.. [2] T. L. Turocy, "Towards a black-box solver for finite games", IMA Vol. Math. Appl.
   148 (2008) 133-147 (``enumpoly``).
.. [3] S. Govindan and R. Wilson, "A global Newton method to compute Nash equilibria",
   J. Economic Theory 110 (2003) 65-86 (``gnm``; ``ipa``: JEDC 28 (2004) 1229-1241).
.. [4] T. L. Turocy et al., Gambit: Software Tools for Game Theory, version 16.7.0.
   The other methods' papers are cited in docs/normal-form.md.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from equilibria.solver._typing import FloatArray, Profile
from equilibria.solver.errors import (
    InvalidOptionError,
    MissingDependencyError,
    check_time_limit,
    check_tolerance,
)
from equilibria.solver.game import NormalFormGame, unit_payoffs
from equilibria.solver.normal_form.pure import pure_equilibria
from equilibria.solver.normal_form.sandbox import SandboxFailure, SandboxTimeout, run_isolated
from equilibria.solver.regret import certify
from equilibria.solver.results import Component, Equilibrium, SolutionSet

__all__ = [
    "gambit_equilibria",
    "GAMBIT_METHODS",
    "AUTO_METHODS",
    "AUTO_AFTER_ENUMPOLY",
    "ENUMPOLY_MAX_SUPPORT_PROFILES",
    "AUTO_ENUMPOLY_BUDGET",
    "RUN_BUDGET",
    "count_support_profiles",
]


#: The pygambit methods that may be requested by name.
GAMBIT_METHODS = ("enumpoly", "gnm", "ipa", "simpdiv", "logit")
#: What ``"auto"`` runs on a game too large for ``enumpoly``.
AUTO_METHODS = ("gnm", "simpdiv", "logit")
#: What ``"auto"`` runs after ``enumpoly`` finished: it solves each support system in
#: floating point and can miss a badly conditioned one, which a global Newton path may
#: reach (benchmark case 5).
AUTO_AFTER_ENUMPOLY = ("gnm",)
#: ``"auto"`` runs ``enumpoly`` when the game has at most this many support profiles
#: (``prod_i (2**a_i - 1)``): up to 3x3x3x3 and 4x4x4 it is both faster and more complete
#: than the path-following methods with several starts (timings in docs/normal-form.md);
#: a run that overruns its budget falls back to them.
ENUMPOLY_MAX_SUPPORT_PROFILES = 3500
#: Wall-time budget (seconds) of ``enumpoly`` under ``"auto"`` with no ``time_limit``:
#: on games with a continuum of equilibria it can run without end (pygambit 16.7.0 does
#: not finish on the 2x2x4 game of Nau, Gomez Canovas and Hansen 2004, section 6).
AUTO_ENUMPOLY_BUDGET = 10.0
#: Wall-time budget (seconds) of each pygambit run when no ``time_limit`` is given: a
#: ``gnm`` path from some perturbations never ends (pygambit 16.7.0, a 3^4 game).
RUN_BUDGET = 10.0
#: Under ``"auto"`` with a ``time_limit``, ``enumpoly`` gets at most this share of it.
_AUTO_ENUMPOLY_SHARE = 0.5
#: A further start of a method (a random perturbation or starting profile) is killed past
#: this many times the seconds its first run took, and at least :data:`_RESTART_FLOOR`:
#: some paths never end, and a start is worth no more than a few times the first.
_RESTART_FACTOR = 20.0
_RESTART_FLOOR = 1.0
#: Number of ``gnm`` / ``ipa`` runs: the default perturbation, then random ones.
_PERTURBATIONS = 3
#: Number of ``simpdiv`` runs: from the centroid, then from random grid profiles.
_SIMPDIV_STARTS = 3
#: ``simpdiv`` (exact rational arithmetic) runs on payoffs rounded to this grid of [0, 1].
_SIMPDIV_GRID = 10**6
#: Largest number of grid steps one ``simpdiv`` run may take.
_SIMPDIV_LEASH = 10_000
#: ``simpdiv``'s stopping regret (relative to the payoff range); Newton on the support
#: refines after. Its cost grows fast as this shrinks, while a 1e-3-equilibrium already
#: shows the support Newton needs.
_SIMPDIV_MAXREGRET = (1, 10**3)
#: Probability thresholds at which a candidate's support is read for refinement.
_SUPPORT_THRESHOLDS = (0.0, 1e-9, 1e-6, 1e-3)
#: Newton iterations on the support equations.
_NEWTON_ITERATIONS = 30
#: A refined probability below this is negative: the support guess was wrong.
_NEGATIVE_PROBABILITY = -1e-12
#: Candidates whose probabilities differ by at most this are one equilibrium.
_DEDUP_TOL = 1e-7
#: Seed of the random perturbations and starting points (results are reproducible).
_SEED = 20240521


def count_support_profiles(num_actions: Sequence[int]) -> int:
    """Number of support profiles ``prod_i (2**a_i - 1)``: the systems ``enumpoly`` solves.

    Examples
    --------
    >>> count_support_profiles((3, 3, 3))
    343
    """
    return math.prod(2**k - 1 for k in num_actions)


def gambit_equilibria(
    game: NormalFormGame,
    *,
    methods: Sequence[str] | str = ("auto",),
    tol: float = 1e-9,
    max_equilibria: int = 0,
    time_limit: float | None = None,
) -> SolutionSet:
    """Mixed Nash equilibria of an n-player game by pygambit's methods, refined and certified.

    Parameters
    ----------
    game : NormalFormGame
        A game with any number of players (most useful for 3 or more; for 2 players
        :func:`~equilibria.solver.normal_form.vertex_enumeration.vertex_enumeration` is complete).
    methods : sequence of str or str, optional(default=("auto",))
        Any of ``"enumpoly"``, ``"gnm"``, ``"ipa"``, ``"simpdiv"``, ``"logit"``, or
        ``"auto"`` alone: ``enumpoly`` when the game has at most
        :data:`ENUMPOLY_MAX_SUPPORT_PROFILES` support profiles, followed by ``gnm``
        (for what enumpoly's floating point misses); otherwise (or when ``enumpoly``
        overruns its budget) ``gnm`` + ``simpdiv`` + ``logit``.
        ``gnm`` and ``ipa`` run from 3 perturbations (the default one, then two
        seeded random ones), ``simpdiv`` from the centroid and two seeded random grid
        profiles, ``logit`` and ``enumpoly`` once.
    tol : float, optional(default=1e-9)
        An equilibrium is kept when, measured from the user's payoffs after
        refinement, every player's regret is at most ``10 * tol`` times that player's
        own payoff range (:meth:`~equilibria.solver.game.NormalFormGame.within_tolerance`).
    max_equilibria : int, optional(default=0)
        Keep at most this many equilibria (0: all); also passed to ``enumpoly``.
    time_limit : float, optional
        Wall-time budget in seconds for the whole call (not counting the one-time
        import of pygambit, which takes a few seconds). pygambit's methods have no
        time-based stopping rule, so every run goes to a forked child process (which
        also shields this process from pygambit's own crashes) that is killed past its
        share of the time left: the time left divided by the number of runs still to
        go. Without a ``time_limit`` each run is killed past :data:`RUN_BUDGET`
        seconds (:data:`AUTO_ENUMPOLY_BUDGET` for ``enumpoly`` under ``"auto"``). A
        further start of a method (a random perturbation or starting profile) is also
        killed past 20 times the seconds its first run took (at least 1 s): some paths
        never end. Without fork (Windows) runs are inline and only skipped once the budget is
        spent. Runs skipped, stopped or failed are listed in ``warnings``.

    Returns
    -------
    SolutionSet
        ``method`` is ``"gambit:"`` plus the methods run joined by ``"+"``.
        ``equilibria`` are sorted (lexicographically decreasing probabilities), each
        its own singleton component, with ``found_by`` naming every method that found
        it. ``complete`` is True only when iterated elimination of strictly dominated
        pure strategies (by a margin above ``10 * tol`` of each player's own payoff range) leaves a
        single joint action: that profile is then the unique equilibrium of the game.
        In every other case it is False, including after ``enumpoly``: it finds only
        isolated equilibria, in floating point, so a continuum of equilibria or a
        numerical failure can hide some (the game of Nau et al. 2004, section 5, has 3
        pure, 2 partially mixed and a continuum of equilibria; ``enumpoly`` returns
        the 3 pure ones).

    Raises
    ------
    InvalidOptionError
        If a method is unknown, ``"auto"`` is combined with other methods, ``tol`` is
        not in (0, 1e-3], ``max_equilibria`` is negative or ``time_limit`` is not a
        positive number.

    Examples
    --------
    Three players who each get 1 when all choose the same action: two pure equilibria
    and everyone mixing evenly.

    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> a = np.indices((2, 2, 2))
    >>> same = ((a[0] == a[1]) & (a[1] == a[2])).astype(float)
    >>> result = gambit_equilibria(NormalFormGame(np.stack([same, same, same])))
    >>> [eq.strategies[0].round(9).tolist() for eq in result.equilibria]
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    >>> [eq.found_by for eq in result.equilibria]
    [('enumpoly', 'gnm', 'pure_enumeration'), ('enumpoly', 'gnm'), ('enumpoly', 'gnm', 'pure_enumeration')]
    """
    started = time.perf_counter()
    requested = _validated_methods(methods)
    _validate_options(tol, max_equilibria, time_limit)
    _pygambit()  # deferred: the first import takes seconds, not charged to time_limit

    clock = time.perf_counter()
    deadline = None if time_limit is None else clock + float(time_limit)
    runner = _Runner(game, deadline, max_equilibria)
    reasons = _run_requested(runner, requested, time_limit)
    runner.add_pure(tol)
    keep = 10.0 * tol  # of each player's own payoff range
    kept, discarded = _certified_distinct(game, runner.candidates, keep)
    kept.sort(key=lambda item: tuple(-np.concatenate(item.strategies)))
    warnings = _warnings(runner, kept, discarded, keep, max_equilibria)
    reasons.append(_found_reason(runner, kept))
    truncated = bool(max_equilibria) and len(kept) > max_equilibria
    if truncated:
        kept = kept[:max_equilibria]
        warnings.append(f"truncated to max_equilibria={max_equilibria}")
    complete, why = _completeness(game, runner, kept, truncated, tol)
    reasons.append(why)
    equilibria = _equilibria(kept)
    components = tuple(
        Component((k,), tuple(s[None, :] for s in eq.strategies)) for k, eq in enumerate(equilibria)
    )
    return SolutionSet(
        game_id=game.id,
        equilibria=equilibria,
        components=components,
        complete=complete,
        method="gambit:" + ("+".join(runner.ran) or "none"),
        method_reason="; ".join(reasons),
        warnings=tuple(warnings),
        tolerance=tol,
        concepts=("nash",),
        elapsed_seconds=time.perf_counter() - started,
    )


def _validate_options(tol: float, max_equilibria: int, time_limit: float | None) -> None:
    """Check ``gambit_equilibria``'s numeric options (the methods are checked first)."""
    check_tolerance(tol, "gambit_equilibria")
    if isinstance(max_equilibria, bool) or not isinstance(max_equilibria, int) or max_equilibria < 0:
        raise InvalidOptionError(
            "max_equilibria",
            f"gambit_equilibria(): max_equilibria must be an integer >= 0, got {max_equilibria!r}",
        )
    check_time_limit(time_limit, "gambit_equilibria")


def _warnings(
    runner: _Runner, kept: list[_Kept], discarded: int, keep: float, max_equilibria: int
) -> list[str]:
    """The runs' warnings, then the discarded candidates and an even count after ``enumpoly``."""
    warnings = list(runner.warnings)
    if discarded:
        warnings.append(
            f"{discarded} of {len(runner.candidates)} candidates discarded: a player's regret above "
            f"{keep:.3g} of its payoff range after refinement"
        )
    if "enumpoly" in runner.finished and not max_equilibria and len(kept) % 2 == 0:
        warnings.append(
            f"an even number of equilibria ({len(kept)}) was found: a generic game has an odd number "
            "(Wilson 1971), so the game is degenerate or some equilibria were missed"
        )
    return warnings


def _found_reason(runner: _Runner, kept: list[_Kept]) -> str:
    """How many distinct certified equilibria each method found (and its candidates)."""
    found = ", ".join(
        f"{name} {sum(name in item.found_by for item in kept)} ({runner.found[name]} candidates)"
        for name in [*runner.ran, "pure_enumeration"]
    )
    return f"distinct certified equilibria found by: {found}"


def _completeness(
    game: NormalFormGame, runner: _Runner, kept: list[_Kept], truncated: bool, tol: float
) -> tuple[bool, str]:
    """Whether the set is provably complete (a unique equilibrium by dominance), and why."""
    unique = _unique_by_dominance(game.unit_game, 10.0 * tol)  # each player's own range
    complete = unique is not None and not truncated and len(kept) == 1 and kept[0].is_pure_profile(unique)
    if complete:
        return True, (
            "complete: iterated elimination of strictly dominated strategies leaves one joint action, "
            "so it is the unique equilibrium"
        )
    why = [_INCOMPLETE[name] for name in runner.ran] or ["no pygambit method ran (time_limit spent)"]
    return False, "not provably complete: " + "; ".join(why)


def _equilibria(kept: list[_Kept]) -> tuple[Equilibrium, ...]:
    """The kept profiles as equilibria, each its own singleton component."""
    return tuple(
        Equilibrium(
            item.strategies,
            item.payoffs,
            item.regrets,
            item.nash_conv,
            components=(k,),
            found_by=tuple(sorted(item.found_by, key=_METHOD_ORDER.index)),
        )
        for k, item in enumerate(kept)
    )


_METHOD_ORDER = (*GAMBIT_METHODS, "pure_enumeration")
_INCOMPLETE = {
    "enumpoly": "enumpoly finds only isolated equilibria, in floating point (a continuum or a numerical "
    "failure can hide some)",
    "gnm": "gnm finds the equilibria on the path of each perturbation only",
    "ipa": "ipa finds one equilibrium per perturbation",
    "simpdiv": "simpdiv finds one equilibrium per starting profile",
    "logit": "logit finds the limit of the principal QRE branch only",
}


def _validated_methods(methods: Sequence[str] | str) -> tuple[str, ...]:
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    expected = ", ".join(repr(m) for m in ("auto", *GAMBIT_METHODS))
    if not names:
        raise InvalidOptionError(
            "methods", f"gambit_equilibria(): no method given; expected one of {expected}"
        )
    for name in names:
        if name != "auto" and name not in GAMBIT_METHODS:
            raise InvalidOptionError(
                "methods", f"gambit_equilibria(): unknown method {name!r}; expected one of {expected}"
            )
    if "auto" in names and len(names) > 1:
        raise InvalidOptionError(
            "methods", "gambit_equilibria(): 'auto' cannot be combined with other methods"
        )
    return tuple(dict.fromkeys(names))


def _run_requested(runner: _Runner, requested: tuple[str, ...], time_limit: float | None) -> list[str]:
    """Run the requested methods (resolving ``"auto"``); return why, for ``method_reason``."""
    if requested != ("auto",):
        runner.run(requested)
        return [f"requested: {' + '.join(requested)}"]
    profiles = count_support_profiles(runner.game.num_actions)
    if profiles > ENUMPOLY_MAX_SUPPORT_PROFILES:
        runner.run(AUTO_METHODS)
        return [
            f"auto: {profiles:,} support profiles > {ENUMPOLY_MAX_SUPPORT_PROFILES:,}, so "
            f"{' + '.join(AUTO_METHODS)}"
        ]
    budget = AUTO_ENUMPOLY_BUDGET
    if time_limit is not None:
        budget = min(budget, _AUTO_ENUMPOLY_SHARE * float(time_limit))
    reasons = [
        f"auto: {profiles:,} support profiles <= {ENUMPOLY_MAX_SUPPORT_PROFILES:,}, so enumpoly "
        f"(given up to {budget:.3g} s)"
    ]
    started = time.perf_counter()
    if runner.run(("enumpoly",), cap=budget):
        # A supplement is worth a few times enumpoly's own time, not the full RUN_BUDGET
        # per start: gnm runs past 10 s from every perturbation of the minority game.
        cap = min(RUN_BUDGET, _leash(time.perf_counter() - started))
        reasons.append(
            f"then {' + '.join(AUTO_AFTER_ENUMPOLY)} for what enumpoly's floating point may miss "
            f"(each start capped at {cap:.3g} s)"
        )
        runner.run(AUTO_AFTER_ENUMPOLY, cap=cap)
    else:
        reasons.append(f"enumpoly did not finish, so also {' + '.join(AUTO_METHODS)}")
        runner.run(AUTO_METHODS)
    return reasons


# --------------------------------------------------------------------------- running pygambit


@dataclasses.dataclass
class _Candidate:
    strategies: Profile
    method: str


def _leash(seconds: float) -> float:
    """How long a further start may run, after the method's first run took ``seconds``.

    :data:`_RESTART_FACTOR` times as long, and at least :data:`_RESTART_FLOOR`.

    Examples
    --------
    >>> _leash(0.01), _leash(0.5)
    (1.0, 10.0)
    """
    return max(_RESTART_FLOOR, _RESTART_FACTOR * seconds)


def _pygambit() -> ModuleType:
    """pygambit, imported on first use; a clear error when the installation lacks it."""
    try:
        import pygambit
    except ImportError as exc:
        raise MissingDependencyError(
            "method",
            "gambit_equilibria(): pygambit is not installed, though equilibria depends on it; "
            "reinstall with `pip install equilibria` (the first install compiles pygambit: "
            f"about 10 minutes on 2 cores) ({exc})",
        ) from exc
    return pygambit


class _Runner:
    """Runs pygambit's methods on one game, collecting candidates, counts and warnings."""

    def __init__(self, game: NormalFormGame, deadline: float | None, max_equilibria: int) -> None:
        self.gbt = _pygambit()
        self.game = game
        self.deadline = deadline
        self.max_equilibria = max_equilibria
        self.unit = unit_payoffs(game.payoffs)
        self.rng = np.random.default_rng(_SEED)
        self.candidates: list[_Candidate] = []
        self.found: dict[str, int] = {}
        self.ran: list[str] = []
        self.finished: list[str] = []
        self.warnings: list[str] = []
        self._gbt_game: Any = None

    @property
    def gbt_game(self) -> Any:
        if self._gbt_game is None:
            self._gbt_game = self.gbt.Game.from_arrays(*self.unit)
        return self._gbt_game

    def run(self, names: Sequence[str], *, cap: float | None = None) -> bool:
        """Run the methods from all their starting points; False when some run did not finish.

        Each run is killed past ``cap`` seconds (default :data:`RUN_BUDGET` without a
        ``time_limit``), and with a ``time_limit`` past its fair share of the time left:
        the remaining time divided by the number of runs still to go. Once a method has
        finished one run, its further starts are also killed past
        ``max(_RESTART_FLOOR, _RESTART_FACTOR * seconds of that first run)``; when its
        first start ran out of time instead, its further starts are skipped (seen on
        games with a continuum of equilibria, where every start of gnm runs until killed).
        """
        plan = [(name, label, thunk) for name in names for label, thunk in self._thunks(name)]
        if cap is None and self.deadline is None:
            cap = RUN_BUDGET
        unfinished: set[str] = set()
        first_run: dict[str, float] = {}  # seconds the first finished run of each method took
        stuck: set[str] = set()  # methods whose first start ran out of time
        for k, (name, label, thunk) in enumerate(plan):
            if name in stuck:
                self.warnings.append(f"{label} skipped: the first start of {name} did not finish")
                continue
            limits = [] if cap is None else [cap]  # cap or deadline: never empty
            if self.deadline is not None:  # a fair share of the time left
                limits.append((self.deadline - time.perf_counter()) / (len(plan) - k))
            if name in first_run:  # another start of a method that already finished once
                limits.append(_leash(first_run[name]))
            limit = min(limits)
            if limit <= 0.0:
                self.warnings.append(f"{label} skipped: time_limit spent")
                unfinished.add(name)
                continue
            if name not in self.ran:
                self.ran.append(name)
                self.found[name] = 0
            run_started = time.perf_counter()
            try:
                profiles = run_isolated(thunk, limit)
                first_run.setdefault(name, time.perf_counter() - run_started)
            except SandboxTimeout:
                self.warnings.append(f"{label} stopped after {limit:.3g} s without finishing")
                unfinished.add(name)
                if name not in first_run:
                    stuck.add(name)
                continue
            except SandboxFailure as exc:
                self.warnings.append(f"{label} failed: {exc}")
                unfinished.add(name)
                continue
            self.candidates.extend(_Candidate(strategies, name) for strategies in profiles)
            self.found[name] += len(profiles)
        self.finished.extend(name for name in names if name not in unfinished)
        return not unfinished

    def add_pure(self, tol: float) -> None:
        joint = pure_equilibria(self.game, tol=tol)
        eye = [np.eye(k) for k in self.game.num_actions]
        for actions in joint:
            strategies = tuple(e[a] for e, a in zip(eye, actions, strict=True))
            self.candidates.append(_Candidate(strategies, "pure_enumeration"))
        self.found["pure_enumeration"] = len(joint)

    def _thunks(self, name: str) -> list[tuple[str, Callable[[], list[Profile]]]]:
        gbt, g = self.gbt, self.gbt_game
        if name == "enumpoly":
            stop = self.max_equilibria or None
            return [("enumpoly", lambda: _profiles(gbt.nash.enumpoly_solve(g, stop_after=stop)))]
        if name == "logit":
            return [("logit", lambda: _profiles(gbt.nash.logit_solve(g)))]
        if name in ("gnm", "ipa"):
            solver = gbt.nash.gnm_solve if name == "gnm" else gbt.nash.ipa_solve
            thunks = [(f"{name} (default perturbation)", lambda: _profiles(solver(g)))]
            for k in range(1, _PERTURBATIONS):
                # A probability vector per player: unnormalised ones can crash pygambit 16.7.0's gnm
                # ("double free or corruption" on a 3^5 game).
                data = [(v / v.sum()).tolist() for v in map(self.rng.random, self.game.num_actions)]
                perturbation = g.mixed_strategy_profile(data=data)
                thunks.append(
                    (f"{name} (random perturbation {k})", lambda p=perturbation: _profiles(solver(p)))
                )
            return thunks
        # simpdiv: exact rational arithmetic, so run it on payoffs rounded to a grid (the
        # start of Newton's refinement on the true payoffs); the leash bounds the path.
        grid = gbt.Game.from_arrays(*np.rint(self.unit * _SIMPDIV_GRID).astype(np.int64))
        maxregret = gbt.Rational(*_SIMPDIV_MAXREGRET)
        starts = [("centroid", grid.mixed_strategy_profile(rational=True))]
        for k in range(1, _SIMPDIV_STARTS):
            starts.append((f"random start {k}", grid.random_strategy_profile(denom=7, gen=self.rng)))
        return [
            (
                f"simpdiv ({label})",
                lambda s=start: _profiles(
                    gbt.nash.simpdiv_solve(s, maxregret=maxregret, leash=_SIMPDIV_LEASH)
                ),
            )
            for label, start in starts
        ]


def _profiles(result: Any) -> list[Profile]:
    """Float profiles of a pygambit ``NashComputationResult``."""
    players = list(result.game.players)
    return [
        tuple(np.array([float(eq[s]) for s in p.strategies], dtype=np.float64) for p in players)
        for eq in result.equilibria
    ]


# --------------------------------------------------------------------------- refinement and certificates


@dataclasses.dataclass
class _Kept:
    strategies: Profile
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    found_by: set[str]

    def is_pure_profile(self, actions: Sequence[int]) -> bool:
        return all(float(s[a]) == 1.0 for s, a in zip(self.strategies, actions, strict=True))


def _certified_distinct(
    game: NormalFormGame, candidates: list[_Candidate], keep: float
) -> tuple[list[_Kept], int]:
    """Refine, certify and merge the candidates; also return how many were discarded.

    A candidate is kept when every player's regret is within ``keep`` of that player's
    own payoff range (a player whose payoffs are 1e-9 times the others' is held to its
    own unit, not theirs).
    """
    unit = unit_payoffs(game.payoffs)
    kept: list[_Kept] = []
    discarded = 0
    for candidate in candidates:
        profile = _sanitised(candidate.strategies, game.num_actions)
        if profile is None:
            discarded += 1
            continue
        if candidate.method != "pure_enumeration":
            profile = _refined(game, unit, profile)
        cert = certify(game, profile)
        if not game.within_tolerance(cert.regrets, keep):
            discarded += 1
            continue
        flat = np.concatenate(profile)
        for item in kept:
            if float(np.abs(np.concatenate(item.strategies) - flat).max()) <= _DEDUP_TOL:
                item.found_by.add(candidate.method)
                # An exact pure profile beats a float approximation of it, even at equal NashConv.
                if candidate.method == "pure_enumeration" or cert.nash_conv < item.nash_conv:
                    item.strategies, item.payoffs, item.regrets = profile, cert.payoffs, cert.regrets
                    item.nash_conv = cert.nash_conv
                break
        else:
            kept.append(_Kept(profile, cert.payoffs, cert.regrets, cert.nash_conv, {candidate.method}))
    return kept, discarded


def _sanitised(strategies: Sequence[FloatArray], num_actions: tuple[int, ...]) -> Profile | None:
    """Clip to non-negative and renormalise; None for a malformed or non-finite profile."""
    out = []
    for s, k in zip(strategies, num_actions, strict=True):
        s = np.asarray(s, dtype=np.float64)
        if s.shape != (k,) or not np.all(np.isfinite(s)):
            return None
        s = np.clip(s, 0.0, None)
        total = float(s.sum())
        if total <= 0.0:
            return None
        out.append(s / total)
    return tuple(out)


def _refined(game: NormalFormGame, unit: FloatArray, profile: Profile) -> Profile:
    """The best of the candidate and its Newton refinements on a few support guesses."""
    best, best_conv = profile, certify(game, profile).nash_conv
    seen: set[tuple[tuple[int, ...], ...]] = set()
    for threshold in _SUPPORT_THRESHOLDS:
        support = tuple(
            tuple(int(a) for a in np.flatnonzero(s > threshold)) or (int(s.argmax()),) for s in profile
        )
        if support in seen:
            continue
        seen.add(support)
        refined = _newton_on_support(unit, profile, support)
        if refined is None:
            continue
        conv = certify(game, refined).nash_conv
        if conv < best_conv:
            best, best_conv = refined, conv
    return best


def _newton_on_support(
    unit: FloatArray, profile: Profile, support: Sequence[Sequence[int]]
) -> Profile | None:
    """Newton's method on the support equations; None if it leaves the simplex or diverges.

    Unknowns: ``x_i(a)`` for ``a`` in ``S_i`` and the values ``v_i``. Equations:
    ``u_i(a, x_{-i}) - v_i = 0`` for ``a`` in ``S_i`` and ``sum_{S_i} x_i - 1 = 0``.
    Least-squares steps keep moving when the Jacobian is singular (a continuum).
    """
    n = len(profile)
    idx = [np.asarray(s, dtype=np.intp) for s in support]
    offsets = np.concatenate([[0], np.cumsum([s.size for s in idx])]).astype(int)
    size = int(offsets[-1])
    x = []
    for p, s in zip(profile, idx, strict=True):
        xi = np.zeros_like(p)
        xi[s] = p[s] / p[s].sum()  # positive: the support holds the candidate's largest entries
        x.append(xi)
    values = np.array([float(_cross(unit[i], x, i, (i + 1) % n) @ x[(i + 1) % n] @ x[i]) for i in range(n)])
    for _ in range(_NEWTON_ITERATIONS):
        residual = np.empty(size + n)
        jacobian = np.zeros((size + n, size + n))
        for i in range(n):
            rows = slice(offsets[i], offsets[i + 1])
            for j in range(n):
                if j == i:
                    continue
                cross = _cross(unit[i], x, i, j)
                jacobian[rows, offsets[j] : offsets[j + 1]] = cross[np.ix_(idx[i], idx[j])]
                if j == (i + 1) % n:
                    residual[rows] = (cross @ x[j])[idx[i]] - values[i]
            jacobian[rows, size + i] = -1.0
            jacobian[size + i, rows] = 1.0
            residual[size + i] = x[i][idx[i]].sum() - 1.0
        if not np.all(np.isfinite(residual)):
            return None
        if float(np.abs(residual).max()) <= 1e-15:
            break
        step = np.linalg.lstsq(jacobian, -residual, rcond=None)[0]
        for i in range(n):
            x[i][idx[i]] += step[offsets[i] : offsets[i + 1]]
        values += step[size:]
        if float(np.abs(step).max()) <= 1e-16:
            break
    out = []
    for xi in x:
        if not np.all(np.isfinite(xi)) or float(xi.min()) < _NEGATIVE_PROBABILITY:
            return None
        xi = np.clip(xi, 0.0, None)
        out.append(xi / xi.sum())
    return tuple(out)


def _cross(tensor: FloatArray, x: Sequence[FloatArray], i: int, j: int) -> FloatArray:
    """``M[a, b] = u(a, b, x_{-ij})`` with ``a`` player ``i``'s action, ``b`` player ``j``'s."""
    for k in reversed(range(len(x))):
        if k not in (i, j):
            tensor = np.tensordot(tensor, x[k], axes=([k], [0]))
    return tensor if i < j else tensor.T


def _unique_by_dominance(game: NormalFormGame, margin: float) -> tuple[int, ...] | None:
    """The joint action left by iterated strict dominance (by more than ``margin``), if one.

    Eliminating pure strategies strictly dominated by other pure strategies keeps every
    Nash equilibrium; when one joint action survives it is the unique equilibrium.
    """
    alive = [np.arange(k) for k in game.num_actions]
    changed = True
    while changed:
        changed = False
        sub = game.payoffs[(slice(None), *np.ix_(*alive))]
        for i in range(game.n_players):
            if alive[i].size == 1:
                continue
            u = np.moveaxis(sub[i], i, 0).reshape(alive[i].size, -1)
            # beats[b, a]: action b beats action a by more than the margin everywhere.
            beats = (u[:, None, :] - u[None, :, :] > margin).all(axis=2)
            dominated = beats.any(axis=0)
            if dominated.any():
                alive[i] = alive[i][~dominated]
                changed = True
                break
    if all(a.size == 1 for a in alive):
        return tuple(int(a[0]) for a in alive)
    return None
