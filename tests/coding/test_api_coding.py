"""REST API for coders: the queue, drafts and submission (optimistic locking, idempotent
replay, mass assignment), and blinding of every coder response."""

from __future__ import annotations

import json
import re

import pytest
from rest_framework.test import APIClient

from coding.models import Assignment, ConditionKey, Event, Score
from coding.services import score_autosave, score_submit
from tests.coding.conftest import (
    MODELS,
    SCAFFOLDS,
    V1,
    as_jsonl,
    as_user,
    first_code,
    full_values,
    make_records,
    scores_body,
    upload,
)
from tests.factories import MembershipFactory, UserFactory

# --- a coder's queue, drafts and submission ---------------------------------------------------


def test_my_assignments_in_position_order_and_next(open_study, api):
    p = open_study
    as_user(api, p.coder_a)
    url = f"{V1}/studies/{p.study.pk}/my-assignments/"
    body = api.get(url).json()
    expected = list(
        Assignment.objects.filter(item__study=p.study, coder=p.coder_a)
        .order_by("position")
        .values_list("item__public_code", flat=True)
    )
    assert [r["item"] for r in body["results"]] == expected
    assert set(body["results"][0]) == {"item", "kind", "status", "version"}
    reverse = api.get(url + "?ordering=-position").json()["results"]
    assert [r["item"] for r in reverse] == expected[::-1]
    assert api.get(url + "?ordering=coder__password").status_code == 400
    assert api.get(url + "?status=coder__username").status_code == 400
    nxt = api.get(url + "next/").json()
    assert nxt["item"] == expected[0]
    a = Assignment.objects.get(item__public_code=expected[0], coder=p.coder_a)
    score_submit(assignment=a, values=full_values(p.study), expected_version=0, by=p.coder_a)
    assert api.get(url + "next/").json()["item"] == expected[1]
    assert api.get(url + "?status=submitted").json()["count"] == 1


def test_next_is_204_when_all_submitted(open_study, api):
    p = open_study
    for a in Assignment.objects.filter(item__study=p.study, coder=p.coder_a):
        score_submit(assignment=a, values=full_values(p.study), expected_version=0, by=p.coder_a)
    response = as_user(api, p.coder_a).get(f"{V1}/studies/{p.study.pk}/my-assignments/next/")
    assert response.status_code == 204


def test_draft_save_then_conflicting_draft_is_409(open_study, api):
    p = open_study
    code = first_code(p, p.coder_a)
    url = f"{V1}/studies/{p.study.pk}/my-assignments/{code}/draft/"
    as_user(api, p.coder_a)
    first = api.patch(url, {"version": 0, "scores": {"D1": {"value": 2}}}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["version"] == 1
    assert first.json()["scores"]["D1"] == {"value": 2, "rationale": ""}
    # a second tab still holding version 0
    stale = api.post(url, {"version": 0, "scores": {"D1": {"value": 0}}}, format="json")
    assert stale.status_code == 409
    assert "another tab" in stale.json()["detail"]
    score = Score.objects.get(assignment__item__public_code=code, assignment__coder=p.coder_a)
    assert score.value == 2
    bad_level = api.post(url, {"version": 1, "scores": {"D1": {"value": 7}}}, format="json")
    assert bad_level.status_code == 400
    detail = api.get(f"{V1}/studies/{p.study.pk}/my-assignments/{code}/").json()
    assert detail["version"] == 1 and detail["scores"]["D1"]["value"] == 2


def test_submit_is_idempotent_on_replay_and_locks(open_study, api):
    p = open_study
    code = first_code(p, p.coder_a)
    url = f"{V1}/studies/{p.study.pk}/my-assignments/{code}/submit/"
    as_user(api, p.coder_a)
    body = scores_body(p.study, version=0, value=2)
    first = api.post(url, body, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "submitted"
    replay = api.post(url, body, format="json")
    assert replay.status_code == 200
    assert replay.content == first.content
    assert Event.objects.filter(verb="submit", target=code).count() == 1
    changed = api.post(url, scores_body(p.study, version=0, value=0), format="json")
    assert changed.status_code == 409
    draft = api.post(url.replace("submit", "draft"), body, format="json")
    assert draft.status_code == 409
    values = Score.objects.filter(assignment__item__public_code=code, assignment__coder=p.coder_a)
    assert set(values.values_list("value", flat=True)) == {2}


def test_submit_incomplete_is_400(open_study, api):
    p = open_study
    code = first_code(p, p.coder_a)
    response = as_user(api, p.coder_a).post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/submit/",
        {"version": 0, "scores": {"D1": {"value": 1}}},
        format="json",
    )
    assert response.status_code == 400 and "Score every dimension" in response.json()["detail"]


@pytest.mark.parametrize(
    "extra",
    [
        {"status": "submitted"},
        {"coder": "coder_b"},
        {"submitted_at": "2020-01-01T00:00:00Z"},
        {"item": "ABC-DEF"},
        {"position": 0},
        {"scores_sha256": "0" * 64},
        {"content_sha256": "0" * 64},
    ],
)
def test_mass_assignment_on_draft_and_submit_is_refused(open_study, api, extra):
    p = open_study
    code = first_code(p, p.coder_a)
    a = Assignment.objects.get(item__public_code=code, coder=p.coder_a)
    before = (a.coder_id, a.status, a.version, a.submitted_at, a.position, a.scores_sha256)
    as_user(api, p.coder_a)
    for action in ("draft", "submit"):
        body = {**scores_body(p.study, version=0), **extra}
        response = api.post(
            f"{V1}/studies/{p.study.pk}/my-assignments/{code}/{action}/", body, format="json"
        )
        assert response.status_code == 400, (action, response.content)
        assert set(response.json()) == set(extra)
    a.refresh_from_db()
    assert (a.coder_id, a.status, a.version, a.submitted_at, a.position, a.scores_sha256) == before
    assert not Score.objects.filter(assignment=a).exists()


def test_mass_assignment_inside_score_entries_is_refused(open_study, api):
    p = open_study
    code = first_code(p, p.coder_a)
    body = {"version": 0, "scores": {"D1": {"value": 1, "rubric_version": 99, "assignment": 1}}}
    response = as_user(api, p.coder_a).post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/draft/", body, format="json"
    )
    assert response.status_code == 400
    assert not Score.objects.filter(assignment__coder=p.coder_a).exists()


def test_version_is_only_an_expectation(open_study, api):
    """Sending a high version does not set it: the compare-and-set fails with 409."""
    p = open_study
    code = first_code(p, p.coder_a)
    response = as_user(api, p.coder_a).post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/draft/",
        {"version": 500, "scores": {}},
        format="json",
    )
    assert response.status_code == 409
    assert Assignment.objects.get(item__public_code=code, coder=p.coder_a).version == 0


def test_coders_see_only_their_own_scores_and_items(open_study, api):
    p = open_study
    code = first_code(p, p.coder_a)
    a = Assignment.objects.get(item__public_code=code, coder=p.coder_a)
    score_autosave(
        assignment=a,
        values={"D1": {"value": 2, "rationale": "coder A secret rationale"}},
        expected_version=0,
        by=p.coder_a,
    )
    as_user(api, p.coder_b)
    body = api.get(f"{V1}/studies/{p.study.pk}/my-assignments/{code}/")
    assert body.status_code == 200  # k = 2 with two coders: the item is theirs too
    assert body.json()["scores"] == {} and "coder A secret" not in body.content.decode()
    # a third coder's study: items not assigned to coder_b are a 404 for them
    coder_c = UserFactory(username="coder_c")
    MembershipFactory(study=p.study, user=coder_c, role="coder")
    as_user(api, p.lead)
    upload(api, p.study, "more.jsonl", as_jsonl(make_records(6, prefix="more")))
    not_b = Assignment.objects.filter(item__study=p.study, coder=coder_c).exclude(
        item__assignments__coder=p.coder_b
    )
    assert not_b.exists()
    as_user(api, p.coder_b)
    for url in ("", "draft/", "submit/"):
        full = f"{V1}/studies/{p.study.pk}/my-assignments/{not_b[0].item.public_code}/{url}"
        response = api.get(full) if not url else api.post(full, {"version": 0}, format="json")
        assert response.status_code == 404, url


# --- blinding --------------------------------------------------------------------------------


def _coder_responses(api: APIClient, p, coder) -> dict[str, bytes]:
    as_user(api, coder)
    sid = p.study.pk
    urls = [f"{V1}/studies/", f"{V1}/studies/{sid}/", f"{V1}/studies/{sid}/my-assignments/"]
    urls.append(f"{V1}/studies/{sid}/my-assignments/next/")
    for a in Assignment.objects.filter(item__study=p.study, coder=coder):
        urls.append(f"{V1}/studies/{sid}/my-assignments/{a.item.public_code}/")
    out = {}
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200, url
        out[url] = response.content
    return out


def _forbidden(study) -> set[str]:
    bad = {"OpenAI", "SYSTEM PROMPT", "chatcmpl-", "run-secret", "system", *MODELS}
    for key in ConditionKey.objects.filter(item__study=study):
        bad |= {key.model, key.prompt, *[str(v) for v in key.metadata.values()]}
        bad |= {key.item.external_id}
    return {b for b in bad if b}


def _keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


HARMLESS_NUMBERS = {"count", "version", "value", "order", "done", "total", "coders_per_item"}


def _numbers(obj, key: str = ""):
    """(key, value) for every number in a JSON document."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, int | float):
        yield key, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v, key)


def test_coder_responses_are_blinded(open_study, api):
    p = open_study
    a = Assignment.objects.filter(item__study=p.study, coder=p.coder_a).first()
    score_autosave(
        assignment=a, values={"D1": {"value": 1}}, expected_version=0, by=p.coder_a
    )  # a draft exists, so score rows are in the responses too
    responses = _coder_responses(api, p, p.coder_a)
    forbidden = _forbidden(p.study)
    for url, content in responses.items():
        text = content.decode()
        for secret in forbidden:
            assert secret not in text, (url, secret)
        for scaffold in SCAFFOLDS:
            assert not re.search(rf"\b{scaffold}\b", text), (url, scaffold)
        data = json.loads(text)
        keys = _keys(data)
        assert not keys & {
            "pk",
            "external_id",
            "position",
            "submitted_at",
            "created_at",
            "updated_at",
            "model",
            "scaffold",
            "prompt",
            "run_id",
            "coder",
        }, url
        if "/my-assignments/" in url:
            assert "id" not in keys, url  # no database id of items or assignments
        for key, number in _numbers(data):  # every number has a known, harmless meaning
            assert key in HARMLESS_NUMBERS or (key == "id" and number == p.study.pk), (url, key)
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), (url, "timestamp")


def test_coder_a_responses_identical_after_coder_b_submits(open_study, api):
    p = open_study
    before = _coder_responses(api, p, p.coder_a)
    for a in Assignment.objects.filter(item__study=p.study, coder=p.coder_b):
        score_submit(assignment=a, values=full_values(p.study, 2), expected_version=0, by=p.coder_b)
    after = _coder_responses(api, p, p.coder_a)
    assert before.keys() == after.keys()
    for url in before:
        assert before[url] == after[url], url
