"""Generation API: same services as the views; 404 for non-owners and non-leads."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts.models import GenerationRun

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture
def api(db):
    def as_user(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return as_user


def create_endpoint(client, server, **fields):
    data = {
        "name": "fake atlas",
        "provider": "openai_compatible",
        "base_url": server.openai_base_url,
        "model": "atlas-7b",
        "max_concurrency": 4,
        "timeout_seconds": 5,
    } | fields
    return client.post(reverse("api-generation-endpoints"), data, format="json")


def test_endpoints_and_library(personas, fake_server, api):
    client = api(personas.lead)
    response = create_endpoint(client, fake_server)
    assert response.status_code == 201, response.content
    assert response.json()["api_key_env"] == ""
    bad = create_endpoint(client, fake_server, name="x", base_url="http://169.254.169.254/")
    assert bad.status_code == 400 and "metadata" in bad.json()["detail"]
    listed = client.get(reverse("api-generation-endpoints")).json()
    assert [e["name"] for e in listed] == ["fake atlas"]
    scaffolds = client.get(reverse("api-generation-scaffolds")).json()
    assert [s["code"] for s in scaffolds] == ["C1", "C2", "C3", "C4"]
    sets = client.get(reverse("api-generation-prompt-sets")).json()
    assert len(sets[0]["prompts"]) == 15


def test_run_lifecycle_through_the_api(
    personas, fake_server, api, django_capture_on_commit_callbacks
):
    client = api(personas.lead)
    endpoint = create_endpoint(client, fake_server).json()
    body = {
        "name": "API run",
        "endpoints": [endpoint["id"]],
        "scaffolds": [s.pk for s in builtin_scaffolds()],
        "prompt_set": demo_prompt_set().pk,
        "max_prompts": 2,
        "config": {"temperature": 0.1, "seed": 3, "extra": {"top_k": 2}},
        "policy": FAST_POLICY,
    }
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(reverse("api-generation-runs"), body, format="json")
    assert created.status_code == 201, created.content
    run_id = created.json()["id"]
    detail = client.get(reverse("api-generation-run", args=[run_id])).json()
    assert detail["status"] == "finished"
    assert detail["progress"]["succeeded"] == 8 and detail["progress"]["total"] == 8
    assert detail["config"]["extra"] == {"top_k": 2}
    cells = client.get(reverse("api-generation-transcripts", args=[run_id])).json()
    assert len(cells) == 8 and all(c["state"] == "succeeded" for c in cells)
    card = client.get(reverse("api-generation-card", args=[run_id])).json()
    assert card["counts"]["succeeded"] == 8
    md = client.get(reverse("api-generation-card-md", args=[run_id]))
    assert md.status_code == 200 and md.content.startswith(b"# Run card: API run")

    assert client.post(reverse("api-generation-cancel", args=[run_id])).status_code == 400
    GenerationRun.objects.filter(pk=run_id).update(status="running")
    cancelled = client.post(reverse("api-generation-cancel", args=[run_id])).json()
    assert cancelled["status"] == "cancelled"
    GenerationRun.objects.filter(pk=run_id).update(status="finished")
    study = client.post(
        reverse("api-generation-to-study", args=[run_id]), {"name": "API study"}, format="json"
    )
    assert study.status_code == 201 and study.json()["items"] == 8


def test_run_create_validates(personas, fake_server, api, make_endpoint):
    client = api(personas.lead)
    theirs = make_endpoint(owner=personas.other_lead, server=fake_server)
    body = {
        "name": "x",
        "endpoints": [theirs.pk],
        "scaffolds": [s.pk for s in builtin_scaffolds()],
        "prompt_set": demo_prompt_set().pk,
    }
    response = client.post(reverse("api-generation-runs"), body, format="json")
    assert response.status_code == 400 and "Unknown" in str(response.json())
    mine = make_endpoint(owner=personas.lead, server=fake_server)
    response = client.post(
        reverse("api-generation-runs"),
        body | {"endpoints": [mine.pk], "config": {"extra": {"api_key": "sk-x"}}},
        format="json",
    )
    assert response.status_code == 400 and "secret" in response.json()["detail"]


def test_api_404_for_non_owners_and_non_leads(personas, fake_server, api, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    from transcripts import services

    run = services.run_create(
        by=personas.lead,
        name="private",
        endpoints=[endpoint],
        scaffolds=builtin_scaffolds(),
        prompt_set=demo_prompt_set(),
        max_prompts=1,
    )
    run_urls = [
        ("get", reverse("api-generation-run", args=[run.pk])),
        ("get", reverse("api-generation-card", args=[run.pk])),
        ("get", reverse("api-generation-card-md", args=[run.pk])),
        ("get", reverse("api-generation-transcripts", args=[run.pk])),
        ("post", reverse("api-generation-cancel", args=[run.pk])),
        ("post", reverse("api-generation-resume", args=[run.pk])),
        ("post", reverse("api-generation-retry-failed", args=[run.pk])),
        ("post", reverse("api-generation-to-study", args=[run.pk])),
        ("get", reverse("api-generation-endpoint", args=[endpoint.pk])),
    ]
    other = api(personas.other_lead)
    for method, url in run_urls:
        assert getattr(other, method)(url).status_code == 404, url
    assert other.get(reverse("api-generation-runs")).json() == []
    coder = api(personas.coder_a)
    for url in [reverse("api-generation-runs"), reverse("api-generation-endpoints")]:
        assert coder.get(url).status_code == 404
    for method, url in run_urls:
        assert getattr(coder, method)(url).status_code == 404, url
    assert APIClient().get(reverse("api-generation-runs")).status_code in (401, 403)
