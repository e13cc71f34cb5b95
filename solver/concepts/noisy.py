"""Equilibria of a noisy meta-game: how far the sampling noise of an empirical game lets them be trusted.

In empirical game-theoretic analysis (EGTA) and PSRO the payoff tensor of the meta-game is
estimated by simulation (Wellman 2006; Lanctot et al. 2017): each entry is the sample mean
of the returns observed at that joint action, with a standard error. Equilibria computed on
the means are equilibria of an estimate. This module says how much to trust them.

* :class:`~equilibria.solver.concepts.payoff_samples.PayoffSamples` (module
  ``payoff_samples``) accumulates the returns as a PSRO loop collects them: per entry the
  count, the mean and the sum of squared deviations, updated by Chan, Golub and LeVeque's
  parallel form of Welford's algorithm (stable: no sum of squares of raw returns).
* :func:`noisy_equilibria` takes the means, their standard errors and some profiles (the
  equilibria found on the means) and reports, per profile, the distribution of its regrets
  under the noise, the probability that it is an epsilon-equilibrium and a conservative
  analytic bound on its regrets; which profiles have significantly different payoffs; and
  which pure profiles are significantly strict equilibria, significantly not equilibria,
  or undecided.

**The noise model.** The true payoffs are ``U = means + E`` with the entries of ``E``
independent and ``E_i(a) ~ Normal(0, se_i(a)^2)``: the sampling distribution of a sample
mean by the central limit theorem, the standard error standing for its (estimated) standard
deviation. A standard error of 0 is an exact payoff. The regrets are maxima of linear
functions of ``U``: their law is drawn by a parametric bootstrap (payoff tensors
``means + E^b``), and the linear quantities (payoffs, deviation gains, payoff differences)
are exactly normal. Everything is computed on each player's payoffs and standard errors
divided by the player's payoff range, so no threshold has units: scaling one player's
payoffs and standard errors together, or shifting its payoffs, changes no probability,
classification or comparison.

Examples
--------
A PSRO loop samples the prisoner's dilemma with noisy returns (standard deviation 1); the
equilibrium (defect, defect) found on the means survives the noise:

>>> import numpy as np
>>> from equilibria.solver.concepts.payoff_samples import PayoffSamples
>>> rng = np.random.default_rng(7)
>>> true = np.array([[[3.0, 0.0], [5.0, 1.0]], [[3.0, 5.0], [0.0, 1.0]]])
>>> samples = PayoffSamples((2, 2))
>>> for _ in range(4):  # four batches of 100 episodes
...     profiles = rng.integers(0, 2, size=(100, 2))
...     returns = true[:, profiles[:, 0], profiles[:, 1]].T + rng.normal(size=(100, 2))
...     samples.add(profiles, returns)
>>> int(samples.counts.sum()), bool((samples.standard_errors < 0.2).all())
(400, True)
>>> defect = np.array([0.0, 1.0])
>>> noisy = noisy_equilibria(samples.game(), samples.standard_errors, [(defect, defect)])
>>> noisy.equilibria[0].probability_epsilon, noisy.pure_equilibria, noisy.pure_undecided_count
(1.0, ((1, 1),), 0)

References
----------
.. [1] M. P. Wellman, "Methods for empirical game-theoretic analysis", Proc. AAAI 2006,
   1552-1555.
.. [2] M. Lanctot, V. Zambaldi, A. Gruslys, A. Lazaridou, K. Tuyls, J. Perolat, D. Silver
   and T. Graepel, "A unified game-theoretic approach to multiagent reinforcement
   learning", NeurIPS 2017.
.. [3] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample
   variance: analysis and recommendations", The American Statistician 37 (1983) 242-247.
.. [4] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall
   (1993), chapters 6 and 13 (the parametric bootstrap and percentile intervals).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from equilibria.solver._typing import BoolArray, FloatArray, Profile
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, check_tolerance, quoted
from equilibria.solver.evaluation import EquilibriumUnderNoise, NoisyMetaGame
from equilibria.solver.game import NormalFormGame, unit_payoffs
from scipy.special import ndtri

__all__ = [
    "MAX_DRAWS",
    "MAX_EQUILIBRIA",
    "MAX_LISTED",
    "MAX_RELATIVE_ERROR",
    "MAX_WORK",
    "MIN_DRAWS",
    "NoiseOptions",
    "POLICY_TOLERANCE",
    "noisy_equilibria",
]

#: Fewest and most parametric-bootstrap draws.
MIN_DRAWS = 100
MAX_DRAWS = 100_000
#: Most ``draws x players x joint actions x profiles`` (the bootstrap's work), and most
#: ``joint actions x sum of the players' action counts`` (the pure profiles' deviations).
MAX_WORK = 200_000_000
#: Most profiles analysed in one call.
MAX_EQUILIBRIA = 1_000
#: Most significant pure equilibria listed (all of them are counted).
MAX_LISTED = 10_000
#: Largest standard error per unit of its player's payoff range (squares stay finite).
MAX_RELATIVE_ERROR = 1e100
#: How far a profile's strategy may be from the simplex (a negative entry, its sum off 1).
POLICY_TOLERANCE = 1e-9
#: Normal variates drawn at a time (players x joint actions x draws of a chunk): 8 MiB.
_CHUNK = 2**20


@dataclasses.dataclass(frozen=True)
class NoiseOptions:
    """The options of :func:`noisy_equilibria`.

    Attributes
    ----------
    epsilon : float
        The regret an epsilon-equilibrium may have, per unit of each player's payoff range
        (the range of its mean payoffs): ``>= 0`` and finite. A regret within the solve's
        round-off tolerance always counts as within it.
    confidence : float
        The confidence of the intervals, of the analytic regret bound and of the
        significance tests, in ``(0.5, 1)``.
    draws : int
        Parametric-bootstrap draws of the payoff tensor, in ``[MIN_DRAWS, MAX_DRAWS]``.
    seed : int
        The draws' seed, in ``[0, 2**64 - 1]``.
    """

    epsilon: float = 0.01
    confidence: float = 0.95
    draws: int = 2000
    seed: int = 0

    def checked(self, function: str = "noisy_equilibria") -> NoiseOptions:
        """These options, validated (as Python floats and ints).

        Raises
        ------
        InvalidOptionError
            Naming the field (``noisy_equilibria.epsilon``, ``noisy_equilibria.confidence``,
            ``noisy_equilibria.draws``, ``noisy_equilibria.seed``).

        Examples
        --------
        >>> NoiseOptions(confidence=1.0).checked()
        Traceback (most recent call last):
        ...
        equilibria.solver.errors.InvalidOptionError: noisy_equilibria(): confidence must be in (0.5, 1), got 1.0
        """
        prefix = "noisy_equilibria"
        if not _real(self.epsilon) or not (0.0 <= self.epsilon < math.inf):
            raise InvalidOptionError(
                f"{prefix}.epsilon",
                f"{function}(): epsilon must be a finite number >= 0, got {_shown(self.epsilon)}",
            )
        if not _real(self.confidence) or not (0.5 < self.confidence < 1.0):
            raise InvalidOptionError(
                f"{prefix}.confidence",
                f"{function}(): confidence must be in (0.5, 1), got {_shown(self.confidence)}",
            )
        for name, low, high in (("draws", MIN_DRAWS, MAX_DRAWS), ("seed", 0, 2**64 - 1)):
            value = getattr(self, name)
            if not _integer(value) or not low <= value <= high:
                raise InvalidOptionError(
                    f"{prefix}.{name}",
                    f"{function}(): {name} must be an integer in [{low:,}, {high:,}], got {_shown(value)}",
                )
        return NoiseOptions(float(self.epsilon), float(self.confidence), int(self.draws), int(self.seed))


def noisy_equilibria(
    game: NormalFormGame,
    standard_errors: Any,
    equilibria: Sequence[Any],
    options: NoiseOptions = NoiseOptions(),
    *,
    tol: float = 1e-9,
) -> NoisyMetaGame:
    """How the sampling noise of an empirical game bears on its equilibria.

    The payoffs of ``game`` are sample means, with ``standard_errors``; the true payoffs
    are ``means + E``, ``E_i(a) ~ Normal(0, se_i(a)^2)`` independent (see the module). For
    each profile ``σ`` given:

    * its regrets and NashConv on the means, and their two-sided percentile intervals at
      ``confidence`` over ``draws`` payoff tensors drawn from the noise;
    * ``probability_epsilon``: the share of the draws in which every player's regret is
      within ``epsilon`` times its payoff range, with its Monte Carlo standard error;
    * ``regret_upper``: per player, ``max(0, max_a gap_a + z sd_a)``, where ``gap_a`` is the
      gain of action ``a`` against ``σ_-i`` on the means, ``sd_a`` the exact standard
      deviation of that gain (linear in the payoffs) and ``z`` the normal quantile at
      ``1 - (1 - confidence) / m``, ``m`` the player's actions whose gain is noisy
      (Bonferroni): with probability at least ``confidence`` the true regret is below it;
    * each player's payoff and its exact standard error.

    Two profiles are *distinguishable* when some player's payoff difference exceeds ``z``
    times its exact standard deviation ``sqrt(Σ_a (p_k(a) - p_l(a))^2 se_i(a)^2)``, with
    ``z`` the normal quantile at ``1 - (1 - confidence) / (2 n)`` (two-sided, Bonferroni
    over the ``n`` players). A pure profile is a significant *equilibrium* when every
    unilateral deviation is worse for the deviator by more than ``z`` times the standard
    deviation ``sqrt(se(a)^2 + se(a')^2)`` of the gain, *not an equilibrium* when some
    deviation is better by more than that, *undecided* otherwise; here ``z`` is the normal
    quantile at ``1 - (1 - confidence) / m``, ``m = Σ_i (a_i - 1)`` the profile's deviations
    (one-sided, Bonferroni). Every comparison also asks for more than the round-off
    tolerance ``tol``, so an exact tie is never significant: a weak equilibrium of exact
    payoffs is undecided.

    Parameters
    ----------
    game : NormalFormGame
        The game of the sample means (:meth:`PayoffSamples.game`).
    standard_errors : array_like of float, shape (n_players, a_1, ..., a_n)
        The standard error of each mean (:attr:`PayoffSamples.standard_errors`): finite and
        ``>= 0``; 0 for an exact payoff.
    equilibria : sequence
        The profiles to assess (usually the equilibria found on the means; any profile is
        accepted): each a sequence of one mixed strategy per player, or an object with
        ``strategies`` (an :class:`~equilibria.solver.results.Equilibrium`). Strategies
        within :data:`POLICY_TOLERANCE` of the simplex are renormalised. May be empty.
    options : NoiseOptions, optional
        ``epsilon``, ``confidence``, ``draws`` and ``seed``.
    tol : float, optional(default=1e-9)
        The round-off tolerance, relative to each player's payoff range
        (:meth:`~equilibria.solver.game.NormalFormGame.regret_tolerances`): a regret within
        it is within any epsilon, and a payoff difference must exceed it to be significant.

    Returns
    -------
    NoisyMetaGame
        In the user's units.

    Raises
    ------
    InvalidOptionError
        Field ``noisy_equilibria.standard_errors`` (wrong shape, negative, not finite: an
        entry with fewer than 2 samples has an infinite standard error),
        ``noisy_equilibria.equilibria`` (``...equilibria[k]`` for profile ``k``,
        ``...equilibria[k][i]`` for its player ``i``: wrong length or shape, off the
        simplex), the options' fields (:meth:`NoiseOptions.checked`), ``tolerance`` for
        ``tol`` outside ``(0, 1e-3]``.
    ProblemTooLargeError
        Field ``noisy_equilibria.draws`` past :data:`MAX_WORK` draws x players x joint
        actions x profiles; ``noisy_equilibria.equilibria`` past :data:`MAX_EQUILIBRIA`
        profiles; ``payoffs`` past :data:`MAX_WORK` joint actions x deviations, or for
        regrets beyond the largest float; ``noisy_equilibria.standard_errors`` for a
        standard error past :data:`MAX_RELATIVE_ERROR` times its player's payoff range.

    Notes
    -----
    The percentile interval is that of the regret the noisy game shows. Where the best
    responses tie (at every mixed equilibrium) a maximum of noisy gains is biased upward:
    the interval then sits above 0 even when the true regret is 0, so read its upper end
    (and ``regret_upper``) as how large the true regret may be, not its lower end as how
    small. Away from ties the regret is locally linear in the payoffs and the interval
    covers the true value at about the nominal rate.

    ``regret_upper`` holds for each player separately at ``confidence``; it bounds the
    bootstrap's ``confidence`` quantile of the regret, which may lie below ``regrets_high``
    (the ``(1 + confidence) / 2`` quantile). For ``"equilibrium"`` the Bonferroni
    correction is conservative (every deviation must be significant on its own); it keeps
    the two verdicts on one footing.

    References
    ----------
    .. [1] M. P. Wellman, "Methods for empirical game-theoretic analysis", Proc. AAAI 2006.
    .. [2] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman &
       Hall (1993).
    .. [3] C. E. Bonferroni, "Teoria statistica delle classi e calcolo delle probabilità",
       Pubblicazioni del R. Istituto Superiore di Scienze Economiche e Commerciali di
       Firenze 8 (1936) 3-62.

    Examples
    --------
    A coordination game whose means carry a standard error of 0.25: both pure equilibria
    are significant and their payoffs distinguishable; the mixed one is fragile.

    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> payoff = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> game = NormalFormGame(np.stack([payoff, payoff]))
    >>> se = np.full((2, 2, 2), 0.25)
    >>> first, second, mixed = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1 / 3, 2 / 3])
    >>> noisy = noisy_equilibria(game, se, [(first, first), (second, second), (mixed, mixed)])
    >>> [round(e.probability_epsilon, 2) for e in noisy.equilibria]
    [1.0, 1.0, 0.02]
    >>> noisy.distinguishable.tolist()
    [[False, True, True], [True, False, False], [True, False, False]]
    >>> noisy.pure_equilibria, noisy.pure_undecided_count
    (((0, 0), (1, 1)), 0)
    """
    function = "noisy_equilibria"
    check_tolerance(tol, function)
    options = options.checked(function)
    n, shape = game.n_players, game.num_actions
    errors = _standard_errors(standard_errors, game.payoffs.shape, function)
    profiles = _profiles(equilibria, shape, function)
    joint = math.prod(shape)
    work = options.draws * n * joint * len(profiles)
    if work > MAX_WORK:
        raise ProblemTooLargeError(
            "noisy_equilibria.draws",
            f"{function}(): {options.draws:,} draws x {n} players x {joint:,} joint actions x "
            f"{len(profiles)} profiles is {work:,}, over the limit of {MAX_WORK:,}",
        )
    deviations = joint * sum(shape)
    if deviations > MAX_WORK:
        raise ProblemTooLargeError(
            "payoffs",
            f"{function}(): {joint:,} joint actions x {sum(shape)} actions to deviate to is over the limit "
            f"of {MAX_WORK:,}",
        )
    units = _Units.of(game, errors, options.epsilon, tol, function)
    alpha = 1.0 - options.confidence
    players = [_Player.of(units, game, i) for i in range(n)]
    assessed = [_assessed(players, units, x, alpha) for x in profiles]
    draws = _bootstrap(players, units, profiles, options)
    equilibria_out = tuple(
        _summary(k, x, point, draws[:, k], units, alpha, function)
        for k, (x, point) in enumerate(zip(profiles, assessed, strict=True))
    )
    distinguishable = _distinguishable(profiles, assessed, units, alpha)
    worse, better = _pure_verdicts(units, shape, alpha)
    listed = np.flatnonzero(worse)[:MAX_LISTED]
    pure = tuple(tuple(int(a) for a in row) for row in np.array(np.unravel_index(listed, shape)).T)
    equilibrium_count = int(np.count_nonzero(worse))
    not_count = int(np.count_nonzero(better))
    with np.errstate(over="ignore"):
        thresholds = np.minimum(units.thresholds * units.scale, np.finfo(np.float64).max)
    return NoisyMetaGame(
        epsilon=options.epsilon,
        confidence=options.confidence,
        draws=options.draws,
        seed=options.seed,
        regret_thresholds=thresholds,
        equilibria=equilibria_out,
        distinguishable=distinguishable,
        pure_equilibria=pure,
        pure_equilibrium_count=equilibrium_count,
        pure_not_equilibrium_count=not_count,
        pure_undecided_count=joint - equilibrium_count - not_count,
    )


# -- inputs ------------------------------------------------------------------------------------


def _real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _shown(value: object) -> str:
    """A number as it prints, anything else quoted (short)."""
    return repr(float(value)) if _real(value) and not _integer(value) else quoted(value)  # type: ignore[arg-type]


def _standard_errors(value: Any, shape: tuple[int, ...], function: str) -> FloatArray:
    field = f"{function}.standard_errors"
    try:
        errors = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(
            field, f"{function}(): standard_errors is not a numeric array ({exc})"
        ) from exc
    if errors.shape != shape:
        raise InvalidOptionError(
            field, f"{function}(): standard_errors has shape {errors.shape}, the payoffs {shape}"
        )
    bad = ~(np.isfinite(errors) & (errors >= 0.0))
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0])
        hint = (
            " (an entry with fewer than 2 samples has no finite standard error)" if errors[index] > 0 else ""
        )
        raise InvalidOptionError(
            field,
            f"{function}(): the standard error at index {index} is {float(errors[index])!r}, not a finite number "
            f">= 0{hint}",
        )
    return errors


def _profiles(value: Any, shape: tuple[int, ...], function: str) -> list[Profile]:
    field = f"{function}.equilibria"
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise InvalidOptionError(
            field, f"{function}(): equilibria must be a sequence of profiles, got {quoted(value)}"
        )
    if len(value) > MAX_EQUILIBRIA:
        raise ProblemTooLargeError(
            field, f"{function}(): {len(value):,} profiles, over the limit of {MAX_EQUILIBRIA:,}"
        )
    n = len(shape)
    out = []
    for k, item in enumerate(value):
        profile = getattr(item, "strategies", item)
        if isinstance(profile, str) or not isinstance(profile, Sequence | np.ndarray) or len(profile) != n:
            raise InvalidOptionError(
                f"{field}[{k}]",
                f"{function}(): profile {k} must be a sequence of {n} mixed strategies, got {quoted(profile)}",
            )
        out.append(
            tuple(
                _strategy(x, m, f"{field}[{k}][{i}]", f"{function}(): profile {k}, player {i}'s strategy")
                for i, (x, m) in enumerate(zip(profile, shape, strict=True))
            )
        )
    return out


def _strategy(value: Any, m: int, field: str, what: str) -> FloatArray:
    """``value`` as a probability vector of ``m`` entries (within :data:`POLICY_TOLERANCE`, renormalised)."""
    try:
        x = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(field, f"{what} is not a numeric array ({exc})") from exc
    if x.shape != (m,):
        raise InvalidOptionError(field, f"{what} has shape {x.shape}, expected {(m,)}")
    if not (np.isfinite(x).all() and (x >= -POLICY_TOLERANCE).all()):
        raise InvalidOptionError(field, f"{what} has an entry that is not a probability: {x.tolist()}")
    x = np.clip(x, 0.0, None)
    total = float(x.sum())
    if abs(total - 1.0) > POLICY_TOLERANCE:
        raise InvalidOptionError(field, f"{what} sums to {total:.12g}, not 1 within {POLICY_TOLERANCE:g}")
    return x / total


# -- units ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Units:
    """Each player's payoffs and standard errors per unit of its scale (its payoff range; for
    constant payoffs its largest standard error, or 1), in rows ``(n, joint actions)``."""

    payoffs: FloatArray  # the user's payoffs (n, A)
    means: FloatArray  # (n, A) in [0, 1]
    errors: FloatArray  # (n, A)
    scale: FloatArray  # (n,)
    thresholds: FloatArray  # (n,) epsilon's regret threshold per unit of scale
    floors: FloatArray  # (n,) the round-off tolerance per unit of scale

    @classmethod
    def of(
        cls, game: NormalFormGame, errors: FloatArray, epsilon: float, tol: float, function: str
    ) -> _Units:
        n = game.n_players
        ranges = game.player_scales
        flat = errors.reshape(n, -1)
        largest = flat.max(axis=1)
        scale = np.where(ranges > 0.0, ranges, np.where(largest > 0.0, largest, 1.0))
        with np.errstate(over="ignore"):
            relative = flat / scale[:, None]
        if not (relative <= MAX_RELATIVE_ERROR).all():
            player = int(np.argwhere(~(relative <= MAX_RELATIVE_ERROR))[0, 0])
            raise ProblemTooLargeError(
                f"{function}.standard_errors",
                f"{function}(): player {player} has a standard error over {MAX_RELATIVE_ERROR:g} times its "
                f"payoff range",
            )
        floors = game.regret_tolerances(tol) / scale
        return cls(
            payoffs=game.payoffs.reshape(n, -1),
            means=unit_payoffs(game.payoffs).reshape(n, -1),
            errors=relative,
            scale=scale,
            thresholds=np.maximum(np.where(ranges > 0.0, epsilon, 0.0), floors),
            floors=floors,
        )


@dataclasses.dataclass(frozen=True)
class _Player:
    """Player ``i``'s tensors with its own axis first, then the others' in order."""

    index: int
    others: tuple[int, ...]
    means: FloatArray  # (a_i, ...) per unit of scale
    errors: FloatArray
    variances: FloatArray
    payoffs: FloatArray  # the user's

    @classmethod
    def of(cls, units: _Units, game: NormalFormGame, i: int) -> _Player:
        shape = game.num_actions
        others = tuple(j for j in range(len(shape)) if j != i)
        order = (i, *others)

        def laid(rows: FloatArray) -> FloatArray:
            return np.ascontiguousarray(rows[i].reshape(shape).transpose(order))

        errors = laid(units.errors)
        return cls(i, others, laid(units.means), errors, errors * errors, laid(units.payoffs))


def _against(tensors: FloatArray, profile: Sequence[FloatArray], others: tuple[int, ...]) -> FloatArray:
    """``(B, a_i)``: each action's payoff against the others' strategies, from a batch of
    tensors ``(B, a_i, ...)`` laid out as :class:`_Player`'s (matrix-vector products over
    the trailing axes)."""
    t = tensors
    for j in reversed(others):
        t = t.reshape(-1, profile[j].size) @ profile[j]
    return t.reshape(tensors.shape[:2])


def _regrets(deviations: FloatArray, strategy: FloatArray) -> FloatArray:
    """``(B,)``: the best deviation's gain over the strategy's payoff, at least 0."""
    return np.maximum(deviations.max(axis=1) - deviations @ strategy, 0.0)


# -- the analysis ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Assessed:
    """One profile on the means, per unit of each player's scale."""

    regrets: FloatArray  # (n,)
    payoffs: FloatArray  # (n,) per unit of scale, from the player's low payoff
    upper: FloatArray  # (n,) regret_upper
    user_payoffs: FloatArray  # (n,) the user's units
    payoff_errors: FloatArray  # (n,)


def _assessed(players: list[_Player], units: _Units, profile: Profile, alpha: float) -> _Assessed:
    n = len(players)
    regrets, payoffs, upper, user, errors = (np.empty(n) for _ in range(5))
    for p in players:
        i, x = p.index, profile[p.index]
        deviations = _against(p.means[None], profile, p.others)[0]
        value = float(deviations @ x)
        regrets[i] = max(float(deviations.max()) - value, 0.0)
        payoffs[i] = value
        user[i] = float(_against(p.payoffs[None], profile, p.others)[0] @ x)
        # Var of each gain u_i(a, σ_-i) - u_i(σ): Σ over joint actions of its coefficient² se²,
        # ``v[b] = Σ_{a_-i} q(a_-i)² se²(b, a_-i)`` with q = Π_{j≠i} σ_j.
        v = _against(p.variances[None], [s * s for s in profile], p.others)[0]
        total = float((x * x) @ v)
        errors[i] = math.sqrt(total)
        sd = np.sqrt(np.maximum(total - x * x * v + (1.0 - x) ** 2 * v, 0.0))
        noisy = int(np.count_nonzero(sd > 0.0))
        z = float(ndtri(1.0 - alpha / max(noisy, 1)))
        upper[i] = max(float((deviations - value + z * sd).max()), 0.0)
    return _Assessed(regrets, payoffs, upper, user, errors)


def _bootstrap(
    players: list[_Player], units: _Units, profiles: list[Profile], options: NoiseOptions
) -> FloatArray:
    """``(draws, profiles, n)``: each profile's regrets in payoff tensors drawn from the
    noise, per unit of each player's scale."""
    n, joint = len(players), units.means.shape[1]
    out = np.empty((options.draws, len(profiles), n))
    if not profiles:
        return out
    rng = np.random.default_rng(options.seed)
    per_chunk = max(1, _CHUNK // (n * joint))
    for start in range(0, options.draws, per_chunk):
        b = min(per_chunk, options.draws - start)
        noise = rng.standard_normal((b, n, joint))
        for p in players:
            drawn = p.means + p.errors * noise[:, p.index].reshape(b, *p.means.shape)
            for k, profile in enumerate(profiles):
                deviations = _against(drawn, profile, p.others)
                out[start : start + b, k, p.index] = _regrets(deviations, profile[p.index])
    return out


def _summary(
    index: int,
    profile: Profile,
    point: _Assessed,
    draws: FloatArray,
    units: _Units,
    alpha: float,
    function: str,
) -> EquilibriumUnderNoise:
    """The record of one profile, in the user's units; ``draws`` ``(draws, n)`` per unit of scale."""
    unscaled = functools.partial(_unscaled, function=function)
    within = np.all(draws <= units.thresholds, axis=1)
    p = float(np.count_nonzero(within)) / draws.shape[0]
    regrets = unscaled(draws * units.scale)
    nash = unscaled(regrets.sum(axis=1))
    low, high = alpha / 2.0, 1.0 - alpha / 2.0
    regret_bounds = np.quantile(regrets, [low, high], axis=0)
    nash_bounds = np.quantile(nash, [low, high])
    point_regrets = unscaled(point.regrets * units.scale)
    return EquilibriumUnderNoise(
        index=index,
        strategies=tuple(profile),
        payoffs=point.user_payoffs,
        payoff_errors=unscaled(point.payoff_errors * units.scale),
        regrets=point_regrets,
        nash_conv=float(unscaled(point_regrets.sum(keepdims=True))[0]),
        regrets_low=regret_bounds[0],
        regrets_high=regret_bounds[1],
        nash_conv_low=float(nash_bounds[0]),
        nash_conv_high=float(nash_bounds[1]),
        regret_upper=unscaled(point.upper * units.scale),
        probability_epsilon=p,
        probability_error=math.sqrt(p * (1.0 - p) / draws.shape[0]),
    )


def _unscaled(values: FloatArray, *, function: str) -> FloatArray:
    """``values``, refused when past the largest float."""
    if not np.isfinite(values).all():
        raise ProblemTooLargeError("payoffs", f"{function}(): a regret is beyond the largest float")
    return np.asarray(values, dtype=np.float64)


def _distinguishable(
    profiles: list[Profile], assessed: list[_Assessed], units: _Units, alpha: float
) -> BoolArray:
    """``(k, k)``: pairs of profiles with some player's payoff significantly different."""
    count, n = len(profiles), units.means.shape[0]
    out = np.zeros((count, count), dtype=bool)
    if count < 2:
        return out
    z = float(ndtri(1.0 - alpha / (2.0 * n)))
    joint = np.array([functools.reduce(np.multiply.outer, x).ravel() for x in profiles])
    payoffs = np.array([a.payoffs for a in assessed])
    variances = (units.errors * units.errors).T  # (A, n)
    for k in range(count - 1):
        difference = joint[k] - joint[k + 1 :]
        sd = np.sqrt((difference * difference) @ variances)
        gap = np.abs(payoffs[k] - payoffs[k + 1 :])
        out[k, k + 1 :] = np.any(gap > z * sd + units.floors, axis=1)
    return out | out.T


def _pure_verdicts(units: _Units, shape: tuple[int, ...], alpha: float) -> tuple[BoolArray, BoolArray]:
    """Per pure profile (shape ``(a_1, ..., a_n)``): whether every unilateral deviation is
    significantly worse for the deviator, and whether some deviation is significantly better."""
    worse = np.ones(shape, dtype=bool)
    better = np.zeros(shape, dtype=bool)
    deviations = sum(m - 1 for m in shape)
    if deviations == 0:
        return worse, better
    z = float(ndtri(1.0 - alpha / deviations))
    for i, m in enumerate(shape):
        means = units.means[i].reshape(shape)
        variances = (units.errors[i] * units.errors[i]).reshape(shape)
        own = np.arange(m).reshape(tuple(m if j == i else 1 for j in range(len(shape))))
        for action in range(m):
            gain = np.take(means, [action], axis=i) - means
            margin = z * np.sqrt(np.take(variances, [action], axis=i) + variances) + units.floors[i]
            moved = own != action
            worse &= (gain < -margin) | ~moved
            better |= (gain > margin) & moved
    return worse, better
