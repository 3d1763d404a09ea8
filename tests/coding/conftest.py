"""Fixtures for the coding tests: a blinded study imported from realistic records."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from coding.models import Assignment, Item, Membership, Study
from coding.selectors.reconcile import reconcile_queue
from coding.services import items_import, reconciliation_decide, score_submit, study_open
from tests.factories import MembershipFactory, UserFactory

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


def full_values(study, value: int = 1, note: str = "because") -> dict:
    return {
        d.code: {"value": value, "rationale": f"{note} {d.code}"}
        for d in study.rubric.dimensions.all()
    }


# --- the REST API tests' client and helpers -------------------------------------------

V1 = "/api/v1"


def as_user(api: APIClient, user) -> APIClient:
    api.force_authenticate(user=None)
    api.force_login(user)
    return api


def first_code(p, user) -> str:
    a = Assignment.objects.filter(item__study=p.study, coder=user).order_by("position").first()
    return a.item.public_code


def scores_body(study, version: int, value: int = 1, note: str = "because") -> dict:
    return {"version": version, "scores": full_values(study, value=value, note=note)}


def upload(api, study, name: str, raw: bytes):
    return api.post(
        f"{V1}/studies/{study.pk}/import/",
        {"file": SimpleUploadedFile(name, raw, content_type="application/octet-stream")},
        format="multipart",
    )


# What each persona writes as a rationale (neutral text: pages must not show usernames).
RATIONALES = {
    "coder_a": "Asks a clarifying question before answering",
    "coder_b": "Answers first, then checks one assumption",
}

# Disagreements coder_b makes on the first three items (by code): {index: {dim: value}}.
DISAGREE = {0: {"D1": 2, "D3": 0}, 1: {"D1": 0}, 2: {"D8": 2}}


def items_by_code(study: Study) -> list[Item]:
    return list(Item.objects.filter(study=study).order_by("public_code"))


def submit(study: Study, coder, item: Item, overrides: dict[str, int] | None = None) -> None:
    """Submit ``coder``'s first pass on ``item``: 1 everywhere except ``overrides``."""
    overrides = overrides or {}
    values = {
        d.code: {
            "value": overrides.get(d.code, 1),
            "rationale": f"{RATIONALES.get(coder.username, 'Scored')} ({d.code}).",
        }
        for d in study.rubric.dimensions.all()
    }
    a = Assignment.objects.get(item=item, coder=coder)
    score_submit(assignment=a, values=values, expected_version=a.version, by=coder)


def code_everything(p, disagree: dict[int, dict[str, int]] | None = None) -> list[Item]:
    """coder_a and coder_b code every item; coder_b departs from coder_a per ``disagree``."""
    disagree = DISAGREE if disagree is None else disagree
    items = items_by_code(p.study)
    for i, item in enumerate(items):
        submit(p.study, p.coder_a, item)
        submit(p.study, p.coder_b, item, disagree.get(i))
    return items


def dim(study: Study, code: str):
    return study.rubric.dimensions.get(code=code)


def resolve_all(p, items: list[Item], by=None) -> None:
    """Adjudicate every open disagreement to 1."""
    for entry in reconcile_queue(study=p.study, status="open"):
        item = next(i for i in items if i.public_code == entry.item_code)
        reconciliation_decide(
            item=item,
            dimension=dim(p.study, entry.dimension_code),
            value=1,
            method="adjudicated",
            note="settled",
            by=by or p.adjudicator,
        )


@pytest.fixture
def three_coders(personas):
    """The personas' study with a third and fourth coder, 18 items, opened (k = 2)."""
    p = personas
    extra = []
    for name in ("coder_c", "coder_d"):
        user = UserFactory(username=name)
        MembershipFactory(study=p.study, user=user, role=Membership.Role.CODER)
        extra.append(user)
    items_import(study=p.study, records=make_records(18), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    return p, extra[0], extra[1]
