"""Blinding crawler: a generated 180-item study (3 fake models x 4 scaffolds x 15 prompts),
opened for two coders, partly coded and in reconciliation. Each coder and the adjudicator
crawl every same-site link and GET form they can reach, and walk every /api/v1/ route
with their own ids; no response may contain a model or vendor name, scaffold code, name
or system-prompt text, condition metadata (prompt codes, run and transcript ids, request
ids), another member's username, or the database id of any item of the study.

Then: public codes and each coder's item order are statistically independent of the
condition (chi-square, p > 0.01). Public codes come from ``secrets`` and change every
run, so that check has the nominal 1 % false-alarm rate; coder order is seeded.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from coding.models import ConditionKey
from tests.security.crawler import (
    CRAWLERS,
    FAMILY_ALPHA,
    MUST_REACH,
    _phrases,
    conditions,
    contingency,
    crawl_api,
    crawl_html,
    independence_checks,
    independence_p,
    leaks,
    quantile,
)


@pytest.mark.parametrize("me", CRAWLERS)
def test_crawl_finds_no_condition_or_internal_id(gen, me):
    client = Client()
    client.force_login(getattr(gen.personas, me))
    reached, html_problems = crawl_html(gen, client, me)
    calls, api_problems = crawl_api(gen, client, me)
    short = {k: n for k, n in MUST_REACH[me].items() if reached[k] < n}
    assert not short, f"the crawl did not get far enough: {dict(reached)}"
    assert calls >= 10, calls
    problems = sorted(set(html_problems + api_problems))
    assert not problems, f"{len(problems)} leaks:\n" + "\n".join(problems[:60])


def test_coders_never_see_the_run_name(gen):
    client = Client()
    client.force_login(gen.personas.coder_a)
    body = client.get(reverse("api-study-detail", args=[gen.study.pk])).content.decode()
    assert gen.run.name not in body


def test_detector_sees_planted_leaks(gen):
    """Each kind of leak, planted in a page, is found (so a clean crawl means something)."""
    key = ConditionKey.objects.filter(item__study=gen.study).first()
    scaffold = gen.run.scaffolds.get(code="C3")
    item = key.item
    transcript = gen.run.transcripts.filter(finished_at__isnull=False).first()
    planted = [
        f"<p>{key.model}</p>",
        "<p>Anthropic</p>",
        f"<p>{key.scaffold}</p>",
        f"<p>{_phrases(scaffold.system_prompt)[0]}</p>",
        f"<p>{key.prompt}</p>",
        f'<a href="/studies/{gen.study.pk}/items/{item.pk}/">x</a>',
        f'{{"id": {item.pk}}}',
        f'<input type="hidden" name="x" value="{item.pk}">',
        "<p>chatcmpl-AbCdEf123</p>",
        f"<p>{gen.run.endpoints.first().name}</p>",
        f"<p>{item.external_id}</p>",
        "<p>coder_b</p>",
        json.dumps({"at": transcript.finished_at.isoformat().replace("+00:00", "Z")}),
    ]
    for body in planted:
        assert leaks(gen, "coder_a", "/x", body), body
    clean = f'<a href="/studies/{gen.study.pk}/items/{item.public_code}/">{item.public_code}</a>'
    assert not leaks(gen, "coder_a", "/x", clean)


def test_codes_and_coder_order_are_independent_of_condition(gen):
    """Chi-square per check; p > 0.01 family-wise (Bonferroni over the checks), because the
    public codes are fresh random draws on every run and so is the order built from them:
    five checks at 0.01 each would fail about one run in twenty by chance alone."""
    checks = independence_checks(gen)
    threshold = FAMILY_ALPHA / len(checks)
    failing = {k: f"{p:.2g}" for k, p in checks.items() if p <= threshold}
    if failing:  # show the data: a real dependence looks nothing like a chance fluctuation
        cond = conditions(gen.study)
        ordered = sorted(cond)
        table = contingency(
            [f"{cond[c][0]}/{cond[c][1]}" for c in ordered],
            [quantile(i, len(ordered), 3) for i in range(len(ordered))],
        )
        failing["public-code terciles"] = table
    assert not failing, f"depends on the condition (threshold {threshold}): {failing}"


def test_independence_check_can_tell():
    """Codes handed out in grid order would be caught (p is astronomically small)."""
    labels = [f"m{i // 60}/C{(i // 15) % 4 + 1}" for i in range(180)]
    assert independence_p(labels, [quantile(i, 180, 3) for i in range(180)]) < 1e-10
