"""Fault injection and request counting for the `/api/v1/` paths.

Random faults make a client's retry and error paths run in a demo; `fail_next` makes
them deterministic for tests. A "drip" is the right answer, its body sent one byte every
`drip_interval` seconds: what an overloaded proxy or a slow-loris upstream does, and what
a per-read timeout never catches. The counter lets tests assert how many upstream calls a
page made (a cache hit must make none).
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

from .errors import ApiError

FAIL_KINDS: tuple[str, ...] = ("500", "503", "429", "malformed", "drop", "drip")
RATES: tuple[str, ...] = (
    "error_rate",
    "rate_limit_rate",
    "malformed_rate",
    "drop_rate",
    "drip_rate",
)
DEFAULT_RETRY_AFTER = 1
# The measurement: one byte a second held a detail page for 301 s.
DEFAULT_DRIP_INTERVAL = 1.0
MAX_DRIP_INTERVAL = 60.0

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


@dataclass(slots=True)
class FaultSettings:
    latency: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = DEFAULT_RETRY_AFTER
    malformed_rate: float = 0.0
    drop_rate: float = 0.0
    drip_rate: float = 0.0
    drip_interval: float = DEFAULT_DRIP_INTERVAL
    fail_next: int = 0
    fail_with: str = "500"


class Fault(NamedTuple):
    """What one request gets: a delay, then the fault to answer with (None: the answer)."""

    delay: float
    kind: str | None
    retry_after: int
    drip_interval: float


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _validate(changes: dict[str, Any]) -> dict[str, list[str]]:
    known = {f.name for f in fields(FaultSettings)}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name not in known:
            errors[name] = [f"Unknown setting; known: {', '.join(sorted(known))}."]
        elif name in RATES and not (_number(value) and 0 <= value <= 1):
            errors[name] = ["A number from 0 to 1 is required."]
        elif name == "latency" and not (_number(value) and 0 <= value <= 600):
            errors[name] = ["A number of seconds from 0 to 600 is required."]
        elif name == "drip_interval" and not (_number(value) and 0 < value <= MAX_DRIP_INTERVAL):
            errors[name] = [
                f"A number of seconds above 0 and at most {MAX_DRIP_INTERVAL:g} is required."
            ]
        elif name in ("retry_after", "fail_next") and not (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0
        ):
            errors[name] = ["A whole number of 0 or more is required."]
        elif name == "fail_with" and value not in FAIL_KINDS:
            errors[name] = [f"One of: {', '.join(FAIL_KINDS)}."]
    return errors


class FaultInjector:
    """The current fault settings, changeable at run time, and the per-request draw."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        error_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        retry_after: int = DEFAULT_RETRY_AFTER,
        malformed_rate: float = 0.0,
        drop_rate: float = 0.0,
        drip_rate: float = 0.0,
        drip_interval: float = DEFAULT_DRIP_INTERVAL,
        rng: random.Random | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._rng = rng or random.Random()
        initial = {
            "latency": latency,
            "error_rate": error_rate,
            "rate_limit_rate": rate_limit_rate,
            "retry_after": retry_after,
            "malformed_rate": malformed_rate,
            "drop_rate": drop_rate,
            "drip_rate": drip_rate,
            "drip_interval": drip_interval,
        }
        errors = _validate(initial)
        if errors:
            raise ValueError("; ".join(f"{k}: {v[0]}" for k, v in errors.items()))
        self.update(initial)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._settings)

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply some settings, all or none; an invalid one is an ApiError(400)."""
        if not isinstance(changes, dict):
            raise ApiError(400, {"non_field_errors": ["Expected a JSON object of settings."]})
        errors = _validate(changes)
        if errors:
            raise ApiError(400, errors)
        with self._lock:
            for name, value in changes.items():
                setattr(self._settings, name, value)
            return asdict(self._settings)

    def reset(self) -> dict[str, Any]:
        with self._lock:
            self._settings = FaultSettings()
            return asdict(self._settings)

    def draw(self) -> Fault:
        """For one request: the delay, the fault to answer with (or None), Retry-After."""
        with self._lock:
            s = self._settings
            if s.fail_next > 0:
                s.fail_next -= 1
                return Fault(s.latency, s.fail_with, s.retry_after, s.drip_interval)
            # One draw against cumulative shares, so each rate is the share of requests
            # that fail that way rather than a chance applied after the others.
            roll = self._rng.random()
            for kind, rate in (
                ("drop", s.drop_rate),
                ("error", s.error_rate),
                ("429", s.rate_limit_rate),
                ("malformed", s.malformed_rate),
                ("drip", s.drip_rate),
            ):
                if roll < rate:
                    if kind == "error":
                        kind = self._rng.choice(("500", "503"))
                    return Fault(s.latency, kind, s.retry_after, s.drip_interval)
                roll -= rate
            return Fault(s.latency, None, s.retry_after, s.drip_interval)


def endpoint_key(method: str, path: str) -> str:
    return f"{method} {_ID_SEGMENT.sub('/{id}', path)}"


class RequestCounter:
    """How many API requests arrived, per endpoint and per answer status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()

    def record(self, method: str, path: str, status: int | None) -> None:
        with self._lock:
            self._by_endpoint[endpoint_key(method, path)] += 1
            self._by_status["dropped" if status is None else str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._by_endpoint.total(),
                "by_endpoint": dict(sorted(self._by_endpoint.items())),
                "by_status": dict(sorted(self._by_status.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self._by_endpoint.clear()
            self._by_status.clear()
