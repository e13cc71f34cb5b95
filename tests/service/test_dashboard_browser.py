"""On demand (``pytest -m browser``; needs ``apt-get install -y chromium``): the dashboard in a real browser.

Headless Debian chromium loads the dashboard page of a real server after a MonitorTrace
stream has sent a few chunks; the page's JavaScript fetches ``/api/monitors`` and must
draw the curves as SVG paths with points. Chromium is told to stay off the network
(loopback URL, no background networking, no component updates) and uses a throw-away
profile.
"""

from __future__ import annotations

import pathlib
import re
import subprocess

import pytest
from equilibria.v1 import trace_pb2

from ..conftest import running_server
from .test_dashboard import dashboard_url, monitor_stream, rps_chunks, start_monitor

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


def test_dashboard_page_draws_the_curves_in_headless_chromium(tmp_path: pathlib.Path) -> None:
    with running_server("--workers", "1", "--dashboard", "127.0.0.1:0") as server:
        url = dashboard_url(server)
        with monitor_stream(server.target) as (outbox, responses):
            outbox.put(start_monitor())
            for chunk in rps_chunks(900, 300):
                outbox.put(trace_pb2.MonitorTraceRequest(chunk=chunk))
                next(responses)
            # The stream is still open: the page shows it running.
            out = subprocess.run(
                [
                    CHROMIUM,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}",
                    "--virtual-time-budget=5000",
                    "--dump-dom",
                    url + "/",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
    dom = out.stdout
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'id="stream-1"' in dom and "(running)" in dom and "z = 900" in dom, dom[-3000:]
    paths = re.findall(r'<path class="curve" data-criterion="([a-z_]+)" d="M([^"]+)"', dom)
    assert {name for name, _ in paths} == {"last_iterate", "set_convergence"}
    for _name, d in paths:
        points = d.split(" L")
        assert len(points) >= 10  # one point per checkpoint
        assert all(re.fullmatch(r"-?[\d.]+,-?[\d.]+", p) for p in points)
