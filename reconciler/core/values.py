"""``@value``: the decorator for the immutable value types created per grant.

A ``@value`` class is a slotted dataclass with equality and hashing that the type checker
treats as frozen (``dataclass_transform(frozen_default=True)``): assigning a field is a
``mypy --strict`` error, which CI enforces. At run time it is not a frozen dataclass,
whose ``__init__`` calls ``object.__setattr__`` once per field: building a plan for
100,000 grants creates several hundred thousand of these, and that per-field call was
a third of planning time (bench/bench_planning.py). Types created a few at a time stay
plain ``@dataclass(frozen=True, slots=True)``.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def value(cls: type[T]) -> type[T]:
    return dataclasses.dataclass(slots=True, unsafe_hash=True)(cls)
