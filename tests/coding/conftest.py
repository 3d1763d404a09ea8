"""Fixtures for the coding tests: a blinded study imported from realistic records."""

from __future__ import annotations

import json

import pytest

from coding.services import items_import, study_open

MODELS = ["zephyr-large", "orion-mini", "GPT-4o"]
SCAFFOLDS = ["C1", "C2", "C3", "C4"]


def make_records(n: int, *, prefix: str = "t") -> list[dict]:
    records = []
    for i in range(n):
        model = MODELS[i % len(MODELS)]
        scaffold = SCAFFOLDS[(i // len(MODELS)) % len(SCAFFOLDS)]
        records.append(
            {
                "id": f"{prefix}-{i:04d}",
                "model": model,
                "scaffold": scaffold,
                "prompt": f"P{i % 15:02d}",
                "specification": "under" if i % 5 else "full",
                "replicate": 1,
                "run_id": f"run-secret-{i}",
                "messages": [
                    {"role": "system", "content": f"SYSTEM PROMPT for {scaffold}: be careful."},
                    {"role": "user", "content": f"Help me plan task number {i}."},
                    {
                        "role": "assistant",
                        "content": f"As an AI developed by OpenAI, I am {model}. "
                        f"Here is a plan (ref chatcmpl-AbC123xyz{i}).",
                    },
                ],
            }
        )
    return records


def as_jsonl(records: list[dict]) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


@pytest.fixture
def open_study(personas):
    """The personas' study with 12 imported items, opened (k = 2, two coders)."""
    items_import(study=personas.study, records=make_records(12), by=personas.lead)
    study_open(study=personas.study, by=personas.lead)
    personas.study.refresh_from_db()
    return personas


def full_values(study, value: int = 1, note: str = "because") -> dict:
    return {
        d.code: {"value": value, "rationale": f"{note} {d.code}"}
        for d in study.rubric.dimensions.all()
    }
