"""How complete a study's condition keys are: counts of items per field, never values.

Used before unblinding to say which analyses a study can run and what to add. It reads no
condition value and links no item to a condition (only "n items have a specification"),
so it is not an unblinding read and is not logged; the values stay behind
``condition_key_read``/``condition_keys_read``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q

from coding.import_preview import CONDITION_NAMES, SPECIFICATIONS
from coding.models import ConditionKey, Item, Study


def _valid_specification() -> Q:
    q = Q()
    for value in SPECIFICATIONS:
        q |= Q(specification__iexact=value)
    return q


def condition_coverage(*, study: Study) -> dict[str, int]:
    """Items, transcripts, and how many transcripts' keys fill each condition field.

    Keys: ``items``, ``transcripts``, ``documents``, one per field of ``CONDITION_NAMES``,
    ``specification_valid`` (full or under), ``complete`` (model, scaffold and a valid
    specification: what scaffold efficacy uses), ``model_scaffold`` (what profiles use).
    """
    return condition_coverage_for(studies=[study])[study.pk]


def condition_coverage_for(*, studies: Iterable[Study]) -> dict[int, dict[str, int]]:
    """``condition_coverage`` of several studies in two queries (list pages)."""
    ids = [s.pk for s in studies]
    kinds: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for study_id, kind, n in (
        Item.objects.filter(study_id__in=ids)
        .values("study_id", "kind")
        .annotate(n=Count("pk"))
        .values_list("study_id", "kind", "n")
    ):
        kinds[study_id][kind] = n
    has = {
        "model": ~Q(model=""),
        "scaffold": ~Q(scaffold=""),
        "prompt": ~Q(prompt=""),
        "specification": ~Q(specification=""),
        "replicate": Q(replicate__isnull=False),
    }
    valid = _valid_specification()
    # Aggregate aliases must not shadow the fields the filters name: prefix them.
    aggregates = {f"n_{name}": Count("pk", filter=has[name]) for name in CONDITION_NAMES} | {
        "n_specification_valid": Count("pk", filter=valid),
        "n_complete": Count("pk", filter=has["model"] & has["scaffold"] & valid),
        "n_model_scaffold": Count("pk", filter=has["model"] & has["scaffold"]),
    }
    counts = {
        row.pop("item__study_id"): row
        for row in ConditionKey.objects.filter(
            item__study_id__in=ids, item__kind=Item.Kind.TRANSCRIPT
        )
        .values("item__study_id")
        .annotate(**aggregates)
        .order_by()
    }
    out = {}
    for pk in ids:
        transcripts = kinds[pk].get(Item.Kind.TRANSCRIPT, 0)
        documents = kinds[pk].get(Item.Kind.DOCUMENT, 0)
        found = counts.get(pk, {})
        out[pk] = {
            "items": transcripts + documents,
            "transcripts": transcripts,
            "documents": documents,
            **{name.removeprefix("n_"): found.get(name, 0) for name in aggregates},
        }
    return out
