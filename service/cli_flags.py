"""The flags of ``equilibria`` (:mod:`equilibria.service.cli`): value types, connection
security, the progress bar and the one-line command error.

Each type function names what is wrong with a value (argparse prefixes the flag); a usage
error exits with :data:`EXIT_USAGE`, a runtime error with :data:`EXIT_RUNTIME`.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any

from equilibria.v1.codec import EnumNames

__all__ = [
    "EXIT_RUNTIME",
    "EXIT_USAGE",
    "TOKEN_ENV",
    "CommandError",
    "ProgressBar",
    "connection",
    "security_arguments",
    "usage",
]

#: Exit status of a usage error: a bad flag value or name, an unusable file, an invalid request.
EXIT_USAGE = 2
#: Exit status of a runtime error: no server, a server failure, a report that cannot be written.
EXIT_RUNTIME = 1


class CommandError(Exception):
    """A failure a command reports as one line on stderr, and the exit status it ends with.

    Parameters
    ----------
    message : str
        What went wrong, naming the flag, file or status.
    status : int
        :data:`EXIT_USAGE` or :data:`EXIT_RUNTIME`.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the message holds
        self.status = status


def usage(message: str) -> CommandError:
    return CommandError(message, EXIT_USAGE)


# -- flag values: each type function names what is wrong (argparse prefixes the flag) ------------

#: Smallest worker memory cap ``serve`` accepts: below it a worker could not even start.
MIN_WORKER_MEMORY_MIB = 512


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def worker_memory(text: str) -> int:
    """``--worker-memory``: MiB, 0 (no cap) or at least :data:`MIN_WORKER_MEMORY_MIB`."""
    value = integer(text)
    if value != 0 and value < MIN_WORKER_MEMORY_MIB:
        raise argparse.ArgumentTypeError(
            f"{value} MiB is too small (0 for no cap, else at least {MIN_WORKER_MEMORY_MIB} MiB)"
        )
    return value


def positive_int(text: str) -> int:
    """A count or size flag: an integer of at least 1."""
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def count(text: str) -> int:
    """A count flag where 0 means the default (or no limit): an integer of at least 0."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def positive_seconds(text: str) -> float:
    """A duration flag: seconds, positive and finite."""
    value = number(text)
    if not (0.0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def positive_number(text: str) -> float:
    """A positive and finite number (``--alpha``)."""
    value = number(text)
    if not (0.0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def tolerance(text: str) -> float:
    """``--tol``: a finite number of at least 0 (0: the server's default)."""
    value = number(text)
    if not (0.0 <= value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a tolerance (a number >= 0)")
    return value


def confidence(text: str) -> float:
    """``--confidence``: a level in (0, 1)."""
    value = number(text)
    if not (0.0 < value < 1.0):
        raise argparse.ArgumentTypeError(f"{text} is not a confidence level in (0, 1)")
    return value


def items(text: str) -> list[str]:
    """The comma-separated items of a flag, spaces around them ignored: ``"nash, welfare_nash"``."""
    return [item.strip() for item in text.split(",") if item.strip()]


def numbers(text: str) -> tuple[float, ...]:
    """A comma-separated list of numbers."""
    return tuple(number(item) for item in items(text))


def indices(text: str) -> tuple[int, ...]:
    """A comma-separated list of indices: integers of at least 0."""
    values = tuple(integer(item) for item in items(text))
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of indices (integers >= 0)")
    return values


def words(text: str) -> tuple[str, ...]:
    """A comma-separated list of names the server checks (trace criteria)."""
    return tuple(items(text))


def names(table: EnumNames, what: str) -> Callable[[str], tuple[str, ...]]:
    """The type of a flag listing names of ``table``: at least one, each a known name."""

    def names(text: str) -> tuple[str, ...]:
        chosen = tuple(item.lower() for item in items(text))
        if not chosen:
            raise argparse.ArgumentTypeError(f"no {what} given; expected some of {', '.join(table.names)}")
        for name in chosen:
            if name not in table.values:
                raise argparse.ArgumentTypeError(
                    f"unknown {what} {name!r}; expected one of {', '.join(table.names)}"
                )
        return chosen

    return names


def log_level(text: str) -> str:
    level = text.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise argparse.ArgumentTypeError(f"{text!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


class ProgressBar:
    """A small tqdm-style progress bar on a text stream: ``[####......]  12/50  3.1 games/s``."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._start = time.perf_counter()

    def __call__(self, done: int, total: int | None) -> None:
        rate = done / max(time.perf_counter() - self._start, 1e-9)
        if total:
            filled = round(self._width * done / total)
            bar = f"[{'#' * filled}{'.' * (self._width - filled)}] {done}/{total}"
        else:
            bar = f"{done}"
        self._stream.write(f"\r{bar}  {rate:.1f} games/s")
        if total and done == total:
            self._stream.write("\n")
        self._stream.flush()


#: Environment variable holding the bearer token of ``solve`` and ``score`` (or ``--token-file``).
TOKEN_ENV = "EQUILIBRIA_TOKEN"


def client_arguments(
    parser: argparse.ArgumentParser,
    *,
    timeout: float,
    timeout_help: str,
    target: str = "localhost:50051",
    target_help: str = "host:port of the server (default localhost:50051)",
    token: bool = True,
) -> None:
    """The flags of a command that calls a server: ``--target``, TLS, the token, ``--timeout``."""
    parser.add_argument("--target", default=target, help=target_help)
    security_arguments(parser, token=token)
    parser.add_argument("--timeout", type=positive_seconds, default=timeout, metavar="S", help=timeout_help)


def security_arguments(parser: argparse.ArgumentParser, *, token: bool = True) -> None:
    """TLS (``--tls-ca``, mutual TLS ``--tls-cert``/``--tls-key``) and the bearer token."""
    parser.add_argument(
        "--tls-ca", default="", metavar="PEM", help="connect over TLS, trusting this CA (a --tls-cert server)"
    )
    parser.add_argument(
        "--tls-cert", default="", metavar="PEM", help="client certificate, for an mTLS server"
    )
    parser.add_argument("--tls-key", default="", metavar="PEM", help="its private key")
    if token:
        parser.add_argument(
            "--token-file",
            default="",
            metavar="FILE",
            help=f"file holding the bearer token of a server started with --token-file (default: ${TOKEN_ENV})",
        )


def connection(args: argparse.Namespace) -> dict[str, Any]:
    """Client.connect's tls and token arguments from the flags; a usage error when they do not fit."""
    from equilibria.client import TlsConfig

    if bool(args.tls_cert) != bool(args.tls_key):
        raise usage("--tls-cert and --tls-key go together")
    tls = None
    if args.tls_ca or args.tls_cert:
        tls = TlsConfig(
            root_certificates=args.tls_ca or None,
            certificate_chain=args.tls_cert or None,
            private_key=args.tls_key or None,
        )
    token = os.environ.get(TOKEN_ENV) or None
    if getattr(args, "token_file", ""):
        try:
            token = pathlib.Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise usage(f"--token-file: {exc.strerror or exc}: {args.token_file}") from None
        if not token:
            raise usage(f"--token-file: {args.token_file} is empty")
    return {"tls": tls, "token": token}
