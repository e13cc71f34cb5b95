"""Solve on Ray: the pool's worker function as Ray tasks, killable per task.

Install with ``pip install 'equilibria[ray]'``. :func:`init_ray` starts a local Ray
bound to loopback only, or connects to an existing cluster; :class:`RayRunner` runs a
worker function (:func:`equilibria.service.worker.solve_game`) as a Ray task with the
contract of :meth:`equilibria.service.pool.SolvePool.run`: a task past its time limit
is cancelled with ``ray.cancel(ref, force=True)`` (its worker process is killed) and
reported as ``DEADLINE_EXCEEDED``; a dead worker is reported as ``INTERNAL``; a
cancelled caller cancels the task. The batch API (:func:`equilibria.service.batch.solve_many`)
and the server (``equilibria serve --ray-address``) both use it.

Loopback only
-------------
By default Ray binds its servers (GCS, raylet, object manager, workers) to the
machine's routable address and ignores ``_node_ip_address="127.0.0.1"``: Ray's
``resolve_ip_for_localhost`` turns a loopback node address into the routable one
unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` is false (a setting read when
``ray._private.ray_constants`` is imported). A local start here therefore sets that
variable to 0 (and the constant, if Ray was imported first), passes
``_node_ip_address="127.0.0.1"`` and ``include_dashboard=False``, and checks that
``ray.nodes()`` reports ``NodeManagerAddress`` 127.0.0.1, shutting Ray down otherwise.
With it every Ray listening socket is on 127.0.0.1 (tests/test_ray_backend.py reads
``/proc/net/tcp*`` to check).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from equilibria.service.errors import RequestError

__all__ = ["LOOPBACK", "RayRunner", "init_ray", "is_local", "shutdown_ray"]

log = logging.getLogger("equilibria.service")

T = TypeVar("T")

#: The only address a local Ray may bind.
LOOPBACK = "127.0.0.1"
#: Ray setting that, when false, keeps a loopback node address instead of replacing it.
_CLUSTER_SETTING = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def is_local(address: str | None) -> bool:
    """Whether ``address`` asks for a local Ray (None, "" or "local")."""
    return address in (None, "", "local")


def init_ray(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Start a loopback-only local Ray, or connect to the cluster at ``address``.

    Parameters
    ----------
    address : str, optional
        None, "" or "local": start Ray on this machine, bound to 127.0.0.1, with
        ``num_cpus`` CPUs. Otherwise the address of a running cluster
        (``host:6379`` or ``ray://host:10001``).
    num_cpus : int, optional
        CPUs of a local Ray (default: all cores).

    Returns
    -------
    bool
        True if this call started or connected Ray (the caller then shuts it down with
        :func:`shutdown_ray`); False if Ray was already initialised in this process.

    Raises
    ------
    RuntimeError
        If a local Ray reports a node address other than 127.0.0.1.
    ImportError
        If Ray is not installed (the message names the ``ray`` extra).
    """
    local = is_local(address)
    if local:
        os.environ[_CLUSTER_SETTING] = "0"
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            f"Ray batch solving needs the ray extra: pip install 'equilibria[ray]' ({exc})"
        ) from exc

    if ray.is_initialized():
        return False
    if not local:
        ray.init(address=address, log_to_driver=False)
        return True
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # in case Ray was imported before the variable was set
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        _node_ip_address=LOOPBACK,
        log_to_driver=False,
    )
    addresses = {node["NodeManagerAddress"] for node in ray.nodes()}
    if addresses != {LOOPBACK}:
        ray.shutdown()
        raise RuntimeError(f"init_ray(): local Ray bound {sorted(addresses)}, not {LOOPBACK} only")
    return True


def shutdown_ray() -> None:
    """Stop (or disconnect from) Ray."""
    import ray

    ray.shutdown()


def _call(function: Callable[..., T], *args: Any) -> T:
    """What a Ray task runs: ``function(*args)`` (``function`` travels pickled by reference).

    The kernels are compiled (or loaded) once per Ray worker process, before the task's clock
    starts (:func:`equilibria.service.worker.timed` times ``function`` alone).
    """
    from equilibria.solver.kernels import compile_all

    compile_all()
    return function(*args)


@functools.cache
def _remote() -> Any:
    """:func:`_call` as a Ray task of one CPU that is never retried (a failure is reported)."""
    import ray

    return ray.remote(num_cpus=1, max_retries=0, retry_exceptions=False)(_call)


class RayRunner:
    """Run functions as Ray tasks from asyncio code, with the contract of ``SolvePool.run``.

    Ray must be initialised (:func:`init_ray`). ``workers`` is the cluster's CPU count,
    the number of tasks worth running at once.
    """

    def __init__(self) -> None:
        import ray

        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.cancelled = 0

    async def run(
        self,
        function: Callable[..., T],
        *args: Any,
        timeout: float | None,
        cost: Any = None,
        deadline: float | None = None,
    ) -> T:
        """Run ``function(*args)`` as a Ray task; cancel it (force) past ``timeout`` or on cancellation.

        ``cost`` and ``deadline`` are the local pool's admission hints
        (:meth:`equilibria.service.pool.SolvePool.run`); Ray schedules its own tasks and
        ignores them.

        Raises
        ------
        RequestError
            ``DEADLINE_EXCEEDED`` past the timeout, ``INTERNAL`` when the worker died or
            Ray failed.
        Exception
            The task's own exception (a ``SolverError``, ...), as raised in the task.
        asyncio.CancelledError
            When the awaiting task is cancelled (the Ray task is force-cancelled first).
        """
        import ray
        from ray import exceptions as ray_errors

        ref = _remote().remote(function, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout)
        except TimeoutError as exc:
            self._cancel(ray, ref)
            raise RequestError(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"solve exceeded its time budget of {timeout:.3g} s; the Ray task was cancelled",
            ) from exc
        except asyncio.CancelledError:
            self._cancel(ray, ref)
            raise
        except ray_errors.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, ray_errors.RayError):
                raise cause from exc
            raise RequestError(grpc.StatusCode.INTERNAL, f"the Ray task failed: {exc}") from exc
        except ray_errors.RayError as exc:
            raise RequestError(
                grpc.StatusCode.INTERNAL,
                f"the Ray worker died or Ray failed during the solve ({type(exc).__name__}); "
                "the other tasks go on",
            ) from exc

    def _cancel(self, ray: Any, ref: Any) -> None:
        self.cancelled += 1
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 - a task that already finished cannot be cancelled
            log.debug("ray.cancel failed", exc_info=True)
