"""What a simulated coder enters for an item: deterministic per (coder, item).

Shared by the locust users and ``cost.py`` (which must not import locust: it monkey-
patches threading with gevent on import).
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

DIMENSIONS = os.environ.get("LOAD_DIMENSIONS", "D1,D2,D3,D4,D5,D6,D7,D8").split(",")
LEVELS = [int(v) for v in os.environ.get("LOAD_LEVELS", "0,1,2").split(",")]
WORDS = [
    "asks",
    "clarifying",
    "question",
    "states",
    "assumptions",
    "checks",
    "result",
    "cites",
    "source",
    "repairs",
    "error",
    "keeps",
    "context",
    "adapts",
    "tone",
    "plans",
    "steps",
    "verifies",
    "output",
    "follows",
    "workflow",
]


def values_for(coder: str, item: str) -> dict[str, dict[str, Any]]:
    """Deterministic scores and rationales for one coder and item (~8 x 120 characters)."""
    rng = random.Random(hashlib.sha256(f"{coder}/{item}".encode()).digest())
    return {
        code: {
            "value": rng.choice(LEVELS),
            "rationale": f"{code}: " + " ".join(rng.choices(WORDS, k=rng.randint(12, 22))),
        }
        for code in DIMENSIONS
    }
