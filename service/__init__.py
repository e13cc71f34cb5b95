"""equilibria.service: the gRPC server.

Converters between the wire API and the solver (:mod:`equilibria.service.convert`, the
only place protobuf meets the solver), request limits, the killable worker pool, health
and reflection, and the ``equilibria`` command line.

The server's names are imported on first use, so that importing a light module of the
package (the worker, the solve options) does not load gRPC.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from equilibria.service.limits import Limits

if TYPE_CHECKING:
    from equilibria.service.server import RunningServer, serve, start_server

__all__ = ["Limits", "RunningServer", "serve", "start_server"]

#: Public name -> the module defining it (imported on first use).
_HOMES = {
    "RunningServer": "equilibria.service.server",
    "serve": "equilibria.service.server",
    "start_server": "equilibria.service.server",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
