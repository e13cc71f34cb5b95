"""Batch solving on the client: the items of a ``SolveGames`` stream and their results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from equilibria.client._convert import (
    markov_solution_set_from_proto,
    solution_set_from_proto,
    solve_request,
    stochastic_game_to_proto,
)
from equilibria.client._errors import EquilibriaError, ServerError, error_from_status
from equilibria.client._types import MarkovSolutionSet, SolutionSet
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2

__all__ = ["BatchItem", "Progress", "batch_requests", "batch_item_from_proto"]

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


def _is_stochastic(game: Any) -> bool:
    return isinstance(game, game_pb2.StochasticGame) or (
        hasattr(game, "rewards") and hasattr(game, "transitions")
    )


def batch_requests(games: Iterable[Any], options: dict[str, Any]) -> Iterator[service_pb2.SolveGamesRequest]:
    """One ``SolveGamesRequest`` per game, built lazily with :func:`solve_request`.

    ``games`` holds anything :meth:`Client.solve` accepts, stochastic games (objects with
    ``rewards`` and ``transitions``, e.g. the solver's ``StochasticGame``) and game
    messages. ``options`` are the keyword arguments of :func:`solve_request`; unknown
    names raise ``ValueError`` before the first game is converted.
    """
    solve_request(game_pb2.NormalFormGame(), **options)  # validates the option names up front
    return _requests(games, options)


def _requests(games: Iterable[Any], options: dict[str, Any]) -> Iterator[service_pb2.SolveGamesRequest]:
    for game in games:
        if _is_stochastic(game):
            message = game if isinstance(game, game_pb2.StochasticGame) else stochastic_game_to_proto(game)
            request = solve_request(message, **{**options, "exact": False})
        else:
            request = solve_request(game, **options)
        yield service_pb2.SolveGamesRequest(request=request)


def batch_item_from_proto(message: service_pb2.SolveGamesResponse, expected_index: int) -> BatchItem:
    """The client's BatchItem from one response of the stream.

    Raises
    ------
    ServerError
        If the server answered out of order (a broken server, never expected).
    """
    if message.index != expected_index:
        raise ServerError(
            f"SolveGames answered item {message.index} where item {expected_index} was due", "INTERNAL"
        )
    if message.status.code != 0:
        return BatchItem(message.index, None, error_from_status(message.status))
    response = message.response
    if response.WhichOneof("result") == "markov_solution_set":
        return BatchItem(message.index, markov_solution_set_from_proto(response.markov_solution_set))
    return BatchItem(message.index, solution_set_from_proto(response.solution_set))
