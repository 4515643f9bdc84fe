"""One structlog configuration: console on a terminal, JSON otherwise; stdlib logs go through it."""

import logging
import sys

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _renderer(log_format: str) -> structlog.types.Processor:
    if log_format == "console" or (log_format == "auto" and sys.stderr.isatty()):
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer()


def handler(log_format: str = "auto") -> logging.Handler:
    """A stdlib handler that renders through structlog (for Faust's and aiokafka's loggers)."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    _renderer(log_format)],
    ))
    return out


def configure(*, log_format: str = "auto", level: str = "INFO") -> logging.Handler:
    """Configure structlog and route the root stdlib logger through it; returns the handler."""
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *_SHARED,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler(log_format)]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))
    return root.handlers[0]
