"""Two-step import (upload -> preview -> confirm) and condition key uploads."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding.condition_keys import parse_condition_keys
from coding.import_preview import errors_in_row_order, import_preview
from coding.importing import parse_import
from coding.models import ConditionKey, Event, Item, Membership, PendingUpload
from coding.services import (
    ImportRejected,
    ServiceError,
    condition_keys_confirm,
    items_import,
    study_open,
    upload_stage,
)
from tests.coding.conftest import as_jsonl, make_records
from tests.factories import MembershipFactory, UserFactory


def _upload(client, study, records, name="items.jsonl"):
    url = reverse("coding:study-import", args=[study.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, as_jsonl(records))})


def test_errors_come_in_row_order():
    errors = [
        "Row 9: duplicate id 'a' (first seen in row 2).",
        "Row 3: invalid JSON.",
        "Too many rows: the limit is 100,000 per file.",
        "Row 12: 'messages' must be a non-empty list.",
        "Row 3: message 1 has unknown role.",
    ]
    assert errors_in_row_order(errors) == [
        "Too many rows: the limit is 100,000 per file.",
        "Row 3: invalid JSON.",
        "Row 3: message 1 has unknown role.",
        "Row 9: duplicate id 'a' (first seen in row 2).",
        "Row 12: 'messages' must be a non-empty list.",
    ]


def test_preview_names_the_hidden_columns_and_warns_about_missing_fields():
    records = make_records(4)
    records[1]["specification"] = "partial"
    del records[3]["id"]
    parsed = parse_import(as_jsonl(records), "items.jsonl")
    assert not parsed.errors
    preview = import_preview(parsed.records)
    roles = {c["name"]: c["role"] for c in preview["columns"]}
    assert roles == {
        "id": "id",
        "messages": "shown",
        "model": "condition",
        "scaffold": "condition",
        "prompt": "condition",
        "specification": "condition",
        "replicate": "condition",
        "run_id": "hidden",
    }
    assert [c["role"] for c in preview["columns"]][:2] == ["id", "shown"]
    assert preview["coverage"]["specification"] == 4
    text = " ".join(preview["warnings"])
    assert "Specification 'partial' (row 2) is neither full nor under" in text
    assert "No id in row 4" in text
    first = preview["rows"][0]
    assert (first["row"], first["id"], first["model"], first["specification"]) == (
        1,
        "t-0000",
        "zephyr-large",
        "full",
    )
    assert first["what"] == "2 messages, 1 user turn" and first["hidden"] == ["run_id"]
    # A file without the column says which analysis it stops.
    for r in records:
        r.pop("specification", None)
    bare = import_preview(parse_import(as_jsonl(records), "items.jsonl").records)
    assert (
        "No specification column: scaffold efficacy (values full or under) will not run."
        in (bare["warnings"])
    )


def test_preview_values_are_the_stored_key(personas):
    records = make_records(3)
    records[0]["prompt_id"] = records[0].pop("prompt")
    parsed = parse_import(as_jsonl(records), "items.jsonl")
    preview = import_preview(parsed.records)
    items_import(study=personas.study, records=records, by=personas.lead)
    for row in preview["rows"]:
        key = ConditionKey.objects.get(item__external_id=row["id"])
        stored = [key.model, key.scaffold, key.prompt, key.specification, str(key.replicate)]
        assert stored == [row[f] for f in ("model", "scaffold", "prompt", "specification")] + [
            row["replicate"]
        ]


def test_upload_previews_then_imports_once(personas, client):
    p = personas
    client.force_login(p.lead)
    r = _upload(client, p.study, make_records(3))
    assert r.status_code == 302
    upload = PendingUpload.objects.get(study=p.study)
    assert r["Location"] == reverse("coding:study-import-preview", args=[p.study.pk, upload.token])
    assert Item.objects.filter(study=p.study).count() == 0  # nothing written yet
    page = client.get(r["Location"]).content.decode()
    assert "Nothing has been written yet" in page and "hidden condition" in page
    assert "zephyr-large" in page and "Import 3 items" in page
    confirm = reverse("coding:study-import-confirm", args=[p.study.pk, upload.token])
    assert client.post(confirm).status_code == 302
    assert Item.objects.filter(study=p.study).count() == 3
    assert not PendingUpload.objects.exists()
    assert client.post(confirm).status_code == 404  # a second click imports nothing
    assert Item.objects.filter(study=p.study).count() == 3
    assert Event.objects.filter(study=p.study, verb="import").count() == 1


def test_refused_upload_lists_errors_in_row_order_and_keeps_nothing(personas, client):
    p = personas
    items_import(study=p.study, records=make_records(1), by=p.lead)  # id t-0000 exists
    client.force_login(p.lead)
    records = make_records(4)
    records[3]["id"] = "t-0001"  # repeats row 2
    records[2]["messages"] = []
    r = _upload(client, p.study, records)
    assert r.status_code == 400
    page = r.content.decode()
    assert page.index("Row 3: &#x27;messages&#x27;") < page.index("Row 4: duplicate id")
    assert not PendingUpload.objects.exists()
    records[2]["messages"] = make_records(1)[0]["messages"]
    records[3]["id"] = "t-0003"
    r = _upload(client, p.study, records)  # row 1 clashes with the study's item
    assert r.status_code == 400 and "Row 1: duplicate id" in r.content.decode()


def test_a_staged_upload_is_the_study_leads_only(personas, client):
    p = personas
    staged = upload_stage(
        study=p.study, kind="items", raw=as_jsonl(make_records(2)), filename="a.jsonl", by=p.lead
    )
    urls = [
        reverse(name, args=[p.study.pk, staged.token])
        for name in ("coding:study-import-preview", "coding:study-import-confirm")
    ]
    for user in (p.coder_a, p.adjudicator, p.outsider, p.other_lead):
        client.force_login(user)
        assert client.get(urls[0]).status_code == 404
        assert client.post(urls[1]).status_code == 404
    other = reverse("coding:study-import-preview", args=[p.other_study.pk, staged.token])
    client.force_login(p.other_lead)
    assert client.get(other).status_code == 404  # another study's upload, even by its token
    assert Item.objects.count() == 0


def _key_csv(rows: list[str]) -> bytes:
    return ("\n".join(["id,specification,scaffold", *rows]) + "\n").encode()


def test_condition_key_upload_fills_a_missing_field_and_is_logged(personas, client):
    p = personas
    records = make_records(3)
    for r in records:
        r.pop("specification")
    items_import(study=p.study, records=records, by=p.lead)
    client.force_login(p.lead)
    page = client.get(reverse("coding:study-import", args=[p.study.pk])).content.decode()
    assert "Upload or correct the condition key" in page
    key_url = reverse("coding:study-import-key", args=[p.study.pk])
    body = _key_csv(["t-0000,under,C2", "t-0001,FULL,C2", "t-0002,under,"])
    r = client.post(key_url, {"key-file": SimpleUploadedFile("key.csv", body)})
    assert r.status_code == 302
    preview = client.get(r["Location"]).content.decode()
    assert "Nothing has changed yet" in preview and "Update 3 keys" in preview
    token = PendingUpload.objects.get(kind="key").token
    r = client.post(reverse("coding:study-import-confirm", args=[p.study.pk, token]))
    assert r.status_code == 302
    keys = {k.item.external_id: k for k in ConditionKey.objects.select_related("item")}
    assert [keys[f"t-000{i}"].specification for i in range(3)] == ["under", "full", "under"]
    assert keys["t-0002"].scaffold == "" and keys["t-0000"].model == "zephyr-large"  # kept
    assert keys["t-0000"].metadata["run_id"] == "run-secret-0"
    event = Event.objects.get(study=p.study, verb="key_update")
    assert event.actor == p.lead
    assert event.payload["fields_changed"] == {"scaffold": 3, "specification": 3}
    assert "under" not in json.dumps(event.payload) and "C2" not in json.dumps(event.payload)


def test_condition_key_rows_must_match_items_and_values_must_be_valid(personas):
    p = personas
    items_import(study=p.study, records=make_records(2), by=p.lead)
    body = _key_csv(["t-0000,sometimes,C1", "nope,under,C1", "t-0000,under,C1"])
    parsed = parse_condition_keys(body, "key.csv")
    assert parsed.errors == [
        "Row 2: specification 'sometimes' must be full or under (or empty).",
        "Row 4: id 't-0000' appears twice (first in row 2).",
    ]
    with pytest.raises(ImportRejected) as refused:
        upload_stage(
            study=p.study,
            kind="key",
            raw=_key_csv(["t-0001,under,C1", "nope,under,C1"]),
            filename="key.csv",
            by=p.lead,
        )
    assert refused.value.errors == ["Row 3: no item with id 'nope' in this study."]


def test_condition_key_is_fixed_once_the_study_opens(personas, client):
    p = personas
    items_import(study=p.study, records=make_records(2), by=p.lead)
    staged = upload_stage(
        study=p.study, kind="key", raw=_key_csv(["t-0000,full,C9"]), filename="k.csv", by=p.lead
    )
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    with pytest.raises(ServiceError, match="only while the study is a draft"):
        condition_keys_confirm(upload=staged, by=p.lead)
    assert ConditionKey.objects.get(item__external_id="t-0000").scaffold == "C1"
    assert not Event.objects.filter(verb="key_update").exists()
    client.force_login(p.lead)
    page = client.get(reverse("coding:study-import", args=[p.study.pk])).content.decode()
    assert "The key is fixed" in page and "Upload key and preview" not in page
    with pytest.raises(ServiceError, match="only while the study is a draft"):
        upload_stage(
            study=p.study, kind="key", raw=_key_csv(["t-0000,full,C9"]), filename="k.csv", by=p.lead
        )


def test_only_the_uploader_sees_a_preview(personas, client):
    p = personas
    second_lead = UserFactory(username="second_lead")
    MembershipFactory(study=p.study, user=second_lead, role=Membership.Role.LEAD)
    staged = upload_stage(
        study=p.study, kind="items", raw=as_jsonl(make_records(2)), filename="a.jsonl", by=p.lead
    )
    client.force_login(second_lead)
    url = reverse("coding:study-import-preview", args=[p.study.pk, staged.token])
    assert client.get(url).status_code == 404
    client.force_login(p.lead)
    assert client.get(url).status_code == 200


def test_condition_key_replicates_are_bounded_like_imports():
    body = b"id,replicate\na,3\nb,-1\nc,99999999999\nd,\n"
    parsed = parse_condition_keys(body, "key.csv")
    message = "replicate must be a whole number from 0 to 2147483647."
    assert parsed.errors == [f"Row 3: {message}", f"Row 4: {message}"]
    assert [r.fields for r in parsed.rows] == [{"replicate": 3}, {"replicate": None}]
