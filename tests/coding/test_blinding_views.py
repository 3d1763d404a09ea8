"""Blinding: coder pages carry no condition, no internal id, and do not react to others."""

import re

from django.urls import reverse

from coding.models import Assignment, ConditionKey, Item
from coding.services import score_submit
from tests.coding.conftest import MODELS, SCAFFOLDS, full_values

CSRF = re.compile(rb'(name="csrfmiddlewaretoken" value="|name="csrf-token" content=")[^"]+"')


def _coder_pages(client, study, coder):
    urls = [reverse("home"), reverse("coding:queue", args=[study.pk])]
    for a in Assignment.objects.filter(item__study=study, coder=coder):
        urls.append(reverse("coding:code-item", args=[study.pk, a.item.public_code]))
    return {url: client.get(url) for url in urls}


def _forbidden_strings(study) -> set[str]:
    bad = {"OpenAI", "SYSTEM PROMPT", "chatcmpl-", "run-secret", *MODELS}
    for key in ConditionKey.objects.filter(item__study=study):
        bad |= {key.model, key.prompt, *[str(v) for v in key.metadata.values()]}
    return {b for b in bad if b}


def test_coder_pages_contain_no_condition_or_internal_ids(open_study, client):
    p = open_study
    client.force_login(p.coder_a)
    pages = _coder_pages(client, p.study, p.coder_a)
    forbidden = _forbidden_strings(p.study)
    item_pks = list(Item.objects.filter(study=p.study).values_list("pk", flat=True))
    for url, response in pages.items():
        assert response.status_code == 200, url
        body = response.content.decode()
        for secret in forbidden:
            assert secret not in body, (url, secret)
        for scaffold in SCAFFOLDS:
            assert not re.search(rf"\b{scaffold}\b", body), (url, scaffold)
        for pk in item_pks:  # no database ids of items in links or attributes
            assert f"/{pk}/" not in body.replace(f"/studies/{p.study.pk}/", "/studies/S/")
            assert f'data-id="{pk}"' not in body and f"item={pk}" not in body


def test_coder_a_pages_identical_after_coder_b_submits(open_study, client):
    p = open_study
    client.force_login(p.coder_a)
    before = {
        u: CSRF.sub(b"", r.content) for u, r in _coder_pages(client, p.study, p.coder_a).items()
    }
    for a in Assignment.objects.filter(item__study=p.study, coder=p.coder_b)[:5]:
        score_submit(
            assignment=a, values=full_values(p.study, value=2), expected_version=0, by=p.coder_b
        )
    client.force_login(p.coder_a)
    after = {
        u: CSRF.sub(b"", r.content) for u, r in _coder_pages(client, p.study, p.coder_a).items()
    }
    assert before.keys() == after.keys()
    for url in before:
        assert before[url] == after[url], url


def test_system_prompt_never_reaches_coders(open_study):
    for item in Item.objects.filter(study=open_study.study):
        roles = [m["role"] for m in item.content["messages"]]
        assert "system" not in roles
