"""REST API for leads: studies, members, import and open, rubrics, the lead's item views."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from coding.models import Assignment, Event, Item, Membership, Rubric, Study
from tests.coding.conftest import (
    MODELS,
    V1,
    as_jsonl,
    as_user,
    make_records,
    upload,
)
from tests.factories import MembershipFactory, StudyFactory, UserFactory

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


def test_import_upload_then_open(personas, api):
    p = personas
    as_user(api, p.lead)
    response = upload(api, p.study, "items.jsonl", as_jsonl(make_records(6)))
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
    response = upload(as_user(api, personas.lead), personas.study, "big.jsonl", raw)
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
