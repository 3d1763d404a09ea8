"""Bulk inserts (alignweb/bulk.py): COPY on PostgreSQL leaves rows and model instances as
bulk_create would, and a failing COPY raises Django's errors and writes nothing."""

from __future__ import annotations

import pytest
from django.db import DataError, IntegrityError, transaction

from alignweb.bulk import bulk_insert
from coding.models import ConditionKey, Item
from tests.factories import ItemFactory, StudyFactory


def _items(study, n: int, prefix: str = "B") -> list[Item]:
    return [
        Item(
            study=study,
            public_code=f"{prefix}{i:02d}-XYZ",
            external_id=f"e{i}",
            content={"messages": [{"role": "user", "content": f"caf\u00e9 \t\\ {i}\n"}]},
            content_sha256="0" * 64,
            redactions={"vendor": i},
        )
        for i in range(n)
    ]


@pytest.mark.django_db
def test_bulk_insert_writes_rows_and_sets_keys():
    study = StudyFactory()
    items = _items(study, 3)
    bulk_insert(Item, items)
    assert all(item.pk and not item._state.adding for item in items)
    keys = [ConditionKey(item_id=item.pk, model="m", replicate=i) for i, item in enumerate(items)]
    bulk_insert(ConditionKey, keys)
    stored = {item.pk: item for item in Item.objects.filter(study=study)}
    assert sorted(stored) == sorted(item.pk for item in items)
    for item in items:
        again = stored[item.pk]
        # Tabs, backslashes and newlines survive COPY's text format unchanged.
        assert again.content == item.content
        assert again.redactions == item.redactions
        assert again.created_at is not None
        assert again.condition_key.model == "m"


def test_copy_stores_serialised_json_as_given(require_postgres):
    study = StudyFactory()
    items = _items(study, 2)
    texts = ['{"messages":[]}', '{"messages":[{"role":"user","content":"x"}]}']
    bulk_insert(Item, items, raw={"content": texts})
    got = dict(Item.objects.filter(study=study).values_list("external_id", "content"))
    assert got == {"e0": {"messages": []}, "e1": {"messages": [{"role": "user", "content": "x"}]}}


def test_a_failing_copy_raises_integrity_error_and_writes_nothing(require_postgres):
    taken = ItemFactory(public_code="B01-XYZ")
    study = taken.study
    before = Item.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Item, _items(study, 3))  # the second row clashes with ``taken``
    assert Item.objects.count() == before


def test_copy_refuses_an_out_of_range_integer(require_postgres):
    item = ItemFactory()
    with pytest.raises(DataError), transaction.atomic():
        bulk_insert(ConditionKey, [ConditionKey(item_id=item.pk, replicate=2**31)])
    assert not ConditionKey.objects.filter(item=item).exists()
