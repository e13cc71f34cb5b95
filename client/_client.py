"""``Client`` (blocking) and ``AsyncClient`` (asyncio): the SDK's front door."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
import numpy as np
from equilibria.client._batch import BatchItem, Progress
from equilibria.client._convert import (
    CHUNK_BYTES,
    SCORE_OPTIONS,
    BatchPlan,
    batch_items_from_proto,
    batch_requests,
    markov_solution_set_from_response,
    player_names,
    response_score,
    response_solution,
    score_options,
    server_info_from_proto,
    server_info_request,
    solution_set_from_response,
    solve_request,
    stochastic_solve_request,
    trace_chunk_requests,
    trace_header,
)
from equilibria.client._errors import InvalidArgumentError, input_error, map_rpc_error
from equilibria.client._evaluation import (
    AlphaRankOptions,
    CreditOptions,
    DynamicsOptions,
    EssOptions,
    NoiseOptions,
)
from equilibria.client._retry import RetryConfig
from equilibria.client._samples import (
    SAMPLE_CHUNK_BYTES,
    SAMPLE_CONCEPTS,
    AsyncPayoffSampler,
    PayoffSampler,
    sampler_header,
)
from equilibria.client._security import (
    TlsConfig,
    aio_token_interceptors,
    channel_credentials,
    tls_options,
    token_interceptors,
)
from equilibria.client._trace import TraceScore
from equilibria.client._types import MarkovSolutionSet, ServerInfo, SolutionSet
from equilibria.client._typing import FloatArray
from equilibria.v1 import equilibria_service_pb2_grpc as service_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["Client", "AsyncClient", "DEFAULT_CONCEPTS", "DEFAULT_TARGET"]

DEFAULT_TARGET = "localhost:50051"
#: Solution concepts of a solve when the caller names none.
DEFAULT_CONCEPTS: tuple[str, ...] = ("nash",)
_DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024
T = TypeVar("T")


def _channel_options(max_message_bytes: int, load_balancing: str | None = None) -> list[tuple[str, Any]]:
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.enable_retries", 0),  # the client's own RetryConfig decides
    ]
    if load_balancing:
        config = {"loadBalancingConfig": [{load_balancing: {}}]}
        options.append(("grpc.service_config", json.dumps(config)))
    return options


def _batch_options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The solve_request keyword arguments of a ``solve_many`` call, from its arguments."""
    names = (
        "concepts",
        "method",
        "tolerance",
        "exact",
        "max_equilibria",
        "time_budget",
        "welfare",
        "disagreement",
        "selection",
        "stage_selection",
        "priors",
        "seed",
        "alpha_rank",
        "dynamics",
        "ess",
        "credit",
        "noise",
    )
    return {name: arguments[name] for name in names}


def _total(games: Iterable[Any]) -> int | None:
    try:
        return len(games)  # type: ignore[arg-type]
    except TypeError:
        return None


# -- trace input: arrays, tensors and the messages of a trace stream ------------------------------


def trace_input_error(field: str, message: str) -> InvalidArgumentError:
    """A client-side ``InvalidArgumentError`` naming the trace ``field``."""
    return input_error(field, message)


def as_array(value: Any, field: str) -> FloatArray:
    """``value`` as a float64 array; a torch tensor (anything with ``detach``) is detached first.

    Raises
    ------
    InvalidArgumentError
        When ``value`` is not numeric, naming ``field``.
    """
    if hasattr(value, "detach"):  # torch.Tensor, also one that requires grad
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise trace_input_error(field, f"{field} is not a numeric array ({exc})") from exc


def policy_arrays(policies: Any, function: str = "score_trace()") -> list[FloatArray] | None:
    """Per-player policy arrays ``(Z, a_i)`` (or ``(Z, S, a_i)``) from what a user holds.

    Accepted: a sequence with one array (or tensor) per player; or one array or tensor
    ``(Z, n_players, a)`` (``(Z, n_players, S, a)`` per state) when every player has ``a``
    actions. Torch tensors, also ones that require grad, are detached.

    Raises
    ------
    InvalidArgumentError
        For a non-numeric input, or per-player arrays with different row counts.
    """
    if policies is None:
        return None
    if hasattr(policies, "detach") or isinstance(policies, np.ndarray):
        stacked = as_array(policies, "policies")
        if stacked.ndim < 3:
            raise trace_input_error(
                "policies",
                f"{function}: one policy array must have shape (Z, n_players, a), got {stacked.shape}; "
                "pass one (Z, a_i) array per player otherwise",
            )
        arrays = [stacked[:, i] for i in range(stacked.shape[1])]
    else:
        arrays = [as_array(p, f"policies[{i}]") for i, p in enumerate(policies)]
    for i, a in enumerate(arrays):
        if a.ndim < 2 or len(a) != len(arrays[0]):
            raise trace_input_error(
                f"policies[{i}]",
                f"{function}: player {i} policies have shape {a.shape}; expected (Z, a_i) with the Z "
                f"({len(arrays[0])}) of player 0",
            )
    return arrays


def trace_messages(
    arguments: dict[str, Any], function: str = "score_trace()"
) -> tuple[tuple[str, ...], Iterator[Any]]:
    """The player names of the game (for the summary) and the messages of a ``score_trace`` call.

    The messages are the header, then the chunks.

    Everything is checked before the first message exists: a malformed game, a
    non-numeric stream, history without joint actions or of another length, and a
    trace without rows raise here, in the caller, never inside the stream.
    """
    options = score_options(**{name: arguments[name] for name in SCORE_OPTIONS}, function=function)
    header = trace_header(
        arguments["game"], options, method=arguments["method"], tolerance=arguments["tolerance"]
    )
    policies = policy_arrays(arguments["policies"], function)
    streams = {
        name: None if arguments[name] is None else as_array(arguments[name], name)
        for name in ("joint_actions", "history", "returns")
    }
    history, actions = streams["history"], streams["joint_actions"]
    if history is not None and (actions is None or len(history) != len(actions)):
        rows = "no joint actions" if actions is None else f"{len(actions)} joint actions"
        raise trace_input_error(
            "history",
            f"{function}: history keys the joint actions row by row: {len(history)} keys for {rows}",
        )
    rows = [len(a) for a in (*(policies or ()), *streams.values()) if a is not None and a.ndim]
    if not any(rows):
        raise trace_input_error(
            "chunk", f"{function}: the trace has no rows; give policies, joint_actions or returns"
        )
    chunks = trace_chunk_requests(policies=policies, chunk_bytes=arguments["chunk_bytes"], **streams)
    return player_names(header.header), itertools.chain((header,), chunks)


class Client:
    """A blocking client of an equilibria server.

    Create it with :meth:`connect`; use it as a context manager to close the channel.

    Examples
    --------
    >>> from equilibria.client import Client
    >>> with Client.connect("localhost:50051") as client:  # doctest: +SKIP
    ...     result = client.solve(([[3, 0], [5, 1]], [[3, 5], [0, 1]]))
    ...     result.equilibria[0].strategies
    (array([0., 1.]), array([0., 1.]))
    """

    def __init__(self, channel: grpc.Channel, *, timeout: float | None, retry: RetryConfig) -> None:
        self._channel = channel
        self._stub = service_grpc.EquilibriaServiceStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self.timeout = timeout
        self.retry = retry

    @classmethod
    def connect(
        cls,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float | None = 60.0,
        retry: RetryConfig | None = None,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE,
        load_balancing: str | None = None,
        tls: TlsConfig | bool | None = None,
        token: str | None = None,
    ) -> Client:
        """Open a channel to ``target`` (``host:port``, or any gRPC target such as ``dns:///``).

        Parameters
        ----------
        target : str
            One server, or several replicas: ``"ipv4:127.0.0.1:50051,127.0.0.1:50052"``
            or a ``dns:///`` name resolving to many addresses (a headless Service).
        timeout : float or None
            Default deadline of each call attempt, in seconds (None: none).
        retry : RetryConfig, optional
            Retry policy for UNAVAILABLE.
        max_message_bytes : int
            Largest message sent or received.
        load_balancing : str, optional
            gRPC load-balancing policy over the target's addresses: "round_robin" spreads
            calls over every replica (pair it with ``serve --max-connection-age`` so the
            client re-resolves and rebalances); default "pick_first" (one connection).
        tls : TlsConfig or True, optional
            Connect with TLS: a :class:`TlsConfig` (CA, and a client certificate for
            mutual TLS), or True for the system's CAs. Plaintext when None.
        token : str, optional
            Bearer token sent as ``authorization: Bearer <token>`` on every call (also
            on plaintext channels: use it with TLS outside loopback).
        """
        options = _channel_options(max_message_bytes, load_balancing) + tls_options(tls)
        if tls is None or tls is False:
            channel = grpc.insecure_channel(target, options=options)
        else:
            channel = grpc.secure_channel(target, channel_credentials(tls), options=options)
        interceptors = token_interceptors(token)
        if interceptors:
            channel = grpc.intercept_channel(channel, *interceptors)
        return cls(channel, timeout=timeout, retry=retry or RetryConfig())

    def _call(self, method: Callable[..., T], request: Any, timeout: float | None) -> T:
        attempt = 1
        while True:
            try:
                return method(request, timeout=self.timeout if timeout is None else timeout)
            except grpc.RpcError as exc:
                if not self.retry.should_retry(exc.code(), attempt):  # type: ignore[attr-defined]
                    raise map_rpc_error(exc) from exc
            time.sleep(self.retry.delay(attempt))
            attempt += 1

    def solve(
        self,
        game: Any,
        *,
        concepts: Iterable[str] | str = DEFAULT_CONCEPTS,
        method: str = "auto",
        tolerance: float = 0.0,
        exact: bool = False,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] | str = (),
        disagreement: Sequence[float] | None = None,
        selection: Iterable[str] | str = (),
        alpha_rank: AlphaRankOptions | None = None,
        dynamics: DynamicsOptions | None = None,
        ess: EssOptions | None = None,
        credit: CreditOptions | None = None,
        noise: NoiseOptions | None = None,
    ) -> SolutionSet:
        """Solve a game on the server.

        Parameters
        ----------
        game : array_like, pair of matrices, dict or NormalFormGame
            A payoff tensor ``(n_players, a_1, ..., a_n)``, a pair ``(A, B)``, a single
            matrix ``A`` (zero-sum), a dict with ``payoffs`` (and optionally ``title``,
            ``player_names``, ``action_names``), or an object with ``payoffs``.
        concepts : iterable of str, or str
            Solution concepts: "nash", "pure_nash", "pareto_nash", "welfare_nash",
            "correlated", "coarse_correlated", "zero_sum_value", "selection",
            "alpha_rank", "max_entropy_correlated", "max_entropy_coarse_correlated",
            "max_gini_correlated", "max_gini_coarse_correlated", "replicator_dynamics",
            "ess", "credit_assignment", "noisy_equilibria". One string is one concept
            (``concepts="nash"``); so for every list of names.
        method : str
            A server method name (see :meth:`server_info`) or "auto".
        tolerance : float
            0 for the server default.
        exact : bool
            Ask for exact rational output (small rational 2-player games).
        max_equilibria : int
            Stop after this many (0: all).
        time_budget : float, optional
            Server-side budget in seconds; the solve's worker is killed past it.
        timeout : float, optional
            Deadline of this call (default: the client's).
        welfare : iterable of str, or str
            Welfare functions for "welfare_nash" and the correlated concepts:
            "utilitarian" (default), "egalitarian", "nash_product".
        disagreement : sequence of float, optional
            Disagreement point of the Nash product (default: maximin values).
        selection : iterable of str, or str
            Criteria for "selection": "payoff_dominance", "risk_dominance",
            "logit_limit" (default: all).
        alpha_rank : AlphaRankOptions, optional
            Options of "alpha_rank": α (default: swept to the large-α limit), the
            population size and the populations.
        dynamics : DynamicsOptions, optional
            Options of "replicator_dynamics": the rule (replicator, logit, best
            response), the starts (a seeded sample, a grid or given profiles), the
            horizon and the populations.
        ess : EssOptions, optional
            Options of "ess": one population (a symmetric game's Maynard Smith ESS) or
            one per player (the strict equilibria).
        credit : CreditOptions, optional
            The joint policy "credit_assignment" credits (one mixed strategy per agent,
            or a numpy array: a joint distribution), the team return, the counterfactual
            and the default actions.
        noise : NoiseOptions, optional
            Options of "noisy_equilibria" (epsilon, confidence, draws, seed); the payoffs'
            standard errors come with the game: ``{"payoffs": ..., "standard_errors": ...}``.

        Returns
        -------
        SolutionSet

        Raises
        ------
        InvalidGameError
            Before anything is sent, for payoffs that are no numeric array, naming the
            entry (``payoffs[1]: row 2 has 3 entries, row 0 has 2``, ``B: shape (2, 3)
            differs from A's (2, 2)``); from the server, for a game the solver refuses.
        InvalidArgumentError
            Before anything is sent, for an unknown concept, welfare function or
            criterion: the message names the argument and lists the valid names.
        ResourceExhaustedError, SolveTimeoutError, ServiceUnavailableError, ServerError
            From the server. Every one is an ``EquilibriaError``.
        """
        request = solve_request(
            game,
            concepts=concepts,
            method=method,
            tolerance=tolerance,
            exact=exact,
            max_equilibria=max_equilibria,
            time_budget=time_budget,
            welfare=welfare,
            disagreement=disagreement,
            selection=selection,
            alpha_rank=alpha_rank,
            dynamics=dynamics,
            ess=ess,
            credit=credit,
            noise=noise,
        )
        response = self._call(self._stub.SolveGame, request, timeout)
        return solution_set_from_response(response, player_names(request))

    def solve_stochastic(
        self,
        game: Any,
        transitions: Any = None,
        *,
        discount: float = 0.0,
        horizon: int | None = None,
        initial_distribution: Sequence[float] | None = None,
        action_counts: Any = None,
        concepts: Iterable[str] | str = DEFAULT_CONCEPTS,
        method: str = "auto",
        tolerance: float = 0.0,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] | str = (),
        disagreement: Sequence[float] | None = None,
        stage_selection: Iterable[str] | str = (),
        priors: int = 0,
        seed: int = 0,
        credit: CreditOptions | None = None,
    ) -> MarkovSolutionSet:
        """Solve a stochastic (Markov) game on the server.

        Parameters
        ----------
        game : array_like or StochasticGame
            The rewards ``(S, n_players, a_1, ..., a_n)`` — then ``transitions`` and the
            keyword game fields apply — or an object with ``rewards``, ``transitions``,
            ``discount``, ``horizon``, ``initial_distribution`` and ``action_counts``
            (the solver's ``StochasticGame``).
        transitions : array_like, sparse matrix or triple
            Dense ``(S, a_1, ..., a_n, S)``; a sparse ``(S * A, S)`` matrix (sent in
            coordinate form); or ``(rows, next_states, probabilities)`` with row
            ``s * A + ravel_multi_index(a, (a_1..a_n))``.
        discount : float
            In [0, 1) for an infinite horizon, [0, 1] with a horizon.
        horizon : int, optional
            Number of stages (default: infinite).
        initial_distribution : sequence of float, optional
            Default uniform.
        action_counts : array_like of int, shape (S, n_players), optional
            Actions per state and player (ragged action sets); default all.
        concepts : iterable of str, or str
            "nash", "pareto_nash", "welfare_nash", "zero_sum_value".
        method : str
            "auto", "hoffman_karp", "shapley", "team_policy_iteration", "homotopy" or
            "backward_induction".
        stage_selection : iterable of str, or str
            Backward-induction criteria (one equilibrium each): "utilitarian"
            (default), "egalitarian", "nash_product", "payoff_dominance",
            "risk_dominance".
        priors, seed : int
            Random priors of the homotopy (0: the server default) and their seed.
        credit : CreditOptions, optional
            The policy "credit_assignment" credits (per agent ``(S, a_i)``, or
            ``(T, S, a_i)`` for a finite horizon) and how; that concept alone searches
            no equilibrium.
        tolerance, max_equilibria, time_budget, timeout, welfare, disagreement
            As for :meth:`solve`.

        Returns
        -------
        MarkovSolutionSet
        """
        request = stochastic_solve_request(locals())
        response = self._call(self._stub.SolveGame, request, timeout)
        return markov_solution_set_from_response(response, player_names(request))

    def score_trace(
        self,
        game: Any,
        *,
        policies: Any = None,
        joint_actions: Any = None,
        history: Any = None,
        returns: Any = None,
        criteria: Sequence[str] | str = (),
        metric: str = "",
        aggregate: str = "",
        epsilons: Sequence[float] = (),
        tail_window: int = 0,
        confidence: float = 0.0,
        checkpoints: int = 0,
        max_histories: int = 0,
        joint_concept: str = "",
        state_weights: Sequence[float] | None = None,
        method: str = "",
        tolerance: float = 0.0,
        chunk_bytes: int = CHUNK_BYTES,
        timeout: float | None = None,
    ) -> TraceScore:
        """Score a learning trace held in memory against the game's equilibria.

        The trace is streamed to the server in chunks of at most ``chunk_bytes``; the
        server scores it in memory bounded by the chunk size, whatever its length. For
        a trace produced step by step inside a training loop, use :class:`TraceRecorder`.

        Parameters
        ----------
        game : game, StochasticGame, dict or str
            Anything :meth:`solve` accepts; a stochastic game: a
            :class:`~equilibria.client.StochasticGame`, a dict with ``rewards``,
            ``transitions``, ``discount`` (and optionally ``horizon``,
            ``initial_distribution``, ``action_counts``) or an object with those
            attributes (e.g. the solver's ``StochasticGame``); or the ``game_id`` of a
            game this server solved recently. A tuple is always a normal-form game.
        policies : sequence of array_like, or array_like, optional
            Per player, ``(Z, a_i)`` (or ``(Z, S, a_i)`` per state): one joint policy
            per iteration or episode. Or one array ``(Z, n_players, a)`` (``(Z,
            n_players, S, a)``) when every player has ``a`` actions. Torch tensors are
            accepted (detached, also when they require grad).
        joint_actions : array_like of int, optional
            ``(Z, n_players)`` sampled joint actions.
        history : array_like of int, optional
            ``(Z,)`` integer key of the history (or state) each joint action followed;
            needs ``joint_actions`` of the same length.
        returns : array_like, optional
            ``(Z, n_players)`` per-episode returns.
        criteria, metric, aggregate, epsilons, tail_window, confidence, checkpoints,
        max_histories, joint_concept, state_weights
            Scoring options (empty: server defaults; see ``equilibria.v1.ScoreOptions``);
            ``criteria`` may be one name (``criteria="nash_conv"``).
        method, tolerance
            How the server solves the game for its solution set.
        chunk_bytes : int
            Largest chunk on the wire (at most 1 MiB).
        timeout : float, optional
            Deadline of the call (default: the client's).

        Returns
        -------
        TraceScore
            Per criterion the curve, final value, verdict with its evidence and the
            equilibrium approached; ``solution_set`` is the set it was measured against.

        Raises
        ------
        InvalidGameError
            A malformed game, naming the field (``header.stochastic_game.transitions``,
            ...): raised before anything is sent, or by the server.
        InvalidArgumentError
            A trace without rows, ``history`` without ``joint_actions`` or of another
            length, non-numeric or ragged policies (before anything is sent); rows that
            do not fit the game (by the server, naming the chunk, field and row).
        """
        names, messages = trace_messages(locals())
        try:
            response = self._stub.ScoreTrace(messages, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as exc:
            raise map_rpc_error(exc) from exc
        return response_score(response, response_solution(response, names))

    def sample_payoffs(
        self,
        num_actions: Sequence[int],
        *,
        concepts: Iterable[str] | str = SAMPLE_CONCEPTS,
        noise: NoiseOptions | None = None,
        method: str = "auto",
        tolerance: float = 0.0,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        title: str = "",
        player_names: Sequence[str] = (),
        chunk_bytes: int = SAMPLE_CHUNK_BYTES,
        timeout: float | None = None,
        **options: Any,
    ) -> PayoffSampler:
        """Open a payoff-sample stream: send returns as a PSRO loop collects them, get the
        game of their means analysed whenever wanted.

        Parameters
        ----------
        num_actions : sequence of int
            Each player's number of actions (the meta-game's policies); :meth:`PayoffSampler.grow`
            adds more.
        concepts : iterable of str, or str
            What each analysis computes on the game of the means, as :meth:`solve`
            (default "nash" and "noisy_equilibria": the equilibria and how far the
            sampling noise lets them be trusted).
        noise : NoiseOptions, optional
            Options of "noisy_equilibria".
        method, tolerance, max_equilibria, time_budget
            As :meth:`solve`, for each analysis.
        title, player_names
            Names of the game of the means.
        chunk_bytes : int
            Largest chunk on the wire (at most 1 MiB).
        timeout : float, optional
            Deadline of the whole stream (default: none; an open stream sends an empty
            chunk after 30 s of silence, so a slow loop is not closed as idle).
        **options
            Any other option of :meth:`solve` (``welfare``, ``selection``, ``alpha_rank``,
            ``dynamics``, ``ess``, ...).

        Returns
        -------
        PayoffSampler
            ``add(joint_actions, returns)``, ``grow(num_actions)``, ``analyze()`` and
            ``close()``; a context manager (closed at the end of the block, cancelled on an
            exception). Each answer is a :class:`SampledPayoffs`: counts, means, standard
            errors and the :class:`SolutionSet` of the means (or why there is none yet).

        Raises
        ------
        InvalidArgumentError
            Before anything is sent, for bad action counts, names or options; from the
            server (at the first answer), for options it refuses, naming
            ``header.analysis.<field>``.

        Examples
        --------
        >>> with client.sample_payoffs((2, 2)) as sampler:  # doctest: +SKIP
        ...     sampler.add([[0, 1], [1, 1]], [[0.0, 5.0], [1.0, 1.0]])
        ...     snapshot = sampler.analyze()
        """
        header = sampler_header(
            num_actions,
            title=title,
            player_names=player_names,
            concepts=concepts,
            noise=noise,
            method=method,
            tolerance=tolerance,
            exact=False,
            max_equilibria=max_equilibria,
            time_budget=time_budget,
            **options,
        )
        return PayoffSampler(self._stub, header, chunk_bytes=chunk_bytes, timeout=timeout)

    def solve_many(
        self,
        games: Iterable[Any],
        *,
        concepts: Iterable[str] | str = DEFAULT_CONCEPTS,
        method: str = "auto",
        tolerance: float = 0.0,
        exact: bool = False,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] | str = (),
        disagreement: Sequence[float] | None = None,
        selection: Iterable[str] | str = (),
        stage_selection: Iterable[str] | str = (),
        priors: int = 0,
        seed: int = 0,
        alpha_rank: AlphaRankOptions | None = None,
        dynamics: DynamicsOptions | None = None,
        ess: EssOptions | None = None,
        credit: CreditOptions | None = None,
        noise: NoiseOptions | None = None,
        progress: Progress | None = None,
    ) -> Iterator[BatchItem]:
        """Solve many games over one ``SolveGames`` stream; yields a :class:`BatchItem` per game.

        The games are converted and sent as the server reads them, and the results come
        back in input order as soon as each one (and every one before it) is solved: the
        server runs up to its worker count of games at once. Games with a length (a list)
        go up to 64 to a message and come back together (the stream's cost per message
        exceeds a small game's solve); a generator's go one by one, each answered as soon
        as it is solved. A failed game is a
        ``BatchItem`` with ``error`` set (the exception :meth:`solve` would have raised);
        it never stops the others. Leaving the loop early cancels the stream, and the
        server stops the solves still running.

        Parameters
        ----------
        games : iterable
            Anything :meth:`solve` accepts, and stochastic games (objects with
            ``rewards`` and ``transitions``, e.g. the solver's ``StochasticGame``),
            in any mix. Read lazily: a generator is never held in memory.
        concepts, method, tolerance, exact, max_equilibria, welfare, disagreement, selection, alpha_rank, dynamics, ess, credit, noise
            As for :meth:`solve`, applied to every game (``exact`` and the concepts'
            options to normal-form games only).
        stage_selection, priors, seed
            As for :meth:`solve_stochastic`, for the stochastic games.
        time_budget : float, optional
            Server-side budget of each game, in seconds; a game past it is reported as
            ``SolveTimeoutError`` while the others go on.
        timeout : float, optional
            Deadline of the whole stream (default: the client's).
        progress : callable, optional
            ``progress(done, total)`` after each result; ``total`` is ``len(games)``, or
            None when ``games`` has no length.

        Yields
        ------
        BatchItem
            ``index``, ``result`` (SolutionSet or MarkovSolutionSet) or ``error``.

        Raises
        ------
        EquilibriaError
            When the stream itself fails (server unreachable, the stream's deadline).
        InvalidArgumentError
            For an unknown concept, welfare function or criterion name, before the first
            game is read. A game whose payoffs are no numeric array does not raise: its
            item carries the ``InvalidGameError`` (``requests[index].normal_form_game.payoffs``).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> games = [rng.standard_normal((2, 3, 3)) for _ in range(100)]
        >>> with Client.connect("localhost:50051") as client:  # doctest: +SKIP
        ...     for item in client.solve_many(games, time_budget=10):
        ...         print(item.index, len(item.result) if item.ok else item.error.code)
        """
        plan = BatchPlan()
        total = _total(games)
        requests = batch_requests(games, _batch_options(locals()), plan, pack=total is not None)
        call = self._stub.SolveGames(requests, timeout=self.timeout if timeout is None else timeout)
        done = 0
        try:
            for response in call:
                for item in batch_items_from_proto(response, done, plan):
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    yield item
        except grpc.RpcError as exc:
            raise map_rpc_error(exc) from exc
        finally:
            call.cancel()  # no-op once the stream has ended; stops the server's solves otherwise

    def server_info(self, *, timeout: float | None = None) -> ServerInfo:
        """Version, limits and methods of the server."""
        response = self._call(self._stub.GetServerInfo, server_info_request(), timeout)
        return server_info_from_proto(response)

    def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The server's health status name ("SERVING", "NOT_SERVING", ...)."""
        response = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """The asyncio twin of :class:`Client`: same methods, awaited.

    Examples
    --------
    >>> async def main():  # doctest: +SKIP
    ...     async with AsyncClient.connect("localhost:50051") as client:
    ...         return await client.solve([[1, -1], [-1, 1]])
    """

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float | None, retry: RetryConfig) -> None:
        self._channel = channel
        self._stub = service_grpc.EquilibriaServiceStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        self.timeout = timeout
        self.retry = retry

    @classmethod
    def connect(
        cls,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float | None = 60.0,
        retry: RetryConfig | None = None,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE,
        load_balancing: str | None = None,
        tls: TlsConfig | bool | None = None,
        token: str | None = None,
    ) -> AsyncClient:
        """Open an asyncio channel to ``target``; see :meth:`Client.connect`."""
        options = _channel_options(max_message_bytes, load_balancing) + tls_options(tls)
        interceptors = aio_token_interceptors(token) or None
        if tls is None or tls is False:
            channel = grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
        else:
            channel = grpc.aio.secure_channel(
                target, channel_credentials(tls), options=options, interceptors=interceptors
            )
        return cls(channel, timeout=timeout, retry=retry or RetryConfig())

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any, timeout: float | None) -> T:
        attempt = 1
        while True:
            try:
                return await method(request, timeout=self.timeout if timeout is None else timeout)
            except grpc.RpcError as exc:
                if not self.retry.should_retry(exc.code(), attempt):  # type: ignore[attr-defined]
                    raise map_rpc_error(exc) from exc
            await asyncio.sleep(self.retry.delay(attempt))
            attempt += 1

    async def solve(
        self,
        game: Any,
        *,
        concepts: Iterable[str] | str = DEFAULT_CONCEPTS,
        method: str = "auto",
        tolerance: float = 0.0,
        exact: bool = False,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] | str = (),
        disagreement: Sequence[float] | None = None,
        selection: Iterable[str] | str = (),
        alpha_rank: AlphaRankOptions | None = None,
        dynamics: DynamicsOptions | None = None,
        ess: EssOptions | None = None,
        credit: CreditOptions | None = None,
        noise: NoiseOptions | None = None,
    ) -> SolutionSet:
        """Solve a game on the server; see :meth:`Client.solve`."""
        request = solve_request(
            game,
            concepts=concepts,
            method=method,
            tolerance=tolerance,
            exact=exact,
            max_equilibria=max_equilibria,
            time_budget=time_budget,
            welfare=welfare,
            disagreement=disagreement,
            selection=selection,
            alpha_rank=alpha_rank,
            dynamics=dynamics,
            ess=ess,
            credit=credit,
            noise=noise,
        )
        response = await self._call(self._stub.SolveGame, request, timeout)
        return solution_set_from_response(response, player_names(request))

    async def solve_stochastic(
        self,
        game: Any,
        transitions: Any = None,
        *,
        discount: float = 0.0,
        horizon: int | None = None,
        initial_distribution: Sequence[float] | None = None,
        action_counts: Any = None,
        concepts: Iterable[str] | str = DEFAULT_CONCEPTS,
        method: str = "auto",
        tolerance: float = 0.0,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] | str = (),
        disagreement: Sequence[float] | None = None,
        stage_selection: Iterable[str] | str = (),
        priors: int = 0,
        seed: int = 0,
        credit: CreditOptions | None = None,
    ) -> MarkovSolutionSet:
        """Solve a stochastic game on the server; see :meth:`Client.solve_stochastic`."""
        request = stochastic_solve_request(locals())
        response = await self._call(self._stub.SolveGame, request, timeout)
        return markov_solution_set_from_response(response, player_names(request))

    async def score_trace(
        self,
        game: Any,
        *,
        policies: Any = None,
        joint_actions: Any = None,
        history: Any = None,
        returns: Any = None,
        criteria: Sequence[str] | str = (),
        metric: str = "",
        aggregate: str = "",
        epsilons: Sequence[float] = (),
        tail_window: int = 0,
        confidence: float = 0.0,
        checkpoints: int = 0,
        max_histories: int = 0,
        joint_concept: str = "",
        state_weights: Sequence[float] | None = None,
        method: str = "",
        tolerance: float = 0.0,
        chunk_bytes: int = CHUNK_BYTES,
        timeout: float | None = None,
    ) -> TraceScore:
        """Score a learning trace held in memory; see :meth:`Client.score_trace`."""
        names, messages = trace_messages(locals())

        async def requests() -> Any:
            for message in messages:
                yield message

        try:
            response = await self._stub.ScoreTrace(
                requests(), timeout=self.timeout if timeout is None else timeout
            )
        except grpc.RpcError as exc:
            raise map_rpc_error(exc) from exc
        return response_score(response, response_solution(response, names))

    async def sample_payoffs(
        self,
        num_actions: Sequence[int],
        *,
        concepts: Iterable[str] | str = SAMPLE_CONCEPTS,
        noise: NoiseOptions | None = None,
        method: str = "auto",
        tolerance: float = 0.0,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        title: str = "",
        player_names: Sequence[str] = (),
        chunk_bytes: int = SAMPLE_CHUNK_BYTES,
        timeout: float | None = None,
        **options: Any,
    ) -> AsyncPayoffSampler:
        """Open a payoff-sample stream; see :meth:`Client.sample_payoffs` (the sampler's
        methods are awaited; ``async with`` closes it)."""
        header = sampler_header(
            num_actions,
            title=title,
            player_names=player_names,
            concepts=concepts,
            noise=noise,
            method=method,
            tolerance=tolerance,
            exact=False,
            max_equilibria=max_equilibria,
            time_budget=time_budget,
            **options,
        )
        return AsyncPayoffSampler(self._stub, header, chunk_bytes=chunk_bytes, timeout=timeout)

    async def solve_many(
        self,
        games: Iterable[Any],
        *,
        concepts: Iterable[str] | str = DEFAULT_CONCEPTS,
        method: str = "auto",
        tolerance: float = 0.0,
        exact: bool = False,
        max_equilibria: int = 0,
        time_budget: float | None = None,
        timeout: float | None = None,
        welfare: Iterable[str] | str = (),
        disagreement: Sequence[float] | None = None,
        selection: Iterable[str] | str = (),
        stage_selection: Iterable[str] | str = (),
        priors: int = 0,
        seed: int = 0,
        alpha_rank: AlphaRankOptions | None = None,
        dynamics: DynamicsOptions | None = None,
        ess: EssOptions | None = None,
        credit: CreditOptions | None = None,
        noise: NoiseOptions | None = None,
        progress: Progress | None = None,
    ) -> AsyncIterator[BatchItem]:
        """Solve many games over one stream; ``async for`` a :class:`BatchItem` per game.

        See :meth:`Client.solve_many`.
        """
        plan = BatchPlan()
        total = _total(games)
        requests = batch_requests(games, _batch_options(locals()), plan, pack=total is not None)

        async def messages() -> AsyncIterator[Any]:
            for request in requests:
                yield request

        call = self._stub.SolveGames(messages(), timeout=self.timeout if timeout is None else timeout)
        done = 0
        try:
            async for response in call:
                for item in batch_items_from_proto(response, done, plan):
                    done += 1
                    if progress is not None:
                        progress(done, total)
                    yield item
        except grpc.RpcError as exc:
            raise map_rpc_error(exc) from exc
        finally:
            call.cancel()

    async def server_info(self, *, timeout: float | None = None) -> ServerInfo:
        """Version, limits and methods of the server."""
        response = await self._call(self._stub.GetServerInfo, server_info_request(), timeout)
        return server_info_from_proto(response)

    async def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The server's health status name."""
        response = await self._call(
            self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout
        )
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
