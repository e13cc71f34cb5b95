"""The ``equilibria.v1.EquilibriaService`` implementation (grpc.aio)."""

from __future__ import annotations

import asyncio
import collections
import importlib.metadata
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
from equilibria.service import batch, convert, trace_convert, worker
from equilibria.service.cache import SolveCache, cut_short_by_the_clock, solve_key
from equilibria.service.dashboard import MonitorRegistry
from equilibria.service.errors import (
    RequestError,
    from_solver_error,
    invalid,
    status_details,
    status_message,
)
from equilibria.service.limits import Limits
from equilibria.service.pool import SolvePool
from equilibria.solver import METHODS, SOLVER_VERSION, STOCHASTIC_METHODS, MarkovSolutionSet
from equilibria.solver.errors import InvalidOptionError, SolverError
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from equilibria.v1 import trace_pb2
from google.protobuf import duration_pb2
from google.rpc import code_pb2, status_pb2

__all__ = ["EquilibriaServicer", "package_version"]

log = logging.getLogger("equilibria.service")

_OK = status_pb2.Status(code=code_pb2.OK)
#: Trailing metadata of SolveGame saying whether the answer came from the solve cache.
CACHE_METADATA_KEY = "x-equilibria-cache"


def package_version() -> str:
    """Version of the installed equilibria distribution."""
    try:
        return importlib.metadata.version("equilibria")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


async def abort(context: grpc.aio.ServicerContext, error: RequestError) -> NoReturn:
    """End the call with ``error``'s status, message and BadRequest details."""
    await context.abort(
        error.code,
        error.wire_message,
        trailing_metadata=(("grpc-status-details-bin", status_details(error)),),
    )
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


def _game_label(game: Any) -> str:
    """A short name of a game for the dashboard: its kind, action counts and id prefix."""
    actions = "x".join(str(int(k)) for k in game.num_actions)
    states = f", {game.n_states} states" if hasattr(game, "n_states") else ""
    return f"{type(game).__name__} {actions}{states} ({game.id[:12]})"


class EquilibriaServicer(service_grpc.EquilibriaServiceServicer):
    """Solves games in a worker pool; maps every known failure to a status code."""

    def __init__(
        self,
        pool: SolvePool,
        limits: Limits,
        monitors: MonitorRegistry | None = None,
        batch_runner: Any = None,
    ) -> None:
        self._pool = pool
        self._limits = limits
        # Running MonitorTrace scores for the dashboard (None: not published).
        self._monitors = monitors
        # What runs SolveGames items: the pool, or a RayRunner (serve --ray-address).
        self._batch_runner = batch_runner or pool
        #: Random id of this server process (GetServerInfo): which replica answered.
        self.instance_id = uuid.uuid4().hex
        # game id -> (game, its Nash solution set): what trace headers may refer to by id.
        self._recent: collections.OrderedDict[str, tuple[Any, Any]] = collections.OrderedDict()
        # solve key -> (solution set, serialized SolveGameResponse): see service/cache.py.
        self.cache: SolveCache[tuple[Any, bytes]] = SolveCache(limits.cache_entries, limits.cache_bytes)

    def _remember(self, game: Any, result: Any) -> None:
        if "nash" not in result.concepts:
            return
        self._recent[game.id] = (game, result)
        self._recent.move_to_end(game.id)
        while len(self._recent) > self._limits.recent_games:
            self._recent.popitem(last=False)

    def _budget(self, requested: float | None, context: grpc.aio.ServicerContext) -> float:
        budget = self._limits.max_time_budget
        if requested is not None:
            budget = min(budget, requested)
        remaining = context.time_remaining()
        if remaining is not None:
            budget = min(budget, remaining)
        return max(budget, 1e-3)

    async def _solve(
        self,
        request: service_pb2.SolveGameRequest,
        context: grpc.aio.ServicerContext,
        run: Callable[..., Awaitable[Any]] | None = None,
    ) -> service_pb2.SolveGameResponse:
        """Solve one request in the pool; every known failure becomes a :class:`RequestError`.

        The one path every solving RPC takes (``SolveGame`` and each item of a batch);
        ``run`` replaces the pool's ``run`` (Ray dispatch of batch items). Answers go
        through the solve cache (keyed by game content, options and solver version;
        answers cut short by the clock are not stored); ``from_cache`` says whether this
        one was a cache hit.
        """
        try:
            game, options = convert.solve_request_from_proto(request, self._limits)

            async def solve() -> tuple[tuple[Any, bytes], int, bool]:
                budget = self._budget(options.time_budget, context)
                result = await (run or self._pool.run)(
                    worker.solve_game, game, options, budget, timeout=budget
                )
                if isinstance(result, MarkovSolutionSet):
                    response = service_pb2.SolveGameResponse(
                        markov_solution_set=convert.markov_solution_set_to_proto(result)
                    )
                else:
                    response = service_pb2.SolveGameResponse(
                        solution_set=convert.solution_set_to_proto(result)
                    )
                answer = response.SerializeToString()
                return (result, answer), len(answer), not cut_short_by_the_clock(result)

            key = solve_key(game.id, options, SOLVER_VERSION)
            (result, answer), from_cache = await self.cache.get_or_compute(key, solve)
            self._remember(game, result)
            response = service_pb2.SolveGameResponse.FromString(answer)
            response.from_cache = from_cache
            return response
        except RequestError:
            raise
        except SolverError as exc:
            raise from_solver_error(exc, request.WhichOneof("game") or "normal_form_game") from exc
        except MemoryError as exc:
            raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, "the solve ran out of memory") from exc
        except Exception as exc:
            log.exception("solve failed")
            raise RequestError(
                grpc.StatusCode.INTERNAL, "internal error while solving; see server log"
            ) from exc

    async def SolveGame(
        self, request: service_pb2.SolveGameRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.SolveGameResponse:
        try:
            response = await self._solve(request, context)
            context.set_trailing_metadata(((CACHE_METADATA_KEY, "hit" if response.from_cache else "miss"),))
            return response
        except RequestError as error:
            log.info("SolveGame -> %s: %s", error.code.name, error.message)
            await abort(context, error)

    async def SolveGames(
        self,
        request_iterator: AsyncIterator[service_pb2.SolveGamesRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[service_pb2.SolveGamesResponse]:
        """Solve each item through :meth:`_solve`; answer in request order, each with its status.

        Up to the runner's worker count of items run at once; the stream is read only
        as far as ``workers + min(max_queue, 8 * workers)`` items ahead of the answer
        being sent, so a long stream is never held in memory.
        """
        runner = self._batch_runner
        concurrency = max(1, runner.workers)
        read_ahead = concurrency + min(self._limits.max_queue, 8 * concurrency)

        async def solve_item(
            index: int, item: service_pb2.SolveGamesRequest
        ) -> service_pb2.SolveGamesResponse:
            try:
                response = await self._solve(item.request, context, run=runner.run)
            except RequestError as error:
                error.field = f"requests[{index}].{error.field}" if error.field else f"requests[{index}]"
                log.info("SolveGames item %d -> %s: %s", index, error.code.name, error.message)
                return service_pb2.SolveGamesResponse(index=index, status=status_message(error))
            return service_pb2.SolveGamesResponse(index=index, status=_OK, response=response)

        async for response in batch.ordered_window(
            request_iterator, solve_item, concurrency=concurrency, read_ahead=read_ahead
        ):
            yield response

    async def _trace_target(self, message: Any, context: grpc.aio.ServicerContext) -> tuple[Any, Any, Any]:
        """The game, its solution set and the options of a trace stream's first message."""
        if message is None or message.WhichOneof("part") != "header":
            raise invalid("header", "the first message of a trace stream must be its header")
        header = message.header
        which = header.WhichOneof("game")
        options = trace_convert.score_options_from_proto(header.options, limits=self._limits)
        if which == "game_id":
            if header.game_id not in self._recent:
                raise RequestError(
                    grpc.StatusCode.NOT_FOUND,
                    f"no recent solve of game {header.game_id!r} on this server; send the game instead",
                    "header.game_id",
                )
            game, result = self._recent[header.game_id]
            return game, result, options
        if which == "normal_form_game":
            game = convert.normal_form_game_from_proto(
                header.normal_form_game, self._limits, "header.normal_form_game"
            )
        elif which == "stochastic_game":
            game = convert.stochastic_game_from_proto(
                header.stochastic_game, self._limits, "header.stochastic_game"
            )
        else:
            raise invalid(
                "header.game", "the header needs a game: normal_form_game, stochastic_game or game_id"
            )
        tol = convert.check_tolerance(header.tolerance or self._limits.default_tolerance, "header.tolerance")
        solve_options = convert.SolveOptions(
            concepts=("nash",),
            method=header.method or "auto",
            tol=tol,
            exact=False,
            max_equilibria=0,
            time_budget=None,
        )
        budget = self._budget(None, context)
        result = await self._pool.run(worker.solve_game, game, solve_options, budget, timeout=budget)
        self._remember(game, result)
        return game, result, options

    def _solution_fields(self, result: Any) -> dict[str, Any]:
        if isinstance(result, MarkovSolutionSet):
            return {"markov_solution_set": convert.markov_solution_set_to_proto(result)}
        return {"solution_set": convert.solution_set_to_proto(result)}

    async def _scored_chunks(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[tuple[Any, Any, int]]:
        """Consume a trace stream: yields (scorer, solution set, chunk index) after the header and each chunk."""
        from equilibria.solver.trace_scoring import TraceScorer

        first = await anext(aiter(requests), None)
        game, result, options = await self._trace_target(first, context)
        try:
            scorer = TraceScorer(game, result, options)
        except SolverError as exc:
            error = from_solver_error(exc, "header")
            error.field = (
                f"header.options.{exc.field}"
                if isinstance(exc, InvalidOptionError)
                else f"header.{exc.field}"
            )
            raise error from exc
        yield scorer, result, -1
        index = 0
        total = 0  # bytes of chunks so far
        async for message in requests:
            if message.WhichOneof("part") != "chunk":
                raise invalid(f"chunk[{index}]", "every message after the header must be a chunk")
            convert.check_count(index + 1, self._limits.max_trace_chunks, "chunk", "chunks in one stream")
            size = message.ByteSize()
            if size > self._limits.max_trace_chunk_bytes:
                raise RequestError(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"chunk {index} has {size:,} bytes, over the limit of {self._limits.max_trace_chunk_bytes:,}",
                    f"chunk[{index}]",
                )
            total += size
            convert.check_count(
                total, self._limits.max_trace_bytes, f"chunk[{index}]", "bytes of chunks in one stream"
            )
            chunk = trace_convert.trace_chunk_from_proto(
                message.chunk, index, self._limits.max_payoff_entries, self._limits.max_players
            )
            try:
                # Bounded work per call (a chunk of at most 1 MiB): a thread keeps the loop free.
                await asyncio.to_thread(scorer.update, chunk)
            except SolverError as exc:
                raise trace_convert.chunk_error(exc, index) from exc
            yield scorer, result, index
            index += 1

    @staticmethod
    def _trace_error(exc: Exception, method: str) -> RequestError:
        """The status a failed trace stream ends with."""
        if isinstance(exc, RequestError):
            return exc
        if isinstance(exc, SolverError):
            return from_solver_error(exc, "header")
        log.exception("%s failed", method)
        return RequestError(grpc.StatusCode.INTERNAL, "internal error while scoring; see server log")

    async def _fail(self, exc: Exception, context: grpc.aio.ServicerContext, method: str) -> NoReturn:
        error = self._trace_error(exc, method)
        log.info("%s -> %s: %s", method, error.code.name, error.message)
        await abort(context, error)

    async def ScoreTrace(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> trace_pb2.ScoreTraceResponse:
        try:
            state = None
            async for state in self._scored_chunks(request_iterator, context):  # noqa: B007 - the last one counts
                pass
            if state is None:  # pragma: no cover - _scored_chunks yields after the header or raises
                raise invalid("header", "empty trace stream")
            scorer, result, _ = state
            score = await asyncio.to_thread(scorer.result)
            return trace_pb2.ScoreTraceResponse(
                score=trace_convert.trace_score_to_proto(score), **self._solution_fields(result)
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            await self._fail(exc, context, "ScoreTrace")

    async def MonitorTrace(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[trace_pb2.MonitorTraceResponse]:
        monitors, stream_id, status = self._monitors, None, "cancelled"
        try:
            async for scorer, result, index in self._scored_chunks(request_iterator, context):
                if index < 0:
                    if monitors is not None:
                        stream_id = monitors.open(context.peer(), _game_label(scorer.game))
                    continue
                score = await asyncio.to_thread(scorer.result)
                if monitors is not None and stream_id is not None:
                    monitors.publish(stream_id, score)
                extra = self._solution_fields(result) if index == 0 else {}
                yield trace_pb2.MonitorTraceResponse(score=trace_convert.trace_score_to_proto(score), **extra)
            status = "ok"
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            error = self._trace_error(exc, "MonitorTrace")
            status = error.code.name
            if monitors is not None and stream_id is not None:
                # Listed as failed before the caller hears of it: a dashboard polled right
                # after the error never shows the stream as still running.
                monitors.close(stream_id, status)
                stream_id = None
            await self._fail(error, context, "MonitorTrace")
        finally:
            if monitors is not None and stream_id is not None:
                monitors.close(stream_id, status)

    async def GetServerInfo(
        self, request: service_pb2.GetServerInfoRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.GetServerInfoResponse:
        limits = self._limits
        budget = duration_pb2.Duration()
        budget.FromNanoseconds(int(limits.max_time_budget * 1e9))
        return service_pb2.GetServerInfoResponse(
            version=package_version(),
            solver_version=SOLVER_VERSION,
            limits=service_pb2.ServerLimits(
                max_message_bytes=limits.max_message_bytes,
                max_payoff_entries=limits.max_payoff_entries,
                max_players=limits.max_players,
                max_time_budget=budget,
                workers=self._pool.workers,
                max_transition_entries=limits.max_transition_entries,
                cache_entries=self.cache.max_entries if self.cache.enabled else 0,
                cache_bytes=self.cache.max_bytes if self.cache.enabled else 0,
                worker_memory_bytes=self._pool.memory_bytes,
                max_trace_bytes=limits.max_trace_bytes,
            ),
            instance_id=self.instance_id,
            methods=[
                service_pb2.MethodInfo(
                    name=spec.name,
                    description=spec.description,
                    complete=spec.complete,
                    min_players=spec.min_players,
                    max_players=spec.max_players,
                )
                for spec in METHODS.values()
            ]
            + [
                service_pb2.MethodInfo(
                    name=name,
                    description=description,
                    complete=False,
                    min_players=2,
                    max_players=limits.max_players,
                )
                for name, description in STOCHASTIC_METHODS.items()
            ],
        )
