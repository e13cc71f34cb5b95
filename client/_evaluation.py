"""The client's types of the evaluation concepts beyond Nash (issue 22): α-Rank's options
and answer, the maximum-entropy (and maximum-Gini) correlated equilibria.

Plain frozen dataclasses, like :mod:`equilibria.client._types`; the wire conversion is
in :mod:`equilibria.client._convert`.
"""

from __future__ import annotations

import dataclasses

from equilibria.client._typing import FloatArray

__all__ = ["AlphaRank", "AlphaRankOptions", "MaxEntropyEquilibrium"]


@dataclasses.dataclass(frozen=True)
class AlphaRankOptions:
    """Options of the "alpha_rank" concept (``Client.solve(..., alpha_rank=...)``).

    Attributes
    ----------
    alpha : float or None
        The selection intensity, per unit of each player's payoff range. None
        (default): swept upward to the large-α limit, as the paper prescribes.
    population_size : int
        Individuals per population, 2 to 100,000 (default 50).
    populations : str
        "auto" (one population for a symmetric 2-player game, else one per player),
        "multi" or "single".
    """

    alpha: float | None = None
    population_size: int = 50
    populations: str = "auto"


@dataclasses.dataclass(frozen=True, eq=False)
class AlphaRank:
    """The α-Rank of a game's pure profiles (Omidshafiei et al. 2019).

    Attributes
    ----------
    profiles : tuple of tuple of int
        Every pure profile (one action per population), from the highest mass down.
    masses : ndarray
        Each profile's stationary mass, in the same order; they sum to 1.
    alpha : float
        The selection intensity used.
    population_size : int
    single_population : bool
        Whether a symmetric 2-player game was read as one population (each profile
        then holds one strategy).
    sink_components : tuple of tuple of tuple of int
        The response graph's sink strongly connected components: where the mass goes
        as α grows.
    sweep : tuple of tuple of float
        ``(α, largest change of a mass from the previous α)`` per α solved.
    ended_by : str
        "converged" (the large-α limit), "alpha_given", "underflow", "time_limit" or
        "max_steps".
    residual : float
        ``||π P - π||_1`` at ``alpha``: the certificate of the distribution.
    """

    profiles: tuple[tuple[int, ...], ...]
    masses: FloatArray
    alpha: float
    population_size: int
    single_population: bool
    sink_components: tuple[tuple[tuple[int, ...], ...], ...]
    sweep: tuple[tuple[float, float], ...]
    ended_by: str
    residual: float

    @property
    def converged(self) -> bool:
        """Whether the sweep reached the large-α limit."""
        return self.ended_by == "converged"


@dataclasses.dataclass(frozen=True, eq=False)
class MaxEntropyEquilibrium:
    """The (coarse) correlated equilibrium of largest entropy or Gini impurity (Marris et
    al. 2021): unique, so usable as a meta-solver.

    Attributes
    ----------
    concept : str
        "max_entropy_correlated", "max_entropy_coarse_correlated", "max_gini_correlated"
        or "max_gini_coarse_correlated".
    distribution : ndarray, shape (a_1, ..., a_n)
        Probability of each joint action.
    payoffs : ndarray
        Each player's expected payoff.
    value : float
        Entropy (nats) or Gini impurity ``1 - sum p^2`` of the distribution.
    bound : float
        Certified upper bound of the measure over the polytope: ``bound - value`` bounds
        the distance to the optimum.
    max_violation : float
        Largest incentive-constraint violation, in payoff units.
    relative_violation : float
        The same per unit of the player's payoff range.
    method : str
    """

    concept: str
    distribution: FloatArray
    payoffs: FloatArray
    value: float
    bound: float
    max_violation: float
    relative_violation: float
    method: str

    @property
    def kind(self) -> str:
        """ "correlated" or "coarse_correlated"."""
        return "coarse_correlated" if self.concept.endswith("coarse_correlated") else "correlated"

    @property
    def measure(self) -> str:
        """ "entropy" or "gini"."""
        return "gini" if self.concept.startswith("max_gini") else "entropy"
