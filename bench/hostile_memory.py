"""Server memory under two hostile loads of issue 19: oversized strings and unauthenticated bodies.

Starts ``equilibria serve`` on a loopback port (one worker) and reads the server
process's ``VmRSS`` from ``/proc``::

    python -m bench.hostile_memory strings --field method --calls 10
    python -m bench.hostile_memory unauthenticated --calls 8

``strings`` sends ``--calls`` SolveGame requests, one after another, whose ``--field``
(method, title or player_names) holds a 60 MiB string, and prints the answer and the RSS
after each. ``unauthenticated`` starts the server with a tokens file and sends ``--calls``
concurrent SolveGame calls of a 64 MiB message without a token, through a counting TCP
proxy, and prints the RSS peak (sampled every 10 ms) and how many bytes the clients got
onto the wire. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import grpc
import numpy as np
from equilibria.v1 import equilibria_service_pb2 as service_pb2
from equilibria.v1 import game_pb2
from equilibria.v1.codec import encode_tensor

__all__ = ["main"]

SOLVE_GAME = "/equilibria.v1.EquilibriaService/SolveGame"
STAG_HUNT = np.array([[[4, 0], [3, 3]], [[4, 3], [0, 3]]], dtype=float)
UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextlib.contextmanager
def server(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """An ``equilibria serve`` process on 127.0.0.1 and its address."""
    cmd = [sys.executable, "-m", "equilibria.service.cli", "serve", "--address", "127.0.0.1:0", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if match := re.search(r"listening on (\S+)", line):
                break
        else:
            raise RuntimeError("the server did not start")
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield proc, match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def strings(field: str, calls: int) -> None:
    """RSS after each of ``calls`` SolveGame requests with a 60 MiB string in ``field``."""
    big = "m" * (60 << 20)
    request = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=encode_tensor(STAG_HUNT))
    )
    if field == "method":
        request.method = big
    elif field == "title":
        request.normal_form_game.title = big
    else:
        request.normal_form_game.player_names.extend([big, "column"])
    body = request.SerializeToString()
    with (
        server("--workers", "1") as (proc, target),
        grpc.insecure_channel(target, options=UNLIMITED) as channel,
    ):
        call = channel.unary_unary(SOLVE_GAME)
        time.sleep(1.0)
        base = rss_mib(proc.pid)
        print(f"{field}: 60 MiB string; server RSS before {base:.0f} MiB")
        for k in range(calls):
            started = time.perf_counter()
            try:
                call(body, timeout=120)
                answer = "OK"
            except grpc.RpcError as err:
                answer = f"{err.code().name} ({len(err.details())} chars: {err.details()[:70]!r})"
            rss = rss_mib(proc.pid)
            print(
                f"call {k + 1}: {answer} in {time.perf_counter() - started:.2f} s; RSS {rss:.0f} MiB (+{rss - base:.0f})"
            )
        time.sleep(1.0)
        rss = rss_mib(proc.pid)
        print(f"1 s after the last call: RSS {rss:.0f} MiB (+{rss - base:.0f})")


def _counting_proxy(target: str, counted: list[int]) -> str:
    """A loopback TCP proxy to ``target`` that adds the bytes clients send to ``counted[0]``."""
    listener = socket.create_server(("127.0.0.1", 0))
    host, port = target.rsplit(":", 1)

    def pump(src: socket.socket, dst: socket.socket, count: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(1 << 16):
                if count:
                    counted[0] += len(data)
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        while True:
            client, _ = listener.accept()
            upstream = socket.create_connection((host, int(port)))
            threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"127.0.0.1:{listener.getsockname()[1]}"


def unauthenticated(calls: int) -> None:
    """RSS peak while ``calls`` concurrent 64 MiB SolveGame calls without a token are refused."""
    payoffs = game_pb2.Tensor(shape=[1], data=bytes((64 << 20) - 4096))
    body = service_pb2.SolveGameRequest(
        normal_form_game=game_pb2.NormalFormGame(payoffs=payoffs)
    ).SerializeToString()
    with tempfile.TemporaryDirectory() as folder:
        tokens = pathlib.Path(folder) / "tokens"
        tokens.write_text("bench-token\n")
        with server("--workers", "1", "--token-file", str(tokens)) as (proc, target):
            counted = [0]
            proxy = _counting_proxy(target, counted)
            time.sleep(1.0)
            base = rss_mib(proc.pid)
            peak, done = [base], threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mib(proc.pid))
                    time.sleep(0.01)

            answers: list[str] = []

            def call() -> None:
                options = [*UNLIMITED, ("grpc.use_local_subchannel_pool", 1)]  # a connection each
                with grpc.insecure_channel(proxy, options=options) as channel:
                    try:
                        channel.unary_unary(SOLVE_GAME)(body, timeout=60)
                        answers.append("OK")
                    except grpc.RpcError as err:
                        answers.append(err.code().name)

            threading.Thread(target=sample, daemon=True).start()
            threads = [threading.Thread(target=call) for _ in range(calls)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            time.sleep(0.5)
            done.set()
            after = rss_mib(proc.pid)
    print(
        f"{calls} concurrent {len(body) / 2**20:.0f} MiB messages without a token: {sorted(set(answers))} in {elapsed:.2f} s"
    )
    print(
        f"clients got {counted[0] / 2**20:.1f} MiB of their {calls * len(body) / 2**20:.0f} MiB onto the wire"
    )
    print(
        f"server RSS {base:.0f} MiB before; peak +{peak[0] - base:.0f} MiB; 0.5 s after +{after - base:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: ``strings [--field F] [--calls N]`` or ``unauthenticated [--calls N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.hostile_memory", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="load", required=True)
    one = sub.add_parser("strings", help="60 MiB strings in a request field")
    one.add_argument("--field", choices=("method", "title", "player_names"), default="method")
    one.add_argument("--calls", type=int, default=10)
    two = sub.add_parser("unauthenticated", help="concurrent 64 MiB messages without a token")
    two.add_argument("--calls", type=int, default=8)
    args = parser.parse_args(argv)
    if args.load == "strings":
        strings(args.field, args.calls)
    else:
        unauthenticated(args.calls)


if __name__ == "__main__":
    main()
