"""Bearer-token authentication of a ``grpc.aio`` server.

:class:`TokenAuthInterceptor` requires ``authorization: Bearer <token>`` metadata on
every call except the standard health service (container HEALTHCHECKs and Kubernetes
probes call it without credentials); server reflection is protected like the API. A call
without a valid token ends with ``UNAUTHENTICATED`` before the servicer runs, and before
its request body is read: the token comes from the call's metadata, and a refused call is
answered by a handler that never reads or parses a message (see :func:`_refusing`).

The presented token is compared with every configured token in constant time: both are
hashed to fixed-length digests and compared with :func:`hmac.compare_digest`, over all
configured tokens without stopping at a match, so neither the content nor the length of
a token leaks through timing. Tokens are never logged.

Tokens come from a file (:func:`read_tokens`): one per line, blank lines and lines
starting with ``#`` ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import pathlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc

__all__ = ["TokenAuthInterceptor", "read_tokens", "OPEN_METHOD_PREFIXES", "TOKENS_FILE_ENV"]

#: Environment variable naming the tokens file when ``serve --token-file`` is not given.
TOKENS_FILE_ENV = "EQUILIBRIA_TOKENS_FILE"
#: Methods callable without a token: the standard health service only.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/",)

MISSING_TOKEN = "missing bearer token: send the metadata 'authorization: Bearer <token>'"
INVALID_TOKEN = "invalid bearer token"


def read_tokens(path: str | pathlib.Path) -> tuple[str, ...]:
    """The tokens of a tokens file.

    Raises
    ------
    ValueError
        If the file holds no token, or a token with whitespace inside.
    """
    tokens = []
    for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        token = line.strip()
        if not token or token.startswith("#"):
            continue
        if any(c.isspace() for c in token):
            raise ValueError(f"{path}: line {number}: a token cannot contain whitespace")
        tokens.append(token)
    if not tokens:
        raise ValueError(f"{path}: no token (one per line)")
    return tuple(tokens)


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def _bearer(metadata: Any) -> bytes | None:
    for key, value in metadata or ():
        if key == "authorization":
            raw = value if isinstance(value, bytes) else str(value).encode()
            scheme, _, credential = raw.strip().partition(b" ")
            if scheme.lower() == b"bearer" and credential.strip():
                return credential.strip()
            return b""
    return None


class TokenAuthInterceptor(grpc.aio.ServerInterceptor):
    """Refuse calls without a valid bearer token with ``UNAUTHENTICATED``.

    Parameters
    ----------
    tokens : iterable of str
        The accepted tokens (at least one).
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        self._digests = tuple(_digest(token.encode()) for token in tokens)
        if not self._digests:
            raise ValueError("TokenAuthInterceptor(): at least one token is required")

    def accepts(self, presented: bytes) -> bool:
        """Whether ``presented`` is one of the tokens (constant time over all of them)."""
        digest = _digest(presented)
        matched = False
        for expected in self._digests:
            matched |= hmac.compare_digest(digest, expected)
        return matched

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if handler_call_details.method.startswith(OPEN_METHOD_PREFIXES):
            return await continuation(handler_call_details)
        presented = _bearer(handler_call_details.invocation_metadata)
        if presented and self.accepts(presented):
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _refusing(handler, MISSING_TOKEN if presented is None else INVALID_TOKEN)


def _refusing(handler: Any, message: str) -> Any:
    """A handler that ends a call with ``UNAUTHENTICATED`` without reading its request.

    Whatever the method's shape, the replacement is request-streaming with no request
    deserializer: grpc reads a unary request whole (and parses it) before a unary handler
    runs, but hands a streaming handler an iterator that reads nothing until it is
    iterated, and this one never is. The call ends at once; the response side keeps the
    method's shape (a client streaming the answers sees the same status). Ending the call
    makes the HTTP/2 transport reset the stream, so the client stops sending; what a
    refused call can still cost is the request bytes already in flight, at most the
    stream's HTTP/2 flow-control window, which the transport reads and drops without
    holding them. No lower message-size cap for unauthenticated peers is needed: their
    bodies are never buffered.
    """

    async def refuse(requests: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse, response_serializer=handler.response_serializer)
    return grpc.stream_unary_rpc_method_handler(refuse, response_serializer=handler.response_serializer)
