"""REST API: studies, import, rubrics, items, a coder's queue, drafts and submission,
blinding, optimistic locking, idempotent replay, mass assignment and ordering whitelists."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.tasks import agreement_snapshot
from coding.models import Assignment, ConditionKey, Event, Item, Membership, Rubric, Score, Study
from coding.services import score_autosave, score_submit
from tests.coding.conftest import MODELS, SCAFFOLDS, as_jsonl, full_values, make_records
from tests.factories import MembershipFactory, StudyFactory, UserFactory

V1 = "/api/v1"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def as_user(api: APIClient, user) -> APIClient:
    api.force_authenticate(user=None)
    api.force_login(user)
    return api


def first_code(p, user) -> str:
    a = Assignment.objects.filter(item__study=p.study, coder=user).order_by("position").first()
    return a.item.public_code


def _scores_body(study, version: int, value: int = 1, note: str = "because") -> dict:
    return {"version": version, "scores": full_values(study, value=value, note=note)}


# --- studies -----------------------------------------------------------------------------


def test_study_list_only_member_studies_with_role(open_study, api):
    p = open_study
    for user, role in [(p.coder_a, "coder"), (p.adjudicator, "adjudicator"), (p.lead, "lead")]:
        body = as_user(api, user).get(f"{V1}/studies/").json()
        assert body["count"] == 1
        assert body["results"][0]["id"] == p.study.pk
        assert body["results"][0]["role"] == role
    assert as_user(api, p.outsider).get(f"{V1}/studies/").json()["count"] == 0
    other = as_user(api, p.other_lead).get(f"{V1}/studies/").json()
    assert [r["id"] for r in other["results"]] == [p.other_study.pk]


def test_study_list_ordering_and_filters_are_whitelisted(personas, api):
    p = personas
    for name in ("Beta", "Alpha", "Gamma"):
        MembershipFactory(study=StudyFactory(name=name), user=p.coder_a, role="coder")
    as_user(api, p.coder_a)
    names = [r["name"] for r in api.get(f"{V1}/studies/?ordering=name").json()["results"]]
    assert names == sorted(names)
    names = [r["name"] for r in api.get(f"{V1}/studies/?ordering=-name").json()["results"]]
    assert names == sorted(names, reverse=True)
    for bad in (
        "coder__password",
        "study__created_by__password",
        "memberships__user__password",
        "-user__password",
        "pk",
        "?",
    ):
        response = api.get(f"{V1}/studies/", {"ordering": bad})
        assert response.status_code == 400, bad
        assert "ordering" in response.json()
    assert api.get(f"{V1}/studies/?role=lead").json()["count"] == 0
    assert api.get(f"{V1}/studies/?role=coder").json()["count"] == 4
    assert api.get(f"{V1}/studies/?role=user__password").status_code == 400
    assert api.get(f"{V1}/studies/?status=draft").json()["count"] == 4
    assert api.get(f"{V1}/studies/?status__in=x").json()["count"] == 4  # unknown param: ignored


def test_study_create_by_leads_and_staff_only(personas, api):
    p = personas
    rubric = p.study.rubric
    body = {"name": "API study", "rubric": rubric.pk, "coders_per_item": 3, "seed": 7}
    for user in (p.coder_a, p.adjudicator, p.outsider):
        assert as_user(api, user).post(f"{V1}/studies/", body, format="json").status_code == 404
    response = as_user(api, p.lead).post(f"{V1}/studies/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["role"] == "lead" and data["coders_per_item"] == 3
    assert data["lead"]["seed"] == 7
    study = Study.objects.get(pk=data["id"])
    assert study.memberships.get().user == p.lead
    staff = UserFactory(username="staffer", is_staff=True)
    assert as_user(api, staff).post(f"{V1}/studies/", body, format="json").status_code == 201


def test_study_create_rejects_mass_assignment(personas, api):
    p = personas
    body = {
        "name": "Sneaky",
        "rubric": p.study.rubric.pk,
        "status": "unblinded",
        "created_by": p.coder_a.pk,
    }
    response = as_user(api, p.lead).post(f"{V1}/studies/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"status", "created_by"}
    assert not Study.objects.filter(name="Sneaky").exists()
    bad_k = {"name": "k1", "rubric": p.study.rubric.pk, "coders_per_item": 1}
    assert api.post(f"{V1}/studies/", bad_k, format="json").status_code == 400


def test_study_detail_fields_depend_on_role(open_study, api):
    p = open_study
    url = f"{V1}/studies/{p.study.pk}/"
    coder = as_user(api, p.coder_a).get(url).json()
    assert coder["role"] == "coder" and coder["lead"] is None
    assert coder["my_progress"] == {"done": 0, "total": 12}
    assert [d["code"] for d in coder["rubric"]["dimensions"]][:2] == ["D1", "D2"]
    assert "id" not in coder["rubric"]
    adjudicator = as_user(api, p.adjudicator).get(url).json()
    assert adjudicator["lead"] is None and adjudicator["my_progress"] is None
    lead = as_user(api, p.lead).get(url).json()
    assert lead["lead"]["summary"]["items"] == 12
    assert {row["username"] for row in lead["lead"]["progress"]} == {"coder_a", "coder_b"}
    assert lead["lead"]["redactions_by_rule"]
    for user in (p.outsider, p.other_lead):
        assert as_user(api, user).get(url).status_code == 404
    assert as_user(api, p.lead).get(f"{V1}/studies/999999/").status_code == 404


def test_members_list_and_add(personas, api):
    p = personas
    url = f"{V1}/studies/{p.study.pk}/members/"
    as_user(api, p.lead)
    listed = api.get(url).json()["results"]
    assert {m["username"] for m in listed} == {"coder_a", "coder_b", "adjudicator", "lead"}
    response = api.post(url, {"username": "outsider", "role": "coder"}, format="json")
    assert response.status_code == 201
    assert Membership.objects.get(study=p.study, user=p.outsider).role == "coder"
    again = api.post(url, {"username": "outsider", "role": "lead"}, format="json")
    assert again.status_code == 400 and "already" in again.json()["detail"]
    assert api.post(url, {"username": "nobody", "role": "coder"}, format="json").status_code == 400
    bogus = api.post(url, {"username": "other_lead", "role": "owner"}, format="json")
    assert bogus.status_code == 400
    assert as_user(api, p.coder_a).post(url, {"username": "x", "role": "lead"}).status_code == 404


# --- import and open -----------------------------------------------------------------------


def _upload(api, study, name: str, raw: bytes):
    return api.post(
        f"{V1}/studies/{study.pk}/import/",
        {"file": SimpleUploadedFile(name, raw, content_type="application/octet-stream")},
        format="multipart",
    )


def test_import_upload_then_open(personas, api):
    p = personas
    as_user(api, p.lead)
    response = _upload(api, p.study, "items.jsonl", as_jsonl(make_records(6)))
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 6 and response.json()["redactions"] > 0
    opened = api.post(f"{V1}/studies/{p.study.pk}/open/")
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    assert Assignment.objects.filter(item__study=p.study).count() == 12
    assert api.post(f"{V1}/studies/{p.study.pk}/open/").status_code == 409


def test_open_without_items_is_400(personas, api):
    response = as_user(api, personas.lead).post(f"{V1}/studies/{personas.study.pk}/open/")
    assert response.status_code == 400 and "Import items" in response.json()["detail"]


def test_import_bad_rows_give_per_row_errors_and_write_nothing(personas, api):
    p = personas
    good = json.dumps(make_records(1)[0])
    raw = "\n".join([good, "{not json", json.dumps({"id": "x", "messages": "nope"})]).encode()
    response = as_user(api, p.lead).post(
        f"{V1}/studies/{p.study.pk}/import/",
        {"file": SimpleUploadedFile("bad.jsonl", raw)},
        format="multipart",
    )
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"]
    assert len(body["errors"]) == 2
    assert body["errors"][0].startswith("Row 2")
    assert not Item.objects.filter(study=p.study).exists()
    assert api.post(f"{V1}/studies/{p.study.pk}/import/", {}, format="multipart").status_code == 400


def test_oversize_import_is_413_json(personas, api, settings):
    settings.MAX_UPLOAD_BYTES = 2000
    raw = as_jsonl(make_records(20))
    assert len(raw) > 2000
    response = _upload(as_user(api, personas.lead), personas.study, "big.jsonl", raw)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "too large" in response.json()["detail"]
    assert not Item.objects.filter(study=personas.study).exists()


# --- rubrics ---------------------------------------------------------------------------------


def test_rubric_list_detail_export_import_roundtrip(personas, api):
    p = personas
    as_user(api, p.lead)
    rubrics = api.get(f"{V1}/rubrics/").json()["results"]
    rid = p.study.rubric.pk
    assert rid in [r["id"] for r in rubrics]
    detail = api.get(f"{V1}/rubrics/{rid}/").json()
    assert len(detail["dimensions"]) == 8 and detail["dimensions"][0]["levels"][2]["value"] == 2
    exported = api.get(f"{V1}/rubrics/{rid}/export/").json()
    exported["name"] = "Imported copy"
    created = api.post(f"{V1}/rubrics/", exported, format="json")
    assert created.status_code == 201, created.content
    copy = Rubric.objects.get(name="Imported copy")
    assert copy.dimensions.count() == 8 and copy.created_by == p.lead
    assert api.get(f"{V1}/rubrics/?ordering=created_by__password").status_code == 400
    assert (
        api.post(f"{V1}/rubrics/", {"name": "x", "dimensions": []}, format="json").status_code
        == 400
    )
    frozen = {**exported, "name": "F", "frozen": True}
    assert api.post(f"{V1}/rubrics/", frozen, format="json").status_code == 400
    for user in (p.coder_a, p.adjudicator, p.outsider):
        as_user(api, user)
        assert api.get(f"{V1}/rubrics/").status_code == 404
        assert api.get(f"{V1}/rubrics/{rid}/export/").status_code == 404


# --- items (lead view) ------------------------------------------------------------------------


def test_lead_item_views_and_sealed_key(open_study, api):
    p = open_study
    as_user(api, p.lead)
    listed = api.get(f"{V1}/studies/{p.study.pk}/items/?ordering=external_id").json()
    assert listed["count"] == 12
    ids = [r["external_id"] for r in listed["results"]]
    assert ids == sorted(ids) and all(r["redaction_count"] > 0 for r in listed["results"])
    assert "content" not in listed["results"][0]
    assert (
        api.get(f"{V1}/studies/{p.study.pk}/items/?ordering=study__created_by").status_code == 400
    )
    assert api.get(f"{V1}/studies/{p.study.pk}/items/?kind=document").json()["count"] == 0
    code = listed["results"][0]["public_code"]
    detail = api.get(f"{V1}/studies/{p.study.pk}/items/{code}/").json()
    assert detail["external_id"] == ids[0] and "messages" in detail["content"]
    # the key is never part of the item view (the lead reads it only through key/)
    assert not {"model", "scaffold", "prompt"} & set(detail)
    assert not any(name in json.dumps(detail) for name in MODELS)
    sealed = api.get(f"{V1}/studies/{p.study.pk}/items/{code}/key/")
    assert sealed.status_code == 403 and "sealed" in sealed.json()["detail"]
    assert not Event.objects.filter(verb="key_view").exists()
    other = Item.objects.create(
        study=p.other_study, content={"messages": []}, content_sha256="0" * 64
    )
    assert api.get(f"{V1}/studies/{p.study.pk}/items/{other.public_code}/").status_code == 404


def test_key_readable_by_lead_once_unblinded_and_logged(open_study, api):
    p = open_study
    Study.objects.filter(pk=p.study.pk).update(status=Study.Status.UNBLINDED)
    code = Item.objects.filter(study=p.study).first().public_code
    url = f"{V1}/studies/{p.study.pk}/items/{code}/key/?reason=analysis"
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        assert as_user(api, user).get(url).status_code == 404
    response = as_user(api, p.lead).get(url)
    assert response.status_code == 200
    assert response.json()["model"] in MODELS
    event = Event.objects.get(verb="key_view")
    assert event.actor == p.lead and event.target == code and event.payload["reason"] == "analysis"


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
    body = _scores_body(p.study, version=0, value=2)
    first = api.post(url, body, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "submitted"
    replay = api.post(url, body, format="json")
    assert replay.status_code == 200
    assert replay.content == first.content
    assert Event.objects.filter(verb="submit", target=code).count() == 1
    changed = api.post(url, _scores_body(p.study, version=0, value=0), format="json")
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
        body = {**_scores_body(p.study, version=0), **extra}
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
    _upload(api, p.study, "more.jsonl", as_jsonl(make_records(6, prefix="more")))
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


# --- auth ------------------------------------------------------------------------------------


def test_token_auth(open_study):
    p = open_study
    token = Token.objects.create(user=p.coder_a)
    client = APIClient()
    url = f"{V1}/studies/{p.study.pk}/my-assignments/"
    assert client.get(url).status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(url).json()["count"] == 12
    code = first_code(p, p.coder_a)
    response = client.post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/submit/",
        _scores_body(p.study, version=0),
        format="json",
    )
    assert response.status_code == 200  # token clients are not subject to CSRF
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(url).status_code in (401, 403)


def test_session_writes_need_csrf(open_study):
    p = open_study
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(p.coder_a)
    code = first_code(p, p.coder_a)
    response = client.post(
        f"{V1}/studies/{p.study.pk}/my-assignments/{code}/draft/",
        {"version": 0, "scores": {}},
        format="json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


# --- agreement -------------------------------------------------------------------------------


def test_agreement_results_for_the_lead(open_study, api):
    p = open_study
    url = f"{V1}/studies/{p.study.pk}/agreement/"
    as_user(api, p.lead)
    empty = api.get(url).json()
    assert empty == {"study": p.study.pk, "snapshot": None, "results": None}
    for coder, value in ((p.coder_a, 1), (p.coder_b, 2)):
        for a in Assignment.objects.filter(item__study=p.study, coder=coder)[:4]:
            score_submit(
                assignment=a, values=full_values(p.study, value), expected_version=0, by=coder
            )
    assert api.get(url).json()["snapshot"] is None  # queued for the worker, not computed here
    agreement_snapshot(p.study.pk)  # the worker
    body = api.get(url).json()
    assert body["snapshot"]["n_submitted"] == 8
    assert body["results"]  # the snapshot's results document, as the dashboard shows it
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        assert as_user(api, user).get(url).status_code == 404


def test_agreement_falls_back_to_the_latest_snapshot(open_study, api, monkeypatch):
    """Without the audit service (ImportError) the latest stored snapshot is served."""
    import sys

    from audit.models import AgreementSnapshot

    p = open_study
    AgreementSnapshot.objects.create(study=p.study, n_submitted=3, results={"marker": 1})
    monkeypatch.setitem(sys.modules, "audit.services", None)
    body = as_user(api, p.lead).get(f"{V1}/studies/{p.study.pk}/agreement/").json()
    assert body["results"] == {"marker": 1} and body["snapshot"]["n_submitted"] == 3
