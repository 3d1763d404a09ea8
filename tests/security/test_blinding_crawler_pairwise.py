"""The blinding crawl (tests/security/test_blinding_crawler.py) over a pairwise study: the
generated study's items copied into a pairwise study, opened for the same coders, some
pairs judged by coder_b. Each coder crawls their pages and their pair API; nothing may
carry a condition, another member's name or an item's database id."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from coding.models import Item, Membership, Study
from coding.services import study_open
from tests.security.crawler import (
    MAX_PER_ROUTE,
    Generated,
    _forbidden,
    crawl_html,
    leaks,
)


def _pairwise_copy(base: Generated) -> Generated:
    """A pairwise study holding copies of the generated items (same scrubbed content and
    keys), opened for the same coders, with some pairs judged by coder_b."""
    from coding.models import PairAssignment
    from coding.services import pair_judgment_submit, study_create

    p = base.personas
    study = study_create(
        name="Pairwise stress test", rubric=base.study.rubric, by=p.lead, kind=Study.Kind.PAIRWISE
    )
    for user, role in [
        (p.coder_a, Membership.Role.CODER),
        (p.coder_b, Membership.Role.CODER),
        (p.adjudicator, Membership.Role.ADJUDICATOR),
    ]:
        Membership.objects.create(study=study, user=user, role=role)
    for item in Item.objects.filter(study=base.study).select_related("condition_key"):
        key = item.condition_key
        copy = Item.objects.create(
            study=study,
            kind=item.kind,
            external_id=item.external_id,
            content=item.content,
            content_sha256=item.content_sha256,
        )
        key.pk, key.item = None, copy
        key.save()
    study_open(study=study, by=p.lead)
    study.refresh_from_db()
    choices = {d.code: "A" for d in study.rubric.dimensions.all()}
    for a in PairAssignment.objects.filter(pair__study=study, coder=p.coder_b).select_related(
        "pair__study"
    )[:5]:
        pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=p.coder_b)
    pw = Generated(study=study, run=base.run, personas=p)
    pw.forbidden = _forbidden(study, base.run, p)
    pw.item_pks = base.item_pks | set(Item.objects.filter(study=study).values_list("pk", flat=True))
    return pw


@pytest.mark.parametrize("me", ["coder_a", "coder_b"])
def test_pairwise_crawl_finds_no_condition_or_internal_id(gen, me):  # noqa: F811 - fixture
    from coding.models import PairAssignment

    pw = _pairwise_copy(gen)
    client = Client()
    client.force_login(getattr(pw.personas, me))
    reached, problems = crawl_html(pw, client, me)
    assert reached["coding:pair-queue"] >= 1 and reached["coding:code-pair"] >= 6, dict(reached)
    codes = PairAssignment.objects.filter(pair__study=pw.study, coder=getattr(pw.personas, me))
    urls = [reverse("api-my-pairs", args=[pw.study.pk])] + [
        reverse("api-my-pair", args=[pw.study.pk, code])
        for code in codes.values_list("pair__public_code", flat=True)[:MAX_PER_ROUTE]
    ]
    for url in urls:
        response = client.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, url
        problems += [f"{url}: {leak}" for leak in leaks(pw, me, url, response.content.decode())]
    assert not problems, f"{len(problems)} leaks:\n" + "\n".join(sorted(set(problems))[:60])
