"""Hostile-import corpus: every file below is refused with a per-row error through the
HTML page, the API and the service, and nothing is written. On main before this change
each of them was a 500 (or, for replicate, a wrapped or refused integer)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from coding.models import ConditionKey, Item, Rubric
from coding.services import ImportRejected, ServiceError, items_import, items_import_file
from coding.services.rubrics import rubric_create_from_data

MSG = [{"role": "user", "content": "hi"}]


def _line(**fields) -> str:
    return json.dumps({"id": "x1", "messages": MSG, **fields})


# (name, file name, raw bytes, a fragment of the row error)
CORPUS = [
    ("lone surrogate in content", "f.jsonl",
     r'{"id": "a", "messages": [{"role": "user", "content": "x\ud800y"}]}', "lone surrogate"),
    ("lone surrogate in id", "f.jsonl", r'{"id": "a\udfff", "messages": []}', "valid text"),
    ("lone surrogate in metadata", "f.jsonl", _line(model="\ud800"), "lone surrogate"),
    ("lone surrogate in metadata key", "f.jsonl", _line(**{"k\udc00": 1}), "field names"),
    ("NUL in metadata key", "f.jsonl", _line(**{"mo\x00del": "m"}), "field names"),
    ("NUL in nested metadata key", "f.jsonl", _line(metadata={"\x00": 1}), "field names"),
    ("over-long metadata key", "f.jsonl", _line(**{"k" * 101: 1}), "field names"),
    ("NaN", "f.jsonl", '{"id": "a", "score": NaN, "messages": []}', "NaN is not a JSON number"),
    ("Infinity", "f.jsonl", '{"id": "a", "s": Infinity, "messages": []}', "not a JSON number"),
    ("-Infinity", "f.jsonl", '{"id": "a", "s": -Infinity, "messages": []}', "not a JSON number"),
    ("float overflow", "f.jsonl", '{"id": "a", "s": 1e400, "messages": [{"role": "user", '
     '"content": "x"}]}', "not a finite number"),
    ("5,000-digit integer", "f.jsonl", '{"id": "a", "s": ' + "9" * 5000 + "}", "invalid JSON"),
    ("role as object", "f.jsonl", _line(messages=[{"role": {"a": 1}, "content": "x"}]),
     "unknown role"),
    ("role as list", "f.jsonl", _line(messages=[{"role": ["user"], "content": "x"}]),
     "unknown role"),
    ("negative replicate", "f.jsonl", _line(replicate=-1), "replicate must be"),
    ("replicate past 32 bits", "f.jsonl", _line(replicate=99_999_999_999), "replicate must be"),
    ("replicate 2**31", "f.jsonl", _line(replicate=2**31), "replicate must be"),
    ("replicate as text", "f.jsonl", _line(replicate="two"), "replicate must be"),
    ("replicate fractional", "f.jsonl", _line(replicate=1.5), "replicate must be"),
    ("CSV negative replicate", "f.csv", 'id,messages,replicate\na,"[{""role"": ""user"", '
     '""content"": ""x""}]",-3\n', "replicate must be"),
    ("CSV over-long header", "f.csv", "id,text," + "h" * 101 + "\na,doc,1\n", "field names"),
    ("UTF-8-encoded surrogate", "f.jsonl", b'{"id": "a\xed\xa0\x80", "messages": []}',
     "invalid UTF-8"),
]  # fmt: skip


def _bytes(raw: str | bytes) -> bytes:
    # ensure_ascii JSON above escapes NUL and surrogates, so every str here encodes.
    return raw if isinstance(raw, bytes) else raw.encode("utf-8")


@pytest.mark.parametrize(
    ("name", "filename", "raw", "fragment"), CORPUS, ids=[c[0] for c in CORPUS]
)
def test_hostile_file_is_a_row_error_on_every_path(personas, client, name, filename, raw, fragment):
    p, body = personas, _bytes(raw)
    with pytest.raises(ImportRejected) as refused:
        items_import_file(study=p.study, raw=body, filename=filename, by=p.lead)
    assert any(e.startswith("Row ") and fragment in e for e in refused.value.errors), (
        refused.value.errors
    )

    client.force_login(p.lead)
    page = client.post(
        reverse("coding:study-import", args=[p.study.pk]),
        {"file": SimpleUploadedFile(filename, body)},
    )
    assert page.status_code == 400 and fragment.encode() in page.content.replace(b"&#x27;", b"'")

    api = APIClient()
    api.force_login(p.lead)
    response = api.post(
        reverse("api-study-import", args=[p.study.pk]),
        {"file": SimpleUploadedFile(filename, body)},
        format="multipart",
    )
    assert response.status_code == 400
    assert any(fragment in e for e in response.json()["errors"])
    assert not Item.objects.filter(study=p.study).exists()
    assert not ConditionKey.objects.exists()


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ({"model": "\ud800"}, "lone surrogate"),
        ({"score": float("nan")}, "not a JSON number"),
        ({"replicate": -1}, "replicate must be"),
        ({"\x00": "x"}, "field names"),
        ({"messages": [{"role": {"x": 1}, "content": "x"}]}, "unknown role"),
    ],
)
def test_service_records_path_refuses_the_same(personas, record, fragment):
    """items_import (generation runs, benchmark audits) passes records, not a file."""
    with pytest.raises(ImportRejected) as refused:
        items_import(
            study=personas.study, records=[{"id": "a", "messages": MSG, **record}], by=None
        )
    assert any(fragment in e for e in refused.value.errors), refused.value.errors


def test_valid_replicates_are_stored_as_sent(personas):
    lines = [_line(replicate=v).replace('"x1"', f'"r{i}"') for i, v in enumerate([0, 7, 2**31 - 1])]
    lines.append(_line(replicate="12").replace('"x1"', '"text"'))
    items_import_file(
        study=personas.study, raw="\n".join(lines).encode(), filename="f.jsonl", by=personas.lead
    )
    stored = sorted(ConditionKey.objects.values_list("replicate", flat=True))
    assert stored == [0, 7, 12, 2**31 - 1]


# --- rubric imports ----------------------------------------------------------------------


def _rubric(**changes) -> dict:
    level = {"value": 0, "label": "absent", "anchor": ""}
    dim = {"code": "D1", "name": "Spec", "definition": "", "levels": [level, {"value": 1}]}
    dim.update(changes.pop("dim", {}))
    level.update(changes.pop("level", {}))
    return {"name": "Hostile", "description": "", "dimensions": [dim], **changes}


HOSTILE_RUBRICS = [
    ("code of 21 characters", _rubric(dim={"code": "D" * 21})),
    ("name of 201 characters", _rubric(name="n" * 201)),
    ("dimension name of 201", _rubric(dim={"name": "n" * 201})),
    ("label of 101 characters", _rubric(level={"label": "l" * 101})),
    ("anchor of 5001", _rubric(level={"anchor": "a" * 5001})),
    ("description of 5001", _rubric(description="d" * 5001)),
    ("order past 32 bits", _rubric(dim={"order": 2**40 + 5})),
    ("negative order", _rubric(dim={"order": -1})),
    ("version past 32 bits", _rubric(version=99_999_999_999)),
    ("level value 2**31", _rubric(level={"value": 2**31})),
    ("NUL in name", _rubric(name="a\x00b")),
    ("label as object", _rubric(level={"label": {"x": 1}})),
]


@pytest.mark.parametrize(("name", "data"), HOSTILE_RUBRICS, ids=[r[0] for r in HOSTILE_RUBRICS])
def test_hostile_rubric_is_refused_on_every_path(personas, client, name, data):
    before = Rubric.objects.count()
    with pytest.raises(ServiceError):
        rubric_create_from_data(data=data, by=personas.lead)

    client.force_login(personas.lead)
    upload = SimpleUploadedFile("r.json", json.dumps(data).encode())
    page = client.post(reverse("coding:rubric-list"), {"file": upload})
    assert page.status_code == 200 and b"errorlist" in page.content  # the form's error

    api = APIClient()
    api.force_login(personas.lead)
    response = api.post(reverse("api-rubric-list"), data, format="json")
    assert response.status_code == 400, response.content
    assert Rubric.objects.count() == before
