"""equilibria.solver: game models, equilibrium algorithms and solution sets.

Pure numerics (numpy, scipy, pygambit); never gRPC or protobuf. The core sits here
(``game``, ``results``, ``errors``, ``regret``, ``kernels``, ``solve_game``); the
algorithms live by family in ``normal_form``, ``concepts``, ``stochastic`` and ``traces``.
This package is the folder ``solver/`` of the repository: ``pyproject.toml``'s
``package-dir`` maps ``equilibria.solver`` to it.

Examples
--------
>>> from equilibria.solver import NormalFormGame, solve
>>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
>>> result = solve(chicken)
>>> len(result.equilibria), result.complete, result.method
(3, True, 'vertex_enumeration')
"""

from equilibria.solver.concepts.alpha_rank import AlphaRankOptions
from equilibria.solver.concepts.credit import CreditOptions
from equilibria.solver.concepts.dynamics import DynamicsOptions
from equilibria.solver.concepts.ess import EssOptions
from equilibria.solver.concepts.noisy import NoiseOptions
from equilibria.solver.concepts.payoff_samples import PayoffSamples
from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    SolverError,
    UnsupportedError,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.normal_form.nash import METHODS, MethodSpec
from equilibria.solver.regret import Certificate, certify
from equilibria.solver.results import (
    SOLVER_VERSION,
    AlphaRank,
    Basin,
    Component,
    ConceptStatus,
    CorrelatedEquilibrium,
    CreditAssignment,
    Equilibrium,
    EquilibriumUnderNoise,
    EvolutionarilyStableSet,
    EvolutionarilyStableStrategy,
    EvolutionaryDynamics,
    MarkovEquilibrium,
    MarkovSolutionSet,
    MarkovZeroSum,
    MaxEntropyEquilibrium,
    NoisyMetaGame,
    Selection,
    SolutionSet,
    StochasticCreditAssignment,
    WelfareOptimum,
    WelfareRange,
    ZeroSumSolution,
)
from equilibria.solver.solve_game import CONCEPTS, SELECTION_CRITERIA, WELFARE_FUNCTIONS, solve
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import MarkovCertificate, certify_markov
from equilibria.solver.stochastic.solve import (
    STAGE_SELECTION_CRITERIA,
    STOCHASTIC_CONCEPTS,
    STOCHASTIC_METHODS,
    solve_stochastic,
)
from equilibria.solver.traces import ScoreOptions, TraceChunk, TraceScore, TraceScorer, score_trace

__all__ = [
    "CONCEPTS",
    "STAGE_SELECTION_CRITERIA",
    "STOCHASTIC_CONCEPTS",
    "STOCHASTIC_METHODS",
    "MarkovCertificate",
    "MarkovEquilibrium",
    "MarkovSolutionSet",
    "MarkovZeroSum",
    "MaxEntropyEquilibrium",
    "Basin",
    "EvolutionaryDynamics",
    "EvolutionarilyStableStrategy",
    "EvolutionarilyStableSet",
    "DynamicsOptions",
    "EssOptions",
    "CreditOptions",
    "NoiseOptions",
    "PayoffSamples",
    "NoisyMetaGame",
    "EquilibriumUnderNoise",
    "CreditAssignment",
    "StochasticCreditAssignment",
    "ScoreOptions",
    "StochasticGame",
    "TraceChunk",
    "TraceScore",
    "TraceScorer",
    "score_trace",
    "certify_markov",
    "solve_stochastic",
    "METHODS",
    "SELECTION_CRITERIA",
    "SOLVER_VERSION",
    "WELFARE_FUNCTIONS",
    "AlphaRank",
    "AlphaRankOptions",
    "Certificate",
    "Component",
    "ConceptStatus",
    "CorrelatedEquilibrium",
    "Equilibrium",
    "InvalidGameError",
    "InvalidOptionError",
    "MethodSpec",
    "NormalFormGame",
    "ProblemTooLargeError",
    "Selection",
    "SolutionSet",
    "SolverError",
    "UnsupportedError",
    "WelfareOptimum",
    "WelfareRange",
    "ZeroSumSolution",
    "certify",
    "solve",
]
