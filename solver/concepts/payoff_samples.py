"""Sample means and standard errors of a payoff tensor, accumulated as returns come in.

In empirical game-theoretic analysis and PSRO (Wellman 2006; Lanctot et al. 2017) the
meta-game's payoffs are estimated by simulation: each entry is the mean of the returns
observed at that joint action. :class:`PayoffSamples` keeps, per entry, the count, the mean
and the sum of squared deviations of every player's returns, updated batch by batch by
Chan, Golub and LeVeque's parallel form of Welford's algorithm, and grows with the
population when new strategies join (:meth:`PayoffSamples.grow`). Its means and standard
errors are the input of :func:`equilibria.solver.concepts.noisy.noisy_equilibria`; the
service's ``SamplePayoffs`` stream accumulates in one.

References
----------
.. [1] M. P. Wellman, "Methods for empirical game-theoretic analysis", Proc. AAAI 2006,
   1552-1555.
.. [2] M. Lanctot, V. Zambaldi, A. Gruslys, A. Lazaridou, K. Tuyls, J. Perolat, D. Silver
   and T. Graepel, "A unified game-theoretic approach to multiagent reinforcement
   learning", NeurIPS 2017.
.. [3] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for computing the sample
   variance: analysis and recommendations", The American Statistician 37 (1983) 242-247.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from equilibria.solver._typing import FloatArray, IntArray
from equilibria.solver.errors import InvalidOptionError, ProblemTooLargeError, quoted
from equilibria.solver.game import NormalFormGame

__all__ = ["MAX_RETURN", "MAX_SAMPLE_ENTRIES", "PayoffSamples"]

#: Most entries (players x joint actions) of a :class:`PayoffSamples`.
MAX_SAMPLE_ENTRIES = 2**26
#: Largest absolute return a :class:`PayoffSamples` accepts: its squared deviations stay finite.
MAX_RETURN = 1e150


def _integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _shown(value: object) -> str:
    """An integer as it prints, anything else quoted (short)."""
    return str(int(value)) if _integer(value) else quoted(value)  # type: ignore[call-overload]


def _action_counts(num_actions: Any, function: str) -> tuple[int, ...]:
    """``num_actions`` as a tuple of at least 2 counts >= 1, within :data:`MAX_SAMPLE_ENTRIES`."""
    items = tuple(num_actions) if isinstance(num_actions, Sequence | np.ndarray) else None
    if (
        isinstance(num_actions, str)
        or items is None
        or len(items) < 2
        or not all(_integer(k) and k >= 1 for k in items)
    ):
        raise InvalidOptionError(
            "samples.num_actions",
            f"{function}(): num_actions must be a sequence of at least 2 action counts >= 1, "
            f"got {quoted(num_actions)}",
        )
    shape = tuple(int(k) for k in items)
    entries = len(shape) * math.prod(shape)
    if entries > MAX_SAMPLE_ENTRIES:
        raise ProblemTooLargeError(
            "samples.num_actions",
            f"{function}(): {entries:,} payoff entries, over the limit of {MAX_SAMPLE_ENTRIES:,}",
        )
    return shape


class PayoffSamples:
    """Running sample means and variances of every entry of a payoff tensor, from sampled returns.

    For each joint action it keeps the count, the mean and the sum of squared deviations
    from the mean (``M2``) of every player's returns there. A batch is merged by Chan,
    Golub and LeVeque's parallel update (its own statistics taken about the entry's current
    mean, or its first return at a new entry), vectorised over the entries it touches; two
    accumulators merge the same way. The result does not depend on how the samples were
    split into batches or in which order the batches came (up to round-off).

    Parameters
    ----------
    num_actions : sequence of int
        Each player's number of actions (at least 1 each, at least 2 players).
    n_players : int, optional
        The number of players whose returns are recorded: ``len(num_actions)`` (the payoff
        tensor has one action axis per player), which is also the default.

    Raises
    ------
    InvalidOptionError
        Field ``samples.num_actions`` or ``samples.n_players``.
    ProblemTooLargeError
        Field ``samples.num_actions``, past :data:`MAX_SAMPLE_ENTRIES` players x joint actions.

    Examples
    --------
    >>> samples = PayoffSamples((2, 2))
    >>> samples.add([[0, 1], [0, 1], [1, 0]], [[1.0, 2.0], [3.0, 2.0], [5.0, 5.0]])
    >>> samples.counts.tolist()
    [[0, 2], [1, 0]]
    >>> samples.means[:, 0, 1].tolist(), samples.variances[:, 0, 1].tolist()
    ([2.0, 2.0], [2.0, 0.0])
    >>> samples.standard_errors[0].tolist()
    [[inf, 1.0], [inf, inf]]
    """

    def __init__(self, num_actions: Sequence[int], n_players: int | None = None) -> None:
        shape = _action_counts(num_actions, "PayoffSamples")
        players = len(shape) if n_players is None else n_players
        if not _integer(players) or players != len(shape):
            raise InvalidOptionError(
                "samples.n_players",
                f"PayoffSamples(): n_players must be the number of action axes, {len(shape)} (one per "
                f"player), got {_shown(players)}",
            )
        self._shape = shape
        self._counts = np.zeros(math.prod(shape), dtype=np.int64)
        self._means = np.zeros((len(shape), math.prod(shape)))
        self._m2 = np.zeros((len(shape), math.prod(shape)))

    @property
    def num_actions(self) -> tuple[int, ...]:
        """Each player's number of actions."""
        return self._shape

    @property
    def n_players(self) -> int:
        """Number of players."""
        return len(self._shape)

    @property
    def counts(self) -> np.ndarray:
        """Samples of each joint action, shape ``(a_1, ..., a_n)`` (int64, a copy)."""
        return self._counts.reshape(self._shape).copy()

    @property
    def means(self) -> FloatArray:
        """Each player's mean return at each joint action, shape ``(n, a_1, ..., a_n)``;
        NaN where there is no sample."""
        out = np.where(self._counts > 0, self._means, np.nan)
        return out.reshape(self.n_players, *self._shape)

    @property
    def variances(self) -> FloatArray:
        """The unbiased sample variances ``M2 / (count - 1)``, shape ``(n, a_1, ..., a_n)``;
        NaN where there are fewer than 2 samples."""
        counts = self._counts
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(counts >= 2, self._m2 / np.maximum(counts - 1, 1), np.nan)
        return out.reshape(self.n_players, *self._shape)

    @property
    def standard_errors(self) -> FloatArray:
        """The standard errors of the means ``sqrt(variance / count)``, shape
        ``(n, a_1, ..., a_n)``; inf where there are fewer than 2 samples."""
        counts = self._counts
        variances = self.variances.reshape(self.n_players, -1)
        with np.errstate(invalid="ignore"):
            out = np.where(counts >= 2, np.sqrt(variances / np.maximum(counts, 1)), np.inf)
        return out.reshape(self.n_players, *self._shape)

    def add(self, profiles: Any, returns: Any) -> None:
        """Record a batch of samples.

        Parameters
        ----------
        profiles : array_like of int, shape (k, n_players)
            The joint action of each sample.
        returns : array_like of float, shape (k, n_players)
            Each player's return in each sample: finite, of magnitude at most
            :data:`MAX_RETURN`.

        Raises
        ------
        InvalidOptionError
            Field ``samples.profiles`` (not integers, wrong shape, an action that does not
            exist) or ``samples.returns`` (not numbers, wrong shape, not finite, too large).
            Nothing is recorded then.
        """
        index, values = self._checked(profiles, returns)
        if index.size == 0:
            return
        touched, first, position = np.unique(index, return_index=True, return_inverse=True)
        batch = np.bincount(position, minlength=touched.size)
        old = self._counts[touched]
        # Each entry's statistics about a reference: its current mean, or its first return here.
        reference = np.where(old > 0, self._means[:, touched], values[first].T)
        shifted = values.T - reference[:, position]
        mean = np.empty((self.n_players, touched.size))
        m2 = np.empty_like(mean)
        for i in range(self.n_players):
            mean[i] = np.bincount(position, weights=shifted[i], minlength=touched.size) / batch
            residual = shifted[i] - mean[i, position]
            m2[i] = np.bincount(position, weights=residual * residual, minlength=touched.size)
        self._merge(touched, batch, reference, mean, m2)

    def merge(self, other: PayoffSamples) -> None:
        """Add the samples recorded by ``other`` (of the same shape) to these.

        Raises
        ------
        InvalidOptionError
            Field ``samples``, when ``other`` is not a :class:`PayoffSamples` of the same
            number of actions.
        """
        if not isinstance(other, PayoffSamples) or other.num_actions != self.num_actions:
            shown = other.num_actions if isinstance(other, PayoffSamples) else quoted(other)
            raise InvalidOptionError(
                "samples",
                f"PayoffSamples.merge(): needs samples of a game with num_actions {self.num_actions}, "
                f"got {shown}",
            )
        touched = np.flatnonzero(other._counts)
        counts = other._counts[touched]
        reference = np.where(self._counts[touched] > 0, self._means[:, touched], other._means[:, touched])
        self._merge(touched, counts, reference, other._means[:, touched] - reference, other._m2[:, touched])

    def grow(self, num_actions: Sequence[int]) -> None:
        """Enlarge the game to ``num_actions`` actions per player, keeping every sample.

        Each player's new actions (the policies a PSRO iteration adds to its population)
        come after its old ones and have no samples yet; the samples recorded so far stay
        at their joint actions.

        Parameters
        ----------
        num_actions : sequence of int
            Each player's new number of actions, at least its current one.

        Raises
        ------
        InvalidOptionError
            Field ``samples.num_actions``: not one count per player, or a count below the
            player's current one. Nothing changes then.
        ProblemTooLargeError
            Field ``samples.num_actions``, past :data:`MAX_SAMPLE_ENTRIES`.

        Examples
        --------
        >>> samples = PayoffSamples((1, 2))
        >>> samples.add([[0, 1]], [[1.0, -1.0]])
        >>> samples.grow((2, 2))
        >>> samples.counts.tolist()
        [[0, 1], [0, 0]]
        """
        shape = _action_counts(num_actions, "PayoffSamples.grow")
        if len(shape) != self.n_players or any(
            new < old for new, old in zip(shape, self._shape, strict=True)
        ):
            raise InvalidOptionError(
                "samples.num_actions",
                f"PayoffSamples.grow(): num_actions must keep {self.n_players} players and no fewer actions "
                f"than {self._shape}, got {shape}",
            )
        if shape == self._shape:
            return
        moved = np.ravel_multi_index(np.unravel_index(np.arange(self._counts.size), self._shape), shape)
        counts = np.zeros(math.prod(shape), dtype=np.int64)
        means = np.zeros((self.n_players, counts.size))
        m2 = np.zeros_like(means)
        counts[moved], means[:, moved], m2[:, moved] = self._counts, self._means, self._m2
        self._shape, self._counts, self._means, self._m2 = shape, counts, means, m2

    def game(self, **names: Any) -> NormalFormGame:
        """The game of the mean returns.

        Parameters
        ----------
        **names
            Passed to :class:`~equilibria.solver.game.NormalFormGame` (``title``,
            ``player_names``, ``action_names``).

        Raises
        ------
        InvalidOptionError
            Field ``samples``, when some joint action has no sample.
        """
        missing = np.flatnonzero(self._counts == 0)
        if missing.size:
            first = tuple(int(k) for k in np.unravel_index(missing[0], self._shape))
            raise InvalidOptionError(
                "samples",
                f"PayoffSamples.game(): {missing.size:,} joint actions have no sample, the first {first}",
            )
        return NormalFormGame(self.means, **names)

    def _merge(
        self, touched: IntArray, counts: np.ndarray, reference: FloatArray, mean: FloatArray, m2: FloatArray
    ) -> None:
        """Merge per-entry statistics: ``counts`` samples at the entries ``touched``, of mean
        ``reference + mean`` and sum of squared deviations ``m2``, where ``reference`` is the
        entry's current mean wherever it has samples (Chan, Golub and LeVeque's update)."""
        old = self._counts[touched]
        total = old + counts
        share = counts / total  # 1 at a new entry: its mean is the batch's
        self._means[:, touched] = reference + mean * share
        self._m2[:, touched] += m2 + mean * mean * (old * share)
        self._counts[touched] = total

    def _checked(self, profiles: Any, returns: Any) -> tuple[IntArray, FloatArray]:
        """The samples' flat joint-action indices and returns ``(k, n)``, validated."""
        function, n = "PayoffSamples.add", self.n_players
        actions = np.asarray(profiles)
        if actions.size == 0 and actions.ndim <= 2:
            actions = actions.astype(np.intp).reshape(0, n)
        if actions.dtype.kind not in "iu" or actions.ndim != 2 or actions.shape[1] != n:
            raise InvalidOptionError(
                "samples.profiles",
                f"{function}(): profiles must be an integer array of shape (k, {n}), one joint action per "
                f"sample, got {actions.dtype} of shape {actions.shape}",
            )
        bad = (actions < 0) | (actions >= np.array(self._shape))
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise InvalidOptionError(
                "samples.profiles",
                f"{function}(): sample {row} has the joint action {actions[row].tolist()}, outside the "
                f"actions {self._shape}",
            )
        try:
            values = np.array(returns, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidOptionError(
                "samples.returns", f"{function}(): returns is not a numeric array ({exc})"
            ) from exc
        if values.size == 0 and actions.shape[0] == 0:
            values = values.reshape(0, n)
        if values.shape != (actions.shape[0], n):
            raise InvalidOptionError(
                "samples.returns",
                f"{function}(): returns has shape {values.shape}, expected {(actions.shape[0], n)} (one "
                f"return per player per sample)",
            )
        bad = ~(np.abs(values) <= MAX_RETURN)
        if bad.any():
            row, player = (int(k) for k in np.argwhere(bad)[0])
            raise InvalidOptionError(
                "samples.returns",
                f"{function}(): sample {row}'s return of player {player}, {float(values[row, player])!r}, is not a "
                f"finite number of magnitude at most {MAX_RETURN:g}",
            )
        index = np.ravel_multi_index(tuple(actions.T.astype(np.intp)), self._shape)
        return np.asarray(index, dtype=np.intp), values
