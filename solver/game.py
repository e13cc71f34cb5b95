"""Normal-form games.

A game in normal (strategic) form with players :math:`N = \\{1..n\\}` is given by a
payoff tensor ``u`` of shape ``(n, a_1, ..., a_n)``: ``u[i, a_1, ..., a_n]`` is player
``i``'s payoff when each player ``j`` plays action ``a_j``. A mixed strategy of player
``i`` is a probability vector :math:`x_i` over its ``a_i`` actions, and the expected
payoff of a profile is :math:`U_i(x) = \\sum_a u_i(a) \\prod_j x_j(a_j)`.

Examples
--------
>>> from equilibria.solver import NormalFormGame
>>> g = NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]])
>>> g.n_players, g.num_actions
(2, (2, 2))
>>> g.is_zero_sum()
False
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import struct
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidGameError

__all__ = [
    "NormalFormGame",
    "ROUNDOFF_RANGE",
    "max_abs_difference",
    "player_ranges",
    "regret_tolerance",
    "span",
    "positive_rescale",
    "unit_payoffs",
]

#: A player's regret tolerance is at least this fraction of its largest absolute payoff:
#: differences below it are float round-off, not payoffs (the only absolute floor).
ROUNDOFF_RANGE = 1e-12


@dataclasses.dataclass(frozen=True, eq=False)
class NormalFormGame:
    """A finite game in normal form, validated on construction.

    Parameters
    ----------
    payoffs : array_like of float, shape (n_players, a_1, ..., a_n)
        ``payoffs[i, a_1, ..., a_n]`` is player ``i``'s payoff. Stored as a read-only
        float64 C-contiguous copy.
    title : str, optional
        Display name.
    player_names : tuple of str, optional
        Empty, or one name per player.
    action_names : tuple of tuple of str, optional
        Empty, or for each player one name per action.

    Raises
    ------
    InvalidGameError
        If the tensor is not numeric, has fewer than 2 players, a player without
        actions, a first axis that does not match the number of players, a non-finite
        entry, or names of the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> g = NormalFormGame(np.zeros((3, 2, 2, 2)))
    >>> g.n_players, g.num_actions
    (3, (2, 2, 2))
    """

    payoffs: npt.NDArray[np.float64]
    title: str = ""
    player_names: tuple[str, ...] = ()
    action_names: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        payoffs = _validated_payoffs(self.payoffs)
        object.__setattr__(self, "payoffs", payoffs)
        n = payoffs.shape[0]
        # (the empty names of most games skip the generators: a game solved once pays this)
        player_names = tuple(str(name) for name in self.player_names) if self.player_names else ()
        if player_names and len(player_names) != n:
            raise InvalidGameError(
                "player_names",
                f"NormalFormGame(): {len(player_names)} player names given for {n} players",
            )
        action_names = (
            tuple(tuple(str(a) for a in names) for names in self.action_names) if self.action_names else ()
        )
        if action_names:
            if len(action_names) != n:
                raise InvalidGameError(
                    "action_names",
                    f"NormalFormGame(): action names given for {len(action_names)} players, game has {n}",
                )
            for i, names in enumerate(action_names):
                if len(names) != payoffs.shape[1 + i]:
                    raise InvalidGameError(
                        f"action_names[{i}]",
                        f"NormalFormGame(): player {i} has {payoffs.shape[1 + i]} actions "
                        f"but {len(names)} action names",
                    )
        object.__setattr__(self, "player_names", player_names)
        object.__setattr__(self, "action_names", action_names)

    @classmethod
    def from_bimatrix(cls, a: Any, b: Any | None = None, **names: Any) -> NormalFormGame:
        """Build a 2-player game from the row player's and column player's matrices.

        Parameters
        ----------
        a : array_like, shape (m, n)
            Row player's payoffs.
        b : array_like, shape (m, n), optional
            Column player's payoffs; default ``-a`` (a zero-sum game).
        **names
            Passed to the constructor (``title``, ``player_names``, ``action_names``).

        Examples
        --------
        >>> NormalFormGame.from_bimatrix([[1, -1], [-1, 1]]).is_zero_sum()
        True
        """
        a_arr = _as_float_array(a, "payoffs")
        b_arr = -a_arr if b is None else _as_float_array(b, "payoffs")
        if a_arr.ndim != 2 or a_arr.shape != b_arr.shape:
            raise InvalidGameError(
                "payoffs",
                f"from_bimatrix(): both matrices must be 2-D of one shape, got {a_arr.shape} and "
                f"{b_arr.shape}",
            )
        return cls(np.stack([a_arr, b_arr]), **names)

    @property
    def n_players(self) -> int:
        """Number of players."""
        return int(self.payoffs.shape[0])

    @property
    def num_actions(self) -> tuple[int, ...]:
        """Number of actions of each player."""
        return tuple(int(k) for k in self.payoffs.shape[1:])

    @functools.cached_property
    def id(self) -> str:
        """Content address: blake2b-128 of the shape and the little-endian payload."""
        h = hashlib.blake2b(digest_size=16)
        h.update(struct.pack(f"<{self.payoffs.ndim}Q", *self.payoffs.shape))
        # The payoffs are C-contiguous float64 (__post_init__): hashed in place where native is little-endian.
        h.update(self.payoffs.data if sys.byteorder == "little" else self.payoffs.astype("<f8").tobytes())
        return h.hexdigest()

    @functools.cached_property
    def player_scales(self) -> npt.NDArray[np.float64]:
        """Each player's payoff range ``max u_i - min u_i``: the unit of its regret tolerance.

        Computed without overflow (capped at the largest float). See :meth:`regret_tolerances`.

        Examples
        --------
        >>> NormalFormGame.from_bimatrix([[0, 1e-9]], [[5, 1]]).player_scales.tolist()
        [1e-09, 4.0]
        """
        scales = np.array([span(high, low) for high, low in self._extremes])
        scales.setflags(write=False)
        return scales

    @functools.cached_property
    def _extremes(self) -> tuple[tuple[float, float], ...]:
        """Each player's largest and smallest payoff."""
        flat = self.payoffs.reshape(self.n_players, -1)
        return tuple(zip(flat.max(axis=1).tolist(), flat.min(axis=1).tolist(), strict=True))

    def regret_tolerances(self, tol: float) -> npt.NDArray[np.float64]:
        """Per player, the largest regret of an equilibrium within ``tol``.

        ``max(tol * player_scales[i], ROUNDOFF_RANGE * max |u_i|)``: relative to the
        player's own payoff range, with a floor only at float round-off. Multiplying one
        player's payoffs by any positive number scales its tolerance alike, so it
        changes no answer.

        Examples
        --------
        >>> NormalFormGame.from_bimatrix([[0, 1e-9]], [[5, 1]]).regret_tolerances(1e-9).tolist()
        [1e-18, 4e-09]
        """
        memo = self._tolerance_memo
        tolerances = memo.get(tol)
        if tolerances is None:  # solvers ask once per call: keep the answer per tol (read-only)
            tolerances = np.array([regret_tolerance(tol, high, low) for high, low in self._extremes])
            tolerances.setflags(write=False)
            memo[tol] = tolerances
        return tolerances

    @functools.cached_property
    def _tolerance_memo(self) -> dict[float, npt.NDArray[np.float64]]:
        return {}

    @functools.cached_property
    def payoff_scale(self) -> float:
        """Largest payoff range over players (1.0 when every payoff is zero)."""
        largest = float(self.player_scales.max())
        return largest if largest > 0.0 else 1.0

    @functools.cached_property
    def unit_game(self) -> NormalFormGame:
        """The strategically equivalent game with each player's payoffs mapped onto ``[0, 1]``.

        A positive affine map of each player's payoffs keeps every equilibrium, every
        best response and the (coarse) correlated equilibria; solvers work on this game
        so that no tolerance depends on the payoffs' units and no arithmetic overflows
        (payoffs of magnitude 1e308 included). Constant payoffs map to zeros.

        Examples
        --------
        >>> g = NormalFormGame.from_bimatrix([[1e308, -1e308]], [[-3e-12, 3e-12]])
        >>> g.unit_game.payoffs.tolist()
        [[[1.0, 0.0]], [[0.0, 1.0]]]
        """
        unit = unit_payoffs(self.payoffs)
        if np.array_equal(unit, self.payoffs):
            return self
        return NormalFormGame(
            unit,
            title=self.title,
            player_names=self.player_names,
            action_names=self.action_names,
        )

    def within_tolerance(self, regrets: npt.ArrayLike, tol: float) -> bool:
        """Whether every player's regret is within :meth:`regret_tolerances` ``(tol)``.

        Examples
        --------
        >>> g = NormalFormGame.from_bimatrix([[0, 1e-9]], [[5, 1]])
        >>> g.within_tolerance([1e-19, 3e-9], 1e-9), g.within_tolerance([1e-17, 0.0], 1e-9)
        (True, False)
        """
        values = np.asarray(regrets, dtype=np.float64)
        return bool(np.all(values <= self.regret_tolerances(tol)))

    def bimatrix(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The row and column player's payoff matrices of a 2-player game."""
        if self.n_players != 2:
            raise InvalidGameError("payoffs", f"bimatrix(): game has {self.n_players} players, not 2")
        return self.payoffs[0], self.payoffs[1]

    def is_zero_sum(self, tol: float = 1e-9) -> bool:
        """Whether the game is 2-player constant-sum within ``tol`` times the larger payoff range."""
        if self.n_players != 2:
            return False
        half_total = self.payoffs[0] / 2.0 + self.payoffs[1] / 2.0  # no overflow at 1e308
        return bool(2.0 * np.ptp(half_total) <= tol * float(self.player_scales.max()))

    def is_symmetric(self, tol: float = 1e-9) -> bool:
        """Whether the game is a symmetric 2-player game: the same actions for both players
        and ``B = A^T`` within ``tol`` on each player's payoffs mapped onto ``[0, 1]``.

        Examples
        --------
        >>> NormalFormGame.from_bimatrix([[3, 0], [5, 1]], [[3, 5], [0, 1]]).is_symmetric()
        True
        """
        if self.n_players != 2 or self.num_actions[0] != self.num_actions[1]:
            return False
        unit = self.unit_game.payoffs
        return bool(np.all(np.abs(unit[1] - unit[0].T) <= tol))

    def __repr__(self) -> str:
        title = f" {self.title!r}" if self.title else ""
        return f"NormalFormGame{title}(n_players={self.n_players}, num_actions={self.num_actions})"


def _as_float_array(value: Any, field: str) -> npt.NDArray[np.float64]:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(field, f"NormalFormGame(): {field} is not a numeric array ({exc})") from exc
    return arr


def _validated_payoffs(value: Any) -> npt.NDArray[np.float64]:
    payoffs = _as_float_array(value, "payoffs")
    if payoffs.ndim < 3:
        raise InvalidGameError(
            "payoffs",
            f"NormalFormGame(): payoffs must have shape (n_players, a_1, ..., a_n) with n_players >= 2, "
            f"got shape {payoffs.shape}",
        )
    n = payoffs.shape[0]
    if n != payoffs.ndim - 1:
        raise InvalidGameError(
            "payoffs",
            f"NormalFormGame(): first axis has {n} players but there are {payoffs.ndim - 1} action axes "
            f"(shape {payoffs.shape})",
        )
    if 0 in payoffs.shape:
        player = next(i for i, k in enumerate(payoffs.shape[1:]) if k == 0)
        raise InvalidGameError("payoffs", f"NormalFormGame(): player {player} has no actions")
    if not np.isfinite(payoffs).all():
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(payoffs))[0])
        raise InvalidGameError("payoffs", f"NormalFormGame(): payoff at index {bad} is not finite")
    payoffs = np.ascontiguousarray(payoffs)
    payoffs.setflags(write=False)
    return payoffs


_HALF_MAX = float(np.finfo(np.float64).max) / 2.0


def player_ranges(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row, ``max - min`` without overflow (capped at the largest float).

    Parameters
    ----------
    values : ndarray, shape (n_players, k)
        Each player's payoffs (or rewards) in one row.

    Returns
    -------
    ndarray, shape (n_players,)
        Finite and non-negative.

    Examples
    --------
    >>> player_ranges(np.array([[1e308, -1e308], [2.0, 2.0], [0.0, 1.0]])).tolist()
    [1.7976931348623157e+308, 0.0, 1.0]
    """
    highs, lows = values.max(axis=1).tolist(), values.min(axis=1).tolist()
    return np.array([span(high, low) for high, low in zip(highs, lows, strict=True)])


def regret_tolerance(tol: float, high: float, low: float) -> float:
    """The largest regret within ``tol`` of a player whose payoffs span ``[low, high]``.

    ``max(tol * (high - low), ROUNDOFF_RANGE * max(|high|, |low|))``: see
    :meth:`NormalFormGame.regret_tolerances`, which applies it to each player.

    Examples
    --------
    >>> regret_tolerance(1e-9, 5.0, 1.0)
    4e-09
    """
    return max(tol * span(high, low), ROUNDOFF_RANGE * max(high, -low))


def span(high: float, low: float) -> float:
    """``high - low`` without overflow (capped at the largest float), for ``high >= low``.

    Examples
    --------
    >>> span(1e308, -1e308), span(2.0, -1.0)
    (1.7976931348623157e+308, 3.0)
    """
    # Halves cannot overflow; doubling at most half the largest float gives at most it.
    return 2.0 * min(high / 2.0 - low / 2.0, _HALF_MAX)


def _half_spans(flat: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per row, the minimum and half the range (finite even when the range overflows)."""
    low = flat.min(axis=1)
    return low, flat.max(axis=1) / 2.0 - low / 2.0


def positive_rescale(matrix: npt.NDArray[np.float64], low: float = 0.1) -> npt.NDArray[np.float64]:
    """Positive affine image of a payoff matrix in ``[low, low + 1]`` (all ones if constant).

    Equilibria are unchanged by a positive affine map of each player's payoffs; the
    best-response polytopes need positive payoffs, and a small ``low`` keeps the rows of
    their basis systems far from parallel (well conditioned). Overflow-safe.
    """
    bottom, half = _half_spans(matrix.reshape(1, -1))
    if half[0] == 0.0:
        return np.ones_like(matrix)
    return low + (matrix / 2.0 - bottom[0] / 2.0) / half[0]


def unit_payoffs(payoffs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each player's payoffs mapped affinely onto ``[0, 1]`` (zeros when constant).

    A positive affine map of each player's payoffs keeps the equilibria. Computed in
    halves, so payoffs near the largest float do not overflow.

    Parameters
    ----------
    payoffs : ndarray, shape (n_players, a_1, ..., a_n)
        A payoff tensor, as :attr:`NormalFormGame.payoffs`.

    Returns
    -------
    ndarray
        The same shape; each player's slice spans ``[0, 1]``, or is all zeros.

    Examples
    --------
    >>> import numpy as np
    >>> unit_payoffs(np.array([[[2.0, 4.0]], [[3.0, 3.0]]])).tolist()
    [[[0.0, 1.0]], [[0.0, 0.0]]]
    """
    low, half = _half_spans(payoffs.reshape(payoffs.shape[0], -1))
    shape = (-1,) + (1,) * (payoffs.ndim - 1)
    out = (payoffs / 2.0 - low.reshape(shape) / 2.0) / np.where(half > 0.0, half, 1.0).reshape(shape)
    return np.where(half.reshape(shape) > 0.0, np.clip(out, 0.0, 1.0), 0.0)


def max_abs_difference(p: Sequence[npt.ArrayLike], q: Sequence[npt.ArrayLike]) -> float:
    """The largest absolute difference between two profiles, over players and actions.

    Examples
    --------
    >>> max_abs_difference([np.array([0.5, 0.5])], [np.array([0.25, 0.75])])
    0.25
    """
    return max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(p, q, strict=True))
