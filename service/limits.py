"""Server limits and settings, with the defaults ``equilibria serve`` uses."""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib

__all__ = ["Limits", "available_cpus"]


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota.

    ``os.cpu_count()`` counts the node's cores; a container limited to 2 CPUs on a
    64-core node (Kubernetes ``resources.limits.cpu``, ``docker run --cpus``) would
    otherwise start 64 workers. Reads cgroup v2 ``cpu.max`` (``"QUOTA PERIOD"`` or
    ``"max PERIOD"``) or cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; a
    fractional quota rounds up.

    Examples
    --------
    >>> available_cpus() >= 1
    True
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    root = pathlib.Path(cgroup_root)
    quota: float | None = None
    try:
        fields = (root / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            quota = int(fields[0]) / int(fields[1])
    except (OSError, ValueError, ZeroDivisionError):
        try:
            q = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            if q > 0 and period > 0:
                quota = q / period
        except (OSError, ValueError):
            pass
    if quota is not None and quota > 0:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one server accepts and how it runs solves.

    Attributes
    ----------
    max_message_bytes : int
        Largest request or response message (gRPC send/receive caps).
    max_payoff_entries : int
        Largest payoff tensor (number of float64 entries).
    max_transition_entries : int
        Largest transition law of a stochastic game: entries of a dense tensor, or
        entries of the coordinate form.
    max_players : int
        Largest number of players.
    max_time_budget : float
        Server cap on one solve, in seconds; the effective budget is the minimum of
        this, the client's deadline and the request's ``time_budget``.
    workers : int
        Worker processes solving concurrently (default :func:`available_cpus`: the
        CPUs of the affinity mask, capped by a container's CPU quota).
    max_queue : int
        Solves admitted but waiting for a worker; past it calls get ``RESOURCE_EXHAUSTED``.
    default_tolerance : float
        Tolerance used when a request leaves it at 0.
    grace_seconds : float
        How long in-flight calls may finish after SIGTERM.
    max_trace_chunk_bytes : int
        Largest message of a trace stream (a chunk: 1 MiB).
    max_trace_bytes : int
        Most bytes of chunks one trace stream may send in all (``ScoreTrace``,
        ``MonitorTrace`` or ``SamplePayoffs``); past it the stream ends with ``RESOURCE_EXHAUSTED``.
    max_trace_chunks : int
        Most chunks one trace stream may send.
    max_list_entries : int
        Longest repeated option of a request (concepts, welfare functions, selection
        criteria, stage selections, trace criteria and epsilons).
    max_policy_entries : int
        Largest policy an answer may hold: ``horizon x states x actions`` of a
        finite-horizon stochastic game (its backward induction keeps them all).
    worker_memory_bytes : int
        Address-space cap (``RLIMIT_AS``) of each worker process; a solve that needs more
        fails with ``RESOURCE_EXHAUSTED`` and the worker keeps serving. 0: no cap. An
        idle worker maps about 470 MiB (numpy, scipy, pygambit, numba kernels, one BLAS thread).
    recent_games : int
        Solution sets kept for trace headers that name a game by id.
    max_connection_age_seconds : float
        Close each client connection (HTTP/2 GOAWAY) after this many seconds so that
        clients doing client-side round-robin reconnect and rebalance over the replicas;
        0 keeps connections open indefinitely.
    max_connection_age_grace_seconds : float
        How long calls in flight on a connection being aged out may still run; a long
        ``MonitorTrace`` stream should fit in it or be reopened by the caller.
    cache_entries : int
        Largest number of solve answers kept in the server's LRU cache (0 disables it).
    cache_bytes : int
        Largest total size, in serialized bytes, of the cached answers (0 disables it).
    max_option_chars : int
        Longest string naming one of a fixed set of choices, in characters: ``method``
        (of a solve and of a trace header) and the scoring options ``metric``,
        ``aggregate``, ``joint_concept`` and each of ``criteria``.
    max_name_chars : int
        Longest name or id, in characters: each player name, each action name, and a
        trace header's ``game_id``.
    max_title_chars : int
        Longest game title, in characters.
    max_stream_memory_bytes : int
        Memory budget of one trace stream (``ScoreTrace``, ``MonitorTrace`` or
        ``SamplePayoffs``): the scorer's worst case for the header's game, solution set
        and options (:func:`equilibria.solver.traces.memory.trace_memory_bound`; for
        ``SamplePayoffs``, the sample statistics and the answers built from them) plus a
        chunk's decoding, checked before anything is allocated. A header over it, or a chunk
        whose new history keys would grow the count table past it, ends the stream with
        ``RESOURCE_EXHAUSTED`` naming the field.
    max_trace_streams : int
        Most trace streams open at once; a stream beyond gets ``RESOURCE_EXHAUSTED``
        "busy ... retry later" at its header.
    max_trace_memory_bytes : int
        Memory all open trace streams may reserve together (each reserves its bound at
        its header and as it grows, and returns it when it ends in any way); past it a
        stream gets ``RESOURCE_EXHAUSTED`` "busy ... retry later".
    trace_idle_seconds : float
        A trace stream that sends nothing for this long (its header, a chunk or its
        end) is ended with ``DEADLINE_EXCEEDED`` and its memory returned, whatever the
        call's deadline.

    Notes
    -----
    A string past its cap is refused with ``INVALID_ARGUMENT`` naming the field, its
    length and the cap, before the service uses it; no error message quotes more than a
    short prefix of a caller's string (:func:`equilibria.solver.errors.quoted`).
    """

    max_message_bytes: int = 64 * 1024 * 1024
    max_payoff_entries: int = 4_000_000
    max_transition_entries: int = 16_000_000
    max_players: int = 16
    max_time_budget: float = 300.0
    workers: int = dataclasses.field(default_factory=available_cpus)
    max_queue: int = 256
    default_tolerance: float = 1e-9
    grace_seconds: float = 10.0
    max_trace_chunk_bytes: int = 1 << 20
    max_trace_bytes: int = 16 << 30
    max_trace_chunks: int = 1_000_000
    max_list_entries: int = 64
    max_policy_entries: int = 4_000_000
    worker_memory_bytes: int = 4 << 30
    recent_games: int = 64
    max_connection_age_seconds: float = 0.0
    max_connection_age_grace_seconds: float = 60.0
    cache_entries: int = 1024
    cache_bytes: int = 256 * 1024 * 1024
    max_option_chars: int = 64
    max_name_chars: int = 256
    max_title_chars: int = 4096
    max_stream_memory_bytes: int = 256 << 20
    max_trace_streams: int = 16
    max_trace_memory_bytes: int = 1 << 30
    trace_idle_seconds: float = 300.0
