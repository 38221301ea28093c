"""Logging set-up for the reconciler: structlog, configured once per process.

JSON lines when stdout is not a terminal (journald, CI, files), readable key=value
console lines when it is. A redaction processor runs on every event, so a secret or a
token never reaches the output even if a caller passes one by mistake. Events carry the
fields bound with ``structlog.contextvars`` (the daemon binds ``pass_id``).

This module only configures; it never decides what to log.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"
SECRET_KEY = re.compile(r"secret|token|password|passwd|authorization|credential", re.IGNORECASE)
"""Field names whose values are never shown."""
SECRET_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # The password in a URL's user information (postgresql://user:password@host/db).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(
            r"(?i)\b([a-z_]*(?:secret|token|password|passwd)[a-z_]*)(\s*[=:]\s*)"
            r"(?:\"[^\"]*\"|'[^']*'|[^\s,&\"']+)"
        ),
        r"\1\2" + REDACTED,
    ),
)
"""Text patterns inside values: ``Bearer ...`` headers, URL passwords and
``client_secret=...`` pairs."""

_configured = False


def redact_text(text: str) -> str:
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """``value`` with anything secret-looking replaced; containers are walked."""
    if SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact secret-named fields and secret-looking text."""
    for key, value in list(event_dict.items()):
        event_dict[key] = redact_value(key, value)
    return event_dict


def compute_processors(*, as_json: bool, colors: bool = True) -> list[Processor]:
    """The processor chain; the last one renders."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if as_json
        else structlog.dev.ConsoleRenderer(sort_keys=False, pad_event_to=18, colors=colors)
    )
    return [*shared, renderer]


def configure_logging(
    *,
    stream: TextIO | None = None,
    as_json: bool | None = None,
    level: str = "info",
    colors: bool | None = None,
) -> None:
    """Configure structlog for this process (later calls are no-ops unless ``stream``
    or ``as_json`` is given explicitly, which tests and the CLI do). Console lines are
    coloured unless ``colors`` is False or ``$NO_COLOR`` is set."""
    global _configured  # noqa: PLW0603 -- configuration is process-wide by nature
    if _configured and stream is None and as_json is None:
        return
    out = stream if stream is not None else sys.stdout
    json_lines = as_json if as_json is not None else not _is_terminal(out)
    structlog.configure(
        processors=compute_processors(
            as_json=json_lines,
            colors=(colors if colors is not None else True) and not os.environ.get("NO_COLOR"),
        ),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    _configured = True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
