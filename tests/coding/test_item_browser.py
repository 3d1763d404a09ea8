"""The lead's item browser: states, filters, keyset pages, query counts, preview, pace."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from coding.models import Assignment, Event, Item, Reconciliation
from coding.page_fragments import item_html
from coding.selectors.items import (
    ItemFilters,
    item_page,
    normalise_code_query,
)
from coding.services import (
    items_import,
    reconciliation_decide,
    score_autosave,
    score_submit,
    study_lock,
    study_unblind,
)
from tests.coding.conftest import full_values, make_records


def _assignment(study, coder, item):
    return Assignment.objects.select_related("item__study__rubric").get(item=item, coder=coder)


def _submit(study, coder, item, overrides=None):
    values = full_values(study, 1)
    for code, value in (overrides or {}).items():
        values[code]["value"] = value
    a = _assignment(study, coder, item)
    score_submit(assignment=a, values=values, expected_version=a.version, by=coder)


@pytest.fixture
def states(open_study):
    """The open study's first items put in every state a coded item can be in."""
    p = open_study
    study = p.study
    items = list(Item.objects.filter(study=study).order_by("public_code"))
    a = _assignment(study, p.coder_a, items[1])
    score_autosave(
        assignment=a, values={"D1": {"value": 1}}, expected_version=a.version, by=p.coder_a
    )
    _submit(study, p.coder_a, items[2])
    for i in (3, 4, 5, 6):
        _submit(study, p.coder_a, items[i])
        _submit(study, p.coder_b, items[i], {"D1": 2} if i in (4, 5) else None)
    Reconciliation.objects.filter(item=items[6]).delete()  # auto-agree not run yet: "coded"
    d1 = study.rubric.dimensions.get(code="D1")
    reconciliation_decide(
        item=items[5], dimension=d1, value=2, method="discussion", note="ok", by=p.lead
    )
    expected = {
        "assigned": {items[0].public_code, *(i.public_code for i in items[7:])},
        "in_progress": {items[1].public_code, items[2].public_code},
        "reconciled": {items[3].public_code, items[5].public_code},
        "disagreement": {items[4].public_code},
        "coded": {items[6].public_code},
    }
    return p, items, expected


def test_every_state_filter_returns_exactly_its_items(states):
    p, items, expected = states
    for state, codes in expected.items():
        page = item_page(study=p.study, filters=ItemFilters(state=state))
        assert {i.public_code for i in page.items} == codes, state
    unfiltered = item_page(study=p.study, filters=ItemFilters())
    assert [i.public_code for i in unfiltered.items] == [i.public_code for i in items]


def test_unassigned_items_of_a_draft_study(personas):
    items_import(study=personas.study, records=make_records(3), by=personas.lead)
    page = item_page(study=personas.study, filters=ItemFilters(state="unassigned"))
    assert len(page.items) == 3 and {i.state for i in page.items} == {"unassigned"}


def test_coder_and_code_filters(states):
    p, items, _ = states
    code = items[4].public_code
    page = item_page(study=p.study, filters=ItemFilters(code=code[:3]))
    assert code in {i.public_code for i in page.items}
    assert all(i.public_code.startswith(code[:3]) for i in page.items)
    mine = item_page(study=p.study, filters=ItemFilters(coder_id=p.coder_a.pk))
    assert len(mine.items) == 12  # k = 2 with two coders: every item is theirs
    nobody = item_page(study=p.study, filters=ItemFilters(coder_id=p.lead.pk))
    assert nobody.items == []


def test_code_queries_are_normalised():
    assert normalise_code_query(" k7q2mx ") == "K7Q-2MX"
    assert normalise_code_query("k7q-") == "K7Q"
    assert normalise_code_query("' OR 1=1 --") is None
    assert normalise_code_query("K7Q-2MX0") is None  # too long, and 0 is not in the alphabet


def test_keyset_pages_cover_every_item_once_both_ways(personas):
    items_import(study=personas.study, records=make_records(23), by=personas.lead)
    seen, after, pages = [], "", []
    while True:
        page = item_page(study=personas.study, filters=ItemFilters(), after=after, size=5)
        pages.append(page)
        seen += [i.public_code for i in page.items]
        if not page.after:
            break
        after = page.after
    codes = sorted(Item.objects.filter(study=personas.study).values_list("public_code", flat=True))
    assert seen == codes and len(pages) == 5
    back = item_page(study=personas.study, filters=ItemFilters(), before=pages[-1].before, size=5)
    assert [i.public_code for i in back.items] == [i.public_code for i in pages[-2].items]
    assert pages[0].before is None and back.after == pages[-2].items[-1].public_code


def _queries_for(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_list_page_queries_do_not_grow_with_the_study(
    open_study, login, django_assert_max_num_queries
):
    p = open_study
    client = login(p.lead)
    url = reverse("coding:item-list", args=[p.study.pk]) + "?state=assigned"
    small = _queries_for(client, url, django_assert_max_num_queries, 12)
    items_import(study=p.study, records=make_records(60, prefix="more"), by=p.lead)
    large = _queries_for(client, url, django_assert_max_num_queries, 12)
    assert large == small  # one query for the page, whatever the number of items
    body = client.get(url).content.decode()
    assert body.count('data-code="') == 50 and "after=" in body


def test_list_view_filters_and_pages(states, login):
    p, items, expected = states
    client = login(p.lead)
    url = reverse("coding:item-list", args=[p.study.pk])
    body = client.get(url, {"state": "disagreement"}).content.decode()
    assert items[4].public_code in body and items[0].public_code not in body
    assert reverse("coding:reconcile-item", args=[p.study.pk, items[4].public_code]) in body
    # A whole code opens the item; hostile values are ignored, never reflected.
    response = client.get(url, {"q": items[4].public_code.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "coding:item-preview", args=[p.study.pk, items[4].public_code]
    )
    response = client.get(url, {"q": "__class__", "state": "__class__", "coder": "__class__"})
    assert response.status_code == 200 and b"__class__" not in response.content
    response = client.get(url, {"after": "' OR 1=1", "before": "x" * 500})
    assert response.status_code == 200


def test_preview_is_the_coders_view_and_the_condition_stays_sealed(states, login):
    p, items, _ = states
    item = items[4]
    lead = login(p.lead)
    preview = lead.get(reverse("coding:item-preview", args=[p.study.pk, item.public_code]))
    assert preview.status_code == 200
    body = preview.content.decode()
    assert str(item_html(item)) in body  # the same rendered, scrubbed partial
    assert "Sealed" in body and "zephyr-large" not in body and "orion-mini" not in body
    assert "OpenAI" not in body and "SYSTEM PROMPT" not in body
    assert not Event.objects.filter(study=p.study, verb="key_view").exists()
    coder = login(p.coder_a)
    coder_page = coder.get(reverse("coding:code-item", args=[p.study.pk, item.public_code]))
    assert str(item_html(item)) in coder_page.content.decode()


def test_condition_shown_after_unblinding_and_logged(states, login):
    p, items, _ = states
    study_lock(study=p.study, by=p.lead, override=True, reason="test")
    study_unblind(study=p.study, by=p.lead, reason="test")
    item = items[0]
    client = login(p.lead)
    body = client.get(reverse("coding:item-preview", args=[p.study.pk, item.public_code]))
    key = item.condition_key
    assert key.model in body.content.decode() and key.scaffold in body.content.decode()
    event = Event.objects.get(study=p.study, verb="key_view", target=item.public_code)
    assert event.actor == p.lead and event.payload["reason"] == "item browser"


def test_only_the_lead_sees_the_browser(states, client):
    p, items, _ = states
    urls = [
        reverse("coding:item-list", args=[p.study.pk]),
        reverse("coding:item-preview", args=[p.study.pk, items[0].public_code]),
        reverse("coding:coder-pace", args=[p.study.pk]),
    ]
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
    client.force_login(p.other_lead)
    other = reverse("coding:item-preview", args=[p.other_study.pk, items[0].public_code])
    assert client.get(other).status_code == 404  # an item of another study, by its code


def test_pace_table(open_study, login):
    p = open_study
    study = p.study
    items = list(Item.objects.filter(study=study).order_by("public_code"))
    for i in range(4):
        _submit(study, p.coder_a, items[i])
    start = timezone.now() - dt.timedelta(hours=2)
    # Submissions 2 and 4 minutes apart, then a 2-hour break: median 3 min, 20 items/hour.
    times = [start, start + dt.timedelta(minutes=2), start + dt.timedelta(minutes=6)]
    times.append(start + dt.timedelta(hours=2))
    for item, at in zip(items[:4], times, strict=True):
        Assignment.objects.filter(item=item, coder=p.coder_a).update(submitted_at=at)
    body = login(p.lead).get(reverse("coding:coder-pace", args=[study.pk])).content.decode()
    row = body[body.index("coder_a") : body.index("coder_b")]
    assert "20.0" in row and "3 min 00 s" in row
    assert "—" in body[body.index("coder_b") :]  # nothing submitted: no pace
