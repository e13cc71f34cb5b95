"""Server logging: plain text or one JSON object per line, tagged with the call's request id.

The observability interceptor binds the request id and method of each call to a context
variable (:func:`bind_call`) for the task serving it, so every record logged while
serving the call carries them, including the records of the servicer itself.

JSON lines carry ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
``request_id``, ``method`` and, on the per-call access record, ``code`` and
``duration_ms``; a record with an exception adds ``exception``.

Examples
--------
>>> import json, logging
>>> record = logging.LogRecord("equilibria.access", logging.INFO, __file__, 1, "SolveGame OK", None, None)
>>> record.request_id, record.method, record.code, record.duration_ms = "r1", "SolveGame", "OK", 1.5
>>> document = json.loads(JsonFormatter().format(record))
>>> {key: document[key] for key in ("level", "message", "request_id", "code", "duration_ms")}
{'level': 'INFO', 'message': 'SolveGame OK', 'request_id': 'r1', 'code': 'OK', 'duration_ms': 1.5}
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys

__all__ = ["JsonFormatter", "RequestContextFilter", "bind_call", "configure_logging", "LOG_FORMATS"]

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

#: (request id, method) of the call being served by the current task, if any.
_CALL: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "equilibria_call", default=None
)


def bind_call(request_id: str, method: str) -> contextvars.Token[tuple[str, str] | None]:
    """Tag the records logged by the current task with a call's request id and method."""
    return _CALL.set((request_id, method))


def unbind_call(token: contextvars.Token[tuple[str, str] | None]) -> None:
    """Undo :func:`bind_call`."""
    _CALL.reset(token)


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``method`` (empty outside a call) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        call = _CALL.get()
        if not hasattr(record, "request_id"):
            record.request_id = call[0] if call else "-"
        if not hasattr(record, "method"):
            record.method = call[1] if call else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "method": getattr(record, "method", ""),
        }
        for key in ("code", "duration_ms"):
            if hasattr(record, key):
                document[key] = getattr(record, key)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def configure_logging(level: str = "WARNING", log_format: str = "text") -> None:
    """Send the process's logs to stderr as text or JSON lines, replacing earlier handlers."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, got {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
