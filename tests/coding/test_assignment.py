"""Assignment engine properties: k distinct coders, balance, determinism, incremental."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from coding.assignment import assign
from coding.models import Assignment
from coding.services import assignments_extend, items_import
from tests.coding.conftest import make_records
from tests.factories import MembershipFactory, UserFactory


def _check(items, coders, k, placements):
    per_item = Counter(p.item for p in placements)
    assert set(per_item) == {i for i, _ in items}
    assert all(n == k for n in per_item.values())
    assert len({(p.item, p.coder) for p in placements}) == len(placements)  # distinct coders
    loads = Counter(p.coder for p in placements)
    counts = [loads.get(c, 0) for c in coders]
    assert max(counts) - min(counts) <= 1
    for coder in coders:  # positions are a permutation 0..n-1
        positions = sorted(p.position for p in placements if p.coder == coder)
        assert positions == list(range(len(positions)))


@settings(max_examples=60, deadline=None)
@given(
    n_items=st.integers(1, 120),
    n_coders=st.integers(2, 9),
    k=st.integers(2, 4),
    n_conditions=st.integers(1, 12),
    seed=st.integers(0, 2**31),
)
def test_assignment_properties(n_items, n_coders, k, n_conditions, seed):
    k = min(k, n_coders)
    items = [(i, f"cond{i % n_conditions}") for i in range(n_items)]
    coders = [f"coder{c}" for c in range(n_coders)]
    placements = assign(items, coders, k, seed)
    _check(items, coders, k, placements)
    assert placements == assign(list(reversed(items)), list(reversed(coders)), k, seed)


def test_conditions_spread_evenly_across_coders():
    items = [(i, f"m{i % 3}|C{i % 4}") for i in range(180)]
    coders = ["a", "b", "c", "d"]
    placements = assign(items, coders, 2, 99)
    per = Counter((p.coder, dict(items)[p.item]) for p in placements)
    # 12 conditions x 15 items x 2 codings spread over 4 coders: 7 or 8 each.
    assert set(per.values()) <= {7, 8}


def test_different_seeds_give_different_orders():
    items = [(i, "") for i in range(30)]
    a = assign(items, ["x", "y"], 2, 1)
    b = assign(items, ["x", "y"], 2, 2)
    order = lambda ps: [p.item for p in sorted(ps, key=lambda p: (p.coder, p.position))]  # noqa: E731
    assert order(a) != order(b)


def test_incremental_assigns_only_new_items():
    items = [(i, "") for i in range(10)]
    first = assign(items, ["a", "b", "c"], 2, 5)
    more = items + [(i, "") for i in range(10, 16)]
    second = assign(more, ["a", "b", "c"], 2, 5, existing=first)
    assert {p.item for p in second} == set(range(10, 16))
    loads = Counter(p.coder for p in first + second)
    assert max(loads.values()) - min(loads.values()) <= 1
    for coder in "abc":
        positions = sorted(p.position for p in first + second if p.coder == coder)
        assert positions == list(range(len(positions)))


def test_service_adding_items_to_open_study_assigns_only_new_work(open_study):
    study = open_study.study
    before = set(
        Assignment.objects.filter(item__study=study).values_list("pk", "coder_id", "position")
    )
    items_import(study=study, records=make_records(4, prefix="new"), by=open_study.lead)
    after = set(
        Assignment.objects.filter(item__study=study).values_list("pk", "coder_id", "position")
    )
    assert before < after and len(after - before) == 8
    # A new coder gets nothing from existing work.
    newbie = UserFactory(username="newbie")
    MembershipFactory(study=study, user=newbie, role="coder")
    assert assignments_extend(study=study) == 0
