"""Injected faults: per-route rules that delay, fail or drop matching API requests.

Rules live in the server's memory (not in the world) and apply to Globus API routes
only, never to the control plane. A rule matches a method (or ``*``) and a regex searched
in the request path; it fires on the next ``times`` matching requests, or with a
``probability`` (seeded, so runs repeat), or on every match when neither is given. The
first rule that fires decides; it may add latency and then answer an error status with a
Globus-shaped body, or drop the connection without answering.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Fault:
    id: int
    method: str
    path: str
    status: int | None = None
    code: str | None = None
    message: str | None = None
    latency_ms: int = 0
    drop: bool = False
    times: int | None = None
    probability: float | None = None
    retry_after: int | None = None
    fired: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)
        self._random = random.Random(self.id)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "latency_ms": self.latency_ms,
            "drop": self.drop,
            "times": self.times,
            "probability": self.probability,
            "retry_after": self.retry_after,
            "fired": self.fired,
        }

    def error_code(self) -> str:
        if self.code:
            return self.code
        return {
            429: "RequestLimitExceeded",
            500: "InternalError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
        }.get(self.status or 500, "InjectedFault")


class FaultTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault:
        """Validate a fault spec (the control plane's JSON) and install it."""
        allowed = {
            "method", "path", "status", "code", "message", "latency_ms", "drop", "times",
            "probability", "retry_after",
        }  # fmt: skip
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        path = spec.get("path", ".*")
        if not isinstance(path, str):
            raise ValueError("path must be a regular expression string")
        try:
            re.compile(path)
        except re.error as err:
            raise ValueError(f"path is not a valid regular expression: {err}") from err
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        drop = bool(spec.get("drop", False))
        latency = spec.get("latency_ms", 0)
        if not isinstance(latency, int) or latency < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if status is None and not drop and latency == 0:
            raise ValueError("a fault needs a status, latency_ms or drop")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError("times must be a positive integer")
        probability = spec.get("probability")
        if probability is not None and (
            not isinstance(probability, int | float) or not 0 <= probability <= 1
        ):
            raise ValueError("probability must be between 0 and 1")
        with self._lock:
            fault = Fault(
                id=next(self._ids),
                method=str(spec.get("method", "*")).upper(),
                path=path,
                status=status,
                code=spec.get("code"),
                message=spec.get("message"),
                latency_ms=latency,
                drop=drop,
                times=times,
                probability=None if probability is None else float(probability),
                retry_after=spec.get("retry_after"),
            )
            self._faults.append(fault)
        return fault

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def clear(self, fault_id: int | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault that fires for this request, if any; consumes one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.method not in ("*", method) or not fault._pattern.search(path):
                    continue
                if fault.probability is not None and fault._random.random() >= fault.probability:
                    continue
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                return fault
        return None
