"""Lead-page counters and the disagreement list stay equal to a recount of the data
through every write that changes them: assignment, submit, reconcile, remove/replace a
coder (issue 16 item 1). Each test compares the incrementally kept rows with what
``tally_rebuild`` computes from scratch, so dropping any counter update fails it."""

from __future__ import annotations

import pytest

from coding.models import Assignment, Disagreement, Membership, Reconciliation, StudyTally
from coding.selectors import study_progress, study_summary, study_totals
from coding.selectors.reconcile import parse_cursor, reconcile_queue, reconcile_queue_page
from coding.services import (
    reconciliation_auto_agree,
    reconciliation_decide,
    score_submit,
    tally_rebuild,
)
from coding.services.members import member_remove
from tests.coding.conftest import DISAGREE, code_everything, dim, full_values

pytestmark = pytest.mark.django_db


def _state(study) -> tuple:
    """What the pages read: totals, per-coder progress, the disagreement list."""
    progress = [(c.username, c.done, c.total) for c in study_progress(study=study)]
    cells = sorted(
        Disagreement.objects.filter(study=study).values_list(
            "item_id", "dimension_id", "item_code", "dimension_order", "low", "high", "coders"
        )
    )
    return study_totals(study=study), progress, cells


def assert_counts_match_data(study) -> None:
    kept = _state(study)
    tally_rebuild(study=study)
    assert kept == _state(study)


def _submit(a, value=1):
    a = Assignment.objects.select_related("item__study__rubric").get(pk=a.pk)
    score_submit(
        assignment=a,
        values=full_values(a.item.study, value),
        expected_version=a.version,
        by=a.coder,
    )


def test_open_and_submit_keep_the_counters(open_study):
    p = open_study
    totals = study_totals(study=p.study)
    assert totals["assigned"] == Assignment.objects.filter(item__study=p.study).count() > 0
    assert totals["submitted"] == 0
    mine = list(Assignment.objects.filter(item__study=p.study, coder=p.coder_a))
    for a in mine[:3]:
        _submit(a)
    assert study_totals(study=p.study)["submitted"] == 3
    assert study_totals(study=p.study)["completed"] == 0  # coder_b has not submitted them
    for a in Assignment.objects.filter(item__in=[a.item_id for a in mine[:2]], coder=p.coder_b):
        _submit(a, value=2)  # disagrees everywhere with coder_a's 1
    totals = study_totals(study=p.study)
    assert totals["submitted"] == 5 and totals["completed"] == 2
    assert Disagreement.objects.filter(study=p.study).count() == 2 * 8
    summary = study_summary(study=p.study)
    assert summary["submitted"] == 5 and summary["items_complete"] == 2
    assert_counts_match_data(p.study)


def test_a_replayed_submit_counts_once(open_study):
    p = open_study
    a = Assignment.objects.filter(item__study=p.study, coder=p.coder_a).first()
    _submit(a)
    a = Assignment.objects.select_related("item__study__rubric").get(pk=a.pk)
    score_submit(assignment=a, values=full_values(p.study), expected_version=0, by=p.coder_a)
    assert study_totals(study=p.study)["submitted"] == 1
    assert_counts_match_data(p.study)


def test_auto_agree_and_decisions_keep_the_method_counts(open_study):
    p = open_study
    items = code_everything(p)
    agreed = Reconciliation.objects.filter(item__study=p.study, method="agreed").count()
    assert study_totals(study=p.study)["agreed"] == agreed > 0
    entry = reconcile_queue(study=p.study, status="open")[0]
    item = next(i for i in items if i.public_code == entry.item_code)
    d = dim(p.study, entry.dimension_code)
    first = reconciliation_decide(
        item=item, dimension=d, value=1, method="discussion", note="talked", by=p.adjudicator
    )
    assert study_totals(study=p.study)["discussion"] == 1
    # The lead replaces the adjudicator's decision: one discussion fewer, one adjudicated more.
    reconciliation_decide(
        item=item,
        dimension=d,
        value=2,
        method="adjudicated",
        note="final",
        by=p.lead,
        expected_id=first.pk,
    )
    totals = study_totals(study=p.study)
    assert (totals["discussion"], totals["adjudicated"]) == (0, 1)
    # Auto-agree over the study finds nothing left (each last submit recorded its cells).
    assert reconciliation_auto_agree(study=p.study) == 0
    assert study_totals(study=p.study)["agreed"] == agreed
    assert_counts_match_data(p.study)


@pytest.mark.parametrize("replace", [False, True])
def test_removing_or_replacing_a_coder_moves_their_counts(request, replace):
    p, coder_c, coder_d = request.getfixturevalue("three_coders")
    for a in Assignment.objects.filter(item__study=p.study, coder=coder_c)[:2]:
        _submit(a)
    before = study_totals(study=p.study)
    membership = Membership.objects.select_related("study", "user").get(study=p.study, user=coder_c)
    member_remove(membership=membership, by=p.lead, replacement=coder_d if replace else None)
    after = study_totals(study=p.study)
    assert after["assigned"] == before["assigned"]  # the open items moved, none lost
    rows = {r.user_id: r for r in StudyTally.objects.filter(study=p.study)}
    assert rows[coder_c.pk].assigned == rows[coder_c.pk].submitted == 2  # kept their work
    progress = {c.username: (c.done, c.total) for c in study_progress(study=p.study)}
    assert progress["coder_c"] == (2, 2)
    assert_counts_match_data(p.study)


def test_the_queue_pages_by_keyset_in_code_order(open_study):
    p = open_study
    code_everything(p)
    everything = reconcile_queue(study=p.study, status="all")
    assert len(everything) == sum(map(len, DISAGREE.values()))
    seen, after = [], None
    while True:
        page, after_raw = reconcile_queue_page(study=p.study, status="all", after=after, limit=1)
        seen += page
        if after_raw is None:
            break
        after = parse_cursor(after_raw)
    assert [(e.item_code, e.dimension_code) for e in seen] == [
        (e.item_code, e.dimension_code) for e in everything
    ]
    assert [e.item_code for e in seen] == sorted(e.item_code for e in seen)


@pytest.mark.parametrize("raw", ["", "x", ".3", "ABC-DEF.", "ABC-DEF.-1", "A" * 40 + ".1", "a.1e9"])
def test_malformed_cursors_give_the_first_page(raw):
    assert parse_cursor(raw) is None
