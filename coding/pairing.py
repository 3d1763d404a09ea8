"""Pair design for pairwise studies: which items are compared, and who sees which on the left.

Pure Python (no Django), deterministic from the study seed.

- Pairs join two items of the same prompt and the same scaffold (harness configuration)
  from different models, matched by replicate: every (prompt, scaffold, replicate) cell
  gives one pair per pair of models, so each configuration pair appears equally often
  (balanced across configurations) and the per-scaffold Bradley-Terry fits get the
  comparisons they need. The balancing label of a pair is its (scaffold, model pair), so
  ``coding.assignment.assign`` spreads configuration pairs evenly over coders.
- Sides: the k coders of a pair see its first item on the left in alternation (as even as
  k allows), in a seeded random order: randomised per coder, balanced per pair, so a
  coder's preference for the left side cannot favour one configuration.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations

ItemId = Hashable
CoderId = Hashable


@dataclass(frozen=True)
class Candidate:
    item: ItemId
    prompt: str
    model: str
    scaffold: str
    replicate: int | None = None


@dataclass(frozen=True)
class PlannedPair:
    first: ItemId
    second: ItemId
    label: str  # balancing label: scaffold and model pair (never shown to coders)


def pair_design(candidates: Sequence[Candidate]) -> list[PlannedPair]:
    """Pairs of items of one prompt and scaffold from two different models.

    Within a (prompt, scaffold) cell, each model's items are taken in replicate order and
    matched rank by rank, so replicate r of model A meets replicate r of model B; an item
    without a partner is left out. Items lacking a prompt or model are never paired.
    """
    cells: dict[tuple[str, str], dict[str, list[Candidate]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for c in candidates:
        if c.prompt and c.model:
            cells[(c.prompt, c.scaffold)][c.model].append(c)
    pairs: list[PlannedPair] = []
    for (_prompt, scaffold), by_model in sorted(cells.items()):
        for group in by_model.values():
            group.sort(key=lambda c: (c.replicate is None, c.replicate or 0, str(c.item)))
        for model_a, model_b in combinations(sorted(by_model), 2):
            for a, b in zip(by_model[model_a], by_model[model_b], strict=False):
                pairs.append(PlannedPair(a.item, b.item, f"{scaffold}|{model_a}|{model_b}"))
    return pairs


def sides(
    coders_by_pair: dict[Hashable, Sequence[CoderId]], seed: int
) -> dict[tuple[Hashable, CoderId], bool]:
    """(pair, coder) -> first item on the left? Alternating per pair, seeded order."""
    out: dict[tuple[Hashable, CoderId], bool] = {}
    for pair, coders in coders_by_pair.items():
        rng = random.Random(f"{seed}:sides:{pair}")
        ordered = sorted(coders, key=str)
        flags = [i % 2 == 0 for i in range(len(ordered))]
        if rng.random() < 0.5:
            flags = [not f for f in flags]
        rng.shuffle(ordered)
        out.update({(pair, coder): flag for coder, flag in zip(ordered, flags, strict=True)})
    return out
