"""The ``equilibria.v1.EquilibriaService`` implementation (grpc.aio)."""

from __future__ import annotations

import asyncio
import collections
import importlib.metadata
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NamedTuple, NoReturn

import grpc
from equilibria.service import batch, convert, worker
from equilibria.service.cache import SolveCache, cut_short_by_the_clock, solve_key
from equilibria.service.dashboard import MonitorRegistry
from equilibria.service.errors import RequestError, abort_call, from_solver_error, invalid, quoted
from equilibria.service.limits import Limits
from equilibria.service.payoff_stream import payoff_stream
from equilibria.service.pool import SolvePool
from equilibria.service.trace_budget import DECODE_COPIES, StreamBudget, TraceAdmission
from equilibria.solver import SOLVER_VERSION
from equilibria.solver.errors import InvalidOptionError, SolverError
from equilibria.solver.traces.memory import MemoryBound, trace_memory_bound
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc

__all__ = ["EquilibriaServicer", "Solved", "package_version"]

log = logging.getLogger("equilibria.service")

#: Trailing metadata of SolveGame saying whether the answer came from the solve cache.
CACHE_METADATA_KEY = "x-equilibria-cache"
#: The header field to blame for each input a memory term grows with ("game" and the
#: rest: the header's game field).
_MEMORY_FIELDS = {
    "max_histories": "header.options.max_histories",
    "joint_concept": "header.options.joint_concept",
    "n_checkpoints": "header.options.checkpoints",
}


def package_version() -> str:
    """Version of the installed equilibria distribution."""
    try:
        return importlib.metadata.version("equilibria")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


async def abort(context: grpc.aio.ServicerContext, error: RequestError) -> NoReturn:
    """End the call with ``error``'s status, message and BadRequest details (:func:`abort_call`)."""
    await abort_call(context, error)


class _BatchItem(NamedTuple):
    """A SolveGames item: its request, its game and options when they convert (else None;
    the error is reported when the item is solved alone), whether it is a small game, and
    where it stands in its message: whether that message packed several (``requests``; the
    answers then go back packed) and whether it is the message's last item."""

    request: Any
    converted: tuple[Any, Any] | None
    small: bool
    packed: bool = False
    last: bool = True


class Solved(NamedTuple):
    """A SolveGame answer and whether it came from the solve cache."""

    response: Any
    from_cache: bool


def _game_label(game: Any) -> str:
    """A short name of a game for the dashboard: its kind, action counts and id prefix."""
    actions = "x".join(str(int(k)) for k in game.num_actions)
    states = f", {game.n_states} states" if hasattr(game, "n_states") else ""
    return f"{type(game).__name__} {actions}{states} ({game.id[:12]})"


def _check_rows(scorer: Any) -> None:
    """Refuse a trace stream that ended without a row: a score of nothing is no score."""
    if not any(scorer.z.values()):
        raise invalid(
            "chunk",
            "the trace stream carried no rows: send chunks with policies, joint_actions or returns after the header",
        )


def _trace_result(scorer: Any) -> Any:
    """The scorer's result; an option it refuses there (``credit_assignment`` requested of a
    trace without policies) is named as the header's option, ``header.options.<field>``."""
    try:
        return scorer.result()
    except InvalidOptionError as exc:
        error = from_solver_error(exc, "header")
        error.field = f"header.options.{exc.field}"
        raise error from exc


def _message_items(message: Any) -> Iterator[tuple[Any, bool, bool]]:
    """The items of one SolveGames message: ``(request, packed, last)`` for ``request``
    when set, then each of ``requests`` (a message with neither: one item without a game)."""
    count = len(message.requests)  # read one by one: a message may pack very many
    if message.HasField("request") or not count:
        yield message.request, count > 0, not count
    for position, request in enumerate(message.requests, 1):
        yield request, True, position == count


#: Bytes of answers a packed SolveGames response holds before it is sent (a larger single
#: answer goes alone).
PACKED_ANSWER_BYTES = 1 << 20


async def _packed_answers(answered: AsyncIterator[list[tuple[_BatchItem, Any]]]) -> AsyncIterator[Any]:
    """The SolveGames responses of the items' answers, in order: an item sent alone is
    answered alone; the answers of a packed message go together in ``answers``, sent at
    the message's last item or when they reach :data:`PACKED_ANSWER_BYTES`."""
    pending: list[Any] = []
    size = 0
    async for answers in answered:
        for item, answer in answers:
            if not item.packed:
                yield answer
                continue
            pending.append(answer)
            size += answer.ByteSize()
            if item.last or size >= PACKED_ANSWER_BYTES:
                yield convert.batch_answers(pending)
                pending, size = [], 0


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
        self.cache: SolveCache[tuple[Any, bytes | None]] = SolveCache(
            limits.cache_entries, limits.cache_bytes
        )
        #: Open trace streams and their reserved memory (see service/trace_budget.py).
        self.traces = TraceAdmission(
            limits.max_trace_streams, limits.max_trace_memory_bytes, limits.max_stream_memory_bytes
        )

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
        request: Any,
        context: grpc.aio.ServicerContext,
        run: Callable[..., Awaitable[Any]] | None = None,
        converted: tuple[Any, Any] | None = None,
    ) -> Solved:
        """Solve one SolveGameRequest in the pool; every known failure becomes a :class:`RequestError`.

        The one path every solving RPC takes (``SolveGame`` and each item of a batch);
        ``run`` replaces the pool's ``run`` (Ray dispatch of batch items); ``converted`` is
        the request's ``(game, options)`` when the caller has converted it already. Answers go
        through the solve cache (keyed by game content, options and solver version;
        answers cut short by the clock are not stored). The cache holds each answer
        serialized once; the solve that computed it returns the message it built, and
        only a cache hit parses the stored bytes.
        """
        try:
            game, options = converted or convert.solve_request_from_proto(request, self._limits)
            built = None

            async def solve() -> tuple[tuple[Any, bytes | None], int, bool]:
                nonlocal built
                budget = self._budget(options.time_budget, context)
                result = await (run or self._pool.run)(
                    worker.solve_game,
                    game,
                    options,
                    budget,
                    timeout=budget,
                    cost=self._pool.costs.estimate(game, options, budget),
                    deadline=context.time_remaining(),
                )
                built, answer, cacheable = self._answer(result)
                return (result, answer), len(answer or b""), cacheable

            key = solve_key(game.id, options, SOLVER_VERSION)
            stored, from_cache = await self.cache.get_or_compute(key, solve)
            if from_cache or built is None:
                return Solved(self._from_cache(game, stored), True)
            self._remember(game, stored[0])
            return Solved(built, False)
        except RequestError:
            raise
        except Exception as exc:
            raise self._solve_failure(exc, request) from exc

    def _answer(self, result: Any) -> tuple[Any, bytes | None, bool]:
        """A solve's response message, its serialization when the cache will keep it (None
        otherwise: neither stored nor shared, so no bytes are needed), and whether it may be
        cached (answers cut short by the clock may not)."""
        response = convert.solve_response(result)
        cacheable = not cut_short_by_the_clock(result)
        answer = response.SerializeToString() if cacheable and self.cache.enabled else None
        return response, answer, cacheable

    def _from_cache(self, game: Any, stored: tuple[Any, bytes | None]) -> Any:
        """The response of a cached (or shared) answer; its game is remembered for traces."""
        result, answer = stored
        if answer is None:  # pragma: no cover - only cacheable answers are stored or shared
            raise AssertionError("a cached solve answer without its serialization")
        self._remember(game, result)
        return convert.cached_solve_response(answer)

    @staticmethod
    def _solve_failure(exc: BaseException, request: Any) -> RequestError:
        """The RequestError of a solve that raised ``exc`` (a solver error names its field)."""
        if isinstance(exc, RequestError):
            return exc
        if isinstance(exc, SolverError):
            return from_solver_error(exc, convert.request_game_field(request))
        if isinstance(exc, MemoryError):
            return RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, "the solve ran out of memory")
        log.error("solve failed", exc_info=exc)
        return RequestError(grpc.StatusCode.INTERNAL, "internal error while solving; see server log")

    async def SolveGame(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            solved = await self._solve(request, context)
            context.set_trailing_metadata(((CACHE_METADATA_KEY, "hit" if solved.from_cache else "miss"),))
            return solved.response
        except RequestError as error:
            log.info("SolveGame -> %s: %s", error.code.name, error.wire_message)
            await abort(context, error)

    async def SolveGames(
        self,
        request_iterator: AsyncIterator[Any],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[Any]:
        """Solve each item through :meth:`_solve`; answer in request order, each with its status.

        Small 2-player games that have arrived together (up to :data:`batch.CHUNK`) go to
        one worker task (:meth:`_solve_packed`): dispatching a task costs more than
        solving such a game. Up to the runner's worker count of tasks run at once; the
        stream is read only as far as ``workers + min(max_queue, 8 * workers)`` tasks ahead
        of the answer being sent, so a long stream is never held in memory. The items of
        a message that packs several (``requests``) are answered packed
        (:func:`_packed_answers`).
        """
        runner = self._batch_runner
        concurrency = max(1, runner.workers)
        read_ahead = concurrency + min(self._limits.max_queue, 8 * concurrency)

        async def solve_item(index: int, item: _BatchItem) -> Any:
            try:
                solved = await self._solve(item.request, context, run=runner.run, converted=item.converted)
            except RequestError as error:
                return self._item_failure(index, error)
            return convert.batch_item_response(index, solved.response)

        async def classified() -> AsyncIterator[_BatchItem]:
            async for message in request_iterator:
                for request, packed, last in _message_items(message):
                    yield self._batch_item(request)._replace(packed=packed, last=last)

        async def solve_group(_: int, group: list[tuple[int, _BatchItem]]) -> list[tuple[_BatchItem, Any]]:
            if len(group) == 1:
                index, item = group[0]
                return [(item, await solve_item(index, item))]
            answers = await self._solve_packed(group, context, solve_item)
            return [(item, answer) for (_, item), answer in zip(group, answers, strict=True)]

        groups = batch.grouped(classified(), lambda item: item.small, batch.CHUNK)
        answered = batch.ordered_window(groups, solve_group, concurrency=concurrency, read_ahead=read_ahead)
        async for response in _packed_answers(answered):
            yield response

    def _batch_item(self, request: Any) -> _BatchItem:
        """A SolveGames item, converted once (a request that does not convert is reported
        when it is solved alone, by :meth:`_solve`)."""
        try:
            game, options = convert.solve_request_from_proto(request, self._limits)
        except Exception:  # noqa: BLE001 - reported when the item is solved alone
            return _BatchItem(request, None, False)
        return _BatchItem(request, (game, options), batch.is_small(game))

    @staticmethod
    def _item_failure(index: int, error: RequestError) -> Any:
        error.field = f"requests[{index}].{error.field}" if error.field else f"requests[{index}]"
        log.info("SolveGames item %d -> %s: %s", index, error.code.name, error.wire_message)
        return convert.batch_item_failure(index, error)

    async def _solve_packed(
        self,
        group: list[tuple[int, _BatchItem]],
        context: grpc.aio.ServicerContext,
        solve_item: Callable[[int, _BatchItem], Awaitable[Any]],
    ) -> list[Any]:
        """Answers of a group of small games: cached ones from the cache, the others solved
        by one worker task (:func:`worker.solve_games`) and cached as :meth:`_solve` caches.

        A task that fails as a whole (past the smallest budget of its games, a dead
        worker, out of memory, a busy server) is run again game by game through
        :meth:`_solve`, each with its own budget: no game loses its limits or its answer.
        """
        answers: dict[int, Any] = {}
        todo: list[tuple[int, _BatchItem, str]] = []
        for index, item in group:
            game, options = item.converted
            key = solve_key(game.id, options, SOLVER_VERSION)
            cached = self.cache.lookup(key)
            if cached is None:
                todo.append((index, item, key))
                continue
            answers[index] = convert.batch_item_response(index, self._from_cache(game, cached))
        if todo:
            games, options = zip(*(item.converted for _, item, _ in todo), strict=True)
            budgets = [self._budget(item_options.time_budget, context) for item_options in options]
            try:
                outcomes = await self._batch_runner.run(
                    worker.solve_games,
                    list(games),
                    list(options),
                    budgets,
                    timeout=min(budgets),
                    deadline=context.time_remaining(),
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the task as a whole; each game again on its own
                for index, item, _ in todo:
                    answers[index] = await solve_item(index, item)
                return [answers[index] for index, _ in group]
            for (index, item, key), (ok, value) in zip(todo, outcomes, strict=True):
                if not ok:
                    answers[index] = self._item_failure(index, self._solve_failure(value, item.request))
                    continue
                response, answer, _ = self._answer(value)
                if answer is not None:
                    self.cache.put(key, (value, answer), len(answer))
                self._remember(item.converted[0], value)
                answers[index] = convert.batch_item_response(index, response)
        return [answers[index] for index, _ in group]

    async def _next(self, messages: AsyncIterator[Any], waiting_for: str) -> Any | None:
        """The next message of a trace stream (None at its end), or ``DEADLINE_EXCEEDED`` when
        none comes within ``trace_idle_seconds`` (the call's deadline or none)."""
        idle = self._limits.trace_idle_seconds
        try:
            async with asyncio.timeout(idle):
                return await anext(messages)
        except StopAsyncIteration:
            return None
        except TimeoutError as exc:
            raise RequestError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"the trace stream sent nothing for {idle:g} s while the server waited for {waiting_for}; "
                "closed as idle",
                "",
            ) from exc

    def _reserve_header(self, budget: StreamBudget, bound: MemoryBound, game_field: str) -> None:
        """Reserve a header's bound, or refuse it naming the field of its largest term."""
        field = _MEMORY_FIELDS.get(bound.largest.field, game_field)
        budget.reserve(bound, 0, field, "scoring this trace")

    async def _trace_target(
        self, message: Any, context: grpc.aio.ServicerContext, budget: StreamBudget
    ) -> tuple[Any, Any, Any]:
        """The game, its solution set and the options of a trace stream's first message.

        The scorer's worst case for them is reserved from the stream's budget before the
        solve (for a set of one point) and again after it, before anything is allocated.
        """
        target = convert.trace_request_from_proto(message, self._limits)
        game_field = f"header.{message.header.WhichOneof('game')}"
        if target.game is None:
            if target.game_id not in self._recent:
                raise RequestError(
                    grpc.StatusCode.NOT_FOUND,
                    f"no recent solve of game {quoted(target.game_id)} on this server; send the game instead",
                    "header.game_id",
                )
            game, result = self._recent[target.game_id]
        else:
            game = target.game
            self._reserve_header(
                budget, trace_memory_bound(game, None, target.options, chunk_bytes=0), game_field
            )
            seconds = self._budget(None, context)
            result = await self._pool.run(
                worker.solve_game,
                game,
                target.solve_options,
                seconds,
                timeout=seconds,
                cost=self._pool.costs.estimate(game, target.solve_options, seconds),
                deadline=context.time_remaining(),
            )
            self._remember(game, result)
        self._reserve_header(
            budget, trace_memory_bound(game, result, target.options, chunk_bytes=0), game_field
        )
        return game, result, target.options

    def _reserve_chunk(
        self,
        budget: StreamBudget,
        scorer: Any,
        before: MemoryBound,
        after: MemoryBound,
        chunk: Any,
        index: int,
        size: int,
    ) -> None:
        """Reserve what consuming chunk ``index`` may take, or end the stream naming the chunk."""
        field, what, hint = f"chunk[{index}]", f"chunk {index}", ""
        if after.histories > before.histories:
            field = f"{field}.history" if chunk.history is not None else f"{field}.joint_actions"
            what = (
                f"chunk {index} (its new history keys grow the count table to {after.histories:,} histories x "
                f"{after.history_bytes:,} bytes)"
            )
            if after.total + DECODE_COPIES * size > budget.limit:
                fit = scorer.histories_within(budget.limit - DECODE_COPIES * size, chunk_bytes=size)
                hint = (
                    f"; at most {fit:,} history keys fit: coarsen the history keys or leave "
                    "averaged_joint_policy out of the criteria"
                )
        budget.reserve(after, DECODE_COPIES * size, field, what, hint)

    async def _scored_chunks(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext, budget: StreamBudget
    ) -> AsyncIterator[tuple[Any, Any, int]]:
        """Consume a trace stream: yields (scorer, solution set, chunk index) after the header and each chunk.

        The stream is admitted when its header arrives and every allocation is reserved
        from ``budget`` first; the caller releases it however the stream ends.
        """
        from equilibria.solver.traces import TraceScorer

        messages = aiter(requests)
        first = await self._next(messages, "the header")
        budget.admit()
        game, result, options = await self._trace_target(first, context, budget)
        try:
            scorer = TraceScorer(game, result, options)
        except SolverError as exc:
            error = from_solver_error(exc, "header")
            error.field = (
                f"header.options.{exc.field}"
                if isinstance(exc, InvalidOptionError)
                or exc.field == "criteria"  # credit_assignment too large
                else f"header.{exc.field}"
            )
            raise error from exc
        yield scorer, result, -1
        index = 0
        total = 0  # bytes of chunks so far
        bound = scorer.memory_bound(chunk_bytes=0)
        while (message := await self._next(messages, f"chunk {index} or the end of the stream")) is not None:
            decoded = convert.stream_chunk_from_proto(message, index, total, self._limits)
            total += decoded.size
            after = await asyncio.to_thread(scorer.memory_bound, decoded.chunk, chunk_bytes=decoded.size)
            self._reserve_chunk(budget, scorer, bound, after, decoded.chunk, index, decoded.size)
            bound = after
            try:
                # Bounded work per call (a chunk of at most 1 MiB): a thread keeps the loop free.
                await asyncio.to_thread(scorer.update, decoded.chunk)
            except SolverError as exc:
                raise convert.chunk_error(exc, index) from exc
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
        log.info("%s -> %s: %s", method, error.code.name, error.wire_message)
        await abort(context, error)

    async def ScoreTrace(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> Any:
        budget = self.traces.stream()
        try:
            state = None
            async for state in self._scored_chunks(request_iterator, context, budget):  # noqa: B007 - the last one counts
                pass
            if state is None:  # pragma: no cover - _scored_chunks yields after the header or raises
                raise invalid("header", "empty trace stream")
            scorer, result, _ = state
            _check_rows(scorer)
            score = await asyncio.to_thread(_trace_result, scorer)
            return convert.score_trace_response(score, result)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            budget.release()  # before the caller hears of the failure: a retry is admitted
            await self._fail(exc, context, "ScoreTrace")
        finally:
            budget.release()  # answered, failed, cancelled or idle: the memory goes back to the pool

    async def MonitorTrace(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        monitors, stream_id, status = self._monitors, None, "cancelled"
        budget = self.traces.stream()
        try:
            scorer, sent_set = None, False
            async for scorer, result, index in self._scored_chunks(request_iterator, context, budget):
                if index < 0:
                    if monitors is not None:
                        stream_id = monitors.open(context.peer(), _game_label(scorer.game))
                    continue
                if not any(scorer.z.values()):
                    continue  # no rows yet: nothing to score
                score = await asyncio.to_thread(_trace_result, scorer)
                if monitors is not None and stream_id is not None:
                    monitors.publish(stream_id, score)
                yield convert.monitor_trace_response(score, None if sent_set else result)
                sent_set = True
            if scorer is not None:
                _check_rows(scorer)
            status = "ok"
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            error = self._trace_error(exc, "MonitorTrace")
            status = error.code.name
            budget.release()  # before the caller hears of the failure: a retry is admitted
            if monitors is not None and stream_id is not None:
                # Listed as failed before the caller hears of it: a dashboard polled right
                # after the error never shows the stream as still running.
                monitors.close(stream_id, status)
                stream_id = None
            await self._fail(error, context, "MonitorTrace")
        finally:
            budget.release()
            if monitors is not None and stream_id is not None:
                monitors.close(stream_id, status)

    async def SamplePayoffs(
        self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        """Accumulate a PSRO loop's returns and analyse the game of their means
        (:func:`equilibria.service.payoff_stream.payoff_stream`)."""

        async def solve(request: Any, converted: tuple[Any, Any]) -> Solved:
            return await self._solve(request, context, converted=converted)

        budget = self.traces.stream()
        try:
            async for response in payoff_stream(
                request_iterator, limits=self._limits, budget=budget, next_message=self._next, solve=solve
            ):
                yield response
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            budget.release()  # before the caller hears of the failure: a retry is admitted
            await self._fail(exc, context, "SamplePayoffs")
        finally:
            budget.release()  # answered, failed, cancelled or idle: the memory goes back to the pool

    async def GetServerInfo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return convert.server_info_response(
            version=package_version(),
            solver_version=SOLVER_VERSION,
            limits=self._limits,
            workers=self._pool.workers,
            worker_memory_bytes=self._pool.memory_bytes,
            cache_entries=self.cache.max_entries if self.cache.enabled else 0,
            cache_bytes=self.cache.max_bytes if self.cache.enabled else 0,
            instance_id=self.instance_id,
        )
