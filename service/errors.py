"""Request errors and their mapping to gRPC status with rich details.

Every failure the service knows about becomes a status code with a clear message;
invalid input carries ``google.rpc.BadRequest`` field violations naming the offending
request field (``normal_form_game.payoffs``, ``method``, ...), so no known failure
ever reaches a client as ``UNKNOWN``.

A message never carries more than a short prefix of a caller's string: messages quote
one through :func:`quoted` (re-exported from :mod:`equilibria.solver.errors`, whose
messages the service passes through), and :attr:`RequestError.wire_message`, what is
sent and logged, is cut to :data:`MAX_MESSAGE_BYTES` besides.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
from equilibria.solver import errors as solver_errors
from equilibria.solver.errors import quoted
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

__all__ = [
    "MalformedRequestInterceptor",
    "RequestError",
    "abort_call",
    "from_solver_error",
    "quoted",
    "status_details",
    "status_message",
]

#: Solver fields that live inside the game message of a request.
_GAME_FIELDS = (
    "payoffs",
    "player_names",
    "action_names",
    "strategies",
    "title",
    "rewards",
    "transitions",
    "discount",
    "horizon",
    "initial_distribution",
    "action_counts",
    "standard_errors",
)
#: Longest status message sent (UTF-8 bytes). The message travels twice in the trailers
#: (grpc-message, percent-encoded, and in the base64 Status details), so with a long
#: field name the trailers stay under the 8 KiB metadata limit of a default client.
MAX_MESSAGE_BYTES = 1024
#: Solver option names that differ from their request field.
_OPTION_FIELDS = {
    "welfare": "welfare_functions",
    "selection": "selection_criteria",
    "priors": "homotopy_priors",
    "noisy_equilibria.standard_errors": "standard_errors",
}
#: Solver option groups named after their concept -> the request field that holds them.
_OPTION_GROUPS = {"replicator_dynamics": "dynamics", "noisy_equilibria": "noise"}


def request_field(solver_field: str) -> str:
    """The request field of a solver error's field (outside the game's fields).

    Examples
    --------
    >>> request_field("replicator_dynamics.starts[2]"), request_field("welfare")
    ('dynamics.starts[2]', 'welfare_functions')
    """
    field = _OPTION_FIELDS.get(solver_field, solver_field)
    group, dot, rest = field.partition(".")
    return f"{_OPTION_GROUPS[group]}.{rest}" if dot and group in _OPTION_GROUPS else field


@dataclasses.dataclass
class RequestError(Exception):
    """A failure to report to the caller as a gRPC status.

    Attributes
    ----------
    code : grpc.StatusCode
    message : str
    field : str
        The offending request field (empty when no field is at fault).
    retry_after : float or None
        Seconds after which a retry may succeed (sent as ``google.rpc.RetryInfo``).
    """

    code: grpc.StatusCode
    message: str
    field: str = ""
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.wire_message

    @property
    def wire_message(self) -> str:
        """The message cut to :data:`MAX_MESSAGE_BYTES` of UTF-8, as it is sent.

        A message quoting a client's oversized value must not overflow the client's
        metadata limit (8 KiB by default), which would turn the answer into ``INTERNAL``.
        """
        encoded = self.message.encode()
        if len(encoded) <= MAX_MESSAGE_BYTES:
            return self.message
        return encoded[: MAX_MESSAGE_BYTES - 20].decode(errors="ignore") + " ... (truncated)"


def invalid(field: str, message: str) -> RequestError:
    """An ``INVALID_ARGUMENT`` naming ``field``."""
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message, field)


def from_solver_error(exc: solver_errors.SolverError, game_field: str) -> RequestError:
    """Map a solver exception to a request error, translating its field to the proto path."""
    field = request_field(exc.field)
    if field.split(".")[0].split("[")[0] in _GAME_FIELDS:
        field = f"{game_field}.{field}"
    if isinstance(exc, solver_errors.ProblemTooLargeError):
        return RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, exc.message, field)
    if isinstance(exc, solver_errors.MissingDependencyError):  # the server's installation, not the request
        return RequestError(grpc.StatusCode.FAILED_PRECONDITION, exc.message, field)
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, exc.message, field)


def status_details(error: RequestError) -> bytes:
    """Serialized ``google.rpc.Status`` for the ``grpc-status-details-bin`` trailer."""
    return status_message(error).SerializeToString()


def status_message(error: RequestError) -> status_pb2.Status:
    """The ``google.rpc.Status`` of ``error``: code, message and a BadRequest naming its field."""
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.wire_message)
    if error.field:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=error.field, description=error.wire_message
                    )
                ]
            )
        )
        status.details.append(detail)
    if error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(datetime.timedelta(seconds=max(0.0, error.retry_after)))
        retry = any_pb2.Any()
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        status.details.append(retry)
    return status


async def abort_call(context: grpc.aio.ServicerContext, error: RequestError) -> NoReturn:
    """End a call with ``error``'s status, (bounded) message and BadRequest details.

    grpc keeps the exception ``context.abort`` raises in the call's state, and that
    exception's traceback holds the frames it passed through, whose locals hold the
    request: a reference cycle only the cyclic garbage collector frees, so every aborted
    call would keep its request (a 60 MB string: about 120 MB) alive until the next
    collection. When the call is done, :func:`_release` cuts the tracebacks of the
    exception and of every exception chained to it, which frees the frames.
    """
    try:
        await context.abort(
            error.code,
            error.wire_message,
            trailing_metadata=(("grpc-status-details-bin", status_details(error)),),
        )
    except BaseException as exc:
        context.add_done_callback(functools.partial(_release, exc))
        raise
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


def _release(exc: BaseException, context: object = None) -> None:
    """Cut the tracebacks (and the chain) of ``exc`` and of every exception chained to it.

    Nothing else refers to those frames once the call is done, so they are freed at once,
    and with them the request their locals hold.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        pending += [item.__context__, item.__cause__]
        item.__traceback__ = None
        item.__context__ = item.__cause__ = None


@dataclasses.dataclass(frozen=True)
class _Malformed:
    """What a request that does not parse becomes, instead of an exception inside gRPC."""

    reason: str


def _tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the client's
            return _Malformed(str(exc))

    return parse


def _malformed_error(message: _Malformed, index: int | None = None) -> RequestError:
    where = "the request" if index is None else f"message {index} of the request stream"
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"{where} does not parse: {message.reason}")


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    index = 0
    async for request in requests:
        if isinstance(request, _Malformed):
            raise _malformed_error(request, index)
        yield request
        index += 1


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """Answer requests whose bytes do not parse with ``INVALID_ARGUMENT``.

    Left to itself, grpc.aio answers a unary request that fails to deserialize with
    ``UNKNOWN`` and surfaces a bad message of a request stream as an exception inside
    the handler. This interceptor makes every method's deserializer total (a parse
    failure becomes a marker) and ends such calls with ``INVALID_ARGUMENT`` saying why.
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        replaced: dict[str, Any] = {"request_deserializer": _tolerant(handler.request_deserializer)}
        if handler.unary_unary is not None:
            replaced["unary_unary"] = _unary_unary(handler.unary_unary)
        elif handler.unary_stream is not None:
            replaced["unary_stream"] = _unary_stream(handler.unary_stream)
        elif handler.stream_unary is not None:
            replaced["stream_unary"] = _stream_unary(handler.stream_unary)
        elif handler.stream_stream is not None:
            replaced["stream_stream"] = _stream_stream(handler.stream_stream)
        return handler._replace(**replaced)  # type: ignore[attr-defined, no-any-return]


def _unary_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, _Malformed):
            await abort_call(context, _malformed_error(request))
        return await behavior(request, context)

    return handle


def _unary_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if isinstance(request, _Malformed):
            await abort_call(context, _malformed_error(request))
        result = behavior(request, context)
        if inspect.isasyncgen(result):
            async for response in result:
                yield response
        else:  # a handler writing with context.write
            await result

    return handle


def _stream_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def handle(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(_checked(requests), context)
        except RequestError as error:  # a handler that does not map errors itself
            await abort_call(context, error)

    return handle


def _stream_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def handle(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            result = behavior(_checked(requests), context)
            if inspect.isasyncgen(result):
                async for response in result:
                    yield response
            else:
                await result
        except RequestError as error:
            await abort_call(context, error)

    return handle
