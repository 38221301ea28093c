"""Pure data types shared by planning, execution and rendering.

Nothing in this package performs I/O or imports globus_sdk, structlog or pydantic
(an import-linter contract enforces it). Types are frozen, slotted dataclasses and use
tuples and frozensets, so a plan is a value that can be compared, saved and rendered.
"""
