"""The ``equilibria`` command line.

``equilibria serve``
    Run the server (default ``localhost:50051``) until SIGTERM/SIGINT.
``equilibria solve GAME``
    Solve a game on a running server and print the answer as a table: the equilibria
    (strategies as fractions with ``--exact``), whether the set is complete and why,
    and each requested concept's status and answer; ``--json`` prints one JSON object
    instead. ``GAME`` is a Gambit ``.nfg`` file (payoff or outcome format) or a JSON
    file holding ``{"payoffs": tensor}``, ``{"A": matrix, "B": matrix}`` or a
    stochastic game (see :mod:`equilibria.service.cli_games`).
``equilibria solve --batch DIR``
    Solve every game file of ``DIR`` over one ``SolveGames`` stream, with a progress
    bar on stderr; one JSON line per game (file, status, solution) on stdout or ``--out``.
``equilibria score TRACE.npz``
    Score a learning trace against a game's equilibria: one row per criterion with its
    verdict and evidence (``--json``: one JSON object).
``equilibria health``
    Ask a server's standard ``grpc.health.v1`` service whether it is serving: exit 0
    when SERVING, 1 otherwise (NOT_SERVING, unknown service, unreachable, timeout).
    The container's HEALTHCHECK.
``equilibria demo``
    Start a server on a free loopback port, solve a few classic games through the
    client, print the answers and stop the server.

A command that fails prints one line on stderr naming the problem and exits with
status 2 for a usage error (a bad flag value, an unknown name, an unreadable or
malformed file, a request the server refuses as invalid) or 1 for a runtime error
(no server reachable, a server error, a report that cannot be written).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import pathlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from equilibria.service import cli_flags as flags
from equilibria.service.limits import Limits
from equilibria.v1.codec import (
    CONCEPTS,
    SCORE_OPTIONS,
    SELECTION_CRITERIA,
    STAGE_SELECTION,
    WELFARE_FUNCTIONS,
)

EXIT_USAGE = flags.EXIT_USAGE
EXIT_RUNTIME = flags.EXIT_RUNTIME
CommandError = flags.CommandError

__all__ = ["EXIT_RUNTIME", "EXIT_USAGE", "CommandError", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(flags.EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _serve(args: argparse.Namespace) -> int:
    import os

    from equilibria.service.forkserver import start_forkserver

    start_forkserver()  # first: the workers' solver loads on one core while the server imports on the other
    from equilibria.service.auth import TOKENS_FILE_ENV, read_tokens
    from equilibria.service.logging_setup import configure_logging
    from equilibria.service.server import AddressUnavailable, ServerTls, serve

    configure_logging(args.log_level, args.log_format)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("equilibria serve: --tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        raise SystemExit("equilibria serve: --tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    if min(args.cache_entries, args.cache_bytes) < 0:
        raise SystemExit("equilibria serve: --cache-entries and --cache-bytes must be >= 0")
    try:
        tls = (
            ServerTls.from_files(args.tls_cert, args.tls_key, args.tls_client_ca or None)
            if args.tls_cert
            else None
        )
        token_file = args.token_file or os.environ.get(TOKENS_FILE_ENV, "")
        tokens = read_tokens(token_file) if token_file else ()
    except (OSError, ValueError) as exc:
        raise SystemExit(f"equilibria serve: {exc}") from exc
    limits = Limits(
        workers=args.workers or Limits().workers,
        max_time_budget=args.max_time_budget,
        grace_seconds=args.grace,
        max_connection_age_seconds=args.max_connection_age,
        max_connection_age_grace_seconds=args.max_connection_age_grace,
        cache_entries=args.cache_entries,
        cache_bytes=args.cache_bytes,
        worker_memory_bytes=args.worker_memory << 20,
        max_stream_memory_bytes=args.max_stream_memory << 20,
        max_trace_memory_bytes=args.max_trace_memory << 20,
        max_trace_streams=args.max_trace_streams,
        trace_idle_seconds=args.trace_idle_seconds,
    )
    if args.dashboard:
        from equilibria.service.dashboard import parse_loopback_address

        try:
            parse_loopback_address(args.dashboard)
        except ValueError as exc:
            raise SystemExit(f"equilibria serve: --dashboard: {exc}") from exc
    try:
        asyncio.run(
            serve(
                args.address,
                limits,
                args.dashboard or None,
                args.ray_address or None,
                tls=tls,
                tokens=tokens,
                metrics_address=args.metrics_address,
            )
        )
    except AddressUnavailable as exc:
        raise flags.CommandError(str(exc), flags.EXIT_RUNTIME) from exc
    _exit_at_once(0)
    return 0  # pragma: no cover - _exit_at_once does not return


def _exit_at_once(code: int) -> None:
    """End a server process that has stopped cleanly, without the interpreter's teardown.

    By now every call was answered or cancelled, the workers are gone and the log is
    written; finalizing the interpreter (grpc's threads, numba's and LLVM's state) would
    still take 1-2 s and push a SIGTERM shutdown past its grace period.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# -- solve and score: options, client calls, output ----------------------------------------------

#: ``solve`` options that apply to every game, by the client's keyword names.
_SOLVE_OPTIONS = (
    "concepts",
    "method",
    "tolerance",
    "max_equilibria",
    "time_budget",
    "welfare",
    "disagreement",
)
#: ``solve`` options of normal-form games only (``Client.solve``).
_NORMAL_FORM_OPTIONS = ("exact", "selection")
#: The flags of ``Client.solve``'s ``alpha_rank`` options (normal-form games only);
#: ``populations`` serves the dynamics and the ESS too.
_ALPHA_RANK_FLAGS = ("alpha", "population_size", "populations")
#: The flags of ``Client.solve``'s ``dynamics`` options, by flag (normal-form games only).
_DYNAMICS_FLAGS = {
    "rule": "rule",
    "temperature": "temperature",
    "samples": "samples",
    "grid": "grid",
    "horizon": "horizon",
    "sample_seed": "seed",
}
#: ``solve`` options of stochastic games only (``Client.solve_stochastic``).
_STOCHASTIC_OPTIONS = ("stage_selection", "priors", "seed")
#: ``score`` options, by ``Client.score_trace``'s keyword names.
_SCORE_OPTIONS = (*SCORE_OPTIONS, "method", "tolerance", "chunk_bytes")
#: Arrays of an ``.npz`` trace besides ``policies_<player>``.
_TRACE_ARRAYS = ("joint_actions", "history", "returns", "payoffs")
_POLICY_ARRAY = re.compile(r"policies_(\d+)")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The options the user gave (flags left out take the client's defaults)."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _credit_options(args: argparse.Namespace) -> dict[str, Any]:
    """``credit`` from the credit-assignment flags, the policy read from ``--policy FILE`` (a
    JSON list with each agent's policy, or ``{"joint": ...}`` for a correlated one)."""
    given = _given(args, ("team", "counterfactual", "default_actions"))
    if args.policy is None and not given:
        return {}
    import numpy as np
    from equilibria.client import CreditOptions

    policy: Any = None
    if args.policy is not None:
        try:
            with open(args.policy, encoding="utf-8") as handle:
                data = json.load(handle)
            if isinstance(data, dict) and set(data) == {"joint"}:
                policy = np.asarray(data["joint"], dtype=np.float64)
            elif isinstance(data, list) and data:
                policy = tuple(np.asarray(p, dtype=np.float64) for p in data)
            else:
                raise ValueError('expected a list of per-agent policies or {"joint": [...]}')
        except (OSError, ValueError, TypeError) as exc:
            raise flags.usage(f"--policy {args.policy}: {exc}") from None
    return {"credit": CreditOptions(policy=policy, **given)}


def _normal_form_options(args: argparse.Namespace) -> dict[str, Any]:
    """The normal-form options the user gave: the alpha-Rank flags gathered into ``alpha_rank``,
    the dynamics' into ``dynamics``, ``--populations`` into those and ``ess``."""
    from equilibria.client import AlphaRankOptions, DynamicsOptions, EssOptions

    options = _given(args, _NORMAL_FORM_OPTIONS)
    ranking = _given(args, _ALPHA_RANK_FLAGS)
    if ranking:
        options["alpha_rank"] = AlphaRankOptions(**ranking)
    dynamics = {
        field: getattr(args, flag)
        for flag, field in _DYNAMICS_FLAGS.items()
        if getattr(args, flag) is not None
    }
    if dynamics or args.populations is not None:
        options["dynamics"] = DynamicsOptions(**dynamics, **_given(args, ("populations",)))
    if args.populations is not None:
        options["ess"] = EssOptions(populations=args.populations)
    return options


def _flag(name: str) -> str:
    return "--" + {"tolerance": "tol"}.get(name, name).replace("_", "-")


def _read(reader: Callable[[str], Any], path: str) -> Any:
    """``reader(path)``, an unusable file becoming a usage error (see :mod:`~equilibria.service.cli_games`)."""
    from equilibria.service.cli_games import GameFileError

    try:
        return reader(path)
    except GameFileError as exc:
        raise flags.usage(str(exc)) from None


def _error_line(exc: Any) -> str:
    """``CODE: message (field f)``: the gRPC status name, the message and the fields it does not name."""
    fields = [field for field in exc.fields if field not in exc.message]
    return f"{exc.code}: {exc.message}" + (f" (field {', '.join(fields)})" if fields else "")


@contextlib.contextmanager
def _client_call(target: str) -> Iterator[None]:
    """Client failures as :class:`~equilibria.service.cli_flags.CommandError`: a refused request is a usage error, anything else 1."""
    from equilibria.client import EquilibriaError, InvalidArgumentError

    try:
        yield
    except InvalidArgumentError as exc:  # the server (or the client, before sending) refused the request
        raise flags.usage(_error_line(exc)) from None
    except EquilibriaError as exc:
        hint = ""
        if exc.code == "UNAVAILABLE":
            hint = f" (is a server running at {target}? 'equilibria serve' starts one)"
        raise flags.CommandError(_error_line(exc) + hint, flags.EXIT_RUNTIME) from None
    except ValueError as exc:  # a name or value the client refuses before anything is sent
        raise flags.usage(str(exc)) from None


def _write_report(path: str, render: Callable[[], str]) -> None:
    """Write the HTML report of ``--report``; called after the answer is printed, so a failure loses nothing."""
    try:
        pathlib.Path(path).write_text(render(), encoding="utf-8")
    except ImportError as exc:  # matplotlib missing: the message names the extra
        raise flags.CommandError(f"--report: {exc}", flags.EXIT_RUNTIME) from None
    except OSError as exc:
        target = exc.filename or path
        raise flags.CommandError(
            f"--report: cannot write {target}: {exc.strerror or exc}", flags.EXIT_RUNTIME
        ) from None


def _emit(text: str) -> None:
    print(text)
    sys.stdout.flush()  # the answer is out before any error line about the report


def _solve_batch(args: argparse.Namespace) -> int:
    """``solve --batch DIR``: every game file of DIR over one SolveGames stream, JSON lines out."""
    from equilibria.client import Client
    from equilibria.service.cli_games import GAME_SUFFIXES, GameFileError, read_game
    from equilibria.service.cli_output import markov_json, solution_json

    folder = pathlib.Path(args.batch)
    if not folder.is_dir():
        raise flags.usage(f"--batch {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in GAME_SUFFIXES and p.is_file())
    lines: list[dict[str, Any] | None] = [None] * len(files)
    games, positions = [], []
    for position, path in enumerate(files):
        try:
            games.append(read_game(path))
            positions.append(position)
        except GameFileError as exc:  # unreadable: reported, not sent
            lines[position] = {"file": path.name, "status": "UNREADABLE", "message": str(exc)}
    try:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115 - closed below
    except OSError as exc:
        raise flags.usage(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    failed = sum(line is not None for line in lines)
    options = {
        **_given(args, _SOLVE_OPTIONS + _STOCHASTIC_OPTIONS),
        **_normal_form_options(args),
        **_credit_options(args),
    }
    try:
        with (
            _client_call(args.target),
            Client.connect(args.target, timeout=args.timeout, **flags.connection(args)) as client,
        ):
            for item in client.solve_many(games, **options, progress=flags.ProgressBar(sys.stderr)):
                path = files[positions[item.index]]
                if item.ok:
                    result = item.result
                    solution = solution_json(result) if hasattr(result, "components") else markov_json(result)
                    lines[positions[item.index]] = {"file": path.name, "status": "OK", "solution": solution}
                else:
                    failed += 1
                    error = item.error
                    lines[positions[item.index]] = {
                        "file": path.name,
                        "status": error.code,
                        "message": error.message,
                        "fields": list(error.fields),
                    }
        for line in lines:
            out.write(json.dumps(line) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"equilibria solve: {len(files) - failed} of {len(files)} games solved", file=sys.stderr)
    return 0 if failed == 0 else 1


def _solve(args: argparse.Namespace) -> int:
    """``equilibria solve GAME``: one game on a running server; the table (or ``--json``) on stdout."""
    from equilibria.client import Client, StochasticGame
    from equilibria.service.cli_games import read_game
    from equilibria.service.cli_output import dumps, markov_json, markov_table, solution_json, solution_table

    if args.batch:
        if args.game:
            raise flags.usage("give GAME or --batch DIR, not both")
        if args.report or args.report_png:
            raise flags.usage("--report and --report-png apply to one GAME, not --batch")
        return _solve_batch(args)
    if not args.game:
        raise flags.usage("give GAME (a .nfg or .json file) or --batch DIR")
    if args.report_png and not args.report:
        raise flags.usage("--report-png writes the figures of --report: give --report too")
    game = _read(read_game, args.game)
    stochastic = isinstance(game, StochasticGame)
    kind = "a stochastic game" if stochastic else "a normal-form game"
    for name in (
        _NORMAL_FORM_OPTIONS + _ALPHA_RANK_FLAGS + tuple(_DYNAMICS_FLAGS)
        if stochastic
        else _STOCHASTIC_OPTIONS
    ):
        if getattr(args, name) is not None:
            raise flags.usage(f"{_flag(name)} does not apply to {args.game}: it is {kind}")
    if stochastic and args.report_png:
        raise flags.usage(f"--report-png: the report of {kind} has no figures")
    options = _given(args, _SOLVE_OPTIONS)
    with (
        _client_call(args.target),
        Client.connect(args.target, timeout=args.timeout, **flags.connection(args)) as client,
    ):
        if stochastic:
            result: Any = client.solve_stochastic(
                game, **options, **_given(args, _STOCHASTIC_OPTIONS), **_credit_options(args)
            )
        else:
            result = client.solve(game, **options, **_normal_form_options(args), **_credit_options(args))
    if stochastic:
        _emit(dumps(markov_json(result)) if args.json else markov_table(result))
    else:
        _emit(dumps(solution_json(result)) if args.json else solution_table(result))
    if args.report:
        if stochastic:
            _write_report(args.report, lambda: result.to_html())
        else:
            _write_report(args.report, lambda: result.to_html(game, png_dir=args.report_png or None))
    return 0


def _trace_arrays(path: str) -> tuple[list[Any] | None, dict[str, Any]]:
    """The per-player policies (``policies_0``, ...) and the other arrays of an ``.npz`` trace."""
    from equilibria.service.cli_games import read_trace

    arrays = _read(read_trace, path)
    players = {}
    for key in arrays:
        match = _POLICY_ARRAY.fullmatch(key)
        if match:
            players[int(match.group(1))] = arrays[key]
        elif key not in _TRACE_ARRAYS:
            raise flags.usage(
                f"{path}: unknown array {key!r}; a trace holds policies_0, policies_1, ..., "
                f"{', '.join(_TRACE_ARRAYS)}"
            )
    if players and sorted(players) != list(range(len(players))):
        raise flags.usage(
            f"{path}: policies of players {sorted(players)}: expected policies_0 to policies_{len(players) - 1}"
        )
    policies = [players[k] for k in sorted(players)] or None
    return policies, {key: arrays[key] for key in _TRACE_ARRAYS if key in arrays}


def _score(args: argparse.Namespace) -> int:
    """``equilibria score TRACE.npz``: arrays policies_0.., joint_actions, history, returns (+ payoffs)."""
    from equilibria.client import Client
    from equilibria.service.cli_games import read_game
    from equilibria.service.cli_output import dumps, score_json, score_table

    if args.report_png and not args.report:
        raise flags.usage("--report-png writes the figures of --report: give --report too")
    if args.game and args.game_id:
        raise flags.usage("give --game or --game-id, not both")
    policies, arrays = _trace_arrays(args.trace)
    if args.game:
        game = _read(read_game, args.game)
    elif args.game_id:
        game = args.game_id
    elif "payoffs" in arrays:
        game = arrays["payoffs"]
    else:
        raise flags.usage(f"{args.trace} holds no 'payoffs': give --game GAME or --game-id ID")
    with (
        _client_call(args.target),
        Client.connect(args.target, timeout=args.timeout, **flags.connection(args)) as client,
    ):
        score = client.score_trace(
            game,
            policies=policies,
            joint_actions=arrays.get("joint_actions"),
            history=arrays.get("history"),
            returns=arrays.get("returns"),
            **_given(args, _SCORE_OPTIONS),
        )
    _emit(dumps(score_json(score)) if args.json else score_table(score))
    if args.report:
        _write_report(args.report, lambda: score.to_html(trace=policies, png_dir=args.report_png or None))
    return 0


DEMO_GAMES = {
    "prisoner's dilemma": ([[3, 0], [5, 1]], [[3, 5], [0, 1]]),
    "stag hunt": ([[4, 0], [3, 3]], [[4, 3], [0, 3]]),
    "chicken": ([[6, 2], [7, 0]], [[6, 7], [2, 0]]),
    "degenerate (a continuum)": ([[1, 1], [0, 0]], [[1, 1], [0, 0]]),
}


def _demo(args: argparse.Namespace) -> int:
    from equilibria.client import Client
    from equilibria.service.server import start_server

    async def run() -> None:
        running = await start_server("127.0.0.1:0", Limits(workers=1))
        try:
            loop = asyncio.get_running_loop()
            target = f"127.0.0.1:{running.port}"
            print(f"equilibria demo: server on {target}")

            def solve_all() -> None:
                with Client.connect(target) as client:
                    for name, game in DEMO_GAMES.items():
                        result = client.solve(game, exact=True)
                        print(f"\n{name}: {len(result)} extreme equilibria, complete={result.complete}")
                        for eq in result.equilibria:
                            probs = " | ".join(" ".join(map(str, s)) for s in eq.exact_strategies or ())
                            print(
                                f"  ({probs})  payoffs {eq.payoffs.round(4).tolist()}  NashConv {eq.nash_conv:.1e}"
                            )
                        for k, comp in enumerate(result.components):
                            if any(len(v) > 1 for v in comp.vertices):
                                print(
                                    f"  component {k}: a continuum spanned by equilibria {comp.equilibrium_indices}"
                                )

            await loop.run_in_executor(None, solve_all)
        finally:
            await running.stop(grace=1.0)

    asyncio.run(run())
    return 0


#: Environment variable holding the default target of ``equilibria health``.
HEALTH_TARGET_ENV = "EQUILIBRIA_HEALTH_TARGET"


def _health(args: argparse.Namespace) -> int:
    """``equilibria health``: exit 0 when the server reports SERVING for the service, else 1."""
    from equilibria.client import Client, EquilibriaError, RetryConfig

    tls = flags.connection(args)["tls"]
    # One attempt: a health check reports what it sees, it does not wait for a server to come up.
    with Client.connect(
        args.target, timeout=args.timeout, retry=RetryConfig(max_attempts=1), tls=tls
    ) as client:
        try:
            status = client.health(args.service)
        except EquilibriaError as exc:
            print(f"equilibria health: {args.target}: {exc.code}: {exc.message}", file=sys.stderr)
            return 1
    print(f"equilibria health: {args.target}: {status}")
    return 0 if status == "SERVING" else 1


def _add_serve(sub: Any) -> None:
    """``equilibria serve``: bind address, workers, limits, TLS, tokens, dashboard, metrics, cache."""
    serve = sub.add_parser("serve", help="run the gRPC server")
    serve.add_argument("--address", default="localhost:50051", help="host:port to bind (port 0: any free)")
    serve.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes (default: one per available CPU: the affinity mask, capped by a container CPU quota)",
    )
    serve.add_argument("--max-time-budget", type=float, default=Limits().max_time_budget, help="seconds")
    serve.add_argument("--grace", type=float, default=Limits().grace_seconds, help="shutdown grace, seconds")
    serve.add_argument(
        "--max-connection-age",
        type=float,
        default=Limits().max_connection_age_seconds,
        help="seconds before a client connection is closed so clients rebalance (default 0: never)",
    )
    serve.add_argument(
        "--max-connection-age-grace",
        type=float,
        default=Limits().max_connection_age_grace_seconds,
        help="seconds calls in flight on an aged-out connection may still run",
    )
    serve.add_argument(
        "--dashboard",
        default="",
        metavar="HOST:PORT",
        help="serve the live MonitorTrace dashboard over HTTP on a loopback address (e.g. 127.0.0.1:8050)",
    )
    serve.add_argument(
        "--ray-address",
        default="",
        help="run SolveGames items on Ray: 'local' (a loopback-only Ray of --workers CPUs) or a "
        "cluster address (default: the local process pool)",
    )
    serve.add_argument("--tls-cert", default="", help="PEM certificate chain: serve TLS")
    serve.add_argument("--tls-key", default="", help="PEM private key of --tls-cert")
    serve.add_argument(
        "--tls-client-ca",
        default="",
        help="PEM CA certificates: require client certificates signed by it (mTLS)",
    )
    serve.add_argument(
        "--token-file",
        default="",
        help="file of bearer tokens, one per line, required on every call but health checks "
        "(default: $EQUILIBRIA_TOKENS_FILE; none: no authentication)",
    )
    serve.add_argument(
        "--metrics-address", default=None, help="host:port of a Prometheus /metrics endpoint (default: off)"
    )
    serve.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="json: one object per line"
    )
    serve.add_argument(
        "--cache-entries", type=int, default=Limits().cache_entries, help="solve-cache answers (0: no cache)"
    )
    serve.add_argument(
        "--cache-bytes",
        type=int,
        default=Limits().cache_bytes,
        help="solve-cache size in bytes (0: no cache)",
    )
    serve.add_argument(
        "--worker-memory",
        type=flags.worker_memory,
        default=Limits().worker_memory_bytes >> 20,
        metavar="MiB",
        help=f"address-space cap of each worker process, MiB (default {Limits().worker_memory_bytes >> 20}; "
        f"0: none; at least {flags.MIN_WORKER_MEMORY_MIB}: an idle worker maps about 470 MiB)",
    )
    defaults = Limits()
    serve.add_argument(
        "--max-stream-memory",
        type=flags.positive_int,
        default=defaults.max_stream_memory_bytes >> 20,
        metavar="MiB",
        help="memory budget of one ScoreTrace/MonitorTrace/SamplePayoffs stream, checked before allocation: a header or "
        f"chunk that would pass it gets RESOURCE_EXHAUSTED (default {defaults.max_stream_memory_bytes >> 20})",
    )
    serve.add_argument(
        "--max-trace-memory",
        type=flags.positive_int,
        default=defaults.max_trace_memory_bytes >> 20,
        metavar="MiB",
        help="memory all open trace streams may reserve together; past it a stream gets RESOURCE_EXHAUSTED "
        f"busy (default {defaults.max_trace_memory_bytes >> 20})",
    )
    serve.add_argument(
        "--max-trace-streams",
        type=flags.positive_int,
        default=defaults.max_trace_streams,
        metavar="N",
        help=f"trace streams open at once; more get RESOURCE_EXHAUSTED busy (default {defaults.max_trace_streams})",
    )
    serve.add_argument(
        "--trace-idle-seconds",
        type=flags.positive_seconds,
        default=defaults.trace_idle_seconds,
        metavar="S",
        help="end a trace stream that sends nothing for this long with DEADLINE_EXCEEDED "
        f"(default {defaults.trace_idle_seconds:g})",
    )
    serve.set_defaults(run=_serve)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        default="",
        metavar="OUT.html",
        help="also write a self-contained HTML report, after printing the answer "
        "(needs pip install 'equilibria[plot]')",
    )
    parser.add_argument(
        "--report-png",
        default="",
        metavar="DIR",
        help="also write the report's figures as PNG (with --report)",
    )


def _solve_options(solve: argparse.ArgumentParser) -> None:
    """The options of ``Client.solve``, ``Client.solve_stochastic`` and ``Client.solve_many``."""
    solve.add_argument(
        "--concepts",
        type=flags.names(CONCEPTS, "concept"),
        default=None,
        metavar="NAMES",
        help=f"comma-separated solution concepts, from {', '.join(CONCEPTS.names)} (default nash)",
    )
    solve.add_argument(
        "--method", default=None, help="a server method (see the server's GetServerInfo) (default auto)"
    )
    solve.add_argument(
        "--tol",
        "--tolerance",
        dest="tolerance",
        type=flags.tolerance,
        default=None,
        metavar="TOL",
        help="tolerance of the solve (default 0: the server's)",
    )
    solve.add_argument(
        "--exact",
        action="store_true",
        default=None,
        help="normal-form games: certify in exact arithmetic and print probabilities as fractions (1/3)",
    )
    solve.add_argument(
        "--max-equilibria",
        type=flags.count,
        default=None,
        metavar="N",
        help="stop after N equilibria (default 0: all)",
    )
    solve.add_argument(
        "--time-budget",
        type=flags.positive_seconds,
        default=None,
        metavar="S",
        help="server-side seconds per game; past it the solve is stopped (default: the server's cap)",
    )
    solve.add_argument(
        "--welfare",
        type=flags.names(WELFARE_FUNCTIONS, "welfare function"),
        default=None,
        metavar="NAMES",
        help="welfare functions of welfare_nash and the correlated concepts, from "
        f"{', '.join(WELFARE_FUNCTIONS.names)} (default utilitarian)",
    )
    solve.add_argument(
        "--disagreement",
        type=flags.numbers,
        default=None,
        metavar="X,Y,...",
        help="disagreement point of the Nash product, one payoff per player (default: the maximin values)",
    )
    solve.add_argument(
        "--selection",
        type=flags.names(SELECTION_CRITERIA, "selection criterion"),
        default=None,
        metavar="NAMES",
        help=f"normal-form games: criteria of the selection concept, from {', '.join(SELECTION_CRITERIA.names)} "
        "(default all)",
    )
    solve.add_argument(
        "--alpha",
        type=flags.positive_number,
        default=None,
        metavar="A",
        help="normal-form games: alpha_rank's selection intensity per unit of each player's payoff range "
        "(default: swept to the large-alpha limit)",
    )
    solve.add_argument(
        "--population-size",
        type=flags.positive_int,
        default=None,
        metavar="M",
        help="normal-form games: alpha_rank's individuals per population, 2 to 100000 (default 50)",
    )
    solve.add_argument(
        "--populations",
        choices=("auto", "multi", "single"),
        default=None,
        help="normal-form games: the populations of alpha_rank, replicator_dynamics and ess: one per player "
        "(multi), one for a symmetric 2-player game (single), or auto (single when symmetric; the default)",
    )
    solve.add_argument(
        "--rule",
        choices=("replicator", "logit", "best_response"),
        default=None,
        help="normal-form games: replicator_dynamics' dynamic (default replicator)",
    )
    solve.add_argument(
        "--temperature",
        type=flags.positive_number,
        default=None,
        metavar="T",
        help="normal-form games: the logit dynamic's temperature per unit of each player's payoff range "
        "(default 0.05)",
    )
    solve.add_argument(
        "--samples",
        type=flags.positive_int,
        default=None,
        metavar="N",
        help="normal-form games: replicator_dynamics' random starts (default 256)",
    )
    solve.add_argument(
        "--grid",
        type=flags.positive_int,
        default=None,
        metavar="G",
        help="normal-form games: replicator_dynamics starts from every interior point of the lattice with "
        "step 1/G on each simplex instead of random starts",
    )
    solve.add_argument(
        "--horizon",
        type=flags.positive_number,
        default=None,
        metavar="T",
        help="normal-form games: time each replicator_dynamics trajectory may run (default 200)",
    )
    solve.add_argument(
        "--sample-seed",
        type=flags.count,
        default=None,
        metavar="S",
        help="normal-form games: seed of replicator_dynamics' random starts (default 0)",
    )
    solve.add_argument(
        "--policy",
        default=None,
        metavar="FILE",
        help="credit_assignment's policy: a JSON list with each agent's mixed strategy (a stochastic game: "
        'its (S, a_i) policy), or {"joint": [...]} for a correlated policy of a normal-form game',
    )
    solve.add_argument(
        "--team",
        choices=("auto", "common", "sum"),
        default=None,
        help="credit_assignment's team return: the common payoff (auto, common) or the sum of the payoffs",
    )
    solve.add_argument(
        "--counterfactual",
        choices=("action", "aristocrat"),
        default=None,
        help="credit_assignment's counterfactual: the default action (the default) or the agent's own marginal",
    )
    solve.add_argument(
        "--default-actions",
        type=flags.indices,
        default=None,
        metavar="A,B,...",
        help="credit_assignment's default action of each agent (default 0 for every agent)",
    )
    solve.add_argument(
        "--stage-selection",
        type=flags.names(STAGE_SELECTION, "stage-selection criterion"),
        default=None,
        metavar="NAMES",
        help="finite-horizon stochastic games: backward-induction criteria, from "
        f"{', '.join(STAGE_SELECTION.names)} (default utilitarian)",
    )
    solve.add_argument(
        "--priors",
        type=flags.count,
        default=None,
        metavar="N",
        help="stochastic games: random priors of the homotopy (default 0: the server's)",
    )
    solve.add_argument(
        "--seed",
        type=flags.count,
        default=None,
        help="stochastic games: seed of the random priors (default 0)",
    )


def _add_solve(sub: Any) -> None:
    """``equilibria solve``: one game file or a folder of them (``--batch``) on a running server."""
    solve = sub.add_parser("solve", help="solve a game (.nfg or JSON file) on a running server")
    solve.add_argument(
        "game",
        nargs="?",
        default="",
        help="a Gambit .nfg file; JSON with 'payoffs' or 'A' and 'B'; or a stochastic game as JSON with "
        "'rewards', 'transitions' (dense, or {rows, next_states, probabilities}) and optionally "
        "'discount', 'horizon', 'initial_distribution', 'action_counts'",
    )
    _solve_options(solve)
    solve.add_argument("--json", action="store_true", help="print one compact JSON object instead of tables")
    flags.client_arguments(
        solve,
        timeout=60.0,
        timeout_help="deadline of the call, seconds (with --batch: of the whole batch) (default 60)",
    )
    solve.add_argument(
        "--batch", default="", metavar="DIR", help="solve every .nfg and .json game file of DIR (one stream)"
    )
    solve.add_argument("--out", default="", help="--batch: write the JSON lines here (default stdout)")
    _report_arguments(solve)
    solve.set_defaults(run=_solve)


def _add_score(sub: Any) -> None:
    """``equilibria score``: a trace file against a game on a running server."""
    score = sub.add_parser("score", help="score a learning trace (.npz) against a game's equilibria")
    score.add_argument(
        "trace",
        help="a .npz with policies_0, policies_1, ... (Z, a_i), and/or joint_actions (Z, n) with history (Z,), "
        "and/or returns (Z, n); optionally the game as payoffs",
    )
    score.add_argument("--game", default="", help="the game: .nfg, or JSON as for solve")
    score.add_argument(
        "--game-id", default="", help="instead of --game: the game_id of a game the server solved"
    )
    score.add_argument(
        "--criteria",
        type=flags.words,
        default=None,
        metavar="NAMES",
        help="comma-separated: last_iterate, expected_return, empirical_distribution, averaged_joint_policy, "
        "set_convergence, average_return, nash_conv (default: all the data supports)",
    )
    score.add_argument("--metric", default=None, help="tv (default), l1, l2, linf, hellinger, js, kl")
    score.add_argument("--aggregate", default=None, help="over players: max (default) or sum")
    score.add_argument(
        "--epsilons",
        type=flags.numbers,
        default=None,
        metavar="E,E,...",
        help="comma-separated convergence thresholds (default 0.1,0.05,0.01)",
    )
    score.add_argument(
        "--tail-window",
        type=flags.count,
        default=None,
        metavar="N",
        help="rows of the tail window (default 0: 10%% of the rows, at least 20)",
    )
    score.add_argument(
        "--confidence",
        type=flags.confidence,
        default=None,
        help="level of the confidence radii (default 0.95)",
    )
    score.add_argument(
        "--checkpoints",
        type=flags.count,
        default=None,
        metavar="N",
        help="most checkpoints per curve (default 64)",
    )
    score.add_argument(
        "--max-histories",
        type=flags.count,
        default=None,
        metavar="N",
        help="most distinct histories with sample counts (default 100000)",
    )
    score.add_argument(
        "--joint-concept",
        default=None,
        help="target of the empirical joint play: nash (default), nash_marginals, correlated, coarse_correlated",
    )
    score.add_argument(
        "--state-weights",
        type=flags.numbers,
        default=None,
        metavar="W,W,...",
        help="stochastic games: weights of the states in distances (default: the initial distribution)",
    )
    score.add_argument("--method", default=None, help="method of the game's solve (default auto)")
    score.add_argument(
        "--tol",
        "--tolerance",
        dest="tolerance",
        type=flags.tolerance,
        default=None,
        metavar="TOL",
        help="tolerance of the game's solve (default 0: the server's)",
    )
    score.add_argument(
        "--chunk-bytes",
        type=flags.positive_int,
        default=None,
        metavar="B",
        help="largest trace chunk sent, bytes (default and most: 1 MiB)",
    )
    score.add_argument(
        "--json", action="store_true", help="print one compact JSON object instead of the table"
    )
    flags.client_arguments(score, timeout=300.0, timeout_help="deadline of the call, seconds (default 300)")
    _report_arguments(score)
    score.set_defaults(run=_score)


def _add_health(sub: Any) -> None:
    """``equilibria health``: the container HEALTHCHECK."""
    health_check = sub.add_parser(
        "health", help="check a server's gRPC health service: exit 0 when SERVING, 1 otherwise"
    )
    flags.client_arguments(
        health_check,
        timeout=5.0,
        timeout_help="seconds (default 5)",
        target=os.environ.get(HEALTH_TARGET_ENV, "127.0.0.1:50051"),
        target_help=f"host:port of the server (default: ${HEALTH_TARGET_ENV}, else 127.0.0.1:50051)",
        token=False,  # health checks need no token
    )
    health_check.add_argument(
        "--service", default="", help="service name to check (default '': the server as a whole)"
    )
    health_check.set_defaults(run=_health)


def build_parser() -> argparse.ArgumentParser:
    """The ``equilibria`` argument parser: every subcommand with its flags.

    Each subcommand's namespace carries ``run``, the function that executes it. A usage
    error prints one line on stderr and exits with status 2.

    Examples
    --------
    >>> args = build_parser().parse_args(["serve", "--address", "127.0.0.1:0"])
    >>> args.command, args.address
    ('serve', '127.0.0.1:0')
    >>> build_parser().parse_args(["solve", "g.json", "--concepts", "nash, welfare_nash"]).concepts
    ('nash', 'welfare_nash')
    """
    parser = _Parser(prog="equilibria", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--log-level", type=flags.log_level, default="WARNING", help="logging level (default WARNING)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    _add_serve(sub)
    _add_solve(sub)
    _add_score(sub)
    _add_health(sub)

    demo = sub.add_parser("demo", help="start a local server, solve classic games, stop")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``equilibria`` command; returns its exit status.

    A :class:`~equilibria.service.cli_flags.CommandError` is printed as one line, ``equilibria COMMAND: message``, on
    stderr, after whatever the command already printed on stdout.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error already printed (2)
        return exc.code if isinstance(exc.code, int) else flags.EXIT_USAGE
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return int(args.run(args))
    except flags.CommandError as exc:
        sys.stdout.flush()
        print(f"equilibria {args.command}: {exc}", file=sys.stderr)
        return exc.status


if __name__ == "__main__":
    sys.exit(main())
