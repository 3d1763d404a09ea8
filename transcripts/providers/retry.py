"""The one retry policy for model calls: exponential backoff with full jitter.

Delay for attempt n (1-based) is ``uniform(0, min(max_delay, base * 2**(n-1)))`` ("full
jitter", Brooker 2015, AWS Architecture Blog "Exponential Backoff and Jitter"), never
shorter than the server's Retry-After. Retries stop when the attempt cap is reached or
when the next try would start after the total time budget. Pure: no Django imports.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    max_total_seconds: float = 900.0
    base_delay: float = 2.0
    max_delay: float = 60.0
    lease_seconds: float = 120.0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RetryPolicy:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def backoff(self, attempt: int, *, retry_after: float | None, jitter_key: str) -> float:
        """Seconds to wait before the next attempt after ``attempt`` failed.

        Jitter is drawn from a generator seeded by ``jitter_key`` (run seed, cell, attempt)
        so a run's schedule can be reproduced.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        delay = random.Random(jitter_key).uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def decide(
        self, *, attempt: int, elapsed: float, retry_after: float | None, jitter_key: str
    ) -> float | None:
        """The delay before retrying, or None when the attempt or time cap is reached."""
        if attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt, retry_after=retry_after, jitter_key=jitter_key)
        if elapsed + delay > self.max_total_seconds:
            return None
        return delay
