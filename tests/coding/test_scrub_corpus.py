"""The leak corpus (scrub_corpus.py) end to end: import, then read as a coder through the
REST API and the coding page. Every class of spelling is covered; no case may leak and
no control may change."""

import html
import json
import re

from django.urls import reverse

from coding.models import Assignment, Item
from coding.services import items_import, study_open
from tests.coding.scrub_corpus import CASES, CONTROLS, case_records, corpus_leaks

TAGS = re.compile(r"<[^>]+>")


def _imported_open_study(personas):
    result = items_import(study=personas.study, records=case_records(), by=personas.lead)
    study_open(study=personas.study, by=personas.lead)
    return result


def test_corpus_covers_every_class():
    classes = {c.cls for c in CASES}
    assert classes == {
        "vendor_case", "model_spelling", "full_width", "soft_hyphen", "zero_width",
        "confusable", "provider_id", "self_id_shape", "prompt_echo",
    }  # fmt: skip


def test_no_leak_through_the_coder_api_or_page(personas, client):
    result = _imported_open_study(personas)
    assert result.created == len(CASES) + len(CONTROLS)
    external = dict(
        Item.objects.filter(study=personas.study).values_list("public_code", "external_id")
    )
    client.force_login(personas.coder_a)
    via_api, via_page = {}, {}
    mine = Assignment.objects.filter(item__study=personas.study, coder=personas.coder_a)
    assert mine.count() == len(external)  # two coders, k = 2: coder A sees every item
    for code in mine.values_list("item__public_code", flat=True):
        api = client.get(reverse("api-my-assignment", args=[personas.study.pk, code]))
        assert api.status_code == 200
        via_api[external[code]] = json.dumps(api.json()["item"]["content"], ensure_ascii=False)
        page = client.get(reverse("coding:code-item", args=[personas.study.pk, code]))
        assert page.status_code == 200
        body = page.content.decode()
        start = body.index('aria-label="Transcript"')
        transcript = body[start : body.index("</section>", start)]
        via_page[external[code]] = html.unescape(TAGS.sub(" ", transcript))
    assert corpus_leaks(via_api) == {}
    # Tags become spaces on the page: compare words, not layout.
    assert corpus_leaks({k: re.sub(r"\s+", " ", v) for k, v in via_page.items()}) == {}
    assert "[redacted]" in via_page["case-29"]
    # The self-identification shape is gone: the same marker whatever was removed.
    assert re.sub(r"\s+", " ", via_page["case-29"]).count("[redacted]") == 1


def test_redaction_counts_are_recorded_per_rule(personas):
    result = _imported_open_study(personas)
    by_rule = result.redactions_by_rule
    for rule in ("self_identification", "study_model_name", "vendor", "provider_id"):
        assert by_rule.get(rule, 0) > 0, rule
    assert by_rule["prompt_echo"] == 3
    controls = Item.objects.filter(study=personas.study, external_id__startswith="control-")
    assert set(controls.values_list("redaction_count", flat=True)) == {0}
