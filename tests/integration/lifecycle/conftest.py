"""Lifecycle tests reuse the engine's spec-directory world."""

from tests.integration.engine.conftest import seeded, world

__all__ = ["seeded", "world"]
