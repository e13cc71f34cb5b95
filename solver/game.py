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
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from equilibria.solver.errors import InvalidGameError

__all__ = ["NormalFormGame", "max_abs_difference", "positive_rescale", "unit_payoffs"]


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
        player_names = tuple(str(name) for name in self.player_names)
        if player_names and len(player_names) != n:
            raise InvalidGameError(
                "player_names",
                f"NormalFormGame(): {len(player_names)} player names given for {n} players",
            )
        action_names = tuple(tuple(str(a) for a in names) for names in self.action_names)
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
        h.update(np.asarray(self.payoffs.shape, dtype="<u8").tobytes())
        h.update(self.payoffs.astype("<f8", copy=False).tobytes())
        return h.hexdigest()

    @functools.cached_property
    def payoff_scale(self) -> float:
        """Largest payoff range over players (1.0 for constant payoffs)."""
        ranges = [float(np.ptp(self.payoffs[i])) for i in range(self.n_players)]
        return max(max(ranges), 1.0) if ranges else 1.0

    def bimatrix(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The row and column player's payoff matrices of a 2-player game."""
        if self.n_players != 2:
            raise InvalidGameError("payoffs", f"bimatrix(): game has {self.n_players} players, not 2")
        return self.payoffs[0], self.payoffs[1]

    def is_zero_sum(self, tol: float = 1e-9) -> bool:
        """Whether the game is 2-player constant-sum within ``tol`` (relative to scale)."""
        if self.n_players != 2:
            return False
        total = self.payoffs[0] + self.payoffs[1]
        return bool(np.ptp(total) <= tol * self.payoff_scale)

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
    if any(k == 0 for k in payoffs.shape[1:]):
        player = next(i for i, k in enumerate(payoffs.shape[1:]) if k == 0)
        raise InvalidGameError("payoffs", f"NormalFormGame(): player {player} has no actions")
    if not np.isfinite(payoffs).all():
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(payoffs))[0])
        raise InvalidGameError("payoffs", f"NormalFormGame(): payoff at index {bad} is not finite")
    payoffs = np.ascontiguousarray(payoffs)
    payoffs.setflags(write=False)
    return payoffs


def positive_rescale(matrix: npt.NDArray[np.float64], low: float = 0.1) -> npt.NDArray[np.float64]:
    """Positive affine image of a payoff matrix in ``[low, low + 1]`` (all ones if constant).

    Equilibria are unchanged by a positive affine map of each player's payoffs; the
    best-response polytopes need positive payoffs, and a small ``low`` keeps the rows of
    their basis systems far from parallel (well conditioned).
    """
    bottom = float(matrix.min())
    span = float(matrix.max()) - bottom
    if span == 0.0:
        return np.ones_like(matrix)
    return low + (matrix - bottom) / span


def unit_payoffs(payoffs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each player's payoffs mapped affinely onto ``[0, 1]`` (zeros when constant).

    A positive affine map of each player's payoffs keeps the equilibria.

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
    flat = payoffs.reshape(payoffs.shape[0], -1)
    low = flat.min(axis=1)
    span = np.ptp(flat, axis=1)
    shape = (-1,) + (1,) * (payoffs.ndim - 1)
    out = (payoffs - low.reshape(shape)) / np.where(span > 0.0, span, 1.0).reshape(shape)
    return np.where(span.reshape(shape) > 0.0, out, 0.0)


def max_abs_difference(p: Sequence[npt.ArrayLike], q: Sequence[npt.ArrayLike]) -> float:
    """The largest absolute difference between two profiles, over players and actions.

    Examples
    --------
    >>> max_abs_difference([np.array([0.5, 0.5])], [np.array([0.25, 0.75])])
    0.25
    """
    return max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(p, q, strict=True))
