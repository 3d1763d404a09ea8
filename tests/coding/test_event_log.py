"""The Event log page: readable details, filters, keyset pages past 500, the CSV link."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from coding.event_display import describe, label
from coding.models import Assignment, Event
from coding.services import event_record, score_submit
from tests.coding.conftest import full_values

CODE_IN_ROW = re.compile(r'<td class="mono small">([^<]*)</td>')
SUBMITTED = '<span class="badge">Item submitted</span>'
IMPORTED = '<span class="badge">Items imported</span>'


def _url(p, **params):
    base = reverse("coding:study-events", args=[p.study.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_details_are_sentences_not_python_dicts(open_study, login):
    p = open_study
    a = Assignment.objects.select_related("item__study__rubric").filter(coder=p.coder_a).first()
    score_submit(
        assignment=a, values=full_values(p.study), expected_version=a.version, by=p.coder_a
    )
    event_record(
        verb="something_new", actor=p.lead, study=p.study, payload={"nested": {"a": [1, 2]}}
    )
    body = login(p.lead).get(_url(p)).content.decode()
    assert "{&#x27;" not in body and "{'" not in body and "[1, 2]" not in body
    assert "Items imported" in body and "12 items" in body
    assert "Item submitted" in body and "First-pass scores locked" in body
    assert "Something new" in body and "nested: a 1, 2" in body
    assert reverse("coding:export-csv", args=[p.study.pk, "events"]) in body


def test_every_label_has_a_sentence_for_its_real_payload(open_study):
    """Each service's payload shape renders without falling back to key: value pairs."""
    for event in Event.objects.filter(study=open_study.study):
        row = describe(event)
        assert (
            row.label == label(event.verb) == Event.Verb(event.verb).label
            and row.summary
            and ":" not in row.summary[:12]
        )


def test_reconcile_and_removal_details():
    event = Event(
        verb="reconcile",
        payload={
            "value": 2,
            "method": "adjudicated",
            "note": "Asked twice",
            "replaces": {"value": 1, "method": "agreed", "note": "", "decided_by__username": None},
        },
    )
    row = describe(event)
    assert row.summary == "Final value 2 (adjudicated); replaces 1 (agreed, auto-agree)"
    assert row.notes == [("Note", "Asked twice")]
    removal = describe(
        Event(
            verb="member_replace",
            payload={"role": "coder", "reassigned": 4, "replaced_by": "dee", "submitted_kept": 3},
        )
    )
    assert removal.summary == "Coder; 4 open items handed to dee; 3 submitted kept (marked)"
    odd = describe(Event(verb="import", payload=["not", "a", "dict"]))
    assert odd.summary  # an unexpected payload still reads


def test_filters_by_actor_action_item_and_date(open_study, login):
    p = open_study
    mine = Assignment.objects.select_related("item__study__rubric").filter(coder=p.coder_a)
    assignments = list(mine[:2])
    for a in assignments:
        score_submit(
            assignment=a, values=full_values(p.study), expected_version=a.version, by=p.coder_a
        )
    client = login(p.lead)
    body = client.get(_url(p, actor=p.coder_a.pk)).content.decode()
    assert body.count(SUBMITTED) == 2 and IMPORTED not in body
    body = client.get(_url(p, action="import")).content.decode()
    assert IMPORTED in body and SUBMITTED not in body
    code = assignments[0].item.public_code
    body = client.get(_url(p, item=code.lower())).content.decode()
    assert CODE_IN_ROW.findall(body) == [code]
    old = Event.objects.filter(study=p.study, verb="import")
    old.update(at=timezone.now() - dt.timedelta(days=10))
    day = (timezone.now() - dt.timedelta(days=10)).date().isoformat()
    body = client.get(_url(p, date_from=day, date_to=day)).content.decode()
    assert IMPORTED in body and SUBMITTED not in body
    body = client.get(_url(p, actor="system")).content.decode()
    assert SUBMITTED not in body
    hostile = client.get(_url(p, actor="__class__", action="__class__", date_from="x", older="-1"))
    assert hostile.status_code == 200 and b"__class__" not in hostile.content


def test_keyset_pages_reach_past_the_latest_500(open_study, login, django_assert_max_num_queries):
    p = open_study
    Event.objects.bulk_create(
        [Event(study=p.study, verb="export", target=f"file-{i}") for i in range(620)]
    )
    total = Event.objects.filter(study=p.study).count()
    client = login(p.lead)
    seen, url, pages = [], _url(p), 0
    while url:
        with django_assert_max_num_queries(12):  # fixed: 50 rows, no per-row query
            body = client.get(url).content.decode()
        pages += 1
        seen += CODE_IN_ROW.findall(body)
        older = re.search(r'href="\?(?:[^"]*&amp;)?older=(\d+)"', body)
        url = _url(p, older=older.group(1)) if older else ""
    assert len(seen) == total and pages == -(-total // 50)
    assert "file-0" in seen  # the oldest export, far past the latest 500
    # Newer goes back one page.
    last_first = Event.objects.filter(study=p.study).order_by("id")[49]
    body = client.get(_url(p, newer=last_first.pk)).content.decode()
    assert len(CODE_IN_ROW.findall(body)) == 50


def test_lead_only(open_study, client):
    p = open_study
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        client.force_login(user)
        assert client.get(_url(p)).status_code == 404
