"""Build, start and stop the gRPC server.

:func:`start_server` returns a :class:`RunningServer` bound to the requested address
(port 0 picks a free port, which tests use); :func:`serve` runs one until SIGTERM or
SIGINT and then shuts down gracefully: health turns NOT_SERVING, new calls are
refused, in-flight calls get ``limits.grace_seconds`` to finish, then the workers stop.

Security and operations: ``tls=ServerTls(...)`` serves TLS (mutual TLS when it names a
client CA); ``tokens=`` requires a bearer token on every call but health checks
(:mod:`equilibria.service.auth`); ``metrics_address=`` exposes Prometheus metrics over
HTTP (:mod:`equilibria.service.metrics`). Every call gets a request id, an access log
record and metrics (:mod:`equilibria.service.observability`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import pathlib
import signal
import socket
import time
from collections.abc import Callable, Sequence

import grpc
from equilibria.service.auth import TokenAuthInterceptor
from equilibria.service.dashboard import Dashboard, MonitorRegistry, parse_loopback_address, start_dashboard
from equilibria.service.errors import MalformedRequestInterceptor, RequestError
from equilibria.service.limits import Limits
from equilibria.service.metrics import MetricsEndpoint, ServerMetrics
from equilibria.service.observability import ObservabilityInterceptor
from equilibria.service.pool import SolvePool
from equilibria.service.servicer import EquilibriaServicer
from equilibria.solver.kernels import ModuleWarmed, compile_all
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

__all__ = ["AddressUnavailable", "RunningServer", "ServerTls", "start_server", "serve", "SERVICE_NAME"]

log = logging.getLogger("equilibria.service")

SERVICE_NAME = service_pb2.DESCRIPTOR.services_by_name["EquilibriaService"].full_name


def _pem(value: bytes | str | pathlib.Path) -> bytes:
    return value if isinstance(value, bytes) else pathlib.Path(value).read_bytes()


class AddressUnavailable(RuntimeError):
    """The server's address cannot be bound: the port is in use, or the host is not this machine's.

    Its message names the address, the system's reason and how to pick another
    (``equilibria serve --address``).
    """


@dataclasses.dataclass(frozen=True)
class ServerTls:
    """The server's TLS identity, and the CA its clients' certificates must chain to (mTLS).

    Attributes
    ----------
    certificate_chain : bytes
        PEM certificate chain of the server (leaf first).
    private_key : bytes
        PEM private key of the leaf certificate.
    client_ca : bytes or None
        PEM certificates of the CA(s) that sign client certificates. When given, every
        client must present a certificate signed by one of them (mutual TLS).
    """

    certificate_chain: bytes
    private_key: bytes = dataclasses.field(repr=False)
    client_ca: bytes | None = None

    @classmethod
    def from_files(
        cls,
        certificate_chain: str | pathlib.Path,
        private_key: str | pathlib.Path,
        client_ca: str | pathlib.Path | None = None,
    ) -> ServerTls:
        """Read the PEM files."""
        return cls(_pem(certificate_chain), _pem(private_key), None if client_ca is None else _pem(client_ca))

    def credentials(self) -> grpc.ServerCredentials:
        """gRPC server credentials (client certificates required when ``client_ca`` is set)."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


@dataclasses.dataclass
class RunningServer:
    """A started server and what it owns."""

    server: grpc.aio.Server
    port: int
    address: str
    pool: SolvePool
    health: health.aio.HealthServicer
    limits: Limits
    dashboard: Dashboard | None = None
    ray_started: bool = False
    servicer: EquilibriaServicer | None = None
    metrics: ServerMetrics | None = None
    metrics_endpoint: MetricsEndpoint | None = None
    #: The kernels' warm-up; health turns SERVING when it ends (:func:`start_server`).
    warming: asyncio.Task[float] | None = None

    async def ready(self) -> float:
        """Wait until health is SERVING (the kernels are warm); the seconds the warm-up took."""
        return 0.0 if self.warming is None else await asyncio.shield(self.warming)

    async def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let in-flight ones finish within ``grace`` seconds, stop the workers."""
        await self.health.enter_graceful_shutdown()
        if self.warming is not None and not self.warming.done():
            self.warming.cancel()
        if self.dashboard is not None:
            await self.dashboard.stop()
        await self.server.stop(self.limits.grace_seconds if grace is None else grace)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.close()
        await asyncio.get_running_loop().run_in_executor(None, self.pool.close)
        if self.ray_started:
            from equilibria.service.ray_backend import shutdown_ray

            shutdown_ray()


async def start_server(
    address: str = "localhost:50051",
    limits: Limits | None = None,
    dashboard: str | None = None,
    ray_address: str | None = None,
    *,
    tls: ServerTls | None = None,
    tokens: Sequence[str] = (),
    metrics_address: str | None = None,
    announce: Callable[[str], None] | None = None,
) -> RunningServer:
    """Create and start a server on ``address`` (``host:0`` picks a free port).

    It answers calls at once; its health is NOT_SERVING until the solver kernels of the
    server process and of the workers are compiled or loaded (``await running.ready()``),
    then SERVING.

    Parameters
    ----------
    address : str
        ``host:port`` to bind.
    limits : Limits, optional
    dashboard : str, optional
        A loopback ``host:port`` for the live-monitoring page of
        :mod:`equilibria.service.dashboard` (None: no dashboard).
    ray_address : str, optional
        "local" for a loopback-only Ray of ``limits.workers`` CPUs, or a cluster address:
        ``SolveGames`` then runs its items as Ray tasks instead of in the local process
        pool; None keeps every solve in the pool.
    tls : ServerTls, optional
        Serve TLS (mutual TLS when ``tls.client_ca`` is set); plaintext otherwise.
    tokens : sequence of str
        When non-empty, every call but health checks needs ``authorization: Bearer <token>``
        with one of these tokens.
    metrics_address : str, optional
        ``host:port`` of a Prometheus ``/metrics`` HTTP endpoint (port 0: any free port;
        see ``RunningServer.metrics_endpoint.address``). Off when None.
    announce : callable, optional
        Called with each line of the warm-up's progress meant for the operator (default:
        logged at INFO).

    Raises
    ------
    AddressUnavailable
        If the address cannot be bound (a :class:`RuntimeError`).
    ValueError
        If ``dashboard`` is not a loopback address.
    """
    reason = _bind_error(address)
    if reason is not None:  # refused before any process starts, and without grpc's own log line
        raise AddressUnavailable(_cannot_listen(address, reason))
    limits = limits or Limits()
    monitors = None
    if dashboard is not None:
        parse_loopback_address(dashboard)  # refuse before binding anything
        monitors = MonitorRegistry()
    options = [
        ("grpc.max_receive_message_length", limits.max_message_bytes),
        ("grpc.max_send_message_length", limits.max_message_bytes),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.so_reuseport", 0),
    ]
    if limits.max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", int(limits.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", int(limits.max_connection_age_grace_seconds * 1000)),
        ]
    pool = SolvePool(limits.workers, limits.max_queue, limits.worker_memory_bytes)
    batch_runner, ray_started = None, False
    if ray_address is not None:
        from equilibria.service import ray_backend

        ray_started = ray_backend.init_ray(ray_address, num_cpus=limits.workers)
        batch_runner = ray_backend.RayRunner()
    servicer = EquilibriaServicer(pool, limits, monitors, batch_runner)
    metrics = ServerMetrics(pool, servicer.cache)
    interceptors: list[grpc.aio.ServerInterceptor] = [ObservabilityInterceptor(metrics)]
    if tokens:
        interceptors.append(TokenAuthInterceptor(tokens))
    interceptors.append(MalformedRequestInterceptor())  # innermost: sees only authorised calls
    server = grpc.aio.server(options=options, interceptors=interceptors)
    service_grpc.add_EquilibriaServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    endpoint = None
    try:
        try:
            if tls is None:
                port = server.add_insecure_port(address)
            else:
                port = server.add_secure_port(address, tls.credentials())
        except RuntimeError as exc:  # grpc's "Failed to bind to address ..." (a race lost)
            raise AddressUnavailable(_cannot_listen(address, "gRPC could not bind it")) from exc
        if metrics_address is not None:
            endpoint = MetricsEndpoint(metrics_address, metrics.registry)
    except (RuntimeError, OSError, ValueError):
        pool.close()
        if ray_started:
            from equilibria.service.ray_backend import shutdown_ray

            shutdown_ray()
        raise
    await server.start()
    for name in (SERVICE_NAME, ""):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    host = address.rsplit(":", 1)[0]
    running = RunningServer(
        server, port, f"{host}:{port}", pool, health_servicer, limits, servicer=servicer, metrics=metrics
    )
    running.warming = asyncio.create_task(_warm_then_serve(health_servicer, pool, announce))
    running.metrics_endpoint = endpoint
    running.ray_started = ray_started
    if monitors is not None and dashboard is not None:
        try:
            running.dashboard = await start_dashboard(dashboard, monitors)
        except OSError:
            await running.stop(grace=0)
            raise
    return running


def _bind_error(address: str) -> str | None:
    """Why no socket can listen on ``host:port`` (the system's words), or None when one can.

    Like gRPC, it binds every address the host resolves to (with ``SO_REUSEADDR``, so a port
    a stopped server left in TIME_WAIT is free) and succeeds when one of them binds. Port 0
    and addresses that are not ``host:port`` (``unix:PATH``) are left to gRPC.
    """
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return None
    host = host.removeprefix("[").removesuffix("]")
    try:
        resolved = socket.getaddrinfo(
            host or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return f"the host {host!r} does not resolve ({exc.strerror})"
    reasons = []
    for family, kind, protocol, _, socket_address in resolved:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(socket_address)
            except OSError as exc:
                reasons.append(exc.strerror or str(exc))
            else:
                return None
    return reasons[0] if reasons else None


def _cannot_listen(address: str, reason: str) -> str:
    return (
        f"cannot listen on {address}: {reason}; is another server running there? Pick another "
        "address with --address HOST:PORT (port 0: any free port)"
    )


async def _warm_then_serve(
    health_servicer: health.aio.HealthServicer, pool: SolvePool, announce: Callable[[str], None] | None
) -> float:
    """Compile (or load from numba's cache) the kernels of this process and of the workers, then
    turn health SERVING; the seconds it took.

    Calls are answered meanwhile (a solve waits for its worker; a trace compiles what it
    needs), but a probe sees NOT_SERVING until both are warm.
    """
    say = announce or (lambda line: log.info("%s", line))
    started = time.perf_counter()
    say(
        "warming the solver kernels; health is NOT_SERVING until they are ready (a first start "
        "compiles them: 15 s, minutes on a loaded machine; later starts load numba's cache)"
    )

    def progress(done: ModuleWarmed) -> None:
        if done.compiled:  # not in numba's cache: a first start (or a changed file) is slow
            say(
                f"compiled {done.compiled} kernel signature(s) of {done.module} in {done.seconds:.1f} s "
                f"({done.index} of {done.total} modules)"
            )

    # First a worker forked from the forkserver, which compiles every kernel into numba's cache
    # in its own process; then this process loads them from the cache. Compiling here instead
    # would hold this process's GIL for seconds at a time (LLVM), and even health checks would
    # wait on a first start.
    try:
        preloaded = await pool.start()
    except RequestError as exc:  # the workers cannot start: health stays NOT_SERVING
        log.error("%s", exc.message)
        say(f"not ready: {exc.message}")
        return time.perf_counter() - started
    await asyncio.to_thread(compile_all, progress)
    if not preloaded:
        log.warning(
            "the workers' forkserver could not import equilibria.service.worker_preload: each "
            "new worker compiles or loads the solver kernels on its first solve"
        )
    for name in (SERVICE_NAME, ""):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    seconds = time.perf_counter() - started
    say(f"ready: health SERVING (kernels warm after {seconds:.1f} s)")
    return seconds


async def serve(
    address: str = "localhost:50051",
    limits: Limits | None = None,
    dashboard: str | None = None,
    ray_address: str | None = None,
    *,
    tls: ServerTls | None = None,
    tokens: Sequence[str] = (),
    metrics_address: str | None = None,
) -> None:
    """Run a server until SIGTERM or SIGINT, then shut down gracefully (options: :func:`start_server`)."""
    running = await start_server(
        address,
        limits,
        dashboard,
        ray_address,
        tls=tls,
        tokens=tokens,
        metrics_address=metrics_address,
        announce=lambda line: print(f"equilibria: {line}", flush=True),
    )
    if running.dashboard is not None:
        print(f"equilibria: dashboard on {running.dashboard.url}", flush=True)
    if running.metrics_endpoint is not None:
        print(f"equilibria: metrics on {running.metrics_endpoint.address}", flush=True)
    security = ("mTLS" if tls.client_ca else "TLS") if tls else "plaintext"
    print(
        f"equilibria: listening on {running.address} ({security}"
        f"{', bearer tokens required' if tokens else ''})",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: draining in-flight calls for up to %.1f s", running.limits.grace_seconds)
    await running.stop()
    print("equilibria: stopped", flush=True)
