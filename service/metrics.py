"""Prometheus metrics of one server, in its own registry.

Every server owns a :class:`ServerMetrics` with a private ``CollectorRegistry``, so
several servers in one process never share or collide on metrics. Request counts and
latencies are recorded by :class:`~equilibria.service.observability.ObservabilityInterceptor`
through :meth:`ServerMetrics.observe`; pool and cache figures are read when scraped.

Metrics
-------
``equilibria_requests_total{method, code}``
    Finished calls by method (``SolveGame``, ``grpc.health.v1.Health/Check``, ...) and
    status code name.
``equilibria_request_duration_seconds{method}``
    Latency histogram per method.
``equilibria_solves_in_flight``
    Solves admitted to the worker pool and not finished (running or queued).
``equilibria_worker_restarts_total``
    Worker processes killed and replaced (timeouts, cancellations, crashes).
``equilibria_cache_hits_total``, ``equilibria_cache_misses_total``, ``equilibria_cache_evictions_total``
    Solve-cache outcomes; ``equilibria_cache_entries`` and ``equilibria_cache_bytes`` its size.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["ServerMetrics", "MetricsEndpoint"]

#: Latency buckets, seconds: from a cached answer (sub-millisecond) to a long solve.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _PoolAndCacheCollector(Collector):
    """Reads the pool's and the cache's counters at scrape time."""

    def __init__(self, pool: Any, cache: Any) -> None:
        self._pool = pool
        self._cache = cache

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "equilibria_solves_in_flight",
            "Solves admitted to the worker pool and not finished (running or queued).",
            value=self._pool.in_flight,
        )
        yield CounterMetricFamily(
            "equilibria_worker_restarts",
            "Worker processes killed and replaced (timeouts, cancellations, crashes).",
            value=self._pool.restarts,
        )
        yield CounterMetricFamily(
            "equilibria_worker_tasks",
            "Tasks handed to the worker processes (a SolveGames group of small games is one).",
            value=self._pool.tasks,
        )
        cache = self._cache
        yield CounterMetricFamily(
            "equilibria_cache_hits", "Solves answered from the cache.", value=cache.hits
        )
        yield CounterMetricFamily(
            "equilibria_cache_misses", "Solves not found in the cache (solved).", value=cache.misses
        )
        yield CounterMetricFamily(
            "equilibria_cache_evictions", "Answers evicted from the cache.", value=cache.evictions
        )
        yield GaugeMetricFamily("equilibria_cache_entries", "Answers in the cache.", value=len(cache))
        yield GaugeMetricFamily(
            "equilibria_cache_bytes", "Bytes of the answers in the cache.", value=cache.bytes
        )


class ServerMetrics:
    """The metrics of one server.

    Parameters
    ----------
    pool : SolvePool
        Read for in-flight solves and worker restarts.
    cache : SolveCache
        Read for hits, misses, evictions and size.
    """

    def __init__(self, pool: Any, cache: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "equilibria_requests",
            "Finished calls by method and status code.",
            ("method", "code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "equilibria_request_duration_seconds",
            "Call latency per method, in seconds.",
            ("method",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_PoolAndCacheCollector(pool, cache))

    def observe(self, method: str, code: str, seconds: float) -> None:
        """Record one finished call."""
        self.requests.labels(method=method, code=code).inc()
        self.latency.labels(method=method).observe(seconds)


class MetricsEndpoint:
    """An HTTP server exposing a registry at ``/metrics`` (Prometheus text format).

    Parameters
    ----------
    address : str
        ``host:port`` to bind; port 0 picks a free port (see :attr:`address`).
    registry : CollectorRegistry
    """

    def __init__(self, address: str, registry: CollectorRegistry) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"metrics address must be host:port, got {address!r}")
        host = host.strip("[]")
        self._httpd, self._thread = start_http_server(int(port), addr=host, registry=registry)
        bound = self._httpd.server_address
        self.address = f"[{bound[0]}]:{bound[1]}" if ":" in str(bound[0]) else f"{bound[0]}:{bound[1]}"
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
