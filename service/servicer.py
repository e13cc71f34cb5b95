"""The ``equilibria.v1.EquilibriaService`` implementation (grpc.aio)."""

from __future__ import annotations

import importlib.metadata
import logging
from typing import NoReturn

import grpc
from equilibria.service import convert, worker
from equilibria.service.errors import RequestError, from_solver_error, status_details
from equilibria.service.limits import Limits
from equilibria.service.pool import SolvePool
from equilibria.solver import METHODS, SOLVER_VERSION
from equilibria.solver.errors import SolverError
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from google.protobuf import duration_pb2

__all__ = ["EquilibriaServicer", "package_version"]

log = logging.getLogger("equilibria.service")


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
        error.message,
        trailing_metadata=(("grpc-status-details-bin", status_details(error)),),
    )
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover


class EquilibriaServicer(service_grpc.EquilibriaServiceServicer):
    """Solves games in a worker pool; maps every known failure to a status code."""

    def __init__(self, pool: SolvePool, limits: Limits) -> None:
        self._pool = pool
        self._limits = limits

    def _budget(self, requested: float | None, context: grpc.aio.ServicerContext) -> float:
        budget = self._limits.max_time_budget
        if requested is not None:
            budget = min(budget, requested)
        remaining = context.time_remaining()
        if remaining is not None:
            budget = min(budget, remaining)
        return max(budget, 1e-3)

    async def SolveGame(
        self, request: service_pb2.SolveGameRequest, context: grpc.aio.ServicerContext
    ) -> service_pb2.SolveGameResponse:
        error: RequestError
        try:
            game, options = convert.solve_request_from_proto(request, self._limits)
            budget = self._budget(options.time_budget, context)
            result = await self._pool.run(worker.solve_game, game, options, timeout=budget)
            return service_pb2.SolveGameResponse(solution_set=convert.solution_set_to_proto(result))
        except RequestError as exc:
            error = exc
        except SolverError as exc:
            error = from_solver_error(exc, "normal_form_game")
        except MemoryError:
            error = RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, "the solve ran out of memory")
        except Exception:
            log.exception("SolveGame failed")
            error = RequestError(grpc.StatusCode.INTERNAL, "internal error while solving; see server log")
        log.info("SolveGame -> %s: %s", error.code.name, error.message)
        await abort(context, error)

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
            ),
            methods=[
                service_pb2.MethodInfo(
                    name=spec.name,
                    description=spec.description,
                    complete=spec.complete,
                    min_players=spec.min_players,
                    max_players=spec.max_players,
                )
                for spec in METHODS.values()
            ],
        )
