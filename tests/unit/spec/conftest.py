"""Fixtures for the spec-language tests: validate in-memory spec files at a fixed now."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import pytest

from reconciler.core.intent import Intent
from reconciler.spec import Diagnostic, compute_spec_set

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

Check = Callable[[Mapping[str, str | bytes]], tuple[Intent | None, tuple[Diagnostic, ...]]]


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def check() -> Check:
    """Validate ``{file name: content}`` as one spec set, as of ``NOW``."""

    def run(files: Mapping[str, str | bytes]) -> tuple[Intent | None, tuple[Diagnostic, ...]]:
        sources = [
            (name, text.encode() if isinstance(text, str) else text) for name, text in files.items()
        ]
        return compute_spec_set(sources, now=NOW)

    return run
