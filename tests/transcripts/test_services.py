"""Generation services: endpoints, the scaffold/prompt library, run creation and control."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from coding.services import ServiceError
from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import services
from transcripts.builtin import text_sha256
from transcripts.models import GenerationRun, ModelEndpoint, Prompt, Scaffold, Transcript
from transcripts.selectors import prompt_list_current, scaffold_list_current

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


def test_builtins_shipped_by_migration(db):
    scaffolds = {s.code: s for s in scaffold_list_current()}
    assert set(scaffolds) == {"C1", "C2", "C3", "C4"}
    assert scaffolds["C1"].system_prompt == ""
    assert scaffolds["C2"].target_dimensions == ["D1"]
    assert scaffolds["C3"].target_dimensions == ["D1", "D2"]
    assert scaffolds["C4"].target_dimensions == ["D3"]
    for s in scaffolds.values():
        assert s.sha256 == text_sha256(s.system_prompt)
    prompts = prompt_list_current(demo_prompt_set())
    assert len(prompts) == 15
    assert sum(p.specification == "under" for p in prompts) == 12


def test_endpoint_create_stores_only_the_variable_name(personas, fake_server):
    endpoint = services.endpoint_create(
        by=personas.lead,
        name="Local",
        provider="openai_compatible",
        base_url=fake_server.openai_base_url,
        model="atlas-7b",
        api_key_env="LOCAL_KEY",
    )
    assert endpoint.api_key_env == "LOCAL_KEY"
    with pytest.raises(ServiceError, match="already have"):
        services.endpoint_create(
            by=personas.lead,
            name="Local",
            provider="openai_compatible",
            base_url=fake_server.openai_base_url,
            model="atlas-7b",
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"api_key_env": "sk-live-abcdef0123456789"}, "NAME of an environment variable"),
        ({"base_url": "http://169.254.169.254/"}, "metadata"),
        ({"provider": "bard"}, "Unknown provider"),
        ({"default_params": {"extra": {"api_key": "x"}}}, "looks like a secret"),
        ({"default_params": {"extra": {"model": "x"}}}, "cannot be overridden"),
        ({"max_concurrency": 0}, "Concurrency"),
        ({"base_url": "http://127.0.0.1:9/v1?api_key=sk-abc"}, "query string"),
    ],
)
def test_endpoint_create_refuses(personas, fake_server, fields, message):
    data = {
        "by": personas.lead,
        "name": "E",
        "provider": "openai_compatible",
        "base_url": fake_server.openai_base_url,
        "model": "atlas-7b",
    } | fields
    with pytest.raises(ServiceError, match=message):
        services.endpoint_create(**data)
    assert not ModelEndpoint.objects.exists()


def test_editing_makes_new_versions(personas):
    c2 = Scaffold.objects.get(code="C2", version=1)
    v2 = services.scaffold_new_version(scaffold=c2, by=personas.lead, system_prompt="Ask first.")
    assert (v2.code, v2.version, v2.previous) == ("C2", 2, c2)
    assert v2.sha256 == text_sha256("Ask first.")
    assert {s.code: s.version for s in scaffold_list_current()}["C2"] == 2
    c2.refresh_from_db()
    assert c2.system_prompt != "Ask first."  # the old version is untouched

    prompt_set = demo_prompt_set()
    p01 = Prompt.objects.get(prompt_set=prompt_set, code="P01")
    new = services.prompt_new_version(prompt=p01, text="Write a date parser.", by=personas.lead)
    assert new.version == 2 and new.sha256 == text_sha256("Write a date parser.")
    current = {p.code: p for p in prompt_list_current(prompt_set)}
    assert current["P01"] == new and len(current) == 15


def test_prompt_set_create_validates(personas):
    ps = services.prompt_set_create(
        name="Mine",
        by=personas.lead,
        prompts=[
            {"code": "A", "text": "Do a thing.", "specification": "under"},
            {"code": "B", "text": "Do it exactly so.", "specification": "full"},
        ],
    )
    assert ps.prompts.count() == 2
    with pytest.raises(ServiceError, match="distinct code"):
        services.prompt_set_create(
            name="Dup",
            by=personas.lead,
            prompts=[{"code": "A", "text": "x", "specification": "under"}] * 2,
        )


def _run(personas, endpoints, **kwargs):
    return services.run_create(
        by=personas.lead,
        name="Grid",
        endpoints=endpoints,
        scaffolds=builtin_scaffolds(),
        prompt_set=demo_prompt_set(),
        policy=FAST_POLICY,
        **kwargs,
    )


def test_run_create_materialises_grid_and_enqueues_on_commit(
    personas, fake_server, demo_endpoints, django_capture_on_commit_callbacks
):
    endpoints = demo_endpoints(personas.lead, fake_server)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = _run(personas, endpoints, replicates=2, config={"temperature": 0.5, "seed": 9})
    assert len(callbacks) == 1  # one dispatch, sent only after commit
    assert run.transcripts.count() == 3 * 4 * 15 * 2
    assert set(run.transcripts.values_list("state", flat=True)) == {"pending"}
    assert run.config == {"temperature": 0.5, "seed": 9, "extra": {}}
    assert run.policy["lease_seconds"] == 5
    assert run.code_commit and run.package_versions["openai"]
    cell = run.transcripts.first()
    with pytest.raises(IntegrityError):
        Transcript.objects.create(
            run=run,
            endpoint=cell.endpoint,
            scaffold=cell.scaffold,
            prompt=cell.prompt,
            replicate=cell.replicate,
        )


def test_run_create_rules(personas, fake_server, make_endpoint):
    mine = make_endpoint(owner=personas.lead, server=fake_server)
    theirs = make_endpoint(owner=personas.other_lead, server=fake_server)
    with pytest.raises(ServiceError, match="your own endpoints"):
        _run(personas, [mine, theirs])
    with pytest.raises(ServiceError, match="looks like a secret"):
        _run(personas, [mine], config={"extra": {"x_api_key": "abc"}})
    with pytest.raises(ServiceError, match="Temperature"):
        _run(personas, [mine], config={"temperature": 5})
    run = _run(personas, [mine], max_prompts=2, replicates=1)
    assert run.transcripts.count() == 4 * 2


def test_cancel_resume_retry_failed(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = _run(personas, [endpoint], max_prompts=1)  # dispatch never runs (test transaction)
    services.run_cancel(run=run, by=personas.lead)
    assert run.status == GenerationRun.Status.CANCELLED
    with pytest.raises(ServiceError):
        services.run_cancel(run=run, by=personas.lead)
    assert services.run_resume(run=run, by=personas.lead) == 4
    assert run.status == GenerationRun.Status.RUNNING
    with pytest.raises(ServiceError, match="No failed"):
        services.run_retry_failed(run=run, by=personas.lead)
    run.transcripts.update(state="failed", attempts=4)
    assert services.run_retry_failed(run=run, by=personas.lead) == 4
    assert set(run.transcripts.values_list("state", "attempts")) == {("pending", 0)}


def test_resume_finishes_a_run_whose_last_cell_was_stored(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = _run(personas, [endpoint], max_prompts=1)
    run.transcripts.update(state="succeeded")  # as if the worker died before the finish check
    with pytest.raises(ServiceError, match="Nothing to resume"):
        services.run_resume(run=run, by=personas.lead)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
