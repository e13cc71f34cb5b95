"""Stationary equilibria of a general-sum stochastic game by several homotopy paths.

:func:`stationary_equilibria` runs the logit QRE homotopy
(:mod:`~equilibria.solver.stochastic.homotopy.qre`) and the logarithmic tracing homotopy
(:mod:`~equilibria.solver.stochastic.homotopy.tracing`) from several priors, and returns the
distinct certified end points: a partial set of stationary Markov perfect equilibria
(Herings & Peeters 2004; Eibelshäuser & Poensgen 2019). See docs/homotopy.md.

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
import time

import numpy as np
from equilibria.solver.errors import InvalidOptionError, check_time_limit
from equilibria.solver.results import MarkovEquilibrium
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.homotopy.path import (
    Model,
    Policies,
    check_count,
    check_game,
    check_tol,
    profile_distance,
)
from equilibria.solver.stochastic.homotopy.qre import DEFAULT_LAMBDA_MAX, qre_path
from equilibria.solver.stochastic.homotopy.tracing import DEFAULT_ETA, random_prior, tracing_path
from equilibria.solver.stochastic.regret import certified_equilibrium

__all__ = ["stationary_equilibria"]

#: Profiles within this max-norm distance are the same equilibrium.
_DEDUP = 1e-6


@dataclasses.dataclass(frozen=True)
class _Run:
    """One path of the search: ``"qre"``, or tracing from ``prior`` (None: uniform)."""

    label: str
    prior: Policies | None = None


@dataclasses.dataclass(frozen=True)
class _Found:
    """A distinct certified equilibrium and the labels of the paths that reached it."""

    policies: Policies
    labels: list[str]


@dataclasses.dataclass(frozen=True)
class _Search:
    """What the runs found, which failed (with why), how many ran, and whether time ran out."""

    found: list[_Found]
    failures: list[str]
    done: int
    timed_out: bool


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
        An equilibrium is kept when every player's largest state gap is at most ``tol``
        times its own value range (reward range over ``1 - discount``,
        :meth:`~equilibria.solver.stochastic.game.StochasticGame.value_tolerances`).
    time_limit : float, optional
        Wall-clock seconds for the whole search; it stops between (or inside) paths
        when they run out and says so.

    Returns
    -------
    equilibria : list of MarkovEquilibrium
        Distinct certified equilibria (profiles differing by more than 1e-6 in some
        probability), each with its certificate from
        :func:`~equilibria.solver.stochastic.regret.certify_markov` and ``found_by`` naming
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
    >>> from equilibria.solver.stochastic.game import StochasticGame
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
    check_game(game, caller)
    tol = check_tol(tol, caller)
    n_priors = check_count(n_priors, "n_priors", caller, 0, 10_000)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidOptionError("seed", f"{caller}(): seed must be an integer, got {seed!r}")
    limit = check_time_limit(time_limit, caller)
    started = time.monotonic()
    deadline = None if limit is None else started + limit
    runs = _runs(game, n_priors, seed)
    search = _search(game, runs, tol, deadline)
    equilibria = [certified_equilibrium(game, f.policies, tuple(f.labels)) for f in search.found]
    return equilibria, _description(game, runs, search, len(equilibria), n_priors, seed, limit)


def _small(game: StochasticGame) -> bool:
    """Whether the pure corner priors are tried."""
    return game.n_states <= 10 and max(game.num_actions) <= 4


def _runs(game: StochasticGame, n_priors: int, seed: int) -> list[_Run]:
    runs = [_Run("qre"), _Run("tracing:uniform")]
    if _small(game):
        runs += [_Run(f"tracing:corner={k}", _corner_prior(game, k)) for k in range(max(game.num_actions))]
    rng = np.random.default_rng(int(seed))
    runs += [_Run(f"tracing:prior={k}", random_prior(game, rng)) for k in range(n_priors)]
    return runs


def _search(game: StochasticGame, runs: list[_Run], tol: float, deadline: float | None) -> _Search:
    """Follow the runs' paths in order until the deadline; group the certified end points."""
    found: list[_Found] = []
    failures: list[str] = []
    done = 0
    timed_out = False
    for run in runs:
        if deadline is not None and time.monotonic() >= deadline:
            timed_out = True
            break
        if run.label == "qre":
            result = qre_path(game, tol, 20_000, DEFAULT_LAMBDA_MAX, deadline)
        else:
            rho = tuple(Model(game).uniform()) if run.prior is None else run.prior
            result = tracing_path(game, rho, DEFAULT_ETA, tol, 20_000, deadline)
        done += 1
        if not result.converged:  # converged: certified player by player on the user's game
            failures.append(f"{run.label} ({result.reason})")
            if "time limit" in result.reason:
                timed_out = True
            continue
        for known in found:
            if profile_distance(known.policies, result.policies) <= _DEDUP:
                known.labels.append(run.label)
                break
        else:
            found.append(_Found(result.policies, [run.label]))
    return _Search(found, failures, done, timed_out)


def _description(
    game: StochasticGame,
    runs: list[_Run],
    search: _Search,
    n_equilibria: int,
    n_priors: int,
    seed: int,
    limit: float | None,
) -> str:
    """How the set was searched, how many paths converged, and that it is partial."""
    priors_text = "the uniform prior"
    if _small(game):
        priors_text += f", {max(game.num_actions)} pure-corner priors"
    priors_text += f" and {n_priors} random priors (seed {seed})"
    parts = [
        f"qre homotopy + logarithmic tracing from {priors_text}",
        f" {n_equilibria} distinct equilibri{'um' if n_equilibria == 1 else 'a'}",
        f" {search.done - len(search.failures)} of {len(runs)} paths certified",
    ]
    if search.failures:
        parts.append(" not certified: " + ", ".join(search.failures))
    if search.timed_out:
        parts.append(f" stopped by the time limit ({limit:g} s) after {search.done} of {len(runs)} paths")
    parts.append(" the set is partial")
    return ";".join(parts)


def _corner_prior(game: StochasticGame, k: int) -> Policies:
    """Everyone plays its action ``k`` (or its last one, if it has fewer) in every state."""
    out = []
    for i, size in enumerate(game.num_actions):
        pol = np.zeros((game.n_states, size))
        pol[np.arange(game.n_states), np.minimum(k, game.action_counts[:, i] - 1)] = 1.0
        out.append(pol)
    return tuple(out)
