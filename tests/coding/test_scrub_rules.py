"""Study scrubbing rules: validated, applied to the draft's items and to later imports."""

import pytest

from coding.models import Event, Item, ScrubRule
from coding.services import ServiceError, items_import, scrub_rule_add, scrub_rule_delete
from tests.coding.conftest import make_records


def test_name_rule_applies_now_and_to_later_imports(personas):
    first = make_records(2)
    first[0]["messages"][-1]["content"] += " Kestrel-2 wrote this."
    items_import(study=personas.study, records=first, by=personas.lead)
    rule = scrub_rule_add(study=personas.study, kind="name", text="Kestrel 2", by=personas.lead)
    assert rule.redactions == 1
    later = make_records(1, prefix="later")
    later[0]["messages"][-1]["content"] += " See KESTREL_2 and kestrel."
    result = items_import(study=personas.study, records=later, by=personas.lead)
    assert result.redactions_by_rule["study_rule"] == 2  # the name, and its family token
    text = Item.objects.get(external_id="later-0000").content["messages"][-1]["content"]
    assert "kestrel" not in text.lower()
    scrub_rule_delete(rule=rule, by=personas.lead)
    assert not ScrubRule.objects.exists()
    assert Event.objects.filter(verb="scrub_rule_delete").count() == 1


@pytest.mark.parametrize(
    ("kind", "text"),
    [("regex", "abc"), ("name", "ab"), ("phrase", "ok"), ("name", "x\x00yz"), ("name", "x" * 201)],
)
def test_bad_rules_are_refused(personas, kind, text):
    with pytest.raises(ServiceError):
        scrub_rule_add(study=personas.study, kind=kind, text=text, by=personas.lead)


def test_duplicate_rules_are_refused(personas):
    scrub_rule_add(study=personas.study, kind="phrase", text="Happy to help", by=personas.lead)
    with pytest.raises(ServiceError, match="already"):
        scrub_rule_add(study=personas.study, kind="phrase", text="happy to help", by=personas.lead)
