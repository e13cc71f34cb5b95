"""``Client`` (blocking) and ``AsyncClient`` (asyncio): the SDK's front door."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
from equilibria.client._convert import server_info_from_proto, solution_set_from_proto, solve_request
from equilibria.client._errors import map_rpc_error
from equilibria.client._retry import RetryConfig
from equilibria.client._types import ServerInfo, SolutionSet
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["Client", "AsyncClient", "DEFAULT_TARGET"]

DEFAULT_TARGET = "localhost:50051"
_DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024
T = TypeVar("T")


def _channel_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.enable_retries", 0),  # the client's own RetryConfig decides
    ]


class Client:
    """A blocking client of an equilibria server.

    Create it with :meth:`connect`; use it as a context manager to close the channel.

    Examples
    --------
    >>> from equilibria.client import Client
    >>> with Client.connect("localhost:50051") as client:  # doctest: +SKIP
    ...     result = client.solve(([[3, 0], [5, 1]], [[3, 5], [0, 1]]))
    ...     result.equilibria[0].strategies
    (array([0., 1.]), array([0., 1.]))
    """

    def __init__(self, channel: grpc.Channel, *, timeout: float | None, retry: RetryConfig) -> None:
        self._channel = channel
        self._stub = service_grpc.EquilibriaServiceStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self.timeout = timeout
        self.retry = retry

    @classmethod
    def connect(
        cls,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float | None = 60.0,
        retry: RetryConfig | None = None,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE,
    ) -> Client:
        """Open a channel to ``target`` (``host:port``, or any gRPC target such as ``dns:///``).

        Parameters
        ----------
        target : str
        timeout : float or None
            Default deadline of each call attempt, in seconds (None: none).
        retry : RetryConfig, optional
            Retry policy for UNAVAILABLE.
        max_message_bytes : int
            Largest message sent or received.
        """
        channel = grpc.insecure_channel(target, options=_channel_options(max_message_bytes))
        return cls(channel, timeout=timeout, retry=retry or RetryConfig())

    def _call(self, method: Callable[..., T], request: Any, timeout: float | None) -> T:
        attempt = 1
        while True:
            try:
                return method(request, timeout=self.timeout if timeout is None else timeout)
            except grpc.RpcError as exc:
                if not self.retry.should_retry(exc.code(), attempt):  # type: ignore[attr-defined]
                    raise map_rpc_error(exc) from exc
            time.sleep(self.retry.delay(attempt))
            attempt += 1

    def solve(
        self,
        game: Any,
        *,
        concepts: Iterable[str] = ("nash",),
        method: str = "auto",
        tolerance: float = 0.0,
        exact: bool = False,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] = (),
        disagreement: Sequence[float] | None = None,
        selection: Iterable[str] = (),
    ) -> SolutionSet:
        """Solve a game on the server.

        Parameters
        ----------
        game : array_like, pair of matrices, or NormalFormGame
            A payoff tensor ``(n_players, a_1, ..., a_n)``, a pair ``(A, B)``, a single
            matrix ``A`` (zero-sum), or an object with ``payoffs``.
        concepts : iterable of str
            Solution concepts: "nash", "pure_nash", "pareto_nash", "welfare_nash",
            "correlated", "coarse_correlated", "zero_sum_value", "selection".
        method : str
            A server method name (see :meth:`server_info`) or "auto".
        tolerance : float
            0 for the server default.
        exact : bool
            Ask for exact rational output (small rational 2-player games).
        max_equilibria : int
            Stop after this many (0: all).
        time_budget : float, optional
            Server-side budget in seconds; the solve's worker is killed past it.
        timeout : float, optional
            Deadline of this call (default: the client's).
        welfare : iterable of str
            Welfare functions for "welfare_nash" and the correlated concepts:
            "utilitarian" (default), "egalitarian", "nash_product".
        disagreement : sequence of float, optional
            Disagreement point of the Nash product (default: maximin values).
        selection : iterable of str
            Criteria for "selection": "payoff_dominance", "risk_dominance",
            "logit_limit" (default: all).

        Returns
        -------
        SolutionSet

        Raises
        ------
        InvalidArgumentError, InvalidGameError, ResourceExhaustedError, SolveTimeoutError,
        ServiceUnavailableError, ServerError
        """
        request = solve_request(
            game,
            concepts=concepts,
            method=method,
            tolerance=tolerance,
            exact=exact,
            max_equilibria=max_equilibria,
            time_budget=time_budget,
            welfare=welfare,
            disagreement=disagreement,
            selection=selection,
        )
        response: service_pb2.SolveGameResponse = self._call(self._stub.SolveGame, request, timeout)
        return solution_set_from_proto(response.solution_set)

    def server_info(self, *, timeout: float | None = None) -> ServerInfo:
        """Version, limits and methods of the server."""
        response = self._call(self._stub.GetServerInfo, service_pb2.GetServerInfoRequest(), timeout)
        return server_info_from_proto(response)

    def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The server's health status name ("SERVING", "NOT_SERVING", ...)."""
        response = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """The asyncio twin of :class:`Client`: same methods, awaited.

    Examples
    --------
    >>> async def main():  # doctest: +SKIP
    ...     async with AsyncClient.connect("localhost:50051") as client:
    ...         return await client.solve([[1, -1], [-1, 1]])
    """

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float | None, retry: RetryConfig) -> None:
        self._channel = channel
        self._stub = service_grpc.EquilibriaServiceStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self.timeout = timeout
        self.retry = retry

    @classmethod
    def connect(
        cls,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float | None = 60.0,
        retry: RetryConfig | None = None,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE,
    ) -> AsyncClient:
        """Open an asyncio channel to ``target``; see :meth:`Client.connect`."""
        channel = grpc.aio.insecure_channel(target, options=_channel_options(max_message_bytes))
        return cls(channel, timeout=timeout, retry=retry or RetryConfig())

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any, timeout: float | None) -> T:
        attempt = 1
        while True:
            try:
                return await method(request, timeout=self.timeout if timeout is None else timeout)
            except grpc.RpcError as exc:
                if not self.retry.should_retry(exc.code(), attempt):  # type: ignore[attr-defined]
                    raise map_rpc_error(exc) from exc
            await asyncio.sleep(self.retry.delay(attempt))
            attempt += 1

    async def solve(
        self,
        game: Any,
        *,
        concepts: Iterable[str] = ("nash",),
        method: str = "auto",
        tolerance: float = 0.0,
        exact: bool = False,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] = (),
        disagreement: Sequence[float] | None = None,
        selection: Iterable[str] = (),
    ) -> SolutionSet:
        """Solve a game on the server; see :meth:`Client.solve`."""
        request = solve_request(
            game,
            concepts=concepts,
            method=method,
            tolerance=tolerance,
            exact=exact,
            max_equilibria=max_equilibria,
            time_budget=time_budget,
            welfare=welfare,
            disagreement=disagreement,
            selection=selection,
        )
        response: service_pb2.SolveGameResponse = await self._call(self._stub.SolveGame, request, timeout)
        return solution_set_from_proto(response.solution_set)

    async def server_info(self, *, timeout: float | None = None) -> ServerInfo:
        """Version, limits and methods of the server."""
        response = await self._call(self._stub.GetServerInfo, service_pb2.GetServerInfoRequest(), timeout)
        return server_info_from_proto(response)

    async def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The server's health status name."""
        response = await self._call(
            self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout
        )
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
