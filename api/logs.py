"""Logging of the served API: plain text (default) or one JSON object a line, with the request's id.

The request id is the one `X-Request-Id` carries back to the client and the audit entry stores
(api.audit.AuditMiddleware sets it), so one id finds a request in the client's report, the logs and the audit log.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, Literal

REQUEST_ID: ContextVar[str | None] = ContextVar("scf_request_id", default=None)

LogFormat = Literal["text", "json"]


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (None outside a request) to every record, so formatters can name it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def lean_records() -> None:
    """In a serving process (`scf serve`, each process of `--workers N`): log records skip what no line of
    `log_config`'s formats prints. Every request writes its access line (uvicorn's, on the event loop), and the
    record of each looked up its caller's file and line (a walk of the stack), the thread's and the process's
    names and the multiprocessing process: about 12 -> 9 us a line. The logging HOWTO's "Optimization" switches;
    the lines themselves are unchanged (time, level, logger, request id, message; exceptions with their
    traceback). A log configuration of one's own that prints `%(lineno)d`, `%(threadName)s` and the like would
    show placeholders in a served process.

    Not done for a test's or the CLI's process: pytest's log capture prints the caller's file and line."""
    logging._srcfile = None  # no `findCaller` per record (documented in the logging HOWTO, "Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def log_config(fmt: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn (`log_config=`): its own loggers and the service's `scf.*`."""
    if fmt == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        }
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            "scf": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
