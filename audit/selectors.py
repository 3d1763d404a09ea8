"""Reads for the audit app: first-pass ratings, reconciled values, snapshots, registry.

Agreement is computed on first-pass submitted scores; analyses on reconciled values.
Selectors that touch the sealed condition key (``*_with_keys``) must only be called by
``audit.services.analysis_rows_read``, which checks the study is unblinded and logs the
read as an Event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower

from coding.models import Assignment, Dimension, Item, Membership, Reconciliation, Score, Study
from coding.selectors import study_totals

from .models import AgreementSnapshot, Benchmark, ClaimStatement

BENCHMARK_PREFIX = "benchmark-"


@dataclass(frozen=True)
class DimensionInfo:
    """A rubric dimension with its ordered categories (level values)."""

    code: str
    name: str
    categories: tuple[int, ...]


def dimension_list(*, study: Study) -> list[DimensionInfo]:
    """The study rubric's dimensions in rubric order, each with its level values."""
    dims = Dimension.objects.filter(rubric_id=study.rubric_id).prefetch_related("levels")
    return [
        DimensionInfo(d.code, d.name, tuple(sorted(level.value for level in d.levels.all())))
        for d in dims.order_by("order", "code")
    ]


def submitted_count(*, study: Study) -> int:
    """Submitted assignments: the freshness key of an agreement snapshot."""
    return study_totals(study=study)["submitted"]


def first_pass_ratings(*, study: Study) -> list[tuple[str, str, str, int]]:
    """(item code, coder username, dimension code, value) of every submitted first-pass score
    of an ordinary item (gold items are not study data: coding/services/gold.py)."""
    return list(
        Score.objects.filter(
            assignment__item__study=study,
            assignment__item__gold__isnull=True,
            assignment__status=Assignment.Status.SUBMITTED,
            value__isnull=False,
        )
        .order_by("assignment__item_id", "assignment__coder_id", "dimension__order")
        .values_list(
            "assignment__item__public_code",
            "assignment__coder__username",
            "dimension__code",
            "value",
        )
    )


def condition_labels_with_keys(*, study: Study) -> dict[str, str]:
    """Item code -> "model · scaffold" from the sealed key (callers log the read)."""
    rows = Item.objects.filter(study=study, condition_key__isnull=False).values_list(
        "public_code", "condition_key__model", "condition_key__scaffold"
    )
    return {
        code: " · ".join(part for part in (model, scaffold) if part) or "(no condition)"
        for code, model, scaffold in rows
    }


def reconciled_values(*, study: Study) -> list[dict[str, Any]]:
    """Reconciled (final) values: one dict per item x dimension, no condition data."""
    fields = ("item_id", "item__public_code", "item__external_id", "dimension__code", "value")
    rows = (
        Reconciliation.objects.filter(item__study=study)
        .order_by("item_id", "dimension__order")
        .values_list(*fields)
    )
    return [
        {"item_id": i, "code": code, "external_id": ext, "dimension": dim, "value": value}
        for i, code, ext, dim, value in rows
    ]


KEY_FIELDS = ("model", "scaffold", "prompt", "specification")


def reconciled_rows_with_keys(*, study: Study) -> list[dict[str, Any]]:
    """Reconciled values joined to the sealed condition key (callers log the read)."""
    rows = (
        Reconciliation.objects.filter(item__study=study)
        .order_by("item_id", "dimension__order")
        .values_list(
            "item__public_code",
            "dimension__code",
            "value",
            *[f"item__condition_key__{name}" for name in KEY_FIELDS],
        )
    )
    return [
        {"item": code, "dimension": dim, "value": value, **dict(zip(KEY_FIELDS, key, strict=True))}
        for code, dim, value, *key in rows
    ]


def key_metadata_with_keys(*, study: Study) -> list[dict[str, Any]]:
    """Per item: model, scaffold and key metadata (scaffold hashes, run ids); callers log."""
    return list(
        Item.objects.filter(study=study, condition_key__isnull=False).values(
            "public_code",
            model=F("condition_key__model"),
            scaffold=F("condition_key__scaffold"),
            metadata=F("condition_key__metadata"),
        )
    )


def document_items(*, study: Study) -> list[dict[str, Any]]:
    """Items of a study with a display title (documents: their title; else the code)."""
    rows = Item.objects.filter(study=study).values("id", "public_code", "external_id", "content")
    items = []
    for row in rows:
        content = row["content"] or {}
        title = content.get("title") if isinstance(content, dict) else None
        items.append(
            {
                "id": row["id"],
                "code": row["public_code"],
                "external_id": row["external_id"],
                "title": (title or "").strip() or row["public_code"],
            }
        )
    return sorted(items, key=lambda r: (r["title"].lower(), r["code"]))


def item_kind_counts(*, study: Study) -> dict[str, int]:
    rows = Item.objects.filter(study=study).values("kind").annotate(n=Count("pk")).order_by()
    return {row["kind"]: row["n"] for row in rows}


def benchmarks_for_items(*, external_ids: list[str]) -> dict[str, Benchmark]:
    """Registry entries behind benchmark-audit items (external id ``benchmark-<pk>``)."""
    pks = {
        int(eid[len(BENCHMARK_PREFIX) :])
        for eid in external_ids
        if eid.startswith(BENCHMARK_PREFIX) and eid[len(BENCHMARK_PREFIX) :].isdecimal()
    }
    found = Benchmark.objects.filter(pk__in=pks)
    return {f"{BENCHMARK_PREFIX}{b.pk}": b for b in found}


def snapshot_latest(*, study: Study) -> AgreementSnapshot | None:
    return AgreementSnapshot.objects.filter(study=study).order_by("-at", "-id").first()


def snapshot_series(*, study: Study, limit: int = 200) -> list[dict[str, Any]]:
    """Agreement over time: (at, n_submitted, per-dimension headline coefficients).

    Reads only the headline numbers (``results["series"]``) of the latest ``limit``
    snapshots, oldest first, so the history never loads the full results JSON.
    """
    rows = (
        AgreementSnapshot.objects.filter(study=study)
        .order_by("-at", "-id")
        .values("at", "n_submitted", "results__series")[:limit]
    )
    return [
        {"at": r["at"], "n_submitted": r["n_submitted"], "series": r["results__series"] or {}}
        for r in reversed(rows)
    ]


def lead_study_list(*, user) -> QuerySet[Study]:
    """Studies the user leads, with the counts the index page shows (constant queries)."""
    return (
        Study.objects.filter(memberships__user=user, memberships__role=Membership.Role.LEAD)
        .select_related("rubric")
        .annotate(
            n_items=Count("items", distinct=True),
            n_documents=Count("items", filter=Q(items__kind=Item.Kind.DOCUMENT), distinct=True),
        )
        .order_by("-created_at", "name")
    )


def builtin_benchmarks_not_in(*, ids: set[int]) -> list[Benchmark]:
    """Built-in registry entries outside ``ids`` (an audit's benchmarks), by name."""
    return list(Benchmark.objects.filter(builtin=True).exclude(pk__in=ids).order_by(Lower("name")))


def benchmark_list() -> QuerySet[Benchmark]:
    return Benchmark.objects.order_by(Lower("name"))


def claim_statement_get(*, study: Study) -> ClaimStatement | None:
    return (
        ClaimStatement.objects.filter(study=study)
        .prefetch_related("benchmarks")
        .select_related("updated_by")
        .first()
    )
