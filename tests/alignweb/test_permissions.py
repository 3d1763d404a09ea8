"""The permission getters: members get objects, everyone else a 404."""

import pytest
from django.http import Http404

from alignweb.permissions import access_assignment, access_item, access_study
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


def test_access_item_for_reconcilers(personas):
    item = ItemFactory(study=personas.study)
    assert access_item(personas.adjudicator, item.public_code) == item
    assert access_item(personas.lead, item.public_code) == item
    for user in (personas.coder_a, personas.outsider, personas.other_lead):
        with pytest.raises(Http404):
            access_item(user, item.public_code)
