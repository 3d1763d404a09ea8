"""A pairwise study for tests: 3 prompts x 2 scaffolds x 3 models, one replicate each."""

from __future__ import annotations

from coding.models import Study
from coding.services import items_import, study_open

PW_MODELS = ["zephyr-large", "orion-mini", "GPT-4o"]
PW_SCAFFOLDS = ["C1", "C3"]
PW_PROMPTS = ["P01", "P02", "P03"]


def pairwise_records() -> list[dict]:
    records = []
    for p in PW_PROMPTS:
        for s in PW_SCAFFOLDS:
            for m in PW_MODELS:
                records.append(
                    {
                        "id": f"{p}-{s}-{m}",
                        "model": m,
                        "scaffold": s,
                        "prompt": p,
                        "specification": "under",
                        "replicate": 1,
                        "run_id": f"run-secret-{p}{s}{m}",
                        "messages": [
                            {"role": "user", "content": f"Help me with request {p}."},
                            {
                                "role": "assistant",
                                "content": f"As an AI developed by OpenAI, I am {m}. "
                                f"Answer for {p} (ref chatcmpl-AbC{p}{s}). "
                                f"Variant marker {len(records) + 1:02d}x.",
                            },
                        ],
                    }
                )
    return records


def open_pairwise(personas) -> Study:
    """The personas' study made pairwise, with 18 items imported, then opened (k = 2)."""
    study = personas.study
    Study.objects.filter(pk=study.pk).update(kind=Study.Kind.PAIRWISE)
    study.refresh_from_db()
    items_import(study=study, records=pairwise_records(), by=personas.lead)
    study_open(study=study, by=personas.lead)
    study.refresh_from_db()
    return study


def all_choices(study, choice: str = "A") -> dict[str, str]:
    return {d.code: choice for d in study.rubric.dimensions.all()}
