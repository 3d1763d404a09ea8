"""The offline demo: a grid from the in-process fake server, then a blinded study."""

from __future__ import annotations

from coding.models import Item
from demo.generation import generate_demo_run, run_to_study
from transcripts.models import GenerationRun, ModelEndpoint


def test_generate_demo_run_and_study(personas):
    run = generate_demo_run(lead=personas.lead, n_prompts=3)
    assert run.status == GenerationRun.Status.FINISHED
    assert run.transcripts.count() == 3 * 4 * 3
    assert set(run.transcripts.values_list("state", flat=True)) == {"succeeded"}
    assert set(ModelEndpoint.objects.values_list("model", flat=True)) == {
        "atlas-7b",
        "borealis-70b",
        "cirrus-mini",
    }
    study = run_to_study(run=run, by=personas.lead, name="Demo study", seed=1)
    assert Item.objects.filter(study=study).count() == 36
    # Running the demo again reuses the endpoints.
    again = generate_demo_run(lead=personas.lead, n_prompts=1)
    assert ModelEndpoint.objects.count() == 3 and again.transcripts.count() == 12


def test_demo_endpoints_follow_the_model_server_port(db, settings):
    """`make run` may put its model server on another port: every start re-points the
    demo endpoints of each user who may generate (lead and operator) at it."""
    from django.core.management import call_command

    settings.DEBUG = True
    settings.FAKE_MODEL_PORT = 18001
    call_command("demo", users_only=True, password="demo-pass-123")
    rows = list(ModelEndpoint.objects.values_list("created_by__username", "base_url"))
    assert {user for user, _ in rows} == {"lead", "operator"} and len(rows) == 6
    assert all(":18001" in url for _, url in rows), rows
    settings.FAKE_MODEL_PORT = 18002
    call_command("demo", users_only=True)
    assert ModelEndpoint.objects.count() == 6
    assert all(":18002" in url for url in ModelEndpoint.objects.values_list("base_url", flat=True))
