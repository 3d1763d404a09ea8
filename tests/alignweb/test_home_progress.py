"""Study cards on the home page show progress, per role, without leaking others' work."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from coding.models import Assignment, Membership
from coding.services import items_import, score_submit, study_open
from tests.coding.conftest import full_values, make_records
from tests.factories import MembershipFactory, StudyFactory


def _home(client, user) -> str:
    client.force_login(user)
    body = client.get(reverse("home")).content.decode()
    return re.sub(r'name="csrf(middlewaretoken|-token)" (value|content)="[^"]+"', "", body)


@pytest.fixture
def open_study(personas):
    items_import(study=personas.study, records=make_records(12), by=personas.lead)
    study_open(study=personas.study, by=personas.lead)
    personas.study.refresh_from_db()
    return personas


def _submit(study, coder, n: int) -> None:
    """The coder submits the first ``n`` items by external id (the same items for everyone)."""
    for a in Assignment.objects.filter(item__study=study, coder=coder).order_by(
        "item__external_id"
    )[:n]:
        score_submit(assignment=a, values=full_values(study), expected_version=a.version, by=coder)


def test_cards_show_progress_for_each_role(open_study, client):
    p = open_study
    _submit(p.study, p.coder_a, 3)
    coder_page = _home(client, p.coder_a)
    assert "3 of 12 of your items coded" in coder_page and "25%" in coder_page
    _submit(p.study, p.coder_b, 2)  # two items are now fully coded
    assert _home(client, p.coder_a) == coder_page  # another coder's work changes nothing
    lead_page = _home(client, p.lead)
    assert "2 of 12 items fully coded" in lead_page
    assert "5 of 24 codings submitted" in lead_page
    assert "16 of 96 cells reconciled" in lead_page  # identical scores: auto-agreed
    adjudicator_page = _home(client, p.adjudicator)
    assert "2 of 12 items fully coded" in adjudicator_page
    assert "codings submitted" not in adjudicator_page


def test_home_queries_do_not_grow_with_studies(open_study, client, django_assert_max_num_queries):
    p = open_study
    for i in range(5):
        study = StudyFactory(name=f"Extra {i}")
        MembershipFactory(study=study, user=p.lead, role=Membership.Role.LEAD)
        MembershipFactory(study=study, user=p.coder_a, role=Membership.Role.CODER)
    for user in (p.lead, p.coder_a):
        client.force_login(user)
        with django_assert_max_num_queries(12):
            assert client.get(reverse("home")).status_code == 200
