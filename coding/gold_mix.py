"""Where gold items go in a coder's queue. Pure Python (no Django), seeded like the
assignment engine, so the order is reproducible from the study seed.

Gold items are interleaved at seeded random places among the coder's new ordinary
items: nothing in a queue's order marks them (same positions, same codes).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence

ItemId = Hashable


def gold_target(rate_percent: int, n_real: int) -> int:
    """Gold items that make ``rate_percent`` of a queue holding ``n_real`` ordinary ones:
    g / (n + g) = r  =>  g = r n / (1 - r), rounded."""
    if rate_percent <= 0 or n_real <= 0:
        return 0
    rate = min(rate_percent, 50) / 100
    return round(rate * n_real / (1 - rate))


def pick(pool: Sequence[ItemId], n: int, seed: int, *salt: object) -> list[ItemId]:
    """``n`` items of ``pool`` (fewer if it is smaller), chosen from the seed."""
    rng = random.Random(":".join(str(s) for s in (seed, "gold", *salt)))
    ordered = sorted(pool, key=str)
    rng.shuffle(ordered)
    return ordered[: max(0, n)]


def interleave(
    real: Sequence[ItemId], gold: Sequence[ItemId], seed: int, *salt: object
) -> list[ItemId]:
    """``real`` in its order with each of ``gold`` inserted at a seeded random place."""
    rng = random.Random(":".join(str(s) for s in (seed, "interleave", *salt)))
    slots = sorted(rng.randint(0, len(real)) for _ in gold)
    out: list[ItemId] = []
    g = 0
    for i, item in enumerate(real):
        while g < len(gold) and slots[g] == i:
            out.append(gold[g])
            g += 1
        out.append(item)
    out.extend(gold[g:])
    return out
