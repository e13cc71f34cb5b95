"""Exceptions of the client, mapped from gRPC status codes at the boundary.

Hierarchy::

    EquilibriaError
    ├── InvalidArgumentError        INVALID_ARGUMENT: the request is malformed
    │   └── InvalidGameError        ... and the fault is in the game itself
    ├── ResourceExhaustedError      RESOURCE_EXHAUSTED: over a size limit, or the server is busy
    ├── SolveTimeoutError           DEADLINE_EXCEEDED: the solve ran past its budget
    ├── ServiceUnavailableError     UNAVAILABLE (after retries): no server reachable
    ├── SolveCancelledError         CANCELLED
    ├── AuthenticationError         UNAUTHENTICATED / PERMISSION_DENIED: no or a wrong token
    └── ServerError                 any other status (INTERNAL, UNIMPLEMENTED, ...)

Every exception is raised ``from`` the ``grpc.RpcError`` and carries ``code`` (the gRPC
status code name) and ``field_violations`` (``(field, description)`` pairs from the
``google.rpc.BadRequest`` details).
"""

from __future__ import annotations

import re

import grpc
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "AuthenticationError",
    "EquilibriaError",
    "InvalidArgumentError",
    "InvalidGameError",
    "ResourceExhaustedError",
    "SolveTimeoutError",
    "ServiceUnavailableError",
    "SolveCancelledError",
    "ServerError",
    "input_error",
    "map_rpc_error",
    "error_from_status",
]


class EquilibriaError(Exception):
    """Base class of every client error.

    Attributes
    ----------
    code : str
        gRPC status code name (``"INVALID_ARGUMENT"``, ...).
    message : str
        The server's message.
    field_violations : tuple of (str, str)
        Offending request fields and what is wrong with each.
    retry_after : float or None
        Seconds the server suggests waiting before trying again (a busy server's
        ``RESOURCE_EXHAUSTED`` carries it), or None.
    """

    def __init__(
        self,
        message: str,
        code: str = "",
        field_violations: tuple[tuple[str, str], ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field_violations = field_violations
        self.retry_after = retry_after

    @property
    def fields(self) -> tuple[str, ...]:
        """The offending field paths."""
        return tuple(field for field, _ in self.field_violations)


class InvalidArgumentError(EquilibriaError, ValueError):
    """The server rejected the request as malformed."""


class InvalidGameError(InvalidArgumentError):
    """The server rejected the game itself (shape, payoffs, names)."""


class ResourceExhaustedError(EquilibriaError):
    """Over a server size limit, or the server's queue is full."""


class SolveTimeoutError(EquilibriaError, TimeoutError):
    """The solve ran past its time budget or the call deadline."""


class ServiceUnavailableError(EquilibriaError, ConnectionError):
    """No server could be reached (after retrying)."""


class SolveCancelledError(EquilibriaError):
    """The call was cancelled."""


class AuthenticationError(EquilibriaError, PermissionError):
    """The server refused the caller's credentials (missing or wrong bearer token)."""


class ServerError(EquilibriaError):
    """Any other failure reported by the server (INTERNAL, UNIMPLEMENTED, ...)."""


_BY_CODE: dict[grpc.StatusCode, type[EquilibriaError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: SolveTimeoutError,
    grpc.StatusCode.UNAVAILABLE: ServiceUnavailableError,
    grpc.StatusCode.CANCELLED: SolveCancelledError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: AuthenticationError,
}


def _status_violations(status: status_pb2.Status) -> tuple[tuple[str, str], ...]:
    violations = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            violations.extend((v.field, v.description) for v in bad.field_violations)
    return tuple(violations)


def _retry_after(status: status_pb2.Status) -> float | None:
    for detail in status.details:
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            return retry.retry_delay.ToTimedelta().total_seconds()
    return None


def _details(metadata: object) -> status_pb2.Status:
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    return status_pb2.Status()


_GAME_FIELD = re.compile(r"^(requests\[\d+\]\.)?(normal_form_game|stochastic_game)")


def _error(code: grpc.StatusCode, message: str, details: status_pb2.Status) -> EquilibriaError:
    violations = _status_violations(details)
    cls = _BY_CODE.get(code, ServerError)
    if cls is InvalidArgumentError and any(_GAME_FIELD.match(f) for f, _ in violations):
        cls = InvalidGameError
    return cls(message, code.name, violations, _retry_after(details))


def input_error(field: str, message: str) -> InvalidArgumentError:
    """A client-side ``InvalidArgumentError`` naming ``field`` (raised before anything is sent)."""
    return InvalidArgumentError(message, "INVALID_ARGUMENT", ((field, message),))


def map_rpc_error(exc: grpc.RpcError) -> EquilibriaError:
    """The client exception for a failed call (raise it ``from exc``)."""
    code: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]
    message: str = exc.details() or code.name  # type: ignore[attr-defined]
    return _error(code, message, _details(exc.trailing_metadata()))  # type: ignore[attr-defined]


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def error_from_status(status: status_pb2.Status) -> EquilibriaError:
    """The client exception for a ``google.rpc.Status`` (a failed item of a batch)."""
    code = _CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    return _error(code, status.message or code.name, status)
