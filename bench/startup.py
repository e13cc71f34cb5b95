"""How long ``equilibria serve`` takes to report SERVING: a first start and warm restarts (issue 20).

    python -m bench.startup --restarts 5

Starts ``equilibria serve --address 127.0.0.1:0 --workers 2`` and times, from the process's
start, when it prints "listening on" (the port is bound and calls are answered) and when
its gRPC health service first answers SERVING (the kernels of the server process and of the
workers are compiled or loaded). The first start uses an empty numba cache (a private
``NUMBA_CACHE_DIR``: the kernels are compiled); the restarts reuse that cache. Target (issue
20): a warm restart SERVING in under 3 s. Run it on a quiet machine: it measures start-up,
which another process's load stretches.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["main", "time_to_serving"]


def time_to_serving(env: dict[str, str], timeout: float = 600.0) -> tuple[float, float]:
    """Seconds from process start to "listening on", and to health SERVING."""
    cmd = [
        sys.executable,
        "-m",
        "equilibria.service.cli",
        "serve",
        "--address",
        "127.0.0.1:0",
        "--workers",
        "2",
    ]
    started = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert server.stdout is not None
        target = ""
        for line in server.stdout:
            match = re.search(r"listening on (\S+)", line)
            if match:
                target = match.group(1)
                break
        if not target:
            raise RuntimeError("the server did not start")
        listening = time.perf_counter() - started
        with grpc.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.perf_counter() - started < timeout:
                status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return listening, time.perf_counter() - started
                time.sleep(0.02)
        raise RuntimeError(f"not SERVING after {timeout} s")
    finally:
        server.terminate()
        server.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=5, help="warm restarts after the first start")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="equilibria-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        listening, serving = time_to_serving(env)
        print(f"first start (empty numba cache): listening {listening:.2f} s, SERVING {serving:.2f} s")
        warm = [time_to_serving(env) for _ in range(args.restarts)]
    for k, (listening, serving) in enumerate(warm, start=1):
        print(f"warm restart {k}: listening {listening:.2f} s, SERVING {serving:.2f} s")
    median = statistics.median(s for _, s in warm)
    print(
        f"warm restart to SERVING: median {median:.2f} s (target < 3 s: {'met' if median < 3 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
