"""Per coder pair agreement: only pairs that share items, unchanged numbers, cheap at scale.

A 200-coder study has 19,900 coder pairs but, with two coders per item, only a few
hundred that rated an item in common. The reference below is the old definition (every
pair of coders, each dimension's ratings filtered to the items both coders rated) run on
the pairs that share items; every other pair must be absent from the results.
"""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import combinations

import pytest

from audit import agreement_results
from audit.agreement_results import MAIN_COEFFICIENTS, PAIR_CI_MIN_ITEMS, build_results
from audit.stats.agreement import agreement

CATEGORIES = (0, 1, 2)
DIMENSIONS = [(f"D{i}", f"Dimension {i}", CATEGORIES) for i in range(1, 9)]
N_BOOT = 200

Rating = tuple[str, str, str, int]


def many_coder_ratings(
    n_coders: int = 200, n_items: int = 300, k: int = 2, seed: int = 7
) -> list[Rating]:
    """Items each assigned to k distinct coders (balanced), about 80 % of them submitted.

    Coders c000 and c001 also share ``PAIR_CI_MIN_ITEMS + 2`` items of their own, so one
    pair is large enough for bootstrap intervals.
    """
    rng = random.Random(seed)
    coders = [f"c{i:03d}" for i in range(n_coders)]
    assignments: list[tuple[str, str]] = []
    queue: list[str] = []
    for i in range(n_items):
        if len(queue) < k:
            queue += rng.sample(coders, len(coders))
        chosen: list[str] = []
        while len(chosen) < k:
            coder = queue.pop()
            if coder in chosen:
                queue.insert(0, coder)
            else:
                chosen.append(coder)
        assignments += [(f"I{i:04d}", c) for c in chosen]
    submitted = [a for a in assignments if rng.random() < 0.8]
    submitted += [(f"P{i:03d}", c) for i in range(PAIR_CI_MIN_ITEMS + 2) for c in coders[:2]]
    ratings = []
    for item, coder in sorted(submitted):
        truth = random.Random(item)  # the same "true" values for every coder of an item
        for code, _name, _cats in DIMENSIONS:
            value = truth.choice(CATEGORIES)
            if rng.random() < 0.25:
                value = rng.choice(CATEGORIES)
            ratings.append((item, coder, code, value))
    return ratings


def items_by_coder(ratings: list[Rating]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for item, coder, _dim, _value in ratings:
        out[coder].add(item)
    return out


def reference_pair(ratings: list[Rating], a: str, b: str, seed: int) -> dict:
    """The old per-pair definition for one pair (brute force over all ratings)."""
    entry: dict = {"a": a, "b": b, "dimensions": {}}
    per_dim: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for item, coder, dim, value in ratings:
        per_dim[dim].append((item, coder, value))
    shared: set[str] = set()
    filtered = {}
    for code, _name, _cats in DIMENSIONS:
        triples = [t for t in per_dim[code] if t[1] in (a, b)]
        both = {t[0] for t in triples if t[1] == a} & {t[0] for t in triples if t[1] == b}
        shared |= both
        filtered[code] = [t for t in triples if t[0] in both]
    n_boot = N_BOOT if len(shared) >= PAIR_CI_MIN_ITEMS else 0
    for code, _name, cats in DIMENSIONS:
        result = agreement(filtered[code], cats, n_boot=n_boot, seed=seed)
        report = result.to_dict()
        entry["dimensions"][code] = {
            "values": {n: report[n] for n in MAIN_COEFFICIENTS},
            "ci": {n: report["ci"][n] for n in MAIN_COEFFICIENTS},
            "n_items": report["n_items"],
            "warnings": report["warnings"],
            "reasons": {
                n: result.coefficients[n].reason
                for n in MAIN_COEFFICIENTS
                if report[n] is None and result.coefficients[n].reason
            },
        }
    entry["n_items"] = len(shared)
    return entry


def test_many_coders_visit_only_pairs_that_share_items(monkeypatch):
    ratings = many_coder_ratings()
    by_coder = items_by_coder(ratings)
    coders = sorted(by_coder)
    sharing = {(a, b) for a, b in combinations(coders, 2) if by_coder[a] & by_coder[b]}
    all_pairs = len(coders) * (len(coders) - 1) // 2
    assert len(coders) > 190 and all_pairs > 50 * len(sharing)  # a few coders submitted none

    calls: list[frozenset[str]] = []

    def counting(triples, categories, **kwargs):
        calls.append(frozenset(coder for _item, coder, _value in triples))
        return agreement(triples, categories, **kwargs)

    monkeypatch.setattr(agreement_results, "agreement", counting)
    results = build_results(DIMENSIONS, ratings, n_boot=N_BOOT, seed=3)

    # Exactly the pairs that share an item are reported, in name order.
    reported = [(p["a"], p["b"]) for p in results["pairs"]]
    assert reported == sorted(sharing)
    assert results["pair_ci_min_items"] == PAIR_CI_MIN_ITEMS
    # The per-pair work never touched a pair without a shared item: one call per
    # dimension for the whole study, at most one per (sharing pair, dimension) after.
    pair_calls = [c for c in calls if len(c) == 2]
    assert len(calls) - len(pair_calls) == len(DIMENSIONS)
    assert {tuple(sorted(c)) for c in pair_calls} <= sharing
    assert len(pair_calls) <= len(sharing) * len(DIMENSIONS)

    # Numbers for the pairs that exist are those of the old definition.
    by_pair = {(p["a"], p["b"]): p for p in results["pairs"]}
    for a, b in sorted(sharing):
        assert by_pair[(a, b)] == reference_pair(ratings, a, b, seed=3), (a, b)


def test_intervals_only_from_the_minimum_shared_items():
    ratings = many_coder_ratings(n_coders=40, n_items=60)
    results = build_results(DIMENSIONS, ratings, n_boot=N_BOOT, seed=0)
    big = [p for p in results["pairs"] if p["n_items"] >= PAIR_CI_MIN_ITEMS]
    small = [p for p in results["pairs"] if p["n_items"] < PAIR_CI_MIN_ITEMS]
    assert [(p["a"], p["b"]) for p in big] == [("c000", "c001")] and small
    assert big[0]["dimensions"]["D1"]["ci"]["percent_agreement"] is not None
    for pair in small:
        for entry in pair["dimensions"].values():
            assert all(ci is None for ci in entry["ci"].values())
            # Point estimates are still reported (kappa may be undefined on one item).
            assert entry["values"]["percent_agreement"] is not None


def _reference_pairs(ratings, seed: int) -> list:
    """The old definition by brute force: every coder pair that shares an item."""
    by_coder = items_by_coder(ratings)
    return [
        reference_pair(ratings, a, b, seed=seed)
        for a, b in combinations(sorted(by_coder), 2)
        if by_coder[a] & by_coder[b]
    ]


@pytest.mark.parametrize("k", [2, 3])
def test_small_study_matches_the_old_all_pairs_definition(k):
    """Every pair of a few coders (several items, k per item) equals the brute force."""
    ratings = many_coder_ratings(n_coders=6, n_items=30, k=k, seed=k)
    results = build_results(DIMENSIONS, ratings, n_boot=N_BOOT, seed=1)
    assert results["pairs"] == _reference_pairs(ratings, seed=1)


def test_ratings_in_any_order_and_missing_dimensions():
    """Input order and a coder skipping a dimension do not change a pair's numbers."""
    ratings = many_coder_ratings(n_coders=4, n_items=40, seed=11)
    ratings = [r for r in ratings if not (r[1] == "c002" and r[2] == "D3")]
    shuffled = ratings[:]
    random.Random(5).shuffle(shuffled)
    for rows in (ratings, shuffled):
        results = build_results(DIMENSIONS, rows, n_boot=N_BOOT, seed=2)
        assert results["pairs"] == _reference_pairs(rows, seed=2)
