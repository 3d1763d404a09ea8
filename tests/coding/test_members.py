"""Members page, removing and replacing a coder mid-study, and changing one's password."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Count
from django.urls import reverse

from coding.models import Assignment, Event, Item, MemberRemoval, Membership, Score
from coding.services import ServiceError, score_autosave, score_submit
from coding.services.members import member_remove
from tests.coding.conftest import full_values
from tests.factories import PASSWORD, MembershipFactory, UserFactory


def _mine(study, coder, status=None):
    qs = Assignment.objects.filter(item__study=study, coder=coder).select_related(
        "item__study__rubric"
    )
    return qs.filter(status=status) if status else qs


def _work(p, coder, submit=3, draft=1):
    """``coder`` submits their first ``submit`` items and saves a draft of the next."""
    queue = list(_mine(p.study, coder).order_by("position"))
    for a in queue[:submit]:
        score_submit(
            assignment=a, values=full_values(p.study), expected_version=a.version, by=coder
        )
    for a in queue[submit : submit + draft]:
        score_autosave(
            assignment=a, values={"D1": {"value": 2}}, expected_version=a.version, by=coder
        )


def _loads(study) -> dict[str, int]:
    rows = Assignment.objects.filter(item__study=study).values("coder__username")
    return {r["coder__username"]: r["n"] for r in rows.annotate(n=Count("pk"))}


def test_remove_keeps_submitted_work_and_spreads_open_items(three_coders, login):
    p, coder_c, coder_d = three_coders
    _work(p, coder_c)
    before = _loads(p.study)
    open_items = set(_mine(p.study, coder_c, "open").values_list("item_id", flat=True))
    submitted = set(_mine(p.study, coder_c, "submitted").values_list("pk", flat=True))
    partner = {
        item_id: set(
            Assignment.objects.filter(item_id=item_id)
            .exclude(coder=coder_c)
            .values_list("coder_id", flat=True)
        )
        for item_id in open_items
    }
    response = login(p.lead).post(
        reverse("coding:member-remove", args=[p.study.pk, _membership(p, coder_c).pk]),
        {"replacement": "", "reason": "left the lab"},
    )
    assert response.status_code == 302
    # Submitted work stays, untouched; open work (and its draft) is gone from coder_c.
    assert set(_mine(p.study, coder_c).values_list("pk", flat=True)) == submitted
    assert not Score.objects.filter(assignment__coder=coder_c, assignment__status="open").exists()
    # Every item still has k = 2 distinct coders; the open items went to others.
    per_item = Counter(
        Assignment.objects.filter(item__study=p.study).values_list("item_id", flat=True)
    )
    assert set(per_item.values()) == {2}
    for item_id in open_items:
        coders = set(Assignment.objects.filter(item_id=item_id).values_list("coder_id", flat=True))
        assert coder_c.pk not in coders and len(coders) == 2
    after = _loads(p.study)
    remaining = [after[n] for n in ("coder_a", "coder_b", "coder_d")]
    # The balance is kept: no moved item could go to another coder who lacks it and has
    # two or more items fewer than the coder who got it.
    for item_id in open_items:
        holders = set(Assignment.objects.filter(item_id=item_id).values_list("coder_id", flat=True))
        (got,) = [c for c in _stay(p, coder_d) if c.pk in holders - partner[item_id]]
        for other in _stay(p, coder_d):
            if other.pk not in partner[item_id]:
                assert after[other.username] >= after[got.username] - 1
    assert sum(remaining) == sum(before[n] for n in ("coder_a", "coder_b", "coder_d")) + len(
        open_items
    )
    # Marked: the removal record, the event, the members page and the item pages.
    record = MemberRemoval.objects.get(study=p.study, user=coder_c)
    assert (record.submitted_kept, record.reassigned, record.drafts_discarded) == (
        3,
        len(open_items),
        1,
    )
    event = Event.objects.get(study=p.study, verb="member_remove")
    assert event.payload["reason"] == "left the lab" and event.target == "coder_c"
    assert not Membership.objects.filter(study=p.study, user=coder_c).exists()
    code = Item.objects.get(pk=Assignment.objects.get(pk=next(iter(submitted))).item_id)
    preview = login(p.lead).get(reverse("coding:item-preview", args=[p.study.pk, code]))
    assert b"removed coder" in preview.content
    members = login(p.lead).get(reverse("coding:study-members", args=[p.study.pk]))
    assert b"Former members" in members.content and b"left the lab" in members.content
    # The removed coder has lost access.
    client = login(coder_c)
    assert client.get(reverse("coding:queue", args=[p.study.pk])).status_code == 404


def _stay(p, coder_d):
    return [p.coder_a, p.coder_b, coder_d]


def _membership(p, user):
    return Membership.objects.select_related("study", "user").get(study=p.study, user=user)


def test_replace_hands_open_items_to_the_replacement(three_coders):
    p, coder_c, coder_d = three_coders
    _work(p, coder_c, submit=2, draft=0)
    open_items = set(_mine(p.study, coder_c, "open").values_list("item_id", flat=True))
    d_had = set(_mine(p.study, coder_d).values_list("item_id", flat=True))
    removal = member_remove(membership=_membership(p, coder_c), by=p.lead, replacement=coder_d)
    d_now = set(_mine(p.study, coder_d).values_list("item_id", flat=True))
    assert d_now - d_had == open_items - d_had  # every item coder_d did not hold already
    for item_id in open_items & d_had:  # ...the rest went to someone else
        assert Assignment.objects.filter(item_id=item_id).count() == 2
    assert removal.record.replaced_by == coder_d
    assert Event.objects.get(verb="member_replace").payload["replaced_by"] == "coder_d"
    # Appended after coder_d's own queue, not interleaved.
    positions = dict(_mine(p.study, coder_d).values_list("item_id", "position"))
    assert min(positions[i] for i in d_now - d_had) > max(positions[i] for i in d_had)


def test_a_submit_racing_with_the_removal_is_refused_cleanly(three_coders):
    """The coder's request read its assignment just before the lead removed them."""
    p, coder_c, _ = three_coders
    stale = _mine(p.study, coder_c).order_by("position").first()
    member_remove(membership=_membership(p, coder_c), by=p.lead)
    with pytest.raises(ServiceError, match="no longer assigned"):
        score_submit(assignment=stale, values=full_values(p.study), expected_version=0, by=coder_c)
    assert not Score.objects.filter(assignment__coder=coder_c).exists()


def test_refused_when_an_item_would_have_no_coder(open_study, login):
    p = open_study  # k = 2 with two coders: coder_b already holds every item
    url = reverse("coding:member-remove", args=[p.study.pk, _membership(p, p.coder_a).pk])
    response = login(p.lead).post(url, {"replacement": "", "reason": ""})
    assert response.status_code == 400 and b"Invite another coder first" in response.content
    assert Membership.objects.filter(study=p.study, user=p.coder_a).exists()
    assert not MemberRemoval.objects.exists()


def test_rules_and_access(open_study, login):
    p = open_study
    with pytest.raises(ServiceError, match="yourself"):
        member_remove(membership=_membership(p, p.lead), by=p.lead)
    with pytest.raises(ServiceError, match="another coder"):
        member_remove(membership=_membership(p, p.coder_a), by=p.lead, replacement=p.outsider)
    removal = member_remove(membership=_membership(p, p.adjudicator), by=p.lead)
    assert removal.record.reassigned == 0
    url = reverse("coding:member-remove", args=[p.study.pk, _membership(p, p.coder_a).pk])
    for user in (p.coder_b, p.outsider, p.other_lead):
        assert login(user).get(url).status_code == 404
        assert login(user).post(url, {}).status_code == 404
    page = login(p.lead).get(url)
    assert page.status_code == 200 and b"Submitted" in page.content


def test_members_page_shows_status_last_active_and_progress(three_coders, login):
    p, coder_c, _ = three_coders
    _work(p, coder_c, submit=2, draft=1)
    body = login(p.lead).get(reverse("coding:study-members", args=[p.study.pk])).content.decode()
    row = body[body.index('data-member="coder_c"') :]
    row = row[: row.index("</tr>")]
    total = _mine(p.study, coder_c).count()
    assert f"2 / {total}" in row and "1 draft saved" in row and "just now" in row
    never = body[body.index('data-member="coder_d"') :]
    assert "Not signed in yet" in never[: never.index("</tr>")]


def test_members_page_queries_do_not_grow_with_members(
    three_coders, login, django_assert_max_num_queries
):
    p, *_ = three_coders
    client = login(p.lead)
    url = reverse("coding:study-members", args=[p.study.pk])
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for i in range(6):
        MembershipFactory(study=p.study, user=UserFactory(username=f"more{i}"))
    with django_assert_max_num_queries(20) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_password_change(personas, client):
    client.force_login(personas.coder_a)
    url = reverse("password-change")
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"old_password": "nope", "new_password1": "x", "new_password2": "x"})
    assert wrong.status_code == 200 and b"incorrect" in wrong.content
    new = "lantern-harbour-57-moss"
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    personas.coder_a.refresh_from_db()
    assert personas.coder_a.check_password(new)
    assert client.get(reverse("home")).status_code == 200  # still signed in


def test_password_change_is_throttled(personas, client, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    client.force_login(personas.coder_a)
    url = reverse("password-change")
    for _ in range(2):
        client.post(url, {"old_password": "nope", "new_password1": "a", "new_password2": "a"})
    response = client.post(
        url,
        {"old_password": PASSWORD, "new_password1": "lantern-57", "new_password2": "lantern-57"},
    )
    assert b"Too many failed" in response.content
    personas.coder_a.refresh_from_db()
    assert personas.coder_a.check_password(PASSWORD)
    anonymous = client.__class__().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
