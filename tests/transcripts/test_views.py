"""Generation pages: access (404 for outsiders and non-owners), forms, progress, to-study."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from coding.models import ConditionKey, Item, Membership
from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import services
from transcripts.models import GenerationRun, ModelEndpoint, Transcript

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture
def finished_run(personas, fake_server, demo_endpoints, django_capture_on_commit_callbacks):
    endpoints = demo_endpoints(personas.lead, fake_server)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_create(
            by=personas.lead,
            name="Small grid",
            endpoints=endpoints,
            scaffolds=builtin_scaffolds(),
            prompt_set=demo_prompt_set(),
            max_prompts=2,
            policy=FAST_POLICY,
        )
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
    return run


def run_urls(run: GenerationRun) -> list[tuple[str, str]]:
    cell = run.transcripts.first()
    get = [
        reverse("transcripts:run-detail", args=[run.pk]),
        reverse("transcripts:run-progress", args=[run.pk]),
        reverse("transcripts:run-card-md", args=[run.pk]),
        reverse("transcripts:run-card-json", args=[run.pk]),
        reverse("transcripts:transcript-list", args=[run.pk]),
        reverse("transcripts:transcript-detail", args=[run.pk, cell.pk]),
    ]
    post = [
        reverse("transcripts:run-cancel", args=[run.pk]),
        reverse("transcripts:run-resume", args=[run.pk]),
        reverse("transcripts:run-retry-failed", args=[run.pk]),
        reverse("transcripts:run-to-study", args=[run.pk]),
    ]
    return [("get", u) for u in get] + [("post", u) for u in post]


GENERAL = [
    "transcripts:run-list",
    "transcripts:run-create",
    "transcripts:endpoint-list",
    "transcripts:endpoint-create",
    "transcripts:library",
]


@pytest.mark.parametrize("who", ["coder_a", "coder_b", "adjudicator", "outsider"])
def test_non_leads_get_404_everywhere(personas, finished_run, login, who):
    client = login(getattr(personas, who))
    for name in GENERAL:
        assert client.get(reverse(name)).status_code == 404, name
    for method, url in run_urls(finished_run):
        assert getattr(client, method)(url).status_code == 404, url


def test_other_lead_cannot_see_someone_elses_run(personas, finished_run, login):
    client = login(personas.other_lead)
    for name in GENERAL:
        assert client.get(reverse(name)).status_code == 200, name
    for method, url in run_urls(finished_run):
        assert getattr(client, method)(url).status_code == 404, url
    page = client.get(reverse("transcripts:run-list")).content.decode()
    assert finished_run.name not in page
    finished_run.refresh_from_db()
    assert finished_run.study_id is None


def test_anonymous_is_sent_to_login(finished_run, client):
    for _, url in run_urls(finished_run)[:3]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_studies_may_generate(db, login):
    from tests.factories import UserFactory

    staff = UserFactory(username="staffer", is_staff=True)
    assert login(staff).get(reverse("transcripts:run-list")).status_code == 200


def test_lead_pages_render(personas, finished_run, login, django_assert_max_num_queries):
    client = login(personas.lead)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("transcripts:run-list"))
    assert page.status_code == 200 and "Small grid" in page.content.decode()
    for name in GENERAL:
        assert client.get(reverse(name)).status_code == 200, name
    for method, url in run_urls(finished_run)[:6]:
        assert client.get(url).status_code == 200, url
    detail = client.get(reverse("transcripts:run-detail", args=[finished_run.pk])).content
    assert b"Create blinded study" in detail and b"Run card (Markdown)" in detail
    cell = finished_run.transcripts.first()
    page = client.get(
        reverse("transcripts:transcript-detail", args=[finished_run.pk, cell.pk])
    ).content.decode()
    assert cell.provenance["served_model"] in page


def test_progress_partial_polls_only_while_running(personas, finished_run, login):
    client = login(personas.lead)
    url = reverse("transcripts:run-progress", args=[finished_run.pk])
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="run-progress"' in done and "hx-trigger" not in done
    assert 'data-count="succeeded">24<' in done and "<html" not in done
    GenerationRun.objects.filter(pk=finished_run.pk).update(status="running")
    Transcript.objects.filter(run=finished_run, scaffold__code="C4").update(state="pending")
    running = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in running and 'data-count="unfinished">6<' in running


def test_cost_estimate_when_prices_are_set(personas, finished_run, login):
    ModelEndpoint.objects.filter(runs=finished_run).update(
        price_input_per_mtok=1, price_output_per_mtok=2
    )
    page = login(personas.lead).get(reverse("transcripts:run-progress", args=[finished_run.pk]))
    assert b"estimated cost" in page.content


def test_endpoint_form_saves_and_reports_errors(personas, fake_server, login):
    client = login(personas.lead)
    url = reverse("transcripts:endpoint-create")
    data = {
        "name": "Local fake",
        "provider": "openai_compatible",
        "base_url": fake_server.openai_base_url,
        "model": "atlas-7b",
        "api_key_env": "",
        "max_concurrency": 4,
        "timeout_seconds": 30,
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert ModelEndpoint.objects.get(name="Local fake").created_by == personas.lead
    bad = client.post(url, data | {"name": "Meta", "base_url": "http://169.254.169.254/"})
    assert bad.status_code == 200 and b"metadata" in bad.content
    key = client.post(url, data | {"name": "Key", "api_key_env": "sk-proj-abc123def456"})
    assert b"NAME of an environment variable" in key.content


def test_run_form_starts_a_run(personas, fake_server, demo_endpoints, login):
    endpoints = demo_endpoints(personas.lead, fake_server)
    client = login(personas.lead)
    form = client.get(reverse("transcripts:run-create")).content.decode()
    assert "C3 Specification + process" in form
    data = {
        "name": "From the form",
        "endpoints": [e.pk for e in endpoints[:2]],
        "scaffolds": [s.pk for s in builtin_scaffolds()],
        "prompt_set": demo_prompt_set().pk,
        "max_prompts": 1,
        "replicates": 1,
        "temperature": "0.4",
        "stop": "END\n",
        "extra": '{"top_k": 5}',
    }
    with_bad_json = client.post(reverse("transcripts:run-create"), data | {"extra": "{oops"})
    assert b"Not valid JSON" in with_bad_json.content
    response = client.post(reverse("transcripts:run-create"), data)
    run = GenerationRun.objects.get(name="From the form")
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{run.pk}/")
    assert run.transcripts.count() == 8
    assert run.config == {"temperature": 0.4, "stop": ["END"], "extra": {"top_k": 5}}


def test_run_card_downloads(personas, finished_run, login):
    client = login(personas.lead)
    md = client.get(reverse("transcripts:run-card-md", args=[finished_run.pk]))
    assert md["Content-Type"].startswith("text/markdown")
    assert "attachment" in md["Content-Disposition"]
    assert b"# Run card: Small grid" in md.content
    card = json.loads(
        client.get(reverse("transcripts:run-card-json", args=[finished_run.pk])).content
    )
    assert card["counts"]["succeeded"] == 24 and card["grid"]["cells"] == 24


def test_run_to_study_creates_blinded_items(personas, finished_run, login):
    client = login(personas.lead)
    response = client.post(
        reverse("transcripts:run-to-study", args=[finished_run.pk]),
        {"name": "Coding the small grid", "coders_per_item": 2},
    )
    assert response.status_code == 302
    finished_run.refresh_from_db()
    study = finished_run.study
    assert study.name == "Coding the small grid"
    assert Membership.objects.get(study=study, user=personas.lead).role == "lead"
    items = Item.objects.filter(study=study)
    assert items.count() == 24
    assert Transcript.objects.filter(run=finished_run, item__isnull=False).count() == 24
    names = ["atlas-7b", "borealis-70b", "cirrus-mini", "atlas", "borealis", "cirrus"]
    for item in items:
        text = json.dumps(item.content).lower()
        assert [m["role"] for m in item.content["messages"]] == ["user", "assistant"]
        for name in names + ["claude", "chatgpt", "openai", "anthropic", "gemini", "chatcmpl"]:
            assert name not in text, (name, text)
    key = ConditionKey.objects.get(item=Transcript.objects.filter(run=finished_run).first().item)
    assert key.model in {"atlas-7b", "borealis-70b", "cirrus-mini"}
    assert key.scaffold in {"C1", "C2", "C3", "C4"} and key.specification == "under"
    assert key.metadata["run_id"] == finished_run.pk
    again = client.post(
        reverse("transcripts:run-to-study", args=[finished_run.pk]),
        {"name": "Twice", "coders_per_item": 2},
        follow=True,
    )
    assert b"already been turned into a study" in again.content


def test_actions_report_service_errors(personas, finished_run, login):
    client = login(personas.lead)
    page = client.post(
        reverse("transcripts:run-cancel", args=[finished_run.pk]), follow=True
    ).content
    assert b"Only a running run can be cancelled" in page
    page = client.post(
        reverse("transcripts:run-resume", args=[finished_run.pk]), follow=True
    ).content
    assert b"Nothing to resume" in page
