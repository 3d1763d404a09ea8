"""The permission getters: members get objects, everyone else a 404."""

import pytest
from django.http import Http404

from alignweb.permissions import (
    KEY_READERS,
    LEADS,
    access_assignment,
    access_study,
    access_study_item,
    generates_anywhere,
    leads_anywhere,
)
from coding.models import Membership
from tests.factories import AssignmentFactory, ItemFactory


def test_access_study_by_role(personas):
    study = personas.study
    assert access_study(personas.lead, study.pk, roles=[Membership.Role.LEAD]) == study
    assert access_study(personas.coder_a, study.pk) == study
    for user in (personas.outsider, personas.other_lead):
        with pytest.raises(Http404):
            access_study(user, study.pk)
    with pytest.raises(Http404):
        access_study(personas.coder_a, study.pk, roles=[Membership.Role.LEAD])
    with pytest.raises(Http404):
        access_study(personas.lead, "not-a-number")


def test_access_assignment_only_own(personas):
    item = ItemFactory(study=personas.study)
    mine = AssignmentFactory(item=item, coder=personas.coder_a)
    assert access_assignment(personas.coder_a, item.public_code) == mine
    for user in (personas.coder_b, personas.outsider, personas.lead):
        with pytest.raises(Http404):
            access_assignment(user, item.public_code)


def test_access_study_item_for_reconcilers(personas):
    item = ItemFactory(study=personas.study)
    study_id = personas.study.pk
    assert access_study_item(personas.adjudicator, study_id, item.public_code) == item
    assert access_study_item(personas.lead, str(study_id), item.public_code).study == item.study
    for user in (personas.coder_a, personas.outsider, personas.other_lead):
        with pytest.raises(Http404):
            access_study_item(user, study_id, item.public_code)
    with pytest.raises(Http404):  # an adjudicator is not a lead
        access_study_item(personas.adjudicator, study_id, item.public_code, roles=LEADS)
    with pytest.raises(Http404):  # an item of this study asked for under another study
        access_study_item(personas.other_lead, personas.other_study.pk, item.public_code)
    for bad_study, bad_code in (
        (study_id + 1, item.public_code),
        ("x", item.public_code),
        (study_id, "no\x00code"),
        (study_id, "A" * 17),
    ):
        with pytest.raises(Http404):
            access_study_item(personas.lead, bad_study, bad_code, roles=KEY_READERS)


def test_who_leads_or_generates_anywhere(personas, django_user_model):
    assert leads_anywhere(personas.lead) and generates_anywhere(personas.lead)
    for user in (personas.coder_a, personas.adjudicator, personas.outsider):
        assert not leads_anywhere(user) and not generates_anywhere(user)
    staff = django_user_model.objects.create_user("staff", password="x-long-enough", is_staff=True)
    assert leads_anywhere(staff) and generates_anywhere(staff)
