"""Scoring learning traces against solution sets: the streaming scorer, distances and verdicts.

:class:`TraceScorer` (``scorer.py``) consumes :class:`TraceChunk` objects and scores them
with :class:`ScoreOptions` into a :class:`TraceScore` (``options.py``); the distances
are in ``distances.py`` (public functions), ``metrics.py`` (definitions and kernels) and
``hull.py`` (projections); the statistics of the verdicts in ``verdicts.py``. See
docs/traces.md and docs/trace-distances.md.
"""

from __future__ import annotations

from equilibria.solver.traces.distances import (
    SetDistance,
    SolutionTarget,
    correlated_polytope,
    distance,
    distance_to_component,
    distance_to_points,
    distance_to_polyhedron,
    distance_to_set,
    profile_distance,
)
from equilibria.solver.traces.metrics import AGGREGATES, METRICS
from equilibria.solver.traces.options import (
    CreditCurves,
    CriterionScore,
    ScoreOptions,
    TraceChunk,
    TraceScore,
)
from equilibria.solver.traces.scorer import TraceScorer, score_trace

__all__ = [
    "AGGREGATES",
    "METRICS",
    "CreditCurves",
    "CriterionScore",
    "ScoreOptions",
    "SetDistance",
    "SolutionTarget",
    "TraceChunk",
    "TraceScore",
    "TraceScorer",
    "correlated_polytope",
    "distance",
    "distance_to_component",
    "distance_to_points",
    "distance_to_polyhedron",
    "distance_to_set",
    "profile_distance",
    "score_trace",
]
