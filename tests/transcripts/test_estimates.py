"""Before you spend: the new-run form previews cells, tokens and cost, and asks above a
threshold before it starts anything."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.transcripts.conftest import builtin_scaffolds, demo_prompt_set
from transcripts import limits
from transcripts.cells import cell_messages
from transcripts.estimates import run_estimate
from transcripts.models import GenerationRun
from transcripts.selectors import prompt_list_current

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture
def priced(personas, make_endpoint):
    return [
        make_endpoint(
            owner=personas.lead,
            base_url="http://127.0.0.1:9/v1",
            model="atlas-7b",
            price_input_per_mtok=Decimal("1.00"),
            price_output_per_mtok=Decimal("4.00"),
        ),
        make_endpoint(
            owner=personas.lead,
            base_url="http://127.0.0.1:9/v1",
            model="cirrus-mini",
            price_input_per_mtok=Decimal("0.50"),
            price_output_per_mtok=Decimal("2.00"),
        ),
    ]


def test_estimate_counts_cells_tokens_and_cost(priced):
    scaffolds = builtin_scaffolds()[:2]
    prompts = prompt_list_current(demo_prompt_set())[:3]
    estimate = run_estimate(
        endpoints=priced, scaffolds=scaffolds, prompts=prompts, replicates=2, max_tokens=100
    )
    assert estimate.cells == 2 * 2 * 3 * 2
    per_endpoint_input = 2 * sum(
        limits.message_tokens(cell_messages(system_prompt=s.system_prompt, prompt_text=p.text))
        for s in scaffolds
        for p in prompts
    )
    assert estimate.input_tokens == 2 * per_endpoint_input
    assert estimate.output_tokens == 24 * 100 and not estimate.output_assumed
    expected = (
        per_endpoint_input * Decimal("1.00")
        + 1200 * Decimal("4.00")
        + per_endpoint_input * Decimal("0.50")
        + 1200 * Decimal("2.00")
    ) / 1_000_000
    assert estimate.cost == expected.quantize(Decimal("0.0001"))
    assert not estimate.needs_confirmation


def test_unpriced_endpoint_makes_the_cost_unknown(personas, priced, make_endpoint):
    free = make_endpoint(owner=personas.lead, base_url="http://127.0.0.1:9/v1", name="Local")
    estimate = run_estimate(
        endpoints=[*priced, free],
        scaffolds=builtin_scaffolds()[:1],
        prompts=prompt_list_current(demo_prompt_set())[:1],
        replicates=1,
        max_tokens=None,
    )
    assert estimate.cost is None and estimate.unpriced == ["Local"]
    assert estimate.output_assumed and estimate.output_per_reply == limits.DEFAULT_OUTPUT_TOKENS


def _form(endpoints, **extra):
    data = {
        "name": "Sized run",
        "endpoints": [e.pk for e in endpoints],
        "scaffolds": [s.pk for s in builtin_scaffolds()[:2]],
        "prompt_set": demo_prompt_set().pk,
        "max_prompts": 3,
        "replicates": 1,
        "max_tokens": 200,
    }
    return data | extra


def test_preview_partial_while_filling_in(personas, priced, login):
    client = login(personas.lead)
    page = client.post(reverse("transcripts:run-estimate"), _form(priced)).content.decode()
    assert 'data-estimate="cells">12<' in page and "≤ $" in page and "<html" not in page
    empty = client.post(reverse("transcripts:run-estimate"), {"name": "x"}).content.decode()
    assert "Pick at least one endpoint" in empty
    outsider = login(personas.outsider).post(reverse("transcripts:run-estimate"), _form(priced))
    assert outsider.status_code == 404


def test_big_run_needs_confirmation_before_it_starts(
    personas, priced, login, settings, django_capture_on_commit_callbacks
):
    settings.GENERATION_CONFIRM_CELLS = 10
    client = login(personas.lead)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        page = client.post(reverse("transcripts:run-create"), _form(priced))
    assert page.status_code == 200 and not queued
    assert not GenerationRun.objects.exists()
    html = page.content.decode()
    assert "Please confirm" in html and "it has 12 cells" in html and 'name="confirm"' in html
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(reverse("transcripts:run-create"), _form(priced, confirm="on"))
    assert started.status_code == 302 and len(queued) == 1  # the dispatch, after commit
    assert GenerationRun.objects.get().transcripts.count() == 12


def test_cost_threshold_asks_too(personas, priced, login, settings):
    settings.GENERATION_CONFIRM_USD = 0  # any priced run
    page = login(personas.lead).post(reverse("transcripts:run-create"), _form(priced))
    assert "it may cost up to $" in page.content.decode()
    assert not GenerationRun.objects.exists()
