"""The assignment engine: which coders code which items, and in what order.

Pure Python (no Django), deterministic from the study seed. Properties (tested with
hypothesis in tests/coding/test_assignment.py):
- each item gets exactly k distinct coders;
- total workloads differ by at most one item (greedy least-loaded choice keeps every
  load within {m, m+1});
- within each condition, items are spread evenly across coders (second sort key);
- each coder's order is a seeded random permutation, independent of condition and of
  import order; new work is appended after existing positions.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

ItemId = Hashable
CoderId = Hashable


@dataclass(frozen=True)
class Placement:
    item: ItemId
    coder: CoderId
    position: int


def _rng(seed: int, *salt: object) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs and platforms.
    return random.Random(":".join(str(s) for s in (seed, *salt)))


def assign(
    items: Sequence[tuple[ItemId, str]],
    coders: Sequence[CoderId],
    k: int,
    seed: int,
    existing: Sequence[Placement] = (),
) -> list[Placement]:
    """Place each new item with k coders. ``items`` are (item id, condition label) pairs.

    ``existing`` placements (from earlier calls) count towards loads and positions but
    are never changed; items already placed are skipped.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    coder_list = sorted(set(coders), key=str)
    if len(coder_list) < k:
        raise ValueError(f"need at least {k} coders, have {len(coder_list)}")
    placed = {p.item for p in existing}
    load: dict[CoderId, int] = defaultdict(int)
    cond_load: dict[tuple[str, CoderId], int] = defaultdict(int)
    next_pos: dict[CoderId, int] = defaultdict(int)
    condition_of = dict(items)
    for p in existing:
        load[p.coder] += 1
        cond_load[(condition_of.get(p.item, ""), p.coder)] += 1
        next_pos[p.coder] = max(next_pos[p.coder], p.position + 1)

    by_condition: dict[str, list[ItemId]] = defaultdict(list)
    for item, condition in items:
        if item not in placed:
            by_condition[condition].append(item)
    rng = _rng(seed, "assign", len(existing))
    order: list[tuple[str, ItemId]] = []
    for condition in sorted(by_condition):
        group = sorted(by_condition[condition], key=str)
        rng.shuffle(group)
        order.extend((condition, item) for item in group)
    tiebreak = {c: rng.random() for c in coder_list}

    chosen: dict[CoderId, list[ItemId]] = defaultdict(list)
    for condition, item in order:
        ranked = sorted(coder_list, key=lambda c: (load[c], cond_load[(condition, c)], tiebreak[c]))
        for coder in ranked[:k]:
            load[coder] += 1
            cond_load[(condition, coder)] += 1
            chosen[coder].append(item)
        # Rotate tie-breaks so equal-load coders take turns.
        for coder in ranked[:k]:
            tiebreak[coder] += 1.0

    placements: list[Placement] = []
    for coder in coder_list:
        mine = sorted(chosen[coder], key=str)
        _rng(seed, "order", coder, next_pos[coder]).shuffle(mine)
        placements.extend(
            Placement(item=item, coder=coder, position=next_pos[coder] + index)
            for index, item in enumerate(mine)
        )
    return placements
