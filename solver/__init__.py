"""equilibria.solver: game models, equilibrium algorithms and solution sets.

Pure numerics (numpy, scipy, pygambit); never gRPC or protobuf.

Examples
--------
>>> from equilibria.solver import NormalFormGame, solve
>>> chicken = NormalFormGame.from_bimatrix([[6, 2], [7, 0]], [[6, 7], [2, 0]])
>>> result = solve(chicken)
>>> len(result.equilibria), result.complete, result.method
(3, True, 'vertex_enumeration')
"""

from equilibria.solver.errors import (
    InvalidGameError,
    InvalidOptionError,
    ProblemTooLargeError,
    SolverError,
    UnsupportedError,
)
from equilibria.solver.game import NormalFormGame
from equilibria.solver.nash import CONCEPTS, METHODS, MethodSpec, solve
from equilibria.solver.regret import Certificate, certify
from equilibria.solver.results import SOLVER_VERSION, Component, Equilibrium, SolutionSet

__all__ = [
    "CONCEPTS",
    "METHODS",
    "SOLVER_VERSION",
    "Certificate",
    "Component",
    "Equilibrium",
    "InvalidGameError",
    "InvalidOptionError",
    "MethodSpec",
    "NormalFormGame",
    "ProblemTooLargeError",
    "SolutionSet",
    "SolverError",
    "UnsupportedError",
    "certify",
    "solve",
]
