"""Result types of every solve: frozen dataclasses of numpy arrays.

A :class:`SolutionSet` is always what :func:`equilibria.solver.solve` returns, whatever
the method: the equilibria found, each with its certificate (regrets and NashConv
measured from the user's payoffs), the maximal convex components they span, whether
the set is provably complete, and how it was found.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import numpy.typing as npt

__all__ = ["Equilibrium", "Component", "SolutionSet", "SOLVER_VERSION"]

#: Version of the numerical results; part of every cache key. Bump when answers change.
SOLVER_VERSION = "0.1.0"

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, eq=False)
class Equilibrium:
    """A mixed-strategy profile with its certificate.

    Attributes
    ----------
    strategies : tuple of ndarray
        One probability vector per player.
    payoffs : ndarray, shape (n_players,)
        Expected payoffs in the user's units.
    regrets : ndarray, shape (n_players,)
        Per-player regret (best-response payoff minus expected payoff).
    nash_conv : float
        Sum of the regrets: the certificate.
    exact_strategies : tuple of tuple of Fraction, optional
        Exact probabilities, when exact arithmetic certified this equilibrium.
    exact_payoffs : tuple of Fraction, optional
        Exact expected payoffs, likewise.
    components : tuple of int
        Indices of the components (in ``SolutionSet.components``) containing it.
    """

    strategies: tuple[FloatArray, ...]
    payoffs: FloatArray
    regrets: FloatArray
    nash_conv: float
    exact_strategies: tuple[tuple[Fraction, ...], ...] | None = None
    exact_payoffs: tuple[Fraction, ...] | None = None
    components: tuple[int, ...] = ()

    @property
    def supports(self) -> tuple[tuple[int, ...], ...]:
        """Indices of the actions each player uses with positive probability."""
        if self.exact_strategies is not None:
            return tuple(tuple(k for k, p in enumerate(s) if p > 0) for s in self.exact_strategies)
        return tuple(tuple(int(k) for k in np.flatnonzero(s > 0)) for s in self.strategies)

    @property
    def is_pure(self) -> bool:
        """Whether every player plays a single action."""
        return all(len(s) == 1 for s in self.supports)

    @property
    def max_regret(self) -> float:
        """Largest regret over players (the ε of an ε-equilibrium)."""
        return float(self.regrets.max())


@dataclasses.dataclass(frozen=True, eq=False)
class Component:
    """A maximal Nash subset: the product of convex hulls of each player's vertices.

    Every choice of one vertex per player is an extreme equilibrium of the set, and
    every point of the product is an equilibrium (Avis et al. 2010, Thm. 3).

    Attributes
    ----------
    equilibrium_indices : tuple of int
        Indices (into ``SolutionSet.equilibria``) of the extreme equilibria in it.
    vertices : tuple of ndarray
        For each player, an array of shape ``(k_i, a_i)``: the vertex strategies.
    """

    equilibrium_indices: tuple[int, ...]
    vertices: tuple[FloatArray, ...]

    @property
    def is_singleton(self) -> bool:
        """Whether the component is a single (isolated) extreme equilibrium."""
        return all(v.shape[0] == 1 for v in self.vertices)


@dataclasses.dataclass(frozen=True, eq=False)
class SolutionSet:
    """A set of equilibria and how it was found.

    Attributes
    ----------
    game_id : str
        Content address of the game.
    equilibria : tuple of Equilibrium
        The equilibria found (for 2-player enumeration: the extreme equilibria).
    components : tuple of Component
        Maximal convex components spanned by the extreme equilibria (empty when the
        method does not compute them).
    complete : bool
        True only when the set provably holds every equilibrium of the concept
        (every extreme equilibrium and so every component).
    method : str
        The method that produced the set, after ``"auto"`` resolution.
    method_reason : str
        Why the method was chosen, and anything else about how the set was found.
    warnings : tuple of str
        Degeneracy, non-convergence and precision warnings.
    tolerance : float
        Tolerance used for certificates and comparisons.
    concepts : tuple of str
        The solution concepts this set answers (``"nash"``, ``"pure_nash"``).
    exact : bool
        Whether exact rational arithmetic certified every equilibrium.
    elapsed_seconds : float
        Wall time of the solve.
    """

    game_id: str
    equilibria: tuple[Equilibrium, ...]
    components: tuple[Component, ...]
    complete: bool
    method: str
    method_reason: str = ""
    warnings: tuple[str, ...] = ()
    tolerance: float = 0.0
    concepts: tuple[str, ...] = ("nash",)
    exact: bool = False
    elapsed_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.equilibria)

    @property
    def max_nash_conv(self) -> float:
        """Largest NashConv over the equilibria (0.0 for an empty set)."""
        return max((e.nash_conv for e in self.equilibria), default=0.0)
