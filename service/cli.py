"""The ``equilibria`` command line.

``equilibria serve``
    Run the server (default ``localhost:50051``) until SIGTERM/SIGINT.
``equilibria solve GAME``
    Solve a game on a running server and print the solution set as JSON. ``GAME`` is a
    Gambit ``.nfg`` file (payoff or outcome format) or a JSON file holding
    ``{"payoffs": tensor}`` or ``{"A": matrix, "B": matrix}``.
``equilibria solve --batch DIR``
    Solve every game file of ``DIR`` over one ``SolveGames`` stream, with a progress
    bar on stderr; one JSON line per game (file, status, solution) on stdout or ``--out``.
``equilibria health``
    Ask a server's standard ``grpc.health.v1`` service whether it is serving: exit 0
    when SERVING, 1 otherwise (NOT_SERVING, unknown service, unreachable, timeout).
    The container's HEALTHCHECK.
``equilibria demo``
    Start a server on a free loopback port, solve a few classic games through the
    client, print the answers and stop the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import pathlib
import sys
import time
from typing import Any

from equilibria.service.limits import Limits

__all__ = ["build_parser", "main"]


#: Smallest worker memory cap ``serve`` accepts: below it a worker could not even start.
_MIN_WORKER_MEMORY_MIB = 512


def _worker_memory(text: str) -> int:
    """``--worker-memory``: MiB, 0 (no cap) or at least :data:`_MIN_WORKER_MEMORY_MIB`."""
    value = int(text)
    if value != 0 and value < _MIN_WORKER_MEMORY_MIB:
        raise argparse.ArgumentTypeError(
            f"{value} MiB is too small (0 for no cap, else at least {_MIN_WORKER_MEMORY_MIB} MiB)"
        )
    return value


def _positive_int(text: str) -> int:
    """A count or size flag: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _positive_seconds(text: str) -> float:
    """A duration flag: seconds, positive and finite."""
    value = float(text)
    if not (0.0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _serve(args: argparse.Namespace) -> int:
    import os

    from equilibria.service.auth import TOKENS_FILE_ENV, read_tokens
    from equilibria.service.logging_setup import configure_logging
    from equilibria.service.server import ServerTls, serve

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


def _status_json(result: Any) -> list[dict[str, str]]:
    return [{"concept": c.concept, "status": c.status, "reason": c.reason} for c in result.concept_status]


def _solution_json(result: Any) -> dict[str, Any]:
    return {
        "game_id": result.game_id,
        "method": result.method,
        "method_reason": result.method_reason,
        "complete": result.complete,
        "warnings": list(result.warnings),
        "concepts": list(result.concepts),
        "concept_status": _status_json(result),
        "pareto_indices": list(result.pareto_indices),
        "welfare_optima": [
            {
                "function": w.function,
                "value": w.value,
                "equilibria": list(w.equilibrium_indices),
                "method": w.method,
                "certified": w.certified,
            }
            for w in result.welfare_optima
        ],
        "equilibria": [
            {
                "strategies": [s.tolist() for s in eq.strategies],
                "exact_strategies": (
                    [[str(p) for p in s] for s in eq.exact_strategies] if eq.exact_strategies else None
                ),
                "payoffs": eq.payoffs.tolist(),
                "regrets": eq.regrets.tolist(),
                "nash_conv": eq.nash_conv,
                "components": list(eq.components),
            }
            for eq in result.equilibria
        ],
        "components": [
            {"equilibria": list(c.equilibrium_indices), "vertices": [v.tolist() for v in c.vertices]}
            for c in result.components
        ],
    }


def _markov_solution_json(result: Any) -> dict[str, Any]:
    return {
        "game_id": result.game_id,
        "method": result.method,
        "method_reason": result.method_reason,
        "complete": result.complete,
        "warnings": list(result.warnings),
        "concepts": list(result.concepts),
        "concept_status": _status_json(result),
        "pareto_indices": list(result.pareto_indices),
        "welfare_optima": [
            {
                "function": w.function,
                "value": w.value,
                "equilibria": list(w.equilibrium_indices),
                "certified": w.certified,
            }
            for w in result.welfare_optima
        ],
        "zero_sum": None
        if result.zero_sum is None
        else {
            "values": result.zero_sum.values.tolist(),
            "policies": [p.tolist() for p in result.zero_sum.policies],
            "error_bound": result.zero_sum.error_bound,
        },
        "stage_selections": [
            {
                "criterion": s.criterion,
                "decided": s.decided,
                "equilibrium": s.equilibrium_index,
                "reason": s.reason,
            }
            for s in result.stage_selections
        ],
        "equilibria": [
            {
                "policies": [p.tolist() for p in eq.policies],
                "values": eq.values.tolist(),
                "payoffs": eq.payoffs.tolist(),
                "nash_conv": eq.nash_conv,
                "max_state_gap": eq.max_state_gap,
                "found_by": list(eq.found_by),
            }
            for eq in result.equilibria
        ],
    }


#: Keys of a stochastic game in a JSON file, besides "rewards" and "transitions".
_STOCHASTIC_KEYS = ("discount", "horizon", "initial_distribution", "action_counts")


def _load_game(path: pathlib.Path) -> Any:
    """A normal-form game (.nfg, or JSON with payoffs / A and B) or a stochastic game's JSON dict.

    An unreadable file ends the command with one line naming the file and the reason.
    """
    try:
        return _read_game(path)
    except (ValueError, KeyError, OSError) as exc:  # InvalidGameError and JSONDecodeError are ValueErrors
        raise SystemExit(f"equilibria: {path}: unreadable: {exc}") from None


def _read_game(path: pathlib.Path) -> Any:
    if path.suffix.lower() == ".nfg":
        from equilibria.solver.normal_form.nfg import read_nfg

        return read_nfg(path)
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("a game file holds a JSON object")
    if "rewards" in data and "transitions" in data:
        return data
    if "payoffs" in data:
        return data["payoffs"]
    if "A" in data and "B" in data:
        return (data["A"], data["B"])
    raise SystemExit(
        f"equilibria solve: {path} must hold 'payoffs', both 'A' and 'B', or 'rewards' and 'transitions'"
    )


def _stochastic_game(game: dict[str, Any]) -> Any:
    """The wire form of a stochastic game's JSON dict (what ``Client.solve_many`` sends)."""
    from equilibria.client import encode_stochastic_game

    transitions = game["transitions"]
    if isinstance(transitions, dict):  # coordinate form
        transitions = (transitions["rows"], transitions["next_states"], transitions["probabilities"])
    return encode_stochastic_game(
        game["rewards"], transitions, **{key: game[key] for key in _STOCHASTIC_KEYS if key in game}
    )


#: Files ``solve --batch`` reads from its folder.
_GAME_SUFFIXES = (".nfg", ".json")


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


def _solve_batch(args: argparse.Namespace) -> int:
    """``solve --batch DIR``: every game file of DIR over one SolveGames stream, JSON lines out."""
    from equilibria.client import Client, EquilibriaError

    folder = pathlib.Path(args.batch)
    if not folder.is_dir():
        raise SystemExit(f"equilibria solve: --batch {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _GAME_SUFFIXES and p.is_file())
    lines: list[dict[str, Any] | None] = [None] * len(files)
    games, positions = [], []
    for position, path in enumerate(files):
        try:
            game = _read_game(path)
            games.append(_stochastic_game(game) if isinstance(game, dict) else game)
            positions.append(position)
        except (SystemExit, ValueError, KeyError, OSError) as exc:  # unreadable: reported, not sent
            lines[position] = {"file": path.name, "status": "UNREADABLE", "message": str(exc)}
    out = open(args.out, "w") if args.out else sys.stdout  # noqa: SIM115 - closed below
    failed = sum(line is not None for line in lines)
    try:
        with Client.connect(args.target, timeout=args.timeout) as client:
            try:
                for item in client.solve_many(
                    games,
                    concepts=args.concepts.split(","),
                    method=args.method,
                    exact=args.exact,
                    time_budget=args.time_budget,
                    stage_selection=args.stage_selection.split(",") if args.stage_selection else (),
                    progress=ProgressBar(sys.stderr),
                ):
                    path = files[positions[item.index]]
                    if item.ok:
                        solution = (
                            _solution_json(item.result)
                            if hasattr(item.result, "components")
                            else _markov_solution_json(item.result)
                        )
                        lines[positions[item.index]] = {
                            "file": path.name,
                            "status": "OK",
                            "solution": solution,
                        }
                    else:
                        failed += 1
                        error = item.error
                        lines[positions[item.index]] = {
                            "file": path.name,
                            "status": error.code,
                            "message": error.message,
                            "fields": list(error.fields),
                        }
            except EquilibriaError as exc:
                print(f"equilibria solve: {exc.code}: {exc.message}", file=sys.stderr)
                return 2
        for line in lines:
            out.write(json.dumps(line) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"equilibria solve: {len(files) - failed} of {len(files)} games solved", file=sys.stderr)
    return 0 if failed == 0 else 1


def _solve(args: argparse.Namespace) -> int:
    from equilibria.client import Client, EquilibriaError

    if args.batch:
        if args.game:
            raise SystemExit("equilibria solve: give GAME or --batch DIR, not both")
        if args.report or args.report_png:
            raise SystemExit("equilibria solve: --report and --report-png apply to one GAME, not --batch")
        return _solve_batch(args)
    if not args.game:
        raise SystemExit("equilibria solve: give GAME or --batch DIR")
    game = _load_game(pathlib.Path(args.game))
    concepts = args.concepts.split(",")
    with Client.connect(args.target, timeout=args.timeout) as client:
        try:
            if isinstance(game, dict):
                transitions = game["transitions"]
                if isinstance(transitions, dict):  # coordinate form
                    transitions = (
                        transitions["rows"],
                        transitions["next_states"],
                        transitions["probabilities"],
                    )
                result = client.solve_stochastic(
                    game["rewards"],
                    transitions,
                    **{key: game[key] for key in _STOCHASTIC_KEYS if key in game},
                    concepts=concepts,
                    method=args.method,
                    stage_selection=args.stage_selection.split(",") if args.stage_selection else (),
                )
                document = _markov_solution_json(result)
            else:
                result = client.solve(game, concepts=concepts, method=args.method, exact=args.exact)
                document = _solution_json(result)
        except EquilibriaError as exc:
            print(f"equilibria solve: {exc.code}: {exc.message} {list(exc.fields)}", file=sys.stderr)
            return 2
    if args.report:
        if isinstance(game, dict):
            _write_report(args, "solve", lambda: result.to_html())
        else:
            _write_report(args, "solve", lambda: result.to_html(game, png_dir=args.report_png or None))
    json.dump(document, sys.stdout, indent=2)
    print()
    return 0


DEMO_GAMES = {
    "prisoner's dilemma": ([[3, 0], [5, 1]], [[3, 5], [0, 1]]),
    "stag hunt": ([[4, 0], [3, 3]], [[4, 3], [0, 3]]),
    "chicken": ([[6, 2], [7, 0]], [[6, 7], [2, 0]]),
    "degenerate (a continuum)": ([[1, 1], [0, 0]], [[1, 1], [0, 0]]),
}


def _trace_json(score: Any) -> dict[str, Any]:
    return {
        "z_seen": score.z_seen,
        "selected": list(score.selected) if score.selected else None,
        "selected_by": score.selected_by,
        "switched": score.switched,
        "metric": score.metric,
        "epsilons": list(score.epsilons),
        "warnings": list(score.warnings),
        "criteria": {
            c.name: {
                "verdict": c.verdict,
                "epsilon": c.epsilon,
                "evidence": c.evidence,
                "final_value": c.final_value,
                "fitted_rate": c.fitted_rate,
                "z0": {str(eps): z0 for eps, z0 in c.z0.items()},
                "confidence_radius": c.confidence_radius,
                "nearest_solution": list(c.nearest_solution) if c.nearest_solution else None,
                "switched": c.switched,
                "checkpoints_z": c.checkpoints_z.tolist(),
                "values": c.values.tolist(),
            }
            for c in score.criteria
        },
    }


def _score(args: argparse.Namespace) -> int:
    """``equilibria score TRACE.npz``: arrays policies_0.., joint_actions, history, returns (+ payoffs)."""
    import numpy as np
    from equilibria.client import Client, EquilibriaError

    with np.load(args.trace) as data:
        arrays = {key: data[key] for key in data.files}
    if args.game:
        game = _load_game(pathlib.Path(args.game))
    elif "payoffs" in arrays:
        game = arrays["payoffs"]
    else:
        raise SystemExit("equilibria score: give --game GAME or store 'payoffs' in the .npz")
    if isinstance(game, dict):  # a stochastic game's JSON
        from equilibria.solver import StochasticGame

        transitions = game["transitions"]
        if isinstance(transitions, dict):
            transitions = (transitions["rows"], transitions["next_states"], transitions["probabilities"])
        game = StochasticGame(
            game["rewards"], transitions, **{key: game[key] for key in _STOCHASTIC_KEYS if key in game}
        )
    policy_keys = sorted((k for k in arrays if k.startswith("policies_")), key=lambda k: int(k.split("_")[1]))
    with Client.connect(args.target, timeout=args.timeout) as client:
        try:
            score = client.score_trace(
                game,
                policies=[arrays[k] for k in policy_keys] or None,
                joint_actions=arrays.get("joint_actions"),
                history=arrays.get("history"),
                returns=arrays.get("returns"),
                criteria=args.criteria.split(",") if args.criteria else (),
                metric=args.metric,
                epsilons=[float(e) for e in args.epsilons.split(",")] if args.epsilons else (),
            )
        except EquilibriaError as exc:
            print(f"equilibria score: {exc.code}: {exc.message} {list(exc.fields)}", file=sys.stderr)
            return 2
    if args.report:
        policies = [arrays[k] for k in policy_keys] or None
        _write_report(args, "score", lambda: score.to_html(trace=policies, png_dir=args.report_png or None))
    json.dump(_trace_json(score), sys.stdout, indent=2)
    print()
    return 0


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


def _write_report(args: argparse.Namespace, command: str, render: Any) -> None:
    """Write the HTML report of ``--report``; exit with a message naming the extra when matplotlib is missing."""
    try:
        page = render()
    except ImportError as exc:
        raise SystemExit(f"equilibria {command}: {exc}") from exc
    pathlib.Path(args.report).write_text(page, encoding="utf-8")


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        default="",
        metavar="OUT.html",
        help="also write a self-contained HTML report (needs pip install 'equilibria[plot]')",
    )
    parser.add_argument(
        "--report-png", default="", metavar="DIR", help="also write the report's figures as PNG"
    )


#: Environment variable holding the default target of ``equilibria health``.
HEALTH_TARGET_ENV = "EQUILIBRIA_HEALTH_TARGET"


def _health(args: argparse.Namespace) -> int:
    """``equilibria health``: exit 0 when the server reports SERVING for the service, else 1."""
    from equilibria.client import Client, EquilibriaError, RetryConfig, TlsConfig

    tls = None
    if args.tls_ca or args.tls_cert:
        tls = TlsConfig(
            root_certificates=args.tls_ca or None,
            certificate_chain=args.tls_cert or None,
            private_key=args.tls_key or None,
        )
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
        type=_worker_memory,
        default=Limits().worker_memory_bytes >> 20,
        metavar="MiB",
        help=f"address-space cap of each worker process, MiB (default {Limits().worker_memory_bytes >> 20}; "
        f"0: none; at least {_MIN_WORKER_MEMORY_MIB}: an idle worker maps about 470 MiB)",
    )
    defaults = Limits()
    serve.add_argument(
        "--max-stream-memory",
        type=_positive_int,
        default=defaults.max_stream_memory_bytes >> 20,
        metavar="MiB",
        help="memory budget of one ScoreTrace/MonitorTrace stream, checked before allocation: a header or "
        f"chunk that would pass it gets RESOURCE_EXHAUSTED (default {defaults.max_stream_memory_bytes >> 20})",
    )
    serve.add_argument(
        "--max-trace-memory",
        type=_positive_int,
        default=defaults.max_trace_memory_bytes >> 20,
        metavar="MiB",
        help="memory all open trace streams may reserve together; past it a stream gets RESOURCE_EXHAUSTED "
        f"busy (default {defaults.max_trace_memory_bytes >> 20})",
    )
    serve.add_argument(
        "--max-trace-streams",
        type=_positive_int,
        default=defaults.max_trace_streams,
        metavar="N",
        help=f"trace streams open at once; more get RESOURCE_EXHAUSTED busy (default {defaults.max_trace_streams})",
    )
    serve.add_argument(
        "--trace-idle-seconds",
        type=_positive_seconds,
        default=defaults.trace_idle_seconds,
        metavar="S",
        help="end a trace stream that sends nothing for this long with DEADLINE_EXCEEDED "
        f"(default {defaults.trace_idle_seconds:g})",
    )
    serve.set_defaults(run=_serve)


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
    solve.add_argument("--concepts", default="nash", help="comma-separated, e.g. nash,welfare_nash")
    solve.add_argument("--target", default="localhost:50051")
    solve.add_argument("--method", default="auto")
    solve.add_argument("--exact", action="store_true")
    solve.add_argument(
        "--stage-selection", default="", help="finite-horizon stochastic games: comma-separated criteria"
    )
    solve.add_argument("--timeout", type=float, default=60.0, help="deadline of the call (the whole batch)")
    solve.add_argument(
        "--batch", default="", help="solve every .nfg and .json game file of this folder (one stream)"
    )
    solve.add_argument("--out", default="", help="--batch: write the JSON lines here (default stdout)")
    solve.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="--batch: seconds per game (default: the server's cap)",
    )
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
    score.add_argument("--criteria", default="", help="comma-separated (default: all the data supports)")
    score.add_argument("--metric", default="", help="tv (default), l1, l2, linf, hellinger, js, kl")
    score.add_argument("--epsilons", default="", help="comma-separated thresholds (default 0.1,0.05,0.01)")
    score.add_argument("--target", default="localhost:50051")
    score.add_argument("--timeout", type=float, default=300.0)
    _report_arguments(score)
    score.set_defaults(run=_score)


def _add_health(sub: Any) -> None:
    """``equilibria health``: the container HEALTHCHECK."""
    health_check = sub.add_parser(
        "health", help="check a server's gRPC health service: exit 0 when SERVING, 1 otherwise"
    )
    health_check.add_argument(
        "--target",
        default=os.environ.get(HEALTH_TARGET_ENV, "127.0.0.1:50051"),
        help=f"host:port of the server (default: ${HEALTH_TARGET_ENV}, else 127.0.0.1:50051)",
    )
    health_check.add_argument(
        "--service", default="", help="service name to check (default '': the server as a whole)"
    )
    health_check.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    health_check.add_argument(
        "--tls-ca", default="", metavar="PEM", help="check over TLS, trusting this CA (a --tls-cert server)"
    )
    health_check.add_argument(
        "--tls-cert", default="", metavar="PEM", help="client certificate, for an mTLS server"
    )
    health_check.add_argument("--tls-key", default="", metavar="PEM", help="its private key")
    health_check.set_defaults(run=_health)


def build_parser() -> argparse.ArgumentParser:
    """The ``equilibria`` argument parser: every subcommand with its flags.

    Each subcommand's namespace carries ``run``, the function that executes it.

    Examples
    --------
    >>> args = build_parser().parse_args(["serve", "--address", "127.0.0.1:0"])
    >>> args.command, args.address
    ('serve', '127.0.0.1:0')
    """
    parser = argparse.ArgumentParser(prog="equilibria", description=__doc__.split("\n\n")[0])
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    sub = parser.add_subparsers(dest="command", required=True)

    _add_serve(sub)
    _add_solve(sub)
    _add_score(sub)
    _add_health(sub)

    demo = sub.add_parser("demo", help="start a local server, solve classic games, stop")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``equilibria`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
