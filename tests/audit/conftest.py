"""Fixtures for the audit page tests: a coded, reconciled (and optionally unblinded) study.

Scores follow the stress-test design so the analyses have something to find: C2 raises
D1, C3 raises D1 and D2, C4 raises D3; coder_b departs from coder_a on a fixed share of
cells. Reconciled values are set directly (the reconciliation service is tested
elsewhere), as is the unblinded status.
"""

from __future__ import annotations

import pytest

from audit.tasks import agreement_snapshot
from coding.models import Assignment, Item, Reconciliation, Study
from coding.services import items_import, score_submit, study_open
from tests.coding.conftest import make_records

BOOST = {"C2": {"D1"}, "C3": {"D1", "D2"}, "C4": {"D3"}}


def true_value(scaffold: str, code: str, index: int) -> int:
    """A deterministic score: 2 where the scaffold targets the dimension, else 0/1."""
    replicate = index // 12  # items i and i + 12 share model and scaffold
    if code in BOOST.get(scaffold, set()):
        return 1 if replicate % 2 else 2
    return (index + replicate + int(code[1:])) % 3 // 2


def coder_b_value(value: int, index: int, code: str) -> int:
    """coder_b disagrees on roughly one cell in six."""
    return (value + 1) % 3 if (index * 7 + int(code[1:])) % 6 == 0 else value


def submit_all(study: Study, coders, n_items: int | None = None) -> None:
    """Submit first-pass scores for (up to n_items) items for every given coder."""
    dims = [d.code for d in study.rubric.dimensions.all()]
    items = Item.objects.filter(study=study).select_related("condition_key").order_by("external_id")
    for index, item in enumerate(items[:n_items] if n_items else items):
        scaffold = item.condition_key.scaffold if hasattr(item, "condition_key") else "C1"
        base = {code: true_value(scaffold, code, index) for code in dims}
        for coder in coders:
            a = Assignment.objects.select_related("item__study__rubric").get(item=item, coder=coder)
            values = {
                code: {
                    "value": base[code]
                    if coder.username != "coder_b"
                    else coder_b_value(base[code], index, code),
                    "rationale": "",
                }
                for code in dims
            }
            score_submit(assignment=a, values=values, expected_version=a.version, by=coder)


def reconcile_all(study: Study, by) -> None:
    """Final value = coder_a's score wherever submission did not already auto-agree one."""
    done = set(
        Reconciliation.objects.filter(item__study=study).values_list("item_id", "dimension_id")
    )
    rows = []
    for a in Assignment.objects.filter(
        item__study=study, coder__username="coder_a", status=Assignment.Status.SUBMITTED
    ).prefetch_related("scores"):
        for s in a.scores.all():
            if (a.item_id, s.dimension_id) in done:
                continue
            rows.append(
                Reconciliation(
                    item_id=a.item_id,
                    dimension_id=s.dimension_id,
                    value=s.value,
                    method=Reconciliation.Method.ADJUDICATED,
                    decided_by=by,
                )
            )
    Reconciliation.objects.bulk_create(rows)


def build_study(
    p, n: int = 24, *, unblind: bool = False, records=None, snapshot: bool = True
) -> Study:
    """Import n stress-test records, open, code by both coders, reconcile; maybe unblind;
    then (``snapshot``) run the agreement task as the worker would after the lead's visit
    (requests never compute agreement themselves)."""
    items_import(study=p.study, records=records or make_records(n), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    submit_all(p.study, [p.coder_a, p.coder_b])
    reconcile_all(p.study, p.adjudicator)
    if unblind:
        Study.objects.filter(pk=p.study.pk).update(status=Study.Status.UNBLINDED)
    p.study.refresh_from_db()
    if snapshot:
        agreement_snapshot(p.study.pk, by_id=p.lead.pk)
    return p.study


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Persona passwords hash with MD5 here: PBKDF2 would dominate these tests' time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def coded(personas):
    """Personas whose study (12 items) is coded and reconciled but still open (sealed)."""
    build_study(personas, n=12)
    return personas


@pytest.fixture
def unblinded(personas):
    """Personas whose study is coded, reconciled and unblinded."""
    build_study(personas, unblind=True)
    return personas


def submit_all_rest(p):
    from coding.models import Assignment
    from coding.services import score_submit

    for a in Assignment.objects.filter(item__study=p.study, status="open").select_related(
        "item__study__rubric", "coder"
    ):
        values = {d.code: {"value": 1} for d in p.study.rubric.dimensions.all()}
        score_submit(assignment=a, values=values, expected_version=a.version, by=a.coder)


# Greetings only one model uses: the kind of leak the check is for.
VOICES = {"zephyr-large": "Certainly, friend!", "orion-mini": "Righto, mate.", "GPT-4o": ""}


def voiced_records() -> list[dict]:
    """24 items over 4 prompts, each prompt answered by every model (so folds can test it)."""
    rows = make_records(24)
    for i, row in enumerate(rows):
        row["prompt"] = f"P{i // 6:02d}"
        row["messages"][-1]["content"] += " " + VOICES[row["model"]]
    return rows


def trip_conversation(i: int) -> list[dict]:
    return [
        {"role": "user", "content": f"Plan trip {i}."},
        {"role": "assistant", "content": "Where to, and for how long?"},
        {"role": "user", "content": "Lisbon, three days."},
        {"role": "assistant", "content": "Here is a plan."},
    ]


def claim_study(p, *, agree: bool) -> Study:
    """24 two-turn transcripts: one model, scaffolds C1/C2 (12 each), hashes recorded."""
    records = make_records(24)
    for i, r in enumerate(records):
        r.update(model="m-1", scaffold=f"C{1 + i % 2}", scaffold_sha256=f"sha-C{1 + i % 2}")
        r["messages"] = trip_conversation(i)
    items_import(study=p.study, records=records, by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    if agree:
        submit_all(p.study, [p.coder_a, p.coder_b])
    else:  # coder_b's scores have nothing to do with coder_a's
        submit_all(p.study, [p.coder_a])
        dims = [d.code for d in p.study.rubric.dimensions.all()]
        for n, a in enumerate(Assignment.objects.filter(coder=p.coder_b).order_by("item_id")):
            values = {
                code: {"value": (n * 5 + i * 3) % 3, "rationale": ""} for i, code in enumerate(dims)
            }
            score_submit(assignment=a, values=values, expected_version=a.version, by=p.coder_b)
    reconcile_all(p.study, p.adjudicator)
    Study.objects.filter(pk=p.study.pk).update(
        status=Study.Status.UNBLINDED, deployment_context="Trip planning help desk"
    )
    p.study.refresh_from_db()
    agreement_snapshot(p.study.pk, by_id=p.lead.pk)  # the worker, after the lead's visit
    return p.study
