"""The offline demo: a grid from the in-process fake server, then a blinded study."""

from __future__ import annotations

from coding.models import Item
from transcripts.demo import generate_demo_run, run_to_study
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
