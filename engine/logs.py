"""structlog, set up on first use: readable lines on a terminal, JSON anywhere
else (daemon log files, pipes). Importing structlog costs ~0.1 s, so a command
that never logs never pays it. Exceptions never render locals: a frame may hold
a student's record."""
from __future__ import annotations

import sys

_settings: dict = {"stream": None}
_configured = False


def configure(json_to=None) -> None:
    """Choose where logs go (stderr, or the open file `json_to`, always as JSON)."""
    global _configured
    _settings["stream"] = json_to
    _configured = False


def get(name: str):
    global _configured
    import structlog

    if not _configured:
        _configure(structlog)
        _configured = True
    return structlog.get_logger(name)


def _masked(_logger, _method, event: dict) -> dict:
    """Every text in a log line with personal numbers masked, whatever wrote it."""
    from .masking import mask_personal
    return {k: mask_personal(v) if isinstance(v, str) else v for k, v in event.items()}


def _configure(structlog) -> None:
    import logging

    stream = _settings["stream"] or sys.stderr
    as_json = _settings["stream"] is not None or not stream.isatty()
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
            _masked,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
