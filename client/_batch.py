"""Batch solving on the client: the outcome of one game of a ``SolveGames`` stream.

The stream's messages are built and read by :mod:`equilibria.client._convert`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from equilibria.client._errors import EquilibriaError
from equilibria.client._types import MarkovSolutionSet, SolutionSet

__all__ = ["BatchItem", "Progress"]

#: ``progress(done, total)``: called after each result; ``total`` is None for an unsized input.
Progress = Callable[[int, int | None], None]


@dataclasses.dataclass(frozen=True)
class BatchItem:
    """The outcome of one game of :meth:`Client.solve_many`.

    Attributes
    ----------
    index : int
        Position of the game in the input, from 0.
    result : SolutionSet or MarkovSolutionSet or None
        The solution set (a ``MarkovSolutionSet`` for a stochastic game); None when the
        item failed.
    error : EquilibriaError or None
        Why the item failed (``InvalidGameError``, ``SolveTimeoutError``, ...: the
        exception :meth:`Client.solve` would have raised, its ``fields`` naming
        ``requests[index].<field>``); None on success.
    """

    index: int
    result: SolutionSet | MarkovSolutionSet | None
    error: EquilibriaError | None = None

    @property
    def ok(self) -> bool:
        """Whether the game was solved."""
        return self.error is None
