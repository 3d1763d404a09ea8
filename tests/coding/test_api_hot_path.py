"""The coder's hot path through the REST API (next, item, submit) in a fixed, small
number of queries: the load benchmark's API mode does exactly these three calls per item,
so a query added here costs every coded item (issue 16, item 4)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from coding.models import Assignment, Score
from tests.coding.conftest import full_values

V1 = "/api/v1"
# Token lookup (1) is included: it is what every API request pays.
NEXT_QUERIES = 3
ITEM_QUERIES = 2
SUBMIT_QUERIES = 99


@pytest.fixture
def coder_api(open_study) -> tuple[APIClient, object]:
    p = open_study
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=p.coder_a).key}")
    return client, p


def _queries(call) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return response, [q["sql"] for q in ctx.captured_queries]


def test_next_item_submit_query_counts(coder_api):
    client, p = coder_api
    base = f"{V1}/studies/{p.study.pk}/my-assignments/"
    response, queries = _queries(lambda: client.get(base + "next/"))
    assert response.status_code == 200
    print("next", len(queries), *queries, sep="\n  ")
    code = response.json()["item"]
    response, queries = _queries(lambda: client.get(f"{base}{code}/"))
    assert response.status_code == 200
    print("item", len(queries), *queries, sep="\n  ")
    body = {"version": response.json()["version"], "scores": full_values(p.study, value=2)}
    response, queries = _queries(lambda: client.post(f"{base}{code}/submit/", body, format="json"))
    assert response.status_code == 200, response.content
    print("submit", len(queries), *queries, sep="\n  ")
    assert False
