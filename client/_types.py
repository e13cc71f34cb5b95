"""Typed results of the client: frozen dataclasses of numpy arrays.

These mirror the solver's result types without importing the solver (the client must
stay light: numpy, grpcio and the generated API only).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import numpy.typing as npt

__all__ = ["Equilibrium", "Component", "SolutionSet", "MethodInfo", "ServerLimits", "ServerInfo"]

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, eq=False)
class Equilibrium:
    """An equilibrium with its certificate.

    Attributes
    ----------
    strategies : tuple of ndarray
        One probability vector per player.
    payoffs : ndarray, shape (n_players,)
        Expected payoffs, in the game's units.
    regrets : ndarray, shape (n_players,)
        Best-response payoff minus expected payoff, per player.
    nash_conv : float
        Sum of the regrets (0 at an exact equilibrium).
    supports : tuple of tuple of int
        Actions played with positive probability, per player.
    exact_strategies : tuple of tuple of Fraction, optional
        Exact probabilities when the server certified them in rational arithmetic.
    exact_payoffs : tuple of Fraction, optional
        Exact expected payoffs, likewise.
    components : tuple of int
        Indices into ``SolutionSet.components`` of the components containing it.
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    supports: tuple[tuple[int, ...], ...]
    exact_strategies: tuple[tuple[Fraction, ...], ...] | None = None
    exact_payoffs: tuple[Fraction, ...] | None = None
    components: tuple[int, ...] = ()

    @property
    def is_pure(self) -> bool:
        """Whether every player plays one action."""
        return all(len(s) == 1 for s in self.supports)


@dataclasses.dataclass(frozen=True, eq=False)
class Component:
    """A maximal convex set of equilibria: the product of each player's vertex hull.

    Attributes
    ----------
    equilibrium_indices : tuple of int
        Indices into ``SolutionSet.equilibria`` of its extreme equilibria.
    vertices : tuple of ndarray
        Per player, an array of shape ``(k_i, a_i)`` of vertex strategies.
    """

    equilibrium_indices: tuple[int, ...]
    vertices: tuple[FloatArray, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class SolutionSet:
    """A set of equilibria and how the server found it.

    Attributes
    ----------
    game_id : str
        Content address of the game.
    equilibria : tuple of Equilibrium
    components : tuple of Component
    complete : bool
        True only when the set provably holds every equilibrium.
    method : str
        The method that ran ("auto" resolved).
    method_reason : str
        Why it was chosen and how the set was found.
    warnings : tuple of str
    tolerance : float
    concepts : tuple of str
        Solution concepts answered ("nash", "pure_nash", ...).
    exact : bool
        Whether exact arithmetic certified the equilibria.
    solve_seconds : float
        Wall time in the solver.
    """

    game_id: str
    equilibria: tuple[Equilibrium, ...]
    components: tuple[Component, ...]
    complete: bool
    method: str
    method_reason: str
    warnings: tuple[str, ...]
    tolerance: float
    concepts: tuple[str, ...]
    exact: bool
    solve_seconds: float

    def __len__(self) -> int:
        return len(self.equilibria)


@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """A solver method the server offers."""

    name: str
    description: str
    complete: bool
    min_players: int
    max_players: int


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """Limits the server enforces."""

    max_message_bytes: int
    max_payoff_entries: int
    max_players: int
    max_time_budget: float
    workers: int


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """What ``GetServerInfo`` reports."""

    version: str
    solver_version: str
    limits: ServerLimits
    methods: tuple[MethodInfo, ...]
