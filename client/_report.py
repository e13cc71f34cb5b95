"""Reports people look at: convergence plots, solution-set pictures, self-contained HTML.

The one place that renders results, used by :meth:`TraceScore.plot`,
:meth:`TraceScore.to_html`, :meth:`SolutionSet.to_html`,
:meth:`MarkovSolutionSet.to_html` and the CLI (``equilibria score --report``,
``equilibria solve --report``). It works on the client's result types only: the
policies of a trajectory come from the caller (who holds the trace), never from the
server.

matplotlib is an optional extra (``pip install 'equilibria[plot]'``) imported on first
use. Figures are :class:`matplotlib.figure.Figure` objects rendered by the Agg canvas,
never through ``pyplot``: no window opens and the caller's backend is left alone.
Every figure has a fixed size in pixels (:data:`CURVE_PIXELS`, :data:`SIMPLEX_PIXELS`,
:data:`PAYOFF_PIXELS`), and the HTML embeds them as base64 PNG, so one file holds the
whole report (no external ``src`` or ``href``).

Examples
--------
>>> score = client.score_trace(rps, policies=(xs, ys))  # doctest: +SKIP
>>> figures = score.plot(trace=(xs, ys))                 # doctest: +SKIP
>>> pathlib.Path("report.html").write_text(score.to_html(trace=(xs, ys)))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt
from equilibria.client._typing import FloatArray

if TYPE_CHECKING:
    from equilibria.client._trace import CreditCurves, CriterionScore, TraceScore
    from equilibria.client._types import MarkovSolutionSet, SolutionSet

__all__ = [
    "PLOT_EXTRA_HINT",
    "CURVE_PIXELS",
    "SIMPLEX_PIXELS",
    "PAYOFF_PIXELS",
    "payoff_tensor",
    "policies_of",
    "shows_z0",
    "trace_figures",
    "trace_html",
    "solution_figures",
    "solution_html",
    "markov_solution_html",
]


#: What to install when matplotlib is missing.
PLOT_EXTRA_HINT = "pip install 'equilibria[plot]'"
_DPI = 100
#: Width and height in pixels of a curve figure (criterion, NashConv).
CURVE_PIXELS = (720, 440)
#: Simplex pictures: the unit square of a 2x2 game, and one panel per player otherwise.
SIMPLEX_PIXELS = {"square": (560, 520), "panels": (960, 480)}
#: The payoff-space scatter of a solution set.
PAYOFF_PIXELS = (560, 520)
#: Most points of a trajectory drawn (log- and linearly spaced rows of the trace).
_TRAJECTORY_POINTS = 1500
#: Largest payoff table shown in full.
_MAX_TABLE_CELLS = 600
_EPS_COLOURS = ("#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
_VERDICT_COLOURS = {
    "converged": "#1a7f37",
    "converged_outside_set": "#0969da",
    "not_converged": "#cf222e",
    "inconclusive": "#9a6700",
}
_VERDICT_TEXT = {
    "converged": "converged",
    "converged_outside_set": "converged to an equilibrium outside the computed set",
    "not_converged": "not converged",
    "inconclusive": "inconclusive",
}
_TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3.0) / 2.0]])


# =========================================================================== matplotlib


def _matplotlib() -> tuple[Any, Any]:
    """The Figure class and the Agg canvas, or an ImportError naming the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"plots and HTML reports need matplotlib: {PLOT_EXTRA_HINT}") from exc
    return Figure, FigureCanvasAgg


def _figure(pixels: tuple[int, int]) -> Any:
    figure_class, canvas_class = _matplotlib()
    fig = figure_class(figsize=(pixels[0] / _DPI, pixels[1] / _DPI), dpi=_DPI)
    canvas_class(fig)
    return fig


def _log_axes(ax: Any) -> None:
    """Log-log axes with plain tick labels (mathtext labels cost most of the drawing time)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10.0, numticks=8))
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        axis.set_minor_locator(NullLocator())


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


# =========================================================================== inputs


def payoff_tensor(game: Any) -> FloatArray:
    """The payoff tensor ``(n_players, a_1, ..., a_n)`` of anything ``Client.solve`` accepts.

    Examples
    --------
    >>> payoff_tensor(([[1, 0], [0, 1]], [[2, 0], [0, 2]])).shape
    (2, 2, 2)
    >>> payoff_tensor([[0, 1], [1, 0]])[1].tolist()  # a matrix is the zero-sum game (A, -A)
    [[-0.0, -1.0], [-1.0, -0.0]]
    >>> payoff_tensor({"payoffs": ([[1, 0], [0, 1]], [[2, 0], [0, 2]])}).shape
    (2, 2, 2)
    """
    if hasattr(game, "payoffs"):
        return np.asarray(game.payoffs, dtype=np.float64)
    if isinstance(game, Mapping):  # {"payoffs": ...} as Client.solve takes it
        return payoff_tensor(game["payoffs"])
    if isinstance(game, tuple | list) and len(game) == 2:
        a, b = (np.asarray(m, dtype=np.float64) for m in game)
        if a.ndim == 2 and a.shape == b.shape:
            return np.stack([a, b])
    payoffs = np.asarray(game, dtype=np.float64)
    if payoffs.ndim == 2:
        payoffs = np.stack([payoffs, -payoffs])
    if payoffs.ndim < 3 or payoffs.shape[0] != payoffs.ndim - 1:
        raise ValueError(f"payoff_tensor(): expected (n_players, a_1, ..., a_n), got shape {payoffs.shape}")
    return payoffs


def policies_of(trace: Any) -> list[FloatArray] | None:
    """Per-player policy arrays from a sequence of arrays or a mapping (``np.load`` of a .npz).

    A mapping holds ``policies_0``, ``policies_1``, ... (the layout ``equilibria score``
    reads); None when it has none.
    """
    if trace is None:
        return None
    if isinstance(trace, Mapping) or hasattr(trace, "files"):
        keys = list(trace.files) if hasattr(trace, "files") else list(trace.keys())
        names = sorted(
            (k for k in keys if str(k).startswith("policies_")), key=lambda k: int(k.split("_")[1])
        )
        if not names:
            return None
        return [np.asarray(trace[k], dtype=np.float64) for k in names]
    arrays = [np.asarray(p, dtype=np.float64) for p in trace]
    if len(arrays) < 2 or any(a.ndim != arrays[0].ndim or len(a) != len(arrays[0]) for a in arrays):
        raise ValueError("trace: expected one policy array per player, (Z, a_i) each, with equal Z")
    return arrays


# =========================================================================== naming


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:.{digits}g}"


def _vector(v: Sequence[float], digits: int = 3) -> str:
    return "(" + ", ".join(_fmt(float(p), digits) for p in v) + ")"


def member_name(ref: tuple[str, int] | None, solution_set: Any) -> str:
    """A readable name of a member of the solution set: ``E2 = (...) × (...), payoffs (...)``."""
    if ref is None:
        return "none"
    kind, index = ref
    if kind == "point":
        if solution_set is not None and index < len(solution_set.equilibria):
            eq = solution_set.equilibria[index]
            strategies = getattr(eq, "strategies", None)
            if strategies is None:
                return f"E{index}, payoffs {_vector(eq.payoffs)}"
            profile = " × ".join(_vector(s) for s in strategies)
            return f"E{index} = {profile}, payoffs {_vector(eq.payoffs)}"
        return f"E{index}"
    if solution_set is not None and index < len(getattr(solution_set, "components", ())):
        members = ", ".join(f"E{k}" for k in solution_set.components[index].equilibrium_indices)
        return f"component C{index} (the convex set spanned by {members})"
    return f"component C{index}"


def _short(ref: tuple[str, int] | None) -> str:
    if ref is None:
        return ""
    return f"E{ref[1]}" if ref[0] == "point" else f"C{ref[1]}"


# =========================================================================== trace figures


#: Position (left, bottom, width, height) of the axes of a curve figure before
#: :func:`_fit_curve_axes` makes room for the tick labels and the legend.
_CURVE_AXES = (0.1, 0.12, 0.62, 0.78)
#: Smallest value a log-scale curve shows, relative to its top: below it are round-off
#: and denormals (a value of 1e-320 would stretch the axis over 300 decades).
_DYNAMIC_RANGE = 1e-12
#: Pixels kept free between a text and the figure's edge.
_EDGE_PIXELS = 4.0


def _positive_floor(*arrays: Any) -> float:
    values = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays if a is not None])
    finite = values[np.isfinite(values) & (values > 0)]
    if not finite.size:
        return 1e-12
    return max(float(finite.min()) / 10.0, float(finite.max()) * _DYNAMIC_RANGE)


def _fit_line(c: CriterionScore) -> tuple[FloatArray, FloatArray] | None:
    """The fitted power law through the points the scorer fitted (z >= sqrt(Z), and the final value)."""
    if c.fitted_rate is None or c.checkpoints_z.size == 0:
        return None
    z = np.append(c.checkpoints_z.astype(np.float64), float(c.z))
    v = np.append(c.values, c.final_value)
    keep = (z >= math.sqrt(c.z)) & np.isfinite(v) & (v > 0)
    if keep.sum() < 2:
        return None
    slope = float(c.fitted_rate)
    intercept = float(np.mean(np.log(v[keep]) - slope * np.log(z[keep])))
    zs = np.array([z[keep].min(), float(c.z)])
    # In log space: a steep fit (a slope of -180) would overflow z**slope.
    return zs, np.exp(np.clip(intercept + slope * np.log(zs), -745.0, 709.0))


def shows_z0(c: CriterionScore) -> bool:
    """Whether the figure of ``c`` marks its z0: not on a curve judged "not converged".

    z0(ε) is the row from which the curve stays below ε; on a curve that does not
    converge it marks nothing the verdict stands by, so it is left out (the table of the
    report still lists it).
    """
    return c.verdict != "not_converged"


def _curve_axes(ax: Any, c: CriterionScore, epsilons: Sequence[float], floor: float, label: str) -> None:
    z = c.checkpoints_z.astype(np.float64)
    ax.plot(z, np.maximum(c.values, floor), marker="o", ms=2.5, lw=1.4, label=label)
    ax.plot(
        [c.z], [max(c.final_value, floor)], marker="D", ms=5, ls="none", color="black", label="final value"
    )
    for k, eps in enumerate(sorted(epsilons, reverse=True)):
        colour = _EPS_COLOURS[k % len(_EPS_COLOURS)]
        tau = eps * c.scale
        ax.axhline(tau, ls="--", lw=0.9, color=colour, label=f"ε = {eps:g}")
        z0 = c.z0.get(eps)
        if z0 is not None and shows_z0(c):
            ax.axvline(z0, ls=":", lw=0.9, color=colour, gid=f"z0-line-{eps:g}")
            ax.plot(
                [z0],
                [tau],
                marker="v",
                ms=7,
                color=colour,
                ls="none",
                label=f"z₀({eps:g}) = {z0}",
                gid=f"z0-{eps:g}",
            )


def _fit_curve_axes(fig: Any, ax: Any) -> None:
    """Move the axes so the y tick labels, the y label and the legend lie inside the figure.

    The figure has a fixed size in pixels; long tick labels ("0.0001") or a wide legend
    would otherwise be cut at the figure's edge.
    """
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    left, bottom, axes_width, height = ax.get_position().bounds
    for _ in range(2):  # a second pass once the tick labels have settled
        fig.canvas.draw()
        y_extent = ax.yaxis.get_tightbbox(renderer)
        overhang_left = _EDGE_PIXELS - y_extent.x0 if y_extent is not None else 0.0
        legend = ax.get_legend()
        overhang_right = 0.0
        if legend is not None:
            overhang_right = legend.get_window_extent(renderer).x1 - (width - _EDGE_PIXELS)
        shift = max(overhang_left, 0.0) / width
        shrink = shift + max(overhang_right, 0.0) / width
        if shift <= 0.0 and shrink <= 0.0:
            return
        left, axes_width = left + shift, axes_width - shrink
        ax.set_position((left, bottom, axes_width, height))


def _criterion_figure(c: CriterionScore, score: TraceScore) -> Any:
    fig = _figure(CURVE_PIXELS)
    ax = fig.add_axes(_CURVE_AXES)
    colour = _VERDICT_COLOURS.get(c.verdict, "black")
    title = f"{c.name}: {_VERDICT_TEXT.get(c.verdict, c.verdict)}"
    if c.epsilon is not None:
        title += f" (ε = {c.epsilon:g})"
    ax.set_title(title, color=colour, fontsize=11)
    if c.checkpoints_z.size == 0:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    radii = c.checkpoint_radii
    lower = None if radii is None else c.values - radii
    thresholds = np.array(score.epsilons) * c.scale
    floor = _positive_floor(c.values, [c.final_value], thresholds, lower)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axes(ax)
    if radii is not None and radii.size == c.values.size:
        finite = np.isfinite(radii)
        if finite.sum() >= 2:
            z = c.checkpoints_z[finite].astype(np.float64)
            lo = np.maximum(c.values[finite] - radii[finite], floor)
            hi = c.values[finite] + radii[finite]
            ax.fill_between(z, lo, hi, color="#1f77b4", alpha=0.2, lw=0, label="confidence band")
    _curve_axes(ax, c, score.epsilons, floor, c.name)
    fit = _fit_line(c)
    if fit is not None:
        r2 = "" if c.rate_r2 is None else f", R² = {c.rate_r2:.2f}"
        ax.plot(fit[0], fit[1], lw=2.2, alpha=0.6, color="grey", label=f"fitted rate {c.fitted_rate:.2f}{r2}")
    if c.nearest_solution is not None:  # a legend entry: it can never overlap a tick label
        ax.plot([], [], ls="none", label=f"approached: {_short(c.nearest_solution)}")
    top = max(float(np.nanmax(np.where(np.isfinite(c.values), c.values, floor))), float(thresholds.max()))
    ax.set_ylim(floor * 0.7, max(top, floor) * 2.0)
    ax.set_xlim(0.8, max(float(c.z), 2.0) * 1.3)
    ax.set_xlabel("z (iteration / episode)")
    ax.set_ylabel("payoff gap" if c.scale != 1.0 else f"distance ({score.metric})")
    ax.grid(True, which="major", lw=0.3, alpha=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, handlelength=1.8)
    _fit_curve_axes(fig, ax)
    return fig


def _nash_conv_figure(score: TraceScore) -> Any | None:
    curves = [c for c in score.criteria if c.name in ("nash_conv", "nash_conv_average") and c.z > 0]
    if not curves:
        return None
    fig = _figure(CURVE_PIXELS)
    ax = fig.add_axes(_CURVE_AXES)
    ax.set_title("NashConv of the last iterate and of the running average", fontsize=11)
    thresholds = np.array(score.epsilons) * curves[0].scale
    floor = _positive_floor(*(c.values for c in curves), thresholds)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axes(ax)
    for c in curves:
        label = "NashConv(last iterate)" if c.name == "nash_conv" else "NashConv(running average)"
        ax.plot(c.checkpoints_z, np.maximum(c.values, floor), marker="o", ms=2.5, lw=1.4, label=label)
    for k, eps in enumerate(sorted(score.epsilons, reverse=True)):
        ax.axhline(eps * curves[0].scale, ls="--", lw=0.9, color=_EPS_COLOURS[k % len(_EPS_COLOURS)])
    top = max(max(float(np.nanmax(c.values)) for c in curves if c.values.size), float(thresholds.max()))
    ax.set_ylim(floor * 0.7, max(top, floor) * 2.0)
    ax.set_xlim(0.8, max(max(c.z for c in curves), 2) * 1.3)
    ax.set_xlabel("z (iteration / episode)")
    ax.set_ylabel("NashConv (payoff units)")
    ax.grid(True, which="major", lw=0.3, alpha=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    _fit_curve_axes(fig, ax)
    return fig


# =========================================================================== the strategy simplex


def _simplex_kind(num_actions: Sequence[int]) -> str | None:
    """ "square" (2x2), "panels" (2 players with 2 or 3 actions each), or None."""
    if len(num_actions) != 2 or any(k not in (2, 3) for k in num_actions):
        return None
    return "square" if tuple(num_actions) == (2, 2) else "panels"


def _trajectory_rows(z: int) -> npt.NDArray[np.int64]:
    half = _TRAJECTORY_POINTS // 2
    rows = np.concatenate([np.geomspace(1, z, half), np.linspace(1, z, half)] if z > 1 else [np.ones(1)])
    return np.unique(np.clip(np.round(rows).astype(np.int64) - 1, 0, z - 1))


def _running_mean(x: FloatArray) -> FloatArray:
    return np.cumsum(x, axis=0) / np.arange(1, len(x) + 1, dtype=np.float64)[:, None]


def _barycentric(x: FloatArray) -> FloatArray:
    """Points of the triangle for distributions over three actions (rows)."""
    return np.asarray(x, dtype=np.float64) @ _TRIANGLE


def _project(k: int, x: FloatArray) -> FloatArray:
    """Points of a player's picture: the triangle (3 actions) or the segment [0, 1] of P(action 0)."""
    rows = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if k == 3:
        return _barycentric(rows)
    return np.stack([rows[:, 0], np.zeros(len(rows))], axis=1)


def _hull_polygon(points: FloatArray) -> FloatArray:
    """Vertices of the convex polygon of a few 2-D points, in angular order."""
    centre = points.mean(axis=0)
    order = np.argsort(np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0]))
    return points[order]


class _Path(NamedTuple):
    """A curve of the trace drawn in the simplex: its legend label, points per player, line style."""

    label: str
    points: list[FloatArray]
    style: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class _SimplexScene:
    """What a simplex figure shows: the members of the set, the one approached, the trace's paths."""

    equilibria: list[Any]
    components: list[Any]
    chosen_points: frozenset[int]
    chosen_components: frozenset[int]
    paths: list[_Path]


def _simplex_scene(
    solution_set: SolutionSet | None, policies: list[FloatArray] | None, selected: tuple[str, int] | None
) -> _SimplexScene:
    chosen_points: set[int] = set()
    chosen_components: set[int] = set()
    if selected is not None:
        (chosen_points if selected[0] == "point" else chosen_components).add(selected[1])
    paths: list[_Path] = []
    if policies is not None and policies[0].ndim == 2 and len(policies[0]):
        rows = _trajectory_rows(len(policies[0]))
        paths.append(
            _Path("last iterate", [p[rows] for p in policies], {"lw": 0.6, "alpha": 0.35, "color": "#7f7f7f"})
        )
        paths.append(
            _Path(
                "running average", [_running_mean(p)[rows] for p in policies], {"lw": 1.6, "color": "#1f77b4"}
            )
        )
    return _SimplexScene(
        equilibria=[] if solution_set is None else list(solution_set.equilibria),
        components=[] if solution_set is None else list(solution_set.components),
        chosen_points=frozenset(chosen_points),
        chosen_components=frozenset(chosen_components),
        paths=paths,
    )


def _simplex_figure(
    solution_set: SolutionSet | None,
    num_actions: Sequence[int],
    policies: list[FloatArray] | None,
    selected: tuple[str, int] | None,
) -> Any | None:
    kind = _simplex_kind(num_actions)
    if kind is None:
        return None
    fig = _figure(SIMPLEX_PIXELS[kind])
    scene = _simplex_scene(solution_set, policies, selected)
    if kind == "square":
        _square_simplex(fig, scene)
        return fig
    width = 0.68 / len(num_actions)
    for i, k in enumerate(num_actions):
        ax = fig.add_axes((0.03 + i * (width + 0.04), 0.1, width, 0.78))
        _player_simplex(ax, scene, i, k)
        if i == len(num_actions) - 1:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return fig


def _equilibrium_star(ax: Any, k: int, x: float, y: float, chosen: bool) -> None:
    """Equilibrium ``E<k>`` as a star (red and larger when the trace approached it)."""
    ax.plot(
        x,
        y,
        marker="*",
        ms=16 if chosen else 11,
        ls="none",
        color="#d62728" if chosen else "black",
        label=f"E{k}" + (" (approached)" if chosen else ""),
    )
    ax.annotate(f"E{k}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)


def _square_simplex(fig: Any, scene: _SimplexScene) -> None:
    """The 2x2 picture: the unit square of (P(row plays 0), P(column plays 0))."""
    ax = fig.add_axes((0.12, 0.1, 0.6, 0.8))
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_aspect("equal")
    ax.set_xlabel("p = P(player 1 plays action 0)")
    ax.set_ylabel("q = P(player 2 plays action 0)")
    ax.set_title("strategy space (p, q)", fontsize=11)
    ax.plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], color="black", lw=0.8)
    for label, (x, y), style in scene.paths:
        ax.plot(x[:, 0], y[:, 0], label=label, **style)
        if label == "running average":
            ax.plot(x[-1, 0], y[-1, 0], marker="o", ms=6, color="#1f77b4", ls="none", label="end of trace")
    for c, comp in enumerate(scene.components):
        px, py = comp.vertices[0][:, 0], comp.vertices[1][:, 0]
        colour = "#d62728" if c in scene.chosen_components else "#2ca02c"
        if np.ptp(px) > 0 and np.ptp(py) > 0:
            ax.fill(
                [px.min(), px.max(), px.max(), px.min()],
                [py.min(), py.min(), py.max(), py.max()],
                alpha=0.35,
                color=colour,
                edgecolor="black",
                lw=2.0,
                label=f"component C{c}",
            )
        elif np.ptp(px) > 0 or np.ptp(py) > 0:
            ax.plot(
                [px.min(), px.max()],
                [py.min(), py.max()],
                lw=7,
                alpha=0.5,
                color=colour,
                solid_capstyle="butt",
                label=f"component C{c}",
            )
    for k, eq in enumerate(scene.equilibria):
        _equilibrium_star(
            ax, k, float(eq.strategies[0][0]), float(eq.strategies[1][0]), k in scene.chosen_points
        )
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)


def _player_frame(ax: Any, i: int, k: int) -> None:
    """The empty picture of player ``i``'s strategies: a triangle (3 actions) or a segment (2)."""
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"player {i + 1}", fontsize=11)
    if k == 3:
        corners = np.vstack([_TRIANGLE, _TRIANGLE[:1]])
        ax.plot(corners[:, 0], corners[:, 1], color="black", lw=0.8)
        for a, (cx, cy) in enumerate(_TRIANGLE):
            ax.annotate(
                f"action {a}",
                (cx, cy),
                textcoords="offset points",
                xytext=(-14 if a == 0 else (4 if a == 1 else -12), -12 if a < 2 else 6),
                fontsize=8,
            )
    else:
        ax.plot([0, 1], [0, 0], color="black", lw=0.8)
        ax.annotate("action 1", (0, 0), textcoords="offset points", xytext=(-12, -14), fontsize=8)
        ax.annotate("action 0", (1, 0), textcoords="offset points", xytext=(-12, -14), fontsize=8)
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.15, 1.0)


def _player_simplex(ax: Any, scene: _SimplexScene, i: int, k: int) -> None:
    """Player ``i``'s panel (``k`` actions): the trace's paths, the components, the equilibria."""
    _player_frame(ax, i, k)
    for label, xs, style in scene.paths:
        pts = _project(k, xs[i])
        ax.plot(pts[:, 0], pts[:, 1], label=label, **style)
        if label == "running average":
            ax.plot(
                pts[-1, 0], pts[-1, 1], marker="o", ms=6, color="#1f77b4", ls="none", label="end of trace"
            )
    for c, comp in enumerate(scene.components):
        verts = _project(k, comp.vertices[i])
        if len(verts) > 1 and np.ptp(verts, axis=0).max() > 0:
            colour = "#d62728" if c in scene.chosen_components else "#2ca02c"
            if len(verts) > 2:
                poly = _hull_polygon(verts)
                ax.fill(
                    poly[:, 0],
                    poly[:, 1],
                    alpha=0.35,
                    color=colour,
                    edgecolor="black",
                    lw=1.5,
                    label=f"component C{c}",
                )
            else:
                ax.plot(verts[:, 0], verts[:, 1], lw=5, alpha=0.5, color=colour, label=f"component C{c}")
    for e, eq in enumerate(scene.equilibria):
        (px, py) = _project(k, eq.strategies[i])[0]
        _equilibrium_star(ax, e, px, py, e in scene.chosen_points)


def _num_actions(solution_set: Any, policies: list[FloatArray] | None) -> tuple[int, ...] | None:
    if policies is not None and policies[0].ndim == 2:
        return tuple(int(p.shape[1]) for p in policies)
    if (
        solution_set is not None
        and getattr(solution_set, "equilibria", ())
        and hasattr(solution_set.equilibria[0], "strategies")
    ):
        return tuple(int(s.size) for s in solution_set.equilibria[0].strategies)
    return None


# =========================================================================== trace report


def trace_figures(score: TraceScore, trace: Any = None) -> dict[str, Any]:
    """The figures of a trace report, by name.

    ``criterion_<name>`` for every criterion, ``nash_conv`` (both NashConv curves),
    ``simplex`` (2x2 and 3-action 2-player games: the trajectory of the policies of
    ``trace`` with the equilibria and their components).

    Parameters
    ----------
    score : TraceScore
    trace : sequence of array_like or mapping, optional
        The policies (per player ``(Z, a_i)``), or a mapping with ``policies_0``, ... .

    Returns
    -------
    dict of str to matplotlib.figure.Figure

    Raises
    ------
    ImportError
        Without matplotlib, naming ``pip install 'equilibria[plot]'``.
    """
    _matplotlib()
    policies = policies_of(trace)
    figures: dict[str, Any] = {}
    for c in score.criteria:
        figures[f"criterion_{c.name}"] = _criterion_figure(c, score)
    nash = _nash_conv_figure(score)
    if nash is not None:
        figures["nash_conv"] = nash
    solution_set = score.solution_set
    normal_form = solution_set is None or hasattr(solution_set, "components")
    actions = _num_actions(solution_set, policies)
    if normal_form and actions is not None:
        simplex = _simplex_figure(solution_set, actions, policies, score.selected)  # type: ignore[arg-type]
        if simplex is not None:
            figures["simplex"] = simplex
    return figures


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 1100px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.converged { color: #1a7f37; font-weight: bold; }
.not_converged { color: #cf222e; font-weight: bold; }
.converged_outside_set { color: #0969da; font-weight: bold; }
.inconclusive { color: #9a6700; font-weight: bold; }
td.pure-eq { background: #fff8c5; font-weight: bold; }
tr.pareto td:first-child::after { content: " (Pareto)"; color: #cf222e; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; background: #ddf4ff; margin-left: 4px; }
figure { margin: 1.5em 0; }
figcaption { font-size: 0.85em; color: #57606a; }
.evidence { font-size: 0.85em; color: #57606a; }
"""


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _figure_html(name: str, fig: Any, caption: str, png_dir: pathlib.Path | None) -> str:
    data = _png(fig)
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        (png_dir / f"{name}.png").write_bytes(data)
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure id="figure-{html.escape(name)}"><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{encoded}"><figcaption>{html.escape(caption)}</figcaption></figure>'
    )


def _credit_table(credit: CreditCurves) -> str:
    """The credits of a team game's agents at the last row: Shapley value, difference reward,
    change over the tail, trend, lazy."""
    lazy = set(credit.lazy_agents)
    rows = [
        f"<p>Team return {_fmt(credit.final_team_return)} against the coalition baseline "
        f"{_fmt(credit.final_coalition_baseline)} at z={credit.z}; trends over rows {credit.tail_start}..{credit.z}, "
        f"steady within ε={credit.epsilon:g} × the team payoff range {_fmt(credit.payoff_range)}.</p>",
        '<table id="credit"><tr><th>agent</th><th>Shapley value</th><th>difference reward</th>'
        "<th>tail change</th><th>trend</th><th>lazy</th></tr>",
    ]
    for i, trend in enumerate(credit.trends):
        rows.append(
            f'<tr id="credit-{i}"><td>{i}</td><td>{_fmt(float(credit.final_shapley_values[i]))}</td>'
            f"<td>{_fmt(float(credit.final_difference_rewards[i]))}</td>"
            f"<td>{_fmt(float(credit.tail_changes[i]))}</td><td>{html.escape(trend)}</td>"
            f"<td>{'lazy' if i in lazy else ''}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _criteria_table(score: TraceScore) -> str:
    eps = list(score.epsilons)
    head = "".join(f"<th>z<sub>0</sub>(ε={e:g})</th>" for e in eps)
    rows = [
        '<table id="criteria"><tr><th>criterion</th><th>verdict</th><th>ε</th><th>final value</th>'
        f"<th>fitted rate (R²)</th>{head}<th>confidence radius</th><th>approached</th><th>evidence</th></tr>"
    ]
    for c in score.criteria:
        z0 = "".join(f'<td class="z0">{"–" if c.z0.get(e) is None else c.z0[e]}</td>' for e in eps)
        rate = "–" if c.fitted_rate is None else f"{c.fitted_rate:.3f}"
        if c.rate_r2 is not None:
            rate += f" ({c.rate_r2:.2f})"
        radius = "–" if c.confidence_radius is None else _fmt(c.confidence_radius)
        rows.append(
            f'<tr id="row-{c.name}" data-verdict="{c.verdict}"><td>{c.name}</td>'
            f'<td class="{c.verdict}">{_VERDICT_TEXT.get(c.verdict, c.verdict)}</td>'
            f"<td>{'–' if c.epsilon is None else f'{c.epsilon:g}'}</td><td>{_fmt(c.final_value)}</td>"
            f"<td>{rate}</td>{z0}<td>{radius}</td>"
            f"<td>{html.escape(_short(c.nearest_solution))}</td>"
            f'<td class="evidence">{html.escape(c.evidence)}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def _equilibria_table(solution_set: Any, selected: tuple[str, int] | None = None) -> str:
    rows = [
        '<table id="equilibria"><tr><th>equilibrium</th><th>strategies</th><th>payoffs</th>'
        "<th>regrets</th><th>NashConv</th><th>components</th></tr>"
    ]
    for k, eq in enumerate(solution_set.equilibria):
        mark = ' <span class="badge">approached</span>' if selected == ("point", k) else ""
        rows.append(
            f'<tr id="eq-{k}"><td>E{k}{mark}</td><td>{" × ".join(_vector(s) for s in eq.strategies)}</td>'
            f"<td>{_vector(eq.payoffs)}</td><td>{_vector(eq.regrets)}</td>"
            f'<td class="nash-conv">{eq.nash_conv:.3g}</td>'
            f"<td>{', '.join(f'C{c}' for c in eq.components) or '–'}</td></tr>"
        )
    rows.append("</table>")
    for c, comp in enumerate(solution_set.components):
        if any(len(v) > 1 for v in comp.vertices):
            mark = " (approached)" if selected == ("component", c) else ""
            rows.append(
                f"<p>Component C{c}{mark}: the convex set spanned by "
                f"{', '.join(f'E{k}' for k in comp.equilibrium_indices)}.</p>"
            )
    return "\n".join(rows)


def trace_html(
    score: TraceScore, trace: Any = None, *, png_dir: str | pathlib.Path | None = None, title: str = ""
) -> str:
    """A self-contained HTML report of a trace score (figures embedded as base64 PNG).

    Parameters
    ----------
    score : TraceScore
    trace : sequence of array_like or mapping, optional
        The policies, for the trajectory in the strategy simplex.
    png_dir : path, optional
        Also write every figure there as ``<name>.png``.
    title : str, optional

    Returns
    -------
    str

    Raises
    ------
    ImportError
        Without matplotlib, naming ``pip install 'equilibria[plot]'``.
    """
    figures = trace_figures(score, trace)
    folder = None if png_dir is None else pathlib.Path(png_dir)
    solution_set = score.solution_set
    body = [
        f"<p>Rows: {score.n_policies} policies, {score.n_samples} sampled joint actions, "
        f"{score.n_returns} returns. Metric {html.escape(score.metric)} (aggregate "
        f"{html.escape(score.aggregate)}); thresholds ε = {', '.join(f'{e:g}' for e in score.epsilons)}.</p>",
        f'<p id="selected">The trace approached <b>{html.escape(member_name(score.selected, solution_set))}</b>'
        + (f" (by {html.escape(score.selected_by)}" if score.selected_by else " (")
        + f"; {'switched along the way' if score.switched else 'no switch'}).</p>",
    ]
    for warning in score.warnings:
        body.append(f'<p class="warning">Warning: {html.escape(warning)}</p>')
    body.append("<h2>Verdicts</h2>")
    body.append(_criteria_table(score))
    if score.credit is not None:
        body.append("<h2>Credit per agent</h2>")
        body.append(_credit_table(score.credit))
    body.append("<h2>Curves</h2>")
    for c in score.criteria:
        caption = (
            f"{c.name} against z (log–log): {_VERDICT_TEXT.get(c.verdict, c.verdict)}. "
            "Dashed lines: the thresholds ε (times the payoff scale for payoff criteria); "
            "triangles: z0(ε); grey: the fitted rate."
            + (" Shaded: the confidence band." if c.checkpoint_radii is not None else "")
        )
        body.append(_figure_html(f"criterion_{c.name}", figures[f"criterion_{c.name}"], caption, folder))
    if "nash_conv" in figures:
        body.append("<h2>NashConv</h2>")
        body.append(_figure_html("nash_conv", figures["nash_conv"], "NashConv curves (log–log).", folder))
    if "simplex" in figures:
        body.append("<h2>Strategy simplex</h2>")
        body.append(
            _figure_html(
                "simplex",
                figures["simplex"],
                "The trajectory of the policies (grey: last iterate; blue: running average) with the "
                "equilibria (stars) and their convex components.",
                folder,
            )
        )
    if solution_set is not None and hasattr(solution_set, "components"):
        body.append("<h2>Solution set</h2>")
        body.append(_certificate(solution_set))
        body.append(_equilibria_table(solution_set, score.selected))
    return _page(title or "equilibria trace report", body)


# =========================================================================== solution sets


def _pure_profile(eq: Any) -> tuple[int, ...] | None:
    if not eq.is_pure:
        return None
    return tuple(int(np.argmax(s)) for s in eq.strategies)


def _pareto(solution_set: Any, tol: float = 1e-9) -> tuple[tuple[int, ...], str]:
    if "pareto_nash" in solution_set.concepts:
        return tuple(solution_set.pareto_indices), "from the server (pareto_nash)"
    payoffs = np.array([eq.payoffs for eq in solution_set.equilibria]).reshape(
        len(solution_set.equilibria), -1
    )
    keep = []
    for k, u in enumerate(payoffs):
        dominated = ((payoffs >= u - tol).all(axis=1) & (payoffs > u + tol).any(axis=1)).any()
        if not dominated:
            keep.append(k)
    return tuple(keep), "computed here over the equilibria found"


def _welfare(solution_set: Any, tol: float = 1e-9) -> list[tuple[str, float, tuple[int, ...], str]]:
    if solution_set.welfare_optima:
        return [
            (w.function, w.value, tuple(w.equilibrium_indices), "from the server")
            for w in solution_set.welfare_optima
        ]
    if not solution_set.equilibria:
        return []
    total = np.array([float(np.sum(eq.payoffs)) for eq in solution_set.equilibria])
    best = float(total.max())
    return [
        (
            "utilitarian",
            best,
            tuple(np.flatnonzero(total >= best - tol).tolist()),
            "computed here over the equilibria found",
        )
    ]


def _status_items(solution_set: Any) -> list[str]:
    """One list item per requested concept: answered, partial or refused, and why."""
    return [
        f'<li class="concept-status" id="status-{html.escape(c.concept)}"><b>{html.escape(c.concept)}</b>: '
        f"{html.escape(c.status)} &mdash; {html.escape(c.reason)}</li>"
        for c in solution_set.concept_status
    ]


def _certificate(solution_set: Any) -> str:
    worst = max((eq.nash_conv for eq in solution_set.equilibria), default=float("nan"))
    complete = (
        "complete: provably every equilibrium (or every extreme equilibrium and its components)"
        if solution_set.complete
        else "partial: some equilibria only"
    )
    items = [
        f'<li id="complete">{html.escape(complete)}</li>',
        f'<li id="method">method <b>{html.escape(solution_set.method)}</b>: '
        f"{html.escape(solution_set.method_reason)}</li>",
        f'<li id="max-nash-conv">largest NashConv {_fmt(worst, 3)} (tolerance {_fmt(solution_set.tolerance, 3)})</li>',
        f"<li>solve time {solution_set.solve_seconds:.3g} s</li>",
    ]
    items += _status_items(solution_set)
    items += [f'<li class="warning">warning: {html.escape(w)}</li>' for w in solution_set.warnings]
    return '<ul id="certificate">' + "".join(items) + "</ul>"


def _payoff_table(payoffs: FloatArray, solution_set: Any) -> str:
    n = payoffs.shape[0]
    shape = payoffs.shape[1:]
    pure = {}
    for k, eq in enumerate(solution_set.equilibria):
        profile = _pure_profile(eq)
        if profile is not None:
            pure.setdefault(profile, []).append(k)
    cells = int(np.prod(shape))
    if cells > _MAX_TABLE_CELLS:
        listed = ", ".join(f"{a} (E{', E'.join(map(str, ks))})" for a, ks in sorted(pure.items()))
        return f"<p>The payoff table has {cells} cells: not shown. Pure equilibria: {html.escape(listed) or 'none'}.</p>"

    def cell(profile: tuple[int, ...]) -> str:
        text = ", ".join(_fmt(float(payoffs[(i, *profile)])) for i in range(n))
        if profile in pure:
            badge = "".join(f'<span class="badge">E{k}</span>' for k in pure[profile])
            return f'<td class="pure-eq" data-profile="{",".join(map(str, profile))}">{text} ★{badge}</td>'
        return f"<td>{text}</td>"

    if n == 2:
        rows = [
            '<table id="payoffs"><tr><th>player 1 \\ player 2</th>'
            + "".join(f"<th>action {b}</th>" for b in range(shape[1]))
            + "</tr>"
        ]
        for a in range(shape[0]):
            rows.append(f"<tr><th>action {a}</th>" + "".join(cell((a, b)) for b in range(shape[1])) + "</tr>")
    else:
        rows = ['<table id="payoffs"><tr><th>joint action</th><th>payoffs</th></tr>']
        for profile in np.ndindex(*shape):
            rows.append(f"<tr><th>{profile}</th>{cell(tuple(int(a) for a in profile))}</tr>")
    rows.append("</table><p>★ marks the pure equilibria.</p>")
    return "\n".join(rows)


def _payoff_figure(
    payoffs: FloatArray, solution_set: Any, pareto: Sequence[int], welfare: Sequence[int]
) -> Any:
    fig = _figure(PAYOFF_PIXELS)
    ax = fig.add_axes((0.12, 0.1, 0.56, 0.8))
    n = payoffs.shape[0]
    outcomes = payoffs.reshape(n, -1)
    ax.plot(outcomes[0], outcomes[1], "o", ms=4, color="#c0c0c0", label="pure outcomes")
    u = np.array([eq.payoffs for eq in solution_set.equilibria]).reshape(-1, n)
    if len(u):
        ax.plot(u[:, 0], u[:, 1], "o", ms=7, color="#1f77b4", label="equilibria")
        for k, (x, y) in enumerate(u[:, :2]):
            ax.annotate(f"E{k}", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    if len(welfare):
        best = u[list(welfare)]
        ax.plot(best[:, 0], best[:, 1], "*", ms=16, color="#e5a50a", mec="black", label="welfare maxima")
    if len(pareto):
        front = u[list(pareto)][:, :2]
        front = front[np.argsort(front[:, 0])]
        ax.plot(front[:, 0], front[:, 1], "-", lw=1.2, color="#d62728", alpha=0.6)
        ax.plot(
            front[:, 0],
            front[:, 1],
            "o",
            ms=20,
            mfc="none",
            mec="#d62728",
            mew=1.8,
            label="Pareto-optimal equilibria",
        )
    span = np.ptp(outcomes[:2], axis=1)
    pad = np.where(span > 0, span * 0.08, 0.5)
    ax.set_xlim(outcomes[0].min() - pad[0], outcomes[0].max() + pad[0])
    ax.set_ylim(outcomes[1].min() - pad[1], outcomes[1].max() + pad[1])
    ax.set_xlabel("payoff of player 1")
    ax.set_ylabel("payoff of player 2")
    ax.set_title("equilibria in payoff space" + ("" if n == 2 else " (players 1 and 2)"), fontsize=11)
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    return fig


def solution_figures(solution_set: SolutionSet, game: Any) -> dict[str, Any]:
    """The figures of a solution-set report: ``payoff_space`` and, for 2x2 and 3-action games, ``simplex``.

    Raises
    ------
    ImportError
        Without matplotlib, naming ``pip install 'equilibria[plot]'``.
    """
    _matplotlib()
    payoffs = payoff_tensor(game)
    pareto, _ = _pareto(solution_set)
    welfare = sorted({k for _f, _v, ks, _s in _welfare(solution_set) for k in ks})
    figures = {"payoff_space": _payoff_figure(payoffs, solution_set, pareto, welfare)}
    simplex = _simplex_figure(solution_set, payoffs.shape[1:], None, None)
    if simplex is not None:
        figures["simplex"] = simplex
    return figures


def solution_html(
    solution_set: SolutionSet, game: Any, *, png_dir: str | pathlib.Path | None = None, title: str = ""
) -> str:
    """A self-contained HTML report of a solution set: payoff table, payoff space, certificate.

    Parameters
    ----------
    solution_set : SolutionSet
    game : game
        The game it solves (anything ``Client.solve`` accepts): the solution set does
        not carry the payoffs.
    png_dir : path, optional
        Also write every figure there as ``<name>.png``.
    title : str, optional

    Raises
    ------
    ImportError
        Without matplotlib, naming ``pip install 'equilibria[plot]'``.
    ValueError
        When the game's shape does not fit the solution set.
    """
    payoffs = payoff_tensor(game)
    if solution_set.equilibria:
        sizes = tuple(int(s.size) for s in solution_set.equilibria[0].strategies)
        if sizes != payoffs.shape[1:]:
            raise ValueError(f"to_html(): the game has {payoffs.shape[1:]} actions, the solution set {sizes}")
    figures = solution_figures(solution_set, payoffs)
    folder = None if png_dir is None else pathlib.Path(png_dir)
    pareto, pareto_source = _pareto(solution_set)
    welfare = _welfare(solution_set)
    body = [
        f"<p>{len(solution_set.equilibria)} equilibria of a game with actions "
        f"{' × '.join(map(str, payoffs.shape[1:]))}; game id <code>{html.escape(solution_set.game_id)}</code>.</p>",
        "<h2>Certificate</h2>",
        _certificate(solution_set),
        "<h2>Payoff table</h2>",
        _payoff_table(payoffs, solution_set),
        "<h2>Payoff space</h2>",
        f'<p id="pareto">Pareto-optimal equilibria ({html.escape(pareto_source)}): '
        f"{', '.join(f'E{k}' for k in pareto) or 'none'}.</p>",
    ]
    for function, value, indices, source in welfare:
        body.append(
            f'<p class="welfare">{html.escape(function)} welfare maximum {_fmt(value)} at '
            f"{', '.join(f'E{k}' for k in indices)} ({html.escape(source)}).</p>"
        )
    body.append(
        _figure_html(
            "payoff_space",
            figures["payoff_space"],
            "Payoff vectors of the equilibria (blue), the Pareto frontier among them (red rings) and the "
            "welfare maxima (stars); grey: every pure outcome.",
            folder,
        )
    )
    if "simplex" in figures:
        body.append("<h2>Strategy simplex</h2>")
        body.append(
            _figure_html("simplex", figures["simplex"], "The equilibria and their convex components.", folder)
        )
    body.append("<h2>Equilibria</h2>")
    pareto_set = set(pareto)
    table = _equilibria_table(solution_set)
    for k in pareto_set:
        table = table.replace(f'<tr id="eq-{k}">', f'<tr id="eq-{k}" class="pareto">', 1)
    body.append(table)
    if solution_set.zero_sum is not None:
        body.append(f"<p>Zero-sum value (player 1): {_fmt(solution_set.zero_sum.value)}.</p>")
    for ce in solution_set.correlated_equilibria:
        body.append(
            f"<p>{html.escape(ce.kind.replace('_', ' '))} equilibrium ({'max' if ce.maximized else 'min'} "
            f"{html.escape(ce.objective)} welfare {_fmt(ce.welfare)}): payoffs {_vector(ce.payoffs)}, largest "
            f"incentive violation {ce.max_violation:.2g}.</p>"
        )
    for s in solution_set.selections:
        chosen = f"E{s.equilibrium_index}" if s.equilibrium_index is not None else "none"
        body.append(
            f"<p>Selection by {html.escape(s.criterion)}: {chosen} "
            f"({'decided' if s.decided else 'undecided'}: {html.escape(s.reason)}).</p>"
        )
    if solution_set.alpha_rank is not None:
        body.append(_alpha_rank_html(solution_set.alpha_rank))
    for answer in solution_set.max_entropy_equilibria:
        body.append(
            f"<p>{html.escape(answer.concept.replace('_', ' '))}: {answer.measure} {_fmt(answer.value)} "
            f"(at most {_fmt(answer.bound)} over the polytope), payoffs {_vector(answer.payoffs)}, largest "
            f"incentive violation {answer.max_violation:.2g}.</p>"
        )
    if solution_set.dynamics is not None:
        body.append(_dynamics_html(solution_set.dynamics))
    if solution_set.ess is not None:
        body.append(_ess_html(solution_set.ess))
    if solution_set.credit_assignment is not None:
        body.append(_credit_html(solution_set.credit_assignment))
    if solution_set.noise is not None:
        body.append(_noise_html(solution_set.noise))
    return _page(title or "equilibria solution set", body)


def _profile_html(strategies: Any) -> str:
    return "; ".join(_vector(s) for s in strategies)


def _dynamics_html(reached: Any) -> str:
    """The basins of an evolutionary dynamic as a table (first 20 rest points)."""
    rows = "".join(
        f"<tr><td>{_profile_html(b.strategies)}</td><td>{b.count}</td><td>{_fmt(b.share)} "
        f"[{_fmt(b.low)}, {_fmt(b.high)}]</td><td>{b.certified}</td><td>{_fmt(b.nash_conv, 3)}</td>"
        f"<td>{'' if b.equilibrium_index is None else f'E{b.equilibrium_index}'}</td></tr>"
        for b in reached.basins[:20]
    )
    return (
        f"<h2>{html.escape(reached.rule.replace('_', '-'))} dynamics</h2><p>{reached.n_starts} "
        f"{html.escape(reached.starts)} starts, horizon {_fmt(reached.horizon)}, "
        f"{'one population' if reached.single_population else 'one population per player'}; "
        f"{reached.unsettled} did not settle (within {_fmt(reached.settle_radius)}).</p>"
        "<table><tr><th>rest point</th><th>starts</th><th>share [95 %]</th><th>proved</th>"
        f"<th>NashConv</th><th>equilibrium</th></tr>{rows}</table>"
    )


def _ess_html(stable: Any) -> str:
    """The evolutionarily stable strategies as a table."""
    rows = "".join(
        f"<tr><td>{_profile_html(c.strategies)}</td><td>{_fmt(c.margin, 3)}</td>"
        f"<td>{'yes' if c.decided else 'undecided'}</td></tr>"
        for c in stable.strategies
    )
    kind = "Maynard Smith ESS (one population)" if stable.single_population else "strict equilibria"
    return (
        f"<h2>Evolutionarily stable strategies</h2><p>{kind}, "
        f"{'complete' if stable.complete else 'partial'}: {html.escape(stable.method)}.</p>"
        f"<table><tr><th>profile</th><th>margin</th><th>decided</th></tr>{rows}</table>"
    )


def _noise_html(noisy: Any) -> str:
    """Each equilibrium under the payoffs' sampling noise, as a table."""
    rows = "".join(
        f"<tr><td>E{e.index}</td><td>{_fmt(e.nash_conv, 3)} [{_fmt(e.nash_conv_low, 3)}, "
        f"{_fmt(e.nash_conv_high, 3)}]</td><td>{_fmt(e.probability_epsilon)}</td></tr>"
        for e in noisy.equilibria
    )
    return (
        f"<h2>Sampling noise</h2><p>{noisy.draws} bootstrap draws, confidence {_fmt(noisy.confidence)}, "
        f"epsilon {_fmt(noisy.epsilon)} of each player's range; {noisy.pure_equilibrium_count} significant "
        f"pure equilibria, {noisy.pure_undecided_count} undecided pure profiles.</p><table><tr>"
        f"<th>equilibrium</th><th>NashConv [interval]</th><th>P(epsilon-equilibrium)</th></tr>{rows}</table>"
    )


def _credit_html(credit: Any) -> str:
    """Each agent's credits: one row per agent (per state, then agent, in a stochastic game)."""
    shapley = np.asarray(credit.shapley_values)
    differences = np.asarray(credit.difference_rewards)
    n = shapley.shape[-1]
    prefixes = [""] if shapley.ndim == 1 else [f"state {k}, " for k in range(shapley.reshape(-1, n).shape[0])]
    rows = "".join(
        f"<tr><td>{prefix}agent {i}</td><td>{_fmt(float(phi[i]))}</td><td>{_fmt(float(d[i]))}</td></tr>"
        for prefix, phi, d in zip(prefixes, shapley.reshape(-1, n), differences.reshape(-1, n), strict=True)
        for i in range(n)
    )
    return (
        f"<h2>Credit assignment</h2><p>{html.escape(credit.team)} team return {_fmt(credit.team_return)}; "
        f"difference rewards against the {html.escape(credit.counterfactual)} counterfactual, default actions "
        f"{list(credit.default_actions)}.</p><table><tr><th>agent</th><th>Shapley value</th>"
        f"<th>difference reward</th></tr>{rows}</table>"
    )


def _alpha_rank_html(ranked: Any) -> str:
    """The α-Rank as a table of its first 20 profiles and their masses."""
    rows = "".join(
        f"<tr><td>({', '.join(map(str, p))})</td><td>{_fmt(float(m))}</td></tr>"
        for p, m in zip(ranked.profiles[:20], ranked.masses, strict=False)
    )
    return (
        f"<h2>α-Rank</h2><p>Stationary masses at α = {_fmt(ranked.alpha)} ({html.escape(ranked.limit)}), "
        f"{'one population' if ranked.single_population else 'one population per player'} of "
        f"{ranked.population_size}; residual {ranked.residual:.1e}.</p>"
        f"<table><tr><th>profile</th><th>mass</th></tr>{rows}</table>"
    )


def markov_solution_html(solution_set: MarkovSolutionSet, *, title: str = "") -> str:
    """A self-contained HTML summary of a stochastic game's solution set (no figures: no matplotlib needed).

    Values per state of every equilibrium, its NashConv and largest per-state gap, the
    zero-sum values when known, and how the set was found.
    """
    worst = max((eq.nash_conv for eq in solution_set.equilibria), default=float("nan"))
    body = [
        '<h2>Certificate</h2><ul id="certificate">'
        f'<li id="complete">{"complete" if solution_set.complete else "partial: some equilibria only"}</li>'
        f'<li id="method">method <b>{html.escape(solution_set.method)}</b>: '
        f"{html.escape(solution_set.method_reason)}</li>"
        f'<li id="max-nash-conv">largest NashConv {_fmt(worst, 3)}</li>'
        + "".join(_status_items(solution_set))
        + "".join(f'<li class="warning">warning: {html.escape(w)}</li>' for w in solution_set.warnings)
        + "</ul>",
        "<h2>Equilibria</h2>",
    ]
    for k, eq in enumerate(solution_set.equilibria):
        values = np.asarray(eq.values)
        rows = "".join(
            f"<tr><th>state {s}</th>" + "".join(f"<td>{_fmt(float(v))}</td>" for v in values[s]) + "</tr>"
            for s in range(values.shape[0])
        )
        head = "".join(f"<th>player {i + 1}</th>" for i in range(values.shape[1]))
        pareto = " (Pareto)" if k in solution_set.pareto_indices else ""
        body.append(
            f'<h3 id="eq-{k}">E{k}{pareto}: payoffs {_vector(eq.payoffs)}, '
            f'NashConv <span class="nash-conv">{eq.nash_conv:.3g}</span>, largest state gap '
            f"{eq.max_state_gap:.3g}</h3><table><tr><th>values</th>{head}</tr>{rows}</table>"
        )
    if solution_set.zero_sum is not None:
        zs = solution_set.zero_sum
        body.append(
            f"<h2>Zero-sum values</h2><p>{html.escape(zs.method)}, error bound {zs.error_bound:.2g}: "
            f"{_vector(zs.values)}</p>"
        )
    for s in solution_set.stage_selections:
        body.append(
            f"<p>Stage selection {html.escape(s.criterion)}: {'decided' if s.decided else 'undecided'} "
            f"({html.escape(s.reason)}).</p>"
        )
    if solution_set.credit_assignment is not None:
        body.append(_credit_html(solution_set.credit_assignment))
    return _page(title or "equilibria stochastic-game solution set", body)
