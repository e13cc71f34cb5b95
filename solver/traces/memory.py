"""The worst-case memory of a :class:`~equilibria.solver.traces.scorer.TraceScorer`.

A server that scores traces for many callers must know, before it allocates, what a
stream may cost. :func:`trace_memory_bound` counts, from the game's shape, the solution
set's size and the options, the bytes the scorer's arrays take: the ones it holds
(the count table of sampled joint actions, the joint distributions of the solution
set, the CE/CCE constraints, the game in payoff units, the curves' checkpoints and ring
buffers) and the largest working arrays alive at once while it consumes a chunk or
computes a score. The count table is the one term that grows with the data (one row of
``prod a_i`` counts per history key of a normal-form game); :func:`count_capacity` is
how it grows, and :meth:`TraceScorer.memory_bound
<equilibria.solver.traces.scorer.TraceScorer.memory_bound>` gives the bound after a
given chunk, so a caller can refuse the chunk before the table grows. Every other term
is fixed by the header: curves keep at most ``n_checkpoints`` checkpoints and a ring of
``tail_buffer`` values whatever the trace's length.

The constants below are counted from the code of ``scorer.py``, ``target.py``,
``checkpoints.py`` and ``outside.py``; ``tests/traces/test_trace_memory_bound.py``
checks the bound against the bytes the scorer allocates (``tracemalloc``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from equilibria.solver.game import NormalFormGame
from equilibria.solver.results import MarkovSolutionSet, SolutionSet
from equilibria.solver.stochastic.game import StochasticGame
from equilibria.solver.stochastic.regret import DENSE_STATES
from equilibria.solver.traces.checkpoints import _GRID_LEVELS, _SWITCH_MEMORY
from equilibria.solver.traces.credit_curves import CREDIT, CREDIT_BLOCK, credit_rejection
from equilibria.solver.traces.distances import SolutionTarget
from equilibria.solver.traces.options import CURVES, ScoreOptions
from equilibria.solver.traces.outside import _MAX_SEGMENTS
from equilibria.solver.traces.target import _HISTORY_BLOCK_CELLS, _MAX_VERTEX_PROFILES, _PAYOFF_BLOCK

__all__ = [
    "MAX_COUNT_CELLS",
    "MemoryBound",
    "MemoryTerm",
    "count_capacity",
    "count_limit",
    "histories_within",
    "trace_memory_bound",
]

#: Largest number of cells (histories x joint actions) of the per-history count table.
MAX_COUNT_CELLS = 50_000_000

#: A float64 or int64 entry.
_WORD = 8
#: A Python float or int in a list: the list's pointer and the object.
_LIST_NUMBER = 40
#: A checkpoint of a curve: its z, value, radius and member (a NamedTuple of a str and an int).
_CHECKPOINT = 3 * _LIST_NUMBER + 8 + 56 + 32
#: A numpy array's header (a small array costs at least this).
_ARRAY = 112
#: A curve's objects other than its arrays and lists (the curve, its selection, list headers).
_CURVE_OBJECTS = 2048
#: The scorer's objects other than the terms counted (dicts, grids, small arrays, the target's lists).
_SCORER_OBJECTS = 96 * 1024
#: Working copies of a chunk's bytes alive at once while it is decoded and consumed: the
#: message, its decoded tensors, their checked copies, and the scorer's per-row arrays
#: (running means, a gathered copy and a difference per player for the limit trackers,
#: cumulative sums of returns).
_CHUNK_COPIES = 12
#: Arrays of the joint play's size alive at once per block of histories: the int64 rows,
#: their float64 conversion and the frequencies, and the distance kernel's work arrays
#: (by metric: a difference and its absolute value, or the logarithms of js and kl).
_BLOCK_COPIES = {"tv": 5, "l1": 5, "linf": 5, "l2": 5, "hellinger": 6, "js": 11, "kl": 9}
#: Arrays of the game's payoff size the scorer makes: the payoffs in units (held), and
#: working copies while they are made and while the payoff curves contract them.
_GAME_COPIES = 4
#: Arrays of the size of one joint policy per state (``S x prod a_i``) alive while a
#: stochastic game's policy is certified (the joint policy, a sparse matrix of it, the
#: best-response weights) or its joint play is measured (frequencies, masks, products).
_MARKOV_COPIES = 8


@dataclasses.dataclass(frozen=True)
class MemoryTerm:
    """One term of a :class:`MemoryBound`.

    Attributes
    ----------
    name : str
        What the bytes hold, e.g. ``"count table"``.
    field : str
        The input the term grows with: ``"game"``, ``"solution_set"``, ``"chunk"`` or an
        option of :class:`~equilibria.solver.traces.options.ScoreOptions`
        (``"max_histories"``, ``"joint_concept"``, ``"n_checkpoints"``).
    nbytes : int
        Bytes.
    """

    name: str
    field: str
    nbytes: int


@dataclasses.dataclass(frozen=True)
class MemoryBound:
    """The bytes a trace scorer may take at most, term by term.

    Attributes
    ----------
    terms : tuple of MemoryTerm
        Held and working bytes, in decreasing size.
    histories : int
        Rows of the count table the bound allows for (its capacity).
    history_bytes : int
        What one more row of the count table costs (0 when no table grows with the
        history keys: stochastic games, or ``averaged_joint_policy`` not scored).
    """

    terms: tuple[MemoryTerm, ...]
    histories: int
    history_bytes: int

    @property
    def total(self) -> int:
        """The bound, in bytes."""
        return sum(t.nbytes for t in self.terms)

    @property
    def largest(self) -> MemoryTerm:
        """The largest term."""
        return self.terms[0]

    def describe(self, count: int = 3) -> str:
        """The total and the largest ``count`` terms, e.g. ``"1,234 bytes (count table 1,000; ...)"``."""
        parts = "; ".join(f"{t.name} {t.nbytes:,}" for t in self.terms[:count] if t.nbytes)
        return f"{self.total:,} bytes ({parts})"


def count_capacity(current: int, rows: int, limit: int) -> int:
    """Rows of a normal-form count table grown from ``current`` rows to hold ``rows`` histories.

    The table grows by half (amortised copies) but never past ``limit`` (the most
    histories it may hold) unless ``rows`` does; the first allocation is exact.

    Examples
    --------
    >>> count_capacity(0, 3, 100), count_capacity(3, 4, 100), count_capacity(80, 81, 100)
    (3, 4, 100)
    """
    if rows <= current:
        return current
    return max(rows, min(current + current // 2, limit))


def count_limit(options: ScoreOptions, joint_actions: int) -> int:
    """The most history rows a normal-form count table may have: ``max_histories``, and
    :data:`MAX_COUNT_CELLS` counts in all.

    Examples
    --------
    >>> count_limit(ScoreOptions(), 490_000), count_limit(ScoreOptions(max_histories=7), 4)
    (102, 7)
    """
    return max(1, min(int(options.max_histories), MAX_COUNT_CELLS // max(joint_actions, 1)))


@dataclasses.dataclass(frozen=True)
class _SetShape:
    """What the bound needs of a solution set: its points, its components' vertex counts."""

    points: int
    components: tuple[tuple[int, ...], ...]  # per component, per player: vertices
    complete: bool


def _set_shape(solution_set: Any) -> _SetShape:
    if isinstance(solution_set, SolutionTarget):
        comps = tuple(tuple(int(v.shape[0]) for v in comp) for comp in solution_set.components)
        return _SetShape(int(solution_set.n_points), comps, bool(solution_set.complete))
    if isinstance(solution_set, SolutionSet):
        comps = tuple(tuple(int(v.shape[0]) for v in comp.vertices) for comp in solution_set.components)
        return _SetShape(len(solution_set.equilibria), comps, bool(solution_set.complete))
    if isinstance(solution_set, MarkovSolutionSet):
        return _SetShape(len(solution_set.equilibria), (), bool(solution_set.complete))
    return _SetShape(1, (), True)  # not solved yet: the smallest set


def _wanted(options: ScoreOptions, name: str) -> bool:
    if options.criteria is None:
        return True
    return name in options.criteria or (name == "nash_conv_average" and "nash_conv" in options.criteria)


def _metric_copies(metric: str) -> int:
    return _BLOCK_COPIES.get(metric, max(_BLOCK_COPIES.values()))


def _joint_play_working(
    options: ScoreOptions, joint: int, actions: int, rows: int, targets: int, shape: _SetShape
) -> int:
    """Working bytes of the joint play at a checkpoint, or of the correlation in a score.

    The count table is read one block of histories at a time (``B`` bytes of float64 per
    array): the correlation holds five such arrays at once (the int64 rows, the
    frequencies and their conversion, the product of the marginals, their difference),
    counted as six;
    the distances to the joint distributions hold the frequencies plus the metric's
    work arrays over ``(b, M, J)`` (``b`` rows per ``_PAYOFF_BLOCK`` elements) and, with
    components of several vertices, the product of the projections and its distance.
    """
    block_rows = min(rows, max(1, _HISTORY_BLOCK_CELLS // max(joint, 1)))
    block = _WORD * block_rows * joint
    copies = _metric_copies(options.metric)
    distances = 3 * block
    if options.joint_concept == "nash" and block_rows:
        per_target_row = max(1, _PAYOFF_BLOCK // max(targets * joint, 1))
        distances = max(distances, block + copies * _WORD * min(block_rows, per_target_row) * targets * joint)
        if any(max(c) > 1 for c in shape.components):
            distances = max(distances, (3 + copies) * block)
    # per history: marginals (int and float), visits, weights, distances, radii, member ids,
    # and the distances to each point of the set of the marginal variant
    per_history = rows * (2 * _WORD * actions + 8 * _WORD + 2 * _WORD * max(shape.points, 1))
    return max(6 * block, distances) + per_history


def _polytope_working(constraints: int, joint: int, metric: str) -> int:
    """Working bytes of the distance of one joint play to the CE/CCE polytope (``hull.py``).

    The linear program of a row is built dense: the constraints beside a slack block,
    two identities of the joint actions and their slacks, ``(m + 2J) x (J + w)`` (``w``
    is ``J``, or 1 for ``linf``), the identities it is assembled from, and a sparse copy
    of it. ``l2`` and the divergences then run SLSQP (its Jacobian and work arrays over
    the ``m + J`` constraints) and polish on the active constraints (a stack of the
    constraints and an identity, and a least-squares solve on it).
    """
    m, j = constraints, joint
    w = 1 if metric == "linf" else j
    lp = _WORD * ((m + 2 * j) * (j + w) + 3 * j * j + m * w) + 12 * (m * j + 4 * j)
    if metric in ("tv", "l1", "linf"):
        return lp
    qp = _WORD * (4 * (m + j) * j + 3 * j * j + 2 * (m + 2 * j) ** 2)
    return lp + qp


def trace_memory_bound(
    game: NormalFormGame | StochasticGame,
    solution_set: SolutionSet | MarkovSolutionSet | SolutionTarget | None,
    options: ScoreOptions,
    *,
    chunk_bytes: int = 1 << 20,
    histories: int = 0,
    grown_from: int = 0,
    credit: bool | None = None,
) -> MemoryBound:
    """Bytes a :class:`~equilibria.solver.traces.scorer.TraceScorer` may take at most.

    Parameters
    ----------
    game : NormalFormGame or StochasticGame
    solution_set : SolutionSet, MarkovSolutionSet, SolutionTarget or None
        The set the trace is scored against; None before it is solved (the bound
        then counts a set of one point).
    options : ScoreOptions
    chunk_bytes : int, optional
        The largest chunk the caller will pass (the bytes of its arrays): the
        working arrays of one update are a fixed multiple of it.
    histories : int, optional
        Rows of the normal-form count table (its capacity, see :func:`count_capacity`).
    grown_from : int, optional
        Rows of the table before it grows to ``histories`` (alive while copied).
    credit : bool or None, optional
        Whether the ``credit_assignment`` criterion is scored (the scorer knows); None:
        when it is wanted and the game is a team game within its limits.

    Returns
    -------
    MemoryBound

    Notes
    -----
    With ``n`` players, ``J = prod a_i`` joint actions, ``S`` states (1 in normal
    form), ``M`` joint distributions of the set's members and ``H`` history rows, the
    large terms are: the count table ``H (8 J + 40)`` (``S (8 J + 8)`` for a stochastic
    game); the joint distributions ``2 x 8 M J`` (held, and their rows while
    concatenated); the CE/CCE constraints ``4 x 8 m J`` (``m = sum a_i (a_i - 1)`` or
    ``sum a_i``); the joint play's working arrays, ``c x 8 b J`` for a block of
    ``b = min(H, max(1, 2^20 / J))`` histories (``c`` from 5 to 14 by metric), or the
    old table while it grows; the game in payoff units and its working copies
    ``4 x 8 n S J``; ``12`` times ``chunk_bytes`` for a chunk; with
    ``credit_assignment``, its checkpoints ``(2n + 2)`` floats each and the working
    arrays of a block of rows, about ``8 b S (J + 3 max_i 2^(i+1) a_(i+1)...a_n + 4 x 2^n)``
    plus ``8 (n + 2) S J`` in a stochastic game (``b`` rows per ``2^18`` elements in
    normal form, 1 in a stochastic game).

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> game = NormalFormGame(np.zeros((2, 700, 700)))
    >>> bound = trace_memory_bound(game, None, ScoreOptions(), histories=100)
    >>> bound.largest.name, bound.largest.nbytes, bound.history_bytes
    ('count table', 392004000, 3920040)
    """
    num_actions = tuple(int(k) for k in game.num_actions)
    n = len(num_actions)
    joint = math.prod(num_actions)
    actions = sum(num_actions)
    stochastic = isinstance(game, StochasticGame)
    states = int(game.n_states) if isinstance(game, StochasticGame) else 1
    shape = _set_shape(solution_set)
    samples = _wanted(options, "averaged_joint_policy")
    terms: list[MemoryTerm] = []

    def add(name: str, field: str, nbytes: float) -> None:
        terms.append(MemoryTerm(name, field, int(math.ceil(nbytes))))

    # The game in payoff units (cached on the game) and its working copies; a game of more
    # than two players is contracted with a chunk's policies in blocks of _PAYOFF_BLOCK.
    add("game in payoff units", "game", _GAME_COPIES * _WORD * n * states * joint)
    if n > 2:
        chunk_rows = max(1, chunk_bytes // (_WORD * actions))
        add("payoff contractions", "game", 3 * _WORD * min(max(_PAYOFF_BLOCK, joint), chunk_rows * joint))
    # The count table: one row of counts and visits per history (normal form: with its
    # key and slot, twice while merged) or per state.
    if stochastic:
        rows = states
        add("count table", "game", rows * (_WORD * joint + _WORD))
        history_bytes = 0
    else:
        rows = max(int(histories), 0) if samples else 0
        history_bytes = _WORD * joint + 5 * _WORD if samples else 0
        add("count table", "max_histories", rows * history_bytes)
    # The solution set: points and component vertices, the payoff boxes of components,
    # the joint distributions (normal form, joint_concept "nash"), the CE/CCE constraints.
    members = shape.points + len(shape.components)
    add("solution set points", "solution_set", 4 * _WORD * members * states * actions + _ARRAY * members * n)
    boxes = sum(math.prod(c) for c in shape.components)  # vertex profiles of the payoff boxes
    add("component payoff boxes", "solution_set", _WORD * boxes * (actions + 2 * n))
    targets = shape.points + sum(min(math.prod(c), _MAX_VERTEX_PROFILES) for c in shape.components)
    if not stochastic and options.joint_concept == "nash":
        add("joint distributions of the set", "solution_set", 2 * _WORD * targets * joint)
    if not stochastic and options.joint_concept in ("correlated", "coarse_correlated"):
        constraints = (
            sum(k * (k - 1) for k in num_actions)
            if options.joint_concept == "correlated"
            else sum(num_actions)
        )
        # the dense constraints (held), their negation while built, the sparse rows they come from
        add("CE/CCE constraints", "joint_concept", 3 * _WORD * constraints * joint)
        add(
            "CE/CCE distance programs", "joint_concept", _polytope_working(constraints, joint, options.metric)
        )
    # The joint play at a checkpoint (and the correlation in a score), or the old count
    # table while it grows: never at the same time.
    if stochastic:
        working = _MARKOV_COPIES * _WORD * states * joint
        if states <= DENSE_STATES:
            working += 3 * _WORD * states * states  # the dense policy-evaluation system
        working += 3 * _WORD * states * max(num_actions) * states  # best-response transitions
        add("policy certificates and joint play", "game", working)
    elif samples:
        play = _joint_play_working(options, joint, actions, rows, targets, shape)
        growth = max(int(grown_from), 0) * (history_bytes + 2 * _WORD)
        if growth > play:
            add("count table growth", "max_histories", growth)
        else:
            add("joint-play working arrays", "max_histories", play)
    # Curves: checkpoints, thresholds, ring buffers (and their concatenation), switch rows,
    # and a score's fit and tail arrays over the checkpoints.
    n_curves = sum(1 for name in CURVES if _wanted(options, name)) - int(
        _wanted(options, "empirical_distribution") and _wanted(options, "set_convergence")
    )
    checkpoints = min(int(options.n_checkpoints), int(_GRID_LEVELS[0].size))
    per_curve = (
        _CURVE_OBJECTS
        + checkpoints * (_CHECKPOINT + 6 * _WORD)
        + 6 * _WORD * len(options.epsilons)
        + 3 * _WORD * int(options.tail_buffer)
        + _SWITCH_MEMORY * _LIST_NUMBER
    )
    add("curves", "n_checkpoints", n_curves * per_curve)
    if credit is None:
        credit = _wanted(options, CREDIT) and credit_rejection(game, "trace_memory_bound()") is None
    if credit:
        # Per checkpoint one row of 2n + 2 floats (an array each). Working arrays of a block
        # of rows (per state in a stochastic game): the team payoffs per row, the coalition
        # contractions (input and output; agent i's leaves 2^(i+1) a_(i+1)...a_n values),
        # the coalition values and the Shapley differences; a stochastic row also has its
        # values, Q of every player and of the team.
        contraction = max(2 ** (i + 1) * math.prod(num_actions[i + 1 :]) for i in range(n))
        block = 1 if stochastic else max(1, CREDIT_BLOCK // max(2 * joint, 1 << n))
        add(
            "credit checkpoints",
            "n_checkpoints",
            checkpoints * (_ARRAY + _WORD * (2 * n + 2) + 2 * _LIST_NUMBER),
        )
        working = _WORD * block * states * (joint + 3 * contraction + 4 * (1 << n)) + 3 * _WORD * (1 << n)
        if stochastic:
            working += _WORD * states * ((n + 2) * joint + states + n)
        add("credit working arrays", "game", working)
    # Policy state (sums, last iterates, a copy while updated) and, against a partial set,
    # the limit trackers' segments (two streams, one reference profile each).
    policy = 3 * (_WORD * states * actions + _ARRAY * n)
    if not shape.complete:
        policy += 2 * (_MAX_SEGMENTS + 2) * (_WORD * states * actions + _ARRAY * n + 3 * _LIST_NUMBER + 56)
    add("policy state", "game", policy)
    # One chunk: its bytes and the per-row working arrays; components with several
    # vertices add a distance per row and vertex.
    vertices = max((max(c) for c in shape.components), default=1)
    add("chunk working arrays", "chunk", (_CHUNK_COPIES + 2 * vertices) * chunk_bytes)
    add("scorer objects", "game", _SCORER_OBJECTS)
    ordered = tuple(sorted(terms, key=lambda t: -t.nbytes))
    return MemoryBound(ordered, rows if not stochastic else 0, history_bytes)


def histories_within(
    budget: int,
    game: NormalFormGame | StochasticGame,
    solution_set: SolutionSet | MarkovSolutionSet | SolutionTarget | None,
    options: ScoreOptions,
    *,
    chunk_bytes: int = 1 << 20,
) -> int:
    """The most history rows of a normal-form count table whose bound stays within ``budget``.

    Examples
    --------
    >>> import numpy as np
    >>> from equilibria.solver import NormalFormGame
    >>> game = NormalFormGame(np.zeros((2, 700, 700)))
    >>> histories_within(256 << 20, game, None, ScoreOptions())
    41
    """
    low, high = 0, count_limit(options, math.prod(int(k) for k in game.num_actions))

    def fits(rows: int) -> bool:
        bound = trace_memory_bound(game, solution_set, options, chunk_bytes=chunk_bytes, histories=rows)
        return bound.total <= budget

    if not fits(0):
        return 0
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low
