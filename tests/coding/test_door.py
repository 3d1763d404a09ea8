"""The one door to condition data (coding.services.door) and the condition key through it.

Personas: two coders, adjudicator and lead (who must stay blind), a generation operator,
staff outside the study, an outsider. Until unblinding the door refuses every blind
member and lets the operator and staff read with a reason, recording each read; the
study overview lists those key views.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from coding.models import Event, Study
from coding.services import (
    ReasonRequired,
    Sealed,
    ServiceError,
    condition_access,
    condition_data_open,
)
from tests.coding.conftest import MODELS
from tests.factories import add_operator, make_admin

V1 = "/api/v1"


@pytest.fixture
def door(open_study):
    p = open_study
    p.operator = add_operator(p)
    p.admin = make_admin()
    return p


def key_views(study) -> list[Event]:
    return list(Event.objects.filter(study=study, verb="key_view").order_by("pk"))


@pytest.mark.parametrize("status", ["draft", "open", "locked"])
def test_blind_members_and_outsiders_are_refused_before_unblinding(door, status):
    p = door
    Study.objects.filter(pk=p.study.pk).update(status=status)
    p.study.refresh_from_db()
    for user in (p.lead, p.adjudicator, p.coder_a, p.coder_b, p.outsider, p.other_lead, None):
        decision = condition_access(study=p.study, user=user)
        assert not decision.allowed, user
        with pytest.raises(Sealed):
            condition_data_open(study=p.study, by=user, what="condition key", reason="curious")
    for user, role in ((p.operator, "operator"), (p.admin, "staff")):
        decision = condition_access(study=p.study, user=user)
        assert decision.allowed and decision.needs_reason and decision.role == role
        with pytest.raises(ReasonRequired):
            condition_data_open(study=p.study, by=user, what="condition key", reason="  ")
    assert key_views(p.study) == []


def test_operator_and_staff_reads_are_recorded_with_who_what_why(door):
    p = door
    event = condition_data_open(
        study=p.study, by=p.operator, what="run 3 transcripts", reason="re-run failed cells"
    )
    assert event.actor == p.operator and event.verb == "key_view"
    assert event.payload == {
        "reason": "re-run failed cells",
        "what": "run 3 transcripts",
        "role": "operator",
        "blinded": True,
    }
    condition_data_open(study=p.study, by=p.admin, what="admin: transcript 9", reason="support")
    assert [e.payload["role"] for e in key_views(p.study)] == ["operator", "staff"]
    with pytest.raises(ServiceError, match="under 500"):
        condition_data_open(study=p.study, by=p.operator, what="x", reason="a\x00b")
    with pytest.raises(ServiceError, match="under 500"):
        condition_data_open(study=p.study, by=p.operator, what="x", reason="r" * 501)


def test_a_staff_member_who_is_a_member_stays_blind(door):
    p = door
    type(p.lead).objects.filter(pk=p.lead.pk).update(is_staff=True, is_superuser=True)
    p.lead.refresh_from_db()
    with pytest.raises(Sealed):
        condition_data_open(study=p.study, by=p.lead, what="condition key", reason="I am staff")


def test_after_unblinding_leads_and_the_system_read_coders_never(door):
    p = door
    Study.objects.filter(pk=p.study.pk).update(status=Study.Status.UNBLINDED)
    p.study.refresh_from_db()
    for user in (p.lead, p.operator, p.admin, None):
        assert condition_access(study=p.study, user=user).allowed
        assert not condition_access(study=p.study, user=user).needs_reason
    for user in (p.coder_a, p.coder_b, p.adjudicator, p.outsider):
        assert not condition_access(study=p.study, user=user).allowed
    event = condition_data_open(study=p.study, by=None, what="condition per item")
    assert event.actor is None and event.payload["role"] == "system"


def test_key_page_asks_the_operator_why_and_records_each_view(door, client):
    p = door
    url = reverse("coding:condition-key", args=[p.study.pk])
    client.force_login(p.operator)
    asked = client.get(url)
    assert asked.status_code == 403 and 'id="door-reason"' in asked.content.decode()
    assert not any(m in asked.content.decode() for m in MODELS)
    opened = client.get(url, {"reason": "a coder reported a leaked name"})
    assert opened.status_code == 200
    assert any(m in opened.content.decode() for m in MODELS)
    again = client.get(url)  # the stated reason covers this session's next pages
    assert again.status_code == 200
    reasons = [e.payload["reason"] for e in key_views(p.study)]
    assert reasons == ["a coder reported a leaked name"] * 2
    item = p.study.items.first().public_code
    data = client.get(reverse("coding:condition-key-item", args=[p.study.pk, item])).json()
    assert data["model"] in MODELS
    bad = client.get(url, {"reason": "x" * 600})
    assert bad.status_code == 400 and "under 500" in bad.content.decode()


def test_key_page_refuses_blind_members_and_hides_from_others(door, client):
    p = door
    url = reverse("coding:condition-key", args=[p.study.pk])
    client.force_login(p.lead)
    sealed = client.get(url, {"reason": "just looking"})
    assert sealed.status_code == 403 and 'id="door-sealed"' in sealed.content.decode()
    for user in (p.coder_a, p.coder_b, p.adjudicator, p.outsider, p.admin):
        client.force_login(user)
        assert client.get(url, {"reason": "x"}).status_code == 404, user
    assert key_views(p.study) == []


def test_key_api_through_the_door_for_each_persona(door):
    p = door
    api = APIClient()
    url = f"{V1}/studies/{p.study.pk}/key/"
    expected = {
        p.coder_a: 404,
        p.coder_b: 404,
        p.adjudicator: 404,
        p.outsider: 404,
        p.admin: 404,  # staff read conditions in the admin, where the door records them too
        p.lead: 403,
    }
    for user, status in expected.items():
        api.force_authenticate(user)
        assert api.get(url, {"reason": "x"}).status_code == status, user
    api.force_authenticate(p.operator)
    missing = api.get(url)
    assert missing.status_code == 400 and "reason" in missing.json()
    page = api.get(url, {"reason": "checking the balance of conditions"})
    assert page.status_code == 200 and page.json()["results"][0]["model"] in MODELS
    item = p.study.items.first().public_code
    one = api.get(f"{V1}/studies/{p.study.pk}/items/{item}/key/", HTTP_X_KEY_REASON="audit")
    assert one.status_code == 200
    assert [e.payload["reason"] for e in key_views(p.study)] == [
        "checking the balance of conditions",
        "audit",
    ]


def test_overview_shows_key_views_and_the_operator_page(door, client):
    p = door
    condition_data_open(
        study=p.study, by=p.operator, what="generation run 4: transcripts", reason="why not"
    )
    client.force_login(p.lead)
    html = client.get(reverse("coding:study-detail", args=[p.study.pk])).content.decode()
    assert 'id="key-views"' in html and "1 recorded" in html
    assert "operator" in html and "generation run 4: transcripts" in html and "why not" in html
    operator_page = reverse("coding:study-operator", args=[p.study.pk])
    for user in (p.lead, p.coder_a, p.adjudicator, p.outsider):
        client.force_login(user)
        assert client.get(operator_page).status_code == 404
    client.force_login(p.operator)
    page = client.get(operator_page).content.decode()
    assert 'id="open-key"' in page and "why not" in page
    home = client.get(reverse("home")).content.decode()
    assert operator_page in home and "Generation operator" in home
    # The operator never codes or reconciles.
    for name in ("coding:queue", "coding:reconcile-queue", "coding:study-detail"):
        assert client.get(reverse(name, args=[p.study.pk])).status_code == 404
