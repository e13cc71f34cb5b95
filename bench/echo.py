"""A trivial gRPC echo server: the transport floor that case 8 compares the service with.

One unary method, ``/bench.Echo/Echo``, registered through a generic handler with
identity (bytes in, bytes out) serializers, served by ``grpc.aio`` like the real
server. It returns the request bytes unchanged. Run it as a process::

    python -m bench.echo --address 127.0.0.1:0

It prints ``echo: listening on HOST:PORT`` and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import grpc

__all__ = ["METHOD", "serve", "main"]

#: Full method name of the echo call.
METHOD = "/bench.Echo/Echo"


async def _echo(request: bytes, context: Any) -> bytes:
    return request


async def serve(address: str) -> None:
    """Serve the echo method on ``address`` until SIGTERM/SIGINT."""
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {"Echo": grpc.unary_unary_rpc_method_handler(_echo)},  # no serializers: raw bytes
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(address)
    await server.start()
    host = address.rsplit(":", 1)[0]
    print(f"echo: listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1.0)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.echo``."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", default="127.0.0.1:0", help="host:port (port 0: any free)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.address))


if __name__ == "__main__":
    main()
