"""Reassigning a departing coder's open items (coding/reassignment.py, pure)."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coding.assignment import assign
from coding.reassignment import NoEligibleCoder, OpenItem, positions, reassign


def _world(n_items, n_coders, k, seed):
    """A study assigned by the engine; coder 0 leaves. Returns what reassign() is given."""
    items = [(i, f"cond{i % 5}") for i in range(n_items)]
    coders = list(range(n_coders))
    placements = assign(items, coders, k, seed)
    holders = {i: {p.coder for p in placements if p.item == i} for i, _ in items}
    leaving = [p.item for p in placements if p.coder == 0]
    stay = coders[1:]
    load = Counter(p.coder for p in placements if p.coder != 0)
    cond = Counter((dict(items)[p.item], p.coder) for p in placements if p.coder != 0)
    open_items = [OpenItem(i, dict(items)[i], frozenset(holders[i] - {0})) for i in leaving]
    return open_items, stay, load, cond


def _check_no_better_move(open_items, chosen, final_load, fixed=frozenset()):
    for entry in open_items:
        if entry.item in fixed:
            continue
        mine = chosen[entry.item]
        for other in final_load:
            if other != mine and other not in entry.holders:
                assert final_load[other] >= final_load[mine] - 1, (entry, other)


@settings(max_examples=60, deadline=None)
@given(
    n_items=st.integers(1, 80),
    n_coders=st.integers(3, 8),
    k=st.integers(2, 3),
    seed=st.integers(0, 2**31),
)
def test_every_open_item_gets_one_new_eligible_coder_and_the_load_stays_even(
    n_items, n_coders, k, seed
):
    open_items, stay, load, cond = _world(n_items, n_coders, min(k, n_coders - 1), seed)
    chosen = reassign(open_items, stay, load, cond, seed)
    assert set(chosen) == {o.item for o in open_items}
    for entry in open_items:
        assert chosen[entry.item] in stay and chosen[entry.item] not in entry.holders
    final = Counter(load)
    final.update(chosen.values())
    for coder in stay:
        final.setdefault(coder, 0)
    _check_no_better_move(open_items, chosen, final)
    assert chosen == reassign(list(reversed(open_items)), list(reversed(stay)), load, cond, seed)


def test_without_constraints_the_spread_is_at_most_one():
    open_items = [OpenItem(i, f"c{i % 3}", frozenset()) for i in range(10)]
    chosen = reassign(open_items, ["a", "b", "c"], {"a": 5, "b": 5, "c": 5}, {}, 7)
    assert sorted(Counter(chosen.values()).values()) == [3, 3, 4]


def test_most_constrained_items_first():
    # Greedy in the wrong order would give "a" both items; "b" can only take item 1.
    open_items = [OpenItem(1, "", frozenset({"a"})), OpenItem(2, "", frozenset())]
    for seed in range(20):
        chosen = reassign(open_items, ["a", "b"], {"a": 0, "b": 0}, {}, seed)
        assert chosen == {1: "b", 2: "a"}


def test_replacement_takes_what_it_can():
    open_items = [OpenItem(i, "", frozenset({"r"} if i < 2 else set())) for i in range(6)]
    chosen = reassign(open_items, ["a", "b", "r"], {"a": 9, "b": 9, "r": 0}, {}, 3, "r")
    assert {i for i, c in chosen.items() if c == "r"} == {2, 3, 4, 5}
    assert {chosen[0], chosen[1]} <= {"a", "b"}


def test_an_item_nobody_can_take_is_refused():
    open_items = [OpenItem(1, "", frozenset({"a", "b"})), OpenItem(2, "", frozenset())]
    with pytest.raises(NoEligibleCoder) as caught:
        reassign(open_items, ["a", "b"], {}, {}, 1)
    assert caught.value.items == [1]


def test_positions_are_appended_in_a_seeded_order():
    chosen = {i: "a" if i % 2 else "b" for i in range(10)}
    placed = positions(chosen, {"a": 7}, 11)
    a = sorted(pos for item, coder, pos in placed if coder == "a")
    b = sorted(pos for item, coder, pos in placed if coder == "b")
    assert a == list(range(7, 12)) and b == list(range(5))
    assert placed == positions(chosen, {"a": 7}, 11)
    a_order = [item for item, coder, _pos in sorted(placed, key=lambda t: t[2]) if coder == "a"]
    assert sorted(a_order) == [1, 3, 5, 7, 9] and a_order != [1, 3, 5, 7, 9]  # shuffled
