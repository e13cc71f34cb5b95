"""Request errors and their mapping to gRPC status with rich details.

Every failure the service knows about becomes a status code with a clear message;
invalid input carries ``google.rpc.BadRequest`` field violations naming the offending
request field (``normal_form_game.payoffs``, ``method``, ...), so no known failure
ever reaches a client as ``UNKNOWN``.
"""

from __future__ import annotations

import dataclasses

import grpc
from equilibria.solver import errors as solver_errors
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

__all__ = ["RequestError", "from_solver_error", "status_details", "status_message"]

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
)
#: Solver option names that differ from their request field.
_OPTION_FIELDS = {
    "welfare": "welfare_functions",
    "selection": "selection_criteria",
    "priors": "homotopy_priors",
}


@dataclasses.dataclass
class RequestError(Exception):
    """A failure to report to the caller as a gRPC status.

    Attributes
    ----------
    code : grpc.StatusCode
    message : str
    field : str
        The offending request field (empty when no field is at fault).
    """

    code: grpc.StatusCode
    message: str
    field: str = ""

    def __str__(self) -> str:
        return self.message


def invalid(field: str, message: str) -> RequestError:
    """An ``INVALID_ARGUMENT`` naming ``field``."""
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message, field)


def from_solver_error(exc: solver_errors.SolverError, game_field: str) -> RequestError:
    """Map a solver exception to a request error, translating its field to the proto path."""
    field = _OPTION_FIELDS.get(exc.field, exc.field)
    if field.split(".")[0].split("[")[0] in _GAME_FIELDS:
        field = f"{game_field}.{field}"
    if isinstance(exc, solver_errors.ProblemTooLargeError):
        return RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, exc.message, field)
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, exc.message, field)


def status_details(error: RequestError) -> bytes:
    """Serialized ``google.rpc.Status`` for the ``grpc-status-details-bin`` trailer."""
    return status_message(error).SerializeToString()


def status_message(error: RequestError) -> status_pb2.Status:
    """The ``google.rpc.Status`` of ``error``: code, message and a BadRequest naming its field."""
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.message)
    if error.field:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)
                ]
            )
        )
        status.details.append(detail)
    return status
