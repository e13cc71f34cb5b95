"""The observability interceptor: request ids, an access log line and metrics per call.

For every call it takes the request id from the ``x-request-id`` metadata (or makes
one), returns it in the response's initial metadata, binds it to the logs of the call
(:mod:`equilibria.service.logging_setup`), and when the call ends logs one access record
(logger ``equilibria.access``, level INFO, with ``code`` and ``duration_ms``) and records
its status and latency in :class:`~equilibria.service.metrics.ServerMetrics`.
Metadata values other than the request id (tokens among them) are never logged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from equilibria.service.logging_setup import bind_call, unbind_call
from equilibria.service.metrics import ServerMetrics

__all__ = ["ObservabilityInterceptor", "REQUEST_ID_KEY", "method_label"]

REQUEST_ID_KEY = "x-request-id"
#: A request id the caller sent is used only if it looks like one (no log injection).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/-]{1,128}")
_EQUILIBRIA_PREFIX = "/equilibria.v1.EquilibriaService/"

access_log = logging.getLogger("equilibria.access")


def method_label(full_method: str) -> str:
    """``SolveGame`` for the service's own methods, ``grpc.health.v1.Health/Check`` for others."""
    if full_method.startswith(_EQUILIBRIA_PREFIX):
        return full_method[len(_EQUILIBRIA_PREFIX) :]
    return full_method.lstrip("/")


def _request_id(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and _REQUEST_ID.fullmatch(value):
            return value
    return uuid.uuid4().hex


def _code_name(context: grpc.aio.ServicerContext, default: str) -> str:
    code = context.code()
    if code is None:
        return default
    if isinstance(code, grpc.StatusCode):
        return code.name
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), default)


class ObservabilityInterceptor(grpc.aio.ServerInterceptor):
    """Request id, access log and metrics for every call of a ``grpc.aio`` server.

    Parameters
    ----------
    metrics : ServerMetrics or None
        Where to record status and latency (None: logs only).
    """

    def __init__(self, metrics: ServerMetrics | None) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = method_label(handler_call_details.method)
        request_id = _request_id(handler_call_details.invocation_metadata)
        if handler.response_streaming:
            kind = "stream_stream" if handler.request_streaming else "unary_stream"
            wrapped = self._streaming(getattr(handler, kind), method, request_id)
        else:
            kind = "stream_unary" if handler.request_streaming else "unary_unary"
            wrapped = self._unary(getattr(handler, kind), method, request_id)
        return handler._replace(**{kind: wrapped})  # type: ignore[attr-defined]

    def _start(self, method: str, request_id: str) -> tuple[Any, float]:
        return bind_call(request_id, method), time.perf_counter()

    def _finish(self, token: Any, started: float, method: str, code: str) -> None:
        seconds = time.perf_counter() - started
        if self._metrics is not None:
            self._metrics.observe(method, code, seconds)
        access_log.info(
            "%s %s in %.1f ms",
            method,
            code,
            seconds * 1e3,
            extra={"code": code, "duration_ms": seconds * 1e3},
        )
        unbind_call(token)

    def _unary(self, behavior: Callable[..., Any], method: str, request_id: str) -> Callable[..., Any]:
        async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token, started = self._start(method, request_id)
            code = "UNKNOWN"
            try:
                await context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
                result = behavior(request, context)
                if inspect.isawaitable(result):
                    result = await result
                code = _code_name(context, "OK")
                return result
            except BaseException as exc:
                code = (
                    "CANCELLED" if isinstance(exc, asyncio.CancelledError) else _code_name(context, "UNKNOWN")
                )
                raise
            finally:
                self._finish(token, started, method, code)

        return observed

    def _streaming(self, behavior: Callable[..., Any], method: str, request_id: str) -> Callable[..., Any]:
        async def observed(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            token, started = self._start(method, request_id)
            code = "UNKNOWN"
            try:
                await context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
                result = behavior(request, context)
                if hasattr(result, "__aiter__"):
                    async for response in result:
                        yield response
                elif inspect.isawaitable(result):  # a handler writing with context.write
                    await result
                code = _code_name(context, "OK")
            except BaseException as exc:
                code = (
                    "CANCELLED" if isinstance(exc, asyncio.CancelledError) else _code_name(context, "UNKNOWN")
                )
                raise
            finally:
                self._finish(token, started, method, code)

        return observed
