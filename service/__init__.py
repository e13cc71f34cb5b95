"""equilibria.service: the gRPC server.

Converters between the wire API and the solver (the only place protobuf meets the
solver), request limits, the killable worker pool, health and reflection, and the
``equilibria`` command line.
"""

from equilibria.service.limits import Limits
from equilibria.service.server import RunningServer, serve, start_server

__all__ = ["Limits", "RunningServer", "serve", "start_server"]
