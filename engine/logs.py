"""structlog set-up: readable lines on a terminal, JSON anywhere else (daemon
log files, pipes). Exceptions never render locals: a frame may hold a
student's record."""
from __future__ import annotations

import logging
import sys

import structlog


def configure(json_to=None) -> None:
    """Log to stderr (or the open file `json_to`, always as JSON)."""
    stream = json_to or sys.stderr
    as_json = json_to is not None or not stream.isatty()
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info if as_json else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
