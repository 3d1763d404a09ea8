"""The lead pages issue the same number of queries whatever the size of the study
(issue 16 item 1): counters and keyset pages instead of aggregates over every row."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.tasks import agreement_snapshot
from tests.coding.conftest import code_everything, make_records
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "coding:study-detail",
    "audit:agreement",
    "coding:reconcile-queue",
    "coding:study-events",
    "coding:item-list",
]
MAX_QUERIES = 30


def _coded_study(p, n_items: int):
    """A study of ``n_items`` with the personas as its members, coded by both coders."""
    from coding.models import Membership
    from coding.services import items_import, study_open

    if n_items > 3:  # a second study, same people
        study = StudyFactory(name=f"Study of {n_items}", rubric=p.study.rubric)
        for user, role in ((p.coder_a, "coder"), (p.coder_b, "coder"), (p.lead, "lead")):
            Membership.objects.create(study=study, user=user, role=role)
        p = dataclasses.replace(p, study=study)
    items_import(study=p.study, records=make_records(n_items), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    code_everything(p)
    agreement_snapshot(p.study.pk)  # the worker
    return p


# Pages that once aggregated every assignment or score of the study; they read counters now.
COUNTED = {"coding:study-detail", "audit:agreement", "coding:reconcile-queue"}


def _queries(client, url: str) -> list[str]:
    client.get(url)  # warm caches (rubric, session)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("name", PAGES)
def test_query_count_does_not_grow_with_the_study(
    personas, client, name, django_assert_max_num_queries
):
    small, large = _coded_study(personas, 3), _coded_study(personas, 24)
    counts = []
    for p in (small, large):
        client.force_login(p.lead)
        sql = _queries(client, reverse(name, args=[p.study.pk]))
        counts.append(len(sql))
        if name in COUNTED:
            scans = [
                q for q in sql if 'FROM "coding_score"' in q or 'FROM "coding_assignment"' in q
            ]
            assert not scans, scans
    assert counts[0] == counts[1], counts
    client.force_login(large.lead)
    with django_assert_max_num_queries(MAX_QUERIES):
        client.get(reverse(name, args=[large.study.pk]))
