from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import LogCapture


@pytest.fixture
def events() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event as a dict, with contextvars (``pass_id``) merged in."""
    saved = structlog.get_config()
    capture = LogCapture()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, capture],
        wrapper_class=structlog.BoundLogger,
        cache_logger_on_first_use=False,
    )
    try:
        yield capture.entries
    finally:
        structlog.configure(**saved)
        structlog.contextvars.clear_contextvars()
