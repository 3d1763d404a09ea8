"""Writes of the lead pages' counters and disagreement list (see ``coding.models_tally``).

Called inside the transaction of the write that changes what they count: assignment,
submission, reconciliation, a coder's removal. ``tally_rebuild`` recomputes them from
the data (a migration did it for existing studies; bulk loaders call it).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Q, Sum

from coding.models import (
    Assignment,
    Disagreement,
    Item,
    Reconciliation,
    Score,
    Study,
    StudyTally,
)


def tally_add(*, study_id: int, user_id: int | None, **deltas: int) -> None:
    """Add ``deltas`` (e.g. ``submitted=1``) to one counter row, creating it if needed."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    rows = StudyTally.objects.filter(study_id=study_id, user_id=user_id)
    if rows.update(**{k: F(k) + v for k, v in deltas.items()}):
        return
    try:
        with transaction.atomic():
            StudyTally.objects.create(study_id=study_id, user_id=user_id, **deltas)
    except IntegrityError:  # created concurrently: add to it
        rows.update(**{k: F(k) + v for k, v in deltas.items()})


def method_field(method: str) -> str:
    return {"agreed": "agreed", "discussion": "discussion", "adjudicated": "adjudicated"}[method]


def disagreements_record(*, item: Item, values: dict[int, list[int]], dims) -> int:
    """Record the item's disagreeing cells once it is fully coded; ``values`` maps
    dimension id -> submitted values. Returns how many were recorded."""
    rows = [
        Disagreement(
            study_id=item.study_id,
            item_id=item.pk,
            dimension_id=d.pk,
            item_code=item.public_code,
            dimension_order=d.order,
            low=min(values[d.pk]),
            high=max(values[d.pk]),
            coders=len(values[d.pk]),
        )
        for d in dims
        if len(set(values.get(d.pk, []))) > 1
    ]
    Disagreement.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def tally_rebuild(*, study: Study) -> None:
    """Recompute the study's counters and disagreement list from its data. Idempotent."""
    with transaction.atomic():
        StudyTally.objects.filter(study=study).delete()
        Disagreement.objects.filter(study=study).delete()
        per_coder = (
            Assignment.objects.filter(item__study=study)
            .values("coder_id")
            .annotate(n=Count("pk"), done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)))
        )
        rows = {
            r["coder_id"]: StudyTally(
                study=study, user_id=r["coder_id"], assigned=r["n"], submitted=r["done"]
            )
            for r in per_coder
        }
        complete = (
            Item.objects.filter(study=study)
            .annotate(
                n=Count("assignments"),
                open_n=Count("assignments", filter=Q(assignments__status=Assignment.Status.OPEN)),
            )
            .filter(n__gt=0, open_n=0)
        )
        by_method = dict(
            Reconciliation.objects.filter(item__study=study)
            .values("method")
            .annotate(n=Count("pk"))
            .values_list("method", "n")
        )
        items = Item.objects.filter(study=study).aggregate(n=Count("pk"), r=Sum("redaction_count"))
        rows[None] = StudyTally(
            study=study,
            user_id=None,
            items=items["n"],
            redactions=items["r"] or 0,
            completed=complete.count(),
            **{method_field(m): n for m, n in by_method.items()},
        )
        StudyTally.objects.bulk_create(rows.values())
        cells = (
            Score.objects.filter(
                assignment__item__in=complete.values("pk"),
                assignment__status=Assignment.Status.SUBMITTED,
                value__isnull=False,
            )
            .values(
                "assignment__item_id",
                "assignment__item__public_code",
                "dimension_id",
                "dimension__order",
            )
            .annotate(n=Count("pk"), lo=Min("value"), hi=Max("value"))
            .filter(hi__gt=F("lo"))
        )
        Disagreement.objects.bulk_create(
            (
                Disagreement(
                    study=study,
                    item_id=c["assignment__item_id"],
                    dimension_id=c["dimension_id"],
                    item_code=c["assignment__item__public_code"],
                    dimension_order=c["dimension__order"],
                    low=c["lo"],
                    high=c["hi"],
                    coders=c["n"],
                )
                for c in cells.iterator(chunk_size=5000)
            ),
            batch_size=5000,
        )
