"""Transport security of the client: TLS settings and bearer-token metadata.

:class:`TlsConfig` turns into gRPC channel credentials; the bearer token is attached to
every call by a client interceptor (:func:`token_interceptors`), which works on TLS and
on plaintext loopback channels alike (gRPC's own call credentials refuse to run on
insecure channels).
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import grpc

__all__ = ["TlsConfig", "channel_credentials", "token_interceptors", "aio_token_interceptors"]


def _pem(value: bytes | str | pathlib.Path | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return pathlib.Path(value).read_bytes()


@dataclasses.dataclass(frozen=True)
class TlsConfig:
    """TLS settings of a connection (pass ``tls=True`` instead for the system's CAs and no client certificate).

    Each value is PEM ``bytes`` or the path of a PEM file.

    Examples
    --------
    >>> from equilibria.client import Client, TlsConfig
    >>> tls = TlsConfig(root_certificates="ca.pem", certificate_chain="client.pem", private_key="client.key")
    >>> client = Client.connect("solver.example.org:443", tls=tls, token="s3cret")  # doctest: +SKIP
    """

    root_certificates: bytes | str | pathlib.Path | None = None
    """CA certificates the server's certificate must chain to (None: the system's)."""
    certificate_chain: bytes | str | pathlib.Path | None = None
    """The client's certificate chain, for servers that require one (mutual TLS)."""
    private_key: bytes | str | pathlib.Path | None = dataclasses.field(default=None, repr=False)
    """The private key of ``certificate_chain``."""
    server_name: str | None = None
    """Name to verify the server's certificate against, when it differs from the target's host."""

    def __post_init__(self) -> None:
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ValueError("TlsConfig(): certificate_chain and private_key go together")


def channel_credentials(tls: TlsConfig | bool) -> grpc.ChannelCredentials:
    """gRPC channel credentials of a TLS setting (``True``: system CAs, no client certificate)."""
    if tls is True:
        return grpc.ssl_channel_credentials()
    if not isinstance(tls, TlsConfig):
        raise TypeError(f"tls must be a TlsConfig, True or None, got {tls!r}")
    return grpc.ssl_channel_credentials(
        root_certificates=_pem(tls.root_certificates),
        private_key=_pem(tls.private_key),
        certificate_chain=_pem(tls.certificate_chain),
    )


def tls_options(tls: TlsConfig | bool | None) -> list[tuple[str, Any]]:
    """Channel options a TLS setting needs (the server-name override)."""
    if isinstance(tls, TlsConfig) and tls.server_name:
        return [("grpc.ssl_target_name_override", tls.server_name)]
    return []


def _with_token(details: Any, metadata_entry: tuple[str, str], build: Callable[..., Any]) -> Any:
    metadata = [(k, v) for k, v in (details.metadata or ()) if k != "authorization"]
    metadata.append(metadata_entry)
    return build(details, metadata)


class _SyncDetails(grpc.ClientCallDetails):
    def __init__(self, base: Any, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = base.wait_for_ready
        self.compression = getattr(base, "compression", None)


class _SyncTokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, token: str) -> None:
        self._entry = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> Any:
        return _with_token(details, self._entry, _SyncDetails)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


def token_interceptors(token: str | None) -> list[Any]:
    """Interceptors of a blocking channel that send ``authorization: Bearer <token>``."""
    return [] if not token else [_SyncTokenInterceptor(token)]


def _aio_details(base: Any, metadata: list[tuple[str, str]]) -> Any:
    return grpc.aio.ClientCallDetails(
        base.method, base.timeout, grpc.aio.Metadata(*metadata), base.credentials, base.wait_for_ready
    )


class _AioUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, entry: tuple[str, str]) -> None:
        self._entry = entry

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_token(details, self._entry, _aio_details), request)


class _AioUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, entry: tuple[str, str]) -> None:
        self._entry = entry

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_token(details, self._entry, _aio_details), request)


class _AioStreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, entry: tuple[str, str]) -> None:
        self._entry = entry

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(_with_token(details, self._entry, _aio_details), requests)


class _AioStreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, entry: tuple[str, str]) -> None:
        self._entry = entry

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(_with_token(details, self._entry, _aio_details), requests)


def aio_token_interceptors(token: str | None) -> list[Any]:
    """Interceptors of an asyncio channel that send ``authorization: Bearer <token>``."""
    if not token:
        return []
    entry = ("authorization", f"Bearer {token}")
    return [cls(entry) for cls in (_AioUnaryUnary, _AioUnaryStream, _AioStreamUnary, _AioStreamStream)]
