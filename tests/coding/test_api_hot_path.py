"""The coder's hot path through the REST API (next, item, submit) in a fixed, small
number of queries: the load benchmark's API mode makes exactly these three calls per
coded item, so a query added here is paid on every item (issue 16, item 4)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from coding.models import Assignment, Score
from tests.coding.conftest import full_values
from tests.factories import UserFactory

V1 = "/api/v1"
# Every count includes the token lookup that authenticates the request.
NEXT_QUERIES = 3  # + whether a qualification round gates the coder (issue 18)
ITEM_QUERIES = 3  # the assignment with its item (scores only once something was saved);
# + whether a qualification round gates the coder (issue 18)
# The assignment; compare-and-set; the scores (one upsert); the item row lock and its
# assignments' statuses (auto-agreement); the event; and the savepoint pair of the
# service's transaction (a transaction of its own outside tests).
# Issue 18 adds four: the qualification gate checked in the view and in the service, and
# the gold-role lookup after the write (measured 13 after merging main's tallies; folding
# the gate into the compare-and-set is the follow-up that would win most of these back).
SUBMIT_QUERIES = 13


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _cycle(client: APIClient, study) -> dict[str, tuple[int, object]]:
    """next -> item -> submit; (query count, response) of each."""
    base = f"{V1}/studies/{study.pk}/my-assignments/"
    out = {}

    def run(name, call):
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        out[name] = (len(ctx.captured_queries), response)
        return response

    code = run("next", lambda: client.get(base + "next/")).json()["item"]
    item = run("item", lambda: client.get(f"{base}{code}/")).json()
    body = {"version": item["version"], "scores": full_values(study, value=2, note="n")}
    run("submit", lambda: client.post(f"{base}{code}/submit/", body, format="json"))
    return out


def test_next_item_submit_query_counts(open_study):
    p = open_study
    client = _client(p.coder_a)
    _cycle(client, p.study)  # the first request of a process fills the rubric memo
    counts = _cycle(client, p.study)
    for name, (_n, response) in counts.items():
        assert response.status_code == 200, (name, response.content)
    assert counts["next"][0] == NEXT_QUERIES
    assert counts["item"][0] == ITEM_QUERIES
    assert counts["submit"][0] == SUBMIT_QUERIES


def test_submit_answer_shows_what_was_stored(open_study):
    """The submit answer is built from the request (not read back): it must equal the
    stored scores, here and on a replay."""
    p = open_study
    client = _client(p.coder_a)
    base = f"{V1}/studies/{p.study.pk}/my-assignments/"
    code = client.get(base + "next/").json()["item"]
    values = full_values(p.study, value=1, note="why")
    values["D2"] = {"value": "2"}  # no rationale; a numeric string
    body = {"version": 0, "scores": values}
    first = client.post(f"{base}{code}/submit/", body, format="json")
    assert first.status_code == 200, first.content
    assert first.json() == client.get(f"{base}{code}/").json()
    assert first.json()["scores"]["D2"] == {"value": 2, "rationale": ""}
    assert client.post(f"{base}{code}/submit/", body, format="json").content == first.content
    stored = Score.objects.filter(assignment__item__public_code=code, assignment__coder=p.coder_a)
    assert stored.count() == len(values)


def test_next_tells_all_done_from_not_a_member(open_study):
    p = open_study
    base = f"{V1}/studies/{p.study.pk}/my-assignments/next/"
    Assignment.objects.filter(coder=p.coder_a).update(status=Assignment.Status.SUBMITTED)
    assert _client(p.coder_a).get(base).status_code == 204
    assert _client(p.outsider).get(base).status_code == 404
    assert _client(p.lead).get(base).status_code == 404
    assert (
        _client(UserFactory()).get(f"{V1}/studies/999999/my-assignments/next/").status_code == 404
    )


@pytest.mark.parametrize("who", ["outsider", "lead", "adjudicator", "other_lead"])
def test_item_and_submit_of_someone_else_are_404(open_study, who):
    p = open_study
    code = Assignment.objects.filter(coder=p.coder_a).order_by("position")[0].item.public_code
    client = _client(getattr(p, who))
    base = f"{V1}/studies/{p.study.pk}/my-assignments/{code}/"
    assert client.get(base).status_code == 404
    body = {"version": 0, "scores": full_values(p.study)}
    assert client.post(base + "submit/", body, format="json").status_code == 404
    other = f"{V1}/studies/{p.other_study.pk}/my-assignments/{code}/"
    assert _client(p.coder_a).get(other).status_code == 404
