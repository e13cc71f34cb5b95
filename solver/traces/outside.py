"""Convergence outside a partial solution set: one limit, certified as an equilibrium.

A solution set found by a method that returns some equilibria only (``complete=False``:
Lemke-Howson, a team optimum of a stochastic game, a homotopy from one prior) may miss
the equilibrium a learning trace converges to. Against such a set the distance curves
stay above every threshold although the trace converges to an equilibrium. This module
holds what the scorer needs to say so (docs/traces.md, *Partial solution sets*):

* :class:`_LimitTracker` -- a bounded streaming bound on how far the tail of a policy
  stream is from its last row: the single-limit test (``lim pi^z = pi^Z``);
* :func:`relative_regrets` -- each player's regret of a profile relative to the player's
  own payoff range (value range in a stochastic game): the certificate.

The bound of :class:`_LimitTracker` is the triangle inequality over segments: the rows
are cut at the checkpoints into segments, each with a reference snapshot (its first
row) and the largest distance of its rows to it. For any last row ``F``,
``max_{z in segment j} d(pi^z, F) <= r_j + d(ref_j, F)``; the bound over the tail
window is the largest over the segments that meet it (the segment that straddles the
window's start counts whole: conservative). Metrics that are not metrics (``js``,
``kl``) are replaced by ``tv`` in this test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.game import NormalFormGame
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import certify_markov
from equilibria.solver.traces.metrics import _aggregate, _vector_distance
from equilibria.solver.traces.target import _Target
from equilibria.solver.traces.verdicts import Verdict

__all__: list[str] = []  # the scorer's internals

#: Most segments kept per stream; older neighbours are merged past it (still a bound).
_MAX_SEGMENTS = 256
#: Metrics that satisfy the triangle inequality (the others use ``tv`` here).
_TRUE_METRICS = frozenset({"tv", "l1", "l2", "linf", "hellinger"})
#: The policy criteria tested for a limit outside the set, and the stream each tests.
_STREAM_OF = {
    "last_iterate": "last",
    "expected_return": "last",
    "empirical_distribution": "mean",
    "set_convergence": "mean",
}
#: The warning on every score against a partial set.
PARTIAL_WARNING = (
    "the solution set is partial (its method finds some equilibria only): distances are to the computed "
    "equilibria, and a trace may converge to an equilibrium outside them; last_iterate, expected_return, "
    "empirical_distribution and set_convergence then read 'converged_outside_set' with that profile, and "
    "nash_conv / nash_conv_average measure the trace's own regret"
)


class _Outside(NamedTuple):
    """A verdict of convergence outside a partial set, with the profile and its regret."""

    verdict: Verdict
    profile: tuple[FloatArray, ...]
    regret: float


class _LimitTracker:
    """Streaming upper bound on ``max_{z in tail} d(pi^z, pi^Z)`` for one policy stream.

    Parameters
    ----------
    metric, aggregate : str
        The score's; ``metric`` is replaced by ``"tv"`` when it is not a metric.
    weights : ndarray or None
        State weights of a stochastic game (policies ``(m, S, a_i)``), None for normal form.
    """

    def __init__(self, metric: str, aggregate: str, weights: FloatArray | None) -> None:
        self.metric = metric if metric in _TRUE_METRICS else "tv"
        self.aggregate = aggregate
        self.weights = weights
        self.starts: list[int] = []  # first row of each segment
        self.refs: list[list[FloatArray]] = []  # its reference profile (one array per player)
        self.radii: list[float] = []  # the largest distance of its rows to the reference

    @property
    def nbytes(self) -> int:
        """Bytes held by the tracker."""
        return int(sum(sum(a.nbytes for a in ref) for ref in self.refs) + 16 * len(self.starts))

    def distance(self, xs: Sequence[FloatArray], ys: Sequence[FloatArray]) -> FloatArray:
        """Per row, the aggregated (and state-weighted) distance between two profile batches."""
        per_player = [np.asarray(_vector_distance(x, y, self.metric)) for x, y in zip(xs, ys, strict=True)]
        d = _aggregate(per_player, self.aggregate)
        return d @ self.weights if self.weights is not None else d

    def push(self, z_first: int, xs: Sequence[FloatArray], checkpoints: Int64Array) -> None:
        """Add rows ``z_first, ...`` (per player ``(m, ...)``); each checkpoint starts a segment."""
        m = xs[0].shape[0]
        zs = np.arange(z_first, z_first + m)
        cps = [int(c) for c in checkpoints.tolist() if z_first <= c < z_first + m]
        if not self.starts and (not cps or cps[0] != z_first):
            cps = [z_first, *cps]
        new_refs = [[x[c - z_first] for x in xs] for c in cps]
        # Per row, its segment: the last start at or before it (-1: the open segment).
        seg = np.searchsorted(np.asarray(cps, dtype=np.int64), zs, side="right") - 1
        refs = [
            np.stack(([] if not self.refs else [self.refs[-1][i]]) + [r[i] for r in new_refs])
            for i in range(len(xs))
        ]
        offset = 0 if not self.refs else 1
        d = self.distance(xs, [r[seg + offset] for r in refs])
        if seg[0] < 0:  # rows that continue the open segment
            self.radii[-1] = max(self.radii[-1], float(d[seg < 0].max()))
        for j, c in enumerate(cps):
            self.starts.append(c)
            self.refs.append([np.array(r, copy=True) for r in new_refs[j]])
            self.radii.append(float(d[seg == j].max()))
        while len(self.starts) > _MAX_SEGMENTS:
            self._merge(1)

    def prune(self, first_row: int) -> None:
        """Drop the segments that end before ``first_row`` (no later window reaches them)."""
        while len(self.starts) > 1 and self.starts[1] <= first_row:
            del self.starts[0], self.refs[0], self.radii[0]

    def bound(self, final: Sequence[FloatArray], first_row: int) -> tuple[float, int]:
        """Upper bound on ``d(pi^z, final)`` over the rows from ``first_row`` on, and the segments used."""
        used = [
            j for j in range(len(self.starts)) if j + 1 == len(self.starts) or self.starts[j + 1] > first_row
        ]
        if not used:
            return float("inf"), 0
        refs = [np.stack([self.refs[j][i] for j in used]) for i in range(len(final))]
        to_final = self.distance(refs, [np.asarray(f)[None] for f in final])
        return float(np.max(np.asarray([self.radii[j] for j in used]) + to_final)), len(used)

    def _merge(self, j: int) -> None:
        """Merge segment ``j`` into ``j - 1`` (triangle inequality through the earlier reference)."""
        gap = float(self.distance([r[None] for r in self.refs[j]], [r[None] for r in self.refs[j - 1]])[0])
        self.radii[j - 1] = max(self.radii[j - 1], self.radii[j] + gap)
        del self.starts[j], self.refs[j], self.radii[j]


def relative_regrets(game: NormalFormGame | StochasticGame, profile: Sequence[FloatArray]) -> FloatArray:
    """Each player's regret at ``profile``, relative to the player's own range.

    Normal form: :math:`(\\max_{a_i} U_i(a_i, x_{-i}) - U_i(x)) / (\\max u_i - \\min u_i)`.
    Stochastic: the largest best-response gain over states divided by the player's
    value range (reward range times the effective horizon). A player whose payoffs are
    constant has regret 0.

    Examples
    --------
    >>> import numpy as np
    >>> pennies = NormalFormGame.from_bimatrix([[1, -1], [-1, 1]])
    >>> relative_regrets(pennies, [np.array([1.0, 0.0]), np.array([1.0, 0.0])]).tolist()
    [0.0, 1.0]
    """
    if isinstance(game, StochasticGame):
        cert = certify_markov(game, list(profile))
        scale = game.reward_scales * game.effective_horizon
        gaps = cert.player_gaps.max(axis=0)
    else:
        n = game.n_players
        gaps = np.empty(n)
        for i in range(n):
            t = np.moveaxis(game.payoffs[i], i, 0)  # (a_i, others...)
            for j in reversed([j for j in range(n) if j != i]):
                t = t @ np.asarray(profile[j], dtype=np.float64)
            dev = np.asarray(t, dtype=np.float64).reshape(-1)
            gaps[i] = max(float(dev.max() - dev @ profile[i]), 0.0)
        scale = game.player_scales
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, gaps / np.where(scale > 0, scale, 1.0), 0.0)
    return np.asarray(rel, dtype=np.float64)


def outside_verdict(
    game: NormalFormGame | StochasticGame,
    target: _Target,
    trackers: Mapping[str, _LimitTracker],
    profiles: Mapping[str, Sequence[FloatArray]],
    name: str,
    z: int,
    window: int,
    verdict: Verdict,
    epsilons: Sequence[float],
    min_tail: int,
) -> _Outside | None:
    """Against a partial set: whether criterion ``name`` converges to one profile outside the
    set that certifies as an equilibrium (None otherwise, or when ``verdict`` is converged).

    ``last_iterate`` and ``expected_return`` test the last iterates (``profiles["last"]``),
    ``empirical_distribution`` and ``set_convergence`` the running means
    (``profiles["mean"]``): the tail window must lie within epsilon of the last row
    (:class:`_LimitTracker`) and the last row's distance to the set must be at least
    epsilon; the smallest of ``epsilons`` (ascending) that passes is reported. The last
    row must certify as an equilibrium at the finest threshold: every player's relative
    regret (:func:`relative_regrets`) at most ``min(epsilons)``, so an epsilon-equilibrium
    at a coarse threshold does not pass for an equilibrium. Fewer than ``2 * min_tail``
    rows decide nothing.
    """
    key = _STREAM_OF.get(name)
    if key is None or verdict.verdict == "converged" or z < 2 * min_tail:
        return None
    profile = profiles[key]
    tracker = trackers[key]
    spread, segments = tracker.bound(profile, z - window + 1)
    regret = float(relative_regrets(game, profile).max())
    if regret > epsilons[0]:
        return None
    to_set = target.exact([np.asarray(p)[None] for p in profile]).value
    for eps in epsilons:
        if spread < eps and to_set >= eps:
            stream = "last iterate" if key == "last" else "running mean of the policies"
            payoff = " (so the expected payoffs converge to its payoffs)" if name == "expected_return" else ""
            text = (
                f"converged to an equilibrium outside the computed (partial) set: over the last {window} rows "
                f"the {stream} stays within {spread:.3g} of its last value ({tracker.metric}, a bound over "
                f"{segments} checkpoint segment(s)), which certifies as an equilibrium (largest regret "
                f"{regret:.3g} of the player's own payoff range, at most {epsilons[0]:g}) and lies {to_set:.3g} "
                f"from the set{payoff}; the spread below epsilon = {eps:g}, the distance to the set above it "
                f"(against the set alone: {verdict.verdict})"
            )
            return _Outside(
                Verdict("converged_outside_set", eps, text),
                tuple(np.array(p, copy=True) for p in profile),
                regret,
            )
    return None


#: Criteria whose limit is not a policy profile: it cannot be certified outside a partial set.
_NO_PROFILE = frozenset({"averaged_joint_policy", "average_return"})


def undecided_without_profile(
    name: str, verdict: Verdict, correlation: float | None, largest: float
) -> Verdict:
    """Against a partial set, "not converged" of a criterion without a profile may be inconclusive.

    Returns name no profile, so a trace that does not approach the computed set may still
    approach an equilibrium the set does not hold: nothing is decided. Joint frequencies
    can only converge to a Nash equilibrium (a product distribution) if they approach the
    product of their own marginals: when their ``correlation`` (visit-weighted TV to that
    product, :func:`joint_correlation`) is at least the ``largest`` epsilon, no Nash
    equilibrium is their limit and "not converged" stands.
    """
    if verdict.verdict != "not_converged" or name not in _NO_PROFILE:
        return verdict
    if correlation is not None and correlation >= largest:
        return Verdict(
            "not_converged",
            None,
            f"{verdict.evidence}; the joint play is correlated (TV {correlation:.3g} from the product of its "
            "marginals), so no Nash equilibrium, in the computed set or outside it, is its limit",
        )
    return Verdict(
        "inconclusive",
        None,
        f"{verdict.evidence}; but the computed set is partial and this criterion has no profile to "
        "certify, so the trace may approach an equilibrium outside it",
    )


def joint_correlation(counts: Int64Array, visits: Int64Array) -> float:
    """Visit-weighted TV between each history's joint frequencies and the product of their marginals.

    Parameters
    ----------
    counts : ndarray, shape (k, a_1, ..., a_n)
        Joint-action counts per history (or state).
    visits : ndarray, shape (k,)
        Samples per history (rows with none are ignored).

    Examples
    --------
    >>> joint_correlation(np.array([[[5, 0], [0, 5]]]), np.array([10]))
    0.5
    """
    seen = visits > 0
    if not seen.any():
        return 0.0
    tv = correlation_rows(counts[seen], visits[seen])
    weights = visits[seen] / float(visits[seen].sum())
    return float(weights @ tv)


def correlation_rows(counts: Int64Array, visits: Int64Array) -> FloatArray:
    """Per history with ``visits > 0``: the TV of :func:`joint_correlation` (rows are independent)."""
    freq = counts.astype(np.float64) / visits.reshape((-1,) + (1,) * (counts.ndim - 1))
    n = counts.ndim - 1
    product = np.ones_like(freq)
    for i in range(n):
        axes = tuple(1 + j for j in range(n) if j != i)
        marginal = freq.sum(axis=axes)
        product = product * marginal.reshape(
            (-1,) + tuple(marginal.shape[1] if j == i else 1 for j in range(n))
        )
    return np.asarray(0.5 * np.abs(freq - product).reshape(freq.shape[0], -1).sum(axis=1), dtype=np.float64)
