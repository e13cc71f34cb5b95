"""The bounded state of a streamed curve: log-spaced checkpoints, tail tests, selection.

A curve of :class:`~equilibria.solver.traces.scorer.TraceScorer` keeps, whatever the
length of the trace, its values at the log-spaced checkpoints :math:`\\lfloor 2^{j/16}
\\rfloor` (thinned to at most ``n_checkpoints``), for every threshold the last row at or
above and the last row below it (which decide exactly whether a tail window of any
length lies below or above it), a ring buffer of recent values for the periodicity
test, and the group of equilibria the trace selects. Everything here depends on ``z``
only, not on how the trace was chunked; see docs/traces.md.

References
----------
.. [1] M. Lanctot et al., "OpenSpiel: a framework for reinforcement learning in games",
   arXiv:1908.09453 (2019): ``StrategyAverager`` for streaming averages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
import numpy.typing as npt
from equilibria.solver._typing import FloatArray, Int64Array
from equilibria.solver.kernels import warm_up
from equilibria.solver.traces.verdicts import Periodicity, detect_period

if TYPE_CHECKING:
    from equilibria.solver.traces.target import _Member

__all__: list[str] = []  # the scorer's internals


#: Grid points per octave at checkpoint level 0, and the largest level.
_GRID_RESOLUTION = 16
_MAX_LEVEL = 10
#: Fewest samples in the tail of a checkpoint-only criterion.
_MIN_CHECKPOINT_TAIL = 3
#: Most recent switch rows a curve remembers (switching evidence needs the last few only).
_SWITCH_MEMORY = 64

_GRID_TABLE = np.array([math.floor(2.0 ** (j / _GRID_RESOLUTION)) for j in range(_GRID_RESOLUTION * 62 + 1)])
_GRID_LEVELS = [np.unique(_GRID_TABLE[:: 1 << level]).astype(np.int64) for level in range(_MAX_LEVEL + 1)]


class _Plan(NamedTuple):
    """The grid level after a chunk, and the checkpoints the chunk's rows reach."""

    level: int
    points: Int64Array


class _Tail(NamedTuple):
    """What the tail window of a curve shows, per threshold (ascending)."""

    below: tuple[bool, ...]  # every value in the window is below the threshold
    above: tuple[bool, ...]  # every value in the window is at or above it
    last_above: tuple[int, ...]  # the last row at or above it (0: none)
    period: Periodicity | None
    text: str  # how the tail was observed
    z0: dict[float, int | None]  # per-row curves: first row from which every row is below
    z0_exact: bool
    switches: int  # changes of the selected group over the whole trace
    recent_switches: int  # of them, those in the switching span (at most _SWITCH_MEMORY)
    last_switch: int  # the row of the last switch (0: none)
    switch_start: int  # first row of the switching span: the last half of the trace, or the tail window


class _Grid:
    """Log-spaced checkpoints ``floor(2^(j/16))``, ``j`` a multiple of ``2^level``."""

    def __init__(self, cap: int) -> None:
        self.cap = int(cap)
        self.level = 0

    def plan(self, low: int, high: int) -> _Plan:
        """The level at ``z = high`` and its grid points ``z`` in ``(low, high]``.

        The level is the smallest (not below the current one) with at most ``cap`` grid
        points up to ``high``: a function of ``high`` alone, so the checkpoints do not
        depend on how the trace was chunked, and points a coarser level would drop are
        never computed. The caller commits it (sets ``level``) once the chunk is consumed.
        """
        level = self.level
        while level < _MAX_LEVEL and int(np.searchsorted(_GRID_LEVELS[level], high, side="right")) > self.cap:
            level += 1
        grid = _GRID_LEVELS[level]
        return _Plan(
            level, grid[np.searchsorted(grid, low, side="right") : np.searchsorted(grid, high, side="right")]
        )

    def contains(self, zs: Int64Array) -> npt.NDArray[np.bool_]:
        """Whether each ``z`` is a grid point at the current level."""
        grid = _GRID_LEVELS[self.level]
        pos = np.minimum(np.searchsorted(grid, zs), grid.size - 1)
        return np.asarray(grid[pos] == zs)


class _Selection:
    """Which group of equilibria a sequence selects, how often and where the selection changes."""

    def __init__(self, dwell: int) -> None:
        self.dwell = int(dwell)
        self.group = -1  # the selected group
        self.switches = 0
        self.run_group = -1  # the run in progress
        self.run_length = 0
        self.switch_rows: list[int] = []  # the rows of the last _SWITCH_MEMORY switches

    def track(self, seq: Int64Array, first: int = 1) -> None:
        """Selection along rows: runs of one group near enough for ``dwell`` rows select it.

        ``seq`` holds each row's nearest group, -1 where the row is not within the
        largest threshold; its rows are numbered from ``first``. A run selects its group
        on the row its length reaches ``dwell``; the run in progress carries over to the
        next chunk, so the count does not depend on the chunking. A switch is recorded at
        the first row of the run that made it.
        """
        state = np.array([self.group, self.switches, self.run_group, self.run_length], dtype=np.int64)
        at = np.empty(seq.size, dtype=np.int64)
        found = _track_runs(np.ascontiguousarray(seq, dtype=np.int64), self.dwell, state, at)
        self.group, self.switches, self.run_group, self.run_length = (int(v) for v in state)
        if found:
            rows = (at[:found] + first).tolist()
            self.switch_rows = (self.switch_rows + rows)[-_SWITCH_MEMORY:]

    def recent(self, start: int) -> tuple[int, int]:
        """Switches at row ``start`` or later (at most ``_SWITCH_MEMORY``), and the last switch row."""
        rows = self.switch_rows
        return sum(1 for r in rows if r >= start), (rows[-1] if rows else 0)


@numba.njit(cache=True)
def _track_runs(seq: Int64Array, dwell: int, state: Int64Array, at: Int64Array) -> int:
    """:meth:`_Selection.track` row by row; ``state`` is (group, switches, run group, run length).

    Writes the (0-based) first row of each switching run to ``at``; returns their number.
    """
    group, switches, run_group, run_length = state[0], state[1], state[2], state[3]
    found = 0
    for r in range(seq.size):
        v = seq[r]
        if v == run_group:
            run_length += 1
        else:
            run_group = v
            run_length = 1
        if run_length == dwell and v >= 0:
            if v != group and group >= 0:
                switches += 1
                at[found] = r - dwell + 1
                found += 1
            group = v
    state[0], state[1], state[2], state[3] = group, switches, run_group, run_length
    return found


class _Curve:
    """Bounded state of one curve: checkpoints, per-threshold indices, ring buffer, switches.

    ``floor`` is the curve's round-off floor: a value within it below a threshold is a
    tie with it, so at or above it (for ``z0`` and both tail tests), as exact arithmetic
    would have it for a value that is the threshold itself (3/15 against 0.2).
    """

    def __init__(self, taus: FloatArray, per_row: bool, buffer: int, dwell: int, floor: float = 0.0) -> None:
        self.taus = taus
        self.floor = float(floor)
        self.per_row = per_row
        self.checkpoint_z: list[int] = []
        self.checkpoint_values: list[float] = []
        self.checkpoint_members: list[_Member | None] = []
        self.checkpoint_radii: list[float] = []  # confidence radius per checkpoint (sampled data only)
        self.n = 0
        e = taus.size
        self.last_upper_above = np.zeros(e, dtype=np.int64)  # last row with upper >= tau
        self.last_lower_above = np.zeros(e, dtype=np.int64)  # last row with lower >= tau
        self.last_lower_below = np.zeros(e, dtype=np.int64)  # last row with lower < tau
        self.buffer = int(buffer)
        self.ring = np.zeros(0)
        self.selection = _Selection(dwell)

    @property
    def nbytes(self) -> int:
        return int(
            self.taus.nbytes
            + self.last_upper_above.nbytes * 3
            + self.ring.nbytes
            + 8
            * (
                len(self.checkpoint_z)
                + len(self.checkpoint_values)
                + len(self.checkpoint_members)
                + len(self.checkpoint_radii)
            )
        )

    def push_rows(self, first: int, upper: FloatArray, lower: FloatArray, groups: Int64Array | None) -> None:
        m = upper.size
        # A value within the round-off floor of a threshold is a tie: at the threshold, so
        # "at or above" it (the definitions' d >= epsilon), however the rounding fell.
        taus = self.taus - self.floor
        _last_rows(upper, taus, True, first, self.last_upper_above)
        if lower is upper:  # exact distances: the bracket is one curve
            self.last_lower_above[:] = self.last_upper_above
        else:
            _last_rows(lower, taus, True, first, self.last_lower_above)
        _last_rows(lower, taus, False, first, self.last_lower_below)
        self.ring = np.concatenate([self.ring, upper[-self.buffer :]])[-self.buffer :]
        if groups is not None:
            self.selection.track(np.where(upper < self.taus[-1], groups, -1), first)
        self.n = first + m - 1

    def push_checkpoints(
        self,
        zs: list[int],
        values: list[float],
        members: list[_Member | None] | None,
        radii: list[float] | None = None,
    ) -> None:
        self.checkpoint_z.extend(int(z) for z in zs)
        self.checkpoint_values.extend(float(v) for v in values)
        self.checkpoint_members.extend(members if members is not None else [None] * len(zs))
        if radii is not None:
            self.checkpoint_radii.extend(float(r) for r in radii)

    def thin(self, keep: npt.NDArray[np.bool_]) -> None:
        idx = np.flatnonzero(keep).tolist()
        self.checkpoint_z = [self.checkpoint_z[k] for k in idx]
        self.checkpoint_values = [self.checkpoint_values[k] for k in idx]
        self.checkpoint_members = [self.checkpoint_members[k] for k in idx]
        if self.checkpoint_radii:
            self.checkpoint_radii = [self.checkpoint_radii[k] for k in idx]

    def tail(
        self,
        z: int,
        window: int,
        samples_z: FloatArray,
        samples_v: FloatArray,
        epsilons: tuple[float, ...],
        group_of: Callable[[_Member], int],
    ) -> _Tail:
        """The tail window of ``window`` rows ending at row ``z``, per threshold.

        A curve computed for every row answers exactly from its last rows above and below
        each threshold (``z0`` too, keyed by ``epsilons``), its periodicity from the ring
        buffer. A curve computed at checkpoints only reads ``samples_z`` and ``samples_v``
        (its checkpoints and the final value) inside the window, at least the last
        :data:`_MIN_CHECKPOINT_TAIL`; its group is selected by two consecutive near
        checkpoints (``group_of`` maps a member to its group).

        Switches count as evidence against one limit from ``switch_start`` on: the last
        half of the trace, or the tail window when it is longer.
        """
        tail_start = z - window + 1
        switch_start = min(tail_start, z // 2 + 1)
        if self.per_row:
            recent, last_switch = self.selection.recent(switch_start)
            z0: dict[float, int | None] = {}
            for e, lv in zip(epsilons, self.last_upper_above.tolist(), strict=True):
                z0[e] = int(lv) + 1 if lv < z else None
            return _Tail(
                below=tuple(bool(v < tail_start) for v in self.last_upper_above),
                above=tuple(bool(v < tail_start) for v in self.last_lower_below),
                last_above=tuple(int(v) for v in self.last_upper_above),
                period=detect_period(self.ring[-min(window, self.ring.size) :]),
                text=f"rows {tail_start}..{z}, {window} rows",
                z0=z0,
                z0_exact=bool(np.array_equal(self.last_upper_above, self.last_lower_above)),
                switches=self.selection.switches,
                recent_switches=recent,
                last_switch=last_switch,
                switch_start=switch_start,
            )
        taus = self.taus
        floor = self.floor
        sample_z = samples_z.astype(np.int64)
        inside = sample_z >= tail_start
        if int(inside.sum()) < _MIN_CHECKPOINT_TAIL:
            inside = np.zeros(sample_z.size, dtype=bool)
            inside[-_MIN_CHECKPOINT_TAIL:] = True
        tail_v = samples_v[inside]
        selection = _checkpoint_selection(
            self.checkpoint_z, self.checkpoint_values, self.checkpoint_members, float(taus[-1]), group_of
        )
        recent, last_switch = selection.recent(switch_start)
        return _Tail(
            below=tuple(bool((tail_v < t - floor).all()) for t in taus),
            above=tuple(bool((tail_v >= t - floor).all()) for t in taus),
            last_above=tuple(
                int(sample_z[np.flatnonzero(samples_v >= t - floor)[-1]])
                if (samples_v >= t - floor).any()
                else 0
                for t in taus
            ),
            period=None,
            text=f"{int(inside.sum())} checkpoints z={int(sample_z[inside][0])}..{z}, tail window {window} rows",
            z0={},
            z0_exact=True,
            switches=selection.switches,
            recent_switches=recent,
            last_switch=last_switch,
            switch_start=switch_start,
        )


@numba.njit(cache=True)
def _last_rows(values: FloatArray, taus: FloatArray, at_least: bool, first: int, last: Int64Array) -> None:
    """For each threshold, set ``last[j]`` to the last row (numbered from ``first``) of ``values``
    at least ``taus[j]`` (or below it when not ``at_least``); unchanged when there is none."""
    for j in range(taus.size):
        tau = taus[j]
        found = -1
        if at_least:
            for r in range(values.size):
                found = max(found, r if values[r] >= tau else -1)
        else:
            for r in range(values.size):
                found = max(found, r if values[r] < tau else -1)
        if found >= 0:
            last[j] = first + found


def _checkpoint_selection(
    zs: Sequence[int],
    values: Sequence[float],
    members: Sequence[_Member | None],
    near: float,
    group_of: Callable[[_Member], int],
) -> _Selection:
    """Selection along checkpoints: a group is selected by two consecutive near checkpoints.

    The switch rows recorded are the ``z`` of the first of the two checkpoints.
    """
    seq = np.array(
        [group_of(m) if m is not None and v < near else -1 for v, m in zip(values, members, strict=True)],
        dtype=np.int64,
    )
    selection = _Selection(2)
    if seq.size == 0:
        return selection
    at = np.empty(seq.size, dtype=np.int64)
    state = np.array([-1, 0, -1, 0], dtype=np.int64)
    found = _track_runs(seq, 2, state, at)
    selection.group, selection.switches = int(state[0]), int(state[1])
    selection.switch_rows = [int(zs[k]) for k in at[:found].tolist()][-_SWITCH_MEMORY:]
    return selection


@warm_up
def _warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the curve kernels now.

    Examples
    --------
    >>> _warm_up()
    """
    _last_rows(np.zeros(1), np.ones(1), True, 1, np.zeros(1, dtype=np.int64))
    _track_runs(np.zeros(1, dtype=np.int64), 2, np.zeros(4, dtype=np.int64), np.zeros(1, dtype=np.int64))


@numba.njit(cache=True)
def _running_means(total: FloatArray, x: FloatArray, z_old: int, means: FloatArray) -> None:
    """Running sums of the rows of ``x`` continued from ``total`` (updated), and their means.

    Row ``r``'s mean is the sum after it divided by ``z_old + r + 1``: the operations of
    ``cumsum`` (in row order) and a division, so any chunking gives the same bits.
    """
    for r in range(x.shape[0]):
        z = float(z_old + r + 1)
        for f in range(x.shape[1]):
            total[f] = total[f] + x[r, f]
            means[r, f] = total[f] / z


@warm_up
def _warm_up_running_means() -> None:
    """Compile (or load from numba's on-disk cache) the running-means kernel now.

    Examples
    --------
    >>> _warm_up_running_means()
    """
    frozen = np.full((1, 2), 0.5)
    frozen.setflags(write=False)  # chunks hold read-only arrays
    _running_means(np.zeros(2), frozen, 0, np.empty((1, 2)))
