"""Analyses are offered only when a study can run them; otherwise the page names the missing
field and says how to add it (issue 15: efficacy was offered, then failed for want of an
undocumented ``specification``)."""

from __future__ import annotations

from django.urls import reverse

from audit.analysis_requirements import analyses_available
from coding.models import Event
from coding.services import items_import
from tests.audit.conftest import build_study
from tests.coding.conftest import make_records


def _without_specification(n: int) -> list[dict]:
    records = make_records(n)
    for r in records:
        r.pop("specification")
    return records


def test_a_study_without_specification_is_not_offered_scaffold_efficacy(personas, client):
    p = personas
    build_study(p, n=12, unblind=True, records=_without_specification(12), snapshot=False)
    can = analyses_available(study=p.study)
    assert not can["scaffold_efficacy"].offered and can["alignment_profiles"].open
    [missing] = can["scaffold_efficacy"].missing
    assert (missing.text, missing.have, missing.of) == (
        "specification full or under in the condition key",
        0,
        12,
    )
    client.force_login(p.lead)
    hub = client.get(reverse("audit:study-analysis", args=[p.study.pk])).content.decode()
    assert "Open scaffold efficacy" not in hub and "Open profiles" in hub
    assert "specification full or under in the condition key" in hub
    assert "key is fixed since it opened" in hub
    page = client.get(reverse("audit:scaffold-efficacy", args=[p.study.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and "Scaffold efficacy cannot run for this study" in body
    assert not Event.objects.filter(study=p.study, verb="key_view").exists()  # nothing read
    index = client.get(reverse("audit:index")).content.decode()
    efficacy_url = reverse("audit:scaffold-efficacy", args=[p.study.pk])
    assert efficacy_url not in index
    assert reverse("audit:alignment-profiles", args=[p.study.pk]) in index
    assert "Scaffold efficacy needs specification full or under" in index


def test_a_complete_key_offers_efficacy_after_unblinding_only(personas, client):
    p = personas
    build_study(p, n=12)
    can = analyses_available(study=p.study)["scaffold_efficacy"]
    assert can.offered and not can.open
    client.force_login(p.lead)
    hub = client.get(reverse("audit:study-analysis", args=[p.study.pk])).content.decode()
    assert "Available after unblinding: the key has model, scaffold and specification" in hub


def test_a_draft_study_says_how_to_add_the_field(personas, client):
    p = personas
    items_import(study=p.study, records=_without_specification(3), by=p.lead)
    client.force_login(p.lead)
    hub = client.get(reverse("audit:study-analysis", args=[p.study.pk])).content.decode()
    assert "Add a specification column (full or under) to the import file" in hub
    assert reverse("coding:study-import", args=[p.study.pk]) + "#condition-key" in hub
