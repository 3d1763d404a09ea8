"""Hand a departing coder's open items to the coders who stay, keeping the balance.

Pure Python (no Django), deterministic from the study seed, the same preferences as the
assignment engine (coding/assignment.py): each item goes to the least-loaded eligible coder,
then the one with the fewest items of that condition, then a seeded tie-break. A coder who
already holds an item is never given it twice, so items with fewest eligible coders are
placed first, and then single moves are made while one evens the load (from a coder to an
eligible one with at least two items fewer). The result: no item could move to an eligible
coder without unbalancing the load. A named replacement takes every item they are eligible
for. Properties are tested in tests/coding/test_reassignment.py.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

ItemId = Hashable
CoderId = Hashable


@dataclass(frozen=True)
class OpenItem:
    item: ItemId
    condition: str
    holders: frozenset  # coders (other than the departing one) who already have the item


class NoEligibleCoder(ValueError):
    """Every remaining coder already holds these items."""

    def __init__(self, items: list[ItemId]) -> None:
        self.items = items
        super().__init__(f"{len(items)} item(s) have no eligible coder")


def _rng(seed: int, *salt: object) -> random.Random:
    return random.Random(":".join(str(s) for s in (seed, *salt)))


def reassign(
    open_items: Sequence[OpenItem],
    coders: Iterable[CoderId],
    load: Mapping[CoderId, int],
    condition_load: Mapping[tuple[str, CoderId], int],
    seed: int,
    replacement: CoderId | None = None,
) -> dict[ItemId, CoderId]:
    """item -> new coder for every open item; raises NoEligibleCoder if any has none.

    ``load`` is each coder's current number of items in the study and ``condition_load``
    their number per condition; both are copied, not changed.
    """
    coder_list = sorted(set(coders), key=str)
    loads: dict[CoderId, int] = defaultdict(int, {c: load.get(c, 0) for c in coder_list})
    cond: dict[tuple[str, CoderId], int] = defaultdict(int, condition_load)
    rng = _rng(seed, "reassign", len(open_items))
    order = sorted(open_items, key=lambda o: str(o.item))
    rng.shuffle(order)
    tiebreak = {c: rng.random() for c in coder_list}
    stuck = [o.item for o in order if not set(coder_list) - o.holders]
    if stuck:
        raise NoEligibleCoder(stuck)
    eligible = {o.item: [c for c in coder_list if c not in o.holders] for o in order}
    # Most constrained first (stable: the seeded order breaks ties).
    order.sort(key=lambda o: len(eligible[o.item]))
    chosen: dict[ItemId, CoderId] = {}
    fixed: set[ItemId] = set()
    for entry in order:
        if replacement is not None and replacement in eligible[entry.item]:
            coder = replacement
            fixed.add(entry.item)
        else:
            coder = min(
                eligible[entry.item],
                key=lambda c: (loads[c], cond[(entry.condition, c)], tiebreak[c]),
            )
            tiebreak[coder] += 1.0  # equal-load coders take turns
        chosen[entry.item] = coder
        loads[coder] += 1
        cond[(entry.condition, coder)] += 1
    _even_out(order, eligible, chosen, fixed, loads, cond, tiebreak)
    return chosen


def _even_out(order, eligible, chosen, fixed, loads, cond, tiebreak) -> None:
    """Move single items from a coder to an eligible one with two or more items fewer.
    Each move lowers the sum of squared loads, so this ends."""
    moved = True
    while moved:
        moved = False
        for entry in order:
            if entry.item in fixed:
                continue
            current = chosen[entry.item]
            others = [c for c in eligible[entry.item] if c != current]
            if not others:
                continue
            best = min(others, key=lambda c: (loads[c], cond[(entry.condition, c)], tiebreak[c]))
            if loads[best] <= loads[current] - 2:
                chosen[entry.item] = best
                loads[current] -= 1
                loads[best] += 1
                cond[(entry.condition, current)] -= 1
                cond[(entry.condition, best)] += 1
                moved = True


def positions(
    chosen: Mapping[ItemId, CoderId], next_position: Mapping[CoderId, int], seed: int
) -> list[tuple[ItemId, CoderId, int]]:
    """(item, coder, position): each coder's new items appended after their existing ones,
    in a seeded random order (never the departing coder's order, never by condition)."""
    mine: dict[CoderId, list[ItemId]] = defaultdict(list)
    for item, coder in chosen.items():
        mine[coder].append(item)
    placed = []
    for coder in sorted(mine, key=str):
        items = sorted(mine[coder], key=str)
        start = next_position.get(coder, 0)
        _rng(seed, "reassign-order", coder, start).shuffle(items)
        placed.extend((item, coder, start + i) for i, item in enumerate(items))
    return placed
