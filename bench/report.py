"""Rows, ratios and output: console tables, CSV, PNG and RESULTS.md."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import math
import os
import pathlib
import platform
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from bench.timing import Timing

__all__ = [
    "Row",
    "CaseResult",
    "add_ratios",
    "fmt_seconds",
    "print_case",
    "write_csv",
    "write_png",
    "write_markdown",
    "write_case_markdown",
    "machine_info",
]


@dataclasses.dataclass
class Row:
    """One (family, size, method) measurement."""

    case: str
    family: str
    size: str  # e.g. "8x8"
    n: float  # x-axis of the plot
    method: str
    kind: str  # "ours", "anchor" or "reference"
    timing: Timing
    found: int | None = None
    missed: int | None = None
    value: float | None = None
    note: str = ""
    ratio: float | None = None
    ratio_text: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class CaseResult:
    """A case's rows, its notes and how to show it."""

    key: str
    title: str
    rows: list[Row] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    columns: list[tuple[str, Callable[[Row], str]]] | None = None
    plot_y: str = "median wall time (s)"
    elapsed: float = 0.0
    implemented: bool = True


def fmt_seconds(seconds: float | None) -> str:
    """``1.23 s``, ``45.6 ms``, ``789 us``."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def add_ratios(rows: Sequence[Row]) -> None:
    """Set each row's ratio to the fastest anchor of its (family, size) group."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.family, row.size), []).append(row)
    for group in groups.values():
        anchors = [r for r in group if r.kind == "anchor"]
        finished = [r.timing.median for r in anchors if r.timing.ok]
        capped = [r.timing.cap for r in anchors if r.timing.timed_out]
        best = min(finished) if finished else None
        for row in group:
            if not row.timing.ok:
                row.ratio_text = ""
                continue
            if best is not None:
                row.ratio = row.timing.median / best
                row.ratio_text = f"{row.ratio:.2f}x"
            elif capped:
                row.ratio_text = f"<{row.timing.median / min(capped):.2g}x"


def _time_cell(row: Row) -> str:
    t = row.timing
    if t.timed_out:
        return f"> {fmt_seconds(t.cap)}"
    if not t.samples:
        return "-"
    return fmt_seconds(t.median)


def _spread_cell(row: Row) -> str:
    t = row.timing
    if not t.ok:
        return ""
    if t.repeats == 1:
        return "1 run"
    runs = f"n={t.repeats}" if t.batch == 1 else f"n={t.repeats} batches of {t.batch}"
    return f"{fmt_seconds(t.q1)}-{fmt_seconds(t.q3)} ({runs})"


def _int_cell(value: int | None) -> str:
    return "" if value is None else str(value)


def _value_cell(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.6g}"


DEFAULT_COLUMNS: list[tuple[str, Callable[[Row], str]]] = [
    ("family", lambda r: r.family),
    ("size", lambda r: r.size),
    ("method", lambda r: r.method),
    ("median", _time_cell),
    ("IQR", _spread_cell),
    ("found", lambda r: _int_cell(r.found)),
    ("missed", lambda r: _int_cell(r.missed)),
    ("vs best anchor", lambda r: r.ratio_text),
    ("note", lambda r: r.note),
]

VALUE_COLUMNS: list[tuple[str, Callable[[Row], str]]] = [
    *DEFAULT_COLUMNS[:5],
    ("value", lambda r: _value_cell(r.value)),
    *DEFAULT_COLUMNS[7:],
]


def _cells(case: CaseResult) -> tuple[list[str], list[list[str]]]:
    columns = case.columns or DEFAULT_COLUMNS
    header = [name for name, _ in columns]
    body = [[fn(row) for _, fn in columns] for row in case.rows]
    return header, body


def print_case(case: CaseResult) -> None:
    """Print the case as a fixed-width table."""
    print(f"\n== {case.key}. {case.title}")
    if not case.implemented:
        print("not implemented yet")
        return
    header, body = _cells(case)
    widths = [max(len(h), *(len(b[k]) for b in body)) if body else len(h) for k, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for cells in body:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    for note in case.notes:
        print(f"  * {note}")
    print(f"  (case time {case.elapsed:.1f} s)")


def write_csv(case: CaseResult, out: pathlib.Path) -> pathlib.Path:
    """``<out>/case<key>.csv`` with every sample statistic."""
    path = out / f"case{case.key}.csv"
    extra_keys = sorted({k for row in case.rows for k in row.extra})
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "case", "family", "size", "n", "method", "kind", "median_s", "q1_s", "q3_s", "min_s",
                "max_s", "repeats", "first_s", "warm", "timed_out", "cap_s", "found", "missed", "value",
                "ratio_to_best_anchor", "note", *extra_keys,
            ]
        )  # fmt: skip
        for r in case.rows:
            t = r.timing
            writer.writerow(
                [
                    r.case, r.family, r.size, r.n, r.method, r.kind, t.median, t.q1, t.q3, t.min, t.max,
                    t.repeats, t.first, t.warm, t.timed_out, t.cap, r.found, r.missed, r.value, r.ratio,
                    r.note, *(r.extra.get(k, "") for k in extra_keys),
                ]
            )  # fmt: skip
    return path


def write_png(case: CaseResult, out: pathlib.Path) -> pathlib.Path | None:
    """``<out>/case<key>.png``: median time against size, one line per method, a panel per family."""
    rows = [r for r in case.rows if r.timing.ok or r.timing.timed_out]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(r.family for r in rows))
    cols = min(3, len(families))
    lines = math.ceil(len(families) / cols)
    fig, axes = plt.subplots(lines, cols, figsize=(4.2 * cols, 3.2 * lines), squeeze=False)
    for ax, family in zip(axes.flat, families, strict=False):
        methods = list(dict.fromkeys(r.method for r in rows if r.family == family))
        for method in methods:
            points = sorted(
                ((r.n, r) for r in rows if r.family == family and r.method == method), key=lambda p: p[0]
            )  # rows of one size (8x8 and 4x4x4) must not be compared
            xs = [n for n, r in points if r.timing.ok]
            ys = [r.timing.median for n, r in points if r.timing.ok]
            style = "-o" if any(r.kind == "ours" for _, r in points) else "--s"
            (line,) = ax.plot(xs, ys, style, ms=3.5, lw=1.2, label=method)
            capped = [(n, r.timing.cap) for n, r in points if r.timing.timed_out]
            if capped:
                ax.plot(*zip(*capped, strict=True), "^", color=line.get_color(), ms=6)
        ax.set_yscale("log")
        ax.set_title(family, fontsize=9)
        ax.set_xlabel("size" if case.key != "8" else "concurrent callers", fontsize=8)
        ax.set_ylabel(case.plot_y, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    fig.suptitle(f"case {case.key}: {case.title} (triangles: stopped at the cap)", fontsize=9)
    fig.tight_layout()
    path = out / f"case{case.key}.png"
    fig.savefig(path, dpi=64)
    plt.close(fig)
    return path


def machine_info() -> dict[str, str]:
    """CPU, cores, Python and library versions, date."""
    import importlib.metadata as md

    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
    }
    try:
        load = os.getloadavg()
        info["load average at start (1/5/15 min)"] = f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    except OSError:
        pass
    root = pathlib.Path(__file__).resolve().parent.parent
    info["equilibria commit"] = _commit(root)
    for package in ("numpy", "scipy", "pygambit", "nashpy", "quantecon", "numba", "grpcio", "equilibria"):
        try:
            info[package] = md.version(package)
        except md.PackageNotFoundError:
            info[package] = "not installed"
    return info


def _commit(root: pathlib.Path) -> str:
    """The checked-out commit, and which tracked files differ from it (if any)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=10", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    files = [line[3:] for line in changed if line.strip()]
    if not files:
        return head
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return f"{head} with uncommitted changes to {shown}"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


#: Keys of the machine table that change from run to run (shown per case, not per file).
RUN_KEYS = ("date", "load average at start (1/5/15 min)", "equilibria commit")


def write_case_markdown(
    case: CaseResult, out: pathlib.Path, *, info: dict[str, str], command: str, targets: Sequence[str]
) -> pathlib.Path:
    """``<out>/case<key>.md``: one case's section of RESULTS.md, with the run it came from.

    Each case keeps its own fragment, so running some cases (``--cases 2``) updates those
    sections and leaves the others as they were measured.
    """
    run = "; ".join(f"{k} {_md_escape(info[k])}" for k in RUN_KEYS if k in info)
    lines = [
        f"## Case {case.key}: {case.title}",
        "",
        f"Run: `{command}`; {run}; case time {case.elapsed:.1f} s.",
        "",
    ]
    if not case.implemented:
        lines += ["Not implemented yet.", ""]
    else:
        lines += [f"**Target.** {_md_escape(t)}" for t in targets]
        if targets:
            lines.append("")
        header, body = _cells(case)
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(_md_escape(c) for c in cells) + " |" for cells in body]
        lines.append("")
        lines += [f"- {_md_escape(note)}" for note in case.notes]
        if (out / f"case{case.key}.png").exists():
            lines += ["", f"![case {case.key}](case{case.key}.png)"]
        lines.append("")
    path = out / f"case{case.key}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_markdown(out: pathlib.Path, *, info: dict[str, str]) -> pathlib.Path:
    """``<out>/RESULTS.md``: the machine and every case fragment in ``out``, in case order."""
    fragments = sorted(out.glob("case*.md"), key=lambda p: int(p.stem[4:]) if p.stem[4:].isdigit() else 99)
    machine = {k: v for k, v in info.items() if k not in RUN_KEYS}
    lines = [
        "# equilibria benchmark results",
        "",
        "Produced by `python -m bench.run` (see `bench/README.md`). Each case section says which run",
        "it comes from (command, date, commit, load average); the machine and libraries below are",
        "those of the latest run.",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {k} | {_md_escape(v)} |" for k, v in machine.items()),
        "",
        "Times are medians over repeats after one warm-up run (IQR and run count beside them);",
        "a call under 1 ms is timed in batches of back-to-back calls, each sample the batch's mean;",
        "`> X` means the run was stopped at the cap X; *vs best anchor* divides by the fastest",
        "anchor library at the same game (below 1 is faster). Generators: `bench/games.py`.",
        "A load average near the core count at the start of a run means other work shared the",
        "cores and inflated the times (ratios measured in the same run suffer less).",
        "",
    ]
    for fragment in fragments:
        lines += [fragment.read_text().rstrip("\n"), ""]
    path = out / "RESULTS.md"
    path.write_text("\n".join(lines))
    return path
