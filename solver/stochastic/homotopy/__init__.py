"""Stationary equilibria of general-sum stochastic games by homotopy path following.

:func:`qre_homotopy` follows the logit QRE branch, :func:`tracing_homotopy` the logarithmic
tracing path from a prior, and :func:`stationary_equilibria` runs both from several priors
(Herings & Peeters 2004; Eibelshäuser & Poensgen 2019). The modules: ``path`` (the model,
the Jacobian assembler, polishing), ``qre``, ``tracing`` and ``stationary``; the path
follower is :mod:`equilibria.solver.concepts.continuation`. See docs/homotopy.md.
"""

from __future__ import annotations

from equilibria.solver.stochastic.homotopy.path import MAX_UNKNOWNS, HomotopyResult
from equilibria.solver.stochastic.homotopy.qre import DEFAULT_LAMBDA_MAX, qre_homotopy
from equilibria.solver.stochastic.homotopy.stationary import stationary_equilibria
from equilibria.solver.stochastic.homotopy.tracing import DEFAULT_ETA, random_prior, tracing_homotopy

__all__ = [
    "DEFAULT_ETA",
    "DEFAULT_LAMBDA_MAX",
    "MAX_UNKNOWNS",
    "HomotopyResult",
    "qre_homotopy",
    "random_prior",
    "stationary_equilibria",
    "tracing_homotopy",
]
