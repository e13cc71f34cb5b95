"""Live monitoring of MonitorTrace streams: a bounded registry and a loopback HTTP page.

``MonitorTrace`` publishes the running score of each stream to a
:class:`MonitorRegistry` (the latest score per stream; finished streams are kept for
``keep_finished`` seconds; at most ``max_streams`` entries, the oldest finished first
out). With ``equilibria serve --dashboard 127.0.0.1:PORT`` a small HTTP server in the
server's event loop (:func:`start_dashboard`, stdlib asyncio only, no web framework)
serves

``GET /``
    a self-contained page (inline CSS and vanilla JS, no CDN) listing the streams and
    redrawing their curves as inline SVG on log-log axes, polling ``/api/monitors``;
``GET /api/monitors``
    ``{"monitors": [...]}``: per stream its id, peer, game, status, rows seen and, per
    criterion, verdict, epsilon, final value, checkpoints and values.

The dashboard binds loopback addresses only (127.0.0.1, ::1, localhost): it has no
authentication.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import ipaddress
import json
import math
import time
from typing import Any

__all__ = ["MonitorRegistry", "Dashboard", "start_dashboard", "parse_loopback_address", "DASHBOARD_PAGE"]

#: Largest request head the HTTP server reads.
_MAX_REQUEST_BYTES = 8192
_LOOPBACK_NAMES = ("localhost",)


def _number(x: float | None) -> float | None:
    """JSON has no inf or nan: they become null."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def score_summary(score: Any) -> dict[str, Any]:
    """The JSON-ready summary of a (solver) TraceScore."""
    return {
        "z_seen": int(score.z_seen),
        "n_policies": int(score.n_policies),
        "n_samples": int(score.n_samples),
        "n_returns": int(score.n_returns),
        "epsilons": [float(e) for e in score.epsilons],
        "selected": None if score.selected is None else [score.selected[0], int(score.selected[1])],
        "selected_by": score.selected_by,
        "criteria": [
            {
                "name": c.name,
                "verdict": c.verdict,
                "epsilon": c.epsilon,
                "final_value": _number(c.final_value),
                "scale": float(c.scale),
                "z": int(c.z),
                "checkpoints_z": [int(z) for z in c.checkpoints_z.tolist()],
                "values": [_number(v) for v in c.values.tolist()],
                "evidence": c.evidence,
            }
            for c in score.criteria
        ],
    }


@dataclasses.dataclass
class _Entry:
    stream_id: int
    peer: str
    game: str
    started: float
    updated: float
    status: str = "running"
    finished: float | None = None
    chunks: int = 0
    score: dict[str, Any] | None = None

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "id": self.stream_id,
            "peer": self.peer,
            "game": self.game,
            "status": self.status,
            "chunks": self.chunks,
            "age_seconds": round(now - self.started, 3),
            "updated_seconds_ago": round(now - self.updated, 3),
            "score": self.score,
        }


class MonitorRegistry:
    """The latest running score of each MonitorTrace stream, in bounded memory.

    Parameters
    ----------
    max_streams : int
        Most streams kept (running and finished); past it the oldest finished stream
        is dropped, or the oldest running one if none has finished.
    keep_finished : float
        Seconds a finished stream stays listed.

    Examples
    --------
    >>> registry = MonitorRegistry(max_streams=2)
    >>> a = registry.open("peer", "rps")
    >>> registry.close(a, "ok")
    >>> b, c = registry.open("peer", "pd"), registry.open("peer", "chicken")
    >>> [m["id"] for m in registry.snapshot()]  # the finished one made room
    [2, 3]
    """

    def __init__(self, max_streams: int = 64, keep_finished: float = 600.0) -> None:
        if max_streams < 1:
            raise ValueError(f"MonitorRegistry(): max_streams must be >= 1, got {max_streams}")
        self.max_streams = int(max_streams)
        self.keep_finished = float(keep_finished)
        self._entries: collections.OrderedDict[int, _Entry] = collections.OrderedDict()
        self._next_id = 1

    def open(self, peer: str, game: str) -> int:
        """Register a new stream; returns its id."""
        now = time.monotonic()
        stream_id = self._next_id
        self._next_id += 1
        self._entries[stream_id] = _Entry(stream_id, peer, game, now, now)
        self._evict(now)
        return stream_id

    def publish(self, stream_id: int, score: Any) -> None:
        """Record the running score of a stream after a chunk (a solver TraceScore)."""
        entry = self._entries.get(stream_id)
        if entry is None:  # evicted: a display concern only
            return
        entry.score = score_summary(score)
        entry.chunks += 1
        entry.updated = time.monotonic()

    def close(self, stream_id: int, status: str) -> None:
        """Mark a stream finished (``"ok"``, or the status code name of its failure)."""
        entry = self._entries.get(stream_id)
        if entry is None:
            return
        now = time.monotonic()
        entry.status = status
        entry.finished = entry.updated = now
        self._evict(now)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every stream kept, oldest first, as JSON-ready dicts."""
        now = time.monotonic()
        self._evict(now)
        return [entry.to_json(now) for entry in self._entries.values()]

    def _evict(self, now: float) -> None:
        for key in [
            k
            for k, e in self._entries.items()
            if e.finished is not None and now - e.finished > self.keep_finished
        ]:
            del self._entries[key]
        while len(self._entries) > self.max_streams:
            finished = [k for k, e in self._entries.items() if e.finished is not None]
            del self._entries[finished[0] if finished else next(iter(self._entries))]


def parse_loopback_address(address: str) -> tuple[str, int]:
    """``host:port`` of a loopback address (``127.0.0.1:0``, ``[::1]:8080``, ``localhost:0``).

    Raises
    ------
    ValueError
        When the host is not a loopback address or the port is not a number.

    Examples
    --------
    >>> parse_loopback_address("127.0.0.1:0")
    ('127.0.0.1', 0)
    >>> parse_loopback_address("0.0.0.0:8080")
    Traceback (most recent call last):
    ...
    ValueError: dashboard address '0.0.0.0:8080': the dashboard binds loopback addresses only (127.0.0.1, ::1, localhost)
    """
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"dashboard address {address!r}: expected HOST:PORT")
    host = host.strip("[]")
    loopback = host in _LOOPBACK_NAMES
    if not loopback:
        with contextlib.suppress(ValueError):
            loopback = ipaddress.ip_address(host).is_loopback
    if not loopback:
        raise ValueError(
            f"dashboard address {address!r}: the dashboard binds loopback addresses only (127.0.0.1, ::1, localhost)"
        )
    return ("127.0.0.1" if host == "localhost" else host), int(port_text)


@dataclasses.dataclass
class Dashboard:
    """A running dashboard HTTP server."""

    server: asyncio.base_events.Server
    host: str
    port: int

    @property
    def url(self) -> str:
        """``http://host:port`` of the page."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening and close the connections."""
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), timeout=2.0)


def _response(status: str, content_type: str, body: bytes, head_only: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    return head if head_only else head + body


async def start_dashboard(address: str, registry: MonitorRegistry) -> Dashboard:
    """Serve the dashboard of ``registry`` on a loopback ``address`` (port 0: any free port).

    Raises
    ------
    ValueError
        For an address that is not loopback.
    """
    host, port = parse_loopback_address(address)
    page = DASHBOARD_PAGE.encode("utf-8")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10.0)
            if len(head) > _MAX_REQUEST_BYTES:
                raise ValueError("request head too large")
            method, target, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            path = target.split("?", 1)[0]
            head_only = method == "HEAD"
            if method not in ("GET", "HEAD"):
                reply = _response("405 Method Not Allowed", "text/plain", b"GET only\n", False)
            elif path in ("/", "/index.html"):
                reply = _response("200 OK", "text/html; charset=utf-8", page, head_only)
            elif path == "/api/monitors":
                body = json.dumps({"monitors": registry.snapshot()}).encode("utf-8")
                reply = _response("200 OK", "application/json", body, head_only)
            else:
                reply = _response("404 Not Found", "text/plain", b"not found\n", head_only)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            reply = _response("400 Bad Request", "text/plain", b"bad request\n", False)
        try:
            writer.write(reply)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port, limit=_MAX_REQUEST_BYTES)
    bound = server.sockets[0].getsockname()
    return Dashboard(server, host, int(bound[1]))


#: The page: inline CSS and JS, polling /api/monitors once a second and drawing SVG.
DASHBOARD_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>equilibria: live traces</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
.stream { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5em 1em; margin: 1em 0; }
.converged { color: #1a7f37; } .not_converged { color: #cf222e; } .inconclusive { color: #9a6700; }
svg { background: #fff; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { padding: 2px 8px; text-align: left; }
</style></head><body>
<h1>equilibria: live MonitorTrace streams</h1>
<p id="status">waiting for data...</p>
<div id="monitors"></div>
<script>
"use strict";
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const W = 640, H = 300, L = 50, R = 160, T = 10, B = 30;
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
function svgFor(score) {
  const curves = score.criteria.filter(c => c.checkpoints_z.length > 0);
  let zs = [], vs = [];
  for (const c of curves) { c.checkpoints_z.forEach((z, i) => { const v = c.values[i]; if (v !== null && v > 0) { zs.push(z); vs.push(v); } }); }
  for (const e of score.epsilons) vs.push(e);
  if (zs.length === 0) return "<p>no curve yet</p>";
  const x0 = 0, x1 = Math.log10(Math.max(2, Math.max(...zs))) + 0.05;
  const y0 = Math.log10(Math.min(...vs)) - 0.2, y1 = Math.log10(Math.max(...vs)) + 0.2;
  const px = z => L + (Math.log10(z) - x0) / (x1 - x0) * (W - L - R);
  const py = v => T + (y1 - Math.log10(v)) / (y1 - y0) * (H - T - B);
  let out = `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`;
  out += `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`;
  for (let d = Math.ceil(y0); d <= Math.floor(y1); d++) out += `<text x="4" y="${py(10 ** d) + 4}" font-size="10">1e${d}</text>`;
  for (let d = 0; d <= Math.floor(x1); d++) out += `<text x="${px(10 ** d) - 8}" y="${H - 12}" font-size="10">1e${d}</text>`;
  score.epsilons.forEach(e => { out += `<line x1="${L}" x2="${W - R}" y1="${py(e)}" y2="${py(e)}" stroke="#bbb" stroke-dasharray="4 3"/>`; });
  curves.forEach((c, k) => {
    const pts = [];
    c.checkpoints_z.forEach((z, i) => { const v = c.values[i]; if (v !== null && v > 0) pts.push(`${px(z).toFixed(1)},${py(v).toFixed(1)}`); });
    if (pts.length === 0) return;
    const colour = COLOURS[k % COLOURS.length];
    out += `<path class="curve" data-criterion="${esc(c.name)}" d="M${pts.join(" L")}" fill="none" stroke="${colour}" stroke-width="1.5"/>`;
    out += `<text x="${W - R + 6}" y="${T + 12 + 14 * k}" font-size="11" fill="${colour}">${esc(c.name)}</text>`;
  });
  return out + "</svg>";
}
function render(data) {
  const root = document.getElementById("monitors");
  document.getElementById("status").textContent = `${data.monitors.length} stream(s), updated ${new Date().toLocaleTimeString()}`;
  root.innerHTML = data.monitors.map(m => {
    const s = m.score;
    const rows = s ? s.criteria.map(c => `<tr><td>${esc(c.name)}</td><td class="${esc(c.verdict)}">${esc(c.verdict)}</td><td>${c.final_value === null ? "" : c.final_value.toPrecision(3)}</td></tr>`).join("") : "";
    return `<div class="stream" id="stream-${m.id}"><h3>stream ${m.id}: ${esc(m.game)} (${esc(m.status)})</h3>` +
      `<p>peer ${esc(m.peer)}; <span class="z">z = ${s ? s.z_seen : 0}</span>; ${m.chunks} chunk(s)</p>` +
      (s ? svgFor(s) : "") + `<table>${rows}</table></div>`;
  }).join("");
}
async function poll() {
  try { const r = await fetch("/api/monitors", {cache: "no-store"}); render(await r.json()); }
  catch (e) { document.getElementById("status").textContent = "server unreachable: " + e; }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""
