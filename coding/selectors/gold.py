"""Reads for gold items, qualification status and a coder's training feedback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from coding.models import (
    Assignment,
    GoldAssignment,
    GoldItem,
    Membership,
    QualificationAttempt,
    Score,
    Study,
)
from coding.rubric_cache import rubric_dimensions
from coding.services.gold import quality_settings_get


def gold_list(*, study: Study) -> list[dict[str, Any]]:
    """Gold items with their current version and how often they were submitted (lead)."""
    golds = (
        GoldItem.objects.filter(item__study=study)
        .select_related("item")
        .prefetch_related("versions")
        .annotate(
            n_submitted=Count(
                "item__assignments",
                filter=Q(item__assignments__status=Assignment.Status.SUBMITTED),
            )
        )
        .order_by("item__public_code")
    )
    out = []
    for g in golds:
        versions = sorted(g.versions.all(), key=lambda v: -v.number)
        current = versions[0] if versions else None
        out.append(
            {
                "code": g.item.public_code,
                "external_id": g.item.external_id,
                "version": current.number if current else None,
                "expected": current.expected if current else {},
                "explanations": current.explanations if current else {},
                "n_versions": len(versions),
                "n_submitted": g.n_submitted,
            }
        )
    return out


@dataclass
class QualificationRow:
    coder: str
    coder_id: int
    status: str  # passed | failed | pending | not started
    attempt: int | None
    done: int
    total: int
    result: dict

    @property
    def can_retry(self) -> bool:
        return self.status == QualificationAttempt.Status.FAILED


def qualification_status(*, study: Study) -> list[QualificationRow]:
    """Each coder's latest qualification attempt (lead). Three queries."""
    coders = list(
        Membership.objects.filter(study=study, role=Membership.Role.CODER)
        .select_related("user")
        .order_by("user__username")
    )
    latest: dict[int, QualificationAttempt] = {}
    for a in QualificationAttempt.objects.filter(study=study).order_by("number"):
        latest[a.coder_id] = a
    counts: dict[int, tuple[int, int]] = {}
    for row in (
        GoldAssignment.objects.filter(attempt__in=list(latest.values()))
        .values("attempt_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(assignment__status=Assignment.Status.SUBMITTED)),
        )
    ):
        counts[row["attempt_id"]] = (row["done"], row["total"])
    rows = []
    for m in coders:
        a = latest.get(m.user_id)
        done, total = counts.get(a.pk, (0, 0)) if a else (0, 0)
        rows.append(
            QualificationRow(
                coder=m.user.username,
                coder_id=m.user_id,
                status=a.status if a else "not started",
                attempt=a.number if a else None,
                done=done,
                total=total,
                result=a.result if a else {},
            )
        )
    return rows


def study_coder_get(*, study: Study, username: str):
    """A coder of this study by username, or None (also for text no username can be)."""
    from django.contrib.auth import get_user_model

    if not isinstance(username, str) or "\x00" in username:
        return None

    return (
        get_user_model()
        .objects.filter(
            username=str(username)[:150],
            memberships__study=study,
            memberships__role=Membership.Role.CODER,
        )
        .first()
    )


def coder_qualification(*, study: Study, coder) -> QualificationAttempt | None:
    """The coder's own latest attempt (shown to them: only their own status)."""
    return QualificationAttempt.objects.filter(study=study, coder=coder).order_by("-number").first()


def gold_feedback(*, assignment: Assignment) -> dict[str, Any] | None:
    """Training feedback for the coder's own submitted gold item, or None (not gold, not
    submitted, or training mode off): then the caller answers 404, as for any item."""
    study = assignment.item.study
    if assignment.status != Assignment.Status.SUBMITTED:
        return None
    if not quality_settings_get(study=study).training:
        return None
    role = (
        GoldAssignment.objects.filter(assignment=assignment, version__isnull=False)
        .select_related("version")
        .first()
    )
    if role is None:
        return None
    mine = dict(Score.objects.filter(assignment=assignment).values_list("dimension__code", "value"))
    rows = []
    for d in rubric_dimensions(study.rubric):
        expected = role.version.expected.get(d.code)
        rows.append(
            {
                "code": d.code,
                "name": d.name,
                "yours": mine.get(d.code),
                "expected": expected,
                "match": mine.get(d.code) == expected,
                "explanation": role.version.explanations.get(d.code, ""),
            }
        )
    return {
        "item": assignment.item.public_code,
        "version": role.version.number,
        "rows": rows,
        "matches": sum(r["match"] for r in rows),
    }
