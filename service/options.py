"""The validated options of one solve, as the worker receives them (no gRPC, no protobuf).

:mod:`equilibria.service.convert` builds :class:`SolveOptions` from a request; the
worker (:mod:`equilibria.service.worker`), the batch API and the solve cache's key read
them. Keeping them out of the converter keeps the worker processes free of gRPC.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from equilibria.solver.concepts.alpha_rank import AlphaRankOptions
from equilibria.solver.concepts.credit import CreditOptions
from equilibria.solver.concepts.dynamics import DynamicsOptions
from equilibria.solver.concepts.ess import EssOptions
from equilibria.solver.concepts.noisy import NoiseOptions
from equilibria.solver.solve_game import DEFAULT_CONCEPTS

__all__ = ["DEFAULT_CONCEPTS", "SolveOptions"]


@dataclasses.dataclass(frozen=True)
class SolveOptions:
    """The solver options of a SolveGame request, validated.

    Attributes
    ----------
    concepts : tuple of str
        Solution concepts (:data:`DEFAULT_CONCEPTS` when the request names none).
    method : str
        A solver method name or "auto".
    tol : float
        Tolerance of the solve.
    exact : bool
        Exact rational certification.
    max_equilibria : int
        Stop after this many (0: all).
    time_budget : float or None
        Seconds the request allows; None: no request budget.
    welfare, disagreement, selection, stage_selection
        Welfare functions, the Nash product's disagreement point, selection and
        stage-selection criteria.
    priors : int
        Priors of the stochastic homotopy (0: the solver default).
    seed : int
        Seed of the stochastic homotopy's random priors.
    alpha_rank : AlphaRankOptions or None
        Options of α-Rank (None: the defaults).
    dynamics : DynamicsOptions or None
        Options of the evolutionary dynamics (None: the defaults).
    ess : EssOptions or None
        Options of the ESS (None: the defaults).
    credit : CreditOptions or None
        The policy credit assignment credits, and how (None: none given).
    standard_errors : ndarray or None
        The payoffs' standard errors of an empirical game (None: exact payoffs).
    noise : NoiseOptions or None
        Options of the noisy-equilibria analysis (None: the defaults).
    """

    concepts: tuple[str, ...]
    method: str
    tol: float
    exact: bool
    max_equilibria: int
    time_budget: float | None  # seconds, None: no request budget
    welfare: tuple[str, ...] = ("utilitarian",)
    disagreement: tuple[float, ...] | None = None
    selection: tuple[str, ...] = ()
    stage_selection: tuple[str, ...] = ("utilitarian",)
    priors: int = 0  # 0: the solver default
    seed: int = 0
    alpha_rank: AlphaRankOptions | None = None
    dynamics: DynamicsOptions | None = None
    ess: EssOptions | None = None
    credit: CreditOptions | None = None
    standard_errors: Any = None
    noise: NoiseOptions | None = None
