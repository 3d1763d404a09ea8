"""Import: every bad row is reported and nothing is half-written."""

import json

import pytest
from django.db import IntegrityError

from coding.importing import MAX_FIELD_CHARS, parse_import
from coding.models import ConditionKey, Event, Item
from coding.services import ImportRejected, items_import_file
from tests.coding.conftest import as_jsonl, make_records


def _good_line(i=0, **extra):
    data = {"id": f"x{i}", "model": "m", "messages": [{"role": "user", "content": "hi"}]}
    data.update(extra)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"id": "a", "messages": [', "Row 1: invalid JSON"),
        (b'{"id": "a", "model": "m"}', "Row 1: missing 'messages'"),
        (b'{"id": "a", "messages": [{"role": "wizard", "content": "x"}]}', "unknown role 'wizard'"),
        (b'{"id": "a", "messages": [{"role": "user", "content": "a\\u0000b"}]}', "NUL byte"),
        (b'{"id": "a", "messages": [{"role": "user", "content": "caf\xe9"}]}', "invalid UTF-8"),
        (b'{"id": "a", "messages": "nope"}', "'messages' is not valid JSON"),
        (b"", "The file is empty"),
        (b'{"id": "a", "messages": []}', "must be a non-empty list"),
        (b'{"id": "a", "messages": [{"role": "user", "content": 5}]}', "content must be text"),
        (
            b'{"id": "a", "nested": {"x": 1}, "messages": [{"role": "user", "content": "x"}]}',
            "must be a plain value",
        ),
    ],
)
def test_bad_rows_give_clear_messages(raw, message):
    result = parse_import(raw, "f.jsonl")
    assert result.errors, "expected an error"
    assert any(message in e for e in result.errors), result.errors


def test_oversize_field_and_duplicate_ids():
    big = "x" * (MAX_FIELD_CHARS + 1)
    raw = "\n".join(
        [
            _good_line(1),
            _good_line(1),
            json.dumps({"id": "b", "messages": [{"role": "user", "content": big}]}),
        ]
    ).encode()
    errors = parse_import(raw, "f.jsonl").errors
    assert any("Row 2: duplicate id 'x1' (first seen in row 1)" in e for e in errors)
    assert any("Row 3:" in e and "the limit is" in e for e in errors)


def test_deeply_nested_json_is_refused_cleanly():
    raw = ('{"id": "a", "messages": ' + "[" * 100000 + "]" * 100000 + "}").encode()
    errors = parse_import(raw, "deep.jsonl").errors
    assert errors and errors[0].startswith("Row 1:")


def test_csv_import_with_metadata_columns():
    raw = (
        b"id,model,scaffold,messages\n"
        b'c1,m-a,C2,"[{""role"": ""user"", ""content"": ""Hi, there""}]"\n'
    )
    result = parse_import(raw, "items.csv")
    assert not result.errors
    record = result.records[0]
    assert record.metadata == {"model": "m-a", "scaffold": "C2"}
    assert record.content["messages"][0]["content"] == "Hi, there"


def test_unsupported_extension():
    assert "Unsupported file type" in parse_import(b"x", "f.xlsx").errors[0]


def test_bad_file_leaves_database_unchanged(personas):
    good = as_jsonl(make_records(5))
    bad = good + b"\n" + b'{"id": "zz", "messages": [{"role": "robot", "content": "x"}]}'
    before = (Item.objects.count(), ConditionKey.objects.count(), Event.objects.count())
    with pytest.raises(ImportRejected) as exc:
        items_import_file(study=personas.study, raw=bad, filename="b.jsonl", by=personas.lead)
    assert any("Row 6: message 1 has unknown role 'robot'" in e for e in exc.value.errors)
    assert (Item.objects.count(), ConditionKey.objects.count(), Event.objects.count()) == before


def test_a_write_that_fails_in_the_database_leaves_nothing(personas, monkeypatch):
    """The items are written (COPY on PostgreSQL) before their keys: a key that the
    database refuses takes the items and the event with it."""
    from coding.services import items as items_service

    real = items_service._key_from

    def key_with_bad_replicate(metadata):
        key = real(metadata)
        if metadata.get("prompt") == "P03":
            key.replicate = -1  # PositiveIntegerField: the CHECK constraint refuses it
        return key

    monkeypatch.setattr(items_service, "_key_from", key_with_bad_replicate)
    before = (Item.objects.count(), ConditionKey.objects.count(), Event.objects.count())
    with pytest.raises(IntegrityError):
        items_import_file(
            study=personas.study,
            raw=as_jsonl(make_records(6)),
            filename="a.jsonl",
            by=personas.lead,
        )
    assert (Item.objects.count(), ConditionKey.objects.count(), Event.objects.count()) == before


def test_duplicate_against_existing_items(personas):
    items_import_file(
        study=personas.study, raw=as_jsonl(make_records(2)), filename="a.jsonl", by=personas.lead
    )
    with pytest.raises(ImportRejected) as exc:
        items_import_file(
            study=personas.study,
            raw=as_jsonl(make_records(3)),
            filename="b.jsonl",
            by=personas.lead,
        )
    assert "already in this study" in exc.value.errors[0]
    assert Item.objects.filter(study=personas.study).count() == 2


def test_import_seals_metadata_and_scrubs_content(personas):
    result = items_import_file(
        study=personas.study, raw=as_jsonl(make_records(6)), filename="a.jsonl", by=personas.lead
    )
    assert result.created == 6
    item = Item.objects.get(study=personas.study, external_id="t-0000")
    text = json.dumps(item.content)
    for secret in ("OpenAI", "zephyr-large", "chatcmpl-", "SYSTEM PROMPT", "run-secret"):
        assert secret not in text
    # One marker for the self-identifying sentence (with the name in it), one for the id.
    assert item.redaction_count == 2
    assert item.redactions == {"self_identification": 1, "provider_id": 1}
    key = item.condition_key
    assert (key.model, key.scaffold, key.specification) == ("zephyr-large", "C1", "full")
    assert key.metadata["run_id"] == "run-secret-0"
    assert Event.objects.filter(verb="import", study=personas.study).count() == 1


def test_public_codes_are_random_and_not_sequential(personas):
    items_import_file(
        study=personas.study, raw=as_jsonl(make_records(40)), filename="a.jsonl", by=personas.lead
    )
    codes = list(
        Item.objects.filter(study=personas.study)
        .order_by("pk")
        .values_list("public_code", flat=True)
    )
    assert len(set(codes)) == 40
    assert codes != sorted(codes)
    assert all(len(c) == 7 and c[3] == "-" for c in codes)
