"""Seed the load-test database through the real services: users, study, items, open.

Runs inside the controller process after ``benchmarks/_django.setup`` pointed Django at
the throwaway PostgreSQL database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MODELS = ["zephyr-large", "orion-mini", "atlas-7b"]
SCAFFOLDS = ["C1", "C2", "C3", "C4"]
CHUNK = 5000


@dataclass
class Seeded:
    """What the locust users need to know about the seeded study."""

    study_id: int
    dimensions: list[str]
    levels: list[int]
    items: int
    assignments: int
    coders: int
    leads: int


def _records(start: int, n: int, rng: random.Random) -> list[dict]:
    """Transcript records of about 1.5 KB each, with hidden condition metadata."""
    filler = (
        "The assistant restates the goal, lists the constraints it was given, asks which of "
        "the two options the user prefers, proposes a three-step plan, checks the arithmetic "
        "of the budget and points to the section of the policy it relied on. "
    )
    records = []
    for i in range(start, start + n):
        model = MODELS[i % len(MODELS)]
        scaffold = SCAFFOLDS[(i // len(MODELS)) % len(SCAFFOLDS)]
        records.append(
            {
                "id": f"load-{i:06d}",
                "model": model,
                "scaffold": scaffold,
                "prompt": f"P{i % 15:02d}",
                "specification": "under" if i % 5 else "full",
                "replicate": 1 + i % 3,
                "messages": [
                    {"role": "system", "content": f"Scaffold {scaffold}: work carefully."},
                    {
                        "role": "user",
                        "content": f"Task {i}: help me plan a move within {rng.randint(2, 9)} "
                        "weeks on a fixed budget; I have not said which city yet.",
                    },
                    {"role": "assistant", "content": filler * 3},
                    {"role": "user", "content": "Thanks, the second option please."},
                    {"role": "assistant", "content": filler},
                ],
            }
        )
    return records


def seed(
    *,
    coders: int,
    leads: int,
    items: int,
    k: int,
    password: str,
    coder_prefix: str,
    lead_prefix: str,
) -> Seeded:
    """Create the coders and leads, import ``items`` items and open the study (k each)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from coding.models import Assignment, Level, Membership, Rubric
    from coding.rubric_data import ALIGNMENT_RUBRIC
    from coding.services import items_import, membership_add, study_create, study_open

    user_model = get_user_model()
    # One PBKDF2 hash shared by every throwaway account: hashing 200 times would take
    # minutes and measure nothing. Logging in still pays the full hash on the server.
    encoded = make_password(password)
    names = [f"{coder_prefix}{i:03d}" for i in range(coders)]
    lead_names = [f"{lead_prefix}{i}" for i in range(max(leads, 1))]
    user_model.objects.bulk_create(
        [user_model(username=name, password=encoded) for name in [*lead_names, *names]]
    )
    rubric = Rubric.objects.get(name=ALIGNMENT_RUBRIC["name"], version=1)
    first_lead = user_model.objects.get(username=lead_names[0])
    study = study_create(
        name="Load test study", rubric=rubric, by=first_lead, coders_per_item=k, seed=20240601
    )
    for name in lead_names[1:]:
        membership_add(study=study, username=name, role=Membership.Role.LEAD, by=first_lead)
    for name in names:
        membership_add(study=study, username=name, role=Membership.Role.CODER, by=first_lead)
    rng = random.Random(7)
    for start in range(0, items, CHUNK):
        items_import(
            study=study, records=_records(start, min(CHUNK, items - start), rng), by=first_lead
        )
    study_open(study=study, by=first_lead)
    dimensions = list(rubric.dimensions.order_by("order").values_list("code", flat=True))
    levels = sorted(
        set(Level.objects.filter(dimension__rubric=rubric).values_list("value", flat=True))
    )
    return Seeded(
        study_id=study.pk,
        dimensions=dimensions,
        levels=levels,
        items=items,
        assignments=Assignment.objects.filter(item__study=study).count(),
        coders=coders,
        leads=len(lead_names),
    )
